#if canImport(Glibc)
  import Glibc
#endif

/// Appends status transitions (rows of `events`) as JSON lines to a file for log shippers, each with
/// its `event_id`. `reopen()` (on SIGHUP) starts a new file at the same path after logrotate moved the
/// old one. Used from the runner thread only.
public final class StatusLog {
  public let path: String
  private var fd: Int32 = -1

  public init(path: String) throws {
    self.path = path
    try reopen()
  }

  deinit { if fd >= 0 { close(fd) } }

  public func reopen() throws {
    let newFD = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
    guard newFD >= 0 else { throw StatusLogError(path: path, errno: errno) }
    if fd >= 0 { close(fd) }
    fd = newFD
  }

  /// Appends one line per event; false when the file could not take all of them (disk full…), in which
  /// case the caller writes them again later (a line may then appear twice: `event_id` tells).
  public func write(_ events: [EventRecord]) -> Bool {
    guard fd >= 0 else { return false }
    guard !events.isEmpty else { return true }
    var text = ""
    for e in events {
      guard case .object(let fields) = e.transition.json else { continue }
      text += JSON.object([("event_id", .int(e.id))] + fields).rendered()
      text += "\n"
    }
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return false }
      offset += n
    }
    return true
  }

  /// Makes what was written durable, before the cursor that says so is stored.
  public func sync() {
    if fd >= 0 { _ = fdatasync(fd) }
  }
}

public struct StatusLogError: Error, CustomStringConvertible {
  public var path: String
  public var errno: Int32
  public var description: String { "cannot open status_log \(path): \(String(cString: strerror(errno)))" }
}

/// One status change of one URL, as stored in `events` and written to the status log.
public struct Transition: Sendable, Equatable {
  public var urlID: Int64
  public var url: String
  public var at: Int64
  public var from: URLStatus
  public var to: URLStatus
  public var reason: String?

  public init(urlID: Int64, url: String, at: Int64, from: URLStatus, to: URLStatus, reason: String?) {
    self.urlID = urlID
    self.url = url
    self.at = at
    self.from = from
    self.to = to
    self.reason = reason
  }

  public var json: JSON {
    .object([
      ("at", .time(at)), ("url_id", .int(urlID)), ("url", .string(url)), ("from", .string(from.rawValue)),
      ("to", .string(to.rawValue)), ("reason", .optional(reason)),
    ])
  }
}
