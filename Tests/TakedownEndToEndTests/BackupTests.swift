import Foundation
import TakedownCore
import TestHTTPServer
import TestPostgres
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `takedownctl backup` with the real binaries, while a daemon checks a large queue at full speed on a
/// loopback site: the backup is one consistent snapshot, verified, and a daemon runs on its restore.
@Suite(.serialized) struct BackupEndToEndTests {
  static let urls = 12_000

  @Test(arguments: Backend.allCases)
  func aBackupDuringAFullSpeedRunIsConsistentAndRestores(_ backend: Backend) throws {
    let dir = TempDir()
    let server = try TestHTTPServer { req in
      req.path.hasPrefix("/gone/") ? TestResponse.text(404, "not found") : TestResponse.text(200, "the video")
    }
    defer { server.stop() }
    let database = try backend.newDatabase(in: dir)
    let config = try writeConfig(in: dir, concurrency: 100, database: database)
    let list = (0..<Self.urls).map { "\(server.baseURL)/\($0 % 3 == 0 ? "gone" : "ok")/\($0)" }.joined(separator: "\n")
    let enqueued = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "c1", "--file", "-"], stdin: Data(list.utf8),
      in: dir)
    #expect(enqueued.status == 0, "\(enqueued.stderr)")

    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    let live = try openStore(database)
    // The daemon is at work: some URLs checked, most not yet.
    #expect(try waitUntil(timeout: .seconds(60)) { (try live.countsByStatus()[.pending] ?? 0) < Self.urls - 200 })
    let file = dir.path + "/backup.bak"
    let backup = try run(Binaries.takedownctl, ["backup", "--config", config, file], in: dir)
    #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
    #expect(daemon.process.isRunning, "the daemon ran through the backup")
    #expect(backup.stdout.contains("  urls "), "\(backup.stdout)")
    #expect(backup.stdout.contains("verified"))
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/.backup.bak.tmp-\(daemon.process.processIdentifier)"))

    // Restore it as an operator would, into a database of its own, and look at the snapshot.
    let restored = try restore(backend, file, in: dir)
    let copy = try openStore(restored)
    let byStatus = try copy.countsByStatus()
    #expect(byStatus.values.reduce(0, +) == Self.urls, "every URL enqueued before the backup is in it")
    let pendingInCopy = byStatus[.pending] ?? 0
    #expect(pendingInCopy < Self.urls, "the copy holds checks")
    // One snapshot: the summary's tallies (kept by triggers and by the daemon's batches) equal a full
    // scan of the URLs, and the checks table holds exactly the checks the URLs count.
    let scan = try scanCounts(backend, restored)
    #expect(scan.checksCounted == scan.checkRows, "\(scan)")
    #expect(scan.byStatus == byStatus.filter { $0.value > 0 }.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value })
    // The daemon went on after the snapshot: the live queue is ahead of the copy.
    #expect(try waitUntil(timeout: .seconds(120)) { (try live.countsByStatus()[.pending] ?? 0) == 0 })
    let liveScan = try scanCounts(backend, database)
    #expect(liveScan.checkRows > scan.checkRows)
    // The printed counts are the copy's.
    let printed = backup.stdout.split(separator: "\n").first { $0.hasPrefix("  checks ") }
    #expect(printed?.hasSuffix(" \(scan.checkRows) rows") == true, "\(backup.stdout)")

    // A daemon runs on the restored copy and finishes what the snapshot had left. The copy still lists
    // the running daemon under this host's node name, so, as in a real restore, that one stops first.
    #expect(daemon.terminate().status == 0)
    let restoredConfig = try writeConfig(in: dir, concurrency: 100, database: restored, name: "restored.toml")
    let again = try run(Binaries.takedownd, ["--config", restoredConfig, "--once"], in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    let after = try copy.countsByStatus()
    #expect(after[.pending] ?? 0 == 0)
    #expect(after[.takenDown] == Self.urls / 3)
    #expect(after[.online] == Self.urls - Self.urls / 3)
  }

  /// What the operator does (README *Backups*): SQLite, copy the file into place; PostgreSQL, createdb
  /// and pg_restore.
  func restore(_ backend: Backend, _ file: String, in dir: TempDir) throws -> String {
    switch backend {
    case .sqlite:
      let path = dir.path + "/restored.sqlite"
      try FileManager.default.copyItem(atPath: file, toPath: path)
      let c = try SQLiteConnection(path: path, readOnly: true)
      let s = try c.statement("PRAGMA integrity_check")
      #expect(try s.step() && s.text(0) == "ok")
      s.reset()
      return path
    case .postgres:
      let cluster = try PostgresCluster.shared.get()
      let name = try cluster.createDatabase(prefix: "restored")
      let r = try run(
        cluster.binDirectoryPath + "/pg_restore",
        ["--no-owner", "--exit-on-error", "--dbname=\(cluster.connectionString(database: name))", file], in: dir)
      #expect(r.status == 0, "\(r.stderr)")
      return cluster.uri(database: name)
    }
  }

  struct Scan: CustomStringConvertible {
    var checkRows: Int64
    var checksCounted: Int64
    var byStatus: [String: Int]
    var description: String { "check rows \(checkRows), counted on urls \(checksCounted), \(byStatus)" }
  }

  /// Counts straight from the tables, not from the store's tallies.
  func scanCounts(_ backend: Backend, _ database: String) throws -> Scan {
    switch backend {
    case .sqlite:
      let c = try SQLiteConnection(path: database, readOnly: true)
      var by: [String: Int] = [:]
      let s = try c.statement("SELECT status, count(*) FROM urls GROUP BY status")
      while try s.step() { by[s.text(0)] = s.int(1) }
      s.reset()
      return Scan(
        checkRows: try c.scalar("SELECT count(*) FROM checks") ?? -1,
        checksCounted: try c.scalar("SELECT sum(checks) FROM urls") ?? -1, byStatus: by)
    case .postgres:
      let c = try postgresConnection(database)
      var by: [String: Int] = [:]
      let r = try c.execute("SELECT status, count(*) FROM urls GROUP BY status")
      for i in 0..<r.rowCount { by[r.text(i, 0) ?? ""] = Int(r.int64(i, 1) ?? 0) }
      return Scan(
        checkRows: try c.scalar("SELECT count(*) FROM checks") ?? -1,
        checksCounted: try c.scalar("SELECT sum(checks)::bigint FROM urls") ?? -1, byStatus: by)
    }
  }

  @Test(arguments: Backend.allCases)
  func refusals(_ backend: Backend) throws {
    let dir = TempDir()
    let database = try backend.newDatabase(in: dir)
    let config = try writeConfig(in: dir, database: database)
    let enqueued = try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://127.0.0.1:9/a"], in: dir)
    #expect(enqueued.status == 0, "\(enqueued.stderr)")

    // An existing file is not overwritten; --force replaces it.
    let existing = dir.path + "/existing.bak"
    try "keep me".write(toFile: existing, atomically: false, encoding: .utf8)
    let refused = try run(Binaries.takedownctl, ["backup", "--config", config, existing], in: dir)
    #expect(refused.status == 73, "\(refused.stderr)")
    #expect(refused.stderr.contains("\(existing) exists"), "\(refused.stderr)")
    #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
    let forced = try run(Binaries.takedownctl, ["backup", "--config", config, "--force", existing], in: dir)
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: existing)).count > 100)

    // A directory that does not exist, and a "directory" that is a file: cannot create (73), and
    // nothing is left behind.
    for target in [dir.path + "/no/such/dir/x.bak", existing + "/x.bak"] {
      let r = try run(Binaries.takedownctl, ["backup", "--config", config, target], in: dir)
      #expect(r.status == 73, "\(target): \(r.stderr)")
      #expect(r.stderr.contains("cannot create"), "\(r.stderr)")
    }
    // An unwritable directory (root may write anywhere, so only as another user).
    if geteuid() != 0 {
      let locked = dir.path + "/locked"
      try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
      chmod(locked, 0o555)
      defer { chmod(locked, 0o755) }
      let r = try run(Binaries.takedownctl, ["backup", "--config", config, locked + "/x.bak"], in: dir)
      #expect(r.status == 73, "\(r.stderr)")
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test func postgresWithoutAUsablePgDumpIsUnavailable() throws {
    let dir = TempDir()
    let database = try Backend.postgres.newDatabase(in: dir)
    let config = try writeConfig(in: dir, database: database)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://127.0.0.1:9/a"], in: dir).status == 0)
    let missing = try run(
      Binaries.takedownctl, ["backup", "--config", config, "--pg-dump", dir.path + "/nowhere/pg_dump", dir.path + "/a.dump"],
      in: dir)
    #expect(missing.status == 69, "\(missing.stderr)")
    #expect(missing.stderr.contains("pg_dump not found"), "\(missing.stderr)")
    // A pg_dump of an older major version than the server (a real program that says so).
    let old = dir.path + "/pg_dump"
    try "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n".write(toFile: old, atomically: false, encoding: .utf8)
    chmod(old, 0o755)
    let tooOld = try run(Binaries.takedownctl, ["backup", "--config", config, "--pg-dump", old, dir.path + "/b.dump"], in: dir)
    #expect(tooOld.status == 69, "\(tooOld.stderr)")
    #expect(tooOld.stderr.contains("version 9"), "\(tooOld.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/a.dump"))
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/b.dump"))
  }
}

extension BackupEndToEndTests {
  /// A password written in the URI never reaches pg_dump's command line (which `ps` shows every user):
  /// it goes in a PGPASSFILE of the backup's own. The real pg_dump runs behind a wrapper that notes what
  /// it was given; the test cluster trusts local connections, so the password itself is not checked.
  @Test func aPasswordInTheURIStaysOffPgDumpsCommandLine() throws {
    let dir = TempDir()
    let base = try Backend.postgres.newDatabase(in: dir)
    let config = try writeConfig(in: dir, database: base + "&password=s3cr%27et")
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://127.0.0.1:9/a"], in: dir).status == 0)
    let realDump = try #require(
      ["/usr/bin/pg_dump", "/usr/local/bin/pg_dump"].first { FileManager.default.isExecutableFile(atPath: $0) })
    let log = dir.path + "/pg_dump.log"
    let wrapper = dir.path + "/bin/pg_dump"
    try FileManager.default.createDirectory(atPath: dir.path + "/bin", withIntermediateDirectories: true)
    try """
      #!/bin/sh
      { echo "ARGS: $*"; [ -n "$PGPASSFILE" ] && echo "PASSFILE: $(cat "$PGPASSFILE")"; } >>'\(log)'
      exec '\(realDump)' "$@"
      """.write(toFile: wrapper, atomically: false, encoding: .utf8)
    chmod(wrapper, 0o755)
    let r = try run(Binaries.takedownctl, ["backup", "--config", config, "--pg-dump", wrapper, dir.path + "/q.dump"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let noted = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    let args = noted.split(separator: "\n").filter { $0.hasPrefix("ARGS:") && $0.contains("--snapshot") }
    #expect(args.count == 1, "\(noted)")
    #expect(!args.joined().contains("s3cr"), "\(noted)")
    #expect(noted.contains("PASSFILE: *:*:*:*:s3cr'et"), "\(noted)")
    #expect(!r.stdout.contains("s3cr") && !r.stderr.contains("s3cr"))
  }

  /// A database that is damaged (here: a check row whose URL is gone, written by a connection without
  /// foreign keys) gives a copy that fails foreign_key_check: exit 65, and no backup file.
  @Test func aDamagedSQLiteDatabaseFailsVerification() throws {
    let dir = TempDir()
    let config = try writeConfig(in: dir)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://127.0.0.1:9/a"], in: dir).status == 0)
    let raw = try SQLiteConnection(path: dir.path + "/takedown.sqlite")
    try raw.execute("PRAGMA foreign_keys = OFF")
    try raw.execute(
      """
      INSERT INTO checks(url_id, attempt, checked_at, observed, status, reason, curl_code, holder)
      VALUES (424242, 1, 0, 'online', 'online', 'http_200', 0, 'nobody')
      """)
    // A SQLite file that holds no queue at all is not takedown's.
    let other = dir.path + "/other.sqlite"
    try SQLiteConnection(path: other).execute("PRAGMA user_version = 7; CREATE TABLE t(x); DROP TABLE t")
    let notOurs = try run(Binaries.takedownctl, ["backup", "--db", other, dir.path + "/other.bak"], in: dir)
    #expect(notOurs.status == 78, "\(notOurs.stderr)")
    #expect(notOurs.stderr.contains("not a takedown database"), "\(notOurs.stderr)")
    let file = dir.path + "/damaged.bak"
    let r = try run(Binaries.takedownctl, ["backup", "--config", config, file], in: dir)
    #expect(r.status == 65, "\(r.stdout)\(r.stderr)")
    #expect(r.stderr.contains("foreign_key_check") && r.stderr.contains("checks"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: file))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }
}
