#if canImport(Glibc)
  import Glibc
#endif

/// The rows compaction reads and writes. Each backend implements it beside its own SQL; the rule and
/// the walk (`HistoryCompaction`) are shared, so both backends keep exactly the same checks.
protocol HistoryStorage {
  /// Runs `body` in one write transaction.
  func historyWrite<T>(_ body: () throws -> T) throws -> T
  /// Up to `limit` URLs with an id above `after`, by id, each with its mark and pinned times.
  func historyURLs(after: Int64, limit: Int) throws -> [HistoryURL]
  /// A URL's first `limit` checks with attempt ≥ `fromAttempt` and checked before `before`, by attempt.
  func historyRows(urlID: Int64, fromAttempt: Int64, before: Int64, limit: Int) throws -> [HistoryRule.Row]
  /// The times of a URL's events at or after `since`.
  func historyEventTimes(urlID: Int64, since: Int64) throws -> [Int64]
  /// A URL's fold notes that begin after `after`.
  func historyFolds(urlID: Int64, after: Int64) throws -> [CheckFold]
  func deleteChecks(_ ids: [Int64]) throws
  /// Inserts a note (id nil) or updates one.
  func saveFold(_ f: CheckFold) throws
  func setHistoryMark(urlID: Int64, attempt: Int64) throws
  /// Up to `limit` stored summaries with `from ≤ at < before`, by (at, id).
  func summaryRows(from: Int64, before: Int64, limit: Int) throws -> [SummaryRow]
  /// Adds the deleted rows' interval counts into `keep` (already summed by the caller) and deletes them.
  func mergeSummaries(_ keep: SummaryRow, delete: [Int64]) throws
  /// Gives a few free pages back to the file system (SQLite incremental vacuum); the pages freed.
  func reclaimSpace() throws -> Int
}

/// A URL as compaction sees it.
struct HistoryURL {
  var id: Int64
  /// From where its next compaction reads (0: never compacted).
  var mark: Int64
  /// Times of the URL's first-seen and takedown figures (first_online_at, taken_down_at, …).
  var pinned: [Int64]
}

/// A stored summary as thinning sees it.
struct SummaryRow: Equatable {
  var id: Int64
  var at: Int64
  var holder: String
  var intervalMs: Int64
  var checks: Int64
  var newlyTakenDown: Int64
  var newlyReappeared: Int64
}

/// One round of compaction over every URL, then over the stored summaries, in bounded transactions.
///
/// The daemon keeps one of these and calls `TakedownStore.compactHistory` between its claims and
/// completions: each call is one transaction that stops taking more URLs once `budgetMs` have passed,
/// so the write lock is never held much longer than that (the longest is in `totals`). Resumable: the
/// per-URL mark (history_marks) means a URL's compacted past is never read again, and a round that
/// stops half way (a restart) starts over cheaply. Idempotent: a second round at the same time deletes
/// nothing. `dryRun` (`takedownctl prune --dry-run`) plans the same and writes nothing.
public final class HistoryCompaction {
  /// What a round (or a `prune`) did.
  public struct Totals: Sendable, Equatable {
    public var urlsExamined = 0
    public var urlsTouched = 0
    public var checksFolded = 0
    public var foldsWritten = 0
    public var summariesThinned = 0
    public var pagesFreed = 0
    public var transactions = 0
    /// The longest compaction transaction, from BEGIN to COMMIT, in µs (the write lock's longest hold).
    public var longestTransactionUs: Int64 = 0
    /// The most CPU time this thread spent in one transaction, in µs: the work itself, without the waits
    /// for the disk and the scheduler that `longestTransactionUs` includes (on a loaded machine, most of it).
    public var longestTransactionCpuUs: Int64 = 0
    /// Transactions that held the write lock longer than 50 ms (a loaded machine's scheduler included).
    public var transactionsOver50ms = 0
    /// Of which the longest space reclaim (SQLite `incremental_vacuum`, a statement of its own), in µs.
    public var longestReclaimUs: Int64 = 0
    public init() {}
  }

  public let config: HistoryConfig
  public let dryRun: Bool
  /// How long one transaction keeps taking more URLs.
  public var budgetMs: Int64
  /// URLs read at a time.
  var urlBatch = 100
  /// Checks of one URL read (and at most deleted) in one transaction: a first compaction of months of
  /// history deletes hundreds per URL, ~0.1 ms each, so a URL's backlog is spread over several steps.
  /// A dry run deletes nothing and reads each URL whole.
  var rowLimit = 100
  public private(set) var totals = Totals()
  public private(set) var finished = false

  private enum Phase { case urls, hourly, daily }
  private var phase = Phase.urls
  private var urlCursor: Int64 = 0
  private var lastURL: Int64 = 0
  private var lastURLTouched = false
  private var summaryCursor: Int64 = 0

  public init(config: HistoryConfig, dryRun: Bool = false, budgetMs: Int64 = 10) {
    self.config = config
    self.dryRun = dryRun
    self.budgetMs = budgetMs
  }

  /// One transaction's worth of work (see the type).
  func step(_ s: some HistoryStorage, now: Int64) throws {
    guard !finished else { return }
    let started = Self.monotonicUs()
    let cpuStarted = Self.threadCpuUs()
    let deleted: Int
    switch phase {
    case .urls:
      deleted = try s.historyWrite { try compactURLs(s, now: now, started: started) }
    case .hourly:
      deleted = try s.historyWrite {
        try thin(
          s, bucketMs: 3_600_000, from: now - config.summariesDailyAfterMs, before: now - config.summariesHourlyAfterMs,
          next: .daily)
      }
    case .daily:
      deleted = try s.historyWrite {
        try thin(s, bucketMs: 86_400_000, from: Int64.min, before: now - config.summariesDailyAfterMs, next: nil)
      }
    }
    totals.transactions += 1
    let took = Self.monotonicUs() - started
    totals.longestTransactionUs = max(totals.longestTransactionUs, took)
    if took > 50_000 { totals.transactionsOver50ms += 1 }
    totals.longestTransactionCpuUs = max(totals.longestTransactionCpuUs, Self.threadCpuUs() - cpuStarted)
    if deleted > 0 && !dryRun {
      let t = Self.monotonicUs()
      totals.pagesFreed += try s.reclaimSpace()
      totals.longestReclaimUs = max(totals.longestReclaimUs, Self.monotonicUs() - t)
      totals.longestTransactionUs = max(totals.longestTransactionUs, totals.longestReclaimUs)
    }
  }

  /// Runs whole rounds' steps until the round is finished (`takedownctl prune`).
  func runToEnd(_ s: some HistoryStorage, now: Int64) throws {
    while !finished { try step(s, now: now) }
    if !dryRun {
      // Whatever the steps left free (they give back a few pages each).
      while try s.reclaimSpace() > 0 {}
    }
  }

  private func compactURLs(_ s: some HistoryStorage, now: Int64, started: Int64) throws -> Int {
    let cutoff = now - config.keepAllForMs
    var deleted = 0
    let urls = try s.historyURLs(after: urlCursor, limit: urlBatch)
    if urls.isEmpty {
      phase = .hourly
      summaryCursor = 0
      return 0
    }
    for u in urls {
      // A URL with a long backlog comes back for several steps: it counts once.
      let again = u.id == lastURL
      lastURL = u.id
      urlCursor = u.id
      if !again { totals.urlsExamined += 1 }
      if !again { lastURLTouched = false }
      let limit = dryRun ? Int.max : rowLimit
      let rows = try s.historyRows(urlID: u.id, fromAttempt: u.mark, before: cutoff, limit: limit)
      if rows.count >= 3 {
        let since = rows[0].checkedAt
        var pinned = Set(u.pinned)
        pinned.formUnion(try s.historyEventTimes(urlID: u.id, since: since))
        let folds = try s.historyFolds(urlID: u.id, after: since)
        let plan = HistoryRule.plan(urlID: u.id, rows: rows, folds: folds, pinned: pinned, mark: u.mark)
        if !plan.delete.isEmpty {
          if !again || !lastURLTouched { totals.urlsTouched += 1 }
          lastURLTouched = true
          totals.checksFolded += plan.delete.count
          totals.foldsWritten += plan.folds.count
          deleted += plan.delete.count
          if !dryRun {
            try s.deleteChecks(plan.delete)
            for f in plan.folds { try s.saveFold(f) }
          }
        }
        if plan.mark != u.mark && !dryRun { try s.setHistoryMark(urlID: u.id, attempt: plan.mark) }
        if rows.count == limit && (plan.mark != u.mark || !plan.delete.isEmpty) {
          // More of this URL's backlog: the next step goes on with it, from its new mark.
          urlCursor = u.id - 1
          break
        }
      }
      if (Self.monotonicUs() - started) / 1000 >= budgetMs { break }
    }
    return deleted
  }

  /// Thins the summaries in [`from`, `before`) to one per holder and bucket: the latest stays, with the
  /// checks and removals of the others added in (so rates over the bucket stay right). The hourly level
  /// covers the summaries younger than the daily level's age, so a dry run counts each row once.
  private func thin(
    _ s: some HistoryStorage, bucketMs: Int64, from: Int64, before: Int64, next: Phase?
  ) throws -> Int {
    let limit = 5000
    let rows = try s.summaryRows(from: max(summaryCursor, from), before: before, limit: limit)
    guard let last = rows.last else {
      if let next {
        phase = next
        summaryCursor = 0
      } else {
        finished = true
      }
      return 0
    }
    // A full batch may have cut its last bucket short: that bucket is read again next time, whole.
    let lastBucket = last.at / bucketMs
    let full = rows.count == limit
    let work = full && rows[0].at / bucketMs != lastBucket ? rows.filter { $0.at / bucketMs != lastBucket } : rows
    var groups: [String: [SummaryRow]] = [:]
    var order: [String] = []
    for r in work {
      let key = "\(r.at / bucketMs)\u{0}\(r.holder)"
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(r)
    }
    var deleted = 0
    for key in order {
      let g = groups[key]!
      guard g.count > 1 else { continue }
      var keep = g.max { ($0.at, $0.id) < ($1.at, $1.id) }!
      let others = g.filter { $0.id != keep.id }
      for o in others {
        keep.intervalMs += o.intervalMs
        keep.checks += o.checks
        keep.newlyTakenDown += o.newlyTakenDown
        keep.newlyReappeared += o.newlyReappeared
      }
      deleted += others.count
      if !dryRun { try s.mergeSummaries(keep, delete: others.map(\.id)) }
    }
    totals.summariesThinned += deleted
    if !full {
      summaryCursor = before  // this level is done: the next step finds nothing and moves on
    } else if work.count < rows.count || (!dryRun && deleted > 0) {
      // The last bucket again: cut short, or larger than a batch and merged into fewer rows since.
      summaryCursor = lastBucket * bucketMs
    } else {
      summaryCursor = (lastBucket + 1) * bucketMs
    }
    return deleted
  }

  static func threadCpuUs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
  }

  static func monotonicUs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
  }
}

/// What the database takes on disk, as far as the backend can tell.
public struct StorageBytes: Sendable, Equatable {
  /// SQLite: the file (pages × page size); PostgreSQL: checks, check_folds and summaries with their
  /// indexes and TOAST (pg_total_relation_size).
  public var total: Int64
  /// SQLite: free pages inside the file, reused before the file grows; PostgreSQL: nil.
  public var free: Int64?
  public init(total: Int64, free: Int64?) {
    self.total = total
    self.free = free
  }
}
