/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-test-utils.h"

#include <malloc.h>
#include <math.h>

#define SEC G_GINT64_CONSTANT(1000000)

/* all problems, one per line, as a user sees them */
static gchar *
ark_workflow_test_problems_to_string(GPtrArray *problems)
{
	GString *str = g_string_new(NULL);

	for (guint i = 0; problems != NULL && i < problems->len; i++) {
		ArkProblem *problem = g_ptr_array_index(problems, i);
		g_autofree gchar *line = ark_problem_to_string(problem, NULL);
		g_string_append_printf(str, "%s\n", line);
	}
	return g_string_free(str, FALSE);
}

static ArkWorkflow *
ark_workflow_test_parse_ok(const gchar *data, gssize length)
{
	g_autoptr(GPtrArray) problems = NULL;
	ArkWorkflow *workflow = ark_workflow_parse(data, length, &problems);

	if (workflow == NULL) {
		g_autofree gchar *text = ark_workflow_test_problems_to_string(problems);
		g_error("unexpected problems:\n%s", text);
	}
	g_assert_nonnull(problems);
	g_assert_cmpuint(problems->len, ==, 0);
	return workflow;
}

/* parses a document that must be refused and returns its problems as text */
static gchar *
ark_workflow_test_parse_bad(const gchar *data, gssize length, guint *out_n)
{
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = ark_workflow_parse(data, length, &problems);

	g_assert_null(workflow);
	g_assert_nonnull(problems);
	g_assert_cmpuint(problems->len, >, 0);
	if (out_n != NULL)
		*out_n = problems->len;
	return ark_workflow_test_problems_to_string(problems);
}

static void
ark_workflow_test_assert_contains(const gchar *haystack, const gchar *needle)
{
	if (strstr(haystack, needle) == NULL)
		g_error("expected '%s' in:\n%s", needle, haystack);
}

static void
ark_workflow_test_assert_strv_equal(gchar **a, gchar **b)
{
	if (a == NULL || b == NULL) {
		g_assert_true(a == b);
		return;
	}
	g_assert_cmpstrv(a, b);
}

static void
ark_workflow_test_assert_retry_equal(const ArkRetryPolicy *a, const ArkRetryPolicy *b)
{
	g_assert_cmpuint(a->max_attempts, ==, b->max_attempts);
	g_assert_cmpint(a->backoff, ==, b->backoff);
	g_assert_cmpint(a->initial_delay, ==, b->initial_delay);
	g_assert_cmpint(a->max_delay, ==, b->max_delay);
	g_assert_cmpfloat(a->multiplier, ==, b->multiplier);
	g_assert_cmpint(a->jitter, ==, b->jitter);
	g_assert_cmpuint(a->retry_on, ==, b->retry_on);
	g_assert_cmpmem(a->exit_codes, a->n_exit_codes * sizeof(gint), b->exit_codes,
			b->n_exit_codes * sizeof(gint));
}

static void ark_workflow_test_assert_agent_equal(const ArkAgentSpec *a, const ArkAgentSpec *b);

/* every field an executor, a policy or the engine can read */
static void
ark_workflow_test_assert_spec_equal(const ArkTaskSpec *a, const ArkTaskSpec *b)
{
	g_assert_cmpstr(a->id, ==, b->id);
	ark_workflow_test_assert_strv_equal(a->needs, b->needs);
	g_assert_cmpstr(a->executor, ==, b->executor);
	ark_workflow_test_assert_strv_equal(a->run, b->run);
	g_assert_cmpint(a->shell, ==, b->shell);
	g_assert_cmpstr(a->cwd, ==, b->cwd);
	ark_workflow_test_assert_strv_equal(a->env, b->env);
	g_assert_cmpstr(a->function, ==, b->function);
	if (a->args == NULL || b->args == NULL)
		g_assert_true(a->args == b->args);
	else
		g_assert_true(json_node_equal(a->args, b->args));
	g_assert_cmpint(a->priority, ==, b->priority);
	g_assert_cmpint(a->estimate, ==, b->estimate);
	g_assert_cmpint(a->timeout, ==, b->timeout);
	g_assert_cmpint(a->deadline_relative, ==, b->deadline_relative);
	g_assert_cmpint(a->deadline_absolute, ==, b->deadline_absolute);
	g_assert_cmpint(a->allow_failure, ==, b->allow_failure);
	g_assert_cmpuint(a->index, ==, b->index);
	ark_workflow_test_assert_retry_equal(&a->retry, &b->retry);
	g_assert_cmpint(a->queue_timeout, ==, b->queue_timeout);
	if (a->input == NULL || b->input == NULL)
		g_assert_true(a->input == b->input);
	else
		g_assert_true(json_node_equal(a->input, b->input));
	ark_workflow_test_assert_agent_equal(a->agent, b->agent);
}

/* what the store keeps must read back as the same workflow, and read back again unchanged */
static void
ark_workflow_test_assert_round_trip(ArkWorkflow *workflow)
{
	g_autoptr(ArkWorkflow) again =
	    ark_workflow_test_parse_ok(ark_workflow_get_definition(workflow), -1);
	guint n = ark_workflow_get_n_tasks(workflow);

	g_assert_cmpstr(ark_workflow_get_definition(again), ==,
			ark_workflow_get_definition(workflow));
	g_assert_cmpstr(ark_workflow_get_name(again), ==, ark_workflow_get_name(workflow));
	g_assert_cmpstr(ark_workflow_get_policy(again), ==, ark_workflow_get_policy(workflow));
	g_assert_cmpint(ark_workflow_get_failure_mode(again), ==,
			ark_workflow_get_failure_mode(workflow));
	g_assert_cmpint(ark_workflow_get_timeout(again), ==, ark_workflow_get_timeout(workflow));
	g_assert_cmpuint(ark_workflow_get_n_tasks(again), ==, n);
	g_assert_cmpmem(ark_workflow_get_topological_order(again), n * sizeof(guint),
			ark_workflow_get_topological_order(workflow), n * sizeof(guint));
	for (guint i = 0; i < n; i++)
		ark_workflow_test_assert_spec_equal(ark_workflow_get_task(again, i),
						    ark_workflow_get_task(workflow, i));
}

static gchar **
ark_workflow_test_list(const gchar *kind)
{
	g_autofree gchar *dir_path = g_test_build_filename(G_TEST_DIST, "workflows", kind, NULL);
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	g_autoptr(GPtrArray) files = g_ptr_array_new();
	const gchar *name;

	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_suffix(name, ".json"))
			g_ptr_array_add(files, g_build_filename(dir_path, name, NULL));
	}
	g_ptr_array_add(files, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&files), FALSE);
}

static void
ark_workflow_test_fixtures_valid(void)
{
	g_auto(GStrv) fixtures = ark_workflow_test_list("valid");
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) files = NULL;
	const gchar *root = g_getenv("ARK_SOURCE_ROOT");

	g_assert_cmpuint(g_strv_length(fixtures), >=, 5);
	g_strv_builder_addv(builder, (const gchar **)fixtures);
	/* the examples users copy from must stay valid too */
	if (root != NULL) {
		g_autofree gchar *dir_path = g_build_filename(root, "examples", NULL);
		g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
		const gchar *name;

		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *file = g_build_filename(dir_path, name, NULL);
			if (g_str_has_suffix(name, ".json"))
				g_strv_builder_add(builder, file);
		}
	}
	files = g_strv_builder_end(builder);
	for (guint i = 0; files[i] != NULL; i++) {
		g_autofree gchar *data = ark_test_read_file(files[i]);
		g_autoptr(ArkWorkflow) workflow = NULL;

		g_test_message("%s", files[i]);
		workflow = ark_workflow_test_parse_ok(data, -1);
		g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), >, 0);
		ark_workflow_test_assert_round_trip(workflow);
	}
}

static void
ark_workflow_test_fixtures_invalid(void)
{
	g_auto(GStrv) files = ark_workflow_test_list("invalid");

	g_assert_cmpuint(g_strv_length(files), >=, 20);
	for (guint i = 0; files[i] != NULL; i++) {
		g_autofree gchar *data = NULL;
		g_autofree gchar *base = g_strndup(files[i], strlen(files[i]) - strlen(".json"));
		g_autofree gchar *expect_path = g_strconcat(base, ".expect", NULL);
		g_autofree gchar *expect = ark_test_read_file(expect_path);
		g_auto(GStrv) lines = g_strsplit(expect, "\n", -1);
		g_autofree gchar *text = NULL;
		gsize len = 0;
		guint n_expected = 0;

		g_test_message("%s", files[i]);
		g_assert_true(g_file_get_contents(files[i], &data, &len, NULL));
		text = ark_workflow_test_parse_bad(data, (gssize)len, NULL);
		for (guint j = 0; lines[j] != NULL; j++) {
			if (lines[j][0] == '\0' || lines[j][0] == '#' ||
			    g_strcmp0(lines[j], "semantic") == 0)
				continue;
			ark_workflow_test_assert_contains(text, lines[j]);
			n_expected++;
		}
		/* a fixture that checks nothing would pass for the wrong reason */
		g_assert_cmpuint(n_expected, >, 0);
	}
}

static void
ark_workflow_test_fields(void)
{
	g_autofree gchar *path = g_test_build_filename(G_TEST_DIST, "workflows", "valid",
						       "build-test-deploy.json", NULL);
	g_autofree gchar *data = ark_test_read_file(path);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const ArkTaskSpec *build;
	const ArkTaskSpec *unit;
	const ArkTaskSpec *lint;
	const ArkTaskSpec *deploy;
	const gchar *const default_env[] = {"CI=1", "LANG=C.UTF-8", NULL};
	const gchar *const deploy_env[] = {"TARGET=staging", NULL};
	const gchar *const deploy_run[] = {"./deploy.sh", "--env", "staging", NULL};
	const gchar *const deploy_needs[] = {"unit-tests", "lint", NULL};
	const gchar *const lint_run[] = {"make lint | tee lint.log", NULL};

	g_assert_cmpstr(ark_workflow_get_name(workflow), ==, "build-test-deploy");
	g_assert_cmpstr(ark_workflow_get_policy(workflow), ==, "priority");
	g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), ==, 4);

	build = ark_workflow_get_task(workflow, 0);
	g_assert_cmpstr(build->id, ==, "build");
	g_assert_cmpuint(build->index, ==, 0);
	g_assert_nonnull(build->needs);
	g_assert_null(build->needs[0]);
	g_assert_cmpstr(build->executor, ==, "process");
	g_assert_cmpstr(build->cwd, ==, "/srv/project");
	g_assert_cmpstrv(build->env, default_env);
	g_assert_cmpint(build->priority, ==, 10);
	g_assert_cmpint(build->timeout, ==, 600 * SEC);
	g_assert_cmpint(build->estimate, ==, 150 * SEC);
	g_assert_false(build->shell);
	g_assert_false(build->allow_failure);
	g_assert_null(build->function);
	g_assert_null(build->args);
	g_assert_cmpint(build->deadline_relative, ==, 0);
	g_assert_cmpint(build->deadline_absolute, ==, 0);

	unit = ark_workflow_lookup_task(workflow, "unit-tests");
	g_assert_true(unit == ark_workflow_get_task(workflow, 1));
	g_assert_cmpint(unit->timeout, ==, 1800 * SEC);
	g_assert_cmpstr(unit->needs[0], ==, "build");
	g_assert_null(unit->needs[1]);

	lint = ark_workflow_lookup_task(workflow, "lint");
	g_assert_true(lint->shell);
	g_assert_cmpstrv(lint->run, lint_run);
	g_assert_true(lint->allow_failure);
	g_assert_cmpint(lint->priority, ==, -5);

	deploy = ark_workflow_lookup_task(workflow, "deploy");
	g_assert_cmpuint(deploy->index, ==, 3);
	g_assert_cmpstrv(deploy->run, deploy_run);
	g_assert_cmpstrv(deploy->needs, deploy_needs);
	/* a task's env replaces the default env as a whole */
	g_assert_cmpstrv(deploy->env, deploy_env);
	g_assert_cmpint(deploy->deadline_relative, ==, 3600 * SEC);
	g_assert_cmpint(deploy->deadline_absolute, ==, 0);

	g_assert_null(ark_workflow_lookup_task(workflow, "nope"));
}

static void
ark_workflow_test_defaults(void)
{
	g_autoptr(ArkWorkflow) bare = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"run\": [\"true\"]}]}", -1);
	g_autoptr(ArkWorkflow) with = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"defaults\": {\"executor\": \"thread\", \"shell\": true, "
	    "\"timeout\": 2.5, \"allow_failure\": true, \"priority\": -3}, \"tasks\": ["
	    "{\"id\": \"a\", \"run\": \"true\"},"
	    "{\"id\": \"b\", \"executor\": \"process\", \"shell\": false, \"run\": [\"x\"], "
	    "\"timeout\": \"0s\", \"allow_failure\": false, \"priority\": 0, \"cwd\": \"/\"}]}",
	    -1);
	const ArkTaskSpec *t = ark_workflow_get_task(bare, 0);
	const ArkTaskSpec *a = ark_workflow_get_task(with, 0);
	const ArkTaskSpec *b = ark_workflow_get_task(with, 1);

	g_assert_cmpstr(t->executor, ==, "process");
	g_assert_nonnull(t->env);
	g_assert_null(t->env[0]);
	g_assert_null(t->cwd);
	g_assert_cmpint(t->timeout, ==, 0);
	g_assert_cmpint(t->priority, ==, 0);
	g_assert_null(ark_workflow_get_policy(bare));

	g_assert_cmpstr(a->executor, ==, "thread");
	g_assert_true(a->shell);
	g_assert_cmpstr(a->run[0], ==, "true");
	g_assert_null(a->run[1]);
	g_assert_cmpint(a->timeout, ==, 2500000);
	g_assert_true(a->allow_failure);
	g_assert_cmpint(a->priority, ==, -3);

	/* a task that sets a member, even to the zero value, wins over defaults */
	g_assert_cmpstr(b->executor, ==, "process");
	g_assert_false(b->shell);
	g_assert_cmpint(b->timeout, ==, 0);
	g_assert_false(b->allow_failure);
	g_assert_cmpint(b->priority, ==, 0);
	g_assert_cmpstr(b->cwd, ==, "/");
}

static void
ark_workflow_test_deadline(void)
{
	g_autofree gchar *path =
	    g_test_build_filename(G_TEST_DIST, "workflows", "valid", "functions.json", NULL);
	g_autofree gchar *data = ark_test_read_file(path);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const ArkTaskSpec *parse = ark_workflow_lookup_task(workflow, "parse.v2");
	const ArkTaskSpec *report = ark_workflow_lookup_task(workflow, "_report");

	/* date -u -d 2030-01-01T00:00:00Z +%s */
	g_assert_cmpint(parse->deadline_absolute, ==, G_GINT64_CONSTANT(1893456000) * SEC);
	g_assert_cmpint(parse->deadline_relative, ==, 0);
	g_assert_cmpint(parse->estimate, ==, 250000);
	/* 2030-06-01T10:30:00Z plus half a second */
	g_assert_cmpint(report->deadline_absolute, ==,
			G_GINT64_CONSTANT(1906540200) * SEC + 500000);
}

static void
ark_workflow_test_args(void)
{
	g_autofree gchar *path =
	    g_test_build_filename(G_TEST_DIST, "workflows", "valid", "functions.json", NULL);
	g_autofree gchar *data = ark_test_read_file(path);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const ArkTaskSpec *fetch = ark_workflow_get_task(workflow, 0);
	const ArkTaskSpec *parse = ark_workflow_get_task(workflow, 1);
	const ArkTaskSpec *report = ark_workflow_get_task(workflow, 2);
	JsonObject *object;

	g_assert_cmpstr(fetch->executor, ==, "thread");
	g_assert_cmpstr(fetch->function, ==, "fetch-url");
	g_assert_null(fetch->run);
	g_assert_nonnull(fetch->args);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(fetch->args));
	object = json_node_get_object(fetch->args);
	g_assert_cmpstr(json_object_get_string_member(object, "url"), ==, "https://example.org/");
	g_assert_cmpint(json_object_get_int_member(object, "retries"), ==, 3);
	/* "args": null is the same as no args */
	g_assert_null(parse->args);
	g_assert_true(JSON_NODE_HOLDS_ARRAY(report->args));
	g_assert_cmpuint(json_array_get_length(json_node_get_array(report->args)), ==, 4);
}

static void
ark_workflow_test_env_labels(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"env\": {\"Z\": \"1\", \"_A\": "
	    "\"x=y\", \"EMPTY\": \"\"}, \"labels\": {\"team\": \"t\", \"with space\": \"ok\"}}]}",
	    -1);
	const gchar *const env[] = {"Z=1", "_A=x=y", "EMPTY=", NULL};
	const ArkTaskSpec *a = ark_workflow_get_task(workflow, 0);

	/* document order, which is the order a user expects to see them in */
	g_assert_cmpstrv(a->env, env);
	ark_workflow_test_assert_contains(ark_workflow_get_definition(workflow),
					  "\"labels\":{\"team\":\"t\",\"with space\":\"ok\"}");
}

static void
ark_workflow_test_topological_order(void)
{
	/* e and d are ready before b: ties go by document order, not by discovery */
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": ["
	    "{\"id\": \"a\", \"needs\": [\"c\"]},"
	    "{\"id\": \"b\", \"needs\": [\"a\", \"d\"]},"
	    "{\"id\": \"c\"},"
	    "{\"id\": \"d\"},"
	    "{\"id\": \"e\", \"needs\": [\"c\"]}]}",
	    -1);
	const guint expected[] = {2, 0, 3, 1, 4};
	const guint *order = ark_workflow_get_topological_order(workflow);

	g_assert_cmpmem(order, sizeof(expected), expected, sizeof(expected));
}

static void
ark_workflow_test_definition(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "\xEF\xBB\xBF{\n  \"name\" : \"n\",\n\t\"tasks\": [ {\"id\": \"a\", \"args\": {\"b\": "
	    "[1, 2.5, true, null, \"\\u00e9\"]}} ]\n}\n",
	    -1);

	g_assert_cmpstr(ark_workflow_get_definition(workflow), ==,
			"{\"name\":\"n\",\"tasks\":[{\"id\":\"a\",\"args\":{\"b\":[1,2.5,true,null,"
			"\"\xC3\xA9\"]}}]}");
}

static void
ark_workflow_test_length(void)
{
	const gchar *data = "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\"}]}GARBAGE";
	g_autoptr(ArkWorkflow) workflow =
	    ark_workflow_test_parse_ok(data, (gssize)(strlen(data) - strlen("GARBAGE")));
	g_autofree gchar *text = ark_workflow_test_parse_bad(data, -1, NULL);

	g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), ==, 1);
	ark_workflow_test_assert_contains(text, "unexpected character 'G'");
}

static void
ark_workflow_test_refcount(void)
{
	ArkWorkflow *workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\"}]}", -1);

	g_assert_true(ark_workflow_ref(workflow) == workflow);
	ark_workflow_unref(workflow);
	g_assert_cmpstr(ark_workflow_get_name(workflow), ==, "n");
	ark_workflow_unref(workflow);
}

static void
ark_workflow_test_locations(void)
{
	const gchar *data = "{\n"
			    "  \"name\": \"n\",\n"
			    "  \"tasks\": [\n"
			    "    {\"id\": \"a\"},\n"
			    "\t{\"id\": \"é\"},\n"
			    "    {\"id\": \"b\", \"needs\": [\"a\",\n"
			    "        \"zzz\"], \"timeout\": \"forever\"}\n"
			    "  ]\n"
			    "}\n";
	const gchar *ok = "{\"name\": \"n\", \"tasks\": [\n"
			  "  {\"id\": \"a\"},\n"
			  "      {\"id\": \"b\"}]}";
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = ark_workflow_parse(data, -1, &problems);
	g_autoptr(ArkWorkflow) good = ark_workflow_test_parse_ok(ok, -1);
	ArkProblem *p;
	guint line = 99;
	guint column = 99;

	g_assert_null(workflow);
	g_assert_cmpuint(problems->len, ==, 3);

	/* in document order, each at the value or member it is about */
	p = g_ptr_array_index(problems, 0);
	g_assert_cmpstr(p->path, ==, "tasks[1].id");
	g_assert_cmpuint(p->line, ==, 5);
	g_assert_cmpuint(p->column, ==, 3);
	p = g_ptr_array_index(problems, 1);
	g_assert_cmpstr(p->path, ==, "tasks[2].needs[1]");
	g_assert_cmpuint(p->line, ==, 7);
	g_assert_cmpuint(p->column, ==, 9);
	g_assert_cmpstr(p->message, ==, "unknown task 'zzz' in needs");
	p = g_ptr_array_index(problems, 2);
	g_assert_cmpstr(p->path, ==, "tasks[2].timeout");
	g_assert_cmpuint(p->line, ==, 7);
	g_assert_cmpuint(p->column, ==, 17);

	ark_workflow_get_task_location(good, 0, &line, &column);
	g_assert_cmpuint(line, ==, 2);
	g_assert_cmpuint(column, ==, 3);
	ark_workflow_get_task_location(good, 1, &line, &column);
	g_assert_cmpuint(line, ==, 3);
	g_assert_cmpuint(column, ==, 7);
	ark_workflow_get_task_location(good, 1, NULL, NULL);
}

static void
ark_workflow_test_add_problem(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\",\n \"policy\": \"nope\",\n \"tasks\": [\n  {\"id\": \"a\"}]}", -1);
	g_autoptr(GPtrArray) problems =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	g_autofree gchar *text = NULL;

	ark_workflow_add_problem(workflow, problems, 0, "executor", "unknown executor '%s'",
				 "process");
	ark_workflow_add_problem(workflow, problems, 0, NULL, "needs a run or a function");
	ark_workflow_add_problem(workflow, problems, G_MAXUINT, "policy", "unknown policy '%s'",
				 "nope");
	ark_workflow_add_problem(workflow, problems, G_MAXUINT, NULL, "document problem");
	text = ark_workflow_test_problems_to_string(problems);
	g_assert_cmpstr(text, ==,
			"4:3: tasks[0].executor: unknown executor 'process'\n"
			"4:3: tasks[0]: needs a run or a function\n"
			"2:2: policy: unknown policy 'nope'\n"
			"document problem\n");
}

static void
ark_workflow_test_problem_to_string(void)
{
	ArkProblem full = {(gchar *)"tasks[1].needs[0]", 3, 7, (gchar *)"unknown task 'bild'"};
	ArkProblem no_column = {(gchar *)"name", 2, 0, (gchar *)"m"};
	ArkProblem nothing = {(gchar *)"", 0, 0, (gchar *)"the document is empty"};
	g_autofree gchar *a = ark_problem_to_string(&full, "file.json");
	g_autofree gchar *b = ark_problem_to_string(&full, NULL);
	g_autofree gchar *c = ark_problem_to_string(&no_column, "f.json");
	g_autofree gchar *d = ark_problem_to_string(&nothing, "f.json");
	g_autofree gchar *e = ark_problem_to_string(&nothing, NULL);

	g_assert_cmpstr(a, ==, "file.json:3:7: tasks[1].needs[0]: unknown task 'bild'");
	g_assert_cmpstr(b, ==, "3:7: tasks[1].needs[0]: unknown task 'bild'");
	g_assert_cmpstr(c, ==, "f.json:2: name: m");
	g_assert_cmpstr(d, ==, "f.json: the document is empty");
	g_assert_cmpstr(e, ==, "the document is empty");
}

static void
ark_workflow_test_cycle(void)
{
	g_autofree gchar *text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"tasks\": ["
	    "{\"id\": \"ok\"},"
	    "{\"id\": \"a\", \"needs\": [\"ok\", \"b\"]},"
	    "{\"id\": \"b\", \"needs\": [\"c\", \"a\"]},"
	    "{\"id\": \"c\", \"needs\": [\"a\"]},"
	    "{\"id\": \"after\", \"needs\": [\"c\"]}]}",
	    -1, NULL);

	/* the shortest way back, not the first found: b needs a directly */
	g_assert_cmpstr(text, ==, "1:38: tasks[1]: dependency cycle: a -> b -> a\n");
}

/* a chain of n tasks where task i needs task i + 1, optionally closed into one big cycle */
static gchar *
ark_workflow_test_chain(guint n, gboolean closed)
{
	GString *str = g_string_new("{\"name\": \"chain\", \"tasks\": [\n");

	for (guint i = 0; i < n; i++) {
		g_string_append_printf(str, "%s{\"id\": \"t%u\"", i > 0 ? ",\n" : "", i);
		if (i + 1 < n)
			g_string_append_printf(str, ", \"needs\": [\"t%u\"]", i + 1);
		else if (closed)
			g_string_append(str, ", \"needs\": [\"t0\"]");
		g_string_append(str, ", \"run\": [\"true\"]}");
	}
	g_string_append(str, "\n]}\n");
	return g_string_free(str, FALSE);
}

static void
ark_workflow_test_long_cycle(void)
{
	g_autofree gchar *data = ark_workflow_test_chain(10000, TRUE);
	g_autofree gchar *text = ark_workflow_test_parse_bad(data, -1, NULL);

	g_assert_true(
	    g_str_has_prefix(text, "2:1: tasks[0]: dependency cycle: t0 -> t1 -> t2 -> "));
	g_assert_true(g_str_has_suffix(text, " -> t9998 -> t9999 -> t0\n"));
}

static void
ark_workflow_test_large(void)
{
	g_autofree gchar *chain = ark_workflow_test_chain(10000, FALSE);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(chain, -1);
	GString *str = g_string_new("{\"name\": \"fan\", \"tasks\": [");
	g_autofree gchar *fan = NULL;
	g_autoptr(ArkWorkflow) fanned = NULL;
	const guint *order = ark_workflow_get_topological_order(workflow);
	g_autofree guint *position = g_new0(guint, 10000);
	guint line = 0;

	g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), ==, 10000);
	for (guint i = 0; i < 10000; i++)
		g_assert_cmpuint(order[i], ==, 9999 - i);
	ark_workflow_get_task_location(workflow, 9999, &line, NULL);
	g_assert_cmpuint(line, ==, 10001);

	/* every task needs up to 8 earlier ones */
	for (guint i = 0; i < 10000; i++) {
		g_string_append_printf(str, "%s{\"id\": \"task-%u\", \"needs\": [",
				       i ? "," : "", i);
		for (guint k = 1; k <= 8 && k <= i; k++)
			g_string_append_printf(str, "%s\"task-%u\"", k > 1 ? "," : "",
					       (i * 7 + k) % i);
		g_string_append(str, "], \"env\": {\"N\": \"1\"}, \"timeout\": \"1m\"}");
	}
	g_string_append(str, "]}");
	fan = g_string_free(str, FALSE);
	fanned = ark_workflow_test_parse_ok(fan, -1);
	order = ark_workflow_get_topological_order(fanned);
	for (guint k = 0; k < 10000; k++)
		position[order[k]] = k;
	for (guint i = 0; i < 10000; i++) {
		const ArkTaskSpec *t = ark_workflow_get_task(fanned, i);
		for (guint k = 0; t->needs[k] != NULL; k++) {
			const ArkTaskSpec *need = ark_workflow_lookup_task(fanned, t->needs[k]);
			g_assert_cmpuint(position[need->index], <, position[i]);
		}
	}
}

static void
ark_workflow_test_hostile_deep_nesting(void)
{
	const guint depth = 100000;
	GString *str = g_string_new("{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": ");
	g_autofree gchar *data = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *ok = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;

	for (guint i = 0; i < depth; i++)
		g_string_append_c(str, '[');
	for (guint i = 0; i < depth; i++)
		g_string_append_c(str, ']');
	g_string_append(str, "}]}");
	data = g_string_free(str, FALSE);
	text = ark_workflow_test_parse_bad(data, -1, NULL);
	/* the root, tasks, tasks[0] and 61 levels of args */
	g_assert_cmpstr(text, ==,
			"1:106: invalid JSON: the document is nested too deeply (more than 64 "
			"levels)\n");

	/* exactly at the limit is fine; brackets inside strings do not count */
	str = g_string_new("{\"name\": \"[[[[\", \"tasks\": [{\"id\": \"a\", \"args\": ");
	for (guint i = 0; i < 61; i++)
		g_string_append_c(str, '[');
	g_string_append(str, "\"[[[[{{{{\"");
	for (guint i = 0; i < 61; i++)
		g_string_append_c(str, ']');
	g_string_append(str, "}]}");
	ok = g_string_free(str, FALSE);
	workflow = ark_workflow_test_parse_ok(ok, -1);
}

static void
ark_workflow_test_hostile_too_large(void)
{
	gsize size = 20 * 1024 * 1024;
	g_autofree gchar *data = g_malloc(size + 1);
	g_autofree gchar *text = NULL;
	g_autofree gchar *text2 = NULL;
	const gchar *head = "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"description\": \"";

	memset(data, 'x', size);
	memcpy(data, head, strlen(head));
	memcpy(data + size - 4, "\"}]}", 4);
	data[size] = '\0';
	text = ark_workflow_test_parse_bad(data, (gssize)size, NULL);
	g_assert_cmpstr(text, ==, "the document is too large (more than 16777216 bytes)\n");
	text2 = ark_workflow_test_parse_bad(data, -1, NULL);
	g_assert_cmpstr(text2, ==, text);
}

static void
ark_workflow_test_hostile_bytes(void)
{
	static const struct {
		const gchar *data;
		gssize length;
		const gchar *expected;
	} cases[] = {
	    {"{\"name\": \"\xff\"}", -1, "1:11: the document is not valid UTF-8\n"},
	    {"{\"name\":\n \"\xc3\x28\"}", -1, "2:3: the document is not valid UTF-8\n"},
	    {"{\"name\": \"a\0b\"}", 16, "1:12: the document contains a NUL byte\n"},
	    {"{\"name\": \"a\\u0000b\", \"tasks\": [{\"id\": \"a\"}]}", -1,
	     "1:12: invalid JSON: \\u0000 is not allowed in strings\n"},
	    {"{\"name\": \"\\ud800\", \"tasks\": [{\"id\": \"a\"}]}", -1,
	     "1:11: invalid JSON: unpaired surrogate \\uD800\n"},
	    {"{\"name\": \"a\tb\", \"tasks\": [{\"id\": \"a\"}]}", -1,
	     "1:12: invalid JSON: control character U+0009 in a string (write it as \\u0009)\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": 1e999}]}", -1,
	     "1:45: invalid JSON: number 1e999 is out of range\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": -9223372036854775809}]}", -1,
	     "1:45: invalid JSON: number -9223372036854775809 is out of range (integers must fit "
	     "in 64 bits)\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": NaN}]}", -1,
	     "1:45: invalid JSON: unexpected word 'NaN', expected a value (strings need double "
	     "quotes)\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": 01}]}", -1,
	     "1:45: invalid JSON: invalid number '01'\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": .5}]}", -1,
	     "1:45: invalid JSON: unexpected character '.', expected a value\n"},
	    {"{\"name\": \"n\" \"tasks\": []}", -1,
	     "1:14: invalid JSON: unexpected character '\"', expected ',' or '}'\n"},
	    {"{\"name\": \"n\", \"tasks\": [{\"id\": \"a\"}]", -1,
	     "1:37: invalid JSON: unexpected end of the document\n"},
	    {"{name: 1}", -1,
	     "1:2: invalid JSON: unexpected character 'n', expected a member name in double "
	     "quotes\n"},
	    {"   \n\t ", -1, "the document is empty\n"},
	    {"", 0, "the document is empty\n"},
	    {"null", -1, "1:1: the document must be a JSON object, got null\n"},
	    {"\"workflow\"", -1, "1:1: the document must be a JSON object, got a string\n"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text = NULL;

		g_test_message("case %u", i);
		text = ark_workflow_test_parse_bad(cases[i].data, cases[i].length, NULL);
		g_assert_cmpstr(text, ==, cases[i].expected);
	}
}

static void
ark_workflow_test_hostile_counts(void)
{
	GString *str = g_string_new("{\"name\": \"n\", \"tasks\": [");
	g_autofree gchar *many = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *typos = NULL;
	g_autofree gchar *typos_text = NULL;
	guint n = 0;

	for (guint i = 0; i <= ARK_WORKFLOW_MAX_TASKS; i++)
		g_string_append_printf(str, "%s{\"id\": \"t%u\"}", i ? "," : "", i);
	g_string_append(str, "]}");
	many = g_string_free(str, FALSE);
	text = ark_workflow_test_parse_bad(many, -1, NULL);
	g_assert_cmpstr(text, ==, "1:15: tasks: too many tasks (100001, at most 100000)\n");

	/* every problem is real, but a user gains nothing from the 5001st */
	str = g_string_new("{\"name\": \"n\", \"tasks\": [");
	for (guint i = 0; i < 5000; i++)
		g_string_append_printf(str, "%s{\"id\": \"t%u\", \"x\": 1}", i ? "," : "", i);
	g_string_append(str, "]}");
	typos = g_string_free(str, FALSE);
	typos_text = ark_workflow_test_parse_bad(typos, -1, &n);
	g_assert_cmpuint(n, ==, 1001);
	g_assert_true(g_str_has_suffix(typos_text, "\n4000 more problems not shown\n"));
}

static void
ark_workflow_test_strict_duplicates(void)
{
	guint n = 0;
	g_autofree gchar *text = ark_workflow_test_parse_bad(
	    "{\"name\": \"a\", \"name\": \"b\",\n"
	    " \"tasks\": [{\"id\": \"a\", \"env\": {\"X\": \"1\", \"X\": \"2\"}}]}",
	    -1, &n);

	g_assert_cmpstr(text, ==,
			"1:15: name: duplicate member 'name' (first defined at line 1)\n"
			"2:42: tasks[0].env.X: duplicate member 'X' (first defined at line 2)\n");
}

/* a workflow of one task "a" with @members added to it, e.g. "\"retry\": 3" */
static gchar *
ark_workflow_test_one_task(const gchar *members)
{
	return g_strdup_printf("{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", %s}]}", members);
}

static void
ark_workflow_test_retry_default(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"run\": [\"true\"]}]}", -1);
	const ArkTaskSpec *a = ark_workflow_get_task(workflow, 0);

	/* the engine reads spec->retry without asking whether there is one */
	g_assert_cmpuint(a->retry.max_attempts, ==, 1);
	g_assert_cmpint(a->retry.backoff, ==, ARK_BACKOFF_EXPONENTIAL);
	g_assert_cmpint(a->retry.initial_delay, ==, 1 * SEC);
	g_assert_cmpint(a->retry.max_delay, ==, 300 * SEC);
	g_assert_cmpfloat(a->retry.multiplier, ==, 2.0);
	g_assert_true(a->retry.jitter);
	g_assert_cmpuint(a->retry.retry_on, ==, ARK_RETRY_ON_DEFAULT);
	g_assert_null(a->retry.exit_codes);
	g_assert_cmpuint(a->retry.n_exit_codes, ==, 0);
	g_assert_cmpint(a->queue_timeout, ==, 0);
	g_assert_cmpint(ark_workflow_get_failure_mode(workflow), ==, ARK_FAILURE_MODE_CONTINUE);
	g_assert_cmpint(ark_workflow_get_timeout(workflow), ==, 0);
	g_assert_cmpstr(ark_workflow_get_definition(workflow), ==,
			"{\"name\":\"n\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}");
}

static void
ark_workflow_test_retry_members(void)
{
	g_autofree gchar *path =
	    g_test_build_filename(G_TEST_DIST, "workflows", "valid", "retry.json", NULL);
	g_autofree gchar *data = ark_test_read_file(path);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const ArkTaskSpec *fetch = ark_workflow_lookup_task(workflow, "fetch");
	const ArkTaskSpec *flaky = ark_workflow_lookup_task(workflow, "flaky");
	const ArkTaskSpec *slow = ark_workflow_lookup_task(workflow, "slow");
	const ArkTaskSpec *once = ark_workflow_lookup_task(workflow, "once");
	const ArkTaskSpec *steep = ark_workflow_lookup_task(workflow, "steep");
	const gint codes[] = {75, 111};

	g_assert_cmpint(ark_workflow_get_failure_mode(workflow), ==, ARK_FAILURE_MODE_FAIL_FAST);
	g_assert_cmpint(ark_workflow_get_timeout(workflow), ==, 7200 * SEC);

	/* defaults.retry, with the built-in values for what it leaves out */
	g_assert_cmpuint(fetch->retry.max_attempts, ==, 3);
	g_assert_cmpint(fetch->retry.backoff, ==, ARK_BACKOFF_EXPONENTIAL);
	g_assert_cmpint(fetch->retry.initial_delay, ==, 2 * SEC);
	g_assert_cmpint(fetch->retry.max_delay, ==, 60 * SEC);
	g_assert_cmpfloat(fetch->retry.multiplier, ==, 2.0);
	g_assert_false(fetch->retry.jitter);
	g_assert_cmpuint(fetch->retry.retry_on, ==, ARK_RETRY_ON_DEFAULT);
	g_assert_cmpint(fetch->queue_timeout, ==, 600 * SEC);

	/* a task's retry replaces defaults.retry as a whole: jitter is back to true */
	g_assert_cmpuint(flaky->retry.max_attempts, ==, 5);
	g_assert_cmpint(flaky->retry.backoff, ==, ARK_BACKOFF_FIXED);
	g_assert_cmpint(flaky->retry.initial_delay, ==, SEC / 2);
	g_assert_cmpint(flaky->retry.max_delay, ==, 300 * SEC);
	g_assert_true(flaky->retry.jitter);
	g_assert_cmpuint(flaky->retry.retry_on, ==, ARK_RETRY_ON_FAILED | ARK_RETRY_ON_ERROR);
	g_assert_cmpmem(flaky->retry.exit_codes, flaky->retry.n_exit_codes * sizeof(gint), codes,
			sizeof(codes));
	g_assert_cmpint(flaky->queue_timeout, ==, 600 * SEC);

	/* "retry": 2 is {"max_attempts": 2}; a queue_timeout of 0 switches the default off */
	g_assert_cmpuint(slow->retry.max_attempts, ==, 2);
	g_assert_cmpint(slow->retry.initial_delay, ==, 1 * SEC);
	g_assert_true(slow->retry.jitter);
	g_assert_cmpint(slow->queue_timeout, ==, 0);

	g_assert_cmpuint(once->retry.max_attempts, ==, 1);
	g_assert_cmpint(once->queue_timeout, ==, 90 * SEC);

	g_assert_cmpuint(steep->retry.max_attempts, ==, ARK_WORKFLOW_MAX_ATTEMPTS);
	g_assert_cmpfloat(steep->retry.multiplier, ==, 1.5);
	g_assert_cmpint(steep->retry.initial_delay, ==, SEC / 10);
	g_assert_cmpint(steep->retry.max_delay, ==, 86400 * SEC);
	g_assert_cmpuint(steep->retry.retry_on, ==, ARK_RETRY_ON_LOST | ARK_RETRY_ON_TIMED_OUT);

	ark_workflow_test_assert_contains(
	    ark_workflow_get_definition(workflow),
	    "\"on_failure\":\"fail-fast\",\"timeout\":\"2h\",\"defaults\":{\"retry\":"
	    "{\"max_attempts\":3,\"initial_delay\":\"2s\",\"max_delay\":\"1m\",\"jitter\":false},"
	    "\"queue_timeout\":\"10m\"}");
	ark_workflow_test_assert_contains(
	    ark_workflow_get_definition(workflow),
	    "\"retry\":{\"max_attempts\":5,\"backoff\":\"fixed\",\"initial_delay\":\"500ms\","
	    "\"on\":[\"failed\",\"error\"],\"exit_codes\":[75,111]}");
}

static void
ark_workflow_test_retry_limits(void)
{
	GString *codes = g_string_new("\"retry\": {\"exit_codes\": [");
	g_autofree gchar *all = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	const ArkTaskSpec *a;

	/* every exit code there is, in any order, is not too many */
	for (guint i = 255; i >= 1; i--)
		g_string_append_printf(codes, "%s%u", i < 255 ? "," : "", i);
	g_string_append(codes, "], \"max_attempts\": 1000.0, \"multiplier\": 100}");
	all = ark_workflow_test_one_task(codes->str);
	g_string_free(codes, TRUE);
	workflow = ark_workflow_test_parse_ok(all, -1);
	a = ark_workflow_get_task(workflow, 0);
	g_assert_cmpuint(a->retry.n_exit_codes, ==, 255);
	g_assert_cmpint(a->retry.exit_codes[0], ==, 255);
	g_assert_cmpint(a->retry.exit_codes[254], ==, 1);
	g_assert_cmpuint(a->retry.max_attempts, ==, 1000);
	g_assert_cmpfloat(a->retry.multiplier, ==, 100.0);
	ark_workflow_test_assert_round_trip(workflow);
}

/* malformed and hostile values, each with the exact problem a user sees */
static void
ark_workflow_test_retry_hostile(void)
{
	static const struct {
		const gchar *members;
		const gchar *expected;
	} cases[] = {
	    {"\"retry\": 0", "tasks[0].retry: max_attempts 0 is out of range (1 to 1000)"},
	    {"\"retry\": 1e300", "tasks[0].retry: max_attempts 1e+300 is out of range (1 to 1000)"},
	    {"\"retry\": -9223372036854775808",
	     "tasks[0].retry: max_attempts -9223372036854775808 is out of range (1 to 1000)"},
	    {"\"retry\": 2.5", "tasks[0].retry: expected an integer, got a number"},
	    {"\"retry\": true", "tasks[0].retry: expected an object or a number of attempts, got a "
			       "boolean"},
	    {"\"retry\": null", "tasks[0].retry: expected an object or a number of attempts, got "
			       "null"},
	    {"\"retry\": [3]", "tasks[0].retry: expected an object or a number of attempts, got an "
			      "array"},
	    {"\"retry\": {\"max_attempts\": null}",
	     "tasks[0].retry.max_attempts: expected an integer, got null"},
	    {"\"retry\": {\"max_attempts\": \"3\"}",
	     "tasks[0].retry.max_attempts: expected an integer, got a string"},
	    {"\"retry\": {\"max_attempts\": 9223372036854775807}",
	     "tasks[0].retry.max_attempts: max_attempts 9223372036854775807 is out of range (1 to "
	     "1000)"},
	    {"\"retry\": {\"backoff\": \"linear\"}",
	     "tasks[0].retry.backoff: unknown backoff 'linear' (expected exponential or fixed)"},
	    {"\"retry\": {\"backoff\": \"Fixed\"}",
	     "tasks[0].retry.backoff: unknown backoff 'Fixed' (did you mean 'fixed'?)"},
	    {"\"retry\": {\"backoff\": 1}", "tasks[0].retry.backoff: expected a string, got an "
					    "integer"},
	    {"\"retry\": {\"initial_delay\": \"-1s\"}",
	     "tasks[0].retry.initial_delay: invalid duration '-1s': negative durations are not "
	     "allowed"},
	    {"\"retry\": {\"initial_delay\": 1e300}",
	     "tasks[0].retry.initial_delay: invalid duration 1e+300: too large"},
	    {"\"retry\": {\"max_delay\": \"0s\"}",
	     "tasks[0].retry.max_delay: max_delay 0s is shorter than initial_delay 1s"},
	    {"\"retry\": {\"max_delay\": \"1s\", \"initial_delay\": \"1.5s\"}",
	     "tasks[0].retry.max_delay: max_delay 1s is shorter than initial_delay 1.5s"},
	    {"\"retry\": {\"initial_delay\": \"6m\"}",
	     "tasks[0].retry.initial_delay: initial_delay 6m is longer than the default max_delay "
	     "5m (set max_delay too)"},
	    {"\"retry\": {\"multiplier\": 0}",
	     "tasks[0].retry.multiplier: multiplier 0 is out of range (1 to 100)"},
	    {"\"retry\": {\"multiplier\": -2.5}",
	     "tasks[0].retry.multiplier: multiplier -2.5 is out of range (1 to 100)"},
	    {"\"retry\": {\"multiplier\": 1e308}",
	     "tasks[0].retry.multiplier: multiplier 1e+308 is out of range (1 to 100)"},
	    {"\"retry\": {\"multiplier\": \"2\"}",
	     "tasks[0].retry.multiplier: expected a number, got a string"},
	    {"\"retry\": {\"jitter\": 1}",
	     "tasks[0].retry.jitter: expected true or false, got an integer"},
	    {"\"retry\": {\"on\": \"failed\"}",
	     "tasks[0].retry.on: expected an array, got a string"},
	    {"\"retry\": {\"on\": [\"error\", null]}",
	     "tasks[0].retry.on[1]: expected a string, got null"},
	    {"\"retry\": {\"on\": [\"timeout\"]}",
	     "tasks[0].retry.on[0]: unknown outcome 'timeout' (did you mean 'timed_out'?)"},
	    {"\"retry\": {\"on\": [\"crash\"]}",
	     "tasks[0].retry.on[0]: unknown outcome 'crash' (expected failed, timed_out, lost or "
	     "error)"},
	    {"\"retry\": {\"on\": [\"error\", \"error\"]}",
	     "tasks[0].retry.on[1]: duplicate outcome 'error'"},
	    {"\"retry\": {\"exit_codes\": [-1]}",
	     "tasks[0].retry.exit_codes[0]: exit code -1 is out of range (1 to 255)"},
	    {"\"retry\": {\"exit_codes\": [1e20]}",
	     "tasks[0].retry.exit_codes[0]: exit code 1e+20 is out of range (1 to "
	     "255)"},
	    {"\"retry\": {\"exit_codes\": 3}",
	     "tasks[0].retry.exit_codes: expected an array, got an integer"},
	    {"\"retry\": {\"exit_codes\": [2, 2.0]}",
	     "tasks[0].retry.exit_codes[1]: duplicate exit code 2"},
	    {"\"retry\": {\"on\": [\"lost\"], \"exit_codes\": [1]}",
	     "tasks[0].retry.exit_codes: exit codes only matter for the \"failed\" outcome, which "
	     "\"on\" leaves out"},
	    {"\"retry\": {\"max_attempt\": 3}",
	     "tasks[0].retry.max_attempt: unknown member 'max_attempt' (did you mean "
	     "'max_attempts'?)"},
	    {"\"retry\": {\"delay\": \"1s\"}", "tasks[0].retry.delay: unknown member 'delay'"},
	    {"\"retry\": {\"max_attempts\": 2, \"max_attempts\": 3}",
	     "tasks[0].retry.max_attempts: duplicate member 'max_attempts' (first defined at line "
	     "1)"},
	    {"\"queue_timeout\": -1",
	     "tasks[0].queue_timeout: invalid duration -1: negative durations are not allowed"},
	    {"\"queue_timeout\": \"1 hour\"",
	     "tasks[0].queue_timeout: invalid duration '1 hour': spaces are not allowed"},
	    {"\"queue_timeout\": 9223372036854775807",
	     "tasks[0].queue_timeout: invalid duration 9223372036854775807: too large"},
	    /* ark_duration_parse() quotes one byte of "\u048C": the message stays valid UTF-8 */
	    {"\"queue_timeout\": \"3\xd2\x8c" "run\"",
	     "tasks[0].queue_timeout: invalid duration '3\xd2\x8c" "run': unexpected "
	     "'\xef\xbf\xbd' after '3'"},
	    {"\"queue_timeout\": {}", "tasks[0].queue_timeout: expected a duration (a string such "
				      "as \"1m30s\" or a number of seconds), got an object"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *data = ark_workflow_test_one_task(cases[i].members);
		g_autofree gchar *text = NULL;
		g_autofree gchar *want = NULL;
		gchar *position;

		g_test_message("%s", cases[i].members);
		text = ark_workflow_test_parse_bad(data, -1, NULL);
		/* the positions are tested elsewhere: compare from the path on */
		position = strstr(text, ": tasks[0]");
		g_assert_nonnull(position);
		want = g_strdup_printf("%s\n", cases[i].expected);
		g_assert_cmpstr(position + 2, ==, want);
	}
}

static void
ark_workflow_test_run_limits(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"on_failure\": \"continue\", \"timeout\": 0,"
	    " \"defaults\": {\"queue_timeout\": 30}, \"tasks\": [{\"id\": \"a\"},"
	    " {\"id\": \"b\", \"queue_timeout\": \"1.5s\"}]}",
	    -1);
	g_autoptr(ArkWorkflow) fast = ark_workflow_test_parse_ok(
	    "{\"tasks\": [{\"id\": \"a\"}], \"timeout\": 90.5, \"on_failure\": \"fail-fast\", "
	    "\"name\": \"n\"}",
	    -1);
	g_autofree gchar *text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"on_failure\": true, \"timeout\": \"-1s\", \"tasks\": [{\"id\": "
	    "\"a\"}], \"on_failure\": \"abort\"}",
	    -1, NULL);

	g_assert_cmpint(ark_workflow_get_failure_mode(workflow), ==, ARK_FAILURE_MODE_CONTINUE);
	g_assert_cmpint(ark_workflow_get_timeout(workflow), ==, 0);
	g_assert_cmpint(ark_workflow_get_task(workflow, 0)->queue_timeout, ==, 30 * SEC);
	g_assert_cmpint(ark_workflow_get_task(workflow, 1)->queue_timeout, ==, 3 * SEC / 2);
	/* values that change nothing are left out of the definition */
	g_assert_cmpstr(ark_workflow_get_definition(workflow), ==,
			"{\"name\":\"n\",\"defaults\":{\"queue_timeout\":\"30s\"},\"tasks\":["
			"{\"id\":\"a\"},{\"id\":\"b\",\"queue_timeout\":\"1.5s\"}]}");

	g_assert_cmpint(ark_workflow_get_failure_mode(fast), ==, ARK_FAILURE_MODE_FAIL_FAST);
	g_assert_cmpint(ark_workflow_get_timeout(fast), ==, 90 * SEC + SEC / 2);
	g_assert_cmpstr(ark_workflow_get_definition(fast), ==,
			"{\"name\":\"n\",\"on_failure\":\"fail-fast\",\"timeout\":\"1m30.5s\","
			"\"tasks\":[{\"id\":\"a\"}]}");

	/* json-glib keeps the last of duplicate members, so only that one is checked */
	g_assert_cmpstr(text, ==,
			"1:35: timeout: invalid duration '-1s': negative durations are not "
			"allowed\n"
			"1:77: on_failure: duplicate member 'on_failure' (first defined at line "
			"1)\n"
			"1:77: on_failure: unknown failure mode 'abort' (expected continue or "
			"fail-fast)\n");
}

/* everything a document can say, through the definition and back */
static void
ark_workflow_test_definition_round_trip(void)
{
	const gchar *data =
	    "{\"policy\": \"priority\","
	    " \"description\": \"d \\\"q\\\" \\u00e9 \\u001f \\ud83d\\ude00\","
	    " \"name\": \"all\", \"timeout\": \"1d2h3m4.5s\", \"on_failure\": \"fail-fast\","
	    " \"defaults\": {\"executor\": \"thread\", \"shell\": true, \"cwd\": \"/tmp\","
	    "  \"env\": {\"A\": \"1=2\", \"B\": \"\"}, \"priority\": 7, \"timeout\": 0.000001,"
	    "  \"allow_failure\": true, \"retry\": 4, \"queue_timeout\": \"1h\"},"
	    " \"tasks\": ["
	    "  {\"id\": \"a\", \"run\": \"echo \\\"$A\\\"\\n\\techo\", \"estimate\": 1.25,"
	    "   \"deadline\": \"+1h30m\", \"description\": \"first\", \"labels\": {\"k\": \"v\","
	    "   \"with space\": \"\\u00fc\"}},"
	    "  {\"id\": \"b\", \"needs\": [\"a\"], \"executor\": \"process\", \"shell\": false,"
	    "   \"run\": [\"/bin/echo\", \"x y\", \"\"], \"cwd\": \"/\", \"env\": {},"
	    "   \"priority\": -3.0,"
	    "   \"timeout\": \"0s\", \"allow_failure\": false, \"queue_timeout\": 0,"
	    "   \"deadline\": \"2030-06-01T14:00:00.123400+02:00\","
	    "   \"retry\": {\"max_attempts\": 9, \"backoff\": \"fixed\", \"initial_delay\": 0,"
	    "    \"max_delay\": 0, \"multiplier\": 1.1, \"jitter\": false,"
	    "    \"on\": [\"error\", \"failed\"], \"exit_codes\": [3, 1, 2]}},"
	    "  {\"id\": \"c\", \"needs\": [\"b\", \"a\"], \"function\": \"f\","
	    "   \"args\": {\"n\": [1,"
	    "   2.5, -0.0, 1e-300, true, null, {\"s\": \"\\u0001\"}]}, \"deadline\": "
	    "\"2040-01-01t00:00:00z\"},"
	    "  {\"id\": \"d\", \"needs\": [], \"args\": null, \"estimate\": 0, \"labels\": {}}"
	    " ]}";
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const ArkTaskSpec *a = ark_workflow_get_task(workflow, 0);
	const ArkTaskSpec *b = ark_workflow_get_task(workflow, 1);
	const ArkTaskSpec *d = ark_workflow_get_task(workflow, 3);

	g_assert_cmpstr(a->executor, ==, "thread");
	g_assert_cmpint(a->timeout, ==, 1);
	g_assert_cmpuint(a->retry.max_attempts, ==, 4);
	g_assert_cmpint(a->queue_timeout, ==, 3600 * SEC);
	g_assert_cmpint(b->priority, ==, -3);
	g_assert_cmpint(b->retry.max_delay, ==, 0);
	g_assert_cmpint(b->deadline_absolute, ==, G_GINT64_CONSTANT(1906545600) * SEC + 123400);
	g_assert_cmpuint(d->retry.max_attempts, ==, 4);
	ark_workflow_test_assert_round_trip(workflow);
	ark_workflow_test_assert_contains(ark_workflow_get_definition(workflow),
					  "\"deadline\":\"2030-06-01T12:00:00.1234Z\"");
	ark_workflow_test_assert_contains(ark_workflow_get_definition(workflow),
					  "\"run\":\"echo \\\"$A\\\"\\n\\techo\"");
	ark_workflow_test_assert_contains(ark_workflow_get_definition(workflow),
					  "\"description\":\"d \\\"q\\\" \xC3\xA9 \\u001F "
					  "\xF0\x9F\x98\x80\"");
}

static ArkWorkflow *
ark_workflow_test_override_ok(ArkWorkflow *workflow, const gchar *task_id,
			      const gchar *overrides_json)
{
	g_autoptr(JsonNode) node = json_from_string(overrides_json, NULL);
	g_autoptr(GPtrArray) problems = NULL;
	ArkWorkflow *result;

	g_assert_nonnull(node);
	result = ark_workflow_override_task(workflow, task_id, json_node_get_object(node),
					    &problems);
	if (result == NULL) {
		g_autofree gchar *text = ark_workflow_test_problems_to_string(problems);
		g_error("unexpected problems:\n%s", text);
	}
	g_assert_cmpuint(problems->len, ==, 0);
	return result;
}

static gchar *
ark_workflow_test_override_bad(ArkWorkflow *workflow, const gchar *task_id,
			       const gchar *overrides_json)
{
	g_autoptr(JsonNode) node = json_from_string(overrides_json, NULL);
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) result = NULL;

	g_assert_nonnull(node);
	result = ark_workflow_override_task(workflow, task_id, json_node_get_object(node),
					    &problems);
	g_assert_null(result);
	g_assert_nonnull(problems);
	g_assert_cmpuint(problems->len, >, 0);
	return ark_workflow_test_problems_to_string(problems);
}

static void
ark_workflow_test_override(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"defaults\": {\"timeout\": \"1m\", \"env\": {\"A\": \"1\"}},"
	    " \"tasks\": ["
	    "  {\"id\": \"build\", \"run\": [\"make\"], \"timeout\": \"5m\", \"labels\": {\"x\": "
	    "\"y\"}},"
	    "  {\"id\": \"test\", \"needs\": [\"build\"], \"run\": [\"make\", \"check\"],"
	    "   \"retry\": 3, \"env\": {\"B\": \"2\"}}]}",
	    -1);
	g_autofree gchar *before = g_strdup(ark_workflow_get_definition(workflow));
	g_autoptr(ArkWorkflow) longer = NULL;
	g_autoptr(ArkWorkflow) cleared = NULL;
	g_autoptr(ArkWorkflow) same = NULL;
	const ArkTaskSpec *t;
	const gchar *const check_env[] = {"C=3", NULL};
	const gchar *const default_env[] = {"A=1", NULL};
	const gchar *const echo[] = {"echo", "hi", NULL};
	g_autofree gchar *text = NULL;
	guint line = 99;

	longer = ark_workflow_test_override_ok(
	    workflow, "test",
	    "{\"timeout\": \"2h\", \"retry\": {\"max_attempts\": 5, \"backoff\": \"fixed\"},"
	    " \"env\": {\"C\": \"3\"}, \"run\": [\"echo\", \"hi\"], \"queue_timeout\": 60}");
	t = ark_workflow_lookup_task(longer, "test");
	g_assert_cmpint(t->timeout, ==, 7200 * SEC);
	g_assert_cmpuint(t->retry.max_attempts, ==, 5);
	g_assert_cmpint(t->retry.backoff, ==, ARK_BACKOFF_FIXED);
	g_assert_cmpstrv(t->env, check_env);
	g_assert_cmpstrv(t->run, echo);
	g_assert_cmpint(t->queue_timeout, ==, 60 * SEC);
	g_assert_cmpstr(t->needs[0], ==, "build");
	/* the rest of the workflow is as it was, the workflow itself too */
	ark_workflow_test_assert_spec_equal(ark_workflow_get_task(longer, 0),
					    ark_workflow_get_task(workflow, 0));
	g_assert_cmpstr(ark_workflow_get_definition(workflow), ==, before);
	g_assert_cmpuint(ark_workflow_lookup_task(workflow, "test")->retry.max_attempts, ==, 3);
	ark_workflow_test_assert_round_trip(longer);
	/* positions in the made-up document would only mislead */
	ark_workflow_get_task_location(longer, 1, &line, NULL);
	g_assert_cmpuint(line, ==, 0);

	/* null removes the task's own value, so that defaults apply again */
	cleared = ark_workflow_test_override_ok(
	    workflow, "test", "{\"retry\": null, \"env\": null, \"timeout\": null}");
	t = ark_workflow_lookup_task(cleared, "test");
	g_assert_cmpuint(t->retry.max_attempts, ==, 1);
	g_assert_cmpstrv(t->env, default_env);
	g_assert_cmpint(t->timeout, ==, 60 * SEC);

	same = ark_workflow_test_override_ok(workflow, "build", "{}");
	g_assert_cmpstr(ark_workflow_get_definition(same), ==, before);

	text = ark_workflow_test_override_bad(workflow, "test",
					      "{\"id\": \"x\", \"needs\": [], \"timeout\": 1}");
	g_assert_cmpstr(text, ==,
			"overrides.id: 'id' can not be overridden\n"
			"overrides.needs: 'needs' can not be overridden\n");
	g_clear_pointer(&text, g_free);

	text = ark_workflow_test_override_bad(workflow, "tset", "{\"timeout\": 1}");
	g_assert_cmpstr(text, ==, "unknown task 'tset' (did you mean 'test'?)\n");
	g_clear_pointer(&text, g_free);

	/* checked exactly like a document, with paths that name the override */
	text = ark_workflow_test_override_bad(
	    workflow, "test",
	    "{\"timout\": \"1s\", \"timeout\": -1, \"retry\": {\"max_attempts\": 0},"
	    " \"run\": \"make check\", \"env\": {\"1X\": \"y\"}, \"queue_timeout\": [],"
	    " \"priority\": 1e10}");
	g_assert_cmpstr(
	    text, ==,
	    "overrides.timout: unknown member 'timout' (did you mean 'timeout'?)\n"
	    "overrides.timeout: invalid duration -1: negative durations are not allowed\n"
	    "overrides.retry.max_attempts: max_attempts 0 is out of range (1 to 1000)\n"
	    "overrides.run: a string needs \"shell\": true (without a shell, give the program and "
	    "its arguments as an array)\n"
	    "overrides.env.1X: invalid environment variable name '1X' (use letters, digits and "
	    "'_', not starting with a digit)\n"
	    "overrides.queue_timeout: expected a duration (a string such as \"1m30s\" or a number "
	    "of seconds), got an array\n"
	    "overrides.priority: priority 10000000000 is out of range (-1000000 to 1000000)\n");
}

/* member names are compared as json-glib reads them, escapes resolved */
static void
ark_workflow_test_escaped_names(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"na\\u006de\": \"n\", \"task\\u0073\": [{\"\\u0069d\": \"a\", "
	    "\"args\": {\"\\ud83d\\ude00\\n\": 1}}]}",
	    -1);
	g_autofree gchar *text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"n\\u0061me\": \"m\", \"tasks\": [{\"id\": \"a\", \"args\": "
	    "[[[[{\"k\": 1, \"\\u006b\": 2}]]]]}]}",
	    -1, NULL);
	JsonObject *args;

	g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), ==, 1);
	args = json_node_get_object(ark_workflow_get_task(workflow, 0)->args);
	g_assert_true(json_object_has_member(args, "\xF0\x9F\x98\x80\n"));
	ark_workflow_test_assert_round_trip(workflow);
	/* duplicates are found at any depth, not only where paths are kept */
	g_assert_cmpstr(text, ==,
			"1:15: name: duplicate member 'name' (first defined at line 1)\n"
			"1:76: tasks[0].args[0][0]: duplicate member 'k' (first defined at line "
			"1)\n");
}

/* arguments outlive the tree they were read from */
static void
ark_workflow_test_args_detached(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": {\"deep\": {\"list\": [1, "
	    "{\"x\": \"y\"}]}}}, {\"id\": \"b\", \"args\": \"s\"}]}",
	    -1);
	JsonNode *args = ark_workflow_get_task(workflow, 0)->args;
	JsonObject *deep;
	JsonArray *list;

	g_assert_null(json_node_get_parent(args));
	deep = json_object_get_object_member(json_node_get_object(args), "deep");
	list = json_object_get_array_member(deep, "list");
	g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(list, 1), "x"),
			==, "y");
	g_assert_cmpstr(json_node_get_string(ark_workflow_get_task(workflow, 1)->args), ==, "s");
}

/* big objects and arrays keep their order, and their duplicates are found, escaped or not */
static void
ark_workflow_test_many_members(void)
{
	GString *str = g_string_new("{\"name\": \"n\", \"tasks\": [");
	g_autofree gchar *data = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	const ArkTaskSpec *big;

	for (guint i = 0; i < 20; i++)
		g_string_append_printf(str, "{\"id\": \"t%u\"},", i);
	g_string_append(str, "{\"id\": \"big\", \"needs\": [");
	for (guint i = 0; i < 20; i++)
		g_string_append_printf(str, "%s\"t%u\"", i > 0 ? ", " : "", 19 - i);
	g_string_append(str, "], \"env\": {");
	for (guint i = 0; i < 40; i++)
		g_string_append_printf(str, "%s\"V%u\": \"%u\"", i > 0 ? ", " : "", 39 - i, i);
	g_string_append(str, "}, \"labels\": {");
	for (guint i = 0; i < 40; i++)
		g_string_append_printf(str, "%s\"l%u\": \"x\"", i > 0 ? ", " : "", i);
	g_string_append(str, "}}]}");
	data = g_string_free(str, FALSE);
	workflow = ark_workflow_test_parse_ok(data, -1);
	big = ark_workflow_lookup_task(workflow, "big");
	g_assert_cmpuint(g_strv_length(big->needs), ==, 20);
	g_assert_cmpuint(g_strv_length(big->env), ==, 40);
	for (guint i = 0; i < 20; i++) {
		g_autofree gchar *need = g_strdup_printf("t%u", 19 - i);
		g_assert_cmpstr(big->needs[i], ==, need);
	}
	for (guint i = 0; i < 40; i++) {
		g_autofree gchar *env = g_strdup_printf("V%u=%u", 39 - i, i);
		g_assert_cmpstr(big->env[i], ==, env);
	}
	ark_workflow_test_assert_round_trip(workflow);

	str = g_string_new("{\"name\": \"n\",\n\"tasks\": [");
	for (guint i = 0; i < 20; i++)
		g_string_append_printf(str, "{\"id\": \"t%u\"}, ", i);
	g_string_append(str, "{\"id\": \"a\", \"needs\": [");
	for (guint i = 0; i < 20; i++)
		g_string_append_printf(str, "\"t%u\", ", i);
	g_string_append(str, "\"t3\"],\n\"env\": {");
	for (guint i = 0; i < 20; i++)
		g_string_append_printf(str, "\"V%u\": \"x\", ", i);
	g_string_append(str, "\"V\\u0031\": \"y\",\n\"V19\": \"z\"}},\n");
	/* every member a task can have, and one of them again */
	g_string_append(str, "{\"id\": \"b\", \"needs\": [], \"executor\": \"process\", \"run\": "
			     "[\"true\"], \"shell\": false, \"cwd\": \"/\", \"env\": {}, "
			     "\"function\": \"f\", \"args\": null, \"priority\": 1, \"estimate\": 1,\n"
			     "\"timeout\": 1, \"deadline\": \"+1s\", \"allow_failure\": true, "
			     "\"description\": \"d\", \"labels\": {}, \"retry\": 2, "
			     "\"queue_timeout\": 1,\n\"\\u0069d\": \"c\"}]}");
	g_clear_pointer(&data, g_free);
	data = g_string_free(str, FALSE);
	text = ark_workflow_test_parse_bad(data, -1, NULL);
	g_assert_cmpstr(text, ==,
			"2:453: tasks[20].needs[20]: duplicate need 't3'\n"
			"3:239: tasks[20].env.V1: duplicate member 'V1' (first defined at line 3)\n"
			"4:1: tasks[20].env.V19: duplicate member 'V19' (first defined at line 3)\n"
			"7:1: tasks[21].id: duplicate member 'id' (first defined at line 5)\n");
}

/* arguments are what json-glib reads from the document, number types and strings included */
static void
ark_workflow_test_args_values(void)
{
	const gchar *args = "{\"int\": 1, \"double\": 1.0, \"zero\": -0, \"negative-zero\": -0.0, "
			    "\"exponent\": 1e2, \"max\": 9223372036854775807, "
			    "\"min\": -9223372036854775808, \"tiny\": 1e-400, "
			    "\"string\": \"\\u00e9\\n\\ud83d\\ude00\\/\", \"list\": [true, false, null, "
			    "[], {}], \"nested\": {\"b\": [1.5, {\"c\": \"d\"}], \"a\": 2}}";
	g_autofree gchar *data =
	    g_strdup_printf("{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"args\": %s}]}", args);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	g_autoptr(JsonNode) expected = json_from_string(args, NULL);
	JsonNode *node = ark_workflow_get_task(workflow, 0)->args;
	JsonObject *object = json_node_get_object(node);
	g_autofree gchar *text = json_to_string(node, FALSE);
	g_autofree gchar *expected_text = json_to_string(expected, FALSE);

	g_assert_true(json_node_equal(node, expected));
	/* the same members in the same order */
	g_assert_cmpstr(text, ==, expected_text);
	g_assert_cmpint(json_node_get_value_type(json_object_get_member(object, "int")), ==,
			G_TYPE_INT64);
	g_assert_cmpint(json_node_get_value_type(json_object_get_member(object, "double")), ==,
			G_TYPE_DOUBLE);
	g_assert_cmpint(json_node_get_value_type(json_object_get_member(object, "zero")), ==,
			G_TYPE_INT64);
	g_assert_true(signbit(json_object_get_double_member(object, "negative-zero")));
	g_assert_cmpfloat(json_object_get_double_member(object, "exponent"), ==, 100.0);
	g_assert_cmpint(json_object_get_int_member(object, "max"), ==, G_MAXINT64);
	g_assert_cmpint(json_object_get_int_member(object, "min"), ==, G_MININT64);
	g_assert_cmpfloat(json_object_get_double_member(object, "tiny"), ==, 0.0);
	g_assert_cmpstr(json_object_get_string_member(object, "string"), ==,
			"\xC3\xA9\n\xF0\x9F\x98\x80/");
	ark_workflow_test_assert_round_trip(workflow);
}

/* bench/gen-dag.py queued: one thread "sleep" root and @n noop children that need it */
static gchar *
ark_workflow_test_queued(guint n)
{
	GString *str = g_string_new(NULL);

	g_string_append_printf(str,
			       "{\"name\":\"bench-queued-%u\",\"tasks\":[{\"id\":\"root\","
			       "\"executor\":\"thread\",\"function\":\"sleep\",\"args\":\"1s\"}",
			       n);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(str,
				       ",{\"id\":\"t%u\",\"needs\":[\"root\"],\"executor\":"
				       "\"thread\",\"function\":\"noop\"}",
				       i);
	g_string_append(str, "]}");
	return g_string_free(str, FALSE);
}

static gsize
ark_workflow_test_heap_in_use(void)
{
	struct mallinfo2 info = mallinfo2();
	/* large blocks (the specs) are mapped on their own and counted apart */
	return info.uordblks + info.hblkhd;
}

/*
 * What a parsed workflow costs per task, for the queued benchmark (bench/run.sh, section 3).
 * Prints the numbers; asserts only a bound far above them, which the old design (the json-glib
 * tree kept, some 1.4 KiB a task) did not meet: allocator details must not fail the test.
 */
static void
ark_workflow_test_memory(void)
{
	const guint n = 10000;
	g_autofree gchar *data = ark_workflow_test_queued(n);
	g_autoptr(ArkWorkflow) warm = NULL;
	ArkWorkflow *workflow;
	gsize before;
	gsize parsed;
	gsize defined;
	gdouble per_task;

#if defined(__SANITIZE_ADDRESS__)
	g_test_skip("the sanitizer's allocator does not report through mallinfo2()");
	return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	g_test_skip("the sanitizer's allocator does not report through mallinfo2()");
	return;
#endif
#endif
	/* types, quarks and the like are made once per process */
	warm = ark_workflow_test_parse_ok(
	    "{\"name\":\"n\",\"tasks\":[{\"id\":\"a\",\"args\":{\"x\":[1]}}]}", -1);
	(void)ark_workflow_get_definition(warm);

	before = ark_workflow_test_heap_in_use();
	workflow = ark_workflow_test_parse_ok(data, -1);
	parsed = ark_workflow_test_heap_in_use();
	(void)ark_workflow_get_definition(workflow);
	defined = ark_workflow_test_heap_in_use();
	per_task = (gdouble)(parsed - before) / (n + 1);
	g_test_message("parsed workflow: %.0f bytes/task; with its definition: %.0f bytes/task",
		       per_task, (gdouble)(defined - before) / (n + 1));
	if (g_test_verbose())
		g_printerr("parsed workflow: %.0f bytes/task; with its definition: %.0f "
			   "bytes/task\n",
			   per_task, (gdouble)(defined - before) / (n + 1));
	g_assert_cmpfloat(per_task, <, 600);
	ark_workflow_unref(workflow);
}

/* the document the recovery benchmark reads: a "sleep" root with a retry policy and @n - 1 noop
 * tasks that need it */
static gchar *
ark_workflow_test_recovery_document(guint n)
{
	GString *str = g_string_new(
	    "{\"name\":\"rec\",\"tasks\":[{\"id\":\"root\",\"executor\":\"thread\",\"function\":"
	    "\"sleep\",\"args\":\"60s\",\"retry\":{\"max_attempts\":5,\"initial_delay\":\"1ms\","
	    "\"jitter\":false,\"on\":[\"lost\"]}}");

	for (guint i = 1; i < n; i++)
		g_string_append_printf(str,
				       ",{\"id\":\"t%u\",\"needs\":[\"root\"],\"executor\":\"thread\","
				       "\"function\":\"noop\"}",
				       i);
	g_string_append(str, "]}");
	return g_string_free(str, FALSE);
}

/* @n tasks, each but the first three needing three earlier ones picked at random */
static gchar *
ark_workflow_test_random_dag(guint n)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	GString *str = g_string_new("{\"name\":\"random\",\"tasks\":[");

	for (guint i = 0; i < n; i++) {
		guint picked[3] = {0};
		guint n_picked = 0;

		g_string_append_printf(str, "%s{\"id\":\"task-%u\",\"executor\":\"thread\","
				       "\"function\":\"noop\"", i > 0 ? "," : "", i);
		while (i >= 3 && n_picked < 3) {
			guint j = (guint)g_rand_int_range(rand, 0, (gint32)i);
			if ((n_picked > 0 && picked[0] == j) || (n_picked > 1 && picked[1] == j))
				continue;
			picked[n_picked++] = j;
		}
		if (n_picked > 0)
			g_string_append_printf(str, ",\"needs\":[\"task-%u\",\"task-%u\",\"task-%u\"]",
					       picked[0], picked[1], picked[2]);
		g_string_append_c(str, '}');
	}
	g_string_append(str, "]}");
	return g_string_free(str, FALSE);
}

static void
ark_workflow_test_measure_parse(const gchar *label, const gchar *data)
{
	gdouble best = G_MAXDOUBLE;
	guint n = 0;

	for (guint r = 0; r < 5; r++) {
		g_autoptr(GTimer) timer = g_timer_new();
		g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);

		best = MIN(best, g_timer_elapsed(timer, NULL));
		n = ark_workflow_get_n_tasks(workflow);
	}
	g_test_message("%s: %u tasks, %.1f MiB: %.1f ms per parse, %.2f us per task", label, n,
		       strlen(data) / 1048576.0, best * 1e3, best * 1e6 / n);
	if (g_test_verbose())
		g_printerr("%s: %u tasks: %.1f ms per parse, %.2f us per task\n", label, n,
			   best * 1e3, best * 1e6 / n);
}

/* how long recovery waits for a 100,000-task run's definition to be read (best of five) */
static void
ark_workflow_test_perf(void)
{
	g_autofree gchar *plain = NULL;
	g_autofree gchar *canonical = NULL;
	g_autofree gchar *random = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;

	if (!g_test_perf()) {
		g_test_skip("a measurement: run with -m perf");
		return;
	}
	plain = ark_workflow_test_recovery_document(ARK_WORKFLOW_MAX_TASKS);
	workflow = ark_workflow_test_parse_ok(plain, -1);
	canonical = g_strdup(ark_workflow_get_definition(workflow));
	random = ark_workflow_test_random_dag(ARK_WORKFLOW_MAX_TASKS);
	ark_workflow_test_measure_parse("plain", plain);
	ark_workflow_test_measure_parse("canonical", canonical);
	ark_workflow_test_measure_parse("random 3 needs", random);
}

/* "simulate" is read back as parsed, kept in the definition, and survives a change of executor */
static void
ark_workflow_test_simulate(void)
{
	const gchar *doc =
	    "{\"name\": \"s\", \"tasks\": ["
	    "{\"id\": \"a\", \"run\": [\"true\"], \"simulate\": {\"duration\": \"90s\"}},"
	    "{\"id\": \"b\", \"run\": [\"true\"], \"needs\": [\"a\"], \"simulate\": "
	    "{\"distribution\": \"lognormal\", \"mean\": \"1m\", \"sigma\": 0.25}},"
	    "{\"id\": \"c\", \"run\": [\"true\"], \"simulate\": "
	    "{\"distribution\": \"uniform\", \"min\": 1, \"max\": \"2s\"}},"
	    "{\"id\": \"d\", \"executor\": \"thread\", \"function\": \"noop\"}]}";
	g_autoptr(ArkWorkflow) wf = ark_workflow_test_parse_ok(doc, -1);
	g_autoptr(ArkWorkflow) again = NULL;
	g_autoptr(ArkWorkflow) moved = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	ArkTaskSimulation sim;

	g_assert_true(ark_workflow_get_task_simulation(wf, 0, &sim));
	g_assert_cmpint(sim.kind, ==, ARK_SIMULATION_FIXED);
	g_assert_cmpint(sim.mean, ==, 90 * G_USEC_PER_SEC);
	g_assert_true(ark_workflow_get_task_simulation(wf, 1, &sim));
	g_assert_cmpint(sim.kind, ==, ARK_SIMULATION_LOGNORMAL);
	g_assert_cmpint(sim.mean, ==, 60 * G_USEC_PER_SEC);
	g_assert_cmpfloat(sim.sigma, ==, 0.25);
	g_assert_true(ark_workflow_get_task_simulation(wf, 2, &sim));
	g_assert_cmpint(sim.kind, ==, ARK_SIMULATION_UNIFORM);
	g_assert_cmpint(sim.min, ==, G_USEC_PER_SEC);
	g_assert_cmpint(sim.max, ==, 2 * G_USEC_PER_SEC);
	g_assert_false(ark_workflow_get_task_simulation(wf, 3, &sim));

	again = ark_workflow_test_parse_ok(ark_workflow_get_definition(wf), -1);
	g_assert_cmpstr(ark_workflow_get_definition(again), ==, ark_workflow_get_definition(wf));
	g_assert_true(ark_workflow_get_task_simulation(again, 1, &sim));
	g_assert_cmpfloat(sim.sigma, ==, 0.25);

	moved = ark_workflow_with_executor(wf, "simulated", &problems);
	g_assert_nonnull(moved);
	for (guint i = 0; i < 4; i++) {
		g_assert_cmpstr(ark_workflow_get_task(moved, i)->executor, ==, "simulated");
		g_assert_cmpstr(ark_workflow_get_task(moved, i)->id, ==,
				ark_workflow_get_task(wf, i)->id);
	}
	g_assert_cmpstr(ark_workflow_get_task(moved, 3)->function, ==, "noop");
	g_assert_true(ark_workflow_get_task_simulation(moved, 2, &sim));
	g_assert_cmpint(sim.kind, ==, ARK_SIMULATION_UNIFORM);
}

/* ---- agent tasks and input ---- */

static void
ark_workflow_test_assert_agent_equal(const ArkAgentSpec *a, const ArkAgentSpec *b)
{
	if (a == NULL || b == NULL) {
		g_assert_true(a == b);
		return;
	}
	ark_workflow_test_assert_strv_equal(a->capabilities, b->capabilities);
	g_assert_cmpstr(a->mode, ==, b->mode);
	g_assert_cmpuint(a->contenders, ==, b->contenders);
	g_assert_true((a->shards == NULL) == (b->shards == NULL));
	if (a->shards != NULL)
		g_assert_true(json_node_equal(a->shards, b->shards));
	g_assert_cmpstr(a->shards_from, ==, b->shards_from);
	g_assert_cmpint(a->accept, ==, b->accept);
	g_assert_true((a->accept_schema == NULL) == (b->accept_schema == NULL));
	if (a->accept_schema != NULL)
		g_assert_true(json_node_equal(a->accept_schema, b->accept_schema));
	ark_workflow_test_assert_strv_equal(a->accept_command, b->accept_command);
	g_assert_cmpint(a->lease, ==, b->lease);
	g_assert_cmpuint(a->max_handoffs, ==, b->max_handoffs);
}

static gchar *
ark_workflow_test_json(JsonNode *node)
{
	return json_to_string(node, FALSE);
}

/* tests/workflows/valid/agents.json: what each member says, and what it leaves to defaults */
static void
ark_workflow_test_agent_fields(void)
{
	g_autofree gchar *path =
	    g_test_build_filename(G_TEST_DIST, "workflows", "valid", "agents.json", NULL);
	g_autofree gchar *data = ark_test_read_file(path);
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
	const gchar *const review_c[] = {"code-review", "c", NULL};
	const gchar *const jq[] = {"jq", "-e", ".ok", NULL};
	const ArkTaskSpec *t;
	const ArkAgentSpec *a;
	g_autofree gchar *text = NULL;

	/* input on tasks of any executor; no agent on them */
	t = ark_workflow_lookup_task(workflow, "split");
	g_assert_null(t->agent);
	text = ark_workflow_test_json(t->input);
	g_assert_cmpstr(text, ==, "[{\"file\":\"a.c\"},{\"file\":\"b.c\"}]");
	g_clear_pointer(&text, g_free);
	t = ark_workflow_lookup_task(workflow, "plain");
	g_assert_null(t->agent);
	text = ark_workflow_test_json(t->input);
	g_assert_cmpstr(text, ==, "{\"nested\":{\"list\":[1,2.5,\"three\",true,null]}}");
	g_clear_pointer(&text, g_free);

	/* the defaults of everything it leaves out; lease and max_handoffs from "defaults" */
	t = ark_workflow_lookup_task(workflow, "delegated");
	g_assert_cmpstr(t->executor, ==, "agent");
	g_assert_cmpstr(json_node_get_string(t->input), ==, "review this");
	a = t->agent;
	g_assert_nonnull(a);
	g_assert_cmpstrv(a->capabilities, review_c);
	g_assert_cmpstr(a->mode, ==, "delegated");
	g_assert_cmpuint(a->contenders, ==, 1);
	g_assert_cmpint(a->accept, ==, ARK_AGENT_ACCEPT_FIRST);
	g_assert_null(a->accept_schema);
	g_assert_null(a->accept_command);
	g_assert_null(a->shards);
	g_assert_null(a->shards_from);
	g_assert_cmpint(a->lease, ==, 90 * SEC);
	g_assert_cmpuint(a->max_handoffs, ==, 2);
	g_assert_cmpint(t->timeout, ==, 3600 * SEC);

	/* competitive: two contenders unless it says; its own lease and handoffs win */
	a = ark_workflow_lookup_task(workflow, "competing")->agent;
	g_assert_null(ark_workflow_lookup_task(workflow, "competing")->input);
	g_assert_cmpstr(a->mode, ==, "competitive");
	g_assert_cmpuint(a->contenders, ==, 2);
	g_assert_cmpint(a->accept, ==, ARK_AGENT_ACCEPT_FIRST);
	g_assert_cmpint(a->lease, ==, 86400 * SEC);
	g_assert_cmpuint(a->max_handoffs, ==, 1000);

	a = ark_workflow_lookup_task(workflow, "competing-many")->agent;
	g_assert_cmpuint(a->contenders, ==, 64);
	g_assert_cmpint(a->accept, ==, ARK_AGENT_ACCEPT_SCHEMA);
	g_assert_nonnull(a->accept_schema);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(a->accept_schema));
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(a->accept_schema),
						      "title"),
			==, "a triage");

	a = ark_workflow_lookup_task(workflow, "sharded")->agent;
	g_assert_cmpstr(a->mode, ==, "cooperative");
	g_assert_cmpstr(a->shards_from, ==, "split");
	g_assert_null(a->shards);
	g_assert_cmpint(a->accept, ==, ARK_AGENT_ACCEPT_COMMAND);
	g_assert_cmpstrv(a->accept_command, jq);
	g_assert_null(a->accept_schema);
	g_assert_cmpint(a->lease, ==, SEC);
	g_assert_cmpuint(a->max_handoffs, ==, 2);

	/* any coordinator name: whether one is loaded is the engine's check */
	a = ark_workflow_lookup_task(workflow, "custom-mode")->agent;
	g_assert_cmpstr(a->mode, ==, "my-coordinator_2");
	g_assert_cmpuint(a->contenders, ==, 1);
}

/* without "defaults", and with executor "agent" from "defaults" */
static void
ark_workflow_test_agent_defaults(void)
{
	g_autoptr(ArkWorkflow) bare = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"executor\": \"agent\", "
	    "\"agent\": {\"capabilities\": [\"c\"]}},"
	    "{\"id\": \"b\", \"executor\": \"agent\", \"agent\": {\"capabilities\": [\"c\"], "
	    "\"mode\": \"cooperative\", \"shards\": [1, {\"x\": 2}, [3]], \"contenders\": 1}}]}",
	    -1);
	g_autoptr(ArkWorkflow) inherited = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"defaults\": {\"executor\": \"agent\", \"agent\": {\"lease\": 30}},"
	    "\"tasks\": [{\"id\": \"a\", \"agent\": {\"capabilities\": [\"c\"]}},"
	    "{\"id\": \"b\", \"executor\": \"process\", \"run\": [\"true\"]}]}",
	    -1);
	const ArkAgentSpec *a = ark_workflow_get_task(bare, 0)->agent;
	const ArkAgentSpec *b = ark_workflow_get_task(bare, 1)->agent;
	g_autofree gchar *shards = NULL;
	g_autofree gchar *text = NULL;

	g_assert_cmpstr(a->mode, ==, "delegated");
	g_assert_cmpuint(a->contenders, ==, 1);
	g_assert_cmpint(a->accept, ==, ARK_AGENT_ACCEPT_FIRST);
	g_assert_cmpint(a->lease, ==, 60 * SEC);
	g_assert_cmpuint(a->max_handoffs, ==, 5);
	g_assert_cmpuint(b->contenders, ==, 1);
	shards = ark_workflow_test_json(b->shards);
	g_assert_cmpstr(shards, ==, "[1,{\"x\":2},[3]]");

	g_assert_cmpstr(ark_workflow_get_task(inherited, 0)->executor, ==, "agent");
	g_assert_cmpint(ark_workflow_get_task(inherited, 0)->agent->lease, ==, 30 * SEC);
	g_assert_cmpuint(ark_workflow_get_task(inherited, 0)->agent->max_handoffs, ==, 5);
	g_assert_null(ark_workflow_get_task(inherited, 1)->agent);

	/* a task that takes executor "agent" from defaults needs "agent" too; one that takes
	 * another executor from there may not have it */
	text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"defaults\": {\"executor\": \"agent\"},"
	    "\"tasks\": [{\"id\": \"a\"}]}",
	    -1, NULL);
	g_assert_cmpstr(text, ==,
			"1:59: tasks[0]: a task with \"executor\": \"agent\" needs \"agent\", such as "
			"{\"capabilities\": [\"code-review\"]}\n");
	g_clear_pointer(&text, g_free);
	text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"defaults\": {\"executor\": \"thread\"},"
	    "\"tasks\": [{\"id\": \"a\", \"function\": \"noop\", \"agent\": {\"capabilities\": "
	    "[\"c\"]}}]}",
	    -1, NULL);
	g_assert_cmpstr(text, ==,
			"1:92: tasks[0].agent: only a task with \"executor\": \"agent\" has "
			"\"agent\" (the executor is \"thread\")\n");
	g_clear_pointer(&text, g_free);
	/* an executor that is refused is not also blamed for the agent */
	text = ark_workflow_test_parse_bad(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"executor\": \"Agent\", "
	    "\"agent\": {\"capabilities\": [\"c\"]}}]}",
	    -1, NULL);
	g_assert_null(strstr(text, "tasks[0].agent"));
	ark_workflow_test_assert_contains(text, "tasks[0].executor: invalid executor name");
}

/* one problem per document, exactly as a user reads it (the fixture bad-agent.json has the
 * common ones with their positions) */
static void
ark_workflow_test_agent_problems(void)
{
	static const struct {
		const gchar *agent; /* the "agent" member of an agent task */
		const gchar *problem;
	} cases[] = {
	    {"{\"capabilities\": []}",
	     "tasks[0].agent.capabilities: must name at least one capability an agent needs"},
	    {"{\"capabilities\": \"review\"}",
	     "tasks[0].agent.capabilities: expected an array, got a string"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"\"}",
	     "tasks[0].agent.mode: must not be empty"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"-x\"}",
	     "tasks[0].agent.mode: invalid mode '-x'"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"co op\"}",
	     "tasks[0].agent.mode: invalid mode 'co op'"},
	    {"{\"capabilities\": [\"review\"], \"mode\": 1}",
	     "tasks[0].agent.mode: expected a string, got an integer"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"competitive\", \"contenders\": 0}",
	     "tasks[0].agent.contenders: contenders 0 is out of range (1 to 64)"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"competitive\", \"contenders\": 2.5}",
	     "tasks[0].agent.contenders: expected an integer, got a number"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"cooperative\", \"shards\": [1], "
	     "\"contenders\": 2}",
	     "tasks[0].agent.contenders: 2 contenders need mode \"competitive\" (mode is "
	     "\"cooperative\")"},
	    {"{\"capabilities\": [\"review\"], \"shards_from\": \"up\"}",
	     "tasks[0].agent.shards_from: 'shards_from' needs mode \"cooperative\" (mode is "
	     "\"delegated\")"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"cooperative\", \"shards\": {}}",
	     "tasks[0].agent.shards: expected an array, got an object"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"cooperative\", \"shards_from\": \"\"}",
	     "tasks[0].agent.shards_from: must not be empty"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"cooperative\", \"shards_from\": "
	     "\"other\"}",
	     "tasks[0].agent.shards_from: 'other' is not in needs"},
	    {"{\"capabilities\": [\"review\"], \"lease\": \"0s\"}",
	     "tasks[0].agent.lease: lease 0s is out of range (1s to 1d)"},
	    {"{\"capabilities\": [\"review\"], \"lease\": 86401}",
	     "tasks[0].agent.lease: lease 1d1s is out of range (1s to 1d)"},
	    {"{\"capabilities\": [\"review\"], \"lease\": \"soon\"}", "tasks[0].agent.lease: "},
	    {"{\"capabilities\": [\"review\"], \"lease\": -1}",
	     "tasks[0].agent.lease: invalid duration -1: negative durations are not allowed"},
	    {"{\"capabilities\": [\"review\"], \"max_handoffs\": 1001}",
	     "tasks[0].agent.max_handoffs: max_handoffs 1001 is out of range (1 to 1000)"},
	    {"{\"capabilities\": [\"review\"], \"accept\": 1}",
	     "tasks[0].agent.accept: expected \"first\", {\"schema\": {...}} or {\"command\": "
	     "[...]}, got an integer"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {}}",
	     "tasks[0].agent.accept: expected \"first\", {\"schema\": {...}} or {\"command\": "
	     "[...]}, got an object with other members"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"script\": \"x\"}}",
	     "tasks[0].agent.accept.script: unknown acceptance rule 'script' (expected \"first\", "
	     "\"schema\" or \"command\")"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"command\": \"jq .ok\"}}",
	     "tasks[0].agent.accept.command: expected an array of arguments, got a string"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"command\": [\"jq\", 1]}}",
	     "tasks[0].agent.accept.command[1]: expected a string, got an integer"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"schema\": true}}",
	     "tasks[0].agent.accept.schema: expected an object, got a boolean"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"schema\": {\"oneOf\": []}}}",
	     "tasks[0].agent.accept.schema: unknown keyword \"oneOf\""},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"schema\": {\"items\": {\"items\": "
	     "{\"format\": \"date\"}}}}}",
	     "tasks[0].agent.accept.schema.items.items: unknown keyword \"format\""},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"schema\": {\"additionalProperties\": "
	     "{}}}}",
	     "tasks[0].agent.accept.schema.additionalProperties: expected false or true"},
	    {"{\"capabilities\": [\"review\"], \"accept\": {\"schema\": {\"minimum\": 3, "
	     "\"maximum\": 1}}}",
	     "tasks[0].agent.accept.schema: minimum is greater than maximum"},
	    {"{\"capabilities\": [\"review\"], \"mode\": \"competitive\", \"contenders\": 1}", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *data = g_strdup_printf(
		    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"executor\": \"agent\", "
		    "\"agent\": %s}]}",
		    cases[i].agent);
		g_autofree gchar *text = NULL;
		guint n = 0;

		g_test_message("%s", cases[i].agent);
		if (cases[i].problem == NULL) {
			g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
			ark_workflow_test_assert_round_trip(workflow);
			continue;
		}
		text = ark_workflow_test_parse_bad(data, -1, &n);
		ark_workflow_test_assert_contains(text, cases[i].problem);
		g_assert_cmpuint(n, ==, 1);
	}
}

/* the limits of the counted members, at and past them */
static void
ark_workflow_test_agent_limits(void)
{
	g_autoptr(GString) caps = g_string_new("[");
	g_autoptr(GString) shards = g_string_new("[");
	g_autofree gchar *long_cap = g_strnfill(129, 'c');
	g_autofree gchar *data = NULL;
	g_autofree gchar *text = NULL;

	for (guint i = 0; i < ARK_AGENT_MAX_CAPABILITIES; i++)
		g_string_append_printf(caps, "%s\"c%u\"", i > 0 ? "," : "", i);
	for (guint i = 0; i < ARK_AGENT_MAX_SHARDS; i++)
		g_string_append_printf(shards, "%s%u", i > 0 ? "," : "", i);
	g_string_append_c(caps, ']');
	g_string_append_c(shards, ']');
	data = g_strdup_printf("{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"executor\": "
			       "\"agent\", \"agent\": {\"capabilities\": %s, \"mode\": "
			       "\"cooperative\", \"shards\": %s}}]}",
			       caps->str, shards->str);
	{
		g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(data, -1);
		const ArkAgentSpec *a = ark_workflow_get_task(workflow, 0)->agent;
		g_assert_cmpuint(g_strv_length(a->capabilities), ==, ARK_AGENT_MAX_CAPABILITIES);
		g_assert_cmpuint(json_array_get_length(json_node_get_array(a->shards)), ==,
				 ARK_AGENT_MAX_SHARDS);
	}
	g_clear_pointer(&data, g_free);

	g_string_truncate(caps, caps->len - 1);
	g_string_append(caps, ",\"one-more\"]");
	g_string_truncate(shards, shards->len - 1);
	g_string_append(shards, ",-1]");
	data = g_strdup_printf("{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"executor\": "
			       "\"agent\", \"agent\": {\"capabilities\": %s, \"mode\": "
			       "\"cooperative\", \"shards\": %s}},"
			       "{\"id\": \"b\", \"executor\": \"agent\", \"agent\": "
			       "{\"capabilities\": [\"%s\"]}}]}",
			       caps->str, shards->str, long_cap);
	text = ark_workflow_test_parse_bad(data, -1, NULL);
	ark_workflow_test_assert_contains(text,
					  "tasks[0].agent.capabilities: too many capabilities (65, "
					  "at most 64)");
	ark_workflow_test_assert_contains(text,
					  "tasks[0].agent.shards: too many shards (10001, at most "
					  "10000)");
	ark_workflow_test_assert_contains(text, "tasks[1].agent.capabilities[0]: capability 'ccc");
	ark_workflow_test_assert_contains(text, "is too long (at most 128 characters)");
}

/* "input": any value up to 1 MiB as compact JSON, whatever the document's spacing */
static void
ark_workflow_test_input_size(void)
{
	/* {"s":"aaa..."}: 8 bytes around the string */
	const gsize fill = ARK_RESULT_MAX_BYTES - 8;
	g_autofree gchar *at_limit = g_strnfill(fill, 'a');
	g_autofree gchar *ok = g_strdup_printf(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"run\": [\"true\"], "
	    "\"input\":      {   \"s\"  :  \"%s\"   }}]}",
	    at_limit);
	g_autofree gchar *too_big = g_strdup_printf(
	    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"run\": [\"true\"], "
	    "\"input\": {\"s\": \"%sa\"}}]}",
	    at_limit);
	g_autofree gchar *text = NULL;
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(ok, -1);

	g_assert_cmpuint(strlen(json_node_get_string(json_object_get_member(
			     json_node_get_object(ark_workflow_get_task(workflow, 0)->input), "s"))),
			 ==, fill);
	text = ark_workflow_test_parse_bad(too_big, -1, NULL);
	g_assert_cmpstr(text, ==,
			"1:54: tasks[0].input: input is larger than 1 MiB (1048577 bytes as compact "
			"JSON)\n");
	g_clear_pointer(&text, g_free);

	/* null is no input; the definition leaves it out */
	{
		g_autoptr(ArkWorkflow) none = ark_workflow_test_parse_ok(
		    "{\"name\": \"n\", \"tasks\": [{\"id\": \"a\", \"run\": [\"true\"], "
		    "\"input\": null}]}",
		    -1);
		g_assert_null(ark_workflow_get_task(none, 0)->input);
		g_assert_null(strstr(ark_workflow_get_definition(none), "input"));
	}
}

/* the definition keeps what the task said, and reads back as the same workflow */
static void
ark_workflow_test_agent_definition(void)
{
	g_autoptr(ArkWorkflow) workflow = ark_workflow_test_parse_ok(
	    "{\"name\": \"n\", \"defaults\": {\"agent\": {\"max_handoffs\": 7}}, \"tasks\": ["
	    "{\"id\": \"up\", \"executor\": \"thread\", \"function\": \"echo\", \"input\": "
	    "[\"x\", \"y\"]},"
	    "{\"id\": \"a\", \"needs\": [\"up\"], \"executor\": \"agent\", \"input\": {\"k\": 1}, "
	    "\"agent\": {\"max_handoffs\": 3, \"lease\": \"90s\", \"shards_from\": \"up\", "
	    "\"accept\": {\"schema\": {\"type\": \"string\"}}, \"mode\": \"cooperative\", "
	    "\"capabilities\": [\"t\"]}},"
	    "{\"id\": \"b\", \"executor\": \"agent\", \"agent\": {\"capabilities\": [\"t\"], "
	    "\"accept\": \"first\"}}]}",
	    -1);
	g_autoptr(ArkWorkflow) moved = NULL;
	g_autoptr(ArkWorkflow) overridden = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(JsonObject) overrides = json_object_new();

	/* members in a fixed order, only the ones the task gave */
	g_assert_cmpstr(ark_workflow_get_definition(workflow), ==,
			"{\"name\":\"n\",\"defaults\":{\"agent\":{\"max_handoffs\":7}},\"tasks\":["
			"{\"id\":\"up\",\"executor\":\"thread\",\"function\":\"echo\","
			"\"input\":[\"x\",\"y\"]},"
			"{\"id\":\"a\",\"needs\":[\"up\"],\"executor\":\"agent\",\"input\":{\"k\":1},"
			"\"agent\":{\"capabilities\":[\"t\"],\"mode\":\"cooperative\","
			"\"accept\":{\"schema\":{\"type\":\"string\"}},\"shards_from\":\"up\","
			"\"lease\":\"1m30s\",\"max_handoffs\":3}},"
			"{\"id\":\"b\",\"executor\":\"agent\",\"agent\":{\"capabilities\":[\"t\"],"
			"\"accept\":\"first\"}}]}");
	ark_workflow_test_assert_round_trip(workflow);
	g_assert_cmpuint(ark_workflow_get_task(workflow, 2)->agent->max_handoffs, ==, 7);

	/* arkitect simulate puts every task on its executor: agents stay behind, input stays */
	moved = ark_workflow_with_executor(workflow, "simulated", &problems);
	g_assert_nonnull(moved);
	g_assert_null(ark_workflow_get_task(moved, 1)->agent);
	g_assert_nonnull(ark_workflow_get_task(moved, 1)->input);

	/* DLQ replay may change the agent member like any other */
	json_object_set_member(overrides, "agent",
			       json_from_string("{\"capabilities\": [\"u\"], \"lease\": 5}", NULL));
	overridden = ark_workflow_override_task(workflow, "b", overrides, &problems);
	g_assert_nonnull(overridden);
	g_assert_cmpstr(ark_workflow_get_task(overridden, 2)->agent->capabilities[0], ==, "u");
	g_assert_cmpint(ark_workflow_get_task(overridden, 2)->agent->lease, ==, 5 * SEC);
	g_clear_pointer(&problems, g_ptr_array_unref);
	g_clear_pointer(&overridden, ark_workflow_unref);
	json_object_set_member(overrides, "agent",
			       json_from_string("{\"capabilities\": [\"u\"], \"lease\": 0}", NULL));
	overridden = ark_workflow_override_task(workflow, "b", overrides, &problems);
	g_assert_null(overridden);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(((ArkProblem *)g_ptr_array_index(problems, 0))->path, ==,
			"overrides.agent.lease");
}

/* a task's object out of a stored definition, whatever the store holds */
static void
ark_workflow_test_definition_get_task(void)
{
	static const gchar *const damaged[] = {
	    "", "[]", "{\"tasks\":5}", "{\"tasks\":[5]}", "{\"tasks\":[{\"id\":7}]}", "{\"tasks\":",
	};
	const gchar *good = "{\"name\":\"w\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]},"
			    "{\"id\":\"b\",\"needs\":[\"a\"]}]}";
	g_autoptr(JsonNode) b = ark_workflow_definition_get_task(good, 1, "b");
	g_autoptr(JsonNode) any = ark_workflow_definition_get_task(good, 0, NULL);

	g_assert_nonnull(b);
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(b), "id"), ==, "b");
	g_assert_nonnull(any);
	g_assert_null(ark_workflow_definition_get_task(good, 1, "a"));
	g_assert_null(ark_workflow_definition_get_task(good, 2, NULL));
	g_assert_null(ark_workflow_definition_get_task(NULL, 0, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(damaged); i++)
		g_assert_null(ark_workflow_definition_get_task(damaged[i], 0, "a"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/workflow/fixtures/valid", ark_workflow_test_fixtures_valid);
	g_test_add_func("/ark/workflow/agent/fields", ark_workflow_test_agent_fields);
	g_test_add_func("/ark/workflow/agent/defaults", ark_workflow_test_agent_defaults);
	g_test_add_func("/ark/workflow/agent/problems", ark_workflow_test_agent_problems);
	g_test_add_func("/ark/workflow/agent/limits", ark_workflow_test_agent_limits);
	g_test_add_func("/ark/workflow/agent/definition", ark_workflow_test_agent_definition);
	g_test_add_func("/ark/workflow/input-size", ark_workflow_test_input_size);
	g_test_add_func("/ark/workflow/fixtures/invalid", ark_workflow_test_fixtures_invalid);
	g_test_add_func("/ark/workflow/fields", ark_workflow_test_fields);
	g_test_add_func("/ark/workflow/defaults", ark_workflow_test_defaults);
	g_test_add_func("/ark/workflow/deadline", ark_workflow_test_deadline);
	g_test_add_func("/ark/workflow/args", ark_workflow_test_args);
	g_test_add_func("/ark/workflow/env-labels", ark_workflow_test_env_labels);
	g_test_add_func("/ark/workflow/topological-order", ark_workflow_test_topological_order);
	g_test_add_func("/ark/workflow/definition", ark_workflow_test_definition);
	g_test_add_func("/ark/workflow/simulate", ark_workflow_test_simulate);
	g_test_add_func("/ark/workflow/length", ark_workflow_test_length);
	g_test_add_func("/ark/workflow/refcount", ark_workflow_test_refcount);
	g_test_add_func("/ark/workflow/locations", ark_workflow_test_locations);
	g_test_add_func("/ark/workflow/add-problem", ark_workflow_test_add_problem);
	g_test_add_func("/ark/workflow/problem-to-string", ark_workflow_test_problem_to_string);
	g_test_add_func("/ark/workflow/cycle", ark_workflow_test_cycle);
	g_test_add_func("/ark/workflow/long-cycle", ark_workflow_test_long_cycle);
	g_test_add_func("/ark/workflow/large", ark_workflow_test_large);
	g_test_add_func("/ark/workflow/duplicate-members", ark_workflow_test_strict_duplicates);
	g_test_add_func("/ark/workflow/hostile/deep-nesting",
			ark_workflow_test_hostile_deep_nesting);
	g_test_add_func("/ark/workflow/hostile/too-large", ark_workflow_test_hostile_too_large);
	g_test_add_func("/ark/workflow/hostile/bytes", ark_workflow_test_hostile_bytes);
	g_test_add_func("/ark/workflow/hostile/counts", ark_workflow_test_hostile_counts);
	g_test_add_func("/ark/workflow/retry/default", ark_workflow_test_retry_default);
	g_test_add_func("/ark/workflow/retry/members", ark_workflow_test_retry_members);
	g_test_add_func("/ark/workflow/retry/limits", ark_workflow_test_retry_limits);
	g_test_add_func("/ark/workflow/retry/hostile", ark_workflow_test_retry_hostile);
	g_test_add_func("/ark/workflow/run-limits", ark_workflow_test_run_limits);
	g_test_add_func("/ark/workflow/definition/round-trip",
			ark_workflow_test_definition_round_trip);
	g_test_add_func("/ark/workflow/override", ark_workflow_test_override);
	g_test_add_func("/ark/workflow/escaped-names", ark_workflow_test_escaped_names);
	g_test_add_func("/ark/workflow/args-detached", ark_workflow_test_args_detached);
	g_test_add_func("/ark/workflow/memory", ark_workflow_test_memory);
	g_test_add_func("/ark/workflow/many-members", ark_workflow_test_many_members);
	g_test_add_func("/ark/workflow/args-values", ark_workflow_test_args_values);
	g_test_add_func("/ark/workflow/perf", ark_workflow_test_perf);
	g_test_add_func("/ark/workflow/definition-get-task",
			ark_workflow_test_definition_get_task);
	return g_test_run();
}
