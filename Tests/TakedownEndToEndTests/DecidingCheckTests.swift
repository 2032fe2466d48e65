import Foundation
import TakedownCore
import TestHTTPServer
import Testing

/// A URL's reason and HTTP status are those of the check that decided its status; the latest check,
/// which may say something else, is shown beside them.
@Suite struct DecidingCheckTests {
  @Test func aTakenDownURLRecheckedWithA503KeepsItsRemovalsReasonAndStatus() throws {
    let dir = TempDir()
    let busy = Locked(false)
    let server = try TestHTTPServer { _ in busy.withLock { $0 } ? .text(503, "busy") : .text(404, "not found") }
    defer { server.stop() }
    let config = try writeConfig(in: dir, confirmations: 2, confirmInterval: "0s")
    let db = dir.path + "/takedown.sqlite"
    let url = server.baseURL + "/video"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "--campaign", "c", url], in: dir).status == 0)
    // Two removals in a row: taken_down by a 404.
    let first = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    // The watch recheck (made due now, as time would) meets a 503: the URL stays taken_down.
    busy.withLock { $0 = true }
    try SQLiteConnection(path: db).execute("UPDATE urls SET next_check_at = 0")
    let second = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(second.status == 0, "\(second.stdout)\(second.stderr)")

    let status = try jsonObject(try run(Binaries.takedownctl, ["status", "--db", db, "1", "--json"], in: dir).stdout)
    #expect(status["status"] as? String == "taken_down")
    #expect(status["checks"] as? Int == 3)
    #expect(status["reason"] as? String == "http_404")
    #expect(status["http_status"] as? Int == 404, "the 404 took it down, not the 503")
    let last = try #require(status["last_check"] as? [String: Any])
    #expect(last["observed"] as? String == "transient")
    #expect(last["reason"] as? String == "http_5xx")
    #expect(last["http_status"] as? Int == 503)

    let text = try run(Binaries.takedownctl, ["status", "--db", db, "1"], in: dir).stdout
    #expect(text.contains("reason:          http_404\n"), "\(text)")
    #expect(text.contains("http status:     404\n"), "\(text)")
    #expect(text.contains(" transient http_5xx, http 503\n"), "\(text)")

    let list = try run(Binaries.takedownctl, ["list", "--db", db], in: dir).stdout
    #expect(list == "1\ttaken_down\thttp_404\t404\t\(url)\n")
    let listed = try #require(
      try JSONSerialization.jsonObject(with: Data(try run(Binaries.takedownctl, ["list", "--db", db, "--json"], in: dir).stdout.utf8))
        as? [[String: Any]])
    #expect(listed.first?["http_status"] as? Int == 404)
    #expect((listed.first?["last_check"] as? [String: Any])?["http_status"] as? Int == 503)

    // Export: the same pairs, in CSV and JSON lines; and an export still imports back.
    let csv = try run(Binaries.takedownctl, ["export", "--db", db], in: dir)
    let records = CSVReader.parse(Array(csv.stdout.utf8))
    let header = try #require(records.first).fields
    #expect(header == ExportRow.reportColumns + ExportRow.stateColumns)
    let row = Dictionary(uniqueKeysWithValues: zip(header, try #require(records.dropFirst().first).fields))
    #expect(row["reason"] == "http_404")
    #expect(row["http_status"] == "404")
    #expect(row["last_check_reason"] == "http_5xx")
    #expect(row["last_check_http_status"] == "503")
    let jsonl = try jsonObject(try run(Binaries.takedownctl, ["export", "--db", db, "--format", "jsonl"], in: dir).stdout)
    #expect(jsonl["http_status"] as? Int == 404)
    #expect(jsonl["last_check_reason"] as? String == "http_5xx")
    #expect(jsonl["last_check_http_status"] as? Int == 503)
    let copy = dir.path + "/copy.sqlite"
    let imp = try run(Binaries.takedownctl, ["import", "--db", copy, "--csv", "-"], stdin: Data(csv.stdout.utf8), in: dir)
    #expect(imp.status == 0, "\(imp.stderr)")
    let again = try run(Binaries.takedownctl, ["export", "--db", copy], in: dir)
    #expect(CSVReader.parse(Array(again.stdout.utf8)).first?.fields == header, "the state columns became extra fields")
  }
}
