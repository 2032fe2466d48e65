import CSQLite

#if canImport(Glibc)
  import Glibc
#endif

/// `takedownctl copy`: a SQLite queue with its whole history (URLs with their ids, reports, checks,
/// events, summaries, daemon state) into a PostgreSQL database, with COPY.
///
/// One transaction on the target for the whole copy. Either the queue arrives whole or nothing does: a
/// copy killed half way leaves the target as it was (empty), so running it again is always safe, and a
/// daemon pointed at the target never sees half a queue. (A transaction per table would resume after an
/// interruption instead of starting over, but leaves a half-copied queue that daemons and readers can
/// see meanwhile; COPY moves ~90k rows/s here, so starting over costs minutes at worst.) The tables are
/// locked for the duration: a reader or writer of the target waits for the commit.
///
/// The source is read in one read transaction (one state of the file) while holding the daemon's lock on
/// it (`DatabaseLock`'s flock): a running takedownd is refused, since what it records after the
/// snapshot would be lost. Leases still in the file were left by a daemon that died; they are dropped,
/// and their URLs are due when the lease would have ended (a claim set next_check_at to its end).
///
/// The tallies are not copied: the triggers are off while the rows go in, and `td_rebuild_tallies()`
/// computes them from the rows at the end, in the same transaction. Identity sequences are set past the
/// copied ids. Every table's count is compared with the source's before the commit.
public struct QueueCopy {
  /// One table: its name and columns (the same in both schemas) with their types.
  struct Table {
    enum Kind { case int, text, real }
    var name: String
    var columns: [(String, Kind)]
    /// Has an identity `id` column whose sequence must move past the copied ids.
    var hasID: Bool { columns.first?.0 == "id" }
    /// The key the rows are read in order of: the first column (`id`, `key`, `url_id`).
    var orderBy: String { columns[0].0 }
  }

  static let tables: [Table] = [
    Table(
      name: "urls",
      columns: [
        ("id", .int), ("url", .text), ("host", .text), ("created_at", .int), ("status", .text), ("reason", .text),
        ("http_status", .int), ("last_checked_at", .int), ("next_check_at", .int), ("first_online_at", .int),
        ("taken_down_at", .int), ("first_taken_down_at", .int), ("checks", .int), ("removal_streak", .int),
        ("failure_streak", .int), ("attempt", .int), ("lease_holder", .text), ("lease_until", .int),
        ("first_reported_at", .int), ("deadline_at", .int), ("unreachable_since", .int), ("given_up_at", .int),
      ]),
    Table(
      name: "reports",
      columns: [
        ("id", .int), ("url_id", .int), ("reported_at", .int), ("campaign", .text), ("notice", .text),
        ("rightholder", .text), ("work", .text), ("deadline", .int), ("created_at", .int), ("extra", .text),
      ]),
    Table(
      name: "checks",
      columns: [
        ("id", .int), ("url_id", .int), ("attempt", .int), ("checked_at", .int), ("observed", .text), ("status", .text),
        ("reason", .text), ("http_status", .int), ("curl_code", .int), ("final_url", .text), ("redirects", .int),
        ("remote_ip", .text), ("dns_us", .int), ("connect_us", .int), ("tls_us", .int), ("first_byte_us", .int),
        ("total_us", .int), ("bytes", .int), ("holder", .text), ("vantage", .text), ("method", .text),
        ("body_sha256", .text), ("headers", .text), ("redirect_chain", .text), ("matched", .text), ("rule", .text),
      ]),
    Table(
      name: "events",
      columns: [
        ("id", .int), ("url_id", .int), ("at", .int), ("from_status", .text), ("to_status", .text), ("reason", .text),
      ]),
    Table(
      name: "summaries",
      columns: [
        ("id", .int), ("at", .int), ("interval_ms", .int), ("holder", .text), ("checks", .int),
        ("checks_per_second", .real), ("pending", .int), ("online", .int), ("taken_down", .int),
        ("unreachable", .int), ("reappeared", .int), ("cancelled", .int), ("newly_taken_down", .int),
        ("newly_reappeared", .int), ("due", .int),
      ]),
    // Bounded history: the notes that stand in for folded checks, and where compaction goes on.
    Table(
      name: "check_folds",
      columns: [
        ("id", .int), ("url_id", .int), ("first_at", .int), ("last_at", .int), ("folded", .int), ("observed", .text),
        ("status", .text), ("reason", .text), ("http_status", .int),
      ]),
    Table(name: "history_marks", columns: [("url_id", .int), ("attempt", .int)]),
    Table(name: "daemon_state", columns: [("key", .text), ("value", .int)]),
  ]

  /// The tables whose triggers keep the tallies (off during the copy; rebuilt at the end).
  static let triggered = ["urls", "reports"]
  /// The key of the marker the copy leaves in daemon_state: a fingerprint of the source it came from.
  static let markerKey = "copy.source"

  /// One table's rows: in the source, and in the target after the copy.
  public struct Count: Sendable, Equatable {
    public var table: String
    public var source: Int
    public var target: Int
  }

  /// What a copy did.
  public struct Outcome: Sendable {
    public var counts: [Count]
    /// The target already held a complete copy of this very source (a rerun after a copy that
    /// committed, e.g. one whose client died waiting for the commit's answer): nothing was written.
    public var alreadyCopied: Bool
    /// Leases left in the source by a daemon that died, dropped in the copy.
    public var leasesDropped: Int
  }

  public enum Failure: Error, CustomStringConvertible {
    /// takedownd runs on the source (it holds the file's lock).
    case sourceInUse(String)
    case sourceLock(String, String)
    /// The target holds rows that are not a copy of this source: table and count of the first one found.
    case targetNotEmpty(String, [(String, Int)])
    /// Another session holds the target's tables.
    case targetLocked(String)
    /// The copied counts differ from the source's (never expected: the transaction is rolled back).
    case countMismatch([Count])
    /// A row PostgreSQL refused (a value its column type rejects): the table and the server's message.
    case rejectedRow(String, PostgresError)

    public var description: String {
      switch self {
      case .sourceInUse(let p):
        return "takedownd is running on \(p): stop it first (what it records during the copy would be lost)"
      case .sourceLock(let p, let why): return "cannot lock \(p) against a daemon starting: \(why)"
      case .targetNotEmpty(let t, let counts):
        return "\(t) already holds a queue ("
          + counts.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
          + ") that is not a copy of this source: copy into an empty database (an interrupted copy leaves nothing behind)"
      case .targetLocked(let t):
        return "\(t): its tables are locked by another session (another copy, or one whose client the server "
          + "has not yet found gone): try again in a minute"
      case .countMismatch(let counts):
        return "the copy's counts differ from the source's, nothing was committed: "
          + counts.map { "\($0.table) \($0.target) of \($0.source)" }.joined(separator: ", ")
      case .rejectedRow(let table, let e): return "PostgreSQL refused a row of \(table), nothing was committed: \(e)"
      }
    }

    public var sysExit: SysExit {
      switch self {
      case .sourceInUse, .targetLocked: return .tempFail
      case .sourceLock: return .noInput
      case .targetNotEmpty: return .cantCreate
      case .countMismatch: return .software
      case .rejectedRow: return .dataError
      }
    }
  }

  let source: SQLiteStore
  let sourcePath: String
  let target: PostgresConnection
  let targetName: String
  /// Called now and then with the table being copied and its rows so far.
  var progress: (String, Int) -> Void = { _, _ in }
  /// For tests of an interrupted copy: called once per row sent.
  var onRow: (() -> Void)?

  /// `source`: the SQLite file, opened for reading. `target`: a connection to the PostgreSQL database,
  /// its schema migrated (`PostgresStore.init` does it).
  public init(source: SQLiteStore, target: PostgresStore, progress: @escaping (String, Int) -> Void = { _, _ in }) {
    self.source = source
    sourcePath = source.location
    self.target = target.connection
    targetName = target.location
    self.progress = progress
  }

  /// Copies everything, or nothing (see the type's comment).
  public func run(now: Int64 = Timestamp.nowMs()) throws -> Outcome {
    let lock = try lockSource()
    defer { close(lock) }
    // The server stops a copy whose client died mid-statement within a second (PostgreSQL 14+), so that
    // a rerun does not wait for its locks; older servers notice at the next read.
    if target.serverVersion >= 140_000 { try target.execute("SET client_connection_check_interval = '1s'") }
    let outcome = try source.db.transaction(immediate: false) {
      let fingerprint = try sourceFingerprint()
      return try target.transaction {
        try target.execute("SET LOCAL lock_timeout = '30s'")
        do {
          try target.execute(
            "LOCK TABLE \(Self.tables.map(\.name).joined(separator: ", ")) IN EXCLUSIVE MODE")
        } catch let e as PostgresError where e.sqlState == "55P03" {
          throw Failure.targetLocked(targetName)
        }
        try target.execute("SET LOCAL lock_timeout = 0")
        let marker = try target.scalar("SELECT value FROM daemon_state WHERE key = $1", [.text(Self.markerKey)])
        let present = try targetCounts()
        if marker != nil || present.values.contains(where: { $0 > 0 }) {
          let counts = try sourceCounts(targetCounts: present)
          if marker == fingerprint, counts.allSatisfy({ $0.source == $0.target }) {
            return Outcome(counts: counts, alreadyCopied: true, leasesDropped: 0)
          }
          throw Failure.targetNotEmpty(targetName, Self.tables.map { ($0.name, present[$0.name] ?? 0) }.filter { $0.1 > 0 })
        }
        let leases = Int(try source.db.scalar("SELECT count(*) FROM urls WHERE lease_holder IS NOT NULL") ?? 0)
        for t in Self.triggered { try target.execute("ALTER TABLE \(t) DISABLE TRIGGER USER") }
        // As PostgreSQL's "Populating a Database" advises: the foreign keys and the plain indexes go, the
        // rows go in, and they come back, each checked or built once over the whole table (a third of
        // the time of checking and inserting row by row). Unique constraints stay: they are the ids.
        let deferred = try dropIndexesAndForeignKeys()
        for t in Self.tables { try copy(t) }
        // Index builds and the tallies' sorts and joins in memory.
        try target.execute("SET LOCAL maintenance_work_mem = '256MB'")
        try target.execute("SET LOCAL work_mem = '256MB'")
        for sql in deferred { try target.execute(sql) }
        for t in Self.triggered { try target.execute("ALTER TABLE \(t) ENABLE TRIGGER USER") }
        try target.execute("SELECT td_rebuild_tallies()")
        for t in Self.tables where t.hasID {
          // The next id the identity gives is past every copied one (1 for an empty table).
          try target.execute(
            """
            SELECT setval(pg_get_serial_sequence('\(t.name)', 'id'), coalesce(max(id), 0) + 1, false) FROM \(t.name)
            """)
        }
        try target.execute(
          """
          INSERT INTO daemon_state (key, value) VALUES ($1, $2)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value
          """, [.text(Self.markerKey), .int(fingerprint)])
        try carryStatusLogCursor()
        let counts = try sourceCounts(targetCounts: try targetCounts())
        if counts.contains(where: { $0.source != $0.target }) { throw Failure.countMismatch(counts) }
        return Outcome(counts: counts, alreadyCopied: false, leasesDropped: leases)
      }
    }
    // Statistics for the planner now, rather than when autovacuum gets to the new tables.
    if !outcome.alreadyCopied { try target.execute("ANALYZE \(Self.tables.map(\.name).joined(separator: ", "))") }
    return outcome
  }

  /// Drops the copied tables' foreign keys and the indexes that back no constraint; returns the
  /// statements that put them back, in order (indexes first, then the foreign keys, which use them).
  private func dropIndexesAndForeignKeys() throws -> [String] {
    let names = "ARRAY[\(Self.tables.map { "'\($0.name)'" }.joined(separator: ", "))]::regclass[]"
    let indexes = try target.execute(
      """
      SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
      WHERE i.indrelid = ANY(\(names))
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY 1
      """)
    let keys = try target.execute(
      """
      SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
      WHERE contype = 'f' AND conrelid = ANY(\(names)) ORDER BY 1, 2
      """)
    var restore: [String] = []
    for i in 0..<indexes.rowCount {
      try target.execute("DROP INDEX \(indexes.text(i, 0)!)")
      restore.append(indexes.text(i, 1)!)
    }
    for i in 0..<keys.rowCount {
      let (table, name, definition) = (keys.text(i, 0)!, keys.text(i, 1)!, keys.text(i, 2)!)
      try target.execute("ALTER TABLE \(table) DROP CONSTRAINT \(name)")
      restore.append("ALTER TABLE \(table) ADD CONSTRAINT \(name) \(definition)")
    }
    return restore
  }

  /// The daemon's flock on the source, taken (not waited for) for the copy's duration: no takedownd runs
  /// on it now, and none can start until the copy ends. A read-only descriptor is enough for flock.
  private func lockSource() throws -> Int32 {
    let fd = open(sourcePath, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw Failure.sourceLock(sourcePath, String(cString: strerror(errno))) }
    var rc: Int32
    repeat { rc = flock(fd, LOCK_EX | LOCK_NB) } while rc != 0 && errno == EINTR
    guard rc == 0 else {
      let err = errno
      close(fd)
      if err == EWOULDBLOCK { throw Failure.sourceInUse(sourcePath) }
      throw Failure.sourceLock(sourcePath, String(cString: strerror(err)))
    }
    return fd
  }

  /// The status log's position goes on where the SQLite daemon left it: SQLite keeps one cursor (one
  /// daemon), PostgreSQL one per node, so each node that worked on the file gets it under its name (a
  /// daemon started under another name starts after the newest event, as on a first start). The nodes
  /// themselves are not copied: a recent heartbeat of a stopped daemon would keep its name from being
  /// taken for a while.
  private func carryStatusLogCursor() throws {
    guard let cursor = try source.db.scalar("SELECT value FROM daemon_state WHERE key = 'status_log.event_id'"),
      try source.db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'nodes'") == 1
    else { return }
    let s = try source.db.statement("SELECT name FROM nodes ORDER BY name")
    defer { s.reset() }
    while try s.step() {
      try target.execute(
        "INSERT INTO daemon_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        [.text(PostgresStore.statusLogKey(s.text(0))), .int(cursor)])
    }
  }

  /// Rows per table in the target; the copy's own rows (its marker, the nodes' status log cursors) are
  /// not the source's.
  private func targetCounts() throws -> [String: Int] {
    var out: [String: Int] = [:]
    for t in Self.tables {
      let mine =
        t.name == "daemon_state"
        ? " WHERE key <> '\(Self.markerKey)' AND key NOT LIKE '\(PostgresStore.statusLogKey(""))%'" : ""
      out[t.name] = Int(try target.scalar("SELECT count(*) FROM \(t.name)\(mine)") ?? 0)
    }
    return out
  }

  private func sourceCounts(targetCounts: [String: Int]) throws -> [Count] {
    try Self.tables.map { t in
      let dropped = t.name == "daemon_state" ? " WHERE key <> '\(Self.markerKey)'" : ""
      return Count(
        table: t.name, source: Int(try source.db.scalar("SELECT count(*) FROM \(t.name)\(dropped)") ?? 0),
        target: targetCounts[t.name] ?? 0)
    }
  }

  /// What identifies the source's state: every table's count and largest id, and the URLs' check totals.
  private func sourceFingerprint() throws -> Int64 {
    var parts: [Int64] = []
    for t in Self.tables {
      parts.append(try source.db.scalar("SELECT count(*) FROM \(t.name)") ?? 0)
      if t.hasID { parts.append(try source.db.scalar("SELECT ifnull(max(id), 0) FROM \(t.name)") ?? 0) }
    }
    parts.append(try source.db.scalar("SELECT ifnull(sum(checks), 0) FROM urls") ?? 0)
    parts.append(try source.db.scalar("SELECT ifnull(max(last_checked_at), 0) FROM urls") ?? 0)
    // FNV-1a over the values' bytes; positive, so that it reads well in daemon_state.
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for p in parts {
      for shift in stride(from: 0, to: 64, by: 8) {
        h ^= UInt64(truncatingIfNeeded: p >> Int64(shift)) & 0xFF
        h = h &* 0x100_0000_01b3
      }
    }
    return Int64(bitPattern: h & 0x7FFF_FFFF_FFFF_FFFF)
  }

  /// One table through COPY, in id order, streamed from the SQLite statement.
  private func copy(_ t: Table) throws {
    let names = t.columns.map(\.0)
    // Leases go: no daemon holds them any more (see the type's comment).
    let select = names.map { n in
      t.name == "urls" && (n == "lease_holder" || n == "lease_until") ? "NULL" : n
    }
    let s = try source.db.statement(
      "SELECT \(select.joined(separator: ", ")) FROM \(t.name) ORDER BY \(t.orderBy)")
    defer { s.reset() }
    let rows = SQLiteRows(statement: s, kinds: t.columns.map(\.1), table: t.name, progress: progress, onRow: onRow)
    do {
      _ = try target.copyIn("COPY \(t.name) (\(names.joined(separator: ", "))) FROM STDIN", rows: rows)
    } catch {
      // A step of the source ended the rows early: that is the failure to report.
      if let e = rows.failure.error { throw e }
      // Class 22 (data exception) or 23 (integrity constraint): a value the target's column refuses.
      if error.sqlState?.hasPrefix("22") == true || error.sqlState?.hasPrefix("23") == true {
        throw Failure.rejectedRow(t.name, error)
      }
      throw error
    }
    if let e = rows.failure.error { throw e }
  }
}

/// The rows of a SQLite statement as COPY values; a step error ends the sequence and is kept in `failure`.
struct SQLiteRows: Sequence, IteratorProtocol {
  final class Failure { var error: (any Error)? }
  let statement: SQLiteStatement
  let kinds: [QueueCopy.Table.Kind]
  let table: String
  let progress: (String, Int) -> Void
  let onRow: (() -> Void)?
  let failure = Failure()
  var count = 0

  init(
    statement: SQLiteStatement, kinds: [QueueCopy.Table.Kind], table: String, progress: @escaping (String, Int) -> Void,
    onRow: (() -> Void)?
  ) {
    self.statement = statement
    self.kinds = kinds
    self.table = table
    self.progress = progress
    self.onRow = onRow
  }

  mutating func next() -> [PostgresValue]? {
    guard failure.error == nil else { return nil }
    do {
      guard try statement.step() else {
        progress(table, count)
        return nil
      }
    } catch {
      failure.error = error
      return nil
    }
    count += 1
    if count & 4095 == 0 { progress(table, count) }
    onRow?()
    var row: [PostgresValue] = []
    row.reserveCapacity(kinds.count)
    for (i, kind) in kinds.enumerated() {
      let c = Int32(i)
      if statement.isNull(c) {
        row.append(.null)
        continue
      }
      switch kind {
      case .int: row.append(.int(statement.int64(c)))
      case .text: row.append(.text(statement.text(c)))
      case .real:
        let d = statement.double(c)
        row.append(.text(d.isNaN ? "NaN" : d.isInfinite ? (d > 0 ? "Infinity" : "-Infinity") : String(d)))
      }
    }
    return row
  }
}
