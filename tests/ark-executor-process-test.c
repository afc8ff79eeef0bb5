/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ark-test-utils.h"

/* generous: these guard against hangs, they do not measure anything */
#define HANG_GUARD_MS 30000

typedef struct {
	guint finished;
	ArkAttemptStatus status;
	gint exit_code;
	gint signal;
	gchar *error;
	gchar *log_path;
} TestResult;

static void
test_result_clear(TestResult *result)
{
	g_free(result->error);
	g_free(result->log_path);
	memset(result, 0, sizeof(*result));
}

static void
test_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *r, gpointer user_data)
{
	TestResult *result = user_data;

	result->finished++;
	result->status = r->status;
	result->exit_code = r->exit_code;
	result->signal = r->signal;
	g_free(result->error);
	result->error = g_strdup(r->error);
	g_free(result->log_path);
	result->log_path = g_strdup(ark_attempt_get_log_path(attempt));
}

static gboolean
test_result_finished(gpointer user_data)
{
	TestResult *result = user_data;
	return result->finished > 0;
}

/* a workflow from JSON written with ` for ", so that shell scripts in it stay readable */
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

static ArkExecutor *
test_executor_new(const gchar *config, guint slots, GError **error)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autoptr(ArkExecutor) executor = NULL;
	g_autoptr(GError) local_error = NULL;
	ArkExecutorSetup setup = {
	    .name = "process",
	    .slots = slots,
	    .group = "executor-process",
	    .registry = registry,
	};

	executor = ark_registry_create(registry, ARK_CAPABILITY_EXECUTOR, "process", &local_error);
	g_assert_no_error(local_error);
	g_assert_true(ARK_IS_EXECUTOR(executor));
	if (config != NULL) {
		g_autofree gchar *text = g_strdup_printf("[executor-process]\n%s\n", config);
		g_key_file_load_from_data(keyfile, text, -1, G_KEY_FILE_NONE, &local_error);
		g_assert_no_error(local_error);
		setup.config = keyfile;
	}
	if (!ark_executor_setup(executor, &setup, error))
		return NULL;
	return g_steal_pointer(&executor);
}

static ArkExecutor *
test_executor(const gchar *config)
{
	g_autoptr(GError) error = NULL;
	ArkExecutor *executor = test_executor_new(config, 2, &error);
	g_assert_no_error(error);
	return executor;
}

static ArkAttempt *
test_start(ArkExecutor *executor, ArkWorkflow *workflow, const gchar *id, const gchar *log_dir,
	   TestResult *result)
{
	const ArkTaskSpec *spec = ark_workflow_lookup_task(workflow, id);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)ark_problem_free);
	ArkAttempt *attempt;

	g_assert_nonnull(spec);
	g_assert_true(ark_executor_check_task(executor, workflow, spec, problems));
	g_assert_cmpuint(problems->len, ==, 0);
	attempt = ark_attempt_new("run-1", spec, 1, 42, log_dir, test_finish_cb, result);
	ark_executor_start(executor, attempt);
	return attempt;
}

/* runs one task to its end; @log_dir may be NULL */
static void
test_run(ArkExecutor *executor, ArkWorkflow *workflow, const gchar *id, const gchar *log_dir,
	 TestResult *result)
{
	g_autoptr(ArkAttempt) attempt = test_start(executor, workflow, id, log_dir, result);

	ark_test_loop_run_until(test_result_finished, result, HANG_GUARD_MS);
	g_assert_cmpuint(result->finished, ==, 1);
	g_assert_true(ark_attempt_is_finished(attempt));
}

/* the executor and a workflow of one task, run with a log directory; returns the log */
static gchar *
test_run_one(const gchar *config, const gchar *task, TestResult *result)
{
	g_autoptr(ArkExecutor) executor = test_executor(config);
	g_autoptr(ArkWorkflow) workflow = test_workflow(task);
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *log_dir = g_build_filename(tmpdir, "logs", "a", NULL);
	gchar *log = NULL;

	test_run(executor, workflow, ark_workflow_get_task(workflow, 0)->id, log_dir, result);
	if (result->log_path != NULL) {
		g_assert_true(g_str_has_prefix(result->log_path, log_dir));
		log = ark_test_read_file(result->log_path);
	}
	ark_executor_shutdown(executor);
	ark_test_rmdir(tmpdir);
	return log;
}

static void
test_process_exit_zero(void)
{
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(NULL, "{`id`:`a`,`run`:[`true`]}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(result.exit_code, ==, 0);
	g_assert_cmpint(result.signal, ==, 0);
	g_assert_null(result.error);
	/* it printed nothing: no log file was made and none is named */
	g_assert_null(result.log_path);
	g_assert_null(log);
	test_result_clear(&result);
}

static void
test_process_exit_status(void)
{
	TestResult result = {0};
	g_autofree gchar *log =
	    test_run_one(NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`exit 3`]}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.exit_code, ==, 3);
	g_assert_cmpint(result.signal, ==, 0);
	g_assert_cmpstr(result.error, ==, "exited with status 3");
	test_result_clear(&result);
}

static void
test_process_killed(void)
{
	TestResult result = {0};
	g_autofree gchar *log =
	    test_run_one(NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`kill -9 $$`]}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.exit_code, ==, -1);
	g_assert_cmpint(result.signal, ==, SIGKILL);
	g_assert_cmpstr(result.error, ==, "killed by signal 9 (Killed)");
	test_result_clear(&result);
}

static void
test_process_output(void)
{
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(
	    NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`echo to-stdout; echo to-stderr >&2; echo again`]}",
	    &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	/* one file, in the order it was written */
	g_assert_cmpstr(log, ==, "to-stdout\nto-stderr\nagain\n");
	test_result_clear(&result);
}

static void
test_process_log_cap(void)
{
	TestResult result = {0};
	const gchar *marker = "[arkitect: output truncated at 1024 bytes]\n";
	g_autofree gchar *log = test_run_one(
	    "max-log-size=1KiB",
	    "{`id`:`a`,`run`:[`sh`,`-c`,`yes 0123456789abcdef | head -c 1048576; echo done >&2`]}",
	    &result);

	/* the output went on after the cap (the process was never blocked) and was dropped */
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpuint(strlen(log), ==, 1024 + 1 + strlen(marker));
	g_assert_true(g_str_has_prefix(log, "0123456789abcdef\n0123"));
	g_assert_true(g_str_has_suffix(log, marker));
	g_assert_null(strstr(log, "done"));
	test_result_clear(&result);
}

static void
test_process_no_log_dir(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`run`:[`sh`,`-c`,`yes | head -c 1000000; exit 4`]}");
	TestResult result = {0};

	test_run(executor, workflow, "a", NULL, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.exit_code, ==, 4);
	g_assert_null(result.log_path);
	test_result_clear(&result);
}

static void
test_process_missing_program(void)
{
	TestResult result = {0};
	g_autofree gchar *log =
	    test_run_one(NULL, "{`id`:`a`,`run`:[`ark-no-such-program`,`x`]}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==,
			"failed to start 'ark-no-such-program': No such file or directory");
	test_result_clear(&result);

	g_free(log);
	log = test_run_one(NULL, "{`id`:`a`,`run`:[`/nonexistent/ark-prog`]}", &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==,
			"failed to start '/nonexistent/ark-prog': No such file or directory");
	test_result_clear(&result);
}

static void
test_process_not_executable(void)
{
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *script = g_build_filename(tmpdir, "script.sh", NULL);
	g_autofree gchar *task = g_strdup_printf("{`id`:`a`,`run`:[`%s`]}", script);
	g_autofree gchar *expected =
	    g_strdup_printf("failed to start '%s': Permission denied", script);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;
	TestResult result = {0};

	g_file_set_contents(script, "#!/bin/sh\nexit 0\n", -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(script, 0644), ==, 0);
	/* no execute bit at all: even root may not run it */
	log = test_run_one(NULL, task, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==, expected);
	test_result_clear(&result);

	/* executable, but no #! line: no shell is tried behind the user's back */
	g_free(expected);
	expected = g_strdup_printf("failed to start '%s': Exec format error", script);
	g_file_set_contents(script, "exit 0\n", -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(script, 0755), ==, 0);
	g_free(log);
	log = test_run_one(NULL, task, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==, expected);
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static void
test_process_bad_cwd(void)
{
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(
	    NULL, "{`id`:`a`,`run`:[`true`],`cwd`:`/nonexistent/ark-dir`}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_cmpstr(result.error, ==,
			"failed to start 'true': working directory '/nonexistent/ark-dir': "
			"No such file or directory");
	test_result_clear(&result);
}

static void
test_process_bad_log_dir(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(ArkWorkflow) workflow = test_workflow("{`id`:`a`,`run`:[`true`]}");
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *file = g_build_filename(tmpdir, "file", NULL);
	g_autofree gchar *log_dir = g_build_filename(file, "logs", NULL);
	g_autoptr(GError) error = NULL;
	TestResult result = {0};

	/* the log directory can not be created: the task does not run blind */
	g_file_set_contents(file, "", -1, &error);
	g_assert_no_error(error);
	test_run(executor, workflow, "a", log_dir, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_ERROR);
	g_assert_true(g_str_has_prefix(result.error, "failed to open the log file"));
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static void
test_process_cwd(void)
{
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *task = g_strdup_printf("{`id`:`a`,`run`:[`pwd`],`cwd`:`%s`}", tmpdir);
	g_autofree gchar *expected = g_strdup_printf("%s\n", tmpdir);
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(NULL, task, &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(log, ==, expected);
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static gboolean
test_env_has(GStrv lines, const gchar *entry)
{
	return g_strv_contains((const gchar *const *)lines, entry);
}

static gboolean
test_env_has_key(GStrv lines, const gchar *key)
{
	g_autofree gchar *prefix = g_strconcat(key, "=", NULL);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], prefix))
			return TRUE;
	}
	return FALSE;
}

static void
test_process_environment(void)
{
	TestResult result = {0};
	g_autofree gchar *log = NULL;
	g_auto(GStrv) lines = NULL;
	guint homes = 0;

	/* what a daemon may have in its environment and must never hand to a task */
	g_setenv("ARK_TEST_SECRET", "hunter2", TRUE);
	g_setenv("ARK_TEST_INHERITED", "passed-on", TRUE);
	log = test_run_one("inherit-env=ARK_TEST_INHERITED;ARK_TEST_UNSET;",
			   "{`id`:`envtask`,`run`:[`env`],"
			   "`env`:{`ARK_TEST_VAR`:`hello world`,`HOME`:`/ark-home`}}",
			   &result);
	g_unsetenv("ARK_TEST_SECRET");
	g_unsetenv("ARK_TEST_INHERITED");

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	lines = g_strsplit(log, "\n", -1);
	g_assert_false(test_env_has_key(lines, "ARK_TEST_SECRET"));
	g_assert_false(test_env_has_key(lines, "ARK_TEST_UNSET"));
	g_assert_false(test_env_has_key(lines, "G_DEBUG"));
	g_assert_false(test_env_has_key(lines, "G_TEST_SRCDIR"));
	g_assert_true(test_env_has(lines, "ARK_TEST_INHERITED=passed-on"));
	g_assert_true(test_env_has(lines, "ARK_TEST_VAR=hello world"));
	g_assert_true(test_env_has(lines, "ARK_TASK_ID=envtask"));
	g_assert_true(test_env_has(lines, "ARK_RUN_ID=run-1"));
	g_assert_true(test_env_has(lines, "ARK_ATTEMPT=1"));
	g_assert_true(test_env_has_key(lines, "PATH"));
	g_assert_true(test_env_has(lines, "LC_ALL=C.UTF-8"));
	/* the task's own value replaces the daemon's */
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "HOME="))
			homes++;
	}
	g_assert_cmpuint(homes, ==, 1);
	g_assert_true(test_env_has(lines, "HOME=/ark-home"));
	test_result_clear(&result);
}

static void
test_process_path_override(void)
{
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *prog = g_build_filename(tmpdir, "ark-test-prog", NULL);
	g_autofree gchar *task = g_strdup_printf(
	    "{`id`:`a`,`run`:[`ark-test-prog`],`env`:{`PATH`:`%s:/usr/bin:/bin`}}", tmpdir);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;
	TestResult result = {0};

	/* the program is looked up in the task's PATH, not the daemon's */
	g_file_set_contents(prog, "#!/bin/sh\necho found \"$PATH\"\n", -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(prog, 0755), ==, 0);
	log = test_run_one(NULL, task, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_true(g_str_has_prefix(log, "found "));
	g_assert_nonnull(strstr(log, tmpdir));
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static void
test_process_no_inherited_fds(void)
{
	/* an fd the daemon left inheritable by mistake */
	gint fd = open("/dev/null", O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(dup2(fd, 57), ==, 57);
	g_close(fd, NULL);

	{
		TestResult result = {0};
		g_autofree gchar *log = test_run_one(
		    NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`cd /proc/$$/fd && echo *`]}", &result);
		g_auto(GStrv) fds = g_strsplit(g_strstrip(log), " ", -1);

		g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
		g_assert_false(g_strv_contains((const gchar *const *)fds, "57"));
		g_assert_true(g_strv_contains((const gchar *const *)fds, "0"));
		g_assert_true(g_strv_contains((const gchar *const *)fds, "2"));
		test_result_clear(&result);
	}
	g_close(57, NULL);
}

static void
test_process_signals_reset(void)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	struct sigaction old_action;
	sigset_t block;
	sigset_t old_mask;
	TestResult result = {0};
	g_autofree gchar *log = NULL;

	/* a daemon that ignores SIGINT and blocks SIGUSR1 must not pass that on */
	sigaction(SIGINT, &ignore, &old_action);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	log = test_run_one(NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`kill -INT $$; exit 0`]}",
			   &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.signal, ==, SIGINT);
	test_result_clear(&result);
	g_free(log);
	log = test_run_one(NULL, "{`id`:`a`,`run`:[`sh`,`-c`,`kill -USR1 $$; exit 0`]}",
			   &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.signal, ==, SIGUSR1);
	test_result_clear(&result);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_action, NULL);
}

static void
test_process_shell(void)
{
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(
	    NULL, "{`id`:`a`,`shell`:true,`run`:[`echo $((1 + 2)) | tr 3 Z; echo \\`q\\``]}",
	    &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(log, ==, "Z\nq\n");
	test_result_clear(&result);
}

static void
test_process_no_shell(void)
{
	TestResult result = {0};
	/* without shell: true, metacharacters reach the program as they are */
	g_autofree gchar *log =
	    test_run_one(NULL, "{`id`:`a`,`run`:[`echo`,`$HOME`,`a;b`,`$(id)`,`*`]}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(log, ==, "$HOME a;b $(id) *\n");
	test_result_clear(&result);
}

static gboolean
test_pid_gone(gpointer user_data)
{
	pid_t pid = GPOINTER_TO_INT(user_data);
	g_autofree gchar *stat_path = g_strdup_printf("/proc/%d/stat", (gint)pid);
	g_autofree gchar *stat = NULL;
	const gchar *end;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return TRUE;
	/* a zombie waiting for whoever adopted it is gone too */
	if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
		return TRUE;
	end = strrchr(stat, ')');
	return end != NULL && end[1] == ' ' && end[2] == 'Z';
}

static gboolean
test_tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* for conditions that no main-loop event announces (a process outside ours went away, a file
 * appeared): wake up now and then to look again */
static void
test_poll_until(ArkTestCondition cond, gpointer user_data)
{
	guint tick = g_timeout_add(10, test_tick_cb, NULL);
	ark_test_loop_run_until(cond, user_data, HANG_GUARD_MS);
	g_source_remove(tick);
}

static gboolean
test_file_exists(gpointer user_data)
{
	return g_file_test(user_data, G_FILE_TEST_EXISTS);
}

static pid_t
test_read_pid(const gchar *path)
{
	g_autofree gchar *text = NULL;
	guint64 pid = 0;

	/* written by the task's shell, maybe not complete yet */
	while (TRUE) {
		g_clear_pointer(&text, g_free);
		test_poll_until(test_file_exists, (gpointer)path);
		text = ark_test_read_file(path);
		if (g_str_has_suffix(text, "\n"))
			break;
		g_usleep(1000);
	}
	g_assert_true(g_ascii_string_to_unsigned(g_strstrip(text), 10, 2, G_MAXINT, &pid, NULL));
	return (pid_t)pid;
}

static void
test_process_timeout_group(void)
{
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *pidfile = g_build_filename(tmpdir, "pid", NULL);
	g_autofree gchar *task = g_strdup_printf(
	    "{`id`:`a`,`run`:[`sh`,`-c`,`sleep 60 & echo $! > %s; sleep 60`],`timeout`:`200ms`}",
	    pidfile);
	TestResult result = {0};
	g_autofree gchar *log = test_run_one(NULL, task, &result);
	pid_t pid;

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_TIMED_OUT);
	g_assert_cmpstr(result.error, ==, "timed out after 200ms");
	g_assert_cmpint(result.signal, ==, SIGTERM);
	/* the background process was in the group and went with it */
	pid = test_read_pid(pidfile);
	test_poll_until(test_pid_gone, GINT_TO_POINTER(pid));
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static void
test_process_timeout_kill(void)
{
	TestResult result = {0};
	/* SIGTERM is ignored (by the shell and, inherited, by sleep): SIGKILL after the grace */
	g_autofree gchar *log = test_run_one(
	    "kill-grace=100ms",
	    "{`id`:`a`,`run`:[`sh`,`-c`,`trap '' TERM; sleep 60`],`timeout`:`100ms`}", &result);

	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_TIMED_OUT);
	g_assert_cmpstr(result.error, ==, "timed out after 100ms");
	g_assert_cmpint(result.signal, ==, SIGKILL);
	test_result_clear(&result);
}

static void
test_process_cancel(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`run`:[`sleep`,`60`]},{`id`:`b`,`run`:[`true`]}");
	g_autoptr(ArkAttempt) attempt = NULL;
	g_autoptr(ArkAttempt) done = NULL;
	TestResult result = {0};
	TestResult other = {0};

	attempt = test_start(executor, workflow, "a", NULL, &result);
	ark_executor_cancel(executor, attempt);
	ark_test_loop_run_until(test_result_finished, &result, HANG_GUARD_MS);
	g_assert_cmpuint(result.finished, ==, 1);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	g_assert_cmpint(result.signal, ==, SIGTERM);
	g_assert_cmpstr(result.error, ==, "cancelled");

	/* cancelling what already finished does nothing */
	ark_executor_cancel(executor, attempt);
	done = test_start(executor, workflow, "b", NULL, &other);
	ark_test_loop_run_until(test_result_finished, &other, HANG_GUARD_MS);
	ark_executor_cancel(executor, done);
	g_assert_cmpint(other.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);

	/* give a second report (a bug) the chance to show */
	for (guint i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(result.finished, ==, 1);
	g_assert_cmpuint(other.finished, ==, 1);
	test_result_clear(&result);
	test_result_clear(&other);
}

static void
test_process_shutdown(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(ArkWorkflow) workflow =
	    test_workflow("{`id`:`a`,`run`:[`sleep`,`60`]},{`id`:`b`,`run`:[`sleep`,`60`]}");
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autoptr(ArkAttempt) a = NULL;
	g_autoptr(ArkAttempt) b = NULL;
	TestResult ra = {0};
	TestResult rb = {0};

	a = test_start(executor, workflow, "a", tmpdir, &ra);
	b = test_start(executor, workflow, "b", NULL, &rb);
	ark_executor_shutdown(executor);
	/* the executor may go away before its attempts have finished */
	g_clear_object(&executor);
	ark_test_loop_run_until(test_result_finished, &ra, HANG_GUARD_MS);
	ark_test_loop_run_until(test_result_finished, &rb, HANG_GUARD_MS);
	g_assert_cmpint(ra.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	g_assert_cmpint(rb.status, ==, ARK_ATTEMPT_STATUS_CANCELLED);
	test_result_clear(&ra);
	test_result_clear(&rb);
	ark_test_rmdir(tmpdir);
}

static void
test_process_background_keeps_pipe(void)
{
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *pidfile = g_build_filename(tmpdir, "pid", NULL);
	g_autofree gchar *task = g_strdup_printf(
	    "{`id`:`a`,`run`:[`sh`,`-c`,`sleep 60 & echo $! > %s; echo started`]}", pidfile);
	TestResult result = {0};
	g_autofree gchar *log = NULL;
	pid_t pid;

	/* the background sleep holds the output pipe open: the attempt still finishes */
	log = test_run_one(NULL, task, &result);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpstr(log, ==, "started\n");
	pid = test_read_pid(pidfile);
	(void)kill(pid, SIGKILL);
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static gboolean
test_pid_reaped(gpointer user_data)
{
	return kill(GPOINTER_TO_INT(user_data), 0) < 0 && errno == ESRCH;
}

static void
test_process_cancel_after_exit(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	g_autofree gchar *pidfile = g_build_filename(tmpdir, "pid", NULL);
	g_autofree gchar *leaderfile = g_build_filename(tmpdir, "leader", NULL);
	g_autofree gchar *task = g_strdup_printf(
	    "{`id`:`a`,`run`:[`sh`,`-c`,`sleep 60 & echo $! > %s; echo $$ > %s; exit 5`]}",
	    pidfile, leaderfile);
	g_autoptr(ArkWorkflow) workflow = test_workflow(task);
	g_autoptr(ArkAttempt) attempt = NULL;
	TestResult result = {0};
	pid_t leader;
	pid_t pid;

	/* the shell has exited (and was reaped), its background child still holds the output */
	attempt = test_start(executor, workflow, "a", tmpdir, &result);
	leader = test_read_pid(leaderfile);
	pid = test_read_pid(pidfile);
	test_poll_until(test_pid_reaped, GINT_TO_POINTER(leader));
	if (result.finished > 0) {
		/* this machine stalled past the linger period: nothing left to cancel */
		g_test_message("finished before the cancel; not checking the cancel");
		(void)kill(pid, SIGKILL);
		g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
		test_result_clear(&result);
		ark_test_rmdir(tmpdir);
		return;
	}

	/* a cancel now reports how the task really ended, and takes the leftovers with it */
	ark_executor_cancel(executor, attempt);
	ark_test_loop_run_until(test_result_finished, &result, HANG_GUARD_MS);
	g_assert_cmpint(result.status, ==, ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(result.exit_code, ==, 5);
	test_poll_until(test_pid_gone, GINT_TO_POINTER(pid));
	test_result_clear(&result);
	ark_test_rmdir(tmpdir);
}

static void
test_process_check_task(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(ArkWorkflow) workflow = test_workflow(
	    "{`id`:`ok`,`run`:[`true`]},"
	    "{`id`:`norun`},"
	    "{`id`:`shell2`,`shell`:true,`run`:[`echo`,`x`]},"
	    "{`id`:`func`,`function`:`noop`,`run`:[`true`]}");
	g_autoptr(GPtrArray) problems =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	const ArkProblem *problem;

	g_assert_true(ark_executor_check_task(executor, workflow,
					      ark_workflow_lookup_task(workflow, "ok"), problems));
	g_assert_cmpuint(problems->len, ==, 0);

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "norun"), problems));
	g_assert_cmpuint(problems->len, ==, 1);
	problem = problems->pdata[0];
	g_assert_cmpstr(problem->path, ==, "tasks[1].run");
	g_assert_cmpstr(problem->message, ==, "missing \"run\": a process task needs a command");

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "shell2"), problems));
	g_assert_cmpuint(problems->len, ==, 2);
	problem = problems->pdata[1];
	g_assert_cmpstr(problem->path, ==, "tasks[2].run");
	g_assert_nonnull(strstr(problem->message, "exactly one string"));

	g_assert_false(ark_executor_check_task(
	    executor, workflow, ark_workflow_lookup_task(workflow, "func"), problems));
	g_assert_cmpuint(problems->len, ==, 3);
	problem = problems->pdata[2];
	g_assert_cmpstr(problem->path, ==, "tasks[3].function");
}

static void
test_process_bad_config(void)
{
	const struct {
		const gchar *config;
		const gchar *key;
	} cases[] = {
	    {"max-log-size=lots", "max-log-size"},
	    {"max-log-size=-1", "max-log-size"},
	    {"kill-grace=10 parsecs", "kill-grace"},
	    {"kill-grace=-1s", "kill-grace"},
	    {"inherit-env=GOOD;not a name", "inherit-env"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkExecutor) executor = test_executor_new(cases[i].config, 0, &error);

		g_assert_null(executor);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, cases[i].key));
	}
}

static void
test_process_default_slots(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkExecutor) executor = test_executor_new(NULL, 0, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(ark_executor_get_slots(executor), ==, g_get_num_processors());
	g_clear_object(&executor);
	executor = test_executor_new("max-log-size=0\nkill-grace=0s", 3, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ark_executor_get_slots(executor), ==, 3);
}

#define TEST_MANY 200

typedef struct {
	ArkExecutor *executor;
	ArkWorkflow *workflow;
	const gchar *log_root;
	guint next;
	guint running;
	guint max_running;
	guint finished;
	guint succeeded;
	guint reports[TEST_MANY];
	ArkAttempt *attempts[TEST_MANY];
} TestMany;

static void test_many_start_next(TestMany *many);

static void
test_many_finish_cb(ArkAttempt *attempt, const ArkAttemptResult *result, gpointer user_data)
{
	TestMany *many = user_data;
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	g_autofree gchar *log = ark_test_read_file(ark_attempt_get_log_path(attempt));
	g_autofree gchar *expected = g_strdup_printf("%s\n", spec->id);

	many->reports[spec->index]++;
	many->running--;
	many->finished++;
	if (result->status == ARK_ATTEMPT_STATUS_SUCCEEDED && result->exit_code == 0 &&
	    g_str_equal(log, expected))
		many->succeeded++;
	/* like the engine: the next task starts from inside the report of the last one */
	test_many_start_next(many);
}

static void
test_many_start_next(TestMany *many)
{
	guint slots = ark_executor_get_slots(many->executor);

	while (many->running < slots && many->next < TEST_MANY) {
		guint i = many->next++;
		const ArkTaskSpec *spec = ark_workflow_get_task(many->workflow, i);
		g_autofree gchar *log_dir = g_build_filename(many->log_root, spec->id, NULL);

		many->attempts[i] = ark_attempt_new("run-many", spec, 1, i, log_dir,
						    test_many_finish_cb, many);
		many->running++;
		many->max_running = MAX(many->max_running, many->running);
		ark_executor_start(many->executor, many->attempts[i]);
	}
}

static gboolean
test_many_done(gpointer user_data)
{
	TestMany *many = user_data;
	return many->finished == TEST_MANY;
}

static void
test_process_many(void)
{
	g_autoptr(ArkExecutor) executor = test_executor(NULL);
	g_autoptr(GString) tasks = g_string_new(NULL);
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autofree gchar *tmpdir = ark_test_mkdtemp();
	TestMany *many = g_new0(TestMany, 1);

	for (guint i = 0; i < TEST_MANY; i++) {
		g_string_append_printf(tasks, "%s{`id`:`t%u`,`run`:[`sh`,`-c`,`echo $ARK_TASK_ID`]}",
				       i > 0 ? "," : "", i);
	}
	workflow = test_workflow(tasks->str);
	many->executor = executor;
	many->workflow = workflow;
	many->log_root = tmpdir;
	test_many_start_next(many);
	ark_test_loop_run_until(test_many_done, many, 120000);

	g_assert_cmpuint(many->finished, ==, TEST_MANY);
	g_assert_cmpuint(many->succeeded, ==, TEST_MANY);
	g_assert_cmpuint(many->max_running, ==, 2);
	for (guint i = 0; i < TEST_MANY; i++) {
		g_assert_cmpuint(many->reports[i], ==, 1);
		ark_attempt_unref(many->attempts[i]);
	}
	g_free(many);
	ark_test_rmdir(tmpdir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/executor-process/exit-zero", test_process_exit_zero);
	g_test_add_func("/executor-process/exit-status", test_process_exit_status);
	g_test_add_func("/executor-process/killed", test_process_killed);
	g_test_add_func("/executor-process/output", test_process_output);
	g_test_add_func("/executor-process/log-cap", test_process_log_cap);
	g_test_add_func("/executor-process/no-log-dir", test_process_no_log_dir);
	g_test_add_func("/executor-process/missing-program", test_process_missing_program);
	g_test_add_func("/executor-process/not-executable", test_process_not_executable);
	g_test_add_func("/executor-process/bad-cwd", test_process_bad_cwd);
	g_test_add_func("/executor-process/bad-log-dir", test_process_bad_log_dir);
	g_test_add_func("/executor-process/cwd", test_process_cwd);
	g_test_add_func("/executor-process/environment", test_process_environment);
	g_test_add_func("/executor-process/path-override", test_process_path_override);
	g_test_add_func("/executor-process/no-inherited-fds", test_process_no_inherited_fds);
	g_test_add_func("/executor-process/signals-reset", test_process_signals_reset);
	g_test_add_func("/executor-process/shell", test_process_shell);
	g_test_add_func("/executor-process/no-shell", test_process_no_shell);
	g_test_add_func("/executor-process/timeout-group", test_process_timeout_group);
	g_test_add_func("/executor-process/timeout-kill", test_process_timeout_kill);
	g_test_add_func("/executor-process/cancel", test_process_cancel);
	g_test_add_func("/executor-process/shutdown", test_process_shutdown);
	g_test_add_func("/executor-process/background-keeps-pipe",
			test_process_background_keeps_pipe);
	g_test_add_func("/executor-process/cancel-after-exit", test_process_cancel_after_exit);
	g_test_add_func("/executor-process/check-task", test_process_check_task);
	g_test_add_func("/executor-process/bad-config", test_process_bad_config);
	g_test_add_func("/executor-process/default-slots", test_process_default_slots);
	g_test_add_func("/executor-process/many", test_process_many);

	return g_test_run();
}
