import ArgumentParser
import Foundation
import TakedownCore

@main
struct Takedownctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "takedownctl",
    abstract: "Enqueue reported URLs and read what takedownd found.",
    subcommands: [
      Enqueue.self, Import.self, Status.self, List.self, History.self, Summary.self, Events.self, Export.self,
      Report.self, Evidence.self, Cancel.self, Reactivate.self, Recheck.self, Check.self, ConfigCommand.self, Nodes.self,
      Copy.self, Backup.self, Prune.self,
    ])

  /// ArgumentParser's `main`, plus the one check of standard output every command gets: whatever a
  /// command (or a help text) wrote must have arrived, else exit 74 with a message.
  static func main() {
    var status: Int32 = 0
    do {
      let arguments: [String]
      do {
        arguments = try GlobalOptions.rewrite(Array(CommandLine.arguments.dropFirst()), root: Takedownctl.self)
      } catch {
        printError("takedownctl: \(error)")
        Glibc.exit(SysExit.usage.rawValue)
      }
      var command = try parseAsRoot(arguments)
      try command.run()
    } catch is Output.Failed {
      // `finish` says what failed.
    } catch {
      let code = exitCode(for: error)
      let message = fullMessage(for: error)
      if !message.isEmpty {
        if code == .success { Output.line(message) } else { printError(message) }
      }
      status = code.rawValue
    }
    Glibc.exit(Output.finish(status: status))
  }
}

/// Options every subcommand shares: where the database is.
struct DatabaseOptions: ParsableArguments {
  @Option(
    name: .long,
    help: "Database file (default: the database of --config, $TAKEDOWN_CONFIG or /etc/takedown/takedown.toml, whose relative path is taken in $STATE_DIRECTORY or /var/lib/takedownd as the service does; else $STATE_DIRECTORY/takedown.sqlite or ./takedown.sqlite)."
  )
  var db: String?

  @Option(name: .long, help: "Configuration file (TOML); its `database` key names the database.")
  var config: String?

  /// The installed service's config: an operator's `takedownctl` finds the service's database with no flags.
  static let serviceConfig = "/etc/takedown/takedown.toml"
  /// Where systemd's StateDirectory=takedownd puts the service's relative database path.
  static let serviceStateDirectory = "/var/lib/takedownd"

  /// The database's path. A config named by $TAKEDOWN_CONFIG, the installed service config, or
  /// `--config /etc/takedown/takedown.toml` is the service's: its relative `database` is resolved as the
  /// service resolves it ($STATE_DIRECTORY, else /var/lib/takedownd), never against the working
  /// directory, so the same environment always reaches the same database. Another `--config FILE` is
  /// read as `takedownd --config FILE` run by hand reads it: relative to the working directory.
  ///
  /// A reading command (`readOnly`) needs only the database's location: when the rest of the config is
  /// invalid, it says so on stderr and goes on with the `database` key it can still find. Writing
  /// commands refuse an invalid config (exit 78).
  func path(readOnly: Bool = false) throws -> String { try location(readOnly: readOnly).database }

  /// The database setting (a path or a URI) and the configuration that named it.
  func location(readOnly: Bool = false) throws -> (database: String, config: Config) {
    let env = ProcessInfo.processInfo.environment
    var configPath = config
    var isServiceConfig = config.map { ($0 as NSString).standardizingPath == Self.serviceConfig } ?? false
    if db == nil && config == nil {
      if let named = env["TAKEDOWN_CONFIG"], !named.isEmpty {
        configPath = named
      } else if FileManager.default.fileExists(atPath: Self.serviceConfig) {
        configPath = Self.serviceConfig
      }
      isServiceConfig = configPath != nil
    }
    var cfg = Config()
    var invalid: (error: Error, namesDatabase: Bool)?
    if let configPath {
      do {
        cfg = try ConfigLoader.load(path: configPath)
      } catch {
        guard readOnly, let database = ConfigLoader.databaseKey(path: configPath) else {
          printError("takedownctl: \(error)")
          throw ExitCode(SysExit.config.rawValue)
        }
        if let database { cfg.database = database }
        invalid = (error, database != nil)
      }
    }
    let resolved =
      db == nil && isServiceConfig && env["STATE_DIRECTORY"] == nil && !cfg.database.hasPrefix("/")
        && !StoreOpener.isPostgres(cfg.database)
      ? Self.serviceStateDirectory + "/" + cfg.database : DatabaseLocation.resolve(flag: db, config: cfg)
    if let invalid {
      printError(
        "takedownctl: warning: \(invalid.error)\ntakedownctl: warning: the configuration is invalid; reading the "
          + "database it names anyway: \(resolved)\(invalid.namesDatabase ? "" : " (the default: it names none)")")
    }
    return (resolved, cfg)
  }

  /// Opens the database. Reading commands (`readOnly`) open it read-only and never create one (exit 66);
  /// `create: false` refuses to create one too. A file that is not a takedown database, or is a newer
  /// takedown's, exits 78.
  func open(create: Bool, readOnly: Bool = false) throws -> any TakedownStore {
    let (p, cfg) = try location(readOnly: readOnly)
    var options = StoreOpener.Options()
    if StoreOpener.isPostgres(p) {
      do {
        options.password = try DatabasePassword.read(cfg, environment: ProcessInfo.processInfo.environment)
      } catch {
        printError("takedownctl: \(error)")
        throw ExitCode(SysExit.config.rawValue)
      }
    }
    options.create = create && !readOnly
    options.readOnly = readOnly
    // Wait up to a minute for the write lock: a long import or a backup must delay us, not fail us.
    options.busyTimeoutMs = 60_000
    options.onLongWait = { printError("takedownctl: database is locked by another writer; waiting up to 60 s") }
    do {
      return try StoreOpener.open(p, options)
    } catch let e as StoreError {
      printError("takedownctl: \(e)")
      throw ExitCode(e.exitCode.rawValue)
    } catch let e as PostgresError {
      printError("takedownctl: cannot open \(PostgresConnection.redacted(p)): \(e)")
      throw ExitCode(e.sysExit == .software ? SysExit.unavailable.rawValue : e.sysExit.rawValue)
    } catch {
      printError("takedownctl: cannot open \(p): \(error)")
      throw ExitCode((error as? SQLiteError)?.isDiskFull == true ? SysExit.ioError.rawValue : SysExit.cantCreate.rawValue)
    }
  }
}

/// Why an input file that opened cannot be read as one, or nil: open(2) succeeds on a directory, and
/// only the first read fails (EISDIR), which looked like an I/O error (74) instead of a bad input (66).
func notAReadableFile(_ fd: Int32) -> String? {
  var st = stat()
  guard fstat(fd, &st) == 0 else { return String(cString: strerror(errno)) }
  return st.st_mode & S_IFMT == S_IFDIR ? String(cString: strerror(EISDIR)) : nil
}

func printError(_ s: String) {
  var line = s
  line += "\n"
  _ = line.withUTF8 { fwriteStderr($0) }
}

#if canImport(Glibc)
  import Glibc
  func fwriteStderr(_ b: UnsafeBufferPointer<UInt8>) -> Int { write(2, b.baseAddress, b.count) }
#endif

/// The URL (any spelling) or id, or a message and exit 65 when it is not in the queue.
func lookupOrExit(_ store: any TakedownStore, _ urlOrID: String) throws -> URLRecord {
  guard let rec = try withStoreErrors({ try store.lookup(urlOrID) }) else {
    printError("takedownctl: '\(urlOrID)' is not in the queue")
    throw ExitCode(SysExit.dataError.rawValue)
  }
  return rec
}

/// Turns store failures into a message and a sysexits code instead of a crash.
func withStoreErrors<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let e as any DatabaseFailure {
    printError("takedownctl: \(e)")
    throw ExitCode(e.sysExit.rawValue)
  }
}
