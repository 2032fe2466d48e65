/// `takedownctl nodes`: the daemons sharing the queue, as a table or JSON.
public enum NodesReport {
  /// "running", "stopped" (a clean stop), or "gone" (not heard from within the alive window: crashed,
  /// cut off or paused; its leases run out and other nodes take its URLs over).
  public static func state(_ n: NodeRecord, now: Int64) -> String {
    if n.stoppedAt != nil { return "stopped" }
    return n.isAlive(now: now) ? "running" : "gone"
  }

  public static func json(_ nodes: [NodeRecord], now: Int64) -> JSON {
    .array(
      nodes.map { n in
        .object([
          ("name", .string(n.name)), ("state", .string(state(n, now: now))), ("vantage", .string(n.vantage)),
          ("version", .string(n.version)), ("host", .string(n.host)), ("process", .string(n.process)),
          ("started_at", .time(n.startedAt)), ("last_seen_at", .time(n.lastSeenAt)), ("stopped_at", .time(n.stoppedAt)),
          ("checks_last_interval", .int(Int64(n.checksLastInterval))), ("interval_ms", .int(n.intervalMs)),
          ("leases_held", .int(Int64(n.leasesHeld))),
        ])
      })
  }

  public static func text(_ nodes: [NodeRecord], now: Int64) -> String {
    guard !nodes.isEmpty else { return "no daemon has worked on this queue yet" }
    let header = ["NAME", "STATE", "VANTAGE", "VERSION", "HOST", "STARTED", "LAST SEEN", "CHECKS/S", "LEASES"]
    let rows = nodes.map { n -> [String] in
      let rate = n.intervalMs > 0 ? Double(n.checksLastInterval) * 1000 / Double(n.intervalMs) : 0
      return [
        n.name, state(n, now: now), n.vantage, n.version, n.host, Timestamp.iso(n.startedAt),
        "\(Timestamp.iso(n.lastSeenAt)) (\(max(0, now - n.lastSeenAt) / 1000) s ago)", format(rate, 1), "\(n.leasesHeld)",
      ].map(ControlCharacters.escaped)
    }
    let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
  }
}
