import Synchronization

/// Cursor names are unique per process, so that a walk may run inside another one's body.
private let cursorCounter = Atomic<Int>(0)

extension PostgresConnection {
  /// Runs a query and hands its rows to `body` at most `batch` at a time, through a server-side cursor:
  /// memory stays constant whatever the query selects (libpq would otherwise hold every row of a result
  /// at once). Inside the caller's transaction when one is open, else in a read-only REPEATABLE READ
  /// transaction of its own (a cursor lives in a transaction).
  public func forEachBatch(
    _ sql: String, _ params: [PostgresValue] = [], batch: Int = 10_000, _ body: (PostgresResult) throws -> Void
  ) throws {
    func walk() throws {
      let name = "td_cursor_\(cursorCounter.add(1, ordering: .relaxed).newValue)"
      try execute("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", params)
      var finished = false
      // A failed transaction block refuses CLOSE too: then the rollback closes it.
      defer { if !finished { _ = try? execute("CLOSE \(name)") } }
      while true {
        let rows = try execute("FETCH FORWARD \(batch) FROM \(name)")
        if rows.rowCount > 0 { try body(rows) }
        if rows.rowCount < batch { break }
      }
      finished = true
      try execute("CLOSE \(name)")
    }
    if inTransaction { try walk() } else { try transaction(isolation: "REPEATABLE READ, READ ONLY", walk) }
  }

  /// `forEachBatch`, one row at a time: `body` gets the batch's result and the row's index in it.
  public func forEachRow(
    _ sql: String, _ params: [PostgresValue] = [], batch: Int = 10_000, _ body: (PostgresResult, Int) throws -> Void
  ) throws {
    try forEachBatch(sql, params, batch: batch) { rows in
      for i in 0..<rows.rowCount { try body(rows, i) }
    }
  }

  /// Runs `body` in a transaction of its own, or in the caller's when one is open (several reads that
  /// must see one state of the database, wherever they are called from).
  func inSnapshot<T>(_ body: () throws -> T) throws -> T {
    if inTransaction { return try body() }
    return try transaction(isolation: "REPEATABLE READ, READ ONLY", body)
  }

  /// The first column of the first row as an integer (nil for no row or NULL).
  public func scalar(_ sql: String, _ params: [PostgresValue] = []) throws -> Int64? {
    let r = try execute(sql, params)
    return r.rowCount > 0 ? r.int64(0, 0) : nil
  }
}

/// A statement's text and its `$n` parameters, built together so that the numbers always match.
struct PostgresQuery {
  var params: [PostgresValue] = []

  /// Adds a parameter and returns its placeholder.
  mutating func bind(_ v: PostgresValue) -> String {
    params.append(v)
    return "$\(params.count)"
  }
}
