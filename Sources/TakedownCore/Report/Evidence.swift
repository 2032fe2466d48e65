/// One URL's case-file record: when it was last seen online and when and how it was seen removed,
/// each with the evidence of the check (time, vantage, status, address, headers, body hash, chain).
public struct EvidenceRecord: Sendable {
  public var url: URLRecord
  public var checks: [CheckRecord]
  public var transitions: [Transition]
  /// Notes standing in for the checks compaction deleted (HistoryRule keeps every check this record
  /// shows individually; the repeats between them are counted here).
  public var folds: [CheckFold] = []

  /// Reads everything about `url` the record needs.
  public static func load(from store: any TakedownStore, url: URLRecord) throws -> EvidenceRecord {
    EvidenceRecord(
      url: url, checks: try store.history(urlID: url.id), transitions: try store.transitions(urlID: url.id, url: url.url),
      folds: try store.folds(urlID: url.id))
  }

  /// Checks made, kept and folded.
  public var checksMade: Int { checks.count + folds.reduce(0) { $0 + $1.count } }

  /// The folded removal checks within the removal run.
  public var removalFolds: [CheckFold] {
    let after = lastOnline?.checkedAt ?? Int64.min
    return folds.filter { $0.observed == Observation.removed.rawValue && $0.firstAt >= after }
  }

  /// The latest check that saw the content.
  public var lastOnline: CheckRecord? { checks.last { $0.observed == Observation.online.rawValue } }

  /// The removal checks after the last online one: the run that led to (or is leading to) taken_down.
  public var removalRun: [CheckRecord] {
    let after = lastOnline?.checkedAt ?? Int64.min
    return checks.filter { $0.observed == Observation.removed.rawValue && $0.checkedAt >= after }
  }

  /// When the URL was last confirmed taken down (the latest transition to taken_down).
  public var confirmedAt: Transition? { transitions.last { $0.to == .takenDown } }

  public var reappearances: [Transition] { transitions.filter { $0.to == .reappeared } }

  public var json: JSON {
    .object([
      ("url", .string(url.url)), ("id", .int(url.id)), ("status", .string(url.status.rawValue)),
      ("reason", .optional(url.reason)), ("checks", .int(Int64(checksMade))),
      ("checks_folded", .int(Int64(checksMade - checks.count))),
      ("first_checked_at", .time(checks.first?.checkedAt)), ("last_checked_at", .time(checks.last?.checkedAt)),
      ("vantages", .array(vantages.map { .string($0) })),
      ("reports", url.json.field("reports") ?? .array([])),
      ("last_seen_online", lastOnline.map(\.json) ?? .null),
      ("removal_checks", .array(removalRun.map(\.json))),
      ("removal_checks_folded", .array(removalFolds.map(\.json))),
      ("confirmed_taken_down_at", .time(confirmedAt?.at)),
      ("given_up_at", .time(url.givenUpAt)),
      (
        "transitions",
        .array(
          transitions.map {
            .object([
              ("at", .time($0.at)), ("from", .string($0.from.rawValue)), ("to", .string($0.to.rawValue)),
              ("reason", .optional($0.reason)),
            ])
          })
      ),
    ])
  }

  var vantages: [String] {
    var seen: [String] = []
    for c in checks { if let v = c.vantage, !seen.contains(v) { seen.append(v) } }
    return seen
  }

  /// The human-readable record, suitable for a case file.
  public var text: String {
    var out: [String] = []
    out.append("Takedown evidence record")
    out.append("URL:               \(url.url.terminalSafe)")
    out.append("Queue id:          \(url.id)")
    for r in url.reports { out.append("Report:            " + r.line) }
    out.append("Current status:    \(url.status.rawValue)\(url.reason.map { " (\($0.terminalSafe))" } ?? "")")
    if let first = checks.first, let last = checks.last {
      out.append(
        "Checks:            \(checksMade)\(checksMade > checks.count ? " (\(checksMade - checks.count) folded by compaction)" : ""), from \(Timestamp.iso(first.checkedAt)) to \(Timestamp.iso(last.checkedAt))"
          + (vantages.isEmpty ? "" : ", vantage \(vantages.joined(separator: ", ").terminalSafe)"))
    } else {
      out.append("Checks:            none yet")
    }
    out.append("")
    if let online = lastOnline {
      out.append("Last seen online:  \(Timestamp.iso(online.checkedAt))")
      out += Self.detail(online)
    } else {
      out.append("Last seen online:  never seen online by takedown")
    }
    out.append("")
    let run = removalRun
    if run.isEmpty {
      out.append("Seen removed:      no removal seen\(lastOnline == nil ? "" : " since it was last seen online")")
    } else {
      let folded = removalFolds
      let foldedCount = folded.reduce(0) { $0 + $1.count }
      out.append(
        "Seen removed:      \(Timestamp.iso(run[0].checkedAt)) (\(run[0].reason.terminalSafe)), \(run.count + foldedCount) removal check(s)"
          + (foldedCount > 0 ? ", \(foldedCount) of them folded" : ""))
      var pending = folded[...]
      for (n, c) in run.enumerated() {
        while let f = pending.first, f.firstAt < c.checkedAt {
          out.append("  " + f.line)
          pending = pending.dropFirst()
        }
        out.append("  Removal check \(n + 1) at \(Timestamp.iso(c.checkedAt)): \(c.reason.terminalSafe)")
        out += Self.detail(c).map { "  " + $0 }
      }
      for f in pending { out.append("  " + f.line) }
    }
    if let confirmed = confirmedAt {
      out.append(
        "Confirmed taken down: \(Timestamp.iso(confirmed.at))\(confirmed.reason.map { " (\($0.terminalSafe))" } ?? "")")
    }
    if let g = url.givenUpAt { out.append("Given up (persistently unreachable): \(Timestamp.iso(g))") }
    let back = reappearances
    if !back.isEmpty {
      out.append("Reappeared:        " + back.map { Timestamp.iso($0.at) }.joined(separator: ", "))
    }
    return out.joined(separator: "\n")
  }

  static func detail(_ c: CheckRecord) -> [String] {
    var lines: [String] = []
    // Headers, redirects and the final URL are what a server sent: escaped, like every stored text.
    var first = "  \(c.method?.terminalSafe ?? "GET") → "
    first += c.httpStatus.map { "HTTP \($0)" } ?? "no HTTP answer (curl code \(c.curlCode))"
    if let ip = c.remoteIP { first += " from \(ip.terminalSafe)" }
    if let v = c.vantage { first += ", vantage \(v.terminalSafe)" }
    first += ", attempt \(c.attempt)"
    lines.append(first)
    for hop in c.redirectChain {
      lines.append("  redirect:  \(hop.status) → \(hop.location?.terminalSafe ?? "(no Location)")")
    }
    if let f = c.finalURL { lines.append("  final URL: \(f.terminalSafe)") }
    if let m = c.matched { lines.append("  matched:   \(m.terminalSafe)\(c.rule.map { " (\($0.terminalSafe))" } ?? "")") }
    let headers = c.headers
    if !headers.isEmpty {
      lines.append(
        "  headers:   " + headers.map { "\(displayName($0.0).terminalSafe): \($0.1.terminalSafe)" }.joined(separator: "; "))
    }
    if let sha = c.bodySHA256 { lines.append("  body:      \(c.bytes) bytes read, SHA-256 \(sha)") }
    let t = c.timings
    lines.append(
      "  timings:   dns \(ms(t.dnsUs)), connect \(ms(t.connectUs)), tls \(ms(t.tlsUs)), first byte \(ms(t.firstByteUs)), total \(ms(t.totalUs))"
    )
    return lines
  }

  /// "content-type" → "Content-Type".
  static func displayName(_ header: String) -> String {
    header.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: "-")
  }

  static func ms(_ us: Int64) -> String {
    let tenths = (us + 50) / 100
    return "\(tenths / 10).\(tenths % 10) ms"
  }
}

extension JSON {
  /// The value of `key` in an object.
  func field(_ key: String) -> JSON? {
    if case .object(let fields) = self { return fields.first { $0.0 == key }?.1 }
    return nil
  }
}
