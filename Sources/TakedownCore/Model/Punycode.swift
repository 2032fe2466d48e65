/// RFC 3492 Punycode: Bootstring with the parameters IDNA uses.
///
/// Only the raw transform lives here (no "xn--" prefix, no case mapping or IDNA checks);
/// `URLNormalizer` decides which labels need it.
public enum Punycode {
  private static let base = 36
  private static let tMin = 1
  private static let tMax = 26
  private static let skew = 38
  private static let damp = 700
  private static let initialBias = 72
  private static let initialN = 0x80
  private static let delimiter = UInt8(ascii: "-")
  // RFC 3492 only requires overflow detection for maxint >= 2^26-1; capping at Int32.max keeps
  // us from producing or accepting strings that 32-bit implementations (and resolvers) would
  // reject, even though Int is 64 bits here.
  private static let maxInt = Int(Int32.max)

  /// Encodes the Unicode scalars of `input`; nil only if the RFC's overflow limit is hit.
  /// Basic (ASCII) code points are copied with their case intact, as the RFC prescribes.
  public static func encode(_ input: String) -> String? {
    encode(scalars: input.unicodeScalars)
  }

  public static func encode<S: Sequence<Unicode.Scalar>>(scalars: S) -> String? {
    let input = scalars.map { Int($0.value) }
    var output: [UInt8] = []
    output.reserveCapacity(input.count + 8)
    for c in input where c < 0x80 {
      output.append(UInt8(c))
    }
    let basicCount = output.count
    var handled = basicCount
    if basicCount > 0 {
      output.append(delimiter)
    }

    var n = initialN
    var delta = 0
    var bias = initialBias
    while handled < input.count {
      // The smallest code point not yet handled; exists because handled < input.count.
      var m = Int.max
      for c in input where c >= n && c < m {
        m = c
      }
      guard (m - n) <= (maxInt - delta) / (handled + 1) else { return nil }
      delta += (m - n) * (handled + 1)
      n = m
      for c in input {
        if c < n {
          delta += 1
          guard delta <= maxInt else { return nil }
        } else if c == n {
          var q = delta
          var k = base
          while true {
            let t = threshold(k, bias)
            if q < t { break }
            output.append(digit(t + (q - t) % (base - t)))
            q = (q - t) / (base - t)
            k += base
          }
          output.append(digit(q))
          bias = adapt(delta, numPoints: handled + 1, firstTime: handled == basicCount)
          delta = 0
          handled += 1
        }
      }
      delta += 1
      n += 1
    }
    return String(decoding: output, as: UTF8.self)
  }

  /// Decodes a Punycode string (without "xn--"); nil for malformed input, overflow, or a
  /// result that is not a valid Unicode scalar. Digits are case-insensitive.
  public static func decode(_ input: String) -> String? {
    let bytes = Array(input.utf8)
    guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
    var output: [Int] = []
    var pos = 0
    if let last = bytes.lastIndex(of: delimiter) {
      output = bytes[..<last].map { Int($0) }
      pos = last + 1
    }

    var n = initialN
    var i = 0
    var bias = initialBias
    while pos < bytes.count {
      let oldI = i
      var w = 1
      var k = base
      while true {
        guard pos < bytes.count, let d = digitValue(bytes[pos]) else { return nil }
        pos += 1
        guard d <= (maxInt - i) / w else { return nil }
        i += d * w
        let t = threshold(k, bias)
        if d < t { break }
        guard w <= maxInt / (base - t) else { return nil }
        w *= base - t
        k += base
      }
      let length = output.count + 1
      bias = adapt(i - oldI, numPoints: length, firstTime: oldI == 0)
      guard i / length <= maxInt - n else { return nil }
      n += i / length
      i %= length
      // Basic code points may only appear literally, never encoded.
      guard n >= initialN, Unicode.Scalar(UInt32(truncatingIfNeeded: n)) != nil else { return nil }
      output.insert(n, at: i)
      i += 1
    }
    var result = String.UnicodeScalarView()
    for c in output {
      guard let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: c)) else { return nil }
      result.append(scalar)
    }
    return String(result)
  }

  private static func threshold(_ k: Int, _ bias: Int) -> Int {
    if k <= bias { return tMin }
    if k >= bias + tMax { return tMax }
    return k - bias
  }

  private static func adapt(_ delta: Int, numPoints: Int, firstTime: Bool) -> Int {
    var delta = firstTime ? delta / damp : delta / 2
    delta += delta / numPoints
    var k = 0
    while delta > ((base - tMin) * tMax) / 2 {
      delta /= base - tMin
      k += base
    }
    return k + (base - tMin + 1) * delta / (delta + skew)
  }

  private static func digit(_ d: Int) -> UInt8 {
    // 0...25 -> "a"..."z", 26...35 -> "0"..."9"; lowercase so hostnames need no further folding.
    d < 26 ? UInt8(truncatingIfNeeded: 0x61 + d) : UInt8(truncatingIfNeeded: 0x30 + d - 26)
  }

  private static func digitValue(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte) - 0x30 + 26
    case UInt8(ascii: "a")...UInt8(ascii: "z"): return Int(byte) - 0x61
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(byte) - 0x41
    default: return nil
    }
  }
}
