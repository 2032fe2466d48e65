import ArgumentParser
import TakedownCore

/// The selection and window shared by `summary` and `report`.
struct ReportFilterOptions: ParsableArguments {
  @Option(name: .long, help: "Only URLs reported in this campaign.") var campaign: String?
  @Option(name: .long, help: "Only URLs of this host.") var host: String?
  @Option(
    name: .long,
    help: "Count removals, reappearances and time-to-takedown from this time on (ISO 8601, UTC without a zone, or a duration back from now such as 7d)."
  )
  var since: String?

  func validate() throws {
    if let since, ReportFilter.parseSince(since, now: 0) == nil {
      throw ValidationError("--since '\(since)' is not an ISO 8601 date (2026-03-01, 2026-03-01T12:00Z) or a duration such as 7d")
    }
  }

  func filter(now: Int64) -> ReportFilter {
    ReportFilter(campaign: campaign, host: host, since: since.flatMap { ReportFilter.parseSince($0, now: now) })
  }
}

struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a self-contained HTML report with charts (inline SVG, no scripts, works offline and on paper).",
    discussion: """
      The report has the key figures, URLs by status over time (from the summaries takedownd stores; \\
      always the whole queue), takedowns per day, the time-to-takedown distribution, the hosts with the \\
      most URLs still online, the campaign table and the overdue list. The filters mean what they mean \\
      for `summary`.
      """)

  @OptionGroup var database: DatabaseOptions
  @OptionGroup var filters: ReportFilterOptions
  @Option(name: .long, help: "The HTML file to write (- for standard output).") var html: String
  @Option(name: .long, help: "How many hosts still online to chart.") var top = 15
  @Option(name: .customLong("overdue-limit"), help: "At most this many overdue URLs in the list.") var overdueLimit = 500

  func validate() throws {
    try filters.validate()
    if top < 0 || overdueLimit < 0 { throw ValidationError("--top and --overdue-limit must be 0 or more") }
  }

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let now = Timestamp.nowMs()
    let filter = filters.filter(now: now)
    let page = try withStoreErrors {
      try HTMLReport.load(from: store, filter: filter, now: now, topHosts: top, overdueLimit: overdueLimit).render()
    }
    let sink: ByteSink
    switch ByteSink.open(path: html) {
    case .success(let s): sink = s
    case .failure(let why):
      printError("takedownctl: cannot write \(html): \(why)")
      throw ExitCode(SysExit.cantCreate.rawValue)
    }
    sink.write(page)
    if let err = sink.finish() {
      printError("takedownctl: writing \(html): \(err)")
      throw ExitCode(SysExit.ioError.rawValue)
    }
    if html != "-" { Output.line("wrote \(html)") }
  }
}
