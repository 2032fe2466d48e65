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
}
