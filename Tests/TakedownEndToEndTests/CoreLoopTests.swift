import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The whole loop with the real binaries: takedownctl enqueue → takedownd --once → the database,
/// against a real HTTP server on 127.0.0.1.
@Suite(.serialized) struct CoreLoopTests {
  @Test(arguments: Backend.allCases)
  func everyKindOfAnswerEndsWithTheRightStatusAndReason(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    let server = try TestHTTPServer(routes: [
      "/ok": .text(200, "the video"),
      "/gone": .text(404, "not found"),
      "/410": .text(410, "gone"),
      "/451": .text(451, "unavailable for legal reasons"),
      "/moved": .redirect(301, to: "/ok"),
      "/loop": .redirect(301, to: "/loop"),
      "/slow": TestResponse(status: 200, body: Array("late".utf8), delay: .seconds(4)),
      "/error": .text(503, "busy"),
      "/limited": .text(429, "slow down"),
    ])
    defer { server.stop() }
    let closed = try TestHTTPServer.closedPort()
    let config = try writeConfig(in: dir, timeout: "1s", database: database)
    let base = server.baseURL
    let urls = [
      "\(base)/ok", "\(base)/gone", "\(base)/410", "\(base)/451", "\(base)/moved", "\(base)/loop", "\(base)/slow",
      "\(base)/error", "\(base)/limited", "http://127.0.0.1:\(closed)/nothing-listens",
    ]
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "c1", "--file", "-"],
      stdin: Data(urls.joined(separator: "\n").utf8), in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    #expect(enq.stdout.contains("new 10, already queued 0, rejected 0"))

    let daemon = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(daemon.status == 0, "\(daemon.stdout)\n\(daemon.stderr)")

    let store = try openStore(database)
    func rec(_ path: String) throws -> URLRecord { try #require(try store.lookup(path)) }
    let expected: [(String, URLStatus, String, Int)] = [
      ("\(base)/ok", .online, "http_200", 1),
      ("\(base)/gone", .takenDown, "http_404", 2),
      ("\(base)/410", .takenDown, "http_410", 2),
      ("\(base)/451", .takenDown, "http_451", 2),
      ("\(base)/moved", .online, "http_200", 1),
      ("\(base)/loop", .unreachable, "too_many_redirects", 1),
      ("\(base)/slow", .unreachable, "timeout", 1),
      ("\(base)/error", .unreachable, "http_5xx", 1),
      ("\(base)/limited", .unreachable, "http_429", 1),
      ("http://127.0.0.1:\(closed)/nothing-listens", .unreachable, "connect_failed", 1),
    ]
    for (url, status, reason, checks) in expected {
      let r = try rec(url)
      #expect(r.status == status, "\(url)")
      #expect(r.reason == reason, "\(url)")
      #expect(r.checks == checks, "\(url)")
      #expect(r.leaseHolder == nil)
      #expect(try store.history(urlID: r.id).count == checks, "\(url)")
    }
    // The redirect's history names the final URL and the hop count.
    let moved = try store.history(urlID: try rec("\(base)/moved").id)
    #expect(moved.first?.finalURL == "\(base)/ok")
    #expect(moved.first?.redirects == 1)
    #expect(moved.first?.remoteIP == "127.0.0.1")
    #expect((moved.first?.timings.totalUs ?? 0) > 0)
    // A taken-down URL records when, and an event for the transition.
    let gone = try rec("\(base)/gone")
    #expect(gone.takenDownAt != nil)
    #expect(try store.transitions(urlID: gone.id, url: gone.url).filter { $0.to == .takenDown }.count == 1)

    // The CLI shows the same in JSON.
    let status = try run(Binaries.takedownctl, ["status", "--config", config, "--json", "\(base)/gone"], in: dir)
    #expect(status.status == 0)
    let obj = try jsonObject(status.stdout)
    #expect(obj["status"] as? String == "taken_down")
    #expect(obj["reason"] as? String == "http_404")
    #expect(obj["http_status"] as? Int == 404)
    #expect(obj["checks"] as? Int == 2)
    #expect(obj["taken_down_at"] is String)
    #expect(obj["last_checked_at"] is String)

    let summary = try run(Binaries.takedownctl, ["summary", "--config", config, "--json"], in: dir)
    let s = try jsonObject(summary.stdout)
    #expect(s["total"] as? Int == 10)
    let by = try #require(s["by_status"] as? [String: Int])
    #expect(Set(by.keys) == Set(URLStatus.allCases.map(\.rawValue)))
    #expect(by["online"] == 2)
    #expect(by["taken_down"] == 3)
    #expect(by["unreachable"] == 5)
    #expect(by["pending"] == 0)
    // The daemon logged a summary line and stored a summary row.
    #expect(daemon.stdout.contains("summary"))
    #expect(try store.countSummaries() >= 1)

    let list = try run(Binaries.takedownctl, ["list", "--config", config, "--status", "taken_down", "--json"], in: dir)
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
    #expect(rows.count == 3)
  }

  @Test func privateAddressesAreRefusedUnlessAllowed() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "x")])
    defer { server.stop() }
    let config = try writeConfig(in: dir, allowPrivate: false)
    let u = "\(server.baseURL)/ok"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, u], in: dir).status == 0)
    let d = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d.status == 0, "\(d.stderr)")
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let r = try #require(try store.lookup(u))
    #expect(r.status == .unreachable)
    #expect(r.reason == "private_address_refused")
    #expect(server.requestCount == 0)
  }

  @Test func aNameThatResolvesToLoopbackIsRefused() throws {
    // The public-looking name points at the server through `resolve`; its redirect goes to 127.0.0.1
    // by address. With private addresses refused, even the first hop is refused (the name resolves
    // to loopback), so nothing reaches the server.
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/r": .redirect(302, to: "http://127.0.0.1:1/admin")])
    defer { server.stop() }
    let config = try writeConfig(
      in: dir, allowPrivate: false,
      extra: "")
    let cfgText = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
      of: "[schedule]", with: "resolve = [\"video.example.com:\(server.port):127.0.0.1\"]\n[schedule]")
    try cfgText.write(toFile: config, atomically: true, encoding: .utf8)
    let u = "http://video.example.com:\(server.port)/r"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, u], in: dir).status == 0)
    #expect(try run(Binaries.takedownd, ["--config", config, "--once"], in: dir).status == 0)
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(try store.lookup(u)?.reason == "private_address_refused")
    #expect(server.requestCount == 0)
  }

  @Test func badEnqueueLinesAreReportedAndValidLinesKept() throws {
    let dir = TempDir()
    var input = Data()
    input.append(Data("http://good.example/1\n".utf8))  // 1
    input.append(Data("not a url\n".utf8))  // 2
    input.append(Data("ftp://files.example/x\n".utf8))  // 3
    input.append(Data("http://nul.example/\u{0}x\n".utf8))  // 4
    input.append(Data(("http://long.example/" + String(repeating: "a", count: 1_000_000) + "\n").utf8))  // 5
    input.append(Data("\n".utf8))  // 6: blank, skipped
    input.append(Data([0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0xff, 0xfe, 0x2f, 0x0a]))  // 7: invalid UTF-8
    input.append(Data("# a comment\n".utf8))  // 8
    input.append(Data("https://GOOD.example:443/2?q=A\r\n".utf8))  // 9
    input.append(Data("http://good.example/1#fragment\n".utf8))  // 10: same URL as line 1
    input.append(Data("javascript:alert(1)".utf8))  // 11, no final newline
    let path = dir.path + "/in.txt"
    try input.write(to: URL(fileURLWithPath: path))
    let r = try run(Binaries.takedownctl, ["enqueue", "--db", dir.path + "/q.sqlite", "--file", path], in: dir)
    #expect(r.status == 65)
    #expect(r.stdout.contains("new 2, already queued 1, rejected 6"), "\(r.stdout)")
    let errLines = r.stderr.split(separator: "\n").map(String.init)
    #expect(errLines.count == 6, "\(r.stderr)")
    for n in [2, 3, 4, 5, 7, 11] {
      #expect(errLines.contains { $0.hasPrefix("\(path):\(n): ") }, "line \(n) not reported: \(r.stderr)")
    }
    #expect(errLines.contains { $0.contains(":3: ") && $0.contains("ftp") })
    let store = try SQLiteStore(path: dir.path + "/q.sqlite", create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 2)
    #expect(try store.lookup("http://good.example/1") != nil)
    #expect(try store.lookup("https://good.example/2?q=A")?.url == "https://good.example/2?q=A")
  }

  @Test func enqueueArgumentsWithMetadata() throws {
    let dir = TempDir()
    let db = dir.path + "/q.sqlite"
    let r = try run(
      Binaries.takedownctl,
      [
        "enqueue", "--db", db, "--campaign", "spring", "--notice", "N-1", "--rightholder", "Studio",
        "--work", "Film", "--deadline", "2026-12-31", "http://a.example/1", "http://a.example/2",
      ], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let s = try run(Binaries.takedownctl, ["status", "--db", db, "--json", "http://a.example/1"], in: dir)
    let obj = try jsonObject(s.stdout)
    let reports = try #require(obj["reports"] as? [[String: Any]])
    #expect(reports.count == 1)
    #expect(reports[0]["campaign"] as? String == "spring")
    #expect(reports[0]["notice"] as? String == "N-1")
    #expect(reports[0]["deadline"] as? String == "2026-12-31T00:00:00Z")
    #expect(obj["status"] as? String == "pending")
    let bad = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--deadline", "soon", "http://a.example/3"], in: dir)
    #expect(bad.status == 64)
    #expect(bad.stderr.contains("--deadline"))
    let missing = try run(Binaries.takedownctl, ["summary", "--db", dir.path + "/none.sqlite"], in: dir)
    #expect(missing.status == 66)
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/none.sqlite"))
  }

  @Test func aBadConfigIsRefusedNamingTheKey() throws {
    let dir = TempDir()
    let path = dir.path + "/bad.toml"
    try "[probe]\nconcurency = 10\ntimeout = \"soon\"\n".write(toFile: path, atomically: true, encoding: .utf8)
    let d = try run(Binaries.takedownd, ["--config", path, "--once"], in: dir)
    #expect(d.status == 78)
    #expect(d.stderr.contains("probe.concurency"))
    #expect(d.stderr.contains("probe.timeout"))
    let c = try run(Binaries.takedownctl, ["enqueue", "--config", path, "http://a.example/"], in: dir)
    #expect(c.status == 78)
    #expect(c.stderr.contains("probe.concurency"))
  }
}
