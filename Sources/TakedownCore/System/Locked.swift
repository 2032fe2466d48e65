#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A value behind a pthread mutex: the lock for state that several threads share.
///
/// Why not `Synchronization.Mutex`: on Linux it parks waiting threads on a raw futex, which
/// ThreadSanitizer does not intercept, so TSan cannot see the happens-before edge between an unlock
/// and the next lock and reports every access inside `Mutex.withLock` as a data race. That buried
/// real races under false ones. `pthread_mutex_lock`/`unlock` are intercepted, so under TSan this lock
/// is understood and a report means a real race.
///
/// The mutex lives in its own heap allocation: a `pthread_mutex_t` must never move, and Swift does
/// not promise a stable address for a stored property.
///
/// Like Mutex, it is not reentrant: calling `withLock` on the same lock inside its own body deadlocks.
public final class Locked<Value> {
  @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
  @usableFromInline var value: Value

  public init(_ value: Value) {
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

  /// Runs `body` with the lock held and exclusive access to the value; returns what `body` returns.
  @inlinable
  public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
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
  @inlinable
  public func copied<Element>(_ part: (Value) -> [Element]) -> [Element] {
    withLock { part($0).map { $0 } }
  }
}

/// Every access to the value happens with the mutex held, so sharing the lock is safe when the value
/// itself may cross threads.
extension Locked: @unchecked Sendable where Value: Sendable {}
