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
    (
      "0005_summary_tallies",
      """
      -- What `takedownctl summary` reports without reading every URL: counts and time-to-takedown kept by
      -- triggers. The triggers on urls fire only when a value they track changes; the daemon's update at
      -- every check changes none of them unless the status does, so it pays one WHEN test per trigger.

      -- URLs per status: of the URLs reported without a campaign (kind 1, name ''), of each campaign
      -- (2, its name) and of each host (3, the host; their sum is every URL's). A URL counts once per
      -- campaign.
      CREATE TABLE tallies (
        kind INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (kind, name, status)
      ) WITHOUT ROWID;

      -- Time-to-takedown (first confirmed removal − earliest report, at least 0) of each URL that has one,
      -- once for every URL (kind 0) and once per campaign of the URL (kinds 1 and 2 as in tallies):
      -- percentiles are rows at an offset of takedown_times_rank, counts are in takedown_time_counts.
      CREATE TABLE takedown_times (
        url_id INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        name TEXT NOT NULL,
        ms INTEGER NOT NULL,
        PRIMARY KEY (url_id, kind, name)
      ) WITHOUT ROWID;
      CREATE INDEX takedown_times_rank ON takedown_times(kind, name, ms);
      CREATE TABLE takedown_time_counts (
        kind INTEGER NOT NULL,
        name TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      ) WITHOUT ROWID;

      -- URLs with a latest removal, with a first removal, and first removed after their deadline.
      CREATE TABLE url_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;

      -- URLs with a deadline that are neither taken down nor cancelled: overdue ones are a range of it.
      CREATE TABLE open_deadlines (url_id INTEGER PRIMARY KEY, deadline_at INTEGER NOT NULL);
      CREATE INDEX open_deadlines_at ON open_deadlines(deadline_at);

      INSERT INTO tallies(kind, name, status, n)
        SELECT 3, host, status, count(*) FROM urls GROUP BY host, status
        UNION ALL SELECT kind, name, status, count(*) FROM
          (SELECT DISTINCT (r.campaign IS NOT NULL) + 1 AS kind, ifnull(r.campaign, '') AS name, u.id, u.status
           FROM reports r JOIN urls u ON u.id = r.url_id)
          GROUP BY kind, name, status;
      INSERT INTO takedown_times(url_id, kind, name, ms)
        SELECT id, 0, '', max(first_taken_down_at - first_reported_at, 0) FROM urls
        WHERE first_taken_down_at IS NOT NULL AND first_reported_at IS NOT NULL
        UNION SELECT u.id, (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''),
          max(u.first_taken_down_at - u.first_reported_at, 0)
        FROM reports r JOIN urls u ON u.id = r.url_id
        WHERE u.first_taken_down_at IS NOT NULL AND u.first_reported_at IS NOT NULL;
      INSERT INTO takedown_time_counts(kind, name, n) SELECT kind, name, count(*) FROM takedown_times GROUP BY kind, name;
      INSERT INTO url_counts(name, n) VALUES
        ('taken_down', (SELECT count(*) FROM urls WHERE taken_down_at IS NOT NULL)),
        ('first_taken_down', (SELECT count(*) FROM urls WHERE first_taken_down_at IS NOT NULL)),
        ('taken_down_late', (SELECT count(*) FROM urls WHERE first_taken_down_at > deadline_at));
      INSERT INTO open_deadlines(url_id, deadline_at) SELECT id, deadline_at FROM urls
        WHERE deadline_at IS NOT NULL AND status NOT IN ('taken_down', 'cancelled');

      CREATE TRIGGER takedown_time_counts_insert AFTER INSERT ON takedown_times BEGIN
        INSERT INTO takedown_time_counts(kind, name, n) VALUES (NEW.kind, NEW.name, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER takedown_time_counts_delete AFTER DELETE ON takedown_times BEGIN
        UPDATE takedown_time_counts SET n = n - 1 WHERE kind = OLD.kind AND name = OLD.name;
      END;

      -- urls. Triggers are cheap only when they do nothing: no temporary B-trees (DISTINCT, UNION) in
      -- their bodies, a URL's campaigns are its reports that have no earlier one in the same campaign, and
      -- every statement is guarded by the change it follows. An enqueued row has no reports, removals
      -- or deadline yet: it costs one upsert. (A statement guarded by a false WHERE still costs about as
      -- much as a small one: conditions that are mostly false are WHENs of triggers of their own.)
      CREATE TRIGGER summary_url_insert AFTER INSERT ON urls BEGIN
        INSERT INTO tallies(kind, name, status, n) VALUES (3, NEW.host, NEW.status, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER summary_url_insert_more AFTER INSERT ON urls
      WHEN NEW.taken_down_at IS NOT NULL OR NEW.first_taken_down_at IS NOT NULL OR NEW.deadline_at IS NOT NULL
        OR EXISTS (SELECT 1 FROM reports WHERE url_id = NEW.id)
      BEGIN
        INSERT INTO tallies(kind, name, status, n)
          SELECT (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), NEW.status, 1 FROM reports r
          WHERE r.url_id = NEW.id AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT NEW.id, 0, '', max(NEW.first_taken_down_at - NEW.first_reported_at, 0)
          WHERE NEW.first_taken_down_at IS NOT NULL AND NEW.first_reported_at IS NOT NULL;
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT NEW.id, (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), max(NEW.first_taken_down_at - NEW.first_reported_at, 0) FROM reports r
          WHERE NEW.first_taken_down_at IS NOT NULL AND NEW.first_reported_at IS NOT NULL AND r.url_id = NEW.id
            AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id);
        UPDATE url_counts SET n = n + CASE name
            WHEN 'taken_down' THEN NEW.taken_down_at IS NOT NULL
            WHEN 'first_taken_down' THEN NEW.first_taken_down_at IS NOT NULL
            ELSE ifnull(NEW.first_taken_down_at > NEW.deadline_at, 0) END
          WHERE NEW.taken_down_at IS NOT NULL OR NEW.first_taken_down_at IS NOT NULL;
        INSERT INTO open_deadlines(url_id, deadline_at) SELECT NEW.id, NEW.deadline_at
          WHERE NEW.deadline_at IS NOT NULL AND NEW.status NOT IN ('taken_down', 'cancelled');
      END;
      CREATE TRIGGER summary_url_delete AFTER DELETE ON urls BEGIN
        INSERT INTO tallies(kind, name, status, n) VALUES (3, OLD.host, OLD.status, -1)
          ON CONFLICT DO UPDATE SET n = n - 1;
        INSERT INTO tallies(kind, name, status, n)
          SELECT (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), OLD.status, -1 FROM reports r
          WHERE r.url_id = OLD.id AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id)
          ON CONFLICT DO UPDATE SET n = n - 1;
        DELETE FROM takedown_times WHERE url_id = OLD.id;
        UPDATE url_counts SET n = n - CASE name
            WHEN 'taken_down' THEN OLD.taken_down_at IS NOT NULL
            WHEN 'first_taken_down' THEN OLD.first_taken_down_at IS NOT NULL
            ELSE ifnull(OLD.first_taken_down_at > OLD.deadline_at, 0) END
          WHERE OLD.taken_down_at IS NOT NULL OR OLD.first_taken_down_at IS NOT NULL;
        DELETE FROM open_deadlines WHERE url_id = OLD.id;
      END;
      -- One trigger for every change: the daemon's update at every check names all these columns, and
      -- each trigger costs it a call whether its WHEN holds or not. The WHEN holds only when a figure
      -- changes, which a check does only when it changes the status.
      CREATE TRIGGER summary_url_update
      AFTER UPDATE OF status, host, taken_down_at, first_taken_down_at, first_reported_at, deadline_at ON urls
      WHEN (OLD.status IS NOT NEW.status OR OLD.host IS NOT NEW.host)
        OR (OLD.taken_down_at IS NULL) IS NOT (NEW.taken_down_at IS NULL)
            OR (OLD.first_taken_down_at IS NULL) IS NOT (NEW.first_taken_down_at IS NULL)
            OR ifnull(OLD.first_taken_down_at > OLD.deadline_at, 0) IS NOT ifnull(NEW.first_taken_down_at > NEW.deadline_at, 0)
        OR (CASE WHEN OLD.first_reported_at IS NOT NULL THEN max(OLD.first_taken_down_at - OLD.first_reported_at, 0) END)
            IS NOT (CASE WHEN NEW.first_reported_at IS NOT NULL THEN max(NEW.first_taken_down_at - NEW.first_reported_at, 0) END)
        OR (OLD.status IS NOT NEW.status OR (OLD.deadline_at IS NOT NEW.deadline_at AND NEW.status NOT IN ('taken_down', 'cancelled')))
      BEGIN
        -- Status or host.
        INSERT INTO tallies(kind, name, status, n)
          SELECT 3, OLD.host, OLD.status, -1 WHERE (OLD.status IS NOT NEW.status OR OLD.host IS NOT NEW.host)
          ON CONFLICT DO UPDATE SET n = n - 1;
        INSERT INTO tallies(kind, name, status, n)
          SELECT (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), OLD.status, -1 FROM reports r
          WHERE (OLD.status IS NOT NEW.status OR OLD.host IS NOT NEW.host) AND r.url_id = OLD.id AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id)
          ON CONFLICT DO UPDATE SET n = n - 1;
        INSERT INTO tallies(kind, name, status, n)
          SELECT 3, NEW.host, NEW.status, 1 WHERE (OLD.status IS NOT NEW.status OR OLD.host IS NOT NEW.host)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO tallies(kind, name, status, n)
          SELECT (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), NEW.status, 1 FROM reports r
          WHERE (OLD.status IS NOT NEW.status OR OLD.host IS NOT NEW.host) AND r.url_id = NEW.id AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id)
          ON CONFLICT DO UPDATE SET n = n + 1;
        -- Time-to-takedown.
        DELETE FROM takedown_times WHERE url_id = OLD.id AND (CASE WHEN OLD.first_reported_at IS NOT NULL THEN max(OLD.first_taken_down_at - OLD.first_reported_at, 0) END)
            IS NOT (CASE WHEN NEW.first_reported_at IS NOT NULL THEN max(NEW.first_taken_down_at - NEW.first_reported_at, 0) END);
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT NEW.id, 0, '', max(NEW.first_taken_down_at - NEW.first_reported_at, 0)
          WHERE (CASE WHEN OLD.first_reported_at IS NOT NULL THEN max(OLD.first_taken_down_at - OLD.first_reported_at, 0) END)
            IS NOT (CASE WHEN NEW.first_reported_at IS NOT NULL THEN max(NEW.first_taken_down_at - NEW.first_reported_at, 0) END)
            AND NEW.first_taken_down_at IS NOT NULL AND NEW.first_reported_at IS NOT NULL;
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT NEW.id, (r.campaign IS NOT NULL) + 1, ifnull(r.campaign, ''), max(NEW.first_taken_down_at - NEW.first_reported_at, 0) FROM reports r
          WHERE (CASE WHEN OLD.first_reported_at IS NOT NULL THEN max(OLD.first_taken_down_at - OLD.first_reported_at, 0) END)
            IS NOT (CASE WHEN NEW.first_reported_at IS NOT NULL THEN max(NEW.first_taken_down_at - NEW.first_reported_at, 0) END)
            AND NEW.first_taken_down_at IS NOT NULL AND NEW.first_reported_at IS NOT NULL AND r.url_id = NEW.id
            AND NOT EXISTS (SELECT 1 FROM reports o WHERE o.url_id = r.url_id AND o.campaign IS r.campaign AND o.id < r.id);
        -- Removals and lateness.
        UPDATE url_counts SET n = n + CASE name
            WHEN 'taken_down' THEN (NEW.taken_down_at IS NOT NULL) - (OLD.taken_down_at IS NOT NULL)
            WHEN 'first_taken_down' THEN (NEW.first_taken_down_at IS NOT NULL) - (OLD.first_taken_down_at IS NOT NULL)
            ELSE ifnull(NEW.first_taken_down_at > NEW.deadline_at, 0) - ifnull(OLD.first_taken_down_at > OLD.deadline_at, 0) END
          WHERE (OLD.taken_down_at IS NULL) IS NOT (NEW.taken_down_at IS NULL)
            OR (OLD.first_taken_down_at IS NULL) IS NOT (NEW.first_taken_down_at IS NULL)
            OR ifnull(OLD.first_taken_down_at > OLD.deadline_at, 0) IS NOT ifnull(NEW.first_taken_down_at > NEW.deadline_at, 0);
        -- Open deadlines.
        DELETE FROM open_deadlines WHERE url_id = OLD.id AND (OLD.status IS NOT NEW.status OR (OLD.deadline_at IS NOT NEW.deadline_at AND NEW.status NOT IN ('taken_down', 'cancelled')));
        INSERT INTO open_deadlines(url_id, deadline_at) SELECT NEW.id, NEW.deadline_at
          WHERE (OLD.status IS NOT NEW.status OR (OLD.deadline_at IS NOT NEW.deadline_at AND NEW.status NOT IN ('taken_down', 'cancelled'))) AND NEW.deadline_at IS NOT NULL AND NEW.status NOT IN ('taken_down', 'cancelled');
      END;

      -- reports: a URL joins a campaign with its first report in it and leaves with its last.
      CREATE TRIGGER summary_report_insert AFTER INSERT ON reports
      WHEN NOT EXISTS (SELECT 1 FROM reports WHERE url_id = NEW.url_id AND campaign IS NEW.campaign AND id <> NEW.id)
      BEGIN
        INSERT INTO tallies(kind, name, status, n)
          SELECT (NEW.campaign IS NOT NULL) + 1, ifnull(NEW.campaign, ''), status, 1 FROM urls WHERE id = NEW.url_id
          ON CONFLICT DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER summary_report_insert_time AFTER INSERT ON reports
      WHEN (SELECT first_taken_down_at IS NOT NULL AND first_reported_at IS NOT NULL FROM urls WHERE id = NEW.url_id)
      BEGIN
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT id, (NEW.campaign IS NOT NULL) + 1, ifnull(NEW.campaign, ''),
            max(first_taken_down_at - first_reported_at, 0) FROM urls
          WHERE id = NEW.url_id AND first_taken_down_at IS NOT NULL AND first_reported_at IS NOT NULL;
      END;
      CREATE TRIGGER summary_report_delete AFTER DELETE ON reports
      WHEN NOT EXISTS (SELECT 1 FROM reports WHERE url_id = OLD.url_id AND campaign IS OLD.campaign)
      BEGIN
        INSERT INTO tallies(kind, name, status, n)
          SELECT (OLD.campaign IS NOT NULL) + 1, ifnull(OLD.campaign, ''), status, -1 FROM urls WHERE id = OLD.url_id
          ON CONFLICT DO UPDATE SET n = n - 1;
        DELETE FROM takedown_times
          WHERE url_id = OLD.url_id AND kind = (OLD.campaign IS NOT NULL) + 1 AND name = ifnull(OLD.campaign, '');
      END;
      CREATE TRIGGER summary_report_move AFTER UPDATE OF url_id, campaign ON reports
      WHEN OLD.url_id IS NOT NEW.url_id OR OLD.campaign IS NOT NEW.campaign
      BEGIN
        INSERT INTO tallies(kind, name, status, n)
          SELECT (OLD.campaign IS NOT NULL) + 1, ifnull(OLD.campaign, ''), status, -1 FROM urls
          WHERE id = OLD.url_id
            AND NOT EXISTS (SELECT 1 FROM reports WHERE url_id = OLD.url_id AND campaign IS OLD.campaign)
          ON CONFLICT DO UPDATE SET n = n - 1;
        DELETE FROM takedown_times
          WHERE url_id = OLD.url_id AND kind = (OLD.campaign IS NOT NULL) + 1 AND name = ifnull(OLD.campaign, '')
            AND NOT EXISTS (SELECT 1 FROM reports WHERE url_id = OLD.url_id AND campaign IS OLD.campaign);
        INSERT INTO tallies(kind, name, status, n)
          SELECT (NEW.campaign IS NOT NULL) + 1, ifnull(NEW.campaign, ''), status, 1 FROM urls
          WHERE id = NEW.url_id
            AND NOT EXISTS (SELECT 1 FROM reports WHERE url_id = NEW.url_id AND campaign IS NEW.campaign AND id <> NEW.id)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT OR IGNORE INTO takedown_times(url_id, kind, name, ms)
          SELECT id, (NEW.campaign IS NOT NULL) + 1, ifnull(NEW.campaign, ''),
            max(first_taken_down_at - first_reported_at, 0) FROM urls
          WHERE id = NEW.url_id AND first_taken_down_at IS NOT NULL AND first_reported_at IS NOT NULL;
      END;
      """
    ),
    (
      "0006_daemon_state",
      """
      -- Small values the daemon keeps across restarts. 'status_log.event_id': the last event written to
      -- the status log, so every transition reaches it once, also those made while no daemon ran.
      CREATE TABLE daemon_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      """
    ),
    (
      "0007_nodes",
      """
      -- The daemons that worked on this queue (one at a time on SQLite), as `takedownctl nodes` lists
      -- them; the same table as PostgreSQL's, where several share the queue.
      CREATE TABLE nodes (
        name TEXT PRIMARY KEY,
        vantage TEXT NOT NULL,
        version TEXT NOT NULL,
        host TEXT NOT NULL,
        process TEXT NOT NULL,
        instance TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        stopped_at INTEGER,
        checks_last_interval INTEGER NOT NULL DEFAULT 0,
        interval_ms INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      """
    ),
    (
      "0008_history",
      """
      -- Bounded history (HistoryRule): a note standing in for each stretch of identical checks that
      -- compaction deleted: how many, from when to when, and the result they repeated.
      CREATE TABLE check_folds (
        id INTEGER PRIMARY KEY,
        url_id INTEGER NOT NULL REFERENCES urls(id),
        first_at INTEGER NOT NULL,             -- checked_at of the first folded check
        last_at INTEGER NOT NULL,              -- checked_at of the last folded check
        folded INTEGER NOT NULL,               -- how many checks
        observed TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        http_status INTEGER
      );
      CREATE INDEX check_folds_url ON check_folds(url_id, first_at);
      -- Per URL: the attempt from which its next compaction reads; its checks before it are final.
      CREATE TABLE history_marks (url_id INTEGER PRIMARY KEY, attempt INTEGER NOT NULL);
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
    // A database written by a newer takedown may hold migrations we do not know: refuse to write to it.
    let newer = try unknownMigrations()
    if !newer.isEmpty { throw StoreError.newerSchema(path, newer) }
    for migration in Migrations.all {
      try transaction {
        let done = try scalar("SELECT count(*) FROM schema_migrations WHERE name = ?", [.text(migration.name)])
        guard done == 0 else { return }
        try execute(migration.sql)
        try statement("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)")
          .run([.text(migration.name), .int(Timestamp.nowMs())])
      }
    }
    // Another process may have migrated further meanwhile.
    let newerNow = try unknownMigrations()
    if !newerNow.isEmpty { throw StoreError.newerSchema(path, newerNow) }
  }

  /// The applied migrations this binary does not know (a newer takedown's), in name order.
  func unknownMigrations() throws -> [String] {
    let known = Set(Migrations.all.map(\.name))
    let s = try statement("SELECT name FROM schema_migrations ORDER BY name")
    defer { s.reset() }
    var out: [String] = []
    while try s.step() {
      let name = s.text(0)
      if !known.contains(name) { out.append(name) }
    }
    return out
  }
}
