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

static ArkExecutor *
test_executor(guint slots)
{
	g_autoptr(ArkExecutor) executor = NULL;
	g_autoptr(GError) error = NULL;
	ArkExecutorSetup setup = {
	    .name = "thread",
	    .slots = slots,
	    .group = "executor-thread",
	    .registry = test_registry,
	};

	executor = ark_registry_create(test_registry, ARK_CAPABILITY_EXECUTOR, "thread", &error);
	g_assert_no_error(error);
	g_assert_true(ARK_IS_EXECUTOR(executor));
	g_assert_true(ark_executor_setup(executor, &setup, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&executor);
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
			"unknown function 'nope' (known: noop, sleep, test-answer, test-fail, "
			"test-silent-fail)");

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

	g_test_add_func("/executor-thread/noop", test_thread_noop);
	g_test_add_func("/executor-thread/sleep", test_thread_sleep);
	g_test_add_func("/executor-thread/sleep-bad-args", test_thread_sleep_bad_args);
	g_test_add_func("/executor-thread/sleep-cancelled", test_thread_sleep_cancelled);
	g_test_add_func("/executor-thread/timeout", test_thread_timeout);
	g_test_add_func("/executor-thread/failing-function", test_thread_failing_function);
	g_test_add_func("/executor-thread/result", test_thread_result);
	g_test_add_func("/executor-thread/check-task", test_thread_check_task);
	g_test_add_func("/executor-thread/shutdown", test_thread_shutdown);
	g_test_add_func("/executor-thread/dispose-running", test_thread_dispose_running);
	g_test_add_func("/executor-thread/many", test_thread_many);

	status = g_test_run();
	g_object_unref(test_registry);
	return status;
}
