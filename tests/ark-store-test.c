/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ark-test-utils.h"

/*
 * The behaviour every store must share runs against each store by name (/ark/store/<name>/...),
 * through the plugins as the engine loads them; the sqlite-only cases cover the file.
 */

#define T0 ((ArkTimestamp)1764000000000000) /* 2025-11-24, a realistic µs timestamp */
/* the schema version the sqlite store migrates to */
#define ARK_STORE_TEST_SCHEMA_VERSION 6

typedef struct {
	const gchar *store_name;
	ArkRegistry *registry;
	gchar *dir;
	ArkStore *store;
} Fixture;

static ArkStore *
ark_store_test_create(ArkRegistry *registry, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	gpointer store = ark_registry_create(registry, ARK_CAPABILITY_STORE, name, &error);

	g_assert_no_error(error);
	g_assert_true(ARK_IS_STORE(store));
	return store;
}

static ArkStore *
ark_store_test_open(ArkRegistry *registry, const gchar *name, const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkStore) store = ark_store_test_create(registry, name);

	g_assert_true(ark_store_open(store, dir, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&store);
}

static void
ark_store_test_setup(Fixture *fx, gconstpointer data)
{
	fx->store_name = data;
	fx->registry = ark_test_load_plugins();
	fx->dir = ark_test_mkdtemp();
	fx->store = ark_store_test_open(fx->registry, fx->store_name, fx->dir);
}

static void
ark_store_test_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->store != NULL)
		ark_store_close(fx->store);
	g_clear_object(&fx->store);
	g_clear_object(&fx->registry);
	ark_test_rmdir(fx->dir);
	g_free(fx->dir);
}

/* records with every field set; tests change what they need (strings are borrowed) */

static ArkRunRecord
ark_store_test_run(const gchar *id, const gchar *workflow_name, ArkRunState state)
{
	ArkRunRecord run = {
	    .id = (gchar *)id,
	    .workflow_name = (gchar *)workflow_name,
	    .state = state,
	    .policy = "fifo",
	    .n_tasks = 3,
	    .created_at = T0,
	};
	return run;
}

static ArkTaskRecord
ark_store_test_task(const gchar *run_id, const gchar *task_id, guint index)
{
	ArkTaskRecord task = {
	    .run_id = (gchar *)run_id,
	    .task_id = (gchar *)task_id,
	    .index = index,
	    .state = ARK_TASK_STATE_PENDING,
	    .exit_code = -1,
	};
	return task;
}

static ArkAttemptRecord
ark_store_test_attempt(const gchar *run_id, const gchar *task_id, guint number, guint64 token)
{
	ArkAttemptRecord attempt = {
	    .run_id = (gchar *)run_id,
	    .task_id = (gchar *)task_id,
	    .number = number,
	    .token = token,
	    .status = ARK_ATTEMPT_STATUS_RUNNING,
	    .executor = "process",
	    .started_at = T0 + number,
	    .exit_code = -1,
	};
	return attempt;
}

static ArkEvent
ark_store_test_event(guint64 seq, const gchar *run_id)
{
	ArkEvent event = {
	    .seq = seq,
	    .time = T0 + (ArkTimestamp)seq,
	    .kind = ARK_EVENT_RUN_STARTED,
	    .run_id = (gchar *)run_id,
	    .state = ARK_RUN_STATE_RUNNING,
	};
	return event;
}

static void
ark_store_test_apply(ArkStore *store, ArkStoreBatch *batch)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(ark_store_apply(store, batch, &error));
	g_assert_no_error(error);
}

static void
ark_store_test_add_run(ArkStore *store, const gchar *id, const gchar *workflow_name,
		       ArkRunState state)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	ArkRunRecord run = ark_store_test_run(id, workflow_name, state);

	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	ark_store_test_apply(store, batch);
}

static ArkRunRecord *
ark_store_test_get_run(ArkStore *store, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	ArkRunRecord *run = ark_store_get_run(store, id, &error);

	g_assert_no_error(error);
	g_assert_nonnull(run);
	return run;
}

static GPtrArray *
ark_store_test_list_tasks(ArkStore *store, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *tasks = ark_store_list_tasks(store, run_id, &error);

	g_assert_no_error(error);
	g_assert_nonnull(tasks);
	return tasks;
}

static GPtrArray *
ark_store_test_list_attempts(ArkStore *store, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *attempts = ark_store_list_attempts(store, run_id, task_id, &error);

	g_assert_no_error(error);
	g_assert_nonnull(attempts);
	return attempts;
}

static GPtrArray *
ark_store_test_read_events(ArkStore *store, guint64 after_seq, guint limit)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *events = ark_store_read_events(store, after_seq, limit, &error);

	g_assert_no_error(error);
	g_assert_nonnull(events);
	return events;
}

static GPtrArray *
ark_store_test_list_runs(ArkStore *store, const ArkRunFilter *filter)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *runs = ark_store_list_runs(store, filter, &error);

	g_assert_no_error(error);
	g_assert_nonnull(runs);
	return runs;
}

static void
ark_store_test_assert_run(const ArkRunRecord *a, const ArkRunRecord *b)
{
	g_assert_cmpstr(a->id, ==, b->id);
	g_assert_cmpstr(a->workflow_name, ==, b->workflow_name);
	g_assert_cmpint(a->state, ==, b->state);
	g_assert_cmpstr(a->policy, ==, b->policy);
	g_assert_cmpstr(a->submitter, ==, b->submitter);
	g_assert_cmpstr(a->idempotency_key, ==, b->idempotency_key);
	g_assert_cmpstr(a->definition, ==, b->definition);
	g_assert_cmpuint(a->n_tasks, ==, b->n_tasks);
	g_assert_cmpint(a->created_at, ==, b->created_at);
	g_assert_cmpint(a->started_at, ==, b->started_at);
	g_assert_cmpint(a->finished_at, ==, b->finished_at);
	g_assert_cmpstr(a->reason, ==, b->reason);
	g_assert_cmpstr(a->cancelled_by, ==, b->cancelled_by);
}

static void
ark_store_test_assert_task(const ArkTaskRecord *a, const ArkTaskRecord *b)
{
	g_assert_cmpstr(a->run_id, ==, b->run_id);
	g_assert_cmpstr(a->task_id, ==, b->task_id);
	g_assert_cmpuint(a->index, ==, b->index);
	g_assert_cmpint(a->state, ==, b->state);
	g_assert_cmpuint(a->attempts, ==, b->attempts);
	g_assert_cmpint(a->exit_code, ==, b->exit_code);
	g_assert_cmpint(a->ready_at, ==, b->ready_at);
	g_assert_cmpint(a->started_at, ==, b->started_at);
	g_assert_cmpint(a->finished_at, ==, b->finished_at);
	g_assert_cmpstr(a->reason, ==, b->reason);
	g_assert_cmpint(a->next_attempt_at, ==, b->next_attempt_at);
	g_assert_cmpstr(a->cancelled_by, ==, b->cancelled_by);
	g_assert_cmpuint(a->retry_base, ==, b->retry_base);
}

static void
ark_store_test_assert_attempt(const ArkAttemptRecord *a, const ArkAttemptRecord *b)
{
	g_assert_cmpstr(a->run_id, ==, b->run_id);
	g_assert_cmpstr(a->task_id, ==, b->task_id);
	g_assert_cmpuint(a->number, ==, b->number);
	g_assert_cmpuint(a->token, ==, b->token);
	g_assert_cmpint(a->status, ==, b->status);
	g_assert_cmpstr(a->executor, ==, b->executor);
	g_assert_cmpstr(a->holder, ==, b->holder);
	g_assert_cmpint(a->started_at, ==, b->started_at);
	g_assert_cmpint(a->finished_at, ==, b->finished_at);
	g_assert_cmpint(a->exit_code, ==, b->exit_code);
	g_assert_cmpint(a->signal, ==, b->signal);
	g_assert_cmpstr(a->error, ==, b->error);
	g_assert_cmpstr(a->log_path, ==, b->log_path);
	g_assert_cmpstr(a->result, ==, b->result);
}

static void
ark_store_test_assert_event(const ArkEvent *a, const ArkEvent *b)
{
	g_assert_cmpuint(a->seq, ==, b->seq);
	g_assert_cmpint(a->time, ==, b->time);
	g_assert_cmpint(a->kind, ==, b->kind);
	g_assert_cmpstr(a->run_id, ==, b->run_id);
	g_assert_cmpstr(a->task_id, ==, b->task_id);
	g_assert_cmpuint(a->attempt, ==, b->attempt);
	g_assert_cmpint(a->state, ==, b->state);
	g_assert_cmpstr(a->data, ==, b->data);
}

/*
 * The records of ark_store_test_fill(): one run with every optional field set, one with every
 * optional string NULL; tasks inserted out of index order; attempts out of (index, number) order.
 */
typedef struct {
	ArkRunRecord runs[2];
	ArkTaskRecord tasks[3];
	ArkAttemptRecord attempts[3];
	ArkEvent events[4];
} ArkStoreTestData;

static void
ark_store_test_data_init(ArkStoreTestData *d)
{
	d->runs[0] = ark_store_test_run("run-a", "build", ARK_RUN_STATE_RUNNING);
	d->runs[0].submitter = "alice";
	d->runs[0].idempotency_key = "key-a";
	d->runs[0].definition = "{\"name\":\"build\",\"tasks\":[\"é\"]}";
	d->runs[0].started_at = T0 + 1;
	d->runs[0].finished_at = G_MAXINT64; /* the full range survives */
	d->runs[0].reason = "because";
	d->runs[0].cancelled_by = "operator:bob";
	d->runs[1] = ark_store_test_run("run-b", "deploy", ARK_RUN_STATE_PENDING);
	d->runs[1].policy = NULL;
	d->runs[1].definition = NULL;
	d->runs[1].n_tasks = 0;
	d->runs[1].created_at = -5; /* before the epoch: stored as is */

	d->tasks[0] = ark_store_test_task("run-a", "compile", 0);
	d->tasks[0].state = ARK_TASK_STATE_SUCCEEDED;
	d->tasks[0].attempts = 1;
	d->tasks[0].exit_code = 0;
	d->tasks[0].ready_at = T0 + 10;
	d->tasks[0].started_at = T0 + 11;
	d->tasks[0].finished_at = T0 + 12;
	d->tasks[0].reason = "done";
	d->tasks[1] = ark_store_test_task("run-a", "test", 2);
	d->tasks[1].state = ARK_TASK_STATE_DEAD;
	d->tasks[1].attempts = 5;
	d->tasks[1].retry_base = 2; /* replayed from the DLQ once */
	d->tasks[1].exit_code = 255;
	d->tasks[2] = ark_store_test_task("run-a", "lint", 1);
	d->tasks[2].state = ARK_TASK_STATE_RETRY_WAIT;
	d->tasks[2].attempts = 1;
	d->tasks[2].next_attempt_at = T0 + 30;
	d->tasks[2].cancelled_by = "é-cancel"; /* any string round-trips, whatever the state */

	d->attempts[0] = ark_store_test_attempt("run-a", "test", 2, 9);
	d->attempts[0].status = ARK_ATTEMPT_STATUS_TIMED_OUT;
	d->attempts[0].holder = "pid:1234";
	d->attempts[0].finished_at = T0 + 99;
	d->attempts[0].signal = 9;
	d->attempts[0].error = "timed out after 5 s";
	d->attempts[0].log_path = "/var/log/arkitect/run-a/test.2.log";
	d->attempts[1] = ark_store_test_attempt("run-a", "test", 1, 7);
	d->attempts[1].status = ARK_ATTEMPT_STATUS_FAILED;
	d->attempts[1].exit_code = 1;
	d->attempts[2] = ark_store_test_attempt("run-a", "compile", 1, 8);
	d->attempts[2].executor = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(d->events); i++)
		d->events[i] = ark_store_test_event(i + 1, "run-a");
	d->events[1].kind = ARK_EVENT_TASK_STATE;
	d->events[1].task_id = "compile";
	d->events[1].state = ARK_TASK_STATE_RUNNING;
	d->events[2].kind = ARK_EVENT_ATTEMPT_FINISHED;
	d->events[2].task_id = "test";
	d->events[2].attempt = 2;
	d->events[2].state = ARK_ATTEMPT_STATUS_TIMED_OUT;
	d->events[2].data = "{\"signal\":9}";
	d->events[3].run_id = "run-b";
	d->events[3].kind = ARK_EVENT_RUN_SUBMITTED;
	d->events[3].state = ARK_RUN_STATE_PENDING;
}

/* every string handed to the store is a copy that dies right after apply(): a store that keeps
 * a borrowed pointer reads freed memory (and ASan says so) or the scribbled copy */
static void
ark_store_test_fill(ArkStore *store, const ArkStoreTestData *d)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	ArkStoreTestData c = *d;

#define COPY(field)                                                                                \
	G_STMT_START                                                                               \
	{                                                                                          \
		if ((field) != NULL) {                                                             \
			(field) = g_strdup(field);                                                 \
			g_ptr_array_add(owned, (field));                                           \
		}                                                                                  \
	}                                                                                          \
	G_STMT_END

	for (guint i = 0; i < G_N_ELEMENTS(c.runs); i++) {
		COPY(c.runs[i].id);
		COPY(c.runs[i].workflow_name);
		COPY(c.runs[i].policy);
		COPY(c.runs[i].submitter);
		COPY(c.runs[i].idempotency_key);
		COPY(c.runs[i].definition);
		COPY(c.runs[i].reason);
		COPY(c.runs[i].cancelled_by);
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &c.runs[i]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(c.tasks); i++) {
		COPY(c.tasks[i].run_id);
		COPY(c.tasks[i].task_id);
		COPY(c.tasks[i].reason);
		COPY(c.tasks[i].cancelled_by);
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &c.tasks[i]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(c.attempts); i++) {
		COPY(c.attempts[i].run_id);
		COPY(c.attempts[i].task_id);
		COPY(c.attempts[i].executor);
		COPY(c.attempts[i].holder);
		COPY(c.attempts[i].error);
		COPY(c.attempts[i].log_path);
		COPY(c.attempts[i].result);
		ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &c.attempts[i]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(c.events); i++) {
		COPY(c.events[i].run_id);
		COPY(c.events[i].task_id);
		COPY(c.events[i].data);
		ark_store_batch_add_event(batch, &c.events[i]);
	}
#undef COPY
	ark_store_test_apply(store, batch);
	for (guint i = 0; i < owned->len; i++)
		memset(g_ptr_array_index(owned, i), 'X', strlen(g_ptr_array_index(owned, i)));
}

static void
ark_store_test_check_filled(ArkStore *store, const ArkStoreTestData *d)
{
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(GPtrArray) events = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(d->runs); i++) {
		g_autoptr(ArkRunRecord) run = ark_store_test_get_run(store, d->runs[i].id);
		g_autoptr(ArkRunRecord) summary = NULL;
		g_autoptr(GError) error = NULL;
		ArkRunRecord expected = d->runs[i];

		ark_store_test_assert_run(run, &d->runs[i]);
		/* the same without the definition */
		summary = ark_store_get_run_summary(store, d->runs[i].id, &error);
		g_assert_no_error(error);
		expected.definition = NULL;
		ark_store_test_assert_run(summary, &expected);
	}
	{
		g_autoptr(GError) error = NULL;
		g_assert_null(ark_store_get_run_summary(store, "01JNOSUCHRUN", &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	}
	/* counted by state, as the records say; an unknown run has none */
	{
		g_autoptr(GError) error = NULL;
		guint counts[ARK_TASK_STATE_LAST];
		guint expected[ARK_TASK_STATE_LAST] = {0};
		g_autoptr(GPtrArray) all = ark_store_test_list_tasks(store, "run-a");

		for (guint i = 0; i < all->len; i++)
			expected[((ArkTaskRecord *)g_ptr_array_index(all, i))->state]++;
		memset(counts, 0xff, sizeof(counts));
		g_assert_true(ark_store_count_tasks(store, "run-a", counts, &error));
		g_assert_no_error(error);
		for (guint s = 0; s < ARK_TASK_STATE_LAST; s++)
			g_assert_cmpuint(counts[s], ==, expected[s]);
		memset(counts, 0xff, sizeof(counts));
		g_assert_true(ark_store_count_tasks(store, "01JNOSUCHRUN", counts, &error));
		for (guint s = 0; s < ARK_TASK_STATE_LAST; s++)
			g_assert_cmpuint(counts[s], ==, 0);
	}

	/* by index, not by insertion */
	tasks = ark_store_test_list_tasks(store, "run-a");
	g_assert_cmpuint(tasks->len, ==, 3);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 0), &d->tasks[0]);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 1), &d->tasks[2]);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 2), &d->tasks[1]);
	g_clear_pointer(&tasks, g_ptr_array_unref);
	tasks = ark_store_test_list_tasks(store, "run-b");
	g_assert_cmpuint(tasks->len, ==, 0);

	/* by task index, then number */
	attempts = ark_store_test_list_attempts(store, "run-a", NULL);
	g_assert_cmpuint(attempts->len, ==, 3);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &d->attempts[2]);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &d->attempts[1]);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 2), &d->attempts[0]);

	events = ark_store_test_read_events(store, 0, 0);
	g_assert_cmpuint(events->len, ==, G_N_ELEMENTS(d->events));
	for (guint i = 0; i < events->len; i++)
		ark_store_test_assert_event(g_ptr_array_index(events, i), &d->events[i]);

	g_assert_cmpuint(ark_store_get_last_event_seq(store), ==, 4);
	g_assert_cmpuint(ark_store_get_last_attempt_token(store), ==, 9);
}

static void
ark_store_test_apply_and_read(Fixture *fx, gconstpointer data)
{
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);
	ark_store_test_check_filled(fx->store, &d);
}

static void
ark_store_test_updates(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	ArkStoreTestData d;
	ArkRunRecord run_update;
	ArkTaskRecord task_update;
	ArkAttemptRecord attempt_update;
	/* heap copies scribbled after apply(): the store must have copied them */
	g_autofree gchar *task_reason = g_strdup("exit code 2");
	g_autofree gchar *task_cancelled_by = g_strdup("agent:7");
	g_autofree gchar *attempt_error = g_strdup("lost at recovery");
	g_autofree gchar *run_definition = g_strdup("{\"name\":\"build\",\"replayed\":true}");
	g_autofree gchar *run_cancelled_by = g_strdup("operator:eve");

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);

	/* every field differs; only the documented ones may be taken */
	run_update = (ArkRunRecord){
	    .id = "run-a",
	    .workflow_name = "other",
	    .state = ARK_RUN_STATE_FAILED,
	    .policy = "priority",
	    .submitter = "mallory",
	    .idempotency_key = "key-z",
	    .definition = run_definition, /* a DLQ replay rewrites it */
	    .n_tasks = 42,
	    .created_at = 1,
	    .started_at = T0 + 500,
	    .finished_at = T0 + 600,
	    .reason = NULL,
	    .cancelled_by = run_cancelled_by,
	};
	task_update = (ArkTaskRecord){
	    .run_id = "run-a",
	    .task_id = "lint",
	    .index = 7,
	    .state = ARK_TASK_STATE_RETRY_WAIT,
	    .attempts = 3,
	    .exit_code = 2,
	    .ready_at = T0 + 20,
	    .started_at = T0 + 21,
	    .finished_at = T0 + 22,
	    .reason = task_reason,
	    .next_attempt_at = T0 + 23,
	    .cancelled_by = task_cancelled_by,
	    .retry_base = 3,
	};
	attempt_update = (ArkAttemptRecord){
	    .run_id = "run-a",
	    .task_id = "test",
	    .number = 1,
	    .token = 1000,
	    .status = ARK_ATTEMPT_STATUS_LOST,
	    .executor = "thread",
	    .holder = "someone",
	    .started_at = 3,
	    .finished_at = T0 + 77,
	    .exit_code = -1,
	    .signal = 15,
	    .error = attempt_error,
	    .log_path = NULL,
	};
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &run_update);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task_update);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt_update);
	ark_store_test_apply(fx->store, batch);
	memset(task_reason, 'X', strlen(task_reason));
	memset(task_cancelled_by, 'X', strlen(task_cancelled_by));
	memset(attempt_error, 'X', strlen(attempt_error));
	memset(run_definition, 'X', strlen(run_definition));
	memset(run_cancelled_by, 'X', strlen(run_cancelled_by));
	task_update.reason = "exit code 2";
	task_update.cancelled_by = "agent:7";
	attempt_update.error = "lost at recovery";

	d.runs[0].state = run_update.state;
	d.runs[0].started_at = run_update.started_at;
	d.runs[0].finished_at = run_update.finished_at;
	d.runs[0].reason = NULL;
	d.runs[0].definition = "{\"name\":\"build\",\"replayed\":true}";
	/* a new definition comes with its task count (a task added to an open run) */
	d.runs[0].n_tasks = run_update.n_tasks;
	d.runs[0].cancelled_by = "operator:eve";
	run = ark_store_test_get_run(fx->store, "run-a");
	ark_store_test_assert_run(run, &d.runs[0]);

	task_update.index = d.tasks[2].index;
	tasks = ark_store_test_list_tasks(fx->store, "run-a");
	g_assert_cmpuint(tasks->len, ==, 3);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 1), &task_update);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 0), &d.tasks[0]);
	ark_store_test_assert_task(g_ptr_array_index(tasks, 2), &d.tasks[1]);

	d.attempts[1].status = attempt_update.status;
	d.attempts[1].finished_at = attempt_update.finished_at;
	d.attempts[1].exit_code = attempt_update.exit_code;
	d.attempts[1].signal = attempt_update.signal;
	d.attempts[1].error = attempt_update.error;
	d.attempts[1].log_path = NULL;
	attempts = ark_store_test_list_attempts(fx->store, "run-a", "test");
	g_assert_cmpuint(attempts->len, ==, 2);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &d.attempts[1]);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &d.attempts[0]);

	/* and back from NULL, with a string that dies after apply(); a NULL definition keeps the
	 * stored one, a NULL cancelled_by clears it */
	{
		g_autofree gchar *reason = g_strdup("1 task failed");
		run_update.reason = reason;
		run_update.definition = NULL;
		run_update.cancelled_by = NULL;
		run_update.n_tasks = 7; /* ignored without a definition */
		ark_store_batch_clear(batch);
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &run_update);
		ark_store_test_apply(fx->store, batch);
		memset(reason, 'X', strlen(reason));
	}
	g_clear_pointer(&run, ark_run_record_free);
	run = ark_store_test_get_run(fx->store, "run-a");
	g_assert_cmpstr(run->reason, ==, "1 task failed");
	g_assert_cmpstr(run->workflow_name, ==, "build");
	g_assert_cmpstr(run->definition, ==, "{\"name\":\"build\",\"replayed\":true}");
	g_assert_cmpuint(run->n_tasks, ==, 42);
	g_assert_null(run->cancelled_by);

	/* the idempotency key did not move with the ignored field */
	g_clear_pointer(&run, ark_run_record_free);
	run = ark_store_find_run_by_idempotency_key(fx->store, "key-a", NULL);
	g_assert_nonnull(run);
	g_assert_cmpstr(run->id, ==, "run-a");
	g_assert_cmpuint(ark_store_get_last_attempt_token(fx->store), ==, 9);
}

/* an update of a record that does not exist fails the batch: it is an engine bug to surface */
static void
ark_store_test_update_unknown(Fixture *fx, gconstpointer data)
{
	struct {
		ArkStoreOpKind kind;
		const gchar *run_id;
		const gchar *task_id;
	} cases[] = {
	    {ARK_STORE_OP_RUN_UPDATE, "nope", NULL},
	    {ARK_STORE_OP_TASK_UPDATE, "run-a", "nope"},
	    {ARK_STORE_OP_TASK_UPDATE, "nope", "compile"},
	    {ARK_STORE_OP_ATTEMPT_UPDATE, "run-a", "lint"},
	    {ARK_STORE_OP_ATTEMPT_UPDATE, "run-a", "nope"},
	};
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GError) error = NULL;
		ArkRunRecord run = ark_store_test_run(cases[i].run_id, "build",
						      ARK_RUN_STATE_CANCELLED);
		ArkTaskRecord task = ark_store_test_task(cases[i].run_id, cases[i].task_id, 0);
		ArkAttemptRecord attempt = ark_store_test_attempt(cases[i].run_id,
								  cases[i].task_id, 1, 1);
		ArkEvent event = ark_store_test_event(5, "run-a");

		ark_store_batch_add_event(batch, &event);
		if (cases[i].kind == ARK_STORE_OP_RUN_UPDATE)
			ark_store_batch_add_run(batch, cases[i].kind, &run);
		else if (cases[i].kind == ARK_STORE_OP_TASK_UPDATE)
			ark_store_batch_add_task(batch, cases[i].kind, &task);
		else
			ark_store_batch_add_attempt(batch, cases[i].kind, &attempt);
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		g_test_message("case %u: %s", i, error->message);
	}
	ark_store_test_check_filled(fx->store, &d);
}

/* the dead-letter queue and other task queries across runs: by run id, then index */
static void
ark_store_test_find_tasks(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	const guint dead = 1u << ARK_TASK_STATE_DEAD;
	const guint retry_wait = 1u << ARK_TASK_STATE_RETRY_WAIT;
	struct {
		ArkTaskFilter filter;
		const gchar *expected; /* run/task, ... */
	} cases[] = {
	    {{.state_mask = dead}, "run-0/t0 run-0/t2 run-a/test run-z/x"},
	    {{.state_mask = dead, .limit = 2}, "run-0/t0 run-0/t2"},
	    {{.state_mask = dead, .limit = 4}, "run-0/t0 run-0/t2 run-a/test run-z/x"},
	    {{.state_mask = dead, .run_id = "run-a"}, "run-a/test"},
	    {{.state_mask = dead | retry_wait}, "run-0/t0 run-0/t2 run-a/lint run-a/test run-z/x"},
	    {{.state_mask = dead | retry_wait, .limit = 3}, "run-0/t0 run-0/t2 run-a/lint"},
	    {{0}, "run-0/t0 run-0/t1 run-0/t2 run-a/compile run-a/lint run-a/test run-z/x"},
	    {{.state_mask = (1u << ARK_TASK_STATE_LAST) - 1, .limit = 5},
	     "run-0/t0 run-0/t1 run-0/t2 run-a/compile run-a/lint"},
	    {{.run_id = "run-0"}, "run-0/t0 run-0/t1 run-0/t2"},
	    {{.run_id = "run-0", .limit = 1}, "run-0/t0"},
	    {{.run_id = "run-b"}, ""},
	    {{.run_id = "nope"}, ""},
	    {{.state_mask = 1u << ARK_TASK_STATE_SKIPPED}, ""},
	};
	const struct {
		const gchar *run_id;
		const gchar *task_id;
		guint index;
		ArkTaskState state;
	} more[] = {
	    /* runs around run-a in id order, tasks out of index order */
	    {"run-z", "x", 0, ARK_TASK_STATE_DEAD},	  {"run-0", "t2", 2, ARK_TASK_STATE_DEAD},
	    {"run-0", "t0", 0, ARK_TASK_STATE_DEAD},	  {"run-0", "t1", 1, ARK_TASK_STATE_PENDING},
	};
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GPtrArray) found = NULL;
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);
	ark_store_test_add_run(fx->store, "run-z", "build", ARK_RUN_STATE_FAILED);
	ark_store_test_add_run(fx->store, "run-0", "build", ARK_RUN_STATE_FAILED);
	for (guint i = 0; i < G_N_ELEMENTS(more); i++) {
		ArkTaskRecord task = ark_store_test_task(more[i].run_id, more[i].task_id,
							 more[i].index);
		task.state = more[i].state;
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	}
	ark_store_test_apply(fx->store, batch);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) tasks = ark_store_find_tasks(fx->store, &cases[i].filter,
								  &error);
		g_autoptr(GString) got = g_string_new(NULL);

		g_assert_no_error(error);
		g_assert_nonnull(tasks);
		for (guint j = 0; j < tasks->len; j++) {
			ArkTaskRecord *task = g_ptr_array_index(tasks, j);
			g_string_append_printf(got, "%s%s/%s", j > 0 ? " " : "", task->run_id,
					       task->task_id);
		}
		g_test_message("case %u: %s", i, got->str);
		g_assert_cmpstr(got->str, ==, cases[i].expected);
	}

	/* a NULL filter is every task, and the records are complete */
	all = ark_store_find_tasks(fx->store, NULL, NULL);
	g_assert_nonnull(all);
	g_assert_cmpuint(all->len, ==, 7);
	found = ark_store_find_tasks(fx->store, &(ArkTaskFilter){.state_mask = dead | retry_wait,
								  .run_id = "run-a"},
				     NULL);
	g_assert_nonnull(found);
	g_assert_cmpuint(found->len, ==, 2);
	ark_store_test_assert_task(g_ptr_array_index(found, 0), &d.tasks[2]);
	ark_store_test_assert_task(g_ptr_array_index(found, 1), &d.tasks[1]);
}

/* adds @op to @batch; one by one (@each) applies every op in a batch of its own */
static void
ark_store_test_add_op(ArkStore *store, ArkStoreBatch *batch, const ArkStoreOp *op, gboolean each)
{
	switch (op->kind) {
	case ARK_STORE_OP_RUN_INSERT:
	case ARK_STORE_OP_RUN_UPDATE:
		ark_store_batch_add_run(batch, op->kind, &op->run);
		break;
	case ARK_STORE_OP_TASK_INSERT:
	case ARK_STORE_OP_TASK_UPDATE:
		ark_store_batch_add_task(batch, op->kind, &op->task);
		break;
	case ARK_STORE_OP_ATTEMPT_INSERT:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		ark_store_batch_add_attempt(batch, op->kind, &op->attempt);
		break;
	default:
		ark_store_batch_add_event(batch, &op->event);
		break;
	}
	if (each) {
		ark_store_test_apply(store, batch);
		ark_store_batch_clear(batch);
	}
}

/* a run whose task "a" fails once, is retried and succeeds, and whose task "b" is cancelled */
static void
ark_store_test_add_story(ArkStore *store, ArkStoreBatch *batch, const gchar *run_id,
			 guint64 token, guint64 *seq, gboolean each)
{
	ArkStoreOp op = {.kind = ARK_STORE_OP_RUN_INSERT};
	ArkRunRecord run = ark_store_test_run(run_id, "story", ARK_RUN_STATE_PENDING);
	ArkTaskRecord a = ark_store_test_task(run_id, "a", 0);
	ArkTaskRecord b = ark_store_test_task(run_id, "b", 1);
	ArkAttemptRecord attempt = ark_store_test_attempt(run_id, "a", 1, token);
	ArkEvent event = ark_store_test_event(0, run_id);

#define ADD(kind_, field, value)                                                                   \
	G_STMT_START                                                                               \
	{                                                                                          \
		op.kind = (kind_);                                                                 \
		op.field = (value);                                                                \
		ark_store_test_add_op(store, batch, &op, each);                                    \
	}                                                                                          \
	G_STMT_END
#define EVENT()                                                                                    \
	G_STMT_START                                                                               \
	{                                                                                          \
		event.seq = ++*seq;                                                                \
		ADD(ARK_STORE_OP_EVENT, event, event);                                             \
	}                                                                                          \
	G_STMT_END

	ADD(ARK_STORE_OP_RUN_INSERT, run, run);
	ADD(ARK_STORE_OP_TASK_INSERT, task, a);
	ADD(ARK_STORE_OP_TASK_INSERT, task, b);
	a.state = ARK_TASK_STATE_READY;
	a.ready_at = T0 + 1;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, a);
	EVENT();
	ADD(ARK_STORE_OP_ATTEMPT_INSERT, attempt, attempt);
	a.state = ARK_TASK_STATE_RUNNING;
	a.attempts = 1;
	a.started_at = T0 + 2;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, a);
	EVENT();
	attempt.status = ARK_ATTEMPT_STATUS_FAILED;
	attempt.exit_code = 3;
	attempt.error = "boom";
	attempt.finished_at = T0 + 3;
	ADD(ARK_STORE_OP_ATTEMPT_UPDATE, attempt, attempt);
	a.state = ARK_TASK_STATE_RETRY_WAIT;
	a.exit_code = 3;
	a.reason = "boom";
	a.next_attempt_at = T0 + 10;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, a);
	EVENT();
	attempt = ark_store_test_attempt(run_id, "a", 2, token + 1);
	ADD(ARK_STORE_OP_ATTEMPT_INSERT, attempt, attempt);
	a.state = ARK_TASK_STATE_RUNNING;
	a.attempts = 2;
	a.reason = NULL;
	a.next_attempt_at = 0;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, a);
	attempt.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	attempt.exit_code = 0;
	attempt.log_path = "/logs/a.2";
	attempt.finished_at = T0 + 12;
	ADD(ARK_STORE_OP_ATTEMPT_UPDATE, attempt, attempt);
	a.state = ARK_TASK_STATE_SUCCEEDED;
	a.exit_code = 0;
	a.finished_at = T0 + 12;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, a);
	EVENT();
	b.state = ARK_TASK_STATE_READY;
	ADD(ARK_STORE_OP_TASK_UPDATE, task, b);
	b.state = ARK_TASK_STATE_CANCELLED;
	b.cancelled_by = "operator:bob";
	ADD(ARK_STORE_OP_TASK_UPDATE, task, b);
	EVENT();
	run.state = ARK_RUN_STATE_CANCELLED;
	run.cancelled_by = "operator:bob";
	ADD(ARK_STORE_OP_RUN_UPDATE, run, run);
#undef EVENT
#undef ADD
}

/* a batch that coalesces leaves the store exactly as the same operations one by one */
static void
ark_store_test_coalesced(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) tasks_each = NULL;
	g_autoptr(GPtrArray) tasks_once = NULL;
	g_autoptr(GPtrArray) attempts_each = NULL;
	g_autoptr(GPtrArray) attempts_once = NULL;
	g_autoptr(GPtrArray) events = NULL;
	guint64 seq = 0;

	ark_store_test_add_story(fx->store, batch, "run-each", 10, &seq, TRUE);
	ark_store_test_add_story(fx->store, batch, "run-once", 20, &seq, FALSE);
	/* 20 operations: the 5 updates of "a", the 2 of "b" and those of the attempts went into
	 * their inserts */
	g_assert_cmpuint(ark_store_batch_get_length(batch), ==, 11);
	ark_store_test_apply(fx->store, batch);

	tasks_each = ark_store_test_list_tasks(fx->store, "run-each");
	tasks_once = ark_store_test_list_tasks(fx->store, "run-once");
	g_assert_cmpuint(tasks_each->len, ==, 2);
	g_assert_cmpuint(tasks_once->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		ArkTaskRecord *once = g_ptr_array_index(tasks_once, i);
		g_free(once->run_id);
		once->run_id = g_strdup("run-each");
		ark_store_test_assert_task(once, g_ptr_array_index(tasks_each, i));
	}
	attempts_each = ark_store_test_list_attempts(fx->store, "run-each", NULL);
	attempts_once = ark_store_test_list_attempts(fx->store, "run-once", NULL);
	g_assert_cmpuint(attempts_each->len, ==, 2);
	g_assert_cmpuint(attempts_once->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		ArkAttemptRecord *once = g_ptr_array_index(attempts_once, i);
		g_free(once->run_id);
		once->run_id = g_strdup("run-each");
		once->token -= 10;
		ark_store_test_assert_attempt(once, g_ptr_array_index(attempts_each, i));
	}
	{
		g_autoptr(ArkRunRecord) each = ark_store_test_get_run(fx->store, "run-each");
		g_autoptr(ArkRunRecord) once = ark_store_test_get_run(fx->store, "run-once");
		g_free(once->id);
		once->id = g_strdup("run-each");
		ark_store_test_assert_run(once, each);
		g_assert_cmpint(each->state, ==, ARK_RUN_STATE_CANCELLED);
	}
	/* events are never merged */
	events = ark_store_test_read_events(fx->store, 0, 0);
	g_assert_cmpuint(events->len, ==, 10);
}

#define N_LIST_RUNS 25

static gchar *
ark_store_test_run_id(guint i)
{
	return g_strdup_printf("01JRUN%04u", i);
}

static void
ark_store_test_fill_runs(ArkStore *store)
{
	/* inserted out of id order, over several batches: the order must come from the ids */
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

	for (guint n = 0; n < N_LIST_RUNS; n++) {
		guint i = (n * 7) % N_LIST_RUNS;
		gchar *id = ark_store_test_run_id(i);
		ArkRunRecord run = ark_store_test_run(id, i % 2 ? "deploy" : "build",
						      (ArkRunState)(i % ARK_RUN_STATE_LAST));
		g_ptr_array_add(ids, id);
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
		if (ark_store_batch_get_length(batch) == 6) {
			ark_store_test_apply(store, batch);
			ark_store_batch_clear(batch);
		}
	}
	ark_store_test_apply(store, batch);
}

static gboolean
ark_store_test_run_matches(guint i, const ArkRunFilter *filter)
{
	ArkRunState state = (ArkRunState)(i % ARK_RUN_STATE_LAST);
	if (filter->state_mask != 0 && (filter->state_mask & (1u << state)) == 0)
		return FALSE;
	if (filter->workflow_name != NULL &&
	    g_strcmp0(filter->workflow_name, i % 2 ? "deploy" : "build") != 0)
		return FALSE;
	return TRUE;
}

/* what list_runs() must return for @filter, computed independently of any store */
static GPtrArray *
ark_store_test_expected_runs(const ArkRunFilter *filter)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);

	for (guint n = 0; n < N_LIST_RUNS; n++) {
		guint i = filter->newest_first ? N_LIST_RUNS - 1 - n : n;
		g_autofree gchar *id = ark_store_test_run_id(i);
		if (filter->after != NULL) {
			gint cmp = strcmp(id, filter->after);
			if (filter->newest_first ? cmp >= 0 : cmp <= 0)
				continue;
		}
		if (!ark_store_test_run_matches(i, filter))
			continue;
		if (filter->limit > 0 && ids->len == filter->limit)
			break;
		g_ptr_array_add(ids, g_steal_pointer(&id));
	}
	return ids;
}

static void
ark_store_test_assert_runs(ArkStore *store, const ArkRunFilter *filter)
{
	g_autoptr(GPtrArray) runs = ark_store_test_list_runs(store, filter);
	g_autoptr(GPtrArray) expected = ark_store_test_expected_runs(filter);

	g_assert_cmpuint(runs->len, ==, expected->len);
	for (guint i = 0; i < runs->len; i++) {
		ArkRunRecord *run = g_ptr_array_index(runs, i);
		g_assert_cmpstr(run->id, ==, g_ptr_array_index(expected, i));
		g_assert_true(filter->state_mask == 0 ||
			      (filter->state_mask & (1u << run->state)) != 0);
	}
}

/* walks every page of @filter with the cursor; the pages must join to the unpaged list */
static void
ark_store_test_assert_pages(ArkStore *store, ArkRunFilter filter, guint page_size)
{
	g_autoptr(GPtrArray) expected = NULL;
	g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
	guint n_pages = 0;

	filter.after = NULL;
	filter.limit = 0;
	expected = ark_store_test_expected_runs(&filter);
	filter.limit = page_size;
	for (;;) {
		g_autoptr(GPtrArray) page = ark_store_test_list_runs(store, &filter);
		g_assert_cmpuint(page->len, <=, page_size);
		for (guint i = 0; i < page->len; i++) {
			ArkRunRecord *run = g_ptr_array_index(page, i);
			g_ptr_array_add(seen, g_strdup(run->id));
		}
		n_pages++;
		g_assert_cmpuint(n_pages, <=, N_LIST_RUNS + 1);
		if (page->len < page_size)
			break;
		filter.after = g_ptr_array_index(seen, seen->len - 1);
	}
	g_assert_cmpuint(seen->len, ==, expected->len);
	for (guint i = 0; i < seen->len; i++)
		g_assert_cmpstr(g_ptr_array_index(seen, i), ==, g_ptr_array_index(expected, i));
}

static void
ark_store_test_list_runs_filters(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *middle = ark_store_test_run_id(10);
	g_autofree gchar *between = g_strconcat(middle, "x", NULL);
	const guint running_or_failed = (1u << ARK_RUN_STATE_RUNNING) |
					(1u << ARK_RUN_STATE_FAILED);
	const guint every_state = (1u << ARK_RUN_STATE_LAST) - 1;
	ArkRunFilter filters[] = {
	    {0},
	    {.newest_first = TRUE},
	    {.state_mask = running_or_failed},
	    {.state_mask = 1u << ARK_RUN_STATE_CANCELLED, .newest_first = TRUE},
	    {.state_mask = every_state},
	    {.workflow_name = "deploy"},
	    {.workflow_name = "nothing"},
	    {.workflow_name = "build", .state_mask = running_or_failed},
	    {.after = middle},
	    {.after = middle, .newest_first = TRUE},
	    {.after = between},
	    {.after = between, .newest_first = TRUE, .workflow_name = "build"},
	    {.limit = 4},
	    {.limit = 4, .newest_first = TRUE, .state_mask = running_or_failed},
	    {.limit = 100},
	};
	g_autoptr(GPtrArray) runs = NULL;

	ark_store_test_fill_runs(fx->store);
	for (guint i = 0; i < G_N_ELEMENTS(filters); i++)
		ark_store_test_assert_runs(fx->store, &filters[i]);

	/* a NULL filter lists everything, and the records are complete */
	runs = ark_store_list_runs(fx->store, NULL, NULL);
	g_assert_nonnull(runs);
	g_assert_cmpuint(runs->len, ==, N_LIST_RUNS);
	g_assert_cmpstr(((ArkRunRecord *)g_ptr_array_index(runs, 0))->policy, ==, "fifo");

	/* the cursor is exclusive, in both directions */
	g_clear_pointer(&runs, g_ptr_array_unref);
	runs = ark_store_test_list_runs(fx->store, &(ArkRunFilter){.after = middle, .limit = 1});
	g_assert_cmpuint(runs->len, ==, 1);
	g_assert_cmpstr(((ArkRunRecord *)g_ptr_array_index(runs, 0))->id, ==, "01JRUN0011");
	g_clear_pointer(&runs, g_ptr_array_unref);
	runs = ark_store_test_list_runs(
	    fx->store, &(ArkRunFilter){.after = middle, .limit = 1, .newest_first = TRUE});
	g_assert_cmpuint(runs->len, ==, 1);
	g_assert_cmpstr(((ArkRunRecord *)g_ptr_array_index(runs, 0))->id, ==, "01JRUN0009");
}

static void
ark_store_test_list_runs_pages(Fixture *fx, gconstpointer data)
{
	ark_store_test_fill_runs(fx->store);
	for (guint page_size = 1; page_size <= N_LIST_RUNS + 1; page_size += 3) {
		ark_store_test_assert_pages(fx->store, (ArkRunFilter){0}, page_size);
		ark_store_test_assert_pages(fx->store, (ArkRunFilter){.newest_first = TRUE},
					    page_size);
		ark_store_test_assert_pages(fx->store, (ArkRunFilter){.workflow_name = "deploy"},
					    page_size);
		ark_store_test_assert_pages(
		    fx->store,
		    (ArkRunFilter){.state_mask = (1u << ARK_RUN_STATE_PENDING) |
						 (1u << ARK_RUN_STATE_SUCCEEDED),
				   .newest_first = TRUE},
		    page_size);
	}
	/* an exact multiple: the last page is empty, not a repeat */
	ark_store_test_assert_pages(fx->store, (ArkRunFilter){0}, 5);
}

static void
ark_store_test_idempotency_key(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(ArkRunRecord) found = NULL;
	g_autoptr(GError) error = NULL;
	ArkRunRecord with_key = ark_store_test_run("run-1", "build", ARK_RUN_STATE_PENDING);
	ArkRunRecord no_key_1 = ark_store_test_run("run-2", "build", ARK_RUN_STATE_PENDING);
	ArkRunRecord no_key_2 = ark_store_test_run("run-3", "build", ARK_RUN_STATE_PENDING);

	with_key.idempotency_key = "submit-42";
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &with_key);
	/* runs without a key never collide */
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &no_key_1);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &no_key_2);
	ark_store_test_apply(fx->store, batch);

	found = ark_store_find_run_by_idempotency_key(fx->store, "submit-42", &error);
	g_assert_no_error(error);
	g_assert_nonnull(found);
	ark_store_test_assert_run(found, &with_key);
	g_clear_pointer(&found, ark_run_record_free);

	found = ark_store_find_run_by_idempotency_key(fx->store, "submit-43", &error);
	g_assert_null(found);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* run ids are not keys */
	found = ark_store_find_run_by_idempotency_key(fx->store, "run-2", &error);
	g_assert_null(found);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
}

static void
ark_store_test_attempts(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) attempts = NULL;
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);

	attempts = ark_store_test_list_attempts(fx->store, "run-a", "test");
	g_assert_cmpuint(attempts->len, ==, 2);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &d.attempts[1]);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &d.attempts[0]);
	g_clear_pointer(&attempts, g_ptr_array_unref);

	attempts = ark_store_test_list_attempts(fx->store, "run-a", "compile");
	g_assert_cmpuint(attempts->len, ==, 1);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &d.attempts[2]);
	g_clear_pointer(&attempts, g_ptr_array_unref);

	/* a task without attempts, an unknown task, an unknown run: empty, not an error */
	attempts = ark_store_test_list_attempts(fx->store, "run-a", "lint");
	g_assert_cmpuint(attempts->len, ==, 0);
	g_clear_pointer(&attempts, g_ptr_array_unref);
	attempts = ark_store_test_list_attempts(fx->store, "run-a", "nope");
	g_assert_cmpuint(attempts->len, ==, 0);
	g_clear_pointer(&attempts, g_ptr_array_unref);
	attempts = ark_store_test_list_attempts(fx->store, "run-b", NULL);
	g_assert_cmpuint(attempts->len, ==, 0);
	g_clear_pointer(&attempts, g_ptr_array_unref);
	attempts = ark_store_test_list_attempts(fx->store, "nope", NULL);
	g_assert_cmpuint(attempts->len, ==, 0);
}

static void
ark_store_test_events(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) events = NULL;
	struct {
		guint64 after;
		guint limit;
		guint64 first;
		guint n;
	} reads[] = {
	    {0, 0, 1, 10}, {0, 3, 1, 3},  {3, 4, 4, 4},	   {8, 100, 9, 2},
	    {9, 0, 10, 1}, {10, 5, 0, 0}, {1000, 0, 0, 0}, {G_MAXUINT64, 1, 0, 0},
	};

	ark_store_test_add_run(fx->store, "run-a", "build", ARK_RUN_STATE_RUNNING);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 0);
	for (guint64 seq = 1; seq <= 10; seq++) {
		ArkEvent event = ark_store_test_event(seq, "run-a");
		ark_store_batch_add_event(batch, &event);
		/* several batches: the sequence continues across them */
		if (seq % 4 == 0) {
			ark_store_test_apply(fx->store, batch);
			ark_store_batch_clear(batch);
			g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, seq);
		}
	}
	ark_store_test_apply(fx->store, batch);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 10);

	for (guint i = 0; i < G_N_ELEMENTS(reads); i++) {
		events = ark_store_test_read_events(fx->store, reads[i].after, reads[i].limit);
		g_assert_cmpuint(events->len, ==, reads[i].n);
		for (guint j = 0; j < events->len; j++) {
			ArkEvent expected = ark_store_test_event(reads[i].first + j, "run-a");
			ark_store_test_assert_event(g_ptr_array_index(events, j), &expected);
		}
		g_clear_pointer(&events, g_ptr_array_unref);
	}
}

/* readers page by seq, so a seq that does not move forward is refused, with the whole batch */
static void
ark_store_test_events_order(Fixture *fx, gconstpointer data)
{
	const guint64 bad_seqs[] = {0, 3, 2};

	ark_store_test_add_run(fx->store, "run-a", "build", ARK_RUN_STATE_RUNNING);
	for (guint64 seq = 1; seq <= 3; seq++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		ArkEvent event = ark_store_test_event(seq, "run-a");
		ark_store_batch_add_event(batch, &event);
		ark_store_test_apply(fx->store, batch);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad_seqs); i++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) events = NULL;
		ArkEvent good = ark_store_test_event(4, "run-a");
		ArkEvent bad = ark_store_test_event(bad_seqs[i], "run-a");

		ark_store_batch_add_event(batch, &good);
		ark_store_batch_add_event(batch, &bad);
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 3);
		events = ark_store_test_read_events(fx->store, 0, 0);
		g_assert_cmpuint(events->len, ==, 3);
	}
}

static void
ark_store_test_last_values(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	ArkTaskRecord task = ark_store_test_task("run-a", "t", 0);
	const guint64 tokens[] = {5, 12, 3};

	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 0);
	g_assert_cmpuint(ark_store_get_last_attempt_token(fx->store), ==, 0);

	ark_store_test_add_run(fx->store, "run-a", "build", ARK_RUN_STATE_RUNNING);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	for (guint i = 0; i < G_N_ELEMENTS(tokens); i++) {
		ArkAttemptRecord attempt = ark_store_test_attempt("run-a", "t", i + 1, tokens[i]);
		ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
	}
	for (guint64 seq = 1; seq <= 7; seq++) {
		ArkEvent event = ark_store_test_event(seq, "run-a");
		ark_store_batch_add_event(batch, &event);
	}
	ark_store_test_apply(fx->store, batch);
	/* the maximum, not the last inserted */
	g_assert_cmpuint(ark_store_get_last_attempt_token(fx->store), ==, 12);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 7);

	/* a failed batch moves neither */
	ark_store_batch_clear(batch);
	{
		ArkAttemptRecord attempt = ark_store_test_attempt("run-a", "t", 4, 100);
		ArkAttemptRecord same_token = ark_store_test_attempt("run-a", "t", 5, 12);
		ArkEvent event = ark_store_test_event(8, "run-a");
		ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
		ark_store_batch_add_event(batch, &event);
		ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &same_token);
	}
	g_assert_false(ark_store_apply(fx->store, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_EXISTS);
	g_assert_cmpuint(ark_store_get_last_attempt_token(fx->store), ==, 12);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 7);
}

static void
ark_store_test_not_found(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;

	run = ark_store_get_run(fx->store, "01JNOSUCHRUN", &error);
	g_assert_null(run);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "01JNOSUCHRUN"));
	g_clear_error(&error);

	ark_store_test_add_run(fx->store, "01JRUN", "build", ARK_RUN_STATE_PENDING);
	/* not a prefix match */
	run = ark_store_get_run(fx->store, "01JRU", &error);
	g_assert_null(run);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);

	tasks = ark_store_test_list_tasks(fx->store, "01JNOSUCHRUN");
	g_assert_cmpuint(tasks->len, ==, 0);
}

/* valid operations first, then the failing one: none of them may be visible afterwards */
static void
ark_store_test_add_doomed_prefix(ArkStoreBatch *batch)
{
	ArkRunRecord new_run = ark_store_test_run("run-new", "deploy", ARK_RUN_STATE_PENDING);
	ArkRunRecord update = ark_store_test_run("run-a", "build", ARK_RUN_STATE_CANCELLED);
	ArkTaskRecord new_task = ark_store_test_task("run-new", "t", 0);
	ArkTaskRecord task_update = ark_store_test_task("run-a", "lint", 1);
	ArkAttemptRecord new_attempt = ark_store_test_attempt("run-new", "t", 1, 50);
	ArkAttemptRecord attempt_update = ark_store_test_attempt("run-a", "test", 1, 7);
	ArkEvent event_5 = ark_store_test_event(5, "run-new");
	ArkEvent event_6 = ark_store_test_event(6, "run-a");

	new_run.idempotency_key = "key-new";
	update.reason = "cancelled by test";
	update.finished_at = T0 + 1000;
	update.definition = "{\"doomed\":true}";
	update.cancelled_by = "operator:doomed";
	task_update.state = ARK_TASK_STATE_CANCELLED;
	task_update.reason = "cancelled";
	task_update.cancelled_by = "operator:doomed";
	task_update.next_attempt_at = T0 + 1001;
	task_update.retry_base = 1;
	attempt_update.status = ARK_ATTEMPT_STATUS_CANCELLED;
	attempt_update.error = "cancelled";

	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &new_run);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &new_task);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &new_attempt);
	ark_store_batch_add_event(batch, &event_5);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &update);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task_update);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt_update);
	ark_store_batch_add_event(batch, &event_6);
}

static void
ark_store_test_check_nothing_of_doomed(ArkStore *store, const ArkStoreTestData *d)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;

	run = ark_store_get_run(store, "run-new", &error);
	g_assert_null(run);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	run = ark_store_find_run_by_idempotency_key(store, "key-new", &error);
	g_assert_null(run);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	tasks = ark_store_test_list_tasks(store, "run-new");
	g_assert_cmpuint(tasks->len, ==, 0);
	attempts = ark_store_test_list_attempts(store, "run-new", NULL);
	g_assert_cmpuint(attempts->len, ==, 0);
	/* and what was there is as it was, updates included */
	ark_store_test_check_filled(store, d);
}

static void
ark_store_test_atomic_duplicate_run(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	ArkRunRecord duplicate = ark_store_test_run("run-a", "other", ARK_RUN_STATE_PENDING);
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);

	ark_store_test_add_doomed_prefix(batch);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &duplicate);
	g_assert_false(ark_store_apply(fx->store, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_EXISTS);
	g_test_message("%s", error->message);
	ark_store_test_check_nothing_of_doomed(fx->store, &d);

	/* the same batch without the duplicate applies: nothing was left half-done */
	g_clear_pointer(&batch, ark_store_batch_free);
	batch = ark_store_batch_new();
	ark_store_test_add_doomed_prefix(batch);
	ark_store_test_apply(fx->store, batch);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 6);
	g_assert_cmpuint(ark_store_get_last_attempt_token(fx->store), ==, 50);
}

/* each constraint a store enforces, with the error it gives; the batch is always all or nothing */
static void
ark_store_test_atomic_constraints(Fixture *fx, gconstpointer data)
{
	struct {
		const gchar *what;
		ArkStoreOpKind kind;
		const gchar *run_id;
		const gchar *task_id;
		guint number; /* task index for tasks */
		guint64 token;
		const gchar *key;
		gint code;
	} cases[] = {
	    {"duplicate run", ARK_STORE_OP_RUN_INSERT, "run-b", NULL, 0, 0, NULL, ARK_ERROR_EXISTS},
	    {"duplicate key", ARK_STORE_OP_RUN_INSERT, "run-c", NULL, 0, 0, "key-a",
	     ARK_ERROR_EXISTS},
	    {"key of the same batch", ARK_STORE_OP_RUN_INSERT, "run-d", NULL, 0, 0, "key-new",
	     ARK_ERROR_EXISTS},
	    {"run of the same batch", ARK_STORE_OP_RUN_INSERT, "run-new", NULL, 0, 0, NULL,
	     ARK_ERROR_EXISTS},
	    {"duplicate task", ARK_STORE_OP_TASK_INSERT, "run-a", "lint", 5, 0, NULL,
	     ARK_ERROR_EXISTS},
	    {"duplicate task index", ARK_STORE_OP_TASK_INSERT, "run-a", "new", 2, 0, NULL,
	     ARK_ERROR_EXISTS},
	    {"task of an unknown run", ARK_STORE_OP_TASK_INSERT, "nope", "t", 0, 0, NULL,
	     ARK_ERROR_NOT_FOUND},
	    {"duplicate attempt", ARK_STORE_OP_ATTEMPT_INSERT, "run-a", "test", 2, 77, NULL,
	     ARK_ERROR_EXISTS},
	    {"duplicate token", ARK_STORE_OP_ATTEMPT_INSERT, "run-a", "lint", 1, 8, NULL,
	     ARK_ERROR_EXISTS},
	    {"token of the same batch", ARK_STORE_OP_ATTEMPT_INSERT, "run-a", "lint", 1, 50, NULL,
	     ARK_ERROR_EXISTS},
	    {"attempt of an unknown task", ARK_STORE_OP_ATTEMPT_INSERT, "run-a", "nope", 1, 78,
	     NULL, ARK_ERROR_NOT_FOUND},
	    {"run without id", ARK_STORE_OP_RUN_INSERT, NULL, NULL, 0, 0, NULL,
	     ARK_ERROR_INVALID_ARGUMENT},
	    {"task without id", ARK_STORE_OP_TASK_INSERT, "run-a", NULL, 9, 0, NULL,
	     ARK_ERROR_INVALID_ARGUMENT},
	    {"event without run", ARK_STORE_OP_EVENT, NULL, NULL, 0, 0, NULL,
	     ARK_ERROR_INVALID_ARGUMENT},
	};
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(fx->store, &d);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GError) error = NULL;
		ArkRunRecord run = ark_store_test_run(cases[i].run_id, "build",
						      ARK_RUN_STATE_PENDING);
		ArkTaskRecord task = ark_store_test_task(cases[i].run_id, cases[i].task_id,
							 cases[i].number);
		ArkAttemptRecord attempt = ark_store_test_attempt(
		    cases[i].run_id, cases[i].task_id, cases[i].number, cases[i].token);
		ArkEvent event = ark_store_test_event(7, cases[i].run_id);

		run.idempotency_key = (gchar *)cases[i].key;
		ark_store_test_add_doomed_prefix(batch);
		switch (cases[i].kind) {
		case ARK_STORE_OP_RUN_INSERT:
			ark_store_batch_add_run(batch, cases[i].kind, &run);
			break;
		case ARK_STORE_OP_TASK_INSERT:
			ark_store_batch_add_task(batch, cases[i].kind, &task);
			break;
		case ARK_STORE_OP_ATTEMPT_INSERT:
			ark_store_batch_add_attempt(batch, cases[i].kind, &attempt);
			break;
		default:
			ark_store_batch_add_event(batch, &event);
			break;
		}
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_test_message("%s: %s", cases[i].what, error->message);
		g_assert_error(error, ARK_ERROR, cases[i].code);
		ark_store_test_check_nothing_of_doomed(fx->store, &d);
	}
}

static void
ark_store_test_big_batch(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) events = NULL;
	ArkRunRecord run = ark_store_test_run("run-big", "fan-out", ARK_RUN_STATE_PENDING);
	const guint n_tasks = 10000;

	run.n_tasks = n_tasks;
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	for (guint i = 0; i < n_tasks; i++) {
		g_autofree gchar *task_id = g_strdup_printf("task-%05u", i);
		ArkTaskRecord task = ark_store_test_task("run-big", NULL, i);
		ArkEvent event = ark_store_test_event(i + 1, "run-big");
		/* the batch owns interned strings: the loop's copy dies every iteration */
		task.task_id = (gchar *)ark_store_batch_intern(batch, task_id);
		event.task_id = task.task_id;
		event.kind = ARK_EVENT_TASK_STATE;
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
		ark_store_batch_add_event(batch, &event);
	}
	ark_store_test_apply(fx->store, batch);

	tasks = ark_store_test_list_tasks(fx->store, "run-big");
	g_assert_cmpuint(tasks->len, ==, n_tasks);
	for (guint i = 0; i < n_tasks; i++) {
		ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		g_autofree gchar *task_id = g_strdup_printf("task-%05u", i);
		g_assert_cmpuint(task->index, ==, i);
		g_assert_cmpstr(task->task_id, ==, task_id);
	}
	events = ark_store_test_read_events(fx->store, n_tasks - 10, 0);
	g_assert_cmpuint(events->len, ==, 10);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, n_tasks);
}

/* per-operation cost of apply() for engine-like batches; printed, never asserted */
static void
ark_store_test_measure(ArkStore *store, const gchar *label)
{
	const guint n_batches = 200;
	const guint ops_per_batch = 100;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GTimer) timer = NULL;
	ArkRunRecord run = ark_store_test_run("run-perf", "perf", ARK_RUN_STATE_RUNNING);
	g_autoptr(GPtrArray) task_ids = g_ptr_array_new_with_free_func(g_free);
	guint64 seq = ark_store_get_last_event_seq(store);
	gdouble elapsed;

	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	for (guint i = 0; i < ops_per_batch; i++) {
		ArkTaskRecord task = ark_store_test_task("run-perf", NULL, i);
		task.task_id = g_strdup_printf("task-%03u", i);
		g_ptr_array_add(task_ids, task.task_id);
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	}
	ark_store_test_apply(store, batch);

	/* one transition = a task update plus its event, as the engine writes them */
	timer = g_timer_new();
	for (guint b = 0; b < n_batches; b++) {
		ark_store_batch_clear(batch);
		for (guint i = 0; i < ops_per_batch / 2; i++) {
			ArkTaskRecord task = ark_store_test_task(
			    "run-perf", g_ptr_array_index(task_ids, (b + i) % ops_per_batch), 0);
			ArkEvent event = ark_store_test_event(++seq, "run-perf");
			task.state = (ArkTaskState)(b % ARK_TASK_STATE_LAST);
			task.ready_at = T0 + b;
			event.kind = ARK_EVENT_TASK_STATE;
			event.task_id = task.task_id;
			ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
			ark_store_batch_add_event(batch, &event);
		}
		ark_store_test_apply(store, batch);
	}
	elapsed = g_timer_elapsed(timer, NULL);
	g_test_message("%s: %u batches of %u ops: %.2f us per op, %.0f us per batch", label,
		       n_batches, ops_per_batch, elapsed * 1e6 / (n_batches * ops_per_batch),
		       elapsed * 1e6 / n_batches);
}

static void
ark_store_test_perf(Fixture *fx, gconstpointer data)
{
	if (!g_test_perf()) {
		g_test_skip("a measurement: run with -m perf");
		return;
	}
	if (g_strcmp0(fx->store_name, "sqlite") != 0) {
		ark_store_test_measure(fx->store, fx->store_name);
		return;
	}
	for (guint i = 0; i < 3; i++) {
		const gchar *durability = (const gchar *[]){"full", "normal", "off"}[i];
		g_autofree gchar *dir = ark_test_mkdtemp();
		g_autoptr(ArkStore) store = ark_store_test_create(fx->registry, "sqlite");
		g_autofree gchar *label = g_strdup_printf("sqlite durability=%s", durability);
		g_autoptr(GError) error = NULL;

		g_object_set(store, "durability", durability, NULL);
		g_assert_true(ark_store_open(store, dir, &error));
		g_assert_no_error(error);
		ark_store_test_measure(store, label);
		ark_store_close(store);
		ark_test_rmdir(dir);
	}
}

/* store-memory only */

static void
ark_store_test_memory_max_events(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) events = NULL;
	guint max_events = 0;

	g_object_get(fx->store, "max-events", &max_events, NULL);
	g_assert_cmpuint(max_events, ==, 100000);
	g_object_set(fx->store, "max-events", 5, NULL);

	ark_store_test_add_run(fx->store, "run-a", "build", ARK_RUN_STATE_RUNNING);
	for (guint64 seq = 1; seq <= 2000; seq++) {
		ArkEvent event = ark_store_test_event(seq, "run-a");
		ark_store_batch_add_event(batch, &event);
		if (seq % 3 == 0 || seq == 8) {
			ark_store_test_apply(fx->store, batch);
			ark_store_batch_clear(batch);
		}
		if (seq == 8) {
			/* only the newest are kept; a failed batch does not drop more */
			g_autoptr(ArkStoreBatch) bad = ark_store_batch_new();
			ArkEvent stale = ark_store_test_event(2, "run-a");
			ark_store_batch_add_event(bad, &stale);
			g_assert_false(ark_store_apply(fx->store, bad, NULL));
			events = ark_store_test_read_events(fx->store, 0, 0);
			g_assert_cmpuint(events->len, ==, 5);
			g_assert_cmpuint(((ArkEvent *)g_ptr_array_index(events, 0))->seq, ==, 4);
			g_clear_pointer(&events, g_ptr_array_unref);
		}
	}
	ark_store_test_apply(fx->store, batch);
	events = ark_store_test_read_events(fx->store, 0, 0);
	g_assert_cmpuint(events->len, ==, 5);
	for (guint i = 0; i < 5; i++)
		g_assert_cmpuint(((ArkEvent *)g_ptr_array_index(events, i))->seq, ==, 1996 + i);
	g_assert_cmpuint(ark_store_get_last_event_seq(fx->store), ==, 2000);
	g_clear_pointer(&events, g_ptr_array_unref);
	/* readers behind the window get what is left */
	events = ark_store_test_read_events(fx->store, 10, 2);
	g_assert_cmpuint(events->len, ==, 2);
	g_assert_cmpuint(((ArkEvent *)g_ptr_array_index(events, 0))->seq, ==, 1996);
}

/* what the memory store keeps per task, from the allocator's count of bytes in use */
static gsize
ark_store_test_heap_in_use(void)
{
	struct mallinfo2 info = mallinfo2();
	return info.uordblks + info.hblkhd;
}

#define FOOTPRINT_RUN_ID "01JDQ8Z3M4X6Y7Z8A9B0C1D2E3"
#define FOOTPRINT_N_TASKS 10000

/* a task that goes ready -> running -> succeeded, as the engine records it, in @batch */
static void
ark_store_test_add_lifecycle(ArkStoreBatch *batch, const gchar *task_id, guint index,
			     guint64 *seq, guint64 token)
{
	ArkTaskRecord task = ark_store_test_task(FOOTPRINT_RUN_ID, task_id, index);
	ArkAttemptRecord attempt = ark_store_test_attempt(FOOTPRINT_RUN_ID, task_id, 1, token);
	ArkEvent event = ark_store_test_event(0, FOOTPRINT_RUN_ID);
	const ArkTaskState states[] = {ARK_TASK_STATE_READY, ARK_TASK_STATE_RUNNING,
				       ARK_TASK_STATE_SUCCEEDED};

	event.kind = ARK_EVENT_TASK_STATE;
	event.task_id = (gchar *)task_id;
	attempt.executor = "thread";
	for (guint i = 0; i < G_N_ELEMENTS(states); i++) {
		task.state = states[i];
		task.ready_at = T0 + index;
		if (states[i] == ARK_TASK_STATE_RUNNING) {
			task.attempts = 1;
			task.started_at = T0 + index + 1;
			ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
		}
		if (states[i] == ARK_TASK_STATE_SUCCEEDED) {
			attempt.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
			attempt.exit_code = 0;
			attempt.finished_at = T0 + index + 2;
			ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt);
			event.kind = ARK_EVENT_ATTEMPT_FINISHED;
			event.seq = ++*seq;
			event.attempt = 1;
			event.state = attempt.status;
			ark_store_batch_add_event(batch, &event);
			task.exit_code = 0;
			task.finished_at = attempt.finished_at;
		}
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
		event.kind = ARK_EVENT_TASK_STATE;
		event.seq = ++*seq;
		event.attempt = task.attempts;
		event.state = task.state;
		ark_store_batch_add_event(batch, &event);
		if (states[i] == ARK_TASK_STATE_RUNNING) {
			event.kind = ARK_EVENT_ATTEMPT_STARTED;
			event.seq = ++*seq;
			event.state = ARK_ATTEMPT_STATUS_RUNNING;
			ark_store_batch_add_event(batch, &event);
		}
	}
}

static void
ark_store_test_memory_footprint(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	ArkRunRecord run = ark_store_test_run(FOOTPRINT_RUN_ID, "fan-out", ARK_RUN_STATE_PENDING);
	g_autoptr(GPtrArray) task_ids = g_ptr_array_new_with_free_func(g_free);
	gsize before;
	gsize queued;
	gsize finished = 0;
	guint64 seq = 0;

	for (guint i = 0; i < FOOTPRINT_N_TASKS; i++)
		g_ptr_array_add(task_ids, g_strdup_printf("task-%05u", i));

	run.n_tasks = FOOTPRINT_N_TASKS;
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	for (guint i = 0; i < FOOTPRINT_N_TASKS; i++) {
		ArkTaskRecord task = ark_store_test_task(FOOTPRINT_RUN_ID,
							 g_ptr_array_index(task_ids, i), i);
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	}
	/* only what apply() keeps: the batch is built before the first count */
	before = ark_store_test_heap_in_use();
	ark_store_test_apply(fx->store, batch);
	queued = ark_store_test_heap_in_use() - before;
	ark_store_batch_clear(batch);

	for (guint i = 0; i < FOOTPRINT_N_TASKS; i++) {
		ark_store_test_add_lifecycle(batch, g_ptr_array_index(task_ids, i), i, &seq,
					     i + 1);
		if (i % 100 == 99) {
			before = ark_store_test_heap_in_use();
			ark_store_test_apply(fx->store, batch);
			finished += ark_store_test_heap_in_use() - before;
			ark_store_batch_clear(batch);
		}
	}

	g_test_message("memory store: %.0f bytes per queued task, %.0f more per task that ran "
		       "(1 attempt, %.0f events per task)",
		       (gdouble)queued / FOOTPRINT_N_TASKS, (gdouble)finished / FOOTPRINT_N_TASKS,
		       (gdouble)seq / FOOTPRINT_N_TASKS);
#ifndef __SANITIZE_ADDRESS__
	/* docs/storage.md promises this for --ephemeral runs; the sanitizer's allocator is not
	 * glibc's and counts differently */
	g_assert_cmpuint(queued / FOOTPRINT_N_TASKS, <=, 150);
#endif
}

/* store-sqlite only */

/* audit records ----------------------------------------------------------------------------- */

/* a record with every field set but the optional ones @seq leaves out; the hashes are just
 * labels here: stores keep the chain as given, the engine computes it */
static ArkAuditRecord
ark_store_test_audit(guint64 seq)
{
	static const gchar *const hashes[] = {"h0", "h1", "h2", "h3", "h4", "h5", "h6",
					      "h7", "h8", "h9", "h10", "h11", "h12"};
	ArkAuditRecord audit = {
	    .seq = seq,
	    .time = T0 + (ArkTimestamp)seq,
	    .actor = "token:ci",
	    .origin = seq % 2 == 0 ? "http 127.0.0.1:41234" : NULL,
	    .action = "run.submit",
	    .target = seq % 3 == 0 ? NULL : "01JRUN/é",
	    .result = seq % 4 == 0 ? "not-found" : "ok",
	    .request_id = seq % 2 == 1 ? "req-1" : NULL,
	    .detail = seq % 2 == 0 ? "{\"workflow\":\"build\"}" : NULL,
	    .prev_hash = (gchar *)hashes[MIN(seq - 1, G_N_ELEMENTS(hashes) - 1)],
	    .hash = (gchar *)hashes[MIN(seq, G_N_ELEMENTS(hashes) - 1)],
	};
	return audit;
}

static void
ark_store_test_assert_audit(const ArkAuditRecord *a, const ArkAuditRecord *b)
{
	g_assert_cmpuint(a->seq, ==, b->seq);
	g_assert_cmpint(a->time, ==, b->time);
	g_assert_cmpstr(a->actor, ==, b->actor);
	g_assert_cmpstr(a->origin, ==, b->origin);
	g_assert_cmpstr(a->action, ==, b->action);
	g_assert_cmpstr(a->target, ==, b->target);
	g_assert_cmpstr(a->result, ==, b->result);
	g_assert_cmpstr(a->request_id, ==, b->request_id);
	g_assert_cmpstr(a->detail, ==, b->detail);
	g_assert_cmpstr(a->prev_hash, ==, b->prev_hash);
	g_assert_cmpstr(a->hash, ==, b->hash);
}

/* appends records @first..@last in one batch, each string a copy that dies after apply() */
static void
ark_store_test_add_audit(ArkStore *store, guint64 first, guint64 last)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();

	for (guint64 seq = first; seq <= last; seq++) {
		ArkAuditRecord audit = ark_store_test_audit(seq);
		audit.actor = (gchar *)ark_store_batch_intern(batch, audit.actor);
		audit.target = (gchar *)ark_store_batch_intern(batch, audit.target);
		audit.detail = (gchar *)ark_store_batch_intern(batch, audit.detail);
		ark_store_batch_add_audit(batch, &audit);
	}
	ark_store_test_apply(store, batch);
}

/* the records @first.. of @store are exactly ark_store_test_audit(first..last) */
static void
ark_store_test_check_audit(ArkStore *store, guint64 after, guint limit, guint64 first, guint64 n)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) records = ark_store_read_audit(store, after, limit, &error);

	g_assert_no_error(error);
	g_assert_nonnull(records);
	g_assert_cmpuint(records->len, ==, n);
	for (guint i = 0; i < records->len; i++) {
		ArkAuditRecord expected = ark_store_test_audit(first + i);
		ark_store_test_assert_audit(g_ptr_array_index(records, i), &expected);
	}
}

static void
ark_store_test_assert_last_audit(ArkStore *store, guint64 seq)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkAuditRecord) last = ark_store_get_last_audit(store, &error);

	if (seq == 0) {
		g_assert_null(last);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		return;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(last->seq, ==, seq);
	g_assert_cmpstr(last->hash, ==, ark_store_test_audit(seq).hash);
}

static void
ark_store_test_audit_records(Fixture *fx, gconstpointer data)
{
	ark_store_test_assert_last_audit(fx->store, 0);
	ark_store_test_check_audit(fx->store, 0, 0, 1, 0);

	/* several batches, the strings scribbled over after each */
	ark_store_test_add_audit(fx->store, 1, 1);
	ark_store_test_add_audit(fx->store, 2, 6);
	ark_store_test_add_audit(fx->store, 7, 10);
	ark_store_test_assert_last_audit(fx->store, 10);

	ark_store_test_check_audit(fx->store, 0, 0, 1, 10);
	ark_store_test_check_audit(fx->store, 0, 3, 1, 3);
	ark_store_test_check_audit(fx->store, 3, 4, 4, 4);
	ark_store_test_check_audit(fx->store, 9, 0, 10, 1);
	ark_store_test_check_audit(fx->store, 10, 0, 0, 0);
	ark_store_test_check_audit(fx->store, G_MAXUINT64, 1, 0, 0);
}

/* the log is gap-free and append-only; a refused record takes its whole batch with it */
static void
ark_store_test_audit_refused(Fixture *fx, gconstpointer data)
{
	struct {
		guint64 seq;
		gboolean drop_actor;
		gboolean drop_hash;
	} bad[] = {
	    {5, FALSE, FALSE}, /* a gap */
	    {3, FALSE, FALSE}, /* again */
	    {1, FALSE, FALSE},
	    {0, FALSE, FALSE}, /* seqs start at 1 */
	    {4, TRUE, FALSE},  /* who is not optional */
	    {4, FALSE, TRUE},  /* nor the chain */
	};

	ark_store_test_add_audit(fx->store, 1, 3);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GError) error = NULL;
		ArkRunRecord run = ark_store_test_run("run-doomed", "w", ARK_RUN_STATE_PENDING);
		ArkAuditRecord audit = ark_store_test_audit(bad[i].seq);

		if (bad[i].drop_actor)
			audit.actor = NULL;
		if (bad[i].drop_hash)
			audit.hash = NULL;
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
		ark_store_batch_add_audit(batch, &audit);
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, "(operation 2 of 2)"));
		g_clear_error(&error);

		g_assert_null(ark_store_get_run(fx->store, "run-doomed", &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		ark_store_test_assert_last_audit(fx->store, 3);
		ark_store_test_check_audit(fx->store, 0, 0, 1, 3);
	}

	/* two records of one batch, the second one wrong: neither is kept */
	{
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GError) error = NULL;
		ArkAuditRecord good = ark_store_test_audit(4);
		ArkAuditRecord again = ark_store_test_audit(4);

		ark_store_batch_add_audit(batch, &good);
		ark_store_batch_add_audit(batch, &again);
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		ark_store_test_assert_last_audit(fx->store, 3);
	}
	/* and the log goes on where it was */
	ark_store_test_add_audit(fx->store, 4, 4);
	ark_store_test_check_audit(fx->store, 0, 0, 1, 4);
}

static gchar *
ark_store_test_db_path(const gchar *dir)
{
	return g_build_filename(dir, "arkitect.db", NULL);
}

static void
ark_store_test_sqlite_reopen(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(store, &d);
	ark_store_close(store);
	g_clear_object(&store);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	ark_store_close(store);
	g_clear_object(&store);

	/* and once more, having changed nothing: the schema is not migrated twice */
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/* the audit log survives a reopen, and the next record must follow the last one stored */
static void
ark_store_test_sqlite_audit_reopen(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	ArkAuditRecord gap = ark_store_test_audit(7);

	ark_store_test_add_audit(store, 1, 5);
	ark_store_close(store);
	g_clear_object(&store);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_assert_last_audit(store, 5);
	ark_store_batch_add_audit(batch, &gap);
	g_assert_false(ark_store_apply(store, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	ark_store_test_add_audit(store, 6, 8);
	ark_store_test_check_audit(store, 0, 0, 1, 8);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

#define CRASH_DIR_VAR "ARK_STORE_TEST_CRASH_DIR"

static void
ark_store_test_sqlite_crash(void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *wal_path = NULL;
	g_autoptr(ArkRegistry) registry = NULL;
	g_autoptr(ArkStore) store = NULL;
	GStatBuf st;
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	if (g_test_subprocess()) {
		/* the child: commit, then die without closing or checkpointing */
		registry = ark_test_load_plugins();
		store = ark_store_test_open(registry, "sqlite", g_getenv(CRASH_DIR_VAR));
		ark_store_test_fill(store, &d);
		_exit(0);
	}

	dir = ark_test_mkdtemp();
	g_setenv(CRASH_DIR_VAR, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_unsetenv(CRASH_DIR_VAR);
	g_test_trap_assert_passed();

	/* the commits are only in the WAL: what a crash leaves behind */
	wal_path = g_build_filename(dir, "arkitect.db-wal", NULL);
	g_assert_cmpint(g_stat(wal_path, &st), ==, 0);
	g_assert_cmpint(st.st_size, >, 0);

	registry = ark_test_load_plugins();
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/* writes a big-endian 32-bit field of the SQLite file header (the database must be closed) */
static void
ark_store_test_patch_header(const gchar *dir, gsize offset, guint32 value)
{
	g_autofree gchar *path = ark_store_test_db_path(dir);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	guint32 be = GUINT32_TO_BE(value);
	gsize length = 0;

	g_file_get_contents(path, &contents, &length, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(length, >=, 100);
	memcpy(contents + offset, &be, sizeof(be));
	g_file_set_contents(path, contents, (gssize)length, &error);
	g_assert_no_error(error);
}

static guint32
ark_store_test_read_header(const gchar *dir, gsize offset)
{
	g_autofree gchar *path = ark_store_test_db_path(dir);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	guint32 be;
	gsize length = 0;

	g_file_get_contents(path, &contents, &length, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(length, >=, 100);
	memcpy(&be, contents + offset, sizeof(be));
	return GUINT32_FROM_BE(be);
}

#define HEADER_WRITE_VERSION 18 /* one byte each: 1 rollback journal, 2 WAL */
#define HEADER_USER_VERSION 60
#define HEADER_APPLICATION_ID 68

/* the bytes and modification time of a file, to show that a refused open did not touch it */
typedef struct {
	GBytes *contents;
	gint64 mtime_ns;
} ArkStoreTestSnapshot;

static ArkStoreTestSnapshot
ark_store_test_snapshot(const gchar *path)
{
	ArkStoreTestSnapshot snapshot = {0};
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;
	gsize length = 0;
	struct stat st;

	g_file_get_contents(path, &contents, &length, &error);
	g_assert_no_error(error);
	snapshot.contents = g_bytes_new_take(contents, length);
	g_assert_cmpint(stat(path, &st), ==, 0);
	snapshot.mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
			    st.st_mtim.tv_nsec;
	return snapshot;
}

static void
ark_store_test_assert_unchanged(const gchar *path, ArkStoreTestSnapshot *before)
{
	ArkStoreTestSnapshot after = ark_store_test_snapshot(path);

	g_assert_true(g_bytes_equal(before->contents, after.contents));
	g_assert_cmpint(before->mtime_ns, ==, after.mtime_ns);
	g_bytes_unref(after.contents);
	g_clear_pointer(&before->contents, g_bytes_unref);
}

static void
ark_store_test_sqlite_refused(ArkRegistry *registry, const gchar *dir, gint code,
			      const gchar *needle)
{
	g_autoptr(ArkStore) store = ark_store_test_create(registry, "sqlite");
	g_autoptr(GError) error = NULL;

	g_assert_false(ark_store_open(store, dir, &error));
	g_assert_error(error, ARK_ERROR, code);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, dir));
	g_assert_nonnull(strstr(error->message, needle));
	/* a refused store is inert: closing and disposing it is safe */
	ark_store_close(store);
}

/* a refused database is left byte for byte as it was, and the directory keeps no lock */
static void
ark_store_test_sqlite_refused_untouched(ArkRegistry *registry, const gchar *dir,
					const gchar *needle)
{
	g_autofree gchar *path = ark_store_test_db_path(dir);
	ArkStoreTestSnapshot before = ark_store_test_snapshot(path);

	ark_store_test_sqlite_refused(registry, dir, ARK_ERROR_STORAGE, needle);
	ark_store_test_assert_unchanged(path, &before);
}

/* a directory with a closed database holding the records of ark_store_test_fill() */
static gchar *
ark_store_test_sqlite_filled_dir(ArkRegistry *registry)
{
	gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(store, &d);
	ark_store_close(store);
	return dir;
}

static void
ark_store_test_sqlite_newer_schema(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_sqlite_filled_dir(registry);
	g_autoptr(ArkStore) store = NULL;
	ArkStoreTestData d;

	ark_store_test_patch_header(dir, HEADER_USER_VERSION, 99);
	ark_store_test_sqlite_refused_untouched(registry, dir, "newer");

	/* refusing did not touch the data: back at the current version it opens with everything */
	ark_store_test_patch_header(dir, HEADER_USER_VERSION, ARK_STORE_TEST_SCHEMA_VERSION);
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_data_init(&d);
	ark_store_test_check_filled(store, &d);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/*
 * Another application's database, in the rollback-journal mode most applications use: switching
 * it to WAL would already rewrite its header, so it must be refused before that.
 */
static void
ark_store_test_sqlite_foreign_database(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	const guint32 application_ids[] = {0x12345678, 0};

	for (guint i = 0; i < G_N_ELEMENTS(application_ids); i++) {
		g_autofree gchar *dir = ark_store_test_sqlite_filled_dir(registry);
		g_autofree gchar *path = ark_store_test_db_path(dir);
		g_autofree gchar *contents = NULL;
		g_autoptr(GError) error = NULL;
		gsize length = 0;

		/* 0: no application id, but tables that are not ours */
		ark_store_test_patch_header(dir, HEADER_APPLICATION_ID, application_ids[i]);
		g_file_get_contents(path, &contents, &length, &error);
		g_assert_no_error(error);
		contents[HEADER_WRITE_VERSION] = contents[HEADER_WRITE_VERSION + 1] = 1;
		g_file_set_contents(path, contents, (gssize)length, &error);
		g_assert_no_error(error);

		ark_store_test_sqlite_refused_untouched(registry, dir, "not an Arkitect");
		ark_test_rmdir(dir);
	}
}

static void
ark_store_test_sqlite_garbage(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *path = ark_store_test_db_path(dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; text->len < 16384; i++)
		g_string_append_printf(text, "this is not a database, line %u\n", i);
	g_file_set_contents(path, text->str, -1, &error);
	g_assert_no_error(error);

	/* the file is left as it was, for the operator to look at */
	ark_store_test_sqlite_refused_untouched(registry, dir, "not a database");
}

/* a database cut short (a copy that did not finish, a full disk at the wrong moment) */
static void
ark_store_test_sqlite_truncated(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_sqlite_filled_dir(registry);
	g_autofree gchar *path = ark_store_test_db_path(dir);
	GStatBuf st;

	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_size, >, 4 * 4096);
	g_assert_cmpint(truncate(path, st.st_size / 2), ==, 0);
	ark_store_test_sqlite_refused_untouched(registry, dir, "malformed");
	ark_test_rmdir(dir);
}

/* page 1 (the schema) overwritten past the file header */
static void
ark_store_test_sqlite_damaged(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_sqlite_filled_dir(registry);
	g_autofree gchar *path = ark_store_test_db_path(dir);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	gsize length = 0;

	g_file_get_contents(path, &contents, &length, &error);
	g_assert_no_error(error);
	for (gsize i = 100; i < 4096; i++)
		contents[i] = (gchar)(i * 7 + 13);
	g_file_set_contents(path, contents, (gssize)length, &error);
	g_assert_no_error(error);
	ark_store_test_sqlite_refused_untouched(registry, dir, "malformed");
	ark_test_rmdir(dir);
}

/* a copy of a database file of the test sources, as <new dir>/arkitect.db */
static gchar *
ark_store_test_copy_fixture(const gchar *name)
{
	g_autofree gchar *source = g_test_build_filename(G_TEST_DIST, name, NULL);
	gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *path = ark_store_test_db_path(dir);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	gsize length = 0;

	g_file_get_contents(source, &contents, &length, &error);
	g_assert_no_error(error);
	g_file_set_contents(path, contents, (gssize)length, &error);
	g_assert_no_error(error);
	return dir;
}

/* what the v1 fixture holds: ark_store_test_fill() as it was when version 1 was current */
static void
ark_store_test_data_init_v1(ArkStoreTestData *d)
{
	ark_store_test_data_init(d);
	d->runs[0].cancelled_by = NULL;
	d->tasks[2].state = ARK_TASK_STATE_PENDING;
	d->tasks[2].attempts = 0;
	d->tasks[2].next_attempt_at = 0;
	d->tasks[2].cancelled_by = NULL;
	d->tasks[1].attempts = 2;
	d->tasks[1].retry_base = 0;
}

/*
 * tests/ark-store-v1.db was written by the version 1 store (commit 313d685) with
 * ark_store_test_fill(); it must open with every record and take the new fields.
 */
static void
ark_store_test_sqlite_migrate_v1(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_copy_fixture("ark-store-v1.db");
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) dead = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	ArkRunRecord run_update;
	ArkStoreTestData d;

	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, 1);
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_data_init_v1(&d);
	ark_store_test_check_filled(store, &d);

	/* the dead-letter queue finds what version 1 stored */
	dead = ark_store_find_tasks(store, &(ArkTaskFilter){.state_mask = 1u << ARK_TASK_STATE_DEAD},
				    NULL);
	g_assert_nonnull(dead);
	g_assert_cmpuint(dead->len, ==, 1);
	ark_store_test_assert_task(g_ptr_array_index(dead, 0), &d.tasks[1]);

	/* the new columns take values */
	ark_store_test_data_init(&d);
	run_update = d.runs[0];
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &run_update);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &d.tasks[1]);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &d.tasks[2]);
	ark_store_test_apply(store, batch);
	ark_store_close(store);
	g_clear_object(&store);
	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, ARK_STORE_TEST_SCHEMA_VERSION);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	run = ark_store_test_get_run(store, "run-a");
	g_assert_cmpstr(run->cancelled_by, ==, "operator:bob");
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/*
 * tests/ark-store-v2.db was written by the version 2 store (commit 19e8ed2) with
 * ark_store_test_fill(): it must open with every record, migrated to the current version in place, and
 * take audit records. A reader refuses it until a writer has migrated it.
 */
static void
ark_store_test_sqlite_migrate_v2(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_copy_fixture("ark-store-v2.db");
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(GError) error = NULL;
	ArkStoreTestData d;

	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, 2);
	store = ark_store_test_create(registry, "sqlite");
	g_object_set(store, "read-only", TRUE, NULL);
	g_assert_false(ark_store_open(store, dir, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "schema version 2"));
	g_clear_object(&store);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_data_init(&d);
	ark_store_test_check_filled(store, &d);
	ark_store_test_assert_last_audit(store, 0);
	ark_store_test_add_audit(store, 1, 2);
	ark_store_close(store);
	g_clear_object(&store);
	/* the header is written back at the checkpoint of the close */
	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, ARK_STORE_TEST_SCHEMA_VERSION);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	ark_store_test_check_audit(store, 0, 0, 1, 2);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

static const ArkEstimateRecord *
ark_store_test_find_estimate(GPtrArray *estimates, const gchar *task_id)
{
	for (guint i = 0; i < estimates->len; i++) {
		const ArkEstimateRecord *e = g_ptr_array_index(estimates, i);
		if (g_strcmp0(e->task_id, task_id) == 0)
			return e;
	}
	return NULL;
}

/* learned estimates: replaced by (workflow, task), listed by workflow, undone with their batch */
static void
ark_store_test_estimates(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	ArkEstimateRecord a = {"ci", "build", 120 * G_USEC_PER_SEC, 1, 1000};
	ArkEstimateRecord b = {"ci", "test", 30 * G_USEC_PER_SEC, 4, 1000};
	ArkEstimateRecord c = {"nightly", "build", 900 * G_USEC_PER_SEC, 2, 1000};
	ArkEstimateRecord bad = {"ci", "lint", 0, 1, 1000};
	const ArkEstimateRecord *e;

	g_assert_true(ark_store_supports_estimates(fx->store));
	list = ark_store_list_estimates(fx->store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);

	ark_store_batch_add_estimate(batch, &a);
	ark_store_batch_add_estimate(batch, &b);
	ark_store_batch_add_estimate(batch, &c);
	a.estimate = 100 * G_USEC_PER_SEC; /* the second one of the batch wins */
	a.samples = 2;
	ark_store_batch_add_estimate(batch, &a);
	ark_store_test_apply(fx->store, batch);
	ark_store_batch_clear(batch);

	list = ark_store_list_estimates(fx->store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 2);
	e = ark_store_test_find_estimate(list, "build");
	g_assert_nonnull(e);
	g_assert_cmpstr(e->workflow_name, ==, "ci");
	g_assert_cmpint(e->estimate, ==, 100 * G_USEC_PER_SEC);
	g_assert_cmpuint(e->samples, ==, 2);
	g_assert_cmpint(e->updated_at, ==, 1000);
	e = ark_store_test_find_estimate(list, "test");
	g_assert_nonnull(e);
	g_assert_cmpint(e->estimate, ==, 30 * G_USEC_PER_SEC);
	g_clear_pointer(&list, g_ptr_array_unref);

	/* a batch that fails leaves the estimates as they were */
	a.estimate = 5 * G_USEC_PER_SEC;
	ark_store_batch_add_estimate(batch, &a);
	b.task_id = "new";
	ark_store_batch_add_estimate(batch, &b);
	ark_store_batch_add_estimate(batch, &bad);
	g_assert_false(ark_store_apply(fx->store, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	list = ark_store_list_estimates(fx->store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpint(ark_store_test_find_estimate(list, "build")->estimate, ==,
			100 * G_USEC_PER_SEC);
	g_assert_null(ark_store_test_find_estimate(list, "new"));
	g_clear_pointer(&list, g_ptr_array_unref);

	list = ark_store_list_estimates(fx->store, "nightly", &error);
	g_assert_cmpuint(list->len, ==, 1);
	g_assert_cmpint(((ArkEstimateRecord *)g_ptr_array_index(list, 0))->estimate, ==,
			900 * G_USEC_PER_SEC);
}

/*
 * tests/ark-store-v3.db is the v2 fixture brought to version 3 (the audit table) the way the
 * version 3 store does it, checkpointed: version 4 adds the estimates table. It must open with
 * every record, migrated in place, take estimates and keep them across a reopen.
 */
static void
ark_store_test_sqlite_migrate_v3(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_copy_fixture("ark-store-v3.db");
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	ArkEstimateRecord est = {"ci", "build", 42 * G_USEC_PER_SEC, 3, 1000};
	ArkStoreTestData d;

	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, 3);
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_data_init(&d);
	ark_store_test_check_filled(store, &d);
	ark_store_test_assert_last_audit(store, 0);
	ark_store_batch_add_estimate(batch, &est);
	ark_store_test_apply(store, batch);
	ark_store_close(store);
	g_clear_object(&store);
	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, ARK_STORE_TEST_SCHEMA_VERSION);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	list = ark_store_list_estimates(store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 1);
	g_assert_cmpint(((ArkEstimateRecord *)g_ptr_array_index(list, 0))->estimate, ==,
			42 * G_USEC_PER_SEC);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/*
 * tests/ark-store-v1-conflict.db is the v1 fixture with an index named like the one version 2
 * creates (sqlite3: CREATE INDEX tasks_by_state ON tasks (run_id)): the migration fails at its
 * last step, after its ALTER TABLEs, and must leave the database at version 1, unchanged.
 */
static void
ark_store_test_sqlite_migrate_failure(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_copy_fixture("ark-store-v1-conflict.db");

	ark_store_test_sqlite_refused_untouched(registry, dir, "already exists");
	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, 1);
	ark_test_rmdir(dir);
}

/* the helper process of the lock test: holds the store at @dir open until it is killed */
static int
ark_store_test_hold_lock(const gchar *dir)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);

	g_print("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

/* starts the helper on @dir; returns its pid once it holds the store */
static GPid
ark_store_test_spawn_holder(const gchar *dir)
{
	g_autofree gchar *exe = g_file_read_link("/proc/self/exe", NULL);
	const gchar *argv[] = {exe, "--hold-lock", dir, NULL};
	g_autoptr(GError) error = NULL;
	gchar line[16] = {0};
	gsize n = 0;
	GPid pid = 0;
	gint out = -1;

	g_assert_nonnull(exe);
	g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
				 NULL, &pid, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	/* blocks until the helper opened the store; EOF if it died trying */
	while (n < 6) {
		ssize_t r = read(out, line + n, 6 - n);
		if (r < 0 && errno == EINTR)
			continue;
		g_assert_cmpint(r, >, 0);
		n += (gsize)r;
	}
	g_assert_cmpstr(line, ==, "ready\n");
	close(out);
	return pid;
}

static void
ark_store_test_sqlite_lock(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *lock_path = g_build_filename(dir, "arkitect.db.lock", NULL);
	g_autofree gchar *own = g_strdup_printf("process %d (ark-store-test)", (gint)getpid());
	g_autofree gchar *content = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *other = NULL;
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);
	g_autoptr(ArkStore) second = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	gint status = 0;
	GPid pid;

	/* a second open in the same process is refused too, and leaves the first working */
	ark_store_test_sqlite_refused(registry, dir, ARK_ERROR_BUSY, own);
	ark_store_test_add_run(store, "run-a", "build", ARK_RUN_STATE_PENDING);
	ark_store_close(store);
	g_clear_object(&store);

	/* released by close */
	second = ark_store_test_open(registry, "sqlite", dir);
	ark_store_close(second);

	/* another process: refused, with its pid, as long as it lives */
	pid = ark_store_test_spawn_holder(dir);
	other = g_strdup_printf("is in use by process %d (ark-store-test)", (gint)pid);
	ark_store_test_sqlite_refused(registry, dir, ARK_ERROR_BUSY, other);
	content = ark_test_read_file(lock_path);
	expected = g_strdup_printf("%d ark-store-test\n", (gint)pid);
	g_assert_cmpstr(content, ==, expected);

	/* and released when it dies, however it dies */
	g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status));
	g_spawn_close_pid(pid);
	store = ark_store_test_open(registry, "sqlite", dir);
	g_clear_pointer(&content, g_free);
	g_clear_pointer(&expected, g_free);
	content = ark_test_read_file(lock_path);
	expected = g_strdup_printf("%d ark-store-test\n", (gint)getpid());
	g_assert_cmpstr(content, ==, expected);
	run = ark_store_test_get_run(store, "run-a");
	g_assert_cmpstr(run->workflow_name, ==, "build");
	ark_store_close(store);
	ark_test_rmdir(dir);
}

#define FULL_DIR_VAR "ARK_STORE_TEST_FULL_DIR"

static goffset
ark_store_test_file_size(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	GStatBuf st;
	return g_stat(path, &st) == 0 ? (goffset)st.st_size : 0;
}

typedef struct {
	ArkStore *reader;
	gboolean saw;
} ArkStoreTestReaderThread;

static gpointer
ark_store_test_reader_thread_cb(gpointer data)
{
	ArkStoreTestReaderThread *t = data;
	g_autoptr(ArkRunRecord) run = ark_store_get_run(t->reader, "run-t", NULL);

	t->saw = run != NULL && g_strcmp0(run->workflow_name, "threaded") == 0;
	return NULL;
}

/* ark_store_open_reader(): a view for another thread that sees each commit of the owner made
 * before a read begins, and writes nothing; the memory store has none */
static void
ark_store_test_open_reader(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) owner = ark_store_test_open(registry, "sqlite", dir);
	g_autoptr(ArkStore) memory = ark_store_test_open(registry, "memory", NULL);
	g_autoptr(ArkStore) reader = NULL;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GError) error = NULL;
	ArkStoreTestReaderThread t = {0};
	GThread *thread;
	ArkRunRecord rec = {.id = "run-x", .workflow_name = "w", .definition = "{}", .n_tasks = 0};

	ark_store_test_add_run(owner, "run-a", "build", ARK_RUN_STATE_RUNNING);
	reader = ark_store_open_reader(owner, &error);
	g_assert_no_error(error);
	g_assert_nonnull(reader);
	run = ark_store_test_get_run(reader, "run-a");
	g_assert_cmpstr(run->workflow_name, ==, "build");
	/* a commit after the reader opened, read from another thread */
	ark_store_test_add_run(owner, "run-t", "threaded", ARK_RUN_STATE_PENDING);
	t.reader = reader;
	thread = g_thread_new("reader", ark_store_test_reader_thread_cb, &t);
	g_thread_join(thread);
	g_assert_true(t.saw);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &rec);
	g_assert_false(ark_store_apply(reader, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	ark_store_close(reader);

	g_assert_null(ark_store_open_reader(memory, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED);
}

/* a reader beside the owner: no lock taken, the owner's commits visible, nothing written */
static void
ark_store_test_sqlite_read_only(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *empty = ark_test_mkdtemp();
	g_autoptr(ArkStore) owner = ark_store_test_open(registry, "sqlite", dir);
	g_autoptr(ArkStore) reader = NULL;
	g_autoptr(ArkStore) missing = NULL;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GError) error = NULL;
	ArkRunRecord rec = {.id = "run-b", .workflow_name = "w", .definition = "{}", .n_tasks = 0};

	ark_store_test_add_run(owner, "run-a", "build", ARK_RUN_STATE_RUNNING);
	reader = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", &error);
	g_assert_no_error(error);
	g_object_set(reader, "read-only", TRUE, NULL);
	g_assert_true(ark_store_open(reader, dir, &error));
	g_assert_no_error(error);
	run = ark_store_test_get_run(reader, "run-a");
	g_assert_cmpstr(run->workflow_name, ==, "build");
	/* a commit of the owner after the reader opened is seen */
	ark_store_test_add_run(owner, "run-c", "later", ARK_RUN_STATE_PENDING);
	g_clear_pointer(&run, ark_run_record_free);
	run = ark_store_test_get_run(reader, "run-c");
	g_assert_cmpstr(run->workflow_name, ==, "later");
	/* the audit log too, as the owner appends to it */
	ark_store_test_assert_last_audit(reader, 0);
	ark_store_test_add_audit(owner, 1, 3);
	ark_store_test_assert_last_audit(reader, 3);
	ark_store_test_check_audit(reader, 1, 0, 2, 2);
	/* and it writes nothing */
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &rec);
	g_assert_false(ark_store_apply(reader, batch, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	ark_store_close(reader);

	/* no store yet: a clear not-found, and no file is created */
	missing = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", &error);
	g_assert_no_error(error);
	g_object_set(missing, "read-only", TRUE, NULL);
	g_assert_false(ark_store_open(missing, empty, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_assert_cmpint(ark_store_test_file_size(empty, "arkitect.db"), ==, 0);
	g_clear_error(&error);

	/* a writer killed while creating the store left an empty database: still nothing */
	{
		g_autofree gchar *db = g_build_filename(empty, "arkitect.db", NULL);
		g_assert_true(g_file_set_contents(db, "", 0, NULL));
		g_assert_false(ark_store_open(missing, empty, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		g_assert_nonnull(strstr(error->message, "never completely created"));
	}
	ark_store_close(owner);
	ark_test_rmdir(dir);
	ark_test_rmdir(empty);
}

/*
 * A batch that does not fit on the disk: the files may not grow (RLIMIT_FSIZE, with SIGXFSZ
 * ignored the writes fail with EFBIG, as they would with ENOSPC on a full disk). apply() fails
 * with the reason, nothing of the batch is stored, the store takes batches again once there is
 * room, and what was committed before is all there after reopening.
 */
static void
ark_store_test_sqlite_disk_full(void)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(ArkRegistry) registry = NULL;
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GError) error = NULL;
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	if (g_test_subprocess()) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autofree gchar *definition = g_strnfill(1024 * 1024, 'd');
		ArkRunRecord big = ark_store_test_run("run-big", "big", ARK_RUN_STATE_PENDING);
		ArkRunRecord after = ark_store_test_run("run-after", "small",
							ARK_RUN_STATE_PENDING);
		struct rlimit old_limit;
		struct rlimit limit;

		dir = g_strdup(g_getenv(FULL_DIR_VAR));
		registry = ark_test_load_plugins();
		store = ark_store_test_open(registry, "sqlite", dir);
		ark_store_test_fill(store, &d);

		g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old_limit), ==, 0);
		limit = old_limit;
		limit.rlim_cur = (rlim_t)MAX(ark_store_test_file_size(dir, "arkitect.db"),
					     ark_store_test_file_size(dir, "arkitect.db-wal")) +
				 8192;
		signal(SIGXFSZ, SIG_IGN);
		g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &limit), ==, 0);

		big.definition = definition;
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &big);
		for (guint64 seq = 5; seq < 100; seq++) {
			ArkEvent event = ark_store_test_event(seq, "run-big");
			ark_store_batch_add_event(batch, &event);
		}
		g_assert_false(ark_store_apply(store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_STORAGE);
		g_printerr("%s\n", error->message);
		g_assert_nonnull(strstr(error->message, g_strerror(EFBIG)));
		g_clear_error(&error);
		g_assert_cmpuint(ark_store_get_last_event_seq(store), ==, 4);
		run = ark_store_get_run(store, "run-big", &error);
		g_assert_null(run);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		g_clear_error(&error);

		/* room again: the same store takes the next batch */
		g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old_limit), ==, 0);
		ark_store_batch_clear(batch);
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &after);
		ark_store_test_apply(store, batch);
		ark_store_close(store);
		return;
	}

	dir = ark_test_mkdtemp();
	g_setenv(FULL_DIR_VAR, dir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_unsetenv(FULL_DIR_VAR);
	g_test_trap_assert_passed();

	registry = ark_test_load_plugins();
	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	run = ark_store_get_run(store, "run-big", &error);
	g_assert_null(run);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	run = ark_store_test_get_run(store, "run-after");
	ark_store_close(store);
	ark_test_rmdir(dir);
}

static void
ark_store_test_sqlite_bad_directory(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *missing = g_build_filename(dir, "missing", NULL);
	g_autofree gchar *file = g_build_filename(dir, "file", NULL);
	g_autofree gchar *read_only = g_build_filename(dir, "read-only", NULL);
	g_autoptr(GError) error = NULL;

	ark_store_test_sqlite_refused(registry, missing, ARK_ERROR_STORAGE, "No such file");
	g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));

	g_file_set_contents(file, "", 0, &error);
	g_assert_no_error(error);
	ark_store_test_sqlite_refused(registry, file, ARK_ERROR_STORAGE, "not a directory");

	/* root ignores permission bits, so the directory would be writable after all */
	if (geteuid() == 0) {
		g_test_message("read-only directory not checked: running as root");
	} else {
		g_assert_cmpint(g_mkdir(read_only, 0500), ==, 0);
		ark_store_test_sqlite_refused(registry, read_only, ARK_ERROR_STORAGE,
					      "not writable");
		g_assert_cmpint(g_chmod(read_only, 0700), ==, 0);
	}
	ark_test_rmdir(dir);
}

static void
ark_store_test_sqlite_durability(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) store = ark_store_test_create(registry, "sqlite");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *durability = NULL;
	ArkStoreTestData d;

	g_object_get(store, "durability", &durability, NULL);
	g_assert_cmpstr(durability, ==, "full");
	g_clear_pointer(&durability, g_free);

	g_object_set(store, "durability", "sometimes", NULL);
	g_assert_false(ark_store_open(store, dir, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "sometimes"));
	g_clear_error(&error);

	g_object_set(store, "durability", "normal", NULL);
	g_assert_true(ark_store_open(store, dir, &error));
	g_assert_no_error(error);
	g_object_get(store, "durability", &durability, NULL);
	g_assert_cmpstr(durability, ==, "normal");
	ark_store_test_data_init(&d);
	ark_store_test_fill(store, &d);
	/* switching on an open store applies to the next transaction */
	g_object_set(store, "durability", "off", NULL);
	ark_store_test_check_filled(store, &d);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/* objects ------------------------------------------------------------------------------------- */

static GPtrArray *
ark_store_test_list_objects(ArkStore *store, const gchar *kind)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *objects = ark_store_list_objects(store, kind, &error);

	g_assert_no_error(error);
	g_assert_nonnull(objects);
	return objects;
}

/* the objects of @kind as "key=value" lines, in the order the store lists them */
static gchar *
ark_store_test_dump_objects(ArkStore *store, const gchar *kind)
{
	g_autoptr(GPtrArray) objects = ark_store_test_list_objects(store, kind);
	GString *dump = g_string_new(NULL);

	for (guint i = 0; i < objects->len; i++) {
		const ArkObjectRecord *o = g_ptr_array_index(objects, i);
		g_assert_cmpstr(o->kind, ==, kind);
		g_string_append_printf(dump, "%s=%s@%" G_GINT64_FORMAT "\n", o->key, o->value,
				       o->updated_at);
	}
	return g_string_free(dump, FALSE);
}

/* adds a put (@value not NULL) or a delete with strings that die right after the apply, like
 * ark_store_test_fill() */
static void
ark_store_test_add_object(ArkStoreBatch *batch, GPtrArray *owned, const gchar *kind,
			  const gchar *key, const gchar *value, ArkTimestamp updated_at)
{
	ArkObjectRecord object = {
	    .kind = g_strdup(kind),
	    .key = g_strdup(key),
	    .value = g_strdup(value),
	    .updated_at = updated_at,
	};

	g_ptr_array_add(owned, object.kind);
	g_ptr_array_add(owned, object.key);
	if (object.value != NULL)
		g_ptr_array_add(owned, object.value);
	ark_store_batch_add_object(batch,
				   value != NULL ? ARK_STORE_OP_OBJECT_PUT
						 : ARK_STORE_OP_OBJECT_DELETE,
				   &object);
}

static void
ark_store_test_apply_scribbled(ArkStore *store, ArkStoreBatch *batch, GPtrArray *owned)
{
	ark_store_test_apply(store, batch);
	for (guint i = 0; i < owned->len; i++)
		memset(g_ptr_array_index(owned, i), 'X', strlen(g_ptr_array_index(owned, i)));
	g_ptr_array_set_size(owned, 0);
	ark_store_batch_clear(batch);
}

/* put inserts or replaces by (kind, key), delete removes, a kind is listed alone and by key */
static void
ark_store_test_objects(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dump = NULL;
	const ArkObjectRecord *o;

	g_assert_true(ark_store_supports_objects(fx->store));
	list = ark_store_test_list_objects(fx->store, "agent");
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);

	/* out of order, with a key of another kind that sorts in between */
	ark_store_test_add_object(batch, owned, "agent", "agt_b", "{\"name\":\"b\"}", 10);
	ark_store_test_add_object(batch, owned, "agent", "agt_a", "{\"name\":\"a\"}", 11);
	ark_store_test_add_object(batch, owned, "trust", "agt_a/review", "{\"alpha\":1}", 12);
	ark_store_test_add_object(batch, owned, "agent", "agt_c", "{}", 13);
	/* byte order: upper case before lower case, like SQLite's BINARY collation */
	ark_store_test_add_object(batch, owned, "agent", "Z", "\"é\"", 14);
	ark_store_test_apply_scribbled(fx->store, batch, owned);

	dump = ark_store_test_dump_objects(fx->store, "agent");
	g_assert_cmpstr(dump, ==,
			"Z=\"é\"@14\nagt_a={\"name\":\"a\"}@11\nagt_b={\"name\":\"b\"}@10\n"
			"agt_c={}@13\n");
	g_clear_pointer(&dump, g_free);
	dump = ark_store_test_dump_objects(fx->store, "trust");
	g_assert_cmpstr(dump, ==, "agt_a/review={\"alpha\":1}@12\n");
	g_clear_pointer(&dump, g_free);
	/* kinds are compared whole: neither a prefix nor an unknown kind sees anything */
	list = ark_store_test_list_objects(fx->store, "agen");
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);
	list = ark_store_test_list_objects(fx->store, "assignment");
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);

	/* replace, delete, delete of a key that is not there (also of a kind never seen), and
	 * the last op on a key within one batch wins */
	ark_store_test_add_object(batch, owned, "agent", "agt_b", "{\"name\":\"b2\"}", 20);
	ark_store_test_add_object(batch, owned, "agent", "agt_a", NULL, 21);
	ark_store_test_add_object(batch, owned, "agent", "agt_missing", NULL, 22);
	ark_store_test_add_object(batch, owned, "nothing", "x", NULL, 22);
	ark_store_test_add_object(batch, owned, "agent", "agt_d", "1", 23);
	ark_store_test_add_object(batch, owned, "agent", "agt_d", NULL, 24);
	ark_store_test_add_object(batch, owned, "agent", "agt_c", NULL, 25);
	ark_store_test_add_object(batch, owned, "agent", "agt_c", "[2]", 26);
	/* the same key in another kind is another object */
	ark_store_test_add_object(batch, owned, "trust", "agt_b", "{\"alpha\":2}", 27);
	ark_store_test_apply_scribbled(fx->store, batch, owned);

	dump = ark_store_test_dump_objects(fx->store, "agent");
	g_assert_cmpstr(dump, ==, "Z=\"é\"@14\nagt_b={\"name\":\"b2\"}@20\nagt_c=[2]@26\n");
	g_clear_pointer(&dump, g_free);
	dump = ark_store_test_dump_objects(fx->store, "trust");
	g_assert_cmpstr(dump, ==, "agt_a/review={\"alpha\":1}@12\nagt_b={\"alpha\":2}@27\n");
	g_clear_pointer(&dump, g_free);

	/* a batch that fails leaves every object as it was: the puts and deletes before the bad
	 * operation are undone */
	ark_store_test_add_object(batch, owned, "agent", "agt_b", "{\"name\":\"lost\"}", 30);
	ark_store_test_add_object(batch, owned, "agent", "Z", NULL, 31);
	ark_store_test_add_object(batch, owned, "agent", "agt_new", "{}", 32);
	ark_store_test_add_object(batch, owned, "fresh", "k", "{}", 32);
	{
		ArkRunRecord run = ark_store_test_run("run-x", "wf", ARK_RUN_STATE_PENDING);
		ArkTaskRecord task = ark_store_test_task("no-such-run", "t", 0);
		ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
		/* refused by both stores: its run does not exist */
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	}
	g_assert_false(ark_store_apply(fx->store, batch, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_ptr_array_set_size(owned, 0);
	ark_store_batch_clear(batch);

	dump = ark_store_test_dump_objects(fx->store, "agent");
	g_assert_cmpstr(dump, ==, "Z=\"é\"@14\nagt_b={\"name\":\"b2\"}@20\nagt_c=[2]@26\n");
	g_clear_pointer(&dump, g_free);
	list = ark_store_test_list_objects(fx->store, "fresh");
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);

	/* records the caller owns, freed with ark_object_record_free() (the list's free func) */
	list = ark_store_test_list_objects(fx->store, "trust");
	o = g_ptr_array_index(list, 1);
	{
		g_autoptr(ArkObjectRecord) copy = ark_object_record_copy(o);
		g_assert_true(copy->key != o->key);
		g_assert_cmpstr(copy->kind, ==, "trust");
		g_assert_cmpstr(copy->key, ==, "agt_b");
		g_assert_cmpstr(copy->value, ==, "{\"alpha\":2}");
		g_assert_cmpint(copy->updated_at, ==, 27);
	}
}

/* what ark_store_op_check() refuses of an object op, the same in every store, with nothing of
 * the batch applied */
static void
ark_store_test_objects_refused(Fixture *fx, gconstpointer data)
{
	static const struct {
		ArkStoreOpKind op;
		const gchar *kind;
		const gchar *key;
		const gchar *value;
		const gchar *message;
	} cases[] = {
	    {ARK_STORE_OP_OBJECT_PUT, "Agent", "k", "{}", "object kind \"Agent\" is not made of"},
	    {ARK_STORE_OP_OBJECT_PUT, "a/b", "k", "{}", "object kind \"a/b\""},
	    {ARK_STORE_OP_OBJECT_PUT, "a b", "k", "{}", "object kind \"a b\""},
	    {ARK_STORE_OP_OBJECT_PUT, "agent\n", "k", "{}", "object kind"},
	    {ARK_STORE_OP_OBJECT_PUT, "é", "k", "{}", "object kind"},
	    {ARK_STORE_OP_OBJECT_DELETE, "Agent", "k", NULL, "object kind \"Agent\""},
	    {ARK_STORE_OP_OBJECT_PUT, "", "k", "{}", "object kind \"\""},
	    {ARK_STORE_OP_OBJECT_PUT, NULL, "k", "{}", "an identifier of the record is missing"},
	    {ARK_STORE_OP_OBJECT_PUT, "agent", "", "{}", "an identifier of the record is missing"},
	    {ARK_STORE_OP_OBJECT_DELETE, "agent", "", NULL,
	     "an identifier of the record is missing"},
	    {ARK_STORE_OP_OBJECT_PUT, "agent", NULL, "{}",
	     "an identifier of the record is missing"},
	    {ARK_STORE_OP_OBJECT_PUT, "agent", "k", NULL, "an object needs a value"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GPtrArray) list = NULL;
		g_autoptr(GError) error = NULL;
		ArkObjectRecord good = {.kind = "agent", .key = "before", .value = "{}"};
		ArkObjectRecord bad = {
		    .kind = (gchar *)cases[i].kind,
		    .key = (gchar *)cases[i].key,
		    .value = (gchar *)cases[i].value,
		};
		ArkStoreOp op = {.kind = cases[i].op, .object = bad};

		/* the check itself, then through the store */
		g_assert_false(ark_store_op_check(&op, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, cases[i].message));
		g_clear_error(&error);

		ark_store_batch_add_object(batch, ARK_STORE_OP_OBJECT_PUT, &good);
		ark_store_batch_add_object(batch, cases[i].op, &bad);
		g_assert_false(ark_store_apply(fx->store, batch, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, cases[i].message));
		g_assert_nonnull(strstr(error->message, "(operation 2 of 2)"));
		list = ark_store_test_list_objects(fx->store, "agent");
		g_assert_cmpuint(list->len, ==, 0);
	}
	/* what the check allows: every character of the kind alphabet, any key */
	{
		g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
		g_autoptr(GPtrArray) list = NULL;
		ArkObjectRecord ok = {.kind = "a-z_0-9", .key = "any key/ é\x01", .value = ""};
		ark_store_batch_add_object(batch, ARK_STORE_OP_OBJECT_PUT, &ok);
		ark_store_test_apply(fx->store, batch);
		list = ark_store_test_list_objects(fx->store, "a-z_0-9");
		g_assert_cmpuint(list->len, ==, 1);
		g_assert_cmpstr(((ArkObjectRecord *)g_ptr_array_index(list, 0))->key, ==,
				"any key/ é\x01");
		g_assert_cmpstr(((ArkObjectRecord *)g_ptr_array_index(list, 0))->value, ==, "");
	}
}

/* a result is written by the insert and by every update (NULL clears it), also when the update
 * is coalesced into an earlier op of the batch */
static void
ark_store_test_attempt_result(Fixture *fx, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) attempts = NULL;
	g_autofree gchar *big = NULL;
	g_autofree gchar *scribbled = g_strdup("{\"verdict\":\"ok\",\"n\":[1,2,3]}");
	ArkRunRecord run = ark_store_test_run("run-r", "wf", ARK_RUN_STATE_RUNNING);
	ArkTaskRecord task1 = ark_store_test_task("run-r", "one", 0);
	ArkTaskRecord task2 = ark_store_test_task("run-r", "two", 1);
	ArkAttemptRecord a1 = ark_store_test_attempt("run-r", "one", 1, 1);
	ArkAttemptRecord a2 = ark_store_test_attempt("run-r", "two", 1, 2);
	ArkAttemptRecord a3 = ark_store_test_attempt("run-r", "two", 2, 3);

	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task1);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task2);
	a1.result = "\"inserted with a result\"";
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &a1);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &a2);
	/* coalesced into the insert of a3 */
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &a3);
	a3.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	a3.result = scribbled;
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &a3);
	g_assert_cmpuint(ark_store_batch_get_length(batch), ==, 6);
	ark_store_test_apply(fx->store, batch);
	ark_store_batch_clear(batch);
	memset(scribbled, 'X', strlen(scribbled));
	a3.result = "{\"verdict\":\"ok\",\"n\":[1,2,3]}";

	attempts = ark_store_test_list_attempts(fx->store, "run-r", NULL);
	g_assert_cmpuint(attempts->len, ==, 3);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &a1);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &a2);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 2), &a3);
	g_clear_pointer(&attempts, g_ptr_array_unref);

	/* an update sets one (the largest a task may produce), another clears one */
	big = g_strnfill(ARK_RESULT_MAX_BYTES, 'a');
	big[0] = big[ARK_RESULT_MAX_BYTES - 1] = '"';
	a2.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	a2.result = big;
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &a2);
	a1.status = ARK_ATTEMPT_STATUS_FAILED;
	a1.result = NULL;
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &a1);
	ark_store_test_apply(fx->store, batch);
	ark_store_batch_clear(batch);

	attempts = ark_store_test_list_attempts(fx->store, "run-r", "two");
	g_assert_cmpuint(attempts->len, ==, 2);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &a2);
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &a3);
	g_clear_pointer(&attempts, g_ptr_array_unref);
	attempts = ark_store_test_list_attempts(fx->store, "run-r", "one");
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 0), &a1);
	g_clear_pointer(&attempts, g_ptr_array_unref);

	/* a failed batch leaves the result as it was */
	a3.result = "\"lost\"";
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &a3);
	a1.number = 7; /* no such attempt: refused by both stores */
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &a1);
	g_assert_false(ark_store_apply(fx->store, batch, NULL));
	a3.result = "{\"verdict\":\"ok\",\"n\":[1,2,3]}";
	attempts = ark_store_test_list_attempts(fx->store, "run-r", "two");
	ark_store_test_assert_attempt(g_ptr_array_index(attempts, 1), &a3);

	/* copies carry it */
	{
		g_autoptr(ArkAttemptRecord) copy =
		    ark_attempt_record_copy(g_ptr_array_index(attempts, 1));
		g_assert_cmpstr(copy->result, ==, a3.result);
	}
}

/* objects and attempt results survive a close and reopen */
static void
ark_store_test_sqlite_objects_reopen(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autoptr(ArkStore) store = ark_store_test_open(registry, "sqlite", dir);
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) attempts = NULL;
	g_autofree gchar *dump = NULL;
	ArkStoreTestData d;

	ark_store_test_data_init(&d);
	ark_store_test_fill(store, &d);
	ark_store_test_add_object(batch, owned, "agent", "agt_1", "{\"name\":\"one\"}", 5);
	ark_store_test_add_object(batch, owned, "agent", "agt_0", "{\"name\":\"zero\"}", 6);
	ark_store_test_add_object(batch, owned, "assignment", "asg_1", "{\"fence\":3}", 7);
	d.attempts[2].status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	d.attempts[2].result = "{\"ok\":true}";
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &d.attempts[2]);
	ark_store_test_apply_scribbled(store, batch, owned);
	ark_store_close(store);
	g_clear_object(&store);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	dump = ark_store_test_dump_objects(store, "agent");
	g_assert_cmpstr(dump, ==, "agt_0={\"name\":\"zero\"}@6\nagt_1={\"name\":\"one\"}@5\n");
	g_clear_pointer(&dump, g_free);
	ark_store_test_add_object(batch, owned, "agent", "agt_1", NULL, 8);
	ark_store_test_apply_scribbled(store, batch, owned);
	ark_store_close(store);
	g_clear_object(&store);

	/* a reader sees them too */
	store = ark_store_test_create(registry, "sqlite");
	g_object_set(store, "read-only", TRUE, NULL);
	g_assert_true(ark_store_open(store, dir, NULL));
	ark_store_test_check_filled(store, &d);
	dump = ark_store_test_dump_objects(store, "agent");
	g_assert_cmpstr(dump, ==, "agt_0={\"name\":\"zero\"}@6\n");
	g_clear_pointer(&dump, g_free);
	dump = ark_store_test_dump_objects(store, "assignment");
	g_assert_cmpstr(dump, ==, "asg_1={\"fence\":3}@7\n");
	attempts = ark_store_test_list_attempts(store, "run-a", "compile");
	g_assert_cmpstr(((ArkAttemptRecord *)g_ptr_array_index(attempts, 0))->result, ==,
			"{\"ok\":true}");
	ark_store_close(store);
	ark_test_rmdir(dir);
}

/*
 * tests/ark-store-v4.db is the v3 fixture opened by the version 4 store (which migrated it) and
 * given two estimates, checkpointed: version 5 adds attempts.result and the objects table. A
 * reader refuses it; a writer migrates it in place with every record and estimate kept, and it
 * then takes results and objects that survive a reopen.
 */
static void
ark_store_test_sqlite_migrate_v4(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autofree gchar *dir = ark_store_test_copy_fixture("ark-store-v4.db");
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dump = NULL;
	ArkStoreTestData d;

	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==, 4);
	store = ark_store_test_create(registry, "sqlite");
	g_object_set(store, "read-only", TRUE, NULL);
	g_assert_false(ark_store_open(store, dir, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "schema version 4"));
	g_clear_error(&error);
	g_clear_object(&store);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_data_init(&d);
	/* results of attempts from before the migration are NULL */
	ark_store_test_check_filled(store, &d);
	list = ark_store_list_estimates(store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpint(ark_store_test_find_estimate(list, "build")->estimate, ==,
			42 * G_USEC_PER_SEC);
	g_assert_cmpuint(ark_store_test_find_estimate(list, "build")->samples, ==, 3);
	g_assert_cmpint(ark_store_test_find_estimate(list, "test")->estimate, ==,
			7 * G_USEC_PER_SEC);
	g_clear_pointer(&list, g_ptr_array_unref);
	list = ark_store_test_list_objects(store, "agent");
	g_assert_cmpuint(list->len, ==, 0);
	g_clear_pointer(&list, g_ptr_array_unref);

	ark_store_test_add_object(batch, owned, "trust", "agt_1/review", "{\"alpha\":2.5}", 9);
	d.attempts[0].result = "[\"after the migration\"]";
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &d.attempts[0]);
	ark_store_test_apply_scribbled(store, batch, owned);
	ark_store_close(store);
	g_clear_object(&store);
	g_assert_cmpuint(ark_store_test_read_header(dir, HEADER_USER_VERSION), ==,
			 ARK_STORE_TEST_SCHEMA_VERSION);

	store = ark_store_test_open(registry, "sqlite", dir);
	ark_store_test_check_filled(store, &d);
	dump = ark_store_test_dump_objects(store, "trust");
	g_assert_cmpstr(dump, ==, "agt_1/review={\"alpha\":2.5}@9\n");
	list = ark_store_list_estimates(store, "ci", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 2);
	ark_store_close(store);
	ark_test_rmdir(dir);
}

static void
ark_store_test_add_shared(const gchar *store_name, const gchar *name,
			  void (*func)(Fixture *, gconstpointer))
{
	g_autofree gchar *path = g_strdup_printf("/ark/store/%s/%s", store_name, name);
	g_test_add(path, Fixture, store_name, ark_store_test_setup, func, ark_store_test_teardown);
}

int
main(int argc, char **argv)
{
	const gchar *const store_names[] = {"memory", "sqlite"};

	/* the second process of /ark/store/sqlite/lock */
	if (argc == 3 && strcmp(argv[1], "--hold-lock") == 0)
		return ark_store_test_hold_lock(argv[2]);

	g_test_init(&argc, &argv, NULL);

	for (guint i = 0; i < G_N_ELEMENTS(store_names); i++) {
		const gchar *name = store_names[i];
		ark_store_test_add_shared(name, "apply-and-read", ark_store_test_apply_and_read);
		ark_store_test_add_shared(name, "updates", ark_store_test_updates);
		ark_store_test_add_shared(name, "update-unknown", ark_store_test_update_unknown);
		ark_store_test_add_shared(name, "list-runs", ark_store_test_list_runs_filters);
		ark_store_test_add_shared(name, "list-runs-pages", ark_store_test_list_runs_pages);
		ark_store_test_add_shared(name, "idempotency-key", ark_store_test_idempotency_key);
		ark_store_test_add_shared(name, "attempts", ark_store_test_attempts);
		ark_store_test_add_shared(name, "find-tasks", ark_store_test_find_tasks);
		ark_store_test_add_shared(name, "coalesced", ark_store_test_coalesced);
		ark_store_test_add_shared(name, "events", ark_store_test_events);
		ark_store_test_add_shared(name, "events-order", ark_store_test_events_order);
		ark_store_test_add_shared(name, "last-values", ark_store_test_last_values);
		ark_store_test_add_shared(name, "not-found", ark_store_test_not_found);
		ark_store_test_add_shared(name, "atomic-duplicate-run",
					  ark_store_test_atomic_duplicate_run);
		ark_store_test_add_shared(name, "atomic-constraints",
					  ark_store_test_atomic_constraints);
		ark_store_test_add_shared(name, "big-batch", ark_store_test_big_batch);
		ark_store_test_add_shared(name, "perf", ark_store_test_perf);
		ark_store_test_add_shared(name, "audit", ark_store_test_audit_records);
		ark_store_test_add_shared(name, "audit-refused", ark_store_test_audit_refused);
		ark_store_test_add_shared(name, "estimates", ark_store_test_estimates);
		ark_store_test_add_shared(name, "objects", ark_store_test_objects);
		ark_store_test_add_shared(name, "objects-refused", ark_store_test_objects_refused);
		ark_store_test_add_shared(name, "attempt-result", ark_store_test_attempt_result);
	}
	ark_store_test_add_shared("memory", "max-events", ark_store_test_memory_max_events);
	ark_store_test_add_shared("memory", "footprint", ark_store_test_memory_footprint);

	g_test_add_func("/ark/store/sqlite/reopen", ark_store_test_sqlite_reopen);
	g_test_add_func("/ark/store/sqlite/audit-reopen", ark_store_test_sqlite_audit_reopen);
	g_test_add_func("/ark/store/sqlite/crash", ark_store_test_sqlite_crash);
	g_test_add_func("/ark/store/sqlite/newer-schema", ark_store_test_sqlite_newer_schema);
	g_test_add_func("/ark/store/sqlite/foreign-database",
			ark_store_test_sqlite_foreign_database);
	g_test_add_func("/ark/store/sqlite/garbage-file", ark_store_test_sqlite_garbage);
	g_test_add_func("/ark/store/sqlite/truncated-file", ark_store_test_sqlite_truncated);
	g_test_add_func("/ark/store/sqlite/damaged-file", ark_store_test_sqlite_damaged);
	g_test_add_func("/ark/store/sqlite/migrate-v1", ark_store_test_sqlite_migrate_v1);
	g_test_add_func("/ark/store/sqlite/migrate-v2", ark_store_test_sqlite_migrate_v2);
	g_test_add_func("/ark/store/sqlite/migrate-v3", ark_store_test_sqlite_migrate_v3);
	g_test_add_func("/ark/store/sqlite/migrate-v4", ark_store_test_sqlite_migrate_v4);
	g_test_add_func("/ark/store/sqlite/objects-reopen", ark_store_test_sqlite_objects_reopen);
	g_test_add_func("/ark/store/sqlite/migrate-failure", ark_store_test_sqlite_migrate_failure);
	g_test_add_func("/ark/store/sqlite/lock", ark_store_test_sqlite_lock);
	g_test_add_func("/ark/store/sqlite/read-only", ark_store_test_sqlite_read_only);
	g_test_add_func("/ark/store/sqlite/open-reader", ark_store_test_open_reader);
	g_test_add_func("/ark/store/sqlite/disk-full", ark_store_test_sqlite_disk_full);
	g_test_add_func("/ark/store/sqlite/bad-directory", ark_store_test_sqlite_bad_directory);
	g_test_add_func("/ark/store/sqlite/durability", ark_store_test_sqlite_durability);

	return g_test_run();
}
