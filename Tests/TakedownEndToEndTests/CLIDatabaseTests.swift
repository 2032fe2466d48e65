import Foundation
import TakedownCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// How takedownctl finds, opens and waits for its database.
@Suite struct CLIDatabaseTests {
  @Test func aWriterWaitingForTheLockSaysSoAndGoesOnOnceItIsFree() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--db", db, "http://a.example/v"], in: dir).status == 0)
    // Another writer (here: this test, with a real SQLite connection) holds the write lock.
    let holder = try SQLiteConnection(path: db)
    try holder.execute("BEGIN IMMEDIATE")
    var held = true
    defer { if held { try? holder.execute("ROLLBACK") } }
    let p = try start(Binaries.takedownctl, ["enqueue", "--db", db, "http://b.example/v"], in: dir)
    let message = "database is locked by another writer; waiting up to 60 s"
    let said = try waitUntil(timeout: .seconds(20)) { p.stderr.contains(message) }
    #expect(said, "stderr: \(p.stderr)")
    #expect(p.process.isRunning, "it must still wait, not give up")
    try holder.execute("COMMIT")
    held = false
    let r = p.finish()
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("new 1, already queued 0"))
    #expect(r.stderr.components(separatedBy: message).count == 2, "said once: \(r.stderr)")
  }
}

extension CLIDatabaseTests {
  /// $TAKEDOWN_CONFIG names the service's config: its relative `database` is the service's (in
  /// $STATE_DIRECTORY, else /var/lib/takedownd), never a file that happens to be in the current directory.
  @Test func takedownConfigResolvesARelativeDatabaseAsTheServiceDoes() throws {
    let dir = TempDir()
    let name = "rel-\(UUID().uuidString.prefix(8)).sqlite"
    let config = dir.path + "/rel.toml"
    try "database = \"\(name)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
    // A database of that name in the current directory, which must not be the one read.
    #expect(try run(Binaries.takedownctl, ["enqueue", "--db", name, "http://cwd.example/1"], in: dir).status == 0)
    let service = "/var/lib/takedownd/" + name
    try #require(!FileManager.default.fileExists(atPath: service))
    let r = try run(Binaries.takedownctl, ["summary", "--json"], in: dir, env: ["TAKEDOWN_CONFIG": config])
    #expect(r.status == 66, "read \(r.stdout)")
    #expect(r.stderr.contains("no database at \(service)"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: service), "a reading command created \(service)")
    // Under systemd (or with STATE_DIRECTORY set by hand), the state directory's database.
    let state = TempDir()
    #expect(
      try run(Binaries.takedownctl, ["enqueue", "--db", state.path + "/" + name, "http://s.example/1", "http://s.example/2"], in: dir)
        .status == 0)
    let s = try run(
      Binaries.takedownctl, ["summary", "--json"], in: dir, env: ["TAKEDOWN_CONFIG": config, "STATE_DIRECTORY": state.path])
    #expect(s.status == 0, "\(s.stderr)")
    #expect(try jsonObject(s.stdout)["total"] as? Int == 2)
    // An explicit --config of another file reads like `takedownd --config FILE` by hand: the current directory.
    let explicit = try run(Binaries.takedownctl, ["summary", "--json", "--config", config], in: dir)
    #expect(explicit.status == 0, "\(explicit.stderr)")
    #expect(try jsonObject(explicit.stdout)["total"] as? Int == 1)
  }
}

/// A user who may read the database but write neither it nor its directory (tests run as root, and root
/// ignores permissions: the binary runs as `nobody` through runuser).
enum Unprivileged {
  static let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  static var available: Bool { getuid() != 0 || (runuser != nil && getpwnam("nobody") != nil) }

  /// Runs takedownctl as `nobody` (or as this user, when that is not root already).
  static func takedownctl(_ args: [String], in dir: TempDir) throws -> Finished {
    if getuid() != 0 { return try run(Binaries.takedownctl, args, in: dir) }
    return try run(try #require(runuser), ["-u", "nobody", "--", Binaries.takedownctl] + args, in: dir)
  }
}

extension CLIDatabaseTests {
  /// Random bytes, a text file, another program's SQLite database, and a newer takedown's database: both
  /// tools say what is wrong and exit 78, and leave the file as it was.
  @Test func aFileThatIsNotAUsableTakedownDatabaseIsRefusedWithOneCodeByBothTools() throws {
    let dir = TempDir()
    var random = [UInt8](repeating: 0, count: 8192)
    for i in random.indices { random[i] = UInt8.random(in: 0...255) }
    let files: [(String, String)] = [
      ("random.sqlite", "not a takedown database: "), ("text.sqlite", "not a takedown database: "),
      ("other.sqlite", "not a takedown database: "), ("newer.sqlite", "created by a newer takedown: schema 0099_future unknown, upgrade the binaries"),
    ]
    _ = FileManager.default.createFile(atPath: dir.path + "/random.sqlite", contents: Data(random))
    try "url\nhttp://a.example/\n".write(toFile: dir.path + "/text.sqlite", atomically: true, encoding: .utf8)
    do {
      let other = try SQLiteConnection(path: dir.path + "/other.sqlite")
      try other.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('x')")
    }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--db", "newer.sqlite", "http://a.example/"], in: dir).status == 0)
    do {
      let newer = try SQLiteConnection(path: dir.path + "/newer.sqlite")
      try newer.execute("INSERT INTO schema_migrations(name, applied_at) VALUES ('0099_future', 0)")
    }
    for (file, message) in files {
      let path = dir.path + "/" + file
      let before = try Data(contentsOf: URL(fileURLWithPath: path))
      for args in [["summary"], ["list", "--json"], ["enqueue", "http://b.example/"], ["cancel", "1"]] {
        let r = try run(Binaries.takedownctl, args + ["--db", file], in: dir)
        #expect(r.status == 78, "takedownctl \(args[0]) on \(file): \(r.status) \(r.stderr)")
        #expect(r.stderr.contains(message), "takedownctl \(args[0]) on \(file): \(r.stderr)")
        #expect(!r.stderr.contains("SQL logic error"))
      }
      let d = try run(Binaries.takedownd, ["--db", file, "--once"], in: dir)
      #expect(d.status == 78, "takedownd on \(file): \(d.status) \(d.stdout) \(d.stderr)")
      #expect((d.stdout + d.stderr).contains(message), "takedownd on \(file): \(d.stdout) \(d.stderr)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(file) was changed")
    }
    // The unit does not restart a daemon for the code it exits with.
    let unit = try String(contentsOfFile: "systemd/takedownd.service", encoding: .utf8)
    let prevent = unit.split(separator: "\n").first { $0.hasPrefix("RestartPreventExitStatus=") }
    #expect(prevent?.split(separator: "=").last?.split(separator: " ").contains("78") == true)
  }

  /// An empty file is what `touch` or a failed copy leaves: reading commands say so (66) and leave it
  /// empty; only a writing command makes a database of it.
  @Test func anEmptyFileIsNoDatabaseForReadingCommands() throws {
    let dir = TempDir()
    let path = dir.path + "/empty.sqlite"
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    for args in [["summary"], ["summary", "--json"], ["list"], ["status", "1"], ["export"], ["events"], ["cancel", "1"]] {
      let r = try run(Binaries.takedownctl, args + ["--db", path], in: dir)
      #expect(r.status == 66, "\(args[0]): \(r.status) \(r.stderr)")
      #expect(r.stderr.contains("the file is empty (0 bytes)"), "\(args[0]): \(r.stderr)")
      let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
      #expect(size == 0, "\(args[0]) wrote into the empty file")
    }
    let enq = try run(Binaries.takedownctl, ["enqueue", "--db", path, "http://a.example/"], in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    #expect(try run(Binaries.takedownctl, ["summary", "--db", path], in: dir).status == 0)
  }

  @Test func aDirectoryGivenAsInputIsAnInputThatCannotBeRead() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    let e = try run(Binaries.takedownctl, ["enqueue", "--db", db, "--file", dir.path], in: dir)
    #expect(e.status == 66, "\(e.stderr)")
    #expect(e.stderr.contains("cannot read \(dir.path): Is a directory"), "\(e.stderr)")
    let i = try run(Binaries.takedownctl, ["import", "--db", db, "--csv", dir.path], in: dir)
    #expect(i.status == 66, "\(i.stderr)")
    #expect(i.stderr.contains("cannot read \(dir.path): Is a directory"), "\(i.stderr)")
  }

  /// A WAL database the user may read in a directory the user may not write: every reading command
  /// works, with no -wal/-shm files (nobody is writing) and while a writer holds them open.
  @Test(.enabled(if: Unprivileged.available, "needs a user other than root: runuser and the user 'nobody'"))
  func readingCommandsReadADatabaseTheyMayNotWrite() throws {
    let dir = TempDir()
    let sub = dir.path + "/ro"
    try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
    defer { chmod(sub, 0o755) }  // so that the temporary directory can be removed
    chmod(dir.path, 0o755)
    chmod(sub, 0o755)
    let db = sub + "/takedown.sqlite"
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--db", db, "--campaign", "c", "http://a.example/1", "http://b.example/2"], in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    chmod(db, 0o644)
    #expect(!FileManager.default.fileExists(atPath: db + "-wal"), "no writer: no -wal file")
    let commands: [[String]] = [
      ["summary", "--json"], ["summary", "--campaign", "c"], ["list", "--json"], ["status", "1"], ["history", "1"],
      ["evidence", "1"], ["events"], ["export"], ["report", "--html", "-"],
    ]
    func readAll(_ when: String) throws {
      for args in commands {
        let r = try Unprivileged.takedownctl(args + ["--db", db], in: dir)
        #expect(r.status == 0, "\(when): takedownctl \(args.joined(separator: " ")): \(r.status) \(r.stderr)")
      }
      let s = try Unprivileged.takedownctl(["summary", "--json", "--db", db], in: dir)
      #expect(try jsonObject(s.stdout)["total"] as? Int == 2, "\(when)")
    }
    // Not even its owner may write the directory (when the suite does not run as root, the reader is the owner).
    chmod(sub, 0o555)
    try readAll("without -wal/-shm")
    chmod(sub, 0o755)
    // A writer at work (its -wal and -shm exist, readable like the database): reads see its commits.
    let writer = try SQLiteConnection(path: db)
    try writer.execute("PRAGMA journal_mode = WAL")
    _ = try writer.scalar("SELECT count(*) FROM urls")
    #expect(FileManager.default.fileExists(atPath: db + "-shm"))
    try readAll("with a writer")
    // Nothing was created in the directory by the reads.
    let names = try FileManager.default.contentsOfDirectory(atPath: sub).sorted()
    #expect(names == ["takedown.sqlite", "takedown.sqlite-shm", "takedown.sqlite-wal"], "\(names)")
  }
}

extension CLIDatabaseTests {
  /// A SQLite file with no tables (`sqlite3 x.db 'PRAGMA user_version = 1'`) is no queue yet: a reading
  /// command says so and does not make one of it.
  @Test func aReadingCommandDoesNotMigrateAnEmptySQLiteFileIntoADatabase() throws {
    let dir = TempDir()
    let path = dir.path + "/blank.sqlite"
    try SQLiteConnection(path: path).execute("PRAGMA user_version = 1")
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    let r = try run(Binaries.takedownctl, ["summary", "--db", path], in: dir)
    #expect(r.status == 66, "\(r.stderr)")
    #expect(r.stderr.contains("no database at \(path)"), "\(r.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
  }
}
