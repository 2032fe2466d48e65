/// Which reports an export writes.
public struct ExportFilter: Sendable, Equatable {
  public var campaign: String?
  public var host: String?
  public var status: URLStatus?
  /// Only reports made at or after this time.
  public var reportedSince: Int64?
  public init(campaign: String? = nil, host: String? = nil, status: URLStatus? = nil, reportedSince: Int64? = nil) {
    self.campaign = campaign
    self.host = host
    self.status = status
    self.reportedSince = reportedSince
  }
}

/// One exported row: one report of a URL with the URL's current state. A URL reported N times (other
/// campaigns or notices) gives N rows whose URL columns are equal; `url_id` ties them together.
public struct ExportRow: Sendable {
  public var url: String
  public var campaign, notice, rightholder, work: String?
  public var reportedAt: Int64
  public var deadline: Int64?
  public var extra: [(String, String)]
  public var urlID: Int64
  public var host: String
  public var status: String
  public var reason: String?
  public var httpStatus: Int?
  public var takenDownAt: Int64?
  public var firstTakenDownAt: Int64?
  public var lastCheckedAt: Int64?
  /// Reason and HTTP status of the latest check (`reason` and `httpStatus` are the deciding check's).
  public var lastCheckReason: String?
  public var lastCheckHTTPStatus: Int?
  public var finalURL: String?
  public var checks: Int

  /// The report's columns, in the order `import` reads them.
  public static let reportColumns = ["url", "campaign", "notice", "rightholder", "work", "reported_at", "deadline"]
  /// The URL's state after the extra columns (`import` ignores these): `reason` and `http_status` of the
  /// check that decided the status, then the latest check's time, reason, HTTP status and final URL.
  public static let stateColumns = [
    "url_id", "host", "status", "reason", "http_status", "taken_down_at", "first_taken_down_at", "last_checked_at",
    "last_check_reason", "last_check_http_status", "final_url", "checks",
  ]

  static func iso(_ t: Int64?) -> String { t.map(Timestamp.iso) ?? "" }

  /// The CSV cells for a header of `reportColumns + extraKeys + stateColumns`.
  public func csvFields(extraKeys: [String]) -> [String] {
    var out = [
      url, campaign ?? "", notice ?? "", rightholder ?? "", work ?? "", Timestamp.iso(reportedAt), Self.iso(deadline),
    ]
    for k in extraKeys { out.append(extra.first { $0.0 == k }?.1 ?? "") }
    out += [
      String(urlID), host, status, reason ?? "", httpStatus.map(String.init) ?? "", Self.iso(takenDownAt),
      Self.iso(firstTakenDownAt), Self.iso(lastCheckedAt), lastCheckReason ?? "",
      lastCheckHTTPStatus.map(String.init) ?? "", finalURL ?? "", String(checks),
    ]
    return out
  }

  public var json: JSON {
    .object([
      ("url", .string(url)), ("campaign", .optional(campaign)), ("notice", .optional(notice)),
      ("rightholder", .optional(rightholder)), ("work", .optional(work)), ("reported_at", .time(reportedAt)),
      ("deadline", .time(deadline)), ("extra", .object(extra.map { ($0.0, .string($0.1)) })),
      ("url_id", .int(urlID)), ("host", .string(host)), ("status", .string(status)), ("reason", .optional(reason)),
      ("http_status", .optional(httpStatus)), ("taken_down_at", .time(takenDownAt)),
      ("first_taken_down_at", .time(firstTakenDownAt)), ("last_checked_at", .time(lastCheckedAt)),
      ("last_check_reason", .optional(lastCheckReason)), ("last_check_http_status", .optional(lastCheckHTTPStatus)),
      ("final_url", .optional(finalURL)), ("checks", .int(Int64(checks))),
    ])
  }
}

extension SQLiteStore {
  static func exportWhere(_ f: ExportFilter) -> (sql: String, args: [SQLiteValue]) {
    var clauses: [String] = []
    var args: [SQLiteValue] = []
    if let h = f.host {
      clauses.append("u.host = ?")
      args.append(.text(ReportFilter.normalizeHost(h)))
    }
    if let st = f.status {
      clauses.append("u.status = ?")
      args.append(.text(st.rawValue))
    }
    if let c = f.campaign {
      clauses.append("r.campaign = ?")
      args.append(.text(c))
    }
    if let t = f.reportedSince {
      clauses.append("r.reported_at >= ?")
      args.append(.int(t))
    }
    return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), args)
  }

  /// The names of the extra fields of the selected reports, in order of first appearance.
  public func exportExtraKeys(_ f: ExportFilter) throws -> [String] {
    let w = Self.exportWhere(f)
    let s = try db.statement(
      """
      SELECT j.key FROM urls u CROSS JOIN reports r ON r.url_id = u.id, json_each(r.extra) j
      WHERE r.extra IS NOT NULL AND json_valid(r.extra) AND \(w.sql) ORDER BY u.id, r.id, j.id
      """)
    defer { s.reset() }
    try s.bind(w.args)
    var seen = Set<String>()
    var out: [String] = []
    while try s.step() {
      let k = s.text(0)
      if seen.insert(k).inserted { out.append(k) }
    }
    return out
  }

  /// Streams the selected reports with their URL's state, by URL id, then campaign and notice.
  /// Constant memory: SQLite walks urls in id order and each URL's reports by index, with no sort.
  public func exportRows(_ f: ExportFilter, _ body: (ExportRow) throws -> Void) throws {
    let w = Self.exportWhere(f)
    let s = try db.statement(
      """
      SELECT u.url, r.campaign, r.notice, r.rightholder, r.work, r.reported_at, r.deadline, r.extra,
        u.id, u.host, u.status, u.reason, u.http_status, u.taken_down_at, u.first_taken_down_at, u.last_checked_at,
        lc.reason, lc.http_status, lc.final_url, u.checks
      FROM urls u CROSS JOIN reports r ON r.url_id = u.id
        LEFT JOIN checks lc
          ON lc.url_id = u.id AND lc.attempt = (SELECT max(c.attempt) FROM checks c WHERE c.url_id = u.id)
      WHERE \(w.sql)
      ORDER BY u.id, ifnull(r.campaign, ''), ifnull(r.notice, '')
      """)
    defer { s.reset() }
    try s.bind(w.args)
    while try s.step() {
      try body(
        ExportRow(
          url: s.text(0), campaign: s.optionalText(1), notice: s.optionalText(2), rightholder: s.optionalText(3),
          work: s.optionalText(4), reportedAt: s.int64(5), deadline: s.optionalInt64(6),
          extra: s.optionalText(7).flatMap(ExtraFields.decode) ?? [], urlID: s.int64(8), host: s.text(9),
          status: s.text(10), reason: s.optionalText(11), httpStatus: s.optionalInt(12),
          takenDownAt: s.optionalInt64(13), firstTakenDownAt: s.optionalInt64(14), lastCheckedAt: s.optionalInt64(15),
          lastCheckReason: s.optionalText(16), lastCheckHTTPStatus: s.optionalInt(17), finalURL: s.optionalText(18),
          checks: s.int(19)))
    }
  }
}
