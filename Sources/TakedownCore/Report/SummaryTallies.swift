import Dispatch

extension SQLiteStore {
  /// The figures `takedownctl summary` shows. For every URL and all time they come from the tallies that
  /// migration 0005's triggers keep (a few hundred rows, and index offsets for the percentiles) instead
  /// of a pass over `urls`; a selection or a window takes `figures`. The time-to-takedown histogram and
  /// the takedowns per day, which only the HTML report draws, may be left empty.
  public func summaryFigures(_ f: ReportFilter, now: Int64, topHosts: Int = 10) throws -> ReportFigures {
    guard f == ReportFilter() else { return try figures(f, now: now, topHosts: topHosts) }
    return try tallyFigures(now: now, topHosts: topHosts)
  }

  /// `figures(ReportFilter(), …)` from the tallies. The campaigns' time-to-takedown, the largest part
  /// (index offsets of up to half of each campaign's removed URLs), runs on a second connection.
  func tallyFigures(now: Int64, topHosts: Int) throws -> ReportFigures {
    let side = SideTallies()
    let group = DispatchGroup()
    let path = db.path
    let immutable = db.immutable
    DispatchQueue.global().async(group: group) {
      do {
        let other = try SQLiteConnection(path: path, readOnly: true, immutable: immutable)
        side.times = try other.transaction(immediate: false) { try SQLiteStore.takedownTimes(other, campaigns: true) }
      } catch {
        side.error = error
      }
    }
    let main = Result { try db.transaction(immediate: false) { try tallyPass(now: now, topHosts: topHosts) } }
    group.wait()
    if let e = side.error { throw e }
    var (figures, campaigns) = try main.get()
    figures.campaigns = campaigns.map { c in
      var c = c
      c.figures.timeToTakedown = side.times[c.key] ?? DurationStats()
      return c.figures
    }
    return figures
  }

  /// Everything but the campaigns' time-to-takedown, in one read transaction.
  private func tallyPass(now: Int64, topHosts: Int) throws -> (
    ReportFigures, [(key: TallyKey, figures: CampaignFigures)]
  ) {
    var all = [URLStatus: Int]()
    for st in URLStatus.allCases { all[st] = 0 }
    // Campaigns in the order of the (campaign, url_id) index that `figures` reads: none first, then by name.
    var campaigns: [(key: TallyKey, figures: CampaignFigures)] = []
    // Every URL's counts are the sum of the hosts' (a few rows per host): one upsert less per URL enqueued.
    let s = try db.statement(
      """
      SELECT 0, '', status, sum(n) FROM tallies WHERE kind = 3 GROUP BY status
      UNION ALL SELECT kind, name, status, n FROM tallies WHERE kind IN (1, 2) ORDER BY 1, 2
      """)
    defer { s.reset() }
    while try s.step() {
      let key = TallyKey(kind: s.int64(0), name: s.text(1))
      guard let status = URLStatus(rawValue: s.text(2)) else { continue }
      let n = s.int(3)
      if key.kind == 0 {
        all[status, default: 0] += n
        continue
      }
      if campaigns.last?.key != key {
        var by = [URLStatus: Int]()
        for st in URLStatus.allCases { by[st] = 0 }
        campaigns.append(
          (
            key,
            CampaignFigures(
              campaign: key.kind == 1 ? nil : key.name, urls: 0, byStatus: by, overdue: 0,
              timeToTakedown: DurationStats())
          ))
      }
      campaigns[campaigns.count - 1].figures.byStatus[status, default: 0] += n
      campaigns[campaigns.count - 1].figures.urls += n
    }
    s.reset()
    campaigns.removeAll { $0.figures.urls == 0 }

    // CROSS JOIN keeps the order: overdue URLs first (a range), then their reports; without statistics the
    // planner would read every report and look each URL up instead.
    let overdue = try db.statement(
      """
      SELECT kind, name, count(*) FROM (
        SELECT DISTINCT (r.campaign IS NOT NULL) + 1 AS kind, ifnull(r.campaign, '') AS name, o.url_id
        FROM open_deadlines o INDEXED BY open_deadlines_at CROSS JOIN reports r
        WHERE o.deadline_at < ?1 AND r.url_id = o.url_id)
      GROUP BY kind, name
      """)
    defer { overdue.reset() }
    try overdue.bind([.int(now)])
    var overdueBy: [TallyKey: Int] = [:]
    while try overdue.step() { overdueBy[TallyKey(kind: overdue.int64(0), name: overdue.text(1))] = overdue.int(2) }
    overdue.reset()
    for i in campaigns.indices { campaigns[i].figures.overdue = overdueBy[campaigns[i].key] ?? 0 }

    var counts: [String: Int] = [:]
    let c = try db.statement("SELECT name, n FROM url_counts")
    defer { c.reset() }
    while try c.step() { counts[c.text(0)] = c.int(1) }
    c.reset()

    let f = ReportFilter()
    let figures = ReportFigures(
      filter: f, generatedAt: now, byStatus: all, takenDown: counts["taken_down"] ?? 0,
      firstTakenDown: counts["first_taken_down"] ?? 0, takenDownLate: counts["taken_down_late"] ?? 0,
      reappeared: try Self.reappearedCount(db, f),
      overdue: Int(try db.scalar("SELECT count(*) FROM open_deadlines WHERE deadline_at < ?", [.int(now)]) ?? 0),
      timeToTakedown: try Self.takedownTimes(db, campaigns: false)[TallyKey(kind: 0, name: "")] ?? DurationStats(),
      timeToTakedownHistogram: [], takedownsPerDay: [], topHostsOnline: try tallyTopHostsOnline(limit: topHosts),
      campaigns: [])
    return (figures, campaigns)
  }

  /// As `topHostsOnline` without a filter: the hosts' tallies instead of the (host, status) index.
  private func tallyTopHostsOnline(limit: Int) throws -> [(host: String, count: Int)] {
    let s = try db.statement(
      """
      SELECT name, sum(n) FROM tallies WHERE kind = 3 AND status IN ('online', 'reappeared')
      GROUP BY name HAVING sum(n) > 0 ORDER BY sum(n) DESC, name LIMIT ?
      """)
    defer { s.reset() }
    try s.bind([.int(Int64(limit))])
    var out: [(String, Int)] = []
    while try s.step() { out.append((s.text(0), s.int(1))) }
    return out
  }

  /// Time-to-takedown of every URL (kind 0) or of each campaign: each percentile is the row at its rank
  /// in `takedown_times_rank`, walked to from the nearer end.
  static func takedownTimes(_ db: SQLiteConnection, campaigns: Bool) throws -> [TallyKey: DurationStats] {
    let groups = try db.statement(
      "SELECT kind, name, n FROM takedown_time_counts WHERE \(campaigns ? "kind > 0" : "kind = 0") AND n > 0")
    defer { groups.reset() }
    var keys: [(TallyKey, Int)] = []
    while try groups.step() { keys.append((TallyKey(kind: groups.int64(0), name: groups.text(1)), groups.int(2))) }
    groups.reset()
    let up = try db.statement(
      "SELECT ms FROM takedown_times INDEXED BY takedown_times_rank WHERE kind = ?1 AND name = ?2 ORDER BY ms LIMIT 1 OFFSET ?3"
    )
    let down = try db.statement(
      """
      SELECT ms FROM takedown_times INDEXED BY takedown_times_rank WHERE kind = ?1 AND name = ?2
      ORDER BY ms DESC LIMIT 1 OFFSET ?3
      """)
    func value(_ key: TallyKey, rank: Int, of n: Int) throws -> Int64? {
      let fromTop = rank - 1 > n - rank
      let s = fromTop ? down : up
      defer { s.reset() }
      try s.bind([.int(key.kind), .text(key.name), .int(Int64(fromTop ? n - rank : rank - 1))])
      return try s.step() ? s.int64(0) : nil
    }
    var out: [TallyKey: DurationStats] = [:]
    for (key, n) in keys {
      out[key] = DurationStats(
        count: n, p50: try value(key, rank: DurationStats.rank(50, of: n), of: n),
        p90: try value(key, rank: DurationStats.rank(90, of: n), of: n), max: try value(key, rank: n, of: n))
    }
    return out
  }
}

/// A row group of `tallies` and `takedown_times`: 0 every URL (only in `takedown_times`), 1 no campaign,
/// 2 campaign `name`, 3 host `name` (only in `tallies`).
struct TallyKey: Hashable {
  var kind: Int64
  var name: String
}

/// The second connection's result (written by its thread, read after the group's wait).
final class SideTallies: @unchecked Sendable {
  var times: [TallyKey: DurationStats] = [:]
  var error: (any Error)?
}
