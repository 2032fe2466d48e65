// A loopback web site for the demo (`make run`) and the benchmarks: answers by path prefix, so any
// number of distinct URLs can be made. Never listens on anything but 127.0.0.1.
//
//   /ok/…       200 with a small page          /gone/…    404
//   /410/…      410                            /451/…     451
//   /moved/X    301 to /ok/X                   /loop/…    301 to itself
//   /error/…    503                            anything else: 404
//
// Options: --delay-ms N (every answer waits N ms), --close (close every connection after its answer),
// --port-file PATH (write the kernel-chosen port there once listening).
import Foundation
import TestHTTPServer

#if canImport(Glibc)
  import Glibc
#endif

var delayMs = 0
var close = false
var portFile: String?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
  switch a {
  case "--delay-ms": delayMs = Int(args.popFirst() ?? "") ?? 0
  case "--close": close = true
  case "--port-file": portFile = args.popFirst()
  default:
    FileHandle.standardError.write(Data("usage: takedown-testsite [--delay-ms N] [--close] [--port-file PATH]\n".utf8))
    exit(64)
  }
}

let page = Array("<html><body><h1>A video</h1><p>Still here.</p></body></html>".utf8)
let delay = Duration.milliseconds(delayMs)
let closeAfter = close
let server = try TestHTTPServer { req in
  let path = req.path
  func answer(_ status: Int, _ body: [UInt8] = [], _ headers: [(String, String)] = []) -> TestResponse {
    TestResponse(status: status, headers: headers, body: body, delay: delay, closeAfter: closeAfter)
  }
  if path.hasPrefix("/ok/") { return answer(200, page, [("Content-Type", "text/html")]) }
  if path.hasPrefix("/gone/") { return answer(404, Array("not found".utf8)) }
  if path.hasPrefix("/410/") { return answer(410) }
  if path.hasPrefix("/451/") { return answer(451) }
  if path.hasPrefix("/moved/") { return answer(301, [], [("Location", "/ok/" + path.dropFirst(7))]) }
  if path.hasPrefix("/loop/") { return answer(301, [], [("Location", path)]) }
  if path.hasPrefix("/error/") { return answer(503) }
  return answer(404)
}
if let portFile {
  try "\(server.port)\n".write(toFile: portFile + ".tmp", atomically: false, encoding: .utf8)
  rename(portFile + ".tmp", portFile)
}
FileHandle.standardOutput.write(Data("takedown-testsite listening on \(server.baseURL)\n".utf8))
signal(SIGTERM, SIG_DFL)
while true { pause() }
