/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-dbus-private.h"
#include "ark-frontend-http-json.h"

/*
 * org.arkitect.Arkitect1.Agents (docs/dbus.md, docs/agents.md): the engine's agent API on the
 * bus, beside the Manager interface on the same object.
 *
 * Who may call what: registering and removing agents follow the Manager's rule for mutating
 * methods (the caller's uid, as the bus reports it); reading is for everyone; an agent's own
 * methods are for whoever holds its token, which the engine checks (constant time) on every
 * call, whatever the uid. A system bus policy lets everyone send them (the token is the
 * credential, as over HTTP).
 *
 * Claim waits without blocking: the engine calls back when work comes or the wait ends. The
 * caller's unique name is watched meanwhile; when it leaves the bus the wait is cancelled, and
 * the engine hands nothing out to it (the assignment stays offered to the next claim).
 */

#define ARK_FRONTEND_DBUS_AGENTS_MAX_ID 128
#define ARK_FRONTEND_DBUS_AGENTS_MAX_TOKEN 256
#define ARK_FRONTEND_DBUS_AGENTS_MAX_SPEC (64 * 1024)
#define ARK_FRONTEND_DBUS_AGENTS_MAX_DEPTH 64

/* arguments ---------------------------------------------------------------------------------- */

static gboolean
ark_frontend_dbus_agents_check_id(ArkFrontendDbusCall *call, const gchar *what, const gchar *id)
{
	gsize len = strlen(id);
	gboolean valid = len > 0 && len <= ARK_FRONTEND_DBUS_AGENTS_MAX_ID;

	for (const gchar *p = id; valid && *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			valid = FALSE;
	}
	if (!valid) {
		g_autofree gchar *shown = ark_frontend_dbus_shown(id);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT, "'%s' is not %s id",
					     shown, what);
	}
	return valid;
}

/* @token is @agent_id's; FALSE after failing @call */
static gboolean
ark_frontend_dbus_agents_authenticate(ArkFrontendDbusCall *call, const gchar *agent_id,
				      const gchar *token)
{
	g_autofree gchar *holder = NULL;

	if (!ark_frontend_dbus_agents_check_id(call, "an agent", agent_id))
		return FALSE;
	if (token[0] == '\0') {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the agent's token is required");
		return FALSE;
	}
	if (strlen(token) <= ARK_FRONTEND_DBUS_AGENTS_MAX_TOKEN)
		holder = ark_engine_authenticate_agent(call->self->engine, token);
	if (g_strcmp0(holder, agent_id) != 0) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_PERMISSION_DENIED,
					     "the token is not agent %s's", agent_id);
		return FALSE;
	}
	return TRUE;
}

/* JSON text of at most @max bytes, strictly RFC 8259 (transfer full); NULL after failing @call */
static JsonNode *
ark_frontend_dbus_agents_parse(ArkFrontendDbusCall *call, const gchar *what, const gchar *text,
			       gsize max)
{
	g_auto(ArkFrontendHttpJsonScan) scan = {0};
	g_autoptr(JsonParser) parser = NULL;
	gsize len = strlen(text);

	if (len > max) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_LIMIT_EXCEEDED,
					     "%s is %" G_GSIZE_FORMAT " bytes; at most %" G_GSIZE_FORMAT
					     " are accepted",
					     what, len, max);
		return NULL;
	}
	/* json-glib takes comments and trailing data, and recurses without a limit */
	if (ark_frontend_http_json_scan(text, len, ARK_FRONTEND_DBUS_AGENTS_MAX_DEPTH, &scan) !=
	    ARK_FRONTEND_HTTP_JSON_SCAN_OK) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "%s is not JSON (RFC 8259, nesting at most %d): %s", what,
					     ARK_FRONTEND_DBUS_AGENTS_MAX_DEPTH,
					     scan.message != NULL ? scan.message : "invalid");
		return NULL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, text, (gssize)len, NULL) ||
	    json_parser_get_root(parser) == NULL) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT, "%s is not JSON",
					     what);
		return NULL;
	}
	return json_node_copy(json_parser_get_root(parser));
}

/* answers -------------------------------------------------------------------------------------- */

/* an assignment as a{sv}: "input" and "progress" also as JSON text ("input_json"), since D-Bus
 * has no null and the a{sv} form alone would lose what an agent needs exactly */
static GVariant *
ark_frontend_dbus_agents_assignment_to_variant(JsonObject *assignment, gboolean with_fence)
{
	g_autoptr(JsonObject) copy = json_object_new();
	g_autoptr(GList) members = json_object_get_members(assignment);

	for (GList *l = members; l != NULL; l = l->next)
		json_object_set_member(copy, l->data,
				       json_node_copy(json_object_get_member(assignment, l->data)));
	if (!with_fence)
		json_object_remove_member(copy, "fence");
	for (const gchar *const *name = (const gchar *const[]){"input", "progress", NULL};
	     *name != NULL; name++) {
		JsonNode *node = json_object_get_member(copy, *name);
		if (node != NULL) {
			g_autofree gchar *text = json_to_string(node, FALSE);
			g_autofree gchar *key = g_strdup_printf("%s_json", *name);
			json_object_set_string_member(copy, key, text);
		}
	}
	return ark_frontend_dbus_json_to_variant(copy);
}

static GVariant *
ark_frontend_dbus_agents_assignments_to_variant(JsonArray *array, gboolean with_fence)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; array != NULL && i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		if (JSON_NODE_HOLDS_OBJECT(node))
			g_variant_builder_add_value(
			    &b, ark_frontend_dbus_agents_assignment_to_variant(
				    json_node_get_object(node), with_fence));
	}
	return g_variant_builder_end(&b);
}

/* (a{sv}) of @object, which is taken */
static void
ark_frontend_dbus_agents_return_object(ArkFrontendDbusCall *call, JsonObject *object)
{
	g_autoptr(JsonObject) owned = object;

	ark_frontend_dbus_call_return(
	    call, g_variant_new_tuple((GVariant *[]){ark_frontend_dbus_json_to_variant(owned)}, 1));
}

/* supervisors ---------------------------------------------------------------------------------- */

static void
ark_frontend_dbus_agents_register(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonNode) spec = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *text = NULL;
	JsonObject *agent;

	g_variant_get(call->params, "(&s)", &text);
	spec = ark_frontend_dbus_agents_parse(call, "the agent's spec", text,
					      ARK_FRONTEND_DBUS_AGENTS_MAX_SPEC);
	if (spec == NULL)
		return;
	if (!JSON_NODE_HOLDS_OBJECT(spec)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the agent's spec must be a JSON object: {\"name\": ..., "
					     "\"capabilities\": [...]}");
		return;
	}
	/* the engine records it in the audit log, with the caller's uid */
	agent = ark_engine_register_agent(self->engine, json_node_get_object(spec), call->actor,
					  &error);
	if (agent == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_agents_return_object(call, agent);
}

static void
ark_frontend_dbus_agents_remove(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;

	g_variant_get(call->params, "(&s)", &agent_id);
	if (!ark_frontend_dbus_agents_check_id(call, "an agent", agent_id))
		return;
	call->target = g_strdup(agent_id);
	if (!ark_engine_deregister_agent(self->engine, agent_id, call->actor, &error)) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_call_return(call, g_variant_new("()"));
}

static void
ark_frontend_dbus_agents_list(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonArray) agents = ark_engine_list_agents(self->engine);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; agents != NULL && i < json_array_get_length(agents); i++) {
		JsonNode *node = json_array_get_element(agents, i);
		if (JSON_NODE_HOLDS_OBJECT(node))
			g_variant_builder_add_value(
			    &b, ark_frontend_dbus_json_to_variant(json_node_get_object(node)));
	}
	ark_frontend_dbus_call_return(call,
				      g_variant_new_tuple((GVariant *[]){g_variant_builder_end(&b)},
							  1));
}

static void
ark_frontend_dbus_agents_get(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	JsonObject *agent;

	g_variant_get(call->params, "(&s)", &agent_id);
	if (!ark_frontend_dbus_agents_check_id(call, "an agent", agent_id))
		return;
	agent = ark_engine_get_agent(self->engine, agent_id, &error);
	if (agent == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_agents_return_object(call, agent);
}

/* a supervisor's list (no token: no fences), or with the agent's token its own */
static void
ark_frontend_dbus_agents_list_assignments(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonArray) assignments = NULL;
	g_autofree gchar *holder = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	gboolean own = FALSE;

	g_variant_get(call->params, "(&s&s)", &agent_id, &token);
	if (token[0] != '\0' && agent_id[0] == '\0') {
		/* the token alone says whose list it is */
		if (strlen(token) <= ARK_FRONTEND_DBUS_AGENTS_MAX_TOKEN)
			holder = ark_engine_authenticate_agent(self->engine, token);
		if (holder == NULL) {
			ark_frontend_dbus_call_failf(call, ARK_ERROR_PERMISSION_DENIED,
						     "the token is not a registered agent's");
			return;
		}
		agent_id = holder;
		own = TRUE;
	} else if (token[0] != '\0') {
		if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token))
			return;
		own = TRUE;
	} else if (agent_id[0] != '\0' &&
		   !ark_frontend_dbus_agents_check_id(call, "an agent", agent_id)) {
		return;
	}
	assignments =
	    ark_engine_list_assignments(self->engine, agent_id[0] != '\0' ? agent_id : NULL);
	ark_frontend_dbus_call_return(
	    call, g_variant_new_tuple(
		      (GVariant *[]){ark_frontend_dbus_agents_assignments_to_variant(assignments,
										     own)},
		      1));
}

static void
ark_frontend_dbus_agents_get_assignment(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonObject) assignment = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;

	g_variant_get(call->params, "(&s)", &assignment_id);
	if (!ark_frontend_dbus_agents_check_id(call, "an assignment", assignment_id))
		return;
	assignment = ark_engine_get_assignment(self->engine, assignment_id, &error);
	if (assignment == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_call_return(
	    call, g_variant_new_tuple(
		      (GVariant *[]){ark_frontend_dbus_agents_assignment_to_variant(assignment,
										    FALSE)},
		      1));
}

static void
ark_frontend_dbus_agents_explain(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *assignment_id = NULL;
	JsonObject *explanation;

	g_variant_get(call->params, "(&s)", &assignment_id);
	if (!ark_frontend_dbus_agents_check_id(call, "an assignment", assignment_id))
		return;
	explanation = ark_engine_explain_assignment(self->engine, assignment_id, &error);
	if (explanation == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	json_object_remove_member(explanation, "fence");
	ark_frontend_dbus_agents_return_object(call, explanation);
}

/* the agent's own methods ---------------------------------------------------------------------- */

static void
ark_frontend_dbus_agents_heartbeat(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	JsonObject *status;
	JsonNode *list;

	g_variant_get(call->params, "(&s&s)", &agent_id, &token);
	if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token))
		return;
	status = ark_engine_agent_heartbeat(self->engine, agent_id, &error);
	if (status == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	/* its assignments as the agent sees them (fences, input as JSON text) */
	list = json_object_get_member(status, "assignments");
	if (list != NULL && JSON_NODE_HOLDS_ARRAY(list)) {
		g_autoptr(GVariant) assignments = g_variant_ref_sink(
		    ark_frontend_dbus_agents_assignments_to_variant(json_node_get_array(list), TRUE));
		g_autoptr(GVariant) rest = NULL;
		GVariantDict d;

		json_object_remove_member(status, "assignments");
		rest = g_variant_ref_sink(ark_frontend_dbus_json_to_variant(status));
		json_object_unref(status);
		g_variant_dict_init(&d, rest);
		g_variant_dict_insert_value(&d, "assignments", assignments);
		ark_frontend_dbus_call_return(
		    call, g_variant_new_tuple((GVariant *[]){g_variant_dict_end(&d)}, 1));
		return;
	}
	ark_frontend_dbus_agents_return_object(call, status);
}

static void
ark_frontend_dbus_agents_claim_cb(ArkEngine *engine, JsonObject *assignment, const GError *error,
				  gpointer user_data)
{
	ArkFrontendDbusCall *call = user_data;
	ArkFrontendDbus *self = call->self;

	if (self->claims != NULL)
		g_ptr_array_remove_fast(self->claims, call);
	if (call->vanished && assignment != NULL) {
		/* the engine should not have handed it out once the wait was cancelled; if it
		 * did, it goes back at once rather than when its lease runs out */
		g_autoptr(GError) local_error = NULL;
		const gchar *id = json_object_get_string_member_with_default(assignment, "id", "");
		if (!ark_engine_release_assignment(
			engine, call->agent_id, id,
			(guint64)json_object_get_int_member_with_default(assignment, "fence", 0),
			"the D-Bus caller left the bus before the claim was answered",
			&local_error))
			g_debug("could not give back %s: %s", id, local_error->message);
		assignment = NULL;
	}
	if (error != NULL || call->vanished) {
		if (!self->started)
			ark_frontend_dbus_call_failf(call, ARK_ERROR_BUSY,
						     "the D-Bus interface is stopping");
		else if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			ark_frontend_dbus_call_fail(call, error);
		else
			ark_frontend_dbus_call_failf(call, ARK_ERROR_FAILED,
						     "the claim was cancelled: the caller left "
						     "the bus");
		return;
	}
	if (assignment == NULL) {
		ark_frontend_dbus_call_return(
		    call, g_variant_new("(b@a{sv})", FALSE,
					g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)));
		return;
	}
	ark_frontend_dbus_call_return(
	    call,
	    g_variant_new("(b@a{sv})", TRUE,
			  ark_frontend_dbus_agents_assignment_to_variant(assignment, TRUE)));
}

static void
ark_frontend_dbus_agents_caller_vanished_cb(GDBusConnection *connection, const gchar *name,
					    gpointer user_data)
{
	ArkFrontendDbusCall *call = user_data;

	if (call->vanished)
		return;
	call->vanished = TRUE;
	g_cancellable_cancel(call->cancellable);
}

static void
ark_frontend_dbus_agents_claim(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	const gchar *sender = g_dbus_method_invocation_get_sender(call->invocation);
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	guint32 wait_ms = 0;

	g_variant_get(call->params, "(&s&su)", &agent_id, &token, &wait_ms);
	if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token))
		return;
	if ((gint64)wait_ms * 1000 > ARK_AGENT_MAX_WAIT) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "wait_ms must be at most %" G_GINT64_FORMAT,
					     ARK_AGENT_MAX_WAIT / 1000);
		return;
	}
	call->agent_id = g_strdup(agent_id);
	call->cancellable = g_cancellable_new();
	/* the caller leaving the bus cancels the wait; the watch also says so when it has left
	 * already, before the engine could hand it anything */
	if (wait_ms > 0 && sender != NULL)
		call->watch_id = g_bus_watch_name_on_connection(
		    g_dbus_method_invocation_get_connection(call->invocation), sender,
		    G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, ark_frontend_dbus_agents_caller_vanished_cb,
		    call, NULL);
	g_ptr_array_add(self->claims, call);
	/* the callback may answer (and free) the call before this returns */
	ark_engine_claim_assignment(self->engine, agent_id, (gint64)wait_ms * 1000,
				    call->cancellable, ark_frontend_dbus_agents_claim_cb, call);
}

static void
ark_frontend_dbus_agents_assignment_heartbeat(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonNode) progress = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	const gchar *assignment_id = NULL;
	const gchar *text = NULL;
	guint64 fence = 0;
	JsonObject *lease;

	g_variant_get(call->params, "(&s&s&st&s)", &agent_id, &token, &assignment_id, &fence,
		      &text);
	if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token) ||
	    !ark_frontend_dbus_agents_check_id(call, "an assignment", assignment_id))
		return;
	if (text[0] != '\0') {
		progress = ark_frontend_dbus_agents_parse(call, "progress", text,
							  ARK_AGENT_MAX_PROGRESS_BYTES);
		if (progress == NULL)
			return;
	}
	lease = ark_engine_assignment_heartbeat(self->engine, agent_id, assignment_id, fence,
						progress, &error);
	if (lease == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_agents_return_object(call, lease);
}

static void
ark_frontend_dbus_agents_complete(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonNode) result = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	const gchar *assignment_id = NULL;
	const gchar *text = NULL;
	guint64 fence = 0;
	JsonObject *outcome;

	g_variant_get(call->params, "(&s&s&st&s)", &agent_id, &token, &assignment_id, &fence,
		      &text);
	if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token) ||
	    !ark_frontend_dbus_agents_check_id(call, "an assignment", assignment_id))
		return;
	result = ark_frontend_dbus_agents_parse(call, "the result", text, ARK_RESULT_MAX_BYTES);
	if (result == NULL)
		return;
	outcome = ark_engine_complete_assignment(self->engine, agent_id, assignment_id, fence,
						 result, &error);
	if (outcome == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_agents_return_object(call, outcome);
}

/* Fail and Release */
static void
ark_frontend_dbus_agents_hand_back(ArkFrontendDbus *self, ArkFrontendDbusCall *call,
				   gboolean fail)
{
	g_autoptr(GError) error = NULL;
	const gchar *agent_id = NULL;
	const gchar *token = NULL;
	const gchar *assignment_id = NULL;
	const gchar *reason = NULL;
	guint64 fence = 0;
	gboolean ok;

	g_variant_get(call->params, "(&s&s&st&s)", &agent_id, &token, &assignment_id, &fence,
		      &reason);
	if (!ark_frontend_dbus_agents_authenticate(call, agent_id, token) ||
	    !ark_frontend_dbus_agents_check_id(call, "an assignment", assignment_id))
		return;
	if (strlen(reason) > ARK_AGENT_MAX_REASON_LEN || (fail && reason[0] == '\0')) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the reason must be %d to %d bytes", fail ? 1 : 0,
					     ARK_AGENT_MAX_REASON_LEN);
		return;
	}

	if (fail)
		ok = ark_engine_fail_assignment(self->engine, agent_id, assignment_id, fence, reason,
						&error);
	else
		ok = ark_engine_release_assignment(self->engine, agent_id, assignment_id, fence,
						   reason[0] != '\0' ? reason : NULL, &error);
	if (!ok) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_call_return(call, g_variant_new("()"));
}

static void
ark_frontend_dbus_agents_fail(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	ark_frontend_dbus_agents_hand_back(self, call, TRUE);
}

static void
ark_frontend_dbus_agents_release(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	ark_frontend_dbus_agents_hand_back(self, call, FALSE);
}

/* the interface -------------------------------------------------------------------------------- */

static const ArkFrontendDbusMethod ark_frontend_dbus_agents_table[] = {
    {"RegisterAgent", "agent.register", ARK_FRONTEND_DBUS_ACCESS_ADMIN,
     ark_frontend_dbus_agents_register, TRUE},
    {"RemoveAgent", "agent.remove", ARK_FRONTEND_DBUS_ACCESS_ADMIN,
     ark_frontend_dbus_agents_remove, TRUE},
    {"ListAgents", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_agents_list},
    {"GetAgent", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_agents_get},
    {"ListAssignments", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT,
     ark_frontend_dbus_agents_list_assignments},
    {"GetAssignment", NULL, ARK_FRONTEND_DBUS_ACCESS_READ,
     ark_frontend_dbus_agents_get_assignment},
    {"ExplainAssignment", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_agents_explain},
    /* the engine audits what agents hand in, with the agent as the actor */
    {"Heartbeat", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT, ark_frontend_dbus_agents_heartbeat},
    {"Claim", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT, ark_frontend_dbus_agents_claim},
    {"AssignmentHeartbeat", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT,
     ark_frontend_dbus_agents_assignment_heartbeat},
    {"Complete", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT, ark_frontend_dbus_agents_complete},
    {"Fail", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT, ark_frontend_dbus_agents_fail},
    {"Release", NULL, ARK_FRONTEND_DBUS_ACCESS_AGENT, ark_frontend_dbus_agents_release},
};

const ArkFrontendDbusMethod *
ark_frontend_dbus_agents_methods(guint *out_n)
{
	*out_n = G_N_ELEMENTS(ark_frontend_dbus_agents_table);
	return ark_frontend_dbus_agents_table;
}

/* the skeleton's handle-* signals, with the arguments its marshaller passes; every one goes to
 * ark_frontend_dbus_dispatch(), which reads them from the invocation */
#define ARK_FRONTEND_DBUS_AGENTS_HANDLER(fn, ...)                                                   \
	static gboolean fn(ArkDbusAgents *skeleton, GDBusMethodInvocation *invocation,             \
			   __VA_ARGS__, gpointer user_data)                                        \
	{                                                                                          \
		ark_frontend_dbus_dispatch(user_data, invocation);                                 \
		return G_DBUS_METHOD_INVOCATION_HANDLED;                                           \
	}

ARK_FRONTEND_DBUS_AGENTS_HANDLER(ark_frontend_dbus_agents_handle_one_cb, const gchar *a)
ARK_FRONTEND_DBUS_AGENTS_HANDLER(ark_frontend_dbus_agents_handle_two_cb, const gchar *a,
				 const gchar *b)
ARK_FRONTEND_DBUS_AGENTS_HANDLER(ark_frontend_dbus_agents_handle_claim_cb, const gchar *a,
				 const gchar *b, guint c)
ARK_FRONTEND_DBUS_AGENTS_HANDLER(ark_frontend_dbus_agents_handle_fenced_cb, const gchar *a,
				 const gchar *b, const gchar *c, guint64 d, const gchar *e)

static gboolean
ark_frontend_dbus_agents_handle_none_cb(ArkDbusAgents *skeleton,
					GDBusMethodInvocation *invocation, gpointer user_data)
{
	ark_frontend_dbus_dispatch(user_data, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
ark_frontend_dbus_agents_connect(ArkFrontendDbus *self)
{
	static const struct {
		const gchar *signal;
		GCallback handler;
	} handlers[] = {
	    {"handle-register-agent", G_CALLBACK(ark_frontend_dbus_agents_handle_one_cb)},
	    {"handle-remove-agent", G_CALLBACK(ark_frontend_dbus_agents_handle_one_cb)},
	    {"handle-list-agents", G_CALLBACK(ark_frontend_dbus_agents_handle_none_cb)},
	    {"handle-get-agent", G_CALLBACK(ark_frontend_dbus_agents_handle_one_cb)},
	    {"handle-list-assignments", G_CALLBACK(ark_frontend_dbus_agents_handle_two_cb)},
	    {"handle-get-assignment", G_CALLBACK(ark_frontend_dbus_agents_handle_one_cb)},
	    {"handle-explain-assignment", G_CALLBACK(ark_frontend_dbus_agents_handle_one_cb)},
	    {"handle-heartbeat", G_CALLBACK(ark_frontend_dbus_agents_handle_two_cb)},
	    {"handle-claim", G_CALLBACK(ark_frontend_dbus_agents_handle_claim_cb)},
	    {"handle-assignment-heartbeat", G_CALLBACK(ark_frontend_dbus_agents_handle_fenced_cb)},
	    {"handle-complete", G_CALLBACK(ark_frontend_dbus_agents_handle_fenced_cb)},
	    {"handle-fail", G_CALLBACK(ark_frontend_dbus_agents_handle_fenced_cb)},
	    {"handle-release", G_CALLBACK(ark_frontend_dbus_agents_handle_fenced_cb)},
	};

	for (guint i = 0; i < G_N_ELEMENTS(handlers); i++)
		g_signal_connect(self->agents_skeleton, handlers[i].signal, handlers[i].handler,
				 self);
}

void
ark_frontend_dbus_agents_stop(ArkFrontendDbus *self)
{
	g_autoptr(GPtrArray) claims = NULL;

	if (self->claims == NULL)
		return;
	/* each one's callback answers it (Busy), now or from the main loop */
	claims = g_ptr_array_copy(self->claims, NULL, NULL);
	g_ptr_array_set_size(self->claims, 0);
	for (guint i = 0; i < claims->len; i++)
		g_cancellable_cancel(((ArkFrontendDbusCall *)g_ptr_array_index(claims, i))->cancellable);
}
