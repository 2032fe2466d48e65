import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One line per event on stdout. Under systemd (stdout is the journal stream named by $JOURNAL_STREAM)
/// each line starts with a `<N>` syslog priority so `journalctl -p` filters work; elsewhere it starts
/// with a UTC timestamp and the level. Metadata follows as sorted `key=value` pairs, quoted when needed.
public struct JournalLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:]
  /// The handler's own level when one was given (or set on its logger); otherwise the process-wide
  /// `level`, which a SIGHUP reload changes for every logger at once.
  private var ownLevel: Logger.Level?
  public var logLevel: Logger.Level {
    get { ownLevel ?? Self.level }
    set { ownLevel = newValue }
  }
  let label: String
  let journal: Bool
  let fd: Int32

  public init(label: String, level: Logger.Level? = nil, fd: Int32 = 1, journal: Bool? = nil) {
    self.label = label
    self.ownLevel = level
    self.fd = fd
    self.journal = journal ?? JournalLogHandler.stdoutIsJournal(fd: fd)
  }

  private static let levelIndex = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .info)!)
  /// The level of every handler made without one of its own (`[log] level`).
  public static var level: Logger.Level {
    get { Logger.Level.allCases[levelIndex.load(ordering: .relaxed)] }
    set { levelIndex.store(Logger.Level.allCases.firstIndex(of: newValue)!, ordering: .relaxed) }
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected to stdout/stderr.
  public static func stdoutIsJournal(fd: Int32 = 1) -> Bool {
    guard let env = getenv("JOURNAL_STREAM") else { return false }
    let parts = String(cString: env).split(separator: ":")
    guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return false }
    return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
  }

  public static func priority(_ level: Logger.Level) -> Int {
    switch level {
    case .trace, .debug: return 7
    case .info: return 6
    case .notice: return 5
    case .warning: return 4
    case .error: return 3
    case .critical: return 2
    }
  }

  public func log(event: LogEvent) {
    var line = journal ? "<\(Self.priority(event.level))>" : "\(Timestamp.iso(Timestamp.nowMs())) \(event.level) "
    line += event.message.description
    var merged = metadata
    if let extra = event.metadata { merged.merge(extra) { $1 } }
    for key in merged.keys.sorted() {
      line += " \(key)=\(Self.quote("\(merged[key]!)"))"
    }
    line += "\n"
    // One write(2) per line keeps lines whole when several threads log at once.
    var bytes = Array(line.utf8)
    let n = bytes.count
    _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, n) }
  }

  static func quote(_ v: String) -> String {
    let needs = v.isEmpty || v.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }
    guard needs else { return v }
    var out = "\""
    for c in v.unicodeScalars {
      switch c {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(c)
      }
    }
    return out + "\""
  }
}
