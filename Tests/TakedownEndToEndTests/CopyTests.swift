import Foundation
import TakedownCore
import TestHTTPServer
import TestPostgres
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `takedownctl copy` with the real binaries: a SQLite queue the daemon worked on goes into PostgreSQL,
/// and every reading command prints the same against either; a copy killed half way leaves nothing,
/// and running it again completes it; every refusal names what is wrong, with its sysexits code.
@Suite(.serialized) struct CopyEndToEndTests {
  /// A new, empty PostgreSQL database: its `postgresql://` URI.
  func newTarget() throws -> String { try Backend.postgres.newDatabase(in: TempDir()) }

  @Test func aCopiedQueueReadsTheSameThroughEveryCommand() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: [
      "/ok": .text(200, "the video"), "/gone": .text(404, "not found"), "/error": .text(503, "busy"),
      "/moved": .redirect(301, to: "/ok"),
    ])
    defer { server.stop() }
    let config = try writeConfig(in: dir)
    let base = server.baseURL
    // An import with extra columns and campaigns a collation would order otherwise, then a plain enqueue.
    var csv = "url,campaign,notice,reported_at,deadline,Platform,Ticket\n"
    for i in 0..<40 {
      let path = ["ok", "gone", "error", "moved"][i % 4]
      let campaign = ["spring", "Spring", "älpha", "alpha", ""][i % 5]
      csv += "\(base)/\(path)?v=\(i),\(campaign),N-\(i % 3),2026-03-0\(1 + i % 9),\(i % 2 == 0 ? "2026-03-20" : ""),yt \(i),T-\(i)\n"
    }
    let imported = try run(Binaries.takedownctl, ["import", "--config", config, "--csv", "-"], stdin: Data(csv.utf8), in: dir)
    #expect(imported.status == 0, "\(imported.stderr)")
    let enqueued = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "autumn", "--deadline", "2026-01-01", "--file", "-"],
      stdin: Data((0..<20).map { "\(base)/\(["ok", "gone"][$0 % 2])?w=\($0)" }.joined(separator: "\n").utf8), in: dir)
    #expect(enqueued.status == 0, "\(enqueued.stderr)")
    let daemon = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(daemon.status == 0, "\(daemon.stderr)")
    let cancelled = try run(Binaries.takedownctl, ["cancel", "--config", config, "\(base)/ok?w=0"], in: dir)
    #expect(cancelled.status == 0)

    let target = try newTarget()
    let copy = try run(Binaries.takedownctl, ["copy", "--config", config, "--to", target], in: dir)
    #expect(copy.status == 0, "\(copy.stderr)")
    let reports = try openStore(dir.path + "/takedown.sqlite")
    let urlCount = try reports.countsByStatus().values.reduce(0, +)
    #expect(copy.stdout.contains("urls           \(urlCount) of \(urlCount)\n"), "\(copy.stdout)")
    #expect(copy.stdout.contains("copied \(dir.path)/takedown.sqlite into "))
    #expect(!copy.stdout.contains("password"))

    let pgConfig = try writeConfig(in: dir, database: target, name: "pg.toml")
    let file = ["--config", config]
    let pg = ["--config", pgConfig]
    let commands: [[String]] = [
      ["status", "\(base)/gone?v=1"], ["status", "--json", "\(base)/GONE?v=1".replacingOccurrences(of: "GONE", with: "gone")],
      ["status", "3"], ["list"], ["list", "--json"], ["list", "--campaign", "Spring", "--status", "taken_down"],
      ["list", "--host", "127.0.0.1", "--limit", "5"], ["history", "2"], ["history", "--json", "\(base)/moved?v=3"],
      ["evidence", "\(base)/gone?v=1"], ["evidence", "--json", "5"],
      ["export"], ["export", "--format", "json"], ["export", "--format", "jsonl", "--campaign", "älpha"],
      ["export", "--status", "taken_down", "--reported-since", "2026-03-04"],
      ["report", "--html", "-"], ["status", "nowhere"], ["history", "999"],
      ["summary"], ["summary", "--json"], ["summary", "--campaign", "autumn"], ["summary", "--host", "127.0.0.1", "--json"],
      ["events"], ["events", "--json"], ["events", "--since", "2020-01-01"],
    ]
    for c in commands {
      let a = try run(Binaries.takedownctl, [c[0]] + file + Array(c.dropFirst()), in: dir)
      let b = try run(Binaries.takedownctl, [c[0]] + pg + Array(c.dropFirst()), in: dir)
      #expect(a.status == b.status, "\(c)")
      #expect(withoutClock(a.stdout) == withoutClock(b.stdout), "\(c)")
      #expect(a.stderr == b.stderr, "\(c)")
      #expect(!a.stdout.isEmpty || a.status != 0, "\(c)")
    }
  }

  /// The time the output was made at (and the window it closes) is the one thing that may differ
  /// between two runs.
  func withoutClock(_ s: String) -> String {
    s.split(separator: "\n", omittingEmptySubsequences: false).filter {
      !$0.contains("generated") && !$0.contains("Generated") && !$0.contains("\"until\":")
        && !$0.contains("<title>Takedown report")
    }.joined(separator: "\n")
  }

  @Test func aCopyKilledHalfWayLeavesNothingAndARerunCompletesIt() throws {
    let dir = TempDir()
    let path = dir.path + "/big.sqlite"
    let n = 200_000
    try Self.bigQueue(at: path, urls: n)
    let target = try newTarget()
    let c = try postgresConnection(target)
    let copy = try start(Binaries.takedownctl, ["copy", "--db", path, "--to", target], in: dir)
    // Killed while rows stream in: the server has the COPY running.
    let streaming = try waitUntil(timeout: .seconds(60)) {
      (try c.scalar("SELECT count(*) FROM pg_stat_progress_copy WHERE tuples_processed > 1000") ?? 0) > 0
    }
    #expect(streaming)
    kill(copy.process.processIdentifier, SIGKILL)
    let killed = copy.finish()
    #expect(killed.status != 0)
    // Nothing arrived: the copy was one transaction (the server rolls it back when its client is gone).
    #expect(try c.scalar("SELECT count(*) FROM urls") == 0)
    #expect(try c.scalar("SELECT count(*) FROM reports") == 0)
    let again = try run(Binaries.takedownctl, ["copy", "--db", path, "--to", target], in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stdout.contains("urls           \(n) of \(n)\n"), "\(again.stdout)")
    #expect(again.stdout.contains("checks         \(n / 4) of \(n / 4)\n"), "\(again.stdout)")
    #expect(try c.scalar("SELECT count(*) FROM urls") == Int64(n))
    // The ids are the source's, and a new URL's id comes after them.
    #expect(try c.scalar("SELECT max(id) FROM urls") == Int64(n))
    #expect(try c.scalar("SELECT nextval(pg_get_serial_sequence('urls', 'id'))") == Int64(n + 1))
    // And the tallies were built in the target: the summary counts every URL.
    let summary = try run(Binaries.takedownctl, ["report", "--db", target, "--html", "-"], in: dir)
    #expect(summary.status == 0, "\(summary.stderr)")
    // Run once more: the target holds this very copy; nothing is written, exit 0.
    let third = try run(Binaries.takedownctl, ["copy", "--db", path, "--to", target], in: dir)
    #expect(third.status == 0, "\(third.stderr)")
    #expect(third.stdout.contains("already holds this copy"))
  }

  @Test func refusalsNameWhatIsWrong() throws {
    let dir = TempDir()
    let path = dir.path + "/q.sqlite"
    try Self.bigQueue(at: path, urls: 10)
    let target = try newTarget()
    // Not a PostgreSQL target: usage.
    let notPG = try run(Binaries.takedownctl, ["copy", "--db", path, "--to", dir.path + "/x.sqlite"], in: dir)
    #expect(notPG.status == 64)
    #expect(notPG.stderr.contains("is not a postgresql:// URI"))
    // No source.
    let missing = try run(Binaries.takedownctl, ["copy", "--db", dir.path + "/none.sqlite", "--to", target], in: dir)
    #expect(missing.status == 66)
    #expect(missing.stderr.contains("no database at \(dir.path)/none.sqlite"))
    // A PostgreSQL source.
    let fromPG = try run(Binaries.takedownctl, ["copy", "--db", target, "--to", target], in: dir)
    #expect(fromPG.status == 64)
    // A daemon on the source (it holds the file's lock): try again later.
    do {
      let lock = try DatabaseLock(databasePath: path)
      let busy = try run(Binaries.takedownctl, ["copy", "--db", path, "--to", target], in: dir)
      #expect(busy.status == 75)
      #expect(busy.stderr.contains("takedownd is running on \(path): stop it first"))
      _ = lock
    }
    #expect(try postgresConnection(target).scalar("SELECT count(*) FROM urls") == 0)
    // Leases a dead daemon left are dropped, and said so.
    let db = try SQLiteConnection(path: path)
    try db.execute("UPDATE urls SET lease_holder = 'dead', lease_until = 5, next_check_at = 5 WHERE id <= 3")
    let copied = try run(Binaries.takedownctl, ["copy", "--db", path, "--to", target], in: dir)
    #expect(copied.status == 0, "\(copied.stderr)")
    #expect(copied.stdout.contains("leases dropped: 3"))
    #expect(try postgresConnection(target).scalar("SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL") == 0)
    #expect(try postgresConnection(target).scalar("SELECT count(*) FROM urls WHERE next_check_at = 5") == 3)
    // Another queue into it: refused, the target untouched.
    let other = dir.path + "/other.sqlite"
    try Self.bigQueue(at: other, urls: 5)
    let refused = try run(Binaries.takedownctl, ["copy", "--db", other, "--to", target], in: dir)
    #expect(refused.status == 73)
    #expect(refused.stderr.contains("already holds a queue (urls 10, reports 10, checks 10, events 7, daemon_state 1)"))
    #expect(!refused.stderr.contains("password"))
    #expect(try postgresConnection(target).scalar("SELECT count(*) FROM urls") == 10)
  }

  /// A queue of `urls` URLs, each with a report, a quarter of them (all of a small one) with a check and
  /// an event, written directly (fast).
  static func bigQueue(at path: String, urls n: Int) throws {
    _ = try SQLiteStore(path: path)
    let db = try SQLiteConnection(path: path)
    try db.execute(
      """
      BEGIN;
      WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < \(n))
      INSERT INTO urls (id, url, host, created_at, status, reason, http_status, last_checked_at, taken_down_at,
        first_taken_down_at, checks, first_reported_at, deadline_at, next_check_at, attempt)
      SELECT n, 'http://h' || (n % 97) || '.test/watch?v=' || n, 'h' || (n % 97) || '.test', 0,
        CASE n % 3 WHEN 0 THEN 'taken_down' WHEN 1 THEN 'online' ELSE 'pending' END,
        CASE n % 3 WHEN 0 THEN 'http_404' WHEN 1 THEN 'http_200' END, CASE n % 3 WHEN 0 THEN 404 WHEN 1 THEN 200 END,
        1000, CASE n % 3 WHEN 0 THEN 1000 END, CASE n % 3 WHEN 0 THEN 1000 END, 1, 10, CASE WHEN n % 2 = 0 THEN 500 END,
        86400000, 1
      FROM i;
      INSERT INTO reports (url_id, reported_at, campaign, notice, created_at, extra)
        SELECT id, 10, 'c' || (id % 7), 'N-' || id, 0, '{"k":"v' || id || '"}' FROM urls;
      INSERT INTO checks (url_id, attempt, checked_at, observed, status, reason, http_status, curl_code, holder,
        headers)
        SELECT id, 1, 1000, CASE WHEN status = 'online' THEN 'online' ELSE 'removed' END, status, ifnull(reason, 'timeout'),
          http_status, 0, 'n', '{"server":"x"}' FROM urls WHERE id % 4 = 0 OR \(n) < 1000;
      INSERT INTO events (url_id, at, from_status, to_status, reason)
        SELECT id, 1000, 'pending', status, reason FROM urls WHERE status <> 'pending' AND (id % 4 = 0 OR \(n) < 1000);
      INSERT INTO daemon_state (key, value) VALUES ('status_log.event_id', 3);
      COMMIT;
      """)
  }
}
