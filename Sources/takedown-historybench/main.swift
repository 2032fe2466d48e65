// Benchmark scenario 9 (benchmarks/README.md): a simulated year of history for a queue, written through
// the real store code (claim, complete, recordSummary, compactHistory) with synthetic timestamps, so a
// year takes minutes. Prints the database's size as it goes, with and without the [history] policy, and
// the compaction's longest transaction.
//
//   takedown-historybench --database PATH|URI [--urls 100000] [--days 365] [--keep-all-for 30d]
//     [--no-compact] [--seed 1]
//
// The status mix (per URL, drawn once): 55 % online all year (rechecked every 6 h; 0.5 % of checks a
// timeout), 30 % taken down on a random day (confirmed by a second removal an hour later, then watched
// daily), 5 % taken down and back online some weeks later, 10 % dead hosts (connection refused, backing
// off to 6 h, given up after 14 days and still retried). The schedule is the default [schedule].
// `--timeouts-per-mille N` changes the share of an online URL's checks that time out (default 5).
import Foundation
import TakedownCore

#if canImport(Glibc)
  import Glibc
#endif

struct Options {
  var database = ""
  var urls = 100_000
  var days = 365
  var keepAllForMs: Int64 = 30 * 86_400_000
  var compact = true
  var seed: UInt64 = 1
  /// Checks of an online URL that time out, per thousand.
  var blipsPerMille = 5
}

func parseOptions() -> Options {
  var o = Options()
  var args = CommandLine.arguments.dropFirst()
  func value(_ name: String) -> String {
    guard let v = args.popFirst() else {
      FileHandle.standardError.write(Data("takedown-historybench: \(name) needs a value\n".utf8))
      exit(64)
    }
    return v
  }
  while let a = args.popFirst() {
    switch a {
    case "--database": o.database = value(a)
    case "--urls": o.urls = Int(value(a)) ?? -1
    case "--days": o.days = Int(value(a)) ?? -1
    case "--keep-all-for": o.keepAllForMs = DurationParser.parseMs(value(a)) ?? -1
    case "--no-compact": o.compact = false
    case "--seed": o.seed = UInt64(value(a)) ?? 1
    case "--timeouts-per-mille": o.blipsPerMille = Int(value(a)) ?? -1
    default:
      FileHandle.standardError.write(Data("takedown-historybench: unknown argument \(a)\n".utf8))
      exit(64)
    }
  }
  if o.database.isEmpty || o.blipsPerMille < 0 || o.urls <= 0 || o.days <= 0 || o.keepAllForMs <= 0 {
    FileHandle.standardError.write(
      Data("usage: takedown-historybench --database PATH|URI [--urls N] [--days N] [--keep-all-for 30d] [--no-compact]\n".utf8))
    exit(64)
  }
  return o
}

/// SplitMix64: the same queue for the same seed.
struct Random: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

enum Profile {
  case online
  /// Removed from this time on.
  case removed(at: Int64)
  /// Removed during [from, until), online otherwise.
  case reappears(from: Int64, until: Int64)
  case dead
}

let day: Int64 = 86_400_000
let hour: Int64 = 3_600_000
let o = parseOptions()
let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
var rng = Random(state: o.seed)

func monotonicUs() -> Int64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

let store: any TakedownStore
do {
  var options = StoreOpener.Options()
  options.checker = true
  store = try StoreOpener.open(o.database, options)
} catch {
  FileHandle.standardError.write(Data("takedown-historybench: cannot open \(o.database): \(error)\n".utf8))
  exit(66)
}

var profiles: [Int64: Profile] = [:]
var hashes: [Int64: String] = [:]
do {
  try store.prepareForBulkWrites()
  var items: [EnqueueItem] = []
  for i in 0..<o.urls {
    let url = try URLNormalizer.normalize("https://host\(i % 5000).example/watch/\(i)?v=\(i * 7919)").get()
    items.append(EnqueueItem(url: url, report: ReportMetadata(reportedAt: start, campaign: "bench")))
  }
  _ = try store.enqueue(items, now: start)
} catch {
  FileHandle.standardError.write(Data("takedown-historybench: enqueue failed: \(error)\n".utf8))
  exit(70)
}

@MainActor func profile(_ id: Int64) -> Profile {
  if let p = profiles[id] { return p }
  let roll = Int.random(in: 0..<100, using: &rng)
  let span = Int64(o.days) * day
  let p: Profile
  switch roll {
  case 0..<55: p = .online
  case 55..<85: p = .removed(at: start + Int64.random(in: 0..<span, using: &rng))
  case 85..<90:
    let from = start + Int64.random(in: 0..<span, using: &rng)
    p = .reappears(from: from, until: from + Int64.random(in: (7 * day)...(60 * day), using: &rng))
  default: p = .dead
  }
  profiles[id] = p
  return p
}

func hex(_ n: UInt64) -> String {
  let s = String(n, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}

@MainActor func result(_ c: ClaimedURL, at t: Int64) -> ProbeResult {
  let online: Bool
  var dead = false
  switch profile(c.id) {
  case .online: online = true
  case .removed(let at): online = t < at
  case .reappears(let from, let until): online = t < from || t >= until
  case .dead:
    online = false
    dead = true
  }
  var timings = CheckTimings()
  timings.dnsUs = Int64.random(in: 200...4000, using: &rng)
  timings.connectUs = timings.dnsUs + Int64.random(in: 2000...40_000, using: &rng)
  timings.tlsUs = timings.connectUs + Int64.random(in: 5000...60_000, using: &rng)
  timings.firstByteUs = timings.tlsUs + Int64.random(in: 10_000...300_000, using: &rng)
  timings.totalUs = timings.firstByteUs + Int64.random(in: 1000...200_000, using: &rng)
  let date = Timestamp.iso(t)
  var r: ProbeResult
  if dead || (online && Int.random(in: 0..<1000, using: &rng) < o.blipsPerMille) {
    r = ProbeResult(
      claim: c, checkedAt: t, observation: .transient, reason: dead ? .connectFailed : .timeout, httpStatus: nil,
      curlCode: dead ? 7 : 28, finalURL: nil, redirects: 0, remoteIP: dead ? nil : "203.0.113.\(c.id % 250)",
      timings: timings, bytes: 0)
    r.evidence = CheckEvidence(vantage: "eu-1", method: "GET")
  } else if online {
    r = ProbeResult(
      claim: c, checkedAt: t, observation: .online, reason: .http200, httpStatus: 200, curlCode: 0, finalURL: c.url,
      redirects: 0, remoteIP: "203.0.113.\(c.id % 250)", timings: timings, bytes: 65_536)
    let hash = hashes[c.id] ?? (hex(rng.next()) + hex(rng.next()) + hex(rng.next()) + hex(rng.next()))
    hashes[c.id] = hash
    r.evidence = CheckEvidence(
      vantage: "eu-1", method: "GET", bodySHA256: hash,
      headers: [
        ("server", "nginx/1.24.0"), ("date", date), ("content-type", "text/html; charset=utf-8"),
        ("content-length", "183412"), ("last-modified", "Tue, 02 Dec 2025 10:00:00 GMT"),
      ])
  } else {
    r = ProbeResult(
      claim: c, checkedAt: t, observation: .removed, reason: .http404, httpStatus: 404, curlCode: 0, finalURL: c.url,
      redirects: 0, remoteIP: "203.0.113.\(c.id % 250)", timings: timings, bytes: 1024)
    r.evidence = CheckEvidence(
      vantage: "eu-1", method: "GET", bodySHA256: hex(0) + hex(0) + hex(0) + hex(UInt64(c.id % 7)),
      headers: [("server", "nginx/1.24.0"), ("date", date), ("content-type", "text/html"), ("content-length", "1024")])
  }
  return r
}

// PostgreSQL: autovacuum wakes once a minute and acts on a table's share of dead rows, a pace set for
// real time; a year compressed into minutes outruns it, and the tables would hold dead rows a real
// deployment never accumulates. A plain VACUUM (no lock against writers; never VACUUM FULL) every
// simulated day stands in for it.
let vacuumer: PostgresConnection? = StoreOpener.isPostgres(o.database) ? try? PostgresConnection(o.database) : nil

var history = HistoryConfig()
history.keepAllForMs = o.keepAllForMs
let schedule = ScheduleConfig()
var written = 0
var longestStepUs: Int64 = 0
var longestReclaimUs: Int64 = 0
var stepsOver50ms = 0
var longestStepCpuUs: Int64 = 0
var longestCompleteUs: Int64 = 0
var steps = 0
var folded = 0
var bytesPerCheckBeforeCompaction: Double?
let wallStart = monotonicUs()

@MainActor func report(_ d: Int) throws {
  let s = try store.storageBytes()
  var line = "day \(d): checks written \(written), storage \(s.total) bytes (\(s.total / Int64(o.urls)) per URL)"
  if let free = s.free { line += ", free inside \(free)" }
  line += ", folded \(folded), longest compaction step " + ms(longestStepUs) + " (CPU " + ms(longestStepCpuUs) + ", reclaim " + ms(longestReclaimUs) + ")"
  line += ", steps over 50 ms \(stepsOver50ms) of \(steps), wall \((monotonicUs() - wallStart) / 1_000_000) s"
  say(line)
}

func ms(_ us: Int64) -> String { String(format: "%.1f", Double(us) / 1000) + " ms" }

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

do {
  var t = start
  let end = start + Int64(o.days) * day
  var nextDay = start + day
  var sizes: [Int: Int64] = [:]
  while t < end {
    // Everything due by now, in claim batches, recorded in batches of 1,000 (as the daemon does).
    while true {
      let claimed = try store.claim(holder: "bench", limit: 5000, now: t, leaseMs: 300_000)
      if claimed.isEmpty { break }
      var i = 0
      while i < claimed.count {
        let batch = claimed[i..<min(i + 1000, claimed.count)].map { result($0, at: t + Int64.random(in: 0..<hour, using: &rng)) }
        let c0 = monotonicUs()
        let stats = try store.complete(batch, holder: "bench", config: schedule, jitter: { Double.random(in: 0...1, using: &rng) })
        longestCompleteUs = max(longestCompleteUs, monotonicUs() - c0)
        written += stats.recorded
        i += 1000
      }
    }
    try store.recordSummary(
      StoredSummary(
        at: t, intervalMs: hour, holder: "bench", checks: 0, checksPerSecond: 0, byStatus: [:], newlyTakenDown: 0,
        newlyReappeared: 0, due: 0))
    t += hour
    if t >= nextDay {
      let d = Int((t - start) / day)
      if o.compact {
        // A round a day: what 24 hourly rounds of the daemon do together.
        let round = HistoryCompaction(config: history)
        while !round.finished {
          try store.compactHistory(round, now: t)
        }
        longestStepUs = max(longestStepUs, round.totals.longestTransactionUs)
        longestReclaimUs = max(longestReclaimUs, round.totals.longestReclaimUs)
        stepsOver50ms += round.totals.transactionsOver50ms
        longestStepCpuUs = max(longestStepCpuUs, round.totals.longestTransactionCpuUs)
        steps += round.totals.transactions
        folded += round.totals.checksFolded
      }
      if let vacuumer { try vacuumer.execute("VACUUM checks, check_folds, summaries, history_marks") }
      if d == Int(o.keepAllForMs / day) {
        let s = try store.storageBytes()
        bytesPerCheckBeforeCompaction = Double(s.total - (s.free ?? 0)) / Double(written)
      }
      if d % 30 == 0 || d == o.days {
        try report(d)
        sizes[d] = try store.storageBytes().total
      }
      nextDay += day
    }
  }
  let s = try store.storageBytes()
  let perCheck = bytesPerCheckBeforeCompaction ?? Double(s.total - (s.free ?? 0)) / Double(max(written, 1))
  var line = "RESULT urls=\(o.urls) days=\(o.days) compact=\(o.compact) keep_all_for_days=\(o.keepAllForMs / day)"
  line += " checks_written=\(written) storage_bytes=\(s.total) free_bytes=\(s.free ?? -1)"
  line += " bytes_per_url=\(s.total / Int64(o.urls)) bytes_per_check_uncompacted=\(Int(perCheck))"
  line += " extrapolated_uncompacted_bytes=\(Int(perCheck * Double(written)))"
  line += " folded=\(folded) compaction_steps=\(steps) steps_over_50ms=\(stepsOver50ms)"
  line += " longest_step=" + ms(longestStepUs).replacingOccurrences(of: " ", with: "")
  line += " longest_step_cpu=" + ms(longestStepCpuUs).replacingOccurrences(of: " ", with: "")
  line += " longest_reclaim=" + ms(longestReclaimUs).replacingOccurrences(of: " ", with: "")
  line += " longest_complete=" + ms(longestCompleteUs).replacingOccurrences(of: " ", with: "")
  line += " wall_s=\((monotonicUs() - wallStart) / 1_000_000)"
  say(line)
  // The compacted past: the checks older than keep_all_for that stay, and the fold notes, per URL and
  // year of that past (the file's size is mostly the 30-day window, which does not grow with time).
  let cutoff = end - o.keepAllForMs
  let pastYears = Double(end - o.keepAllForMs - start) / Double(365 * day)
  let sql = [
    "SELECT count(*) FROM checks WHERE checked_at < \(cutoff)", "SELECT count(*) FROM check_folds",
    "SELECT count(*) FROM events",
  ]
  var counts: [Int64] = []
  for q in sql {
    switch store {
    case let s as SQLiteStore: counts.append(try s.db.scalar(q) ?? 0)
    case let p as PostgresStore: counts.append(try p.connection.execute(q).int64(0, 0) ?? 0)
    default: counts.append(0)
    }
  }
  if pastYears > 0 {
    let perURLYear = { (n: Int64) in Double(n) / Double(o.urls) / pastYears }
    var past = "RESULT past_checks_per_url_per_year=" + String(format: "%.1f", perURLYear(counts[0]))
    past += " folds_per_url_per_year=" + String(format: "%.1f", perURLYear(counts[1]))
    past += " events_per_url_per_year=" + String(format: "%.1f", perURLYear(counts[2]))
    past += " past_bytes_per_url_per_year=\(Int(perURLYear(counts[0]) * perCheck + perURLYear(counts[1]) * 80))"
    say(past)
  }
  if let a = sizes[o.days - 90 - (o.days % 30)], let b = sizes[o.days - (o.days % 30)] ?? sizes[o.days] {
    say("RESULT growth_last_90_days_bytes=\(b - a) growth_per_url_per_year=\((b - a) * 365 / 90 / Int64(o.urls))")
  }
  try store.closeForShutdown()
} catch {
  FileHandle.standardError.write(Data("takedown-historybench: \(error)\n".utf8))
  exit(70)
}
