/// The daemons that work on a SQLite queue: one at a time (takedownd locks the file), listed like the
/// nodes of a shared PostgreSQL queue.
extension SQLiteStore {
  public func registerNode(_ node: NodeRegistration, now: Int64) throws -> NodeRegistrationOutcome {
    try db.transaction {
      let previous = try nodeRecords(name: node.name).first
      if let previous, !NodeLiveness.mayTakeOver(previous, as: node, now: now) {
        return .nameInUse(previous)
      }
      try db.statement(
        """
        INSERT INTO nodes(name, vantage, version, host, process, instance, started_at, last_seen_at, stopped_at,
          checks_last_interval, interval_ms)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, NULL, 0, 0)
        ON CONFLICT(name) DO UPDATE SET vantage = excluded.vantage, version = excluded.version,
          host = excluded.host, process = excluded.process, instance = excluded.instance,
          started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, stopped_at = NULL,
          checks_last_interval = 0, interval_ms = 0
        """
      ).run([
        .text(node.name), .text(node.vantage), .text(node.version), .text(node.host), .text(node.process),
        .text(node.instance), .int(now),
      ])
      return .registered(previous: previous)
    }
  }

  public func heartbeat(_ node: NodeRegistration, now: Int64, checks: Int, intervalMs: Int64) throws -> Bool {
    try db.statement(
      """
      UPDATE nodes SET last_seen_at = ?3, checks_last_interval = ?4, interval_ms = ?5
      WHERE name = ?1 AND instance = ?2
      """
    ).run([.text(node.name), .text(node.instance), .int(now), .int(Int64(checks)), .int(intervalMs)])
    return db.changes == 1
  }

  public func unregisterNode(_ node: NodeRegistration, now: Int64) throws {
    try db.statement("UPDATE nodes SET stopped_at = ?3, last_seen_at = ?3 WHERE name = ?1 AND instance = ?2")
      .run([.text(node.name), .text(node.instance), .int(now)])
  }

  public func nodes() throws -> [NodeRecord] { try nodeRecords(name: nil) }

  private func nodeRecords(name: String?) throws -> [NodeRecord] {
    let s = try db.statement(
      """
      SELECT name, vantage, version, host, process, instance, started_at, last_seen_at, stopped_at,
        checks_last_interval, interval_ms,
        (SELECT count(*) FROM urls WHERE lease_holder = nodes.name)
      FROM nodes WHERE ?1 IS NULL OR name = ?1 ORDER BY name
      """)
    defer { s.reset() }
    try s.bind([name.map { .text($0) } ?? .null])
    var out: [NodeRecord] = []
    while try s.step() {
      out.append(
        NodeRecord(
          name: s.text(0), vantage: s.text(1), version: s.text(2), host: s.text(3), process: s.text(4),
          instance: s.text(5), startedAt: s.int64(6), lastSeenAt: s.int64(7), stoppedAt: s.optionalInt64(8),
          checksLastInterval: s.int(9), intervalMs: s.int64(10), leasesHeld: s.int(11)))
    }
    return out
  }
}
