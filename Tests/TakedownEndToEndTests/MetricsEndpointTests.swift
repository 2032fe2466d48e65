import Foundation
import TakedownCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The metrics listener reads the whole request head before it answers, and closes gracefully, so a
/// client that writes its request in pieces gets the whole answer, not a reset (issue 21).
@Suite struct MetricsEndpointTests {
  @Test func aRequestInTwoWritesGetsTheWholeAnswerWithoutAReset() throws {
    let dir = TempDir()
    let config = try writeConfig(in: dir, extra: "[metrics]\nlisten = \"127.0.0.1:0\"\n")
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    defer { daemon.terminate() }
    #expect(try waitUntil { daemon.stdout.contains("takedownd started") }, "\(daemon.stdout)")
    let port = try #require(
      daemon.stdout.split(separator: "\n").first { $0.contains("metrics endpoint listening") }?
        .split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) })

    let fd = try connectLoopback(port: port)
    defer { close(fd) }
    var local = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    let clientPort = Int(UInt16(bigEndian: local.sin_port))

    func send(_ text: String) -> Bool {
      let bytes = Array(text.utf8)
      return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
    #expect(send("GET /met"))
    // The pause between the writes lasts until the daemon has read the first one: its socket's
    // receive queue is empty again.
    let pid = daemon.process.processIdentifier
    #expect(
      try waitUntil { tcpReceiveQueue(pid: pid, localPort: port, remotePort: clientPort) == 0 },
      "\(String(describing: tcpReceiveQueue(pid: pid, localPort: port, remotePort: clientPort)))")
    #expect(send("rics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: two-writes\r\n\r\n"))

    // Read in small pieces, as a slow client would.
    var answer: [UInt8] = []
    var failure: Int32 = 0
    var piece = [UInt8](repeating: 0, count: 97)
    while true {
      let n = piece.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 {
        if errno == EINTR { continue }
        failure = errno
        break
      }
      if n == 0 { break }
      answer += piece[0..<n]
    }
    let text = String(decoding: answer, as: UTF8.self)
    #expect(failure == 0, "recv failed: \(String(cString: strerror(failure))) after \(answer.count) bytes")
    #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text.prefix(200))")
    let parts = text.components(separatedBy: "\r\n\r\n")
    let length = parts.first?.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
      .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
    #expect(length != nil && length == parts.dropFirst().joined(separator: "\r\n\r\n").utf8.count)
    #expect(text.contains("takedown_checks_in_flight"))
  }
}

/// Bytes waiting unread in the receive queue of the TCP socket localPort ↔ remotePort on 127.0.0.1,
/// from the process's /proc/PID/net/tcp; nil when there is no such socket.
func tcpReceiveQueue(pid: pid_t, localPort: Int, remotePort: Int) -> Int? {
  // Read to the end by hand: procfs reports size 0, and a one-shot read gets only the first page of
  // a table that other tests fill with thousands of sockets.
  let fd = open("/proc/\(pid)/net/tcp", O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    bytes += chunk[0..<n]
  }
  let table = String(decoding: bytes, as: UTF8.self)
  let local = String(format: "0100007F:%04X", localPort)
  let remote = String(format: "0100007F:%04X", remotePort)
  for line in table.split(separator: "\n").dropFirst() {
    let f = line.split(separator: " ")
    guard f.count > 4, f[1] == local, f[2] == remote else { continue }
    let queues = f[4].split(separator: ":")
    return queues.count == 2 ? Int(queues[1], radix: 16) : nil
  }
  return nil
}
