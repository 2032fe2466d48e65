// Socket plumbing behind TestHTTPServer: listener, accept thread, one pthread per connection.
//
// Ownership rule that keeps fd handling race-free: every connection fd lives in
// `State.connectionFDs` from accept until its thread closes it, and both the close (by the
// connection thread) and the shutdown-on-stop (by `stop()`) happen under the state lock.
// So `stop()` can never shut down an fd number that was already closed and reused elsewhere.
// The listening fd follows the same idea: `stop()` only shuts it down (which makes the
// blocked accept() return), and the accept thread, the only user, closes it.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

private let maxHeaderBytes = 64 * 1024
private let threadStackSize = 256 * 1024
private let listenBacklog: Int32 = 4096

/// Shared state; only touched under `ServerCore.state`'s lock.
struct ServerState {
  var stopped = false
  var listenFD: Int32
  var stopWriteFD: Int32
  var listenerClosed = false
  var connectionFDs: Set<Int32> = []
  var connectionCount = 0
  var requests: [TestRequest] = []
}

/// Everything the accept and connection threads need. Sendable because all mutable state
/// sits behind a lock and the rest is immutable.
final class ServerCore: Sendable {
  let handler: @Sendable (TestRequest) -> TestResponse
  let state: Locked<ServerState>
  let port: Int
  /// Read end of a pipe whose write end `stop()` closes: delayed responses poll() on it, so
  /// thousands of sleeping connections cost no CPU yet wake at once on stop. Closed only in
  /// deinit, after every thread has let go of the core, so the number is never reused early.
  let stopReadFD: Int32

  init(handler: @escaping @Sendable (TestRequest) -> TestResponse) throws {
    raiseFileLimitOnce()
    let fd = try makeLoopbackSocket()
    do {
      var one: Int32 = 1
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
      port = try boundPort(fd)
      guard listen(fd, listenBacklog) == 0 else { throw TestHTTPServerError(call: "listen", errno: errno) }
    } catch {
      close(fd)
      throw error
    }
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else {
      let err = errno
      close(fd)
      throw TestHTTPServerError(call: "pipe", errno: err)
    }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    self.handler = handler
    self.stopReadFD = ends[0]
    self.state = Locked(ServerState(listenFD: fd, stopWriteFD: ends[1]))
    do {
      try spawnThread { [self] in acceptLoop(fd) }
    } catch {
      close(fd)
      close(ends[1])
      throw error  // deinit closes ends[0]
    }
  }

  deinit { close(stopReadFD) }

  var isStopped: Bool { state.withLock { $0.stopped } }

  func stop() {
    let first = state.withLock { s -> Bool in
      guard !s.stopped else { return false }
      s.stopped = true
      close(s.stopWriteFD)  // wakes every delayed response (POLLHUP on stopReadFD)
      // On Linux, shutdown() on a listening socket makes a blocked accept() fail with EINVAL.
      shutdown(s.listenFD, Int32(SHUT_RDWR))
      for fd in s.connectionFDs { shutdown(fd, Int32(SHUT_RDWR)) }
      return true
    }
    guard first else { return }
    // Wait (bounded) for the accept thread to close the listener, so the port is really
    // released when stop() returns. The accept thread does nothing that can block here.
    let deadline = ContinuousClock.now + .seconds(2)
    while !state.withLock({ $0.listenerClosed }) && ContinuousClock.now < deadline {
      usleep(1000)
    }
  }

  // MARK: accept thread

  private func acceptLoop(_ listenFD: Int32) {
    defer {
      close(listenFD)
      state.withLock { $0.listenerClosed = true }
    }
    while true {
      let fd = accept(listenFD, nil, nil)
      if fd < 0 {
        let err = errno
        if isStopped { return }
        switch err {
        case EINTR, ECONNABORTED, EPROTO: continue
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(10_000); continue  // wait for fds to free up
        default: return
        }
      }
      let id = state.withLock { s -> Int? in
        guard !s.stopped else { return nil }
        s.connectionCount += 1
        s.connectionFDs.insert(fd)
        return s.connectionCount
      }
      guard let id else {
        close(fd)
        return
      }
      // CLOEXEC so end-to-end tests that spawn the daemon don't leak our sockets into it
      // (accept4 is not visible to Swift without _GNU_SOURCE, hence fcntl).
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      var one: Int32 = 1
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
      do {
        try spawnThread { [self] in serve(fd, connectionID: id) }
      } catch {
        closeConnection(fd)  // out of threads: the client sees a reset, the server keeps going
      }
    }
  }

  private func closeConnection(_ fd: Int32) {
    state.withLock { s in
      s.connectionFDs.remove(fd)
      close(fd)
    }
  }

  // MARK: connection thread

  private func serve(_ fd: Int32, connectionID: Int) {
    defer { closeConnection(fd) }
    var reader = Reader(fd: fd)
    while !isStopped {
      // Request line + headers.
      reader.skipLeadingBlankLines()
      var stamp: (ContinuousClock.Instant, Double)?
      var headerEnd: Int?
      while true {
        if stamp == nil, reader.buffer.firstIndex(of: UInt8(ascii: "\n")) != nil {
          stamp = (ContinuousClock.now, Date().timeIntervalSince1970)
        }
        headerEnd = reader.headerEnd()
        if headerEnd != nil { break }
        if reader.buffer.count > maxHeaderBytes {
          _ = sendAll(fd, responseHead(status: 431, headers: [], contentLength: 0, close: true))
          return
        }
        guard reader.fill() else { return }  // client went away (or stop())
        reader.skipLeadingBlankLines()
      }
      guard let headerEnd, headerEnd <= maxHeaderBytes else {
        _ = sendAll(fd, responseHead(status: 431, headers: [], contentLength: 0, close: true))
        return
      }
      let headText = String(decoding: reader.buffer[..<headerEnd], as: UTF8.self)
      reader.consume(headerEnd + 4)
      guard let parsed = ParsedHead(headText) else {
        _ = sendAll(fd, responseHead(status: 400, headers: [], contentLength: 0, close: true))
        return
      }
      if parsed.chunkedBody {  // not needed by any test; refuse rather than mis-frame
        _ = sendAll(fd, responseHead(status: 501, headers: [], contentLength: 0, close: true))
        return
      }

      let (instant, wall) = stamp ?? (ContinuousClock.now, Date().timeIntervalSince1970)
      let request = TestRequest(
        method: parsed.method, path: parsed.target, headers: parsed.headers,
        host: parsed.value("Host"), receivedAt: instant, wallClock: wall, connectionID: connectionID)
      state.withLock { $0.requests.append(request) }

      // Discard a request body so the next request on this connection parses cleanly.
      if parsed.contentLength > 0 {
        if parsed.value("Expect")?.lowercased() == "100-continue" {
          guard sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
        }
        guard reader.discard(parsed.contentLength) else { return }
      }

      let response = handler(request)
      if response.delay > .zero, !sleep(response.delay) { return }
      if response.dropConnection { return }

      let isHead = parsed.method == "HEAD"
      if response.endlessBody {
        // No length, so the body ends when the connection does: always close.
        guard sendAll(fd, responseHead(status: response.status, headers: response.headers, contentLength: nil, close: true)),
          !isHead
        else { return }
        let chunk = response.body.isEmpty ? [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024) : response.body
        while !isStopped, sendAll(fd, chunk) {}
        return
      }

      let close = response.closeAfter || parsed.clientWantsClose
      let userLength = response.headers.contains { $0.0.caseInsensitiveCompare("Content-Length") == .orderedSame }
      var bytes = responseHead(
        status: response.status, headers: response.headers,
        contentLength: userLength ? nil : response.body.count, close: close)
      if !isHead { bytes += response.body }
      guard sendAll(fd, bytes), !close else { return }
    }
  }

  /// Waits for `duration` unless the server is stopped first (then false). Uses poll() on the
  /// stop pipe rather than sleep-and-check slices: with 2000 delayed connections, polling a
  /// flag every few ms saturated the CPU and stretched a 2 s delay to over 4 s.
  private func sleep(_ duration: Duration) -> Bool {
    let deadline = ContinuousClock.now + duration
    while true {
      let left = (deadline - ContinuousClock.now).components
      if left.seconds < 0 || (left.seconds == 0 && left.attoseconds <= 0) { return true }
      // Round up to whole milliseconds so we never wake just before the deadline and spin.
      let millis = left.seconds * 1000 + (left.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
      var pfd = pollfd(fd: stopReadFD, events: Int16(POLLIN), revents: 0)
      let rc = poll(&pfd, 1, Int32(clamping: millis))
      if rc > 0 { return false }
      if rc < 0 && errno != EINTR { return !isStopped }
    }
  }
}

// MARK: - Request parsing

/// Buffered reads from a connection; keeps bytes of a pipelined next request.
private struct Reader {
  let fd: Int32
  var buffer: [UInt8] = []
  private var scratch = [UInt8](repeating: 0, count: 16 * 1024)
  private var scanned = 0  // bytes already searched for the header terminator

  init(fd: Int32) { self.fd = fd }

  /// Reads more bytes; false on EOF or error (including our own shutdown on stop()).
  mutating func fill() -> Bool {
    while true {
      let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n > 0 {
        buffer += scratch[..<n]
        return true
      }
      if n < 0 && errno == EINTR { continue }
      return false
    }
  }

  /// Offset of "\r\n\r\n" ending the header block, if present. Incremental, so a slowly
  /// trickling 64 KiB header block costs linear, not quadratic, time.
  mutating func headerEnd() -> Int? {
    var i = max(0, scanned - 3)
    while i + 4 <= buffer.count {
      if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i }
      i += 1
    }
    scanned = buffer.count
    return nil
  }

  mutating func consume(_ n: Int) {
    buffer.removeFirst(min(n, buffer.count))
    scanned = 0
  }

  /// RFC 9112 §2.2: ignore empty lines before a request line.
  mutating func skipLeadingBlankLines() {
    var n = 0
    while n < buffer.count, buffer[n] == 13 || buffer[n] == 10 { n += 1 }
    if n > 0 { consume(n) }
  }

  /// Drops `count` body bytes, reading as needed. False if the client went away first.
  mutating func discard(_ count: Int) -> Bool {
    var left = count
    while true {
      let take = min(left, buffer.count)
      consume(take)
      left -= take
      if left == 0 { return true }
      guard fill() else { return false }
    }
  }
}

private struct ParsedHead {
  var method: String
  var target: String
  var version: String
  var headers: [(String, String)]

  init?(_ text: String) {
    var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)[...]
    guard let requestLine = lines.popFirst() else { return nil }
    let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 3, parts[2].hasPrefix("HTTP/") else { return nil }
    method = String(parts[0])
    target = String(parts[1])
    version = String(parts[2])
    headers = []
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { return nil }
      headers.append((
        String(line[..<colon]),
        String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
      ))
    }
  }

  func value(_ name: String) -> String? {
    headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
  }

  var contentLength: Int { value("Content-Length").flatMap { Int($0) } ?? 0 }

  var chunkedBody: Bool { value("Transfer-Encoding")?.lowercased().contains("chunked") ?? false }

  /// HTTP/1.1 is keep-alive unless told otherwise; HTTP/1.0 only with an explicit keep-alive.
  var clientWantsClose: Bool {
    let tokens = (value("Connection") ?? "").lowercased().split(separator: ",").map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    if tokens.contains("close") { return true }
    return version == "HTTP/1.0" && !tokens.contains("keep-alive")
  }
}

// MARK: - Responses and sockets

private func responseHead(status: Int, headers: [(String, String)], contentLength: Int?, close: Bool) -> [UInt8] {
  var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
  for (name, value) in headers { head += "\(name): \(value)\r\n" }
  if let contentLength { head += "Content-Length: \(contentLength)\r\n" }
  if close { head += "Connection: close\r\n" }
  head += "\r\n"
  return Array(head.utf8)
}

private func reasonPhrase(_ status: Int) -> String {
  switch status {
  case 200: "OK"
  case 201: "Created"
  case 204: "No Content"
  case 206: "Partial Content"
  case 301: "Moved Permanently"
  case 302: "Found"
  case 303: "See Other"
  case 304: "Not Modified"
  case 307: "Temporary Redirect"
  case 308: "Permanent Redirect"
  case 400: "Bad Request"
  case 401: "Unauthorized"
  case 403: "Forbidden"
  case 404: "Not Found"
  case 405: "Method Not Allowed"
  case 410: "Gone"
  case 429: "Too Many Requests"
  case 431: "Request Header Fields Too Large"
  case 451: "Unavailable For Legal Reasons"
  case 500: "Internal Server Error"
  case 501: "Not Implemented"
  case 502: "Bad Gateway"
  case 503: "Service Unavailable"
  case 504: "Gateway Timeout"
  default: "Status"
  }
}

/// Writes everything; false if the peer is gone. MSG_NOSIGNAL: a vanished client must give
/// EPIPE here, not a SIGPIPE that kills the whole test process.
private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
  bytes.withUnsafeBytes { raw in
    var offset = 0
    while offset < raw.count {
      let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
      if n > 0 {
        offset += n
      } else if n < 0 && errno == EINTR {
        continue
      } else {
        return false
      }
    }
    return true
  }
}

func makeLoopbackSocket() throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { throw TestHTTPServerError(call: "socket", errno: errno) }
  return fd
}

/// Binds `fd` to 127.0.0.1 port 0 and returns the port the kernel chose.
func boundPort(_ fd: Int32) throws -> Int {
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = 0
  addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
  var len = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
  }
  guard bound == 0 else { throw TestHTTPServerError(call: "bind", errno: errno) }
  let named = withUnsafeMutablePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
  }
  guard named == 0 else { throw TestHTTPServerError(call: "getsockname", errno: errno) }
  return Int(UInt16(bigEndian: addr.sin_port))
}

// MARK: - Threads and limits

/// Carries the closure into the C thread entry point. Immutable and holding only a Sendable
/// closure, so it is Sendable without any unchecked conformance.
private final class ThreadBody: Sendable {
  let run: @Sendable () -> Void
  init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a detached pthread with a small stack: a couple of thousand connection threads
/// would otherwise reserve the default 8 MiB each.
private func spawnThread(_ body: @escaping @Sendable () -> Void) throws {
  var attr = pthread_attr_t()
  pthread_attr_init(&attr)
  defer { pthread_attr_destroy(&attr) }
  pthread_attr_setstacksize(&attr, threadStackSize)
  pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
  let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  var thread = pthread_t()
  let rc = pthread_create(&thread, &attr, { context in
    let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
    body.run()
    return nil
  }, context)
  guard rc == 0 else {
    Unmanaged<ThreadBody>.fromOpaque(context).release()
    throw TestHTTPServerError(call: "pthread_create", errno: rc)
  }
}

/// Thousands of concurrent connections need thousands of fds (client and server side live
/// in the same test process), so lift the soft limit to the hard limit once per process.
private let fileLimitRaised: Bool = {
  var limit = rlimit()
  let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
  guard getrlimit(resource, &limit) == 0 else { return false }
  if limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    return setrlimit(resource, &limit) == 0
  }
  return true
}()

private func raiseFileLimitOnce() { _ = fileLimitRaised }
