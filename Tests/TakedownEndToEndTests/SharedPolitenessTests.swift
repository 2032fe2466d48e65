import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Politeness is global on a shared queue (issue 13): a host rule's `rate` and `max_connections` hold
/// for all daemons together, measured where it matters, at the server.
@Suite(.serialized) struct SharedPolitenessTests {
  /// Three daemons, one PostgreSQL queue: what a server sees from all of them together.
  struct Fleet {
    let dir = TempDir()
    let database: String
    var configs: [String] = []
    var daemons: [Running] = []

    init(port: Int, hosts: [String], rules: String) throws {
      database = try Backend.postgres.newDatabase(in: dir)
      let resolve = hosts.map { "\"\($0):\(port):127.0.0.1\"" }.joined(separator: ", ")
      for name in ["pa", "pb", "pc"] {
        let path = dir.path + "/\(name).toml"
        try """
          database = "\(database)"
          node_name = "\(name)"
          [probe]
          concurrency = 20
          per_host_connections = 20
          connect_timeout = "2s"
          timeout = "5s"
          allow_private_addresses = true
          shutdown_grace = "2s"
          resolve = [\(resolve)]
          [schedule]
          confirmations = 1
          recheck_interval = "1d"
          lease = "10s"
          # Small claims, so that every daemon gets URLs of every host (one claim must not take a
          # host's whole share, or the test could not tell shared limits from a lucky split).
          batch_size = 3
          \(rules)
          """.write(toFile: path, atomically: true, encoding: .utf8)
        configs.append(path)
      }
    }

    mutating func run(_ urls: [String]) throws {
      let enq = try TakedownEndToEndTests.run(
        Binaries.takedownctl, ["enqueue", "--config", configs[0], "--file", "-"],
        stdin: Data(urls.joined(separator: "\n").utf8), in: dir)
      #expect(enq.status == 0, "\(enq.stderr)")
      daemons = try configs.map { try start(Binaries.takedownd, ["--config", $0], in: dir) }
      let pg = try postgresConnection(database)
      let done = try waitUntil(timeout: .seconds(120)) {
        try pg.execute("SELECT count(*) FROM urls WHERE status = 'pending' OR lease_holder IS NOT NULL").int64(0, 0) == 0
      }
      #expect(done, "the daemons did not finish")
      for d in daemons {
        let f = d.terminate(grace: .seconds(20))
        #expect(f.status == 0, "\(f.stderr)")
      }
    }
  }

  @Test func aRateHoldsForThreeDaemonsTogether() throws {
    let server = try TestHTTPServer { _ in .text(200, "ok") }
    defer { server.stop() }
    let hosts = ["a.rate.test", "b.rate.test"] + (0..<6).map { "free\($0).test" }
    var fleet = try Fleet(
      port: server.port, hosts: hosts,
      rules: """
        [[rule]]
        hosts = ["*.rate.test"]
        rate = 5
        """)
    let limited = ["a.rate.test", "b.rate.test"].flatMap { h in (0..<20).map { "http://\(h):\(server.port)/v/\($0)" } }
    let free = (0..<6).flatMap { h in (0..<40).map { "http://free\(h).test:\(server.port)/v/\($0)" } }
    try fleet.run(limited + free)
    for host in ["a.rate.test", "b.rate.test"] {
      let times = server.requests().filter { $0.host?.hasPrefix(host) == true }.map(\.wallClock).sorted()
      #expect(times.count == 20, "\(host)")
      // 5/s for all three daemons together: in any window of t seconds at most 5·t + 1 requests (one
      // request of arrival jitter; a second daemon working the host at once would double the count).
      for i in times.indices {
        for j in times.indices where j > i {
          #expect(Double(j - i) <= 5 * (times[j] - times[i]) + 1.0 + 1e-6, "\(host): \(j - i) requests in \(times[j] - times[i]) s")
        }
      }
    }
    // The free hosts were worked by more than one daemon: the lease is per host, not for everything.
    let pg = try postgresConnection(fleet.database)
    let holders = try pg.execute("SELECT count(DISTINCT holder) FROM checks c JOIN urls u ON u.id = c.url_id WHERE u.host LIKE 'free%'")
    #expect((holders.int64(0, 0) ?? 0) >= 2)
  }

  @Test func maxConnectionsHoldsForThreeDaemonsTogether() throws {
    // Each answer takes 300 ms: a request occupies the server from its arrival for about that long.
    let server = try TestHTTPServer { _ in TestResponse(status: 200, body: Array("ok".utf8), delay: .milliseconds(300)) }
    defer { server.stop() }
    var fleet = try Fleet(
      port: server.port, hosts: ["c.conn.test"],
      rules: """
        [[rule]]
        hosts = ["c.conn.test"]
        max_connections = 2
        """)
    try fleet.run((0..<24).map { "http://c.conn.test:\(server.port)/v/\($0)" })
    let starts = server.requests().map(\.wallClock).sorted()
    #expect(starts.count == 24)
    // At no arrival were more than 2 requests within the 250 ms before it (3 would mean a third
    // connection: all daemons together hold at most 2).
    for (i, t) in starts.enumerated() {
      let busy = starts[..<i].filter { t - $0 < 0.25 }.count + 1
      #expect(busy <= 2, "\(busy) requests at once at \(t)")
    }
    // 24 requests, 2 at a time, 0.3 s each: at least 3.6 s from the first to the last answer.
    #expect(starts.last! - starts.first! >= 11 * 0.3 * 0.95)
  }
}
