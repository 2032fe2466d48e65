import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE) and how many checks it leaves room for.
///
/// A check in flight holds a socket; a process at its limit gets EMFILE from socket(), which libcurl
/// reports as "couldn't connect", indistinguishable from a site that refused. So the daemon raises the
/// soft limit to the hard one at start and runs no more checks than the limit allows.
public struct FileLimit: Sendable, Equatable {
  /// The soft limit in force (after raising).
  public var soft: Int
  public var hard: Int
  /// The soft limit found at start.
  public var before: Int
  /// Descriptors open when the limit was measured (database, lock file, standard streams…).
  public var open: Int

  /// Descriptors one check may hold: its socket, plus a second one while happy eyeballs tries two
  /// addresses or libcurl's threaded resolver holds its socketpair.
  public static let perCheck = 2
  /// Kept free for everything else: SQLite's files for the summary, the status log after a reopen,
  /// metrics clients, the system resolver's sockets for DNS re-checks.
  public static let reserve = 32

  /// The most checks in flight this limit allows (at least one).
  public var maxChecks: Int { max(1, (soft - open - Self.reserve) / Self.perCheck) }

  /// Raises the soft limit as far as the hard limit (and the kernel's nr_open) allow, then measures.
  public static func raise() -> FileLimit {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else {
      return FileLimit(soft: 1024, hard: 1024, before: 1024, open: openDescriptors())
    }
    let before = limit.rlim_cur
    var target = limit.rlim_max
    if target == rlim_t.max { target = rlim_t(kernelMaximum()) }
    if limit.rlim_cur < target {
      var raised = limit
      raised.rlim_cur = target
      if setrlimit(resource, &raised) == 0 { limit = raised }
    }
    return FileLimit(
      soft: clampToInt(limit.rlim_cur), hard: clampToInt(limit.rlim_max), before: clampToInt(before),
      open: openDescriptors())
  }

  /// Descriptors open now (the entries of /proc/self/fd, less the one listing them).
  static func openDescriptors() -> Int {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return 16 }
    return max(entries.count - 1, 3)
  }

  /// The kernel's ceiling for RLIMIT_NOFILE (an "unlimited" hard limit cannot be set as the soft one).
  static func kernelMaximum() -> Int {
    let text = (try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8)) ?? ""
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1_048_576
  }

  private static func clampToInt(_ v: rlim_t) -> Int { v >= rlim_t(Int.max) ? Int.max : Int(v) }
}
