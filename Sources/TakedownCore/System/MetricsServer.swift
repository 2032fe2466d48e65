// CCurl exports <sys/socket.h>: Glibc alone does not surface SOCK_* constants in whole-module builds.
import CCurl
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP listener for `GET /metrics` on the configured address: one thread, one request per
/// connection, each bounded by a size cap and deadlines (5 s for the request head, 5 s for the answer). Scrapes are rare and tiny; a web
/// framework would cost more build time than it saves.
public final class MetricsServer: @unchecked Sendable {
  // @unchecked: `fd` is written once in init; the accept thread only reads it.
  private let fd: Int32
  private let metrics: DaemonMetrics
  public let port: Int

  public init(listen: String, metrics: DaemonMetrics) throws {
    self.metrics = metrics
    guard let colon = listen.lastIndex(of: ":"), let p = UInt16(listen[listen.index(after: colon)...]) else {
      throw MetricsServerError(message: "bad listen address \(listen)")
    }
    var host = String(listen[..<colon])
    let v6 = host.hasPrefix("[")
    if v6 { host = String(host.dropFirst().dropLast()) }
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw MetricsServerError(message: "socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var rc: Int32
    if v6 {
      var a = sockaddr_in6()
      a.sin6_family = sa_family_t(AF_INET6)
      a.sin6_port = p.bigEndian
      inet_pton(AF_INET6, host, &a.sin6_addr)
      rc = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
      }
    } else {
      var a = sockaddr_in()
      a.sin_family = sa_family_t(AF_INET)
      a.sin_port = p.bigEndian
      inet_pton(AF_INET, host, &a.sin_addr)
      rc = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
    }
    guard rc == 0, Glibc.listen(fd, 64) == 0 else {
      let e = errno
      close(fd)
      throw MetricsServerError(message: "cannot listen on \(listen): \(String(cString: strerror(e)))")
    }
    var bound = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    let boundPort = withUnsafePointer(to: &bound) { ptr in
      Int(
        v6
          ? UInt16(bigEndian: ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port })
          : UInt16(bigEndian: ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }))
    }
    self.fd = fd
    self.port = boundPort
    let thread = Thread { [self] in
      nameCurrentThread("td-metrics")
      serve()
    }
    thread.name = "td-metrics"
    thread.start()
  }

  /// A request head larger than this is refused: a scrape's is a few hundred bytes.
  static let maxRequestBytes = 16 * 1024
  /// How long one connection may take to send its request head, and then to take the answer.
  static let connectionTimeoutMs: Int64 = 5000

  private func serve() {
    while true {
      let c = accept(fd, nil, nil)
      if c < 0 {
        if errno == EINTR { continue }
        // Out of descriptors: wait for some to free up rather than end the listener.
        if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM || errno == ECONNABORTED {
          usleep(100_000)
          continue
        }
        return
      }
      handle(c)
    }
  }

  /// One connection: read until the end of the request head (a client may send it in pieces), answer
  /// all of it, then half-close and drain so that the close never turns into a reset.
  private func handle(_ c: Int32) {
    defer { close(c) }
    let deadline = monotonicMs() + Self.connectionTimeoutMs
    var tv = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var request: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    var complete = false
    while !complete && request.count <= Self.maxRequestBytes && monotonicMs() < deadline {
      let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
      if n > 0 {
        // Search only the new bytes (and the three before them) for the blank line.
        let from = max(0, request.count - 3)
        request += buf[0..<n]
        complete = Self.headEnd(request, from: from)
      } else if n == 0 {
        break
      } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
        return
      }
    }
    let status: String
    let body: [UInt8]
    if !complete {
      status = request.count > Self.maxRequestBytes ? "431 Request Header Fields Too Large" : "400 Bad Request"
      body = Array("bad request\n".utf8)
    } else if request.starts(with: Array("GET /metrics ".utf8)) || request.starts(with: Array("GET /metrics?".utf8)) {
      status = "200 OK"
      body = metrics.render(now: Timestamp.nowMs())
    } else {
      status = "404 Not Found"
      body = Array("not found\n".utf8)
    }
    let head =
      "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
      + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    let out = Array(head.utf8) + body
    var off = 0
    let writeDeadline = monotonicMs() + Self.connectionTimeoutMs
    while off < out.count && monotonicMs() < writeDeadline {
      let w = out.withUnsafeBytes { send(c, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
      if w > 0 {
        off += w
      } else if w < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
        continue
      } else {
        return
      }
    }
    // Closing with unread input makes the kernel send a reset, which can destroy the answer still
    // on its way: say we are done, then read (and drop) whatever comes until the client closes.
    shutdown(c, Int32(SHUT_WR))
    let drainDeadline = monotonicMs() + 1000
    while monotonicMs() < drainDeadline {
      let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
      if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) { break }
    }
  }

  static func headEnd(_ bytes: [UInt8], from: Int) -> Bool {
    guard bytes.count >= 4 else { return false }
    var i = from
    while i + 3 < bytes.count {
      if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return true }
      i += 1
    }
    return false
  }
}

public struct MetricsServerError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
