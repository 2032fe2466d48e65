import Foundation
import Testing

@testable import TakedownCore

/// Locked is the lock every shared state in the daemon and the test servers goes through.
@Suite struct LockedTests {
  /// Increments from several threads at once, each a read-modify-write under the lock, add up exactly:
  /// no increment is lost, and the total is seen once every thread has been joined.
  @Test func concurrentIncrementsGiveTheExactTotal() {
    let threads = 8
    let perThread = 50_000
    let counter = Locked(0)
    let start = DispatchSemaphore(value: 0)
    let finished = DispatchGroup()
    for _ in 0..<threads {
      finished.enter()
      let thread = Thread {
        start.wait()  // all threads go at once, so they really contend
        for _ in 0..<perThread {
          counter.withLock { $0 += 1 }
        }
        finished.leave()
      }
      thread.start()
    }
    for _ in 0..<threads { start.signal() }
    #expect(finished.wait(timeout: .now() + 120) == .success)
    #expect(counter.withLock { $0 } == threads * perThread)
  }

  /// A compound update (two fields that must stay equal) is never seen half done by another thread.
  @Test func readersNeverSeeAHalfDoneUpdate() {
    struct Pair { var a = 0, b = 0 }
    let pair = Locked(Pair())
    let torn = Locked(0)
    let finished = DispatchGroup()
    for writer in [true, false, false] {
      finished.enter()
      Thread {
        for _ in 0..<20_000 {
          if writer {
            pair.withLock {
              $0.a += 1
              $0.b += 1
            }
          } else if pair.withLock({ $0.a != $0.b }) {
            torn.withLock { $0 += 1 }
          }
        }
        finished.leave()
      }.start()
    }
    #expect(finished.wait(timeout: .now() + 120) == .success)
    #expect(torn.withLock { $0 } == 0)
    #expect(pair.withLock { $0.a } == 20_000)
  }

  /// copied gives the array as it was, in storage of its own: later appends do not show in it.
  @Test func copiedIsASnapshot() {
    let items = Locked<[Int]>([1, 2])
    let before = items.copied { $0 }
    items.withLock { $0.append(3) }
    #expect(before == [1, 2])
    #expect(items.copied { $0 } == [1, 2, 3])
  }

  struct Refused: Error, Equatable {}

  /// withLock returns what its body returns, rethrows its typed error, and releases the lock either way.
  @Test func returnsAndRethrowsAndAlwaysUnlocks() {
    let names = Locked<[String]>([])
    #expect(names.withLock { $0.append("a"); return $0.count } == 1)
    #expect(throws: Refused()) {
      try names.withLock { (v: inout [String]) throws(Refused) in
        v.append("b")
        throw Refused()
      }
    }
    #expect(names.withLock { $0 } == ["a", "b"])  // would deadlock if the throw had kept the lock
  }
}
