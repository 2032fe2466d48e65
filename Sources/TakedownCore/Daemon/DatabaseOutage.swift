import Logging

/// A database that is busy (SQLite: another writer past the busy timeout) or away (PostgreSQL
/// restarting, failing over, cut off) is logged once when it starts and once when it ends, not at every
/// call that finds it so: the loop retries every turn, and a minute's outage must not be a thousand lines.
struct DatabaseOutage {
  /// When the current outage started (monotonic ms); nil while the database answers.
  private(set) var since: Int64?
  private var failures = 0

  /// A call failed for a reason that passes (`DatabaseFailure.isTransient`). `kept`: results and claims
  /// held in memory until they can be written.
  mutating func failed(_ error: any DatabaseFailure, logger: Logger, kept: Int) {
    failures += 1
    guard since == nil else { return }
    since = monotonicMs()
    if error.sysExit == .tempFail {
      logger.warning(
        "database unreachable: retrying with backoff, results kept in memory",
        metadata: ["error": "\(error)", "kept": "\(kept)"])
    } else {
      logger.warning(
        "database busy: retrying shortly, results kept in memory", metadata: ["error": "\(error)", "kept": "\(kept)"])
    }
  }

  /// A call went through: ends the outage, if there was one.
  mutating func succeeded(logger: Logger) {
    guard let start = since else { return }
    logger.notice(
      "database available again", metadata: ["outage_ms": "\(monotonicMs() - start)", "failed_calls": "\(failures)"])
    since = nil
    failures = 0
  }
}
