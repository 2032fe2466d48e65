// sqlite3 plus typed helpers for the macros Swift cannot import.
#ifndef TAKEDOWN_CSQLITE_SHIM_H
#define TAKEDOWN_CSQLITE_SHIM_H
#include <sqlite3.h>

static inline int csqlite_bind_text_transient(sqlite3_stmt *s, int i, const char *v, int n) {
  return sqlite3_bind_text(s, i, v, n, SQLITE_TRANSIENT);
}

// sqlite3_db_config is variadic: Swift cannot call it directly.
// on: 1 enables, 0 disables, -1 leaves as is; *state receives the setting after the call.
static inline int csqlite_enable_triggers(sqlite3 *db, int on, int *state) {
  return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, on, state);
}

// sqlite3_config is variadic too. Memory statistics make every allocation take a global mutex; nothing
// here reads them. Only effective before SQLite initializes (returns SQLITE_MISUSE after).
static inline int csqlite_disable_memstatus(void) {
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
