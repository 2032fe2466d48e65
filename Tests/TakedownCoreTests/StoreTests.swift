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

/// The conformance suite of `TakedownStore`: every test runs against SQLite and against PostgreSQL and
/// asserts the same (through the protocol, or through `RawSQL` where no protocol method reads a column).
@Suite struct StoreTests {
  let dir = TempDir()

  func item(_ u: String, campaign: String? = nil, notice: String? = nil) throws -> EnqueueItem {
    EnqueueItem(url: try URLNormalizer.normalize(u).get(), report: ReportMetadata(campaign: campaign, notice: notice))
  }

  func newStore(_ backend: Backend) throws -> any TakedownStore { try backend.newStore(in: dir).store }

  func urlInt(_ store: any TakedownStore, _ column: String, _ url: String) throws -> Int64? {
    try RawSQL.int(store, "SELECT \(column) FROM urls WHERE url = '\(url)'")
  }

  @Test(arguments: Backend.allCases) func enqueueStoresEachURLOnceAndEachReportOnce(_ backend: Backend) throws {
    let store = try newStore(backend)
    var c = try store.enqueue([try item("http://a.test/1"), try item("HTTP://A.TEST:80/1#x"), try item("http://a.test/2")], now: 1000)
    #expect(c.new == 2)
    #expect(c.alreadyQueued == 1)
    #expect(c.reportsAdded == 2)
    c = try store.enqueue([try item("http://a.test/1", campaign: "c1", notice: "n1"), try item("http://a.test/1")], now: 2000)
    #expect(c.new == 0)
    #expect(c.alreadyQueued == 2)
    #expect(c.reportsAdded == 1)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM urls") == 2)
    #expect(
      try RawSQL.int(store, "SELECT count(*) FROM reports r JOIN urls u ON u.id = r.url_id WHERE u.url = 'http://a.test/1'")
        == 2)
    #expect(try RawSQL.text(store, "SELECT status FROM urls WHERE url = 'http://a.test/1'") == "pending")
    #expect(try urlInt(store, "next_check_at", "http://a.test/1") == 1000)
    #expect(try store.countDue(now: 1000) == 2)
    #expect(try store.nextDueAt() == 1000)
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
  @Test(arguments: Backend.allCases) func aBatchIsStoredAsItsItemsOneByOne(_ backend: Backend) throws {
    let store = try newStore(backend)
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
    #expect(try urlInt(store, "first_reported_at", "http://b.test/1") == 300)
    #expect(try urlInt(store, "deadline_at", "http://b.test/1") == 900)
    #expect(
      try RawSQL.int(
        store,
        "SELECT reported_at FROM reports JOIN urls u ON u.id = url_id WHERE u.url = 'http://b.test/1' AND campaign = 'c1'")
        == 500)
    #expect(try urlInt(store, "first_reported_at", "http://a.test/2") == 700)
    #expect(try urlInt(store, "deadline_at", "http://a.test/2") == nil)
    // A later batch with an earlier report moves the URL's first report and deadline up; a later one does not.
    #expect(try store.enqueue([try at("http://b.test/1", "c3", 200, 800)], now: 2000) == counts(0, 1, 1))
    #expect(try urlInt(store, "first_reported_at", "http://b.test/1") == 200)
    #expect(try urlInt(store, "deadline_at", "http://b.test/1") == 800)
    #expect(try store.enqueue([try at("http://a.test/2", "c3", 900, 5000)], now: 2000) == counts(0, 1, 1))
    #expect(try urlInt(store, "first_reported_at", "http://a.test/2") == 700)
    #expect(try urlInt(store, "deadline_at", "http://a.test/2") == 5000)
  }

  /// One report for the whole batch (what `enqueue` sends), mixing queued and new URLs and repeats.
  @Test(arguments: Backend.allCases) func aBatchWithOneReportAddsItToQueuedAndNewURLs(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue([try item("http://a.test/1", campaign: "c"), try item("http://a.test/2", campaign: "c")], now: 1000)
    let report = ReportMetadata(reportedAt: 10, campaign: "d", deadline: 20)
    let batch = try ["http://a.test/2", "http://a.test/3", "http://a.test/3", "http://a.test/1"].map {
      EnqueueItem(url: try URLNormalizer.normalize($0).get(), report: report)
    }
    let c = try store.enqueue(batch, now: 2000)
    #expect(c == counts(1, 3, 3))
    #expect(try RawSQL.int(store, "SELECT count(*) FROM reports WHERE campaign = 'd'") == 3)
    for u in ["http://a.test/1", "http://a.test/2", "http://a.test/3"] {
      #expect(try urlInt(store, "first_reported_at", u) == 10)
      #expect(try urlInt(store, "deadline_at", u) == 20)
    }
    #expect(try urlInt(store, "next_check_at", "http://a.test/3") == 2000)
    // The same batch again changes nothing.
    #expect(try store.enqueue(batch, now: 3000) == counts(0, 4, 0))
  }

  /// Report fields go in as they are, whatever they hold (quotes, backslashes, tabs, "NULL", braces).
  @Test(arguments: Backend.allCases) func reportFieldsAreStoredVerbatim(_ backend: Backend) throws {
    let store = try newStore(backend)
    let odd = "a \"quoted\" \\ back\tslash {NULL}, é"
    let report = ReportMetadata(reportedAt: 5, campaign: odd, notice: "NULL", rightholder: "\\N", work: "x\ny")
    _ = try store.enqueue([EnqueueItem(url: try URLNormalizer.normalize("http://a.test/1").get(), report: report)], now: 1)
    #expect(try RawSQL.text(store, "SELECT campaign FROM reports") == odd)
    #expect(try RawSQL.text(store, "SELECT notice FROM reports") == "NULL")
    #expect(try RawSQL.text(store, "SELECT rightholder FROM reports") == "\\N")
    #expect(try RawSQL.text(store, "SELECT work FROM reports") == "x\ny")
  }

  /// A cancelled URL reported again keeps its report and stays cancelled; enqueue names it.
  @Test(arguments: Backend.allCases) func enqueueNamesCancelledURLs(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue((1...8).map { try item("http://a.test/\($0)") }, now: 1000)
    for id in 1...7 { #expect(try store.cancel(id: Int64(id), now: 1500)) }
    let c = try store.enqueue((1...8).map { try item("http://a.test/\($0)", campaign: "again") } + [try item("http://a.test/1")], now: 2000)
    #expect(c.new == 0)
    #expect(c.alreadyQueued == 9)
    #expect(c.reportsAdded == 8)
    #expect(c.cancelled == 7)
    #expect(c.cancelledSample.count == EnqueueCounts.cancelledSampleLimit)
    #expect(Set(c.cancelledSample).isSubset(of: Set((1...7).map { "http://a.test/\($0)" })))
    #expect(try RawSQL.int(store, "SELECT count(*) FROM urls WHERE status = 'cancelled'") == 7)
  }

  @Test(arguments: Backend.allCases) func claimLeasesAndCompleteRecordsOncePerAttempt(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue([try item("http://a.test/1"), try item("http://a.test/2")], now: 1000)
    let claimed = try store.claim(holder: "h1", limit: 10, now: 2000, leaseMs: 60_000)
    #expect(claimed.count == 2)
    #expect(claimed.allSatisfy { $0.attempt == 1 })
    #expect(try RawSQL.int(store, "SELECT count(*) FROM urls WHERE next_check_at = 62000 AND lease_until = 62000") == 2)
    // Leased URLs are not due for anyone else.
    #expect(try store.claim(holder: "h2", limit: 10, now: 3000, leaseMs: 60_000).isEmpty)
    #expect(try store.countLeased() == 2)

    let results = claimed.map {
      ProbeResult(
        claim: $0, checkedAt: 4000, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0,
        finalURL: $0.url, redirects: 0, remoteIP: "127.0.0.1", timings: .init(), bytes: 10)
    }
    let stats = try store.complete(results, holder: "h1", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(stats.recorded == 2)
    #expect(stats.transitions.map(\.to) == [.online, .online])
    #expect(stats.recordedByReason == [.http200: 2])
    // The same results again (a retried batch) must not add check rows.
    let again = try store.complete(results, holder: "h1", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(again.recorded == 0)
    #expect(again.stale == 2)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 2)
    #expect(try store.countLeased() == 0)
    #expect(try RawSQL.text(store, "SELECT status FROM urls WHERE url = 'http://a.test/1'") == "online")
    #expect(try urlInt(store, "checks", "http://a.test/1") == 1)
    #expect(try urlInt(store, "next_check_at", "http://a.test/1") == 4000 + ScheduleConfig().recheckIntervalMs)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM events WHERE to_status = 'online'") == 2)
  }

  /// The same results give the same stats, rows and events on both backends: a removal confirmed over
  /// two checks, a transient failure, a reappearance, and a taken_down URL's failure that keeps the
  /// HTTP status of the check that decided it.
  @Test(arguments: Backend.allCases) func completeAppliesTheScheduleAsSQLiteDoes(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue((1...3).map { try item("http://a.test/\($0)") }, now: 0)
    var config = ScheduleConfig()
    config.confirmations = 2
    config.confirmIntervalMs = 0
    func pass(_ at: Int64, _ outcome: (ClaimedURL) -> (Observation, Reason, Int?)) throws -> CompletionStats {
      let claimed = try store.claim(holder: "h", limit: 10, now: at, leaseMs: 10_000)
      let results = claimed.sorted { $0.id < $1.id }.map { c -> ProbeResult in
        let (o, r, code) = outcome(c)
        var p = ProbeResult(
          claim: c, checkedAt: at + 1, observation: o, reason: r, httpStatus: code, curlCode: 0, finalURL: nil,
          redirects: 0, remoteIP: nil, timings: .init(), bytes: 0)
        p.evidence = CheckEvidence(vantage: "v", method: "GET", headers: [("server", "x\"y")], matched: "m")
        return p
      }
      return try store.complete(results, holder: "h", config: config, jitter: { 0.5 })
    }
    let removed: (ClaimedURL) -> (Observation, Reason, Int?) = { c in
      c.id == 3 ? (.transient, .http5xx, 503) : (.removed, .http404, 404)
    }
    var s = try pass(1000, removed)
    #expect(s.recorded == 3)
    #expect(s.transitions.map(\.to) == [.unreachable])
    s = try pass(2000, removed)
    #expect(s.newlyTakenDown == 2)
    #expect(s.transitions.map { [$0.urlID, Int64($0.to == .takenDown ? 1 : 0)] } == [[1, 1], [2, 1]])
    // URL 1 answers again, URL 2 fails: it stays taken_down with the 404 that decided it.
    let now: Int64 = 2000 + config.watchIntervalMs + 10
    s = try pass(now) { c in
      c.id == 1 ? (.online, .http200, 200) : c.id == 2 ? (.transient, .http5xx, 503) : (.online, .http200, 200)
    }
    #expect(s.newlyReappeared == 1)
    #expect(s.transitions.map(\.to) == [.reappeared, .online])
    #expect(try RawSQL.text(store, "SELECT status FROM urls WHERE id = 2") == "taken_down")
    #expect(try RawSQL.int(store, "SELECT http_status FROM urls WHERE id = 2") == 404)
    #expect(try RawSQL.text(store, "SELECT reason FROM urls WHERE id = 2") == "http_404")
    #expect(try RawSQL.int(store, "SELECT http_status FROM checks WHERE url_id = 2 ORDER BY attempt DESC LIMIT 1") == 503)
    #expect(try RawSQL.text(store, "SELECT headers FROM checks WHERE url_id = 1 AND attempt = 1") == #"{"server":"x\"y"}"#)
    // URL 3 was backing off (a minute) during the second pass.
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 8)
    #expect(try RawSQL.ints(store, "SELECT attempt FROM checks WHERE url_id = 2 ORDER BY attempt") == [1, 2, 3])
    #expect(try store.lastEventID() == 5)
    let events = try store.events(afterID: 0, since: nil, limit: 100)
    #expect(events.map(\.transition.to) == [.unreachable, .takenDown, .takenDown, .reappeared, .online])
    #expect(events.map(\.id) == Array(1...5))
    #expect(try store.eventIDBeforeLast(2) == 3)
  }

  @Test(arguments: Backend.allCases) func expiredLeaseIsReclaimedAndTheLateResultIsDropped(_ backend: Backend) throws {
    let store = try newStore(backend)
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
    #expect(s.recorded == 0)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 0)
    #expect(try RawSQL.text(store, "SELECT lease_holder FROM urls WHERE id = 1") == "h2")
    // Same holder name, older attempt (a node paused past its lease, then re-claimed under its own
    // name): the attempt alone fences it.
    let third = try store.claim(holder: "h2", limit: 10, now: 70_000, leaseMs: 60_000)
    #expect(third.map(\.attempt) == [3])
    var old = late
    old.claim = second[0]
    #expect(try store.complete([old], holder: "h2", config: ScheduleConfig(), jitter: { 0.5 }).stale == 1)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 0)
    // Nor did the stale results touch the URL: still pending, unchecked, leased to attempt 3.
    #expect(try RawSQL.text(store, "SELECT status || ' ' || checks || ' ' || lease_holder FROM urls WHERE id = 1") == "pending 0 h2")
    #expect(try store.countLeased() == 1)
  }

  /// A batch that mixes results still under their lease with stale ones records exactly the former,
  /// and a result given twice counts once.
  @Test(arguments: Backend.allCases) func aMixedBatchRecordsOnlyWhatItsLeasesCover(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue((1...6).map { try item("http://a.test/\($0)") }, now: 0)
    let mine = try store.claim(holder: "a", limit: 6, now: 10, leaseMs: 100).sorted { $0.id < $1.id }
    // URLs 1 and 2: lease expired and taken by b; URL 3: cancelled; 4-6 still a's.
    _ = try store.releaseAll(holder: "nobody", now: 10)
    let theirs = try store.claim(holder: "b", limit: 2, now: 200, leaseMs: 10_000)
    #expect(theirs.count == 2)
    let taken = Set(theirs.map(\.id))
    #expect(try store.cancel(id: 3, now: 210) == true)
    let results = (mine + [mine[5]]).map {
      ProbeResult(
        claim: $0, checkedAt: 300, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0, finalURL: nil,
        redirects: 0, remoteIP: nil, timings: .init(), bytes: 0)
    }
    let s = try store.complete(results, holder: "a", config: ScheduleConfig(), jitter: { 0.5 })
    let expectRecorded = mine.filter { !taken.contains($0.id) && $0.id != 3 }.count
    #expect(s.recorded == expectRecorded)
    #expect(s.stale == results.count - expectRecorded)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == Int64(expectRecorded))
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks WHERE holder <> 'a'") == 0)
  }

  @Test(arguments: Backend.allCases) func releaseDeferAndReleaseAll(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue([try item("http://a.test/1"), try item("http://a.test/2"), try item("http://a.test/3")], now: 1000)
    let claimed = try store.claim(holder: "me", limit: 10, now: 2000, leaseMs: 60_000).sorted { $0.id < $1.id }
    try store.release([claimed[0]], holder: "me", now: 2100)
    try store.release([claimed[1]], holder: "someone else", now: 2100)
    #expect(try store.countLeased() == 2)
    #expect(try store.countDue(now: 2100) == 1)
    try store.deferClaims([(claimed[1], 9000)], holder: "me")
    #expect(try store.countLeased() == 1)
    #expect(try urlInt(store, "next_check_at", "http://a.test/2") == 9000)
    #expect(try store.releaseAll(holder: "me", now: 2200) == 1)
    #expect(try store.countLeased() == 0)
    #expect(try store.countDue(now: 2200) == 2)
    #expect(try store.nextDueAt() == 2100)
  }

  @Test(arguments: Backend.allCases) func cancelStopsChecksAndRecordsAnEvent(_ backend: Backend) throws {
    let store = try newStore(backend)
    _ = try store.enqueue([try item("http://a.test/1")], now: 1000)
    #expect(try store.cancel(id: 1, now: 1500))
    #expect(try store.cancel(id: 1, now: 1600))
    #expect(try store.claim(holder: "h", limit: 10, now: 9_999_999, leaseMs: 1000).isEmpty)
    #expect(try store.nextDueAt() == nil)
    #expect(try RawSQL.text(store, "SELECT status FROM urls WHERE id = 1") == "cancelled")
    #expect(try RawSQL.int(store, "SELECT count(*) FROM events WHERE to_status = 'cancelled'") == 1)
    #expect(try store.cancel(id: 42, now: 1500) == false)
    #expect(try store.reactivate(id: 42, now: 1700) == .notFound)
    #expect(try store.reactivate(id: 1, now: 1700) == .reactivated)
    #expect(try store.reactivate(id: 1, now: 1800) == .notCancelled(.pending))
    #expect(try store.claim(holder: "h", limit: 10, now: 1700, leaseMs: 1000).count == 1)
    let events = try store.events(afterID: 0, since: nil, limit: 10)
    #expect(events.map(\.transition.to) == [.cancelled, .pending])
    #expect(events.map(\.transition.reason) == ["cancelled", "reactivated"])
    #expect(events.map(\.transition.url) == ["http://a.test/1", "http://a.test/1"])
    #expect(try store.events(afterID: events[0].id, since: nil, limit: 10).map(\.id) == [events[1].id])
    #expect(try store.events(afterID: 0, since: 1600, limit: 10).map(\.id) == [events[1].id])
    #expect(try store.eventIDBeforeLast(1) == events[0].id)
    #expect(try store.eventIDBeforeLast(5) == 0)
  }

  @Test(arguments: Backend.allCases) func summariesAndTheStatusLogCursor(_ backend: Backend) throws {
    let store = try newStore(backend)
    try store.recordSummary(
      StoredSummary(
        at: 5, intervalMs: 1000, holder: "n", checks: 3, checksPerSecond: 2.5, byStatus: [.online: 2, .pending: 1],
        newlyTakenDown: 0, newlyReappeared: 0, due: 4))
    #expect(try RawSQL.int(store, "SELECT count(*) FROM summaries WHERE checks = 3 AND online = 2 AND due = 4") == 1)
    #expect(try store.statusLogCursor(node: "n1") == nil)
    try store.setStatusLogCursor(7, node: "n1")
    try store.setStatusLogCursor(9, node: "n1")
    #expect(try store.statusLogCursor(node: "n1") == 9)
  }

  @Test(arguments: Backend.allCases) func aLongLivedReaderSeesNewWrites(_ backend: Backend) throws {
    // Regression: a cached statement left on its row kept an old snapshot open, so the CLI (and the
    // daemon's own due-checks) never saw newer data.
    let (reader, database) = try backend.newStore(in: dir)
    #expect(try reader.countDue(now: 5000) == 0)
    let writer = try StoreOpener.open(database)
    _ = try writer.enqueue([try item("http://a.test/1")], now: 1000)
    #expect(try reader.countDue(now: 5000) == 1)
    _ = try writer.claim(holder: "w", limit: 1, now: 2000, leaseMs: 1000)
    #expect(try reader.countLeased() == 1)
  }
}

/// What only the SQLite store has: its triggers and the work its checker connection does instead, its
/// files and pragmas.
@Suite struct SQLiteStoreTests {
  let dir = TempDir()
  var dbPath: String { dir.path + "/t.sqlite" }

  func item(_ u: String, campaign: String? = nil, notice: String? = nil) throws -> EnqueueItem {
    EnqueueItem(url: try URLNormalizer.normalize(u).get(), report: ReportMetadata(campaign: campaign, notice: notice))
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

  @Test func countsByStatusHasEveryStatus() throws {
    let store = try SQLiteStore(path: dbPath)
    let counts = try store.countsByStatus()
    #expect(Set(counts.keys) == Set(URLStatus.allCases))
  }
}
