/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * The command line as a client of a running arkitectd (docs/cli.md, "Talking to the daemon"),
 * over its HTTP API (docs/http-api.md).
 */
typedef struct {
	/* filled by the option group of ark_cli_client_option_group() */
	gchar *url;
	gchar *token_file;
	gboolean wait;
	gchar *states;		  /* runs, tasks: --state a,b */
	gchar *workflow;	  /* runs: --workflow NAME */
	gint attempt;		  /* logs: --attempt N */
	gboolean follow;	  /* logs: --follow */
	gchar *tail;		  /* logs: --tail SIZE */
	gchar *reconnect_timeout; /* watch, submit --wait, logs --follow: DURATION */
	gchar *scope;		  /* token create: read or admin */
	gchar *bus;		  /* --bus: session, system or none */
	gchar *agent_name;	  /* agents register: --name */
	gchar **capabilities;	  /* agents register: --capability NAME[:PROFICIENCY] */
	gint max_assignments;	  /* agents register: --max-assignments N */
	gchar *metadata;	  /* agents register: --metadata JSON */
	gchar *agent;		  /* agents assignments: --agent ID */

	/* the main options a client command uses, set before ark_cli_client_main(); borrowed */
	const gchar *state_dir; /* --state-dir, or NULL for the default */
	gboolean ephemeral;
	const gchar *policy;
	const gchar *idempotency_key;
	gchar **set;
	const gchar *timeout;
	const gchar *reason;
	gint limit;
	gboolean json;
	gboolean quiet;
} ArkCliClientOptions;

void ark_cli_client_options_clear(ArkCliClientOptions *opts);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkCliClientOptions, ark_cli_client_options_clear)

/* the options of the client commands, shown by --help-daemon; fills @opts while parsing */
GOptionGroup *ark_cli_client_option_group(ArkCliClientOptions *opts);

/* the state directory for @state_dir (NULL: $XDG_STATE_HOME/arkitect), without creating it */
gchar *ark_cli_client_state_dir_path(const gchar *state_dir);

/*
 * Runs @argv[0] (the command) as a client when it is one: the daemon-only commands (submit,
 * runs, tasks, logs, retry, watch, explain, token, agents) always, status, cancel and dlq when a daemon
 * is reachable: over D-Bus when it owns org.arkitect.Arkitect1 on the bus and neither --url,
 * $ARKITECT_URL nor --state-dir point elsewhere (ark-cli-dbus.c; agents only over HTTP), else
 * over HTTP (--url,
 * $ARKITECT_URL, or <state dir>/http.url of a daemon that answers). Sets
 * @out_handled to FALSE when the command is not the client's to run, and the caller runs it
 * directly on the state directory. Returns the exit status.
 */
gint ark_cli_client_main(ArkCliClientOptions *opts, gint argc, gchar **argv,
			 gboolean *out_handled);

/*
 * For arkitect mcp: the URL and token of the daemon that answers for @opts (TRUE), or FALSE:
 * with *out_exit ARK_CLI_EXIT_OK when there is no daemon (no URL, or a stale http.url), else
 * after printing why, with the exit status in *out_exit.
 */
gboolean ark_cli_client_find_daemon(ArkCliClientOptions *opts, gchar **out_url,
				    gchar **out_token, gint *out_exit, GError **error);

G_END_DECLS
