/// Parses and formats the human-readable durations used in the config file and CLI output.
///
/// The grammar is deliberately narrow — whole numbers, lowercase units, each unit at most once and
/// from largest to smallest — so that every accepted string has exactly one meaning and
/// `format(ms:)` produces the canonical spelling of what `parseMs` accepts.
public enum DurationParser {
  /// The accepted units, largest first; the order is what "largest to smallest" is checked against.
  private static let units: [(suffix: String, ms: Int64)] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
  ]

  /// "500ms", "30s", "10m", "6h", "7d", "1h30m", also "0s". Whole numbers only. Returns ms. nil when malformed.
  ///
  /// Also nil for a bare number ("10": the unit is ambiguous), a sign, a fraction, whitespace,
  /// a repeated or out-of-order unit ("1m1h"), and any value that overflows `Int64` milliseconds.
  public static func parseMs(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { return nil }
    var index = 0
    var total: Int64 = 0
    // Index into `units` of the last unit seen; the next one must be strictly smaller.
    var lastUnit = -1
    while index < bytes.count {
      var number: Int64 = 0
      let digitsStart = index
      while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
        let (times10, o1) = number.multipliedReportingOverflow(by: 10)
        let (next, o2) = times10.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
        if o1 || o2 { return nil }
        number = next
        index += 1
      }
      guard index > digitsStart else { return nil }
      let unitStart = index
      while index < bytes.count, bytes[index] >= UInt8(ascii: "a"), bytes[index] <= UInt8(ascii: "z") {
        index += 1
      }
      guard index > unitStart else { return nil }
      let suffix = String(decoding: bytes[unitStart..<index], as: UTF8.self)
      guard let unitIndex = units.firstIndex(where: { $0.suffix == suffix }), unitIndex > lastUnit else {
        return nil
      }
      lastUnit = unitIndex
      let (scaled, o1) = number.multipliedReportingOverflow(by: units[unitIndex].ms)
      let (sum, o2) = total.addingReportingOverflow(scaled)
      if o1 || o2 { return nil }
      total = sum
    }
    return total
  }

  /// Inverse for display: 90_000 -> "1m30s", 0 -> "0s", 86_400_000 -> "1d".
  ///
  /// Negative values (which `parseMs` never returns, but which arithmetic elsewhere may produce)
  /// are shown with a leading "-" rather than trapping.
  public static func format(ms: Int64) -> String {
    if ms == 0 { return "0s" }
    // Work on the magnitude as UInt64 so Int64.min does not overflow on negation.
    var rest = ms.magnitude
    var out = ms < 0 ? "-" : ""
    for unit in units {
      let size = UInt64(unit.ms)
      let count = rest / size
      if count > 0 {
        out += "\(count)\(unit.suffix)"
        rest -= count * size
      }
    }
    return out
  }
}

/// Parses byte sizes such as `max_body_bytes`.
public enum SizeParser {
  /// Multipliers by suffix. SI (KB = 1000) and IEC (KiB = 1024) are both accepted because people
  /// write both, and each means exactly what its standard says rather than guessing.
  private static let suffixes: [String: Int] = [
    "": 1, "B": 1,
    "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
    "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
  ]

  /// "262144", "256KiB", "1MiB", "64KB" (KB=1000), "1GiB". Whole numbers only, no space before
  /// the unit, units case-sensitive. nil when malformed, negative or overflowing `Int`.
  public static func parseBytes(_ text: String) -> Int? {
    let bytes = Array(text.utf8)
    var index = 0
    var number = 0
    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
      let (times10, o1) = number.multipliedReportingOverflow(by: 10)
      let (next, o2) = times10.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
      if o1 || o2 { return nil }
      number = next
      index += 1
    }
    guard index > 0 else { return nil }
    let suffix = String(decoding: bytes[index...], as: UTF8.self)
    guard let multiplier = suffixes[suffix] else { return nil }
    let (result, overflow) = number.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : result
  }

  /// The largest IEC unit that divides `bytes` exactly, for messages: 1_073_741_824 -> "1GiB",
  /// 262_144 -> "256KiB", 1000 -> "1000B".
  static func format(bytes: Int) -> String {
    for (suffix, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
    where bytes != 0 && bytes % size == 0 {
      return "\(bytes / size)\(suffix)"
    }
    return "\(bytes)B"
  }
}
