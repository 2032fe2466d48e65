import Testing

@testable import TakedownCore

/// The summary's figures come from tallies that triggers keep (migration 0005). These tests drive a
/// randomized queue through every path that changes what the tallies count (enqueue, checks, cancels,
/// reports added, moved and deleted, URLs deleted) and compare the figures with a plain computation over
/// every row, and with the full pass that reports use.
@Suite struct SummaryTalliesTests {
  let dir = TempDir()
  static let hour: Int64 = 3_600_000


  /// `checker`: the checks are recorded through the daemon's own connection (SQLite: with triggers off,
  /// the tallies kept in Swift by CheckTallies; PostgreSQL: a second session, as a daemon's), everything
  /// else through an ordinary one.
  @Test(arguments: [1, 2, 3] as [UInt64], [(Backend.sqlite, false), (.sqlite, true), (.postgres, false), (.postgres, true)])
  func talliesMatchAFullScanOfARandomQueue(seed: UInt64, on: (backend: Backend, checker: Bool)) throws {
    var rng = HostileRandom(seed: seed)
    let h = Self.hour
    let (store, database) = try on.backend.newStore(in: dir)
    var daemonOptions = StoreOpener.Options()
    daemonOptions.checker = true
    let daemon = on.checker ? try StoreOpener.open(database, daemonOptions) : store
    let seed = "\(seed), \(on.backend)\(on.checker ? ", checker" : "")"
    let campaigns: [String?] = [nil, "c1", "c2", "c3", "", "Zeta", "älpha"]
    func item(_ i: Int) throws -> EnqueueItem {
      let url = try URLNormalizer.normalize("http://h\(i % 23).test/\(i)").get()
      return EnqueueItem(
        url: url,
        report: ReportMetadata(
          reportedAt: Int64.random(in: 0...(48 * h), using: &rng), campaign: campaigns.randomElement(using: &rng)!,
          notice: Bool.random(using: &rng) ? nil : "n\(Int.random(in: 0..<3, using: &rng))",
          deadline: Bool.random(using: &rng) ? nil : Int64.random(in: (10 * h)...(200 * h), using: &rng)))
    }
    let n = 3000
    _ = try store.enqueue(try (0..<n).map(item), now: 0)
    // A batch under one report (takedownctl enqueue's case) takes enqueue's fast path, which runs its
    // reports insert with the triggers off and keeps the tallies itself; it mixes new and known URLs.
    let bulk = ReportMetadata(reportedAt: 5 * h, campaign: "bulk", notice: "N-1", deadline: 20 * h)
    _ = try store.enqueue(
      try (n - 50..<n + 150).map { EnqueueItem(url: try URLNormalizer.normalize("http://h\($0 % 23).test/\($0)").get(), report: bulk) },
      now: 0)

    // Before any check: what enqueue alone keeps (host tallies, open deadlines) must already add up.
    let fresh = try compareWithReference(store, now: 100 * h, seed: seed)
    #expect(fresh.overdue > 100 && fresh.byStatus[.pending] == n + 150)

    var config = ScheduleConfig()
    config.confirmations = Int.random(in: 1...2, using: &rng)
    var t: Int64 = 0
    for round in 0..<40 {
      t += Int64.random(in: (h / 2)...(8 * h), using: &rng)
      let claimed = try daemon.claim(holder: "t", limit: 800, now: t, leaseMs: 60_000)
      var results: [ProbeResult] = []
      var back: [ClaimedURL] = []
      for c in claimed {
        if Int.random(in: 0..<10, using: &rng) == 0 {
          back.append(c)
          continue
        }
        let roll = Int.random(in: 0..<10, using: &rng)
        let observation: Observation = roll < 4 ? .online : roll < 9 ? .removed : .transient
        let reason: Reason = observation == .online ? .http200 : observation == .removed ? .http404 : .timeout
        results.append(
          ProbeResult(
            claim: c, checkedAt: t, observation: observation, reason: reason,
            httpStatus: observation == .transient ? nil : (observation == .online ? 200 : 404), curlCode: 0,
            finalURL: c.url, redirects: 0, remoteIP: nil, timings: .init(), bytes: 0))
      }
      // Reports filed while the checks run: earlier dates and new deadlines move the URLs' time to
      // takedown and lateness under the daemon's feet.
      if round % 5 == 2 {
        _ = try store.enqueue(try (0..<60).map { _ in try item(Int.random(in: 0..<(n + 200), using: &rng)) }, now: t)
      }
      _ = try daemon.complete(results, holder: "t", config: config, jitter: { 0.5 })
      try daemon.release(back, holder: "t", now: t)
      // Now and then: withdrawn URLs, more reports of queued URLs (earlier ones move time-to-takedown),
      // and reports edited or deleted behind the application's back.
      for _ in 0..<Int.random(in: 0...5, using: &rng) {
        _ = try store.cancel(id: Int64.random(in: 1...Int64(n), using: &rng), now: t)
      }
      if round % 7 == 3 {
        switch store {
        case let s as SQLiteStore:
          try s.db.execute(
            """
            UPDATE OR IGNORE reports SET campaign = CASE id % 3 WHEN 0 THEN NULL WHEN 1 THEN 'c9' ELSE campaign || 'x' END
            WHERE id % 97 = \(round);
            UPDATE reports SET reported_at = reported_at - 3600000, deadline = 20 * 3600000 WHERE id % 89 = \(round);
            UPDATE OR IGNORE reports SET url_id = url_id % 50 + 1 WHERE id % 101 = \(round);
            DELETE FROM reports WHERE id % 83 = \(round);
            """)
        case let p as PostgresStore:
          // The same edits in PostgreSQL's dialect, then the URLs' earliest report and deadline made right
          // by hand (SQLite's triggers keep them on any edit; PostgreSQL's queue keeps them on enqueue).
          try QueueSQL(p.connection).editReportsByHand(round: round)
        default: Issue.record("unknown store")
        }
      }
    }
    // A URL deleted outright, with its history.
    let deletion = """
      DELETE FROM checks WHERE url_id = 7; DELETE FROM events WHERE url_id = 7; DELETE FROM reports WHERE url_id = 7;
      DELETE FROM urls WHERE id = 7;
      """
    switch store {
    case let s as SQLiteStore: try s.db.execute(deletion)
    case let p as PostgresStore:
      // And one before its reports (no foreign key keeps the order there), which then go too.
      try p.connection.executeScript(deletion + "DELETE FROM urls WHERE id IN (8, 9); DELETE FROM reports WHERE url_id = 9;")
    default: Issue.record("unknown store")
    }

    for now in [t / 3, t, t + 400 * h] {
      let expected = try compareWithReference(store, now: now, seed: seed)
      // Not a vacuous comparison: the random queue reaches every kind of figure.
      #expect(expected.timeToTakedown.count > 100)
      #expect(expected.overdue > 0 && expected.reappeared > 0 && expected.takenDownLate > 0 || now != t)
      #expect(expected.campaigns.count >= 6)
    }
    // Compaction deletes checks, never a figure: after folding every check older than an hour, the
    // tallies and the full pass still agree with the reference, which is the same as before.
    let beforeCompaction = try compareWithReference(store, now: t + 400 * h, seed: seed)
    var history = HistoryConfig()
    history.keepAllForMs = h
    let round = HistoryCompaction(config: history)
    try daemon.pruneHistory(round, now: t + 400 * h)
    #expect(round.totals.checksFolded > 100, "seed \(seed)")
    let afterCompaction = try compareWithReference(store, now: t + 400 * h, seed: seed)
    #expect(afterCompaction.byStatus == beforeCompaction.byStatus, "seed \(seed)")
    #expect(afterCompaction.timeToTakedown == beforeCompaction.timeToTakedown, "seed \(seed)")
    #expect(afterCompaction.campaigns == beforeCompaction.campaigns, "seed \(seed)")
    #expect(afterCompaction.overdue == beforeCompaction.overdue, "seed \(seed)")
    #expect(afterCompaction.reappeared == beforeCompaction.reappeared, "seed \(seed)")
    if let p = store as? PostgresStore {
      // Folded, the delta rows say the same with one row per key; rebuilt from scratch (what copy runs),
      // the tallies agree with what the triggers kept.
      try p.connection.execute("SELECT td_fold_tallies()")
      try compareWithReference(store, now: t, seed: seed)
      #expect(
        try p.connection.scalar("SELECT count(*) FROM tallies")
          == p.connection.scalar("SELECT count(*) FROM (SELECT DISTINCT kind, name, status FROM tallies) AS k"))
      try p.connection.execute("SELECT td_rebuild_tallies()")
      try compareWithReference(store, now: t, seed: seed)
    }
  }

  /// The tallies' figures and the full pass's, each against `reference`; returns the reference.
  @discardableResult
  func compareWithReference(_ store: any TakedownStore, now: Int64, seed: String) throws -> ReportFigures {
    let expected: ReportFigures
    switch store {
    case let s as SQLiteStore: expected = try reference(s.db, now: now)
    case let p as PostgresStore: expected = try PostgresTalliesTests.reference(p.connection, now: now)
    default: fatalError("unknown store \(type(of: store))")
    }
    let fast = try store.summaryFigures(ReportFilter(), now: now, topHosts: 5)
    let full = try store.figures(ReportFilter(), now: now, topHosts: 5)
    for (label, f) in [("tallies", fast), ("full pass", full)] {
      #expect(f.byStatus == expected.byStatus, "\(label), seed \(seed)")
      #expect(f.takenDown == expected.takenDown, "\(label), seed \(seed)")
      #expect(f.firstTakenDown == expected.firstTakenDown, "\(label), seed \(seed)")
      #expect(f.takenDownLate == expected.takenDownLate, "\(label), seed \(seed)")
      #expect(f.reappeared == expected.reappeared, "\(label), seed \(seed)")
      #expect(f.overdue == expected.overdue, "\(label), seed \(seed)")
      #expect(f.timeToTakedown == expected.timeToTakedown, "\(label), seed \(seed)")
      #expect(f.topHostsOnline.map(\.host) == expected.topHostsOnline.map(\.host), "\(label), seed \(seed)")
      #expect(f.topHostsOnline.map(\.count) == expected.topHostsOnline.map(\.count), "\(label), seed \(seed)")
      #expect(f.campaigns == expected.campaigns, "\(label), seed \(seed)")
    }
    #expect(try store.countsByStatus() == expected.byStatus, "seed \(seed)")
    #expect(try store.overdueCount(now: now) == expected.overdue, "seed \(seed)")
    return expected
  }

  @Test func theMigrationTalliesAnExistingQueue() throws {
    // A queue from before 0005: the triggers' tables start from what is already there.
    let path = dir.path + "/old.sqlite"
    do {
      let db = try SQLiteConnection(path: path)
      try db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
      for m in Migrations.all where m.name < "0005" {
        try db.execute(m.sql)
        try db.execute("INSERT INTO schema_migrations VALUES ('\(m.name)', 0)")
      }
      try db.execute(
        """
        INSERT INTO urls(id, url, host, created_at, status, taken_down_at, first_taken_down_at)
          VALUES (1, 'http://a.test/', 'a.test', 0, 'taken_down', 900, 800), (2, 'http://b.test/', 'b.test', 0, 'online', NULL, NULL),
                 (3, 'http://c.test/', 'c.test', 0, 'reappeared', 400, 400);
        INSERT INTO reports(url_id, reported_at, campaign, deadline, created_at) VALUES
          (1, 500, 'c1', 700, 0), (1, 300, 'c2', NULL, 0), (2, 100, NULL, 50, 0), (3, 100, 'c1', NULL, 0);
        INSERT INTO events(url_id, at, from_status, to_status) VALUES (3, 450, 'taken_down', 'reappeared');
        """)
    }
    let store = try SQLiteStore(path: path)
    let now: Int64 = 1000
    let expected = try reference(store.db, now: now)
    let fast = try store.summaryFigures(ReportFilter(), now: now)
    #expect(fast.byStatus == expected.byStatus)
    #expect(fast.takenDownLate == 1 && expected.takenDownLate == 1)
    #expect(fast.overdue == 1 && expected.overdue == 1)
    #expect(fast.timeToTakedown == DurationStats(count: 2, p50: 300, p90: 500, max: 500))
    #expect(fast.timeToTakedown == expected.timeToTakedown)
    #expect(fast.campaigns == expected.campaigns)
    #expect(fast.topHostsOnline.map(\.host) == ["b.test", "c.test"])
  }

  /// Every figure `figures(ReportFilter(), …)` computes, the plain way: all rows into memory.
  func reference(_ db: SQLiteConnection, now: Int64) throws -> ReportFigures {
    var rows: [Int64: ReferenceFigures.Row] = [:]
    let s = try db.statement(
      "SELECT id, host, status, deadline_at, taken_down_at, first_taken_down_at, first_reported_at FROM urls")
    while try s.step() {
      rows[s.int64(0)] = ReferenceFigures.Row(
        id: s.int64(0), host: s.text(1), status: URLStatus(rawValue: s.text(2))!, deadline: s.optionalInt64(3),
        latest: s.optionalInt64(4), first: s.optionalInt64(5), reported: s.optionalInt64(6))
    }
    s.reset()
    var members: [(String?, Int64)] = []
    let r = try db.statement("SELECT campaign, url_id FROM reports")
    while try r.step() { members.append((r.optionalText(0), r.int64(1))) }
    r.reset()
    let reappeared = Int(
      try db.scalar("SELECT count(DISTINCT url_id) FROM events WHERE to_status = 'reappeared'") ?? 0)
    return ReferenceFigures.compute(rows: rows, members: members, reappeared: reappeared, now: now)
  }
}
