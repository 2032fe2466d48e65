/// The effective configuration as TOML (`takedownd --check-config`): every key with its value, the
/// defaults filled in, so an operator sees what the daemon will use. The text is itself a valid
/// configuration that loads to the same settings, except that secrets are masked: the password of a
/// `postgresql://` URI or of a proxy URL, and the values of Authorization and Cookie headers. Keys
/// that are unset show as comments with what applies instead.
extension Config {
  public func renderedTOML() -> String {
    var out: [String] = []
    func line(_ key: String, _ value: String) { out.append("\(key) = \(value)") }
    func unset(_ key: String, _ meaning: String) { out.append("# \(key) is unset: \(meaning)") }
    func q(_ s: String) -> String { Self.tomlString(s) }
    func list(_ items: [String]) -> String { "[" + items.map(q).joined(separator: ", ") + "]" }
    func dur(_ ms: Int64) -> String { q(DurationParser.format(ms: ms)) }

    line("database", q(Self.maskedURL(database)))
    if let f = databasePasswordFile { line("database_password_file", q(f)) } else {
      unset("database_password_file", "libpq's own sources (PGPASSWORD, PGPASSFILE, ~/.pgpass)")
    }
    if let n = nodeName { line("node_name", q(n)) } else { unset("node_name", "the host name") }

    let p = probe
    out.append("\n[probe]")
    line("concurrency", String(p.concurrency))
    line("per_host_connections", String(p.perHostConnections))
    line("connect_timeout", dur(p.connectTimeoutMs))
    line("timeout", dur(p.timeoutMs))
    line("max_redirects", String(p.maxRedirects))
    line("max_body_bytes", q(SizeParser.format(bytes: p.maxBodyBytes)))
    line("user_agent", q(p.userAgent))
    line("allow_private_addresses", String(p.allowPrivateAddresses))
    line("resolve", list(p.resolve))
    line("shutdown_grace", dur(p.shutdownGraceMs))
    line("throttle_pause", dur(p.throttlePauseMs))
    line("vantage", q(p.vantage))
    if let proxy = p.proxy { line("proxy", q(Self.maskedURL(proxy))) } else { unset("proxy", "direct connections") }

    let s = schedule
    out.append("\n[schedule]")
    line("recheck_interval", dur(s.recheckIntervalMs))
    line("confirmations", String(s.confirmations))
    line("confirm_interval", dur(s.confirmIntervalMs))
    line("watch_interval", dur(s.watchIntervalMs))
    line("backoff_base", dur(s.backoffBaseMs))
    line("backoff_max", dur(s.backoffMaxMs))
    line("lease", dur(s.leaseMs))
    line("batch_size", String(s.batchSize))
    line("give_up_after", dur(s.giveUpAfterMs))
    line("on_give_up", q(s.onGiveUp.rawValue))

    out.append("\n[summary]")
    line("interval", dur(summary.intervalMs))

    out.append("\n[log]")
    line("level", q(log.level))
    if let f = log.statusLog { line("status_log", q(f)) } else { unset("status_log", "no status log") }

    out.append("\n[metrics]")
    if let l = metrics.listen { line("listen", q(l)) } else { unset("listen", "no metrics endpoint") }

    if p.rules.isEmpty { out.append("\n# No [[rule]]: every host gets the default rule.") }
    for (i, r) in p.rules.enumerated() {
      out.append("\n[[rule]] # rule[\(i)]")
      line("hosts", list(r.hosts))
      line("removal_markers", list(r.removalMarkers))
      line("home_redirect_is_removal", String(r.homeRedirectIsRemoval))
      line("home_paths", list(r.homePaths))
      line("method", q(r.method.rawValue))
      if let m = r.maxConnections { line("max_connections", String(m)) } else {
        unset("max_connections", "probe.per_host_connections (\(p.perHostConnections))")
      }
      if let rate = r.rate { line("rate", String(rate)) } else { unset("rate", "no limit") }
      line("headers", list(r.headers.map(Self.maskedHeader)))
      line("online_statuses", "[" + r.onlineStatuses.map(String.init).joined(separator: ", ") + "]")
      if let proxy = r.proxy { line("proxy", q(Self.maskedURL(proxy))) } else {
        unset("proxy", p.proxy == nil ? "probe.proxy (direct)" : "probe.proxy")
      }
    }
    return out.joined(separator: "\n") + "\n"
  }

  /// A TOML basic string: quotes, backslashes and control characters escaped.
  static func tomlString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case _ where u.value < 0x20 || u.value == 0x7F:
        let hex = String(u.value, radix: 16, uppercase: true)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(u)
      }
    }
    return out + "\""
  }

  /// A URL with the password of its user info (`scheme://user:password@host`) shown as `***`; a
  /// PostgreSQL URI also loses a `password=` parameter (PostgresConnection.redacted).
  static func maskedURL(_ url: String) -> String {
    if StoreOpener.isPostgres(url) { return PostgresConnection.redacted(url) }
    guard let scheme = url.range(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else {
      return url
    }
    var masked = url
    masked.replaceSubrange(rest.index(after: colon)..<at, with: "***")
    return masked
  }

  /// "Authorization: Bearer x" → "Authorization: ***" (also Proxy-Authorization and Cookie).
  static func maskedHeader(_ header: String) -> String {
    guard let colon = header.firstIndex(of: ":") else { return header }
    let name = header[..<colon].filter { $0 != " " && $0 != "\t" }.lowercased()
    guard ["authorization", "proxy-authorization", "cookie"].contains(name) else { return header }
    return String(header[...colon]) + " ***"
  }
}

/// The first lines of `--check-config`'s output.
public enum ConfigReport {
  public static func header(path: String?, databaseFlag: Bool) -> String {
    var s = path.map { "# \($0): valid.\n" } ?? "# No configuration file: the built-in defaults.\n"
    s += "# Effective settings, defaults filled in, secrets masked"
    s += databaseFlag ? "; database is the --db option's.\n" : ".\n"
    return s + "\n"
  }
}
