/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <arkitect/arkitect-core.h>

/*
 * How well the delegated coordinator's strategies pick agents when the agents' reliability is
 * hidden and changes (issue 8, "Evidence"). A discrete-event simulation on a virtual clock of the
 * engine's pull loop, using the real coordinator plugins (loaded with the plugin loader) and the
 * real trust records (ark_trust_observe(), with the engine's half-life decay):
 *
 *   - tasks arrive as a Poisson stream; each is one piece of work of a delegated agent task;
 *   - whenever a task waits and an agent has a free slot, the candidates are the agents with a
 *     free slot that have not yet failed this task (all of them again once every agent has),
 *     each with its trust decayed to now, and the coordinator chooses one;
 *   - the agent works for a time around its own mean (uniform in 0.5..1.5 of it) and then
 *     succeeds with its hidden probability at the time it was given the task, or fails; a
 *     failure is trust FAILURE and the task waits again, a success is trust SUCCESS with the
 *     latency and the task is done.
 *
 * Agents (8, 2 slots each): some are steady, one of the best breaks halfway, one bad one is
 * fixed halfway, one degrades slowly over the run, one is fast and unreliable.
 *
 * Per trial: success rate (successful assignments / assignments), makespan (first arrival to the
 * last task done, hours), and regret: the sum over all choices of p(best candidate now) -
 * p(chosen), i.e. the expected failures caused by not choosing what an oracle that knows every
 * agent's current probability would have chosen among the same candidates. The "oracle" row is
 * that oracle driving the loop. Random numbers that describe the world (arrivals, durations,
 * outcomes) are a hash of (seed, trial, task, attempt), so every strategy meets the same world;
 * the coordinators draw from their own seeded GRand, as the engine's.
 */

#define SIM_T0 (G_GINT64_CONSTANT(1790000000) * G_USEC_PER_SEC)
#define SIM_MAX_AGENTS 32

typedef enum {
	SIM_STEADY,
	SIM_STEP,  /* p0 before half the arrival span, p1 after */
	SIM_DRIFT, /* p0 at the start, linearly to p1 at the end of the arrival span */
} SimChange;

typedef struct {
	const gchar *id;
	const gchar *what;
	gdouble p0, p1;
	SimChange change;
	gdouble mean_duration; /* seconds */
	guint max_load;
} SimAgentDef;

static const SimAgentDef sim_agents[] = {
    {"agt_a", "best, breaks halfway", 0.95, 0.35, SIM_STEP, 60, 2},
    {"agt_b", "good, steady", 0.85, 0.85, SIM_STEADY, 40, 2},
    {"agt_c", "good, slow", 0.80, 0.80, SIM_STEADY, 90, 2},
    {"agt_d", "fair, fast", 0.70, 0.70, SIM_STEADY, 30, 2},
    {"agt_e", "poor, fixed halfway", 0.55, 0.97, SIM_STEP, 50, 2},
    {"agt_f", "coin flip", 0.50, 0.50, SIM_STEADY, 45, 2},
    {"agt_g", "fast, unreliable", 0.30, 0.30, SIM_STEADY, 20, 2},
    {"agt_h", "good, degrades", 0.90, 0.50, SIM_DRIFT, 60, 2},
};

typedef struct {
	const gchar *name;     /* as printed */
	const gchar *strategy; /* [coordinator-delegated] strategy, NULL for the oracle */
	gboolean decay;	       /* trust decays with the half-life */
} SimStrategy;

static const SimStrategy sim_strategies[] = {
    {"thompson", "thompson", TRUE},	   {"thompson, no decay", "thompson", FALSE},
    {"greedy", "greedy", TRUE},		   {"random", "random", TRUE},
    {"round-robin", "round-robin", TRUE}, {"oracle", NULL, TRUE},
};

typedef struct {
	guint tasks;
	guint trials;
	guint64 seed;
	gdouble rate;	   /* arrivals per second */
	gdouble half_life; /* seconds */
	guint slots;	   /* assignments an agent holds at once, 0 for each agent's own */
} SimConfig;

typedef enum {
	SIM_EVENT_ARRIVAL,
	SIM_EVENT_DONE,
} SimEventKind;

typedef struct {
	gint64 at; /* virtual microseconds */
	guint64 seq;
	SimEventKind kind;
	guint task;
	guint agent;
	gboolean success;
	gint64 started;
	gchar *assignment_id; /* engine mode: the assignment to complete (owned) */
	guint64 fence;
} SimEvent;

typedef struct {
	const SimConfig *config;
	ArkCoordinator *coordinator; /* NULL: the oracle */
	gint64 half_life;
	guint trial;
	gint64 now;
	gint64 span; /* the expected arrival span, for the agents' changes */
	GArray *heap; /* SimEvent, a binary min-heap on (at, seq) */
	guint64 seq;
	GQueue waiting; /* task indices */
	guint order[SIM_MAX_AGENTS]; /* the order the candidates are listed in, per trial */
	guint32 *tried;	/* per task: the agents that failed it */
	guint *attempts;
	guint load[SIM_MAX_AGENTS];
	ArkTrust trust[SIM_MAX_AGENTS];
	ArkTaskSpec spec;
	/* results */
	guint assignments;
	guint successes;
	guint late_assignments; /* started in the second half of the arrival span */
	guint late_successes;
	guint done;
	gint64 last_done;
	gdouble regret;
	/* engine mode */
	ArkEngine *engine;
	ArkClock *clock;
	gchar *agent_ids[SIM_MAX_AGENTS];
	GHashTable *agent_index; /* agent id -> index + 1 */
	GHashTable *run_task;	 /* run id -> task index + 1 */
	guint dead;		 /* tasks whose run did not succeed (the loop guard) */
} Sim;

/* splitmix64: the world's random numbers, a pure function of where they are used */
static guint64
sim_hash(guint64 x)
{
	x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* uniform in (0, 1) */
static gdouble
sim_uniform(const Sim *sim, guint task, guint attempt, guint stream)
{
	guint64 h = sim_hash(sim->config->seed ^ sim_hash(sim->trial + 1));
	h = sim_hash(h ^ ((guint64)task << 20) ^ ((guint64)attempt << 4) ^ stream);
	return ((gdouble)(h >> 11) + 0.5) / 9007199254740992.0;
}

static gdouble
sim_agent_p(const Sim *sim, guint agent, gint64 at)
{
	const SimAgentDef *a = &sim_agents[agent];
	gdouble f = (gdouble)(at - SIM_T0) / (gdouble)sim->span;

	switch (a->change) {
	case SIM_STEP:
		return f < 0.5 ? a->p0 : a->p1;
	case SIM_DRIFT:
		return a->p0 + (a->p1 - a->p0) * CLAMP(f, 0.0, 1.0);
	default:
		return a->p0;
	}
}

static guint
sim_slots(const Sim *sim, guint agent)
{
	return sim->config->slots > 0 ? sim->config->slots : sim_agents[agent].max_load;
}

static gboolean
sim_event_before(const SimEvent *a, const SimEvent *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
sim_push(Sim *sim, SimEvent ev)
{
	GArray *h = sim->heap;
	guint i;

	ev.seq = sim->seq++;
	g_array_append_val(h, ev);
	for (i = h->len - 1; i > 0; i = (i - 1) / 2) {
		SimEvent *e = &g_array_index(h, SimEvent, i);
		SimEvent *p = &g_array_index(h, SimEvent, (i - 1) / 2);
		SimEvent tmp;
		if (!sim_event_before(e, p))
			break;
		tmp = *e;
		*e = *p;
		*p = tmp;
	}
}

static SimEvent
sim_pop(Sim *sim)
{
	GArray *h = sim->heap;
	SimEvent top = g_array_index(h, SimEvent, 0);
	guint i = 0;

	g_array_index(h, SimEvent, 0) = g_array_index(h, SimEvent, h->len - 1);
	g_array_set_size(h, h->len - 1);
	for (;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;
		SimEvent tmp;
		if (l < h->len && sim_event_before(&g_array_index(h, SimEvent, l),
						   &g_array_index(h, SimEvent, m)))
			m = l;
		if (r < h->len && sim_event_before(&g_array_index(h, SimEvent, r),
						   &g_array_index(h, SimEvent, m)))
			m = r;
		if (m == i)
			break;
		tmp = g_array_index(h, SimEvent, i);
		g_array_index(h, SimEvent, i) = g_array_index(h, SimEvent, m);
		g_array_index(h, SimEvent, m) = tmp;
		i = m;
	}
	return top;
}

/* the oracle: the candidate with the highest current probability (the less loaded on a tie) */
static guint
sim_oracle_choose(const Sim *sim, const guint *map, guint n)
{
	guint best = 0;
	for (guint i = 1; i < n; i++) {
		gdouble pi = sim_agent_p(sim, map[i], sim->now);
		gdouble pb = sim_agent_p(sim, map[best], sim->now);
		if (pi > pb || (pi == pb && sim->load[map[i]] < sim->load[map[best]]))
			best = i;
	}
	return best;
}

/* offers one waiting task to an agent, as the engine's matching does; FALSE if nobody can
 * take it now */
static gboolean
sim_place(Sim *sim, guint task)
{
	const guint n_agents = G_N_ELEMENTS(sim_agents);
	const guint32 all = (n_agents == 32) ? G_MAXUINT32 : ((1u << n_agents) - 1);
	ArkAgentCandidate cands[SIM_MAX_AGENTS];
	guint map[SIM_MAX_AGENTS];
	guint n = 0, chosen, agent, attempt;
	gdouble best_p = 0, p, u_dur, u_ok, duration;
	SimEvent ev = {0};

	if ((sim->tried[task] & all) == all)
		sim->tried[task] = 0; /* everyone failed it: start over */
	for (guint k = 0; k < n_agents; k++) {
		guint i = sim->order[k];
		ArkTrust t = sim->trust[i];
		if (sim->load[i] >= sim_slots(sim, i) || (sim->tried[task] & (1u << i)))
			continue;
		ark_trust_decay(&t, sim->now, sim->half_life);
		memset(&cands[n], 0, sizeof(cands[n]));
		cands[n].agent_id = sim_agents[i].id;
		cands[n].capability_match = 1.0;
		cands[n].trust_alpha = t.alpha;
		cands[n].trust_beta = t.beta;
		cands[n].load = sim->load[i];
		cands[n].max_load = sim_slots(sim, i);
		cands[n].latency_mean = t.latency_mean;
		cands[n].n_rejected = (guint)t.rejected;
		cands[n].n_observations = (guint)(t.successes + t.failures + t.rejected);
		map[n++] = i;
	}
	if (n == 0)
		return FALSE;
	if (sim->coordinator != NULL) {
		if (ark_coordinator_choose(sim->coordinator, &sim->spec, cands, n, &chosen, 1) != 1)
			return FALSE;
	} else {
		chosen = sim_oracle_choose(sim, map, n);
	}
	agent = map[chosen];
	for (guint i = 0; i < n; i++)
		best_p = MAX(best_p, sim_agent_p(sim, map[i], sim->now));
	p = sim_agent_p(sim, agent, sim->now);
	sim->regret += best_p - p;

	attempt = sim->attempts[task]++;
	u_dur = sim_uniform(sim, task, attempt, 1);
	u_ok = sim_uniform(sim, task, attempt, 2);
	duration = sim_agents[agent].mean_duration * (0.5 + u_dur);
	sim->load[agent]++;
	sim->assignments++;
	ev.at = sim->now + (gint64)(duration * G_USEC_PER_SEC);
	ev.kind = SIM_EVENT_DONE;
	ev.task = task;
	ev.agent = agent;
	ev.success = u_ok < p;
	ev.started = sim->now;
	sim_push(sim, ev);
	return TRUE;
}

static void
sim_match(Sim *sim)
{
	GList *l = sim->waiting.head;

	while (l != NULL) {
		GList *next = l->next;
		if (sim_place(sim, GPOINTER_TO_UINT(l->data)))
			g_queue_delete_link(&sim->waiting, l);
		l = next;
	}
}

static void
sim_run(Sim *sim)
{
	gint64 at = SIM_T0;

	/* the arrivals, the same for every strategy */
	for (guint task = 0; task < sim->config->tasks; task++) {
		SimEvent ev = {0};
		if (task > 0)
			at += (gint64)(-log(sim_uniform(sim, task, 0, 0)) / sim->config->rate *
				       G_USEC_PER_SEC);
		ev.at = at;
		ev.kind = SIM_EVENT_ARRIVAL;
		ev.task = task;
		sim_push(sim, ev);
	}
	while (sim->heap->len > 0) {
		SimEvent ev = sim_pop(sim);
		sim->now = ev.at;
		if (ev.kind == SIM_EVENT_ARRIVAL) {
			g_queue_push_tail(&sim->waiting, GUINT_TO_POINTER(ev.task));
		} else {
			sim->load[ev.agent]--;
			gboolean late = ev.started - SIM_T0 >= sim->span / 2;
			sim->late_assignments += late;
			sim->late_successes += late && ev.success;
			if (ev.success) {
				ark_trust_observe(&sim->trust[ev.agent], ARK_TRUST_SUCCESS,
						  (gdouble)(ev.at - ev.started) / G_USEC_PER_SEC,
						  -1, sim->now, sim->half_life);
				sim->successes++;
				sim->done++;
				sim->last_done = sim->now;
			} else {
				ark_trust_observe(&sim->trust[ev.agent], ARK_TRUST_FAILURE, -1, -1,
						  sim->now, sim->half_life);
				sim->tried[ev.task] |= 1u << ev.agent;
				/* offered again first, as the engine does with a failed piece */
				g_queue_push_head(&sim->waiting, GUINT_TO_POINTER(ev.task));
			}
		}
		sim_match(sim);
	}
	g_assert(sim->done == sim->config->tasks);
}

/* engine mode --------------------------------------------------------------------------------
 *
 * The same world driven through a real ArkEngine (memory store, the agent executor, the real
 * coordinator plugins, trust kept by the engine) on a virtual clock: tasks are one-task runs
 * submitted at their arrival times, the simulated agents claim through
 * ark_engine_claim_assignment() and hand in {"ok": true} or {"ok": false}; the task's acceptance
 * schema refuses the latter, which is trust REJECTED and offers the piece again to an agent that
 * has not had it, as in the direct mode. The regret is read from each assignment's explanation
 * (the candidates the coordinator was shown).
 */

/* the coordinator choosing as the oracle does, for the engine mode's "oracle" row: it knows the
 * agents' hidden probabilities through the simulation being run */
static Sim *sim_current;

#define SIM_TYPE_ORACLE (sim_oracle_get_type())
G_DECLARE_FINAL_TYPE(SimOracle, sim_oracle, SIM, ORACLE, GObject)

struct _SimOracle {
	GObject parent_instance;
};

static guint
sim_agent_of(const Sim *sim, const gchar *agent_id)
{
	guint i = GPOINTER_TO_UINT(g_hash_table_lookup(sim->agent_index, agent_id));
	g_assert(i > 0);
	return i - 1;
}

static guint
sim_oracle_choose_cb(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
		     const ArkAgentCandidate *candidates, guint n_candidates, guint *out_chosen,
		     guint max_chosen)
{
	guint map[SIM_MAX_AGENTS];

	if (n_candidates == 0 || max_chosen == 0)
		return 0;
	g_assert(n_candidates <= SIM_MAX_AGENTS);
	for (guint i = 0; i < n_candidates; i++) {
		map[i] = sim_agent_of(sim_current, candidates[i].agent_id);
		sim_current->load[map[i]] = candidates[i].load; /* the oracle's tie-break */
	}
	out_chosen[0] = sim_oracle_choose(sim_current, map, n_candidates);
	return 1;
}

static void
sim_oracle_iface_init(ArkCoordinatorInterface *iface)
{
	iface->choose = sim_oracle_choose_cb;
}

G_DEFINE_FINAL_TYPE_WITH_CODE(SimOracle, sim_oracle, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_COORDINATOR, sim_oracle_iface_init))

static void
sim_oracle_class_init(SimOracleClass *klass)
{
}

static void
sim_oracle_init(SimOracle *self)
{
}

static void
sim_engine_iterate(void)
{
	for (guint i = 0; i < 1000000 && g_main_context_iteration(NULL, FALSE); i++)
		;
}

static void
sim_engine_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state,
			   gpointer user_data)
{
	Sim *sim = user_data;

	sim->done++;
	sim->last_done = sim->now;
	if (state != ARK_RUN_STATE_SUCCEEDED)
		sim->dead++;
}

typedef struct {
	gboolean called;
	JsonObject *assignment;
} SimClaim;

static void
sim_engine_claim_cb(ArkEngine *engine, JsonObject *assignment, const GError *error,
		    gpointer user_data)
{
	SimClaim *c = user_data;

	if (error != NULL)
		g_error("claim: %s", error->message);
	c->called = TRUE;
	c->assignment = assignment != NULL ? json_object_ref(assignment) : NULL;
}

/* the hidden probability of the best candidate the coordinator was shown for @assignment_id */
static gdouble
sim_engine_best_candidate(Sim *sim, const gchar *assignment_id, gdouble fallback)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) explain =
	    ark_engine_explain_assignment(sim->engine, assignment_id, &error);
	JsonObject *choice;
	JsonArray *cands;
	gdouble best = fallback;

	if (explain == NULL)
		g_error("explain %s: %s", assignment_id, error->message);
	choice = json_object_get_object_member(explain, "choice");
	if (choice == NULL || !json_object_has_member(choice, "candidates"))
		g_error("assignment %s has no recorded choice", assignment_id);
	cands = json_object_get_array_member(choice, "candidates");
	for (guint i = 0; i < json_array_get_length(cands); i++) {
		JsonObject *c = json_array_get_object_element(cands, i);
		guint agent = sim_agent_of(sim, json_object_get_string_member(c, "agent_id"));
		best = MAX(best, sim_agent_p(sim, agent, sim->now));
	}
	return best;
}

/* every agent claims whatever it was offered, at once; returns how many it claimed */
static guint
sim_engine_claim_all(Sim *sim)
{
	guint claimed = 0;

	for (guint i = 0; i < G_N_ELEMENTS(sim_agents); i++) {
		for (;;) {
			SimClaim c = {0};
			g_autoptr(JsonObject) a = NULL;
			SimEvent ev = {0};
			const gchar *run_id;
			guint task, attempt;
			gdouble p, duration;

			ark_engine_claim_assignment(sim->engine, sim->agent_ids[i], 0, NULL,
						    sim_engine_claim_cb, &c);
			for (guint k = 0; !c.called && k < 1000; k++)
				g_main_context_iteration(NULL, FALSE);
			g_assert(c.called);
			if (c.assignment == NULL)
				break;
			a = c.assignment;
			run_id = json_object_get_string_member(a, "run_id");
			task = GPOINTER_TO_UINT(g_hash_table_lookup(sim->run_task, run_id));
			g_assert(task > 0);
			task--;
			attempt = sim->attempts[task]++;
			p = sim_agent_p(sim, i, sim->now);
			sim->regret += sim_engine_best_candidate(
					   sim, json_object_get_string_member(a, "id"), p) -
				       p;
			duration = sim_agents[i].mean_duration *
				   (0.5 + sim_uniform(sim, task, attempt, 1));
			ev.at = sim->now + (gint64)(duration * G_USEC_PER_SEC);
			ev.kind = SIM_EVENT_DONE;
			ev.task = task;
			ev.agent = i;
			ev.success = sim_uniform(sim, task, attempt, 2) < p;
			ev.started = sim->now;
			ev.assignment_id = g_strdup(json_object_get_string_member(a, "id"));
			ev.fence = (guint64)json_object_get_int_member(a, "fence");
			sim_push(sim, ev);
			sim->assignments++;
			claimed++;
		}
	}
	return claimed;
}

static void
sim_engine_complete(Sim *sim, const SimEvent *ev)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) result = json_from_string(ev->success ? "{\"ok\":true}"
								   : "{\"ok\":false}",
						      NULL);
	g_autoptr(JsonObject) out =
	    ark_engine_complete_assignment(sim->engine, sim->agent_ids[ev->agent],
					   ev->assignment_id, ev->fence, result, &error);
	const gchar *state;
	gboolean late = ev->started - SIM_T0 >= sim->span / 2;

	if (out == NULL)
		g_error("complete %s: %s", ev->assignment_id, error->message);
	state = json_object_get_string_member(out, "state");
	if (g_strcmp0(state, ev->success ? "completed" : "rejected") != 0)
		g_error("complete %s: state %s", ev->assignment_id, state);
	sim->successes += ev->success;
	sim->late_assignments += late;
	sim->late_successes += late && ev->success;
}

static void
sim_engine_set_time(Sim *sim, gint64 at)
{
	if (at > sim->now) {
		sim->now = at;
		ark_clock_set_time(sim->clock, at);
	}
	ark_engine_fire_timers(sim->engine);
}

static void
sim_engine_run(Sim *sim, ArkRegistry *registry, const SimStrategy *strategy, const gchar *dir)
{
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) wf = NULL;
	g_autofree gchar *half_life = NULL;
	g_autofree gchar *wf_text = NULL;
	gint64 at = SIM_T0;

	sim_current = sim;
	store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "memory", &error);
	if (store == NULL || !ark_store_open(store, dir, &error))
		g_error("memory store: %s", error->message);
	/* nothing expires on its own: agents answer at once and hold nothing longer than 3 min */
	g_key_file_set_string(config, "agents", "heartbeat-timeout", "1d");
	g_key_file_set_string(config, "agents", "offer-timeout", "1d");
	half_life = strategy->decay ? g_strdup_printf("%.0fs", sim->config->half_life)
				    : g_strdup("36500d");
	g_key_file_set_string(config, "agents", "trust-half-life", half_life);
	if (strategy->strategy != NULL)
		g_key_file_set_string(config, "coordinator-delegated", "strategy",
				      strategy->strategy);
	sim->clock = ark_clock_new_virtual(SIM_T0);
	/* the engine seeds its GRand from the global generator; agent ids stay random, and they
	 * order the candidates, so engine-mode trials are not repeated exactly */
	g_random_set_seed((guint32)sim_hash(sim->config->seed ^ sim_hash(sim->trial + 1)));
	sim->engine = ark_engine_new(registry, store);
	ark_engine_set_state_dir(sim->engine, dir);
	ark_engine_set_config(sim->engine, config);
	ark_engine_set_clock(sim->engine, sim->clock);
	if (!ark_engine_start(sim->engine, &error))
		g_error("engine: %s", error->message);
	g_signal_connect(sim->engine, "run-finished", G_CALLBACK(sim_engine_run_finished_cb),
			 sim);
	sim->agent_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	sim->run_task = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(sim_agents); i++) {
		g_autofree gchar *text = g_strdup_printf(
		    "{\"name\":\"%s\",\"capabilities\":[\"work\"],\"max_assignments\":%u}",
		    sim_agents[i].id, sim_slots(sim, i));
		g_autoptr(JsonNode) spec = json_from_string(text, NULL);
		g_autoptr(JsonObject) out = ark_engine_register_agent(
		    sim->engine, json_node_get_object(spec), "bench", &error);
		if (out == NULL)
			g_error("register: %s", error->message);
		sim->agent_ids[i] = g_strdup(json_object_get_string_member(out, "id"));
		g_hash_table_insert(sim->agent_index, g_strdup(sim->agent_ids[i]),
				    GUINT_TO_POINTER(i + 1));
	}
	wf_text = g_strdup_printf(
	    "{\"name\":\"sim\",\"tasks\":[{\"id\":\"work\",\"executor\":\"agent\",\"input\":{},"
	    "\"agent\":{\"capabilities\":[\"work\"],\"mode\":\"%s\",\"lease\":\"12h\","
	    "\"max_handoffs\":1000,\"accept\":{\"schema\":{\"type\":\"object\","
	    "\"required\":[\"ok\"],\"properties\":{\"ok\":{\"const\":true}}}}}}]}",
	    strategy->strategy != NULL ? "delegated" : "oracle");
	wf = ark_workflow_parse(wf_text, -1, &problems);
	g_assert(wf != NULL);

	for (guint task = 0; task < sim->config->tasks; task++) {
		SimEvent ev = {0};
		if (task > 0)
			at += (gint64)(-log(sim_uniform(sim, task, 0, 0)) / sim->config->rate *
				       G_USEC_PER_SEC);
		ev.at = at;
		ev.kind = SIM_EVENT_ARRIVAL;
		ev.task = task;
		sim_push(sim, ev);
	}
	while (sim->done < sim->config->tasks) {
		ArkTimestamp timer_at = 0;
		gboolean has_timer;

		sim_engine_iterate();
		if (sim_engine_claim_all(sim) > 0)
			continue;
		has_timer = ark_engine_get_next_timer(sim->engine, &timer_at);
		if (sim->heap->len == 0 && !has_timer)
			g_error("stuck at task %u of %u", sim->done, sim->config->tasks);
		if (has_timer &&
		    (sim->heap->len == 0 || timer_at <= g_array_index(sim->heap, SimEvent, 0).at)) {
			sim_engine_set_time(sim, timer_at);
			continue;
		}
		{
			SimEvent ev = sim_pop(sim);
			sim_engine_set_time(sim, ev.at);
			if (ev.kind == SIM_EVENT_ARRIVAL) {
				gchar *run_id = ark_engine_submit(sim->engine, wf, NULL, &error);
				if (run_id == NULL)
					g_error("submit: %s", error->message);
				g_hash_table_insert(sim->run_task, run_id,
						    GUINT_TO_POINTER(ev.task + 1));
			} else {
				sim_engine_complete(sim, &ev);
				g_free(ev.assignment_id);
			}
		}
	}
	sim_engine_iterate();
	ark_engine_shutdown(sim->engine);
	g_clear_object(&sim->engine);
	ark_store_close(store);
	g_clear_object(&sim->clock);
	for (guint i = 0; i < G_N_ELEMENTS(sim_agents); i++)
		g_clear_pointer(&sim->agent_ids[i], g_free);
	g_clear_pointer(&sim->agent_index, g_hash_table_unref);
	g_clear_pointer(&sim->run_task, g_hash_table_unref);
	for (guint i = 0; i < sim->heap->len; i++)
		g_free(g_array_index(sim->heap, SimEvent, i).assignment_id);
	sim_current = NULL;
}

typedef struct {
	gdouble sum, sum2;
	guint n;
} SimStat;

static void
sim_stat_add(SimStat *s, gdouble x)
{
	s->sum += x;
	s->sum2 += x * x;
	s->n++;
}

/* the 97.5 % quantile of Student's t with @df degrees of freedom (Cornish-Fisher expansion
 * around the normal quantile; within 0.001 for df >= 10) */
static gdouble
sim_t975(guint df)
{
	const gdouble z = 1.959963984540054;
	gdouble v = df;
	return z + (z * z * z + z) / (4 * v) +
	       (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v) +
	       (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * z * z * z - 15 * z) / (384 * v * v * v);
}

static void
sim_stat_print(const gchar *name, const SimStat *s, gboolean last)
{
	gdouble mean = s->sum / s->n;
	gdouble var = s->n > 1 ? (s->sum2 - s->n * mean * mean) / (s->n - 1) : 0;
	gdouble half = s->n > 1 ? sim_t975(s->n - 1) * sqrt(MAX(var, 0) / s->n) : 0;
	g_print("\"%s\": {\"mean\": %.6g, \"ci95\": %.6g}%s", name, mean, half, last ? "" : ", ");
}

static ArkCoordinator *
sim_coordinator_new(ArkRegistry *registry, const gchar *strategy, GRand *rand)
{
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	ArkCoordinatorSetup setup = {"delegated", config, "coordinator-delegated", rand, {NULL}};
	ArkCoordinator *c = ark_registry_create(registry, ARK_CAPABILITY_COORDINATOR, "delegated",
						&error);

	if (c == NULL)
		g_error("no delegated coordinator: %s", error->message);
	g_key_file_set_string(config, "coordinator-delegated", "strategy", strategy);
	if (!ark_coordinator_setup(c, &setup, &error))
		g_error("setting up the delegated coordinator: %s", error->message);
	return c;
}

int
main(int argc, char **argv)
{
	g_autoptr(ArkPluginLoader) loader = NULL;
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = NULL;
	SimConfig config = {2000, 50, 1, 0.1, 1800, 0};
	gint slots = 0;
	gboolean engine = FALSE;
	g_autofree gchar *dir = NULL;
	gint tasks = 2000, trials = 50;
	gint64 seed = 1;
	static gchar *capabilities[] = {(gchar *)"work", NULL};
	ArkAgentSpec agent_spec = {0};
	gdouble capacity = 0;
	GOptionEntry entries[] = {
	    {"tasks", 'n', 0, G_OPTION_ARG_INT, &tasks, "tasks per trial (2000)", "N"},
	    {"trials", 't', 0, G_OPTION_ARG_INT, &trials, "trials per strategy (50)", "N"},
	    {"seed", 's', 0, G_OPTION_ARG_INT64, &seed, "seed (1)", "S"},
	    {"rate", 'r', 0, G_OPTION_ARG_DOUBLE, &config.rate, "arrivals per second (0.1)", "R"},
	    {"half-life", 'h', 0, G_OPTION_ARG_DOUBLE, &config.half_life,
	     "trust half-life in seconds (1800)", "S"},
	    {"slots", 'l', 0, G_OPTION_ARG_INT, &slots,
	     "assignments every agent holds at once (each agent's own: 2)", "N"},
	    {"engine", 'e', 0, G_OPTION_ARG_NONE, &engine,
	     "drive a real engine (virtual clock, memory store) instead of the coordinator alone",
	     NULL},
	    {NULL},
	};

	context = g_option_context_new("- trust and the delegated coordinator, simulated");
	g_option_context_set_summary(
	    context, "Prints one JSON object per strategy: mean and 95 % confidence half-width of "
		     "success rate, makespan (hours) and regret over the trials.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	if (tasks < 1 || tasks > 10000000 || trials < 2 || trials > 100000 ||
	    !(config.rate > 0) || !(config.half_life > 0)) {
		g_printerr("--tasks 1.., --trials 2.., --rate and --half-life > 0\n");
		return 2;
	}
	if (slots < 0 || slots > ARK_AGENT_MAX_ASSIGNMENTS) {
		g_printerr("--slots 0..%d\n", ARK_AGENT_MAX_ASSIGNMENTS);
		return 2;
	}
	config.slots = (guint)slots;
	config.tasks = (guint)tasks;
	config.trials = (guint)trials;
	config.seed = (guint64)seed;

	g_setenv("ARK_PLUGIN_DIR", ARK_BENCH_PLUGIN_DIRS, FALSE);
	loader = ark_plugin_loader_new(registry);
	if (!ark_plugin_loader_load(loader, NULL, &error)) {
		g_printerr("loading plugins: %s\n", error->message);
		return 1;
	}

	if (engine) {
		if (!ark_registry_add_type(registry, "agents-trust-sim", ARK_CAPABILITY_COORDINATOR,
					   "oracle", SIM_TYPE_ORACLE, &error)) {
			g_printerr("%s\n", error->message);
			return 1;
		}
		dir = g_dir_make_tmp("ark-agents-trust-XXXXXX", &error);
		if (dir == NULL) {
			g_printerr("%s\n", error->message);
			return 1;
		}
	}
	agent_spec.capabilities = capabilities;
	agent_spec.mode = (gchar *)"delegated";
	agent_spec.contenders = 1;
	agent_spec.lease = 60 * G_USEC_PER_SEC;
	agent_spec.max_handoffs = 5;
	for (guint i = 0; i < G_N_ELEMENTS(sim_agents); i++) {
		capacity += (config.slots > 0 ? config.slots : sim_agents[i].max_load) /
			    sim_agents[i].mean_duration;
		g_print("{\"agent\": \"%s\", \"what\": \"%s\", \"p0\": %.2f, \"p1\": %.2f, "
			"\"mean_duration\": %.0f, \"slots\": %u}\n",
			sim_agents[i].id, sim_agents[i].what, sim_agents[i].p0, sim_agents[i].p1,
			sim_agents[i].mean_duration,
			config.slots > 0 ? config.slots : sim_agents[i].max_load);
	}
	g_print("{\"tasks\": %u, \"trials\": %u, \"seed\": %" G_GUINT64_FORMAT
		", \"rate\": %g, \"capacity\": %.3f, \"half_life\": %g, \"engine\": %s}\n",
		config.tasks, config.trials, config.seed, config.rate, capacity, config.half_life,
		engine ? "true" : "false");

	for (guint s = 0; s < G_N_ELEMENTS(sim_strategies); s++) {
		SimStat success = {0}, late = {0}, makespan = {0}, regret = {0}, assignments = {0};
		SimStat dead = {0};

		for (guint trial = 0; trial < config.trials; trial++) {
			g_autoptr(GRand) rand =
			    g_rand_new_with_seed((guint32)(config.seed * 7919 + trial));
			Sim sim = {0};

			sim.config = &config;
			sim.trial = trial;
			sim.half_life = sim_strategies[s].decay
					    ? (gint64)(config.half_life * G_USEC_PER_SEC)
					    : 0;
			sim.span = MAX((gint64)(config.tasks / config.rate * G_USEC_PER_SEC), 1);
			sim.now = SIM_T0;
			sim.heap = g_array_new(FALSE, FALSE, sizeof(SimEvent));
			sim.tried = g_new0(guint32, config.tasks);
			sim.attempts = g_new0(guint, config.tasks);
			sim.spec.id = (gchar *)"work";
			sim.spec.executor = (gchar *)"agent";
			sim.spec.agent = &agent_spec;
			for (guint i = 0; i < G_N_ELEMENTS(sim_agents); i++) {
				ark_trust_init(&sim.trust[i]);
				sim.order[i] = i;
			}
			/* a per-trial order, the same for every strategy: no strategy gains from the
			 * best agent happening to be listed first (greedy's ties go to the first) */
			for (guint i = G_N_ELEMENTS(sim_agents) - 1; i > 0; i--) {
				guint j = (guint)(sim_uniform(&sim, G_MAXUINT32, i, 3) * (i + 1));
				guint tmp = sim.order[i];
				sim.order[i] = sim.order[MIN(j, i)];
				sim.order[MIN(j, i)] = tmp;
			}
			if (engine) {
				sim_engine_run(&sim, registry, &sim_strategies[s], dir);
			} else {
				if (sim_strategies[s].strategy != NULL)
					sim.coordinator = sim_coordinator_new(
					    registry, sim_strategies[s].strategy, rand);
				sim_run(&sim);
			}
			sim_stat_add(&success, (gdouble)sim.successes / sim.assignments);
			sim_stat_add(&late, sim.late_assignments > 0 ? (gdouble)sim.late_successes /
										   sim.late_assignments
								       : 0);
			sim_stat_add(&makespan, (gdouble)(sim.last_done - SIM_T0) /
						    (3600.0 * G_USEC_PER_SEC));
			sim_stat_add(&regret, sim.regret);
			sim_stat_add(&assignments, sim.assignments);
			sim_stat_add(&dead, sim.dead);
			g_clear_object(&sim.coordinator);
			g_array_unref(sim.heap);
			g_free(sim.tried);
			g_free(sim.attempts);
			g_queue_clear(&sim.waiting);
		}
		g_print("{\"strategy\": \"%s\", ", sim_strategies[s].name);
		sim_stat_print("success_rate", &success, FALSE);
		sim_stat_print("success_rate_second_half", &late, FALSE);
		sim_stat_print("makespan_h", &makespan, FALSE);
		sim_stat_print("regret", &regret, FALSE);
		sim_stat_print("assignments", &assignments, FALSE);
		sim_stat_print("dead", &dead, TRUE);
		g_print("}\n");
	}
	if (dir != NULL) {
		/* whatever the engine wrote there (no subdirectories) */
		g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *path = g_build_filename(dir, name, NULL);
			g_unlink(path);
		}
		g_rmdir(dir);
	}
	ark_plugin_loader_shutdown(loader);
	return 0;
}
