/// Politeness that holds for all the daemons of one queue together (issue 13).
///
/// A host whose rule limits it (`max_connections`, the probe's `per_host_connections`, or `rate`) is
/// worked by one daemon at a time, under a host lease kept in the database: the daemon that holds it
/// applies the rule exactly as a single daemon does, so three daemons and `rate = 5` still make ≤ 5
/// requests a second. A host that is free or this daemon's already is admitted; the URLs of a host
/// another daemon holds (or that asked everyone to wait, Retry-After) go back to the queue until then,
/// unchecked. Hosts without any limit need no lease and spread over every daemon.
///
/// Why leases per host and not shared token buckets: a bucket in the database costs a round trip per
/// request and is wrong the moment a round trip is slow; a lease costs one statement per claim batch
/// and the bound is exact while a daemon holds it. The price: one host's work goes through one daemon
/// at a time (its connection limit would have capped it anyway), and a daemon frozen past its host
/// lease may still start the few requests it had queued for that host when it wakes.
///
/// A claim skips the URLs of a host another daemon holds (or that asked everyone to wait), so the
/// holder takes them; what a race lets through (a host taken between the claim's snapshot and `admit`)
/// is handed back unchecked (`deferClaims`) for a second or two. A daemon with nothing else due
/// passes over a held host's due backlog at each claim (an index walk with a primary-key probe per row).
///
/// For a store that one daemon has to itself (SQLite: the daemon holds the file lock), every call is
/// answered by the store's defaults: everything is admitted, nothing is written.
final class SharedHosts {
  private let store: any TakedownStore
  private let holder: String
  private var probe: ProbeConfig
  private let leaseMs: Int64
  /// Claims in hand per leased host (submitted, not yet back).
  private var inHand: [String: Int] = [:]
  /// Hosts whose last claim came back, with when the next request may start (rate spacing), to be
  /// handed back at the next `maintain`.
  private var idle: [String: Int64] = [:]
  private var nextRenewAt: Int64 = 0
  private var limited: [String: Bool] = [:]

  init(store: any TakedownStore, holder: String, probe: ProbeConfig, leaseMs: Int64) {
    self.store = store
    self.holder = holder
    self.probe = probe
    // A host lease outlives a stall of a few seconds, and the URLs other daemons hand back while one
    // holds it (they wait until its end) come back within a minute.
    self.leaseMs = min(max(leaseMs, 3_000), 60_000)
  }

  /// New host rules (SIGHUP).
  func update(probe: ProbeConfig) {
    self.probe = probe
    limited = [:]
  }

  /// Whether `host`'s rule limits it, i.e. whether all daemons together must respect a bound on it.
  private func isLimited(_ host: String) -> Bool {
    if let known = limited[host] { return known }
    let rule = probe.rule(for: host).rule
    let v = (rule.maxConnections ?? 0) > 0 || rule.rate != nil
    limited[host] = v
    return v
  }

  /// Splits a claimed batch into what may start now and what must wait (each with when).
  func admit(_ claimed: [ClaimedURL], now: Int64) throws -> (start: [ClaimedURL], wait: [(ClaimedURL, Int64)]) {
    guard store.sharesHosts else { return (claimed, []) }
    let hosts = Set(claimed.lazy.map(\.host).filter { self.isLimited($0) })
    if hosts.isEmpty { return (claimed, []) }
    let blocked = try store.holdHosts(hosts.sorted(), holder: holder, now: now, leaseMs: leaseMs)
    var start: [ClaimedURL] = []
    var wait: [(ClaimedURL, Int64)] = []
    start.reserveCapacity(claimed.count)
    for c in claimed {
      if let w = blocked[c.host] {
        // Held by another daemon: a claim raced its lease (the claim skips held hosts). Back in a second
        // or two, when the claim will skip it again and its holder take it; waiting for the lease's end
        // instead left such URLs a minute behind at every change of hands. A pause or the rate's spacing
        // is waited out exactly.
        let at = w.heldByOther ? min(w.until, now + 1_000 + Int64.random(in: 0...1_000)) : w.until
        wait.append((c, max(at, now + 1)))
      } else {
        start.append(c)
        if hosts.contains(c.host) {
          inHand[c.host, default: 0] += 1
          idle[c.host] = nil
        }
      }
    }
    return (start, wait)
  }

  /// Claims that came back from the engine (recorded, released or deferred).
  func returned<S: Sequence>(_ hosts: S, now: Int64) where S.Element == String {
    for host in hosts {
      guard let n = inHand[host] else { continue }
      if n <= 1 {
        inHand[host] = nil
        // The next daemon to hold the host must keep the rate's spacing from our last start.
        let spacing = probe.rule(for: host).rule.rate.map { Int64((1000 / $0).rounded(.up)) } ?? 0
        idle[host] = now + spacing
      } else {
        inHand[host] = n - 1
      }
    }
  }

  /// A host asked to be left alone (Retry-After, a 429): every daemon waits until then.
  func paused(_ host: String, until: Int64) throws {
    guard store.sharesHosts else { return }
    try store.pauseHost(host, until: until)
  }

  /// Renews the leases of hosts still in work and hands idle ones back; call every turn (cheap when
  /// there is nothing to do). Returns the hosts whose lease was lost (another daemon took them while
  /// this one was frozen past the lease).
  @discardableResult
  func maintain(now: Int64) throws -> [String] {
    guard store.sharesHosts else { return [] }
    if !idle.isEmpty {
      try store.letGoOfHosts(idle, holder: holder)
      idle = [:]
    }
    guard now >= nextRenewAt else { return [] }
    nextRenewAt = now + leaseMs / 3
    guard !inHand.isEmpty else { return [] }
    let blocked = try store.holdHosts(inHand.keys.sorted(), holder: holder, now: now, leaseMs: leaseMs)
    // A pause or the rate's spacing is not a lost lease: only hosts now held by someone else count.
    return blocked.filter { $0.value.heldByOther }.keys.sorted()
  }

  /// On the way out: every host lease goes back at once, so other daemons need not wait for expiry.
  func letGoOfAll(now: Int64) {
    guard store.sharesHosts else { return }
    var all = idle
    for h in inHand.keys { all[h] = max(all[h] ?? 0, now) }
    inHand = [:]
    idle = [:]
    if !all.isEmpty { try? store.letGoOfHosts(all, holder: holder) }
  }
}
