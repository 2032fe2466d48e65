// libFuzzer entry point for URLNormalizer. Beyond "does not crash", it checks the promises every
// accepted URL must keep; a broken promise is a crash too, so libFuzzer saves the input.
import TakedownCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURLNormalizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = UnsafeBufferPointer(start: data, count: size)
  switch URLNormalizer.normalize(bytes: input) {
  case .failure(let why):
    let message = why.description
    precondition(!message.isEmpty && message.utf8.count < 400, "unprintable rejection message")
  case .success(let n):
    let bytes = Array(n.url.utf8)
    precondition(bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "non-ASCII or control byte in \(n.url)")
    precondition(!bytes.contains(UInt8(ascii: "#")), "fragment kept in \(n.url)")
    precondition(n.scheme == "http" || n.scheme == "https", "scheme \(n.scheme)")
    precondition(n.url.hasPrefix(n.scheme + "://" + n.host), "host \(n.host) is not where it should be in \(n.url)")
    let authority = n.url.utf8.dropFirst(n.scheme.utf8.count + 3).prefix { $0 != UInt8(ascii: "/") }
    precondition(!authority.contains(UInt8(ascii: "@")), "credentials in \(n.url)")
    guard case .success(let again) = URLNormalizer.normalize(n.url), again == n else {
      preconditionFailure("not idempotent: \(n.url)")
    }
  }
  return 0
}
