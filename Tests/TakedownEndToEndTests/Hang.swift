import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Waits up to `limit` for a started process to end; false when it is still running then.
func awaitExit(_ process: Process, within limit: Duration) -> Bool {
  let deadline = ContinuousClock.now + limit
  while process.isRunning {
    if ContinuousClock.now >= deadline { return false }
    Thread.sleep(forTimeInterval: 0.02)
  }
  return true
}

/// What a test reports about a process that did not end in time: its state as the kernel sees it and,
/// where gdb is installed, every thread's stack. Enough to find the hang from a CI log alone.
enum Hang {
  /// The state letter and the kernel function it sleeps in ("S futex_wait_queue", "Z": exited, not reaped).
  static func state(pid: Int32) -> String {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "gone"
    let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
    // The state is the field after the parenthesised name, which may itself hold spaces.
    let afterName = stat.split(separator: ")").last.map(String.init) ?? stat
    let letter = afterName.split(separator: " ").first.map(String.init) ?? "?"
    return "state \(letter), waiting in \(wchan)"
  }

  static func describe(pid: Int32) -> String {
    var text = "pid \(pid): \(state(pid: pid))"
    let gdb = ["/usr/bin/gdb", "/bin/gdb"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let gdb else { return text + " (no gdb for a backtrace)" }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("hang-\(pid)-\(UUID().uuidString).txt")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: gdb)
    p.arguments = ["-p", "\(pid)", "-batch", "-nx", "-ex", "thread apply all bt 25"]
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = try? FileHandle(forWritingTo: out)
    p.standardError = p.standardOutput
    do { try p.run() } catch { return text + " (gdb did not start: \(error))" }
    if !awaitExit(p, within: .seconds(60)) { kill(p.processIdentifier, SIGKILL) }
    let trace = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    text += "\n" + trace.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread") }
      .joined(separator: "\n")
    return text
  }
}
