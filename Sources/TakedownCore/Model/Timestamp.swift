#if canImport(Glibc)
  import Glibc
#endif

/// Wall-clock time as milliseconds since 1970-01-01T00:00:00Z. Stored as an INTEGER in SQLite so that
/// scheduling arithmetic and range scans stay cheap; rendered as ISO 8601 (UTC) for people and JSON.
public enum Timestamp {
  public static func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// "2026-11-29T05:03:00Z" (milliseconds shown only when not zero).
  public static func iso(_ ms: Int64) -> String {
    var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
    let millis = Int(ms - Int64(seconds) * 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ width: Int) -> String {
      let s = String(v)
      return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    var out =
      "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
      + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    if millis != 0 { out += "." + pad(Int32(millis), 3) }
    return out + "Z"
  }

  /// Parses ISO 8601: "2026-11-29", "2026-11-29T05:03", "2026-11-29T05:03:00", with optional fraction and
  /// zone ("Z", "+02:00", "+0200"). A date or date-time without a zone is taken as UTC (documented).
  public static func parse(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    var i = 0
    func digits(_ n: Int) -> Int? {
      guard i + n <= b.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = b[i + k]
        guard c >= 48 && c <= 57 else { return nil }
        v = v * 10 + Int(c - 48)
      }
      i += n
      return v
    }
    func expect(_ c: UInt8) -> Bool {
      guard i < b.count, b[i] == c else { return false }
      i += 1
      return true
    }
    guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else {
      return nil
    }
    guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
    var hour = 0
    var minute = 0
    var second = 0
    var millis = 0
    var offsetMinutes = 0
    if i < b.count {
      guard b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }  // T, t or space
      i += 1
      guard let h = digits(2), expect(58), let m = digits(2) else { return nil }
      hour = h
      minute = m
      if expect(58) {
        guard let s = digits(2) else { return nil }
        second = s
        if expect(46) || expect(44) {
          var scale = 100
          var any = false
          while i < b.count, b[i] >= 48, b[i] <= 57 {
            millis += Int(b[i] - 48) * scale
            scale /= 10
            i += 1
            any = true
          }
          guard any else { return nil }
        }
      }
      guard hour < 24, minute < 60, second < 61 else { return nil }
      if i < b.count {
        if b[i] == 90 || b[i] == 122 {  // Z
          i += 1
        } else if b[i] == 43 || b[i] == 45 {  // + or -
          let sign = b[i] == 43 ? 1 : -1
          i += 1
          guard let oh = digits(2) else { return nil }
          _ = expect(58)
          guard let om = digits(2), oh < 24, om < 60 else { return nil }
          offsetMinutes = sign * (oh * 60 + om)
        } else {
          return nil
        }
      }
    }
    guard i == b.count else { return nil }
    let days = daysFromCivil(year: year, month: month, day: day)
    let secs = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
    return secs * 1000 + Int64(millis)
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Howard Hinnant's days-from-civil: exact for the proleptic Gregorian calendar, no locale or tz database.
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }
}
