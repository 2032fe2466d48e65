import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A private PostgreSQL server for the tests: `initdb` in a temporary directory, listening only on a Unix
/// socket inside it (no TCP port, nothing reachable from outside), stopped when the test process exits
/// (or dies: a watcher stops it when the process is gone). Debian's `postgresql` package provides the
/// binaries; as root, the server runs as the package's `postgres` user, since initdb refuses root.
public final class PostgresCluster: @unchecked Sendable {
  public enum Failure: Error, CustomStringConvertible {
    case notInstalled
    case command(String, Int32, String)

    public var description: String {
      switch self {
      case .notInstalled:
        return "PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin/initdb): "
          + "apt-get install postgresql (.ci/run and `make test` do)"
      case .command(let what, let status, let output):
        return "\(what) exited with \(status): \(output)"
      }
    }
  }

  /// One cluster per test process, started on first use.
  public static let shared: Result<PostgresCluster, Error> = Result { try PostgresCluster() }

  /// A cluster of its own, for a test that stops or restarts the server (the shared one serves tests
  /// running in parallel). `shutdown()` stops it; the process's exit does too.
  public static func makePrivate() throws -> PostgresCluster { try PostgresCluster() }

  public let directory: String
  public var socketDirectory: String { directory }
  let binDirectory: String
  /// The server's binaries (psql, pg_dump, pg_restore of the same version).
  public var binDirectoryPath: String { binDirectory }
  let runAs: String?
  private var nextDatabase = 0
  /// The server's options (its socket, no TCP): `start()` after `stopServer()` must give the same.
  private var serverOptions = ""
  private let lock = NSLock()

  init() throws {
    guard let bin = Self.findBinDirectory() else { throw Failure.notInstalled }
    binDirectory = bin
    runAs = geteuid() == 0 ? "postgres" : nil
    directory = NSTemporaryDirectory() + "takedown-pg-" + UUID().uuidString.prefix(8)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    if let runAs {
      try Self.run("/bin/chown", [runAs, directory], what: "chown")
    }
    try command(
      "initdb",
      ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
    // fsync off: a test cluster's durability is not under test (crash tests kill our daemon, not the server).
    serverOptions =
      "-k \(directory) -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
      + "-c max_connections=200"
    try start()
    startWatcher()
    let dir = directory
    let ctl = binDirectory + "/pg_ctl"
    let user = runAs
    atexit_handlers.append { Self.stop(ctl: ctl, directory: dir, runAs: user) }
    if atexit_handlers.count == 1 { atexit { for h in atexit_handlers { h() } } }
  }

  /// A connection string for `database` as the superuser, over the cluster's Unix socket.
  public func connectionString(database: String = "postgres") -> String {
    "host=\(directory) dbname=\(database) user=postgres"
  }

  /// The same as a `postgresql://` URI, the form takedown's `database` setting takes.
  public func uri(database: String) -> String {
    "postgresql:///\(database)?host=\(directory)&user=postgres"
  }

  /// A new, empty database: each test gets its own, so tests run in parallel without seeing each other.
  public func createDatabase(prefix: String = "t") throws -> String {
    lock.lock()
    nextDatabase += 1
    let name = "\(prefix)_\(getpid())_\(nextDatabase)"
    lock.unlock()
    try command("createdb", ["-h", directory, "-U", "postgres", name])
    return name
  }

  /// Stops the server abruptly and starts it again (what a crash and a restart by the operator look like).
  /// The cluster runs with synchronous_commit off: a test that crashes the server and expects its
  /// commits to survive sets it on for its database (`ALTER DATABASE … SET synchronous_commit = on`).
  public func restart() throws {
    try command("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    try start()
  }

  /// Stops the server (fast shutdown); `start()` brings it back.
  public func stopServer() throws {
    try command("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
  }

  /// Starts the server (first at creation, then after a stop). After an immediate stop, a backend of the old server can outlive its
  /// postmaster for a moment, and the new one then refuses to start ("pre-existing shared memory block is
  /// still in use"): starting is retried until that passes, for at most 30 s; a failure shows the log.
  public func start() throws {
    let log = directory + "/server.log"
    let deadline = ContinuousClock.now + .seconds(30)
    while true {
      do {
        try command("pg_ctl", ["-D", directory + "/data", "-l", log, "-o", serverOptions, "-w", "start"])
        return
      } catch Failure.command(let what, let status, let output) {
        if ContinuousClock.now < deadline {
          Thread.sleep(forTimeInterval: 0.2)
          continue
        }
        let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(3000)
        throw Failure.command(what, status, output + "\nserver.log (end):\n" + tail)
      }
    }
  }

  /// Stops the server for good and removes its directory (a private cluster, at the end of its test).
  public func shutdown() {
    Self.stop(ctl: binDirectory + "/pg_ctl", directory: directory, runAs: runAs)
  }

  // MARK: -

  private func command(_ name: String, _ args: [String]) throws {
    let path = binDirectory + "/" + name
    if let runAs {
      try Self.run("/usr/sbin/runuser", ["-u", runAs, "--", path] + args, what: name)
    } else {
      try Self.run(path, args, what: name)
    }
  }

  /// posix_spawn and waitpid, output to a file: Foundation's Process did not always see pg_ctl's exit
  /// from a test's static initializer (the child stayed a zombie and the wait never returned).
  @discardableResult
  private static func spawn(_ path: String, _ args: [String], wait: Bool = true) throws -> (Int32, String) {
    let outPath = NSTemporaryDirectory() + "takedown-pg-out-" + UUID().uuidString.prefix(8)
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, wait ? outPath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // Nothing else of the test process goes with it: the postmaster inherits what pg_ctl has, and a test
    // process holding hundreds of sockets left it too few descriptors to start ("System allows 20, we
    // need at least 58"). glibc has closefrom as a spawn action since 2.34; Swift's Glibc does not import it.
    if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { throw Failure.command(path, rc, String(cString: strerror(rc))) }
    guard wait else { return (0, "") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS by hand: the macros do not import.
    let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return (exitCode, output)
  }

  private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
  private static let addCloseFrom: AddCloseFrom? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    else { return nil }
    return unsafeBitCast(symbol, to: AddCloseFrom.self)
  }()

  private static func run(_ path: String, _ args: [String], what: String) throws {
    let (status, output) = try spawn(path, args)
    if status != 0 { throw Failure.command(what, status, output) }
  }

  private static func stop(ctl: String, directory: String, runAs: String?) {
    let args = ["-D", directory + "/data", "-m", "immediate", "-w", "stop"]
    if let runAs {
      _ = try? spawn("/usr/sbin/runuser", ["-u", runAs, "--", ctl] + args)
    } else {
      _ = try? spawn(ctl, args)
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// A test process killed with SIGKILL runs no atexit handler: a small shell watches it and stops the
  /// server when it is gone, so no postmaster outlives a crashed test run.
  private func startWatcher() {
    let ctl = binDirectory + "/pg_ctl"
    let stop =
      (runAs.map { "/usr/sbin/runuser -u \($0) -- " } ?? "")
      + "\(ctl) -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1; rm -rf '\(directory)'"
    let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 2; done; [ -d '\(directory)/data' ] && { \(stop); }"
    _ = try? Self.spawn("/bin/sh", ["-c", script], wait: false)
  }

  /// The newest installed major version's binaries.
  static func findBinDirectory() -> String? {
    let root = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
    for v in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
      return "\(root)/\(v)/bin"
    }
    return nil
  }
}

nonisolated(unsafe) private var atexit_handlers: [() -> Void] = []
