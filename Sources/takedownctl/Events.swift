import ArgumentParser
import Foundation
import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

struct Events: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show status transitions (online → taken_down, taken_down → reappeared, …).",
    discussion: """
      Without --since, all transitions are shown (with --follow: the last 10). --follow keeps printing
      new transitions as the daemon records them, until interrupted.
      """)

  @OptionGroup var database: DatabaseOptions
  @Option(
    name: .long,
    help: "Only transitions at or after this time (ISO 8601, UTC without a zone, or a duration back from now such as 7d)."
  )
  var since: String?
  @Flag(name: .long, help: "Keep printing new transitions until interrupted.") var follow = false
  @Flag(name: .long, help: "One JSON object per line.") var json = false

  func validate() throws {
    if let since, ReportFilter.parseSince(since, now: 0) == nil {
      throw ValidationError("--since '\(since)' is not an ISO 8601 date (2026-03-01, 2026-03-01T12:00Z) or a duration such as 7d")
    }
  }

  func run() throws {
    if follow {
      // --follow ends on SIGINT/SIGTERM. A parent may hand us a blocked or ignored SIGTERM (posix_spawn
      // copies the spawning thread's mask): restore the default so "until interrupted" holds.
      var set = sigset_t()
      sigemptyset(&set)
      sigaddset(&set, SIGTERM)
      sigaddset(&set, SIGINT)
      pthread_sigmask(SIG_UNBLOCK, &set, nil)
      signal(SIGTERM, SIG_DFL)
      signal(SIGINT, SIG_DFL)
    }
    let store = try database.open(create: false, readOnly: true)
    let sinceMs = since.flatMap { ReportFilter.parseSince($0, now: Timestamp.nowMs()) }
    var last: Int64 = try withStoreErrors { follow && sinceMs == nil ? try store.eventIDBeforeLast(10) : 0 }
    while true {
      let batch = try withStoreErrors { try store.events(afterID: last, since: sinceMs, limit: 10_000) }
      if !batch.isEmpty {
        var text = ""
        for e in batch {
          let t = e.transition
          if json {
            text += t.json.rendered() + "\n"
          } else {
            text +=
              "\(Timestamp.iso(t.at))  \(t.from.rawValue) → \(t.to.rawValue)  \(t.reason?.terminalSafe ?? "-")  "
              + "\(t.url.terminalSafe)\n"
          }
        }
        // Each batch at once: a pipe to grep or a log shipper sees it without waiting for a full buffer.
        Output.write(text)
        try Output.flush()
        last = batch.last!.id
        if batch.count == 10_000 { continue }
      }
      if !follow { return }
      Thread.sleep(forTimeInterval: 0.25)
    }
  }
}
