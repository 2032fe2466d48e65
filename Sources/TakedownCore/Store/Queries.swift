import Foundation

/// One URL's current state with its reports, as `takedownctl status` shows it.
public struct URLRecord: Sendable {
  public var id: Int64
  public var url: String
  public var host: String
  public var status: URLStatus
  public var reason: String?
  public var httpStatus: Int?
  public var createdAt: Int64
  public var lastCheckedAt: Int64?
  public var nextCheckAt: Int64?
  public var firstOnlineAt: Int64?
  public var takenDownAt: Int64?
  public var firstTakenDownAt: Int64?
  public var checks: Int
  public var removalStreak: Int
  public var failureStreak: Int
  public var leaseHolder: String?
  public var leaseUntil: Int64?
  public var unreachableSince: Int64?
  public var givenUpAt: Int64?
  /// The latest check, which need not be the one that decided the status (`reason`, `httpStatus`): a
  /// taken_down URL rechecked with a 503 keeps the 404's reason and status, and shows the 503 here.
  public var lastCheck: LastCheck?
  public var reports: [Report] = []

  /// What the latest check saw.
  public struct LastCheck: Sendable {
    public var checkedAt: Int64
    public var observed: String
    public var reason: String
    public var httpStatus: Int?

    /// "2026-… transient http_5xx, http 503", for people (control characters escaped).
    public var line: String {
      "\(Timestamp.iso(checkedAt)) \(observed.terminalSafe) \(reason.terminalSafe), http \(httpStatus.map(String.init) ?? "-")"
    }

    public var json: JSON {
      .object([
        ("checked_at", .time(checkedAt)), ("observed", .string(observed)), ("reason", .string(reason)),
        ("http_status", .optional(httpStatus)),
      ])
    }
  }

  public struct Report: Sendable {
    public var reportedAt: Int64
    public var campaign, notice, rightholder, work: String?
    public var deadline: Int64?

    /// "reported 2026-…, campaign X, notice N, …": one line for people (status, evidence), with
    /// control characters escaped.
    public var line: String {
      var parts = ["reported \(Timestamp.iso(reportedAt))"]
      if let c = campaign { parts.append("campaign \(c.terminalSafe)") }
      if let n = notice { parts.append("notice \(n.terminalSafe)") }
      if let h = rightholder { parts.append("rightholder \(h.terminalSafe)") }
      if let w = work { parts.append("work \(w.terminalSafe)") }
      if let d = deadline { parts.append("deadline \(Timestamp.iso(d))") }
      return parts.joined(separator: ", ")
    }
  }

  public var json: JSON {
    .object([
      ("id", .int(id)), ("url", .string(url)), ("host", .string(host)), ("status", .string(status.rawValue)),
      ("reason", .optional(reason)), ("http_status", .optional(httpStatus)),
      ("last_checked_at", .time(lastCheckedAt)), ("next_check_at", .time(nextCheckAt)),
      ("first_online_at", .time(firstOnlineAt)), ("taken_down_at", .time(takenDownAt)),
      ("first_taken_down_at", .time(firstTakenDownAt)), ("checks", .int(Int64(checks))),
      ("removal_streak", .int(Int64(removalStreak))), ("failure_streak", .int(Int64(failureStreak))),
      ("lease_holder", .optional(leaseHolder)), ("lease_until", .time(leaseUntil)),
      ("created_at", .time(createdAt)), ("unreachable_since", .time(unreachableSince)),
      ("given_up_at", .time(givenUpAt)), ("last_check", lastCheck?.json ?? .null),
      (
        "reports",
        .array(
          reports.map {
            .object([
              ("reported_at", .time($0.reportedAt)), ("campaign", .optional($0.campaign)),
              ("notice", .optional($0.notice)), ("rightholder", .optional($0.rightholder)),
              ("work", .optional($0.work)), ("deadline", .time($0.deadline)),
            ])
          })
      ),
    ])
  }
}

/// One row of the check history.
public struct CheckRecord: Sendable {
  public var attempt: Int64
  public var checkedAt: Int64
  public var observed: String
  public var status: String
  public var reason: String
  public var httpStatus: Int?
  public var curlCode: Int
  public var finalURL: String?
  public var redirects: Int
  public var remoteIP: String?
  public var timings: CheckTimings
  public var bytes: Int64
  public var holder: String
  public var vantage: String?
  public var method: String?
  public var bodySHA256: String?
  /// JSON object text, as stored.
  public var headersJSON: String?
  /// JSON array text, as stored.
  public var redirectChainJSON: String?
  public var matched: String?
  public var rule: String?

  /// The stored headers, decoded (names lowercased).
  public var headers: [(String, String)] {
    guard let text = headersJSON, let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    else { return [] }
    return ResponseCapture.kept.compactMap { name in (obj[name] as? String).map { (name, $0) } }
  }

  /// The stored redirect chain, decoded.
  public var redirectChain: [RedirectHop] {
    guard let text = redirectChainJSON, let arr = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
    else { return [] }
    return arr.map { RedirectHop(status: ($0["status"] as? Int) ?? 0, location: $0["location"] as? String) }
  }

  public var json: JSON {
    .object([
      ("attempt", .int(attempt)), ("checked_at", .time(checkedAt)), ("observed", .string(observed)),
      ("status", .string(status)), ("reason", .string(reason)), ("http_status", .optional(httpStatus)),
      ("curl_code", .int(Int64(curlCode))), ("final_url", .optional(finalURL)),
      ("redirects", .int(Int64(redirects))), ("remote_ip", .optional(remoteIP)),
      (
        "timings_us",
        .object([
          ("dns", .int(timings.dnsUs)), ("connect", .int(timings.connectUs)), ("tls", .int(timings.tlsUs)),
          ("first_byte", .int(timings.firstByteUs)), ("total", .int(timings.totalUs)),
        ])
      ),
      ("bytes", .int(bytes)), ("holder", .string(holder)), ("vantage", .optional(vantage)),
      ("method", .optional(method)), ("body_sha256", .optional(bodySHA256)),
      ("headers", headersJSON.map { .raw($0) } ?? .object([])),
      ("redirect_chain", redirectChainJSON.map { .raw($0) } ?? .array([])),
      ("matched", .optional(matched)), ("rule", .optional(rule)),
    ])
  }
}

/// Filters of `takedownctl list`.
public struct ListFilter: Sendable {
  public var status: URLStatus?
  public var host: String?
  public var campaign: String?
  public var limit: Int?
  /// Load each URL's reports too (one more indexed query per URL: only when they are shown).
  public var withReports: Bool
  public init(
    status: URLStatus? = nil, host: String? = nil, campaign: String? = nil, limit: Int? = nil, withReports: Bool = false
  ) {
    self.status = status
    self.host = host
    self.campaign = campaign
    self.limit = limit
    self.withReports = withReports
  }
}

extension SQLiteStore {
  static let urlColumns = """
    u.id, u.url, u.host, u.status, u.reason, u.http_status, u.created_at, u.last_checked_at, u.next_check_at,
    u.first_online_at, u.taken_down_at, u.first_taken_down_at, u.checks, u.removal_streak, u.failure_streak,
    u.lease_holder, u.lease_until, u.unreachable_since, u.given_up_at,
    lc.checked_at, lc.observed, lc.reason, lc.http_status
    """

  /// `urls u` with its latest check as `lc` (the highest attempt: one seek in the (url_id, attempt) index).
  static let urlsWithLastCheck = """
    urls u LEFT JOIN checks lc
      ON lc.url_id = u.id AND lc.attempt = (SELECT max(c.attempt) FROM checks c WHERE c.url_id = u.id)
    """

  static func record(_ s: SQLiteStatement) -> URLRecord {
    URLRecord(
      id: s.int64(0), url: s.text(1), host: s.text(2), status: URLStatus(rawValue: s.text(3)) ?? .pending,
      reason: s.optionalText(4), httpStatus: s.optionalInt(5), createdAt: s.int64(6),
      lastCheckedAt: s.optionalInt64(7), nextCheckAt: s.optionalInt64(8), firstOnlineAt: s.optionalInt64(9),
      takenDownAt: s.optionalInt64(10), firstTakenDownAt: s.optionalInt64(11), checks: s.int(12),
      removalStreak: s.int(13), failureStreak: s.int(14), leaseHolder: s.optionalText(15),
      leaseUntil: s.optionalInt64(16), unreachableSince: s.optionalInt64(17), givenUpAt: s.optionalInt64(18),
      lastCheck: s.isNull(19)
        ? nil
        : .init(checkedAt: s.int64(19), observed: s.text(20), reason: s.text(21), httpStatus: s.optionalInt(22)))
  }

  /// Finds a URL by id ("42") or by URL text (normalized first, so any spelling of it matches).
  public func lookup(_ idOrURL: String) throws -> URLRecord? {
    let s: SQLiteStatement
    if let id = Int64(idOrURL) {
      s = try db.statement("SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck) WHERE u.id = ?")
      try s.bind([.int(id)])
    } else {
      guard case .success(let n) = URLNormalizer.normalize(idOrURL) else { return nil }
      s = try db.statement("SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck) WHERE u.url = ?")
      try s.bind([.text(n.url)])
    }
    defer { s.reset() }
    guard try s.step() else { return nil }
    var rec = Self.record(s)
    s.reset()
    rec.reports = try reports(urlID: rec.id)
    return rec
  }

  /// Every report of one URL, oldest first.
  public func reports(urlID: Int64) throws -> [URLRecord.Report] {
    let r = try db.statement(
      """
      SELECT reported_at, campaign, notice, rightholder, work, deadline FROM reports WHERE url_id = ?
      ORDER BY reported_at, id
      """)
    defer { r.reset() }
    try r.bind([.int(urlID)])
    var out: [URLRecord.Report] = []
    while try r.step() {
      out.append(
        .init(
          reportedAt: r.int64(0), campaign: r.optionalText(1), notice: r.optionalText(2),
          rightholder: r.optionalText(3), work: r.optionalText(4), deadline: r.optionalInt64(5)))
    }
    return out
  }

  /// The conditions on `urls` (named `table` in the query) that select URLs by status, host and campaign,
  /// as `list` and `recheck` combine them, with their arguments.
  static func urlConditions(status: URLStatus?, host: String?, campaign: String?, on table: String)
    -> (clauses: [String], args: [SQLiteValue])
  {
    var clauses: [String] = []
    var args: [SQLiteValue] = []
    if let status {
      clauses.append("\(table).status = ?")
      args.append(.text(status.rawValue))
    }
    if let host {
      clauses.append("\(table).host = ?")
      args.append(.text(ReportFilter.normalizeHost(host)))
    }
    if let campaign {
      clauses.append("EXISTS (SELECT 1 FROM reports r WHERE r.url_id = \(table).id AND r.campaign = ?)")
      args.append(.text(campaign))
    }
    return (clauses, args)
  }

  /// Streams URLs matching the filter, in id order, with all their reports when `f.withReports`
  /// (whatever campaign selected them, as `lookup` gives them).
  public func list(_ f: ListFilter, _ body: (URLRecord) throws -> Void) throws {
    var sql = "SELECT \(Self.urlColumns) FROM \(Self.urlsWithLastCheck)"
    let (clauses, args) = Self.urlConditions(status: f.status, host: f.host, campaign: f.campaign, on: "u")
    if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
    sql += " ORDER BY u.id"
    if let l = f.limit { sql += " LIMIT \(l)" }
    let s = try db.statement(sql)
    defer { s.reset() }
    try s.bind(args)
    while try s.step() {
      var rec = Self.record(s)
      if f.withReports { rec.reports = try reports(urlID: rec.id) }
      try body(rec)
    }
  }

  /// The whole check history of one URL, oldest first.
  public func history(urlID: Int64) throws -> [CheckRecord] {
    let s = try db.statement(
      """
      SELECT attempt, checked_at, observed, status, reason, http_status, curl_code, final_url, redirects,
        remote_ip, dns_us, connect_us, tls_us, first_byte_us, total_us, bytes, holder,
        vantage, method, body_sha256, headers, redirect_chain, matched, rule
      FROM checks WHERE url_id = ? ORDER BY checked_at, id
      """)
    try s.bind([.int(urlID)])
    var out: [CheckRecord] = []
    while try s.step() {
      var t = CheckTimings()
      t.dnsUs = s.int64(10)
      t.connectUs = s.int64(11)
      t.tlsUs = s.int64(12)
      t.firstByteUs = s.int64(13)
      t.totalUs = s.int64(14)
      out.append(
        CheckRecord(
          attempt: s.int64(0), checkedAt: s.int64(1), observed: s.text(2), status: s.text(3), reason: s.text(4),
          httpStatus: s.optionalInt(5), curlCode: s.int(6), finalURL: s.optionalText(7), redirects: s.int(8),
          remoteIP: s.optionalText(9), timings: t, bytes: s.int64(15), holder: s.text(16),
          vantage: s.optionalText(17), method: s.optionalText(18), bodySHA256: s.optionalText(19),
          headersJSON: s.optionalText(20), redirectChainJSON: s.optionalText(21), matched: s.optionalText(22),
          rule: s.optionalText(23)))
    }
    return out
  }

  /// Counts by status; every status is present (0 when none).
  public func countsByStatus() throws -> [URLStatus: Int] {
    var out: [URLStatus: Int] = [:]
    for st in URLStatus.allCases { out[st] = 0 }
    let s = try db.statement("SELECT status, count(*) FROM urls GROUP BY status")
    while try s.step() {
      if let st = URLStatus(rawValue: s.text(0)) { out[st] = s.int(1) }
    }
    return out
  }

  /// The most recent stored summary row.
  public func lastSummary() throws -> StoredSummary? {
    let s = try db.statement(
      """
      SELECT at, interval_ms, holder, checks, checks_per_second, pending, online, taken_down, unreachable,
        reappeared, cancelled, newly_taken_down, newly_reappeared, due
      FROM summaries ORDER BY at DESC, id DESC LIMIT 1
      """)
    defer { s.reset() }
    guard try s.step() else { return nil }
    return StoredSummary(
      at: s.int64(0), intervalMs: s.int64(1), holder: s.text(2), checks: s.int(3), checksPerSecond: s.double(4),
      byStatus: [
        .pending: s.int(5), .online: s.int(6), .takenDown: s.int(7), .unreachable: s.int(8),
        .reappeared: s.int(9), .cancelled: s.int(10),
      ], newlyTakenDown: s.int(11), newlyReappeared: s.int(12), due: s.int(13))
  }

  public func countSummaries() throws -> Int { Int(try db.scalar("SELECT count(*) FROM summaries") ?? 0) }
}
