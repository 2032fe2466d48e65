import ArgumentParser

/// `takedownctl --db q.sqlite summary`: the options every subcommand takes (`--db`, `--config`) are
/// accepted before the subcommand too. ArgumentParser reads an option only after the command that
/// declares it, so the arguments are rewritten before parsing: the leading `--db`/`--config` options
/// (and their values) move to just after the subcommand's name (after `config check` for a nested
/// one). Nothing else moves, and nothing after the subcommand's name is looked at except to compare:
/// the same option given before and after the subcommand with different values is a usage error.
enum GlobalOptions {
  static let names = ["--db", "--config"]

  /// Why the arguments were refused (exit 64).
  struct Refusal: Error, CustomStringConvertible {
    var description: String
  }

  /// The arguments (without the program name) with leading global options moved after the subcommand.
  static func rewrite(_ args: [String], root: any ParsableCommand.Type) throws(Refusal) -> [String] {
    var leading: [(name: String, value: String)] = []
    var i = 0
    while i < args.count {
      let a = args[i]
      if let n = names.first(where: { a == $0 }) {
        guard i + 1 < args.count else { throw Refusal(description: "\(n) needs a value") }
        leading.append((n, args[i + 1]))
        i += 2
      } else if let n = names.first(where: { a.hasPrefix($0 + "=") }) {
        leading.append((n, String(a.dropFirst(n.count + 1))))
        i += 1
      } else {
        break
      }
    }
    guard !leading.isEmpty else { return args }
    for n in names {
      let values = leading.filter { $0.name == n }.map(\.value)
      if let other = values.first(where: { $0 != values[0] }) {
        throw Refusal(description: "\(n) is given twice before the subcommand, as '\(values[0])' and as '\(other)': give it once")
      }
    }
    // The subcommand's name, and its own subcommand's (`config check`).
    var command = root
    var j = i
    while j < args.count, let sub = command.configuration.subcommands.first(where: { $0._commandName == args[j] }) {
      command = sub
      j += 1
    }
    // No subcommand (`takedownctl --db x --help`): left as it is, for ArgumentParser to answer.
    guard j > i else { return args }
    // The same options after the subcommand (up to a `--`, after which everything is an argument).
    var after: [String: String] = [:]
    var k = j
    while k < args.count, args[k] != "--" {
      let a = args[k]
      if let n = names.first(where: { a == $0 }), k + 1 < args.count {
        after[n] = args[k + 1]
        k += 2
        continue
      }
      if let n = names.first(where: { a.hasPrefix($0 + "=") }) { after[n] = String(a.dropFirst(n.count + 1)) }
      k += 1
    }
    for (n, value) in leading {
      if let later = after[n], later != value {
        throw Refusal(
          description: "\(n) is given before the subcommand as '\(value)' and after it as '\(later)': give it once")
      }
    }
    // Each option once (given twice with one value, before and after, it is kept where it was after).
    var out = Array(args[i..<j])
    var placed: Set<String> = []
    for (n, value) in leading where after[n] == nil && !placed.contains(n) {
      placed.insert(n)
      out += [n, value]
    }
    return out + args[j...]
  }
}
