import Testing

@testable import TakedownCore

/// `takedownd --check-config` prints the effective settings as TOML: loaded again, they are the same
/// settings (that is what makes the printout trustworthy), except for the masked secrets.
@Suite struct ConfigRenderingTests {
  @Test func theDefaultsRoundTrip() throws {
    let text = Config().renderedTOML()
    #expect(try ConfigLoader.parse(text) == Config())
    // Every key of the documented file appears, set or as an "unset" comment.
    for key in [
      "database", "database_password_file", "node_name", "concurrency", "per_host_connections", "connect_timeout",
      "timeout", "max_redirects", "max_body_bytes", "user_agent", "allow_private_addresses", "resolve",
      "shutdown_grace", "throttle_pause", "vantage", "proxy", "recheck_interval", "confirmations", "confirm_interval",
      "watch_interval", "backoff_base", "backoff_max", "lease", "batch_size", "give_up_after", "on_give_up",
      "interval", "level", "status_log", "listen",
    ] {
      #expect(text.contains("\n\(key) = ") || text.hasPrefix("\(key) = ") || text.contains("# \(key) is unset"), "\(key)")
    }
  }

  @Test func everySettingRoundTrips() throws {
    let source = """
      database = "/var/lib/x/q.sqlite"
      database_password_file = "pw"
      node_name = "worker-1"
      [probe]
      concurrency = 77
      per_host_connections = 0
      connect_timeout = "1500ms"
      timeout = "1m30s"
      max_redirects = 0
      max_body_bytes = "1000"
      user_agent = "agent \\"quoted\\" \\\\ back"
      allow_private_addresses = true
      resolve = ["a.test:80:127.0.0.1", "b.test:443:[::1]"]
      shutdown_grace = "0s"
      throttle_pause = "3s"
      vantage = "de-1"
      proxy = "socks5h://gw:1080"
      [schedule]
      recheck_interval = "2h"
      confirmations = 3
      confirm_interval = "0s"
      watch_interval = "3d"
      backoff_base = "2m"
      backoff_max = "1d"
      lease = "10m"
      batch_size = 5
      give_up_after = "0s"
      on_give_up = "taken_down"
      [summary]
      interval = "1h"
      [log]
      level = "debug"
      status_log = "/var/log/takedown/t.jsonl"
      [metrics]
      listen = "127.0.0.1:9464"
      [[rule]]
      hosts = ["*.example.com", "example.com"]
      removal_markers = ["该视频已被删除", "/(?i)video (has been|was) removed/"]
      home_redirect_is_removal = false
      home_paths = ["/", "/index.html"]
      method = "get"
      max_connections = 4
      rate = 0.5
      headers = ["Referer: https://example.com/"]
      online_statuses = [403, 401]
      proxy = "http://127.0.0.1:3128"
      [[rule]]
      hosts = "*.other.test"
      method = "head"
      """
    let loaded = try ConfigLoader.parse(source)
    let text = loaded.renderedTOML()
    #expect(try ConfigLoader.parse(text) == loaded, "\(text)")
    #expect(text.contains("max_body_bytes = \"1000B\""))
    #expect(text.contains("timeout = \"1m30s\""))
    // The second rule's unset keys say what applies instead.
    #expect(text.contains("# max_connections is unset: probe.per_host_connections (0)"))
  }

  @Test func secretsAreMasked() throws {
    var c = Config()
    c.database = "postgresql://takedown:s3cret@db.internal/takedown?sslmode=require"
    c.probe.proxy = "http://user:pr0xy@127.0.0.1:3128"
    var rule = HostRule()
    rule.hosts = ["a.test"]
    rule.headers = ["Authorization: Bearer t0ken", "Cookie: session=c00kie", "Referer: https://a.test/"]
    c.probe.rules = [rule]
    let text = c.renderedTOML()
    for secret in ["s3cret", "pr0xy", "t0ken", "c00kie"] { #expect(!text.contains(secret), "\(secret) printed") }
    #expect(text.contains("database = \"postgresql://takedown:***@db.internal/takedown?sslmode=require\""))
    #expect(text.contains("proxy = \"http://user:***@127.0.0.1:3128\""))
    #expect(text.contains("\"Referer: https://a.test/\""))
    #expect(text.contains("\"Authorization: ***\""))
  }
}
