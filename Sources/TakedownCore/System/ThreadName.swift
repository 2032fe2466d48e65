#if canImport(Glibc)
  import Glibc
#endif

/// Names the calling thread for the operating system (`top -H`, `ps -L`, `perf`, core dumps), which
/// Foundation's `Thread.name` does not do on Linux when set before `start()`: every thread of takedownd
/// showed up as the dispatch default. Through /proc/thread-self/comm (pthread_setname_np and prctl are
/// out of Swift's reach: a GNU extension and a variadic function). Linux keeps 15 bytes.
public func nameCurrentThread(_ name: String) {
  #if canImport(Glibc)
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  #endif
}
