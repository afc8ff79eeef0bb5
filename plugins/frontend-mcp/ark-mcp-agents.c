/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-mcp-private.h"

/*
 * Agents over MCP (docs/agents.md, docs/mcp.md): the tools an agent works with (agent_claim,
 * agent_heartbeat, agent_complete, agent_fail, agent_release, agent_assignments) and those a
 * supervisor watches them with (agent_register, agent_remove, list_agents, get_agent,
 * list_assignments, explain_assignment), plus the arkitect://agents resources.
 *
 * Who the agent is: a session opened over HTTP with an agent's own bearer token is that agent's
 * (the HTTP frontend authenticated it and says so in ArkHttpRequestInfo.agent_id); it has the
 * agent tools only, and they act for that agent. Any other session names the agent with the
 * "token" argument (and, to guard against mix-ups, "agent_id"), which the engine checks. The
 * engine then checks that the agent acts on its own assignments and with their current fence,
 * and records registrations, removals and what agents hand in in the audit log itself.
 *
 * agent_claim waits like the HTTP claim does, on ark_engine_claim_assignment(), but for at most
 * a minute: MCP clients give up on a call after their own timeout (60 s in the TypeScript SDK
 * unless progress resets it), and a model that called a tool is better told "nothing yet" than
 * left hanging. notifications/cancelled, a closed session or a deleted one cancel the wait, and
 * the engine then hands nothing out.
 */

#define ARK_MCP_CLAIM_MAX_S 60
#define ARK_MCP_CLAIM_DEFAULT_S 20
#define ARK_MCP_CLAIM_PROGRESS_S 10
#define ARK_MCP_AGENT_ID_MAX 128
#define ARK_MCP_AGENT_TOKEN_MAX 256
/* the largest integer a JSON number carries exactly everywhere (2^53) */
#define ARK_MCP_FENCE_MAX G_GINT64_CONSTANT(9007199254740992)

/* arguments ------------------------------------------------------------------------------------ */

static gboolean
ark_mcp_agents_valid_id(const gchar *id)
{
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

/* an id argument (agent or assignment); FALSE after a tool error */
static gboolean
ark_mcp_agents_arg_id(ArkMcpCall *call, JsonObject *args, const gchar *name, gboolean required,
		      const gchar **out)
{
	if (!ark_mcp_arg_string(call, args, name, required, ARK_MCP_AGENT_ID_MAX, out))
		return FALSE;
	if (*out != NULL && !ark_mcp_agents_valid_id(*out)) {
		ark_mcp_call_tool_error(call, "argument '%s' is not an id (letters, digits, '-', "
					      "'_' and '.')",
					name);
		return FALSE;
	}
	return TRUE;
}

/* "fence": the assignment's fencing token, a non-negative integer; FALSE after a tool error */
static gboolean
ark_mcp_agents_arg_fence(ArkMcpCall *call, JsonObject *args, guint64 *out)
{
	JsonNode *node = json_object_get_member(args, "fence");
	GType type = node != NULL && JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node)
								 : G_TYPE_INVALID;
	gint64 value = -1;

	if (type == G_TYPE_INT64) {
		value = json_node_get_int(node);
	} else if (type == G_TYPE_DOUBLE) {
		gdouble d = json_node_get_double(node);
		/* 7.0 is 7; 7.5 is not a fence */
		if (d >= 0 && d <= (gdouble)ARK_MCP_FENCE_MAX && d == (gdouble)(gint64)d)
			value = (gint64)d;
	}
	if (value < 0 || value > ARK_MCP_FENCE_MAX) {
		ark_mcp_call_tool_error(call, "argument 'fence' is required: the assignment's fence "
					      "(a non-negative integer, as agent_claim returned it)");
		return FALSE;
	}
	*out = (guint64)value;
	return TRUE;
}

/* an optional JSON argument of at most @max bytes (NULL when absent); FALSE after a tool error */
static gboolean
ark_mcp_agents_arg_json(ArkMcpCall *call, JsonObject *args, const gchar *name, gsize max,
			gboolean required, JsonNode **out)
{
	JsonNode *node = json_object_get_member(args, name);
	g_autofree gchar *text = NULL;

	*out = NULL;
	if (node == NULL) {
		if (!required)
			return TRUE;
		ark_mcp_call_tool_error(call, "argument '%s' is required (any JSON value)", name);
		return FALSE;
	}
	text = json_to_string(node, FALSE);
	if (strlen(text) > max) {
		ark_mcp_call_tool_error(call,
					"argument '%s' is %" G_GSIZE_FORMAT " bytes as JSON; at most "
					"%" G_GSIZE_FORMAT " are accepted",
					name, strlen(text), max);
		return FALSE;
	}
	*out = node;
	return TRUE;
}

/*
 * The agent a call acts for (transfer full), or NULL after a tool error: the session's when it
 * was opened with an agent's token, else the one whose "token" the arguments carry. "agent_id",
 * when given, must be that agent.
 */
static gchar *
ark_mcp_agents_identify(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	const gchar *session_agent;
	g_autofree gchar *agent = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;

	/* without an engine the call is answered (and gone) already */
	if (engine == NULL)
		return NULL;
	session_agent = ark_mcp_call_get_agent(call);
	if (!ark_mcp_agents_arg_id(call, args, "agent_id", FALSE, &agent_id) ||
	    !ark_mcp_arg_string(call, args, "token", session_agent == NULL,
				ARK_MCP_AGENT_TOKEN_MAX, &token))
		return NULL;
	if (token != NULL) {
		agent = ark_engine_authenticate_agent(engine, token);
		if (agent == NULL) {
			ark_mcp_call_tool_error(call, "permission-denied: 'token' is not the token of "
						      "a registered agent (agent_register shows it "
						      "once, when the agent is registered)");
			return NULL;
		}
	}
	if (session_agent != NULL) {
		/* the bearer token said who this is; arguments can not change it */
		if (agent != NULL && g_strcmp0(agent, session_agent) != 0) {
			ark_mcp_call_tool_error(call, "permission-denied: this session is agent "
						      "%s's; 'token' is another agent's",
						session_agent);
			return NULL;
		}
		g_free(agent);
		agent = g_strdup(session_agent);
	}
	if (agent_id != NULL && g_strcmp0(agent_id, agent) != 0) {
		ark_mcp_call_tool_error(call, "permission-denied: the token is not agent %s's; an "
					      "agent acts only for itself",
					agent_id);
		return NULL;
	}
	return g_steal_pointer(&agent);
}

/* a tool error for an engine error: its kind first ("conflict: ..."), and what to do */
static void
ark_mcp_agents_fail(ArkMcpCall *call, const GError *error)
{
	const gchar *kind = error->domain == ARK_ERROR ? ark_error_to_string((ArkError)error->code)
						       : "failed";
	const gchar *hint = "";

	if (g_error_matches(error, ARK_ERROR, ARK_ERROR_CONFLICT))
		hint = " (the assignment is no longer held under that fence: drop the work and call "
		       "agent_claim for new work)";
	else if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
		hint = " (agent_assignments lists this agent's assignments, list_agents the agents)";
	ark_mcp_call_tool_error(call, "%s: %s%s", kind, error->message, hint);
}

static JsonObject *
ark_mcp_agents_wrap_array(const gchar *member, JsonArray *array)
{
	JsonObject *result = json_object_new();

	json_object_set_array_member(result, member, array);
	return result;
}

/* supervisors' views of assignments carry no fence: it is the holder's */
static JsonArray *
ark_mcp_agents_strip_fences(JsonArray *array)
{
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		if (JSON_NODE_HOLDS_OBJECT(node))
			json_object_remove_member(json_node_get_object(node), "fence");
	}
	return array;
}

/* supervisors ----------------------------------------------------------------------------------- */

static void
ark_mcp_tool_agent_register(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	JsonObject *agent;

	if (engine == NULL)
		return;
	/* the engine records it in the audit log, with the session's actor */
	agent = ark_engine_register_agent(engine, args, ark_mcp_call_get_actor(call), &error);
	if (agent == NULL) {
		ark_mcp_call_tool_error(call, "the agent was not registered: %s", error->message);
		return;
	}
	json_object_set_string_member(agent, "note",
				      "Keep the token: it is shown only now. The agent passes it "
				      "as the 'token' argument of the agent tools, or connects to "
				      "/mcp with it as its bearer token.");
	ark_mcp_call_tool_ok(call, agent);
}

static void
ark_mcp_tool_agent_remove(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	JsonObject *result;

	if (engine == NULL || !ark_mcp_agents_arg_id(call, args, "agent_id", TRUE, &agent_id))
		return;
	if (!ark_engine_deregister_agent(engine, agent_id, ark_mcp_call_get_actor(call), &error)) {
		ark_mcp_agents_fail(call, error);
		return;
	}

	result = json_object_new();
	json_object_set_string_member(result, "agent_id", agent_id);
	json_object_set_boolean_member(result, "removed", TRUE);
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_list_agents(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);

	if (engine != NULL)
		ark_mcp_call_tool_ok(call, ark_mcp_agents_wrap_array(
					       "agents", ark_engine_list_agents(engine)));
}

static void
ark_mcp_tool_get_agent(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	JsonObject *agent;

	if (engine == NULL || !ark_mcp_agents_arg_id(call, args, "agent_id", TRUE, &agent_id))
		return;
	agent = ark_engine_get_agent(engine, agent_id, &error);
	if (agent == NULL) {
		ark_mcp_agents_fail(call, error);
		return;
	}
	ark_mcp_call_tool_ok(call, agent);
}

static void
ark_mcp_tool_list_assignments(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	const gchar *agent_id = NULL;

	if (engine == NULL || !ark_mcp_agents_arg_id(call, args, "agent_id", FALSE, &agent_id))
		return;
	ark_mcp_call_tool_ok(
	    call, ark_mcp_agents_wrap_array("assignments",
					    ark_mcp_agents_strip_fences(
						ark_engine_list_assignments(engine, agent_id))));
}

static void
ark_mcp_tool_explain_assignment(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;
	JsonObject *explain;

	if (engine == NULL ||
	    !ark_mcp_agents_arg_id(call, args, "assignment_id", TRUE, &assignment_id))
		return;
	explain = ark_engine_explain_assignment(engine, assignment_id, &error);
	if (explain == NULL) {
		ark_mcp_agents_fail(call, error);
		return;
	}
	json_object_remove_member(explain, "fence");
	ark_mcp_call_tool_ok(call, explain);
}

/* agent_claim ----------------------------------------------------------------------------------- */

typedef struct {
	gint ref;
	ArkMcpCall *call; /* NULL once answered or cancelled */
	ArkEngine *engine;
	gchar *agent_id;
	GCancellable *cancellable;
	guint progress_id;
	gint64 started; /* monotonic µs */
	gint64 wait_s;
} ArkMcpClaim;

static ArkMcpClaim *
ark_mcp_claim_ref(ArkMcpClaim *claim)
{
	claim->ref++;
	return claim;
}

static void
ark_mcp_claim_unref(gpointer data)
{
	ArkMcpClaim *claim = data;

	if (--claim->ref > 0)
		return;
	g_clear_handle_id(&claim->progress_id, g_source_remove);
	g_clear_object(&claim->cancellable);
	g_clear_object(&claim->engine);
	g_free(claim->agent_id);
	g_free(claim);
}

/* the client cancelled the call or went away: the engine stops waiting and hands nothing out */
static void
ark_mcp_claim_cancel_cb(gpointer call, gpointer data)
{
	ArkMcpClaim *claim = data;

	claim->call = NULL;
	g_clear_handle_id(&claim->progress_id, g_source_remove);
	g_cancellable_cancel(claim->cancellable);
}

static gboolean
ark_mcp_claim_progress_cb(gpointer data)
{
	ArkMcpClaim *claim = data;
	gint64 waited = (g_get_monotonic_time() - claim->started) / G_USEC_PER_SEC;
	g_autofree gchar *message = NULL;

	if (claim->call == NULL) {
		claim->progress_id = 0;
		return G_SOURCE_REMOVE;
	}
	message = g_strdup_printf("waiting for work (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
				  " s)",
				  waited, claim->wait_s);
	ark_mcp_call_progress(claim->call, (gdouble)waited, (gdouble)claim->wait_s, message);
	return G_SOURCE_CONTINUE;
}

static void
ark_mcp_claim_done_cb(ArkEngine *engine, JsonObject *assignment, const GError *error,
		      gpointer user_data)
{
	ArkMcpClaim *claim = user_data; /* the engine's reference, dropped at the end */
	ArkMcpCall *call = claim->call;
	JsonObject *result;

	claim->call = NULL;
	g_clear_handle_id(&claim->progress_id, g_source_remove);
	if (call == NULL) {
		/* nobody to give it to: the engine should not have handed it out (it was
		 * cancelled), but if it did, it goes back at once rather than waiting for its
		 * lease to run out */
		if (assignment != NULL) {
			const gchar *id = ark_mcp_get_string(assignment, "id");
			g_autoptr(GError) local_error = NULL;
			if (id != NULL &&
			    !ark_engine_release_assignment(
				engine, claim->agent_id, id,
				(guint64)json_object_get_int_member_with_default(assignment,
										 "fence", 0),
				"the MCP client went away before the claim was answered",
				&local_error))
				g_debug("could not give back %s: %s", id, local_error->message);
		}
		ark_mcp_claim_unref(claim);
		return;
	}
	if (error != NULL) {
		ark_mcp_agents_fail(call, error);
		ark_mcp_claim_unref(claim);
		return;
	}
	result = json_object_new();
	if (assignment != NULL) {
		json_object_set_object_member(result, "assignment", json_object_ref(assignment));
		json_object_set_string_member(
		    result, "note",
		    "Work on 'input'. Call agent_heartbeat with assignment_id and fence (and "
		    "progress) before lease_expires_at; finish with agent_complete (result), "
		    "agent_fail (reason) or agent_release.");
	} else {
		g_autofree gchar *note = g_strdup_printf(
		    "No work came within %" G_GINT64_FORMAT " s: call agent_claim again.",
		    claim->wait_s);
		json_object_set_null_member(result, "assignment");
		json_object_set_string_member(result, "note", note);
	}
	ark_mcp_call_tool_ok(call, result);
	ark_mcp_claim_unref(claim);
}

static void
ark_mcp_tool_agent_claim(ArkMcpCall *call, JsonObject *args)
{
	g_autofree gchar *agent = ark_mcp_agents_identify(call, args);
	ArkMcpClaim *claim;
	gint64 wait_s;

	if (agent == NULL || !ark_mcp_arg_int(call, args, "wait_seconds", 0, ARK_MCP_CLAIM_MAX_S,
					      ARK_MCP_CLAIM_DEFAULT_S, &wait_s))
		return;
	claim = g_new0(ArkMcpClaim, 1);
	claim->ref = 1;
	claim->call = call;
	claim->engine = g_object_ref(ark_mcp_call_get_engine(call));
	claim->agent_id = g_steal_pointer(&agent);
	claim->cancellable = g_cancellable_new();
	claim->started = g_get_monotonic_time();
	claim->wait_s = wait_s;
	/* the call's reference: dropped when the call is over */
	ark_mcp_call_set_cancel(call, ark_mcp_claim_cancel_cb, claim, ark_mcp_claim_unref);
	if (wait_s > 0 && ark_mcp_call_has_progress(call)) {
		/* keeps the client's request timeout from running out while nothing comes */
		ark_mcp_call_progress(call, 0, (gdouble)wait_s, "waiting for work");
		claim->progress_id = g_timeout_add_seconds(ARK_MCP_CLAIM_PROGRESS_S,
							   ark_mcp_claim_progress_cb, claim);
	}
	/* the callback may answer (and so free) the call before this returns */
	ark_engine_claim_assignment(claim->engine, claim->agent_id, wait_s * G_USEC_PER_SEC,
				    claim->cancellable, ark_mcp_claim_done_cb,
				    ark_mcp_claim_ref(claim));
}

/* the other agent tools ------------------------------------------------------------------------- */

static void
ark_mcp_tool_agent_heartbeat(ArkMcpCall *call, JsonObject *args)
{
	g_autofree gchar *agent = ark_mcp_agents_identify(call, args);
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;
	JsonNode *progress = NULL;
	JsonObject *result;
	guint64 fence = 0;

	if (agent == NULL ||
	    !ark_mcp_agents_arg_id(call, args, "assignment_id", FALSE, &assignment_id))
		return;
	if (assignment_id == NULL) {
		if (json_object_has_member(args, "fence") ||
		    json_object_has_member(args, "progress")) {
			ark_mcp_call_tool_error(call, "'fence' and 'progress' belong to an "
						      "assignment: give its assignment_id too");
			return;
		}
		result = ark_engine_agent_heartbeat(ark_mcp_call_get_engine(call), agent, &error);
	} else {
		if (!ark_mcp_agents_arg_fence(call, args, &fence) ||
		    !ark_mcp_agents_arg_json(call, args, "progress", ARK_AGENT_MAX_PROGRESS_BYTES,
					     FALSE, &progress))
			return;
		result = ark_engine_assignment_heartbeat(ark_mcp_call_get_engine(call), agent,
							 assignment_id, fence, progress, &error);
	}
	if (result == NULL) {
		ark_mcp_agents_fail(call, error);
		return;
	}
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_agent_assignments(ArkMcpCall *call, JsonObject *args)
{
	g_autofree gchar *agent = ark_mcp_agents_identify(call, args);

	if (agent == NULL)
		return;
	ark_mcp_call_tool_ok(
	    call, ark_mcp_agents_wrap_array("assignments",
					    ark_engine_list_assignments(
						ark_mcp_call_get_engine(call), agent)));
}

static void
ark_mcp_tool_agent_complete(ArkMcpCall *call, JsonObject *args)
{
	g_autofree gchar *agent = ark_mcp_agents_identify(call, args);
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;
	JsonNode *value = NULL;
	JsonObject *result;
	guint64 fence = 0;

	if (agent == NULL ||
	    !ark_mcp_agents_arg_id(call, args, "assignment_id", TRUE, &assignment_id) ||
	    !ark_mcp_agents_arg_fence(call, args, &fence) ||
	    !ark_mcp_agents_arg_json(call, args, "result", ARK_RESULT_MAX_BYTES, TRUE, &value))
		return;
	result = ark_engine_complete_assignment(ark_mcp_call_get_engine(call), agent,
						assignment_id, fence, value, &error);
	if (result == NULL) {
		ark_mcp_agents_fail(call, error);
		return;
	}
	ark_mcp_call_tool_ok(call, result);
}

/* agent_fail and agent_release */
static void
ark_mcp_agents_hand_back(ArkMcpCall *call, JsonObject *args, gboolean fail)
{
	g_autofree gchar *agent = ark_mcp_agents_identify(call, args);
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;
	const gchar *reason = NULL;
	JsonObject *result;
	guint64 fence = 0;
	gboolean ok;

	if (agent == NULL ||
	    !ark_mcp_agents_arg_id(call, args, "assignment_id", TRUE, &assignment_id) ||
	    !ark_mcp_agents_arg_fence(call, args, &fence) ||
	    !ark_mcp_arg_string(call, args, "reason", fail, ARK_AGENT_MAX_REASON_LEN, &reason))
		return;
	if (fail)
		ok = ark_engine_fail_assignment(ark_mcp_call_get_engine(call), agent, assignment_id,
						fence, reason, &error);
	else
		ok = ark_engine_release_assignment(ark_mcp_call_get_engine(call), agent,
						   assignment_id, fence, reason, &error);
	if (!ok) {
		ark_mcp_agents_fail(call, error);
		return;
	}
	result = json_object_new();
	json_object_set_string_member(result, "assignment_id", assignment_id);
	json_object_set_string_member(result, "state", fail ? "failed" : "released");
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_agent_fail(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_agents_hand_back(call, args, TRUE);
}

static void
ark_mcp_tool_agent_release(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_agents_hand_back(call, args, FALSE);
}

/* resources ------------------------------------------------------------------------------------- */

JsonArray *
ark_mcp_agents_read(ArkEngine *engine, const gchar *uri, gint *out_code, gchar **out_message)
{
	const gchar *path = uri + strlen("arkitect://agents");
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *text = NULL;
	JsonArray *contents;
	JsonObject *content;
	JsonObject *object;

	if (path[0] == '\0') {
		object = ark_mcp_agents_wrap_array("agents", ark_engine_list_agents(engine));
	} else if (path[0] == '/' && path[1] != '\0' && ark_mcp_agents_valid_id(path + 1) &&
		   strlen(path + 1) <= ARK_MCP_AGENT_ID_MAX) {
		object = ark_engine_get_agent(engine, path + 1, &error);
		if (object == NULL) {
			*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
			*out_message = g_strdup_printf("Resource not found: %s", error->message);
			return NULL;
		}
	} else {
		*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
		*out_message = g_strdup_printf("Resource not found: %s", uri);
		return NULL;
	}
	node = json_node_init_object(json_node_alloc(), object);
	json_object_unref(object);
	text = json_to_string(node, FALSE);
	content = json_object_new();
	json_object_set_string_member(content, "uri", uri);
	json_object_set_string_member(content, "mimeType", "application/json");
	json_object_set_string_member(content, "text", text);
	contents = json_array_new();
	json_array_add_object_element(contents, content);
	return contents;
}

/* the table ------------------------------------------------------------------------------------- */

#define ARK_MCP_AGENT_ARGS                                                                         \
	"\"agent_id\":{\"type\":\"string\",\"description\":\"the agent's id (agt_...); may be "    \
	"left out when the session was opened with the agent's token\"},"                          \
	"\"token\":{\"type\":\"string\",\"description\":\"the agent's token (arkagt_...), as "     \
	"agent_register returned it; may be left out when the session was opened with it\"}"
#define ARK_MCP_ASSIGNMENT_ARGS                                                                    \
	"\"assignment_id\":{\"type\":\"string\",\"description\":\"the assignment, as agent_claim " \
	"returned it\"},\"fence\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"the "       \
	"assignment's fence, as agent_claim returned it\"}"
#define ARK_MCP_ASSIGNMENT_SCHEMA                                                                  \
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"                       \
	"\"run_id\":{\"type\":\"string\"},\"task_id\":{\"type\":\"string\"},"                      \
	"\"agent_id\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"                      \
	"\"fence\":{\"type\":\"integer\"}},\"required\":[\"id\",\"state\"]}"
#define ARK_MCP_AGENT_SCHEMA                                                                       \
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"                       \
	"\"name\":{\"type\":\"string\"},\"capabilities\":{\"type\":\"array\"},"                    \
	"\"max_assignments\":{\"type\":\"integer\"},\"state\":{\"type\":\"string\"},"              \
	"\"load\":{\"type\":\"integer\"},\"trust\":{\"type\":\"object\"},"                         \
	"\"assignments\":{\"type\":\"array\"}},\"required\":[\"id\",\"name\"]}"
#define ARK_MCP_ASSIGNMENTS_SCHEMA                                                                 \
	"{\"type\":\"object\",\"properties\":{\"assignments\":{\"type\":\"array\",\"items\":"      \
	ARK_MCP_ASSIGNMENT_SCHEMA "}},\"required\":[\"assignments\"]}"
#define ARK_MCP_HAND_BACK_SCHEMA                                                                   \
	"{\"type\":\"object\",\"properties\":{\"assignment_id\":{\"type\":\"string\"},"            \
	"\"state\":{\"type\":\"string\"}},\"required\":[\"assignment_id\",\"state\"]}"

static const ArkMcpTool ark_mcp_agent_tools[] = {
    /* supervisors */
    {"agent_register", "Register an agent",
     "Registers an agent (an AI assistant, a script, a service) that will claim work of agent "
     "tasks (\"executor\": \"agent\") matching its capabilities. Returns the agent with its "
     "token, shown only now: the agent needs it for every agent_* call. Needs an admin token.",
     "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":"
     "\"a name for people\"},\"capabilities\":{\"type\":\"array\",\"items\":{\"type\":["
     "\"string\",\"object\"]},\"description\":\"what it can do: names, or {\\\"name\\\", "
     "\\\"proficiency\\\": 0..1}\"},\"max_assignments\":{\"type\":\"integer\",\"minimum\":1,"
     "\"maximum\":1024,\"description\":\"how many assignments it holds at once (1)\"},"
     "\"metadata\":{\"type\":\"object\"}},\"required\":[\"name\"],"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"name\":{\"type\":"
     "\"string\"},\"token\":{\"type\":\"string\"},\"capabilities\":{\"type\":\"array\"},"
     "\"note\":{\"type\":\"string\"}},\"required\":[\"id\",\"token\"]}",
     0, ark_mcp_tool_agent_register},
    {"agent_remove", "Remove an agent",
     "Forgets an agent: its token stops working, and what it held is offered to others.",
     "{\"type\":\"object\",\"properties\":{\"agent_id\":{\"type\":\"string\"}},"
     "\"required\":[\"agent_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"agent_id\":{\"type\":\"string\"},\"removed\":{"
     "\"type\":\"boolean\"}},\"required\":[\"agent_id\"]}",
     ARK_MCP_DESTRUCTIVE | ARK_MCP_IDEMPOTENT, ark_mcp_tool_agent_remove},
    {"list_agents", "List agents",
     "Every registered agent: capabilities, online or offline, load, trust per capability.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"agents\":{\"type\":\"array\",\"items\":"
     ARK_MCP_AGENT_SCHEMA "}},\"required\":[\"agents\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_list_agents},
    {"get_agent", "Get an agent",
     "One agent with its trust per capability (a Beta posterior of its success: alpha, beta, "
     "mean, with latency and rejected counts) and the assignments it holds.",
     "{\"type\":\"object\",\"properties\":{\"agent_id\":{\"type\":\"string\"}},"
     "\"required\":[\"agent_id\"],\"additionalProperties\":false}",
     ARK_MCP_AGENT_SCHEMA, ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_get_agent},
    {"list_assignments", "List assignments",
     "The assignments offered or held, oldest first, of every agent or of agent_id.",
     "{\"type\":\"object\",\"properties\":{\"agent_id\":{\"type\":\"string\"}},"
     "\"additionalProperties\":false}",
     ARK_MCP_ASSIGNMENTS_SCHEMA, ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT,
     ark_mcp_tool_list_assignments},
    {"explain_assignment", "Explain an assignment",
     "Why an assignment is where it is: the coordinator's choice (the candidates with their "
     "trust, match and load, and whom it chose) and the history of the piece (every holder "
     "and how each one ended).",
     "{\"type\":\"object\",\"properties\":{\"assignment_id\":{\"type\":\"string\"}},"
     "\"required\":[\"assignment_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"state\":{\"type\":"
     "\"string\"},\"choice\":{\"type\":\"object\"},\"history\":{\"type\":\"array\"}},"
     "\"required\":[\"id\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_explain_assignment},
    /* agents */
    {"agent_claim", "Claim work (agent)",
     "Claims the next assignment offered to this agent, waiting up to wait_seconds (0 to 60, "
     "default 20) for one; also keeps the agent online. Returns the assignment (its input, "
     "fence and lease_expires_at) or null when none came: then call again.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS ",\"wait_seconds\":{\"type\":"
     "\"integer\",\"minimum\":0,\"maximum\":60}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"assignment\":{\"type\":[\"object\",\"null\"]},"
     "\"note\":{\"type\":\"string\"}},\"required\":[\"assignment\"]}",
     ARK_MCP_AGENT, ark_mcp_tool_agent_claim},
    {"agent_heartbeat", "Heartbeat (agent)",
     "Keeps the agent online. With assignment_id and fence it renews that assignment's lease "
     "and records progress (any JSON, at most 16 KiB).",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS "," ARK_MCP_ASSIGNMENT_ARGS
     ",\"progress\":{\"description\":\"how far the work is, any JSON\"}},"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"},"
     "\"heartbeat_timeout_ms\":{\"type\":\"integer\"},\"assignments\":{\"type\":\"array\"}},"
     "\"required\":[\"state\"]}",
     ARK_MCP_IDEMPOTENT | ARK_MCP_AGENT, ark_mcp_tool_agent_heartbeat},
    {"agent_assignments", "My assignments (agent)",
     "The assignments offered to or held by this agent, with their fences.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS "},"
     "\"additionalProperties\":false}",
     ARK_MCP_ASSIGNMENTS_SCHEMA, ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT | ARK_MCP_AGENT,
     ark_mcp_tool_agent_assignments},
    {"agent_complete", "Complete an assignment (agent)",
     "Hands in the result (any JSON, at most 1 MiB) of a held assignment. The task's "
     "acceptance rule decides: state completed, rejected (with the reason; the piece goes to "
     "another agent) or checking (an acceptance command runs). A conflict error means the "
     "assignment is no longer this agent's.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS "," ARK_MCP_ASSIGNMENT_ARGS
     ",\"result\":{\"description\":\"the result, any JSON\"}},\"required\":[\"assignment_id\","
     "\"fence\",\"result\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"},\"reason\":{"
     "\"type\":\"string\"}},\"required\":[\"state\"]}",
     ARK_MCP_IDEMPOTENT | ARK_MCP_OPEN_WORLD | ARK_MCP_AGENT, ark_mcp_tool_agent_complete},
    {"agent_fail", "Fail an assignment (agent)",
     "Says the agent could not do a held assignment, with the reason: counts against its "
     "trust and fails the piece (the task's retry policy decides what follows).",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS "," ARK_MCP_ASSIGNMENT_ARGS
     ",\"reason\":{\"type\":\"string\"}},\"required\":[\"assignment_id\",\"fence\","
     "\"reason\"],\"additionalProperties\":false}",
     ARK_MCP_HAND_BACK_SCHEMA, ARK_MCP_DESTRUCTIVE | ARK_MCP_IDEMPOTENT | ARK_MCP_AGENT,
     ark_mcp_tool_agent_fail},
    {"agent_release", "Release an assignment (agent)",
     "Gives a held assignment back without a verdict; it is offered to another agent.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_AGENT_ARGS "," ARK_MCP_ASSIGNMENT_ARGS
     ",\"reason\":{\"type\":\"string\"}},\"required\":[\"assignment_id\",\"fence\"],"
     "\"additionalProperties\":false}",
     ARK_MCP_HAND_BACK_SCHEMA, ARK_MCP_IDEMPOTENT | ARK_MCP_AGENT, ark_mcp_tool_agent_release},
};

const ArkMcpTool *
ark_mcp_agent_tools_get(guint *out_n)
{
	*out_n = G_N_ELEMENTS(ark_mcp_agent_tools);
	return ark_mcp_agent_tools;
}
