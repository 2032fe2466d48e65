import Glibc

/// Why a configured removal marker was refused.
struct RemovalMarkerError: Error, CustomStringConvertible, Equatable {
  let spec: String
  let reason: String

  var description: String {
    "removal marker \(spec.debugDescription): \(reason)"
  }
}

/// One configured marker: "/pattern/" is a regular expression (Swift Regex syntax, e.g.
/// "/(?i)video (has been|was) removed/"), anything else a plain substring, matched exactly
/// (case-sensitive) on the decoded text.
struct RemovalMarker: Sendable, Equatable {
  let spec: String
  fileprivate let matcher: Matcher

  fileprivate enum Matcher: @unchecked Sendable {
    /// The substring's UTF-8 bytes, searched for in the decoded text's UTF-8 (see containsBytes).
    case substring([UInt8])
    /// Compiled once here, not per body, hence @unchecked. Regex is not Sendable because its
    /// output type may hold anything; the standard library's source (Regex.Program) shows a
    /// compiled regex is immutable except for its lowered program, cached with an atomic
    /// compare-and-swap, which `init` forces before the value can be shared. Each match builds its
    /// own executor state, so copies of one marker may even be used from several threads at once.
    case regex(Regex<AnyRegexOutput>)
  }

  init(_ spec: String) throws(RemovalMarkerError) {
    self.spec = spec
    if spec.isEmpty {
      throw RemovalMarkerError(spec: spec, reason: "is empty")
    }
    // A blank marker is almost certainly a config slip, and it would match nearly every page.
    if spec.allSatisfy(\.isWhitespace) {
      throw RemovalMarkerError(spec: spec, reason: "is only whitespace, which would match nearly every page")
    }
    guard spec.count >= 2, spec.hasPrefix("/"), spec.hasSuffix("/") else {
      matcher = .substring(Array(spec.utf8))
      return
    }
    let pattern = String(spec.dropFirst().dropLast())
    if pattern.isEmpty {
      throw RemovalMarkerError(spec: spec, reason: "is an empty regular expression")
    }
    let regex: Regex<AnyRegexOutput>
    do {
      regex = try Regex(pattern)
    } catch {
      throw RemovalMarkerError(spec: spec, reason: "the regular expression does not compile: \(error)")
    }
    // Also compiles the program now (see Matcher). A regex that matches empty text, like "/x*/",
    // matches every page and would mark every URL removed.
    if "".contains(regex) {
      throw RemovalMarkerError(
        spec: spec, reason: "the regular expression matches empty text, so it would match every page")
    }
    matcher = .regex(regex)
  }

  static func == (lhs: RemovalMarker, rhs: RemovalMarker) -> Bool {
    lhs.spec == rhs.spec
  }
}

/// The configured markers of one site (or of the whole daemon), in configuration order.
struct RemovalMarkers: Sendable, Equatable {
  let markers: [RemovalMarker]

  init(_ markers: [RemovalMarker]) {
    self.markers = markers
  }

  var isEmpty: Bool { markers.isEmpty }

  /// The spec of the first marker found in the body (decoded with BodyText.decode), or nil.
  /// "First" is configuration order, so reports name the marker an operator listed first.
  func firstMatch(body: [UInt8], contentType: String?) -> String? {
    guard !markers.isEmpty else { return nil }
    var text = BodyText.decode(body, contentType: contentType)
    // Substrings compare bytes: String.contains would apply canonical equivalence, which is far
    // slower and not what "matched exactly" means.
    for marker in markers {
      switch marker.matcher {
      case .substring(let needle):
        if text.withUTF8({ containsBytes($0, needle) }) { return marker.spec }
      case .regex(let regex):
        if text.contains(regex) { return marker.spec }
      }
    }
    return nil
  }

  /// memchr for the first byte, memcmp for the rest. (glibc's memmem would do, but Swift's Glibc
  /// module hides it behind _GNU_SOURCE.) memchr is vectorised, so this runs at memory speed
  /// unless the first byte is very common in the body.
  private func containsBytes(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
    guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else {
      return false
    }
    return needle.withUnsafeBufferPointer { needleBuffer in
      let needleBase = needleBuffer.baseAddress!
      let lastStart = base + (haystack.count - needle.count)
      var cursor = base
      while cursor <= lastStart {
        guard let hit = memchr(cursor, Int32(first), lastStart - cursor + 1) else { return false }
        let candidate = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
        if memcmp(candidate, needleBase, needle.count) == 0 { return true }
        cursor = candidate + 1
      }
      return false
    }
  }
}
