// libFuzzer entry point for the config parser: any text gives a Config or a ConfigError, nothing else.
// toml++ asserts on some malformed input ("[.probe]", "resolve = [}", "x = 1979-05-2= 8"): ConfigLoader
// screens those shapes first (TOMLGuard). This target found the "[" + line break, "[}" and "1979-05-2= 8"
// shapes (seeds/config/ keeps them); a new one shows up as an abort.
import TakedownCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
  do {
    _ = try ConfigLoader.parse(text, file: "fuzz.toml")
  } catch let error as ConfigError {
    precondition(!error.problems.isEmpty, "ConfigError without problems")
  } catch {
    preconditionFailure("not a ConfigError: \(error)")
  }
  return 0
}
