import ArgumentParser
import TakedownCore

struct Reactivate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Undo a cancel: the URLs are pending and checked again at once; their history is kept.")

  @OptionGroup var database: DatabaseOptions
  @Argument(help: ArgumentHelp("URLs or ids of cancelled URLs.", valueName: "url-or-id")) var urlsOrIDs: [String]

  func run() throws {
    let store = try database.open(create: false)
    var problems = 0
    for u in urlsOrIDs {
      guard let rec = try withStoreErrors({ try store.lookup(u) }) else {
        printError("takedownctl: '\(u)' is not in the queue")
        problems += 1
        continue
      }
      switch try withStoreErrors({ try store.reactivate(id: rec.id, now: Timestamp.nowMs()) }) {
      case .reactivated:
        Output.line("reactivated \(rec.url)")
      case .notCancelled(let status):
        printError("takedownctl: \(rec.url) is \(status.rawValue), not cancelled: left as it is")
        problems += 1
      case .notFound:
        printError("takedownctl: '\(u)' is not in the queue")
        problems += 1
      }
    }
    if problems > 0 { throw ExitCode(SysExit.dataError.rawValue) }
  }
}

/// Tells whoever enqueued or imported that some of their URLs were cancelled before: their reports are
/// stored, but nothing checks them until they are reactivated. Names the first few.
func warnAboutCancelled(_ counts: EnqueueCounts) {
  guard counts.cancelled > 0 else { return }
  let n = counts.cancelled
  var lines = [
    "takedownctl: \(n) of these URLs \(n == 1 ? "was" : "were") cancelled before and \(n == 1 ? "stays" : "stay") "
      + "cancelled: \(n == 1 ? "its report was" : "their reports were") added, but nothing checks \(n == 1 ? "it" : "them"). "
      + "To check \(n == 1 ? "it" : "them") again: takedownctl reactivate URL..."
  ]
  lines += counts.cancelledSample.map { "  \($0)" }  // normalized URLs: printable ASCII only
  if n > counts.cancelledSample.count { lines.append("  … and \(n - counts.cancelledSample.count) more") }
  printError(lines.joined(separator: "\n"))
}
