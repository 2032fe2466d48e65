extension SQLiteStore {
  /// See `TakedownStore.recheck`. One transaction: the update and the counts of what it left alone
  /// see one state of the queue.
  public func recheck(_ selection: RecheckSelection, now: Int64) throws -> RecheckCounts {
    var (clauses, args) = Self.urlConditions(
      status: selection.status, host: selection.host, campaign: selection.campaign, on: "urls")
    args.insert(.int(now), at: 0)
    if let ids = selection.ids {
      clauses.append("id IN (SELECT value FROM json_each(?))")
      args.append(.text("[" + ids.map(String.init).joined(separator: ",") + "]"))
    }
    let matching = clauses.isEmpty ? "" : " AND " + clauses.joined(separator: " AND ")
    // ?1 is now. A live lease: the URL is being checked; its result reschedules it anyway.
    let live = "(lease_holder IS NOT NULL AND lease_until > ?1)"
    return try db.transaction {
      var counts = RecheckCounts()
      try db.statement(
        """
        UPDATE urls SET next_check_at = min(coalesce(next_check_at, ?1), ?1)
        WHERE status != 'cancelled' AND NOT \(live)\(matching)
        """
      ).run(args)
      counts.madeDue = db.changes
      let s = try db.statement(
        """
        SELECT coalesce(sum(status = 'cancelled'), 0), coalesce(sum(status != 'cancelled' AND \(live)), 0)
        FROM urls WHERE 1\(matching)
        """)
      defer { s.reset() }
      try s.bind(args)
      if try s.step() {
        counts.cancelled = s.int(0)
        counts.leased = s.int(1)
      }
      return counts
    }
  }
}
