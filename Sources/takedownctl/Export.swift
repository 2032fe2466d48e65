import ArgumentParser
import TakedownCore

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write every report with its URL's state as CSV, JSON or JSON lines.",
    discussion: """
      One row per report: a URL reported in two campaigns (or under two notices) gives two rows with the \\
      same URL columns and url_id. Columns: url, campaign, notice, rightholder, work, reported_at, \\
      deadline, the extra fields of imported reports, then url_id, host, status, reason, http_status (of \\
      the check that decided the status), taken_down_at, first_taken_down_at, last_checked_at, \\
      last_check_reason, last_check_http_status, final_url (of the latest check), checks. \\
      Times are ISO 8601 UTC. The CSV (RFC 4180, CRLF) imports back with `takedownctl import`. Rows are \\
      streamed: memory stays constant whatever the count.
      """)

  enum Format: String, ExpressibleByArgument, CaseIterable {
    case csv, json, jsonl
  }

  @OptionGroup var database: DatabaseOptions
  @Option(name: .long, help: "csv, json (one array) or jsonl (one object per line).") var format: Format = .csv
  @Option(name: [.short, .long], help: "Write to this file instead of standard output.") var output: String = "-"
  @Option(name: .long, help: "Only reports of this campaign.") var campaign: String?
  @Option(name: .long, help: "Only URLs of this host.") var host: String?
  @Option(name: .long, help: "Only URLs with this status (\(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))).")
  var status: String?
  @Option(name: .customLong("reported-since"), help: "Only reports made at or after this time (ISO 8601, or a duration back from now such as 30d).")
  var reportedSince: String?

  func validate() throws {
    if let status, URLStatus(rawValue: status) == nil {
      throw ValidationError(
        "--status '\(status)' is not one of \(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    if let reportedSince, ReportFilter.parseSince(reportedSince, now: 0) == nil {
      throw ValidationError("--reported-since '\(reportedSince)' is not an ISO 8601 date or a duration such as 30d")
    }
  }

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let now = Timestamp.nowMs()
    let filter = ExportFilter(
      campaign: campaign, host: host, status: status.flatMap(URLStatus.init(rawValue:)),
      reportedSince: reportedSince.flatMap { ReportFilter.parseSince($0, now: now) })
    let sink: ByteSink
    switch ByteSink.open(path: output) {
    case .success(let s): sink = s
    case .failure(let why):
      printError("takedownctl: cannot write \(output): \(why)")
      throw ExitCode(SysExit.cantCreate.rawValue)
    }
    let progress = ProgressMeter(unit: "rows")
    var rows = 0
    // Stops the walk at the first failed write (a full disk, a closed pipe) instead of reading on.
    struct WriteFailed: Error {}
    func written() throws {
      rows += 1
      progress.update(rows)
      if sink.error != nil { throw WriteFailed() }
    }
    func write() throws {
      switch format {
      case .csv:
        let keys = try store.exportExtraKeys(filter)
        sink.append { CSVWriter.append(record: ExportRow.reportColumns + keys + ExportRow.stateColumns, to: &$0) }
        try store.exportRows(filter) { row in
          sink.append { row.appendCSV(extraKeys: keys, to: &$0) }
          try written()
        }
      case .json:
        sink.write("[")
        try store.exportRows(filter) { row in
          sink.append {
            $0.append(contentsOf: rows == 0 ? [10] : [44, 10])
            row.appendJSON(to: &$0)
          }
          try written()
        }
        sink.write(rows == 0 ? "]\n" : "\n]\n")
      case .jsonl:
        try store.exportRows(filter) { row in
          sink.append {
            row.appendJSON(to: &$0)
            $0.append(10)
          }
          try written()
        }
      }
    }
    do {
      // One read transaction: the extra columns found first are those of the rows written next.
      try withStoreErrors { try store.readConsistently { try write() } }
    } catch is WriteFailed {}
    progress.done()
    if let err = sink.finish() {
      printError("takedownctl: writing \(output): \(err)")
      throw ExitCode(SysExit.ioError.rawValue)
    }
    if output != "-" { Output.line("exported \(rows) rows to \(output)") }
  }
}
