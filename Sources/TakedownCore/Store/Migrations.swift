import CSQLite

/// The schema's history: named, ordered, append-only. A released migration is never edited; a change
/// is a new migration at the end. Each runs once, in its own transaction, recorded in schema_migrations.
enum Migrations {
  static let all: [(name: String, sql: String)] = [
    (
      "0001_core",
      """
      CREATE TABLE urls (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,              -- normalized (see URLNormalizer)
        host TEXT NOT NULL,                    -- lowercased, punycode, without port
        created_at INTEGER NOT NULL,           -- ms since epoch, like every *_at column
        status TEXT NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending','online','taken_down','unreachable','reappeared','cancelled')),
        reason TEXT,
        http_status INTEGER,
        last_checked_at INTEGER,
        next_check_at INTEGER,                 -- NULL: never again (cancelled); a claim sets it to lease_until
        first_online_at INTEGER,
        taken_down_at INTEGER,                 -- the latest confirmed removal
        first_taken_down_at INTEGER,           -- the first confirmed removal (time-to-takedown)
        checks INTEGER NOT NULL DEFAULT 0,
        removal_streak INTEGER NOT NULL DEFAULT 0,
        failure_streak INTEGER NOT NULL DEFAULT 0,
        attempt INTEGER NOT NULL DEFAULT 0,    -- incremented by every claim; a check row is unique per attempt
        lease_holder TEXT,
        lease_until INTEGER
      );
      CREATE INDEX urls_due ON urls(next_check_at) WHERE next_check_at IS NOT NULL;
      CREATE INDEX urls_status ON urls(status);
      CREATE INDEX urls_host ON urls(host, status);
      CREATE INDEX urls_lease ON urls(lease_holder) WHERE lease_holder IS NOT NULL;

      CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        url_id INTEGER NOT NULL REFERENCES urls(id),
        reported_at INTEGER NOT NULL,
        campaign TEXT,
        notice TEXT,
        rightholder TEXT,
        work TEXT,
        deadline INTEGER,
        created_at INTEGER NOT NULL
      );
      -- One report per (URL, campaign, notice): re-enqueuing the same file is idempotent.
      CREATE UNIQUE INDEX reports_dedup ON reports(url_id, ifnull(campaign, ''), ifnull(notice, ''));
      CREATE INDEX reports_campaign ON reports(campaign) WHERE campaign IS NOT NULL;

      CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        url_id INTEGER NOT NULL REFERENCES urls(id),
        attempt INTEGER NOT NULL,
        checked_at INTEGER NOT NULL,
        observed TEXT NOT NULL,                -- online | removed | transient
        status TEXT NOT NULL,                  -- the URL's status after this check
        reason TEXT NOT NULL,
        http_status INTEGER,
        curl_code INTEGER NOT NULL,
        final_url TEXT,
        redirects INTEGER NOT NULL DEFAULT 0,
        remote_ip TEXT,
        dns_us INTEGER, connect_us INTEGER, tls_us INTEGER, first_byte_us INTEGER, total_us INTEGER,
        bytes INTEGER NOT NULL DEFAULT 0,
        holder TEXT NOT NULL,
        UNIQUE (url_id, attempt)
      );

      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        url_id INTEGER NOT NULL REFERENCES urls(id),
        at INTEGER NOT NULL,
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX events_at ON events(at);
      CREATE INDEX events_url ON events(url_id);

      CREATE TABLE summaries (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        interval_ms INTEGER NOT NULL,
        holder TEXT NOT NULL,
        checks INTEGER NOT NULL,
        checks_per_second REAL NOT NULL,
        pending INTEGER NOT NULL, online INTEGER NOT NULL, taken_down INTEGER NOT NULL,
        unreachable INTEGER NOT NULL, reappeared INTEGER NOT NULL, cancelled INTEGER NOT NULL,
        newly_taken_down INTEGER NOT NULL,
        newly_reappeared INTEGER NOT NULL,
        due INTEGER NOT NULL
      );
      CREATE INDEX summaries_at ON summaries(at);
      """
    ),
    (
      "0002_reporting",
      """
      -- The CSV columns of a report that have no column of their own: a JSON object of strings.
      ALTER TABLE reports ADD COLUMN extra TEXT;

      -- Per-URL aggregates of its reports, kept by the triggers below, so that summaries need no join:
      -- time-to-takedown counts from the earliest report, and a URL is overdue after its earliest deadline.
      ALTER TABLE urls ADD COLUMN first_reported_at INTEGER;
      ALTER TABLE urls ADD COLUMN deadline_at INTEGER;

      -- Per-campaign figures read this index alone; it covers what reports_campaign did.
      CREATE INDEX reports_campaign_url ON reports(campaign, url_id);
      DROP INDEX reports_campaign;
      -- "Reappeared in the window" without reading every event.
      CREATE INDEX events_to_status ON events(to_status, at, url_id);

      UPDATE urls SET first_reported_at = a.reported, deadline_at = a.deadline
      FROM (SELECT url_id, min(reported_at) AS reported, min(deadline) AS deadline FROM reports GROUP BY url_id) AS a
      WHERE a.url_id = urls.id;

      CREATE TRIGGER reports_aggregate_insert AFTER INSERT ON reports BEGIN
        UPDATE urls SET
          first_reported_at = CASE WHEN first_reported_at IS NULL OR NEW.reported_at < first_reported_at
            THEN NEW.reported_at ELSE first_reported_at END,
          deadline_at = CASE WHEN NEW.deadline IS NOT NULL AND (deadline_at IS NULL OR NEW.deadline < deadline_at)
            THEN NEW.deadline ELSE deadline_at END
        WHERE id = NEW.url_id AND (first_reported_at IS NULL OR NEW.reported_at < first_reported_at
          OR (NEW.deadline IS NOT NULL AND (deadline_at IS NULL OR NEW.deadline < deadline_at)));
      END;
      CREATE TRIGGER reports_aggregate_update AFTER UPDATE OF url_id, reported_at, deadline ON reports BEGIN
        UPDATE urls SET
          first_reported_at = (SELECT min(reported_at) FROM reports r WHERE r.url_id = urls.id),
          deadline_at = (SELECT min(deadline) FROM reports r WHERE r.url_id = urls.id)
        WHERE id IN (OLD.url_id, NEW.url_id);
      END;
      CREATE TRIGGER reports_aggregate_delete AFTER DELETE ON reports BEGIN
        UPDATE urls SET
          first_reported_at = (SELECT min(reported_at) FROM reports r WHERE r.url_id = urls.id),
          deadline_at = (SELECT min(deadline) FROM reports r WHERE r.url_id = urls.id)
        WHERE id = OLD.url_id;
      END;
      """
    ),
    (
      "0003_evidence",
      """
      -- Give-up bookkeeping: when the current run of transient failures began, and when give_up_after
      -- was reached in it.
      ALTER TABLE urls ADD COLUMN unreachable_since INTEGER;
      ALTER TABLE urls ADD COLUMN given_up_at INTEGER;

      -- Evidence of each check (see CheckEvidence).
      ALTER TABLE checks ADD COLUMN vantage TEXT;
      ALTER TABLE checks ADD COLUMN method TEXT;          -- GET | HEAD | "HEAD 405, GET"
      ALTER TABLE checks ADD COLUMN body_sha256 TEXT;     -- hex, of the body bytes read
      ALTER TABLE checks ADD COLUMN headers TEXT;         -- JSON object of selected response headers
      ALTER TABLE checks ADD COLUMN redirect_chain TEXT;  -- JSON array of {status, location}
      ALTER TABLE checks ADD COLUMN matched TEXT;         -- removal marker or home path that decided
      ALTER TABLE checks ADD COLUMN rule TEXT;            -- the host rule applied, if not the default
      """
    ),
  ]
}

extension SQLiteConnection {
  /// Brings the schema up to date. Safe to run from several processes at once: each migration's
  /// check-and-apply happens inside one IMMEDIATE transaction.
  func migrate() throws {
    try execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
    for migration in Migrations.all {
      try transaction {
        let done = try scalar("SELECT count(*) FROM schema_migrations WHERE name = ?", [.text(migration.name)])
        guard done == 0 else { return }
        try execute(migration.sql)
        try statement("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)")
          .run([.text(migration.name), .int(Timestamp.nowMs())])
      }
    }
    // A database written by a newer takedown may hold migrations we do not know: refuse to write to it.
    let known = Set(Migrations.all.map(\.name))
    let s = try statement("SELECT name FROM schema_migrations")
    while try s.step() {
      let name = s.text(0)
      if !known.contains(name) {
        throw SQLiteError(
          code: SQLITE_ERROR, message: "\(path) has migration '\(name)' from a newer takedown; upgrade this binary",
          sql: nil)
      }
    }
  }
}
