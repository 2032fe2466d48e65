// A tiny authoritative-looking DNS server over UDP, for tests that must tell a domain that is gone
// (NXDOMAIN) from a resolver that fails (SERVFAIL, no answer at all). It answers every question from
// the test's own table and records each one, so a test can show that the lookups reached it.
//
// Where it listens: a resolver reads "nameserver 127.0.0.1" and sends to port 53 of its own network
// namespace's loopback. The daemon under test runs in a NetworkNamespace made with `nameserver:`, so
// the stub's socket must live in that namespace. A socket belongs to the namespace of the thread that
// created it, for its whole life, whichever thread uses it later; so the socket is created on a thread
// that has joined the namespace (`NetworkNamespace.withEntered`, setns(2)) and then served from an
// ordinary thread of the test process. No second process is needed and the recorded questions are
// plain memory the test reads. Port 53 is free there (the namespace is new) and bindable (we are root,
// which creating the namespace needed anyway).
//
// UDP only: glibc switches to TCP for an answer with the TC bit, and these answers are far too small
// to be truncated.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// How the stub answers a name.
public enum DNSStubAnswer: Sendable, Equatable {
  /// An A record with this IPv4 address (TTL 60); other types get NOERROR with no records (NODATA).
  case ipv4(String)
  /// RCODE 3: the name does not exist.
  case nxdomain
  /// RCODE 2: the server failed.
  case servfail
  /// RCODE 5: the server will not answer.
  case refused
  /// No answer at all: the client waits for its timeout.
  case silence
}

/// One question the stub received.
public struct DNSStubQuery: Sendable, Equatable, CustomStringConvertible {
  /// The name as sent (no trailing dot), case preserved.
  public var name: String
  /// The query type: 1 is A, 28 is AAAA.
  public var type: UInt16
  /// What the stub did about it.
  public var answer: DNSStubAnswer

  public var description: String {
    let t = type == 1 ? "A" : type == 28 ? "AAAA" : "TYPE\(type)"
    return "\(name)/\(t)"
  }
}

/// A UDP DNS server on `address:port`, in a network namespace when given one. Stops on `stop()` or
/// when released.
public final class DNSStubServer: Sendable {
  private let core: DNSStubCore

  /// Listens on `address` (IPv4) and `port` (0: the kernel chooses; see `port`). `answer` is called
  /// with each question's name in lower case, without the trailing dot.
  public init(
    address: String = "127.0.0.1", port: UInt16 = 53, namespace: NetworkNamespace? = nil,
    answer: @escaping @Sendable (String) -> DNSStubAnswer
  ) throws {
    let fd: Int32
    if let namespace {
      fd = try namespace.withEntered { try makeUDPSocket(address: address, port: port) }
    } else {
      fd = try makeUDPSocket(address: address, port: port)
    }
    core = try DNSStubCore(fd: fd, answer: answer)
    core.start()
  }

  deinit { core.stop() }

  /// The port it listens on.
  public var port: Int { core.port }

  /// Every well-formed question received so far, in order.
  public var queries: [DNSStubQuery] { core.state.copied { $0.queries } }

  /// Datagrams that were not a query the stub could parse (they get no answer).
  public var malformedCount: Int { core.state.withLock { $0.malformed } }

  /// Stops serving and closes the socket. Idempotent.
  public func stop() { core.stop() }
}

struct DNSStubState {
  var queries: [DNSStubQuery] = []
  var malformed = 0
  var stopped = false
  var loopEnded = false
}

final class DNSStubCore: Sendable {
  let state = Locked(DNSStubState())
  let fd: Int32
  let port: Int
  let answer: @Sendable (String) -> DNSStubAnswer
  private let stopRead: Int32
  private let stopWrite: Int32

  init(fd: Int32, answer: @escaping @Sendable (String) -> DNSStubAnswer) throws {
    self.fd = fd
    self.answer = answer
    var addr = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    port = Int(UInt16(bigEndian: addr.sin_port))
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else {
      let err = errno
      close(fd)
      throw TestHTTPServerError(call: "pipe", errno: err)
    }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    stopRead = ends[0]
    stopWrite = ends[1]
  }

  deinit { close(stopRead) }

  func start() {
    let thread = Thread { [self] in serve() }
    thread.stackSize = 256 * 1024
    thread.start()
  }

  /// Waits on the socket and on the stop pipe together, so `stop()` wakes it at once (a UDP socket
  /// has no shutdown that reliably interrupts a blocked recvfrom).
  private func serve() {
    defer {
      close(fd)
      state.withLock { $0.loopEnded = true }
    }
    var packet = [UInt8](repeating: 0, count: 4096)
    while true {
      var fds = [
        pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0),
      ]
      let rc = poll(&fds, 2, -1)
      if rc < 0 {
        if errno == EINTR { continue }
        return
      }
      if fds[1].revents != 0 { return }
      guard fds[0].revents != 0 else { continue }
      var from = sockaddr_storage()
      var fromLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let n = packet.withUnsafeMutableBytes { buf in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            recvfrom(fd, buf.baseAddress, buf.count, 0, $0, &fromLen)
          }
        }
      }
      if n < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        return
      }
      guard let query = DNSMessage.parseQuery(Array(packet[0..<n])) else {
        state.withLock { $0.malformed += 1 }
        continue
      }
      let decision = answer(query.name.lowercased())
      state.withLock { $0.queries.append(DNSStubQuery(name: query.name, type: query.type, answer: decision)) }
      guard let reply = DNSMessage.reply(to: query, with: decision) else { continue }
      _ = reply.withUnsafeBytes { buf in
        withUnsafePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, buf.baseAddress, buf.count, 0, $0, fromLen)
          }
        }
      }
    }
  }

  func stop() {
    let first = state.withLock { s -> Bool in
      guard !s.stopped else { return false }
      s.stopped = true
      close(stopWrite)
      return true
    }
    guard first else { return }
    let deadline = ContinuousClock.now + .seconds(2)
    while !state.withLock({ $0.loopEnded }) && ContinuousClock.now < deadline { usleep(1000) }
  }
}

/// The little of RFC 1035 the stub needs: one question in, a header plus that question (plus at most
/// one A record) out.
enum DNSMessage {
  struct Query {
    var id: UInt16
    var flags: UInt16
    var name: String
    var type: UInt16
    var qclass: UInt16
    /// The question section exactly as received (QNAME, QTYPE, QCLASS), echoed in the reply.
    var question: ArraySlice<UInt8>
  }

  /// A standard query (QR 0, opcode 0) with exactly one question; nil for anything else.
  static func parseQuery(_ p: [UInt8]) -> Query? {
    guard p.count >= 12 else { return nil }
    func u16(_ i: Int) -> UInt16 { UInt16(p[i]) << 8 | UInt16(p[i + 1]) }
    let flags = u16(2)
    guard flags & 0x8000 == 0, (flags >> 11) & 0xF == 0, u16(4) == 1 else { return nil }
    var i = 12
    var labels: [String] = []
    while true {
      guard i < p.count else { return nil }
      let len = Int(p[i])
      i += 1
      if len == 0 { break }
      // Compression pointers (top bits set) never appear in a question that starts the message.
      guard len < 64, i + len <= p.count else { return nil }
      labels.append(String(decoding: p[i..<(i + len)], as: UTF8.self))
      i += len
    }
    guard i + 4 <= p.count else { return nil }
    return Query(
      id: u16(0), flags: flags, name: labels.joined(separator: "."), type: u16(i), qclass: u16(i + 2),
      question: p[12..<(i + 4)])
  }

  /// The reply to `q`, or nil for `.silence`. Authoritative, recursion "available", RD copied.
  static func reply(to q: Query, with answer: DNSStubAnswer) -> [UInt8]? {
    var rcode: UInt16 = 0
    var record: [UInt8] = []
    switch answer {
    case .silence: return nil
    case .nxdomain: rcode = 3
    case .servfail: rcode = 2
    case .refused: rcode = 5
    case .ipv4(let text):
      var addr = in_addr()
      guard inet_pton(AF_INET, text, &addr) == 1 else {
        rcode = 2
        break
      }
      if q.type == 1 && q.qclass == 1 {
        let octets = withUnsafeBytes(of: addr.s_addr) { Array($0) }  // already in network order
        // Name: a pointer to the question's QNAME at offset 12. Type A, class IN, TTL 60, 4 bytes.
        record = [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + octets
      }
    }
    let flags: UInt16 = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode
    var out: [UInt8] = []
    for v in [q.id, flags, 1, record.isEmpty ? 0 : 1, 0, 0] as [UInt16] {
      out += [UInt8(v >> 8), UInt8(v & 0xFF)]
    }
    out += q.question
    out += record
    return out
  }
}

private func makeUDPSocket(address: String, port: UInt16) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { throw TestHTTPServerError(call: "socket(udp)", errno: errno) }
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = port.bigEndian
  guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
    close(fd)
    throw TestHTTPServerError(call: "inet_pton(\(address))", errno: EINVAL)
  }
  let bound = withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard bound == 0 else {
    let err = errno
    close(fd)
    throw TestHTTPServerError(call: "bind(\(address):\(port)/udp)", errno: err)
  }
  return fd
}
