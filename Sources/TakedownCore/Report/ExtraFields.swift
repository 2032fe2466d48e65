/// A report's extra CSV columns as they are stored in `reports.extra`: a flat JSON object of strings,
/// keys in the order of the imported header.
public enum ExtraFields {
  public static func encode(_ fields: [(String, String)]) -> String? {
    fields.isEmpty ? nil : JSON.object(fields.map { ($0.0, .string($0.1)) }).rendered()
  }

  /// Reads back what `encode` wrote. Numbers, booleans and null (written by hand, not by takedown) come back
  /// as their JSON text; nested values are kept as JSON text too. Malformed text gives nil.
  public static func decode(_ text: String) -> [(String, String)]? {
    var p = FlatJSONParser(Array(text.utf8))
    return p.object()
  }
}

/// Just enough JSON to read one flat object back.
struct FlatJSONParser {
  let b: [UInt8]
  var i = 0
  init(_ b: [UInt8]) { self.b = b }

  mutating func skipSpace() {
    while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
  }

  mutating func object() -> [(String, String)]? {
    skipSpace()
    guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
    i += 1
    var out: [(String, String)] = []
    skipSpace()
    if i < b.count, b[i] == UInt8(ascii: "}") {
      i += 1
      return out
    }
    while true {
      skipSpace()
      guard let key = string() else { return nil }
      skipSpace()
      guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
      i += 1
      skipSpace()
      guard let value = valueText() else { return nil }
      out.append((key, value))
      skipSpace()
      guard i < b.count else { return nil }
      if b[i] == UInt8(ascii: ",") {
        i += 1
        continue
      }
      if b[i] == UInt8(ascii: "}") {
        i += 1
        return out
      }
      return nil
    }
  }

  /// A string's value, or the raw JSON text of any other value.
  mutating func valueText() -> String? {
    guard i < b.count else { return nil }
    if b[i] == UInt8(ascii: "\"") { return string() }
    let start = i
    var depth = 0
    var inString = false
    while i < b.count {
      let c = b[i]
      if inString {
        if c == UInt8(ascii: "\\") {
          i += 1
        } else if c == UInt8(ascii: "\"") {
          inString = false
        }
      } else if c == UInt8(ascii: "\"") {
        inString = true
      } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
        depth += 1
      } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
        if depth == 0 { break }
        depth -= 1
      } else if c == UInt8(ascii: ",") && depth == 0 {
        break
      }
      i += 1
    }
    let text = String(decoding: b[start..<min(i, b.count)], as: UTF8.self).trimmingASCIIWhitespace()
    return text.isEmpty ? nil : text
  }

  mutating func string() -> String? {
    guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
    i += 1
    var out: [UInt8] = []
    while i < b.count {
      let c = b[i]
      i += 1
      if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      if c != UInt8(ascii: "\\") {
        out.append(c)
        continue
      }
      guard i < b.count else { return nil }
      let e = b[i]
      i += 1
      switch e {
      case UInt8(ascii: "n"): out.append(10)
      case UInt8(ascii: "r"): out.append(13)
      case UInt8(ascii: "t"): out.append(9)
      case UInt8(ascii: "b"): out.append(8)
      case UInt8(ascii: "f"): out.append(12)
      case UInt8(ascii: "u"):
        guard var scalar = hex4() else { return nil }
        // A surrogate pair spells one scalar outside the BMP.
        if scalar >= 0xD800 && scalar < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"),
          b[i + 1] == UInt8(ascii: "u")
        {
          i += 2
          guard let low = hex4(), low >= 0xDC00, low < 0xE000 else { return nil }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(Character(u)).utf8))
      default: out.append(e)
      }
    }
    return nil
  }

  mutating func hex4() -> UInt32? {
    guard i + 4 <= b.count else { return nil }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = b[i]
      i += 1
      v <<= 4
      switch c {
      case 48...57: v |= UInt32(c - 48)
      case 65...70: v |= UInt32(c - 55)
      case 97...102: v |= UInt32(c - 87)
      default: return nil
      }
    }
    return v
  }
}
