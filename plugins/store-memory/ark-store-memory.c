/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <string.h>

/*
 * A store that keeps everything in memory, for tests, one-shot `arkitect run --ephemeral` and
 * benchmarks that leave the disk out. Every query has the semantics of the sqlite store (same
 * ordering, same errors, same constraints), so that the engine can not tell them apart but for
 * durability.
 *
 * It is sized for runs of many tasks: a task is one allocation with its id inline, pointing to
 * its run instead of copying the run id; attempts share the run and task too and intern their
 * executor and holder; events are kept inline in a bounded ring and point to their task or run.
 * Audit records are all kept, in seq order (seqs are gap-free from 1: record n is at n - 1).
 * docs/storage.md has the measured bytes per task.
 *
 * apply() is atomic through an undo log: operations are applied one by one, each recording how
 * to revert itself, and a failing operation reverts the ones before it in reverse order.
 */

#define ARK_STORE_MEMORY_DEFAULT_MAX_EVENTS 100000
/* a run's task count only sizes its arrays; a wrong one costs a reallocation, a huge one must
 * not allocate up front */
#define ARK_STORE_MEMORY_MAX_PRESIZE 1000000

typedef struct _ArkStoreMemoryRun ArkStoreMemoryRun;
typedef struct _ArkStoreMemoryTask ArkStoreMemoryTask;
typedef struct _ArkStoreMemoryAttempt ArkStoreMemoryAttempt;

/* what most tasks never have, apart so that a queued task does not pay for it */
typedef struct {
	gchar *reason;
	gchar *cancelled_by;
	ArkTimestamp next_attempt_at;
	guint retry_base;
} ArkStoreMemoryTaskNotes;

struct _ArkStoreMemoryTask {
	ArkStoreMemoryRun *run;
	ArkStoreMemoryAttempt *attempts; /* newest first */
	ArkStoreMemoryTaskNotes *notes;	 /* NULL when all its fields are unset */
	ArkTimestamp ready_at;
	ArkTimestamp started_at;
	ArkTimestamp finished_at;
	guint32 index;
	guint32 n_attempts; /* ArkTaskRecord.attempts */
	gint32 exit_code;
	gint32 state;
	gchar id[]; /* the key of run->tasks_by_id */
};

/* the fields an update may change: everything before the inline id */
#define ARK_STORE_MEMORY_TASK_FIXED_SIZE G_STRUCT_OFFSET(ArkStoreMemoryTask, id)

struct _ArkStoreMemoryAttempt {
	ArkStoreMemoryAttempt *older;
	const gchar *executor; /* interned in the store */
	const gchar *holder;   /* interned in the store */
	gchar *error;
	gchar *log_path;
	gchar *result;
	guint64 token;
	ArkTimestamp started_at;
	ArkTimestamp finished_at;
	guint32 number;
	gint32 status;
	gint32 exit_code;
	gint32 signal;
};

struct _ArkStoreMemoryRun {
	ArkRunRecord *record;
	GHashTable *tasks_by_id; /* a set of ArkStoreMemoryTask.id: keys point into the tasks */
	GPtrArray *tasks;	 /* of ArkStoreMemoryTask, owned, ascending index */
};

/* whom an event is about; an event may name a run or task the store does not have (the sqlite
 * store does not check them either), then it keeps its own copy of the ids */
typedef enum {
	ARK_STORE_MEMORY_SUBJECT_RUN,
	ARK_STORE_MEMORY_SUBJECT_TASK,
	ARK_STORE_MEMORY_SUBJECT_IDS, /* gchar[]: "run_id\0task_id\0" or "run_id\0" */
	ARK_STORE_MEMORY_SUBJECT_IDS_WITH_TASK,
} ArkStoreMemorySubject;

typedef struct {
	guint64 seq;
	ArkTimestamp time;
	gpointer subject;
	gchar *data;
	guint32 attempt;
	gint32 state;
	gint32 kind;
	gint32 subject_kind;
} ArkStoreMemoryEvent;

typedef struct {
	ArkStoreOpKind kind;
	gpointer target; /* the entry the operation created or changed */
	gpointer saved;	 /* updates: a copy of the previous values; inserts: the parent */
} ArkStoreMemoryUndo;

#define ARK_TYPE_STORE_MEMORY (ark_store_memory_get_type())
G_DECLARE_FINAL_TYPE(ArkStoreMemory, ark_store_memory, ARK, STORE_MEMORY, GObject)

struct _ArkStoreMemory {
	GObject parent_instance;

	gboolean is_open;
	guint max_events;
	GTree *runs;		 /* id (of the record) -> ArkStoreMemoryRun, owned */
	GHashTable *runs_by_key; /* idempotency key (of the record) -> ArkStoreMemoryRun */
	GHashTable *names;	 /* interned executor and holder names, owned */
	/* a ring of events, ascending seq: appended at the back, trimmed at the front */
	ArkStoreMemoryEvent *events;
	guint events_start;
	guint events_len;
	guint events_size;
	guint64 last_event_seq;
	guint64 last_attempt_token;
	GPtrArray *audit; /* of ArkAuditRecord, owned, seq n at index n - 1 */
	/* "workflow\x1ftask" -> ArkEstimateRecord, both owned */
	GHashTable *estimates;
	/* kind -> GTree of key (of the record) -> ArkObjectRecord, owned: ordered by key like
	 * SQLite's BINARY collation */
	GHashTable *objects;
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

static inline ArkStoreMemoryTask *
ark_store_memory_task_from_id(const gchar *id)
{
	return (ArkStoreMemoryTask *)(gpointer)(id - ARK_STORE_MEMORY_TASK_FIXED_SIZE);
}

static void
ark_store_memory_notes_free(ArkStoreMemoryTaskNotes *notes)
{
	if (notes == NULL)
		return;
	g_free(notes->reason);
	g_free(notes->cancelled_by);
	g_free(notes);
}

static ArkStoreMemoryTaskNotes *
ark_store_memory_notes_new(const ArkTaskRecord *record)
{
	ArkStoreMemoryTaskNotes *notes;

	if (record->reason == NULL && record->cancelled_by == NULL &&
	    record->next_attempt_at == 0 && record->retry_base == 0)
		return NULL;
	notes = g_new(ArkStoreMemoryTaskNotes, 1);
	notes->reason = g_strdup(record->reason);
	notes->cancelled_by = g_strdup(record->cancelled_by);
	notes->next_attempt_at = record->next_attempt_at;
	notes->retry_base = record->retry_base;
	return notes;
}

static void
ark_store_memory_attempt_free(ArkStoreMemoryAttempt *attempt)
{
	g_free(attempt->error);
	g_free(attempt->log_path);
	g_free(attempt->result);
	g_free(attempt);
}

static void
ark_store_memory_task_free(ArkStoreMemoryTask *task)
{
	while (task->attempts != NULL) {
		ArkStoreMemoryAttempt *older = task->attempts->older;
		ark_store_memory_attempt_free(task->attempts);
		task->attempts = older;
	}
	ark_store_memory_notes_free(task->notes);
	g_free(task);
}

static void
ark_store_memory_run_free(ArkStoreMemoryRun *run)
{
	g_hash_table_unref(run->tasks_by_id);
	for (guint i = 0; i < run->tasks->len; i++)
		ark_store_memory_task_free(g_ptr_array_index(run->tasks, i));
	g_ptr_array_unref(run->tasks);
	ark_run_record_free(run->record);
	g_free(run);
}

static gint
ark_store_memory_compare_ids_cb(gconstpointer a, gconstpointer b, gpointer user_data)
{
	/* byte order, like SQLite's BINARY collation, so both stores page identically */
	return strcmp(a, b);
}

/* executor and holder names: a handful of distinct values shared by every attempt */
static const gchar *
ark_store_memory_intern(ArkStoreMemory *self, const gchar *str)
{
	gchar *interned;

	if (str == NULL)
		return NULL;
	interned = g_hash_table_lookup(self->names, str);
	if (interned == NULL) {
		interned = g_strdup(str);
		g_hash_table_add(self->names, interned);
	}
	return interned;
}

/* events ---------------------------------------------------------------------------------------- */

static inline ArkStoreMemoryEvent *
ark_store_memory_events_nth(ArkStoreMemory *self, guint i)
{
	return &self->events[(self->events_start + i) % self->events_size];
}

static void
ark_store_memory_event_clear(ArkStoreMemoryEvent *event)
{
	if (event->subject_kind >= ARK_STORE_MEMORY_SUBJECT_IDS)
		g_free(event->subject);
	g_free(event->data);
}

static void
ark_store_memory_events_grow(ArkStoreMemory *self)
{
	/* doubling, but not past the bound while under it: the ring of a busy store is exactly
	 * max_events long instead of up to twice that */
	guint size = MAX(self->events_size * 2, 1024);
	ArkStoreMemoryEvent *events;

	if (size > self->max_events && self->events_len < self->max_events)
		size = self->max_events;
	events = g_new(ArkStoreMemoryEvent, size);
	for (guint i = 0; i < self->events_len; i++)
		events[i] = *ark_store_memory_events_nth(self, i);
	g_free(self->events);
	self->events = events;
	self->events_size = size;
	self->events_start = 0;
}

static ArkStoreMemoryEvent *
ark_store_memory_events_push(ArkStoreMemory *self)
{
	if (self->events_len == self->events_size)
		ark_store_memory_events_grow(self);
	self->events_len++;
	return ark_store_memory_events_nth(self, self->events_len - 1);
}

/* drops the oldest (@front) or newest event; the ring must not be empty */
static void
ark_store_memory_events_drop(ArkStoreMemory *self, gboolean front)
{
	if (front) {
		ark_store_memory_event_clear(&self->events[self->events_start]);
		self->events_start = (self->events_start + 1) % self->events_size;
	} else {
		ark_store_memory_event_clear(
		    ark_store_memory_events_nth(self, self->events_len - 1));
	}
	self->events_len--;
}

static void
ark_store_memory_reset(ArkStoreMemory *self)
{
	while (self->events_len > 0)
		ark_store_memory_events_drop(self, TRUE);
	g_clear_pointer(&self->events, g_free);
	self->events_size = 0;
	self->events_start = 0;
	/* the key index points into the records, which the tree owns; events point into both */
	g_clear_pointer(&self->runs_by_key, g_hash_table_unref);
	g_clear_pointer(&self->runs, g_tree_unref);
	g_clear_pointer(&self->names, g_hash_table_unref);
	g_clear_pointer(&self->audit, g_ptr_array_unref);
	g_clear_pointer(&self->estimates, g_hash_table_unref);
	g_clear_pointer(&self->objects, g_hash_table_unref);
	self->last_event_seq = 0;
	self->last_attempt_token = 0;
}

static gboolean
ark_store_memory_open(ArkStore *store, const gchar *location, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);

	g_return_val_if_fail(!self->is_open, FALSE);

	self->runs = g_tree_new_full(ark_store_memory_compare_ids_cb, NULL, NULL,
				     (GDestroyNotify)ark_store_memory_run_free);
	self->runs_by_key = g_hash_table_new(g_str_hash, g_str_equal);
	self->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->audit = g_ptr_array_new_with_free_func((GDestroyNotify)ark_audit_record_free);
	self->estimates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)ark_estimate_record_free);
	self->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      (GDestroyNotify)g_tree_unref);
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
ark_store_memory_run_lookup_task(ArkStoreMemoryRun *run, const gchar *task_id)
{
	const gchar *id = g_hash_table_lookup(run->tasks_by_id, task_id);
	return id != NULL ? ark_store_memory_task_from_id(id) : NULL;
}

static ArkStoreMemoryTask *
ark_store_memory_lookup_task(ArkStoreMemory *self, const gchar *run_id, const gchar *task_id)
{
	ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, run_id);
	return run != NULL ? ark_store_memory_run_lookup_task(run, task_id) : NULL;
}

static ArkStoreMemoryAttempt *
ark_store_memory_task_lookup_attempt(ArkStoreMemoryTask *task, guint number)
{
	/* newest first: the usual target of an update is found at once */
	for (ArkStoreMemoryAttempt *attempt = task->attempts; attempt != NULL;
	     attempt = attempt->older) {
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
	return ((ArkStoreMemoryTask *)g_ptr_array_index(tasks, i))->index;
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

/* whether an attempt anywhere holds @token; tokens from the engine only grow, so this scan
 * runs only for a token at or below the highest one, which the engine never hands out */
static gboolean
ark_store_memory_has_token(ArkStoreMemory *self, guint64 token)
{
	for (GTreeNode *node = g_tree_node_first(self->runs); node != NULL;
	     node = g_tree_node_next(node)) {
		ArkStoreMemoryRun *run = g_tree_node_value(node);
		for (guint i = 0; i < run->tasks->len; i++) {
			ArkStoreMemoryTask *task = g_ptr_array_index(run->tasks, i);
			for (ArkStoreMemoryAttempt *a = task->attempts; a != NULL; a = a->older) {
				if (a->token == token)
					return TRUE;
			}
		}
	}
	return FALSE;
}

static void
ark_store_memory_push_undo(ArkStoreMemory *self, ArkStoreOpKind kind, gpointer target,
			   gpointer saved)
{
	ArkStoreMemoryUndo undo = {kind, target, saved};
	g_array_append_val(self->undo, undo);
}

/* operations ------------------------------------------------------------------------------------ */

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
	run->tasks_by_id = g_hash_table_new(g_str_hash, g_str_equal);
	run->tasks = g_ptr_array_sized_new(MIN(record->n_tasks, ARK_STORE_MEMORY_MAX_PRESIZE));
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
	/* the copy keeps the old values, and owns the old strings until commit */
	saved = g_memdup2(run->record, sizeof(ArkRunRecord));
	run->record->state = record->state;
	run->record->started_at = record->started_at;
	run->record->finished_at = record->finished_at;
	run->record->reason = g_strdup(record->reason);
	run->record->cancelled_by = g_strdup(record->cancelled_by);
	if (record->definition != NULL) {
		run->record->definition = g_strdup(record->definition);
		run->record->n_tasks = record->n_tasks;
	}
	ark_store_memory_push_undo(self, ARK_STORE_OP_RUN_UPDATE, run->record, saved);
	return TRUE;
}

static gboolean
ark_store_memory_insert_task(ArkStoreMemory *self, const ArkTaskRecord *record, GError **error)
{
	ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, record->run_id);
	ArkStoreMemoryTask *task;
	gsize id_size;
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
	id_size = strlen(record->task_id) + 1;
	task = g_malloc0(ARK_STORE_MEMORY_TASK_FIXED_SIZE + id_size);
	memcpy(task->id, record->task_id, id_size);
	task->run = run;
	task->notes = ark_store_memory_notes_new(record);
	task->ready_at = record->ready_at;
	task->started_at = record->started_at;
	task->finished_at = record->finished_at;
	task->index = record->index;
	task->n_attempts = record->attempts;
	task->exit_code = record->exit_code;
	task->state = record->state;
	g_hash_table_add(run->tasks_by_id, task->id);
	g_ptr_array_insert(run->tasks, position, task);
	ark_store_memory_push_undo(self, ARK_STORE_OP_TASK_INSERT, task, run);
	return TRUE;
}

static gboolean
ark_store_memory_update_task(ArkStoreMemory *self, const ArkTaskRecord *record, GError **error)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, record->run_id,
								 record->task_id);

	if (task == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no task %s in run %s",
			    record->task_id, record->run_id);
		return FALSE;
	}
	ark_store_memory_push_undo(self, ARK_STORE_OP_TASK_UPDATE, task,
				   g_memdup2(task, ARK_STORE_MEMORY_TASK_FIXED_SIZE));
	task->notes = ark_store_memory_notes_new(record);
	task->ready_at = record->ready_at;
	task->started_at = record->started_at;
	task->finished_at = record->finished_at;
	task->n_attempts = record->attempts;
	task->exit_code = record->exit_code;
	task->state = record->state;
	return TRUE;
}

static gboolean
ark_store_memory_insert_attempt(ArkStoreMemory *self, const ArkAttemptRecord *record,
				guint64 last_attempt_token, GError **error)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, record->run_id,
								 record->task_id);
	ArkStoreMemoryAttempt *attempt;
	ArkStoreMemoryAttempt **link;

	if (task == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no task %s in run %s",
			    record->task_id, record->run_id);
		return FALSE;
	}
	if (ark_store_memory_task_lookup_attempt(task, record->number) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "task %s of run %s already has an attempt %u", record->task_id,
			    record->run_id, record->number);
		return FALSE;
	}
	if (record->token <= last_attempt_token && ark_store_memory_has_token(self, record->token)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "an attempt with token %" G_GUINT64_FORMAT " exists", record->token);
		return FALSE;
	}
	attempt = g_new(ArkStoreMemoryAttempt, 1);
	attempt->executor = ark_store_memory_intern(self, record->executor);
	attempt->holder = ark_store_memory_intern(self, record->holder);
	attempt->error = g_strdup(record->error);
	attempt->log_path = g_strdup(record->log_path);
	attempt->result = g_strdup(record->result);
	attempt->token = record->token;
	attempt->started_at = record->started_at;
	attempt->finished_at = record->finished_at;
	attempt->number = record->number;
	attempt->status = record->status;
	attempt->exit_code = record->exit_code;
	attempt->signal = record->signal;
	/* newest first; a new attempt is normally the newest */
	for (link = &task->attempts; *link != NULL && (*link)->number > attempt->number;
	     link = &(*link)->older)
		;
	attempt->older = *link;
	*link = attempt;
	ark_store_memory_push_undo(self, ARK_STORE_OP_ATTEMPT_INSERT, attempt, task);
	return TRUE;
}

static gboolean
ark_store_memory_update_attempt(ArkStoreMemory *self, const ArkAttemptRecord *record,
				GError **error)
{
	ArkStoreMemoryTask *task = ark_store_memory_lookup_task(self, record->run_id,
								 record->task_id);
	ArkStoreMemoryAttempt *attempt =
	    task != NULL ? ark_store_memory_task_lookup_attempt(task, record->number) : NULL;

	if (attempt == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    "no attempt %u of task %s in run %s", record->number,
			    record->task_id, record->run_id);
		return FALSE;
	}
	ark_store_memory_push_undo(self, ARK_STORE_OP_ATTEMPT_UPDATE, attempt,
				   g_memdup2(attempt, sizeof(*attempt)));
	attempt->status = record->status;
	attempt->finished_at = record->finished_at;
	attempt->exit_code = record->exit_code;
	attempt->signal = record->signal;
	attempt->error = g_strdup(record->error);
	attempt->log_path = g_strdup(record->log_path);
	attempt->result = g_strdup(record->result);
	return TRUE;
}

static gboolean
ark_store_memory_append_event(ArkStoreMemory *self, const ArkEvent *event,
			      guint64 *last_event_seq, GError **error)
{
	ArkStoreMemoryRun *run;
	ArkStoreMemoryTask *task = NULL;
	ArkStoreMemoryEvent *kept;

	/* readers page with read_events(after_seq): a seq that went backwards would be skipped by
	 * every reader that is past it */
	if (event->seq <= *last_event_seq) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "sequence %" G_GUINT64_FORMAT " is not after %" G_GUINT64_FORMAT,
			    event->seq, *last_event_seq);
		return FALSE;
	}
	run = ark_store_memory_lookup_run(self, event->run_id);
	if (run != NULL && event->task_id != NULL)
		task = ark_store_memory_run_lookup_task(run, event->task_id);

	kept = ark_store_memory_events_push(self);
	kept->seq = event->seq;
	kept->time = event->time;
	kept->data = g_strdup(event->data);
	kept->attempt = event->attempt;
	kept->state = event->state;
	kept->kind = event->kind;
	if (task != NULL) {
		kept->subject = task;
		kept->subject_kind = ARK_STORE_MEMORY_SUBJECT_TASK;
	} else if (run != NULL && event->task_id == NULL) {
		kept->subject = run;
		kept->subject_kind = ARK_STORE_MEMORY_SUBJECT_RUN;
	} else {
		gsize run_size = strlen(event->run_id) + 1;
		gsize task_size = event->task_id != NULL ? strlen(event->task_id) + 1 : 0;
		gchar *ids = g_malloc(run_size + task_size);
		memcpy(ids, event->run_id, run_size);
		if (event->task_id != NULL)
			memcpy(ids + run_size, event->task_id, task_size);
		kept->subject = ids;
		kept->subject_kind = event->task_id != NULL
					 ? ARK_STORE_MEMORY_SUBJECT_IDS_WITH_TASK
					 : ARK_STORE_MEMORY_SUBJECT_IDS;
	}
	*last_event_seq = event->seq;
	ark_store_memory_push_undo(self, ARK_STORE_OP_EVENT, NULL, NULL);
	return TRUE;
}

/* append-only and gap-free: the chain of hashes is verified by position */
static gboolean
ark_store_memory_append_audit(ArkStoreMemory *self, const ArkAuditRecord *record, GError **error)
{
	if (record->seq != (guint64)self->audit->len + 1) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "audit record %" G_GUINT64_FORMAT " does not follow %u", record->seq,
			    self->audit->len);
		return FALSE;
	}
	g_ptr_array_add(self->audit, ark_audit_record_copy(record));
	ark_store_memory_push_undo(self, ARK_STORE_OP_AUDIT, NULL, NULL);
	return TRUE;
}

/* unit separator: neither a workflow name nor a task id holds one */
static gchar *
ark_store_memory_estimate_key(const gchar *workflow_name, const gchar *task_id)
{
	return g_strconcat(workflow_name, "\x1f", task_id, NULL);
}

/* replaces the record; the undo keeps the key and the previous record (or NULL) */
static gboolean
ark_store_memory_put_estimate(ArkStoreMemory *self, const ArkEstimateRecord *record)
{
	gchar *key = ark_store_memory_estimate_key(record->workflow_name, record->task_id);
	gpointer old_key = NULL;
	gpointer old = NULL;

	if (g_hash_table_steal_extended(self->estimates, key, &old_key, &old))
		g_free(old_key);
	g_hash_table_insert(self->estimates, key, ark_estimate_record_copy(record));
	ark_store_memory_push_undo(self, ARK_STORE_OP_ESTIMATE, g_strdup(key), old);
	return TRUE;
}

static GTree *
ark_store_memory_object_tree(ArkStoreMemory *self, const gchar *kind, gboolean create)
{
	GTree *tree = g_hash_table_lookup(self->objects, kind);

	if (tree == NULL && create) {
		tree = g_tree_new_full(ark_store_memory_compare_ids_cb, NULL, NULL,
				       (GDestroyNotify)ark_object_record_free);
		g_hash_table_insert(self->objects, g_strdup(kind), tree);
	}
	return tree;
}

/*
 * OBJECT_PUT and OBJECT_DELETE: the record of (kind, key) is replaced by a copy of @record, or
 * removed when @record has no value. The undo keeps the identity (a record without value) as
 * target and the previous record (or NULL) as saved.
 */
static gboolean
ark_store_memory_write_object(ArkStoreMemory *self, ArkStoreOpKind kind,
			      const ArkObjectRecord *record)
{
	GTree *tree = ark_store_memory_object_tree(self, record->kind, TRUE);
	ArkObjectRecord *old = g_tree_lookup(tree, record->key);
	ArkObjectRecord identity = {.kind = record->kind, .key = record->key};

	if (old != NULL)
		g_tree_steal(tree, record->key);
	if (kind == ARK_STORE_OP_OBJECT_PUT) {
		ArkObjectRecord *copy = ark_object_record_copy(record);
		g_tree_insert(tree, copy->key, copy);
	}
	ark_store_memory_push_undo(self, kind, ark_object_record_copy(&identity), old);
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
		g_free(record->cancelled_by);
		if (record->definition != saved->definition)
			g_free(record->definition);
		*record = *saved;
		g_free(saved);
		break;
	}
	case ARK_STORE_OP_TASK_INSERT: {
		ArkStoreMemoryTask *task = undo->target;
		ArkStoreMemoryRun *run = undo->saved;
		/* later tasks of the batch are already gone: it is normally the last one */
		for (guint i = run->tasks->len; i > 0; i--) {
			if (g_ptr_array_index(run->tasks, i - 1) == task) {
				g_ptr_array_remove_index(run->tasks, i - 1);
				break;
			}
		}
		g_hash_table_remove(run->tasks_by_id, task->id);
		ark_store_memory_task_free(task);
		break;
	}
	case ARK_STORE_OP_TASK_UPDATE: {
		ArkStoreMemoryTask *task = undo->target;
		ark_store_memory_notes_free(task->notes);
		memcpy(task, undo->saved, ARK_STORE_MEMORY_TASK_FIXED_SIZE);
		g_free(undo->saved);
		break;
	}
	case ARK_STORE_OP_ATTEMPT_INSERT: {
		ArkStoreMemoryAttempt *attempt = undo->target;
		ArkStoreMemoryTask *task = undo->saved;
		ArkStoreMemoryAttempt **link = &task->attempts;
		while (*link != attempt)
			link = &(*link)->older;
		*link = attempt->older;
		ark_store_memory_attempt_free(attempt);
		break;
	}
	case ARK_STORE_OP_ATTEMPT_UPDATE: {
		ArkStoreMemoryAttempt *attempt = undo->target;
		g_free(attempt->error);
		g_free(attempt->log_path);
		g_free(attempt->result);
		memcpy(attempt, undo->saved, sizeof(*attempt));
		g_free(undo->saved);
		break;
	}
	case ARK_STORE_OP_EVENT:
		ark_store_memory_events_drop(self, FALSE);
		break;
	case ARK_STORE_OP_AUDIT:
		g_ptr_array_set_size(self->audit, self->audit->len - 1);
		break;
	case ARK_STORE_OP_ESTIMATE:
		if (undo->saved != NULL)
			g_hash_table_replace(self->estimates, undo->target, undo->saved);
		else {
			g_hash_table_remove(self->estimates, undo->target);
			g_free(undo->target);
		}
		break;
	case ARK_STORE_OP_OBJECT_PUT:
	case ARK_STORE_OP_OBJECT_DELETE: {
		ArkObjectRecord *identity = undo->target;
		ArkObjectRecord *saved = undo->saved;
		GTree *tree = ark_store_memory_object_tree(self, identity->kind, TRUE);
		g_tree_remove(tree, identity->key);
		if (saved != NULL)
			g_tree_insert(tree, saved->key, saved);
		ark_object_record_free(identity);
		break;
	}
	default:
		g_assert_not_reached();
	}
}

/* the batch stays: drop the previous values the updates kept */
static void
ark_store_memory_commit(ArkStoreMemory *self, const ArkStoreMemoryUndo *undo)
{
	switch (undo->kind) {
	case ARK_STORE_OP_RUN_UPDATE: {
		ArkRunRecord *record = undo->target;
		ArkRunRecord *saved = undo->saved;
		g_free(saved->reason);
		g_free(saved->cancelled_by);
		if (record->definition != saved->definition)
			g_free(saved->definition);
		break;
	}
	case ARK_STORE_OP_TASK_UPDATE:
		ark_store_memory_notes_free(((ArkStoreMemoryTask *)undo->saved)->notes);
		break;
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		g_free(((ArkStoreMemoryAttempt *)undo->saved)->error);
		g_free(((ArkStoreMemoryAttempt *)undo->saved)->log_path);
		g_free(((ArkStoreMemoryAttempt *)undo->saved)->result);
		break;
	case ARK_STORE_OP_ESTIMATE:
		g_free(undo->target);
		ark_estimate_record_free(undo->saved);
		return;
	case ARK_STORE_OP_OBJECT_PUT:
	case ARK_STORE_OP_OBJECT_DELETE:
		ark_object_record_free(undo->target);
		ark_object_record_free(undo->saved);
		return;
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
		ark_store_memory_events_drop(self, TRUE);
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
		if (!ark_store_memory_insert_attempt(self, &op->attempt, *last_attempt_token,
						     error))
			return FALSE;
		*last_attempt_token = MAX(*last_attempt_token, op->attempt.token);
		return TRUE;
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		return ark_store_memory_update_attempt(self, &op->attempt, error);
	case ARK_STORE_OP_AUDIT:
		return ark_store_memory_append_audit(self, &op->audit, error);
	case ARK_STORE_OP_ESTIMATE:
		return ark_store_memory_put_estimate(self, &op->estimate);
	case ARK_STORE_OP_OBJECT_PUT:
	case ARK_STORE_OP_OBJECT_DELETE:
		return ark_store_memory_write_object(self, op->kind, &op->object);
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
	/* a big batch leaves a big undo log: do not keep it for the life of the store */
	if (self->undo->len == 0 && n_ops > 4096) {
		g_array_unref(self->undo);
		self->undo = g_array_new(FALSE, FALSE, sizeof(ArkStoreMemoryUndo));
	}
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

/* queries: records the caller owns, built from the compact forms ----------------------------- */

static ArkTaskRecord *
ark_store_memory_task_to_record(const ArkStoreMemoryTask *task)
{
	ArkTaskRecord *record = g_new0(ArkTaskRecord, 1);

	record->run_id = g_strdup(task->run->record->id);
	record->task_id = g_strdup(task->id);
	record->index = task->index;
	record->state = task->state;
	record->attempts = task->n_attempts;
	record->exit_code = task->exit_code;
	record->ready_at = task->ready_at;
	record->started_at = task->started_at;
	record->finished_at = task->finished_at;
	if (task->notes != NULL) {
		record->reason = g_strdup(task->notes->reason);
		record->cancelled_by = g_strdup(task->notes->cancelled_by);
		record->next_attempt_at = task->notes->next_attempt_at;
		record->retry_base = task->notes->retry_base;
	}
	return record;
}

static ArkAttemptRecord *
ark_store_memory_attempt_to_record(const ArkStoreMemoryTask *task,
				   const ArkStoreMemoryAttempt *attempt)
{
	ArkAttemptRecord *record = g_new0(ArkAttemptRecord, 1);

	record->run_id = g_strdup(task->run->record->id);
	record->task_id = g_strdup(task->id);
	record->number = attempt->number;
	record->token = attempt->token;
	record->status = attempt->status;
	record->executor = g_strdup(attempt->executor);
	record->holder = g_strdup(attempt->holder);
	record->started_at = attempt->started_at;
	record->finished_at = attempt->finished_at;
	record->exit_code = attempt->exit_code;
	record->signal = attempt->signal;
	record->error = g_strdup(attempt->error);
	record->log_path = g_strdup(attempt->log_path);
	record->result = g_strdup(attempt->result);
	return record;
}

static ArkEvent *
ark_store_memory_event_to_record(const ArkStoreMemoryEvent *kept)
{
	ArkEvent *event = g_new0(ArkEvent, 1);

	event->seq = kept->seq;
	event->time = kept->time;
	event->kind = kept->kind;
	event->attempt = kept->attempt;
	event->state = kept->state;
	event->data = g_strdup(kept->data);
	switch (kept->subject_kind) {
	case ARK_STORE_MEMORY_SUBJECT_TASK: {
		const ArkStoreMemoryTask *task = kept->subject;
		event->run_id = g_strdup(task->run->record->id);
		event->task_id = g_strdup(task->id);
		break;
	}
	case ARK_STORE_MEMORY_SUBJECT_RUN:
		event->run_id = g_strdup(((ArkStoreMemoryRun *)kept->subject)->record->id);
		break;
	default: {
		const gchar *ids = kept->subject;
		event->run_id = g_strdup(ids);
		if (kept->subject_kind == ARK_STORE_MEMORY_SUBJECT_IDS_WITH_TASK)
			event->task_id = g_strdup(ids + strlen(ids) + 1);
		break;
	}
	}
	return event;
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
	for (guint i = 0; run != NULL && i < run->tasks->len; i++)
		g_ptr_array_add(tasks, ark_store_memory_task_to_record(
					   g_ptr_array_index(run->tasks, i)));
	return tasks;
}

static void
ark_store_memory_copy_attempts(GPtrArray *into, ArkStoreMemoryTask *task)
{
	guint first = into->len;

	/* the list is newest first; callers get ascending numbers */
	for (ArkStoreMemoryAttempt *attempt = task->attempts; attempt != NULL;
	     attempt = attempt->older)
		g_ptr_array_add(into, ark_store_memory_attempt_to_record(task, attempt));
	for (guint i = first, j = into->len; i + 1 < j; i++, j--) {
		gpointer tmp = into->pdata[i];
		into->pdata[i] = into->pdata[j - 1];
		into->pdata[j - 1] = tmp;
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
		ArkStoreMemoryTask *task = ark_store_memory_run_lookup_task(run, task_id);
		if (task != NULL)
			ark_store_memory_copy_attempts(attempts, task);
		return attempts;
	}
	for (guint i = 0; i < run->tasks->len; i++)
		ark_store_memory_copy_attempts(attempts, g_ptr_array_index(run->tasks, i));
	return attempts;
}

/*
 * Only the newest max_events are kept: a reader behind them gets the oldest ones still kept, and
 * sees that it missed some because the first seq is not after_seq + 1 (the engine numbers
 * events without gaps).
 */
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
		g_ptr_array_add(events,
				ark_store_memory_event_to_record(ark_store_memory_events_nth(self, i)));
	return events;
}

static GPtrArray *
ark_store_memory_read_audit(ArkStore *store, guint64 after_seq, guint limit, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)ark_audit_record_free);

	g_return_val_if_fail(self->is_open, NULL);

	for (guint64 i = MIN(after_seq, (guint64)self->audit->len);
	     i < self->audit->len && (limit == 0 || records->len < limit); i++)
		g_ptr_array_add(records, ark_audit_record_copy(g_ptr_array_index(self->audit, i)));
	return records;
}

static ArkAuditRecord *
ark_store_memory_get_last_audit(ArkStore *store, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);

	g_return_val_if_fail(self->is_open, NULL);

	if (self->audit->len == 0) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "there are no audit records");
		return NULL;
	}
	return ark_audit_record_copy(g_ptr_array_index(self->audit, self->audit->len - 1));
}

static GPtrArray *
ark_store_memory_list_estimates(ArkStore *store, const gchar *workflow_name, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *records =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_estimate_record_free);
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(self->is_open, NULL);

	g_hash_table_iter_init(&iter, self->estimates);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const ArkEstimateRecord *record = value;
		if (strcmp(record->workflow_name, workflow_name) == 0)
			g_ptr_array_add(records, ark_estimate_record_copy(record));
	}
	return records;
}

static gboolean
ark_store_memory_list_objects_cb(gpointer key, gpointer value, gpointer user_data)
{
	g_ptr_array_add(user_data, ark_object_record_copy(value));
	return FALSE;
}

static GPtrArray *
ark_store_memory_list_objects(ArkStore *store, const gchar *kind, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)ark_object_record_free);
	GTree *tree;

	g_return_val_if_fail(self->is_open, NULL);

	tree = ark_store_memory_object_tree(self, kind, FALSE);
	if (tree != NULL)
		g_tree_foreach(tree, ark_store_memory_list_objects_cb, records);
	return records;
}

static gboolean
ark_store_memory_find_tasks_in_run(ArkStoreMemoryRun *run, const ArkTaskFilter *filter,
				   GPtrArray *into)
{
	for (guint i = 0; i < run->tasks->len; i++) {
		ArkStoreMemoryTask *task = g_ptr_array_index(run->tasks, i);
		if (filter->limit > 0 && into->len >= filter->limit)
			return FALSE;
		if (filter->state_mask != 0 &&
		    ((guint)task->state >= 32 || (filter->state_mask & (1u << task->state)) == 0))
			continue;
		g_ptr_array_add(into, ark_store_memory_task_to_record(task));
	}
	return filter->limit == 0 || into->len < filter->limit;
}

/* a scan of every task: the memory store holds one process's runs, and the DLQ is read rarely */
static GPtrArray *
ark_store_memory_find_tasks(ArkStore *store, const ArkTaskFilter *filter, GError **error)
{
	ArkStoreMemory *self = ARK_STORE_MEMORY(store);
	GPtrArray *tasks = g_ptr_array_new_with_free_func((GDestroyNotify)ark_task_record_free);
	ArkTaskFilter all = {0};

	g_return_val_if_fail(self->is_open, NULL);

	if (filter == NULL)
		filter = &all;
	if (filter->run_id != NULL) {
		ArkStoreMemoryRun *run = ark_store_memory_lookup_run(self, filter->run_id);
		if (run != NULL)
			ark_store_memory_find_tasks_in_run(run, filter, tasks);
		return tasks;
	}
	for (GTreeNode *node = g_tree_node_first(self->runs); node != NULL;
	     node = g_tree_node_next(node)) {
		if (!ark_store_memory_find_tasks_in_run(g_tree_node_value(node), filter, tasks))
			break;
	}
	return tasks;
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
	 * How many events are kept (100,000 by default, about 5 MiB): older ones are dropped
	 * after each apply(), so that a long run or a daemon on the memory store does not grow
	 * without bound. read_events() from before the oldest kept event returns from the oldest
	 * kept one. Runs, tasks and attempts are all kept.
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
	iface->find_tasks = ark_store_memory_find_tasks;
	iface->read_audit = ark_store_memory_read_audit;
	iface->get_last_audit = ark_store_memory_get_last_audit;
	iface->list_estimates = ark_store_memory_list_estimates;
	iface->list_objects = ark_store_memory_list_objects;
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
