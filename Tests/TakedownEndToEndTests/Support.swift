import Foundation
import TakedownCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built `takedownd` and `takedownctl`: they sit next to the test bundle in the build folder.
enum Binaries {
  static let dir: String = {
    if let env = ProcessInfo.processInfo.environment["TAKEDOWN_BIN_DIR"] { return env }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (exe as NSString).deletingLastPathComponent
  }()
  static var takedownd: String { dir + "/takedownd" }
  static var takedownctl: String { dir + "/takedownctl" }
}

/// What a finished process left behind.
struct Finished {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a program to completion, output captured through files (no pipe can fill up and block it).
@discardableResult
func run(_ path: String, _ args: [String], stdin: Data? = nil, in dir: TempDir, env: [String: String] = [:])
  throws -> Finished
{
  try start(path, args, stdin: stdin, in: dir, env: env).finish()
}

/// A process started in the background, with its output going to files in the test's directory.
final class Running: @unchecked Sendable {
  let process: Process
  let outPath: String
  let errPath: String
  init(process: Process, outPath: String, errPath: String) {
    self.process = process
    self.outPath = outPath
    self.errPath = errPath
  }
  var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
  var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
  /// Waits for the process to end. No test waits forever: past `limit` the process is a hang, and a
  /// hang is a test failure that names the program and shows where its threads stood (gdb), never a
  /// CI job that stops only at its own timeout.
  func finish(within limit: Duration = .seconds(300)) -> Finished {
    if !awaitExit(process, within: limit) {
      let pid = process.processIdentifier
      Issue.record(
        """
        \(process.executableURL?.path ?? "?") \(process.arguments ?? []) did not exit within \(limit): killed.
        \(Hang.describe(pid: pid))
        stderr (end): \(stderr.suffix(4000))
        """)
      kill(pid, SIGKILL)
      if !awaitExit(process, within: .seconds(20)) {
        Issue.record("pid \(pid) did not go away after SIGKILL either: \(Hang.state(pid: pid))")
        return Finished(status: -1, stdout: stdout, stderr: stderr)
      }
    }
    return Finished(status: process.terminationStatus, stdout: stdout, stderr: stderr)
  }
}

func start(
  _ path: String, _ args: [String], stdin: Data? = nil, in dir: TempDir, env: [String: String] = [:],
  stdoutIsJournal: Bool = false
) throws -> Running {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = args
  p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
  var environment = ProcessInfo.processInfo.environment
  environment.removeValue(forKey: "STATE_DIRECTORY")
  environment.removeValue(forKey: "JOURNAL_STREAM")
  for (k, v) in env { environment[k] = v }
  p.environment = environment
  let id = UUID().uuidString.prefix(8)
  let out = dir.path + "/out-\(id).txt"
  let err = dir.path + "/err-\(id).txt"
  _ = FileManager.default.createFile(atPath: out, contents: nil)
  _ = FileManager.default.createFile(atPath: err, contents: nil)
  p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
  if stdoutIsJournal {
    // What systemd does: JOURNAL_STREAM names the device and inode of the stream on stdout.
    var st = stat()
    stat(out, &st)
    environment["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
    p.environment = environment
  }
  p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
  if let stdin {
    let inPath = dir.path + "/in-\(id).txt"
    _ = FileManager.default.createFile(atPath: inPath, contents: stdin)
    p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
  } else {
    p.standardInput = FileHandle.nullDevice
  }
  try p.run()
  return Running(process: p, outPath: out, errPath: err)
}

/// Polls a condition until it holds or the deadline passes; the await is for a state, not a guess at time.
func waitUntil(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) throws -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try condition() { return true }
    Thread.sleep(forTimeInterval: 0.02)
  }
  return try condition()
}

/// A test config: loopback allowed (tests only), short timeouts, fast confirmations.
func writeConfig(
  in dir: TempDir, allowPrivate: Bool = true, timeout: String = "2s", confirmations: Int = 2,
  confirmInterval: String = "0s", backoffBase: String = "1h", lease: String = "30s", concurrency: Int = 50,
  extra: String = "", database: String? = nil, top: String = "", name: String = "takedown.toml"
) throws -> String {
  let text = """
    database = "\(database ?? dir.path + "/takedown.sqlite")"
    \(top)
    [probe]
    concurrency = \(concurrency)
    per_host_connections = \(concurrency)
    connect_timeout = "1s"
    timeout = "\(timeout)"
    max_redirects = 5
    allow_private_addresses = \(allowPrivate)
    shutdown_grace = "2s"
    [schedule]
    confirmations = \(confirmations)
    confirm_interval = "\(confirmInterval)"
    backoff_base = "\(backoffBase)"
    backoff_max = "6h"
    lease = "\(lease)"
    \(extra)
    """
  let path = dir.path + "/" + name
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

/// Parses a JSON document printed by takedownctl.
func jsonObject(_ text: String) throws -> [String: Any] {
  let obj = try JSONSerialization.jsonObject(with: Data(text.utf8))
  return try #require(obj as? [String: Any])
}

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir: @unchecked Sendable {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "takedown-e2e-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A TCP socket connected to 127.0.0.1:`port`; the caller closes it.
func connectLoopback(port: Int) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  var a = sockaddr_in()
  a.sin_family = sa_family_t(AF_INET)
  a.sin_port = UInt16(port).bigEndian
  a.sin_addr.s_addr = inet_addr("127.0.0.1")
  let rc = withUnsafePointer(to: &a) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard rc == 0 else {
    close(fd)
    throw POSIXError(.ECONNREFUSED)
  }
  return fd
}

/// GET over a plain socket to 127.0.0.1 (no client library needed); returns the body.
func httpGet(port: Int, path: String) throws -> String {
  let fd = try connectLoopback(port: port)
  defer { close(fd) }
  let req = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
  _ = req.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
  var out: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n <= 0 { break }
    out += buf[0..<n]
  }
  let text = String(decoding: out, as: UTF8.self)
  guard let split = text.range(of: "\r\n\r\n") else { return text }
  return String(text[split.upperBound...])
}

extension Running {
  /// SIGTERM, then SIGKILL if it has not exited within `grace`: a test must never hang on a child.
  @discardableResult
  func terminate(grace: Duration = .seconds(10)) -> Finished {
    kill(process.processIdentifier, SIGTERM)
    let deadline = ContinuousClock.now + grace
    while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    return finish()
  }
}
