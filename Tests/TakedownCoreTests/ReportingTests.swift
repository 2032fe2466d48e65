import Foundation
import Testing

@testable import TakedownCore

@Suite struct CSVTests {
  func parse(_ s: String) -> [CSVRecord] { CSVReader.parse(Array(s.utf8)) }

  @Test func quotedCommasQuotesAndLineBreaksWithCRLF() {
    let records = parse("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"one\r\ntwo\"\r\n\r\nlast,,\"\"\r\n")
    #expect(
      records == [
        CSVRecord(fields: ["a", "b", "c"], line: 1),
        CSVRecord(fields: ["x, y", "say \"hi\"", "one\r\ntwo"], line: 2),
        CSVRecord(fields: ["last", "", ""], line: 5),
      ])
  }

  @Test func byteOrderMarkLFAndNoFinalNewline() {
    let records = CSVReader.parse([0xEF, 0xBB, 0xBF] + Array("url\nhttp://a.test/\nhttp://b.test/".utf8))
    #expect(records.map(\.fields) == [["url"], ["http://a.test/"], ["http://b.test/"]])
    #expect(records.map(\.line) == [1, 2, 3])
  }

  @Test func aByteOrderMarkSplitAcrossReadsIsStillSkipped() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let writeEnd = fds[1]
    let writer = Thread {
      for chunk in [[0xEF], [0xBB], [0xBF, 0x61, 0x2C], Array("b\n1,2\n".utf8)] as [[UInt8]] {
        _ = chunk.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        usleep(2000)
      }
      close(writeEnd)
    }
    writer.start()
    var reader = CSVReader(fd: fds[0])
    var out: [[String]] = []
    try reader.forEach { out.append($0.fields) }
    close(fds[0])
    #expect(out == [["a", "b"], ["1", "2"]])
  }

  @Test func malformedRecordsAreReportedAndParsingGoesOn() {
    let records = parse("h1,h2\nab\"c,d\n\"ab\"c,d\nok,1\n\"never closed,x\ny,z\n")
    #expect(records.count == 5)
    #expect(records[1].line == 2)
    #expect(records[1].error?.contains("does not start with one") == true)
    #expect(records[2].line == 3)
    #expect(records[2].error?.contains("after its closing quote") == true)
    #expect(records[3] == CSVRecord(fields: ["ok", "1"], line: 4))
    #expect(records[4].line == 5)
    #expect(records[4].error?.contains("opened on line 5 is never closed") == true)
  }

  @Test func invalidUTF8AndOverlongRecordsAreErrors() {
    let bad = CSVReader.parse(Array("a,b\n".utf8) + [0xFF, 0x2C, 0x62, 0x0A] + Array("c,d\n".utf8))
    #expect(bad[1].error == "field 1 is not valid UTF-8")
    #expect(bad[2].fields == ["c", "d"])
    let long = CSVReader.parse(Array("a\n\(String(repeating: "x", count: 100))\nb\n".utf8), maxRecordBytes: 50)
    #expect(long[1].error == "the record is longer than 50 bytes")
    #expect(long[2] == CSVRecord(fields: ["b"], line: 3))
  }

  @Test func writerQuotesOnlyWhenNeededAndRoundTrips() {
    var out: [UInt8] = []
    let fields = ["plain", "a,b", "say \"x\"", "two\nlines", "", "ünï"]
    CSVWriter.append(record: fields, to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "plain,\"a,b\",\"say \"\"x\"\"\",\"two\nlines\",,ünï\r\n")
    #expect(CSVReader.parse(out).map(\.fields) == [fields])
  }

  @Test func headerNamesColumnsAndKeepsTheRestAsExtras() throws {
    let h = try CSVImportHeader(["URL", "Reported At", "deadline", "Platform", "status", "notice"])
    let row = try h.row(["http://A.test/x", "2026-03-01", " 2026-03-08T12:00:00+02:00 ", "yt", "online", ""]).get()
    #expect(row.item.url.url == "http://a.test/x")
    #expect(row.item.report.reportedAt == Timestamp.parse("2026-03-01"))
    #expect(row.item.report.deadline == Timestamp.parse("2026-03-08T10:00:00Z"))
    #expect(row.item.report.notice == nil)
    // "status" is export's, not the report's: ignored.
    #expect(row.extra.map(\.0) == ["Platform"])
    #expect(row.extra.map(\.1) == ["yt"])
    #expect(throws: CSVImportError.self) { try CSVImportHeader(["campaign", "notice"]) }
    #expect(throws: CSVImportError.self) { try CSVImportHeader(["url", "Campaign", "campaign"]) }
    #expect(throws: CSVImportError.self) { try CSVImportHeader(["url", ""]) }
  }

  @Test func extraFieldsRoundTripThroughTheirJSON() throws {
    let fields = [("note", "said \"no\"\r\nthen yes"), ("ключ", "😀 \u{1}"), ("empty", "")]
    let json = try #require(ExtraFields.encode(fields))
    let back = try #require(ExtraFields.decode(json))
    #expect(back.map(\.0) == fields.map(\.0))
    #expect(back.map(\.1) == fields.map(\.1))
    #expect(ExtraFields.decode("{\"n\": 3, \"b\": true, \"o\": {\"x\": [1, 2]}}")?.map(\.1) == ["3", "true", "{\"x\": [1, 2]}"])
    #expect(ExtraFields.decode("not json") == nil)
    #expect(ExtraFields.encode([]) == nil)
  }
}

@Suite struct PercentileTests {
  @Test(arguments: [
    ([Int64](), nil as Int64?, nil as Int64?, nil as Int64?),
    ([7], 7, 7, 7),
    ([1, 2, 3, 4, 10], 3, 10, 10),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, 9, 10),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 6, 10, 11),
  ])
  func nearestRank(values: [Int64], p50: Int64?, p90: Int64?, max: Int64?) {
    let s = DurationStats(sorted: values)
    #expect(s.count == values.count)
    #expect(s.p50 == p50)
    #expect(s.p90 == p90)
    #expect(s.max == max)
  }

  @Test func histogramBucketsAndShortDurations() {
    let h = Durations.histogram([0, 3_599_999, 3_600_000, 86_400_000 * 2, 86_400_000 * 40])
    #expect(h == [2, 1, 0, 0, 1, 0, 0, 0, 1])
    #expect(Durations.short(90_061_000) == "1d 1h")
    #expect(Durations.short(3_720_000) == "1h 2m")
    #expect(Durations.short(45_000) == "45s")
  }
}

/// The figures of a small queue worked out by hand. Hours from t = 0; every URL is reported at 0h
/// except h (reported at 1h in c2 and 2h in c1: time-to-takedown counts from 1h).
///
///   url  host    campaign  deadline  what happens                         ttt
///   a    x.test  c1        48h       removed 1h, back online 50h          1h  (reappeared; overdue at 100h)
///   b    x.test  c1        48h       removed 2h                           2h
///   c    x.test  c1        -         removed 3h                           3h
///   d    y.test  c2        10h       removed 4h                           4h
///   e    y.test  c2        5h        removed 10h (late)                   10h
///   f    y.test  c2        24h       online 1h                            -   (overdue at 100h)
///   g    y.test  c1        24h       cancelled 1h                         -   (never overdue)
///   h    y.test  c1, c2    -         removed 6h                           5h
@Suite struct FiguresTests {
  let dir = TempDir()
  static let hour: Int64 = 3_600_000

  func makeStore() throws -> SQLiteStore {
    let store = try SQLiteStore(path: dir.path + "/f.sqlite")
    let h = Self.hour
    func item(_ u: String, _ campaign: String, reported: Int64 = 0, deadline: Int64? = nil) throws -> EnqueueItem {
      EnqueueItem(
        url: try URLNormalizer.normalize(u).get(),
        report: ReportMetadata(reportedAt: reported, campaign: campaign, deadline: deadline))
    }
    _ = try store.enqueue(
      [
        try item("http://x.test/a", "c1", deadline: 48 * h), try item("http://x.test/b", "c1", deadline: 48 * h),
        try item("http://x.test/c", "c1"), try item("http://y.test/d", "c2", deadline: 10 * h),
        try item("http://y.test/e", "c2", deadline: 5 * h), try item("http://y.test/f", "c2", deadline: 24 * h),
        try item("http://y.test/g", "c1", deadline: 24 * h), try item("http://y.test/h", "c2", reported: 1 * h),
        try item("http://y.test/h", "c1", reported: 2 * h),
      ], now: 0)
    var config = ScheduleConfig()
    config.confirmations = 1
    // Each step claims whatever is due, records one URL's result and gives the others back.
    func check(_ path: String, _ observation: Observation, at t: Int64) throws {
      let claimed = try store.claim(holder: "t", limit: 100, now: t, leaseMs: 1000)
      let target = try #require(claimed.first { $0.url.hasSuffix(path) }, "\(path) due at \(t)")
      let reason: Reason = observation == .online ? .http200 : .http404
      _ = try store.complete(
        [
          ProbeResult(
            claim: target, checkedAt: t, observation: observation, reason: reason,
            httpStatus: observation == .online ? 200 : 404, curlCode: 0, finalURL: target.url, redirects: 0,
            remoteIP: nil, timings: .init(), bytes: 0)
        ], holder: "t", config: config, jitter: { 0.5 })
      try store.release(claimed.filter { $0.id != target.id }, holder: "t", now: t)
    }
    try check("/a", .removed, at: 1 * h)
    try check("/f", .online, at: 1 * h)
    _ = try store.cancel(id: try #require(try store.lookup("http://y.test/g")).id, now: 1 * h)
    try check("/b", .removed, at: 2 * h)
    try check("/c", .removed, at: 3 * h)
    try check("/d", .removed, at: 4 * h)
    try check("/h", .removed, at: 6 * h)
    try check("/e", .removed, at: 10 * h)
    // a is watched once a day: due again at 25h.
    try check("/a", .online, at: 50 * h)
    return store
  }

  @Test func allTime() throws {
    let store = try makeStore()
    let h = Self.hour
    let f = try store.figures(ReportFilter(), now: 100 * h)
    #expect(f.byStatus == [.pending: 0, .online: 1, .takenDown: 5, .unreachable: 0, .reappeared: 1, .cancelled: 1])
    #expect(f.total == 8)
    #expect(f.takenDown == 6)
    #expect(f.firstTakenDown == 6)
    #expect(f.takenDownLate == 1)
    #expect(f.reappeared == 1)
    #expect(f.overdue == 2)
    #expect(try store.overdueCount(now: 100 * h) == 2)
    #expect(try store.overdueCount(now: 0) == 0)
    // 1, 2, 3, 4, 5, 10 hours: p50 = rank 3, p90 = rank ⌈5.4⌉ = 6.
    #expect(f.timeToTakedown == DurationStats(count: 6, p50: 3 * h, p90: 10 * h, max: 10 * h))
    #expect(f.timeToTakedownHistogram == [0, 5, 1, 0, 0, 0, 0, 0, 0])
    #expect(f.takedownsPerDay.map(\.day) == [0])
    #expect(f.takedownsPerDay.map(\.count) == [6])
    #expect(f.topHostsOnline.map(\.host) == ["x.test", "y.test"])
    #expect(f.topHostsOnline.map(\.count) == [1, 1])
    let c1 = try #require(f.campaigns.first { $0.campaign == "c1" })
    #expect(c1.urls == 5)
    #expect(c1.byStatus[.takenDown] == 3)
    #expect(c1.overdue == 1)
    #expect(c1.timeToTakedown == DurationStats(count: 4, p50: 2 * h, p90: 5 * h, max: 5 * h))
    let c2 = try #require(f.campaigns.first { $0.campaign == "c2" })
    #expect(c2.urls == 4)
    #expect(c2.overdue == 1)
    #expect(c2.timeToTakedown == DurationStats(count: 3, p50: 5 * h, p90: 10 * h, max: 10 * h))
    #expect(f.campaigns.count == 2)
    let overdue = try store.overdueURLs(ReportFilter(), now: 100 * h, limit: 10)
    #expect(overdue.map(\.url) == ["http://y.test/f", "http://x.test/a"])
    #expect(overdue.map(\.campaigns) == [["c2"], ["c1"]])
  }

  @Test func sinceCountsOnlyWhatHappenedInTheWindow() throws {
    let store = try makeStore()
    let h = Self.hour
    let f = try store.figures(ReportFilter(since: 3 * h + h / 2), now: 100 * h)
    // Totals and overdue are the present state, whatever the window.
    #expect(f.total == 8)
    #expect(f.overdue == 2)
    #expect(f.takenDown == 3)
    #expect(f.firstTakenDown == 3)
    #expect(f.reappeared == 1)
    #expect(f.timeToTakedown == DurationStats(count: 3, p50: 5 * h, p90: 10 * h, max: 10 * h))
    let late = try store.figures(ReportFilter(since: 60 * h), now: 100 * h)
    #expect(late.reappeared == 0)
    #expect(late.timeToTakedown.count == 0)
  }

  @Test func campaignAndHostSelectURLs() throws {
    let store = try makeStore()
    let h = Self.hour
    let c2 = try store.figures(ReportFilter(campaign: "c2"), now: 100 * h)
    #expect(c2.total == 4)
    #expect(c2.overdue == 1)
    #expect(c2.reappeared == 0)
    #expect(c2.campaigns.map(\.campaign) == ["c2"])
    // h counts from its earliest report (1h, c2) in every campaign it is in.
    let c1 = try store.figures(ReportFilter(campaign: "c1"), now: 100 * h)
    #expect(c1.timeToTakedown.max == 5 * h)
    #expect(c1.reappeared == 1)
    let y = try store.figures(ReportFilter(host: "Y.TEST"), now: 100 * h)
    #expect(y.total == 5)
    #expect(y.topHostsOnline.map(\.host) == ["y.test"])
    #expect(y.campaigns.map(\.urls) == [2, 4])
    let none = try store.figures(ReportFilter(campaign: "nope"), now: 100 * h)
    #expect(none.total == 0)
    #expect(none.campaigns.isEmpty)
    #expect(none.timeToTakedown.p50 == nil)
  }

  @Test func theReportingMigrationFillsInExistingURLs() throws {
    // A database from before 0002: only the core schema, with reports already in it.
    let path = dir.path + "/old.sqlite"
    do {
      let db = try SQLiteConnection(path: path)
      try db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
      try db.execute(Migrations.all[0].sql)
      try db.execute("INSERT INTO schema_migrations VALUES ('0001_core', 0)")
      try db.execute(
        """
        INSERT INTO urls(id, url, host, created_at) VALUES (1, 'http://a.test/', 'a.test', 0), (2, 'http://b.test/', 'b.test', 0);
        INSERT INTO reports(url_id, reported_at, campaign, deadline, created_at) VALUES
          (1, 500, 'c1', 9000, 0), (1, 300, 'c2', NULL, 0), (1, 700, 'c3', 8000, 0), (2, 100, NULL, NULL, 0);
        """)
    }
    let store = try SQLiteStore(path: path)
    #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE id = 1") == 300)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE id = 1") == 8000)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE id = 2") == nil)
    // The triggers keep them right from now on.
    try store.db.execute("INSERT INTO reports(url_id, reported_at, campaign, deadline, created_at) VALUES (2, 50, 'c9', 70, 0)")
    #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE id = 2") == 50)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE id = 2") == 70)
    try store.db.execute("DELETE FROM reports WHERE url_id = 2 AND reported_at = 50")
    #expect(try store.db.scalar("SELECT first_reported_at FROM urls WHERE id = 2") == 100)
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE id = 2") == nil)
    try store.db.execute("UPDATE reports SET deadline = 10 WHERE url_id = 1 AND campaign = 'c2'")
    #expect(try store.db.scalar("SELECT deadline_at FROM urls WHERE id = 1") == 10)
  }

  @Test func extrasAreStoredOnceOnTheMatchingReport() throws {
    let store = try SQLiteStore(path: dir.path + "/x.sqlite")
    let url = try URLNormalizer.normalize("http://a.test/1").get()
    _ = try store.enqueue(
      [
        EnqueueItem(url: url, report: ReportMetadata(campaign: "c1")),
        EnqueueItem(url: url, report: ReportMetadata(campaign: "c1", notice: "n")),
      ], now: 0)
    try store.setReportExtras([
      ReportExtra(url: url.url, campaign: "c1", notice: nil, json: "{\"k\":\"first\"}"),
      ReportExtra(url: url.url, campaign: "c1", notice: nil, json: "{\"k\":\"second\"}"),
    ])
    let s = try store.db.statement("SELECT extra FROM reports ORDER BY id")
    var extras: [String?] = []
    while try s.step() { extras.append(s.optionalText(0)) }
    s.reset()
    #expect(extras == ["{\"k\":\"first\"}", nil])
  }
}

@Suite struct ExportEncodingTests {
  @Test func byteDatesAreTimestampIso() {
    var rng = SystemRandomNumberGenerator()
    var samples: [Int64] = [0, 1, 999, 1000, -1, -1000, -86_400_001, 951_782_400_000, 4_102_444_799_999]
    for _ in 0..<2000 { samples.append(Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &rng)) }
    for t in samples {
      var out: [UInt8] = []
      ByteFormat.appendISO(t, to: &out)
      #expect(String(decoding: out, as: UTF8.self) == Timestamp.iso(t), "\(t)")
    }
  }

  @Test func rowEncodingsMatchTheValueBasedOnes() {
    let rows = [
      ExportRow(
        url: "https://a.test/x?q=\"1\",2", campaign: "c, 1", notice: nil, rightholder: "R\nH", work: "ü\u{1}",
        reportedAt: 1_772_323_200_250, deadline: nil, extra: [("k", "v\"w"), ("ключ", "\t")], urlID: 42,
        host: "a.test", status: "taken_down", reason: "http_404", httpStatus: 404, takenDownAt: 1_772_400_000_000,
        firstTakenDownAt: -5, lastCheckedAt: nil, finalURL: "https://a.test/y", checks: 3),
      ExportRow(
        url: "http://b.test/", campaign: nil, notice: nil, rightholder: nil, work: nil, reportedAt: 0, deadline: 0,
        extra: [], urlID: 1, host: "b.test", status: "pending", reason: nil, httpStatus: nil, takenDownAt: nil,
        firstTakenDownAt: nil, lastCheckedAt: nil, finalURL: nil, checks: 0),
    ]
    for row in rows {
      var json: [UInt8] = []
      row.appendJSON(to: &json)
      #expect(String(decoding: json, as: UTF8.self) == row.json.rendered())
      var csv: [UInt8] = []
      row.appendCSV(extraKeys: ["k", "missing", "ключ"], to: &csv)
      var expected: [UInt8] = []
      CSVWriter.append(record: row.csvFields(extraKeys: ["k", "missing", "ключ"]), to: &expected)
      #expect(csv == expected)
    }
  }
}
