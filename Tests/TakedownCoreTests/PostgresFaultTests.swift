import Foundation
import TestPostgres
import Testing

@testable import TakedownCore

/// The PostgreSQL store when the server goes away: a killed connection, a restart, an outage. A failed
/// call is a transient `DatabaseFailure` (the daemon keeps its results and retries), a later call works
/// on a new connection, and nothing is recorded twice or lost.
///
/// FAULT TESTS: the restart and outage tests stop the server, so they use a private cluster each.
@Suite struct PostgresFaultTests {
  let dir = TempDir()

  func items(_ n: Int) throws -> [EnqueueItem] {
    try (0..<n).map { EnqueueItem(url: try URLNormalizer.normalize("http://a.test/\($0)").get(), report: ReportMetadata()) }
  }

  func results(_ claims: [ClaimedURL], at: Int64) -> [ProbeResult] {
    claims.map {
      ProbeResult(
        claim: $0, checkedAt: at, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0, finalURL: nil,
        redirects: 0, remoteIP: nil, timings: .init(), bytes: 1)
    }
  }

  /// Terminates every other session on the store's database, and waits until they are gone.
  func terminateOthers(_ admin: PostgresConnection) throws {
    try admin.execute(
      """
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
      """)
    #expect(
      try waitFor {
        try admin.execute(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).int64(0, 0) == 0
      })
  }

  @Test func aTerminatedConnectionCostsNoCall() throws {
    let (store, database) = try Backend.postgres.newStore(in: dir)
    let admin = try #require(try StoreOpener.open(database) as? PostgresStore).connection
    _ = try store.enqueue(try items(10), now: 0)
    try terminateOthers(admin)
    let claimed = try store.claim(holder: "n", limit: 10, now: 1, leaseMs: 60_000)
    #expect(claimed.count == 10)
    try terminateOthers(admin)
    #expect(try store.complete(results(claimed, at: 2), holder: "n", config: ScheduleConfig(), jitter: { 0.5 }).recorded == 10)
    // The temporary staging table of the first session is gone: enqueue makes it again.
    try terminateOthers(admin)
    #expect(try store.enqueue(try items(12), now: 3).new == 2)
  }

  /// The connection dies while a batch is being recorded: the batch fails as a whole (transient, rolled
  /// back), the retry records it once.
  @Test func aBatchWhoseConnectionDiesIsRecordedOnceOnRetry() throws {
    let (store, database) = try Backend.postgres.newStore(in: dir)
    let admin = try #require(try StoreOpener.open(database) as? PostgresStore).connection
    _ = try store.enqueue(try items(20), now: 0)
    let claimed = try store.claim(holder: "n", limit: 20, now: 1, leaseMs: 60_000)
    try admin.executeScript(
      """
      CREATE FUNCTION slow_check() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$;
      CREATE TRIGGER slow_check AFTER INSERT ON checks FOR EACH STATEMENT EXECUTE FUNCTION slow_check();
      """)
    let outcome = Locked<String>("")
    let batch = results(claimed, at: 2)
    // The store is used by the writer thread alone until it is done.
    nonisolated(unsafe) let writerStore = store
    let writer = Thread {
      do {
        _ = try writerStore.complete(batch, holder: "n", config: ScheduleConfig(), jitter: { 0.5 })
        outcome.withLock { $0 = "recorded" }
      } catch let e as any DatabaseFailure {
        outcome.withLock { $0 = e.isTransient ? "transient" : "failed: \(e)" }
      } catch {
        outcome.withLock { $0 = "failed: \(error)" }
      }
    }
    writer.start()
    #expect(try waitFor { try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'").int64(0, 0) == 1 })
    try terminateOthers(admin)
    #expect(try waitFor { outcome.withLock { !$0.isEmpty } })
    #expect(outcome.withLock { $0 } == "transient")
    #expect(try admin.execute("SELECT count(*) FROM checks").int64(0, 0) == 0)
    try admin.execute("DROP TRIGGER slow_check ON checks")
    let again = try store.complete(results(claimed, at: 2), holder: "n", config: ScheduleConfig(), jitter: { 0.5 })
    #expect(again.recorded == 20)
    #expect(try admin.execute("SELECT count(*) FROM checks").int64(0, 0) == 20)
    #expect(try admin.execute("SELECT sum(checks) FROM urls").int64(0, 0) == 20)
  }

  /// A restart (crash and recovery) and a stop of several seconds: calls fail as transient
  /// (sysexits 75) while the server is away, without waiting each time, and work again once it is back.
  @Test func aRestartAndAnOutageAreWaitedOut() throws {
    let cluster = try PostgresCluster.makePrivate()
    defer { cluster.shutdown() }
    let name = try cluster.createDatabase()
    // Commits must survive the crash below (the test cluster's default is asynchronous commit).
    try PostgresConnection(cluster.connectionString(database: name)).execute(
      "ALTER DATABASE \(name) SET synchronous_commit = on")
    let store = try StoreOpener.open(cluster.uri(database: name))
    _ = try store.enqueue(try items(30), now: 0)
    let first = try store.claim(holder: "n", limit: 10, now: 1, leaseMs: 60_000)

    try cluster.restart()
    var recorded: CompletionStats?
    #expect(
      try waitFor(timeout: .seconds(15)) {
        do {
          recorded = try store.complete(results(first, at: 2), holder: "n", config: ScheduleConfig(), jitter: { 0.5 })
          return true
        } catch let e as any DatabaseFailure where e.isTransient {
          return false
        }
      })
    #expect(recorded?.recorded == 10)

    try cluster.stopServer()
    var failures = 0
    let outageStart = ContinuousClock.now
    for _ in 0..<20 {
      do {
        _ = try store.claim(holder: "n", limit: 10, now: 3, leaseMs: 60_000)
        Issue.record("a stopped server answered")
      } catch let e as any DatabaseFailure {
        #expect(e.isTransient)
        #expect(e.sysExit == .tempFail)
        failures += 1
      }
    }
    // Twenty calls in a stopped server's first moments: one connect attempt, the rest refused at once.
    #expect(failures == 20)
    #expect(ContinuousClock.now - outageStart < .seconds(1))
    try cluster.start()
    var second: [ClaimedURL] = []
    #expect(
      try waitFor(timeout: .seconds(15)) {
        do {
          second = try store.claim(holder: "n", limit: 30, now: 3, leaseMs: 60_000)
          return true
        } catch let e as any DatabaseFailure where e.isTransient {
          return false
        }
      })
    #expect(second.count == 20)
    #expect(try store.countLeased() == 20)
    #expect(try RawSQL.int(store, "SELECT count(*) FROM checks") == 10)
  }
}
