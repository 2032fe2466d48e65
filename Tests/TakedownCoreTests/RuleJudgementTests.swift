import Foundation
import Testing

@testable import TakedownCore

/// The host rules' part of classification: pure, so every branch is checked without a server.
@Suite struct RuleJudgementTests {
  func judge(
    _ status: Int, rule: HostRule = HostRule(), curl: Int32 = CurlCode.ok, redirects: Int = 0,
    from original: String = "https://v.example.com/watch/1", to final: String? = nil, method: ProbeMethod = .get,
    marker: String? = nil
  ) -> Verdict {
    Classifier.judge(
      curlCode: curl, httpStatus: status, flags: .init(), rule: rule, redirects: redirects, originalURL: original,
      finalURL: final ?? original, method: method, marker: { marker })
  }

  @Test func plainStatusesAreUnchangedByTheDefaultRule() {
    #expect(judge(200) == Verdict(observation: .online, reason: .http200))
    #expect(judge(404) == Verdict(observation: .removed, reason: .http404))
    #expect(judge(403) == Verdict(observation: .transient, reason: .http4xx))
    #expect(judge(0, curl: CurlCode.operationTimedOut) == Verdict(observation: .transient, reason: .timeout))
  }

  @Test func aMarkerTurnsA200IntoARemovalAndSaysWhich() {
    #expect(judge(200, marker: "该视频已被删除") == Verdict(observation: .removed, reason: .removalMarker, matched: "该视频已被删除"))
  }

  @Test func markersAreNotConsultedForErrorsOrRemovals() {
    var asked = false
    let v = Classifier.judge(
      curlCode: CurlCode.ok, httpStatus: 404, flags: .init(), rule: HostRule(), redirects: 0, originalURL: "http://a/x",
      finalURL: "http://a/x", method: .get, marker: { asked = true; return "x" })
    #expect(v.reason == .http404)
    #expect(!asked)
  }

  @Test func aRedirectToTheHomePageIsARemoval() {
    let v = judge(200, redirects: 1, from: "https://v.example.com/watch/1", to: "https://www.example.com/")
    #expect(v == Verdict(observation: .removed, reason: .redirectHome, matched: "/"))
    // With a query string on the home page too.
    #expect(judge(200, redirects: 2, to: "https://v.example.com/?removed=1").reason == .redirectHome)
    // Configured home paths.
    var rule = HostRule()
    rule.homePaths = ["/", "/index.php"]
    #expect(judge(200, rule: rule, redirects: 1, to: "https://v.example.com/index.php").reason == .redirectHome)
  }

  @Test func redirectsThatAreNotToHomeStayOnline() {
    // Another page of the site.
    #expect(judge(200, redirects: 1, to: "https://v.example.com/watch/1/").reason == .http200)
    // Another site's home page (a shortener pointing at a home page): not this site's removal.
    #expect(judge(200, redirects: 1, from: "https://sho.rt/abc", to: "https://example.org/").reason == .http200)
    // The reported URL was the home page itself.
    #expect(judge(200, redirects: 1, from: "http://example.com/", to: "https://example.com/").reason == .http200)
    // The rule switched off.
    var off = HostRule()
    off.homeRedirectIsRemoval = false
    #expect(judge(200, rule: off, redirects: 1, to: "https://v.example.com/").reason == .http200)
    // No redirect at all.
    #expect(judge(200, from: "https://v.example.com/", to: "https://v.example.com/").reason == .http200)
  }

  @Test func onlineStatusesCountAsOnlineAndStillGetMarkerChecks() {
    var rule = HostRule()
    rule.onlineStatuses = [403]
    #expect(judge(403, rule: rule) == Verdict(observation: .online, reason: .onlineStatus))
    #expect(judge(403, rule: rule, marker: "removed").reason == .removalMarker)
    // Only what the rule names: a 404 stays a removal.
    #expect(judge(404, rule: rule).reason == .http404)
  }

  @Test func aHeadIsNeverJudgedByMarkers() {
    #expect(judge(200, method: .head, marker: "gone").reason == .http200)
  }

  @Test func sameSiteHeuristic() {
    #expect(URLParts.sameSite("v.example.com", "www.example.com"))
    #expect(URLParts.sameSite("a.bbc.co.uk", "www.bbc.co.uk"))
    #expect(!URLParts.sameSite("a.bbc.co.uk", "www.itv.co.uk"))
    #expect(!URLParts.sameSite("example.com", "example.org"))
    #expect(URLParts.path("https://a.b/c/d?x=1#f") == "/c/d")
    #expect(URLParts.path("https://a.b") == "/")
    #expect(URLParts.path("https://a.b?x") == "/")
    #expect(URLParts.host("https://user@Example.COM:8443/x") == "example.com")
    #expect(URLParts.host("http://[::1]:80/") == "[::1]")
  }
}

/// The header callback's parser, fed exactly what libcurl delivers: one line per call, every response.
@Suite struct ResponseCaptureTests {
  func feed(_ lines: [String]) -> ResponseCapture {
    var c = ResponseCapture()
    for l in lines {
      let bytes = Array((l + "\r\n").utf8)
      bytes.withUnsafeBytes { c.take(line: $0) }
    }
    return c
  }

  @Test func redirectChainAndFinalHeaders() {
    let c = feed([
      "HTTP/1.1 301 Moved Permanently", "Location: /a", "Server: first", "",
      "HTTP/1.1 302 Found", "location: https://x.example/b", "",
      "HTTP/2 200", "SERVER: nginx", "Content-Type: text/html; charset=GBK", "Content-Length:  12",
      "X-Ignored: yes", "Set-Cookie: secret=1", "",
    ])
    #expect(c.status == 200)
    #expect(c.hops == [RedirectHop(status: 301, location: "/a"), RedirectHop(status: 302, location: "https://x.example/b")])
    #expect(c.header("server") == "nginx")
    #expect(c.header("content-type") == "text/html; charset=GBK")
    #expect(c.header("content-length") == "12")
    #expect(c.header("set-cookie") == nil)
    #expect(c.headers.count == 3)
  }

  @Test func informationalResponsesAreNotHops() {
    let c = feed(["HTTP/1.1 100 Continue", "", "HTTP/1.1 429 Too Many", "Retry-After: 120", ""])
    #expect(c.hops.isEmpty)
    #expect(c.status == 429)
    #expect(c.header("retry-after") == "120")
  }

  @Test func garbageNeverCrashesAndLongValuesAreCut() {
    let long = String(repeating: "v", count: 5000)
    let c = feed(["HTTP/1.1 2", ":", "Server:", "NoColonHere", "HTTP/", "Location: \(long)"])
    #expect(c.status == 0)
    #expect(c.header("location")?.utf8.count == ResponseCapture.maxValueBytes)
  }
}

/// give_up_after and Retry-After in the state machine.
@Suite struct GiveUpScheduleTests {
  let now: Int64 = 1_800_000_000_000
  func config(_ action: GiveUpAction = .flag) -> ScheduleConfig {
    var c = ScheduleConfig()
    c.giveUpAfterMs = 14 * 86_400_000
    c.onGiveUp = action
    return c
  }

  @Test func theFirstFailureStartsTheClock() {
    let o = SchedulePolicy.apply(.init(status: .online), observation: .transient, reason: .timeout, now: now, config: config())
    #expect(o.state.unreachableSince == now)
    #expect(o.state.givenUpAt == nil)
    #expect(o.state.status == .unreachable)
  }

  @Test func flaggedAfterGiveUpAfterButStillUnreachable() {
    let old = ScheduleState(status: .unreachable, reason: .timeout, failureStreak: 30, unreachableSince: now - 14 * 86_400_000)
    let o = SchedulePolicy.apply(old, observation: .transient, reason: .connectFailed, now: now, config: config())
    #expect(o.state.status == .unreachable)
    #expect(o.state.reason == .persistentlyUnreachable)
    #expect(o.state.givenUpAt == now)
    // One ms earlier: not yet.
    let young = ScheduleState(status: .unreachable, failureStreak: 30, unreachableSince: now - 14 * 86_400_000 + 1)
    #expect(SchedulePolicy.apply(young, observation: .transient, reason: .timeout, now: now, config: config()).state.givenUpAt == nil)
  }

  @Test func takenDownWhenConfiguredSo() {
    let old = ScheduleState(status: .unreachable, failureStreak: 30, unreachableSince: now - 15 * 86_400_000)
    let o = SchedulePolicy.apply(old, observation: .transient, reason: .timeout, now: now, config: config(.takenDown))
    #expect(o.state.status == .takenDown)
    #expect(o.state.reason == .persistentlyUnreachable)
    #expect(o.state.takenDownAt == now)
    #expect(o.nextCheckAt == now + config().watchIntervalMs)
    // And it can still come back.
    let back = SchedulePolicy.apply(o.state, observation: .online, reason: .http200, now: now + 1, config: config(.takenDown))
    #expect(back.state.status == .reappeared)
    #expect(back.state.unreachableSince == nil && back.state.givenUpAt == nil)
  }

  @Test func anythingConclusiveResetsTheClock() {
    let old = ScheduleState(status: .unreachable, failureStreak: 3, unreachableSince: now - 86_400_000)
    for (obs, reason) in [(Observation.online, Reason.http200), (.removed, .http404)] {
      let o = SchedulePolicy.apply(old, observation: obs, reason: reason, now: now, config: config())
      #expect(o.state.unreachableSince == nil)
    }
  }

  @Test func zeroNeverGivesUp() {
    var c = config(.takenDown)
    c.giveUpAfterMs = 0
    let old = ScheduleState(status: .unreachable, failureStreak: 300, unreachableSince: 0)
    let o = SchedulePolicy.apply(old, observation: .transient, reason: .timeout, now: now, config: c)
    #expect(o.state.status == .unreachable && o.state.givenUpAt == nil)
  }

  @Test func retryAfterIsAFloorForTheNextCheck() {
    var c = config()
    c.backoffBaseMs = 1000
    let o = SchedulePolicy.apply(
      .init(status: .online), observation: .transient, reason: .http429, now: now, config: c, notBefore: now + 3_600_000)
    #expect(o.nextCheckAt == now + 3_600_000)
    let shorter = SchedulePolicy.apply(
      .init(status: .online), observation: .transient, reason: .http429, now: now, config: c, notBefore: now + 10)
    #expect(shorter.nextCheckAt > now + 10)
  }
}

@Suite struct HostKeyTests {
  @Test(arguments: [
    ("http://a.example/x", "a.example"), ("https://a.example:8443/x?y#z", "a.example:8443"),
    ("http://[2001:db8::1]:8080/", "[2001:db8::1]:8080"), ("http://a.example?q", "a.example"), ("http://b.example", "b.example"),
  ])
  func authorityIsHostAndPort(url: String, key: String) {
    #expect(ProbeEngine.authority(url) == key)
  }
}

@Suite struct EvidenceEncodingTests {
  @Test func headersJSONRoundTripsWhateverTheServerSent() throws {
    let values = ["nginx/1.22.1", "text/html; charset=\"GBK\"", "a\\b", "tab\there", "ünïcødé 视频", "", "ctl\u{1}x"]
    let names = ["server", "content-type", "location", "date", "last-modified", "retry-after", "content-length"]
    let e = CheckEvidence(headers: Array(zip(names, values)))
    let text = try #require(e.headersJSON)
    let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
    for (n, v) in zip(names, values) { #expect(parsed[n] == v, "\(n)") }
    #expect(CheckEvidence().headersJSON == nil)
  }
}
