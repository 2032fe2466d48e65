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
