import Foundation
import TakedownCore
import TestHTTPServer
import Testing

/// Issue 14, "everyday commands": `check`, `recheck`, `config check` / `takedownd --check-config`,
/// `--db`/`--config` before the subcommand, blank `enqueue` arguments. The real binaries throughout.
@Suite(.serialized) struct EverydayCommandsTests {
  // MARK: recheck

  /// A daemon runs with a long recheck interval; `recheck` makes a checked URL due and the daemon checks
  /// it again at once, on both backends.
  @Test(arguments: Backend.allCases)
  func recheckMakesTheRunningDaemonCheckAgain(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "the video"), "/other": .text(200, "another")])
    defer { server.stop() }
    let config = try writeConfig(
      in: dir, extra: "recheck_interval = \"10d\"\nwatch_interval = \"10d\"", database: database,
      top: "node_name = \"recheck-\(backend)\"")
    let ok = server.baseURL + "/ok"
    let other = server.baseURL + "/other"
    let enq = try finish(Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "c1", ok, other], in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    let store = try openStore(database)
    func checks(_ url: String) throws -> Int { try store.lookup(url)?.checks ?? -1 }
    #expect(try waitUntil(timeout: .seconds(30)) { try checks(ok) == 1 && checks(other) == 1 }, "\(daemon.stderr)")
    let eventsBefore = try store.events(afterID: 0, since: nil, limit: 100).count
    let before = try #require(try store.lookup(ok)?.nextCheckAt)
    #expect(before > Timestamp.nowMs() + 86_400_000, "the next check is days away")

    let r = try finish(Binaries.takedownctl, ["recheck", "--config", config, ok], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "made 1 due\n")
    #expect(try waitUntil(timeout: .seconds(20)) { try checks(ok) == 2 }, "\(daemon.stderr)")
    #expect(try checks(other) == 1, "only the URL named was checked again")
    #expect(try store.lookup(ok)?.status == .online)

    // A URL that is not in the queue is named (exit 65); the others are still made due.
    let mixed = try finish(
      Binaries.takedownctl, ["recheck", "--config", config, "http://nowhere.test/x", other], in: dir)
    #expect(mixed.status == 65)
    #expect(mixed.stderr.contains("'http://nowhere.test/x' is not in the queue"), "\(mixed.stderr)")
    #expect(mixed.stdout == "made 1 due; 1 not in the queue\n")
    #expect(try waitUntil(timeout: .seconds(20)) { try checks(other) == 2 }, "\(daemon.stderr)")

    // By campaign, with the database given before the subcommand.
    let byCampaign = try finish(Binaries.takedownctl, ["--config", config, "recheck", "--campaign", "c1"], in: dir)
    #expect(byCampaign.status == 0, "\(byCampaign.stderr)")
    #expect(try waitUntil(timeout: .seconds(20)) { try checks(ok) == 3 && checks(other) == 3 }, "\(daemon.stderr)")
    // Nothing but the schedule changed: no event was added.
    #expect(try store.events(afterID: 0, since: nil, limit: 100).count == eventsBefore)
    let stopped = daemon.terminate()
    #expect(stopped.status == 0, "\(stopped.stderr)")
  }

  @Test func recheckNeedsASelectorAndLeavesCancelledURLsAlone() throws {
    let dir = TempDir()
    let db = dir.path + "/q.sqlite"
    #expect(try finish(Binaries.takedownctl, ["enqueue", "--db", db, "http://a.test/1", "http://a.test/2"], in: dir).status == 0)
    #expect(try finish(Binaries.takedownctl, ["cancel", "--db", db, "http://a.test/2"], in: dir).status == 0)
    let none = try finish(Binaries.takedownctl, ["recheck", "--db", db], in: dir)
    #expect(none.status == 64)
    #expect(none.stderr.contains("--all"), "\(none.stderr)")
    let all = try finish(Binaries.takedownctl, ["recheck", "--db", db, "--all"], in: dir)
    #expect(all.status == 0, "\(all.stderr)")
    #expect(all.stdout.hasPrefix("made 1 due; left alone: 1 cancelled"), "\(all.stdout)")
    let badStatus = try finish(Binaries.takedownctl, ["recheck", "--db", db, "--status", "gone"], in: dir)
    #expect(badStatus.status == 64)
    let missing = try finish(Binaries.takedownctl, ["recheck", "--db", dir.path + "/none.sqlite", "--all"], in: dir)
    #expect(missing.status == 66, "\(missing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/none.sqlite"))
  }

  // MARK: options before the subcommand

  @Test func databaseAndConfigOptionsWorkBeforeTheSubcommand() throws {
    let dir = TempDir()
    let db = dir.path + "/q.sqlite"
    let config = try writeConfig(in: dir, database: db)
    #expect(try finish(Binaries.takedownctl, ["--db", db, "enqueue", "http://a.test/1"], in: dir).status == 0)
    let after = try finish(Binaries.takedownctl, ["list", "--db", db], in: dir)
    #expect(after.status == 0, "\(after.stderr)")
    #expect(after.stdout.contains("http://a.test/1"))
    #expect(try finish(Binaries.takedownctl, ["--db", db, "summary"], in: dir).status == 0)
    for args in [
      ["--db", db, "list"], ["--db=\(db)", "list"], ["--config", config, "list"],
      ["--config=\(config)", "list"], ["--db", db, "list", "--db", db], ["--config", config, "--db", db, "list"],
    ] {
      let r = try finish(Binaries.takedownctl, args, in: dir)
      #expect(r.status == 0, "\(args): \(r.stderr)")
      #expect(r.stdout == after.stdout, "\(args)")
    }
    // A nested subcommand gets them after its own name.
    let nested = try finish(Binaries.takedownctl, ["--config", config, "config", "check"], in: dir)
    #expect(nested.status == 0, "\(nested.stderr)")
    #expect(nested.stdout.contains("database = \"\(db)\""))

    let conflict = try finish(Binaries.takedownctl, ["--db", db, "summary", "--db", dir.path + "/other.sqlite"], in: dir)
    #expect(conflict.status == 64)
    #expect(conflict.stderr.contains("'\(db)'") && conflict.stderr.contains("'\(dir.path)/other.sqlite'"), "\(conflict.stderr)")
    let twice = try finish(Binaries.takedownctl, ["--db", "a.sqlite", "--db=b.sqlite", "summary"], in: dir)
    #expect(twice.status == 64)
    #expect(twice.stderr.contains("'a.sqlite'") && twice.stderr.contains("'b.sqlite'"), "\(twice.stderr)")
    let noValue = try finish(Binaries.takedownctl, ["--db"], in: dir)
    #expect(noValue.status == 64)
    #expect(noValue.stderr.contains("--db needs a value"), "\(noValue.stderr)")
    // Only options before the subcommand move: after `--`, "--db" is an argument like any other.
    let literal = try finish(Binaries.takedownctl, ["--db", db, "status", "--", "--db"], in: dir)
    #expect(literal.status == 65, "\(literal.stderr)")
    #expect(literal.stderr.contains("'--db' is not in the queue"), "\(literal.stderr)")
  }

  // MARK: enqueue

  @Test func blankAndCommentArgumentsAreSkipped() throws {
    let dir = TempDir()
    let db = dir.path + "/q.sqlite"
    // What `mapfile -t urls < list; takedownctl enqueue "${urls[@]}"` passes for a list ending in blank lines.
    let r = try finish(
      Binaries.takedownctl, ["enqueue", "--db", db, "http://a.test/1", "", "   ", "\t", "# a comment", "http://a.test/2", ""],
      in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "new 2, already queued 0, rejected 0\n")
    #expect(r.stderr == "")
    let bad = try finish(Binaries.takedownctl, ["enqueue", "--db", db, "", "not-a-url"], in: dir)
    #expect(bad.status == 65)
    #expect(bad.stderr.hasPrefix("argument 2: "), "\(bad.stderr)")
  }

  // MARK: config check

  @Test func checkConfigPrintsTheEffectiveSettingsOrTheProblems() throws {
    let dir = TempDir()
    let good = dir.path + "/good.toml"
    try """
    database = "postgresql://takedown:s3cret@127.0.0.1:1/takedown"
    [probe]
    timeout = "45s"
    [[rule]]
    hosts = ["*.example.com"]
    removal_markers = ["has been removed"]
    """.write(toFile: good, atomically: true, encoding: .utf8)
    let d = try finish(Binaries.takedownd, ["--check-config", "--config", good], in: dir)
    #expect(d.status == 0, "\(d.stderr)")
    #expect(d.stdout.hasPrefix("# \(good): valid."))
    #expect(!d.stdout.contains("s3cret"))
    // The printout is itself a configuration: it loads to the same settings, but for the masked password.
    var expected = try ConfigLoader.load(path: good)
    expected.database = "postgresql://takedown:***@127.0.0.1:1/takedown"
    #expect(try ConfigLoader.parse(d.stdout) == expected, "\(d.stdout)")
    #expect(d.stdout.contains("timeout = \"45s\"") && d.stdout.contains("recheck_interval = \"6h\""))
    // takedownctl's alias prints the same; --quiet prints nothing.
    let ctl = try finish(Binaries.takedownctl, ["config", "check", "--config", good], in: dir)
    #expect(ctl.status == 0, "\(ctl.stderr)")
    #expect(ctl.stdout == d.stdout)
    let quiet = try finish(Binaries.takedownd, ["--check-config", "--quiet", "--config", good], in: dir)
    #expect(quiet.status == 0 && quiet.stdout == "" && quiet.stderr == "")
    // Without a file: the built-in defaults.
    let defaults = try finish(Binaries.takedownd, ["--check-config"], in: dir)
    #expect(defaults.status == 0)
    #expect(try ConfigLoader.parse(defaults.stdout) == Config())

    let bad = dir.path + "/bad.toml"
    try "bogus_key = 1\n[probe]\ntimeout = 30\n".write(toFile: bad, atomically: true, encoding: .utf8)
    for (binary, args) in [
      (Binaries.takedownd, ["--check-config", "--config", bad]), (Binaries.takedownd, ["--check-config", "--quiet", "--config", bad]),
      (Binaries.takedownctl, ["config", "check", "--config", bad]),
    ] {
      let r = try finish(binary, args, in: dir)
      #expect(r.status == 78, "\(args)")
      #expect(r.stdout == "")
      #expect(r.stderr.contains(bad) && r.stderr.contains("bogus_key") && r.stderr.contains("probe.timeout"), "\(r.stderr)")
    }
    // The daemon itself refuses the same file with the same lines.
    let daemon = try finish(Binaries.takedownd, ["--config", bad, "--once"], in: dir)
    #expect(daemon.status == 78)
    let checked = try finish(Binaries.takedownd, ["--check-config", "--config", bad], in: dir)
    #expect(problemLines(daemon.stderr) == problemLines(checked.stderr))
    #expect(try finish(Binaries.takedownd, ["--quiet"], in: dir).status == 64)
  }

  func problemLines(_ stderr: String) -> [String] {
    stderr.split(separator: "\n").map { line in
      // Drop the timestamp the log handler puts first.
      String(line.split(separator: " ", maxSplits: 2).dropFirst().joined(separator: " "))
    }
  }

  // MARK: check

  @Test func checkShowsWhatTheDaemonWouldRecordWithoutTouchingTheQueue() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: [
      "/ok": .text(200, "the video"),
      "/moved": .redirect(301, to: "/ok"),
      "/removed": .text(200, "Sorry, this video has been removed."),
      "/gone": .text(404, "not found"),
      "/limited": .text(429, "slow down", headers: [("Retry-After", "3600")]),
    ])
    defer { server.stop() }
    let db = dir.path + "/never.sqlite"
    // Rules by host: 127.0.0.1 gets markers; "head.test" (resolved to 127.0.0.1) is checked with HEAD.
    let config = try writeConfig(
      in: dir,
      extra: """
        [[rule]]
        hosts = ["127.0.0.1"]
        removal_markers = ["has been removed"]
        [[rule]]
        hosts = ["head.test"]
        method = "head"
        """, database: db)
    try (try String(contentsOfFile: config, encoding: .utf8))
      .replacingOccurrences(of: "[probe]\n", with: "[probe]\nresolve = [\"head.test:\(server.port):127.0.0.1\"]\n")
      .write(toFile: config, atomically: true, encoding: .utf8)

    let moved = try finish(Binaries.takedownctl, ["check", "--config", config, "--json", server.baseURL + "/moved"], in: dir)
    #expect(moved.status == 0, "\(moved.stderr)")
    let j = try jsonObject(moved.stdout)
    #expect(j["url"] as? String == server.baseURL + "/moved")
    #expect(j["final_url"] as? String == server.baseURL + "/ok")
    #expect(j["http_status"] as? Int == 200)
    #expect(j["observed"] as? String == "online")
    #expect(j["reason"] as? String == "http_200")
    #expect(j["rule"] as? String != nil)
    #expect(j["bytes"] as? Int == 9)
    #expect(j["truncated"] as? Bool == false)
    let chain = try #require(j["redirect_chain"] as? [[String: Any]])
    #expect(chain.count == 1 && chain.first?["status"] as? Int == 301 && chain.first?["location"] as? String == "/ok")
    let body = dir.path + "/body"
    try "the video".write(toFile: body, atomically: true, encoding: .utf8)
    let sum = try finish("/usr/bin/sha256sum", [body], in: dir).stdout.prefix(64)
    #expect(j["body_sha256"] as? String == String(sum))
    let timings = try #require(j["timings_us"] as? [String: Any])
    #expect((timings["total"] as? Int ?? 0) > 0)
    #expect((timings["total"] as? Int ?? 0) >= (timings["first_byte"] as? Int ?? Int.max))

    // A removal marker decides, and the text says which rule and what matched.
    let removed = try finish(Binaries.takedownctl, ["check", "--config", config, server.baseURL + "/removed"], in: dir)
    #expect(removed.status == 0, "\(removed.stderr)")
    #expect(removed.stdout.contains("observed:     removed\n"), "\(removed.stdout)")
    #expect(removed.stdout.contains("reason:       removal_marker\n"))
    #expect(removed.stdout.contains("decided by:   rule[0] 127.0.0.1 (matched has been removed)"), "\(removed.stdout)")

    // HEAD first, confirmed by a GET, as the daemon does; the global --config form.
    let before = server.requestCount
    let head = try finish(
      Binaries.takedownctl, ["--config", config, "check", "--json", "http://head.test:\(server.port)/gone"], in: dir)
    #expect(head.status == 0, "\(head.stderr)")
    let h = try jsonObject(head.stdout)
    #expect(h["method"] as? String == "HEAD 404, GET")
    #expect(h["reason"] as? String == "http_404")
    #expect(h["observed"] as? String == "removed")
    #expect(server.requests()[before...].map(\.method) == ["HEAD", "GET"])

    // A host that asks to be left alone (429 with Retry-After to the HEAD) gets no GET: not checked, 69.
    let beforeLimited = server.requestCount
    let limited = try finish(
      Binaries.takedownctl, ["check", "--config", config, "http://head.test:\(server.port)/limited"], in: dir)
    #expect(limited.status == 69, "\(limited.stdout)\n\(limited.stderr)")
    #expect(limited.stderr.contains("not checked: the host asked to be left alone until"), "\(limited.stderr)")
    #expect(limited.stdout == "")
    #expect(server.requests()[beforeLimited...].map(\.method) == ["HEAD"])

    #expect(!FileManager.default.fileExists(atPath: db), "check opened the database")
  }

  @Test func checkRefusesWhatTheDaemonRefuses() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "the video")])
    defer { server.stop() }
    let strict = try writeConfig(in: dir, allowPrivate: false, database: dir.path + "/q.sqlite")
    let privateAddress = try finish(Binaries.takedownctl, ["check", "--config", strict, server.baseURL + "/ok"], in: dir)
    #expect(privateAddress.status == 65)
    #expect(privateAddress.stderr.contains("private"), "\(privateAddress.stderr)")
    #expect(privateAddress.stdout.contains("reason:       private_address_refused"))
    #expect(server.requestCount == 0, "a refused address was connected to")

    let scheme = try finish(Binaries.takedownctl, ["check", "--config", strict, "ftp://127.0.0.1/x"], in: dir)
    #expect(scheme.status == 65)
    #expect(scheme.stderr.contains("ftp://127.0.0.1/x"), "\(scheme.stderr)")

    let bad = dir.path + "/bad.toml"
    try "[probe]\ntimeout = \"-1s\"\n".write(toFile: bad, atomically: true, encoding: .utf8)
    let badConfig = try finish(Binaries.takedownctl, ["check", "--config", bad, server.baseURL + "/ok"], in: dir)
    #expect(badConfig.status == 78)
    #expect(badConfig.stderr.contains("probe.timeout"), "\(badConfig.stderr)")
    #expect(server.requestCount == 0)
  }
}

/// Runs a command that must finish: bounded, and a hang is a test failure, not a stuck run.
private func finish(_ path: String, _ args: [String], in dir: TempDir) throws -> Finished {
  let (r, timedOut) = try runBounded(path, args, in: dir, timeout: .seconds(60))
  #expect(!timedOut, "\(args) did not finish within 60 s")
  return r
}
