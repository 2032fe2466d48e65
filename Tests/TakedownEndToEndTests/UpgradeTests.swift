import Foundation
import TakedownCore
import TestPostgres
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A queue written by the previous release (Tests/Fixtures, made by make-upgrade-fixture.sh with the
/// binaries of the commit in upgrade-v1.commit) opened by this one: migrated to this binary's newest
/// schema, every row of every table as it was, the commands and the daemon working on it.
@Suite struct UpgradeTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path
  /// The fixture's site, as its URLs name it (nothing listens there during the tests).
  static let v = "http://video.example:47231"
  static let f = "http://files.example:47231"
  /// The tables whose rows a migration must keep (the derived ones, tallies and the like, may be rebuilt).
  static let kept = ["urls", "reports", "checks", "events", "summaries", "nodes", "daemon_state"]

  /// A fresh copy of the fixture: the SQLite file copied, or the plain-SQL dump restored with psql into a
  /// new database of the test cluster.
  func fixtureDatabase(_ backend: Backend, in dir: TempDir) throws -> String {
    switch backend {
    case .sqlite:
      let path = dir.path + "/upgrade.sqlite"
      try FileManager.default.copyItem(atPath: Self.fixtures + "/upgrade-v1.sqlite", toPath: path)
      return path
    case .postgres:
      let cluster = try PostgresCluster.shared.get()
      let name = try cluster.createDatabase(prefix: "upgrade")
      let r = try run(
        cluster.binDirectoryPath + "/psql",
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.connectionString(database: name), "-f",
          Self.fixtures + "/upgrade-v1-postgres.sql"], in: dir)
      #expect(r.status == 0, "\(r.stderr)")
      return cluster.uri(database: name)
    }
  }

  /// Every row of the kept tables, as text, in the columns the old schema had, before any new code ran.
  func snapshot(_ backend: Backend, _ database: String, columns: [String: [String]]? = nil) throws
    -> (columns: [String: [String]], rows: [String: [String]], migrations: [String])
  {
    var cols: [String: [String]] = columns ?? [:]
    var rows: [String: [String]] = [:]
    var migrations: [String] = []
    switch backend {
    case .sqlite:
      let c = try SQLiteConnection(path: database, readOnly: true)
      for t in Self.kept {
        if columns == nil {
          let info = try c.statement("SELECT name FROM pragma_table_info('\(t)') ORDER BY cid")
          while try info.step() { cols[t, default: []].append(info.text(0)) }
          info.reset()
        }
        let list = (cols[t] ?? []).map { "quote(\($0))" }.joined(separator: " || '|' || ")
        let s = try c.statement("SELECT \(list) FROM \(t) ORDER BY 1")
        while try s.step() { rows[t, default: []].append(s.text(0)) }
        s.reset()
      }
      let m = try c.statement("SELECT name FROM schema_migrations ORDER BY name")
      while try m.step() { migrations.append(m.text(0)) }
      m.reset()
    case .postgres:
      let c = try postgresConnection(database)
      for t in Self.kept {
        if columns == nil {
          let info = try c.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            [.text(t)])
          for i in 0..<info.rowCount { cols[t, default: []].append(info.text(i, 0) ?? "") }
        }
        let list = (cols[t] ?? []).map { "coalesce(\($0)::text, 'NULL')" }.joined(separator: ", ")
        let r = try c.execute("SELECT concat_ws('|', \(list)) FROM \(t) ORDER BY 1")
        for i in 0..<r.rowCount { rows[t, default: []].append(r.text(i, 0) ?? "") }
      }
      let m = try c.execute("SELECT name FROM schema_migrations ORDER BY name")
      for i in 0..<m.rowCount { migrations.append(m.text(i, 0) ?? "") }
    }
    return (cols, rows, migrations)
  }

  @Test(arguments: Backend.allCases)
  func thePreviousReleasesQueueMigratesWithEveryRowIntact(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try fixtureDatabase(backend, in: dir)
    let before = try snapshot(backend, database)
    // What the fixture script made (see its header), so that a broken fixture fails here too.
    #expect(before.rows["urls"]?.count == 12)
    #expect(before.rows["reports"]?.count == 15)
    #expect(before.rows["nodes"]?.count == 1)
    #expect((before.rows["checks"]?.count ?? 0) >= 25)
    #expect((before.rows["events"]?.count ?? 0) >= 14)
    #expect((before.rows["summaries"]?.count ?? 0) >= 2)

    // The first command of the new binary migrates it.
    let summary = try run(Binaries.takedownctl, ["summary", "--json", "--db", database], in: dir)
    #expect(summary.status == 0, "\(summary.stderr)")
    let after = try snapshot(backend, database, columns: before.columns)
    let newest = backend == .sqlite ? SQLiteStore.migrationNames : PostgresSchema.names
    #expect(after.migrations == newest.sorted(), "migrated to this binary's newest schema")
    #expect(Set(before.migrations).isSubset(of: Set(after.migrations)))
    for t in Self.kept {
      #expect(after.rows[t] == before.rows[t], "table \(t): every row as it was")
    }

    // Known content, through the new code.
    let json = try jsonObject(summary.stdout)
    #expect(json["total"] as? Int == 12)
    let totals = try #require(json["by_status"] as? [String: Any], "\(summary.stdout)")
    let expected = ["pending": 1, "online": 3, "taken_down": 5, "unreachable": 1, "reappeared": 1, "cancelled": 1]
    for (status, n) in expected { #expect(totals[status] as? Int == n, "\(status): \(totals)") }
    let store = try openStore(database)
    for (path, status, reason) in [
      ("\(Self.v)/gone/1", URLStatus.takenDown, "http_404"), ("\(Self.f)/451/1", .takenDown, "http_451"),
      ("\(Self.f)/marker/1", .takenDown, "removal_marker"), ("\(Self.f)/moved/1", .online, "http_200"),
      ("\(Self.f)/error/1", .unreachable, "http_5xx"), ("\(Self.v)/flip/1", .reappeared, "http_200"),
      ("\(Self.v)/flip/2", .cancelled, nil), ("\(Self.v)/new/1", .pending, nil),
    ] as [(String, URLStatus, String?)] {
      let rec = try #require(try store.lookup(path), "\(path)")
      #expect(rec.status == status, "\(path)")
      if let reason { #expect(rec.reason == reason, "\(path)") }
    }
    let gone = try #require(try store.lookup("\(Self.v)/gone/1"))
    let reports = try store.reports(urlID: gone.id)
    #expect(Set(reports.compactMap(\.campaign)) == ["spring-2026", "autumn-2026"])
    #expect(reports.contains { $0.notice == "DMCA-2" && $0.rightholder == "Studio A" && $0.work == "The Film" })
    let marker = try #require(try store.lookup("\(Self.f)/marker/1"))
    let history = try store.history(urlID: marker.id)
    #expect(history.count >= 2)
    #expect(history.allSatisfy { $0.vantage == "fixture-vantage" })
    #expect(history.last?.matched == "has been removed")

    // The reading commands work on it.
    let export = try run(Binaries.takedownctl, ["export", "--db", database, "--format", "csv"], in: dir)
    #expect(export.status == 0, "\(export.stderr)")
    #expect(export.stdout.split(separator: "\r\n").count == 1 + 15, "a header and one row per report")
    #expect(export.stdout.contains("Platform") && export.stdout.contains("T-10"))
    let moved = try run(Binaries.takedownctl, ["history", "--db", database, "--json", "\(Self.f)/moved/1"], in: dir)
    #expect(moved.status == 0, "\(moved.stderr)")
    #expect(moved.stdout.contains("/ok/1"), "the redirect's evidence")
    let nodes = try run(Binaries.takedownctl, ["nodes", "--db", database], in: dir)
    #expect(nodes.status == 0 && nodes.stdout.contains("fixture-node"), "\(nodes.stdout)\(nodes.stderr)")
    let events = try run(Binaries.takedownctl, ["events", "--db", database, "--json"], in: dir)
    #expect(events.status == 0 && events.stdout.contains("reappeared"), "\(events.stderr)")
    let cancel = try run(Binaries.takedownctl, ["reactivate", "--db", database, "\(Self.v)/flip/2"], in: dir)
    #expect(cancel.status == 0, "\(cancel.stderr)")

    // The daemon runs on it: every URL that is not cancelled is due (the fixture is old) and gets a check;
    // nothing listens on the fixture's port, so each check is a transient failure, which is fine here.
    let config = try writeConfig(in: dir, confirmations: 1, database: database)
    let withResolve = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
      of: "[probe]\n", with: "[probe]\nresolve = [\"video.example:47231:127.0.0.1\", \"files.example:47231:127.0.0.1\"]\n")
    try withResolve.write(toFile: config, atomically: true, encoding: .utf8)
    let checksBefore = try store.history(urlID: gone.id).count
    let daemon = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(daemon.status == 0, "\(daemon.stderr)")
    #expect(try store.history(urlID: gone.id).count > checksBefore)
    #expect(try store.lookup("\(Self.v)/new/1")?.status != .pending)
    let final = try snapshot(backend, database, columns: before.columns)
    #expect(final.rows["reports"] == before.rows["reports"])
    #expect((final.rows["checks"]?.count ?? 0) > (before.rows["checks"]?.count ?? 0))
  }
}
