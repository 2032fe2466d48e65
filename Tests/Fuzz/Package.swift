// swift-tools-version:6.2
// libFuzzer targets for the three parsers that read untrusted input: the URL normalizer (every enqueued
// line), the CSV reader (every imported file) and the config parser. Not part of the main package: it
// depends on it by path and is built only by `make fuzz` with `--sanitize=fuzzer --sanitize=address`.
import PackageDescription

let package = Package(
  name: "takedown-fuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "takedown", path: "../..")],
  targets: [
    .executableTarget(name: "FuzzURLNormalizer", dependencies: [.product(name: "TakedownCore", package: "takedown")]),
    .executableTarget(name: "FuzzCSV", dependencies: [.product(name: "TakedownCore", package: "takedown")]),
    .executableTarget(name: "FuzzConfig", dependencies: [.product(name: "TakedownCore", package: "takedown")]),
  ]
)
