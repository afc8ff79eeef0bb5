/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "ark-test-utils.h"

/* the arkitect command as a user types it: real files, real processes, real exit codes */

typedef struct {
	gint status;
	gchar *out;
	gchar *err;
} CliResult;

static void
cli_result_free(CliResult *r)
{
	g_free(r->out);
	g_free(r->err);
	g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliResult, cli_result_free)

static CliResult *
cli_run(const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	CliResult *r = g_new0(CliResult, 1);
	va_list args;

	g_ptr_array_add(argv, (gpointer)g_getenv("ARK_CLI"));
	va_start(args, first);
	for (const gchar *a = first; a != NULL; a = va_arg(args, const gchar *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(args);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const gchar *const *)argv->pdata,
				 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				 &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, NULL, NULL, &r->out, &r->err, &error);
	g_assert_no_error(error);
	r->status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	return r;
}

static gchar *
cli_write(const gchar *dir, const gchar *name, const gchar *contents)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(dir, name, NULL);
	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
	return path;
}

static void
cli_assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("expected '%s' in:\n%s", needle, haystack != NULL ? haystack : "(null)");
}

static gchar *
cli_example(void)
{
	return g_build_filename(g_getenv("ARK_SOURCE_ROOT"), "examples", "ci-pipeline.json",
				NULL);
}

static void
test_example_runs(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *example = cli_example();
	g_autoptr(CliResult) r = cli_run("run", "--state-dir", dir, example, NULL);

	g_assert_cmpint(r->status, ==, 0);
	cli_assert_contains(r->out, "integration-tests failed (allowed to fail): exited with "
				    "status 3");
	cli_assert_contains(r->out, "error: connection refused");
	cli_assert_contains(r->out, "succeeded in");
	cli_assert_contains(r->out, "7 succeeded, 1 failed");
	/* progress lines went to stderr */
	cli_assert_contains(r->err, "cleanup");
	ark_test_rmdir(dir);
}

static void
test_json_report(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *example = cli_example();
	g_autoptr(CliResult) r = cli_run("run", "--json", "--state-dir", dir, example, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonObject *root, *run;
	JsonArray *tasks;
	g_autoptr(CliResult) st = NULL;

	g_assert_cmpint(r->status, ==, 0);
	json_parser_load_from_data(parser, r->out, -1, &error);
	g_assert_no_error(error);
	root = json_node_get_object(json_parser_get_root(parser));
	run = json_object_get_object_member(root, "run");
	g_assert_cmpstr(json_object_get_string_member(run, "state"), ==, "succeeded");
	g_assert_cmpstr(json_object_get_string_member(run, "workflow"), ==, "ci-pipeline");
	tasks = json_object_get_array_member(root, "tasks");
	g_assert_cmpuint(json_array_get_length(tasks), ==, 8);
	for (guint i = 0; i < json_array_get_length(tasks); i++) {
		JsonObject *t = json_array_get_object_element(tasks, i);
		const gchar *id = json_object_get_string_member(t, "id");
		g_assert_cmpint(json_object_get_int_member(t, "attempts"), ==, 1);
		g_assert_nonnull(json_object_get_string_member(t, "started_at"));
		g_assert_nonnull(json_object_get_string_member(t, "finished_at"));
		if (g_strcmp0(id, "integration-tests") == 0) {
			g_assert_cmpstr(json_object_get_string_member(t, "state"), ==, "failed");
			g_assert_cmpint(json_object_get_int_member(t, "exit_code"), ==, 3);
		} else {
			g_assert_cmpstr(json_object_get_string_member(t, "state"), ==,
					"succeeded");
			g_assert_cmpint(json_object_get_int_member(t, "exit_code"), ==, 0);
		}
	}
	/* the run is in the store: status finds it */
	st = cli_run("status", "--state-dir", dir, NULL);
	g_assert_cmpint(st->status, ==, 0);
	cli_assert_contains(st->out, json_object_get_string_member(run, "id"));
	cli_assert_contains(st->out, "ci-pipeline");
	ark_test_rmdir(dir);
}

static void
test_failed_run(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *wf = cli_write(
	    dir, "fail.json",
	    "{\"name\":\"f\",\"tasks\":[{\"id\":\"boom\",\"run\":[\"sh\",\"-c\","
	    "\"echo kaboom >&2; exit 7\"]},{\"id\":\"after\",\"needs\":[\"boom\"],"
	    "\"run\":[\"true\"]},{\"id\":\"missing\",\"run\":[\"no-such-program-xyz\"]}]}");
	g_autoptr(CliResult) r = cli_run("run", "--ephemeral", wf, NULL);

	g_assert_cmpint(r->status, ==, 1);
	cli_assert_contains(r->out, "boom failed: exited with status 7");
	cli_assert_contains(r->out, "kaboom");
	cli_assert_contains(r->out, "failed to start 'no-such-program-xyz'");
	cli_assert_contains(r->out, "skipped");
	ark_test_rmdir(dir);
}

static void
test_validate(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *example = cli_example();
	g_autofree gchar *cycle = cli_write(
	    dir, "cycle.json",
	    "{\"name\":\"c\",\"tasks\":[\n"
	    "{\"id\":\"a\",\"needs\":[\"c\"],\"run\":[\"true\"]},\n"
	    "{\"id\":\"b\",\"needs\":[\"a\"],\"run\":[\"true\"]},\n"
	    "{\"id\":\"c\",\"needs\":[\"b\"],\"run\":[\"true\"]},\n"
	    "{\"id\":\"a\",\"run\":[\"true\"],\"timeout\":\"soon\"}]}\n");
	g_autofree gchar *syntax = cli_write(dir, "syntax.json", "{\"name\": \"x\",\n  \"tasks\": [,]}");
	g_autofree gchar *plugin_checks = cli_write(
	    dir, "plugins.json",
	    "{\"name\":\"p\",\"policy\":\"lottery\",\"tasks\":[{\"id\":\"a\",\"executor\":\"warp\"},"
	    "{\"id\":\"b\"},{\"id\":\"c\",\"executor\":\"thread\",\"function\":\"nope\"}]}");
	g_autofree gchar *resources = cli_write(
	    dir, "resources.json",
	    "{\"name\":\"r\",\"policy\":\"critical-path\",\"tasks\":[\n"
	    "{\"id\":\"a\",\"run\":[\"true\"],\"cpus\":100000,\"gpus\":1},\n"
	    "{\"id\":\"b\",\"run\":[\"true\"],\"concurrency\":{\"key\":\"k\",\"limit\":1}}]}\n");
	g_autoptr(CliResult) res = cli_run("validate", resources, NULL);
	g_autoptr(CliResult) ok = cli_run("validate", example, NULL);
	g_autoptr(CliResult) bad = cli_run("validate", cycle, NULL);
	g_autoptr(CliResult) bad_json = cli_run("validate", "--json", cycle, NULL);
	g_autoptr(CliResult) syn = cli_run("validate", syntax, NULL);
	g_autoptr(CliResult) plug = cli_run("validate", plugin_checks, NULL);
	g_autoptr(CliResult) missing = cli_run("validate", "/nonexistent/wf.json", NULL);
	g_autoptr(CliResult) run_bad = cli_run("run", "--ephemeral", cycle, NULL);

	g_assert_cmpint(ok->status, ==, 0);
	cli_assert_contains(ok->out, "valid workflow 'ci-pipeline' with 8 tasks");

	g_assert_cmpint(bad->status, ==, 2);
	cli_assert_contains(bad->err, "dependency cycle: ");
	cli_assert_contains(bad->err, "a -> ");
	cli_assert_contains(bad->err, "duplicate task id 'a'");
	cli_assert_contains(bad->err, "soon");
	g_assert_cmpint(bad_json->status, ==, 2);
	cli_assert_contains(bad_json->out, "\"valid\" : false");

	g_assert_cmpint(syn->status, ==, 2);
	cli_assert_contains(syn->err, "syntax.json:2:");

	g_assert_cmpint(plug->status, ==, 2);
	cli_assert_contains(plug->err, "unknown policy 'lottery'");
	cli_assert_contains(plug->err, "unknown executor 'warp'");
	cli_assert_contains(plug->err, "missing \"run\"");
	cli_assert_contains(plug->err, "nope");

	g_assert_cmpint(missing->status, ==, 2);
	cli_assert_contains(missing->err, "/nonexistent/wf.json");

	/* resource requests larger than the executor has are found before anything runs */
	g_assert_cmpint(res->status, ==, 2);
	cli_assert_contains(res->err, "resources.json:2:1: tasks[0].cpus: asks for 100000 CPUs, "
				      "but executor 'process' has");
	cli_assert_contains(res->err, "tasks[0].gpus: asks for 1 GPUs");
	cli_assert_contains(res->err, "2 problems");

	/* run refuses the same input the same way, and runs nothing */
	g_assert_cmpint(run_bad->status, ==, 2);
	cli_assert_contains(run_bad->err, "dependency cycle");
	ark_test_rmdir(dir);
}

static void
test_hostile_input(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *big_path = g_build_filename(dir, "big.json", NULL);
	g_autofree gchar *deep_path = g_build_filename(dir, "deep.json", NULL);
	g_autofree gchar *binary = cli_write(dir, "binary.json", "\x7f" "ELF\x01\x01\x01");
	g_autoptr(GString) deep = g_string_new("{\"name\":\"d\",\"tasks\":[{\"id\":\"a\",\"args\":");
	g_autoptr(CliResult) r1 = NULL;
	g_autoptr(CliResult) r2 = NULL;
	g_autoptr(CliResult) r3 = NULL;
	g_autoptr(CliResult) r4 = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *big = g_malloc(ARK_WORKFLOW_MAX_BYTES + 2);

	memset(big, ' ', ARK_WORKFLOW_MAX_BYTES + 1);
	big[ARK_WORKFLOW_MAX_BYTES + 1] = '\0';
	g_file_set_contents(big_path, big, -1, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < 200000; i++)
		g_string_append_c(deep, '[');
	g_file_set_contents(deep_path, deep->str, -1, &error);
	g_assert_no_error(error);

	r1 = cli_run("validate", big_path, NULL);
	g_assert_cmpint(r1->status, ==, 2);
	cli_assert_contains(r1->err, "larger than");
	r2 = cli_run("validate", deep_path, NULL);
	g_assert_cmpint(r2->status, ==, 2);
	r3 = cli_run("validate", binary, NULL);
	g_assert_cmpint(r3->status, ==, 2);
	r4 = cli_run("validate", dir, NULL);
	g_assert_cmpint(r4->status, ==, 2);
	cli_assert_contains(r4->err, "not a regular file");
	ark_test_rmdir(dir);
}

static void
test_plugins(void)
{
	g_autoptr(CliResult) r = cli_run("plugins", NULL);
	g_autoptr(CliResult) j = cli_run("plugins", "--json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonArray *plugins;

	g_assert_cmpint(r->status, ==, 0);
	cli_assert_contains(r->out, "executor-process");
	cli_assert_contains(r->out, "store:sqlite");
	g_assert_cmpint(j->status, ==, 0);
	json_parser_load_from_data(parser, j->out, -1, &error);
	g_assert_no_error(error);
	plugins = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
					       "plugins");
	g_assert_cmpuint(json_array_get_length(plugins), >=, 6);
}

static void
test_usage_errors(void)
{
	g_autoptr(CliResult) none = cli_run(NULL, NULL);
	g_autoptr(CliResult) unknown = cli_run("frobnicate", NULL);
	g_autoptr(CliResult) slots = cli_run("run", "--slots", "-3", "x.json", NULL);
	g_autoptr(CliResult) version = cli_run("--version", NULL);

	g_assert_cmpint(none->status, ==, 2);
	g_assert_cmpint(unknown->status, ==, 2);
	cli_assert_contains(unknown->err, "unknown command 'frobnicate'");
	g_assert_cmpint(slots->status, ==, 2);
	g_assert_cmpint(version->status, ==, 0);
	cli_assert_contains(version->out, PACKAGE_VERSION);
}

static void
test_policy_option(void)
{
	g_autofree gchar *example = cli_example();
	g_autoptr(CliResult) prio =
	    cli_run("run", "--ephemeral", "--json", "--policy", "priority", "--slots", "1", example,
		    NULL);
	g_autoptr(CliResult) bad = cli_run("run", "--ephemeral", "--policy", "lottery", example,
					   NULL);

	g_assert_cmpint(prio->status, ==, 0);
	cli_assert_contains(prio->out, "\"policy\":\"priority\"");
	g_assert_cmpint(bad->status, ==, 2);
	cli_assert_contains(bad->err, "unknown policy 'lottery'");
}

/*
 * The workflow a crash interrupts: "slow" is running when the runner is killed. Its first
 * attempt waits 30 s (the runner is killed long before), the ones after it end at once, so
 * that how fast the machine is never decides whether the kill finds it running.
 */
static gchar *
cli_crash_workflow(const gchar *dir)
{
	g_autofree gchar *marker = g_build_filename(dir, "slow-ran", NULL);
	return g_strdup_printf(
	    "{\"name\":\"crashy\",\"tasks\":["
	    "{\"id\":\"first\",\"run\":[\"true\"]},"
	    "{\"id\":\"slow\",\"needs\":[\"first\"],\"run\":[\"sh\",\"-c\","
	    "\"test -e '%s' && exit 0; touch '%s'; echo waiting; sleep 30\"],"
	    "\"retry\":{\"max_attempts\":3,\"initial_delay\":\"1ms\",\"on\":[\"lost\"]}},"
	    "{\"id\":\"last\",\"needs\":[\"slow\"],\"run\":[\"true\"]}]}",
	    marker, marker);
}

/*
 * Starts `run` of cli_crash_workflow on @state and kills it with SIGKILL once "slow" runs;
 * with @check_lock, first checks that a second runner is refused and a reader is not.
 * Returns the run id.
 */
static gchar *
cli_run_and_kill(const gchar *state, const gchar *wf, gboolean check_lock)
{
	g_autofree gchar *log_dir = g_build_filename(state, "logs", NULL);
	const gchar *argv[] = {g_getenv("ARK_CLI"), "run", "--state-dir", state, "-q", wf, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) runner = NULL;
	g_autoptr(GDir) runs = NULL;
	gchar *run_id = NULL;

	runner = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
	g_assert_no_error(error);
	/* "slow" runs once its first attempt has a log file (logs/RUN/TASK/attempt-N.log), made
	 * with its first output */
	for (guint i = 0; i < 3000 && run_id == NULL; i++) {
		const gchar *name;
		g_usleep(10000);
		g_clear_pointer(&runs, g_dir_close);
		runs = g_dir_open(log_dir, 0, NULL);
		while (runs != NULL && (name = g_dir_read_name(runs)) != NULL) {
			g_autofree gchar *slow =
			    g_build_filename(log_dir, name, "slow", "attempt-1.log", NULL);
			if (g_file_test(slow, G_FILE_TEST_EXISTS))
				run_id = g_strdup(name);
		}
	}
	g_assert_nonnull(run_id);
	if (check_lock) {
		/* a second process on the same state dir is refused while the runner holds it */
		g_autoptr(CliResult) busy = cli_run("run", "--state-dir", state, "-q", wf, NULL);
		g_autoptr(CliResult) st = NULL;
		g_assert_cmpint(busy->status, ==, 3);
		cli_assert_contains(busy->err, "in use by process");
		/* while reading commands work beside it */
		st = cli_run("status", "--state-dir", state, "--json", NULL);
		g_assert_cmpint(st->status, ==, 0);
		cli_assert_contains(st->out, "\"crashy\"");
	}
	g_subprocess_send_signal(runner, SIGKILL);
	g_subprocess_wait(runner, NULL, &error);
	g_assert_no_error(error);
	return run_id;
}

static void
test_resume_after_kill(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *crash = cli_crash_workflow(dir);
	g_autofree gchar *wf = cli_write(dir, "crash.json", crash);
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(CliResult) list = NULL;
	g_autoptr(CliResult) resumed = NULL;
	g_autoptr(CliResult) again = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree gchar *run_id = cli_run_and_kill(state, wf, TRUE);
	JsonArray *tasks;

	/* the run is unfinished on record, and readable */
	list = cli_run("status", "--state-dir", state, "--json", NULL);
	g_assert_cmpint(list->status, ==, 0);
	cli_assert_contains(list->out, "\"running\"");

	resumed = cli_run("run", "--state-dir", state, "--json", "-q", "--resume", run_id, NULL);
	g_assert_cmpint(resumed->status, ==, 0);
	json_parser_load_from_data(parser, resumed->out, -1, &error);
	g_assert_no_error(error);
	tasks = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
					     "tasks");
	for (guint i = 0; i < json_array_get_length(tasks); i++) {
		JsonObject *t = json_array_get_object_element(tasks, i);
		const gchar *id = json_object_get_string_member(t, "id");
		JsonArray *history = json_object_get_array_member(t, "history");
		g_assert_cmpstr(json_object_get_string_member(t, "state"), ==, "succeeded");
		if (g_strcmp0(id, "slow") == 0) {
			/* lost, then run again */
			g_assert_cmpuint(json_array_get_length(history), ==, 2);
			g_assert_cmpstr(json_object_get_string_member(
					    json_array_get_object_element(history, 0), "status"),
					==, "lost");
		} else {
			g_assert_cmpuint(json_array_get_length(history), ==, 1);
		}
	}
	/* resuming again only reports */
	again = cli_run("run", "--state-dir", state, "-q", "--resume", run_id, NULL);
	g_assert_cmpint(again->status, ==, 0);
	cli_assert_contains(again->out, "succeeded");
	ark_test_rmdir(dir);
}

static void
test_cancel_unfinished(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *crash = cli_crash_workflow(dir);
	g_autofree gchar *wf = cli_write(dir, "crash.json", crash);
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autofree gchar *run_id = cli_run_and_kill(state, wf, FALSE);
	g_autoptr(CliResult) cancel =
	    cli_run("cancel", "--state-dir", state, "-q", "--reason", "wrong branch", run_id, NULL);
	g_autoptr(CliResult) again = cli_run("cancel", "--state-dir", state, run_id, NULL);
	g_autoptr(CliResult) report = cli_run("status", "--state-dir", state, "--json", run_id, NULL);
	g_autoptr(CliResult) unknown = cli_run("cancel", "--state-dir", state, "no-such-run", NULL);

	g_assert_cmpint(cancel->status, ==, 0);
	/* nothing was started again: the lost attempt is the only one, the rest cancelled */
	cli_assert_contains(report->out, "\"state\":\"cancelled\",\"policy\"");
	cli_assert_contains(report->out, "wrong branch (by ");
	cli_assert_contains(report->out, "\"id\":\"last\",\"state\":\"cancelled\"");
	cli_assert_contains(report->out, "\"history\":[{\"number\":1,\"status\":\"lost\"");
	g_assert_null(strstr(report->out, "\"number\":2"));
	/* once finished, a cancel is a clear error */
	g_assert_cmpint(again->status, ==, 2);
	cli_assert_contains(again->err, "already cancelled");
	g_assert_cmpint(unknown->status, ==, 2);
	ark_test_rmdir(dir);
}

/* a full disk (a file size limit) stops the run at its last commit; a resume finishes it */
static void
test_disk_full(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *state = g_build_filename(dir, "state", NULL);
	g_autoptr(GString) json = g_string_new("{\"name\":\"chain\",\"defaults\":{\"retry\":"
					       "{\"max_attempts\":3,\"initial_delay\":\"1ms\","
					       "\"on\":[\"lost\"]}},\"tasks\":[");
	g_autofree gchar *wf = NULL;
	g_autofree gchar *script = NULL;
	g_autoptr(CliResult) full = NULL;
	g_autoptr(CliResult) list = NULL;
	g_autoptr(CliResult) resumed = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	const gchar *run_id;

	/* a chain commits once per task: the WAL grows past the limit long before the end */
	g_string_append(json, "{\"id\":\"t0\",\"executor\":\"thread\",\"function\":\"noop\"}");
	for (guint i = 1; i < 3000; i++)
		g_string_append_printf(json,
				       ",{\"id\":\"t%u\",\"needs\":[\"t%u\"],\"executor\":\"thread\","
				       "\"function\":\"noop\"}",
				       i, i - 1);
	g_string_append(json, "]}");
	wf = cli_write(dir, "chain.json", json->str);
	/* ulimit -f counts 512-byte blocks in sh: 2 MB */
	script = g_strdup_printf("ulimit -f 4000 && exec \"$ARK_CLI\" run --state-dir '%s' -q '%s'",
				 state, wf);
	{
		const gchar *argv[] = {"/bin/sh", "-c", script, NULL};
		g_autoptr(GSubprocess) proc = g_subprocess_newv(
		    argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
		full = g_new0(CliResult, 1);
		g_assert_no_error(error);
		g_subprocess_communicate_utf8(proc, NULL, NULL, &full->out, &full->err, &error);
		g_assert_no_error(error);
		g_assert_true(g_subprocess_get_if_exited(proc));
		full->status = g_subprocess_get_exit_status(proc);
	}
	g_assert_cmpint(full->status, ==, 3);
	cli_assert_contains(full->err, "File too large");
	cli_assert_contains(full->err, "--resume");

	/* what was committed is there, and the run continues once the disk has room */
	list = cli_run("status", "--state-dir", state, "--json", NULL);
	g_assert_cmpint(list->status, ==, 0);
	json_parser_load_from_data(parser, list->out, -1, &error);
	g_assert_no_error(error);
	run_id = json_object_get_string_member(
	    json_array_get_object_element(
		json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
					     "runs"),
		0),
	    "id");
	resumed = cli_run("run", "--state-dir", state, "-q", "--resume", run_id, NULL);
	g_assert_cmpint(resumed->status, ==, 0);
	cli_assert_contains(resumed->out, "3000 succeeded");
	ark_test_rmdir(dir);
}

static void
test_dlq(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *wf = cli_write(
	    dir, "dlq.json",
	    "{\"name\":\"dlq\",\"tasks\":["
	    "{\"id\":\"doomed\",\"run\":[\"sh\",\"-c\",\"echo trying; exit 7\"],"
	    "\"retry\":{\"max_attempts\":2,\"initial_delay\":\"1ms\"}},"
	    "{\"id\":\"after\",\"needs\":[\"doomed\"],\"run\":[\"true\"]}]}");
	g_autoptr(CliResult) run = cli_run("run", "--state-dir", dir, "--json", "-q", wf, NULL);
	g_autoptr(CliResult) empty_state = NULL;
	g_autoptr(CliResult) list = NULL;
	g_autoptr(CliResult) show = NULL;
	g_autoptr(CliResult) bad = NULL;
	g_autoptr(CliResult) bad_json = NULL;
	g_autoptr(CliResult) replay = NULL;
	g_autoptr(CliResult) after = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	const gchar *run_id;

	g_assert_cmpint(run->status, ==, 1);
	json_parser_load_from_data(parser, run->out, -1, &error);
	g_assert_no_error(error);
	run_id = json_object_get_string_member(
	    json_object_get_object_member(json_node_get_object(json_parser_get_root(parser)), "run"),
	    "id");

	list = cli_run("dlq", "list", "--state-dir", dir, NULL);
	g_assert_cmpint(list->status, ==, 0);
	cli_assert_contains(list->out, run_id);
	cli_assert_contains(list->out, "doomed");
	cli_assert_contains(list->out, "gave up after 2 attempts");

	show = cli_run("dlq", "show", "--state-dir", dir, "--json", run_id, "doomed", NULL);
	g_assert_cmpint(show->status, ==, 0);
	cli_assert_contains(show->out, "\"state\" : \"dead\"");
	cli_assert_contains(show->out, "exit 7");
	cli_assert_contains(show->out, "\"number\" : 2");

	/* unknown task, malformed overrides: exit 2, nothing changes */
	bad = cli_run("dlq", "replay", "--state-dir", dir, run_id, "nope", NULL);
	g_assert_cmpint(bad->status, ==, 2);
	bad_json = cli_run("dlq", "replay", "--state-dir", dir, "--set", "run=[oops", run_id,
			   "doomed", NULL);
	g_assert_cmpint(bad_json->status, ==, 2);
	cli_assert_contains(bad_json->err, "not JSON");
	g_clear_pointer(&bad, cli_result_free);
	bad = cli_run("dlq", "replay", "--state-dir", dir, "--set", "needs=[]", run_id, "doomed",
		      NULL);
	g_assert_cmpint(bad->status, ==, 2);

	/* replay with the command fixed: same run, succeeds, the skipped child runs */
	replay = cli_run("dlq", "replay", "--state-dir", dir, "-q", "--set", "run=[\"true\"]",
			 run_id, "doomed", NULL);
	g_assert_cmpint(replay->status, ==, 0);
	cli_assert_contains(replay->out, "succeeded");
	after = cli_run("dlq", "list", "--state-dir", dir, "--json", NULL);
	g_assert_cmpint(after->status, ==, 0);
	cli_assert_contains(after->out, "\"dead\" : [");
	g_assert_null(strstr(after->out, "doomed"));

	empty_state = cli_run("dlq", "frobnicate", "--state-dir", dir, NULL);
	g_assert_cmpint(empty_state->status, ==, 2);
	ark_test_rmdir(dir);
}

static void
test_idempotency_key(void)
{
	g_autofree gchar *dir = ark_test_mkdtemp();
	g_autofree gchar *wf =
	    cli_write(dir, "i.json", "{\"name\":\"i\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}");
	g_autoptr(CliResult) first =
	    cli_run("run", "--state-dir", dir, "--json", "--idempotency-key", "k1", wf, NULL);
	g_autoptr(CliResult) second =
	    cli_run("run", "--state-dir", dir, "--json", "--idempotency-key", "k1", wf, NULL);
	g_autoptr(CliResult) list = cli_run("status", "--state-dir", dir, "--json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(first->status, ==, 0);
	g_assert_cmpint(second->status, ==, 0);
	/* the same report, one run */
	g_assert_cmpstr(first->out, ==, second->out);
	json_parser_load_from_data(parser, list->out, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(
			     json_node_get_object(json_parser_get_root(parser)), "runs")),
			 ==, 1);
	ark_test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/cli/example", test_example_runs);
	g_test_add_func("/ark/cli/json-report", test_json_report);
	g_test_add_func("/ark/cli/failed-run", test_failed_run);
	g_test_add_func("/ark/cli/validate", test_validate);
	g_test_add_func("/ark/cli/hostile-input", test_hostile_input);
	g_test_add_func("/ark/cli/plugins", test_plugins);
	g_test_add_func("/ark/cli/usage", test_usage_errors);
	g_test_add_func("/ark/cli/policy", test_policy_option);
	g_test_add_func("/ark/cli/resume-after-kill", test_resume_after_kill);
	g_test_add_func("/ark/cli/cancel-unfinished", test_cancel_unfinished);
	g_test_add_func("/ark/cli/dlq", test_dlq);
	g_test_add_func("/ark/cli/disk-full", test_disk_full);
	g_test_add_func("/ark/cli/idempotency-key", test_idempotency_key);
	return g_test_run();
}
