import Foundation
import TakedownCore
import TestPostgres

/// The databases the end-to-end tests run the real binaries against: tests that must hold on both
/// take `Backend.allCases` as arguments.
enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
  case sqlite
  case postgres
  var description: String { rawValue }

  /// A new, empty queue: a file in `dir`, or a database of its own in the test run's private
  /// PostgreSQL cluster. Returns the `database` setting that names it.
  func newDatabase(in dir: TempDir, name: String = "takedown") throws -> String {
    switch self {
    case .sqlite: return dir.path + "/\(name).sqlite"
    case .postgres:
      let cluster = try PostgresCluster.shared.get()
      return cluster.uri(database: try cluster.createDatabase(prefix: "e2e"))
    }
  }
}

/// Opens the queue a test's daemons wrote, through the same store code the binaries use.
func openStore(_ database: String) throws -> any TakedownStore {
  var o = StoreOpener.Options()
  o.create = false
  return try StoreOpener.open(database, o)
}

/// A direct connection to a test's PostgreSQL queue, for assertions the store's API does not answer
/// (duplicate check rows, who recorded what).
func postgresConnection(_ database: String) throws -> PostgresConnection {
  try PostgresConnection(database)
}
