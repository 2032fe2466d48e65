import Foundation
import TestPostgres
import Testing

@testable import TakedownCore

/// The PostgreSQL tallies (migration 0003_tallies) with several writers at once: exact against a full
/// scan, in every interleaving of a report and a status change of one URL, and without a row that
/// serializes their commits. (SummaryTalliesTests runs the randomized queue through the real store on
/// both backends.)
///
/// Each writer runs the shapes of statement the queue side runs (enqueue's URLs, reports and earlier
/// first-report times; a batch of results as one UPDATE), on connections of its own.
@Suite struct PostgresTalliesTests {
  static let hour: Int64 = 3_600_000

  /// A new database, migrated; its URI.
  static func newDatabase(_ prefix: String) throws -> String {
    let cluster = try PostgresCluster.shared.get()
    let uri = cluster.uri(database: try cluster.createDatabase(prefix: prefix))
    _ = try PostgresStore(conninfo: uri, options: .init())
    return uri
  }

  /// N writers, each with its own connection, change the statuses of their own URLs (as leases split
  /// them) in parallel transactions, while two more add reports to any URL (new campaigns, earlier
  /// dates, deadlines) and another folds the tallies: no deadlock, no serialization failure, and the
  /// tallies equal a full scan at the end.
  @Test func concurrentWritersKeepTheTalliesExact() throws {
    let uri = try Self.newDatabase("conc")
    let store = try PostgresStore(conninfo: uri, options: .init())
    let h = Self.hour
    let urls = 2400
    // Few hosts and campaigns: every writer's changes hit the same tally keys.
    var initial: [QueueSQL.Item] = []
    for i in 0..<urls {
      let campaign: String? = i % 4 == 0 ? nil : "c\(i % 2)"
      let deadline: Int64? = i % 3 == 0 ? 30 * h : nil
      initial.append(
        QueueSQL.Item(
          url: "http://h\(i % 3).test/\(i)", host: "h\(i % 3).test", reportedAt: Int64(i % 50) * h, campaign: campaign,
          notice: nil, deadline: deadline))
    }
    try QueueSQL(store.connection).enqueue(initial, now: 0)
    let conninfo = try PostgresCluster.shared.get().connectionString(database: Self.dbName(uri))
    let writers = 6
    let shared = Shared()
    let group = DispatchGroup()
    // Threads, not tasks: libpq's calls block, as on the daemon's own threads.
    func spawn(_ body: @escaping @Sendable () throws -> Void) {
      group.enter()
      Thread {
        defer { group.leave() }
        do { try body() } catch { shared.record("\(error)") }
      }.start()
    }
    for w in 0..<writers {
      spawn {
        let c = try PostgresConnection(conninfo)
        var rng = HostileRandom(seed: UInt64(w + 1))
        let mine = (1...urls).filter { $0 % writers == w }.map(Int64.init)
        for round in 0..<60 {
          let picked = Array(Set((0..<20).map { _ in mine.randomElement(using: &rng)! })).sorted()
          try QueueSQL(c).randomStatuses(ids: picked, at: Int64(round + 1) * h, rng: &rng)
          shared.committed()
        }
      }
    }
    for r in 0..<2 {
      spawn {
        let c = try PostgresConnection(conninfo)
        var rng = HostileRandom(seed: UInt64(100 + r))
        for round in 0..<40 {
          var items: [QueueSQL.Item] = []
          for _ in 0..<30 {
            let i = Int.random(in: 0..<urls, using: &rng)
            let campaign: String? = ["c0", "c1", "new\(round % 5)", nil].randomElement(using: &rng)!
            let deadline: Int64? = Bool.random(using: &rng) ? Int64.random(in: 0...(90 * h), using: &rng) : nil
            items.append(
              QueueSQL.Item(
                url: "http://h\(i % 3).test/\(i)", host: "h\(i % 3).test",
                reportedAt: Int64.random(in: 0...(60 * h), using: &rng), campaign: campaign, notice: "r\(r)-\(round)",
                deadline: deadline))
          }
          try QueueSQL(c).enqueue(items, now: 0)
          shared.committed()
        }
      }
    }
    let folder = Thread {
      guard let c = try? PostgresConnection(conninfo) else { return }
      while !shared.stopped {
        do { try c.execute("SELECT td_fold_tallies()") } catch { shared.record("fold: \(error)") }
        usleep(20_000)
      }
    }
    folder.start()
    group.wait()
    shared.stop()
    #expect(shared.errors == [])
    #expect(shared.commits == writers * 60 + 2 * 40)
    let expected = try compare(store, now: 40 * h, seed: 0)
    #expect(expected.campaigns.count >= 5)
    #expect(expected.byStatus[.takenDown]! > 100)
  }

  final class Shared: @unchecked Sendable {
    private let lock = NSLock()
    private var _errors: [String] = []
    private var _commits = 0
    private var _stopped = false
    var errors: [String] { lock.withLock { _errors } }
    var commits: Int { lock.withLock { _commits } }
    var stopped: Bool { lock.withLock { _stopped } }
    func record(_ e: String) { lock.withLock { _errors.append(e) } }
    func committed() { lock.withLock { _commits += 1 } }
    func stop() { lock.withLock { _stopped = true } }
  }

  /// A writer's open transaction that changed a URL's status holds up no other writer of the same host
  /// and campaign, no fold and no reader: nothing waits on a counter row.
  @Test func anOpenTransactionHoldsUpNoOtherWriter() throws {
    let uri = try Self.newDatabase("hot")
    let store = try PostgresStore(conninfo: uri, options: .init())
    try QueueSQL(store.connection).enqueue(
      (0..<10).map {
        QueueSQL.Item(url: "http://h.test/\($0)", host: "h.test", reportedAt: 0, campaign: "c", notice: nil, deadline: 5)
      }, now: 0)
    let name = Self.dbName(uri)
    let cluster = try PostgresCluster.shared.get()
    let a = try PostgresConnection(cluster.connectionString(database: name))
    let b = try PostgresConnection(cluster.connectionString(database: name))
    b.statementTimeout(ms: 3000)
    try a.execute("BEGIN")
    try a.execute("UPDATE urls SET status = 'taken_down', taken_down_at = 10, first_taken_down_at = 10 WHERE id = 1")
    // b: another URL of the same host and campaign, a fold, a summary: none may wait for a.
    let started = ContinuousClock.now
    try b.execute("UPDATE urls SET status = 'taken_down', taken_down_at = 10, first_taken_down_at = 10 WHERE id = 2")
    #expect(try b.scalar("SELECT td_fold_tallies()::int") == 1)
    let reader = try PostgresStore(conninfo: uri, options: .init())
    let during = try reader.summaryFigures(ReportFilter(), now: 100)
    #expect(ContinuousClock.now - started < .seconds(1))
    #expect(during.byStatus[.takenDown] == 1)
    try a.execute("COMMIT")
    let after = try compare(store, now: 100, seed: 0)
    #expect(after.byStatus[.takenDown] == 2 && after.takenDownLate == 2)
  }

  /// The interleavings a lost update would hide in, one at a time: a report that brings a URL into a
  /// campaign while a check changes its status (either one first, the other waiting on the URL's row),
  /// and two reports bringing it into the same campaign at once. Each must count the URL once, in the
  /// status it has after both.
  @Test func aReportAndAStatusChangeOfOneURLAreCountedInOrder() throws {
    let uri = try Self.newDatabase("race")
    let store = try PostgresStore(conninfo: uri, options: .init())
    try QueueSQL(store.connection).enqueue(
      (0..<3).map { QueueSQL.Item(url: "http://h.test/\($0)", host: "h.test", reportedAt: 0, campaign: "c", notice: nil, deadline: nil) },
      now: 0)
    let conninfo = try PostgresCluster.shared.get().connectionString(database: Self.dbName(uri))
    let a = try PostgresConnection(conninfo)
    let online = "UPDATE urls SET status = 'online' WHERE id = $1"
    func report(_ id: Int64, _ campaign: String, _ notice: String) -> String {
      "INSERT INTO reports (url_id, reported_at, campaign, notice, created_at) VALUES (\(id), 0, '\(campaign)', '\(notice)', 0)"
    }
    /// Runs `sql` on its own connection in a thread; returns a wait for it.
    func inBackground(_ sql: String) -> () -> Void {
      let done = DispatchSemaphore(value: 0)
      Thread {
        do { try PostgresConnection(conninfo).execute(sql) } catch { Issue.record("\(error)") }
        done.signal()
      }.start()
      return { done.wait() }
    }
    /// Until another session waits on a lock (the URL's row).
    func untilSomeoneWaits() throws {
      for _ in 0..<500 {
        if try store.connection.scalar("SELECT count(*) FROM pg_locks WHERE NOT granted") ?? 0 > 0 { return }
        usleep(10_000)
      }
      Issue.record("nobody waited on the URL's row")
    }
    // 1. The status change first: the report waits for it and counts the new status.
    try a.execute("BEGIN")
    try a.execute(online, [.int(1)])
    let first = inBackground(report(1, "late", "x"))
    try untilSomeoneWaits()
    try a.execute("COMMIT")
    first()
    // 2. The report first: the status change waits for it, then counts the URL out of "late2" too.
    try a.execute("BEGIN")
    try a.execute(report(2, "late2", "x"))
    let second = inBackground("UPDATE urls SET status = 'online' WHERE id = 2")
    try untilSomeoneWaits()
    try a.execute("COMMIT")
    second()
    // 3. Two reports of one new campaign for one URL: it joins once.
    try a.execute("BEGIN")
    try a.execute(report(3, "both", "x"))
    let third = inBackground(report(3, "both", "y"))
    try untilSomeoneWaits()
    try a.execute("COMMIT")
    third()
    let f = try compare(store, now: 0, seed: 0)
    #expect(f.campaigns.map(\.campaign) == ["both", "c", "late", "late2"])
    #expect(f.campaigns.map { $0.byStatus[.online]! } == [0, 2, 1, 1])
    #expect(f.campaigns.map(\.urls) == [1, 3, 1, 1])
  }

  static func dbName(_ uri: String) -> String {
    String(uri.dropFirst("postgresql:///".count).prefix { $0 != "?" })
  }

  /// The tallies' figures and the full pass's, each against `reference`; returns the reference.
  @discardableResult
  func compare(_ store: PostgresStore, now: Int64, seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws
    -> ReportFigures
  {
    let expected = try Self.reference(store.connection, now: now)
    let fast = try store.summaryFigures(ReportFilter(), now: now, topHosts: 5)
    let full = try store.figures(ReportFilter(), now: now, topHosts: 5)
    for (label, f) in [("tallies", fast), ("full pass", full)] {
      #expect(f.byStatus == expected.byStatus, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.takenDown == expected.takenDown, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.firstTakenDown == expected.firstTakenDown, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.takenDownLate == expected.takenDownLate, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.reappeared == expected.reappeared, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.overdue == expected.overdue, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.timeToTakedown == expected.timeToTakedown, "\(label), seed \(seed)", sourceLocation: sourceLocation)
      #expect(f.topHostsOnline.map(\.host) == expected.topHostsOnline.map(\.host), "\(label)", sourceLocation: sourceLocation)
      #expect(f.topHostsOnline.map(\.count) == expected.topHostsOnline.map(\.count), "\(label)", sourceLocation: sourceLocation)
      #expect(f.campaigns == expected.campaigns, "\(label), seed \(seed)", sourceLocation: sourceLocation)
    }
    #expect(try store.countsByStatus() == expected.byStatus, sourceLocation: sourceLocation)
    #expect(try store.overdueCount(now: now) == expected.overdue, sourceLocation: sourceLocation)
    return expected
  }

  /// Every figure the plain way, all rows into memory (as SummaryTalliesTests.reference, from PostgreSQL).
  static func reference(_ c: PostgresConnection, now: Int64) throws -> ReportFigures {
    var rows: [Int64: ReferenceFigures.Row] = [:]
    let r = try c.execute(
      "SELECT id, host, status, deadline_at, taken_down_at, first_taken_down_at, first_reported_at FROM urls")
    for i in 0..<r.rowCount {
      rows[r.int64(i, 0)!] = ReferenceFigures.Row(
        id: r.int64(i, 0)!, host: r.text(i, 1)!, status: URLStatus(rawValue: r.text(i, 2)!)!, deadline: r.int64(i, 3),
        latest: r.int64(i, 4), first: r.int64(i, 5), reported: r.int64(i, 6))
    }
    let m = try c.execute("SELECT campaign, url_id FROM reports")
    let members = (0..<m.rowCount).map { (m.text($0, 0), m.int64($0, 1)!) }
    let reappeared = Int(try c.scalar("SELECT count(DISTINCT url_id) FROM events WHERE to_status = 'reappeared'") ?? 0)
    return ReferenceFigures.compute(rows: rows, members: members, reappeared: reappeared, now: now)
  }
}

/// The figures of `figures(ReportFilter(), …)` computed the plain way, from rows in memory.
enum ReferenceFigures {
  struct Row {
    var id: Int64, host: String, status: URLStatus, deadline: Int64?, latest: Int64?, first: Int64?, reported: Int64?
  }

  static func compute(rows: [Int64: Row], members memberRows: [(String?, Int64)], reappeared: Int, now: Int64)
    -> ReportFigures
  {
    func isOverdue(_ r: Row) -> Bool {
      r.deadline.map { $0 < now } == true && r.status != .takenDown && r.status != .cancelled
    }
    func ttt(_ r: Row) -> Int64? {
      guard let f = r.first, let rep = r.reported else { return nil }
      return max(f - rep, 0)
    }
    func byStatus(_ rs: [Row]) -> [URLStatus: Int] {
      var out = [URLStatus: Int]()
      for st in URLStatus.allCases { out[st] = rs.filter { $0.status == st }.count }
      return out
    }
    func stats(_ rs: [Row]) -> DurationStats { DurationStats(sorted: rs.compactMap(ttt).sorted()) }
    let all = Array(rows.values)
    var members: [String?: Set<Int64>] = [:]
    for (campaign, id) in memberRows { members[campaign, default: []].insert(id) }
    let names = members.keys.sorted { a, b in
      guard let a else { return b != nil }
      guard let b else { return false }
      return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
    let campaigns: [CampaignFigures] = names.compactMap { name in
      let rs = members[name]!.compactMap { rows[$0] }
      guard !rs.isEmpty else { return nil }
      return CampaignFigures(
        campaign: name, urls: rs.count, byStatus: byStatus(rs), overdue: rs.filter(isOverdue).count,
        timeToTakedown: stats(rs))
    }
    var online: [String: Int] = [:]
    for r in all where r.status == .online || r.status == .reappeared { online[r.host, default: 0] += 1 }
    let hosts = online.sorted {
      $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
    }.prefix(5)
    return ReportFigures(
      filter: ReportFilter(), generatedAt: now, byStatus: byStatus(all),
      takenDown: all.filter { $0.latest != nil }.count,
      firstTakenDown: all.filter { $0.first != nil }.count,
      takenDownLate: all.filter { r in r.first.map { f in r.deadline.map { f > $0 } == true } == true }.count,
      reappeared: reappeared, overdue: all.filter(isOverdue).count, timeToTakedown: stats(all),
      timeToTakedownHistogram: [], takedownsPerDay: [], topHostsOnline: hosts.map { ($0.key, $0.value) },
      campaigns: campaigns)
  }
}

/// What the queue side does to urls, reports and events, as SQL on one connection (READ COMMITTED, the
/// default): the statements PostgresStore's enqueue and complete run, in the same shape.
struct QueueSQL {
  let c: PostgresConnection
  init(_ c: PostgresConnection) { self.c = c }

  struct Item {
    var url, host: String
    var reportedAt: Int64
    var campaign, notice: String?
    var deadline: Int64?
  }

  /// New URLs (their first report's date and deadline), reports, and earlier dates or deadlines moved up
  /// on known URLs: one statement for the reports and the move, as enqueue runs it. The URLs a move
  /// touches are locked in id order first, as every writer of several URLs should (no deadlock).
  func enqueue(_ items: [Item], now: Int64) throws {
    let json = JSON.array(
      items.enumerated().map { seq, i in
        .object([
          ("seq", .int(Int64(seq))), ("url", .string(i.url)), ("host", .string(i.host)), ("reported_at", .int(i.reportedAt)),
          ("campaign", .optional(i.campaign)), ("notice", .optional(i.notice)), ("deadline", .optional(i.deadline)),
        ])
      }
    ).rendered()
    let stage = """
      json_to_recordset($1::json) AS s (seq bigint, url text, host text, reported_at bigint, campaign text,
        notice text, deadline bigint)
      """
    try c.transaction {
      try c.execute(
        """
        INSERT INTO urls (url, host, created_at, next_check_at, first_reported_at, deadline_at)
        SELECT url, min(host), $2, $2, min(reported_at), min(deadline) FROM (
          SELECT DISTINCT ON (url, coalesce(campaign, ''), coalesce(notice, '')) url, host, reported_at, deadline
          FROM \(stage) ORDER BY url, coalesce(campaign, ''), coalesce(notice, ''), seq) AS first_reports
        GROUP BY url ORDER BY url
        ON CONFLICT (url) DO NOTHING
        """, [.text(json), .int(now)])
      try c.execute(
        "SELECT 1 FROM urls u WHERE u.url IN (SELECT s.url FROM \(stage)) ORDER BY u.id FOR NO KEY UPDATE", [.text(json)])
      try c.execute(
        """
        WITH added AS (
          INSERT INTO reports (url_id, reported_at, campaign, notice, created_at)
          SELECT u.id, s.reported_at, s.campaign, s.notice, $2 FROM \(stage) JOIN urls u ON u.url = s.url
          ORDER BY s.seq
          ON CONFLICT DO NOTHING
          RETURNING url_id, reported_at, deadline
        ), earliest AS (
          SELECT url_id, min(reported_at) AS reported_at, min(deadline) AS deadline FROM added GROUP BY url_id
        )
        UPDATE urls u SET first_reported_at = least(u.first_reported_at, e.reported_at),
          deadline_at = least(u.deadline_at, e.deadline)
        FROM earliest e
        WHERE u.id = e.url_id AND (u.first_reported_at IS NULL OR e.reported_at < u.first_reported_at
          OR e.deadline < u.deadline_at OR (u.deadline_at IS NULL AND e.deadline IS NOT NULL))
        """, [.text(json), .int(now)])
    }
  }

  /// Random statuses and removal times for these URLs (in id order), in one transaction: what a batch of
  /// checks does to them, without the schedule's rules.
  func randomStatuses<R: RandomNumberGenerator>(ids: [Int64], at t: Int64, rng: inout R) throws {
    let rows = ids.map { id -> JSON in
      let status = URLStatus.allCases.randomElement(using: &rng)!
      let removed = status == .takenDown || Int.random(in: 0..<4, using: &rng) == 0
      return .object([
        ("id", .int(id)), ("status", .string(status.rawValue)), ("removed", .bool(removed)),
        ("t", .int(t - Int64.random(in: 0...3_600_000, using: &rng))),
      ])
    }
    try c.transaction {
      // Locked in id order first: an UPDATE takes its rows in whatever order its join gives them, and two
      // writers taking overlapping rows in different orders deadlock.
      try c.execute(
        "SELECT 1 FROM urls WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
        [.text("{" + ids.map(String.init).joined(separator: ",") + "}")])
      try c.execute(
        """
        UPDATE urls u SET status = i.status,
          taken_down_at = CASE WHEN i.removed THEN i.t END,
          first_taken_down_at = CASE WHEN i.removed THEN coalesce(u.first_taken_down_at, i.t) ELSE u.first_taken_down_at END
        FROM (SELECT * FROM json_to_recordset($1::json) AS i (id bigint, status text, removed boolean, t bigint)
              ORDER BY id) AS i
        WHERE u.id = i.id
        """, [.text(JSON.array(rows).rendered())])
      try c.execute(
        """
        INSERT INTO events (url_id, at, from_status, to_status)
        SELECT id, t, 'taken_down', 'reappeared' FROM json_to_recordset($1::json) AS i (id bigint, status text, t bigint)
        WHERE status = 'reappeared'
        """, [.text(JSON.array(rows).rendered())])
    }
  }

  /// SummaryTalliesTests' edits behind the application's back, in PostgreSQL's dialect: reports moved to
  /// other campaigns and URLs (skipping any that would duplicate another), re-dated and deleted.
  func editReportsByHand(round: Int) throws {
    let unique = """
      AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = %URL% AND coalesce(o.campaign, '') = coalesce(%CAMPAIGN%, '')
        AND coalesce(o.notice, '') = coalesce(r.notice, ''))
      """
    let newCampaign = "CASE r.id % 3 WHEN 0 THEN NULL WHEN 1 THEN 'c9' ELSE r.campaign || 'x' END"
    try c.transaction {
      // Two rows moved onto one key in the same statement still collide: that edit is skipped whole.
      func tolerating(_ sql: String) throws {
        try c.execute("SAVEPOINT edit")
        do {
          try c.execute(sql)
        } catch let e as PostgresError where e.isUniqueViolation {
          try c.execute("ROLLBACK TO SAVEPOINT edit")
        }
        try c.execute("RELEASE SAVEPOINT edit")
      }
      try tolerating(
        """
        UPDATE reports r SET campaign = \(newCampaign) WHERE r.id % 97 = \(round)
        \(unique.replacingOccurrences(of: "%URL%", with: "r.url_id").replacingOccurrences(of: "%CAMPAIGN%", with: newCampaign))
        """)
      try c.execute(
        "UPDATE reports SET reported_at = reported_at - 3600000, deadline = 20 * 3600000 WHERE id % 89 = \(round)")
      try tolerating(
        """
        UPDATE reports r SET url_id = r.url_id % 50 + 1 WHERE r.id % 101 = \(round)
        \(unique.replacingOccurrences(of: "%URL%", with: "r.url_id % 50 + 1").replacingOccurrences(of: "%CAMPAIGN%", with: "r.campaign"))
        """)
      try c.execute("DELETE FROM reports WHERE id % 83 = \(round)")
      // What SQLite's reports_aggregate triggers keep: the earliest report and deadline of each URL.
      try c.execute(
        """
        UPDATE urls u SET first_reported_at = a.reported, deadline_at = a.deadline
        FROM (SELECT u2.id, min(r.reported_at) AS reported, min(r.deadline) AS deadline
              FROM urls u2 LEFT JOIN reports r ON r.url_id = u2.id GROUP BY u2.id) AS a
        WHERE a.id = u.id AND (u.first_reported_at IS DISTINCT FROM a.reported OR u.deadline_at IS DISTINCT FROM a.deadline)
        """)
    }
  }
}

extension PostgresConnection {
  /// Any statement running longer fails (a test must fail, not hang, when something waits on a lock).
  func statementTimeout(ms: Int) { _ = try? execute("SET statement_timeout = \(ms)") }
}
