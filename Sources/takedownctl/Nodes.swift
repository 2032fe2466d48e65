import ArgumentParser
import TakedownCore

struct Nodes: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The daemons that work on this queue: name, state, vantage, version, last seen, checks/s, leases held.",
    discussion: """
      A node not heard from for 15 s (three heartbeats) is shown as gone: crashed, cut off or paused. \
      Its leases run out and the other nodes take its URLs over; its name is free for a new daemon.
      """)

  @OptionGroup var database: DatabaseOptions
  @Flag(name: .long, help: "Print JSON.") var json = false

  func run() throws {
    let store = try database.open(create: false, readOnly: true)
    let nodes = try withStoreErrors { try store.nodes() }
    let now = Timestamp.nowMs()
    Output.line(json ? NodesReport.json(nodes, now: now).rendered(pretty: true) : NodesReport.text(nodes, now: now))
  }
}
