import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A datagram socket standing in for systemd's notify socket; collects every message it receives.
final class NotifySocket: @unchecked Sendable {
  // @unchecked: `messages` is behind a lock; fd and path are set once.
  let path: String
  let fd: Int32
  private let received = Locked<[String]>([])

  init(dir: TempDir) {
    path = dir.path + "/notify.sock"
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var a = sockaddr_un()
    a.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &a.sun_path) { raw in
      for (i, b) in path.utf8.enumerated() { raw[i] = b }
    }
    _ = withUnsafePointer(to: &a) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    // The reader holds the socket and the message list, not `self`: when the test lets go of this
    // object, deinit's shutdown ends the recv loop, and the reader closes the socket (so no recv can
    // ever run on a closed, perhaps reused, descriptor).
    let sock = fd
    let list = received
    let thread = Thread {
      var buf = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = buf.withUnsafeMutableBytes { recv(sock, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        let text = String(decoding: buf[0..<n], as: UTF8.self)
        list.withLock { $0.append(text) }
      }
      close(sock)
    }
    thread.start()
  }

  deinit {
    shutdown(fd, Int32(SHUT_RDWR))
  }

  var messages: [String] { received.copied { $0 } }
}

@Suite(.serialized) struct ServiceTests {
  /// An always-online page, rechecked every 200 ms, so changes in behaviour show up quickly.
  func setUp(_ dir: TempDir, extra: String = "", userAgent: String = "ua-before") throws -> (TestHTTPServer, String) {
    let server = try TestHTTPServer(routes: ["/page": .text(200, "here")])
    let config = try writeConfig(in: dir, extra: "")
    try rewriteConfig(config, userAgent: userAgent, extra: extra)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "\(server.baseURL)/page"], in: dir).status == 0)
    return (server, config)
  }

  /// The whole config, written anew each time (a reload test must change exactly one thing).
  func rewriteConfig(_ config: String, userAgent: String, extra: String = "", broken: Bool = false) throws {
    let dir = (config as NSString).deletingLastPathComponent
    let text = """
      database = "\(dir)/takedown.sqlite"
      [probe]
      user_agent = "\(userAgent)"
      connect_timeout = "1s"
      timeout = "2s"
      allow_private_addresses = true
      shutdown_grace = "2s"
      [schedule]
      recheck_interval = "200ms"
      confirm_interval = "0s"
      lease = "30s"
      [summary]
      \(broken ? "intervall" : "interval") = "300ms"
      \(extra)
      """
    try text.write(toFile: config, atomically: true, encoding: .utf8)
  }

  @Test func notifyProtocolWatchdogReloadAndStop() throws {
    let dir = TempDir()
    let (server, config) = try setUp(dir)
    defer { server.stop() }
    let sock = NotifySocket(dir: dir)
    let daemon = try start(
      Binaries.takedownd, ["--config", config], in: dir,
      env: ["NOTIFY_SOCKET": sock.path, "WATCHDOG_USEC": "400000"])
    func has(_ prefix: String, after index: Int = 0) -> Int? {
      let m = sock.messages
      guard index < m.count else { return nil }
      return m[index...].firstIndex { $0.split(separator: "\n").contains { $0.hasPrefix(prefix) } }
    }
    #expect(try waitUntil { has("READY=1") != nil })
    let ready = has("READY=1") ?? 0
    #expect(try waitUntil { has("STATUS=", after: ready + 1) != nil && has("WATCHDOG=1", after: ready + 1) != nil })
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { has("RELOADING=1") != nil })
    let reloading = has("RELOADING=1") ?? 0
    #expect(sock.messages[reloading].contains("MONOTONIC_USEC="))
    #expect(try waitUntil { has("READY=1", after: reloading + 1) != nil })
    kill(daemon.process.processIdentifier, SIGTERM)
    let done = daemon.finish()
    #expect(done.status == 0, "\(done.stdout)")
    let stopping = try #require(has("STOPPING=1"))
    #expect(stopping > reloading)
    #expect(ready < reloading)
    let status = try #require(has("STATUS=", after: ready + 1))
    #expect(sock.messages[status].contains("taken_down"))
  }

  @Test func noWatchdogPingsWithoutWatchdogUsecOrForAnotherPid() throws {
    let dir = TempDir()
    let (server, config) = try setUp(dir)
    defer { server.stop() }
    let sock = NotifySocket(dir: dir)
    let daemon = try start(
      Binaries.takedownd, ["--config", config], in: dir,
      env: ["NOTIFY_SOCKET": sock.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
    #expect(try waitUntil { sock.messages.contains { $0.contains("STATUS=") && !$0.contains("checking") } })
    kill(daemon.process.processIdentifier, SIGTERM)
    _ = daemon.finish()
    #expect(!sock.messages.contains { $0.contains("WATCHDOG=1") })
  }

  @Test func sighupAppliesANewConfigAndKeepsTheOldOneWhenBroken() throws {
    let dir = TempDir()
    let (server, config) = try setUp(dir, userAgent: "ua-before")
    defer { server.stop() }
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    #expect(try waitUntil { server.requests().contains { $0.header("User-Agent") == "ua-before" } })
    try rewriteConfig(config, userAgent: "ua-after")
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(daemon.process.isRunning)
    #expect(try waitUntil { server.requests().contains { $0.header("User-Agent") == "ua-after" } }, "\(daemon.stdout)")
    #expect(daemon.stdout.contains("configuration reloaded"))

    try rewriteConfig(config, userAgent: "ua-broken", broken: true)
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { daemon.stdout.contains("reload refused") })
    #expect(daemon.stdout.contains("summary.intervall"))
    // The old configuration stays in force: requests keep coming, with the old agent.
    let before = server.requestCount
    #expect(try waitUntil { server.requestCount > before + 2 })
    #expect(!server.requests().contains { $0.header("User-Agent") == "ua-broken" })
    #expect(daemon.process.isRunning)
  }

  /// Debug logging for a while, without a restart: the level is part of the reload.
  @Test func sighupChangesTheLogLevel() throws {
    let dir = TempDir()
    let (server, config) = try setUp(dir)
    defer { server.stop() }
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    // Checks happen (every 200 ms) but "check finished" is a debug line: not at the default level.
    #expect(try waitUntil { server.requestCount >= 3 })
    #expect(!daemon.stdout.contains("check finished"))
    try rewriteConfig(config, userAgent: "ua-before", extra: "[log]\nlevel = \"debug\"")
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { daemon.stdout.contains("check finished") }, "\(daemon.stdout.suffix(2000))")
    #expect(daemon.stdout.contains("log level changed"))
    // And back: no more debug lines once the reload to "info" is logged.
    try rewriteConfig(config, userAgent: "ua-before", extra: "[log]\nlevel = \"info\"")
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { daemon.stdout.components(separatedBy: "configuration reloaded").count == 3 })
    let tail = daemon.stdout.components(separatedBy: "configuration reloaded").last ?? ""
    let before = server.requestCount
    #expect(try waitUntil { server.requestCount >= before + 3 })
    let after = daemon.stdout.components(separatedBy: "configuration reloaded").last ?? ""
    #expect(after.count >= tail.count)
    #expect(!after.contains("check finished"), "\(after.suffix(1000))")
  }

  @Test func eventsFollowPrintsATransitionAsItHappens() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/gone": .text(404, "no")])
    defer { server.stop() }
    let config = try writeConfig(in: dir)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "\(server.baseURL)/gone"], in: dir).status == 0)
    let follower = try start(Binaries.takedownctl, ["events", "--config", config, "--follow"], in: dir)
    defer { follower.terminate() }
    #expect(try run(Binaries.takedownd, ["--config", config, "--once"], in: dir).status == 0)
    #expect(try waitUntil { follower.stdout.contains("pending → taken_down") })
    #expect(follower.stdout.contains("http_404"))
    let all = try run(Binaries.takedownctl, ["events", "--config", config, "--json"], in: dir)
    let lines = all.stdout.split(separator: "\n")
    #expect(lines.count == 1)
    let obj = try jsonObject(String(lines[0]))
    #expect(obj["from"] as? String == "pending")
    #expect(obj["to"] as? String == "taken_down")
  }

  @Test func statusLogGetsEveryTransitionAndJournalLinesCarryPriorities() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "yes"), "/gone": .text(410, "no")])
    defer { server.stop() }
    let logPath = dir.path + "/transitions.jsonl"
    let config = try writeConfig(in: dir, extra: "[log]\nstatus_log = \"\(logPath)\"\n")
    let urls = ["\(server.baseURL)/ok", "\(server.baseURL)/gone"]
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config] + urls, in: dir).status == 0)
    let d = try start(Binaries.takedownd, ["--config", config, "--once"], in: dir, stdoutIsJournal: true)
    let done = d.finish()
    #expect(done.status == 0)
    let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 2)
    let tos = try lines.map { try jsonObject(String($0))["to"] as? String }
    #expect(Set(tos.compactMap { $0 }) == ["online", "taken_down"])
    let out = done.stdout.split(separator: "\n")
    #expect(out.contains { $0.hasPrefix("<6>summary ") && $0.contains(" overdue=0") && $0.contains(" newly_taken_down=1") })
    #expect(out.contains { $0.hasPrefix("<6>takedownd started") })
    #expect(!out.contains { $0.hasPrefix("<7>") })  // per-check detail is off by default
  }

  @Test func metricsEndpointMatchesTheDatabase() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/ok": .text(200, "yes"), "/gone": .text(404, "no")])
    defer { server.stop() }
    let config = try writeConfig(in: dir, extra: "[summary]\ninterval = \"200ms\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n")
    let urls = (0..<5).map { "\(server.baseURL)/ok?\($0)" } + (0..<3).map { "\(server.baseURL)/gone?\($0)" }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config] + urls, in: dir).status == 0)
    let d = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { d.terminate() }
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(try waitUntil { (try reader.countsByStatus()[.takenDown] ?? 0) == 3 })
    #expect(try waitUntil { d.stdout.contains("metrics endpoint listening") })
    let port = try #require(
      d.stdout.split(separator: "\n").first { $0.contains("metrics endpoint listening") }?
        .split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) })
    var body = ""
    // The URL gauges are refreshed at every summary (200 ms): wait for one after the last check.
    #expect(
      try waitUntil {
        body = try httpGet(port: port, path: "/metrics")
        return body.contains("takedown_urls{status=\"taken_down\"} 3")
      }, "\(body)")
    #expect(body.contains("takedown_urls{status=\"online\"} 5"))
    let okChecks = try reader.db.scalar("SELECT count(*) FROM checks WHERE reason = 'http_200'") ?? -1
    let goneChecks = try reader.db.scalar("SELECT count(*) FROM checks WHERE reason = 'http_404'") ?? -1
    #expect(body.contains("takedown_checks_total{observed=\"online\",reason=\"http_200\"} \(okChecks)"))
    #expect(body.contains("takedown_checks_total{observed=\"removed\",reason=\"http_404\"} \(goneChecks)"))
    #expect(body.contains("takedown_check_duration_seconds_bucket"))
    #expect(body.contains("takedown_summary_age_seconds"))
    #expect(body.contains("takedown_checks_in_flight"))
    #expect(try httpGet(port: port, path: "/other").contains("not found"))
  }

  /// `top -H`, `ps -L` and perf show what each thread is: the probe loop and the runner by name.
  @Test func threadsCarryTheirNamesForTheOperatingSystem() throws {
    let dir = TempDir()
    let (server, config) = try setUp(dir)
    defer { server.stop() }
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer {
      kill(daemon.process.processIdentifier, SIGTERM)
      _ = daemon.finish()
    }
    func names() -> Set<String> {
      let task = "/proc/\(daemon.process.processIdentifier)/task"
      let ids = (try? FileManager.default.contentsOfDirectory(atPath: task)) ?? []
      return Set(ids.compactMap { try? String(contentsOfFile: "\(task)/\($0)/comm", encoding: .utf8) }
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
    }
    let named = try waitUntil(timeout: .seconds(20)) { names().isSuperset(of: ["td-probe", "td-runner", "td-dns-check"]) }
    #expect(named, "threads: \(names().sorted())")
  }

  @Test func takedownctlFindsTheDatabaseOfTakedownConfigWithoutFlags() throws {
    let dir = TempDir()
    let config = try writeConfig(in: dir)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://a.example/1"], in: dir).status == 0)
    let elsewhere = TempDir()
    let s = try run(Binaries.takedownctl, ["summary", "--json"], in: elsewhere, env: ["TAKEDOWN_CONFIG": config])
    #expect(s.status == 0, "\(s.stderr)")
    #expect(try jsonObject(s.stdout)["total"] as? Int == 1)
    // Without it, the working directory's (absent) database: exit 66, nothing created.
    let none = try run(Binaries.takedownctl, ["summary"], in: elsewhere)
    #expect(none.status == 66)
  }
}
