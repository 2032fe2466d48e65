import CSQLite

/// Compaction's rows in SQLite (see HistoryCompaction and HistoryRule).
///
/// Space: a deleted check's page goes on SQLite's free list and the next inserted checks reuse it, so the
/// file stops growing once compaction keeps up. With `auto_vacuum = INCREMENTAL` (every new database,
/// and an old one converted once: `convertToIncrementalVacuum`) each compaction step also gives up to
/// `reclaimPages` free pages back to the file system, so the file shrinks after a large prune too.
extension SQLiteStore: HistoryStorage {
  /// Free pages given back per compaction step: 64 × 4 KiB = 256 KiB (each page moved from the end of
  /// the file costs I/O; 256 took up to 200 ms on the loaded benchmark machine).
  static let reclaimPages = 64
  /// An older database (auto_vacuum NONE) is converted when migrated to 0008 only up to this size: the
  /// VACUUM that converts it rewrites the whole file under the write lock (measured here: 1.1 s for a
  /// 33 MB file, 0.24 s of it CPU, on the shared 2-core machine at load 8; so ~2 s at this limit); a
  /// larger one is converted by `takedownctl prune --vacuum`, when the operator chooses the moment.
  public static let convertOnOpenMaxBytes: Int64 = 64 << 20

  public func compactHistory(_ round: HistoryCompaction, now: Int64) throws { try round.step(self, now: now) }

  public func pruneHistory(_ round: HistoryCompaction, now: Int64) throws { try round.runToEnd(self, now: now) }

  public func folds(urlID: Int64) throws -> [CheckFold] { try historyFolds(urlID: urlID, after: Int64.min) }

  public func storageBytes() throws -> StorageBytes {
    let pageSize = try db.scalar("PRAGMA page_size") ?? 4096
    let pages = try db.scalar("PRAGMA page_count") ?? 0
    let free = try db.scalar("PRAGMA freelist_count") ?? 0
    return StorageBytes(total: pages * pageSize, free: free * pageSize)
  }

  /// `auto_vacuum` is INCREMENTAL (2).
  public var incrementalVacuum: Bool { (try? db.scalar("PRAGMA auto_vacuum")) == 2 }

  /// Converts the file to `auto_vacuum = INCREMENTAL` with a VACUUM (rewrites the whole file, holding the
  /// write lock meanwhile; needs free disk space of about the file's size). Nothing to do when it is.
  public func convertToIncrementalVacuum() throws {
    guard !incrementalVacuum else { return }
    try db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    try db.execute("VACUUM")
  }

  public func vacuumForSpaceReuse() throws -> Bool {
    if incrementalVacuum {
      try db.execute("VACUUM")
    } else {
      try convertToIncrementalVacuum()
    }
    return true
  }

  func historyWrite<T>(_ body: () throws -> T) throws -> T { try db.transaction(body) }

  func historyURLs(after: Int64, limit: Int) throws -> [HistoryURL] {
    let s = try db.statement(
      """
      SELECT u.id, ifnull(m.attempt, 0), u.first_online_at, u.taken_down_at, u.first_taken_down_at,
        u.unreachable_since, u.given_up_at
      FROM urls u LEFT JOIN history_marks m ON m.url_id = u.id WHERE u.id > ?1 ORDER BY u.id LIMIT ?2
      """)
    defer { s.reset() }
    s.bind(after, at: 1)
    s.bind(Int64(limit), at: 2)
    var out: [HistoryURL] = []
    while try s.step() {
      out.append(HistoryURL(id: s.int64(0), mark: s.int64(1), pinned: (2...6).compactMap { s.optionalInt64($0) }))
    }
    return out
  }

  func historyRows(urlID: Int64, fromAttempt: Int64, before: Int64, limit: Int) throws -> [HistoryRule.Row] {
    let s = try db.statement(
      """
      SELECT id, attempt, checked_at, observed, status, reason, http_status FROM checks
      WHERE url_id = ?1 AND attempt >= ?2 AND checked_at < ?3 ORDER BY attempt LIMIT ?4
      """)
    defer { s.reset() }
    s.bind(urlID, at: 1)
    s.bind(fromAttempt, at: 2)
    s.bind(before, at: 3)
    s.bind(Int64(min(limit, Int(Int64.max))), at: 4)
    var out: [HistoryRule.Row] = []
    while try s.step() {
      out.append(
        HistoryRule.Row(
          id: s.int64(0), attempt: s.int64(1), checkedAt: s.int64(2), observed: s.text(3), status: s.text(4),
          reason: s.text(5), httpStatus: s.optionalInt(6)))
    }
    return out
  }

  func historyEventTimes(urlID: Int64, since: Int64) throws -> [Int64] {
    let s = try db.statement("SELECT at FROM events WHERE url_id = ?1 AND at >= ?2")
    defer { s.reset() }
    s.bind(urlID, at: 1)
    s.bind(since, at: 2)
    var out: [Int64] = []
    while try s.step() { out.append(s.int64(0)) }
    return out
  }

  func historyFolds(urlID: Int64, after: Int64) throws -> [CheckFold] {
    let s = try db.statement(
      """
      SELECT id, first_at, last_at, folded, observed, status, reason, http_status FROM check_folds
      WHERE url_id = ?1 AND first_at > ?2 ORDER BY first_at, id
      """)
    defer { s.reset() }
    s.bind(urlID, at: 1)
    s.bind(after, at: 2)
    var out: [CheckFold] = []
    while try s.step() {
      out.append(
        CheckFold(
          id: s.int64(0), urlID: urlID, firstAt: s.int64(1), lastAt: s.int64(2), count: s.int(3),
          observed: s.text(4), status: s.text(5), reason: s.text(6), httpStatus: s.optionalInt(7)))
    }
    return out
  }

  func deleteChecks(_ ids: [Int64]) throws {
    let s = try db.statement("DELETE FROM checks WHERE id = ?1")
    for id in ids {
      s.reset()
      s.bind(id, at: 1)
      try s.step()
    }
  }

  func saveFold(_ f: CheckFold) throws {
    if let id = f.id {
      try db.statement("UPDATE check_folds SET last_at = ?2, folded = ?3 WHERE id = ?1")
        .run([.int(id), .int(f.lastAt), .int(Int64(f.count))])
    } else {
      try db.statement(
        """
        INSERT INTO check_folds(url_id, first_at, last_at, folded, observed, status, reason, http_status)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
        """
      ).run([
        .int(f.urlID), .int(f.firstAt), .int(f.lastAt), .int(Int64(f.count)), .text(f.observed), .text(f.status),
        .text(f.reason), .optional(f.httpStatus.map(Int64.init)),
      ])
    }
  }

  func setHistoryMark(urlID: Int64, attempt: Int64) throws {
    try db.statement(
      "INSERT INTO history_marks(url_id, attempt) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET attempt = excluded.attempt"
    ).run([.int(urlID), .int(attempt)])
  }

  func summaryRows(from: Int64, before: Int64, limit: Int) throws -> [SummaryRow] {
    let s = try db.statement(
      """
      SELECT id, at, holder, interval_ms, checks, newly_taken_down, newly_reappeared FROM summaries
      WHERE at >= ?1 AND at < ?2 ORDER BY at, id LIMIT ?3
      """)
    defer { s.reset() }
    s.bind(from, at: 1)
    s.bind(before, at: 2)
    s.bind(Int64(limit), at: 3)
    var out: [SummaryRow] = []
    while try s.step() {
      out.append(
        SummaryRow(
          id: s.int64(0), at: s.int64(1), holder: s.text(2), intervalMs: s.int64(3), checks: s.int64(4),
          newlyTakenDown: s.int64(5), newlyReappeared: s.int64(6)))
    }
    return out
  }

  func mergeSummaries(_ keep: SummaryRow, delete: [Int64]) throws {
    try db.statement(
      """
      UPDATE summaries SET interval_ms = ?2, checks = ?3, newly_taken_down = ?4, newly_reappeared = ?5,
        checks_per_second = CASE WHEN ?2 > 0 THEN ?3 * 1000.0 / ?2 ELSE checks_per_second END
      WHERE id = ?1
      """
    ).run([.int(keep.id), .int(keep.intervalMs), .int(keep.checks), .int(keep.newlyTakenDown), .int(keep.newlyReappeared)])
    let s = try db.statement("DELETE FROM summaries WHERE id = ?1")
    for id in delete {
      s.reset()
      s.bind(id, at: 1)
      try s.step()
    }
  }

  func reclaimSpace() throws -> Int {
    guard incrementalVacuum else { return 0 }
    let before = try db.scalar("PRAGMA freelist_count") ?? 0
    guard before > 0 else { return 0 }
    try db.execute("PRAGMA incremental_vacuum(\(Self.reclaimPages))")
    let after = try db.scalar("PRAGMA freelist_count") ?? 0
    return Int(before - after)
  }
}
