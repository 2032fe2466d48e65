#if canImport(Glibc)
  import Glibc
#endif

/// One daemon per database: an exclusive `flock` on the database file itself, held for the life of the
/// process.
///
/// The lock belongs to the file (its inode), not to the name it was opened by: a symlink, a hard link or
/// another spelling of the path (`./db`, `/srv/../srv/db`) leads to the same lock, so a second daemon
/// cannot release the first one's leases as "left by a previous run". `flock` locks are independent of
/// the POSIX byte-range locks SQLite takes on the same file (on local file systems), and the descriptor
/// is never closed while SQLite has the file open, so SQLite's own locks are never dropped by it.
public final class DatabaseLock: Sendable {
  public let fd: Int32

  public enum Failure: Error, CustomStringConvertible {
    /// Another process holds the lock.
    case held
    /// The file cannot be opened or created (with the errno text).
    case cannotOpen(String)

    public var description: String {
      switch self {
      case .held: return "another takedownd is already running on this database"
      case .cannotOpen(let why): return "cannot open the database file to lock it: \(why)"
      }
    }
  }

  /// Opens (creating it empty if needed, as SQLite would) and locks the database file at `path`.
  public init(databasePath path: String) throws(Failure) {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .cannotOpen(String(cString: strerror(errno))) }
    var rc: Int32
    repeat { rc = flock(fd, LOCK_EX | LOCK_NB) } while rc != 0 && errno == EINTR
    guard rc == 0 else {
      let err = errno
      close(fd)
      if err == EWOULDBLOCK { throw .held }
      throw .cannotOpen(String(cString: strerror(err)))
    }
    self.fd = fd
  }

  deinit { close(fd) }
}
