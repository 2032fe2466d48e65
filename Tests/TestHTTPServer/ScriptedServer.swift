// A server that writes raw bytes on a schedule, for answers no well-behaved HTTP server would give:
// endless header blocks, a status line that trickles one byte a second (slowloris), a gzip bomb.
//
// Why a second server: TestHTTPServer frames every answer correctly on purpose. Hostile answers are
// about framing, timing and size, so here the test's script owns the socket and decides every byte.
//
// It can also listen on an address other than 127.0.0.1 inside a private network namespace (see
// NetworkNamespace.swift): that is how a test gets a "public" address that is still on this machine.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One accepted connection, handed to the script on a thread of its own.
public final class ScriptedConnection: @unchecked Sendable {
  // @unchecked: used only by the connection's own thread; `server` is Sendable.
  public let fd: Int32
  private let server: ScriptedServerCore
  private var buffer: [UInt8] = []
  /// Body and header bytes the script managed to send on this connection.
  public private(set) var bytesSent = 0

  init(fd: Int32, server: ScriptedServerCore) {
    self.fd = fd
    self.server = server
  }

  /// Reads one request head (up to the blank line) and returns its request target ("/a?b"), or nil
  /// when the client went away first. Records the request with the server.
  public func readRequest() -> String? {
    while true {
      if let end = headEnd() {
        let head = String(decoding: buffer[..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        let firstLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = firstLine.split(separator: " ")
        let target = parts.count >= 2 ? String(parts[1]) : ""
        server.record(target: target, head: head)
        return target
      }
      if buffer.count > 64 * 1024 { return nil }
      var chunk = [UInt8](repeating: 0, count: 16 * 1024)
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 {
        if n < 0 && errno == EINTR { continue }
        return nil
      }
      buffer += chunk[..<n]
    }
  }

  private func headEnd() -> Int? {
    guard buffer.count >= 4 else { return nil }
    for i in 0...(buffer.count - 4)
    where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
      return i
    }
    return nil
  }

  /// Writes all of `bytes`; false once the client is gone or the server stopped.
  @discardableResult
  public func send(_ bytes: [UInt8]) -> Bool {
    if server.isStopped { return false }
    let ok = bytes.withUnsafeBytes { raw -> Bool in
      var offset = 0
      while offset < raw.count {
        let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
        if n > 0 {
          offset += n
          bytesSent += n
        } else if n < 0 && errno == EINTR {
          continue
        } else {
          return false
        }
      }
      return true
    }
    return ok
  }

  @discardableResult
  public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

  /// Waits `duration` unless the server is stopped first (then false).
  public func pause(_ duration: Duration) -> Bool { server.pause(duration) }

  /// Whether the client closed its end (a zero-length read is pending). Does not consume data.
  public var clientClosed: Bool {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 0) > 0 else { return false }
    if pfd.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
  }
}

/// A raw TCP server: accepts connections and runs `script` on each, on its own thread.
public final class ScriptedServer: Sendable {
  private let core: ScriptedServerCore

  /// Listens on `address` (an IPv4 literal, default 127.0.0.1), port 0. With `namespace`, the listening
  /// socket is created inside that network namespace, so only processes in it can connect.
  public init(
    address: String = "127.0.0.1", namespace: NetworkNamespace? = nil,
    script: @escaping @Sendable (ScriptedConnection) -> Void
  ) throws {
    let fd: Int32
    if let namespace {
      fd = try namespace.withEntered { try makeListener(address: address) }
    } else {
      fd = try makeListener(address: address)
    }
    core = ScriptedServerCore(listenFD: fd, script: script)
    core.start()
  }

  deinit { core.stop() }

  /// The kernel-chosen port.
  public var port: Int { core.port }

  /// Request targets received so far, in order.
  public var targets: [String] { core.state.copied { $0.targets } }

  /// Request heads (request line and headers) received so far, in order.
  public var heads: [String] { core.state.copied { $0.heads } }

  public var connectionCount: Int { core.state.withLock { $0.connections } }

  /// Total bytes written by scripts across connections.
  public var bytesSent: Int { core.state.withLock { $0.bytesSent } }

  /// Shuts every connection down and wakes every paused script. Idempotent.
  public func stop() { core.stop() }
}

struct ScriptedState {
  var stopped = false
  var listenerClosed = false
  var connectionFDs: Set<Int32> = []
  var connections = 0
  var targets: [String] = []
  var heads: [String] = []
  var bytesSent = 0
}

final class ScriptedServerCore: Sendable {
  let state = Locked(ScriptedState())
  let listenFD: Int32
  let port: Int
  let script: @Sendable (ScriptedConnection) -> Void
  private let stopRead: Int32
  private let stopWrite: Int32

  init(listenFD: Int32, script: @escaping @Sendable (ScriptedConnection) -> Void) {
    self.listenFD = listenFD
    self.script = script
    var addr = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &len) }
    }
    port = Int(UInt16(bigEndian: addr.sin_port))
    var ends: [Int32] = [-1, -1]
    _ = pipe(&ends)
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    stopRead = ends[0]
    stopWrite = ends[1]
  }

  deinit { close(stopRead) }

  var isStopped: Bool { state.withLock { $0.stopped } }

  func record(target: String, head: String) {
    state.withLock {
      $0.targets.append(target)
      $0.heads.append(head)
    }
  }

  func start() {
    let thread = Thread { [self] in acceptLoop() }
    thread.stackSize = 256 * 1024
    thread.start()
  }

  private func acceptLoop() {
    defer {
      close(listenFD)
      state.withLock { $0.listenerClosed = true }
    }
    while true {
      let fd = accept(listenFD, nil, nil)
      if fd < 0 {
        if isStopped { return }
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      let accepted = state.withLock { s -> Bool in
        guard !s.stopped else { return false }
        s.connections += 1
        s.connectionFDs.insert(fd)
        return true
      }
      guard accepted else {
        close(fd)
        return
      }
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      let thread = Thread { [self] in
        let connection = ScriptedConnection(fd: fd, server: self)
        script(connection)
        state.withLock { s in
          s.bytesSent += connection.bytesSent
          s.connectionFDs.remove(fd)
          close(fd)
        }
      }
      thread.stackSize = 256 * 1024
      thread.start()
    }
  }

  func pause(_ duration: Duration) -> Bool {
    let deadline = ContinuousClock.now + duration
    while true {
      let left = deadline - ContinuousClock.now
      if left <= .zero { return !isStopped }
      let ms = max(1, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
      var pfd = pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)
      let rc = poll(&pfd, 1, ms)
      if rc > 0 { return false }
    }
  }

  func stop() {
    let first = state.withLock { s -> Bool in
      guard !s.stopped else { return false }
      s.stopped = true
      close(stopWrite)
      shutdown(listenFD, Int32(SHUT_RDWR))
      for fd in s.connectionFDs { shutdown(fd, Int32(SHUT_RDWR)) }
      return true
    }
    guard first else { return }
    let deadline = ContinuousClock.now + .seconds(2)
    while !state.withLock({ $0.listenerClosed }) && ContinuousClock.now < deadline { usleep(1000) }
  }
}

private func makeListener(address: String) throws -> Int32 {
  let fd = try makeLoopbackSocket()
  var one: Int32 = 1
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = 0
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
    throw TestHTTPServerError(call: "bind(\(address))", errno: err)
  }
  guard listen(fd, 512) == 0 else {
    let err = errno
    close(fd)
    throw TestHTTPServerError(call: "listen", errno: err)
  }
  return fd
}

// MARK: - Hostile answers

/// Byte streams of answers that try to make a client read forever, wait forever or allocate forever.
public enum HostileAnswer {
  /// A status line, then header lines forever (each `X-Filler-N: …`), never the blank line.
  /// Returns when the client disconnects or the server stops.
  public static func endlessHeaders(_ c: ScriptedConnection) {
    guard c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n") else { return }
    var n = 0
    let filler = String(repeating: "a", count: 200)
    while true {
      var chunk = ""
      for _ in 0..<50 {
        chunk += "X-Filler-\(n): \(filler)\r\n"
        n += 1
      }
      guard c.send(chunk) else { return }
    }
  }

  /// One header line with no end: a single line growing without bound.
  public static func endlessHeaderLine(_ c: ScriptedConnection) {
    guard c.send("HTTP/1.1 200 OK\r\nX-Long: ") else { return }
    let chunk = [UInt8](repeating: UInt8(ascii: "b"), count: 16 * 1024)
    while c.send(chunk) {}
  }

  /// Slowloris: the whole answer, one byte every `interval`. Returns when done or disconnected.
  public static func slowloris(_ c: ScriptedConnection, interval: Duration = .seconds(1)) {
    let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
    for b in answer {
      guard c.send([b]), c.pause(interval) else { return }
    }
  }

  /// Complete headers at once, then the body one byte every `interval` (a trickling body).
  public static func slowBody(_ c: ScriptedConnection, interval: Duration = .seconds(1)) {
    guard c.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n") else { return }
    while c.send([UInt8(ascii: "x")]), c.pause(interval) {}
  }

  /// `Content-Encoding: gzip` over a deflate stream of zeros that never ends: about 160 bytes of output
  /// per byte sent, without bound. A client that inflates it runs out of memory or time; one that does
  /// not ask for gzip must take it as opaque bytes and stop at its body cap.
  public static func gzipBomb(_ c: ScriptedConnection, chunked: Bool = false) {
    var head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
    head += chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n"
    guard c.send(head) else { return }
    var deflate = EndlessZeroDeflate()
    while true {
      let block = deflate.next(bytes: 16 * 1024)
      var out: [UInt8] = []
      if chunked { out += Array((String(block.count, radix: 16) + "\r\n").utf8) }
      out += block
      if chunked { out += [13, 10] }
      guard c.send(out) else { return }
    }
  }

  /// A finite gzip member whose content inflates to `inflatedBytes` zeros, for clients that check the
  /// stream really is gzip (python's zlib, `gzip -t`).
  public static func gzipOfZeros(inflatedBytes: Int) -> [UInt8] {
    var deflate = EndlessZeroDeflate()
    return deflate.finite(zeros: inflatedBytes)
  }
}

/// A gzip member whose deflate data is one fixed-Huffman block: a literal 0, then back-references of
/// length 258 at distance 1 (each 258 more zeros for 13 bits). Written bit by bit, no zlib needed.
struct EndlessZeroDeflate {
  private var out: [UInt8] = []
  private var bitBuffer: UInt32 = 0
  private var bitCount = 0
  private var started = false

  private mutating func bits(_ value: UInt32, _ count: Int) {
    // Deflate packs fields starting at the least significant bit.
    bitBuffer |= value << UInt32(bitCount)
    bitCount += count
    while bitCount >= 8 {
      out.append(UInt8(truncatingIfNeeded: bitBuffer))
      bitBuffer >>= 8
      bitCount -= 8
    }
  }

  /// Huffman codes are sent most significant bit first, so reverse them into the LSB-first stream.
  private mutating func code(_ value: UInt32, _ length: Int) {
    var reversed: UInt32 = 0
    for i in 0..<length where value & (1 << UInt32(i)) != 0 { reversed |= 1 << UInt32(length - 1 - i) }
    bits(reversed, length)
  }

  private mutating func header() {
    // gzip: magic, CM=deflate, no flags, mtime 0, XFL 2, OS unix.
    out += [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]
    bits(0, 1)  // BFINAL: 0 (the block never ends in the endless variant)
    bits(1, 2)  // BTYPE 01: fixed Huffman
    code(0x30, 8)  // literal 0: codes 0-143 are 0x30 + value, 8 bits
    started = true
  }

  private mutating func match258() {
    code(0b1100_0101, 8)  // length symbol 285 (= 258): codes 280-287 are 0xC0 + (sym - 280), 8 bits
    bits(0, 5)  // distance code 0 (= 1), 5 bits, no extra bits
  }

  mutating func next(bytes: Int) -> [UInt8] {
    if !started { header() }
    while out.count < bytes { match258() }
    let chunk = out
    out.removeAll(keepingCapacity: true)
    return chunk
  }

  mutating func finite(zeros: Int) -> [UInt8] {
    out.removeAll()
    bitBuffer = 0
    bitCount = 0
    out += [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]
    bits(1, 1)  // BFINAL
    bits(1, 2)
    var left = zeros
    if left > 0 {
      code(0x30, 8)
      left -= 1
    }
    while left >= 258 + 3 || left == 258 {
      match258()
      left -= 258
    }
    while left > 0 {
      code(0x30, 8)
      left -= 1
    }
    code(0, 7)  // end of block: symbol 256, 7-bit code 0000000
    if bitCount > 0 { bits(0, 8 - bitCount) }
    // CRC-32 and size of the inflated data.
    var crc: UInt32 = 0xFFFF_FFFF
    for _ in 0..<zeros {
      crc ^= 0
      for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    let size = UInt32(truncatingIfNeeded: zeros)
    for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
    return out
  }
}
