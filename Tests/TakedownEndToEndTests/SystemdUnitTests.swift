import Foundation
import Testing

/// The unit file and `make install`/`make uninstall`, checked with the tools an operator would use.
/// The checks that need systemd's tools are skipped where they are not installed (.ci/run installs them).
@Suite(.serialized) struct SystemdUnitTests {
  /// The package root: this file is Tests/TakedownEndToEndTests/SystemdUnitTests.swift.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let unitPath = root + "/systemd/takedownd.service"
  static let systemdAnalyze = executable("systemd-analyze")
  static let make = executable("make")
  static let man = executable("man")

  static func executable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// The unit with ExecStart= (and the takedownd ExecReload=) pointing at `binary`, written as takedownd.service into `dir`:
  /// verify refuses an ExecStart= whose program does not exist.
  static func unitCopy(from source: String = unitPath, execStart binary: String, in dir: TempDir) throws -> String {
    let text = try String(contentsOfFile: source, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      // ExecStart= and the ExecReload= that checks the configuration first both run takedownd.
      guard let key = ["ExecStart=", "ExecReload="].first(where: { line.hasPrefix($0) }) else { return String(line) }
      let args = line.dropFirst(key.count).split(separator: " ", maxSplits: 1)
      guard args.first?.hasSuffix("/takedownd") == true else { return String(line) }
      return "\(key)\(binary) \(args.count > 1 ? String(args[1]) : "")"
    }
    let path = dir.path + "/takedownd.service"
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// `[Service]` (and `[Unit]`) settings as key → values, in file order.
  static func settings(_ path: String) throws -> [String: [String]] {
    var result: [String: [String]] = [:]
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("["), let eq = trimmed.firstIndex(of: "=") else { continue }
      result[String(trimmed[..<eq]), default: []].append(String(trimmed[trimmed.index(after: eq)...]))
    }
    return result
  }

  @Test func unitDeclaresTheServiceContract() throws {
    let s = try Self.settings(Self.unitPath)
    // What the daemon and the config rely on: readiness and watchdog over sd_notify, SIGHUP reload,
    // the database in the state directory, the config in /etc/takedown.
    #expect(s["Type"] == ["notify"])
    #expect(s["NotifyAccess"] == ["main"])
    #expect(s["WatchdogSec"] == ["60s"])
    // A broken configuration fails the reload before any SIGHUP is sent (takedownd --check-config).
    #expect(
      s["ExecReload"] == [
        "/usr/local/bin/takedownd --check-config --quiet --config /etc/takedown/takedown.toml", "/bin/kill -HUP $MAINPID",
      ])
    #expect(s["Restart"] == ["on-failure"])
    #expect(s["DynamicUser"] == ["yes"])
    #expect(s["StateDirectory"] == ["takedownd"])
    #expect(s["ConfigurationDirectory"] == ["takedown"])
    #expect(s["ExecStart"] == ["/usr/local/bin/takedownd --config /etc/takedown/takedown.toml"])
    #expect(s["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"])
    #expect(s["CapabilityBoundingSet"] == [""])
    #expect(s["SystemCallFilter"]?.first == "@system-service")
    // Only setpriority() comes back from @resources, and only down to nice -4: libdispatch's worker
    // threads, which otherwise log a failure at every start, reload and stop (issue 21).
    #expect(s["SystemCallFilter"] == ["@system-service", "~@privileged @resources", "setpriority"])
    #expect(s["LimitNICE"] == ["-4"])
    // The installed config must keep a relative database: it then lands in $STATE_DIRECTORY.
    let config = try String(contentsOfFile: Self.root + "/config/takedown.toml", encoding: .utf8)
    #expect(config.contains("\ndatabase = \"takedown.sqlite\"\n"))
  }

  @Test(.enabled(if: SystemdUnitTests.systemdAnalyze != nil, "systemd-analyze is not installed (apt-get install systemd)"))
  func verifyPrintsNothing() throws {
    let dir = TempDir()
    let unit = try Self.unitCopy(execStart: Binaries.takedownd, in: dir)
    // The Documentation= man pages are checked in the install test, where they exist.
    let r = try run(Self.systemdAnalyze!, ["verify", "--man=no", unit], in: dir)
    #expect(r.status == 0)
    #expect(r.stderr == "", "systemd-analyze verify complained:\n\(r.stderr)")
    #expect(r.stdout == "")
  }

  @Test(.enabled(if: SystemdUnitTests.systemdAnalyze != nil, "systemd-analyze is not installed (apt-get install systemd)"))
  func exposureIsAtMostOnePointFive() throws {
    let dir = TempDir()
    let unit = try Self.unitCopy(execStart: Binaries.takedownd, in: dir)
    let r = try run(Self.systemdAnalyze!, ["security", "--offline=yes", "--no-pager", unit], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    // "→ Overall exposure level for takedownd.service: 1.4 OK 🙂"
    let line = try #require(
      r.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") }, "no exposure line:\n\(r.stdout)")
    let afterColon = try #require(line.split(separator: ":").last)
    let score = try #require(Double(afterColon.split(separator: " ").first ?? ""), "cannot read \(line)")
    #expect(score <= 1.5, "exposure \(score) > 1.5:\n\(r.stdout)")
  }

  /// Every file install lays out under DESTDIR for PREFIX=/usr, with whether it must be executable.
  static let installed: [(path: String, executable: Bool)] = [
    ("/usr/bin/takedownd", true),
    ("/usr/bin/takedownctl", true),
    ("/usr/lib/systemd/system/takedownd.service", false),
    ("/usr/share/man/man8/takedownd.8", false),
    ("/usr/share/man/man1/takedownctl.1", false),
    ("/usr/share/bash-completion/completions/takedownctl", false),
    ("/usr/share/zsh/site-functions/_takedownctl", false),
    ("/usr/share/fish/vendor_completions.d/takedownctl.fish", false),
    ("/etc/takedown/takedown.toml", false),
  ]

  /// `make install|uninstall` into `destdir`, installing the binaries the tests run (no compile).
  static func runMake(_ target: String, destdir: String, in dir: TempDir) throws -> Finished {
    // An outer `make test` would hand its jobserver to us through MAKEFLAGS.
    try run(
      make!, ["-C", root, target, "DESTDIR=\(destdir)", "PREFIX=/usr", "BIN_DIR=\(Binaries.dir)"], in: dir,
      env: ["MAKEFLAGS": "", "MAKELEVEL": "", "MFLAGS": ""])
  }

  static func regularFiles(under path: String) -> [String] {
    let all = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
    return all.filter {
      var isDir: ObjCBool = false
      return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
    }.sorted()
  }

  @Test(.enabled(if: SystemdUnitTests.make != nil, "make is not installed"))
  func installLaysOutEveryFileAndUninstallRemovesThem() throws {
    let dir = TempDir()
    let destdir = dir.path + "/root"
    let install = try Self.runMake("install", destdir: destdir, in: dir)
    try #require(install.status == 0, "make install failed:\n\(install.stdout)\n\(install.stderr)")

    let fm = FileManager.default
    #expect(Self.regularFiles(under: destdir) == Self.installed.map { String($0.path.dropFirst()) }.sorted())
    for (path, executable) in Self.installed {
      let full = destdir + path
      let attrs = try fm.attributesOfItem(atPath: full)
      #expect((attrs[.size] as? Int ?? 0) > 0, "\(path) is empty")
      let mode = (attrs[.posixPermissions] as? Int ?? 0) & 0o777
      #expect(mode == (executable ? 0o755 : 0o644), "\(path) has mode \(String(mode, radix: 8))")
    }
    // The installed unit is the repository's with ExecStart= and ExecReload= at PREFIX/bin, and nothing
    // else changed.
    let unit = try String(contentsOfFile: destdir + "/usr/lib/systemd/system/takedownd.service", encoding: .utf8)
    let source = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
    #expect(
      unit == source.replacingOccurrences(of: "ExecStart=/usr/local/bin/takedownd ", with: "ExecStart=/usr/bin/takedownd ")
        .replacingOccurrences(of: "ExecReload=/usr/local/bin/takedownd ", with: "ExecReload=/usr/bin/takedownd "))
    #expect(unit.contains("\nExecReload=/usr/bin/takedownd --check-config --quiet --config /etc/takedown/takedown.toml\n"))
    #expect(unit.contains("\nExecStart=/usr/bin/takedownd --config /etc/takedown/takedown.toml\n"))
    #expect(
      try String(contentsOfFile: destdir + "/etc/takedown/takedown.toml", encoding: .utf8)
        == String(contentsOfFile: Self.root + "/config/takedown.toml", encoding: .utf8))
    let man8 = try String(contentsOfFile: destdir + "/usr/share/man/man8/takedownd.8", encoding: .utf8)
    #expect(man8.contains(".Dt TAKEDOWND 8"))
    let man1 = try String(contentsOfFile: destdir + "/usr/share/man/man1/takedownctl.1", encoding: .utf8)
    #expect(man1.contains(".Dt TAKEDOWNCTL 1") && man1.contains("enqueue"))
    let zsh = try String(contentsOfFile: destdir + "/usr/share/zsh/site-functions/_takedownctl", encoding: .utf8)
    #expect(zsh.hasPrefix("#compdef takedownctl"))

    // As an operator would check it after installing: the installed unit, its binary, its man pages.
    if let analyze = Self.systemdAnalyze {
      let unitDir = TempDir()
      let copy = try Self.unitCopy(
        from: destdir + "/usr/lib/systemd/system/takedownd.service", execStart: destdir + "/usr/bin/takedownd",
        in: unitDir)
      let r = try run(
        analyze, ["verify", "--man=\(Self.man != nil ? "yes" : "no")", copy], in: dir,
        env: ["MANPATH": destdir + "/usr/share/man"])
      #expect(r.status == 0 && r.stderr == "", "systemd-analyze verify of the installed unit:\n\(r.stderr)")
    }

    let uninstall = try Self.runMake("uninstall", destdir: destdir, in: dir)
    #expect(uninstall.status == 0, "make uninstall failed:\n\(uninstall.stderr)")
    #expect(Self.regularFiles(under: destdir) == [])
  }

  @Test(.enabled(if: SystemdUnitTests.make != nil, "make is not installed"))
  func installKeepsAnEditedConfig() throws {
    let dir = TempDir()
    let destdir = dir.path + "/root"
    let conf = destdir + "/etc/takedown/takedown.toml"
    try FileManager.default.createDirectory(atPath: destdir + "/etc/takedown", withIntermediateDirectories: true)
    let mine = "database = \"mine.sqlite\"\n"
    try mine.write(toFile: conf, atomically: true, encoding: .utf8)

    let install = try Self.runMake("install", destdir: destdir, in: dir)
    try #require(install.status == 0, "make install failed:\n\(install.stdout)\n\(install.stderr)")
    #expect(try String(contentsOfFile: conf, encoding: .utf8) == mine)
    #expect(
      try String(contentsOfFile: conf + ".new", encoding: .utf8)
        == String(contentsOfFile: Self.root + "/config/takedown.toml", encoding: .utf8))
    #expect(install.stdout.contains("takedown.toml.new"), "install must say where the shipped config went")

    // uninstall takes back the .new it put there, and leaves the operator's file alone.
    let uninstall = try Self.runMake("uninstall", destdir: destdir, in: dir)
    #expect(uninstall.status == 0)
    #expect(Self.regularFiles(under: destdir) == ["etc/takedown/takedown.toml"])
    #expect(try String(contentsOfFile: conf, encoding: .utf8) == mine)
  }
}
