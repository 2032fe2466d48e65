import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a backup copied: printed by `takedownctl backup`, checked by the tests.
public struct BackupReport: Sendable {
  /// The finished backup file.
  public var path: String
  public var bytes: Int64
  /// Every table's rows in the snapshot the backup was taken from (and found again in the copy).
  public var tables: [(name: String, rows: Int64)]
  /// The newest migration applied in the source.
  public var schema: String
  public var durationMs: Int64
  /// What kind of file it is, and how to restore it.
  public var format: String
}

/// Why a backup failed, with the sysexits code `takedownctl backup` ends with.
public struct BackupError: Error, CustomStringConvertible, Sendable {
  public var sysExit: SysExit
  public var message: String
  public init(_ sysExit: SysExit, _ message: String) {
    self.sysExit = sysExit
    self.message = message
  }
  public var description: String { message }
}

/// A consistent, verified copy of a queue while daemons keep working on it (`takedownctl backup`).
///
/// SQLite: the online backup API from one read transaction (the copy is that snapshot), then
/// `integrity_check`, `foreign_key_check` and every table's count on the copy against the snapshot's.
/// PostgreSQL: `pg_dump -Fc` from a snapshot exported by a REPEATABLE READ transaction that counted the
/// rows, then `pg_restore --list` and the rows of every table read back from the dump.
/// Either way the copy is written to a temporary file next to the target, fsynced, and renamed into place
/// only once verified, so `FILE` is either a complete, checked backup or untouched.
public enum DatabaseBackup {
  public struct Options: Sendable {
    /// Replace an existing backup file (else refused, exit 73).
    public var force = false
    /// PostgreSQL: the password from `database_password_file`, handed to pg_dump in a private PGPASSFILE.
    public var password: String?
    /// PostgreSQL: the pg_dump to run (default: the one on PATH; pg_restore is taken from beside it).
    public var pgDump: String?
    /// SQLite: pages copied per backup step.
    public var pagesPerStep: Int32 = 256
    public init() {}
  }

  public static func run(database: String, to file: String, _ options: Options = Options()) throws(BackupError)
    -> BackupReport
  {
    let started = BusyWait.monotonicMs()
    let target = try BackupTarget(file, force: options.force)
    do {
      var report =
        StoreOpener.isPostgres(database)
        ? try PostgresBackup(conninfo: database, options: options).run(into: target)
        : try SQLiteBackup(path: database, pagesPerStep: options.pagesPerStep).run(into: target)
      try target.commit()
      report.path = file
      report.bytes = target.committedBytes
      report.durationMs = BusyWait.monotonicMs() - started
      return report
    } catch {
      target.discard()
      throw error
    }
  }
}

/// The temporary file a backup is written to, next to the target so that the final rename is atomic.
final class BackupTarget {
  let file: String
  let temporary: String
  let force: Bool
  private(set) var committedBytes: Int64 = 0

  init(_ file: String, force: Bool) throws(BackupError) {
    self.file = file
    self.force = force
    var st = stat()
    if stat(file, &st) == 0 {
      if st.st_mode & S_IFMT == S_IFDIR {
        throw BackupError(.cantCreate, "\(file) is a directory: name the backup file")
      }
      if !force {
        throw BackupError(.cantCreate, "\(file) exists: not overwritten (--force replaces it)")
      }
    }
    let dir = (file as NSString).deletingLastPathComponent
    let name = (file as NSString).lastPathComponent
    temporary = (dir.isEmpty ? "" : dir + "/") + ".\(name).tmp-\(getpid())"
    unlink(temporary)  // one left by a killed backup of this very process id
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if fd < 0 {
      let why = String(cString: strerror(errno))
      throw BackupError(.cantCreate, "cannot create \(temporary) (next to \(file)): \(why)")
    }
    close(fd)
  }

  /// fsync, then rename into place (without --force: link, which fails if FILE appeared meanwhile),
  /// then fsync the directory so that the name survives a crash too.
  func commit() throws(BackupError) {
    let fd = open(temporary, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BackupError(.ioError, "cannot reopen \(temporary): \(String(cString: strerror(errno)))") }
    var st = stat()
    fstat(fd, &st)
    committedBytes = Int64(st.st_size)
    let synced = fsync(fd) == 0
    let syncErrno = errno
    close(fd)
    guard synced else { throw BackupError(.ioError, "fsync \(temporary): \(String(cString: strerror(syncErrno)))") }
    if force {
      guard rename(temporary, file) == 0 else {
        throw BackupError(.cantCreate, "cannot rename \(temporary) to \(file): \(String(cString: strerror(errno)))")
      }
    } else {
      guard link(temporary, file) == 0 else {
        let e = errno
        throw BackupError(
          .cantCreate,
          e == EEXIST
            ? "\(file) exists: not overwritten (--force replaces it)"
            : "cannot create \(file): \(String(cString: strerror(e)))")
      }
      unlink(temporary)
    }
    let dir = (file as NSString).deletingLastPathComponent
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      let ok = fsync(dfd) == 0
      close(dfd)
      if !ok { throw BackupError(.ioError, "fsync of \(dir): \(String(cString: strerror(errno)))") }
    }
  }

  func discard() {
    unlink(temporary)
    for suffix in ["-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
  }
}
