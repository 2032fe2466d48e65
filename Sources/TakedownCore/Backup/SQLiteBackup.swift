import CSQLite
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A SQLite queue copied with the online backup API while the daemon writes.
///
/// The source connection opens one read transaction first and keeps it for the whole copy: in WAL mode
/// that pins a snapshot, so the pages copied step by step all belong to it (the backup never restarts
/// because the daemon committed meanwhile), and the daemon's commits are not held up at all (a WAL reader
/// blocks no writer; it only keeps checkpoints from passing its snapshot while it lasts). The row counts
/// are taken in that same transaction: the copy must hold exactly them.
///
/// Why the backup API rather than `VACUUM INTO`: both read one snapshot and neither stalls the writer,
/// but VACUUM INTO rebuilds every table and index (twice the time and the CPU on a million-URL queue
/// here, see README *Backups*), while the backup API copies pages as they are.
struct SQLiteBackup {
  let path: String
  let pagesPerStep: Int32

  init(path: String, pagesPerStep: Int32) {
    self.path = path
    self.pagesPerStep = max(1, pagesPerStep)
  }

  func run(into target: BackupTarget) throws(BackupError) -> BackupReport {
    var st = stat()
    guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
      throw BackupError(.noInput, StoreError.noDatabase(path).description)
    }
    if st.st_size == 0 { throw BackupError(.noInput, StoreError.emptyFile(path).description) }
    do {
      return try copy(into: target)
    } catch let e as BackupError {
      throw e
    } catch let e as StoreError {
      throw BackupError(e.exitCode, e.description)
    } catch let e as SQLiteError {
      throw BackupError(e.isDiskFull ? .ioError : .software, "backup of \(path) failed: \(e)")
    } catch {
      throw BackupError(.software, "backup of \(path) failed: \(error)")
    }
  }

  private func copy(into target: BackupTarget) throws -> BackupReport {
    let source = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMs: 60_000)
    // A file that is not takedown's, or a newer takedown's, is refused as every command refuses it; an
    // older schema is copied as it is (the backup of a queue never migrates it).
    _ = try SQLiteStore.schemaIsBehind(source)
    try source.execute("BEGIN")
    defer { if source.inTransaction { try? source.execute("ROLLBACK") } }
    let tables = try Self.tables(source)
    // A SQLite file with no tables at all passes schemaIsBehind (a queue not created yet).
    guard tables.contains("schema_migrations") else {
      throw BackupError(.config, StoreError.notADatabase(path, "it has no schema_migrations table").description)
    }
    var counts: [(name: String, rows: Int64)] = []
    for t in tables { counts.append((t, try source.scalar("SELECT count(*) FROM \(Self.quoted(t))") ?? 0)) }
    let schema = try Self.schemaVersion(source)

    do {
      let dest = try SQLiteConnection(path: target.temporary, busyTimeoutMs: 60_000)
      guard let backup = sqlite3_backup_init(dest.handle, "main", source.handle, "main") else {
        throw dest.error(sqlite3_errcode(dest.handle), "sqlite3_backup_init")
      }
      var rc: Int32 = SQLITE_OK
      var busySince: Int64?
      while true {
        rc = sqlite3_backup_step(backup, pagesPerStep)
        if rc == SQLITE_DONE { break }
        if rc == SQLITE_OK {
          busySince = nil
          continue
        }
        // The destination is ours alone; the source is only read. A busy answer can only be a brief
        // lock while a WAL index is rebuilt: wait for it a while, not for ever.
        if rc & 0xff == SQLITE_BUSY || rc & 0xff == SQLITE_LOCKED {
          let now = BusyWait.monotonicMs()
          if now - (busySince ?? now) > 60_000 { break }
          busySince = busySince ?? now
          usleep(10_000)
          continue
        }
        break
      }
      let finish = sqlite3_backup_finish(backup)
      if rc != SQLITE_DONE { throw SQLiteError(code: rc, message: "backup step failed", sql: nil) }
      if finish != SQLITE_OK { throw dest.error(finish, "sqlite3_backup_finish") }
      // The copy carries the source's WAL flag; a backup is one self-contained file.
      try dest.execute("PRAGMA journal_mode = DELETE")
    }
    try source.execute("COMMIT")

    try verify(target.temporary, expected: counts, schema: schema)
    return BackupReport(
      path: target.file, bytes: 0, tables: counts, schema: schema, durationMs: 0,
      format: "SQLite database (restore: stop takedownd, copy it over the database file)")
  }

  /// Checks the copy on its own: SQLite's integrity and foreign key checks (65: the data is damaged,
  /// which a page copy of a sound database cannot do, so the source needs attention too), then every
  /// table's count against the snapshot's (70: the copy is not the snapshot, a bug of ours).
  private func verify(_ copy: String, expected: [(name: String, rows: Int64)], schema: String) throws {
    let c = try SQLiteConnection(path: copy, readOnly: true)
    var problems: [String] = []
    let integrity = try c.statement("PRAGMA integrity_check(20)")
    while try integrity.step() {
      let line = integrity.text(0)
      if line != "ok" { problems.append(line) }
    }
    integrity.reset()
    if !problems.isEmpty {
      throw BackupError(
        .dataError, "the copy failed integrity_check (the source \(path) is probably damaged too): "
          + problems.joined(separator: "; "))
    }
    let fk = try c.statement("PRAGMA foreign_key_check")
    var orphans: [String] = []
    while try fk.step(), orphans.count < 20 { orphans.append("\(fk.text(0)) rowid \(fk.int64(1)) → \(fk.text(2))") }
    fk.reset()
    if !orphans.isEmpty {
      throw BackupError(.dataError, "the copy failed foreign_key_check: " + orphans.joined(separator: "; "))
    }
    let tables = try Self.tables(c)
    if tables != expected.map(\.name) {
      throw BackupError(
        .software, "the copy's tables (\(tables.joined(separator: ", "))) differ from the snapshot's "
          + "(\(expected.map(\.name).joined(separator: ", ")))")
    }
    for (name, rows) in expected {
      let found = try c.scalar("SELECT count(*) FROM \(Self.quoted(name))") ?? 0
      if found != rows {
        throw BackupError(.software, "the copy's table \(name) has \(found) rows, the snapshot \(rows)")
      }
    }
    let copied = try Self.schemaVersion(c)
    if copied != schema {
      throw BackupError(.software, "the copy's schema is \(copied), the snapshot's \(schema)")
    }
  }

  static func tables(_ c: SQLiteConnection) throws -> [String] {
    let s = try c.statement(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    defer { s.reset() }
    var names: [String] = []
    while try s.step() { names.append(s.text(0)) }
    return names
  }

  static func schemaVersion(_ c: SQLiteConnection) throws -> String {
    let s = try c.statement("SELECT max(name) FROM schema_migrations")
    defer { s.reset() }
    return try s.step() ? s.optionalText(0) ?? "none" : "none"
  }

  static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
