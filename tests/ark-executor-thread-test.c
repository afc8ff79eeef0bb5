/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-test-utils.h"

/* generous: these guard against hangs, they do not measure anything */
#define HANG_GUARD_MS 30000

typedef struct {
	guint finished;
	ArkAttemptStatus status;
	gint exit_code;
	gchar *error;
	gchar *result;
} TestResult;

static GThread *test_main_thread;

static void
test_result_clear(TestResult *result)
{
	g_free(result->error);
	g_free(result->result);
	memset(result, 0, sizeof(*result));
}

static void
test_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *r, gpointer user_data)
{
	TestResult *result = user_data;

	/* reports come on the main thread */
	g_assert_true(g_thread_self() == test_main_thread);
	result->finished++;
	result->status = r->status;
	result->exit_code = r->exit_code;
	g_free(result->error);
	result->error = g_strdup(r->error);
	g_free(result->result);
	result->result = g_strdup(r->result);
}

static gboolean
test_result_finished(gpointer user_data)
{
	TestResult *result = user_data;
	return result->finished > 0;
}

/* a workflow from JSON written with ` for " */
static ArkWorkflow *
test_workflow(const gchar *tasks)
{
	g_autofree gchar *json = g_strdup_printf("{\"name\":\"t\",\"tasks\":[%s]}", tasks);
	g_autoptr(GPtrArray) problems = NULL;
	ArkWorkflow *workflow;

	g_strdelimit(json, "`", '"');
	workflow = ark_workflow_parse(json, -1, &problems);
	for (guint i = 0; problems != NULL && i < problems->len; i++) {
		g_autofree gchar *text = ark_problem_to_string(problems->pdata[i], NULL);
		g_test_message("problem: %s", text);
	}
	g_assert_nonnull(workflow);
	return workflow;
}

static ArkRegistry *test_registry;

/* an executor set up with the configuration file text @ini (or none) and @slots from the
 * engine (0 for none), or NULL with @error set */
static ArkExecutor *
test_executor_try(const gchar *ini, guint slots, GError **error)
{
	g_autoptr(ArkExecutor) executor = NULL;
	g_autoptr(GKeyFile) config = NULL;
	g_autoptr(GError) local_error = NULL;
	ArkExecutorSetup setup = {
	    .name = "thread",
	    .slots = slots,
	    .group = "executor-thread",
	    .registry = test_registry,
	};

	if (ini != NULL) {
		config = g_key_file_new();
		g_key_file_load_from_data(config, ini, -1, G_KEY_FILE_NONE, &local_error);
		g_assert_no_error(local_error);
		setup.config = config;
	}
	executor =
	    ark_registry_create(test_registry, ARK_CAPABILITY_EXECUTOR, "thread", &local_error);
	g_assert_no_error(local_error);
	g_assert_true(ARK_IS_EXECUTOR(executor));
	if (!ark_executor_setup(executor, &setup, error))
		return NULL;
	return g_steal_pointer(&executor);
}

static ArkExecutor *
test_executor_config(const gchar *ini, guint slots)
{
	g_autoptr(GError) error = NULL;
	ArkExecutor *executor = test_executor_try(ini, slots, &error);

	g_assert_no_error(error);
	g_assert_nonnull(executor);
	return executor;
}

static ArkExecutor *
test_executor(guint slots)
{
	return test_executor_config(NULL, slots);
}

static ArkAttempt *
test_start(ArkExecutor *executor, ArkWorkflow *workflow, const gchar *id, TestResult *result)
{
	const ArkTaskSpec *spec = ark_workflow_lookup_task(workflow, id);
	ArkAttempt *attempt;

	g_assert_nonnull(spec);
	attempt = ark_attempt_new("run-1", spec, 1, 7, NULL, test_finish_cb, result);
	ark_executor_start(executor, attempt);
	/* never reported from inside start() */
	g_assert_cmpuint(result->finished, ==, 0);
	return attempt;
}

static void
test_run_one(const gchar *task, TestResult *result)
{
	g_autoptr(ArkExecutor) executor = test_executor(2);
	g_autoptr(ArkWorkflow) workflow = test_workflow(task);
	g_autoptr(ArkAttempt) attempt = NULL;
	g_autoptr(GPtrArray) problems =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	const ArkTaskSpec *spec = ark_workflow_get_task(workflow, 0);

	g_assert_true(ark_executor_check_task(executor, workflow, spec, problems));
	attempt = test_start(executor, workflow, spec->id, result);
	ark_test_loop_run_until(test_result_finished, result, HANG_GUARD_MS);
	g_assert_cmpuint(result->finished, ==, 1);
	ark_executor_shutdown(executor);
}

static void
test_thread_noop(void)
{
	TestResult result = {0};

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`noop`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(result.exit_code, ==, -1);
	g_assert_null(result.error);
	test_result_clear(&result);
}

static void
test_thread_sleep(void)
{
	const gchar *tasks[] = {
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`20ms`}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:0.02}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:0}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:{`duration`:`10ms`}}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:{`duration`:1e-3}}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(tasks); i++) {
		TestResult result = {0};
		g_test_message("%s", tasks[i]);
		test_run_one(tasks[i], &result);
		g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
		test_result_clear(&result);
	}
}

static void
test_thread_sleep_bad_args(void)
{
	const gchar *tasks[] = {
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`soon`}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:-1}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:[1]}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:{`seconds`:1}}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:true}",
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:1e300}",
	};
	g_autoptr(ArkExecutor) executor = test_executor(2);

	for (guint i = 0; i < G_N_ELEMENTS(tasks); i++) {
		g_autoptr(ArkWorkflow) workflow = test_workflow(tasks[i]);
		g_autoptr(GPtrArray) problems =
		    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
		g_autoptr(ArkAttempt) attempt = NULL;
		TestResult result = {0};
		const ArkProblem *problem;

		g_test_message("%s", tasks[i]);
		/* found when the workflow is checked... */
		g_assert_false(ark_executor_check_task(
		    executor, workflow, ark_workflow_get_task(workflow, 0), problems));
		g_assert_cmpuint(problems->len, ==, 1);
		problem = problems->pdata[0];
		g_assert_cmpstr(problem->path, ==, "tasks[0].args");
		g_assert_true(g_str_has_prefix(problem->message, "sleep"));

		/* ...and by the function itself, for a caller that did not check */
		attempt = test_start(executor, workflow, "a", &result);
		ark_test_loop_run_until(test_result_finished, &result, HANG_GUARD_MS);
		g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
		g_assert_cmpstr(result.error, ==, problem->message);
		test_result_clear(&result);
	}
}

static void
test_thread_sleep_cancelled(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(2);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`}");
	g_autoptr(ArkAttempt) attempt = NULL;
	TestResult result = {0};

	attempt = test_start(executor, workflow, "a", &result);
	/* let the worker start sleeping, most of the time; either order must work */
	g_usleep(10000);
	ark_executor_cancel(executor, attempt);
	ark_test_loop_run_until(test_result_finished, &result, HANG_GUARD_MS);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	g_assert_cmpstr(result.error, ==, "cancelled");
	/* a second cancel after the end is ignored */
	ark_executor_cancel(executor, attempt);
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(result.finished, ==, 1);
	test_result_clear(&result);
}

static void
test_thread_timeout(void)
{
	TestResult result = {0};

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`,"
		     "`timeout`:`50ms`}",
		     &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_TIMED_OUT);
	g_assert_cmpstr(result.error, ==, "timed out after 50ms");
	test_result_clear(&result);
}

static gboolean
test_fail_function(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
		   gpointer user_data, GError **error)
{
	g_assert_cmpstr(user_data, ==, "fail-data");
	g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, "task %s failed on purpose", spec->id);
	return FALSE;
}

static gboolean
test_answer_function(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
		     gpointer user_data, GError **error)
{
	*out_result = g_strdup("{\"answer\":42}");
	return TRUE;
}

static gboolean
test_silent_fail_function(const ArkTaskSpec *spec, GCancellable *cancellable,
			  gchar **out_result, gpointer user_data, GError **error)
{
	return FALSE;
}

static void
test_thread_failing_function(void)
{
	TestResult result = {0};

	test_run_one("{`id`:`broken`,`executor`:`thread`,`function`:`test-fail`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpstr(result.error, ==, "task broken failed on purpose");
	test_result_clear(&result);

	test_run_one("{`id`:`mute`,`executor`:`thread`,`function`:`test-silent-fail`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpstr(result.error, ==, "function 'test-silent-fail' failed without saying why");
	test_result_clear(&result);
}

static void
test_thread_result(void)
{
	TestResult result = {0};

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`test-answer`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(result.result, ==, "{\"answer\":42}");
	test_result_clear(&result);
}

/* echo: the args as the result, compact; null without args */
static void
test_thread_echo(void)
{
	TestResult result = {0};

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`echo`,"
		     "`args`:{`files`: [`a.c`, `é`], `n`: 2.5, `ok`: true, `none`: null}}",
		     &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(result.result, ==,
			"{\"files\":[\"a.c\",\"é\"],\"n\":2.5,\"ok\":true,\"none\":null}");
	test_result_clear(&result);

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`echo`,`args`:`text`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(result.result, ==, "\"text\"");
	test_result_clear(&result);

	test_run_one("{`id`:`a`,`executor`:`thread`,`function`:`echo`}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(result.result, ==, "null");
	test_result_clear(&result);
}

static void
test_thread_check_task(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(2);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`ok`,`executor`:`thread`,`function`:`noop`},"
			  "{`id`:`unknown`,`executor`:`thread`,`function`:`nope`},"
			  "{`id`:`nofunc`,`executor`:`thread`},"
			  "{`id`:`run`,`executor`:`thread`,`function`:`noop`,`run`:[`true`]}");
	g_autoptr(GPtrArray) problems =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	g_autoptr(ArkAttempt) attempt = NULL;
	const ArkProblem *problem;
	TestResult result = {0};

	g_assert_true(ark_executor_check_task(executor, workflow,
					      ark_workflow_lookup_task(workflow, "ok"), problems));
	g_assert_cmpuint(problems->len, ==, 0);

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "unknown"), problems));
	g_assert_cmpuint(problems->len, ==, 1);
	problem = problems->pdata[0];
	g_assert_cmpstr(problem->path, ==, "tasks[1].function");
	g_assert_cmpstr(problem->message, ==,
			"unknown function 'nope' (known: echo, noop, sleep, test-answer, test-block, "
			"test-concurrency, test-fail, test-silent-fail)");

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "nofunc"), problems));
	g_assert_cmpuint(problems->len, ==, 2);
	problem = problems->pdata[1];
	g_assert_cmpstr(problem->path, ==, "tasks[2].function");

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "run"), problems));
	g_assert_cmpuint(problems->len, ==, 3);
	problem = problems->pdata[2];
	g_assert_cmpstr(problem->path, ==, "tasks[3].run");

	/* started anyway: an error, not a crash */
	attempt = test_start(executor, workflow, "unknown", &result);
	ark_test_loop_run_until(test_result_finished, &result, HANG_GUARD_MS);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==, "unknown function 'nope'");
	test_result_clear(&result);
}

static void
test_thread_shutdown(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(1);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`},"
			  "{`id`:`b`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`},"
			  "{`id`:`c`,`executor`:`thread`,`function`:`noop`}");
	g_autoptr(ArkAttempt) a = NULL;
	g_autoptr(ArkAttempt) b = NULL;
	g_autoptr(ArkAttempt) c = NULL;
	TestResult ra = {0};
	TestResult rb = {0};
	TestResult rc = {0};

	/* one slot: b waits in the queue behind a */
	a = test_start(executor, workflow, "a", &ra);
	b = test_start(executor, workflow, "b", &rb);
	ark_executor_shutdown(executor);
	/* everything is reported by the time shutdown returns */
	g_assert_cmpuint(ra.finished, ==, 1);
	g_assert_cmpuint(rb.finished, ==, 1);
	g_assert_cmpint(ra.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	g_assert_cmpint(rb.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);

	/* nothing starts afterwards */
	c = test_start(executor, workflow, "c", &rc);
	ark_test_loop_run_until(test_result_finished, &rc, HANG_GUARD_MS);
	g_assert_cmpint(rc.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	test_result_clear(&ra);
	test_result_clear(&rb);
	test_result_clear(&rc);
}

static void
test_thread_dispose_running(void)
{
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`}");
	ArkExecutor *executor = test_executor(1);
	g_autoptr(ArkAttempt) attempt = NULL;
	TestResult result = {0};

	/* dropping the executor with work in flight cancels and reports it, no worker left */
	attempt = test_start(executor, workflow, "a", &result);
	g_object_unref(executor);
	g_assert_cmpuint(result.finished, ==, 1);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	test_result_clear(&result);
}

#define TEST_MANY 10000

typedef struct {
	guint finished;
	guint succeeded;
	guint *reports;
} TestMany;

static void
test_many_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *result, gpointer user_data)
{
	TestMany *many = user_data;

	many->reports[ark_attempt_get_spec(attempt)->index]++;
	many->finished++;
	if (result->status == ARK_ATTEMPT_STATUS_SUCCEEDED)
		many->succeeded++;
}

static gboolean
test_many_done(gpointer user_data)
{
	TestMany *many = user_data;
	return many->finished >= TEST_MANY;
}

static void
test_thread_many(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(4);
	g_autoptr(GString) tasks = g_string_new(NULL);
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GPtrArray) attempts = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)ark_attempt_unref);
	TestMany many = {0};

	for (guint i = 0; i < TEST_MANY; i++) {
		g_string_append_printf(tasks, "%s{`id`:`t%u`,`executor`:`thread`,`function`:`noop`}",
				       i > 0 ? "," : "", i);
	}
	workflow = test_workflow(tasks->str);
	many.reports = g_new0(guint, TEST_MANY);
	for (guint i = 0; i < TEST_MANY; i++) {
		ArkAttempt *attempt = ark_attempt_new("run-many", ark_workflow_get_task(workflow, i),
						      1, i, NULL, test_many_finish_cb, &many);
		g_ptr_array_add(attempts, attempt);
		ark_executor_start(executor, attempt);
	}
	ark_test_loop_run_until(test_many_done, &many, 120000);
	/* and nothing more arrives later */
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);

	g_assert_cmpuint(many.finished, ==, TEST_MANY);
	g_assert_cmpuint(many.succeeded, ==, TEST_MANY);
	for (guint i = 0; i < TEST_MANY; i++)
		g_assert_cmpuint(many.reports[i], ==, 1);
	g_free(many.reports);
}

static void
test_thread_config(void)
{
	guint cpus = MIN(g_get_num_processors(), 4096);
	struct {
		const gchar *ini;
		guint engine_slots;
		guint slots;
	} cases[] = {
	    /* by default, 32 attempts per thread: a window, so that short functions do not wait
	     * for the main loop between two of them */
	    {NULL, 0, cpus * 32},
	    {"[executor-thread]\n", 0, cpus * 32},
	    {"[executor-thread]\nthreads=3\n", 0, 96},
	    {"[executor-thread]\nthreads = 3 \n", 0, 96},
	    {"[executor-thread]\nthreads=3\nslots=5\n", 0, 5},
	    {"[executor-thread]\nthreads=3\nslots=3\n", 0, 3},
	    {"[executor-thread]\nthreads=4096\n", 0, 4096 * 32},
	    /* the default number of threads follows a smaller window */
	    {"[executor-thread]\nslots=1\n", 0, 1},
	    {NULL, 1, 1},
	    /* the engine's slots win over the file's */
	    {"[executor-thread]\nslots=100\n", 7, 7},
	    {"[executor-thread]\nthreads=2\n", 64, 64},
	    /* other groups are not read */
	    {"[executor-process]\nslots=0\nthreads=0\n", 0, cpus * 32},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(ArkExecutor) executor = NULL;

		g_test_message("%s, engine slots %u", cases[i].ini, cases[i].engine_slots);
		executor = test_executor_config(cases[i].ini, cases[i].engine_slots);
		g_assert_cmpuint(ark_executor_get_slots(executor), ==, cases[i].slots);
		ark_executor_shutdown(executor);
	}
}

static void
test_thread_config_bad(void)
{
	struct {
		const gchar *ini;
		guint engine_slots;
		const gchar *error;
	} cases[] = {
	    {"[executor-thread]\nthreads=0\n", 0,
	     "[executor-thread] threads: '0' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=4097\n", 0,
	     "[executor-thread] threads: '4097' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=-1\n", 0,
	     "[executor-thread] threads: '-1' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=2.5\n", 0,
	     "[executor-thread] threads: '2.5' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=two\n", 0,
	     "[executor-thread] threads: 'two' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=\n", 0,
	     "[executor-thread] threads: '' is not a whole number from 1 to 4096"},
	    {"[executor-thread]\nthreads=99999999999999999999\n", 0,
	     "[executor-thread] threads: '99999999999999999999' is not a whole number from 1 to "
	     "4096"},
	    {"[executor-thread]\nslots=0\n", 0,
	     "[executor-thread] slots: '0' is not a whole number from 1 to 1048576"},
	    {"[executor-thread]\nslots=lots\n", 0,
	     "[executor-thread] slots: 'lots' is not a whole number from 1 to 1048576"},
	    /* a bad value is an error even where the engine gives the slots */
	    {"[executor-thread]\nslots=lots\n", 8,
	     "[executor-thread] slots: 'lots' is not a whole number from 1 to 1048576"},
	    {"[executor-thread]\nthreads=2\nslots=1\n", 0,
	     "[executor-thread] slots: 1 is less than threads (2): every worker thread needs an "
	     "attempt to run"},
	    {"[executor-thread]\nthreads=4\n", 3,
	     "[executor-thread] slots: 3 is less than threads (4): every worker thread needs an "
	     "attempt to run"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkExecutor) executor = NULL;

		g_test_message("%s, engine slots %u", cases[i].ini, cases[i].engine_slots);
		executor = test_executor_try(cases[i].ini, cases[i].engine_slots, &error);
		g_assert_null(executor);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_cmpstr(error->message, ==, cases[i].error);
	}
}

/* counts the functions running at once; test-concurrency tasks run it */
static gint test_running_now;
static gint test_running_max;
static gint test_calls;

static gboolean
test_concurrency_function(const ArkTaskSpec *spec, GCancellable *cancellable,
			  gchar **out_result, gpointer user_data, GError **error)
{
	gint now = g_atomic_int_add(&test_running_now, 1) + 1;
	gint max = g_atomic_int_get(&test_running_max);

	while (now > max && !g_atomic_int_compare_and_exchange(&test_running_max, max, now))
		max = g_atomic_int_get(&test_running_max);
	g_atomic_int_inc(&test_calls);
	/* long enough for the other workers to run into this one */
	g_usleep(1000);
	g_atomic_int_add(&test_running_now, -1);
	return TRUE;
}

/* counts its calls too, and runs until it is cancelled */
static gboolean
test_block_function(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
		    gpointer user_data, GError **error)
{
	g_atomic_int_inc(&test_calls);
	while (!g_cancellable_is_cancelled(cancellable))
		g_usleep(1000);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "blocked until cancelled");
	return FALSE;
}

static void
test_concurrency_reset(void)
{
	g_atomic_int_set(&test_running_now, 0);
	g_atomic_int_set(&test_running_max, 0);
	g_atomic_int_set(&test_calls, 0);
}

#define TEST_WINDOW_TASKS 100

/* starts attempts the way the engine does: as many as the executor has slots, more as they end */
typedef struct {
	ArkExecutor *executor;
	ArkWorkflow *workflow;
	GPtrArray *attempts;
	guint next;
	guint in_flight;
	guint max_in_flight;
	guint finished;
	guint succeeded;
} TestWindow;

static void test_window_fill(TestWindow *window);

static void
test_window_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *result, gpointer user_data)
{
	TestWindow *window = user_data;

	g_assert_true(g_thread_self() == test_main_thread);
	window->in_flight--;
	window->finished++;
	if (result->status == ARK_ATTEMPT_STATUS_SUCCEEDED)
		window->succeeded++;
	test_window_fill(window);
}

static void
test_window_fill(TestWindow *window)
{
	guint slots = ark_executor_get_slots(window->executor);

	while (window->in_flight < slots && window->next < TEST_WINDOW_TASKS) {
		const ArkTaskSpec *spec = ark_workflow_get_task(window->workflow, window->next);
		ArkAttempt *attempt = ark_attempt_new("run-window", spec, 1, window->next, NULL,
						      test_window_finish_cb, window);

		g_ptr_array_add(window->attempts, attempt);
		window->next++;
		window->in_flight++;
		window->max_in_flight = MAX(window->max_in_flight, window->in_flight);
		ark_executor_start(window->executor, attempt);
	}
}

static gboolean
test_window_done(gpointer user_data)
{
	TestWindow *window = user_data;
	return window->finished >= TEST_WINDOW_TASKS;
}

static void
test_thread_window(void)
{
	g_autoptr(ArkExecutor) executor =
	    test_executor_config("[executor-thread]\nthreads=2\nslots=64\n", 0);
	g_autoptr(GString) tasks = g_string_new(NULL);
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GPtrArray) attempts =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_attempt_unref);
	TestWindow window = {0};

	for (guint i = 0; i < TEST_WINDOW_TASKS; i++) {
		g_string_append_printf(tasks,
				       "%s{`id`:`t%u`,`executor`:`thread`,`function`:`test-"
				       "concurrency`}",
				       i > 0 ? "," : "", i);
	}
	workflow = test_workflow(tasks->str);
	test_concurrency_reset();
	window.executor = executor;
	window.workflow = workflow;
	window.attempts = attempts;
	g_assert_cmpuint(ark_executor_get_slots(executor), ==, 64);

	test_window_fill(&window);
	/* all of the window is accepted at once, far more than there are threads */
	g_assert_cmpuint(window.in_flight, ==, 64);
	ark_test_loop_run_until(test_window_done, &window, HANG_GUARD_MS);
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);

	g_assert_cmpuint(window.finished, ==, TEST_WINDOW_TASKS);
	g_assert_cmpuint(window.succeeded, ==, TEST_WINDOW_TASKS);
	g_assert_cmpuint(window.max_in_flight, ==, 64);
	g_assert_cmpint(g_atomic_int_get(&test_calls), ==, TEST_WINDOW_TASKS);
	/* the window waits in the queue: never more functions at once than threads */
	g_assert_cmpint(g_atomic_int_get(&test_running_max), >=, 1);
	g_assert_cmpint(g_atomic_int_get(&test_running_max), <=, 2);
	ark_executor_shutdown(executor);
}

/* the order attempts end in, by task id */
typedef struct {
	GPtrArray *order;
	GHashTable *status; /* task id -> ArkAttemptStatus */
	guint wanted;
} TestOrder;

static void
test_order_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *result, gpointer user_data)
{
	TestOrder *order = user_data;
	const gchar *id = ark_attempt_get_task_id(attempt);

	g_assert_true(g_thread_self() == test_main_thread);
	g_ptr_array_add(order->order, g_strdup(id));
	g_hash_table_insert(order->status, g_strdup(id), GINT_TO_POINTER(result->status));
}

static gboolean
test_order_count_reached(gpointer user_data)
{
	TestOrder *order = user_data;
	return order->order->len >= order->wanted;
}

static void
test_order_wait(TestOrder *order, guint wanted)
{
	order->wanted = wanted;
	ark_test_loop_run_until(test_order_count_reached, order, HANG_GUARD_MS);
}

static ArkAttemptStatus
test_order_status(TestOrder *order, const gchar *id)
{
	g_assert_true(g_hash_table_contains(order->status, id));
	return GPOINTER_TO_INT(g_hash_table_lookup(order->status, id));
}

static ArkAttempt *
test_order_start(ArkExecutor *executor, ArkWorkflow *workflow, const gchar *id,
		 TestOrder *order)
{
	ArkAttempt *attempt = ark_attempt_new("run-order", ark_workflow_lookup_task(workflow, id),
					      1, 1, NULL, test_order_finish_cb, order);
	ark_executor_start(executor, attempt);
	return attempt;
}

static void
test_thread_timeout_from_start(void)
{
	/* one thread: each attempt waits in the window for the ones before it; had its timeout
	 * counted from start(), the second one would time out 100ms into its sleep */
	g_autoptr(ArkExecutor) executor =
	    test_executor_config("[executor-thread]\nthreads=1\nslots=4\n", 0);
	g_autoptr(ArkWorkflow) workflow = test_workflow(
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`200ms`,`timeout`:`300ms`},"
	    "{`id`:`b`,`executor`:`thread`,`function`:`sleep`,`args`:`200ms`,`timeout`:`300ms`},"
	    "{`id`:`c`,`executor`:`thread`,`function`:`sleep`,`args`:`200ms`,`timeout`:`300ms`},"
	    "{`id`:`d`,`executor`:`thread`,`function`:`sleep`,`args`:`200ms`,`timeout`:`300ms`}");
	g_autoptr(GPtrArray) attempts =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_attempt_unref);
	g_autoptr(GPtrArray) ended = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	TestOrder order = {ended, status};
	const gchar *ids[] = {"a", "b", "c", "d"};

	g_assert_cmpuint(ark_executor_get_slots(executor), ==, 4);
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++)
		g_ptr_array_add(attempts, test_order_start(executor, workflow, ids[i], &order));
	test_order_wait(&order, G_N_ELEMENTS(ids));
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_test_message("%s", ids[i]);
		g_assert_cmpint(test_order_status(&order, ids[i]), ==,
				ARK_ATTEMPT_STATUS_SUCCEEDED);
	}
	ark_executor_shutdown(executor);
}

static void
test_thread_timeout_queued(void)
{
	/* an attempt that waited in the window still times out once it really overruns: its
	 * function starts, and is stopped 50ms later */
	g_autoptr(ArkExecutor) executor =
	    test_executor_config("[executor-thread]\nthreads=1\nslots=2\n", 0);
	g_autoptr(ArkWorkflow) workflow = test_workflow(
	    "{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`200ms`},"
	    "{`id`:`b`,`executor`:`thread`,`function`:`test-block`,`timeout`:`50ms`}");
	g_autoptr(ArkAttempt) a = NULL;
	g_autoptr(ArkAttempt) b = NULL;
	g_autoptr(GPtrArray) ended = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	TestOrder order = {ended, status};

	test_concurrency_reset();
	a = test_order_start(executor, workflow, "a", &order);
	b = test_order_start(executor, workflow, "b", &order);
	test_order_wait(&order, 2);
	g_assert_cmpint(g_atomic_int_get(&test_calls), ==, 1);
	g_assert_cmpstr(ended->pdata[0], ==, "a");
	g_assert_cmpstr(ended->pdata[1], ==, "b");
	g_assert_cmpint(test_order_status(&order, "a"), ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(test_order_status(&order, "b"), ==, ARK_ATTEMPT_STATUS_TIMED_OUT);
	ark_executor_shutdown(executor);
}

static void
test_thread_cancel_queued(void)
{
	g_autoptr(ArkExecutor) executor =
	    test_executor_config("[executor-thread]\nthreads=1\nslots=4\n", 0);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`executor`:`thread`,`function`:`sleep`,`args`:`1h`},"
			  "{`id`:`b`,`executor`:`thread`,`function`:`test-concurrency`},"
			  "{`id`:`c`,`executor`:`thread`,`function`:`test-concurrency`,"
			  "`timeout`:`1h`}");
	g_autoptr(ArkAttempt) a = NULL;
	g_autoptr(ArkAttempt) b = NULL;
	g_autoptr(ArkAttempt) c = NULL;
	g_autoptr(GPtrArray) ended = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	TestOrder order = {ended, status};

	test_concurrency_reset();
	/* one thread, busy with a for an hour: b and c wait in the queue */
	a = test_order_start(executor, workflow, "a", &order);
	b = test_order_start(executor, workflow, "b", &order);
	c = test_order_start(executor, workflow, "c", &order);
	ark_executor_cancel(executor, b);
	/* reported from the main loop, not from inside cancel() */
	g_assert_cmpuint(ended->len, ==, 0);
	ark_executor_cancel(executor, c);
	/* both end without waiting for the thread to come free */
	test_order_wait(&order, 2);
	g_assert_cmpstr(ended->pdata[0], ==, "b");
	g_assert_cmpstr(ended->pdata[1], ==, "c");
	g_assert_cmpint(test_order_status(&order, "b"), ==, ARK_ATTEMPT_STATUS_CANCELLED);
	g_assert_cmpint(test_order_status(&order, "c"), ==, ARK_ATTEMPT_STATUS_CANCELLED);
	/* a second cancel after the end is ignored */
	ark_executor_cancel(executor, b);

	ark_executor_cancel(executor, a);
	test_order_wait(&order, 3);
	g_assert_cmpint(test_order_status(&order, "a"), ==, ARK_ATTEMPT_STATUS_CANCELLED);
	/* the worker has been through the whole queue by the time shutdown returns */
	ark_executor_shutdown(executor);
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(ended->len, ==, 3);
	g_assert_cmpint(g_atomic_int_get(&test_calls), ==, 0);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int status;

	g_test_init(&argc, &argv, NULL);

	test_main_thread = g_thread_self();
	test_registry = ark_test_load_plugins();
	ark_registry_add_function(test_registry, "executor-thread-test", "test-fail",
				  test_fail_function, (gpointer) "fail-data", &error);
	g_assert_no_error(error);
	ark_registry_add_function(test_registry, "executor-thread-test", "test-answer",
				  test_answer_function, NULL, &error);
	g_assert_no_error(error);
	ark_registry_add_function(test_registry, "executor-thread-test", "test-silent-fail",
				  test_silent_fail_function, NULL, &error);
	g_assert_no_error(error);
	ark_registry_add_function(test_registry, "executor-thread-test", "test-concurrency",
				  test_concurrency_function, NULL, &error);
	g_assert_no_error(error);
	ark_registry_add_function(test_registry, "executor-thread-test", "test-block",
				  test_block_function, NULL, &error);
	g_assert_no_error(error);

	g_test_add_func("/executor-thread/noop", test_thread_noop);
	g_test_add_func("/executor-thread/sleep", test_thread_sleep);
	g_test_add_func("/executor-thread/sleep-bad-args", test_thread_sleep_bad_args);
	g_test_add_func("/executor-thread/sleep-cancelled", test_thread_sleep_cancelled);
	g_test_add_func("/executor-thread/timeout", test_thread_timeout);
	g_test_add_func("/executor-thread/failing-function", test_thread_failing_function);
	g_test_add_func("/executor-thread/result", test_thread_result);
	g_test_add_func("/executor-thread/echo", test_thread_echo);
	g_test_add_func("/executor-thread/check-task", test_thread_check_task);
	g_test_add_func("/executor-thread/shutdown", test_thread_shutdown);
	g_test_add_func("/executor-thread/dispose-running", test_thread_dispose_running);
	g_test_add_func("/executor-thread/many", test_thread_many);
	g_test_add_func("/executor-thread/config", test_thread_config);
	g_test_add_func("/executor-thread/config-bad", test_thread_config_bad);
	g_test_add_func("/executor-thread/window", test_thread_window);
	g_test_add_func("/executor-thread/timeout-from-start", test_thread_timeout_from_start);
	g_test_add_func("/executor-thread/timeout-queued", test_thread_timeout_queued);
	g_test_add_func("/executor-thread/cancel-queued", test_thread_cancel_queued);

	status = g_test_run();
	g_object_unref(test_registry);
	return status;
}
