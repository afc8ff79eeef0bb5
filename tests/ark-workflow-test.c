/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-test-utils.h"

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
		g_autoptr(ArkWorkflow) again = NULL;

		g_test_message("%s", files[i]);
		workflow = ark_workflow_test_parse_ok(data, -1);
		g_assert_cmpuint(ark_workflow_get_n_tasks(workflow), >, 0);
		/* what the store keeps must read back as the same workflow */
		again = ark_workflow_test_parse_ok(ark_workflow_get_definition(workflow), -1);
		g_assert_cmpstr(ark_workflow_get_definition(again), ==,
				ark_workflow_get_definition(workflow));
		g_assert_cmpuint(ark_workflow_get_n_tasks(again), ==,
				 ark_workflow_get_n_tasks(workflow));
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

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/workflow/fixtures/valid", ark_workflow_test_fixtures_valid);
	g_test_add_func("/ark/workflow/fixtures/invalid", ark_workflow_test_fixtures_invalid);
	g_test_add_func("/ark/workflow/fields", ark_workflow_test_fields);
	g_test_add_func("/ark/workflow/defaults", ark_workflow_test_defaults);
	g_test_add_func("/ark/workflow/deadline", ark_workflow_test_deadline);
	g_test_add_func("/ark/workflow/args", ark_workflow_test_args);
	g_test_add_func("/ark/workflow/env-labels", ark_workflow_test_env_labels);
	g_test_add_func("/ark/workflow/topological-order", ark_workflow_test_topological_order);
	g_test_add_func("/ark/workflow/definition", ark_workflow_test_definition);
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
	return g_test_run();
}
