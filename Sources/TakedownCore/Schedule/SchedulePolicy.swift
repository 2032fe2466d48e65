/// The part of a URL's current state the schedule needs to decide what a check means.
public struct ScheduleState: Sendable, Equatable {
  public var status: URLStatus
  public var reason: Reason?
  /// Removals seen in a row (transient failures neither count nor break the row).
  public var removalStreak: Int
  /// Transient failures in a row; drives the backoff.
  public var failureStreak: Int
  public var firstOnlineAt: Int64?
  public var takenDownAt: Int64?
  public var firstTakenDownAt: Int64?
  /// Start of the current run of transient failures (nil once anything conclusive is seen).
  public var unreachableSince: Int64?
  /// When `give_up_after` was reached in the current run of failures (nil: not given up).
  public var givenUpAt: Int64?

  public init(
    status: URLStatus, reason: Reason? = nil, removalStreak: Int = 0, failureStreak: Int = 0,
    firstOnlineAt: Int64? = nil, takenDownAt: Int64? = nil, firstTakenDownAt: Int64? = nil,
    unreachableSince: Int64? = nil, givenUpAt: Int64? = nil
  ) {
    self.unreachableSince = unreachableSince
    self.givenUpAt = givenUpAt
    self.status = status
    self.reason = reason
    self.removalStreak = removalStreak
    self.failureStreak = failureStreak
    self.firstOnlineAt = firstOnlineAt
    self.takenDownAt = takenDownAt
    self.firstTakenDownAt = firstTakenDownAt
  }
}

/// The state after a check, and when to look again.
public struct ScheduleOutcome: Sendable, Equatable {
  public var state: ScheduleState
  public var nextCheckAt: Int64
  /// Set when the status changed: the event to record.
  public var transition: (from: URLStatus, to: URLStatus)? {
    fromStatus == state.status ? nil : (fromStatus, state.status)
  }
  public var fromStatus: URLStatus
  /// Whether this check decided the state's reason (and so the URL's HTTP status is this check's):
  /// false for the checks of a taken_down URL that leave it taken_down (a removal seen again, a
  /// transient failure), which keep the reason and HTTP status of the check that confirmed the removal.
  public var decided = true
}

/// The status state machine. Pure: the caller passes the time and the jitter draw, so every branch is
/// unit-tested without clocks or randomness.
///
/// - online seen: `online` (or `reappeared` when it had been `taken_down`; it stays `reappeared` while it
///   keeps answering, so nobody misses that it came back); recheck after `recheck_interval`.
/// - removal seen: counts towards `confirmations`; until then the URL is `pending` and is rechecked after
///   `confirm_interval`; then `taken_down`, watched every `watch_interval` to catch a reappearance.
/// - transient failure: `unreachable` with exponential backoff; a `taken_down` URL stays `taken_down` (a
///   timeout is not a reappearance) and is retried on the same backoff, never later than `watch_interval`.
public enum SchedulePolicy {
  ///
  /// - `notBefore`: a time the server asked us to wait for (Retry-After); the next check is never earlier.
  /// - give up: a URL whose transient failures have lasted `give_up_after` is flagged (`given_up_at`,
  ///   reason `persistently_unreachable`, still `unreachable`) or, with `on_give_up = "taken_down"`,
  ///   counted as taken down with that reason. Anything conclusive ends the run of failures.
  public static func apply(
    _ old: ScheduleState, observation: Observation, reason: Reason, now: Int64, config: ScheduleConfig,
    jitter: Double = 0.5, notBefore: Int64? = nil
  ) -> ScheduleOutcome {
    var s = old
    var next: Int64
    var decided = true
    if observation != .transient {
      s.unreachableSince = nil
      s.givenUpAt = nil
    }
    switch observation {
    case .online:
      s.removalStreak = 0
      s.failureStreak = 0
      s.status = (old.status == .takenDown || old.status == .reappeared) ? .reappeared : .online
      s.reason = reason
      if s.firstOnlineAt == nil { s.firstOnlineAt = now }
      next = now + config.recheckIntervalMs
    case .removed:
      s.failureStreak = 0
      s.removalStreak = old.removalStreak + 1
      if old.status == .takenDown {
        next = now + config.watchIntervalMs
        decided = false
      } else if s.removalStreak >= config.confirmations {
        s.status = .takenDown
        s.reason = reason
        s.takenDownAt = now
        if s.firstTakenDownAt == nil { s.firstTakenDownAt = now }
        next = now + config.watchIntervalMs
      } else {
        s.status = .pending
        s.reason = reason
        next = now + config.confirmIntervalMs
      }
    case .transient:
      s.failureStreak = old.failureStreak + 1
      let delay = backoff(failures: s.failureStreak, config: config, jitter: jitter)
      if old.status == .takenDown {
        next = now + min(delay, config.watchIntervalMs)
        decided = false
      } else {
        let since = old.unreachableSince ?? now
        s.unreachableSince = since
        s.status = .unreachable
        s.reason = reason
        next = now + delay
        if config.giveUpAfterMs > 0 && now - since >= config.giveUpAfterMs {
          if s.givenUpAt == nil { s.givenUpAt = now }
          s.reason = .persistentlyUnreachable
          if config.onGiveUp == .takenDown {
            s.status = .takenDown
            s.takenDownAt = now
            if s.firstTakenDownAt == nil { s.firstTakenDownAt = now }
            next = now + config.watchIntervalMs
          }
        }
      }
    }
    if let notBefore, notBefore > next { next = notBefore }
    return ScheduleOutcome(state: s, nextCheckAt: next, fromStatus: old.status, decided: decided)
  }

  /// base · 2^(failures−1), capped at backoff_max, spread by ±10 % (jitter 0…1, 0.5 = none) so that the
  /// URLs of a host that failed together do not come back together.
  public static func backoff(failures: Int, config: ScheduleConfig, jitter: Double) -> Int64 {
    var capped = max(config.backoffBaseMs, 0)
    var doublings = max(failures - 1, 0)
    while doublings > 0 && capped < config.backoffMaxMs {
      capped = capped == 0 ? 0 : capped * 2
      doublings -= 1
      if capped == 0 { break }
    }
    capped = min(capped, config.backoffMaxMs)
    let spread = Double(capped) * (0.9 + 0.2 * min(max(jitter, 0), 1))
    return min(Int64(spread), config.backoffMaxMs)
  }
}
