// swift-tools-version:6.2
import PackageDescription

let package = Package(
  name: "takedown",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "takedownd", targets: ["takedownd"]),
    .executable(name: "takedownctl", targets: ["takedownctl"]),
    .library(name: "TakedownCore", targets: ["TakedownCore"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
  ],
  targets: [
    // Typed wrappers around libcurl's variadic C API (setopt/getinfo per argument type).
    .systemLibrary(
      name: "CCurl",
      providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    // sqlite3 plus the few macros Swift cannot import (SQLITE_TRANSIENT).
    .systemLibrary(
      name: "CSQLite",
      providers: [.apt(["libsqlite3-dev"])]
    ),
    // libpq, for the PostgreSQL backend.
    .systemLibrary(
      name: "CPostgres",
      providers: [.apt(["libpq-dev"])]
    ),
    .target(
      name: "TakedownCore",
      dependencies: [
        "CCurl",
        "CSQLite",
        "CPostgres",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "TOMLKit", package: "TOMLKit"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]
    ),
    .executableTarget(
      name: "takedownd",
      dependencies: [
        "TakedownCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ]
    ),
    .executableTarget(
      name: "takedownctl",
      dependencies: [
        "TakedownCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // The loopback site behind `make run` and `make bench`.
    .executableTarget(
      name: "takedown-testsite",
      dependencies: ["TestHTTPServer"]
    ),
    // Benchmark scenario 9 only: a simulated year of history through the real store code.
    .executableTarget(
      name: "takedown-historybench",
      dependencies: ["TakedownCore"]
    ),
    // A small real HTTP/1.1 server on 127.0.0.1 for tests and benchmarks (POSIX sockets, no mocks).
    .target(
      name: "TestHTTPServer",
      path: "Tests/TestHTTPServer"
    ),
    // A private PostgreSQL cluster per test run (initdb in a temp directory, a Unix socket, no TCP).
    .target(
      name: "TestPostgres",
      path: "Tests/TestPostgres"
    ),
    .testTarget(
      name: "TakedownPostgresTests",
      dependencies: ["TakedownCore", "TestPostgres"]
    ),
    .testTarget(
      name: "TakedownCoreTests",
      dependencies: ["TakedownCore", "TestHTTPServer", "TestPostgres"]
    ),
    .testTarget(
      name: "TakedownEndToEndTests",
      dependencies: ["TakedownCore", "TestHTTPServer", "TestPostgres", "takedownd", "takedownctl"]
    ),
  ]
)
