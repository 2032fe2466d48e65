import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// How the daemon starts, reloads, runs `--once` and stops (issue 12, items 4, 8, 11, 17).
@Suite(.serialized) struct DaemonLifecycleTests {
  /// `--once` checks what is due now: a host that answers 503 with `Retry-After: 3600` gets its other
  /// URLs handed back to the database until then, and the run ends instead of waiting an hour.
  @Test func onceDefersWhatAPausedHostCannotTakeAndExits() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: [
      "/busy": .text(503, "later", headers: [("Retry-After", "3600")]),
      "/page": .text(200, "here"),
    ])
    defer { server.stop() }
    // One connection to the host: the 503 is answered before any other URL of the host starts.
    let config = try writeConfig(in: dir, concurrency: 1)
    let others = (1...5).map { "\(server.baseURL)/page?\($0)" }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "\(server.baseURL)/busy"], in: dir).status == 0)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config] + others, in: dir).status == 0)
    let startedAt = Timestamp.nowMs()
    let (d, timedOut) = try runBounded(Binaries.takedownd, ["--config", config, "--once"], in: dir, timeout: .seconds(60))
    #expect(!timedOut, "--once waited for the host's pause: \(d.stdout.suffix(2000))")
    #expect(d.status == 0, "\(d.stdout.suffix(2000)) \(d.stderr)")
    let line = d.stdout.split(separator: "\n").first { $0.contains("deferred until their hosts can take them") }
    #expect(line?.contains("deferred=5") == true, "\(d.stdout.suffix(2000))")
    #expect(line?.contains(" notice ") == true)
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let busy = try #require(try reader.lookup("\(server.baseURL)/busy"))
    #expect(busy.reason == "http_5xx")
    let pauseEnd = try #require(busy.lastCheckedAt) + 3_600_000
    for url in others {
      let r = try #require(try reader.lookup(url))
      #expect(r.status == .pending, "\(url)")
      #expect(r.lastCheckedAt == nil, "\(url) was checked during the pause")
      let next = try #require(r.nextCheckAt)
      #expect(abs(next - pauseEnd) < 60_000, "\(url): next check \(next - startedAt) ms after the start")
    }
    #expect(server.requests().filter { $0.path.hasPrefix("/page") }.isEmpty)
    #expect(try reader.countLeased() == 0)
  }

  /// A status_log that cannot be opened is a configuration problem: exit 78 (systemd does not restart
  /// it), with a log line that names the key, the path and the reason.
  @Test func aStatusLogThatCannotBeOpenedExits78NamingTheKey() throws {
    let dir = TempDir()
    let bad = dir.path + "/no-such-dir/transitions.jsonl"
    let config = try writeConfig(in: dir, extra: "[log]\nstatus_log = \"\(bad)\"\n")
    let d = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d.status == 78, "\(d.stdout) \(d.stderr)")
    let line = d.stdout.split(separator: "\n").first { $0.contains("cannot open the status log") } ?? ""
    #expect(line.contains(" critical "), "\(d.stdout) \(d.stderr)")
    #expect(line.contains("key=log.status_log"))
    #expect(line.contains("path=\(bad)"))
    #expect(line.contains("No such file or directory"))
    #expect(!d.stderr.contains("Error:"), "\(d.stderr)")
  }

  /// A reload that changes `database` is refused for that key; a later reload that sets it back is
  /// compared with the database in use, so it says nothing more about it.
  @Test func aDatabaseSetBackOnReloadIsNotReportedAgain() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/page": .text(200, "here")])
    defer { server.stop() }
    let config = try writeConfig(in: dir)
    let original = try String(contentsOfFile: config, encoding: .utf8)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "\(server.baseURL)/page"], in: dir).status == 0)
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    #expect(try waitUntil { daemon.stdout.contains("takedownd started") })
    func count(_ text: String) -> Int { daemon.stdout.components(separatedBy: text).count - 1 }

    try original.replacingOccurrences(of: "/takedown.sqlite", with: "/other.sqlite")
      .write(toFile: config, atomically: true, encoding: .utf8)
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { count("configuration reloaded") == 1 }, "\(daemon.stdout)")
    #expect(count("database cannot change on reload") == 1, "\(daemon.stdout)")

    try original.write(toFile: config, atomically: true, encoding: .utf8)
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { count("configuration reloaded") == 2 }, "\(daemon.stdout)")
    #expect(count("database cannot change on reload") == 1, "\(daemon.stdout)")
  }

  /// A second SIGTERM during the shutdown grace stops at once: what is in flight is released, nothing
  /// is recorded for it, exit 0.
  @Test func aSecondSigtermCutsTheShutdownGraceShort() throws {
    let dir = TempDir()
    // Answers only when the server stops: the checks stay in flight for as long as the test wants.
    let server = try TestHTTPServer { _ in TestResponse(status: 200, body: Array("late".utf8), delay: .seconds(300)) }
    defer { server.stop() }
    let config = try writeConfig(in: dir, timeout: "5m", lease: "10m")
    let text = try String(contentsOfFile: config, encoding: .utf8)
    try text.replacingOccurrences(of: "shutdown_grace = \"2s\"", with: "shutdown_grace = \"10m\"")
      .write(toFile: config, atomically: true, encoding: .utf8)
    let urls = (0..<5).map { "\(server.baseURL)/slow/\($0)" }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config] + urls, in: dir).status == 0)
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate(grace: .seconds(1)) }
    #expect(try waitUntil { server.requestCount == 5 })
    kill(daemon.process.processIdentifier, SIGTERM)
    #expect(try waitUntil { daemon.stdout.contains("stopping: no new claims") }, "\(daemon.stdout)")
    kill(daemon.process.processIdentifier, SIGTERM)
    let exited = try waitUntil(timeout: .seconds(30)) { !daemon.process.isRunning }
    #expect(exited, "the second SIGTERM did not cut the 10-minute grace short: \(daemon.stdout.suffix(2000))")
    guard exited else { return }
    let done = daemon.finish()
    #expect(done.status == 0, "\(done.stdout.suffix(2000)) \(done.stderr)")
    let line = done.stdout.split(separator: "\n").first { $0.contains("second stop signal") } ?? ""
    #expect(line.contains("in_flight=5"), "\(done.stdout.suffix(2000))")
    #expect(done.stdout.contains("takedownd stopped"))
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(try reader.db.scalar("SELECT count(*) FROM checks") == 0)
    #expect(try reader.countLeased() == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'pending'") == 5)
  }
}
