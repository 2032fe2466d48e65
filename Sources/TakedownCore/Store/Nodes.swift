import Foundation

/// One running daemon, as it registers itself in the queue it works from.
///
/// The name is the lease holder (`node_name`, else the host name): two live daemons must never share it,
/// because each would take the other's leases for its own, and a daemon starting releases the leases
/// its name holds as "left by a previous run". `host`, `process` and `instance` tell a dead previous run
/// of this very machine (restarted by systemd seconds after a crash) from a live daemon elsewhere.
public struct NodeRegistration: Sendable, Equatable {
  public var name: String
  public var vantage: String
  public var version: String
  /// The machine's host name.
  public var host: String
  /// "pid:start time" of the process (the start time in clock ticks since boot, /proc/PID/stat field
  /// 22): a pid alone is reused, and in a container every daemon is pid 1.
  public var process: String
  /// Unique per run: a heartbeat only counts for the run that registered.
  public var instance: String

  public init(name: String, vantage: String, version: String, host: String, process: String, instance: String) {
    self.name = name
    self.vantage = vantage
    self.version = version
    self.host = host
    self.process = process
    self.instance = instance
  }

  /// This process, under `name`.
  public static func current(name: String, vantage: String) -> NodeRegistration {
    NodeRegistration(
      name: name, vantage: vantage, version: TakedownVersion.current, host: DatabaseLocation.hostName(),
      process: LocalProcess.identity(getpid()) ?? "\(getpid()):0", instance: UUID().uuidString.lowercased())
  }
}

/// A daemon as `takedownctl nodes` lists it.
public struct NodeRecord: Sendable, Equatable {
  public var name: String
  public var vantage: String
  public var version: String
  public var host: String
  public var process: String
  public var instance: String
  public var startedAt: Int64
  public var lastSeenAt: Int64
  /// Set when it stopped cleanly.
  public var stoppedAt: Int64?
  /// Checks it recorded between its last two heartbeats, and how long that was.
  public var checksLastInterval: Int
  public var intervalMs: Int64
  /// Leases its name holds now.
  public var leasesHeld: Int

  public init(
    name: String, vantage: String, version: String, host: String, process: String, instance: String,
    startedAt: Int64, lastSeenAt: Int64, stoppedAt: Int64?, checksLastInterval: Int, intervalMs: Int64,
    leasesHeld: Int
  ) {
    self.name = name
    self.vantage = vantage
    self.version = version
    self.host = host
    self.process = process
    self.instance = instance
    self.startedAt = startedAt
    self.lastSeenAt = lastSeenAt
    self.stoppedAt = stoppedAt
    self.checksLastInterval = checksLastInterval
    self.intervalMs = intervalMs
    self.leasesHeld = leasesHeld
  }

  /// Running, as far as the queue can tell: not stopped, and heard from within `NodeLiveness.aliveWindowMs`.
  public func isAlive(now: Int64) -> Bool {
    stoppedAt == nil && now - lastSeenAt < NodeLiveness.aliveWindowMs
  }
}

/// What `registerNode` did.
public enum NodeRegistrationOutcome: Sendable, Equatable {
  /// The name is ours; `previous` is the run it had before (stopped, silent, or dead on this machine).
  case registered(previous: NodeRecord?)
  /// A live daemon holds the name: this one must not start (exit 75).
  case nameInUse(NodeRecord)
}

/// How often a daemon tells the queue it is alive, and when it counts as gone.
public enum NodeLiveness {
  public static let heartbeatMs: Int64 = 5000
  /// Three heartbeats missed: a daemon blocked that long (a database outage, a pause) is gone as far as
  /// its name goes; its leases are fenced separately (by attempt) whatever happens to the name.
  public static let aliveWindowMs: Int64 = 3 * heartbeatMs

  /// Whether `me` may take the name `existing` holds: it stopped, it has not been heard from for a
  /// while, or it ran on this machine in a process that is gone (a crash that systemd restarts within
  /// seconds must not be refused for the next 15 s).
  public static func mayTakeOver(
    _ existing: NodeRecord, as me: NodeRegistration, now: Int64,
    processIdentity: (Int32) -> String? = LocalProcess.identity
  ) -> Bool {
    if !existing.isAlive(now: now) { return true }
    guard existing.host == me.host, let pid = Int32(existing.process.split(separator: ":").first ?? "") else {
      return false
    }
    return processIdentity(pid) != existing.process
  }
}

/// What a node-name clash makes takedownd do: stop at once with exit 75.
public enum NodeError: Error, CustomStringConvertible {
  /// Another live daemon holds the name (at start).
  case nameInUse(NodeRecord, now: Int64)
  /// Another daemon took the name over while this one was silent (paused past the alive window).
  case replaced(String)

  public var description: String {
    switch self {
    case .nameInUse(let n, let now):
      return "another takedownd named '\(n.name)' is alive (host \(n.host), process \(n.process), "
        + "last seen \(max(0, now - n.lastSeenAt) / 1000) s ago): give this one its own node_name, or stop the other one"
    case .replaced(let name):
      return "another takedownd took over the node name '\(name)' while this one was silent; stopping"
    }
  }
}

/// Identity of a process on this machine.
public enum LocalProcess {
  /// "pid:start time" of `pid`, nil when there is no such process. The start time (field 22 of
  /// /proc/PID/stat, after the command name in parentheses, which may itself hold spaces or parentheses).
  public static func identity(_ pid: Int32) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
      let text = String(data: data, encoding: .utf8), let close = text.lastIndex(of: ")")
    else { return nil }
    // Fields after the command: state is field 3, so start time (22) is the 20th after ")".
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count >= 20 else { return nil }
    return "\(pid):\(fields[19])"
  }
}

/// The version of these binaries (kept in step with the Makefile's VERSION).
public enum TakedownVersion {
  public static let current = "0.1.0"
}
