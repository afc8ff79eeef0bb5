/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/* what the commands in other files share with ark-cli.c */

/* exit codes, documented in docs/cli.md */
#define ARK_CLI_EXIT_OK 0
#define ARK_CLI_EXIT_RUN_FAILED 1
#define ARK_CLI_EXIT_INVALID 2
#define ARK_CLI_EXIT_ENVIRONMENT 3
#define ARK_CLI_EXIT_INTERRUPTED 130

/* "arkitect: MESSAGE" on stderr */
void ark_cli_print_error(const gchar *format, ...) G_GNUC_PRINTF(1, 2);

/* members of a JSON report: a string or null, an RFC 3339 time or null for 0 */
void ark_cli_json_add_string(JsonBuilder *b, const gchar *member, const gchar *value);
void ark_cli_json_add_time(JsonBuilder *b, const gchar *member, ArkTimestamp ts);
/* prints what @b built, indented, and a newline */
void ark_cli_print_builder(JsonBuilder *b);
/* a workflow file, or standard input for "-", refusing anything but a regular file and more
 * than ARK_WORKFLOW_MAX_BYTES */
gchar *ark_cli_read_file(const gchar *path, gsize *out_len, GError **error);
/* the MEMBER=JSON pairs of --set as an object; NULL after printing what is wrong */
JsonObject *ark_cli_parse_set(const gchar *const *set);
/* a workflow's problems: one per line on stderr, or {"valid": false, "problems": [...]} */
void ark_cli_print_problems(const gchar *filename, GPtrArray *problems, gboolean json);
/* @text as it may go to a terminal: valid UTF-8, control characters but tab shown as '?' */
gchar *ark_cli_terminal_safe(const gchar *text);

/* the engine of an embedded arkitect mcp (ark-cli.c) */
gint ark_cli_open_engine(const gchar *state_dir, gboolean ephemeral, ArkPluginLoader **out_loader,
			 ArkStore **out_store, ArkEngine **out_engine, gchar **out_state_dir);

G_END_DECLS
