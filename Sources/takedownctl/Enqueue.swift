import ArgumentParser
import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

struct Enqueue: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Add reported URLs to the queue.",
    discussion: """
      URLs come as arguments or, one per line, from --file (- for standard input). Blank lines (and blank
      arguments) are skipped; lines starting with '#' (after any spaces) are comments. The file must be UTF-8. Every rejected line is reported on stderr with its line number; the valid lines are
      still queued, and the exit code is then 65. Re-enqueuing a queued URL adds its report (a new
      campaign or notice) but never a second copy of the URL.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(name: .long, help: "File with one URL per line, or - for standard input.")
  var file: String?

  @Option(name: .long, help: "Campaign name for these reports.") var campaign: String?
  @Option(name: .long, help: "Notice id (e.g. the DMCA notice number).") var notice: String?
  @Option(name: .long, help: "Rightholder on whose behalf the notice was sent.") var rightholder: String?
  @Option(name: .long, help: "Title of the infringed work.") var work: String?
  @Option(name: .long, help: "Deadline for removal (ISO 8601 date or date-time; UTC when no zone is given).")
  var deadline: String?
  @Option(name: .customLong("reported-at"), help: "When the URLs were reported (ISO 8601; default: now).")
  var reportedAt: String?

  @Argument(help: "URLs to enqueue.") var urls: [String] = []

  func validate() throws {
    if file == nil && urls.isEmpty { throw ValidationError("give URLs as arguments or --file FILE (- for stdin)") }
    if let deadline, Timestamp.parse(deadline) == nil {
      throw ValidationError("--deadline '\(deadline)' is not an ISO 8601 date (e.g. 2026-12-31 or 2026-12-31T18:00:00Z)")
    }
    if let reportedAt, Timestamp.parse(reportedAt) == nil {
      throw ValidationError("--reported-at '\(reportedAt)' is not an ISO 8601 date")
    }
    let options = ReportMetadata(campaign: campaign, notice: notice, rightholder: rightholder, work: work)
    if let why = options.controlCharacterProblem { throw ValidationError("--" + why) }
  }

  func run() throws {
    let report = ReportMetadata(
      reportedAt: reportedAt.flatMap(Timestamp.parse), campaign: campaign, notice: notice,
      rightholder: rightholder, work: work, deadline: deadline.flatMap(Timestamp.parse))
    // The input first: a path that cannot be read stops the command before it creates a database or
    // queues any of the arguments beside it (exit 66, nothing done).
    var input: Int32?
    if let file {
      let fd = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else {
        printError("takedownctl: cannot read \(file): \(String(cString: strerror(errno)))")
        throw ExitCode(SysExit.noInput.rawValue)
      }
      if let why = notAReadableFile(fd) {
        if fd != 0 { close(fd) }
        printError("takedownctl: cannot read \(file): \(why)")
        throw ExitCode(SysExit.noInput.rawValue)
      }
      input = fd
    }
    defer { if let input, input != 0 { close(input) } }
    let store = try database.open(create: true)
    try withStoreErrors { try store.prepareForBulkWrites() }
    var importer = BatchImporter(store: store, report: report)
    try withStoreErrors {
      for (n, u) in urls.enumerated() {
        var bytes = Array(u.utf8)
        try bytes.withUnsafeMutableBufferPointer {
          let arg = UnsafeBufferPointer($0)
          // As in a file: blank arguments (a list read with `mapfile` or `xargs -d '\n'` whose last
          // line is empty) and comments are not URLs to report.
          switch Self.firstVisibleByte(arg) {
          case nil, UInt8(ascii: "#"): return
          default: try importer.add(arg, source: "argument \(n + 1)")
          }
        }
      }
      if let file, let fd = input {
        let name = file == "-" ? "<stdin>" : file
        let maxLine = 16_384
        var reader = LineReader(fd: fd, maxLine: maxLine)
        var wrongEncoding: String?
        try reader.forEachLine { line, number, tooLong in
          if wrongEncoding != nil { return }
          if number == 1, let hint = InputEncoding.utf16Hint(line) {
            wrongEncoding = hint
            return
          }
          if tooLong {
            importer.reject("\(name):\(number)", "the line is longer than \(maxLine) bytes")
            return
          }
          // Blank lines and comments, indented or not, are not URLs to report.
          switch Self.firstVisibleByte(line) {
          case nil, UInt8(ascii: "#"): return
          default: try importer.add(line, source: "\(name):\(number)")
          }
        }
        if let wrongEncoding { importer.reject(name, wrongEncoding) }
        if let err = reader.error {
          printError("takedownctl: reading \(name): \(err)")
          try importer.flush()
          throw ExitCode(SysExit.ioError.rawValue)
        }
      }
      try importer.flush()
    }
    let c = importer.counts
    warnAboutCancelled(c)
    Output.line("new \(c.new), already queued \(c.alreadyQueued), rejected \(importer.rejected)")
    if importer.rejected > 0 { throw ExitCode(SysExit.dataError.rawValue) }
  }
}

extension Enqueue {
  /// The first byte that is not white space or a UTF-8 byte order mark, or nil for a blank line.
  static func firstVisibleByte(_ line: UnsafeBufferPointer<UInt8>) -> UInt8? {
    var i = 0
    if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF { i = 3 }
    while i < line.count {
      switch line[i] {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x0B, 0x0C: i += 1
      default: return line[i]
      }
    }
    return nil
  }
}

/// Normalizes lines and writes them in large transactions: a million lines cost a handful of commits
/// (each commit also checkpoints the WAL, so fewer, larger ones write less).
struct BatchImporter {
  let store: any TakedownStore
  let report: ReportMetadata
  var pending: [EnqueueItem] = []
  var counts = EnqueueCounts()
  var rejected = 0
  static let batchSize = 200_000

  init(store: any TakedownStore, report: ReportMetadata) {
    self.store = store
    self.report = report
    pending.reserveCapacity(Self.batchSize)
  }

  mutating func add(_ line: UnsafeBufferPointer<UInt8>, source: @autoclosure () -> String) throws {
    switch URLNormalizer.normalize(bytes: line) {
    case .success(let n):
      pending.append(EnqueueItem(url: n, report: report))
      if pending.count >= Self.batchSize { try flush() }
    case .failure(let why):
      reject(source(), why.description)
    }
  }

  mutating func reject(_ source: String, _ why: String) {
    rejected += 1
    printError("\(source): \(why)")
  }

  mutating func flush() throws {
    guard !pending.isEmpty else { return }
    // In file order: the store sorts the batch by URL itself (in SQLite, far cheaper than comparing
    // Swift strings here), so that each insert lands next to the previous one in the URL index.
    counts += try store.enqueue(pending, now: Timestamp.nowMs())
    pending.removeAll(keepingCapacity: true)
  }
}

/// Reads lines from a file descriptor in large chunks with bounded memory: a line longer than
/// `maxLine` is reported as too long and skipped, not buffered (a 1 GB line must not take 1 GB).
struct LineReader {
  let fd: Int32
  let maxLine: Int
  var error: String?

  init(fd: Int32, maxLine: Int) {
    self.fd = fd
    self.maxLine = maxLine
  }

  mutating func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int, Bool) throws -> Void) throws {
    let chunk = 1 << 20
    var buf = [UInt8](repeating: 0, count: chunk + maxLine + 1)
    var carry = 0  // bytes of an unfinished line at the start of buf
    var skipping = false  // inside an over-long line: drop bytes until its newline
    var lineNo = 0
    while true {
      let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + carry, chunk) }
      if n < 0 {
        if errno == EINTR { continue }
        error = String(cString: strerror(errno))
        return
      }
      let end = carry + n
      let start = try buf.withUnsafeBufferPointer { all -> Int in
        var start = 0
        var i = carry
        while i < end {
          if all[i] == 10 {
            lineNo += 1
            if skipping {
              skipping = false
              try body(UnsafeBufferPointer(rebasing: all[0..<0]), lineNo, true)
            } else {
              var stop = i
              if stop > start && all[stop - 1] == 13 { stop -= 1 }  // CRLF
              try body(UnsafeBufferPointer(rebasing: all[start..<stop]), lineNo, false)
            }
            start = i + 1
          }
          i += 1
        }
        return start
      }
      carry = end - start
      if skipping || carry > maxLine {
        // Inside an over-long line: drop what we have, remember to report it at its newline.
        skipping = true
        carry = 0
      } else if carry > 0 && start > 0 {
        // Move the unfinished line to the front for the next read.
        buf.withUnsafeMutableBufferPointer { m in
          _ = memmove(m.baseAddress!, m.baseAddress! + start, carry)
        }
      }
      if n == 0 {
        if skipping {
          lineNo += 1
          try buf.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<0]), lineNo, true) }
        } else if carry > 0 {
          lineNo += 1
          try buf.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<carry]), lineNo, false) }
        }
        return
      }
    }
  }
}
