import Foundation
import Testing

@testable import TakedownCore

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "takedown-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct StoreTests {
  let dir = TempDir()
  var dbPath: String { dir.path + "/t.sqlite" }

  func item(_ u: String, campaign: String? = nil, notice: String? = nil) throws -> EnqueueItem {
    EnqueueItem(url: try URLNormalizer.normalize(u).get(), report: ReportMetadata(campaign: campaign, notice: notice))
  }

  @Test func enqueueStoresEachURLOnceAndEachReportOnce() throws {
    let store = try SQLiteStore(path: dbPath)
    var c = try store.enqueue([try item("http://a.test/1"), try item("HTTP://A.TEST:80/1#x"), try item("http://a.test/2")], now: 1000)
    #expect(c.new == 2)
    #expect(c.alreadyQueued == 1)
    #expect(c.reportsAdded == 2)
    c = try store.enqueue([try item("http://a.test/1", campaign: "c1", notice: "n1"), try item("http://a.test/1")], now: 2000)
    #expect(c.new == 0)
    #expect(c.alreadyQueued == 2)
    #expect(c.reportsAdded == 1)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 2)
    let rec = try #require(try store.lookup("http://a.test/1"))
    #expect(rec.reports.count == 2)
    #expect(rec.status == .pending)
    #expect(rec.nextCheckAt == 1000)
  }

  func counts(_ new: Int, _ alreadyQueued: Int, _ reportsAdded: Int) -> EnqueueCounts {
    var c = EnqueueCounts()
    c.new = new
    c.alreadyQueued = alreadyQueued
    c.reportsAdded = reportsAdded
    return c
  }

  /// A batch with several reports per URL: stored as if the items went in one by one, in order (the
  /// first item of a URL creates it and its report wins over a later one with the same key).
  @Test func aBatchIsStoredAsItsItemsOneByOne() throws {
    let store = try SQLiteStore(path: dbPath)
    func at(_ u: String, _ campaign: String, _ reported: Int64, _ deadline: Int64?) throws -> EnqueueItem {
      EnqueueItem(
        url: try URLNormalizer.normalize(u).get(),
        report: ReportMetadata(reportedAt: reported, campaign: campaign, deadline: deadline))
    }
    let c = try store.enqueue(
      [
        try at("http://b.test/1", "c1", 500, 900), try at("http://a.test/2", "c1", 700, nil),
        try at("http://b.test/1", "c2", 300, nil), try at("http://b.test/1", "c1", 100, 50),
      ], now: 1000)
    #expect(c == counts(2, 2, 3))
    // The third b.test/1 item repeats (url, c1, no notice): ignored, its earlier date and deadline too.
    #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE url = 'http://b.test/1'") == 300)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE url = 'http://b.test/1'") == 900)
    #expect(
      try store.db.scalar(
        "SELECT reported_at FROM reports JOIN urls u ON u.id = url_id WHERE u.url = 'http://b.test/1' AND campaign = 'c1'")
        == 500)
    #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE url = 'http://a.test/2'") == 700)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE url = 'http://a.test/2'") == nil)
  }

  /// One report for the whole batch (what `enqueue` sends), mixing queued and new URLs and repeats.
  @Test func aBatchWithOneReportAddsItToQueuedAndNewURLs() throws {
    let store = try SQLiteStore(path: dbPath)
    _ = try store.enqueue([try item("http://a.test/1", campaign: "c"), try item("http://a.test/2", campaign: "c")], now: 1000)
    let report = ReportMetadata(reportedAt: 10, campaign: "d", deadline: 20)
    let batch = try ["http://a.test/2", "http://a.test/3", "http://a.test/3", "http://a.test/1"].map {
      EnqueueItem(url: try URLNormalizer.normalize($0).get(), report: report)
    }
    let c = try store.enqueue(batch, now: 2000)
    #expect(c == counts(1, 3, 3))
    #expect(try store.db.scalar("SELECT count(*) FROM reports WHERE campaign = 'd'") == 3)
    for u in ["http://a.test/1", "http://a.test/2", "http://a.test/3"] {
      #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE url = '\(u)'") == 10)
      #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE url = '\(u)'") == 20)
    }
    #expect(try store.lookup("http://a.test/3")?.nextCheckAt == 2000)
    // The same batch again changes nothing.
    #expect(try store.enqueue(batch, now: 3000) == counts(0, 4, 0))
  }

  /// enqueue skips the reports triggers where reports_aggregate_insert has nothing to do and does the
  /// summary triggers' work itself: another trigger on inserts into reports would be skipped too, so it
  /// needs a look at SQLiteStore.enqueue first.
  @Test func theOnlyTriggerOnReportInsertsIsTheAggregate() throws {
    let store = try SQLiteStore(path: dbPath)
    let s = try store.db.statement(
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'reports' AND sql LIKE '%INSERT ON reports%'")
    var names: [String] = []
    while try s.step() { names.append(s.text(0)) }
    s.reset()
    #expect(names.sorted() == ["reports_aggregate_insert", "summary_report_insert", "summary_report_insert_time"])
  }

  /// The checker's connection (takedownd's) runs without triggers and does their work in Swift
  /// (CheckTallies). A trigger on a table it writes that is not in this list would be skipped there:
  /// teach CheckTallies what it does, then add it here.
  @Test func triggersTheCheckerBypassesAreKnown() throws {
    let store = try SQLiteStore(path: dbPath)
    let s = try store.db.statement(
      """
      SELECT tbl_name || ': ' || name FROM sqlite_master WHERE type = 'trigger'
      AND tbl_name IN ('urls', 'checks', 'events', 'summaries', 'tallies', 'takedown_times',
                       'takedown_time_counts', 'url_counts', 'open_deadlines')
      """)
    var names: [String] = []
    while try s.step() { names.append(s.text(0)) }
    s.reset()
    #expect(
      names.sorted() == [
        "takedown_times: takedown_time_counts_delete", "takedown_times: takedown_time_counts_insert",
        "urls: summary_url_delete", "urls: summary_url_insert", "urls: summary_url_insert_more",
        "urls: summary_url_update",
      ])
    // And the checker's connection really runs none of them, while its enqueue and cancel still do.
    let checker = try SQLiteStore(path: dbPath, checker: true)
    #expect(!checker.db.triggersEnabled)
    _ = try checker.enqueue([try item("http://a.test/1")], now: 1000)
    #expect(!checker.db.triggersEnabled)
    let pending = "SELECT n FROM tallies WHERE kind = 3 AND name = 'a.test' AND status = 'pending'"
    #expect(try store.db.scalar(pending) == 1)
    #expect(try checker.cancel(id: 1, now: 2000))
    #expect(try store.db.scalar(pending) == 0)
    #expect(try store.db.scalar("SELECT n FROM tallies WHERE kind = 3 AND name = 'a.test' AND status = 'cancelled'") == 1)
  }

  /// enqueue inserts new URLs with the triggers off and does what the summary's insert triggers would
  /// (host tallies, open deadlines) itself: a new trigger on inserts into urls needs a look there first.
  @Test func triggersOnURLInsertsAreKnown() throws {
    let store = try SQLiteStore(path: dbPath)
    let s = try store.db.statement(
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'urls' AND sql LIKE '%INSERT ON urls%'")
    var names: [String] = []
    while try s.step() { names.append(s.text(0)) }
    s.reset()
    #expect(names.sorted() == ["summary_url_insert", "summary_url_insert_more"])
  }

  @Test func claimLeasesAndCompleteRecordsOncePerAttempt() throws {
    let store = try SQLiteStore(path: dbPath)
    _ = try store.enqueue([try item("http://a.test/1"), try item("http://a.test/2")], now: 1000)
    let claimed = try store.claim(holder: "h1", limit: 10, now: 2000, leaseMs: 60_000)
    #expect(claimed.count == 2)
    #expect(claimed.allSatisfy { $0.attempt == 1 })
    // Leased URLs are not due for anyone else.
    #expect(try store.claim(holder: "h2", limit: 10, now: 3000, leaseMs: 60_000).isEmpty)

    let results = claimed.map {
      ProbeResult(
        claim: $0, checkedAt: 4000, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0,
        finalURL: $0.url, redirects: 0, remoteIP: "127.0.0.1", timings: .init(), bytes: 10)
    }
    let stats = try store.complete(results, holder: "h1", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(stats.recorded == 2)
    // The same results again (a retried batch) must not add check rows.
    let again = try store.complete(results, holder: "h1", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(again.recorded == 0)
    #expect(again.stale == 2)
    #expect(try store.db.scalar("SELECT count(*) FROM checks") == 2)
    #expect(try store.countLeased() == 0)
    let rec = try #require(try store.lookup("http://a.test/1"))
    #expect(rec.status == .online)
    #expect(rec.checks == 1)
    #expect(rec.nextCheckAt == 4000 + ScheduleConfig().recheckIntervalMs)
  }

  @Test func expiredLeaseIsReclaimedAndTheLateResultIsDropped() throws {
    let store = try SQLiteStore(path: dbPath)
    _ = try store.enqueue([try item("http://a.test/1")], now: 1000)
    let first = try store.claim(holder: "dead", limit: 10, now: 2000, leaseMs: 1000)
    #expect(first.count == 1)
    #expect(try store.claim(holder: "h2", limit: 10, now: 2500, leaseMs: 1000).isEmpty)
    let second = try store.claim(holder: "h2", limit: 10, now: 3001, leaseMs: 60_000)
    #expect(second.count == 1)
    #expect(second[0].attempt == 2)
    let late = ProbeResult(
      claim: first[0], checkedAt: 3500, observation: .removed, reason: .http404, httpStatus: 404, curlCode: 0,
      finalURL: nil, redirects: 0, remoteIP: nil, timings: .init(), bytes: 0)
    let s = try store.complete([late], holder: "dead", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(s.stale == 1)
    #expect(try store.db.scalar("SELECT count(*) FROM checks") == 0)
    #expect(try store.lookup("1")?.leaseHolder == "h2")
  }

  @Test func releaseAndReleaseAll() throws {
    let store = try SQLiteStore(path: dbPath)
    _ = try store.enqueue([try item("http://a.test/1"), try item("http://a.test/2")], now: 1000)
    let claimed = try store.claim(holder: "me", limit: 10, now: 2000, leaseMs: 60_000)
    try store.release([claimed[0]], holder: "me", now: 2100)
    #expect(try store.countLeased() == 1)
    #expect(try store.countDue(now: 2100) == 1)
    #expect(try store.releaseAll(holder: "me", now: 2200) == 1)
    #expect(try store.countLeased() == 0)
    #expect(try store.countDue(now: 2200) == 2)
  }

  @Test func cancelStopsChecksAndRecordsAnEvent() throws {
    let store = try SQLiteStore(path: dbPath)
    _ = try store.enqueue([try item("http://a.test/1")], now: 1000)
    #expect(try store.cancel(id: 1, now: 1500))
    #expect(try store.claim(holder: "h", limit: 10, now: 9_999_999, leaseMs: 1000).isEmpty)
    #expect(try store.lookup("1")?.status == .cancelled)
    #expect(try store.db.scalar("SELECT count(*) FROM events WHERE to_status = 'cancelled'") == 1)
    #expect(try store.cancel(id: 42, now: 1500) == false)
  }

  @Test func migrationsAreRecordedAndReopeningIsANoOp() throws {
    _ = try SQLiteStore(path: dbPath)
    let again = try SQLiteStore(path: dbPath)
    #expect(try again.db.scalar("SELECT count(*) FROM schema_migrations") == Int64(Migrations.all.count))
    #expect(try again.db.statement("PRAGMA journal_mode").firstText([]) == "wal")
  }

  @Test func refusesADatabaseFromANewerVersion() throws {
    let store = try SQLiteStore(path: dbPath)
    try store.db.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)")
    let error = #expect(throws: StoreError.self) { try SQLiteStore(path: dbPath) }
    #expect(error?.description.hasSuffix("created by a newer takedown: schema 9999_future unknown, upgrade the binaries") == true)
    #expect(error?.exitCode == .config)
    #expect(throws: StoreError.self) { try SQLiteStore(path: dbPath, create: false, readOnly: true) }
  }

  @Test func aLongLivedReaderSeesNewWrites() throws {
    // Regression: a cached statement left on its row kept an old snapshot open, so the CLI (and the
    // daemon's own due-checks) never saw newer data.
    let reader = try SQLiteStore(path: dbPath)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls") == 0)
    #expect(try reader.lookup("http://a.test/1") == nil)
    let writer = try SQLiteStore(path: dbPath)
    _ = try writer.enqueue([try item("http://a.test/1")], now: 1000)
    #expect(try reader.db.scalar("SELECT count(*) FROM urls") == 1)
    #expect(try reader.lookup("http://a.test/1") != nil)
    _ = try writer.claim(holder: "w", limit: 1, now: 2000, leaseMs: 1000)
    #expect(try reader.countLeased() == 1)
  }

  @Test func countsByStatusHasEveryStatus() throws {
    let store = try SQLiteStore(path: dbPath)
    let counts = try store.countsByStatus()
    #expect(Set(counts.keys) == Set(URLStatus.allCases))
  }
}
