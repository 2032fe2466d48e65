import CPostgres

#if canImport(Glibc)
  import Glibc
#endif

/// What PostgreSQL (or libpq, before the server could answer) said about a failed call.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
  /// The five-character SQLSTATE; nil when the failure is on the client side (no connection, a broken one).
  public var sqlState: String?
  public var message: String
  /// The statement that failed, for the log; nil for connection failures.
  public var sql: String?
  /// The connection is unusable: it must be reset (or another one opened) before the next call.
  public var connectionLost: Bool

  public init(sqlState: String?, message: String, sql: String?, connectionLost: Bool) {
    self.sqlState = sqlState
    self.message = message
    self.sql = sql
    self.connectionLost = connectionLost
  }

  public var description: String {
    var s = message
    if let sqlState { s += " (SQLSTATE \(sqlState))" }
    if let sql { s += " in: \(sql.split(separator: "\n").map { $0.trimmingLeadingSpaces }.joined(separator: " ").prefix(200))" }
    return s
  }

  /// serialization_failure or deadlock_detected: the whole transaction may simply be run again.
  public var isRetryableTransaction: Bool { sqlState == "40001" || sqlState == "40P01" }
  public var isUniqueViolation: Bool { sqlState == "23505" }
  /// Class 08 (connection exception), 57P01..57P03 (admin shutdown, crash shutdown, cannot connect now):
  /// the server or the path to it failed, not the statement. Worth a retry after a pause.
  public var isServerUnavailable: Bool {
    connectionLost || sqlState?.hasPrefix("08") == true || sqlState == "57P01" || sqlState == "57P02"
      || sqlState == "57P03"
  }
}

extension Substring {
  fileprivate var trimmingLeadingSpaces: Substring { drop { $0 == " " } }
}

/// A parameter of a statement. Parameters go to the server in text format, which every column type
/// accepts and which keeps the values out of the SQL text (no quoting, no injection).
public enum PostgresValue: Sendable, Equatable {
  case null
  case int(Int64)
  case text(String)
  case bool(Bool)

  public static func optional(_ v: Int64?) -> PostgresValue { v.map { .int($0) } ?? .null }
  public static func optional(_ v: String?) -> PostgresValue { v.map { .text($0) } ?? .null }

  var textValue: String? {
    switch self {
    case .null: return nil
    case .int(let v): return String(v)
    case .text(let v): return v
    case .bool(let v): return v ? "t" : "f"
    }
  }
}

/// The rows of a successful statement; values are read in place from libpq's result (no copies).
public final class PostgresResult {
  let res: OpaquePointer?
  public let rowCount: Int
  public let columnCount: Int
  /// Rows inserted, updated or deleted (PQcmdTuples), 0 for other statements.
  public let affectedRows: Int

  init(_ res: OpaquePointer?) {
    self.res = res
    rowCount = res.map { Int(PQntuples($0)) } ?? 0
    columnCount = res.map { Int(PQnfields($0)) } ?? 0
    affectedRows = res.flatMap { Int(String(cString: PQcmdTuples($0))) } ?? 0
  }

  deinit { if let res { PQclear(res) } }

  public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(res, Int32(row), Int32(column)) == 1 }

  public func text(_ row: Int, _ column: Int) -> String? {
    guard !isNull(row, column), let p = PQgetvalue(res, Int32(row), Int32(column)) else { return nil }
    return String(cString: p)
  }

  public func int64(_ row: Int, _ column: Int) -> Int64? {
    guard !isNull(row, column), let p = PQgetvalue(res, Int32(row), Int32(column)) else { return nil }
    // Text format: an optional sign and decimal digits, parsed without making a String.
    var v: Int64 = 0
    var i = 0
    var negative = false
    if p[0] == 0x2D {
      negative = true
      i = 1
    }
    while p[i] != 0 {
      v = v &* 10 &+ Int64(p[i] &- 0x30)
      i += 1
    }
    return negative ? -v : v
  }

  public func bool(_ row: Int, _ column: Int) -> Bool? {
    guard !isNull(row, column), let p = PQgetvalue(res, Int32(row), Int32(column)) else { return nil }
    return p[0] == 0x74  // "t"
  }

  public func columnName(_ column: Int) -> String { String(cString: PQfname(res, Int32(column))) }
}

/// One connection to PostgreSQL through libpq. Not thread-safe: one owner thread at a time, like a
/// SQLite connection here.
public final class PostgresConnection {
  private var conn: OpaquePointer?
  /// The connection string as given (a `postgresql://` URI or `key=value` pairs), for reconnecting.
  public let conninfo: String
  private let password: String?
  private let connectTimeout: Int
  /// Open `transaction` bodies: a connection lost inside one is reported, never silently replaced (the
  /// statements after it would run outside the transaction).
  private var transactionDepth = 0
  /// Counts the sessions this connection has had (1 after the first connect): session state (temporary
  /// tables, settings) belongs to one of them.
  public private(set) var session = 0
  /// Reconnecting after a failure: the next attempt is not before `nextAttemptAt` (monotonic ms), and the
  /// wait doubles from 1 s to 30 s while the server stays away, so a daemon neither spins on an
  /// unreachable server nor blocks its loop in connect() on every turn.
  /// Set by libpq's notice receiver when a FATAL arrives on an idle connection (the server hanging up).
  private let fatalNotice = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  private var retryDelayMs: Int64 = 0
  private var nextAttemptAt: Int64 = 0
  static let firstRetryDelayMs: Int64 = 1000
  static let maxRetryDelayMs: Int64 = 30_000

  /// Connects. `password`, when given (read from `database_password_file`), overrides whatever the
  /// connection string or the environment would supply; otherwise libpq's usual sources apply
  /// (PGPASSWORD, PGPASSFILE, ~/.pgpass). `connectTimeout` bounds the wait for an unreachable server.
  public init(_ conninfo: String, password: String? = nil, connectTimeout: Int = 10) throws(PostgresError) {
    self.conninfo = conninfo
    self.password = password
    self.connectTimeout = connectTimeout
    fatalNotice.initialize(to: 0)
    try connect(connectTimeout: connectTimeout)
  }

  deinit {
    if let conn { PQfinish(conn) }
    fatalNotice.deallocate()
  }

  private func connect(connectTimeout: Int) throws(PostgresError) {
    if let conn { PQfinish(conn) }
    // expand_dbname = 1: the "dbname" value may be a whole connection string or URI, and the keywords
    // after it override what it says.
    var keys = ["dbname", "connect_timeout", "application_name", "client_encoding"]
    var values = [conninfo, String(connectTimeout), "takedown", "UTF8"]
    if let password {
      keys.append("password")
      values.append(password)
    }
    let c = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
    conn = c
    guard let c, PQstatus(c) == CONNECTION_OK else {
      let message = c.map { Self.clientMessage($0) } ?? "out of memory"
      throw PostgresError(sqlState: nil, message: "cannot connect to PostgreSQL: \(message)", sql: nil, connectionLost: true)
    }
    fatalNotice.pointee = 0
    cpg_watch_notices(c, fatalNotice)
    session += 1
  }

  /// Drops a broken connection and opens a new one with the same parameters.
  public func reconnect(connectTimeout: Int = 10) throws(PostgresError) {
    try connect(connectTimeout: connectTimeout)
  }

  /// Before a statement outside a transaction: a connection the server has dropped meanwhile
  /// (`pg_terminate_backend`, a restart: the socket of an idle connection turns readable) or that a
  /// failed call found broken is replaced by a new one, so that a lost connection costs at most the one
  /// call that was under way when it went. While the server stays unreachable, attempts are spaced
  /// (1 s doubling to 30 s) and the calls in between fail at once with `connectionLost`.
  private func ensureUsable() throws(PostgresError) {
    guard transactionDepth == 0 else { return }
    if let c = conn, PQstatus(c) == CONNECTION_OK {
      // Readable while idle: the server said something unasked (the FATAL it sends before hanging up,
      // which libpq passes to the notice receiver) or hung up.
      var p = pollfd(fd: PQsocket(c), events: Int16(POLLIN), revents: 0)
      if poll(&p, 1, 0) > 0 {
        _ = PQconsumeInput(c)
        _ = PQisBusy(c)  // parses what arrived: a FATAL reaches the notice receiver
      }
      if PQstatus(c) == CONNECTION_OK && fatalNotice.pointee == 0 { return }
    }
    let now = Self.monotonicMs()
    if now < nextAttemptAt {
      throw PostgresError(
        sqlState: nil,
        message: "PostgreSQL unreachable; next connection attempt in \((nextAttemptAt - now + 999) / 1000) s",
        sql: nil, connectionLost: true)
    }
    do {
      try connect(connectTimeout: connectTimeout)
      retryDelayMs = 0
      nextAttemptAt = 0
    } catch {
      retryDelayMs = min(max(retryDelayMs * 2, Self.firstRetryDelayMs), Self.maxRetryDelayMs)
      nextAttemptAt = Self.monotonicMs() + retryDelayMs
      throw error
    }
  }

  static func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
  }

  /// The connection is still up as far as libpq knows (a failed call may have found it broken).
  public var isConnected: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

  /// e.g. 150004 for 15.4.
  public var serverVersion: Int { conn.map { Int(PQserverVersion($0)) } ?? 0 }

  /// The server process serving this connection (pg_terminate_backend takes it).
  public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

  /// Inside BEGIN … COMMIT (or in a failed transaction block), as libpq last heard from the server.
  public var inTransaction: Bool { conn.map { PQtransactionStatus($0) != PQTRANS_IDLE } ?? false }

  /// Runs one statement with `$1`-style parameters and returns its rows.
  @discardableResult
  public func execute(_ sql: String, _ params: [PostgresValue] = []) throws(PostgresError) -> PostgresResult {
    try ensureUsable()
    guard let conn else { throw PostgresError(sqlState: nil, message: "not connected", sql: sql, connectionLost: true) }
    let texts = params.map(\.textValue)
    let res: OpaquePointer? = withOptionalCStrings(texts) { values in
      PQexecParams(conn, sql, Int32(texts.count), nil, values, nil, nil, 0)
    }
    try check(res, sql: sql)
    return PostgresResult(res)
  }

  /// Runs several statements separated by semicolons, without parameters (migrations).
  public func executeScript(_ sql: String) throws(PostgresError) {
    try ensureUsable()
    guard let conn else { throw PostgresError(sqlState: nil, message: "not connected", sql: sql, connectionLost: true) }
    let res = PQexec(conn, sql)
    // `check` clears a failed result itself.
    try check(res, sql: sql)
    PQclear(res)
  }

  /// BEGIN … COMMIT around `body`; ROLLBACK when it throws. `isolation` e.g. "REPEATABLE READ".
  @discardableResult
  public func transaction<T>(isolation: String? = nil, _ body: () throws -> T) throws -> T {
    try execute(isolation.map { "BEGIN ISOLATION LEVEL \($0)" } ?? "BEGIN")
    transactionDepth += 1
    defer { transactionDepth -= 1 }
    do {
      let v = try body()
      try execute("COMMIT")
      return v
    } catch {
      // A lost connection rolls back by itself; a failed ROLLBACK must not hide the first error.
      if isConnected { _ = try? execute("ROLLBACK") }
      throw error
    }
  }

  /// `COPY … FROM STDIN` in text format: rows are sent in large chunks, the fastest way in. Returns the
  /// number of rows the server stored.
  public func copyIn<S: Sequence>(_ sql: String, rows: S) throws(PostgresError) -> Int where S.Element == [PostgresValue] {
    try ensureUsable()
    guard let conn else { throw PostgresError(sqlState: nil, message: "not connected", sql: sql, connectionLost: true) }
    let start = PQexec(conn, sql)
    let status = start.map { PQresultStatus($0) }
    if status != PGRES_COPY_IN {
      // `check` clears a failed result itself.
      try check(start, sql: sql)
      PQclear(start)
      throw PostgresError(sqlState: nil, message: "the server did not start the COPY", sql: sql, connectionLost: false)
    }
    PQclear(start)
    var buffer: [UInt8] = []
    buffer.reserveCapacity(1 << 20)
    var sendFailed = false
    func send() {
      guard !buffer.isEmpty, !sendFailed else { return }
      let ok = buffer.withUnsafeBufferPointer { b in
        b.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
      }
      if ok != 1 { sendFailed = true }
      buffer.removeAll(keepingCapacity: true)
    }
    for row in rows {
      for (i, value) in row.enumerated() {
        if i > 0 { buffer.append(0x09) }
        Self.appendCopyText(value, to: &buffer)
      }
      buffer.append(0x0A)
      if buffer.count >= 1 << 20 { send() }
      if sendFailed { break }
    }
    send()
    _ = PQputCopyEnd(conn, sendFailed ? "client failed while sending" : nil)
    var stored = 0
    var firstError: PostgresError?
    // Every result of the COPY must be read before the connection can be used again.
    while let res = PQgetResult(conn) {
      if PQresultStatus(res) == PGRES_COMMAND_OK {
        stored = Int(String(cString: PQcmdTuples(res))) ?? 0
      } else if firstError == nil {
        firstError = error(from: res, sql: sql)
      }
      PQclear(res)
    }
    if let firstError { throw firstError }
    if sendFailed {
      throw PostgresError(sqlState: nil, message: Self.clientMessage(conn), sql: sql, connectionLost: !isConnected)
    }
    return stored
  }

  /// COPY's text format: backslash escapes for the four characters that frame it, \N for NULL.
  static func appendCopyText(_ value: PostgresValue, to buffer: inout [UInt8]) {
    guard let text = value.textValue else {
      buffer.append(contentsOf: [0x5C, 0x4E])  // \N
      return
    }
    for b in text.utf8 {
      switch b {
      case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
      case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
      case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
      case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
      default: buffer.append(b)
      }
    }
  }

  private func check(_ res: OpaquePointer?, sql: String) throws(PostgresError) {
    guard let res else {
      throw PostgresError(
        sqlState: nil, message: conn.map { Self.clientMessage($0) } ?? "out of memory", sql: sql,
        connectionLost: !isConnected)
    }
    switch PQresultStatus(res) {
    case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
    default:
      let e = error(from: res, sql: sql)
      PQclear(res)
      throw e
    }
  }

  private func error(from res: OpaquePointer, sql: String) -> PostgresError {
    let state = cpg_sqlstate(res).map { String(cString: $0) }
    let primary = cpg_primary_message(res).map { String(cString: $0) }
    let message = primary ?? conn.map { Self.clientMessage($0) } ?? "unknown error"
    return PostgresError(sqlState: state, message: message, sql: sql, connectionLost: !isConnected)
  }

  /// libpq's message for the connection, on one line.
  private static func clientMessage(_ conn: OpaquePointer) -> String {
    String(cString: PQerrorMessage(conn)).split(whereSeparator: \.isNewline).joined(separator: "; ")
  }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
  withOptionalCStrings(strings.map { Optional($0) }) { body($0!) }
}

/// A NULL-terminated array of C strings (nil entries stay NULL), valid for the duration of `body`.
private func withOptionalCStrings<R>(
  _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
  pointers.append(nil)
  defer { for p in pointers { free(p) } }
  return pointers.withUnsafeBufferPointer { buf in
    buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { body($0) }
  }
}
