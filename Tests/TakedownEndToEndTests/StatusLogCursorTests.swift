import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `status_log` gets every transition in `events`, whoever made it (the daemon's checks, an operator's
/// `takedownctl cancel`), each once, in order, also across a restart (issue 12, item 7).
@Suite(.serialized) struct StatusLogCursorTests {
  @Test func everyEventReachesTheStatusLogExactlyOnceAcrossARestart() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { req in
      TestResponse(status: req.path.hasSuffix("7") ? 404 : 200, body: Array("x".utf8), delay: .milliseconds(20))
    }
    defer { server.stop() }
    let logPath = dir.path + "/transitions.jsonl"
    let config = try writeConfig(in: dir, concurrency: 10, extra: "[log]\nstatus_log = \"\(logPath)\"\n")
    let urls = (0..<400).map { "\(server.baseURL)/item/\($0)" }
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: Data(urls.joined(separator: "\n").utf8),
      in: dir)
    #expect(enq.status == 0)
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)

    // Operators cancel while the daemon checks.
    let first = try start(Binaries.takedownd, ["--config", config], in: dir)
    #expect(try waitUntil { (try reader.db.scalar("SELECT count(*) FROM checks") ?? 0) >= 20 }, "\(first.stdout)")
    for chunk in stride(from: 100, to: 400, by: 50) {
      let c = try run(Binaries.takedownctl, ["cancel", "--config", config] + urls[chunk..<(chunk + 25)], in: dir)
      #expect(c.status == 0, "\(c.stderr)")
    }
    #expect(try waitUntil { try Set(statusLogIDs(logPath)) == Set(eventIDs(reader)) }, "\(first.stdout.suffix(2000))")
    #expect(first.terminate().status == 0)

    // While no daemon runs, more cancels; the next daemon writes them (and only them) at start.
    let c = try run(Binaries.takedownctl, ["cancel", "--config", config] + urls[0..<10], in: dir)
    #expect(c.status == 0, "\(c.stderr)")
    let second = try start(Binaries.takedownd, ["--config", config], in: dir)
    #expect(try waitUntil { try Set(statusLogIDs(logPath)) == Set(eventIDs(reader)) }, "\(second.stdout.suffix(2000))")
    #expect(second.terminate().status == 0)

    let written = try statusLogIDs(logPath)
    let events = try eventIDs(reader)
    #expect(written == events, "each event once, in order")
    #expect(Set(written).count == written.count)
    #expect(events.count > 150 + 10)
    // The operator's transitions are there, with what the status log promises about each.
    let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
    let cancels = try lines.map { try jsonObject(String($0)) }.filter { $0["to"] as? String == "cancelled" }
    #expect(cancels.count == 160)
    #expect(cancels.allSatisfy { $0["url"] is String && $0["at"] is String && $0["reason"] as? String == "cancelled" })
  }

  func statusLogIDs(_ path: String) throws -> [Int64] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return try text.split(separator: "\n").map {
      let obj = try jsonObject(String($0))
      return (obj["event_id"] as? NSNumber)?.int64Value ?? -1
    }
  }

  func eventIDs(_ reader: SQLiteStore) throws -> [Int64] {
    try reader.events(afterID: 0, since: nil, limit: 1_000_000).map(\.id)
  }
}
