/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * The MCP protocol core: JSON-RPC 2.0 messages, the session lifecycle, and the tools, resources,
 * prompts and tasks of the server. It knows no transport: a transport hands it one message at
 * a time with ark_mcp_session_receive() together with an opaque "stream" (the HTTP POST it came
 * on, or NULL on stdio), and gets every message back through its send callback, with the stream
 * the message belongs to (NULL: the session's own channel, the GET stream or stdout).
 */

#define ARK_MCP_PLUGIN_NAME "frontend-mcp"
#define ARK_MCP_LATEST_VERSION "2025-11-25"
/* the strictest nesting accepted in one message; json-glib's parser recurses */
#define ARK_MCP_MAX_JSON_DEPTH 64

/* JSON-RPC and MCP error codes */
#define ARK_MCP_PARSE_ERROR -32700
#define ARK_MCP_INVALID_REQUEST -32600
#define ARK_MCP_METHOD_NOT_FOUND -32601
#define ARK_MCP_INVALID_PARAMS -32602
#define ARK_MCP_INTERNAL_ERROR -32603
#define ARK_MCP_RESOURCE_NOT_FOUND -32002

typedef struct _ArkMcpServer ArkMcpServer;
typedef struct _ArkMcpSession ArkMcpSession;
typedef struct _ArkMcpCall ArkMcpCall;
typedef struct _ArkMcpTask ArkMcpTask;

/* the [frontend-mcp] settings */
typedef struct {
	gchar *path;
	guint64 max_message_size;
	guint max_sessions;
	gint64 session_idle_timeout; /* µs */
	guint max_tasks_per_session;
	gint64 task_ttl_max; /* ms */
	gchar **allowed_origins;
	gboolean require_token;
	guint stream_buffer; /* events kept per stream for Last-Event-ID */
} ArkMcpConfig;

typedef struct {
	/* @json NULL with @final: end the stream without an answer (the call was cancelled) */
	void (*send)(ArkMcpSession *session, gpointer stream, const gchar *json, gsize len,
		     gboolean final, gpointer user_data);
} ArkMcpTransportFuncs;

typedef enum {
	ARK_MCP_RECEIVED_REQUEST,  /* a response goes (or went) to the stream, final */
	ARK_MCP_RECEIVED_ACCEPTED, /* a notification or a response: nothing to answer */
	ARK_MCP_RECEIVED_INVALID,  /* refused: @out_error is an error response without an id */
} ArkMcpReceived;

/* the server ---------------------------------------------------------------------------------- */

/* @engine may be NULL (the fuzz target): tools that need it then fail */
ArkMcpServer *ark_mcp_server_new(ArkEngine *engine, const ArkMcpConfig *config,
				 gboolean fixtures);
void ark_mcp_server_free(ArkMcpServer *server);
ArkEngine *ark_mcp_server_get_engine(ArkMcpServer *server);
const ArkMcpConfig *ark_mcp_server_get_config(ArkMcpServer *server);
gboolean ark_mcp_server_get_fixtures(ArkMcpServer *server);
/* the engine's "event" signal: subscriptions, waiting calls, tasks */
void ark_mcp_server_push_event(ArkMcpServer *server, const ArkEvent *event);
/* drops expired tasks; every few seconds */
void ark_mcp_server_sweep(ArkMcpServer *server, gint64 now_ms);
guint ark_mcp_server_get_n_sessions(ArkMcpServer *server);

/* cryptographically random hex of @n_bytes bytes (getrandom) */
gchar *ark_mcp_random_hex(guint n_bytes);
/* whether @version is one this server speaks */
gboolean ark_mcp_version_supported(const gchar *version);
/* a message's method when it is a request or notification object, else NULL (transfer full) */
gchar *ark_mcp_peek_method(const gchar *data, gsize len);

/* sessions ------------------------------------------------------------------------------------ */

/* @admin: may call tools that change things (a read-scope token may not) */
ArkMcpSession *ark_mcp_session_new(ArkMcpServer *server, const ArkMcpTransportFuncs *funcs,
				   gpointer user_data, const gchar *actor, const gchar *origin,
				   gboolean admin);
/* the session is agent @agent_id's (an HTTP request with that agent's token opened it): it may
 * call only the agent tools, for that agent; set before initialize (ABI 1.3 mounts) */
void ark_mcp_session_set_agent(ArkMcpSession *self, const gchar *agent_id);
const gchar *ark_mcp_session_get_agent(ArkMcpSession *self);
/* the transport is gone: pending calls are dropped without an answer */
void ark_mcp_session_close(ArkMcpSession *self);
ArkMcpSession *ark_mcp_session_ref(ArkMcpSession *self);
void ark_mcp_session_unref(ArkMcpSession *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkMcpSession, ark_mcp_session_unref)

ArkMcpReceived ark_mcp_session_receive(ArkMcpSession *self, const gchar *data, gsize len,
				       gpointer stream, gchar **out_error);
/* a stream went away before its answer: calls on it answer to nothing (they run on) */
void ark_mcp_session_forget_stream(ArkMcpSession *self, gpointer stream);
gboolean ark_mcp_session_is_initialized(ArkMcpSession *self);
const gchar *ark_mcp_session_get_version(ArkMcpSession *self);

/* calls (for tools and the other handlers) ------------------------------------------------------ */

ArkMcpSession *ark_mcp_call_get_session(ArkMcpCall *call);
ArkMcpServer *ark_mcp_call_get_server(ArkMcpCall *call);
ArkEngine *ark_mcp_call_get_engine(ArkMcpCall *call);
gboolean ark_mcp_call_is_cancelled(ArkMcpCall *call);
/* who called, for audit records and submitters */
const gchar *ark_mcp_call_get_actor(ArkMcpCall *call);
const gchar *ark_mcp_call_get_origin(ArkMcpCall *call);
/* the agent whose session this is, or NULL (see ark_mcp_session_set_agent()) */
const gchar *ark_mcp_call_get_agent(ArkMcpCall *call);
/* runs @cancel(@data) when the client cancels the call (notifications/cancelled, tasks/cancel)
 * or the session ends; @free releases @data when the call is over */
void ark_mcp_call_set_cancel(ArkMcpCall *call, GFunc cancel, gpointer data, GDestroyNotify free);

/* the answer; each takes the call, which is gone afterwards */
void ark_mcp_call_return(ArkMcpCall *call, JsonNode *result);
void ark_mcp_call_error(ArkMcpCall *call, gint code, JsonNode *data, const gchar *format, ...)
    G_GNUC_PRINTF(4, 5);
/* tools/call answers: structuredContent (and its text copy), or a tool error the model reads */
void ark_mcp_call_tool_ok(ArkMcpCall *call, JsonObject *structured);
void ark_mcp_call_tool_error(ArkMcpCall *call, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
/* a tools/call result built by hand (content blocks) */
void ark_mcp_call_tool_content(ArkMcpCall *call, JsonArray *content, gboolean is_error);

/* messages related to the call, before its answer */
void ark_mcp_call_progress(ArkMcpCall *call, gdouble progress, gdouble total,
			   const gchar *message);
gboolean ark_mcp_call_has_progress(ArkMcpCall *call);
void ark_mcp_call_log(ArkMcpCall *call, const gchar *level, const gchar *logger,
		      JsonNode *data);
typedef void (*ArkMcpResponseFunc)(ArkMcpCall *call, JsonNode *result, JsonNode *error,
				   gpointer user_data);
/* a request to the client (sampling, elicitation) on the call's stream; @func gets its answer */
void ark_mcp_call_request(ArkMcpCall *call, const gchar *method, JsonObject *params,
			  ArkMcpResponseFunc func, gpointer user_data);

/* session notifications on its own channel */
void ark_mcp_session_notify(ArkMcpSession *self, const gchar *method, JsonObject *params);

/* tools ----------------------------------------------------------------------------------------- */

typedef enum {
	ARK_MCP_READ_ONLY = 1 << 0,
	ARK_MCP_DESTRUCTIVE = 1 << 1,
	ARK_MCP_IDEMPOTENT = 1 << 2,
	ARK_MCP_OPEN_WORLD = 1 << 3,
	ARK_MCP_TASK_OPTIONAL = 1 << 4, /* execution.taskSupport: optional */
	ARK_MCP_AGENT = 1 << 5,		/* an agent's own tool: the only ones an agent session has */
} ArkMcpToolFlags;

typedef void (*ArkMcpToolFunc)(ArkMcpCall *call, JsonObject *arguments);

typedef struct {
	const gchar *name;
	const gchar *title;
	const gchar *description;
	const gchar *input_schema;  /* JSON text */
	const gchar *output_schema; /* JSON text, or NULL */
	guint flags;
	ArkMcpToolFunc call;
} ArkMcpTool;

const ArkMcpTool *ark_mcp_tools_get(guint *out_n);
/* waiting tools follow their run */
void ark_mcp_tools_push_event(ArkMcpServer *server, const ArkEvent *event);
JsonObject *ark_mcp_run_to_json(ArkEngine *engine, const ArkRunRecord *run);
JsonObject *ark_mcp_task_record_to_json(const ArkTaskRecord *task);
JsonObject *ark_mcp_plugins_json(ArkEngine *engine);
/* where an attempt's log is (transfer full), or NULL */
gchar *ark_mcp_attempt_log_path(ArkEngine *engine, const ArkAttemptRecord *attempt);
/* up to @max bytes of the log from @offset (the last @max with @offset < 0), as valid UTF-8 */
gboolean ark_mcp_read_log(const gchar *path, gint64 offset, gsize max, gchar **out_text,
			  gint64 *out_offset, gint64 *out_size, GError **error);
const ArkMcpTool *ark_mcp_fixtures_tools_get(guint *out_n);
/* the agent tools and the supervisors' agent tools (ark-mcp-agents.c) */
const ArkMcpTool *ark_mcp_agent_tools_get(guint *out_n);

/* shared by the tools: each fails the call with a tool error when it returns FALSE or NULL */
ArkEngine *ark_mcp_tool_engine(ArkMcpCall *call);
/* a string argument of at most @max_len bytes, non-empty; NULL in @out when absent */
gboolean ark_mcp_arg_string(ArkMcpCall *call, JsonObject *args, const gchar *name,
			    gboolean required, gsize max_len, const gchar **out);
/* a number argument within @min..@max, @fallback when absent */
gboolean ark_mcp_arg_int(ArkMcpCall *call, JsonObject *args, const gchar *name, gint64 min,
			 gint64 max, gint64 fallback, gint64 *out);

/* resources, prompts, completion (ark-mcp-resources.c) ----------------------------------------- */

/* each appends its list to @array (JsonObject nodes) */
void ark_mcp_resources_list_static(ArkMcpServer *server, JsonArray *array);
void ark_mcp_resources_list_templates(ArkMcpServer *server, JsonArray *array);
/* resources/read: the contents array, or NULL with @out_code and @out_message */
JsonArray *ark_mcp_resources_read(ArkMcpServer *server, const gchar *uri, gint *out_code,
				  gchar **out_message);
/* runs as resources, after @after (a run id) */
void ark_mcp_resources_list_runs(ArkMcpServer *server, const gchar *after, guint limit,
				 JsonArray *array, gchar **out_next);
void ark_mcp_prompts_list(ArkMcpServer *server, JsonArray *array);
/* prompts/get: the result object, or NULL with @out_message (invalid params) */
JsonObject *ark_mcp_prompts_get(ArkMcpServer *server, const gchar *name, JsonObject *arguments,
				gchar **out_message);
/* completion/complete: values for @argument, or NULL with @out_message (invalid params) */
JsonArray *ark_mcp_complete(ArkMcpServer *server, JsonObject *ref, const gchar *argument,
			    const gchar *value, JsonObject *context, gchar **out_message);
/* arkitect://agents and arkitect://agents/{agent_id}: the contents, or NULL with @out_code and
 * @out_message (ark-mcp-agents.c) */
JsonArray *ark_mcp_agents_read(ArkEngine *engine, const gchar *uri, gint *out_code,
			       gchar **out_message);
void ark_mcp_fixtures_resources(JsonArray *resources, JsonArray *templates);
JsonArray *ark_mcp_fixtures_read(const gchar *uri);
void ark_mcp_fixtures_prompts(JsonArray *prompts);
JsonObject *ark_mcp_fixtures_prompt_get(const gchar *name, JsonObject *arguments,
					gchar **out_message, gboolean *out_found);

/* helpers --------------------------------------------------------------------------------------- */

JsonNode *ark_mcp_parse_json(const gchar *text);
JsonObject *ark_mcp_text_content(const gchar *text);
/* the string member @name of @object, or NULL when absent or not a string */
const gchar *ark_mcp_get_string(JsonObject *object, const gchar *name);
/* RFC 3339 of a realtime µs timestamp, in UTC with milliseconds (transfer full) */
gchar *ark_mcp_format_time(gint64 usec);

G_END_DECLS
