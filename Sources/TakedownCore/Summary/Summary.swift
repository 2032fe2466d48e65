/// One summary interval as the daemon logs it and stores it.
public struct StoredSummary: Sendable, Equatable {
  public var at: Int64
  public var intervalMs: Int64
  public var holder: String
  /// Checks recorded in the interval.
  public var checks: Int
  public var checksPerSecond: Double
  public var byStatus: [URLStatus: Int]
  public var newlyTakenDown: Int
  public var newlyReappeared: Int
  /// URLs due at the end of the interval (the backlog).
  public var due: Int

  public init(
    at: Int64, intervalMs: Int64, holder: String, checks: Int, checksPerSecond: Double, byStatus: [URLStatus: Int],
    newlyTakenDown: Int, newlyReappeared: Int, due: Int
  ) {
    self.at = at
    self.intervalMs = intervalMs
    self.holder = holder
    self.checks = checks
    self.checksPerSecond = checksPerSecond
    self.byStatus = byStatus
    self.newlyTakenDown = newlyTakenDown
    self.newlyReappeared = newlyReappeared
    self.due = due
  }

  public var json: JSON {
    .object([
      ("at", .time(at)), ("interval_ms", .int(intervalMs)), ("holder", .string(holder)),
      ("checks", .int(Int64(checks))), ("checks_per_second", .double((checksPerSecond * 10).rounded() / 10)),
      ("by_status", statusObject(byStatus)), ("newly_taken_down", .int(Int64(newlyTakenDown))),
      ("newly_reappeared", .int(Int64(newlyReappeared))), ("due", .int(Int64(due))),
    ])
  }
}

/// status → count with every status present, in the documented order.
public func statusObject(_ counts: [URLStatus: Int]) -> JSON {
  .object(URLStatus.allCases.map { ($0.rawValue, .int(Int64(counts[$0] ?? 0))) })
}

/// `takedownctl summary`: the database's totals now, plus the last stored interval.
public struct SummaryReport: Sendable {
  public var generatedAt: Int64
  public var byStatus: [URLStatus: Int]
  public var due: Int
  public var leased: Int
  public var last: StoredSummary?
  /// The reporting figures (`takedownctl summary`); nil in the daemon's own summary.
  public var figures: ReportFigures?

  public var total: Int { byStatus.values.reduce(0, +) }

  public static func load(from store: any TakedownStore, now: Int64) throws -> SummaryReport {
    SummaryReport(
      generatedAt: now, byStatus: try store.countsByStatus(), due: try store.countDue(now: now),
      leased: try store.countLeased(), last: try store.lastSummary())
  }

  /// The totals and reporting figures of the URLs `filter` selects (totals by status are then theirs;
  /// the backlog and the last interval stay the whole queue's).
  public static func load(from store: any TakedownStore, now: Int64, filter: ReportFilter, topHosts: Int = 10) throws
    -> SummaryReport
  {
    let figures = try store.summaryFigures(filter, now: now, topHosts: topHosts)
    return SummaryReport(
      generatedAt: now, byStatus: figures.byStatus, due: try store.countDue(now: now),
      leased: try store.countLeased(), last: try store.lastSummary(), figures: figures)
  }

  public var json: JSON {
    .object([
      ("generated_at", .time(generatedAt)), ("total", .int(Int64(total))), ("by_status", statusObject(byStatus)),
      ("due", .int(Int64(due))), ("leased", .int(Int64(leased))), ("last_interval", last?.json ?? .null),
    ] + (figures?.jsonFields ?? []))
  }

  /// The text table people read.
  public var text: String {
    var lines: [String] = []
    let width = URLStatus.allCases.map(\.rawValue.count).max() ?? 10
    for st in URLStatus.allCases {
      let n = byStatus[st] ?? 0
      let pct = total > 0 ? Double(n) * 100 / Double(total) : 0
      lines.append(
        st.rawValue.padding(width) + "  " + String(n).leftPadding(10) + "  " + format(pct, 1).leftPadding(6) + " %")
    }
    lines.append("total".padding(width) + "  " + String(total).leftPadding(10))
    lines.append("due now: \(due)   leased: \(leased)")
    if let l = last {
      lines.append(
        "last interval (\(Timestamp.iso(l.at)), \(l.intervalMs / 1000)s): \(l.checks) checks, "
          + "\(format(l.checksPerSecond, 1))/s, \(l.newlyTakenDown) newly taken down, \(l.newlyReappeared) reappeared")
    }
    if let figures { lines += [""] + figures.textLines }
    return lines.joined(separator: "\n")
  }
}

func format(_ d: Double, _ decimals: Int) -> String {
  var p = 1.0
  for _ in 0..<decimals { p *= 10 }
  let r = (d * p).rounded() / p
  var s = String(r)
  if let dot = s.firstIndex(of: ".") {
    let frac = s[s.index(after: dot)...]
    if frac.count < decimals { s += String(repeating: "0", count: decimals - frac.count) }
  } else if decimals > 0 {
    s += "." + String(repeating: "0", count: decimals)
  }
  return s
}

extension String {
  func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
  func leftPadding(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
