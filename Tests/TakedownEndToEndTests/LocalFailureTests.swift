import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Running out of file descriptors (or memory, or local ports) is our failure, never evidence about a
/// URL (issue 12, item 1): the daemon sizes its concurrency to its open-file limit, and a check that
/// still fails for a local reason goes back to the queue without a check row.
@Suite(.serialized) struct LocalFailureTests {
  /// A healthy but slow site: every answer takes `delay`, so many checks are in flight at once.
  /// With `closeAfter`, every check needs a new connection (a new socket), as on a site that does not
  /// keep connections alive.
  func setUp(_ dir: TempDir, urls count: Int, delay: Duration, concurrency: Int, closeAfter: Bool = false) throws -> (
    TestHTTPServer, String
  ) {
    let server = try TestHTTPServer { _ in
      TestResponse(status: 200, body: Array("here".utf8), delay: delay, closeAfter: closeAfter)
    }
    let config = try writeConfig(in: dir, timeout: "20s", lease: "2m", concurrency: concurrency)
    let urls = (0..<count).map { "\(server.baseURL)/item/\($0)" }
    let r = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"],
      stdin: Data(urls.joined(separator: "\n").utf8), in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    return (server, config)
  }

  /// What no URL may show after a run on a healthy site, whatever the process's limits were.
  func expectNoLocalFailureRecorded(_ dir: TempDir, urls: Int, log: String) throws {
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let online = try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'online'") ?? -1
    #expect(online == Int64(urls), "\(log.suffix(3000))")
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'unreachable'") == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM checks WHERE reason != 'http_200'") == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM checks WHERE curl_code IN (7, 27)") == 0)
    #expect(try reader.countLeased() == 0)
  }

  /// A metadata value from the first log line that contains `message`.
  func logValue(_ log: String, _ message: String, _ key: String) -> String? {
    guard let line = log.split(separator: "\n").first(where: { $0.contains(message) }) else { return nil }
    return line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
  }

  /// Soft limit 64 below a hard limit of 512 (as `ulimit -Sn` leaves many shells): the daemon raises the
  /// soft limit to the hard one and runs at most what 512 descriptors allow, not the configured 3,000.
  @Test func aLowSoftLimitIsRaisedAndConcurrencyFitsTheHardOne() throws {
    let dir = TempDir()
    let count = 600
    let (server, config) = try setUp(dir, urls: count, delay: .milliseconds(300), concurrency: 3000)
    defer { server.stop() }
    let (d, timedOut) = try runBounded(
      "/bin/sh", ["-c", "ulimit -S -n 64 && ulimit -H -n 512 && exec \"$0\" \"$@\"", Binaries.takedownd, "--config", config, "--once"],
      in: dir, timeout: .seconds(120))
    #expect(!timedOut)
    #expect(d.status == 0, "\(d.stdout.suffix(3000)) \(d.stderr)")
    #expect(logValue(d.stdout, "open file limit raised", "limit.before") == "64", "\(d.stdout.prefix(3000))")
    #expect(logValue(d.stdout, "open file limit raised", "limit.soft") == "512")
    #expect(logValue(d.stdout, "concurrency lowered to what the open file limit allows", "concurrency.configured") == "3000")
    let used = Int(logValue(d.stdout, "concurrency lowered to what the open file limit allows", "concurrency.used") ?? "") ?? 0
    #expect(used > 100 && used < 256, "\(d.stdout.prefix(3000))")
    #expect(d.stdout.split(separator: "\n").contains { $0.contains(" warning concurrency lowered") })
    try expectNoLocalFailureRecorded(dir, urls: count, log: d.stdout)
  }

  /// Soft and hard limit both 64: nothing to raise, so the daemon runs a handful of checks at a time
  /// and says so, and every URL still ends online.
  @Test func aLimitThatCannotBeRaisedLowersConcurrency() throws {
    let dir = TempDir()
    let count = 80
    let (server, config) = try setUp(dir, urls: count, delay: .milliseconds(100), concurrency: 3000)
    defer { server.stop() }
    let (d, timedOut) = try runBounded(
      "/bin/sh", ["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", Binaries.takedownd, "--config", config, "--once"],
      in: dir, timeout: .seconds(120))
    #expect(!timedOut)
    #expect(d.status == 0, "\(d.stdout.suffix(3000)) \(d.stderr)")
    #expect(logValue(d.stdout, "concurrency lowered to what the open file limit allows", "limit.soft") == "64")
    #expect(logValue(d.stdout, "concurrency lowered to what the open file limit allows", "limit.hard") == "64")
    let used = Int(logValue(d.stdout, "concurrency lowered to what the open file limit allows", "concurrency.used") ?? "") ?? 0
    #expect(used >= 1 && used < 32, "\(d.stdout.prefix(3000))")
    #expect(!d.stdout.contains("open file limit raised"))
    try expectNoLocalFailureRecorded(dir, urls: count, log: d.stdout)
  }

  /// The limit drops under a running daemon (what any other fd leak or a busy machine looks like): the
  /// checks that cannot open a socket are logged loudly and go back to the queue, unrecorded; once
  /// descriptors are available again they are checked and end online.
  @Test func checksThatCannotOpenASocketAreRequeuedNotRecorded() throws {
    let dir = TempDir()
    let count = 300
    let (server, config) = try setUp(dir, urls: count, delay: .milliseconds(400), concurrency: 100, closeAfter: true)
    defer { server.stop() }
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    let pid = daemon.process.processIdentifier
    #expect(try waitUntil { server.requestCount >= 50 }, "\(daemon.stdout)")
    let before = try #require(openFileLimits(pid: pid))
    #expect(try setSoftOpenFileLimit(pid: pid, 16, in: dir))
    let logged = try waitUntil { daemon.stdout.contains("local resource failure") }
    #expect(try setSoftOpenFileLimit(pid: pid, before.soft, in: dir))
    #expect(logged, "\(daemon.stdout.suffix(3000))")
    let line = daemon.stdout.split(separator: "\n").first { $0.contains("local resource failure") } ?? ""
    #expect(line.contains(" error ") && line.contains("Too many open files"), "\(line)")
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(
      try waitUntil(timeout: .seconds(60)) {
        (try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'online'") ?? 0) == Int64(count)
      }, "\(daemon.stdout.suffix(3000))")
    let stopped = daemon.terminate()
    #expect(stopped.status == 0)
    try expectNoLocalFailureRecorded(dir, urls: count, log: stopped.stdout)
  }
}

/// The soft and hard open-file limits of a process, from /proc/PID/limits.
func openFileLimits(pid: pid_t) -> (soft: Int, hard: Int)? {
  guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
    let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
  else { return nil }
  let numbers = line.split(separator: " ").compactMap { Int($0) }
  return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
}

/// Sets another process's soft RLIMIT_NOFILE with util-linux's prlimit(1) (prlimit(2) is not in
/// Swift's Glibc module), keeping its hard limit.
func setSoftOpenFileLimit(pid: pid_t, _ soft: Int, in dir: TempDir) throws -> Bool {
  let r = try run("/usr/bin/prlimit", ["--pid", "\(pid)", "--nofile=\(soft):"], in: dir)
  return r.status == 0 && openFileLimits(pid: pid)?.soft == soft
}
