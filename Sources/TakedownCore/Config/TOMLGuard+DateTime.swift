/// toml++ asserts (aborting the process) on two families of malformed date-times, both found by fuzzing:
/// - a 10-character date-like word, one space, one digit and then a value terminator ("1979-05-27 8",
///   "1979-05-2= 8", "1a79-05-27 0,"): its value-type scan takes the space for the date-time separator and
///   reads on past the end of the value (toml.hpp:15080, `!is_value_terminator(*cp)`);
/// - a valid date, then "T", "t" or a space, then a character that is not a digit ("1979-05-27T.07:32:00",
///   "1979-05-27TZ07:32:00Z"): parse_time assumes a digit (toml.hpp:14790, `is_decimal_digit(*cp)`).
/// Rather than mirror the parser's bugs, the guard refuses every value that is meant as a date or a time
/// but is not one exactly as TOML 1.0 writes it. Well-formed ones go on to toml++ untouched.
extension TOMLGuard {
  /// A problem for the value that starts at `start` (an ASCII digit where toml++ expects a value), or nil
  /// when it is not meant as a date or time, or is a well-formed one.
  static func dateTimeProblem(in b: [UInt8], at start: Int, line: Int) -> String? {
    var end = wordEnd(in: b, from: start)
    guard looksLikeDateTime(b[start..<end]) else { return nil }
    // "1979-05-27 07:32:00": a date, a space and a digit continue into a time, as toml++ reads it.
    if end - start == 10 && end + 1 < b.count && b[end] == UInt8(ascii: " ") && isDigit(b[end + 1]) {
      end = wordEnd(in: b, from: end + 1)
    }
    let token = b[start..<end]
    guard let why = DateTimeShape.problem(token) else { return nil }
    return "line \(line): malformed date-time '\(shown(token))': \(why); TOML writes them like 1979-05-27, "
      + "07:32:00 or 1979-05-27T07:32:00Z (quote it if it is text)"
  }

  /// Whether a value starting with a digit is meant as a date or time: it holds a ':' or a '-' that is
  /// not an exponent sign ("1e-5"). No integer or float has either, so nothing valid is taken for one.
  static func looksLikeDateTime(_ word: ArraySlice<UInt8>) -> Bool {
    guard let first = word.first, isDigit(first) else { return false }
    var previous = first
    for c in word.dropFirst() {
      if c == UInt8(ascii: ":") { return true }
      if c == UInt8(ascii: "-") && previous != UInt8(ascii: "e") && previous != UInt8(ascii: "E") { return true }
      previous = c
    }
    return false
  }

  /// The end of the word starting at `start`: the first blank, line break, ',', ']', '}' or '#' (the
  /// ASCII value terminators of toml++; a non-ASCII one stays in the word, which then is refused).
  private static func wordEnd(in b: [UInt8], from start: Int) -> Int {
    var i = start
    while i < b.count {
      switch b[i] {
      case 9, 10, 11, 12, 13, 32, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
        return i
      default: i += 1
      }
    }
    return i
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

  /// The word as it can be shown in a one-line message: control bytes as '?', at most 40 characters.
  private static func shown(_ word: ArraySlice<UInt8>) -> String {
    let text = String(decoding: word.map { $0 < 32 || $0 == 127 ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    return text.count > 40 ? String(text.prefix(40)) + "…" : text
  }
}

/// Reads one word against the TOML 1.0 grammar of offset date-time, local date-time, local date and
/// local time (RFC 3339 with 'T', 't' or a space between date and time, and seconds required).
private struct DateTimeShape {
  private let b: ArraySlice<UInt8>
  private var i: Int

  private init(_ b: ArraySlice<UInt8>) {
    self.b = b
    i = b.startIndex
  }

  /// Why `word` is not a TOML 1.0 date-time, date or time, or nil when it is one.
  static func problem(_ word: ArraySlice<UInt8>) -> String? {
    var r = DateTimeShape(word)
    let colon = word.firstIndex(of: UInt8(ascii: ":"))
    let dash = word.firstIndex(of: UInt8(ascii: "-"))
    if let colon, dash.map({ colon < $0 }) ?? true {  // a local time
      if let why = r.time() { return why }
      return r.atEnd ? nil : "unexpected \(r.here) after the time (only a time with a date has an offset)"
    }
    if let why = r.date() { return why }
    if r.atEnd { return nil }
    guard r.take("T") || r.take("t") || r.take(" ") else {
      return "expected 'T' or a space between the date and the time, saw \(r.here)"
    }
    if let why = r.time() { return why }
    if r.atEnd { return nil }
    if !r.take("Z") && !r.take("z") {
      guard r.take("+") || r.take("-") else {
        return "expected 'Z' or an offset like -07:00 after the time, saw \(r.here)"
      }
      guard let hour = r.number(2) else { return "expected a 2-digit offset hour, saw \(r.next(2))" }
      if hour > 23 { return "offset hour \(hour) is not 00 to 23" }
      guard r.take(":") else { return "expected ':' in the offset, saw \(r.here)" }
      guard let minute = r.number(2) else { return "expected a 2-digit offset minute, saw \(r.next(2))" }
      if minute > 59 { return "offset minute \(minute) is not 00 to 59" }
    }
    return r.atEnd ? nil : "unexpected \(r.here) after the offset"
  }

  private var atEnd: Bool { i == b.endIndex }

  /// The next character, quoted, for a message.
  private var here: String { next(1) }

  /// The next `count` characters, quoted, for a message.
  private func next(_ count: Int) -> String {
    guard !atEnd else { return "the end of the value" }
    let text = b[i..<min(i + count, b.endIndex)]
    if text.contains(where: { $0 < 32 || $0 == 127 }) { return "a control character" }
    if text.contains(where: { $0 >= 128 }) { return "a non-ASCII character" }
    return "'" + String(decoding: text, as: UTF8.self) + "'"
  }

  private mutating func take(_ c: Unicode.Scalar) -> Bool {
    guard !atEnd && b[i] == UInt8(ascii: c) else { return false }
    i += 1
    return true
  }

  /// Exactly `count` ASCII digits as a number; nil (consuming nothing) when they are not there.
  private mutating func number(_ count: Int) -> Int? {
    guard b.endIndex - i >= count else { return nil }
    var n = 0
    for c in b[i..<i + count] {
      guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
      n = n * 10 + Int(c - UInt8(ascii: "0"))
    }
    i += count
    return n
  }

  /// YYYY-MM-DD, a real day of the Gregorian calendar.
  private mutating func date() -> String? {
    guard let year = number(4) else { return "expected a 4-digit year, saw \(next(4))" }
    guard take("-") else { return "expected '-' after the year, saw \(here)" }
    guard let month = number(2) else { return "expected a 2-digit month, saw \(next(2))" }
    if month < 1 || month > 12 { return "month \(month) is not 01 to 12" }
    guard take("-") else { return "expected '-' after the month, saw \(here)" }
    guard let day = number(2) else { return "expected a 2-digit day, saw \(next(2))" }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let days = month == 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].contains(month) ? 30 : 31
    if day < 1 || day > days { return "day \(day) is not 01 to \(days) in month \(month) of \(year)" }
    return nil
  }

  /// HH:MM:SS with optional fractional seconds; 60 seconds is RFC 3339's leap second.
  private mutating func time() -> String? {
    guard let hour = number(2) else { return "expected a 2-digit hour, saw \(next(2))" }
    if hour > 23 { return "hour \(hour) is not 00 to 23" }
    guard take(":") else { return "expected ':' after the hour, saw \(here)" }
    guard let minute = number(2) else { return "expected a 2-digit minute, saw \(next(2))" }
    if minute > 59 { return "minute \(minute) is not 00 to 59" }
    guard take(":") else { return "expected ':' and seconds after the minute (TOML 1.0 requires seconds), saw \(here)" }
    guard let second = number(2) else { return "expected 2-digit seconds, saw \(next(2))" }
    if second > 60 { return "second \(second) is not 00 to 60" }
    if take(".") {
      guard number(1) != nil else { return "expected digits after '.', saw \(here)" }
      while number(1) != nil {}
    }
    return nil
  }
}
