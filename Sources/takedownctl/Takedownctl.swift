import ArgumentParser
import TakedownCore

@main
struct Takedownctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "takedownctl",
    abstract: "Enqueue reported URLs and read what takedownd found.",
    subcommands: [Enqueue.self, Status.self, List.self, History.self, Summary.self, Cancel.self])
}

/// Options every subcommand shares: where the database is.
struct DatabaseOptions: ParsableArguments {
  @Option(name: .long, help: "Database file (default: the config's `database`, else $STATE_DIRECTORY/takedown.sqlite or ./takedown.sqlite).")
  var db: String?

  @Option(name: .long, help: "Configuration file (TOML); its `database` key names the database.")
  var config: String?

  func path() throws -> String {
    var cfg = Config()
    if let config {
      do {
        cfg = try ConfigLoader.load(path: config)
      } catch {
        printError("takedownctl: \(error)")
        throw ExitCode(SysExit.config.rawValue)
      }
    }
    return DatabaseLocation.resolve(flag: db, config: cfg)
  }

  /// Opens the database; read-only commands refuse to create one (exit 66).
  func open(create: Bool) throws -> SQLiteStore {
    let p = try path()
    do {
      return try SQLiteStore(path: p, create: create)
    } catch let e as StoreError {
      printError("takedownctl: \(e)")
      throw ExitCode(SysExit.noInput.rawValue)
    } catch {
      printError("takedownctl: cannot open \(p): \(error)")
      throw ExitCode((error as? SQLiteError)?.isDiskFull == true ? SysExit.ioError.rawValue : SysExit.cantCreate.rawValue)
    }
  }
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

/// Turns store failures into a message and a sysexits code instead of a crash.
func withStoreErrors<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let e as SQLiteError {
    printError("takedownctl: \(e)")
    throw ExitCode(e.isDiskFull ? SysExit.ioError.rawValue : SysExit.software.rawValue)
  }
}
