/// The state of a reported URL. The raw values are the exact words used in the CLI, in JSON and in the
/// database, so they must never change once released.
public enum URLStatus: String, Sendable, CaseIterable, Codable {
  /// Not checked yet, or a removal was seen but is not confirmed yet.
  case pending
  /// The content answers.
  case online
  /// The removal was confirmed `confirmations` times in a row.
  case takenDown = "taken_down"
  /// A transient failure (timeout, refused connection, 5xx, 429, TLS failure): retried with backoff.
  case unreachable
  /// Was taken down and answers again.
  case reappeared
  /// Withdrawn by an operator: never checked again.
  case cancelled
}

/// What a single check saw, before the schedule turns it into a status.
public enum Observation: String, Sendable, Codable {
  /// The content (or something that is not a removal) answered.
  case online
  /// A removal signal: 404, 410, 451, the domain no longer resolves.
  case removed
  /// Nothing conclusive: the check must be repeated later.
  case transient
}

/// Machine-readable reason codes. Stored in the database and printed as they are.
public enum Reason: String, Sendable, CaseIterable, Codable {
  case http200 = "http_200"
  /// Any other 2xx answer.
  case http2xx = "http_2xx"
  case http404 = "http_404"
  case http410 = "http_410"
  case http451 = "http_451"
  /// A 3xx that libcurl did not follow (no Location, or an unusable one).
  case http3xx = "http_3xx"
  /// A 4xx other than 404/410/429/451 (401, 403, 405, …): neither proof of removal nor of content.
  case http4xx = "http_4xx"
  case http429 = "http_429"
  case http5xx = "http_5xx"
  /// The host name has no address (NXDOMAIN or no records): the domain is gone.
  case dnsUnresolved = "dns_unresolved"
  /// The name could not be looked up (resolver unreachable, SERVFAIL, timeout): says nothing about the
  /// domain, so it is transient. libcurl reports both this and NXDOMAIN as one code; the daemon asks the
  /// system resolver again to tell them apart.
  case dnsError = "dns_error"
  case connectFailed = "connect_failed"
  case timeout
  case tlsError = "tls_error"
  case tooManyRedirects = "too_many_redirects"
  /// The connection broke after it was made (reset, empty reply, truncated answer).
  case networkError = "network_error"
  /// A redirect to a scheme other than http/https.
  case protocolRefused = "protocol_refused"
  /// The server did not answer in HTTP (an HTTP/0.9 or garbage reply, an unknown version or a broken
  /// status line): says nothing about the content, so it is transient.
  case badResponse = "bad_response"
  /// The URL (or a redirect target) resolved to a private, loopback or link-local address.
  case privateAddressRefused = "private_address_refused"
  /// Any other libcurl failure; the libcurl code is in the check row.
  case curlError = "curl_error"
  /// A 2xx page whose body contains one of the host rule's `removal_markers` ("this video has been removed").
  case removalMarker = "removal_marker"
  /// A redirect that lands on the site's home page (`home_redirect_is_removal`).
  case redirectHome = "redirect_home"
  /// A status that a host rule declares online (`online_statuses`, e.g. a 403 served to robots).
  case onlineStatus = "online_status"
  /// Unreachable for longer than `give_up_after`.
  case persistentlyUnreachable = "persistently_unreachable"
  /// Set by an operator with `takedownctl cancel`.
  case cancelledByOperator = "cancelled"
}
