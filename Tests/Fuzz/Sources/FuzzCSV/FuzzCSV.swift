// libFuzzer entry point for the CSV reader, plus a round trip: the records it returns, written back
// with CSVWriter, must read back the same.
import TakedownCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  let records = CSVReader.parse(input, maxRecordBytes: 512)
  var lines = 1
  for b in input where b == 10 { lines += 1 }
  var good: [[String]] = []
  for r in records {
    precondition(r.line >= 1 && r.line <= lines, "line \(r.line) of \(lines)")
    if let e = r.error {
      precondition(!e.isEmpty && e.utf8.count < 400, "bad error text")
    } else {
      good.append(r.fields)
    }
  }
  // Round trip of the well-formed records (a lone empty field is a blank line, which readers skip;
  // a BOM at the very start is taken for a byte order mark).
  let kept = good.filter { $0 != [""] }
  var out: [UInt8] = []
  for r in kept { CSVWriter.append(record: r, to: &out) }
  if !out.starts(with: [0xEF, 0xBB, 0xBF]) {
    let back = CSVReader.parse(out, maxRecordBytes: 1 << 20)
    precondition(back.map(\.fields) == kept && back.allSatisfy { $0.error == nil }, "CSV round trip changed the records")
  }
  return 0
}
