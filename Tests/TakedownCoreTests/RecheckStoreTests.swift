import Foundation
import Testing

@testable import TakedownCore

/// `recheck` through the store protocol, the same assertions against SQLite and PostgreSQL.
@Suite struct RecheckStoreTests {
  let dir = TempDir()

  func item(_ u: String, campaign: String? = nil) throws -> EnqueueItem {
    EnqueueItem(url: try URLNormalizer.normalize(u).get(), report: ReportMetadata(campaign: campaign))
  }

  func next(_ store: any TakedownStore, _ id: Int64) throws -> Int64? {
    try RawSQL.int(store, "SELECT next_check_at FROM urls WHERE id = \(id)")
  }

  @Test(arguments: Backend.allCases) func selectorsCombineAndLeasedOrCancelledURLsAreLeftAlone(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    _ = try store.enqueue(
      [
        try item("http://a.test/1", campaign: "c1"), try item("http://a.test/2", campaign: "c2"),
        try item("http://b.test/3", campaign: "c1"), try item("http://a.test/4"), try item("http://a.test/5"),
      ], now: 1000)
    // Ids by URL: the store inserts a batch in URL order.
    var id: [Int: Int64] = [:]
    for (n, u) in [(1, "http://a.test/1"), (2, "http://a.test/2"), (3, "http://b.test/3"), (4, "http://a.test/4"), (5, "http://a.test/5")] {
      id[n] = try #require(try store.lookup(u)).id
    }
    let claimed = try store.claim(holder: "d", limit: 10, now: 2000, leaseMs: 60_000)
    #expect(claimed.count == 5)
    // 1-3 wait until 900 000 (as after a check); 4 stays leased until 62 000; 5 is cancelled.
    try store.deferClaims(claimed.filter { [id[1], id[2], id[3]].contains($0.id) }.map { ($0, 900_000) }, holder: "d")
    #expect(try store.cancel(id: id[5]!, now: 2500))
    _ = try store.enqueue([try item("http://a.test/6")], now: 3000)  // due since 3000
    id[6] = try #require(try store.lookup("http://a.test/6")).id

    var c = try store.recheck(RecheckSelection(campaign: "c1"), now: 5000)
    #expect(c == RecheckCounts(madeDue: 2, leased: 0, cancelled: 0))
    #expect(try next(store, id[1]!) == 5000)
    #expect(try next(store, id[2]!) == 900_000)
    #expect(try next(store, id[3]!) == 5000)

    c = try store.recheck(RecheckSelection(ids: [id[2]!, id[4]!, id[5]!]), now: 6000)
    #expect(c == RecheckCounts(madeDue: 1, leased: 1, cancelled: 1))
    #expect(try next(store, id[2]!) == 6000)
    #expect(try next(store, id[4]!) == 62_000, "a URL being checked keeps its lease and its time")
    #expect(try RawSQL.text(store, "SELECT lease_holder FROM urls WHERE id = \(id[4]!)") == "d")
    #expect(try next(store, id[5]!) == nil, "a cancelled URL stays unscheduled")
    #expect(try RawSQL.text(store, "SELECT status FROM urls WHERE id = \(id[5]!)") == "cancelled")

    // Host (any spelling) and status together; a URL due earlier keeps its earlier time.
    c = try store.recheck(RecheckSelection(status: .pending, host: "A.TEST"), now: 7000)
    #expect(c == RecheckCounts(madeDue: 3, leased: 1, cancelled: 0))
    #expect(try next(store, id[1]!) == 5000)
    #expect(try next(store, id[6]!) == 3000)
    #expect(try next(store, id[3]!) == 5000, "b.test is not selected")

    // Once the lease has run out, the URL is no longer being checked: it is made due.
    c = try store.recheck(RecheckSelection(ids: [id[4]!]), now: 70_000)
    #expect(c == RecheckCounts(madeDue: 1, leased: 0, cancelled: 0))
    #expect(try next(store, id[4]!) == 62_000)

    #expect(try store.recheck(RecheckSelection(ids: []), now: 80_000) == RecheckCounts())
    #expect(try store.recheck(RecheckSelection(campaign: "nobody"), now: 80_000) == RecheckCounts())
    #expect(try store.recheck(RecheckSelection(), now: 80_000) == RecheckCounts(madeDue: 5, leased: 0, cancelled: 1))

    // No status changed, so no event was recorded (events are status changes: only the cancel).
    #expect(try store.events(afterID: 0, since: nil, limit: 10).map(\.transition.to) == [.cancelled])
    #expect(try store.claim(holder: "d", limit: 10, now: 80_000, leaseMs: 1000).count == 5)
  }
}
