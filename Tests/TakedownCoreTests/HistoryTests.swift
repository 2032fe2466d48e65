import Foundation
import Testing

@testable import TakedownCore

/// Bounded history (HistoryRule, HistoryCompaction) on both backends: which checks a compaction keeps
/// and folds, the fold notes, reruns, dry runs, summary thinning, and that readers see the same record.
@Suite struct HistoryTests {
  let dir = TempDir()
  static let day: Int64 = 86_400_000
  /// Every URL due again within the hour, whatever its status: each test's daily pass finds them all.
  static var schedule: ScheduleConfig {
    var c = ScheduleConfig()
    c.confirmations = 2
    c.confirmIntervalMs = 0
    c.recheckIntervalMs = 3_600_000
    c.watchIntervalMs = 3_600_000
    return c
  }

  /// Records one check per (day, result) for URL `url`, each at noon of its day, through claim/complete.
  func record(
    _ store: any TakedownStore, _ url: String, _ plan: [(day: Int64, observed: Observation, reason: Reason, http: Int?)]
  ) throws {
    let config = Self.schedule
    for p in plan {
      let at = p.day * Self.day + Self.day / 2
      let claimed = try store.claim(holder: "h", limit: 1000, now: at, leaseMs: 60_000).filter { $0.url == url }
      try #require(claimed.count == 1, "\(url) not due at day \(p.day)")
      let r = ProbeResult(
        claim: claimed[0], checkedAt: at, observation: p.observed, reason: p.reason, httpStatus: p.http, curlCode: 0,
        finalURL: url, redirects: 0, remoteIP: "127.0.0.1", timings: .init(), bytes: 10)
      let stats = try store.complete([r], holder: "h", config: config, jitter: { 0.5 })
      try #require(stats.recorded == 1)
    }
  }

  func days(_ range: ClosedRange<Int64>, _ o: Observation, _ r: Reason, _ http: Int?) -> [(Int64, Observation, Reason, Int?)] {
    range.map { ($0, o, r, http) }
  }

  func checkDays(_ store: any TakedownStore, _ id: Int64) throws -> [Int64] {
    try store.history(urlID: id).map { $0.checkedAt / Self.day }
  }

  func config(keepAllForDays: Int64) -> HistoryConfig {
    var c = HistoryConfig()
    c.keepAllForMs = keepAllForDays * Self.day
    return c
  }

  func prune(_ store: any TakedownStore, now day: Int64, keep: Int64 = 30, dryRun: Bool = false) throws
    -> HistoryCompaction.Totals
  {
    let round = HistoryCompaction(config: config(keepAllForDays: keep), dryRun: dryRun)
    try store.pruneHistory(round, now: day * Self.day)
    #expect(round.finished)
    return round.totals
  }

  /// online ×10, a removal (unconfirmed), the confirming removal, removals ×18 while taken_down,
  /// then back online (reappeared) ×5.
  var reappearing: [(Int64, Observation, Reason, Int?)] {
    days(1...10, .online, .http200, 200) + days(11...12, .removed, .http404, 404)
      + days(13...30, .removed, .http404, 404) + days(31...35, .online, .http200, 200)
  }

  @Test(arguments: Backend.allCases) func eachKeptKindIsKeptAndTheRestFolded(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let url = "http://a.test/1"
    _ = try store.enqueue([EnqueueItem(url: try URLNormalizer.normalize(url).get(), report: ReportMetadata())], now: 0)
    try record(store, url, reappearing)
    let id = try #require(try store.lookup(url)).id
    #expect(try checkDays(store, id).count == 35)

    // Nothing is older than keep_all_for yet: nothing happens.
    #expect(try prune(store, now: 31).checksFolded == 0)
    #expect(try checkDays(store, id).count == 35)

    let dry = try prune(store, now: 100, dryRun: true)
    #expect(dry.checksFolded == 28)
    #expect(try checkDays(store, id).count == 35, "a dry run deletes nothing")
    #expect(try store.folds(urlID: id).isEmpty)

    let t = try prune(store, now: 100)
    #expect(t.checksFolded == 28 && t.urlsTouched == 1 && t.foldsWritten == 3)
    // Day 1: first check (first online). 10: the last online before the takedown. 11: a removal that
    // counted towards the confirmation. 12: the confirming removal (an event). 30: the last of the run of
    // removals. 31: the reappearance (an event). 35: the last check so far.
    #expect(try checkDays(store, id) == [1, 10, 11, 12, 30, 31, 35])
    let folds = try store.folds(urlID: id)
    #expect(folds.map(\.count) == [8, 17, 3])
    #expect(folds.map { $0.firstAt / Self.day } == [2, 13, 32])
    #expect(folds.map { $0.lastAt / Self.day } == [9, 29, 34])
    #expect(folds.map(\.observed) == ["online", "removed", "online"])
    #expect(folds.map(\.status) == ["online", "taken_down", "reappeared"])
    #expect(folds.map(\.reason) == ["http_200", "http_404", "http_200"])
    #expect(folds.map(\.httpStatus) == [200, 404, 200])
    // The URL's own counter still says how many checks were made.
    #expect(try store.lookup(url)?.checks == 35)

    // Again at the same time: nothing more to fold.
    #expect(try prune(store, now: 100).checksFolded == 0)
    #expect(try store.folds(urlID: id) == folds)

    // More of the same run, compacted later: it joins the same note.
    try record(store, url, days(36...40, .online, .http200, 200))
    let later = try prune(store, now: 110)
    #expect(later.checksFolded == 5)
    #expect(try checkDays(store, id) == [1, 10, 11, 12, 30, 31, 40])
    let merged = try store.folds(urlID: id)
    #expect(merged.count == 3)
    #expect(merged.last?.count == 8 && merged.last.map { $0.firstAt / Self.day } == 32)
    #expect(merged.last.map { $0.lastAt / Self.day } == 39)
    #expect(merged.last?.id == folds.last?.id)
    #expect(try store.events(afterID: 0, since: nil, limit: 100).count == 4, "events are never deleted")
  }

  @Test(arguments: Backend.allCases) func theEvidenceRecordSaysTheSameAfterCompaction(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let url = "http://a.test/gone"
    _ = try store.enqueue([EnqueueItem(url: try URLNormalizer.normalize(url).get(), report: ReportMetadata())], now: 0)
    try record(store, url, days(1...5, .online, .http200, 200) + days(6...30, .removed, .http404, 404))
    let rec = try #require(try store.lookup(url))
    let before = try EvidenceRecord.load(from: store, url: rec)
    #expect(before.removalRun.count == 25)
    #expect(try prune(store, now: 100).checksFolded == 25)
    let after = try EvidenceRecord.load(from: store, url: rec)
    #expect(after.checks.count == 5)
    #expect(after.lastOnline?.attempt == before.lastOnline?.attempt)
    #expect(after.lastOnline?.checkedAt == 5 * Self.day + Self.day / 2)
    #expect(after.confirmedAt?.at == before.confirmedAt?.at)
    #expect(after.checksMade == 30)
    // The confirmation (days 6 and 7) and the last removal stay whole; the repeats are one note. Of the
    // online run, its first (day 1) and its last (day 5, last seen online) stay.
    #expect(after.checks.map { $0.checkedAt / Self.day } == [1, 5, 6, 7, 30])
    #expect(after.removalRun.map { $0.checkedAt / Self.day } == [6, 7, 30])
    #expect(after.removalFolds.map(\.count) == [22])
    #expect(before.text.contains("25 removal check(s)"))
    #expect(after.text.contains("25 removal check(s), 22 of them folded"))
    #expect(after.text.contains("… 22 identical checks (removed, http_404, http 404, status taken_down)"))
    let first = try #require(after.checks.first)
    #expect(first.checkedAt == before.checks.first?.checkedAt)
  }

  @Test(arguments: Backend.allCases) func summariesAreThinnedWithTheirCountsKept(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let h: Int64 = 3_600_000
    // Every 10 minutes for 10 days, from two daemons.
    var total: Int64 = 0
    for i in 0..<(6 * 24 * 10) {
      for holder in ["a", "b"] {
        let checks = Int64(i % 7 + 1)
        total += checks
        try store.recordSummary(
          StoredSummary(
            at: Int64(i) * 600_000 + 1, intervalMs: 600_000, holder: holder, checks: Int(checks),
            checksPerSecond: Double(checks) / 600, byStatus: [.online: i], newlyTakenDown: 1, newlyReappeared: 0,
            due: 0))
      }
    }
    #expect(try store.countSummaries() == 2880)
    // Days 0-4 are past the daily age, 5-9 past the hourly one.
    var c = HistoryConfig()
    c.summariesHourlyAfterMs = 2 * Self.day
    c.summariesDailyAfterMs = 7 * Self.day
    let round = HistoryCompaction(config: c)
    try store.pruneHistory(round, now: 12 * Self.day)
    let kept = try store.countSummaries()
    #expect(kept == 2 * (5 + 5 * 24))
    #expect(round.totals.summariesThinned == 2880 - kept)
    #expect(try RawSQL.int(store, "SELECT sum(checks) FROM summaries") == total)
    #expect(try RawSQL.int(store, "SELECT sum(newly_taken_down) FROM summaries") == 2880)
    #expect(try RawSQL.int(store, "SELECT sum(interval_ms) FROM summaries") == 2880 * 600_000)
    // The latest summary of each day stays, with its counts of that moment.
    #expect(try RawSQL.int(store, "SELECT count(*) FROM summaries WHERE at = \(24 * h - 600_000 + 1)") == 2)
    let again = HistoryCompaction(config: c)
    try store.pruneHistory(again, now: 12 * Self.day)
    #expect(again.totals.summariesThinned == 0)
  }

  @Test(arguments: Backend.allCases) func aRoundIsSmallTransactionsAndResumes(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let urls = (0..<30).map { "http://h\($0 % 3).test/\($0)" }
    _ = try store.enqueue(
      try urls.map { EnqueueItem(url: try URLNormalizer.normalize($0).get(), report: ReportMetadata()) }, now: 0)
    let config = Self.schedule
    for d in Int64(1)...20 {
      let at = d * Self.day
      let claimed = try store.claim(holder: "h", limit: 1000, now: at, leaseMs: 60_000)
      try #require(claimed.count == 30)
      _ = try store.complete(
        claimed.map {
          ProbeResult(
            claim: $0, checkedAt: at, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0,
            finalURL: nil, redirects: 0, remoteIP: nil, timings: .init(), bytes: 0)
        }, holder: "h", config: config, jitter: { 0.5 })
    }
    let round = HistoryCompaction(config: self.config(keepAllForDays: 30))
    round.urlBatch = 7
    // Each URL's 20 old checks over several steps: its backlog goes on from its mark.
    round.rowLimit = 6
    var steps = 0
    while !round.finished {
      try store.compactHistory(round, now: 60 * Self.day)
      steps += 1
      try #require(steps < 1000)
    }
    // 30 URLs, each in 4 steps of at most 6 rows, then one empty read, then the two summary levels.
    #expect(steps >= 30 * 4 + 3)
    #expect(round.totals.urlsExamined == 30 && round.totals.urlsTouched == 30)
    // Each URL: its first and its last check stay, the 18 between are one note.
    #expect(round.totals.checksFolded == 30 * 18)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 30 * 2)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM check_folds") == 30)
    #expect(try RawSQL.int(store, "SELECT sum(folded) FROM check_folds") == 30 * 18)
  }

  @Test func aNewSQLiteFileReusesSpaceAndStopsGrowing() throws {
    let (store, _) = try Backend.sqlite.newStore(in: dir)
    let sqlite = try #require(store as? SQLiteStore)
    #expect(sqlite.incrementalVacuum)
    let urls = (0..<300).map { "http://h\($0 % 5).test/\($0)" }
    _ = try store.enqueue(
      try urls.map { EnqueueItem(url: try URLNormalizer.normalize($0).get(), report: ReportMetadata()) }, now: 0)
    let config = Self.schedule
    var sizes: [Int64] = []
    var day: Int64 = 0
    for _ in 0..<5 {
      // A month of daily checks of every URL, with headers like real ones, then a compaction.
      for _ in 0..<30 {
        day += 1
        let at = day * Self.day
        let claimed = try store.claim(holder: "h", limit: 1000, now: at, leaseMs: 60_000)
        try #require(claimed.count == 300)
        _ = try store.complete(
          claimed.map {
            var r = ProbeResult(
              claim: $0, checkedAt: at, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0,
              finalURL: $0.url, redirects: 0, remoteIP: "127.0.0.1", timings: .init(), bytes: 4096)
            r.evidence = CheckEvidence(
              vantage: "v", method: "GET", headers: [("server", "nginx"), ("content-type", "text/html; charset=utf-8")],
              matched: nil)
            return r
          }, holder: "h", config: config, jitter: { 0.5 })
      }
      _ = try prune(store, now: day, keep: 10)
      sizes.append(try store.storageBytes().total)
    }
    // Five months of checks went in; after the first compaction the file stays within a few pages.
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") ?? 0 <= 300 * 13)
    #expect(sizes[4] <= sizes[1] + 16 * 4096, "sizes \(sizes)")
    #expect(try store.storageBytes().free ?? 1 < 64 * 4096, "freed pages go back to the file system")
  }

  @Test func anOlderSQLiteFileIsConvertedOnceWhenSmall() throws {
    let path = dir.path + "/old.sqlite"
    do {
      // What an older takedown made: auto_vacuum off, and the schema before 0008.
      let c = try SQLiteConnection(path: path)
      try c.execute("PRAGMA journal_mode = WAL")
      try c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
      for m in Migrations.all where m.name != "0008_history" {
        try c.execute(m.sql)
        try c.statement("INSERT INTO schema_migrations(name, applied_at) VALUES (?, 0)").run([.text(m.name)])
      }
      #expect(try c.scalar("PRAGMA auto_vacuum") == 0)
    }
    let store = try SQLiteStore(path: path)
    #expect(store.incrementalVacuum)
    #expect(try store.db.scalar("SELECT count(*) FROM schema_migrations WHERE name = '0008_history'") == 1)
  }

  @Test func historyConfigIsValidatedByKey() throws {
    let good = try ConfigLoader.parse(
      """
      [history]
      compact = false
      keep_all_for = "7d"
      compact_interval = "10m"
      summaries_hourly_after = "1d"
      summaries_daily_after = "30d"
      """, file: "t.toml")
    #expect(good.history.compact == false)
    #expect(good.history.keepAllForMs == 7 * Self.day)
    #expect(good.history.compactIntervalMs == 600_000)
    #expect(good.history.summariesHourlyAfterMs == Self.day)
    #expect(good.history.summariesDailyAfterMs == 30 * Self.day)
    #expect(Config().history == HistoryConfig())
    #expect(HistoryConfig().keepAllForMs == 30 * Self.day)

    for (text, key) in [
      ("keep_all_for = \"0s\"", "history.keep_all_for"), ("keep_all_for = \"soon\"", "history.keep_all_for"),
      ("compact = \"yes\"", "history.compact"), ("compact_interval = 5", "history.compact_interval"),
      ("summaries_hourly_after = \"10d\"\nsummaries_daily_after = \"5d\"", "history.summaries_daily_after"),
      ("keep_everything = true", "keep_everything"),
    ] {
      #expect(throws: (any Error).self) { try ConfigLoader.parse("[history]\n" + text, file: "t.toml") }
      do {
        _ = try ConfigLoader.parse("[history]\n" + text, file: "t.toml")
      } catch {
        #expect("\(error)".contains(key), "\(text): \(error)")
      }
    }
  }
}
