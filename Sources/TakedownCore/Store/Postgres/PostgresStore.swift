/// The PostgreSQL implementation of the store: one queue shared by daemons on several machines.
///
/// SCAFFOLDING (issue 13, in progress): the connection and the schema are real; the operations are
/// being filled in (queue side in this file, reading side in PostgresStore+Reading.swift).
public final class PostgresStore: TakedownStore {
  public let connection: PostgresConnection
  public var location: String { PostgresConnection.redacted(connection.conninfo) }
  let options: StoreOpener.Options

  public init(conninfo: String, options: StoreOpener.Options) throws {
    self.options = options
    connection = try PostgresConnection(conninfo, password: options.password)
    if !options.readOnly {
      try PostgresSchema.migrate(connection, now: Timestamp.nowMs())
    }
  }

  struct Unfinished: Error, CustomStringConvertible {
    var what: String
    var description: String { "PostgreSQL backend: \(what) is not implemented yet" }
  }
  func unfinished(_ what: String = #function) -> Unfinished { Unfinished(what: what) }

  // MARK: Queue
  public func enqueue(_ items: [EnqueueItem], now: Int64) throws -> EnqueueCounts { throw unfinished() }
  public func claim(holder: String, limit: Int, now: Int64, leaseMs: Int64) throws -> [ClaimedURL] { throw unfinished() }
  public func complete(_ results: [ProbeResult], holder: String, config: ScheduleConfig, jitter: () -> Double) throws
    -> CompletionStats
  { throw unfinished() }
  public func release(_ claims: [ClaimedURL], holder: String, now: Int64) throws { throw unfinished() }
  public func releaseAll(holder: String, now: Int64) throws -> Int { throw unfinished() }
  public func nextDueAt() throws -> Int64? { throw unfinished() }
  public func deferClaims(_ items: [(ClaimedURL, Int64)], holder: String) throws { throw unfinished() }
  public func countDue(now: Int64) throws -> Int { throw unfinished() }
  public func countLeased() throws -> Int { throw unfinished() }
  public func cancel(id: Int64, now: Int64) throws -> Bool { throw unfinished() }
  public func reactivate(id: Int64, now: Int64) throws -> ReactivateOutcome { throw unfinished() }
  public func recordSummary(_ s: StoredSummary) throws { throw unfinished() }
  public func prepareForBulkWrites() throws {}
  public func closeForShutdown() throws {}

  // MARK: Events
  public func events(afterID: Int64, since: Int64?, limit: Int) throws -> [EventRecord] { throw unfinished() }
  public func lastEventID() throws -> Int64 { throw unfinished() }
  public func eventIDBeforeLast(_ n: Int) throws -> Int64 { throw unfinished() }
  public func statusLogCursor() throws -> Int64? { throw unfinished() }
  public func setStatusLogCursor(_ eventID: Int64) throws { throw unfinished() }
}
