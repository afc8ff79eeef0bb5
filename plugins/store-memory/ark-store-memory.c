/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/*
 * A store that keeps everything in memory, for tests, one-shot `arkitect run` and benchmarks
 * that leave the disk out. Every query has the semantics of the sqlite store (same ordering, same
 * errors, same constraints), so that the engine can not tell them apart but for durability.
 *
 * apply() is atomic through an undo log: operations are applied one by one, each recording how
 * to revert itself, and a failing operation reverts the ones before it in reverse order.
 */

#define ARK_STORE_MEMORY_DEFAULT_MAX_EVENTS 1000000

typedef struct {
	ArkTaskRecord *record;
	GPtrArray *attempts; /* of ArkAttemptRecord, owned, ascending number */
} ArkStoreMemoryTask;

typedef struct {
	ArkRunRecord *record;
	GHashTable *tasks_by_id; /* task_id (of the record) -> ArkStoreMemoryTask, owned */
	GPtrArray *tasks;	 /* of ArkStoreMemoryTask, ascending index */
} ArkStoreMemoryRun;

typedef struct {
	ArkStoreOpKind kind;
	gpointer target; /* the entry or record the operation created or changed */
	gpointer saved;	 /* updates: a shell with the previous values; inserts: the parent */
} ArkStoreMemoryUndo;

#define ARK_TYPE_STORE_MEMORY (ark_store_memory_get_type())
G_DECLARE_FINAL_TYPE(ArkStoreMemory, ark_store_memory, ARK, STORE_MEMORY, GObject)

struct _ArkStoreMemory {
	GObject parent_instance;

	gboolean is_open;
	guint max_events;
	GTree *runs;		 /* id (of the record) -> ArkStoreMemoryRun, owned */
	GHashTable *runs_by_key; /* idempotency key (of the record) -> ArkStoreMemoryRun */
	GHashTable *tokens;	 /* &ArkAttemptRecord.token -> ArkAttemptRecord */
	/* a ring of ArkEvent, ascending seq: appended at the back, trimmed at the front */
	ArkEvent **events;
	guint events_start;
	guint events_len;
	guint events_size;
	guint64 last_event_seq;
	guint64 last_attempt_token;
	GArray *undo; /* of ArkStoreMemoryUndo, during apply() only */
};

enum {
	PROP_0,
	PROP_MAX_EVENTS,
	N_PROPS
};

static GParamSpec *ark_store_memory_props[N_PROPS];

static void ark_store_memory_store_iface_init(ArkStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkStoreMemory, ark_store_memory, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_STORE,
						    ark_store_memory_store_iface_init))

static void
ark_store_memory_task_free(ArkStoreMemoryTask *task)
{
	g_ptr_array_unref(task->attempts);
	ark_task_record_free(task->record);
	g_free(task);
}

static void
ark_store_memory_run_free(ArkStoreMemoryRun *run)
{
	g_ptr_array_unref(run->tasks);
	g_hash_table_unref(run->tasks_by_id);
	ark_run_record_free(run->record);
	g_free(run);
}

static gint
ark_store_memory_compare_ids_cb(gconstpointer a, gconstpointer b, gpointer user_data)
{
	/* byte order, like SQLite's BINARY collation, so both stores page identically */
	return strcmp(a, b);
}

static inline ArkEvent *
ark_store_memory_events_nth(ArkStoreMemory *self, guint i)
{
	return self->events[(self->events_start + i) % self->events_size];
}

static void
ark_store_memory_events_push(ArkStoreMemory *self, ArkEvent *event)
{
	if (self->events_len == self->events_size) {
		guint size = MAX(self->events_size * 2, 1024);
		ArkEvent **events = g_new(ArkEvent *, size);
		for (guint i = 0; i < self->events_len; i++)
			events[i] = ark_store_memory_events_nth(self, i);
		g_free(self->events);
		self->events = events;
		self->events_size = size;
		self->events_start = 0;
	}
	self->events[(self->events_start + self->events_len) % self->events_size] = event;
	self->events_len++;
}

/* removes and returns the oldest (@front) or newest event; the ring must not be empty */
static ArkEvent *
ark_store_memory_events_pop(ArkStoreMemory *self, gboolean front)
{
	ArkEvent *event;

	if (front) {
		event = self->events[self->events_start];
		self->events_start = (self->events_start + 1) % self->events_size;
	} else {
		event = ark_store_memory_events_nth(self, self->events_len - 1);
	}
	self->events_len--;
	return event;
}

static void
ark_store_memory_reset(ArkStoreMemory *self)
{
	g_clear_pointer(&self->runs_by_key, g_hash_table_unref);
	g_clear_pointer(&self->tokens, g_hash_table_unref);
	g_clear_pointer(&self->runs, g_tree_unref);
	while (self->events_len > 0)
		ark_event_free(ark_store_memory_events_pop(self, TRUE));
	g_clear_pointer(&self->events, g_free);
	self->events_size = 0;
	self->last_event_seq = 0;
	self->last_attempt_token = 0;
}

static gboolean
ark_store_memory_open(ArkStore *store, const gchar *location, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);

	g_return_val_if_fail(!self->is_open, FALSE);

	/* tokens and keys point into the records, which the tree owns: destroy the indexes first */
	self->runs = g_tree_new_full(ark_store_memory_compare_ids_cb, NULL, NULL,
				     (GDestroyNotify)ark_store_memory_run_free);
	self->runs_by_key = g_hash_table_new(g_str_hash, g_str_equal);
	self->tokens = g_hash_table_new(g_int64_hash, g_int64_equal);
	self->is_open = TRUE;
	return TRUE;
}

static void
ark_store_memory_close(ArkStore *store)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);

	ark_store_memory_reset(self);
	self->is_open = FALSE;
}

static ArkStoreMemoryRun *
ark_store_memory_lookup_run(ArkStoreMemory *self, const gchar *run_id)
{
	return g_tree_lookup(self->runs, run_id);
}

static ArkStoreMemoryTask *
ark_store_memory_lookup_task(ArkStoreMemory *self, const gchar *run_id, const gchar *task_id)
{
	ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, run_id);
	return run != NULL ? g_hash_table_lookup(run->tasks_by_id, task_id) : NULL;
}

static ArkAttemptRecord *
ark_store_memory_lookup_attempt(ArkStoreMemory *self, const gchar *run_id, const gchar *task_id,
				guint number)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, run_id, task_id);

	if (task == NULL)
		return NULL;
	/* numbers are dense and ascending, so the newest (the usual target) is found first */
	for (guint i = task->attempts->len; i > 0; i--) {
		ArkAttemptRecord *attempt = g_ptr_array_index(task->attempts, i - 1);
		if (attempt->number == number)
			return attempt;
		if (attempt->number < number)
			break;
	}
	return NULL;
}

/* where a task of @index goes in @tasks, or -1 when the index is taken */
static guint
ark_store_memory_task_index(GPtrArray *tasks, guint i)
{
	return ((ArkStoreMemoryTask *)g_ptr_array_index(tasks, i))->record->index;
}

static gint
ark_store_memory_task_position(GPtrArray *tasks, guint index)
{
	guint lo = 0;
	guint hi = tasks->len;

	/* tasks are inserted in workflow order, so the end is the common answer */
	if (hi == 0 || ark_store_memory_task_index(tasks, hi - 1) < index)
		return (gint)hi;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		guint mid_index = ark_store_memory_task_index(tasks, mid);
		if (mid_index == index)
			return -1;
		if (mid_index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (gint)lo;
}

static void
ark_store_memory_push_undo(ArkStoreMemory *self, ArkStoreOpKind kind, gpointer target,
			   gpointer saved)
{
	ArkStoreMemoryUndo undo = {kind, target, saved};
	g_array_append_val(self->undo, undo);
}

static gboolean
ark_store_memory_insert_run(ArkStoreMemory *self, const ArkRunRecord *record, GError **error)
{
	ArkStoreMemoryRun *run;

	if (ark_store_memory_lookup_run(self, record->id) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "a run with id %s exists",
			    record->id);
		return FALSE;
	}
	if (record->idempotency_key != NULL &&
	    g_hash_table_contains(self->runs_by_key, record->idempotency_key)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "a run with idempotency key %s exists", record->idempotency_key);
		return FALSE;
	}
	run = g_new0(ArkStoreMemoryRun, 1);
	run->record = ark_run_record_copy(record);
	run->tasks_by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						 (GDestroyNotify)ark_store_memory_task_free);
	run->tasks = g_ptr_array_new();
	g_tree_insert(self->runs, run->record->id, run);
	if (run->record->idempotency_key != NULL)
		g_hash_table_insert(self->runs_by_key, run->record->idempotency_key, run);
	ark_store_memory_push_undo(self, ARK_STORE_OP_RUN_INSERT, run, NULL);
	return TRUE;
}

static gboolean
ark_store_memory_update_run(ArkStoreMemory *self, const ArkRunRecord *record, GError **error)
{
	ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, record->id);
	ArkRunRecord *saved;

	if (run == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no run %s", record->id);
		return FALSE;
	}
	/* the shell keeps the old values, and owns the old strings until commit */
	saved = g_memdup2(run->record, sizeof(ArkRunRecord));
	run->record->state = record->state;
	run->record->started_at = record->started_at;
	run->record->finished_at = record->finished_at;
	run->record->reason = g_strdup(record->reason);
	ark_store_memory_push_undo(self, ARK_STORE_OP_RUN_UPDATE, run->record, saved);
	return TRUE;
}

static gboolean
ark_store_memory_insert_task(ArkStoreMemory *self, const ArkTaskRecord *record, GError **error)
{
	ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, record->run_id);
	ArkStoreMemoryTask *task;
	gint position;

	if (run == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no run %s", record->run_id);
		return FALSE;
	}
	if (g_hash_table_contains(run->tasks_by_id, record->task_id)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "run %s already has a task %s",
			    record->run_id, record->task_id);
		return FALSE;
	}
	position = ark_store_memory_task_position(run->tasks, record->index);
	if (position < 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "run %s already has a task at index %u", record->run_id,
			    record->index);
		return FALSE;
	}
	task = g_new0(ArkStoreMemoryTask, 1);
	task->record = ark_task_record_copy(record);
	task->attempts = g_ptr_array_new_with_free_func((GDestroyNotify)ark_attempt_record_free);
	g_hash_table_insert(run->tasks_by_id, task->record->task_id, task);
	g_ptr_array_insert(run->tasks, position, task);
	ark_store_memory_push_undo(self, ARK_STORE_OP_TASK_INSERT, task, run);
	return TRUE;
}

static gboolean
ark_store_memory_update_task(ArkStoreMemory *self, const ArkTaskRecord *record, GError **error)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, record->run_id,
								 record->task_id);
	ArkTaskRecord *saved;

	if (task == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no task %s in run %s",
			    record->task_id, record->run_id);
		return FALSE;
	}
	saved = g_memdup2(task->record, sizeof(ArkTaskRecord));
	task->record->state = record->state;
	task->record->attempts = record->attempts;
	task->record->exit_code = record->exit_code;
	task->record->ready_at = record->ready_at;
	task->record->started_at = record->started_at;
	task->record->finished_at = record->finished_at;
	task->record->reason = g_strdup(record->reason);
	ark_store_memory_push_undo(self, ARK_STORE_OP_TASK_UPDATE, task->record, saved);
	return TRUE;
}

static gboolean
ark_store_memory_insert_attempt(ArkStoreMemory *self, const ArkAttemptRecord *record,
				GError **error)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, record->run_id,
								 record->task_id);
	ArkAttemptRecord *attempt;
	guint position;

	if (task == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no task %s in run %s",
			    record->task_id, record->run_id);
		return FALSE;
	}
	if (ark_store_memory_lookup_attempt(self, record->run_id, record->task_id,
					    record->number) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "task %s of run %s already has an attempt %u", record->task_id,
			    record->run_id, record->number);
		return FALSE;
	}
	if (g_hash_table_contains(self->tokens, &record->token)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "an attempt with token %" G_GUINT64_FORMAT " exists", record->token);
		return FALSE;
	}
	attempt = ark_attempt_record_copy(record);
	for (position = task->attempts->len; position > 0; position--) {
		ArkAttemptRecord *before = g_ptr_array_index(task->attempts, position - 1);
		if (before->number < attempt->number)
			break;
	}
	g_ptr_array_insert(task->attempts, (gint)position, attempt);
	g_hash_table_insert(self->tokens, &attempt->token, attempt);
	ark_store_memory_push_undo(self, ARK_STORE_OP_ATTEMPT_INSERT, attempt, task);
	return TRUE;
}

static gboolean
ark_store_memory_update_attempt(ArkStoreMemory *self, const ArkAttemptRecord *record,
				GError **error)
{
	ArkAttemptRecord *attempt = ark_store_memory_lookup_attempt(self, record->run_id,
								    record->task_id,
								    record->number);
	ArkAttemptRecord *saved;

	if (attempt == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    "no attempt %u of task %s in run %s", record->number,
			    record->task_id, record->run_id);
		return FALSE;
	}
	saved = g_memdup2(attempt, sizeof(ArkAttemptRecord));
	attempt->status = record->status;
	attempt->finished_at = record->finished_at;
	attempt->exit_code = record->exit_code;
	attempt->signal = record->signal;
	attempt->error = g_strdup(record->error);
	attempt->log_path = g_strdup(record->log_path);
	ark_store_memory_push_undo(self, ARK_STORE_OP_ATTEMPT_UPDATE, attempt, saved);
	return TRUE;
}

static gboolean
ark_store_memory_append_event(ArkStoreMemory *self, const ArkEvent *event,
			      guint64 *last_event_seq, GError **error)
{
	/* readers page with read_events(after_seq): a seq that went backwards would be skipped by
	 * every reader that is past it */
	if (event->seq <= *last_event_seq) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "sequence %" G_GUINT64_FORMAT " is not after %" G_GUINT64_FORMAT,
			    event->seq, *last_event_seq);
		return FALSE;
	}
	ark_store_memory_events_push(self, ark_event_copy(event));
	*last_event_seq = event->seq;
	ark_store_memory_push_undo(self, ARK_STORE_OP_EVENT, NULL, NULL);
	return TRUE;
}

static void
ark_store_memory_revert(ArkStoreMemory *self, const ArkStoreMemoryUndo *undo)
{
	switch (undo->kind) {
	case ARK_STORE_OP_RUN_INSERT: {
		ArkStoreMemoryRun *run = undo->target;
		if (run->record->idempotency_key != NULL)
			g_hash_table_remove(self->runs_by_key, run->record->idempotency_key);
		g_tree_remove(self->runs, run->record->id);
		break;
	}
	case ARK_STORE_OP_RUN_UPDATE: {
		ArkRunRecord *record = undo->target;
		ArkRunRecord *saved = undo->saved;
		g_free(record->reason);
		record->state = saved->state;
		record->started_at = saved->started_at;
		record->finished_at = saved->finished_at;
		record->reason = saved->reason;
		g_free(saved);
		break;
	}
	case ARK_STORE_OP_TASK_INSERT: {
		ArkStoreMemoryTask *task = undo->target;
		ArkStoreMemoryRun *run = undo->saved;
		g_ptr_array_remove(run->tasks, task);
		g_hash_table_remove(run->tasks_by_id, task->record->task_id);
		break;
	}
	case ARK_STORE_OP_TASK_UPDATE: {
		ArkTaskRecord *record = undo->target;
		ArkTaskRecord *saved = undo->saved;
		g_free(record->reason);
		record->state = saved->state;
		record->attempts = saved->attempts;
		record->exit_code = saved->exit_code;
		record->ready_at = saved->ready_at;
		record->started_at = saved->started_at;
		record->finished_at = saved->finished_at;
		record->reason = saved->reason;
		g_free(saved);
		break;
	}
	case ARK_STORE_OP_ATTEMPT_INSERT: {
		ArkAttemptRecord *attempt = undo->target;
		ArkStoreMemoryTask *task = undo->saved;
		g_hash_table_remove(self->tokens, &attempt->token);
		g_ptr_array_remove(task->attempts, attempt);
		break;
	}
	case ARK_STORE_OP_ATTEMPT_UPDATE: {
		ArkAttemptRecord *attempt = undo->target;
		ArkAttemptRecord *saved = undo->saved;
		g_free(attempt->error);
		g_free(attempt->log_path);
		attempt->status = saved->status;
		attempt->finished_at = saved->finished_at;
		attempt->exit_code = saved->exit_code;
		attempt->signal = saved->signal;
		attempt->error = saved->error;
		attempt->log_path = saved->log_path;
		g_free(saved);
		break;
	}
	case ARK_STORE_OP_EVENT:
		ark_event_free(ark_store_memory_events_pop(self, FALSE));
		break;
	default:
		g_assert_not_reached();
	}
}

/* the batch stays: drop the previous values the updates kept */
static void
ark_store_memory_commit(ArkStoreMemory *self, const ArkStoreMemoryUndo *undo)
{
	switch (undo->kind) {
	case ARK_STORE_OP_RUN_UPDATE:
		g_free(((ArkRunRecord *)undo->saved)->reason);
		break;
	case ARK_STORE_OP_TASK_UPDATE:
		g_free(((ArkTaskRecord *)undo->saved)->reason);
		break;
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		g_free(((ArkAttemptRecord *)undo->saved)->error);
		g_free(((ArkAttemptRecord *)undo->saved)->log_path);
		break;
	default:
		/* inserts keep nothing but pointers to what now belongs to the store */
		return;
	}
	g_free(undo->saved);
}

/* keeps the newest max_events; only after a commit, so that a failed batch can be reverted */
static void
ark_store_memory_trim_events(ArkStoreMemory *self)
{
	while (self->events_len > self->max_events)
		ark_event_free(ark_store_memory_events_pop(self, TRUE));
}

/* what an operation was doing, for its error message (only built on failure) */
static gchar *
ark_store_memory_describe_op(const ArkStoreOp *op)
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
	default:
		return g_strdup_printf("apply operation %d", (gint)op->kind);
	}
}

static gboolean
ark_store_memory_apply_op(ArkStoreMemory *self, const ArkStoreOp *op, guint64 *last_event_seq,
			  guint64 *last_attempt_token, GError **error)
{
	if (!ark_store_op_check(op, error))
		return FALSE;

	switch (op->kind) {
	case ARK_STORE_OP_RUN_INSERT:
		return ark_store_memory_insert_run(self, &op->run, error);
	case ARK_STORE_OP_RUN_UPDATE:
		return ark_store_memory_update_run(self, &op->run, error);
	case ARK_STORE_OP_TASK_INSERT:
		return ark_store_memory_insert_task(self, &op->task, error);
	case ARK_STORE_OP_TASK_UPDATE:
		return ark_store_memory_update_task(self, &op->task, error);
	case ARK_STORE_OP_ATTEMPT_INSERT:
		if (!ark_store_memory_insert_attempt(self, &op->attempt, error))
			return FALSE;
		*last_attempt_token = MAX(*last_attempt_token, op->attempt.token);
		return TRUE;
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		return ark_store_memory_update_attempt(self, &op->attempt, error);
	default:
		return ark_store_memory_append_event(self, &op->event, last_event_seq, error);
	}
}

static gboolean
ark_store_memory_apply(ArkStore *store, ArkStoreBatch *batch, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	guint n_ops = ark_store_batch_get_length(batch);
	guint64 last_event_seq = self->last_event_seq;
	guint64 last_attempt_token = self->last_attempt_token;
	gboolean ok = TRUE;

	g_return_val_if_fail(self->is_open, FALSE);

	g_array_set_size(self->undo, 0);
	for (guint i = 0; i < n_ops && ok; i++) {
		const ArkStoreOp *op = ark_store_batch_get_op(batch, i);
		ok = ark_store_memory_apply_op(self, op, &last_event_seq, &last_attempt_token,
					       error);
		if (!ok) {
			g_autofree gchar *what = ark_store_memory_describe_op(op);
			g_prefix_error(error, "failed to %s (operation %u of %u): ", what, i + 1,
				       n_ops);
		}
	}
	if (ok) {
		for (guint i = 0; i < self->undo->len; i++)
			ark_store_memory_commit(self,
						&g_array_index(self->undo, ArkStoreMemoryUndo, i));
		self->last_event_seq = last_event_seq;
		self->last_attempt_token = last_attempt_token;
		ark_store_memory_trim_events(self);
	} else {
		for (guint i = self->undo->len; i > 0; i--)
			ark_store_memory_revert(
			    self, &g_array_index(self->undo, ArkStoreMemoryUndo, i - 1));
	}
	g_array_set_size(self->undo, 0);
	return ok;
}

static guint64
ark_store_memory_get_last_event_seq(ArkStore *store)
{
	return ARK_STORE_MEMORY(store)->last_event_seq;
}

static guint64
ark_store_memory_get_last_attempt_token(ArkStore *store)
{
	return ARK_STORE_MEMORY(store)->last_attempt_token;
}

static ArkRunRecord *
ark_store_memory_get_run(ArkStore *store, const gchar *run_id, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	ArkStoreMemoryRun *run;

	g_return_val_if_fail(self->is_open, NULL);
	g_return_val_if_fail(run_id != NULL, NULL);

	run = ark_store_memory_lookup_run(self, run_id);
	if (run == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no run with id %s", run_id);
		return NULL;
	}
	return ark_run_record_copy(run->record);
}

static ArkRunRecord *
ark_store_memory_find_run_by_idempotency_key(ArkStore *store, const gchar *key, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	ArkStoreMemoryRun *run;

	g_return_val_if_fail(self->is_open, NULL);
	g_return_val_if_fail(key != NULL, NULL);

	run = g_hash_table_lookup(self->runs_by_key, key);
	if (run == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    "no run with idempotency key %s", key);
		return NULL;
	}
	return ark_run_record_copy(run->record);
}

static gboolean
ark_store_memory_run_matches(const ArkRunRecord *run, const ArkRunFilter *filter)
{
	if (filter->state_mask != 0 &&
	    ((guint)run->state >= 32 || (filter->state_mask & (1u << run->state)) == 0))
		return FALSE;
	if (filter->workflow_name != NULL &&
	    g_strcmp0(filter->workflow_name, run->workflow_name) != 0)
		return FALSE;
	return TRUE;
}

static GPtrArray *
ark_store_memory_list_runs(ArkStore *store, const ArkRunFilter *filter, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)ark_run_record_free);
	ArkRunFilter all = {0};
	GTreeNode *node;

	g_return_val_if_fail(self->is_open, NULL);

	if (filter == NULL)
		filter = &all;
	/* the first node strictly past the cursor, in the direction of travel */
	if (!filter->newest_first) {
		node = filter->after != NULL ? g_tree_upper_bound(self->runs, filter->after)
					     : g_tree_node_first(self->runs);
	} else if (filter->after != NULL) {
		GTreeNode *bound = g_tree_lower_bound(self->runs, filter->after);
		node = bound != NULL ? g_tree_node_previous(bound) : g_tree_node_last(self->runs);
	} else {
		node = g_tree_node_last(self->runs);
	}
	while (node != NULL && (filter->limit == 0 || runs->len < filter->limit)) {
		ArkStoreMemoryRun *run = g_tree_node_value(node);
		if (ark_store_memory_run_matches(run->record, filter))
			g_ptr_array_add(runs, ark_run_record_copy(run->record));
		node = filter->newest_first ? g_tree_node_previous(node) : g_tree_node_next(node);
	}
	return g_steal_pointer(&runs);
}

static GPtrArray *
ark_store_memory_list_tasks(ArkStore *store, const gchar *run_id, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *tasks = g_ptr_array_new_with_free_func((GDestroyNotify)ark_task_record_free);
	ArkStoreMemoryRun *run;

	g_return_val_if_fail(self->is_open, NULL);
	g_return_val_if_fail(run_id != NULL, NULL);

	run = ark_store_memory_lookup_run(self, run_id);
	for (guint i = 0; run != NULL && i < run->tasks->len; i++) {
		ArkStoreMemoryTask *task = g_ptr_array_index(run->tasks, i);
		g_ptr_array_add(tasks, ark_task_record_copy(task->record));
	}
	return tasks;
}

static void
ark_store_memory_copy_attempts(GPtrArray *into, ArkStoreMemoryTask *task)
{
	for (guint i = 0; i < task->attempts->len; i++) {
		ArkAttemptRecord *attempt = g_ptr_array_index(task->attempts, i);
		g_ptr_array_add(into, ark_attempt_record_copy(attempt));
	}
}

static GPtrArray *
ark_store_memory_list_attempts(ArkStore *store, const gchar *run_id, const gchar *task_id,
			       GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *attempts = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)ark_attempt_record_free);
	ArkStoreMemoryRun *run;

	g_return_val_if_fail(self->is_open, NULL);
	g_return_val_if_fail(run_id != NULL, NULL);

	run = ark_store_memory_lookup_run(self, run_id);
	if (run == NULL)
		return attempts;
	if (task_id != NULL) {
		ArkStoreMemoryTask *task = g_hash_table_lookup(run->tasks_by_id, task_id);
		if (task != NULL)
			ark_store_memory_copy_attempts(attempts, task);
		return attempts;
	}
	for (guint i = 0; i < run->tasks->len; i++)
		ark_store_memory_copy_attempts(attempts, g_ptr_array_index(run->tasks, i));
	return attempts;
}

static GPtrArray *
ark_store_memory_read_events(ArkStore *store, guint64 after_seq, guint limit, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)ark_event_free);
	guint lo = 0;
	guint hi = self->events_len;

	g_return_val_if_fail(self->is_open, NULL);

	/* the first kept event with seq > after_seq */
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (ark_store_memory_events_nth(self, mid)->seq <= after_seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (guint i = lo; i < self->events_len && (limit == 0 || events->len < limit); i++)
		g_ptr_array_add(events, ark_event_copy(ark_store_memory_events_nth(self, i)));
	return events;
}

static void
ark_store_memory_set_property(GObject *object, guint prop_id, const GValue *value,
			      GParamSpec *pspec)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(object);

	switch (prop_id) {
	case PROP_MAX_EVENTS:
		if (self->max_events == g_value_get_uint(value))
			break;
		self->max_events = g_value_get_uint(value);
		if (self->is_open)
			ark_store_memory_trim_events(self);
		g_object_notify_by_pspec(object, pspec);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
ark_store_memory_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(object);

	switch (prop_id) {
	case PROP_MAX_EVENTS:
		g_value_set_uint(value, self->max_events);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
ark_store_memory_finalize(GObject *object)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(object);

	ark_store_memory_reset(self);
	g_array_unref(self->undo);
	G_OBJECT_CLASS(ark_store_memory_parent_class)->finalize(object);
}

static void
ark_store_memory_class_init(ArkStoreMemoryClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->set_property = ark_store_memory_set_property;
	object_class->get_property = ark_store_memory_get_property;
	object_class->finalize = ark_store_memory_finalize;

	/**
	 * ArkStoreMemory:max-events:
	 *
	 * How many events are kept: older ones are dropped after each apply(), so that a
	 * long-running daemon on the memory store does not grow without bound. Runs, tasks and
	 * attempts are all kept.
	 */
	ark_store_memory_props[PROP_MAX_EVENTS] = g_param_spec_uint(
	    "max-events", "Maximum events", "how many of the newest events are kept", 1,
	    G_MAXUINT, ARK_STORE_MEMORY_DEFAULT_MAX_EVENTS,
	    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, ark_store_memory_props);
}

static void
ark_store_memory_init(ArkStoreMemory *self)
{
	self->max_events = ARK_STORE_MEMORY_DEFAULT_MAX_EVENTS;
	self->undo = g_array_new(FALSE, FALSE, sizeof(ArkStoreMemoryUndo));
}

static void
ark_store_memory_store_iface_init(ArkStoreInterface *iface)
{
	iface->open = ark_store_memory_open;
	iface->close = ark_store_memory_close;
	iface->apply = ark_store_memory_apply;
	iface->get_last_event_seq = ark_store_memory_get_last_event_seq;
	iface->get_last_attempt_token = ark_store_memory_get_last_attempt_token;
	iface->get_run = ark_store_memory_get_run;
	iface->find_run_by_idempotency_key = ark_store_memory_find_run_by_idempotency_key;
	iface->list_runs = ark_store_memory_list_runs;
	iface->list_tasks = ark_store_memory_list_tasks;
	iface->list_attempts = ark_store_memory_list_attempts;
	iface->read_events = ark_store_memory_read_events;
}

/* the plugin: registers the store type under the name "memory" */

#define ARK_TYPE_STORE_MEMORY_PLUGIN (ark_store_memory_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkStoreMemoryPlugin, ark_store_memory_plugin, ARK, STORE_MEMORY_PLUGIN,
		     ArkPlugin)

struct _ArkStoreMemoryPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkStoreMemoryPlugin, ark_store_memory_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_store_memory_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	return ark_registry_add_type(registry, "store-memory", ARK_CAPABILITY_STORE, "memory",
				     ARK_TYPE_STORE_MEMORY, error);
}

static void
ark_store_memory_plugin_class_init(ArkStoreMemoryPluginClass *klass)
{
	ArkPluginClass *plugin_class = ARK_PLUGIN_CLASS(klass);

	plugin_class->startup = ark_store_memory_plugin_startup;
}

static void
ark_store_memory_plugin_init(ArkStoreMemoryPlugin *self)
{
}

ARK_PLUGIN_DEFINE("store-memory", ark_store_memory_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "In-memory store: nothing survives the process (for tests "
		  "and one-shot runs)")
