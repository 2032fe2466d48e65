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

/// Recognizes text files in an encoding we do not read, so that a whole file gets one message that says
/// what to do, instead of an error on every line.
public enum InputEncoding {
  /// A sentence saying the input looks like UTF-16 and how to convert it, or nil. `start` is the first
  /// bytes of the input (its first line is enough): a UTF-16 byte order mark, or a NUL in one of the
  /// first two bytes, which UTF-16 text of ASCII characters (a URL, a CSV header) always has and
  /// UTF-8 text never does.
  public static func utf16Hint(_ start: UnsafeBufferPointer<UInt8>) -> String? {
    guard start.count >= 2 else { return nil }
    let bom = (start[0] == 0xFF && start[1] == 0xFE) || (start[0] == 0xFE && start[1] == 0xFF)
    guard bom || start[0] == 0 || start[1] == 0 else { return nil }
    return "this looks like UTF-16 text, not UTF-8 (\(bom ? "a UTF-16 byte order mark" : "NUL bytes between the characters")); "
      + "nothing was read from it. Convert it first, e.g. with: iconv -f UTF-16 -t UTF-8"
  }
}
