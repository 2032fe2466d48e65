import Foundation
import TakedownCore
import TestHTTPServer
import Testing

/// A server that does not speak HTTP is a `bad_response`; `protocol_refused` stays what README says it
/// is, a redirect to a scheme other than http/https (issue 12, item 5). Against the installed libcurl:
/// 7.88 refuses HTTP/0.9 and odd status lines with CURLE_UNSUPPORTED_PROTOCOL, the same code as the
/// refused redirect; newer versions say CURLE_WEIRD_SERVER_REPLY for some of them.
@Suite struct BadResponseTests {
  @Test func aReplyThatIsNotHTTPIsABadResponseAndARefusedRedirectIsNot() throws {
    let dir = TempDir()
    let server = try ScriptedServer { c in
      guard let target = c.readRequest() else { return }
      let close = "Content-Length: 0\r\nConnection: close\r\n\r\n"
      switch target {
      case "/not-http": c.send("THIS IS NOT HTTP\r\n\r\n")
      case "/bad-version": c.send("HTTP/3.7 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
      case "/bad-status": c.send("HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
      case "/to-ftp": c.send("HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/file\r\n" + close)
      case "/hop-to-ftp": c.send("HTTP/1.1 302 Found\r\nLocation: /to-ftp\r\n" + close)
      case "/hop-to-not-http": c.send("HTTP/1.1 302 Found\r\nLocation: /not-http\r\n" + close)
      case "/ok": c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
      default: c.send("HTTP/1.1 404 Not Found\r\n" + close)
      }
    }
    defer { server.stop() }
    let config = try writeConfig(in: dir)
    let base = "http://127.0.0.1:\(server.port)"
    let expected: [(String, String)] = [
      ("/not-http", "bad_response"), ("/bad-version", "bad_response"), ("/bad-status", "bad_response"),
      ("/hop-to-not-http", "bad_response"), ("/to-ftp", "protocol_refused"), ("/hop-to-ftp", "protocol_refused"),
      ("/ok", "http_200"),
    ]
    let urls = expected.map { base + $0.0 }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config] + urls, in: dir).status == 0)
    let d = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d.status == 0, "\(d.stdout.suffix(2000))")
    let reader = try SQLiteStore(path: dir.path + "/takedown.sqlite", create: false)
    for (path, reason) in expected {
      let r = try #require(try reader.lookup(base + path))
      #expect(r.reason == reason, "\(path): \(r.reason ?? "nil")")
      #expect(r.status == (reason == "http_200" ? .online : .unreachable), "\(path)")
    }
    // Transient means retried: the history keeps libcurl's code for each.
    let codes = try reader.db.scalar("SELECT count(*) FROM checks WHERE reason = 'bad_response' AND curl_code IN (1, 8)")
    #expect(codes == 4)
  }
}
