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
}
