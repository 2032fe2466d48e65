/// Strict UTF-8 validation, shared by the URL normalizer and the body decoder.
enum UTF8Validation {
  /// No overlong forms, surrogates or code points above U+10FFFF (the Unicode standard's table 3-7).
  /// With `acceptingCutEnd`, a sequence that is a valid prefix but runs into the end of the buffer is
  /// accepted: a response body is cut at a byte cap, not by the server.
  static func isValid(_ buffer: UnsafeBufferPointer<UInt8>, acceptingCutEnd: Bool = false) -> Bool {
    var i = 0
    let n = buffer.count
    while i < n {
      let lead = buffer[i]
      if lead < 0x80 {
        i += 1
        continue
      }
      let length: Int
      // The allowed range of the second byte narrows for E0, ED, F0 and F4.
      var secondLow: UInt8 = 0x80
      var secondHigh: UInt8 = 0xBF
      switch lead {
      case 0xC2...0xDF: length = 2
      case 0xE0:
        length = 3
        secondLow = 0xA0
      case 0xE1...0xEC, 0xEE...0xEF: length = 3
      case 0xED:
        length = 3
        secondHigh = 0x9F
      case 0xF0:
        length = 4
        secondLow = 0x90
      case 0xF1...0xF3: length = 4
      case 0xF4:
        length = 4
        secondHigh = 0x8F
      default: return false
      }
      for k in 1..<length {
        guard i + k < n else { return acceptingCutEnd }
        let byte = buffer[i + k]
        let (low, high) = k == 1 ? (secondLow, secondHigh) : (UInt8(0x80), UInt8(0xBF))
        guard byte >= low && byte <= high else { return false }
      }
      i += length
    }
    return true
  }
}
