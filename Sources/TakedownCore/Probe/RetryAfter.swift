/// Retry-After (RFC 9110 §10.2.3), parsed by hand: Foundation's date formatters follow the process
/// locale and time zone unless configured just so, and HTTP dates are always English and GMT.
enum RetryAfter {
  /// Ten years. A server asking for longer is either broken or means "never"; either way the
  /// schedule treats it as a very long wait, and the arithmetic stays far from overflow.
  static let maxDelayMs: Int64 = 10 * 365 * 86_400 * 1000

  /// Delay in ms (>= 0) that a Retry-After header value asks for; nil when the value is not valid.
  /// Delays are capped at `maxDelayMs`; a date in the past asks for 0.
  static func parseDelayMs(_ value: String, nowMs: Int64) -> Int64? {
    var bytes = Array(value.utf8)[...]
    while let first = bytes.first, isWhitespace(first) { bytes.removeFirst() }
    while let last = bytes.last, isWhitespace(last) { bytes.removeLast() }
    guard let first = bytes.first else { return nil }

    if isDigit(first) {
      return delaySeconds(bytes)
    }
    guard let dateMs = httpDateMs(bytes, nowMs: nowMs) else { return nil }
    // Subtract in a way that cannot overflow for any nowMs, then clamp.
    let (delay, overflow) = dateMs.subtractingReportingOverflow(nowMs)
    if overflow { return nowMs < 0 ? maxDelayMs : 0 }
    return min(max(delay, 0), maxDelayMs)
  }

  // MARK: - delay-seconds

  private static func delaySeconds(_ bytes: ArraySlice<UInt8>) -> Int64? {
    let capSeconds = maxDelayMs / 1000
    var seconds: Int64 = 0
    for byte in bytes {
      guard isDigit(byte) else { return nil }
      // Saturate instead of overflowing on "99999999999999999999999"; the digits must still all be digits.
      if seconds < capSeconds {
        seconds = seconds * 10 + Int64(byte - UInt8(ascii: "0"))
      }
    }
    return min(seconds, capSeconds) * 1000
  }

  // MARK: - HTTP-date

  private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
  private static let longDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
  private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

  /// The three forms of RFC 9110 §5.6.7. The day name must be a real one but need not agree with
  /// the date: recipients use the date, and servers that get the weekday wrong still mean the date.
  private static func httpDateMs(_ bytes: ArraySlice<UInt8>, nowMs: Int64) -> Int64? {
    var scanner = Scanner(bytes)
    guard let dayName = scanner.letters() else { return nil }

    if scanner.skip(",") {
      guard scanner.skip(" ") else { return nil }
      if matches(dayName, dayNames) != nil {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        guard let day = scanner.digits(count: 2), scanner.skip(" "),
          let month = scanner.letters().flatMap({ matches($0, monthNames) }), scanner.skip(" "),
          let year = scanner.digits(count: 4), scanner.skip(" "),
          let time = scanner.timeOfDay(), scanner.skip(" "), scanner.skipWord("GMT"), scanner.atEnd
        else { return nil }
        return epochMs(year: year, month: month + 1, day: day, time: time)
      }
      if matches(dayName, longDayNames) != nil {
        // Obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        guard let day = scanner.digits(count: 2), scanner.skip("-"),
          let month = scanner.letters().flatMap({ matches($0, monthNames) }), scanner.skip("-"),
          let shortYear = scanner.digits(count: 2), scanner.skip(" "),
          let time = scanner.timeOfDay(), scanner.skip(" "), scanner.skipWord("GMT"), scanner.atEnd
        else { return nil }
        let year = rfc850Year(shortYear, nowMs: nowMs)
        return epochMs(year: year, month: month + 1, day: day, time: time)
      }
      return nil
    }

    // asctime: "Sun Nov  6 08:49:37 1994" (the day is two digits or a space and one digit).
    guard matches(dayName, dayNames) != nil, scanner.skip(" "),
      let month = scanner.letters().flatMap({ matches($0, monthNames) }), scanner.skip(" ")
    else { return nil }
    let day: Int
    if scanner.skip(" ") {
      guard let digit = scanner.digits(count: 1) else { return nil }
      day = digit
    } else {
      guard let digits = scanner.digits(count: 2) else { return nil }
      day = digits
    }
    guard scanner.skip(" "), let time = scanner.timeOfDay(), scanner.skip(" "),
      let year = scanner.digits(count: 4), scanner.atEnd
    else { return nil }
    return epochMs(year: year, month: month + 1, day: day, time: time)
  }

  /// RFC 9110 §5.6.7: a two-digit year more than 50 years in the future means the most recent past
  /// year with those digits.
  private static func rfc850Year(_ shortYear: Int, nowMs: Int64) -> Int {
    let nowYear = civilFromDays(Int64(floorDiv(nowMs, 86_400_000))).year
    let century = nowYear - nowYear % 100
    var year = century + shortYear
    if year > nowYear + 50 { year -= 100 }
    return year
  }

  private static func epochMs(year: Int, month: Int, day: Int, time: (Int, Int, Int)) -> Int64? {
    let (hour, minute, second) = time
    // 60 is a leap second, which the grammar allows.
    guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
      (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
    else { return nil }
    let days = daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
    let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    return seconds * 1000
  }

  private static func daysInMonth(year: Int, month: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm), so no
  /// timegm and no TZ environment are involved.
  private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  private static func civilFromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (Int(year), Int(month), Int(day))
  }

  private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-(a + 1)) / b) - 1
  }

  /// The index of `word` in `names`. Case-insensitive: the grammar says case-sensitive, but nothing
  /// is gained by refusing "GMT"-style dates a server wrote in the wrong case.
  private static func matches(_ word: ArraySlice<UInt8>, _ names: [String]) -> Int? {
    names.firstIndex { equalsIgnoringASCIICase(word, $0) }
  }

  fileprivate static func equalsIgnoringASCIICase(_ word: ArraySlice<UInt8>, _ name: String) -> Bool {
    word.count == name.utf8.count && zip(word, name.utf8).allSatisfy { $0 | 0x20 == $1 | 0x20 }
  }

  fileprivate static func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
      || byte == UInt8(ascii: "\n")
  }

  private struct Scanner {
    var rest: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    var atEnd: Bool { rest.isEmpty }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
      guard rest.first == UInt8(ascii: character) else { return false }
      rest.removeFirst()
      return true
    }

    mutating func skipWord(_ word: String) -> Bool {
      guard let found = letters(), RetryAfter.equalsIgnoringASCIICase(found, word) else { return false }
      return true
    }

    /// One or more ASCII letters.
    mutating func letters() -> ArraySlice<UInt8>? {
      let end =
        rest.firstIndex { !(($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z")) } ?? rest.endIndex
      guard end > rest.startIndex else { return nil }
      defer { rest = rest[end...] }
      return rest[..<end]
    }

    /// Exactly `count` digits.
    mutating func digits(count: Int) -> Int? {
      guard rest.count >= count else { return nil }
      var value = 0
      for byte in rest.prefix(count) {
        guard RetryAfter.isDigit(byte) else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
      }
      rest.removeFirst(count)
      return value
    }

    /// "HH:MM:SS", each exactly two digits.
    mutating func timeOfDay() -> (Int, Int, Int)? {
      guard let hour = digits(count: 2), skip(":"), let minute = digits(count: 2), skip(":"),
        let second = digits(count: 2)
      else { return nil }
      return (hour, minute, second)
    }
  }
}
