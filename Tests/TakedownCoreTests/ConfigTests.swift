import Foundation
import TakedownCore
import Testing

/// Parses `toml`, expecting a `ConfigError`, and returns its problems (recording a failure and
/// returning [] when parsing succeeds).
private func problems(_ toml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
  do {
    let config = try ConfigLoader.parse(toml, file: "test.toml")
    Issue.record("expected a ConfigError, got \(config)", sourceLocation: sourceLocation)
  } catch let error as ConfigError {
    #expect(error.file == "test.toml", sourceLocation: sourceLocation)
    return error.problems
  } catch {
    Issue.record("expected a ConfigError, got \(error)", sourceLocation: sourceLocation)
  }
  return []
}

@Suite struct DurationParserTests {
  @Test(arguments: [
    ("500ms", 500 as Int64), ("30s", 30_000), ("10m", 600_000), ("6h", 21_600_000), ("7d", 604_800_000),
    ("1h30m", 5_400_000), ("0s", 0), ("0ms", 0), ("1d2h3m4s5ms", 93_784_005), ("010s", 10_000),
  ])
  func parsesValidDurations(text: String, ms: Int64) {
    #expect(DurationParser.parseMs(text) == ms)
  }

  @Test(arguments: [
    "", "10", "5x", "-1s", "1.5h", "s", "+1s", " 1s", "1s ", "1h 30m", "1S", "1m1h", "1s1s", "ms", "1", "1sm",
    "99999999999999999999s", "106751991167301d",
  ])
  func rejectsMalformedDurations(text: String) {
    #expect(DurationParser.parseMs(text) == nil)
  }

  @Test(arguments: [
    (90_000 as Int64, "1m30s"), (0, "0s"), (86_400_000, "1d"), (1_500, "1s500ms"), (5_400_000, "1h30m"),
    (93_784_005, "1d2h3m4s5ms"), (-30_000, "-30s"),
  ])
  func formatsDurations(ms: Int64, text: String) {
    #expect(DurationParser.format(ms: ms) == text)
  }

  @Test(arguments: [0 as Int64, 1, 999, 1_000, 61_001, 3_600_000, 90_061_001, 315_360_000_000])
  func formatThenParseRoundTrips(ms: Int64) {
    #expect(DurationParser.parseMs(DurationParser.format(ms: ms)) == ms)
  }

  @Test func formatSurvivesInt64Min() {
    #expect(DurationParser.format(ms: .min).hasPrefix("-"))
  }
}

@Suite struct SizeParserTests {
  @Test(arguments: [
    ("262144", 262_144), ("256KiB", 262_144), ("1MiB", 1_048_576), ("64KB", 64_000), ("1GiB", 1_073_741_824),
    ("0", 0), ("10B", 10), ("2MB", 2_000_000), ("1GB", 1_000_000_000),
  ])
  func parsesValidSizes(text: String, bytes: Int) {
    #expect(SizeParser.parseBytes(text) == bytes)
  }

  @Test(arguments: [
    "", "KiB", "1.5MiB", "-1", "1 KiB", "1kib", "1XB", "1KiB ", "99999999999999999999", "9999999999TiB",
  ])
  func rejectsMalformedSizes(text: String) {
    #expect(SizeParser.parseBytes(text) == nil)
  }
}

@Suite struct ConfigLoaderTests {
  @Test func emptyFileGivesDefaults() throws {
    #expect(try ConfigLoader.parse("") == Config())
    #expect(try ConfigLoader.parse("# only a comment\n\n") == Config())
    #expect(try ConfigLoader.parse("[probe]\n[schedule]\n") == Config())
  }

  /// config/takedown.toml, found from this file's own location so it works from any directory.
  private static let shippedConfigPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // TakedownCoreTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()
    .appendingPathComponent("config/takedown.toml").path

  /// The shipped, documented file must spell out exactly the built-in defaults.
  @Test func shippedConfigEqualsDefaults() throws {
    let loaded = try ConfigLoader.load(path: Self.shippedConfigPath)
    #expect(loaded == Config())
  }

  /// A key missing from the shipped file would still parse to the defaults, so check separately
  /// that each key is written out (node_name as a commented example: TOML has no way to write nil).
  @Test func shippedConfigShowsEveryKey() throws {
    let expected: Set<String> = [
      "database", "database_password_file", "node_name", "log.status_log", "metrics.listen",
      "probe.concurrency", "probe.per_host_connections", "probe.connect_timeout", "probe.timeout",
      "probe.max_redirects", "probe.max_body_bytes", "probe.user_agent", "probe.allow_private_addresses",
      "probe.resolve", "probe.shutdown_grace", "probe.throttle_pause", "probe.vantage", "probe.proxy",
      "schedule.give_up_after", "schedule.on_give_up",
      "schedule.recheck_interval", "schedule.confirmations", "schedule.confirm_interval", "schedule.watch_interval",
      "schedule.backoff_base", "schedule.backoff_max", "schedule.lease", "schedule.batch_size",
      "summary.interval", "log.level",
      "history.compact", "history.keep_all_for", "history.compact_interval", "history.summaries_hourly_after",
      "history.summaries_daily_after",
    ]
    let text = try String(contentsOfFile: Self.shippedConfigPath, encoding: .utf8)
    var section = ""
    var found: Set<String> = []
    var previousLineIsComment = false
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("[") {
        section = String(line.dropFirst().dropLast())
      } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") || line.hasPrefix("# node_name =") || line.hasPrefix("# database_password_file =") || line.hasPrefix("# status_log =") || line.hasPrefix("# listen =") || line.hasPrefix("# proxy = \"http") {
        let key = line[..<eq].replacingOccurrences(of: "#", with: "").trimmingCharacters(in: .whitespaces)
        let path = section.isEmpty ? key : "\(section).\(key)"
        #expect(previousLineIsComment, "\(path) has no comment above it")
        found.insert(path)
      }
      previousLineIsComment = line.hasPrefix("#")
    }
    #expect(expected.subtracting(found).sorted() == [], "keys missing from config/takedown.toml")
    #expect(found.subtracting(expected).sorted() == [], "keys in config/takedown.toml that this test doesn't know")
  }

  /// The commented [[rule]] example in the shipped file must be a valid rule, exactly as documented.
  @Test func shippedRuleExampleParses() throws {
    let text = try String(contentsOfFile: Self.shippedConfigPath, encoding: .utf8)
    let start = try #require(text.range(of: "# [[rule]]"))
    let block = text[start.lowerBound...].split(separator: "\n").map { line -> String in
      line.hasPrefix("# # ") || line == "#" ? "" : String(line.dropFirst(2))
    }.joined(separator: "\n")
    let config = try ConfigLoader.parse(block)
    let rule = try #require(config.probe.rules.first)
    #expect(rule.hosts == ["*.example.com", "example.com"])
    #expect(rule.removalMarkers == ["该视频已被删除", "/(?i)this video (has been|was) removed/"])
    #expect(rule.homePaths == ["/", "/index.html"])
    #expect(rule.maxConnections == 4)
    #expect(rule.rate == 2)
    #expect(rule.headers.count == 2)
    #expect(rule.onlineStatuses == [403])
    #expect(rule.proxy == "socks5h://10.0.0.9:1080")
  }

  @Test func rulesAreReadInOrderWithEveryKeyChecked() throws {
    let config = try ConfigLoader.parse(
      """
      [probe]
      per_host_connections = 6
      proxy = "http://10.1.1.1:3128"
      vantage = "cn-bj-1"
      [[rule]]
      hosts = "*.视频.example"
      method = "head"
      rate = 0.5
      [[rule]]
      hosts = ["*"]
      max_connections = 0
      """)
    #expect(config.probe.vantage == "cn-bj-1")
    #expect(config.probe.rules.count == 2)
    #expect(config.probe.rules[0].hosts == ["*.xn--tdtr5i.example"] || config.probe.rules[0].hosts[0].hasPrefix("*.xn--"))
    #expect(config.probe.rules[0].method == .head)
    // Unset fields come from [probe]; first match wins.
    let (first, i) = config.probe.rule(for: "a.\(config.probe.rules[0].hosts[0].dropFirst(2))")
    #expect(i == 0)
    #expect(first.maxConnections == 6)
    #expect(first.proxy == "http://10.1.1.1:3128")
    let (other, j) = config.probe.rule(for: "example.org")
    #expect(j == 1)
    #expect(other.maxConnections == 0)

    do {
      _ = try ConfigLoader.parse(
        """
        [[rule]]
        method = "HEAD"
        rate = -1
        max_connections = "4"
        headers = ["Cookie consent", "X-A: b\\r\\nHost: evil"]
        online_statuses = [403, 999]
        removal_markers = ["", "/(unclosed/"]
        home_paths = ["index.html"]
        proxy = "10.0.0.1:3128"
        hots = ["x"]
        [[rule]]
        hosts = ["bad host"]
        removal_markers = ["gone"]
        method = "head"
        """)
      Issue.record("expected a ConfigError")
    } catch let e as ConfigError {
      let text = e.problems.joined(separator: "\n")
      for needle in [
        "rule[0].hots: unknown key (did you mean 'hosts'?)", "rule[0].hosts: missing", "rule[0].method: expected one of",
        "rule[0].rate: must be above 0", "rule[0].max_connections: expected an integer", "rule[0].headers[0]:",
        "rule[0].headers[1]: must not contain control characters", "rule[0].online_statuses[1]:",
        "rule[0].removal_markers[0]:", "rule[0].removal_markers[1]:", "rule[0].home_paths[0]:", "rule[0].proxy: expected SCHEME://",
        "rule[1].hosts[0]:", "rule[1].method: \"head\" reads no body",
      ] {
        #expect(text.contains(needle), "missing: \(needle)\nin:\n\(text)")
      }
    }
  }

  @Test(arguments: [
    ("*.example.com", "www.example.com", true), ("*.example.com", "a.b.example.com", true),
    ("*.example.com", "example.com", false), ("*.example.com", "badexample.com", false),
    ("example.com", "example.com", true), ("example.com", "www.example.com", false), ("*", "anything.at.all", true),
    ("cdn?.example.com", "cdn1.example.com", true), ("cdn?.example.com", "cdn12.example.com", false),
    ("*video*", "myvideosite.org", true),
  ])
  func hostGlobs(pattern: String, host: String, expected: Bool) {
    #expect(HostGlob.matches(pattern: pattern, host: host) == expected)
  }

  @Test func fullConfigWithNonDefaults() throws {
    let toml = """
      database = "/var/lib/takedown/db.sqlite"
      node_name = "worker-7"

      [probe]
      concurrency = 1500
      per_host_connections = 0
      connect_timeout = "2s500ms"
      timeout = "45s"
      max_redirects = 0
      max_body_bytes = "1MiB"
      user_agent = "ExampleBot/2.0 (+https://example.invalid/bot)"
      allow_private_addresses = true
      resolve = ["example.com:443:127.0.0.1", "example.org:80:[::1],127.0.0.2", "v6.test:8443:::1"]
      shutdown_grace = "0s"
      throttle_pause = "1m30s"

      [schedule]
      recheck_interval = "12h"
      confirmations = 3
      confirm_interval = "0s"
      watch_interval = "7d"
      backoff_base = "30s"
      backoff_max = "1d"
      lease = "10m"
      batch_size = 50

      [summary]
      interval = "1m"

      [log]
      level = "debug"
      """
    var expected = Config()
    expected.database = "/var/lib/takedown/db.sqlite"
    expected.nodeName = "worker-7"
    expected.probe.concurrency = 1500
    expected.probe.perHostConnections = 0
    expected.probe.connectTimeoutMs = 2_500
    expected.probe.timeoutMs = 45_000
    expected.probe.maxRedirects = 0
    expected.probe.maxBodyBytes = 1_048_576
    expected.probe.userAgent = "ExampleBot/2.0 (+https://example.invalid/bot)"
    expected.probe.allowPrivateAddresses = true
    expected.probe.resolve = ["example.com:443:127.0.0.1", "example.org:80:[::1],127.0.0.2", "v6.test:8443:::1"]
    expected.probe.shutdownGraceMs = 0
    expected.probe.throttlePauseMs = 90_000
    expected.schedule.recheckIntervalMs = 12 * 3_600_000
    expected.schedule.confirmations = 3
    expected.schedule.confirmIntervalMs = 0
    expected.schedule.watchIntervalMs = 7 * 86_400_000
    expected.schedule.backoffBaseMs = 30_000
    expected.schedule.backoffMaxMs = 86_400_000
    expected.schedule.leaseMs = 600_000
    expected.schedule.batchSize = 50
    expected.summary.intervalMs = 60_000
    expected.log.level = "debug"
    #expect(try ConfigLoader.parse(toml) == expected)
  }

  @Test func byteOrderMarkAndCRLFAreAccepted() throws {
    // Files saved by Windows editors.
    #expect(try ConfigLoader.parse("\u{FEFF}[probe]\r\nconcurrency = 7\r\n").probe.concurrency == 7)
  }

  @Test func otherTOMLSpellingsOfTheSameTables() throws {
    // Dotted keys and inline tables build the same tables as [section] headers.
    let config = try ConfigLoader.parse(
      """
      probe.concurrency = 10
      schedule = { batch_size = 7 }
      probe.max_body_bytes = 4096
      """)
    #expect(config.probe.concurrency == 10)
    #expect(config.probe.maxBodyBytes == 4096)
    #expect(config.schedule.batchSize == 7)
  }

  @Test func unknownKeysAreReportedWithSuggestions() {
    #expect(problems("[schedule]\nconfirmation = 3") == ["schedule.confirmation: unknown key (did you mean 'confirmations'?)"])
    #expect(problems("[probes]\nconcurrency = 1") == ["probes: unknown table (did you mean 'probe'?)"])
    #expect(problems("Database = \"x\"") == ["Database: unknown key (did you mean 'database'?)"])
    #expect(problems("colour = \"blue\"") == ["colour: unknown key"])
    #expect(problems("[probe.extra]\nx = 1") == ["probe.extra: unknown table"])
    #expect(problems("\"a.b\" = 1") == ["\"a.b\": unknown key"])
  }

  @Test func keyInTheWrongTablePointsAtTheRightOne() {
    // A forgotten [schedule] header leaves schedule keys in [probe].
    #expect(
      problems("[probe]\nrecheck_interval = \"1h\"")
        == ["probe.recheck_interval: unknown key (did you mean 'schedule.recheck_interval'?)"])
    #expect(problems("timeout = \"5s\"") == ["timeout: unknown key (did you mean 'probe.timeout'?)"])
  }

  @Test func wrongTypesNameKeyExpectedAndFound() {
    #expect(problems("[probe]\nconcurrency = \"many\"") == ["probe.concurrency: expected an integer, got a string \"many\""])
    #expect(
      problems("[probe]\nconcurrency = \"200\"")
        == ["probe.concurrency: expected an integer, got a string \"200\" (remove the quotes)"])
    #expect(problems("[probe]\nconcurrency = 2.5") == ["probe.concurrency: expected an integer, got a floating-point number 2.5"])
    #expect(
      problems("[probe]\nallow_private_addresses = \"yes\"")
        == ["probe.allow_private_addresses: expected a boolean (true or false), got a string \"yes\""])
    #expect(problems("database = 5") == ["database: expected a string, got an integer 5"])
    #expect(problems("probe = 5") == ["probe: expected a table, got an integer 5"])
    #expect(problems("[[log]]\nlevel = \"info\"") == ["log: expected a table, got an array"])
    #expect(problems("[probe]\nresolve = \"a:1:127.0.0.1\"") == ["probe.resolve: expected an array of strings, got a string \"a:1:127.0.0.1\""])
    #expect(problems("[probe]\nresolve = [1]") == ["probe.resolve[0]: expected a string, got an integer 1"])
    #expect(
      problems("[probe]\nmax_body_bytes = true")
        == ["probe.max_body_bytes: expected a byte count or a size like \"256KiB\", \"1MiB\", \"64KB\", got a boolean true"])
  }

  @Test func durationsMustBeStringsWithAUnit() {
    #expect(
      problems("[probe]\ntimeout = 30")
        == ["probe.timeout: expected a duration like \"30s\", \"10m\", \"6h\", \"7d\", got an integer 30 (durations need a unit: write \"30s\")"])
    #expect(
      problems("[probe]\ntimeout = \"30\"")
        == ["probe.timeout: expected a duration like \"30s\", \"10m\", \"6h\", \"7d\", got \"30\" (durations need a unit: write \"30s\")"])
    #expect(
      problems("[probe]\ntimeout = \"ten\"")
        == ["probe.timeout: expected a duration like \"30s\", \"10m\", \"6h\", \"7d\", got \"ten\""])
    #expect(
      problems("[summary]\ninterval = 1.5")
        == ["summary.interval: expected a duration like \"30s\", \"10m\", \"6h\", \"7d\", got a floating-point number 1.5"])
  }

  @Test(arguments: [
    ("[probe]\nconcurrency = 0", "probe.concurrency: must be between 1 and 20000, got 0"),
    ("[probe]\nconcurrency = 20001", "probe.concurrency: must be between 1 and 20000, got 20001"),
    ("[probe]\nper_host_connections = -1", "probe.per_host_connections: must be between 0 and 10000 (0 = unlimited), got -1"),
    ("[probe]\nmax_redirects = 51", "probe.max_redirects: must be between 0 and 50, got 51"),
    ("[probe]\nmax_body_bytes = \"2GiB\"", "probe.max_body_bytes: must be between 0 and 1073741824 (1GiB) bytes, got \"2GiB\""),
    ("[probe]\nmax_body_bytes = -1", "probe.max_body_bytes: must be between 0 and 1073741824 (1GiB) bytes, got -1"),
    ("[probe]\nconnect_timeout = \"0s\"", "probe.connect_timeout: must be greater than 0s, got \"0s\""),
    ("[schedule]\nconfirmations = 101", "schedule.confirmations: must be between 1 and 100, got 101"),
    ("[schedule]\nbatch_size = 0", "schedule.batch_size: must be between 1 and 100000, got 0"),
    // 0 would retry a failing URL in a hot loop (and keep `takedownd --once` from ever finishing).
    ("[schedule]\nbackoff_base = \"0s\"", "schedule.backoff_base: must be greater than 0s, got \"0s\""),
    ("[schedule]\nwatch_interval = \"4000d\"", "schedule.watch_interval: must be at most 3650d, got \"4000d\""),
    ("[summary]\ninterval = \"0ms\"", "summary.interval: must be greater than 0s, got \"0ms\""),
  ])
  func outOfRangeValuesNameTheRange(toml: String, expected: String) {
    #expect(problems(toml) == [expected])
  }

  @Test func stringValuesAreChecked() {
    #expect(problems("database = \"\"") == ["database: must not be empty"])
    #expect(problems("node_name = \"\"") == ["node_name: must not be empty (leave the key out to use the host name)"])
    #expect(
      problems("[probe]\nuser_agent = \"bot\\r\\nX-Evil: 1\"")
        == ["probe.user_agent: must not contain control characters such as CR or LF, got \"bot\\r\\nX-Evil: 1\""])
    #expect(
      problems("[log]\nlevel = \"warn\"")
        == ["log.level: expected one of trace, debug, info, notice, warning, error, critical, got \"warn\" (did you mean 'warning'?)"])
    #expect(
      problems("[log]\nlevel = \"INFO\"")
        == ["log.level: expected one of trace, debug, info, notice, warning, error, critical, got \"INFO\" (did you mean 'info'?)"])
  }

  @Test(arguments: [
    "localhost:8080:127.0.0.1", "example.com:443:[2001:db8::1]", "example.com:443:2001:db8::1",
    "a:1:10.0.0.1,10.0.0.2,[::1]", "*:65535:127.0.0.1",
  ])
  func acceptsResolveEntries(entry: String) throws {
    let config = try ConfigLoader.parse("[probe]\nresolve = [\"\(entry)\"]")
    #expect(config.probe.resolve == [entry])
  }

  @Test(arguments: [
    ("example.com", "expected \"host:port:address[,address]\", got \"example.com\""),
    ("example.com:443", "expected \"host:port:address[,address]\", got \"example.com:443\""),
    (":443:127.0.0.1", "host is empty in \":443:127.0.0.1\"; expected \"host:port:address[,address]\", got \":443:127.0.0.1\""),
    ("a:0:127.0.0.1", "port must be a number between 1 and 65535, got \"0\""),
    ("a:65536:127.0.0.1", "port must be a number between 1 and 65535, got \"65536\""),
    ("a:http:127.0.0.1", "port must be a number between 1 and 65535, got \"http\""),
    ("a:80:", "empty address in \"a:80:\"; expected \"host:port:address[,address]\", got \"a:80:\""),
    ("a:80:127.0.0.1,", "empty address in \"a:80:127.0.0.1,\"; expected \"host:port:address[,address]\", got \"a:80:127.0.0.1,\""),
    ("a:80:[::1", "unbalanced brackets in address \"[::1\""),
    ("a:80:[127.0.0.1]", "\"[127.0.0.1]\" is not an IP address"),
    ("a:80:localhost", "\"localhost\" is not an IP address"),
  ])
  func rejectsResolveEntries(entry: String, message: String) {
    #expect(problems("[probe]\nresolve = [\"a:1:127.0.0.1\", \"\(entry)\"]") == ["probe.resolve[1]: \(message)"])
  }

  @Test func crossFieldRules() {
    #expect(
      problems("[probe]\nconnect_timeout = \"20s\"\ntimeout = \"15s\"")
        == ["probe.timeout: must be at least probe.connect_timeout (20s), got 15s"])
    #expect(
      problems("[schedule]\nbackoff_base = \"2h\"\nbackoff_max = \"1h\"")
        == ["schedule.backoff_max: must be at least schedule.backoff_base (2h), got 1h"])
    #expect(
      problems("[probe]\ntimeout = \"5m\"")
        == ["schedule.lease: must be longer than probe.timeout (5m) so a lease cannot expire while its probe runs, got 5m"])
    // Equal timeouts and a backoff without growth (base = max) are allowed.
    #expect(throws: Never.self) {
      try ConfigLoader.parse("[probe]\nconnect_timeout = \"30s\"\n[schedule]\nbackoff_base = \"1s\"\nbackoff_max = \"1s\"")
    }
  }

  @Test func crossFieldRulesSkipRejectedValues() {
    // The bad timeout is reported once, not again as "less than connect_timeout" using a default.
    #expect(problems("[probe]\nconnect_timeout = \"ten\"\ntimeout = \"5s\"").count == 1)
    #expect(problems("[probe]\ntimeout = \"0s\"\n[schedule]\nlease = \"1s\"").count == 1)
  }

  @Test func everyProblemIsReportedAtOnce() {
    let found = problems(
      """
      databse = "x.sqlite"
      [probe]
      concurrency = 0
      timeout = 30
      user_agent = ""
      resolve = ["bad", "a:1:127.0.0.1", "b:0:127.0.0.1"]
      [schedule]
      confirmation = 3
      backoff_base = "2h"
      backoff_max = "1h"
      [log]
      level = "loud"
      """)
    #expect(found.count == 9, "\(found)")
    // Unknown keys come first, then values in schema order, then cross-field rules.
    #expect(
      found == [
        "databse: unknown key (did you mean 'database'?)",
        "schedule.confirmation: unknown key (did you mean 'confirmations'?)",
        "probe.concurrency: must be between 1 and 20000, got 0",
        "probe.timeout: expected a duration like \"30s\", \"10m\", \"6h\", \"7d\", got an integer 30 (durations need a unit: write \"30s\")",
        "probe.user_agent: must not be empty",
        "probe.resolve[0]: expected \"host:port:address[,address]\", got \"bad\"",
        "probe.resolve[2]: port must be a number between 1 and 65535, got \"0\"",
        "log.level: expected one of trace, debug, info, notice, warning, error, critical, got \"loud\"",
        "schedule.backoff_max: must be at least schedule.backoff_base (2h), got 1h",
      ])
  }

  @Test func syntaxErrorReportsLineAndColumn() {
    let found = problems("[probe]\nconcurrency = 5\ntimeout = \n")
    #expect(found.count == 1)
    #expect(found.first?.hasPrefix("line 3, column ") == true, "\(found)")
  }

  @Test func duplicateKeyIsASyntaxError() {
    let found = problems("[probe]\nconcurrency = 5\nconcurrency = 6\n")
    #expect(found.count == 1)
    #expect(found.first?.hasPrefix("line 3, column ") == true, "\(found)")
  }

  @Test func nulCharacterIsRejectedRatherThanTruncating() {
    #expect(problems("[probe]\nconcurrency = 5\n\0colour = 1\n") == ["line 3, column 1: NUL characters are not allowed in TOML"])
  }

  @Test func errorDescriptionPrefixesEveryProblemWithTheFile() {
    let error = ConfigError(file: "/etc/takedown.toml", problems: ["a: one", "b: two"])
    #expect(error.description == "/etc/takedown.toml: a: one\n/etc/takedown.toml: b: two")
  }

  @Test func missingFileIsAConfigError() {
    let path = "/nonexistent-takedown-test-dir/takedown.toml"
    #expect(throws: ConfigError(file: path, problems: ["cannot read: No such file or directory"])) {
      try ConfigLoader.load(path: path)
    }
  }

  @Test func directoryIsAConfigError() {
    let path = FileManager.default.temporaryDirectory.path
    #expect(throws: ConfigError(file: path, problems: ["cannot read: Is a directory"])) {
      try ConfigLoader.load(path: path)
    }
  }

  @Test func loadReadsAFileAndLabelsItsProblems() throws {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("takedown-config-test-\(UInt64.random(in: 0...UInt64.max)).toml").path
    defer { try? FileManager.default.removeItem(atPath: path) }

    try Data("[probe]\nconcurrency = 7\n".utf8).write(to: URL(fileURLWithPath: path))
    #expect(try ConfigLoader.load(path: path).probe.concurrency == 7)

    try Data("[probe]\nconcurrency = 0\n".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: ConfigError(file: path, problems: ["probe.concurrency: must be between 1 and 20000, got 0"])) {
      try ConfigLoader.load(path: path)
    }

    try Data([0x61, 0x20, 0x3D, 0x20, 0x22, 0xFF, 0x22, 0x0A]).write(to: URL(fileURLWithPath: path))
    #expect(throws: ConfigError(file: path, problems: ["cannot read: the file is not valid UTF-8, which TOML requires"])) {
      try ConfigLoader.load(path: path)
    }
  }
}

@Suite struct DatabasePasswordTests {
  let dir = TempDir()

  func config(_ file: String?) -> Config {
    var c = Config()
    c.databasePasswordFile = file
    return c
  }

  @Test func noKeyMeansNoPassword() throws {
    #expect(try DatabasePassword.read(config(nil), environment: [:]) == nil)
  }

  @Test func theFirstLineIsThePasswordAndARelativePathIsACredential() throws {
    try "s3cret pass\r\nignored second line\n".write(toFile: dir.path + "/pgpassword", atomically: true, encoding: .utf8)
    #expect(try DatabasePassword.read(config("pgpassword"), environment: ["CREDENTIALS_DIRECTORY": dir.path]) == "s3cret pass")
    #expect(try DatabasePassword.read(config(dir.path + "/pgpassword"), environment: [:]) == "s3cret pass")
  }

  @Test func aMissingOrEmptyFileIsAnErrorNamingTheKeyAndThePath() throws {
    let missing = #expect(throws: DatabasePassword.Failure.self) {
      try DatabasePassword.read(config("nope"), environment: ["CREDENTIALS_DIRECTORY": dir.path])
    }
    #expect(missing?.description == "database_password_file: \(dir.path)/nope: No such file or directory")
    try "\n".write(toFile: dir.path + "/empty", atomically: true, encoding: .utf8)
    let empty = #expect(throws: DatabasePassword.Failure.self) {
      try DatabasePassword.read(config(dir.path + "/empty"), environment: [:])
    }
    #expect(empty?.description.contains("the file is empty") == true)
  }

  @Test func theKeyIsReadFromTheConfigFile() throws {
    let path = dir.path + "/c.toml"
    try "database = \"postgresql:///q\"\ndatabase_password_file = \"pgpassword\"\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let c = try ConfigLoader.load(path: path)
    #expect(c.databasePasswordFile == "pgpassword")
    #expect(c.database == "postgresql:///q")
    #expect(DatabaseLocation.resolve(c.database) == "postgresql:///q")
  }
}
