import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// libcurl reports CURLE_COULDNT_RESOLVE_HOST both when a domain is gone (NXDOMAIN, no address) and
/// when the resolver is down (SERVFAIL, timeout, no server). Only the first is evidence of a removal,
/// and a false "taken down" is the worst error this product can make. So every `dns_unresolved` result
/// is looked up again with getaddrinfo on a thread of its own (lookups block, the probe loop must not):
/// EAI_NONAME/EAI_NODATA keeps it a removal; anything else makes it a transient `dns_error`.
final class DNSCheck: @unchecked Sendable {
  // @unchecked: `queue` and `busy` are behind `condition`; the thread owns `cache`.
  private let condition = NSCondition()
  private var queue: [ProbeResult] = []
  private var busy = 0
  private var stopped = false
  private let mailbox: Mailbox
  private var cache: [String: (gone: Bool, at: Int64)] = [:]

  init(mailbox: Mailbox) {
    self.mailbox = mailbox
    let thread = Thread { [self] in
      nameCurrentThread("td-dns-check")
      loop()
    }
    thread.name = "td-dns-check"
    thread.start()
  }

  /// Results waiting for or in a lookup: the runner must not stop while any are.
  var pending: Int {
    condition.lock()
    defer { condition.unlock() }
    return queue.count + busy
  }

  func submit(_ results: [ProbeResult]) {
    condition.lock()
    queue += results
    condition.signal()
    condition.unlock()
  }

  func stop() {
    condition.lock()
    stopped = true
    condition.signal()
    condition.unlock()
  }

  private func loop() {
    while true {
      condition.lock()
      while queue.isEmpty && !stopped { condition.wait() }
      if queue.isEmpty && stopped {
        condition.unlock()
        return
      }
      let batch = queue
      queue.removeAll()
      busy = batch.count
      condition.unlock()
      var checked: [ProbeResult] = []
      for var r in batch {
        let host = Self.host(of: r)
        if !isGone(host) {
          r.observation = .transient
          r.reason = .dnsError
        }
        r.dnsChecked = true
        checked.append(r)
      }
      mailbox.post(results: checked)
      condition.lock()
      busy = 0
      condition.unlock()
    }
  }

  /// The name that failed: the last URL libcurl tried (a redirect target), else the reported host.
  static func host(of r: ProbeResult) -> String {
    if let f = r.finalURL, case .success(let n) = URLNormalizer.normalize(f) { return n.host }
    return r.claim.host
  }

  private func isGone(_ host: String) -> Bool {
    let now = monotonicMs()
    if let c = cache[host], now - c.at < 60_000 { return c.gone }
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var res: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, nil, &hints, &res)
    if let res { freeaddrinfo(res) }
    let gone = rc == EAI_NONAME || rc == -5  // EAI_NODATA (a GNU extension Swift does not import)
    cache[host] = (gone, now)
    if cache.count > 10_000 { cache.removeAll() }
    return gone
  }
}
