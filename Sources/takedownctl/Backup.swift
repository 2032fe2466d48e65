import ArgumentParser
import Foundation
import TakedownCore

struct Backup: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Copy the queue into a backup file while takedownd runs, and verify the copy.",
    discussion: """
      SQLite: a consistent copy of one snapshot (SQLite's online backup API; the daemon is not stopped \\
      or slowed), checked with integrity_check and foreign_key_check, every table's rows counted against \\
      the snapshot's. Restore: stop takedownd, copy the file over the database, start it. \\
      PostgreSQL: pg_dump --format=custom of one snapshot whose rows were counted, read back with \\
      pg_restore. Restore: createdb, then pg_restore --dbname=URI FILE.

      The copy goes to a temporary file next to FILE and is renamed into place only once verified. \\
      Exit codes: 0 ok, 73 FILE exists (without --force) or cannot be created, 74 I/O error or disk full, \\
      65 the copy failed integrity_check or foreign_key_check (the database itself is damaged), 70 the \\
      copy's counts differ from the snapshot's, 66 no database, 69 pg_dump missing, too old, or the \\
      server unreachable.
      """)

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Replace FILE if it exists.") var force = false
  @Option(name: .customLong("pg-dump"), help: "PostgreSQL: the pg_dump to run (default: pg_dump on PATH).")
  var pgDump: String?
  @Argument(help: "The backup file to write.") var file: String

  func run() throws {
    let (location, cfg) = try database.location(readOnly: true)
    var options = DatabaseBackup.Options()
    options.force = force
    options.pgDump = pgDump
    if StoreOpener.isPostgres(location) {
      do {
        options.password = try DatabasePassword.read(cfg, environment: ProcessInfo.processInfo.environment)
      } catch {
        printError("takedownctl: \(error)")
        throw ExitCode(SysExit.config.rawValue)
      }
    }
    let report: BackupReport
    do {
      report = try DatabaseBackup.run(database: location, to: file, options)
    } catch {
      printError("takedownctl: backup: \(error)")
      throw ExitCode(error.sysExit.rawValue)
    }
    let shown = StoreOpener.isPostgres(location) ? PostgresConnection.redacted(location) : location
    Output.line("backup of \(shown) written to \(report.path)")
    Output.line("  format   \(report.format)")
    Output.line("  size     \(report.bytes) bytes")
    Output.line("  schema   \(report.schema)")
    let width = report.tables.map(\.name.count).max() ?? 0
    for t in report.tables {
      Output.line("  " + t.name + String(repeating: " ", count: max(0, width - t.name.count)) + "  \(t.rows) rows")
    }
    Output.line("  took     \(String(format: "%.1f", Double(report.durationMs) / 1000)) s, verified")
  }
}
