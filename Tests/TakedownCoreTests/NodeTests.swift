import Foundation
import Testing

@testable import TakedownCore

/// Node names are unique among live daemons: a second daemon under a live name is refused, a dead or
/// stopped one's name is taken over (the same on both backends).
@Suite struct NodeTests {
  let dir = TempDir()

  func node(_ name: String, host: String = "elsewhere", process: String = "4242:1") -> NodeRegistration {
    Self.node(name, host: host, process: process)
  }

  static func node(_ name: String, host: String = "elsewhere", process: String = "4242:1") -> NodeRegistration {
    NodeRegistration(
      name: name, vantage: "v", version: "1.0", host: host, process: process, instance: UUID().uuidString)
  }

  @Test(arguments: Backend.allCases) func aLiveNameIsRefusedAndAFreedOneTakenOver(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let a = node("n1")
    #expect(try store.registerNode(a, now: 1000) == .registered(previous: nil))
    // Another machine, while n1 is alive: refused, and n1 keeps its registration.
    let b = node("n1", host: "other")
    guard case .nameInUse(let holder) = try store.registerNode(b, now: 2000) else {
      Issue.record("a live name was taken")
      return
    }
    #expect(holder.instance == a.instance)
    #expect(holder.host == "elsewhere")
    #expect(try store.heartbeat(a, now: 10_000, checks: 7, intervalMs: 5000))
    #expect(try store.heartbeat(b, now: 10_000, checks: 1, intervalMs: 5000) == false)
    // Still refused just inside the alive window after the last heartbeat; taken over after it.
    guard case .nameInUse = try store.registerNode(b, now: 10_000 + NodeLiveness.aliveWindowMs - 1) else {
      Issue.record("a name seen within the alive window was taken")
      return
    }
    guard case .registered(let previous?) = try store.registerNode(b, now: 10_000 + NodeLiveness.aliveWindowMs)
    else {
      Issue.record("a silent node's name was not taken over")
      return
    }
    #expect(previous.instance == a.instance)
    #expect(previous.checksLastInterval == 7)
    // The silent one learns at its next heartbeat that the name is no longer its own.
    #expect(try store.heartbeat(a, now: 30_000, checks: 0, intervalMs: 5000) == false)
    #expect(try store.heartbeat(b, now: 30_000, checks: 3, intervalMs: 5000))
    // A clean stop frees the name at once.
    try store.unregisterNode(b, now: 31_000)
    let c = node("n1", host: "third")
    guard case .registered(let stopped?) = try store.registerNode(c, now: 31_001) else {
      Issue.record("a stopped node's name was refused")
      return
    }
    #expect(stopped.stoppedAt == 31_000)
  }

  /// systemd restarts a crashed daemon within seconds: its name, held by a process of this machine that
  /// is gone, is taken over at once; a process of this machine that still runs keeps it.
  @Test(arguments: Backend.allCases) func aDeadProcessOfThisMachineGivesUpItsName(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    let me = NodeRegistration.current(name: "local", vantage: "v")
    let crashed = node("local", host: me.host, process: "\(Int32.max - 1):12345")
    #expect(try store.registerNode(crashed, now: 1000) == .registered(previous: nil))
    guard case .registered(let previous?) = try store.registerNode(me, now: 1001) else {
      Issue.record("a dead local process kept its name")
      return
    }
    #expect(previous.process == crashed.process)
    // Now the name is held by this (running) process: another start on this machine is refused.
    let second = NodeRegistration.current(name: "local", vantage: "v")
    guard case .nameInUse = try store.registerNode(second, now: 1002) else {
      Issue.record("a running local process lost its name")
      return
    }
    // A pid that was reused by another process (same pid, another start time) is not the holder.
    let reused = node("reused", host: me.host, process: "\(getpid()):1")
    #expect(try store.registerNode(reused, now: 1000) == .registered(previous: nil))
    guard case .registered = try store.registerNode(node("reused", host: me.host), now: 1001) else {
      Issue.record("a reused pid kept the name")
      return
    }
  }

  /// Daemons starting together under one new name: exactly one gets it.
  @Test(arguments: Backend.allCases) func simultaneousRegistrationsOfOneNameLetOneIn(_ backend: Backend) throws {
    let (_, database) = try backend.newStore(in: dir)
    // Each store is used by its one thread only.
    nonisolated(unsafe) let stores = try (0..<6).map { _ in try StoreOpener.open(database) }
    let outcomes = Locked<[NodeRegistrationOutcome]>([])
    let failures = Locked<[String]>([])
    DispatchQueue.concurrentPerform(iterations: stores.count) { n in
      do {
        let o = try stores[n].registerNode(Self.node("shared", host: "host-\(n)"), now: 1000)
        outcomes.withLock { $0.append(o) }
      } catch {
        failures.withLock { $0.append("\(error)") }
      }
    }
    #expect(failures.withLock { $0 } == [])
    let all = outcomes.withLock { $0 }
    #expect(all.filter { if case .registered = $0 { return true } else { return false } }.count == 1)
    #expect(all.count == stores.count)
  }

  @Test(arguments: Backend.allCases) func nodesListsLeasesAndChecks(_ backend: Backend) throws {
    let store = try backend.newStore(in: dir).store
    _ = try store.enqueue(
      try (0..<5).map { EnqueueItem(url: try URLNormalizer.normalize("http://a.test/\($0)").get(), report: .init()) },
      now: 0)
    let a = node("a")
    let b = node("b")
    _ = try store.registerNode(a, now: 100)
    _ = try store.registerNode(b, now: 100)
    _ = try store.claim(holder: "a", limit: 3, now: 200, leaseMs: 60_000)
    _ = try store.claim(holder: "b", limit: 1, now: 200, leaseMs: 60_000)
    #expect(try store.heartbeat(a, now: 5100, checks: 12, intervalMs: 5000))
    let nodes = try store.nodes()
    #expect(nodes.map(\.name) == ["a", "b"])
    #expect(nodes.map(\.leasesHeld) == [3, 1])
    #expect(nodes[0].checksLastInterval == 12)
    #expect(nodes[0].intervalMs == 5000)
    #expect(nodes[0].lastSeenAt == 5100)
    #expect(nodes[0].startedAt == 100)
    #expect(nodes[0].version == "1.0")
    #expect(nodes[0].vantage == "v")
    #expect(nodes[0].isAlive(now: 6000))
    #expect(!nodes[1].isAlive(now: 100 + NodeLiveness.aliveWindowMs))
  }
}
