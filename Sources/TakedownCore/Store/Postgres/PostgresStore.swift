#if canImport(Glibc)
  import Glibc
#endif

/// The PostgreSQL implementation of the store: one queue shared by daemons on several machines.
///
/// The queue side (this file) keeps SQLiteStore's semantics exactly (the conformance suite runs both)
/// and adds what several writers need:
/// - claims take due rows with `FOR UPDATE SKIP LOCKED` in one statement: two nodes never get the same
///   URL and never wait for each other;
/// - a result counts only under its own lease (`id`, `attempt`, `lease_holder` in the UPDATE's WHERE;
///   `UNIQUE (url_id, attempt)` on checks), so a node paused past its lease records nothing over the
///   node that took its URLs;
/// - every transaction that writes events takes one advisory lock just before it inserts them, so event
///   ids are handed out in commit order and a reader following `id > cursor` never skips one;
/// - a batch of results is one statement (arrays, `unnest`), not one per row;
/// - a lost connection is replaced on the next call (PostgresConnection), serialization failures and
///   deadlocks are retried.
public final class PostgresStore: TakedownStore {
  public let connection: PostgresConnection
  public var location: String { PostgresConnection.redacted(connection.conninfo) }
  let options: StoreOpener.Options
  /// The session in which the temporary enqueue_stage table exists (0: none yet).
  private var stageSession = 0

  public init(conninfo: String, options: StoreOpener.Options) throws {
    self.options = options
    connection = try PostgresConnection(conninfo, password: options.password)
    if !options.readOnly {
      try PostgresSchema.migrate(connection, now: Timestamp.nowMs())
    } else if try PostgresSchema.isBehind(connection) {
      // A reading command on a queue that an older takedown made: brought up to date first, as SQLite's
      // readers do, when this role may change the schema. A role that may only read goes on with the
      // schema as it is (what it reads was there before the newer migrations).
      do {
        try PostgresSchema.migrate(connection, now: Timestamp.nowMs())
      } catch let e as PostgresError where e.sqlState == "42501" || e.sqlState == "25006" {
      }
    }
  }

  struct Unfinished: Error, CustomStringConvertible {
    var what: String
    var description: String { "PostgreSQL backend: \(what) is not implemented yet" }
  }
  func unfinished(_ what: String = #function) -> Unfinished { Unfinished(what: what) }

  /// The advisory lock every event-writing transaction takes just before inserting events ('td' 'ev').
  static let eventsLockKey: Int64 = 0x7464_6576

  /// Runs `body` in a transaction; again (up to 5 times, after a short random pause) when PostgreSQL
  /// rolled it back as a serialization failure or a deadlock victim, which is always safe to repeat.
  func writeTransaction<T>(_ body: () throws -> T) throws -> T {
    var tries = 0
    while true {
      do {
        return try connection.transaction(body)
      } catch let e as PostgresError where e.isRetryableTransaction && tries < 5 {
        tries += 1
        usleep(UInt32.random(in: 1000...(5000 << tries)))
      }
    }
  }

  /// Takes the events lock (see the type's comment). Call it after the transaction's other writes, just
  /// before its INSERT INTO events: it is held until commit, so the shorter the rest, the better.
  func lockEvents() throws {
    try connection.execute("SELECT pg_advisory_xact_lock($1)", [.int(Self.eventsLockKey)])
  }

  // MARK: Enqueue

  public func prepareForBulkWrites() throws {
    // The batch's sorts (by URL, to insert in order and to drop repeats) stay in memory.
    try connection.execute("SET work_mem = '256MB'")
    // Before the session's first use of a temporary table, or it cannot change.
    if stageSession != connection.session { try connection.execute("SET temp_buffers = '256MB'") }
  }

  /// Adds URLs and their reports in one transaction: COPY into a temporary staging table, then set
  /// statements (the new URLs in URL order, the reports, the URL's first report time and deadline).
  ///
  /// Same result as SQLiteStore.enqueue, i.e. as inserting the items one by one in order: a URL's first
  /// item creates it; of several items with one (URL, campaign, notice), the first one's report is kept;
  /// first_reported_at and deadline_at are the earliest of the URL's stored reports.
  public func enqueue(_ items: [EnqueueItem], now: Int64) throws -> EnqueueCounts {
    guard !items.isEmpty else { return EnqueueCounts() }
    if stageSession != connection.session {
      // ON COMMIT DELETE ROWS: each batch finds it empty, also after a failed one (rolled back).
      try connection.execute(
        """
        CREATE TEMP TABLE IF NOT EXISTS enqueue_stage (
          seq bigint NOT NULL, url text NOT NULL, host text NOT NULL, reported_at bigint NOT NULL,
          campaign text, notice text, rightholder text, work text, deadline bigint) ON COMMIT DELETE ROWS
        """)
      stageSession = connection.session
    }
    return try writeTransaction {
      var counts = EnqueueCounts()
      _ = try connection.copyIn(
        "COPY enqueue_stage (seq, url, host, reported_at, campaign, notice, rightholder, work, deadline) FROM STDIN",
        rows: items.enumerated().lazy.map { seq, item -> [PostgresValue] in
          let r = item.report
          return [
            .int(Int64(seq)), .text(item.url.url), .text(item.url.host), .int(r.reportedAt ?? now),
            .optional(r.campaign), .optional(r.notice), .optional(r.rightholder), .optional(r.work),
            .optional(r.deadline),
          ]
        })
      // One statement for what a batch of new URLs needs: the URLs in URL order, each with the first
      // report time and deadline of the reports that will be stored for it (the first item of each
      // (URL, campaign, notice) in the batch), and those reports, in item order. A URL that is already
      // queued (or created meanwhile by another enqueue) conflicts and is left to the next statement.
      let created = try connection.execute(
        """
        WITH first_reports AS MATERIALIZED (
          SELECT DISTINCT ON (url, coalesce(campaign, ''), coalesce(notice, ''))
            seq, url, host, reported_at, campaign, notice, rightholder, work, deadline
          FROM enqueue_stage ORDER BY url, coalesce(campaign, ''), coalesce(notice, ''), seq
        ), new_urls AS (
          INSERT INTO urls (url, host, created_at, next_check_at, first_reported_at, deadline_at)
          SELECT url, min(host), $1, $1, min(reported_at), min(deadline) FROM first_reports GROUP BY url ORDER BY url
          ON CONFLICT (url) DO NOTHING
          RETURNING id, url
        ), new_reports AS (
          INSERT INTO reports (url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at)
          SELECT n.id, f.reported_at, f.campaign, f.notice, f.rightholder, f.work, f.deadline, $1
          FROM first_reports f JOIN new_urls n USING (url) ORDER BY f.seq
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM new_urls), (SELECT count(*) FROM new_reports)
        """, [.int(now)])
      counts.new = Int(created.int64(0, 0) ?? 0)
      counts.reportsAdded = Int(created.int64(0, 1) ?? 0)
      counts.alreadyQueued = items.count - counts.new
      if counts.alreadyQueued > 0 {
        // Temporary tables are never analyzed by autovacuum: without this the planner guesses the
        // staged rows' number when it joins them with urls (below and for the cancelled URLs).
        if items.count > 1000 { try connection.execute("ANALYZE enqueue_stage") }
        // Items for URLs queued before, and repeats within the batch: in item order, so that of two items
        // with one key the first is stored (a later one, or one whose report is already there, conflicts
        // and is skipped). A queued URL's first report time and deadline move up for an earlier report.
        counts.reportsAdded += Int(
          try connection.execute(
            """
            WITH added AS (
              INSERT INTO reports (url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at)
              SELECT u.id, s.reported_at, s.campaign, s.notice, s.rightholder, s.work, s.deadline, $1
              FROM enqueue_stage s JOIN urls u ON u.url = s.url
              ORDER BY s.seq
              ON CONFLICT DO NOTHING
              RETURNING url_id, reported_at, deadline
            ), earliest AS (
              SELECT url_id, min(reported_at) AS reported_at, min(deadline) AS deadline, count(*) AS n
              FROM added GROUP BY url_id
            ), moved AS (
              UPDATE urls u SET first_reported_at = least(u.first_reported_at, e.reported_at),
                deadline_at = least(u.deadline_at, e.deadline)
              FROM earliest e
              WHERE u.id = e.url_id AND (u.first_reported_at IS NULL OR e.reported_at < u.first_reported_at
                OR e.deadline < u.deadline_at OR (u.deadline_at IS NULL AND e.deadline IS NOT NULL))
            )
            SELECT coalesce(sum(n), 0) FROM earliest
            """, [.int(now)]
          ).int64(0, 0) ?? 0)
      }
      if counts.alreadyQueued > 0 {
        // A cancelled URL reported again stays cancelled, but the person enqueuing must hear that
        // nothing will check it.
        let cancelled = try connection.execute(
          """
          SELECT url, count(*) OVER () FROM (
            SELECT DISTINCT u.url FROM enqueue_stage s JOIN urls u ON u.url = s.url WHERE u.status = 'cancelled'
          ) AS c ORDER BY url LIMIT $1
          """, [.int(Int64(EnqueueCounts.cancelledSampleLimit))])
        if cancelled.rowCount > 0 {
          counts.cancelled = Int(cancelled.int64(0, 1) ?? 0)
          counts.cancelledSample = (0..<cancelled.rowCount).compactMap { cancelled.text($0, 0) }
        }
      }
      return counts
    }
  }

  // MARK: Claim / complete / release

  public func claim(holder: String, limit: Int, now: Int64, leaseMs: Int64) throws -> [ClaimedURL] {
    let until = now + leaseMs
    // One statement: the due rows nobody else is claiming right now (SKIP LOCKED: no waiting, no two
    // nodes with one URL), leased until `until`. Setting next_check_at to the lease's end makes an
    // expired lease (a crash) due again by itself. A row another node claimed since this statement's
    // snapshot is re-read under the lock and no longer due, so it is skipped, never taken twice.
    // URLs of a host another daemon holds (SharedHosts) or that asked everyone to wait are left for
    // later: the holder takes them. (A host taken between this snapshot and SharedHosts.admit is
    // handed back there.) The anti-join is one primary-key probe per due row it passes.
    let r = try connection.execute(
      """
      WITH due AS MATERIALIZED (
        SELECT id FROM urls WHERE next_check_at <= $3
          AND NOT EXISTS (
            SELECT 1 FROM host_leases h WHERE h.host = urls.host
              AND ((h.lease_until > $3 AND h.holder IS DISTINCT FROM $1) OR h.paused_until > $3))
        ORDER BY next_check_at LIMIT $4 FOR UPDATE SKIP LOCKED
      )
      UPDATE urls u SET lease_holder = $1, lease_until = $2, next_check_at = $2, attempt = u.attempt + 1
      FROM due WHERE u.id = due.id
      RETURNING u.id, u.url, u.host, u.attempt, u.status, u.reason, u.removal_streak, u.failure_streak,
        u.first_online_at, u.taken_down_at, u.first_taken_down_at, u.unreachable_since, u.given_up_at
      """, [.text(holder), .int(until), .int(now), .int(Int64(limit))])
    return (0..<r.rowCount).map { i in
      let state = ScheduleState(
        status: r.text(i, 4).flatMap(URLStatus.init(rawValue:)) ?? .pending,
        reason: r.text(i, 5).flatMap(Reason.init(rawValue:)),
        removalStreak: Int(r.int64(i, 6) ?? 0), failureStreak: Int(r.int64(i, 7) ?? 0),
        firstOnlineAt: r.int64(i, 8), takenDownAt: r.int64(i, 9), firstTakenDownAt: r.int64(i, 10),
        unreachableSince: r.int64(i, 11), givenUpAt: r.int64(i, 12))
      return ClaimedURL(
        id: r.int64(i, 0) ?? 0, url: r.text(i, 1) ?? "", host: r.text(i, 2) ?? "", attempt: r.int64(i, 3) ?? 0,
        state: state)
    }
  }

  public func complete(
    _ results: [ProbeResult], holder: String, config: ScheduleConfig, jitter: () -> Double
  ) throws -> CompletionStats {
    guard !results.isEmpty else { return CompletionStats() }
    // The schedule is applied here, in the order of the results, exactly as SQLiteStore does (one jitter
    // draw per result, stale or not); the database only checks the lease and stores the outcome.
    var outcomes: [ScheduleOutcome] = []
    outcomes.reserveCapacity(results.count)
    for r in results {
      outcomes.append(
        SchedulePolicy.apply(
          r.claim.state, observation: r.observation, reason: r.reason, now: r.checkedAt, config: config,
          jitter: jitter(), notBefore: r.retryAfterAt))
    }
    // A result given twice in one batch counts once (the second finds the lease gone, as in SQLite).
    var seen = Set<Attempt>()
    var rows: [Int] = []
    for (i, r) in results.enumerated() where seen.insert(Attempt(r.claim)).inserted { rows.append(i) }

    var a = CompleteArrays(capacity: rows.count)
    for i in rows {
      let r = results[i]
      let o = outcomes[i]
      let st = o.state
      let e = r.evidence
      a.id.append(r.claim.id)
      a.attempt.append(r.claim.attempt)
      a.status.append(st.status.rawValue)
      a.reason.append(st.reason?.rawValue)
      a.httpStatus.append(r.httpStatus.map(Int64.init))
      a.checkedAt.append(r.checkedAt)
      a.nextCheckAt.append(o.nextCheckAt)
      a.firstOnlineAt.append(st.firstOnlineAt)
      a.takenDownAt.append(st.takenDownAt)
      a.firstTakenDownAt.append(st.firstTakenDownAt)
      a.removalStreak.append(Int64(st.removalStreak))
      a.failureStreak.append(Int64(st.failureStreak))
      a.unreachableSince.append(st.unreachableSince)
      a.givenUpAt.append(st.givenUpAt)
      // urls.reason and urls.http_status are those of the check that decided the status.
      a.decided.append(o.decided)
      a.observed.append(r.observation.rawValue)
      a.checkReason.append(r.reason.rawValue)
      a.curlCode.append(Int64(r.curlCode))
      a.finalURL.append(r.finalURL)
      a.redirects.append(Int64(r.redirects))
      a.remoteIP.append(r.remoteIP)
      a.dnsUs.append(r.timings.dnsUs)
      a.connectUs.append(r.timings.connectUs)
      a.tlsUs.append(r.timings.tlsUs)
      a.firstByteUs.append(r.timings.firstByteUs)
      a.totalUs.append(r.timings.totalUs)
      a.bytes.append(r.bytes)
      a.vantage.append(e.vantage)
      a.method.append(e.method)
      a.bodySHA256.append(e.bodySHA256)
      a.headers.append(e.headersJSON)
      a.redirectChain.append(e.redirectChainJSON)
      a.matched.append(e.matched)
      a.rule.append(e.rule)
    }
    let params: [PostgresValue] = [.text(holder)] + a.parameters

    return try writeTransaction {
      // One statement for the whole batch: the UPDATE takes only the rows still under this result's own
      // lease (id, attempt, holder), and only those get their check row.
      let recorded = try connection.execute(
        """
        WITH input AS MATERIALIZED (
          SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::bigint[],
            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::integer[], $13::integer[], $14::bigint[],
            $15::bigint[], $16::boolean[], $17::text[], $18::text[], $19::integer[], $20::text[], $21::integer[],
            $22::text[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[], $27::bigint[], $28::bigint[],
            $29::text[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[], $35::text[])
          AS t(id, attempt, status, reason, http_status, checked_at, next_check_at, first_online_at, taken_down_at,
            first_taken_down_at, removal_streak, failure_streak, unreachable_since, given_up_at, decided, observed,
            check_reason, curl_code, final_url, redirects, remote_ip, dns_us, connect_us, tls_us, first_byte_us,
            total_us, bytes, vantage, method, body_sha256, headers, redirect_chain, matched, rule)
        ), updated AS (
          UPDATE urls u SET status = i.status, reason = i.reason,
            http_status = CASE WHEN i.decided THEN i.http_status ELSE u.http_status END,
            last_checked_at = i.checked_at, next_check_at = i.next_check_at, first_online_at = i.first_online_at,
            taken_down_at = i.taken_down_at, first_taken_down_at = i.first_taken_down_at, checks = u.checks + 1,
            removal_streak = i.removal_streak, failure_streak = i.failure_streak,
            unreachable_since = i.unreachable_since, given_up_at = i.given_up_at,
            lease_holder = NULL, lease_until = NULL
          FROM input i
          WHERE u.id = i.id AND u.attempt = i.attempt AND u.lease_holder = $1
          RETURNING u.id, u.attempt
        )
        INSERT INTO checks (url_id, attempt, checked_at, observed, status, reason, http_status, curl_code,
          final_url, redirects, remote_ip, dns_us, connect_us, tls_us, first_byte_us, total_us, bytes, holder,
          vantage, method, body_sha256, headers, redirect_chain, matched, rule)
        SELECT i.id, i.attempt, i.checked_at, i.observed, i.status, i.check_reason, i.http_status, i.curl_code,
          i.final_url, i.redirects, i.remote_ip, i.dns_us, i.connect_us, i.tls_us, i.first_byte_us, i.total_us,
          i.bytes, $1, i.vantage, i.method, i.body_sha256, i.headers, i.redirect_chain, i.matched, i.rule
        FROM input i JOIN updated USING (id, attempt)
        RETURNING url_id, attempt
        """, params)
      var inserted = Set<Attempt>()
      for row in 0..<recorded.rowCount {
        inserted.insert(Attempt(id: recorded.int64(row, 0) ?? 0, attempt: recorded.int64(row, 1) ?? 0))
      }

      var stats = CompletionStats()
      var ev = (urlID: [Int64?](), at: [Int64?](), from: [String?](), to: [String?](), reason: [String?]())
      var counted = Set<Attempt>()
      for (i, r) in results.enumerated() {
        // The first result of an attempt in the batch is the one that went in; any repeat is stale.
        guard inserted.contains(Attempt(r.claim)), counted.insert(Attempt(r.claim)).inserted else {
          stats.stale += 1
          continue
        }
        let o = outcomes[i]
        stats.recorded += 1
        stats.recordedByReason[r.reason, default: 0] += 1
        if let t = o.transition {
          ev.urlID.append(r.claim.id)
          ev.at.append(r.checkedAt)
          ev.from.append(t.from.rawValue)
          ev.to.append(t.to.rawValue)
          ev.reason.append(o.state.reason?.rawValue)
          stats.transitions.append(
            Transition(
              urlID: r.claim.id, url: r.claim.url, at: r.checkedAt, from: t.from, to: t.to,
              reason: o.state.reason?.rawValue))
          if t.to == .takenDown { stats.newlyTakenDown += 1 }
          if t.to == .reappeared { stats.newlyReappeared += 1 }
        }
      }
      if !ev.urlID.isEmpty {
        try lockEvents()
        try connection.execute(
          """
          INSERT INTO events (url_id, at, from_status, to_status, reason)
          SELECT url_id, at, from_status, to_status, reason
          FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
            AS t(url_id, at, from_status, to_status, reason, n)
          ORDER BY n
          """,
          [
            PostgresArray.ints(ev.urlID), PostgresArray.ints(ev.at), PostgresArray.texts(ev.from),
            PostgresArray.texts(ev.to), PostgresArray.texts(ev.reason),
          ])
      }
      return stats
    }
  }

  public func release(_ claims: [ClaimedURL], holder: String, now: Int64) throws {
    try deferClaims(claims.map { ($0, now) }, holder: holder)
  }

  /// Gives claimed URLs back unchecked, each due again at its own time. Only leases still held count.
  public func deferClaims(_ items: [(ClaimedURL, Int64)], holder: String) throws {
    guard !items.isEmpty else { return }
    try connection.execute(
      """
      UPDATE urls u SET lease_holder = NULL, lease_until = NULL, next_check_at = t.at
      FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS t(id, attempt, at)
      WHERE u.id = t.id AND u.attempt = t.attempt AND u.lease_holder = $1
      """,
      [
        .text(holder), PostgresArray.ints(items.map { $0.0.id }), PostgresArray.ints(items.map { $0.0.attempt }),
        PostgresArray.ints(items.map { $0.1 }),
      ])
  }

  public func releaseAll(holder: String, now: Int64) throws -> Int {
    try connection.execute(
      """
      UPDATE urls SET lease_holder = NULL, lease_until = NULL, next_check_at = least(next_check_at, $2)
      WHERE lease_holder = $1
      """, [.text(holder), .int(now)]
    ).affectedRows
  }

  public func nextDueAt() throws -> Int64? {
    try connection.execute("SELECT min(next_check_at) FROM urls WHERE next_check_at IS NOT NULL").int64(0, 0)
  }

  public func countDue(now: Int64) throws -> Int {
    Int(try connection.execute("SELECT count(*) FROM urls WHERE next_check_at <= $1", [.int(now)]).int64(0, 0) ?? 0)
  }

  public func countLeased() throws -> Int {
    Int(try connection.execute("SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL").int64(0, 0) ?? 0)
  }

  public func cancel(id: Int64, now: Int64) throws -> Bool {
    try writeTransaction {
      let old = try connection.execute("SELECT status FROM urls WHERE id = $1 FOR UPDATE", [.int(id)])
      guard old.rowCount == 1, let status = old.text(0, 0) else { return false }
      if status == URLStatus.cancelled.rawValue { return true }
      try connection.execute(
        """
        UPDATE urls SET status = 'cancelled', reason = 'cancelled', next_check_at = NULL,
          lease_holder = NULL, lease_until = NULL WHERE id = $1
        """, [.int(id)])
      try insertEvent(urlID: id, at: now, from: status, to: URLStatus.cancelled.rawValue, reason: "cancelled")
      return true
    }
  }

  public func reactivate(id: Int64, now: Int64) throws -> ReactivateOutcome {
    try writeTransaction {
      let old = try connection.execute("SELECT status FROM urls WHERE id = $1 FOR UPDATE", [.int(id)])
      guard old.rowCount == 1, let status = old.text(0, 0) else { return .notFound }
      guard status == URLStatus.cancelled.rawValue else {
        return .notCancelled(URLStatus(rawValue: status) ?? .pending)
      }
      try connection.execute(
        """
        UPDATE urls SET status = 'pending', reason = NULL, next_check_at = $2, removal_streak = 0,
          failure_streak = 0, unreachable_since = NULL, given_up_at = NULL WHERE id = $1
        """, [.int(id), .int(now)])
      try insertEvent(urlID: id, at: now, from: status, to: URLStatus.pending.rawValue, reason: "reactivated")
      return .reactivated
    }
  }

  /// One event, inside the caller's transaction, under the events lock.
  private func insertEvent(urlID: Int64, at: Int64, from: String, to: String, reason: String?) throws {
    try lockEvents()
    try connection.execute(
      "INSERT INTO events (url_id, at, from_status, to_status, reason) VALUES ($1, $2, $3, $4, $5)",
      [.int(urlID), .int(at), .text(from), .text(to), .optional(reason)])
  }

  public func recordSummary(_ s: StoredSummary) throws {
    try connection.execute(
      """
      INSERT INTO summaries (at, interval_ms, holder, checks, checks_per_second, pending, online, taken_down,
        unreachable, reappeared, cancelled, newly_taken_down, newly_reappeared, due)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
      """,
      [
        .int(s.at), .int(s.intervalMs), .text(s.holder), .int(Int64(s.checks)), .text(String(s.checksPerSecond)),
        .int(Int64(s.byStatus[.pending] ?? 0)), .int(Int64(s.byStatus[.online] ?? 0)),
        .int(Int64(s.byStatus[.takenDown] ?? 0)), .int(Int64(s.byStatus[.unreachable] ?? 0)),
        .int(Int64(s.byStatus[.reappeared] ?? 0)), .int(Int64(s.byStatus[.cancelled] ?? 0)),
        .int(Int64(s.newlyTakenDown)), .int(Int64(s.newlyReappeared)), .int(Int64(s.due)),
      ])
  }

  /// Nothing to flush: every commit is already in the server's WAL.
  public func closeForShutdown() throws {}

  // MARK: Events

  /// Transitions with id > `afterID` and at >= `since`, oldest first. Ids are given out in commit order
  /// (the events lock), so nothing committed later can appear below an id already returned.
  public func events(afterID: Int64, since: Int64?, limit: Int) throws -> [EventRecord] {
    let r = try connection.execute(
      """
      SELECT e.id, e.url_id, u.url, e.at, e.from_status, e.to_status, e.reason
      FROM events e JOIN urls u ON u.id = e.url_id
      WHERE e.id > $1 AND e.at >= $2 ORDER BY e.id LIMIT $3
      """, [.int(afterID), .int(since ?? Int64.min), .int(Int64(limit))])
    return (0..<r.rowCount).map { i in
      EventRecord(
        id: r.int64(i, 0) ?? 0,
        transition: Transition(
          urlID: r.int64(i, 1) ?? 0, url: r.text(i, 2) ?? "", at: r.int64(i, 3) ?? 0,
          from: r.text(i, 4).flatMap(URLStatus.init(rawValue:)) ?? .pending,
          to: r.text(i, 5).flatMap(URLStatus.init(rawValue:)) ?? .pending, reason: r.text(i, 6)))
    }
  }

  public func lastEventID() throws -> Int64 {
    try connection.execute("SELECT coalesce(max(id), 0) FROM events").int64(0, 0) ?? 0
  }

  public func eventIDBeforeLast(_ n: Int) throws -> Int64 {
    let r = try connection.execute("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $1", [.int(Int64(n))])
    return r.rowCount == 0 ? 0 : r.int64(0, 0) ?? 0
  }

  static func statusLogKey(_ node: String) -> String { "status_log.event_id:" + node }

  public func statusLogCursor(node: String) throws -> Int64? {
    let r = try connection.execute("SELECT value FROM daemon_state WHERE key = $1", [.text(Self.statusLogKey(node))])
    return r.rowCount == 0 ? nil : r.int64(0, 0)
  }

  public func setStatusLogCursor(_ eventID: Int64, node: String) throws {
    try connection.execute(
      """
      INSERT INTO daemon_state (key, value) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value
      """, [.text(Self.statusLogKey(node)), .int(eventID)])
  }

  // MARK: Nodes

  public func registerNode(_ node: NodeRegistration, now: Int64) throws -> NodeRegistrationOutcome {
    while true {
      let outcome: NodeRegistrationOutcome? = try writeTransaction {
        // FOR UPDATE: two daemons registering one name at once decide one after the other.
        let previous = try nodeRecords(name: node.name, forUpdate: true).first
        if let previous, !NodeLiveness.mayTakeOver(previous, as: node, now: now) {
          return .nameInUse(previous)
        }
        let stored = try connection.execute(
          """
          INSERT INTO nodes (name, vantage, version, host, process, instance, started_at, last_seen_at, stopped_at,
            checks_last_interval, interval_ms)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, 0, 0)
          ON CONFLICT (name) DO UPDATE SET vantage = excluded.vantage, version = excluded.version,
            host = excluded.host, process = excluded.process, instance = excluded.instance,
            started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, stopped_at = NULL,
            checks_last_interval = 0, interval_ms = 0
          WHERE $8
          """,
          [
            .text(node.name), .text(node.vantage), .text(node.version), .text(node.host), .text(node.process),
            .text(node.instance), .int(now), .bool(previous != nil),
          ]
        ).affectedRows
        // A row that appeared since our look (a new name registered by another daemon at the same
        // moment) was not locked by it: look again.
        return stored == 1 ? .registered(previous: previous) : nil
      }
      if let outcome { return outcome }
    }
  }

  public func heartbeat(_ node: NodeRegistration, now: Int64, checks: Int, intervalMs: Int64) throws -> Bool {
    try connection.execute(
      """
      UPDATE nodes SET last_seen_at = $3, checks_last_interval = $4, interval_ms = $5
      WHERE name = $1 AND instance = $2
      """, [.text(node.name), .text(node.instance), .int(now), .int(Int64(checks)), .int(intervalMs)]
    ).affectedRows == 1
  }

  public func unregisterNode(_ node: NodeRegistration, now: Int64) throws {
    try connection.execute(
      "UPDATE nodes SET stopped_at = $3, last_seen_at = $3 WHERE name = $1 AND instance = $2",
      [.text(node.name), .text(node.instance), .int(now)])
  }

  public func nodes() throws -> [NodeRecord] { try nodeRecords(name: nil, forUpdate: false) }

  private func nodeRecords(name: String?, forUpdate: Bool) throws -> [NodeRecord] {
    let r = try connection.execute(
      """
      SELECT name, vantage, version, host, process, instance, started_at, last_seen_at, stopped_at,
        checks_last_interval, interval_ms,
        (SELECT count(*) FROM urls WHERE lease_holder = nodes.name)
      FROM nodes WHERE $1::text IS NULL OR name = $1 ORDER BY name
      """ + (forUpdate ? " FOR UPDATE" : ""), [.optional(name)])
    return (0..<r.rowCount).map { i in
      NodeRecord(
        name: r.text(i, 0) ?? "", vantage: r.text(i, 1) ?? "", version: r.text(i, 2) ?? "", host: r.text(i, 3) ?? "",
        process: r.text(i, 4) ?? "", instance: r.text(i, 5) ?? "", startedAt: r.int64(i, 6) ?? 0,
        lastSeenAt: r.int64(i, 7) ?? 0, stoppedAt: r.int64(i, 8), checksLastInterval: Int(r.int64(i, 9) ?? 0),
        intervalMs: r.int64(i, 10) ?? 0, leasesHeld: Int(r.int64(i, 11) ?? 0))
    }
  }
}

/// One claim of one URL: what the lease fence compares.
private struct Attempt: Hashable {
  var id: Int64
  var attempt: Int64
  init(id: Int64, attempt: Int64) {
    self.id = id
    self.attempt = attempt
  }
  init(_ c: ClaimedURL) { self.init(id: c.id, attempt: c.attempt) }
}

/// The columns of a batch of results, one array per column (`complete`'s parameters).
private struct CompleteArrays {
  var id: [Int64?] = [], attempt: [Int64?] = [], status: [String?] = [], reason: [String?] = []
  var httpStatus: [Int64?] = [], checkedAt: [Int64?] = [], nextCheckAt: [Int64?] = []
  var firstOnlineAt: [Int64?] = [], takenDownAt: [Int64?] = [], firstTakenDownAt: [Int64?] = []
  var removalStreak: [Int64?] = [], failureStreak: [Int64?] = [], unreachableSince: [Int64?] = []
  var givenUpAt: [Int64?] = [], decided: [Bool] = [], observed: [String?] = [], checkReason: [String?] = []
  var curlCode: [Int64?] = [], finalURL: [String?] = [], redirects: [Int64?] = [], remoteIP: [String?] = []
  var dnsUs: [Int64?] = [], connectUs: [Int64?] = [], tlsUs: [Int64?] = [], firstByteUs: [Int64?] = []
  var totalUs: [Int64?] = [], bytes: [Int64?] = [], vantage: [String?] = [], method: [String?] = []
  var bodySHA256: [String?] = [], headers: [String?] = [], redirectChain: [String?] = [], matched: [String?] = []
  var rule: [String?] = []

  init(capacity: Int) { id.reserveCapacity(capacity) }

  /// $2 … $35, in the order the statement's unnest names them.
  var parameters: [PostgresValue] {
    typealias A = PostgresArray
    return [
      A.ints(id), A.ints(attempt), A.texts(status), A.texts(reason), A.ints(httpStatus), A.ints(checkedAt),
      A.ints(nextCheckAt), A.ints(firstOnlineAt), A.ints(takenDownAt), A.ints(firstTakenDownAt),
      A.ints(removalStreak), A.ints(failureStreak), A.ints(unreachableSince), A.ints(givenUpAt), A.bools(decided),
      A.texts(observed), A.texts(checkReason), A.ints(curlCode), A.texts(finalURL), A.ints(redirects),
      A.texts(remoteIP), A.ints(dnsUs), A.ints(connectUs), A.ints(tlsUs), A.ints(firstByteUs), A.ints(totalUs),
      A.ints(bytes), A.texts(vantage), A.texts(method), A.texts(bodySHA256), A.texts(headers),
      A.texts(redirectChain), A.texts(matched), A.texts(rule),
    ]
  }
}

/// Array parameters in PostgreSQL's text form (`{1,NULL,3}`, `{"a","b \"c\""}`): a whole batch goes in
/// one parameter per column and `unnest` turns it back into rows.
enum PostgresArray {
  static func ints(_ values: [Int64?]) -> PostgresValue {
    var s = "{"
    s.reserveCapacity(values.count * 8 + 2)
    for (i, v) in values.enumerated() {
      if i > 0 { s += "," }
      if let v { s += String(v) } else { s += "NULL" }
    }
    return .text(s + "}")
  }

  static func ints(_ values: [Int64]) -> PostgresValue { ints(values.map { Optional($0) }) }

  static func bools(_ values: [Bool]) -> PostgresValue {
    .text("{" + values.map { $0 ? "t" : "f" }.joined(separator: ",") + "}")
  }

  /// Every element quoted (so that "NULL", braces, commas and spaces are plain text), with `"` and `\`
  /// escaped by a backslash.
  static func texts(_ values: [String?]) -> PostgresValue {
    var s = "{"
    for (i, v) in values.enumerated() {
      if i > 0 { s += "," }
      guard let v else {
        s += "NULL"
        continue
      }
      s += "\""
      if v.utf8.contains(where: { $0 == 0x22 || $0 == 0x5C }) {
        for ch in v.unicodeScalars {
          if ch == "\"" || ch == "\\" { s += "\\" }
          s.unicodeScalars.append(ch)
        }
      } else {
        s += v
      }
      s += "\""
    }
    return .text(s + "}")
  }
}
