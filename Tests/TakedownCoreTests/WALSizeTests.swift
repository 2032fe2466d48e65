import Foundation
import Testing

@testable import TakedownCore

/// The WAL of a SQLite queue grows while a long reader holds an old snapshot (checkpoints cannot pass
/// it), and must shrink back under `journal_size_limit` once the reader is gone and writing goes on.
/// Functional, not timed: the WAL's figures under a real daemon and a million-row export are
/// benchmark scenario 8.
@Suite struct WALSizeTests {
  func walSize(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
  }

  @Test func theWALIsTruncatedBackUnderTheLimitAfterALongReaderEnds() throws {
    let dir = TempDir()
    let path = dir.path + "/wal.sqlite"
    let store = try SQLiteStore(path: path)
    let limit = SQLiteStore.walSizeLimit
    try store.db.execute("CREATE TABLE filler (x BLOB)")
    func enqueue(_ n: Int, from: Int) throws {
      let items = try (from..<from + n).map {
        EnqueueItem(url: try URLNormalizer.normalize("http://a.test/\($0)").get(), report: ReportMetadata(campaign: "c"))
      }
      _ = try store.enqueue(items, now: 1)
    }
    try enqueue(100, from: 0)

    // A reader in the middle of a long read: its snapshot pins the WAL.
    let reader = try SQLiteConnection(path: path, readOnly: true)
    try reader.execute("BEGIN")
    #expect(try reader.scalar("SELECT count(*) FROM urls") == 100)
    // Twice the limit of commits (each one a transaction, as the daemon's batches are).
    let blob = 256 << 10
    for _ in 0..<(2 * limit / blob + 8) {
      try store.db.execute("INSERT INTO filler VALUES (zeroblob(\(blob)))")
    }
    try enqueue(100, from: 100)
    let peak = walSize(path)
    #expect(peak > limit, "the WAL grew past the limit while the reader held its snapshot: \(peak)")
    // The reader still sees its snapshot, not the writes after it.
    #expect(try reader.scalar("SELECT count(*) FROM urls") == 100)
    try reader.execute("COMMIT")

    // Ordinary writes go on: the automatic checkpoint copies the WAL back, the next commit starts it over,
    // and journal_size_limit truncates the file. A few commits are enough; not one more write is needed
    // per megabyte of WAL.
    var commits = 0
    while walSize(path) > limit && commits < 5 {
      try enqueue(10, from: 1000 + commits * 10)
      commits += 1
    }
    #expect(walSize(path) <= limit, "after \(commits) commits the WAL is \(walSize(path)) bytes, peak \(peak)")
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == Int64(200 + commits * 10))
  }
}
