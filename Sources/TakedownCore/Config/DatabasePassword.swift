#if canImport(Glibc)
  import Glibc
#endif

/// Reads `database_password_file`: the PostgreSQL password, kept out of the config file.
public enum DatabasePassword {
  public struct Failure: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "database_password_file: \(path): \(problem)" }
  }

  /// Where the file is: an absolute path as given; a relative one inside `$CREDENTIALS_DIRECTORY`
  /// (systemd's `LoadCredential=`) when that is set, else the working directory.
  public static func resolve(_ path: String, environment: [String: String]) -> String {
    if path.hasPrefix("/") { return path }
    if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty { return dir + "/" + path }
    return path
  }

  /// The password (the file's first line, without its line ending), nil when the key is not set.
  /// Throws a `Failure` naming the file for a missing, unreadable or empty file.
  public static func read(_ config: Config, environment: [String: String]) throws(Failure) -> String? {
    guard let key = config.databasePasswordFile else { return nil }
    let path = resolve(key, environment: environment)
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw Failure(path: path, problem: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 65_536 {
      let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw Failure(path: path, problem: String(cString: strerror(errno)))
      }
      if n == 0 { break }
      bytes += buf[0..<n]
    }
    let line = bytes.split(separator: 10, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
    let password = String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
    guard !password.isEmpty else { throw Failure(path: path, problem: "the file is empty (the password is its first line)") }
    return password
  }
}
