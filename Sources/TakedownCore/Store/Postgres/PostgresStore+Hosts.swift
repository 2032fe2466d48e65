/// Host leases on PostgreSQL: the politeness all daemons of the queue share (see `SharedHosts`).
/// Table `host_leases` (migration 0004_host_leases): one row per limited host ever worked.
extension PostgresStore {
  public var sharesHosts: Bool { true }

  public func holdHosts(_ hosts: [String], holder: String, now: Int64, leaseMs: Int64) throws -> [String: HostWait] {
    guard !hosts.isEmpty else { return [:] }
    // Take what is free, expired or ours, in the order given (sorted by the caller): two daemons never
    // wait on each other's rows in opposite orders. A row another daemon holds is left as it is and
    // not returned.
    let granted = try connection.execute(
      """
      INSERT INTO host_leases AS h (host, holder, lease_until)
        SELECT x, $2, $3 FROM unnest($1::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n
      ON CONFLICT (host) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
        WHERE h.holder IS NULL OR h.holder = excluded.holder OR h.lease_until <= $4
      RETURNING host, greatest(free_at, paused_until)
      """, [.text(Self.arrayLiteral(hosts)), .text(holder), .int(now + leaseMs), .int(now)])
    var out: [String: HostWait] = [:]
    var mine = Set<String>()
    for i in 0..<granted.rowCount {
      guard let host = granted.text(i, 0) else { continue }
      mine.insert(host)
      if let until = granted.int64(i, 1), until > now { out[host] = HostWait(until: until, heldByOther: false) }
    }
    let others = hosts.filter { !mine.contains($0) }
    if !others.isEmpty {
      let rows = try connection.execute(
        "SELECT host, greatest(lease_until, paused_until) FROM host_leases WHERE host = ANY($1::text[])",
        [.text(Self.arrayLiteral(others))])
      for i in 0..<rows.rowCount {
        guard let host = rows.text(i, 0) else { continue }
        out[host] = HostWait(until: max(rows.int64(i, 1) ?? now, now + 1), heldByOther: true)
      }
    }
    return out
  }

  public func letGoOfHosts(_ hosts: [String: Int64], holder: String) throws {
    guard !hosts.isEmpty else { return }
    let sorted = hosts.sorted { $0.key < $1.key }
    try connection.execute(
      """
      UPDATE host_leases h SET holder = NULL, lease_until = 0, free_at = greatest(h.free_at, x.f)
      FROM unnest($1::text[], $2::bigint[]) AS x(host, f)
      WHERE h.host = x.host AND h.holder = $3
      """,
      [
        .text(Self.arrayLiteral(sorted.map(\.key))), .text("{" + sorted.map { String($0.value) }.joined(separator: ",") + "}"),
        .text(holder),
      ])
  }

  public func pauseHost(_ host: String, until: Int64) throws {
    try connection.execute(
      """
      INSERT INTO host_leases AS h (host, paused_until) VALUES ($1, $2)
      ON CONFLICT (host) DO UPDATE SET paused_until = greatest(h.paused_until, excluded.paused_until)
      """, [.text(host), .int(until)])
  }

  /// A text[] literal: every element quoted, quotes and backslashes escaped.
  static func arrayLiteral(_ items: [String]) -> String {
    var s = "{"
    for (i, item) in items.enumerated() {
      if i > 0 { s += "," }
      s += "\""
      for ch in item.unicodeScalars {
        if ch == "\"" || ch == "\\" { s += "\\" }
        s.unicodeScalars.append(ch)
      }
      s += "\""
    }
    return s + "}"
  }
}
