// A private network namespace for tests that need more than 127.0.0.1: its only interface is its own
// loopback, on which the test adds addresses that look public (TEST-NET 198.51.100.0/24). A daemon
// started in it (`command(...)`) can reach a server listening there and nothing else: no packet can
// leave the machine, not even a DNS query, because the namespace has no route anywhere.
//
// Needs CAP_SYS_ADMIN (root in CI containers usually has it); `make()` returns nil where it is not
// allowed, and tests then skip what depends on it.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

public final class NetworkNamespace: @unchecked Sendable {
  // @unchecked: immutable after init.
  /// A process living in the namespace (`sleep`); the namespace lasts as long as it does.
  public let pid: Int32
  private let holder: Process
  /// Addresses added to the namespace's loopback (besides 127.0.0.1).
  public let addresses: [String]

  private init(pid: Int32, holder: Process, addresses: [String]) {
    self.pid = pid
    self.holder = holder
    self.addresses = addresses
  }

  deinit {
    if holder.isRunning { kill(pid, SIGKILL) }
    holder.waitUntilExit()
  }

  /// Creates the namespace with its loopback up and `addresses` (IPv4, /32) on it; nil when this
  /// machine does not let us (no unshare/ip, no privilege). `lifetime` bounds the holder process
  /// should the test process die without cleaning up.
  public static func make(addresses: [String] = ["198.51.100.7"], lifetime: Int = 900) -> NetworkNamespace? {
    guard let unshare = findTool("unshare"), let ip = findTool("ip"), findTool("nsenter") != nil else { return nil }
    var script = "\(ip) link set lo up"
    for a in addresses { script += " && \(ip) addr add \(a)/32 dev lo" }
    script += " && echo ready && exec sleep \(lifetime)"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: unshare)
    p.arguments = ["--net", "/bin/sh", "-c", script]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    // Wait (bounded) for "ready": the addresses are in place once it is printed.
    var seen = Data()
    let deadline = Date().addingTimeInterval(10)
    let fd = out.fileHandleForReading.fileDescriptor
    while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("ready") {
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&pfd, 1, 100) >= 0 else { break }
      if pfd.revents != 0 {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        seen.append(contentsOf: buf[0..<n])
      }
    }
    guard String(decoding: seen, as: UTF8.self).contains("ready"), p.isRunning else {
      if p.isRunning { kill(p.processIdentifier, SIGKILL) }
      p.waitUntilExit()
      return nil
    }
    return NetworkNamespace(pid: p.processIdentifier, holder: p, addresses: addresses)
  }

  /// The argument vector that runs `args` inside the namespace (through nsenter).
  public func command(_ args: [String]) -> (path: String, arguments: [String]) {
    (findTool("nsenter") ?? "/usr/bin/nsenter", ["-t", "\(pid)", "-n", "--"] + args)
  }

  /// Runs `body` on a fresh thread that has joined the namespace: sockets it creates live there
  /// (and keep living there when used from other threads). The calling thread is not affected.
  public func withEntered<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
    do {
      let box = ResultBox<T>()
      let done = DispatchSemaphore(value: 0)
      let path = "/proc/\(pid)/ns/net"
      let thread = Thread {
        defer { done.signal() }
        let nsfd = open(path, O_RDONLY | O_CLOEXEC)
        guard nsfd >= 0 else {
          box.result = .failure(TestHTTPServerError(call: "open(\(path))", errno: errno))
          return
        }
        defer { close(nsfd) }
        guard let setns = setnsFunction, setns(nsfd, CLONE_NEWNET_FLAG) == 0 else {
          box.result = .failure(TestHTTPServerError(call: "setns", errno: errno))
          return
        }
        box.result = Result { try body() }
      }
      thread.start()
      done.wait()
      return try box.result!.get()
    }
  }
}

private final class ResultBox<T>: @unchecked Sendable {
  var result: Result<T, Error>?
}

private let CLONE_NEWNET_FLAG: Int32 = 0x4000_0000

/// glibc's setns(2) wrapper, looked up at run time: Swift's Glibc module does not export it.
private let setnsFunction: (@convention(c) (Int32, Int32) -> Int32)? = {
  guard let sym = dlsym(nil, "setns") else { return nil }
  return unsafeBitCast(sym, to: (@convention(c) (Int32, Int32) -> Int32).self)
}()

/// The first executable named `name` in the usual system directories.
public func findTool(_ name: String) -> String? {
  for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
    let path = dir + "/" + name
    if access(path, X_OK) == 0 { return path }
  }
  return nil
}
