import Testing

@testable import TakedownCore

@Suite struct RemovalMarkerTests {
  private func markers(_ specs: String...) throws -> RemovalMarkers {
    RemovalMarkers(try specs.map { try RemovalMarker($0) })
  }

  private func page(_ text: String) -> String {
    "<html><head><title>视频</title></head><body><div class=\"msg\">\(text)</div></body></html>"
  }

  @Test func chineseMarkerInUTF8Body() throws {
    let m = try markers("已被删除")
    #expect(m.firstMatch(body: Array(page("该视频已被删除").utf8), contentType: "text/html; charset=utf-8") == "已被删除")
    #expect(m.firstMatch(body: Array(page("该视频已被删除").utf8), contentType: nil) == "已被删除")
  }

  @Test func chineseMarkerInGBKBody() throws {
    let body = try runTool("/usr/bin/iconv", ["-f", "UTF-8", "-t", "GBK"], stdin: Array(page("该视频已被删除").utf8))
    let m = try markers("已被删除")
    #expect(m.firstMatch(body: body, contentType: "text/html; charset=GBK") == "已被删除")
    // Undeclared GBK is sniffed as GB18030.
    #expect(m.firstMatch(body: body, contentType: nil) == "已被删除")
    // The marker's UTF-8 bytes are not in the raw GBK body: proof the search runs on decoded text.
    #expect(!body.indices.contains { body[$0...].starts(with: Array("删除".utf8)) })
  }

  @Test func englishRegexIgnoringCase() throws {
    let m = try markers("/(?i)video (has been|was) removed/")
    #expect(m.firstMatch(body: Array(page("This Video Has Been Removed.").utf8), contentType: nil) != nil)
    #expect(m.firstMatch(body: Array(page("the VIDEO WAS REMOVED").utf8), contentType: nil) != nil)
    #expect(m.firstMatch(body: Array(page("video is removed").utf8), contentType: nil) == nil)
  }

  @Test func substringsAreCaseSensitiveAndExact() throws {
    let m = try markers("Video removed")
    #expect(m.firstMatch(body: Array(page("Video removed").utf8), contentType: nil) == "Video removed")
    #expect(m.firstMatch(body: Array(page("video removed").utf8), contentType: nil) == nil)
    #expect(m.firstMatch(body: Array(page("Video  removed").utf8), contentType: nil) == nil)
  }

  /// "é" precomposed and decomposed are canonically equivalent; an exact byte match tells them apart.
  @Test func substringsDoNotUseCanonicalEquivalence() throws {
    let m = try markers("supprim\u{E9}e")
    #expect(m.firstMatch(body: Array("vidéo supprim\u{E9}e".utf8), contentType: nil) != nil)
    #expect(m.firstMatch(body: Array("vidéo supprime\u{301}e".utf8), contentType: nil) == nil)
  }

  @Test func noMatch() throws {
    let m = try markers("已被删除", "/(?i)not available/")
    #expect(m.firstMatch(body: Array(page("正常播放").utf8), contentType: nil) == nil)
    #expect(m.firstMatch(body: [], contentType: nil) == nil)
  }

  @Test func firstInConfigurationOrder() throws {
    let body = Array(page("该视频已被删除 - video removed").utf8)
    #expect(try markers("video removed", "已被删除").firstMatch(body: body, contentType: nil) == "video removed")
    #expect(try markers("已被删除", "video removed").firstMatch(body: body, contentType: nil) == "已被删除")
    #expect(try markers("nothing", "/remov(ed|al)/").firstMatch(body: body, contentType: nil) == "/remov(ed|al)/")
  }

  @Test func emptyMarkersNeverMatch() {
    let m = RemovalMarkers([])
    #expect(m.isEmpty)
    #expect(m.firstMatch(body: Array("anything".utf8), contentType: nil) == nil)
  }

  @Test func markerAtTheVeryEndOfA256KiBBody() throws {
    var body = [UInt8](repeating: UInt8(ascii: "x"), count: 256 * 1024)
    let tail = Array("该视频已被删除".utf8)
    body.replaceSubrange((body.count - tail.count)..., with: tail)
    #expect(body.count == 256 * 1024)
    #expect(try markers("已被删除").firstMatch(body: body, contentType: nil) == "已被删除")
    #expect(try markers("/已被(删除|屏蔽)$/").firstMatch(body: body, contentType: nil) == "/已被(删除|屏蔽)$/")
    // One byte short of the marker: the search must not read past the end or match a prefix.
    #expect(try markers("已被删除").firstMatch(body: Array(body.dropLast()), contentType: nil) == nil)
  }

  @Test func markerLongerThanBody() throws {
    #expect(try markers("a long marker").firstMatch(body: Array("a long".utf8), contentType: nil) == nil)
  }

  @Test func repeatedFirstBytesDoNotHideAMatch() throws {
    // Many near-misses starting with the marker's first byte before the real one.
    let body = Array((String(repeating: "已被", count: 1000) + "已被删除").utf8)
    #expect(try markers("已被删除").firstMatch(body: body, contentType: nil) == "已被删除")
  }

  @Test func specKinds() throws {
    // A lone "/" and strings that merely start or end with one are substrings.
    for spec in ["/", "/path", "path/", "a/b"] {
      let marker = try RemovalMarker(spec)
      #expect(RemovalMarkers([marker]).firstMatch(body: Array("x \(spec) y".utf8), contentType: nil) == spec)
    }
    // "/a.c/" is a regex: "." matches any character.
    #expect(try markers("/a.c/").firstMatch(body: Array("abc".utf8), contentType: nil) == "/a.c/")
    #expect(try markers("a.c").firstMatch(body: Array("abc".utf8), contentType: nil) == nil)
  }

  @Test func equalityIsBySpec() throws {
    #expect(try RemovalMarker("/x/") == RemovalMarker("/x/"))
    #expect(try RemovalMarker("/x/") != RemovalMarker("x"))
    #expect(try markers("a", "/b/") == markers("a", "/b/"))
  }

  @Test(arguments: [
    ("", "is empty"),
    ("   ", "is only whitespace"),
    ("//", "is an empty regular expression"),
    ("/(unclosed/", "does not compile"),
    ("/[z-a]/", "does not compile"),
    ("/x*/", "matches empty text"),
    ("/^/", "matches empty text"),
  ])
  func invalidSpecs(spec: String, reason: String) {
    #expect {
      try RemovalMarker(spec)
    } throws: { error in
      guard let error = error as? RemovalMarkerError else { return false }
      let text = error.description
      return error.spec == spec && text.contains(spec.debugDescription) && text.contains(reason)
    }
  }

  @Test func invalidRegexErrorText() {
    do {
      _ = try RemovalMarker("/(?i)video (removed/")
      Issue.record("expected an error")
    } catch {
      #expect(
        error.description.hasPrefix(
          "removal marker \"/(?i)video (removed/\": the regular expression does not compile: "))
    }
  }
}
