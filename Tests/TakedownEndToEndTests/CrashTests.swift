import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Killing the daemon at any moment loses nothing and records nothing twice.
@Suite(.serialized) struct CrashTests {
  /// 300 URLs answered after 50 ms each, 20 at a time: a run takes about a second, so a kill lands mid-batch.
  func setUp(_ dir: TempDir, lease: String) throws -> (TestHTTPServer, String, [String]) {
    let server = try TestHTTPServer { req in
      let path = req.path
      let status = path.hasSuffix("0") ? 404 : 200
      return TestResponse(status: status, body: Array("body".utf8), delay: .milliseconds(50))
    }
    let config = try writeConfig(in: dir, lease: lease, concurrency: 20)
    let urls = (0..<300).map { "\(server.baseURL)/item/\($0)" }
    let r = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"],
      stdin: Data(urls.joined(separator: "\n").utf8), in: dir)
    #expect(r.status == 0)
    return (server, config, urls)
  }

  @Test func killNineMidRunThenRestartLosesNothing() throws {
    let dir = TempDir()
    let (server, config, urls) = try setUp(dir, lease: "30s")
    defer { server.stop() }
    let db = dir.path + "/takedown.sqlite"
    let reader = try SQLiteStore(path: db, create: false)

    let first = try start(Binaries.takedownd, ["--config", config], in: dir)
    // Wait until some checks are recorded and more are in flight, then kill without warning.
    let midRun = try waitUntil {
      (try reader.db.scalar("SELECT count(*) FROM checks") ?? 0) >= 40
    }
    #expect(midRun, "daemon output: \(first.stdout) \(first.stderr)")
    kill(first.process.processIdentifier, SIGKILL)
    _ = first.finish()
    #expect(first.process.terminationReason == .uncaughtSignal)
    let leasedAfterKill = try reader.countLeased()
    let checkedBeforeRestart = try reader.db.scalar("SELECT count(*) FROM checks") ?? 0
    #expect(checkedBeforeRestart < 600, "the kill came too late to test anything")

    // The restart releases the dead run's leases (same node name) and finishes the work.
    let second = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(second.status == 0, "\(second.stderr)")
    if leasedAfterKill > 0 { #expect(second.stdout.contains("released leases left by a previous run")) }

    #expect(try reader.countLeased() == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls") == 300)
    // Every URL has a final status: the 404s were confirmed twice, the others are online.
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'taken_down'") == 30)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'online'") == 270)
    // No attempt has two check rows, and the counters agree with the history.
    #expect(try reader.db.scalar("SELECT count(*) FROM (SELECT url_id, attempt FROM checks GROUP BY 1, 2 HAVING count(*) > 1)") == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls u WHERE checks != (SELECT count(*) FROM checks c WHERE c.url_id = u.id)") == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'online' AND checks != 1") == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status = 'taken_down' AND checks != 2") == 0)
    #expect(try reader.db.statement("PRAGMA integrity_check").firstText([]) == "ok")
    _ = urls
  }

  @Test func sigtermStopsCleanlyWithNoLeaseHeld() throws {
    let dir = TempDir()
    let (server, config, _) = try setUp(dir, lease: "10m")
    defer { server.stop() }
    let db = dir.path + "/takedown.sqlite"
    let reader = try SQLiteStore(path: db, create: false)
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    #expect(
      try waitUntil { (try reader.db.scalar("SELECT count(*) FROM checks") ?? 0) >= 20 },
      "daemon output: \(daemon.stdout) \(daemon.stderr)")
    let sentAt = ContinuousClock.now
    kill(daemon.process.processIdentifier, SIGTERM)
    let done = daemon.finish()
    let took = ContinuousClock.now - sentAt
    #expect(done.status == 0, "\(done.stdout)\n\(done.stderr)")
    #expect(took < .seconds(5))
    #expect(done.stdout.contains("takedownd stopped"))
    // Nothing is left leased (with a 10-minute lease, a leak would block those URLs for 10 minutes).
    #expect(try reader.countLeased() == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM (SELECT url_id, attempt FROM checks GROUP BY 1, 2 HAVING count(*) > 1)") == 0)
    // A second daemon finishes the rest.
    let again = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(again.status == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls WHERE status IN ('online', 'taken_down')") == 300)
  }

  @Test func aSecondDaemonOnTheSameDatabaseIsRefused() throws {
    let dir = TempDir()
    let (server, config, _) = try setUp(dir, lease: "30s")
    defer { server.stop() }
    let first = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { first.terminate() }
    #expect(try waitUntil { first.stdout.contains("takedownd started") })
    let second = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(second.status == 75)
    #expect(second.stdout.contains("another takedownd is already running"))
  }
}
