/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <sys/stat.h>

#include <arkitect/arkitect-core.h>

#include "ark-cli-audit.h"
#include "ark-cli-client.h"
#include "ark-cli-mcp.h"
#include "ark-cli-private.h"
#include "ark-cli-progress.h"
#include "ark-cli-simulate.h"

/* lines of a failed task's log shown in the summary */
#define ARK_CLI_LOG_TAIL_LINES 10

typedef struct {
	gchar *state_dir;
	gboolean ephemeral;
	gboolean json;
	gboolean quiet;
	gboolean verbose;
	gchar *policy;
	gint slots;
	gint limit;
	gchar *resume;		/* run --resume RUN_ID */
	gchar *idempotency_key; /* run --idempotency-key KEY */
	gchar **set;		/* dlq replay --set MEMBER=JSON */
	gchar *timeout;		/* dlq replay --timeout DURATION */
	gchar *reason;		/* cancel --reason TEXT */
} ArkCliOptions;

typedef struct {
	GMainLoop *loop;
	ArkEngine *engine;
	gchar *run_id;
	gboolean finished;
	ArkRunState state;
	guint interrupts;
} ArkCliRunContext;

static void
ark_cli_options_clear(ArkCliOptions *opts)
{
	g_free(opts->state_dir);
	g_free(opts->policy);
	g_free(opts->resume);
	g_free(opts->idempotency_key);
	g_strfreev(opts->set);
	g_free(opts->timeout);
	g_free(opts->reason);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkCliOptions, ark_cli_options_clear)

void
ark_cli_print_error(const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	/* TRANSLATORS: prefix of every error the command line prints */
	g_printerr(_("arkitect: %s\n"), msg);
}

/* state dir: --state-dir, else $XDG_STATE_HOME/arkitect (~/.local/state/arkitect) */
static gchar *
ark_cli_state_dir(ArkCliOptions *opts, GError **error)
{
	g_autofree gchar *dir = ark_cli_client_state_dir_path(opts->state_dir);

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    _("cannot create state directory %s: %s"), dir, g_strerror(errno));
		return NULL;
	}
	return g_steal_pointer(&dir);
}

static ArkPluginLoader *
ark_cli_load_plugins(ArkCliOptions *opts, GError **error)
{
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(ArkPluginLoader) loader = ark_plugin_loader_new(registry);
	GPtrArray *refused;

	if (!ark_plugin_loader_load(loader, NULL, error))
		return NULL;
	refused = ark_plugin_loader_get_refused(loader);
	if (opts->verbose) {
		for (guint i = 0; i < refused->len; i++) {
			ArkPluginRefusal *r = g_ptr_array_index(refused, i);
			ark_cli_print_error(_("plugin %s refused: %s"), r->path, r->error->message);
		}
	}
	return g_steal_pointer(&loader);
}

gchar *
ark_cli_read_file(const gchar *path, gsize *out_len, GError **error)
{
	g_autoptr(GMappedFile) unused = NULL;
	gchar *contents = NULL;
	GStatBuf st;

	if (g_strcmp0(path, "-") == 0) {
		g_autoptr(GString) buf = g_string_new(NULL);
		gchar chunk[65536];
		gsize n;
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
			g_string_append_len(buf, chunk, n);
			if (buf->len > ARK_WORKFLOW_MAX_BYTES) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
					    _("standard input is larger than %u bytes"),
					    ARK_WORKFLOW_MAX_BYTES);
				return NULL;
			}
		}
		*out_len = buf->len;
		return g_string_free(g_steal_pointer(&buf), FALSE);
	}
	if (g_stat(path, &st) != 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, _("cannot read %s: %s"), path,
			    g_strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    _("%s is not a regular file"), path);
		return NULL;
	}
	if (st.st_size > ARK_WORKFLOW_MAX_BYTES) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    _("%s is larger than %u bytes"), path, ARK_WORKFLOW_MAX_BYTES);
		return NULL;
	}
	if (!g_file_get_contents(path, &contents, out_len, error))
		return NULL;
	return contents;
}

void
ark_cli_print_problems(const gchar *filename, GPtrArray *problems, gboolean json)
{
	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) root = NULL;
		g_autofree gchar *out = NULL;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "valid");
		json_builder_add_boolean_value(b, FALSE);
		json_builder_set_member_name(b, "problems");
		json_builder_begin_array(b);
		for (guint i = 0; i < problems->len; i++) {
			ArkProblem *p = g_ptr_array_index(problems, i);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "path");
			json_builder_add_string_value(b, p->path != NULL ? p->path : "");
			json_builder_set_member_name(b, "line");
			json_builder_add_int_value(b, p->line);
			json_builder_set_member_name(b, "column");
			json_builder_add_int_value(b, p->column);
			json_builder_set_member_name(b, "message");
			json_builder_add_string_value(b, p->message);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		out = json_to_string(root, TRUE);
		g_print("%s\n", out);
		return;
	}
	for (guint i = 0; i < problems->len; i++) {
		g_autofree gchar *line = ark_problem_to_string(problems->pdata[i], filename);
		g_printerr("%s\n", line);
	}
	g_printerr(g_dngettext(GETTEXT_PACKAGE, "%s: %u problem\n", "%s: %u problems\n",
			       problems->len),
		   filename, problems->len);
}

/* parses and checks @path; returns the workflow, or NULL after printing why (exit code 2) */
static ArkWorkflow *
ark_cli_load_workflow(const gchar *path, ArkEngine *engine, const gchar *policy, gboolean json,
		      gint *out_exit)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	gsize len = 0;

	*out_exit = ARK_CLI_EXIT_INVALID;
	data = ark_cli_read_file(path, &len, &error);
	if (data == NULL) {
		ark_cli_print_error("%s", error->message);
		return NULL;
	}
	workflow = ark_workflow_parse(data, (gssize)len, &problems);
	if (workflow == NULL) {
		ark_cli_print_problems(path, problems, json);
		return NULL;
	}
	if (engine != NULL) {
		g_ptr_array_set_size(problems, 0);
		if (!ark_engine_check_workflow(engine, workflow, policy, problems)) {
			ark_cli_print_problems(path, problems, json);
			return NULL;
		}
	}
	*out_exit = ARK_CLI_EXIT_OK;
	return g_steal_pointer(&workflow);
}

/* reports -------------------------------------------------------------------------------------- */

void
ark_cli_json_add_time(JsonBuilder *b, const gchar *member, ArkTimestamp ts)
{
	g_autofree gchar *str = ark_timestamp_format(ts);
	json_builder_set_member_name(b, member);
	if (str != NULL)
		json_builder_add_string_value(b, str);
	else
		json_builder_add_null_value(b);
}

void
ark_cli_json_add_string(JsonBuilder *b, const gchar *member, const gchar *value)
{
	json_builder_set_member_name(b, member);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static gint64
ark_cli_millis(ArkTimestamp start, ArkTimestamp end)
{
	if (start == 0 || end == 0 || end < start)
		return 0;
	return (end - start) / 1000;
}

/* the last attempt of each task, by task id */
static GHashTable *
ark_cli_last_attempts(GPtrArray *attempts)
{
	GHashTable *last = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		ArkAttemptRecord *prev = g_hash_table_lookup(last, a->task_id);
		if (prev == NULL || a->number > prev->number)
			g_hash_table_insert(last, a->task_id, a);
	}
	return last;
}

/*
 * The --json report is written directly, one task per line: with json-glib, building a node tree
 * per task and printing it cost ~100,000 instructions per task, 4x the run of a noop task it
 * reports on. The output is the same JSON (strings escaped by ark_json_append_string()).
 */

static void
ark_cli_report_key(GString *out, const gchar *key)
{
	if (out->len > 0 && out->str[out->len - 1] != '{')
		g_string_append_c(out, ',');
	g_string_append_c(out, '"');
	g_string_append(out, key);
	g_string_append(out, "\":");
}

static void
ark_cli_report_string(GString *out, const gchar *key, const gchar *value)
{
	ark_cli_report_key(out, key);
	if (value != NULL)
		ark_json_append_string(out, value);
	else
		g_string_append(out, "null");
}

static void
ark_cli_report_int(GString *out, const gchar *key, gint64 value)
{
	ark_cli_report_key(out, key);
	g_string_append_printf(out, "%" G_GINT64_FORMAT, value);
}

/* an int, or null when @present is FALSE */
static void
ark_cli_report_int_or_null(GString *out, const gchar *key, gboolean present, gint64 value)
{
	if (present)
		ark_cli_report_int(out, key, value);
	else
		ark_cli_report_string(out, key, NULL);
}

/* ark_timestamp_format()'s text, or null for 0 */
static void
ark_cli_report_time(GString *out, const gchar *key, ArkTimestamp ts)
{
	if (ts == 0) {
		ark_cli_report_string(out, key, NULL);
		return;
	}
	ark_cli_report_key(out, key);
	g_string_append_c(out, '"');
	ark_timestamp_append(out, ts);
	g_string_append_c(out, '"');
}

static void
ark_cli_report_attempt(GString *out, const ArkAttemptRecord *a)
{
	g_string_append_c(out, '{');
	ark_cli_report_int(out, "number", a->number);
	ark_cli_report_string(out, "status", ark_attempt_status_to_string(a->status));
	ark_cli_report_string(out, "executor", a->executor);
	ark_cli_report_string(out, "holder", a->holder);
	ark_cli_report_time(out, "started_at", a->started_at);
	ark_cli_report_time(out, "finished_at", a->finished_at);
	ark_cli_report_int_or_null(out, "exit_code", a->exit_code >= 0, a->exit_code);
	ark_cli_report_int_or_null(out, "signal", a->signal > 0, a->signal);
	ark_cli_report_string(out, "error", a->error);
	ark_cli_report_string(out, "log", a->log_path);
	g_string_append_c(out, '}');
}

/*
 * The run's report as JSON, one task per line. Streamed: a 100,000-task report never exists as
 * one JSON text in memory, only one task's line at a time.
 */
static void
ark_cli_print_json_report(ArkRunRecord *run, GPtrArray *tasks, GPtrArray *attempts)
{
	g_autoptr(GString) out = g_string_sized_new(1024);
	guint counts[ARK_TASK_STATE_LAST] = {0};
	guint next_attempt = 0;

	g_string_append_c(out, '{');
	ark_cli_report_string(out, "id", run->id);
	ark_cli_report_string(out, "workflow", run->workflow_name);
	ark_cli_report_string(out, "state", ark_run_state_to_string(run->state));
	ark_cli_report_string(out, "policy", run->policy);
	ark_cli_report_string(out, "reason", run->reason);
	ark_cli_report_string(out, "cancelled_by", run->cancelled_by);
	ark_cli_report_time(out, "created_at", run->created_at);
	ark_cli_report_time(out, "started_at", run->started_at);
	ark_cli_report_time(out, "finished_at", run->finished_at);
	ark_cli_report_int(out, "duration_ms", ark_cli_millis(run->created_at, run->finished_at));
	g_string_append_c(out, '}');
	fputs("{\n  \"run\" : ", stdout);
	fwrite(out->str, 1, out->len, stdout);
	fputs(",\n  \"tasks\" : [", stdout);

	/* attempts come ordered by task index, then number, like the tasks: a task's history is
	 * the run of attempts with its id, and its last attempt the highest number among them */
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		ArkAttemptRecord *a = NULL;
		guint first = next_attempt;

		while (next_attempt < attempts->len) {
			ArkAttemptRecord *h = g_ptr_array_index(attempts, next_attempt);
			if (g_strcmp0(h->task_id, t->task_id) != 0)
				break;
			if (a == NULL || h->number > a->number)
				a = h;
			next_attempt++;
		}
		counts[t->state]++;
		g_string_truncate(out, 0);
		g_string_append_c(out, '{');
		ark_cli_report_string(out, "id", t->task_id);
		ark_cli_report_string(out, "state", ark_task_state_to_string(t->state));
		ark_cli_report_int(out, "attempts", t->attempts);
		ark_cli_report_int_or_null(out, "exit_code", a != NULL && a->exit_code >= 0,
					   a != NULL ? a->exit_code : 0);
		ark_cli_report_int_or_null(out, "signal", a != NULL && a->signal > 0,
					   a != NULL ? a->signal : 0);
		ark_cli_report_time(out, "started_at", t->started_at);
		ark_cli_report_time(out, "finished_at", t->finished_at);
		ark_cli_report_int(out, "duration_ms", ark_cli_millis(t->started_at, t->finished_at));
		ark_cli_report_string(out, "reason", t->reason);
		ark_cli_report_string(out, "cancelled_by", t->cancelled_by);
		ark_cli_report_string(out, "log", a != NULL ? a->log_path : NULL);
		ark_cli_report_key(out, "history");
		g_string_append_c(out, '[');
		for (guint h = first; h < next_attempt; h++) {
			if (h > first)
				g_string_append_c(out, ',');
			ark_cli_report_attempt(out, g_ptr_array_index(attempts, h));
		}
		g_string_append(out, "]}");
		fputs(i > 0 ? ",\n    " : "\n    ", stdout);
		fwrite(out->str, 1, out->len, stdout);
	}
	fputs("\n  ],\n  \"counts\" : ", stdout);
	g_string_truncate(out, 0);
	g_string_append_c(out, '{');
	for (guint st = 0; st < ARK_TASK_STATE_LAST; st++)
		ark_cli_report_int(out, ark_task_state_to_string(st), counts[st]);
	g_string_append_c(out, '}');
	fwrite(out->str, 1, out->len, stdout);
	fputs("\n}\n", stdout);
	fflush(stdout);
}

/* one attempt as a JSON object, for `dlq show --json` */
static void
ark_cli_json_add_attempt(JsonBuilder *b, ArkAttemptRecord *a)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "number");
	json_builder_add_int_value(b, a->number);
	ark_cli_json_add_string(b, "status", ark_attempt_status_to_string(a->status));
	ark_cli_json_add_string(b, "executor", a->executor);
	ark_cli_json_add_string(b, "holder", a->holder);
	ark_cli_json_add_time(b, "started_at", a->started_at);
	ark_cli_json_add_time(b, "finished_at", a->finished_at);
	json_builder_set_member_name(b, "exit_code");
	if (a->exit_code >= 0)
		json_builder_add_int_value(b, a->exit_code);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "signal");
	if (a->signal > 0)
		json_builder_add_int_value(b, a->signal);
	else
		json_builder_add_null_value(b);
	ark_cli_json_add_string(b, "error", a->error);
	ark_cli_json_add_string(b, "log", a->log_path);
	json_builder_end_object(b);
}

gchar *
ark_cli_terminal_safe(const gchar *text)
{
	gchar *safe = g_utf8_make_valid(text, -1);
	for (gchar *p = safe; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 && *p != '\t')
			*p = '?';
	}
	return safe;
}

static void
ark_cli_print_log_tail(const gchar *path)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	g_auto(GStrv) lines = NULL;
	guint n, first;

	if (path == NULL || !g_file_get_contents(path, &contents, &len, NULL) || len == 0)
		return;
	lines = g_strsplit(contents, "\n", -1);
	n = g_strv_length(lines);
	if (n > 0 && lines[n - 1][0] == '\0')
		n--;
	first = n > ARK_CLI_LOG_TAIL_LINES ? n - ARK_CLI_LOG_TAIL_LINES : 0;
	for (guint i = first; i < n; i++) {
		/* the log is the task's output: never let it drive the terminal */
		g_autofree gchar *safe = ark_cli_terminal_safe(lines[i]);
		g_print("    | %s\n", safe);
	}
}

/* whether the run's workflow let @task_id fail without failing the run */
static gboolean
ark_cli_failure_allowed(ArkWorkflow *workflow, const gchar *task_id)
{
	const ArkTaskSpec *spec;
	if (workflow == NULL)
		return FALSE;
	spec = ark_workflow_lookup_task(workflow, task_id);
	return spec != NULL && spec->allow_failure;
}

static void
ark_cli_print_table(ArkRunRecord *run, GPtrArray *tasks, GPtrArray *attempts, gboolean color,
		    gboolean ephemeral)
{
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GHashTable) last = ark_cli_last_attempts(attempts);
	guint counts[ARK_TASK_STATE_LAST] = {0};
	guint id_width = 4;
	gboolean show_rows = tasks->len <= 200;
	g_autoptr(GString) summary = g_string_new(NULL);
	g_autofree gchar *took = NULL;

	if (run->definition != NULL) {
		g_autoptr(GPtrArray) problems = NULL;
		workflow = ark_workflow_parse(run->definition, -1, &problems);
	}
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		id_width = MAX(id_width, MIN(g_utf8_strlen(t->task_id, -1), 40));
		counts[t->state]++;
	}
	if (show_rows) {
		/* TRANSLATORS: column headings of the summary table */
		g_print("%-*s  %-10s  %8s  %4s  %9s\n", id_width, _("TASK"), _("STATE"),
			_("ATTEMPTS"), _("EXIT"), _("DURATION"));
		for (guint i = 0; i < tasks->len; i++) {
			ArkTaskRecord *t = g_ptr_array_index(tasks, i);
			ArkAttemptRecord *a = g_hash_table_lookup(last, t->task_id);
			g_autofree gchar *exit_str = NULL;
			g_autofree gchar *dur = NULL;
			const gchar *on = "";
			const gchar *off = "";
			if (a != NULL && a->exit_code >= 0)
				exit_str = g_strdup_printf("%d", a->exit_code);
			else if (a != NULL && a->signal > 0)
				exit_str = g_strdup_printf("sig%d", a->signal);
			else
				exit_str = g_strdup("-");
			if (t->started_at != 0 && t->finished_at != 0)
				dur = ark_cli_format_duration(t->finished_at - t->started_at);
			else
				dur = g_strdup("-");
			if (color) {
				off = "\033[0m";
				on = t->state == ARK_TASK_STATE_SUCCEEDED ? "\033[32m"
				     : t->state == ARK_TASK_STATE_FAILED ||
					     t->state == ARK_TASK_STATE_DEAD
					 ? "\033[31m"
					 : "\033[33m";
			}
			g_print("%-*s  %s%-10s%s  %8u  %4s  %9s\n", id_width, t->task_id, on,
				ark_task_state_to_string(t->state), off, t->attempts, exit_str,
				dur);
		}
	}
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		ArkAttemptRecord *a = g_hash_table_lookup(last, t->task_id);
		if (t->state != ARK_TASK_STATE_FAILED && t->state != ARK_TASK_STATE_DEAD)
			continue;
		g_print("\n");
		if (ark_cli_failure_allowed(workflow, t->task_id)) {
			/* TRANSLATORS: a failed task that was allowed to fail: id and why */
			g_print(_("%s failed (allowed to fail): %s\n"), t->task_id,
				a != NULL && a->error != NULL ? a->error
				: t->reason != NULL	      ? t->reason
							      : _("unknown reason"));
		} else {
			/* TRANSLATORS: a failed task in the summary: id and why */
			g_print(_("%s failed: %s\n"), t->task_id,
				a != NULL && a->error != NULL ? a->error
				: t->reason != NULL	      ? t->reason
							      : _("unknown reason"));
		}
		if (a != NULL && a->log_path != NULL && ephemeral) {
			ark_cli_print_log_tail(a->log_path);
		} else if (a != NULL && a->log_path != NULL) {
			/* TRANSLATORS: where the output of a failed task is */
			g_print(_("  log: %s\n"), a->log_path);
			ark_cli_print_log_tail(a->log_path);
		}
	}
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (counts[s] == 0)
			continue;
		if (summary->len > 0)
			g_string_append(summary, ", ");
		g_string_append_printf(summary, "%u %s", counts[s], ark_task_state_to_string(s));
	}
	took = ark_cli_format_duration(run->finished_at - run->created_at);
	g_print("\n");
	/* TRANSLATORS: the last line of a run: run id, its final state, how long it took and the
	 * task counts, e.g. "3 succeeded, 1 failed" */
	g_print(_("run %s %s in %s: %s\n"), run->id, ark_run_state_to_string(run->state), took,
		summary->str);
}

/* the exit status for a failed lookup of a run: an unknown id is the user's input, anything
 * else the environment's */
static gint
ark_cli_lookup_exit(const GError *error)
{
	return g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND) ? ARK_CLI_EXIT_INVALID
								       : ARK_CLI_EXIT_ENVIRONMENT;
}

/* commands that need the state directory say so under --ephemeral; TRUE if they can go on */
static gboolean
ark_cli_needs_state_dir(ArkCliOptions *opts, const gchar *command)
{
	if (!opts->ephemeral)
		return TRUE;
	/* TRANSLATORS: %s is a command or option, e.g. "status" or "--resume" */
	ark_cli_print_error(_("%s reads the state directory; --ephemeral has none"), command);
	return FALSE;
}

static gint
ark_cli_report(ArkStore *store, const gchar *run_id, ArkCliOptions *opts)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;

	run = ark_store_get_run(store, run_id, &error);
	if (run == NULL) {
		ark_cli_print_error("%s", error->message);
		return ark_cli_lookup_exit(error);
	}
	tasks = ark_store_list_tasks(store, run_id, &error);
	if (tasks == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	attempts = ark_store_list_attempts(store, run_id, NULL, &error);
	if (attempts == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (opts->json)
		ark_cli_print_json_report(run, tasks, attempts);
	else
		ark_cli_print_table(run, tasks, attempts, ark_cli_progress_use_color(stdout),
				    opts->ephemeral);
	switch (run->state) {
	case ARK_RUN_STATE_SUCCEEDED:
		return ARK_CLI_EXIT_OK;
	case ARK_RUN_STATE_CANCELLED:
		return ARK_CLI_EXIT_INTERRUPTED;
	default:
		return ARK_CLI_EXIT_RUN_FAILED;
	}
}

/* stores --------------------------------------------------------------------------------------- */

/* @read_only: for commands that only look (status, dlq list/show); they work beside a
 * running `arkitect run`, which holds the state directory's lock */
static ArkStore *
ark_cli_open_store(ArkRegistry *registry, ArkCliOptions *opts, gboolean read_only,
		   gchar **out_state_dir, GError **error)
{
	g_autoptr(ArkStore) store = NULL;
	g_autofree gchar *state_dir = NULL;
	g_autoptr(GError) local_error = NULL;

	if (opts->ephemeral) {
		/* logs still need a home while the command runs */
		state_dir = g_dir_make_tmp("arkitect-XXXXXX", error);
		if (state_dir == NULL)
			return NULL;
		store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "memory", error);
	} else {
		state_dir = ark_cli_state_dir(opts, error);
		if (state_dir == NULL)
			return NULL;
		store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", error);
		if (store != NULL && read_only &&
		    g_object_class_find_property(G_OBJECT_GET_CLASS(store), "read-only") != NULL)
			g_object_set(store, "read-only", TRUE, NULL);
	}
	if (store == NULL)
		return NULL;
	if (!ark_store_open(store, state_dir, &local_error)) {
		if (!read_only || !g_error_matches(local_error, ARK_ERROR, ARK_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local_error));
			return NULL;
		}
		/* nothing was ever run here: to a reader that is an empty store */
		g_clear_object(&store);
		store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "memory", error);
		if (store == NULL || !ark_store_open(store, NULL, error))
			return NULL;
	}
	*out_state_dir = g_steal_pointer(&state_dir);
	return g_steal_pointer(&store);
}

static void
ark_cli_remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;
	if (dir != NULL) {
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				ark_cli_remove_tree(child);
			else
				(void)g_unlink(child);
		}
	}
	(void)g_rmdir(path);
}

/* arkitect run --------------------------------------------------------------------------------- */

/* what run, run --resume and dlq replay share: plugins, the store and a started engine */
typedef struct {
	ArkPluginLoader *loader;
	ArkStore *store;
	ArkEngine *engine;
	gchar *state_dir;
	gboolean ephemeral;
} ArkCliSession;

static void
ark_cli_session_clear(ArkCliSession *s)
{
	g_clear_object(&s->engine);
	if (s->store != NULL)
		ark_store_close(s->store);
	g_clear_object(&s->store);
	if (s->ephemeral && s->state_dir != NULL)
		ark_cli_remove_tree(s->state_dir);
	g_clear_pointer(&s->state_dir, g_free);
	g_clear_object(&s->loader);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkCliSession, ark_cli_session_clear)

/* exit status for an error opening the state: a busy state dir is an environment problem too */
static gint
ark_cli_session_open(ArkCliSession *s, ArkCliOptions *opts, gboolean with_engine)
{
	g_autoptr(GError) error = NULL;

	s->loader = ark_cli_load_plugins(opts, &error);
	if (s->loader == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	s->ephemeral = opts->ephemeral;
	s->store = ark_cli_open_store(ark_plugin_loader_get_registry(s->loader), opts,
				      !with_engine, &s->state_dir, &error);
	if (s->store == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (!with_engine)
		return ARK_CLI_EXIT_OK;
	s->engine = ark_engine_new(ark_plugin_loader_get_registry(s->loader), s->store);
	ark_engine_set_state_dir(s->engine, s->state_dir);
	if (opts->slots > 0)
		ark_engine_set_executor_slots(s->engine, "process", (guint)opts->slots);
	if (!ark_engine_start(s->engine, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect mcp without a daemon (ark-cli-mcp.c): plugins, the store and a started engine on
 * the state directory, which it then holds */
gint
ark_cli_open_engine(const gchar *state_dir, gboolean ephemeral, ArkPluginLoader **out_loader,
		    ArkStore **out_store, ArkEngine **out_engine, gchar **out_state_dir)
{
	g_auto(ArkCliOptions) opts = {0};
	ArkCliSession s = {0};
	gint rc;

	opts.state_dir = g_strdup(state_dir);
	opts.ephemeral = ephemeral;
	rc = ark_cli_session_open(&s, &opts, TRUE);
	if (rc != ARK_CLI_EXIT_OK) {
		ark_cli_session_clear(&s);
		return rc;
	}
	*out_loader = s.loader;
	*out_store = s.store;
	*out_engine = s.engine;
	*out_state_dir = s.state_dir;
	return ARK_CLI_EXIT_OK;
}

static void
ark_cli_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state, gpointer user_data)
{
	ArkCliRunContext *ctx = user_data;
	if (g_strcmp0(run_id, ctx->run_id) != 0)
		return;
	ctx->finished = TRUE;
	ctx->state = (ArkRunState)state;
	g_main_loop_quit(ctx->loop);
}

static gboolean
ark_cli_interrupt_cb(gpointer user_data)
{
	ArkCliRunContext *ctx = user_data;
	g_autoptr(GError) error = NULL;

	ctx->interrupts++;
	if (ctx->interrupts == 1) {
		g_printerr("\n");
		/* TRANSLATORS: printed on the first Ctrl-C */
		ark_cli_print_error(_("interrupted: cancelling the run (press Ctrl-C again to "
				      "stop waiting)"));
		if (!ark_engine_cancel_run(ctx->engine, ctx->run_id, g_get_user_name(),
					   "interrupted by the user", &error))
			g_main_loop_quit(ctx->loop);
		return G_SOURCE_CONTINUE;
	}
	g_main_loop_quit(ctx->loop);
	return G_SOURCE_CONTINUE;
}

/* runs the main loop until the open run @run_id finishes, then prints its report */
static gint
ark_cli_wait_run(ArkCliSession *s, ArkCliOptions *opts, const gchar *run_id, guint n_tasks)
{
	g_autoptr(ArkCliProgress) progress = NULL;
	ArkCliRunContext ctx = {0};
	guint sigint_id, sigterm_id;

	ctx.run_id = (gchar *)run_id;
	ctx.loop = g_main_loop_new(NULL, FALSE);
	ctx.engine = s->engine;
	progress = ark_cli_progress_new(s->engine, run_id, n_tasks, stderr,
					opts->quiet || opts->json);
	g_signal_connect(s->engine, "run-finished", G_CALLBACK(ark_cli_run_finished_cb), &ctx);
	sigint_id = g_unix_signal_add(SIGINT, ark_cli_interrupt_cb, &ctx);
	sigterm_id = g_unix_signal_add(SIGTERM, ark_cli_interrupt_cb, &ctx);
	/* the run may have finished already (e.g. every task failed to start) */
	if (ark_engine_get_run_state(s->engine, run_id, NULL))
		g_main_loop_run(ctx.loop);
	else
		ctx.finished = TRUE;
	g_source_remove(sigint_id);
	g_source_remove(sigterm_id);
	ark_cli_progress_finish(progress);
	ark_engine_shutdown(s->engine);
	g_signal_handlers_disconnect_by_data(s->engine, &ctx);
	g_main_loop_unref(ctx.loop);

	if (!ctx.finished) {
		ark_cli_print_error(_("stopped waiting for run %s; continue it with "
				      "'arkitect run --resume %s'"),
				    run_id, run_id);
		return ARK_CLI_EXIT_INTERRUPTED;
	}
	if (ark_engine_get_storage_error(s->engine) != NULL) {
		/* what was committed is intact; the rest of the run waits for a resume */
		ark_cli_print_error(_("%s; run %s stopped at its last commit: free space or fix the "
				      "disk, then continue it with 'arkitect run --resume %s'"),
				    ark_engine_get_storage_error(s->engine)->message, run_id,
				    run_id);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	return ark_cli_report(s->store, run_id, opts);
}

/* runs left behind by a crash wait for a --resume: say so when a new run starts */
static void
ark_cli_hint_unfinished(ArkStore *store)
{
	ArkRunFilter filter = {
	    .state_mask = (1u << ARK_RUN_STATE_PENDING) | (1u << ARK_RUN_STATE_RUNNING),
	    .limit = 4,
	    .newest_first = TRUE,
	};
	g_autoptr(GPtrArray) runs = ark_store_list_runs(store, &filter, NULL);

	for (guint i = 0; runs != NULL && i < MIN(runs->len, 3); i++) {
		ArkRunRecord *r = g_ptr_array_index(runs, i);
		/* TRANSLATORS: a hint before a run starts: run id, workflow name, run id again */
		g_printerr(_("note: run %s (%s) did not finish; continue it with 'arkitect run "
			     "--resume %s'\n"),
			   r->id, r->workflow_name, r->id);
	}
}

static gint
ark_cli_cmd_run(ArkCliOptions *opts, const gchar *path)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autofree gchar *run_id = NULL;
	ArkSubmitOptions submit = {0};
	guint n_tasks;
	gint rc;

	rc = ark_cli_session_open(&s, opts, TRUE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	if (!opts->json && !opts->quiet)
		ark_cli_hint_unfinished(s.store);
	/* nothing in this command reads the event log back (no frontend runs here, the progress
	 * takes the engine's signal and the report reads records) and the ephemeral store goes
	 * with the command: it need not keep 100,000 events, 5 per task, until the report */
	if (opts->ephemeral &&
	    g_object_class_find_property(G_OBJECT_GET_CLASS(s.store), "max-events") != NULL)
		g_object_set(s.store, "max-events", (guint)1024, NULL);
	workflow = ark_cli_load_workflow(path, s.engine, opts->policy, opts->json, &rc);
	if (workflow == NULL)
		return rc;

	submit.policy = opts->policy;
	submit.submitter = g_get_user_name();
	submit.idempotency_key = opts->idempotency_key;
	run_id = ark_engine_submit(s.engine, workflow, &submit, &error);
	if (run_id == NULL) {
		ark_cli_print_error("%s", error->message);
		return g_error_matches(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT)
			   ? ARK_CLI_EXIT_INVALID
			   : ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (!ark_engine_get_run_state(s.engine, run_id, NULL)) {
		/* an idempotency key that was seen before: the run exists (perhaps finished) */
		ArkRunState state;
		g_autoptr(ArkRunRecord) rec = ark_store_get_run(s.store, run_id, NULL);
		state = rec != NULL ? rec->state : ARK_RUN_STATE_FAILED;
		if (!ark_run_state_is_terminal(state)) {
			ark_cli_print_error(_("run %s with this idempotency key exists and is "
					      "unfinished; continue it with 'arkitect run --resume "
					      "%s'"),
					    run_id, run_id);
			return ARK_CLI_EXIT_INVALID;
		}
		if (!opts->json && !opts->quiet)
			g_printerr(_("run %s: already submitted with this idempotency key\n"),
				   run_id);
		return ark_cli_report(s.store, run_id, opts);
	}
	if (!opts->json && !opts->quiet) {
		/* TRANSLATORS: printed when a run starts: run id, workflow name, task count */
		g_printerr(_("run %s: %s, %u tasks\n"), run_id, ark_workflow_get_name(workflow),
			   ark_workflow_get_n_tasks(workflow));
	}
	n_tasks = ark_workflow_get_n_tasks(workflow);
	/* the open run holds the workflow while it needs it: dropped here, the parsed tasks are
	 * freed when the run ends, before the report needs memory of its own */
	g_clear_pointer(&workflow, ark_workflow_unref);
	return ark_cli_wait_run(&s, opts, run_id, n_tasks);
}

/* how many tasks an open run has */
static guint
ark_cli_run_n_tasks(ArkEngine *engine, const gchar *run_id)
{
	guint counts[ARK_TASK_STATE_LAST] = {0};
	guint n = 0;

	if (ark_engine_get_task_counts(engine, run_id, counts)) {
		for (guint i = 0; i < ARK_TASK_STATE_LAST; i++)
			n += counts[i];
	}
	return n;
}

static gint
ark_cli_cmd_resume(ArkCliOptions *opts, const gchar *run_id)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	guint n_tasks;
	gint rc;

	if (!ark_cli_needs_state_dir(opts, "--resume"))
		return ARK_CLI_EXIT_INVALID;
	rc = ark_cli_session_open(&s, opts, TRUE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	if (!ark_engine_resume_run(s.engine, run_id, &error)) {
		/* resuming what already finished only reports it: a resume is safe to repeat */
		if (g_error_matches(error, ARK_ERROR, ARK_ERROR_EXISTS))
			return ark_cli_report(s.store, run_id, opts);
		ark_cli_print_error("%s", error->message);
		return ark_cli_lookup_exit(error);
	}
	n_tasks = ark_cli_run_n_tasks(s.engine, run_id);
	if (!opts->json && !opts->quiet) {
		/* TRANSLATORS: printed when a run is resumed: run id, task count */
		g_printerr(_("run %s: %u tasks, resumed\n"), run_id, n_tasks);
	}
	return ark_cli_wait_run(&s, opts, run_id, n_tasks);
}

/* arkitect validate ---------------------------------------------------------------------------- */

static gint
ark_cli_cmd_validate(ArkCliOptions *opts, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkPluginLoader) loader = NULL;
	g_autoptr(ArkEngine) engine = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	gint rc;

	loader = ark_cli_load_plugins(opts, &error);
	if (loader == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	engine = ark_engine_new(ark_plugin_loader_get_registry(loader), NULL);
	if (opts->policy != NULL)
		ark_engine_set_default_policy(engine, opts->policy);
	if (!ark_engine_start(engine, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_INVALID;
	}
	workflow = ark_cli_load_workflow(path, engine, NULL, opts->json, &rc);
	ark_engine_shutdown(engine);
	if (workflow == NULL)
		return rc;
	if (opts->json) {
		g_print("{\n  \"valid\" : true,\n  \"problems\" : [],\n  \"tasks\" : %u\n}\n",
			ark_workflow_get_n_tasks(workflow));
	} else {
		/* TRANSLATORS: validate succeeded: file name, workflow name, task count */
		g_print(_("%s: valid workflow '%s' with %u tasks\n"), path,
			ark_workflow_get_name(workflow), ark_workflow_get_n_tasks(workflow));
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect plugins ----------------------------------------------------------------------------- */

static gint
ark_cli_cmd_plugins(ArkCliOptions *opts)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkPluginLoader) loader = NULL;
	GPtrArray *plugins;
	GPtrArray *refused;
	ArkRegistry *registry;

	loader = ark_cli_load_plugins(opts, &error);
	if (loader == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	registry = ark_plugin_loader_get_registry(loader);
	plugins = ark_plugin_loader_get_plugins(loader);
	refused = ark_plugin_loader_get_refused(loader);

	if (opts->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) root = NULL;
		g_autofree gchar *out = NULL;
		json_builder_begin_object(b);
		ark_plugin_loader_build_json(loader, b);
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		out = json_to_string(root, TRUE);
		g_print("%s\n", out);
		return ARK_CLI_EXIT_OK;
	}

	/* TRANSLATORS: column headings of the plugin list */
	g_print("%-20s %-9s %s\n", _("PLUGIN"), _("VERSION"), _("PROVIDES"));
	for (guint i = 0; i < plugins->len; i++) {
		ArkPlugin *p = g_ptr_array_index(plugins, i);
		const ArkPluginInfo *info = ark_plugin_get_info(p);
		g_auto(GStrv) provides = ark_registry_list_provided_by(registry, info->name);
		g_autofree gchar *joined = g_strjoinv(" ", provides);
		g_print("%-20s %-9s %s\n", info->name, info->version,
			joined[0] != '\0' ? joined : "-");
	}
	if (refused->len > 0) {
		g_print("\n");
		/* TRANSLATORS: heading of the list of plugins the loader did not accept */
		g_print(_("Refused:\n"));
		for (guint i = 0; i < refused->len; i++) {
			ArkPluginRefusal *r = g_ptr_array_index(refused, i);
			g_print("  %-18s %s\n    %s\n", r->name, r->error->message, r->path);
		}
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect status ------------------------------------------------------------------------------ */

static gint
ark_cli_cmd_status(ArkCliOptions *opts, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkPluginLoader) loader = NULL;
	g_autoptr(ArkStore) store = NULL;
	g_autofree gchar *state_dir = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {.newest_first = TRUE, .limit = (guint)MAX(opts->limit, 1)};
	gint rc = ARK_CLI_EXIT_OK;

	if (!ark_cli_needs_state_dir(opts, "status"))
		return ARK_CLI_EXIT_INVALID;
	loader = ark_cli_load_plugins(opts, &error);
	if (loader == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	store = ark_cli_open_store(ark_plugin_loader_get_registry(loader), opts, TRUE, &state_dir,
				   &error);
	if (store == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (run_id != NULL) {
		rc = ark_cli_report(store, run_id, opts);
		/* the run's outcome is not the command's: status succeeded in reporting it */
		if (rc == ARK_CLI_EXIT_RUN_FAILED || rc == ARK_CLI_EXIT_INTERRUPTED)
			rc = ARK_CLI_EXIT_OK;
		ark_store_close(store);
		return rc;
	}
	runs = ark_store_list_runs(store, &filter, &error);
	if (runs == NULL) {
		ark_cli_print_error("%s", error->message);
		ark_store_close(store);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (opts->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) root = NULL;
		g_autofree gchar *out = NULL;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "runs");
		json_builder_begin_array(b);
		for (guint i = 0; i < runs->len; i++) {
			ArkRunRecord *r = g_ptr_array_index(runs, i);
			json_builder_begin_object(b);
			ark_cli_json_add_string(b, "id", r->id);
			ark_cli_json_add_string(b, "workflow", r->workflow_name);
			ark_cli_json_add_string(b, "state", ark_run_state_to_string(r->state));
			json_builder_set_member_name(b, "tasks");
			json_builder_add_int_value(b, r->n_tasks);
			ark_cli_json_add_time(b, "created_at", r->created_at);
			ark_cli_json_add_time(b, "finished_at", r->finished_at);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		out = json_to_string(root, TRUE);
		g_print("%s\n", out);
	} else {
		/* TRANSLATORS: column headings of the run list */
		g_print("%-26s  %-20s  %-9s  %6s  %s\n", _("RUN"), _("WORKFLOW"), _("STATE"),
			_("TASKS"), _("CREATED"));
		for (guint i = 0; i < runs->len; i++) {
			ArkRunRecord *r = g_ptr_array_index(runs, i);
			g_autofree gchar *created = ark_timestamp_format(r->created_at);
			g_print("%-26s  %-20s  %-9s  %6u  %s\n", r->id, r->workflow_name,
				ark_run_state_to_string(r->state), r->n_tasks,
				created != NULL ? created : "-");
		}
	}
	ark_store_close(store);
	return rc;
}

/* arkitect cancel ------------------------------------------------------------------------------ */

/*
 * Cancels a run (or one task of it) that no process is executing, e.g. one a crash left
 * unfinished: the run is taken over like --resume and cancelled before anything starts. A run
 * that is running elsewhere holds the state directory, and the error names the process.
 */
static gint
ark_cli_cmd_cancel(ArkCliOptions *opts, const gchar *run_id, const gchar *task_id)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	guint n_tasks;
	gint rc;

	if (!ark_cli_needs_state_dir(opts, "cancel"))
		return ARK_CLI_EXIT_INVALID;
	rc = ark_cli_session_open(&s, opts, TRUE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	if (!ark_engine_resume_run(s.engine, run_id, &error)) {
		ark_cli_print_error("%s", error->message);
		return g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND) ||
				   g_error_matches(error, ARK_ERROR, ARK_ERROR_EXISTS)
			   ? ARK_CLI_EXIT_INVALID
			   : ARK_CLI_EXIT_ENVIRONMENT;
	}
	/* nothing has started yet: starts happen in the main loop, which has not run */
	if (ark_engine_get_run_state(s.engine, run_id, NULL)) {
		gboolean ok = task_id != NULL
				  ? ark_engine_cancel_task(s.engine, run_id, task_id, g_get_user_name(),
							   opts->reason, &error)
				  : ark_engine_cancel_run(s.engine, run_id, g_get_user_name(),
							  opts->reason, &error);
		if (!ok) {
			ark_cli_print_error("%s", error->message);
			/* the run stays as it was on record: unfinished, for a later resume */
			ark_engine_shutdown(s.engine);
			return ARK_CLI_EXIT_INVALID;
		}
	}
	n_tasks = ark_cli_run_n_tasks(s.engine, run_id);
	/* a cancelled task's run goes on with the rest, like a resume */
	rc = ark_cli_wait_run(&s, opts, run_id, n_tasks);
	/* the run ending cancelled is what was asked for */
	if (task_id == NULL && rc == ARK_CLI_EXIT_INTERRUPTED)
		rc = ARK_CLI_EXIT_OK;
	return rc;
}

/* arkitect dlq --------------------------------------------------------------------------------- */

void
ark_cli_print_builder(JsonBuilder *b)
{
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree gchar *out = json_to_string(root, TRUE);
	g_print("%s\n", out);
}

static gint
ark_cli_cmd_dlq_list(ArkCliOptions *opts, const gchar *run_id)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) dead = NULL;
	ArkTaskFilter filter = {.state_mask = 1u << ARK_TASK_STATE_DEAD, .run_id = run_id};
	gint rc;

	rc = ark_cli_session_open(&s, opts, FALSE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	dead = ark_store_find_tasks(s.store, &filter, &error);
	if (dead == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (opts->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "dead");
		json_builder_begin_array(b);
		for (guint i = 0; i < dead->len; i++) {
			ArkTaskRecord *t = g_ptr_array_index(dead, i);
			json_builder_begin_object(b);
			ark_cli_json_add_string(b, "run_id", t->run_id);
			ark_cli_json_add_string(b, "task_id", t->task_id);
			json_builder_set_member_name(b, "attempts");
			json_builder_add_int_value(b, t->attempts);
			ark_cli_json_add_time(b, "finished_at", t->finished_at);
			ark_cli_json_add_string(b, "reason", t->reason);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
		ark_cli_print_builder(b);
		return ARK_CLI_EXIT_OK;
	}
	if (dead->len == 0) {
		/* TRANSLATORS: dlq list with nothing in it */
		g_print(_("the dead-letter queue is empty\n"));
		return ARK_CLI_EXIT_OK;
	}
	/* TRANSLATORS: column headings of the dead-letter queue */
	g_print("%-26s  %-24s  %8s  %-27s  %s\n", _("RUN"), _("TASK"), _("ATTEMPTS"), _("DIED"),
		_("REASON"));
	for (guint i = 0; i < dead->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(dead, i);
		g_autofree gchar *died = ark_timestamp_format(t->finished_at);
		g_print("%-26s  %-24s  %8u  %-27s  %s\n", t->run_id, t->task_id, t->attempts,
			died != NULL ? died : "-", t->reason != NULL ? t->reason : "");
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_cmd_dlq_show(ArkCliOptions *opts, const gchar *run_id, const gchar *task_id)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(JsonNode) definition = NULL;
	ArkTaskRecord *task = NULL;
	gint rc;

	rc = ark_cli_session_open(&s, opts, FALSE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	run = ark_store_get_run(s.store, run_id, &error);
	if (run == NULL) {
		ark_cli_print_error("%s", error->message);
		return ark_cli_lookup_exit(error);
	}
	tasks = ark_store_list_tasks(s.store, run_id, &error);
	attempts = tasks != NULL ? ark_store_list_attempts(s.store, run_id, task_id, &error) : NULL;
	if (attempts == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	for (guint i = 0; i < tasks->len && task == NULL; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		if (g_strcmp0(t->task_id, task_id) == 0)
			task = t;
	}
	if (task == NULL) {
		ark_cli_print_error(_("run %s has no task '%s'"), run_id, task_id);
		return ARK_CLI_EXIT_INVALID;
	}
	definition = ark_workflow_definition_get_task(run->definition, task->index, NULL);
	if (opts->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		ark_cli_json_add_string(b, "run_id", run_id);
		ark_cli_json_add_string(b, "task_id", task_id);
		ark_cli_json_add_string(b, "state", ark_task_state_to_string(task->state));
		ark_cli_json_add_string(b, "reason", task->reason);
		json_builder_set_member_name(b, "definition");
		if (definition != NULL)
			json_builder_add_value(b, json_node_copy(definition));
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "attempts");
		json_builder_begin_array(b);
		for (guint i = 0; i < attempts->len; i++)
			ark_cli_json_add_attempt(b, g_ptr_array_index(attempts, i));
		json_builder_end_array(b);
		json_builder_end_object(b);
		ark_cli_print_builder(b);
		return ARK_CLI_EXIT_OK;
	}
	/* TRANSLATORS: dlq show header: task id, run id, state */
	g_print(_("task %s of run %s: %s\n"), task_id, run_id, ark_task_state_to_string(task->state));
	if (task->reason != NULL)
		g_print(_("reason: %s\n"), task->reason);
	if (definition != NULL) {
		g_autofree gchar *text = json_to_string(definition, TRUE);
		g_print(_("definition:\n%s\n"), text);
	}
	/* TRANSLATORS: column headings of the attempt history */
	g_print("\n%7s  %-10s  %4s  %-27s  %s\n", _("ATTEMPT"), _("STATUS"), _("EXIT"), _("STARTED"),
		_("ERROR"));
	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		g_autofree gchar *started = ark_timestamp_format(a->started_at);
		g_autofree gchar *exit_str = a->exit_code >= 0 ? g_strdup_printf("%d", a->exit_code)
				  : a->signal > 0    ? g_strdup_printf("sig%d", a->signal)
						     : g_strdup("-");
		g_print("%7u  %-10s  %4s  %-27s  %s\n", a->number,
			ark_attempt_status_to_string(a->status), exit_str,
			started != NULL ? started : "-", a->error != NULL ? a->error : "");
		if (a->log_path != NULL)
			g_print("%7s  %s\n", "", a->log_path);
	}
	return ARK_CLI_EXIT_OK;
}

/* --set NAME=JSON and --timeout as one overrides object; NULL with an error printed */
JsonObject *
ark_cli_parse_set(const gchar *const *set)
{
	g_autoptr(JsonObject) members = json_object_new();

	for (guint i = 0; set != NULL && set[i] != NULL; i++) {
		const gchar *eq = strchr(set[i], '=');
		g_autofree gchar *name = NULL;
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;
		if (eq == NULL || eq == set[i]) {
			ark_cli_print_error(_("--set takes MEMBER=JSON, e.g. --set "
					      "'run=[\"make\",\"-j1\"]', not '%s'"),
					    set[i]);
			return NULL;
		}
		name = g_strndup(set[i], (gsize)(eq - set[i]));
		if (!json_parser_load_from_data(parser, eq + 1, -1, &error) ||
		    json_parser_get_root(parser) == NULL) {
			ark_cli_print_error(_("--set %s: the value is not JSON: %s"), name,
					    error != NULL ? error->message : _("empty"));
			return NULL;
		}
		json_object_set_member(members, name, json_node_copy(json_parser_get_root(parser)));
	}
	return g_steal_pointer(&members);
}

static JsonObject *
ark_cli_replay_overrides(ArkCliOptions *opts)
{
	JsonObject *overrides = ark_cli_parse_set((const gchar *const *)opts->set);

	if (overrides != NULL && opts->timeout != NULL)
		json_object_set_string_member(overrides, "timeout", opts->timeout);
	return overrides;
}

static gint
ark_cli_cmd_dlq_replay(ArkCliOptions *opts, const gchar *run_id, const gchar *task_id)
{
	g_auto(ArkCliSession) s = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) rec = NULL;
	g_autoptr(JsonObject) overrides = NULL;
	gint rc;

	if (!ark_cli_needs_state_dir(opts, "dlq"))
		return ARK_CLI_EXIT_INVALID;
	overrides = ark_cli_replay_overrides(opts);
	if (overrides == NULL)
		return ARK_CLI_EXIT_INVALID;
	rc = ark_cli_session_open(&s, opts, TRUE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	rec = ark_store_get_run(s.store, run_id, &error);
	if (rec == NULL) {
		ark_cli_print_error("%s", error->message);
		return ark_cli_lookup_exit(error);
	}
	/* an unfinished run nobody executes is taken over first */
	if (!ark_run_state_is_terminal(rec->state) &&
	    !ark_engine_resume_run(s.engine, run_id, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (!ark_engine_replay_task(s.engine, run_id, task_id, overrides, g_get_user_name(),
				    &error)) {
		ark_cli_print_error("%s", error->message);
		return g_error_matches(error, ARK_ERROR, ARK_ERROR_STORAGE)
			   ? ARK_CLI_EXIT_ENVIRONMENT
			   : ARK_CLI_EXIT_INVALID;
	}
	if (!opts->json && !opts->quiet) {
		/* TRANSLATORS: printed when a DLQ task is replayed: task id, run id */
		g_printerr(_("replaying %s in run %s\n"), task_id, run_id);
	}
	return ark_cli_wait_run(&s, opts, run_id, rec->n_tasks);
}

/* arkitect audit ------------------------------------------------------------------------------- */

/* the commands are in ark-cli-audit.c; they read the store as status does */
static gint
ark_cli_cmd_audit(ArkCliOptions *opts, gint argc, gchar **argv)
{
	g_auto(ArkCliSession) s = {0};
	gint rc;

	if (!ark_cli_audit_check_args(argc, argv) || !ark_cli_needs_state_dir(opts, "audit"))
		return ARK_CLI_EXIT_INVALID;
	rc = ark_cli_session_open(&s, opts, FALSE);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	return ark_cli_audit_run(s.store, s.state_dir, opts->json, (guint)opts->limit, argc, argv);
}

/* main ----------------------------------------------------------------------------------------- */

static const gchar *ark_cli_usage_summary =
    N_("Commands:\n"
       "  run FILE          run a workflow and wait for it (FILE may be - for stdin)\n"
       "  validate FILE     check a workflow without running it\n"
       "  simulate FILE     run it on virtual time and compare policies (--slots, --policy\n"
       "                    NAME|all, --seed, --schedule; see --help-simulate)\n"
       "  run --resume RUN_ID  continue a run after a crash or an interrupted wait\n"
       "  status [RUN_ID]   list recent runs, or show one run\n"
       "  cancel RUN_ID [TASK_ID]  cancel a run no process is running (e.g. after a crash)\n"
       "  dlq list [RUN_ID] list dead tasks (retries exhausted)\n"
       "  dlq show RUN_ID TASK_ID    a dead task's attempts and definition\n"
       "  dlq replay RUN_ID TASK_ID  run it again in the same run (--set, --timeout)\n"
       "  plugins           list loaded and refused plugins\n"
       "  audit verify      check the audit log's hash chain and its file (--file, --no-file)\n"
       "  audit list        the newest audit records (--limit)\n"
       "\n"
       "Talking to the daemon (options: --help-daemon; status, cancel and dlq too when one\n"
       "is running):\n"
       "  submit FILE       submit a workflow (--wait: wait for it like run)\n"
       "  runs              list runs (--state, --workflow, --limit)\n"
       "  tasks RUN_ID      list a run's tasks (--state)\n"
       "  logs RUN_ID TASK_ID  print a task's log (--attempt, --follow, --tail)\n"
       "  retry RUN_ID TASK_ID  run a failed, dead or cancelled task again (--set, --timeout)\n"
       "  watch RUN_ID      live progress of a run, then its summary\n"
       "  explain RUN_ID TASK_ID  why a task is (or is not) running\n"
       "  token create NAME create an API token (--scope read|admin)\n"
       "  agents [list]     list registered agents; agents show ID (with trust),\n"
       "                    agents register --name N --capability C[:P]... (prints the id\n"
       "                    and token), agents remove ID, agents assignments [--agent ID],\n"
       "                    agents explain ASSIGNMENT\n"
       "  mcp               an MCP server on stdin/stdout for AI assistants (docs/mcp.md)\n"
       "\n"
       "Exit status: 0 success, 1 the run failed, 2 invalid input, 3 environment error\n"
       "(state directory, plugins, daemon unreachable or refusing the token), 130\n"
       "interrupted.");

int
main(int argc, char **argv)
{
	g_auto(ArkCliOptions) opts = {0};
	g_auto(ArkCliClientOptions) client = {0};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	gboolean version = FALSE;
	const gchar *cmd;
	gboolean handled = FALSE;
	gint rc;
	const GOptionEntry entries[] = {
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts.state_dir,
	     N_("where runs and logs are kept (default $XDG_STATE_HOME/arkitect)"), N_("DIR")},
	    {"ephemeral", 0, 0, G_OPTION_ARG_NONE, &opts.ephemeral,
	     N_("keep nothing: use the memory store and a temporary log directory"), NULL},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &opts.json, N_("print machine-readable JSON"), NULL},
	    {"policy", 0, 0, G_OPTION_ARG_STRING, &opts.policy,
	     N_("scheduling policy (default: the workflow's, else fifo)"), N_("NAME")},
	    {"slots", 0, 0, G_OPTION_ARG_INT, &opts.slots,
	     N_("how many process tasks run at once (default: number of CPUs)"), N_("N")},
	    {"limit", 0, 0, G_OPTION_ARG_INT, &opts.limit,
	     N_("runs listed by status, records by audit list (20)"), N_("N")},
	    {"resume", 0, 0, G_OPTION_ARG_STRING, &opts.resume,
	     N_("run: continue this unfinished run instead of submitting a file"), N_("RUN_ID")},
	    {"idempotency-key", 0, 0, G_OPTION_ARG_STRING, &opts.idempotency_key,
	     N_("run: submit at most once with this key; again, report the existing run"),
	     N_("KEY")},
	    {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts.set,
	     N_("dlq replay: override a task member, e.g. 'timeout=\"5m\"' (repeatable)"),
	     N_("MEMBER=JSON")},
	    {"timeout", 0, 0, G_OPTION_ARG_STRING, &opts.timeout,
	     N_("dlq replay: the task's new execution timeout"), N_("DURATION")},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &opts.reason,
	     N_("cancel: why, recorded with the run or task"), N_("TEXT")},
	    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opts.quiet, N_("no live progress"), NULL},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose,
	     N_("say more, e.g. which plugins were refused"), NULL},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &version, N_("print the version and exit"),
	     NULL},
	    {NULL},
	};

	setlocale(LC_ALL, "");
	/* a file size limit (ulimit -f) must be a write error the store reports, not a kill
	 * that loses the run's last words */
	signal(SIGXFSZ, SIG_IGN);
	bindtextdomain(GETTEXT_PACKAGE, ARK_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	opts.limit = 20;
	context = g_option_context_new(_("COMMAND [ARGS] - run and inspect task workflows"));
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_add_group(context, ark_cli_client_option_group(&client));
	g_option_context_add_group(context, ark_cli_audit_get_option_group());
	g_option_context_add_group(context, ark_cli_simulate_get_option_group());
	g_option_context_set_description(context, _(ark_cli_usage_summary));
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_INVALID;
	}
	if (version) {
		g_print("arkitect %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, ARK_PLUGIN_ABI_MAJOR,
			ARK_PLUGIN_ABI_MINOR);
		return ARK_CLI_EXIT_OK;
	}
	if (opts.verbose)
		g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
	if (opts.slots < 0 || opts.slots > 4096) {
		ark_cli_print_error(_("--slots must be between 1 and 4096"));
		return ARK_CLI_EXIT_INVALID;
	}
	if (opts.limit < 1 || opts.limit > 100000) {
		ark_cli_print_error(_("--limit must be between 1 and 100000"));
		return ARK_CLI_EXIT_INVALID;
	}
	if (argc < 2) {
		g_autofree gchar *help = g_option_context_get_help(context, TRUE, NULL);
		g_printerr("%s", help);
		return ARK_CLI_EXIT_INVALID;
	}
	cmd = argv[1];
	if ((opts.set != NULL || opts.timeout != NULL) && g_strcmp0(cmd, "dlq") != 0 &&
	    g_strcmp0(cmd, "retry") != 0) {
		ark_cli_print_error(_("--set and --timeout are options of dlq replay and retry"));
		return ARK_CLI_EXIT_INVALID;
	}

	/* a client of the daemon, when the command is one or a daemon is running */
	client.state_dir = opts.state_dir;
	client.ephemeral = opts.ephemeral;
	client.policy = opts.policy;
	client.idempotency_key = opts.idempotency_key;
	client.set = opts.set;
	client.timeout = opts.timeout;
	client.reason = opts.reason;
	client.limit = opts.limit;
	client.json = opts.json;
	client.quiet = opts.quiet;
	if (g_strcmp0(cmd, "mcp") == 0)
		return ark_cli_mcp_main(&client, argc - 1, argv + 1);
	rc = ark_cli_client_main(&client, argc - 1, argv + 1, &handled);
	if (handled)
		return rc;
	if (g_strcmp0(cmd, "run") == 0 && opts.resume != NULL) {
		if (argc != 2) {
			ark_cli_print_error(_("run --resume takes a run id, not a file"));
			return ARK_CLI_EXIT_INVALID;
		}
		return ark_cli_cmd_resume(&opts, opts.resume);
	}
	if (g_strcmp0(cmd, "run") == 0 && argc == 3)
		return ark_cli_cmd_run(&opts, argv[2]);
	if (g_strcmp0(cmd, "cancel") == 0 && (argc == 3 || argc == 4))
		return ark_cli_cmd_cancel(&opts, argv[2], argc == 4 ? argv[3] : NULL);
	if (g_strcmp0(cmd, "cancel") == 0) {
		ark_cli_print_error(_("usage: cancel RUN_ID [TASK_ID] [--reason TEXT]"));
		return ARK_CLI_EXIT_INVALID;
	}
	if (g_strcmp0(cmd, "dlq") == 0) {
		const gchar *sub = argc > 2 ? argv[2] : NULL;
		if (g_strcmp0(sub, "list") == 0 && argc <= 4)
			return ark_cli_cmd_dlq_list(&opts, argc == 4 ? argv[3] : NULL);
		if (g_strcmp0(sub, "show") == 0 && argc == 5)
			return ark_cli_cmd_dlq_show(&opts, argv[3], argv[4]);
		if (g_strcmp0(sub, "replay") == 0 && argc == 5)
			return ark_cli_cmd_dlq_replay(&opts, argv[3], argv[4]);
		ark_cli_print_error(_("usage: dlq list [RUN_ID] | dlq show RUN_ID TASK_ID | dlq "
				      "replay RUN_ID TASK_ID [--set MEMBER=JSON] [--timeout D]"));
		return ARK_CLI_EXIT_INVALID;
	}

	if (g_strcmp0(cmd, "audit") == 0)
		return ark_cli_cmd_audit(&opts, argc - 2, argv + 2);
	if (g_strcmp0(cmd, "simulate") == 0 && argc == 3)
		return ark_cli_simulate_run(argv[2], opts.policy, opts.slots, opts.json);
	if (g_strcmp0(cmd, "validate") == 0 && argc == 3)
		return ark_cli_cmd_validate(&opts, argv[2]);
	if (g_strcmp0(cmd, "plugins") == 0 && argc == 2)
		return ark_cli_cmd_plugins(&opts);
	if (g_strcmp0(cmd, "status") == 0 && argc <= 3)
		return ark_cli_cmd_status(&opts, argc == 3 ? argv[2] : NULL);
	if (g_strcmp0(cmd, "run") == 0 || g_strcmp0(cmd, "validate") == 0 ||
	    g_strcmp0(cmd, "simulate") == 0) {
		ark_cli_print_error(_("%s takes one workflow file"), cmd);
		return ARK_CLI_EXIT_INVALID;
	}
	ark_cli_print_error(_("unknown command '%s' (try --help)"), cmd);
	return ARK_CLI_EXIT_INVALID;
}
