/// A status transition as `takedownctl events` shows it.
public struct EventRecord: Sendable {
  public var id: Int64
  public var transition: Transition
}

extension SQLiteStore {
  /// Transitions with id > `afterID` and at >= `since`, oldest first.
  public func events(afterID: Int64, since: Int64?, limit: Int) throws -> [EventRecord] {
    let s = try db.statement(
      """
      SELECT e.id, e.url_id, u.url, e.at, e.from_status, e.to_status, e.reason
      FROM events e JOIN urls u ON u.id = e.url_id
      WHERE e.id > ?1 AND e.at >= ?2 ORDER BY e.id LIMIT ?3
      """)
    defer { s.reset() }
    try s.bind([.int(afterID), .int(since ?? Int64.min), .int(Int64(limit))])
    var out: [EventRecord] = []
    while try s.step() {
      out.append(
        EventRecord(
          id: s.int64(0),
          transition: Transition(
            urlID: s.int64(1), url: s.text(2), at: s.int64(3), from: URLStatus(rawValue: s.text(4)) ?? .pending,
            to: URLStatus(rawValue: s.text(5)) ?? .pending, reason: s.optionalText(6))))
    }
    return out
  }

  /// The newest event's id (0 when there is none).
  public func lastEventID() throws -> Int64 {
    try db.scalar("SELECT max(id) FROM events") ?? 0
  }

  /// The id of the last event written to the status log; nil when none ever was. One daemon works on a
  /// SQLite database, so there is one position whatever its node name (a renamed node goes on).
  public func statusLogCursor(node: String) throws -> Int64? {
    try db.scalar("SELECT value FROM daemon_state WHERE key = 'status_log.event_id'")
  }

  public func setStatusLogCursor(_ eventID: Int64, node: String) throws {
    try db.statement(
      """
      INSERT INTO daemon_state(key, value) VALUES ('status_log.event_id', ?1)
      ON CONFLICT(key) DO UPDATE SET value = excluded.value
      """
    ).run([.int(eventID)])
  }

  /// The id of the `n`-th newest event (0 when there are fewer): where `events --follow` starts.
  public func eventIDBeforeLast(_ n: Int) throws -> Int64 {
    try db.scalar("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?", [.int(Int64(n))]) ?? 0
  }
}
