#if canImport(Glibc)
  import Glibc
#endif

/// One CSV record: its fields, the line it starts on (records can span lines), and why it is unusable.
public struct CSVRecord: Sendable, Equatable {
  public var fields: [String]
  /// 1-based physical line where the record starts.
  public var line: Int
  /// Set when the record is malformed (bad quoting, not UTF-8, too long); `fields` is then unreliable.
  public var error: String?

  public init(fields: [String], line: Int, error: String? = nil) {
    self.fields = fields
    self.line = line
    self.error = error
  }
}

/// Reads RFC 4180 CSV from a file descriptor in large chunks with bounded memory: quoted fields may hold
/// commas, quotes ("") and line breaks; records end with CRLF or LF; a UTF-8 byte order mark at the start
/// is skipped; blank lines are skipped. A malformed record is reported (with its line) and parsing
/// resumes at the next record, so one bad row never hides the good ones after it.
public struct CSVReader {
  let fd: Int32
  /// A record longer than this is reported as too long and its bytes are dropped, not buffered.
  public let maxRecordBytes: Int
  /// Set when reading failed (the records before the failure were delivered).
  public private(set) var ioError: String?

  public init(fd: Int32, maxRecordBytes: Int = 1 << 20) {
    self.fd = fd
    self.maxRecordBytes = maxRecordBytes
  }

  /// Calls `body` for every record, in order.
  public mutating func forEach(_ body: (CSVRecord) throws -> Void) throws {
    var parser = CSVParser(maxRecordBytes: maxRecordBytes)
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        ioError = String(cString: strerror(errno))
        return
      }
      if n == 0 { break }
      try buf.withUnsafeBufferPointer { try parser.feed(UnsafeBufferPointer(rebasing: $0[0..<n]), body) }
    }
    try parser.finish(body)
  }

  /// Parses a whole in-memory document (tests, small inputs).
  public static func parse(_ text: [UInt8], maxRecordBytes: Int = 1 << 20) -> [CSVRecord] {
    var parser = CSVParser(maxRecordBytes: maxRecordBytes)
    var out: [CSVRecord] = []
    text.withUnsafeBufferPointer { parser.feed($0) { out.append($0) } }
    parser.finish { out.append($0) }
    return out
  }
}

/// The byte-at-a-time state machine behind `CSVReader`; it keeps its state across chunk boundaries.
struct CSVParser {
  enum State {
    case fieldStart, unquoted, quoted, quoteInQuoted
  }
  let maxRecordBytes: Int
  var state = State.fieldStart
  var field: [UInt8] = []
  var fields: [String] = []
  var line = 1
  var recordLine = 1
  var recordBytes = 0
  var hasContent = false
  var error: String?
  var pendingCR = false
  var atStart = true
  var bomSeen = 0

  init(maxRecordBytes: Int) {
    self.maxRecordBytes = maxRecordBytes
  }

  mutating func fail(_ why: String) {
    if error == nil { error = why }
  }

  mutating func endField() {
    if error == nil {
      if let s = String(validating: field, as: UTF8.self) {
        fields.append(s)
      } else {
        fail("field \(fields.count + 1) is not valid UTF-8")
      }
    }
    field.removeAll(keepingCapacity: true)
    state = .fieldStart
  }

  mutating func endRecord(_ body: (CSVRecord) throws -> Void) rethrows {
    endField()
    if hasContent {
      try body(CSVRecord(fields: error == nil ? fields : [], line: recordLine, error: error))
    }
    fields.removeAll(keepingCapacity: true)
    error = nil
    hasContent = false
    recordBytes = 0
    recordLine = line
  }

  mutating func append(_ b: UInt8) {
    recordBytes += 1
    if recordBytes > maxRecordBytes {
      fail("the record is longer than \(maxRecordBytes) bytes")
      field.removeAll(keepingCapacity: true)
      return
    }
    if error == nil { field.append(b) }
  }

  mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (CSVRecord) throws -> Void) rethrows {
    var i = 0
    // A byte order mark is only a BOM at the very start of the input (possibly split across chunks).
    while atStart && i < bytes.count {
      let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
      if bytes[i] == bom[bomSeen] {
        bomSeen += 1
        i += 1
        if bomSeen == 3 { atStart = false }
      } else {
        // Not a BOM after all: replay what was taken for one.
        atStart = false
        for k in 0..<bomSeen { try consume(bom[k], body) }
      }
    }
    let n = bytes.count
    while i < n {
      // Runs of plain bytes go into the field at once; only the bytes that mean something go one by one.
      if !pendingCR && state == .quoted {
        var j = i
        while j < n && bytes[j] != 34 {
          if bytes[j] == 10 { line += 1 }
          j += 1
        }
        if j > i { appendRun(UnsafeBufferPointer(rebasing: bytes[i..<j])) }
        i = j
        if i < n {
          try consume(bytes[i], body)
          i += 1
        }
        continue
      }
      if !pendingCR && (state == .unquoted || state == .fieldStart) {
        var j = i
        while j < n {
          let b = bytes[j]
          if b == 44 || b == 34 || b == 10 || b == 13 { break }
          j += 1
        }
        if j > i {
          hasContent = true
          state = .unquoted
          appendRun(UnsafeBufferPointer(rebasing: bytes[i..<j]))
          i = j
          continue
        }
      }
      try consume(bytes[i], body)
      i += 1
    }
  }

  mutating func appendRun(_ run: UnsafeBufferPointer<UInt8>) {
    recordBytes += run.count
    if recordBytes > maxRecordBytes {
      fail("the record is longer than \(maxRecordBytes) bytes")
      field.removeAll(keepingCapacity: true)
      return
    }
    if error == nil { field.append(contentsOf: run) }
  }

  mutating func consume(_ b: UInt8, _ body: (CSVRecord) throws -> Void) rethrows {
    let cr: UInt8 = 13
    let lf: UInt8 = 10
    let quote: UInt8 = 34
    let comma: UInt8 = 44
    if pendingCR {
      pendingCR = false
      if b == lf {
        line += 1
        try endRecord(body)
        return
      }
      // A lone CR outside quotes is data.
      hasContent = true
      if state == .fieldStart { state = .unquoted }
      if state == .quoteInQuoted {
        fail("field \(fields.count + 1) has text after its closing quote")
        state = .unquoted
      }
      append(cr)
    }
    if b == lf && state != .quoted { line += 1 }
    switch state {
    case .fieldStart:
      switch b {
      case quote:
        state = .quoted
        hasContent = true
      case comma:
        hasContent = true
        endField()
      case lf: try endRecord(body)
      case cr: pendingCR = true
      default:
        hasContent = true
        state = .unquoted
        append(b)
      }
    case .unquoted:
      switch b {
      case comma: endField()
      case lf: try endRecord(body)
      case cr: pendingCR = true
      case quote:
        fail("field \(fields.count + 1) has a quote but does not start with one (write \"\" inside a quoted field)")
        append(b)
      default: append(b)
      }
    case .quoted:
      if b == quote {
        state = .quoteInQuoted
      } else {
        if b == lf { line += 1 }
        append(b)
      }
    case .quoteInQuoted:
      switch b {
      case quote:
        append(quote)
        state = .quoted
      case comma: endField()
      case lf: try endRecord(body)
      case cr: pendingCR = true
      default:
        fail("field \(fields.count + 1) has text after its closing quote")
        state = .unquoted
        append(b)
      }
    }
  }

  mutating func finish(_ body: (CSVRecord) throws -> Void) rethrows {
    if atStart && bomSeen > 0 {
      atStart = false
      let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
      for k in 0..<bomSeen { try consume(bom[k], body) }
    }
    pendingCR = false
    if state == .quoted {
      fail("a quoted field opened on line \(recordLine) is never closed")
    }
    try endRecord(body)
  }
}

/// Writes CSV fields the RFC 4180 way: quoted only when needed, quotes doubled, records end with CRLF.
public enum CSVWriter {
  public static func append(record fields: [String], to out: inout [UInt8]) {
    for (n, f) in fields.enumerated() {
      if n > 0 { out.append(44) }
      append(field: f, to: &out)
    }
    out.append(13)
    out.append(10)
  }

  public static func append(field: String, to out: inout [UInt8]) {
    var field = field
    field.withUTF8 { u in
      guard u.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else {
        out.append(contentsOf: u)
        return
      }
      out.append(34)
      for b in u {
        if b == 34 { out.append(34) }
        out.append(b)
      }
      out.append(34)
    }
  }
}
