import Foundation
import TestPostgres
import Testing

@testable import TakedownCore

/// The reading side of `PostgresStore` against its specification, `SQLiteStore`: a realistic queue is
/// built in SQLite with the real store code, copied into PostgreSQL with `QueueCopy`, and every reading
/// method must give the same values on both, rendered the way takedownctl renders them.
@Suite(.serialized) struct PostgresConformanceTests {
  /// Built once: the two stores over the same queue.
  final class Pair: @unchecked Sendable {
    let dir = TempDir()
    let sqlite: SQLiteStore
    let postgres: PostgresStore
    let database: String
    let end: Int64
    let copied: QueueCopy.Outcome

    init() throws {
      let path = dir.path + "/q.sqlite"
      end = try RealisticQueue.build(at: path)
      sqlite = try SQLiteStore(path: path, create: false, readOnly: true)
      // A collation that orders text unlike its bytes ("alpha" < "älpha" < "b c" < "spring" < "Spring" <
      // "Zeta"), as a production database's en_US would: the output must still be SQLite's, byte order.
      let cluster = try PostgresCluster.shared.get()
      let name = "conf_icu_\(getpid())"
      try PostgresConnection(cluster.connectionString()).execute(
        "CREATE DATABASE \(name) TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
      database = cluster.uri(database: name)
      copied = try QueueCopy(source: sqlite, target: try PostgresStore(conninfo: database, options: .init())).run()
      var o = StoreOpener.Options()
      o.readOnly = true
      postgres = try PostgresStore(conninfo: database, options: o)
    }
  }
  static let pair = Result { try Pair() }

  var p: Pair { get throws { try Self.pair.get() } }
  static let h = RealisticQueue.hour

  @Test func theCopyCarriesEveryRowAndCountsThem() throws {
    let p = try p
    #expect(!p.copied.alreadyCopied)
    #expect(
      p.copied.counts.map(\.table) == [
        "urls", "reports", "checks", "events", "summaries", "check_folds", "history_marks", "daemon_state",
      ])
    for c in p.copied.counts { #expect(c.source == c.target, "\(c.table)") }
    #expect(p.copied.counts.allSatisfy { $0.source > 0 })
    // Ids are kept, so an event or a check names the same URL on both.
    for table in ["urls", "reports", "checks", "events", "summaries"] {
      let maxID = try p.sqlite.db.scalar("SELECT max(id) FROM \(table)")
      #expect(try p.postgres.connection.scalar("SELECT max(id) FROM \(table)") == maxID, "\(table)")
    }
    let cursor = "SELECT value FROM daemon_state WHERE key = 'status_log.event_id'"
    #expect(try p.postgres.connection.scalar(cursor) == p.sqlite.db.scalar(cursor))
    #expect(try p.postgres.connection.scalar(cursor) ?? 0 > 0)
    // The node that ran on SQLite goes on from there on PostgreSQL, where each node has its own cursor.
    #expect(try p.postgres.statusLogCursor(node: "node-0") == p.sqlite.statusLogCursor(node: "node-0"))
    #expect(try p.postgres.statusLogCursor(node: "another") == nil)
    #expect(try p.postgres.connection.scalar("SELECT count(*) FROM nodes") == 0)
  }

  @Test func figuresAreTheSameForEveryFilter() throws {
    let p = try p
    let filters = [
      ReportFilter(), ReportFilter(campaign: "spring"), ReportFilter(campaign: "Spring"), ReportFilter(campaign: ""),
      ReportFilter(campaign: "nope"), ReportFilter(host: "H3.TEST"), ReportFilter(since: p.end / 2),
      ReportFilter(campaign: "alpha", host: "h4.test", since: 20 * Self.h),
    ]
    for f in filters {
      for now in [p.end / 3, p.end, p.end + 400 * Self.h] {
        let a = try p.sqlite.figures(f, now: now, topHosts: 5)
        let b = try p.postgres.figures(f, now: now, topHosts: 5)
        expectSame(a, b, "figures \(f) at \(now)")
        #expect(a.timeToTakedownHistogram == b.timeToTakedownHistogram)
        #expect(a.takedownsPerDay.map(\.day) == b.takedownsPerDay.map(\.day))
        #expect(a.takedownsPerDay.map(\.count) == b.takedownsPerDay.map(\.count))
        let s = try p.sqlite.summaryFigures(f, now: now, topHosts: 5)
        let t = try p.postgres.summaryFigures(f, now: now, topHosts: 5)
        expectSame(s, t, "summaryFigures \(f) at \(now)")
        // And the text and JSON takedownctl prints from them.
        #expect(s.textLines == t.textLines)
        #expect(JSON.object(s.jsonFields).rendered() == JSON.object(t.jsonFields).rendered())
        #expect(try p.sqlite.overdueURLs(f, now: now, limit: 50) == p.postgres.overdueURLs(f, now: now, limit: 50))
      }
    }
    let sides = SidePostgresFigures.used.load(ordering: .relaxed)
    let all = try p.postgres.figures(ReportFilter(), now: p.end)
    // The campaigns and hosts were read on a second connection, in the same snapshot.
    #expect(SidePostgresFigures.used.load(ordering: .relaxed) > sides)
    // Not a vacuous comparison: the queue reaches every kind of figure.
    #expect(all.campaigns.count == RealisticQueue.campaigns.count + 1)
    #expect(all.reappeared > 0 && all.takenDownLate > 0 && all.overdue > 0 && all.byStatus[.cancelled]! > 0)
  }

  @Test func countsSummariesAndHistoryOfStatuses() throws {
    let p = try p
    // What `takedownctl summary` prints, all of it (the queue side's counts of due and leased included).
    for f in [ReportFilter(), ReportFilter(campaign: "b c")] {
      let a = try SummaryReport.load(from: p.sqlite, now: p.end, filter: f)
      let b = try SummaryReport.load(from: p.postgres, now: p.end, filter: f)
      #expect(a.text == b.text)
      #expect(a.json.rendered() == b.json.rendered())
    }
    // And the events, with their ids.
    func events(_ s: any TakedownStore, after: Int64) throws -> [String] {
      try s.events(afterID: after, since: nil, limit: 100_000).map { "\($0.id) \($0.transition)" }
    }
    #expect(try events(p.sqlite, after: 0) == events(p.postgres, after: 0))
    #expect(try events(p.sqlite, after: 0).count > 500)
    #expect(try p.sqlite.lastEventID() == p.postgres.lastEventID())
    #expect(try p.sqlite.eventIDBeforeLast(10) == p.postgres.eventIDBeforeLast(10))
    #expect(try p.sqlite.countsByStatus() == p.postgres.countsByStatus())
    #expect(try p.sqlite.lastSummary() == p.postgres.lastSummary())
    #expect(try p.sqlite.countSummaries() == p.postgres.countSummaries())
    for now in [0, p.end / 2, p.end, p.end * 2] {
      #expect(try p.sqlite.overdueCount(now: now) == p.postgres.overdueCount(now: now))
    }
    for (since, points) in [(nil, 400), (nil, 7), (p.end / 2, 5), (p.end + 1, 10)] as [(Int64?, Int)] {
      #expect(
        try p.sqlite.statusHistory(since: since, maxPoints: points)
          == p.postgres.statusHistory(since: since, maxPoints: points))
    }
  }

  @Test func listLookupHistoryAndTransitions() throws {
    let p = try p
    let filters = [
      ListFilter(), ListFilter(withReports: true), ListFilter(status: .takenDown), ListFilter(host: "H5.test"),
      ListFilter(campaign: "älpha", withReports: true), ListFilter(status: .online, campaign: "", limit: 7),
      ListFilter(limit: 0),
    ]
    for f in filters {
      var a: [String] = []
      var b: [String] = []
      try p.sqlite.list(f) { a.append($0.json.rendered()) }
      try p.postgres.list(f) { b.append($0.json.rendered()) }
      #expect(a == b, "\(f)")
    }
    let ids = try p.sqlite.db.scalar("SELECT max(id) FROM urls") ?? 0
    for id in 1...ids {
      let a = try #require(try p.sqlite.lookup(String(id)))
      let b = try #require(try p.postgres.lookup(String(id)))
      #expect(a.json.rendered() == b.json.rendered())
      #expect(try p.sqlite.history(urlID: id).map { $0.json.rendered() } == p.postgres.history(urlID: id).map { $0.json.rendered() })
      #expect(try p.sqlite.folds(urlID: id) == p.postgres.folds(urlID: id))
      let ta = try p.sqlite.transitions(urlID: id, url: a.url)
      let tb = try p.postgres.transitions(urlID: id, url: b.url)
      #expect(ta.map { "\($0)" } == tb.map { "\($0)" })
      if id % 50 == 0 {
        // Any spelling finds it; the evidence record reads both.
        let spelled = a.url.replacingOccurrences(of: "http://", with: "HTTP://")
        #expect(try p.postgres.lookup(spelled)?.id == id)
        #expect(
          try EvidenceRecord.load(from: p.sqlite, url: a).text == EvidenceRecord.load(from: p.postgres, url: b).text)
      }
    }
    #expect(try p.postgres.lookup(String(ids + 1)) == nil)
    #expect(try p.postgres.lookup("http://nowhere.test/") == nil)
    #expect(try p.postgres.lookup("ftp://x") == nil)
  }

  @Test func exportsAreByteForByteTheSame() throws {
    let p = try p
    let filters = [
      ExportFilter(), ExportFilter(campaign: "spring"), ExportFilter(host: "h2.TEST"), ExportFilter(status: .takenDown),
      ExportFilter(reportedSince: 12 * Self.h), ExportFilter(campaign: "nope"),
    ]
    for f in filters {
      func render(_ s: any TakedownStore) throws -> (keys: [String], csv: [UInt8], json: [UInt8]) {
        try s.readConsistently {
          let keys = try s.exportExtraKeys(f)
          var csv: [UInt8] = []
          var json: [UInt8] = []
          try s.exportRows(f) { row in
            row.appendCSV(extraKeys: keys, to: &csv)
            row.appendJSON(to: &json)
          }
          return (keys, csv, json)
        }
      }
      let a = try render(p.sqlite)
      let b = try render(p.postgres)
      #expect(a.keys == b.keys, "\(f)")
      // Compared as a Bool: a failure names where the outputs part, not every byte of them.
      func firstDifference(_ x: [UInt8], _ y: [UInt8]) -> String {
        let i = zip(x, y).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(x.count, y.count)
        return "from byte \(i): \(String(decoding: x[i...].prefix(120), as: UTF8.self)) | \(String(decoding: y[i...].prefix(120), as: UTF8.self))"
      }
      let sameCSV = a.csv == b.csv
      #expect(sameCSV, "\(f) CSV differs \(firstDifference(a.csv, b.csv))")
      let sameJSON = a.json == b.json
      #expect(sameJSON, "\(f) JSON differs \(firstDifference(a.json, b.json))")
      if f == ExportFilter() { #expect(a.keys == ["Platform", "Note", "Ticket"] && a.csv.count > 100_000) }
    }
  }

  /// A role that may only read, and only over one connection: the figures' second connection is
  /// refused, so they are read on the first one, and come out the same.
  @Test func aReaderWithOneConnectionAndNoWriteAccessReadsTheSame() throws {
    let p = try p
    let role = "reader_\(getpid())"
    let admin = try PostgresConnection(p.database)
    try admin.executeScript(
      """
      CREATE ROLE \(role) LOGIN CONNECTION LIMIT 1;
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role);
      """)
    var o = StoreOpener.Options()
    o.readOnly = true
    let reader = try PostgresStore(conninfo: p.database.replacingOccurrences(of: "user=postgres", with: "user=\(role)"), options: o)
    for f in [ReportFilter(), ReportFilter(campaign: "Spring", since: p.end / 3)] {
      expectSame(try p.sqlite.figures(f, now: p.end), try reader.figures(f, now: p.end), "one connection \(f)")
      expectSame(try p.sqlite.summaryFigures(f, now: p.end), try reader.summaryFigures(f, now: p.end), "reader \(f)")
    }
    #expect(try p.sqlite.countsByStatus() == reader.countsByStatus())
  }

  @Test func theHTMLReportIsTheSame() throws {
    let p = try p
    for f in [ReportFilter(), ReportFilter(campaign: "Zeta", since: p.end / 4)] {
      let a = try HTMLReport.load(from: p.sqlite, filter: f, now: p.end, topHosts: 15, overdueLimit: 500).render()
      let b = try HTMLReport.load(from: p.postgres, filter: f, now: p.end, topHosts: 15, overdueLimit: 500).render()
      #expect(a == b)
    }
  }

  @Test func aSecondCopyOfTheSameSourceWritesNothingAndAnotherSourceIsRefused() throws {
    let p = try p
    let again = try QueueCopy(source: p.sqlite, target: try PostgresStore(conninfo: p.database, options: .init())).run()
    #expect(again.alreadyCopied)
    #expect(again.counts == p.copied.counts)
    let other = p.dir.path + "/other.sqlite"
    try RealisticQueue.build(at: other, urls: 50, rounds: 2, seed: 9)
    do {
      _ = try QueueCopy(
        source: try SQLiteStore(path: other, readOnly: true), target: try PostgresStore(conninfo: p.database, options: .init())
      ).run()
      Issue.record("a copy into a database holding another queue was accepted")
    } catch let e as QueueCopy.Failure {
      #expect(e.sysExit == .cantCreate)
      #expect(e.description.contains("already holds a queue (urls 1"))
    }
  }

  func expectSame(_ a: ReportFigures, _ b: ReportFigures, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.byStatus == b.byStatus, "\(label)", sourceLocation: sourceLocation)
    #expect(a.takenDown == b.takenDown, "\(label)", sourceLocation: sourceLocation)
    #expect(a.firstTakenDown == b.firstTakenDown, "\(label)", sourceLocation: sourceLocation)
    #expect(a.takenDownLate == b.takenDownLate, "\(label)", sourceLocation: sourceLocation)
    #expect(a.reappeared == b.reappeared, "\(label)", sourceLocation: sourceLocation)
    #expect(a.overdue == b.overdue, "\(label)", sourceLocation: sourceLocation)
    #expect(a.timeToTakedown == b.timeToTakedown, "\(label)", sourceLocation: sourceLocation)
    #expect(a.topHostsOnline.map(\.host) == b.topHostsOnline.map(\.host), "\(label)", sourceLocation: sourceLocation)
    #expect(a.topHostsOnline.map(\.count) == b.topHostsOnline.map(\.count), "\(label)", sourceLocation: sourceLocation)
    #expect(a.campaigns == b.campaigns, "\(label)", sourceLocation: sourceLocation)
  }
}
