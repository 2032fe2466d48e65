/// Report metadata that comes with an enqueued URL (a notice, a campaign, …).
public struct ReportMetadata: Sendable, Equatable {
  public var reportedAt: Int64?
  public var campaign: String?
  public var notice: String?
  public var rightholder: String?
  public var work: String?
  public var deadline: Int64?
  public init(
    reportedAt: Int64? = nil, campaign: String? = nil, notice: String? = nil, rightholder: String? = nil,
    work: String? = nil, deadline: Int64? = nil
  ) {
    self.reportedAt = reportedAt
    self.campaign = campaign
    self.notice = notice
    self.rightholder = rightholder
    self.work = work
    self.deadline = deadline
  }
}

/// One URL to enqueue, already normalized, with its report.
public struct EnqueueItem: Sendable {
  public var url: NormalizedURL
  public var report: ReportMetadata
  public init(url: NormalizedURL, report: ReportMetadata) {
    self.url = url
    self.report = report
  }
}

/// What an enqueue did.
public struct EnqueueCounts: Sendable, Equatable {
  /// URLs that were not in the queue before.
  public var new = 0
  /// URLs that were already queued (their new report, if it differs, is still recorded).
  public var alreadyQueued = 0
  /// Report rows added (a URL reported again under another notice or campaign gets one more).
  public var reportsAdded = 0
  /// Of `alreadyQueued`, the URLs that are cancelled: their report is kept, but nothing checks them until
  /// `takedownctl reactivate` (counted once per batch they occur in).
  public var cancelled = 0
  /// The first few of those URLs, to name them in a message.
  public var cancelledSample: [String] = []
  public static let cancelledSampleLimit = 5
  public init() {}
  public static func += (a: inout EnqueueCounts, b: EnqueueCounts) {
    a.new += b.new
    a.alreadyQueued += b.alreadyQueued
    a.reportsAdded += b.reportsAdded
    a.cancelled += b.cancelled
    a.cancelledSample += b.cancelledSample.prefix(max(0, cancelledSampleLimit - a.cancelledSample.count))
  }
}

/// A URL claimed for checking under a lease.
public struct ClaimedURL: Sendable {
  public var id: Int64
  public var url: String
  public var host: String
  /// The claim number; the check row for this attempt is unique.
  public var attempt: Int64
  public var state: ScheduleState
}

/// Timings of one transfer in microseconds, as libcurl measures them (cumulative from the start).
public struct CheckTimings: Sendable, Equatable {
  public var dnsUs: Int64 = 0
  public var connectUs: Int64 = 0
  public var tlsUs: Int64 = 0
  public var firstByteUs: Int64 = 0
  public var totalUs: Int64 = 0
  public init() {}
}

/// Everything one check saw.
public struct ProbeResult: Sendable {
  public var claim: ClaimedURL
  public var checkedAt: Int64
  public var observation: Observation
  public var reason: Reason
  public var httpStatus: Int?
  public var curlCode: Int32
  public var finalURL: String?
  public var redirects: Int
  public var remoteIP: String?
  public var timings: CheckTimings
  public var bytes: Int64
  /// A `dns_unresolved` result that the DNS check has already confirmed or corrected.
  public var dnsChecked = false
  /// What the check saw beyond the status, kept as evidence.
  public var evidence = CheckEvidence()
  /// The server's Retry-After, as the wall-clock ms before which the URL must not be checked again.
  public var retryAfterAt: Int64?
  /// The body was cut at `max_body_bytes` (the bytes, hash and markers cover only what was read).
  public var bodyTruncated = false
  public init(
    claim: ClaimedURL, checkedAt: Int64, observation: Observation, reason: Reason, httpStatus: Int?,
    curlCode: Int32, finalURL: String?, redirects: Int, remoteIP: String?, timings: CheckTimings, bytes: Int64
  ) {
    self.claim = claim
    self.checkedAt = checkedAt
    self.observation = observation
    self.reason = reason
    self.httpStatus = httpStatus
    self.curlCode = curlCode
    self.finalURL = finalURL
    self.redirects = redirects
    self.remoteIP = remoteIP
    self.timings = timings
    self.bytes = bytes
  }
}

/// What a check saw beyond status and timings: the record an agency attaches to a case file.
public struct CheckEvidence: Sendable {
  /// Where the check ran from (`probe.vantage`).
  public var vantage: String?
  /// "GET", "HEAD", or "HEAD 405, GET" when a HEAD was confirmed by a GET.
  public var method: String?
  /// SHA-256 (hex) of the body bytes read (up to max_body_bytes); nil for a HEAD.
  public var bodySHA256: String?
  /// Selected headers of the final response, lowercased names (Server, Date, Content-Type, …).
  public var headers: [(String, String)] = []
  /// The redirects followed, in order.
  public var redirectChain: [RedirectHop] = []
  /// The removal marker found or the home path a redirect landed on, when a rule decided.
  public var matched: String?
  /// The rule applied ("rule[0] *.example.com"); nil for the default.
  public var rule: String?

  public init(
    vantage: String? = nil, method: String? = nil, bodySHA256: String? = nil, headers: [(String, String)] = [],
    redirectChain: [RedirectHop] = [], matched: String? = nil, rule: String? = nil
  ) {
    self.vantage = vantage
    self.method = method
    self.bodySHA256 = bodySHA256
    self.headers = headers
    self.redirectChain = redirectChain
    self.matched = matched
    self.rule = rule
  }

  /// The headers as a JSON object (stored in checks.headers).
  public var headersJSON: String? {
    guard !headers.isEmpty else { return nil }
    // Written at every check: built directly (names are known ASCII tokens; values are escaped only
    // when they need it) instead of through the general JSON value, which cost 4 % of the daemon's CPU.
    var out = "{"
    out.reserveCapacity(32 * headers.count + 2)
    for (i, (name, value)) in headers.enumerated() {
      if i > 0 { out += "," }
      out += "\""
      out += name
      out += "\":"
      if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
        out += "\""
        out += value
        out += "\""
      } else {
        JSON.escape(value, into: &out)
      }
    }
    return out + "}"
  }

  /// The chain as a JSON array (stored in checks.redirect_chain).
  public var redirectChainJSON: String? {
    redirectChain.isEmpty
      ? nil
      : JSON.array(redirectChain.map { .object([("status", .int(Int64($0.status))), ("location", .optional($0.location))]) })
        .rendered()
  }
}

/// What recording a batch of results did.
public struct CompletionStats: Sendable, Equatable {
  public var recorded = 0
  /// Results whose lease had been lost (expired and re-claimed, or cancelled): dropped, never recorded twice.
  public var stale = 0
  public var newlyTakenDown = 0
  public var newlyReappeared = 0
  /// Every status change recorded, in order (for the status log and `takedownctl events`).
  public var transitions: [Transition] = []
  /// Recorded results by observation and reason, for the metrics.
  public var recordedByReason: [Reason: Int] = [:]
  public init() {}
}

/// The queue the daemon works from. SQLite implements it today; the operations are the ones a shared
/// PostgreSQL queue would need (claim with a lease, complete under the lease, release), so several
/// machines can later share one queue without changing the daemon.
public protocol CheckQueue: AnyObject {
  func enqueue(_ items: [EnqueueItem], now: Int64) throws -> EnqueueCounts
  /// Takes up to `limit` due URLs under a lease held by `holder` until `now + leaseMs`.
  func claim(holder: String, limit: Int, now: Int64, leaseMs: Int64) throws -> [ClaimedURL]
  /// Records results, applies the schedule and releases their leases, in one transaction.
  func complete(_ results: [ProbeResult], holder: String, config: ScheduleConfig, jitter: () -> Double) throws
    -> CompletionStats
  /// Gives claimed URLs back unchecked; they are due at once.
  func release(_ claims: [ClaimedURL], holder: String, now: Int64) throws
  /// Gives back every lease `holder` holds (a previous run of this node that died).
  func releaseAll(holder: String, now: Int64) throws -> Int
  /// When the next URL becomes due (nil: nothing will ever be due).
  func nextDueAt() throws -> Int64?
}
