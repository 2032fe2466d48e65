extension ReportFigures {
  /// The lines `takedownctl summary` prints after the totals.
  public var textLines: [String] {
    var lines: [String] = []
    var scope: [String] = []
    if let c = filter.campaign { scope.append("campaign \(c.terminalSafe)") }
    if let h = filter.host { scope.append("host \(h.terminalSafe)") }
    if !scope.isEmpty { lines.append("selection: " + scope.joined(separator: ", ")) }
    lines.append("window: " + (filter.since.map { "since \(Timestamp.iso($0))" } ?? "all time"))
    let w = 18
    let pct = takenDownShare.map { "  (\(format($0 * 100, 1)) % of the URLs not cancelled are down now)" } ?? ""
    lines.append("taken down".padding(w) + String(takenDown).leftPadding(10) + pct)
    lines.append(
      "  first time".padding(w) + String(firstTakenDown).leftPadding(10)
        + "  (\(takenDownLate) after their deadline)")
    lines.append("reappeared".padding(w) + String(reappeared).leftPadding(10))
    lines.append(
      "overdue".padding(w) + String(overdue).leftPadding(10) + "  (past the deadline and not taken down, now)")
    let t = timeToTakedown
    if t.count > 0, let p50 = t.p50, let p90 = t.p90, let mx = t.max {
      lines.append(
        "time to takedown".padding(w) + "p50 \(Durations.short(p50)), p90 \(Durations.short(p90)), "
          + "max \(Durations.short(mx))  (\(t.count) URLs; earliest report to first confirmed removal)")
    } else {
      lines.append("time to takedown".padding(w) + "-  (no first removal in the window)")
    }
    if !topHostsOnline.isEmpty {
      lines.append("")
      let hosts = topHostsOnline.map(\.host.terminalSafe)
      let hw = max(hosts.map(\.count).max() ?? 0, 20)
      lines.append("hosts still online".padding(hw) + "  " + "URLs".leftPadding(8))
      for (h, name) in zip(topHostsOnline, hosts) { lines.append(name.padding(hw) + "  " + String(h.count).leftPadding(8)) }
    }
    if !campaigns.isEmpty {
      lines.append("")
      let names = campaigns.map { $0.campaign?.terminalSafe ?? "(none)" }
      let cw = max(names.map(\.count).max() ?? 0, 8)
      lines.append(
        "campaign".padding(cw) + "  " + "URLs".leftPadding(9) + "  " + "down".leftPadding(9) + "  "
          + "online".leftPadding(9) + "  " + "overdue".leftPadding(9) + "  " + "down %".leftPadding(6) + "  "
          + "p50 ttt".leftPadding(8) + "  " + "p90 ttt".leftPadding(8))
      for (c, name) in zip(campaigns, names) {
        let share = c.takenDownShare.map { format($0 * 100, 1) } ?? "-"
        lines.append(
          name.padding(cw) + "  " + String(c.urls).leftPadding(9) + "  "
            + String(c.byStatus[.takenDown] ?? 0).leftPadding(9) + "  "
            + String(ReportFigures.online(c.byStatus)).leftPadding(9) + "  " + String(c.overdue).leftPadding(9)
            + "  " + share.leftPadding(6) + "  " + (c.timeToTakedown.p50.map(Durations.short) ?? "-").leftPadding(8)
            + "  " + (c.timeToTakedown.p90.map(Durations.short) ?? "-").leftPadding(8))
      }
    }
    return lines
  }
}
