/// A minimal JSON value with ordered keys, so CLI output is stable and can be streamed row by row
/// (a list of a million URLs must not be built in memory first).
public indirect enum JSON: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])
  /// Text that is already JSON (a column the store wrote with `rendered()`), inserted as it is.
  case raw(String)

  public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

  public static func optional(_ v: String?) -> JSON { v.map { .string($0) } ?? .null }
  public static func optional(_ v: Int64?) -> JSON { v.map { .int($0) } ?? .null }
  public static func optional(_ v: Int?) -> JSON { v.map { .int(Int64($0)) } ?? .null }
  /// A timestamp (ms since epoch) as ISO 8601, or null.
  public static func time(_ v: Int64?) -> JSON { v.map { .string(Timestamp.iso($0)) } ?? .null }

  public func rendered(pretty: Bool = false) -> String {
    var out = ""
    write(to: &out, pretty: pretty, indent: 0)
    return out
  }

  func write(to out: inout String, pretty: Bool, indent: Int) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d): out += d.isFinite ? String(d) : "null"
    case .string(let s): JSON.escape(s, into: &out)
    case .raw(let text): out += text
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "["
      for (n, item) in items.enumerated() {
        if n > 0 { out += "," }
        if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
        item.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { out += "\n" + String(repeating: "  ", count: indent) }
      out += "]"
    case .object(let fields):
      if fields.isEmpty {
        out += "{}"
        return
      }
      out += "{"
      for (n, (k, v)) in fields.enumerated() {
        if n > 0 { out += "," }
        if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
        JSON.escape(k, into: &out)
        out += pretty ? ": " : ":"
        v.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { out += "\n" + String(repeating: "  ", count: indent) }
      out += "}"
    }
  }

  static func escape(_ s: String, into out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20:
        let hex = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(u)
      }
    }
    out += "\""
  }
}
