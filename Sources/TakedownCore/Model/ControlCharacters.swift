/// Control characters (C0, DEL, C1) in text that came from outside: report metadata, a server's
/// headers and redirects. Printed as they are, a line feed breaks a table and an escape sequence
/// takes over the operator's terminal; so text output escapes them, and report metadata refuses
/// them at intake. JSON output escapes them by itself.
public enum ControlCharacters {
  @inline(__always)
  static func isControl(_ v: UInt32) -> Bool { v < 0x20 || (v >= 0x7F && v <= 0x9F) }

  /// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): on a terminal they
  /// reorder the rest of the line ("Trojan Source"), so a URL or a work title could show as another. They
  /// are escaped in text output but not refused at intake: right-to-left titles may carry them.
  @inline(__always)
  static func isBidiControl(_ v: UInt32) -> Bool { (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069) }

  /// `text` with every control character written visibly: `\n`, `\r`, `\t`, else `\x1B` (C0, DEL)
  /// or `\u{85}` (C1, and the bidirectional controls: `\u{202E}`). Text without any is returned as it is.
  public static func escaped(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { isControl($0.value) || isBidiControl($0.value) }) else { return text }
    var out = ""
    out.reserveCapacity(text.utf8.count + 8)
    for c in text.unicodeScalars {
      guard isControl(c.value) || isBidiControl(c.value) else {
        out.unicodeScalars.append(c)
        continue
      }
      switch c {
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        let hex = String(c.value, radix: 16, uppercase: true)
        out += c.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
      }
    }
    return out
  }

  /// Why `value` cannot be the report field `field` (campaign, notice, rightholder, work), or nil when
  /// it can: "campaign contains a control character (U+000A) at character 2".
  public static func problem(field: String, value: String) -> String? {
    for (i, c) in value.unicodeScalars.enumerated() where isControl(c.value) {
      let hex = String(c.value, radix: 16, uppercase: true)
      let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
      return "\(field) contains a control character (\(code)) at character \(i + 1): '\(escaped(value))'"
    }
    return nil
  }
}

extension String {
  /// This text with its control characters escaped, for a terminal (see `ControlCharacters`).
  public var terminalSafe: String { ControlCharacters.escaped(self) }
}

extension ReportMetadata {
  /// The first report field (campaign, notice, rightholder, work) that holds a control character, as a
  /// message naming the field; nil when every field is fine.
  public var controlCharacterProblem: String? {
    for (field, value) in [("campaign", campaign), ("notice", notice), ("rightholder", rightholder), ("work", work)] {
      if let value, let why = ControlCharacters.problem(field: field, value: value) { return why }
    }
    return nil
  }
}
