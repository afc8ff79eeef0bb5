/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "ark-cli-mcp.h"
#include "ark-cli-private.h"

/*
 * arkitect mcp: the MCP server an AI assistant starts as a command (stdio transport:
 * newline-delimited JSON on stdin and stdout). Nothing but protocol goes to stdout: the
 * protocol keeps a private copy of fd 1, and fd 1 itself becomes stderr, so that no log line or
 * library message can reach the client.
 *
 * - When a daemon answers for the state directory (or --url), this is a bridge to its
 *   Streamable HTTP endpoint: every line is POSTed to /mcp, answers and SSE events come back
 *   as lines, and a GET stream carries the session's notifications. Both see the daemon's
 *   engine. If the daemon restarts, the bridge initializes a new session with the client's
 *   own initialize and carries on.
 * - Otherwise it embeds the engine on the state directory, with the frontend-mcp plugin
 *   serving stdin and stdout; it then holds the state directory (a daemon started meanwhile on
 *   it refuses to start) until the client closes stdin.
 *
 * It exits when stdin ends.
 */

#define ARK_CLI_MCP_TIMEOUT 0 /* no timeout: a tool may wait for a run for hours */
#define ARK_CLI_MCP_MAX_LINE (64 * 1024 * 1024)
#define ARK_CLI_MCP_RECONNECT_S 1

typedef struct {
	GMainLoop *loop;
	GOutputStream *out; /* the real stdout */
	GDataInputStream *in;
	gint status;
	/* bridge */
	SoupSession *session;
	gchar *endpoint;
	gchar *token;
	gchar *session_id;
	gchar *version;
	gchar *initialize; /* the client's initialize request, to open a new session with */
	GCancellable *cancellable;
	gboolean get_open;
	gchar *last_event_id;
	guint inflight;
	gboolean eof;
	/* messages read while the client's initialize is answered: they need its session */
	gboolean initializing;
	GQueue waiting; /* gchar* lines */
	ArkCliClientOptions *client;
} ArkCliMcp;

static void
ark_cli_mcp_write(ArkCliMcp *self, const gchar *json, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (self->out == NULL)
		return;
	if (!g_output_stream_write_all(self->out, json, len, NULL, NULL, &error) ||
	    !g_output_stream_write_all(self->out, "\n", 1, NULL, NULL, &error) ||
	    !g_output_stream_flush(self->out, NULL, &error)) {
		ark_cli_print_error("writing to the MCP client: %s", error->message);
		g_clear_object(&self->out);
		g_main_loop_quit(self->loop);
	}
}

/* keeps the real stdout for the protocol and points fd 1 at stderr */
static GOutputStream *
ark_cli_mcp_take_stdout(void)
{
	gint fd = dup(STDOUT_FILENO);

	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return NULL;
	return g_unix_output_stream_new(fd, TRUE);
}

static gboolean
ark_cli_mcp_signal_cb(gpointer user_data)
{
	ArkCliMcp *self = user_data;

	g_main_loop_quit(self->loop);
	return G_SOURCE_CONTINUE;
}

/* embedded ------------------------------------------------------------------------------------ */

static void
ark_cli_mcp_closed_cb(GObject *frontend, gpointer user_data)
{
	ArkCliMcp *self = user_data;

	g_main_loop_quit(self->loop);
}

static gint
ark_cli_mcp_embedded(ArkCliMcp *self, ArkCliClientOptions *client)
{
	g_autoptr(ArkPluginLoader) loader = NULL;
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkEngine) engine = NULL;
	g_autoptr(GObject) frontend = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GInputStream) in = NULL;
	g_autofree gchar *state_dir = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {0};
	gint rc;

	rc = ark_cli_open_engine(client->state_dir, client->ephemeral, &loader, &store, &engine,
				 &state_dir);
	if (rc != ARK_CLI_EXIT_OK)
		return rc;
	ark_engine_set_plugin_loader(engine, loader);
	/* runs a previous embedded server left go on, as under the daemon */
	filter.state_mask = (1u << ARK_RUN_STATE_PENDING) | (1u << ARK_RUN_STATE_RUNNING);
	runs = ark_store_list_runs(store, &filter, NULL);
	for (guint i = 0; runs != NULL && i < runs->len; i++) {
		const ArkRunRecord *run = g_ptr_array_index(runs, i);
		g_autoptr(GError) resume_error = NULL;
		if (!ark_engine_resume_run(engine, run->id, &resume_error))
			g_warning("cannot resume run %s: %s", run->id, resume_error->message);
	}
	frontend = ark_registry_create(ark_plugin_loader_get_registry(loader),
				       ARK_CAPABILITY_FRONTEND, "mcp", &error);
	if (frontend == NULL ||
	    g_object_class_find_property(G_OBJECT_GET_CLASS(frontend), "input-stream") == NULL) {
		ark_cli_print_error("the frontend-mcp plugin is not installed%s%s",
				    error != NULL ? ": " : "", error != NULL ? error->message : "");
		ark_engine_shutdown(engine);
		ark_store_close(store);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	in = g_unix_input_stream_new(STDIN_FILENO, FALSE);
	g_object_set(frontend, "input-stream", in, "output-stream", self->out, NULL);
	g_signal_connect(frontend, "closed", G_CALLBACK(ark_cli_mcp_closed_cb), self);
	if (!ark_frontend_start(ARK_FRONTEND(frontend), engine, NULL, NULL, &error)) {
		ark_cli_print_error("%s", error->message);
		ark_engine_shutdown(engine);
		ark_store_close(store);
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	g_message("MCP server on stdio, with the engine on %s", state_dir);
	g_main_loop_run(self->loop);

	ark_frontend_stop(ARK_FRONTEND(frontend));
	g_signal_handlers_disconnect_by_data(frontend, self);
	/* what runs is interrupted, not failed: the next start resumes it */
	ark_engine_drain(engine, "the MCP client went away");
	if (ark_engine_get_n_running(engine) > 0 && !ark_engine_interrupt(engine, "the MCP client "
									    "went away",
									    &error))
		g_warning("%s", error->message);
	ark_engine_shutdown(engine);
	ark_store_close(store);
	return ARK_CLI_EXIT_OK;
}

/* bridge -------------------------------------------------------------------------------------- */

typedef struct {
	ArkCliMcp *self;
	SoupMessage *msg;
	JsonNode *id;	 /* the request's id, or NULL for a notification or response */
	gchar *body;	 /* for a retry after a new session */
	gboolean retried;
	gboolean is_initialize;
	GDataInputStream *sse;
	GString *data; /* the data of the SSE event being read */
	gboolean get;  /* the session's GET stream */
	gboolean drop; /* our own initialize: the answer is not the client's */
	gchar *then_body; /* sent again once the new session is open */
	JsonNode *then_id;
} ArkCliMcpExchange;

static gpointer ark_cli_mcp_post(ArkCliMcp *self, const gchar *body, JsonNode *id,
				 gboolean is_initialize, gboolean retried);
static void ark_cli_mcp_open_get(ArkCliMcp *self);
static void ark_cli_mcp_flush_waiting(ArkCliMcp *self);

static void
ark_cli_mcp_exchange_free(ArkCliMcpExchange *ex)
{
	if (!ex->get && ex->self->inflight > 0)
		ex->self->inflight--;
	if (ex->get)
		ex->self->get_open = FALSE;
	g_clear_object(&ex->msg);
	g_clear_object(&ex->sse);
	if (ex->id != NULL)
		json_node_unref(ex->id);
	if (ex->data != NULL)
		g_string_free(ex->data, TRUE);
	g_free(ex->body);
	g_free(ex->then_body);
	if (ex->then_id != NULL)
		json_node_unref(ex->then_id);
	if (ex->self->eof && ex->self->inflight == 0)
		g_main_loop_quit(ex->self->loop);
	g_free(ex);
}

/* a JSON-RPC error for the client's request, when the daemon answered with an HTTP error */
static void
ark_cli_mcp_error_reply(ArkCliMcp *self, JsonNode *id, gint code, const gchar *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	if (id == NULL) {
		ark_cli_print_error("the daemon refused a notification: %s", message);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "jsonrpc");
	json_builder_add_string_value(b, "2.0");
	json_builder_set_member_name(b, "id");
	json_builder_add_value(b, json_node_copy(id));
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_int_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	text = json_to_string(root, FALSE);
	ark_cli_mcp_write(self, text, strlen(text));
}

/* the protocol version and session of a new session, from its initialize answer */
static void
ark_cli_mcp_learn(ArkCliMcp *self, const gchar *json, gboolean forward)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;
	JsonNode *result;

	if (json_parser_load_from_data(parser, json, -1, NULL) &&
	    (root = json_parser_get_root(parser)) != NULL && JSON_NODE_HOLDS_OBJECT(root) &&
	    (result = json_object_get_member(json_node_get_object(root), "result")) != NULL &&
	    JSON_NODE_HOLDS_OBJECT(result)) {
		JsonNode *v = json_object_get_member(json_node_get_object(result), "protocolVersion");
		if (v != NULL && JSON_NODE_HOLDS_VALUE(v) &&
		    json_node_get_value_type(v) == G_TYPE_STRING) {
			g_free(self->version);
			self->version = g_strdup(json_node_get_string(v));
		}
	}
	if (forward)
		ark_cli_mcp_write(self, json, strlen(json));
}

static void ark_cli_mcp_sse_read(ArkCliMcpExchange *ex);

static gboolean
ark_cli_mcp_reopen_cb(gpointer user_data)
{
	ark_cli_mcp_open_get(user_data);
	return G_SOURCE_REMOVE;
}

static void
ark_cli_mcp_sse_line_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkCliMcpExchange *ex = user_data;
	ArkCliMcp *self = ex->self;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;
	gsize len = 0;

	line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), result, &len,
							 &error);
	if (line == NULL) {
		gboolean get = ex->get && !g_cancellable_is_cancelled(self->cancellable);
		ark_cli_mcp_exchange_free(ex);
		/* the GET stream comes back: the daemon may have restarted or timed it out */
		if (get && self->session_id != NULL)
			g_timeout_add_seconds(ARK_CLI_MCP_RECONNECT_S, ark_cli_mcp_reopen_cb, self);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (line[0] == '\0') {
		if (ex->data->len > 0)
			ark_cli_mcp_write(self, ex->data->str, ex->data->len);
		g_string_truncate(ex->data, 0);
	} else if (g_str_has_prefix(line, "data:")) {
		const gchar *value = line + 5;
		if (*value == ' ')
			value++;
		if (ex->data->len + strlen(value) < ARK_CLI_MCP_MAX_LINE)
			g_string_append(ex->data, value);
	} else if (g_str_has_prefix(line, "id:") && ex->get) {
		g_free(self->last_event_id);
		self->last_event_id = g_strdup(g_strstrip(line + 3));
	}
	ark_cli_mcp_sse_read(ex);
}

static void
ark_cli_mcp_sse_read(ArkCliMcpExchange *ex)
{
	g_data_input_stream_read_line_async(ex->sse, G_PRIORITY_DEFAULT, ex->self->cancellable,
					    ark_cli_mcp_sse_line_cb, ex);
}

static void
ark_cli_mcp_body_done(ArkCliMcpExchange *ex, const gchar *text)
{
	guint status = soup_message_get_status(ex->msg);

	if (SOUP_STATUS_IS_SUCCESSFUL(status)) {
		if (text[0] != '\0')
			ark_cli_mcp_learn(ex->self, text, !ex->drop);
	} else if (ex->id == NULL && g_str_has_prefix(text, "{\"jsonrpc\":\"2.0\",\"id\":null")) {
		/* a message the daemon could not read: its error is what the client gets */
		ark_cli_mcp_write(ex->self, text, strlen(text));
	} else {
		g_autofree gchar *message = g_strdup_printf(
		    "the daemon answered %u %s: %s", status, soup_message_get_reason_phrase(ex->msg),
		    text);
		ark_cli_mcp_error_reply(ex->self, ex->id, -32603, message);
	}
	ark_cli_mcp_exchange_free(ex);
}

/* finds the daemon again (after it restarted); TRUE when one answers */
static gboolean
ark_cli_mcp_rediscover(ArkCliMcp *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *url = NULL;
	g_autofree gchar *token = NULL;
	gint rc = 0;

	if (!ark_cli_client_find_daemon(self->client, &url, &token, &rc, &error))
		return FALSE;
	g_free(self->endpoint);
	self->endpoint = g_strdup_printf("%s/mcp", url);
	if (self->token != NULL)
		memset(self->token, 0, strlen(self->token));
	g_free(self->token);
	self->token = g_steal_pointer(&token);
	g_clear_pointer(&self->session_id, g_free);
	g_clear_pointer(&self->last_event_id, g_free);
	g_message("the daemon is back at %s", self->endpoint);
	return TRUE;
}

static void ark_cli_mcp_body_done(ArkCliMcpExchange *ex, const gchar *text);

static void
ark_cli_mcp_body_line_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkCliMcpExchange *ex = user_data;
	g_autofree gchar *line = NULL;
	gsize len = 0;

	line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &len,
						    NULL);
	if (line == NULL) {
		/* closed, the connection goes back to the pool for the next request */
		(void)g_input_stream_close(G_INPUT_STREAM(ex->sse), NULL, NULL);
		ark_cli_mcp_body_done(ex, ex->data->str);
		return;
	}
	if (ex->data->len + len < ARK_CLI_MCP_MAX_LINE)
		g_string_append_len(ex->data, line, (gssize)len);
	g_data_input_stream_read_line_async(ex->sse, G_PRIORITY_DEFAULT, NULL,
					    ark_cli_mcp_body_line_cb, ex);
}

/* the whole body of a JSON answer: one line (the daemon writes no newline in it) up to EOF;
 * reads stay on the main context, where libsoup wants them */
static void
ark_cli_mcp_read_body(ArkCliMcpExchange *ex, GInputStream *in)
{
	ex->sse = g_data_input_stream_new(in);
	ex->data = g_string_new(NULL);
	g_data_input_stream_read_line_async(ex->sse, G_PRIORITY_DEFAULT, NULL,
					    ark_cli_mcp_body_line_cb, ex);
}

static void
ark_cli_mcp_sent_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkCliMcpExchange *ex = user_data;
	ArkCliMcp *self = ex->self;
	g_autoptr(GError) error = NULL;
	g_autoptr(GInputStream) in = NULL;
	SoupMessageHeaders *headers;
	const gchar *type;
	guint status;

	in = soup_session_send_finish(SOUP_SESSION(source), result, &error);
	/* the daemon went away: one that started since (on another port) gets a new session */
	if (in == NULL && !ex->get && !ex->retried && self->initialize != NULL &&
	    !ex->is_initialize && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
	    ark_cli_mcp_rediscover(self)) {
		ArkCliMcpExchange *init = ark_cli_mcp_post(self, self->initialize, NULL, TRUE, TRUE);
		init->then_body = g_steal_pointer(&ex->body);
		init->then_id = g_steal_pointer(&ex->id);
		ark_cli_mcp_exchange_free(ex);
		return;
	}
	if (in == NULL) {
		if (ex->is_initialize && !ex->retried)
			ark_cli_mcp_flush_waiting(self);
		if (!ex->get)
			ark_cli_mcp_error_reply(self, ex->id, -32603, error->message);
		else if (!g_cancellable_is_cancelled(self->cancellable) && self->session_id != NULL)
			g_timeout_add_seconds(ARK_CLI_MCP_RECONNECT_S, ark_cli_mcp_reopen_cb, self);
		ark_cli_mcp_exchange_free(ex);
		return;
	}
	status = soup_message_get_status(ex->msg);
	headers = soup_message_get_response_headers(ex->msg);
	if (ex->is_initialize && SOUP_STATUS_IS_SUCCESSFUL(status)) {
		g_free(self->session_id);
		self->session_id = g_strdup(soup_message_headers_get_one(headers, "Mcp-Session-Id"));
		g_clear_pointer(&self->last_event_id, g_free);
	}
	if (ex->is_initialize && !ex->retried) {
		ark_cli_mcp_flush_waiting(self);
		/* notifications not tied to a request (subscriptions) come on the GET stream */
		ark_cli_mcp_open_get(self);
	}
	/* the session is gone (the daemon restarted, or expired it): a new one, then again */
	if (status == SOUP_STATUS_NOT_FOUND && !ex->get && !ex->retried &&
	    self->initialize != NULL && !ex->is_initialize) {
		ArkCliMcpExchange *init;
		g_clear_pointer(&self->session_id, g_free);
		init = ark_cli_mcp_post(self, self->initialize, NULL, TRUE, TRUE);
		init->then_body = g_steal_pointer(&ex->body);
		init->then_id = g_steal_pointer(&ex->id);
		ark_cli_mcp_exchange_free(ex);
		return;
	}
	if (ex->get && !SOUP_STATUS_IS_SUCCESSFUL(status)) {
		ark_cli_mcp_exchange_free(ex);
		return;
	}
	type = soup_message_headers_get_content_type(headers, NULL);
	if (SOUP_STATUS_IS_SUCCESSFUL(status) && g_strcmp0(type, "text/event-stream") == 0) {
		ex->sse = g_data_input_stream_new(in);
		g_data_input_stream_set_newline_type(ex->sse, G_DATA_STREAM_NEWLINE_TYPE_ANY);
		ex->data = g_string_new(NULL);
		ark_cli_mcp_sse_read(ex);
		return;
	}
	if (ex->is_initialize && ex->retried) {
		/* our own initialize for a new session: its answer is not the client's; the
		 * session is ready, and the request that found the old one gone goes again */
		(void)ark_cli_mcp_post(self,
				       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
				       NULL, FALSE, TRUE);
		if (ex->then_body != NULL)
			(void)ark_cli_mcp_post(self, ex->then_body, ex->then_id, FALSE, TRUE);
		ark_cli_mcp_open_get(self);
		ex->drop = TRUE;
	}
	ark_cli_mcp_read_body(ex, in);
}

static SoupMessage *
ark_cli_mcp_message(ArkCliMcp *self, const gchar *method)
{
	SoupMessage *msg = soup_message_new(method, self->endpoint);
	SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
	g_autofree gchar *auth = g_strdup_printf("Bearer %s", self->token);

	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	soup_message_headers_replace(headers, "Authorization", auth);
	if (self->session_id != NULL)
		soup_message_headers_replace(headers, "Mcp-Session-Id", self->session_id);
	if (self->version != NULL)
		soup_message_headers_replace(headers, "MCP-Protocol-Version", self->version);
	return msg;
}

/* the exchange, until its answer is in */
static gpointer
ark_cli_mcp_post(ArkCliMcp *self, const gchar *body, JsonNode *id, gboolean is_initialize,
		 gboolean retried)
{
	ArkCliMcpExchange *ex = g_new0(ArkCliMcpExchange, 1);
	g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));

	ex->self = self;
	ex->msg = ark_cli_mcp_message(self, "POST");
	ex->id = id != NULL ? json_node_copy(id) : NULL;
	ex->body = g_strdup(body);
	ex->is_initialize = is_initialize;
	ex->retried = retried;
	/* a retried initialize (a new session) is ours; its answer is not forwarded */
	if (is_initialize && retried)
		g_clear_pointer(&ex->id, json_node_unref);
	soup_message_headers_replace(soup_message_get_request_headers(ex->msg), "Accept",
				     "application/json, text/event-stream");
	soup_message_set_request_body_from_bytes(ex->msg, "application/json", bytes);
	self->inflight++;
	soup_session_send_async(self->session, ex->msg, G_PRIORITY_DEFAULT, self->cancellable,
				ark_cli_mcp_sent_cb, ex);
	return ex;
}

static void
ark_cli_mcp_open_get(ArkCliMcp *self)
{
	ArkCliMcpExchange *ex;

	if (self->get_open || self->session_id == NULL || self->eof)
		return;
	ex = g_new0(ArkCliMcpExchange, 1);
	ex->self = self;
	ex->get = TRUE;
	ex->msg = ark_cli_mcp_message(self, "GET");
	soup_message_headers_replace(soup_message_get_request_headers(ex->msg), "Accept",
				     "text/event-stream");
	if (self->last_event_id != NULL)
		soup_message_headers_replace(soup_message_get_request_headers(ex->msg),
					     "Last-Event-ID", self->last_event_id);
	self->get_open = TRUE;
	soup_session_send_async(self->session, ex->msg, G_PRIORITY_DEFAULT, self->cancellable,
				ark_cli_mcp_sent_cb, ex);
}

static void ark_cli_mcp_read(ArkCliMcp *self);
static void ark_cli_mcp_forward(ArkCliMcp *self, const gchar *line, gsize len);

static void
ark_cli_mcp_line_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkCliMcp *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;
	gsize len = 0;

	line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &len,
						    &error);
	if (line == NULL) {
		/* EOF: end the session, then leave once the answers in flight are out */
		self->eof = TRUE;
		if (self->session_id != NULL) {
			g_autoptr(SoupMessage) msg = ark_cli_mcp_message(self, "DELETE");
			g_autoptr(GBytes) ignored = soup_session_send_and_read(self->session, msg,
									       NULL, NULL);
		}
		g_cancellable_cancel(self->cancellable);
		g_main_loop_quit(self->loop);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len > 0) {
		if (self->initializing)
			g_queue_push_tail(&self->waiting, g_strndup(line, len));
		else
			ark_cli_mcp_forward(self, line, len);
	}
	ark_cli_mcp_read(self);
}

static void
ark_cli_mcp_forward(ArkCliMcp *self, const gchar *line, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;
	JsonNode *id = NULL;
	gboolean is_initialize = FALSE;
	gboolean is_request = FALSE;

	/* the id, to answer with an error if the daemon refuses the POST */
	if (json_parser_load_from_data(parser, line, (gssize)len, NULL) &&
	    (root = json_parser_get_root(parser)) != NULL && JSON_NODE_HOLDS_OBJECT(root)) {
		JsonObject *object = json_node_get_object(root);
		JsonNode *method = json_object_get_member(object, "method");
		id = json_object_get_member(object, "id");
		is_request = method != NULL && id != NULL;
		if (method != NULL && JSON_NODE_HOLDS_VALUE(method) &&
		    json_node_get_value_type(method) == G_TYPE_STRING &&
		    g_strcmp0(json_node_get_string(method), "initialize") == 0) {
			is_initialize = TRUE;
			g_free(self->initialize);
			self->initialize = g_strdup(line);
			g_clear_pointer(&self->session_id, g_free);
		}
	}
	self->initializing = is_initialize;
	(void)ark_cli_mcp_post(self, line, is_request ? id : NULL, is_initialize, FALSE);
}

/* the client's initialize is answered: what came after it goes now */
static void
ark_cli_mcp_flush_waiting(ArkCliMcp *self)
{
	self->initializing = FALSE;
	while (!self->initializing && !g_queue_is_empty(&self->waiting)) {
		g_autofree gchar *line = g_queue_pop_head(&self->waiting);
		ark_cli_mcp_forward(self, line, strlen(line));
	}
}

static void
ark_cli_mcp_read(ArkCliMcp *self)
{
	g_data_input_stream_read_line_async(self->in, G_PRIORITY_DEFAULT, NULL, ark_cli_mcp_line_cb,
					    self);
}

static gint
ark_cli_mcp_bridge(ArkCliMcp *self, const gchar *url, const gchar *token)
{
	g_autoptr(GInputStream) in = g_unix_input_stream_new(STDIN_FILENO, FALSE);

	self->endpoint = g_strdup_printf("%s/mcp", url);
	self->token = g_strdup(token);
	self->cancellable = g_cancellable_new();
	/* no proxy: the token goes to the daemon and nowhere else */
	self->session = soup_session_new_with_options("timeout", ARK_CLI_MCP_TIMEOUT,
						      "idle-timeout", 0, "proxy-resolver", NULL,
						      "max-conns-per-host", 64, NULL);
	self->in = g_data_input_stream_new(in);
	g_data_input_stream_set_newline_type(self->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	g_message("MCP server on stdio, bridged to %s", self->endpoint);
	ark_cli_mcp_read(self);
	g_main_loop_run(self->loop);
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->in);
	g_clear_object(&self->session);
	g_clear_object(&self->cancellable);
	g_free(self->endpoint);
	if (self->token != NULL)
		memset(self->token, 0, strlen(self->token));
	g_free(self->token);
	g_free(self->session_id);
	g_free(self->version);
	g_free(self->initialize);
	g_free(self->last_event_id);
	g_queue_clear_full(&self->waiting, g_free);
	return ARK_CLI_EXIT_OK;
}

gint
ark_cli_mcp_main(ArkCliClientOptions *client, gint argc, gchar **argv)
{
	ArkCliMcp self = {0};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *url = NULL;
	g_autofree gchar *token = NULL;
	guint sigint_id, sigterm_id;
	gint rc;

	if (argc != 1) {
		ark_cli_print_error("usage: arkitect mcp [--state-dir DIR] [--url URL] "
				    "[--token-file FILE]");
		return ARK_CLI_EXIT_INVALID;
	}
	self.out = ark_cli_mcp_take_stdout();
	if (self.out == NULL) {
		ark_cli_print_error("cannot set up standard output for the protocol");
		return ARK_CLI_EXIT_ENVIRONMENT;
	}
	self.loop = g_main_loop_new(NULL, FALSE);
	self.client = client;
	sigint_id = g_unix_signal_add(SIGINT, ark_cli_mcp_signal_cb, &self);
	sigterm_id = g_unix_signal_add(SIGTERM, ark_cli_mcp_signal_cb, &self);
	if (ark_cli_client_find_daemon(client, &url, &token, &rc, &error))
		rc = ark_cli_mcp_bridge(&self, url, token);
	else if (rc == ARK_CLI_EXIT_OK && client->url == NULL)
		rc = ark_cli_mcp_embedded(&self, client);
	else if (rc == ARK_CLI_EXIT_OK)
		ark_cli_print_error("no daemon answers at %s", client->url);
	if (token != NULL)
		memset(token, 0, strlen(token));
	g_source_remove(sigint_id);
	g_source_remove(sigterm_id);
	g_main_loop_unref(self.loop);
	g_clear_object(&self.out);
	return rc;
}
