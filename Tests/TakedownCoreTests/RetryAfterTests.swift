import Testing

@testable import TakedownCore

@Suite struct RetryAfterTests {
  /// 1994-11-06 08:49:37 GMT, the date in RFC 9110's examples (`date -u -d ... +%s` = 784111777).
  static let exampleMs: Int64 = 784_111_777_000
  /// One minute before the example date, so each form of it asks for exactly 60 s.
  static let nowMs = exampleMs - 60_000
  static let dayMs: Int64 = 86_400_000

  @Test(
    arguments: [
      ("0", 0),
      ("120", 120_000),
      ("007", 7_000),
      (" 120", 120_000),
      ("120  ", 120_000),
      ("\t 3600 \r\n", 3_600_000),
    ] as [(String, Int64)])
  func delaySeconds(value: String, expected: Int64) {
    #expect(RetryAfter.parseDelayMs(value, nowMs: Self.nowMs) == expected)
  }

  @Test(arguments: ["99999999999999999999999", "315360001", "9223372036854775807", "9223372036854775808"])
  func hugeDelaysClampInsteadOfOverflowing(value: String) {
    #expect(RetryAfter.parseDelayMs(value, nowMs: Self.nowMs) == RetryAfter.maxDelayMs)
  }

  @Test(arguments: [
    "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",  // obsolete RFC 850
    "Sun Nov  6 08:49:37 1994",  // asctime
    "  Sun, 06 Nov 1994 08:49:37 GMT  ",
    "sun, 06 nov 1994 08:49:37 gmt",
  ])
  func httpDateForms(value: String) {
    #expect(RetryAfter.parseDelayMs(value, nowMs: Self.nowMs) == 60_000)
  }

  @Test func asctimeWithTwoDigitDay() {
    #expect(RetryAfter.parseDelayMs("Thu Nov 17 08:49:37 1994", nowMs: Self.nowMs) == 60_000 + 11 * Self.dayMs)
  }

  @Test(arguments: [
    "Sun, 06 Nov 1994 08:48:37 GMT",
    "Sunday, 06-Nov-94 08:48:36 GMT",
    "Sun Nov  6 08:00:00 1994",
    "Thu, 01 Jan 1970 00:00:00 GMT",
  ])
  func pastDatesAskForNoDelay(value: String) {
    #expect(RetryAfter.parseDelayMs(value, nowMs: Self.nowMs) == 0)
  }

  @Test func theDayNameNeedNotAgreeWithTheDate() {
    #expect(RetryAfter.parseDelayMs("Mon, 06 Nov 1994 08:49:37 GMT", nowMs: Self.nowMs) == 60_000)
  }

  @Test func leapDays() {
    let now: Int64 = 1_704_067_200_000  // 2024-01-01 00:00:00 GMT
    #expect(RetryAfter.parseDelayMs("Thu, 29 Feb 2024 00:00:00 GMT", nowMs: now) == (31 + 28) * Self.dayMs)
    #expect(RetryAfter.parseDelayMs("Wed, 29 Feb 2023 00:00:00 GMT", nowMs: now) == nil)
    #expect(RetryAfter.parseDelayMs("Tue, 29 Feb 2000 00:00:00 GMT", nowMs: now) == 0)
    #expect(RetryAfter.parseDelayMs("Fri, 29 Feb 2100 00:00:00 GMT", nowMs: now) == nil)
  }

  /// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the same year a century earlier.
  @Test func rfc850TwoDigitYears() {
    let now: Int64 = 1_735_689_600_000  // 2025-01-01 00:00:00 GMT
    // 2070 is within 50 years: a (clamped) future date.
    #expect(RetryAfter.parseDelayMs("Tuesday, 01-Jan-70 00:00:00 GMT", nowMs: now) == RetryAfter.maxDelayMs)
    // 2030 is close enough to measure exactly: 5 years, one of them (2028) a leap year.
    #expect(
      RetryAfter.parseDelayMs("Tuesday, 01-Jan-30 00:00:00 GMT", nowMs: now) == (5 * 365 + 1) * Self.dayMs)
    // 2080 is more than 50 years ahead, so it means 1980: in the past.
    #expect(RetryAfter.parseDelayMs("Tuesday, 01-Jan-80 00:00:00 GMT", nowMs: now) == 0)
  }

  @Test func farFutureDatesClamp() {
    #expect(RetryAfter.parseDelayMs("Fri, 31 Dec 9999 23:59:59 GMT", nowMs: Self.nowMs) == RetryAfter.maxDelayMs)
  }

  @Test func leapSecondIsAccepted() {
    #expect(RetryAfter.parseDelayMs("Sat, 31 Dec 2016 23:59:60 GMT", nowMs: 1_483_228_800_000) == 0)
    #expect(
      RetryAfter.parseDelayMs("Sat, 31 Dec 2016 23:59:60 GMT", nowMs: 1_483_228_700_000) == 100_000)
  }

  @Test(arguments: [
    "soon", "-5", "1.5", "", "   ", "+5", "5s", "1 2", "0x10", "١٢٠",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT",
    "Sun, 06 November 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 8:49:37 GMT",
    "Sun, 06 Nov 1994 08:49 GMT",
    "Sun,06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT x",
    "Xyz, 06 Nov 1994 08:49:37 GMT",
    "Sun, 31 Apr 1994 08:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sunday, 06-Nov-1994 08:49:37 GMT",
    "Sun, 06-Nov-94 08:49:37 GMT",
    "Sunday, 06 Nov 1994 08:49:37 GMT",
    "Sun Nov 6 08:49:37 1994",
    "Sun Nov  6 08:49:37 94",
    "Sun Nov  6 08:49:37 1994 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
  ])
  func invalidValues(value: String) {
    #expect(RetryAfter.parseDelayMs(value, nowMs: Self.nowMs) == nil)
  }

  /// A 429 without Retry-After: the host's pause doubles with each one in a row, up to 10 minutes
  /// (or the base itself when it is longer), and never overflows.
  @Test func throttlePauseDoublesUpToItsCap() {
    let tenMinutes: Int64 = 600_000
    #expect((1...8).map { ProbeEngine.throttlePause(base: 10_000, streak: $0) } == [
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000,
    ])
    #expect(ProbeEngine.throttlePause(base: 10_000, streak: 0) == 10_000)
    #expect(ProbeEngine.throttlePause(base: 10_000, streak: Int.max) == tenMinutes)
    #expect(ProbeEngine.throttlePause(base: 3_600_000, streak: 1) == 3_600_000)
    #expect(ProbeEngine.throttlePause(base: 3_600_000, streak: 50) == 3_600_000)
    #expect(ProbeEngine.throttlePause(base: 1, streak: 64) == tenMinutes)
  }
}
