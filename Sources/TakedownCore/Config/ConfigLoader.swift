#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import TOMLKit

/// Everything wrong with one config file.
///
/// All problems are collected before throwing so that an operator fixes the file in one pass
/// instead of one restart per mistake.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
  /// The path as given to `ConfigLoader.load(path:)`, or the `file` label passed to `parse`.
  public var file: String

  /// One human-readable line per problem, each starting with the dotted key it is about (or with
  /// "line L, column C" for a syntax error), in the order: unknown keys, bad values, cross-field.
  public var problems: [String]

  /// The problems one per line, each prefixed with the file, as compilers print diagnostics.
  public var description: String {
    problems.map { "\(file): \($0)" }.joined(separator: "\n")
  }

  /// Creates an error for `file` listing `problems`.
  public init(file: String, problems: [String]) {
    self.file = file
    self.problems = problems
  }
}

/// Reads `takedown.toml` into a validated `Config`.
public enum ConfigLoader {
  /// Larger than any sensible config; the cap stops a path like /dev/zero from exhausting memory.
  static let maxFileBytes = 1 << 20

  /// Reads and parses the file at `path`. Throws `ConfigError`, including for an unreadable file.
  public static func load(path: String) throws -> Config {
    let bytes: [UInt8]
    switch readFile(path) {
    case .success(let b): bytes = b
    case .failure(let failure): throw ConfigError(file: path, problems: ["cannot read: \(failure.message)"])
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ConfigError(file: path, problems: ["cannot read: the file is not valid UTF-8, which TOML requires"])
    }
    return try parse(text, file: path)
  }

  /// Parses TOML text; `file` only labels the error. Missing keys keep their defaults.
  public static func parse(_ text: String, file: String = "<config>") throws -> Config {
    // TOMLKit hands the text to C++ as a C string, so a NUL would silently cut the document short.
    if let nul = position(ofNULIn: text) {
      throw ConfigError(
        file: file,
        problems: ["line \(nul.line), column \(nul.column): NUL characters are not allowed in TOML"])
    }
    if let problem = TOMLGuard.check(text) {
      throw ConfigError(file: file, problems: [problem])
    }
    let root: TOMLTable
    do {
      root = try TOMLTable(string: text)
    } catch let error as TOMLParseError {
      let at = error.source.begin
      throw ConfigError(file: file, problems: ["line \(at.line), column \(at.column): \(error.description)"])
    }

    var reader = Reader()
    let config = reader.read(root)
    let problems = reader.unknownKeyProblems() + reader.problems
    if !problems.isEmpty { throw ConfigError(file: file, problems: problems) }
    return config
  }

  /// The `database` key of a config file that may be invalid otherwise, for commands that only read the
  /// database: an operator who just broke the config with a typo must still be able to read the numbers.
  /// `.some(nil)`: the file says nothing about the database (the default applies). `nil`: the file cannot be
  /// read at all. A document that does not parse is searched line by line for a top-level
  /// `database = "…"` (a basic string without escapes, or a literal string) before its first table.
  public static func databaseKey(path: String) -> String?? {
    guard case .success(let bytes) = readFile(path), let text = String(validating: bytes, as: UTF8.self) else {
      return nil
    }
    if position(ofNULIn: text) == nil, TOMLGuard.check(text) == nil, let root = try? TOMLTable(string: text) {
      guard let value = root["database"] else { return .some(nil) }
      return value.string.map { $0.isEmpty ? nil : $0 } ?? .some(nil)
    }
    for line in text.split(whereSeparator: \.isNewline) {
      let t = line.drop { $0 == " " || $0 == "\t" }
      if t.hasPrefix("[") { break }
      guard t.hasPrefix("database") else { continue }
      let afterKey = t.dropFirst("database".count).drop { $0 == " " || $0 == "\t" }
      guard afterKey.hasPrefix("=") else { continue }
      let value = afterKey.dropFirst().drop { $0 == " " || $0 == "\t" }
      guard let quote = value.first, quote == "\"" || quote == "'" else { continue }
      let body = value.dropFirst()
      guard let end = body.firstIndex(of: quote) else { continue }
      let string = body[..<end]
      if quote == "\"" && string.contains("\\") { continue }
      let rest = body[body.index(after: end)...].drop { $0 == " " || $0 == "\t" }
      guard rest.isEmpty || rest.hasPrefix("#"), !string.isEmpty,
        !string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      else { continue }
      return .some(String(string))
    }
    return .some(nil)
  }

  private static func readFile(_ path: String) -> Result<[UInt8], ReadFailure> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(ReadFailure(errno: errno)) }
    defer { close(fd) }
    var contents: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count == 0 { return .success(contents) }
      if count < 0 {
        if errno == EINTR { continue }
        return .failure(ReadFailure(errno: errno))
      }
      contents.append(contentsOf: buffer[0..<count])
      if contents.count > maxFileBytes {
        return .failure(ReadFailure(message: "the file is larger than \(SizeParser.format(bytes: maxFileBytes))"))
      }
    }
  }

  private struct ReadFailure: Error {
    var message: String
    init(message: String) { self.message = message }
    init(errno code: Int32) { self.message = String(cString: strerror(code)) }
  }

  private static func position(ofNULIn text: String) -> (line: Int, column: Int)? {
    var line = 1
    var column = 1
    for scalar in text.unicodeScalars {
      if scalar == "\0" { return (line, column) }
      if scalar == "\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return nil
  }
}

// MARK: - Reading the document

/// Walks a parsed document, copying valid values into a `Config` and recording every problem.
///
/// The set of known keys is not listed separately: each typed read registers its key, so a key
/// can't be accepted by the reader yet reported as unknown, or the other way round.
private struct Reader {
  /// Problems with values, in schema order, then cross-field problems.
  var problems: [String] = []
  /// Keys whose value was rejected; cross-field checks skip them rather than compare a default
  /// against the other field and report a problem the user didn't make.
  private var rejected: Set<String> = []
  /// Known keys per table path ("" is the top level), in schema order for stable suggestions.
  private var known: [(path: String, keys: [String])] = []
  /// Every table present in the document that has a schema, for the unknown-key pass.
  private var present: [(path: String, table: TOMLTable)] = []

  // Caps far beyond any useful setting; they exist so later millisecond arithmetic
  // (now + interval, doubling backoff) cannot overflow Int64.
  static let maxDurationMs: Int64 = 3650 * 86_400_000
  static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

  mutating func read(_ root: TOMLTable) -> Config {
    var c = Config()
    present.append(("", root))
    string(root, "", "database", into: &c.database, check: Self.nonEmpty)
    var passwordFile = ""
    if string(root, "", "database_password_file", into: &passwordFile, check: Self.nonEmptyNoControl) {
      c.databasePasswordFile = passwordFile
    }
    var nodeName = ""
    if string(root, "", "node_name", into: &nodeName, check: Self.nonEmptyNoControl) { c.nodeName = nodeName }

    let p = section(root, "probe")
    int(p, "probe", "concurrency", 1...20_000, into: &c.probe.concurrency)
    int(p, "probe", "per_host_connections", 0...10_000, note: " (0 = unlimited)", into: &c.probe.perHostConnections)
    duration(p, "probe", "connect_timeout", allowZero: false, into: &c.probe.connectTimeoutMs)
    duration(p, "probe", "timeout", allowZero: false, into: &c.probe.timeoutMs)
    int(p, "probe", "max_redirects", 0...50, into: &c.probe.maxRedirects)
    size(p, "probe", "max_body_bytes", 0...(1 << 30), into: &c.probe.maxBodyBytes)
    string(p, "probe", "user_agent", into: &c.probe.userAgent, check: Self.headerValue)
    bool(p, "probe", "allow_private_addresses", into: &c.probe.allowPrivateAddresses)
    stringArray(p, "probe", "resolve", into: &c.probe.resolve, check: Self.resolveEntry)
    duration(p, "probe", "shutdown_grace", allowZero: true, into: &c.probe.shutdownGraceMs)
    duration(p, "probe", "throttle_pause", allowZero: true, into: &c.probe.throttlePauseMs)
    string(p, "probe", "vantage", into: &c.probe.vantage, check: Self.vantageName)
    var proxy = ""
    if string(p, "probe", "proxy", into: &proxy, check: Self.proxyURL) { c.probe.proxy = proxy }

    let s = section(root, "schedule")
    duration(s, "schedule", "recheck_interval", allowZero: false, into: &c.schedule.recheckIntervalMs)
    int(s, "schedule", "confirmations", 1...100, into: &c.schedule.confirmations)
    duration(s, "schedule", "confirm_interval", allowZero: true, into: &c.schedule.confirmIntervalMs)
    duration(s, "schedule", "watch_interval", allowZero: false, into: &c.schedule.watchIntervalMs)
    duration(s, "schedule", "backoff_base", allowZero: false, into: &c.schedule.backoffBaseMs)
    duration(s, "schedule", "backoff_max", allowZero: true, into: &c.schedule.backoffMaxMs)
    duration(s, "schedule", "lease", allowZero: false, into: &c.schedule.leaseMs)
    int(s, "schedule", "batch_size", 1...100_000, into: &c.schedule.batchSize)
    duration(s, "schedule", "give_up_after", allowZero: true, into: &c.schedule.giveUpAfterMs)
    var onGiveUp = c.schedule.onGiveUp.rawValue
    if string(s, "schedule", "on_give_up", into: &onGiveUp, check: Self.oneOf(GiveUpAction.allCases.map(\.rawValue))) {
      c.schedule.onGiveUp = GiveUpAction(rawValue: onGiveUp) ?? .flag
    }

    c.probe.rules = rules(root)

    let sum = section(root, "summary")
    duration(sum, "summary", "interval", allowZero: false, into: &c.summary.intervalMs)

    let h = section(root, "history")
    bool(h, "history", "compact", into: &c.history.compact)
    duration(h, "history", "keep_all_for", allowZero: false, into: &c.history.keepAllForMs)
    duration(h, "history", "compact_interval", allowZero: false, into: &c.history.compactIntervalMs)
    duration(h, "history", "summaries_hourly_after", allowZero: false, into: &c.history.summariesHourlyAfterMs)
    duration(h, "history", "summaries_daily_after", allowZero: false, into: &c.history.summariesDailyAfterMs)

    let log = section(root, "log")
    string(log, "log", "level", into: &c.log.level, check: Self.logLevel)
    var statusLog = ""
    if string(log, "log", "status_log", into: &statusLog, check: Self.nonEmptyNoControl) { c.log.statusLog = statusLog }

    let metrics = section(root, "metrics")
    var listen = ""
    if string(metrics, "metrics", "listen", into: &listen, check: Self.listenAddress) { c.metrics.listen = listen }

    crossCheck(
      c.probe.timeoutMs >= c.probe.connectTimeoutMs, "probe.timeout", "probe.connect_timeout",
      "must be at least probe.connect_timeout (\(fmt(c.probe.connectTimeoutMs))), got \(fmt(c.probe.timeoutMs))")
    crossCheck(
      c.schedule.backoffMaxMs >= c.schedule.backoffBaseMs, "schedule.backoff_max", "schedule.backoff_base",
      "must be at least schedule.backoff_base (\(fmt(c.schedule.backoffBaseMs))), got \(fmt(c.schedule.backoffMaxMs))")
    crossCheck(
      c.schedule.leaseMs > c.probe.timeoutMs, "schedule.lease", "probe.timeout",
      "must be longer than probe.timeout (\(fmt(c.probe.timeoutMs))) so a lease cannot expire while its probe runs, got \(fmt(c.schedule.leaseMs))"
    )
    crossCheck(
      c.history.summariesDailyAfterMs >= c.history.summariesHourlyAfterMs, "history.summaries_daily_after",
      "history.summaries_hourly_after",
      "must be at least history.summaries_hourly_after (\(fmt(c.history.summariesHourlyAfterMs))), got \(fmt(c.history.summariesDailyAfterMs))"
    )
    return c
  }

  // MARK: [[rule]]

  private mutating func rules(_ root: TOMLTable) -> [HostRule] {
    guard let value = lookup(root, "", "rule") else { return [] }
    guard let array = value.array else {
      problem("rule", "expected an array of tables ([[rule]] sections), got \(Self.describe(value))")
      return []
    }
    var out: [HostRule] = []
    for (i, element) in array.enumerated() {
      let path = "rule[\(i)]"
      guard let t = element.table else {
        problem(path, "expected a table ([[rule]] section), got \(Self.describe(element))")
        continue
      }
      present.append((path, t))
      var r = HostRule()
      if let hosts = lookup(t, path, "hosts") {
        var globs: [String] = []
        if hosts.string != nil {
          var one = ""
          string(t, path, "hosts", into: &one, check: Self.hostGlob)
          globs = one.isEmpty ? [] : [one]
        } else {
          stringArray(t, path, "hosts", into: &globs, check: Self.hostGlob)
          if hosts.array != nil && globs.isEmpty && !rejected.contains("\(path).hosts") {
            problem("\(path).hosts", "must name at least one host glob")
          }
        }
        r.hosts = globs.map { Self.canonicalGlob($0) }
      } else {
        problem("\(path).hosts", "missing: every rule needs the host globs it applies to, e.g. hosts = [\"*.example.com\"]")
      }
      stringArray(t, path, "removal_markers", into: &r.removalMarkers, check: Self.removalMarker)
      bool(t, path, "home_redirect_is_removal", into: &r.homeRedirectIsRemoval)
      stringArray(t, path, "home_paths", into: &r.homePaths, check: Self.homePath)
      var method = r.method.rawValue
      if string(t, path, "method", into: &method, check: Self.oneOf(ProbeMethod.allCases.map(\.rawValue))) {
        r.method = ProbeMethod(rawValue: method) ?? .get
      }
      var maxConnections = -1
      int(t, path, "max_connections", 0...10_000, note: " (0 = unlimited)", into: &maxConnections)
      if maxConnections >= 0 { r.maxConnections = maxConnections }
      r.rate = rate(t, path, "rate")
      stringArray(t, path, "headers", into: &r.headers, check: Self.headerLine)
      r.onlineStatuses = statusArray(t, path, "online_statuses")
      var proxy = ""
      if string(t, path, "proxy", into: &proxy, check: Self.proxyURL) { r.proxy = proxy }
      if r.method == .head && !r.removalMarkers.isEmpty {
        problem(
          "\(path).method",
          "\"head\" reads no body, so removal_markers could never match: use \"get\" (the default) or drop the markers")
      }
      out.append(r)
    }
    return out
  }

  private mutating func rate(_ table: TOMLTable, _ path: String, _ key: String) -> Double? {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return nil }
    guard let number = value.double ?? value.int.map(Double.init) else {
      problem(name, "expected requests per second as a number such as 2 or 0.5, got \(Self.describe(value))\(Self.quotesHint(value))")
      return nil
    }
    guard number > 0, number <= 100_000, number.isFinite else {
      problem(name, "must be above 0 and at most 100000 requests per second (leave it out for no limit), got \(number)")
      return nil
    }
    return number
  }

  private mutating func statusArray(_ table: TOMLTable, _ path: String, _ key: String) -> [Int] {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return [] }
    guard let array = value.array else {
      problem(name, "expected an array of HTTP statuses such as [403], got \(Self.describe(value))")
      return []
    }
    var out: [Int] = []
    for (i, element) in array.enumerated() {
      guard let n = element.int, (100...599).contains(n) else {
        problems.append("\(name)[\(i)]: expected an HTTP status between 100 and 599, got \(Self.describe(element))")
        rejected.insert(name)
        continue
      }
      out.append(n)
    }
    return out
  }

  // MARK: Typed reads. Each registers its key and leaves the default in place on any problem.

  private mutating func section(_ root: TOMLTable, _ key: String) -> TOMLTable? {
    guard let value = lookup(root, "", key) else { return nil }
    guard let table = value.table else {
      problem(key, "expected a table, got \(Self.describe(value))")
      return nil
    }
    present.append((key, table))
    return table
  }

  @discardableResult
  private mutating func string(
    _ table: TOMLTable?, _ path: String, _ key: String, into target: inout String,
    check: (String) -> String?
  ) -> Bool {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return false }
    guard let text = value.string else {
      problem(name, "expected a string, got \(Self.describe(value))")
      return false
    }
    if let message = check(text) {
      problem(name, message)
      return false
    }
    target = text
    return true
  }

  private mutating func int(
    _ table: TOMLTable?, _ path: String, _ key: String, _ range: ClosedRange<Int>, note: String = "",
    into target: inout Int
  ) {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return }
    guard let number = value.int else {
      problem(name, "expected an integer, got \(Self.describe(value))\(Self.quotesHint(value))")
      return
    }
    guard range.contains(number) else {
      problem(name, "must be between \(range.lowerBound) and \(range.upperBound)\(note), got \(number)")
      return
    }
    target = number
  }

  private mutating func bool(_ table: TOMLTable?, _ path: String, _ key: String, into target: inout Bool) {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return }
    guard let flag = value.bool else {
      problem(name, "expected a boolean (true or false), got \(Self.describe(value))\(Self.quotesHint(value))")
      return
    }
    target = flag
  }

  private mutating func duration(
    _ table: TOMLTable?, _ path: String, _ key: String, allowZero: Bool, into target: inout Int64
  ) {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return }
    let expected = "expected a duration like \"30s\", \"10m\", \"6h\", \"7d\""
    guard let text = value.string else {
      // A bare number is the most likely mistake, and its unit can't be guessed: seconds and
      // milliseconds are both common elsewhere, so make the user say which.
      let hint = value.int.map { " (durations need a unit: write \"\($0)s\")" } ?? ""
      problem(name, "\(expected), got \(Self.describe(value))\(hint)")
      return
    }
    guard let ms = DurationParser.parseMs(text) else {
      let digitsOnly = !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
      let hint = digitsOnly ? " (durations need a unit: write \"\(text)s\")" : ""
      problem(name, "\(expected), got \(Self.quote(text))\(hint)")
      return
    }
    if !allowZero && ms == 0 {
      problem(name, "must be greater than 0s, got \(Self.quote(text))")
      return
    }
    if ms > Self.maxDurationMs {
      problem(name, "must be at most \(fmt(Self.maxDurationMs)), got \(Self.quote(text))")
      return
    }
    target = ms
  }

  private mutating func size(
    _ table: TOMLTable?, _ path: String, _ key: String, _ range: ClosedRange<Int>, into target: inout Int
  ) {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return }
    let bytes: Int
    let shown: String
    if let number = value.int {
      bytes = number
      shown = "\(number)"
    } else if let text = value.string {
      guard let parsed = SizeParser.parseBytes(text) else {
        problem(name, "expected a byte count or a size like \"256KiB\", \"1MiB\", \"64KB\", got \(Self.quote(text))")
        return
      }
      bytes = parsed
      shown = Self.quote(text)
    } else {
      problem(name, "expected a byte count or a size like \"256KiB\", \"1MiB\", \"64KB\", got \(Self.describe(value))")
      return
    }
    guard range.contains(bytes) else {
      let upper = "\(range.upperBound) (\(SizeParser.format(bytes: range.upperBound)))"
      problem(name, "must be between \(range.lowerBound) and \(upper) bytes, got \(shown)")
      return
    }
    target = bytes
  }

  private mutating func stringArray(
    _ table: TOMLTable?, _ path: String, _ key: String, into target: inout [String],
    check: (String) -> String?
  ) {
    let name = Self.join(path, key)
    guard let value = lookup(table, path, key) else { return }
    guard let array = value.array else {
      problem(name, "expected an array of strings, got \(Self.describe(value))")
      return
    }
    var result: [String] = []
    var ok = true
    for (index, element) in array.enumerated() {
      let elementName = "\(name)[\(index)]"
      guard let text = element.string else {
        problems.append("\(elementName): expected a string, got \(Self.describe(element))")
        ok = false
        continue
      }
      if let message = check(text) {
        problems.append("\(elementName): \(message)")
        ok = false
        continue
      }
      result.append(text)
    }
    if ok {
      target = result
    } else {
      rejected.insert(name)
    }
  }

  // MARK: Bookkeeping

  private mutating func lookup(_ table: TOMLTable?, _ path: String, _ key: String) -> TOMLValueConvertible? {
    if let index = known.firstIndex(where: { $0.path == path }) {
      known[index].keys.append(key)
    } else {
      known.append((path, [key]))
    }
    return table?[key]
  }

  private mutating func problem(_ name: String, _ message: String) {
    problems.append("\(name): \(message)")
    rejected.insert(name)
  }

  private mutating func crossCheck(_ holds: Bool, _ blamed: String, _ other: String, _ message: String) {
    guard !holds, !rejected.contains(blamed), !rejected.contains(other) else { return }
    problem(blamed, message)
  }

  private func fmt(_ ms: Int64) -> String { DurationParser.format(ms: ms) }

  /// Keys present in the document that no read asked for, with a suggestion where one is likely.
  func unknownKeyProblems() -> [String] {
    var result: [String] = []
    for (path, table) in present {
      let keys = known.first(where: { $0.path == path })?.keys ?? []
      // toml++ keeps keys sorted, so the report order is alphabetical within each table.
      for key in table.keys where !keys.contains(key) {
        let kind = table[key]?.type == .table ? "unknown table" : "unknown key"
        let hint = suggestion(for: key, in: path).map { " (did you mean '\($0)'?)" } ?? ""
        result.append("\(Self.join(path, Self.displayKey(key))): \(kind)\(hint)")
      }
    }
    return result
  }

  private func suggestion(for key: String, in path: String) -> String? {
    let lowered = key.lowercased()
    let siblings = known.first(where: { $0.path == path })?.keys ?? []
    var best: (key: String, distance: Int)? = nil
    for candidate in siblings {
      let d = Self.editDistance(lowered, candidate)
      if d <= 2, d < (best?.distance ?? .max) { best = (candidate, d) }
    }
    if let best { return best.key }
    // The usual cause of a correct key in the wrong table is a missing [section] header, so
    // point at the table where the key does exist.
    for (otherPath, keys) in known where otherPath != path {
      if keys.contains(lowered) { return Self.join(otherPath, lowered) }
    }
    return nil
  }

  // MARK: Value checks (nil = fine, else the message after "key: ")

  static func nonEmpty(_ text: String) -> String? {
    text.isEmpty ? "must not be empty" : nil
  }

  static func nonEmptyNoControl(_ text: String) -> String? {
    if text.isEmpty { return "must not be empty (leave the key out to use the host name)" }
    if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
      return "must not contain control characters, got \(quote(text))"
    }
    return nil
  }

  /// HTTP field values may contain tab but no other control character; CR or LF in particular
  /// would let the value inject headers into every probe.
  static func headerValue(_ text: String) -> String? {
    if text.isEmpty { return "must not be empty" }
    if text.unicodeScalars.contains(where: { $0 != "\t" && $0.properties.generalCategory == .control }) {
      return "must not contain control characters such as CR or LF, got \(quote(text))"
    }
    return nil
  }

  /// "127.0.0.1:9464" or "[::1]:9464": an IP literal and a port (a name would need resolving at start);
  /// port 0 lets the kernel choose (the daemon logs the port), which tests use.
  static func listenAddress(_ text: String) -> String? {
    let bad = "expected \"ADDRESS:PORT\" such as \"127.0.0.1:9464\", got \(quote(text))"
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (0...65535).contains(port)
    else { return bad }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") {
      host = String(host.dropFirst().dropLast())
      return isIPAddress(host, family: AF_INET6) ? nil : bad
    }
    return isIPAddress(host, family: AF_INET) ? nil : bad
  }

  static func oneOf(_ choices: [String]) -> (String) -> String? {
    { text in
      choices.contains(text)
        ? nil : "expected one of \(choices.map { quote($0) }.joined(separator: ", ")), got \(quote(text))"
    }
  }

  /// A short label: letters, digits, '.', '_', '-' (it is stored with every check and shown in reports).
  static func vantageName(_ text: String) -> String? {
    let ok = !text.isEmpty && text.utf8.count <= 64 && text.unicodeScalars.allSatisfy {
      $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-")
    }
    return ok ? nil : "expected a name of 1-64 letters, digits, '.', '_' or '-', such as \"de-fra-1\", got \(quote(text))"
  }

  /// libcurl proxy syntax with an explicit scheme, so "10.0.0.5:3128" cannot silently mean http.
  static func proxyURL(_ text: String) -> String? {
    let schemes = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"]
    guard let sep = text.range(of: "://"), schemes.contains(String(text[..<sep.lowerBound]).lowercased()),
      !text[sep.upperBound...].isEmpty
    else {
      return "expected SCHEME://HOST:PORT with scheme \(schemes.joined(separator: ", ")), such as \"http://10.0.0.5:3128\", got \(quote(text))"
    }
    if text.unicodeScalars.contains(where: { $0 == " " || $0.properties.generalCategory == .control }) {
      return "must not contain spaces or control characters, got \(quote(text))"
    }
    return nil
  }

  /// Host globs: DNS characters plus '*' and '?'; Unicode labels are allowed (punycoded for matching).
  static func hostGlob(_ text: String) -> String? {
    if text.isEmpty { return "must not be empty" }
    for label in text.split(separator: ".", omittingEmptySubsequences: false) {
      if label.isEmpty { return "empty label in \(quote(text))" }
      let ascii = label.unicodeScalars.allSatisfy(\.isASCII)
      if ascii {
        let ok = label.unicodeScalars.allSatisfy {
          $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "*" || $0 == "?" || $0 == "_"
        }
        if !ok { return "expected a host name with '*' or '?' wildcards, such as \"*.example.com\", got \(quote(text))" }
      } else {
        if label.contains("*") || label.contains("?") { return "wildcards cannot share a label with non-ASCII letters in \(quote(text))" }
        if label.unicodeScalars.contains(where: { $0 == " " || $0.properties.generalCategory == .control }) || Punycode.encode(String(label).lowercased()) == nil {
          return "\(quote(String(label))) is not a valid host label"
        }
      }
    }
    return nil
  }

  static func canonicalGlob(_ text: String) -> String {
    text.lowercased().split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
      label.unicodeScalars.allSatisfy(\.isASCII) ? String(label) : "xn--" + (Punycode.encode(String(label)) ?? String(label))
    }.joined(separator: ".")
  }

  static func removalMarker(_ text: String) -> String? {
    do {
      _ = try RemovalMarker(text)
      return nil
    } catch {
      return "\(error)"
    }
  }

  static func homePath(_ text: String) -> String? {
    guard text.hasPrefix("/"), !text.unicodeScalars.contains(where: { $0 == " " || $0 == "?" || $0 == "#" || $0.properties.generalCategory == .control })
    else { return "expected a path starting with '/' (no query, no spaces), such as \"/\" or \"/index.html\", got \(quote(text))" }
    return nil
  }

  /// "Name: value", a token name and a value without CR/LF: anything else could inject requests.
  static func headerLine(_ text: String) -> String? {
    guard let colon = text.firstIndex(of: ":") else { return "expected \"Name: value\", got \(quote(text))" }
    let name = text[..<colon]
    let tokenChars = Set("!#$%&'*+-.^_`|~".unicodeScalars)
    if name.isEmpty || !name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || tokenChars.contains($0)) }) {
      return "header name must be a token such as \"Cookie\", got \(quote(String(name)))"
    }
    if text.unicodeScalars.contains(where: { $0 != "\t" && $0.properties.generalCategory == .control }) {
      return "must not contain control characters such as CR or LF, got \(quote(text))"
    }
    return nil
  }

  static func logLevel(_ text: String) -> String? {
    if levels.contains(text) { return nil }
    let lowered = text.lowercased()
    let guess =
      levels.first { $0 == lowered }
      ?? levels.first { editDistance(lowered, $0) <= 2 }
      ?? (lowered.isEmpty ? nil : levels.first { $0.hasPrefix(lowered) })
    let hint = guess.map { " (did you mean '\($0)'?)" } ?? ""
    return "expected one of \(levels.joined(separator: ", ")), got \(quote(text))\(hint)"
  }

  /// curl `--resolve` syntax, checked here so that a typo is reported at startup against its key
  /// instead of surfacing later as a libcurl error on every probe.
  static func resolveEntry(_ text: String) -> String? {
    let form = "expected \"host:port:address[,address]\", got \(quote(text))"
    let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3 else { return form }
    let (host, port, addresses) = (parts[0], parts[1], parts[2])
    if host.isEmpty { return "host is empty in \(quote(text)); \(form)" }
    if host.unicodeScalars.contains(where: { $0 == " " || $0.properties.generalCategory == .control }) {
      return "host must not contain spaces or control characters, got \(quote(String(host)))"
    }
    guard port.count <= 5, let portNumber = Int(port), port.allSatisfy(\.isASCII), (1...65535).contains(portNumber)
    else {
      return "port must be a number between 1 and 65535, got \(quote(String(port)))"
    }
    for address in addresses.split(separator: ",", omittingEmptySubsequences: false) {
      if address.isEmpty { return "empty address in \(quote(text)); \(form)" }
      var bare = Substring(address)
      var bracketed = false
      if bare.first == "[" || bare.last == "]" {
        guard bare.first == "[", bare.last == "]", bare.count > 2 else {
          return "unbalanced brackets in address \(quote(String(address)))"
        }
        bare = bare.dropFirst().dropLast()
        bracketed = true
      }
      let isV6 = isIPAddress(String(bare), family: AF_INET6)
      if bracketed ? !isV6 : !(isV6 || isIPAddress(String(bare), family: AF_INET)) {
        return "\(quote(String(address))) is not an IP address"
      }
    }
    return nil
  }

  private static func isIPAddress(_ text: String, family: Int32) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 16)  // in6_addr, the larger of the two
    return buffer.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) } == 1
  }

  // MARK: Formatting helpers

  static func join(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : "\(path).\(key)"
  }

  /// Bare keys print as-is; others are quoted as TOML would need them, so "a.b" (one key with a dot)
  /// is not confused with a.b (a table and a key).
  static func displayKey(_ key: String) -> String {
    let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
      $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
    }
    return bare ? key : quote(key)
  }

  static func describe(_ value: TOMLValueConvertible) -> String {
    switch value.type {
    case .string: return "a string \(quote(value.string ?? ""))"
    case .int: return "an integer \(value.int.map { String($0) } ?? "")"
    case .double: return "a floating-point number \(value.double.map { String($0) } ?? "")"
    case .bool: return "a boolean \(value.bool.map { String($0) } ?? "")"
    case .array: return "an array"
    case .table: return "a table"
    case .date: return "a date \(value.debugDescription)"
    case .time: return "a time \(value.debugDescription)"
    case .dateTime: return "a date-time \(value.debugDescription)"
    }
  }

  /// A string that looks like the intended value in quotes (`"200"`, `"true"`) gets a nudge.
  static func quotesHint(_ value: TOMLValueConvertible) -> String {
    guard let text = value.string else { return "" }
    if Int(text) != nil || text == "true" || text == "false" { return " (remove the quotes)" }
    return ""
  }

  /// Quotes user text for a message, escaped so that a stray newline can't split the report, and
  /// shortened so that a pasted blob doesn't drown it.
  static func quote(_ text: String) -> String {
    var out = "\""
    var count = 0
    for scalar in text.unicodeScalars {
      if count == 80 {
        out += "…"
        break
      }
      count += 1
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.properties.generalCategory == .control {
          out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  /// Levenshtein distance over Unicode scalars; inputs are short key names.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
        current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }
}
