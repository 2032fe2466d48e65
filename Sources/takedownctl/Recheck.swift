import ArgumentParser
import TakedownCore

struct Recheck: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Make URLs due now: the daemon checks them again at its next turn (within about a second).",
    discussion: """
      For example after a platform says it removed them. Select URLs as arguments (any spelling, or ids), \
      with --status, --campaign and --host, or --all; given together, every selector must hold (as in \
      `list`). Cancelled URLs are left alone (`reactivate` them), and so are URLs a daemon is checking \
      at this moment (under a live lease): that check reschedules them. Nothing else changes: no status, \
      no history, no event. URLs that are not in the queue are named and the command exits 65; the \
      others are still made due.
      """)

  @OptionGroup var database: DatabaseOptions
  @Option(name: .long, help: "Only URLs of this status (\(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))).")
  var status: String?
  @Option(name: .long, help: "Only URLs reported in this campaign.") var campaign: String?
  @Option(name: .long, help: "Only URLs of this host.") var host: String?
  @Flag(name: .long, help: "Every URL (that is not cancelled), when no other selector is given.") var all = false
  @Argument(help: ArgumentHelp("URLs or ids.", valueName: "url-or-id")) var urlsOrIDs: [String] = []

  func validate() throws {
    if let status, URLStatus(rawValue: status) == nil {
      throw ValidationError(
        "--status '\(status)' is not one of \(URLStatus.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let selected = !urlsOrIDs.isEmpty || status != nil || campaign != nil || host != nil
    if !selected && !all {
      throw ValidationError("say which URLs: give URLs or ids, --status, --campaign, --host, or --all")
    }
    if selected && all { throw ValidationError("--all cannot be combined with other selectors") }
  }

  func run() throws {
    let store = try database.open(create: false)
    var unknown = 0
    var ids: [Int64]?
    if !urlsOrIDs.isEmpty {
      var found: [Int64] = []
      for u in urlsOrIDs {
        guard let rec = try withStoreErrors({ try store.lookup(u) }) else {
          printError("takedownctl: '\(u.terminalSafe)' is not in the queue")
          unknown += 1
          continue
        }
        found.append(rec.id)
      }
      ids = found
    }
    let selection = RecheckSelection(
      ids: ids, status: status.flatMap(URLStatus.init(rawValue:)), host: host, campaign: campaign)
    let counts =
      ids == [] ? RecheckCounts() : try withStoreErrors { try store.recheck(selection, now: Timestamp.nowMs()) }
    var line = "made \(counts.madeDue) due"
    var alone: [String] = []
    if counts.leased > 0 { alone.append("\(counts.leased) being checked now") }
    if counts.cancelled > 0 { alone.append("\(counts.cancelled) cancelled (takedownctl reactivate checks them again)") }
    if !alone.isEmpty { line += "; left alone: " + alone.joined(separator: ", ") }
    if unknown > 0 { line += "; \(unknown) not in the queue" }
    Output.line(line)
    if unknown > 0 { throw ExitCode(SysExit.dataError.rawValue) }
  }
}
