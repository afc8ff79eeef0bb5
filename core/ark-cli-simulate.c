/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include <glib/gi18n.h>

#include <arkitect/arkitect-core.h>

#include "ark-cli-private.h"
#include "ark-cli-simulate.h"
#include "ark-simulator.h"

/*
 * arkitect simulate FILE: the workflow checked like `arkitect validate`, then run on virtual
 * time by the real engine with one policy, or with every loaded policy in turn (--policy all),
 * and a report of each run against the lower bound (docs/simulator.md).
 */

/* set by the option group while main() parses the command line */
static gchar *ark_cli_simulate_seed;
static gboolean ark_cli_simulate_schedule;

GOptionGroup *
ark_cli_simulate_get_option_group(void)
{
	static const GOptionEntry entries[] = {
	    {"seed", 0, 0, G_OPTION_ARG_STRING, &ark_cli_simulate_seed,
	     N_("simulate: seed for durations drawn from distributions (default 1)"), N_("S")},
	    {"schedule", 0, 0, G_OPTION_ARG_NONE, &ark_cli_simulate_schedule,
	     N_("simulate: also print when each task became ready, started and ended"), NULL},
	    {NULL},
	};
	GOptionGroup *group =
	    g_option_group_new("simulate", _("Options of the simulate command:"),
			       _("Show the options of the simulate command"), NULL, NULL);

	g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
	g_option_group_add_entries(group, entries);
	return group;
}

static gdouble
ark_cli_simulate_seconds(gint64 usec)
{
	return (gdouble)usec / G_USEC_PER_SEC;
}

static void
ark_cli_simulate_json_report(JsonBuilder *b, ArkWorkflow *workflow, ArkSimulatorReport *r)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "policy");
	json_builder_add_string_value(b, r->policy);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, ark_run_state_to_string(r->state));
	json_builder_set_member_name(b, "makespan_us");
	json_builder_add_int_value(b, r->makespan);
	json_builder_set_member_name(b, "lower_bound_us");
	json_builder_add_int_value(b, r->lower_bound);
	json_builder_set_member_name(b, "ratio");
	json_builder_add_double_value(b, r->ratio);
	json_builder_set_member_name(b, "mean_slowdown");
	json_builder_add_double_value(b, r->mean_slowdown);
	json_builder_set_member_name(b, "p95_slowdown");
	json_builder_add_double_value(b, r->p95_slowdown);
	json_builder_set_member_name(b, "deadlines");
	json_builder_add_int_value(b, r->n_deadlines);
	json_builder_set_member_name(b, "deadline_misses");
	json_builder_add_int_value(b, r->n_missed);
	json_builder_set_member_name(b, "succeeded");
	json_builder_add_int_value(b, r->n_succeeded);
	json_builder_set_member_name(b, "attempts");
	json_builder_add_int_value(b, r->n_attempts);
	if (r->schedule != NULL) {
		json_builder_set_member_name(b, "schedule");
		json_builder_begin_array(b);
		for (guint i = 0; i < r->schedule->len; i++) {
			ArkSimulatorEntry *e = &g_array_index(r->schedule, ArkSimulatorEntry, i);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "task");
			json_builder_add_string_value(b, ark_workflow_get_task(workflow, e->task)->id);
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, ark_task_state_to_string(e->state));
			json_builder_set_member_name(b, "ready_us");
			json_builder_add_int_value(b, e->ready);
			json_builder_set_member_name(b, "start_us");
			json_builder_add_int_value(b, e->start);
			json_builder_set_member_name(b, "finish_us");
			json_builder_add_int_value(b, e->finish);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
	json_builder_end_object(b);
}

static void
ark_cli_simulate_print_json(ArkWorkflow *workflow, guint slots, guint64 seed, GPtrArray *reports)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	ArkSimulatorReport *first = g_ptr_array_index(reports, 0);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "workflow");
	json_builder_add_string_value(b, ark_workflow_get_name(workflow));
	json_builder_set_member_name(b, "tasks");
	json_builder_add_int_value(b, ark_workflow_get_n_tasks(workflow));
	json_builder_set_member_name(b, "slots");
	json_builder_add_int_value(b, slots);
	json_builder_set_member_name(b, "seed");
	json_builder_add_int_value(b, (gint64)seed);
	/* the same for every policy: it depends on the durations and the slots only */
	json_builder_set_member_name(b, "critical_path_us");
	json_builder_add_int_value(b, first->critical_path);
	json_builder_set_member_name(b, "total_work_us");
	json_builder_add_int_value(b, first->total_work);
	json_builder_set_member_name(b, "lower_bound_us");
	json_builder_add_int_value(b, first->lower_bound);
	json_builder_set_member_name(b, "results");
	json_builder_begin_array(b);
	for (guint i = 0; i < reports->len; i++)
		ark_cli_simulate_json_report(b, workflow, g_ptr_array_index(reports, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	ark_cli_print_builder(b);
}

/* seconds with milliseconds, or "-" for what never happened */
static gchar *
ark_cli_simulate_format_time(gint64 usec)
{
	if (usec < 0)
		return g_strdup("-");
	return g_strdup_printf("%.3f", ark_cli_simulate_seconds(usec));
}

static void
ark_cli_simulate_print_schedule(ArkWorkflow *workflow, ArkSimulatorReport *r)
{
	g_print("\n%-24s %-10s %12s %12s %12s\n", _("task"), _("state"), _("ready s"),
		_("start s"), _("finish s"));
	for (guint i = 0; i < r->schedule->len; i++) {
		ArkSimulatorEntry *e = &g_array_index(r->schedule, ArkSimulatorEntry, i);
		g_autofree gchar *id =
		    ark_cli_terminal_safe(ark_workflow_get_task(workflow, e->task)->id);
		g_autofree gchar *ready = ark_cli_simulate_format_time(e->ready);
		g_autofree gchar *start = ark_cli_simulate_format_time(e->start);
		g_autofree gchar *finish = ark_cli_simulate_format_time(e->finish);
		g_print("%-24s %-10s %12s %12s %12s\n", id, ark_task_state_to_string(e->state),
			ready, start, finish);
	}
}

static void
ark_cli_simulate_print_text(ArkWorkflow *workflow, guint slots, guint64 seed, GPtrArray *reports)
{
	ArkSimulatorReport *first = g_ptr_array_index(reports, 0);
	g_autofree gchar *name = ark_cli_terminal_safe(ark_workflow_get_name(workflow));

	/* TRANSLATORS: workflow name, number of tasks, slots, seed */
	g_print(_("%s: %u tasks on %u slots (seed %" G_GUINT64_FORMAT ")\n"), name,
		ark_workflow_get_n_tasks(workflow), slots, seed);
	g_print(_("lower bound %.3f s: critical path %.3f s, work / slots %.3f s\n\n"),
		ark_cli_simulate_seconds(first->lower_bound),
		ark_cli_simulate_seconds(first->critical_path),
		ark_cli_simulate_seconds(first->total_work) / slots);
	g_print("%-16s %-10s %14s %8s %10s %10s %10s\n", _("policy"), _("run"), _("makespan s"),
		_("/bound"), _("slowdown"), _("p95"), _("missed"));
	for (guint i = 0; i < reports->len; i++) {
		ArkSimulatorReport *r = g_ptr_array_index(reports, i);
		g_autofree gchar *missed = g_strdup_printf("%u/%u", r->n_missed, r->n_deadlines);
		g_print("%-16s %-10s %14.3f %8.3f %10.2f %10.2f %10s\n", r->policy,
			ark_run_state_to_string(r->state), ark_cli_simulate_seconds(r->makespan),
			r->ratio, r->mean_slowdown, r->p95_slowdown, missed);
	}
	for (guint i = 0; i < reports->len; i++) {
		ArkSimulatorReport *r = g_ptr_array_index(reports, i);
		if (r->schedule == NULL)
			continue;
		if (reports->len > 1)
			g_print("\n%s:", r->policy);
		ark_cli_simulate_print_schedule(workflow, r);
	}
}

static gboolean
ark_cli_simulate_one(ArkRegistry *registry, ArkWorkflow *prepared, ArkSimulatorOptions *options,
		     const gchar *policy, GPtrArray *reports)
{
	g_autoptr(GError) error = NULL;
	ArkSimulatorReport *report;

	options->policy = policy;
	report = ark_simulator_run(registry, prepared, options, &error);
	if (report == NULL) {
		ark_cli_print_error(_("simulation with policy %s failed: %s"),
				    policy != NULL ? policy : _("(default)"), error->message);
		return FALSE;
	}
	g_ptr_array_add(reports, report);
	return TRUE;
}

gint
ark_cli_simulate_run(const gchar *path, const gchar *policy, gint slots, gboolean json)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(ArkPluginLoader) loader = ark_plugin_loader_new(registry);
	g_autoptr(ArkEngine) checker = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(ArkWorkflow) prepared = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(GPtrArray) reports =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_simulator_report_free);
	g_auto(GStrv) policies = NULL;
	g_autofree gchar *data = NULL;
	gboolean all = g_strcmp0(policy, "all") == 0;
	ArkSimulatorOptions options = {
	    .slots = slots > 0 ? (guint)slots : 1,
	    .seed = 1,
	    .start = g_get_real_time(),
	    .schedule = ark_cli_simulate_schedule,
	};
	gsize len = 0;

	if (ark_cli_simulate_seed != NULL) {
		gchar *end = NULL;
		guint64 seed;
		errno = 0;
		seed = g_ascii_strtoull(ark_cli_simulate_seed, &end, 10);
		if (end == ark_cli_simulate_seed || *end != '\0' || errno != 0 ||
		    !g_ascii_isdigit(ark_cli_simulate_seed[0])) {
			ark_cli_print_error(_("--seed must be a non-negative integer"));
			return ARK_CLI_EXIT_INVALID;
		}
		options.seed = seed;
	}
	if (!ark_plugin_loader_load(loader, NULL, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}

	/* the checks of `arkitect validate`, with the real executors: what would not run for
	 * real is not simulated either */
	checker = ark_engine_new(registry, NULL);
	if (policy != NULL && !all)
		ark_engine_set_default_policy(checker, policy);
	if (!ark_engine_start(checker, &error)) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_INVALID;
	}
	data = ark_cli_read_file(path, &len, &error);
	if (data == NULL) {
		ark_engine_shutdown(checker);
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_INVALID;
	}
	workflow = ark_workflow_parse(data, (gssize)len, &problems);
	if (workflow != NULL) {
		(void)ark_engine_check_workflow(checker, workflow, NULL, problems);
		(void)ark_simulator_check_workflow(workflow, problems);
	}
	ark_engine_shutdown(checker);
	if (problems->len > 0) {
		ark_cli_print_problems(path, problems, json);
		return ARK_CLI_EXIT_INVALID;
	}

	prepared = ark_simulator_prepare_workflow(workflow, &error);
	if (prepared == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (!all) {
		if (!ark_cli_simulate_one(registry, prepared, &options, policy, reports))
			return ARK_CLI_EXIT_ENVIRONMENT;
	} else {
		policies = ark_registry_list_names(registry, ARK_CAPABILITY_POLICY);
		for (guint i = 0; policies[i] != NULL; i++) {
			if (!ark_cli_simulate_one(registry, prepared, &options, policies[i],
						  reports))
				return ARK_CLI_EXIT_ENVIRONMENT;
		}
	}
	if (json)
		ark_cli_simulate_print_json(workflow, options.slots, options.seed, reports);
	else
		ark_cli_simulate_print_text(workflow, options.slots, options.seed, reports);
	return ARK_CLI_EXIT_OK;
}
