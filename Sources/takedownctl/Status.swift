import ArgumentParser
import TakedownCore

struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show one URL's current state and its reports.")

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Print JSON.") var json = false
  @Argument(help: "The URL (any spelling of it) or its id.") var urlOrID: String

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let rec = try lookupOrExit(store, urlOrID)
    if json {
      Output.line(rec.json.rendered(pretty: true))
      return
    }
    func t(_ v: Int64?) -> String { v.map(Timestamp.iso) ?? "-" }
    var lines = [
      "url:             \(rec.url.terminalSafe)",
      "id:              \(rec.id)",
      "status:          \(rec.status.rawValue)",
      // Reason and HTTP status of the check that decided the status; the latest check may differ.
      "reason:          \(rec.reason?.terminalSafe ?? "-")",
      "http status:     \(rec.httpStatus.map(String.init) ?? "-")",
      "checks:          \(rec.checks)",
      "last check:      \(rec.lastCheck?.line ?? t(rec.lastCheckedAt))",
      "next check:      \(t(rec.nextCheckAt))",
      "first online:    \(t(rec.firstOnlineAt))",
      "taken down:      \(t(rec.takenDownAt))",
    ]
    if let u = rec.unreachableSince { lines.append("unreachable since: \(t(u))") }
    if let g = rec.givenUpAt { lines.append("given up:        \(t(g)) (unreachable longer than give_up_after)") }
    if let h = rec.leaseHolder { lines.append("leased by:       \(h.terminalSafe) until \(t(rec.leaseUntil))") }
    for r in rec.reports { lines.append("report:          " + r.line) }
    Output.line(lines.joined(separator: "\n"))
  }
}

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List URLs, optionally filtered.")

  @OptionGroup var database: DatabaseOptions
  @Option(name: .long, help: "Only this status (\(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))).")
  var status: String?
  @Option(name: .long, help: "Only this host.") var host: String?
  @Option(name: .long, help: "Only URLs reported in this campaign.") var campaign: String?
  @Option(name: .long, help: "At most this many rows.") var limit: Int?
  @Flag(name: .long, help: "Print JSON (an array).") var json = false

  func validate() throws {
    if let status, URLStatus(rawValue: status) == nil {
      throw ValidationError(
        "--status '\(status)' is not one of \(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
  }

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let filter = ListFilter(status: status.flatMap(URLStatus.init(rawValue:)), host: host, campaign: campaign, limit: limit,
      withReports: json)
    var first = true
    if json { Output.write("[") }
    try withStoreErrors {
      try store.list(filter) { rec in
        if json {
          Output.write((first ? "\n  " : ",\n  ") + rec.json.rendered())
        } else {
          Output.line(
            "\(rec.id)\t\(rec.status.rawValue)\t\(rec.reason?.terminalSafe ?? "-")\t\(rec.httpStatus.map(String.init) ?? "-")\t\(rec.url.terminalSafe)")
        }
        first = false
        try Output.check()
      }
    }
    if json { Output.line(first ? "]" : "\n]") }
  }
}

struct History: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show every check of one URL, oldest first, with the runs compaction folded in their place.")

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Print JSON.") var json = false
  @Argument(help: "The URL or its id.") var urlOrID: String

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let rec = try lookupOrExit(store, urlOrID)
    let (checks, folds) = try withStoreErrors {
      try store.readConsistently { (try store.history(urlID: rec.id), try store.folds(urlID: rec.id)) }
    }
    let folded = folds.reduce(0) { $0 + $1.count }
    if json {
      Output.line(
        JSON.object([
          ("url", .string(rec.url)), ("id", .int(rec.id)), ("status", .string(rec.status.rawValue)),
          ("checks", .array(checks.map(\.json))), ("checks_folded", .int(Int64(folded))),
          ("folds", .array(folds.map(\.json))),
        ]).rendered(pretty: true))
      return
    }
    Output.line(
      "\(rec.url.terminalSafe) (id \(rec.id)): \(rec.status.rawValue), \(checks.count + folded) checks"
        + (folded > 0 ? " (\(folded) folded by compaction)" : ""))
    var pending = folds[...]
    for c in checks {
      while let f = pending.first, f.firstAt < c.checkedAt {
        Output.line(f.line)
        pending = pending.dropFirst()
      }
      Output.line(
        "\(Timestamp.iso(c.checkedAt))\t\(c.observed.terminalSafe)\t\(c.status.terminalSafe)\t\(c.reason.terminalSafe)"
          + "\thttp \(c.httpStatus.map(String.init) ?? "-")\tcurl \(c.curlCode)\t\(c.timings.totalUs / 1000) ms"
          + "\t\(c.remoteIP?.terminalSafe ?? "-")\t\(c.finalURL?.terminalSafe ?? "-")")
    }
    for f in pending { Output.line(f.line) }
  }
}

struct Summary: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Counts by status, takedowns, time-to-takedown, overdue URLs, hosts still online, campaigns.",
    discussion: """
      --campaign and --host select URLs. --since opens the window for what happened: removals, \
      reappearances and time-to-takedown count only events at or after it. Totals by status, overdue \
      URLs, hosts still online and the campaign table describe the selected URLs now.
      """)

  @OptionGroup var database: DatabaseOptions
  @OptionGroup var filters: ReportFilterOptions
  @Option(name: .long, help: "How many hosts still online to list.") var top = 10
  @Flag(name: .long, help: "Print JSON.") var json = false

  func validate() throws {
    try filters.validate()
    if top < 0 { throw ValidationError("--top must be 0 or more") }
  }

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let now = Timestamp.nowMs()
    let report = try withStoreErrors {
      try SummaryReport.load(from: store, now: now, filter: filters.filter(now: now), topHosts: top)
    }
    Output.line(json ? report.json.rendered(pretty: true) : report.text)
  }
}

struct Cancel: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Withdraw URLs: they are never checked again.")

  @OptionGroup var database: DatabaseOptions
  @Argument(help: ArgumentHelp("The URLs (any spelling) or their ids.", valueName: "url-or-id")) var urlsOrIDs: [String]

  func run() throws {
    let store = try database.open(create: false)
    var missing = 0
    for u in urlsOrIDs {
      guard let rec = try withStoreErrors({ try store.lookup(u) }) else {
        printError("takedownctl: '\(u)' is not in the queue")
        missing += 1
        continue
      }
      _ = try withStoreErrors { try store.cancel(id: rec.id, now: Timestamp.nowMs()) }
      Output.line("cancelled \(rec.url.terminalSafe)")
    }
    if missing > 0 { throw ExitCode(SysExit.dataError.rawValue) }
  }
}

struct Evidence: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a case-file record: when the URL was last seen online, and when and how it was seen removed.")

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Print JSON.") var json = false
  @Argument(help: "The URL or its id.") var urlOrID: String

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let rec = try lookupOrExit(store, urlOrID)
    let record = try withStoreErrors { try EvidenceRecord.load(from: store, url: rec) }
    Output.line(json ? record.json.rendered(pretty: true) : record.text)
  }
}
