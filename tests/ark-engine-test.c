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
	ark_test_loop_run_until(fixture_run_done, &w, 60000);
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
	for (guint i = 0; i < 2000; i++)
		g_string_append_printf(json,
				       ",{\"id\":\"n%u\",\"needs\":[\"root\"],\"executor\":\"thread\","
				       "\"function\":\"noop\"}",
				       i);
	g_string_append(json, "]}");
	g_assert_cmpint(fixture_run(f, json->str, &run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	tasks = ark_store_list_tasks(f->store, run_id, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tasks->len, ==, 2001);
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		g_assert_cmpint(t->state, ==, ARK_TASK_STATE_SUCCEEDED);
		g_assert_cmpuint(t->attempts, ==, 1);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
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
#undef ADD
	return g_test_run();
}
