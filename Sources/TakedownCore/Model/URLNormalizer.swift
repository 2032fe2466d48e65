/// Why a reported URL was refused; descriptions are shown to users next to the line number.
public enum URLRejection: Error, Equatable, Sendable, CustomStringConvertible {
  /// Blank line or only whitespace.
  case empty
  /// Longer than `URLNormalizer.maxLength` bytes after trimming; carries the byte count.
  case tooLong(Int)
  /// Within `URLNormalizer.maxLength` as reported, but longer once normalized (each non-ASCII byte
  /// percent-encoded as three, an IDN host as Punycode); carries the normalized byte count.
  case tooLongNormalized(Int)
  case containsNUL
  /// Only from `URLNormalizer.normalize(bytes:)`; a `String` is valid UTF-8 by construction.
  case invalidUTF8
  /// No "scheme://" prefix.
  case notAURL
  /// A scheme other than http/https (lowercased).
  case unsupportedScheme(String)
  case missingHost
  /// The host as reported.
  case invalidHost(String)
  /// The host as reported, and what is wrong with one of its labels (a leading or trailing '-',
  /// Punycode that does not decode, a numeric last label that makes it an IPv4 address in disguise).
  case invalidHostName(String, String)
  /// The port as reported.
  case invalidPort(String)
  /// Unescaped space or ASCII control character inside the URL.
  case containsWhitespace
  /// Userinfo ("user:pass@") in the authority: reports must not carry credentials.
  case credentials

  public var description: String {
    switch self {
    case .empty:
      return "the line is empty"
    case .tooLong(let length):
      return "the URL is \(length) bytes long; at most \(URLNormalizer.maxLength) are allowed"
    case .tooLongNormalized(let length):
      return "the URL is \(length) bytes long with its non-ASCII characters percent-encoded; "
        + "at most \(URLNormalizer.maxLength) are allowed"
    case .containsNUL:
      return "the URL contains a NUL byte"
    case .invalidUTF8:
      return "the line is not valid UTF-8"
    case .notAURL:
      return "not a URL (expected it to start with http:// or https://)"
    case .unsupportedScheme(let scheme):
      return "'\(Self.quoted(scheme))' is not an http(s) URL scheme"
    case .missingHost:
      return "the URL has no host"
    case .invalidHost(let host):
      return "the host '\(Self.quoted(host))' is not valid"
    case .invalidHostName(let host, let why):
      return "the host '\(Self.quoted(host))' is not valid: \(why)"
    case .invalidPort(let port):
      return "the port '\(Self.quoted(port))' is not valid (expected a number from 1 to 65535)"
    case .containsWhitespace:
      return "the URL contains a space or control character (percent-encode it as %20 etc.)"
    case .credentials:
      return "the URL contains credentials (user:password@); remove them"
    }
  }

  /// The payloads come from hostile input: keep messages short and make invisible or
  /// direction-changing characters visible instead of letting them garble a terminal.
  private static func quoted(_ text: String) -> String {
    let limit = 64
    var out = String.UnicodeScalarView()
    var count = 0
    for scalar in text.unicodeScalars {
      if count == limit {
        out.append("\u{2026}")
        break
      }
      count += 1
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate,
        .unassigned:
        let hex = String(scalar.value, radix: 16, uppercase: true)
        out.append(contentsOf: "\\u{\(hex)}".unicodeScalars)
      default:
        out.append(scalar)
      }
    }
    return String(out)
  }
}

/// A reported URL in canonical form, so the same URL is stored once.
public struct NormalizedURL: Sendable, Hashable {
  /// scheme://host[:port]path[?query]; ASCII only, fragment removed.
  public let url: String
  /// "http" or "https".
  public let scheme: String
  /// Lowercase ASCII: a DNS name (IDN labels as "xn--" Punycode), a dotted IPv4 address,
  /// or a bracketed IPv6 address such as "[::1]", exactly as it appears in `url`.
  public let host: String
  /// nil when absent or the scheme's default (80 for http, 443 for https).
  public let port: Int?
}

/// Canonicalizes reported http(s) URLs without Foundation, working on UTF-8 bytes, because
/// input files can hold millions of lines.
///
/// Host handling is a deliberate subset of IDNA/UTS #46: non-ASCII labels are lowercased with
/// Swift's Unicode case mapping, NFC-normalized, fullwidth ASCII (U+FF01...U+FF5E) is mapped to
/// ASCII and the fullwidth/ideographic full stops separate labels; the UTS #46 mapping table,
/// bidi and CONTEXTJ rules are not applied. Anything that looks like whitespace, a control or
/// formatting character in a host is refused rather than guessed at.
///
/// Paths and queries are kept byte-for-byte (no case change, percent-decoding or dot-segment
/// removal) because servers may treat any variation as a different resource; only non-ASCII
/// bytes are percent-encoded so the stored URL is ASCII and safe to hand to curl.
public enum URLNormalizer {
  public static let maxLength = 8192

  public static func normalize(_ text: String) -> Result<NormalizedURL, URLRejection> {
    if let result = text.utf8.withContiguousStorageIfAvailable({ normalizeValidUTF8($0) }) {
      return result
    }
    // Bridged or otherwise non-contiguous strings: rare, so a copy is acceptable.
    return Array(text.utf8).withUnsafeBufferPointer { normalizeValidUTF8($0) }
  }

  /// Validates UTF-8 first: raw lines from files may be in any encoding.
  public static func normalize(bytes: UnsafeBufferPointer<UInt8>) -> Result<NormalizedURL, URLRejection> {
    guard UTF8Validation.isValid(bytes) else { return .failure(.invalidUTF8) }
    return normalizeValidUTF8(bytes)
  }

  // MARK: - Core

  private static func normalizeValidUTF8(_ buf: UnsafeBufferPointer<UInt8>) -> Result<NormalizedURL, URLRejection> {
    var lo = 0
    var hi = buf.count
    while lo < hi && isTrimmable(buf[lo]) { lo += 1 }
    // A BOM survives in the first line of files saved by some Windows editors; it is never
    // part of a URL, so treat it like leading whitespace instead of reporting "not a URL".
    if hi - lo >= 3 && buf[lo] == 0xEF && buf[lo + 1] == 0xBB && buf[lo + 2] == 0xBF {
      lo += 3
      while lo < hi && isTrimmable(buf[lo]) { lo += 1 }
    }
    while hi > lo && isTrimmable(buf[hi - 1]) { hi -= 1 }
    if lo == hi { return .failure(.empty) }
    // Checked before scanning so a hostile multi-megabyte line costs nothing more.
    if hi - lo > maxLength { return .failure(.tooLong(hi - lo)) }

    var sawControl = false
    for i in lo..<hi {
      let b = buf[i]
      if b <= 0x20 || b == 0x7F {
        if b == 0 { return .failure(.containsNUL) }
        sawControl = true
      }
    }
    if sawControl { return .failure(.containsWhitespace) }

    // Scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )) followed by ":".
    guard isAlpha(buf[lo]) else { return .failure(.notAURL) }
    var i = lo + 1
    while i < hi && isSchemeChar(buf[i]) { i += 1 }
    guard i < hi && buf[i] == UInt8(ascii: ":") else { return .failure(.notAURL) }
    let schemeEnd = i
    let hasSlashes =
      schemeEnd + 2 < hi && buf[schemeEnd + 1] == UInt8(ascii: "/") && buf[schemeEnd + 2] == UInt8(ascii: "/")

    let scheme: String
    let defaultPort: Int
    if equalsLowercase(buf, lo, schemeEnd, "http") {
      scheme = "http"
      defaultPort = 80
    } else if equalsLowercase(buf, lo, schemeEnd, "https") {
      scheme = "https"
      defaultPort = 443
    } else {
      // "example.com:8080/x" and "localhost:8080" parse as scheme + ":" but are hosts missing
      // their scheme; calling "localhost" a scheme would confuse the user.
      if !hasSlashes && looksLikeHostAndPort(buf, lo, schemeEnd, hi) {
        return .failure(.notAURL)
      }
      return .failure(.unsupportedScheme(lowercasedASCII(buf, lo, schemeEnd)))
    }
    guard hasSlashes else { return .failure(.notAURL) }

    // Authority: up to the first "/", "?" or "#".
    let authorityStart = schemeEnd + 3
    var authorityEnd = authorityStart
    while authorityEnd < hi {
      let b = buf[authorityEnd]
      if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
      if b == UInt8(ascii: "@") { return .failure(.credentials) }
      authorityEnd += 1
    }
    if authorityStart == authorityEnd { return .failure(.missingHost) }

    // Split host and port; an IPv6 literal is the only host that may contain ":".
    let hostEnd: Int
    var portStart: Int? = nil
    if buf[authorityStart] == UInt8(ascii: "[") {
      var close = authorityStart + 1
      while close < authorityEnd && buf[close] != UInt8(ascii: "]") { close += 1 }
      guard close < authorityEnd else {
        return .failure(.invalidHost(text(buf, authorityStart, authorityEnd)))
      }
      hostEnd = close + 1
      if hostEnd < authorityEnd {
        guard buf[hostEnd] == UInt8(ascii: ":") else {
          return .failure(.invalidHost(text(buf, authorityStart, authorityEnd)))
        }
        portStart = hostEnd + 1
      }
    } else {
      var colon = authorityStart
      while colon < authorityEnd && buf[colon] != UInt8(ascii: ":") { colon += 1 }
      hostEnd = colon
      if colon < authorityEnd { portStart = colon + 1 }
    }
    if hostEnd == authorityStart { return .failure(.missingHost) }

    let host: String
    switch canonicalHost(buf, authorityStart, hostEnd) {
    case .success(let h): host = h
    case .failure(let rejection): return .failure(rejection)
    }

    var port: Int? = nil
    if let portStart {
      switch parsePort(buf, portStart, authorityEnd) {
      case .success(let p): port = p == defaultPort ? nil : p
      case .failure(let rejection): return .failure(rejection)
      }
    }

    // Path and query run to the fragment, which is dropped: it never reaches the server.
    let pathStart = authorityEnd
    var pathEnd = pathStart
    var nonASCII = 0
    while pathEnd < hi {
      let b = buf[pathEnd]
      if b == UInt8(ascii: "#") { break }
      if b >= 0x80 { nonASCII += 1 }
      pathEnd += 1
    }
    let needsSlash = pathStart == pathEnd || buf[pathStart] != UInt8(ascii: "/")

    let hostUTF8 = host.utf8
    let portDigits = port.map(decimalDigitCount) ?? 0
    let total =
      scheme.utf8.count + 3 + hostUTF8.count + (port == nil ? 0 : 1 + portDigits)
      + (needsSlash ? 1 : 0) + (pathEnd - pathStart) + 2 * nonASCII
    // The stored URL must itself be accepted when it is given back (takedownctl status URL, a re-import
    // of an export): a normalized URL over the limit would be refused then. Found by `make fuzz`.
    if total > maxLength { return .failure(.tooLongNormalized(total)) }

    let url = String(unsafeUninitializedCapacity: total) { out in
      var o = 0
      for b in scheme.utf8 {
        out[o] = b
        o += 1
      }
      out[o] = UInt8(ascii: ":")
      out[o + 1] = UInt8(ascii: "/")
      out[o + 2] = UInt8(ascii: "/")
      o += 3
      for b in hostUTF8 {
        out[o] = b
        o += 1
      }
      if var p = port {
        out[o] = UInt8(ascii: ":")
        o += 1 + portDigits
        var d = o - 1
        while p > 0 {
          out[d] = UInt8(truncatingIfNeeded: 0x30 + p % 10)
          p /= 10
          d -= 1
        }
      }
      if needsSlash {
        out[o] = UInt8(ascii: "/")
        o += 1
      }
      if nonASCII == 0 {
        // Common case: one bulk copy.
        let count = pathEnd - pathStart
        if count > 0 {
          UnsafeMutableRawPointer(out.baseAddress! + o).copyMemory(
            from: buf.baseAddress! + pathStart, byteCount: count)
          o += count
        }
      } else {
        for j in pathStart..<pathEnd {
          let b = buf[j]
          if b < 0x80 {
            out[o] = b
            o += 1
          } else {
            out[o] = UInt8(ascii: "%")
            out[o + 1] = hexDigit(b >> 4)
            out[o + 2] = hexDigit(b & 0x0F)
            o += 3
          }
        }
      }
      return o
    }
    return .success(NormalizedURL(url: url, scheme: scheme, host: host, port: port))
  }

  // MARK: - Host

  private static func canonicalHost(
    _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
  ) -> Result<String, URLRejection> {
    let invalid = { Result<String, URLRejection>.failure(.invalidHost(text(buf, start, end))) }
    var isASCII = true
    for i in start..<end {
      let b = buf[i]
      // Percent-encoded hosts are legal in WHATWG URLs but only serve to disguise the host
      // (and "%25" introduces IPv6 zone ids, which mean nothing off the reporter's machine).
      if b == UInt8(ascii: "%") { return invalid() }
      if b >= 0x80 { isASCII = false }
    }

    if buf[start] == UInt8(ascii: "[") {
      guard let ipv6 = canonicalIPv6(buf, start + 1, end - 1) else { return invalid() }
      return .success(ipv6)
    }

    if isASCII {
      var hostEnd = end
      // A trailing dot names the same (fully qualified) host.
      if buf[hostEnd - 1] == UInt8(ascii: ".") { hostEnd -= 1 }
      guard hostEnd > start, hostEnd - start <= 253 else { return invalid() }
      if isDigitsAndDots(buf, start, hostEnd) {
        guard isValidIPv4(buf, start, hostEnd) else { return invalid() }
        return .success(text(buf, start, hostEnd))
      }
      var labelLength = 0
      for i in start..<hostEnd {
        let b = buf[i]
        if b == UInt8(ascii: ".") {
          guard labelLength > 0 else { return invalid() }
          labelLength = 0
        } else {
          guard isHostChar(lowercase(b)) else { return invalid() }
          labelLength += 1
          guard labelLength <= 63 else { return invalid() }
        }
      }
      guard labelLength > 0 else { return invalid() }
      let name = lowercasedASCII(buf, start, hostEnd)
      if let why = hostNameProblem(name) { return .failure(.invalidHostName(text(buf, start, end), why)) }
      return .success(name)
    }

    guard let idn = canonicalIDNHost(text(buf, start, end)) else { return invalid() }
    if let why = hostNameProblem(idn) { return .failure(.invalidHostName(text(buf, start, end), why)) }
    return .success(idn)
  }

  /// What makes a syntactically plausible DNS name (lowercase ASCII, labels of 1...63 host characters,
  /// not a dotted quad) unusable, or nil. Three things the label loop above cannot see:
  /// - a label that starts or ends with '-' (RFC 952/1123; for an "xn--" label, its decoded form);
  /// - an "xn--" label that is not the canonical Punycode of a valid non-ASCII label, which would be
  ///   stored under a name no browser or resolver agrees on;
  /// - a last label that is a number ("0x7f.0.0.1", "example.123"): the WHATWG URL parser, and with it
  ///   browsers, read such a host as an IPv4 address in hex or octal, so it names no domain at all.
  static func hostNameProblem(_ name: String) -> String? {
    var name = name
    return name.withUTF8 { buf -> String? in
      var end = buf.count
      if end > 0 && buf[end - 1] == UInt8(ascii: ".") { end -= 1 }
      // Labels are scanned in place: this runs for every enqueued URL.
      var labelStart = 0
      var i = 0
      while i <= end {
        if i == end || buf[i] == UInt8(ascii: ".") {
          let label = UnsafeBufferPointer(rebasing: buf[labelStart..<i])
          if i == end && isNumericLabel(label) {
            return "its last label '\(String(decoding: label, as: UTF8.self))' is a number, which makes it "
              + "an IPv4 address in disguise; write an address as four decimal numbers (e.g. 192.0.2.1)"
          }
          if let why = labelProblem(label) { return why }
          labelStart = i + 1
        }
        i += 1
      }
      return nil
    }
  }

  private static func labelProblem(_ label: UnsafeBufferPointer<UInt8>) -> String? {
    guard let first = label.first, let last = label.last else { return nil }
    if first == UInt8(ascii: "x") && label.count >= 4 && label[1] == UInt8(ascii: "n") && label[2] == UInt8(ascii: "-")
      && label[3] == UInt8(ascii: "-")
    {
      let text = String(decoding: label, as: UTF8.self)
      let encoded = String(text.dropFirst(4))
      // Canonical means: decodes, is non-ASCII, holds only what the Unicode path would accept, is already
      // lowercase NFC (what that path stores), and encodes back to the same digits.
      guard let decoded = Punycode.decode(encoded), !decoded.unicodeScalars.allSatisfy(\.isASCII),
        decoded.unicodeScalars.allSatisfy({ $0.isASCII ? isHostChar(UInt8($0.value)) : isAcceptableIDNScalar($0) }),
        String(decoding: decoded.lowercased()._nfcCodeUnits, as: UTF8.self) == decoded,
        Punycode.encode(decoded) == encoded
      else {
        return "'\(text)' is not valid Punycode (an \"xn--\" label must be the encoding of a lowercase non-ASCII name)"
      }
      if decoded.unicodeScalars.first == "-" || decoded.unicodeScalars.last == "-" {
        return "the label '\(decoded)' (\(text)) starts or ends with '-'"
      }
      return nil
    }
    if first == UInt8(ascii: "-") || last == UInt8(ascii: "-") {
      return "the label '\(String(decoding: label, as: UTF8.self))' starts or ends with '-'"
    }
    return nil
  }

  /// A label the WHATWG IPv4 parser takes as a number: decimal digits, or "0x" and hex digits.
  private static func isNumericLabel(_ label: UnsafeBufferPointer<UInt8>) -> Bool {
    guard !label.isEmpty else { return false }
    if label.count >= 2 && label[0] == UInt8(ascii: "0") && label[1] | 0x20 == UInt8(ascii: "x") {
      return label.dropFirst(2).allSatisfy { hexValue($0) != nil }
    }
    return label.allSatisfy(isDigit)
  }

  /// Slow path for hosts containing non-ASCII characters; rare, so clarity beats speed here.
  private static func canonicalIDNHost(_ host: String) -> String? {
    var labels: [String.UnicodeScalarView] = [String.UnicodeScalarView()]
    for scalar in host.unicodeScalars {
      switch scalar.value {
      case 0x2E, 0x3002, 0xFF0E, 0xFF61:
        labels.append(String.UnicodeScalarView())
      case 0xFF01...0xFF5E:
        // Fullwidth ASCII forms, as UTS #46 maps them; otherwise "ｅｘａｍｐｌｅ.com" would be
        // stored as an unrelated Punycode name.
        labels[labels.count - 1].append(Unicode.Scalar(scalar.value - 0xFEE0)!)
      default:
        labels[labels.count - 1].append(scalar)
      }
    }
    if labels.count > 1 && labels[labels.count - 1].isEmpty {
      labels.removeLast()
    }

    var result: [UInt8] = []
    for label in labels {
      guard !label.isEmpty else { return nil }
      if !result.isEmpty { result.append(UInt8(ascii: ".")) }
      // Lowercase, then NFC, so precomposed and decomposed spellings of one name agree.
      // `_nfcCodeUnits` is the standard library's own normalizer; public API does not expose one
      // without Foundation.
      let folded = String(decoding: String(label).lowercased()._nfcCodeUnits, as: UTF8.self)
      let scalars = folded.unicodeScalars
      if scalars.allSatisfy(\.isASCII) {
        // Case mapping can yield plain ASCII (KELVIN SIGN -> "k"): that is an ordinary label.
        guard scalars.count <= 63 else { return nil }
        for s in scalars {
          guard isHostChar(UInt8(s.value)) else { return nil }
          result.append(UInt8(s.value))
        }
        continue
      }
      for s in scalars {
        if s.isASCII {
          guard isHostChar(UInt8(s.value)) else { return nil }
        } else if !isAcceptableIDNScalar(s) {
          return nil
        }
      }
      guard let encoded = Punycode.encode(scalars: scalars) else { return nil }
      guard encoded.utf8.count + 4 <= 63 else { return nil }
      result.append(contentsOf: "xn--".utf8)
      result.append(contentsOf: encoded.utf8)
    }
    guard result.count <= 253 else { return nil }
    // Fullwidth digits may have spelled an IPv4 address; it must then be a valid one.
    let valid = result.withUnsafeBufferPointer { r in
      !isDigitsAndDots(r, 0, r.count) || isValidIPv4(r, 0, r.count)
    }
    return valid ? String(decoding: result, as: UTF8.self) : nil
  }

  /// Refuses invisible, spacing and unassigned characters, which are spoofing tools rather
  /// than parts of real domain names.
  private static func isAcceptableIDNScalar(_ s: Unicode.Scalar) -> Bool {
    if s.value == 0xFFFD || s.properties.isWhitespace || s.properties.isDefaultIgnorableCodePoint {
      return false
    }
    switch s.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .spaceSeparator, .lineSeparator,
      .paragraphSeparator:
      return false
    default:
      return true
    }
  }

  private static func isDigitsAndDots(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    for i in start..<end where !isDigit(buf[i]) && buf[i] != UInt8(ascii: ".") {
      return false
    }
    return true
  }

  /// Exactly four decimal octets. Leading zeros are refused: resolvers and curl may read them
  /// as octal, so "010.0.0.1" is ambiguous and cannot be canonicalized safely.
  private static func isValidIPv4(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    var parts = 0
    var i = start
    while true {
      let partStart = i
      var value = 0
      while i < end && isDigit(buf[i]) {
        value = value * 10 + Int(buf[i] - 0x30)
        if value > 255 { return false }
        i += 1
      }
      let digits = i - partStart
      if digits == 0 || (digits > 1 && buf[partStart] == UInt8(ascii: "0")) { return false }
      parts += 1
      if i == end { return parts == 4 }
      guard buf[i] == UInt8(ascii: "."), parts < 4 else { return false }
      i += 1
    }
  }

  /// Parses the text between the brackets and serializes it the way the WHATWG URL standard
  /// does (RFC 5952 compression, lowercase hex), so equivalent spellings compare equal.
  private static func canonicalIPv6(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String? {
    guard end > start else { return nil }
    var pieces = [UInt16](repeating: 0, count: 8)
    var pieceIndex = 0
    var compress: Int? = nil
    var p = start

    if buf[p] == UInt8(ascii: ":") {
      guard p + 1 < end, buf[p + 1] == UInt8(ascii: ":") else { return nil }
      p += 2
      pieceIndex += 1
      compress = pieceIndex
    }
    while p < end {
      guard pieceIndex < 8 else { return nil }
      if buf[p] == UInt8(ascii: ":") {
        guard compress == nil else { return nil }
        p += 1
        pieceIndex += 1
        compress = pieceIndex
        continue
      }
      var value = 0
      var length = 0
      while length < 4 && p < end, let h = hexValue(buf[p]) {
        value = value * 16 + h
        p += 1
        length += 1
      }
      if p < end && buf[p] == UInt8(ascii: ".") {
        // Embedded IPv4 ("::ffff:1.2.3.4") fills the last two pieces.
        guard length > 0, pieceIndex <= 6 else { return nil }
        p -= length
        var numbersSeen = 0
        while p < end {
          if numbersSeen > 0 {
            guard buf[p] == UInt8(ascii: "."), numbersSeen < 4 else { return nil }
            p += 1
          }
          guard p < end, isDigit(buf[p]) else { return nil }
          var octet = -1
          while p < end && isDigit(buf[p]) {
            let d = Int(buf[p] - 0x30)
            if octet == -1 {
              octet = d
            } else if octet == 0 {
              return nil
            } else {
              octet = octet * 10 + d
            }
            guard octet <= 255 else { return nil }
            p += 1
          }
          pieces[pieceIndex] = pieces[pieceIndex] &* 0x100 &+ UInt16(octet)
          numbersSeen += 1
          if numbersSeen == 2 || numbersSeen == 4 { pieceIndex += 1 }
        }
        guard numbersSeen == 4 else { return nil }
        break
      } else if p < end && buf[p] == UInt8(ascii: ":") {
        p += 1
        guard p < end else { return nil }
      } else if p < end {
        return nil
      }
      guard length > 0 else { return nil }
      pieces[pieceIndex] = UInt16(value)
      pieceIndex += 1
    }
    if let compress {
      var swaps = pieceIndex - compress
      pieceIndex = 7
      while pieceIndex != 0 && swaps > 0 {
        pieces.swapAt(pieceIndex, compress + swaps - 1)
        pieceIndex -= 1
        swaps -= 1
      }
    } else if pieceIndex != 8 {
      return nil
    }

    // Longest run (first on ties) of at least two zero pieces becomes "::".
    var bestStart = -1
    var bestLength = 1
    var runStart = -1
    for k in 0...8 {
      if k < 8 && pieces[k] == 0 {
        if runStart < 0 { runStart = k }
      } else if runStart >= 0 {
        if k - runStart > bestLength {
          bestStart = runStart
          bestLength = k - runStart
        }
        runStart = -1
      }
    }
    var out = "["
    var k = 0
    while k < 8 {
      if k == bestStart {
        out += k == 0 ? "::" : ":"
        k += bestLength
        continue
      }
      out += String(pieces[k], radix: 16)
      if k < 7 { out += ":" }
      k += 1
    }
    out += "]"
    return out
  }

  // MARK: - Port

  private static func parsePort(
    _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
  ) -> Result<Int?, URLRejection> {
    if start == end { return .success(nil) }
    var value = 0
    for i in start..<end {
      let b = buf[i]
      guard isDigit(b) else { return .failure(.invalidPort(text(buf, start, end))) }
      value = value * 10 + Int(b - 0x30)
      // Stop early so a long digit run cannot overflow.
      if value > 65535 { return .failure(.invalidPort(text(buf, start, end))) }
    }
    if value == 0 { return .failure(.invalidPort(text(buf, start, end))) }
    return .success(value)
  }

  // MARK: - Scheme

  private static func looksLikeHostAndPort(
    _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ colon: Int, _ end: Int
  ) -> Bool {
    for i in start..<colon where buf[i] == UInt8(ascii: ".") {
      return true
    }
    var i = colon + 1
    while i < end && isDigit(buf[i]) { i += 1 }
    guard i > colon + 1 else { return false }
    return i == end || buf[i] == UInt8(ascii: "/") || buf[i] == UInt8(ascii: "?") || buf[i] == UInt8(ascii: "#")
  }

  /// `literal` must be lowercase ASCII.
  private static func equalsLowercase(
    _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ literal: StaticString
  ) -> Bool {
    guard end - start == literal.utf8CodeUnitCount else { return false }
    let lit = literal.utf8Start
    for k in 0..<(end - start) where lowercase(buf[start + k]) != lit[k] {
      return false
    }
    return true
  }

  // MARK: - Bytes

  @inline(__always) private static func isTrimmable(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
  }

  @inline(__always) private static func isAlpha(_ b: UInt8) -> Bool {
    (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
  }

  @inline(__always) private static func isDigit(_ b: UInt8) -> Bool {
    b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
  }

  @inline(__always) private static func isSchemeChar(_ b: UInt8) -> Bool {
    isAlpha(b) || isDigit(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
  }

  /// Underscore is not valid in hostnames, but it occurs in real DNS names and reported URLs.
  @inline(__always) private static func isHostChar(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || isDigit(b) || b == UInt8(ascii: "-")
      || b == UInt8(ascii: "_")
  }

  @inline(__always) private static func lowercase(_ b: UInt8) -> UInt8 {
    b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
  }

  @inline(__always) private static func hexValue(_ b: UInt8) -> Int? {
    if isDigit(b) { return Int(b - 0x30) }
    let l = b | 0x20
    if l >= UInt8(ascii: "a") && l <= UInt8(ascii: "f") { return Int(l - UInt8(ascii: "a")) + 10 }
    return nil
  }

  @inline(__always) private static func hexDigit(_ v: UInt8) -> UInt8 {
    v < 10 ? 0x30 + v : UInt8(ascii: "A") + v - 10
  }

  private static func decimalDigitCount(_ v: Int) -> Int {
    v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1
  }

  private static func text(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: buf[start..<end]), as: UTF8.self)
  }

  private static func lowercasedASCII(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    String(unsafeUninitializedCapacity: end - start) { out in
      for k in 0..<(end - start) {
        out[k] = lowercase(buf[start + k])
      }
      return end - start
    }
  }
}
