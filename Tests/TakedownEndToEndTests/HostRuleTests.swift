import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Host rules, politeness and evidence with the real binaries, against a real server on 127.0.0.1 that
/// the test's host names are pointed at through probe.resolve.
@Suite(.serialized) struct HostRuleTests {
  /// A config whose names in `hosts` all resolve to the server; `rules` is appended as is.
  func config(
    in dir: TempDir, port: Int, hosts: [String], rules: String, confirmations: Int = 1, lease: String = "30s",
    maxBody: String = "256KiB", probeExtra: String = "", scheduleExtra: String = "", backoff: String = "100ms"
  ) throws -> String {
    let resolve = hosts.map { "\"\($0):\(port):127.0.0.1\"" }.joined(separator: ", ")
    let text = """
      database = "\(dir.path)/takedown.sqlite"
      [probe]
      concurrency = 50
      per_host_connections = 50
      connect_timeout = "2s"
      timeout = "5s"
      max_redirects = 5
      max_body_bytes = "\(maxBody)"
      allow_private_addresses = true
      resolve = [\(resolve)]
      vantage = "test-lab-1"
      \(probeExtra)
      [schedule]
      confirmations = \(confirmations)
      confirm_interval = "0s"
      backoff_base = "\(backoff)"
      lease = "\(lease)"
      \(scheduleExtra)
      \(rules)
      """
    let path = dir.path + "/takedown.toml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func enqueue(_ urls: [String], config: String, in dir: TempDir) throws {
    let r = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: Data(urls.joined(separator: "\n").utf8),
      in: dir)
    #expect(r.status == 0, "\(r.stderr)")
  }

  func runOnce(_ config: String, in dir: TempDir) throws {
    let d = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d.status == 0, "\(d.stdout)\n\(d.stderr)")
  }

  func gbk(_ text: String) throws -> [UInt8] {
    // The GBK bytes come from the system's iconv, not from our decoder, so the test can catch it.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/iconv")
    p.arguments = ["-f", "UTF-8", "-t", "GBK"]
    let inPipe = Pipe()
    let outPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    try p.run()
    inPipe.fileHandleForWriting.write(Data(text.utf8))
    try inPipe.fileHandleForWriting.close()
    let data = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return Array(data)
  }

  @Test func removalPagesRedirectsHomeAndDeclaredOnlineStatuses() throws {
    let dir = TempDir()
    let chinese = "<html><body><div class=msg>该视频已被删除</div></body></html>"
    let gbkPage = try gbk("<html><head><title>提示</title></head><body>该视频已被删除</body></html>")
    #expect(!gbkPage.isEmpty && String(validating: gbkPage, as: UTF8.self) == nil)
    let serverPort = Locked(0)
    let server = try TestHTTPServer { req in
      let path = String(req.path.split(separator: "?")[0])
      switch (req.host?.split(separator: ":").first.map(String.init) ?? "", path) {
      case ("video.test", "/"): return .text(200, "home page")
      case ("video.test", "/cn-utf8"):
        return TestResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(chinese.utf8))
      case ("video.test", "/cn-gbk"):
        return TestResponse(status: 200, headers: [("Content-Type", "text/html; charset=GBK")], body: gbkPage)
      case ("video.test", "/en"):
        return .text(200, "<h1>Sorry</h1><p>This Video Was Removed due to a copyright claim.</p>")
      case ("video.test", "/fine"): return .text(200, "<video src=movie.mp4></video> 视频 removed? no")
      case ("video.test", "/gone-home"): return .redirect(302, to: "http://www.video.test:\(serverPort.withLock { $0 })/")
      case ("www.video.test", "/"): return .text(200, "welcome")
      case ("video.test", "/elsewhere"): return .redirect(302, to: "/watch/other")
      case ("video.test", "/watch/other"): return .text(200, "another video")
      case ("robots.test", "/page"):
        return req.header("Cookie") == "consent=yes" ? .text(200, "the page") : .text(403, "no robots")
      case ("robots.test", "/always403"): return .text(403, "forbidden, but served to people")
      case ("plain.test", "/gone-home"): return .redirect(301, to: "/")
      case ("plain.test", "/"): return .text(200, "home")
      default: return .text(404, "not found")
      }
    }
    defer { server.stop() }
    let port = server.port
    serverPort.withLock { $0 = port }
    let cfg = try config(
      in: dir, port: port, hosts: ["video.test", "www.video.test", "robots.test", "plain.test"],
      rules: """
        [[rule]]
        hosts = ["video.test", "*.video.test"]
        removal_markers = ["该视频已被删除", "/(?i)this video (has been|was) removed/"]
        [[rule]]
        hosts = "robots.test"
        headers = ["Cookie: consent=yes"]
        online_statuses = [403]
        """)
    let v = "http://video.test:\(port)"
    let urls = [
      "\(v)/cn-utf8", "\(v)/cn-gbk", "\(v)/en", "\(v)/fine", "\(v)/gone-home", "\(v)/elsewhere",
      "http://robots.test:\(port)/page", "http://robots.test:\(port)/always403", "http://plain.test:\(port)/gone-home",
    ]
    try enqueue(urls, config: cfg, in: dir)
    try runOnce(cfg, in: dir)

    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let expected: [(String, URLStatus, String, String?)] = [
      ("\(v)/cn-utf8", .takenDown, "removal_marker", "该视频已被删除"),
      ("\(v)/cn-gbk", .takenDown, "removal_marker", "该视频已被删除"),
      ("\(v)/en", .takenDown, "removal_marker", "/(?i)this video (has been|was) removed/"),
      ("\(v)/fine", .online, "http_200", nil),
      ("\(v)/gone-home", .takenDown, "redirect_home", "/"),
      ("\(v)/elsewhere", .online, "http_200", nil),
      ("http://robots.test:\(port)/page", .online, "http_200", nil),
      ("http://robots.test:\(port)/always403", .online, "online_status", nil),
      // No rule for plain.test: the default rule still knows a redirect home.
      ("http://plain.test:\(port)/gone-home", .takenDown, "redirect_home", "/"),
    ]
    for (url, status, reason, matched) in expected {
      let rec = try #require(try store.lookup(url), "\(url)")
      #expect(rec.status == status, "\(url)")
      #expect(rec.reason == reason, "\(url)")
      let check = try #require(try store.history(urlID: rec.id).last)
      #expect(check.matched == matched, "\(url)")
      #expect(check.vantage == "test-lab-1")
      #expect(check.method == "GET")
    }
    // The evidence of the redirect: its chain and the headers of the page it landed on.
    let home = try #require(try store.lookup("\(v)/gone-home"))
    let hop = try #require(try store.history(urlID: home.id).last)
    #expect(hop.redirectChain == [RedirectHop(status: 302, location: "http://www.video.test:\(port)/")])
    #expect(hop.finalURL == "http://www.video.test:\(port)/")
    #expect(hop.rule == "rule[0] video.test")
    let gbkURL = try #require(try store.lookup("\(v)/cn-gbk"))
    let gbkCheck = try #require(try store.history(urlID: gbkURL.id).last)
    #expect(gbkCheck.headers.first { $0.0 == "content-type" }?.1 == "text/html; charset=GBK")
    #expect(gbkCheck.bytes == Int64(gbkPage.count))
  }

  @Test func headIsConfirmedByGetBeforeAnythingCounts() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { req in
      let head = req.method == "HEAD"
      switch req.path {
      case "/head405": return head ? .text(405, "method not allowed") : .text(200, "content")
      case "/head404": return head ? .text(404, "") : .text(200, "content")
      case "/ok": return .text(200, "content")
      case "/gone": return .text(404, "gone")
      default: return .text(500, "?")
      }
    }
    defer { server.stop() }
    let cfg = try config(
      in: dir, port: server.port, hosts: ["head.test"],
      rules: """
        [[rule]]
        hosts = ["head.test"]
        method = "head"
        """)
    let base = "http://head.test:\(server.port)"
    try enqueue(["\(base)/head405", "\(base)/head404", "\(base)/ok", "\(base)/gone"], config: cfg, in: dir)
    try runOnce(cfg, in: dir)
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    func check(_ path: String) throws -> (URLRecord, CheckRecord) {
      let rec = try #require(try store.lookup(base + path))
      return (rec, try #require(try store.history(urlID: rec.id).last))
    }
    let (a, ac) = try check("/head405")
    #expect(a.status == .online)
    #expect(ac.method == "HEAD 405, GET")
    #expect(ac.bodySHA256 != nil)
    let (b, bc) = try check("/head404")
    #expect(b.status == .online)
    #expect(bc.method == "HEAD 404, GET")
    let (c, cc) = try check("/ok")
    #expect(c.status == .online)
    #expect(cc.method == "HEAD")
    #expect(cc.bodySHA256 == nil)
    let (d, dc) = try check("/gone")
    #expect(d.status == .takenDown)
    #expect(dc.method == "HEAD 404, GET")
    // What the server saw: a HEAD for each, a GET only where the HEAD was not 2xx, the GET after the HEAD.
    let seen = server.requests().map { "\($0.method) \($0.path)" }
    #expect(seen.filter { $0 == "HEAD /ok" }.count == 1)
    #expect(!seen.contains("GET /ok"))
    for p in ["/head405", "/head404", "/gone"] {
      let h = try #require(seen.firstIndex(of: "HEAD \(p)"), "\(p)")
      let g = try #require(seen.firstIndex(of: "GET \(p)"), "\(p)")
      #expect(h < g)
    }
  }

  @Test func aPerHostRateHoldsOverFiftyRequests() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { _ in .text(200, "ok") }
    defer { server.stop() }
    let cfg = try config(
      in: dir, port: server.port, hosts: ["rate.test", "free.test"],
      rules: """
        [[rule]]
        hosts = ["rate.test"]
        rate = 20
        """)
    let limited = (0..<50).map { "http://rate.test:\(server.port)/v/\($0)" }
    let free = (0..<50).map { "http://free.test:\(server.port)/v/\($0)" }
    try enqueue(limited + free, config: cfg, in: dir)
    try runOnce(cfg, in: dir)
    let times = server.requests().filter { $0.host?.hasPrefix("rate.test") == true }.map(\.wallClock).sorted()
    #expect(times.count == 50)
    // 20/s: in any window of t seconds the server saw at most 20·t + 1 requests (a token bucket of one;
    // the +1 absorbs the arrival jitter of a loaded machine, a burst would exceed it).
    for i in times.indices {
      for j in times.indices where j > i {
        let allowed = 20 * (times[j] - times[i]) + 1.0 + 1e-6
        #expect(Double(j - i) <= allowed, "\(j - i) requests in \(times[j] - times[i]) s")
      }
    }
    #expect((times.last! - times.first!) >= 49 * 0.050 * 0.97)
    // The unlimited host was not held back by the limited one: its 50 were done well before.
    let freeTimes = server.requests().filter { $0.host?.hasPrefix("free.test") == true }.map(\.wallClock).sorted()
    #expect(freeTimes.count == 50)
    #expect(freeTimes.last! < times.last!)
  }

  /// 429 without Retry-After pauses the whole host too, longer with each one in a row; a host that is
  /// not rate limited goes on meanwhile. Checked by when the server saw requests.
  @Test func aBareTooManyRequestsPausesTheHostLongerEachTime() throws {
    let dir = TempDir()
    let limitedLeft = Locked(2)
    let server = try TestHTTPServer { req in
      if req.host?.hasPrefix("busy.test") == true && limitedLeft.withLock({ n in defer { n -= 1 }; return n > 0 }) {
        return .text(429, "slow down")
      }
      return .text(200, "ok")
    }
    defer { server.stop() }
    let cfg = try config(
      in: dir, port: server.port, hosts: ["busy.test", "free.test"],
      rules: """
        [[rule]]
        hosts = ["busy.test", "free.test"]
        max_connections = 1
        """, probeExtra: "throttle_pause = \"1s\"", backoff: "1h")
    let busy = (0..<6).map { "http://busy.test:\(server.port)/v/\($0)" }
    let free = (0..<6).map { "http://free.test:\(server.port)/v/\($0)" }
    try enqueue(busy + free, config: cfg, in: dir)
    try runOnce(cfg, in: dir)
    let requests = server.requests().sorted { $0.wallClock < $1.wallClock }
    let toBusy = requests.filter { $0.host?.hasPrefix("busy.test") == true }
    #expect(toBusy.count == 6, "\(toBusy.map(\.path))")
    // The first two answers were 429s: 1 s before the next request, then 2 s.
    if toBusy.count >= 3 {
      #expect(toBusy[1].wallClock >= toBusy[0].wallClock + 1.0 - 0.01, "\(toBusy[1].wallClock - toBusy[0].wallClock) s")
      #expect(toBusy[2].wallClock >= toBusy[1].wallClock + 2.0 - 0.01, "\(toBusy[2].wallClock - toBusy[1].wallClock) s")
      // The streak ended with the 200: no pause after it.
      #expect(toBusy.last!.wallClock - toBusy[2].wallClock < 1.0)
    }
    let toFree = requests.filter { $0.host?.hasPrefix("free.test") == true }
    #expect(toFree.count == 6)
    #expect(toFree.last!.wallClock < toBusy.last!.wallClock, "the other host was held back")
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM checks WHERE http_status = 429") == 2)
    #expect(try store.db.scalar("SELECT count(*) FROM urls WHERE status = 'online'") == 10)
  }

  /// 429 + Retry-After pauses the whole host: checked by when the server saw requests, not by sleeps.
  @Test(arguments: [2, 4])
  func retryAfterPausesTheWholeHost(seconds: Int) throws {
    let dir = TempDir()
    let first429 = Locked(true)
    let server = try TestHTTPServer { req in
      if req.path == "/v/3" && first429.withLock({ f in defer { f = false }; return f }) {
        return .text(429, "slow down", headers: [("Retry-After", "\(seconds)")])
      }
      return .text(200, "ok")
    }
    defer { server.stop() }
    // lease 8s: the engine holds URLs at most 2 s, so a 4 s pause hands them back to the database
    // (deferred) and a 2 s pause keeps them queued in memory; both paths must respect the pause.
    let cfg = try config(
      in: dir, port: server.port, hosts: ["busy.test"],
      rules: """
        [[rule]]
        hosts = ["busy.test"]
        max_connections = 1
        """, lease: "8s")
    let urls = (0..<10).map { "http://busy.test:\(server.port)/v/\($0)" }
    try enqueue(urls, config: cfg, in: dir)
    try runOnce(cfg, in: dir)
    let requests = server.requests().sorted { $0.wallClock < $1.wallClock }
    let limited = try #require(requests.firstIndex { $0.path == "/v/3" })
    let t429 = requests[limited].wallClock
    let after = requests[(limited + 1)...]
    #expect(!after.isEmpty)
    for r in after {
      #expect(r.wallClock >= t429 + Double(seconds) - 0.01, "\(r.path) came \(r.wallClock - t429) s after the 429")
    }
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    var online = 0
    for u in urls {
      let rec = try #require(try store.lookup(u))
      if rec.status == .online { online += 1 }
      if u.hasSuffix("/v/3") && rec.status != .online {
        #expect(rec.reason == "http_429")
        #expect((rec.nextCheckAt ?? 0) >= Int64(t429 * 1000) + Int64(seconds) * 1000 - 10)
      }
    }
    #expect(online >= 9)
    if seconds == 4 {
      // The long pause went through the database: claims handed back unchecked (attempt moved on,
      // no check row for it), then claimed again after the pause.
      #expect((try store.db.scalar("SELECT count(*) FROM urls WHERE attempt > checks") ?? 0) > 0)
    }
    // No URL was checked twice for one claim, and nothing holds a lease.
    #expect(try store.countLeased() == 0)
  }

  @Test func aHugeBodyIsReadOnlyUpToTheCapAndItsPrefixIsHashed() throws {
    let dir = TempDir()
    var big = [UInt8](repeating: 0, count: 50 << 20)
    var x: UInt32 = 12345
    for i in big.indices {
      x = x &* 1_103_515_245 &+ 12345
      big[i] = UInt8(truncatingIfNeeded: x >> 16)
    }
    let body = big
    let server = try TestHTTPServer { _ in TestResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: body) }
    defer { server.stop() }
    let cfg = try config(in: dir, port: server.port, hosts: ["big.test"], rules: "", maxBody: "64KiB")
    let url = "http://big.test:\(server.port)/movie.mp4"
    try enqueue([url], config: cfg, in: dir)
    let started = try start(Binaries.takedownd, ["--config", cfg, "--once"], in: dir)
    let finished = started.finish()
    #expect(finished.status == 0, "\(finished.stderr)")
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let rec = try #require(try store.lookup(url))
    #expect(rec.status == .online)
    let check = try #require(try store.history(urlID: rec.id).last)
    #expect(check.bytes == 65536)
    #expect(check.headers.first { $0.0 == "content-length" }?.1 == "\(50 << 20)")
    // The hash is of exactly the bytes read: compare with sha256sum of the same prefix.
    let prefixPath = dir.path + "/prefix.bin"
    #expect(FileManager.default.createFile(atPath: prefixPath, contents: Data(body[0..<65536])))
    let sum = try run("/usr/bin/sha256sum", [prefixPath], in: dir)
    #expect(check.bodySHA256 == sum.stdout.split(separator: " ").first.map(String.init))
  }

  @Test func evidenceOfAURLThatWentFromOnlineToRemoved() throws {
    let dir = TempDir()
    let removed = Locked(false)
    let server = try TestHTTPServer { req in
      removed.withLock { $0 }
        ? .text(404, "This video is no longer available")
        : TestResponse(status: 200, headers: [("Server", "TestTube/1.0"), ("Content-Type", "text/html")], body: Array("<video>the film</video>".utf8))
    }
    defer { server.stop() }
    let cfg = try config(
      in: dir, port: server.port, hosts: ["tube.test"], rules: "", confirmations: 2,
      scheduleExtra: "recheck_interval = \"1s\"")
    let url = "http://tube.test:\(server.port)/watch?v=abc"
    let enq = try run(
      Binaries.takedownctl,
      ["enqueue", "--config", cfg, "--campaign", "spring-2026", "--notice", "N-77", "--rightholder", "Film Co", url], in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    try runOnce(cfg, in: dir)
    removed.withLock { $0 = true }
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    // Wait for the recheck to be due (a state in the database, not a guessed sleep).
    #expect(try waitUntil(timeout: .seconds(10)) { (try store.lookup(url)?.nextCheckAt ?? .max) <= Timestamp.nowMs() })
    try runOnce(cfg, in: dir)
    let rec = try #require(try store.lookup(url))
    #expect(rec.status == .takenDown)

    let text = try run(Binaries.takedownctl, ["evidence", "--config", cfg, url], in: dir)
    #expect(text.status == 0, "\(text.stderr)")
    let history = try store.history(urlID: rec.id)
    #expect(history.count == 3)
    let online = history[0]
    for needle in [
      "URL:               \(rec.url)", "campaign spring-2026", "notice N-77", "rightholder Film Co",
      "Current status:    taken_down (http_404)", "Last seen online:  \(Timestamp.iso(online.checkedAt))",
      "HTTP 200 from 127.0.0.1, vantage test-lab-1", "Server: TestTube/1.0",
      "SHA-256 \(online.bodySHA256 ?? "?")", "Seen removed:      \(Timestamp.iso(history[1].checkedAt)) (http_404), 2 removal check(s)",
      "Confirmed taken down: \(Timestamp.iso(history[2].checkedAt))",
    ] {
      #expect(text.stdout.contains(needle), "missing \(needle) in:\n\(text.stdout)")
    }
    let json = try jsonObject(try run(Binaries.takedownctl, ["evidence", "--config", cfg, "--json", url], in: dir).stdout)
    let last = try #require(json["last_seen_online"] as? [String: Any])
    #expect(last["http_status"] as? Int == 200)
    #expect((last["headers"] as? [String: Any])?["server"] as? String == "TestTube/1.0")
    #expect((json["removal_checks"] as? [Any])?.count == 2)
    #expect(json["vantages"] as? [String] == ["test-lab-1"])
    // history --json carries the same evidence per check.
    let h = try jsonObject(try run(Binaries.takedownctl, ["history", "--config", cfg, "--json", url], in: dir).stdout)
    let checks = try #require(h["checks"] as? [[String: Any]])
    #expect(checks.count == 3)
    #expect(checks[0]["body_sha256"] as? String == online.bodySHA256)
    #expect((checks[0]["body_sha256"] as? String)?.count == 64)
    #expect(checks[2]["vantage"] as? String == "test-lab-1")
  }

  /// A rule's proxy carries the check (an HTTP proxy receives the absolute URL); the proxy may sit on a
  /// private address even when targets may not, and hosts without the rule go direct.
  @Test func aRuleProxyCarriesTheChecksOfItsHosts() throws {
    let dir = TempDir()
    let proxy = try TestHTTPServer { req in
      req.path.hasPrefix("http://far.test/") ? .text(200, "fetched through the proxy") : .text(502, "bad request for a proxy")
    }
    defer { proxy.stop() }
    let cfg = try config(
      in: dir, port: proxy.port, hosts: [],
      rules: """
        [[rule]]
        hosts = ["far.test"]
        proxy = "http://127.0.0.1:\(proxy.port)"
        """, backoff: "1h")
    // Targets may not be private here: only the configured proxy is.
    let text = try String(contentsOfFile: cfg, encoding: .utf8).replacingOccurrences(
      of: "allow_private_addresses = true", with: "allow_private_addresses = false")
    try text.write(toFile: cfg, atomically: true, encoding: .utf8)
    let direct = "http://127.0.0.1:\(proxy.port)/direct"
    try enqueue(["http://far.test/video/9", direct], config: cfg, in: dir)
    try runOnce(cfg, in: dir)
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let rec = try #require(try store.lookup("http://far.test/video/9"))
    #expect(rec.status == .online)
    let check = try #require(try store.history(urlID: rec.id).last)
    #expect(check.remoteIP == "127.0.0.1")
    #expect(check.rule == "rule[0] far.test")
    let seen = proxy.requests().map(\.path)
    #expect(seen == ["http://far.test/video/9"])
    // Without the rule, a loopback target is still refused.
    #expect(try store.lookup(direct)?.reason == "private_address_refused")
  }
}
