import ArgumentParser
import TakedownCore

struct Copy: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Copy a SQLite queue with its whole history into PostgreSQL.",
    discussion: """
      The source is the SQLite database of --db or --config (as for every command); --to names the \\
      PostgreSQL database, whose schema is created when it has none. URLs keep their ids; reports, \\
      checks, events, summaries and the daemon's state come along; the summary's tallies are computed \\
      in the target. Each table's count is checked against the source's and printed.

      The copy is one transaction: interrupted, it leaves the target as it was, and running it again \\
      starts over. A target that already holds a queue is refused (exit 73), unless it is a finished \\
      copy of this very source (then nothing is written). Stop takedownd on the source first: while it \\
      runs the copy is refused (exit 75). Leases left by a daemon that died are dropped; their URLs are \\
      due when the lease would have ended.
      """)

  @OptionGroup var database: DatabaseOptions
  @Option(name: .long, help: "The PostgreSQL database to copy into (a postgresql:// URI).") var to: String

  func validate() throws {
    if !StoreOpener.isPostgres(to) {
      throw ValidationError("--to '\(to)' is not a postgresql:// URI (the copy goes from SQLite into PostgreSQL)")
    }
  }

  func run() throws {
    let path = try database.path(readOnly: true)
    if StoreOpener.isPostgres(path) {
      printError("takedownctl: the source \(PostgresConnection.redacted(path)) is PostgreSQL already: copy reads a SQLite file")
      throw ExitCode(SysExit.usage.rawValue)
    }
    let source: SQLiteStore
    do {
      source = try SQLiteStore(path: path, create: false, readOnly: true, busyTimeoutMs: 60_000)
    } catch let e as StoreError {
      printError("takedownctl: \(e)")
      throw ExitCode(e.exitCode.rawValue)
    } catch {
      printError("takedownctl: cannot open \(path): \(error)")
      throw ExitCode(SysExit.noInput.rawValue)
    }
    let target: PostgresStore
    do {
      target = try PostgresStore(conninfo: to, options: StoreOpener.Options())
    } catch let e as StoreError {
      printError("takedownctl: \(e)")
      throw ExitCode(e.exitCode.rawValue)
    } catch let e as PostgresError {
      printError("takedownctl: cannot open \(PostgresConnection.redacted(to)): \(e)")
      throw ExitCode(e.sysExit == .software ? SysExit.unavailable.rawValue : e.sysExit.rawValue)
    }
    let meter = ProgressMeter(unit: "rows")
    var current = ""
    let copy = QueueCopy(source: source, target: target) { table, rows in
      if table != current {
        meter.done()
        current = table
      }
      meter.update(rows)
    }
    let outcome: QueueCopy.Outcome
    do {
      outcome = try copy.run()
    } catch let e as QueueCopy.Failure {
      meter.done()
      printError("takedownctl: \(e)")
      throw ExitCode(e.sysExit.rawValue)
    } catch let e as any DatabaseFailure {
      meter.done()
      printError("takedownctl: copy into \(target.location) failed, nothing was committed: \(e)")
      throw ExitCode(e.sysExit.rawValue)
    }
    meter.done()
    let width = outcome.counts.map(\.table.count).max() ?? 0
    for c in outcome.counts {
      Output.line(c.table + String(repeating: " ", count: width - c.table.count) + "  \(c.target) of \(c.source)")
    }
    if outcome.leasesDropped > 0 {
      Output.line("leases dropped: \(outcome.leasesDropped) (left by a daemon that is not running)")
    }
    Output.line(
      outcome.alreadyCopied
        ? "\(target.location) already holds this copy of \(path): nothing written"
        : "copied \(path) into \(target.location)")
  }
}
