import Metrics
import Prometheus
import Synchronization

/// The daemon's metrics, on a registry of their own (no global bootstrap, so tests can run several
/// daemons in one process). swift-metrics types are the API; swift-prometheus renders them.
public final class DaemonMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()
  private let factory: PrometheusMetricsFactory
  private let checkCounters = Locked<[String: Metrics.Counter]>([:])
  let urlsByStatus: [URLStatus: Metrics.Gauge]
  let inFlight: Metrics.Gauge
  let dueNow: Metrics.Gauge
  let leaseExpiries: Metrics.Counter
  /// Claims handed back unchecked because their host could not take them soon (Retry-After, rate).
  let deferred: Metrics.Counter
  let checkDuration: Metrics.Timer
  private let lastSummaryAt = Atomic<Int64>(0)
  let summaryAge: Metrics.Gauge

  public init() {
    var f = PrometheusMetricsFactory(registry: registry)
    f.durationHistogramBuckets["takedown_check_duration_seconds"] = [
      .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
      .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]
    factory = f
    var gauges: [URLStatus: Metrics.Gauge] = [:]
    for st in URLStatus.allCases {
      gauges[st] = Metrics.Gauge(label: "takedown_urls", dimensions: [("status", st.rawValue)], factory: f)
    }
    urlsByStatus = gauges
    inFlight = Metrics.Gauge(label: "takedown_checks_in_flight", factory: f)
    dueNow = Metrics.Gauge(label: "takedown_queue_due", factory: f)
    leaseExpiries = Metrics.Counter(label: "takedown_lease_expiries_total", factory: f)
    deferred = Metrics.Counter(label: "takedown_checks_deferred_total", factory: f)
    checkDuration = Metrics.Timer(label: "takedown_check_duration_seconds", factory: f)
    summaryAge = Metrics.Gauge(label: "takedown_summary_age_seconds", factory: f)
  }

  func countCheck(observed: Observation, reason: Reason, count: Int = 1) {
    let key = observed.rawValue + "/" + reason.rawValue
    let counter = checkCounters.withLock { map in
      if let c = map[key] { return c }
      let c = Metrics.Counter(
        label: "takedown_checks_total", dimensions: [("observed", observed.rawValue), ("reason", reason.rawValue)],
        factory: factory)
      map[key] = c
      return c
    }
    counter.increment(by: count)
  }

  func setCounts(_ counts: [URLStatus: Int], due: Int, at: Int64) {
    for (st, g) in urlsByStatus { g.record(counts[st] ?? 0) }
    dueNow.record(due)
    lastSummaryAt.store(at, ordering: .relaxed)
  }

  /// The Prometheus text exposition, with the summary age computed at scrape time.
  public func render(now: Int64) -> [UInt8] {
    let last = lastSummaryAt.load(ordering: .relaxed)
    summaryAge.record(last == 0 ? 0 : Double(now - last) / 1000)
    return registry.emitToBuffer()
  }
}
