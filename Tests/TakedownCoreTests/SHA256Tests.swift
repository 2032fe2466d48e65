import Foundation
import Testing

@testable import TakedownCore

@Suite struct SHA256Tests {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the million-'a' vector from FIPS 180-2.
  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
  ])
  func nistVectors(message: String, expected: String) {
    #expect(SHA256.hexDigest(of: Array(message.utf8)) == expected)
  }

  @Test func oneMillionA() {
    let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    #expect(SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == expected)
    // The same message fed one byte at a time exercises the partial-block path on every call.
    var hasher = SHA256()
    for _ in 0..<1_000_000 { hasher.update([UInt8(ascii: "a")]) }
    #expect(SHA256.hex(hasher.finalize()) == expected)
  }

  /// Message lengths around the padding edges: 55 bytes still fits the length in one block, 56 does
  /// not; 63/64/65 straddle a whole block.
  @Test(arguments: [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000])
  func lengthsAgreeWithSha256sum(length: Int) throws {
    var rng = HostileRandom(seed: 0x5EED_0000 + UInt64(length))
    let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
    #expect(SHA256.hexDigest(of: data) == (try sha256sum(data)))
  }

  @Test func randomBuffersAgreeWithSha256sum() throws {
    var rng = HostileRandom(seed: 42)
    for _ in 0..<4 {
      let length = Int.random(in: 1...300_000, using: &rng)
      let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
      #expect(SHA256.hexDigest(of: data) == (try sha256sum(data)))
    }
  }

  @Test func chunkedUpdatesMatchOneUpdate() {
    var rng = HostileRandom(seed: 0xC0FFEE)
    let data = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let whole = SHA256.hexDigest(of: data)
    for round in 0..<200 {
      var hasher = SHA256()
      var offset = 0
      while offset < data.count {
        // Mostly small and edge-sized chunks, sometimes libcurl-sized ones.
        let size: Int
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: size = [1, 55, 56, 63, 64, 65].randomElement(using: &rng)!
        case 1: size = Int.random(in: 0...16_384, using: &rng)
        default: size = Int.random(in: 0...130, using: &rng)
        }
        let end = min(data.count, offset + size)
        data[offset..<end].withUnsafeBytes { hasher.update($0) }
        offset = end
      }
      let digest = SHA256.hex(hasher.finalize())
      #expect(digest == whole, "round \(round)")
      if digest != whole { break }
    }
  }

  @Test func splitsAtBlockEdges() {
    let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let whole = SHA256.hexDigest(of: data)
    for split in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 299, 300] {
      var hasher = SHA256()
      hasher.update(Array(data[..<split]))
      hasher.update(Array(data[split...]))
      #expect(SHA256.hex(hasher.finalize()) == whole, "split at \(split)")
    }
  }

  @Test func finalizeResets() {
    var hasher = SHA256()
    hasher.update(Array("abc".utf8))
    _ = hasher.finalize()
    hasher.update(Array("abc".utf8))
    #expect(SHA256.hex(hasher.finalize()) == SHA256.hexDigest(of: Array("abc".utf8)))
  }

  @Test func emptyBufferIsANoOp() {
    var hasher = SHA256()
    hasher.update(UnsafeRawBufferPointer(start: nil, count: 0))
    hasher.update([])
    #expect(SHA256.hex(hasher.finalize()) == SHA256.hexDigest(of: []))
  }

  @Test func hexIsLowercaseTwoDigitsPerByte() {
    #expect(SHA256.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    #expect(SHA256.hex([]) == "")
  }

  private func sha256sum(_ data: [UInt8]) throws -> String {
    let dir = TempDir()
    let path = dir.path + "/data.bin"
    try Data(data).write(to: URL(fileURLWithPath: path))
    let output = String(decoding: try runTool("/usr/bin/sha256sum", [path]), as: UTF8.self)
    return String(output.prefix(64))
  }
}
