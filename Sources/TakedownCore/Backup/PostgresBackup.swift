import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A PostgreSQL queue backed up with `pg_dump -Fc`, what an operator of PostgreSQL expects, made
/// consistent with our own verification: a REPEATABLE READ transaction counts every table and exports
/// its snapshot, pg_dump dumps exactly that snapshot (`--snapshot`), and the dump is read back with
/// pg_restore (its table of contents, then every table's rows) and compared with the counts.
struct PostgresBackup {
  let conninfo: String
  let options: DatabaseBackup.Options

  init(conninfo: String, options: DatabaseBackup.Options) {
    self.conninfo = conninfo
    self.options = options
  }

  var redacted: String { PostgresConnection.redacted(conninfo) }

  func run(into target: BackupTarget) throws(BackupError) -> BackupReport {
    let (pgDump, pgRestore) = try tools()
    let c: PostgresConnection
    do {
      c = try PostgresConnection(conninfo, password: options.password)
    } catch {
      throw BackupError(
        error.sysExit == .software ? .unavailable : error.sysExit, "cannot connect to \(redacted): \(error)")
    }
    // What goes on pg_dump's command line (`ps` shows it to every user) holds no password: one written
    // in the URI goes to the PGPASSFILE too, as `database_password_file`'s does.
    let (dbname, uriPassword) = PostgresConnection.withoutPassword(conninfo) ?? (conninfo, nil)
    let passFile = try passwordFile(options.password ?? uriPassword)
    defer { if let passFile { unlink(passFile) } }
    do {
      let serverMajor = c.serverVersion / 10000
      let dumpMajor = try Self.majorVersion(of: pgDump)
      if dumpMajor < serverMajor {
        throw BackupError(
          .unavailable, "\(pgDump) is version \(dumpMajor), the server \(serverMajor): pg_dump must be at "
            + "least the server's major version (install postgresql-client-\(serverMajor), or pass --pg-dump)")
      }
      guard try c.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'") == 1
      else { throw BackupError(.config, "not a takedown database: \(redacted) has no schema_migrations table") }
      _ = try c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      defer { _ = try? c.execute("ROLLBACK") }
      guard let snapshot = try c.execute("SELECT pg_export_snapshot()").text(0, 0) else {
        throw BackupError(.software, "pg_export_snapshot() returned nothing")
      }
      let names = try c.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
      var counts: [(name: String, rows: Int64)] = []
      for i in 0..<names.rowCount {
        let t = names.text(i, 0) ?? ""
        counts.append((t, try c.scalar("SELECT count(*) FROM \(SQLiteBackup.quoted(t))") ?? 0))
      }
      let schema = try c.execute("SELECT max(name) FROM schema_migrations").text(0, 0) ?? "none"

      var env: [String: String] = [:]
      if let passFile { env["PGPASSFILE"] = passFile }
      let dump = try Self.run(
        pgDump, ["--format=custom", "--no-password", "--snapshot=\(snapshot)", "--file=\(target.temporary)", "--dbname=\(dbname)"],
        env: env)
      if dump.status != 0 {
        throw BackupError(
          dump.stderr.contains("No space left") ? .ioError : .unavailable,
          "pg_dump of \(redacted) failed (exit \(dump.status)): \(dump.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
      }
      _ = try c.execute("COMMIT")
      try verify(target.temporary, pgRestore: pgRestore, expected: counts)
      return BackupReport(
        path: target.file, bytes: 0, tables: counts, schema: schema, durationMs: 0,
        format: "pg_dump custom format (restore: createdb, then pg_restore --dbname=… FILE)")
    } catch let e as BackupError {
      throw e
    } catch let e as PostgresError {
      throw BackupError(e.sysExit == .software ? .unavailable : e.sysExit, "backup of \(redacted) failed: \(e)")
    } catch {
      throw BackupError(.software, "backup of \(redacted) failed: \(error)")
    }
  }

  /// pg_restore must read the dump back: its table of contents lists every table's data, and the rows
  /// of each (COPY text: one line per row, `\.` after the last) match the snapshot's counts.
  private func verify(_ dump: String, pgRestore: String, expected: [(name: String, rows: Int64)]) throws {
    let list = try Self.run(pgRestore, ["--list", dump], env: [:])
    if list.status != 0 {
      throw BackupError(.dataError, "pg_restore --list cannot read the dump: \(list.stderr)")
    }
    // "3375; 0 16390 TABLE DATA public urls postgres"
    let dataEntries = list.stdout.split(separator: "\n").filter { $0.contains(" TABLE DATA ") }
    for (name, _) in expected where !dataEntries.contains(where: { $0.contains(" \(name) ") }) {
      throw BackupError(.software, "the dump's table of contents has no data for table \(name)")
    }
    var rows: [String: Int64] = [:]
    var current: String?
    let data = try Self.run(pgRestore, ["--data-only", "--file=-", dump], env: [:]) { line in
      if let table = current {
        if line == "\\." { current = nil } else { rows[table, default: 0] += 1 }
      } else if line.hasPrefix("COPY "), line.hasSuffix(" FROM stdin;") {
        // COPY public.urls (id, …) FROM stdin;
        let qualified = line.dropFirst(5).prefix { $0 != " " }
        let table = qualified.split(separator: ".").last.map(String.init) ?? String(qualified)
        current = table.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        rows[current!, default: 0] += 0
      }
    }
    if data.status != 0 { throw BackupError(.dataError, "pg_restore cannot read the dump's rows: \(data.stderr)") }
    for (name, count) in expected where (rows[name] ?? 0) != count {
      throw BackupError(.software, "the dump's table \(name) has \(rows[name] ?? 0) rows, the snapshot \(count)")
    }
  }

  /// pg_dump (from --pg-dump, else PATH) and the pg_restore beside it (else on PATH): 69 when missing.
  private func tools() throws(BackupError) -> (String, String) {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    func onPath(_ name: String) -> String? {
      for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
      return nil
    }
    guard let dump = options.pgDump ?? onPath("pg_dump"), access(dump, X_OK) == 0 else {
      throw BackupError(
        .unavailable, "pg_dump not found\(options.pgDump.map { " at \($0)" } ?? " on PATH"): a PostgreSQL backup "
          + "needs PostgreSQL's client tools (apt-get install postgresql-client)")
    }
    let beside = (dump as NSString).deletingLastPathComponent + "/pg_restore"
    guard let restore = access(beside, X_OK) == 0 ? beside : onPath("pg_restore") else {
      throw BackupError(.unavailable, "pg_restore not found beside \(dump) nor on PATH: it verifies the dump")
    }
    return (dump, restore)
  }

  /// The password of `database_password_file` in a PGPASSFILE of our own (mode 0600, removed after),
  /// so it reaches pg_dump the way it reaches the store, and never through its command line.
  private func passwordFile(_ password: String?) throws(BackupError) -> String? {
    guard let password else { return nil }
    var template = Array((NSTemporaryDirectory() + "takedown-pgpass-XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw BackupError(.cantCreate, "cannot create a temporary PGPASSFILE: \(String(cString: strerror(errno)))") }
    let escaped = password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
    let line = Array("*:*:*:*:\(escaped)\n".utf8)
    let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    let name = String(cString: template)
    if written != line.count {
      unlink(name)
      throw BackupError(.ioError, "cannot write a temporary PGPASSFILE")
    }
    return name
  }

  static func majorVersion(of pgDump: String) throws -> Int {
    let v = try run(pgDump, ["--version"], env: [:])
    // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    guard v.status == 0, let r = v.stdout.range(of: "(PostgreSQL) "),
      let major = Int(v.stdout[r.upperBound...].prefix { $0.isNumber })
    else {
      throw BackupError(.unavailable, "\(pgDump) --version did not say its version: \(v.stdout)\(v.stderr)")
    }
    return major
  }

  struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs a tool to its end. With `eachLine`, its standard output is streamed line by line (a dump's
  /// rows can be far more than memory) and not kept.
  static func run(_ path: String, _ args: [String], env: [String: String], eachLine: ((Substring) -> Void)? = nil)
    throws -> Finished
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    p.standardInput = FileHandle.nullDevice
    let errPath = NSTemporaryDirectory() + "takedown-backup-err-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { unlink(errPath) }
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    var kept = Data()
    var pending = Data()
    let reader = out.fileHandleForReading
    while true {
      let chunk = reader.availableData
      if chunk.isEmpty { break }
      if let eachLine {
        pending.append(chunk)
        var start = pending.startIndex
        while let nl = pending[start...].firstIndex(of: 0x0A) {
          eachLine(Substring(String(decoding: pending[start..<nl], as: UTF8.self)))
          start = nl + 1
        }
        pending = Data(pending[start...])
      } else {
        kept.append(chunk)
      }
    }
    if let eachLine, !pending.isEmpty { eachLine(Substring(String(decoding: pending, as: UTF8.self))) }
    p.waitUntilExit()
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return Finished(status: p.terminationStatus, stdout: String(decoding: kept, as: UTF8.self), stderr: stderr)
  }
}
