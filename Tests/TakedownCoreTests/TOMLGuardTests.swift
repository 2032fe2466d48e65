import Foundation
import Testing

@testable import TakedownCore

/// Inputs that made toml++ abort or overflow its stack are refused with a line number before parsing.
@Suite struct TOMLGuardTests {
  @Test(arguments: [
    ("[.probe]\nconcurrency = 1\n", "line 1"),
    ("database = \"x\"\n\n[=probe]\n", "line 3"),
    ("[[.x]]\n", "line 1"),
    ("[ \u{e9}t\u{e9}]\n", "line 1"),
    ("[\n", "line 1"),
    ("[probe]\nresolve = [}\n", "line 2"),
    ("[probe]\nresolve = [\"a:1:127.0.0.1\",\n}\n", "line 2"),
    ("x = " + String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000) + "\n", "line 1"),
    ("a" + String(repeating: ".a", count: 300_000) + " = 1\n", "line 1"),
    ("[" + String(repeating: "a.", count: 300_000) + "b]\n", "line 1"),
  ])
  func refusedBeforeTheParserSeesIt(_ text: String, _ line: String) {
    #expect(TOMLGuard.check(text)?.hasPrefix(line + ":") == true)
    #expect(throws: ConfigError.self) { try ConfigLoader.parse(text) }
  }

  @Test func ordinaryConfigsPass() throws {
    let text = """
      # a comment with [.odd] and ,} inside
      database = "db.sqlite"
      [probe]
      user_agent = "agent ,} [.x] \\" quoted"
      resolve = [
        "a.example:80:127.0.0.1",
        'b.example:443:127.0.0.2',
      ]
      [schedule]
      recheck_interval = "6h"
      """
    #expect(TOMLGuard.check(text) == nil)
    let c = try ConfigLoader.parse(text)
    #expect(c.probe.userAgent == "agent ,} [.x] \" quoted")
    #expect(c.probe.resolve.count == 2)
  }

  /// A "[" alone on a line inside a multi-line array opens a nested array, not a table header; it used to
  /// be refused as "a table header must start with a key name". toml++ reads these as `x` (unknown key).
  @Test(arguments: [
    "x = [\n[\n1\n]\n]\n",
    "x = [\n  [\n    1,\n    2,\n  ],\n  [\n  ]\n]\n",
    "x = [\n[[\n1\n]]\n]\n",
    "x = [ 1,\n[ 2 ] ]\n",
    "x = {a = [\n[\n1\n]\n]}\n",
  ])
  func nestedArraysOpeningOnTheirOwnLinePass(_ text: String) throws {
    #expect(TOMLGuard.check(text) == nil)
    let unknown = text.hasPrefix("x = {") ? "x: unknown table" : "x: unknown key"
    #expect(throws: ConfigError(file: "c.toml", problems: [unknown])) { try ConfigLoader.parse(text, file: "c.toml") }
  }

  /// The same place still refuses what toml++ aborts on there ("[}", a line separator where a value
  /// belongs), and a real table header after such an array is still checked.
  @Test(arguments: [
    ("x = [\n[}]\n", "line 2"),
    ("x = [\n[\u{2028}]]\n", "line 2"),
    ("x = [\n[\n1\n]\n]\n[.probe]\n", "line 6"),
    ("x = [\n[\n1\n]\n]\n[\n", "line 6"),
  ])
  func nestedArraysStillRefuseCrashers(_ text: String, _ line: String) {
    #expect(TOMLGuard.check(text)?.hasPrefix(line + ":") == true, "\(TOMLGuard.check(text) ?? "passed")")
    #expect(throws: ConfigError.self) { try ConfigLoader.parse(text) }
  }

  /// Only keys' dots count towards the dotted-parts limit: floats and fractional seconds are values, so a
  /// line with more than 64 of them passes (it used to be refused as a key with too many dotted parts).
  @Test func dotsInValuesDoNotCountAsDottedKeys() throws {
    let floats = (0..<100).map { "\($0).5" }.joined(separator: ", ")
    let times = (0..<70).map { _ in "07:32:00.5" }.joined(separator: ", ")
    let stamps = (0..<70).map { _ in "1979-05-27 07:32:00.999Z" }.joined(separator: ", ")
    let table = (0..<70).map { "k\($0) = 1.5" }.joined(separator: ", ")
    for text in ["x = [\(floats)]\n", "x = [\(times)]\n", "x = [\(stamps)]\n", "x = {\(table)}\n"] {
      #expect(TOMLGuard.check(text) == nil)
      #expect(throws: ConfigError(file: "c.toml", problems: ["x: unknown \(text.hasPrefix("x = {") ? "table" : "key")"])) {
        try ConfigLoader.parse(text, file: "c.toml")
      }
    }
    // Each key of an inline table is its own key: 70 two-part keys on one line pass.
    let keys = (0..<70).map { "a\($0).b = 1" }.joined(separator: ", ")
    #expect(TOMLGuard.check("x = {\(keys)}\n") == nil)
    // A key of 65 parts is still the limit, in a header, at the top level and in an inline table.
    let parts64 = (0..<65).map { "k\($0)" }.joined(separator: ".")
    let parts65 = parts64 + ".k65"
    for ok in ["\(parts64) = 1.5\n", "[\(parts64)]\n", "x = {\(parts64) = 1.5}\n"] {
      #expect(TOMLGuard.check(ok) == nil)
    }
    for refused in ["\(parts65) = 1.5\n", "[\(parts65)]\n", "x = {a = 1.5, \(parts65) = 1.5}\n"] {
      #expect(TOMLGuard.check(refused)?.hasPrefix("line 1: a key with more than 64 dotted parts") == true)
    }
  }

  /// The deepest tables the guard lets through on one line (64 inline tables, each under a key of 65
  /// parts: over 4,000 levels) parse to an ordinary error, not a stack overflow, on a 1 MiB thread stack
  /// (the daemon's runner thread, which reloads the config, has the 8 MiB default).
  @Test func theDeepestNestingTheGuardAllowsStillParses() throws {
    let key = { (n: Int) in (0..<65).map { "k\(n)_\($0)" }.joined(separator: ".") }
    let text = "x = " + (0..<63).map { "{" + key($0) + " = " }.joined() + "1" + String(repeating: "}", count: 63) + "\n"
    #expect(TOMLGuard.check(text) == nil)
    let outcome = Locked<String?>(nil)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
      do {
        _ = try ConfigLoader.parse(text, file: "c.toml")
        outcome.withLock { $0 = "parsed" }
      } catch {
        outcome.withLock { $0 = "\(error)" }
      }
      done.signal()
    }
    thread.stackSize = 1 << 20
    thread.start()
    #expect(done.wait(timeout: .now() + 60) == .success)
    let result = outcome.withLock { $0 }
    #expect(result?.contains("x: unknown table") == true, "\(result ?? "no answer")")
  }
}

/// Malformed date-times toml++ aborts on, found by `make fuzz` ("1979-05-2= 8") and by mutating the TOML
/// 1.0 spec's examples in forked children: refused before the parser sees them, naming the line. Each is
/// tried where a value, an array element and an inline-table value belong, always on line 3.
@Suite struct TOMLGuardDateTimeTests {
  /// `value` on line 3 as the value of `x` (0), an element of `x` (1) or a value in `x` (2).
  static func document(_ value: String, _ context: Int) -> String {
    switch context {
    case 0: "database = \"a.db\"\n\nx = \(value)\n"
    case 1: "x = [\n  1979-05-27,\n  \(value),\n]\n"
    default: "# a comment\n\nx = {a = 1, b = \(value)}\n"
    }
  }

  /// A date-like word, one space, one digit and a value terminator: toml++'s value-type scan reads past
  /// the value (toml.hpp:15080, "!is_value_terminator(*cp)").
  static let scanCrashers = [
    "1979-05-2= 8", "1979-05-27 8", "1979-05-27 0", "0000-00-00 1", "9999-99-99 9", "1979-05-2a 8", "1979-05-2e 8",
    "1979-05-2_7 8", "19_79-05-27 8", "1a79-05-27 8", "1979-05-2\u{e9} 8", "1979-05-27 0#7:32:00Z",
    "1979-05-27 8\u{a0}", "1979-05-27 8\u{2028}",
  ]

  /// A valid date and separator, then no digit: parse_time assumes one (toml.hpp:14790).
  static let timeCrashers = [
    "1979-05-27T.07:32:00", "1979-05-27TT07:32:00", "1979-05-27TZ07:32:00Z", "1979-05-27tZ07:32:00z",
    "1979-05-27T-00:32:00.999999-07:00", "1979-05-27T=00:32:00-07:00",
  ]

  @Test(arguments: scanCrashers + timeCrashers, 0..<3)
  func crashersAreRefusedWithTheirLine(_ value: String, _ context: Int) {
    let text = Self.document(value, context)
    let problem = TOMLGuard.check(text)
    #expect(problem?.hasPrefix("line 3: malformed date-time '") == true, "\(problem ?? "passed")")
    #expect(throws: ConfigError(file: "c.toml", problems: [problem ?? ""])) {
      try ConfigLoader.parse(text, file: "c.toml")
    }
  }

  /// Malformed ones toml++ only reports are refused too, with the reason.
  @Test(arguments: [
    ("1979-05-27T07:32:0", "expected 2-digit seconds, saw '0'"),
    ("1979-05-27T25:32:00", "hour 25 is not 00 to 23"),
    ("1979-13-27", "month 13 is not 01 to 12"),
    ("1979-02-29", "day 29 is not 01 to 28 in month 2 of 1979"),
    ("07:32", "expected ':' and seconds after the minute"),
    ("7:32:00", "expected a 2-digit hour, saw '7:'"),
    ("07:32:00Z", "unexpected 'Z' after the time"),
    ("1979-05-27T07:32:00+25:00", "offset hour 25 is not 00 to 23"),
    ("1979-05-27T07:32:00+0700", "expected ':' in the offset, saw '0'"),
    ("1979-05-27T07:32:00.", "expected digits after '.'"),
    ("1979-05-27T07:32:00Zx", "unexpected 'x' after the offset"),
    ("1979-05-27x", "expected 'T' or a space between the date and the time, saw 'x'"),
    ("1979-5-27", "expected a 2-digit month, saw '5-'"),
    ("1-2", "expected a 4-digit year, saw '1-2'"),
  ])
  func malformedDateTimesAreRefusedWithTheReason(_ value: String, _ why: String) {
    let problem = TOMLGuard.check("x = \(value)\n")
    #expect(problem?.hasPrefix("line 1: malformed date-time '\(value)': \(why)") == true, "\(problem ?? "passed")")
  }

  /// The TOML 1.0 spec's examples, and a few more edges, go on to toml++: `x` is then an unknown key (or
  /// table), not a date-time error and not a crash.
  static let wellFormed = [
    "1979-05-27T07:32:00Z", "1979-05-27T00:32:00-07:00", "1979-05-27T00:32:00.999999-07:00", "1979-05-27 07:32:00Z",
    "1979-05-27T07:32:00", "1979-05-27", "07:32:00", "00:32:00.999999", "1979-05-27t07:32:00z", "1979-05-27 07:32:00",
    "2000-02-29", "1979-05-27T23:59:59.1+23:59",
  ]

  @Test(arguments: wellFormed, 0..<3)
  func wellFormedDateTimesReachTheParser(_ value: String, _ context: Int) {
    let text = Self.document(value, context)
    #expect(TOMLGuard.check(text) == nil)
    let unknown = "x: unknown \(context == 2 ? "table" : "key")"
    #expect(throws: ConfigError(file: "c.toml", problems: [unknown])) { try ConfigLoader.parse(text, file: "c.toml") }
  }

  /// Date-like text in strings, comments, keys and table headers, and numbers with '-' or letters, are not
  /// values that start like a date-time.
  @Test(arguments: [
    "s = \"1979-05-2= 8\"\n", "s = '1979-05-2= 8'\n", "s = \"\"\"\n1979-05-2= 8\nx = 1979-05-27 8\n\"\"\"\n",
    "s = '''\nx = 1979-05-27 8\n'''\n", "s = \"\\\"1979-05-2= 8\"\n", "# x = 1979-05-2= 8\n", "x = 1 # 1979-05-27 8\n",
    "1979-05-27 = 1\n", "1979-05-2_7 = 1\n", "a.1979-05-27 = 2\n", "[1979-05-27]\n", "[[a.1979-05-27]]\n",
    "x = {1979-05-27 = 1, 1979-05-2_7 = 2}\n",
    "x = [1_000, 1e3, -5, +inf, -inf, nan, 0x1F, 0o17, 0b11, 1e-5, -1E-5, 6.626e-34, 5e+22]\n",
    "x = [\n  1979-05-27, # 1979-05-2= 8\n  # 1979-05-27 8\n  07:32:00,\n]\n",
  ])
  func othersAreLeftAlone(_ text: String) throws {
    #expect(TOMLGuard.check(text) == nil)
    do {
      _ = try ConfigLoader.parse(text)
    } catch let error as ConfigError {
      #expect(error.problems.allSatisfy { $0.contains("unknown") }, "\(error.problems)")
    }
  }

  /// Not a date-time, but found while fuzzing them: a Unicode line or paragraph separator where an array
  /// value belongs makes toml++ assert as "[}" does (toml.hpp:14994).
  @Test(arguments: ["x = [\u{2028}1]\n", "x = [1,\n  \u{2029}2]\n", "x = [\n\u{85}]\n", "x = {a = [[\u{2028}]]}\n"])
  func lineSeparatorsWhereAnArrayValueBelongsAreRefused(_ text: String) {
    #expect(TOMLGuard.check(text)?.hasPrefix("line ") == true)
    #expect(throws: ConfigError.self) { try ConfigLoader.parse(text) }
  }
}
