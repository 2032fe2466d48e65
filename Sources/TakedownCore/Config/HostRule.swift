/// How a host's URLs are fetched and judged (`[[rule]]` in takedown.toml).
///
/// Plain values only, so a reload can swap the whole set: the probe engine compiles what it needs
/// (markers, header lists) when it receives new settings.
public struct HostRule: Sendable, Equatable {
  /// Host globs this rule applies to (`hosts`, a string or an array): `*` matches any run of
  /// characters (dots included), `?` one character; compared with the lowercased, punycoded host.
  /// `*.example.com` matches `www.example.com` and `a.b.example.com`, not `example.com`.
  public var hosts: [String] = ["*"]

  /// Substrings, or regular expressions written `/…/`, searched in the first `max_body_bytes` of a
  /// 2xx answer's body (`removal_markers`); a match means removed, reason `removal_marker`.
  public var removalMarkers: [String] = []

  /// A redirect landing on the site's home page counts as removed, reason `redirect_home`
  /// (`home_redirect_is_removal`).
  public var homeRedirectIsRemoval: Bool = true

  /// Paths that count as the home page (`home_paths`).
  public var homePaths: [String] = ["/"]

  /// `get` or `head` (`method`). With `head`, anything but a 2xx is checked again with GET before it
  /// counts: a removal is always confirmed by a full GET.
  public var method: ProbeMethod = .get

  /// Most simultaneous checks of this host (`max_connections`, 0 = no limit); nil = the probe's
  /// `per_host_connections`.
  public var maxConnections: Int? = nil

  /// Most requests per second started to this host (`rate`, > 0); nil = no limit.
  public var rate: Double? = nil

  /// Extra request headers, "Name: value" (`headers`), e.g. a consent cookie or a Referer.
  public var headers: [String] = []

  /// HTTP statuses that mean the content is still there (`online_statuses`), e.g. 403 from a site
  /// that refuses robots but serves the page to people; reason `online_status`.
  public var onlineStatuses: [Int] = []

  /// Proxy for this host's checks (`proxy`); nil = the probe's.
  public var proxy: String? = nil

  public init() {}

  /// Whether one of `hosts` matches `host` (already lowercased and punycoded).
  public func matches(host: String) -> Bool {
    hosts.contains { HostGlob.matches(pattern: $0, host: host) }
  }
}

public enum ProbeMethod: String, Sendable, Equatable, CaseIterable {
  case get
  case head
}

extension ProbeConfig {
  /// The rule for hosts no `[[rule]]` matches: the defaults, with the probe's own limits.
  public var defaultRule: HostRule {
    var r = HostRule()
    r.maxConnections = perHostConnections
    return r
  }

  /// Rule `index` with its unset fields filled from the probe settings.
  public func filledRule(_ index: Int) -> HostRule {
    var r = rules[index]
    if r.maxConnections == nil { r.maxConnections = perHostConnections }
    if r.proxy == nil { r.proxy = proxy }
    return r
  }

  /// The first rule whose hosts match (filled), else `defaultRule` with the probe's proxy.
  public func rule(for host: String) -> (rule: HostRule, index: Int?) {
    if let i = rules.firstIndex(where: { $0.matches(host: host) }) { return (filledRule(i), i) }
    var r = defaultRule
    r.proxy = proxy
    return (r, nil)
  }
}

/// Glob matching for host names: `*` any run (possibly empty), `?` exactly one character.
public enum HostGlob {
  public static func matches(pattern: String, host: String) -> Bool {
    let p = Array(pattern.utf8)
    let h = Array(host.utf8)
    var pi = 0
    var hi = 0
    var star = -1
    var mark = 0
    while hi < h.count {
      if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == h[hi]) {
        pi += 1
        hi += 1
      } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
        star = pi
        mark = hi
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        hi = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
  }
}
