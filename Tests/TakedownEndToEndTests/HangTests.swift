import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The harness itself: a program that never ends fails its test, with where it stood, and is killed.
@Suite struct HangTests {
  @Test func aProcessThatDoesNotEndIsAFailureThatSaysWhereItStood() throws {
    let dir = TempDir()
    let p = try start("/bin/sleep", ["600"], in: dir)
    let recorded = Mutex<[String]>([])
    withKnownIssue {
      _ = p.finish(within: .milliseconds(300))
    } matching: { issue in
      recorded.withLock { $0.append(issue.comments.map(\.rawValue).joined(separator: "\n")) }
      return true
    }
    #expect(!p.process.isRunning, "the hung process was left running")
    let text = recorded.withLock { $0.joined(separator: "\n") }
    #expect(text.contains("/bin/sleep") && text.contains("did not exit within"), "\(text)")
    #expect(text.contains("state S"), "\(text)")
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") {
      #expect(text.contains("Thread 1") && text.contains("#0"), "no backtrace in: \(text)")
    }
  }
}
