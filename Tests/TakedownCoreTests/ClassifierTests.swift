import CCurl
import Testing

@testable import TakedownCore

@Suite struct ClassifierTests {
  @Test func curlCodeConstantsMatchTheHeader() {
    let pairs: [(Int32, CURLcode)] = [
      (CurlCode.ok, CURLE_OK), (CurlCode.unsupportedProtocol, CURLE_UNSUPPORTED_PROTOCOL),
      (CurlCode.urlMalformat, CURLE_URL_MALFORMAT), (CurlCode.couldntResolveProxy, CURLE_COULDNT_RESOLVE_PROXY),
      (CurlCode.couldntResolveHost, CURLE_COULDNT_RESOLVE_HOST), (CurlCode.couldntConnect, CURLE_COULDNT_CONNECT),
      (CurlCode.weirdServerReply, CURLE_WEIRD_SERVER_REPLY), (CurlCode.http2, CURLE_HTTP2),
      (CurlCode.partialFile, CURLE_PARTIAL_FILE), (CurlCode.writeError, CURLE_WRITE_ERROR),
      (CurlCode.outOfMemory, CURLE_OUT_OF_MEMORY),
      (CurlCode.operationTimedOut, CURLE_OPERATION_TIMEDOUT), (CurlCode.sslConnectError, CURLE_SSL_CONNECT_ERROR),
      (CurlCode.abortedByCallback, CURLE_ABORTED_BY_CALLBACK), (CurlCode.tooManyRedirects, CURLE_TOO_MANY_REDIRECTS),
      (CurlCode.gotNothing, CURLE_GOT_NOTHING), (CurlCode.sendError, CURLE_SEND_ERROR),
      (CurlCode.recvError, CURLE_RECV_ERROR), (CurlCode.sslCertProblem, CURLE_SSL_CERTPROBLEM),
      (CurlCode.sslCipher, CURLE_SSL_CIPHER), (CurlCode.peerFailedVerification, CURLE_PEER_FAILED_VERIFICATION),
      (CurlCode.badContentEncoding, CURLE_BAD_CONTENT_ENCODING), (CurlCode.sslCACertBadFile, CURLE_SSL_CACERT_BADFILE),
      (CurlCode.sslShutdownFailed, CURLE_SSL_SHUTDOWN_FAILED), (CurlCode.sslCRLBadFile, CURLE_SSL_CRL_BADFILE),
      (CurlCode.sslIssuerError, CURLE_SSL_ISSUER_ERROR), (CurlCode.sslPinnedPubKeyNotMatch, CURLE_SSL_PINNEDPUBKEYNOTMATCH),
      (CurlCode.sslInvalidCertStatus, CURLE_SSL_INVALIDCERTSTATUS), (CurlCode.http2Stream, CURLE_HTTP2_STREAM),
    ]
    for (mine, header) in pairs { #expect(mine == Int32(header.rawValue)) }
  }

  struct Case: Sendable, CustomTestStringConvertible {
    var code: Int32
    var http: Int
    var flags = TransferFlags()
    var observation: Observation
    var reason: Reason
    var testDescription: String { "curl \(code) http \(http) → \(observation) \(reason.rawValue)" }
  }

  static let cases: [Case] = [
    .init(code: 0, http: 200, observation: .online, reason: .http200),
    .init(code: 0, http: 204, observation: .online, reason: .http2xx),
    .init(code: 0, http: 404, observation: .removed, reason: .http404),
    .init(code: 0, http: 410, observation: .removed, reason: .http410),
    .init(code: 0, http: 451, observation: .removed, reason: .http451),
    .init(code: 0, http: 429, observation: .transient, reason: .http429),
    .init(code: 0, http: 403, observation: .transient, reason: .http4xx),
    .init(code: 0, http: 500, observation: .transient, reason: .http5xx),
    .init(code: 0, http: 503, observation: .transient, reason: .http5xx),
    .init(code: 0, http: 302, observation: .transient, reason: .http3xx),
    .init(code: CurlCode.couldntResolveHost, http: 0, observation: .removed, reason: .dnsUnresolved),
    .init(code: CurlCode.couldntConnect, http: 0, observation: .transient, reason: .connectFailed),
    .init(code: CurlCode.operationTimedOut, http: 0, observation: .transient, reason: .timeout),
    // A timeout after the status line arrived is still a timeout, not the status.
    .init(code: CurlCode.operationTimedOut, http: 200, observation: .transient, reason: .timeout),
    .init(code: CurlCode.peerFailedVerification, http: 0, observation: .transient, reason: .tlsError),
    .init(code: CurlCode.sslConnectError, http: 0, observation: .transient, reason: .tlsError),
    .init(code: CurlCode.tooManyRedirects, http: 301, observation: .transient, reason: .tooManyRedirects),
    .init(
      code: CurlCode.unsupportedProtocol, http: 302, flags: .init(redirectSchemeRefused: true), observation: .transient,
      reason: .protocolRefused),
    // The same code for a reply that is not HTTP (libcurl 7.88: HTTP/0.9 refused), or code 8 elsewhere.
    .init(code: CurlCode.unsupportedProtocol, http: 0, observation: .transient, reason: .badResponse),
    .init(code: CurlCode.weirdServerReply, http: 0, observation: .transient, reason: .badResponse),
    .init(code: CurlCode.gotNothing, http: 0, observation: .transient, reason: .networkError),
    .init(code: CurlCode.recvError, http: 0, observation: .transient, reason: .networkError),
    // Stopping at the body cap is not a failure: the status decides.
    .init(code: CurlCode.writeError, http: 200, flags: .init(bodyCapped: true), observation: .online, reason: .http200),
    .init(code: CurlCode.writeError, http: 404, flags: .init(bodyCapped: true), observation: .removed, reason: .http404),
    // A write error we did not cause is a failure.
    .init(code: CurlCode.writeError, http: 200, observation: .transient, reason: .curlError),
    .init(
      code: CurlCode.couldntConnect, http: 0, flags: .init(privateAddressRefused: true), observation: .transient,
      reason: .privateAddressRefused),
    .init(code: 99, http: 0, observation: .transient, reason: .curlError),
  ]

  @Test(arguments: cases) func classification(_ c: Case) {
    let (o, r) = Classifier.classify(curlCode: c.code, httpStatus: c.http, flags: c.flags)
    #expect(o == c.observation)
    #expect(r == c.reason)
  }

  @Test(arguments: [
    ((127, 0, 0, 1), true), ((10, 1, 2, 3), true), ((172, 16, 0, 1), true), ((172, 31, 255, 255), true),
    ((172, 32, 0, 1), false), ((192, 168, 1, 1), true), ((169, 254, 169, 254), true), ((100, 64, 0, 1), true),
    ((0, 0, 0, 0), true), ((224, 0, 0, 1), true), ((255, 255, 255, 255), true), ((8, 8, 8, 8), false),
    ((93, 184, 216, 34), false), ((100, 128, 0, 1), false),
  ] as [((UInt8, UInt8, UInt8, UInt8), Bool)])
  func ipv4Policy(_ addr: (UInt8, UInt8, UInt8, UInt8), _ expected: Bool) {
    #expect(AddressPolicy.isPrivate(ipv4: addr) == expected)
  }

  @Test func ipv6Policy() {
    func v6(_ prefix: [UInt8], _ suffix: [UInt8] = []) -> [UInt8] {
      prefix + [UInt8](repeating: 0, count: 16 - prefix.count - suffix.count) + suffix
    }
    #expect(AddressPolicy.isPrivate(ipv6: v6([], [1])))  // ::1
    #expect(AddressPolicy.isPrivate(ipv6: v6([])))  // ::
    #expect(AddressPolicy.isPrivate(ipv6: v6([0xfe, 0x80], [1])))
    #expect(AddressPolicy.isPrivate(ipv6: v6([0xfd, 0x12])))
    #expect(AddressPolicy.isPrivate(ipv6: v6([], [0xff, 0xff, 127, 0, 0, 1])))  // ::ffff:127.0.0.1
    #expect(!AddressPolicy.isPrivate(ipv6: v6([], [0xff, 0xff, 8, 8, 8, 8])))
    #expect(!AddressPolicy.isPrivate(ipv6: v6([0x20, 0x01, 0x0d, 0xb9], [1])))
    #expect(AddressPolicy.isPrivate(ipv6: [1, 2, 3]))  // malformed: refuse
  }
}
