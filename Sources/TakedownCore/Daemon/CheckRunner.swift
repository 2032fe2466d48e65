import Foundation
import Logging

/// The daemon's work loop: claims due URLs in batches, feeds the probe engine, records results in
/// batched transactions, emits summaries, pings the watchdog and applies reloads. Runs on a thread of
/// its own (SQLite calls block); the probe engine runs on another, so neither waits for the other.
public final class CheckRunner: @unchecked Sendable {
  // @unchecked: all mutable state is confined to the thread that calls run(); other threads only call
  // requestStop()/requestReload(), which go through locks and the mailbox.
  public struct Options: Sendable {
    /// Check everything due (again while anything is due), then stop.
    public var once = false
    /// The PostgreSQL password from `database_password_file` (nil: libpq's own sources).
    public var databasePassword: String?
    public init(once: Bool = false, databasePassword: String? = nil) {
      self.once = once
      self.databasePassword = databasePassword
    }
  }

  private var config: Config
  private let databasePath: String
  private let holder: String
  private let options: Options
  private let logger: Logger
  private let notifier: SDNotifier
  private let metrics: DaemonMetrics?
  /// Reads the configuration again (SIGHUP). nil: reload is not possible (no config file).
  private let reloadConfig: (@Sendable () throws -> Config)?
  /// Where a configuration puts the database (the daemon's `--db` wins over any config's `database`):
  /// a reload is compared with the database in use, not with the previous configuration.
  private let resolveDatabase: @Sendable (Config) -> String
  private let mailbox = Mailbox()
  private let stopRequested = Locked(false)
  private let stopNowRequested = Locked(false)
  private let reloadRequested = Locked(false)
  private var statusLog: StatusLog?
  /// The last event written to the status log, and the last one stored as written (daemon_state).
  private var statusCursor: Int64 = 0
  private var statusCursorSaved: Int64 = 0
  private var nextCursorSaveAt: Int64 = 0
  private var statusLogFailing = false
  /// The open-file limit after raising it at start: concurrency is capped to what it allows.
  private var fileLimit: FileLimit?
  /// A database that is busy or unreachable is logged once per outage, not once per call.
  private var outage = DatabaseOutage()
  /// Checks recorded since the last heartbeat.
  private var heartbeatChecks = 0

  // Interval counters for the periodic summary.
  private var intervalStart = Timestamp.nowMs()
  private var intervalChecks = 0
  private var intervalTakenDown = 0
  private var intervalReappeared = 0
  /// The compaction round under way (nil between rounds) and when its next step may run (monotonic ms).
  private var compaction: HistoryCompaction?
  private var nextCompactionAt: Int64 = 0
  /// Totals of this run, for the final line.
  public private(set) var totals = CompletionStats()

  public init(
    config: Config, databasePath: String, holder: String, options: Options, logger: Logger,
    notifier: SDNotifier = SDNotifier(environment: [:]), metrics: DaemonMetrics? = nil,
    reloadConfig: (@Sendable () throws -> Config)? = nil,
    resolveDatabase: @escaping @Sendable (Config) -> String = { DatabaseLocation.resolve(flag: nil, config: $0) }
  ) {
    self.config = config
    self.databasePath = databasePath
    self.holder = holder
    self.options = options
    self.logger = logger
    self.notifier = notifier
    self.metrics = metrics
    self.reloadConfig = reloadConfig
    self.resolveDatabase = resolveDatabase
  }

  /// Asks the loop to stop: no more claims, in-flight checks get `shutdown_grace` to finish, the rest is
  /// released. Callable from any thread (a signal handler's task).
  public func requestStop() {
    stopRequested.withLock { $0 = true }
    mailbox.poke()
  }

  /// A second stop request (another SIGTERM or Ctrl-C): the shutdown grace is cut short, checks in
  /// flight are aborted and released unrecorded. Callable from any thread.
  public func requestStopNow() {
    stopNowRequested.withLock { $0 = true }
    requestStop()
  }

  /// Asks the loop to read the configuration again at its next turn. Callable from any thread.
  public func requestReload() {
    reloadRequested.withLock { $0 = true }
    mailbox.poke()
  }

  private var stopping: Bool { stopRequested.withLock { $0 } }

  /// Runs until stopped (or, with `once`, until nothing is due). Throws on database failures.
  public func run() throws {
    var storeOptions = StoreOpener.Options()
    storeOptions.checker = true
    storeOptions.password = options.databasePassword
    // A database server that is down when we start (a reboot of both, a failover) is waited for, like
    // one that goes away later: exiting would end the service (75 does not restart).
    guard let store = try whenAvailable({ try StoreOpener.open(databasePath, storeOptions) }) else { return }
    // The name first: a live daemon under it keeps its leases, and this one stops (exit 75).
    let node = NodeRegistration.current(name: holder, vantage: config.probe.vantage)
    guard let registration = try whenAvailable({ try store.registerNode(node, now: Timestamp.nowMs()) }) else { return }
    switch registration {
    case .nameInUse(let other):
      throw NodeError.nameInUse(other, now: Timestamp.nowMs())
    case .registered(let previous?) where previous.stoppedAt == nil:
      logger.notice(
        "node name taken over from a run that did not stop cleanly",
        metadata: ["node": "\(holder)", "previous.host": "\(previous.host)", "previous.process": "\(previous.process)"])
    case .registered:
      break
    }
    var unregistered = false
    defer { if !unregistered { try? store.unregisterNode(node, now: Timestamp.nowMs()) } }
    if let path = config.log.statusLog {
      statusLog = try StatusLog(path: path)
      guard try whenAvailable({ try startStatusLog(store: store) }) != nil else { return }
    }
    guard let recovered = try whenAvailable({ try store.releaseAll(holder: holder, now: Timestamp.nowMs()) }) else {
      return
    }
    if recovered > 0 {
      logger.warning("released leases left by a previous run", metadata: ["leases": "\(recovered)"])
      metrics?.leaseExpiries.increment(by: recovered)
    }
    let limit = FileLimit.raise()
    fileLimit = limit
    if limit.soft > limit.before {
      logger.notice(
        "open file limit raised",
        metadata: ["limit.before": "\(limit.before)", "limit.soft": "\(limit.soft)", "limit.hard": "\(limit.hard)"])
    }
    config.probe = sized(config.probe)
    let engine = ProbeEngine(config: config.probe, mailbox: mailbox, holdLimitMs: Self.holdLimit(config))
    let dnsCheck = DNSCheck(mailbox: mailbox)
    defer { dnsCheck.stop() }
    let sharedHosts = SharedHosts(store: store, holder: holder, probe: config.probe, leaseMs: config.schedule.leaseMs)
    let probeThread = Thread {
      nameCurrentThread("td-probe")
      engine.run()
    }
    probeThread.name = "td-probe"
    probeThread.stackSize = 1 << 20
    probeThread.start()

    var random = SystemRandomNumberGenerator()
    var idleUntil: Int64 = 0
    var nextSummaryAt = Timestamp.nowMs() + config.summary.intervalMs
    var nextHeartbeatAt = monotonicMs() + NodeLiveness.heartbeatMs
    var lastHeartbeatAt = monotonicMs()
    // Half the watchdog interval, as sd_watchdog_enabled(3) recommends.
    let watchdogEveryMs = notifier.watchdogIntervalUs.map { Int64($0 / 2000) }
    var nextWatchdogAt: Int64 = 0
    var draining = false
    var abortedInFlight = false
    var failure: Error?
    // Claimed and not yet recorded or released: --once may only stop when this is zero, because a
    // recorded result can make its URL due again at once (confirm_interval = 0).
    var inHand = 0
    var unrecorded: [ProbeResult] = []
    var unreleased: [ClaimedURL] = []
    var undeferred: [Deferral] = []
    // --once waits for URLs handed back because their host was busy (its rate, its connections) or
    // paused for a short while (up to onceMaxPauseWaitMs), or because this machine could not start
    // them: they are part of "everything due now". What a host asked us to leave alone for longer
    // stays deferred in the database, and the run ends.
    var onceWaitUntil: Int64 = 0
    var onceWaitLogged: Int64 = 0
    var pausedDeferrals = 0
    var pausedUntil: Int64 = 0

    logger.info(
      "takedownd started",
      metadata: [
        "db": "\(databasePath)", "holder": "\(holder)", "concurrency": "\(config.probe.concurrency)",
        "once": "\(options.once)", "libcurl": "\(ProbeEngine.curlVersion)",
        "watchdog_ms": "\(watchdogEveryMs.map { String($0 * 2) } ?? "off")",
      ])
    if let metrics {
      metrics.setCounts(try store.countsByStatus(), due: try store.countDue(now: Timestamp.nowMs()), at: 0)
    }
    notifier.notify("READY=1", "STATUS=checking")

    while true {
      let now = Timestamp.nowMs()
      if let every = watchdogEveryMs, monotonicMs() >= nextWatchdogAt {
        // Ping only while the probe loop turns too: a hung libcurl loop must get us restarted.
        if monotonicMs() - engine.lastHeartbeat < max(every, 1000) {
          notifier.notify("WATCHDOG=1")
        } else {
          logger.error("probe loop has not turned; withholding the watchdog ping")
        }
        nextWatchdogAt = monotonicMs() + every
      }
      if reloadRequested.withLock({ r in defer { r = false }; return r }) {
        reload(engine: engine, store: store)
        sharedHosts.update(probe: config.probe)
        idleUntil = 0
      }
      if !draining && (stopping || failure != nil) {
        draining = true
        notifier.notify("STOPPING=1", "STATUS=stopping: waiting for \(engine.outstanding) checks in flight")
        engine.drain(graceMs: failure == nil ? config.probe.shutdownGraceMs : 0)
        logger.info("stopping: no new claims, waiting for checks in flight", metadata: ["in_flight": "\(engine.outstanding)"])
      }
      if draining && !abortedInFlight && stopNowRequested.withLock({ $0 }) {
        abortedInFlight = true
        logger.notice(
          "second stop signal: aborting checks in flight, releasing them unrecorded",
          metadata: ["in_flight": "\(engine.outstanding)"])
        engine.drain(graceMs: 0)
      }
      let concurrency = config.probe.concurrency
      // Keep the engine fed: claim while less than twice the concurrency is in flight or waiting in it.
      // The second concurrency's worth is what the engine starts while this thread records a batch and
      // waits for its fsync; with one (claiming only below the concurrency) the engine ran dry between
      // claims and the keep-alive benchmark lost 20-30 % (0.78-0.89x curl → 1.08-1.10x).
      if !draining && now >= idleUntil && engine.busy < concurrency * 2 {
        do {
          let batch = max(1, min(config.schedule.batchSize, concurrency * 2))
          let claimed = try store.claim(holder: holder, limit: batch, now: now, leaseMs: config.schedule.leaseMs)
          outage.succeeded(logger: logger)
          if claimed.isEmpty {
            let nextDue = try store.nextDueAt()
            if options.once && inHand == 0 && unrecorded.isEmpty && unreleased.isEmpty && undeferred.isEmpty
              && (nextDue == nil || nextDue! > Timestamp.nowMs()) && Timestamp.nowMs() >= onceWaitUntil
            {
              requestStop()
              continue
            }
            // Nothing due: look again when the next URL is due (new enqueues show up within a second).
            idleUntil = min(nextDue ?? Int64.max, now + 1000)
            if options.once && onceWaitUntil > now { idleUntil = min(idleUntil, onceWaitUntil) }
          } else {
            // On a shared queue, a limited host's URLs start only at the daemon holding its lease.
            let (startNow, wait) = try sharedHosts.admit(claimed, now: now)
            if !wait.isEmpty { try store.deferClaims(wait, holder: holder) }
            inHand += startNow.count
            engine.submit(startNow)
          }
        } catch let error as any DatabaseFailure where error.isTransient {
          // Someone held the write lock past the busy timeout (a backup, a long import), or the server is
          // away (a restart, a failover, the network): wait, don't die. PostgreSQL's reconnects are
          // spaced by the connection (1 s doubling to 30 s); a claim is tried again each second.
          outage.failed(error, logger: logger, kept: inHand + unrecorded.count)
          idleUntil = Timestamp.nowMs() + 1000
        } catch {
          logger.error("cannot claim URLs", metadata: ["error": "\(error)"])
          failure = error
          continue
        }
      }
      metrics?.inFlight.record(engine.outstanding)
      // Sleep only when there is nothing to feed; any result or stop request wakes the mailbox at once.
      let feeding = !draining && engine.busy < concurrency * 2 && Timestamp.nowMs() >= idleUntil
      let waitMs: Int64 = feeding ? 0 : (!draining && now < idleUntil ? min(idleUntil - now, 200) : 200)
      var (results, abandoned, deferredClaims, finished) = mailbox.take(timeoutMs: waitMs)
      // Group results into fewer, larger transactions: each commit costs an fsync, and the probe hands
      // results over a few at a time. Waiting a few ms more costs nothing: the leases are still held.
      if !results.isEmpty && !draining && !finished {
        let want = max(64, concurrency / 2)
        let until = monotonicMs() + 20
        while results.count < want && !finished {
          let left = until - monotonicMs()
          if left <= 0 { break }
          let more = mailbox.take(timeoutMs: left)
          results += more.results
          abandoned += more.abandoned
          deferredClaims += more.deferred
          finished = more.finished
        }
      }
      // "Could not resolve" is a removal only if the domain is really gone: those results are looked up
      // again first (they come back through the mailbox, still under their leases).
      if results.contains(where: { $0.reason == .dnsUnresolved && !$0.dnsChecked }) {
        dnsCheck.submit(results.filter { $0.reason == .dnsUnresolved && !$0.dnsChecked })
        results.removeAll { $0.reason == .dnsUnresolved && !$0.dnsChecked }
      }
      inHand -= results.count + abandoned.count + deferredClaims.count
      if store.sharesHosts {
        let back = Timestamp.nowMs()
        sharedHosts.returned(results.lazy.map(\.claim.host), now: back)
        sharedHosts.returned(abandoned.lazy.map(\.host), now: back)
        sharedHosts.returned(deferredClaims.lazy.map(\.claim.host), now: back)
        var pauses: [String: Int64] = [:]
        for d in deferredClaims where d.cause == .hostPaused { pauses[d.claim.host] = max(pauses[d.claim.host] ?? 0, d.at) }
        for (host, until) in pauses {
          do { try sharedHosts.paused(host, until: until) } catch {
            logger.warning("cannot share a host's pause with the other daemons", metadata: ["host": "\(host)", "error": "\(error)"])
          }
        }
        do {
          let lost = try sharedHosts.maintain(now: back)
          if !lost.isEmpty {
            logger.warning(
              "host leases lost to another daemon (this one was stalled past its lease)",
              metadata: ["hosts": "\(lost.prefix(5).joined(separator: ", "))", "count": "\(lost.count)"])
          }
        } catch {
          logger.warning("cannot renew host leases", metadata: ["error": "\(error)"])
        }
      }
      for d in deferredClaims where options.once {
        if d.cause == .hostPaused && d.at - Timestamp.nowMs() > Self.onceMaxPauseWaitMs {
          pausedDeferrals += 1
          pausedUntil = max(pausedUntil, d.at)
          continue
        }
        onceWaitUntil = max(onceWaitUntil, d.at)
        if d.cause == .hostPaused && d.at > onceWaitLogged + 1000 {
          onceWaitLogged = d.at
          logger.info(
            "waiting for a host's short pause before the run ends", metadata: ["until": "\(Timestamp.iso(d.at))"])
        }
      }
      reportLocalFailures(deferredClaims)
      // Results that a busy database refused last time go first; they still hold their leases.
      if !unrecorded.isEmpty || !unreleased.isEmpty || !undeferred.isEmpty {
        results = unrecorded + results
        abandoned = unreleased + abandoned
        deferredClaims = undeferred + deferredClaims
        unrecorded = []
        unreleased = []
        undeferred = []
      }
      do {
        if !results.isEmpty {
          let stats = try store.complete(
            results, holder: holder, config: config.schedule, jitter: { Double.random(in: 0...1, using: &random) })
          outage.succeeded(logger: logger)
          account(stats, results: results)
          // A result can make its URL due at once (confirm_interval = 0, backoff_base = 0): look again now.
          idleUntil = 0
        }
        if !abandoned.isEmpty {
          try store.release(abandoned, holder: holder, now: Timestamp.nowMs())
          logger.info("released unfinished checks", metadata: ["count": "\(abandoned.count)"])
        }
        if !deferredClaims.isEmpty {
          try store.deferClaims(deferredClaims.map { ($0.claim, $0.at) }, holder: holder)
          metrics?.deferred.increment(by: deferredClaims.count)
          logger.debug("handed back checks a host cannot take yet", metadata: ["count": "\(deferredClaims.count)"])
        }
      } catch let error as any DatabaseFailure where error.isTransient && !finished {
        // The whole transaction rolled back: keep everything and try again on the next turn. Results whose
        // lease runs out meanwhile are dropped by the lease fence then (another node has checked them).
        outage.failed(error, logger: logger, kept: results.count + abandoned.count + deferredClaims.count)
        unrecorded = results
        unreleased = abandoned
        undeferred = deferredClaims
      } catch {
        // Results we could not write are not lost: their leases expire and the URLs are checked again.
        logger.error("cannot record results", metadata: ["error": "\(error)"])
        failure = failure ?? error
      }
      copyEventsToStatusLog(store: store)
      if Timestamp.nowMs() >= nextSummaryAt {
        do {
          try emitSummary(store: store, inFlight: engine.outstanding)
        } catch let error as any DatabaseFailure where error.isTransient {
          outage.failed(error, logger: logger, kept: unrecorded.count)
        } catch {
          logger.error("cannot write the summary", metadata: ["error": "\(error)"])
        }
        nextSummaryAt = Timestamp.nowMs() + config.summary.intervalMs
      }
      if config.history.compact && !draining { compactHistoryStep(store: store) }
      if monotonicMs() >= nextHeartbeatAt {
        let at = monotonicMs()
        do {
          if try store.heartbeat(node, now: Timestamp.nowMs(), checks: heartbeatChecks, intervalMs: at - lastHeartbeatAt) {
            heartbeatChecks = 0
            lastHeartbeatAt = at
          } else if failure == nil {
            // Silent past the alive window (paused, cut off), and another daemon took the name meanwhile:
            // two daemons must not work under one name. Its leases are fenced by attempt either way.
            logger.critical("node name taken over by another takedownd; stopping", metadata: ["node": "\(holder)"])
            failure = NodeError.replaced(holder)
            unregistered = true
          }
        } catch let error as any DatabaseFailure where error.isTransient {
          outage.failed(error, logger: logger, kept: unrecorded.count)
        } catch {
          logger.error("cannot record the heartbeat", metadata: ["error": "\(error)"])
        }
        nextHeartbeatAt = monotonicMs() + NodeLiveness.heartbeatMs
      }
      // The engine is done; stop once the DNS check has nothing left and everything it posted is recorded.
      if finished && dnsCheck.pending == 0 && mailbox.isEmpty && unrecorded.isEmpty && unreleased.isEmpty
        && undeferred.isEmpty
      {
        break
      }
      if finished { Thread.sleep(forTimeInterval: 0.01) }  // the mailbox no longer blocks once finished
    }
    if let failure { throw failure }
    if options.once && pausedDeferrals > 0 {
      logger.notice(
        "checks deferred until their hosts can take them",
        metadata: ["deferred": "\(pausedDeferrals)", "until": "\(Timestamp.iso(pausedUntil))"])
    }
    copyEventsToStatusLog(store: store, final: true)
    do {
      try emitSummary(store: store, inFlight: 0)
    } catch let error as any DatabaseFailure where error.isTransient {
      // Stopping while the database is away: what was recorded is recorded; the rest is released by
      // its leases running out.
      logger.warning("cannot write the final summary: database unavailable", metadata: ["error": "\(error)"])
    }
    sharedHosts.letGoOfAll(now: Timestamp.nowMs())
    try? store.unregisterNode(node, now: Timestamp.nowMs())
    unregistered = true
    try? store.closeForShutdown()
    logger.info(
      "takedownd stopped",
      metadata: [
        "checks": "\(totals.recorded)", "newly_taken_down": "\(totals.newlyTakenDown)",
        "reappeared": "\(totals.newlyReappeared)",
      ])
  }

  /// Runs `body` until the database lets it through: a busy or unreachable database is waited for (1 s
  /// doubling to 30 s), logged once. nil when a stop was requested meanwhile.
  private func whenAvailable<T>(_ body: () throws -> T) throws -> T? {
    var delayMs: Int64 = 1000
    while true {
      do {
        let value = try body()
        outage.succeeded(logger: logger)
        return value
      } catch let error as any DatabaseFailure where error.isTransient {
        outage.failed(error, logger: logger, kept: 0)
        let until = monotonicMs() + delayMs
        while monotonicMs() < until {
          if stopping { return nil }
          Thread.sleep(forTimeInterval: 0.05)
        }
        delayMs = min(delayMs * 2, 30_000)
      }
    }
  }

  /// SIGHUP: read the config again; a bad one is logged (naming the keys) and the old one stays.
  /// Checks in flight keep the settings they started with.
  private func reload(engine: ProbeEngine, store: any TakedownStore) {
    guard let reloadConfig else {
      logger.warning("reload requested, but takedownd was started without --config: nothing to reload")
      return
    }
    notifier.notify("RELOADING=1", "MONOTONIC_USEC=\(SDNotifier.monotonicUsec())", "STATUS=reloading")
    do {
      var new = try reloadConfig()
      let wanted = resolveDatabase(new)
      if Self.samePath(wanted, databasePath) == false {
        logger.warning(
          "database cannot change on reload; restart takedownd to use the new one",
          metadata: ["db": "\(databasePath)", "db.configured": "\(wanted)"])
      }
      new.probe = sized(new.probe)
      engine.update(new.probe, holdLimitMs: Self.holdLimit(new))
      if new.log.level != config.log.level, let level = Logger.Level(rawValue: new.log.level) {
        JournalLogHandler.level = level
        logger.notice("log level changed", metadata: ["level": "\(level)"])
      }
      if new.log.statusLog != config.log.statusLog {
        statusLog = try new.log.statusLog.map { try StatusLog(path: $0) }
        if statusLog != nil && config.log.statusLog == nil { try startStatusLog(store: store) }
      } else {
        try statusLog?.reopen()
      }
      config = new
      logger.notice(
        "configuration reloaded",
        metadata: ["concurrency": "\(new.probe.concurrency)", "summary_interval_ms": "\(new.summary.intervalMs)"])
    } catch let error as ConfigError {
      for problem in error.problems {
        logger.error("reload refused: bad configuration, keeping the old one", metadata: ["problem": "\(problem)", "file": "\(error.file)"])
      }
    } catch {
      logger.error("reload refused, keeping the old configuration", metadata: ["error": "\(error)"])
    }
    notifier.notify("READY=1", "STATUS=checking")
  }

  /// Where the status log continues: after the last event it was given (stored in the database, so a
  /// restart, a rotated file or a new path loses nothing), or, the first time a status log is
  /// configured, after the newest event (the history before it is in `takedownctl events`).
  private func startStatusLog(store: any TakedownStore) throws {
    if let saved = try store.statusLogCursor(node: holder) {
      statusCursor = saved
    } else {
      statusCursor = try store.lastEventID()
      try store.setStatusLogCursor(statusCursor, node: holder)
    }
    statusCursorSaved = statusCursor
  }

  /// Copies the transitions recorded since the cursor, whoever made them (this daemon's checks, an
  /// operator's `takedownctl cancel`), into the status log, in event order. The cursor is stored at
  /// most once a second, after an fdatasync of the file: a crash repeats at most that second's lines
  /// (at least once, never lost; `event_id` identifies a repeat).
  private func copyEventsToStatusLog(store: any TakedownStore, final: Bool = false) {
    guard let statusLog else { return }
    do {
      while true {
        let batch = try store.events(afterID: statusCursor, since: nil, limit: 2000)
        guard let last = batch.last else { break }
        guard statusLog.write(batch) else {
          if !statusLogFailing {
            logger.error(
              "cannot write the status log; retrying",
              metadata: ["path": "\(statusLog.path)", "error": "\(String(cString: strerror(errno)))"])
          }
          statusLogFailing = true
          return
        }
        statusLogFailing = false
        statusCursor = last.id
        if batch.count < 2000 { break }
      }
      if statusCursor != statusCursorSaved && (final || monotonicMs() >= nextCursorSaveAt) {
        statusLog.sync()
        try store.setStatusLogCursor(statusCursor, node: holder)
        statusCursorSaved = statusCursor
        nextCursorSaveAt = monotonicMs() + 1000
      }
    } catch let error as any DatabaseFailure where error.isTransient {
      // Held by another writer: the next turn tries again; the file is ahead of the stored cursor.
    } catch {
      logger.error("cannot copy events to the status log", metadata: ["error": "\(error)"])
    }
  }

  /// `probe` with its concurrency capped to what the open-file limit allows (logged when lowered).
  private func sized(_ probe: ProbeConfig) -> ProbeConfig {
    guard let limit = fileLimit, probe.concurrency > limit.maxChecks else { return probe }
    logger.warning(
      "concurrency lowered to what the open file limit allows",
      metadata: [
        "concurrency.configured": "\(probe.concurrency)", "concurrency.used": "\(limit.maxChecks)",
        "limit.soft": "\(limit.soft)", "limit.hard": "\(limit.hard)", "fds.open": "\(limit.open)",
        "fds.per_check": "\(FileLimit.perCheck)", "fds.reserved": "\(FileLimit.reserve)",
      ])
    var sized = probe
    sized.concurrency = limit.maxChecks
    return sized
  }

  /// Checks this machine could not start (out of descriptors, memory, local ports) went back to the
  /// queue unrecorded; that must not go unnoticed, because it slows every check down.
  private func reportLocalFailures(_ deferrals: [Deferral]) {
    var byErrno: [Int32: Int] = [:]
    for d in deferrals {
      if case .localFailure(let e) = d.cause { byErrno[e, default: 0] += 1 }
    }
    for (e, count) in byErrno.sorted(by: { $0.key < $1.key }) {
      logger.error(
        "local resource failure: checks requeued unrecorded",
        metadata: [
          "count": "\(count)", "errno": "\(e)", "error": "\(String(cString: strerror(e)))",
          "retry_ms": "\(ProbeEngine.localRetryMs)",
        ])
    }
  }

  /// The longest host pause (Retry-After, a 429) `--once` sits out; URLs of a host paused for longer
  /// are deferred to the end of the pause and the run does not wait for them.
  static let onceMaxPauseWaitMs: Int64 = 60_000

  /// Two spellings of one path ("./a.sqlite", "a.sqlite", "/x/../x/a.sqlite") are the same database.
  static func samePath(_ a: String, _ b: String) -> Bool {
    a == b || URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
  }

  /// How long a URL may wait in the engine for its host: a quarter of the lease (so it is recorded or
  /// handed back long before the lease ends), at most a minute.
  static func holdLimit(_ c: Config) -> Int64 { max(1000, min(60_000, c.schedule.leaseMs / 4)) }

  private func account(_ s: CompletionStats, results: [ProbeResult]) {
    totals.recorded += s.recorded
    totals.stale += s.stale
    totals.newlyTakenDown += s.newlyTakenDown
    totals.newlyReappeared += s.newlyReappeared
    intervalChecks += s.recorded
    heartbeatChecks += s.recorded
    intervalTakenDown += s.newlyTakenDown
    intervalReappeared += s.newlyReappeared
    if s.stale > 0 {
      logger.warning("results dropped: lease lost before recording", metadata: ["count": "\(s.stale)"])
      metrics?.leaseExpiries.increment(by: s.stale)
    }
    // Every transition is in `events` and, copied from there, in the status log; the journal gets them
    // only at debug level (a first pass over a million URLs would be a million lines), except
    // reappearances, which are rare and need a person.
    for t in s.transitions where t.to == .reappeared || logger.logLevel <= .debug {
      logger.log(
        level: t.to == .reappeared ? .notice : .debug,
        "status changed",
        metadata: ["url.id": "\(t.urlID)", "url": "\(t.url)", "from": "\(t.from.rawValue)", "to": "\(t.to.rawValue)", "reason": "\(t.reason ?? "")"])
    }
    if let metrics {
      for r in results {
        metrics.countCheck(observed: r.observation, reason: r.reason)
        metrics.checkDuration.recordMicroseconds(r.timings.totalUs)
      }
    }
    if logger.logLevel <= .debug {
      for r in results {
        logger.debug(
          "check finished",
          metadata: [
            "url.id": "\(r.claim.id)", "url": "\(r.claim.url)", "observed": "\(r.observation.rawValue)",
            "reason": "\(r.reason.rawValue)", "http.status": "\(r.httpStatus ?? 0)", "curl.code": "\(r.curlCode)",
            "total_ms": "\(r.timings.totalUs / 1000)",
          ])
      }
    }
  }

  /// One bounded transaction of history compaction when one is due (see HistoryCompaction): rounds start
  /// every `compact_interval`; within a round, a step (~10 ms of work) every `compactionGapMs`, so
  /// compaction takes about a tenth of this thread's time and checks are recorded in between.
  private func compactHistoryStep(store: any TakedownStore) {
    let at = monotonicMs()
    guard at >= nextCompactionAt else { return }
    let round = compaction ?? HistoryCompaction(config: config.history)
    compaction = round
    do {
      try store.compactHistory(round, now: Timestamp.nowMs())
      nextCompactionAt = monotonicMs() + Self.compactionGapMs
      guard round.finished else { return }
      let t = round.totals
      logger.log(
        level: t.checksFolded > 0 || t.summariesThinned > 0 ? .info : .debug, "history compacted",
        metadata: [
          "urls": "\(t.urlsExamined)", "urls.touched": "\(t.urlsTouched)", "checks.folded": "\(t.checksFolded)",
          "summaries.thinned": "\(t.summariesThinned)", "pages.freed": "\(t.pagesFreed)",
          "transactions": "\(t.transactions)", "longest_transaction_ms": "\(format(Double(t.longestTransactionUs) / 1000, 1))",
        ])
      compaction = nil
      nextCompactionAt = at + config.history.compactIntervalMs
    } catch let error as any DatabaseFailure where error.isTransient {
      outage.failed(error, logger: logger, kept: 0)
      nextCompactionAt = monotonicMs() + 1000
    } catch {
      logger.error("cannot compact the history", metadata: ["error": "\(error)"])
      compaction = nil
      nextCompactionAt = monotonicMs() + config.history.compactIntervalMs
    }
  }

  static let compactionGapMs: Int64 = 100

  /// One summary line in the log, one row in the summaries table, and systemd's STATUS=.
  private func emitSummary(store: any TakedownStore, inFlight: Int) throws {
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
      "due": "\(summary.due)", "in_flight": "\(inFlight)", "overdue": "\(try store.overdueCount(now: now))",
    ]
    for st in URLStatus.allCases { metadata["status.\(st.rawValue)"] = "\(summary.byStatus[st] ?? 0)" }
    logger.info("summary", metadata: metadata)
    metrics?.setCounts(summary.byStatus, due: summary.due, at: now)
    let counts = URLStatus.allCases.map { "\($0.rawValue) \(summary.byStatus[$0] ?? 0)" }.joined(separator: ", ")
    notifier.notify("STATUS=\(inFlight) in flight, \(format(summary.checksPerSecond, 1)) checks/s; \(counts)")
    intervalStart = now
    intervalChecks = 0
    intervalTakenDown = 0
    intervalReappeared = 0
  }
}
