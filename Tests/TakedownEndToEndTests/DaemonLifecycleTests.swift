import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// How the daemon starts, reloads, runs `--once` and stops (issue 12, items 4, 8, 11, 17).
@Suite(.serialized) struct DaemonLifecycleTests {
  /// A status_log that cannot be opened is a configuration problem: exit 78 (systemd does not restart
  /// it), with a log line that names the key, the path and the reason.
  @Test func aStatusLogThatCannotBeOpenedExits78NamingTheKey() throws {
    let dir = TempDir()
    let bad = dir.path + "/no-such-dir/transitions.jsonl"
    let config = try writeConfig(in: dir, extra: "[log]\nstatus_log = \"\(bad)\"\n")
    let d = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d.status == 78, "\(d.stdout) \(d.stderr)")
    let line = d.stdout.split(separator: "\n").first { $0.contains("cannot open the status log") } ?? ""
    #expect(line.contains(" critical "), "\(d.stdout) \(d.stderr)")
    #expect(line.contains("key=log.status_log"))
    #expect(line.contains("path=\(bad)"))
    #expect(line.contains("No such file or directory"))
    #expect(!d.stderr.contains("Error:"), "\(d.stderr)")
  }

  /// A reload that changes `database` is refused for that key; a later reload that sets it back is
  /// compared with the database in use, so it says nothing more about it.
  @Test func aDatabaseSetBackOnReloadIsNotReportedAgain() throws {
    let dir = TempDir()
    let server = try TestHTTPServer(routes: ["/page": .text(200, "here")])
    defer { server.stop() }
    let config = try writeConfig(in: dir)
    let original = try String(contentsOfFile: config, encoding: .utf8)
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "\(server.baseURL)/page"], in: dir).status == 0)
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    #expect(try waitUntil { daemon.stdout.contains("takedownd started") })
    func count(_ text: String) -> Int { daemon.stdout.components(separatedBy: text).count - 1 }

    try original.replacingOccurrences(of: "/takedown.sqlite", with: "/other.sqlite")
      .write(toFile: config, atomically: true, encoding: .utf8)
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { count("configuration reloaded") == 1 }, "\(daemon.stdout)")
    #expect(count("database cannot change on reload") == 1, "\(daemon.stdout)")

    try original.write(toFile: config, atomically: true, encoding: .utf8)
    kill(daemon.process.processIdentifier, SIGHUP)
    #expect(try waitUntil { count("configuration reloaded") == 2 }, "\(daemon.stdout)")
    #expect(count("database cannot change on reload") == 1, "\(daemon.stdout)")
  }
}
