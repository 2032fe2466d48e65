import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

@main
struct Takedownd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "takedownd",
    abstract: "Checks reported URLs until they are taken down, and keeps watching them.",
    discussion: """
      Claims due URLs from the SQLite queue, checks them with libcurl, records every check and reschedules.
      SIGTERM or SIGINT stops it cleanly: in-flight checks finish (up to probe.shutdown_grace), the rest
      are released for the next run. A second SIGTERM or SIGINT releases the checks in flight at once.
      """)

  @Option(name: .long, help: "Configuration file (TOML). Without it, built-in defaults apply.")
  var config: String?

  @Option(name: .long, help: "Database file; overrides the config's `database`.")
  var db: String?

  @Flag(name: .long, help: "Check everything that is due (again while anything is due), print the summary, exit.")
  var once = false

  @Flag(
    name: .customLong("check-config"),
    help: "Validate the configuration (--config FILE, else the built-in defaults), print the effective settings and exit: 0 when valid, 78 with every problem when not. Nothing is opened or started (the unit's ExecReload= runs it before the SIGHUP)."
  )
  var checkConfig = false

  @Flag(name: .long, help: "With --check-config: print nothing when the configuration is valid.")
  var quiet = false

  func validate() throws {
    if checkConfig && once { throw ValidationError("--check-config and --once cannot be combined") }
    if quiet && !checkConfig { throw ValidationError("--quiet goes with --check-config") }
  }

  func run() async throws {
    // Until the reload handler is installed, a SIGHUP (logrotate, an eager operator) must not kill us.
    signal(SIGHUP, SIG_IGN)
    let cfg = try loadConfig()
    if checkConfig {
      guard !quiet else { return }
      var shown = cfg
      if let db { shown.database = db }
      print(ConfigReport.header(path: config, databaseFlag: db != nil) + shown.renderedTOML(), terminator: "")
      return
    }
    let level = Logger.Level(rawValue: cfg.log.level) ?? .info
    JournalLogHandler.level = level
    LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
    let logger = Logger(label: "takedownd")
    let path = DatabaseLocation.resolve(flag: db, config: cfg)
    let password: String?
    do {
      password = try DatabasePassword.read(cfg, environment: ProcessInfo.processInfo.environment)
    } catch {
      logger.critical("cannot read the database password", metadata: ["key": "database_password_file", "error": "\(error)"])
      throw ExitCode(78)
    }

    // One daemon per database per host: a second one would release the first one's leases at start. The
    // lock is on the database file itself, whatever name (symlink, hard link) it was reached by.
    // On PostgreSQL, daemons on several machines share the queue; a node name that is alive is refused
    // by the store when the daemon registers (also exit 75).
    var lock: DatabaseLock?
    do {
      if !StoreOpener.isPostgres(path) { lock = try DatabaseLock(databasePath: path) }
    } catch .held {
      logger.critical("another takedownd is already running on this database", metadata: ["db": "\(path)"])
      throw ExitCode(75)
    } catch {
      logger.critical("cannot open the database", metadata: ["db": "\(path)", "error": "\(error)"])
      throw ExitCode(73)
    }
    defer { withExtendedLifetime(lock) {} }

    var metrics: DaemonMetrics?
    if let listen = cfg.metrics.listen {
      let m = DaemonMetrics()
      do {
        let server = try MetricsServer(listen: listen, metrics: m)
        logger.info("metrics endpoint listening", metadata: ["listen": "\(listen)", "port": "\(server.port)"])
        metrics = m
      } catch {
        logger.critical("cannot start the metrics endpoint", metadata: ["listen": "\(listen)", "error": "\(error)"])
        throw ExitCode(78)
      }
    }
    var reloader: (@Sendable () throws -> Config)?
    if let configPath = config {
      reloader = { try ConfigLoader.load(path: configPath) }
    }
    let runner = CheckRunner(
      config: cfg, databasePath: path, holder: cfg.nodeName ?? DatabaseLocation.hostName(),
      options: .init(once: once, databasePassword: password), logger: logger,
      notifier: SDNotifier(environment: ProcessInfo.processInfo.environment), metrics: metrics,
      reloadConfig: reloader, resolveDatabase: { [db] in DatabaseLocation.resolve(flag: db, config: $0) })
    let service = CheckerService(runner: runner)
    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
      try await group.run()
    } catch let error as any DatabaseFailure {
      logger.critical("database failure", metadata: ["error": "\(error)"])
      throw ExitCode(error.sysExit.rawValue)
    } catch let error as StoreError {
      logger.critical("database failure", metadata: ["error": "\(error)"])
      throw ExitCode(error.exitCode.rawValue)
    } catch let error as NodeError {
      // A live daemon holds this node name: starting (or going on) would take its leases. Restarting
      // cannot help while it runs, so 75, which the unit does not restart.
      logger.critical("node name in use", metadata: ["error": "\(error)"])
      throw ExitCode(75)
    } catch let error as StatusLogError {
      // A path that cannot be opened is a configuration problem: 78, which the unit does not restart.
      logger.critical(
        "cannot open the status log",
        metadata: ["key": "log.status_log", "path": "\(error.path)", "error": "\(String(cString: strerror(error.errno)))"])
      throw ExitCode(78)
    }
    if once {
      var o = StoreOpener.Options()
      o.password = password
      let store = try StoreOpener.open(path, o)
      print(try SummaryReport.load(from: store, now: Timestamp.nowMs()).text)
    }
  }
}

extension Takedownd {
  /// The configuration, or every problem logged and exit 78 (also for --check-config: the same lines).
  func loadConfig() throws -> Config {
    do {
      return try config.map { try ConfigLoader.load(path: $0) } ?? Config()
    } catch {
      // Logging's level comes from this config, so it is not bootstrapped yet. The problems still go
      // through the journal handler (on stderr, where a terminal expects them): under systemd each line
      // then carries its <3> priority and `journalctl -p warning` shows it (issue 21).
      let early = Logger(label: "takedownd") { JournalLogHandler(label: $0, level: .info, fd: 2) }
      let problems = (error as? ConfigError).map { e in e.problems.map { (e.file, $0) } } ?? [(config ?? "", "\(error)")]
      for (file, problem) in problems {
        early.error("bad configuration", metadata: ["file": "\(file)", "problem": "\(problem)"])
      }
      throw ExitCode(78)
    }
  }
}

/// Runs the blocking check loop on a thread of its own and turns ServiceLifecycle's graceful shutdown
/// (SIGTERM/SIGINT) into a stop request.
struct CheckerService: Service {
  let runner: CheckRunner

  func run() async throws {
    // SIGHUP reloads the configuration; the runner applies it between two turns of its loop.
    // The handler is in place before the first check starts: a SIGHUP's default action would kill us.
    let hangupSignals = await UnixSignalsSequence(trapping: .sighup)
    let hangups = Task {
      for await _ in hangupSignals { runner.requestReload() }
    }
    defer { hangups.cancel() }
    // ServiceGroup turns the first SIGTERM/SIGINT into a graceful shutdown and ignores the next ones;
    // an operator who asks twice wants it over now, not after shutdown_grace.
    let stopSignals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
    let stops = Task {
      var seen = 0
      for await _ in stopSignals {
        seen += 1
        if seen == 1 { runner.requestStop() } else { runner.requestStopNow() }
      }
    }
    defer { stops.cancel() }
    try await withGracefulShutdownHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
          nameCurrentThread("td-runner")
          do {
            try runner.run()
            continuation.resume()
          } catch {
            continuation.resume(throwing: error)
          }
        }
        thread.name = "td-runner"
        thread.start()
      }
    } onGracefulShutdown: {
      runner.requestStop()
    }
  }
}
