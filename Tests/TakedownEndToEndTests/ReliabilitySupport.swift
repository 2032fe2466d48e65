// Shared pieces of the reliability suite (issue 7): scale, seeds, the database invariants every scenario
// ends with, and the namespaces that give a test a full disk or a "public" address without leaving
// the machine.
//
// Scale: the default (CI) run is small and bounded; `make reliability` sets TAKEDOWN_RELIABILITY=full
// for the long version. TAKEDOWN_RELIABILITY_SEED reproduces a run (every test prints its seed).

import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

enum Reliability {
  /// The long version (`make reliability`): more URLs, more kills, 100,000-URL contention.
  static let full = ProcessInfo.processInfo.environment["TAKEDOWN_RELIABILITY"] == "full"

  /// Seed of every random choice in the suite; printed by each test so a failure can be replayed.
  static let seed: UInt64 = {
    if let s = ProcessInfo.processInfo.environment["TAKEDOWN_RELIABILITY_SEED"], let v = UInt64(s) { return v }
    return 20_260_507
  }()

  /// One figure for the closing report; `make reliability` collects these lines.
  static func figure(_ name: String, _ value: CustomStringConvertible) {
    print("RELIABILITY \(name)=\(value)")
  }
}

/// SplitMix64: tiny, seedable, and the same sequence on every platform.
struct SeededRandom: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A full config with every key the suite cares about (writeConfig's `extra` lands inside [schedule],
/// and `node_name` must be at the top).
func writeReliabilityConfig(
  in dir: TempDir, database: String? = nil, nodeName: String = "reliability-node", concurrency: Int = 20,
  timeout: String = "2s", connectTimeout: String = "1s", allowPrivate: Bool = true, lease: String = "30s",
  backoffBase: String = "1h", maxBody: Int? = nil, resolve: [String] = [], maxRedirects: Int = 5,
  name: String = "takedown.toml"
) throws -> String {
  var text = """
    database = "\(database ?? dir.path + "/takedown.sqlite")"
    node_name = "\(nodeName)"
    [probe]
    concurrency = \(concurrency)
    per_host_connections = \(concurrency)
    connect_timeout = "\(connectTimeout)"
    timeout = "\(timeout)"
    max_redirects = \(maxRedirects)
    allow_private_addresses = \(allowPrivate)
    shutdown_grace = "1s"

    """
  if let maxBody { text += "max_body_bytes = \(maxBody)\n" }
  if !resolve.isEmpty { text += "resolve = [\(resolve.map { "\"\($0)\"" }.joined(separator: ", "))]\n" }
  text += """
    [schedule]
    confirmations = 2
    confirm_interval = "0s"
    backoff_base = "\(backoffBase)"
    backoff_max = "6h"
    lease = "\(lease)"

    """
  let path = dir.path + "/" + name
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

/// What must hold of a database after anything at all happened to the processes writing it.
/// Returns the violations (empty: all good), so a loop can report which kill broke what.
func databaseInvariantViolations(_ db: SQLiteConnection, full: Bool = true) throws -> [String] {
  var out: [String] = []
  let check = try db.statement(full ? "PRAGMA integrity_check" : "PRAGMA quick_check").firstText([])
  if check != "ok" { out.append("integrity: \(check ?? "nil")") }
  func zero(_ what: String, _ sql: String) throws {
    let n = try db.scalar(sql) ?? -1
    if n != 0 { out.append("\(what): \(n)") }
  }
  try zero("attempts with more than one check row", "SELECT count(*) FROM (SELECT 1 FROM checks GROUP BY url_id, attempt HAVING count(*) > 1)")
  try zero("urls whose checks counter disagrees with the history",
    "SELECT count(*) FROM urls u WHERE u.checks != (SELECT count(*) FROM checks c WHERE c.url_id = u.id)")
  try zero("check rows of an attempt never claimed", "SELECT count(*) FROM checks c JOIN urls u ON u.id = c.url_id WHERE c.attempt > u.attempt OR c.attempt < 1")
  try zero("check rows without their URL", "SELECT count(*) FROM checks c LEFT JOIN urls u ON u.id = c.url_id WHERE u.id IS NULL")
  try zero("reports without their URL", "SELECT count(*) FROM reports r LEFT JOIN urls u ON u.id = r.url_id WHERE u.id IS NULL")
  try zero("events without their URL", "SELECT count(*) FROM events e LEFT JOIN urls u ON u.id = e.url_id WHERE u.id IS NULL")
  try zero("URLs without a report", "SELECT count(*) FROM urls u WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.url_id = u.id)")
  // Kept by the reports triggers, or set by enqueue itself where it skips them.
  try zero("URLs whose first report date or deadline disagrees with their reports",
    """
    SELECT count(*) FROM urls u
    WHERE u.first_reported_at IS NOT (SELECT min(reported_at) FROM reports r WHERE r.url_id = u.id)
       OR u.deadline_at IS NOT (SELECT min(deadline) FROM reports r WHERE r.url_id = u.id)
    """)
  try zero("half-set leases", "SELECT count(*) FROM urls WHERE (lease_holder IS NULL) != (lease_until IS NULL)")
  try zero("status not matching its latest check",
    """
    SELECT count(*) FROM urls u JOIN checks c ON c.url_id = u.id
    WHERE c.attempt = (SELECT max(attempt) FROM checks WHERE url_id = u.id) AND c.status != u.status AND u.status != 'cancelled'
    """)
  try zero("foreign key violations", "SELECT count(*) FROM pragma_foreign_key_check")
  // The summary's tallies (migration 0005; the daemon keeps them without triggers, enqueue partly by
  // hand) against the rows they count: a kill may never leave them off by one.
  try zero("summary tallies that disagree with the URLs they count",
    """
    WITH actual AS (
      SELECT (r.campaign IS NOT NULL) + 1 AS kind, ifnull(r.campaign, '') AS name, u.status AS status,
        count(DISTINCT u.id) AS n FROM reports r JOIN urls u ON u.id = r.url_id GROUP BY 1, 2, 3
      UNION ALL SELECT 3, host, status, count(*) FROM urls GROUP BY host, status),
    kept AS (SELECT kind, name, status, n FROM tallies WHERE n != 0)
    SELECT (SELECT count(*) FROM (SELECT * FROM actual EXCEPT SELECT * FROM kept))
      + (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM actual))
    """)
  try zero("summary URL counts that disagree with the URLs",
    """
    SELECT ((SELECT n FROM url_counts WHERE name = 'taken_down') != (SELECT count(*) FROM urls WHERE taken_down_at IS NOT NULL))
      + ((SELECT n FROM url_counts WHERE name = 'first_taken_down') != (SELECT count(*) FROM urls WHERE first_taken_down_at IS NOT NULL))
      + ((SELECT n FROM url_counts WHERE name = 'taken_down_late') != (SELECT count(*) FROM urls WHERE first_taken_down_at > deadline_at))
    """)
  try zero("time-to-takedown rows that disagree with the URLs",
    """
    WITH actual AS (
      SELECT id AS url_id, 0 AS kind, '' AS name, max(first_taken_down_at - first_reported_at, 0) AS ms FROM urls
      WHERE first_taken_down_at IS NOT NULL AND first_reported_at IS NOT NULL
      UNION SELECT u.id, (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), max(u.first_taken_down_at - u.first_reported_at, 0)
      FROM reports r JOIN urls u ON u.id = r.url_id
      WHERE u.first_taken_down_at IS NOT NULL AND u.first_reported_at IS NOT NULL)
    SELECT (SELECT count(*) FROM (SELECT * FROM actual EXCEPT SELECT url_id, kind, name, ms FROM takedown_times))
      + (SELECT count(*) FROM (SELECT url_id, kind, name, ms FROM takedown_times EXCEPT SELECT * FROM actual))
      + (SELECT count(*) FROM (SELECT kind, name, count(*) FROM takedown_times GROUP BY 1, 2
                               EXCEPT SELECT kind, name, n FROM takedown_time_counts WHERE n != 0))
    """)
  try zero("open deadlines that disagree with the URLs",
    """
    WITH actual AS (SELECT id, deadline_at FROM urls WHERE deadline_at IS NOT NULL AND status NOT IN ('taken_down', 'cancelled'))
    SELECT (SELECT count(*) FROM (SELECT * FROM actual EXCEPT SELECT url_id, deadline_at FROM open_deadlines))
      + (SELECT count(*) FROM (SELECT url_id, deadline_at FROM open_deadlines EXCEPT SELECT * FROM actual))
    """)
  return out
}

/// Peak resident memory of a running process, in KiB (VmHWM), or nil when it is gone.
func peakResidentKiB(pid: Int32) -> Int? {
  guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
  for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
  }
  return nil
}

/// A private mount namespace with a small tmpfs: a disk that really fills up, visible only to the
/// processes started in it (through nsenter) and to this test (through /proc/PID/root). Needs
/// CAP_SYS_ADMIN; `make` returns nil where that is not allowed.
final class SmallDisk: @unchecked Sendable {
  let holder: Process
  /// The mount point as the processes in the namespace see it.
  let mountPoint: String
  init?(at mountPoint: String, sizeKiB: Int, lifetime: Int = 900) {
    guard let unshare = findTool("unshare"), findTool("nsenter") != nil else { return nil }
    self.mountPoint = mountPoint
    try? FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: unshare)
    p.arguments = [
      "--mount", "--propagation", "private", "/bin/sh", "-c",
      "mount -t tmpfs -o size=\(sizeKiB)k,mode=0755 takedown-small-disk '\(mountPoint)' && touch '\(mountPoint)/.ready' && exec sleep \(lifetime)",
    ]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    holder = p
    do { try p.run() } catch { return nil }
    let ready = "/proc/\(p.processIdentifier)/root\(mountPoint)/.ready"
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline && p.isRunning && access(ready, F_OK) != 0 { usleep(10_000) }
    guard p.isRunning, access(ready, F_OK) == 0 else {
      if p.isRunning { kill(p.processIdentifier, SIGKILL) }
      p.waitUntilExit()
      return nil
    }
  }

  deinit {
    if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
    holder.waitUntilExit()
  }

  /// `path` (under the mount point) as this test process reaches it, for plain file operations.
  /// Not for SQLite: it resolves symbolic links in a database path, and /proc/PID/root reads as "/",
  /// so it would open (and create) a database outside the namespace. Use `snapshot` for that.
  func outside(_ path: String) -> String { "/proc/\(holder.processIdentifier)/root\(path)" }

  /// Copies a database file and its WAL (when there is one) out of the namespace into `directory`,
  /// and returns the copy's path: what a reader would see, opened where SQLite can find it.
  func snapshot(database: String, into directory: String) throws -> String {
    let name = (database as NSString).lastPathComponent
    let p = Process()
    let (tool, args) = command(["/bin/sh", "-c", "cp \"$1\" \"$2/\" && if [ -e \"$1-wal\" ]; then cp \"$1-wal\" \"$2/\"; fi", "sh", database, directory])
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw POSIXError(.EIO) }
    return directory + "/" + name
  }

  /// The argument vector that runs `args` inside the namespace.
  func command(_ args: [String]) -> (String, [String]) {
    (findTool("nsenter") ?? "/usr/bin/nsenter", ["-t", "\(holder.processIdentifier)", "-m", "--"] + args)
  }

  /// Writes a filler file until the disk is full; returns its size.
  @discardableResult
  func fill(name: String = "filler") -> Int {
    let fd = open(outside(mountPoint + "/" + name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var total = 0
    let chunk = [UInt8](repeating: 0x55, count: 4096)
    for size in [4096, 512, 1] {
      while true {
        let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
        if n <= 0 { break }
        total += n
      }
    }
    return total
  }

  func free(name: String = "filler") { unlink(outside(mountPoint + "/" + name)) }
}

/// Bytes of a text with one URL per line.
func lines(_ urls: [String]) -> Data { Data((urls.joined(separator: "\n") + "\n").utf8) }

/// Runs a program and gives it `timeout` to finish; a hang is a test failure, not a stuck CI job.
func runBounded(
  _ path: String, _ args: [String], stdin: Data? = nil, in dir: TempDir, timeout: Duration = .seconds(60)
) throws -> (Finished, timedOut: Bool) {
  let p = try start(path, args, stdin: stdin, in: dir)
  let ended = try waitUntil(timeout: timeout) { !p.process.isRunning }
  if !ended { return (p.terminate(grace: .seconds(5)), true) }
  return (p.finish(), false)
}
