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
