// CCurl exports <sys/socket.h>: Glibc alone does not surface SOCK_* constants in whole-module builds.
import CCurl
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP listener for `GET /metrics` on the configured address: one thread, one request per
/// connection. Scrapes are rare and tiny; a web framework would cost more build time than it saves.
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

  private func serve() {
    while true {
      let c = accept(fd, nil, nil)
      if c < 0 {
        if errno == EINTR { continue }
        return
      }
      var tv = timeval(tv_sec: 2, tv_usec: 0)
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
      var buf = [UInt8](repeating: 0, count: 4096)
      let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
      let request = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
      let ok = request.hasPrefix("GET /metrics ") || request.hasPrefix("GET /metrics?")
      let body: [UInt8] = ok ? metrics.render(now: Timestamp.nowMs()) : Array("not found\n".utf8)
      let head =
        "HTTP/1.1 \(ok ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
      var out = Array(head.utf8) + body
      var off = 0
      while off < out.count {
        let w = out.withUnsafeMutableBytes { send(c, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
        if w <= 0 { break }
        off += w
      }
      close(c)
    }
  }
}

public struct MetricsServerError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
