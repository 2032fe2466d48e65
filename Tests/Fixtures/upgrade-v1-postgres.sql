--
-- PostgreSQL database dump
--

\restrict XCNyEbDrrE5d3ZsGP1jwidN14Lq0fQ1omxdfrPPf6RNFxPFmVPC7zX5cUAbB9h8

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: td_fold_tallies(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_fold_tallies() RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(1952740454) THEN
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


--
-- Name: td_kind(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_kind(campaign text) RETURNS smallint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN campaign IS NULL THEN 1 ELSE 2 END::smallint $$;


--
-- Name: td_late(bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_late(first bigint, deadline bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN first > deadline THEN 1 ELSE 0 END $$;


--
-- Name: td_open(text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_open(status text, deadline bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT deadline IS NOT NULL AND status NOT IN ('taken_down', 'cancelled') $$;


--
-- Name: td_rebuild_tallies(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_rebuild_tallies() RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: td_reports_deleted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_reports_deleted() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
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
END $_$;


--
-- Name: td_reports_inserted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_reports_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
DECLARE
  others bigint[];
BEGIN
  EXECUTE $q$
  WITH g AS (
    SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM new_reports),
  j AS MATERIALIZED (
    SELECT g.url_id, g.kind, g.name, u.status, td_ttt(u.first_taken_down_at, u.first_reported_at) AS ms,
      u.xmin = pg_current_xact_id()::xid AS settled,
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
  SELECT array_agg(DISTINCT url_id) FROM j WHERE NOT settled$q$ INTO others;
  IF others IS NOT NULL THEN
    PERFORM 1 FROM urls WHERE id = ANY(others) ORDER BY id FOR NO KEY UPDATE;
    EXECUTE $q$
  WITH g AS (
    SELECT DISTINCT url_id, td_kind(campaign) AS kind, coalesce(campaign, '') AS name FROM new_reports WHERE url_id = ANY($1)),
  j AS MATERIALIZED (
    SELECT g.url_id, g.kind, g.name, u.status, td_ttt(u.first_taken_down_at, u.first_reported_at) AS ms,
      true AS settled,
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
  SELECT array_agg(DISTINCT url_id) FROM j WHERE NOT settled$q$ USING others;
  END IF;
  RETURN NULL;
END $_$;


--
-- Name: td_reports_updated(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_reports_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
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
END $_$;


--
-- Name: td_ttt(bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_ttt(first bigint, reported bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN first IS NOT NULL AND reported IS NOT NULL THEN greatest(first - reported, 0) END $$;


--
-- Name: td_urls_deleted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_urls_deleted() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
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
END $_$;


--
-- Name: td_urls_inserted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_urls_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
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
END $_$;


--
-- Name: td_urls_updated(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.td_urls_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $_$
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
END $_$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.checks (
    id bigint NOT NULL,
    url_id bigint NOT NULL,
    attempt bigint NOT NULL,
    checked_at bigint NOT NULL,
    observed text NOT NULL,
    status text NOT NULL,
    reason text NOT NULL,
    http_status integer,
    curl_code integer NOT NULL,
    final_url text,
    redirects integer DEFAULT 0 NOT NULL,
    remote_ip text,
    dns_us bigint,
    connect_us bigint,
    tls_us bigint,
    first_byte_us bigint,
    total_us bigint,
    bytes bigint DEFAULT 0 NOT NULL,
    holder text NOT NULL,
    vantage text,
    method text,
    body_sha256 text,
    headers text,
    redirect_chain text,
    matched text,
    rule text
);


--
-- Name: checks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.checks ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.checks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: daemon_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.daemon_state (
    key text NOT NULL,
    value bigint NOT NULL
);


--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    id bigint NOT NULL,
    url_id bigint NOT NULL,
    at bigint NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    reason text
);


--
-- Name: events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: host_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.host_leases (
    host text NOT NULL,
    holder text,
    lease_until bigint DEFAULT 0 NOT NULL,
    free_at bigint DEFAULT 0 NOT NULL,
    paused_until bigint DEFAULT 0 NOT NULL
);


--
-- Name: nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.nodes (
    name text NOT NULL,
    vantage text NOT NULL,
    version text NOT NULL,
    started_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    checks_last_interval bigint DEFAULT 0 NOT NULL,
    host text DEFAULT ''::text NOT NULL,
    process text DEFAULT ''::text NOT NULL,
    instance text DEFAULT ''::text NOT NULL,
    stopped_at bigint,
    interval_ms bigint DEFAULT 0 NOT NULL
);


--
-- Name: open_deadlines; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.open_deadlines (
    url_id bigint NOT NULL,
    deadline_at bigint NOT NULL
);


--
-- Name: reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.reports (
    id bigint NOT NULL,
    url_id bigint NOT NULL,
    reported_at bigint NOT NULL,
    campaign text,
    notice text,
    rightholder text,
    work text,
    deadline bigint,
    created_at bigint NOT NULL,
    extra text
);


--
-- Name: reports_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.reports ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.reports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: summaries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.summaries (
    id bigint NOT NULL,
    at bigint NOT NULL,
    interval_ms bigint NOT NULL,
    holder text NOT NULL,
    checks bigint NOT NULL,
    checks_per_second double precision NOT NULL,
    pending bigint NOT NULL,
    online bigint NOT NULL,
    taken_down bigint NOT NULL,
    unreachable bigint NOT NULL,
    reappeared bigint NOT NULL,
    cancelled bigint NOT NULL,
    newly_taken_down bigint NOT NULL,
    newly_reappeared bigint NOT NULL,
    due bigint NOT NULL
);


--
-- Name: summaries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.summaries ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.summaries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: takedown_time_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.takedown_time_counts (
    kind smallint NOT NULL,
    name text NOT NULL,
    n bigint NOT NULL
);


--
-- Name: takedown_times; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.takedown_times (
    url_id bigint NOT NULL,
    kind smallint NOT NULL,
    name text NOT NULL,
    ms bigint NOT NULL
);


--
-- Name: tallies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tallies (
    kind smallint NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    n bigint NOT NULL
);


--
-- Name: url_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.url_counts (
    name text NOT NULL,
    n bigint NOT NULL
);


--
-- Name: urls; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.urls (
    id bigint NOT NULL,
    url text NOT NULL,
    host text NOT NULL,
    created_at bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    reason text,
    http_status integer,
    last_checked_at bigint,
    next_check_at bigint,
    first_online_at bigint,
    taken_down_at bigint,
    first_taken_down_at bigint,
    checks integer DEFAULT 0 NOT NULL,
    removal_streak integer DEFAULT 0 NOT NULL,
    failure_streak integer DEFAULT 0 NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    lease_holder text,
    lease_until bigint,
    first_reported_at bigint,
    deadline_at bigint,
    unreachable_since bigint,
    given_up_at bigint,
    CONSTRAINT urls_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'online'::text, 'taken_down'::text, 'unreachable'::text, 'reappeared'::text, 'cancelled'::text])))
);


--
-- Name: urls_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.urls ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.urls_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Data for Name: checks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.checks (id, url_id, attempt, checked_at, observed, status, reason, http_status, curl_code, final_url, redirects, remote_ip, dns_us, connect_us, tls_us, first_byte_us, total_us, bytes, holder, vantage, method, body_sha256, headers, redirect_chain, matched, rule) FROM stdin;
1	1	1	1796319190198	removed	pending	http_451	451	0	http://files.example:47231/451/1	0	127.0.0.1	37	463	0	28426	28575	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"0"}	\N	\N	rule[0] files.example
2	5	1	1796319190198	removed	pending	http_410	410	0	http://video.example:47231/410/1	0	127.0.0.1	9	304	0	28389	28409	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"0"}	\N	\N	\N
3	2	1	1796319190198	transient	unreachable	http_5xx	503	0	http://files.example:47231/error/1	0	127.0.0.1	5	279	0	28371	28405	4	fixture-node	fixture-vantage	GET	c9bc072f4fa8189466c2a8f2c36a56a4ef1e60a2ffa4986ba2f155cd176c128b	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"4"}	\N	\N	rule[0] files.example
4	6	1	1796319190198	removed	pending	http_404	404	0	http://video.example:47231/flip/1	0	127.0.0.1	7	260	0	28372	28389	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
5	3	1	1796319190198	removed	pending	removal_marker	200	0	http://files.example:47231/marker/1	0	127.0.0.1	7	240	0	28358	28386	53	fixture-node	fixture-vantage	GET	d91f10f42901837fd2dd7e40684ac5b651fd16e33044cb7bc3fc7b6b0ac233fa	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-type":"text/html; charset=utf-8","content-length":"53"}	\N	has been removed	rule[0] files.example
6	7	1	1796319190198	removed	pending	http_404	404	0	http://video.example:47231/flip/2	0	127.0.0.1	6	221	0	28355	28390	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
7	10	1	1796319190252	online	online	http_200	200	0	http://video.example:47231/ok/1	0	127.0.0.1	20	0	0	574	53525	33	fixture-node	fixture-vantage	GET	b0dcfc568a030d79d6433714fcb3cc63a608bf977dd2bfc3b2e593d17fe4e3c4	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-type":"text/html; charset=utf-8","content-length":"33"}	\N	\N	\N
8	11	1	1796319190252	online	online	http_200	200	0	http://video.example:47231/ok/2	0	127.0.0.1	13	0	0	20987	53052	33	fixture-node	fixture-vantage	GET	b0dcfc568a030d79d6433714fcb3cc63a608bf977dd2bfc3b2e593d17fe4e3c4	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-type":"text/html; charset=utf-8","content-length":"33"}	\N	\N	\N
9	9	1	1796319190252	removed	pending	http_404	404	0	http://video.example:47231/gone/2	0	127.0.0.1	7	0	0	21041	53021	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
10	1	2	1796319190344	removed	taken_down	http_451	451	0	http://files.example:47231/451/1	0	127.0.0.1	28	0	0	15249	15319	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"0"}	\N	\N	rule[0] files.example
11	5	2	1796319190345	removed	taken_down	http_410	410	0	http://video.example:47231/410/1	0	127.0.0.1	9	0	0	16187	16227	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"0"}	\N	\N	\N
12	3	2	1796319190348	removed	taken_down	removal_marker	200	0	http://files.example:47231/marker/1	0	127.0.0.1	7	0	0	19697	19933	53	fixture-node	fixture-vantage	GET	d91f10f42901837fd2dd7e40684ac5b651fd16e33044cb7bc3fc7b6b0ac233fa	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-type":"text/html; charset=utf-8","content-length":"53"}	\N	has been removed	rule[0] files.example
13	6	2	1796319190354	removed	taken_down	http_404	404	0	http://video.example:47231/flip/1	0	127.0.0.1	7	0	0	25557	25627	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
14	7	2	1796319190354	removed	taken_down	http_404	404	0	http://video.example:47231/flip/2	0	127.0.0.1	7	0	0	25886	25915	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
15	9	2	1796319190424	removed	taken_down	http_404	404	0	http://video.example:47231/gone/2	0	127.0.0.1	24	0	0	20547	67260	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:10 GMT","content-length":"9"}	\N	\N	\N
16	4	1	1796319191186	online	online	http_200	200	0	http://files.example:47231/ok/1	1	127.0.0.1	43	1015275	0	1015878	1016061	33	fixture-node	fixture-vantage	GET	b0dcfc568a030d79d6433714fcb3cc63a608bf977dd2bfc3b2e593d17fe4e3c4	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:11 GMT","content-type":"text/html; charset=utf-8","content-length":"33"}	[{"status":301,"location":"/ok/1"}]	\N	rule[0] files.example
17	8	1	1796319191186	removed	pending	http_404	404	0	http://video.example:47231/gone/1	0	127.0.0.1	19	1016038	0	1016162	1016183	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:11 GMT","content-length":"9"}	\N	\N	\N
18	8	2	1796319191264	removed	taken_down	http_404	404	0	http://video.example:47231/gone/1	0	127.0.0.1	25	0	0	27782	27849	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:11 GMT","content-length":"9"}	\N	\N	\N
19	9	3	1796319192964	removed	taken_down	http_404	404	0	http://video.example:47231/gone/2	0	127.0.0.1	31	394	0	23428	23616	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-length":"9"}	\N	\N	\N
20	1	3	1796319192985	removed	taken_down	http_451	451	0	http://files.example:47231/451/1	0	127.0.0.1	10	253	0	43804	43885	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-length":"0"}	\N	\N	rule[0] files.example
21	5	3	1796319192997	removed	taken_down	http_410	410	0	http://video.example:47231/410/1	0	127.0.0.1	7	228	0	55932	55986	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-length":"0"}	\N	\N	\N
22	3	3	1796319192997	removed	taken_down	removal_marker	200	0	http://files.example:47231/marker/1	0	127.0.0.1	5	207	0	55961	56002	53	fixture-node	fixture-vantage	GET	d91f10f42901837fd2dd7e40684ac5b651fd16e33044cb7bc3fc7b6b0ac233fa	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-type":"text/html; charset=utf-8","content-length":"53"}	\N	has been removed	rule[0] files.example
23	6	3	1796319192997	online	reappeared	http_200	200	0	http://video.example:47231/flip/1	0	127.0.0.1	8	192	0	55973	56000	36	fixture-node	fixture-vantage	GET	f0c46fe00d75bba138b4e466ed6e81a5833bd7806737fea8f362fe0795ef82b9	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-type":"text/html; charset=utf-8","content-length":"36"}	\N	\N	\N
24	7	3	1796319192997	online	reappeared	http_200	200	0	http://video.example:47231/flip/2	0	127.0.0.1	7	172	0	55970	55996	36	fixture-node	fixture-vantage	GET	f0c46fe00d75bba138b4e466ed6e81a5833bd7806737fea8f362fe0795ef82b9	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:12 GMT","content-type":"text/html; charset=utf-8","content-length":"36"}	\N	\N	\N
25	8	3	1796319193977	removed	taken_down	http_404	404	0	http://video.example:47231/gone/1	0	127.0.0.1	5	1024063	0	1031647	1036443	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:13 GMT","content-length":"9"}	\N	\N	\N
26	9	4	1796319193982	removed	taken_down	http_404	404	0	http://video.example:47231/gone/2	0	127.0.0.1	42	0	0	1019	1091	9	fixture-node	fixture-vantage	GET	907ba78b4545338d3539683e63ecb51cf51c10adc9dabd86e92bd52339f298b9	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:13 GMT","content-length":"9"}	\N	\N	\N
27	1	4	1796319194092	removed	taken_down	http_451	451	0	http://files.example:47231/451/1	0	127.0.0.1	28	0	0	14831	14922	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:14 GMT","content-length":"0"}	\N	\N	rule[0] files.example
28	3	4	1796319194093	removed	taken_down	removal_marker	200	0	http://files.example:47231/marker/1	0	127.0.0.1	10	0	0	15473	15529	53	fixture-node	fixture-vantage	GET	d91f10f42901837fd2dd7e40684ac5b651fd16e33044cb7bc3fc7b6b0ac233fa	{"server":"fixture-site","date":"Thu, 03 Dec 2026 17:33:14 GMT","content-type":"text/html; charset=utf-8","content-length":"53"}	\N	has been removed	rule[0] files.example
29	5	4	1796319194093	removed	taken_down	http_410	410	0	http://video.example:47231/410/1	0	127.0.0.1	9	0	0	15959	15992	0	fixture-node	fixture-vantage	GET	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	{"server":"BaseHTTP/0.6 Python/3.11.7","date":"Thu, 03 Dec 2026 17:33:14 GMT","content-length":"0"}	\N	\N	\N
\.


--
-- Data for Name: daemon_state; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.daemon_state (key, value) FROM stdin;
\.


--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.events (id, url_id, at, from_status, to_status, reason) FROM stdin;
1	2	1796319190198	pending	unreachable	http_5xx
2	10	1796319190252	pending	online	http_200
3	11	1796319190252	pending	online	http_200
4	1	1796319190344	pending	taken_down	http_451
5	5	1796319190345	pending	taken_down	http_410
6	3	1796319190348	pending	taken_down	removal_marker
7	6	1796319190354	pending	taken_down	http_404
8	7	1796319190354	pending	taken_down	http_404
9	9	1796319190424	pending	taken_down	http_404
10	4	1796319191186	pending	online	http_200
11	8	1796319191264	pending	taken_down	http_404
12	6	1796319192997	taken_down	reappeared	http_200
13	7	1796319192997	taken_down	reappeared	http_200
14	7	1796319194732	reappeared	cancelled	cancelled
\.


--
-- Data for Name: host_leases; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.host_leases (host, holder, lease_until, free_at, paused_until) FROM stdin;
files.example	\N	0	1796319194115	0
video.example	\N	0	1796319194115	0
\.


--
-- Data for Name: nodes; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.nodes (name, vantage, version, started_at, last_seen_at, checks_last_interval, host, process, instance, stopped_at, interval_ms) FROM stdin;
fixture-node	fixture-vantage	0.1.0	1796319192891	1796319194236	0	vm	15196:2961767	e5e87817-f594-4e99-b73a-4919d2e03c6f	1796319194236	0
\.


--
-- Data for Name: open_deadlines; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.open_deadlines (url_id, deadline_at) FROM stdin;
10	1773532800000
11	1773532800000
4	1790726400000
\.


--
-- Data for Name: reports; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.reports (id, url_id, reported_at, campaign, notice, rightholder, work, deadline, created_at, extra) FROM stdin;
6	1	1788220800000	autumn-2026	N-10	Studio B	Song, Live	1790726400000	1796319189086	{"Platform":"files","Ticket":"T-6"}
8	2	1788307200000	autumn-2026	N-11	Studio C	Game	\N	1796319189086	{"Platform":"files","Ticket":"T-8"}
9	3	1788307200000	autumn-2026	N-11	Studio C	Game	\N	1796319189086	{"Platform":"files","Ticket":"T-9"}
7	4	1788220800000	autumn-2026	N-10	Studio B	Song, Live	1790726400000	1796319189086	{"Platform":"files","Ticket":"T-7"}
5	5	1772496000000	spring-2026	DMCA-3	Studio B	Song, Live	1775001600000	1796319189086	{"Platform":"video","Ticket":"T-5"}
10	6	1788393600000	autumn-2026	N-12	Studio C	Game	\N	1796319189086	{"Platform":"video","Ticket":"T-10"}
11	7	1788393600000	autumn-2026	N-12	Studio C	Game	\N	1796319189086	{"Platform":"video","Ticket":"T-11"}
12	8	1788480000000	autumn-2026	N-13	Studio A	The Film	1788998400000	1796319189086	{"Platform":"video","Ticket":"T-12"}
3	8	1772409600000	spring-2026	DMCA-2	Studio A	The Film	\N	1796319189086	{"Platform":"video","Ticket":"T-3"}
4	9	1772409600000	spring-2026	DMCA-2	Studio A	The Film	\N	1796319189086	{"Platform":"video"}
1	10	1772359200000	spring-2026	DMCA-1	Studio A	The Film	1773532800000	1796319189086	{"Platform":"video","Ticket":"T-1"}
2	11	1772359200000	spring-2026	DMCA-1	Studio A	The Film	1773532800000	1796319189086	{"Platform":"video","Ticket":"T-2"}
25	10	1796319189549	autumn-2026	N-14	Studio A	The Film	1790812800000	1796319189549	\N
26	9	1796319189549	autumn-2026	N-14	Studio A	The Film	1790812800000	1796319189549	\N
27	14	1796319195305	spring-2026	DMCA-9	\N	\N	\N	1796319195305	\N
\.


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schema_migrations (name, applied_at) FROM stdin;
0001_core	1796319188744
0002_queue	1796319188744
0003_tallies	1796319188744
0004_host_leases	1796319188744
\.


--
-- Data for Name: summaries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.summaries (id, at, interval_ms, holder, checks, checks_per_second, pending, online, taken_down, unreachable, reappeared, cancelled, newly_taken_down, newly_reappeared, due) FROM stdin;
1	1796319191325	1348	fixture-node	18	13.353115727002967	0	3	7	1	0	0	7	0	0
2	1796319194176	1303	fixture-node	11	8.44205679201842	0	3	5	1	2	0	0	2	0
\.


--
-- Data for Name: takedown_time_counts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.takedown_time_counts (kind, name, n) FROM stdin;
2	autumn-2026	6
2	spring-2026	3
0		7
\.


--
-- Data for Name: takedown_times; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.takedown_times (url_id, kind, name, ms) FROM stdin;
1	0		8098390344
1	2	autumn-2026	8098390344
3	0		8011990348
3	2	autumn-2026	8011990348
5	0		23823190345
5	2	spring-2026	23823190345
6	0		7925590354
6	2	autumn-2026	7925590354
7	0		7925590354
7	2	autumn-2026	7925590354
9	0		23909590424
9	2	spring-2026	23909590424
9	2	autumn-2026	23909590424
8	0		23909591264
8	2	spring-2026	23909591264
8	2	autumn-2026	23909591264
\.


--
-- Data for Name: tallies; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tallies (kind, name, status, n) FROM stdin;
2	autumn-2026	online	2
3	video.example	online	2
2	autumn-2026	taken_down	4
2	spring-2026	taken_down	3
2	autumn-2026	unreachable	1
2	autumn-2026	reappeared	2
2	spring-2026	online	2
3	files.example	online	1
3	video.example	reappeared	2
3	files.example	unreachable	1
3	files.example	taken_down	2
3	video.example	taken_down	3
2	autumn-2026	cancelled	1
3	video.example	cancelled	1
2	autumn-2026	reappeared	-1
3	video.example	reappeared	-1
3	video.example	pending	1
2	spring-2026	pending	1
\.


--
-- Data for Name: url_counts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.url_counts (name, n) FROM stdin;
taken_down_late	4
taken_down	7
first_taken_down	7
\.


--
-- Data for Name: urls; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.urls (id, url, host, created_at, status, reason, http_status, last_checked_at, next_check_at, first_online_at, taken_down_at, first_taken_down_at, checks, removal_streak, failure_streak, attempt, lease_holder, lease_until, first_reported_at, deadline_at, unreachable_since, given_up_at) FROM stdin;
2	http://files.example:47231/error/1	files.example	1796319189086	unreachable	http_5xx	503	1796319190198	1796322795028	\N	\N	\N	1	0	1	1	\N	\N	1788307200000	\N	1796319190198	\N
10	http://video.example:47231/ok/1	video.example	1796319189086	online	http_200	200	1796319190252	1796322790252	1796319190252	\N	\N	1	0	0	1	\N	\N	1772359200000	1773532800000	\N	\N
11	http://video.example:47231/ok/2	video.example	1796319189086	online	http_200	200	1796319190252	1796322790252	1796319190252	\N	\N	1	0	0	1	\N	\N	1772359200000	1773532800000	\N	\N
4	http://files.example:47231/moved/1	files.example	1796319189086	online	http_200	200	1796319191186	1796322791186	1796319191186	\N	\N	1	0	0	1	\N	\N	1788220800000	1790726400000	\N	\N
6	http://video.example:47231/flip/1	video.example	1796319189086	reappeared	http_200	200	1796319192997	1796322792997	1796319192997	1796319190354	1796319190354	3	0	0	3	\N	\N	1788393600000	\N	\N	\N
8	http://video.example:47231/gone/1	video.example	1796319189086	taken_down	http_404	404	1796319193977	1796319194977	\N	1796319191264	1796319191264	3	3	0	3	\N	\N	1772409600000	1788998400000	\N	\N
9	http://video.example:47231/gone/2	video.example	1796319189086	taken_down	http_404	404	1796319193982	1796319194982	\N	1796319190424	1796319190424	4	4	0	4	\N	\N	1772409600000	1790812800000	\N	\N
1	http://files.example:47231/451/1	files.example	1796319189086	taken_down	http_451	451	1796319194092	1796319195092	\N	1796319190344	1796319190344	4	4	0	4	\N	\N	1788220800000	1790726400000	\N	\N
3	http://files.example:47231/marker/1	files.example	1796319189086	taken_down	removal_marker	200	1796319194093	1796319195093	\N	1796319190348	1796319190348	4	4	0	4	\N	\N	1788307200000	\N	\N	\N
5	http://video.example:47231/410/1	video.example	1796319189086	taken_down	http_410	410	1796319194093	1796319195093	\N	1796319190345	1796319190345	4	4	0	4	\N	\N	1772496000000	1775001600000	\N	\N
7	http://video.example:47231/flip/2	video.example	1796319189086	cancelled	cancelled	200	1796319192997	\N	1796319192997	1796319190354	1796319190354	3	0	0	3	\N	\N	1788393600000	\N	\N	\N
14	http://video.example:47231/new/1	video.example	1796319195305	pending	\N	\N	\N	1796319195305	\N	\N	\N	0	0	0	0	\N	\N	1796319195305	\N	\N	\N
\.


--
-- Name: checks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.checks_id_seq', 29, true);


--
-- Name: events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.events_id_seq', 14, true);


--
-- Name: reports_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.reports_id_seq', 27, true);


--
-- Name: summaries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.summaries_id_seq', 2, true);


--
-- Name: urls_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.urls_id_seq', 14, true);


--
-- Name: checks checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.checks
    ADD CONSTRAINT checks_pkey PRIMARY KEY (id);


--
-- Name: checks checks_url_id_attempt_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.checks
    ADD CONSTRAINT checks_url_id_attempt_key UNIQUE (url_id, attempt);


--
-- Name: daemon_state daemon_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.daemon_state
    ADD CONSTRAINT daemon_state_pkey PRIMARY KEY (key);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);


--
-- Name: host_leases host_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.host_leases
    ADD CONSTRAINT host_leases_pkey PRIMARY KEY (host);


--
-- Name: nodes nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_pkey PRIMARY KEY (name);


--
-- Name: open_deadlines open_deadlines_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.open_deadlines
    ADD CONSTRAINT open_deadlines_pkey PRIMARY KEY (url_id);


--
-- Name: reports reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reports
    ADD CONSTRAINT reports_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (name);


--
-- Name: summaries summaries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.summaries
    ADD CONSTRAINT summaries_pkey PRIMARY KEY (id);


--
-- Name: takedown_times takedown_times_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.takedown_times
    ADD CONSTRAINT takedown_times_pkey PRIMARY KEY (url_id, kind, name);


--
-- Name: urls urls_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.urls
    ADD CONSTRAINT urls_pkey PRIMARY KEY (id);


--
-- Name: urls urls_url_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.urls
    ADD CONSTRAINT urls_url_key UNIQUE (url);


--
-- Name: events_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_at ON public.events USING btree (at);


--
-- Name: events_to_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_to_status ON public.events USING btree (to_status, at, url_id);


--
-- Name: events_url; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_url ON public.events USING btree (url_id);


--
-- Name: open_deadlines_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX open_deadlines_at ON public.open_deadlines USING btree (deadline_at);


--
-- Name: reports_campaign_url; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reports_campaign_url ON public.reports USING btree (campaign, url_id);


--
-- Name: reports_dedup; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX reports_dedup ON public.reports USING btree (url_id, COALESCE(campaign, ''::text), COALESCE(notice, ''::text));


--
-- Name: summaries_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX summaries_at ON public.summaries USING btree (at);


--
-- Name: takedown_times_rank; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX takedown_times_rank ON public.takedown_times USING btree (kind, name, ms);


--
-- Name: urls_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX urls_due ON public.urls USING btree (next_check_at) WHERE (next_check_at IS NOT NULL);


--
-- Name: urls_host; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX urls_host ON public.urls USING btree (host, status);


--
-- Name: urls_lease; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX urls_lease ON public.urls USING btree (lease_holder) WHERE (lease_holder IS NOT NULL);


--
-- Name: urls_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX urls_status ON public.urls USING btree (status);


--
-- Name: reports td_reports_deleted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_reports_deleted AFTER DELETE ON public.reports REFERENCING OLD TABLE AS old_reports FOR EACH STATEMENT EXECUTE FUNCTION public.td_reports_deleted();


--
-- Name: reports td_reports_inserted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_reports_inserted AFTER INSERT ON public.reports REFERENCING NEW TABLE AS new_reports FOR EACH STATEMENT EXECUTE FUNCTION public.td_reports_inserted();


--
-- Name: reports td_reports_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_reports_updated AFTER UPDATE ON public.reports REFERENCING OLD TABLE AS old_reports NEW TABLE AS new_reports FOR EACH STATEMENT EXECUTE FUNCTION public.td_reports_updated();


--
-- Name: urls td_urls_deleted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_urls_deleted AFTER DELETE ON public.urls REFERENCING OLD TABLE AS old_urls FOR EACH STATEMENT EXECUTE FUNCTION public.td_urls_deleted();


--
-- Name: urls td_urls_inserted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_urls_inserted AFTER INSERT ON public.urls REFERENCING NEW TABLE AS new_urls FOR EACH STATEMENT EXECUTE FUNCTION public.td_urls_inserted();


--
-- Name: urls td_urls_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER td_urls_updated AFTER UPDATE ON public.urls REFERENCING OLD TABLE AS old_urls NEW TABLE AS new_urls FOR EACH STATEMENT EXECUTE FUNCTION public.td_urls_updated();


--
-- PostgreSQL database dump complete
--

\unrestrict XCNyEbDrrE5d3ZsGP1jwidN14Lq0fQ1omxdfrPPf6RNFxPFmVPC7zX5cUAbB9h8

