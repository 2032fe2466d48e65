import Testing

@testable import TakedownCore

@Suite struct ControlCharacterTests {
  @Test func escapesEveryControlCharacterVisiblyAndLeavesOtherTextAlone() {
    #expect(ControlCharacters.escaped("a\nb\r\tc") == #"a\nb\r\tc"#)
    #expect(ControlCharacters.escaped("\u{1B}[31mRED\u{0}\u{7F}") == #"\x1B[31mRED\x00\x7F"#)
    #expect(ControlCharacters.escaped("x\u{9B}2J\u{85}") == #"x\u{9B}2J\u{85}"#)
    #expect(ControlCharacters.escaped("Studio, Inc. – 该视频 \\ ok") == "Studio, Inc. – 该视频 \\ ok")
  }

  @Test func bidirectionalControlsAreEscapedForTheTerminalButAllowedAtIntake() {
    // "gnp.exe" shown as "exe.png": an override hides what a name really is.
    #expect(ControlCharacters.escaped("file\u{202E}gnp.exe") == #"file\u{202E}gnp.exe"#)
    #expect(ControlCharacters.escaped("\u{2066}x\u{2069}\u{202A}") == #"\u{2066}x\u{2069}\u{202A}"#)
    // Marks that only set a direction stay: they do not reorder what follows.
    #expect(ControlCharacters.escaped("\u{200F}סרט") == "\u{200F}סרט")
    #expect(ControlCharacters.problem(field: "work", value: "\u{202B}סרט\u{202C}") == nil)
  }

  @Test func namesTheFieldTheCharacterAndWhere() {
    #expect(ControlCharacters.problem(field: "work", value: "The Film") == nil)
    #expect(
      ControlCharacters.problem(field: "campaign", value: "a\nb")
        == #"campaign contains a control character (U+000A) at character 2: 'a\nb'"#)
    let report = ReportMetadata(campaign: "ok", notice: "N\u{1B}1")
    #expect(report.controlCharacterProblem?.hasPrefix("notice contains a control character (U+001B) at character 2") == true)
    #expect(ReportMetadata(campaign: "ok", work: "Film").controlCharacterProblem == nil)
  }
}
