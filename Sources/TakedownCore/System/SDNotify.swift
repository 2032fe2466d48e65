// CCurl exports <sys/socket.h>: Glibc alone does not surface SOCK_* constants in whole-module builds.
import CCurl
#if canImport(Glibc)
  import Glibc
#endif

/// systemd's notify protocol without libsystemd: one datagram per message to the socket named by
/// $NOTIFY_SOCKET (a path, or "@name" for an abstract socket). Silent no-op when not under systemd.
public final class SDNotifier: @unchecked Sendable {
  // @unchecked: `fd` and `address` are set once in init and only read afterwards; sendto on a
  // datagram socket is safe from any thread.
  private let fd: Int32
  private var address = sockaddr_un()
  private var addressLength: socklen_t = 0
  /// How often systemd expects WATCHDOG=1 (nil: no watchdog for us).
  public let watchdogIntervalUs: UInt64?

  public var enabled: Bool { fd >= 0 }

  public init(environment: [String: String]) {
    // WATCHDOG_PID, when set, names the process that must ping; a child we started must not.
    if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
      environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
    {
      watchdogIntervalUs = usec
    } else {
      watchdogIntervalUs = nil
    }
    guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108,
      path.hasPrefix("/") || path.hasPrefix("@")
    else {
      fd = -1
      return
    }
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    address.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
  }

  deinit { if fd >= 0 { close(fd) } }

  /// Sends "KEY=value\n…" lines as one datagram. Errors are ignored: systemd may be gone at shutdown.
  public func notify(_ lines: String...) {
    guard fd >= 0 else { return }
    var message = Array(lines.joined(separator: "\n").utf8)
    var addr = address
    _ = withUnsafePointer(to: &addr) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        message.withUnsafeMutableBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
      }
    }
  }

  /// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC.
  public static func monotonicUsec() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
  }
}
