/// Streaming SHA-256 (FIPS 180-4) for fingerprinting response bodies as they arrive.
///
/// Written out here rather than taken from OpenSSL or swift-crypto so the core target keeps no
/// crypto dependency for what is an evidence fingerprint, not a security boundary.
/// `update` runs inside libcurl's write callback, so it keeps the partial block inline in the value
/// and never touches the heap.
struct SHA256 {
  private typealias Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

  private static let initialState: Words = (
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
  )

  private static let roundConstants: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
  ]

  private var state: Words = SHA256.initialState
  // One partial block, as a tuple so it lives inside the value instead of in a heap array.
  private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
  private var pendingCount = 0
  private var totalBytes: UInt64 = 0

  init() {}

  mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard var source = bytes.baseAddress, bytes.count > 0 else { return }
    var remaining = bytes.count
    totalBytes &+= UInt64(remaining)
    // Work on copies so the closure below holds no overlapping access to `self`.
    var words = state
    var count = pendingCount
    withUnsafeMutableBytes(of: &pending) { block in
      let blockBase = block.baseAddress!
      if count > 0 {
        let take = min(64 - count, remaining)
        (blockBase + count).copyMemory(from: source, byteCount: take)
        count += take
        source += take
        remaining -= take
        guard count == 64 else { return }
        SHA256.compress(&words, UnsafeRawPointer(blockBase), blocks: 1)
        count = 0
      }
      let wholeBlocks = remaining / 64
      if wholeBlocks > 0 {
        // Straight from the caller's buffer: no copy for the bulk of a 16 KiB chunk.
        SHA256.compress(&words, source, blocks: wholeBlocks)
        source += wholeBlocks * 64
        remaining -= wholeBlocks * 64
      }
      if remaining > 0 {
        blockBase.copyMemory(from: source, byteCount: remaining)
        count = remaining
      }
    }
    state = words
    pendingCount = count
  }

  mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// The digest of everything passed to `update`. Leaves the value reset, ready for a new message.
  mutating func finalize() -> [UInt8] {
    let bitLength = totalBytes &* 8
    // 0x80, zeros up to 56 mod 64, then the length: at most 64 + 8 bytes.
    let padding = pendingCount < 56 ? 56 - pendingCount : 120 - pendingCount
    var tail = [UInt8](repeating: 0, count: padding + 8)
    tail[0] = 0x80
    for i in 0..<8 {
      tail[padding + i] = UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64(i)))
    }
    update(tail)
    precondition(pendingCount == 0, "SHA-256 padding did not end on a block boundary")

    var digest = [UInt8](repeating: 0, count: 32)
    withUnsafeBytes(of: state) { words in
      for i in 0..<8 {
        let word = words.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
        digest[4 * i] = UInt8(truncatingIfNeeded: word >> 24)
        digest[4 * i + 1] = UInt8(truncatingIfNeeded: word >> 16)
        digest[4 * i + 2] = UInt8(truncatingIfNeeded: word >> 8)
        digest[4 * i + 3] = UInt8(truncatingIfNeeded: word)
      }
    }
    self = SHA256()
    return digest
  }

  static func hex(_ digest: [UInt8]) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: digest.count * 2) { out in
      for (i, byte) in digest.enumerated() {
        out[2 * i] = digits[Int(byte >> 4)]
        out[2 * i + 1] = digits[Int(byte & 0x0f)]
      }
      return digest.count * 2
    }
  }

  static func hexDigest(of bytes: [UInt8]) -> String {
    var hasher = SHA256()
    hasher.update(bytes)
    return hex(hasher.finalize())
  }

  @inline(__always)
  private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x >> n) | (x << (32 &- n))
  }

  /// FIPS 180-4 §6.2.2 over `blocks` consecutive 64-byte blocks, which need not be aligned.
  private static func compress(_ words: inout Words, _ data: UnsafeRawPointer, blocks: Int) {
    roundConstants.withUnsafeBufferPointer { k in
      // The message schedule lives on the stack for the whole call, not per block.
      withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
        var (h0, h1, h2, h3, h4, h5, h6, h7) = words
        for blockIndex in 0..<blocks {
          let block = data + blockIndex * 64
          for t in 0..<16 {
            w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
          }
          for t in 16..<64 {
            let x = w[t - 15]
            let y = w[t - 2]
            let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
            let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
          }
          var a = h0
          var b = h1
          var c = h2
          var d = h3
          var e = h4
          var f = h5
          var g = h6
          var h = h7
          for t in 0..<64 {
            let bigS1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let choose = (e & f) ^ (~e & g)
            let t1 = h &+ bigS1 &+ choose &+ k[t] &+ w[t]
            let bigS0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = bigS0 &+ majority
            h = g
            g = f
            f = e
            e = d &+ t1
            d = c
            c = b
            b = a
            a = t1 &+ t2
          }
          h0 &+= a
          h1 &+= b
          h2 &+= c
          h3 &+= d
          h4 &+= e
          h5 &+= f
          h6 &+= g
          h7 &+= h
        }
        words = (h0, h1, h2, h3, h4, h5, h6, h7)
      }
    }
  }
}
