/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The default store: one SQLite database, <dir>/arkitect.db, in WAL mode. Each apply() is one
 * BEGIN IMMEDIATE ... COMMIT with cached prepared statements, so a batch costs one WAL sync (with
 * durability "full") however many operations it carries. docs/storage.md describes the schema.
 */

#define ARK_STORE_SQLITE_FILE_NAME "arkitect.db"
#define ARK_STORE_SQLITE_LOCK_FILE_NAME "arkitect.db.lock"
/* "Arkt": marks the file as ours, so that a foreign SQLite database is refused, not migrated */
#define ARK_STORE_SQLITE_APPLICATION_ID 0x41726b74
#define ARK_STORE_SQLITE_BUSY_TIMEOUT_MS 5000
/* dynamic list_runs() statements kept prepared; beyond this they are prepared per call */
#define ARK_STORE_SQLITE_MAX_CACHED_QUERIES 64

/*
 * Ordered migrations: entry N takes the schema from user_version N to N + 1. Append only; never
 * edit a released entry, a database in the field was built by it.
 */
static const gchar *const ark_store_sqlite_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  workflow_name TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  policy TEXT,"
    "  submitter TEXT,"
    "  idempotency_key TEXT UNIQUE,"
    "  definition TEXT,"
    "  n_tasks INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL,"
    "  reason TEXT"
    ");"
    "CREATE INDEX runs_by_state ON runs (state, id);"
    "CREATE INDEX runs_by_workflow ON runs (workflow_name, id);"
    "CREATE TABLE tasks ("
    "  run_id TEXT NOT NULL REFERENCES runs (id),"
    "  task_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  ready_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL,"
    "  reason TEXT,"
    "  PRIMARY KEY (run_id, task_id),"
    "  UNIQUE (run_id, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE attempts ("
    "  run_id TEXT NOT NULL,"
    "  task_id TEXT NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  token INTEGER NOT NULL UNIQUE,"
    "  status INTEGER NOT NULL,"
    "  executor TEXT,"
    "  holder TEXT,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  signal INTEGER NOT NULL,"
    "  error TEXT,"
    "  log_path TEXT,"
    "  PRIMARY KEY (run_id, task_id, number),"
    "  FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, task_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  task_id TEXT,"
    "  attempt INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  data TEXT"
    ");",
    /* 1 -> 2: who cancelled, when a retry is due, where the retry budget starts; the index
     * serves find_tasks() by state (the dead-letter queue) in its order, run id then index,
     * without a sort */
    "ALTER TABLE runs ADD COLUMN cancelled_by TEXT;"
    "ALTER TABLE tasks ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN cancelled_by TEXT;"
    "ALTER TABLE tasks ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX tasks_by_state ON tasks (state, run_id, idx);",
    /* 2 -> 3: the tamper-evident audit log. Append-only: the triggers stop an update or a
     * delete by mistake (a deliberate one drops them first, and `arkitect audit verify` finds
     * what it did from the hash chain) */
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  origin TEXT,"
    "  action TEXT NOT NULL,"
    "  target TEXT,"
    "  result TEXT NOT NULL,"
    "  request_id TEXT,"
    "  detail TEXT,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit records can not be changed'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit records can not be removed'); END;",
    /* 3 -> 4: learned duration estimates, one row per task of a workflow name */
    "CREATE TABLE estimates ("
    "  workflow_name TEXT NOT NULL,"
    "  task_id TEXT NOT NULL,"
    "  estimate INTEGER NOT NULL,"
    "  samples INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (workflow_name, task_id)"
    ") WITHOUT ROWID;",
    /* 4 -> 5: what a successful attempt produced (agent tasks hand it to their dependants),
     * and keyed JSON objects beside the runs: agents, their trust, their assignments */
    "ALTER TABLE attempts ADD COLUMN result TEXT;"
    "CREATE TABLE objects ("
    "  kind TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, key)"
    ") WITHOUT ROWID;",
    /* 5 -> 6: only the dead-letter queue is found by state, and every task changes state
     * three times or more (ready, running, its end): an index over all states moved an entry
     * on each of those updates (a quarter of a task update's cost). A partial index holds the
     * dead tasks alone, in the order find_tasks() returns them; 8 is ARK_TASK_STATE_DEAD */
    "DROP INDEX IF EXISTS tasks_by_state;"
    "CREATE INDEX tasks_dead ON tasks (run_id, idx) WHERE state = 8;",
};
G_STATIC_ASSERT(ARK_TASK_STATE_DEAD == 8);

#define ARK_STORE_SQLITE_SCHEMA_VERSION ((gint64)G_N_ELEMENTS(ark_store_sqlite_migrations))

/* around the definition, so that a summary can read NULL in its place */
#define RUN_COLUMNS_HEAD "id, workflow_name, state, policy, submitter, idempotency_key, "
#define RUN_COLUMNS_TAIL "n_tasks, created_at, started_at, finished_at, reason, cancelled_by"
#define RUN_COLUMNS RUN_COLUMNS_HEAD "definition, " RUN_COLUMNS_TAIL
#define TASK_COLUMNS                                                                               \
	"run_id, task_id, idx, state, attempts, exit_code, ready_at, started_at, finished_at, "    \
	"reason, next_attempt_at, cancelled_by, retry_base"
#define ATTEMPT_COLUMNS                                                                            \
	"run_id, task_id, number, token, status, executor, holder, started_at, finished_at, "      \
	"exit_code, signal, error, log_path, result"
#define EVENT_COLUMNS "seq, time, kind, run_id, task_id, attempt, state, data"
#define AUDIT_COLUMNS                                                                              \
	"seq, time, actor, origin, action, target, result, request_id, detail, prev_hash, hash"

/* the fixed statements, prepared on first use and kept for the life of the connection */
typedef enum {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_RUN_INSERT,
	STMT_RUN_UPDATE,
	STMT_TASK_INSERT,
	STMT_TASK_UPDATE,
	STMT_ATTEMPT_INSERT,
	STMT_ATTEMPT_UPDATE,
	STMT_EVENT_INSERT,
	STMT_RUN_GET,
	STMT_RUN_SUMMARY_GET,
	STMT_RUN_BY_KEY,
	STMT_TASKS_OF_RUN,
	STMT_TASK_COUNTS,
	STMT_ATTEMPTS_OF_RUN,
	STMT_ATTEMPTS_OF_TASK,
	STMT_EVENTS_AFTER,
	STMT_AUDIT_INSERT,
	STMT_AUDIT_AFTER,
	STMT_AUDIT_LAST_RECORD,
	STMT_ESTIMATE_PUT,
	STMT_ESTIMATES_OF_WORKFLOW,
	STMT_OBJECT_PUT,
	STMT_OBJECT_DELETE,
	STMT_OBJECTS_OF_KIND,
	STMT_LAST
} ArkStoreSqliteStmtId;

/* the parameter numbers of the insert statements are shared by the updates of the same record,
 * so that one bind function serves both (an update simply ignores the slots it does not use) */
static const gchar *const ark_store_sqlite_sql[STMT_LAST] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_RUN_INSERT] = "INSERT INTO runs (" RUN_COLUMNS ") "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    /* a NULL definition keeps the stored one; DLQ replay passes the rewritten workflow */
    [STMT_RUN_UPDATE] = "UPDATE runs SET state = ?3, started_at = ?10, finished_at = ?11, "
			"reason = ?12, cancelled_by = ?13, "
			"definition = coalesce(?7, definition), "
			"n_tasks = CASE WHEN ?7 IS NULL THEN n_tasks ELSE ?8 END WHERE id = ?1",
    [STMT_TASK_INSERT] = "INSERT INTO tasks (" TASK_COLUMNS ") "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [STMT_TASK_UPDATE] = "UPDATE tasks SET state = ?4, attempts = ?5, exit_code = ?6, "
			 "ready_at = ?7, started_at = ?8, finished_at = ?9, reason = ?10, "
			 "next_attempt_at = ?11, cancelled_by = ?12, retry_base = ?13 "
			 "WHERE run_id = ?1 AND task_id = ?2",
    [STMT_ATTEMPT_INSERT] = "INSERT INTO attempts (" ATTEMPT_COLUMNS ") "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [STMT_ATTEMPT_UPDATE] = "UPDATE attempts SET status = ?5, finished_at = ?9, "
			    "exit_code = ?10, signal = ?11, error = ?12, log_path = ?13, "
			    "result = ?14 "
			    "WHERE run_id = ?1 AND task_id = ?2 AND number = ?3",
    [STMT_EVENT_INSERT] = "INSERT INTO events (" EVENT_COLUMNS ") "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STMT_RUN_GET] = "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1",
    /* RUN_COLUMNS with NULL for the definition: a status read copies no workflow */
    [STMT_RUN_SUMMARY_GET] = "SELECT " RUN_COLUMNS_HEAD "NULL, " RUN_COLUMNS_TAIL
			     " FROM runs WHERE id = ?1",
    [STMT_RUN_BY_KEY] = "SELECT " RUN_COLUMNS " FROM runs WHERE idempotency_key = ?1",
    /* in primary-key order, sorted by index afterwards: ORDER BY idx goes through the
     * (run_id, idx) index and looks every row up again in the table, 3x slower for 100k */
    [STMT_TASKS_OF_RUN] = "SELECT " TASK_COLUMNS " FROM tasks WHERE run_id = ?1",
    [STMT_TASK_COUNTS] = "SELECT state, count(*) FROM tasks WHERE run_id = ?1 GROUP BY state",
    [STMT_ATTEMPTS_OF_RUN] = "SELECT a.run_id, a.task_id, a.number, a.token, a.status, "
			     "a.executor, a.holder, a.started_at, a.finished_at, a.exit_code, "
			     "a.signal, a.error, a.log_path, a.result "
			     "FROM attempts AS a JOIN tasks AS t "
			     "ON t.run_id = a.run_id AND t.task_id = a.task_id "
			     "WHERE a.run_id = ?1 ORDER BY t.idx, a.number",
    [STMT_ATTEMPTS_OF_TASK] = "SELECT " ATTEMPT_COLUMNS " FROM attempts "
			      "WHERE run_id = ?1 AND task_id = ?2 ORDER BY number",
    [STMT_EVENTS_AFTER] = "SELECT " EVENT_COLUMNS " FROM events WHERE seq > ?1 "
			  "ORDER BY seq LIMIT ?2",
    [STMT_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLUMNS ") "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [STMT_AUDIT_AFTER] = "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ?1 "
			 "ORDER BY seq LIMIT ?2",
    [STMT_AUDIT_LAST_RECORD] = "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq DESC LIMIT 1",
    [STMT_ESTIMATE_PUT] = "INSERT OR REPLACE INTO estimates (workflow_name, task_id, estimate, "
			  "samples, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_ESTIMATES_OF_WORKFLOW] = "SELECT workflow_name, task_id, estimate, samples, updated_at "
				   "FROM estimates WHERE workflow_name = ?1",
    [STMT_OBJECT_PUT] = "INSERT OR REPLACE INTO objects (kind, key, value, updated_at) "
			"VALUES (?1, ?2, ?3, ?4)",
    [STMT_OBJECT_DELETE] = "DELETE FROM objects WHERE kind = ?1 AND key = ?2",
    [STMT_OBJECTS_OF_KIND] = "SELECT kind, key, value, updated_at FROM objects WHERE kind = ?1 "
			     "ORDER BY key",
};

typedef enum {
	ARK_STORE_SQLITE_DURABILITY_FULL,
	ARK_STORE_SQLITE_DURABILITY_NORMAL,
	ARK_STORE_SQLITE_DURABILITY_OFF,
} ArkStoreSqliteDurability;

static const gchar *const ark_store_sqlite_durability_names[] = {"full", "normal", "off"};

#define ARK_TYPE_STORE_SQLITE (ark_store_sqlite_get_type())
G_DECLARE_FINAL_TYPE(ArkStoreSqlite, ark_store_sqlite, ARK, STORE_SQLITE, GObject)

struct _ArkStoreSqlite {
	GObject parent_instance;

	gchar *durability;
	gchar *path;
	sqlite3 *db;
	sqlite3_stmt *stmts[STMT_LAST];
	GHashTable *queries; /* SQL text -> sqlite3_stmt, for list_runs() */
	guint64 last_event_seq;
	guint64 last_attempt_token;
	guint64 last_audit_seq;
	int last_rc;  /* of the last failure, to tell a damaged file from other errors */
	int lock_fd;  /* holds the flock() on <dir>/arkitect.db.lock while open, or -1 */
	gboolean read_only; /* a reader beside the owner: no lock, no writes, no migration */
};

enum {
	PROP_0,
	PROP_DURABILITY,
	PROP_READ_ONLY,
	N_PROPS
};

static GParamSpec *ark_store_sqlite_props[N_PROPS];

static void ark_store_sqlite_store_iface_init(ArkStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkStoreSqlite, ark_store_sqlite, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_STORE,
						    ark_store_sqlite_store_iface_init))

/*
 * A statement in use: going out of scope resets it and drops its bindings, so that a cached
 * statement never keeps a read transaction open or points at a caller's strings.
 */
typedef sqlite3_stmt ArkStoreSqliteStmtUse;

static void
ark_store_sqlite_stmt_use_done(ArkStoreSqliteStmtUse *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkStoreSqliteStmtUse, ark_store_sqlite_stmt_use_done)

static ArkError
ark_store_sqlite_error_code(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return ARK_ERROR_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return ARK_ERROR_NOT_FOUND;
	case SQLITE_CONSTRAINT_NOTNULL:
		return ARK_ERROR_INVALID_ARGUMENT;
	default:
		return ARK_ERROR_STORAGE;
	}
}

/*
 * The message of the last failure on the connection; call right after the failing call, before
 * resetting the statement. For I/O failures SQLite only says "disk I/O error": the errno behind
 * it (ENOSPC, EFBIG, EIO, ...) tells an operator what to fix. SQLite does not record it for
 * every path (a failed WAL write at COMMIT leaves sqlite3_system_errno() at 0), so the callers
 * clear errno before each SQLite call and errno is the fallback.
 */
static void
ark_store_sqlite_set_error(ArkStoreSqlite *self, int rc, GError **error)
{
	int system_errno = sqlite3_system_errno(self->db);

	if (system_errno == 0)
		system_errno = errno;
	self->last_rc = rc;
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) && system_errno != 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s (%s)",
			    sqlite3_errmsg(self->db), g_strerror(system_errno));
		return;
	}
	g_set_error_literal(error, ARK_ERROR, ark_store_sqlite_error_code(rc),
			    sqlite3_errmsg(self->db));
}

static gboolean
ark_store_sqlite_exec(ArkStoreSqlite *self, const gchar *sql, GError **error)
{
	int rc;

	errno = 0;
	rc = sqlite3_exec(self->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ark_store_sqlite_set_error(self, rc, error);
		return FALSE;
	}
	return TRUE;
}

/* runs a statement that returns one integer (a pragma, a count) */
static gboolean
ark_store_sqlite_query_int(ArkStoreSqlite *self, const gchar *sql, gint64 *out_value,
			   GError **error)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	errno = 0;
	rc = sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*out_value = sqlite3_column_int64(stmt, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			*out_value = 0;
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK)
		ark_store_sqlite_set_error(self, rc, error);
	sqlite3_finalize(stmt);
	return rc == SQLITE_OK;
}

/* runs a statement that returns one string */
static gboolean
ark_store_sqlite_query_text(ArkStoreSqlite *self, const gchar *sql, gchar **out_value,
			    GError **error)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	errno = 0;
	rc = sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*out_value = g_strdup((const gchar *)sqlite3_column_text(stmt, 0));
			if (*out_value == NULL)
				*out_value = g_strdup("");
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			*out_value = g_strdup("");
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK)
		ark_store_sqlite_set_error(self, rc, error);
	sqlite3_finalize(stmt);
	return rc == SQLITE_OK;
}

static ArkStoreSqliteStmtUse *
ark_store_sqlite_stmt(ArkStoreSqlite *self, ArkStoreSqliteStmtId id, GError **error)
{
	if (self->stmts[id] == NULL) {
		int rc = sqlite3_prepare_v3(self->db, ark_store_sqlite_sql[id], -1,
					    SQLITE_PREPARE_PERSISTENT, &self->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			ark_store_sqlite_set_error(self, rc, error);
			g_prefix_error(error, "failed to prepare statement: ");
			return NULL;
		}
	}
	return self->stmts[id];
}

/* steps a statement that returns no rows */
static gboolean
ark_store_sqlite_step_done(ArkStoreSqlite *self, sqlite3_stmt *stmt, GError **error)
{
	int rc;

	errno = 0;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		ark_store_sqlite_set_error(self, rc, error);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ark_store_sqlite_run_stmt(ArkStoreSqlite *self, ArkStoreSqliteStmtId id, GError **error)
{
	g_autoptr(ArkStoreSqliteStmtUse) stmt = ark_store_sqlite_stmt(self, id, error);
	if (stmt == NULL)
		return FALSE;
	return ark_store_sqlite_step_done(self, stmt, error);
}

/*
 * Binding. Strings are bound SQLITE_STATIC: batch strings live until apply() returns and every
 * statement is reset before that. With static text and valid parameter numbers sqlite3_bind_*
 * can not fail, so their results are not checked.
 */
static inline void
ark_store_sqlite_bind_text(sqlite3_stmt *stmt, int index, const gchar *value)
{
	sqlite3_bind_text(stmt, index, value, -1, SQLITE_STATIC);
}

static inline void
ark_store_sqlite_bind_int(sqlite3_stmt *stmt, int index, gint64 value)
{
	sqlite3_bind_int64(stmt, index, value);
}

static void
ark_store_sqlite_bind_run(sqlite3_stmt *stmt, const ArkRunRecord *run)
{
	ark_store_sqlite_bind_text(stmt, 1, run->id);
	ark_store_sqlite_bind_text(stmt, 2, run->workflow_name);
	ark_store_sqlite_bind_int(stmt, 3, run->state);
	ark_store_sqlite_bind_text(stmt, 4, run->policy);
	ark_store_sqlite_bind_text(stmt, 5, run->submitter);
	ark_store_sqlite_bind_text(stmt, 6, run->idempotency_key);
	ark_store_sqlite_bind_text(stmt, 7, run->definition);
	ark_store_sqlite_bind_int(stmt, 8, run->n_tasks);
	ark_store_sqlite_bind_int(stmt, 9, run->created_at);
	ark_store_sqlite_bind_int(stmt, 10, run->started_at);
	ark_store_sqlite_bind_int(stmt, 11, run->finished_at);
	ark_store_sqlite_bind_text(stmt, 12, run->reason);
	ark_store_sqlite_bind_text(stmt, 13, run->cancelled_by);
}

static void
ark_store_sqlite_bind_task(sqlite3_stmt *stmt, const ArkTaskRecord *task)
{
	ark_store_sqlite_bind_text(stmt, 1, task->run_id);
	ark_store_sqlite_bind_text(stmt, 2, task->task_id);
	ark_store_sqlite_bind_int(stmt, 3, task->index);
	ark_store_sqlite_bind_int(stmt, 4, task->state);
	ark_store_sqlite_bind_int(stmt, 5, task->attempts);
	ark_store_sqlite_bind_int(stmt, 6, task->exit_code);
	ark_store_sqlite_bind_int(stmt, 7, task->ready_at);
	ark_store_sqlite_bind_int(stmt, 8, task->started_at);
	ark_store_sqlite_bind_int(stmt, 9, task->finished_at);
	ark_store_sqlite_bind_text(stmt, 10, task->reason);
	ark_store_sqlite_bind_int(stmt, 11, task->next_attempt_at);
	ark_store_sqlite_bind_text(stmt, 12, task->cancelled_by);
	ark_store_sqlite_bind_int(stmt, 13, task->retry_base);
}

static void
ark_store_sqlite_bind_attempt(sqlite3_stmt *stmt, const ArkAttemptRecord *attempt)
{
	ark_store_sqlite_bind_text(stmt, 1, attempt->run_id);
	ark_store_sqlite_bind_text(stmt, 2, attempt->task_id);
	ark_store_sqlite_bind_int(stmt, 3, attempt->number);
	/* tokens above G_MAXINT64 would not sort right; docs/storage.md states the limit */
	ark_store_sqlite_bind_int(stmt, 4, (gint64)attempt->token);
	ark_store_sqlite_bind_int(stmt, 5, attempt->status);
	ark_store_sqlite_bind_text(stmt, 6, attempt->executor);
	ark_store_sqlite_bind_text(stmt, 7, attempt->holder);
	ark_store_sqlite_bind_int(stmt, 8, attempt->started_at);
	ark_store_sqlite_bind_int(stmt, 9, attempt->finished_at);
	ark_store_sqlite_bind_int(stmt, 10, attempt->exit_code);
	ark_store_sqlite_bind_int(stmt, 11, attempt->signal);
	ark_store_sqlite_bind_text(stmt, 12, attempt->error);
	ark_store_sqlite_bind_text(stmt, 13, attempt->log_path);
	ark_store_sqlite_bind_text(stmt, 14, attempt->result);
}

static void
ark_store_sqlite_bind_event(sqlite3_stmt *stmt, const ArkEvent *event)
{
	ark_store_sqlite_bind_int(stmt, 1, (gint64)event->seq);
	ark_store_sqlite_bind_int(stmt, 2, event->time);
	ark_store_sqlite_bind_int(stmt, 3, event->kind);
	ark_store_sqlite_bind_text(stmt, 4, event->run_id);
	ark_store_sqlite_bind_text(stmt, 5, event->task_id);
	ark_store_sqlite_bind_int(stmt, 6, event->attempt);
	ark_store_sqlite_bind_int(stmt, 7, event->state);
	ark_store_sqlite_bind_text(stmt, 8, event->data);
}

static void
ark_store_sqlite_bind_audit(sqlite3_stmt *stmt, const ArkAuditRecord *audit)
{
	ark_store_sqlite_bind_int(stmt, 1, (gint64)audit->seq);
	ark_store_sqlite_bind_int(stmt, 2, audit->time);
	ark_store_sqlite_bind_text(stmt, 3, audit->actor);
	ark_store_sqlite_bind_text(stmt, 4, audit->origin);
	ark_store_sqlite_bind_text(stmt, 5, audit->action);
	ark_store_sqlite_bind_text(stmt, 6, audit->target);
	ark_store_sqlite_bind_text(stmt, 7, audit->result);
	ark_store_sqlite_bind_text(stmt, 8, audit->request_id);
	ark_store_sqlite_bind_text(stmt, 9, audit->detail);
	ark_store_sqlite_bind_text(stmt, 10, audit->prev_hash);
	ark_store_sqlite_bind_text(stmt, 11, audit->hash);
}

static void
ark_store_sqlite_bind_estimate(sqlite3_stmt *stmt, const ArkEstimateRecord *estimate)
{
	ark_store_sqlite_bind_text(stmt, 1, estimate->workflow_name);
	ark_store_sqlite_bind_text(stmt, 2, estimate->task_id);
	ark_store_sqlite_bind_int(stmt, 3, estimate->estimate);
	ark_store_sqlite_bind_int(stmt, 4, estimate->samples);
	ark_store_sqlite_bind_int(stmt, 5, estimate->updated_at);
}

static void
ark_store_sqlite_bind_object(sqlite3_stmt *stmt, const ArkObjectRecord *object)
{
	ark_store_sqlite_bind_text(stmt, 1, object->kind);
	ark_store_sqlite_bind_text(stmt, 2, object->key);
	ark_store_sqlite_bind_text(stmt, 3, object->value);
	ark_store_sqlite_bind_int(stmt, 4, object->updated_at);
}

static inline gchar *
ark_store_sqlite_column_dup(sqlite3_stmt *stmt, int column)
{
	/* NULL for SQL NULL, which is how optional strings are stored */
	return g_strdup((const gchar *)sqlite3_column_text(stmt, column));
}

static ArkRunRecord *
ark_store_sqlite_run_from_row(sqlite3_stmt *stmt)
{
	ArkRunRecord *run = g_new0(ArkRunRecord, 1);
	run->id = ark_store_sqlite_column_dup(stmt, 0);
	run->workflow_name = ark_store_sqlite_column_dup(stmt, 1);
	run->state = sqlite3_column_int(stmt, 2);
	run->policy = ark_store_sqlite_column_dup(stmt, 3);
	run->submitter = ark_store_sqlite_column_dup(stmt, 4);
	run->idempotency_key = ark_store_sqlite_column_dup(stmt, 5);
	run->definition = ark_store_sqlite_column_dup(stmt, 6);
	run->n_tasks = (guint)sqlite3_column_int64(stmt, 7);
	run->created_at = sqlite3_column_int64(stmt, 8);
	run->started_at = sqlite3_column_int64(stmt, 9);
	run->finished_at = sqlite3_column_int64(stmt, 10);
	run->reason = ark_store_sqlite_column_dup(stmt, 11);
	run->cancelled_by = ark_store_sqlite_column_dup(stmt, 12);
	return run;
}

static ArkTaskRecord *
ark_store_sqlite_task_from_row(sqlite3_stmt *stmt)
{
	ArkTaskRecord *task = g_new0(ArkTaskRecord, 1);
	task->run_id = ark_store_sqlite_column_dup(stmt, 0);
	task->task_id = ark_store_sqlite_column_dup(stmt, 1);
	task->index = (guint)sqlite3_column_int64(stmt, 2);
	task->state = sqlite3_column_int(stmt, 3);
	task->attempts = (guint)sqlite3_column_int64(stmt, 4);
	task->exit_code = sqlite3_column_int(stmt, 5);
	task->ready_at = sqlite3_column_int64(stmt, 6);
	task->started_at = sqlite3_column_int64(stmt, 7);
	task->finished_at = sqlite3_column_int64(stmt, 8);
	task->reason = ark_store_sqlite_column_dup(stmt, 9);
	task->next_attempt_at = sqlite3_column_int64(stmt, 10);
	task->cancelled_by = ark_store_sqlite_column_dup(stmt, 11);
	task->retry_base = (guint)sqlite3_column_int64(stmt, 12);
	return task;
}

static ArkAttemptRecord *
ark_store_sqlite_attempt_from_row(sqlite3_stmt *stmt)
{
	ArkAttemptRecord *attempt = g_new0(ArkAttemptRecord, 1);
	attempt->run_id = ark_store_sqlite_column_dup(stmt, 0);
	attempt->task_id = ark_store_sqlite_column_dup(stmt, 1);
	attempt->number = (guint)sqlite3_column_int64(stmt, 2);
	attempt->token = (guint64)sqlite3_column_int64(stmt, 3);
	attempt->status = sqlite3_column_int(stmt, 4);
	attempt->executor = ark_store_sqlite_column_dup(stmt, 5);
	attempt->holder = ark_store_sqlite_column_dup(stmt, 6);
	attempt->started_at = sqlite3_column_int64(stmt, 7);
	attempt->finished_at = sqlite3_column_int64(stmt, 8);
	attempt->exit_code = sqlite3_column_int(stmt, 9);
	attempt->signal = sqlite3_column_int(stmt, 10);
	attempt->error = ark_store_sqlite_column_dup(stmt, 11);
	attempt->log_path = ark_store_sqlite_column_dup(stmt, 12);
	attempt->result = ark_store_sqlite_column_dup(stmt, 13);
	return attempt;
}

static ArkEvent *
ark_store_sqlite_event_from_row(sqlite3_stmt *stmt)
{
	ArkEvent *event = g_new0(ArkEvent, 1);
	event->seq = (guint64)sqlite3_column_int64(stmt, 0);
	event->time = sqlite3_column_int64(stmt, 1);
	event->kind = sqlite3_column_int(stmt, 2);
	event->run_id = ark_store_sqlite_column_dup(stmt, 3);
	event->task_id = ark_store_sqlite_column_dup(stmt, 4);
	event->attempt = (guint)sqlite3_column_int64(stmt, 5);
	event->state = sqlite3_column_int(stmt, 6);
	event->data = ark_store_sqlite_column_dup(stmt, 7);
	return event;
}

/* as stored, whatever that is: verification must see a tampered row as it is */
static ArkAuditRecord *
ark_store_sqlite_audit_from_row(sqlite3_stmt *stmt)
{
	ArkAuditRecord *audit = g_new0(ArkAuditRecord, 1);
	audit->seq = (guint64)sqlite3_column_int64(stmt, 0);
	audit->time = sqlite3_column_int64(stmt, 1);
	audit->actor = ark_store_sqlite_column_dup(stmt, 2);
	audit->origin = ark_store_sqlite_column_dup(stmt, 3);
	audit->action = ark_store_sqlite_column_dup(stmt, 4);
	audit->target = ark_store_sqlite_column_dup(stmt, 5);
	audit->result = ark_store_sqlite_column_dup(stmt, 6);
	audit->request_id = ark_store_sqlite_column_dup(stmt, 7);
	audit->detail = ark_store_sqlite_column_dup(stmt, 8);
	audit->prev_hash = ark_store_sqlite_column_dup(stmt, 9);
	audit->hash = ark_store_sqlite_column_dup(stmt, 10);
	return audit;
}

static ArkEstimateRecord *
ark_store_sqlite_estimate_from_row(sqlite3_stmt *stmt)
{
	ArkEstimateRecord *estimate = g_new0(ArkEstimateRecord, 1);
	estimate->workflow_name = ark_store_sqlite_column_dup(stmt, 0);
	estimate->task_id = ark_store_sqlite_column_dup(stmt, 1);
	estimate->estimate = sqlite3_column_int64(stmt, 2);
	estimate->samples = (guint)sqlite3_column_int64(stmt, 3);
	estimate->updated_at = sqlite3_column_int64(stmt, 4);
	return estimate;
}

static ArkObjectRecord *
ark_store_sqlite_object_from_row(sqlite3_stmt *stmt)
{
	ArkObjectRecord *object = g_new0(ArkObjectRecord, 1);
	object->kind = ark_store_sqlite_column_dup(stmt, 0);
	object->key = ark_store_sqlite_column_dup(stmt, 1);
	object->value = ark_store_sqlite_column_dup(stmt, 2);
	object->updated_at = sqlite3_column_int64(stmt, 3);
	return object;
}

typedef gpointer (*ArkStoreSqliteRowFunc)(sqlite3_stmt *stmt);

/* every row of a bound statement, converted by @from_row */
static GPtrArray *
ark_store_sqlite_collect(ArkStoreSqlite *self, sqlite3_stmt *stmt, ArkStoreSqliteRowFunc from_row,
			 GDestroyNotify free_func, GError **error)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(free_func);
	int rc;

	errno = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		g_ptr_array_add(rows, from_row(stmt));
	if (rc != SQLITE_DONE) {
		ark_store_sqlite_set_error(self, rc, error);
		return NULL;
	}
	return g_steal_pointer(&rows);
}

static gboolean
ark_store_sqlite_check_durability(const gchar *name, ArkStoreSqliteDurability *out_durability,
				  GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_store_sqlite_durability_names); i++) {
		if (g_strcmp0(name, ark_store_sqlite_durability_names[i]) == 0) {
			*out_durability = (ArkStoreSqliteDurability)i;
			return TRUE;
		}
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "unknown durability \"%s\" (expected full, normal or off)",
		    name != NULL ? name : "(null)");
	return FALSE;
}

static gboolean
ark_store_sqlite_apply_durability(ArkStoreSqlite *self, GError **error)
{
	/* WAL with FULL syncs the WAL on every commit; NORMAL only at checkpoints (an application
	 * crash loses nothing, a power cut may lose the last commits); OFF never syncs */
	static const gchar *const pragmas[] = {
	    [ARK_STORE_SQLITE_DURABILITY_FULL] = "PRAGMA synchronous = FULL",
	    [ARK_STORE_SQLITE_DURABILITY_NORMAL] = "PRAGMA synchronous = NORMAL",
	    [ARK_STORE_SQLITE_DURABILITY_OFF] = "PRAGMA synchronous = OFF",
	};
	ArkStoreSqliteDurability durability;

	if (!ark_store_sqlite_check_durability(self->durability, &durability, error))
		return FALSE;
	return ark_store_sqlite_exec(self, pragmas[durability], error);
}

/*
 * Whether the file is ours and of a version this build can use. Reads page 1 only, so it runs
 * before anything writes (switching to WAL rewrites the header): a refused file is left byte for
 * byte as it was.
 */
static gboolean
ark_store_sqlite_check_identity(ArkStoreSqlite *self, gint64 *out_version, GError **error)
{
	gint64 version = 0;
	gint64 application_id = 0;
	gint64 n_objects = 0;

	if (!ark_store_sqlite_query_int(self, "PRAGMA user_version", &version, error) ||
	    !ark_store_sqlite_query_int(self, "PRAGMA application_id", &application_id, error) ||
	    !ark_store_sqlite_query_int(self, "SELECT count(*) FROM sqlite_schema", &n_objects,
					error))
		return FALSE;

	/* refuse rather than add our tables to someone else's database */
	if ((application_id != 0 && application_id != ARK_STORE_SQLITE_APPLICATION_ID) ||
	    (application_id == 0 && n_objects > 0)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "not an Arkitect database (application_id 0x%08" G_GINT64_MODIFIER
			    "x, %" G_GINT64_FORMAT " schema objects); it was left as it is",
			    application_id, n_objects);
		return FALSE;
	}
	if (version > ARK_STORE_SQLITE_SCHEMA_VERSION) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "the database has schema version %" G_GINT64_FORMAT
			    ", written by a newer Arkitect; this one supports up to version "
			    "%" G_GINT64_FORMAT,
			    version, ARK_STORE_SQLITE_SCHEMA_VERSION);
		return FALSE;
	}
	if (version < 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "the database has an invalid schema version %" G_GINT64_FORMAT,
			    version);
		return FALSE;
	}
	*out_version = version;
	return TRUE;
}

/* brings the schema to ARK_STORE_SQLITE_SCHEMA_VERSION, all steps in one transaction */
static gboolean
ark_store_sqlite_migrate(ArkStoreSqlite *self, GError **error)
{
	gint64 version = 0;

	if (!ark_store_sqlite_exec(self, "BEGIN IMMEDIATE", error))
		return FALSE;
	/* again under the write lock: what is migrated is what was checked */
	if (!ark_store_sqlite_check_identity(self, &version, error)) {
		sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	for (gint64 v = version; v < ARK_STORE_SQLITE_SCHEMA_VERSION; v++) {
		g_autofree gchar *set_version =
		    g_strdup_printf("PRAGMA user_version = %" G_GINT64_FORMAT, v + 1);
		if (!ark_store_sqlite_exec(self, ark_store_sqlite_migrations[v], error) ||
		    !ark_store_sqlite_exec(self, set_version, error)) {
			sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
			g_prefix_error(error, "failed to migrate the schema from version %"
				       G_GINT64_FORMAT " to %" G_GINT64_FORMAT
				       " (the database was left at version %" G_GINT64_FORMAT "): ",
				       v, v + 1, version);
			return FALSE;
		}
	}
	if (version == 0) {
		g_autofree gchar *set_id = g_strdup_printf("PRAGMA application_id = %d",
							   ARK_STORE_SQLITE_APPLICATION_ID);
		if (!ark_store_sqlite_exec(self, set_id, error)) {
			sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
			return FALSE;
		}
	}
	if (!ark_store_sqlite_exec(self, "COMMIT", error)) {
		sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	if (version < ARK_STORE_SQLITE_SCHEMA_VERSION)
		g_debug("%s: schema migrated from version %" G_GINT64_FORMAT " to %"
			G_GINT64_FORMAT, self->path, version, ARK_STORE_SQLITE_SCHEMA_VERSION);
	return TRUE;
}

static gboolean
ark_store_sqlite_check_directory(const gchar *location, GError **error)
{
	GStatBuf st;

	if (g_stat(location, &st) != 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s: %s", location,
			    g_strerror(saved_errno));
		return FALSE;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s: not a directory", location);
		return FALSE;
	}
	/* SQLite also needs to create the -wal and -shm files next to the database */
	if (access(location, W_OK | X_OK) != 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s: directory not writable: %s",
			    location, g_strerror(saved_errno));
		return FALSE;
	}
	return TRUE;
}

/* who holds the lock, from what it wrote into the lock file: "process 1234 (arkitect)" */
static gchar *
ark_store_sqlite_lock_holder(int fd)
{
	gchar buf[128];
	gchar *end = NULL;
	gchar *name;
	guint64 pid;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	/* empty: the holder is between taking the lock and writing its name */
	if (n <= 0)
		return g_strdup("another process");
	buf[n] = '\0';
	pid = g_ascii_strtoull(buf, &end, 10);
	if (end == buf || pid == 0 || pid > G_MAXINT || (*end != ' ' && *end != '\n'))
		return g_strdup("another process");
	name = g_strstrip(end);
	for (gchar *c = name; *c != '\0'; c++) {
		if (!g_ascii_isprint(*c))
			*c = '?';
	}
	if (*name == '\0')
		return g_strdup_printf("process %" G_GUINT64_FORMAT, pid);
	return g_strdup_printf("process %" G_GUINT64_FORMAT " (%s)", pid, name);
}

/* the command name ps shows for this process */
static gchar *
ark_store_sqlite_command_name(void)
{
	gchar *comm = NULL;

	if (g_file_get_contents("/proc/self/comm", &comm, NULL, NULL))
		return g_strstrip(comm);
	return g_path_get_basename(g_get_prgname() != NULL ? g_get_prgname() : "unknown");
}

/*
 * One process per state directory: the engine assumes it owns the runs it recovers, and two
 * writers would each fence the other's attempts. flock() rather than fcntl() locks: a flock()
 * belongs to the open file description, so a second open() in the same process is refused too,
 * and it is released when the descriptor is closed or the process dies, whatever killed it.
 */
static gboolean
ark_store_sqlite_lock(ArkStoreSqlite *self, const gchar *location, GError **error)
{
	g_autofree gchar *path = g_build_filename(location, ARK_STORE_SQLITE_LOCK_FILE_NAME, NULL);
	g_autofree gchar *comm = NULL;
	g_autofree gchar *holder = NULL;
	gsize length;
	int fd;

	/* close-on-exec: a task process must not inherit the lock and keep the directory busy
	 * after the daemon is gone */
	fd = g_open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "failed to open %s: %s", path,
			    g_strerror(saved_errno));
		return FALSE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved_errno = errno;
		if (saved_errno == EWOULDBLOCK) {
			g_autofree gchar *who = ark_store_sqlite_lock_holder(fd);
			g_set_error(error, ARK_ERROR, ARK_ERROR_BUSY,
				    "the state directory %s is in use by %s", location, who);
		} else {
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "failed to lock %s: %s",
				    path, g_strerror(saved_errno));
		}
		close(fd);
		return FALSE;
	}
	/* for the error message of the next opener; the lock works without it */
	comm = ark_store_sqlite_command_name();
	holder = g_strdup_printf("%d %s\n", (gint)getpid(), comm);
	length = strlen(holder);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, holder, length, 0) != (gssize)length)
		g_debug("%s: could not record the holder: %s", path, g_strerror(errno));
	self->lock_fd = fd;
	return TRUE;
}

static void
ark_store_sqlite_release(ArkStoreSqlite *self)
{
	for (guint i = 0; i < STMT_LAST; i++)
		g_clear_pointer(&self->stmts[i], sqlite3_finalize);
	if (self->queries != NULL)
		g_hash_table_remove_all(self->queries);
	g_clear_pointer(&self->db, sqlite3_close_v2);
	/* last: the next holder finds the database closed */
	if (self->lock_fd >= 0) {
		close(self->lock_fd);
		self->lock_fd = -1;
	}
}

static gboolean
ark_store_sqlite_open_db(ArkStoreSqlite *self, GError **error)
{
	g_autofree gchar *journal_mode = NULL;
	gint64 version = 0;
	gint64 last = 0;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
		    SQLITE_OPEN_EXRESCODE;
	int rc;

	if (self->read_only)
		flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	rc = sqlite3_open_v2(self->path, &self->db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (self->db != NULL)
			ark_store_sqlite_set_error(self, rc, error);
		else
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s", sqlite3_errstr(rc));
		return FALSE;
	}
	if (!self->read_only && sqlite3_db_readonly(self->db, "main") == 1) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_STORAGE,
				    "the database file is read-only");
		return FALSE;
	}
	sqlite3_busy_timeout(self->db, ARK_STORE_SQLITE_BUSY_TIMEOUT_MS);
	if (self->read_only) {
		g_autoptr(GError) local_error = NULL;
		/* the owner may be writing: read its committed state through WAL, change nothing */
		if (!ark_store_sqlite_check_identity(self, &version, &local_error)) {
			/* a hot rollback journal only exists while a store is first created (it is in
			 * WAL mode from then on): a writer died creating it, nothing was committed */
			if ((self->last_rc & 0xff) == SQLITE_READONLY) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
					    "the store in %s was never completely created",
					    self->path);
				return FALSE;
			}
			g_propagate_error(error, g_steal_pointer(&local_error));
			return FALSE;
		}
		if (version == 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "the store in %s was never completely created", self->path);
			return FALSE;
		}
		if (version < ARK_STORE_SQLITE_SCHEMA_VERSION) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
				    "the database has schema version %" G_GINT64_FORMAT
				    " and is read here without being migrated; open it for "
				    "writing once (e.g. with arkitect run) to migrate it",
				    version);
			return FALSE;
		}
		if (!ark_store_sqlite_exec(self, "PRAGMA query_only = ON", error))
			return FALSE;
		goto counters;
	}

	/* the first statements read the file: a garbage or truncated file fails here, and a
	 * foreign or newer database is refused before anything is written to it */
	if (!ark_store_sqlite_check_identity(self, &version, error))
		return FALSE;
	if (!ark_store_sqlite_query_text(self, "PRAGMA journal_mode = WAL", &journal_mode, error))
		return FALSE;
	if (g_ascii_strcasecmp(journal_mode, "wal") != 0) {
		/* e.g. a file system without shared memory: never fall back to the slow journal */
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "could not switch to WAL mode (journal mode is %s)", journal_mode);
		return FALSE;
	}

	if (!ark_store_sqlite_apply_durability(self, error))
		return FALSE;
	if (!ark_store_sqlite_exec(self,
				   "PRAGMA foreign_keys = ON;"
				   "PRAGMA temp_store = MEMORY;"
				   /* 16 MiB of page cache: the hot indexes stay in memory */
				   "PRAGMA cache_size = -16384;"
				   /* truncate a WAL that grew during a burst back to 64 MiB */
				   "PRAGMA journal_size_limit = 67108864;",
				   error))
		return FALSE;
	if (!ark_store_sqlite_migrate(self, error))
		return FALSE;

counters:
	if (!ark_store_sqlite_query_int(self, "SELECT max(seq) FROM events", &last, error))
		return FALSE;
	self->last_event_seq = (guint64)last;
	if (!ark_store_sqlite_query_int(self, "SELECT max(token) FROM attempts", &last, error))
		return FALSE;
	self->last_attempt_token = (guint64)last;
	if (!ark_store_sqlite_query_int(self, "SELECT max(seq) FROM audit", &last, error))
		return FALSE;
	self->last_audit_seq = (guint64)last;
	return TRUE;
}

static gboolean
ark_store_sqlite_open(ArkStore *store, const gchar *location, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	ArkStoreSqliteDurability durability;
	g_autoptr(GError) local_error = NULL;
	int rc;

	g_return_val_if_fail(self->db == NULL, FALSE);

	if (location == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the sqlite store needs a state directory");
		return FALSE;
	}
	if (!ark_store_sqlite_check_durability(self->durability, &durability, error) ||
	    !ark_store_sqlite_check_directory(location, error)) {
		g_prefix_error(error, "failed to open the sqlite store: ");
		return FALSE;
	}
	g_free(self->path);
	self->path = g_build_filename(location, ARK_STORE_SQLITE_FILE_NAME, NULL);
	if (self->read_only && !g_file_test(self->path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "there is no store in %s yet",
			    location);
		return FALSE;
	}
	/* before SQLite touches the database: a second writer never even reads it */
	if (!self->read_only && !ark_store_sqlite_lock(self, location, error))
		return FALSE;

	self->last_rc = SQLITE_OK;
	if (!ark_store_sqlite_open_db(self, &local_error)) {
		rc = self->last_rc & 0xff;
		ark_store_sqlite_release(self);
		if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
				    "failed to open %s: %s; the file was left as it is: restore it "
				    "from a backup, or move it away to start with an empty store",
				    self->path, local_error->message);
			return FALSE;
		}
		g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
					   "failed to open %s: ", self->path);
		return FALSE;
	}
	g_debug("opened %s (durability %s, last event %" G_GUINT64_FORMAT ")", self->path,
		self->durability, self->last_event_seq);
	return TRUE;
}

static void
ark_store_sqlite_close(ArkStore *store)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);

	if (self->db == NULL)
		return;
	/* cheap, and keeps the planner's statistics fresh for the next start */
	sqlite3_exec(self->db, "PRAGMA optimize", NULL, NULL, NULL);
	ark_store_sqlite_release(self);
}

/* what an operation was doing, for its error message (only built on failure) */
static gchar *
ark_store_sqlite_describe_op(const ArkStoreOp *op)
{
	gboolean insert = op->kind == ARK_STORE_OP_RUN_INSERT ||
			  op->kind == ARK_STORE_OP_TASK_INSERT ||
			  op->kind == ARK_STORE_OP_ATTEMPT_INSERT;
	const gchar *verb = insert ? "insert" : "update";

	switch (op->kind) {
	case ARK_STORE_OP_RUN_INSERT:
	case ARK_STORE_OP_RUN_UPDATE:
		return g_strdup_printf("%s run %s", verb, op->run.id);
	case ARK_STORE_OP_TASK_INSERT:
	case ARK_STORE_OP_TASK_UPDATE:
		return g_strdup_printf("%s task %s of run %s", verb, op->task.task_id,
				       op->task.run_id);
	case ARK_STORE_OP_ATTEMPT_INSERT:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		return g_strdup_printf("%s attempt %u of task %s of run %s", verb,
				       op->attempt.number, op->attempt.task_id,
				       op->attempt.run_id);
	case ARK_STORE_OP_EVENT:
		return g_strdup_printf("append event %" G_GUINT64_FORMAT, op->event.seq);
	case ARK_STORE_OP_AUDIT:
		return g_strdup_printf("append audit record %" G_GUINT64_FORMAT, op->audit.seq);
	case ARK_STORE_OP_ESTIMATE:
		return g_strdup_printf("record the estimate of task %s of workflow %s",
				       op->estimate.task_id, op->estimate.workflow_name);
	case ARK_STORE_OP_OBJECT_PUT:
		return g_strdup_printf("put object %s/%s", op->object.kind, op->object.key);
	case ARK_STORE_OP_OBJECT_DELETE:
		return g_strdup_printf("delete object %s/%s", op->object.kind, op->object.key);
	default:
		return g_strdup_printf("apply operation %d", (gint)op->kind);
	}
}

/* the statement for @op with its values bound, or NULL with @error set */
static ArkStoreSqliteStmtUse *
ark_store_sqlite_bind_op(ArkStoreSqlite *self, const ArkStoreOp *op, GError **error)
{
	sqlite3_stmt *stmt = NULL;
	if (!ark_store_op_check(op, error))
		return NULL;

	switch (op->kind) {
	case ARK_STORE_OP_RUN_INSERT:
	case ARK_STORE_OP_RUN_UPDATE:
		stmt = ark_store_sqlite_stmt(
		    self, op->kind == ARK_STORE_OP_RUN_INSERT ? STMT_RUN_INSERT : STMT_RUN_UPDATE,
		    error);
		if (stmt != NULL)
			ark_store_sqlite_bind_run(stmt, &op->run);
		break;
	case ARK_STORE_OP_TASK_INSERT:
	case ARK_STORE_OP_TASK_UPDATE:
		stmt = ark_store_sqlite_stmt(self,
					     op->kind == ARK_STORE_OP_TASK_INSERT ? STMT_TASK_INSERT
										  : STMT_TASK_UPDATE,
					     error);
		if (stmt != NULL)
			ark_store_sqlite_bind_task(stmt, &op->task);
		break;
	case ARK_STORE_OP_ATTEMPT_INSERT:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		stmt = ark_store_sqlite_stmt(self,
					     op->kind == ARK_STORE_OP_ATTEMPT_INSERT
						 ? STMT_ATTEMPT_INSERT
						 : STMT_ATTEMPT_UPDATE,
					     error);
		if (stmt != NULL)
			ark_store_sqlite_bind_attempt(stmt, &op->attempt);
		break;
	case ARK_STORE_OP_AUDIT:
		stmt = ark_store_sqlite_stmt(self, STMT_AUDIT_INSERT, error);
		if (stmt != NULL)
			ark_store_sqlite_bind_audit(stmt, &op->audit);
		break;
	case ARK_STORE_OP_ESTIMATE:
		stmt = ark_store_sqlite_stmt(self, STMT_ESTIMATE_PUT, error);
		if (stmt != NULL)
			ark_store_sqlite_bind_estimate(stmt, &op->estimate);
		break;
	case ARK_STORE_OP_OBJECT_PUT:
	case ARK_STORE_OP_OBJECT_DELETE:
		stmt = ark_store_sqlite_stmt(self,
					     op->kind == ARK_STORE_OP_OBJECT_PUT ? STMT_OBJECT_PUT
										 : STMT_OBJECT_DELETE,
					     error);
		if (stmt != NULL)
			ark_store_sqlite_bind_object(stmt, &op->object);
		break;
	default:
		stmt = ark_store_sqlite_stmt(self, STMT_EVENT_INSERT, error);
		if (stmt != NULL)
			ark_store_sqlite_bind_event(stmt, &op->event);
		break;
	}
	return stmt;
}

/* the counters an apply() moves, committed only with its transaction */
typedef struct {
	guint64 event_seq;
	guint64 attempt_token;
	guint64 audit_seq;
} ArkStoreSqliteLast;

static gboolean
ark_store_sqlite_apply_op(ArkStoreSqlite *self, const ArkStoreOp *op, ArkStoreSqliteLast *last,
			  GError **error)
{
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;

	/* readers page with read_events(after_seq): a seq that went backwards would be skipped by
	 * every reader already past it */
	if (op->kind == ARK_STORE_OP_EVENT && op->event.seq <= last->event_seq) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "sequence %" G_GUINT64_FORMAT " is not after %" G_GUINT64_FORMAT,
			    op->event.seq, last->event_seq);
		return FALSE;
	}
	/* the audit chain is verified by position: no gaps, no going back */
	if (op->kind == ARK_STORE_OP_AUDIT && op->audit.seq != last->audit_seq + 1) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "audit record %" G_GUINT64_FORMAT " does not follow %" G_GUINT64_FORMAT,
			    op->audit.seq, last->audit_seq);
		return FALSE;
	}
	stmt = ark_store_sqlite_bind_op(self, op, error);
	if (stmt == NULL || !ark_store_sqlite_step_done(self, stmt, error))
		return FALSE;
	switch (op->kind) {
	case ARK_STORE_OP_RUN_UPDATE:
	case ARK_STORE_OP_TASK_UPDATE:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		if (sqlite3_changes(self->db) == 0) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
					    "no such record");
			return FALSE;
		}
		break;
	case ARK_STORE_OP_ATTEMPT_INSERT:
		last->attempt_token = MAX(last->attempt_token, op->attempt.token);
		break;
	case ARK_STORE_OP_EVENT:
		last->event_seq = op->event.seq;
		break;
	case ARK_STORE_OP_AUDIT:
		last->audit_seq = op->audit.seq;
		break;
	default:
		break;
	}
	return TRUE;
}

static gboolean
ark_store_sqlite_apply(ArkStore *store, ArkStoreBatch *batch, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	guint n_ops = ark_store_batch_get_length(batch);
	ArkStoreSqliteLast last = {self->last_event_seq, self->last_attempt_token,
				   self->last_audit_seq};

	g_return_val_if_fail(self->db != NULL, FALSE);

	if (n_ops == 0)
		return TRUE;
	if (self->read_only) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
			    "%s is open read-only", self->path);
		return FALSE;
	}
	if (!ark_store_sqlite_run_stmt(self, STMT_BEGIN, error)) {
		g_prefix_error(error, "failed to begin a transaction: ");
		return FALSE;
	}
	for (guint i = 0; i < n_ops; i++) {
		const ArkStoreOp *op = ark_store_batch_get_op(batch, i);
		if (!ark_store_sqlite_apply_op(self, op, &last, error)) {
			g_autofree gchar *what = ark_store_sqlite_describe_op(op);
			g_prefix_error(error, "failed to %s (operation %u of %u): ", what, i + 1,
				       n_ops);
			/* a failed ROLLBACK leaves nothing to do: SQLite rolls back on its own
			 * when it can not (and reports SQLITE_ERROR "no transaction active") */
			ark_store_sqlite_run_stmt(self, STMT_ROLLBACK, NULL);
			return FALSE;
		}
	}
	if (!ark_store_sqlite_run_stmt(self, STMT_COMMIT, error)) {
		if (!sqlite3_get_autocommit(self->db))
			ark_store_sqlite_run_stmt(self, STMT_ROLLBACK, NULL);
		g_prefix_error(error, "failed to commit: ");
		return FALSE;
	}
	self->last_event_seq = last.event_seq;
	self->last_attempt_token = last.attempt_token;
	self->last_audit_seq = last.audit_seq;
	return TRUE;
}

static guint64
ark_store_sqlite_get_last_event_seq(ArkStore *store)
{
	return ARK_STORE_SQLITE(store)->last_event_seq;
}

static guint64
ark_store_sqlite_get_last_attempt_token(ArkStore *store)
{
	return ARK_STORE_SQLITE(store)->last_attempt_token;
}

static ArkRunRecord *
ark_store_sqlite_get_run_by(ArkStoreSqlite *self, ArkStoreSqliteStmtId id, const gchar *what,
			    const gchar *value, GError **error)
{
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	int rc;

	g_return_val_if_fail(self->db != NULL, NULL);
	g_return_val_if_fail(value != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, id, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_text(stmt, 1, value);
	errno = 0;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return ark_store_sqlite_run_from_row(stmt);
	if (rc == SQLITE_DONE) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no run with %s %s", what,
			    value);
		return NULL;
	}
	ark_store_sqlite_set_error(self, rc, error);
	g_prefix_error(error, "failed to read run %s: ", value);
	return NULL;
}

static ArkRunRecord *
ark_store_sqlite_get_run(ArkStore *store, const gchar *run_id, GError **error)
{
	return ark_store_sqlite_get_run_by(ARK_STORE_SQLITE(store), STMT_RUN_GET, "id", run_id,
					   error);
}

static ArkRunRecord *
ark_store_sqlite_get_run_summary(ArkStore *store, const gchar *run_id, GError **error)
{
	return ark_store_sqlite_get_run_by(ARK_STORE_SQLITE(store), STMT_RUN_SUMMARY_GET, "id",
					   run_id, error);
}

static ArkRunRecord *
ark_store_sqlite_find_run_by_idempotency_key(ArkStore *store, const gchar *key, GError **error)
{
	return ark_store_sqlite_get_run_by(ARK_STORE_SQLITE(store), STMT_RUN_BY_KEY,
					   "idempotency key", key, error);
}

/* the prepared statement for @sql (which it takes), from the cache of dynamic queries; a full
 * cache prepares a statement the caller finalizes (*out_cached FALSE) */
static sqlite3_stmt *
ark_store_sqlite_cached_query(ArkStoreSqlite *self, GString *sql, gboolean *out_cached,
			      GError **error)
{
	g_autoptr(GString) owned = sql;
	sqlite3_stmt *stmt = g_hash_table_lookup(self->queries, sql->str);
	int rc;

	if (stmt != NULL) {
		*out_cached = TRUE;
		return stmt;
	}
	*out_cached = g_hash_table_size(self->queries) < ARK_STORE_SQLITE_MAX_CACHED_QUERIES;
	rc = sqlite3_prepare_v3(self->db, sql->str, -1,
				*out_cached ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL);
	if (rc != SQLITE_OK) {
		ark_store_sqlite_set_error(self, rc, error);
		return NULL;
	}
	if (*out_cached)
		g_hash_table_insert(self->queries, g_string_free(g_steal_pointer(&owned), FALSE),
				    stmt);
	return stmt;
}

/* "state IN (...)" for the states of @mask, or nothing when it selects every one of @n_states */
static gboolean
ark_store_sqlite_append_states(GString *sql, const gchar *glue, guint mask, guint n_states)
{
	guint all_states = (1u << n_states) - 1;
	const gchar *sep = "";

	if (mask == 0 || (mask & all_states) == all_states)
		return FALSE;
	/* literal numbers, not parameters: they are ours and few masks are ever used. One state
	 * is written "state = N", the form SQLite matches against a partial index (tasks_dead) */
	if ((mask & (mask - 1)) == 0) {
		g_string_append_printf(sql, "%sstate = %u", glue, (guint)g_bit_nth_lsf(mask, -1));
		return TRUE;
	}
	g_string_append_printf(sql, "%sstate IN (", glue);
	for (guint state = 0; state < 32; state++) {
		if (mask & (1u << state)) {
			g_string_append_printf(sql, "%s%u", sep, state);
			sep = ", ";
		}
	}
	g_string_append(sql, ")");
	return TRUE;
}

/* the statement for one shape of filter; only the conditions in use appear, so that SQLite can
 * pick the state or workflow index */
static sqlite3_stmt *
ark_store_sqlite_runs_query(ArkStoreSqlite *self, const ArkRunFilter *filter,
			    gboolean *out_cached, GError **error)
{
	GString *sql = g_string_new("SELECT " RUN_COLUMNS " FROM runs");
	const gchar *glue = " WHERE ";

	if (ark_store_sqlite_append_states(sql, glue, filter->state_mask, ARK_RUN_STATE_LAST))
		glue = " AND ";
	if (filter->workflow_name != NULL) {
		g_string_append_printf(sql, "%sworkflow_name = :workflow", glue);
		glue = " AND ";
	}
	if (filter->after != NULL)
		g_string_append_printf(sql, "%sid %s :after", glue,
				       filter->newest_first ? "<" : ">");
	g_string_append(sql, filter->newest_first ? " ORDER BY id DESC" : " ORDER BY id");
	if (filter->limit > 0)
		g_string_append(sql, " LIMIT :limit");
	return ark_store_sqlite_cached_query(self, sql, out_cached, error);
}

/* collects the rows of a statement from ark_store_sqlite_cached_query() and releases it */
static GPtrArray *
ark_store_sqlite_collect_query(ArkStoreSqlite *self, sqlite3_stmt *stmt, gboolean cached,
			       ArkStoreSqliteRowFunc from_row, GDestroyNotify free_func,
			       GError **error)
{
	GPtrArray *rows = ark_store_sqlite_collect(self, stmt, from_row, free_func, error);
	if (cached)
		ark_store_sqlite_stmt_use_done(stmt);
	else
		sqlite3_finalize(stmt);
	return rows;
}

static GPtrArray *
ark_store_sqlite_list_runs(ArkStore *store, const ArkRunFilter *filter, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	ArkRunFilter all = {0};
	GPtrArray *runs;
	sqlite3_stmt *stmt;
	gboolean cached = FALSE;
	int index;

	g_return_val_if_fail(self->db != NULL, NULL);

	if (filter == NULL)
		filter = &all;
	stmt = ark_store_sqlite_runs_query(self, filter, &cached, error);
	if (stmt == NULL) {
		g_prefix_error(error, "failed to list runs: ");
		return NULL;
	}
	if ((index = sqlite3_bind_parameter_index(stmt, ":workflow")) > 0)
		ark_store_sqlite_bind_text(stmt, index, filter->workflow_name);
	if ((index = sqlite3_bind_parameter_index(stmt, ":after")) > 0)
		ark_store_sqlite_bind_text(stmt, index, filter->after);
	if ((index = sqlite3_bind_parameter_index(stmt, ":limit")) > 0)
		ark_store_sqlite_bind_int(stmt, index, filter->limit);

	runs = ark_store_sqlite_collect_query(self, stmt, cached,
					      (ArkStoreSqliteRowFunc)ark_store_sqlite_run_from_row,
					      (GDestroyNotify)ark_run_record_free, error);
	if (runs == NULL)
		g_prefix_error(error, "failed to list runs: ");
	return runs;
}

static gint
ark_store_sqlite_task_index_cmp(gconstpointer a, gconstpointer b)
{
	const ArkTaskRecord *ta = *(ArkTaskRecord *const *)a;
	const ArkTaskRecord *tb = *(ArkTaskRecord *const *)b;
	return ta->index < tb->index ? -1 : ta->index > tb->index ? 1 : 0;
}

static GPtrArray *
ark_store_sqlite_list_tasks(ArkStore *store, const gchar *run_id, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	GPtrArray *tasks;

	g_return_val_if_fail(self->db != NULL, NULL);
	g_return_val_if_fail(run_id != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, STMT_TASKS_OF_RUN, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_text(stmt, 1, run_id);
	tasks = ark_store_sqlite_collect(self, stmt,
					 (ArkStoreSqliteRowFunc)ark_store_sqlite_task_from_row,
					 (GDestroyNotify)ark_task_record_free, error);
	if (tasks == NULL)
		g_prefix_error(error, "failed to list the tasks of run %s: ", run_id);
	else
		g_ptr_array_sort(tasks, ark_store_sqlite_task_index_cmp);
	return tasks;
}

static gboolean
ark_store_sqlite_count_tasks(ArkStore *store, const gchar *run_id, guint *counts,
			     GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	int rc;

	g_return_val_if_fail(self->db != NULL, FALSE);

	stmt = ark_store_sqlite_stmt(self, STMT_TASK_COUNTS, error);
	if (stmt == NULL)
		return FALSE;
	ark_store_sqlite_bind_text(stmt, 1, run_id);
	errno = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		gint64 state = sqlite3_column_int64(stmt, 0);
		if (state >= 0 && state < ARK_TASK_STATE_LAST)
			counts[state] = (guint)sqlite3_column_int64(stmt, 1);
	}
	if (rc != SQLITE_DONE) {
		ark_store_sqlite_set_error(self, rc, error);
		g_prefix_error(error, "failed to count the tasks of run %s: ", run_id);
		return FALSE;
	}
	return TRUE;
}

static GPtrArray *
ark_store_sqlite_list_objects(ArkStore *store, const gchar *kind, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	GPtrArray *objects;

	g_return_val_if_fail(self->db != NULL, NULL);
	g_return_val_if_fail(kind != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, STMT_OBJECTS_OF_KIND, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_text(stmt, 1, kind);
	objects = ark_store_sqlite_collect(self, stmt,
					   (ArkStoreSqliteRowFunc)ark_store_sqlite_object_from_row,
					   (GDestroyNotify)ark_object_record_free, error);
	if (objects == NULL)
		g_prefix_error(error, "failed to read the objects of kind %s: ", kind);
	return objects;
}

static GPtrArray *
ark_store_sqlite_list_estimates(ArkStore *store, const gchar *workflow_name, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	GPtrArray *estimates;

	g_return_val_if_fail(self->db != NULL, NULL);
	g_return_val_if_fail(workflow_name != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, STMT_ESTIMATES_OF_WORKFLOW, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_text(stmt, 1, workflow_name);
	estimates = ark_store_sqlite_collect(
	    self, stmt, (ArkStoreSqliteRowFunc)ark_store_sqlite_estimate_from_row,
	    (GDestroyNotify)ark_estimate_record_free, error);
	if (estimates == NULL)
		g_prefix_error(error, "failed to read the estimates of workflow %s: ",
			       workflow_name);
	return estimates;
}

static GPtrArray *
ark_store_sqlite_list_attempts(ArkStore *store, const gchar *run_id, const gchar *task_id,
			       GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	GPtrArray *attempts;

	g_return_val_if_fail(self->db != NULL, NULL);
	g_return_val_if_fail(run_id != NULL, NULL);

	stmt = ark_store_sqlite_stmt(
	    self, task_id != NULL ? STMT_ATTEMPTS_OF_TASK : STMT_ATTEMPTS_OF_RUN, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_text(stmt, 1, run_id);
	if (task_id != NULL)
		ark_store_sqlite_bind_text(stmt, 2, task_id);
	attempts = ark_store_sqlite_collect(
	    self, stmt, (ArkStoreSqliteRowFunc)ark_store_sqlite_attempt_from_row,
	    (GDestroyNotify)ark_attempt_record_free, error);
	if (attempts == NULL)
		g_prefix_error(error, "failed to list the attempts of run %s: ", run_id);
	return attempts;
}

/* the rows of statement @id, "seq > ?1 ORDER BY seq LIMIT ?2", after @after_seq */
static GPtrArray *
ark_store_sqlite_read_after(ArkStoreSqlite *self, ArkStoreSqliteStmtId id, guint64 after_seq,
			    guint limit, ArkStoreSqliteRowFunc from_row, GDestroyNotify free_func,
			    const gchar *what, GError **error)
{
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	GPtrArray *rows;

	g_return_val_if_fail(self->db != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, id, error);
	if (stmt == NULL)
		return NULL;
	ark_store_sqlite_bind_int(stmt, 1, (gint64)MIN(after_seq, (guint64)G_MAXINT64));
	/* a negative LIMIT is no limit in SQLite */
	ark_store_sqlite_bind_int(stmt, 2, limit > 0 ? (gint64)limit : -1);
	rows = ark_store_sqlite_collect(self, stmt, from_row, free_func, error);
	if (rows == NULL)
		g_prefix_error(error, "failed to read %s: ", what);
	return rows;
}

static GPtrArray *
ark_store_sqlite_read_events(ArkStore *store, guint64 after_seq, guint limit, GError **error)
{
	return ark_store_sqlite_read_after(ARK_STORE_SQLITE(store), STMT_EVENTS_AFTER, after_seq,
					   limit,
					   (ArkStoreSqliteRowFunc)ark_store_sqlite_event_from_row,
					   (GDestroyNotify)ark_event_free, "events", error);
}

static GPtrArray *
ark_store_sqlite_read_audit(ArkStore *store, guint64 after_seq, guint limit, GError **error)
{
	return ark_store_sqlite_read_after(ARK_STORE_SQLITE(store), STMT_AUDIT_AFTER, after_seq,
					   limit,
					   (ArkStoreSqliteRowFunc)ark_store_sqlite_audit_from_row,
					   (GDestroyNotify)ark_audit_record_free, "the audit log", error);
}

/* from the table, not a counter: a reader beside the owner sees the owner's commits */
static ArkAuditRecord *
ark_store_sqlite_get_last_audit(ArkStore *store, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(ArkStoreSqliteStmtUse) stmt = NULL;
	int rc;

	g_return_val_if_fail(self->db != NULL, NULL);

	stmt = ark_store_sqlite_stmt(self, STMT_AUDIT_LAST_RECORD, error);
	if (stmt == NULL)
		return NULL;
	errno = 0;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return ark_store_sqlite_audit_from_row(stmt);
	if (rc == SQLITE_DONE) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "there are no audit records");
		return NULL;
	}
	ark_store_sqlite_set_error(self, rc, error);
	g_prefix_error(error, "failed to read the audit log: ");
	return NULL;
}

/* tasks_dead (run_id, idx) WHERE state = DEAD serves the dead-letter queue in the order asked
 * for; other states are a scan of the primary key's (run_id, idx) index, without a sort */
static sqlite3_stmt *
ark_store_sqlite_tasks_query(ArkStoreSqlite *self, const ArkTaskFilter *filter,
			     gboolean *out_cached, GError **error)
{
	GString *sql = g_string_new("SELECT " TASK_COLUMNS " FROM tasks");
	const gchar *glue = " WHERE ";

	if (ark_store_sqlite_append_states(sql, glue, filter->state_mask, ARK_TASK_STATE_LAST))
		glue = " AND ";
	if (filter->run_id != NULL)
		g_string_append_printf(sql, "%srun_id = :run", glue);
	g_string_append(sql, " ORDER BY run_id, idx");
	if (filter->limit > 0)
		g_string_append(sql, " LIMIT :limit");
	return ark_store_sqlite_cached_query(self, sql, out_cached, error);
}

static GPtrArray *
ark_store_sqlite_find_tasks(ArkStore *store, const ArkTaskFilter *filter, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	ArkTaskFilter all = {0};
	GPtrArray *tasks;
	sqlite3_stmt *stmt;
	gboolean cached = FALSE;
	int index;

	g_return_val_if_fail(self->db != NULL, NULL);

	if (filter == NULL)
		filter = &all;
	stmt = ark_store_sqlite_tasks_query(self, filter, &cached, error);
	if (stmt == NULL) {
		g_prefix_error(error, "failed to find tasks: ");
		return NULL;
	}
	if ((index = sqlite3_bind_parameter_index(stmt, ":run")) > 0)
		ark_store_sqlite_bind_text(stmt, index, filter->run_id);
	if ((index = sqlite3_bind_parameter_index(stmt, ":limit")) > 0)
		ark_store_sqlite_bind_int(stmt, index, filter->limit);

	tasks = ark_store_sqlite_collect_query(self, stmt, cached,
					       (ArkStoreSqliteRowFunc)ark_store_sqlite_task_from_row,
					       (GDestroyNotify)ark_task_record_free, error);
	if (tasks == NULL)
		g_prefix_error(error, "failed to find tasks: ");
	return tasks;
}

static void
ark_store_sqlite_set_property(GObject *object, guint prop_id, const GValue *value,
			      GParamSpec *pspec)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(object);

	switch (prop_id) {
	case PROP_DURABILITY: {
		const gchar *durability = g_value_get_string(value);
		g_autoptr(GError) error = NULL;

		if (durability == NULL)
			durability = "full";
		if (g_strcmp0(self->durability, durability) == 0)
			break;
		g_free(self->durability);
		self->durability = g_strdup(durability);
		/* normally set before open(), which reports a bad value as an error; on an open
		 * store it takes effect for the next transaction */
		if (self->db != NULL && !ark_store_sqlite_apply_durability(self, &error))
			g_warning("%s: %s", self->path, error->message);
		g_object_notify_by_pspec(object, pspec);
		break;
	}
	case PROP_READ_ONLY:
		/* only before open(): an open store keeps the mode it was opened in */
		if (self->db == NULL)
			self->read_only = g_value_get_boolean(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
ark_store_sqlite_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(object);

	switch (prop_id) {
	case PROP_DURABILITY:
		g_value_set_string(value, self->durability);
		break;
	case PROP_READ_ONLY:
		g_value_set_boolean(value, self->read_only);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
ark_store_sqlite_finalize(GObject *object)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(object);

	ark_store_sqlite_release(self);
	g_hash_table_unref(self->queries);
	g_free(self->durability);
	g_free(self->path);
	G_OBJECT_CLASS(ark_store_sqlite_parent_class)->finalize(object);
}

static void
ark_store_sqlite_class_init(ArkStoreSqliteClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->set_property = ark_store_sqlite_set_property;
	object_class->get_property = ark_store_sqlite_get_property;
	object_class->finalize = ark_store_sqlite_finalize;

	/**
	 * ArkStoreSqlite:durability:
	 *
	 * "full" (the default) survives a power cut, "normal" survives a crash of the process
	 * but may lose the last commits on a power cut, "off" may lose them on either.
	 */
	ark_store_sqlite_props[PROP_DURABILITY] = g_param_spec_string(
	    "durability", "Durability", "full, normal or off", "full",
	    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
	/**
	 * ArkStoreSqlite:read-only:
	 *
	 * Set before open(): read the store beside the process that owns it (status, DLQ
	 * listings) without taking the state directory's lock, migrating, or writing anything.
	 */
	ark_store_sqlite_props[PROP_READ_ONLY] = g_param_spec_boolean(
	    "read-only", "Read only", "open without the lock, for reading only", FALSE,
	    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, ark_store_sqlite_props);
}

static void
ark_store_sqlite_finalize_stmt_cb(gpointer stmt)
{
	sqlite3_finalize(stmt);
}

static void
ark_store_sqlite_init(ArkStoreSqlite *self)
{
	self->durability = g_strdup("full");
	self->lock_fd = -1;
	self->queries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      ark_store_sqlite_finalize_stmt_cb);
}

/* the same file through a connection of its own, read-only: WAL lets it read what the owner
 * committed while the owner writes, and the lock stays the owner's */
static ArkStore *
ark_store_sqlite_open_reader(ArkStore *store, GError **error)
{
	ArkStoreSqlite *self = ARK_STORE_SQLITE(store);
	g_autoptr(GObject) reader = NULL;
	g_autofree gchar *location = NULL;

	g_return_val_if_fail(self->db != NULL, NULL);

	location = g_path_get_dirname(self->path);
	reader = g_object_new(ARK_TYPE_STORE_SQLITE, "read-only", TRUE, NULL);
	if (!ark_store_open(ARK_STORE(reader), location, error))
		return NULL;
	return ARK_STORE(g_steal_pointer(&reader));
}

static void
ark_store_sqlite_store_iface_init(ArkStoreInterface *iface)
{
	iface->open = ark_store_sqlite_open;
	iface->close = ark_store_sqlite_close;
	iface->apply = ark_store_sqlite_apply;
	iface->get_last_event_seq = ark_store_sqlite_get_last_event_seq;
	iface->get_last_attempt_token = ark_store_sqlite_get_last_attempt_token;
	iface->get_run = ark_store_sqlite_get_run;
	iface->get_run_summary = ark_store_sqlite_get_run_summary;
	iface->count_tasks = ark_store_sqlite_count_tasks;
	iface->find_run_by_idempotency_key = ark_store_sqlite_find_run_by_idempotency_key;
	iface->list_runs = ark_store_sqlite_list_runs;
	iface->list_tasks = ark_store_sqlite_list_tasks;
	iface->list_attempts = ark_store_sqlite_list_attempts;
	iface->read_events = ark_store_sqlite_read_events;
	iface->find_tasks = ark_store_sqlite_find_tasks;
	iface->read_audit = ark_store_sqlite_read_audit;
	iface->get_last_audit = ark_store_sqlite_get_last_audit;
	iface->list_estimates = ark_store_sqlite_list_estimates;
	iface->list_objects = ark_store_sqlite_list_objects;
	iface->open_reader = ark_store_sqlite_open_reader;
}

/* the plugin: registers the store type under the name "sqlite" */

#define ARK_TYPE_STORE_SQLITE_PLUGIN (ark_store_sqlite_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkStoreSqlitePlugin, ark_store_sqlite_plugin, ARK, STORE_SQLITE_PLUGIN,
		     ArkPlugin)

struct _ArkStoreSqlitePlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkStoreSqlitePlugin, ark_store_sqlite_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_store_sqlite_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	/* the SQL above relies on sqlite_schema and SQLITE_OPEN_EXRESCODE (3.37+); a system
	 * library older than the headers we were built with would fail in odd places */
	if (sqlite3_libversion_number() < 3037000) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
			    "SQLite %s is too old, 3.37 or newer is needed", sqlite3_libversion());
		return FALSE;
	}
	return ark_registry_add_type(registry, "store-sqlite", ARK_CAPABILITY_STORE, "sqlite",
				     ARK_TYPE_STORE_SQLITE, error);
}

static void
ark_store_sqlite_plugin_class_init(ArkStoreSqlitePluginClass *klass)
{
	ArkPluginClass *plugin_class = ARK_PLUGIN_CLASS(klass);

	plugin_class->startup = ark_store_sqlite_plugin_startup;
}

static void
ark_store_sqlite_plugin_init(ArkStoreSqlitePlugin *self)
{
}

ARK_PLUGIN_DEFINE("store-sqlite", ark_store_sqlite_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "SQLite store: runs, tasks, attempts, events and the audit "
		  "log in one WAL database (the default store)")
