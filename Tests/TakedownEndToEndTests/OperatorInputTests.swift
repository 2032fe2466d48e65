import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12, items 3, 13, 15, 16 and part of 17: what an operator types or feeds in, with the real binaries.
@Suite struct OperatorInputTests {
  // MARK: - 3: one daemon per database, whatever path leads to it

  @Test func aSecondDaemonThroughASymlinkOrAHardLinkIsRefused() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "the video")])
    defer { server.stop() }
    let config = try writeConfig(in: dir, lease: "10m")
    let db = dir.path + "/takedown.sqlite"
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--db", db, "\(server.baseURL)/ok"], in: dir)
    try #require(enq.status == 0, "\(enq.stderr)")
    let first = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { first.terminate() }
    #expect(try waitUntil { first.stdout.contains("takedownd started") }, "\(first.stdout)\n\(first.stderr)")

    let other = TempDir()
    try FileManager.default.createSymbolicLink(atPath: other.path + "/symlink.sqlite", withDestinationPath: db)
    #expect(link(db, other.path + "/hardlink.sqlite") == 0)
    for path in [other.path + "/symlink.sqlite", other.path + "/hardlink.sqlite", dir.path + "/./takedown.sqlite"] {
      let second = try run(Binaries.takedownd, ["--db", path, "--once"], in: other)
      #expect(second.status == 75, "\(path): \(second.stdout)\n\(second.stderr)")
      #expect(second.stdout.contains("another takedownd is already running"), "\(path)")
      #expect(!second.stdout.contains("released"), "\(path): the second daemon touched the leases")
    }
    // The first daemon never lost a lease to them, and still holds the database.
    let stopped = first.terminate()
    #expect(stopped.status == 0)
    #expect(!stopped.stdout.contains("lease lost"), "\(stopped.stdout)")
    // Once it is gone, the hard link is an ordinary way to the database.
    let after = try run(Binaries.takedownd, ["--db", other.path + "/hardlink.sqlite", "--once"], in: other)
    #expect(after.status == 0, "\(after.stdout)\n\(after.stderr)")
  }

  // MARK: - 13: host filters match however the host is spelled

  @Test func listFindsAnIDNHostByAnySpelling() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let enq = try run(
      Binaries.takedownctl,
      ["enqueue", "--db", db, "http://äöü.example/a", "http://ÄÖÜ.example./b", "http://other.example/c"], in: dir)
    try #require(enq.status == 0, "\(enq.stderr)")
    for spelling in ["äöü.example", "ÄÖÜ.EXAMPLE", "xn--4ca0bs.example", "XN--4CA0BS.example."] {
      let list = try run(Binaries.takedownctl, ["list", "--db", db, "--host", spelling], in: dir)
      #expect(list.status == 0, "\(spelling): \(list.stderr)")
      let lines = list.stdout.split(separator: "\n").filter { $0.contains("http://") }
      #expect(lines.count == 2, "\(spelling): \(list.stdout)")
      #expect(lines.allSatisfy { $0.contains("xn--4ca0bs.example") }, "\(spelling): \(list.stdout)")
      // The same filter means the same URLs in summary and export.
      let summary = try run(Binaries.takedownctl, ["summary", "--db", db, "--host", spelling, "--json"], in: dir)
      #expect((try jsonObject(summary.stdout)["total"] as? Int) == 2, "\(spelling): \(summary.stdout)")
    }
  }

  // MARK: - 15: host names that are not names

  @Test func numericAndMalformedHostsAreRefusedAtIntakeWithTheReason() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let input = [
      "http://0x7f.0.0.1/x",  // 127.0.0.1 to a browser
      "http://127.1/x",
      "http://2130706433/x",
      "http://xn--zz.example/x",
      "http://xn--.example/x",
      "http://-lead.example/x",
      "http://trail-.example/x",
      "http://fine-name.example/x",
      "http://xn--4ca0bs.example/x",
    ]
    let enq = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--file", "-"], stdin: lines(input), in: dir)
    #expect(enq.status == 65)
    #expect(enq.stdout.contains("new 2, already queued 0, rejected 7"), "\(enq.stdout)")
    let err = enq.stderr
    #expect(err.contains("<stdin>:1: the host '0x7f.0.0.1' is not valid: its last label '1' is a number"), "\(err)")
    #expect(err.contains("<stdin>:2: the host '127.1' is not valid"), "\(err)")
    #expect(err.contains("<stdin>:3: the host '2130706433' is not valid"), "\(err)")
    #expect(err.contains("<stdin>:4: the host 'xn--zz.example' is not valid: 'xn--zz' is not valid Punycode"), "\(err)")
    #expect(err.contains("<stdin>:5: the host 'xn--.example' is not valid: 'xn--' is not valid Punycode"), "\(err)")
    #expect(err.contains("<stdin>:6: the host '-lead.example' is not valid: the label '-lead' starts or ends with '-'"), "\(err)")
    #expect(err.contains("<stdin>:7: the host 'trail-.example' is not valid: the label 'trail-' starts or ends with '-'"), "\(err)")
    let store = try SQLiteStore(path: db, create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 2)
  }

  // MARK: - 16: blank lines and indented comments

  @Test func blankLinesAndIndentedCommentsAreSkipped() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let text =
      "\u{FEFF}# exported 2026-12-01\r\n\r\nhttp://a.example/1\r\n   \r\n  # indented comment\r\n\t#tabbed\n"
      + "http://a.example/2\n\n\n  http://a.example/3  \nnot-a-url\n"
    let file = dir.path + "/reported.txt"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let enq = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--file", file], in: dir)
    #expect(enq.status == 65, "\(enq.stderr)")
    #expect(enq.stdout.contains("new 3, already queued 0, rejected 1"), "\(enq.stdout)")
    // Exactly one complaint, about the one line that is not a URL, with its line number.
    let complaints = enq.stderr.split(separator: "\n")
    #expect(complaints == ["\(file):11: not a URL (expected it to start with http:// or https://)"], "\(enq.stderr)")
  }

  @Test func anUnreadableInputFileStopsEnqueueBeforeItCreatesADatabase() throws {
    let dir = TempDir()
    let db = dir.path + "/new.sqlite"
    for input in [dir.path + "/missing.txt", dir.path] {
      let r = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--file", input, "http://a.example/arg"], in: dir)
      #expect(r.status == 66, "\(input): \(r.stderr)")
      #expect(r.stderr.contains("cannot read \(input)"), "\(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: db), "\(input): a database was created for nothing")
    }
  }

  // MARK: - 17: UTF-16 input, cancelled URLs reported again

  @Test(arguments: ["utf-16le-bom", "utf-16be-bom", "utf-16le"])
  func aUTF16FileGetsOneMessageThatSaysWhatToDo(_ kind: String) throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let text = "http://a.example/1\nhttp://a.example/2\nhttp://a.example/3\n"
    var bytes: [UInt8]
    switch kind {
    case "utf-16le-bom": bytes = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    case "utf-16be-bom": bytes = [0xFE, 0xFF] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    default: bytes = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }
    let file = dir.path + "/\(kind).txt"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--db", db, "--file", file, "http://argument.example/kept"], in: dir)
    #expect(enq.status == 65)
    let complaints = enq.stderr.split(separator: "\n")
    #expect(complaints.count == 1, "\(enq.stderr)")
    #expect(enq.stderr.contains("\(file): this looks like UTF-16 text, not UTF-8"), "\(enq.stderr)")
    #expect(enq.stderr.contains("iconv -f UTF-16 -t UTF-8"))
    #expect(!enq.stderr.contains("contains a NUL byte"))
    // The valid argument next to the bad file is kept.
    #expect(enq.stdout.contains("new 1, already queued 0, rejected 1"), "\(enq.stdout)")
  }

  @Test(arguments: Backend.allCases)
  func reEnqueuingACancelledURLSaysSoAndReactivateChecksItAgain(_ backend: Backend) throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "the video")])
    defer { server.stop() }
    let database = try backend.newDatabase(in: dir)
    let config = try writeConfig(in: dir, database: database)
    let url = "\(server.baseURL)/ok"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "one", url], in: dir).status == 0)
    #expect(try run(Binaries.takedownctl, ["cancel", "--config", config, url], in: dir).status == 0)

    let again = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "two", url, "\(server.baseURL)/new"],
      in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.contains("new 1, already queued 1, rejected 0"), "\(again.stdout)")
    #expect(again.stderr.contains("1 of these URLs was cancelled before and stays cancelled"), "\(again.stderr)")
    #expect(again.stderr.contains("takedownctl reactivate"), "\(again.stderr)")
    #expect(again.stderr.contains("  \(url)\n"), "\(again.stderr)")

    // import says the same.
    let csv = dir.path + "/n.csv"
    try "url,campaign\n\(url),three\n".write(toFile: csv, atomically: true, encoding: .utf8)
    let imported = try run(Binaries.takedownctl, ["import", "--config", config, "--csv", csv], in: dir)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("1 of these URLs was cancelled before"), "\(imported.stderr)")

    // Still cancelled: the daemon does not check it.
    #expect(try run(Binaries.takedownd, ["--config", config, "--once"], in: dir).status == 0)
    let store = try openStore(database)
    #expect(try store.lookup(url)?.status == .cancelled)
    #expect(try store.lookup(url)?.checks == 0)
    #expect(try store.lookup(url)?.reports.count == 3)

    // reactivate: pending, checked on the next run, the transition is an event.
    let re = try run(Binaries.takedownctl, ["reactivate", "--config", config, url], in: dir)
    #expect(re.status == 0, "\(re.stderr)")
    #expect(re.stdout.contains("reactivated \(url)"))
    #expect(try store.lookup(url)?.status == .pending)
    #expect(try run(Binaries.takedownd, ["--config", config, "--once"], in: dir).status == 0)
    #expect(try store.lookup(url)?.status == .online)
    let events = try run(Binaries.takedownctl, ["events", "--config", config, "--json"], in: dir)
    #expect(events.stdout.contains("\"reactivated\""), "\(events.stdout)")

    // Reactivating what is not cancelled, or not there, changes nothing and says so.
    let notCancelled = try run(Binaries.takedownctl, ["reactivate", "--config", config, url, "http://nope.example/"], in: dir)
    #expect(notCancelled.status == 65)
    #expect(notCancelled.stderr.contains("is online, not cancelled"), "\(notCancelled.stderr)")
    #expect(notCancelled.stderr.contains("'http://nope.example/' is not in the queue"), "\(notCancelled.stderr)")
    #expect(try store.lookup(url)?.status == .online)
  }

  // MARK: - Issue 21, item 3: a broken config does not hide the numbers

  @Test(arguments: ["unknown-key", "bad-value", "syntax-error"])
  func readingCommandsGoOnWithABrokenConfigWritingCommandsRefuseIt(_ kind: String) throws {
    let dir = TempDir()
    let db = dir.path + "/service.sqlite"
    let enq = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--campaign", "c", "http://a.example/1"], in: dir)
    try #require(enq.status == 0, "\(enq.stderr)")
    let broken: String
    switch kind {
    case "unknown-key": broken = "database = \"\(db)\"\nbogus_key = 1\n"
    case "bad-value": broken = "database = '\(db)'  # literal string\n[probe]\nconcurrency = \"many\"\n"
    default: broken = "# the operator's typo\ndatabase = \"\(db)\"\n[probe\nconcurrency = 5\n"
    }
    let config = dir.path + "/takedown.toml"
    try broken.write(toFile: config, atomically: true, encoding: .utf8)
    for env in [["TAKEDOWN_CONFIG": config], [:]] {
      let how = env.isEmpty ? ["--config", config] : []
      for command in [["summary"], ["list"], ["status", "http://a.example/1"], ["export", "--format", "csv"]] {
        let r = try run(Binaries.takedownctl, command + how, in: dir, env: env)
        #expect(r.status == 0, "\(kind) \(command) \(env): \(r.stderr)")
        // The database's content came out: the URL, or (summary) its one pending URL.
        #expect(r.stdout.contains(command[0] == "summary" ? "pending               1" : "a.example"), "\(kind) \(command): \(r.stdout)")
        #expect(r.stderr.contains("takedownctl: warning: the configuration is invalid; reading the database it names anyway: \(db)"), "\(kind) \(command): \(r.stderr)")
        #expect(r.stderr.contains(config), "the warning names the file and its problem: \(r.stderr)")
      }
      let write = try run(Binaries.takedownctl, ["enqueue", "http://a.example/2"] + how, in: dir, env: env)
      #expect(write.status == 78, "\(kind): \(write.stderr)")
      #expect(!write.stderr.contains("warning"), "\(write.stderr)")
    }
    let store = try SQLiteStore(path: db, create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 1)
  }
}
