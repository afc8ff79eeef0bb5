/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "ark-frontend-http-json.h"
#include "ark-mcp-private.h"

/*
 * JSON-RPC 2.0 and the MCP lifecycle (revision 2025-11-25, negotiating down to 2025-06-18 and
 * 2025-03-26). One message at a time: a request becomes an ArkMcpCall, which is answered at once
 * or later (a tool waiting for a run, a request to the client, tasks/result); ids are kept as the
 * JsonNode they came as, so that 7 is answered as 7 and "7" as "7".
 *
 * Messages are checked strictly (RFC 8259, bounded nesting) before json-glib, which is lenient
 * and recursive, builds anything. A batch (a JSON array) is refused with -32600: 2025-06-18
 * removed batching, and the versions this server negotiates down to are reached only through an
 * initialize, which is never batched.
 */

#define ARK_MCP_PAGE_SIZE 50
#define ARK_MCP_TASK_POLL_MS 500
#define ARK_MCP_TASK_TTL_DEFAULT_MS (60 * 60 * 1000)

static const gchar *const ark_mcp_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", NULL};
static const gchar *const ark_mcp_levels[] = {"debug", "info",	   "notice", "warning",
					      "error", "critical", "alert",  "emergency", NULL};
#define ARK_MCP_DEFAULT_LEVEL 3 /* warning, until the client sets one */

struct _ArkMcpServer {
	ArkEngine *engine;
	ArkMcpConfig config;
	gboolean fixtures;
	GPtrArray *sessions; /* ArkMcpSession (borrowed: each leaves when it closes) */
	GPtrArray *tools;    /* const ArkMcpTool*, in listing order */
	GHashTable *tool_index;
};

typedef struct {
	ArkMcpResponseFunc func;
	gpointer user_data;
	ArkMcpCall *call;
} ArkMcpPending;

struct _ArkMcpSession {
	gint ref;
	ArkMcpServer *server;
	ArkMcpTransportFuncs funcs;
	gpointer user_data;
	gchar *actor;
	gchar *origin;
	gboolean admin;
	gchar *agent_id; /* an agent's session: its tools only, for it only */
	gboolean initialized;
	gboolean closed;
	gchar *version;
	gint log_level;
	GHashTable *subscriptions; /* uri set */
	GHashTable *calls;	   /* id key -> ArkMcpCall, requests being answered */
	GHashTable *pending;	   /* our request id -> ArkMcpPending */
	gint64 next_request_id;
	GHashTable *tasks; /* task id -> ArkMcpTask */
	GPtrArray *task_order;
};

struct _ArkMcpCall {
	ArkMcpSession *session; /* a reference */
	JsonNode *id;		/* NULL for the work of a task */
	gchar *key;
	gchar *method;
	JsonNode *progress_token;
	gdouble last_progress;
	gpointer stream;
	gboolean cancelled;
	ArkMcpTask *task; /* the work of this task: the answer goes to it */
	GFunc cancel_func;
	gpointer cancel_data;
	GDestroyNotify cancel_free;
};

struct _ArkMcpTask {
	gchar *id;
	const gchar *status; /* working, input_required, completed, failed, cancelled */
	gchar *status_message;
	gint64 created; /* realtime µs */
	gint64 updated;
	gint64 ttl_ms;
	JsonNode *result; /* the tools/call result, once completed or failed */
	JsonNode *error;  /* or a JSON-RPC error object */
	ArkMcpCall *call; /* the work, while it runs */
	GPtrArray *waiters; /* ArkMcpCall of tasks/result, answered when it ends */
	ArkMcpSession *session;
};

/* helpers ------------------------------------------------------------------------------------ */

gchar *
ark_mcp_random_hex(guint n_bytes)
{
	g_autofree guint8 *buf = g_malloc(n_bytes);
	GString *out = g_string_sized_new(n_bytes * 2);
	gsize done = 0;

	while (done < n_bytes) {
		ssize_t n = getrandom(buf + done, n_bytes - done, 0);
		if (n < 0) {
			/* getrandom only fails before the pool is ready or on EINTR; never fall
			 * back to a predictable source */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			g_error("getrandom failed: %s", g_strerror(errno));
		}
		done += (gsize)n;
	}
	for (guint i = 0; i < n_bytes; i++)
		g_string_append_printf(out, "%02x", buf[i]);
	return g_string_free(out, FALSE);
}

gboolean
ark_mcp_version_supported(const gchar *version)
{
	return version != NULL && g_strv_contains(ark_mcp_versions, version);
}

const gchar *
ark_mcp_get_string(JsonObject *object, const gchar *name)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

JsonObject *
ark_mcp_text_content(const gchar *text)
{
	JsonObject *block = json_object_new();

	json_object_set_string_member(block, "type", "text");
	json_object_set_string_member(block, "text", text);
	return block;
}

gchar *
ark_mcp_format_time(gint64 usec)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
	g_autofree gchar *seconds = dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S") : NULL;

	if (seconds == NULL)
		return g_strdup("1970-01-01T00:00:00.000Z");
	return g_strdup_printf("%s.%03dZ", seconds, (gint)((usec % G_USEC_PER_SEC) / 1000));
}

/* strict parse: RFC 8259, nesting bounded; NULL for anything else */
JsonNode *
ark_mcp_parse_json(const gchar *text)
{
	g_auto(ArkFrontendHttpJsonScan) scan = {0};
	g_autoptr(JsonParser) parser = NULL;
	gsize len = strlen(text);

	if (ark_frontend_http_json_scan(text, len, ARK_MCP_MAX_JSON_DEPTH, &scan) !=
	    ARK_FRONTEND_HTTP_JSON_SCAN_OK)
		return NULL;
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, text, (gssize)len, NULL) ||
	    json_parser_get_root(parser) == NULL)
		return NULL;
	return json_node_copy(json_parser_get_root(parser));
}

static gchar *
ark_mcp_node_to_string(JsonNode *node)
{
	return json_to_string(node, FALSE);
}

/* the key of an id in the calls table: its type and its text */
static gchar *
ark_mcp_id_key(JsonNode *id)
{
	g_autofree gchar *text = ark_mcp_node_to_string(id);

	if (JSON_NODE_HOLDS_VALUE(id) && json_node_get_value_type(id) == G_TYPE_STRING)
		return g_strdup_printf("s:%s", json_node_get_string(id));
	return g_strdup_printf("n:%s", text);
}

gchar *
ark_mcp_peek_method(const gchar *data, gsize len)
{
	g_autofree gchar *text = g_strndup(data, len);
	g_autoptr(JsonNode) root = NULL;
	const gchar *method;

	if (strlen(text) != len)
		return NULL;
	root = ark_mcp_parse_json(text);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	method = ark_mcp_get_string(json_node_get_object(root), "method");
	return g_strdup(method);
}

/* the server --------------------------------------------------------------------------------- */

ArkMcpServer *
ark_mcp_server_new(ArkEngine *engine, const ArkMcpConfig *config, gboolean fixtures)
{
	ArkMcpServer *server = g_new0(ArkMcpServer, 1);
	const ArkMcpTool *tools;
	guint n = 0;

	server->engine = engine != NULL ? g_object_ref(engine) : NULL;
	server->config = *config;
	server->config.path = g_strdup(config->path);
	server->config.allowed_origins = g_strdupv(config->allowed_origins);
	server->fixtures = fixtures;
	server->sessions = g_ptr_array_new();
	server->tools = g_ptr_array_new();
	server->tool_index = g_hash_table_new(g_str_hash, g_str_equal);
	tools = ark_mcp_tools_get(&n);
	for (guint i = 0; i < n; i++) {
		g_ptr_array_add(server->tools, (gpointer)&tools[i]);
		g_hash_table_insert(server->tool_index, (gpointer)tools[i].name,
				    (gpointer)&tools[i]);
	}
	tools = ark_mcp_agent_tools_get(&n);
	for (guint i = 0; i < n; i++) {
		g_ptr_array_add(server->tools, (gpointer)&tools[i]);
		g_hash_table_insert(server->tool_index, (gpointer)tools[i].name,
				    (gpointer)&tools[i]);
	}
	if (fixtures) {
		tools = ark_mcp_fixtures_tools_get(&n);
		for (guint i = 0; i < n; i++) {
			g_ptr_array_add(server->tools, (gpointer)&tools[i]);
			g_hash_table_insert(server->tool_index, (gpointer)tools[i].name,
					    (gpointer)&tools[i]);
		}
	}
	return server;
}

void
ark_mcp_server_free(ArkMcpServer *server)
{
	if (server == NULL)
		return;
	/* sessions still open belong to their transports, which close them first */
	g_ptr_array_unref(server->sessions);
	g_ptr_array_unref(server->tools);
	g_hash_table_unref(server->tool_index);
	g_clear_object(&server->engine);
	g_free(server->config.path);
	g_strfreev(server->config.allowed_origins);
	g_free(server);
}

ArkEngine *
ark_mcp_server_get_engine(ArkMcpServer *server)
{
	return server->engine;
}

const ArkMcpConfig *
ark_mcp_server_get_config(ArkMcpServer *server)
{
	return &server->config;
}

gboolean
ark_mcp_server_get_fixtures(ArkMcpServer *server)
{
	return server->fixtures;
}

guint
ark_mcp_server_get_n_sessions(ArkMcpServer *server)
{
	return server->sessions->len;
}

/* sending ------------------------------------------------------------------------------------ */

static void
ark_mcp_session_send_node(ArkMcpSession *self, gpointer stream, JsonNode *message,
			  gboolean final)
{
	g_autofree gchar *text = NULL;

	if (self->closed)
		return;
	text = ark_mcp_node_to_string(message);
	self->funcs.send(self, stream, text, strlen(text), final, self->user_data);
}

static JsonNode *
ark_mcp_message_new(JsonObject **out_object)
{
	JsonObject *object = json_object_new();
	JsonNode *node = json_node_init_object(json_node_alloc(), object);

	json_object_set_string_member(object, "jsonrpc", "2.0");
	*out_object = object;
	json_object_unref(object);
	return node;
}

/* a notification: @params is taken */
static void
ark_mcp_session_send_notification(ArkMcpSession *self, gpointer stream, const gchar *method,
				  JsonObject *params)
{
	JsonObject *object;
	g_autoptr(JsonNode) node = ark_mcp_message_new(&object);

	json_object_set_string_member(object, "method", method);
	if (params != NULL)
		json_object_set_object_member(object, "params", params);
	ark_mcp_session_send_node(self, stream, node, FALSE);
}

void
ark_mcp_session_notify(ArkMcpSession *self, const gchar *method, JsonObject *params)
{
	ark_mcp_session_send_notification(self, NULL, method, params);
}

static JsonNode *
ark_mcp_error_node(JsonNode *id, gint code, const gchar *message, JsonNode *data)
{
	JsonObject *object;
	JsonNode *node = ark_mcp_message_new(&object);
	JsonObject *error = json_object_new();

	if (id != NULL)
		json_object_set_member(object, "id", json_node_copy(id));
	else
		json_object_set_null_member(object, "id");
	json_object_set_int_member(error, "code", code);
	json_object_set_string_member(error, "message", message);
	if (data != NULL)
		json_object_set_member(error, "data", json_node_copy(data));
	json_object_set_object_member(object, "error", error);
	return node;
}

/* calls -------------------------------------------------------------------------------------- */

static void
ark_mcp_call_free(ArkMcpCall *call)
{
	if (call->cancel_free != NULL)
		call->cancel_free(call->cancel_data);
	if (call->id != NULL)
		json_node_unref(call->id);
	if (call->progress_token != NULL)
		json_node_unref(call->progress_token);
	g_free(call->key);
	g_free(call->method);
	ark_mcp_session_unref(call->session);
	g_free(call);
}

ArkMcpSession *
ark_mcp_call_get_session(ArkMcpCall *call)
{
	return call->session;
}

ArkMcpServer *
ark_mcp_call_get_server(ArkMcpCall *call)
{
	return call->session->server;
}

ArkEngine *
ark_mcp_call_get_engine(ArkMcpCall *call)
{
	return call->session->server->engine;
}

gboolean
ark_mcp_call_is_cancelled(ArkMcpCall *call)
{
	return call->cancelled;
}

const gchar *
ark_mcp_call_get_actor(ArkMcpCall *call)
{
	return call->session->actor;
}

const gchar *
ark_mcp_call_get_origin(ArkMcpCall *call)
{
	return call->session->origin;
}

const gchar *
ark_mcp_call_get_agent(ArkMcpCall *call)
{
	return call->session->agent_id;
}

void
ark_mcp_call_set_cancel(ArkMcpCall *call, GFunc cancel, gpointer data, GDestroyNotify free)
{
	if (call->cancel_free != NULL)
		call->cancel_free(call->cancel_data);
	call->cancel_func = cancel;
	call->cancel_data = data;
	call->cancel_free = free;
}

/* the call leaves the session's table of requests being answered */
static void
ark_mcp_call_detach(ArkMcpCall *call)
{
	if (call->key != NULL && g_hash_table_lookup(call->session->calls, call->key) == call)
		g_hash_table_remove(call->session->calls, call->key);
}

static void ark_mcp_task_finish(ArkMcpTask *task, const gchar *status, JsonNode *result,
				JsonNode *error);

static void
ark_mcp_call_finish(ArkMcpCall *call, JsonNode *result, JsonNode *error_node)
{
	ark_mcp_call_detach(call);
	if (call->task != NULL) {
		ArkMcpTask *task = call->task;
		const gchar *status = "completed";
		task->call = NULL;
		if (error_node != NULL)
			status = "failed";
		else if (result != NULL && JSON_NODE_HOLDS_OBJECT(result) &&
			 json_object_get_boolean_member_with_default(json_node_get_object(result),
								     "isError", FALSE))
			status = "failed";
		if (g_strcmp0(task->status, "cancelled") != 0)
			ark_mcp_task_finish(task, status, result, error_node);
	} else if (!call->cancelled) {
		JsonObject *object;
		g_autoptr(JsonNode) node = NULL;
		if (error_node != NULL) {
			node = json_node_copy(error_node);
		} else {
			node = ark_mcp_message_new(&object);
			json_object_set_member(object, "id", json_node_copy(call->id));
			json_object_set_member(object, "result", json_node_copy(result));
		}
		ark_mcp_session_send_node(call->session, call->stream, node, TRUE);
	}
	ark_mcp_call_free(call);
}

void
ark_mcp_call_return(ArkMcpCall *call, JsonNode *result)
{
	g_autoptr(JsonNode) owned = result;
	ark_mcp_call_finish(call, result, NULL);
}

void
ark_mcp_call_error(ArkMcpCall *call, gint code, JsonNode *data, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(JsonNode) owned_data = data;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	node = ark_mcp_error_node(call->id, code, message, data);
	ark_mcp_call_finish(call, NULL, node);
}

void
ark_mcp_call_tool_content(ArkMcpCall *call, JsonArray *content, gboolean is_error)
{
	JsonObject *result = json_object_new();

	json_object_set_array_member(result, "content", content);
	if (is_error)
		json_object_set_boolean_member(result, "isError", TRUE);
	ark_mcp_call_return(call, json_node_init_object(json_node_alloc(), result));
	json_object_unref(result);
}

void
ark_mcp_call_tool_ok(ArkMcpCall *call, JsonObject *structured)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), structured);
	g_autofree gchar *text = ark_mcp_node_to_string(node);
	JsonObject *result = json_object_new();
	JsonArray *content = json_array_new();

	json_array_add_object_element(content, ark_mcp_text_content(text));
	json_object_set_array_member(result, "content", content);
	json_object_set_object_member(result, "structuredContent", json_object_ref(structured));
	json_object_unref(structured);
	ark_mcp_call_return(call, json_node_init_object(json_node_alloc(), result));
	json_object_unref(result);
}

void
ark_mcp_call_tool_error(ArkMcpCall *call, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	JsonArray *content = json_array_new();
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	json_array_add_object_element(content, ark_mcp_text_content(message));
	ark_mcp_call_tool_content(call, content, TRUE);
}

/* where messages related to a call go: its POST stream, or for a task's work (whose request
 * was answered long ago) the session's own channel */
static gpointer
ark_mcp_call_stream(ArkMcpCall *call)
{
	return call->task != NULL ? NULL : call->stream;
}

gboolean
ark_mcp_call_has_progress(ArkMcpCall *call)
{
	return call->progress_token != NULL && !call->cancelled;
}

void
ark_mcp_call_progress(ArkMcpCall *call, gdouble progress, gdouble total, const gchar *message)
{
	JsonObject *params;

	if (!ark_mcp_call_has_progress(call))
		return;
	/* progress must increase */
	if (progress < call->last_progress)
		progress = call->last_progress;
	call->last_progress = progress;
	params = json_object_new();
	json_object_set_member(params, "progressToken", json_node_copy(call->progress_token));
	json_object_set_double_member(params, "progress", progress);
	if (total > 0)
		json_object_set_double_member(params, "total", total);
	if (message != NULL)
		json_object_set_string_member(params, "message", message);
	ark_mcp_session_send_notification(call->session, ark_mcp_call_stream(call),
					  "notifications/progress", params);
}

static gint
ark_mcp_level_index(const gchar *level)
{
	for (gint i = 0; ark_mcp_levels[i] != NULL; i++) {
		if (g_strcmp0(ark_mcp_levels[i], level) == 0)
			return i;
	}
	return -1;
}

void
ark_mcp_call_log(ArkMcpCall *call, const gchar *level, const gchar *logger, JsonNode *data)
{
	g_autoptr(JsonNode) owned = data;
	JsonObject *params;

	if (ark_mcp_level_index(level) < call->session->log_level || call->cancelled)
		return;
	params = json_object_new();
	json_object_set_string_member(params, "level", level);
	if (logger != NULL)
		json_object_set_string_member(params, "logger", logger);
	json_object_set_member(params, "data", json_node_copy(data));
	ark_mcp_session_send_notification(call->session, ark_mcp_call_stream(call),
					  "notifications/message", params);
}

void
ark_mcp_call_request(ArkMcpCall *call, const gchar *method, JsonObject *params,
		     ArkMcpResponseFunc func, gpointer user_data)
{
	ArkMcpSession *self = call->session;
	ArkMcpPending *pending = g_new0(ArkMcpPending, 1);
	gint64 id = ++self->next_request_id;
	JsonObject *object;
	g_autoptr(JsonNode) node = ark_mcp_message_new(&object);

	pending->func = func;
	pending->user_data = user_data;
	pending->call = call;
	g_hash_table_insert(self->pending, g_memdup2(&id, sizeof(id)), pending);
	json_object_set_int_member(object, "id", id);
	json_object_set_string_member(object, "method", method);
	json_object_set_object_member(object, "params", params);
	ark_mcp_session_send_node(self, ark_mcp_call_stream(call), node, FALSE);
}

/* cancels a call: its work stops (its cancel function unhooks it from whatever would have
 * answered it), it is answered no more, and it is freed */
static void
ark_mcp_call_cancel(ArkMcpCall *call)
{
	GHashTableIter iter;
	gpointer value;

	ark_mcp_call_detach(call);
	call->cancelled = TRUE;
	/* requests it made to the client are not waited for */
	g_hash_table_iter_init(&iter, call->session->pending);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (((ArkMcpPending *)value)->call == call)
			g_hash_table_iter_remove(&iter);
	}
	if (call->cancel_func != NULL)
		call->cancel_func(call, call->cancel_data);
	ark_mcp_call_free(call);
}

/* tasks -------------------------------------------------------------------------------------- */

static JsonObject *
ark_mcp_task_to_json(ArkMcpTask *task)
{
	JsonObject *object = json_object_new();
	g_autofree gchar *created = ark_mcp_format_time(task->created);
	g_autofree gchar *updated = ark_mcp_format_time(task->updated);

	json_object_set_string_member(object, "taskId", task->id);
	json_object_set_string_member(object, "status", task->status);
	if (task->status_message != NULL)
		json_object_set_string_member(object, "statusMessage", task->status_message);
	json_object_set_string_member(object, "createdAt", created);
	json_object_set_string_member(object, "lastUpdatedAt", updated);
	json_object_set_int_member(object, "ttl", task->ttl_ms);
	json_object_set_int_member(object, "pollInterval", ARK_MCP_TASK_POLL_MS);
	return object;
}

static gboolean
ark_mcp_task_is_terminal(ArkMcpTask *task)
{
	return g_strcmp0(task->status, "working") != 0 &&
	       g_strcmp0(task->status, "input_required") != 0;
}

static JsonObject *
ark_mcp_related_task_meta(ArkMcpTask *task)
{
	JsonObject *meta = json_object_new();
	JsonObject *related = json_object_new();

	json_object_set_string_member(related, "taskId", task->id);
	json_object_set_object_member(meta, "io.modelcontextprotocol/related-task", related);
	return meta;
}

/* answers one tasks/result call with what the task ended with */
static void
ark_mcp_task_answer(ArkMcpTask *task, ArkMcpCall *waiter)
{
	if (task->result != NULL) {
		JsonNode *result = json_node_copy(task->result);
		if (JSON_NODE_HOLDS_OBJECT(result))
			json_object_set_object_member(json_node_get_object(result), "_meta",
						      ark_mcp_related_task_meta(task));
		ark_mcp_call_return(waiter, result);
	} else if (task->error != NULL) {
		JsonObject *error = json_node_get_object(task->error);
		JsonNode *data = json_object_get_member(error, "data");
		ark_mcp_call_error(waiter, (gint)json_object_get_int_member_with_default(error, "code", ARK_MCP_INTERNAL_ERROR),
				   data != NULL ? json_node_copy(data) : NULL, "%s",
				   ark_mcp_get_string(error, "message") != NULL
				       ? ark_mcp_get_string(error, "message")
				       : "the task failed");
	} else {
		ark_mcp_call_error(waiter, ARK_MCP_INTERNAL_ERROR, NULL, "task %s was %s",
				   task->id, task->status);
	}
}

static void
ark_mcp_task_notify_status(ArkMcpTask *task)
{
	ark_mcp_session_notify(task->session, "notifications/tasks/status",
			       ark_mcp_task_to_json(task));
}

/* @error_message: a whole error response; its error object is kept */
static void
ark_mcp_task_finish(ArkMcpTask *task, const gchar *status, JsonNode *result, JsonNode *error)
{
	g_autoptr(GPtrArray) waiters = NULL;

	task->status = status;
	task->updated = g_get_real_time();
	if (result != NULL)
		task->result = json_node_copy(result);
	if (error != NULL && JSON_NODE_HOLDS_OBJECT(error)) {
		JsonNode *inner = json_object_get_member(json_node_get_object(error), "error");
		if (inner != NULL)
			task->error = json_node_copy(inner);
	}
	ark_mcp_task_notify_status(task);
	waiters = g_steal_pointer(&task->waiters);
	task->waiters = g_ptr_array_new();
	for (guint i = 0; i < waiters->len; i++)
		ark_mcp_task_answer(task, g_ptr_array_index(waiters, i));
}

static void
ark_mcp_task_free(ArkMcpTask *task)
{
	/* calls still waiting are dropped with their session */
	g_ptr_array_unref(task->waiters);
	g_clear_pointer(&task->result, json_node_unref);
	g_clear_pointer(&task->error, json_node_unref);
	g_free(task->status_message);
	g_free(task->id);
	g_free(task);
}

static void
ark_mcp_task_waiter_cancel_cb(gpointer call, gpointer user_data)
{
	ArkMcpTask *task = user_data;

	g_ptr_array_remove(task->waiters, call);
}

void
ark_mcp_server_sweep(ArkMcpServer *server, gint64 now_ms)
{
	for (guint i = 0; i < server->sessions->len; i++) {
		ArkMcpSession *session = g_ptr_array_index(server->sessions, i);
		for (guint j = session->task_order->len; j > 0; j--) {
			ArkMcpTask *task = g_ptr_array_index(session->task_order, j - 1);
			if (task->ttl_ms <= 0 || task->created / 1000 + task->ttl_ms > now_ms ||
			    task->waiters->len > 0)
				continue;
			/* expired: the work stops too */
			if (task->call != NULL) {
				ArkMcpCall *work = task->call;
				task->call = NULL;
				work->task = NULL;
				ark_mcp_call_cancel(work);
			}
			g_ptr_array_remove_index(session->task_order, j - 1);
			g_hash_table_remove(session->tasks, task->id);
		}
	}
}

/* sessions ----------------------------------------------------------------------------------- */

ArkMcpSession *
ark_mcp_session_new(ArkMcpServer *server, const ArkMcpTransportFuncs *funcs, gpointer user_data,
		    const gchar *actor, const gchar *origin, gboolean admin)
{
	ArkMcpSession *self = g_new0(ArkMcpSession, 1);

	self->admin = admin;
	self->ref = 1;
	self->server = server;
	self->funcs = *funcs;
	self->user_data = user_data;
	self->actor = g_strdup(actor);
	self->origin = g_strdup(origin);
	self->log_level = ARK_MCP_DEFAULT_LEVEL;
	self->subscriptions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	self->tasks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    (GDestroyNotify)ark_mcp_task_free);
	self->task_order = g_ptr_array_new();
	g_ptr_array_add(server->sessions, self);
	return self;
}

ArkMcpSession *
ark_mcp_session_ref(ArkMcpSession *self)
{
	self->ref++;
	return self;
}

void
ark_mcp_session_unref(ArkMcpSession *self)
{
	if (self == NULL || --self->ref > 0)
		return;
	g_hash_table_unref(self->subscriptions);
	g_hash_table_unref(self->calls);
	g_hash_table_unref(self->pending);
	g_ptr_array_unref(self->task_order);
	g_hash_table_unref(self->tasks);
	g_free(self->actor);
	g_free(self->origin);
	g_free(self->agent_id);
	g_free(self->version);
	g_free(self);
}

void
ark_mcp_session_close(ArkMcpSession *self)
{
	g_autoptr(GList) calls = NULL;
	GHashTableIter iter;
	gpointer value;

	if (self->closed)
		return;
	self->closed = TRUE;
	g_ptr_array_remove(self->server->sessions, self);
	g_hash_table_remove_all(self->pending);
	/* the work of tasks stops with the session that owns them */
	g_hash_table_iter_init(&iter, self->tasks);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkMcpTask *task = value;
		g_ptr_array_set_size(task->waiters, 0);
		if (task->call != NULL) {
			ArkMcpCall *work = task->call;
			task->call = NULL;
			work->task = NULL;
			ark_mcp_call_cancel(work);
		}
	}
	calls = g_hash_table_get_values(self->calls);
	for (GList *l = calls; l != NULL; l = l->next)
		ark_mcp_call_cancel(l->data);
	/* the calls are freed when their work ends (a cancelled call answers nothing) */
}

void
ark_mcp_session_set_agent(ArkMcpSession *self, const gchar *agent_id)
{
	g_free(self->agent_id);
	self->agent_id = g_strdup(agent_id);
}

const gchar *
ark_mcp_session_get_agent(ArkMcpSession *self)
{
	return self->agent_id;
}

gboolean
ark_mcp_session_is_initialized(ArkMcpSession *self)
{
	return self->initialized;
}

const gchar *
ark_mcp_session_get_version(ArkMcpSession *self)
{
	return self->version;
}

void
ark_mcp_session_forget_stream(ArkMcpSession *self, gpointer stream)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->calls);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkMcpCall *call = value;
		if (call->stream == stream)
			call->stream = NULL;
	}
}

/* the methods -------------------------------------------------------------------------------- */

static JsonNode *
ark_mcp_object_node(JsonObject *object)
{
	JsonNode *node = json_node_init_object(json_node_alloc(), object);
	json_object_unref(object);
	return node;
}

static void
ark_mcp_return_empty(ArkMcpCall *call)
{
	ark_mcp_call_return(call, ark_mcp_object_node(json_object_new()));
}

/* an opaque cursor: "o<offset>" or "r<run id>" in base64 */
static gchar *
ark_mcp_cursor_encode(const gchar *kind, const gchar *value)
{
	g_autofree gchar *raw = g_strdup_printf("%s%s", kind, value);
	return g_base64_encode((const guchar *)raw, strlen(raw));
}

static gboolean
ark_mcp_cursor_decode(JsonObject *params, gchar *out_kind, gchar **out_value,
		      gboolean *out_present)
{
	JsonNode *node = params != NULL ? json_object_get_member(params, "cursor") : NULL;
	g_autofree guchar *raw = NULL;
	gsize len = 0;
	const gchar *text;

	*out_present = FALSE;
	*out_value = NULL;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	*out_present = TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return FALSE;
	text = json_node_get_string(node);
	if (text[0] == '\0' || strlen(text) > 512)
		return FALSE;
	for (const gchar *p = text; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=')
			return FALSE;
	}
	raw = g_base64_decode(text, &len);
	if (raw == NULL || len < 2 || (raw[0] != 'o' && raw[0] != 'r') ||
	    memchr(raw, '\0', len) != NULL || !g_utf8_validate((const gchar *)raw, (gssize)len, NULL))
		return FALSE;
	*out_kind = (gchar)raw[0];
	*out_value = g_strndup((const gchar *)raw + 1, len - 1);
	return TRUE;
}

/* answers a list method with a page of @all under @member */
static void
ark_mcp_return_page(ArkMcpCall *call, JsonObject *params, JsonArray *all, const gchar *member)
{
	g_autofree gchar *value = NULL;
	JsonObject *result;
	JsonArray *page;
	guint64 offset = 0;
	gboolean present;
	gchar kind = 0;
	guint len = json_array_get_length(all);

	if (!ark_mcp_cursor_decode(params, &kind, &value, &present) ||
	    (present && (kind != 'o' || !g_ascii_string_to_unsigned(value, 10, 1, len, &offset,
								    NULL)))) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "invalid cursor: pass nextCursor from the previous page");
		return;
	}
	result = json_object_new();
	page = json_array_new();
	for (guint i = (guint)offset; i < len && i < offset + ARK_MCP_PAGE_SIZE; i++)
		json_array_add_element(page, json_node_copy(json_array_get_element(all, i)));
	json_object_set_array_member(result, member, page);
	if (offset + ARK_MCP_PAGE_SIZE < len) {
		g_autofree gchar *next = g_strdup_printf("%u", (guint)(offset + ARK_MCP_PAGE_SIZE));
		g_autofree gchar *cursor = ark_mcp_cursor_encode("o", next);
		json_object_set_string_member(result, "nextCursor", cursor);
	}
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

/* an agent's session has its tools and logging, nothing else */
static JsonObject *
ark_mcp_agent_capabilities(void)
{
	JsonObject *caps = json_object_new();
	JsonObject *tools = json_object_new();

	json_object_set_boolean_member(tools, "listChanged", FALSE);
	json_object_set_object_member(caps, "tools", tools);
	json_object_set_object_member(caps, "logging", json_object_new());
	return caps;
}

static JsonObject *
ark_mcp_capabilities(void)
{
	JsonObject *caps = json_object_new();
	JsonObject *tools = json_object_new();
	JsonObject *resources = json_object_new();
	JsonObject *prompts = json_object_new();
	JsonObject *tasks = json_object_new();
	JsonObject *requests = json_object_new();
	JsonObject *tools_req = json_object_new();

	json_object_set_boolean_member(tools, "listChanged", TRUE);
	json_object_set_object_member(caps, "tools", tools);
	json_object_set_boolean_member(resources, "subscribe", TRUE);
	json_object_set_boolean_member(resources, "listChanged", TRUE);
	json_object_set_object_member(caps, "resources", resources);
	json_object_set_boolean_member(prompts, "listChanged", TRUE);
	json_object_set_object_member(caps, "prompts", prompts);
	json_object_set_object_member(caps, "logging", json_object_new());
	json_object_set_object_member(caps, "completions", json_object_new());
	json_object_set_object_member(tasks, "list", json_object_new());
	json_object_set_object_member(tasks, "cancel", json_object_new());
	json_object_set_object_member(tools_req, "call", json_object_new());
	json_object_set_object_member(requests, "tools", tools_req);
	json_object_set_object_member(tasks, "requests", requests);
	json_object_set_object_member(caps, "tasks", tasks);
	return caps;
}

static void
ark_mcp_initialize(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpSession *self = call->session;
	const gchar *requested = ark_mcp_get_string(params, "protocolVersion");
	JsonObject *result;
	JsonObject *info;

	if (self->initialized) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_REQUEST, NULL,
				   "the session is already initialized");
		return;
	}
	if (params == NULL || requested == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "initialize needs params.protocolVersion (a string)");
		return;
	}
	/* an unknown version gets our latest: the client decides whether it can speak it */
	self->version = g_strdup(ark_mcp_version_supported(requested) ? requested
								      : ARK_MCP_LATEST_VERSION);
	/* ready as soon as this is answered: over HTTP, notifications/initialized and the first
	 * request race each other */
	self->initialized = TRUE;

	result = json_object_new();
	json_object_set_string_member(result, "protocolVersion", self->version);
	json_object_set_object_member(result, "capabilities",
				      self->agent_id != NULL ? ark_mcp_agent_capabilities()
							     : ark_mcp_capabilities());
	info = json_object_new();
	json_object_set_string_member(info, "name", "arkitect");
	json_object_set_string_member(info, "title", "Arkitect");
	json_object_set_string_member(info, "version", PACKAGE_VERSION);
	json_object_set_string_member(info, "description",
				      "Orchestration daemon for task DAGs and AI agents");
	json_object_set_object_member(result, "serverInfo", info);
	if (self->agent_id != NULL) {
		g_autofree gchar *text = g_strdup_printf(
		    "You are Arkitect agent %s. Work loop: agent_claim waits for an assignment "
		    "(call it again when it returns none); work on its input; call agent_heartbeat "
		    "with assignment_id and fence (and progress) before lease_expires_at; finish "
		    "with agent_complete (the result as JSON), agent_fail (a reason) or "
		    "agent_release (give it back). A conflict error means the assignment is no "
		    "longer yours: drop it and claim again.",
		    self->agent_id);
		json_object_set_string_member(result, "instructions", text);
		ark_mcp_call_return(call, ark_mcp_object_node(result));
		return;
	}
	json_object_set_string_member(
	    result, "instructions",
	    "Arkitect runs workflows: DAGs of tasks (processes, functions, agents). Use "
	    "submit_workflow to start one (it returns a run id; set wait to follow it), get_run "
	    "and list_runs to see state, read_task_log for output, explain_task to learn why a "
	    "task is not running, cancel_run/cancel_task/retry_task to change work. Resources "
	    "arkitect://runs/{run_id} and .../tasks/{task_id} can be subscribed to.");
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

static JsonNode *
ark_mcp_tool_to_json(const ArkMcpTool *tool)
{
	JsonObject *object = json_object_new();
	JsonObject *annotations = json_object_new();
	g_autoptr(JsonNode) input = ark_mcp_parse_json(tool->input_schema);

	g_assert(input != NULL);
	json_object_set_string_member(object, "name", tool->name);
	if (tool->title != NULL)
		json_object_set_string_member(object, "title", tool->title);
	json_object_set_string_member(object, "description", tool->description);
	json_object_set_member(object, "inputSchema", json_node_copy(input));
	if (tool->output_schema != NULL) {
		g_autoptr(JsonNode) output = ark_mcp_parse_json(tool->output_schema);
		g_assert(output != NULL);
		json_object_set_member(object, "outputSchema", json_node_copy(output));
	}
	if (tool->title != NULL)
		json_object_set_string_member(annotations, "title", tool->title);
	json_object_set_boolean_member(annotations, "readOnlyHint",
				       (tool->flags & ARK_MCP_READ_ONLY) != 0);
	json_object_set_boolean_member(annotations, "destructiveHint",
				       (tool->flags & ARK_MCP_DESTRUCTIVE) != 0);
	json_object_set_boolean_member(annotations, "idempotentHint",
				       (tool->flags & ARK_MCP_IDEMPOTENT) != 0);
	json_object_set_boolean_member(annotations, "openWorldHint",
				       (tool->flags & ARK_MCP_OPEN_WORLD) != 0);
	json_object_set_object_member(object, "annotations", annotations);
	if (tool->flags & ARK_MCP_TASK_OPTIONAL) {
		JsonObject *execution = json_object_new();
		json_object_set_string_member(execution, "taskSupport", "optional");
		json_object_set_object_member(object, "execution", execution);
	}
	return ark_mcp_object_node(object);
}

static void
ark_mcp_tools_list(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpServer *server = call->session->server;
	g_autoptr(JsonArray) all = json_array_new();

	for (guint i = 0; i < server->tools->len; i++) {
		const ArkMcpTool *tool = g_ptr_array_index(server->tools, i);
		/* an agent's session lists what it may call */
		if (call->session->agent_id != NULL && (tool->flags & ARK_MCP_AGENT) == 0)
			continue;
		json_array_add_element(all, ark_mcp_tool_to_json(tool));
	}
	ark_mcp_return_page(call, params, all, "tools");
}

static void
ark_mcp_tools_call(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpSession *self = call->session;
	const gchar *name = ark_mcp_get_string(params, "name");
	JsonNode *arguments = params != NULL ? json_object_get_member(params, "arguments") : NULL;
	JsonNode *task_node = params != NULL ? json_object_get_member(params, "task") : NULL;
	g_autoptr(JsonObject) args = NULL;
	const ArkMcpTool *tool;
	ArkMcpTask *task;
	ArkMcpCall *work;
	JsonObject *result;
	JsonObject *meta;

	if (name == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "tools/call needs params.name (a string)");
		return;
	}
	tool = g_hash_table_lookup(self->server->tool_index, name);
	if (tool == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "Unknown tool: %s (tools/list names them)", name);
		return;
	}
	if (arguments != NULL && !JSON_NODE_HOLDS_NULL(arguments) &&
	    !JSON_NODE_HOLDS_OBJECT(arguments)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "tools/call params.arguments must be an object");
		return;
	}
	args = arguments != NULL && JSON_NODE_HOLDS_OBJECT(arguments)
		   ? json_object_ref(json_node_get_object(arguments))
		   : json_object_new();
	/* an agent's token opens its own tools, nothing else (they check the agent) */
	if (self->agent_id != NULL && (tool->flags & ARK_MCP_AGENT) == 0) {
		ark_mcp_call_tool_error(call,
					"this session was opened with the token of agent %s: it may "
					"call only the agent tools (agent_claim, agent_heartbeat, "
					"agent_complete, agent_fail, agent_release, "
					"agent_assignments), not %s",
					self->agent_id, name);
		return;
	}
	/* the scopes of the HTTP API's tokens hold here too */
	if (self->agent_id == NULL && !self->admin && (tool->flags & ARK_MCP_READ_ONLY) == 0) {
		ark_mcp_call_tool_error(call,
					"token '%s' has the read scope: %s changes things and needs "
					"an admin token",
					self->actor != NULL ? self->actor : "(none)", name);
		return;
	}
	if (task_node == NULL || JSON_NODE_HOLDS_NULL(task_node)) {
		tool->call(call, args);
		return;
	}

	/* a task-augmented call: answered at once with the task, the work goes on */
	if (!JSON_NODE_HOLDS_OBJECT(task_node)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "tools/call params.task must be an object");
		return;
	}
	if ((tool->flags & ARK_MCP_TASK_OPTIONAL) == 0) {
		ark_mcp_call_error(call, ARK_MCP_METHOD_NOT_FOUND, NULL,
				   "tool %s does not support task-augmented calls "
				   "(execution.taskSupport is forbidden)",
				   name);
		return;
	}
	if (self->task_order->len >= self->server->config.max_tasks_per_session) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_REQUEST, NULL,
				   "this session has %u tasks, the most it may keep "
				   "(max-tasks-per-session); let some expire first",
				   self->task_order->len);
		return;
	}
	task = g_new0(ArkMcpTask, 1);
	task->id = ark_mcp_random_hex(16);
	task->status = "working";
	task->created = task->updated = g_get_real_time();
	task->ttl_ms = self->server->config.task_ttl_max;
	{
		JsonNode *ttl = json_object_get_member(json_node_get_object(task_node), "ttl");
		if (ttl != NULL && JSON_NODE_HOLDS_VALUE(ttl) &&
		    json_node_get_value_type(ttl) == G_TYPE_INT64 && json_node_get_int(ttl) > 0)
			task->ttl_ms = MIN(json_node_get_int(ttl), self->server->config.task_ttl_max);
	}
	task->waiters = g_ptr_array_new();
	task->session = self;
	g_hash_table_insert(self->tasks, task->id, task);
	g_ptr_array_add(self->task_order, task);

	work = g_new0(ArkMcpCall, 1);
	work->session = ark_mcp_session_ref(self);
	work->method = g_strdup("tools/call");
	work->task = task;
	if (call->progress_token != NULL)
		work->progress_token = json_node_copy(call->progress_token);
	task->call = work;

	result = json_object_new();
	json_object_set_object_member(result, "task", ark_mcp_task_to_json(task));
	meta = json_object_new();
	json_object_set_string_member(meta, "io.modelcontextprotocol/model-immediate-response",
				      "The work runs as an MCP task; poll tasks/get or wait with "
				      "tasks/result.");
	json_object_set_object_member(result, "_meta", meta);
	ark_mcp_call_return(call, ark_mcp_object_node(result));
	tool->call(work, args);
}

static ArkMcpTask *
ark_mcp_task_lookup(ArkMcpCall *call, JsonObject *params)
{
	const gchar *id = ark_mcp_get_string(params, "taskId");
	ArkMcpTask *task = id != NULL ? g_hash_table_lookup(call->session->tasks, id) : NULL;

	if (task == NULL)
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "there is no task '%s' in this session (it may have expired)",
				   id != NULL ? id : "(taskId missing)");
	return task;
}

static void
ark_mcp_tasks_get(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpTask *task = ark_mcp_task_lookup(call, params);

	if (task != NULL)
		ark_mcp_call_return(call, ark_mcp_object_node(ark_mcp_task_to_json(task)));
}

static void
ark_mcp_tasks_result(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpTask *task = ark_mcp_task_lookup(call, params);

	if (task == NULL)
		return;
	if (ark_mcp_task_is_terminal(task)) {
		ark_mcp_task_answer(task, call);
		return;
	}
	/* blocks until the task ends */
	g_ptr_array_add(task->waiters, call);
	ark_mcp_call_set_cancel(call, ark_mcp_task_waiter_cancel_cb, task, NULL);
}

static void
ark_mcp_tasks_list(ArkMcpCall *call, JsonObject *params)
{
	g_autoptr(JsonArray) all = json_array_new();

	for (guint i = 0; i < call->session->task_order->len; i++)
		json_array_add_object_element(
		    all, ark_mcp_task_to_json(g_ptr_array_index(call->session->task_order, i)));
	ark_mcp_return_page(call, params, all, "tasks");
}

static void
ark_mcp_tasks_cancel(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpTask *task = ark_mcp_task_lookup(call, params);

	if (task == NULL)
		return;
	if (ark_mcp_task_is_terminal(task)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "Cannot cancel task in terminal status: %s", task->status);
		return;
	}
	if (task->call != NULL) {
		ArkMcpCall *work = task->call;
		task->call = NULL;
		work->task = NULL;
		ark_mcp_call_cancel(work);
	}
	task->status_message = g_strdup("cancelled by the client");
	ark_mcp_task_finish(task, "cancelled", NULL, NULL);
	ark_mcp_call_return(call, ark_mcp_object_node(ark_mcp_task_to_json(task)));
}

static void
ark_mcp_logging_set_level(ArkMcpCall *call, JsonObject *params)
{
	const gchar *level = ark_mcp_get_string(params, "level");
	gint index = ark_mcp_level_index(level);

	if (index < 0) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "level must be one of debug, info, notice, warning, error, "
				   "critical, alert, emergency");
		return;
	}
	call->session->log_level = index;
	ark_mcp_return_empty(call);
}

static void
ark_mcp_resources_list(ArkMcpCall *call, JsonObject *params)
{
	ArkMcpServer *server = call->session->server;
	g_autofree gchar *value = NULL;
	g_autofree gchar *next = NULL;
	JsonObject *result;
	JsonArray *resources = json_array_new();
	gboolean present;
	gchar kind = 0;

	if (!ark_mcp_cursor_decode(params, &kind, &value, &present) || (present && kind != 'r')) {
		json_array_unref(resources);
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "invalid cursor: pass nextCursor from the previous page");
		return;
	}
	/* the fixed resources come first, then the runs, a page at a time */
	if (!present) {
		ark_mcp_resources_list_static(server, resources);
		if (server->fixtures)
			ark_mcp_fixtures_resources(resources, NULL);
	}
	ark_mcp_resources_list_runs(server, value, ARK_MCP_PAGE_SIZE, resources, &next);
	result = json_object_new();
	json_object_set_array_member(result, "resources", resources);
	if (next != NULL) {
		g_autofree gchar *cursor = ark_mcp_cursor_encode("r", next);
		json_object_set_string_member(result, "nextCursor", cursor);
	}
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

static void
ark_mcp_resources_templates(ArkMcpCall *call, JsonObject *params)
{
	g_autoptr(JsonArray) all = json_array_new();

	ark_mcp_resources_list_templates(call->session->server, all);
	if (call->session->server->fixtures)
		ark_mcp_fixtures_resources(NULL, all);
	ark_mcp_return_page(call, params, all, "resourceTemplates");
}

static const gchar *
ark_mcp_uri_param(ArkMcpCall *call, JsonObject *params)
{
	const gchar *uri = ark_mcp_get_string(params, "uri");

	if (uri == NULL || uri[0] == '\0' || strlen(uri) > 2048 || strchr(uri, ':') == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "params.uri must be a URI (e.g. arkitect://runs/RUN_ID)");
		return NULL;
	}
	return uri;
}

static void
ark_mcp_resources_read_method(ArkMcpCall *call, JsonObject *params)
{
	const gchar *uri = ark_mcp_uri_param(call, params);
	g_autofree gchar *message = NULL;
	JsonArray *contents = NULL;
	JsonObject *result;
	gint code = 0;

	if (uri == NULL)
		return;
	if (call->session->server->fixtures)
		contents = ark_mcp_fixtures_read(uri);
	if (contents == NULL)
		contents = ark_mcp_resources_read(call->session->server, uri, &code, &message);
	if (contents == NULL) {
		JsonObject *data = json_object_new();
		json_object_set_string_member(data, "uri", uri);
		ark_mcp_call_error(call, code, ark_mcp_object_node(data), "%s", message);
		return;
	}
	result = json_object_new();
	json_object_set_array_member(result, "contents", contents);
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

static void
ark_mcp_resources_subscribe(ArkMcpCall *call, JsonObject *params)
{
	const gchar *uri = ark_mcp_uri_param(call, params);

	if (uri == NULL)
		return;
	if (g_hash_table_size(call->session->subscriptions) >= 1024 &&
	    !g_hash_table_contains(call->session->subscriptions, uri)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "a session may subscribe to 1024 resources at most");
		return;
	}
	g_hash_table_add(call->session->subscriptions, g_strdup(uri));
	ark_mcp_return_empty(call);
}

static void
ark_mcp_resources_unsubscribe(ArkMcpCall *call, JsonObject *params)
{
	const gchar *uri = ark_mcp_uri_param(call, params);

	if (uri == NULL)
		return;
	g_hash_table_remove(call->session->subscriptions, uri);
	ark_mcp_return_empty(call);
}

static void
ark_mcp_prompts_list_method(ArkMcpCall *call, JsonObject *params)
{
	g_autoptr(JsonArray) all = json_array_new();

	ark_mcp_prompts_list(call->session->server, all);
	if (call->session->server->fixtures)
		ark_mcp_fixtures_prompts(all);
	ark_mcp_return_page(call, params, all, "prompts");
}

static void
ark_mcp_prompts_get_method(ArkMcpCall *call, JsonObject *params)
{
	const gchar *name = ark_mcp_get_string(params, "name");
	JsonNode *arguments = params != NULL ? json_object_get_member(params, "arguments") : NULL;
	JsonObject *args = NULL;
	g_autofree gchar *message = NULL;
	JsonObject *result = NULL;
	gboolean found = FALSE;

	if (name == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "prompts/get needs params.name (a string)");
		return;
	}
	if (arguments != NULL && !JSON_NODE_HOLDS_NULL(arguments)) {
		GList *members;
		if (!JSON_NODE_HOLDS_OBJECT(arguments)) {
			ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
					   "params.arguments must be an object of strings");
			return;
		}
		args = json_node_get_object(arguments);
		members = json_object_get_members(args);
		for (GList *l = members; l != NULL; l = l->next) {
			if (ark_mcp_get_string(args, l->data) == NULL) {
				ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
						   "argument '%s' must be a string",
						   (const gchar *)l->data);
				g_list_free(members);
				return;
			}
		}
		g_list_free(members);
	}
	if (call->session->server->fixtures)
		result = ark_mcp_fixtures_prompt_get(name, args, &message, &found);
	if (!found)
		result = ark_mcp_prompts_get(call->session->server, name, args, &message);
	if (result == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL, "%s", message);
		return;
	}
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

static void
ark_mcp_complete_method(ArkMcpCall *call, JsonObject *params)
{
	JsonNode *ref = params != NULL ? json_object_get_member(params, "ref") : NULL;
	JsonNode *argument = params != NULL ? json_object_get_member(params, "argument") : NULL;
	JsonNode *context = params != NULL ? json_object_get_member(params, "context") : NULL;
	JsonObject *context_args = NULL;
	g_autofree gchar *message = NULL;
	JsonArray *values;
	JsonObject *completion;
	JsonObject *result;
	const gchar *arg_name;
	const gchar *arg_value;

	if (ref == NULL || !JSON_NODE_HOLDS_OBJECT(ref) || argument == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(argument)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "completion/complete needs params.ref and params.argument "
				   "(objects)");
		return;
	}
	arg_name = ark_mcp_get_string(json_node_get_object(argument), "name");
	arg_value = ark_mcp_get_string(json_node_get_object(argument), "value");
	if (arg_name == NULL || arg_value == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL,
				   "params.argument needs name and value (strings)");
		return;
	}
	if (context != NULL && JSON_NODE_HOLDS_OBJECT(context)) {
		JsonNode *a = json_object_get_member(json_node_get_object(context), "arguments");
		if (a != NULL && JSON_NODE_HOLDS_OBJECT(a))
			context_args = json_node_get_object(a);
	}
	values = ark_mcp_complete(call->session->server, json_node_get_object(ref), arg_name,
				  arg_value, context_args, &message);
	if (values == NULL) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_PARAMS, NULL, "%s", message);
		return;
	}
	completion = json_object_new();
	json_object_set_int_member(completion, "total", json_array_get_length(values));
	json_object_set_boolean_member(completion, "hasMore", FALSE);
	json_object_set_array_member(completion, "values", values);
	result = json_object_new();
	json_object_set_object_member(result, "completion", completion);
	ark_mcp_call_return(call, ark_mcp_object_node(result));
}

static void
ark_mcp_ping(ArkMcpCall *call, JsonObject *params)
{
	ark_mcp_return_empty(call);
}

typedef void (*ArkMcpMethodFunc)(ArkMcpCall *call, JsonObject *params);

static const struct {
	const gchar *name;
	ArkMcpMethodFunc func;
} ark_mcp_methods[] = {
    {"initialize", ark_mcp_initialize},
    {"ping", ark_mcp_ping},
    {"tools/list", ark_mcp_tools_list},
    {"tools/call", ark_mcp_tools_call},
    {"resources/list", ark_mcp_resources_list},
    {"resources/templates/list", ark_mcp_resources_templates},
    {"resources/read", ark_mcp_resources_read_method},
    {"resources/subscribe", ark_mcp_resources_subscribe},
    {"resources/unsubscribe", ark_mcp_resources_unsubscribe},
    {"prompts/list", ark_mcp_prompts_list_method},
    {"prompts/get", ark_mcp_prompts_get_method},
    {"completion/complete", ark_mcp_complete_method},
    {"logging/setLevel", ark_mcp_logging_set_level},
    {"tasks/get", ark_mcp_tasks_get},
    {"tasks/result", ark_mcp_tasks_result},
    {"tasks/list", ark_mcp_tasks_list},
    {"tasks/cancel", ark_mcp_tasks_cancel},
};

/* receiving ---------------------------------------------------------------------------------- */

static gchar *
ark_mcp_invalid(gint code, const gchar *message)
{
	g_autoptr(JsonNode) node = ark_mcp_error_node(NULL, code, message, NULL);
	return ark_mcp_node_to_string(node);
}

static gboolean
ark_mcp_valid_id(JsonNode *id)
{
	GType type;

	if (!JSON_NODE_HOLDS_VALUE(id))
		return FALSE;
	type = json_node_get_value_type(id);
	return type == G_TYPE_STRING || type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* a response to one of our requests */
static ArkMcpReceived
ark_mcp_session_receive_response(ArkMcpSession *self, JsonObject *message, JsonNode *id)
{
	ArkMcpPending *pending;
	JsonNode *result = json_object_get_member(message, "result");
	JsonNode *error = json_object_get_member(message, "error");
	gint64 key;

	/* ours are integers; anything else answers nothing we asked */
	if (!JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_INT64)
		return ARK_MCP_RECEIVED_ACCEPTED;
	key = json_node_get_int(id);
	pending = g_hash_table_lookup(self->pending, &key);
	if (pending == NULL)
		return ARK_MCP_RECEIVED_ACCEPTED;
	{
		ArkMcpPending p = *pending;
		g_hash_table_remove(self->pending, &key);
		p.func(p.call, result, error, p.user_data);
	}
	return ARK_MCP_RECEIVED_ACCEPTED;
}

static void
ark_mcp_session_receive_notification(ArkMcpSession *self, const gchar *method, JsonObject *params)
{
	if (g_strcmp0(method, "notifications/cancelled") == 0) {
		JsonNode *request_id =
		    params != NULL ? json_object_get_member(params, "requestId") : NULL;
		g_autofree gchar *key = NULL;
		ArkMcpCall *call;
		gpointer stream;

		if (request_id == NULL || !ark_mcp_valid_id(request_id))
			return;
		key = ark_mcp_id_key(request_id);
		call = g_hash_table_lookup(self->calls, key);
		/* initialize can not be cancelled; unknown or finished ids are ignored */
		if (call == NULL || g_strcmp0(call->method, "initialize") == 0)
			return;
		stream = call->stream;
		ark_mcp_call_cancel(call);
		/* the stream of the call ends without an answer */
		if (!self->closed)
			self->funcs.send(self, stream, NULL, 0, TRUE, self->user_data);
		return;
	}
	/* notifications/initialized, roots/list_changed, progress of our requests: nothing to do */
}

ArkMcpReceived
ark_mcp_session_receive(ArkMcpSession *self, const gchar *data, gsize len, gpointer stream,
			gchar **out_error)
{
	g_autofree gchar *text = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(ArkMcpSession) hold = ark_mcp_session_ref(self);
	JsonObject *message;
	JsonNode *id;
	JsonNode *params_node;
	JsonObject *params = NULL;
	const gchar *method;
	const gchar *version;
	ArkMcpCall *call;
	ArkMcpMethodFunc func = NULL;

	*out_error = NULL;
	if (len > self->server->config.max_message_size) {
		*out_error = ark_mcp_invalid(ARK_MCP_INVALID_REQUEST,
					     "the message is larger than max-message-size");
		return ARK_MCP_RECEIVED_INVALID;
	}
	text = g_strndup(data, len);
	if (strlen(text) != len || !g_utf8_validate(text, (gssize)len, NULL)) {
		*out_error = ark_mcp_invalid(ARK_MCP_PARSE_ERROR,
					     "Parse error: the message is not UTF-8 text");
		return ARK_MCP_RECEIVED_INVALID;
	}
	root = ark_mcp_parse_json(text);
	if (root == NULL) {
		*out_error = ark_mcp_invalid(ARK_MCP_PARSE_ERROR,
					     "Parse error: the message is not one JSON value "
					     "(RFC 8259, nesting at most 64)");
		return ARK_MCP_RECEIVED_INVALID;
	}
	if (JSON_NODE_HOLDS_ARRAY(root)) {
		*out_error = ark_mcp_invalid(ARK_MCP_INVALID_REQUEST,
					     "Invalid Request: batches are not supported (MCP "
					     "2025-06-18 removed JSON-RPC batching); send one "
					     "message at a time");
		return ARK_MCP_RECEIVED_INVALID;
	}
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		*out_error = ark_mcp_invalid(ARK_MCP_INVALID_REQUEST,
					     "Invalid Request: a message is a JSON object");
		return ARK_MCP_RECEIVED_INVALID;
	}
	message = json_node_get_object(root);
	version = ark_mcp_get_string(message, "jsonrpc");
	id = json_object_get_member(message, "id");
	method = ark_mcp_get_string(message, "method");
	if (g_strcmp0(version, "2.0") != 0 || (id != NULL && !ark_mcp_valid_id(id)) ||
	    (json_object_has_member(message, "method") && method == NULL)) {
		g_autoptr(JsonNode) node = ark_mcp_error_node(
		    id != NULL && ark_mcp_valid_id(id) ? id : NULL, ARK_MCP_INVALID_REQUEST,
		    "Invalid Request: jsonrpc must be \"2.0\", id a string or a number, method a "
		    "string",
		    NULL);
		*out_error = ark_mcp_node_to_string(node);
		return ARK_MCP_RECEIVED_INVALID;
	}
	if (method == NULL) {
		/* a response to a request of ours */
		if (id == NULL || (!json_object_has_member(message, "result") &&
				   !json_object_has_member(message, "error"))) {
			*out_error = ark_mcp_invalid(ARK_MCP_INVALID_REQUEST,
						     "Invalid Request: no method, and not a "
						     "response");
			return ARK_MCP_RECEIVED_INVALID;
		}
		return ark_mcp_session_receive_response(self, message, id);
	}
	params_node = json_object_get_member(message, "params");
	if (params_node != NULL && !JSON_NODE_HOLDS_NULL(params_node)) {
		if (!JSON_NODE_HOLDS_OBJECT(params_node)) {
			if (id == NULL)
				return ARK_MCP_RECEIVED_ACCEPTED;
			{
				g_autoptr(JsonNode) node =
				    ark_mcp_error_node(id, ARK_MCP_INVALID_PARAMS,
						       "Invalid params: params must be an object",
						       NULL);
				ark_mcp_session_send_node(self, stream, node, TRUE);
			}
			return ARK_MCP_RECEIVED_REQUEST;
		}
		params = json_node_get_object(params_node);
	}
	if (id == NULL) {
		if (self->initialized)
			ark_mcp_session_receive_notification(self, method, params);
		return ARK_MCP_RECEIVED_ACCEPTED;
	}

	for (guint i = 0; i < G_N_ELEMENTS(ark_mcp_methods); i++) {
		if (g_strcmp0(ark_mcp_methods[i].name, method) == 0)
			func = ark_mcp_methods[i].func;
	}
	call = g_new0(ArkMcpCall, 1);
	call->session = ark_mcp_session_ref(self);
	call->id = json_node_copy(id);
	call->key = ark_mcp_id_key(id);
	call->method = g_strdup(method);
	call->stream = stream;
	call->last_progress = -1;
	if (params != NULL) {
		JsonNode *meta = json_object_get_member(params, "_meta");
		JsonNode *token = meta != NULL && JSON_NODE_HOLDS_OBJECT(meta)
				      ? json_object_get_member(json_node_get_object(meta),
							       "progressToken")
				      : NULL;
		if (token != NULL && ark_mcp_valid_id(token))
			call->progress_token = json_node_copy(token);
	}
	if (func == NULL) {
		ark_mcp_call_error(call, ARK_MCP_METHOD_NOT_FOUND, NULL, "Method not found: %s",
				   method);
		return ARK_MCP_RECEIVED_REQUEST;
	}
	if (!self->initialized && func != ark_mcp_initialize && func != ark_mcp_ping) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_REQUEST, NULL,
				   "the session is not initialized: send initialize first");
		return ARK_MCP_RECEIVED_REQUEST;
	}
	/* an agent's session declares tools and logging only: the rest is not there for it */
	if (self->agent_id != NULL &&
	    (g_str_has_prefix(method, "resources/") || g_str_has_prefix(method, "prompts/") ||
	     g_str_has_prefix(method, "completion/"))) {
		ark_mcp_call_error(call, ARK_MCP_METHOD_NOT_FOUND, NULL,
				   "Method not found: %s is not available to a session opened with "
				   "an agent's token (it has the agent tools only)",
				   method);
		return ARK_MCP_RECEIVED_REQUEST;
	}
	if (g_hash_table_contains(self->calls, call->key)) {
		ark_mcp_call_error(call, ARK_MCP_INVALID_REQUEST, NULL,
				   "request id %s is already in use by a request being answered",
				   call->key + 2);
		return ARK_MCP_RECEIVED_REQUEST;
	}
	g_hash_table_insert(self->calls, g_strdup(call->key), call);
	func(call, params);
	return ARK_MCP_RECEIVED_REQUEST;
}

/* engine events ------------------------------------------------------------------------------ */

static void
ark_mcp_session_updated(ArkMcpSession *self, const gchar *uri)
{
	JsonObject *params;

	if (!g_hash_table_contains(self->subscriptions, uri))
		return;
	params = json_object_new();
	json_object_set_string_member(params, "uri", uri);
	ark_mcp_session_notify(self, "notifications/resources/updated", params);
}

void
ark_mcp_server_push_event(ArkMcpServer *server, const ArkEvent *event)
{
	g_autofree gchar *run_uri = NULL;
	g_autofree gchar *task_uri = NULL;
	g_autofree gchar *log_uri = NULL;
	g_autoptr(GPtrArray) sessions = NULL;

	if (event->run_id != NULL)
		run_uri = g_strdup_printf("arkitect://runs/%s", event->run_id);
	if (run_uri != NULL && event->task_id != NULL)
		task_uri = g_strdup_printf("%s/tasks/%s", run_uri, event->task_id);
	if (task_uri != NULL && event->attempt > 0 &&
	    (event->kind == ARK_EVENT_ATTEMPT_FINISHED || event->kind == ARK_EVENT_ATTEMPT_STARTED))
		log_uri = g_strdup_printf("%s/attempts/%u/log", task_uri, event->attempt);
	/* a session may close while it is told (its transport fails) */
	sessions = g_ptr_array_copy(server->sessions, (GCopyFunc)ark_mcp_session_ref, NULL);
	g_ptr_array_set_free_func(sessions, (GDestroyNotify)ark_mcp_session_unref);
	for (guint i = 0; i < sessions->len; i++) {
		ArkMcpSession *session = g_ptr_array_index(sessions, i);
		if (!session->initialized || session->closed)
			continue;
		if (g_hash_table_size(session->subscriptions) > 0) {
			ark_mcp_session_updated(session, "arkitect://events");
			if (run_uri != NULL)
				ark_mcp_session_updated(session, run_uri);
			if (task_uri != NULL)
				ark_mcp_session_updated(session, task_uri);
			if (log_uri != NULL)
				ark_mcp_session_updated(session, log_uri);
			if (event->kind == ARK_EVENT_RUN_SUBMITTED ||
			    event->kind == ARK_EVENT_RUN_FINISHED)
				ark_mcp_session_updated(session, "arkitect://status");
		}
		/* resources/list names the runs */
		if (event->kind == ARK_EVENT_RUN_SUBMITTED)
			ark_mcp_session_notify(session, "notifications/resources/list_changed",
					       NULL);
	}
	ark_mcp_tools_push_event(server, event);
}
