import Testing

@testable import TakedownCore

@Suite struct ScheduleTests {
  var config: ScheduleConfig {
    var c = ScheduleConfig()
    c.recheckIntervalMs = 6 * 3_600_000
    c.confirmations = 2
    c.confirmIntervalMs = 3_600_000
    c.watchIntervalMs = 86_400_000
    c.backoffBaseMs = 60_000
    c.backoffMaxMs = 3_600_000
    return c
  }
  let now: Int64 = 1_800_000_000_000

  @Test func firstOnlineCheck() {
    let o = SchedulePolicy.apply(.init(status: .pending), observation: .online, reason: .http200, now: now, config: config)
    #expect(o.state.status == .online)
    #expect(o.state.firstOnlineAt == now)
    #expect(o.nextCheckAt == now + 6 * 3_600_000)
    #expect(o.transition?.from == .pending && o.transition?.to == .online)
  }

  /// Only a check that sets the reason decides the URL's HTTP status: a taken_down URL keeps the ones of
  /// the removal that confirmed it through later removals and transient failures.
  @Test(arguments: URLStatus.allCases.filter { $0 != .cancelled }, [Observation.online, .removed, .transient])
  func aCheckDecidesTheReasonUnlessItLeavesATakenDownURLTakenDown(status: URLStatus, observation: Observation) {
    let old = ScheduleState(status: status, reason: .http404, removalStreak: 2)
    let reason: Reason = observation == .online ? .http200 : observation == .removed ? .http410 : .http5xx
    let o = SchedulePolicy.apply(old, observation: observation, reason: reason, now: now, config: config)
    let keeps = status == .takenDown && observation != .online
    #expect(o.decided == !keeps)
    #expect(o.state.reason == (keeps ? .http404 : reason))
  }

  @Test func removalNeedsConfirmations() {
    var s = ScheduleState(status: .online, firstOnlineAt: now - 1000)
    var o = SchedulePolicy.apply(s, observation: .removed, reason: .http404, now: now, config: config)
    #expect(o.state.status == .pending)
    #expect(o.state.removalStreak == 1)
    #expect(o.nextCheckAt == now + 3_600_000)
    #expect(o.state.takenDownAt == nil)
    s = o.state
    let later = now + 3_600_000
    o = SchedulePolicy.apply(s, observation: .removed, reason: .http410, now: later, config: config)
    #expect(o.state.status == .takenDown)
    #expect(o.state.reason == .http410)
    #expect(o.state.takenDownAt == later)
    #expect(o.state.firstTakenDownAt == later)
    #expect(o.nextCheckAt == later + 86_400_000)
    #expect(o.transition?.to == .takenDown)
  }

  @Test func onlineBreaksTheRemovalStreak() {
    let s = ScheduleState(status: .pending, reason: .http404, removalStreak: 1)
    let o = SchedulePolicy.apply(s, observation: .online, reason: .http200, now: now, config: config)
    #expect(o.state.status == .online)
    #expect(o.state.removalStreak == 0)
  }

  @Test func transientNeitherCountsNorBreaksTheStreak() {
    let s = ScheduleState(status: .pending, reason: .http404, removalStreak: 1)
    let o = SchedulePolicy.apply(s, observation: .transient, reason: .timeout, now: now, config: config)
    #expect(o.state.status == .unreachable)
    #expect(o.state.removalStreak == 1)
    let o2 = SchedulePolicy.apply(o.state, observation: .removed, reason: .http404, now: now + 1, config: config)
    #expect(o2.state.status == .takenDown)
  }

  @Test func reappearanceIsCaughtAndSticks() {
    let s = ScheduleState(status: .takenDown, reason: .http404, removalStreak: 2, takenDownAt: now - 10, firstTakenDownAt: now - 10)
    let o = SchedulePolicy.apply(s, observation: .online, reason: .http200, now: now, config: config)
    #expect(o.state.status == .reappeared)
    #expect(o.transition?.from == .takenDown)
    #expect(o.state.firstTakenDownAt == now - 10)
    let o2 = SchedulePolicy.apply(o.state, observation: .online, reason: .http200, now: now + 1, config: config)
    #expect(o2.state.status == .reappeared)
    #expect(o2.transition == nil)
  }

  @Test func takenDownStaysTakenDownOnTransientFailure() {
    let s = ScheduleState(status: .takenDown, reason: .http404, removalStreak: 2, takenDownAt: now - 10)
    let o = SchedulePolicy.apply(s, observation: .transient, reason: .timeout, now: now, config: config)
    #expect(o.state.status == .takenDown)
    #expect(o.state.reason == .http404)
    #expect(o.nextCheckAt == now + 60_000)
  }

  @Test func takenDownRewatchKeepsFirstTakedown() {
    let s = ScheduleState(status: .takenDown, reason: .http404, removalStreak: 2, takenDownAt: now - 10, firstTakenDownAt: now - 10)
    let o = SchedulePolicy.apply(s, observation: .removed, reason: .http404, now: now, config: config)
    #expect(o.state.status == .takenDown)
    #expect(o.state.takenDownAt == now - 10)
    #expect(o.nextCheckAt == now + 86_400_000)
    #expect(o.transition == nil)
  }

  @Test func backoffDoublesAndCaps() {
    let c = config
    #expect(SchedulePolicy.backoff(failures: 1, config: c, jitter: 0.5) == 60_000)
    #expect(SchedulePolicy.backoff(failures: 2, config: c, jitter: 0.5) == 120_000)
    #expect(SchedulePolicy.backoff(failures: 3, config: c, jitter: 0.5) == 240_000)
    #expect(SchedulePolicy.backoff(failures: 7, config: c, jitter: 0.5) == 3_600_000)
    #expect(SchedulePolicy.backoff(failures: 10_000, config: c, jitter: 0.5) == 3_600_000)
    #expect(SchedulePolicy.backoff(failures: 1, config: c, jitter: 0) == 54_000)
    #expect(SchedulePolicy.backoff(failures: 1, config: c, jitter: 1) == 66_000)
    #expect(SchedulePolicy.backoff(failures: 20, config: c, jitter: 1) == 3_600_000)
  }

  @Test func confirmationsOfOneTakeDownAtOnce() {
    var c = config
    c.confirmations = 1
    let o = SchedulePolicy.apply(.init(status: .pending), observation: .removed, reason: .http451, now: now, config: c)
    #expect(o.state.status == .takenDown)
  }
}

@Suite struct TimestampTests {
  @Test(arguments: [
    ("2026-11-29", Int64(1_795_910_400_000)),
    ("2026-11-29T05:03:00Z", Int64(1_795_928_580_000)),
    ("2026-11-29T05:03:00.250Z", Int64(1_795_928_580_250)),
    ("2026-11-29T07:03:00+02:00", Int64(1_795_928_580_000)),
    ("2026-11-29T05:03", Int64(1_795_928_580_000)),
    ("2024-02-29", Int64(1_709_164_800_000)),
    ("1970-01-01T00:00:00Z", Int64(0)),
  ])
  func parses(_ text: String, _ ms: Int64) {
    #expect(Timestamp.parse(text) == ms)
  }

  @Test(arguments: ["", "2026-13-01", "2026-02-30", "2025-02-29", "2026-11-29T25:00", "yesterday", "2026-11-29X"])
  func rejects(_ text: String) {
    #expect(Timestamp.parse(text) == nil)
  }

  @Test func rendersISO() {
    #expect(Timestamp.iso(1_795_928_580_000) == "2026-11-29T05:03:00Z")
    #expect(Timestamp.iso(1_795_928_580_250) == "2026-11-29T05:03:00.250Z")
    #expect(Timestamp.parse(Timestamp.iso(1_795_928_580_250)) == 1_795_928_580_250)
  }

  @Test func jsonEscapes() {
    #expect(JSON.string("a\"b\\c\n\u{1}é").rendered() == "\"a\\\"b\\\\c\\n\\u0001é\"")
    #expect(JSON.object([("a", .int(1)), ("b", .null)]).rendered() == "{\"a\":1,\"b\":null}")
  }
}
