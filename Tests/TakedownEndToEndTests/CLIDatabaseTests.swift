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
