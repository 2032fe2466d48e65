import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 7, part 5: servers that answer to hurt. The daemon must stay within its time and memory caps,
/// record the right reason, and never be steered to an address it must not reach.
///
/// The answers that only need a socket run on 127.0.0.1. Everything involving a private address behind
/// a public-looking one, or a host name, runs in a private network namespace (NetworkNamespace.swift)
/// whose only interface is its own loopback: no packet, not even a DNS query, can leave the machine.
@Suite(.serialized) struct ReliabilityHostileServerTests {
  static let namespaceAvailable: Bool = NetworkNamespace.make(lifetime: 5) != nil

  /// One scripted answer per path; the daemon's view of each is checked afterwards.
  static func answer(_ c: ScriptedConnection) {
    guard let target = c.readRequest() else { return }
    switch target {
    case "/ok": c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    case "/endless-headers": HostileAnswer.endlessHeaders(c)
    case "/endless-header-line": HostileAnswer.endlessHeaderLine(c)
    case "/endless-body":
      guard c.send("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n\r\n") else { return }
      let chunk = [UInt8](repeating: 0x42, count: 16 * 1024)
      while c.send(chunk) {}
    case "/slowloris": HostileAnswer.slowloris(c, interval: .milliseconds(500))
    case "/slow-body": HostileAnswer.slowBody(c, interval: .milliseconds(500))
    case "/gzip-bomb": HostileAnswer.gzipBomb(c)
    case "/gzip-bomb-chunked": HostileAnswer.gzipBomb(c, chunked: true)
    case "/endless-continue":
      while c.send("HTTP/1.1 100 Continue\r\n\r\n") {}
    case "/short-body": c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly this")
    case "/garbage": c.send("SSH-2.0-OpenSSH_9.2\r\n\r\n")
    case "/silence": _ = c.pause(.seconds(30))
    default: c.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }
  }

  @Test func hostileAnswersStayWithinTimeAndMemoryCapsWithTheRightReason() throws {
    let dir = TempDir()
    let server = try ScriptedServer(script: Self.answer)
    defer { server.stop() }
    let maxBody = 65536
    let config = try writeReliabilityConfig(
      in: dir, nodeName: "hostile-node", concurrency: 32, timeout: "2s", maxBody: maxBody)
    let base = "http://127.0.0.1:\(server.port)"
    // path: (acceptable reasons, status afterwards)
    let expected: [(String, Set<String>, URLStatus)] = [
      ("/ok", ["http_200"], .online),
      // libcurl caps a header line (100 KiB) and, with the CVE-2023-38039 fix, the whole header block.
      ("/endless-headers", ["network_error", "curl_error"], .unreachable),
      ("/endless-header-line", ["network_error", "curl_error"], .unreachable),
      ("/endless-body", ["http_200"], .online),
      ("/slowloris", ["timeout"], .unreachable),
      ("/slow-body", ["timeout"], .unreachable),
      ("/gzip-bomb", ["http_200"], .online),
      ("/gzip-bomb-chunked", ["http_200"], .online),
      ("/endless-continue", ["timeout", "network_error"], .unreachable),
      ("/short-body", ["network_error"], .unreachable),
      ("/silence", ["timeout"], .unreachable),
    ]
    let urls = expected.map { base + $0.0 }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: lines(urls), in: dir).status == 0)

    let started = ContinuousClock.now
    let daemon = try start(Binaries.takedownd, ["--config", config], in: dir)
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    var peakKiB = 0
    let done = try waitUntil(timeout: .seconds(20)) {
      peakKiB = max(peakKiB, peakResidentKiB(pid: daemon.process.processIdentifier) ?? 0)
      return (try reader.db.scalar("SELECT count(*) FROM urls WHERE checks > 0") ?? 0) == Int64(urls.count)
    }
    peakKiB = max(peakKiB, peakResidentKiB(pid: daemon.process.processIdentifier) ?? 0)
    let elapsed = ContinuousClock.now - started
    let stopped = daemon.terminate()
    #expect(done, "not every hostile URL was recorded within 20 s: \(stopped.stdout.suffix(2000))")
    #expect(stopped.status == 0, "\(stopped.stderr)")

    for (path, reasons, status) in expected {
      let r = try #require(try reader.lookup(base + path), "\(path)")
      #expect(reasons.contains(r.reason ?? ""), "\(path): reason \(r.reason ?? "nil"), expected one of \(reasons)")
      #expect(r.status == status, "\(path): \(r.status)")
      let h = try reader.history(urlID: r.id)
      #expect(h.count == 1, "\(path)")
      if let c = h.first {
        // The time cap: timeout 2 s, plus scheduling slack on a loaded 2-core machine (or under a sanitizer).
        #expect(c.timings.totalUs <= 3_500_000, "\(path) took \(c.timings.totalUs) µs (curl \(c.curlCode))")
        #expect(c.bytes <= Int64(maxBody), "\(path) read \(c.bytes) body bytes")
        Reliability.figure("hostile.\(path.dropFirst()).curl_code", c.curlCode)
      }
    }
    #expect(try reader.lookup(base + "/endless-body")?.checks == 1)
    // The gzip bomb is harmless because the daemon never asks for compression: it reads opaque bytes.
    #expect(server.heads.allSatisfy { !$0.lowercased().contains("accept-encoding") }, "\(server.heads)")
    let capped = try reader.db.scalar(
      "SELECT count(*) FROM checks WHERE bytes = ? AND reason = 'http_200'", [.int(Int64(maxBody))])
    #expect(capped == 3, "endless body and both bombs stop exactly at max_body_bytes")
    // The memory cap: the whole daemon, endless answers included.
    #expect(peakKiB > 0 && peakKiB < 256 * 1024, "peak RSS \(peakKiB) KiB")
    #expect(elapsed < .seconds(20))
    Reliability.figure("hostile.loopback_cases", expected.count)
    Reliability.figure("hostile.peak_rss_kib", peakKiB)
    Reliability.figure("hostile.bytes_sent_by_server", server.bytesSent)
  }

  /// A public-looking server (198.51.100.7 in the namespace) redirecting to loopback, link-local, IPv6
  /// loopback, IPv4-mapped and numeric spellings of them, to names resolving to loopback, and to other
  /// schemes: each one refused and recorded as such, and the private server never sees a request.
  @Test(.enabled(if: namespaceAvailable, "needs unshare --net (CAP_SYS_ADMIN)"))
  func redirectsFromAPublicAddressToPrivateOnesAreRefused() throws {
    let ns = try #require(NetworkNamespace.make())
    let dir = TempDir()
    // The private service an attacker would like to reach, on the namespace's 127.0.0.1.
    let secret = try ScriptedServer(namespace: ns) { c in
      guard c.readRequest() != nil else { return }
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret")
    }
    defer { secret.stop() }
    let sp = secret.port
    let redirects: [String: String] = [
      "/to-loopback": "http://127.0.0.1:\(sp)/admin",
      "/to-loopback-2": "http://127.5.6.7:\(sp)/admin",
      "/to-ipv6-loopback": "http://[::1]:\(sp)/admin",
      "/to-mapped": "http://[::ffff:127.0.0.1]:\(sp)/admin",
      "/to-decimal": "http://2130706433:\(sp)/admin",
      "/to-hex": "http://0x7f.0.0.1:\(sp)/admin",
      "/to-octal": "http://0177.0.0.1:\(sp)/admin",
      "/to-short": "http://127.1:\(sp)/admin",
      "/to-zero": "http://0.0.0.0:\(sp)/admin",
      "/to-localhost": "http://localhost:\(sp)/admin",
      "/to-sub-localhost": "http://a.localhost:\(sp)/admin",
      "/to-resolved-name": "http://evil.example:\(sp)/admin",
      "/to-metadata": "http://169.254.169.254/latest/meta-data/",
      "/to-rfc1918": "http://10.1.2.3/",
      "/to-rfc1918-b": "http://192.168.1.1/",
      "/to-cgnat": "http://100.64.0.1/",
      "/hop1": "/hop2",
      "/hop2": "/hop3",
      "/hop3": "http://127.0.0.1:\(sp)/deep",
      "/to-ftp": "ftp://198.51.100.7/file",
      "/to-file": "file:///etc/passwd",
      "/to-gopher": "gopher://198.51.100.7:70/",
      "/to-dict": "dict://198.51.100.7:2628/",
    ]
    let publicServer = try ScriptedServer(address: "198.51.100.7", namespace: ns) { c in
      guard let target = c.readRequest() else { return }
      if target == "/ok" {
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
      } else if let to = redirects[target] {
        c.send("HTTP/1.1 302 Found\r\nLocation: \(to)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      } else {
        c.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      }
    }
    defer { publicServer.stop() }
    let pub = "http://198.51.100.7:\(publicServer.port)"
    let config = try writeReliabilityConfig(
      in: dir, nodeName: "ssrf-node", concurrency: 32, timeout: "3s", allowPrivate: false,
      resolve: ["evil.example:\(sp):127.0.0.1", "public.example:\(publicServer.port):198.51.100.7",
        "loopback.example:\(sp):127.0.0.1", "six.example:\(sp):[::1]"],
      maxRedirects: 5)
    var expected: [(String, Set<String>)] = [
      (pub + "/ok", ["http_200"]),
      ("http://public.example:\(publicServer.port)/ok", ["http_200"]),
      // Names that resolve to loopback, reported directly.
      ("http://loopback.example:\(sp)/x", ["private_address_refused"]),
      ("http://six.example:\(sp)/x", ["private_address_refused"]),
      ("http://localhost:\(sp)/x", ["private_address_refused"]),
      ("http://127.0.0.1:\(sp)/x", ["private_address_refused"]),
      ("http://[::1]:\(sp)/x", ["private_address_refused"]),
      ("http://[::ffff:7f00:1]:\(sp)/x", ["private_address_refused"]),
    ]
    for path in redirects.keys.sorted() where !path.hasPrefix("/hop2") && !path.hasPrefix("/hop3") {
      let to = redirects[path]!
      let scheme = to.prefix(while: { $0 != ":" })
      expected.append((pub + path, scheme == "http" || to.hasPrefix("/") ? ["private_address_refused"] : ["protocol_refused"]))
    }
    let urls = expected.map(\.0)
    let enq = try run(Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: lines(urls), in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")
    // A hex spelling of 127.0.0.1 never gets as far as a connection: intake refuses it (issue 12, item 15).
    let hex = try run(Binaries.takedownctl, ["enqueue", "--config", config, "http://0x7f.0.0.1:\(sp)/x"], in: dir)
    #expect(hex.status == 65)
    #expect(hex.stderr.contains("is a number, which makes it an IPv4 address in disguise"), "\(hex.stderr)")
    let (tool, argv) = ns.command([Binaries.takedownd, "--config", config, "--once"])
    let (d, timedOut) = try runBounded(tool, argv, in: dir, timeout: .seconds(60))
    #expect(!timedOut)
    #expect(d.status == 0, "\(d.stdout.suffix(2000)) \(d.stderr)")

    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    for (url, reasons) in expected {
      let r = try #require(try reader.lookup(url), "\(url) was not stored")
      #expect(reasons.contains(r.reason ?? ""), "\(url): \(r.reason ?? "nil") (\(r.status)), expected \(reasons)")
    }
    #expect(secret.connectionCount == 0, "the private server was reached: \(secret.targets)")
    #expect(try databaseInvariantViolations(reader.db) == [])
    Reliability.figure("hostile.ssrf_cases", expected.count)
  }

  /// A resolver that cannot be reached is not a domain that is gone. In the namespace no DNS server is
  /// reachable, so every lookup fails the way it does during a resolver outage.
  @Test(.enabled(if: namespaceAvailable, "needs unshare --net (CAP_SYS_ADMIN)"))
  func aResolverOutageIsNotEvidenceOfRemoval() throws {
    let ns = try #require(NetworkNamespace.make())
    let dir = TempDir()
    let config = try writeReliabilityConfig(in: dir, nodeName: "dns-node", concurrency: 4, allowPrivate: false)
    let url = "http://video.example.com/watch?v=1"
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, url], in: dir).status == 0)
    let (tool, argv) = ns.command([Binaries.takedownd, "--config", config, "--once"])
    let (d, _) = try runBounded(tool, argv, in: dir, timeout: .seconds(60))
    #expect(d.status == 0, "\(d.stderr)")
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    let r = try #require(try reader.lookup(url))
    // libcurl says "could not resolve" for both; the daemon's second lookup tells an outage from NXDOMAIN.
    #expect(r.status != .takenDown, "after \(r.checks) checks with no reachable resolver: \(r.status) \(r.reason ?? "")")
    #expect(r.reason == "dns_error", "\(r.reason ?? "nil")")
  }
}
