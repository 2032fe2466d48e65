import Foundation
import TakedownCore
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// import, export, summary and report with the built takedownctl on a temp database.
@Suite struct ReportingEndToEndTests {
  /// BOM, CRLF, quoted commas and quotes, an embedded line break, a missing url, a bad date, a duplicate
  /// (another spelling of row 2's URL), a refused scheme, a short row.
  static let messyCSV: [UInt8] =
    [0xEF, 0xBB, 0xBF]
    + Array(
      ("URL,Campaign,notice,Reported At,deadline,Platform Note\r\n"
        + "\"https://video.example/watch?v=1\",spring,N-1,2026-03-01,2026-03-08,\"said \"\"no\"\", then yes\"\r\n"
        + "https://video.example/watch?v=2,spring,N-1,2026-03-01T10:00:00+01:00,,\"line one\r\nline two\"\r\n"
        + ",spring,N-1,2026-03-01,,missing url\r\n"
        + "https://video.example/watch?v=3,spring,N-1,yesterday,,bad date\r\n"
        + "https://VIDEO.example:443/watch?v=1#frag,spring,N-1,2026-03-01,,dup\r\n"
        + "https://video.example/watch?v=4,\"autumn, late\",N-2,2026-03-02,2026-04-01,\r\n"
        + "ftp://files.example/a,spring,N-1,,,\r\n"
        + "https://video.example/watch?v=5,spring\r\n").utf8)

  @Test func aMessyCSVGivesExactlyTheExpectedRowsAndErrors() throws {
    let dir = TempDir()
    try Data(Self.messyCSV).write(to: URL(fileURLWithPath: dir.path + "/messy.csv"))
    let db = dir.path + "/t.sqlite"
    let r = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "messy.csv"], in: dir)
    #expect(r.status == 65)
    #expect(r.stdout == "rows 8: new 3, already queued 1, reports added 3, duplicates 1, rejected 4\n")
    #expect(
      r.stderr.split(separator: "\n") == [
        "messy.csv:5: the url is missing",
        "messy.csv:6: reported_at 'yesterday' is not an ISO 8601 date or date-time (e.g. 2026-12-31 or 2026-12-31T18:00:00Z)",
        "messy.csv:9: 'ftp' is not an http(s) URL scheme",
        "messy.csv:10: the row has 2 fields, the header has 6",
      ])
    let store = try SQLiteStore(path: db, create: false)
    let s = try store.db.statement(
      "SELECT u.url, r.campaign, r.notice, r.reported_at, r.deadline, r.extra FROM reports r JOIN urls u ON u.id = r.url_id ORDER BY r.id")
    var rows: [[String]] = []
    while try s.step() { rows.append((0..<6).map { s.optionalText($0) ?? "NULL" }) }
    s.reset()
    #expect(
      rows == [
        [
          "https://video.example/watch?v=1", "spring", "N-1", "\(Timestamp.parse("2026-03-01")!)",
          "\(Timestamp.parse("2026-03-08")!)", "{\"Platform Note\":\"said \\\"no\\\", then yes\"}",
        ],
        [
          "https://video.example/watch?v=2", "spring", "N-1", "\(Timestamp.parse("2026-03-01T09:00:00Z")!)", "NULL",
          "{\"Platform Note\":\"line one\\r\\nline two\"}",
        ],
        [
          "https://video.example/watch?v=4", "autumn, late", "N-2", "\(Timestamp.parse("2026-03-02")!)",
          "\(Timestamp.parse("2026-04-01")!)", "NULL",
        ],
      ])
    // Importing the same file again adds nothing.
    let again = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "-"], stdin: Data(Self.messyCSV), in: dir)
    #expect(again.status == 65)
    #expect(again.stdout == "rows 8: new 0, already queued 4, reports added 0, duplicates 4, rejected 4\n")
    #expect(again.stderr.hasPrefix("<stdin>:5: the url is missing\n"))
  }

  @Test func unusableInputIsRefusedWithTheRightCode() throws {
    let dir = TempDir()
    let db = dir.path + "/t.sqlite"
    let missing = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "nope.csv"], in: dir)
    #expect(missing.status == 66)
    let noURL = try run(
      Binaries.takedownctl, ["import", "--db", db, "--csv", "-"], stdin: Data("campaign,notice\nc,n\n".utf8), in: dir)
    #expect(noURL.status == 65)
    #expect(noURL.stderr.hasPrefix("<stdin>:1: the header has no 'url' column"))
    let empty = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "-"], stdin: Data(), in: dir)
    #expect(empty.status == 65)
    let usage = try run(Binaries.takedownctl, ["summary", "--db", db, "--since", "last tuesday"], in: dir)
    #expect(usage.status == 64)
    let noDB = try run(Binaries.takedownctl, ["export", "--db", dir.path + "/none.sqlite"], in: dir)
    #expect(noDB.status == 66)
  }

  @Test func exportThenImportKeepsEveryField() throws {
    let dir = TempDir()
    let csv = #"""
      url,campaign,notice,rightholder,work,reported_at,deadline,platform,ticket
      https://a.example/1,c1,N1,"Studio, Inc.","The ""Film""",2026-03-01T10:15:30.250+02:00,2026-03-08,yt,T-1
      https://a.example/1,c2,N9,Other,Two,2026-02-01,,,"T-2
      second line"
      https://b.example/x?y=1,c1,N1,Studio,Film,2026-03-01,,vimeo,
      https://b.example/ünï,,,,,2026-03-03,2026-03-04T00:00:00Z,,

      """#
    let db1 = dir.path + "/one.sqlite"
    let imp = try run(Binaries.takedownctl, ["import", "--db", db1, "--csv", "-"], stdin: Data(csv.utf8), in: dir)
    #expect(imp.status == 0, "\(imp.stderr)")
    try takeDown(db: db1, suffix: "/1", at: Timestamp.nowMs())
    let exp1 = try run(Binaries.takedownctl, ["export", "--db", db1, "--output", "one.csv"], in: dir)
    #expect(exp1.status == 0, "\(exp1.stderr)")
    #expect(exp1.stdout == "exported 4 rows to one.csv\n")
    let db2 = dir.path + "/two.sqlite"
    let imp2 = try run(Binaries.takedownctl, ["import", "--db", db2, "--csv", "one.csv"], in: dir)
    #expect(imp2.status == 0, "\(imp2.stderr)")
    #expect(imp2.stdout == "rows 4: new 3, already queued 1, reports added 4, duplicates 0, rejected 0\n")
    let exp2 = try run(Binaries.takedownctl, ["export", "--db", db2], in: dir)
    #expect(exp2.status == 0)

    let one = try table(Array(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/one.csv"))))
    let two = try table(Array(exp2.stdout.utf8))
    #expect(one.header == two.header)
    #expect(
      one.header == ExportRow.reportColumns + ["platform", "ticket"] + ExportRow.stateColumns)
    #expect(one.rows.count == 4)
    let kept = ExportRow.reportColumns + ["platform", "ticket", "url_id", "host"]
    #expect(one.rows.map { r in kept.map { r[$0]! } } == two.rows.map { r in kept.map { r[$0]! } })
    // The fields as imported, spelled the export's way.
    let first = one.rows[0]
    #expect(first["url"] == "https://a.example/1")
    #expect(first["rightholder"] == "Studio, Inc.")
    #expect(first["work"] == "The \"Film\"")
    #expect(first["reported_at"] == "2026-03-01T08:15:30.250Z")
    #expect(first["deadline"] == "2026-03-08T00:00:00Z")
    #expect(first["platform"] == "yt")
    #expect(first["status"] == "taken_down")
    #expect(first["http_status"] == "404")
    #expect(first["final_url"] == "https://a.example/1")
    #expect(first["checks"] == "1")
    #expect(one.rows[1]["work"] == "Two")
    // A line break is refused in report fields, kept in extra fields (export writes them quoted).
    #expect(one.rows[1]["ticket"] == "T-2\nsecond line")
    #expect(one.rows[1]["platform"] == "")
    // Within an import batch, URLs are stored in URL order.
    #expect(one.rows.map { $0["url"]! }.last == "https://b.example/x?y=1")
    #expect(one.rows.contains { $0["url"] == "https://b.example/%C3%BCn%C3%AF" && $0["deadline"] == "2026-03-04T00:00:00Z" })
    // The second database never checked anything: the state columns are its own.
    #expect(two.rows[0]["status"] == "pending")

    let jsonl = try run(Binaries.takedownctl, ["export", "--db", db1, "--format", "jsonl", "--campaign", "c1"], in: dir)
    let lines = jsonl.stdout.split(separator: "\n")
    #expect(lines.count == 2)
    let obj = try jsonObject(String(lines[0]))
    #expect(obj["rightholder"] as? String == "Studio, Inc.")
    #expect((obj["extra"] as? [String: String]) == ["platform": "yt", "ticket": "T-1"])
    let json = try run(Binaries.takedownctl, ["export", "--db", db1, "--format", "json", "--status", "pending"], in: dir)
    let array = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
    #expect(array?.count == 2)
  }

  @Test func summaryAndHTMLReportShowTheDatabasesNumbers() throws {
    let dir = TempDir()
    let db = dir.path + "/r.sqlite"
    try makeFixture(db: db, in: dir)
    let store = try SQLiteStore(path: db, create: false)
    func count(_ sql: String) throws -> Int { Int(try store.db.scalar(sql) ?? -1) }
    let now = Timestamp.nowMs()
    let overdueSQL =
      "SELECT count(*) FROM urls WHERE deadline_at < \(now) AND status NOT IN ('taken_down', 'cancelled')"

    let summary = try run(Binaries.takedownctl, ["summary", "--db", db, "--json"], in: dir)
    #expect(summary.status == 0, "\(summary.stderr)")
    let s = try jsonObject(summary.stdout)
    #expect(s["total"] as? Int == 12)
    #expect(s["overdue"] as? Int == (try count(overdueSQL)))
    #expect(s["overdue"] as? Int == 6)
    #expect(s["taken_down"] as? Int == 5)
    let ttt = try #require(s["time_to_takedown"] as? [String: Any])
    #expect(ttt["count"] as? Int == 5)
    let campaigns = try #require(s["campaigns"] as? [[String: Any]])
    #expect(campaigns.map { $0["campaign"] as? String } == ["alpha", "beta"])
    let text = try run(Binaries.takedownctl, ["summary", "--db", db, "--campaign", "beta", "--since", "1d"], in: dir)
    #expect(text.status == 0)
    #expect(text.stdout.contains("selection: campaign beta"))
    #expect(text.stdout.contains("time to takedown"))

    let out = try run(Binaries.takedownctl, ["report", "--db", db, "--html", "report.html"], in: dir)
    #expect(out.status == 0, "\(out.stderr)")
    let html = try String(contentsOfFile: dir.path + "/report.html", encoding: .utf8)
    #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
    #expect(html.hasSuffix("</html>\n"))
    // Well-formed (the page is written so that an XML parser accepts it), and self-contained.
    let parser = XMLParser(data: Data(html.utf8))
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    for forbidden in ["<script", "<link", "<img", "src=", "@import", "url("] {
      #expect(!html.contains(forbidden), "\(forbidden)")
    }
    for chart in ["chart-status", "chart-takedowns", "chart-ttt", "chart-hosts"] {
      #expect(html.contains("<svg id=\"\(chart)\""), "\(chart)")
    }
    func figure(_ key: String) -> String? { between(html, "data-figure=\"\(key)\">", "<") }
    #expect(figure("total") == String(try count("SELECT count(*) FROM urls")))
    #expect(figure("taken_down_now") == String(try count("SELECT count(*) FROM urls WHERE status = 'taken_down'")))
    #expect(figure("online") == String(try count("SELECT count(*) FROM urls WHERE status IN ('online', 'reappeared')")))
    #expect(figure("overdue") == String(try count(overdueSQL)))
    #expect(figure("reappeared") == "1")
    for st in URLStatus.allCases {
      let cell = between(html, "<tr data-status=\"\(st.rawValue)\">", "</tr>") ?? ""
      let n = try count("SELECT count(*) FROM urls WHERE status = '\(st.rawValue)'")
      #expect(cell.contains("<td class=\"n\">\(n)</td>"), "\(st)")
    }
    for c in ["alpha", "beta"] {
      let row = between(html, "<tr data-campaign=\"\(c)\">", "</tr>") ?? ""
      let urls = try count("SELECT count(DISTINCT url_id) FROM reports WHERE campaign = '\(c)'")
      let down = try count(
        "SELECT count(*) FROM urls WHERE status = 'taken_down' AND id IN (SELECT url_id FROM reports WHERE campaign = '\(c)')")
      #expect(row.contains("data-col=\"urls\">\(urls)<"), "\(c)")
      #expect(row.contains("data-col=\"taken_down\">\(down)<"), "\(c)")
    }
    // The overdue list has every overdue URL (fewer than the limit), most overdue first.
    #expect(html.components(separatedBy: "<tr data-url-id=").count - 1 == (try count(overdueSQL)))
    // The status chart has one band per status present in the stored summaries.
    #expect(html.contains("data-series=\"taken_down\""))
    // The distribution's bars add up to the URLs measured.
    let bars = html.components(separatedBy: "<svg id=\"chart-ttt\"")[1].components(separatedBy: "</svg>")[0]
    let values = bars.components(separatedBy: "data-value=\"").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    #expect(values.reduce(0, +) == 5)
  }

  // MARK: Fixtures

  /// Records a confirmed removal of the URL ending in `suffix` (confirmations = 1), in this process.
  func takeDown(db: String, suffix: String, at t: Int64, observation: Observation = .removed) throws {
    let store = try SQLiteStore(path: db, create: false)
    var config = ScheduleConfig()
    config.confirmations = 1
    let claimed = try store.claim(holder: "test", limit: 1000, now: t, leaseMs: 60_000)
    let target = try #require(claimed.first { $0.url.hasSuffix(suffix) }, "\(suffix)")
    let online = observation == .online
    _ = try store.complete(
      [
        ProbeResult(
          claim: target, checkedAt: t, observation: observation, reason: online ? .http200 : .http404,
          httpStatus: online ? 200 : 404, curlCode: 0, finalURL: target.url, redirects: 0, remoteIP: nil,
          timings: .init(), bytes: 0)
      ], holder: "test", config: config, jitter: { 0.5 })
    try store.release(claimed.filter { $0.id != target.id }, holder: "test", now: t)
  }

  /// 12 URLs on three hosts in two campaigns (alpha 1–7, beta 8–12), reported 3 days ago, deadline a day
  /// ago (but 12): 1, 2, 3, 8, 9 removed and 1 back online later; 4, 5, 10 online; 6 cancelled; 7, 11, 12
  /// pending. Overdue: 1, 4, 5, 7, 10, 11. Six stored summaries.
  func makeFixture(db: String, in dir: TempDir) throws {
    let now = Timestamp.nowMs()
    let reported = Timestamp.iso(now - 3 * 86_400_000)
    let deadline = Timestamp.iso(now - 86_400_000)
    var csv = "url,campaign,notice,reported_at,deadline\n"
    for i in 1...12 {
      let host = ["tube.example", "clips.example", "files.example"][i % 3]
      csv += "https://\(host)/v/\(i),\(i <= 7 ? "alpha" : "beta"),N-\(i),\(reported),\(i == 12 ? "" : deadline)\n"
    }
    let imp = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "-"], stdin: Data(csv.utf8), in: dir)
    #expect(imp.status == 0, "\(imp.stderr)")
    let t = Timestamp.nowMs()
    for (k, i) in [1, 2, 3, 8, 9].enumerated() { try takeDown(db: db, suffix: "/v/\(i)", at: t + Int64(k) * 1000) }
    for i in [4, 5, 10] { try takeDown(db: db, suffix: "/v/\(i)", at: t + 10_000, observation: .online) }
    // /v/1 comes back once the watch interval has passed.
    try takeDown(db: db, suffix: "/v/1", at: t + 2 * 86_400_000, observation: .online)
    let store = try SQLiteStore(path: db, create: false)
    _ = try store.cancel(id: try #require(try store.lookup("https://tube.example/v/6")).id, now: t)
    for k in 0..<6 {
      let by: [URLStatus: Int] = [
        .pending: 12 - 2 * k, .online: k, .takenDown: k, .unreachable: 0, .reappeared: 0, .cancelled: 0,
      ]
      try store.recordSummary(
        StoredSummary(
          at: t - Int64(6 - k) * 3_600_000, intervalMs: 3_600_000, holder: "test", checks: 2, checksPerSecond: 0,
          byStatus: by, newlyTakenDown: 1, newlyReappeared: 0, due: 0))
    }
  }

  func table(_ bytes: [UInt8]) throws -> (header: [String], rows: [[String: String]]) {
    let records = CSVReader.parse(bytes)
    let header = try #require(records.first).fields
    var rows: [[String: String]] = []
    for r in records.dropFirst() {
      #expect(r.error == nil)
      rows.append(Dictionary(uniqueKeysWithValues: zip(header, r.fields)))
    }
    return (header, rows)
  }

  func between(_ s: String, _ start: String, _ end: String) -> String? {
    guard let a = s.range(of: start) else { return nil }
    guard let b = s.range(of: end, range: a.upperBound..<s.endIndex) else { return nil }
    return String(s[a.upperBound..<b.lowerBound])
  }
}
