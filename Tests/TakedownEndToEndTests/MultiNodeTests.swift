import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Several real daemons on one PostgreSQL queue (issue 13): they split the work with no coordinator of
/// ours, a node lost with kill -9 or stopped with SIGTERM costs nothing but time, and the record is
/// exactly what one daemon would have written.
@Suite(.serialized) struct MultiNodeTests {
  /// The server's answer for a test URL: every third one is gone (404: taken down after two removal
  /// checks), the rest are online.
  static func isGone(_ path: String) -> Bool { (Int(path.split(separator: "/").last ?? "") ?? 0) % 3 == 0 }

  @Test func threeDaemonsShareOneQueueThroughAKillAndAStop() throws {
    let dir = TempDir()
    let database = try Backend.postgres.newDatabase(in: dir)
    let server = try TestHTTPServer { req in Self.isGone(req.path) ? .text(404, "gone") : .text(200, "here") }
    defer { server.stop() }
    let count = 30_000
    let names = ["node-a", "node-b", "node-c"]
    // Thirty host names on the loopback server: a limited host is worked by one daemon at a time (its
    // host lease), so the work spreads over the daemons host by host. A short lease, so the killed
    // node's URLs come back within seconds; rechecks far away, so that every URL ends with exactly the
    // checks its status needs (online 1, taken down 2).
    let hosts = (0..<30).map { "h\($0).multi.test" }
    let resolve = hosts.map { "\"\($0):\(server.port):127.0.0.1\"" }.joined(separator: ", ")
    let configs = try names.map { name in
      let path = dir.path + "/\(name).toml"
      try """
        database = "\(database)"
        node_name = "\(name)"
        [probe]
        concurrency = 32
        per_host_connections = 8
        connect_timeout = "2s"
        timeout = "2s"
        allow_private_addresses = true
        shutdown_grace = "2s"
        resolve = [\(resolve)]
        [schedule]
        confirmations = 2
        confirm_interval = "0s"
        recheck_interval = "1d"
        watch_interval = "1d"
        lease = "4s"
        """.write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }
    let list = (0..<count).map { "http://\(hosts[$0 % hosts.count]):\(server.port)/item/\($0)" }.joined(separator: "\n")
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", configs[0], "--campaign", "multi", "--file", "-"],
      stdin: Data(list.utf8), in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    #expect(enq.stdout.contains("new \(count),"), "\(enq.stdout)")

    let pg = try postgresConnection(database)
    func scalar(_ sql: String) throws -> Int64 { try pg.execute(sql).int64(0, 0) ?? -1 }
    let daemons = try configs.map { try start(Binaries.takedownd, ["--config", $0], in: dir) }
    defer { for d in daemons where d.process.isRunning { d.terminate() } }

    // Node A dies without a word once a fifth of the work is recorded.
    #expect(try waitUntil(timeout: .seconds(120)) { try scalar("SELECT count(*) FROM checks") >= 8_000 })
    kill(daemons[0].process.processIdentifier, SIGKILL)
    _ = daemons[0].finish()
    // Node B is stopped properly at half: it releases what it holds and exits 0.
    #expect(try waitUntil(timeout: .seconds(120)) { try scalar("SELECT count(*) FROM checks") >= 20_000 })
    let stopped = daemons[1].terminate(grace: .seconds(20))
    #expect(stopped.status == 0, "\(stopped.stderr)")
    // Node C finishes the queue, taking over A's URLs when their leases run out.
    let done = try waitUntil(timeout: .seconds(180)) {
      let open = try scalar("SELECT count(*) FROM urls WHERE status = 'pending' OR lease_holder IS NOT NULL")
      return try open == 0 && scalar("SELECT count(*) FROM urls WHERE status = 'taken_down'") == Int64(count / 3)
    }
    let checksSoFar = try scalar("SELECT count(*) FROM checks")
    #expect(done, "queue not finished: \(checksSoFar) checks")
    let last = daemons[2].terminate(grace: .seconds(20))
    #expect(last.status == 0, "\(last.stderr)")

    // Every URL has the right status and exactly the checks it needed.
    let rows = try pg.execute("SELECT url, status, reason, checks FROM urls")
    #expect(rows.rowCount == count)
    var wrong: [String] = []
    for i in 0..<rows.rowCount {
      let url = rows.text(i, 0) ?? ""
      let gone = Self.isGone(url)
      let ok =
        rows.text(i, 1) == (gone ? "taken_down" : "online") && rows.text(i, 2) == (gone ? "http_404" : "http_200")
        && rows.int64(i, 3) == (gone ? 2 : 1)
      if !ok && wrong.count < 5 { wrong.append("\(url): \(rows.text(i, 1) ?? "") \(rows.text(i, 2) ?? "") \(rows.int64(i, 3) ?? 0)") }
    }
    #expect(wrong.isEmpty, "\(wrong)")
    #expect(try scalar("SELECT count(*) FROM checks") == Int64(count + count / 3))
    // No attempt was recorded twice (the UNIQUE constraint would have refused it; no node even tried),
    // and every check row matches its URL's count.
    #expect(try scalar("SELECT count(*) FROM (SELECT 1 FROM checks GROUP BY url_id, attempt HAVING count(*) > 1) d") == 0)
    #expect(try scalar("SELECT count(*) FROM urls u WHERE checks <> (SELECT count(*) FROM checks c WHERE c.url_id = u.id)") == 0)
    // The work was spread over the three nodes, and a URL's two removal checks often over two of them.
    let byNode = try pg.execute("SELECT holder, count(*) FROM checks GROUP BY holder ORDER BY holder")
    #expect((0..<byNode.rowCount).compactMap { byNode.text($0, 0) } == names)
    for i in 0..<byNode.rowCount { #expect((byNode.int64(i, 1) ?? 0) >= 1_000, "\(byNode.text(i, 0) ?? "")") }
    #expect(try scalar("SELECT count(*) FROM (SELECT url_id FROM checks GROUP BY url_id HAVING count(DISTINCT holder) > 1) d") > 0)
    // One event per status change: pending → online, or pending → … → taken_down.
    #expect(try scalar("SELECT count(*) FROM events WHERE to_status = 'taken_down'") == Int64(count / 3))
    #expect(try scalar("SELECT count(*) FROM events WHERE to_status = 'online'") == Int64(count - count / 3))

    // The kept tallies equal a full scan, and takedownctl reads the same from the shared queue.
    let store = try openStore(database)
    let kept = try store.summaryFigures(ReportFilter(), now: Timestamp.nowMs())
    let scanned = try store.figures(ReportFilter(), now: Timestamp.nowMs())
    #expect(kept.byStatus == scanned.byStatus)
    #expect(kept.takenDown == scanned.takenDown)
    #expect(kept.firstTakenDown == scanned.firstTakenDown)
    #expect(kept.reappeared == scanned.reappeared)
    #expect(scanned.byStatus[.takenDown] == count / 3)
    #expect(scanned.byStatus[.online] == count - count / 3)
    let summary = try run(Binaries.takedownctl, ["summary", "--config", configs[2], "--json"], in: dir)
    #expect(summary.status == 0, "\(summary.stderr)")
    let obj = try jsonObject(summary.stdout)
    let byStatus = try #require(obj["by_status"] as? [String: Any])
    #expect(byStatus["taken_down"] as? Int == count / 3)
  }
}
