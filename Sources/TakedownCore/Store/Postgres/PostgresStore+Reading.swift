import CPostgres
import Dispatch
import Synchronization

/// The reading side of the PostgreSQL store: what takedownctl's reading commands and the reports need.
/// `SQLiteStore` is the specification: same rows, same order, same figures. Two rules keep the output
/// byte for byte the same whatever the database's collation: text is ordered by its bytes (`COLLATE "C"`
/// in SQL, or a byte-wise sort in Swift), and NULL sorts first where SQLite's does.
extension PostgresStore {
  // MARK: Import

  /// Stores extra fields on reports that have none yet; for a report named twice in one batch, the first
  /// wins (as when stored one by one). One statement per batch: the values travel as one JSON array.
  public func setReportExtras(_ extras: [ReportExtra]) throws {
    guard !extras.isEmpty else { return }
    let json = JSON.array(
      extras.map {
        .object([
          ("url", .string($0.url)), ("campaign", .string($0.campaign ?? "")), ("notice", .string($0.notice ?? "")),
          ("extra", .string($0.json)),
        ])
      }
    ).rendered()
    try connection.execute(
      """
      UPDATE reports r SET extra = x.extra
      FROM (
        SELECT DISTINCT ON (x.url, x.campaign, x.notice) x.url, x.campaign, x.notice, x.extra
        FROM ROWS FROM (json_to_recordset($1::json) AS (url text, campaign text, notice text, extra text))
          WITH ORDINALITY AS x (url, campaign, notice, extra, ord)
        ORDER BY x.url, x.campaign, x.notice, x.ord) AS x
      JOIN urls u ON u.url = x.url
      WHERE r.url_id = u.id AND coalesce(r.campaign, '') = x.campaign AND coalesce(r.notice, '') = x.notice
        AND r.extra IS NULL
      """, [.text(json)])
  }

  // MARK: URLs

  static let urlColumns = """
    u.id, u.url, u.host, u.status, u.reason, u.http_status, u.created_at, u.last_checked_at, u.next_check_at,
    u.first_online_at, u.taken_down_at, u.first_taken_down_at, u.checks, u.removal_streak, u.failure_streak,
    u.lease_holder, u.lease_until, u.unreachable_since, u.given_up_at,
    lc.checked_at, lc.observed, lc.reason, lc.http_status
    """

  /// `urls u` with its latest check as `lc` (the highest attempt: one probe of the (url_id, attempt) index).
  static let urlsWithLastCheck = """
    urls u LEFT JOIN LATERAL (
      SELECT c.checked_at, c.observed, c.reason, c.http_status FROM checks c WHERE c.url_id = u.id
      ORDER BY c.attempt DESC LIMIT 1) AS lc ON true
    """

  static func record(_ r: PostgresResult, _ i: Int) -> URLRecord {
    URLRecord(
      id: r.int64(i, 0)!, url: r.text(i, 1)!, host: r.text(i, 2)!,
      status: URLStatus(rawValue: r.text(i, 3)!) ?? .pending, reason: r.text(i, 4), httpStatus: r.int(i, 5),
      createdAt: r.int64(i, 6)!, lastCheckedAt: r.int64(i, 7), nextCheckAt: r.int64(i, 8),
      firstOnlineAt: r.int64(i, 9), takenDownAt: r.int64(i, 10), firstTakenDownAt: r.int64(i, 11),
      checks: r.int(i, 12)!, removalStreak: r.int(i, 13)!, failureStreak: r.int(i, 14)!, leaseHolder: r.text(i, 15),
      leaseUntil: r.int64(i, 16), unreachableSince: r.int64(i, 17), givenUpAt: r.int64(i, 18),
      lastCheck: r.isNull(i, 19)
        ? nil
        : .init(checkedAt: r.int64(i, 19)!, observed: r.text(i, 20)!, reason: r.text(i, 21)!, httpStatus: r.int(i, 22)))
  }

  /// A URL by id ("42") or by URL text (normalized first, so any spelling of it matches).
  public func lookup(_ idOrURL: String) throws -> URLRecord? {
    let r: PostgresResult
    if let id = Int64(idOrURL) {
      r = try connection.execute("SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck) WHERE u.id = $1", [.int(id)])
    } else {
      guard case .success(let n) = URLNormalizer.normalize(idOrURL) else { return nil }
      r = try connection.execute("SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck) WHERE u.url = $1", [.text(n.url)])
    }
    guard r.rowCount > 0 else { return nil }
    var rec = Self.record(r, 0)
    rec.reports = try reports(urlID: rec.id)
    return rec
  }

  static let reportColumns = "reported_at, campaign, notice, rightholder, work, deadline"

  static func report(_ r: PostgresResult, _ i: Int, from c: Int = 0) -> URLRecord.Report {
    URLRecord.Report(
      reportedAt: r.int64(i, c)!, campaign: r.text(i, c + 1), notice: r.text(i, c + 2), rightholder: r.text(i, c + 3),
      work: r.text(i, c + 4), deadline: r.int64(i, c + 5))
  }

  /// Every report of one URL, oldest first.
  public func reports(urlID: Int64) throws -> [URLRecord.Report] {
    let r = try connection.execute(
      "SELECT \(Self.reportColumns) FROM reports WHERE url_id = $1 ORDER BY reported_at, id", [.int(urlID)])
    return (0..<r.rowCount).map { Self.report(r, $0) }
  }

  /// Streams the URLs matching the filter, in id order. With `f.withReports`, the reports of each
  /// fetched batch come in one query (not one round trip per URL).
  public func list(_ f: ListFilter, _ body: (URLRecord) throws -> Void) throws {
    var q = PostgresQuery()
    var clauses: [String] = []
    if let st = f.status { clauses.append("u.status = \(q.bind(.text(st.rawValue)))") }
    if let h = f.host { clauses.append("u.host = \(q.bind(.text(ReportFilter.normalizeHost(h))))") }
    if let c = f.campaign {
      clauses.append("EXISTS (SELECT 1 FROM reports r WHERE r.url_id = u.id AND r.campaign = \(q.bind(.text(c))))")
    }
    var sql = "SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck)"
    if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
    sql += " ORDER BY u.id"
    if let l = f.limit { sql += " LIMIT \(l)" }
    try connection.forEachBatch(sql, q.params) { rows in
      var records = (0..<rows.rowCount).map { Self.record(rows, $0) }
      if f.withReports, !records.isEmpty {
        let r = try connection.execute(
          """
          SELECT url_id, \(Self.reportColumns) FROM reports WHERE url_id = ANY($1::bigint[])
          ORDER BY url_id, reported_at, id
          """, [.text("{" + records.map { String($0.id) }.joined(separator: ",") + "}")])
        // Both in id order: one merge.
        var k = 0
        for i in records.indices {
          while k < r.rowCount, r.int64(k, 0)! < records[i].id { k += 1 }
          while k < r.rowCount, r.int64(k, 0)! == records[i].id {
            records[i].reports.append(Self.report(r, k, from: 1))
            k += 1
          }
        }
      }
      for rec in records { try body(rec) }
    }
  }

  /// The whole check history of one URL, oldest first.
  public func history(urlID: Int64) throws -> [CheckRecord] {
    let r = try connection.execute(
      """
      SELECT attempt, checked_at, observed, status, reason, http_status, curl_code, final_url, redirects,
        remote_ip, dns_us, connect_us, tls_us, first_byte_us, total_us, bytes, holder,
        vantage, method, body_sha256, headers, redirect_chain, matched, rule
      FROM checks WHERE url_id = $1 ORDER BY checked_at, id
      """, [.int(urlID)])
    return (0..<r.rowCount).map { i in
      var t = CheckTimings()
      // SQLite reads a NULL integer as 0.
      t.dnsUs = r.int64(i, 10) ?? 0
      t.connectUs = r.int64(i, 11) ?? 0
      t.tlsUs = r.int64(i, 12) ?? 0
      t.firstByteUs = r.int64(i, 13) ?? 0
      t.totalUs = r.int64(i, 14) ?? 0
      return CheckRecord(
        attempt: r.int64(i, 0)!, checkedAt: r.int64(i, 1)!, observed: r.text(i, 2)!, status: r.text(i, 3)!,
        reason: r.text(i, 4)!, httpStatus: r.int(i, 5), curlCode: r.int(i, 6)!, finalURL: r.text(i, 7),
        redirects: r.int(i, 8)!, remoteIP: r.text(i, 9), timings: t, bytes: r.int64(i, 15)!, holder: r.text(i, 16)!,
        vantage: r.text(i, 17), method: r.text(i, 18), bodySHA256: r.text(i, 19), headersJSON: r.text(i, 20),
        redirectChainJSON: r.text(i, 21), matched: r.text(i, 22), rule: r.text(i, 23))
    }
  }

  /// A URL's status changes, oldest first.
  public func transitions(urlID: Int64, url: String) throws -> [Transition] {
    let r = try connection.execute(
      "SELECT at, from_status, to_status, reason FROM events WHERE url_id = $1 ORDER BY at, id", [.int(urlID)])
    return (0..<r.rowCount).map { i in
      Transition(
        urlID: urlID, url: url, at: r.int64(i, 0)!, from: URLStatus(rawValue: r.text(i, 1)!) ?? .pending,
        to: URLStatus(rawValue: r.text(i, 2)!) ?? .pending, reason: r.text(i, 3))
    }
  }

  // MARK: Counts

  /// Counts by status (every status present), from the hosts' tallies: a few rows instead of every URL
  /// (the daemon asks at every summary interval, and folds the tallies' delta rows then).
  public func countsByStatus() throws -> [URLStatus: Int] {
    try foldTallies()
    var out: [URLStatus: Int] = [:]
    for st in URLStatus.allCases { out[st] = 0 }
    let r = try connection.execute("SELECT status, sum(n) FROM tallies WHERE kind = 3 GROUP BY status")
    for i in 0..<r.rowCount {
      if let st = URLStatus(rawValue: r.text(i, 0)!) { out[st] = Int(r.int64(i, 1)!) }
    }
    return out
  }

  /// The most recent stored summary row.
  public func lastSummary() throws -> StoredSummary? {
    let r = try connection.execute(
      """
      SELECT at, interval_ms, holder, checks, checks_per_second, pending, online, taken_down, unreachable,
        reappeared, cancelled, newly_taken_down, newly_reappeared, due
      FROM summaries ORDER BY at DESC, id DESC LIMIT 1
      """)
    guard r.rowCount > 0 else { return nil }
    return StoredSummary(
      at: r.int64(0, 0)!, intervalMs: r.int64(0, 1)!, holder: r.text(0, 2)!, checks: r.int(0, 3)!,
      checksPerSecond: r.double(0, 4) ?? 0,
      byStatus: [
        .pending: r.int(0, 5)!, .online: r.int(0, 6)!, .takenDown: r.int(0, 7)!, .unreachable: r.int(0, 8)!,
        .reappeared: r.int(0, 9)!, .cancelled: r.int(0, 10)!,
      ], newlyTakenDown: r.int(0, 11)!, newlyReappeared: r.int(0, 12)!, due: r.int(0, 13)!)
  }

  public func countSummaries() throws -> Int { Int(try connection.scalar("SELECT count(*) FROM summaries") ?? 0) }

  /// URLs past their (earliest) deadline and neither taken down nor cancelled: a range of open_deadlines.
  public func overdueCount(now: Int64) throws -> Int {
    Int(try connection.scalar("SELECT count(*) FROM open_deadlines WHERE deadline_at < $1", [.int(now)]) ?? 0)
  }

  // MARK: Figures

  /// The SQL condition (on `urls u`) that selects the filter's URLs, its parameters bound into `q`.
  static func urlSelection(_ f: ReportFilter, _ q: inout PostgresQuery) -> String {
    var clauses: [String] = []
    if let h = f.host { clauses.append("u.host = \(q.bind(.text(ReportFilter.normalizeHost(h))))") }
    if let c = f.campaign { clauses.append("u.id IN (SELECT url_id FROM reports WHERE campaign = \(q.bind(.text(c))))") }
    return clauses.isEmpty ? "true" : clauses.joined(separator: " AND ")
  }

  /// Every figure of a summary or report, from the rows, in one snapshot: one pass over the selected
  /// URLs (the same computation as SQLite's, `URLPass`) while a second connection, sharing the
  /// snapshot (`pg_export_snapshot`), reads the campaigns' members, the reappearances and the hosts
  /// still online, as SQLite's `figures` does on a second connection: both passes are mostly the
  /// server's work, and the server has more than one core. Without a second connection (the server
  /// refuses one), everything runs on this one.
  public func figures(_ f: ReportFilter, now: Int64, topHosts: Int = 10) throws -> ReportFigures {
    try connection.inSnapshot {
      let side = SidePostgresFigures()
      let group = DispatchGroup()
      let (conninfo, password) = (connection.conninfo, options.password)
      let ready = DispatchSemaphore(value: 0)
      // A standby may not export its snapshot (and a savepoint cannot: it is not a transaction's).
      let exported =
        try connection.execute("SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_export_snapshot() END").text(0, 0)
      if let snapshot = exported {
        DispatchQueue.global().async(group: group) {
          do {
            let other = try PostgresConnection(conninfo, password: password)
            try other.transaction(isolation: "REPEATABLE READ, READ ONLY") {
              try other.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'")
              ready.signal()
              side.connected = true
              SidePostgresFigures.used.add(1, ordering: .relaxed)
              try side.read(other, f, topHosts: topHosts)
            }
          } catch {
            side.error = error
          }
          if !side.connected { ready.signal() }
        }
        // The exported snapshot lives as long as this transaction: the other side must have taken it
        // before anything here could end it early.
        ready.wait()
      }
      let pass = Result { try urlPass(f, now: now) }
      group.wait()
      if !side.connected {
        // No second connection: the same reads here.
        try side.read(connection, f, topHosts: topHosts)
      } else if let e = side.error {
        throw e
      }
      let (base, facts) = try pass.get()
      var figures = base
      figures.reappeared = side.reappeared
      figures.topHostsOnline = side.hosts
      figures.campaigns = side.members.figures(facts: facts).sorted {
        Self.campaignOrder($0.campaign, $1.campaign)
      }
      return figures
    }
  }

  /// The pass over the selected URLs.
  private func urlPass(_ f: ReportFilter, now: Int64) throws -> (ReportFigures, URLFacts) {
    var q = PostgresQuery()
    let sel = Self.urlSelection(f, &q)
    // Identity values burnt by rolled-back or conflicting inserts leave gaps: the dense part of the
    // facts stays near the URL count, the rest (if any) is kept sparse.
    let maxID = try connection.scalar("SELECT coalesce(max(id), 0) FROM urls") ?? 0
    let count = try connection.scalar("SELECT coalesce(sum(n), 0) FROM tallies WHERE kind = 3") ?? 0
    var pass = URLPass(f, now: now, maxID: Int(min(maxID, 2 * count + 1024)))
    let none = URLPass.none
    try connection.forEachBatch(
      """
      SELECT u.id, u.status, u.deadline_at, u.taken_down_at, u.first_taken_down_at, u.first_reported_at
      FROM urls u WHERE \(sel)
      """, q.params
    ) { r in
      for i in 0..<r.rowCount {
        pass.add(
          id: Int(r.int64(i, 0)!),
          code: SQLiteStore.statusCode(firstLetter: Int64(r.firstByte(i, 1))),
          deadline: r.int64(i, 2) ?? none, latest: r.int64(i, 3) ?? none,
          first: r.int64(i, 4) ?? none,
          reported: r.int64(i, 5) ?? none)
      }
    }
    return pass.finish(f)
  }

  /// SQLite's order of campaigns: none first, then by the bytes of the name.
  static func campaignOrder(_ a: String?, _ b: String?) -> Bool {
    guard let a else { return b != nil }
    guard let b else { return false }
    return a.utf8.lexicographicallyPrecedes(b.utf8)
  }

  /// URLs that went from taken_down to reappeared in the window.
  func reappearedCount(_ f: ReportFilter) throws -> Int { try Self.reappearedCount(connection, f) }

  static func reappearedCount(_ c: PostgresConnection, _ f: ReportFilter) throws -> Int {
    var q = PostgresQuery()
    let since = q.bind(.int(f.since ?? Int64.min))
    let sel = urlSelection(f, &q)
    let restrict =
      q.params.count > 1 ? " AND e.url_id IN (SELECT u.id FROM urls u WHERE \(sel))" : ""
    return Int(
      try c.scalar(
        "SELECT count(DISTINCT e.url_id) FROM events e WHERE e.to_status = 'reappeared' AND e.at >= \(since)\(restrict)",
        q.params) ?? 0)
  }

  /// Hosts with the most URLs online or reappeared, most first (ties by name).
  static func topHostsOnline(_ c: PostgresConnection, _ f: ReportFilter, limit: Int) throws -> [(
    host: String, count: Int
  )] {
    var q = PostgresQuery()
    let sel = urlSelection(f, &q)
    let r = try c.execute(
      """
      SELECT u.host, count(*) FROM urls u WHERE u.status IN ('online', 'reappeared') AND \(sel)
      GROUP BY u.host ORDER BY count(*) DESC, u.host COLLATE "C" LIMIT \(q.bind(.int(Int64(limit))))
      """, q.params)
    return (0..<r.rowCount).map { (r.text($0, 0)!, Int(r.int64($0, 1)!)) }
  }

  /// Which URLs each campaign holds. In the index's order (the database's collation): equal names are
  /// neighbours whatever it is (a deterministic collation); the campaigns are put in byte order later.
  static func campaignMemberships(_ c: PostgresConnection, _ f: ReportFilter) throws
    -> CampaignMemberships
  {
    var members = CampaignMemberships()
    var q = PostgresQuery()
    let only = f.campaign.map { " WHERE campaign = \(q.bind(.text($0)))" } ?? ""
    var current: [UInt8]? = nil
    try c.forEachBatch(
      "SELECT campaign, url_id FROM reports\(only) ORDER BY campaign, url_id", q.params
    ) { r in
      for i in 0..<r.rowCount {
        // A String only when the campaign changes: a million reports share a few names.
        let same = r.withRawText(i, 0) { raw in
          switch (raw, current) {
          case (nil, nil): return !members.names.isEmpty
          case (let a?, let b?): return a.elementsEqual(b)
          default: return false
          }
        }
        if !same {
          current = r.withRawText(i, 0) { $0.map(Array.init) }
          members.start(campaign: current.map { String(decoding: $0, as: UTF8.self) })
        }
        members.add(id: r.int64(i, 1)!)
      }
    }
    return members
  }

  /// The selection's overdue URLs, most overdue first (earliest deadline).
  public func overdueURLs(_ f: ReportFilter, now: Int64, limit: Int) throws -> [OverdueURL] {
    var q = PostgresQuery()
    let nowParam = q.bind(.int(now))
    let sel = Self.urlSelection(f, &q)
    let r = try connection.execute(
      """
      SELECT u.id, u.url, u.host, u.status, u.deadline_at, u.first_reported_at,
        (SELECT string_agg(DISTINCT r.campaign, E'\\n') FROM reports r WHERE r.url_id = u.id AND r.campaign IS NOT NULL)
      FROM urls u
      WHERE u.deadline_at < \(nowParam) AND u.status NOT IN ('taken_down', 'cancelled') AND \(sel)
      ORDER BY u.deadline_at, u.id LIMIT \(q.bind(.int(Int64(limit))))
      """, q.params)
    return (0..<r.rowCount).map { i in
      OverdueURL(
        id: r.int64(i, 0)!, url: r.text(i, 1)!, host: r.text(i, 2)!,
        status: URLStatus(rawValue: r.text(i, 3)!) ?? .pending, deadline: r.int64(i, 4)!,
        firstReportedAt: r.int64(i, 5),
        campaigns: (r.text(i, 6).map { $0.split(separator: "\n").map(String.init) } ?? [])
          .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
  }

  /// Stored summary rows at or after `since`, thinned to at most `maxPoints` (the last row of each
  /// equal slice of time), oldest first.
  public func statusHistory(since: Int64?, maxPoints: Int) throws -> [StatusPoint] {
    try connection.inSnapshot {
      let range = try connection.execute("SELECT min(at), max(at) FROM summaries WHERE at >= $1", [.int(since ?? Int64.min)])
      guard let first = range.int64(0, 0), let last = range.int64(0, 1) else { return [] }
      let slice = max((last - first) / Int64(max(maxPoints, 1)), 1)
      var out: [StatusPoint] = []
      var lastSlice: Int64 = -1
      try connection.forEachRow(
        """
        SELECT at, pending, online, taken_down, unreachable, reappeared, cancelled FROM summaries
        WHERE at >= $1 ORDER BY at, id
        """, [.int(first)]
      ) { r, i in
        var by: [URLStatus: Int] = [:]
        for (k, st) in URLStatus.allCases.enumerated() { by[st] = r.int(i, k + 1)! }
        let point = StatusPoint(at: r.int64(i, 0)!, byStatus: by)
        let k = (point.at - first) / slice
        if k == lastSlice, !out.isEmpty { out[out.count - 1] = point } else { out.append(point) }
        lastSlice = k
      }
      return out
    }
  }

  // MARK: Export

  static func exportWhere(_ f: ExportFilter, _ q: inout PostgresQuery) -> String {
    var clauses: [String] = []
    if let h = f.host { clauses.append("u.host = \(q.bind(.text(ReportFilter.normalizeHost(h))))") }
    if let st = f.status { clauses.append("u.status = \(q.bind(.text(st.rawValue)))") }
    if let c = f.campaign { clauses.append("r.campaign = \(q.bind(.text(c)))") }
    if let t = f.reportedSince { clauses.append("r.reported_at >= \(q.bind(.int(t)))") }
    return clauses.isEmpty ? "true" : clauses.joined(separator: " AND ")
  }

  /// The names of the extra fields of the selected reports, in order of first appearance (by URL, then
  /// report). The JSON is read in Swift, as `exportRows` reads it: jsonb would forget the keys' order.
  public func exportExtraKeys(_ f: ExportFilter) throws -> [String] {
    var q = PostgresQuery()
    let w = Self.exportWhere(f, &q)
    var seen = Set<String>()
    var out: [String] = []
    var previous: String?
    try connection.forEachRow(
      """
      SELECT r.extra FROM urls u JOIN reports r ON r.url_id = u.id
      WHERE r.extra IS NOT NULL AND \(w) ORDER BY u.id, r.id
      """, q.params
    ) { r, i in
      let text = r.text(i, 0)!
      // An import's rows mostly share one header: the same text adds nothing new.
      guard text != previous else { return }
      previous = text
      for (k, _) in ExtraFields.decode(text) ?? [] where seen.insert(k).inserted { out.append(k) }
    }
    return out
  }

  /// Streams the selected reports with their URL's state, by URL id, then campaign and notice (by their
  /// bytes, as SQLite orders them).
  public func exportRows(_ f: ExportFilter, _ body: (ExportRow) throws -> Void) throws {
    var q = PostgresQuery()
    let w = Self.exportWhere(f, &q)
    try connection.forEachRow(
      """
      SELECT u.url, r.campaign, r.notice, r.rightholder, r.work, r.reported_at, r.deadline, r.extra,
        u.id, u.host, u.status, u.reason, u.http_status, u.taken_down_at, u.first_taken_down_at, u.last_checked_at,
        lc.reason, lc.http_status, lc.final_url, u.checks
      FROM urls u JOIN reports r ON r.url_id = u.id
        LEFT JOIN LATERAL (
          SELECT c.reason, c.http_status, c.final_url FROM checks c WHERE c.url_id = u.id
          ORDER BY c.attempt DESC LIMIT 1) AS lc ON true
      WHERE \(w)
      ORDER BY u.id, coalesce(r.campaign, '') COLLATE "C", coalesce(r.notice, '') COLLATE "C"
      """, q.params
    ) { r, i in
      try body(
        ExportRow(
          url: r.text(i, 0)!, campaign: r.text(i, 1), notice: r.text(i, 2), rightholder: r.text(i, 3),
          work: r.text(i, 4), reportedAt: r.int64(i, 5)!, deadline: r.int64(i, 6),
          extra: r.text(i, 7).flatMap(ExtraFields.decode) ?? [], urlID: r.int64(i, 8)!, host: r.text(i, 9)!,
          status: r.text(i, 10)!, reason: r.text(i, 11), httpStatus: r.int(i, 12), takenDownAt: r.int64(i, 13),
          firstTakenDownAt: r.int64(i, 14), lastCheckedAt: r.int64(i, 15), lastCheckReason: r.text(i, 16),
          lastCheckHTTPStatus: r.int(i, 17), finalURL: r.text(i, 18), checks: r.int(i, 19)!))
    }
  }

  /// Runs `body` in one read transaction (REPEATABLE READ: one snapshot for every statement), or in the
  /// caller's transaction when one is already open.
  public func readConsistently<T>(_ body: () throws -> T) throws -> T {
    if connection.inTransaction { return try body() }
    return try connection.transaction(isolation: "REPEATABLE READ, READ ONLY", body)
  }
}

extension PostgresResult {
  /// An integer column as Int (nil for NULL).
  public func int(_ row: Int, _ column: Int) -> Int? { int64(row, column).map { Int($0) } }

  /// A float8 column (PostgreSQL writes the shortest text that reads back exactly).
  public func double(_ row: Int, _ column: Int) -> Double? {
    guard let t = text(row, column) else { return nil }
    switch t {
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    default: return Double(t)
    }
  }

  /// A text column's bytes without making a String (nil for NULL); valid only inside `body`.
  func withRawText<T>(_ row: Int, _ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
    guard !isNull(row, column), let p = PQgetvalue(res, Int32(row), Int32(column)) else { return body(nil) }
    let n = Int(PQgetlength(res, Int32(row), Int32(column)))
    return p.withMemoryRebound(to: UInt8.self, capacity: n) { body(UnsafeBufferPointer(start: $0, count: n)) }
  }

  /// The first byte of a non-NULL column (a status tells itself by its first letter).
  func firstByte(_ row: Int, _ column: Int) -> UInt8 {
    guard let p = PQgetvalue(res, Int32(row), Int32(column)) else { return 0 }
    return UInt8(bitPattern: p[0])
  }
}

/// The second connection's share of `figures` (written by its thread, read after the group's wait).
final class SidePostgresFigures: @unchecked Sendable {
  /// How many `figures` calls had their second connection (for the tests).
  static let used = Atomic<Int>(0)
  var connected = false
  var reappeared = 0
  var hosts: [(host: String, count: Int)] = []
  var members = CampaignMemberships()
  var error: (any Error)?

  func read(_ c: PostgresConnection, _ f: ReportFilter, topHosts: Int) throws {
    reappeared = try PostgresStore.reappearedCount(c, f)
    hosts = try PostgresStore.topHostsOnline(c, f, limit: topHosts)
    members = try PostgresStore.campaignMemberships(c, f)
  }
}
