/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include <arkitect/arkitect-core.h>

#include "ark-audit-private.h"
#include "ark-cli-audit.h"
#include "ark-cli-private.h"

/*
 * arkitect audit verify: checks the store's audit log and its JSON-lines copy (ark_audit_verify)
 * and lists every problem, then the head of the chain, for an operator to keep somewhere else:
 * records cut off the end of both copies are only found against such an anchor (docs/audit.md).
 * arkitect audit list: the newest records.
 */

#define ARK_CLI_AUDIT_FILE_NAME "audit.jsonl"

/* set by the option group while main() parses the command line */
static gchar *ark_cli_audit_file;
static gboolean ark_cli_audit_no_file;

GOptionGroup *
ark_cli_audit_get_option_group(void)
{
	static const GOptionEntry entries[] = {
	    {"file", 0, 0, G_OPTION_ARG_FILENAME, &ark_cli_audit_file,
	     N_("audit verify: the JSON-lines copy of the log (default STATE_DIR/audit.jsonl)"),
	     N_("PATH")},
	    {"no-file", 0, 0, G_OPTION_ARG_NONE, &ark_cli_audit_no_file,
	     N_("audit verify: check the store's log only"), NULL},
	    {NULL},
	};
	GOptionGroup *group =
	    g_option_group_new("audit", _("Options of the audit commands:"),
			       _("Show the options of the audit commands"), NULL, NULL);

	g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
	g_option_group_add_entries(group, entries);
	return group;
}

gboolean
ark_cli_audit_check_args(gint argc, gchar **argv)
{
	if (argc != 1 || (g_strcmp0(argv[0], "verify") != 0 && g_strcmp0(argv[0], "list") != 0)) {
		ark_cli_print_error(_("usage: audit verify [--file PATH | --no-file] [--json] | "
				      "audit list [--limit N] [--json]"));
		return FALSE;
	}
	if (ark_cli_audit_file != NULL && ark_cli_audit_no_file) {
		ark_cli_print_error(_("--file and --no-file exclude each other"));
		return FALSE;
	}
	return TRUE;
}

static void
ark_cli_audit_print_report_json(ArkAuditReport *report, const gchar *file)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "intact");
	json_builder_add_boolean_value(b, report->problems->len == 0);
	json_builder_set_member_name(b, "records");
	json_builder_add_int_value(b, (gint64)report->n_records);
	ark_cli_json_add_string(b, "file", file);
	json_builder_set_member_name(b, "file_lines");
	json_builder_add_int_value(b, (gint64)report->n_lines);
	json_builder_set_member_name(b, "head");
	if (report->head_seq > 0) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "seq");
		json_builder_add_int_value(b, (gint64)report->head_seq);
		ark_cli_json_add_string(b, "hash", report->head_hash);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "problems");
	json_builder_begin_array(b);
	for (guint i = 0; i < report->problems->len; i++) {
		ArkAuditProblem *p = g_ptr_array_index(report->problems, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "seq");
		if (p->seq > 0)
			json_builder_add_int_value(b, (gint64)p->seq);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "line");
		if (p->line > 0)
			json_builder_add_int_value(b, (gint64)p->line);
		else
			json_builder_add_null_value(b);
		ark_cli_json_add_string(b, "message", p->message);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "more_problems");
	json_builder_add_int_value(b, (gint64)report->n_more);
	json_builder_end_object(b);
	ark_cli_print_builder(b);
}

static void
ark_cli_audit_print_report(ArkAuditReport *report, const gchar *file)
{
	g_autofree gchar *where = NULL;

	for (guint i = 0; i < report->problems->len; i++) {
		g_autofree gchar *message = ark_cli_terminal_safe(
		    ((ArkAuditProblem *)g_ptr_array_index(report->problems, i))->message);
		g_print("%s\n", message);
	}
	if (report->n_more > 0)
		/* TRANSLATORS: after the first 1000 problems of audit verify */
		g_print(_("... and %" G_GUINT64_FORMAT " more problems\n"), report->n_more);

	if (file != NULL)
		/* TRANSLATORS: what audit verify checked: "42 records in the store, 42 lines in
		 * /var/lib/arkitect/audit.jsonl" */
		where =
		    g_strdup_printf(_("%" G_GUINT64_FORMAT
				      " records in the store, %" G_GUINT64_FORMAT " lines in %s"),
				    report->n_records, report->n_lines, file);
	else
		where = g_strdup_printf(_("%" G_GUINT64_FORMAT " records in the store"),
					report->n_records);
	if (report->problems->len == 0)
		g_print(_("audit log intact: %s\n"), where);
	else
		g_print(_("audit log damaged: %" G_GUINT64_FORMAT " problems (%s)\n"),
			report->problems->len + report->n_more, where);
	if (report->head_seq > 0) {
		g_autofree gchar *hash = ark_cli_terminal_safe(report->head_hash);
		/* TRANSLATORS: the last record of the audit log and its hash, to keep elsewhere */
		g_print(_("head: record %" G_GUINT64_FORMAT " %s\n"), report->head_seq, hash);
	}
}

static gint
ark_cli_audit_verify(ArkStore *store, const gchar *state_dir, gboolean json)
{
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *file = NULL;

	if (ark_cli_audit_file != NULL)
		file = g_strdup(ark_cli_audit_file);
	else if (!ark_cli_audit_no_file)
		file = g_build_filename(state_dir, ARK_CLI_AUDIT_FILE_NAME, NULL);
	report = ark_audit_verify(store, file, &error);
	if (report == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (json)
		ark_cli_audit_print_report_json(report, file);
	else
		ark_cli_audit_print_report(report, file);
	/* 1, as for a failed run: what was checked is not right */
	return report->problems->len == 0 ? ARK_CLI_EXIT_OK : ARK_CLI_EXIT_RUN_FAILED;
}

/* the newest @limit records, oldest first */
static GPtrArray *
ark_cli_audit_newest(ArkStore *store, guint limit, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	g_autoptr(ArkAuditRecord) last = ark_store_get_last_audit(store, &local_error);

	if (last == NULL) {
		if (!g_error_matches(local_error, ARK_ERROR, ARK_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local_error));
			return NULL;
		}
		return g_ptr_array_new();
	}
	return ark_store_read_audit(store, last->seq > limit ? last->seq - limit : 0, limit, error);
}

static void
ark_cli_audit_print_list_json(GPtrArray *records)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "records");
	json_builder_begin_array(b);
	for (guint i = 0; i < records->len; i++) {
		ArkAuditRecord *r = g_ptr_array_index(records, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "seq");
		json_builder_add_int_value(b, (gint64)r->seq);
		ark_cli_json_add_time(b, "time", r->time);
		ark_cli_json_add_string(b, "actor", r->actor);
		ark_cli_json_add_string(b, "origin", r->origin);
		ark_cli_json_add_string(b, "action", r->action);
		ark_cli_json_add_string(b, "target", r->target);
		ark_cli_json_add_string(b, "result", r->result);
		ark_cli_json_add_string(b, "request_id", r->request_id);
		ark_cli_json_add_string(b, "detail", r->detail);
		ark_cli_json_add_string(b, "hash", r->hash);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	ark_cli_print_builder(b);
}

static gint
ark_cli_audit_list(ArkStore *store, gboolean json, guint limit)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) records = ark_cli_audit_newest(store, limit, &error);

	if (records == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (json) {
		ark_cli_audit_print_list_json(records);
		return ARK_CLI_EXIT_OK;
	}
	if (records->len == 0) {
		/* TRANSLATORS: audit list with nothing in it */
		g_print(_("the audit log is empty\n"));
		return ARK_CLI_EXIT_OK;
	}
	/* TRANSLATORS: column headings of the audit log */
	g_print("%6s  %-27s  %-20s  %-14s  %-26s  %s\n", _("SEQ"), _("TIME"), _("ACTOR"),
		_("ACTION"), _("TARGET"), _("RESULT"));
	for (guint i = 0; i < records->len; i++) {
		ArkAuditRecord *r = g_ptr_array_index(records, i);
		g_autofree gchar *time = ark_timestamp_format(r->time);
		/* what frontends recorded came from their clients: it does not drive the terminal
		 */
		g_autofree gchar *actor = ark_cli_terminal_safe(r->actor != NULL ? r->actor : "-");
		g_autofree gchar *action =
		    ark_cli_terminal_safe(r->action != NULL ? r->action : "-");
		g_autofree gchar *target =
		    ark_cli_terminal_safe(r->target != NULL ? r->target : "-");
		g_autofree gchar *result =
		    ark_cli_terminal_safe(r->result != NULL ? r->result : "-");
		g_print("%6" G_GUINT64_FORMAT "  %-27s  %-20s  %-14s  %-26s  %s\n", r->seq,
			time != NULL ? time : "-", actor, action, target, result);
	}
	return ARK_CLI_EXIT_OK;
}

gint
ark_cli_audit_run(ArkStore *store, const gchar *state_dir, gboolean json, guint limit, gint argc,
		  gchar **argv)
{
	g_return_val_if_fail(argc == 1, ARK_CLI_EXIT_INVALID);

	if (g_strcmp0(argv[0], "list") == 0)
		return ark_cli_audit_list(store, json, limit);
	return ark_cli_audit_verify(store, state_dir, json);
}
