import CSQLite
import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

/// A report's extra fields to store after its row was enqueued (found again by URL, campaign and notice).
public struct ReportExtra: Sendable {
  public var url: String
  public var campaign: String?
  public var notice: String?
  /// `ExtraFields.encode` output.
  public var json: String
  public init(url: String, campaign: String?, notice: String?, json: String) {
    self.url = url
    self.campaign = campaign
    self.notice = notice
    self.json = json
  }
}

/// One URL past its deadline, for the overdue list.
public struct OverdueURL: Sendable, Equatable {
  public var id: Int64
  public var url: String
  public var host: String
  public var status: URLStatus
  public var deadline: Int64
  public var firstReportedAt: Int64?
  public var campaigns: [String]
}

/// One stored summary row's counts, for the status-over-time chart.
public struct StatusPoint: Sendable, Equatable {
  public var at: Int64
  public var byStatus: [URLStatus: Int]
}

extension SQLiteStore {
  // MARK: Import

  /// Stores extra fields on reports that have none yet (a report imported twice keeps its first extras).
  /// Run after `enqueue` of the same rows; rows whose report is not found are skipped.
  public func setReportExtras(_ extras: [ReportExtra]) throws {
    guard !extras.isEmpty else { return }
    try db.transaction {
      let s = try db.statement(
        """
        UPDATE reports SET extra = ?4
        WHERE url_id = (SELECT id FROM urls WHERE url = ?1) AND ifnull(campaign, '') = ?2
          AND ifnull(notice, '') = ?3 AND extra IS NULL
        """)
      for e in extras {
        s.reset()
        s.bind(e.url, at: 1)
        s.bind(e.campaign ?? "", at: 2)
        s.bind(e.notice ?? "", at: 3)
        s.bind(e.json, at: 4)
        try s.step()
      }
    }
  }

  // MARK: Counts

  static let notDone = "status NOT IN ('taken_down', 'cancelled')"
  static let takenDownCode = 2
  static let cancelledCode = 5

  /// The index in `URLStatus.allCases` of a stored status, from its first letter (they all differ).
  static func statusCode(firstLetter c: Int64) -> Int {
    switch c {
    case 111: return 1  // online
    case 116: return 2  // taken_down
    case 117: return 3  // unreachable
    case 114: return 4  // reappeared
    case 99: return 5  // cancelled
    default: return 0  // pending
    }
  }

  /// URLs past their (earliest) deadline and neither taken down nor cancelled: for the daemon's summary line.
  /// A scan of the table (about 0.2 s for a million URLs): looking each URL past its deadline up from an
  /// index on deadlines costs several times more as soon as most URLs have one.
  public func overdueCount(now: Int64) throws -> Int {
    Int(
      try db.scalar(
        "SELECT count(*) FROM urls NOT INDEXED WHERE deadline_at < ?1 AND \(Self.notDone)", [.int(now)]) ?? 0)
  }

  /// The SQL condition (on `urls u`) and arguments that select the filter's URLs.
  static func urlSelection(_ f: ReportFilter) -> (sql: String, args: [SQLiteValue]) {
    var clauses: [String] = []
    var args: [SQLiteValue] = []
    if let h = f.host {
      clauses.append("u.host = ?")
      args.append(.text(ReportFilter.normalizeHost(h)))
    }
    if let c = f.campaign {
      clauses.append("u.id IN (SELECT url_id FROM reports WHERE campaign = ?)")
      args.append(.text(c))
    }
    return (clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), args)
  }

  // MARK: Figures

  /// Every figure of a summary or report: one pass over `urls` (counts, overdue, time-to-takedown) while
  /// a second connection, on the second core, reads the campaign index, the hosts still online and the
  /// reappearances. Nothing here needs an index on a column the daemon updates at every check.
  public func figures(_ f: ReportFilter, now: Int64, topHosts: Int = 10) throws -> ReportFigures {
    let side = SideFigures()
    let group = DispatchGroup()
    let path = db.path
    let immutable = db.immutable
    DispatchQueue.global().async(group: group) {
      do {
        let other = try SQLiteConnection(path: path, readOnly: true, immutable: immutable)
        side.reappeared = try SQLiteStore.reappearedCount(other, f)
        side.hosts = try SQLiteStore.topHostsOnline(other, f, limit: topHosts)
        side.memberships = try SQLiteStore.campaignMemberships(other, f)
      } catch {
        side.error = error
      }
    }
    let main = Result { try urlPass(f, now: now) }
    group.wait()
    if let e = side.error { throw e }
    let (base, facts) = try main.get()
    var figures = base
    figures.reappeared = side.reappeared
    figures.topHostsOnline = side.hosts
    figures.campaigns = side.memberships.figures(facts: facts)
    return figures
  }

  /// One pass over `urls` in table order: counts, overdue, removals in the window, lateness and
  /// time-to-takedown of the selection. (Three passes over narrow indexes cost more: SQLite's price is
  /// per row and column visited, not per byte.)
  func urlPass(_ f: ReportFilter, now: Int64) throws -> (ReportFigures, URLFacts) {
    let sel = Self.urlSelection(f)
    let maxID = Int(try db.scalar("SELECT max(id) FROM urls") ?? 0)
    var pass = URLPass(f, now: now, maxID: maxID)
    // A full scan reads the table in order; with a host, the planner's index on host is better.
    let from = f.host == nil ? "urls u NOT INDEXED" : "urls u"
    // Integers only, NULL as Int64.min: one C call per column, which matters a million times over.
    let none = URLPass.none
    let s = try db.statement(
      """
      SELECT u.id, unicode(u.status), ifnull(u.deadline_at, \(none)), ifnull(u.taken_down_at, \(none)),
        ifnull(u.first_taken_down_at, \(none)), ifnull(u.first_reported_at, \(none))
      FROM \(from) WHERE \(sel.sql)
      """)
    defer { s.reset() }
    try s.bind(sel.args)
    while try s.step() {
      pass.add(
        id: Int(s.int64(0)), code: Self.statusCode(firstLetter: s.int64(1)), deadline: s.int64(2),
        latest: s.int64(3), first: s.int64(4), reported: s.int64(5))
    }
    s.reset()
    return pass.finish(f)
  }

  /// URLs that went from taken_down to reappeared in the window.
  static func reappearedCount(_ db: SQLiteConnection, _ f: ReportFilter) throws -> Int {
    let sel = urlSelection(f)
    let restrict = sel.args.isEmpty ? "" : " AND e.url_id IN (SELECT u.id FROM urls u WHERE \(sel.sql))"
    return Int(
      try db.scalar(
        """
        SELECT count(DISTINCT e.url_id) FROM events e INDEXED BY events_to_status
        WHERE e.to_status = 'reappeared' AND e.at >= ?\(restrict)
        """, [.int(f.since ?? Int64.min)] + sel.args) ?? 0)
  }

  /// Hosts with the most URLs online or reappeared, most first (ties by name).
  public func topHostsOnline(_ f: ReportFilter, limit: Int) throws -> [(host: String, count: Int)] {
    try Self.topHostsOnline(db, f, limit: limit)
  }

  static func topHostsOnline(_ db: SQLiteConnection, _ f: ReportFilter, limit: Int) throws -> [(
    host: String, count: Int
  )] {
    let sel = urlSelection(f)
    // The (host, status) index holds everything this needs.
    let s = try db.statement(
      """
      SELECT u.host, count(*) FROM urls u INDEXED BY urls_host
      WHERE u.status IN ('online', 'reappeared') AND \(sel.sql)
      GROUP BY u.host ORDER BY count(*) DESC, u.host LIMIT ?
      """)
    defer { s.reset() }
    try s.bind(sel.args + [.int(Int64(limit))])
    var out: [(String, Int)] = []
    while try s.step() { out.append((s.text(0), s.int(1))) }
    return out
  }

  /// Which URLs each campaign holds, read from the (campaign, url_id) index alone.
  static func campaignMemberships(_ db: SQLiteConnection, _ f: ReportFilter) throws -> CampaignMemberships {
    let s = try db.statement(
      f.campaign == nil
        ? "SELECT campaign, url_id FROM reports INDEXED BY reports_campaign_url ORDER BY campaign, url_id"
        : "SELECT campaign, url_id FROM reports INDEXED BY reports_campaign_url WHERE campaign = ? ORDER BY campaign, url_id"
    )
    defer { s.reset() }
    if let c = f.campaign { try s.bind([.text(c)]) }
    var m = CampaignMemberships()
    var current: [UInt8]? = nil
    while try s.step() {
      let same: Bool = s.withRawText(0) { raw in
        guard !m.names.isEmpty else { return false }
        switch (raw, current) {
        case (nil, nil): return true
        case (let r?, let c?):
          return r.count == c.count
            && (r.count == 0 || c.withUnsafeBufferPointer { memcmp(r.baseAddress!, $0.baseAddress!, r.count) == 0 })
        default: return false
        }
      }
      if !same {
        current = s.withRawText(0) { $0.map(Array.init) }
        m.names.append(current.map { String(decoding: $0, as: UTF8.self) })
        m.starts.append(m.ids.count)
      }
      m.ids.append(s.int64(1))
    }
    return m
  }

  /// The selection's overdue URLs, most overdue first (earliest deadline).
  public func overdueURLs(_ f: ReportFilter, now: Int64, limit: Int) throws -> [OverdueURL] {
    let sel = Self.urlSelection(f)
    let s = try db.statement(
      """
      SELECT u.id, u.url, u.host, u.status, u.deadline_at, u.first_reported_at,
        (SELECT group_concat(c, char(10)) FROM
          (SELECT DISTINCT campaign AS c FROM reports r WHERE r.url_id = u.id AND campaign IS NOT NULL ORDER BY 1))
      FROM urls u NOT INDEXED
      WHERE u.deadline_at < ? AND u.\(Self.notDone) AND \(sel.sql)
      ORDER BY u.deadline_at, u.id LIMIT ?
      """)
    defer { s.reset() }
    try s.bind([.int(now)] + sel.args + [.int(Int64(limit))])
    var out: [OverdueURL] = []
    while try s.step() {
      out.append(
        OverdueURL(
          id: s.int64(0), url: s.text(1), host: s.text(2), status: URLStatus(rawValue: s.text(3)) ?? .pending,
          deadline: s.int64(4), firstReportedAt: s.optionalInt64(5),
          campaigns: s.optionalText(6).map { $0.split(separator: "\n").map(String.init) } ?? []))
    }
    return out
  }

  /// Stored summary rows at or after `since`, thinned to at most `maxPoints` (the last row of each
  /// equal slice of time), oldest first.
  public func statusHistory(since: Int64?, maxPoints: Int) throws -> [StatusPoint] {
    let range = try db.statement("SELECT min(at), max(at) FROM summaries WHERE at >= ?")
    defer { range.reset() }
    try range.bind([.int(since ?? Int64.min)])
    guard try range.step(), !range.isNull(0) else { return [] }
    let first = range.int64(0)
    let last = range.int64(1)
    range.reset()
    let slice = max((last - first) / Int64(max(maxPoints, 1)), 1)
    let s = try db.statement(
      """
      SELECT at, pending, online, taken_down, unreachable, reappeared, cancelled FROM summaries
      WHERE at >= ? ORDER BY at, id
      """)
    defer { s.reset() }
    try s.bind([.int(first)])
    var out: [StatusPoint] = []
    var lastSlice: Int64 = -1
    while try s.step() {
      var by: [URLStatus: Int] = [:]
      for (i, st) in URLStatus.allCases.enumerated() { by[st] = s.int(Int32(i + 1)) }
      let point = StatusPoint(at: s.int64(0), byStatus: by)
      let k = (point.at - first) / slice
      if k == lastSlice, !out.isEmpty { out[out.count - 1] = point } else { out.append(point) }
      lastSlice = k
    }
    return out
  }
}

/// Results of the second connection's queries (written by its thread, read after the group's wait).
final class SideFigures: @unchecked Sendable {
  var reappeared = 0
  var hosts: [(host: String, count: Int)] = []
  var memberships = CampaignMemberships()
  var error: (any Error)?
}

/// Campaign names in index order (nil first) and, for each, its URL ids in ascending order.
struct CampaignMemberships {
  var names: [String?] = []
  var starts: [Int] = []
  var ids: [Int64] = []

  func figures(facts: URLFacts) -> [CampaignFigures] {
    var out: [CampaignFigures] = []
    var ttt: [Int64] = []
    for (k, name) in names.enumerated() {
      let end = k + 1 < starts.count ? starts[k + 1] : ids.count
      var counts = [Int](repeating: 0, count: URLStatus.allCases.count)
      var urls = 0
      var overdue = 0
      var lastID: Int64 = -1
      ttt.removeAll(keepingCapacity: true)
      for i in starts[k]..<end {
        let id = ids[i]
        // Two notices of one campaign for one URL: the URL counts once.
        if id == lastID { continue }
        lastID = id
        // Not selected (another host), or enqueued after the URL pass.
        guard let fact = facts.get(Int(id)) else { continue }
        urls += 1
        counts[Int(fact.status)] += 1
        if fact.overdue { overdue += 1 }
        if fact.ttt >= 0 { ttt.append(fact.ttt) }
      }
      guard urls > 0 else { continue }
      var by: [URLStatus: Int] = [:]
      for (i, st) in URLStatus.allCases.enumerated() { by[st] = counts[i] }
      ttt.sortDurations()
      out.append(
        CampaignFigures(
          campaign: name, urls: urls, byStatus: by, overdue: overdue, timeToTakedown: DurationStats(sorted: ttt)))
    }
    return out
  }
}

/// Status, overdue flag and time-to-takedown of each selected URL, by id: what the passes share, and
/// what the campaign table joins with, without looking any URL up again.
struct URLFacts {
  struct Fact {
    var status: UInt8
    var overdue: Bool
    /// -1: not first taken down in the window.
    var ttt: Int64
  }
  private var statuses: [UInt8]
  private var overdue: [Bool]
  private var ttt: [Int64]
  /// Ids beyond what dense arrays should hold (SQLite assigns ids in order, so this stays empty).
  private var sparse: [Int: Fact] = [:]
  static let unselected: UInt8 = 255

  init(maxID: Int) {
    let n = min(maxID, 64_000_000) + 1
    statuses = [UInt8](repeating: Self.unselected, count: n)
    overdue = [Bool](repeating: false, count: n)
    ttt = [Int64](repeating: -1, count: n)
  }

  private func dense(_ id: Int) -> Bool { id >= 0 && id < statuses.count }

  mutating func setStatus(_ id: Int, _ s: UInt8) {
    if dense(id) { statuses[id] = s } else { sparse[id] = Fact(status: s, overdue: false, ttt: -1) }
  }

  func status(_ id: Int) -> UInt8? {
    if dense(id) { return statuses[id] == Self.unselected ? nil : statuses[id] }
    return sparse[id]?.status
  }

  mutating func markOverdue(_ id: Int) {
    if dense(id) { overdue[id] = true } else { sparse[id]?.overdue = true }
  }

  mutating func setTTT(_ id: Int, _ v: Int64) {
    if dense(id) { ttt[id] = v } else { sparse[id]?.ttt = v }
  }

  func get(_ id: Int) -> Fact? {
    if dense(id) {
      return statuses[id] == Self.unselected ? nil : Fact(status: statuses[id], overdue: overdue[id], ttt: ttt[id])
    }
    return sparse[id]
  }
}

extension SQLiteStatement {
  /// A text column's bytes without making a String (nil for NULL); valid only inside `body`.
  func withRawText<T>(_ c: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
    if sqlite3_column_type(handle, c) == SQLITE_NULL { return body(nil) }
    guard let p = sqlite3_column_text(handle, c) else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
    let n = Int(sqlite3_column_bytes(handle, c))
    return body(UnsafeBufferPointer(start: p, count: n))
  }
}

