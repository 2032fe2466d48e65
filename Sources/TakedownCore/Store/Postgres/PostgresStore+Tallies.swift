/// The summary's figures from the tallies that migration 0003_tallies keeps (see
/// `PostgresSchema.talliesMigration`), as `SQLiteStore.summaryFigures` reads its own.
extension PostgresStore {
  /// For every URL and all time: the tallies (a few hundred rows, and index offsets for the percentiles);
  /// a selection or a window takes `figures`. The time-to-takedown histogram and the takedowns per day,
  /// which only the HTML report draws, are left empty.
  public func summaryFigures(_ f: ReportFilter, now: Int64, topHosts: Int = 10) throws -> ReportFigures {
    guard f == ReportFilter() else { return try figures(f, now: now, topHosts: topHosts) }
    try foldTallies()
    // One snapshot: the counts of takedown_time_counts are those of the takedown_times rows it offsets into.
    return try connection.inSnapshot { try tallyFigures(now: now, topHosts: topHosts) }
  }

  /// Sums the tallies' delta rows into one row per key, when this connection may write and is not inside
  /// a transaction of its caller's; skipped when another session is folding. The daemon calls
  /// `countsByStatus` at every summary interval, which keeps the delta rows few between folds.
  func foldTallies() throws {
    guard !options.readOnly, !connection.inTransaction else { return }
    try connection.execute("SELECT td_fold_tallies()")
  }

  private func tallyFigures(now: Int64, topHosts: Int) throws -> ReportFigures {
    var all = [URLStatus: Int]()
    for st in URLStatus.allCases { all[st] = 0 }
    let hosts = try connection.execute("SELECT status, sum(n) FROM tallies WHERE kind = 3 GROUP BY status")
    for i in 0..<hosts.rowCount {
      if let st = URLStatus(rawValue: hosts.text(i, 0)!) { all[st, default: 0] += Int(hosts.int64(i, 1)!) }
    }

    var campaigns: [TallyKey: CampaignFigures] = [:]
    let c = try connection.execute(
      "SELECT kind, name, status, sum(n) FROM tallies WHERE kind IN (1, 2) GROUP BY kind, name, status")
    for i in 0..<c.rowCount {
      let key = TallyKey(kind: c.int64(i, 0)!, name: c.text(i, 1)!)
      guard let status = URLStatus(rawValue: c.text(i, 2)!) else { continue }
      let n = Int(c.int64(i, 3)!)
      if campaigns[key] == nil {
        var by = [URLStatus: Int]()
        for st in URLStatus.allCases { by[st] = 0 }
        campaigns[key] = CampaignFigures(
          campaign: key.kind == 1 ? nil : key.name, urls: 0, byStatus: by, overdue: 0, timeToTakedown: DurationStats())
      }
      campaigns[key]!.byStatus[status, default: 0] += n
      campaigns[key]!.urls += n
    }
    campaigns = campaigns.filter { $0.value.urls != 0 }

    let overdue = try connection.execute(
      """
      SELECT kind, name, count(*) FROM (
        SELECT DISTINCT td_kind(r.campaign) AS kind, coalesce(r.campaign, '') AS name, o.url_id
        FROM open_deadlines o JOIN reports r ON r.url_id = o.url_id WHERE o.deadline_at < $1) AS x
      GROUP BY kind, name
      """, [.int(now)])
    for i in 0..<overdue.rowCount {
      campaigns[TallyKey(kind: overdue.int64(i, 0)!, name: overdue.text(i, 1)!)]?.overdue = Int(overdue.int64(i, 2)!)
    }

    let times = try takedownTimes()
    for key in campaigns.keys { campaigns[key]!.timeToTakedown = times[key] ?? DurationStats() }

    var counts: [String: Int] = [:]
    let u = try connection.execute("SELECT name, sum(n) FROM url_counts GROUP BY name")
    for i in 0..<u.rowCount { counts[u.text(i, 0)!] = Int(u.int64(i, 1)!) }

    let top = try connection.execute(
      """
      SELECT name, sum(n) FROM tallies WHERE kind = 3 AND status IN ('online', 'reappeared')
      GROUP BY name HAVING sum(n) > 0 ORDER BY sum(n) DESC, name COLLATE "C" LIMIT $1
      """, [.int(Int64(topHosts))])

    let f = ReportFilter()
    return ReportFigures(
      filter: f, generatedAt: now, byStatus: all, takenDown: counts["taken_down"] ?? 0,
      firstTakenDown: counts["first_taken_down"] ?? 0, takenDownLate: counts["taken_down_late"] ?? 0,
      reappeared: try reappearedCount(f), overdue: try overdueCount(now: now),
      timeToTakedown: times[TallyKey(kind: 0, name: "")] ?? DurationStats(), timeToTakedownHistogram: [],
      takedownsPerDay: [], topHostsOnline: (0..<top.rowCount).map { (top.text($0, 0)!, Int(top.int64($0, 1)!)) },
      // Kind 1 (no campaign) first, then the names by their bytes, as SQLite's index orders them.
      campaigns: campaigns.sorted { a, b in
        a.key.kind != b.key.kind ? a.key.kind < b.key.kind : a.key.name.utf8.lexicographicallyPrecedes(b.key.name.utf8)
      }.map(\.value))
  }

  /// Time-to-takedown of every URL (kind 0) and of each campaign: each percentile is the row at its rank
  /// in takedown_times_rank, walked to from the nearer end; one round trip per group.
  private func takedownTimes() throws -> [TallyKey: DurationStats] {
    let groups = try connection.execute(
      "SELECT kind, name, sum(n) FROM takedown_time_counts GROUP BY kind, name HAVING sum(n) > 0")
    var out: [TallyKey: DurationStats] = [:]
    for g in 0..<groups.rowCount {
      let key = TallyKey(kind: groups.int64(g, 0)!, name: groups.text(g, 1)!)
      let n = Int(groups.int64(g, 2)!)
      var q = PostgresQuery()
      let kind = q.bind(.int(key.kind))
      let name = q.bind(.text(key.name))
      func at(rank: Int) -> String {
        let fromTop = rank - 1 > n - rank
        return """
          (SELECT ms FROM takedown_times WHERE kind = \(kind) AND name = \(name)
           ORDER BY ms \(fromTop ? "DESC" : "") OFFSET \(fromTop ? n - rank : rank - 1) LIMIT 1)
          """
      }
      let r = try connection.execute(
        """
        SELECT \(at(rank: DurationStats.rank(50, of: n))), \(at(rank: DurationStats.rank(90, of: n))),
          \(at(rank: n))
        """, q.params)
      out[key] = DurationStats(count: n, p50: r.int64(0, 0), p90: r.int64(0, 1), max: r.int64(0, 2))
    }
    return out
  }
}
