/// The figures of one pass over the selected URLs, whichever database the rows come from: counts by
/// status, overdue, removals in the window, lateness, time-to-takedown, takedowns per day, and each URL's
/// facts for the campaign table. Each backend reads the rows its fastest way and feeds them to `add`.
struct URLPass {
  /// NULL, in the integer columns `add` takes.
  static let none = Int64.min

  let since: Int64
  let now: Int64
  private(set) var facts: URLFacts
  private var byStatus = [Int](repeating: 0, count: URLStatus.allCases.count)
  private var takenDown = 0
  private var firstTakenDown = 0
  private var late = 0
  private var overdue = 0
  private var ttt: [Int64] = []
  private var perDay: [Int64: Int] = [:]
  // Neighbouring URLs were mostly removed on the same day: count runs, not a dictionary update per URL.
  private var lastDay = Int64.min
  private var lastDayCount = 0

  /// `maxID`: the largest id the pass may meet (the facts are dense arrays up to it).
  init(_ f: ReportFilter, now: Int64, maxID: Int) {
    since = f.since ?? Int64.min
    self.now = now
    facts = URLFacts(maxID: maxID)
  }

  /// One URL. `code` is its status's index in `URLStatus.allCases`; times are `URLPass.none` for NULL.
  @inline(__always)
  mutating func add(id: Int, code: Int, deadline: Int64, latest: Int64, first: Int64, reported: Int64) {
    byStatus[code] += 1
    facts.setStatus(id, UInt8(code))
    if deadline != Self.none, deadline < now, code != SQLiteStore.takenDownCode, code != SQLiteStore.cancelledCode {
      facts.markOverdue(id)
      overdue += 1
    }
    if latest != Self.none, latest >= since { takenDown += 1 }
    guard first != Self.none, first >= since else { return }
    firstTakenDown += 1
    let day = first >= 0 ? first / 86_400_000 : (first - 86_399_999) / 86_400_000
    if day == lastDay {
      lastDayCount += 1
    } else {
      perDay[lastDay, default: 0] += lastDayCount
      lastDay = day
      lastDayCount = 1
    }
    if deadline != Self.none, first > deadline { late += 1 }
    if reported != Self.none {
      let duration = max(first - reported, 0)
      ttt.append(duration)
      facts.setTTT(id, duration)
    }
  }

  /// The figures the rows give (reappeared, hosts and campaigns are left for other queries) and the facts.
  mutating func finish(_ f: ReportFilter) -> (ReportFigures, URLFacts) {
    perDay[lastDay, default: 0] += lastDayCount
    perDay[Int64.min] = nil
    ttt.sortDurations()
    var counts: [URLStatus: Int] = [:]
    for (i, st) in URLStatus.allCases.enumerated() { counts[st] = byStatus[i] }
    let figures = ReportFigures(
      filter: f, generatedAt: now, byStatus: counts, takenDown: takenDown, firstTakenDown: firstTakenDown,
      takenDownLate: late, reappeared: 0, overdue: overdue, timeToTakedown: DurationStats(sorted: ttt),
      timeToTakedownHistogram: Durations.histogram(ttt),
      takedownsPerDay: perDay.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, topHostsOnline: [],
      campaigns: [])
    return (figures, facts)
  }
}

extension CampaignMemberships {
  /// Starts the next campaign's URLs; campaigns come in any order, each once, and its URL ids
  /// (`add`) ascending.
  mutating func start(campaign: String?) {
    names.append(campaign)
    starts.append(ids.count)
  }

  mutating func add(id: Int64) { ids.append(id) }
}
