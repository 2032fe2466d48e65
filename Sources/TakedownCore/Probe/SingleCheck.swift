import Foundation

/// One check of one URL outside the queue (`takedownctl check`): the daemon's own probe engine with
/// its host rules, address guard, classifier, removal markers, HEAD→GET confirmation and DNS re-check,
/// run exactly as the daemon runs them, with nothing read from or written to any database.
public enum SingleCheck {
  /// Why no check could be made.
  public enum Failure: Error, CustomStringConvertible {
    /// This machine could not start it (out of descriptors, memory or local ports).
    case localFailure(errno: Int32)
    /// The host asked to be left alone (Retry-After, a 429) until this wall-clock ms.
    case hostPaused(until: Int64)
    /// No answer from the engine before the deadline (libcurl's own timeouts should have ended it).
    case timedOut(afterMs: Int64)

    public var description: String {
      switch self {
      case .localFailure(let e):
        return "this machine could not start the check: \(String(cString: strerror(e)))"
      case .hostPaused(let until):
        return "the host asked to be left alone until \(Timestamp.iso(until)) (Retry-After or 429); "
          + "the daemon would check it then"
      case .timedOut(let ms):
        return "no result within \(ms / 1000) s"
      }
    }
  }

  /// Checks `url` with the probe settings and rules of `config` and returns the result the daemon
  /// would record. Bounded: gives up after both of the probe's timeouts (a HEAD and its confirming
  /// GET) plus a DNS re-check.
  public static func run(_ url: NormalizedURL, config: ProbeConfig) throws(Failure) -> ProbeResult {
    var probe = config
    probe.concurrency = 1
    let mailbox = Mailbox()
    // A pause asked for by the host is handed back at once instead of waited for.
    let engine = ProbeEngine(config: probe, mailbox: mailbox, holdLimitMs: 1000)
    let thread = Thread {
      nameCurrentThread("td-probe")
      engine.run()
    }
    thread.stackSize = 1 << 20
    thread.start()
    var dnsCheck: DNSCheck?
    defer {
      engine.drain(graceMs: 0)
      // The engine says when it has stopped; bounded all the same.
      let stopBy = monotonicMs() + 5000
      while monotonicMs() < stopBy, !mailbox.take(timeoutMs: 100).finished {}
      dnsCheck?.stop()
    }
    let claim = ClaimedURL(
      id: 0, url: url.url, host: url.host, attempt: 1, state: ScheduleState(status: .pending))
    engine.submit([claim])
    let budget = 2 * probe.timeoutMs + 30_000
    let deadline = monotonicMs() + budget
    while monotonicMs() < deadline {
      let got = mailbox.take(timeoutMs: min(200, max(deadline - monotonicMs(), 1)))
      if let r = got.results.first {
        // As the daemon does: "could not resolve" is a removal only if the name is really gone.
        if r.reason == .dnsUnresolved && !r.dnsChecked {
          let check = dnsCheck ?? DNSCheck(mailbox: mailbox)
          dnsCheck = check
          check.submit([r])
          continue
        }
        return r
      }
      if let d = got.deferred.first {
        switch d.cause {
        case .localFailure(let e): throw .localFailure(errno: e)
        case .hostPaused, .hostBusy: throw .hostPaused(until: d.at)
        }
      }
    }
    throw .timedOut(afterMs: budget)
  }
}
