import CSQLite

#if canImport(Glibc)
  import Glibc
#endif

/// A SQLite failure, with the statement and the code so that a log line is enough to act on.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
  public var code: Int32
  public var message: String
  public var sql: String?
  public var description: String {
    var text = "SQLite error \(code) (\(String(cString: sqlite3_errstr(code)))): \(message)"
    if let sql { text += " [\(sql.prefix(200))]" }
    return text
  }
  /// SQLITE_FULL, or an I/O error while writing: the disk (or a file size limit) is full.
  public var isDiskFull: Bool { code & 0xff == SQLITE_FULL || code & 0xff == SQLITE_IOERR }
  public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
}

/// One SQLite connection. Not thread-safe on purpose: each thread that needs the database opens its own
/// connection, which is how SQLite in WAL mode lets readers and the writer proceed concurrently.
/// Process-wide settings, applied once before the first connection opens: no memory statistics (they
/// made each of SQLite's allocations take a global mutex, ~4 % of the recording thread's time in perf).
private let sqliteProcessSettings: Void = { _ = csqlite_disable_memstatus() }()

public final class SQLiteConnection {
  let handle: OpaquePointer
  public let path: String
  private var cache: [String: SQLiteStatement] = [:]
  /// The busy handler's state, retained while the connection lives (nil: SQLite's own busy timeout).
  private var busyWait: Unmanaged<BusyWait>?

  /// Opened with `immutable=1`: SQLite takes no locks and reads the main file only (see `immutable`).
  public let immutable: Bool

  /// `onLongWait`: called once, when a wait for another connection's lock has lasted a second (a person
  /// at a terminal should hear why nothing happens); without it, SQLite's own busy timeout waits quietly.
  /// `immutable` (read-only only): for a WAL database without a -wal file in a directory this process
  /// cannot write, where SQLite cannot create the -shm file a WAL reader needs. With no -wal file, every
  /// committed transaction is in the main file.
  public init(
    path: String, readOnly: Bool = false, immutable: Bool = false, busyTimeoutMs: Int32 = 10_000,
    onLongWait: (() -> Void)? = nil
  ) throws {
    _ = sqliteProcessSettings
    var db: OpaquePointer?
    var flags =
      (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
    var name = path
    if immutable && readOnly {
      flags |= SQLITE_OPEN_URI
      name = "file:" + Self.uriPath(path) + "?immutable=1"
    }
    self.immutable = immutable && readOnly
    let rc = sqlite3_open_v2(name, &db, flags, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
      if let db { sqlite3_close_v2(db) }
      throw SQLiteError(code: rc, message: "\(path): \(message)", sql: nil)
    }
    handle = db
    self.path = path
    sqlite3_extended_result_codes(db, 1)
    if let onLongWait {
      let wait = Unmanaged.passRetained(
        BusyWait(timeoutMs: Int64(busyTimeoutMs), noticeAfterMs: 1000, onLongWait: onLongWait))
      busyWait = wait
      sqlite3_busy_handler(
        db,
        { context, count in
          Unmanaged<BusyWait>.fromOpaque(context!).takeUnretainedValue().retry(count: count) ? 1 : 0
        }, wait.toOpaque())
    } else {
      sqlite3_busy_timeout(db, busyTimeoutMs)
    }
  }

  /// A file name as the path of a `file:` URI: '%', '?' and '#' percent-encoded.
  static func uriPath(_ path: String) -> String {
    var out = ""
    for c in path.unicodeScalars {
      switch c {
      case "%": out += "%25"
      case "?": out += "%3f"
      case "#": out += "%23"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  deinit {
    cache.removeAll()
    sqlite3_close_v2(handle)
    busyWait?.release()
  }

  func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
    SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
  }

  /// Runs one or more statements that return no rows.
  public func execute(_ sql: String) throws {
    var err: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &err)
    if rc != SQLITE_OK {
      let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
      sqlite3_free(err)
      throw SQLiteError(code: rc, message: message, sql: sql)
    }
  }

  /// A prepared statement, cached by its text: the hot paths run the same few statements millions of times.
  public func statement(_ sql: String) throws -> SQLiteStatement {
    if let s = cache[sql] {
      s.reset()
      return s
    }
    let s = try SQLiteStatement(connection: self, sql: sql)
    cache[sql] = s
    return s
  }

  public var changes: Int { Int(sqlite3_changes(handle)) }
  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
  public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

  /// Runs `body` in a transaction. `immediate` takes the write lock up front so that the busy handler,
  /// not a failed commit, resolves contention with other writers.
  public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
    try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
    do {
      let value = try body()
      try execute("COMMIT")
      return value
    } catch {
      if inTransaction { try? execute("ROLLBACK") }
      throw error
    }
  }

  /// Runs `body` with this connection's triggers off, for a statement whose triggers are known to find
  /// nothing to do. Switching recompiles the cached statements (SQLite expires them), which is cheap
  /// next to a trigger run per row of a large INSERT ... SELECT.
  public func withoutTriggers<T>(_ body: () throws -> T) throws -> T {
    try withTriggers(false, body)
  }

  /// Runs `body` with this connection's triggers on or off, then restores the setting it found.
  public func withTriggers<T>(_ enabled: Bool, _ body: () throws -> T) throws -> T {
    let before = triggersEnabled
    if before == enabled { return try body() }
    try setTriggers(enabled)
    defer { try? setTriggers(before) }
    return try body()
  }

  /// Whether this connection runs triggers (SQLITE_DBCONFIG_ENABLE_TRIGGER; on by default).
  public var triggersEnabled: Bool {
    var state: Int32 = 1
    _ = csqlite_enable_triggers(handle, -1, &state)
    return state != 0
  }

  /// Turns this connection's triggers on or off until set again.
  public func setTriggers(_ enabled: Bool) throws {
    var state: Int32 = 0
    let rc = csqlite_enable_triggers(handle, enabled ? 1 : 0, &state)
    if rc != SQLITE_OK { throw error(rc, nil) }
  }

  /// The first column of the first row, as an integer.
  public func scalar(_ sql: String, _ args: [SQLiteValue] = []) throws -> Int64? {
    let s = try statement(sql)
    // A statement left on a row keeps its read transaction (and its old snapshot) open: always reset.
    defer { s.reset() }
    try s.bind(args)
    guard try s.step() else { return nil }
    return s.isNull(0) ? nil : s.int64(0)
  }
}

/// What `sqlite3_busy_timeout` does (sleep a little, retry until the timeout), plus one notice when a
/// wait has lasted `noticeAfterMs`.
final class BusyWait {
  let timeoutMs: Int64
  let noticeAfterMs: Int64
  let onLongWait: () -> Void
  var started: Int64 = 0
  var noticed = false
  /// SQLite's own schedule of sleeps (ms), then 100 ms each.
  static let delays: [Int64] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50]

  init(timeoutMs: Int64, noticeAfterMs: Int64, onLongWait: @escaping () -> Void) {
    self.timeoutMs = timeoutMs
    self.noticeAfterMs = noticeAfterMs
    self.onLongWait = onLongWait
  }

  /// Called by SQLite with the number of retries so far in this wait; false gives up (SQLITE_BUSY).
  func retry(count: Int32) -> Bool {
    let now = Self.monotonicMs()
    if count == 0 { started = now }
    let waited = now - started
    if waited >= timeoutMs { return false }
    if !noticed && waited >= noticeAfterMs {
      noticed = true
      onLongWait()
    }
    let delay = min(Int(count) < Self.delays.count ? Self.delays[Int(count)] : 100, timeoutMs - waited)
    usleep(useconds_t(delay * 1000))
    return true
  }

  static func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }
}

/// A value to bind.
public enum SQLiteValue: Sendable {
  case int(Int64)
  case text(String)
  case double(Double)
  case null

  public static func optional(_ v: Int64?) -> SQLiteValue { v.map { .int($0) } ?? .null }
  public static func optional(_ v: String?) -> SQLiteValue { v.map { .text($0) } ?? .null }
}

/// A prepared statement; `step()` returns true while there is a row.
public final class SQLiteStatement {
  let handle: OpaquePointer
  unowned let connection: SQLiteConnection
  let sql: String

  init(connection: SQLiteConnection, sql: String) throws {
    var stmt: OpaquePointer?
    let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
    guard rc == SQLITE_OK, let stmt else { throw connection.error(rc, sql) }
    handle = stmt
    self.connection = connection
    self.sql = sql
  }

  deinit { sqlite3_finalize(handle) }

  public func reset() {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
  }

  public func bind(_ args: [SQLiteValue]) throws {
    for (i, v) in args.enumerated() { try bind(v, at: Int32(i + 1)) }
  }

  public func bind(_ v: SQLiteValue, at i: Int32) throws {
    let rc: Int32
    switch v {
    case .int(let x): rc = sqlite3_bind_int64(handle, i, x)
    case .double(let x): rc = sqlite3_bind_double(handle, i, x)
    case .null: rc = sqlite3_bind_null(handle, i)
    case .text(let s):
      var s = s
      rc = s.withUTF8 { buf in
        buf.withMemoryRebound(to: CChar.self) { csqlite_bind_text_transient(handle, i, $0.baseAddress, Int32(buf.count)) }
      }
    }
    if rc != SQLITE_OK { throw connection.error(rc, sql) }
  }

  public func bind(_ x: Int64, at i: Int32) { sqlite3_bind_int64(handle, i, x) }
  public func bind(_ s: String, at i: Int32) {
    var s = s
    s.withUTF8 { buf in
      buf.withMemoryRebound(to: CChar.self) { _ = csqlite_bind_text_transient(handle, i, $0.baseAddress, Int32(buf.count)) }
    }
  }
  public func bind(_ s: String?, at i: Int32) {
    if let s { bind(s, at: i) } else { sqlite3_bind_null(handle, i) }
  }
  public func bind(_ x: Int64?, at i: Int32) {
    if let x { sqlite3_bind_int64(handle, i, x) } else { sqlite3_bind_null(handle, i) }
  }

  /// Advances; true when a row is available, false when done.
  @discardableResult
  public func step() throws -> Bool {
    let rc = sqlite3_step(handle)
    if rc == SQLITE_ROW { return true }
    if rc == SQLITE_DONE { return false }
    let err = connection.error(rc, sql)
    sqlite3_reset(handle)
    throw err
  }

  /// Runs a statement that returns no rows, with arguments.
  public func run(_ args: [SQLiteValue] = []) throws {
    reset()
    try bind(args)
    try step()
  }

  public func isNull(_ c: Int32) -> Bool { sqlite3_column_type(handle, c) == SQLITE_NULL }
  public func int64(_ c: Int32) -> Int64 { sqlite3_column_int64(handle, c) }
  public func int(_ c: Int32) -> Int { Int(sqlite3_column_int64(handle, c)) }
  public func optionalInt64(_ c: Int32) -> Int64? { isNull(c) ? nil : int64(c) }
  public func optionalInt(_ c: Int32) -> Int? { isNull(c) ? nil : int(c) }
  public func double(_ c: Int32) -> Double { sqlite3_column_double(handle, c) }
  public func text(_ c: Int32) -> String {
    guard let p = sqlite3_column_text(handle, c) else { return "" }
    let n = Int(sqlite3_column_bytes(handle, c))
    return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
  }
  public func optionalText(_ c: Int32) -> String? { isNull(c) ? nil : text(c) }
}
