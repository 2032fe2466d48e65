import Foundation
import TakedownCore
import TestPostgres
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The libpq wrapper against a real PostgreSQL server (a private cluster on a Unix socket).
@Suite struct PostgresConnectionTests {
  let cluster: PostgresCluster
  let database: String

  init() throws {
    cluster = try PostgresCluster.shared.get()
    database = try cluster.createDatabase()
  }

  func connect() throws -> PostgresConnection {
    try PostgresConnection(cluster.connectionString(database: database))
  }

  @Test func parametersRoundTripWithoutQuoting() throws {
    let c = try connect()
    try c.execute("CREATE TABLE t (id bigint PRIMARY KEY, name text, flag boolean)")
    let hostile = "Robert'); DROP TABLE t;--\t\n\\ 中文 \u{1F600}"
    try c.execute("INSERT INTO t VALUES ($1, $2, $3), ($4, $5, $6)", [
      .int(Int64.max), .text(hostile), .bool(true), .int(-42), .null, .bool(false),
    ])
    let r = try c.execute("SELECT id, name, flag FROM t ORDER BY id")
    #expect(r.rowCount == 2)
    #expect(r.int64(0, 0) == -42)
    #expect(r.text(0, 1) == nil)
    #expect(r.isNull(0, 1))
    #expect(r.bool(0, 2) == false)
    #expect(r.int64(1, 0) == Int64.max)
    #expect(r.text(1, 1) == hostile)
    #expect(r.bool(1, 2) == true)
    #expect(try c.execute("SELECT count(*) FROM t").int64(0, 0) == 2)
  }

  @Test func errorsCarryTheSQLStateAndTheStatement() throws {
    let c = try connect()
    try c.execute("CREATE TABLE u (k text PRIMARY KEY)")
    try c.execute("INSERT INTO u VALUES ($1)", [.text("a")])
    do {
      try c.execute("INSERT INTO u VALUES ($1)", [.text("a")])
      Issue.record("a duplicate key was accepted")
    } catch {
      #expect(error.isUniqueViolation)
      #expect(error.sqlState == "23505")
      #expect(error.sql == "INSERT INTO u VALUES ($1)")
      #expect(!error.connectionLost)
      #expect(error.description.contains("duplicate key"))
    }
    // The connection is still usable after a statement error.
    #expect(try c.execute("SELECT 1").int64(0, 0) == 1)
    #expect(throws: PostgresError.self) { try c.execute("SELEKT 1") }
  }

  @Test func aFailedTransactionRollsBackEverything() throws {
    let c = try connect()
    try c.execute("CREATE TABLE v (k int PRIMARY KEY)")
    #expect(throws: PostgresError.self) {
      try c.transaction {
        try c.execute("INSERT INTO v VALUES (1)")
        try c.execute("INSERT INTO v VALUES (1)")
      }
    }
    #expect(try c.execute("SELECT count(*) FROM v").int64(0, 0) == 0)
    try c.transaction { try c.execute("INSERT INTO v VALUES (2)") }
    #expect(try c.execute("SELECT count(*) FROM v").int64(0, 0) == 1)
  }

  @Test func copyInStoresEveryRowExactly() throws {
    let c = try connect()
    try c.execute("CREATE TABLE w (id bigint, s text)")
    let tricky = ["plain", "tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", "", "ü中"]
    let rows = (0..<50_000).lazy.map { i -> [PostgresValue] in
      [.int(Int64(i)), i % 10 == 9 ? .null : .text(tricky[i % tricky.count])]
    }
    #expect(try c.copyIn("COPY w (id, s) FROM STDIN", rows: rows) == 50_000)
    let r = try c.execute("SELECT id, s FROM w WHERE id < 10 ORDER BY id")
    for i in 0..<10 {
      #expect(r.int64(i, 0) == Int64(i))
      #expect(r.text(i, 1) == (i == 9 ? nil : tricky[i % tricky.count]), "row \(i)")
    }
    #expect(try c.execute("SELECT count(*) FROM w WHERE s IS NULL").int64(0, 0) == 5_000)
    // A bad row fails the whole COPY, and the connection goes on.
    let bad: [[PostgresValue]] = [[.int(1), .text("ok")], [.text("not a number"), .text("x")]]
    #expect(throws: PostgresError.self) { try c.copyIn("COPY w (id, s) FROM STDIN", rows: bad) }
    #expect(try c.execute("SELECT count(*) FROM w").int64(0, 0) == 50_000)
  }

  @Test func skipLockedLetsTwoConnectionsClaimDisjointRows() throws {
    let a = try connect()
    let b = try connect()
    try a.execute("CREATE TABLE q (id int PRIMARY KEY, holder text)")
    try a.execute("INSERT INTO q SELECT g, NULL FROM generate_series(1, 100) g")
    let claim = """
      UPDATE q SET holder = $1 WHERE id IN (
        SELECT id FROM q WHERE holder IS NULL ORDER BY id LIMIT 60 FOR UPDATE SKIP LOCKED)
      RETURNING id
      """
    try a.execute("BEGIN")
    let first = try a.execute(claim, [.text("a")])
    // b does not wait for a's locks: it takes what a has not locked, at once.
    let second = try b.execute(claim, [.text("b")])
    try a.execute("COMMIT")
    #expect(first.rowCount == 60)
    #expect(second.rowCount == 40)
    let ids = Set((0..<first.rowCount).compactMap { first.int64($0, 0) })
    #expect(ids.isDisjoint(with: (0..<second.rowCount).compactMap { second.int64($0, 0) }))
  }

  /// The server ends an idle connection (pg_terminate_backend, a restart): the next call notices before
  /// sending anything and runs on a new connection.
  @Test func aTerminatedIdleConnectionIsReplacedOnTheNextCall() throws {
    let c = try connect()
    let admin = try connect()
    let pid = c.backendPID
    let session = c.session
    #expect(pid > 0)
    try admin.execute("SELECT pg_terminate_backend($1)", [.int(Int64(pid))])
    try awaitGone(pid, admin)
    #expect(try c.execute("SELECT 2").int64(0, 0) == 2)
    #expect(c.backendPID != pid)
    #expect(c.session == session + 1)
  }

  /// Inside a transaction a lost connection is an error, never a new connection: the statements after
  /// it would run outside the transaction. The call after the transaction reconnects.
  @Test func aConnectionLostInsideATransactionIsReported() throws {
    let c = try connect()
    let admin = try connect()
    let pid = c.backendPID
    do {
      try c.transaction {
        try c.execute("SELECT 1")
        try admin.execute("SELECT pg_terminate_backend($1)", [.int(Int64(pid))])
        try awaitGone(pid, admin)
        try c.execute("SELECT 2")
      }
      Issue.record("a terminated backend still answered")
    } catch let error as PostgresError {
      #expect(error.isServerUnavailable, "\(error)")
    }
    #expect(!c.isConnected)
    #expect(try c.execute("SELECT 3").int64(0, 0) == 3)
    #expect(c.backendPID != pid)
  }

  func awaitGone(_ pid: Int32, _ admin: PostgresConnection) throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [.int(Int64(pid))]).int64(0, 0) != 0 {
      #expect(ContinuousClock.now < deadline, "backend \(pid) still there")
      if ContinuousClock.now >= deadline { return }
      Thread.sleep(forTimeInterval: 0.01)
    }
  }

  /// An unreachable server is not hammered: after a failed connect, calls fail at once until the next
  /// attempt is due (1 s, doubling), then one connects.
  @Test func reconnectsAreSpacedWhileTheServerIsAway() throws {
    let c = try connect()
    let admin = try PostgresConnection(cluster.connectionString(database: "postgres"))
    // Forbid new connections to this database, then drop ours.
    let db = try c.execute("SELECT current_database()").text(0, 0)!
    try admin.execute("ALTER DATABASE \(db) ALLOW_CONNECTIONS false")
    defer { _ = try? admin.execute("ALTER DATABASE \(db) ALLOW_CONNECTIONS true") }
    let pid = c.backendPID
    try admin.execute("SELECT pg_terminate_backend($1)", [.int(Int64(pid))])
    try awaitGone(pid, admin)
    #expect(throws: PostgresError.self) { try c.execute("SELECT 1") }  // a connect attempt, refused
    let refused = ContinuousClock.now
    do {
      try c.execute("SELECT 1")
      Issue.record("connected to a database that allows no connections")
    } catch {
      #expect(error.connectionLost)
      #expect(error.message.contains("next connection attempt in"), "\(error)")
    }
    try admin.execute("ALTER DATABASE \(db) ALLOW_CONNECTIONS true")
    var answered = false
    while !answered && ContinuousClock.now < refused + .seconds(5) {
      answered = (try? c.execute("SELECT 4").int64(0, 0)) == 4
      if !answered { Thread.sleep(forTimeInterval: 0.05) }
    }
    #expect(answered)
    // Not before the first retry delay.
    #expect(ContinuousClock.now - refused >= .milliseconds(900))
  }

  @Test func connectingToNothingFailsWithAClearMessage() throws {
    let dir = NSTemporaryDirectory() + "takedown-nopg-" + UUID().uuidString.prefix(8)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
      _ = try PostgresConnection("host=\(dir) dbname=x user=postgres", connectTimeout: 2)
      Issue.record("connected to a directory with no server")
    } catch {
      #expect(error.connectionLost)
      #expect(error.isServerUnavailable)
      #expect(error.description.hasPrefix("cannot connect to PostgreSQL: "), "\(error)")
    }
  }

  @Test func aPasswordFromAFileOverridesTheConnectionString() throws {
    let admin = try connect()
    let role = "r_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    try admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'right'")
    // The cluster trusts local connections; a role's password is checked only under password auth, so
    // this checks that the keyword reaches libpq without breaking the connection string.
    let c = try PostgresConnection(
      "host=\(cluster.socketDirectory) dbname=\(database) user=\(role) password=wrong", password: "right")
    #expect(try c.execute("SELECT current_user").text(0, 0) == role)
  }
}
