#if canImport(Glibc)
  import Glibc
#endif

/// A value behind a pthread mutex, for the state the servers' threads share. The same lock as
/// TakedownCore's `Locked` (see Sources/TakedownCore/System/Locked.swift for why it is not
/// Synchronization.Mutex: ThreadSanitizer does not see Mutex's futex wait on Linux, and reports every
/// access inside Mutex.withLock as a race). A copy rather than a dependency: this target is also the
/// loopback site of `make run` and the benchmarks, and stays free of TakedownCore and its C libraries.
final class Locked<Value> {
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var value: Value

  init(_ value: Value) {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    let rc = pthread_mutex_init(mutex, nil)
    precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    self.value = value
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deinitialize(count: 1)
    mutex.deallocate()
  }

  /// Runs `body` with the lock held and exclusive access to the value. Not reentrant.
  func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }

  /// A copy of the array that `part` selects, in storage of its own, made with the lock held. For an
  /// array that other threads keep appending to, use this rather than `withLock { $0.items }`: that
  /// returns the stored array itself, sharing its storage with the caller, who then reads it without the
  /// lock. That is correct Swift (an append makes a new buffer while the caller holds the old one, and
  /// reuses it in place only once the caller let go), but the "let go" is the Swift runtime's reference
  /// count, which ThreadSanitizer does not see: it reports the caller's reads as racing with the append.
  /// With a buffer of its own the caller shares nothing with later appends, and TSan stays exact.
  func copied<Element>(_ part: (Value) -> [Element]) -> [Element] {
    withLock { part($0).map { $0 } }
  }
}

/// Every access to the value happens with the mutex held.
extension Locked: @unchecked Sendable where Value: Sendable {}
