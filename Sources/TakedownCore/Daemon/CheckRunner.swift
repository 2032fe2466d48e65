import Foundation
import Logging
import Synchronization

/// The daemon's work loop: claims due URLs in batches, feeds the probe engine, records results in
/// batched transactions, emits summaries. Runs on a thread of its own (SQLite calls block); the probe
/// engine runs on another, so neither waits for the other.
public final class CheckRunner: @unchecked Sendable {
  // @unchecked: all mutable state is confined to the thread that calls run(); other threads only call
  // requestStop(), which goes through the Mutex and the mailbox.
  public struct Options: Sendable {
    /// Check everything due (again while anything is due), then stop.
    public var once = false
    public init(once: Bool = false) { self.once = once }
  }

  private let config: Config
  private let databasePath: String
  private let holder: String
  private let options: Options
  private let logger: Logger
  private let mailbox = Mailbox()
  private let stopRequested = Mutex(false)

  // Interval counters for the periodic summary.
  private var intervalStart = Timestamp.nowMs()
  private var intervalChecks = 0
  private var intervalTakenDown = 0
  private var intervalReappeared = 0
  /// Totals of this run, for the final line.
  public private(set) var totals = CompletionStats()

  public init(config: Config, databasePath: String, holder: String, options: Options, logger: Logger) {
    self.config = config
    self.databasePath = databasePath
    self.holder = holder
    self.options = options
    self.logger = logger
  }

  /// Asks the loop to stop: no more claims, in-flight checks get `shutdown_grace` to finish, the rest is
  /// released. Callable from any thread (a signal handler's task).
  public func requestStop() {
    stopRequested.withLock { $0 = true }
    mailbox.poke()
  }

  private var stopping: Bool { stopRequested.withLock { $0 } }

  /// Runs until stopped (or, with `once`, until nothing is due). Throws on database failures.
  public func run() throws {
    let store = try SQLiteStore(path: databasePath)
    let recovered = try store.releaseAll(holder: holder, now: Timestamp.nowMs())
    if recovered > 0 {
      logger.warning("released leases left by a previous run", metadata: ["leases": "\(recovered)"])
    }
    let engine = ProbeEngine(config: config.probe, mailbox: mailbox)
    let probeThread = Thread { engine.run() }
    probeThread.name = "takedown-probe"
    probeThread.stackSize = 1 << 20
    probeThread.start()

    var random = SystemRandomNumberGenerator()
    let concurrency = config.probe.concurrency
    let batch = max(1, min(config.schedule.batchSize, concurrency * 2))
    var idleUntil: Int64 = 0
    var nextSummaryAt = Timestamp.nowMs() + config.summary.intervalMs
    var draining = false
    var failure: Error?
    // Claimed and not yet recorded or released: --once may only stop when this is zero, because a
    // recorded result can make its URL due again at once (confirm_interval = 0).
    var inHand = 0

    logger.info(
      "takedownd started",
      metadata: [
        "db": "\(databasePath)", "holder": "\(holder)", "concurrency": "\(concurrency)",
        "once": "\(options.once)", "libcurl": "\(ProbeEngine.curlVersion)",
      ])

    while true {
      let now = Timestamp.nowMs()
      if !draining && (stopping || failure != nil) {
        draining = true
        engine.drain(graceMs: failure == nil ? config.probe.shutdownGraceMs : 0)
        logger.info("stopping: no new claims, waiting for checks in flight", metadata: ["in_flight": "\(engine.outstanding)"])
      }
      // Keep the engine fed: claim when less than one concurrency's worth is outstanding.
      if !draining && now >= idleUntil && engine.outstanding < concurrency {
        do {
          let claimed = try store.claim(holder: holder, limit: batch, now: now, leaseMs: config.schedule.leaseMs)
          if claimed.isEmpty {
            let nextDue = try store.nextDueAt()
            if options.once && inHand == 0 && (nextDue == nil || nextDue! > Timestamp.nowMs()) {
              requestStop()
              continue
            }
            // Nothing due: look again when the next URL is due (new enqueues show up within a second).
            idleUntil = min(nextDue ?? Int64.max, now + 1000)
          } else {
            inHand += claimed.count
            engine.submit(claimed)
          }
        } catch {
          failure = error
          continue
        }
      }
      // Sleep only when there is nothing to feed; any result or stop request wakes the mailbox at once.
      let feeding = !draining && engine.outstanding < concurrency && Timestamp.nowMs() >= idleUntil
      let waitMs: Int64 = feeding ? 0 : (!draining && now < idleUntil ? min(idleUntil - now, 200) : 200)
      let (results, abandoned, finished) = mailbox.take(timeoutMs: waitMs)
      inHand -= results.count + abandoned.count
      do {
        if !results.isEmpty {
          let stats = try store.complete(
            results, holder: holder, config: config.schedule, jitter: { Double.random(in: 0...1, using: &random) })
          account(stats)
          // A result can make its URL due at once (confirm_interval = 0, backoff_base = 0): look again now.
          idleUntil = 0
          if stats.stale > 0 {
            logger.warning("results dropped: lease lost before recording", metadata: ["count": "\(stats.stale)"])
          }
        }
        if !abandoned.isEmpty {
          try store.release(abandoned, holder: holder, now: Timestamp.nowMs())
          logger.info("released unfinished checks", metadata: ["count": "\(abandoned.count)"])
        }
      } catch {
        // Results we could not write are not lost: their leases expire and the URLs are checked again.
        logger.error("cannot record results", metadata: ["error": "\(error)"])
        failure = failure ?? error
      }
      if Timestamp.nowMs() >= nextSummaryAt {
        try? emitSummary(store: store)
        nextSummaryAt = Timestamp.nowMs() + config.summary.intervalMs
      }
      if finished { break }
    }
    probeThread.cancel()
    if let failure { throw failure }
    try emitSummary(store: store)
    try? store.checkpoint()
    logger.info(
      "takedownd stopped",
      metadata: [
        "checks": "\(totals.recorded)", "newly_taken_down": "\(totals.newlyTakenDown)",
        "reappeared": "\(totals.newlyReappeared)",
      ])
  }

  private func account(_ s: CompletionStats) {
    totals.recorded += s.recorded
    totals.stale += s.stale
    totals.newlyTakenDown += s.newlyTakenDown
    totals.newlyReappeared += s.newlyReappeared
    intervalChecks += s.recorded
    intervalTakenDown += s.newlyTakenDown
    intervalReappeared += s.newlyReappeared
  }

  /// One summary line in the log and one row in the summaries table.
  private func emitSummary(store: SQLiteStore) throws {
    let now = Timestamp.nowMs()
    let elapsed = max(now - intervalStart, 1)
    let summary = StoredSummary(
      at: now, intervalMs: elapsed, holder: holder, checks: intervalChecks,
      checksPerSecond: Double(intervalChecks) * 1000 / Double(elapsed), byStatus: try store.countsByStatus(),
      newlyTakenDown: intervalTakenDown, newlyReappeared: intervalReappeared, due: try store.countDue(now: now))
    try store.recordSummary(summary)
    var metadata: Logger.Metadata = [
      "checks": "\(summary.checks)", "checks_per_second": "\(format(summary.checksPerSecond, 1))",
      "newly_taken_down": "\(summary.newlyTakenDown)", "reappeared": "\(summary.newlyReappeared)",
      "due": "\(summary.due)",
    ]
    for st in URLStatus.allCases { metadata["status.\(st.rawValue)"] = "\(summary.byStatus[st] ?? 0)" }
    logger.notice("summary", metadata: metadata)
    intervalStart = now
    intervalChecks = 0
    intervalTakenDown = 0
    intervalReappeared = 0
  }
}
