/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * A fuzz target for the workflow parser and validator. Whatever the bytes, ark_workflow_parse()
 * must return either a workflow and no problems, or problems and no workflow, without a crash,
 * a leak, a CRITICAL or undefined behaviour; and a workflow must survive the trip through its
 * definition (what the store keeps with a run) unchanged.
 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a CRITICAL is a bug in the parser, as it is in the tests (G_DEBUG=fatal-criticals); GLib
 * would stop on it with SIGTRAP, which libFuzzer does not catch, so the input would be lost */
static void
fuzz_workflow_log_cb(const gchar *domain, GLogLevelFlags level, const gchar *message,
		     gpointer user_data)
{
	g_log_default_handler(domain, level, message, user_data);
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* freed nodes go back to malloc, where the sanitizers see them */
	setenv("G_SLICE", "always-malloc", 1);
	g_log_set_default_handler(fuzz_workflow_log_cb, NULL);
	return 0;
}

static void
fuzz_workflow_check_problems(GPtrArray *problems)
{
	g_assert_nonnull(problems);
	for (guint i = 0; i < problems->len; i++) {
		const ArkProblem *problem = g_ptr_array_index(problems, i);
		g_autofree gchar *text = ark_problem_to_string(problem, "fuzz.json");

		g_assert_nonnull(problem->path);
		g_assert_nonnull(problem->message);
		g_assert_true(problem->message[0] != '\0');
		g_assert_true(g_utf8_validate(text, -1, NULL));
		/* a column without a line can not be shown */
		g_assert_true(problem->line > 0 || problem->column == 0);
	}
}

static void
fuzz_workflow_check_workflow(ArkWorkflow *workflow)
{
	guint n = ark_workflow_get_n_tasks(workflow);
	const guint *order = ark_workflow_get_topological_order(workflow);
	g_autofree guint *position = g_new0(guint, n);

	g_assert_cmpuint(n, >, 0);
	g_assert_nonnull(ark_workflow_get_name(workflow));
	for (guint k = 0; k < n; k++) {
		g_assert_cmpuint(order[k], <, n);
		position[order[k]] = k + 1;
	}
	for (guint i = 0; i < n; i++) {
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		const ArkRetryPolicy *retry = &spec->retry;

		g_assert_cmpuint(position[i], >, 0);
		g_assert_cmpuint(spec->index, ==, i);
		g_assert_true(ark_workflow_lookup_task(workflow, spec->id) == spec);
		g_assert_nonnull(spec->executor);
		g_assert_nonnull(spec->env);
		g_assert_true(spec->run == NULL || spec->run[0] != NULL);
		for (guint k = 0; spec->needs[k] != NULL; k++) {
			const ArkTaskSpec *need;

			need = ark_workflow_lookup_task(workflow, spec->needs[k]);
			g_assert_nonnull(need);
			g_assert_cmpuint(position[need->index], <, position[i]);
		}
		g_assert_cmpuint(retry->max_attempts, >=, 1);
		g_assert_cmpuint(retry->max_attempts, <=, ARK_WORKFLOW_MAX_ATTEMPTS);
		g_assert_cmpint(retry->initial_delay, <=, retry->max_delay);
		g_assert_cmpfloat(retry->multiplier, >=, 1.0);
		g_assert_cmpuint(retry->retry_on, !=, 0);
		g_assert_true(retry->n_exit_codes == 0 || retry->exit_codes != NULL);
		for (guint k = 0; k < retry->n_exit_codes; k++)
			g_assert_true(retry->exit_codes[k] >= 1 && retry->exit_codes[k] <= 255);
		g_assert_cmpint(spec->queue_timeout, >=, 0);
	}
}

/* the arguments of the input's first task, when they are an object, as overrides of a task of
 * a fixed workflow: replay takes such objects from users */
static void
fuzz_workflow_check_override(JsonNode *args)
{
	static ArkWorkflow *base = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) result = NULL;

	if (args == NULL || !JSON_NODE_HOLDS_OBJECT(args))
		return;
	if (base == NULL)
		base = ark_workflow_parse(
		    "{\"name\": \"base\", \"defaults\": {\"timeout\": \"1m\"}, \"tasks\": ["
		    "{\"id\": \"a\", \"run\": [\"true\"]},"
		    "{\"id\": \"b\", \"needs\": [\"a\"], \"run\": [\"x\"]}]}",
		    -1, NULL);
	result = ark_workflow_override_task(base, "b", json_node_get_object(args), &problems);
	g_assert_nonnull(problems);
	g_assert_true((result != NULL) == (problems->len == 0));
	for (guint i = 0; i < problems->len; i++) {
		const ArkProblem *problem = g_ptr_array_index(problems, i);
		g_assert_cmpuint(problem->line, ==, 0);
		g_assert_true(problem->path[0] == '\0' ||
			      g_str_has_prefix(problem->path, "overrides"));
	}
	if (result != NULL) {
		g_autoptr(ArkWorkflow) again =
		    ark_workflow_parse(ark_workflow_get_definition(result), -1, NULL);
		g_assert_nonnull(again);
		g_assert_cmpstr(ark_workflow_get_definition(again), ==,
				ark_workflow_get_definition(result));
		g_assert_cmpstr(ark_workflow_lookup_task(result, "b")->needs[0], ==, "a");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(GPtrArray) again_problems = NULL;
	g_autoptr(GPtrArray) override_problems = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(ArkWorkflow) again = NULL;
	g_autoptr(ArkWorkflow) same = NULL;
	g_autoptr(JsonObject) nothing = NULL;
	const gchar *definition;

	if (size > G_MAXSSIZE)
		return 0;
	workflow = ark_workflow_parse((const gchar *)data, (gssize)size, &problems);
	fuzz_workflow_check_problems(problems);
	if (workflow == NULL) {
		g_assert_cmpuint(problems->len, >, 0);
		return 0;
	}
	g_assert_cmpuint(problems->len, ==, 0);
	fuzz_workflow_check_workflow(workflow);

	/* what the store keeps reads back as the same workflow, and writes the same again */
	definition = ark_workflow_get_definition(workflow);
	again = ark_workflow_parse(definition, -1, &again_problems);
	if (again == NULL) {
		g_autofree gchar *text = ark_problem_to_string(again_problems->pdata[0], NULL);
		g_error("the definition does not parse: %s\n%s", text, definition);
	}
	g_assert_cmpstr(ark_workflow_get_definition(again), ==, definition);
	g_assert_cmpuint(ark_workflow_get_n_tasks(again), ==, ark_workflow_get_n_tasks(workflow));
	g_assert_cmpint(ark_workflow_get_timeout(again), ==, ark_workflow_get_timeout(workflow));
	g_assert_cmpint(ark_workflow_get_failure_mode(again), ==,
			ark_workflow_get_failure_mode(workflow));

	/* replaying a task with nothing changed changes nothing */
	nothing = json_object_new();
	same = ark_workflow_override_task(workflow, ark_workflow_get_task(workflow, 0)->id, nothing,
					  &override_problems);
	g_assert_nonnull(same);
	g_assert_cmpuint(override_problems->len, ==, 0);
	g_assert_cmpstr(ark_workflow_get_definition(same), ==, definition);

	fuzz_workflow_check_override(ark_workflow_get_task(workflow, 0)->args);
	return 0;
}
