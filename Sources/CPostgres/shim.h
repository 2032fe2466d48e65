// libpq, PostgreSQL's own client library (Debian's libpq-dev). Its calls are synchronous, which fits
// the runner's dedicated thread, and it needs no Swift package (no minutes added to a clean build).
#ifndef TAKEDOWN_CPOSTGRES_SHIM_H
#define TAKEDOWN_CPOSTGRES_SHIM_H
#include <postgresql/libpq-fe.h>
#include <string.h>

// The diagnostic field codes are macros over character literals; Swift imports them as Int32 already,
// but keeping the one we use named here makes the call sites read like libpq's documentation.
static inline const char *cpg_sqlstate(const PGresult *res) {
  return PQresultErrorField(res, PG_DIAG_SQLSTATE);
}

static inline const char *cpg_primary_message(const PGresult *res) {
  return PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
}

// NOTICE and WARNING messages from the server go to stderr by default: a daemon's stderr is its log,
// so they are dropped here (anything we must know arrives as an error result).
static void cpg_ignore_notice(void *arg, const PGresult *res) { (void)arg; (void)res; }
static inline void cpg_silence_notices(PGconn *conn) {
  PQsetNoticeReceiver(conn, cpg_ignore_notice, 0);
}

// The same, but a FATAL or PANIC that arrives while the connection is idle (libpq hands those to the
// notice receiver: pg_terminate_backend, a shutdown) sets *fatal, so the caller knows the server is
// hanging up before the end of the stream has arrived.
static void cpg_note_fatal(void *arg, const PGresult *res) {
  const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (arg && severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) *(int *)arg = 1;
}
static inline void cpg_watch_notices(PGconn *conn, int *fatal) {
  PQsetNoticeReceiver(conn, cpg_note_fatal, fatal);
}
#endif
