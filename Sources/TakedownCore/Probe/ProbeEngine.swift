import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Per-transfer state that libcurl's C callbacks reach through their user pointer. Touched only on the
/// probe thread (libcurl calls the callbacks from inside curl_multi_perform).
final class Transfer {
  let claim: ClaimedURL
  let handle: UnsafeMutableRawPointer
  let maxBody: Int64
  let allowPrivate: Bool
  var bytes: Int64 = 0
  var capped = false
  var privateRefused = false

  init(claim: ClaimedURL, handle: UnsafeMutableRawPointer, maxBody: Int64, allowPrivate: Bool) {
    self.claim = claim
    self.handle = handle
    self.maxBody = maxBody
    self.allowPrivate = allowPrivate
  }
}

/// Reads the body only up to the cap: a hostile server cannot make us download more than max_body_bytes.
/// Returning less than asked makes libcurl stop the transfer (CURLE_WRITE_ERROR), which the classifier
/// treats as a complete answer when `capped` is set.
private let writeCallback: curl_write_callback = { _, size, count, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let n = Int64(size * count)
  let room = t.maxBody - t.bytes
  if n <= room {
    t.bytes += n
    return size * count
  }
  t.bytes += max(room, 0)
  t.capped = true
  return 0
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
  return socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
}

/// Checks URLs concurrently on one libcurl multi handle, on a thread of its own.
///
/// The runner submits claimed URLs; the engine keeps up to `concurrency` transfers in flight and posts
/// finished results to the mailbox in batches. It never touches the database, so the multi loop never
/// waits on a disk.
public final class ProbeEngine: @unchecked Sendable {
  // @unchecked: `multi`, `pool`, `inFlight` and `settings` are touched only on the probe thread; what
  // other threads share is behind `inbox` (a Mutex), `outstanding` (an Atomic) and curl_multi_wakeup,
  // which libcurl documents as callable from any thread.
  private let multi: UnsafeMutableRawPointer
  private var settings: ProbeConfig
  private var resolveList: UnsafeMutablePointer<curl_slist>?
  /// Resolve lists replaced by a reload: transfers started before it may still point at them.
  private var retiredResolveLists: [UnsafeMutablePointer<curl_slist>] = []
  private let pendingSettings = Mutex<ProbeConfig?>(nil)
  private let heartbeat = Atomic<Int64>(0)
  private var pool: [UnsafeMutableRawPointer] = []
  private var inFlight: [UnsafeMutableRawPointer: Transfer] = [:]
  private let inbox = Mutex<[ClaimedURL]>([])
  private let control = Mutex<Control>(Control())
  private let mailbox: Mailbox
  /// Submitted and not yet reported back (queued + in flight): the runner claims more when this is low.
  private let outstandingCount = Atomic<Int>(0)

  struct Control {
    var draining = false
    /// Monotonic ms after which in-flight transfers are aborted and given back.
    var abortAt: Int64?
  }

  public var outstanding: Int { outstandingCount.load(ordering: .relaxed) }

  /// Monotonic ms of the probe loop's last turn: the watchdog pings only while this moves.
  public var lastHeartbeat: Int64 { heartbeat.load(ordering: .relaxed) }

  public init(config: ProbeConfig, mailbox: Mailbox) {
    _ = ProbeEngine.globalInit
    multi = curl_multi_init()!
    settings = config
    self.mailbox = mailbox
    heartbeat.store(monotonicMs(), ordering: .relaxed)
    apply(config)
  }

  /// Multi-handle limits and the resolve list; per-transfer options are read from `settings` at start.
  private func apply(_ config: ProbeConfig) {
    settings = config
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, config.concurrency)
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, config.perHostConnections)
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, config.concurrency)
    if let old = resolveList { retiredResolveLists.append(old) }
    resolveList = nil
    for entry in config.resolve { resolveList = curl_slist_append(resolveList, entry) }
  }

  /// New settings (a reload) for checks started from now on; checks in flight keep theirs.
  /// Callable from any thread.
  public func update(_ config: ProbeConfig) {
    pendingSettings.withLock { $0 = config }
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
  public static var curlVersion: String { String(cString: curl_version()) }

  /// Hands claimed URLs to the engine. Callable from any thread.
  public func submit(_ claims: [ClaimedURL]) {
    guard !claims.isEmpty else { return }
    outstandingCount.add(claims.count, ordering: .relaxed)
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
      heartbeat.store(monotonicMs(), ordering: .relaxed)
      if let newSettings = pendingSettings.withLock({ p -> ProbeConfig? in
        defer { p = nil }
        return p
      }) {
        apply(newSettings)
      }
      let ctl = control.withLock { $0 }
      if ctl.draining {
        let queued = inbox.withLock { q -> [ClaimedURL] in
          defer { q.removeAll() }
          return q
        }
        if !queued.isEmpty { giveBack(queued) }
        if let abortAt = ctl.abortAt, monotonicMs() >= abortAt, !inFlight.isEmpty {
          abortAll()
        }
        if inFlight.isEmpty { break }
      } else {
        startQueued()
      }
      curl_multi_perform(multi, &running)
      collect(into: &finished)
      if !finished.isEmpty {
        outstandingCount.subtract(finished.count, ordering: .relaxed)
        mailbox.post(results: finished)
        finished.removeAll(keepingCapacity: true)
        continue  // free slots: start more before sleeping
      }
      var fds: Int32 = 0
      curl_multi_poll(multi, nil, 0, 500, &fds)
    }
    mailbox.finish()
  }

  private func startQueued() {
    let room = settings.concurrency - inFlight.count
    guard room > 0 else { return }
    let batch = inbox.withLock { q -> ArraySlice<ClaimedURL> in
      let n = min(room, q.count)
      let taken = q[0..<n]
      q.removeFirst(n)
      return taken
    }
    for claim in batch { start(claim) }
  }

  private func start(_ claim: ClaimedURL) {
    let h: UnsafeMutableRawPointer
    if let reused = pool.popLast() {
      curl_easy_reset(reused)
      h = reused
    } else {
      h = curl_easy_init()
    }
    let t = Transfer(
      claim: claim, handle: h, maxBody: Int64(settings.maxBodyBytes), allowPrivate: settings.allowPrivateAddresses)
    let user = Unmanaged.passRetained(t).toOpaque()
    _ = ccurl_easy_setopt_str(h, CURLOPT_URL, claim.url)
    _ = ccurl_easy_setopt_ptr(h, CURLOPT_PRIVATE, user)
    _ = ccurl_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, writeCallback)
    _ = ccurl_easy_setopt_ptr(h, CURLOPT_WRITEDATA, user)
    _ = ccurl_easy_setopt_opensocket_cb(h, CURLOPT_OPENSOCKETFUNCTION, openSocketCallback)
    _ = ccurl_easy_setopt_ptr(h, CURLOPT_OPENSOCKETDATA, user)
    _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    _ = ccurl_easy_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https")
    _ = ccurl_easy_setopt_str(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    _ = ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, settings.maxRedirects > 0 ? 1 : 0)
    // libcurl 7.88 follows redirects without limit by default: always set the cap explicitly.
    _ = ccurl_easy_setopt_long(h, CURLOPT_MAXREDIRS, settings.maxRedirects)
    _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeoutMs))
    _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(settings.timeoutMs))
    _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
    _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
    _ = ccurl_easy_setopt_str(h, CURLOPT_USERAGENT, settings.userAgent)
    if let resolveList { _ = ccurl_easy_setopt_slist(h, CURLOPT_RESOLVE, resolveList) }
    inFlight[h] = t
    curl_multi_add_handle(multi, h)
  }

  private func collect(into out: inout [ProbeResult]) {
    var left: Int32 = 0
    while let msg = curl_multi_info_read(multi, &left) {
      guard msg.pointee.msg == CURLMSG_DONE, let h = msg.pointee.easy_handle else { continue }
      let code = Int32(msg.pointee.data.result.rawValue)
      guard let t = inFlight.removeValue(forKey: h) else { continue }
      out.append(result(of: t, code: code))
      curl_multi_remove_handle(multi, h)
      Unmanaged.passUnretained(t).release()
      pool.append(h)
    }
  }

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
    let flags = TransferFlags(privateAddressRefused: t.privateRefused, bodyCapped: t.capped)
    let (observation, reason) = Classifier.classify(curlCode: code, httpStatus: status, flags: flags)
    return ProbeResult(
      claim: t.claim, checkedAt: Timestamp.nowMs(), observation: observation, reason: reason,
      httpStatus: status > 0 ? status : nil, curlCode: code, finalURL: infoString(h, CURLINFO_EFFECTIVE_URL),
      redirects: redirects, remoteIP: infoString(h, CURLINFO_PRIMARY_IP), timings: timings, bytes: t.bytes)
  }

  private func abortAll() {
    var claims: [ClaimedURL] = []
    for (h, t) in inFlight {
      curl_multi_remove_handle(multi, h)
      claims.append(t.claim)
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

/// Where the probe thread leaves results for the runner, and where the runner sleeps until there is
/// something to do (results, a stop request, or a timeout).
public final class Mailbox: @unchecked Sendable {
  // @unchecked: every field is read and written only while `condition` is locked.
  private let condition = NSCondition()
  private var results: [ProbeResult] = []
  private var abandoned: [ClaimedURL] = []
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
    return results.isEmpty && abandoned.isEmpty
  }

  /// Wakes a waiting runner (a stop request, a signal).
  public func poke() {
    condition.lock()
    poked = true
    condition.signal()
    condition.unlock()
  }

  /// Waits up to `timeoutMs` for anything, then takes it all.
  func take(timeoutMs: Int64) -> (results: [ProbeResult], abandoned: [ClaimedURL], finished: Bool) {
    condition.lock()
    defer { condition.unlock() }
    if results.isEmpty && abandoned.isEmpty && !finished && !poked && timeoutMs > 0 {
      _ = condition.wait(until: Date(timeIntervalSinceNow: Double(timeoutMs) / 1000))
    }
    poked = false
    let r = results
    let a = abandoned
    results.removeAll(keepingCapacity: true)
    abandoned.removeAll()
    return (r, a, finished)
  }
}
