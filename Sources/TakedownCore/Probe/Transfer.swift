import CCurl

/// One hop of a redirect chain as the server sent it: the status and its Location header.
public struct RedirectHop: Sendable, Equatable {
  public var status: Int
  public var location: String?
  public init(status: Int, location: String?) {
    self.status = status
    self.location = location
  }
}

/// What the header callback saw: the final response's selected headers and the redirects before it.
struct ResponseCapture {
  /// Response headers kept as evidence (lowercased names). Everything else is dropped unread.
  static let kept: [String] = ["server", "date", "content-type", "content-length", "location", "retry-after", "last-modified"]
  static let maxValueBytes = 1024

  var status = 0
  var headers: [(String, String)] = []
  var hops: [RedirectHop] = []

  func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }

  /// The last response is a redirect to a scheme other than http/https ("ftp://…", "file:…"); a
  /// relative Location ("/x", "x:y" is not one: a scheme needs letters before the colon) stays on http.
  var redirectsToOtherScheme: Bool {
    guard (300...399).contains(status), let location = header("location") else { return false }
    guard let colon = location.firstIndex(of: ":") else { return false }
    let scheme = location[..<colon]
    guard let first = scheme.first, first.isASCII, first.isLetter,
      scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
    else { return false }
    let lower = scheme.lowercased()
    return lower != "http" && lower != "https"
  }

  /// One header line as libcurl delivers it (CRLF included), for every response of the transfer.
  mutating func take(line: UnsafeRawBufferPointer) {
    var n = line.count
    while n > 0 && (line[n - 1] == 0x0A || line[n - 1] == 0x0D) { n -= 1 }
    guard n > 0 else { return }
    // "HTTP/1.1 301 Moved" or "HTTP/2 200": a new response begins; the previous one, if it was a
    // redirect, becomes a hop of the chain.
    if n >= 5 && line[0] == 0x48 && line[1] == 0x54 && line[2] == 0x54 && line[3] == 0x50 && line[4] == 0x2F {
      if (300...399).contains(status) { hops.append(RedirectHop(status: status, location: header("location"))) }
      status = 0
      headers.removeAll(keepingCapacity: true)
      var i = 5
      while i < n && line[i] != 0x20 { i += 1 }
      i += 1
      var code = 0
      var digits = 0
      while i < n && digits < 3, line[i] >= 0x30 && line[i] <= 0x39 {
        code = code * 10 + Int(line[i] - 0x30)
        i += 1
        digits += 1
      }
      status = digits == 3 ? code : 0
      return
    }
    guard let colon = (0..<n).first(where: { line[$0] == 0x3A }), colon > 0, colon <= 16 else { return }
    // Compare the name without allocating: lowercase ASCII into a small stack of bytes.
    var matched: String?
    for name in Self.kept where name.utf8.count == colon {
      var same = true
      var j = 0
      for c in name.utf8 {
        var b = line[j]
        if b >= 0x41 && b <= 0x5A { b += 0x20 }
        if b != c {
          same = false
          break
        }
        j += 1
      }
      if same {
        matched = name
        break
      }
    }
    guard let matched else { return }
    var start = colon + 1
    while start < n && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
    let end = min(n, start + Self.maxValueBytes)
    let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    if let i = headers.firstIndex(where: { $0.0 == matched }) {
      headers[i].1 = value
    } else {
      headers.append((matched, value))
    }
  }
}

/// A claimed URL waiting for its host's turn (or for a GET after a HEAD that was not 2xx).
struct Job {
  var claim: ClaimedURL
  /// Monotonic ms when it reached the engine: a job must not wait there until its lease runs out.
  var queuedAt: Int64
  /// Set when a HEAD answered with something other than 2xx: this job is the confirming GET.
  var headStatus: Int? = nil
}

/// Per-transfer state that libcurl's C callbacks reach through their user pointer. Touched only on the
/// probe thread (libcurl calls the callbacks from inside curl_multi_perform).
final class Transfer {
  let job: Job
  let handle: UnsafeMutableRawPointer
  let host: HostState
  let method: ProbeMethod
  let maxBody: Int64
  let allowPrivate: Bool
  let keepBody: Bool
  let startedAt: Int64
  var bytes: Int64 = 0
  var capped = false
  var privateRefused = false
  /// errno of a socket() that failed for a local reason (EMFILE, ENFILE, ENOBUFS, ENOMEM); 0 = none.
  var localErrno: Int32 = 0
  var sha = SHA256()
  var body: [UInt8] = []
  var capture = ResponseCapture()

  init(
    job: Job, handle: UnsafeMutableRawPointer, host: HostState, method: ProbeMethod, maxBody: Int64,
    allowPrivate: Bool, keepBody: Bool, startedAt: Int64
  ) {
    self.job = job
    self.handle = handle
    self.host = host
    self.method = method
    self.maxBody = maxBody
    self.allowPrivate = allowPrivate
    self.keepBody = keepBody
    self.startedAt = startedAt
  }
}

/// A host rule made ready for the probe loop: markers compiled, headers as a curl list.
final class CompiledRule {
  let rule: HostRule
  /// Index in the config's rules (nil: the default rule), for the evidence.
  let index: Int?
  let markers: RemovalMarkers
  let headerList: UnsafeMutablePointer<curl_slist>?
  /// Milliseconds between request starts (from `rate`), nil = no rate limit.
  let intervalMs: Double?
  /// Most transfers in flight to the host; Int.max = unlimited.
  let maxConnections: Int

  init(rule: HostRule, index: Int?) {
    self.rule = rule
    self.index = index
    markers = RemovalMarkers(rule.removalMarkers.compactMap { try? RemovalMarker($0) })
    var list: UnsafeMutablePointer<curl_slist>? = nil
    for h in rule.headers { list = curl_slist_append(list, h) }
    headerList = list
    intervalMs = rule.rate.map { 1000 / $0 }
    let cap = rule.maxConnections ?? 0
    maxConnections = cap > 0 ? cap : Int.max
  }

  deinit { curl_slist_free_all(headerList) }

  /// How the rule is named in a check's evidence: its index and first host glob.
  var label: String? { index.map { "rule[\($0)] \(rule.hosts.first ?? "")" } }
}

/// One host's queue and politeness state in the probe loop.
final class HostState {
  let name: String
  var rule: CompiledRule
  var rulesVersion: Int
  var queue = JobQueue()
  var inFlight = 0
  /// Monotonic ms before which no request may start (rate spacing).
  var nextStartAt: Int64 = 0
  /// Monotonic ms until which the host asked us to stay away (Retry-After, or a 429 without it).
  var pausedUntil: Int64 = 0
  /// 429s without Retry-After in a row: each doubles the host's pause.
  var throttled = 0
  /// Latest time handed out to a deferred job, so deferred jobs come back spread out, not together.
  var horizon: Int64 = 0
  /// Moving average of a check's duration on this host, for estimating how long a queue takes. Starts
  /// at a guess that suits most sites; a slow host corrects it with its first answers (and a job that
  /// waits too long anyway is handed back by the sweep).
  var averageMs: Double = 100
  /// In the ready list or the timed list already.
  var scheduled = false

  init(name: String, rule: CompiledRule, rulesVersion: Int) {
    self.name = name
    self.rule = rule
    self.rulesVersion = rulesVersion
  }

  /// Milliseconds one queue position is expected to take: the rate's spacing or, for a
  /// connection-limited host, its average check time shared among its connections.
  var slotMs: Double {
    var slot = rule.intervalMs ?? 0
    if rule.maxConnections < Int.max { slot = max(slot, averageMs / Double(rule.maxConnections)) }
    return slot
  }
}

/// A FIFO with cheap removal at the front and re-insertion at the front.
struct JobQueue {
  private var items: [Job] = []
  private var head = 0
  var isEmpty: Bool { head == items.count }
  var count: Int { items.count - head }
  var first: Job? { isEmpty ? nil : items[head] }
  mutating func append(_ j: Job) { items.append(j) }
  mutating func popFirst() -> Job? {
    guard !isEmpty else { return nil }
    let j = items[head]
    head += 1
    if head > 1024 && head * 2 > items.count {
      items.removeFirst(head)
      head = 0
    }
    return j
  }
  mutating func pushFront(_ j: Job) {
    if head > 0 {
      head -= 1
      items[head] = j
    } else {
      items.insert(j, at: 0)
    }
  }
  mutating func removeAll() -> [Job] {
    let out = Array(items[head...])
    items.removeAll()
    head = 0
    return out
  }
}
