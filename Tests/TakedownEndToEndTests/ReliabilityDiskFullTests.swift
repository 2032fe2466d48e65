import Foundation
import TakedownCore
import TestHTTPServer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 7, part 3: the database on a disk that fills up. Enqueue and the daemon must stop with a clear
/// message and exit 74; the database must stay intact, readable, and usable once space is freed.
@Suite(.serialized) struct ReliabilityDiskFullTests {
  static let smallDiskAvailable: Bool = {
    let dir = TempDir()
    return SmallDisk(at: dir.path + "/probe", sizeKiB: 64) != nil
  }()

  /// A real ENOSPC: a 16 MiB tmpfs in a private mount namespace, filled to the last byte.
  @Test(.enabled(if: smallDiskAvailable, "needs unshare --mount (CAP_SYS_ADMIN)"))
  func aFullDiskStopsEnqueueAndDaemonCleanlyAndLosesNothing() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { req in
      TestResponse(status: req.path.hasSuffix("7") ? 404 : 200, body: Array("x".utf8), delay: .milliseconds(40))
    }
    defer { server.stop() }
    let disk = try #require(SmallDisk(at: dir.path + "/disk", sizeKiB: 16 * 1024))
    let dbPath = disk.mountPoint + "/takedown.sqlite"
    let config = try writeReliabilityConfig(in: dir, database: dbPath, nodeName: "disk-node", concurrency: 20)
    func inside(_ args: [String], stdin: Data? = nil) throws -> (Finished, timedOut: Bool) {
      let (tool, argv) = disk.command(args)
      return try runBounded(tool, argv, stdin: stdin, in: dir)
    }
    let first = (0..<300).map { "\(server.baseURL)/first/\($0)" }
    let more = (0..<3000).map { "\(server.baseURL)/more/\($0)" }
    let (e1, _) = try inside([Binaries.takedownctl, "enqueue", "--config", config, "--file", "-"], stdin: lines(first))
    #expect(e1.status == 0, "\(e1.stderr)")

    let filled = disk.fill()
    #expect(filled > 0)

    // Enqueue on the full disk: exit 74, one clear line, no crash, nothing half-written.
    let (e2, t2) = try inside([Binaries.takedownctl, "enqueue", "--config", config, "--file", "-"], stdin: lines(more))
    #expect(!t2, "enqueue hung on a full disk")
    #expect(e2.status == 74, "exit \(e2.status): \(e2.stdout) \(e2.stderr)")
    // SQLite says "database or disk is full" when a write fails, and "disk I/O error" when it cannot even
    // create the WAL index (-shm) at open: both name the disk.
    #expect(e2.stderr.contains("full") || e2.stderr.contains("disk I/O error"), "\(e2.stderr)")
    #expect(!e2.stderr.contains("Fatal error"), "\(e2.stderr)")

    // Reading on a full disk: it works while the WAL index exists (another process has the database
    // open); when none has, SQLite must create it and cannot, and the command says so (exit 74).
    let (summary, _) = try inside([Binaries.takedownctl, "summary", "--config", config, "--json"])
    #expect(summary.status == 0 || (summary.status == 74 && summary.stderr.contains("disk")), "summary on a full disk: \(summary.stderr)")
    Reliability.figure("diskfull.summary_exit_on_full_disk", summary.status)

    // The daemon on the full disk: exit 74 with the reason in its log, not a hang, not a crash.
    let (d1, td1) = try inside([Binaries.takedownd, "--config", config, "--once"])
    #expect(!td1, "takedownd hung on a full disk: \(d1.stdout.suffix(1000))")
    #expect(d1.status == 74, "exit \(d1.status): \(d1.stdout.suffix(1500)) \(d1.stderr)")
    #expect(d1.stdout.contains("database failure") || d1.stdout.contains("cannot"), "\(d1.stdout.suffix(1500))")
    #expect(d1.stdout.contains("full") || d1.stdout.contains("disk I/O error"), "\(d1.stdout.suffix(1500))")

    // Intact while still full: every URL of the first enqueue, sound structure.
    do {
      let copy = try disk.snapshot(database: dbPath, into: dir.path + "/while-full")
      let store = try SQLiteStore(path: copy, create: false)
      #expect(try databaseInvariantViolations(store.db) == [])
      let firsts = try store.db.scalar("SELECT count(*) FROM urls WHERE url LIKE '%/first/%'")
      let total = try store.db.scalar("SELECT count(*) FROM urls")
      #expect(firsts == 300, "total \(total ?? -1)")
    }

    // Space freed: the same enqueue succeeds and adds exactly what was missing.
    disk.free()
    let (e3, _) = try inside([Binaries.takedownctl, "enqueue", "--config", config, "--file", "-"], stdin: lines(first + more))
    #expect(e3.status == 0, "\(e3.stderr)")
    #expect(e3.stdout.contains("new 3000, already queued 300"), "\(e3.stdout)")

    // The disk fills up under a running daemon: it stops by itself, exit 74, the reason in its log.
    let (tool, argv) = disk.command([Binaries.takedownd, "--config", config])
    let daemon = try start(tool, argv, in: dir)
    // Progress as a reader sees it (the daemon logs transitions only at debug level).
    func checkedSoFar() throws -> Int {
      let (s, _) = try inside([Binaries.takedownctl, "summary", "--config", config, "--json"])
      guard s.status == 0, let obj = try? jsonObject(s.stdout), let by = obj["by_status"] as? [String: Int] else { return 0 }
      return by.filter { $0.key != "pending" }.values.reduce(0, +)
    }
    let busy = try waitUntil(timeout: .seconds(20)) { try checkedSoFar() >= 200 || !daemon.process.isRunning }
    #expect(busy && daemon.process.isRunning, "\(daemon.stdout.suffix(1000)) \(daemon.stderr)")
    disk.fill()
    let stoppedByItself = try waitUntil(timeout: .seconds(20)) { !daemon.process.isRunning }
    let d2 = stoppedByItself ? daemon.finish() : daemon.terminate()
    #expect(stoppedByItself, "takedownd kept running on a full disk: \(d2.stdout.suffix(1500))")
    #expect(d2.status == 74, "exit \(d2.status): \(d2.stdout.suffix(1500)) \(d2.stderr)")
    #expect(d2.stdout.contains("critical database failure"), "\(d2.stdout.suffix(1500))")
    #expect(!d2.stderr.contains("Fatal error"), "\(d2.stderr)")
    do {
      let store = try SQLiteStore(path: try disk.snapshot(database: dbPath, into: dir.path + "/mid-run"), create: false)
      #expect(try databaseInvariantViolations(store.db) == [])
      #expect(try store.db.scalar("SELECT count(*) FROM urls") == 3300)
    }

    // Space freed again: the next run releases what the failed one held and finishes the work.
    disk.free()
    let (d3, _) = try inside([Binaries.takedownd, "--config", config, "--once"])
    #expect(d3.status == 0, "\(d3.stdout.suffix(1500)) \(d3.stderr)")
    let store = try SQLiteStore(path: try disk.snapshot(database: dbPath, into: dir.path + "/after"), create: false)
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 3300)
    #expect(try store.db.scalar("SELECT count(DISTINCT url) FROM urls") == 3300)
    #expect(try store.db.scalar("SELECT count(*) FROM urls WHERE status = 'pending' OR checks = 0") == 0)
    #expect(try store.countLeased() == 0)
    #expect(try databaseInvariantViolations(store.db) == [])
    Reliability.figure("diskfull.tmpfs_urls_verified", 3300)
  }

  /// The same with RLIMIT_FSIZE (EFBIG instead of ENOSPC, SIGXFSZ ignored as a service manager may):
  /// needs no privilege, so it runs everywhere.
  @Test(
    .disabled(
      if: ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil,
      "ThreadSanitizer's own runtime dies with SIGBUS at start under RLIMIT_FSIZE (make sanitize-thread)")
  )
  func aFileSizeLimitStopsEnqueueAndDaemonCleanly() throws {
    let dir = TempDir()
    let server = try TestHTTPServer { _ in TestResponse(status: 200, body: Array("x".utf8)) }
    defer { server.stop() }
    let config = try writeReliabilityConfig(in: dir, nodeName: "fsize-node", concurrency: 20)
    let first = (0..<300).map { "\(server.baseURL)/first/\($0)" }
    let more = (0..<5000).map { "\(server.baseURL)/more/\($0)?padding=\(String(repeating: "p", count: 100))" }
    #expect(try run(Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: lines(first), in: dir).status == 0)
    let dbPath = dir.path + "/takedown.sqlite"
    let size = (try FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int) ?? 0
    let limit = max(size, 64 * 1024) + 32 * 1024
    guard let prlimit = findTool("prlimit") else {
      Issue.record("prlimit (util-linux) is missing")
      return
    }
    func limited(_ args: [String], stdin: Data? = nil) throws -> (Finished, timedOut: Bool) {
      // `trap '' XFSZ`: an ignored signal stays ignored across exec, so writes fail with EFBIG.
      try runBounded(
        "/bin/sh", ["-c", "trap '' XFSZ; exec \"$@\"", "sh", prlimit, "--fsize=\(limit)", "--"] + args, stdin: stdin,
        in: dir)
    }
    let (e2, t2) = try limited([Binaries.takedownctl, "enqueue", "--config", config, "--file", "-"], stdin: lines(more))
    #expect(!t2)
    #expect(e2.status == 74, "exit \(e2.status): \(e2.stderr)")
    #expect(!e2.stderr.isEmpty)
    let (d1, td1) = try limited([Binaries.takedownd, "--config", config, "--once"])
    #expect(!td1, "\(d1.stdout.suffix(1000))")
    // The daemon may get some work done before the WAL reaches the limit; if it fails, it says so and exits 74.
    #expect(d1.status == 74 || d1.status == 0, "exit \(d1.status): \(d1.stdout.suffix(1500)) \(d1.stderr)")
    if d1.status == 74 { #expect(d1.stdout.contains("database failure"), "\(d1.stdout.suffix(1500))") }

    let store = try SQLiteStore(path: dbPath, create: false)
    #expect(try databaseInvariantViolations(store.db) == [])
    #expect(try store.db.scalar("SELECT count(*) FROM urls WHERE url LIKE '%/first/%'") == 300)
    let again = try run(Binaries.takedownctl, ["enqueue", "--config", config, "--file", "-"], stdin: lines(first + more), in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    let d2 = try run(Binaries.takedownd, ["--config", config, "--once"], in: dir)
    #expect(d2.status == 0, "\(d2.stderr)")
    #expect(try store.db.scalar("SELECT count(*) FROM urls") == 5300)
    #expect(try store.db.scalar("SELECT count(*) FROM urls WHERE checks = 0") == 0)
    #expect(try databaseInvariantViolations(store.db) == [])
  }
}
