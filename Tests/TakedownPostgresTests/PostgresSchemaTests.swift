import Foundation
import TakedownCore
import TestPostgres
import Testing

/// The PostgreSQL schema's migrations against a real server: once each, serialized between daemons that
/// start together, and a newer schema refused as the SQLite store refuses it.
@Suite struct PostgresSchemaTests {
  let cluster: PostgresCluster
  let database: String

  init() throws {
    cluster = try PostgresCluster.shared.get()
    database = try cluster.createDatabase(prefix: "schema")
  }

  func connect() throws -> PostgresConnection {
    try PostgresConnection(cluster.connectionString(database: database))
  }

  @Test func migratingTwiceAppliesEachMigrationOnce() throws {
    let c = try connect()
    #expect(try PostgresSchema.migrate(c, now: 1) == PostgresSchema.names)
    #expect(try PostgresSchema.migrate(c, now: 2) == [])
    #expect(try c.execute("SELECT count(*) FROM schema_migrations").int64(0, 0) == Int64(PostgresSchema.names.count))
    for table in ["urls", "reports", "checks", "events", "summaries", "daemon_state", "nodes"] {
      #expect(try c.execute("SELECT to_regclass($1) IS NOT NULL", [.text(table)]).bool(0, 0) == true, "\(table)")
    }
    // The fencing the queue relies on holds here too: one check row per (URL, attempt).
    try c.execute("INSERT INTO urls (url, host, created_at) VALUES ('http://a.example/', 'a.example', 0)")
    let insert = """
      INSERT INTO checks (url_id, attempt, checked_at, observed, status, reason, curl_code, holder)
      VALUES (1, 7, 0, 'online', 'online', 'http_200', 0, $1)
      """
    try c.execute(insert, [.text("node-a")])
    #expect(throws: PostgresError.self) { try c.execute(insert, [.text("node-b")]) }
  }

  @Test func daemonsStartingTogetherMigrateExactlyOnce() async throws {
    let conns = try (0..<4).map { _ in try connect() }
    let applied = try await withThrowingTaskGroup(of: [String].self) { group in
      for c in conns {
        nonisolated(unsafe) let c = c
        group.addTask { try PostgresSchema.migrate(c, now: 1) }
      }
      var all: [[String]] = []
      for try await names in group { all.append(names) }
      return all
    }
    // One of them applied everything, the others found it done (none failed on "already exists").
    #expect(applied.filter { !$0.isEmpty } == [PostgresSchema.names])
    #expect(applied.filter(\.isEmpty).count == 3)
    #expect(try conns[0].execute("SELECT count(*) FROM schema_migrations").int64(0, 0) == Int64(PostgresSchema.names.count))
  }

  @Test func aNewerSchemaIsRefusedWithTheSameMessageAsSQLite() throws {
    let c = try connect()
    try PostgresSchema.migrate(c, now: 1)
    try c.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)")
    do {
      try PostgresSchema.migrate(c, now: 2)
      Issue.record("a newer schema was accepted")
    } catch let e as StoreError {
      #expect(e.exitCode == .config)
      #expect(e.description.contains("was created by a newer takedown: schema 9999_future unknown, upgrade the binaries"))
      #expect(e.description.contains("dbname=\(database)"))
    }
    // Nothing was changed by the refused attempt.
    #expect(try c.execute("SELECT count(*) FROM schema_migrations").int64(0, 0) == Int64(PostgresSchema.names.count + 1))
  }

  @Test(arguments: [
    ("postgresql://takedown:s3cret@db.internal/takedown?sslmode=verify-full",
     "postgresql://takedown:***@db.internal/takedown?sslmode=verify-full"),
    ("postgres://u:p%40ss@h:5432/d", "postgres://u:***@h:5432/d"),
    ("postgresql://takedown@db.internal/takedown", "postgresql://takedown@db.internal/takedown"),
    ("postgresql:///takedown?host=/run/postgresql&password=s3cret&sslmode=disable",
     "postgresql:///takedown?host=/run/postgresql&password=***&sslmode=disable"),
    ("host=db user=takedown password=s3cret dbname=takedown", "host=db user=takedown password=*** dbname=takedown"),
  ])
  func connectionStringsInMessagesNeverShowThePassword(_ given: String, _ shown: String) {
    #expect(PostgresConnection.redacted(given) == shown)
    #expect(!PostgresConnection.redacted(given).contains("s3cret"))
  }

  /// What another program (pg_dump) gets on its command line: libpq's own parse, minus the password,
  /// which is returned decoded for a PGPASSFILE. The result parses back to the same settings.
  @Test(arguments: [
    ("postgresql://takedown:s3cr%27e%5Ct@db.internal:5433/takedown?sslmode=verify-full", "s3cr'e\\t",
     ["user='takedown'", "host='db.internal'", "port='5433'", "sslmode='verify-full'"]),
    ("postgresql:///takedown?host=/run/postgresql&password=s3cret&sslmode=disable", "s3cret",
     ["host='/run/postgresql'", "sslmode='disable'"]),
    ("host=db user=takedown password='s3 cret' dbname=takedown", "s3 cret", ["host='db'", "user='takedown'"]),
    ("postgresql://takedown@db.internal/takedown", nil, ["user='takedown'", "host='db.internal'"]),
  ] as [(String, String?, [String])])
  func aCommandLineGetsTheConnectionWithoutItsPassword(_ given: String, _ password: String?, _ kept: [String]) throws {
    let (conninfo, found) = try #require(PostgresConnection.withoutPassword(given))
    #expect(found == password)
    #expect(!conninfo.contains("s3"), "\(conninfo)")
    let again = try #require(PostgresConnection.withoutPassword(conninfo))
    #expect(again.conninfo == conninfo && again.password == nil)
    for part in kept + ["dbname='takedown'"] {
      #expect(conninfo.contains(part), "\(part) in \(conninfo)")
    }
    #expect(PostgresConnection.withoutPassword("postgresql://[broken") == nil)
  }
}
