import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// NXDOMAIN versus a failing resolver, end to end. libcurl reports both as "could not resolve host";
/// only the first is evidence that a domain is gone, and the daemon's second lookup (DNSCheck) must
/// tell them apart against a real resolver speaking real DNS.
///
/// The daemon runs in a private network namespace (only its own loopback: no packet can leave the
/// machine) whose /etc/resolv.conf names a DNS stub of the test's on 127.0.0.1:53 there (see
/// NetworkNamespace.swift and DNSStubServer.swift). Names under `.invalid` (RFC 6761: never resolvable
/// anywhere) get NXDOMAIN, `servfail.test` SERVFAIL, `silent.test` no answer at all, and `ok.test` an A
/// record pointing at an HTTP server on a public-looking address inside the namespace.
@Suite(.serialized) struct DNSClassificationTests {
  static let namespaceAvailable: Bool = NetworkNamespace.make(nameserver: "127.0.0.1", lifetime: 5) != nil

  static let webAddress = "198.51.100.7"

  /// The stub's table. Anything else is REFUSED, so a stray question is visible (and asserted on).
  static func answer(_ name: String) -> DNSStubAnswer {
    if name == "invalid" || name.hasSuffix(".invalid") { return .nxdomain }
    switch name {
    // The daemon logs curl_version() at start; with libcurl built against OpenLDAP that initialises
    // libldap, which looks up the machine's own name (ldap_pvt_get_fqdn). Not a probe: let it fail fast.
    case NetworkNamespace.hostName: return .nxdomain
    case "servfail.test": return .servfail
    case "silent.test": return .silence
    case "ok.test": return .ipv4(webAddress)
    default: return .refused
    }
  }

  /// The plumbing alone, with glibc's own client: if this fails, the daemon test below cannot mean
  /// anything.
  @Test(.enabled(if: namespaceAvailable, "needs unshare --net --mount --uts (CAP_SYS_ADMIN)"))
  func lookupsInTheNamespaceReachTheStubAndOnlyIt() throws {
    let ns = try #require(NetworkNamespace.make(addresses: [Self.webAddress], nameserver: "127.0.0.1"))
    let dns = try DNSStubServer(namespace: ns, answer: Self.answer)
    defer { dns.stop() }
    let dir = TempDir()
    let getent = try #require(findTool("getent"))
    let (okTool, okArgs) = ns.command([getent, "ahostsv4", "ok.test"], workingDirectory: dir.path)
    let ok = try run(okTool, okArgs, in: dir)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains(Self.webAddress), "\(ok.stdout)")
    let (goneTool, goneArgs) = ns.command([getent, "ahostsv4", "gone.invalid"], workingDirectory: dir.path)
    // getent: 2 is "key not found".
    #expect(try run(goneTool, goneArgs, in: dir).status == 2)
    let asked = Set(dns.queries.map { $0.name.lowercased() })
    #expect(asked == ["ok.test", "gone.invalid"], "\(dns.queries)")
    #expect(dns.malformedCount == 0)
    // The machine's own resolver settings are untouched: the bind mount is the namespace's alone.
    let hostResolv = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
    #expect(!hostResolv.contains("options timeout:1 attempts:1"), "\(hostResolv)")
  }

  @Test(.enabled(if: namespaceAvailable, "needs unshare --net --mount --uts (CAP_SYS_ADMIN)"))
  func nxdomainIsARemovalButAFailingOrSilentResolverIsNot() throws {
    let ns = try #require(NetworkNamespace.make(addresses: [Self.webAddress], nameserver: "127.0.0.1"))
    let dns = try DNSStubServer(namespace: ns, answer: Self.answer)
    defer { dns.stop() }
    let web = try ScriptedServer(address: Self.webAddress, namespace: ns) { c in
      guard c.readRequest() != nil else { return }
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    }
    defer { web.stop() }

    let dir = TempDir()
    // connect_timeout covers name resolution in libcurl, so it must outlast the resolver's own 1 s
    // timeout, else silent.test ends as libcurl's "timeout" before it is ever "could not resolve".
    // ok.test's address is public-looking (TEST-NET-2), so private addresses stay refused.
    let config = dir.path + "/takedown.toml"
    try """
    database = "\(dir.path)/takedown.sqlite"
    node_name = "dns-node"
    [probe]
    concurrency = 8
    per_host_connections = 8
    connect_timeout = "3s"
    timeout = "5s"
    allow_private_addresses = false
    shutdown_grace = "1s"
    [schedule]
    confirmations = 1
    confirm_interval = "0s"
    backoff_base = "1h"
    backoff_max = "6h"
    lease = "30s"
    """.write(toFile: config, atomically: true, encoding: .utf8)

    let okURL = "http://ok.test:\(web.port)/"
    // url: (status, reason, libcurl's code)
    let expected: [(String, String, String, Int)] = [
      ("http://gone.invalid/x", "taken_down", "dns_unresolved", 6),
      ("http://servfail.test/y", "unreachable", "dns_error", 6),
      ("http://silent.test/z", "unreachable", "dns_error", 6),
      (okURL, "online", "http_200", 0),
    ]
    let enq = try run(
      Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: lines(expected.map(\.0)), in: dir)
    #expect(enq.status == 0, "\(enq.stderr)")

    let started = ContinuousClock.now
    let (tool, argv) = ns.command([Binaries.takedownd, "--config", config, "--once"], workingDirectory: dir.path)
    let (d, timedOut) = try runBounded(tool, argv, in: dir, timeout: .seconds(60))
    let elapsed = ContinuousClock.now - started
    #expect(!timedOut)
    #expect(d.status == 0, "\(d.stdout.suffix(2000)) \(d.stderr)")

    for (url, status, reason, curlCode) in expected {
      let h = try run(Binaries.takedownctl, ["history", "--config", config, "--json", url], in: dir)
      #expect(h.status == 0, "\(url): \(h.stderr)")
      let obj = try jsonObject(h.stdout)
      let checks = try #require(obj["checks"] as? [[String: Any]], "\(url): \(h.stdout)")
      #expect(obj["status"] as? String == status, "\(url): \(h.stdout)")
      #expect(checks.count == 1, "\(url): \(h.stdout)")
      #expect(checks.first?["reason"] as? String == reason, "\(url): \(h.stdout)")
      #expect(checks.first?["curl_code"] as? Int == curlCode, "\(url): \(h.stdout)")
    }
    let store = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    #expect(try store.lookup("http://gone.invalid/x")?.takenDownAt != nil)
    #expect(try databaseInvariantViolations(store.db) == [])

    // Every lookup reached the stub, and nothing else was asked (no search-domain variants, which
    // would have meant a resolver configuration other than ours). The host name: see `answer`.
    let queries = dns.queries
    let asked = Set(queries.map { $0.name.lowercased() }).subtracting([NetworkNamespace.hostName])
    #expect(asked == ["gone.invalid", "servfail.test", "silent.test", "ok.test"], "\(queries)")
    #expect(!queries.contains { $0.answer == .refused }, "\(queries)")
    #expect(dns.malformedCount == 0)
    // A failed name is asked twice: by libcurl, then by the daemon's own second lookup.
    for name in ["gone.invalid", "servfail.test", "silent.test"] {
      let aQueries = queries.filter { $0.name.lowercased() == name && $0.type == 1 }.count
      #expect(aQueries >= 2, "\(name) asked for A \(aQueries) times: \(queries)")
    }
    #expect(web.targets == ["/"], "\(web.targets)")
    // Two 1 s resolver timeouts for silent.test, in parallel with the rest, plus start-up.
    #expect(elapsed < .seconds(20), "\(elapsed)")
    print("DNSClassification: daemon run took \(elapsed), \(queries.count) DNS questions: \(queries)")
  }
}
