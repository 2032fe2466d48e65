import ArgumentParser
import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Import reported URLs with their report metadata from a CSV file.",
    discussion: """
      The first row names the columns: url (required), campaign, notice, rightholder, work, reported_at, \\
      deadline; any other column is kept with the report as an extra field (empty cells are not stored). \\
      The state columns that export writes (status, reason, taken_down_at, ...) are ignored, so an export \\
      imports back. RFC 4180 quoting; a UTF-8 byte order mark and CRLF or LF line ends are fine. Dates are \\
      ISO 8601 dates or date-times; without a zone they are UTC. An empty reported_at means now.

      Every bad row is reported on stderr as FILE:LINE: reason; the good rows are imported, and the exit \\
      code is then 65. Importing the same file again adds nothing.
      """)

  @OptionGroup var database: DatabaseOptions
  @Option(name: .long, help: "The CSV file, or - for standard input.") var csv: String

  func run() throws {
    let fd = csv == "-" ? 0 : open(csv, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      printError("takedownctl: cannot read \(csv): \(String(cString: strerror(errno)))")
      throw ExitCode(SysExit.noInput.rawValue)
    }
    defer { if fd != 0 { close(fd) } }
    if let why = notAReadableFile(fd) {
      printError("takedownctl: cannot read \(csv): \(why)")
      throw ExitCode(SysExit.noInput.rawValue)
    }
    let name = csv == "-" ? "<stdin>" : csv
    let store = try database.open(create: true)
    try withStoreErrors { try store.prepareForBulkWrites() }
    var importer = CSVBatchImporter(store: store)
    let progress = ProgressMeter(unit: "rows")
    var reader = CSVReader(fd: fd)
    var header: CSVImportHeader?
    var headerFailed = false
    try withStoreErrors {
      try reader.forEach { record in
        if headerFailed { return }
        if let error = record.error {
          importer.reject("\(name):\(record.line)", error)
          if header == nil { headerFailed = true }
          return
        }
        guard let h = header else {
          do {
            header = try CSVImportHeader(record.fields)
          } catch {
            printError("\(name):\(record.line): \(error)")
            headerFailed = true
          }
          return
        }
        switch h.row(record.fields) {
        case .success(let row): try importer.add(row)
        case .failure(let why): importer.reject("\(name):\(record.line)", why.description)
        }
        progress.update(importer.rows)
      }
      try importer.flush()
    }
    progress.done()
    if let err = reader.ioError {
      printError("takedownctl: reading \(name): \(err)")
      throw ExitCode(SysExit.ioError.rawValue)
    }
    if header == nil {
      if !headerFailed { printError("\(name):1: the file is empty (the first row must name the columns)") }
      throw ExitCode(SysExit.dataError.rawValue)
    }
    let c = importer.counts
    warnAboutCancelled(c)
    Output.line(
      "rows \(importer.rows): new \(c.new), already queued \(c.alreadyQueued), reports added \(c.reportsAdded), "
        + "duplicates \(importer.accepted - c.reportsAdded), rejected \(importer.rejected)")
    if importer.rejected > 0 { throw ExitCode(SysExit.dataError.rawValue) }
  }
}

/// Enqueues imported rows in the same large transactions as `enqueue`, then stores their extra fields.
struct CSVBatchImporter {
  let store: any TakedownStore
  var pending: [EnqueueItem] = []
  var extras: [ReportExtra] = []
  var counts = EnqueueCounts()
  /// Data rows seen (good and bad).
  var rows = 0
  var accepted = 0
  var rejected = 0

  init(store: any TakedownStore) {
    self.store = store
    pending.reserveCapacity(BatchImporter.batchSize)
  }

  mutating func add(_ row: ImportRow) throws {
    rows += 1
    accepted += 1
    pending.append(row.item)
    if let json = ExtraFields.encode(row.extra) {
      let r = row.item.report
      extras.append(ReportExtra(url: row.item.url.url, campaign: r.campaign, notice: r.notice, json: json))
    }
    if pending.count >= BatchImporter.batchSize { try flush() }
  }

  mutating func reject(_ source: String, _ why: String) {
    rows += 1
    rejected += 1
    printError("\(source): \(why)")
  }

  mutating func flush() throws {
    guard !pending.isEmpty else { return }
    // In file order: the store inserts in URL order itself and keeps the items' order among the rows of
    // one URL, so that of two rows with the same report the first one's extras win.
    counts += try store.enqueue(pending, now: Timestamp.nowMs())
    // A second transaction: enqueue is the queue's own. Should this one be lost (a crash in between),
    // importing the file again fills in the extras, since only reports without extras are updated.
    try store.setReportExtras(extras)
    pending.removeAll(keepingCapacity: true)
    extras.removeAll(keepingCapacity: true)
  }
}
