import Foundation
import TestPostgres

@testable import TakedownCore

/// The databases a store can live in. Store tests take `Backend.allCases` as arguments, so one suite
/// asserts the same behaviour of both (the conformance suite of `TakedownStore`).
enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
  case sqlite
  case postgres
  var description: String { rawValue }

  /// A new, empty queue of this backend: a file in `dir`, or a database of its own in the test run's
  /// private PostgreSQL cluster. Returns the `database` setting that names it.
  func newDatabase(in dir: TempDir, name: String = "t") throws -> String {
    switch self {
    case .sqlite: return dir.path + "/\(name).sqlite"
    case .postgres:
      let cluster = try PostgresCluster.shared.get()
      return cluster.uri(database: try cluster.createDatabase())
    }
  }

  /// A new, empty store of this backend, with the `database` setting that opens it again.
  func newStore(in dir: TempDir, checker: Bool = false) throws -> (store: any TakedownStore, database: String) {
    let database = try newDatabase(in: dir)
    var o = StoreOpener.Options()
    o.checker = checker
    return (try StoreOpener.open(database, o), database)
  }
}

/// Reads straight from a store's database, for assertions on columns no protocol method returns. The
/// SQL must read the same in both dialects (no parameters: literals only).
enum RawSQL {
  static func int(_ store: any TakedownStore, _ sql: String) throws -> Int64? {
    switch store {
    case let s as SQLiteStore: return try s.db.scalar(sql)
    case let p as PostgresStore:
      let r = try p.connection.execute(sql)
      return r.rowCount == 0 ? nil : r.int64(0, 0)
    default: fatalError("unknown store \(type(of: store))")
    }
  }

  static func text(_ store: any TakedownStore, _ sql: String) throws -> String? {
    switch store {
    case let s as SQLiteStore: return try s.db.statement(sql).firstText([])
    case let p as PostgresStore:
      let r = try p.connection.execute(sql)
      return r.rowCount == 0 ? nil : r.text(0, 0)
    default: fatalError("unknown store \(type(of: store))")
    }
  }

  /// Every row's first column, as integers.
  static func ints(_ store: any TakedownStore, _ sql: String) throws -> [Int64] {
    switch store {
    case let s as SQLiteStore:
      let st = try s.db.statement(sql)
      defer { st.reset() }
      var out: [Int64] = []
      while try st.step() { out.append(st.int64(0)) }
      return out
    case let p as PostgresStore:
      let r = try p.connection.execute(sql)
      return (0..<r.rowCount).compactMap { r.int64($0, 0) }
    default: fatalError("unknown store \(type(of: store))")
    }
  }
}
