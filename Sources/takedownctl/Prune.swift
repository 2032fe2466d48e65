import ArgumentParser
import Foundation
import TakedownCore

struct Prune: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compact old history now, as the daemon does by itself (see [history] in the configuration).",
    discussion: """
      Checks older than keep_all_for are folded unless they are evidence (status or reason changes, the \
      first and last of every run of identical results, confirmations, checks that events or first-seen \
      and takedown times point at); stored summaries are thinned to hourly and daily. Safe while the \
      daemon runs: the work is done in small transactions.
      """)

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Say what would be removed; change nothing.") var dryRun = false
  @Flag(
    name: .long,
    help:
      "SQLite: afterwards rewrite the file (VACUUM) so that freed space goes back to the file system from now on; holds the write lock for the whole rewrite."
  )
  var vacuum = false
  @Flag(name: .long, help: "Print JSON.") var json = false

  func validate() throws {
    if dryRun && vacuum { throw ValidationError("--dry-run and --vacuum exclude each other") }
  }

  func run() throws {
    let (_, cfg) = try database.location()
    let store = try database.open(create: false)
    let round = HistoryCompaction(config: cfg.history, dryRun: dryRun)
    let before = try withStoreErrors { try store.storageBytes() }
    try withStoreErrors { try store.pruneHistory(round, now: Timestamp.nowMs()) }
    var vacuumed = false
    if vacuum { vacuumed = try withStoreErrors { try store.vacuumForSpaceReuse() } }
    let after = try withStoreErrors { try store.storageBytes() }
    let t = round.totals
    if json {
      Output.line(
        JSON.object([
          ("dry_run", .bool(dryRun)), ("keep_all_for_ms", .int(cfg.history.keepAllForMs)),
          ("urls_examined", .int(Int64(t.urlsExamined))), ("urls_touched", .int(Int64(t.urlsTouched))),
          ("checks_folded", .int(Int64(t.checksFolded))), ("fold_notes_written", .int(Int64(t.foldsWritten))),
          ("summaries_thinned", .int(Int64(t.summariesThinned))), ("transactions", .int(Int64(t.transactions))),
          ("longest_transaction_ms", .double(Double(t.longestTransactionUs) / 1000)),
          ("longest_transaction_cpu_ms", .double(Double(t.longestTransactionCpuUs) / 1000)),
          ("transactions_over_50ms", .int(Int64(t.transactionsOver50ms))),
          ("bytes_before", .int(before.total)), ("bytes_after", .int(after.total)),
          ("free_bytes_after", after.free.map { .int($0) } ?? .null), ("vacuumed", .bool(vacuumed)),
        ]).rendered(pretty: true))
      return
    }
    let verb = dryRun ? "would fold" : "folded"
    Output.line(
      "\(verb) \(t.checksFolded) checks of \(t.urlsTouched) URLs (\(t.urlsExamined) examined, \(t.foldsWritten) fold note writes);"
        + " \(dryRun ? "would thin" : "thinned") \(t.summariesThinned) summaries; checks younger than "
        + DurationParser.format(ms: cfg.history.keepAllForMs) + " untouched")
    Output.line(
      "\(t.transactions) transactions, the longest \(String(format: "%.1f", Double(t.longestTransactionUs) / 1000)) ms"
        + " (\(String(format: "%.1f", Double(t.longestTransactionCpuUs) / 1000)) ms of CPU), \(t.transactionsOver50ms) over 50 ms")
    var space = "storage: \(before.total) bytes before, \(after.total) after"
    if let free = after.free { space += " (\(free) bytes free inside, reused before the file grows)" }
    if dryRun { space += "; nothing changed" }
    if vacuum && !vacuumed { space += "; --vacuum: nothing to do on this backend (autovacuum reuses the space)" }
    Output.line(space)
  }
}
