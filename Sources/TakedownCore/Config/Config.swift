/// The whole daemon configuration, as read from `takedown.toml`.
///
/// Every field has a default so that an empty (or absent) file gives a working daemon; the
/// documented file `config/takedown.toml` spells out exactly these defaults and a test keeps the two
/// in step. Durations are `Int64` milliseconds because that is the unit used throughout the
/// scheduler and store; `DurationParser` converts from and to the "30s" style used in the file.
public struct Config: Sendable, Equatable {
  /// Path of the SQLite database (`database`), or a `postgresql://` URI for a queue shared by several
  /// daemons. A relative path is resolved by the daemon against `$STATE_DIRECTORY` when set (systemd's
  /// `StateDirectory=`), else the working directory.
  public var database: String = "takedown.sqlite"

  /// A file holding the PostgreSQL password (`database_password_file`), so it never sits in the config.
  /// A relative path is taken inside `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`).
  public var databasePasswordFile: String? = nil

  /// Name this process writes into the leases it holds (`node_name`), so that several daemons
  /// sharing one database can tell whose claim is whose. `nil` means the host name.
  public var nodeName: String? = nil

  /// How URLs are fetched (`[probe]`).
  public var probe = ProbeConfig()

  /// When URLs are checked again (`[schedule]`).
  public var schedule = ScheduleConfig()

  /// The periodic progress summary written to the log (`[summary]`).
  public var summary = SummaryConfig()

  /// How long checks are kept whole, and how older ones are compacted (`[history]`).
  public var history = HistoryConfig()

  /// Logging (`[log]`).
  public var log = LogConfig()

  /// The Prometheus endpoint (`[metrics]`).
  public var metrics = MetricsConfig()

  /// The defaults, identical to `config/takedown.toml`.
  public init() {}
}

/// Settings for the libcurl probes that fetch reported URLs (`[probe]`).
public struct ProbeConfig: Sendable, Equatable {
  /// Maximum number of probes in flight at once across all hosts (`concurrency`, 1...20000).
  public var concurrency: Int = 200

  /// Maximum simultaneous connections to one host (`per_host_connections`, 0...10000, 0 = no limit);
  /// keeps a large batch against one site from looking like an attack on it.
  public var perHostConnections: Int = 8

  /// Time allowed to establish a connection, in ms (`connect_timeout`, "10s", > 0).
  public var connectTimeoutMs: Int64 = 10_000

  /// Time allowed for a whole probe including redirects, in ms (`timeout`, "30s",
  /// at least `connect_timeout`).
  public var timeoutMs: Int64 = 30_000

  /// Redirects followed before a probe gives up (`max_redirects`, 0...50).
  public var maxRedirects: Int = 10

  /// Most response-body bytes read per probe (`max_body_bytes`, 0...1GiB); enough to recognise a
  /// takedown notice page without downloading whole files.
  public var maxBodyBytes: Int = 262_144

  /// The `User-Agent` header sent with every probe (`user_agent`; non-empty, no control characters).
  public var userAgent: String = "takedown/0.1 (link takedown verification)"

  /// Whether probes may connect to loopback, private, link-local and similar addresses
  /// (`allow_private_addresses`). Off by default so a reported URL cannot be used to reach
  /// internal services; tests turn it on to probe a local server.
  public var allowPrivateAddresses: Bool = false

  /// Fixed name-to-address mappings in curl's `--resolve` form, `"host:port:addr[,addr]"`
  /// (`resolve`), applied to every probe.
  public var resolve: [String] = []

  /// How long shutdown waits for in-flight probes before abandoning them, in ms
  /// (`shutdown_grace`, "5s", >= 0). Abandoned URLs are simply probed again later.
  public var shutdownGraceMs: Int64 = 5_000

  /// How long a 429 without Retry-After pauses its whole host, in ms (`throttle_pause`, "10s", >= 0;
  /// 0 = only the URL backs off). Each further 429 in a row doubles it, up to
  /// `max(throttle_pause, 10 min)`; any other answer from the host ends the streak.
  public var throttlePauseMs: Int64 = 10_000

  /// Name of the place the checks run from (`vantage`), stored with every check: legal blocking
  /// (451, court-ordered DNS blocks) differs by country, so a record must say where it was seen.
  public var vantage: String = "default"

  /// Proxy for every probe (`proxy`, libcurl syntax such as "http://10.0.0.5:3128" or
  /// "socks5h://gw:1080"); a rule's own `proxy` wins. nil = direct (the http_proxy environment
  /// variables are ignored on purpose).
  public var proxy: String? = nil

  /// Per-host rules (`[[rule]]` tables), first match wins; hosts no rule matches use `defaultRule`.
  public var rules: [HostRule] = []

  /// The defaults, identical to the `[probe]` table of `config/takedown.toml`.
  public init() {}
}

/// When URLs are probed and re-probed (`[schedule]`).
public struct ScheduleConfig: Sendable, Equatable {
  /// How long after a probe that found a URL still up it is probed again, in ms
  /// (`recheck_interval`, "6h", > 0).
  public var recheckIntervalMs: Int64 = 6 * 3_600_000

  /// Consecutive "down" probes needed before a URL counts as taken down (`confirmations`,
  /// 1...100); a single failure is often a transient outage, not a takedown.
  public var confirmations: Int = 2

  /// Wait between the confirming probes, in ms (`confirm_interval`, "1h", >= 0).
  public var confirmIntervalMs: Int64 = 3_600_000

  /// How often a URL already confirmed down is probed to catch it coming back, in ms
  /// (`watch_interval`, "1d", > 0).
  public var watchIntervalMs: Int64 = 86_400_000

  /// First retry delay after a probe error (DNS failure, timeout…), in ms (`backoff_base`, "1m", > 0:
  /// zero would retry a failing URL in a hot loop, and `--once` would never run out of due URLs);
  /// doubled on each further error up to `backoffMaxMs`.
  public var backoffBaseMs: Int64 = 60_000

  /// Upper bound of the error backoff, in ms (`backoff_max`, "6h", at least `backoff_base`).
  public var backoffMaxMs: Int64 = 6 * 3_600_000

  /// How long a claimed URL stays reserved for this node, in ms (`lease`, "5m"). Must exceed
  /// `probe.timeout` so that a lease cannot expire, and the URL be claimed twice, while its probe
  /// is still running.
  public var leaseMs: Int64 = 300_000

  /// URLs claimed per database transaction (`batch_size`, 1...100000).
  public var batchSize: Int = 1000

  /// How long a URL may stay unreachable (only transient failures, nothing conclusive) before it is
  /// given up on, in ms (`give_up_after`, "14d", "0s" = never).
  public var giveUpAfterMs: Int64 = 14 * 86_400_000

  /// What giving up means (`on_give_up`): `flag` keeps the URL `unreachable` with reason
  /// `persistently_unreachable` and `given_up_at` set; `taken_down` counts it as taken down with that
  /// reason. Default `flag`: a false "taken down" is the worst error an agency can report.
  public var onGiveUp: GiveUpAction = .flag

  /// The defaults, identical to the `[schedule]` table of `config/takedown.toml`.
  public init() {}
}

/// What `give_up_after` does to a URL (`on_give_up`).
public enum GiveUpAction: String, Sendable, Equatable, CaseIterable {
  case flag
  case takenDown = "taken_down"
}

/// The periodic progress summary written to the log (`[summary]`).
public struct SummaryConfig: Sendable, Equatable {
  /// Time between summaries, in ms (`interval`, "5m", > 0).
  public var intervalMs: Int64 = 300_000

  /// The defaults, identical to the `[summary]` table of `config/takedown.toml`.
  public init() {}
}

/// Bounded history (`[history]`): see `HistoryRule` for which checks outlive `keep_all_for`.
public struct HistoryConfig: Sendable, Equatable {
  /// Whether the daemon compacts old history by itself (`compact`). `takedownctl prune` works either way.
  public var compact = true
  /// Every check younger than this stays as it was (`keep_all_for`, "30d", > 0).
  public var keepAllForMs: Int64 = 30 * 86_400_000
  /// Time between the starts of two compaction rounds over every URL (`compact_interval`, "1h", > 0).
  public var compactIntervalMs: Int64 = 3_600_000
  /// Stored summaries older than this are thinned to one per hour (`summaries_hourly_after`, "7d", > 0).
  public var summariesHourlyAfterMs: Int64 = 7 * 86_400_000
  /// Stored summaries older than this are thinned to one per day (`summaries_daily_after`, "90d", at
  /// least `summaries_hourly_after`).
  public var summariesDailyAfterMs: Int64 = 90 * 86_400_000

  /// The defaults, identical to the `[history]` table of `config/takedown.toml`.
  public init() {}
}

/// Logging (`[log]`).
public struct LogConfig: Sendable, Equatable {
  /// Lowest level written (`level`): one of trace, debug, info, notice, warning, error, critical —
  /// the names of swift-log's `Logger.Level`, so it converts with `Logger.Level(rawValue:)`.
  public var level: String = "info"

  /// Optional file that receives every status transition as one JSON line (`status_log`), for log
  /// shippers; reopened on SIGHUP so logrotate can move it. nil = off.
  public var statusLog: String? = nil

  /// The defaults, identical to the `[log]` table of `config/takedown.toml`.
  public init() {}
}

/// The optional Prometheus text endpoint (`[metrics]`).
public struct MetricsConfig: Sendable, Equatable {
  /// `listen = "127.0.0.1:9464"` serves /metrics there; nil (the default) = off.
  public var listen: String? = nil

  /// The defaults, identical to the `[metrics]` table of `config/takedown.toml`.
  public init() {}
}
