import Foundation

@testable import TakedownCore

/// A queue built in SQLite with the real store code, in states a long-running deployment reaches:
/// campaigns (none, empty, names that differ only in case or by accents, so that a collation would
/// order them differently from their bytes), several notices and reports per URL, deadlines, imported
/// extra fields, checks with evidence over many rounds (online, removed, transient), confirmations,
/// reappearances, cancels and a reactivation, stored summaries, the status log's cursor, and the checks
/// older than a day compacted (fold notes).
enum RealisticQueue {
  static let hour: Int64 = 3_600_000
  static let campaigns: [String?] = [nil, "spring", "Spring", "älpha", "alpha", "Zeta", "", "b c"]

  /// Builds it at `path`; returns the last time used (the clock of the last round).
  @discardableResult
  static func build(at path: String, urls n: Int = 1500, rounds: Int = 30, seed: UInt64 = 7) throws -> Int64 {
    var rng = HostileRandom(seed: seed)
    let h = hour
    let store = try SQLiteStore(path: path)
    func url(_ i: Int) throws -> NormalizedURL {
      // Some hosts with upper-case or IDN spellings: the host filter normalizes them.
      try URLNormalizer.normalize("http://h\(i % 17).test/watch?v=\(i)&k=\(i % 5)").get()
    }
    var extras: [ReportExtra] = []
    var items: [EnqueueItem] = []
    for i in 0..<n {
      let campaign = campaigns.randomElement(using: &rng)!
      let notice: String? = Bool.random(using: &rng) ? nil : "N-\(Int.random(in: 0..<4, using: &rng))"
      let report = ReportMetadata(
        reportedAt: Int64.random(in: 0...(24 * h), using: &rng), campaign: campaign, notice: notice,
        rightholder: Bool.random(using: &rng) ? "Studio \(i % 3)" : nil, work: i % 4 == 0 ? "Wörk \(i % 7)" : nil,
        deadline: Int.random(in: 0..<3, using: &rng) == 0 ? nil : Int64.random(in: (12 * h)...(300 * h), using: &rng))
      items.append(EnqueueItem(url: try url(i), report: report))
      if i % 3 == 0 {
        // Keys in different orders and sets: the export's header is their order of first appearance.
        let fields: [(String, String)] =
          i % 2 == 0 ? [("Platform", "yt \(i)"), ("Note", "said \"no\"")] : [("Note", "n\(i)"), ("Ticket", "T-\(i)")]
        extras.append(
          ReportExtra(url: try url(i).url, campaign: campaign, notice: notice, json: ExtraFields.encode(fields)!))
      }
      // A second report for some URLs, in another campaign or under another notice.
      if i % 5 == 0 {
        items.append(
          EnqueueItem(
            url: try url(i),
            report: ReportMetadata(
              reportedAt: Int64.random(in: 0...(48 * h), using: &rng), campaign: campaigns.randomElement(using: &rng)!,
              notice: "second", deadline: Bool.random(using: &rng) ? nil : 40 * h)))
      }
    }
    _ = try store.enqueue(items, now: 0)
    try store.setReportExtras(extras)
    // One report for a whole batch (enqueue's fast path), mixing new and known URLs.
    let bulk = ReportMetadata(reportedAt: 5 * h, campaign: "bulk", notice: "B-1", deadline: 30 * h)
    _ = try store.enqueue(try (n - 100..<n + 100).map { EnqueueItem(url: try url($0), report: bulk) }, now: h)

    var config = ScheduleConfig()
    config.confirmations = 2
    var t: Int64 = h
    for round in 0..<rounds {
      t += Int64.random(in: (h / 2)...(10 * h), using: &rng)
      let claimed = try store.claim(holder: "node-\(round % 3)", limit: 700, now: t, leaseMs: 60_000)
      var results: [ProbeResult] = []
      var back: [ClaimedURL] = []
      for c in claimed {
        if Int.random(in: 0..<12, using: &rng) == 0 {
          back.append(c)
          continue
        }
        let roll = Int.random(in: 0..<10, using: &rng)
        let observation: Observation = roll < 4 ? .online : roll < 9 ? .removed : .transient
        let reason: Reason = observation == .online ? .http200 : observation == .removed ? .http404 : .http5xx
        var r = ProbeResult(
          claim: c, checkedAt: t, observation: observation, reason: reason,
          httpStatus: observation == .online ? 200 : observation == .removed ? 404 : 503, curlCode: 0,
          finalURL: c.url + (roll == 3 ? "&final" : ""), redirects: roll == 3 ? 1 : 0,
          remoteIP: "192.0.2.\(c.id % 250)", timings: CheckTimings(), bytes: Int64(roll * 100))
        r.timings.totalUs = Int64(roll * 1000 + 17)
        r.evidence = CheckEvidence(
          vantage: "v\(round % 2)", method: roll == 5 ? "HEAD 405, GET" : "GET", bodySHA256: String(repeating: "a", count: 64),
          headers: [("server", "nginx"), ("content-type", "text/html; charset=\"utf-8\"")],
          redirectChain: roll == 3 ? [RedirectHop(status: 301, location: c.url + "&final")] : [],
          matched: roll == 8 ? "removed by request" : nil, rule: roll == 8 ? "rule[0] h1.test" : nil)
        results.append(r)
      }
      _ = try store.complete(results, holder: "node-\(round % 3)", config: config, jitter: { 0.5 })
      try store.release(back, holder: "node-\(round % 3)", now: t)
      if round % 4 == 1 {
        for _ in 0..<3 { _ = try store.cancel(id: Int64.random(in: 1...Int64(n), using: &rng), now: t) }
      }
      if round == rounds / 2 {
        // A cancelled URL comes back.
        let cancelled = try store.db.scalar("SELECT min(id) FROM urls WHERE status = 'cancelled'") ?? 1
        _ = try store.reactivate(id: cancelled, now: t)
      }
      if round % 6 == 5 {
        // Reports filed while the checks run: earlier ones move time-to-takedown, new deadlines lateness.
        _ = try store.enqueue(
          try (0..<40).map { _ in
            EnqueueItem(
              url: try url(Int.random(in: 0..<n, using: &rng)),
              report: ReportMetadata(
                reportedAt: t - 50 * h, campaign: campaigns.randomElement(using: &rng)!, notice: "late-\(round)",
                deadline: t - h))
          }, now: t)
      }
      try store.recordSummary(
        StoredSummary(
          at: t, intervalMs: 60_000, holder: "node-\(round % 3)", checks: results.count,
          checksPerSecond: Double(results.count) / 7.3,
          byStatus: try store.countsByStatus(), newlyTakenDown: round, newlyReappeared: round / 3, due: 17))
    }
    // Bounded history: what is older than a day compacted, folds and marks as a daemon leaves them.
    var history = HistoryConfig()
    history.keepAllForMs = 24 * h
    try store.pruneHistory(HistoryCompaction(config: history), now: t)
    // The status log's cursor (written as the daemon writes it).
    try store.db.execute(
      "INSERT INTO daemon_state(key, value) SELECT 'status_log.event_id', max(id) - 3 FROM events")
    // The daemon that worked on it, stopped.
    try store.db.execute(
      """
      INSERT INTO nodes(name, vantage, version, host, process, instance, started_at, last_seen_at, stopped_at)
      VALUES ('node-0', 'v0', 'test', 'machine', '1:1', 'i', 0, \(t), \(t))
      """)
    // No leases at the end (a daemon that stopped cleanly): the copy would drop them.
    _ = try store.releaseAll(holder: "node-0", now: t)
    _ = try store.releaseAll(holder: "node-1", now: t)
    _ = try store.releaseAll(holder: "node-2", now: t)
    try store.checkpoint()
    return t
  }
}
