import Testing

@testable import TakedownCore

@Suite struct BodyTextTests {
  static let removedSimplified = "该视频已被删除"
  static let removedTraditional = "該影片已被刪除"
  static let removedJapanese = "この動画は削除されました"

  /// Bytes in another encoding, made by the system's iconv program rather than by the code under test.
  private func encode(_ text: String, to charset: String) throws -> [UInt8] {
    try runTool("/usr/bin/iconv", ["-f", "UTF-8", "-t", charset], stdin: Array(text.utf8))
  }

  private func page(_ text: String, head: String = "") -> String {
    "<!doctype html><html><head>\(head)<title>x</title></head><body><p>\(text)</p></body></html>"
  }

  @Test func utf8Undeclared() {
    let body = Array(page(Self.removedSimplified).utf8)
    #expect(BodyText.decode(body, contentType: nil) == page(Self.removedSimplified))
    #expect(BodyText.decode(body, contentType: "text/html") == page(Self.removedSimplified))
  }

  @Test func gbkKnownBytes() throws {
    // 删除 in GBK, from the GB2312 code chart; also checks that the iconv program agrees.
    let known: [UInt8] = [0xC9, 0xBE, 0xB3, 0xFD]
    #expect(try encode("删除", to: "GBK") == known)
    #expect(BodyText.decode(known, contentType: "text/html; charset=GBK") == "删除")
    // Undeclared: not UTF-8, valid GB18030.
    #expect(BodyText.decode(known, contentType: nil) == "删除")
  }

  @Test(arguments: ["GBK", "GB2312", "GB18030"])
  func chineseDeclaredInContentType(charset: String) throws {
    let body = try encode(page(Self.removedSimplified), to: charset)
    #expect(BodyText.decode(body, contentType: "text/html; charset=\(charset)") == page(Self.removedSimplified))
    #expect(
      BodyText.decode(body, contentType: "text/html;charset=\"\(charset.lowercased())\"")
        == page(Self.removedSimplified))
  }

  @Test func gbkUndeclaredIsSniffed() throws {
    let body = try encode(page(Self.removedSimplified), to: "GBK")
    #expect(BodyText.charset(contentType: nil, body: body) == nil)
    #expect(BodyText.decode(body, contentType: nil) == page(Self.removedSimplified))
  }

  /// A character only GB18030 has (outside GBK), on a page labelled GBK, as real sites do.
  @Test func gbkLabelDecodesAsGB18030() throws {
    let text = "删除 😀"
    let body = try encode(text, to: "GB18030")
    #expect(BodyText.decode(body, contentType: "text/html; charset=gbk") == text)
  }

  @Test func big5DeclaredViaMetaCharset() throws {
    let html = page(Self.removedTraditional, head: "<meta charset=\"big5\">")
    let body = try encode(html, to: "BIG5")
    #expect(BodyText.charset(contentType: "text/html", body: body) == "big5")
    #expect(BodyText.decode(body, contentType: "text/html") == html)
  }

  @Test func big5DeclaredViaMetaHttpEquiv() throws {
    let html = page(
      Self.removedTraditional, head: "<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=Big5\">")
    let body = try encode(html, to: "BIG5")
    #expect(BodyText.charset(contentType: nil, body: body) == "big5")
    #expect(BodyText.decode(body, contentType: nil) == html)
  }

  @Test func shiftJISDeclaredInContentType() throws {
    let body = try encode(page(Self.removedJapanese), to: "SHIFT_JIS")
    #expect(BodyText.charset(contentType: "text/html; charset=Shift_JIS", body: body) == "shift_jis")
    #expect(BodyText.decode(body, contentType: "text/html; charset=Shift_JIS") == page(Self.removedJapanese))
  }

  @Test func contentTypeWinsOverMeta() throws {
    let html = page(Self.removedSimplified, head: "<meta charset=\"big5\">")
    let body = try encode(html, to: "GBK")
    #expect(BodyText.charset(contentType: "text/html; charset=gbk", body: body) == "gbk")
    #expect(BodyText.decode(body, contentType: "text/html; charset=gbk") == html)
  }

  @Test func metaBeyondTwoKiBIsIgnored() {
    let html = String(repeating: " ", count: 2100) + "<meta charset=\"big5\">"
    #expect(BodyText.charset(contentType: nil, body: Array(html.utf8)) == nil)
  }

  @Test(
    arguments: [
      ("text/html; charset=UTF-8", "utf-8"),
      ("text/html;charset=\"GBK\"", "gbk"),
      ("text/html; foo=bar; Charset = 'Big5' ", "big5"),
      ("text/html", nil),
      ("text/html; charset=", nil),
      ("charset=gbk", nil),  // no media type, so no parameters
    ] as [(String, String?)])
  func contentTypeParsing(contentType: String, expected: String?) {
    #expect(BodyText.charset(contentType: contentType, body: []) == expected)
  }

  @Test(
    arguments: [
      ("<meta charset=utf-8>", "utf-8"),
      ("<meta charset='windows-1251'/>", "windows-1251"),
      ("<meta\n  charset = \"EUC-KR\" >", "euc-kr"),
      ("<meta name=\"viewport\" content=\"width=device-width\"><meta charset=\"gbk\">", "gbk"),
      ("<meta http-equiv=content-type content=\"text/html;charset=gb2312\">", "gb2312"),
      ("<meta name=\"charset-info\" content=\"x\">", nil),
      ("<p>charset=gbk</p>", nil),
    ] as [(String, String?)])
  func metaParsing(head: String, expected: String?) {
    #expect(BodyText.charset(contentType: nil, body: Array(page("x", head: head).utf8)) == expected)
  }

  @Test func utf8CutInTheMiddleOfASequenceStillCountsAsUTF8() {
    let full = Array("视频已被删除".utf8)
    for cut in 1...2 {
      let body = Array(full.dropLast(cut))
      #expect(BodyText.isUTF8(body[...]))
      // The cut character becomes one U+FFFD; everything before it is intact.
      #expect(BodyText.decode(body, contentType: nil) == "视频已被删\u{FFFD}")
    }
  }

  @Test func gb18030CutAtTheEndStillSniffsAsGB18030() throws {
    let body = Array(try encode("删除", to: "GB18030").dropLast())
    #expect(BodyText.decode(body, contentType: nil) == "删\u{FFFD}")
  }

  @Test(
    arguments: [
      [0xC0, 0x80],  // overlong
      [0xE0, 0x80, 0x80],  // overlong
      [0xED, 0xA0, 0x80],  // surrogate
      [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
      [0xF5],
      [0x80],
      [0xE5, 0x41],
    ] as [[UInt8]])
  func invalidUTF8IsRejected(bytes: [UInt8]) {
    #expect(!BodyText.isUTF8(bytes[...]))
  }

  @Test func latin1FallsBackToWindows1252() {
    // "café – 5 €" in windows-1252: é = E9, en dash = 96, euro = 80. E9 followed by a space is
    // not GB18030 either.
    let body: [UInt8] = Array("caf".utf8) + [0xE9, 0x20, 0x96, 0x20, 0x35, 0x20, 0x80]
    #expect(BodyText.decode(body, contentType: nil) == "café – 5 €")
  }

  @Test func invalidBytesBecomeReplacementCharacters() {
    #expect(BodyText.decode([0x61, 0xFF, 0x62], contentType: "text/html; charset=utf-8") == "a\u{FFFD}b")
    // 0xFF is never valid GBK/GB18030.
    #expect(BodyText.decode([0x61, 0xFF, 0x62], contentType: "text/html; charset=gbk") == "a\u{FFFD}b")
    // 0x81 is undefined in windows-1252 (glibc refuses it).
    #expect(BodyText.decode([0x61, 0x81, 0x62], contentType: "text/html; charset=windows-1252") == "a\u{FFFD}b")
  }

  @Test func emptyBody() {
    #expect(BodyText.decode([], contentType: nil) == "")
    #expect(BodyText.decode([], contentType: "text/html; charset=gbk") == "")
    #expect(BodyText.charset(contentType: nil, body: []) == nil)
  }

  @Test func bogusCharsetFallsBackToSniffing() throws {
    let utf8 = Array(Self.removedSimplified.utf8)
    #expect(BodyText.decode(utf8, contentType: "text/html; charset=no-such-charset") == Self.removedSimplified)
    let gbk = try encode(Self.removedSimplified, to: "GBK")
    #expect(BodyText.decode(gbk, contentType: "text/html; charset=no-such-charset") == Self.removedSimplified)
  }

  @Test func byteOrderMarkWins() throws {
    let text = Self.removedSimplified
    #expect(BodyText.decode([0xEF, 0xBB, 0xBF] + Array(text.utf8), contentType: "text/html; charset=gbk") == text)
    let utf16 = try encode(text, to: "UTF-16LE")
    #expect(BodyText.decode([0xFF, 0xFE] + utf16, contentType: nil) == text)
  }

  /// Stateful encodings need the final flush to be complete.
  @Test func iso2022JP() throws {
    let body = try encode(Self.removedJapanese + "!", to: "ISO-2022-JP")
    #expect(BodyText.decode(body, contentType: "text/html; charset=ISO-2022-JP") == Self.removedJapanese + "!")
  }

  /// The first output buffer is sized so E2BIG is rare; start it tiny to prove growing loses nothing.
  @Test func outputBufferGrowth() throws {
    let text = String(repeating: "删除😀abc", count: 500)
    let body = try encode(text, to: "GB18030")
    let result = try #require(Iconv.decode(body[...], from: "GB18030", initialOutputCapacity: 1))
    #expect(result.text == text)
    #expect(result.invalidSequences == 0)
    let withJunk = try #require(Iconv.decode(([0xFF, 0xFF] + body)[...], from: "GB18030", initialOutputCapacity: 1))
    #expect(withJunk.text == "\u{FFFD}\u{FFFD}" + text)
    #expect(withJunk.invalidSequences == 2)
  }

  @Test func iconvRefusesUnknownCharsets() {
    #expect(Iconv.decode([0x41][...], from: "no-such-charset") == nil)
  }
}
