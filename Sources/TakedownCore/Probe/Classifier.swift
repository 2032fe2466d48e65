/// libcurl result codes the classifier distinguishes. The numbers are libcurl's stable ABI values;
/// a unit test compares each with the header so a mistake here cannot go unnoticed.
public enum CurlCode {
  public static let ok: Int32 = 0
  public static let unsupportedProtocol: Int32 = 1
  public static let urlMalformat: Int32 = 3
  public static let couldntResolveProxy: Int32 = 5
  public static let couldntResolveHost: Int32 = 6
  public static let couldntConnect: Int32 = 7
  public static let weirdServerReply: Int32 = 8
  public static let http2: Int32 = 16
  public static let partialFile: Int32 = 18
  public static let writeError: Int32 = 23
  public static let outOfMemory: Int32 = 27
  public static let operationTimedOut: Int32 = 28
  public static let sslConnectError: Int32 = 35
  public static let abortedByCallback: Int32 = 42
  public static let tooManyRedirects: Int32 = 47
  public static let gotNothing: Int32 = 52
  public static let sendError: Int32 = 55
  public static let recvError: Int32 = 56
  public static let sslCertProblem: Int32 = 58
  public static let sslCipher: Int32 = 59
  public static let peerFailedVerification: Int32 = 60
  public static let badContentEncoding: Int32 = 61
  public static let sslCACertBadFile: Int32 = 77
  public static let sslShutdownFailed: Int32 = 80
  public static let sslCRLBadFile: Int32 = 82
  public static let sslIssuerError: Int32 = 83
  public static let sslPinnedPubKeyNotMatch: Int32 = 90
  public static let sslInvalidCertStatus: Int32 = 91
  public static let http2Stream: Int32 = 92
}

/// What the probe knows about one finished transfer, beyond libcurl's code and the HTTP status.
public struct TransferFlags: Sendable, Equatable {
  /// The opensocket callback refused a private/loopback/link-local address (on any hop).
  public var privateAddressRefused = false
  /// We stopped reading the body at the cap on purpose (libcurl then reports a write error).
  public var bodyCapped = false
  /// The last response was a redirect whose Location names a scheme other than http/https: what
  /// CURLE_UNSUPPORTED_PROTOCOL means then (libcurl uses the same code for a reply that is not HTTP).
  public var redirectSchemeRefused = false
  public init(privateAddressRefused: Bool = false, bodyCapped: Bool = false, redirectSchemeRefused: Bool = false) {
    self.privateAddressRefused = privateAddressRefused
    self.bodyCapped = bodyCapped
    self.redirectSchemeRefused = redirectSchemeRefused
  }
}

/// Turns libcurl's result code and the HTTP status into an observation and a reason code.
/// Never looks at error text: codes are stable, messages are not.
public enum Classifier {
  public static func classify(curlCode: Int32, httpStatus: Int, flags: TransferFlags = .init()) -> (
    Observation, Reason
  ) {
    // The private-address refusal wins over whatever error libcurl reported for the aborted connect.
    if flags.privateAddressRefused && curlCode != CurlCode.ok {
      return (.transient, .privateAddressRefused)
    }
    if curlCode == CurlCode.ok || (curlCode == CurlCode.writeError && flags.bodyCapped && httpStatus > 0) {
      return classify(httpStatus: httpStatus)
    }
    switch curlCode {
    case CurlCode.couldntResolveHost:
      return (.removed, .dnsUnresolved)
    case CurlCode.couldntConnect, CurlCode.couldntResolveProxy:
      return (.transient, .connectFailed)
    case CurlCode.operationTimedOut:
      return (.transient, .timeout)
    case CurlCode.sslConnectError, CurlCode.sslCertProblem, CurlCode.sslCipher, CurlCode.peerFailedVerification,
      CurlCode.sslCACertBadFile, CurlCode.sslShutdownFailed, CurlCode.sslCRLBadFile, CurlCode.sslIssuerError,
      CurlCode.sslPinnedPubKeyNotMatch, CurlCode.sslInvalidCertStatus:
      return (.transient, .tlsError)
    case CurlCode.tooManyRedirects:
      return (.transient, .tooManyRedirects)
    case CurlCode.unsupportedProtocol:
      // libcurl 7.88 also answers an HTTP/0.9 reply, an unknown HTTP version or a bad status line with
      // this code (later versions partly with CURLE_WEIRD_SERVER_REPLY): only a refused redirect is
      // a refused protocol.
      return (.transient, flags.redirectSchemeRefused ? .protocolRefused : .badResponse)
    case CurlCode.weirdServerReply:
      return (.transient, .badResponse)
    case CurlCode.gotNothing, CurlCode.sendError, CurlCode.recvError, CurlCode.partialFile, CurlCode.http2,
      CurlCode.http2Stream, CurlCode.badContentEncoding:
      return (.transient, .networkError)
    default:
      return (.transient, .curlError)
    }
  }

  /// An HTTP answer that libcurl received completely (after following redirects).
  public static func classify(httpStatus: Int) -> (Observation, Reason) {
    switch httpStatus {
    case 200: return (.online, .http200)
    case 201...299: return (.online, .http2xx)
    case 300...399: return (.transient, .http3xx)
    case 404: return (.removed, .http404)
    case 410: return (.removed, .http410)
    case 451: return (.removed, .http451)
    case 429: return (.transient, .http429)
    case 400...499: return (.transient, .http4xx)
    case 500...599: return (.transient, .http5xx)
    default: return (.transient, .curlError)
    }
  }
}

/// The verdict on one check after the host's rule had its say.
public struct Verdict: Sendable, Equatable {
  public var observation: Observation
  public var reason: Reason
  /// What decided a rule-based removal: the marker found, or the home path a redirect landed on.
  public var matched: String?
}

extension Classifier {
  /// libcurl's code and the HTTP status first (`classify`), then the host rule: statuses it declares
  /// online, a redirect to the site's home page, removal markers in the body. Rules only ever turn an
  /// answer that looks online into a removal (or a declared-online status into online); they never
  /// touch errors. `marker` is called only when the answer would otherwise count as online.
  public static func judge(
    curlCode: Int32, httpStatus: Int, flags: TransferFlags, rule: HostRule, redirects: Int, originalURL: String,
    finalURL: String?, method: ProbeMethod, marker: () -> String?
  ) -> Verdict {
    var (observation, reason) = classify(curlCode: curlCode, httpStatus: httpStatus, flags: flags)
    let completeAnswer = curlCode == CurlCode.ok || (curlCode == CurlCode.writeError && flags.bodyCapped && httpStatus > 0)
    if completeAnswer && observation != .online && rule.onlineStatuses.contains(httpStatus) {
      (observation, reason) = (.online, .onlineStatus)
    }
    guard observation == .online else { return Verdict(observation: observation, reason: reason) }
    if rule.homeRedirectIsRemoval && redirects > 0, let finalURL {
      let finalPath = URLParts.path(finalURL)
      if rule.homePaths.contains(finalPath) && !rule.homePaths.contains(URLParts.path(originalURL))
        && URLParts.sameSite(URLParts.host(originalURL), URLParts.host(finalURL))
      {
        return Verdict(observation: .removed, reason: .redirectHome, matched: finalPath)
      }
    }
    if method == .get, let found = marker() {
      return Verdict(observation: .removed, reason: .removalMarker, matched: found)
    }
    return Verdict(observation: observation, reason: reason)
  }
}

/// Just enough URL splitting for the rules, on libcurl's absolute URLs.
enum URLParts {
  /// The path without query or fragment; "/" when there is none.
  static func path(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return "/" }
    let rest = url[scheme.upperBound...]
    guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }), rest[slash] == "/" else { return "/" }
    let tail = rest[slash...]
    let end = tail.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? tail.endIndex
    return String(tail[..<end])
  }

  /// The lowercased host without user info or port.
  static func host(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return "" }
    var rest = url[scheme.upperBound...]
    if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
    if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
    if rest.hasPrefix("[") {
      if let close = rest.firstIndex(of: "]") { return String(rest[...close]).lowercased() }
      return String(rest).lowercased()
    }
    if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
    return rest.lowercased()
  }

  /// Whether two hosts belong to one site: equal, or sharing the registrable part (the last two labels;
  /// three when the second-to-last is a short second-level label such as co.uk or com.cn). A heuristic
  /// without the public suffix list; it only has to keep a redirect to another site's root from
  /// counting as a removal.
  static func sameSite(_ a: String, _ b: String) -> Bool {
    if a == b { return true }
    return site(a) == site(b)
  }

  static func site(_ host: String) -> String {
    let labels = host.split(separator: ".")
    guard labels.count > 2 else { return host }
    let tld = labels[labels.count - 1]
    let second = labels[labels.count - 2]
    let keep = (tld.count == 2 && second.count <= 3) ? 3 : 2
    return labels.suffix(keep).joined(separator: ".")
  }
}
