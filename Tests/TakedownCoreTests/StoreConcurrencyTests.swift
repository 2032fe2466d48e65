import Foundation
import TestPostgres
import Testing

@testable import TakedownCore

/// Several writers on one queue (daemons on several machines, an operator's commands): what must hold
/// whatever the interleaving. Each writer has a connection (a store) of its own, as each process does.
@Suite struct StoreConcurrencyTests {
  let dir = TempDir()

  func items(_ n: Int, host: String = "a.test") throws -> [EnqueueItem] {
    try (0..<n).map { EnqueueItem(url: try URLNormalizer.normalize("http://\(host)/\($0)").get(), report: ReportMetadata()) }
  }

  /// Threads on their own connections claim concurrently until nothing is due: every URL is handed out
  /// exactly once, attempt 1 each (no URL claimed twice, none lost).
  @Test(arguments: Backend.allCases) func concurrentClaimsNeverHandOutAURLTwice(_ backend: Backend) throws {
    let (store, database) = try backend.newStore(in: dir)
    let total = 2000
    _ = try store.enqueue(try items(total), now: 0)
    let claimers = 8
    // Each store is used by its one thread only.
    nonisolated(unsafe) let stores = try (0..<claimers).map { _ in try StoreOpener.open(database) }
    let claimed = Locked<[ClaimedURL]>([])
    let failures = Locked<[String]>([])
    DispatchQueue.concurrentPerform(iterations: claimers) { n in
      do {
        while true {
          let got = try stores[n].claim(holder: "node-\(n)", limit: 25, now: 1000, leaseMs: 60_000)
          if got.isEmpty { break }
          claimed.withLock { $0 += got }
        }
      } catch {
        failures.withLock { $0.append("\(error)") }
      }
    }
    #expect(failures.withLock { $0 } == [])
    let all = claimed.withLock { $0 }
    #expect(all.count == total)
    #expect(Set(all.map(\.id)).count == total)
    #expect(all.allSatisfy { $0.attempt == 1 })
    #expect(try store.countLeased() == total)
  }

  /// The claim is one statement that skips locked rows: a node whose claim transaction is still open
  /// (slow network, paused) makes no other node wait, and what it locked is not handed out twice.
  @Test func aPostgresClaimNeverWaitsForAnotherNodes() throws {
    let (store, database) = try Backend.postgres.newStore(in: dir)
    _ = try store.enqueue(try items(100), now: 0)
    let slow = try #require(try StoreOpener.open(database) as? PostgresStore)
    let first = try slow.connection.transaction {
      let got = try slow.claim(holder: "slow", limit: 60, now: 1000, leaseMs: 60_000)
      // While `slow` holds its row locks (uncommitted), another node claims at once.
      let other = try StoreOpener.open(database)
      try other.withConnectionTimeout(seconds: 5)
      let start = ContinuousClock.now
      let second = try other.claim(holder: "fast", limit: 100, now: 1000, leaseMs: 60_000)
      #expect(ContinuousClock.now - start < .seconds(2))
      #expect(second.count == 40)
      #expect(Set(second.map(\.id)).isDisjoint(with: got.map(\.id)))
      return got
    }
    #expect(first.count == 60)
    #expect(try store.countLeased() == 100)
  }

  /// A reader following `events(afterID: cursor)` (events --follow, the status log) must never skip an
  /// event that commits after a later-numbered one was read. The first writer's event insert is made to
  /// take a second before its commit; a second writer starts meanwhile; a follower polls throughout.
  @Test func anEventCommittedLateIsNotSkippedByAFollower() throws {
    let (store, database) = try Backend.postgres.newStore(in: dir)
    _ = try store.enqueue(try items(2), now: 0)
    let pg = try #require(store as? PostgresStore)
    try pg.connection.executeScript(
      """
      CREATE FUNCTION slow_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.url_id = 1 THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$;
      CREATE TRIGGER slow_event AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION slow_event();
      """)
    nonisolated(unsafe) let follower = try StoreOpener.open(database)
    let seen = Locked<[Int64]>([])
    let writersDone = Locked(false)
    let followerThread = Thread {
      var cursor: Int64 = 0
      while true {
        let done = writersDone.withLock { $0 }
        if let batch = try? follower.events(afterID: cursor, since: nil, limit: 100), let last = batch.last {
          seen.withLock { $0 += batch.map(\.id) }
          cursor = last.id
        }
        if done { break }
        Thread.sleep(forTimeInterval: 0.005)
      }
      seen.withLock { $0.append(-1) }  // finished
    }
    followerThread.start()
    nonisolated(unsafe) let a = try StoreOpener.open(database)
    let b = try StoreOpener.open(database)
    let slowDone = Locked(false)
    let slowWriter = Thread {
      _ = try? a.cancel(id: 1, now: 10)
      slowDone.withLock { $0 = true }
    }
    slowWriter.start()
    // Once the first writer sits in its trigger (its event inserted, not committed), the second writes.
    #expect(
      try waitFor {
        try RawSQL.int(store, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'") == 1
      })
    #expect(try b.cancel(id: 2, now: 20))
    #expect(try waitFor { slowDone.withLock { $0 } })
    writersDone.withLock { $0 = true }
    #expect(try waitFor { seen.withLock { $0.last == -1 } })
    let all = try RawSQL.ints(store, "SELECT id FROM events ORDER BY id")
    #expect(all.count == 2)
    #expect(seen.withLock { $0.dropLast() } == all, "the follower skipped an event committed late")
  }

  /// Many writers at once (cancels and reactivations from several connections) while a follower reads:
  /// the follower gets every event exactly once, in id order.
  @Test(arguments: Backend.allCases) func aFollowerSeesEveryEventOfConcurrentWriters(_ backend: Backend) throws {
    let (store, database) = try backend.newStore(in: dir)
    _ = try store.enqueue(try items(40), now: 0)
    let writers = 4
    nonisolated(unsafe) let stores = try (0..<writers).map { _ in try StoreOpener.open(database) }
    nonisolated(unsafe) let follower = try StoreOpener.open(database)
    let done = Locked(false)
    let seen = Locked<[Int64]>([])
    let failures = Locked<[String]>([])
    let followerThread = Thread {
      var cursor: Int64 = 0
      var finalPass = false
      while true {
        do {
          let batch = try follower.events(afterID: cursor, since: nil, limit: 500)
          if let last = batch.last {
            seen.withLock { $0 += batch.map(\.id) }
            cursor = last.id
          } else if finalPass {
            break
          }
        } catch {
          if !"\(error)".contains("locked") { failures.withLock { $0.append("\(error)") } }
        }
        if done.withLock({ $0 }) { finalPass = true }
      }
      seen.withLock { $0.append(-1) }
    }
    followerThread.start()
    DispatchQueue.concurrentPerform(iterations: writers) { n in
      var random = HostileRandom(seed: UInt64(n + 1))
      for step in 0..<60 {
        // Each writer works on its own ten URLs: cancel, then reactivate, alternating.
        let id = Int64(n * 10 + Int.random(in: 1...10, using: &random))
        do {
          if try !stores[n].cancel(id: id, now: Int64(step)) { failures.withLock { $0.append("no url \(id)") } }
          _ = try stores[n].reactivate(id: id, now: Int64(step))
        } catch {
          failures.withLock { $0.append("\(error)") }
        }
      }
    }
    done.withLock { $0 = true }
    #expect(try waitFor { seen.withLock { $0.last == -1 } })
    #expect(failures.withLock { $0 } == [])
    let all = try RawSQL.ints(store, "SELECT id FROM events ORDER BY id")
    #expect(all.count == writers * 60 * 2)
    #expect(seen.withLock { Array($0.dropLast()) } == all)
  }
}

/// Polls until `condition` holds (true) or 20 s pass (false).
func waitFor(timeout: Duration = .seconds(20), _ condition: () throws -> Bool) throws -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try condition() { return true }
    Thread.sleep(forTimeInterval: 0.01)
  }
  return try condition()
}

extension TakedownStore {
  /// PostgreSQL: a statement that waits for a lock longer than this fails (a test that must not wait).
  func withConnectionTimeout(seconds: Int) throws {
    if let pg = self as? PostgresStore { try pg.connection.execute("SET lock_timeout = '\(seconds)s'") }
  }
}
