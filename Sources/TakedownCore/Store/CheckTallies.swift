/// The summary figures' share of a batch of checks, kept in Swift for the daemon's connection, which runs
/// with SQLite triggers off (see `SQLiteStore.init(checker:)`).
///
/// It does for a status change what `summary_url_update` and `takedown_time_counts_*` (migration 0005)
/// do, with one difference: the tally rows, the takedown-time counts and the URL counts get one upsert
/// per distinct key per batch instead of two per check. On the first pass over a queue every check changes
/// its URL's status, and the per-row trigger work was the daemon's largest recording cost (see #3).
///
/// `SummaryTalliesTests` drives both connections over a random queue and compares every figure with a
/// plain computation over all rows; `triggersTheDaemonBypassesAreKnown` fails when a new trigger on the
/// tables the daemon writes appears, because this type would have to learn what it does.
struct CheckTallies {
  private struct TallyKey: Hashable {
    var kind: Int64
    var name: String
    var status: String
  }
  private struct Group: Hashable {
    var kind: Int64
    var name: String
  }
  private var tallies: [TallyKey: Int64] = [:]
  private var timeCounts: [Group: Int64] = [:]
  private var urlCounts: [String: Int64] = [:]
  private let db: SQLiteConnection
  private let row: SQLiteStatement
  private let campaigns: SQLiteStatement

  init(db: SQLiteConnection) throws {
    self.db = db
    row = try db.statement("SELECT host, first_reported_at, deadline_at FROM urls WHERE id = ?1")
    campaigns = try db.statement(
      "SELECT DISTINCT (campaign IS NOT NULL) + 1, ifnull(campaign, '') FROM reports WHERE url_id = ?1")
  }

  /// Records what changed for one URL whose update (just made, in this transaction) changed its status
  /// or removal times. `old` is its state at claim time, which only the lease holder can change. Its
  /// host, first report and deadline are read from the row: a report filed while the check ran may have
  /// moved the last two. (A lookup of its own: RETURNING on the update cost 4 µs a row, this 1.)
  mutating func changed(urlID: Int64, from old: ScheduleState, to new: ScheduleState) throws {
    row.reset()
    row.bind(urlID, at: 1)
    guard try row.step() else { return }
    let host = row.text(0)
    let firstReportedAt = row.optionalInt64(1)
    let deadlineAt = row.optionalInt64(2)
    row.reset()
    let statusChanged = old.status != new.status
    func takedownMs(_ s: ScheduleState) -> Int64? {
      guard let first = s.firstTakenDownAt, let reported = firstReportedAt else { return nil }
      return max(first - reported, 0)
    }
    let (oldMs, newMs) = (takedownMs(old), takedownMs(new))
    // A URL counts once in each campaign it has a report in (kind 2), or in the no-campaign group (1).
    var groups: [Group] = []
    if statusChanged || (newMs != nil && oldMs != newMs) {
      campaigns.reset()
      campaigns.bind(urlID, at: 1)
      while try campaigns.step() { groups.append(Group(kind: campaigns.int64(0), name: campaigns.text(1))) }
      campaigns.reset()
    }
    if statusChanged {
      for g in [Group(kind: 3, name: host)] + groups {
        tallies[TallyKey(kind: g.kind, name: g.name, status: old.status.rawValue), default: 0] -= 1
        tallies[TallyKey(kind: g.kind, name: g.name, status: new.status.rawValue), default: 0] += 1
      }
      // Open deadlines: a URL with a deadline is in the table while it is neither taken down nor cancelled.
      if deadlineAt != nil {
        let open = new.status != .takenDown && new.status != .cancelled
        let s = try db.statement(
          open
            ? "INSERT OR REPLACE INTO open_deadlines(url_id, deadline_at) VALUES (?1, ?2)"
            : "DELETE FROM open_deadlines WHERE url_id = ?1")
        s.reset()
        s.bind(urlID, at: 1)
        if open { s.bind(deadlineAt, at: 2) }
        try s.step()
        s.reset()
      }
    }
    if oldMs != newMs {
      let delete = try db.statement(
        "DELETE FROM takedown_times WHERE url_id = ?1 RETURNING kind, name")
      delete.reset()
      delete.bind(urlID, at: 1)
      while try delete.step() {
        timeCounts[Group(kind: delete.int64(0), name: delete.text(1)), default: 0] -= 1
      }
      delete.reset()
      if let ms = newMs {
        let insert = try db.statement(
          "INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms) VALUES (?1, ?2, ?3, ?4)")
        for g in [Group(kind: 0, name: "")] + groups {
          insert.reset()
          insert.bind(urlID, at: 1)
          insert.bind(g.kind, at: 2)
          insert.bind(g.name, at: 3)
          insert.bind(ms, at: 4)
          try insert.step()
          if db.changes == 1 { timeCounts[g, default: 0] += 1 }
        }
        insert.reset()
      }
    }
    func late(_ s: ScheduleState) -> Int64 {
      guard let first = s.firstTakenDownAt, let deadline = deadlineAt else { return 0 }
      return first > deadline ? 1 : 0
    }
    let removed = Int64(new.takenDownAt != nil ? 1 : 0) - Int64(old.takenDownAt != nil ? 1 : 0)
    let firstRemoved =
      Int64(new.firstTakenDownAt != nil ? 1 : 0) - Int64(old.firstTakenDownAt != nil ? 1 : 0)
    if removed != 0 { urlCounts["taken_down", default: 0] += removed }
    if firstRemoved != 0 { urlCounts["first_taken_down", default: 0] += firstRemoved }
    if late(new) != late(old) { urlCounts["taken_down_late", default: 0] += late(new) - late(old) }
  }

  /// Writes the batch's deltas (inside the batch's transaction).
  func flush() throws {
    if !tallies.isEmpty {
      let s = try db.statement(
        """
        INSERT INTO tallies(kind, name, status, n) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT DO UPDATE SET n = n + excluded.n
        """)
      for (k, n) in tallies where n != 0 {
        s.reset()
        s.bind(k.kind, at: 1)
        s.bind(k.name, at: 2)
        s.bind(k.status, at: 3)
        s.bind(n, at: 4)
        try s.step()
      }
      s.reset()
    }
    if !timeCounts.isEmpty {
      let s = try db.statement(
        """
        INSERT INTO takedown_time_counts(kind, name, n) VALUES (?1, ?2, ?3)
        ON CONFLICT DO UPDATE SET n = n + excluded.n
        """)
      for (g, n) in timeCounts where n != 0 {
        s.reset()
        s.bind(g.kind, at: 1)
        s.bind(g.name, at: 2)
        s.bind(n, at: 3)
        try s.step()
      }
      s.reset()
    }
    if !urlCounts.isEmpty {
      let s = try db.statement("UPDATE url_counts SET n = n + ?2 WHERE name = ?1")
      for (name, n) in urlCounts where n != 0 {
        s.reset()
        s.bind(name, at: 1)
        s.bind(n, at: 2)
        try s.step()
      }
      s.reset()
    }
  }
}
