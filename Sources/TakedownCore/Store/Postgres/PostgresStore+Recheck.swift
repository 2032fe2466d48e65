extension PostgresStore {
  /// See `TakedownStore.recheck`. A URL another daemon claims while this runs is re-read under its row
  /// lock (READ COMMITTED), so its new lease is seen and it is left alone.
  public func recheck(_ selection: RecheckSelection, now: Int64) throws -> RecheckCounts {
    var q = PostgresQuery()
    let nowParam = q.bind(.int(now))
    var clauses: [String] = []
    if let ids = selection.ids {
      clauses.append("id = ANY(\(q.bind(.text("{" + ids.map(String.init).joined(separator: ",") + "}")))::bigint[])")
    }
    if let st = selection.status { clauses.append("status = \(q.bind(.text(st.rawValue)))") }
    if let h = selection.host { clauses.append("host = \(q.bind(.text(ReportFilter.normalizeHost(h))))") }
    if let c = selection.campaign {
      clauses.append("EXISTS (SELECT 1 FROM reports r WHERE r.url_id = urls.id AND r.campaign = \(q.bind(.text(c))))")
    }
    let matching = clauses.isEmpty ? "" : " AND " + clauses.joined(separator: " AND ")
    let live = "(lease_holder IS NOT NULL AND lease_until > \(nowParam))"
    return try writeTransaction {
      var counts = RecheckCounts()
      counts.madeDue =
        try connection.execute(
          """
          UPDATE urls SET next_check_at = LEAST(coalesce(next_check_at, \(nowParam)), \(nowParam))
          WHERE status <> 'cancelled' AND NOT \(live)\(matching)
          """, q.params
        ).affectedRows
      let r = try connection.execute(
        """
        SELECT count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status <> 'cancelled' AND \(live))
        FROM urls WHERE true\(matching)
        """, q.params)
      counts.cancelled = Int(r.int64(0, 0) ?? 0)
      counts.leased = Int(r.int64(0, 1) ?? 0)
      return counts
    }
  }
}
