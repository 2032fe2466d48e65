/// Screens config text for the shapes that make toml++ (inside TOMLKit) abort the process or overflow
/// its stack instead of reporting a parse error: a table header whose first key starts with a character
/// that is not a key ("[.probe]", "[=x]", a non-ASCII letter, a line break), a "}" where an array value
/// belongs ("[}" or ",}"), a malformed date-time ("1979-05-2= 8", see TOMLGuard+DateTime.swift), and deep
/// nesting or very long dotted keys. A typo in the config must never kill a running daemon on SIGHUP:
/// these get an ordinary config error with the line instead.
///
/// Valid TOML must pass: a "[" inside a multi-line array is a nested array even at the start of a line,
/// never a table header; and only the dots of keys count towards `maxDottedParts` (each makes a level of
/// tables), never those inside values such as floats or fractional seconds.
enum TOMLGuard {
  static let maxDepth = 64
  static let maxDottedParts = 64

  /// A problem ("line N: …") or nil when the text is safe to hand to the parser.
  static func check(_ text: String) -> String? {
    var b = Array(text.utf8)
    if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }
    var i = 0
    var line = 1
    var depth = 0
    var atLineStart = true
    // Dots in the key being read (each is one more level of tables); a key ends at "=", and the next one
    // starts after "," (in an inline table) or on the next line.
    var keyDots = 0
    // Inside a value that is not a string, array or inline table ("1.5", "07:32:00.5"): its dots are no key's.
    var inValue = false
    // Whether toml++ reads a value next (after "=", and after "[" or "," in an array), so that a date-like
    // key ("1979-05-27 = 1") or table header is left alone; `containers` holds the open arrays (true) and
    // inline tables (false) of values, innermost last.
    var valueNext = false
    var inHeader = false
    var containers: [Bool] = []
    func isKeyStart(_ c: UInt8) -> Bool {
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 45 || c == 34
        || c == 39 || c == 93
    }
    while i < b.count {
      let c = b[i]
      if c == 10 {
        line += 1
        atLineStart = true
        keyDots = 0
        inValue = false
        inHeader = false
        if containers.isEmpty { valueNext = false }
        i += 1
        continue
      }
      if c == 32 || c == 9 || c == 13 {
        i += 1
        continue
      }
      if c == 35 {  // a comment runs to the end of the line
        while i < b.count && b[i] != 10 { i += 1 }
        continue
      }
      if c == 34 || c == 39 {  // strings: skip them whole, counting their line breaks
        let triple = i + 2 < b.count && b[i + 1] == c && b[i + 2] == c
        i += triple ? 3 : 1
        while i < b.count {
          if c == 34 && b[i] == 92 {  // escape in a basic string
            i += 2
            continue
          }
          if b[i] == 10 {
            if !triple { break }  // an unterminated one-line string: the parser reports it
            line += 1
          }
          if b[i] == c && (!triple || (i + 2 < b.count && b[i + 1] == c && b[i + 2] == c)) {
            i += triple ? 3 : 1
            break
          }
          i += 1
        }
        atLineStart = false
        valueNext = false
        continue
      }
      if valueNext && c >= 48 && c <= 57, let problem = dateTimeProblem(in: b, at: i, line: line) {
        return problem
      }
      // No value starts with a non-ASCII character, and toml++ asserts on U+0085, U+2028 or U+2029 there
      // in an array (it takes them for the end of a value, as it does "}" in "[}").
      if valueNext && c >= 128 && containers.last == true {
        return "line \(line): a non-ASCII character where an array value belongs "
          + "(only spaces, tabs and line breaks may come before a value)"
      }
      let wasValueNext = valueNext
      valueNext = false
      if wasValueNext && c != 91 && c != 123 { inValue = true }
      var opensHeader = false
      switch c {
      case 61:  // "="
        valueNext = !inHeader
        if !inHeader { keyDots = 0 }
      case 91:  // "[": an array where a value belongs, else a table header at the top level
        if wasValueNext {
          containers.append(true)
          valueNext = true
        } else if containers.isEmpty && atLineStart {
          inHeader = true
          opensHeader = true
        }
      case 123: if wasValueNext { containers.append(false) }  // "{": an inline table
      case 44:  // "," between array values or inline-table pairs
        valueNext = containers.last == true
        inValue = false
        keyDots = 0
      case 93, 125:
        inValue = false
        if !containers.isEmpty { containers.removeLast() }
      default: break
      }
      if opensHeader {  // a table header: its first key must start like a key
        var j = i + 1
        if j < b.count && b[j] == 91 { j += 1 }
        while j < b.count && (b[j] == 32 || b[j] == 9) { j += 1 }
        if j >= b.count || !isKeyStart(b[j]) {
          return "line \(line): a table header must start with a key name, like [probe]"
        }
      }
      if c == 91 || c == 44 {  // "[" or "," followed by "}" (blanks and line breaks between)
        var j = i + 1
        while j < b.count && (b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13) { j += 1 }
        if j < b.count && b[j] == 125 { return "line \(line): '}' where a value belongs" }
      }
      if c == 91 || c == 123 {
        depth += 1
        if depth > maxDepth { return "line \(line): nested deeper than \(maxDepth) levels" }
      } else if c == 93 || c == 125 {
        depth = max(0, depth - 1)
      } else if c == 46 && !inValue {
        keyDots += 1
        if keyDots > maxDottedParts { return "line \(line): a key with more than \(maxDottedParts) dotted parts" }
      }
      atLineStart = false
      i += 1
    }
    return nil
  }
}
