import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

/// Standard output of every command, buffered in one place so that a failed write (a full disk, a
/// closed pipe, /dev/full) is never lost: the sink keeps the first error, a long listing stops at it
/// (`check`), and `finish` turns it into exit 74 with a message when the command ends.
enum Output {
  nonisolated(unsafe) static let sink = ByteSink(fd: 1)

  /// Text and a line end, as `print` would write it.
  static func line(_ text: String) {
    sink.write(text)
    sink.write([10])
  }

  static func write(_ text: String) { sink.write(text) }

  /// Writes what is buffered now (a follower's batch must reach a pipe at once); throws once a write failed.
  static func flush() throws {
    sink.flush()
    try check()
  }

  /// Throws once a write failed, so that a command stops instead of reading on for nobody.
  static func check() throws {
    if sink.error != nil { throw Failed() }
  }

  /// A write to standard output failed; `finish` reports it.
  struct Failed: Error {}

  /// Flushes this buffer and C stdio's (whatever went through `print`), closes standard output, and
  /// returns `status`, or 74 with a message on stderr when any of it failed.
  static func finish(status: Int32) -> Int32 {
    sink.flush()
    var failure = sink.error
    // fflush(NULL): every stdio stream, which is where `print` and ArgumentParser's help text went.
    if fflush(nil) != 0 { failure = failure ?? String(cString: strerror(errno)) }
    // close(2) is where a file system that defers writes (NFS, a quota) reports that they were lost.
    // EBADF: there was no standard output to begin with, and nothing was written to it.
    if close(1) != 0 && errno != EBADF { failure = failure ?? String(cString: strerror(errno)) }
    guard let failure else { return status }
    printError("takedownctl: cannot write standard output: \(failure)")
    return SysExit.ioError.rawValue
  }
}
