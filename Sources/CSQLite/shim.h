// sqlite3 plus typed helpers for the macros Swift cannot import.
#ifndef TAKEDOWN_CSQLITE_SHIM_H
#define TAKEDOWN_CSQLITE_SHIM_H
#include <sqlite3.h>

static inline int csqlite_bind_text_transient(sqlite3_stmt *s, int i, const char *v, int n) {
  return sqlite3_bind_text(s, i, v, n, SQLITE_TRANSIENT);
}
#endif
