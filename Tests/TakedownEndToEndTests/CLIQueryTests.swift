import Foundation
import TakedownCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What the reading commands show, and how their options read.
@Suite struct CLIQueryTests {
  @Test func listJSONShowsEveryReportOfEachURLAsStatusDoes() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    for (campaign, notice) in [("spring", "N-1"), ("autumn", "N-2")] {
      let r = try run(
        Binaries.takedownctl, ["enqueue", "--db", db, "--campaign", campaign, "--notice", notice, "http://a.example/v"],
        in: dir)
      #expect(r.status == 0, "\(r.stderr)")
    }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--db", db, "http://b.example/v"], in: dir).status == 0)
    func reports(_ extra: [String]) throws -> [[[String: Any]]] {
      let r = try run(Binaries.takedownctl, ["list", "--db", db, "--json"] + extra, in: dir)
      #expect(r.status == 0, "\(r.stderr)")
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
      return try rows.map { try #require($0["reports"] as? [[String: Any]]) }
    }
    let all = try reports([])
    #expect(all.count == 2)
    #expect(all.first?.compactMap { $0["campaign"] as? String }.sorted() == ["autumn", "spring"])
    #expect(all.first?.compactMap { $0["notice"] as? String }.sorted() == ["N-1", "N-2"])
    #expect(all.last?.count == 1)
    // --campaign selects the URL; its reports are all of them, as `status --json` shows them.
    let spring = try reports(["--campaign", "spring"])
    #expect(spring.count == 1)
    #expect(spring.first?.count == 2)
    let status = try jsonObject(try run(Binaries.takedownctl, ["status", "--db", db, "1", "--json"], in: dir).stdout)
    #expect((status["reports"] as? [[String: Any]])?.count == spring.first?.count)
  }

  @Test func eventsTakesADurationForSinceAsSummaryAndExportDo() throws {
    let dir = TempDir()
    let db = dir.path + "/takedown.sqlite"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--db", db, "http://a.example/v"], in: dir).status == 0)
    #expect(try run(Binaries.takedownctl, ["cancel", "--db", db, "1"], in: dir).status == 0)
    let recent = try run(Binaries.takedownctl, ["events", "--db", db, "--since", "7d"], in: dir)
    #expect(recent.status == 0, "\(recent.stderr)")
    #expect(recent.stdout.contains("pending → cancelled"))
    // A duration counts back from now: nothing happened in the future.
    let none = try run(Binaries.takedownctl, ["events", "--db", db, "--since", "0s", "--json"], in: dir)
    #expect(none.status == 0, "\(none.stderr)")
    let bad = try run(Binaries.takedownctl, ["events", "--db", db, "--since", "last week"], in: dir)
    #expect(bad.status == 64)
    #expect(bad.stderr.contains("duration such as 7d"))
  }

  @Test func cancelsHelpNamesItsArgument() throws {
    let dir = TempDir()
    let help = try run(Binaries.takedownctl, ["cancel", "--help"], in: dir)
    #expect(help.status == 0)
    #expect(help.stdout.contains("<url-or-id> ..."), "\(help.stdout)")
    #expect(!help.stdout.contains("i-ds"), "\(help.stdout)")
  }
}
