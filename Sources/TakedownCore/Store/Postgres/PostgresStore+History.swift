/// Compaction's rows in PostgreSQL (see HistoryCompaction and HistoryRule).
///
/// Space: deleted rows are dead tuples until (auto)vacuum marks them free; later inserts then reuse that
/// space inside the same files, so the tables stop growing without VACUUM FULL (which would lock them).
/// Compaction deletes in the same small transactions as on SQLite; several daemons may compact at once:
/// each step takes an advisory lock per URL it reads (`pg_try_advisory_xact_lock`), so two daemons never
/// fold the same URL at the same time, and neither waits for the other.
extension PostgresStore: HistoryStorage {
  public func compactHistory(_ round: HistoryCompaction, now: Int64) throws { try round.step(self, now: now) }

  public func pruneHistory(_ round: HistoryCompaction, now: Int64) throws { try round.runToEnd(self, now: now) }

  public func folds(urlID: Int64) throws -> [CheckFold] { try historyFolds(urlID: urlID, after: Int64.min) }

  public func storageBytes() throws -> StorageBytes {
    let r = try connection.execute(
      """
      SELECT pg_total_relation_size('checks') + pg_total_relation_size('check_folds')
        + pg_total_relation_size('summaries') + pg_total_relation_size('history_marks')
      """)
    return StorageBytes(total: r.int64(0, 0) ?? 0, free: nil)
  }

  public func vacuumForSpaceReuse() throws -> Bool { false }

  /// Advisory lock keys of compaction: this plus the URL's id ('tdh' in the top bytes, far from the
  /// other keys of the store: events, migrations).
  static let historyLockBase: Int64 = 0x7464_6800_0000_0000

  func historyWrite<T>(_ body: () throws -> T) throws -> T { try writeTransaction(body) }

  func historyURLs(after: Int64, limit: Int) throws -> [HistoryURL] {
    // A URL another daemon is compacting right now is left to it: each URL is taken under a
    // transaction-scoped advisory lock of its own (not a row lock: claims and completions of the URL go
    // on, and a daemon paused mid-step blocks no check, only the compaction of its few URLs).
    let r = try connection.execute(
      """
      SELECT u.id, coalesce(m.attempt, 0), u.first_online_at, u.taken_down_at, u.first_taken_down_at,
        u.unreachable_since, u.given_up_at
      FROM urls u LEFT JOIN history_marks m ON m.url_id = u.id
      WHERE u.id > $1 AND pg_try_advisory_xact_lock($3 + u.id) ORDER BY u.id LIMIT $2
      """, [.int(after), .int(Int64(limit)), .int(Self.historyLockBase)])
    return (0..<r.rowCount).map { i in
      HistoryURL(id: r.int64(i, 0)!, mark: r.int64(i, 1)!, pinned: (2...6).compactMap { r.int64(i, $0) })
    }
  }

  func historyRows(urlID: Int64, fromAttempt: Int64, before: Int64, limit: Int) throws -> [HistoryRule.Row] {
    let r = try connection.execute(
      """
      SELECT id, attempt, checked_at, observed, status, reason, http_status FROM checks
      WHERE url_id = $1 AND attempt >= $2 AND checked_at < $3 ORDER BY attempt LIMIT $4
      """, [.int(urlID), .int(fromAttempt), .int(before), .int(Int64(limit))])
    return (0..<r.rowCount).map { i in
      HistoryRule.Row(
        id: r.int64(i, 0)!, attempt: r.int64(i, 1)!, checkedAt: r.int64(i, 2)!, observed: r.text(i, 3)!,
        status: r.text(i, 4)!, reason: r.text(i, 5)!, httpStatus: r.int64(i, 6).map { Int($0) })
    }
  }

  func historyEventTimes(urlID: Int64, since: Int64) throws -> [Int64] {
    let r = try connection.execute("SELECT at FROM events WHERE url_id = $1 AND at >= $2", [.int(urlID), .int(since)])
    return (0..<r.rowCount).map { r.int64($0, 0)! }
  }

  func historyFolds(urlID: Int64, after: Int64) throws -> [CheckFold] {
    let r = try connection.execute(
      """
      SELECT id, first_at, last_at, folded, observed, status, reason, http_status FROM check_folds
      WHERE url_id = $1 AND first_at > $2 ORDER BY first_at, id
      """, [.int(urlID), .int(after)])
    return (0..<r.rowCount).map { i in
      CheckFold(
        id: r.int64(i, 0)!, urlID: urlID, firstAt: r.int64(i, 1)!, lastAt: r.int64(i, 2)!, count: Int(r.int64(i, 3)!),
        observed: r.text(i, 4)!, status: r.text(i, 5)!, reason: r.text(i, 6)!, httpStatus: r.int64(i, 7).map { Int($0) })
    }
  }

  func deleteChecks(_ ids: [Int64]) throws {
    try connection.execute("DELETE FROM checks WHERE id = ANY($1::bigint[])", [PostgresArray.ints(ids)])
  }

  func saveFold(_ f: CheckFold) throws {
    if let id = f.id {
      try connection.execute(
        "UPDATE check_folds SET last_at = $2, folded = $3 WHERE id = $1", [.int(id), .int(f.lastAt), .int(Int64(f.count))])
    } else {
      try connection.execute(
        """
        INSERT INTO check_folds (url_id, first_at, last_at, folded, observed, status, reason, http_status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        [
          .int(f.urlID), .int(f.firstAt), .int(f.lastAt), .int(Int64(f.count)), .text(f.observed), .text(f.status),
          .text(f.reason), .optional(f.httpStatus.map(Int64.init)),
        ])
    }
  }

  func setHistoryMark(urlID: Int64, attempt: Int64) throws {
    try connection.execute(
      "INSERT INTO history_marks (url_id, attempt) VALUES ($1, $2) ON CONFLICT (url_id) DO UPDATE SET attempt = excluded.attempt",
      [.int(urlID), .int(attempt)])
  }

  func summaryRows(from: Int64, before: Int64, limit: Int) throws -> [SummaryRow] {
    let r = try connection.execute(
      """
      SELECT id, at, holder, interval_ms, checks, newly_taken_down, newly_reappeared FROM summaries
      WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3
      """, [.int(from), .int(before), .int(Int64(limit))])
    return (0..<r.rowCount).map { i in
      SummaryRow(
        id: r.int64(i, 0)!, at: r.int64(i, 1)!, holder: r.text(i, 2)!, intervalMs: r.int64(i, 3)!, checks: r.int64(i, 4)!,
        newlyTakenDown: r.int64(i, 5)!, newlyReappeared: r.int64(i, 6)!)
    }
  }

  func mergeSummaries(_ keep: SummaryRow, delete: [Int64]) throws {
    try connection.execute(
      """
      UPDATE summaries SET interval_ms = $2, checks = $3, newly_taken_down = $4, newly_reappeared = $5,
        checks_per_second = CASE WHEN $2::bigint > 0 THEN $3::bigint * 1000.0 / $2::bigint ELSE checks_per_second END
      WHERE id = $1
      """,
      [.int(keep.id), .int(keep.intervalMs), .int(keep.checks), .int(keep.newlyTakenDown), .int(keep.newlyReappeared)])
    try connection.execute("DELETE FROM summaries WHERE id = ANY($1::bigint[])", [PostgresArray.ints(delete)])
  }

  func reclaimSpace() throws -> Int { 0 }
}
