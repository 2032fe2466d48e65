import CSQLite

#if canImport(Glibc)
  import Glibc
#endif

/// The SQLite implementation of the queue and of every read the CLI makes.
/// One instance per thread (it owns one connection).
public final class SQLiteStore: TakedownStore {
  public let db: SQLiteConnection
  public var location: String { db.path }
  /// Whether this connection has created its temporary enqueue_stage table.
  private var enqueueStageReady = false

  /// Opens (creating when `create`) the database, sets WAL and durability, and migrates.
  ///
  /// `checker`: the connection that records checks (takedownd's). It runs with SQLite triggers off, and
  /// `complete` applies what the summary triggers (migration 0005) would do, for a whole batch at once
  /// (`CheckTallies`): per-row trigger runs were the largest part of recording a first pass. Its other
  /// writes either touch no column a trigger watches (claims, leases, summaries) or turn the triggers
  /// back on for their duration (`enqueue`, `cancel`).
  /// `onLongWait`: see `SQLiteConnection.init`.
  ///
  /// `readOnly` (reading commands): opens with SQLITE_OPEN_READONLY, so that a user who may read the
  /// database but not write it or its directory can still read it. Only a database whose schema is
  /// behind this binary's is opened for writing, to migrate it.
  ///
  /// Throws `StoreError` for a file that is not a takedown database or was written by a newer takedown
  /// (and, without `create`, for a missing or empty file), `SQLiteError` for anything else.
  public init(
    path: String, create: Bool = true, readOnly: Bool = false, busyTimeoutMs: Int32 = 10_000,
    checker: Bool = false, onLongWait: (() -> Void)? = nil
  ) throws {
    if !create || readOnly {
      var st = stat()
      guard stat(path, &st) == 0 else { throw StoreError.noDatabase(path) }
      // SQLite would take an empty file for a new database and write one into it: a reading command
      // must not, and an empty file is what `touch` or a failed copy leaves, not a queue.
      if st.st_mode & S_IFMT == S_IFREG && st.st_size == 0 { throw StoreError.emptyFile(path) }
    }
    if readOnly,
      let reader = try Self.openForReading(path: path, busyTimeoutMs: busyTimeoutMs, onLongWait: onLongWait)
    {
      db = reader
      return
    }
    db = try SQLiteConnection(path: path, busyTimeoutMs: busyTimeoutMs, onLongWait: onLongWait)
    // Before anything writes: a file that is not ours is left exactly as it was.
    let behind: Bool
    do {
      behind = try Self.schemaIsBehind(db)
    } catch let e as SQLiteError where e.code & 0xff == SQLITE_NOTADB {
      throw StoreError.notADatabase(path, e.message)
    }
    let tables = behind ? try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0 : 1
    // A new file reuses and gives back the pages compaction frees (HistoryCompaction): the setting must
    // come before anything is written, WAL mode included.
    if tables == 0 { try db.execute("PRAGMA auto_vacuum = INCREMENTAL") }
    // WAL lets the CLI read while the daemon writes; FULL makes a committed check survive power loss,
    // and costs little because results are committed in batches.
    try db.execute("PRAGMA journal_mode = WAL")
    try db.execute("PRAGMA synchronous = FULL")
    try db.execute("PRAGMA foreign_keys = ON")
    // Statement journals (SQLite keeps one for every statement that can fire a trigger, e.g. a check's
    // UPDATE of urls under the summary triggers) in memory: on disk they were ~12 temp-file writes per
    // check, a third of the daemon's CPU in the keep-alive benchmark.
    try db.execute("PRAGMA temp_store = MEMORY")
    // A long reader (an export of a million rows) keeps checkpoints from passing its snapshot, so the WAL
    // grows while it reads. Once it is gone, the next automatic checkpoint (every 1000 pages, SQLite's
    // default, set here so it holds whatever a build defaults to) copies everything back and the
    // following commit starts the WAL over; journal_size_limit then truncates the file to this size
    // instead of leaving it at its peak for ever (README *WAL*).
    try db.execute("PRAGMA wal_autocheckpoint = 1000")
    try db.execute("PRAGMA journal_size_limit = \(Self.walSizeLimit)")
    if behind {
      let hadHistory = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'check_folds'") ?? 0
      try db.migrate()
      // Upgrading to bounded history: a small file is converted at once (see convertOnOpenMaxBytes).
      if tables > 0 && hadHistory == 0, try storageBytes().total <= Self.convertOnOpenMaxBytes {
        try convertToIncrementalVacuum()
      }
    }
    if checker { try db.setTriggers(false) }
  }

  /// A read-only connection, or nil when the schema must be migrated first (which needs a writer).
  private static func openForReading(path: String, busyTimeoutMs: Int32, onLongWait: (() -> Void)?) throws
    -> SQLiteConnection?
  {
    var c = try SQLiteConnection(path: path, readOnly: true, busyTimeoutMs: busyTimeoutMs, onLongWait: onLongWait)
    var objects: Int64 = 0
    do {
      objects = try c.scalar("SELECT count(*) FROM sqlite_master") ?? 0
    } catch let e as SQLiteError where e.code & 0xff == SQLITE_NOTADB {
      throw StoreError.notADatabase(path, e.message)
    } catch let e as SQLiteError
      where (e.code & 0xff == SQLITE_READONLY || e.code & 0xff == SQLITE_CANTOPEN) && access(path + "-wal", F_OK) != 0
    {
      // A WAL database, no -shm file, and a directory we may not write: SQLite cannot set up the
      // shared memory a WAL reader needs. Without a -wal file, all committed data is in the main file
      // and no writer is at work (a writer keeps its -wal file), so it reads the file as it is.
      c = try SQLiteConnection(path: path, readOnly: true, immutable: true, busyTimeoutMs: busyTimeoutMs)
      objects = try c.scalar("SELECT count(*) FROM sqlite_master") ?? 0
    }
    // A SQLite file with nothing in it: no queue yet, and reading must not make one.
    if objects == 0 { throw StoreError.noDatabase(path) }
    try c.execute("PRAGMA temp_store = MEMORY")
    return try schemaIsBehind(c) ? nil : c
  }

  /// The size the WAL file is truncated back to once a checkpoint has emptied it (`journal_size_limit`).
  public static let walSizeLimit = 16 << 20

  /// The migrations this binary knows, oldest first: a database migrated by it holds exactly these.
  public static var migrationNames: [String] { Migrations.all.map(\.name) }

  /// Whether this binary's migrations are not all applied yet. Throws for a database that is not
  /// takedown's (tables, but no schema_migrations) or that holds a migration this binary does not know.
  static func schemaIsBehind(_ c: SQLiteConnection) throws -> Bool {
    let tables = try c.statement(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    var names: [String] = []
    while try tables.step() { names.append(tables.text(0)) }
    tables.reset()
    if names.isEmpty { return true }  // a new database
    guard names.contains("schema_migrations") else {
      let list = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", …" : "")
      throw StoreError.notADatabase(c.path, "it has tables (\(list)) but no schema_migrations")
    }
    let unknown = try c.unknownMigrations()
    if !unknown.isEmpty { throw StoreError.newerSchema(c.path, unknown) }
    let applied = try c.scalar("SELECT count(*) FROM schema_migrations") ?? 0
    return applied < Int64(Migrations.all.count)
  }

  /// For bulk imports: a large page cache keeps the B-trees of the URL and report indexes in memory
  /// while a million rows go in (SQLite's default 2 MB cache made a 1M-line enqueue I/O bound).
  public func prepareForBulkWrites() throws { try tuneForBulkWrites() }

  public func tuneForBulkWrites(cacheMiB: Int = 256) throws {
    try db.execute("PRAGMA cache_size = -\(cacheMiB * 1024)")
    try db.execute("PRAGMA temp_store = MEMORY")
  }

  // MARK: Enqueue

  /// Adds URLs and their reports in one transaction.
  ///
  /// The items go row by row into a temporary staging table (no index, no trigger, no journal of its own),
  /// then set statements do the real work: one INSERT into `urls` in URL order, then the reports in
  /// url_id order (one INSERT, or two when the whole batch carries one report). Statement by statement, each row paid for a statement journal (the
  /// reports trigger makes every report insert a multi-row write) and a trigger that rewrote the URL row
  /// just written: 1,000,000 lines took twice as long as `sqlite3 .import` into the same indexes.
  ///
  /// Same result as inserting the items one by one in order: a URL's first item (by position) creates
  /// it, and that item's report is the first one stored for it (`ORDER BY u.id, s.seq`), so a duplicate
  /// report later in the batch is the one ignored.
  public func enqueue(_ items: [EnqueueItem], now: Int64) throws -> EnqueueCounts {
    guard !items.isEmpty else { return EnqueueCounts() }
    return try db.withTriggers(true) { try enqueueBatch(items, now: now) }
  }

  private func enqueueBatch(_ items: [EnqueueItem], now: Int64) throws -> EnqueueCounts {
    if !enqueueStageReady {
      try db.execute(
        """
        CREATE TEMP TABLE IF NOT EXISTS enqueue_stage (
          seq INTEGER PRIMARY KEY, url TEXT NOT NULL, host TEXT NOT NULL, reported_at INTEGER NOT NULL,
          campaign TEXT, notice TEXT, rightholder TEXT, work TEXT, deadline INTEGER)
        """)
      enqueueStageReady = true
    }
    var counts = EnqueueCounts()
    try db.transaction {
      // Empty already unless an earlier batch failed after staging (its rollback empties it too).
      try db.statement("DELETE FROM temp.enqueue_stage").step()
      let stage = try db.statement(
        """
        INSERT INTO temp.enqueue_stage(seq, url, host, reported_at, campaign, notice, rightholder, work, deadline)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
        """)
      for (seq, item) in items.enumerated() {
        let r = item.report
        stage.reset()
        stage.bind(Int64(seq), at: 1)
        stage.bind(item.url.url, at: 2)
        stage.bind(item.url.host, at: 3)
        stage.bind(r.reportedAt ?? now, at: 4)
        stage.bind(r.campaign, at: 5)
        stage.bind(r.notice, at: 6)
        stage.bind(r.rightholder, at: 7)
        stage.bind(r.work, at: 8)
        stage.bind(r.deadline, at: 9)
        try stage.step()
      }
      // With every rowid below the ceiling, SQLite gives each new row the largest rowid plus one, so the
      // rows above this one are exactly the URLs this statement creates.
      let maxBefore = try db.scalar("SELECT ifnull(max(id), 0) FROM urls") ?? 0
      // A new URL gets first_reported_at and deadline_at from the report that will be stored first for
      // it, so the reports trigger finds nothing to change (its WHERE fails) instead of rewriting the row.
      let insertURLs = try db.statement(
        """
        INSERT INTO urls(url, host, created_at, next_check_at, first_reported_at, deadline_at)
        SELECT url, host, ?1, ?1, reported_at, deadline FROM temp.enqueue_stage ORDER BY url, seq
        ON CONFLICT(url) DO NOTHING
        """)
      insertURLs.bind(now, at: 1)
      let newIDsAreAboveMax = maxBefore < Int64.max - Int64(items.count)
      if newIDsAreAboveMax {
        // The rows this statement creates are the ids above maxBefore, so what the summary's insert
        // triggers (0005) do row by row is two set statements here: a new URL is pending, has no report yet
        // (they go in below), no removal, and maybe a deadline. 1,000,000 lines: ~1.4 s of triggers.
        // StoreTests.triggersOnURLInsertsAreKnown lists the triggers this skips.
        try db.withoutTriggers {
          try insertURLs.step()
          counts.new = db.changes
          if counts.new > 0 {
            let hosts = try db.statement(
              """
              INSERT INTO tallies(kind, name, status, n)
              SELECT 3, host, 'pending', count(*) FROM urls WHERE id > ?1 GROUP BY host
              ON CONFLICT DO UPDATE SET n = n + excluded.n
              """)
            hosts.bind(maxBefore, at: 1)
            try hosts.step()
            let deadlines = try db.statement(
              """
              INSERT INTO open_deadlines(url_id, deadline_at)
              SELECT id, deadline_at FROM urls WHERE id > ?1 AND deadline_at IS NOT NULL
              """)
            deadlines.bind(maxBefore, at: 1)
            try deadlines.step()
          }
        }
      } else {
        try insertURLs.step()
        counts.new = db.changes
      }
      counts.alreadyQueued = items.count - counts.new
      let report = items[0].report
      if newIDsAreAboveMax && items.allSatisfy({ $0.report == report }) {
        // One report for the whole batch (enqueue's case): the new URLs are the ids above maxBefore, no
        // lookup by URL needed. Their repeats in the batch carry the same report, which would be ignored.
        // Each of these URLs already holds this very report's date and deadline (see insertURLs), so the
        // reports trigger would change nothing: it is skipped, which halves this statement's cost.
        // The summary's report triggers (0005) are kept by hand below. A test lists the triggers on
        // inserts into reports, so a new one cannot be skipped here unnoticed.
        counts.reportsAdded = try db.withoutTriggers {
          let reportNew = try db.statement(
            """
            INSERT OR IGNORE INTO reports(url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at)
            SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?1 FROM urls WHERE id > ?8 ORDER BY id
            """)
          bindReport(reportNew, report, now: now)
          reportNew.bind(maxBefore, at: 8)
          try reportNew.step()
          let added = db.changes
          // What summary_report_insert (0005) would have done for them: each is a new URL, still pending,
          // with its first report in this campaign. (summary_report_insert_time has nothing to do: a new
          // URL has no takedown time.)
          if added > 0 {
            let tally = try db.statement(
              """
              INSERT INTO tallies(kind, name, status, n) VALUES (?1, ?2, 'pending', ?3)
              ON CONFLICT DO UPDATE SET n = n + excluded.n
              """)
            tally.bind(report.campaign == nil ? 1 : 2, at: 1)
            tally.bind(report.campaign ?? "", at: 2)
            tally.bind(Int64(added), at: 3)
            try tally.step()
          }
          return added
        }
        if counts.alreadyQueued > 0 {
          let reportOld = try db.statement(
            """
            INSERT OR IGNORE INTO reports(url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at)
            SELECT u.id, ?2, ?3, ?4, ?5, ?6, ?7, ?1
            FROM temp.enqueue_stage AS s CROSS JOIN urls AS u ON u.url = s.url
            WHERE u.id <= ?8 ORDER BY u.id, s.seq
            """)
          bindReport(reportOld, report, now: now)
          reportOld.bind(maxBefore, at: 8)
          try reportOld.step()
          counts.reportsAdded += db.changes
        }
      } else {
        // CROSS JOIN: the staged rows drive the loop, each finds its URL through the url index.
        let insertReports = try db.statement(
          """
          INSERT OR IGNORE INTO reports(url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at)
          SELECT u.id, s.reported_at, s.campaign, s.notice, s.rightholder, s.work, s.deadline, ?1
          FROM temp.enqueue_stage AS s CROSS JOIN urls AS u ON u.url = s.url
          ORDER BY u.id, s.seq
          """)
        insertReports.bind(now, at: 1)
        try insertReports.step()
        counts.reportsAdded = db.changes
      }
      if counts.alreadyQueued > 0 {
        // A cancelled URL reported again stays cancelled (an operator withdrew it on purpose), but the
        // person enqueuing must hear that nothing will check it.
        let cancelled = try db.statement(
          """
          SELECT DISTINCT u.url FROM temp.enqueue_stage AS s CROSS JOIN urls AS u ON u.url = s.url
          WHERE u.id <= ?1 AND u.status = 'cancelled'
          """)
        cancelled.bind(maxBefore, at: 1)
        while try cancelled.step() {
          counts.cancelled += 1
          if counts.cancelledSample.count < EnqueueCounts.cancelledSampleLimit {
            counts.cancelledSample.append(cancelled.text(0))
          }
        }
        cancelled.reset()
      }
      try db.statement("DELETE FROM temp.enqueue_stage").step()
    }
    return counts
  }

  /// Binds ?1 = now (created_at) and ?2...?7 = the report's columns.
  private func bindReport(_ s: SQLiteStatement, _ r: ReportMetadata, now: Int64) {
    s.bind(now, at: 1)
    s.bind(r.reportedAt ?? now, at: 2)
    s.bind(r.campaign, at: 3)
    s.bind(r.notice, at: 4)
    s.bind(r.rightholder, at: 5)
    s.bind(r.work, at: 6)
    s.bind(r.deadline, at: 7)
  }

  // MARK: Claim / complete / release

  public func claim(holder: String, limit: Int, now: Int64, leaseMs: Int64) throws -> [ClaimedURL] {
    let until = now + leaseMs
    return try db.transaction {
      // Setting next_check_at to the lease's end makes an expired lease (a crash) due again by itself.
      let s = try db.statement(
        """
        UPDATE urls SET lease_holder = ?1, lease_until = ?2, next_check_at = ?2, attempt = attempt + 1
        WHERE id IN (SELECT id FROM urls WHERE next_check_at <= ?3 ORDER BY next_check_at LIMIT ?4)
        RETURNING id, url, host, attempt, status, reason, removal_streak, failure_streak,
                  first_online_at, taken_down_at, first_taken_down_at, unreachable_since, given_up_at
        """)
      s.bind(holder, at: 1)
      s.bind(until, at: 2)
      s.bind(now, at: 3)
      s.bind(Int64(limit), at: 4)
      var out: [ClaimedURL] = []
      out.reserveCapacity(limit)
      while try s.step() {
        let state = ScheduleState(
          status: URLStatus(rawValue: s.text(4)) ?? .pending,
          reason: s.optionalText(5).flatMap(Reason.init(rawValue:)),
          removalStreak: s.int(6), failureStreak: s.int(7), firstOnlineAt: s.optionalInt64(8),
          takenDownAt: s.optionalInt64(9), firstTakenDownAt: s.optionalInt64(10),
          unreachableSince: s.optionalInt64(11), givenUpAt: s.optionalInt64(12))
        out.append(ClaimedURL(id: s.int64(0), url: s.text(1), host: s.text(2), attempt: s.int64(3), state: state))
      }
      return out
    }
  }

  public func complete(
    _ results: [ProbeResult], holder: String, config: ScheduleConfig, jitter: () -> Double
  ) throws -> CompletionStats {
    var stats = CompletionStats()
    // Without triggers (the checker's connection) the summary's figures are kept here, per batch.
    var tallies = db.triggersEnabled ? nil : Optional(try CheckTallies(db: db))
    try db.transaction {
      let update = try db.statement(
        """
        UPDATE urls SET status = ?4, reason = ?5, http_status = CASE WHEN ?16 THEN ?6 ELSE http_status END,
          last_checked_at = ?7, next_check_at = ?8, first_online_at = ?9, taken_down_at = ?10, first_taken_down_at = ?11, checks = checks + 1,
          removal_streak = ?12, failure_streak = ?13, unreachable_since = ?14, given_up_at = ?15,
          lease_holder = NULL, lease_until = NULL
        WHERE id = ?1 AND attempt = ?2 AND lease_holder = ?3
        """)
      // Most checks leave the status, and with it the removal times, as they were: their update names none
      // of those columns, so neither the indexes on status nor the summary's triggers (migration 0005) have
      // anything to do. (A trigger that may fire also makes SQLite keep a statement journal for the update.)
      let updateSame = try db.statement(
        """
        UPDATE urls SET reason = ?5, http_status = CASE WHEN ?16 THEN ?6 ELSE http_status END,
          last_checked_at = ?7, next_check_at = ?8, first_online_at = ?9, checks = checks + 1,
          removal_streak = ?12, failure_streak = ?13, unreachable_since = ?14, given_up_at = ?15,
          lease_holder = NULL, lease_until = NULL
        WHERE id = ?1 AND attempt = ?2 AND lease_holder = ?3
        """)
      let insertCheck = try db.statement(
        """
        INSERT INTO checks(url_id, attempt, checked_at, observed, status, reason, http_status, curl_code,
          final_url, redirects, remote_ip, dns_us, connect_us, tls_us, first_byte_us, total_us, bytes, holder,
          vantage, method, body_sha256, headers, redirect_chain, matched, rule)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
          ?19, ?20, ?21, ?22, ?23, ?24, ?25)
        """)
      let insertEvent = try db.statement(
        "INSERT INTO events(url_id, at, from_status, to_status, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
      for r in results {
        let outcome = SchedulePolicy.apply(
          r.claim.state, observation: r.observation, reason: r.reason, now: r.checkedAt, config: config,
          jitter: jitter(), notBefore: r.retryAfterAt)
        let st = outcome.state
        let old = r.claim.state
        let u =
          st.status == old.status && st.takenDownAt == old.takenDownAt && st.firstTakenDownAt == old.firstTakenDownAt
          ? updateSame : update
        u.reset()
        u.bind(r.claim.id, at: 1)
        u.bind(r.claim.attempt, at: 2)
        u.bind(holder, at: 3)
        u.bind(st.status.rawValue, at: 4)
        u.bind(st.reason?.rawValue, at: 5)
        u.bind(r.httpStatus.map(Int64.init), at: 6)
        u.bind(r.checkedAt, at: 7)
        u.bind(outcome.nextCheckAt, at: 8)
        u.bind(st.firstOnlineAt, at: 9)
        u.bind(st.takenDownAt, at: 10)
        u.bind(st.firstTakenDownAt, at: 11)
        u.bind(Int64(st.removalStreak), at: 12)
        u.bind(Int64(st.failureStreak), at: 13)
        u.bind(st.unreachableSince, at: 14)
        u.bind(st.givenUpAt, at: 15)
        // urls.reason and urls.http_status are those of the check that decided the status: a 503 on a
        // taken_down URL must not show beside the 404 that took it down (the latest check is in checks).
        u.bind(Int64(outcome.decided ? 1 : 0), at: 16)
        try u.step()
        guard db.changes == 1 else {
          stats.stale += 1
          continue
        }
        if u === update { try tallies?.changed(urlID: r.claim.id, from: old, to: st) }
        insertCheck.reset()
        insertCheck.bind(r.claim.id, at: 1)
        insertCheck.bind(r.claim.attempt, at: 2)
        insertCheck.bind(r.checkedAt, at: 3)
        insertCheck.bind(r.observation.rawValue, at: 4)
        insertCheck.bind(st.status.rawValue, at: 5)
        insertCheck.bind(r.reason.rawValue, at: 6)
        insertCheck.bind(r.httpStatus.map(Int64.init), at: 7)
        insertCheck.bind(Int64(r.curlCode), at: 8)
        insertCheck.bind(r.finalURL, at: 9)
        insertCheck.bind(Int64(r.redirects), at: 10)
        insertCheck.bind(r.remoteIP, at: 11)
        insertCheck.bind(r.timings.dnsUs, at: 12)
        insertCheck.bind(r.timings.connectUs, at: 13)
        insertCheck.bind(r.timings.tlsUs, at: 14)
        insertCheck.bind(r.timings.firstByteUs, at: 15)
        insertCheck.bind(r.timings.totalUs, at: 16)
        insertCheck.bind(r.bytes, at: 17)
        insertCheck.bind(holder, at: 18)
        let e = r.evidence
        insertCheck.bind(e.vantage, at: 19)
        insertCheck.bind(e.method, at: 20)
        insertCheck.bind(e.bodySHA256, at: 21)
        insertCheck.bind(e.headersJSON, at: 22)
        insertCheck.bind(e.redirectChainJSON, at: 23)
        insertCheck.bind(e.matched, at: 24)
        insertCheck.bind(e.rule, at: 25)
        try insertCheck.step()
        stats.recorded += 1
        stats.recordedByReason[r.reason, default: 0] += 1
        if let t = outcome.transition {
          insertEvent.reset()
          insertEvent.bind(r.claim.id, at: 1)
          insertEvent.bind(r.checkedAt, at: 2)
          insertEvent.bind(t.from.rawValue, at: 3)
          insertEvent.bind(t.to.rawValue, at: 4)
          insertEvent.bind(st.reason?.rawValue, at: 5)
          try insertEvent.step()
          stats.transitions.append(
            Transition(urlID: r.claim.id, url: r.claim.url, at: r.checkedAt, from: t.from, to: t.to, reason: st.reason?.rawValue))
          if t.to == .takenDown { stats.newlyTakenDown += 1 }
          if t.to == .reappeared { stats.newlyReappeared += 1 }
        }
      }
      try tallies?.flush()
    }
    return stats
  }

  public func release(_ claims: [ClaimedURL], holder: String, now: Int64) throws {
    guard !claims.isEmpty else { return }
    try db.transaction {
      let s = try db.statement(
        """
        UPDATE urls SET lease_holder = NULL, lease_until = NULL, next_check_at = ?4
        WHERE id = ?1 AND attempt = ?2 AND lease_holder = ?3
        """)
      for c in claims {
        s.reset()
        s.bind(c.id, at: 1)
        s.bind(c.attempt, at: 2)
        s.bind(holder, at: 3)
        s.bind(now, at: 4)
        try s.step()
      }
    }
  }

  /// Gives claimed URLs back unchecked, each due again at its own time (a host that asked us to wait,
  /// or one too slow or rate-limited to take them soon). Not a check: nothing is recorded.
  public func deferClaims(_ items: [(ClaimedURL, Int64)], holder: String) throws {
    guard !items.isEmpty else { return }
    try db.transaction {
      let s = try db.statement(
        """
        UPDATE urls SET lease_holder = NULL, lease_until = NULL, next_check_at = ?4
        WHERE id = ?1 AND attempt = ?2 AND lease_holder = ?3
        """)
      for (c, at) in items {
        s.reset()
        s.bind(c.id, at: 1)
        s.bind(c.attempt, at: 2)
        s.bind(holder, at: 3)
        s.bind(at, at: 4)
        try s.step()
      }
    }
  }

  public func releaseAll(holder: String, now: Int64) throws -> Int {
    try db.transaction {
      try db.statement(
        """
        UPDATE urls SET lease_holder = NULL, lease_until = NULL, next_check_at = min(next_check_at, ?2)
        WHERE lease_holder = ?1
        """
      ).run([.text(holder), .int(now)])
      return db.changes
    }
  }

  public func nextDueAt() throws -> Int64? {
    try db.scalar("SELECT min(next_check_at) FROM urls WHERE next_check_at IS NOT NULL")
  }

  public func countDue(now: Int64) throws -> Int {
    Int(try db.scalar("SELECT count(*) FROM urls WHERE next_check_at <= ?", [.int(now)]) ?? 0)
  }

  /// Leases currently held (by anyone) that have not expired.
  public func countLeased() throws -> Int {
    Int(try db.scalar("SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL") ?? 0)
  }

  /// Withdraws a URL: it is never checked again. Returns false when there is no such URL.
  public func cancel(id: Int64, now: Int64) throws -> Bool {
    try db.withTriggers(true) { try cancelURL(id: id, now: now) }
  }

  private func cancelURL(id: Int64, now: Int64) throws -> Bool {
    try db.transaction {
      guard let old = try db.statement("SELECT status FROM urls WHERE id = ?").firstText([.int(id)]) else {
        return false
      }
      if old == URLStatus.cancelled.rawValue { return true }
      try db.statement(
        """
        UPDATE urls SET status = 'cancelled', reason = 'cancelled', next_check_at = NULL,
          lease_holder = NULL, lease_until = NULL WHERE id = ?1
        """
      ).run([.int(id)])
      try db.statement("INSERT INTO events(url_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)")
        .run([.int(id), .int(now), .text(old), .text("cancelled"), .text("cancelled")])
      return true
    }
  }

  public typealias ReactivateOutcome = TakedownCore.ReactivateOutcome

  /// Undoes `cancel`: the URL becomes pending and due now, its streaks start afresh (the history stays),
  /// and the transition is an event like any other.
  public func reactivate(id: Int64, now: Int64) throws -> ReactivateOutcome {
    try db.withTriggers(true) {
      try db.transaction {
        guard let old = try db.statement("SELECT status FROM urls WHERE id = ?").firstText([.int(id)]) else {
          return .notFound
        }
        guard old == URLStatus.cancelled.rawValue else { return .notCancelled(URLStatus(rawValue: old) ?? .pending) }
        try db.statement(
          """
          UPDATE urls SET status = 'pending', reason = NULL, next_check_at = ?2, removal_streak = 0,
            failure_streak = 0, unreachable_since = NULL, given_up_at = NULL WHERE id = ?1
          """
        ).run([.int(id), .int(now)])
        try db.statement("INSERT INTO events(url_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)")
          .run([.int(id), .int(now), .text(old), .text("pending"), .text("reactivated")])
        return .reactivated
      }
    }
  }

  /// Stores one summary row.
  public func recordSummary(_ s: StoredSummary) throws {
    try db.statement(
      """
      INSERT INTO summaries(at, interval_ms, holder, checks, checks_per_second, pending, online, taken_down,
        unreachable, reappeared, cancelled, newly_taken_down, newly_reappeared, due)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
      """
    ).run([
      .int(s.at), .int(s.intervalMs), .text(s.holder), .int(Int64(s.checks)), .double(s.checksPerSecond),
      .int(Int64(s.byStatus[.pending] ?? 0)), .int(Int64(s.byStatus[.online] ?? 0)),
      .int(Int64(s.byStatus[.takenDown] ?? 0)), .int(Int64(s.byStatus[.unreachable] ?? 0)),
      .int(Int64(s.byStatus[.reappeared] ?? 0)), .int(Int64(s.byStatus[.cancelled] ?? 0)),
      .int(Int64(s.newlyTakenDown)), .int(Int64(s.newlyReappeared)), .int(Int64(s.due)),
    ])
  }

  /// Flushes the WAL into the main file (on shutdown, so the file alone is a complete copy).
  public func checkpoint() throws {
    try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
  }

  public func closeForShutdown() throws { try checkpoint() }

  public func readConsistently<T>(_ body: () throws -> T) throws -> T {
    try db.transaction(immediate: false, body)
  }

  public func transitions(urlID: Int64, url: String) throws -> [Transition] {
    let s = try db.statement(
      "SELECT at, from_status, to_status, reason FROM events WHERE url_id = ? ORDER BY at, id")
    defer { s.reset() }
    try s.bind([.int(urlID)])
    var out: [Transition] = []
    while try s.step() {
      out.append(
        Transition(
          urlID: urlID, url: url, at: s.int64(0), from: URLStatus(rawValue: s.text(1)) ?? .pending,
          to: URLStatus(rawValue: s.text(2)) ?? .pending, reason: s.optionalText(3)))
    }
    return out
  }
}

/// Errors of the store that are not SQLite's own.
public enum StoreError: Error, CustomStringConvertible, Sendable {
  case noDatabase(String)
  /// A file of 0 bytes where a reading command expected a database.
  case emptyFile(String)
  /// Not a SQLite database, or one that is not takedown's: the path and what is wrong.
  case notADatabase(String, String)
  /// Written by a newer takedown: the path and the migrations this binary does not know.
  case newerSchema(String, [String])

  public var description: String {
    switch self {
    case .noDatabase(let p): return "no database at \(p) (enqueue URLs with takedownctl enqueue first, or pass --db)"
    case .emptyFile(let p):
      return "no database at \(p): the file is empty (0 bytes); reading commands never create one (enqueue or import does)"
    case .notADatabase(let p, let why): return "not a takedown database: \(p): \(why)"
    case .newerSchema(let p, let names):
      return "\(p) was created by a newer takedown: schema \(names.joined(separator: ", ")) unknown, upgrade the binaries"
    }
  }

  /// The sysexits code both takedownctl and takedownd exit with: 66 when there is no database to read,
  /// 78 when the file is unusable as it is (not takedown's, or newer). 78, not 65, because takedownctl's
  /// 65 means "some input rejected, the rest done", and because an operator must fix the configuration
  /// (point it at the right file) or upgrade, while restarting cannot help: the unit's
  /// RestartPreventExitStatus= already lists 78.
  public var exitCode: SysExit {
    switch self {
    case .noDatabase, .emptyFile: return .noInput
    case .notADatabase, .newerSchema: return .config
    }
  }
}

extension SQLiteStatement {
  /// The first column of the first row, as text.
  public func firstText(_ args: [SQLiteValue]) throws -> String? {
    reset()
    defer { reset() }
    try bind(args)
    guard try step() else { return nil }
    return optionalText(0)
  }
}
