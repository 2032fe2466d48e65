import ArgumentParser
import Foundation
import TakedownCore

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check one URL now, as the daemon would, and show what it saw; the queue is not touched.",
    discussion: """
      The daemon's own probe: the same libcurl engine, host rules, private-address guard, classifier, \
      removal markers, HEAD→GET confirmation and DNS re-check, with the probe settings and rules of the \
      configuration (--config, else $TAKEDOWN_CONFIG, else /etc/takedown/takedown.toml when it exists, \
      else the built-in defaults). No database is opened. Prints the final URL and each redirect, the \
      HTTP status, what was observed and why (the rule or marker that decided), the evidence and the \
      timings. Exit 0 when a check was made, whatever it found; 65 for a URL the daemon refuses (not \
      http(s), or a private address while allow_private_addresses is off); 69 when no check could be \
      made; 78 for a bad configuration.
      """)

  @Option(name: .long, help: "Configuration file (TOML) whose [probe] settings and rules apply.") var config: String?
  @Flag(name: .long, help: "Print JSON.") var json = false
  @Argument(help: "The URL to check.") var url: String

  func run() throws {
    let cfg = try ConfigDiscovery.load(explicit: config)
    let normalized: NormalizedURL
    switch URLNormalizer.normalize(url) {
    case .success(let n): normalized = n
    case .failure(let why):
      printError("takedownctl: '\(url.terminalSafe)': \(why) (the daemon refuses it)")
      throw ExitCode(SysExit.dataError.rawValue)
    }
    let r: ProbeResult
    do {
      r = try SingleCheck.run(normalized, config: cfg.probe)
    } catch {
      printError("takedownctl: \(normalized.url): not checked: \(error)")
      throw ExitCode(SysExit.unavailable.rawValue)
    }
    let refused = r.reason == .privateAddressRefused
    if json { Output.line(Self.json(r, maxBody: cfg.probe.maxBodyBytes).rendered(pretty: true)) } else {
      Output.line(Self.text(r, maxBody: cfg.probe.maxBodyBytes))
    }
    if refused {
      printError(
        "takedownctl: \(normalized.url): refused: it (or a redirect target) resolves to a private, loopback or "
          + "link-local address, and probe.allow_private_addresses is off")
      throw ExitCode(SysExit.dataError.rawValue)
    }
  }

  static func ms(_ us: Int64) -> String { String(format: "%.1f ms", Double(us) / 1000) }

  static func text(_ r: ProbeResult, maxBody: Int) -> String {
    let e = r.evidence
    var lines = ["url:          \(r.claim.url.terminalSafe)"]
    for hop in e.redirectChain {
      lines.append("redirect:     \(hop.status) -> \(hop.location?.terminalSafe ?? "(no Location)")")
    }
    lines += [
      "final url:    \(r.finalURL?.terminalSafe ?? "-")",
      "http status:  \(r.httpStatus.map(String.init) ?? "-")",
      "method:       \(e.method ?? "-")",
      "observed:     \(r.observation.rawValue)",
      "reason:       \(r.reason.rawValue)",
      "decided by:   \(e.rule?.terminalSafe ?? "the default rule")"
        + (e.matched.map { " (matched \($0.terminalSafe))" } ?? ""),
      "curl code:    \(r.curlCode)",
      "remote ip:    \(r.remoteIP ?? "-")",
      "bytes read:   \(r.bytes)" + (r.bodyTruncated ? " (truncated at max_body_bytes = \(maxBody))" : ""),
      "body sha256:  \(e.bodySHA256 ?? "-")",
      "vantage:      \(e.vantage?.terminalSafe ?? "-")",
    ]
    if let at = r.retryAfterAt { lines.append("retry after:  \(Timestamp.iso(at))") }
    for (name, value) in e.headers { lines.append("header:       \(name): \(value.terminalSafe)") }
    let t = r.timings
    lines.append(
      "timings:      dns \(ms(t.dnsUs)), connect \(ms(t.connectUs)), tls \(t.tlsUs > 0 ? ms(t.tlsUs) : "-"), "
        + "first byte \(ms(t.firstByteUs)), total \(ms(t.totalUs))")
    return lines.joined(separator: "\n")
  }

  static func json(_ r: ProbeResult, maxBody: Int) -> JSON {
    let e = r.evidence
    let t = r.timings
    return .object([
      ("url", .string(r.claim.url)), ("final_url", .optional(r.finalURL)),
      (
        "redirect_chain",
        .array(e.redirectChain.map { .object([("status", .int(Int64($0.status))), ("location", .optional($0.location))]) })
      ),
      ("http_status", .optional(r.httpStatus)), ("method", .optional(e.method)),
      ("observed", .string(r.observation.rawValue)), ("reason", .string(r.reason.rawValue)),
      ("rule", .optional(e.rule)), ("matched", .optional(e.matched)), ("curl_code", .int(Int64(r.curlCode))),
      ("remote_ip", .optional(r.remoteIP)), ("bytes", .int(r.bytes)), ("truncated", .bool(r.bodyTruncated)),
      ("max_body_bytes", .int(Int64(maxBody))), ("body_sha256", .optional(e.bodySHA256)),
      ("vantage", .optional(e.vantage)), ("retry_after", .time(r.retryAfterAt)),
      ("headers", .object(e.headers.map { ($0.0, .string($0.1)) })),
      (
        "timings_us",
        .object([
          ("dns", .int(t.dnsUs)), ("connect", .int(t.connectUs)), ("tls", .int(t.tlsUs)),
          ("first_byte", .int(t.firstByteUs)), ("total", .int(t.totalUs)),
        ])
      ),
    ])
  }
}

/// The configuration file a command reads when it needs the settings but no database: --config, else
/// $TAKEDOWN_CONFIG, else the installed service's when it exists; none: the built-in defaults.
enum ConfigDiscovery {
  static func path(explicit: String?) -> String? {
    if let explicit { return explicit }
    if let named = ProcessInfo.processInfo.environment["TAKEDOWN_CONFIG"], !named.isEmpty { return named }
    return FileManager.default.fileExists(atPath: DatabaseOptions.serviceConfig) ? DatabaseOptions.serviceConfig : nil
  }

  /// The configuration, or every problem on stderr and exit 78.
  static func load(explicit: String?) throws -> Config {
    guard let path = path(explicit: explicit) else { return Config() }
    do {
      return try ConfigLoader.load(path: path)
    } catch {
      printError("takedownctl: \(error)")
      throw ExitCode(SysExit.config.rawValue)
    }
  }
}

struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Check a configuration file.", subcommands: [ConfigCheck.self])
}

struct ConfigCheck: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Validate the configuration and print the effective settings (as takedownd --check-config).",
    discussion: """
      Reads --config, else $TAKEDOWN_CONFIG, else /etc/takedown/takedown.toml when it exists (else the \
      built-in defaults). Prints every key with the value that applies, defaults filled in, as TOML; \
      passwords (in a postgresql:// URI or a proxy URL) and Authorization/Cookie header values are \
      masked. Exit 0 when valid; 78 with every problem (file: key or line) when not.
      """)

  @OptionGroup var database: DatabaseOptions

  func run() throws {
    let path = ConfigDiscovery.path(explicit: database.config)
    var cfg = try ConfigDiscovery.load(explicit: database.config)
    if let db = database.db { cfg.database = db }
    Output.write(ConfigReport.header(path: path, databaseFlag: database.db != nil) + cfg.renderedTOML())
  }
}
