import Foundation

/// Runs a system tool (sha256sum, iconv) so expected values in tests come from an implementation
/// other than the one under test. Returns stdout; a failed run is a thrown error, not a guess.
func runTool(_ path: String, _ arguments: [String], stdin: [UInt8] = []) throws -> [UInt8] {
  struct ToolFailed: Error, CustomStringConvertible {
    let description: String
  }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  let input = Pipe()
  let output = Pipe()
  process.standardInput = input
  process.standardOutput = output
  try process.run()
  // Write on another thread: a large input could fill the pipe while the tool waits for us to read.
  let writer = Thread {
    input.fileHandleForWriting.write(Data(stdin))
    try? input.fileHandleForWriting.close()
  }
  writer.start()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationReason == .exit, process.terminationStatus == 0 else {
    throw ToolFailed(description: "\(path) \(arguments) exited with \(process.terminationStatus)")
  }
  return [UInt8](data)
}
