/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect-core.h>

#include "ark-test-utils.h"

/*
 * Resource-aware dispatch, concurrency keys, leases, learned estimates, admission control and
 * deadline misses, through the engine on a real SQLite store. Most tests use "hold", an executor
 * that keeps every attempt until the test ends it with the status it wants, so that what runs
 * when is decided by the test and never by a clock.
 */

/* the hold executor ---------------------------------------------------------------------------- */

#define ARK_TYPE_TEST_HOLD (ark_test_hold_get_type())
G_DECLARE_FINAL_TYPE(ArkTestHold, ark_test_hold, ARK, TEST_HOLD, GObject)

struct _ArkTestHold {
	GObject parent_instance;
	ArkResources capacity;
	guint slots;
};

static GPtrArray *hold_attempts; /* ArkAttempt the current hold executor holds */
static guint hold_unhealthy;	 /* health checks that fail from now on */

static void ark_test_hold_executor_init(ArkExecutorInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(ArkTestHold, ark_test_hold, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR, ark_test_hold_executor_init))

/* reads [executor-hold] cpus, memory, gpus and slots like the in-tree executors */
static gboolean
ark_test_hold_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkTestHold *self = ARK_TEST_HOLD(executor);
	gint slots = setup->config != NULL
			 ? g_key_file_get_integer(setup->config, setup->group, "slots", NULL)
			 : 0;
	self->slots = setup->slots > 0 ? setup->slots : slots > 0 ? (guint)slots : 16;
	return ark_resources_read_config(setup->config, setup->group, &self->capacity, error);
}

static guint
ark_test_hold_get_slots(ArkExecutor *executor)
{
	return ARK_TEST_HOLD(executor)->slots;
}

static void
ark_test_hold_get_capacity(ArkExecutor *executor, ArkResources *out)
{
	*out = ARK_TEST_HOLD(executor)->capacity;
}

static void
ark_test_hold_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	g_ptr_array_add(hold_attempts, ark_attempt_ref(attempt));
}

static gboolean
hold_finish(const gchar *task_id, ArkAttemptStatus status)
{
	for (guint i = 0; i < hold_attempts->len; i++) {
		ArkAttempt *attempt = g_ptr_array_index(hold_attempts, i);
		if (g_strcmp0(ark_attempt_get_task_id(attempt), task_id) == 0) {
			g_autoptr(ArkAttempt) held = g_ptr_array_steal_index(hold_attempts, i);
			ArkAttemptResult result = {
			    .status = status,
			    .exit_code = status == ARK_ATTEMPT_STATUS_SUCCEEDED ? 0 : 1,
			    .error = status == ARK_ATTEMPT_STATUS_SUCCEEDED ? NULL : "test",
			};
			ark_attempt_finish(held, &result);
			return TRUE;
		}
	}
	return FALSE;
}

static void
ark_test_hold_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	(void)hold_finish(ark_attempt_get_task_id(attempt), ARK_ATTEMPT_STATUS_CANCELLED);
}

static void
ark_test_hold_shutdown(ArkExecutor *executor)
{
	while (hold_attempts->len > 0)
		(void)hold_finish(ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, 0)),
				  ARK_ATTEMPT_STATUS_CANCELLED);
}

static gboolean
ark_test_hold_check_health(ArkExecutor *executor, GError **error)
{
	if (hold_unhealthy == 0)
		return TRUE;
	hold_unhealthy--;
	g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED, "the worker went away");
	return FALSE;
}

static void
ark_test_hold_executor_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_test_hold_setup;
	iface->get_slots = ark_test_hold_get_slots;
	iface->get_capacity = ark_test_hold_get_capacity;
	iface->start = ark_test_hold_start;
	iface->cancel = ark_test_hold_cancel;
	iface->shutdown = ark_test_hold_shutdown;
	iface->check_health = ark_test_hold_check_health;
}

static void
ark_test_hold_class_init(ArkTestHoldClass *klass)
{
}

static void
ark_test_hold_init(ArkTestHold *self)
{
}

/* the fixture ---------------------------------------------------------------------------------- */

typedef struct {
	gchar *dir;
	ArkStore *store;
	ArkEngine *engine;
	GKeyFile *config;
	GPtrArray *events;    /* ArkEvent copies */
	GPtrArray *started;   /* task ids in the order their attempts started (gchar *) */
	GHashTable *finished; /* run id -> GINT_TO_POINTER(state + 1) */
} Fixture;

static void
fixture_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	Fixture *f = user_data;
	g_ptr_array_add(f->events, ark_event_copy(event));
	if (event->kind == ARK_EVENT_ATTEMPT_STARTED)
		g_ptr_array_add(f->started, g_strdup(event->task_id));
}

static void
fixture_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state, gpointer user_data)
{
	Fixture *f = user_data;
	g_hash_table_insert(f->finished, g_strdup(run_id), GINT_TO_POINTER(state + 1));
}

/* a new engine on the fixture's store, with its configuration and @default_policy */
static void
fixture_start(Fixture *f, const gchar *default_policy)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	/* the registry of the loaded plugins is shared by the process: add "hold" once */
	if (ark_registry_lookup_type(registry, ARK_CAPABILITY_EXECUTOR, "hold") == G_TYPE_INVALID)
		g_assert_true(ark_registry_add_type(registry, "test", ARK_CAPABILITY_EXECUTOR,
						    "hold", ARK_TYPE_TEST_HOLD, NULL));
	f->engine = ark_engine_new(registry, f->store);
	ark_engine_set_state_dir(f->engine, f->dir);
	ark_engine_set_config(f->engine, f->config);
	if (default_policy != NULL)
		ark_engine_set_default_policy(f->engine, default_policy);
	g_assert_true(ark_engine_start(f->engine, &error));
	g_assert_no_error(error);
	g_signal_connect(f->engine, "event", G_CALLBACK(fixture_event_cb), f);
	g_signal_connect(f->engine, "run-finished", G_CALLBACK(fixture_run_finished_cb), f);
}

static void
fixture_stop(Fixture *f)
{
	if (f->engine == NULL)
		return;
	ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
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
	f->config = g_key_file_new();
	g_key_file_set_string(f->config, "executor-hold", "cpus", "4");
	g_key_file_set_string(f->config, "executor-hold", "memory", "8G");
	g_key_file_set_string(f->config, "executor-hold", "gpus", "2");
	f->events = g_ptr_array_new_with_free_func((GDestroyNotify)ark_event_free);
	f->started = g_ptr_array_new_with_free_func(g_free);
	f->finished = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	hold_attempts = g_ptr_array_new_with_free_func((GDestroyNotify)ark_attempt_unref);
	hold_unhealthy = 0;
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	fixture_stop(f);
	g_clear_pointer(&hold_attempts, g_ptr_array_unref);
	ark_store_close(f->store);
	g_clear_object(&f->store);
	g_key_file_unref(f->config);
	g_ptr_array_unref(f->events);
	g_ptr_array_unref(f->started);
	g_hash_table_unref(f->finished);
	ark_test_rmdir(f->dir);
	g_free(f->dir);
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

static gchar *
fixture_submit(Fixture *f, const gchar *json, const gchar *policy)
{
	g_autoptr(ArkWorkflow) wf = fixture_parse(json);
	g_autoptr(GError) error = NULL;
	ArkSubmitOptions options = {.policy = policy};
	gchar *run_id = ark_engine_submit(f->engine, wf, &options, &error);
	g_assert_no_error(error);
	return run_id;
}

/* lets the engine tick until nothing is left to do right now */
static void
fixture_settle(void)
{
	for (guint i = 0; i < 50; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
}

static gboolean
fixture_run_done(gpointer user_data)
{
	gpointer *w = user_data;
	return g_hash_table_contains(((Fixture *)w[0])->finished, w[1]);
}

static ArkRunState
fixture_wait(Fixture *f, const gchar *run_id)
{
	gpointer w[2] = {f, (gpointer)run_id};
	ark_test_loop_run_until(fixture_run_done, w, 60000);
	return (ArkRunState)(GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1);
}

static gboolean
fixture_is_held(const gchar *task_id)
{
	for (guint i = 0; i < hold_attempts->len; i++) {
		if (g_strcmp0(ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, i)),
			      task_id) == 0)
			return TRUE;
	}
	return FALSE;
}

static gint
fixture_compare_ids(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the task ids the hold executor runs now, sorted, as "a,b" */
static gchar *
fixture_held(void)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	for (guint i = 0; i < hold_attempts->len; i++)
		g_ptr_array_add(ids,
				(gpointer)ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, i)));
	g_ptr_array_sort(ids, fixture_compare_ids);
	g_ptr_array_add(ids, NULL);
	return g_strjoinv(",", (gchar **)ids->pdata);
}

#define assert_held(expected)                                                                      \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *held_ = fixture_held();                                          \
		g_assert_cmpstr(held_, ==, expected);                                              \
	}                                                                                          \
	G_STMT_END

static void
fixture_finish(const gchar *task_id, ArkAttemptStatus status)
{
	g_assert_true(hold_finish(task_id, status));
	fixture_settle();
}

static void
fixture_assert_in_use(Fixture *f, gdouble cpus, guint64 memory, guint gpus)
{
	ArkResources capacity, in_use;
	g_assert_true(ark_engine_get_executor_resources(f->engine, "hold", &capacity, &in_use));
	g_assert_cmpfloat_with_epsilon(in_use.cpus, cpus, 1e-9);
	g_assert_cmpuint(in_use.memory, ==, memory);
	g_assert_cmpuint(in_use.gpus, ==, gpus);
	/* never over-committed */
	g_assert_cmpfloat(in_use.cpus, <=, capacity.cpus + 1e-9);
	g_assert_cmpuint(in_use.memory, <=, capacity.memory);
	g_assert_cmpuint(in_use.gpus, <=, capacity.gpus);
}

/* tests ---------------------------------------------------------------------------------------- */

/* cpus, memory and gpus are never over-committed, and a head that does not fit keeps its place:
 * with unknown estimates nothing may jump it that it would need */
static void
test_never_overcommit(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f,
				"{\"name\":\"fit\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
				"{\"id\":\"a\",\"cpus\":3,\"memory\":\"1G\"},"
				"{\"id\":\"b\",\"cpus\":2,\"gpus\":2},"
				"{\"id\":\"c\",\"cpus\":1},"
				"{\"id\":\"d\",\"memory\":\"7G\"}]}",
				NULL);
	fixture_settle();
	/* b does not fit next to a; c would fit, but b needs its CPU when a ends; d takes memory
	 * b does not need, and there is enough of it for both */
	assert_held("a,d");
	fixture_assert_in_use(f, 3, G_GUINT64_CONSTANT(8) << 30, 0);
	fixture_finish("a", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("b,c,d");
	fixture_assert_in_use(f, 3, G_GUINT64_CONSTANT(7) << 30, 2);
	fixture_finish("b", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("c", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("d", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	fixture_assert_in_use(f, 0, 0, 0);
}

/* EASY backfill: behind a head that waits for a's 3 CPUs, a short task that ends before a is
 * expected to starts now; a long one waits */
static void
test_backfill(Fixture *f, gconstpointer data)
{
	const gchar *json = "{\"name\":\"bf\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"a\",\"cpus\":3,\"estimate\":\"1h\"},"
			    "{\"id\":\"head\",\"needs\":[\"gate\"],\"cpus\":4,\"estimate\":\"1m\"},"
			    "{\"id\":\"long\",\"needs\":[\"gate\"],\"cpus\":1,\"estimate\":\"2h\"},"
			    "{\"id\":\"short\",\"needs\":[\"gate\"],\"cpus\":1,\"estimate\":\"1m\"},"
			    "{\"id\":\"gate\",\"estimate\":\"1s\"}]}";
	g_autofree gchar *run_id = NULL;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f, json, NULL);
	fixture_settle();
	assert_held("a,gate");
	/* head, long, short become ready in this order */
	fixture_finish("gate", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("a,short");
	fixture_assert_in_use(f, 4, 0, 0);
	fixture_finish("short", ARK_ATTEMPT_STATUS_SUCCEEDED);
	/* long would run past a's expected end and delay head */
	assert_held("a");
	fixture_finish("a", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("head");
	fixture_finish("head", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("long");
	fixture_finish("long", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

/* backfill-depth 0: nothing starts ahead of a head that does not fit */
static void
test_backfill_off(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;

	g_key_file_set_string(f->config, "engine", "backfill-depth", "0");
	fixture_start(f, "fifo");
	run_id = fixture_submit(f,
				"{\"name\":\"bf\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
				"{\"id\":\"a\",\"cpus\":3,\"estimate\":\"1h\"},"
				"{\"id\":\"head\",\"cpus\":4,\"estimate\":\"1m\"},"
				"{\"id\":\"short\",\"cpus\":1,\"estimate\":\"1s\"}]}",
				NULL);
	fixture_settle();
	assert_held("a");
	fixture_finish("a", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("head");
	fixture_finish("head", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("short", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

/* a key with limit 1 across runs; a task that waits for it does not hold up the others; the
 * configured cap wins over a task's larger limit */
static void
test_concurrency_key(Fixture *f, gconstpointer data)
{
	g_autofree gchar *r1 = NULL;
	g_autofree gchar *r2 = NULL;
	guint waiting = 0;

	g_key_file_set_string(f->config, "engine", "concurrency-limits", "db:1;other:3");
	fixture_start(f, "fifo");
	r1 = fixture_submit(f,
			    "{\"name\":\"k1\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"deploy1\",\"concurrency\":{\"key\":\"deploy-prod\","
			    "\"limit\":1}},"
			    "{\"id\":\"mig1\",\"concurrency\":{\"key\":\"db\",\"limit\":5}},"
			    "{\"id\":\"mig2\",\"concurrency\":{\"key\":\"db\",\"limit\":5}}]}",
			    NULL);
	r2 = fixture_submit(f,
			    "{\"name\":\"k2\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"deploy2\",\"concurrency\":{\"key\":\"deploy-prod\","
			    "\"limit\":1}},"
			    "{\"id\":\"free\"}]}",
			    NULL);
	fixture_settle();
	assert_held("deploy1,free,mig1");
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "deploy-prod", &waiting), ==,
			 1);
	g_assert_cmpuint(waiting, ==, 1);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "db", &waiting), ==, 1);
	g_assert_cmpuint(waiting, ==, 1);
	fixture_finish("deploy1", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("deploy2,free,mig1");
	fixture_finish("mig1", ARK_ATTEMPT_STATUS_SUCCEEDED);
	assert_held("deploy2,free,mig2");
	fixture_finish("mig2", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("deploy2", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("free", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r1), ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r2), ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "deploy-prod", &waiting), ==,
			 0);
	g_assert_cmpuint(waiting, ==, 0);
}

static const gchar *lease_json =
    "{\"name\":\"lease\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
    "{\"id\":\"holder\",\"cpus\":4,\"gpus\":2,\"memory\":\"8G\","
    "\"concurrency\":{\"key\":\"k\",\"limit\":1},"
    "\"retry\":{\"max_attempts\":2,\"initial_delay\":\"1ms\",\"on\":[\"lost\"]}},"
    "{\"id\":\"waiter\",\"cpus\":1,\"concurrency\":{\"key\":\"k\",\"limit\":1}}]}";

/* whatever way the holder's attempt ends, its lease comes back and the waiter gets it */
static void
lease_check(Fixture *f, ArkAttemptStatus how)
{
	g_autofree gchar *run_id = NULL;
	guint waiting = 0;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f, lease_json, NULL);
	fixture_settle();
	assert_held("holder");
	fixture_assert_in_use(f, 4, G_GUINT64_CONSTANT(8) << 30, 2);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "k", &waiting), ==, 1);
	fixture_finish("holder", how);
	assert_held("waiter");
	fixture_assert_in_use(f, 1, 0, 0);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "k", &waiting), ==, 1);
	g_assert_cmpuint(waiting, ==, 0);
	fixture_finish("waiter", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_wait(f, run_id);
	fixture_assert_in_use(f, 0, 0, 0);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "k", NULL), ==, 0);
}

static void
test_lease_crash(Fixture *f, gconstpointer data)
{
	lease_check(f, ARK_ATTEMPT_STATUS_FAILED);
}

static void
test_lease_timeout(Fixture *f, gconstpointer data)
{
	lease_check(f, ARK_ATTEMPT_STATUS_TIMED_OUT);
}

static void
test_lease_error(Fixture *f, gconstpointer data)
{
	lease_check(f, ARK_ATTEMPT_STATUS_ERROR);
}

/* cancelling the holder (the executor reports it cancelled) gives its lease back */
static void
test_lease_cancel(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f, lease_json, NULL);
	fixture_settle();
	assert_held("holder");
	g_assert_true(ark_engine_cancel_task(f->engine, run_id, "holder", "test", NULL, &error));
	g_assert_no_error(error);
	fixture_settle();
	assert_held("waiter");
	fixture_assert_in_use(f, 1, 0, 0);
	g_assert_true(ark_engine_cancel_run(f->engine, run_id, "test", NULL, &error));
	fixture_settle();
	fixture_wait(f, run_id);
	fixture_assert_in_use(f, 0, 0, 0);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "k", NULL), ==, 0);
}

/* the health model restarts the executor: the holder's attempt ends lost and is retried, and
 * the lease it held is given back exactly once: the waiter takes the key, then the retry */
static void
test_lease_executor_restart(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GPtrArray) checks = NULL;
	guint waiting = 0;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f, lease_json, NULL);
	fixture_settle();
	assert_held("holder");
	hold_unhealthy = 1;
	g_test_expect_message("ArkCore", G_LOG_LEVEL_WARNING,
			      "executor hold was restarted: the worker went away");
	checks = ark_engine_check_health(f->engine);
	g_test_assert_expected_messages();
	/* the restarted executor dropped what it held; the engine must not count it */
	g_ptr_array_set_size(hold_attempts, 0);
	fixture_assert_in_use(f, 0, 0, 0);
	/* the waiter was next for the key; the holder's retry waits for it in turn */
	ark_test_loop_run_until((ArkTestCondition)fixture_is_held, "waiter", 10000);
	fixture_settle();
	assert_held("waiter");
	fixture_assert_in_use(f, 1, 0, 0);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "k", &waiting), ==, 1);
	fixture_finish("waiter", ARK_ATTEMPT_STATUS_SUCCEEDED);
	ark_test_loop_run_until((ArkTestCondition)fixture_is_held, "holder", 10000);
	fixture_settle();
	assert_held("holder");
	fixture_assert_in_use(f, 4, G_GUINT64_CONSTANT(8) << 30, 2);
	fixture_finish("holder", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	fixture_assert_in_use(f, 0, 0, 0);
}

/* real processes: one that kills itself and one that times out give back their CPUs and key */
static void
test_lease_process(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	ArkResources capacity, in_use;

	g_key_file_set_string(f->config, "executor-process", "cpus", "2");
	g_key_file_set_string(f->config, "executor-process", "kill-grace", "100ms");
	fixture_start(f, "fifo");
	run_id = fixture_submit(f,
				"{\"name\":\"p\",\"tasks\":["
				"{\"id\":\"crash\",\"run\":[\"sh\",\"-c\",\"kill -9 $$\"],\"cpus\":2,"
				"\"concurrency\":{\"key\":\"pk\",\"limit\":1}},"
				"{\"id\":\"slow\",\"run\":[\"sleep\",\"30\"],\"timeout\":\"200ms\","
				"\"cpus\":2,\"concurrency\":{\"key\":\"pk\",\"limit\":1}},"
				"{\"id\":\"last\",\"run\":[\"true\"],\"cpus\":2,"
				"\"concurrency\":{\"key\":\"pk\",\"limit\":1}}]}",
				NULL);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_true(ark_engine_get_executor_resources(f->engine, "process", &capacity, &in_use));
	g_assert_cmpfloat(capacity.cpus, ==, 2);
	g_assert_cmpfloat(in_use.cpus, ==, 0);
	g_assert_cmpuint(ark_engine_get_concurrency_holders(f->engine, "pk", NULL), ==, 0);
	/* one at a time, all three ran */
	g_assert_cmpuint(f->started->len, ==, 3);
}

/* a task that asks for more than its executor has is refused at submission, with the reason */
static void
test_refuse_too_big(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkWorkflow) wf =
	    fixture_parse("{\"name\":\"big\",\"tasks\":[{\"id\":\"x\",\"executor\":\"hold\","
			  "\"cpus\":8,\"gpus\":3}]}");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = NULL;

	fixture_start(f, NULL);
	run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_assert_null(run_id);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message,
				"tasks[0].cpus: asks for 8 CPUs, but executor 'hold' has 4 in all"));
	g_assert_nonnull(strstr(error->message, "tasks[0].gpus: asks for 3 GPUs"));
}

/* estimates learned from finished attempts are kept in the store: a new engine continues from
 * them, and sjf orders by them */
static void
test_learned_estimates(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) learned = NULL;
	g_autofree gchar *r2 = NULL;
	ArkEstimateRecord slow = {"learn", "x", 600 * G_USEC_PER_SEC, 5, 1};
	ArkEstimateRecord quick = {"learn", "y", 1 * G_USEC_PER_SEC, 5, 1};
	const gchar *json = "{\"name\":\"learn\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"x\"},{\"id\":\"y\"},{\"id\":\"z\",\"estimate\":\"30s\"},"
			    "{\"id\":\"w\"}]}";

	/* what an earlier daemon learned: x is slow, y quick; w was never seen */
	ark_store_batch_add_estimate(batch, &slow);
	ark_store_batch_add_estimate(batch, &quick);
	g_assert_true(ark_store_apply(f->store, batch, &error));
	g_assert_no_error(error);

	/* one at a time: each start is the policy's choice */
	g_key_file_set_string(f->config, "executor-hold", "slots", "1");
	fixture_start(f, "sjf");
	r2 = fixture_submit(f, json, NULL);
	fixture_settle();
	while (hold_attempts->len > 0)
		fixture_finish(ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, 0)),
			       ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r2), ==, ARK_RUN_STATE_SUCCEEDED);
	/* learned y 1s, z's own 30s, learned x 10m, w unknown */
	g_assert_cmpuint(f->started->len, ==, 4);
	g_assert_cmpstr(f->started->pdata[0], ==, "y");
	g_assert_cmpstr(f->started->pdata[1], ==, "z");
	g_assert_cmpstr(f->started->pdata[2], ==, "x");
	g_assert_cmpstr(f->started->pdata[3], ==, "w");

	learned = ark_store_list_estimates(f->store, "learn", &error);
	g_assert_no_error(error);
	for (guint i = 0; i < learned->len; i++) {
		ArkEstimateRecord *e = g_ptr_array_index(learned, i);
		g_assert_cmpint(e->estimate, >, 0);
		/* x and y continued from what was stored; z and w learned from one attempt */
		if (g_strcmp0(e->task_id, "x") == 0 || g_strcmp0(e->task_id, "y") == 0)
			g_assert_cmpuint(e->samples, ==, 6);
		else
			g_assert_cmpuint(e->samples, ==, 1);
	}
	g_assert_cmpuint(learned->len, ==, 4);
}

/* the workflow's policy, the run's --policy, and a restart with another default: the queued
 * tasks of a resumed run each run exactly once, under the policy the run was submitted with */
static void
test_policy_change_keeps_tasks(Fixture *f, gconstpointer data)
{
	const gchar *json = "{\"name\":\"pc\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"t1\",\"estimate\":\"50s\"},{\"id\":\"t2\",\"estimate\":\"40s\"},"
			    "{\"id\":\"t3\",\"estimate\":\"30s\"},{\"id\":\"t4\",\"estimate\":\"20s\"},"
			    "{\"id\":\"t5\",\"estimate\":\"10s\"}]}";
	g_autofree gchar *r1 = NULL;
	g_autofree gchar *r2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) rec = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	guint per_task[5] = {0};

	g_key_file_set_string(f->config, "executor-hold", "slots", "1");
	fixture_start(f, "fifo");
	r1 = fixture_submit(f, json, NULL);
	fixture_settle();
	assert_held("t1"); /* fifo */
	/* the daemon stops: t1 is interrupted, t2..t5 stay queued in the store */
	g_assert_true(ark_engine_interrupt(f->engine, "interrupted: test", &error));
	g_assert_no_error(error);
	fixture_stop(f);
	g_ptr_array_set_size(hold_attempts, 0);

	/* the next daemon's default is sjf; r1 keeps fifo, a new run takes sjf */
	g_ptr_array_set_size(f->started, 0);
	fixture_start(f, "sjf");
	g_assert_true(ark_engine_resume_run(f->engine, r1, &error));
	g_assert_no_error(error);
	r2 = fixture_submit(f,
			    "{\"name\":\"pc2\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			    "{\"id\":\"u1\",\"estimate\":\"9s\"},{\"id\":\"u2\",\"estimate\":\"1s\"}]}",
			    NULL);
	rec = ark_store_get_run(f->store, r1, &error);
	g_assert_cmpstr(rec->policy, ==, "fifo");
	g_clear_pointer(&rec, ark_run_record_free);
	rec = ark_store_get_run(f->store, r2, &error);
	g_assert_cmpstr(rec->policy, ==, "sjf");
	fixture_settle();
	while (hold_attempts->len > 0)
		fixture_finish(ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, 0)),
			       ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r1), ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r2), ==, ARK_RUN_STATE_SUCCEEDED);
	/* every task of both ran once after the restart; r1 in fifo order, r2's by sjf */
	g_assert_cmpuint(f->started->len, ==, 7);
	{
		const gchar *r1_order[] = {"t1", "t2", "t3", "t4", "t5"};
		guint k = 0;
		gint u1 = -1, u2 = -1;
		for (guint i = 0; i < f->started->len; i++) {
			const gchar *id = f->started->pdata[i];
			if (id[0] == 't')
				g_assert_cmpstr(id, ==, r1_order[k++]);
			else if (g_strcmp0(id, "u1") == 0)
				u1 = (gint)i;
			else
				u2 = (gint)i;
		}
		g_assert_cmpuint(k, ==, 5);
		g_assert_cmpint(u2, <, u1);
	}
	attempts = ark_store_list_attempts(f->store, r1, NULL, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		per_task[a->task_id[1] - '1']++;
	}
	/* t1: the interrupted attempt and the one that finished; the others exactly one */
	g_assert_cmpuint(per_task[0], ==, 2);
	for (guint i = 1; i < 5; i++)
		g_assert_cmpuint(per_task[i], ==, 1);
}

/* round-robin from the workflow: a run of many tasks does not starve a small one behind it */
static void
test_round_robin_runs(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) big = g_string_new(
	    "{\"name\":\"big\",\"policy\":\"round-robin\",\"defaults\":{\"executor\":\"hold\"},"
	    "\"tasks\":[");
	g_autofree gchar *r1 = NULL;
	g_autofree gchar *r2 = NULL;
	gint last_small = -1;

	for (guint i = 0; i < 20; i++)
		g_string_append_printf(big, "%s{\"id\":\"big%02u\"}", i > 0 ? "," : "", i);
	g_string_append(big, "]}");
	g_key_file_set_string(f->config, "executor-hold", "slots", "1");
	fixture_start(f, "fifo");
	r1 = fixture_submit(f, big->str, NULL);
	r2 = fixture_submit(f,
			    "{\"name\":\"small\",\"defaults\":{\"executor\":\"hold\"},"
			    "\"tasks\":[{\"id\":\"s1\"},{\"id\":\"s2\"}]}",
			    "round-robin");
	fixture_settle();
	while (hold_attempts->len > 0)
		fixture_finish(ark_attempt_get_task_id(g_ptr_array_index(hold_attempts, 0)),
			       ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r1), ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, r2), ==, ARK_RUN_STATE_SUCCEEDED);
	for (guint i = 0; i < f->started->len; i++) {
		if (((gchar *)f->started->pdata[i])[0] == 's')
			last_small = (gint)i;
	}
	/* the runs alternate: big00, s1, big01, s2 (fifo would start s1 and s2 last) */
	g_assert_cmpint(last_small, ==, 3);
	g_assert_cmpstr(f->started->pdata[1], ==, "s1");
}

/* edf admission control: refuse, or flag with an event; a deadline that can be met passes */
static void
test_admission(Fixture *f, gconstpointer data)
{
	const gchar *tight = "{\"name\":\"tight\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			     "{\"id\":\"soon\",\"estimate\":\"10s\",\"deadline\":\"+5m\"}]}";
	g_autoptr(ArkWorkflow) wf = fixture_parse(tight);
	ArkSubmitOptions edf = {.policy = "edf"};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *busy = NULL;
	g_autofree gchar *refused = NULL;
	g_autofree gchar *flagged = NULL;
	g_autofree gchar *fine = NULL;
	gboolean at_risk = FALSE;

	g_key_file_set_string(f->config, "executor-hold", "slots", "1");
	g_key_file_set_string(f->config, "policy-edf", "admission", "refuse");
	fixture_start(f, "fifo");
	/* nothing queued: the deadline can be met */
	fine = fixture_submit(f, tight, "edf");
	fixture_settle();
	fixture_finish("soon", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_wait(f, fine);
	/* an hour of work ahead on the one slot */
	busy = fixture_submit(f,
			      "{\"name\":\"busy\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
			      "{\"id\":\"long\",\"estimate\":\"1h\"}]}",
			      NULL);
	fixture_settle();
	refused = ark_engine_submit(f->engine, wf, &edf, &error);
	g_assert_null(refused);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "refused by admission control (policy edf): task "
						"'soon' can not meet its deadline"));
	g_clear_error(&error);
	/* a restart with admission = flag; the busy run goes on */
	g_assert_true(ark_engine_interrupt(f->engine, "interrupted: test", &error));
	g_assert_no_error(error);
	fixture_stop(f);
	g_ptr_array_set_size(hold_attempts, 0);

	g_key_file_set_string(f->config, "policy-edf", "admission", "flag");
	fixture_start(f, "fifo");
	g_assert_true(ark_engine_resume_run(f->engine, busy, &error));
	g_assert_no_error(error);
	fixture_settle();
	flagged = fixture_submit(f, tight, "edf");
	fixture_settle();
	for (guint i = 0; i < f->events->len; i++) {
		ArkEvent *e = g_ptr_array_index(f->events, i);
		if (e->kind == ARK_EVENT_DEADLINE_AT_RISK && g_strcmp0(e->run_id, flagged) == 0) {
			g_assert_nonnull(strstr(e->data, "\"task_id\":\"soon\""));
			at_risk = TRUE;
		}
	}
	g_assert_true(at_risk);
	g_assert_true(ark_engine_cancel_run(f->engine, flagged, "test", NULL, &error));
	g_assert_true(ark_engine_cancel_run(f->engine, busy, "test", NULL, &error));
	fixture_settle();
}

/* a task that ends after its deadline is an event in the store and a count in the metrics */
static void
test_deadline_miss(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GPtrArray) stored = NULL;
	g_autoptr(GError) error = NULL;
	guint misses = 0;

	fixture_start(f, "edf");
	run_id = fixture_submit(f,
				"{\"name\":\"late\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
				"{\"id\":\"late\",\"deadline\":\"+1ms\"},"
				"{\"id\":\"early\",\"deadline\":\"+1h\"}]}",
				NULL);
	fixture_settle();
	/* past the 1 ms deadline for sure, whatever the clock did */
	g_usleep(2000);
	fixture_finish("late", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("early", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_wait(f, run_id);
	stored = ark_store_read_events(f->store, 0, 0, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < stored->len; i++) {
		ArkEvent *e = g_ptr_array_index(stored, i);
		if (e->kind != ARK_EVENT_DEADLINE_MISSED)
			continue;
		g_assert_cmpstr(e->task_id, ==, "late");
		g_assert_cmpint(e->state, ==, ARK_TASK_STATE_SUCCEEDED);
		g_assert_nonnull(strstr(e->data, "\"late_by\":"));
		misses++;
	}
	g_assert_cmpuint(misses, ==, 1);
	text = ark_metrics_render_prometheus(ark_engine_get_metrics(f->engine));
	g_assert_nonnull(strstr(text, "ark_deadline_misses_total{policy=\"edf\"} 1"));
	g_assert_nonnull(strstr(text, "ark_executor_resource_capacity{executor=\"hold\","
				      "resource=\"cpus\"} 4"));
	g_assert_nonnull(strstr(text, "ark_executor_resource_in_use{executor=\"hold\","
				      "resource=\"cpus\"} 0"));
}

/* resources in use and keys held are gauges */
static void
test_metrics(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autofree gchar *text = NULL;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f,
				"{\"name\":\"m\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
				"{\"id\":\"a\",\"cpus\":1.5,\"gpus\":1,"
				"\"concurrency\":{\"key\":\"deploy-prod\",\"limit\":1}}]}",
				NULL);
	fixture_settle();
	text = ark_metrics_render_prometheus(ark_engine_get_metrics(f->engine));
	g_assert_nonnull(strstr(text, "ark_executor_resource_in_use{executor=\"hold\","
				      "resource=\"cpus\"} 1.5"));
	g_assert_nonnull(strstr(text, "ark_executor_resource_in_use{executor=\"hold\","
				      "resource=\"gpus\"} 1"));
	g_assert_nonnull(strstr(text, "ark_concurrency_key_held{key=\"deploy-prod\"} 1"));
	fixture_finish("a", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_wait(f, run_id);
	g_clear_pointer(&text, g_free);
	text = ark_metrics_render_prometheus(ark_engine_get_metrics(f->engine));
	g_assert_nonnull(strstr(text, "ark_concurrency_key_held{key=\"deploy-prod\"} 0"));
}

/* explain names the key a task waits for and its holder, and the resources it lacks */
static void
test_explain_blocked_by(Fixture *f, gconstpointer data)
{
	g_autofree gchar *run_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) waiter = NULL;
	g_autoptr(JsonObject) big = NULL;
	JsonArray *blocked;
	JsonObject *item;

	fixture_start(f, "fifo");
	run_id = fixture_submit(f,
				"{\"name\":\"x\",\"defaults\":{\"executor\":\"hold\"},\"tasks\":["
				"{\"id\":\"holder\",\"cpus\":3,"
				"\"concurrency\":{\"key\":\"deploy-prod\",\"limit\":1}},"
				"{\"id\":\"waiter\",\"concurrency\":{\"key\":\"deploy-prod\","
				"\"limit\":1}},"
				"{\"id\":\"big\",\"cpus\":2}]}",
				NULL);
	fixture_settle();
	assert_held("holder");

	waiter = ark_engine_explain_task(f->engine, run_id, "waiter", &error);
	g_assert_no_error(error);
	blocked = json_object_get_array_member(waiter, "blocked_by");
	g_assert_cmpuint(json_array_get_length(blocked), ==, 1);
	item = json_array_get_object_element(blocked, 0);
	g_assert_cmpstr(json_object_get_string_member(item, "kind"), ==, "concurrency");
	g_assert_cmpstr(json_object_get_string_member(item, "key"), ==, "deploy-prod");
	g_assert_cmpint(json_object_get_int_member(item, "limit"), ==, 1);
	item = json_array_get_object_element(json_object_get_array_member(item, "holders"), 0);
	g_assert_cmpstr(json_object_get_string_member(item, "task_id"), ==, "holder");
	g_assert_cmpstr(json_object_get_string_member(item, "run_id"), ==, run_id);
	g_assert_nonnull(strstr(json_object_get_string_member(waiter, "summary"),
				"waits for concurrency key deploy-prod"));

	big = ark_engine_explain_task(f->engine, run_id, "big", &error);
	g_assert_no_error(error);
	blocked = json_object_get_array_member(big, "blocked_by");
	g_assert_cmpuint(json_array_get_length(blocked), ==, 1);
	item = json_array_get_object_element(blocked, 0);
	g_assert_cmpstr(json_object_get_string_member(item, "kind"), ==, "resource");
	g_assert_cmpstr(json_object_get_string_member(item, "resource"), ==, "cpus");
	g_assert_cmpfloat(json_object_get_double_member(item, "requested"), ==, 2);
	g_assert_cmpfloat(json_object_get_double_member(item, "available"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(
			    json_object_get_object_member(big, "queue"), "position"), ==, 1);

	fixture_finish("holder", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("waiter", ARK_ATTEMPT_STATUS_SUCCEEDED);
	fixture_finish("big", ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(fixture_wait(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn)                                                                              \
	g_test_add("/ark/dispatch/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("never-overcommit", test_never_overcommit);
	ADD("backfill", test_backfill);
	ADD("backfill-off", test_backfill_off);
	ADD("concurrency-key", test_concurrency_key);
	ADD("lease/crash", test_lease_crash);
	ADD("lease/timeout", test_lease_timeout);
	ADD("lease/error", test_lease_error);
	ADD("lease/cancel", test_lease_cancel);
	ADD("lease/executor-restart", test_lease_executor_restart);
	ADD("lease/process", test_lease_process);
	ADD("refuse-too-big", test_refuse_too_big);
	ADD("learned-estimates", test_learned_estimates);
	ADD("policy-change-keeps-tasks", test_policy_change_keeps_tasks);
	ADD("round-robin-runs", test_round_robin_runs);
	ADD("admission", test_admission);
	ADD("deadline-miss", test_deadline_miss);
	ADD("metrics", test_metrics);
	ADD("explain-blocked-by", test_explain_blocked_by);
#undef ADD
	return g_test_run();
}
