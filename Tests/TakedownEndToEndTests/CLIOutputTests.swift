import Foundation
import TakedownCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// takedownctl's standard output: whatever a command prints must arrive, or the command says so.
@Suite struct CLIOutputTests {
  /// Runs takedownctl with standard output on /dev/full (every write fails with ENOSPC).
  func runToFullDevice(_ args: [String], stdin: Data? = nil, in dir: TempDir) throws -> Finished {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Binaries.takedownctl)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
    let err = dir.path + "/err-\(UUID().uuidString.prefix(8)).txt"
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    if let stdin {
      let inPath = dir.path + "/in-\(UUID().uuidString.prefix(8)).txt"
      _ = FileManager.default.createFile(atPath: inPath, contents: stdin)
      p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
    } else {
      p.standardInput = FileHandle.nullDevice
    }
    try p.run()
    if !awaitExit(p, within: .seconds(300)) {
      Issue.record("takedownctl \(args) did not exit within 300 s: \(Hang.describe(pid: p.processIdentifier))")
      kill(p.processIdentifier, SIGKILL)
      _ = awaitExit(p, within: .seconds(20))
      return Finished(status: -1, stdout: "", stderr: "")
    }
    return Finished(
      status: p.terminationStatus, stdout: "", stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
  }

  @Test func everyCommandExits74WhenStandardOutputCannotBeWritten() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    // 6,000 URLs: more than any buffer, so a listing fails in the middle, not only at its end.
    let urls = (1...6000).map { "http://site\($0 % 7).example/video/\($0)" }.joined(separator: "\n")
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--db", db, "--campaign", "c", "--file", "-"], stdin: Data(urls.utf8), in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    let csv = "url,campaign\nhttp://imported.example/1,c\n"
    let commands: [([String], Data?)] = [
      (["enqueue", "--db", db, "http://new.example/1"], nil),
      (["import", "--db", db, "--csv", "-"], Data(csv.utf8)),
      (["summary", "--db", db], nil), (["summary", "--db", db, "--json"], nil),
      (["list", "--db", db], nil), (["list", "--db", db, "--json"], nil),
      (["status", "--db", db, "1"], nil), (["status", "--db", db, "1", "--json"], nil),
      (["history", "--db", db, "1"], nil), (["history", "--db", db, "1", "--json"], nil),
      (["evidence", "--db", db, "1"], nil), (["evidence", "--db", db, "1", "--json"], nil),
      (["cancel", "--db", db, "2"], nil),
      (["events", "--db", db], nil), (["events", "--db", db, "--json"], nil),
      (["export", "--db", db], nil), (["export", "--db", db, "--format", "jsonl"], nil),
      (["report", "--db", db, "--html", "-"], nil),
      (["--help"], nil),
    ]
    for (args, stdin) in commands {
      let r = try runToFullDevice(args, stdin: stdin, in: dir)
      #expect(r.status == 74, "takedownctl \(args.joined(separator: " ")): exit \(r.status), stderr: \(r.stderr)")
      #expect(
        r.stderr.contains("No space left on device"),
        "takedownctl \(args.joined(separator: " ")) says nothing about the failed write: \(r.stderr)")
    }
    // What the commands did still happened: the writes to the database are not undone.
    let after = try run(Binaries.takedownctl, ["status", "--db", db, "2", "--json"], in: dir)
    #expect(try jsonObject(after.stdout)["status"] as? String == "cancelled")
  }
}
