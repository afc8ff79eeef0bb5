/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-http-private.h"

/*
 * The agent routes (docs/http-api.md, "Agents"; the protocol is in docs/agents.md). The engine
 * (ark-engine-agents.h) does the work and checks what only it knows (who holds an assignment,
 * its fencing token); this file checks the request: who may call (the early handler already
 * matched an agent's token to its own routes), the body's shape and sizes, and the long poll of
 * a claim.
 *
 * A claim with ?wait= pauses its message until the engine answers. While it waits libsoup reads
 * and writes nothing on the connection, so the socket is watched: a client that goes away
 * cancels the claim at once, and the engine then hands it nothing (what would have been its
 * assignment stays offered to the next claim). The request-timeout sweep only looks at
 * connections that are still receiving a request, and a claim's request (headers, no body) has
 * been received when it starts to wait, so a long poll is never cut short by it; its own limit
 * is ARK_AGENT_MAX_WAIT.
 */

/* claims one agent may have waiting at once: an agent with many workers polls with each, and
 * this only keeps one token from holding an unbounded number of connections */
#define ARK_FRONTEND_HTTP_MAX_CLAIMS_PER_AGENT 64

/* agent and assignment ids have the shape of run ids: 1 to 128 of [A-Za-z0-9_-] */
gboolean
ark_frontend_http_valid_agent_id(const gchar *id)
{
	return ark_frontend_http_valid_run_id(id);
}

gboolean
ark_frontend_http_valid_assignment_id(const gchar *id)
{
	return ark_frontend_http_valid_agent_id(id);
}

static void
ark_frontend_http_agents_respond_array(SoupServerMessage *msg, const gchar *member,
				       JsonArray *array)
{
	g_autoptr(JsonObject) root = json_object_new();

	json_object_set_array_member(root, member, json_array_ref(array));
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, root);
}

/* what an API token sees of an assignment: its fencing token is for the agent that holds it */
static void
ark_frontend_http_agents_strip_fence(JsonObject *assignment)
{
	if (assignment != NULL && json_object_has_member(assignment, "fence"))
		json_object_remove_member(assignment, "fence");
}

/* registry ------------------------------------------------------------------------------------ */

void
ark_frontend_http_agents_register(ArkFrontendHttp *self, SoupServerMessage *msg,
				  ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(JsonObject) spec = NULL;
	g_autoptr(JsonObject) agent = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *id;
	gboolean ok;

	spec = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok)
		return;
	if (spec == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "the body must be the agent: {\"name\": ..., "
					  "\"capabilities\": [...]}");
		return;
	}
	agent = ark_engine_register_agent(self->engine, spec, req->actor, &error);
	if (agent == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	id = json_object_get_string_member_with_default(agent, "id", NULL);
	if (id != NULL) {
		g_autofree gchar *escaped = g_uri_escape_string(id, NULL, FALSE);
		g_autofree gchar *location = g_strdup_printf("/api/v1/agents/%s", escaped);
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Location", location);
	}
	/* the token is in this answer and nowhere else: nothing may keep it */
	soup_message_headers_replace(soup_server_message_get_response_headers(msg),
				     "Cache-Control", "no-store");
	ark_frontend_http_respond_object(msg, SOUP_STATUS_CREATED, agent);
}

void
ark_frontend_http_agents_list(ArkFrontendHttp *self, SoupServerMessage *msg,
			      ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(JsonArray) agents = ark_engine_list_agents(self->engine);

	ark_frontend_http_agents_respond_array(msg, "agents", agents);
}

void
ark_frontend_http_agents_get(ArkFrontendHttp *self, SoupServerMessage *msg,
			     ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) agent = ark_engine_get_agent(self->engine, req->params[0], &error);

	if (agent == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, agent);
}

void
ark_frontend_http_agents_remove(ArkFrontendHttp *self, SoupServerMessage *msg,
				ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;

	if (!ark_engine_deregister_agent(self->engine, req->params[0], req->actor, &error)) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
}

/* an agent's own routes ------------------------------------------------------------------------ */

void
ark_frontend_http_agents_heartbeat(ArkFrontendHttp *self, SoupServerMessage *msg,
				   ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) answer =
	    ark_engine_agent_heartbeat(self->engine, req->agent_id, &error);

	if (answer == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, answer);
}

void
ark_frontend_http_agents_own_assignments(ArkFrontendHttp *self, SoupServerMessage *msg,
					 ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(JsonArray) assignments =
	    ark_engine_list_assignments(self->engine, req->agent_id);

	ark_frontend_http_agents_respond_array(msg, "assignments", assignments);
}

/* a claim between ark_engine_claim_assignment() and its answer */
typedef struct {
	ArkFrontendHttp *self;
	SoupServerMessage *msg;
	gchar *agent_id;
	GCancellable *cancellable;
	gulong finished_id;
	GSource *hangup;
	gboolean calling;  /* inside ark_engine_claim_assignment() */
	gboolean paused;   /* waiting: the message is paused and counted in self->claims */
	gboolean answered; /* the engine's callback ran */
	gboolean finished; /* the message is over (client gone, server stopping) */
} ArkFrontendHttpClaim;

static void
ark_frontend_http_agents_claim_free(ArkFrontendHttpClaim *claim)
{
	if (claim->finished_id != 0)
		g_signal_handler_disconnect(claim->msg, claim->finished_id);
	if (claim->hangup != NULL) {
		g_source_destroy(claim->hangup);
		g_source_unref(claim->hangup);
	}
	if (claim->paused) {
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(claim->self->claims,
							       claim->agent_id));
		g_ptr_array_remove_fast(claim->self->waiting_claims, claim);
		if (n <= 1)
			g_hash_table_remove(claim->self->claims, claim->agent_id);
		else
			g_hash_table_insert(claim->self->claims, g_strdup(claim->agent_id),
					    GUINT_TO_POINTER(n - 1));
	}
	g_clear_object(&claim->cancellable);
	g_clear_object(&claim->msg);
	g_clear_object(&claim->self);
	g_free(claim->agent_id);
	g_free(claim);
}

static void
ark_frontend_http_agents_claim_cb(ArkEngine *engine, JsonObject *assignment, const GError *error,
				  gpointer user_data)
{
	ArkFrontendHttpClaim *claim = user_data;
	SoupServerMessage *msg = claim->msg;

	claim->answered = TRUE;
	if (!claim->finished) {
		if (assignment != NULL)
			ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, assignment);
		else if (error == NULL)
			soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
		else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			/* the client went away: nobody reads this */
			ark_frontend_http_problem(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
						  "unavailable", "the claim was cancelled");
		else
			ark_frontend_http_problem_from_error(msg, error);
		if (claim->paused)
			soup_server_message_unpause(msg);
	} else if (assignment != NULL) {
		/* the engine promises not to hand out work once cancelled; say so if it did */
		g_warning("a claim of agent %s was answered with assignment %s after its client "
			  "went away",
			  claim->agent_id,
			  json_object_get_string_member_with_default(assignment, "id", "?"));
	}
	if (!claim->calling)
		ark_frontend_http_agents_claim_free(claim);
}

void
ark_frontend_http_agents_stop(ArkFrontendHttp *self)
{
	g_autoptr(GPtrArray) claims = g_ptr_array_copy(self->waiting_claims, NULL, NULL);

	/* the server's disconnect ends the messages without a word to us: nothing may touch them
	 * after it, so each claim is withdrawn now (a cancel may call back and free it) */
	for (guint i = 0; i < claims->len; i++) {
		ArkFrontendHttpClaim *claim = g_ptr_array_index(claims, i);
		if (!g_ptr_array_find(self->waiting_claims, claim, NULL))
			continue;
		claim->finished = TRUE;
		g_clear_signal_handler(&claim->finished_id, claim->msg);
		if (claim->hangup != NULL) {
			g_source_destroy(claim->hangup);
			g_clear_pointer(&claim->hangup, g_source_unref);
		}
		g_cancellable_cancel(claim->cancellable);
	}
}

/* the message ended before the engine answered: the claim is withdrawn */
static void
ark_frontend_http_agents_claim_finished_cb(SoupServerMessage *msg, gpointer user_data)
{
	ArkFrontendHttpClaim *claim = user_data;

	claim->finished = TRUE;
	g_signal_handler_disconnect(claim->msg, claim->finished_id);
	claim->finished_id = 0;
	/* may call back (and free @claim) before it returns */
	g_cancellable_cancel(claim->cancellable);
}

/*
 * A waiting claim's client sends nothing after its request, so its socket becoming readable
 * with nothing to read means the client closed it: the claim is cancelled then and there
 * (libsoup, which neither reads nor writes a paused message, would learn it only when it
 * answered, and by then the answer could have carried an assignment nobody receives).
 */
static gboolean
ark_frontend_http_agents_claim_hangup_cb(GSocket *socket, GIOCondition condition,
					 gpointer user_data)
{
	ArkFrontendHttpClaim *claim = user_data;
	ArkFrontendHttpSocketState state = ark_frontend_http_socket_state(socket, condition);

	if (state == ARK_FRONTEND_HTTP_SOCKET_QUIET)
		return G_SOURCE_CONTINUE;
	/* a pipelined request is read after this answer: stop watching */
	g_source_unref(g_steal_pointer(&claim->hangup));
	if (state == ARK_FRONTEND_HTTP_SOCKET_PIPELINED)
		return G_SOURCE_REMOVE;
	/* the answer the callback gives goes to a closed socket, and libsoup ends the message */
	ark_frontend_http_shutdown_socket(socket);
	g_cancellable_cancel(claim->cancellable);
	return G_SOURCE_REMOVE;
}

/* ?wait=: a duration ("30s") or seconds ("30"), 0 to ARK_AGENT_MAX_WAIT; FALSE after a 400 */
static gboolean
ark_frontend_http_agents_parse_wait(SoupServerMessage *msg, GHashTable *query, gint64 *out_wait)
{
	const gchar *value = query != NULL ? g_hash_table_lookup(query, "wait") : NULL;
	guint64 seconds = 0;
	gint64 usec = 0;

	*out_wait = 0;
	if (value == NULL || value[0] == '\0')
		return TRUE;
	if (g_ascii_string_to_unsigned(value, 10, 0, ARK_AGENT_MAX_WAIT / G_USEC_PER_SEC,
				       &seconds, NULL))
		usec = (gint64)seconds * G_USEC_PER_SEC;
	else if (!ark_duration_parse(value, &usec, NULL) || usec > ARK_AGENT_MAX_WAIT)
		usec = -1;
	if (usec < 0) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "wait must be a duration from 0s to %" G_GINT64_FORMAT
					  "s (e.g. 30s)",
					  ARK_AGENT_MAX_WAIT / G_USEC_PER_SEC);
		return FALSE;
	}
	*out_wait = usec;
	return TRUE;
}

void
ark_frontend_http_agents_claim(ArkFrontendHttp *self, SoupServerMessage *msg,
			       ArkFrontendHttpRequest *req, GHashTable *query)
{
	ArkFrontendHttpClaim *claim;
	GSocket *socket;
	gint64 wait = 0;
	guint waiting;

	if (!ark_frontend_http_agents_parse_wait(msg, query, &wait))
		return;
	waiting = GPOINTER_TO_UINT(g_hash_table_lookup(self->claims, req->agent_id));
	if (wait > 0 && waiting >= ARK_FRONTEND_HTTP_MAX_CLAIMS_PER_AGENT) {
		ark_frontend_http_problem(msg, ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS,
					  "too-many-claims",
					  "agent %s already has %u claims waiting; this server "
					  "allows %d per agent",
					  req->agent_id, waiting,
					  ARK_FRONTEND_HTTP_MAX_CLAIMS_PER_AGENT);
		return;
	}

	claim = g_new0(ArkFrontendHttpClaim, 1);
	claim->self = g_object_ref(self);
	claim->msg = g_object_ref(msg);
	claim->agent_id = g_strdup(req->agent_id);
	claim->cancellable = g_cancellable_new();
	claim->calling = TRUE;
	ark_engine_claim_assignment(self->engine, req->agent_id, wait, claim->cancellable,
				    ark_frontend_http_agents_claim_cb, claim);
	claim->calling = FALSE;
	if (claim->answered) {
		ark_frontend_http_agents_claim_free(claim);
		return;
	}

	/* the engine answers later: the message waits, and so does its connection */
	claim->paused = TRUE;
	g_ptr_array_add(self->waiting_claims, claim);
	g_hash_table_insert(self->claims, g_strdup(req->agent_id), GUINT_TO_POINTER(waiting + 1));
	/* a long poll's duration is the wait, not the server's latency */
	req->streaming = TRUE;
	soup_server_message_pause(msg);
	claim->finished_id = g_signal_connect(
	    msg, "finished", G_CALLBACK(ark_frontend_http_agents_claim_finished_cb), claim);
	socket = ark_frontend_http_message_get_socket(msg);
	if (socket != NULL) {
		claim->hangup = g_socket_create_source(socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(claim->hangup,
				      G_SOURCE_FUNC(ark_frontend_http_agents_claim_hangup_cb),
				      claim, NULL);
		g_source_attach(claim->hangup, NULL);
	}
}

/* assignments --------------------------------------------------------------------------------- */

void
ark_frontend_http_agents_assignment_list(ArkFrontendHttp *self, SoupServerMessage *msg,
					 ArkFrontendHttpRequest *req, GHashTable *query)
{
	const gchar *agent = query != NULL ? g_hash_table_lookup(query, "agent") : NULL;
	g_autoptr(JsonArray) assignments = NULL;

	if (agent != NULL && agent[0] == '\0')
		agent = NULL;
	if (agent != NULL && !ark_frontend_http_valid_agent_id(agent)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "agent must be an agent id");
		return;
	}
	assignments = ark_engine_list_assignments(self->engine, agent);
	for (guint i = 0; i < json_array_get_length(assignments); i++) {
		JsonNode *node = json_array_get_element(assignments, i);
		if (JSON_NODE_HOLDS_OBJECT(node))
			ark_frontend_http_agents_strip_fence(json_node_get_object(node));
	}
	ark_frontend_http_agents_respond_array(msg, "assignments", assignments);
}

void
ark_frontend_http_agents_assignment_get(ArkFrontendHttp *self, SoupServerMessage *msg,
					ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) assignment =
	    ark_engine_get_assignment(self->engine, req->params[0], &error);

	if (assignment == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_agents_strip_fence(assignment);
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, assignment);
}

void
ark_frontend_http_agents_assignment_explain(ArkFrontendHttp *self, SoupServerMessage *msg,
					    ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) why =
	    ark_engine_explain_assignment(self->engine, req->params[0], &error);
	JsonNode *assignment;

	if (why == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	assignment = json_object_get_member(why, "assignment");
	if (assignment != NULL && JSON_NODE_HOLDS_OBJECT(assignment))
		ark_frontend_http_agents_strip_fence(json_node_get_object(assignment));
	ark_frontend_http_agents_strip_fence(why);
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, why);
}

/*
 * The body of an agent's call about an assignment: a JSON object with "fence" (the integer the
 * claim answered with) and the members in @allowed. FALSE after a 4xx.
 */
static JsonObject *
ark_frontend_http_agents_assignment_body(ArkFrontendHttp *self, SoupServerMessage *msg,
					 const gchar *const *allowed, guint64 *out_fence)
{
	g_autoptr(JsonObject) body = NULL;
	JsonNode *fence;
	gboolean ok;

	body = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok)
		return NULL;
	if (body == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "the body must be a JSON object with the assignment's "
					  "\"fence\"");
		return NULL;
	}
	if (!ark_frontend_http_check_members(msg, body, allowed))
		return NULL;
	fence = json_object_get_member(body, "fence");
	if (fence == NULL || !JSON_NODE_HOLDS_VALUE(fence) ||
	    json_node_get_value_type(fence) != G_TYPE_INT64 || json_node_get_int(fence) < 0) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "fence must be the integer the claim answered with");
		return NULL;
	}
	*out_fence = (guint64)json_node_get_int(fence);
	return g_steal_pointer(&body);
}

/* the JSON value @name of @body, at most @max bytes as text; NULL when absent (and @out_ok
 * TRUE), or after a 413 */
static JsonNode *
ark_frontend_http_agents_json_member(SoupServerMessage *msg, JsonObject *body, const gchar *name,
				     gsize max, gboolean *out_ok)
{
	JsonNode *node = json_object_get_member(body, name);
	g_autofree gchar *text = NULL;
	gsize len;

	*out_ok = TRUE;
	if (node == NULL)
		return NULL;
	text = json_to_string(node, FALSE);
	len = strlen(text);
	if (len > max) {
		*out_ok = FALSE;
		ark_frontend_http_problem(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
					  "limit-exceeded",
					  "%s is %" G_GSIZE_FORMAT " bytes of JSON; at most "
					  "%" G_GSIZE_FORMAT " are accepted",
					  name, len, max);
		return NULL;
	}
	return node;
}

void
ark_frontend_http_agents_assignment_heartbeat(ArkFrontendHttp *self, SoupServerMessage *msg,
					      ArkFrontendHttpRequest *req, GHashTable *query)
{
	static const gchar *const members[] = {"fence", "progress", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autoptr(GError) error = NULL;
	JsonNode *progress;
	guint64 fence = 0;
	gboolean ok;

	body = ark_frontend_http_agents_assignment_body(self, msg, members, &fence);
	if (body == NULL)
		return;
	progress = ark_frontend_http_agents_json_member(msg, body, "progress",
							 ARK_AGENT_MAX_PROGRESS_BYTES, &ok);
	if (!ok)
		return;
	answer = ark_engine_assignment_heartbeat(self->engine, req->agent_id, req->params[0], fence,
						 progress, &error);
	if (answer == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, answer);
}

void
ark_frontend_http_agents_assignment_complete(ArkFrontendHttp *self, SoupServerMessage *msg,
					     ArkFrontendHttpRequest *req, GHashTable *query)
{
	static const gchar *const members[] = {"fence", "result", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autoptr(GError) error = NULL;
	JsonNode *result;
	guint64 fence = 0;
	gboolean ok;

	body = ark_frontend_http_agents_assignment_body(self, msg, members, &fence);
	if (body == NULL)
		return;
	result = ark_frontend_http_agents_json_member(msg, body, "result", ARK_RESULT_MAX_BYTES,
						      &ok);
	if (!ok)
		return;
	if (result == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "result is missing: any JSON value (null too)");
		return;
	}
	answer = ark_engine_complete_assignment(self->engine, req->agent_id, req->params[0], fence,
						result, &error);
	if (answer == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, answer);
}

/* fail (@required) and release: {"fence", "reason"} */
static void
ark_frontend_http_agents_assignment_end(ArkFrontendHttp *self, SoupServerMessage *msg,
					ArkFrontendHttpRequest *req, gboolean fail)
{
	static const gchar *const members[] = {"fence", "reason", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *reason = NULL;
	guint64 fence = 0;
	gboolean ok;

	body = ark_frontend_http_agents_assignment_body(self, msg, members, &fence);
	if (body == NULL ||
	    !ark_frontend_http_member_string(msg, body, "reason", ARK_AGENT_MAX_REASON_LEN,
					     &reason))
		return;
	if (fail && (reason == NULL || reason[0] == '\0')) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "reason is required: why the agent could not do it");
		return;
	}
	if (reason != NULL && !g_utf8_validate(reason, -1, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "reason must be UTF-8");
		return;
	}
	ok = fail ? ark_engine_fail_assignment(self->engine, req->agent_id, req->params[0], fence,
					       reason, &error)
		  : ark_engine_release_assignment(self->engine, req->agent_id, req->params[0],
						  fence, reason, &error);
	if (!ok) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	answer = ark_engine_get_assignment(self->engine, req->params[0], NULL);
	if (answer == NULL) {
		answer = json_object_new();
		json_object_set_string_member(answer, "id", req->params[0]);
		json_object_set_string_member(answer, "state", fail ? "failed" : "released");
	}
	ark_frontend_http_respond_object(msg, SOUP_STATUS_OK, answer);
}

void
ark_frontend_http_agents_assignment_fail(ArkFrontendHttp *self, SoupServerMessage *msg,
					 ArkFrontendHttpRequest *req, GHashTable *query)
{
	ark_frontend_http_agents_assignment_end(self, msg, req, TRUE);
}

void
ark_frontend_http_agents_assignment_release(ArkFrontendHttp *self, SoupServerMessage *msg,
					    ArkFrontendHttpRequest *req, GHashTable *query)
{
	ark_frontend_http_agents_assignment_end(self, msg, req, FALSE);
}
