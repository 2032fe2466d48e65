import Foundation
import TakedownCore
import Testing

/// Control characters in stored text never reach the terminal, and report metadata refuses them.
@Suite struct CLIControlCharacterTests {
  static let hostile = "a\nb\u{1B}[31mRED\u{9B}2J"

  @Test func enqueueRefusesControlCharactersInReportOptionsNamingTheOption() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    for option in ["--campaign", "--notice", "--rightholder", "--work"] {
      let r = try run(Binaries.takedownctl, ["enqueue", "--db", db, option, Self.hostile, "http://a.example/v"], in: dir)
      #expect(r.status == 64, "\(option): \(r.status) \(r.stderr)")
      #expect(r.stderr.contains("\(option) contains a control character (U+000A) at character 2"), "\(r.stderr)")
      #expect(!r.stderr.contains("\u{1B}"), "the message itself carries the escape sequence")
    }
    #expect(!FileManager.default.fileExists(atPath: db), "nothing was enqueued")
  }

  @Test func importRefusesRowsWithControlCharactersAndKeepsTheGoodOnes() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let csv = """
      url,campaign,notice,rightholder,work
      http://a.example/1,good,N1,Studio,Film
      http://a.example/2,"two
      lines",N2,Studio,Film
      http://a.example/3,good,N3,Studio,\("The\u{1B}[2JFilm")
      http://a.example/4,good,N4\u{7}bell,Studio,Film
      http://a.example/5,good,N5,Studio,Film

      """
    let r = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", "-"], stdin: Data(csv.utf8), in: dir)
    #expect(r.status == 65, "\(r.stderr)")
    #expect(r.stderr.contains("<stdin>:3: campaign contains a control character (U+000A) at character 4"), "\(r.stderr)")
    #expect(r.stderr.contains("<stdin>:5: work contains a control character (U+001B) at character 4"), "\(r.stderr)")
    #expect(r.stderr.contains("<stdin>:6: notice contains a control character (U+0007) at character 3"), "\(r.stderr)")
    #expect(!r.stderr.contains("\u{1B}"))
    #expect(r.stdout.contains("rows 5: new 2"), "\(r.stdout)")
  }

  /// Text stored before intake checked it (or written by anything else), and what servers send
  /// (headers, redirects, final URL), is escaped in every text output.
  @Test func everyTextOutputEscapesControlCharacters() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--db", db, "--campaign", "placeholder", "http://a.example/v"], in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    let h = Self.hostile
    do {
      let c = try SQLiteConnection(path: db)
      try c.statement("UPDATE reports SET campaign = ?1, notice = ?1, rightholder = ?1, work = ?1").run([.text(h)])
      try c.statement("UPDATE urls SET status = 'taken_down', reason = ?1, http_status = 404").run([.text(h)])
      try c.statement(
        """
        INSERT INTO checks(url_id, attempt, checked_at, observed, status, reason, http_status, curl_code, final_url,
          remote_ip, holder, vantage, method, headers, redirect_chain, matched, rule)
        VALUES (1, 1, 1000, 'removed', 'taken_down', ?1, 404, 0, ?1, ?1, ?1, ?1, ?1, ?2, ?3, ?1, ?1)
        """
      ).run([
        .text(h), .text(#"{"server":"nginx\u001b[31m\nX-Injected: 1"}"#),
        .text(#"[{"status":301,"location":"/x\u001b[2J"}]"#),
      ])
      try c.statement("INSERT INTO events(url_id, at, from_status, to_status, reason) VALUES (1, 1000, 'pending', 'taken_down', ?1)")
        .run([.text(h)])
    }
    let commands: [[String]] = [
      ["summary"], ["summary", "--campaign", h], ["list"], ["status", "1"], ["history", "1"], ["evidence", "1"],
      ["events"], ["report", "--html", "-"],
    ]
    for args in commands {
      let r = try run(Binaries.takedownctl, args + ["--db", db], in: dir)
      let name = "takedownctl \(args[0])"
      #expect(r.status == 0, "\(name): \(r.stderr)")
      #expect(!r.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{9B}" || $0 == "\u{7}" }, "\(name): \(r.stdout)")
      // HTML keeps a line feed in text (it is white space there); the text outputs must not.
      if args[0] != "report" {
        #expect(!r.stdout.split(separator: "\n").contains { $0.hasPrefix("b") }, "\(name): a line feed of the data broke a line")
        #expect(r.stdout.contains(#"a\nb\x1B[31mRED\u{9B}2J"#), "\(name): \(r.stdout)")
      }
    }
    // JSON output stays exact (escaped by JSON itself).
    let json = try jsonObject(try run(Binaries.takedownctl, ["status", "1", "--json", "--db", db], in: dir).stdout)
    #expect((json["reports"] as? [[String: Any]])?.first?["campaign"] as? String == h)
  }
}
