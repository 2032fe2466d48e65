/// One good CSV row, ready to enqueue: the URL, its report, and the columns without a column of their own.
public struct ImportRow: Sendable {
  public var item: EnqueueItem
  /// Other columns in header order; empty cells are left out.
  public var extra: [(String, String)]
}

/// What the header row of an imported CSV means: which column is which report field.
///
/// Column names are matched case-insensitively, with spaces and '-' read as '_' ("Reported At" is
/// `reported_at`). `url` is required; `campaign`, `notice`, `rightholder`, `work`, `reported_at` and
/// `deadline` fill the report; the state columns `export` writes (status, reason, …) are ignored, so an
/// export imports back; every other column is kept as an extra field of the report.
public struct CSVImportHeader: Sendable {
  public enum Field: String, Sendable, CaseIterable {
    case url, campaign, notice, rightholder, work
    case reportedAt = "reported_at"
    case deadline
  }

  /// Columns `takedownctl export` adds after the report's: observations, not report metadata.
  public static let stateColumns: Set<String> = [
    "url_id", "host", "status", "reason", "http_status", "taken_down_at", "first_taken_down_at",
    "last_checked_at", "last_check_reason", "last_check_http_status", "final_url", "checks",
  ]

  public let names: [String]
  let fieldIndex: [Field: Int]
  let extraColumns: [(index: Int, name: String)]

  /// Fails with a reason when the header cannot be used (no `url` column, a name given twice, an empty name).
  public init(_ names: [String]) throws(CSVImportError) {
    self.names = names
    var index: [Field: Int] = [:]
    var extra: [(Int, String)] = []
    var seen: [String: Int] = [:]
    for (i, raw) in names.enumerated() {
      let name = raw.trimmingASCIIWhitespace()
      let key = CSVImportHeader.canonical(name)
      if name.isEmpty {
        throw .badHeader("column \(i + 1) has no name")
      }
      if let first = seen[key] {
        throw .badHeader("column \(i + 1) ('\(name)') repeats column \(first + 1)")
      }
      seen[key] = i
      if let f = Field(rawValue: key) {
        index[f] = i
      } else if !CSVImportHeader.stateColumns.contains(key) {
        extra.append((i, name))
      }
    }
    guard index[.url] != nil else {
      throw .badHeader("the header has no 'url' column (it has: \(names.joined(separator: ", ")))")
    }
    fieldIndex = index
    extraColumns = extra
  }

  static func canonical(_ name: String) -> String {
    String(
      name.trimmingASCIIWhitespace().lowercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
  }

  /// Turns one record into a row to enqueue, or the reason it cannot be imported.
  public func row(_ fields: [String]) -> Result<ImportRow, CSVImportError> {
    guard fields.count == names.count else {
      return .failure(.badRow("the row has \(fields.count) fields, the header has \(names.count)"))
    }
    func value(_ f: Field) -> String? {
      guard let i = fieldIndex[f] else { return nil }
      let v = fields[i].trimmingASCIIWhitespace()
      return v.isEmpty ? nil : v
    }
    guard let urlText = value(.url) else { return .failure(.badRow("the url is missing")) }
    let url: NormalizedURL
    switch URLNormalizer.normalize(urlText) {
    case .success(let n): url = n
    case .failure(let why): return .failure(.badRow(why.description))
    }
    var report = ReportMetadata(
      campaign: value(.campaign), notice: value(.notice), rightholder: value(.rightholder), work: value(.work))
    if let why = report.controlCharacterProblem { return .failure(.badRow(why)) }
    for (f, name) in [(Field.reportedAt, "reported_at"), (.deadline, "deadline")] {
      guard let text = value(f) else { continue }
      guard let t = Timestamp.parse(text) else {
        return .failure(
          .badRow("\(name) '\(text)' is not an ISO 8601 date or date-time (e.g. 2026-12-31 or 2026-12-31T18:00:00Z)"))
      }
      if f == .reportedAt { report.reportedAt = t } else { report.deadline = t }
    }
    var extra: [(String, String)] = []
    for (i, name) in extraColumns where !fields[i].isEmpty {
      extra.append((name, fields[i]))
    }
    return .success(ImportRow(item: EnqueueItem(url: url, report: report), extra: extra))
  }
}

/// Why a CSV (or one of its rows) cannot be imported.
public enum CSVImportError: Error, CustomStringConvertible, Sendable {
  case badHeader(String)
  case badRow(String)
  public var description: String {
    switch self {
    case .badHeader(let why), .badRow(let why): return why
    }
  }
}

extension String {
  func trimmingASCIIWhitespace() -> String {
    let u = Array(utf8)
    var a = 0
    var b = u.count
    func ws(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
    while a < b && ws(u[a]) { a += 1 }
    while b > a && ws(u[b - 1]) { b -= 1 }
    if a == 0 && b == u.count { return self }
    return String(decoding: u[a..<b], as: UTF8.self)
  }
}
