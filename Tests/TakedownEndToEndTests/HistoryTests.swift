import Foundation
import TakedownCore
import TestHTTPServer
import Testing

/// Bounded history with the real binaries: the daemon compacts old history while it checks, and
/// `takedownctl prune` / `history` show and do the same on both backends.
@Suite(.serialized) struct HistoryEndToEndTests {
  static let day: Int64 = 86_400_000

  /// Writes `days` daily online checks of `url`, ending `endDaysAgo` days ago, through the store code
  /// with synthetic timestamps (the URL is enqueued at the first of them). Returns the URL's id.
  func writeOldHistory(_ database: String, url: String, days: Int64, endDaysAgo: Int64) throws -> Int64 {
    let store = try StoreOpener.open(database)
    let now = Timestamp.nowMs()
    let first = now - (endDaysAgo + days) * Self.day
    _ = try store.enqueue([EnqueueItem(url: try URLNormalizer.normalize(url).get(), report: ReportMetadata())], now: first)
    var schedule = ScheduleConfig()
    schedule.recheckIntervalMs = 3_600_000
    for d in 0..<days {
      let at = first + d * Self.day
      let claimed = try store.claim(holder: "old", limit: 10, now: at, leaseMs: 60_000)
      try #require(claimed.count == 1)
      let r = ProbeResult(
        claim: claimed[0], checkedAt: at, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0,
        finalURL: url, redirects: 0, remoteIP: "127.0.0.1", timings: .init(), bytes: 5)
      _ = try store.complete([r], holder: "old", config: schedule, jitter: { 0.5 })
    }
    return try #require(try store.lookup(url)).id
  }

  @Test(arguments: Backend.allCases) func theDaemonCompactsOldHistoryWhileItChecks(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "the video")])
    defer { server.stop() }
    let url = "\(server.baseURL)/ok"
    let id = try writeOldHistory(database, url: url, days: 40, endDaysAgo: 5)
    let config = try writeConfig(
      in: dir, database: database, top: "", name: "takedown.toml")
    try (String(contentsOfFile: config, encoding: .utf8) + "\n[history]\nkeep_all_for = \"1d\"\ncompact_interval = \"1h\"\n")
      .write(toFile: config, atomically: true, encoding: .utf8)

    let started = Timestamp.nowMs()
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    let store = try openStore(database)
    // The old checks are folded, and the URL (due since the synthetic history ended) is checked anew.
    let done = try waitUntil(timeout: .seconds(60)) {
      let folds = try store.folds(urlID: id)
      let checks = try store.history(urlID: id)
      let logged = (daemon.stdout + daemon.stderr).contains("history compacted")
      return logged && folds.first?.count == 38 && checks.last.map { $0.checkedAt >= started } == true
    }
    #expect(done, "\(daemon.stderr)")
    let stopped = daemon.terminate()
    #expect(stopped.status == 0, "\(stopped.stderr)")
    // The round's line: this URL's 38 checks.
    #expect((stopped.stdout + stopped.stderr).contains("checks.folded=38"), "\(stopped.stdout)\n\(stopped.stderr)")
    let checks = try store.history(urlID: id)
    // The first and the last of the old run, and the daemon's own check.
    #expect(checks.count == 3)
    #expect(checks.last?.holder != "old")

    let text = try run(Binaries.takedownctl, ["history", "--config", config, url], in: dir)
    #expect(text.status == 0, "\(text.stderr)")
    let lines = text.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first?.hasSuffix("41 checks (38 folded by compaction)") == true, "\(text.stdout)")
    // In place: between the first and the last old check.
    #expect(lines.count == 5)
    #expect(lines.count == 5 && lines[2].hasPrefix("… 38 identical checks (online, http_200, http 200, status online) from "))
    let json = try run(Binaries.takedownctl, ["history", "--config", config, "--json", url], in: dir)
    let obj = try jsonObject(json.stdout)
    #expect(obj["checks_folded"] as? Int == 38)
    let folds = try #require(obj["folds"] as? [[String: Any]])
    #expect(folds.count == 1 && folds.first?["folded"] as? Int == 38 && folds.first?["reason"] as? String == "http_200")
  }

  @Test(arguments: Backend.allCases) func pruneSaysWhatItWouldRemoveThenRemovesIt(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    var ids: [Int64] = []
    for i in 0..<3 {
      ids.append(try writeOldHistory(database, url: "http://h\(i).test/x", days: 20, endDaysAgo: 40))
    }
    let config = try writeConfig(in: dir, database: database)
    let store = try openStore(database)
    func count() throws -> Int { try ids.reduce(0) { $0 + (try store.history(urlID: $1).count) } }
    #expect(try count() == 60)

    let dry = try run(Binaries.takedownctl, ["prune", "--config", config, "--dry-run"], in: dir)
    #expect(dry.status == 0, "\(dry.stderr)")
    #expect(dry.stdout.hasPrefix("would fold 54 checks of 3 URLs (3 examined, 3 fold note writes);"), "\(dry.stdout)")
    #expect(dry.stdout.contains("nothing changed"))
    #expect(try count() == 60, "a dry run deletes nothing")
    #expect(try store.folds(urlID: ids[0]).isEmpty)

    let real = try run(Binaries.takedownctl, ["prune", "--config", config, "--json"], in: dir)
    #expect(real.status == 0, "\(real.stderr)")
    let obj = try jsonObject(real.stdout)
    #expect(obj["checks_folded"] as? Int == 54)
    #expect(obj["urls_touched"] as? Int == 3)
    #expect(obj["dry_run"] as? Bool == false)
    #expect(try count() == 6)
    #expect(try store.folds(urlID: ids[1]).map(\.count) == [18])

    let again = try run(Binaries.takedownctl, ["prune", "--config", config], in: dir)
    #expect(again.status == 0)
    #expect(again.stdout.hasPrefix("folded 0 checks of 0 URLs (3 examined, 0 fold note writes)"), "\(again.stdout)")
    #expect(try count() == 6)

    // --vacuum: SQLite rewrites the file; PostgreSQL has nothing to do and says so.
    let vacuum = try run(Binaries.takedownctl, ["prune", "--config", config, "--vacuum"], in: dir)
    #expect(vacuum.status == 0, "\(vacuum.stderr)")
    #expect(vacuum.stdout.contains("nothing to do on this backend") == (backend == .postgres), "\(vacuum.stdout)")

    let bad = try run(Binaries.takedownctl, ["prune", "--config", config, "--dry-run", "--vacuum"], in: dir)
    #expect(bad.status == 64)
  }

  @Test func aBadHistoryKeyStopsTheDaemonWithTheKeyNamed() throws {
    let dir = TempDir()
    let config = try writeConfig(in: dir)
    try (String(contentsOfFile: config, encoding: .utf8) + "\n[history]\nkeep_all_for = \"forever\"\n")
      .write(toFile: config, atomically: true, encoding: .utf8)
    let daemon = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(daemon.status == 78)
    #expect(daemon.stderr.contains("history.keep_all_for"), "\(daemon.stderr)")
  }
}
