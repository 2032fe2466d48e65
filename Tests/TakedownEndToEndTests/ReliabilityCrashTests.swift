import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 7, part 1: kill takedownd with SIGKILL at random moments, again and again, restart it each
/// time, and check that no URL and no check is lost and nothing is counted twice.
@Suite(.serialized) struct ReliabilityCrashTests {
  /// What each URL answers, by its number: the final status and the exact number of checks it must end
  /// with are known in advance, so a lost or doubled check shows up per URL.
  static func expected(_ n: Int) -> (status: Int, final: URLStatus, checks: Int) {
    switch n % 20 {
    case 0, 1: return (404, .takenDown, 2)
    case 2: return (410, .takenDown, 2)
    case 3: return (503, .unreachable, 1)
    default: return (200, .online, 1)
    }
  }

  /// The invariants these tests check after every kill include the summary's tallies: each kind of
  /// drift must be caught (a check of the checks).
  @Test func invariantsCatchSummaryTalliesThatDrift() throws {
    let dir = TempDir()
    let path = dir.path + "/t.sqlite"
    let store = try SQLiteStore(path: path)
    let items = try (0..<20).map { i in
      EnqueueItem(
        url: try URLNormalizer.normalize("http://h\(i % 3).test/\(i)").get(),
        report: ReportMetadata(reportedAt: 1000, campaign: i % 2 == 0 ? "c" : nil, deadline: 5000))
    }
    _ = try store.enqueue(items, now: 1000)
    let checker = try SQLiteStore(path: path, checker: true)
    let claimed = try checker.claim(holder: "t", limit: 10, now: 2000, leaseMs: 60_000)
    let results = claimed.map { c in
      ProbeResult(
        claim: c, checkedAt: 9000, observation: c.id % 2 == 0 ? .removed : .online,
        reason: c.id % 2 == 0 ? .http404 : .http200, httpStatus: c.id % 2 == 0 ? 404 : 200, curlCode: 0,
        finalURL: c.url, redirects: 0, remoteIP: nil, timings: .init(), bytes: 0)
    }
    var config = ScheduleConfig()
    config.confirmations = 1
    _ = try checker.complete(results, holder: "t", config: config, jitter: { 0.5 })
    #expect(try databaseInvariantViolations(store.db) == [])
    #expect(try store.db.scalar("SELECT count(*) FROM takedown_times") ?? 0 > 0)
    #expect(try store.db.scalar("SELECT count(*) FROM open_deadlines") ?? 0 > 0)
    for drift in [
      "UPDATE tallies SET n = n + 1 WHERE kind = 3 AND status = 'online'",
      "UPDATE tallies SET n = n - 1 WHERE kind = 2 AND status = 'pending'",
      "UPDATE url_counts SET n = n + 1 WHERE name = 'taken_down_late'",
      "DELETE FROM takedown_times WHERE url_id = (SELECT min(url_id) FROM takedown_times)",
      "UPDATE takedown_time_counts SET n = n + 1 WHERE kind = 0",
      "DELETE FROM open_deadlines WHERE url_id IN (SELECT url_id FROM open_deadlines LIMIT 1)",
    ] {
      try store.db.execute("SAVEPOINT drift")
      try store.db.execute(drift)
      #expect(try databaseInvariantViolations(store.db).count == 1, "\(drift)")
      try store.db.execute("ROLLBACK TO drift; RELEASE drift")
    }
    #expect(try databaseInvariantViolations(store.db) == [])
  }

  @Test func sigkillAtRandomMomentsLosesNothingAndCountsNothingTwice() throws {
    let urlCount = Reliability.full ? 3000 : 600
    let kills = Reliability.full ? 120 : 20
    let concurrency = Reliability.full ? 32 : 12
    var rng = SeededRandom(seed: Reliability.seed)
    print("crash loop: seed \(Reliability.seed), \(urlCount) URLs, \(kills) kills")

    let dir = TempDir()
    let server = try TestHTTPServer { req in
      let n = Int(req.path.split(separator: "/").last ?? "") ?? 0
      // 40-160 ms per answer: a run spans many kills, and kills land with checks in flight.
      return TestResponse(
        status: Self.expected(n).status, body: Array("item \(n)".utf8), delay: .milliseconds(40 + (n * 37) % 120))
    }
    defer { server.stop() }
    let config = try writeReliabilityConfig(in: dir, nodeName: "crash-node", concurrency: concurrency)
    let urls = (0..<urlCount).map { "\(server.baseURL)/item/\($0)" }
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "crash", "--file", "-"], stdin: lines(urls),
      in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    func checks() -> Int64 { (try? reader.db.scalar("SELECT count(*) FROM checks")) ?? 0 }

    var survived = 0
    var killedWithLeases = 0
    var killedAfterStart = 0
    var violations: [String] = []
    for k in 0..<kills {
      let before = checks()
      let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
      // Three kinds of moment, chosen by the seed: any time after exec (startup, migrations, lease
      // recovery included), right after a commit of results, or shortly after the loop started.
      switch rng.next() % 3 {
      case 0:
        Thread.sleep(forTimeInterval: Double(rng.next() % 400) / 1000)
      case 1:
        let target = before + Int64(1 + rng.next() % 40)
        _ = try waitUntil(timeout: .seconds(5)) { checks() >= target || !daemon.process.isRunning }
      default:
        _ = try waitUntil(timeout: .seconds(5)) { daemon.stdout.contains("takedownd started") || !daemon.process.isRunning }
        Thread.sleep(forTimeInterval: Double(rng.next() % 60) / 1000)
      }
      if daemon.stdout.contains("takedownd started") { killedAfterStart += 1 }
      let held = try reader.countLeased()
      kill(daemon.process.processIdentifier, SIGKILL)
      let done = daemon.finish()
      if daemon.process.terminationReason == .uncaughtSignal && done.status == SIGKILL {
        survived += 1
      } else {
        violations.append("kill \(k): the daemon had already exited with \(done.status): \(done.stderr.suffix(400))")
      }
      if held > 0 { killedWithLeases += 1 }
      // The restart below must cope with whatever this kill left; the database itself must be sound now.
      for v in try databaseInvariantViolations(reader.db, full: false) { violations.append("after kill \(k): \(v)") }
    }
    #expect(violations.isEmpty, "seed \(Reliability.seed): \(violations.prefix(10))")

    // A last run to finish the work: it releases the leases of the last kill and checks the rest.
    let last = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(last.status == 0, "\(last.stdout.suffix(2000))\n\(last.stderr)")

    #expect(try reader.countLeased() == 0)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls") == Int64(urlCount))
    #expect(try reader.db.scalar("SELECT count(*) FROM reports") == Int64(urlCount))
    let final = try databaseInvariantViolations(reader.db)
    #expect(final.isEmpty, "seed \(Reliability.seed): \(final)")

    // Every URL ended where its answers say, with exactly the checks they take.
    var wrong: [String] = []
    let s = try reader.db.statement("SELECT url, status, checks, (SELECT count(*) FROM events e WHERE e.url_id = urls.id) FROM urls")
    var verifiedChecks = 0
    while try s.step() {
      let url = s.text(0)
      let n = Int(url.split(separator: "/").last ?? "") ?? -1
      let e = Self.expected(n)
      if s.text(1) != e.final.rawValue || s.int(2) != e.checks || s.int(3) != 1 {
        wrong.append("\(url): \(s.text(1)) with \(s.int(2)) checks and \(s.int(3)) events, expected \(e.final.rawValue) with \(e.checks) and 1")
      }
      verifiedChecks += s.int(2)
    }
    s.reset()
    #expect(wrong.isEmpty, "seed \(Reliability.seed): \(wrong.count) wrong, e.g. \(wrong.prefix(5))")
    // Kills lose checks in flight (their leases are released at the restart), never recorded ones.
    #expect(server.requestCount >= verifiedChecks)
    #expect(killedWithLeases > 0, "no kill landed while URLs were leased: the loop tested nothing")

    Reliability.figure("crash.kills_survived", survived)
    Reliability.figure("crash.kills_with_leases_held", killedWithLeases)
    Reliability.figure("crash.kills_after_loop_started", killedAfterStart)
    Reliability.figure("crash.urls_verified", urlCount)
    Reliability.figure("crash.checks_verified", verifiedChecks)
    Reliability.figure("crash.requests_served", server.requestCount)
  }

  /// The same for the writers: enqueue and import killed mid-batch (their transactions are 200,000 rows)
  /// leave either a whole batch or nothing, and running them again completes the queue exactly once.
  @Test func sigkillDuringEnqueueAndImportLeavesWholeBatchesAndARerunCompletes() throws {
    let count = Reliability.full ? 200_000 : 30_000
    let kills = Reliability.full ? 20 : 6
    var rng = SeededRandom(seed: Reliability.seed ^ 0xE0_E0E0)
    let dir = TempDir()
    let db = dir.path + "/q.sqlite"
    let urls = (0..<count).map { "http://w\($0 % 97).example/item/\($0)" }
    let txt = dir.path + "/urls.txt"
    try lines(urls).write(to: URL(fileURLWithPath: txt))
    var csv = "url,campaign,notice\r\n"
    for (i, u) in urls.enumerated() { csv += "\(u),csv,N-\(i)\r\n" }
    let csvPath = dir.path + "/urls.csv"
    try csv.write(toFile: csvPath, atomically: true, encoding: .utf8)
    var killed = 0
    for k in 0..<kills {
      let args = k % 2 == 0
        ? ["enqueue", "--db", db, "--campaign", "txt", "--file", txt] : ["import", "--db", db, "--csv", csvPath]
      let p = try start(Binaries.takedownctl, args, in: dir)
      Thread.sleep(forTimeInterval: Double(rng.next() % 1000) / 1000)
      kill(p.process.processIdentifier, SIGKILL)
      _ = p.finish()
      if p.process.terminationReason == .uncaughtSignal { killed += 1 }
      // A kill between creating the file and writing its first page leaves 0 bytes: no database yet,
      // which the next enqueue creates (and reading commands refuse with "the file is empty").
      let size = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0
      if size > 0 {
        let store = try SQLiteStore(path: db, create: false)
        #expect(try databaseInvariantViolations(store.db) == [], "after kill \(k)")
      }
    }
    for args in [["enqueue", "--db", db, "--campaign", "txt", "--file", txt], ["import", "--db", db, "--csv", csvPath]] {
      let r = try run(Binaries.takedownctl, args, in: dir)
      #expect(r.status == 0, "\(r.stderr)")
    }
    let store = try SQLiteStore(path: db, create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == Int64(count))
    #expect(try store.db.scalar("SELECT count(*) FROM reports") == Int64(2 * count))
    #expect(try store.db.scalar("SELECT count(*) FROM reports WHERE campaign = 'csv'") == Int64(count))
    #expect(try databaseInvariantViolations(store.db) == [])
    Reliability.figure("crash.writer_kills", killed)
    Reliability.figure("crash.writer_urls_verified", count)
  }
}
