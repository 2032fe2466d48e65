import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Keeps the body only up to the cap: a hostile server cannot make us download more than max_body_bytes.
/// Returning less than asked makes libcurl stop the transfer (CURLE_WRITE_ERROR), which the classifier
/// treats as a complete answer when `capped` is set. Every byte read goes into the SHA-256 (evidence);
/// the bytes themselves are kept only when the host's rule has removal markers to search.
private let writeCallback: curl_write_callback = { data, size, count, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let n = Int64(size * count)
  let room = t.maxBody - t.bytes
  let take = Int(min(n, max(room, 0)))
  if take > 0, let data {
    let chunk = UnsafeRawBufferPointer(start: data, count: take)
    t.sha.update(chunk)
    if t.keepBody { t.body.append(contentsOf: chunk) }
  }
  t.bytes += Int64(take)
  if n <= room { return size * count }
  t.capped = true
  return 0
}

/// Every response's header lines, for the redirect chain, Retry-After and the evidence headers.
private let headerCallback: curl_write_callback = { data, size, count, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  if let data { t.capture.take(line: UnsafeRawBufferPointer(start: data, count: size * count)) }
  return size * count
}

/// Every connection libcurl opens, for the URL and for each redirect hop, passes through here with the
/// address it resolved: the private-address rule is applied to what is really connected to, so DNS
/// tricks and redirects to 127.0.0.1 cannot get around it.
private let openSocketCallback: curl_opensocket_callback = { user, _, address in
  guard let user, let address else { return ccurl_socket_bad() }
  let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
  if !t.allowPrivate {
    var raw = [UInt8](repeating: 0, count: 16)
    let family = raw.withUnsafeMutableBufferPointer { ccurl_sockaddr_bytes(address, $0.baseAddress) }
    let refuse: Bool
    switch family {
    case AF_INET: refuse = AddressPolicy.isPrivate(ipv4: (raw[0], raw[1], raw[2], raw[3]))
    case AF_INET6: refuse = AddressPolicy.isPrivate(ipv6: raw)
    default: refuse = true
    }
    if refuse {
      t.privateRefused = true
      return ccurl_socket_bad()
    }
  }
  let fd = socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
  if fd < 0 {
    // Out of descriptors or kernel memory: our failure, not the site's (libcurl reports it as
    // "couldn't connect").
    let e = errno
    if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM { t.localErrno = e }
  }
  return fd
}

/// Checks URLs concurrently on one libcurl multi handle, on a thread of its own.
///
/// The runner submits claimed URLs; the engine queues them per host and starts a check only when its
/// host's rule allows it (connections, rate, a Retry-After pause), so libcurl never holds a transfer
/// waiting for a connection while its timeout runs. URLs that would wait too long are handed back
/// ("deferred") with the time their host can take them. The engine never touches the database, so the
/// multi loop never waits on a disk.
public final class ProbeEngine: @unchecked Sendable {
  // @unchecked: `multi`, `pool`, `inFlight`, `hosts` and `settings` are touched only on the probe
  // thread; what other threads share is behind `inbox` (a lock), Atomics and curl_multi_wakeup, which
  // libcurl documents as callable from any thread.
  private let multi: UnsafeMutableRawPointer
  private var settings: ProbeConfig
  private var holdLimitMs: Int64
  private var resolveList: UnsafeMutablePointer<curl_slist>?
  /// Resolve lists replaced by a reload: transfers started before it may still point at them.
  private var retiredResolveLists: [UnsafeMutablePointer<curl_slist>] = []
  private let pendingSettings = Locked<(ProbeConfig, Int64)?>(nil)
  private let heartbeat = Atomic<Int64>(0)
  private var pool: [UnsafeMutableRawPointer] = []
  private var inFlight: [UnsafeMutableRawPointer: Transfer] = [:]
  private let inbox = Locked<[ClaimedURL]>([])
  private let control = Locked<Control>(Control())
  private let mailbox: Mailbox
  /// Submitted and not yet reported back (queued + in flight + waiting for a host).
  private let outstandingCount = Atomic<Int>(0)
  /// Submitted and not yet taken from the inbox.
  private let inboxCount = Atomic<Int>(0)
  /// In flight plus queued for hosts that could start now: what the runner must not over-fill.
  private let busyCount = Atomic<Int>(0)

  // Host scheduling (probe thread only).
  private var hosts: [String: HostState] = [:]
  private var ready: [HostState] = []
  private var readyHead = 0
  private var timed: [(at: Int64, host: HostState)] = []
  private var nextTimedAt = Int64.max
  private var rulesVersion = 0
  private var compiledDefault: CompiledRule
  private var compiledRules: [CompiledRule]
  private var held = 0
  private var nextSweepAt: Int64 = 0
  private var deferred: [Deferral] = []

  struct Control {
    var draining = false
    /// Monotonic ms after which in-flight transfers are aborted and given back.
    var abortAt: Int64?
  }

  /// Submitted and not yet reported back.
  public var outstanding: Int { outstandingCount.load(ordering: .relaxed) }

  /// Checks the engine is busy with or can start at once: the runner claims more while this is below
  /// the concurrency. URLs waiting for a slow or rate-limited host do not count, so one such host
  /// cannot starve the others.
  public var busy: Int { inboxCount.load(ordering: .relaxed) + busyCount.load(ordering: .relaxed) }

  /// Monotonic ms of the probe loop's last turn: the watchdog pings only while this moves.
  public var lastHeartbeat: Int64 { heartbeat.load(ordering: .relaxed) }

  /// - holdLimitMs: longest a URL may wait in the engine for its host before it is handed back
  ///   (keep well under the lease).
  public init(config: ProbeConfig, mailbox: Mailbox, holdLimitMs: Int64 = 60_000) {
    _ = ProbeEngine.globalInit
    multi = curl_multi_init()!
    settings = config
    self.holdLimitMs = holdLimitMs
    self.mailbox = mailbox
    compiledDefault = CompiledRule(rule: config.defaultRule, index: nil)
    compiledRules = []
    heartbeat.store(monotonicMs(), ordering: .relaxed)
    apply(config, holdLimitMs: holdLimitMs)
  }

  /// Multi-handle limits, the resolve list and the compiled rules; per-transfer options are read from
  /// `settings` at start.
  private func apply(_ config: ProbeConfig, holdLimitMs: Int64) {
    settings = config
    self.holdLimitMs = holdLimitMs
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, config.concurrency)
    // Per-host limits are the engine's (rules may differ by host); libcurl's own cap would only make
    // transfers wait inside libcurl with their timeout running.
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, config.concurrency)
    if let old = resolveList { retiredResolveLists.append(old) }
    resolveList = nil
    for entry in config.resolve { resolveList = curl_slist_append(resolveList, entry) }
    rulesVersion += 1
    compiledRules = config.rules.indices.map { CompiledRule(rule: config.filledRule($0), index: $0) }
    var d = config.defaultRule
    d.proxy = config.proxy
    compiledDefault = CompiledRule(rule: d, index: nil)
  }

  /// New settings (a reload) for checks started from now on; checks in flight keep theirs.
  /// Callable from any thread.
  public func update(_ config: ProbeConfig, holdLimitMs: Int64? = nil) {
    pendingSettings.withLock { $0 = (config, holdLimitMs ?? self.holdLimitMs) }
    curl_multi_wakeup(multi)
  }

  deinit {
    for h in pool { curl_easy_cleanup(h) }
    for (h, t) in inFlight {
      curl_multi_remove_handle(multi, h)
      curl_easy_cleanup(h)
      Unmanaged.passUnretained(t).release()
    }
    curl_multi_cleanup(multi)
    curl_slist_free_all(resolveList)
    for list in retiredResolveLists { curl_slist_free_all(list) }
  }

  /// libcurl's global state must be set up once, before any thread uses it.
  private static let globalInit: Void = {
    curl_global_init(3)  // CURL_GLOBAL_ALL
  }()

  /// The libcurl version string, for the startup log line.
  /// (curl_version_info, not curl_version: with an LDAP-enabled libcurl the latter looks up the machine's
  /// own name, a blocking DNS query before READY.)
  public static var curlVersion: String {
    guard let info = ccurl_version_info(), let v = info.pointee.version else { return "unknown" }
    var text = "libcurl/" + String(cString: v)
    if let ssl = info.pointee.ssl_version { text += " " + String(cString: ssl) }
    return text
  }

  /// Hands claimed URLs to the engine. Callable from any thread.
  public func submit(_ claims: [ClaimedURL]) {
    guard !claims.isEmpty else { return }
    outstandingCount.add(claims.count, ordering: .relaxed)
    inboxCount.add(claims.count, ordering: .relaxed)
    inbox.withLock { $0.append(contentsOf: claims) }
    curl_multi_wakeup(multi)
  }

  /// Stops taking new work; transfers in flight get `graceMs` to finish, then are aborted and given back
  /// through the mailbox. Callable from any thread.
  public func drain(graceMs: Int64) {
    control.withLock {
      $0.draining = true
      $0.abortAt = monotonicMs() + graceMs
    }
    curl_multi_wakeup(multi)
  }

  /// The loop. Returns when draining and nothing is left in flight; the mailbox is then told so.
  public func run() {
    var running: Int32 = 0
    var finished: [ProbeResult] = []
    while true {
      let now = monotonicMs()
      heartbeat.store(now, ordering: .relaxed)
      if let (newSettings, hold) = pendingSettings.withLock({ p -> (ProbeConfig, Int64)? in
        defer { p = nil }
        return p
      }) {
        apply(newSettings, holdLimitMs: hold)
      }
      let ctl = control.withLock { $0 }
      if ctl.draining {
        var queued = inbox.withLock { q -> [ClaimedURL] in
          defer { q.removeAll() }
          return q
        }
        inboxCount.subtract(queued.count, ordering: .relaxed)
        for h in hosts.values { queued += h.queue.removeAll().map(\.claim) }
        held = 0
        if !queued.isEmpty { giveBack(queued) }
        if let abortAt = ctl.abortAt, monotonicMs() >= abortAt, !inFlight.isEmpty {
          abortAll()
        }
        if inFlight.isEmpty { break }
      } else {
        startQueued(now: now)
      }
      postDeferred()
      curl_multi_perform(multi, &running)
      collect(into: &finished)
      if !finished.isEmpty {
        outstandingCount.subtract(finished.count, ordering: .relaxed)
        mailbox.post(results: finished)
        finished.removeAll(keepingCapacity: true)
        continue  // free slots: start more before sleeping
      }
      var timeout: Int64 = 500
      if nextTimedAt != Int64.max { timeout = max(0, min(timeout, nextTimedAt - monotonicMs())) }
      var fds: Int32 = 0
      curl_multi_poll(multi, nil, 0, Int32(timeout), &fds)
    }
    postDeferred()
    mailbox.finish()
  }

  // MARK: Host scheduling

  /// A host is a name and port, as libcurl counts hosts for its connection limits (two ports of one
  /// machine are two servers); its rule is chosen by the name alone.
  private func hostState(for claim: ClaimedURL) -> HostState {
    let key = Self.authority(claim.url)
    if let h = hosts[key] {
      if h.rulesVersion != rulesVersion {
        h.rule = compiledRule(for: claim.host)
        h.rulesVersion = rulesVersion
      }
      return h
    }
    let h = HostState(name: key, rule: compiledRule(for: claim.host), rulesVersion: rulesVersion)
    hosts[key] = h
    return h
  }

  /// "host:port" of a normalized URL (the part between "://" and the path).
  static func authority(_ url: String) -> String {
    let u = url.utf8
    guard let colon = u.firstIndex(of: UInt8(ascii: ":")) else { return url }
    let start = u.index(colon, offsetBy: 3, limitedBy: u.endIndex) ?? u.endIndex
    var end = start
    while end != u.endIndex {
      let b = u[end]
      if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
      end = u.index(after: end)
    }
    return String(url[start..<end])
  }

  private func compiledRule(for host: String) -> CompiledRule {
    if let i = settings.rules.firstIndex(where: { $0.matches(host: host) }), i < compiledRules.count {
      return compiledRules[i]
    }
    return compiledDefault
  }

  /// Puts `h` in line: the ready list when it may start now, else the timed list.
  private func schedule(_ h: HostState, now: Int64) {
    guard !h.scheduled else { return }
    h.scheduled = true
    let at = max(h.nextStartAt, h.pausedUntil)
    if at <= now {
      ready.append(h)
    } else {
      timed.append((at, h))
      nextTimedAt = min(nextTimedAt, at)
    }
  }

  /// Queues a job for its host, or hands it back when the host could not take it within the hold limit.
  private func enqueue(_ job: Job, now: Int64) {
    let h = hostState(for: job.claim)
    if let at = deferral(h, position: h.queue.count, now: now) {
      deferred.append(
        Deferral(claim: job.claim, at: Timestamp.nowMs() + (at - now), cause: h.pausedUntil > now ? .hostPaused : .hostBusy))
      return
    }
    h.queue.append(job)
    held += 1
    if h.inFlight < h.rule.maxConnections { schedule(h, now: now) }
  }

  /// When a job at `position` in `h`'s queue should come back instead of waiting here; nil = keep it.
  private func deferral(_ h: HostState, position: Int, now: Int64) -> Int64? {
    let slot = h.slotMs
    let start = max(now, h.pausedUntil, h.nextStartAt)
    let expected = start + Int64(Double(position) * slot)
    if expected - now <= holdLimitMs { return nil }
    let at = max(expected, h.horizon)
    h.horizon = at + Int64(max(slot, 1))
    return at
  }

  private func startQueued(now: Int64) {
    let incoming = inbox.withLock { q -> [ClaimedURL] in
      defer { q.removeAll(keepingCapacity: true) }
      return q
    }
    if !incoming.isEmpty {
      inboxCount.subtract(incoming.count, ordering: .relaxed)
      for claim in incoming { enqueue(Job(claim: claim, queuedAt: now), now: now) }
    }
    if now >= nextSweepAt { sweep(now: now) }
    if nextTimedAt <= now {
      var keep: [(at: Int64, host: HostState)] = []
      nextTimedAt = Int64.max
      for entry in timed {
        if entry.at <= now {
          entry.host.scheduled = false
          schedule(entry.host, now: now)
        } else {
          keep.append(entry)
          nextTimedAt = min(nextTimedAt, entry.at)
        }
      }
      timed = keep
    }
    var room = settings.concurrency - inFlight.count
    while room > 0 && readyHead < ready.count {
      let h = ready[readyHead]
      readyHead += 1
      h.scheduled = false
      if h.queue.isEmpty || h.inFlight >= h.rule.maxConnections { continue }  // rescheduled on completion
      if max(h.nextStartAt, h.pausedUntil) > now {
        schedule(h, now: now)
        continue
      }
      let job = h.queue.popFirst()!
      held -= 1
      start(job, host: h, now: now)
      room -= 1
      if let interval = h.rule.intervalMs {
        h.nextStartAt = max(h.nextStartAt, now) + Int64(interval.rounded(.up))
      }
      if !h.queue.isEmpty && h.inFlight < h.rule.maxConnections { schedule(h, now: now) }
    }
    if readyHead > 256 && readyHead * 2 > ready.count {
      ready.removeFirst(readyHead)
      readyHead = 0
    }
    let readyLeft = readyHead < ready.count
    // Busy = in flight, plus "full" when hosts are still waiting for room; too much held back also
    // stops claiming (a queue of one rate-limited host must not pull the whole table into memory).
    let full = readyLeft || held > max(4 * settings.concurrency, 1000)
    busyCount.store(full ? settings.concurrency + held : inFlight.count, ordering: .relaxed)
  }

  /// Once a second: hand back jobs that have waited too long (a host slower than estimated) and forget
  /// idle hosts whose politeness state has run out.
  private func sweep(now: Int64) {
    nextSweepAt = now + 1000
    var idle: [String] = []
    for (name, h) in hosts {
      if let first = h.queue.first, now - first.queuedAt > 2 * holdLimitMs {
        let jobs = h.queue.removeAll()
        held -= jobs.count
        let slot = max(h.slotMs, 1)
        let cause: Deferral.Cause = h.pausedUntil > now ? .hostPaused : .hostBusy
        for (k, job) in jobs.enumerated() {
          deferred.append(
            Deferral(
              claim: job.claim, at: Timestamp.nowMs() + Int64(Double(k) * slot) + max(h.pausedUntil - now, 0), cause: cause))
        }
      }
      if h.queue.isEmpty && h.inFlight == 0 && !h.scheduled && h.nextStartAt < now && h.pausedUntil < now
        && h.horizon < now
      {
        idle.append(name)
      }
    }
    for name in idle { hosts.removeValue(forKey: name) }
  }

  private func postDeferred() {
    guard !deferred.isEmpty else { return }
    outstandingCount.subtract(deferred.count, ordering: .relaxed)
    mailbox.post(deferred: deferred)
    deferred.removeAll()
  }

  /// The host asked us to stay away until `until` (monotonic ms): everything queued for it comes back
  /// after that, spread by its rate.
  private func pause(_ h: HostState, until: Int64, now: Int64) {
    h.pausedUntil = max(h.pausedUntil, until)
    let jobs = h.queue.removeAll()
    held -= jobs.count
    for job in jobs { enqueue(job, now: now) }
  }

  // MARK: Transfers

  private func start(_ job: Job, host h: HostState, now: Int64) {
    let handle: UnsafeMutableRawPointer
    if let reused = pool.popLast() {
      curl_easy_reset(reused)
      handle = reused
    } else {
      handle = curl_easy_init()
    }
    let rule = h.rule
    let method: ProbeMethod = job.headStatus == nil ? rule.rule.method : .get
    let proxy = rule.rule.proxy
    // Through a proxy, the connection we see is the proxy's: the address rule cannot apply (the proxy
    // resolves the target), and an operator-configured proxy is trusted.
    let t = Transfer(
      job: job, handle: handle, host: h, method: method, maxBody: Int64(settings.maxBodyBytes),
      allowPrivate: settings.allowPrivateAddresses || proxy != nil, keepBody: !rule.markers.isEmpty, startedAt: now)
    let user = Unmanaged.passRetained(t).toOpaque()
    let claim = job.claim
    _ = ccurl_easy_setopt_str(handle, CURLOPT_URL, claim.url)
    _ = ccurl_easy_setopt_ptr(handle, CURLOPT_PRIVATE, user)
    _ = ccurl_easy_setopt_write_cb(handle, CURLOPT_WRITEFUNCTION, writeCallback)
    _ = ccurl_easy_setopt_ptr(handle, CURLOPT_WRITEDATA, user)
    _ = ccurl_easy_setopt_write_cb(handle, CURLOPT_HEADERFUNCTION, headerCallback)
    _ = ccurl_easy_setopt_ptr(handle, CURLOPT_HEADERDATA, user)
    _ = ccurl_easy_setopt_opensocket_cb(handle, CURLOPT_OPENSOCKETFUNCTION, openSocketCallback)
    _ = ccurl_easy_setopt_ptr(handle, CURLOPT_OPENSOCKETDATA, user)
    _ = ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
    // libcurl's receive buffer, one per handle, default 16 KiB. An answer of a few hundred bytes touches
    // the start of it, and malloc the page of the next chunk's header: ~8 KiB resident per transfer.
    // At 1 KiB (libcurl's minimum) several share a page: peak RSS at 2,000 in flight 68.8 → 62.0 MB
    // (anon 41.9 → 34.9 MB), keep-alive rate unchanged in an A/B run. A 64 KiB body takes 64 reads.
    _ = ccurl_easy_setopt_long(handle, CURLOPT_BUFFERSIZE, 1024)
    _ = ccurl_easy_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https")
    _ = ccurl_easy_setopt_str(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    _ = ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, settings.maxRedirects > 0 ? 1 : 0)
    // libcurl 7.88 follows redirects without limit by default: always set the cap explicitly.
    _ = ccurl_easy_setopt_long(handle, CURLOPT_MAXREDIRS, settings.maxRedirects)
    _ = ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeoutMs))
    _ = ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(settings.timeoutMs))
    _ = ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
    _ = ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
    _ = ccurl_easy_setopt_str(handle, CURLOPT_USERAGENT, settings.userAgent)
    // "" turns proxies off, so an http_proxy variable in the service's environment is never used silently.
    _ = ccurl_easy_setopt_str(handle, CURLOPT_PROXY, proxy ?? "")
    if proxy != nil { _ = ccurl_easy_setopt_long(handle, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1) }
    if method == .head { _ = ccurl_easy_setopt_long(handle, CURLOPT_NOBODY, 1) }
    if let list = rule.headerList { _ = ccurl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list) }
    if let resolveList { _ = ccurl_easy_setopt_slist(handle, CURLOPT_RESOLVE, resolveList) }
    inFlight[handle] = t
    h.inFlight += 1
    curl_multi_add_handle(multi, handle)
  }

  private func collect(into out: inout [ProbeResult]) {
    var left: Int32 = 0
    let now = monotonicMs()
    while let msg = curl_multi_info_read(multi, &left) {
      guard msg.pointee.msg == CURLMSG_DONE, let handle = msg.pointee.easy_handle else { continue }
      let code = Int32(msg.pointee.data.result.rawValue)
      guard let t = inFlight.removeValue(forKey: handle) else { continue }
      let h = t.host
      h.inFlight -= 1
      if let local = localFailure(t, code: code) {
        // Nothing was learnt about the URL: no result, the claim goes back to the queue to be tried
        // again shortly (the runner logs it loudly), and the host's timing estimate is left alone.
        curl_multi_remove_handle(multi, handle)
        Unmanaged.passUnretained(t).release()
        pool.append(handle)
        deferred.append(
          Deferral(claim: t.job.claim, at: Timestamp.nowMs() + Self.localRetryMs, cause: .localFailure(errno: local)))
        if !h.queue.isEmpty && h.inFlight < h.rule.maxConnections { schedule(h, now: now) }
        continue
      }
      h.averageMs = h.averageMs * 0.8 + Double(max(now - t.startedAt, 0)) * 0.2
      let r = result(of: t, code: code)
      curl_multi_remove_handle(multi, handle)
      Unmanaged.passUnretained(t).release()
      pool.append(handle)
      if t.method == .head && !(200...299).contains(r.httpStatus ?? 0) && !t.privateRefused {
        // A removal is only ever confirmed by a full GET: the HEAD's answer goes back into the host's
        // queue, first in line, as a GET.
        var again = t.job
        again.headStatus = r.httpStatus ?? 0
        h.queue.pushFront(again)
        held += 1
      } else {
        out.append(r)
      }
      if let until = r.retryAfterAt {
        // 429/503 with Retry-After: the whole host waits, not only this URL.
        pause(h, until: now + max(until - r.checkedAt, 0), now: now)
      } else if r.httpStatus == 429 && settings.throttlePauseMs > 0 {
        // Rate limited without being told for how long: the whole host waits too, longer each time.
        h.throttled += 1
        pause(h, until: now + Self.throttlePause(base: settings.throttlePauseMs, streak: h.throttled), now: now)
      }
      if r.httpStatus != 429 { h.throttled = 0 }
      if !h.queue.isEmpty && h.inFlight < h.rule.maxConnections { schedule(h, now: now) }
    }
  }

  /// A check that failed for a reason of this machine (out of descriptors or memory, no local port
  /// left) returns the errno to report; nil when the failure, if any, is the site's.
  ///
  /// Not CURLE_OUT_OF_MEMORY: libcurl 7.88 also returns it for a header line longer than its 100 KiB
  /// cap, which any server can send; taken as local, such a URL would be requeued every second for
  /// ever. It stays a recorded `curl_error` (a real shortage of memory rarely stops at one transfer).
  private func localFailure(_ t: Transfer, code: Int32) -> Int32? {
    guard code == CurlCode.couldntConnect else { return nil }
    if t.localErrno != 0 { return t.localErrno }
    var os = 0
    _ = ccurl_easy_getinfo_long(t.handle, CURLINFO_OS_ERRNO, &os)
    // connect() found no local port to bind (ephemeral ports exhausted). Only for IPv4: on a machine
    // without IPv6, connecting to an IPv6 address fails the same way, and that is the site's address.
    if Int32(os) == EADDRNOTAVAIL, let ip = infoString(t.handle, CURLINFO_PRIMARY_IP), !ip.contains(":") {
      return EADDRNOTAVAIL
    }
    return nil
  }

  /// How soon a check that failed for a local reason is tried again.
  static let localRetryMs: Int64 = 1000

  private func result(of t: Transfer, code: Int32) -> ProbeResult {
    let h = t.handle
    var status = 0
    _ = ccurl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
    var redirects = 0
    _ = ccurl_easy_getinfo_long(h, CURLINFO_REDIRECT_COUNT, &redirects)
    var timings = CheckTimings()
    timings.dnsUs = infoOff(h, CURLINFO_NAMELOOKUP_TIME_T)
    timings.connectUs = infoOff(h, CURLINFO_CONNECT_TIME_T)
    timings.tlsUs = infoOff(h, CURLINFO_APPCONNECT_TIME_T)
    timings.firstByteUs = infoOff(h, CURLINFO_STARTTRANSFER_TIME_T)
    timings.totalUs = infoOff(h, CURLINFO_TOTAL_TIME_T)
    let flags = TransferFlags(
      privateAddressRefused: t.privateRefused, bodyCapped: t.capped,
      redirectSchemeRefused: code == CurlCode.unsupportedProtocol && t.capture.redirectsToOtherScheme)
    let finalURL = infoString(h, CURLINFO_EFFECTIVE_URL)
    let rule = t.host.rule
    let contentType = t.capture.header("content-type")
    // A timeout before the name was even resolved is the resolver's fault, not the site's.
    let dnsTimeout = code == CurlCode.operationTimedOut && timings.dnsUs == 0 && infoString(h, CURLINFO_PRIMARY_IP) == nil
    var verdict = Classifier.judge(
      curlCode: code, httpStatus: status, flags: flags, rule: rule.rule, redirects: redirects,
      originalURL: t.job.claim.url, finalURL: finalURL, method: t.method,
      marker: { rule.markers.isEmpty ? nil : rule.markers.firstMatch(body: t.body, contentType: contentType) })
    if dnsTimeout { verdict = Verdict(observation: .transient, reason: .dnsError) }
    let checkedAt = Timestamp.nowMs()
    var retryAfterMs: Int64?
    if status == 429 || status == 503, let value = t.capture.header("retry-after") {
      retryAfterMs = RetryAfter.parseDelayMs(value, nowMs: checkedAt).map { min($0, Self.maxRetryAfterMs) }
    }
    var r = ProbeResult(
      claim: t.job.claim, checkedAt: checkedAt, observation: verdict.observation, reason: verdict.reason,
      httpStatus: status > 0 ? status : nil, curlCode: code, finalURL: finalURL,
      redirects: redirects, remoteIP: infoString(h, CURLINFO_PRIMARY_IP), timings: timings, bytes: t.bytes)
    var sha = t.sha
    r.evidence = CheckEvidence(
      vantage: settings.vantage,
      method: t.job.headStatus.map { "HEAD \($0 > 0 ? String($0) : "failed"), GET" } ?? t.method.rawValue.uppercased(),
      bodySHA256: t.method == .head ? nil : SHA256.hex(sha.finalize()), headers: t.capture.headers,
      redirectChain: t.capture.hops, matched: verdict.matched, rule: rule.label)
    r.retryAfterAt = retryAfterMs.map { checkedAt + $0 }
    r.bodyTruncated = t.capped
    return r
  }

  /// A Retry-After is honoured up to a day; beyond that it is more likely a mistake than a plan.
  static let maxRetryAfterMs: Int64 = 86_400_000

  /// The host's pause after the `streak`-th 429 in a row without Retry-After: `base`, doubled for each
  /// earlier one, at most `max(base, 10 min)`.
  static func throttlePause(base: Int64, streak: Int) -> Int64 {
    let cap = max(base, 600_000)
    let doublings = min(max(streak - 1, 0), 20)
    return base > cap >> doublings ? cap : base << doublings
  }

  private func abortAll() {
    var claims: [ClaimedURL] = []
    for (h, t) in inFlight {
      curl_multi_remove_handle(multi, h)
      claims.append(t.job.claim)
      t.host.inFlight -= 1
      Unmanaged.passUnretained(t).release()
      pool.append(h)
    }
    inFlight.removeAll()
    giveBack(claims)
  }

  private func giveBack(_ claims: [ClaimedURL]) {
    outstandingCount.subtract(claims.count, ordering: .relaxed)
    mailbox.post(abandoned: claims)
  }
}

private func infoOff(_ h: UnsafeMutableRawPointer, _ info: CURLINFO) -> Int64 {
  var v: curl_off_t = 0
  _ = ccurl_easy_getinfo_off(h, info, &v)
  return Int64(v)
}

private func infoString(_ h: UnsafeMutableRawPointer, _ info: CURLINFO) -> String? {
  var p: UnsafeMutablePointer<CChar>?
  guard ccurl_easy_getinfo_str(h, info, &p) == CURLE_OK, let p, p.pointee != 0 else { return nil }
  return String(cString: p)
}

func monotonicMs() -> Int64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A claim handed back unchecked, with the wall-clock ms from which it can be tried again.
struct Deferral {
  enum Cause: Equatable {
    /// The host's queue (its connections, its rate) would keep it waiting longer than the hold limit.
    case hostBusy
    /// The host asked us to wait (Retry-After, a 429).
    case hostPaused
    /// This machine could not start the check (an errno such as EMFILE): nothing is known about the URL.
    case localFailure(errno: Int32)
  }
  var claim: ClaimedURL
  var at: Int64
  var cause: Cause
}

/// Where the probe thread leaves results for the runner, and where the runner sleeps until there is
/// something to do (results, a stop request, or a timeout).
public final class Mailbox: @unchecked Sendable {
  // @unchecked: every field is read and written only while `condition` is locked.
  private let condition = NSCondition()
  private var results: [ProbeResult] = []
  private var abandoned: [ClaimedURL] = []
  private var deferred: [Deferral] = []
  private var finished = false
  private var poked = false

  public init() {}

  func post(results r: [ProbeResult]) {
    condition.lock()
    results.append(contentsOf: r)
    condition.signal()
    condition.unlock()
  }

  func post(abandoned a: [ClaimedURL]) {
    condition.lock()
    abandoned.append(contentsOf: a)
    condition.signal()
    condition.unlock()
  }

  /// Claims handed back unchecked because their host cannot take them soon, with the wall-clock ms
  /// from which it can.
  func post(deferred d: [Deferral]) {
    condition.lock()
    deferred.append(contentsOf: d)
    condition.signal()
    condition.unlock()
  }

  func finish() {
    condition.lock()
    finished = true
    condition.signal()
    condition.unlock()
  }

  /// Nothing waiting to be taken.
  var isEmpty: Bool {
    condition.lock()
    defer { condition.unlock() }
    return results.isEmpty && abandoned.isEmpty && deferred.isEmpty
  }

  /// Wakes a waiting runner (a stop request, a signal).
  public func poke() {
    condition.lock()
    poked = true
    condition.signal()
    condition.unlock()
  }

  /// Waits up to `timeoutMs` for anything, then takes it all.
  func take(timeoutMs: Int64) -> (
    results: [ProbeResult], abandoned: [ClaimedURL], deferred: [Deferral], finished: Bool
  ) {
    condition.lock()
    defer { condition.unlock() }
    if results.isEmpty && abandoned.isEmpty && deferred.isEmpty && !finished && !poked && timeoutMs > 0 {
      _ = condition.wait(until: Date(timeIntervalSinceNow: Double(timeoutMs) / 1000))
    }
    poked = false
    let r = results
    let a = abandoned
    let d = deferred
    results.removeAll(keepingCapacity: true)
    abandoned.removeAll()
    deferred.removeAll()
    return (r, a, d, finished)
  }
}
