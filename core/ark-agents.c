/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <arkitect/arkitect-core.h>

#include "ark-agents-private.h"

/*
 * The agents of an engine (docs/agents.md): who is registered, online and trusted with what, and
 * the assignments that hand the pieces of agent tasks to them.
 *
 * An attempt of an agent task is one "work": its pieces (the coordinator's split of the input),
 * each needing `contenders` agents at once. Matching offers waiting pieces to online agents the
 * coordinator chooses; an agent claims its oldest offer and holds it under a lease with a
 * fencing token that every later call must carry. Every change is put into the engine's batch
 * (objects "agent", "trust", "assignment") and committed with its next tick, so a restart finds
 * the assignments as they were and the executor adopts them back.
 *
 * Time is the engine's clock; on a virtual clock nothing waits on real time and the clock's owner
 * fires the timers (ark_agents_fire_timers through ark_engine_fire_timers).
 */

#define ARK_AGENTS_KEEP_ENDED ((gint64)3600 * G_USEC_PER_SEC) /* ended assignments answer calls */
#define ARK_AGENTS_SAME_AGENT_LIMIT 3 /* one agent handing one piece back this often: a loop */
#define ARK_AGENTS_MAX_CAPABILITY_LEN 128
#define ARK_AGENTS_MAX_RESULT_DEPTH 60 /* the engine stores results nested up to 64 deep */
/* candidates an assignment's "choice" lists besides the chosen ones */
#define ARK_AGENTS_CHOICE_SHOWN 16

typedef enum {
	ARK_ASSIGNMENT_OFFERED,
	ARK_ASSIGNMENT_CLAIMED,
	ARK_ASSIGNMENT_COMPLETED,
	ARK_ASSIGNMENT_REJECTED,
	ARK_ASSIGNMENT_FAILED,
	ARK_ASSIGNMENT_RELEASED,
	ARK_ASSIGNMENT_EXPIRED,
	ARK_ASSIGNMENT_CANCELLED,
	ARK_ASSIGNMENT_LAST
} ArkAssignmentState;

static const gchar *const ark_assignment_state_names[] = {
    "offered", "claimed", "completed", "rejected", "failed", "released", "expired", "cancelled",
};

typedef struct {
	gchar *name;
	gdouble proficiency;
} ArkAgentCapability;

typedef struct {
	gchar *id;
	gchar *name;
	GArray *caps; /* ArkAgentCapability */
	guint max_assignments;
	JsonNode *metadata; /* an object */
	gchar *token_sha256;
	ArkTimestamp registered_at;
	ArkTimestamp last_heartbeat;
	gboolean online;
	guint load;	   /* assignments offered to it or held by it */
	guint waiting;	   /* claims of it waiting: it is present while it waits */
	GHashTable *trust; /* capability -> ArkTrust */
} ArkAgent;

typedef struct _ArkAgentWork ArkAgentWork;

typedef struct {
	gchar *id;
	gchar *run_id;
	gchar *task_id;
	guint attempt;
	guint piece;
	gchar *agent_id;
	gchar *mode;
	ArkAssignmentState state;
	guint64 fence;
	guint64 seq; /* creation order: oldest first */
	ArkTimestamp offered_at;
	ArkTimestamp claimed_at;
	ArkTimestamp lease_expires_at;
	ArkTimestamp ended_at;
	JsonNode *progress;
	gchar *reason;
	gchar *result; /* the accepted result, JSON text */
	gchar *choice; /* why it was offered: the coordinator's candidates, JSON text */
	gboolean checking; /* its result is with the acceptance command */
	ArkAgentWork *work; /* NULL once its attempt ended (or before it is adopted) */
} ArkAssignment;

typedef struct {
	JsonNode *input;
	JsonNode *result; /* the accepted result, once done */
	gboolean done;
	guint active;	    /* assignments offered or claimed */
	guint handoffs;	    /* releases, expiries and rejections */
	GPtrArray *handbacks; /* agent ids, one per handoff, in order */
	GHashTable *tried;    /* agents that already held it in this attempt */
	GPtrArray *holders;   /* its ArkAssignments, in any state */
} ArkAgentPiece;

struct _ArkAgentWork {
	ArkAgents *agents;
	ArkAttempt *attempt;
	const ArkTaskSpec *spec;
	gchar *key; /* "RUN/TASK" */
	ArkCoordinator *coordinator;
	ArkAgentPiece *pieces;
	guint n_pieces;
	guint n_done;
	guint contenders;
	ArkTimestamp timeout_at; /* 0 for none */
	GPtrArray *assignments;	 /* every ArkAssignment of this attempt */
	gboolean ended;
};

typedef struct {
	ArkAgents *agents;
	gchar *agent_id;
	ArkTimestamp deadline;
	GCancellable *cancellable;
	gulong cancelled_id;
	ArkClaimCallback callback;
	gpointer user_data;
} ArkClaimWaiter;

struct _ArkAgents {
	ArkEngine *engine; /* owns this */
	gint64 heartbeat_timeout;
	gint64 offer_timeout;
	gint64 half_life;
	guint max_agents;
	gboolean persist; /* the store keeps objects */

	GHashTable *coordinators; /* name -> ArkCoordinator */
	GHashTable *agents;	  /* id -> ArkAgent */
	GHashTable *tokens;	  /* token_sha256 -> ArkAgent */
	GHashTable *assignments;  /* id -> ArkAssignment */
	GPtrArray *order;	  /* ArkAssignment, oldest first */
	GHashTable *works;	  /* "RUN/TASK" -> ArkAgentWork */
	GPtrArray *work_list;	  /* ArkAgentWork, oldest first */
	GPtrArray *waiters;	  /* ArkClaimWaiter, oldest first */
	guint64 next_fence;
	guint64 next_seq;

	ArkTimestamp next_at; /* no timer is due before this */
	GSource *timer_source;
	guint match_id;
	guint deliver_id;
	GCancellable *checks; /* cancels the acceptance commands still running at the end */
	gboolean stopped;
	gboolean loaded_active; /* assignments held before a restart may still be orphans */

	ArkMetric *m_agents;
	ArkMetric *m_assignments;
	ArkMetric *m_outcomes;
	ArkMetric *m_trust;
};

static void ark_agents_schedule_match(ArkAgents *self);
static void ark_agents_schedule_deliver(ArkAgents *self);
static void ark_agents_work_finish(ArkAgentWork *work, const ArkAttemptResult *result);

/* small things --------------------------------------------------------------------------------- */

static ArkTimestamp
ark_agents_now(ArkAgents *self)
{
	return ark_engine_get_time(self->engine);
}

static const gchar *
ark_assignment_state_to_string(ArkAssignmentState state)
{
	return state < ARK_ASSIGNMENT_LAST ? ark_assignment_state_names[state] : "unknown";
}

static gboolean
ark_assignment_state_from_string(const gchar *str, ArkAssignmentState *out)
{
	for (guint i = 0; i < ARK_ASSIGNMENT_LAST; i++) {
		if (g_strcmp0(str, ark_assignment_state_names[i]) == 0) {
			*out = i;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
ark_assignment_is_active(const ArkAssignment *a)
{
	return a->state == ARK_ASSIGNMENT_OFFERED || a->state == ARK_ASSIGNMENT_CLAIMED;
}

static void
ark_agents_add_time(JsonBuilder *b, const gchar *name, ArkTimestamp ts)
{
	g_autofree gchar *text = NULL;

	if (ts == 0)
		return;
	text = ark_timestamp_format(ts);
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, text);
}

/* an RFC 3339 member of @obj, 0 when missing or malformed */
static ArkTimestamp
ark_agents_get_time(JsonObject *obj, const gchar *name)
{
	const gchar *text = json_object_get_string_member_with_default(obj, name, NULL);
	g_autoptr(GDateTime) dt = NULL;

	if (text == NULL)
		return 0;
	dt = g_date_time_new_from_iso8601(text, NULL);
	if (dt == NULL)
		return 0;
	return g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
}

static guint64
ark_agents_get_uint(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64 || json_node_get_int(node) < 0)
		return 0;
	return (guint64)json_node_get_int(node);
}

/* whether @node nests no deeper than @max: what the engine stores as a result it also checks */
static gboolean
ark_agents_depth_ok(JsonNode *node, guint max)
{
	if (max == 0)
		return FALSE;
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(array); i++) {
			if (!ark_agents_depth_ok(json_array_get_element(array, i), max - 1))
				return FALSE;
		}
	} else if (JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObjectIter iter;
		JsonNode *member;
		json_object_iter_init(&iter, json_node_get_object(node));
		while (json_object_iter_next(&iter, NULL, &member)) {
			if (!ark_agents_depth_ok(member, max - 1))
				return FALSE;
		}
	}
	return TRUE;
}

static gchar *
ark_agents_sha256(const gchar *text)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

static gboolean
ark_agents_random(guint8 *buf, gsize len)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

/* constant time for equal lengths */
static gboolean
ark_agents_equal(const gchar *a, const gchar *b)
{
	gsize la = strlen(a), lb = strlen(b);
	guint8 diff = la != lb;

	for (gsize i = 0; i < MIN(la, lb); i++)
		diff |= (guint8)(a[i] ^ b[i]);
	return diff == 0;
}

/* persistence -------------------------------------------------------------------------------- */

static void
ark_agents_put(ArkAgents *self, const gchar *kind, const gchar *key, JsonNode *value)
{
	ArkStoreBatch *batch;
	ArkObjectRecord rec = {0};
	g_autofree gchar *text = NULL;

	if (!self->persist)
		return;
	batch = ark_engine_get_batch(self->engine);
	if (batch == NULL)
		return;
	text = json_to_string(value, FALSE);
	rec.kind = (gchar *)kind;
	rec.key = (gchar *)ark_store_batch_intern(batch, key);
	rec.value = (gchar *)ark_store_batch_intern(batch, text);
	rec.updated_at = ark_agents_now(self);
	ark_store_batch_add_object(batch, ARK_STORE_OP_OBJECT_PUT, &rec);
}

static void
ark_agents_delete(ArkAgents *self, const gchar *kind, const gchar *key)
{
	ArkStoreBatch *batch;
	ArkObjectRecord rec = {0};

	if (!self->persist)
		return;
	batch = ark_engine_get_batch(self->engine);
	if (batch == NULL)
		return;
	rec.kind = (gchar *)kind;
	rec.key = (gchar *)ark_store_batch_intern(batch, key);
	rec.updated_at = ark_agents_now(self);
	ark_store_batch_add_object(batch, ARK_STORE_OP_OBJECT_DELETE, &rec);
}

/* what the agent said of itself when it registered: its record and its answers share it */
static void
ark_agent_add_description(JsonBuilder *b, ArkAgent *agent)
{
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, agent->name);
	json_builder_set_member_name(b, "capabilities");
	json_builder_begin_array(b);
	for (guint i = 0; i < agent->caps->len; i++) {
		ArkAgentCapability *c = &g_array_index(agent->caps, ArkAgentCapability, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, c->name);
		json_builder_set_member_name(b, "proficiency");
		json_builder_add_double_value(b, c->proficiency);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "max_assignments");
	json_builder_add_int_value(b, agent->max_assignments);
	json_builder_set_member_name(b, "metadata");
	json_builder_add_value(b, json_node_copy(agent->metadata));
}

static JsonNode *
ark_agent_to_record(ArkAgent *agent)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	ark_agent_add_description(b, agent);
	json_builder_set_member_name(b, "token_sha256");
	json_builder_add_string_value(b, agent->token_sha256);
	ark_agents_add_time(b, "registered_at", agent->registered_at);
	ark_agents_add_time(b, "last_heartbeat", agent->last_heartbeat);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
ark_agents_save_agent(ArkAgents *self, ArkAgent *agent)
{
	g_autoptr(JsonNode) node = ark_agent_to_record(agent);
	ark_agents_put(self, "agent", agent->id, node);
}

/* what the stored record and the answers about an assignment share */
static void
ark_assignment_add_common(JsonBuilder *b, ArkAssignment *a)
{
	json_builder_set_member_name(b, "run_id");
	json_builder_add_string_value(b, a->run_id);
	json_builder_set_member_name(b, "task_id");
	json_builder_add_string_value(b, a->task_id);
	json_builder_set_member_name(b, "attempt");
	json_builder_add_int_value(b, a->attempt);
	json_builder_set_member_name(b, "piece");
	json_builder_add_int_value(b, a->piece);
	json_builder_set_member_name(b, "agent_id");
	json_builder_add_string_value(b, a->agent_id);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, ark_assignment_state_to_string(a->state));
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, a->mode);
	ark_agents_add_time(b, "offered_at", a->offered_at);
	ark_agents_add_time(b, "claimed_at", a->claimed_at);
}

static JsonNode *
ark_assignment_to_record(ArkAssignment *a)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	ArkAgentWork *work = a->work;

	json_builder_begin_object(b);
	ark_assignment_add_common(b, a);
	json_builder_set_member_name(b, "fence");
	json_builder_add_int_value(b, (gint64)a->fence);
	json_builder_set_member_name(b, "seq");
	json_builder_add_int_value(b, (gint64)a->seq);
	ark_agents_add_time(b, "lease_expires_at", a->lease_expires_at);
	ark_agents_add_time(b, "ended_at", a->ended_at);
	if (a->progress != NULL) {
		json_builder_set_member_name(b, "progress");
		json_builder_add_value(b, json_node_copy(a->progress));
	}
	if (a->reason != NULL) {
		json_builder_set_member_name(b, "reason");
		json_builder_add_string_value(b, a->reason);
	}
	if (a->result != NULL) {
		json_builder_set_member_name(b, "result");
		json_builder_add_string_value(b, a->result);
	}
	if (a->choice != NULL) {
		json_builder_set_member_name(b, "choice");
		json_builder_add_string_value(b, a->choice);
	}
	if (work != NULL && a->piece < work->n_pieces) {
		json_builder_set_member_name(b, "piece_handoffs");
		json_builder_add_int_value(b, work->pieces[a->piece].handoffs);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
ark_agents_save_assignment(ArkAgents *self, ArkAssignment *a)
{
	g_autoptr(JsonNode) node = ark_assignment_to_record(a);
	ark_agents_put(self, "assignment", a->id, node);
}

static void
ark_agents_save_fence(ArkAgents *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "fence");
	json_builder_add_int_value(b, (gint64)self->next_fence);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	ark_agents_put(self, "agent-state", "fence", node);
}

/* agents and trust ----------------------------------------------------------------------------- */

static void
ark_agent_free(ArkAgent *agent)
{
	for (guint i = 0; i < agent->caps->len; i++)
		g_free(g_array_index(agent->caps, ArkAgentCapability, i).name);
	g_array_unref(agent->caps);
	g_free(agent->id);
	g_free(agent->name);
	g_clear_pointer(&agent->metadata, json_node_unref);
	g_free(agent->token_sha256);
	g_hash_table_unref(agent->trust);
	g_free(agent);
}

static ArkAgent *
ark_agent_new(void)
{
	ArkAgent *agent = g_new0(ArkAgent, 1);
	agent->caps = g_array_new(FALSE, TRUE, sizeof(ArkAgentCapability));
	agent->trust = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return agent;
}

static const ArkAgentCapability *
ark_agent_find_capability(ArkAgent *agent, const gchar *name)
{
	for (guint i = 0; i < agent->caps->len; i++) {
		ArkAgentCapability *c = &g_array_index(agent->caps, ArkAgentCapability, i);
		if (g_strcmp0(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* the trust record of @agent for @capability, created with the prior on first use */
static ArkTrust *
ark_agent_get_trust(ArkAgent *agent, const gchar *capability)
{
	ArkTrust *trust = g_hash_table_lookup(agent->trust, capability);

	if (trust == NULL) {
		trust = g_new0(ArkTrust, 1);
		ark_trust_init(trust);
		g_hash_table_insert(agent->trust, g_strdup(capability), trust);
	}
	return trust;
}

static void
ark_agents_observe(ArkAgents *self, ArkAgent *agent, const ArkTaskSpec *spec,
		   ArkTrustOutcome outcome, gdouble latency, gint deadline_hit)
{
	ArkTimestamp now = ark_agents_now(self);

	if (agent == NULL || spec->agent == NULL)
		return;
	for (guint i = 0; spec->agent->capabilities[i] != NULL; i++) {
		const gchar *cap = spec->agent->capabilities[i];
		ArkTrust *trust = ark_agent_get_trust(agent, cap);
		g_autofree gchar *key = g_strdup_printf("%s/%s", agent->id, cap);
		g_autoptr(JsonObject) obj = NULL;
		g_autoptr(JsonNode) node = NULL;

		ark_trust_observe(trust, outcome, latency, deadline_hit, now, self->half_life);
		obj = ark_trust_to_json(trust);
		node = json_node_init_object(json_node_alloc(), obj);
		ark_agents_put(self, "trust", key, node);
		ark_metric_series_set(
		    ark_metric_series(self->m_trust, (const gchar *[]){agent->id, cap, NULL}),
		    ark_trust_get_mean(trust));
	}
}

/* the agent is heard from now: online again if it was not */
static void
ark_agents_touch(ArkAgents *self, ArkAgent *agent)
{
	ArkTimestamp now = ark_agents_now(self);
	gboolean was_online = agent->online;

	agent->last_heartbeat = now;
	agent->online = TRUE;
	ark_agents_save_agent(self, agent);
	if (!was_online)
		ark_agents_schedule_match(self);
}

/* timers -------------------------------------------------------------------------------------- */

static void
ark_agents_rearm(ArkAgents *self)
{
	gint64 delay;

	if (self->timer_source == NULL)
		return;
	if (self->next_at == G_MAXINT64 || ark_engine_get_clock(self->engine) != NULL ||
	    self->stopped) {
		g_source_set_ready_time(self->timer_source, -1);
		return;
	}
	delay = self->next_at - ark_agents_now(self);
	g_source_set_ready_time(self->timer_source, g_get_monotonic_time() + MAX(delay, 0));
}

/* something is due at @at: the timer fires no later */
static void
ark_agents_due(ArkAgents *self, ArkTimestamp at)
{
	if (at <= 0 || at >= self->next_at)
		return;
	self->next_at = at;
	ark_agents_rearm(self);
}

gboolean
ark_agents_get_next_timer(ArkAgents *self, ArkTimestamp *out_at)
{
	if (self->next_at == G_MAXINT64)
		return FALSE;
	*out_at = self->next_at;
	return TRUE;
}

/* assignments --------------------------------------------------------------------------------- */

static void
ark_assignment_free(ArkAssignment *a)
{
	g_free(a->id);
	g_free(a->run_id);
	g_free(a->task_id);
	g_free(a->agent_id);
	g_free(a->mode);
	g_clear_pointer(&a->progress, json_node_unref);
	g_free(a->reason);
	g_free(a->result);
	g_free(a->choice);
	g_free(a);
}

static void
ark_agents_event(ArkAgents *self, ArkAssignment *a)
{
	g_autoptr(GString) data = g_string_new("{\"assignment\":");

	ark_json_append_string(data, a->id);
	g_string_append(data, ",\"agent\":");
	ark_json_append_string(data, a->agent_id);
	g_string_append(data, ",\"state\":");
	ark_json_append_string(data, ark_assignment_state_to_string(a->state));
	g_string_append_printf(data, ",\"piece\":%u", a->piece);
	/* no fence: events are read with read-scope tokens, fences are only for the agent */
	if (a->reason != NULL && !ark_assignment_is_active(a)) {
		g_string_append(data, ",\"reason\":");
		ark_json_append_string(data, a->reason);
	}
	g_string_append_c(data, '}');
	ark_engine_add_assignment_event(self->engine, a->run_id, a->task_id, a->attempt,
					data->str);
}

/* @a ends in @state: its agent and its piece let go of it */
static void
ark_agents_end_assignment(ArkAgents *self, ArkAssignment *a, ArkAssignmentState state,
			  const gchar *reason)
{
	ArkAgent *agent = g_hash_table_lookup(self->agents, a->agent_id);

	if (ark_assignment_is_active(a)) {
		if (agent != NULL && agent->load > 0)
			agent->load--;
		if (a->work != NULL && a->piece < a->work->n_pieces &&
		    a->work->pieces[a->piece].active > 0)
			a->work->pieces[a->piece].active--;
	}
	a->state = state;
	a->checking = FALSE;
	g_free(a->reason);
	a->reason = g_strdup(reason);
	a->ended_at = ark_agents_now(self);
	ark_agents_save_assignment(self, a);
	ark_agents_event(self, a);
	ark_metric_series_add(
	    ark_metric_series(self->m_outcomes,
			      (const gchar *[]){a->agent_id, ark_assignment_state_to_string(state),
						NULL}),
	    1);
	ark_agents_schedule_match(self);
}

/* the piece of @a goes back to the pool after @agent_id handed it back; returns why the task is
 * dead (the loop guard) or NULL */
static gchar *
ark_agents_handoff(ArkAgentWork *work, guint index, const gchar *agent_id)
{
	ArkAgentPiece *piece = &work->pieces[index];
	guint n, same = 0;
	const gchar *const *hb;

	piece->handoffs++;
	g_ptr_array_add(piece->handbacks, g_strdup(agent_id));
	g_hash_table_add(piece->tried, g_strdup(agent_id));
	hb = (const gchar *const *)piece->handbacks->pdata;
	n = piece->handbacks->len;
	for (guint i = 0; i < n; i++)
		same += g_strcmp0(hb[i], agent_id) == 0;
	if (same >= ARK_AGENTS_SAME_AGENT_LIMIT)
		return g_strdup_printf("loop: agent %s handed piece %u back %u times", agent_id,
				       index, same);
	if (n >= 4 && g_strcmp0(hb[n - 1], hb[n - 3]) == 0 &&
	    g_strcmp0(hb[n - 2], hb[n - 4]) == 0 && g_strcmp0(hb[n - 1], hb[n - 2]) != 0)
		return g_strdup_printf("loop: piece %u went back and forth between agents %s and "
				       "%s",
				       index, hb[n - 2], hb[n - 1]);
	if (piece->handoffs > work->spec->agent->max_handoffs)
		return g_strdup_printf("loop: piece %u was handed back %u times, more than its "
				       "max_handoffs of %u",
				       index, piece->handoffs, work->spec->agent->max_handoffs);
	return NULL;
}

/* the loop guard tripped: the task goes to the dead-letter queue with @reason */
static void
ark_agents_work_dead(ArkAgentWork *work, const gchar *reason)
{
	ArkAttemptResult result = {
	    .status = ARK_ATTEMPT_STATUS_FAILED,
	    .exit_code = -1,
	    .error = reason,
	};

	ark_engine_set_attempt_dead(work->agents->engine, work->attempt);
	ark_agents_work_finish(work, &result);
}

/* matching ------------------------------------------------------------------------------------ */

static gboolean
ark_agent_can_do(ArkAgent *agent, const ArkTaskSpec *spec)
{
	for (guint i = 0; spec->agent->capabilities[i] != NULL; i++) {
		if (ark_agent_find_capability(agent, spec->agent->capabilities[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_agents_holds_piece(ArkAgentWork *work, guint index, const gchar *agent_id)
{
	GPtrArray *holders = work->pieces[index].holders;

	for (guint i = 0; i < holders->len; i++) {
		ArkAssignment *a = g_ptr_array_index(holders, i);
		if (ark_assignment_is_active(a) && g_strcmp0(a->agent_id, agent_id) == 0)
			return TRUE;
	}
	return FALSE;
}

static gint
ark_agents_compare_agents(gconstpointer a, gconstpointer b)
{
	const ArkAgent *const *aa = a;
	const ArkAgent *const *ab = b;
	return g_strcmp0((*aa)->id, (*ab)->id);
}

static gint
ark_agents_compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the online agents with a free slot, by id: the coordinator sees them in a stable order */
static GPtrArray *
ark_agents_available(ArkAgents *self)
{
	GPtrArray *out = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->agents);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkAgent *agent = value;
		if (agent->online && agent->load < agent->max_assignments)
			g_ptr_array_add(out, agent);
	}
	g_ptr_array_sort(out, ark_agents_compare_agents);
	return out;
}

/* who of @avail may get piece @index of @work: able to, still with a free slot (offers made in
 * this round fill them), not holding it already, and not tried on it unless @with_tried */
static GPtrArray *
ark_agents_candidates(ArkAgentWork *work, guint index, GPtrArray *avail, gboolean with_tried)
{
	GPtrArray *out = g_ptr_array_new();
	ArkAgentPiece *piece = &work->pieces[index];

	for (guint i = 0; i < avail->len; i++) {
		ArkAgent *agent = g_ptr_array_index(avail, i);
		if (agent->load >= agent->max_assignments || !ark_agent_can_do(agent, work->spec) ||
		    ark_agents_holds_piece(work, index, agent->id))
			continue;
		if (!with_tried && g_hash_table_contains(piece->tried, agent->id))
			continue;
		g_ptr_array_add(out, agent);
	}
	return out;
}

/* whether an online agent that can do piece @index of @work and was not tried on it exists,
 * busy or not: then the piece waits for it rather than going back to those who had it */
static gboolean
ark_agents_untried_exists(ArkAgents *self, ArkAgentWork *work, guint index)
{
	ArkAgentPiece *piece = &work->pieces[index];
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->agents);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkAgent *agent = value;
		if (agent->online && !g_hash_table_contains(piece->tried, agent->id) &&
		    ark_agent_can_do(agent, work->spec) &&
		    !ark_agents_holds_piece(work, index, agent->id))
			return TRUE;
	}
	return FALSE;
}

/* what a coordinator sees of @agent for @spec: capability match, trust, load */
static void
ark_agents_fill_candidate(ArkAgents *self, ArkAgent *agent, const ArkTaskSpec *spec,
			  ArkAgentCandidate *c)
{
	ArkTimestamp now = ark_agents_now(self);
	gdouble match = 0, alpha = 0, beta = 0, latency = 0;
	guint n = 0, n_latency = 0;

	for (guint i = 0; spec->agent->capabilities[i] != NULL; i++) {
		const gchar *name = spec->agent->capabilities[i];
		const ArkAgentCapability *cap = ark_agent_find_capability(agent, name);
		ArkTrust *stored = g_hash_table_lookup(agent->trust, name);
		ArkTrust trust;

		match += cap != NULL ? cap->proficiency : 0;
		if (stored != NULL) {
			trust = *stored;
			ark_trust_decay(&trust, now, self->half_life);
		} else {
			ark_trust_init(&trust);
		}
		alpha += trust.alpha - 1;
		beta += trust.beta - 1;
		if (trust.latency_mean > 0) {
			latency += trust.latency_mean;
			n_latency++;
		}
		c->n_rejected += (guint)MIN(trust.rejected, G_MAXUINT);
		c->n_observations +=
		    (guint)MIN(trust.successes + trust.failures + trust.rejected, G_MAXUINT);
		n++;
	}
	c->agent_id = agent->id;
	c->capability_match = n > 0 ? match / n : 1.0;
	c->trust_alpha = 1 + (n > 0 ? alpha / n : 0);
	c->trust_beta = 1 + (n > 0 ? beta / n : 0);
	c->latency_mean = n_latency > 0 ? latency / n_latency : 0;
	c->load = agent->load;
	c->max_load = agent->max_assignments;
}

static gchar *
ark_agents_new_assignment_id(void)
{
	g_autofree gchar *id = ark_id_new();
	return g_strdup_printf("asg_%s", id);
}

static ArkAssignment *
ark_agents_offer(ArkAgents *self, ArkAgentWork *work, guint index, ArkAgent *agent,
		 const gchar *choice)
{
	ArkAssignment *a = g_new0(ArkAssignment, 1);

	a->id = ark_agents_new_assignment_id();
	a->run_id = g_strdup(ark_attempt_get_run_id(work->attempt));
	a->task_id = g_strdup(ark_attempt_get_task_id(work->attempt));
	a->attempt = ark_attempt_get_number(work->attempt);
	a->piece = index;
	a->agent_id = g_strdup(agent->id);
	a->mode = g_strdup(work->spec->agent->mode);
	a->state = ARK_ASSIGNMENT_OFFERED;
	a->seq = ++self->next_seq;
	a->offered_at = ark_agents_now(self);
	a->choice = g_strdup(choice);
	a->work = work;
	g_hash_table_insert(self->assignments, a->id, a);
	g_ptr_array_add(self->order, a);
	g_ptr_array_add(work->assignments, a);
	g_ptr_array_add(work->pieces[index].holders, a);
	work->pieces[index].active++;
	agent->load++;
	ark_agents_save_assignment(self, a);
	ark_agents_event(self, a);
	ark_agents_due(self, a->offered_at + self->offer_timeout);
	if (agent->waiting > 0)
		ark_agents_schedule_deliver(self);
	return a;
}

static gchar *
ark_agents_choice_json(ArkAgentWork *work, const ArkAgentCandidate *cands, guint n_cands,
		       const guint *chosen, guint n_chosen)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "coordinator");
	json_builder_add_string_value(b, work->spec->agent->mode);
	json_builder_set_member_name(b, "n_candidates");
	json_builder_add_int_value(b, n_cands);
	/* the chosen ones and the first others: a choice among thousands of agents is kept small */
	json_builder_set_member_name(b, "candidates");
	json_builder_begin_array(b);
	for (guint i = 0, shown = 0; i < n_cands; i++) {
		const ArkAgentCandidate *c = &cands[i];
		gboolean was_chosen = FALSE;
		for (guint k = 0; k < n_chosen && !was_chosen; k++)
			was_chosen = chosen[k] == i;
		if (!was_chosen && shown >= ARK_AGENTS_CHOICE_SHOWN)
			continue;
		shown += !was_chosen;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "agent_id");
		json_builder_add_string_value(b, c->agent_id);
		json_builder_set_member_name(b, "trust_mean");
		json_builder_add_double_value(b, c->trust_alpha / (c->trust_alpha + c->trust_beta));
		json_builder_set_member_name(b, "trust_alpha");
		json_builder_add_double_value(b, c->trust_alpha);
		json_builder_set_member_name(b, "trust_beta");
		json_builder_add_double_value(b, c->trust_beta);
		json_builder_set_member_name(b, "capability_match");
		json_builder_add_double_value(b, c->capability_match);
		json_builder_set_member_name(b, "load");
		json_builder_add_int_value(b, c->load);
		json_builder_set_member_name(b, "max_load");
		json_builder_add_int_value(b, c->max_load);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "chosen");
	json_builder_begin_array(b);
	for (guint i = 0; i < n_chosen; i++)
		json_builder_add_string_value(b, cands[chosen[i]].agent_id);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

/* offers piece @index of @work to as many agents as it still needs, as its coordinator chooses */
static void
ark_agents_match_piece(ArkAgents *self, ArkAgentWork *work, guint index, GPtrArray *avail)
{
	ArkAgentPiece *piece = &work->pieces[index];
	g_autoptr(GPtrArray) agents = NULL;
	g_autofree ArkAgentCandidate *cands = NULL;
	g_autofree guint *chosen = NULL;
	g_autofree gchar *choice = NULL;
	guint want, n, n_valid = 0;

	if (piece->done || piece->active >= work->contenders)
		return;
	want = work->contenders - piece->active;
	agents = ark_agents_candidates(work, index, avail, FALSE);
	if (agents->len == 0 && g_hash_table_size(piece->tried) > 0 &&
	    !ark_agents_untried_exists(self, work, index)) {
		const gchar *last = piece->handbacks->len > 0
					? g_ptr_array_index(piece->handbacks,
							    piece->handbacks->len - 1)
					: NULL;
		/* nobody else is left, not even a busy agent: those who had it may have it
		 * again, the one who just gave it back only when there is no one else */
		g_ptr_array_unref(agents);
		agents = ark_agents_candidates(work, index, avail, TRUE);
		for (guint i = 0; last != NULL && agents->len > 1 && i < agents->len; i++) {
			if (g_strcmp0(((ArkAgent *)g_ptr_array_index(agents, i))->id, last) == 0) {
				g_ptr_array_remove_index(agents, i);
				break;
			}
		}
		if (agents->len > 0)
			g_hash_table_remove_all(piece->tried);
	}
	if (agents->len == 0)
		return;
	cands = g_new0(ArkAgentCandidate, agents->len);
	for (guint i = 0; i < agents->len; i++)
		ark_agents_fill_candidate(self, g_ptr_array_index(agents, i), work->spec,
					  &cands[i]);
	chosen = g_new0(guint, want);
	n = ark_coordinator_choose(work->coordinator, work->spec, cands, agents->len, chosen, want);
	/* a coordinator is a plugin: what it answers is checked */
	for (guint i = 0; i < n; i++) {
		gboolean ok = chosen[i] < agents->len;
		for (guint j = 0; ok && j < n_valid; j++)
			ok = chosen[j] != chosen[i];
		if (ok)
			chosen[n_valid++] = chosen[i];
	}
	if (n_valid == 0)
		return;
	choice = ark_agents_choice_json(work, cands, agents->len, chosen, n_valid);
	for (guint i = 0; i < n_valid; i++)
		(void)ark_agents_offer(self, work, index, g_ptr_array_index(agents, chosen[i]),
				       choice);
}

/* an assignment whose attempt is no longer running here (its run finished or was not resumed
 * after a restart) is cancelled */
static void
ark_agents_sweep_orphans(ArkAgents *self)
{
	/* at run time an attempt ends what it holds; only a restart leaves orphans, found once the
	 * runs were resumed (before the first match) */
	if (!self->loaded_active)
		return;
	self->loaded_active = FALSE;
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (a->work == NULL && ark_assignment_is_active(a))
			ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_CANCELLED,
						  "its attempt is no longer running");
	}
}

static void
ark_agents_match(ArkAgents *self)
{
	g_autoptr(GPtrArray) works = NULL;
	g_autoptr(GPtrArray) avail = NULL;

	if (self->stopped)
		return;
	ark_agents_sweep_orphans(self);
	avail = ark_agents_available(self);
	works = g_ptr_array_copy(self->work_list, NULL, NULL);
	for (guint w = 0; w < works->len && avail->len > 0; w++) {
		ArkAgentWork *work = g_ptr_array_index(works, w);
		for (guint i = 0; i < work->n_pieces && !work->ended; i++) {
			ark_agents_match_piece(self, work, i, avail);
			/* the agents that are full now are out of the round */
			if (i % 64 == 63) {
				guint k = 0;
				for (guint j = 0; j < avail->len; j++) {
					ArkAgent *agent = g_ptr_array_index(avail, j);
					if (agent->load < agent->max_assignments)
						avail->pdata[k++] = agent;
				}
				g_ptr_array_set_size(avail, k);
				if (k == 0)
					break;
			}
		}
	}
}

static gboolean
ark_agents_match_cb(gpointer user_data)
{
	ArkAgents *self = user_data;
	self->match_id = 0;
	ark_agents_match(self);
	return G_SOURCE_REMOVE;
}

static void
ark_agents_schedule_match(ArkAgents *self)
{
	/* before the engine's idle tick, so that the offers share its commit */
	if (self->match_id == 0 && !self->stopped)
		self->match_id =
		    g_idle_add_full(G_PRIORITY_DEFAULT, ark_agents_match_cb, self, NULL);
}

/* claims --------------------------------------------------------------------------------------- */

static JsonObject *
ark_assignment_to_json(ArkAgents *self, ArkAssignment *a, gboolean for_agent)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, a->id);
	ark_assignment_add_common(b, a);
	if (a->state == ARK_ASSIGNMENT_CLAIMED)
		ark_agents_add_time(b, "lease_expires_at", a->lease_expires_at);
	ark_agents_add_time(b, "ended_at", a->ended_at);
	if (a->checking) {
		json_builder_set_member_name(b, "checking");
		json_builder_add_boolean_value(b, TRUE);
	}
	if (a->progress != NULL) {
		json_builder_set_member_name(b, "progress");
		json_builder_add_value(b, json_node_copy(a->progress));
	}
	if (a->reason != NULL) {
		json_builder_set_member_name(b, "reason");
		json_builder_add_string_value(b, a->reason);
	}
	if (for_agent && a->state == ARK_ASSIGNMENT_CLAIMED) {
		json_builder_set_member_name(b, "fence");
		json_builder_add_int_value(b, (gint64)a->fence);
	}
	if (for_agent && a->work != NULL && a->piece < a->work->n_pieces) {
		JsonNode *input = a->work->pieces[a->piece].input;
		json_builder_set_member_name(b, "input");
		if (input != NULL)
			json_builder_add_value(b, json_node_copy(input));
		else
			json_builder_add_null_value(b);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_object_ref(json_node_get_object(root));
}

static void
ark_agents_claim(ArkAgents *self, ArkAssignment *a)
{
	ArkTimestamp now = ark_agents_now(self);

	a->state = ARK_ASSIGNMENT_CLAIMED;
	a->fence = ++self->next_fence;
	a->claimed_at = now;
	a->lease_expires_at = now + a->work->spec->agent->lease;
	ark_agents_save_fence(self);
	ark_agents_save_assignment(self, a);
	ark_agents_event(self, a);
	ark_agents_due(self, a->lease_expires_at);
}

/* the oldest offer to @agent_id of an attempt that runs */
static ArkAssignment *
ark_agents_oldest_offer(ArkAgents *self, const gchar *agent_id)
{
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (a->state == ARK_ASSIGNMENT_OFFERED && a->work != NULL && !a->work->ended &&
		    g_strcmp0(a->agent_id, agent_id) == 0)
			return a;
	}
	return NULL;
}

static void
ark_claim_waiter_free(ArkClaimWaiter *w)
{
	if (w->cancellable != NULL) {
		g_cancellable_disconnect(w->cancellable, w->cancelled_id);
		g_object_unref(w->cancellable);
	}
	g_free(w->agent_id);
	g_free(w);
}

/* answers @w (which is out of the waiters) with the oldest offer of its agent, nothing, or
 * @error, and frees it */
static void
ark_agents_answer(ArkAgents *self, ArkClaimWaiter *w, gboolean claim, const GError *error)
{
	ArkAgent *agent = g_hash_table_lookup(self->agents, w->agent_id);
	ArkAssignment *a = NULL;
	g_autoptr(JsonObject) obj = NULL;
	ArkClaimCallback callback = w->callback;
	gpointer user_data = w->user_data;

	if (agent != NULL) {
		if (agent->waiting > 0)
			agent->waiting--;
		/* it waited until now: that counts as being heard from (not at shutdown: nothing
		 * is recorded any more) */
		if (!self->stopped)
			ark_agents_touch(self, agent);
	}
	if (claim && error == NULL && agent != NULL)
		a = ark_agents_oldest_offer(self, w->agent_id);
	if (a != NULL) {
		ark_agents_claim(self, a);
		obj = ark_assignment_to_json(self, a, TRUE);
	}
	ark_claim_waiter_free(w);
	callback(self->engine, obj, error, user_data);
}

static gboolean
ark_agents_deliver_cb(gpointer user_data)
{
	ArkAgents *self = user_data;

	self->deliver_id = 0;
	for (guint i = 0; i < self->waiters->len;) {
		ArkClaimWaiter *w = g_ptr_array_index(self->waiters, i);
		g_autoptr(GError) error = NULL;

		if (w->cancellable != NULL && g_cancellable_set_error_if_cancelled(w->cancellable,
										     &error)) {
			g_ptr_array_remove_index(self->waiters, i);
			ark_agents_answer(self, w, FALSE, error);
			continue;
		}
		if (!g_hash_table_contains(self->agents, w->agent_id)) {
			g_set_error(&error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "agent %s was removed",
				    w->agent_id);
			g_ptr_array_remove_index(self->waiters, i);
			ark_agents_answer(self, w, FALSE, error);
			continue;
		}
		if (ark_agents_oldest_offer(self, w->agent_id) != NULL) {
			g_ptr_array_remove_index(self->waiters, i);
			ark_agents_answer(self, w, TRUE, NULL);
			continue;
		}
		i++;
	}
	return G_SOURCE_REMOVE;
}

static void
ark_agents_schedule_deliver(ArkAgents *self)
{
	/* never from inside another call: a claim's callback may call the engine again */
	if (self->deliver_id == 0 && !self->stopped)
		self->deliver_id =
		    g_idle_add_full(G_PRIORITY_DEFAULT, ark_agents_deliver_cb, self, NULL);
}

static void
ark_agents_waiter_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	ArkAgents *self = user_data;
	ark_agents_schedule_deliver(self);
}

/* works: the attempts of agent tasks ----------------------------------------------------------- */

static void
ark_agent_work_free(ArkAgentWork *work)
{
	for (guint i = 0; i < work->n_pieces; i++) {
		ArkAgentPiece *p = &work->pieces[i];
		g_clear_pointer(&p->input, json_node_unref);
		g_clear_pointer(&p->result, json_node_unref);
		g_ptr_array_unref(p->handbacks);
		g_hash_table_unref(p->tried);
		g_ptr_array_unref(p->holders);
	}
	g_free(work->pieces);
	g_ptr_array_unref(work->assignments);
	g_clear_pointer(&work->attempt, ark_attempt_unref);
	g_free(work->key);
	g_free(work);
}

static gchar *
ark_agents_work_key(const gchar *run_id, const gchar *task_id)
{
	return g_strdup_printf("%s/%s", run_id, task_id);
}

/* the attempt ends with @result: what is still held is cancelled, and the work is forgotten */
static void
ark_agents_work_finish(ArkAgentWork *work, const ArkAttemptResult *result)
{
	ArkAgents *self = work->agents;
	g_autoptr(ArkAttempt) attempt = NULL;
	g_autofree gchar *why = NULL;

	if (work->ended)
		return;
	work->ended = TRUE;
	why = g_strdup_printf("the task's attempt ended (%s)%s%s",
			      ark_attempt_status_to_string(result->status),
			      result->error != NULL ? ": " : "",
			      result->error != NULL ? result->error : "");
	for (guint i = 0; i < work->assignments->len; i++) {
		ArkAssignment *a = g_ptr_array_index(work->assignments, i);
		if (ark_assignment_is_active(a))
			ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_CANCELLED, why);
	}
	for (guint i = 0; i < work->assignments->len; i++)
		((ArkAssignment *)g_ptr_array_index(work->assignments, i))->work = NULL;
	g_hash_table_steal(self->works, work->key);
	g_ptr_array_remove(self->work_list, work);
	attempt = g_steal_pointer(&work->attempt);
	ark_agent_work_free(work);
	if (!ark_attempt_is_finished(attempt))
		ark_attempt_finish(attempt, result);
}

/* every piece is done: the coordinator merges their results into the attempt's */
static void
ark_agents_work_complete(ArkAgentWork *work)
{
	g_autofree JsonNode **results = g_new0(JsonNode *, MAX(work->n_pieces, 1));
	g_autoptr(JsonNode) merged = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *why = NULL;
	ArkAttemptResult result = {.status = ARK_ATTEMPT_STATUS_SUCCEEDED, .exit_code = 0};

	for (guint i = 0; i < work->n_pieces; i++)
		results[i] = work->pieces[i].result;
	merged = ark_coordinator_merge(work->coordinator, work->spec, results, work->n_pieces,
				       &error);
	if (merged == NULL && error != NULL) {
		why = g_strdup_printf("coordinator %s could not merge the results: %s",
				      work->spec->agent->mode, error->message);
	} else {
		text = merged != NULL ? json_to_string(merged, FALSE) : g_strdup("null");
		if (strlen(text) > ARK_RESULT_MAX_BYTES)
			why = g_strdup_printf("the merged result is larger than %d bytes",
					      ARK_RESULT_MAX_BYTES);
	}
	if (why != NULL) {
		result.status = ARK_ATTEMPT_STATUS_FAILED;
		result.exit_code = -1;
		result.error = why;
	} else {
		result.result = text;
	}
	ark_agents_work_finish(work, &result);
}

/* a result of @a was judged: accepted (by the task's rule and then its coordinator) or not */
static void
ark_agents_verdict(ArkAgents *self, ArkAssignment *a, JsonNode *result, gboolean accepted,
		   const gchar *reason)
{
	ArkAgentWork *work = a->work;
	const ArkTaskSpec *spec = work->spec;
	ArkAgent *agent = g_hash_table_lookup(self->agents, a->agent_id);
	ArkAgentPiece *piece = &work->pieces[a->piece];
	ArkTimestamp now = ark_agents_now(self);
	g_autofree gchar *text = json_to_string(result, FALSE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *agent_id = g_strdup(a->agent_id);
	ArkTimestamp deadline;
	guint index = a->piece;

	if (accepted &&
	    !ark_coordinator_accept(work->coordinator, spec, a->agent_id, text, &error)) {
		accepted = FALSE;
		reason = error != NULL ? error->message : "refused by the coordinator";
	}
	if (!accepted) {
		g_autofree gchar *dead = NULL;
		ark_agents_observe(self, agent, spec, ARK_TRUST_REJECTED, -1, -1);
		ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_REJECTED, reason);
		dead = ark_agents_handoff(work, index, agent_id);
		if (dead != NULL)
			ark_agents_work_dead(work, dead);
		return;
	}
	deadline = ark_engine_get_task_deadline(self->engine, a->run_id, a->task_id);
	ark_agents_observe(self, agent, spec, ARK_TRUST_SUCCESS,
			   (gdouble)(now - a->claimed_at) / G_USEC_PER_SEC,
			   deadline == 0 ? -1 : now <= deadline);
	a->result = g_strdup(text);
	ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_COMPLETED, NULL);
	piece->done = TRUE;
	piece->result = json_node_copy(result);
	work->n_done++;
	/* competitive: the first accepted result wins, the other contenders are superseded */
	for (guint i = 0; i < piece->holders->len; i++) {
		ArkAssignment *other = g_ptr_array_index(piece->holders, i);
		g_autofree gchar *why = NULL;
		if (!ark_assignment_is_active(other))
			continue;
		why = g_strdup_printf("superseded: the result of assignment %s (agent %s) was "
				      "accepted",
				      a->id, agent_id);
		ark_agents_end_assignment(self, other, ARK_ASSIGNMENT_CANCELLED, why);
	}
	if (work->n_done == work->n_pieces)
		ark_agents_work_complete(work);
}

/* a held assignment was lost: its lease ran out, or its agent went offline */
static void
ark_agents_expire(ArkAgents *self, ArkAssignment *a, const gchar *reason)
{
	ArkAgentWork *work = a->work;
	ArkAgent *agent = g_hash_table_lookup(self->agents, a->agent_id);
	g_autofree gchar *agent_id = g_strdup(a->agent_id);
	g_autofree gchar *dead = NULL;
	guint index = a->piece;

	ark_agents_observe(self, agent, work->spec, ARK_TRUST_FAILURE, -1, -1);
	ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_EXPIRED, reason);
	dead = ark_agents_handoff(work, index, agent_id);
	if (dead != NULL)
		ark_agents_work_dead(work, dead);
}

/* an offer nobody claimed in time goes to someone else; no verdict on the agent */
static void
ark_agents_withdraw(ArkAgents *self, ArkAssignment *a, const gchar *reason)
{
	g_hash_table_add(a->work->pieces[a->piece].tried, g_strdup(a->agent_id));
	ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_CANCELLED, reason);
}

static void
ark_agents_go_offline(ArkAgents *self, ArkAgent *agent)
{
	g_autoptr(GPtrArray) held = g_ptr_array_new();

	agent->online = FALSE;
	ark_agents_save_agent(self, agent);
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (ark_assignment_is_active(a) && a->work != NULL &&
		    g_strcmp0(a->agent_id, agent->id) == 0)
			g_ptr_array_add(held, g_strdup(a->id));
	}
	for (guint i = 0; i < held->len; i++) {
		g_autofree gchar *id = held->pdata[i];
		ArkAssignment *a = g_hash_table_lookup(self->assignments, id);
		/* an earlier one may have ended the whole attempt */
		if (a == NULL || a->work == NULL || !ark_assignment_is_active(a))
			continue;
		if (a->state == ARK_ASSIGNMENT_OFFERED)
			ark_agents_withdraw(self, a, "withdrawn: the agent went offline");
		else
			ark_agents_expire(self, a, "the agent went offline");
	}
}

/* ended assignments of finished attempts are kept a while to answer late calls, then dropped */
static void
ark_agents_prune(ArkAgents *self, ArkTimestamp now)
{
	for (guint i = 0; i < self->order->len;) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (a->work != NULL || ark_assignment_is_active(a) ||
		    a->ended_at + ARK_AGENTS_KEEP_ENDED > now) {
			i++;
			continue;
		}
		ark_agents_delete(self, "assignment", a->id);
		g_ptr_array_remove_index(self->order, i);
		g_hash_table_remove(self->assignments, a->id);
	}
}

void
ark_agents_fire_timers(ArkAgents *self)
{
	ArkTimestamp now = ark_agents_now(self);
	g_autoptr(GPtrArray) offline = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) withdraw = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) expire = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) timed_out = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer value;

	if (self->stopped)
		return;
	self->next_at = G_MAXINT64;
	g_hash_table_iter_init(&iter, self->agents);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkAgent *agent = value;
		ArkTimestamp due = agent->last_heartbeat + self->heartbeat_timeout;
		/* an agent waiting in a claim is there */
		if (!agent->online || agent->waiting > 0)
			continue;
		if (due <= now)
			g_ptr_array_add(offline, g_strdup(agent->id));
		else
			ark_agents_due(self, due);
	}
	for (guint i = 0; i < self->waiters->len;) {
		ArkClaimWaiter *w = g_ptr_array_index(self->waiters, i);
		if (w->deadline <= now) {
			g_ptr_array_remove_index(self->waiters, i);
			ark_agents_answer(self, w, TRUE, NULL);
			continue;
		}
		ark_agents_due(self, w->deadline);
		i++;
	}
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (a->work == NULL)
			continue;
		if (a->state == ARK_ASSIGNMENT_OFFERED) {
			if (a->offered_at + self->offer_timeout <= now)
				g_ptr_array_add(withdraw, g_strdup(a->id));
			else
				ark_agents_due(self, a->offered_at + self->offer_timeout);
		} else if (a->state == ARK_ASSIGNMENT_CLAIMED && !a->checking) {
			if (a->lease_expires_at <= now)
				g_ptr_array_add(expire, g_strdup(a->id));
			else
				ark_agents_due(self, a->lease_expires_at);
		}
	}
	for (guint i = 0; i < self->work_list->len; i++) {
		ArkAgentWork *work = g_ptr_array_index(self->work_list, i);
		if (work->timeout_at == 0)
			continue;
		if (work->timeout_at <= now)
			g_ptr_array_add(timed_out, g_strdup(work->key));
		else
			ark_agents_due(self, work->timeout_at);
	}

	for (guint i = 0; i < offline->len; i++) {
		ArkAgent *agent = g_hash_table_lookup(self->agents, offline->pdata[i]);
		if (agent != NULL && agent->online)
			ark_agents_go_offline(self, agent);
	}
	for (guint i = 0; i < withdraw->len; i++) {
		ArkAssignment *a = g_hash_table_lookup(self->assignments, withdraw->pdata[i]);
		if (a != NULL && a->work != NULL && a->state == ARK_ASSIGNMENT_OFFERED)
			ark_agents_withdraw(self, a,
					    "withdrawn: not claimed within [agents] offer-timeout");
	}
	for (guint i = 0; i < expire->len; i++) {
		ArkAssignment *a = g_hash_table_lookup(self->assignments, expire->pdata[i]);
		if (a != NULL && a->work != NULL && a->state == ARK_ASSIGNMENT_CLAIMED &&
		    !a->checking)
			ark_agents_expire(self, a, "its lease expired");
	}
	for (guint i = 0; i < timed_out->len; i++) {
		ArkAgentWork *work = g_hash_table_lookup(self->works, timed_out->pdata[i]);
		g_autofree gchar *limit = NULL;
		g_autofree gchar *why = NULL;
		ArkAttemptResult result = {.status = ARK_ATTEMPT_STATUS_TIMED_OUT, .exit_code = -1};
		if (work == NULL)
			continue;
		limit = ark_duration_format(work->spec->timeout);
		why = g_strdup_printf("timed out after %s", limit);
		result.error = why;
		ark_agents_work_finish(work, &result);
	}
	ark_agents_prune(self, now);
	ark_agents_schedule_match(self);
	ark_agents_rearm(self);
}

static gboolean
ark_agents_timer_dispatch_cb(GSource *source, GSourceFunc callback, gpointer user_data)
{
	g_source_set_ready_time(source, -1);
	ark_agents_fire_timers(user_data);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs ark_agents_timer_funcs = {
    .dispatch = ark_agents_timer_dispatch_cb,
};

/* the assignments recorded for an adopted attempt come back to it */
static void
ark_agents_work_attach(ArkAgents *self, ArkAgentWork *work)
{
	const gchar *run_id = ark_attempt_get_run_id(work->attempt);
	const gchar *task_id = ark_attempt_get_task_id(work->attempt);
	guint number = ark_attempt_get_number(work->attempt);

	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		ArkAgentPiece *p;
		if (a->work != NULL || a->attempt != number || g_strcmp0(a->run_id, run_id) != 0 ||
		    g_strcmp0(a->task_id, task_id) != 0)
			continue;
		if (a->piece >= work->n_pieces) {
			if (ark_assignment_is_active(a))
				ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_CANCELLED,
							  "its piece no longer exists");
			continue;
		}
		a->work = work;
		g_ptr_array_add(work->assignments, a);
		p = &work->pieces[a->piece];
		g_ptr_array_add(p->holders, a);
		switch (a->state) {
		case ARK_ASSIGNMENT_OFFERED:
			p->active++;
			ark_agents_due(self, a->offered_at + self->offer_timeout);
			break;
		case ARK_ASSIGNMENT_CLAIMED:
			p->active++;
			ark_agents_due(self, a->lease_expires_at);
			break;
		case ARK_ASSIGNMENT_COMPLETED:
			if (!p->done && a->result != NULL) {
				p->result = json_from_string(a->result, NULL);
				if (p->result == NULL)
					p->result = json_node_new(JSON_NODE_NULL);
				p->done = TRUE;
				work->n_done++;
			}
			break;
		case ARK_ASSIGNMENT_RELEASED:
		case ARK_ASSIGNMENT_EXPIRED:
		case ARK_ASSIGNMENT_REJECTED:
			p->handoffs++;
			g_ptr_array_add(p->handbacks, g_strdup(a->agent_id));
			g_hash_table_add(p->tried, g_strdup(a->agent_id));
			break;
		default:
			g_hash_table_add(p->tried, g_strdup(a->agent_id));
			break;
		}
	}
}

void
ark_agents_work_start(ArkAgents *self, ArkAttempt *attempt, GPtrArray *pieces, gboolean adopted)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	ArkAgentWork *work;
	ArkAgentWork *old;

	work = g_new0(ArkAgentWork, 1);
	work->agents = self;
	work->attempt = ark_attempt_ref(attempt);
	work->spec = spec;
	work->key = ark_agents_work_key(ark_attempt_get_run_id(attempt), spec->id);
	work->assignments = g_ptr_array_new();
	work->coordinator = ark_agents_get_coordinator(self, spec->agent->mode);
	work->n_pieces = pieces->len;
	work->pieces = g_new0(ArkAgentPiece, MAX(pieces->len, 1));
	for (guint i = 0; i < pieces->len; i++) {
		work->pieces[i].input = json_node_ref(g_ptr_array_index(pieces, i));
		work->pieces[i].handbacks = g_ptr_array_new_with_free_func(g_free);
		work->pieces[i].tried =
		    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		work->pieces[i].holders = g_ptr_array_new();
	}
	if (spec->timeout > 0)
		work->timeout_at = ark_agents_now(self) + spec->timeout;

	old = g_hash_table_lookup(self->works, work->key);
	if (old != NULL) {
		ArkAttemptResult result = {
		    .status = ARK_ATTEMPT_STATUS_LOST,
		    .exit_code = -1,
		    .error = "replaced by a newer attempt",
		};
		ark_agents_work_finish(old, &result);
	}
	g_hash_table_insert(self->works, work->key, work);
	g_ptr_array_add(self->work_list, work);
	if (work->coordinator == NULL) {
		g_autofree gchar *why =
		    g_strdup_printf("no coordinator '%s' is loaded", spec->agent->mode);
		ArkAttemptResult result = {
		    .status = ARK_ATTEMPT_STATUS_ERROR,
		    .exit_code = -1,
		    .error = why,
		};
		ark_agents_work_finish(work, &result);
		return;
	}
	work->contenders = CLAMP(MAX(spec->agent->contenders,
				     ark_coordinator_get_contenders(work->coordinator, spec)),
				 1, ARK_AGENT_MAX_CONTENDERS);
	ark_agents_due(self, work->timeout_at);
	if (adopted)
		ark_agents_work_attach(self, work);
	if (work->n_done == work->n_pieces) {
		ark_agents_work_complete(work);
		return;
	}
	ark_agents_schedule_match(self);
}

void
ark_agents_work_stop(ArkAgents *self, ArkAttempt *attempt, ArkAttemptStatus status,
		     const gchar *reason)
{
	g_autofree gchar *key =
	    ark_agents_work_key(ark_attempt_get_run_id(attempt), ark_attempt_get_task_id(attempt));
	ArkAgentWork *work = g_hash_table_lookup(self->works, key);
	ArkAttemptResult result = {.status = status, .exit_code = -1, .error = reason};

	if (work == NULL || work->attempt != attempt) {
		if (!ark_attempt_is_finished(attempt))
			ark_attempt_finish(attempt, &result);
		return;
	}
	ark_agents_work_finish(work, &result);
}

/* life of the registry ------------------------------------------------------------------------- */

static void
ark_agents_collect_metrics(ArkMetrics *metrics, gpointer user_data)
{
	ArkAgents *self = user_data;
	guint online = 0, offline = 0;
	guint states[ARK_ASSIGNMENT_LAST] = {0};
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->agents);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (((ArkAgent *)value)->online)
			online++;
		else
			offline++;
	}
	ark_metric_series_set(ark_metric_series(self->m_agents, (const gchar *[]){"online", NULL}),
			      online);
	ark_metric_series_set(ark_metric_series(self->m_agents, (const gchar *[]){"offline", NULL}),
			      offline);
	for (guint i = 0; i < self->order->len; i++)
		states[((ArkAssignment *)g_ptr_array_index(self->order, i))->state]++;
	for (guint i = 0; i < ARK_ASSIGNMENT_LAST; i++)
		ark_metric_series_set(
		    ark_metric_series(self->m_assignments,
				      (const gchar *[]){ark_assignment_state_names[i], NULL}),
		    states[i]);
}

ArkAgents *
ark_agents_new(ArkEngine *engine)
{
	ArkAgents *self = g_new0(ArkAgents, 1);
	ArkMetrics *metrics = ark_engine_get_metrics(engine);

	self->engine = engine;
	self->heartbeat_timeout = 30 * G_USEC_PER_SEC;
	self->offer_timeout = 30 * G_USEC_PER_SEC;
	self->half_life = (gint64)7 * 86400 * G_USEC_PER_SEC;
	self->max_agents = 10000;
	self->coordinators = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->agents = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					     (GDestroyNotify)ark_agent_free);
	self->tokens = g_hash_table_new(g_str_hash, g_str_equal);
	self->assignments = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						  (GDestroyNotify)ark_assignment_free);
	self->order = g_ptr_array_new();
	self->works = g_hash_table_new(g_str_hash, g_str_equal);
	self->work_list = g_ptr_array_new();
	self->waiters = g_ptr_array_new();
	self->next_at = G_MAXINT64;
	self->checks = g_cancellable_new();
	self->timer_source = g_source_new(&ark_agents_timer_funcs, sizeof(GSource));
	g_source_set_callback(self->timer_source, NULL, self, NULL);
	g_source_set_name(self->timer_source, "ArkAgents timers");
	g_source_attach(self->timer_source, NULL);

	self->m_agents = ark_metrics_gauge(metrics, "arkitect_agents",
					   "registered agents by state (online, offline)",
					   (const gchar *[]){"state", NULL});
	self->m_assignments = ark_metrics_gauge(
	    metrics, "arkitect_assignments",
	    "assignments the engine knows (held, and ended ones kept for an hour) by state",
	    (const gchar *[]){"state", NULL});
	self->m_outcomes = ark_metrics_counter(metrics, "arkitect_agent_assignments_total",
					       "assignments that ended, by agent and outcome",
					       (const gchar *[]){"agent", "outcome", NULL});
	self->m_trust = ark_metrics_gauge(
	    metrics, "arkitect_agent_trust",
	    "the posterior mean of an agent's success for a capability",
	    (const gchar *[]){"agent", "capability", NULL});
	ark_metrics_add_collector(metrics, ark_agents_collect_metrics, self);
	return self;
}

void
ark_agents_free(ArkAgents *self)
{
	if (self == NULL)
		return;
	ark_agents_shutdown(self);
	ark_metrics_remove_collector(ark_engine_get_metrics(self->engine),
				     ark_agents_collect_metrics, self);
	g_cancellable_cancel(self->checks);
	g_clear_object(&self->checks);
	if (self->timer_source != NULL) {
		g_source_destroy(self->timer_source);
		g_clear_pointer(&self->timer_source, g_source_unref);
	}
	/* works still running belong to attempts the engine abandons */
	for (guint i = 0; i < self->work_list->len; i++) {
		ArkAgentWork *work = g_ptr_array_index(self->work_list, i);
		for (guint j = 0; j < work->assignments->len; j++)
			((ArkAssignment *)g_ptr_array_index(work->assignments, j))->work = NULL;
		ark_agent_work_free(work);
	}
	g_ptr_array_unref(self->work_list);
	g_hash_table_unref(self->works);
	g_ptr_array_unref(self->order);
	g_hash_table_unref(self->assignments);
	g_hash_table_unref(self->tokens);
	g_hash_table_unref(self->agents);
	g_hash_table_unref(self->coordinators);
	g_ptr_array_unref(self->waiters);
	g_free(self);
}

void
ark_agents_shutdown(ArkAgents *self)
{
	g_autoptr(GPtrArray) waiters = NULL;

	if (self->stopped)
		return;
	self->stopped = TRUE;
	g_clear_handle_id(&self->match_id, g_source_remove);
	g_clear_handle_id(&self->deliver_id, g_source_remove);
	if (self->timer_source != NULL)
		g_source_set_ready_time(self->timer_source, -1);
	/* every claim still waiting is answered, with nothing */
	waiters = g_steal_pointer(&self->waiters);
	self->waiters = g_ptr_array_new();
	for (guint i = 0; i < waiters->len; i++)
		ark_agents_answer(self, g_ptr_array_index(waiters, i), FALSE, NULL);
}

ArkCoordinator *
ark_agents_get_coordinator(ArkAgents *self, const gchar *mode)
{
	return mode != NULL ? g_hash_table_lookup(self->coordinators, mode) : NULL;
}

gchar *
ark_agents_list_coordinators(ArkAgents *self)
{
	g_autofree const gchar **names =
	    (const gchar **)g_hash_table_get_keys_as_array(self->coordinators, NULL);
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();

	for (guint i = 0; names[i] != NULL; i++)
		g_ptr_array_add(sorted, (gpointer)names[i]);
	g_ptr_array_sort(sorted, (GCompareFunc)ark_agents_compare_strings);
	g_ptr_array_add(sorted, NULL);
	return g_strjoinv(", ", (gchar **)sorted->pdata);
}

static gboolean
ark_agents_read_duration(GKeyFile *config, const gchar *key, gint64 *out, GError **error)
{
	g_autofree gchar *value = NULL;
	gint64 usec = 0;

	if (config == NULL || !g_key_file_has_key(config, "agents", key, NULL))
		return TRUE;
	value = g_key_file_get_string(config, "agents", key, NULL);
	if (value == NULL || !ark_duration_parse(g_strstrip(value), &usec, NULL) || usec <= 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "[agents] %s must be a duration above zero, e.g. 30s", key);
		return FALSE;
	}
	*out = usec;
	return TRUE;
}

static gboolean
ark_agents_read_config(ArkAgents *self, GKeyFile *config, GError **error)
{
	if (!ark_agents_read_duration(config, "heartbeat-timeout", &self->heartbeat_timeout,
				      error) ||
	    !ark_agents_read_duration(config, "offer-timeout", &self->offer_timeout, error) ||
	    !ark_agents_read_duration(config, "trust-half-life", &self->half_life, error))
		return FALSE;
	if (config != NULL && g_key_file_has_key(config, "agents", "max-agents", NULL)) {
		g_autofree gchar *value =
		    g_key_file_get_string(config, "agents", "max-agents", NULL);
		guint64 n = 0;
		if (value == NULL ||
		    !g_ascii_string_to_unsigned(g_strstrip(value), 10, 1, 1000000, &n, NULL)) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[agents] max-agents must be a whole number from 1 to "
					    "1000000");
			return FALSE;
		}
		self->max_agents = (guint)n;
	}
	return TRUE;
}

static void
ark_agents_setup_coordinators(ArkAgents *self, GKeyFile *config)
{
	ArkRegistry *registry = ark_engine_get_registry(self->engine);
	g_auto(GStrv) names = ark_registry_list_names(registry, ARK_CAPABILITY_COORDINATOR);

	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkCoordinator) coordinator = NULL;
		g_autofree gchar *group = g_strdup_printf("coordinator-%s", names[i]);
		ArkCoordinatorSetup setup = {
		    .name = names[i],
		    .config = config,
		    .group = group,
		    .rand = ark_engine_get_rand(self->engine),
		};

		coordinator = ark_registry_create(registry, ARK_CAPABILITY_COORDINATOR, names[i],
						  &error);
		if (coordinator == NULL || !ark_coordinator_setup(coordinator, &setup, &error)) {
			g_warning("coordinator %s is not available: %s", names[i], error->message);
			continue;
		}
		g_hash_table_insert(self->coordinators, g_strdup(names[i]),
				    g_steal_pointer(&coordinator));
	}
}

/* a stored agent, or NULL when it is damaged (a store may hold anything) */
static ArkAgent *
ark_agents_agent_from_record(ArkAgents *self, const ArkObjectRecord *rec)
{
	g_autoptr(JsonNode) node = json_from_string(rec->value, NULL);
	JsonObject *obj;
	JsonNode *caps;
	JsonNode *metadata;
	ArkAgent *agent;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	obj = json_node_get_object(node);
	caps = json_object_get_member(obj, "capabilities");
	if (json_object_get_string_member_with_default(obj, "name", NULL) == NULL ||
	    json_object_get_string_member_with_default(obj, "token_sha256", NULL) == NULL ||
	    caps == NULL || !JSON_NODE_HOLDS_ARRAY(caps))
		return NULL;
	agent = ark_agent_new();
	agent->id = g_strdup(rec->key);
	agent->name = g_strdup(json_object_get_string_member(obj, "name"));
	agent->token_sha256 = g_strdup(json_object_get_string_member(obj, "token_sha256"));
	for (guint i = 0; i < json_array_get_length(json_node_get_array(caps)); i++) {
		JsonNode *c = json_array_get_element(json_node_get_array(caps), i);
		ArkAgentCapability cap = {0};
		if (!JSON_NODE_HOLDS_OBJECT(c))
			continue;
		cap.name = g_strdup(json_object_get_string_member_with_default(
		    json_node_get_object(c), "name", NULL));
		cap.proficiency = json_object_get_double_member_with_default(
		    json_node_get_object(c), "proficiency", 1.0);
		if (cap.name == NULL)
			continue;
		g_array_append_val(agent->caps, cap);
	}
	agent->max_assignments =
	    (guint)CLAMP(ark_agents_get_uint(obj, "max_assignments"), 1, ARK_AGENT_MAX_ASSIGNMENTS);
	metadata = json_object_get_member(obj, "metadata");
	agent->metadata = metadata != NULL && JSON_NODE_HOLDS_OBJECT(metadata)
			      ? json_node_copy(metadata)
			      : json_node_init_object(json_node_alloc(), json_object_new());
	agent->registered_at = ark_agents_get_time(obj, "registered_at");
	agent->last_heartbeat = ark_agents_get_time(obj, "last_heartbeat");
	agent->online = agent->last_heartbeat + self->heartbeat_timeout > ark_agents_now(self);
	return agent;
}

static ArkAssignment *
ark_agents_assignment_from_record(const ArkObjectRecord *rec)
{
	g_autoptr(JsonNode) node = json_from_string(rec->value, NULL);
	JsonObject *obj;
	ArkAssignment *a;
	JsonNode *progress;
	ArkAssignmentState state;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	obj = json_node_get_object(node);
	if (json_object_get_string_member_with_default(obj, "run_id", NULL) == NULL ||
	    json_object_get_string_member_with_default(obj, "task_id", NULL) == NULL ||
	    json_object_get_string_member_with_default(obj, "agent_id", NULL) == NULL ||
	    !ark_assignment_state_from_string(
		json_object_get_string_member_with_default(obj, "state", NULL), &state))
		return NULL;
	a = g_new0(ArkAssignment, 1);
	a->id = g_strdup(rec->key);
	a->run_id = g_strdup(json_object_get_string_member(obj, "run_id"));
	a->task_id = g_strdup(json_object_get_string_member(obj, "task_id"));
	a->agent_id = g_strdup(json_object_get_string_member(obj, "agent_id"));
	a->mode = g_strdup(json_object_get_string_member_with_default(obj, "mode", ""));
	a->state = state;
	a->attempt = (guint)MIN(ark_agents_get_uint(obj, "attempt"), G_MAXUINT);
	a->piece = (guint)MIN(ark_agents_get_uint(obj, "piece"), G_MAXUINT);
	a->fence = ark_agents_get_uint(obj, "fence");
	a->seq = ark_agents_get_uint(obj, "seq");
	a->offered_at = ark_agents_get_time(obj, "offered_at");
	a->claimed_at = ark_agents_get_time(obj, "claimed_at");
	a->lease_expires_at = ark_agents_get_time(obj, "lease_expires_at");
	a->ended_at = ark_agents_get_time(obj, "ended_at");
	progress = json_object_get_member(obj, "progress");
	if (progress != NULL)
		a->progress = json_node_copy(progress);
	a->reason = g_strdup(json_object_get_string_member_with_default(obj, "reason", NULL));
	a->result = g_strdup(json_object_get_string_member_with_default(obj, "result", NULL));
	a->choice = g_strdup(json_object_get_string_member_with_default(obj, "choice", NULL));
	return a;
}

static gint
ark_agents_compare_seq(gconstpointer pa, gconstpointer pb)
{
	const ArkAssignment *a = *(ArkAssignment *const *)pa;
	const ArkAssignment *b = *(ArkAssignment *const *)pb;
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static gboolean
ark_agents_load(ArkAgents *self, GError **error)
{
	ArkStore *store = ark_engine_get_store(self->engine);
	g_autoptr(GPtrArray) agents = NULL;
	g_autoptr(GPtrArray) trust = NULL;
	g_autoptr(GPtrArray) assignments = NULL;
	g_autoptr(GPtrArray) state = NULL;

	self->persist = store != NULL && ark_store_supports_objects(store);
	if (!self->persist)
		return TRUE;
	agents = ark_store_list_objects(store, "agent", error);
	if (agents == NULL)
		return FALSE;
	trust = ark_store_list_objects(store, "trust", error);
	if (trust == NULL)
		return FALSE;
	assignments = ark_store_list_objects(store, "assignment", error);
	if (assignments == NULL)
		return FALSE;
	state = ark_store_list_objects(store, "agent-state", error);
	if (state == NULL)
		return FALSE;

	for (guint i = 0; i < agents->len; i++) {
		const ArkObjectRecord *rec = g_ptr_array_index(agents, i);
		ArkAgent *agent = ark_agents_agent_from_record(self, rec);
		if (agent == NULL) {
			g_warning("agent %s in the store is damaged; left out", rec->key);
			continue;
		}
		g_hash_table_insert(self->agents, agent->id, agent);
		g_hash_table_insert(self->tokens, agent->token_sha256, agent);
		if (agent->online)
			ark_agents_due(self, agent->last_heartbeat + self->heartbeat_timeout);
	}
	for (guint i = 0; i < trust->len; i++) {
		const ArkObjectRecord *rec = g_ptr_array_index(trust, i);
		const gchar *slash = strchr(rec->key, '/');
		g_autofree gchar *agent_id = NULL;
		g_autoptr(JsonNode) node = NULL;
		ArkAgent *agent;
		ArkTrust t;

		if (slash == NULL)
			continue;
		agent_id = g_strndup(rec->key, slash - rec->key);
		agent = g_hash_table_lookup(self->agents, agent_id);
		node = json_from_string(rec->value, NULL);
		if (agent == NULL || node == NULL || !JSON_NODE_HOLDS_OBJECT(node) ||
		    !ark_trust_from_json(json_node_get_object(node), &t, NULL))
			continue;
		*ark_agent_get_trust(agent, slash + 1) = t;
		ark_metric_series_set(
		    ark_metric_series(self->m_trust, (const gchar *[]){agent_id, slash + 1, NULL}),
		    ark_trust_get_mean(&t));
	}
	for (guint i = 0; i < state->len; i++) {
		const ArkObjectRecord *rec = g_ptr_array_index(state, i);
		g_autoptr(JsonNode) node = json_from_string(rec->value, NULL);
		if (g_strcmp0(rec->key, "fence") == 0 && node != NULL &&
		    JSON_NODE_HOLDS_OBJECT(node))
			self->next_fence = MAX(self->next_fence,
					       ark_agents_get_uint(json_node_get_object(node),
								   "fence"));
	}
	for (guint i = 0; i < assignments->len; i++) {
		const ArkObjectRecord *rec = g_ptr_array_index(assignments, i);
		ArkAssignment *a = ark_agents_assignment_from_record(rec);
		ArkAgent *agent;
		if (a == NULL) {
			g_warning("assignment %s in the store is damaged; left out", rec->key);
			continue;
		}
		agent = g_hash_table_lookup(self->agents, a->agent_id);
		if (ark_assignment_is_active(a) && agent != NULL)
			agent->load++;
		if (ark_assignment_is_active(a))
			self->loaded_active = TRUE;
		self->next_fence = MAX(self->next_fence, a->fence);
		self->next_seq = MAX(self->next_seq, a->seq);
		g_hash_table_insert(self->assignments, a->id, a);
		g_ptr_array_add(self->order, a);
	}
	g_ptr_array_sort(self->order, ark_agents_compare_seq);
	return TRUE;
}

gboolean
ark_agents_start(ArkAgents *self, GError **error)
{
	GKeyFile *config = ark_engine_get_config(self->engine);

	if (!ark_agents_read_config(self, config, error))
		return FALSE;
	ark_agents_setup_coordinators(self, config);
	if (!ark_agents_load(self, error)) {
		g_prefix_error(error, "could not load the agents: ");
		return FALSE;
	}
	ark_agents_rearm(self);
	return TRUE;
}

/* explain ------------------------------------------------------------------------------------- */

gchar *
ark_agents_explain_task(ArkAgents *self, const gchar *run_id, const gchar *task_id,
			JsonBuilder *b)
{
	g_autofree gchar *key = ark_agents_work_key(run_id, task_id);
	ArkAgentWork *work = g_hash_table_lookup(self->works, key);
	g_autoptr(GString) waiting = g_string_new(NULL);
	guint n_waiting = 0;

	if (work == NULL)
		return NULL;
	json_builder_set_member_name(b, "agents");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, work->spec->agent->mode);
	json_builder_set_member_name(b, "contenders");
	json_builder_add_int_value(b, work->contenders);
	json_builder_set_member_name(b, "pieces");
	json_builder_begin_array(b);
	for (guint i = 0; i < work->n_pieces; i++) {
		ArkAgentPiece *p = &work->pieces[i];
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "piece");
		json_builder_add_int_value(b, i);
		json_builder_set_member_name(b, "done");
		json_builder_add_boolean_value(b, p->done);
		json_builder_set_member_name(b, "handoffs");
		json_builder_add_int_value(b, p->handoffs);
		json_builder_set_member_name(b, "assignments");
		json_builder_begin_array(b);
		for (guint j = 0; j < work->assignments->len; j++) {
			ArkAssignment *a = g_ptr_array_index(work->assignments, j);
			if (a->piece != i)
				continue;
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "id");
			json_builder_add_string_value(b, a->id);
			json_builder_set_member_name(b, "agent_id");
			json_builder_add_string_value(b, a->agent_id);
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, ark_assignment_state_to_string(a->state));
			json_builder_end_object(b);
			if (ark_assignment_is_active(a)) {
				g_string_append_printf(waiting, "%s%s (%s, piece %u)",
						       n_waiting > 0 ? ", " : "", a->agent_id,
						       ark_assignment_state_to_string(a->state), i);
				n_waiting++;
			}
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	if (n_waiting == 0)
		return g_strdup_printf("agent task (%s): %u of %u pieces done; waiting for an "
				       "online agent with its capabilities and a free slot",
				       work->spec->agent->mode, work->n_done, work->n_pieces);
	return g_strdup_printf("agent task (%s): %u of %u pieces done; waiting for %s",
			       work->spec->agent->mode, work->n_done, work->n_pieces,
			       waiting->str);
}

/* the engine API (ark-engine-agents.h) --------------------------------------------------------- */

static ArkAgents *
ark_agents_get(ArkEngine *engine)
{
	return ark_engine_get_agents(engine);
}

static void
ark_agents_audit(ArkAgents *self, const gchar *actor, const gchar *action, const gchar *target,
		 const GError *error, const gchar *detail)
{
	g_autoptr(GError) local_error = NULL;
	ArkAuditEntry entry = {
	    .actor = actor != NULL ? actor : "unknown",
	    .action = action,
	    .target = target,
	    .result = error == NULL ? "ok"
		      : error->domain == ARK_ERROR ? ark_error_to_string(error->code)
						   : "failed",
	    .detail = detail,
	};

	if (ark_engine_get_store(self->engine) == NULL)
		return;
	if (!ark_engine_audit(self->engine, &entry, FALSE, &local_error))
		g_debug("could not audit %s: %s", action, local_error->message);
}

/*
 * A change an agent or its supervisor asked for, and its audit record, are durable before the
 * call returns and the frontend answers. @ok is how the call went; a call that succeeded but
 * could not be committed fails with the store's error (a failing store also stops the engine).
 */
static gboolean
ark_agents_commit(ArkEngine *engine, gboolean ok, GError **error)
{
	g_autoptr(GError) local_error = NULL;

	if (ark_engine_get_store(engine) == NULL || ark_engine_commit(engine, &local_error))
		return ok;
	if (ok) {
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	g_debug("could not commit a refused agent call: %s", local_error->message);
	return FALSE;
}

/* a name a person reads: 1 to ARK_AGENT_MAX_NAME_LEN bytes of UTF-8, no control characters */
static gboolean
ark_agents_check_text(const gchar *what, const gchar *text, gsize max, GError **error)
{
	gsize len = strlen(text);

	if (len == 0 || len > max || !g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "%s must be 1 to %" G_GSIZE_FORMAT " bytes of UTF-8", what, max);
		return FALSE;
	}
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		if (g_unichar_iscntrl(g_utf8_get_char(p))) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "%s must not contain control characters", what);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
ark_agents_check_capability_name(const gchar *name, GError **error)
{
	gsize len = strlen(name);
	gboolean ok = len > 0 && len <= ARK_AGENTS_MAX_CAPABILITY_LEN;

	for (gsize i = 0; ok && i < len; i++)
		ok = g_ascii_isalnum(name[i]) || strchr("._:/-", name[i]) != NULL;
	if (ok)
		return TRUE;
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "capabilities: '%.64s' is not a capability name (1 to %d of A-Z a-z 0-9 . _ : "
		    "/ -)",
		    name, ARK_AGENTS_MAX_CAPABILITY_LEN);
	return FALSE;
}

static gboolean
ark_agents_is_number(JsonNode *node)
{
	GType type;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return FALSE;
	type = json_node_get_value_type(node);
	return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* a new agent from a registration @spec; ARK_ERROR_INVALID_ARGUMENT names the first bad member */
static ArkAgent *
ark_agents_parse_spec(JsonObject *spec, GError **error)
{
	g_autoptr(GList) members = json_object_get_members(spec);
	JsonNode *name = json_object_get_member(spec, "name");
	JsonNode *caps = json_object_get_member(spec, "capabilities");
	JsonNode *max = json_object_get_member(spec, "max_assignments");
	JsonNode *metadata = json_object_get_member(spec, "metadata");
	ArkAgent *agent;
	JsonArray *array;

	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *m = l->data;
		if (g_strcmp0(m, "name") != 0 && g_strcmp0(m, "capabilities") != 0 &&
		    g_strcmp0(m, "max_assignments") != 0 && g_strcmp0(m, "metadata") != 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "unknown member '%.64s' (known: name, capabilities, "
				    "max_assignments, metadata)",
				    m);
			return NULL;
		}
	}
	if (name == NULL || !JSON_NODE_HOLDS_VALUE(name) ||
	    json_node_get_value_type(name) != G_TYPE_STRING) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "name: a string is required");
		return NULL;
	}
	if (!ark_agents_check_text("name", json_node_get_string(name), ARK_AGENT_MAX_NAME_LEN,
				   error))
		return NULL;
	if (caps == NULL || !JSON_NODE_HOLDS_ARRAY(caps) ||
	    json_array_get_length(json_node_get_array(caps)) == 0) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "capabilities: a non-empty array is required");
		return NULL;
	}
	array = json_node_get_array(caps);
	if (json_array_get_length(array) > ARK_AGENT_MAX_CAPABILITIES) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "capabilities: at most %d are allowed", ARK_AGENT_MAX_CAPABILITIES);
		return NULL;
	}
	if (max != NULL &&
	    (!JSON_NODE_HOLDS_VALUE(max) || json_node_get_value_type(max) != G_TYPE_INT64 ||
	     json_node_get_int(max) < 1 || json_node_get_int(max) > ARK_AGENT_MAX_ASSIGNMENTS)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "max_assignments: a whole number from 1 to %d is required",
			    ARK_AGENT_MAX_ASSIGNMENTS);
		return NULL;
	}
	if (metadata != NULL && !JSON_NODE_HOLDS_NULL(metadata)) {
		g_autofree gchar *text = NULL;
		if (!JSON_NODE_HOLDS_OBJECT(metadata)) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "metadata: an object is required");
			return NULL;
		}
		text = json_to_string(metadata, FALSE);
		if (strlen(text) > ARK_AGENT_MAX_METADATA_BYTES ||
		    !ark_agents_depth_ok(metadata, ARK_AGENTS_MAX_RESULT_DEPTH)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "metadata: at most %d bytes of JSON, nested at most %d deep, "
				    "are allowed",
				    ARK_AGENT_MAX_METADATA_BYTES, ARK_AGENTS_MAX_RESULT_DEPTH);
			return NULL;
		}
	}

	agent = ark_agent_new();
	agent->name = g_strdup(json_node_get_string(name));
	agent->max_assignments = max != NULL ? (guint)json_node_get_int(max) : 1;
	agent->metadata = metadata != NULL && JSON_NODE_HOLDS_OBJECT(metadata)
			      ? json_node_copy(metadata)
			      : json_node_init_object(json_node_alloc(), json_object_new());
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *c = json_array_get_element(array, i);
		ArkAgentCapability cap = {NULL, 1.0};
		const gchar *cname = NULL;

		if (JSON_NODE_HOLDS_VALUE(c) && json_node_get_value_type(c) == G_TYPE_STRING) {
			cname = json_node_get_string(c);
		} else if (JSON_NODE_HOLDS_OBJECT(c)) {
			JsonObject *o = json_node_get_object(c);
			JsonNode *n = json_object_get_member(o, "name");
			JsonNode *p = json_object_get_member(o, "proficiency");
			g_autoptr(GList) cm = json_object_get_members(o);
			for (GList *l = cm; l != NULL; l = l->next) {
				if (g_strcmp0(l->data, "name") != 0 &&
				    g_strcmp0(l->data, "proficiency") != 0) {
					g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
						    "capabilities[%u]: unknown member '%.64s'", i,
						    (const gchar *)l->data);
					ark_agent_free(agent);
					return NULL;
				}
			}
			if (n != NULL && JSON_NODE_HOLDS_VALUE(n) &&
			    json_node_get_value_type(n) == G_TYPE_STRING)
				cname = json_node_get_string(n);
			if (p != NULL) {
				if (!ark_agents_is_number(p) || json_node_get_double(p) < 0 ||
				    json_node_get_double(p) > 1) {
					g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
						    "capabilities[%u].proficiency: a number from 0 "
						    "to 1 is required",
						    i);
					ark_agent_free(agent);
					return NULL;
				}
				cap.proficiency = json_node_get_double(p);
			}
		}
		if (cname == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "capabilities[%u]: a name or {\"name\", \"proficiency\"} is "
				    "required",
				    i);
			ark_agent_free(agent);
			return NULL;
		}
		if (!ark_agents_check_capability_name(cname, error)) {
			ark_agent_free(agent);
			return NULL;
		}
		if (ark_agent_find_capability(agent, cname) != NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "capabilities: '%s' is listed twice", cname);
			ark_agent_free(agent);
			return NULL;
		}
		cap.name = g_strdup(cname);
		g_array_append_val(agent->caps, cap);
	}
	return agent;
}

/* "arkagt_" and 43 base64url characters of 32 random bytes */
static gchar *
ark_agents_new_token(GError **error)
{
	guint8 secret[32];
	g_autofree gchar *b64 = NULL;

	if (!ark_agents_random(secret, sizeof(secret))) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INTERNAL, "getrandom failed: %s",
			    g_strerror(errno));
		return NULL;
	}
	b64 = g_base64_encode(secret, sizeof(secret));
	for (gchar *p = b64; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0';
	}
	return g_strdup_printf("arkagt_%s", b64);
}

static JsonObject *
ark_agents_agent_to_json(ArkAgents *self, ArkAgent *agent, gboolean with_assignments)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree const gchar **caps = NULL;
	ArkTimestamp now = ark_agents_now(self);
	guint n_caps = 0;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, agent->id);
	ark_agent_add_description(b, agent);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, agent->online ? "online" : "offline");
	ark_agents_add_time(b, "registered_at", agent->registered_at);
	ark_agents_add_time(b, "last_heartbeat", agent->last_heartbeat);
	json_builder_set_member_name(b, "load");
	json_builder_add_int_value(b, agent->load);
	json_builder_set_member_name(b, "trust");
	json_builder_begin_object(b);
	caps = (const gchar **)g_hash_table_get_keys_as_array(agent->trust, &n_caps);
	qsort(caps, n_caps, sizeof(gchar *), (GCompareFunc)ark_agents_compare_strings);
	for (guint i = 0; i < n_caps; i++) {
		ArkTrust trust = *(ArkTrust *)g_hash_table_lookup(agent->trust, caps[i]);
		ark_trust_decay(&trust, now, self->half_life);
		json_builder_set_member_name(b, caps[i]);
		json_builder_add_value(
		    b, json_node_init_object(json_node_alloc(), ark_trust_to_json(&trust)));
	}
	json_builder_end_object(b);
	if (with_assignments) {
		json_builder_set_member_name(b, "assignments");
		json_builder_begin_array(b);
		for (guint i = 0; i < self->order->len; i++) {
			ArkAssignment *a = g_ptr_array_index(self->order, i);
			if (ark_assignment_is_active(a) && a->work != NULL &&
			    g_strcmp0(a->agent_id, agent->id) == 0)
				json_builder_add_string_value(b, a->id);
		}
		json_builder_end_array(b);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_object_ref(json_node_get_object(root));
}

static ArkAgent *
ark_agents_lookup(ArkAgents *self, const gchar *agent_id, GError **error)
{
	ArkAgent *agent = agent_id != NULL ? g_hash_table_lookup(self->agents, agent_id) : NULL;

	if (agent == NULL)
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "unknown agent %s",
			    agent_id != NULL ? agent_id : "(null)");
	return agent;
}

static JsonObject *
ark_agents_register_agent(ArkEngine *engine, JsonObject *spec, const gchar *by, GError **error)
{
	ArkAgents *self;
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *token = NULL;
	g_autofree guint8 *raw = NULL;
	ArkAgent *agent;
	JsonObject *out;
	guint8 bytes[8];

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	g_return_val_if_fail(spec != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	self = ark_agents_get(engine);

	agent = ark_agents_parse_spec(spec, &local_error);
	if (agent != NULL && g_hash_table_size(self->agents) >= self->max_agents) {
		g_set_error(&local_error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    "%u agents are registered, the most [agents] max-agents allows",
			    self->max_agents);
		g_clear_pointer(&agent, ark_agent_free);
	}
	if (agent != NULL) {
		token = ark_agents_new_token(&local_error);
		if (token == NULL || !ark_agents_random(bytes, sizeof(bytes))) {
			if (local_error == NULL)
				g_set_error_literal(&local_error, ARK_ERROR, ARK_ERROR_INTERNAL,
						    "getrandom failed");
			g_clear_pointer(&agent, ark_agent_free);
		}
	}
	if (agent == NULL) {
		ark_agents_audit(self, by, "agent.register", NULL, local_error, NULL);
		g_propagate_error(error, g_steal_pointer(&local_error));
		return NULL;
	}
	agent->id = g_strdup_printf("agt_%02x%02x%02x%02x%02x%02x%02x%02x", bytes[0], bytes[1],
				    bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
	agent->token_sha256 = ark_agents_sha256(token);
	agent->registered_at = agent->last_heartbeat = ark_agents_now(self);
	agent->online = TRUE;
	g_hash_table_insert(self->agents, agent->id, agent);
	g_hash_table_insert(self->tokens, agent->token_sha256, agent);
	ark_agents_save_agent(self, agent);
	ark_agents_due(self, agent->last_heartbeat + self->heartbeat_timeout);
	{
		g_autoptr(GString) detail = g_string_new("{\"name\":");
		ark_json_append_string(detail, agent->name);
		g_string_append_c(detail, '}');
		ark_agents_audit(self, by, "agent.register", agent->id, NULL, detail->str);
	}
	ark_agents_schedule_match(self);
	out = ark_agents_agent_to_json(self, agent, FALSE);
	json_object_set_string_member(out, "token", token);
	return out;
}

JsonObject *
ark_engine_register_agent(ArkEngine *engine, JsonObject *spec, const gchar *by, GError **error)
{
	JsonObject *out = ark_agents_register_agent(engine, spec, by, error);

	if (!ark_agents_commit(engine, out != NULL, error))
		g_clear_pointer(&out, json_object_unref);
	return out;
}

static gboolean
ark_agents_deregister_agent(ArkEngine *engine, const gchar *agent_id, const gchar *by,
			    GError **error)
{
	ArkAgents *self;
	g_autoptr(GError) local_error = NULL;
	g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) caps = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key;
	ArkAgent *agent;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	self = ark_agents_get(engine);

	agent = ark_agents_lookup(self, agent_id, &local_error);
	if (agent == NULL) {
		ark_agents_audit(self, by, "agent.remove", agent_id, local_error, NULL);
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (ark_assignment_is_active(a) && g_strcmp0(a->agent_id, agent->id) == 0)
			g_ptr_array_add(held, g_strdup(a->id));
	}
	for (guint i = 0; i < held->len; i++) {
		ArkAssignment *a = g_hash_table_lookup(self->assignments, held->pdata[i]);
		if (a != NULL && ark_assignment_is_active(a))
			ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_CANCELLED,
						  "its agent was removed");
	}
	g_hash_table_iter_init(&iter, agent->trust);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_ptr_array_add(caps, g_strdup_printf("%s/%s", agent->id, (const gchar *)key));
	for (guint i = 0; i < caps->len; i++)
		ark_agents_delete(self, "trust", caps->pdata[i]);
	ark_agents_delete(self, "agent", agent->id);
	ark_agents_audit(self, by, "agent.remove", agent->id, NULL, NULL);
	g_hash_table_remove(self->tokens, agent->token_sha256);
	g_hash_table_remove(self->agents, agent->id);
	/* its waiting claims learn that it is gone */
	ark_agents_schedule_deliver(self);
	ark_agents_schedule_match(self);
	return TRUE;
}

gboolean
ark_engine_deregister_agent(ArkEngine *engine, const gchar *agent_id, const gchar *by,
			    GError **error)
{
	gboolean ok = ark_agents_deregister_agent(engine, agent_id, by, error);

	return ark_agents_commit(engine, ok, error);
}

gchar *
ark_engine_authenticate_agent(ArkEngine *engine, const gchar *token)
{
	ArkAgents *self;
	g_autofree gchar *sum = NULL;
	ArkAgent *agent;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	if (token == NULL || !g_str_has_prefix(token, "arkagt_") || strlen(token) > 256)
		return NULL;
	sum = ark_agents_sha256(token);
	/* the table is keyed by the hash of the secret: finding it tells nothing of the secret */
	agent = g_hash_table_lookup(self->tokens, sum);
	if (agent == NULL || !ark_agents_equal(agent->token_sha256, sum))
		return NULL;
	return g_strdup(agent->id);
}

JsonArray *
ark_engine_list_agents(ArkEngine *engine)
{
	ArkAgents *self;
	JsonArray *out = json_array_new();
	g_autofree gpointer *ids = NULL;
	guint n = 0;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), out);
	self = ark_agents_get(engine);
	ids = g_hash_table_get_keys_as_array(self->agents, &n);
	qsort(ids, n, sizeof(gpointer), (GCompareFunc)ark_agents_compare_strings);
	for (guint i = 0; i < n; i++)
		json_array_add_object_element(
		    out, ark_agents_agent_to_json(self, g_hash_table_lookup(self->agents, ids[i]),
						  FALSE));
	return out;
}

JsonObject *
ark_engine_get_agent(ArkEngine *engine, const gchar *agent_id, GError **error)
{
	ArkAgents *self;
	ArkAgent *agent;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	agent = ark_agents_lookup(self, agent_id, error);
	if (agent == NULL)
		return NULL;
	return ark_agents_agent_to_json(self, agent, TRUE);
}

static JsonArray *
ark_agents_list_held(ArkAgents *self, const gchar *agent_id)
{
	JsonArray *out = json_array_new();

	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *a = g_ptr_array_index(self->order, i);
		if (!ark_assignment_is_active(a) || a->work == NULL ||
		    (agent_id != NULL && g_strcmp0(a->agent_id, agent_id) != 0))
			continue;
		json_array_add_object_element(out,
					      ark_assignment_to_json(self, a, agent_id != NULL));
	}
	return out;
}

JsonObject *
ark_engine_agent_heartbeat(ArkEngine *engine, const gchar *agent_id, GError **error)
{
	ArkAgents *self;
	ArkAgent *agent;
	JsonObject *out;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	agent = ark_agents_lookup(self, agent_id, error);
	if (agent == NULL)
		return NULL;
	ark_agents_touch(self, agent);
	ark_agents_due(self, agent->last_heartbeat + self->heartbeat_timeout);
	out = json_object_new();
	json_object_set_string_member(out, "state", "online");
	json_object_set_int_member(out, "heartbeat_timeout_ms", self->heartbeat_timeout / 1000);
	json_object_set_array_member(out, "assignments", ark_agents_list_held(self, agent_id));
	return out;
}

void
ark_engine_claim_assignment(ArkEngine *engine, const gchar *agent_id, gint64 wait,
			    GCancellable *cancellable, ArkClaimCallback callback,
			    gpointer user_data)
{
	ArkAgents *self;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) obj = NULL;
	ArkAgent *agent;
	ArkAssignment *a;
	ArkClaimWaiter *w;

	g_return_if_fail(ARK_IS_ENGINE(engine));
	g_return_if_fail(callback != NULL);
	self = ark_agents_get(engine);
	agent = ark_agents_lookup(self, agent_id, &error);
	if (agent == NULL) {
		callback(engine, NULL, error, user_data);
		return;
	}
	if (cancellable != NULL && g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		callback(engine, NULL, error, user_data);
		return;
	}
	ark_agents_touch(self, agent);
	ark_agents_due(self, agent->last_heartbeat + self->heartbeat_timeout);
	/* an offer made for it now is found at once */
	ark_agents_match(self);
	a = ark_agents_oldest_offer(self, agent->id);
	if (a != NULL) {
		ark_agents_claim(self, a);
		obj = ark_assignment_to_json(self, a, TRUE);
		callback(engine, obj, NULL, user_data);
		return;
	}
	if (wait <= 0 || self->stopped) {
		callback(engine, NULL, NULL, user_data);
		return;
	}
	w = g_new0(ArkClaimWaiter, 1);
	w->agents = self;
	w->agent_id = g_strdup(agent->id);
	w->deadline = ark_agents_now(self) + MIN(wait, ARK_AGENT_MAX_WAIT);
	w->callback = callback;
	w->user_data = user_data;
	if (cancellable != NULL) {
		w->cancellable = g_object_ref(cancellable);
		w->cancelled_id = g_cancellable_connect(
		    cancellable, G_CALLBACK(ark_agents_waiter_cancelled_cb), self, NULL);
	}
	agent->waiting++;
	g_ptr_array_add(self->waiters, w);
	ark_agents_due(self, w->deadline);
}

/* the assignment @agent_id holds as @assignment_id under @fence, or NULL with NOT_FOUND,
 * PERMISSION_DENIED or CONFLICT */
static ArkAssignment *
ark_agents_held(ArkAgents *self, const gchar *agent_id, const gchar *assignment_id,
		guint64 fence, GError **error)
{
	ArkAssignment *a;

	if (ark_agents_lookup(self, agent_id, error) == NULL)
		return NULL;
	a = assignment_id != NULL ? g_hash_table_lookup(self->assignments, assignment_id) : NULL;
	if (a == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "unknown assignment %s",
			    assignment_id != NULL ? assignment_id : "(null)");
		return NULL;
	}
	if (g_strcmp0(a->agent_id, agent_id) != 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
			    "assignment %s is not agent %s's", a->id, agent_id);
		return NULL;
	}
	if (a->state != ARK_ASSIGNMENT_CLAIMED || a->work == NULL || a->work->ended) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_CONFLICT, "assignment %s is %s%s%s", a->id,
			    a->state == ARK_ASSIGNMENT_CLAIMED ? "no longer held"
							       : ark_assignment_state_to_string(
								     a->state),
			    a->reason != NULL ? ": " : "", a->reason != NULL ? a->reason : "");
		return NULL;
	}
	if (a->fence != fence) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_CONFLICT,
			    "fencing token %" G_GUINT64_FORMAT " is not the current one of "
			    "assignment %s: it was claimed again since",
			    fence, a->id);
		return NULL;
	}
	if (a->checking) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_CONFLICT,
			    "the result of assignment %s is being checked", a->id);
		return NULL;
	}
	return a;
}

JsonObject *
ark_engine_assignment_heartbeat(ArkEngine *engine, const gchar *agent_id,
				const gchar *assignment_id, guint64 fence, JsonNode *progress,
				GError **error)
{
	ArkAgents *self;
	ArkAssignment *a;
	JsonObject *out;
	g_autofree gchar *when = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	a = ark_agents_held(self, agent_id, assignment_id, fence, error);
	if (a == NULL)
		return NULL;
	if (progress != NULL) {
		g_autofree gchar *text = json_to_string(progress, FALSE);
		if (strlen(text) > ARK_AGENT_MAX_PROGRESS_BYTES ||
		    !ark_agents_depth_ok(progress, ARK_AGENTS_MAX_RESULT_DEPTH)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "progress: at most %d bytes of JSON, nested at most %d deep, "
				    "are allowed",
				    ARK_AGENT_MAX_PROGRESS_BYTES, ARK_AGENTS_MAX_RESULT_DEPTH);
			return NULL;
		}
		g_clear_pointer(&a->progress, json_node_unref);
		a->progress = json_node_copy(progress);
	}
	ark_agents_touch(self, g_hash_table_lookup(self->agents, agent_id));
	a->lease_expires_at = ark_agents_now(self) + a->work->spec->agent->lease;
	ark_agents_save_assignment(self, a);
	ark_agents_due(self, a->lease_expires_at);
	when = ark_timestamp_format(a->lease_expires_at);
	out = json_object_new();
	json_object_set_string_member(out, "lease_expires_at", when);
	json_object_set_string_member(out, "state", ark_assignment_state_to_string(a->state));
	return out;
}

typedef struct {
	ArkAgents *agents;
	gchar *assignment_id;
	guint64 fence;
	JsonNode *result;
} ArkAgentsCheck;

static void
ark_agents_check_free(gpointer data)
{
	ArkAgentsCheck *check = data;
	g_free(check->assignment_id);
	json_node_unref(check->result);
	g_free(check);
}

static void
ark_agents_checked_cb(gboolean accepted, const gchar *reason, gpointer user_data)
{
	ArkAgentsCheck *check = user_data;
	ArkAgents *self = check->agents;
	ArkAssignment *a = g_hash_table_lookup(self->assignments, check->assignment_id);

	/* it may have ended meanwhile: cancelled, superseded, its attempt over */
	if (a == NULL || a->state != ARK_ASSIGNMENT_CLAIMED || a->fence != check->fence ||
	    !a->checking || a->work == NULL || a->work->ended)
		return;
	a->checking = FALSE;
	ark_agents_verdict(self, a, check->result, accepted, reason);
}

static JsonObject *
ark_agents_complete_assignment(ArkEngine *engine, const gchar *agent_id,
			       const gchar *assignment_id, guint64 fence, JsonNode *result,
			       GError **error)
{
	ArkAgents *self;
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *text = NULL;
	ArkAgentsCheck *check;
	ArkAssignment *a;
	JsonObject *out;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	a = ark_agents_held(self, agent_id, assignment_id, fence, &local_error);
	if (a != NULL && result == NULL)
		g_set_error_literal(&local_error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "result: a JSON value is required");
	if (a != NULL && result != NULL) {
		text = json_to_string(result, FALSE);
		if (strlen(text) > ARK_RESULT_MAX_BYTES)
			g_set_error(&local_error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "result: at most %d bytes of JSON are allowed",
				    ARK_RESULT_MAX_BYTES);
		/* merged into the task's result one level down */
		else if (!ark_agents_depth_ok(result, ARK_AGENTS_MAX_RESULT_DEPTH))
			g_set_error(&local_error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "result: nested deeper than %d levels",
				    ARK_AGENTS_MAX_RESULT_DEPTH);
	}
	if (local_error != NULL) {
		ark_agents_audit(self, agent_id, "assignment.complete", assignment_id, local_error,
				 NULL);
		g_propagate_error(error, g_steal_pointer(&local_error));
		return NULL;
	}
	ark_agents_touch(self, g_hash_table_lookup(self->agents, agent_id));
	ark_agents_audit(self, agent_id, "assignment.complete", assignment_id, NULL, NULL);
	check = g_new0(ArkAgentsCheck, 1);
	check->agents = self;
	check->assignment_id = g_strdup(a->id);
	check->fence = a->fence;
	check->result = json_node_copy(result);
	a->checking = TRUE;
	/* "first" and "schema" answer at once, a command when it exits */
	ark_agent_executor_check_result(a->work->spec, result, self->checks, ark_agents_checked_cb,
					check, ark_agents_check_free);
	out = json_object_new();
	json_object_set_string_member(out, "state", a->checking ? "checking"
								: ark_assignment_state_to_string(
								      a->state));
	if (!a->checking && a->state != ARK_ASSIGNMENT_COMPLETED && a->reason != NULL)
		json_object_set_string_member(out, "reason", a->reason);
	return out;
}

JsonObject *
ark_engine_complete_assignment(ArkEngine *engine, const gchar *agent_id,
			       const gchar *assignment_id, guint64 fence, JsonNode *result,
			       GError **error)
{
	JsonObject *out = ark_agents_complete_assignment(engine, agent_id, assignment_id, fence,
							  result, error);

	if (!ark_agents_commit(engine, out != NULL, error))
		g_clear_pointer(&out, json_object_unref);
	return out;
}

static gboolean
ark_agents_fail_assignment(ArkEngine *engine, const gchar *agent_id, const gchar *assignment_id,
			   guint64 fence, const gchar *reason, GError **error)
{
	ArkAgents *self;
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *why = NULL;
	ArkAssignment *a;
	ArkAgentWork *work;
	guint index;
	gboolean others = FALSE;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), FALSE);
	self = ark_agents_get(engine);
	a = ark_agents_held(self, agent_id, assignment_id, fence, &local_error);
	if (a != NULL && reason == NULL)
		g_set_error_literal(&local_error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "reason: a string is required");
	if (a != NULL && reason != NULL)
		(void)ark_agents_check_text("reason", reason, ARK_AGENT_MAX_REASON_LEN,
					    &local_error);
	if (local_error != NULL) {
		ark_agents_audit(self, agent_id, "assignment.fail", assignment_id, local_error,
				 NULL);
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	ark_agents_audit(self, agent_id, "assignment.fail", assignment_id, NULL, NULL);
	ark_agents_touch(self, g_hash_table_lookup(self->agents, agent_id));
	work = a->work;
	index = a->piece;
	ark_agents_observe(self, g_hash_table_lookup(self->agents, agent_id), work->spec,
			   ARK_TRUST_FAILURE, -1, -1);
	ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_FAILED, reason);
	g_hash_table_add(work->pieces[index].tried, g_strdup(agent_id));
	/* competitive: the others on the piece may still make it */
	for (guint i = 0; i < work->pieces[index].holders->len && !others; i++) {
		ArkAssignment *other = g_ptr_array_index(work->pieces[index].holders, i);
		others = other->state == ARK_ASSIGNMENT_CLAIMED;
	}
	if (!others) {
		ArkAttemptResult result = {.status = ARK_ATTEMPT_STATUS_FAILED, .exit_code = -1};
		why = g_strdup_printf("agent %s: %s", agent_id, reason);
		result.error = why;
		ark_agents_work_finish(work, &result);
	}
	return TRUE;
}

gboolean
ark_engine_fail_assignment(ArkEngine *engine, const gchar *agent_id, const gchar *assignment_id,
			   guint64 fence, const gchar *reason, GError **error)
{
	gboolean ok = ark_agents_fail_assignment(engine, agent_id, assignment_id, fence, reason,
						 error);

	return ark_agents_commit(engine, ok, error);
}

static gboolean
ark_agents_release_assignment(ArkEngine *engine, const gchar *agent_id,
			      const gchar *assignment_id, guint64 fence, const gchar *reason,
			      GError **error)
{
	ArkAgents *self;
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *dead = NULL;
	ArkAssignment *a;
	ArkAgentWork *work;
	guint index;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), FALSE);
	self = ark_agents_get(engine);
	a = ark_agents_held(self, agent_id, assignment_id, fence, &local_error);
	if (a != NULL && reason != NULL)
		(void)ark_agents_check_text("reason", reason, ARK_AGENT_MAX_REASON_LEN,
					    &local_error);
	if (local_error != NULL) {
		ark_agents_audit(self, agent_id, "assignment.release", assignment_id, local_error,
				 NULL);
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	ark_agents_audit(self, agent_id, "assignment.release", assignment_id, NULL, NULL);
	ark_agents_touch(self, g_hash_table_lookup(self->agents, agent_id));
	work = a->work;
	index = a->piece;
	ark_agents_end_assignment(self, a, ARK_ASSIGNMENT_RELEASED,
				  reason != NULL ? reason : "released");
	dead = ark_agents_handoff(work, index, agent_id);
	if (dead != NULL)
		ark_agents_work_dead(work, dead);
	return TRUE;
}

gboolean
ark_engine_release_assignment(ArkEngine *engine, const gchar *agent_id,
			      const gchar *assignment_id, guint64 fence, const gchar *reason,
			      GError **error)
{
	gboolean ok = ark_agents_release_assignment(engine, agent_id, assignment_id, fence,
						    reason, error);

	return ark_agents_commit(engine, ok, error);
}

JsonArray *
ark_engine_list_assignments(ArkEngine *engine, const gchar *agent_id)
{
	g_return_val_if_fail(ARK_IS_ENGINE(engine), json_array_new());
	return ark_agents_list_held(ark_agents_get(engine), agent_id);
}

JsonObject *
ark_engine_get_assignment(ArkEngine *engine, const gchar *assignment_id, GError **error)
{
	ArkAgents *self;
	ArkAssignment *a;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	a = assignment_id != NULL ? g_hash_table_lookup(self->assignments, assignment_id) : NULL;
	if (a == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "unknown assignment %s",
			    assignment_id != NULL ? assignment_id : "(null)");
		return NULL;
	}
	return ark_assignment_to_json(self, a, FALSE);
}

JsonObject *
ark_engine_explain_assignment(ArkEngine *engine, const gchar *assignment_id, GError **error)
{
	ArkAgents *self;
	ArkAssignment *a;
	JsonObject *out;
	JsonArray *history;

	g_return_val_if_fail(ARK_IS_ENGINE(engine), NULL);
	self = ark_agents_get(engine);
	out = ark_engine_get_assignment(engine, assignment_id, error);
	if (out == NULL)
		return NULL;
	a = g_hash_table_lookup(self->assignments, assignment_id);
	if (a->choice != NULL) {
		JsonNode *choice = json_from_string(a->choice, NULL);
		if (choice != NULL)
			json_object_set_member(out, "choice", choice);
	}
	history = json_array_new();
	for (guint i = 0; i < self->order->len; i++) {
		ArkAssignment *h = g_ptr_array_index(self->order, i);
		JsonObject *entry;
		if (h->piece != a->piece || h->attempt != a->attempt ||
		    g_strcmp0(h->run_id, a->run_id) != 0 || g_strcmp0(h->task_id, a->task_id) != 0)
			continue;
		entry = json_object_new();
		json_object_set_string_member(entry, "id", h->id);
		json_object_set_string_member(entry, "agent_id", h->agent_id);
		json_object_set_string_member(entry, "state",
					      ark_assignment_state_to_string(h->state));
		if (h->reason != NULL)
			json_object_set_string_member(entry, "reason", h->reason);
		json_array_add_object_element(history, entry);
	}
	json_object_set_array_member(out, "history", history);
	return out;
}
