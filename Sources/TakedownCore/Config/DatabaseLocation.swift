#if canImport(Glibc)
  import Glibc
#endif

/// Where the database is: the same rules for the daemon and the CLI, so both find the same file.
public enum DatabaseLocation {
  /// `--db` wins; then the config's `database`; a relative path is taken inside $STATE_DIRECTORY when
  /// systemd set it (the first of its colon-separated entries), else the working directory.
  public static func resolve(flag: String?, config: Config) -> String {
    if let flag, !flag.isEmpty { return flag }
    return resolve(config.database)
  }

  public static func resolve(_ path: String) -> String {
    if path.hasPrefix("/") || StoreOpener.isPostgres(path) { return path }
    if let env = getenv("STATE_DIRECTORY"), let first = String(cString: env).split(separator: ":").first,
      !first.isEmpty
    {
      return String(first) + "/" + path
    }
    return path
  }

  /// The host name, the default lease holder name.
  public static func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "takedownd" }
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    let name = String(decoding: bytes, as: UTF8.self)
    return name.isEmpty ? "takedownd" : name
  }
}

/// sysexits(3) codes: scripts and systemd can tell a usage error from bad data or a bad config.
public enum SysExit: Int32, Sendable {
  case ok = 0
  case usage = 64
  case dataError = 65
  case noInput = 66
  case unavailable = 69
  case software = 70
  case cantCreate = 73
  case ioError = 74
  case tempFail = 75
  case config = 78
}
