import Testing

@testable import TakedownCore

/// The summary's figures come from tallies that triggers keep (migration 0005). These tests drive a
/// randomized queue through every path that changes what the tallies count (enqueue, checks, cancels,
/// reports added, moved and deleted, URLs deleted) and compare the figures with a plain computation over
/// every row, and with the full pass that reports use.
@Suite struct SummaryTalliesTests {
  let dir = TempDir()
  static let hour: Int64 = 3_600_000


  /// `checker`: the checks are recorded through the daemon's connection, which keeps the tallies in
  /// Swift (CheckTallies) instead of by triggers; everything else goes through an ordinary one.
  @Test(arguments: [1, 2, 3] as [UInt64], [false, true])
  func talliesMatchAFullScanOfARandomQueue(seed: UInt64, checker: Bool) throws {
    var rng = HostileRandom(seed: seed)
    let h = Self.hour
    let path = dir.path + "/r\(seed)-\(checker).sqlite"
    let store = try SQLiteStore(path: path)
    let daemon = checker ? try SQLiteStore(path: path, checker: true) : store
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
        try store.db.execute(
          """
          UPDATE OR IGNORE reports SET campaign = CASE id % 3 WHEN 0 THEN NULL WHEN 1 THEN 'c9' ELSE campaign || 'x' END
          WHERE id % 97 = \(round);
          UPDATE reports SET reported_at = reported_at - 3600000, deadline = 20 * 3600000 WHERE id % 89 = \(round);
          UPDATE OR IGNORE reports SET url_id = url_id % 50 + 1 WHERE id % 101 = \(round);
          DELETE FROM reports WHERE id % 83 = \(round);
          """)
      }
    }
    // A URL deleted outright, with its history.
    try store.db.execute(
      """
      DELETE FROM checks WHERE url_id = 7; DELETE FROM events WHERE url_id = 7; DELETE FROM reports WHERE url_id = 7;
      DELETE FROM urls WHERE id = 7;
      """)

    for now in [t / 3, t, t + 400 * h] {
      let expected = try compareWithReference(store, now: now, seed: seed)
      // Not a vacuous comparison: the random queue reaches every kind of figure.
      #expect(expected.timeToTakedown.count > 100)
      #expect(expected.overdue > 0 && expected.reappeared > 0 && expected.takenDownLate > 0 || now != t)
      #expect(expected.campaigns.count >= 6)
    }
  }

  /// The tallies' figures and the full pass's, each against `reference`; returns the reference.
  @discardableResult
  func compareWithReference(_ store: SQLiteStore, now: Int64, seed: UInt64) throws -> ReportFigures {
    let expected = try reference(store.db, now: now)
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
    struct Row {
      var id: Int64, host: String, status: URLStatus, deadline: Int64?, latest: Int64?, first: Int64?,
        reported: Int64?
    }
    var rows: [Int64: Row] = [:]
    let s = try db.statement(
      "SELECT id, host, status, deadline_at, taken_down_at, first_taken_down_at, first_reported_at FROM urls")
    while try s.step() {
      rows[s.int64(0)] = Row(
        id: s.int64(0), host: s.text(1), status: URLStatus(rawValue: s.text(2))!, deadline: s.optionalInt64(3),
        latest: s.optionalInt64(4), first: s.optionalInt64(5), reported: s.optionalInt64(6))
    }
    s.reset()
    func isOverdue(_ r: Row) -> Bool {
      r.deadline.map { $0 < now } == true && r.status != .takenDown && r.status != .cancelled
    }
    func ttt(_ r: Row) -> Int64? {
      guard let f = r.first, let rep = r.reported else { return nil }
      return max(f - rep, 0)
    }
    func byStatus(_ rs: [Row]) -> [URLStatus: Int] {
      var out = [URLStatus: Int]()
      for st in URLStatus.allCases { out[st] = rs.filter { $0.status == st }.count }
      return out
    }
    func stats(_ rs: [Row]) -> DurationStats { DurationStats(sorted: rs.compactMap(ttt).sorted()) }
    let all = Array(rows.values)

    var members: [String?: Set<Int64>] = [:]
    let r = try db.statement("SELECT campaign, url_id FROM reports")
    while try r.step() { members[r.optionalText(0), default: []].insert(r.int64(1)) }
    r.reset()
    let names = members.keys.sorted { a, b in
      guard let a else { return b != nil }
      guard let b else { return false }
      return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
    let campaigns: [CampaignFigures] = names.compactMap { name in
      let rs = members[name]!.compactMap { rows[$0] }
      guard !rs.isEmpty else { return nil }
      return CampaignFigures(
        campaign: name, urls: rs.count, byStatus: byStatus(rs), overdue: rs.filter(isOverdue).count,
        timeToTakedown: stats(rs))
    }
    var online: [String: Int] = [:]
    for r in all where r.status == .online || r.status == .reappeared { online[r.host, default: 0] += 1 }
    let hosts = online.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
    let reappeared = Int(
      try db.scalar("SELECT count(DISTINCT url_id) FROM events WHERE to_status = 'reappeared'") ?? 0)
    return ReportFigures(
      filter: ReportFilter(), generatedAt: now, byStatus: byStatus(all),
      takenDown: all.filter { $0.latest != nil }.count,
      firstTakenDown: all.filter { $0.first != nil }.count,
      takenDownLate: all.filter { r in r.first.map { f in r.deadline.map { f > $0 } == true } == true }.count,
      reappeared: reappeared, overdue: all.filter(isOverdue).count, timeToTakedown: stats(all),
      timeToTakedownHistogram: [], takedownsPerDay: [], topHostsOnline: hosts.map { ($0.key, $0.value) },
      campaigns: campaigns)
  }
}
