/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ark-cli-client.h"
#include "ark-cli-dbus.h"
#include "ark-cli-private.h"
#include "ark-cli-progress.h"

/*
 * What the daemon sends is not trusted more than any other input: every answer is read with a
 * cap, JSON nesting is bounded before json-glib (whose parser recurses) sees it, every member is
 * type-checked, and strings are made safe before they reach a terminal.
 */
#define ARK_CLI_CLIENT_MAX_JSON (64 * 1024 * 1024)
#define ARK_CLI_CLIENT_MAX_PROBLEM (1024 * 1024)
#define ARK_CLI_CLIENT_MAX_JSON_DEPTH 256
#define ARK_CLI_CLIENT_MAX_SSE_LINE (1024 * 1024)
#define ARK_CLI_CLIENT_MAX_SSE_EVENT (4 * 1024 * 1024)
#define ARK_CLI_CLIENT_MAX_SMALL_FILE 4096 /* http.url, api-token */
/* pages followed at most: a daemon whose cursor never ends must not keep the client busy */
#define ARK_CLI_CLIENT_MAX_PAGES 100000
/* failed tasks of a report whose attempts and log tail are fetched */
#define ARK_CLI_CLIENT_MAX_FAILED_DETAILS 20
#define ARK_CLI_CLIENT_LOG_TAIL_LINES 10
#define ARK_CLI_CLIENT_LOG_TAIL_BYTES 8192
#define ARK_CLI_CLIENT_LOG_CHUNK (16 * 1024 * 1024) /* the API's largest log page */
/* I/O timeouts: a request, the probe of a daemon found in http.url, and a stream that carries a
 * keepalive comment every 15 s */
#define ARK_CLI_CLIENT_TIMEOUT 30
#define ARK_CLI_CLIENT_PROBE_TIMEOUT 5
#define ARK_CLI_CLIENT_STREAM_TIMEOUT 45
#define ARK_CLI_CLIENT_DEFAULT_RECONNECT (60 * G_USEC_PER_SEC)

typedef struct {
	ArkCliClientOptions *opts;
	SoupSession *session;
	gchar *state_dir; /* NULL under --ephemeral */
	gchar *base_url;  /* scheme://host:port[/prefix], without a trailing slash */
	gchar *url_origin; /* how the URL was found, for messages */
	gboolean url_from_state_dir;
	gchar *token;
	gchar *token_file;
	gchar *token_origin;
	/* the last exchange: 0 when no HTTP answer came */
	guint status;
	/* the daemon over D-Bus instead of HTTP, or NULL */
	ArkCliDbus *dbus;
} ArkCliClient;

static void
ark_cli_client_free(ArkCliClient *self)
{
	g_clear_object(&self->session);
	g_clear_pointer(&self->dbus, ark_cli_dbus_free);
	g_free(self->state_dir);
	g_free(self->base_url);
	g_free(self->url_origin);
	if (self->token != NULL)
		memset(self->token, 0, strlen(self->token));
	g_free(self->token);
	g_free(self->token_file);
	g_free(self->token_origin);
	g_free(self);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkCliClient, ark_cli_client_free)

/* options -------------------------------------------------------------------------------------- */

void
ark_cli_client_options_clear(ArkCliClientOptions *opts)
{
	g_free(opts->url);
	g_free(opts->token_file);
	g_free(opts->states);
	g_free(opts->workflow);
	g_free(opts->tail);
	g_free(opts->reconnect_timeout);
	g_free(opts->scope);
	g_free(opts->bus);
	g_free(opts->agent_name);
	g_strfreev(opts->capabilities);
	g_free(opts->metadata);
	g_free(opts->agent);
}

GOptionGroup *
ark_cli_client_option_group(ArkCliClientOptions *opts)
{
	const GOptionEntry entries[] = {
	    {"url", 0, 0, G_OPTION_ARG_STRING, &opts->url,
	     N_("the daemon's URL (default $ARKITECT_URL, else <state dir>/http.url)"), N_("URL")},
	    {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &opts->token_file,
	     N_("the API token (default $ARKITECT_TOKEN_FILE, else <state dir>/api-token)"),
	     N_("FILE")},
	    {"wait", 0, 0, G_OPTION_ARG_NONE, &opts->wait,
	     N_("submit, cancel, retry, dlq replay: wait for the run to end, like run"), NULL},
	    {"state", 0, 0, G_OPTION_ARG_STRING, &opts->states,
	     N_("runs, tasks: only these states (comma-separated)"), N_("STATE,...")},
	    {"workflow", 0, 0, G_OPTION_ARG_STRING, &opts->workflow,
	     N_("runs: only runs of this workflow"), N_("NAME")},
	    {"attempt", 0, 0, G_OPTION_ARG_INT, &opts->attempt,
	     N_("logs: this attempt's log (default: the last)"), N_("N")},
	    {"follow", 0, 0, G_OPTION_ARG_NONE, &opts->follow,
	     N_("logs: keep printing new output until the attempt ends"), NULL},
	    {"tail", 0, 0, G_OPTION_ARG_STRING, &opts->tail,
	     N_("logs: only the last SIZE bytes, e.g. 4096 or 64KiB"), N_("SIZE")},
	    {"reconnect-timeout", 0, 0, G_OPTION_ARG_STRING, &opts->reconnect_timeout,
	     N_("watch, --wait, logs --follow: how long to try again when the daemon goes away "
		"(default 60s)"),
	     N_("DURATION")},
	    {"scope", 0, 0, G_OPTION_ARG_STRING, &opts->scope,
	     N_("token create: read (GET only) or admin (default read)"), N_("SCOPE")},
	    {"bus", 0, 0, G_OPTION_ARG_STRING, &opts->bus,
	     N_("the daemon on this message bus: session, system, or none for HTTP only "
		"(default: D-Bus when the daemon owns its name and no --url or --state-dir is "
		"given)"),
	     N_("BUS")},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &opts->agent_name,
	     N_("agents register: the agent's name"), N_("NAME")},
	    {"capability", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->capabilities,
	     N_("agents register: a capability, with a proficiency from 0 to 1 (repeatable)"),
	     N_("NAME[:PROFICIENCY]")},
	    {"max-assignments", 0, 0, G_OPTION_ARG_INT, &opts->max_assignments,
	     N_("agents register: assignments it may hold at once (default 1)"), N_("N")},
	    {"metadata", 0, 0, G_OPTION_ARG_STRING, &opts->metadata,
	     N_("agents register: a JSON object kept with the agent"), N_("JSON")},
	    {"agent", 0, 0, G_OPTION_ARG_STRING, &opts->agent,
	     N_("agents assignments: only this agent's"), N_("ID")},
	    {NULL},
	};
	GOptionGroup *group =
	    g_option_group_new("daemon", _("Talking to the daemon (arkitectd):"),
			       _("Show the options of the commands that talk to the daemon"), NULL,
			       NULL);
	g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
	g_option_group_add_entries(group, entries);
	return group;
}

gchar *
ark_cli_client_state_dir_path(const gchar *state_dir)
{
	const gchar *xdg = g_getenv("XDG_STATE_HOME");

	if (state_dir != NULL)
		return g_strdup(state_dir);
	if (xdg != NULL && g_path_is_absolute(xdg))
		return g_build_filename(xdg, "arkitect", NULL);
	return g_build_filename(g_get_home_dir(), ".local", "state", "arkitect", NULL);
}

/* output --------------------------------------------------------------------------------------- */

/*
 * A string from the daemon (or a task's output) made fit for a terminal: valid UTF-8 without
 * control characters, so that it can not move the cursor or change colours. Stricter than
 * ark_cli_terminal_safe(), since all of it comes from another process: DEL and the C1 controls
 * (U+0080 to U+009F, among them the one-character CSI) go too. NULL shows as "-".
 */
static gchar *
ark_cli_client_safe(const gchar *str)
{
	g_autofree gchar *valid = NULL;
	GString *out;

	if (str == NULL)
		return g_strdup("-");
	valid = g_utf8_make_valid(str, -1);
	out = g_string_sized_new(strlen(valid));
	for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if ((c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	return g_string_free(out, FALSE);
}

/* @data made safe like ark_cli_client_safe(), for output that is not one string */
static void
ark_cli_client_write_safe(FILE *stream, const gchar *data, gsize len)
{
	g_autofree gchar *valid = g_utf8_make_valid(data, (gssize)len);
	for (gchar *p = valid; *p != '\0'; p++) {
		if (((guchar)*p < 0x20 && *p != '\t' && *p != '\n') || (guchar)*p == 0x7f)
			*p = '?';
	}
	fputs(valid, stream);
}

static void
ark_cli_client_print_json(JsonNode *node)
{
	g_autofree gchar *text = json_to_string(node, TRUE);
	g_print("%s\n", text);
}

static void
ark_cli_client_print_json_object(JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);
	ark_cli_client_print_json(node);
}

/* JSON from the daemon ------------------------------------------------------------------------- */

/* json-glib's parser recurses once per level: a deep document must not reach it */
static gboolean
ark_cli_client_json_depth_ok(const gchar *data, gsize len)
{
	guint depth = 0;
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len; i++) {
		gchar c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
		} else if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (++depth > ARK_CLI_CLIENT_MAX_JSON_DEPTH)
				return FALSE;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return TRUE;
}

/* the object @data holds, or NULL with @error set */
static JsonObject *
ark_cli_client_parse_object(const gchar *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;

	if (!ark_cli_client_json_depth_ok(data, len)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    _("the answer nests JSON deeper than %u levels"),
			    ARK_CLI_CLIENT_MAX_JSON_DEPTH);
		return NULL;
	}
	if (!json_parser_load_from_data(parser, data, (gssize)len, error)) {
		g_prefix_error(error, _("the answer is not JSON: "));
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
			    _("the answer is not a JSON object"));
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

static const gchar *
ark_cli_client_str(JsonObject *object, const gchar *member)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

static gboolean
ark_cli_client_int(JsonObject *object, const gchar *member, gint64 *out_value)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64)
		return FALSE;
	*out_value = json_node_get_int(node);
	return TRUE;
}

/* a count: a non-negative integer that fits a guint, else @fallback */
static guint
ark_cli_client_uint(JsonObject *object, const gchar *member, guint fallback)
{
	gint64 v;
	if (!ark_cli_client_int(object, member, &v) || v < 0 || v > G_MAXUINT)
		return fallback;
	return (guint)v;
}

static gboolean
ark_cli_client_bool(JsonObject *object, const gchar *member)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;
	return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	       json_node_get_value_type(node) == G_TYPE_BOOLEAN && json_node_get_boolean(node);
}

static JsonObject *
ark_cli_client_obj(JsonObject *object, const gchar *member)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;
	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

static JsonArray *
ark_cli_client_array(JsonObject *object, const gchar *member)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;
	return node != NULL && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

/* an RFC 3339 timestamp member as microseconds since the epoch, 0 when absent or invalid */
static ArkTimestamp
ark_cli_client_time(JsonObject *object, const gchar *member)
{
	const gchar *str = ark_cli_client_str(object, member);
	g_autoptr(GDateTime) dt = NULL;

	if (str == NULL)
		return 0;
	dt = g_date_time_new_from_iso8601(str, NULL);
	if (dt == NULL)
		return 0;
	return g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
}

static ArkTaskState
ark_cli_client_task_state(JsonObject *task)
{
	ArkTaskState state;
	if (!ark_task_state_from_string(ark_cli_client_str(task, "state"), &state))
		return ARK_TASK_STATE_LAST;
	return state;
}

/* a task's "exit" column: the exit code, a signal, or "-" */
static gchar *
ark_cli_client_exit_string(JsonObject *task, JsonObject *last_attempt)
{
	gint64 v;
	if (ark_cli_client_int(task, "exit_code", &v) && v >= 0)
		return g_strdup_printf("%" G_GINT64_FORMAT, v);
	if (ark_cli_client_int(last_attempt, "exit_code", &v) && v >= 0)
		return g_strdup_printf("%" G_GINT64_FORMAT, v);
	if (ark_cli_client_int(last_attempt, "signal", &v) && v > 0)
		return g_strdup_printf("sig%" G_GINT64_FORMAT, v);
	return g_strdup("-");
}

static gchar *
ark_cli_client_duration_string(JsonObject *object)
{
	ArkTimestamp start = ark_cli_client_time(object, "started_at");
	ArkTimestamp end = ark_cli_client_time(object, "finished_at");
	if (start == 0 || end == 0 || end < start)
		return g_strdup("-");
	return ark_cli_format_duration(end - start);
}

/* finding the daemon --------------------------------------------------------------------------- */

/* a small file (http.url, api-token) with surrounding whitespace removed */
static gchar *
ark_cli_client_read_small_file(const gchar *path, GError **error)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	GStatBuf st;

	if (g_stat(path, &st) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s",
			    g_strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > ARK_CLI_CLIENT_MAX_SMALL_FILE) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    _("not a regular file of at most %u bytes"),
			    ARK_CLI_CLIENT_MAX_SMALL_FILE);
		return NULL;
	}
	if (!g_file_get_contents(path, &contents, &len, error))
		return NULL;
	if (memchr(contents, '\0', len) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, _("holds a NUL byte"));
		return NULL;
	}
	return g_strdup(g_strstrip(contents));
}

/* sets base_url from a URL the user or the daemon gave; scheme, host and port, a path prefix */
static gboolean
ark_cli_client_set_url(ArkCliClient *self, const gchar *url, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GError) local_error = NULL;
	const gchar *scheme;
	gsize len;

	uri = g_uri_parse(url, G_URI_FLAGS_NONE, &local_error);
	if (uri == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    _("'%s' (from %s) is not a URL: %s"), url, self->url_origin,
			    local_error->message);
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	if ((g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
	    g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0' ||
	    g_uri_get_query(uri) != NULL || g_uri_get_fragment(uri) != NULL ||
	    g_uri_get_userinfo(uri) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    _("'%s' (from %s) is not an http:// or https:// URL of a host"), url,
			    self->url_origin);
		return FALSE;
	}
	g_free(self->base_url);
	self->base_url = g_strdup(url);
	len = strlen(self->base_url);
	while (len > 0 && self->base_url[len - 1] == '/')
		self->base_url[--len] = '\0';
	return TRUE;
}

/*
 * The URL: --url, else $ARKITECT_URL, else <state dir>/http.url, which the daemon writes while
 * it listens. ARK_ERROR_NOT_FOUND when there is none: no daemon to talk to.
 */
static gboolean
ark_cli_client_find_url(ArkCliClient *self, GError **error)
{
	const gchar *env = g_getenv("ARKITECT_URL");
	g_autofree gchar *path = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr(GError) local_error = NULL;

	g_clear_pointer(&self->url_origin, g_free);
	self->url_from_state_dir = FALSE;
	if (self->opts->url != NULL) {
		self->url_origin = g_strdup("--url");
		return ark_cli_client_set_url(self, self->opts->url, error);
	}
	if (env != NULL && env[0] != '\0') {
		self->url_origin = g_strdup("$ARKITECT_URL");
		return ark_cli_client_set_url(self, env, error);
	}
	if (self->state_dir == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    _("no daemon URL: pass --url or set $ARKITECT_URL (--ephemeral has no "
			      "state directory)"));
		return FALSE;
	}
	path = g_build_filename(self->state_dir, "http.url", NULL);
	self->url_origin = g_strdup(path);
	self->url_from_state_dir = TRUE;
	url = ark_cli_client_read_small_file(path, &local_error);
	if (url == NULL && g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    _("no daemon: %s does not exist (is arkitectd running with this state "
			      "directory? or pass --url)"),
			    path);
		return FALSE;
	}
	if (url == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, _("cannot read %s: %s"), path,
			    local_error->message);
		return FALSE;
	}
	/* one line; anything after it is not the URL */
	url[strcspn(url, "\r\n")] = '\0';
	return ark_cli_client_set_url(self, url, error);
}

/* the bearer token: --token-file, else $ARKITECT_TOKEN_FILE, else <state dir>/api-token */
static gboolean
ark_cli_client_load_token(ArkCliClient *self, GError **error)
{
	const gchar *env = g_getenv("ARKITECT_TOKEN_FILE");
	g_autoptr(GError) local_error = NULL;
	gchar *token;

	g_clear_pointer(&self->token_file, g_free);
	g_clear_pointer(&self->token_origin, g_free);
	if (self->opts->token_file != NULL) {
		self->token_file = g_strdup(self->opts->token_file);
		self->token_origin = g_strdup("--token-file");
	} else if (env != NULL && env[0] != '\0') {
		self->token_file = g_strdup(env);
		self->token_origin = g_strdup("$ARKITECT_TOKEN_FILE");
	} else if (self->state_dir != NULL) {
		self->token_file = g_build_filename(self->state_dir, "api-token", NULL);
		self->token_origin = g_strdup(_("the state directory"));
	} else {
		g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
			    _("no API token: pass --token-file or set $ARKITECT_TOKEN_FILE"));
		return FALSE;
	}
	token = ark_cli_client_read_small_file(self->token_file, &local_error);
	if (token == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
			    _("cannot read the API token %s (from %s): %s"), self->token_file,
			    self->token_origin, local_error->message);
		return FALSE;
	}
	/* it goes into a header: visible ASCII only */
	for (const gchar *p = token; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e) {
			memset(token, 0, strlen(token));
			g_free(token);
			g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
				    _("the API token %s (from %s) is not one line of visible ASCII"),
				    self->token_file, self->token_origin);
			return FALSE;
		}
	}
	if (token[0] == '\0') {
		g_free(token);
		g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
			    _("the API token %s (from %s) is empty"), self->token_file,
			    self->token_origin);
		return FALSE;
	}
	if (self->token != NULL)
		memset(self->token, 0, strlen(self->token));
	g_free(self->token);
	self->token = token;
	return TRUE;
}

static SoupSession *
ark_cli_client_session_new(guint timeout)
{
	/* no proxy: the bearer token goes to the daemon and nowhere else */
	return soup_session_new_with_options("timeout", timeout, "idle-timeout", timeout,
					     "proxy-resolver", NULL, "user-agent",
					     "arkitect/" PACKAGE_VERSION, NULL);
}

/* HTTP ----------------------------------------------------------------------------------------- */

static SoupMessage *
ark_cli_client_message_new(ArkCliClient *self, const gchar *method, const gchar *path,
			   GError **error)
{
	g_autofree gchar *url = g_strconcat(self->base_url, path, NULL);
	g_autofree gchar *auth = NULL;
	SoupMessage *msg = soup_message_new(method, url);

	if (msg == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, _("invalid URL %s"), url);
		return NULL;
	}
	/* the API never redirects; following one could carry the token elsewhere */
	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	if (self->token != NULL) {
		auth = g_strdup_printf("Bearer %s", self->token);
		soup_message_headers_replace(soup_message_get_request_headers(msg),
					     "Authorization", auth);
		memset(auth, 0, strlen(auth));
	}
	return msg;
}

/* sends @msg; a transport error says which URL and how it was found */
static GInputStream *
ark_cli_client_send(ArkCliClient *self, SoupSession *session, SoupMessage *msg,
		    GCancellable *cancellable, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	GInputStream *in;

	self->status = 0;
	in = soup_session_send(session, msg, cancellable, &local_error);
	if (in == NULL) {
		if (g_error_matches(local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_propagate_error(error, g_steal_pointer(&local_error));
			return NULL;
		}
		/* TRANSLATORS: the daemon's URL, where the URL came from, the error */
		g_set_error(error, local_error->domain, local_error->code,
			    _("cannot reach arkitectd at %s (URL from %s): %s"), self->base_url,
			    self->url_origin, local_error->message);
		return NULL;
	}
	self->status = soup_message_get_status(msg);
	return in;
}

/* reads @in to its end, at most @max bytes */
static GBytes *
ark_cli_client_read_body(SoupMessage *msg, GInputStream *in, gsize max, GCancellable *cancellable,
			 GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	goffset announced =
	    soup_message_headers_get_content_length(soup_message_get_response_headers(msg));
	guint8 chunk[65536];

	if (announced > 0 && (guint64)announced > max) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    _("the answer is larger than %" G_GSIZE_FORMAT " bytes"), max);
		return NULL;
	}
	for (;;) {
		gssize n = g_input_stream_read(in, chunk, sizeof(chunk), cancellable, error);
		if (n < 0) {
			g_prefix_error(error, _("reading the answer: "));
			return NULL;
		}
		if (n == 0)
			break;
		if (buf->len + (gsize)n > max) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
				    _("the answer is larger than %" G_GSIZE_FORMAT " bytes"), max);
			return NULL;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

static ArkError
ark_cli_client_error_from_nick(const gchar *nick)
{
	static const struct {
		const gchar *nick;
		ArkError code;
	} map[] = {
	    {"unauthorized", ARK_ERROR_PERMISSION_DENIED},
	    {"invalid-json", ARK_ERROR_INVALID_ARGUMENT},
	    {"invalid-workflow", ARK_ERROR_INVALID_ARGUMENT},
	    {"method-not-allowed", ARK_ERROR_NOT_SUPPORTED},
	    {"unsupported-media-type", ARK_ERROR_INVALID_ARGUMENT},
	    {"payload-too-large", ARK_ERROR_LIMIT_EXCEEDED},
	    {"too-many-streams", ARK_ERROR_LIMIT_EXCEEDED},
	    {"request-timeout", ARK_ERROR_TIMED_OUT},
	};
	for (guint i = 0; i < ARK_ERROR_LAST; i++) {
		if (g_strcmp0(nick, ark_error_to_string(i)) == 0)
			return (ArkError)i;
	}
	for (guint i = 0; i < G_N_ELEMENTS(map); i++) {
		if (g_strcmp0(nick, map[i].nick) == 0)
			return map[i].code;
	}
	return ARK_ERROR_FAILED;
}

/*
 * The error for an answer that is not a success: "DETAIL (NICK, request ID)" from its RFC 9457
 * problem document, or what the status line says when there is none. @out_problem gets the
 * document, for its members beyond the message (the "errors" of a 422).
 */
static void
ark_cli_client_set_problem(ArkCliClient *self, SoupMessage *msg, GBytes *body,
			   JsonObject **out_problem, GError **error)
{
	g_autoptr(JsonObject) problem = NULL;
	g_autofree gchar *nick = NULL;
	g_autofree gchar *detail = NULL;
	g_autofree gchar *request = NULL;
	g_autoptr(GString) msgstr = g_string_new(NULL);
	const gchar *type;
	const gchar *text;
	const gchar *rid;
	gsize len = 0;
	const gchar *data = body != NULL ? g_bytes_get_data(body, &len) : NULL;

	if (data != NULL && len > 0)
		problem = ark_cli_client_parse_object(data, len, NULL);
	type = ark_cli_client_str(problem, "type");
	if (type != NULL && strrchr(type, '/') != NULL && strrchr(type, '/')[1] != '\0')
		nick = ark_cli_client_safe(strrchr(type, '/') + 1);
	else if (type != NULL)
		nick = ark_cli_client_safe(type);
	else
		nick = g_strdup_printf("HTTP %u", self->status);
	text = ark_cli_client_str(problem, "detail");
	if (text == NULL)
		text = ark_cli_client_str(problem, "title");
	if (text == NULL)
		text = soup_message_get_reason_phrase(msg);
	if (text == NULL || text[0] == '\0')
		text = soup_status_get_phrase(self->status);
	detail = ark_cli_client_safe(text != NULL ? text : _("the daemon refused the request"));
	rid = ark_cli_client_str(problem, "request_id");
	if (rid == NULL)
		rid = soup_message_headers_get_one(soup_message_get_response_headers(msg),
						   "X-Request-Id");
	if (rid != NULL)
		request = ark_cli_client_safe(rid);

	if (request != NULL)
		/* TRANSLATORS: an error from the daemon: its detail, the problem type and the id
		 * the daemon logged the request under */
		g_string_append_printf(msgstr, _("%s (%s, request %s)"), detail, nick, request);
	else
		g_string_append_printf(msgstr, "%s (%s)", detail, nick);
	if (self->status == SOUP_STATUS_UNAUTHORIZED)
		g_string_append_printf(msgstr, _("; the token was read from %s (from %s)"),
				       self->token_file, self->token_origin);
	else if (self->status == SOUP_STATUS_FORBIDDEN)
		g_string_append_printf(msgstr,
				       _("; the token read from %s (from %s) lacks the scope"),
				       self->token_file, self->token_origin);
	g_set_error_literal(error, ARK_ERROR,
			    problem != NULL ? ark_cli_client_error_from_nick(nick)
			    : self->status == SOUP_STATUS_NOT_FOUND ? ARK_ERROR_NOT_FOUND
								    : ARK_ERROR_FAILED,
			    msgstr->str);
	if (out_problem != NULL)
		*out_problem = g_steal_pointer(&problem);
}

/*
 * One request and its JSON answer. @body is sent as application/json. Returns the object the
 * daemon answered a success with, or NULL with @error set (and @out_problem, when given, the
 * problem document of a failure, if any).
 */
static JsonObject *
ark_cli_client_call_full(ArkCliClient *self, SoupSession *session, const gchar *method,
			 const gchar *path, GBytes *body, const gchar *idempotency_key,
			 JsonObject **out_problem, GError **error)
{
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(GBytes) answer = NULL;
	gsize len = 0;
	const gchar *data;

	if (self->dbus != NULL) {
		if (out_problem != NULL)
			*out_problem = NULL;
		return ark_cli_dbus_request(self->dbus, method, path, body, idempotency_key,
					    &self->status, error);
	}
	msg = ark_cli_client_message_new(self, method, path, error);
	if (msg == NULL)
		return NULL;
	soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
				     "application/json");
	if (body != NULL)
		soup_message_set_request_body_from_bytes(msg, "application/json", body);
	if (idempotency_key != NULL)
		soup_message_headers_replace(soup_message_get_request_headers(msg),
					     "Idempotency-Key", idempotency_key);
	in = ark_cli_client_send(self, session, msg, NULL, error);
	if (in == NULL)
		return NULL;
	if (!SOUP_STATUS_IS_SUCCESSFUL(self->status)) {
		g_autoptr(GError) read_error = NULL;
		answer = ark_cli_client_read_body(msg, in, ARK_CLI_CLIENT_MAX_PROBLEM, NULL,
						  &read_error);
		ark_cli_client_set_problem(self, msg, answer, out_problem, error);
		return NULL;
	}
	answer = ark_cli_client_read_body(msg, in, ARK_CLI_CLIENT_MAX_JSON, NULL, error);
	if (answer == NULL)
		return NULL;
	/* DELETE of an agent: done, nothing to say */
	if (self->status == SOUP_STATUS_NO_CONTENT)
		return json_object_new();
	data = g_bytes_get_data(answer, &len);
	if (data == NULL || len == 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, _("%s %s: empty answer"), method,
			    path);
		return NULL;
	}
	return ark_cli_client_parse_object(data, len, error);
}

static JsonObject *
ark_cli_client_call(ArkCliClient *self, const gchar *method, const gchar *path, GError **error)
{
	return ark_cli_client_call_full(self, self->session, method, path, NULL, NULL, NULL, error);
}

/* the exit status for a failed request: the user's input when the daemon says so (an unknown
 * run, a bad override, a finished run), else the environment's */
static gint
ark_cli_client_exit_for(ArkCliClient *self)
{
	switch (self->status) {
	case 0:
		return ARK_CLI_EXIT_ENVIRONMENT;
	case SOUP_STATUS_BAD_REQUEST:
	case SOUP_STATUS_NOT_FOUND:
	case SOUP_STATUS_CONFLICT:
	case SOUP_STATUS_GONE:
	case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
	case SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE:
	case SOUP_STATUS_UNPROCESSABLE_ENTITY:
		return ARK_CLI_EXIT_INVALID;
	default:
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
}

static gint
ark_cli_client_fail(ArkCliClient *self, const GError *error)
{
	ark_cli_print_error("%s", error->message);
	return ark_cli_client_exit_for(self);
}

/* @value escaped for a path segment or a query value */
static gchar *
ark_cli_client_escape(const gchar *value)
{
	return g_uri_escape_string(value, NULL, FALSE);
}

/* "/api/v1/runs/RUN" and, with @task, "/tasks/TASK", each escaped */
static gchar *
ark_cli_client_run_path(const gchar *run_id, const gchar *task_id)
{
	g_autofree gchar *run = ark_cli_client_escape(run_id);
	g_autofree gchar *task = task_id != NULL ? ark_cli_client_escape(task_id) : NULL;
	if (task != NULL)
		return g_strdup_printf("/api/v1/runs/%s/tasks/%s", run, task);
	return g_strdup_printf("/api/v1/runs/%s", run);
}

/*
 * Every object in the @member array of the pages of @path (with @query, may be NULL), following
 * next_cursor until it is null or @max objects were collected (0: no limit).
 */
static GPtrArray *
ark_cli_client_collect(ArkCliClient *self, const gchar *path, const gchar *query,
		       const gchar *member, guint page_size, guint max, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
	g_autofree gchar *cursor = NULL;

	for (guint page = 0; page < ARK_CLI_CLIENT_MAX_PAGES; page++) {
		g_autoptr(GString) url = g_string_new(path);
		g_autoptr(JsonObject) answer = NULL;
		g_autofree gchar *previous = NULL;
		JsonArray *array;
		JsonNode *next;
		guint want = page_size;
		guint added = 0;

		if (max > 0)
			want = MIN(page_size, max - items->len);
		g_string_append_printf(url, "?limit=%u", want);
		if (query != NULL)
			g_string_append_printf(url, "&%s", query);
		if (cursor != NULL) {
			g_autofree gchar *escaped = ark_cli_client_escape(cursor);
			g_string_append_printf(url, "&cursor=%s", escaped);
		}
		answer = ark_cli_client_call(self, "GET", url->str, error);
		if (answer == NULL)
			return NULL;
		array = ark_cli_client_array(answer, member);
		if (array == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
				    _("GET %s: the answer has no '%s' list"), path, member);
			return NULL;
		}
		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *node = json_array_get_element(array, i);
			if (!JSON_NODE_HOLDS_OBJECT(node))
				continue;
			if (max > 0 && items->len >= max)
				break;
			g_ptr_array_add(items, json_object_ref(json_node_get_object(node)));
			added++;
		}
		if (max > 0 && items->len >= max)
			break;
		/* the cursor is opaque: a string, or a number (a task index) */
		next = json_object_get_member(answer, "next_cursor");
		previous = g_steal_pointer(&cursor);
		if (next != NULL && JSON_NODE_HOLDS_VALUE(next) &&
		    json_node_get_value_type(next) == G_TYPE_STRING &&
		    json_node_get_string(next)[0] != '\0')
			cursor = g_strdup(json_node_get_string(next));
		else if (next != NULL && JSON_NODE_HOLDS_VALUE(next) &&
			 json_node_get_value_type(next) == G_TYPE_INT64)
			cursor = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(next));
		if (cursor == NULL)
			break;
		/* a page that promises more without moving on would loop forever */
		if (added == 0 || g_strcmp0(cursor, previous) == 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
				    _("GET %s: the daemon's next_cursor does not move on"), path);
			return NULL;
		}
	}
	return g_steal_pointer(&items);
}

/* probing: is a daemon there? ------------------------------------------------------------------ */

/* whether anything answers HTTP at the URL; any status counts, /healthz may want a token */
static gboolean
ark_cli_client_probe(ArkCliClient *self, GError **error)
{
	g_autoptr(SoupSession) session = ark_cli_client_session_new(ARK_CLI_CLIENT_PROBE_TIMEOUT);
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GInputStream) in = NULL;

	msg = ark_cli_client_message_new(self, "GET", "/healthz", error);
	if (msg == NULL)
		return FALSE;
	in = ark_cli_client_send(self, session, msg, NULL, error);
	if (in == NULL)
		return FALSE;
	(void)g_input_stream_close(in, NULL, NULL);
	return TRUE;
}

typedef enum {
	ARK_CLI_CLIENT_CONNECT_OK,
	ARK_CLI_CLIENT_CONNECT_NO_DAEMON, /* no URL anywhere, or a stale http.url: @error says */
	ARK_CLI_CLIENT_CONNECT_FAILED,	  /* printed; *out_exit is the status */
} ArkCliClientConnect;

/*
 * Finds the daemon and the token. @probe: the command can also run without a daemon, so a
 * http.url that no daemon answers at is stale (left by a crash) and means "no daemon" too.
 */
static ArkCliClientConnect
ark_cli_client_connect(ArkCliClientOptions *opts, gboolean probe, gboolean dbus_ok,
		       ArkCliClient **out_client, gint *out_exit, GError **error)
{
	g_autoptr(ArkCliClient) self = g_new0(ArkCliClient, 1);
	g_autoptr(GError) local_error = NULL;
	const gchar *env_url = g_getenv("ARKITECT_URL");
	gboolean explicit_bus = opts->bus != NULL && g_strcmp0(opts->bus, "none") != 0;

	self->opts = opts;
	*out_exit = ARK_CLI_EXIT_ENVIRONMENT;
	/* D-Bus first, unless the user pointed at a daemon some other way (docs/cli.md) */
	if (dbus_ok && g_strcmp0(opts->bus, "none") != 0 &&
	    (explicit_bus || (opts->url == NULL && (env_url == NULL || env_url[0] == '\0') &&
			      opts->state_dir == NULL && !opts->ephemeral))) {
		self->dbus = ark_cli_dbus_find(opts->bus, &local_error);
		if (self->dbus != NULL) {
			*out_client = g_steal_pointer(&self);
			*out_exit = ARK_CLI_EXIT_OK;
			return ARK_CLI_CLIENT_CONNECT_OK;
		}
		if (explicit_bus) {
			ark_cli_print_error(_("no daemon on the %s bus: %s"), opts->bus,
					    local_error->message);
			return ARK_CLI_CLIENT_CONNECT_FAILED;
		}
		g_clear_error(&local_error);
	}
	if (!opts->ephemeral)
		self->state_dir = ark_cli_client_state_dir_path(opts->state_dir);
	if (!ark_cli_client_find_url(self, &local_error)) {
		if (g_error_matches(local_error, ARK_ERROR, ARK_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local_error));
			return ARK_CLI_CLIENT_CONNECT_NO_DAEMON;
		}
		ark_cli_print_error("%s", local_error->message);
		if (g_error_matches(local_error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT) &&
		    !self->url_from_state_dir)
			*out_exit = ARK_CLI_EXIT_INVALID;
		return ARK_CLI_CLIENT_CONNECT_FAILED;
	}
	if (probe && self->url_from_state_dir && !ark_cli_client_probe(self, error))
		return ARK_CLI_CLIENT_CONNECT_NO_DAEMON;
	if (!ark_cli_client_load_token(self, &local_error)) {
		ark_cli_print_error("%s", local_error->message);
		return ARK_CLI_CLIENT_CONNECT_FAILED;
	}
	self->session = ark_cli_client_session_new(ARK_CLI_CLIENT_TIMEOUT);
	*out_client = g_steal_pointer(&self);
	*out_exit = ARK_CLI_EXIT_OK;
	return ARK_CLI_CLIENT_CONNECT_OK;
}

gboolean
ark_cli_client_find_daemon(ArkCliClientOptions *opts, gchar **out_url, gchar **out_token,
			   gint *out_exit, GError **error)
{
	g_autoptr(ArkCliClient) client = NULL;

	/* the bridge speaks HTTP: a daemon found on D-Bus only does not do */
	switch (ark_cli_client_connect(opts, TRUE, FALSE, &client, out_exit, error)) {
	case ARK_CLI_CLIENT_CONNECT_OK:
		*out_url = g_strdup(client->base_url);
		*out_token = g_strdup(client->token);
		return TRUE;
	case ARK_CLI_CLIENT_CONNECT_NO_DAEMON:
		*out_exit = ARK_CLI_EXIT_OK;
		return FALSE;
	case ARK_CLI_CLIENT_CONNECT_FAILED:
	default:
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED, "printed");
		return FALSE;
	}
}

/* what to do instead when a daemon-only command finds no daemon */
static const gchar *
ark_cli_client_no_daemon_hint(const gchar *cmd)
{
	if (g_strcmp0(cmd, "runs") == 0)
		return _("without a daemon, 'arkitect status' lists the runs of the state directory");
	if (g_strcmp0(cmd, "tasks") == 0 || g_strcmp0(cmd, "watch") == 0)
		return _("without a daemon, 'arkitect status RUN_ID' reports a run of the state "
			 "directory");
	if (g_strcmp0(cmd, "logs") == 0)
		return _("without a daemon, logs are files: <state dir>/logs/RUN/TASK/attempt-N.log");
	if (g_strcmp0(cmd, "retry") == 0)
		return _("without a daemon, 'arkitect dlq replay RUN_ID TASK_ID' runs a task again");
	if (g_strcmp0(cmd, "submit") == 0)
		return _("without a daemon, 'arkitect run FILE' runs a workflow in this process");
	return NULL;
}

/* reports -------------------------------------------------------------------------------------- */

/* the last ARK_CLI_CLIENT_LOG_TAIL_LINES lines of an attempt's log, indented */
static void
ark_cli_client_print_log_tail(ArkCliClient *self, const gchar *run_id, const gchar *task_id,
			      guint attempt)
{
	g_autofree gchar *base = ark_cli_client_run_path(run_id, task_id);
	g_autofree gchar *path = g_strdup_printf("%s/attempts/%u/log?offset=-%u&limit=%u", base,
						 attempt, ARK_CLI_CLIENT_LOG_TAIL_BYTES,
						 ARK_CLI_CLIENT_LOG_TAIL_BYTES);
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	const gchar *size;
	gsize len = 0;
	guint n, first;

	/* logs are files served over HTTP only */
	if (self->dbus != NULL)
		return;
	msg = ark_cli_client_message_new(self, "GET", path, NULL);
	if (msg == NULL)
		return;
	in = ark_cli_client_send(self, self->session, msg, NULL, NULL);
	if (in == NULL || !SOUP_STATUS_IS_SUCCESSFUL(self->status))
		return;
	body = ark_cli_client_read_body(msg, in, ARK_CLI_CLIENT_LOG_TAIL_BYTES * 2, NULL, NULL);
	if (body == NULL || g_bytes_get_size(body) == 0)
		return;
	text = g_strndup(g_bytes_get_data(body, &len), g_bytes_get_size(body));
	lines = g_strsplit(text, "\n", -1);
	n = g_strv_length(lines);
	if (n > 0 && lines[n - 1][0] == '\0')
		n--;
	/* a tail that starts inside the log starts inside a line: leave that one out */
	size = soup_message_headers_get_one(soup_message_get_response_headers(msg), "X-Log-Size");
	first = 0;
	if (size != NULL && g_ascii_strtoull(size, NULL, 10) > len && n > 1)
		first = 1;
	if (n - first > ARK_CLI_CLIENT_LOG_TAIL_LINES)
		first = n - ARK_CLI_CLIENT_LOG_TAIL_LINES;
	for (guint i = first; i < n; i++) {
		g_autofree gchar *safe = ark_cli_client_safe(lines[i]);
		g_print("    | %s\n", safe);
	}
}

/* the failed task's reason, log hint and log tail, as `arkitect run` prints them */
static void
ark_cli_client_print_failure(ArkCliClient *self, const gchar *run_id, JsonObject *task)
{
	const gchar *task_id = ark_cli_client_str(task, "id");
	g_autofree gchar *path = ark_cli_client_run_path(run_id, task_id);
	g_autoptr(JsonObject) detail = NULL;
	g_autofree gchar *safe_id = ark_cli_client_safe(task_id);
	g_autofree gchar *why = NULL;
	JsonObject *last = NULL;
	JsonArray *attempts;
	const gchar *reason;
	guint number = 0;

	detail = ark_cli_client_call(self, "GET", path, NULL);
	attempts = ark_cli_client_array(detail, "attempts");
	for (guint i = 0; attempts != NULL && i < json_array_get_length(attempts); i++) {
		JsonNode *node = json_array_get_element(attempts, i);
		JsonObject *a = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		guint n = ark_cli_client_uint(a, "number", 0);
		if (a != NULL && n >= number) {
			last = a;
			number = n;
		}
	}
	reason = ark_cli_client_str(last, "error");
	if (reason == NULL)
		reason = ark_cli_client_str(task, "reason");
	why = reason != NULL ? ark_cli_client_safe(reason) : g_strdup(_("unknown reason"));
	g_print("\n");
	if (ark_cli_client_bool(ark_cli_client_obj(detail, "definition"), "allow_failure"))
		g_print(_("%s failed (allowed to fail): %s\n"), safe_id, why);
	else
		g_print(_("%s failed: %s\n"), safe_id, why);
	if (last != NULL && number > 0 && ark_cli_client_bool(last, "has_log")) {
		/* TRANSLATORS: how to see the whole log of a failed task in the daemon */
		g_print(_("  log: arkitect logs %s %s --attempt %u\n"), run_id, safe_id, number);
		ark_cli_client_print_log_tail(self, run_id, task_id, number);
	}
}

/* the table of `arkitect run`'s summary, for up to 200 tasks; counts the tasks by state */
static void
ark_cli_client_print_task_table(GPtrArray *tasks, guint counts[ARK_TASK_STATE_LAST],
				guint *out_unknown)
{
	gboolean color = ark_cli_progress_use_color(stdout);
	guint id_width = 4;

	for (guint i = 0; i < tasks->len; i++) {
		const gchar *id = ark_cli_client_str(tasks->pdata[i], "id");
		ArkTaskState st = ark_cli_client_task_state(tasks->pdata[i]);
		if (id != NULL)
			id_width = MAX(id_width, MIN(g_utf8_strlen(id, -1), 40));
		if (st < ARK_TASK_STATE_LAST)
			counts[st]++;
		else
			(*out_unknown)++;
	}
	if (tasks->len <= 200) {
		/* TRANSLATORS: column headings of the summary table */
		g_print("%-*s  %-10s  %8s  %4s  %9s\n", id_width, _("TASK"), _("STATE"),
			_("ATTEMPTS"), _("EXIT"), _("DURATION"));
		for (guint i = 0; i < tasks->len; i++) {
			JsonObject *t = tasks->pdata[i];
			ArkTaskState st = ark_cli_client_task_state(t);
			g_autofree gchar *id = ark_cli_client_safe(ark_cli_client_str(t, "id"));
			g_autofree gchar *state = ark_cli_client_safe(ark_cli_client_str(t, "state"));
			g_autofree gchar *exit_str = ark_cli_client_exit_string(t, NULL);
			g_autofree gchar *dur = ark_cli_client_duration_string(t);
			const gchar *on = "";
			const gchar *off = "";
			if (color) {
				off = "\033[0m";
				on = st == ARK_TASK_STATE_SUCCEEDED ? "\033[32m"
				     : st == ARK_TASK_STATE_FAILED || st == ARK_TASK_STATE_DEAD
					 ? "\033[31m"
					 : "\033[33m";
			}
			g_print("%-*s  %s%-10s%s  %8u  %4s  %9s\n", id_width, id, on, state, off,
				ark_cli_client_uint(t, "attempts", 0), exit_str, dur);
		}
	}
}

static gint
ark_cli_client_run_exit(JsonObject *run)
{
	ArkRunState state;
	if (ark_run_state_from_string(ark_cli_client_str(run, "state"), &state) &&
	    state == ARK_RUN_STATE_SUCCEEDED)
		return ARK_CLI_EXIT_OK;
	return ARK_CLI_EXIT_RUN_FAILED;
}

/*
 * The run's report like `arkitect run` prints it: the task table (for up to 200 tasks), every
 * failure with its log tail, and the last line with the counts; with --json the API's run and
 * task objects. Returns 0, or the exit status of a request that failed; @out_run_exit gets the
 * run's outcome (0 succeeded, 1 otherwise).
 */
static gint
ark_cli_client_report(ArkCliClient *self, const gchar *run_id, gint *out_run_exit)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = ark_cli_client_run_path(run_id, NULL);
	g_autofree gchar *tasks_path = g_strdup_printf("%s/tasks", path);
	g_autoptr(JsonObject) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GString) summary = g_string_new(NULL);
	g_autofree gchar *took = NULL;
	g_autofree gchar *safe_state = NULL;
	guint counts[ARK_TASK_STATE_LAST] = {0};
	guint unknown = 0;
	guint failed_shown = 0, failed_total = 0;

	run = ark_cli_client_call(self, "GET", path, &error);
	if (run == NULL)
		return ark_cli_client_fail(self, error);
	tasks = ark_cli_client_collect(self, tasks_path, NULL, "tasks", 10000, 0, &error);
	if (tasks == NULL)
		return ark_cli_client_fail(self, error);
	*out_run_exit = ark_cli_client_run_exit(run);

	if (self->opts->json) {
		g_autoptr(JsonObject) report = json_object_new();
		JsonArray *array = json_array_sized_new(tasks->len);
		json_object_set_object_member(report, "run", json_object_ref(run));
		for (guint i = 0; i < tasks->len; i++)
			json_array_add_object_element(array, json_object_ref(tasks->pdata[i]));
		json_object_set_array_member(report, "tasks", array);
		ark_cli_client_print_json_object(report);
		return ARK_CLI_EXIT_OK;
	}

	ark_cli_client_print_task_table(tasks, counts, &unknown);
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskState st = ark_cli_client_task_state(tasks->pdata[i]);
		if (st != ARK_TASK_STATE_FAILED && st != ARK_TASK_STATE_DEAD)
			continue;
		failed_total++;
		if (failed_shown >= ARK_CLI_CLIENT_MAX_FAILED_DETAILS ||
		    ark_cli_client_str(tasks->pdata[i], "id") == NULL)
			continue;
		ark_cli_client_print_failure(self, run_id, tasks->pdata[i]);
		failed_shown++;
	}
	if (failed_total > failed_shown) {
		g_print("\n");
		/* TRANSLATORS: more failed tasks than the report details */
		g_print(_("… and %u more failed tasks: arkitect tasks %s --state failed,dead\n"),
			failed_total - failed_shown, run_id);
	}
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (counts[s] == 0)
			continue;
		if (summary->len > 0)
			g_string_append(summary, ", ");
		g_string_append_printf(summary, "%u %s", counts[s], ark_task_state_to_string(s));
	}
	if (unknown > 0)
		g_string_append_printf(summary, "%s%u %s", summary->len > 0 ? ", " : "", unknown,
				       _("in an unknown state"));
	{
		ArkTimestamp created = ark_cli_client_time(run, "created_at");
		ArkTimestamp finished = ark_cli_client_time(run, "finished_at");
		ArkRunState state;
		/* an unfinished run (status RUN_ID) has been going on until now */
		if (!ark_run_state_from_string(ark_cli_client_str(run, "state"), &state) ||
		    !ark_run_state_is_terminal(state))
			finished = g_get_real_time();
		took = created > 0 && finished >= created
			   ? ark_cli_format_duration(finished - created)
			   : g_strdup("-");
	}
	safe_state = ark_cli_client_safe(ark_cli_client_str(run, "state"));
	g_print("\n");
	g_print(_("run %s %s in %s: %s\n"), run_id, safe_state, took, summary->str);
	return ARK_CLI_EXIT_OK;
}

/* arkitect watch ------------------------------------------------------------------------------- */

typedef enum {
	ARK_CLI_CLIENT_STREAM_FINISHED, /* the run finished */
	ARK_CLI_CLIENT_STREAM_LOST,	/* the connection went: try again */
	ARK_CLI_CLIENT_STREAM_FATAL,	/* the daemon said no, or sent garbage */
} ArkCliClientStream;

/* what the watcher thread hands to the main thread */
typedef struct {
	ArkEvent *event;
	gchar *note;
	GError *error; /* the watch gave up */
	gint exit;     /* with @error */
	gboolean finished;
} ArkCliClientWatchItem;

static void
ark_cli_client_watch_item_free(ArkCliClientWatchItem *item)
{
	g_clear_pointer(&item->event, ark_event_free);
	g_free(item->note);
	g_clear_error(&item->error);
	g_free(item);
}

typedef struct {
	ArkCliClient *client; /* the watcher thread's until it is joined */
	gchar *run_id;
	gint64 reconnect_usec;
	GCancellable *cancellable;
	GMainLoop *loop;
	GAsyncQueue *queue; /* of ArkCliClientWatchItem */
	gint idle_scheduled;
	guint64 last_seq;
	gboolean have_seq;
	gboolean reconnecting;
	/* the main thread's */
	ArkCliProgress *progress;
	gboolean finished;
	gboolean interrupted;
	GError *error;
	gint error_exit;
} ArkCliClientWatch;

static gboolean ark_cli_client_watch_drain_cb(gpointer user_data);

/* from the watcher thread: queue @item and wake the main thread once for everything queued */
static void
ark_cli_client_watch_push(ArkCliClientWatch *w, ArkCliClientWatchItem *item)
{
	g_async_queue_push(w->queue, item);
	if (g_atomic_int_compare_and_exchange(&w->idle_scheduled, 0, 1))
		g_main_context_invoke(NULL, ark_cli_client_watch_drain_cb, w);
}

static void
ark_cli_client_watch_note(ArkCliClientWatch *w, gchar *note)
{
	ArkCliClientWatchItem *item = g_new0(ArkCliClientWatchItem, 1);
	item->note = note;
	ark_cli_client_watch_push(w, item);
}

static gboolean
ark_cli_client_event_kind(const gchar *str, ArkEventKind *out_kind)
{
	for (guint i = 0; str != NULL && i < ARK_EVENT_LAST; i++) {
		if (g_strcmp0(str, ark_event_kind_to_string(i)) == 0) {
			*out_kind = (ArkEventKind)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* an event of the API as an ArkEvent, or NULL when it is not one the client understands */
static ArkEvent *
ark_cli_client_event_from_json(JsonObject *object)
{
	g_autoptr(ArkEvent) event = g_new0(ArkEvent, 1);
	const gchar *state = ark_cli_client_str(object, "state");
	gint64 seq = 0;
	gint value = -1;

	if (!ark_cli_client_event_kind(ark_cli_client_str(object, "kind"), &event->kind) ||
	    ark_cli_client_str(object, "run_id") == NULL)
		return NULL;
	if (ark_cli_client_int(object, "seq", &seq) && seq > 0)
		event->seq = (guint64)seq;
	event->time = ark_cli_client_time(object, "time");
	event->run_id = g_strdup(ark_cli_client_str(object, "run_id"));
	event->task_id = g_strdup(ark_cli_client_str(object, "task_id"));
	event->attempt = ark_cli_client_uint(object, "attempt", 0);
	switch (event->kind) {
	case ARK_EVENT_RUN_SUBMITTED:
	case ARK_EVENT_RUN_STARTED:
	case ARK_EVENT_RUN_FINISHED: {
		ArkRunState s;
		if (ark_run_state_from_string(state, &s))
			value = (gint)s;
		break;
	}
	case ARK_EVENT_TASK_STATE: {
		ArkTaskState s;
		if (!ark_task_state_from_string(state, &s) || event->task_id == NULL)
			return NULL;
		value = (gint)s;
		break;
	}
	default: {
		ArkAttemptStatus s;
		if (event->task_id == NULL)
			return NULL;
		if (ark_attempt_status_from_string(state, &s))
			value = (gint)s;
		break;
	}
	}
	event->state = value;
	return g_steal_pointer(&event);
}

/*
 * Reads a line of at most @max bytes from @in, without its line end (LF or CRLF). NULL with
 * @error unset at the end of the stream.
 */
static gchar *
ark_cli_client_read_line(GBufferedInputStream *in, gsize max, GCancellable *cancellable,
			 GError **error)
{
	for (;;) {
		gsize avail = 0;
		const gchar *buf = g_buffered_input_stream_peek_buffer(in, &avail);
		const gchar *nl = avail > 0 ? memchr(buf, '\n', avail) : NULL;
		gssize n;

		if (nl != NULL) {
			gsize len = (gsize)(nl - buf);
			gchar *line = g_strndup(buf, len > 0 && buf[len - 1] == '\r' ? len - 1 : len);
			if (g_input_stream_skip(G_INPUT_STREAM(in), len + 1, cancellable, error) < 0) {
				g_free(line);
				return NULL;
			}
			return line;
		}
		if (avail > max) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
				    _("the event stream has a line longer than %" G_GSIZE_FORMAT
				      " bytes"),
				    max);
			return NULL;
		}
		if (avail == g_buffered_input_stream_get_buffer_size(in))
			g_buffered_input_stream_set_buffer_size(in, MIN(avail * 2, max + 1));
		n = g_buffered_input_stream_fill(in, -1, cancellable, error);
		if (n < 0)
			return NULL;
		if (n == 0) {
			/* the stream ended inside a line: an incomplete event, dropped */
			return NULL;
		}
	}
}

/*
 * Whether the run is still finished. A run that a retry or a DLQ replay reopened has more than
 * one run.finished event, and the backlog starts at its first: only the run itself can say
 * whether the one just read is its last.
 */
static gboolean
ark_cli_client_watch_run_ended(ArkCliClientWatch *w, SoupSession *session)
{
	g_autofree gchar *path = ark_cli_client_run_path(w->run_id, NULL);
	g_autoptr(JsonObject) run = NULL;
	ArkRunState state;

	run = ark_cli_client_call_full(w->client, session, "GET", path, NULL, NULL, NULL, NULL);
	/* no answer: believe the event; the report that follows asks again */
	if (run == NULL || !ark_run_state_from_string(ark_cli_client_str(run, "state"), &state))
		return TRUE;
	return ark_run_state_is_terminal(state);
}

/* hands one complete server-sent event to the main thread; TRUE when the run finished */
static gboolean
ark_cli_client_watch_dispatch(ArkCliClientWatch *w, SoupSession *session, const gchar *id,
			      GString *data)
{
	g_autoptr(JsonObject) object = NULL;
	ArkCliClientWatchItem *item;
	ArkEvent *event;
	guint64 seq = 0;
	gboolean finished;

	if (data->len == 0)
		return FALSE;
	/* the last data line's newline is not part of the data */
	g_string_truncate(data, data->len - 1);
	object = ark_cli_client_parse_object(data->str, data->len, NULL);
	if (object == NULL)
		return FALSE;
	event = ark_cli_client_event_from_json(object);
	if (id != NULL && g_ascii_string_to_unsigned(id, 10, 1, G_MAXUINT64, &seq, NULL))
		;
	else if (event != NULL)
		seq = event->seq;
	/* a resumed stream starts after the last seq: anything older is a repeat */
	if (seq > 0 && w->have_seq && seq <= w->last_seq) {
		g_clear_pointer(&event, ark_event_free);
		return FALSE;
	}
	if (seq > 0) {
		w->last_seq = seq;
		w->have_seq = TRUE;
	}
	if (event == NULL || g_strcmp0(event->run_id, w->run_id) != 0) {
		g_clear_pointer(&event, ark_event_free);
		return FALSE;
	}
	finished = event->kind == ARK_EVENT_RUN_FINISHED &&
		   ark_cli_client_watch_run_ended(w, session);
	item = g_new0(ArkCliClientWatchItem, 1);
	item->finished = finished;
	item->event = event;
	/* the main thread owns the item from here */
	ark_cli_client_watch_push(w, item);
	return finished;
}

/* one connection to the event stream, read until the run finishes or the connection goes;
 * @out_connected is set once a line was read */
static ArkCliClientStream
ark_cli_client_watch_stream(ArkCliClientWatch *w, SoupSession *session, gboolean *out_connected,
			    GError **error)
{
	ArkCliClient *client = w->client;
	g_autofree gchar *run = ark_cli_client_escape(w->run_id);
	g_autofree gchar *path = NULL;
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(GBufferedInputStream) buffered = NULL;
	g_autoptr(GString) data = g_string_new(NULL);
	g_autofree gchar *id = NULL;
	const gchar *type;

	/* the first connection asks for the run's events from its first, a resumed one for
	 * those after the last one seen */
	path = w->have_seq ? g_strdup_printf("/api/v1/events?run=%s", run)
			   : g_strdup_printf("/api/v1/events?run=%s&after=0", run);
	msg = ark_cli_client_message_new(client, "GET", path, error);
	if (msg == NULL)
		return ARK_CLI_CLIENT_STREAM_FATAL;
	soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
				     "text/event-stream");
	if (w->have_seq) {
		g_autofree gchar *last = g_strdup_printf("%" G_GUINT64_FORMAT, w->last_seq);
		soup_message_headers_replace(soup_message_get_request_headers(msg),
					     "Last-Event-ID", last);
	}
	in = ark_cli_client_send(client, session, msg, w->cancellable, error);
	if (in == NULL)
		return ARK_CLI_CLIENT_STREAM_LOST;
	if (client->status != SOUP_STATUS_OK) {
		g_autoptr(GBytes) body = ark_cli_client_read_body(
		    msg, in, ARK_CLI_CLIENT_MAX_PROBLEM, w->cancellable, NULL);
		ark_cli_client_set_problem(client, msg, body, NULL, error);
		/* a daemon that is starting or draining, or busy, is worth waiting for */
		if (client->status >= 500 || client->status == SOUP_STATUS_REQUEST_TIMEOUT ||
		    client->status == 429)
			return ARK_CLI_CLIENT_STREAM_LOST;
		return ARK_CLI_CLIENT_STREAM_FATAL;
	}
	type = soup_message_headers_get_content_type(soup_message_get_response_headers(msg),
						     NULL);
	if (g_strcmp0(type, "text/event-stream") != 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
			    _("GET %s: the answer is not an event stream"), path);
		return ARK_CLI_CLIENT_STREAM_FATAL;
	}
	if (w->reconnecting) {
		w->reconnecting = FALSE;
		ark_cli_client_watch_note(
		    w, g_strdup_printf(_("arkitect: reconnected to %s; resuming after event %" G_GUINT64_FORMAT),
				       client->base_url, w->last_seq));
	}

	buffered = G_BUFFERED_INPUT_STREAM(g_buffered_input_stream_new_sized(in, 65536));
	for (;;) {
		g_autoptr(GError) read_error = NULL;
		g_autofree gchar *line = ark_cli_client_read_line(
		    buffered, ARK_CLI_CLIENT_MAX_SSE_LINE, w->cancellable, &read_error);
		const gchar *colon;
		const gchar *value;
		g_autofree gchar *field = NULL;

		if (line == NULL && read_error != NULL) {
			gboolean fatal = g_error_matches(read_error, ARK_ERROR,
							 ARK_ERROR_LIMIT_EXCEEDED);
			g_propagate_error(error, g_steal_pointer(&read_error));
			return fatal ? ARK_CLI_CLIENT_STREAM_FATAL : ARK_CLI_CLIENT_STREAM_LOST;
		}
		if (line == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
				    _("the daemon closed the event stream"));
			return ARK_CLI_CLIENT_STREAM_LOST;
		}
		/* a stream counts as working once something came through it, so that one
		 * the daemon closes at once is retried with backoff, not in a busy loop */
		*out_connected = TRUE;
		if (line[0] == '\0') {
			gboolean finished = ark_cli_client_watch_dispatch(w, session, id, data);
			g_string_truncate(data, 0);
			g_clear_pointer(&id, g_free);
			if (finished)
				return ARK_CLI_CLIENT_STREAM_FINISHED;
			continue;
		}
		if (line[0] == ':')
			continue; /* a comment: the keepalive */
		colon = strchr(line, ':');
		field = colon != NULL ? g_strndup(line, (gsize)(colon - line)) : g_strdup(line);
		value = colon != NULL ? colon + 1 : "";
		if (*value == ' ')
			value++;
		if (g_strcmp0(field, "data") == 0) {
			if (data->len + strlen(value) + 1 > ARK_CLI_CLIENT_MAX_SSE_EVENT) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
					    _("the event stream has an event larger than %u bytes"),
					    ARK_CLI_CLIENT_MAX_SSE_EVENT);
				return ARK_CLI_CLIENT_STREAM_FATAL;
			}
			g_string_append(data, value);
			g_string_append_c(data, '\n');
		} else if (g_strcmp0(field, "id") == 0) {
			g_free(id);
			id = g_strdup(value);
		}
		/* "event" repeats the JSON's kind; "retry" is for browsers */
	}
}

/* sleeps @msec unless the watch is cancelled first; FALSE when it was */
static gboolean
ark_cli_client_watch_sleep(ArkCliClientWatch *w, guint msec)
{
	gint64 until = g_get_monotonic_time() + (gint64)msec * 1000;
	while (g_get_monotonic_time() < until) {
		if (g_cancellable_is_cancelled(w->cancellable))
			return FALSE;
		g_usleep(20 * 1000);
	}
	return !g_cancellable_is_cancelled(w->cancellable);
}

/*
 * The watcher thread: reads the event stream with the blocking API, so that the main thread
 * stays free to redraw the progress line and to handle Ctrl-C. When the connection goes (a
 * daemon restart), it tries again with backoff for up to the reconnect timeout, resuming after
 * the last event with Last-Event-ID; a daemon found through http.url may come back on another
 * port, so the file (and the token) is read again each time.
 */
static gpointer
ark_cli_client_watch_thread(gpointer user_data)
{
	ArkCliClientWatch *w = user_data;
	g_autoptr(SoupSession) session = ark_cli_client_session_new(ARK_CLI_CLIENT_STREAM_TIMEOUT);
	gint64 lost_since = 0;
	guint delay = 250;
	gboolean quiet_retry = FALSE;

	for (;;) {
		g_autoptr(GError) error = NULL;
		gboolean connected = FALSE;
		ArkCliClientStream outcome;
		ArkCliClientWatchItem *item;

		outcome = ark_cli_client_watch_stream(w, session, &connected, &error);
		if (g_cancellable_is_cancelled(w->cancellable))
			break;
		if (outcome == ARK_CLI_CLIENT_STREAM_FINISHED)
			break;
		if (outcome == ARK_CLI_CLIENT_STREAM_FATAL) {
			item = g_new0(ArkCliClientWatchItem, 1);
			item->error = g_steal_pointer(&error);
			item->exit = ark_cli_client_exit_for(w->client);
			ark_cli_client_watch_push(w, item);
			break;
		}
		if (connected || lost_since == 0) {
			/* a new loss: the timeout counts from here, and the first attempt to
			 * reconnect is made at once and quietly (a stream the daemon closed) */
			lost_since = g_get_monotonic_time();
			delay = 250;
			quiet_retry = TRUE;
			continue;
		}
		if (quiet_retry) {
			quiet_retry = FALSE;
			w->reconnecting = TRUE;
			ark_cli_client_watch_note(
			    w, g_strdup_printf(_("arkitect: connection to the daemon lost (%s); "
						 "reconnecting"),
					       error->message));
		}
		if (g_get_monotonic_time() - lost_since > w->reconnect_usec) {
			g_autofree gchar *limit = ark_duration_format(w->reconnect_usec);
			item = g_new0(ArkCliClientWatchItem, 1);
			g_set_error(&item->error, ARK_ERROR, ARK_ERROR_TIMED_OUT,
				    _("gave up on the daemon after %s: %s (the run may go on: "
				      "arkitect watch %s)"),
				    limit, error->message, w->run_id);
			item->exit = ARK_CLI_EXIT_ENVIRONMENT;
			ark_cli_client_watch_push(w, item);
			break;
		}
		if (!ark_cli_client_watch_sleep(w, delay))
			break;
		delay = MIN(delay * 2, 5000);
		/* a restarted daemon may listen elsewhere and hold a new token */
		if (w->client->url_from_state_dir) {
			g_autoptr(GError) url_error = NULL;
			if (!ark_cli_client_find_url(w->client, &url_error))
				continue; /* not written yet: the next attempt fails as lost */
		}
		(void)ark_cli_client_load_token(w->client, NULL);
	}
	return NULL;
}

static gboolean
ark_cli_client_watch_drain_cb(gpointer user_data)
{
	ArkCliClientWatch *w = user_data;
	ArkCliClientWatchItem *item;

	g_atomic_int_set(&w->idle_scheduled, 0);
	while ((item = g_async_queue_try_pop(w->queue)) != NULL) {
		if (item->note != NULL && !w->finished) {
			ark_cli_progress_print_note(w->progress, item->note);
		} else if (item->event != NULL && !w->finished) {
			ark_cli_progress_add_event(w->progress, item->event);
			if (item->finished) {
				w->finished = TRUE;
				g_main_loop_quit(w->loop);
			}
		} else if (item->error != NULL && !w->finished && w->error == NULL) {
			w->error = g_steal_pointer(&item->error);
			w->error_exit = item->exit;
			g_main_loop_quit(w->loop);
		}
		ark_cli_client_watch_item_free(item);
	}
	return G_SOURCE_REMOVE;
}

static gboolean
ark_cli_client_watch_interrupt_cb(gpointer user_data)
{
	ArkCliClientWatch *w = user_data;
	w->interrupted = TRUE;
	g_cancellable_cancel(w->cancellable);
	g_main_loop_quit(w->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
ark_cli_client_reconnect_timeout(ArkCliClientOptions *opts, gint64 *out_usec)
{
	g_autoptr(GError) error = NULL;
	guint64 secs;

	*out_usec = ARK_CLI_CLIENT_DEFAULT_RECONNECT;
	if (opts->reconnect_timeout == NULL)
		return TRUE;
	/* a bare number is seconds */
	if (g_ascii_string_to_unsigned(opts->reconnect_timeout, 10, 0, 86400 * 365, &secs, NULL)) {
		*out_usec = (gint64)secs * G_USEC_PER_SEC;
		return TRUE;
	}
	if (!ark_duration_parse(opts->reconnect_timeout, out_usec, &error)) {
		ark_cli_print_error("--reconnect-timeout: %s", error->message);
		return FALSE;
	}
	return TRUE;
}

/*
 * Shows the live progress of @run_id from the daemon's event stream until it ends, then its
 * report; the exit status is the run's (0 succeeded, 1 not), 130 when interrupted (the run goes
 * on in the daemon), 2 for an unknown run, 3 when the daemon could not be reached for the
 * reconnect timeout.
 */
static gint
ark_cli_client_watch(ArkCliClient *self, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = ark_cli_client_run_path(run_id, NULL);
	g_autoptr(JsonObject) run = NULL;
	g_autoptr(GThread) thread = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(GAsyncQueue) queue = NULL;
	g_autoptr(ArkCliProgress) progress = NULL;
	ArkCliClientWatch w = {0};
	ArkRunState state;
	guint sigint_id, sigterm_id;
	gint run_exit = ARK_CLI_EXIT_RUN_FAILED;
	gint rc;
	gboolean quiet = self->opts->quiet || self->opts->json;

	if (!ark_cli_client_reconnect_timeout(self->opts, &w.reconnect_usec))
		return ARK_CLI_EXIT_INVALID;
	run = ark_cli_client_call(self, "GET", path, &error);
	if (run == NULL)
		return ark_cli_client_fail(self, error);
	if (ark_run_state_from_string(ark_cli_client_str(run, "state"), &state) &&
	    ark_run_state_is_terminal(state)) {
		rc = ark_cli_client_report(self, run_id, &run_exit);
		return rc != ARK_CLI_EXIT_OK ? rc : run_exit;
	}
	if (!quiet) {
		g_autofree gchar *workflow = ark_cli_client_safe(ark_cli_client_str(run, "workflow"));
		/* TRANSLATORS: printed when watching a run starts: run id, workflow, task count */
		g_printerr(_("run %s: %s, %u tasks\n"), run_id, workflow,
			   ark_cli_client_uint(run, "n_tasks", 0));
	}

	loop = g_main_loop_new(NULL, FALSE);
	queue = g_async_queue_new_full((GDestroyNotify)ark_cli_client_watch_item_free);
	progress = ark_cli_progress_new_detached(run_id, ark_cli_client_uint(run, "n_tasks", 0),
						 stderr, quiet);
	ark_cli_progress_set_started(progress, ark_cli_client_time(run, "created_at"));
	w.client = self;
	w.run_id = (gchar *)run_id;
	w.cancellable = cancellable;
	w.loop = loop;
	w.queue = queue;
	w.progress = progress;

	sigint_id = g_unix_signal_add(SIGINT, ark_cli_client_watch_interrupt_cb, &w);
	sigterm_id = g_unix_signal_add(SIGTERM, ark_cli_client_watch_interrupt_cb, &w);
	thread = g_thread_new("arkitect-watch", ark_cli_client_watch_thread, &w);
	g_main_loop_run(loop);
	g_cancellable_cancel(cancellable);
	g_thread_join(g_steal_pointer(&thread));
	g_source_remove(sigint_id);
	g_source_remove(sigterm_id);
	/* what the thread queued after the loop stopped is not shown any more */
	while (g_main_context_iteration(NULL, FALSE))
		;
	ark_cli_progress_finish(progress);

	if (w.interrupted && !w.finished) {
		g_printerr("\n");
		/* TRANSLATORS: Ctrl-C while watching a run in the daemon: run id twice */
		ark_cli_print_error(_("stopped watching; run %s goes on in the daemon "
					     "('arkitect watch %s')"),
					   run_id, run_id);
		g_clear_error(&w.error);
		return ARK_CLI_EXIT_INTERRUPTED;
	}
	if (w.error != NULL) {
		ark_cli_print_error("%s", w.error->message);
		g_clear_error(&w.error);
		return w.error_exit;
	}
	rc = ark_cli_client_report(self, run_id, &run_exit);
	return rc != ARK_CLI_EXIT_OK ? rc : run_exit;
}

/* arkitect submit ------------------------------------------------------------------------------ */

static GBytes *
ark_cli_client_read_workflow(const gchar *path, GError **error)
{
	gsize len = 0;
	gchar *contents = ark_cli_read_file(path, &len, error);

	if (contents == NULL)
		return NULL;
	return g_bytes_new_take(contents, len);
}

/* the "errors" of a 422 the way `validate` prints problems */
static void
ark_cli_client_print_problems(const gchar *filename, JsonArray *errors, gboolean json)
{
	g_autoptr(JsonArray) problems = json_array_new();
	guint n = 0;

	for (guint i = 0; i < json_array_get_length(errors); i++) {
		JsonNode *node = json_array_get_element(errors, i);
		JsonObject *e = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		g_autofree gchar *message = NULL;
		g_autofree gchar *path = NULL;
		ArkProblem p = {0};

		if (e == NULL)
			continue;
		message = ark_cli_client_safe(ark_cli_client_str(e, "message"));
		path = ark_cli_client_str(e, "path") != NULL
			   ? ark_cli_client_safe(ark_cli_client_str(e, "path"))
			   : NULL;
		p.path = path;
		p.message = message;
		p.line = ark_cli_client_uint(e, "line", 0);
		p.column = ark_cli_client_uint(e, "column", 0);
		n++;
		if (json) {
			JsonObject *o = json_object_new();
			json_object_set_string_member(o, "path", path != NULL ? path : "");
			json_object_set_int_member(o, "line", p.line);
			json_object_set_int_member(o, "column", p.column);
			json_object_set_string_member(o, "message", message);
			json_array_add_object_element(problems, o);
		} else {
			g_autofree gchar *line = ark_problem_to_string(&p, filename);
			g_printerr("%s\n", line);
		}
	}
	if (json) {
		g_autoptr(JsonObject) root = json_object_new();
		json_object_set_boolean_member(root, "valid", FALSE);
		json_object_set_array_member(root, "problems", json_array_ref(problems));
		ark_cli_client_print_json_object(root);
		return;
	}
	g_printerr(g_dngettext(GETTEXT_PACKAGE, "%s: %u problem\n", "%s: %u problems\n", n),
		   filename, n);
}

/* visible ASCII for a header value */
static gboolean
ark_cli_client_header_safe(const gchar *value)
{
	if (value == NULL || value[0] == '\0' || strlen(value) > 1024)
		return FALSE;
	for (const gchar *p = value; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

static gint
ark_cli_client_cmd_submit(ArkCliClient *self, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(JsonObject) run = NULL;
	g_autoptr(JsonObject) problem = NULL;
	g_autoptr(GString) path = g_string_new("/api/v1/runs");
	const gchar *run_id;
	const gchar *key = self->opts->idempotency_key;

	if (key != NULL && !ark_cli_client_header_safe(key)) {
		ark_cli_print_error(_("--idempotency-key must be 1 to 1024 visible ASCII "
					     "characters"));
		return ARK_CLI_EXIT_INVALID;
	}
	body = ark_cli_client_read_workflow(file, &error);
	if (body == NULL) {
		ark_cli_print_error("%s", error->message);
		return ARK_CLI_EXIT_INVALID;
	}
	if (self->opts->policy != NULL) {
		g_autofree gchar *policy = ark_cli_client_escape(self->opts->policy);
		g_string_append_printf(path, "?policy=%s", policy);
	}
	run = ark_cli_client_call_full(self, self->session, "POST", path->str, body, key, &problem,
				       &error);
	if (run == NULL) {
		JsonArray *errors = ark_cli_client_array(problem, "errors");
		if (self->status == SOUP_STATUS_UNPROCESSABLE_ENTITY && errors != NULL &&
		    json_array_get_length(errors) > 0) {
			ark_cli_client_print_problems(g_strcmp0(file, "-") == 0 ? "<stdin>" : file,
						      errors, self->opts->json);
			return ARK_CLI_EXIT_INVALID;
		}
		return ark_cli_client_fail(self, error);
	}
	/* the id is printed, put in paths and typed again by the user: run ids are URL-safe */
	run_id = ark_cli_client_str(run, "id");
	if (run_id == NULL || run_id[0] == '\0' || strlen(run_id) > 128 ||
	    strspn(run_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
		strlen(run_id)) {
		ark_cli_print_error(_("the daemon accepted the run but sent no usable id"));
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	if (!self->opts->quiet && !self->opts->json && self->status == SOUP_STATUS_OK) {
		/* TRANSLATORS: an idempotency key that was used before: run id */
		g_printerr(_("run %s: already submitted with this idempotency key\n"), run_id);
	}
	if (self->opts->wait)
		return ark_cli_client_watch(self, run_id);
	if (self->opts->json)
		ark_cli_client_print_json_object(run);
	else
		/* the id alone on stdout, for RUN=$(arkitect submit ci.json) */
		g_print("%s\n", run_id);
	return ARK_CLI_EXIT_OK;
}

/* arkitect runs, tasks, status ----------------------------------------------------------------- */

/* checks --state against @valid (a run or a task state); FALSE after printing why */
static gboolean
ark_cli_client_check_states(const gchar *states, gboolean tasks)
{
	g_auto(GStrv) parts = g_strsplit(states, ",", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		ArkTaskState ts;
		ArkRunState rs;
		if (tasks ? ark_task_state_from_string(parts[i], &ts)
			  : ark_run_state_from_string(parts[i], &rs))
			continue;
		ark_cli_print_error(tasks ? _("--state: '%s' is not a task state (pending, "
						     "ready, running, retry_wait, succeeded, "
						     "failed, cancelled, skipped, dead)")
						 : _("--state: '%s' is not a run state (pending, "
						     "running, succeeded, failed, cancelled)"),
					   parts[i]);
		return FALSE;
	}
	return TRUE;
}

/* "done/total" of a run from its task_counts */
static gchar *
ark_cli_client_run_progress(JsonObject *run)
{
	JsonObject *counts = ark_cli_client_obj(run, "task_counts");
	guint64 done = 0;
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (ark_task_state_is_terminal(s))
			done += ark_cli_client_uint(counts, ark_task_state_to_string(s), 0);
	}
	return g_strdup_printf("%" G_GUINT64_FORMAT "/%u", done,
			       ark_cli_client_uint(run, "n_tasks", 0));
}

static void
ark_cli_client_print_runs(GPtrArray *runs)
{
	/* TRANSLATORS: column headings of the run list */
	g_print("%-26s  %-20s  %-9s  %11s  %s\n", _("RUN"), _("WORKFLOW"), _("STATE"), _("TASKS"),
		_("CREATED"));
	for (guint i = 0; i < runs->len; i++) {
		JsonObject *r = runs->pdata[i];
		g_autofree gchar *id = ark_cli_client_safe(ark_cli_client_str(r, "id"));
		g_autofree gchar *wf = ark_cli_client_safe(ark_cli_client_str(r, "workflow"));
		g_autofree gchar *state = ark_cli_client_safe(ark_cli_client_str(r, "state"));
		g_autofree gchar *created = ark_cli_client_safe(ark_cli_client_str(r, "created_at"));
		g_autofree gchar *progress = ark_cli_client_run_progress(r);
		g_print("%-26s  %-20s  %-9s  %11s  %s\n", id, wf, state, progress, created);
	}
}

static void
ark_cli_client_print_list_json(const gchar *member, GPtrArray *items)
{
	g_autoptr(JsonObject) root = json_object_new();
	JsonArray *array = json_array_sized_new(items->len);
	for (guint i = 0; i < items->len; i++)
		json_array_add_object_element(array, json_object_ref(items->pdata[i]));
	json_object_set_array_member(root, member, array);
	ark_cli_client_print_json_object(root);
}

static gint
ark_cli_client_cmd_runs(ArkCliClient *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	g_autoptr(GString) query = g_string_new("order=newest");

	if (self->opts->states != NULL) {
		g_autofree gchar *escaped = NULL;
		if (!ark_cli_client_check_states(self->opts->states, FALSE))
			return ARK_CLI_EXIT_INVALID;
		escaped = g_uri_escape_string(self->opts->states, ",", FALSE);
		g_string_append_printf(query, "&state=%s", escaped);
	}
	if (self->opts->workflow != NULL) {
		g_autofree gchar *escaped = ark_cli_client_escape(self->opts->workflow);
		g_string_append_printf(query, "&workflow=%s", escaped);
	}
	runs = ark_cli_client_collect(self, "/api/v1/runs", query->str, "runs", 1000,
				      (guint)self->opts->limit, &error);
	if (runs == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json)
		ark_cli_client_print_list_json("runs", runs);
	else
		ark_cli_client_print_runs(runs);
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_tasks(ArkCliClient *self, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autofree gchar *run_path = ark_cli_client_run_path(run_id, NULL);
	g_autofree gchar *path = g_strdup_printf("%s/tasks", run_path);
	g_autofree gchar *query = NULL;
	guint id_width = 4;

	if (self->opts->states != NULL) {
		g_autofree gchar *escaped = NULL;
		if (!ark_cli_client_check_states(self->opts->states, TRUE))
			return ARK_CLI_EXIT_INVALID;
		escaped = g_uri_escape_string(self->opts->states, ",", FALSE);
		query = g_strdup_printf("state=%s", escaped);
	}
	tasks = ark_cli_client_collect(self, path, query, "tasks", 10000, 0, &error);
	if (tasks == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_list_json("tasks", tasks);
		return ARK_CLI_EXIT_OK;
	}
	for (guint i = 0; i < tasks->len; i++) {
		const gchar *id = ark_cli_client_str(tasks->pdata[i], "id");
		if (id != NULL)
			id_width = MAX(id_width, MIN(g_utf8_strlen(id, -1), 40));
	}
	/* TRANSLATORS: column headings of the task list */
	g_print("%-*s  %-10s  %8s  %4s  %9s  %s\n", id_width, _("TASK"), _("STATE"), _("ATTEMPTS"),
		_("EXIT"), _("DURATION"), _("REASON"));
	for (guint i = 0; i < tasks->len; i++) {
		JsonObject *t = tasks->pdata[i];
		g_autofree gchar *id = ark_cli_client_safe(ark_cli_client_str(t, "id"));
		g_autofree gchar *state = ark_cli_client_safe(ark_cli_client_str(t, "state"));
		g_autofree gchar *exit_str = ark_cli_client_exit_string(t, NULL);
		g_autofree gchar *dur = ark_cli_client_duration_string(t);
		const gchar *reason = ark_cli_client_str(t, "reason");
		g_autofree gchar *safe_reason = reason != NULL ? ark_cli_client_safe(reason)
							       : g_strdup("");
		g_print("%-*s  %-10s  %8u  %4s  %9s  %s\n", id_width, id, state,
			ark_cli_client_uint(t, "attempts", 0), exit_str, dur, safe_reason);
	}
	return ARK_CLI_EXIT_OK;
}

static void
ark_cli_client_print_daemon_status(JsonObject *status)
{
	g_autofree gchar *version = ark_cli_client_safe(ark_cli_client_str(status, "version"));
	g_autofree gchar *state = ark_cli_client_safe(ark_cli_client_str(status, "state"));
	g_autofree gchar *since = ark_cli_client_safe(ark_cli_client_str(status, "started_at"));
	g_autofree gchar *policy =
	    ark_cli_client_safe(ark_cli_client_str(status, "default_policy"));
	g_autofree gchar *uptime = NULL;
	g_autoptr(GString) policies = g_string_new(NULL);
	JsonArray *array;
	gint64 secs = 0;
	gboolean utf8 = ark_cli_progress_use_utf8();

	/* a number with a fraction: json-glib holds it as a double, not an int */
	if (!ark_cli_client_int(status, "uptime_seconds", &secs)) {
		JsonNode *node = json_object_get_member(status, "uptime_seconds");
		if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
		    json_node_get_value_type(node) == G_TYPE_DOUBLE)
			secs = (gint64)CLAMP(json_node_get_double(node), 0, (gdouble)G_MAXINT32);
	}
	uptime = ark_cli_format_duration(CLAMP(secs, 0, G_MAXINT64 / G_USEC_PER_SEC) *
					 G_USEC_PER_SEC);
	/* TRANSLATORS: first line of the daemon's status: version, state, uptime, start time */
	g_print(_("arkitectd %s: %s, up %s (since %s)\n"), version, state, uptime, since);
	array = ark_cli_client_array(status, "policies");
	for (guint i = 0; array != NULL && i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		g_autofree gchar *name = NULL;
		if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
			continue;
		name = ark_cli_client_safe(json_node_get_string(node));
		g_string_append_printf(policies, "%s%s", policies->len > 0 ? ", " : "", name);
	}
	g_print(_("policy: %s (available: %s)\n"), policy, policies->str);
	g_print(_("open runs: %u, tasks queued: %u\n"), ark_cli_client_uint(status, "open_runs", 0),
		ark_cli_client_uint(status, "queue_depth", 0));

	array = ark_cli_client_array(status, "executors");
	if (array != NULL && json_array_get_length(array) > 0) {
		/* TRANSLATORS: column headings of the executor list */
		g_print("\n%-20s  %6s  %6s\n", _("EXECUTOR"), _("SLOTS"), _("IN USE"));
		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *node = json_array_get_element(array, i);
			JsonObject *e = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
			g_autofree gchar *name = NULL;
			if (e == NULL)
				continue;
			name = ark_cli_client_safe(ark_cli_client_str(e, "name"));
			g_print("%-20s  %6u  %6u\n", name, ark_cli_client_uint(e, "slots", 0),
				ark_cli_client_uint(e, "in_use", 0));
		}
	}
	array = ark_cli_client_array(status, "health");
	if (array != NULL && json_array_get_length(array) > 0) {
		/* TRANSLATORS: heading of the health checks */
		g_print(_("\nhealth:\n"));
		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *node = json_array_get_element(array, i);
			JsonObject *c = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
			const gchar *st;
			const gchar *mark;
			g_autofree gchar *name = NULL;
			g_autofree gchar *status_str = NULL;
			g_autofree gchar *message = NULL;
			if (c == NULL)
				continue;
			st = ark_cli_client_str(c, "status");
			mark = g_strcmp0(st, "ok") == 0	      ? (utf8 ? "✔" : "ok")
			       : g_strcmp0(st, "degraded") == 0 ? (utf8 ? "!" : "!!")
								: (utf8 ? "✖" : "FAIL");
			name = ark_cli_client_safe(ark_cli_client_str(c, "name"));
			status_str = ark_cli_client_safe(st);
			message = ark_cli_client_safe(ark_cli_client_str(c, "message"));
			g_print("  %s %-20s %-9s %s%s\n", mark, name, status_str, message,
				ark_cli_client_bool(c, "blocks_ready") &&
					g_strcmp0(st, "failing") == 0
				    ? _(" (not ready)")
				    : "");
		}
	}
}

static gint
ark_cli_client_cmd_status(ArkCliClient *self, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) status = NULL;
	g_autoptr(GPtrArray) open = NULL;
	gint run_exit;

	if (run_id != NULL) {
		/* the run's outcome is not the command's: status succeeded in reporting it */
		return ark_cli_client_report(self, run_id, &run_exit);
	}
	status = ark_cli_client_call(self, "GET", "/api/v1/status", &error);
	if (status == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(status);
		return ARK_CLI_EXIT_OK;
	}
	ark_cli_client_print_daemon_status(status);
	open = ark_cli_client_collect(self, "/api/v1/runs", "state=pending,running&order=newest",
				      "runs", 1000, (guint)self->opts->limit, &error);
	if (open == NULL)
		return ark_cli_client_fail(self, error);
	if (open->len > 0) {
		g_print("\n");
		ark_cli_client_print_runs(open);
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect logs -------------------------------------------------------------------------------- */

/*
 * The number of a task's last attempt. The task object counts them in "attempts"; a task's own
 * document has its attempt list under the same name instead.
 */
static guint
ark_cli_client_last_attempt(JsonObject *task)
{
	JsonArray *attempts = ark_cli_client_array(task, "attempts");
	guint last = 0;

	if (attempts == NULL)
		return ark_cli_client_uint(task, "attempts", 0);
	for (guint i = 0; i < json_array_get_length(attempts); i++) {
		JsonNode *node = json_array_get_element(attempts, i);
		if (JSON_NODE_HOLDS_OBJECT(node))
			last = MAX(last, ark_cli_client_uint(json_node_get_object(node), "number", 0));
	}
	return last;
}

/* copies @in to stdout; made safe for a terminal when stdout is one */
static gboolean
ark_cli_client_copy_out(GInputStream *in, gboolean tty, guint64 *out_copied,
			GCancellable *cancellable, GError **error)
{
	gchar chunk[65536];
	for (;;) {
		gssize n = g_input_stream_read(in, chunk, sizeof(chunk), cancellable, error);
		if (n < 0)
			return FALSE;
		if (n == 0)
			return TRUE;
		if (tty)
			ark_cli_client_write_safe(stdout, chunk, (gsize)n);
		else
			fwrite(chunk, 1, (gsize)n, stdout);
		fflush(stdout);
		*out_copied += (guint64)n;
	}
}

static gint64
ark_cli_client_header_int(SoupMessage *msg, const gchar *name, gint64 fallback)
{
	const gchar *value = soup_message_headers_get_one(soup_message_get_response_headers(msg),
							   name);
	gint64 v;
	if (value == NULL || !g_ascii_string_to_signed(value, 10, 0, G_MAXINT64, &v, NULL))
		return fallback;
	return v;
}

/*
 * Whether attempt @number of the task at @task_path is still running: FALSE with @error unset
 * when it ended, TRUE with @error set when the daemon does not say (it may be stopping).
 */
static gboolean
ark_cli_client_attempt_running(ArkCliClient *self, const gchar *task_path, guint number,
			       GError **error)
{
	g_autoptr(JsonObject) task = ark_cli_client_call(self, "GET", task_path, error);
	JsonArray *attempts = ark_cli_client_array(task, "attempts");

	if (task == NULL)
		return TRUE;
	for (guint i = 0; attempts != NULL && i < json_array_get_length(attempts); i++) {
		JsonNode *node = json_array_get_element(attempts, i);
		JsonObject *a = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		if (ark_cli_client_uint(a, "number", 0) == number) {
			if (g_strcmp0(ark_cli_client_str(a, "status"), "running") != 0)
				return FALSE;
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
				    _("the log ended while attempt %u still runs"), number);
			return TRUE;
		}
	}
	/* a task without that attempt: nothing more will come */
	return FALSE;
}

/* whether attempt @number of the task at @task_path ended without a log: it printed nothing
 * (a process attempt's log file comes with its first output) or its executor keeps none */
static gboolean
ark_cli_client_attempt_ended_silent(ArkCliClient *self, const gchar *task_path, guint number)
{
	g_autoptr(GError) error = NULL;
	/* the status of the answer being explained stays the one an exit reports */
	guint status = self->status;
	g_autoptr(JsonObject) task = ark_cli_client_call(self, "GET", task_path, &error);
	JsonArray *attempts = ark_cli_client_array(task, "attempts");
	gboolean silent = FALSE;

	for (guint i = 0; attempts != NULL && i < json_array_get_length(attempts); i++) {
		JsonNode *node = json_array_get_element(attempts, i);
		JsonObject *a = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		if (ark_cli_client_uint(a, "number", 0) == number) {
			silent = g_strcmp0(ark_cli_client_str(a, "status"), "running") != 0 &&
				 !ark_cli_client_bool(a, "has_log");
			break;
		}
	}
	self->status = status;
	return silent;
}

/*
 * Prints an attempt's log: from @offset (negative: that many bytes before the end) to the end,
 * page by page; with --follow, keeps the answer open for new output until the attempt ends,
 * and when the connection goes, continues where it was for up to the reconnect timeout.
 */
static gint
ark_cli_client_cmd_logs(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *base = ark_cli_client_run_path(run_id, task_id);
	g_autoptr(SoupSession) stream_session = NULL;
	gboolean tty = isatty(fileno(stdout));
	gint64 offset = 0;
	gint64 reconnect_usec;
	gint64 lost_since = 0;
	guint attempt = 0;
	guint delay = 250;

	if (!ark_cli_client_reconnect_timeout(self->opts, &reconnect_usec))
		return ARK_CLI_EXIT_INVALID;
	if (self->opts->tail != NULL) {
		guint64 bytes = 0;
		if (!ark_size_parse(self->opts->tail, &bytes, &error) || bytes > G_MAXINT64) {
			ark_cli_print_error("--tail: %s",
						   error != NULL ? error->message : _("too large"));
			return ARK_CLI_EXIT_INVALID;
		}
		offset = -(gint64)bytes;
		if (bytes == 0 && !self->opts->follow)
			return ARK_CLI_EXIT_OK;
	}
	if (self->opts->attempt < 0) {
		ark_cli_print_error(_("--attempt must be 1 or more"));
		return ARK_CLI_EXIT_INVALID;
	}
	attempt = (guint)self->opts->attempt;
	/* the last attempt; --follow waits for the first one to start */
	for (gboolean said = FALSE; attempt == 0;) {
		g_autoptr(JsonObject) task = ark_cli_client_call(self, "GET", base, &error);
		g_autofree gchar *safe = ark_cli_client_safe(task_id);
		ArkTaskState state;
		if (task == NULL)
			return ark_cli_client_fail(self, error);
		attempt = ark_cli_client_last_attempt(task);
		if (attempt > 0)
			break;
		state = ark_cli_client_task_state(task);
		if (!self->opts->follow || state >= ARK_TASK_STATE_LAST ||
		    ark_task_state_is_terminal(state)) {
			ark_cli_print_error(_("task %s of run %s has not started: no log "
						     "yet"),
						   safe, run_id);
			return ARK_CLI_EXIT_INVALID;
		}
		if (!said && !self->opts->quiet) {
			/* TRANSLATORS: logs --follow of a task that has not started */
			g_printerr(_("waiting for task %s to start…\n"), safe);
			said = TRUE;
		}
		g_usleep(G_USEC_PER_SEC);
	}
	stream_session = ark_cli_client_session_new(self->opts->follow ? 0 : ARK_CLI_CLIENT_TIMEOUT);

	for (;;) {
		g_autoptr(GError) local_error = NULL;
		g_autoptr(SoupMessage) msg = NULL;
		g_autoptr(GInputStream) in = NULL;
		g_autofree gchar *path = NULL;
		guint64 copied = 0;
		gint64 size, next, start;
		gboolean done;

		if (self->opts->follow)
			path = g_strdup_printf("%s/attempts/%u/log?offset=%" G_GINT64_FORMAT
					       "&follow=true",
					       base, attempt, offset);
		else
			path = g_strdup_printf("%s/attempts/%u/log?offset=%" G_GINT64_FORMAT
					       "&limit=%u",
					       base, attempt, offset,
					       offset < 0 ? (guint)MIN(-offset, ARK_CLI_CLIENT_LOG_CHUNK)
							  : ARK_CLI_CLIENT_LOG_CHUNK);
		msg = ark_cli_client_message_new(self, "GET", path, &local_error);
		if (msg == NULL)
			return ark_cli_client_fail(self, local_error);
		soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
					     "text/plain");
		in = ark_cli_client_send(self, stream_session, msg, NULL, &local_error);
		if (in != NULL && !SOUP_STATUS_IS_SUCCESSFUL(self->status)) {
			g_autoptr(GBytes) body = ark_cli_client_read_body(
			    msg, in, ARK_CLI_CLIENT_MAX_PROBLEM, NULL, NULL);
			ark_cli_client_set_problem(self, msg, body, NULL, &local_error);
			/* an attempt that ended without a log has an empty one, as it had before
			 * a quiet process stopped getting a log file */
			if (self->status == SOUP_STATUS_NOT_FOUND &&
			    ark_cli_client_attempt_ended_silent(self, base, attempt)) {
				g_autofree gchar *safe = ark_cli_client_safe(task_id);
				if (!self->opts->quiet)
					/* TRANSLATORS: logs of an attempt without a log file */
					g_printerr(_("attempt %u of task %s has no log: it printed "
						     "nothing, or its executor keeps none\n"),
						   attempt, safe);
				return ARK_CLI_EXIT_OK;
			}
			if (!self->opts->follow || self->status < 500)
				return ark_cli_client_fail(self, local_error);
			g_clear_object(&in);
		}
		if (in != NULL) {
			size = ark_cli_client_header_int(msg, "X-Log-Size", -1);
			start = offset >= 0 ? offset : MAX(size + offset, 0);
			if (offset < 0 && size < 0)
				start = -1; /* unknown: a lost follow can not resume exactly */
			lost_since = 0;
			delay = 250;
			done = ark_cli_client_copy_out(in, tty, &copied, NULL, &local_error);
			if (done && !self->opts->follow) {
				/* pages: go on until the end of the log as it was */
				next = ark_cli_client_header_int(msg, "X-Log-Next-Offset", -1);
				size = ark_cli_client_header_int(msg, "X-Log-Size", -1);
				if (copied == 0 || next < 0 || size < 0 || next >= size)
					return ARK_CLI_EXIT_OK;
				offset = next;
				continue;
			}
			if (start >= 0)
				offset = start + (gint64)copied;
			/* the answer ends with the attempt, or with a daemon that stops */
			if (done && !ark_cli_client_attempt_running(self, base, attempt, &local_error))
				return local_error == NULL ? ARK_CLI_EXIT_OK
							   : ark_cli_client_fail(self, local_error);
			if (!self->opts->follow)
				return ark_cli_client_fail(self, local_error);
		}
		/* --follow lost the daemon: try again from where the output stopped */
		if (lost_since == 0) {
			lost_since = g_get_monotonic_time();
			g_printerr(_("arkitect: connection to the daemon lost (%s); reconnecting\n"),
				   local_error->message);
		}
		if (g_get_monotonic_time() - lost_since > reconnect_usec) {
			self->status = 0;
			return ark_cli_client_fail(self, local_error);
		}
		g_usleep((gulong)delay * 1000);
		delay = MIN(delay * 2, 5000);
		if (self->url_from_state_dir)
			(void)ark_cli_client_find_url(self, NULL);
		(void)ark_cli_client_load_token(self, NULL);
	}
}

/* arkitect cancel, retry, dlq ------------------------------------------------------------------ */

/* {"set": {MEMBER: JSON, ...}, "timeout": D} from --set and --timeout; NULL after printing why */
static GBytes *
ark_cli_client_replay_body(ArkCliClientOptions *opts)
{
	g_autoptr(JsonObject) root = json_object_new();
	g_autoptr(JsonObject) set = ark_cli_parse_set((const gchar *const *)opts->set);
	g_autoptr(JsonNode) node = NULL;
	gchar *text;

	if (set == NULL)
		return NULL;
	if (json_object_get_size(set) > 0)
		json_object_set_object_member(root, "set", json_object_ref(set));
	if (opts->timeout != NULL)
		json_object_set_string_member(root, "timeout", opts->timeout);
	node = json_node_init_object(json_node_alloc(), root);
	text = json_to_string(node, FALSE);
	return g_bytes_new_take(text, strlen(text));
}

static GBytes *
ark_cli_client_reason_body(ArkCliClientOptions *opts)
{
	g_autoptr(JsonObject) root = json_object_new();
	g_autoptr(JsonNode) node = NULL;
	gchar *text;

	if (opts->reason != NULL)
		json_object_set_string_member(root, "reason", opts->reason);
	node = json_node_init_object(json_node_alloc(), root);
	text = json_to_string(node, FALSE);
	return g_bytes_new_take(text, strlen(text));
}

/* a 202 for a change to a run: say what was accepted, then --wait for the run */
static gint
ark_cli_client_accepted(ArkCliClient *self, const gchar *run_id, JsonObject *answer,
			const gchar *what)
{
	g_autofree gchar *state = ark_cli_client_safe(ark_cli_client_str(answer, "state"));

	if (self->opts->wait) {
		if (!self->opts->quiet && !self->opts->json)
			g_printerr("%s (%s)\n", what, state);
		return ark_cli_client_watch(self, run_id);
	}
	if (self->opts->json)
		ark_cli_client_print_json_object(answer);
	else
		g_print("%s (%s)\n", what, state);
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_cancel(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *base = ark_cli_client_run_path(run_id, task_id);
	g_autofree gchar *path = g_strdup_printf("%s/cancel", base);
	g_autoptr(GBytes) body = ark_cli_client_reason_body(self->opts);
	g_autoptr(JsonObject) answer = NULL;
	g_autofree gchar *what = NULL;
	gint rc;

	answer = ark_cli_client_call_full(self, self->session, "POST", path, body, NULL, NULL,
					  &error);
	if (answer == NULL)
		return ark_cli_client_fail(self, error);
	if (task_id != NULL) {
		g_autofree gchar *safe = ark_cli_client_safe(task_id);
		/* TRANSLATORS: a cancel the daemon accepted: task id, run id */
		what = g_strdup_printf(_("cancelling task %s of run %s"), safe, run_id);
	} else {
		/* TRANSLATORS: a cancel the daemon accepted: run id */
		what = g_strdup_printf(_("cancelling run %s"), run_id);
	}
	rc = ark_cli_client_accepted(self, run_id, answer, what);
	/* the run ending cancelled is what was asked for */
	if (self->opts->wait && task_id == NULL && rc == ARK_CLI_EXIT_RUN_FAILED) {
		g_autoptr(JsonObject) run = ark_cli_client_call(self, "GET", base, NULL);
		if (g_strcmp0(ark_cli_client_str(run, "state"), "cancelled") == 0)
			rc = ARK_CLI_EXIT_OK;
	}
	return rc;
}

/* retry and dlq replay: POST @path with the overrides */
static gint
ark_cli_client_replay(ArkCliClient *self, const gchar *path, const gchar *run_id,
		      const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = ark_cli_client_replay_body(self->opts);
	g_autoptr(JsonObject) answer = NULL;
	g_autofree gchar *safe = ark_cli_client_safe(task_id);
	g_autofree gchar *what = NULL;

	if (body == NULL)
		return ARK_CLI_EXIT_INVALID;
	answer = ark_cli_client_call_full(self, self->session, "POST", path, body, NULL, NULL,
					  &error);
	if (answer == NULL)
		return ark_cli_client_fail(self, error);
	/* TRANSLATORS: a retry the daemon accepted: task id, run id */
	what = g_strdup_printf(_("retrying task %s of run %s"), safe, run_id);
	return ark_cli_client_accepted(self, run_id, answer, what);
}

static gint
ark_cli_client_cmd_retry(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autofree gchar *base = ark_cli_client_run_path(run_id, task_id);
	g_autofree gchar *path = g_strdup_printf("%s/retry", base);
	return ark_cli_client_replay(self, path, run_id, task_id);
}

static gchar *
ark_cli_client_dlq_path(const gchar *run_id, const gchar *task_id, const gchar *action)
{
	g_autofree gchar *run = ark_cli_client_escape(run_id);
	g_autofree gchar *task = ark_cli_client_escape(task_id);
	return g_strdup_printf("/api/v1/dlq/%s/%s%s", run, task, action);
}

static gint
ark_cli_client_cmd_dlq_list(ArkCliClient *self, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) dead = NULL;
	g_autofree gchar *query = NULL;

	if (run_id != NULL) {
		g_autofree gchar *escaped = ark_cli_client_escape(run_id);
		query = g_strdup_printf("run=%s", escaped);
	}
	dead = ark_cli_client_collect(self, "/api/v1/dlq", query, "tasks", 1000, 0, &error);
	if (dead == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		/* the shape of the embedded `dlq list --json` */
		g_autoptr(JsonObject) root = json_object_new();
		JsonArray *array = json_array_sized_new(dead->len);
		for (guint i = 0; i < dead->len; i++) {
			JsonObject *t = dead->pdata[i];
			JsonObject *o = json_object_new();
			const gchar *finished = ark_cli_client_str(t, "finished_at");
			const gchar *reason = ark_cli_client_str(t, "reason");
			json_object_set_string_member(o, "run_id",
						      ark_cli_client_str(t, "run_id") != NULL
							  ? ark_cli_client_str(t, "run_id")
							  : "");
			json_object_set_string_member(o, "task_id",
						      ark_cli_client_str(t, "id") != NULL
							  ? ark_cli_client_str(t, "id")
							  : "");
			json_object_set_int_member(o, "attempts",
						   ark_cli_client_uint(t, "attempts", 0));
			if (finished != NULL)
				json_object_set_string_member(o, "finished_at", finished);
			else
				json_object_set_null_member(o, "finished_at");
			if (reason != NULL)
				json_object_set_string_member(o, "reason", reason);
			else
				json_object_set_null_member(o, "reason");
			json_array_add_object_element(array, o);
		}
		json_object_set_array_member(root, "dead", array);
		ark_cli_client_print_json_object(root);
		return ARK_CLI_EXIT_OK;
	}
	if (dead->len == 0) {
		g_print(_("the dead-letter queue is empty\n"));
		return ARK_CLI_EXIT_OK;
	}
	g_print("%-26s  %-24s  %8s  %-27s  %s\n", _("RUN"), _("TASK"), _("ATTEMPTS"), _("DIED"),
		_("REASON"));
	for (guint i = 0; i < dead->len; i++) {
		JsonObject *t = dead->pdata[i];
		g_autofree gchar *run = ark_cli_client_safe(ark_cli_client_str(t, "run_id"));
		g_autofree gchar *task = ark_cli_client_safe(ark_cli_client_str(t, "id"));
		g_autofree gchar *died = ark_cli_client_safe(ark_cli_client_str(t, "finished_at"));
		const gchar *reason = ark_cli_client_str(t, "reason");
		g_autofree gchar *safe_reason = reason != NULL ? ark_cli_client_safe(reason)
							       : g_strdup("");
		g_print("%-26s  %-24s  %8u  %-27s  %s\n", run, task,
			ark_cli_client_uint(t, "attempts", 0), died, safe_reason);
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_dlq_show(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = ark_cli_client_dlq_path(run_id, task_id, "");
	g_autoptr(JsonObject) task = NULL;
	g_autofree gchar *safe_task = ark_cli_client_safe(task_id);
	g_autofree gchar *state = NULL;
	JsonNode *definition;
	JsonArray *attempts;
	const gchar *reason;

	task = ark_cli_client_call(self, "GET", path, &error);
	if (task == NULL)
		return ark_cli_client_fail(self, error);
	definition = json_object_get_member(task, "definition");
	attempts = ark_cli_client_array(task, "attempts");
	reason = ark_cli_client_str(task, "reason");
	if (self->opts->json) {
		/* the shape of the embedded `dlq show --json`; attempts as the API has them */
		g_autoptr(JsonObject) root = json_object_new();
		json_object_set_string_member(root, "run_id", run_id);
		json_object_set_string_member(root, "task_id", task_id);
		if (ark_cli_client_str(task, "state") != NULL)
			json_object_set_string_member(root, "state", ark_cli_client_str(task, "state"));
		else
			json_object_set_null_member(root, "state");
		if (reason != NULL)
			json_object_set_string_member(root, "reason", reason);
		else
			json_object_set_null_member(root, "reason");
		json_object_set_member(root, "definition",
				       definition != NULL ? json_node_copy(definition)
							  : json_node_new(JSON_NODE_NULL));
		json_object_set_array_member(root, "attempts",
					     attempts != NULL ? json_array_ref(attempts)
							      : json_array_new());
		ark_cli_client_print_json_object(root);
		return ARK_CLI_EXIT_OK;
	}
	state = ark_cli_client_safe(ark_cli_client_str(task, "state"));
	g_print(_("task %s of run %s: %s\n"), safe_task, run_id, state);
	if (reason != NULL) {
		g_autofree gchar *safe = ark_cli_client_safe(reason);
		g_print(_("reason: %s\n"), safe);
	}
	if (definition != NULL && JSON_NODE_HOLDS_OBJECT(definition)) {
		g_autofree gchar *text = json_to_string(definition, TRUE);
		/* pretty JSON has its newlines; the rest must not reach the terminal raw */
		g_print(_("definition:\n"));
		ark_cli_client_write_safe(stdout, text, strlen(text));
		g_print("\n");
	}
	g_print("\n%7s  %-10s  %4s  %-27s  %s\n", _("ATTEMPT"), _("STATUS"), _("EXIT"), _("STARTED"),
		_("ERROR"));
	for (guint i = 0; attempts != NULL && i < json_array_get_length(attempts); i++) {
		JsonNode *node = json_array_get_element(attempts, i);
		JsonObject *a = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		g_autofree gchar *status = NULL;
		g_autofree gchar *started = NULL;
		g_autofree gchar *exit_str = NULL;
		g_autofree gchar *err = NULL;
		const gchar *e;
		guint number;
		if (a == NULL)
			continue;
		number = ark_cli_client_uint(a, "number", 0);
		status = ark_cli_client_safe(ark_cli_client_str(a, "status"));
		started = ark_cli_client_safe(ark_cli_client_str(a, "started_at"));
		exit_str = ark_cli_client_exit_string(NULL, a);
		e = ark_cli_client_str(a, "error");
		err = e != NULL ? ark_cli_client_safe(e) : g_strdup("");
		g_print("%7u  %-10s  %4s  %-27s  %s\n", number, status, exit_str, started, err);
		if (ark_cli_client_bool(a, "has_log"))
			g_print("%7s  arkitect logs %s %s --attempt %u\n", "", run_id, safe_task,
				number);
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_dlq_replay(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autofree gchar *path = ark_cli_client_dlq_path(run_id, task_id, "/replay");
	return ark_cli_client_replay(self, path, run_id, task_id);
}

/* arkitect explain ---------------------------------------------------------------------------- */

static void
ark_cli_client_print_explain_list(JsonObject *explanation, const gchar *member,
				  const gchar *heading)
{
	JsonArray *array = ark_cli_client_array(explanation, member);

	if (array == NULL || json_array_get_length(array) == 0)
		return;
	g_print("%s\n", heading);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		g_autofree gchar *text = json_to_string(node, FALSE);
		g_print("  ");
		ark_cli_client_write_safe(stdout, text, strlen(text));
		g_print("\n");
	}
}

static gint
ark_cli_client_cmd_explain(ArkCliClient *self, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) explanation = NULL;
	g_autofree gchar *state = NULL;
	g_autofree gchar *summary = NULL;
	g_autofree gchar *safe_task = ark_cli_client_safe(task_id);
	g_autofree gchar *safe_run = ark_cli_client_safe(run_id);
	g_autofree gchar *base = ark_cli_client_run_path(run_id, task_id);
	g_autofree gchar *path = g_strdup_printf("%s/explain", base);
	const gchar *reason;

	/* GET .../explain: the D-Bus method Explain, or the HTTP route of docs/explain.md */
	explanation = ark_cli_client_call(self, "GET", path, &error);
	if (explanation == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(explanation);
		return ARK_CLI_EXIT_OK;
	}
	state = ark_cli_client_safe(ark_cli_client_str(explanation, "state"));
	summary = ark_cli_client_safe(ark_cli_client_str(explanation, "summary"));
	/* TRANSLATORS: task id, run id, task state */
	g_print(_("task %s of run %s: %s\n"), safe_task, safe_run, state);
	if (summary[0] != '\0')
		g_print("%s\n", summary);
	reason = ark_cli_client_str(explanation, "reason");
	if (reason != NULL) {
		g_autofree gchar *safe = ark_cli_client_safe(reason);
		g_print(_("reason: %s\n"), safe);
	}
	ark_cli_client_print_explain_list(explanation, "waiting_for", _("waiting for:"));
	ark_cli_client_print_explain_list(explanation, "blocked_by", _("blocked by:"));
	for (guint i = 0; i < 3; i++) {
		static const gchar *const members[] = {"queue", "retry", "attempt"};
		JsonNode *node = json_object_get_member(explanation, members[i]);
		g_autofree gchar *text = NULL;
		if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
			continue;
		text = json_to_string(node, FALSE);
		g_print("%s: ", members[i]);
		ark_cli_client_write_safe(stdout, text, strlen(text));
		g_print("\n");
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect agents ------------------------------------------------------------------------------ */

/* "code-review:0.8" -> {"name": "code-review", "proficiency": 0.8}; NULL after printing why */
static JsonNode *
ark_cli_client_parse_capability(const gchar *arg)
{
	const gchar *colon = strrchr(arg, ':');
	g_autofree gchar *name =
	    colon != NULL ? g_strndup(arg, (gsize)(colon - arg)) : g_strdup(arg);
	g_autoptr(JsonObject) object = json_object_new();
	gdouble proficiency = 1.0;

	if (name[0] == '\0') {
		ark_cli_print_error(_("--capability: '%s' has no name"), arg);
		return NULL;
	}
	if (colon != NULL) {
		gchar *end = NULL;
		proficiency = g_ascii_strtod(colon + 1, &end);
		if (colon[1] == '\0' || end == NULL || *end != '\0' || !(proficiency >= 0.0) ||
		    proficiency > 1.0) {
			ark_cli_print_error(_("--capability: the proficiency of '%s' must be a "
					      "number from 0 to 1"),
					    arg);
			return NULL;
		}
		json_object_set_string_member(object, "name", name);
		json_object_set_double_member(object, "proficiency", proficiency);
		return json_node_init_object(json_node_alloc(), object);
	}
	return json_node_init_string(json_node_alloc(), name);
}

/* the body of POST /api/v1/agents from --name, --capability, --max-assignments, --metadata */
static GBytes *
ark_cli_client_agent_spec(ArkCliClientOptions *opts)
{
	g_autoptr(JsonObject) spec = json_object_new();
	g_autoptr(JsonNode) root = NULL;
	JsonArray *capabilities = json_array_new();
	gchar *text;

	json_object_set_array_member(spec, "capabilities", capabilities);
	if (opts->agent_name == NULL || opts->capabilities == NULL) {
		ark_cli_print_error(
		    _("agents register needs --name and at least one --capability"));
		return NULL;
	}
	json_object_set_string_member(spec, "name", opts->agent_name);
	for (guint i = 0; opts->capabilities[i] != NULL; i++) {
		JsonNode *capability = ark_cli_client_parse_capability(opts->capabilities[i]);
		if (capability == NULL)
			return NULL;
		json_array_add_element(capabilities, capability);
	}
	if (opts->max_assignments != 0) {
		if (opts->max_assignments < 1 ||
		    opts->max_assignments > ARK_AGENT_MAX_ASSIGNMENTS) {
			ark_cli_print_error(_("--max-assignments must be from 1 to %d"),
					    ARK_AGENT_MAX_ASSIGNMENTS);
			return NULL;
		}
		json_object_set_int_member(spec, "max_assignments", opts->max_assignments);
	}
	if (opts->metadata != NULL) {
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonNode *node;
		if (!json_parser_load_from_data(parser, opts->metadata, -1, NULL) ||
		    (node = json_parser_get_root(parser)) == NULL ||
		    !JSON_NODE_HOLDS_OBJECT(node)) {
			ark_cli_print_error(_("--metadata must be a JSON object"));
			return NULL;
		}
		json_object_set_member(spec, "metadata", json_node_copy(node));
	}
	root = json_node_init_object(json_node_alloc(), spec);
	text = json_to_string(root, FALSE);
	return g_bytes_new_take(text, strlen(text));
}

/* "code-review, go:0.70" */
static gchar *
ark_cli_client_capabilities_string(JsonObject *agent)
{
	JsonArray *array = ark_cli_client_array(agent, "capabilities");
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; array != NULL && i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		const gchar *name = NULL;
		gdouble proficiency = 1.0;
		if (JSON_NODE_HOLDS_OBJECT(node)) {
			JsonObject *c = json_node_get_object(node);
			JsonNode *p = json_object_get_member(c, "proficiency");
			name = ark_cli_client_str(c, "name");
			if (p != NULL && JSON_NODE_HOLDS_VALUE(p) &&
			    (json_node_get_value_type(p) == G_TYPE_DOUBLE ||
			     json_node_get_value_type(p) == G_TYPE_INT64))
				proficiency = json_node_get_double(p);
		} else if (JSON_NODE_HOLDS_VALUE(node) &&
			   json_node_get_value_type(node) == G_TYPE_STRING) {
			name = json_node_get_string(node);
		}
		if (name == NULL)
			continue;
		g_string_append_printf(out, "%s%s", out->len > 0 ? ", " : "", name);
		if (proficiency < 1.0)
			g_string_append_printf(out, ":%.2f", proficiency);
	}
	return ark_cli_client_safe(out->str);
}

/* a number member (integer or not), @fallback when absent */
static gdouble
ark_cli_client_number(JsonObject *object, const gchar *member, gdouble fallback)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, member) : NULL;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return fallback;
	if (json_node_get_value_type(node) == G_TYPE_DOUBLE ||
	    json_node_get_value_type(node) == G_TYPE_INT64)
		return json_node_get_double(node);
	return fallback;
}

static gint
ark_cli_client_cmd_agents_list(ArkCliClient *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = ark_cli_client_call(self, "GET", "/api/v1/agents", &error);
	JsonArray *agents;

	if (answer == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(answer);
		return ARK_CLI_EXIT_OK;
	}
	agents = ark_cli_client_array(answer, "agents");
	/* TRANSLATORS: column headings of the agent list */
	g_print("%-20s  %-20s  %-7s  %7s  %-25s  %s\n", _("AGENT"), _("NAME"), _("STATE"),
		_("LOAD"), _("LAST HEARTBEAT"), _("CAPABILITIES"));
	for (guint i = 0; agents != NULL && i < json_array_get_length(agents); i++) {
		JsonNode *node = json_array_get_element(agents, i);
		JsonObject *a;
		g_autofree gchar *id = NULL;
		g_autofree gchar *name = NULL;
		g_autofree gchar *state = NULL;
		g_autofree gchar *heartbeat = NULL;
		g_autofree gchar *caps = NULL;
		g_autofree gchar *load = NULL;

		if (!JSON_NODE_HOLDS_OBJECT(node))
			continue;
		a = json_node_get_object(node);
		id = ark_cli_client_safe(ark_cli_client_str(a, "id"));
		name = ark_cli_client_safe(ark_cli_client_str(a, "name"));
		state = ark_cli_client_safe(ark_cli_client_str(a, "state"));
		heartbeat = ark_cli_client_safe(ark_cli_client_str(a, "last_heartbeat"));
		caps = ark_cli_client_capabilities_string(a);
		load = g_strdup_printf("%u/%u", ark_cli_client_uint(a, "load", 0),
				       ark_cli_client_uint(a, "max_assignments", 0));
		g_print("%-20s  %-20s  %-7s  %7s  %-25s  %s\n", id, name, state, load, heartbeat,
			caps);
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_agents_show(ArkCliClient *self, const gchar *agent_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) agent = NULL;
	g_autofree gchar *escaped = ark_cli_client_escape(agent_id);
	g_autofree gchar *path = g_strdup_printf("/api/v1/agents/%s", escaped);
	JsonObject *trust;
	JsonArray *caps;
	JsonArray *assignments;

	agent = ark_cli_client_call(self, "GET", path, &error);
	if (agent == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(agent);
		return ARK_CLI_EXIT_OK;
	}
	{
		static const gchar *const members[] = {"id",		 "name",
						       "state",		 "registered_at",
						       "last_heartbeat", NULL};
		for (guint i = 0; members[i] != NULL; i++) {
			g_autofree gchar *value =
			    ark_cli_client_safe(ark_cli_client_str(agent, members[i]));
			g_print("%-16s %s\n", members[i], value);
		}
	}
	g_print("%-16s %u/%u\n", "load", ark_cli_client_uint(agent, "load", 0),
		ark_cli_client_uint(agent, "max_assignments", 0));
	if (ark_cli_client_obj(agent, "metadata") != NULL &&
	    json_object_get_size(ark_cli_client_obj(agent, "metadata")) > 0) {
		g_autoptr(JsonNode) node = json_node_init_object(
		    json_node_alloc(), ark_cli_client_obj(agent, "metadata"));
		g_autofree gchar *text = json_to_string(node, FALSE);
		g_print("%-16s ", "metadata");
		ark_cli_client_write_safe(stdout, text, strlen(text));
		g_print("\n");
	}
	/* trust per capability: the posterior mean and the evidence behind it */
	trust = ark_cli_client_obj(agent, "trust");
	caps = ark_cli_client_array(agent, "capabilities");
	/* TRANSLATORS: column headings of an agent's trust per capability */
	g_print("\n%-24s  %11s  %5s  %6s  %6s  %5s  %5s  %8s  %9s\n", _("CAPABILITY"),
		_("PROFICIENCY"), _("TRUST"), _("ALPHA"), _("BETA"), _("OK"), _("FAIL"),
		_("REJECTED"), _("LATENCY"));
	for (guint i = 0; caps != NULL && i < json_array_get_length(caps); i++) {
		JsonNode *node = json_array_get_element(caps, i);
		JsonObject *cap = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		const gchar *name = ark_cli_client_str(cap, "name");
		JsonObject *t;
		g_autofree gchar *safe = NULL;
		gdouble alpha, beta, mean, latency;

		if (name == NULL)
			continue;
		t = ark_cli_client_obj(trust, name);
		safe = ark_cli_client_safe(name);
		alpha = ark_cli_client_number(t, "alpha", 1.0);
		beta = ark_cli_client_number(t, "beta", 1.0);
		mean = ark_cli_client_number(t, "mean", alpha / (alpha + beta));
		latency = ark_cli_client_number(t, "latency_mean", 0);
		g_print("%-24s  %11.2f  %5.2f  %6.2f  %6.2f  %5.0f  %5.0f  %8.0f  %8.1fs\n", safe,
			ark_cli_client_number(cap, "proficiency", 1.0), mean, alpha, beta,
			ark_cli_client_number(t, "successes", 0),
			ark_cli_client_number(t, "failures", 0),
			ark_cli_client_number(t, "rejected", 0), latency);
	}
	assignments = ark_cli_client_array(agent, "assignments");
	if (assignments != NULL && json_array_get_length(assignments) > 0) {
		g_print("\n%s\n", _("assignments:"));
		for (guint i = 0; i < json_array_get_length(assignments); i++) {
			JsonNode *node = json_array_get_element(assignments, i);
			g_autofree gchar *text = json_to_string(node, FALSE);
			g_print("  ");
			ark_cli_client_write_safe(stdout, text, strlen(text));
			g_print("\n");
		}
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_agents_register(ArkCliClient *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = ark_cli_client_agent_spec(self->opts);
	g_autoptr(JsonObject) agent = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *token = NULL;

	if (body == NULL)
		return ARK_CLI_EXIT_INVALID;
	agent = ark_cli_client_call_full(self, self->session, "POST", "/api/v1/agents", body, NULL,
					 NULL, &error);
	if (agent == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(agent);
		return ARK_CLI_EXIT_OK;
	}
	id = ark_cli_client_safe(ark_cli_client_str(agent, "id"));
	token = ark_cli_client_safe(ark_cli_client_str(agent, "token"));
	/* the id and the token alone on stdout, one a line, for a script; the rest for a person */
	g_print("%s\n%s\n", id, token);
	if (!self->opts->quiet)
		/* TRANSLATORS: after registering an agent */
		g_printerr(_("Agent %s is registered. Its token (the second line) is shown once: "
			     "give it to the agent, which sends it as 'Authorization: Bearer "
			     "TOKEN'.\n"),
			   id);
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_agents_remove(ArkCliClient *self, const gchar *agent_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autofree gchar *escaped = ark_cli_client_escape(agent_id);
	g_autofree gchar *path = g_strdup_printf("/api/v1/agents/%s", escaped);
	g_autofree gchar *safe = ark_cli_client_safe(agent_id);

	answer = ark_cli_client_call(self, "DELETE", path, &error);
	if (answer == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		g_autoptr(JsonObject) root = json_object_new();
		json_object_set_string_member(root, "id", agent_id);
		json_object_set_boolean_member(root, "removed", TRUE);
		ark_cli_client_print_json_object(root);
	} else if (!self->opts->quiet) {
		/* TRANSLATORS: an agent id */
		g_print(_("agent %s removed\n"), safe);
	}
	return ARK_CLI_EXIT_OK;
}

static gint
ark_cli_client_cmd_agents_assignments(ArkCliClient *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autofree gchar *path = NULL;
	JsonArray *list;

	if (self->opts->agent != NULL) {
		g_autofree gchar *escaped = ark_cli_client_escape(self->opts->agent);
		path = g_strdup_printf("/api/v1/assignments?agent=%s", escaped);
	} else {
		path = g_strdup("/api/v1/assignments");
	}
	answer = ark_cli_client_call(self, "GET", path, &error);
	if (answer == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(answer);
		return ARK_CLI_EXIT_OK;
	}
	list = ark_cli_client_array(answer, "assignments");
	/* TRANSLATORS: column headings of the assignment list */
	g_print("%-24s  %-9s  %-20s  %-26s  %-16s  %5s  %s\n", _("ASSIGNMENT"), _("STATE"),
		_("AGENT"), _("RUN"), _("TASK"), _("PIECE"), _("LEASE EXPIRES"));
	for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
		JsonNode *node = json_array_get_element(list, i);
		JsonObject *a;
		g_autofree gchar *id = NULL;
		g_autofree gchar *state = NULL;
		g_autofree gchar *agent = NULL;
		g_autofree gchar *run = NULL;
		g_autofree gchar *task = NULL;
		g_autofree gchar *lease = NULL;

		if (!JSON_NODE_HOLDS_OBJECT(node))
			continue;
		a = json_node_get_object(node);
		id = ark_cli_client_safe(ark_cli_client_str(a, "id"));
		state = ark_cli_client_safe(ark_cli_client_str(a, "state"));
		agent = ark_cli_client_safe(ark_cli_client_str(a, "agent_id"));
		run = ark_cli_client_safe(ark_cli_client_str(a, "run_id"));
		task = ark_cli_client_safe(ark_cli_client_str(a, "task_id"));
		lease = ark_cli_client_safe(ark_cli_client_str(a, "lease_expires_at"));
		g_print("%-24s  %-9s  %-20s  %-26s  %-16s  %5u  %s\n", id, state, agent, run, task,
			ark_cli_client_uint(a, "piece", 0), lease);
	}
	return ARK_CLI_EXIT_OK;
}

/* one member of an explanation on one line, as compact JSON made safe */
static void
ark_cli_client_print_json_line(const gchar *prefix, JsonNode *node)
{
	g_autofree gchar *text = json_to_string(node, FALSE);

	g_print("%s", prefix);
	ark_cli_client_write_safe(stdout, text, strlen(text));
	g_print("\n");
}

static gint
ark_cli_client_cmd_agents_explain(ArkCliClient *self, const gchar *assignment_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) why = NULL;
	g_autofree gchar *escaped = ark_cli_client_escape(assignment_id);
	g_autofree gchar *path = g_strdup_printf("/api/v1/assignments/%s/explain", escaped);
	JsonObject *assignment;
	JsonObject *choice;
	JsonArray *history;

	why = ark_cli_client_call(self, "GET", path, &error);
	if (why == NULL)
		return ark_cli_client_fail(self, error);
	if (self->opts->json) {
		ark_cli_client_print_json_object(why);
		return ARK_CLI_EXIT_OK;
	}
	assignment = ark_cli_client_obj(why, "assignment");
	if (assignment == NULL)
		assignment = why;
	{
		g_autofree gchar *id = ark_cli_client_safe(ark_cli_client_str(assignment, "id"));
		g_autofree gchar *state =
		    ark_cli_client_safe(ark_cli_client_str(assignment, "state"));
		g_autofree gchar *agent =
		    ark_cli_client_safe(ark_cli_client_str(assignment, "agent_id"));
		g_autofree gchar *run =
		    ark_cli_client_safe(ark_cli_client_str(assignment, "run_id"));
		g_autofree gchar *task =
		    ark_cli_client_safe(ark_cli_client_str(assignment, "task_id"));
		g_autofree gchar *mode =
		    ark_cli_client_safe(ark_cli_client_str(assignment, "mode"));
		/* TRANSLATORS: assignment id, state, agent id, task id, run id, mode */
		g_print(_("assignment %s: %s, agent %s, task %s of run %s (%s)\n"), id, state,
			agent, task, run, mode);
	}
	choice = ark_cli_client_obj(why, "choice");
	if (choice != NULL) {
		JsonArray *candidates = ark_cli_client_array(choice, "candidates");
		g_autoptr(GList) members = json_object_get_members(choice);
		g_print("%s\n", _("choice:"));
		for (GList *l = members; l != NULL; l = l->next) {
			g_autofree gchar *prefix = NULL;
			g_autofree gchar *name = ark_cli_client_safe(l->data);
			if (g_str_equal(l->data, "candidates"))
				continue;
			prefix = g_strdup_printf("  %s: ", name);
			ark_cli_client_print_json_line(prefix,
						       json_object_get_member(choice, l->data));
		}
		for (guint i = 0; candidates != NULL && i < json_array_get_length(candidates); i++)
			ark_cli_client_print_json_line(i == 0 ? "  candidates: " : "              ",
						       json_array_get_element(candidates, i));
	}
	history = ark_cli_client_array(why, "history");
	if (history != NULL && json_array_get_length(history) > 0) {
		g_print("%s\n", _("history:"));
		for (guint i = 0; i < json_array_get_length(history); i++)
			ark_cli_client_print_json_line("  ", json_array_get_element(history, i));
	}
	return ARK_CLI_EXIT_OK;
}

/* arkitect agents [list | show ID | register | remove ID | assignments | explain ASSIGNMENT] */
static gint
ark_cli_client_cmd_agents(ArkCliClient *self, gint argc, gchar **argv)
{
	const gchar *sub = argc > 1 ? argv[1] : "list";

	if (g_strcmp0(sub, "list") == 0)
		return ark_cli_client_cmd_agents_list(self);
	if (g_strcmp0(sub, "show") == 0)
		return ark_cli_client_cmd_agents_show(self, argv[2]);
	if (g_strcmp0(sub, "register") == 0)
		return ark_cli_client_cmd_agents_register(self);
	if (g_strcmp0(sub, "remove") == 0)
		return ark_cli_client_cmd_agents_remove(self, argv[2]);
	if (g_strcmp0(sub, "assignments") == 0)
		return ark_cli_client_cmd_agents_assignments(self);
	return ark_cli_client_cmd_agents_explain(self, argv[2]);
}

/* arkitect token create ------------------------------------------------------------------------ */

static gint
ark_cli_client_cmd_token_create(ArkCliClientOptions *opts, const gchar *name)
{
	const gchar *scope = opts->scope != NULL ? opts->scope : "read";
	guint8 secret[32];
	gchar token[sizeof(secret) * 2 + 1];
	g_autofree gchar *digest = NULL;
	g_autofree gchar *line = NULL;
	gsize got = 0;

	if (name[0] == '\0' || strlen(name) > 64 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		strlen(name)) {
		ark_cli_print_error(_("a token name is 1 to 64 letters, digits, '-' and "
					     "'_', not '%s'"),
					   name);
		return ARK_CLI_EXIT_INVALID;
	}
	if (g_strcmp0(scope, "read") != 0 && g_strcmp0(scope, "admin") != 0) {
		ark_cli_print_error(_("--scope is read or admin, not '%s'"), scope);
		return ARK_CLI_EXIT_INVALID;
	}
	while (got < sizeof(secret)) {
		ssize_t n = getrandom(secret + got, sizeof(secret) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ark_cli_print_error(_("no random bytes: %s"), g_strerror(errno));
			return ARK_CLI_EXIT_ENVIRONMENT;
		}
		got += (gsize)n;
	}
	for (guint i = 0; i < sizeof(secret); i++)
		g_snprintf(token + i * 2, 3, "%02x", secret[i]);
	memset(secret, 0, sizeof(secret));
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
	line = g_strdup_printf("token.%s=%s:%s", name, scope, digest);
	if (opts->json) {
		g_autoptr(JsonObject) root = json_object_new();
		json_object_set_string_member(root, "name", name);
		json_object_set_string_member(root, "scope", scope);
		json_object_set_string_member(root, "token", token);
		json_object_set_string_member(root, "config", line);
		ark_cli_client_print_json_object(root);
	} else {
		/* the token alone on stdout (arkitect token create ci > ci.token), the rest for
		 * the person who adds it */
		g_print("%s\n", token);
		/* TRANSLATORS: after a new token: where the line goes, then the line */
		g_printerr(_("This token is shown once. To accept it, add this line under "
			     "[frontend-http]\nin the daemon's configuration and restart it:\n"
			     "%s\n"),
			   line);
	}
	memset(token, 0, sizeof(token));
	return ARK_CLI_EXIT_OK;
}

/* commands ------------------------------------------------------------------------------------- */

/* the option a command does not take, or NULL */
static const gchar *
ark_cli_client_stray_option(ArkCliClientOptions *opts, const gchar *cmd)
{
	const struct {
		const gchar *option;
		gboolean set;
		const gchar *commands; /* space-separated, with spaces around */
	} table[] = {
	    {"--url", opts->url != NULL,
	     " submit runs status tasks logs cancel retry dlq watch explain agents "},
	    {"--token-file", opts->token_file != NULL,
	     " submit runs status tasks logs cancel retry dlq watch explain agents "},
	    {"--wait", opts->wait, " submit cancel retry dlq "},
	    {"--state", opts->states != NULL, " runs tasks "},
	    {"--workflow", opts->workflow != NULL, " runs "},
	    {"--attempt", opts->attempt != 0, " logs "},
	    {"--follow", opts->follow, " logs "},
	    {"--tail", opts->tail != NULL, " logs "},
	    {"--reconnect-timeout", opts->reconnect_timeout != NULL,
	     " watch submit logs cancel retry dlq "},
	    {"--scope", opts->scope != NULL, " token "},
	    {"--bus", opts->bus != NULL,
	     " submit runs status tasks cancel retry dlq explain "},
	    {"--name", opts->agent_name != NULL, " agents "},
	    {"--capability", opts->capabilities != NULL, " agents "},
	    {"--max-assignments", opts->max_assignments != 0, " agents "},
	    {"--metadata", opts->metadata != NULL, " agents "},
	    {"--agent", opts->agent != NULL, " agents "},
	};
	g_autofree gchar *padded = g_strdup_printf(" %s ", cmd);

	for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
		if (table[i].set && strstr(table[i].commands, padded) == NULL)
			return table[i].option;
	}
	return NULL;
}

/* whether @cmd with @argc arguments (the command included) is well-formed; prints usage if not */
static gboolean
ark_cli_client_check_usage(const gchar *cmd, gint argc, gchar **argv)
{
	const gchar *usage = NULL;
	const gchar *sub = argc > 1 ? argv[1] : NULL;

	if (g_strcmp0(cmd, "submit") == 0 && argc != 2)
		usage = "submit FILE [--wait] [--idempotency-key KEY] [--policy NAME] [--json]";
	else if (g_strcmp0(cmd, "runs") == 0 && argc != 1)
		usage = "runs [--state STATE,...] [--workflow NAME] [--limit N] [--json]";
	else if (g_strcmp0(cmd, "tasks") == 0 && argc != 2)
		usage = "tasks RUN_ID [--state STATE,...] [--json]";
	else if (g_strcmp0(cmd, "logs") == 0 && argc != 3)
		usage = "logs RUN_ID TASK_ID [--attempt N] [--follow] [--tail SIZE]";
	else if (g_strcmp0(cmd, "retry") == 0 && argc != 3)
		usage = "retry RUN_ID TASK_ID [--set MEMBER=JSON]... [--timeout DURATION] [--wait]";
	else if (g_strcmp0(cmd, "explain") == 0 && argc != 3)
		usage = "explain RUN_ID TASK_ID [--json]";
	else if (g_strcmp0(cmd, "watch") == 0 && argc != 2)
		usage = "watch RUN_ID [--reconnect-timeout DURATION]";
	else if (g_strcmp0(cmd, "status") == 0 && argc > 2)
		usage = "status [RUN_ID]";
	else if (g_strcmp0(cmd, "cancel") == 0 && argc != 2 && argc != 3)
		usage = "cancel RUN_ID [TASK_ID] [--reason TEXT]";
	else if (g_strcmp0(cmd, "token") == 0 && (argc != 3 || g_strcmp0(sub, "create") != 0))
		usage = "token create NAME [--scope read|admin]";
	else if (g_strcmp0(cmd, "agents") == 0 &&
		 !(argc == 1 || (g_strcmp0(sub, "list") == 0 && argc == 2) ||
		   (g_strcmp0(sub, "show") == 0 && argc == 3) ||
		   (g_strcmp0(sub, "register") == 0 && argc == 2) ||
		   (g_strcmp0(sub, "remove") == 0 && argc == 3) ||
		   (g_strcmp0(sub, "assignments") == 0 && argc == 2) ||
		   (g_strcmp0(sub, "explain") == 0 && argc == 3)))
		usage = "agents [list] | agents show ID | agents register --name NAME --capability "
			"NAME[:PROFICIENCY]... [--max-assignments N] [--metadata JSON] | agents "
			"remove ID | agents assignments [--agent ID] | agents explain ASSIGNMENT";
	else if (g_strcmp0(cmd, "dlq") == 0 &&
		 !((g_strcmp0(sub, "list") == 0 && argc <= 3) ||
		   (g_strcmp0(sub, "show") == 0 && argc == 4) ||
		   (g_strcmp0(sub, "replay") == 0 && argc == 4)))
		usage = "dlq list [RUN_ID] | dlq show RUN_ID TASK_ID | dlq replay RUN_ID TASK_ID "
			"[--set MEMBER=JSON] [--timeout D]";
	if (usage == NULL)
		return TRUE;
	/* TRANSLATORS: %s is the command's synopsis */
	ark_cli_print_error(_("usage: %s"), usage);
	return FALSE;
}

gint
ark_cli_client_main(ArkCliClientOptions *opts, gint argc, gchar **argv, gboolean *out_handled)
{
	static const gchar *const daemon_only[] = {"submit", "runs",	"tasks",  "logs", "retry",
						   "watch",  "explain", "agents", NULL};
	static const gchar *const either[] = {"status", "cancel", "dlq", NULL};
	g_autoptr(ArkCliClient) self = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *cmd = argv[0];
	const gchar *stray;
	gboolean only_daemon = g_strv_contains(daemon_only, cmd);
	/* logs and live progress are streams of the HTTP API; agents are HTTP only (docs/cli.md) */
	gboolean dbus_ok = !opts->wait && g_strcmp0(cmd, "logs") != 0 &&
			   g_strcmp0(cmd, "watch") != 0 && g_strcmp0(cmd, "agents") != 0;
	gint rc;

	*out_handled = TRUE;
	stray = ark_cli_client_stray_option(opts, cmd);
	if (stray != NULL) {
		if (g_strcmp0(cmd, "run") == 0 && g_strcmp0(stray, "--url") == 0)
			ark_cli_print_error(_("run executes the workflow in this process; "
						     "'submit --wait' runs it in the daemon"));
		else
			/* TRANSLATORS: an option given to a command that does not take it */
			ark_cli_print_error(_("%s is not an option of %s (see --help-daemon)"),
						   stray, cmd);
		return ARK_CLI_EXIT_INVALID;
	}
	if (g_strcmp0(cmd, "token") == 0) {
		if (!ark_cli_client_check_usage(cmd, argc, argv))
			return ARK_CLI_EXIT_INVALID;
		return ark_cli_client_cmd_token_create(opts, argv[2]);
	}
	if (!only_daemon && !g_strv_contains(either, cmd)) {
		*out_handled = FALSE;
		return ARK_CLI_EXIT_OK;
	}
	if (!ark_cli_client_check_usage(cmd, argc, argv))
		return ARK_CLI_EXIT_INVALID;

	switch (ark_cli_client_connect(opts, !only_daemon, dbus_ok, &self, &rc, &error)) {
	case ARK_CLI_CLIENT_CONNECT_NO_DAEMON:
		if (only_daemon) {
			const gchar *hint = ark_cli_client_no_daemon_hint(cmd);
			ark_cli_print_error("%s", error->message);
			if (hint != NULL)
				g_printerr("%s\n", hint);
			return ARK_CLI_EXIT_ENVIRONMENT;
		}
		/* a stale http.url deserves a word; no http.url at all is the usual case */
		if (!g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
			/* TRANSLATORS: no daemon answers at the URL of <state dir>/http.url */
			g_printerr(_("arkitect: note: %s; using the state directory directly\n"),
				   error->message);
		/* the state directory is read directly, by the caller */
		*out_handled = FALSE;
		return ARK_CLI_EXIT_OK;
	case ARK_CLI_CLIENT_CONNECT_FAILED:
		return rc;
	case ARK_CLI_CLIENT_CONNECT_OK:
		break;
	}

	if (g_strcmp0(cmd, "submit") == 0)
		return ark_cli_client_cmd_submit(self, argv[1]);
	if (g_strcmp0(cmd, "runs") == 0)
		return ark_cli_client_cmd_runs(self);
	if (g_strcmp0(cmd, "tasks") == 0)
		return ark_cli_client_cmd_tasks(self, argv[1]);
	if (g_strcmp0(cmd, "logs") == 0)
		return ark_cli_client_cmd_logs(self, argv[1], argv[2]);
	if (g_strcmp0(cmd, "retry") == 0)
		return ark_cli_client_cmd_retry(self, argv[1], argv[2]);
	if (g_strcmp0(cmd, "watch") == 0)
		return ark_cli_client_watch(self, argv[1]);
	if (g_strcmp0(cmd, "explain") == 0)
		return ark_cli_client_cmd_explain(self, argv[1], argv[2]);
	if (g_strcmp0(cmd, "agents") == 0)
		return ark_cli_client_cmd_agents(self, argc, argv);
	if (g_strcmp0(cmd, "status") == 0)
		return ark_cli_client_cmd_status(self, argc == 2 ? argv[1] : NULL);
	if (g_strcmp0(cmd, "cancel") == 0)
		return ark_cli_client_cmd_cancel(self, argv[1], argc == 3 ? argv[2] : NULL);
	if (g_strcmp0(argv[1], "list") == 0)
		return ark_cli_client_cmd_dlq_list(self, argc == 3 ? argv[2] : NULL);
	if (g_strcmp0(argv[1], "show") == 0)
		return ark_cli_client_cmd_dlq_show(self, argv[2], argv[3]);
	return ark_cli_client_cmd_dlq_replay(self, argv[2], argv[3]);
}
