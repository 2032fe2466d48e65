// A private network namespace for tests that need more than 127.0.0.1: its only interface is its own
// loopback, on which the test adds addresses that look public (TEST-NET 198.51.100.0/24). A daemon
// started in it (`command(...)`) can reach a server listening there and nothing else: no packet can
// leave the machine, not even a DNS query, because the namespace has no route anywhere.
//
// With `nameserver:`, the holder also gets its own mount and UTS namespaces, so that name lookups of
// processes started there go to a DNS server of the test's (DNSStubServer.swift) and only to it:
//   - /etc/resolv.conf is bind-mounted over with "nameserver <it>" and a 1 s, one-attempt timeout;
//   - /etc/nsswitch.conf with "hosts: files dns", because a host's nss-resolve (systemd-resolved,
//     reached over a Unix socket that no network namespace stops) or mdns would answer without it;
//   - /run/nscd, when there is one, is hidden for the same reason (nscd answers over a Unix socket);
//   - the host name has no dot, so glibc derives no search domain from it and "gone.invalid" is asked
//     as it is, never as "gone.invalid.<the machine's domain>".
// The mounts are private to the namespace: the machine's own files are untouched.
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
  /// The host name inside a namespace made with a name server: no dot, hence no search domain.
  public static let hostName = "takedown-netns"
  /// The name server processes in the namespace use, when `make(nameserver:)` set one.
  public let nameserver: String?
  /// The files bind-mounted over /etc/resolv.conf and /etc/nsswitch.conf (removed with the namespace).
  private let mountedFiles: [String]

  private init(pid: Int32, holder: Process, addresses: [String], nameserver: String?, mountedFiles: [String]) {
    self.pid = pid
    self.holder = holder
    self.addresses = addresses
    self.nameserver = nameserver
    self.mountedFiles = mountedFiles
  }

  deinit {
    if holder.isRunning { kill(pid, SIGKILL) }
    holder.waitUntilExit()
    for f in mountedFiles { unlink(f) }
  }

  /// Creates the namespace with its loopback up and `addresses` (IPv4, /32) on it; nil when this
  /// machine does not let us (no unshare/ip, no privilege). `lifetime` bounds the holder process
  /// should the test process die without cleaning up. With `nameserver` (an IPv4 literal, normally
  /// 127.0.0.1), processes started through `command` resolve names with that server alone (see the
  /// top of this file); the server itself is the test's to run (DNSStubServer).
  public static func make(
    addresses: [String] = ["198.51.100.7"], nameserver: String? = nil, lifetime: Int = 900
  ) -> NetworkNamespace? {
    guard let unshare = findTool("unshare"), let ip = findTool("ip"), findTool("nsenter") != nil else { return nil }
    var script = "\(ip) link set lo up"
    for a in addresses { script += " && \(ip) addr add \(a)/32 dev lo" }
    var arguments = ["--net"]
    var mountedFiles: [String] = []
    if let nameserver {
      guard let mount = findTool("mount"), let hostname = findTool("hostname") else { return nil }
      let base = NSTemporaryDirectory() + "takedown-netns-" + UUID().uuidString.prefix(8)
      let resolv = base + "-resolv.conf"
      let nsswitch = base + "-nsswitch.conf"
      // Everything but the hosts line stays as the machine has it (users, groups: whatever a child needs).
      let hostNSS = (try? String(contentsOfFile: "/etc/nsswitch.conf", encoding: .utf8)) ?? ""
      let otherLines = hostNSS.split(separator: "\n").filter {
        !$0.trimmingCharacters(in: .whitespaces).hasPrefix("hosts:")
      }
      do {
        try "nameserver \(nameserver)\noptions timeout:1 attempts:1\n".write(
          toFile: resolv, atomically: true, encoding: .utf8)
        try (otherLines.joined(separator: "\n") + "\nhosts: files dns\n").write(
          toFile: nsswitch, atomically: true, encoding: .utf8)
      } catch {
        unlink(resolv)
        unlink(nsswitch)
        return nil
      }
      mountedFiles = [resolv, nsswitch]
      script += " && \(hostname) \(hostName)"
      // Without an nsswitch.conf glibc uses "dns files" for hosts, which is what we want anyway.
      script += " && \(mount) --bind \"$1\" /etc/resolv.conf"
      script += " && { [ ! -e /etc/nsswitch.conf ] || \(mount) --bind \"$2\" /etc/nsswitch.conf; }"
      script += " && { [ ! -d /run/nscd ] || \(mount) -t tmpfs takedown-no-nscd /run/nscd; }"
      arguments += ["--mount", "--uts", "--propagation", "private"]
    }
    script += " && echo ready && exec sleep \(lifetime)"
    // The file names reach the script as "$1" and "$2", never spliced into its text.
    arguments += ["/bin/sh", "-c", script, "sh"] + mountedFiles
    let p = Process()
    p.executableURL = URL(fileURLWithPath: unshare)
    p.arguments = arguments
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
      for f in mountedFiles { unlink(f) }
      return nil
    }
    return NetworkNamespace(
      pid: p.processIdentifier, holder: p, addresses: addresses, nameserver: nameserver, mountedFiles: mountedFiles)
  }

  /// The argument vector that runs `args` inside the namespace (through nsenter). With a name server,
  /// that includes the mount and UTS namespaces; entering a mount namespace moves the process to its
  /// root directory, so `workingDirectory` (else the test process's own) is set again after it.
  public func command(_ args: [String], workingDirectory: String? = nil) -> (path: String, arguments: [String]) {
    var options = ["-t", "\(pid)", "-n"]
    if nameserver != nil {
      options += ["-m", "-u", "--wd=\(workingDirectory ?? FileManager.default.currentDirectoryPath)"]
    }
    return (findTool("nsenter") ?? "/usr/bin/nsenter", options + ["--"] + args)
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
