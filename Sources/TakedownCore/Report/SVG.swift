/// Inline SVG charts for the HTML report: no scripts, no external resources, readable printed in black
/// and white (every series is also named in a legend or label, and every mark has a <title> tooltip).
enum SVG {
  static let width = 760.0
  static let left = 56.0
  static let right = 16.0
  static let top = 12.0
  static let bottom = 36.0

  /// Ticks at 1, 2 or 5 × 10^k covering 0…max.
  static func ticks(max: Double, count: Int = 4) -> [Double] {
    guard max > 0 else { return [0, 1] }
    let raw = max / Double(count)
    var p = 1.0
    while p * 10 <= raw { p *= 10 }
    while p > raw { p /= 10 }
    let step = [1.0, 2.0, 5.0, 10.0].map { $0 * p }.first { $0 >= raw } ?? p * 10
    var out: [Double] = []
    var v = 0.0
    while v < max + step * 0.999 {
      out.append(v)
      v += step
      if out.count > 20 { break }
    }
    return out
  }

  static func num(_ d: Double) -> String {
    let r = (d * 10).rounded() / 10
    return r == r.rounded() ? String(Int64(r)) : String(r)
  }

  static func label(_ v: Double) -> String {
    if v >= 1_000_000 { return num(v / 1_000_000) + "M" }
    if v >= 10_000 { return num(v / 1000) + "k" }
    return num(v)
  }

  static func open(id: String, title: String, height: Double) -> String {
    "<svg id=\"\(id)\" class=\"chart\" role=\"img\" aria-label=\"\(HTML.escape(title))\" "
      + "viewBox=\"0 0 \(num(width)) \(num(height))\" width=\"\(num(width))\" height=\"\(num(height))\" "
      + "xmlns=\"http://www.w3.org/2000/svg\"><title>\(HTML.escape(title))</title>"
  }

  /// Horizontal grid lines with their values on the left, and the x axis.
  static func yAxis(ticks: [Double], scale: (Double) -> Double, height: Double) -> String {
    var out = ""
    for t in ticks {
      let y = num(scale(t))
      out += "<line class=\"grid\" x1=\"\(num(left))\" x2=\"\(num(width - right))\" y1=\"\(y)\" y2=\"\(y)\"/>"
      out += "<text class=\"ylabel\" x=\"\(num(left - 6))\" y=\"\(y)\" dy=\"0.32em\" text-anchor=\"end\">\(label(t))</text>"
    }
    let base = num(height - bottom)
    out += "<line class=\"axis\" x1=\"\(num(left))\" x2=\"\(num(width - right))\" y1=\"\(base)\" y2=\"\(base)\"/>"
    return out
  }

  /// Stacked areas, one per series, over time (x in ms). `values[i][s]` is series s at point i.
  static func stackedArea(
    id: String, title: String, times: [Int64], values: [[Double]], series: [(name: String, color: String)],
    height: Double = 260
  ) -> String {
    var times = times
    var values = values
    if times.count == 1 {
      // One stored summary: show it as a flat band an hour wide rather than nothing.
      times = [times[0] - 3_600_000, times[0]]
      values = [values[0], values[0]]
    }
    let totals = values.map { $0.reduce(0, +) }
    let maxY = totals.max() ?? 0
    let ticks = ticks(max: maxY)
    let top = ticks.last ?? 1
    let plotH = height - SVG.top - bottom
    let t0 = Double(times.first ?? 0)
    let t1 = Double(times.last ?? 1)
    let span = max(t1 - t0, 1)
    func x(_ t: Int64) -> Double { left + (Double(t) - t0) / span * (width - left - right) }
    func y(_ v: Double) -> Double { SVG.top + plotH - v / max(top, 1) * plotH }
    var out = open(id: id, title: title, height: height)
    out += yAxis(ticks: ticks, scale: y, height: height)
    var lower = [Double](repeating: 0, count: times.count)
    for (s, serie) in series.enumerated() {
      let upper = zip(lower, values).map { $0 + $1[s] }
      if upper == lower { continue }
      var d = ""
      for (i, t) in times.enumerated() { d += (i == 0 ? "M" : "L") + num(x(t)) + " " + num(y(upper[i])) + " " }
      for i in stride(from: times.count - 1, through: 0, by: -1) {
        d += "L" + num(x(times[i])) + " " + num(y(lower[i])) + " "
      }
      let last = Int(values.last?[s] ?? 0)
      out += "<path class=\"area\" data-series=\"\(serie.name)\" d=\"\(d)Z\" fill=\"\(serie.color)\">"
      out += "<title>\(HTML.escape(serie.name)): \(last) at the last summary</title></path>"
      lower = upper
    }
    // Date labels: first, last and up to three in between.
    let n = 4
    for k in 0...n {
      let t = Int64(t0 + span * Double(k) / Double(n))
      let anchor = k == 0 ? "start" : (k == n ? "end" : "middle")
      out += "<text class=\"xlabel\" x=\"\(num(x(t)))\" y=\"\(num(height - bottom + 16))\" text-anchor=\"\(anchor)\">"
      out += span > 3 * 86_400_000 ? String(Timestamp.iso(t).prefix(10)) : shortTime(t)
      out += "</text>"
    }
    return out + "</svg>"
  }

  static func shortTime(_ t: Int64) -> String {
    let iso = Timestamp.iso(t)
    return String(iso.dropFirst(5).prefix(11).map { $0 == "T" ? " " : $0 })
  }

  /// Vertical bars with a label under some of them (every `labelEvery`-th) and a tooltip on each.
  static func bars(
    id: String, title: String, bars: [(label: String, value: Int, tip: String)], color: String, labelEvery: Int = 1,
    height: Double = 240
  ) -> String {
    let maxY = Double(bars.map(\.value).max() ?? 0)
    let ticks = ticks(max: maxY)
    let top = ticks.last ?? 1
    let plotH = height - SVG.top - bottom
    func y(_ v: Double) -> Double { SVG.top + plotH - v / max(top, 1) * plotH }
    var out = open(id: id, title: title, height: height)
    out += yAxis(ticks: ticks, scale: y, height: height)
    let slot = (width - left - right) / Double(max(bars.count, 1))
    let w = max(slot * 0.8, 1)
    for (i, b) in bars.enumerated() {
      let x = left + Double(i) * slot + (slot - w) / 2
      let yy = y(Double(b.value))
      out += "<rect class=\"bar\" data-label=\"\(HTML.escape(b.label))\" data-value=\"\(b.value)\" x=\"\(num(x))\" "
      out += "y=\"\(num(yy))\" width=\"\(num(w))\" height=\"\(num(height - bottom - yy))\" fill=\"\(color)\">"
      out += "<title>\(HTML.escape(b.tip))</title></rect>"
      if i % max(labelEvery, 1) == 0 {
        out += "<text class=\"xlabel\" x=\"\(num(x + w / 2))\" y=\"\(num(height - bottom + 16))\" text-anchor=\"middle\">"
        out += HTML.escape(b.label) + "</text>"
      }
    }
    return out + "</svg>"
  }

  /// Horizontal bars, one row per item, value printed at the end of the bar.
  static func horizontalBars(id: String, title: String, items: [(label: String, value: Int)], color: String) -> String {
    let row = 22.0
    let labelW = 250.0
    let height = Double(items.count) * row + 16
    let maxV = Double(items.map(\.value).max() ?? 1)
    let plotW = width - labelW - 70
    var out = open(id: id, title: title, height: height)
    for (i, it) in items.enumerated() {
      let y = 8 + Double(i) * row
      let w = max(Double(it.value) / max(maxV, 1) * plotW, 1)
      var name = it.label
      if name.count > 38 { name = String(name.prefix(37)) + "…" }
      out += "<text class=\"hlabel\" x=\"\(num(labelW - 8))\" y=\"\(num(y + row / 2))\" dy=\"0.32em\" "
      out += "text-anchor=\"end\">\(HTML.escape(name))</text>"
      out += "<rect class=\"bar\" data-label=\"\(HTML.escape(it.label))\" data-value=\"\(it.value)\" x=\"\(num(labelW))\" "
      out += "y=\"\(num(y + 3))\" width=\"\(num(w))\" height=\"\(num(row - 6))\" fill=\"\(color)\">"
      out += "<title>\(HTML.escape(it.label)): \(it.value)</title></rect>"
      out += "<text class=\"value\" x=\"\(num(labelW + w + 6))\" y=\"\(num(y + row / 2))\" dy=\"0.32em\">\(it.value)</text>"
    }
    return out + "</svg>"
  }
}

/// Escaping for text and attribute values (only the XML entities, so the page also parses as XML).
enum HTML {
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Control characters (C0 but line feed and tab, DEL, C1) are not allowed in HTML (or XML) text.
        if (c.value < 0x20 && c != "\n" && c != "\t") || (c.value >= 0x7F && c.value <= 0x9F) {
          out += "\u{FFFD}"
        } else {
          out.unicodeScalars.append(c)
        }
      }
    }
    return out
  }
}
