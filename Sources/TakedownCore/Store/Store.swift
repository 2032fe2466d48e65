/// Everything the daemon and takedownctl do with a queue, whichever database holds it.
///
/// Two implementations: `SQLiteStore` (the embedded default: one file, one daemon) and `PostgresStore`
/// (one queue shared by daemons on several machines). Nothing above this protocol knows which one it
/// talks to; `StoreOpener.open` picks by the `database` setting (a path, or a `postgresql://` URI).
/// Every implementation passes `StoreConformanceTests`, which run the same assertions against both.
///
/// An instance owns one connection and is used by one thread at a time.
public protocol TakedownStore: CheckQueue {
  /// Where this store is, fit for a log line or a message (a PostgreSQL password is never shown).
  var location: String { get }

  // MARK: Queue (beyond CheckQueue)

  /// Gives claimed URLs back unchecked, each due again at its own time (a host that asked us to wait,
  /// or one too slow or rate-limited to take them soon). Not a check: nothing is recorded.
  func deferClaims(_ items: [(ClaimedURL, Int64)], holder: String) throws
  func countDue(now: Int64) throws -> Int
  /// Leases currently held (by anyone).
  func countLeased() throws -> Int
  /// Withdraws a URL: it is never checked again. Returns false when there is no such URL.
  func cancel(id: Int64, now: Int64) throws -> Bool
  /// Undoes `cancel`: the URL becomes pending and due now (an event like any other).
  func reactivate(id: Int64, now: Int64) throws -> ReactivateOutcome
  /// Makes the selected URLs due now (`takedownctl recheck`), so the daemon checks them at its next turn.
  /// Cancelled URLs and URLs a daemon holds a live lease on (being checked right now) are left alone and
  /// counted; no event is recorded, because the status does not change (events are status changes).
  func recheck(_ selection: RecheckSelection, now: Int64) throws -> RecheckCounts
  /// Stores one summary row.
  func recordSummary(_ s: StoredSummary) throws
  /// Before a large enqueue or import (SQLite: a large page cache).
  func prepareForBulkWrites() throws
  /// Stores the extra CSV fields of reports (import).
  func setReportExtras(_ extras: [ReportExtra]) throws
  /// Called once when the daemon stops (SQLite: flushes the WAL into the main file).
  func closeForShutdown() throws

  // MARK: Reading

  /// A URL by id or by any spelling of it.
  func lookup(_ idOrURL: String) throws -> URLRecord?
  func reports(urlID: Int64) throws -> [URLRecord.Report]
  func list(_ f: ListFilter, _ body: (URLRecord) throws -> Void) throws
  /// A URL's checks, oldest first.
  func history(urlID: Int64) throws -> [CheckRecord]
  /// A URL's status changes, oldest first.
  func transitions(urlID: Int64, url: String) throws -> [Transition]
  func countsByStatus() throws -> [URLStatus: Int]
  func lastSummary() throws -> StoredSummary?
  func countSummaries() throws -> Int
  func overdueCount(now: Int64) throws -> Int
  /// Every figure of the report, computed from the rows.
  func figures(_ f: ReportFilter, now: Int64, topHosts: Int) throws -> ReportFigures
  /// The summary's figures: from the kept tallies when the filter allows, else as `figures`.
  func summaryFigures(_ f: ReportFilter, now: Int64, topHosts: Int) throws -> ReportFigures
  func statusHistory(since: Int64?, maxPoints: Int) throws -> [StatusPoint]
  func overdueURLs(_ f: ReportFilter, now: Int64, limit: Int) throws -> [OverdueURL]
  func exportExtraKeys(_ f: ExportFilter) throws -> [String]
  func exportRows(_ f: ExportFilter, _ body: (ExportRow) throws -> Void) throws
  /// Runs `body` in one read transaction, so that several reads see one state of the queue.
  func readConsistently<T>(_ body: () throws -> T) throws -> T

  // MARK: Events

  func events(afterID: Int64, since: Int64?, limit: Int) throws -> [EventRecord]
  func lastEventID() throws -> Int64
  /// The id just before the last `n` events (to show the last few and follow).
  func eventIDBeforeLast(_ n: Int) throws -> Int64
  /// The status log's position for the daemon named `node` (nil: never written). Each node writes a
  /// file of its own, so each has its own position (SQLite: one daemon per database, one position).
  func statusLogCursor(node: String) throws -> Int64?
  func setStatusLogCursor(_ eventID: Int64, node: String) throws

  // MARK: History (see HistoryRule, HistoryCompaction)

  /// One bounded transaction of a compaction round; nothing once the round is finished.
  func compactHistory(_ round: HistoryCompaction, now: Int64) throws
  /// A whole round at once (`takedownctl prune`), then gives freed space back where the backend can.
  func pruneHistory(_ round: HistoryCompaction, now: Int64) throws
  /// A URL's fold notes (the checks compaction deleted), oldest first.
  func folds(urlID: Int64) throws -> [CheckFold]
  /// What the history takes on disk, as far as the backend can tell.
  func storageBytes() throws -> StorageBytes
  /// Rewrites the database so that freed space goes back to the file system from now on (SQLite: VACUUM
  /// into `auto_vacuum = INCREMENTAL`; a long exclusive lock). False when the backend has nothing to do
  /// (PostgreSQL: autovacuum makes freed space reusable; VACUUM FULL is never run).
  func vacuumForSpaceReuse() throws -> Bool

  // MARK: Nodes

  /// Takes the name for this daemon, unless a live one holds it (`NodeLiveness.mayTakeOver`).
  func registerNode(_ node: NodeRegistration, now: Int64) throws -> NodeRegistrationOutcome
  /// Says this daemon is alive, with the checks it recorded in the last `intervalMs`. False when the
  /// name is no longer this run's (another daemon took it over): the caller must stop.
  func heartbeat(_ node: NodeRegistration, now: Int64, checks: Int, intervalMs: Int64) throws -> Bool
  /// Marks this run stopped (a clean exit): the name is free at once.
  func unregisterNode(_ node: NodeRegistration, now: Int64) throws
  /// Every daemon that ever registered, by name, with the leases each holds now.
  func nodes() throws -> [NodeRecord]

  // MARK: Hosts shared by several daemons (see SharedHosts)

  /// Whether several daemons may work this queue at once, so that host limits need host leases.
  var sharesHosts: Bool { get }
  /// Takes or renews the host leases of `hosts` (sorted: every daemon locks them in one order) until
  /// `now + leaseMs`. Returns the hosts that may not start now, with until when: held by another
  /// daemon, paused (Retry-After), or within the rate's spacing after the previous holder.
  func holdHosts(_ hosts: [String], holder: String, now: Int64, leaseMs: Int64) throws -> [String: HostWait]
  /// Hands host leases back, each with the time before which its next request must not start.
  func letGoOfHosts(_ hosts: [String: Int64], holder: String) throws
  /// Every daemon leaves `host` alone until `until`.
  func pauseHost(_ host: String, until: Int64) throws
}

/// Why and until when a host's URLs must wait (see `TakedownStore.holdHosts`).
public struct HostWait: Sendable, Equatable {
  public var until: Int64
  /// Another daemon holds the host's lease (else: a pause or the rate's spacing).
  public var heldByOther: Bool
  public init(until: Int64, heldByOther: Bool) {
    self.until = until
    self.heldByOther = heldByOther
  }
}

/// A store that one daemon has to itself (SQLite, under the daemon's file lock) needs no host leases.
extension TakedownStore {
  public var sharesHosts: Bool { false }
  public func holdHosts(_ hosts: [String], holder: String, now: Int64, leaseMs: Int64) throws -> [String: HostWait] {
    [:]
  }
  public func letGoOfHosts(_ hosts: [String: Int64], holder: String) throws {}
  public func pauseHost(_ host: String, until: Int64) throws {}
}

extension TakedownStore {
  public func figures(_ f: ReportFilter, now: Int64) throws -> ReportFigures {
    try figures(f, now: now, topHosts: 10)
  }
  public func summaryFigures(_ f: ReportFilter, now: Int64) throws -> ReportFigures {
    try summaryFigures(f, now: now, topHosts: 10)
  }
}

/// Which URLs `recheck` makes due. Every condition given must hold, as `list`'s filters combine; an
/// empty selection (nothing given) matches every URL.
public struct RecheckSelection: Sendable, Equatable {
  /// These URLs only (by id); nil: any.
  public var ids: [Int64]?
  public var status: URLStatus?
  /// Normalized like `list --host`.
  public var host: String?
  /// URLs with at least one report in this campaign.
  public var campaign: String?
  public init(ids: [Int64]? = nil, status: URLStatus? = nil, host: String? = nil, campaign: String? = nil) {
    self.ids = ids
    self.status = status
    self.host = host
    self.campaign = campaign
  }
}

/// What `recheck` did.
public struct RecheckCounts: Sendable, Equatable {
  /// Matching URLs that are now due (some may have been due already).
  public var madeDue = 0
  /// Matching URLs under a live lease (a daemon is checking them now): left alone.
  public var leased = 0
  /// Matching cancelled URLs: left alone (`reactivate` brings them back).
  public var cancelled = 0
  public init(madeDue: Int = 0, leased: Int = 0, cancelled: Int = 0) {
    self.madeDue = madeDue
    self.leased = leased
    self.cancelled = cancelled
  }
}

/// What `reactivate` did to a URL.
public enum ReactivateOutcome: Sendable, Equatable {
  case notFound
  /// Not cancelled: left as it is.
  case notCancelled(URLStatus)
  /// Cancelled before; now pending and due at once.
  case reactivated
}

/// A failure of the database itself (not of the input): each backend's error says which sysexits code
/// a command should end with, so the commands need not know the backend.
public protocol DatabaseFailure: Error, CustomStringConvertible {
  /// 74 for a full disk, 75 for a server that is unreachable for now, 70 for anything else.
  var sysExit: SysExit { get }
  /// Worth trying again shortly with nothing lost: a lock held past the busy timeout (SQLite), a server
  /// restarting or unreachable, a serialization failure or deadlock (PostgreSQL). The whole transaction
  /// was rolled back.
  var isTransient: Bool { get }
}

extension SQLiteError: DatabaseFailure {
  public var sysExit: SysExit { isDiskFull ? .ioError : .software }
  public var isTransient: Bool { isBusy }
}

extension PostgresError: DatabaseFailure {
  public var isTransient: Bool { isServerUnavailable || isRetryableTransaction }
  public var sysExit: SysExit {
    if isServerUnavailable { return .tempFail }
    // 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections.
    if sqlState == "53100" { return .ioError }
    if sqlState == "53300" { return .tempFail }
    // 28xxx: invalid authorization (bad password, no such role), 3D000: no such database.
    if sqlState?.hasPrefix("28") == true || sqlState == "3D000" { return .config }
    return .software
  }
}

/// Opens a store for the `database` setting: a `postgresql://` (or `postgres://`) URI means the shared
/// PostgreSQL queue, anything else is a SQLite file's path.
public enum StoreOpener {
  public struct Options: Sendable {
    /// Create the database (SQLite: the file; PostgreSQL: the schema) when it does not exist.
    public var create = true
    /// Reading commands: never create or migrate, never write.
    public var readOnly = false
    /// How long to wait for a lock held by another writer.
    public var busyTimeoutMs: Int32 = 10_000
    /// The daemon's recording connection (SQLite: triggers off, `CheckTallies` instead).
    public var checker = false
    /// Called once when a lock wait has gone on for a while.
    public var onLongWait: (@Sendable () -> Void)?
    /// A password from `database_password_file` (PostgreSQL), overriding libpq's own sources.
    public var password: String?
    public init() {}
  }

  public static func isPostgres(_ database: String) -> Bool {
    database.hasPrefix("postgresql://") || database.hasPrefix("postgres://")
  }

  public static func open(_ database: String, _ options: Options = Options()) throws -> any TakedownStore {
    if isPostgres(database) {
      return try PostgresStore(conninfo: database, options: options)
    }
    return try SQLiteStore(
      path: database, create: options.create, readOnly: options.readOnly, busyTimeoutMs: options.busyTimeoutMs,
      checker: options.checker, onLongWait: options.onLongWait)
  }
}
