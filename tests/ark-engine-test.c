/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect-core.h>

#include "ark-test-utils.h"

/* the engine in-process, on a real SQLite file, with the real executors and policies */

typedef struct {
	gchar *dir;
	ArkStore *store;
	ArkEngine *engine;
	GPtrArray *events; /* ArkEvent copies, in the order announced */
	GHashTable *finished; /* run id -> GINT_TO_POINTER(state + 1) */
	guint max_running;
	guint running;
	gboolean check_durable;
	guint durable_checked;
} Fixture;

static void
fixture_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	Fixture *f = user_data;

	if (f->events->len > 0) {
		const ArkEvent *prev = g_ptr_array_index(f->events, f->events->len - 1);
		/* announced in order, without gaps */
		g_assert_cmpuint(event->seq, ==, prev->seq + 1);
	}
	g_ptr_array_add(f->events, ark_event_copy(event));
	if (event->kind == ARK_EVENT_ATTEMPT_STARTED) {
		f->running++;
		f->max_running = MAX(f->max_running, f->running);
	} else if (event->kind == ARK_EVENT_ATTEMPT_FINISHED) {
		f->running--;
	}
	if (f->check_durable) {
		/* durable before visible: the store already has what is being announced */
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) stored = ark_store_read_events(f->store, event->seq - 1, 1,
								    &error);
		g_assert_no_error(error);
		g_assert_cmpuint(stored->len, ==, 1);
		g_assert_cmpuint(((ArkEvent *)stored->pdata[0])->seq, ==, event->seq);
		f->durable_checked++;
	}
}

static void
fixture_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state, gpointer user_data)
{
	Fixture *f = user_data;
	g_hash_table_insert(f->finished, g_strdup(run_id), GINT_TO_POINTER(state + 1));
}

static void
fixture_open_engine(Fixture *f, guint process_slots)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	f->engine = ark_engine_new(registry, f->store);
	ark_engine_set_state_dir(f->engine, f->dir);
	ark_engine_set_executor_slots(f->engine, "process", process_slots);
	ark_engine_set_executor_slots(f->engine, "thread", 2);
	g_assert_true(ark_engine_start(f->engine, &error));
	g_assert_no_error(error);
	g_signal_connect(f->engine, "event", G_CALLBACK(fixture_event_cb), f);
	g_signal_connect(f->engine, "run-finished", G_CALLBACK(fixture_run_finished_cb), f);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	f->dir = ark_test_mkdtemp();
	f->store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", &error);
	g_assert_no_error(error);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	g_assert_no_error(error);
	f->events = g_ptr_array_new_with_free_func((GDestroyNotify)ark_event_free);
	f->finished = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	fixture_open_engine(f, 2);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
	ark_store_close(f->store);
	g_clear_object(&f->store);
	g_ptr_array_unref(f->events);
	g_hash_table_unref(f->finished);
	ark_test_rmdir(f->dir);
	g_free(f->dir);
}

typedef struct {
	Fixture *f;
	const gchar *run_id;
} WaitData;

static gboolean
fixture_run_done(gpointer user_data)
{
	WaitData *w = user_data;
	return g_hash_table_contains(w->f->finished, w->run_id);
}

static ArkWorkflow *
fixture_parse(const gchar *json)
{
	g_autoptr(GPtrArray) problems = NULL;
	ArkWorkflow *wf = ark_workflow_parse(json, -1, &problems);
	if (wf == NULL) {
		for (guint i = 0; i < problems->len; i++) {
			g_autofree gchar *s = ark_problem_to_string(problems->pdata[i], NULL);
			g_printerr("%s\n", s);
		}
		g_error("test workflow does not parse");
	}
	return wf;
}

/* submits, waits, returns the final state */
static ArkRunState
fixture_run(Fixture *f, const gchar *json, gchar **out_run_id)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(json);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	WaitData w = {f, NULL};

	g_assert_no_error(error);
	g_assert_nonnull(run_id);
	w.run_id = run_id;
	ark_test_loop_run_until(fixture_run_done, &w, 240000);
	if (out_run_id != NULL)
		*out_run_id = g_strdup(run_id);
	return (ArkRunState)(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1);
}

static GHashTable *
fixture_task_states(Fixture *f, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = ark_store_list_tasks(f->store, run_id, &error);
	GHashTable *states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_assert_no_error(error);
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		g_hash_table_insert(states, g_strdup(t->task_id), GINT_TO_POINTER(t->state));
	}
	return states;
}

static gint
fixture_event_index(Fixture *f, ArkEventKind kind, const gchar *task_id, gint state)
{
	for (guint i = 0; i < f->events->len; i++) {
		ArkEvent *e = g_ptr_array_index(f->events, i);
		if (e->kind == kind && g_strcmp0(e->task_id, task_id) == 0 &&
		    (state < 0 || e->state == state))
			return (gint)i;
	}
	return -1;
}

static void
test_diamond(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GHashTable) states = NULL;
	const gchar *ids[] = {"a", "b", "c", "d"};
	ArkRunState state;

	f->check_durable = TRUE;
	state = fixture_run(f,
			    "{\"name\":\"diamond\",\"tasks\":["
			    "{\"id\":\"a\",\"executor\":\"thread\",\"function\":\"noop\"},"
			    "{\"id\":\"b\",\"needs\":[\"a\"],\"run\":[\"true\"]},"
			    "{\"id\":\"c\",\"needs\":[\"a\"],\"executor\":\"thread\","
			    "\"function\":\"noop\"},"
			    "{\"id\":\"d\",\"needs\":[\"b\",\"c\"],\"run\":[\"true\"]}]}",
			    &run_id);
	g_assert_cmpint(state, ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpuint(f->durable_checked, >, 0);
	states = fixture_task_states(f, run_id);
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++)
		g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(states, ids[i])), ==,
				ARK_TASK_STATE_SUCCEEDED);
	/* d started only after both of its needs succeeded */
	g_assert_cmpint(fixture_event_index(f, ARK_EVENT_ATTEMPT_STARTED, "d", -1), >,
			fixture_event_index(f, ARK_EVENT_TASK_STATE, "b", ARK_TASK_STATE_SUCCEEDED));
	g_assert_cmpint(fixture_event_index(f, ARK_EVENT_ATTEMPT_STARTED, "d", -1), >,
			fixture_event_index(f, ARK_EVENT_TASK_STATE, "c", ARK_TASK_STATE_SUCCEEDED));
	g_assert_cmpint(fixture_event_index(f, ARK_EVENT_ATTEMPT_STARTED, "b", -1), >,
			fixture_event_index(f, ARK_EVENT_TASK_STATE, "a", ARK_TASK_STATE_SUCCEEDED));
	/* exactly one terminal record per task */
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		guint terminal = 0;
		for (guint e = 0; e < f->events->len; e++) {
			ArkEvent *ev = g_ptr_array_index(f->events, e);
			if (ev->kind == ARK_EVENT_TASK_STATE && g_strcmp0(ev->task_id, ids[i]) == 0 &&
			    ark_task_state_is_terminal(ev->state))
				terminal++;
		}
		g_assert_cmpuint(terminal, ==, 1);
	}
}

static void
test_failure_skips_dependents(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GHashTable) s = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	ArkRunState state;

	state = fixture_run(f,
			    "{\"name\":\"f\",\"tasks\":["
			    "{\"id\":\"bad\",\"run\":[\"sh\",\"-c\",\"exit 4\"]},"
			    "{\"id\":\"child\",\"needs\":[\"bad\"],\"run\":[\"true\"]},"
			    "{\"id\":\"grandchild\",\"needs\":[\"child\"],\"run\":[\"true\"]},"
			    "{\"id\":\"other\",\"run\":[\"true\"]}]}",
			    &run_id);
	g_assert_cmpint(state, ==, ARK_RUN_STATE_FAILED);
	s = fixture_task_states(f, run_id);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "bad")), ==, ARK_TASK_STATE_FAILED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "child")), ==,
			ARK_TASK_STATE_SKIPPED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "grandchild")), ==,
			ARK_TASK_STATE_SKIPPED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "other")), ==,
			ARK_TASK_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	/* the skip says why */
	g_assert_cmpstr(((ArkTaskRecord *)tasks->pdata[1])->reason, ==,
			"upstream task 'bad' failed");
	g_assert_cmpint(((ArkTaskRecord *)tasks->pdata[0])->exit_code, ==, 4);
}

static void
test_allow_failure(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GHashTable) s = NULL;
	ArkRunState state;

	state = fixture_run(f,
			    "{\"name\":\"f\",\"tasks\":["
			    "{\"id\":\"flaky\",\"run\":[\"false\"],\"allow_failure\":true},"
			    "{\"id\":\"after\",\"needs\":[\"flaky\"],\"run\":[\"true\"]}]}",
			    &run_id);
	g_assert_cmpint(state, ==, ARK_RUN_STATE_SUCCEEDED);
	s = fixture_task_states(f, run_id);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "flaky")), ==,
			ARK_TASK_STATE_FAILED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "after")), ==,
			ARK_TASK_STATE_SUCCEEDED);
}

static void
test_slots_respected(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) json = g_string_new("{\"name\":\"wide\",\"tasks\":[");
	for (guint i = 0; i < 20; i++)
		g_string_append_printf(json, "%s{\"id\":\"t%u\",\"run\":[\"sh\",\"-c\",\"sleep 0.02\"]}",
				       i > 0 ? "," : "", i);
	g_string_append(json, "]}");
	g_assert_cmpint(fixture_run(f, json->str, NULL), ==, ARK_RUN_STATE_SUCCEEDED);
	/* the fixture gives the process executor 2 slots */
	g_assert_cmpuint(f->max_running, ==, 2);
}

static gboolean
test_cancel_started(gpointer user_data)
{
	Fixture *f = user_data;
	return f->running >= 2;
}

static void
test_cancel(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"c\",\"tasks\":["
	    "{\"id\":\"long1\",\"run\":[\"sleep\",\"60\"]},"
	    "{\"id\":\"long2\",\"executor\":\"thread\",\"function\":\"sleep\",\"args\":\"60s\"},"
	    "{\"id\":\"queued\",\"run\":[\"true\"],\"needs\":[\"long1\"]}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(GHashTable) s = NULL;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	ark_test_loop_run_until(test_cancel_started, f, 30000);
	g_assert_true(ark_engine_cancel_run(f->engine, run_id, "tester", "test says stop", &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1, ==,
			ARK_RUN_STATE_CANCELLED);
	s = fixture_task_states(f, run_id);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "long1")), ==,
			ARK_TASK_STATE_CANCELLED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "long2")), ==,
			ARK_TASK_STATE_CANCELLED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(s, "queued")), ==,
			ARK_TASK_STATE_CANCELLED);
	/* cancelling a finished run is a clear error */
	g_assert_false(ark_engine_cancel_run(f->engine, run_id, NULL, NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
}

static void
test_rejects_unknown_executor(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"x\",\"tasks\":[{\"id\":\"a\",\"executor\":\"warp\",\"run\":[\"true\"]},"
	    "{\"id\":\"b\",\"executor\":\"thread\",\"function\":\"nope\"}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(GPtrArray) runs = NULL;

	g_assert_null(run_id);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "unknown executor 'warp'"));
	g_assert_nonnull(strstr(error->message, "nope"));
	/* nothing was recorded */
	g_clear_error(&error);
	runs = ark_store_list_runs(f->store, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(runs->len, ==, 0);
}

static void
test_idempotency(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf =
	    fixture_parse("{\"name\":\"i\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}");
	ArkSubmitOptions opts = {.idempotency_key = "deploy-42"};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *first = ark_engine_submit(f->engine, wf, &opts, &error);
	g_autofree gchar *second = NULL;
	WaitData w = {f, first};

	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	second = ark_engine_submit(f->engine, wf, &opts, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(first, ==, second);
}

static void
test_sequence_survives_restart(Fixture *f, gconstpointer data)
{
	guint64 last;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) events = NULL;

	g_assert_cmpint(fixture_run(f, "{\"name\":\"s\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}",
				    NULL),
			==, ARK_RUN_STATE_SUCCEEDED);
	last = ((ArkEvent *)f->events->pdata[f->events->len - 1])->seq;

	/* a new engine on the reopened store continues the sequence and the fencing tokens */
	ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
	ark_store_close(f->store);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	g_assert_no_error(error);
	fixture_open_engine(f, 2);
	g_assert_cmpint(fixture_run(f, "{\"name\":\"s\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}",
				    NULL),
			==, ARK_RUN_STATE_SUCCEEDED);
	events = ark_store_read_events(f->store, 0, 0, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < events->len; i++)
		g_assert_cmpuint(((ArkEvent *)events->pdata[i])->seq, ==, i + 1);
	g_assert_cmpuint(events->len, >, last);
	g_assert_cmpuint(ark_store_get_last_attempt_token(f->store), ==, 2);
}

static void
test_large_fanout(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) json = g_string_new("{\"name\":\"big\",\"tasks\":[");
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;

	g_string_append(json, "{\"id\":\"root\",\"executor\":\"thread\",\"function\":\"noop\"}");
	/* enough tasks (over 4 MiB of engine state) for the task array to be its own mapping */
	for (guint i = 0; i < 16000; i++)
		g_string_append_printf(json,
				       ",{\"id\":\"n%u\",\"needs\":[\"root\"],\"executor\":\"thread\","
				       "\"function\":\"noop\"}",
				       i);
	g_string_append(json, "]}");
	g_assert_cmpint(fixture_run(f, json->str, &run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tasks->len, ==, 16001);
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		g_assert_cmpint(t->state, ==, ARK_TASK_STATE_SUCCEEDED);
		g_assert_cmpuint(t->attempts, ==, 1);
	}
}

/* resilience ------------------------------------------------------------------------------------ */

static ArkTaskRecord *
fixture_task(GPtrArray *tasks, const gchar *id)
{
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		if (g_strcmp0(t->task_id, id) == 0)
			return t;
	}
	g_error("no task %s", id);
	return NULL;
}

/* the attempts of one task, checked to be numbered 1..n without gaps */
static GPtrArray *
fixture_attempts(Fixture *f, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *attempts = ark_store_list_attempts(f->store, run_id, task_id, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < attempts->len; i++)
		g_assert_cmpuint(((ArkAttemptRecord *)attempts->pdata[i])->number, ==, i + 1);
	return attempts;
}

static void
test_retry_until_dead(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(GPtrArray) dead = NULL;
	ArkTaskFilter dlq = {.state_mask = 1u << ARK_TASK_STATE_DEAD};
	ArkTaskRecord *t;

	g_assert_cmpint(
	    fixture_run(f,
			"{\"name\":\"r\",\"tasks\":["
			"{\"id\":\"flaky\",\"run\":[\"sh\",\"-c\",\"echo trying; exit 3\"],"
			"\"retry\":{\"max_attempts\":3,\"backoff\":\"fixed\","
			"\"initial_delay\":\"10ms\",\"jitter\":false}},"
			"{\"id\":\"after\",\"needs\":[\"flaky\"],\"run\":[\"true\"]}]}",
			&run_id),
	    ==, ARK_RUN_STATE_FAILED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	t = fixture_task(tasks, "flaky");
	g_assert_cmpint(t->state, ==, ARK_TASK_STATE_DEAD);
	g_assert_cmpuint(t->attempts, ==, 3);
	g_assert_nonnull(strstr(t->reason, "gave up after 3 attempts"));
	g_assert_cmpint(fixture_task(tasks, "after")->state, ==, ARK_TASK_STATE_SKIPPED);
	g_assert_cmpstr(fixture_task(tasks, "after")->reason, ==, "upstream task 'flaky' is dead");
	attempts = fixture_attempts(f, run_id, "flaky");
	g_assert_cmpuint(attempts->len, ==, 3);
	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		g_assert_cmpint(a->status, ==, ARK_ATTEMPT_STATUS_FAILED);
		g_assert_cmpint(a->exit_code, ==, 3);
		/* each attempt has its own log */
		g_assert_nonnull(a->log_path);
		g_assert_nonnull(strstr(a->log_path, "attempt-"));
		/* the fixed delay lies between two attempts */
		if (i > 0)
			g_assert_cmpint(a->started_at - ((ArkAttemptRecord *)attempts->pdata[i - 1])
							    ->finished_at,
					>=, 10000);
	}
	/* the waits were announced */
	g_assert_cmpint(fixture_event_index(f, ARK_EVENT_TASK_STATE, "flaky",
					    ARK_TASK_STATE_RETRY_WAIT),
			>=, 0);
	/* and it is in the dead-letter queue */
	dead = ark_store_find_tasks(f->store, &dlq, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(dead->len, ==, 1);
	g_assert_cmpstr(((ArkTaskRecord *)dead->pdata[0])->task_id, ==, "flaky");
}

static void
test_retry_then_succeed(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autofree gchar *json = g_strdup_printf(
	    "{\"name\":\"r\",\"tasks\":[{\"id\":\"second-time-lucky\",\"run\":[\"sh\",\"-c\","
	    "\"test -e %s/marker && exit 0; touch %s/marker; exit 1\"],"
	    "\"retry\":{\"max_attempts\":5,\"initial_delay\":\"1ms\"}}]}",
	    f->dir, f->dir);
	g_autoptr(GPtrArray) attempts = NULL;

	g_assert_cmpint(fixture_run(f, json, &run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	attempts = fixture_attempts(f, run_id, "second-time-lucky");
	g_assert_cmpuint(attempts->len, ==, 2);
	g_assert_cmpint(((ArkAttemptRecord *)attempts->pdata[0])->status, ==,
			ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(((ArkAttemptRecord *)attempts->pdata[1])->status, ==,
			ARK_ATTEMPT_STATUS_SUCCEEDED);
}

static void
test_retry_exit_codes_and_timeouts(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) slow = NULL;

	g_assert_cmpint(
	    fixture_run(f,
			"{\"name\":\"r\",\"tasks\":["
			/* exit 2 is not among the codes that retry: one attempt, failed */
			"{\"id\":\"fatal\",\"run\":[\"sh\",\"-c\",\"exit 2\"],"
			"\"retry\":{\"max_attempts\":4,\"initial_delay\":\"1ms\",\"exit_codes\":[75]}},"
			/* a timeout retries by default, each attempt killed */
			"{\"id\":\"slow\",\"run\":[\"sleep\",\"30\"],\"timeout\":\"100ms\","
			"\"retry\":{\"max_attempts\":2,\"initial_delay\":\"1ms\"}}]}",
			&run_id),
	    ==, ARK_RUN_STATE_FAILED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(tasks, "fatal")->state, ==, ARK_TASK_STATE_FAILED);
	g_assert_cmpuint(fixture_task(tasks, "fatal")->attempts, ==, 1);
	g_assert_cmpint(fixture_task(tasks, "slow")->state, ==, ARK_TASK_STATE_DEAD);
	slow = fixture_attempts(f, run_id, "slow");
	g_assert_cmpuint(slow->len, ==, 2);
	for (guint i = 0; i < slow->len; i++)
		g_assert_cmpint(((ArkAttemptRecord *)slow->pdata[i])->status, ==,
				ARK_ATTEMPT_STATUS_TIMED_OUT);
}

static void
test_queue_timeout(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	ArkTaskRecord *t;

	/* two slots, both taken for a while: the third task can not start in time */
	g_assert_cmpint(
	    fixture_run(f,
			"{\"name\":\"q\",\"tasks\":["
			"{\"id\":\"hog1\",\"run\":[\"sleep\",\"0.5\"]},"
			"{\"id\":\"hog2\",\"run\":[\"sleep\",\"0.5\"]},"
			"{\"id\":\"impatient\",\"run\":[\"true\"],\"queue_timeout\":\"50ms\"}]}",
			&run_id),
	    ==, ARK_RUN_STATE_FAILED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	t = fixture_task(tasks, "impatient");
	g_assert_cmpint(t->state, ==, ARK_TASK_STATE_FAILED);
	g_assert_cmpuint(t->attempts, ==, 0);
	g_assert_nonnull(strstr(t->reason, "queue_timeout"));
	g_assert_cmpint(fixture_task(tasks, "hog1")->state, ==, ARK_TASK_STATE_SUCCEEDED);
}

static void
test_run_timeout(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(ArkRunRecord) run = NULL;

	g_assert_cmpint(fixture_run(f,
				    "{\"name\":\"t\",\"timeout\":\"200ms\",\"tasks\":["
				    "{\"id\":\"forever\",\"run\":[\"sleep\",\"60\"]},"
				    "{\"id\":\"next\",\"needs\":[\"forever\"],\"run\":[\"true\"]}]}",
				    &run_id),
			==, ARK_RUN_STATE_FAILED);
	run = ark_store_get_run(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(run->reason, "timeout of 200ms"));
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(tasks, "forever")->state, ==, ARK_TASK_STATE_CANCELLED);
	g_assert_cmpstr(fixture_task(tasks, "forever")->cancelled_by, ==, "timeout");
	g_assert_cmpint(fixture_task(tasks, "next")->state, ==, ARK_TASK_STATE_CANCELLED);
}

static void
test_fail_fast_and_continue(Fixture *f, gconstpointer data)
{
	g_autofree gchar *fast_id = NULL;
	g_autofree gchar *cont_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) fast = NULL;
	g_autoptr(GPtrArray) cont = NULL;
	const gchar *tasks_json =
	    "\"tasks\":[{\"id\":\"breaks\",\"run\":[\"false\"]},"
	    "{\"id\":\"slow\",\"run\":[\"sleep\",\"1\"]},"
	    "{\"id\":\"child\",\"needs\":[\"breaks\"],\"run\":[\"true\"]}]}";
	g_autofree gchar *fast_json =
	    g_strdup_printf("{\"name\":\"ff\",\"on_failure\":\"fail-fast\",%s", tasks_json);
	g_autofree gchar *cont_json = g_strdup_printf("{\"name\":\"c\",%s", tasks_json);

	g_assert_cmpint(fixture_run(f, fast_json, &fast_id), ==, ARK_RUN_STATE_FAILED);
	fast = ark_store_list_tasks(f->store, fast_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(fast, "breaks")->state, ==, ARK_TASK_STATE_FAILED);
	g_assert_cmpint(fixture_task(fast, "slow")->state, ==, ARK_TASK_STATE_CANCELLED);
	g_assert_cmpstr(fixture_task(fast, "slow")->cancelled_by, ==, "fail-fast");
	g_assert_cmpint(fixture_task(fast, "child")->state, ==, ARK_TASK_STATE_SKIPPED);

	/* the default runs everything that does not depend on the failure */
	g_assert_cmpint(fixture_run(f, cont_json, &cont_id), ==, ARK_RUN_STATE_FAILED);
	cont = ark_store_list_tasks(f->store, cont_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(cont, "slow")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(cont, "child")->state, ==, ARK_TASK_STATE_SKIPPED);
}

static gboolean
fixture_task_running(gpointer user_data)
{
	Fixture *f = user_data;
	return f->running >= 1;
}

static void
test_cancel_task(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf =
	    fixture_parse("{\"name\":\"ct\",\"tasks\":["
			  "{\"id\":\"long\",\"run\":[\"sleep\",\"60\"],\"retry\":3},"
			  "{\"id\":\"child\",\"needs\":[\"long\"],\"run\":[\"true\"]},"
			  "{\"id\":\"waiting\",\"needs\":[\"child\"],\"run\":[\"true\"]}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(GPtrArray) tasks = NULL;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_task_running, f, 30000);
	g_assert_false(ark_engine_cancel_task(f->engine, run_id, "nope", "alice", NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_true(ark_engine_cancel_task(f->engine, run_id, "long", "alice", "wrong branch",
					     &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	/* cancelled, not retried, and who did it is on record */
	g_assert_cmpint(fixture_task(tasks, "long")->state, ==, ARK_TASK_STATE_CANCELLED);
	g_assert_cmpuint(fixture_task(tasks, "long")->attempts, ==, 1);
	g_assert_cmpstr(fixture_task(tasks, "long")->cancelled_by, ==, "alice");
	g_assert_cmpint(fixture_task(tasks, "child")->state, ==, ARK_TASK_STATE_SKIPPED);
	g_assert_cmpint(fixture_task(tasks, "waiting")->state, ==, ARK_TASK_STATE_SKIPPED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1, ==,
			ARK_RUN_STATE_FAILED);
}

/* the engine goes away without recording anything more, as after kill -9 */
static void
fixture_crash(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_clear_object(&f->engine);
	ark_store_close(f->store);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	g_assert_no_error(error);
	g_hash_table_remove_all(f->finished);
	f->running = 0;
	fixture_open_engine(f, 2);
}

static void
test_resume_lost_attempts(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"crash\",\"tasks\":["
	    "{\"id\":\"done\",\"run\":[\"true\"]},"
	    "{\"id\":\"busy\",\"needs\":[\"done\"],\"run\":[\"sleep\",\"0.3\"],"
	    "\"retry\":{\"max_attempts\":3,\"initial_delay\":\"1ms\",\"on\":[\"lost\"]}},"
	    "{\"id\":\"fragile\",\"needs\":[\"done\"],\"run\":[\"sleep\",\"0.3\"]},"
	    "{\"id\":\"later\",\"needs\":[\"busy\"],\"run\":[\"true\"]}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) busy = NULL;
	g_autoptr(GPtrArray) done = NULL;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	f->running = 0;
	ark_test_loop_run_until(test_cancel_started, f, 30000);
	fixture_crash(f);

	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	/* a second resume of the same run is refused */
	g_assert_false(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_EXISTS);
	g_clear_error(&error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	/* retried on lost and finished; the one without a retry policy failed as lost */
	g_assert_cmpint(fixture_task(tasks, "busy")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(tasks, "later")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(tasks, "fragile")->state, ==, ARK_TASK_STATE_FAILED);
	busy = fixture_attempts(f, run_id, "busy");
	g_assert_cmpuint(busy->len, ==, 2);
	g_assert_cmpint(((ArkAttemptRecord *)busy->pdata[0])->status, ==, ARK_ATTEMPT_STATUS_LOST);
	g_assert_nonnull(strstr(((ArkAttemptRecord *)busy->pdata[0])->error, "stopped while"));
	g_assert_cmpint(((ArkAttemptRecord *)busy->pdata[1])->status, ==,
			ARK_ATTEMPT_STATUS_SUCCEEDED);
	/* what had finished was not run again */
	done = fixture_attempts(f, run_id, "done");
	g_assert_cmpuint(done->len, ==, 1);
	/* a finished run can not be resumed */
	g_assert_false(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_false(ark_engine_resume_run(f->engine, "no-such-run", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
}

static void
test_replay_dead_task(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(JsonObject) overrides = json_object_new();
	g_autoptr(ArkRunRecord) run = NULL;
	WaitData w = {f, NULL};
	JsonArray *argv = json_array_new();

	g_assert_cmpint(
	    fixture_run(f,
			"{\"name\":\"rp\",\"tasks\":["
			"{\"id\":\"broken\",\"run\":[\"false\"],"
			"\"retry\":{\"max_attempts\":2,\"initial_delay\":\"1ms\"}},"
			"{\"id\":\"after\",\"needs\":[\"broken\"],\"run\":[\"true\"]},"
			"{\"id\":\"ok\",\"run\":[\"true\"]}]}",
			&run_id),
	    ==, ARK_RUN_STATE_FAILED);
	/* only dead, failed or cancelled tasks are replayed */
	g_assert_false(ark_engine_replay_task(f->engine, run_id, "ok", NULL, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* overrides are validated like a workflow */
	json_object_set_string_member(overrides, "timeout", "soon");
	g_assert_false(ark_engine_replay_task(f->engine, run_id, "broken", overrides, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	/* fixed: the command replaced, the run reopened, the skipped child runs too */
	json_object_remove_member(overrides, "timeout");
	json_array_add_string_element(argv, "true");
	json_object_set_array_member(overrides, "run", argv);
	g_hash_table_remove_all(f->finished);
	g_assert_true(ark_engine_replay_task(f->engine, run_id, "broken", overrides, "bob", &error));
	g_assert_no_error(error);
	w.run_id = run_id;
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1, ==,
			ARK_RUN_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(tasks, "broken")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(tasks, "after")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	/* new attempts in the same run, numbered on */
	attempts = fixture_attempts(f, run_id, "broken");
	g_assert_cmpuint(attempts->len, ==, 3);
	g_assert_cmpint(((ArkAttemptRecord *)attempts->pdata[2])->status, ==,
			ARK_ATTEMPT_STATUS_SUCCEEDED);
	/* the stored definition carries the override, so a resume would run the same thing */
	run = ark_store_get_run(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(run->state, ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_nonnull(strstr(run->definition, "\"run\":[\"true\"]"));
}

/* an executor that holds its attempts until told to finish them, with a health check the test
 * can make fail: what the health model restarts */
#define ARK_TYPE_TEST_FLAKY (ark_test_flaky_get_type())
G_DECLARE_FINAL_TYPE(ArkTestFlaky, ark_test_flaky, ARK, TEST_FLAKY, GObject)

struct _ArkTestFlaky {
	GObject parent_instance;
	GPtrArray *held; /* ArkAttempt */
};

static guint flaky_unhealthy; /* how many checks fail from now on */
static guint flaky_instances;

static void ark_test_flaky_executor_init(ArkExecutorInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(ArkTestFlaky, ark_test_flaky, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR,
						    ark_test_flaky_executor_init))

static gboolean
ark_test_flaky_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	flaky_instances++;
	return TRUE;
}

static guint
ark_test_flaky_get_slots(ArkExecutor *executor)
{
	return 4;
}

static void
ark_test_flaky_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	g_ptr_array_add(ARK_TEST_FLAKY(executor)->held, ark_attempt_ref(attempt));
}

static void
ark_test_flaky_finish_all(ArkTestFlaky *self, ArkAttemptStatus status)
{
	ArkAttemptResult result = {.status = status, .exit_code = -1};
	while (self->held->len > 0) {
		g_autoptr(ArkAttempt) attempt = g_ptr_array_steal_index(self->held, 0);
		ark_attempt_finish(attempt, &result);
	}
}

static void
ark_test_flaky_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	ark_test_flaky_finish_all(ARK_TEST_FLAKY(executor), ARK_ATTEMPT_STATUS_CANCELLED);
}

static void
ark_test_flaky_shutdown(ArkExecutor *executor)
{
	ark_test_flaky_finish_all(ARK_TEST_FLAKY(executor), ARK_ATTEMPT_STATUS_CANCELLED);
}

static gboolean
ark_test_flaky_check_health(ArkExecutor *executor, GError **error)
{
	if (flaky_unhealthy == 0)
		return TRUE;
	flaky_unhealthy--;
	g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED, "the worker went away");
	return FALSE;
}

static void
ark_test_flaky_executor_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_test_flaky_setup;
	iface->get_slots = ark_test_flaky_get_slots;
	iface->start = ark_test_flaky_start;
	iface->cancel = ark_test_flaky_cancel;
	iface->shutdown = ark_test_flaky_shutdown;
	iface->check_health = ark_test_flaky_check_health;
}

static void
ark_test_flaky_finalize(GObject *object)
{
	g_ptr_array_unref(ARK_TEST_FLAKY(object)->held);
	G_OBJECT_CLASS(ark_test_flaky_parent_class)->finalize(object);
}

static void
ark_test_flaky_class_init(ArkTestFlakyClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_test_flaky_finalize;
}

static void
ark_test_flaky_init(ArkTestFlaky *self)
{
	self->held = g_ptr_array_new();
}

static const ArkHealthCheck *
fixture_health(GPtrArray *checks, const gchar *name)
{
	for (guint i = 0; i < checks->len; i++) {
		ArkHealthCheck *c = g_ptr_array_index(checks, i);
		if (g_strcmp0(c->name, name) == 0)
			return c;
	}
	g_error("no health check %s", name);
	return NULL;
}

static gboolean
fixture_running_at_least_one(gpointer user_data)
{
	return ((Fixture *)user_data)->running >= 1;
}

static gboolean
fixture_second_attempt_started(gpointer user_data)
{
	Fixture *f = user_data;
	for (guint i = 0; i < f->events->len; i++) {
		ArkEvent *e = g_ptr_array_index(f->events, i);
		if (e->kind == ARK_EVENT_ATTEMPT_STARTED && e->attempt == 2)
			return TRUE;
	}
	return FALSE;
}

static void
test_health_restarts_executor(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"flaky\",\"tasks\":[{\"id\":\"held\",\"executor\":\"flaky\","
	    "\"retry\":{\"max_attempts\":3,\"initial_delay\":\"1ms\",\"on\":[\"lost\"]}}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = NULL;
	g_autoptr(GPtrArray) checks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	guint instances;
	guint slots = 0, in_use = 0;

	checks = ark_engine_check_health(f->engine);
	g_assert_cmpint(fixture_health(checks, "store")->status, ==, ARK_HEALTH_OK);
	g_assert_cmpint(fixture_health(checks, "main-loop")->status, ==, ARK_HEALTH_OK);
	g_assert_cmpint(fixture_health(checks, "executor:flaky")->status, ==, ARK_HEALTH_OK);
	g_clear_pointer(&checks, g_ptr_array_unref);

	run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_running_at_least_one, f, 10000);
	g_assert_true(ark_engine_get_executor_slots(f->engine, "flaky", &slots, &in_use));
	g_assert_cmpuint(in_use, ==, 1);

	/* the check fails: the executor is replaced, what it held ends lost and is retried */
	instances = flaky_instances;
	flaky_unhealthy = 1;
	g_test_expect_message("ArkCore", G_LOG_LEVEL_WARNING,
			      "executor flaky was restarted: the worker went away");
	checks = ark_engine_check_health(f->engine);
	g_test_assert_expected_messages();
	g_assert_cmpuint(flaky_instances, ==, instances + 1);
	g_assert_cmpint(fixture_health(checks, "executor:flaky")->status, ==, ARK_HEALTH_DEGRADED);
	g_assert_nonnull(strstr(fixture_health(checks, "executor:flaky")->message,
				"the worker went away"));
	/* a restarted executor does not make the daemon unready */
	g_assert_true(ark_engine_is_ready(f->engine, NULL));
	ark_test_loop_run_until(fixture_second_attempt_started, f, 10000);
	attempts = fixture_attempts(f, run_id, "held");
	g_assert_cmpuint(attempts->len, ==, 2);
	g_assert_cmpint(((ArkAttemptRecord *)attempts->pdata[0])->status, ==,
			ARK_ATTEMPT_STATUS_LOST);
	g_assert_nonnull(strstr(((ArkAttemptRecord *)attempts->pdata[0])->error, "restarted"));
	g_assert_cmpint(((ArkAttemptRecord *)attempts->pdata[1])->status, ==,
			ARK_ATTEMPT_STATUS_RUNNING);
	g_assert_true(ark_engine_cancel_run(f->engine, run_id, "test", NULL, &error));
	g_assert_no_error(error);
}

static void
test_drain_and_interrupt(Fixture *f, gconstpointer data)
{
	/* two slots: a and b run, c waits for a slot */
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"drain\",\"tasks\":["
	    "{\"id\":\"a\",\"run\":[\"sleep\",\"0.2\"]},"
	    "{\"id\":\"b\",\"run\":[\"sleep\",\"30\"],\"retry\":{\"max_attempts\":1}},"
	    "{\"id\":\"c\",\"run\":[\"true\"]},"
	    "{\"id\":\"d\",\"needs\":[\"a\",\"b\",\"c\"],\"run\":[\"true\"]}]}");
	g_autoptr(ArkWorkflow) other = fixture_parse(
	    "{\"name\":\"late\",\"tasks\":[{\"id\":\"x\",\"run\":[\"true\"]}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autofree gchar *refused = NULL;
	g_autofree gchar *failing = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) b = NULL;
	const gchar *why = NULL;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	ark_test_loop_run_until(test_cancel_started, f, 30000);
	ark_engine_drain(f->engine, "the daemon is shutting down");
	g_assert_false(ark_engine_is_accepting(f->engine, &why));
	g_assert_cmpstr(why, ==, "the daemon is shutting down");
	refused = ark_engine_submit(f->engine, other, NULL, &error);
	g_assert_null(refused);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_false(ark_engine_is_ready(f->engine, &failing));
	g_assert_true(g_str_has_prefix(failing, "accepting: "));

	/* a finishes; its slot is not reused while draining */
	while (ark_engine_get_n_running(f->engine) > 1)
		g_main_context_iteration(NULL, TRUE);
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(ark_engine_get_n_running(f->engine), ==, 1);

	g_assert_true(ark_engine_interrupt(f->engine, "interrupted: test", &error));
	g_assert_no_error(error);
	g_assert_cmpuint(ark_engine_get_n_running(f->engine), ==, 0);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fixture_task(tasks, "a")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(tasks, "b")->state, ==, ARK_TASK_STATE_READY);
	g_assert_cmpint(fixture_task(tasks, "c")->state, ==, ARK_TASK_STATE_READY);
	b = fixture_attempts(f, run_id, "b");
	g_assert_cmpuint(b->len, ==, 1);
	g_assert_cmpint(((ArkAttemptRecord *)b->pdata[0])->status, ==,
			ARK_ATTEMPT_STATUS_CANCELLED);

	/* the next daemon runs what was interrupted, although b allows one attempt only */
	fixture_crash(f);
	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_second_attempt_started, f, 30000);
	g_assert_true(ark_engine_cancel_task(f->engine, run_id, "b", "test", NULL, &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	g_clear_pointer(&b, g_ptr_array_unref);
	b = fixture_attempts(f, run_id, "b");
	g_assert_cmpuint(b->len, ==, 2);
	g_clear_pointer(&tasks, g_ptr_array_unref);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_cmpint(fixture_task(tasks, "c")->state, ==, ARK_TASK_STATE_SUCCEEDED);
}

typedef struct {
	guint answered;
	gchar *ids[8];
	gboolean existed[8];
} AsyncData;

static void
async_submitted_cb(ArkEngine *engine, const gchar *run_id, gboolean existed, const GError *error,
		   gpointer user_data)
{
	AsyncData *d = user_data;
	g_assert_no_error((GError *)error);
	d->ids[d->answered] = g_strdup(run_id);
	d->existed[d->answered] = existed;
	d->answered++;
}

static gboolean
async_all_answered(gpointer user_data)
{
	return ((AsyncData *)user_data)->answered == 5;
}

static void
test_submit_async_group_commit(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf =
	    fixture_parse("{\"name\":\"group\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}");
	g_autoptr(ArkWorkflow) bad = fixture_parse(
	    "{\"name\":\"bad\",\"tasks\":[{\"id\":\"a\",\"executor\":\"nope\",\"run\":[\"true\"]}]}");
	ArkSubmitOptions keyed = {.idempotency_key = "same-key"};
	ArkMetricSeries *commits = ark_metric_default(ark_metrics_histogram(
	    ark_engine_get_metrics(f->engine), "ark_store_commit_seconds", NULL, NULL, NULL, 0));
	g_autoptr(GError) error = NULL;
	AsyncData d = {0};
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;
	guint64 before;

	/* settle what the engine recorded at start */
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	before = ark_metric_series_get_count(commits);
	for (guint i = 0; i < 3; i++) {
		g_autofree gchar *id =
		    ark_engine_submit_async(f->engine, wf, NULL, async_submitted_cb, &d, &error);
		g_assert_nonnull(id);
	}
	/* the same key twice before either is committed: one run, whose id both get at once */
	first = ark_engine_submit_async(f->engine, wf, &keyed, async_submitted_cb, &d, &error);
	second = ark_engine_submit_async(f->engine, wf, &keyed, async_submitted_cb, &d, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(first, ==, second);
	/* validation fails at once, and nothing waits for it */
	g_assert_null(
	    ark_engine_submit_async(f->engine, bad, NULL, async_submitted_cb, &d, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_cmpuint(d.answered, ==, 0);

	ark_test_loop_run_until(async_all_answered, &d, 10000);
	/* five submissions, one transaction */
	g_assert_cmpuint(ark_metric_series_get_count(commits), ==, before + 1);
	g_assert_false(d.existed[3]);
	g_assert_true(d.existed[4]);
	g_assert_cmpstr(d.ids[3], ==, d.ids[4]);
	g_assert_cmpstr(d.ids[3], ==, first);
	for (guint i = 0; i < 5; i++) {
		g_autoptr(ArkRunRecord) run = ark_store_get_run(f->store, d.ids[i], &error);
		g_assert_no_error(error);
		g_assert_nonnull(run);
		g_free(d.ids[i]);
	}

	ark_engine_drain(f->engine, "draining");
	g_assert_null(
	    ark_engine_submit_async(f->engine, wf, NULL, async_submitted_cb, &d, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_BUSY);
}

static JsonObject *
fixture_explain(Fixture *f, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	JsonObject *why = ark_engine_explain_task(f->engine, run_id, task_id, &error);
	g_assert_no_error(error);
	g_assert_nonnull(why);
	g_assert_cmpstr(json_object_get_string_member(why, "task_id"), ==, task_id);
	/* every explanation says it in one line */
	g_assert_nonnull(json_object_get_string_member(why, "summary"));
	return why;
}

static void
test_explain(Fixture *f, gconstpointer data)
{
	/* two long tasks fill the process executor's two slots; one more waits in the queue
	 * behind them, another waits for a need */
	g_autoptr(ArkWorkflow) wf = fixture_parse(
	    "{\"name\":\"why\",\"tasks\":["
	    "{\"id\":\"slow1\",\"run\":[\"sleep\",\"30\"]},"
	    "{\"id\":\"slow2\",\"run\":[\"sleep\",\"30\"]},"
	    "{\"id\":\"queued\",\"run\":[\"true\"],\"priority\":-1},"
	    "{\"id\":\"child\",\"needs\":[\"slow1\",\"queued\"],\"run\":[\"true\"]}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(JsonObject) pending = NULL;
	g_autoptr(JsonObject) ready = NULL;
	g_autoptr(JsonObject) running = NULL;
	g_autoptr(JsonObject) ended = NULL;
	g_autoptr(JsonObject) missing = NULL;
	JsonArray *waiting;
	JsonObject *queue;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	f->running = 0;
	ark_test_loop_run_until(test_cancel_started, f, 30000);

	pending = fixture_explain(f, run_id, "child");
	g_assert_cmpstr(json_object_get_string_member(pending, "state"), ==, "pending");
	waiting = json_object_get_array_member(pending, "waiting_for");
	g_assert_cmpuint(json_array_get_length(waiting), ==, 2);
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(waiting, 0),
						      "task_id"),
			==, "slow1");
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(waiting, 0),
						      "state"),
			==, "running");
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(waiting, 1),
						      "state"),
			==, "ready");

	ready = fixture_explain(f, run_id, "queued");
	g_assert_cmpstr(json_object_get_string_member(ready, "state"), ==, "ready");
	queue = json_object_get_object_member(ready, "queue");
	g_assert_cmpstr(json_object_get_string_member(queue, "executor"), ==, "process");
	g_assert_cmpint(json_object_get_int_member(queue, "position"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(queue, "length"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(queue, "slots_used"), ==, 2);
	g_assert_cmpint(json_object_get_int_member(queue, "slots_total"), ==, 2);
	g_assert_nonnull(strstr(json_object_get_string_member(ready, "summary"),
				"all 2 slots are in use"));

	running = fixture_explain(f, run_id, "slow1");
	g_assert_cmpstr(json_object_get_string_member(running, "state"), ==, "running");
	g_assert_cmpint(
	    json_object_get_int_member(json_object_get_object_member(running, "attempt"), "number"),
	    ==, 1);

	missing = ark_engine_explain_task(f->engine, run_id, "nope", &error);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_assert_null(missing);
	g_clear_error(&error);
	g_assert_null(ark_engine_explain_task(f->engine, "no-such-run", "child", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a finished run is explained from the store, with the reason of each end */
	g_assert_true(ark_engine_cancel_run(f->engine, run_id, "alice", "enough", &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	ended = fixture_explain(f, run_id, "child");
	g_assert_cmpstr(json_object_get_string_member(ended, "state"), ==, "cancelled");
	g_assert_nonnull(json_object_get_string_member(ended, "reason"));
	g_assert_nonnull(strstr(json_object_get_string_member(ended, "summary"), "cancelled"));
}

static gboolean
test_side_done(gpointer user_data)
{
	Fixture *f = user_data;
	return fixture_event_index(f, ARK_EVENT_TASK_STATE, "side", ARK_TASK_STATE_SUCCEEDED) >= 0;
}

static void
test_add_task(Fixture *f, gconstpointer data)
{
	g_autofree gchar *gate = g_build_filename(f->dir, "gate", NULL);
	/* the first attempt outlives the crash below, like a real process would; it ends when
	 * the test's directory goes, should it miss the moment the gate exists */
	g_autofree gchar *json = g_strdup_printf(
	    "{\"name\":\"grow\",\"tasks\":[{\"id\":\"wait\",\"run\":\"while [ ! -e '%s' ] && "
	    "[ -d '%s' ]; do sleep 0.02; done\",\"shell\":true,"
	    "\"retry\":{\"max_attempts\":2,\"initial_delay\":\"1ms\",\"on\":[\"lost\"]}}]}",
	    gate, f->dir);
	g_autoptr(ArkWorkflow) wf = fixture_parse(json);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(JsonObject) why = NULL;
	JsonObject *task;
	WaitData w = {f, run_id};

	g_assert_no_error(error);

	/* a duplicate id, an unknown need and a bad member are refused with the problem */
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"wait\",\"run\":[\"true\"]}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_false(ark_engine_add_task(f->engine, run_id, task, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "wait"));
	g_clear_error(&error);
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"x\",\"needs\":[\"ghost\"],\"run\":[\"true\"]}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_false(ark_engine_add_task(f->engine, run_id, task, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "ghost"));
	g_clear_error(&error);
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"x\",\"run\":[\"true\"],\"timeout\":\"soon\"}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_false(ark_engine_add_task(f->engine, run_id, task, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(ark_engine_add_task(f->engine, "no-such-run", task, "bob", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* one that needs the running task waits for it, and is durable at once */
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"after\",\"needs\":[\"wait\"],\"run\":[\"true\"]}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_true(ark_engine_add_task(f->engine, run_id, task, "bob", &error));
	g_assert_no_error(error);
	run = ark_store_get_run(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(run->n_tasks, ==, 2);
	g_assert_nonnull(strstr(run->definition, "\"after\""));
	why = fixture_explain(f, run_id, "after");
	g_assert_cmpstr(json_object_get_string_member(why, "state"), ==, "pending");

	/* an independent one starts while the first still runs */
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"side\",\"run\":[\"true\"]}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_true(ark_engine_add_task(f->engine, run_id, task, NULL, &error));
	g_assert_no_error(error);

	/* a restart in the middle: the run comes back with all three tasks */
	f->running = 0;
	ark_test_loop_run_until(test_side_done, f, 30000);
	/* nothing of this engine may still be due when the next one starts */
	while (g_main_context_iteration(NULL, FALSE))
		;
	fixture_crash(f);
	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(gate, "", 0, &error));
	g_assert_no_error(error);
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1, ==,
			ARK_RUN_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tasks->len, ==, 3);
	g_assert_cmpint(fixture_task(tasks, "after")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_task(tasks, "side")->state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_event_index(f, ARK_EVENT_TASK_STATE, "after",
					    ARK_TASK_STATE_SUCCEEDED),
			>, fixture_event_index(f, ARK_EVENT_TASK_STATE, "wait",
					       ARK_TASK_STATE_SUCCEEDED));

	/* a finished run takes no more tasks */
	g_assert_true(json_parser_load_from_data(
	    parser, "{\"id\":\"late\",\"run\":[\"true\"]}", -1, NULL));
	task = json_node_get_object(json_parser_get_root(parser));
	g_assert_false(ark_engine_add_task(f->engine, run_id, task, NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
}

/* the same, without a restart: the added tasks live beside the submitted block */
static void
test_add_task_live(Fixture *f, gconstpointer data)
{
	g_autofree gchar *gate = g_build_filename(f->dir, "gate", NULL);
	g_autofree gchar *json = g_strdup_printf(
	    "{\"name\":\"grow\",\"tasks\":[{\"id\":\"wait\",\"run\":\"while [ ! -e '%s' ]; do "
	    "sleep 0.02; done\",\"shell\":true},{\"id\":\"b\",\"run\":[\"true\"]}]}",
	    gate);
	g_autoptr(ArkWorkflow) wf = fixture_parse(json);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_autoptr(GPtrArray) tasks = NULL;
	WaitData w = {f, run_id};

	g_assert_no_error(error);
	/* a chain of added tasks, each needing the one before and the first task */
	for (guint i = 0; i < 20; i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autofree gchar *prev = i > 0 ? g_strdup_printf(",\"n%u\"", i - 1) : g_strdup("");
		g_autofree gchar *task = g_strdup_printf(
		    "{\"id\":\"n%u\",\"needs\":[\"wait\"%s],\"run\":[\"true\"]}", i, prev);
		g_assert_true(json_parser_load_from_data(parser, task, -1, NULL));
		g_assert_true(ark_engine_add_task(
		    f->engine, run_id, json_node_get_object(json_parser_get_root(parser)), "t",
		    &error));
		g_assert_no_error(error);
	}
	g_assert_true(g_file_set_contents(gate, "", 0, &error));
	ark_test_loop_run_until(fixture_run_done, &w, 30000);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1, ==,
			ARK_RUN_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tasks->len, ==, 22);
	for (guint i = 1; i < 20; i++) {
		g_autofree gchar *prev = g_strdup_printf("n%u", i - 1);
		g_autofree gchar *cur = g_strdup_printf("n%u", i);
		g_assert_cmpint(fixture_task(tasks, cur)->state, ==, ARK_TASK_STATE_SUCCEEDED);
		g_assert_cmpint(fixture_event_index(f, ARK_EVENT_TASK_STATE, cur,
						    ARK_TASK_STATE_RUNNING),
				>, fixture_event_index(f, ARK_EVENT_TASK_STATE, prev,
						       ARK_TASK_STATE_SUCCEEDED));
	}
}

/*
 * A function whose result is whatever its args ask for, valid or not: a string is returned
 * as it is (the raw text of the result), {"fill": N} is a JSON string of exactly N bytes and
 * {"nest": N} is N nested arrays.
 */
static gboolean
test_raw_result_function(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
			 gpointer user_data, GError **error)
{
	JsonObject *args;

	if (JSON_NODE_HOLDS_VALUE(spec->args)) {
		*out_result = g_strdup(json_node_get_string(spec->args));
		return TRUE;
	}
	args = json_node_get_object(spec->args);
	if (json_object_has_member(args, "fill")) {
		gsize n = (gsize)json_object_get_int_member(args, "fill");
		*out_result = g_strnfill(n, 'a');
		(*out_result)[0] = (*out_result)[n - 1] = '"';
	} else {
		gsize n = (gsize)json_object_get_int_member(args, "nest");
		*out_result = g_malloc(2 * n + 1);
		memset(*out_result, '[', n);
		memset(*out_result + n, ']', n);
		(*out_result)[2 * n] = '\0';
	}
	return TRUE;
}

static ArkAttemptRecord *
fixture_last_attempt(Fixture *f, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) attempts = ark_store_list_attempts(f->store, run_id, task_id, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(attempts->len, >, 0);
	return ark_attempt_record_copy(g_ptr_array_index(attempts, attempts->len - 1));
}

/* what a successful attempt produced is stored with it, if it is JSON of at most 1 MiB; a
 * success with anything else fails the attempt, and nothing of it is stored */
static void
test_attempt_results(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autofree gchar *workflow = g_strdup_printf(
	    "{\"name\":\"results\",\"on_failure\":\"continue\",\"tasks\":["
	    "{\"id\":\"echo\",\"executor\":\"thread\",\"function\":\"echo\","
	    "\"args\":{\"files\":[\"a.c\",\"b.c\"],\"n\":2}},"
	    "{\"id\":\"noop\",\"executor\":\"thread\",\"function\":\"noop\"},"
	    "{\"id\":\"process\",\"run\":[\"true\"]},"
	    "{\"id\":\"largest\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":{\"fill\":%d}},"
	    "{\"id\":\"too-large\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":{\"fill\":%d}},"
	    "{\"id\":\"garbage\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":\"[1] [2]\"},"
	    "{\"id\":\"empty\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":\"\"},"
	    "{\"id\":\"lenient\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":\"/* c */ 0x10\"},"
	    "{\"id\":\"deep\",\"executor\":\"thread\",\"function\":\"test-raw-result\","
	    "\"args\":{\"nest\":100000}},"
	    "{\"id\":\"after\",\"needs\":[\"too-large\"],\"run\":[\"true\"]}]}",
	    ARK_RESULT_MAX_BYTES, ARK_RESULT_MAX_BYTES + 1);
	static const struct {
		const gchar *task;
		const gchar *error;
	} refused[] = {
	    {"too-large", "result is larger than 1 MiB (1048577 bytes)"},
	    {"garbage", "result is not JSON: more data after the value at byte 5"},
	    {"empty", "result is not JSON: expected a value at byte 1"},
	    {"lenient", "result is not JSON: expected a value at byte 1"},
	    {"deep", "result is not JSON: nested deeper than 64 levels at byte 65"},
	};
	g_autoptr(GHashTable) states = NULL;
	g_autoptr(ArkAttemptRecord) a = NULL;

	g_assert_cmpint(fixture_run(f, workflow, &run_id), ==, ARK_RUN_STATE_FAILED);
	states = fixture_task_states(f, run_id);

	a = fixture_last_attempt(f, run_id, "echo");
	g_assert_cmpint(a->status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(a->result, ==, "{\"files\":[\"a.c\",\"b.c\"],\"n\":2}");
	g_clear_pointer(&a, ark_attempt_record_free);
	/* no result is no result, not null */
	a = fixture_last_attempt(f, run_id, "noop");
	g_assert_cmpint(a->status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_null(a->result);
	g_clear_pointer(&a, ark_attempt_record_free);
	a = fixture_last_attempt(f, run_id, "process");
	g_assert_null(a->result);
	g_clear_pointer(&a, ark_attempt_record_free);
	a = fixture_last_attempt(f, run_id, "largest");
	g_assert_cmpint(a->status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpuint(strlen(a->result), ==, ARK_RESULT_MAX_BYTES);
	g_clear_pointer(&a, ark_attempt_record_free);

	for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
		a = fixture_last_attempt(f, run_id, refused[i].task);
		g_assert_cmpint(a->status, ==, ARK_ATTEMPT_STATUS_FAILED);
		g_assert_cmpstr(a->error, ==, refused[i].error);
		g_assert_null(a->result);
		g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(states, refused[i].task)), ==,
				ARK_TASK_STATE_FAILED);
		g_clear_pointer(&a, ark_attempt_record_free);
	}
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(states, "echo")), ==,
			ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(states, "after")), ==,
			ARK_TASK_STATE_SKIPPED);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	{
		g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
		g_assert_true(ark_registry_add_type(registry, "test", ARK_CAPABILITY_EXECUTOR,
						    "flaky", ARK_TYPE_TEST_FLAKY, NULL));
		g_assert_true(ark_registry_add_function(registry, "test", "test-raw-result",
							test_raw_result_function, NULL, NULL));
	}
#define ADD(path, fn) g_test_add("/ark/engine/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("diamond", test_diamond);
	ADD("failure-skips-dependents", test_failure_skips_dependents);
	ADD("allow-failure", test_allow_failure);
	ADD("slots", test_slots_respected);
	ADD("cancel", test_cancel);
	ADD("unknown-executor", test_rejects_unknown_executor);
	ADD("idempotency", test_idempotency);
	ADD("sequence-survives-restart", test_sequence_survives_restart);
	ADD("large-fanout", test_large_fanout);
	ADD("retry/until-dead", test_retry_until_dead);
	ADD("retry/then-succeed", test_retry_then_succeed);
	ADD("retry/exit-codes-and-timeouts", test_retry_exit_codes_and_timeouts);
	ADD("queue-timeout", test_queue_timeout);
	ADD("run-timeout", test_run_timeout);
	ADD("fail-fast-and-continue", test_fail_fast_and_continue);
	ADD("cancel-task", test_cancel_task);
	ADD("resume-lost-attempts", test_resume_lost_attempts);
	ADD("replay-dead-task", test_replay_dead_task);
	ADD("health/restarts-executor", test_health_restarts_executor);
	ADD("drain-and-interrupt", test_drain_and_interrupt);
	ADD("submit-async-group-commit", test_submit_async_group_commit);
	ADD("explain", test_explain);
	ADD("add-task", test_add_task);
	ADD("add-task-live", test_add_task_live);
	ADD("attempt-results", test_attempt_results);
#undef ADD
	return g_test_run();
}
