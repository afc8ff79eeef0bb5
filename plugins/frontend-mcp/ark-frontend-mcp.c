/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-mcp-http.h"

/*
 * The MCP frontend: the protocol core (ark-mcp-session.c) behind two transports.
 *
 * - Streamable HTTP at [frontend-mcp] path on the daemon's HTTP server. frontend-http owns the
 *   SoupServer; this frontend registers an ArkHttpMount for its path in the registry, and
 *   frontend-http hands it every request there after its own bearer-token and body-size checks.
 * - stdio: when the object's "input-stream" and "output-stream" properties are set before
 *   start(), it serves one session on them instead (newline-delimited JSON), and emits
 *   "closed" when the input ends. `arkitect mcp` uses this with its stdin and stdout.
 */

#define ARK_MCP_SWEEP_SECONDS 5
#define ARK_MCP_FIXTURES_ENV "ARKITECT_MCP_TEST_FIXTURES"

static const ArkConfigKey ark_frontend_mcp_config_keys[] = {
    {"path", ARK_CONFIG_STRING, "/mcp",
     "the path of the Streamable HTTP endpoint on the HTTP frontend's server"},
    {"require-token", ARK_CONFIG_BOOLEAN, "true",
     "requests to the endpoint need the HTTP API's bearer token; false lets any local process "
     "in (Host and Origin are still checked)"},
    {"allowed-origins", ARK_CONFIG_STRING_LIST, NULL,
     "browser origins allowed besides loopback ones (http://localhost:PORT ...), e.g. "
     "https://app.example.com"},
    {"max-message-size", ARK_CONFIG_SIZE, "4M",
     "largest JSON-RPC message accepted; larger ones get 413 over HTTP and -32600 on stdio",
     NULL, 1024, (guint64)64 * 1024 * 1024},
    {"max-sessions", ARK_CONFIG_UINT, "4096",
     "most Streamable HTTP sessions at once; an initialize beyond gets 503", NULL, 1, 1000000},
    {"session-idle-timeout", ARK_CONFIG_DURATION, "30m",
     "a session with no open stream and no request for this long is dropped (its id then "
     "gets 404)"},
    {"max-tasks-per-session", ARK_CONFIG_UINT, "256",
     "most MCP tasks (task-augmented tool calls) one session keeps", NULL, 1, 100000},
    {"task-ttl", ARK_CONFIG_DURATION, "1h",
     "longest time an MCP task and its result are kept; a client asking for more gets this"},
    {"stream-buffer", ARK_CONFIG_UINT, "256",
     "SSE events kept per stream for a client resuming with Last-Event-ID", NULL, 1, 100000},
};

#define ARK_TYPE_FRONTEND_MCP (ark_frontend_mcp_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendMcp, ark_frontend_mcp, ARK, FRONTEND_MCP, GObject)

struct _ArkFrontendMcp {
	GObject parent_instance;
	ArkEngine *engine;
	ArkMcpConfig config;
	ArkMcpServer *server;
	ArkMcpHttp *http;
	gchar *mount_path;
	gulong event_id;
	guint sweep_id;
	gboolean started;
	/* stdio */
	GInputStream *input;
	GOutputStream *output;
	GDataInputStream *lines;
	GCancellable *cancellable;
	ArkMcpSession *stdio;
};

enum { PROP_0, PROP_INPUT_STREAM, PROP_OUTPUT_STREAM, N_PROPS };
enum { SIGNAL_CLOSED, N_SIGNALS };
static guint ark_frontend_mcp_signals[N_SIGNALS];

static void ark_frontend_mcp_iface_init(ArkFrontendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkFrontendMcp, ark_frontend_mcp, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_FRONTEND, ark_frontend_mcp_iface_init))

/* configuration ------------------------------------------------------------------------------ */

static gboolean
ark_frontend_mcp_load_config(ArkMcpConfig *config, GKeyFile *file, const gchar *group,
			     GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_frontend_mcp_config_keys); i++) {
		const ArkConfigKey *key = &ark_frontend_mcp_config_keys[i];
		g_autofree gchar *value = NULL;
		guint64 number = 0;
		gint64 usec = 0;

		if (file != NULL)
			value = g_key_file_get_string(file, group, key->name, NULL);
		if (value != NULL) {
			g_strstrip(value);
			if (!ark_config_key_check_value(key, value, error)) {
				g_prefix_error(error, "[%s] %s: ", group, key->name);
				return FALSE;
			}
		} else {
			value = g_strdup(key->default_value);
		}
		if (key->type == ARK_CONFIG_SIZE)
			(void)ark_size_parse(value, &number, NULL);
		else if (key->type == ARK_CONFIG_UINT)
			(void)g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT, &number, NULL);
		else if (key->type == ARK_CONFIG_DURATION) {
			(void)ark_duration_parse(value, &usec, NULL);
			if (usec <= 0) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] %s must be longer than 0", group, key->name);
				return FALSE;
			}
		}
		if (g_strcmp0(key->name, "path") == 0) {
			if (value[0] != '/' || strlen(value) < 2 || g_str_has_suffix(value, "/") ||
			    g_str_has_prefix(value, "/api/")) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] path: '%s' must be an absolute path without a "
					    "trailing slash, outside /api/",
					    group, value);
				return FALSE;
			}
			g_free(config->path);
			config->path = g_steal_pointer(&value);
		} else if (g_strcmp0(key->name, "require-token") == 0)
			config->require_token = g_strcmp0(value, "false") != 0;
		else if (g_strcmp0(key->name, "allowed-origins") == 0) {
			g_strfreev(config->allowed_origins);
			config->allowed_origins =
			    file != NULL ? g_key_file_get_string_list(file, group, key->name, NULL,
								      NULL)
					 : NULL;
		} else if (g_strcmp0(key->name, "max-message-size") == 0)
			config->max_message_size = number;
		else if (g_strcmp0(key->name, "max-sessions") == 0)
			config->max_sessions = (guint)number;
		else if (g_strcmp0(key->name, "session-idle-timeout") == 0)
			config->session_idle_timeout = usec;
		else if (g_strcmp0(key->name, "max-tasks-per-session") == 0)
			config->max_tasks_per_session = (guint)number;
		else if (g_strcmp0(key->name, "task-ttl") == 0)
			config->task_ttl_max = usec / 1000;
		else if (g_strcmp0(key->name, "stream-buffer") == 0)
			config->stream_buffer = (guint)number;
	}
	return TRUE;
}

/* stdio -------------------------------------------------------------------------------------- */

static void
ark_frontend_mcp_stdio_write(ArkFrontendMcp *self, const gchar *json, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (self->output == NULL)
		return;
	/* one message per line: json-glib escapes newlines inside strings */
	if (!g_output_stream_write_all(self->output, json, len, NULL, NULL, &error) ||
	    !g_output_stream_write_all(self->output, "\n", 1, NULL, NULL, &error) ||
	    !g_output_stream_flush(self->output, NULL, &error)) {
		g_warning("could not write to the MCP client: %s", error->message);
		g_clear_object(&self->output);
		g_cancellable_cancel(self->cancellable);
	}
}

static void
ark_frontend_mcp_stdio_send(ArkMcpSession *session, gpointer stream, const gchar *json, gsize len,
			    gboolean final, gpointer user_data)
{
	if (json != NULL)
		ark_frontend_mcp_stdio_write(user_data, json, len);
}

static const ArkMcpTransportFuncs ark_frontend_mcp_stdio_funcs = {ark_frontend_mcp_stdio_send};

static void ark_frontend_mcp_stdio_read(ArkFrontendMcp *self);

static void
ark_frontend_mcp_stdio_close(ArkFrontendMcp *self)
{
	if (self->stdio == NULL)
		return;
	ark_mcp_session_close(self->stdio);
	g_clear_pointer(&self->stdio, ark_mcp_session_unref);
	g_signal_emit(self, ark_frontend_mcp_signals[SIGNAL_CLOSED], 0);
}

static void
ark_frontend_mcp_stdio_line_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkFrontendMcp *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;
	g_autofree gchar *reply = NULL;
	gsize len = 0;

	/* not the _utf8 variant: the protocol core answers a line that is not UTF-8 with
	 * -32700 and the session goes on */
	line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &len,
						    &error);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_object_unref(self);
		return;
	}
	if (line == NULL) {
		/* EOF (or a read error): the client is gone */
		if (error != NULL)
			g_warning("reading the MCP client: %s", error->message);
		ark_frontend_mcp_stdio_close(self);
		g_object_unref(self);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len > 0 && self->stdio != NULL) {
		ArkMcpReceived received =
		    ark_mcp_session_receive(self->stdio, line, len, NULL, &reply);
		if (received == ARK_MCP_RECEIVED_INVALID && reply != NULL)
			ark_frontend_mcp_stdio_write(self, reply, strlen(reply));
	}
	if (self->stdio != NULL)
		ark_frontend_mcp_stdio_read(self);
	g_object_unref(self);
}

static void
ark_frontend_mcp_stdio_read(ArkFrontendMcp *self)
{
	g_data_input_stream_read_line_async(self->lines, G_PRIORITY_DEFAULT, self->cancellable,
					    ark_frontend_mcp_stdio_line_cb, g_object_ref(self));
}

/* the frontend ------------------------------------------------------------------------------- */

static void
ark_frontend_mcp_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	ArkFrontendMcp *self = user_data;

	ark_mcp_server_push_event(self->server, event);
}

static gboolean
ark_frontend_mcp_sweep_cb(gpointer user_data)
{
	ArkFrontendMcp *self = user_data;

	if (self->http != NULL)
		ark_mcp_http_sweep(self->http, g_get_monotonic_time());
	ark_mcp_server_sweep(self->server, g_get_real_time() / 1000);
	return G_SOURCE_CONTINUE;
}

static void
ark_frontend_mcp_mount_cb(gpointer message, const gchar *path, const ArkHttpRequestInfo *info,
			  gpointer user_data)
{
	ArkFrontendMcp *self = user_data;

	if (self->http == NULL) {
		soup_server_message_set_status(message, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
		return;
	}
	ark_mcp_http_handle(self->http, message, path, info);
}

static gboolean
ark_frontend_mcp_start(ArkFrontend *frontend, gpointer engine, GKeyFile *config,
		       const gchar *group, GError **error)
{
	ArkFrontendMcp *self = ARK_FRONTEND_MCP(frontend);
	gboolean fixtures = g_strcmp0(g_getenv(ARK_MCP_FIXTURES_ENV), "1") == 0;

	if (!ARK_IS_ENGINE(engine)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the MCP frontend needs an ArkEngine");
		return FALSE;
	}
	if (self->started) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_EXISTS,
				    "the MCP frontend is already started");
		return FALSE;
	}
	if (group == NULL)
		group = ARK_MCP_PLUGIN_NAME;
	if (!ark_frontend_mcp_load_config(&self->config, config, group, error))
		return FALSE;
	g_set_object(&self->engine, engine);
	self->server = ark_mcp_server_new(self->engine, &self->config, fixtures);
	if (fixtures)
		g_warning("MCP conformance test fixtures are on (%s=1): test only",
			  ARK_MCP_FIXTURES_ENV);

	if (self->input != NULL && self->output != NULL) {
		g_autofree gchar *actor = g_strdup_printf("uid %u (%s)", (guint)getuid(),
							  g_get_user_name());
		self->cancellable = g_cancellable_new();
		self->lines = g_data_input_stream_new(self->input);
		g_data_input_stream_set_newline_type(self->lines, G_DATA_STREAM_NEWLINE_TYPE_LF);
		self->stdio = ark_mcp_session_new(self->server, &ark_frontend_mcp_stdio_funcs, self,
						  actor, "mcp stdio", TRUE);
		ark_frontend_mcp_stdio_read(self);
	} else {
		ArkHttpMount mount = {0};
		self->http = ark_mcp_http_new(self->server);
		mount.path = self->config.path;
		mount.handler = ark_frontend_mcp_mount_cb;
		mount.max_body_size = self->config.max_message_size;
		mount.open = !self->config.require_token;
		if (!ark_registry_add_http_mount(ark_engine_get_registry(self->engine),
						 ARK_MCP_PLUGIN_NAME, &mount, self, NULL, error)) {
			g_clear_pointer(&self->http, ark_mcp_http_free);
			g_clear_pointer(&self->server, ark_mcp_server_free);
			return FALSE;
		}
		self->mount_path = g_strdup(self->config.path);
		g_message("MCP Streamable HTTP at %s on the HTTP frontend's server%s",
			  self->config.path, self->config.require_token ? "" : " (no token needed)");
	}
	self->event_id = g_signal_connect(self->engine, "event",
					  G_CALLBACK(ark_frontend_mcp_event_cb), self);
	self->sweep_id = g_timeout_add_seconds(ARK_MCP_SWEEP_SECONDS, ark_frontend_mcp_sweep_cb,
					       self);
	self->started = TRUE;
	return TRUE;
}

static void
ark_frontend_mcp_stop(ArkFrontend *frontend)
{
	ArkFrontendMcp *self = ARK_FRONTEND_MCP(frontend);

	if (!self->started)
		return;
	self->started = FALSE;
	if (self->mount_path != NULL)
		ark_registry_remove_http_mount(ark_engine_get_registry(self->engine),
					       self->mount_path);
	g_clear_pointer(&self->mount_path, g_free);
	g_clear_signal_handler(&self->event_id, self->engine);
	g_clear_handle_id(&self->sweep_id, g_source_remove);
	if (self->cancellable != NULL)
		g_cancellable_cancel(self->cancellable);
	if (self->stdio != NULL) {
		ark_mcp_session_close(self->stdio);
		g_clear_pointer(&self->stdio, ark_mcp_session_unref);
	}
	g_clear_object(&self->lines);
	g_clear_object(&self->cancellable);
	g_clear_pointer(&self->http, ark_mcp_http_free);
	g_clear_pointer(&self->server, ark_mcp_server_free);
	g_clear_pointer(&self->config.path, g_free);
	g_clear_pointer(&self->config.allowed_origins, g_strfreev);
}

static void
ark_frontend_mcp_iface_init(ArkFrontendInterface *iface)
{
	iface->start = ark_frontend_mcp_start;
	iface->stop = ark_frontend_mcp_stop;
}

static void
ark_frontend_mcp_set_property(GObject *object, guint prop_id, const GValue *value,
			      GParamSpec *pspec)
{
	ArkFrontendMcp *self = ARK_FRONTEND_MCP(object);

	switch (prop_id) {
	case PROP_INPUT_STREAM:
		g_set_object(&self->input, g_value_get_object(value));
		break;
	case PROP_OUTPUT_STREAM:
		g_set_object(&self->output, g_value_get_object(value));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
ark_frontend_mcp_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	ArkFrontendMcp *self = ARK_FRONTEND_MCP(object);

	switch (prop_id) {
	case PROP_INPUT_STREAM:
		g_value_set_object(value, self->input);
		break;
	case PROP_OUTPUT_STREAM:
		g_value_set_object(value, self->output);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
ark_frontend_mcp_dispose(GObject *object)
{
	ArkFrontendMcp *self = ARK_FRONTEND_MCP(object);

	ark_frontend_mcp_stop(ARK_FRONTEND(self));
	g_clear_object(&self->input);
	g_clear_object(&self->output);
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(ark_frontend_mcp_parent_class)->dispose(object);
}

static void
ark_frontend_mcp_class_init(ArkFrontendMcpClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = ark_frontend_mcp_dispose;
	object_class->set_property = ark_frontend_mcp_set_property;
	object_class->get_property = ark_frontend_mcp_get_property;
	g_object_class_install_property(
	    object_class, PROP_INPUT_STREAM,
	    g_param_spec_object("input-stream", NULL,
				"serve one stdio session reading from this stream",
				G_TYPE_INPUT_STREAM, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	g_object_class_install_property(
	    object_class, PROP_OUTPUT_STREAM,
	    g_param_spec_object("output-stream", NULL,
				"serve one stdio session writing to this stream",
				G_TYPE_OUTPUT_STREAM, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	/* the stdio session's input ended */
	ark_frontend_mcp_signals[SIGNAL_CLOSED] =
	    g_signal_new("closed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
			 G_TYPE_NONE, 0);
}

static void
ark_frontend_mcp_init(ArkFrontendMcp *self)
{
}

/* the plugin --------------------------------------------------------------------------------- */

#define ARK_TYPE_FRONTEND_MCP_PLUGIN (ark_frontend_mcp_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendMcpPlugin, ark_frontend_mcp_plugin, ARK, FRONTEND_MCP_PLUGIN,
		     ArkPlugin)

struct _ArkFrontendMcpPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkFrontendMcpPlugin, ark_frontend_mcp_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_frontend_mcp_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, ARK_MCP_PLUGIN_NAME, ARK_MCP_PLUGIN_NAME,
					  ark_frontend_mcp_config_keys,
					  G_N_ELEMENTS(ark_frontend_mcp_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ARK_MCP_PLUGIN_NAME, ARK_CAPABILITY_FRONTEND, "mcp",
				     ARK_TYPE_FRONTEND_MCP, error);
}

static void
ark_frontend_mcp_plugin_init(ArkFrontendMcpPlugin *self)
{
}

static void
ark_frontend_mcp_plugin_class_init(ArkFrontendMcpPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_frontend_mcp_plugin_startup;
}

ARK_PLUGIN_DEFINE(ARK_MCP_PLUGIN_NAME, ark_frontend_mcp_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later",
		  "MCP server (2025-11-25): tools, resources, prompts and tasks over Streamable "
		  "HTTP and stdio")
