/// `takedownctl report --html`: one self-contained page (inline CSS and SVG, no scripts, fonts or images)
/// that reads the same in a browser offline and on paper.
public struct HTMLReport: Sendable {
  public var figures: ReportFigures
  public var history: [StatusPoint]
  public var overdue: [OverdueURL]
  public var overdueLimit: Int

  /// Status colours; each status is also named in the legend and tables, so grey print still reads.
  static let statusColors: [URLStatus: String] = [
    .pending: "#a0aec0", .online: "#e53e3e", .takenDown: "#38a169", .unreachable: "#dd6b20",
    .reappeared: "#805ad5", .cancelled: "#cbd5e0",
  ]

  public static func load(
    from store: any TakedownStore, filter: ReportFilter, now: Int64, topHosts: Int = 15, overdueLimit: Int = 500
  ) throws -> HTMLReport {
    HTMLReport(
      figures: try store.figures(filter, now: now, topHosts: topHosts),
      history: try store.statusHistory(since: filter.since, maxPoints: 400),
      overdue: try store.overdueURLs(filter, now: now, limit: overdueLimit), overdueLimit: overdueLimit)
  }

  func esc(_ s: String) -> String { HTML.escape(s) }

  public func render() -> String {
    let f = figures
    var scope: [String] = []
    if let c = f.filter.campaign { scope.append("campaign " + c) }
    if let h = f.filter.host { scope.append("host " + h) }
    let window = f.filter.since.map { "since " + Timestamp.iso($0 / 1000 * 1000) } ?? "all time"
    let generated = Timestamp.iso(f.generatedAt / 1000 * 1000)
    var page = """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8"/>
      <meta name="viewport" content="width=device-width, initial-scale=1"/>
      <meta name="generator" content="takedownctl report"/>
      <title>Takedown report \(generated)</title>
      <style>\(HTMLReport.css)</style>
      </head>
      <body>
      <header>
      <h1>Takedown report</h1>
      <p class="meta">Generated <time datetime="\(generated)">\(generated)</time> (UTC)
       · \(esc(scope.isEmpty ? "all URLs" : scope.joined(separator: ", "))) · window: \(esc(window))</p>
      </header>

      """
    page += keyFigures()
    page += statusOverTime()
    page += takedownsPerDay()
    page += timeToTakedown()
    page += hostsOnline()
    page += campaignTable()
    page += overdueList()
    page += """
      <footer>
      <h2>How to read this</h2>
      <ul>
      <li><b>Taken down</b>: the removal (404, 410, 451, or the domain gone) was seen the configured number of times
      in a row. <b>Online</b> counts online and reappeared URLs: the content answers.</li>
      <li><b>Time to takedown</b>: from a URL's earliest report to its first confirmed removal, for URLs whose first
      removal falls in the window. Percentiles by nearest rank.</li>
      <li><b>Overdue</b>: past the URL's earliest deadline and neither taken down nor cancelled, now.</li>
      <li><b>Window</b>: removals, reappearances, takedowns per day and time to takedown count what happened in the
      window; totals, overdue, hosts and campaigns describe the selected URLs now.</li>
      </ul>
      </footer>
      </body>
      </html>

      """
    return page
  }

  func keyFigures() -> String {
    let f = figures
    func card(_ key: String, _ label: String, _ value: String, _ sub: String = "") -> String {
      "<div class=\"card\"><dt>\(esc(label))</dt><dd class=\"big\" data-figure=\"\(key)\">\(esc(value))</dd>"
        + (sub.isEmpty ? "" : "<dd class=\"sub\">\(esc(sub))</dd>") + "</div>\n"
    }
    let share = f.takenDownShare.map { format($0 * 100, 1) + " % of URLs not cancelled" } ?? ""
    let t = f.timeToTakedown
    var out = "<section id=\"figures\">\n<h2>Key figures</h2>\n<dl class=\"cards\">\n"
    out += card("total", "Reported URLs", String(f.total))
    out += card("taken_down_now", "Taken down now", String(f.byStatus[.takenDown] ?? 0), share)
    out += card("online", "Still online", String(f.online), "online or reappeared")
    out += card("overdue", "Overdue", String(f.overdue), "past the deadline, not down")
    out += card("taken_down", "Taken down in the window", String(f.takenDown), "\(f.takenDownLate) after their deadline")
    out += card("reappeared", "Reappeared in the window", String(f.reappeared))
    out += card(
      "ttt_p50", "Time to takedown, median", t.p50.map(Durations.short) ?? "–",
      t.count > 0 ? "of \(t.count) URLs" : "no removals in the window")
    out += card("ttt_p90", "Time to takedown, p90", t.p90.map(Durations.short) ?? "–")
    out += card("ttt_max", "Time to takedown, max", t.max.map(Durations.short) ?? "–")
    out += "</dl>\n<table class=\"status\">\n<thead><tr><th>Status</th><th class=\"n\">URLs</th><th class=\"n\">Share</th></tr></thead>\n<tbody>\n"
    for st in URLStatus.allCases {
      let n = f.byStatus[st] ?? 0
      let pct = f.total > 0 ? format(Double(n) * 100 / Double(f.total), 1) + " %" : "–"
      out += "<tr data-status=\"\(st.rawValue)\"><td><span class=\"swatch\" style=\"background:\(HTMLReport.statusColors[st]!)\"></span>"
      out += "\(st.rawValue)</td><td class=\"n\">\(n)</td><td class=\"n\">\(pct)</td></tr>\n"
    }
    out += "</tbody>\n</table>\n</section>\n"
    return out
  }

  func legend() -> String {
    var out = "<p class=\"legend\">"
    for st in URLStatus.allCases {
      out += "<span><span class=\"swatch\" style=\"background:\(HTMLReport.statusColors[st]!)\"></span>\(st.rawValue)</span> "
    }
    return out + "</p>\n"
  }

  func statusOverTime() -> String {
    var out = "<section id=\"status-over-time\">\n<h2>URLs by status over time</h2>\n"
    if figures.filter.campaign != nil || figures.filter.host != nil {
      out += "<p class=\"note\">From the summaries takedownd stores: these count the whole queue, not only the selection.</p>\n"
    }
    guard !history.isEmpty else {
      return out
        + "<p class=\"empty\">No stored summaries yet: takedownd stores one every <code>summary.interval</code>.</p>\n</section>\n"
    }
    let series = URLStatus.allCases.map { (name: $0.rawValue, color: HTMLReport.statusColors[$0]!) }
    out += SVG.stackedArea(
      id: "chart-status", title: "URLs by status over time", times: history.map(\.at),
      values: history.map { p in URLStatus.allCases.map { Double(p.byStatus[$0] ?? 0) } }, series: series)
    out += legend()
    return out + "</section>\n"
  }

  func takedownsPerDay() -> String {
    var out = "<section id=\"takedowns-per-day\">\n<h2>Takedowns per day</h2>\n"
    let days = figures.takedownsPerDay
    guard let firstDay = days.first?.day, let lastDay = days.last?.day else {
      return out + "<p class=\"empty\">No first confirmed removals in the window.</p>\n</section>\n"
    }
    let start = figures.filter.since.map { min($0 >= 0 ? $0 / 86_400_000 : ($0 - 86_399_999) / 86_400_000, firstDay) } ?? firstDay
    let end = max(lastDay, figures.generatedAt / 86_400_000)
    let span = Int(end - start + 1)
    // More than four months of days would be hair-thin bars: count per week instead.
    let bucket = span > 120 ? 7 : 1
    var counts = [Int](repeating: 0, count: (span + bucket - 1) / bucket)
    for d in days { counts[Int(d.day - start) / bucket] += d.count }
    let bars = counts.enumerated().map { (i, n) -> (label: String, value: Int, tip: String) in
      let day = Timestamp.iso((start + Int64(i * bucket)) * 86_400_000).prefix(10)
      return (String(day.dropFirst(5)), n, bucket == 1 ? "\(day): \(n)" : "week of \(day): \(n)")
    }
    out += "<p class=\"note\">First confirmed removals per \(bucket == 1 ? "day" : "week") (UTC); \(figures.firstTakenDown) in all.</p>\n"
    out += SVG.bars(
      id: "chart-takedowns", title: "First confirmed removals per \(bucket == 1 ? "day" : "week")", bars: bars,
      color: "#38a169", labelEvery: max(bars.count / 8, 1))
    return out + "</section>\n"
  }

  func timeToTakedown() -> String {
    var out = "<section id=\"time-to-takedown\">\n<h2>Time to takedown</h2>\n"
    let t = figures.timeToTakedown
    guard t.count > 0, let p50 = t.p50, let p90 = t.p90, let mx = t.max else {
      return out + "<p class=\"empty\">No first confirmed removals in the window.</p>\n</section>\n"
    }
    out += "<p class=\"note\">From the earliest report to the first confirmed removal, \(t.count) URLs: "
    out += "median <b>\(Durations.short(p50))</b>, p90 <b>\(Durations.short(p90))</b>, max <b>\(Durations.short(mx))</b>.</p>\n"
    let labels = Durations.histogramBounds.map(\.label) + [Durations.histogramLastLabel]
    let bars = zip(labels, figures.timeToTakedownHistogram).map { (label: $0, value: $1, tip: "\($0): \($1) URLs") }
    out += SVG.bars(id: "chart-ttt", title: "Time to takedown distribution", bars: bars, color: "#3182ce")
    return out + "</section>\n"
  }

  func hostsOnline() -> String {
    var out = "<section id=\"hosts-online\">\n<h2>Hosts with the most URLs still online</h2>\n"
    guard !figures.topHostsOnline.isEmpty else {
      return out + "<p class=\"empty\">No URL is online.</p>\n</section>\n"
    }
    out += SVG.horizontalBars(
      id: "chart-hosts", title: "Hosts with the most URLs still online",
      items: figures.topHostsOnline.map { ($0.host, $0.count) }, color: "#e53e3e")
    return out + "</section>\n"
  }

  func campaignTable() -> String {
    var out = "<section id=\"campaigns\">\n<h2>By campaign</h2>\n"
    guard !figures.campaigns.isEmpty else { return out + "<p class=\"empty\">No reports.</p>\n</section>\n" }
    out += "<table>\n<thead><tr><th>Campaign</th><th class=\"n\">URLs</th><th class=\"n\">Taken down</th>"
    out += "<th class=\"n\">Down %</th><th class=\"n\">Online</th><th class=\"n\">Overdue</th>"
    out += "<th class=\"n\">Median time to takedown</th><th class=\"n\">p90</th></tr></thead>\n<tbody>\n"
    for c in figures.campaigns {
      let name = c.campaign ?? "(none)"
      out += "<tr data-campaign=\"\(esc(name))\"><td>\(esc(name))</td><td class=\"n\" data-col=\"urls\">\(c.urls)</td>"
      out += "<td class=\"n\" data-col=\"taken_down\">\(c.byStatus[.takenDown] ?? 0)</td>"
      out += "<td class=\"n\">\(c.takenDownShare.map { format($0 * 100, 1) } ?? "–")</td>"
      out += "<td class=\"n\" data-col=\"online\">\(ReportFigures.online(c.byStatus))</td>"
      out += "<td class=\"n\" data-col=\"overdue\">\(c.overdue)</td>"
      out += "<td class=\"n\">\(c.timeToTakedown.p50.map(Durations.short) ?? "–")</td>"
      out += "<td class=\"n\">\(c.timeToTakedown.p90.map(Durations.short) ?? "–")</td></tr>\n"
    }
    return out + "</tbody>\n</table>\n</section>\n"
  }

  func overdueList() -> String {
    var out = "<section id=\"overdue\">\n<h2>Overdue</h2>\n"
    guard !overdue.isEmpty else { return out + "<p class=\"empty\">Nothing is overdue.</p>\n</section>\n" }
    let total = figures.overdue
    out += "<p class=\"note\">\(total) URLs are past their deadline and not taken down"
    out += overdue.count < total ? "; the \(overdue.count) most overdue are listed." : "."
    out += "</p>\n<table class=\"overdue\">\n<thead><tr><th>URL</th><th>Campaign</th><th>Deadline</th>"
    out += "<th class=\"n\">Overdue by</th><th>Status</th></tr></thead>\n<tbody>\n"
    for o in overdue {
      out += "<tr data-url-id=\"\(o.id)\"><td class=\"url\"><a href=\"\(esc(o.url))\">\(esc(o.url))</a></td>"
      out += "<td>\(esc(o.campaigns.joined(separator: ", ")))</td>"
      out += "<td>\(Timestamp.iso(o.deadline).prefix(10))</td>"
      out += "<td class=\"n\">\(Durations.short(figures.generatedAt - o.deadline))</td>"
      out += "<td>\(o.status.rawValue)</td></tr>\n"
    }
    return out + "</tbody>\n</table>\n</section>\n"
  }

  static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1a202c;\
    background:#fff;max-width:800px;margin:24px auto;padding:0 16px}
    h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
    .meta,.note{color:#4a5568;margin:4px 0 8px}.empty{color:#718096;font-style:italic}
    dl.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin:0 0 12px}
    .card{border:1px solid #e2e8f0;border-radius:6px;padding:8px 10px}
    .card dt{font-size:12px;color:#4a5568}.card dd{margin:0}.card .big{font-size:22px;font-weight:600}
    .card .sub{font-size:12px;color:#718096}
    table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #edf2f7}
    th{font-weight:600;border-bottom:1px solid #cbd5e0}.n{text-align:right;font-variant-numeric:tabular-nums}
    td.url{word-break:break-all}td.url a{color:#2b6cb0;text-decoration:none}
    table.status{width:auto;min-width:300px}
    .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline;\
    -webkit-print-color-adjust:exact;print-color-adjust:exact}
    .legend span{margin-right:10px;font-size:12px;white-space:nowrap}
    svg.chart{display:block;max-width:100%;height:auto}
    svg .grid{stroke:#edf2f7}svg .axis{stroke:#a0aec0}
    svg text{font:11px system-ui,sans-serif;fill:#4a5568}svg .value{fill:#1a202c}
    svg .area,svg .bar{-webkit-print-color-adjust:exact;print-color-adjust:exact}
    footer{margin-top:32px;font-size:12px;color:#4a5568}
    @media print{body{margin:0;max-width:none;font-size:11px}section{break-inside:avoid}
    section#overdue,section#campaigns{break-inside:auto}tr{break-inside:avoid}td.url a{color:#1a202c}}
    """
}
