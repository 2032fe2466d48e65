extension PostgresSchema {
  /// The advisory lock (class 'td' 'tf') under which one session at a time folds the tallies' delta rows.
  static let foldLockKey: Int64 = 0x7464_7466

  /// The summary's tallies (SQLite's 0005_summary_tallies, same tables and figures), kept by triggers on
  /// urls and reports so that no writer needs to know them (the daemon's checks, enqueue, cancel, a
  /// statement typed by hand).
  ///
  /// Several daemons write at once, so the counters differ from SQLite's in one way: they are insert-only
  /// delta rows (`tallies`, `takedown_time_counts`, `url_counts`), summed when read. No row is updated
  /// by every writer, so no commit waits for another node's (an upserted counter row is a lock every
  /// check that changes a status would queue on). `td_fold_tallies()` sums them into one row per key now
  /// and then, under an advisory lock, skipped when another session is folding; a fold deletes only the
  /// rows its snapshot sees, so a delta committed meanwhile is never lost.
  ///
  /// Exactness with concurrent writers rests on the URL's row lock: everything kept per URL (its
  /// campaigns' tallies, takedown_times, open_deadlines) changes only while its urls row is locked, by
  /// the UPDATE of the row itself, or by the reports triggers, which lock the rows (in id order) before
  /// they read a URL's status and its other reports. Writers run in READ COMMITTED (PostgreSQL's
  /// default), so each trigger statement sees what committed before it got its locks.
  ///
  /// Statement-level triggers with transition tables: a bulk enqueue or a batch of checks is one pass
  /// of set statements, not one function call per row. Their statements run through EXECUTE, planned
  /// anew at each call: PL/pgSQL would keep the plan made for the first call's transition tables (an
  /// empty claim at a daemon's start: nested loops), and a batch of 200 then compared every old row with
  /// every new one, 5 ms a batch.
  /// The statement of `td_reports_inserted` that counts the URLs its reports bring into a campaign
  /// (and their time-to-takedown there). Not `locked`: for the URLs this transaction wrote, returning
  /// the ids of the others; `locked`: for those (`$1`), locked by now.
  private static func reportsJoined(locked: Bool) -> String {
    """

            WITH g AS (
              SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM new_reports\(locked ? " WHERE url_id = ANY($1)" : "")),
            j AS MATERIALIZED (
              SELECT g.url_id, g.kind, g.name, u.status, td_ttt(u.first_taken_down_at, u.first_reported_at) AS ms,
                \(locked ? "true" : "u.xmin = pg_current_xact_id()::xid") AS settled,
                NOT EXISTS (
                  SELECT 1 FROM reports o
                  WHERE o.url_id = g.url_id AND coalesce(o.campaign, '') = g.name AND td_kind(o.campaign) = g.kind
                    AND o.id NOT IN (SELECT id FROM new_reports)) AS joined
              FROM g JOIN urls u ON u.id = g.url_id),
            t AS (
              INSERT INTO tallies (kind, name, status, n)
              SELECT kind, name, status, count(*) FROM j WHERE settled AND joined GROUP BY kind, name, status),
            i AS (
              INSERT INTO takedown_times (url_id, kind, name, ms)
              SELECT url_id, kind, name, ms FROM j WHERE settled AND ms IS NOT NULL
              ON CONFLICT DO NOTHING RETURNING kind, name),
            c AS (
              INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, count(*) FROM i GROUP BY kind, name)
            SELECT array_agg(DISTINCT url_id) FROM j WHERE NOT settled
          """
  }

  static let talliesMigration: (name: String, sql: String) = (
    "0003_tallies",
    """
    -- URLs per status: of the URLs reported without a campaign (kind 1, name ''), of each campaign (2, its
    -- name) and of each host (3; their sum is every URL's). Delta rows, summed when read.
    CREATE TABLE tallies (kind smallint NOT NULL, name text NOT NULL, status text NOT NULL, n bigint NOT NULL);

    -- Time-to-takedown (first confirmed removal - earliest report, at least 0) of each URL that has one,
    -- for every URL (kind 0) and per campaign of the URL (kinds 1, 2): percentiles are rows at an offset
    -- of takedown_times_rank; takedown_time_counts (delta rows) says how many each group has.
    CREATE TABLE takedown_times (
      url_id bigint NOT NULL,
      kind smallint NOT NULL,
      name text NOT NULL,
      ms bigint NOT NULL,
      PRIMARY KEY (url_id, kind, name)
    );
    CREATE INDEX takedown_times_rank ON takedown_times (kind, name, ms);
    CREATE TABLE takedown_time_counts (kind smallint NOT NULL, name text NOT NULL, n bigint NOT NULL);

    -- URLs with a latest removal, with a first removal, and first removed after their deadline (delta rows).
    CREATE TABLE url_counts (name text NOT NULL, n bigint NOT NULL);

    -- URLs with a deadline that are neither taken down nor cancelled: overdue ones are a range of it.
    CREATE TABLE open_deadlines (url_id bigint PRIMARY KEY, deadline_at bigint NOT NULL);
    CREATE INDEX open_deadlines_at ON open_deadlines (deadline_at);

    -- The rules, once (SQL functions: the planner inlines them).
    CREATE FUNCTION td_ttt(first bigint, reported bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
      $$ SELECT CASE WHEN first IS NOT NULL AND reported IS NOT NULL THEN greatest(first - reported, 0) END $$;
    CREATE FUNCTION td_late(first bigint, deadline bigint) RETURNS integer LANGUAGE sql IMMUTABLE AS
      $$ SELECT CASE WHEN first > deadline THEN 1 ELSE 0 END $$;
    CREATE FUNCTION td_open(status text, deadline bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS
      $$ SELECT deadline IS NOT NULL AND status NOT IN ('taken_down', 'cancelled') $$;
    CREATE FUNCTION td_kind(campaign text) RETURNS smallint LANGUAGE sql IMMUTABLE AS
      $$ SELECT CASE WHEN campaign IS NULL THEN 1 ELSE 2 END::smallint $$;

    CREATE FUNCTION td_urls_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE $q$
        INSERT INTO tallies (kind, name, status, n) SELECT 3, host, status, count(*) FROM new_urls GROUP BY host, status
      $q$;
      -- Reports reference their URL, so a new URL is in no campaign yet. Its removal times and deadline
      -- may be set already (a row inserted whole).
      EXECUTE $q$
        WITH i AS (
          INSERT INTO takedown_times (url_id, kind, name, ms)
          SELECT id, 0, '', td_ttt(first_taken_down_at, first_reported_at) FROM new_urls
          WHERE td_ttt(first_taken_down_at, first_reported_at) IS NOT NULL
          ON CONFLICT DO NOTHING RETURNING kind, name)
        INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, count(*) FROM i GROUP BY kind, name
      $q$;
      EXECUTE $q$
        INSERT INTO url_counts (name, n)
          SELECT v.name, sum(v.d) FROM new_urls u CROSS JOIN LATERAL (VALUES
            ('taken_down', (u.taken_down_at IS NOT NULL)::int),
            ('first_taken_down', (u.first_taken_down_at IS NOT NULL)::int),
            ('taken_down_late', td_late(u.first_taken_down_at, u.deadline_at))) AS v (name, d)
          WHERE u.taken_down_at IS NOT NULL OR u.first_taken_down_at IS NOT NULL
          GROUP BY v.name HAVING sum(v.d) <> 0
      $q$;
      EXECUTE $q$
        INSERT INTO open_deadlines (url_id, deadline_at) SELECT id, deadline_at FROM new_urls WHERE td_open(status, deadline_at)
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_urls_inserted AFTER INSERT ON urls REFERENCING NEW TABLE AS new_urls
      FOR EACH STATEMENT EXECUTE FUNCTION td_urls_inserted();

    CREATE FUNCTION td_urls_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed bigint;
    BEGIN
      -- Most updates (claims, leases, checks that leave the status as it was) change no figure. A count,
      -- not EXISTS: planned for its first row, EXISTS compared every old row with every new one.
      EXECUTE $q$
        SELECT count(*) FROM old_urls o JOIN new_urls n ON n.id = o.id
        WHERE o.status <> n.status OR o.host <> n.host OR (o.taken_down_at IS NULL) <> (n.taken_down_at IS NULL)
          OR o.first_taken_down_at IS DISTINCT FROM n.first_taken_down_at
          OR o.first_reported_at IS DISTINCT FROM n.first_reported_at OR o.deadline_at IS DISTINCT FROM n.deadline_at
      $q$ INTO changed;
      IF changed = 0 THEN
        RETURN NULL;
      END IF;
      -- Status or host: out of the old status's groups, into the new one's.
      EXECUTE $q$
        WITH ch AS MATERIALIZED (
          SELECT o.id, o.host AS old_host, o.status AS old_status, n.host AS new_host, n.status AS new_status
          FROM old_urls o JOIN new_urls n ON n.id = o.id WHERE o.status <> n.status OR o.host <> n.host),
        grp AS (
          SELECT ch.*, 3::smallint AS kind, NULL::text AS name FROM ch
          UNION ALL
          SELECT ch.*, g.kind, g.name FROM ch CROSS JOIN LATERAL (
            SELECT DISTINCT td_kind(r.campaign) AS kind, coalesce(r.campaign, '') AS name FROM reports r
            WHERE r.url_id = ch.id) AS g)
        INSERT INTO tallies (kind, name, status, n)
          SELECT kind, name, status, sum(d) FROM (
            SELECT kind, coalesce(name, old_host) AS name, old_status AS status, -1 AS d FROM grp
            UNION ALL SELECT kind, coalesce(name, new_host), new_status, 1 FROM grp) AS t
          GROUP BY kind, name, status HAVING sum(d) <> 0
      $q$;
      -- Time-to-takedown: the URL's rows go, and come back with the new value.
      EXECUTE $q$
        WITH d AS (
          DELETE FROM takedown_times t USING old_urls o JOIN new_urls n ON n.id = o.id
          WHERE t.url_id = o.id
            AND td_ttt(o.first_taken_down_at, o.first_reported_at) IS DISTINCT FROM td_ttt(n.first_taken_down_at, n.first_reported_at)
          RETURNING t.kind, t.name)
        INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, -count(*) FROM d GROUP BY kind, name
      $q$;
      EXECUTE $q$
        WITH i AS (
          INSERT INTO takedown_times (url_id, kind, name, ms)
          SELECT n.id, g.kind, g.name, td_ttt(n.first_taken_down_at, n.first_reported_at)
          FROM old_urls o JOIN new_urls n ON n.id = o.id CROSS JOIN LATERAL (
            SELECT 0::smallint AS kind, ''::text AS name
            UNION SELECT td_kind(r.campaign), coalesce(r.campaign, '') FROM reports r WHERE r.url_id = n.id) AS g
          WHERE td_ttt(n.first_taken_down_at, n.first_reported_at) IS NOT NULL
            AND td_ttt(o.first_taken_down_at, o.first_reported_at) IS DISTINCT FROM td_ttt(n.first_taken_down_at, n.first_reported_at)
          ON CONFLICT DO NOTHING RETURNING kind, name)
        INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, count(*) FROM i GROUP BY kind, name
      $q$;
      -- Removals and lateness.
      EXECUTE $q$
        INSERT INTO url_counts (name, n)
          SELECT v.name, sum(v.d) FROM old_urls o JOIN new_urls n ON n.id = o.id CROSS JOIN LATERAL (VALUES
            ('taken_down', (n.taken_down_at IS NOT NULL)::int - (o.taken_down_at IS NOT NULL)::int),
            ('first_taken_down', (n.first_taken_down_at IS NOT NULL)::int - (o.first_taken_down_at IS NOT NULL)::int),
            ('taken_down_late', td_late(n.first_taken_down_at, n.deadline_at) - td_late(o.first_taken_down_at, o.deadline_at))
          ) AS v (name, d)
          WHERE v.d <> 0
          GROUP BY v.name HAVING sum(v.d) <> 0
      $q$;
      -- Open deadlines.
      EXECUTE $q$
        DELETE FROM open_deadlines od USING old_urls o JOIN new_urls n ON n.id = o.id
          WHERE od.url_id = n.id AND NOT td_open(n.status, n.deadline_at)
            AND (o.status <> n.status OR o.deadline_at IS DISTINCT FROM n.deadline_at)
      $q$;
      EXECUTE $q$
        INSERT INTO open_deadlines (url_id, deadline_at)
          SELECT n.id, n.deadline_at FROM old_urls o JOIN new_urls n ON n.id = o.id
          WHERE td_open(n.status, n.deadline_at) AND (o.status <> n.status OR o.deadline_at IS DISTINCT FROM n.deadline_at)
          ON CONFLICT (url_id) DO UPDATE SET deadline_at = excluded.deadline_at
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_urls_updated AFTER UPDATE ON urls REFERENCING OLD TABLE AS old_urls NEW TABLE AS new_urls
      FOR EACH STATEMENT EXECUTE FUNCTION td_urls_updated();

    CREATE FUNCTION td_urls_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE $q$
        INSERT INTO tallies (kind, name, status, n) SELECT 3, host, status, -count(*) FROM old_urls GROUP BY host, status
      $q$;
      -- Out of the campaigns of the reports it still has (none when they were deleted first: their
      -- trigger took it out; reports left behind count nowhere, as a report of no URL).
      EXECUTE $q$
        INSERT INTO tallies (kind, name, status, n)
          SELECT g.kind, g.name, o.status, -count(*) FROM old_urls o CROSS JOIN LATERAL (
            SELECT DISTINCT td_kind(r.campaign) AS kind, coalesce(r.campaign, '') AS name FROM reports r
            WHERE r.url_id = o.id) AS g
          GROUP BY g.kind, g.name, o.status
      $q$;
      EXECUTE $q$
        WITH d AS (DELETE FROM takedown_times t USING old_urls o WHERE t.url_id = o.id RETURNING t.kind, t.name)
        INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, -count(*) FROM d GROUP BY kind, name
      $q$;
      EXECUTE $q$
        INSERT INTO url_counts (name, n)
          SELECT v.name, -sum(v.d) FROM old_urls u CROSS JOIN LATERAL (VALUES
            ('taken_down', (u.taken_down_at IS NOT NULL)::int),
            ('first_taken_down', (u.first_taken_down_at IS NOT NULL)::int),
            ('taken_down_late', td_late(u.first_taken_down_at, u.deadline_at))) AS v (name, d)
          GROUP BY v.name HAVING sum(v.d) <> 0
      $q$;
      EXECUTE $q$
        DELETE FROM open_deadlines od USING old_urls o WHERE od.url_id = o.id
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_urls_deleted AFTER DELETE ON urls REFERENCING OLD TABLE AS old_urls
      FOR EACH STATEMENT EXECUTE FUNCTION td_urls_deleted();

    -- reports: a URL joins a campaign with its first report in it and leaves with its last. What a
    -- report changes is read from its URL's row and other reports only once nobody else can change
    -- them: the URL's row is locked (in id order), or this transaction wrote it (inserted it, nobody
    -- else sees it yet; or updated it, and holds its lock). A bulk enqueue's reports are mostly of URLs
    -- it inserted: one pass, no lock. The others are locked, then read again in a statement of their own
    -- (a new snapshot: what committed while it waited).
    CREATE FUNCTION td_reports_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      others bigint[];
    BEGIN
      EXECUTE $q$\(reportsJoined(locked: false))$q$ INTO others;
      IF others IS NOT NULL THEN
        PERFORM 1 FROM urls WHERE id = ANY(others) ORDER BY id FOR NO KEY UPDATE;
        EXECUTE $q$\(reportsJoined(locked: true))$q$ USING others;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_reports_inserted AFTER INSERT ON reports REFERENCING NEW TABLE AS new_reports
      FOR EACH STATEMENT EXECUTE FUNCTION td_reports_inserted();

    CREATE FUNCTION td_reports_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE $q$
        SELECT 1 FROM urls u WHERE u.id IN (SELECT url_id FROM old_reports) ORDER BY u.id FOR NO KEY UPDATE
      $q$;
      EXECUTE $q$
        WITH g AS (
          SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM old_reports),
        gone AS MATERIALIZED (
          SELECT g.url_id, g.kind, g.name, u.status FROM g JOIN urls u ON u.id = g.url_id
          WHERE NOT EXISTS (
            SELECT 1 FROM reports r
            WHERE r.url_id = g.url_id AND coalesce(r.campaign, '') = g.name AND td_kind(r.campaign) = g.kind)),
        t AS (
          INSERT INTO tallies (kind, name, status, n)
          SELECT kind, name, status, -count(*) FROM gone GROUP BY kind, name, status),
        d AS (
          DELETE FROM takedown_times tt USING gone
          WHERE tt.url_id = gone.url_id AND tt.kind = gone.kind AND tt.name = gone.name RETURNING tt.kind, tt.name)
        INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, -count(*) FROM d GROUP BY kind, name
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_reports_deleted AFTER DELETE ON reports REFERENCING OLD TABLE AS old_reports
      FOR EACH STATEMENT EXECUTE FUNCTION td_reports_deleted();

    CREATE FUNCTION td_reports_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed bigint;
    BEGIN
      -- Only a report moved to another URL or campaign changes a figure (import's extras do not).
      EXECUTE $q$
        SELECT count(*) FROM old_reports o JOIN new_reports n ON n.id = o.id
        WHERE o.url_id <> n.url_id OR o.campaign IS DISTINCT FROM n.campaign
      $q$ INTO changed;
      IF changed = 0 THEN
        RETURN NULL;
      END IF;
      EXECUTE $q$
        SELECT 1 FROM urls u
          WHERE u.id IN (SELECT url_id FROM old_reports UNION SELECT url_id FROM new_reports) ORDER BY u.id FOR NO KEY UPDATE
      $q$;
      -- Left: a (URL, campaign) of an old row with no report now. Joined: one of a new row that had none
      -- before the statement (no report but this statement's rows, and no old row in it).
      EXECUTE $q$
        WITH o AS (
          SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM old_reports),
        n AS (
          SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM new_reports),
        gone AS MATERIALIZED (
          SELECT o.url_id, o.kind, o.name, u.status FROM o JOIN urls u ON u.id = o.url_id
          WHERE NOT EXISTS (
            SELECT 1 FROM reports r
            WHERE r.url_id = o.url_id AND coalesce(r.campaign, '') = o.name AND td_kind(r.campaign) = o.kind)),
        joined AS MATERIALIZED (
          SELECT n.url_id, n.kind, n.name, u.status, td_ttt(u.first_taken_down_at, u.first_reported_at) AS ms
          FROM n JOIN urls u ON u.id = n.url_id
          WHERE NOT EXISTS (
              SELECT 1 FROM reports r
              WHERE r.url_id = n.url_id AND coalesce(r.campaign, '') = n.name AND td_kind(r.campaign) = n.kind
                AND r.id NOT IN (SELECT id FROM new_reports))
            AND NOT EXISTS (SELECT 1 FROM o WHERE o.url_id = n.url_id AND o.kind = n.kind AND o.name = n.name)),
        t AS (
          INSERT INTO tallies (kind, name, status, n)
          SELECT kind, name, status, -count(*) FROM gone GROUP BY kind, name, status
          UNION ALL SELECT kind, name, status, count(*) FROM joined GROUP BY kind, name, status),
        d AS (
          DELETE FROM takedown_times tt USING gone
          WHERE tt.url_id = gone.url_id AND tt.kind = gone.kind AND tt.name = gone.name
          RETURNING tt.kind, tt.name, -1 AS delta),
        i AS (
          INSERT INTO takedown_times (url_id, kind, name, ms)
          SELECT url_id, kind, name, ms FROM joined WHERE ms IS NOT NULL
          ON CONFLICT DO NOTHING RETURNING kind, name, 1 AS delta)
        INSERT INTO takedown_time_counts (kind, name, n)
          SELECT kind, name, sum(delta) FROM (SELECT * FROM d UNION ALL SELECT * FROM i) AS x
          GROUP BY kind, name HAVING sum(delta) <> 0
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER td_reports_updated AFTER UPDATE ON reports REFERENCING OLD TABLE AS old_reports NEW TABLE AS new_reports
      FOR EACH STATEMENT EXECUTE FUNCTION td_reports_updated();

    -- The planner's guesses about transition tables made it compile the triggers' statements (JIT),
    -- which took longer than running them.
    ALTER FUNCTION td_urls_inserted() SET jit = off;
    ALTER FUNCTION td_urls_updated() SET jit = off;
    ALTER FUNCTION td_urls_deleted() SET jit = off;
    ALTER FUNCTION td_reports_inserted() SET jit = off;
    ALTER FUNCTION td_reports_deleted() SET jit = off;
    ALTER FUNCTION td_reports_updated() SET jit = off;

    -- Sums each counter's delta rows into one row per key (zero rows go). Returns false, doing nothing,
    -- when another session is folding.
    CREATE FUNCTION td_fold_tallies() RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT pg_try_advisory_xact_lock(\(foldLockKey)) THEN
        RETURN false;
      END IF;
      WITH d AS (DELETE FROM tallies RETURNING kind, name, status, n)
      INSERT INTO tallies (kind, name, status, n)
        SELECT kind, name, status, sum(n) FROM d GROUP BY kind, name, status HAVING sum(n) <> 0;
      WITH d AS (DELETE FROM takedown_time_counts RETURNING kind, name, n)
      INSERT INTO takedown_time_counts (kind, name, n)
        SELECT kind, name, sum(n) FROM d GROUP BY kind, name HAVING sum(n) <> 0;
      WITH d AS (DELETE FROM url_counts RETURNING name, n)
      INSERT INTO url_counts (name, n) SELECT name, sum(n) FROM d GROUP BY name HAVING sum(n) <> 0;
      RETURN true;
    END $$;

    -- Every tally from the rows, from scratch: this migration on a queue that has rows, and
    -- `takedownctl copy`, which loads the tables with the triggers off. Writers wait meanwhile.
    CREATE FUNCTION td_rebuild_tallies() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      LOCK TABLE urls, reports IN SHARE MODE;
      DELETE FROM tallies;
      DELETE FROM takedown_times;
      DELETE FROM takedown_time_counts;
      DELETE FROM url_counts;
      DELETE FROM open_deadlines;
      INSERT INTO tallies (kind, name, status, n)
        SELECT 3, host, status, count(*) FROM urls GROUP BY host, status
        UNION ALL SELECT kind, name, status, count(*) FROM (
          SELECT DISTINCT td_kind(r.campaign) AS kind, coalesce(r.campaign, '') AS name, u.id, u.status
          FROM reports r JOIN urls u ON u.id = r.url_id) AS m
        GROUP BY kind, name, status;
      INSERT INTO takedown_times (url_id, kind, name, ms)
        SELECT id, 0, '', td_ttt(first_taken_down_at, first_reported_at) FROM urls
        WHERE td_ttt(first_taken_down_at, first_reported_at) IS NOT NULL
        UNION SELECT u.id, td_kind(r.campaign), coalesce(r.campaign, ''), td_ttt(u.first_taken_down_at, u.first_reported_at)
        FROM reports r JOIN urls u ON u.id = r.url_id
        WHERE td_ttt(u.first_taken_down_at, u.first_reported_at) IS NOT NULL;
      INSERT INTO takedown_time_counts (kind, name, n) SELECT kind, name, count(*) FROM takedown_times GROUP BY kind, name;
      INSERT INTO url_counts (name, n) VALUES
        ('taken_down', (SELECT count(*) FROM urls WHERE taken_down_at IS NOT NULL)),
        ('first_taken_down', (SELECT count(*) FROM urls WHERE first_taken_down_at IS NOT NULL)),
        ('taken_down_late', (SELECT count(*) FROM urls WHERE first_taken_down_at > deadline_at));
      INSERT INTO open_deadlines (url_id, deadline_at) SELECT id, deadline_at FROM urls WHERE td_open(status, deadline_at);
    END $$;

    SELECT td_rebuild_tallies();
    """
  )
}
