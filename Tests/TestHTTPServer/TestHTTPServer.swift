// A small, real HTTP/1.1 server on 127.0.0.1 for tests and benchmarks.
//
// Why not a mock: the daemon talks to the network through libcurl, so the only honest test
// is a real socket. Why plain POSIX sockets and a thread per connection: no dependencies,
// and a blocking thread per connection makes per-response `delay`, dropped connections and
// endless bodies trivial to express and never lets one slow client hold up another.
//
// The socket plumbing lives in ServerCore.swift; this file holds the public API.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What the server sends back for one request.
public struct TestResponse: Sendable {
  /// HTTP status code, e.g. 200, 301, 404.
  public var status: Int
  /// Extra response headers, sent in this order. `Content-Length` is added automatically
  /// (except with `endlessBody`); if you set `Content-Length` yourself it is sent as given
  /// and not added again, which lets a test lie about the length (combine with `closeAfter`).
  public var headers: [(String, String)]
  /// Response body. Not sent for HEAD requests (but its length is still announced).
  public var body: [UInt8]
  /// Time to wait, on the connection's own thread, before sending anything (or dropping).
  /// Cut short when the server is stopped.
  public var delay: Duration
  /// Send `Connection: close` and close the connection after the response.
  public var closeAfter: Bool
  /// Close the socket without answering at all (after `delay`); curl reports exit 52.
  public var dropConnection: Bool
  /// Send headers without `Content-Length`, then stream body bytes (`body` repeated, or
  /// filler if empty) until the client disconnects or the server is stopped.
  public var endlessBody: Bool

  /// Creates a response; every parameter has a harmless default (200, empty body, no delay).
  public init(
    status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [],
    delay: Duration = .zero, closeAfter: Bool = false, dropConnection: Bool = false,
    endlessBody: Bool = false
  ) {
    self.status = status
    self.headers = headers
    self.body = body
    self.delay = delay
    self.closeAfter = closeAfter
    self.dropConnection = dropConnection
    self.endlessBody = endlessBody
  }

  /// A UTF-8 text response with `Content-Type: text/plain; charset=utf-8` followed by `headers`.
  public static func text(_ status: Int, _ body: String, headers: [(String, String)] = []) -> TestResponse {
    TestResponse(
      status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers,
      body: Array(body.utf8))
  }

  /// A redirect (default 301) with a `Location` header and an empty body.
  public static func redirect(_ status: Int = 301, to location: String) -> TestResponse {
    TestResponse(status: status, headers: [("Location", location)])
  }
}

/// One request as the server received it.
public struct TestRequest: Sendable {
  /// Request method as sent, e.g. "GET", "HEAD".
  public var method: String
  /// Request target as sent, including any query string, e.g. "/a?b=1".
  public var path: String
  /// Request headers in the order sent, names with their original case.
  public var headers: [(String, String)]
  /// Value of the `Host` header, if any.
  public var host: String?
  /// Monotonic time at which the request line was fully read.
  public var receivedAt: ContinuousClock.Instant
  /// Wall-clock time (seconds since 1970) at which the request line was fully read.
  public var wallClock: Double
  /// Number of the connection this request arrived on (1, 2, ... per accepted connection),
  /// so tests can tell whether the client reused a keep-alive connection.
  public var connectionID: Int

  /// First value of header `name`, compared case-insensitively.
  public func header(_ name: String) -> String? {
    headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
  }
}

/// Why the server could not start: the failing system call and its errno.
public struct TestHTTPServerError: Error, CustomStringConvertible {
  /// Name of the failing call, e.g. "bind".
  public var call: String
  /// `errno` right after the failure.
  public var errno: Int32
  /// "bind: Address already in use (errno 98)".
  public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// A real HTTP/1.1 server on 127.0.0.1 with a kernel-chosen port, one thread per connection,
/// keep-alive by default. Stops when `stop()` is called or when the object is released.
public final class TestHTTPServer: Sendable {
  // Owned jointly with the accept and connection threads, so releasing the server (and thus
  // `deinit` -> `stop()`) does not wait for those threads to finish.
  private let core: ServerCore

  /// Starts listening on 127.0.0.1, port 0 (kernel-chosen). Handler is called on the connection's thread.
  public init(handler: @escaping @Sendable (TestRequest) -> TestResponse) throws {
    core = try ServerCore(handler: handler)
  }

  /// Convenience router: exact path (without query) -> response; unknown paths get 404 "not found".
  public convenience init(routes: [String: TestResponse]) throws {
    try self.init { request in
      let path = request.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
      return routes[String(path)] ?? .text(404, "not found")
    }
  }

  deinit { core.stop() }

  /// The port the server listens on.
  public var port: Int { core.port }

  /// "http://127.0.0.1:\(port)", without a trailing slash.
  public var baseURL: String { "http://127.0.0.1:\(port)" }

  /// Every request received so far, in the order their headers were complete.
  public func requests() -> [TestRequest] { core.state.copied { $0.requests } }

  /// Number of requests received so far.
  public var requestCount: Int { core.state.withLock { $0.requests.count } }

  /// Number of connections accepted so far.
  public var connectionCount: Int { core.state.withLock { $0.connectionCount } }

  /// Closes the listener and shuts down all open connections. Never waits on a connection
  /// thread (they exit on their own once their socket is shut down); idempotent; also called
  /// from deinit.
  public func stop() { core.stop() }

  /// A port on 127.0.0.1 that was just bound and closed, so nothing listens on it (for "connection refused" tests).
  public static func closedPort() throws -> Int {
    let fd = try makeLoopbackSocket()
    defer { close(fd) }
    return try boundPort(fd)
  }
}
