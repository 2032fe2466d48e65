import Foundation
import TakedownCore
import TestHTTPServer
import TestPostgres
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Real daemons on one PostgreSQL queue (issue 13): node names, a node paused past its leases, and the
/// server failing under a running daemon.
///
/// FAULT TESTS (each under ~30 s): SIGSTOP/SIGCONT of a daemon; pg_terminate_backend, a crash-restart
/// and a stopped server under a daemon (a private cluster of its own, so other tests keep theirs).
@Suite(.serialized) struct PostgresSharedQueueTests {
  /// A database on the test run's shared cluster, and a connection to read it.
  func newDatabase(_ cluster: PostgresCluster) throws -> (uri: String, reader: PostgresConnection) {
    let name = try cluster.createDatabase(prefix: "e2e")
    return (cluster.uri(database: name), try PostgresConnection(cluster.connectionString(database: name)))
  }

  func int(_ c: PostgresConnection, _ sql: String) throws -> Int64 { try c.execute(sql).int64(0, 0) ?? 0 }

  func enqueue(_ urls: [String], config: String, in dir: TempDir) throws {
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: Data(urls.joined(separator: "\n").utf8),
      in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
  }

  /// What every shared-queue test ends with: one check row per attempt (the lease fence), each URL's
  /// check count equal to its rows (nothing counted twice or lost), no lease left.
  func expectConsistent(_ c: PostgresConnection, _ context: String = "") throws {
    #expect(try int(c, "SELECT count(*) FROM (SELECT 1 FROM checks GROUP BY url_id, attempt HAVING count(*) > 1) d") == 0)
    #expect(
      try int(c, "SELECT count(*) FROM urls u WHERE checks <> (SELECT count(*) FROM checks c WHERE c.url_id = u.id)") == 0,
      "\(context)")
    #expect(try int(c, "SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL") == 0, "\(context)")
  }

  /// A daemon that stopped cleanly, or (until the PostgreSQL reading side lands) one whose final summary
  /// could not be read back.
  func expectStopped(_ f: Finished) {
    #expect(f.status == 0 || f.stderr.contains("not implemented yet"), "exit \(f.status): \(f.stderr.suffix(500))")
  }

  @Test func aSecondDaemonUnderALiveNodeNameIsRefusedWith75() throws {
    let dir = TempDir()
    let cluster = try PostgresCluster.shared.get()
    let (uri, reader) = try newDatabase(cluster)
    let config = try writeReliabilityConfig(in: dir, database: uri, nodeName: "same")
    let first = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { first.terminate() }
    #expect(try waitUntil { (try? int(reader, "SELECT count(*) FROM nodes WHERE name = 'same' AND stopped_at IS NULL")) == 1 })
    let second = try run(Binaries.takedownd, ["--config", config], in: dir)
    #expect(second.status == 75)
    #expect((second.stdout + second.stderr).contains("another takedownd named 'same' is alive"), "\(second.stdout)")
    #expect(first.process.isRunning)
    // Its registration is untouched, and a clean stop frees the name.
    expectStopped(first.terminate())
    #expect(try int(reader, "SELECT count(*) FROM nodes WHERE name = 'same' AND stopped_at IS NOT NULL") == 1)
    let third = try start(Binaries.takedownd, ["--config", config], in: dir)
    #expect(try waitUntil { (try? int(reader, "SELECT count(*) FROM nodes WHERE name = 'same' AND stopped_at IS NULL")) == 1 })
    expectStopped(third.terminate())
  }

  /// `takedownctl nodes` lists the daemons of a queue, running and then stopped (both backends).
  @Test(arguments: Backend.allCases) func nodesListsTheDaemonsOfTheQueue(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    let config = try writeConfig(in: dir, database: database, top: "node_name = \"lister\"")
    let text = try String(contentsOfFile: config, encoding: .utf8)
    try text.replacingOccurrences(of: "[probe]\n", with: "[probe]\nvantage = \"eu-1\"\n").write(
      toFile: config, atomically: true, encoding: .utf8)
    try enqueue(["http://127.0.0.1:9/x"], config: config, in: dir)
    func listed() throws -> [[String: Any]] {
      let out = try run(Binaries.takedownctl, ["nodes", "--config", config, "--json"], in: dir)
      #expect(out.status == 0, "\(out.stderr)")
      return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]])
    }
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    #expect(try waitUntil { try listed().first?["state"] as? String == "running" }, "\(daemon.stdout)")
    let node = try #require(try listed().first)
    #expect(node["name"] as? String == "lister")
    #expect(node["vantage"] as? String == "eu-1")
    #expect(node["version"] as? String == TakedownVersion.current)
    #expect(node["host"] as? String == DatabaseLocation.hostName())
    daemon.terminate()
    #expect(try listed().first?["state"] as? String == "stopped")
    let table = try run(Binaries.takedownctl, ["nodes", "--config", config], in: dir)
    #expect(table.stdout.hasPrefix("NAME"))
    #expect(table.stdout.contains("lister  stopped"), "\(table.stdout)")
  }

  /// A node paused (SIGSTOP: a GC pause, a frozen VM) past its leases must not record over the node that
  /// took its URLs: its late results are dropped by the lease fence, none of its check rows carries an
  /// attempt that was taken over, and every URL ends right.
  @Test func aPausedNodeRecordsNothingOverItsSuccessor() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { req in
      TestResponse(status: req.path.hasSuffix("1") ? 404 : 200, body: Array("x".utf8), delay: .milliseconds(300))
    }
    defer { server.stop() }
    let cluster = try PostgresCluster.shared.get()
    let (uri, reader) = try newDatabase(cluster)
    let configA = try writeReliabilityConfig(in: dir, database: uri, nodeName: "node-a", concurrency: 30, lease: "3s", name: "a.toml")
    let configB = try writeReliabilityConfig(in: dir, database: uri, nodeName: "node-b", concurrency: 30, lease: "3s", name: "b.toml")
    let urls = (0..<300).map { "\(server.baseURL)/item/\($0)" }
    try enqueue(urls, config: configA, in: dir)

    let a = try start(Binaries.takedownd, ["--config", configA], in: dir)
    defer { kill(a.process.processIdentifier, SIGCONT) }
    #expect(
      try waitUntil {
        try int(reader, "SELECT count(*) FROM checks") >= 20
          && int(reader, "SELECT count(*) FROM urls WHERE lease_holder = 'node-a'") >= 20
      })
    kill(a.process.processIdentifier, SIGSTOP)
    let held = try reader.execute("SELECT id, attempt FROM urls WHERE lease_holder = 'node-a'")
    let stopped = (0..<held.rowCount).map { (held.int64($0, 0)!, held.int64($0, 1)!) }
    #expect(stopped.count >= 20)
    let pairs = stopped.map { "(\($0.0), \($0.1))" }.joined(separator: ", ")
    let ids = stopped.map { "\($0.0)" }.joined(separator: ", ")

    // Once a's leases run out, b takes those URLs over and records them.
    let b = try start(Binaries.takedownd, ["--config", configB], in: dir)
    defer { b.terminate() }
    #expect(
      try waitUntil {
        try int(reader, "SELECT count(DISTINCT url_id) FROM checks WHERE holder = 'node-b' AND url_id IN (\(ids))")
          == stopped.count
      }, "\(b.stdout.suffix(1000))")
    kill(a.process.processIdentifier, SIGCONT)
    // a wakes up with the results of checks it started before the pause, and must drop them.
    #expect(try waitUntil { a.stdout.contains("results dropped: lease lost before recording") }, "\(a.stdout.suffix(2000))")
    #expect(
      try waitUntil {
        try int(reader, "SELECT count(*) FROM urls WHERE status = 'taken_down'") == 30
          && int(reader, "SELECT count(*) FROM urls WHERE status = 'online'") == 270
      })
    expectStopped(a.terminate())
    expectStopped(b.terminate())

    #expect(try int(reader, "SELECT count(*) FROM checks WHERE holder = 'node-a' AND (url_id, attempt) IN (\(pairs))") == 0)
    #expect(try int(reader, "SELECT count(*) FROM checks WHERE holder = 'node-b'") > 0)
    try expectConsistent(reader)
    // 404s were confirmed by two checks, 200s checked once: no check was recorded twice or lost.
    #expect(try int(reader, "SELECT count(*) FROM checks") == 270 + 30 * 2)
    let nodes = try reader.execute("SELECT name, stopped_at IS NOT NULL FROM nodes ORDER BY name")
    #expect(nodes.rowCount == 2)
    #expect((0..<2).allSatisfy { nodes.bool($0, 1) == true })
  }

  /// The server fails under a running daemon: its connection killed (pg_terminate_backend), a crash and
  /// restart, then stopped for four seconds. The daemon logs each outage once (a warning, then a notice
  /// when it is back), keeps its results until it can write them, records no database failure as a
  /// check, and ends with every URL checked exactly once.
  @Test func aDaemonCarriesOnThroughAKilledConnectionARestartAndAnOutage() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { _ in TestResponse(status: 200, body: Array("x".utf8), delay: .milliseconds(100)) }
    defer { server.stop() }
    let cluster = try PostgresCluster.makePrivate()
    defer { cluster.shutdown() }
    let name = try cluster.createDatabase(prefix: "fault")
    let admin = try PostgresConnection(cluster.connectionString(database: name))
    // Commits must survive the crash (the test cluster commits asynchronously by default).
    try admin.execute("ALTER DATABASE \(name) SET synchronous_commit = on")
    let config = try writeReliabilityConfig(
      in: dir, database: cluster.uri(database: name), nodeName: "faulty", concurrency: 20, lease: "5s")
    let total = 1200
    try enqueue((0..<total).map { "\(server.baseURL)/item/\($0)" }, config: config, in: dir)
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    // The admin connection goes down with the server too; it reconnects on its next call.
    func checks() -> Int64 { (try? int(admin, "SELECT count(*) FROM checks")) ?? -1 }

    #expect(try waitUntil { checks() >= 150 })
    try admin.execute(
      """
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
      """)
    let afterKill = checks()
    #expect(try waitUntil { checks() >= afterKill + 150 }, "no checks recorded after the connection was killed")

    try cluster.restart()
    let afterRestart = checks()
    #expect(try waitUntil { checks() >= afterRestart + 150 }, "no checks recorded after the restart: \(daemon.stdout.suffix(1500))")

    try cluster.stopServer()
    // The outage itself: a span of time, nothing to await.
    Thread.sleep(forTimeInterval: 4)
    #expect(daemon.process.isRunning)
    try cluster.start()
    #expect(
      try waitUntil(timeout: .seconds(40)) { (try? int(admin, "SELECT count(*) FROM urls WHERE status = 'online'")) == Int64(total) },
      "\(daemon.stdout.suffix(2000))")
    let log = daemon.stdout
    expectStopped(daemon.terminate())

    try expectConsistent(admin)
    #expect(try int(admin, "SELECT count(*) FROM checks") == Int64(total))
    #expect(try int(admin, "SELECT count(*) FROM checks WHERE observed <> 'online'") == 0)
    let outages = log.components(separatedBy: "database unreachable").count - 1
    let recoveries = log.components(separatedBy: "database available again").count - 1
    #expect(outages >= 1 && outages <= 3, "\(log.suffix(3000))")
    #expect(recoveries == outages, "\(log.suffix(3000))")
    #expect(!log.contains("cannot record results"), "\(log.suffix(3000))")
  }
}
