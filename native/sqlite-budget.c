/*
 * codomyrmex-db: a time budget for SQLite statements run in the server's own process.
 *
 * better-sqlite3 runs a statement on the calling thread and offers no way to stop it, so
 * every SQLite statement used to run in a child process that could be killed (PITFALLS,
 * SQLite). Reads that finish quickly may run in the server itself instead
 * (src/core/backends/sqlite/fast-read.ts) when they can be stopped after a few
 * milliseconds. better-sqlite3 is built without SQLite's progress callback, so this
 * extension gives a connection a watchdog thread that calls sqlite3_interrupt() (safe from
 * any thread) once the connection's deadline has passed, and every millisecond after until
 * it is disarmed, and one SQL function to set that deadline. The statement then fails with
 * SQLITE_INTERRUPT.
 *
 *   cmx_budget(key BLOB(16), ms INTEGER)
 *
 * ms > 0 arms the budget (now + ms), 0 disarms it. The first call on a connection sets the
 * key; later calls must give the same key, or fail. The server sets it to random bytes
 * before any other statement runs, so SQL that reaches this connection cannot lift its own
 * budget. The function is SQLITE_DIRECTONLY: views and triggers of the schema cannot call it.
 *
 * sqlite3_interrupt is seen only between opcodes, and one opcode can run long: a function
 * over a large value, or a long prepare. So while armed the connection also has an
 * authorizer, consulted while a statement is prepared (the views it reads included), that
 * refuses (and the server sends the read to its host process, which can be killed):
 *  - anything once the deadline has passed, so a slow prepare ends near the budget;
 *  - anything but reading tables and calling functions (PRAGMA, ATTACH, writes ...);
 *  - pragma table-valued functions and the temp schema, which hold this connection's own
 *    state, not the host's; so do changes(), total_changes() and last_insert_rowid();
 *  - dbstat, whose aggregate row reads a whole b-tree in one step;
 *  - functions whose cost grows faster than their arguments (instr, replace, trim with a
 *    set of characters, json_patch, full-text and geopoly functions), and sqlite_log, which
 *    writes to the process's log; like and glob past FAST_MAX_MATCHES calls (their patterns
 *    are limited to FAST_MAX_PATTERN bytes).
 * And its limits, set once the schema is read (the first call, which sets the key), keep
 * what straight-line code can touch small: values of at most FAST_MAX_LENGTH bytes (a
 * larger one fails SQLITE_TOOBIG and the host reads it), at most FAST_MAX_COLUMNS columns
 * (a row is converted to JavaScript in one step), FAST_MAX_ARGS arguments to a function,
 * and programs of at most FAST_MAX_OPS opcodes: about 40 MB of linear work at most, some
 * tens of milliseconds. The query flattener is off (see where the limits are set).
 *
 * Built by scripts/build.mjs into dist/sqlite-budget.so against the sqlite3ext.h that
 * better-sqlite3 ships; where no C compiler is found the server runs every statement in
 * the child process, as before.
 */
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include <pthread.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_BYTES 16
/* Largest string or blob the connection makes or reads: a linear function over one takes microseconds. */
#define FAST_MAX_LENGTH 16384
/* Widest result row: at most 1 MiB of values converted at once. */
#define FAST_MAX_COLUMNS 64
#define FAST_MAX_ARGS 8
/* Longest program: straight-line code (no jump, so no interrupt) of at most this many opcodes. */
#define FAST_MAX_OPS 2500
/* like and glob cost the value's length times the pattern's: a pattern of at most 64 bytes, at most FAST_MAX_MATCHES calls in a statement. */
#define FAST_MAX_PATTERN 64
#define FAST_MAX_MATCHES 4
/* SQLite's own bit for the query flattener in SQLITE_TESTCTRL_OPTIMIZATIONS (sqlite3.c: SQLITE_QueryFlattener). */
#define QUERY_FLATTENER 0x00000001
/*
 * The budget a connection starts with: its first statements read the schema (a prepare
 * does), which takes long for a large one, and nothing can arm a budget before them. Until
 * the server's call that sets the key (and disarms), the authorizer checks only the deadline.
 */
#define OPEN_BUDGET_MS 20

/*
 * Tests that expect a read to run in the server widen the budgets on a loaded machine, whose
 * own pauses would otherwise stop it (CODOMYRMEX_SQLITE_BUDGET_MS, read by fast-read.ts too):
 * the open gets four times the read budget, at most 4 s.
 */
static int64_t open_budget_ms(void) {
  const char *v = getenv("CODOMYRMEX_SQLITE_BUDGET_MS");
  long ms = v != NULL ? strtol(v, NULL, 10) : 0;
  return ms > 0 && ms <= 1000 ? (int64_t)ms * 4 : OPEN_BUDGET_MS;
}

typedef struct {
  sqlite3 *db;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* on CLOCK_MONOTONIC */
  int64_t deadline_ns; /* 0: no budget */
  int64_t until_ns; /* the armed deadline, for the authorizer; 0: not armed */
  int costly; /* calls of like/glob the statement being prepared makes */
  int64_t sleeping_until; /* the deadline the watchdog waits for; 0: none (waits to be woken) */
  int quit;
  int keyed;
  unsigned char key[KEY_BYTES];
} Budget;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * Sleeps until the deadline, then interrupts what runs on the connection, once. A disarm does
 * not wake it: it wakes at the old deadline, finds none, and sleeps again, so a busy
 * connection costs it about one wake-up per budget, not two per statement.
 */
static void *watch(void *arg) {
  Budget *b = (Budget *)arg;
  pthread_mutex_lock(&b->mu);
  while (!b->quit) {
    if (b->deadline_ns == 0) {
      b->sleeping_until = 0;
      pthread_cond_wait(&b->cv, &b->mu);
      continue;
    }
    int64_t now = now_ns();
    if (now >= b->deadline_ns) {
      /*
       * Again every millisecond until disarmed: SQLite clears the flag when a statement starts
       * while none runs, so one interrupt that lands between a prepare and its first step (the
       * agent's parameters being bound, a pause of the process) would be lost.
       */
      sqlite3_interrupt(b->db);
      int64_t next = now + 1000000;
      struct timespec until = { (time_t)(next / 1000000000), (long)(next % 1000000000) };
      b->sleeping_until = next;
      pthread_cond_timedwait(&b->cv, &b->mu, &until);
      continue;
    }
    b->sleeping_until = b->deadline_ns;
    struct timespec until = { (time_t)(b->deadline_ns / 1000000000), (long)(b->deadline_ns % 1000000000) };
    pthread_cond_timedwait(&b->cv, &b->mu, &until);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

static void budget_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Budget *b = (Budget *)sqlite3_user_data(ctx);
  (void)argc;
  if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || sqlite3_value_bytes(argv[0]) != KEY_BYTES) {
    sqlite3_result_error(ctx, "cmx_budget: the key must be a 16-byte blob", -1);
    return;
  }
  sqlite3_int64 ms = sqlite3_value_int64(argv[1]);
  if (ms < 0 || ms > 3600000) {
    sqlite3_result_error(ctx, "cmx_budget: ms must be between 0 and 3600000", -1);
    return;
  }
  const void *key = sqlite3_value_blob(argv[0]);
  pthread_mutex_lock(&b->mu);
  if (!b->keyed) {
    memcpy(b->key, key, KEY_BYTES);
    b->keyed = 1;
    /* The schema is read (this statement's prepare read it): from now on, the read limits. */
    sqlite3 *db = sqlite3_context_db_handle(ctx);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, FAST_MAX_LENGTH);
    sqlite3_limit(db, SQLITE_LIMIT_COLUMN, FAST_MAX_COLUMNS);
    sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, FAST_MAX_ARGS);
    sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, FAST_MAX_OPS);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, FAST_MAX_PATTERN);
    /*
     * No query flattening: it writes a subquery's result expressions into every place that
     * names them, before any check, so nested subqueries that each name the one below twice
     * grow as 2^depth (depth 20 held the server 50-100 ms). Unflattened, each runs once per
     * row, as written; answers are the same.
     */
    sqlite3_test_control(SQLITE_TESTCTRL_OPTIMIZATIONS, db, QUERY_FLATTENER);
  } else if (memcmp(b->key, key, KEY_BYTES) != 0) {
    pthread_mutex_unlock(&b->mu);
    sqlite3_result_error(ctx, "cmx_budget: not allowed", -1);
    return;
  }
  b->deadline_ns = ms > 0 ? now_ns() + (int64_t)ms * 1000000 : 0;
  b->until_ns = b->deadline_ns;
  b->costly = 0;
  /* Wake the watchdog only when it would otherwise wake too late. */
  if (b->deadline_ns != 0 && (b->sleeping_until == 0 || b->sleeping_until > b->deadline_ns)) pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  sqlite3_result_int(ctx, 1);
}


/* Functions refused while armed (lower case): they read this connection's own state, or cost more than linear time in their arguments. */
static const char *const DENIED_FUNCTIONS[] = {
  "changes", "total_changes", "last_insert_rowid", "load_extension",
  "instr", "replace", "trim", "ltrim", "rtrim", "match",
  "highlight", "snippet", "bm25", "fts5", "fts5_source_id", "offsets", "matchinfo", "optimize",
  "rtreecheck", "rtreenode", "rtreedepth", "json_patch", "jsonb_patch", "sqlite_log", NULL,
};

static int denied_function(const char *name) {
  if (name == NULL) return 1;
  if (strncasecmp(name, "geopoly", 7) == 0 || strncasecmp(name, "fts", 3) == 0) return 1;
  for (int i = 0; DENIED_FUNCTIONS[i] != NULL; i++) {
    if (strcasecmp(name, DENIED_FUNCTIONS[i]) == 0) return 1;
  }
  return 0;
}

/* Consulted while a statement is prepared; refuses nothing while the budget is not armed (the server's own statements). */
static int authorize(void *arg, int action, const char *a, const char *b2, const char *db, const char *trigger) {
  Budget *b = (Budget *)arg;
  (void)trigger;
  pthread_mutex_lock(&b->mu);
  int64_t until = b->until_ns;
  int keyed = b->keyed;
  pthread_mutex_unlock(&b->mu);
  if (until == 0) return SQLITE_OK;
  if (now_ns() >= until) return SQLITE_DENY;
  /* Before the key is set only the server's own statements run (it reads the schema): the deadline alone. */
  if (!keyed) return SQLITE_OK;
  if (db != NULL && strcasecmp(db, "main") != 0) return SQLITE_DENY;
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ:
      /* dbstat's aggregate row walks a whole b-tree in one step. */
      return a != NULL && (strncasecmp(a, "pragma_", 7) == 0 || strcasecmp(a, "dbstat") == 0) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_FUNCTION:
      if (b2 != NULL && (strcasecmp(b2, "like") == 0 || strcasecmp(b2, "glob") == 0)) {
        pthread_mutex_lock(&b->mu);
        int n = ++b->costly;
        pthread_mutex_unlock(&b->mu);
        return n <= FAST_MAX_MATCHES ? SQLITE_OK : SQLITE_DENY;
      }
      return denied_function(b2) ? SQLITE_DENY : SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

/* Runs when the connection closes (the function's destructor): the watchdog ends first. */
static void budget_free(void *arg) {
  Budget *b = (Budget *)arg;
  pthread_mutex_lock(&b->mu);
  b->quit = 1;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  sqlite3_free(b);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_sqlitebudget_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)err;
  Budget *b = (Budget *)sqlite3_malloc(sizeof(Budget));
  if (b == NULL) return SQLITE_NOMEM;
  memset(b, 0, sizeof(Budget));
  b->db = db;
  b->deadline_ns = b->until_ns = now_ns() + open_budget_ms() * 1000000;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&b->thread, NULL, watch, b) != 0) {
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    sqlite3_free(b);
    return SQLITE_ERROR;
  }
  /* From here the function owns the budget: budget_free runs when the connection closes, or now if this fails. */
  int rc = sqlite3_create_function_v2(db, "cmx_budget", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, b, budget_fn, NULL, NULL, budget_free);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_set_authorizer(db, authorize, b);
}
