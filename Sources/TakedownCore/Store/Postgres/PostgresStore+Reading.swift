/// The reading side of the PostgreSQL store: what takedownctl's reading commands and the reports need.
///
/// SCAFFOLDING (issue 13, in progress).
extension PostgresStore {
  public func setReportExtras(_ extras: [ReportExtra]) throws { throw unfinished() }
  public func lookup(_ idOrURL: String) throws -> URLRecord? { throw unfinished() }
  public func reports(urlID: Int64) throws -> [URLRecord.Report] { throw unfinished() }
  public func list(_ f: ListFilter, _ body: (URLRecord) throws -> Void) throws { throw unfinished() }
  public func history(urlID: Int64) throws -> [CheckRecord] { throw unfinished() }
  public func transitions(urlID: Int64, url: String) throws -> [Transition] { throw unfinished() }
  public func countsByStatus() throws -> [URLStatus: Int] { throw unfinished() }
  public func lastSummary() throws -> StoredSummary? { throw unfinished() }
  public func countSummaries() throws -> Int { throw unfinished() }
  public func overdueCount(now: Int64) throws -> Int { throw unfinished() }
  public func figures(_ f: ReportFilter, now: Int64, topHosts: Int) throws -> ReportFigures { throw unfinished() }
  public func summaryFigures(_ f: ReportFilter, now: Int64, topHosts: Int) throws -> ReportFigures { throw unfinished() }
  public func statusHistory(since: Int64?, maxPoints: Int) throws -> [StatusPoint] { throw unfinished() }
  public func overdueURLs(_ f: ReportFilter, now: Int64, limit: Int) throws -> [OverdueURL] { throw unfinished() }
  public func exportExtraKeys(_ f: ExportFilter) throws -> [String] { throw unfinished() }
  public func exportRows(_ f: ExportFilter, _ body: (ExportRow) throws -> Void) throws { throw unfinished() }
  public func readConsistently<T>(_ body: () throws -> T) throws -> T {
    try connection.transaction(isolation: "REPEATABLE READ, READ ONLY", body)
  }
}
