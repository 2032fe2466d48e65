/// Bounded history: which check rows outlive `keep_all_for`, and what stands in for the rest.
///
/// Every check younger than `keep_all_for` stays. An older check is deleted ("folded") only when all of
/// these hold, so every kind of check a case file or a figure relies on stays:
/// - it is neither the first nor the last of its run of identical results (observed, status after the
///   check, reason, HTTP status): the first shows when a state began, the last when it was last seen so,
///   and a change of status or reason starts a new run, so every check that changed either is kept;
/// - it did not count towards a confirmation: a removal seen while the URL was not yet taken_down
///   (the streak that `confirmations` counts), an online check of a taken_down URL (a reappearance), a
///   failure of an URL that was not yet unreachable;
/// - no event, first-seen or takedown figure points at it: its time is not that of one of the URL's
///   events (each event is written with the time of the check that caused it), nor its `first_online_at`,
///   `taken_down_at`, `first_taken_down_at`, `unreachable_since` or `given_up_at`. The last online check
///   before a takedown is the last of its run, and `evidence`'s "last seen online" is the last online
///   check of all: both are always kept.
///
/// The folded checks of one stretch between two kept checks become one fold note (`CheckFold`): how
/// many, the first and last folded time, and the result they repeated. A later compaction that folds
/// more of the same run (the same result, nothing kept in between) merges into that note, so a run of a
/// year is one note. Events are never deleted; `urls.checks` still counts every check ever made.
public enum HistoryRule {
  /// What makes two checks "identical results".
  struct Key: Equatable {
    var observed: String
    var status: String
    var reason: String
    var httpStatus: Int?
  }

  /// One check as the rule sees it.
  struct Row: Equatable {
    var id: Int64
    var attempt: Int64
    var checkedAt: Int64
    var observed: String
    var status: String
    var reason: String
    var httpStatus: Int?

    var key: Key { Key(observed: observed, status: status, reason: reason, httpStatus: httpStatus) }

    /// A check that moved a streak towards a change of status.
    var countedTowardsChange: Bool {
      switch observed {
      case Observation.removed.rawValue: return status != URLStatus.takenDown.rawValue
      // The first online check of a taken_down URL changes its status (to reappeared): kept as such.
      case Observation.online.rawValue: return false
      default: return status != URLStatus.unreachable.rawValue && status != URLStatus.takenDown.rawValue
      }
    }
  }

  /// What compaction does to one URL.
  struct Plan: Equatable {
    /// Checks to delete.
    var delete: [Int64] = []
    /// Fold notes to write: an existing one (with its id) grown, or a new one (id nil).
    var folds: [CheckFold] = []
    /// Where the next compaction of this URL starts reading (an attempt whose row is kept for good).
    var mark: Int64
  }

  /// Plans one URL's compaction.
  ///
  /// `rows`: the URL's checks older than the cutoff, from the previous `mark` on, by attempt. The first
  /// row is kept for good: the previous mark (or the URL's first check). The last row stays until a later
  /// compaction sees the check after it. `folds`: the URL's notes after the first row's time.
  /// `pinned`: the times of the URL's events and first-seen/takedown figures.
  static func plan(urlID: Int64, rows: [Row], folds: [CheckFold], pinned: Set<Int64>, mark: Int64) -> Plan {
    var plan = Plan(mark: mark)
    guard rows.count >= 3 else {
      if let first = rows.first { plan.mark = max(mark, first.attempt) }
      return plan
    }
    var keep = [Bool](repeating: true, count: rows.count)
    for i in 1..<(rows.count - 1) {
      let r = rows[i]
      let k = r.key
      if k == rows[i - 1].key && k == rows[i + 1].key && !r.countedTowardsChange && !pinned.contains(r.checkedAt) {
        keep[i] = false
      }
    }
    var existing = folds
    var i = 1
    while i < rows.count - 1 {
      guard !keep[i] else {
        i += 1
        continue
      }
      let before = rows[i - 1]
      var j = i
      while j < rows.count - 1 && !keep[j] { j += 1 }
      let segment = rows[i..<j]
      plan.delete += segment.map(\.id)
      let first = segment.first!
      let last = segment.last!
      if let n = existing.firstIndex(where: {
        $0.firstAt > before.checkedAt && $0.lastAt < first.checkedAt && $0.key == first.key
      }) {
        existing[n].lastAt = last.checkedAt
        existing[n].count += segment.count
        plan.folds.append(existing[n])
        existing.remove(at: n)
      } else {
        plan.folds.append(
          CheckFold(
            id: nil, urlID: urlID, firstAt: first.checkedAt, lastAt: last.checkedAt, count: segment.count,
            observed: first.observed, status: first.status, reason: first.reason, httpStatus: first.httpStatus))
      }
      i = j
    }
    let lastKept = (0..<(rows.count - 1)).last { keep[$0] } ?? 0
    plan.mark = rows[lastKept].attempt
    return plan
  }
}

/// A run of checks that compaction deleted, in place of them: `count` checks from `firstAt` to `lastAt`,
/// each of which saw `observed` with `reason` and HTTP status `httpStatus` and left the URL `status`.
public struct CheckFold: Sendable, Equatable {
  /// nil until stored.
  public var id: Int64?
  public var urlID: Int64
  public var firstAt: Int64
  public var lastAt: Int64
  public var count: Int
  public var observed: String
  public var status: String
  public var reason: String
  public var httpStatus: Int?

  public init(
    id: Int64?, urlID: Int64, firstAt: Int64, lastAt: Int64, count: Int, observed: String, status: String,
    reason: String, httpStatus: Int?
  ) {
    self.id = id
    self.urlID = urlID
    self.firstAt = firstAt
    self.lastAt = lastAt
    self.count = count
    self.observed = observed
    self.status = status
    self.reason = reason
    self.httpStatus = httpStatus
  }

  var key: HistoryRule.Key { .init(observed: observed, status: status, reason: reason, httpStatus: httpStatus) }

  /// "… 412 identical checks (online, http_200, http 200) from 2026-01-03… to 2026-04-30… folded …", for people.
  public var line: String {
    "… \(count) identical check\(count == 1 ? "" : "s") (\(observed.terminalSafe), \(reason.terminalSafe), "
      + "http \(httpStatus.map(String.init) ?? "-"), status \(status.terminalSafe)) from \(Timestamp.iso(firstAt)) "
      + "to \(Timestamp.iso(lastAt)) folded by compaction …"
  }

  public var json: JSON {
    .object([
      ("folded", .int(Int64(count))), ("first_checked_at", .time(firstAt)), ("last_checked_at", .time(lastAt)),
      ("observed", .string(observed)), ("status", .string(status)), ("reason", .string(reason)),
      ("http_status", .optional(httpStatus)),
    ])
  }
}
