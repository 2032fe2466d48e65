import Glibc

/// Turns the first bytes of a response body into text, so removal markers written in the page's
/// language can be found whatever encoding the site uses.
enum BodyText {
  /// How far into the body a `<meta>` charset declaration is looked for.
  static let metaScanLimit = 2048

  /// The body as text: charset from Content-Type ("text/html; charset=GBK"), else from a
  /// `<meta charset="...">` or `<meta http-equiv="Content-Type" content="...; charset=...">` in the
  /// first 2 KiB, else UTF-8 when the bytes are valid UTF-8 (a multi-byte sequence cut off at the
  /// very end, because the body is read only up to a cap, still counts as valid), else GB18030, else
  /// windows-1252. A byte order mark overrides all of these, as it does in browsers. Never fails:
  /// undecodable bytes become U+FFFD.
  static func decode(_ body: [UInt8], contentType: String?) -> String {
    if let (encoding, bomLength) = byteOrderMark(body) {
      return decode(body[bomLength...], declared: encoding) ?? sniff(body[bomLength...])
    }
    if let declared = charset(contentType: contentType, body: body),
      let text = decode(body[...], declared: declared)
    {
      return text
    }
    return sniff(body[...])
  }

  /// The declared charset, lowercased, or nil: Content-Type's `charset` parameter first (the header
  /// wins over the document, as in browsers), then a `<meta>` in the first 2 KiB.
  static func charset(contentType: String?, body: [UInt8]) -> String? {
    if let contentType, let name = charsetParameter(Array(contentType.utf8)[...]) {
      return name
    }
    return metaCharset(body.prefix(metaScanLimit))
  }

  // MARK: - Choosing a decoder

  /// nil when the charset is one iconv does not know, so the caller falls back to sniffing.
  private static func decode(_ body: ArraySlice<UInt8>, declared: String) -> String? {
    let name = canonicalName(declared)
    if name == "UTF-8" {
      return String(decoding: body, as: UTF8.self)
    }
    return Iconv.decode(body, from: name)?.text
  }

  private static func sniff(_ body: ArraySlice<UInt8>) -> String {
    if isUTF8(body) {
      return String(decoding: body, as: UTF8.self)
    }
    // Chinese sites are the main source of undeclared non-UTF-8 pages, and GB18030 rejects most
    // Latin-1 text (a lead byte must be followed by a valid trail byte), so try it before 1252.
    if let result = Iconv.decode(body, from: "GB18030"), result.invalidSequences == 0 {
      return result.text
    }
    if let result = Iconv.decode(body, from: "WINDOWS-1252") {
      return result.text
    }
    // Unreachable with glibc's gconv modules installed; keep the promise to never fail anyway.
    return String(decoding: body, as: UTF8.self)
  }

  /// Labels mapped the way the WHATWG Encoding Standard (what browsers follow) maps them, where
  /// glibc's own meaning for the label is narrower: a page labelled GBK routinely contains GB18030
  /// characters, "Shift_JIS" pages are really windows-31j, "iso-8859-1" pages really windows-1252.
  private static func canonicalName(_ label: String) -> String {
    switch label {
    case "utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8":
      return "UTF-8"
    case "gb2312", "gbk", "x-gbk", "gb_2312", "gb_2312-80", "csgb2312", "chinese", "iso-ir-58", "gb18030":
      return "GB18030"
    case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "ms932":
      return "CP932"
    case "euc-kr", "cseuckr", "ks_c_5601-1987", "windows-949":
      return "CP949"
    case "iso-8859-1", "iso8859-1", "latin1", "l1", "us-ascii", "ascii", "cp1252", "windows-1252", "x-cp1252":
      return "WINDOWS-1252"
    default:
      return label
    }
  }

  private static func byteOrderMark(_ body: [UInt8]) -> (String, Int)? {
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { return ("utf-8", 3) }
    if body.starts(with: [0xFF, 0xFE]) { return ("UTF-16LE", 2) }
    if body.starts(with: [0xFE, 0xFF]) { return ("UTF-16BE", 2) }
    return nil
  }

  // MARK: - UTF-8 validation

  /// Strict UTF-8 (no overlongs, surrogates or values above U+10FFFF), except that a sequence
  /// which is a valid prefix but runs into the end of the buffer is accepted: the body was cut at
  /// a byte cap, not by the server.
  static func isUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
    bytes.withUnsafeBufferPointer { UTF8Validation.isValid($0, acceptingCutEnd: true) }
  }

  // MARK: - Declarations

  /// The `charset` parameter of a media type, e.g. `text/html; Charset="GBK"` gives "gbk".
  private static func charsetParameter(_ bytes: ArraySlice<UInt8>) -> String? {
    let lowered = bytes.map(asciiLowercased)
    for parameter in lowered.split(separator: UInt8(ascii: ";")).dropFirst() {
      let parts = parameter.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, trimmed(parts[0]).elementsEqual("charset".utf8) else { continue }
      return charsetValue(trimmed(parts[1]))
    }
    return nil
  }

  /// A `charset` found inside a `<meta ...>` tag, either as the attribute or inside `content`.
  /// A simplification of the HTML prescan: it does not skip comments or check http-equiv, which
  /// costs nothing in practice and keeps this short.
  private static func metaCharset(_ bytes: ArraySlice<UInt8>) -> String? {
    let lowered = bytes.map(asciiLowercased)[...]
    var searchFrom = lowered.startIndex
    while let tagStart = firstRange(of: Array("<meta".utf8), in: lowered[searchFrom...])?.lowerBound {
      let tagEnd = lowered[tagStart...].firstIndex(of: UInt8(ascii: ">")) ?? lowered.endIndex
      var tag = lowered[(tagStart + 5)..<tagEnd]
      while let found = firstRange(of: Array("charset".utf8), in: tag) {
        var rest = tag[found.upperBound...]
        rest = rest.drop(while: isSpace)
        if rest.first == UInt8(ascii: "=") {
          if let name = charsetValue(rest.dropFirst().drop(while: isSpace)) {
            return name
          }
        }
        tag = tag[found.upperBound...]
      }
      searchFrom = tagEnd
    }
    return nil
  }

  /// The label at the start of `bytes`, optionally quoted, up to the first character that cannot
  /// be part of one.
  private static func charsetValue(_ bytes: ArraySlice<UInt8>) -> String? {
    var rest = bytes
    if let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
      rest = rest.dropFirst()
    }
    let label = rest.prefix { byte in
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
      case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"): return true
      default: return false
      }
    }
    return label.isEmpty ? nil : String(decoding: label, as: UTF8.self)
  }

  private static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
    guard haystack.count >= needle.count else { return nil }
    var i = haystack.startIndex
    while i + needle.count <= haystack.endIndex {
      if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) {
        return i..<(i + needle.count)
      }
      i += 1
    }
    return nil
  }

  private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var result = bytes.drop(while: isSpace)
    while let last = result.last, isSpace(last) { result.removeLast() }
    return result
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
  }

  private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
  }
}

/// glibc's iconv, wrapped so nothing else touches the C API. One descriptor per call: iconv_t
/// carries shift state and must not be shared between threads, and opening one is cheap once
/// glibc has loaded the gconv module.
enum Iconv {
  struct Result {
    var text: String
    /// Byte sequences that are not valid in the source charset (each became one U+FFFD). A
    /// sequence cut off by the end of the input is not counted: bodies are read up to a cap.
    var invalidSequences: Int
  }

  /// `bytes` converted from `charset` to a String; nil when iconv does not know the charset.
  /// `initialOutputCapacity` exists so tests can force the buffer-growing path.
  static func decode(_ bytes: ArraySlice<UInt8>, from charset: String, initialOutputCapacity: Int? = nil) -> Result? {
    let descriptor = iconv_open("UTF-8", charset)
    guard let descriptor, Int(bitPattern: descriptor) != -1 else { return nil }
    defer { iconv_close(descriptor) }

    let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
    // Most conversions to UTF-8 need at most 3 bytes per input byte (CJK: 2 → 3, 4 → 4);
    // E2BIG below grows the buffer for whatever does not fit.
    var output = [UInt8](repeating: 0, count: max(1, initialOutputCapacity ?? bytes.count * 3 + 16))
    var written = 0
    var invalid = 0

    bytes.withUnsafeBufferPointer { input in
      guard let base = input.baseAddress else { return }
      // iconv's prototype takes char** for the input, but it never writes through it.
      var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: base)
        .assumingMemoryBound(to: CChar.self)
      var inLeft = input.count
      var flushed = false
      while true {
        let status = output.withUnsafeMutableBytes { out -> (Int, Int32) in
          var outPointer: UnsafeMutablePointer<CChar>? = (out.baseAddress! + written)
            .assumingMemoryBound(to: CChar.self)
          var outLeft = out.count - written
          // After the input is used up, one call with a nil input flushes stateful encodings
          // (ISO-2022-JP back to ASCII).
          let result =
            inLeft > 0
            ? iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
            : iconv(descriptor, nil, nil, &outPointer, &outLeft)
          let code = result == -1 ? errno : 0
          written = out.count - outLeft
          return (result, code)
        }
        if status.0 != -1 {
          if inLeft == 0 {
            if flushed { break }
            flushed = true
          }
          continue
        }
        switch status.1 {
        case E2BIG:
          output.append(contentsOf: repeatElement(0, count: output.count))
        case EILSEQ:
          appendReplacement(replacement, to: &output, at: &written)
          inPointer = inPointer.map { $0 + 1 }
          inLeft -= 1
          invalid += 1
        default:
          // EINVAL: an incomplete sequence at the end of the input, i.e. the cap cut a character.
          appendReplacement(replacement, to: &output, at: &written)
          inLeft = 0
        }
      }
    }
    return Result(text: String(decoding: output[..<written], as: UTF8.self), invalidSequences: invalid)
  }

  private static func appendReplacement(_ replacement: [UInt8], to output: inout [UInt8], at written: inout Int) {
    while output.count - written < replacement.count {
      output.append(contentsOf: repeatElement(0, count: output.count))
    }
    output.replaceSubrange(written..<(written + replacement.count), with: replacement)
    written += replacement.count
  }
}
