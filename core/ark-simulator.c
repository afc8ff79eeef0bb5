/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "ark-sim-executor.h"
#include "ark-simulator.h"

/*
 * Nothing here schedules: the engine decides what starts when, through the policy plugin, as it
 * does in a real run. The simulator only plays the executor and the clock. It lets the main
 * context run the engine's idle tick until there is nothing left to do at the current virtual
 * time, then moves the clock to the next thing that happens — an attempt ending, or an engine
 * timer (retry wait, queue timeout, run timeout) — and makes it happen.
 */

typedef struct {
	ArkAttempt *attempt; /* while running */
	ArkTimestamp started_at;
	ArkTimestamp finish_at;
	guint64 seq; /* ties in finish_at end in start order */
	ArkAttemptStatus status;
	gsize heap_index;
} ArkSimulatorAttempt;

struct _ArkSimulator {
	ArkWorkflow *workflow;
	ArkClock *clock;
	guint64 seed;
	ArkHeap *running;		/* ArkSimulatorAttempt by (finish_at, seq) */
	ArkSimulatorAttempt *attempts; /* by task index: a task runs one attempt at a time */
	guint64 next_seq;
	guint n_attempts;
	gchar *run_id;
	gboolean finished;
	ArkRunState state;
	/* by task index, absolute virtual times, -1 for never */
	gint64 *ready;
	gint64 *start;
	gint64 *finish;
	gint64 *busy; /* what its attempts took, summed */
	guint8 *states;
	guint *start_order;
	guint n_started;
};

static GQuark
ark_simulator_quark(void)
{
	return g_quark_from_static_string("ark-simulator");
}

ArkSimulator *
ark_simulator_from_registry(ArkRegistry *registry)
{
	if (registry == NULL)
		return NULL;
	return g_object_get_qdata(G_OBJECT(registry), ark_simulator_quark());
}

void
ark_simulator_report_free(ArkSimulatorReport *report)
{
	if (report == NULL)
		return;
	g_free(report->policy);
	g_clear_pointer(&report->schedule, g_array_unref);
	g_free(report);
}

/* durations -------------------------------------------------------------------------------- */

/* splitmix64: a good 64-bit mix, so that every (seed, task, attempt, draw) has its own stream */
static guint64
ark_simulator_mix(guint64 x)
{
	x += G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* uniform in (0, 1) */
static gdouble
ark_simulator_uniform(guint64 seed, guint index, guint attempt, guint draw)
{
	guint64 x = ark_simulator_mix(seed);
	x = ark_simulator_mix(x ^ index);
	x = ark_simulator_mix(x ^ ((guint64)attempt << 32 | draw));
	return ((gdouble)(x >> 11) + 0.5) / 9007199254740992.0; /* 2^53 */
}

gint64
ark_simulator_draw_duration(ArkWorkflow *workflow, const ArkTaskSpec *spec, guint attempt,
			    guint64 seed)
{
	ArkTaskSimulation sim;
	gdouble u, v, value;

	if (!ark_workflow_get_task_simulation(workflow, spec->index, &sim))
		return spec->estimate;
	u = ark_simulator_uniform(seed, spec->index, attempt, 0);
	switch (sim.kind) {
	case ARK_SIMULATION_LOGNORMAL: {
		/* mean m of a log-normal: exp(mu + sigma^2 / 2) = m */
		gdouble mu = log(MAX((gdouble)sim.mean, 1.0)) - sim.sigma * sim.sigma / 2;
		v = ark_simulator_uniform(seed, spec->index, attempt, 1);
		value = exp(mu + sim.sigma * sqrt(-2 * log(u)) * cos(2 * G_PI * v));
		break;
	}
	case ARK_SIMULATION_EXPONENTIAL:
		value = -(gdouble)sim.mean * log(u);
		break;
	case ARK_SIMULATION_UNIFORM:
		value = (gdouble)sim.min + u * (gdouble)(sim.max - sim.min);
		break;
	case ARK_SIMULATION_FIXED:
	default:
		return sim.mean;
	}
	/* a year is more than any simulated task, and keeps every sum far from overflowing */
	return (gint64)CLAMP(llround(value), 0, (gint64)365 * 24 * 3600 * G_USEC_PER_SEC);
}

/* what the first attempt of @spec takes, cut at its execution timeout */
static gint64
ark_simulator_first_duration(ArkWorkflow *workflow, const ArkTaskSpec *spec, guint64 seed)
{
	gint64 d = ark_simulator_draw_duration(workflow, spec, 1, seed);
	return spec->timeout > 0 ? MIN(d, spec->timeout) : d;
}

gboolean
ark_simulator_check_workflow(ArkWorkflow *workflow, GPtrArray *problems)
{
	guint before = problems->len;

	for (guint i = 0; i < ark_workflow_get_n_tasks(workflow); i++) {
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		ArkTaskSimulation sim;
		if (spec->estimate > 0 || ark_workflow_get_task_simulation(workflow, i, &sim))
			continue;
		ark_workflow_add_problem(workflow, problems, i, NULL,
					 "nothing to simulate: the task has neither an estimate "
					 "nor a \"simulate\" member");
	}
	return problems->len == before;
}

ArkWorkflow *
ark_simulator_prepare_workflow(ArkWorkflow *workflow, GError **error)
{
	g_autoptr(GPtrArray) problems = NULL;
	ArkWorkflow *prepared = ark_workflow_with_executor(workflow, ARK_SIMULATOR_EXECUTOR, &problems);

	if (prepared == NULL) {
		g_autofree gchar *line = ark_problem_to_string(problems->pdata[0], NULL);
		g_set_error(error, ARK_ERROR, ARK_ERROR_INTERNAL,
			    "the workflow could not be prepared for simulation: %s", line);
		return NULL;
	}
	return prepared;
}

/* the simulated executor's side ------------------------------------------------------------ */

static gint
ark_simulator_attempt_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkSimulatorAttempt *x = a;
	const ArkSimulatorAttempt *y = b;
	if (x->finish_at != y->finish_at)
		return x->finish_at < y->finish_at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

void
ark_simulator_start_attempt(ArkSimulator *self, ArkAttempt *attempt)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	ArkSimulatorAttempt *a = &self->attempts[spec->index];
	ArkTimestamp now = ark_clock_get_time(self->clock);
	gint64 d = ark_simulator_draw_duration(self->workflow, spec, ark_attempt_get_number(attempt),
					       self->seed);

	g_return_if_fail(a->attempt == NULL);
	a->attempt = ark_attempt_ref(attempt);
	a->status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	if (spec->timeout > 0 && d > spec->timeout) {
		d = spec->timeout;
		a->status = ARK_ATTEMPT_STATUS_TIMED_OUT;
	}
	a->started_at = now;
	a->finish_at = now + d;
	a->seq = ++self->next_seq;
	ark_heap_push(self->running, a);
	self->n_attempts++;
	if (self->start[spec->index] < 0) {
		self->start[spec->index] = now;
		self->start_order[self->n_started++] = spec->index;
	}
}

void
ark_simulator_cancel_attempt(ArkSimulator *self, ArkAttempt *attempt)
{
	ArkSimulatorAttempt *a = &self->attempts[ark_attempt_get_spec(attempt)->index];

	if (a->attempt != attempt || !ark_heap_contains(self->running, a))
		return;
	/* it ends now, reported by the loop like any other end: never from inside the engine */
	a->finish_at = ark_clock_get_time(self->clock);
	a->status = ARK_ATTEMPT_STATUS_CANCELLED;
	ark_heap_update(self->running, a);
}

static void
ark_simulator_end_attempt(ArkSimulator *self, ArkSimulatorAttempt *a)
{
	g_autoptr(ArkAttempt) attempt = g_steal_pointer(&a->attempt);
	guint index = ark_attempt_get_spec(attempt)->index;
	ArkAttemptResult result = {
	    .status = a->status,
	    .exit_code = a->status == ARK_ATTEMPT_STATUS_SUCCEEDED ? 0 : -1,
	    .error = a->status == ARK_ATTEMPT_STATUS_TIMED_OUT	 ? "timed out (simulated)"
		     : a->status == ARK_ATTEMPT_STATUS_CANCELLED ? "cancelled"
								 : NULL,
	};

	self->busy[index] += a->finish_at - a->started_at;
	ark_attempt_finish(attempt, &result);
}

/* the engine's side ------------------------------------------------------------------------- */

static void
ark_simulator_event_cb(ArkEngine *engine, const ArkEvent *ev, gpointer user_data)
{
	ArkSimulator *self = user_data;
	const ArkTaskSpec *spec;

	if (ev->kind != ARK_EVENT_TASK_STATE)
		return;
	spec = ark_workflow_lookup_task(self->workflow, ev->task_id);
	if (spec == NULL)
		return;
	if (ev->state == ARK_TASK_STATE_READY && self->ready[spec->index] < 0)
		self->ready[spec->index] = ev->time;
	if (ark_task_state_is_terminal(ev->state))
		self->finish[spec->index] = ev->time;
	self->states[spec->index] = (guint8)ev->state;
}

static void
ark_simulator_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state,
			      gpointer user_data)
{
	ArkSimulator *self = user_data;
	if (g_strcmp0(run_id, self->run_id) != 0)
		return;
	self->finished = TRUE;
	self->state = state;
}

/* a registry with what a simulation instantiates: the simulated executor, the memory store and
 * every policy of @plugins; the other executors are not set up at all */
static ArkRegistry *
ark_simulator_registry_new(ArkRegistry *plugins, GError **error)
{
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_auto(GStrv) policies = ark_registry_list_names(plugins, ARK_CAPABILITY_POLICY);
	GType store = ark_registry_lookup_type(plugins, ARK_CAPABILITY_STORE, "memory");

	if (store == G_TYPE_INVALID) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "the memory store plugin (store-memory) is not loaded");
		return NULL;
	}
	if (!ark_registry_add_type(registry, "arkitect-simulate", ARK_CAPABILITY_EXECUTOR,
				   ARK_SIMULATOR_EXECUTOR, ARK_TYPE_SIM_EXECUTOR, error) ||
	    !ark_registry_add_type(registry,
				   ark_registry_get_provider(plugins, ARK_CAPABILITY_STORE, "memory"),
				   ARK_CAPABILITY_STORE, "memory", store, error))
		return NULL;
	for (guint i = 0; policies[i] != NULL; i++) {
		if (!ark_registry_add_type(
			registry,
			ark_registry_get_provider(plugins, ARK_CAPABILITY_POLICY, policies[i]),
			ARK_CAPABILITY_POLICY, policies[i],
			ark_registry_lookup_type(plugins, ARK_CAPABILITY_POLICY, policies[i]),
			error))
			return NULL;
	}
	return g_steal_pointer(&registry);
}

static void
ark_simulator_clear(ArkSimulator *self)
{
	ArkSimulatorAttempt *a;

	while ((a = ark_heap_pop(self->running)) != NULL)
		g_clear_pointer(&a->attempt, ark_attempt_unref);
	ark_heap_free(self->running);
	g_free(self->attempts);
	g_free(self->run_id);
	g_free(self->ready);
	g_free(self->start);
	g_free(self->finish);
	g_free(self->busy);
	g_free(self->states);
	g_free(self->start_order);
	g_clear_object(&self->clock);
}

/* plays attempts' ends and timers in time order until the run has finished */
static gboolean
ark_simulator_loop(ArkSimulator *self, ArkEngine *engine, GError **error)
{
	GMainContext *context = g_main_context_default();

	for (;;) {
		ArkSimulatorAttempt *next;
		ArkTimestamp at = G_MAXINT64;
		ArkTimestamp timer_at;

		/* the engine's tick: what the last step made ready starts, and is committed */
		while (g_main_context_iteration(context, FALSE))
			;
		if (self->finished)
			return TRUE;
		next = ark_heap_peek(self->running);
		if (next != NULL)
			at = next->finish_at;
		if (ark_engine_get_next_timer(engine, &timer_at))
			at = MIN(at, timer_at);
		if (at == G_MAXINT64) {
			const GError *storage = ark_engine_get_storage_error(engine);
			g_set_error(error, ARK_ERROR, ARK_ERROR_INTERNAL,
				    "the simulation stalled with nothing running and no timer "
				    "armed%s%s",
				    storage != NULL ? ": " : "",
				    storage != NULL ? storage->message : "");
			return FALSE;
		}
		ark_clock_set_time(self->clock, MAX(at, ark_clock_get_time(self->clock)));
		while ((next = ark_heap_peek(self->running)) != NULL && next->finish_at <= at) {
			(void)ark_heap_pop(self->running);
			ark_simulator_end_attempt(self, next);
		}
		ark_engine_fire_timers(engine);
	}
}

static gint
ark_simulator_compare_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a;
	gdouble y = *(const gdouble *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

static ArkSimulatorReport *
ark_simulator_report(ArkSimulator *self, const gchar *policy, const ArkSimulatorOptions *options)
{
	ArkWorkflow *workflow = self->workflow;
	guint n = ark_workflow_get_n_tasks(workflow);
	const guint *order = ark_workflow_get_topological_order(workflow);
	ArkSimulatorReport *report = g_new0(ArkSimulatorReport, 1);
	ArkTimestamp start = options->start;
	g_autofree gint64 *path = g_new0(gint64, n);
	g_autoptr(GArray) slowdowns = g_array_new(FALSE, FALSE, sizeof(gdouble));
	gdouble sum = 0;

	report->policy = g_strdup(policy);
	report->state = self->state;
	report->n_tasks = n;
	report->n_attempts = self->n_attempts;
	for (guint k = 0; k < n; k++) {
		guint i = order[k];
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		gint64 d = ark_simulator_first_duration(workflow, spec, self->seed);
		gint64 longest = 0;
		ArkTimestamp deadline;

		for (guint j = 0; spec->needs[j] != NULL; j++)
			longest = MAX(longest,
				      path[ark_workflow_lookup_task(workflow, spec->needs[j])->index]);
		path[i] = longest + d;
		report->critical_path = MAX(report->critical_path, path[i]);
		report->total_work += d;
		if (self->finish[i] >= 0)
			report->makespan = MAX(report->makespan, self->finish[i] - start);
		if (self->states[i] == ARK_TASK_STATE_SUCCEEDED) {
			report->n_succeeded++;
			if (self->busy[i] > 0 && self->ready[i] >= 0)
				g_array_append_val(slowdowns,
						   (gdouble){(gdouble)(self->finish[i] -
								       self->ready[i]) /
							     (gdouble)self->busy[i]});
		}
		/* the engine's rule (ArkQueueEntry.deadline): absolute, else after submission */
		deadline = spec->deadline_absolute != 0	  ? spec->deadline_absolute
			   : spec->deadline_relative != 0 ? start + spec->deadline_relative
							  : 0;
		if (deadline != 0) {
			report->n_deadlines++;
			if (self->states[i] != ARK_TASK_STATE_SUCCEEDED || self->finish[i] > deadline)
				report->n_missed++;
		}
	}
	report->lower_bound = MAX(report->critical_path,
				  (report->total_work + options->slots - 1) / options->slots);
	report->ratio = report->lower_bound > 0
			    ? (gdouble)report->makespan / (gdouble)report->lower_bound
			    : 1.0;
	if (slowdowns->len > 0) {
		for (guint i = 0; i < slowdowns->len; i++)
			sum += g_array_index(slowdowns, gdouble, i);
		report->mean_slowdown = sum / slowdowns->len;
		g_array_sort(slowdowns, ark_simulator_compare_double);
		/* nearest rank */
		report->p95_slowdown = g_array_index(
		    slowdowns, gdouble, (guint)ceil(0.95 * slowdowns->len) - 1);
	}
	if (options->schedule) {
		guint next = 0; /* the next task that never started, by index */
		report->schedule = g_array_sized_new(FALSE, FALSE, sizeof(ArkSimulatorEntry), n);
		for (guint k = 0; k < n; k++) {
			/* the ones that started, in that order, then the rest by index */
			guint i;
			ArkSimulatorEntry e;
			if (k < self->n_started) {
				i = self->start_order[k];
			} else {
				while (self->start[next] >= 0)
					next++;
				i = next++;
			}
			e.task = i;
			e.state = self->states[i];
			e.ready = self->ready[i] >= 0 ? self->ready[i] - start : -1;
			e.start = self->start[i] >= 0 ? self->start[i] - start : -1;
			e.finish = self->finish[i] >= 0 ? self->finish[i] - start : -1;
			g_array_append_val(report->schedule, e);
		}
	}
	return report;
}

ArkSimulatorReport *
ark_simulator_run(ArkRegistry *plugins, ArkWorkflow *prepared, const ArkSimulatorOptions *options,
		  GError **error)
{
	ArkSimulator sim = {0};
	g_autoptr(ArkRegistry) registry = NULL;
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkEngine) engine = NULL;
	ArkSubmitOptions submit = {.policy = options->policy, .submitter = "simulate"};
	guint n = ark_workflow_get_n_tasks(prepared);
	const gchar *policy;
	ArkSimulatorReport *report = NULL;
	gulong event_id, finished_id;

	g_return_val_if_fail(options->slots > 0, NULL);

	registry = ark_simulator_registry_new(plugins, error);
	if (registry == NULL)
		return NULL;
	store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "memory", error);
	if (store == NULL || !ark_store_open(store, NULL, error))
		return NULL;

	sim.workflow = prepared;
	sim.seed = options->seed;
	sim.clock = ark_clock_new_virtual(options->start);
	sim.running = ark_heap_new(ark_simulator_attempt_compare, NULL,
				   G_STRUCT_OFFSET(ArkSimulatorAttempt, heap_index));
	sim.attempts = g_new0(ArkSimulatorAttempt, n);
	sim.ready = g_new(gint64, n);
	sim.start = g_new(gint64, n);
	sim.finish = g_new(gint64, n);
	sim.busy = g_new0(gint64, n);
	sim.states = g_new0(guint8, n);
	sim.start_order = g_new(guint, n);
	for (guint i = 0; i < n; i++) {
		sim.attempts[i].heap_index = ARK_HEAP_NOT_IN_HEAP;
		sim.ready[i] = sim.start[i] = sim.finish[i] = -1;
	}
	g_object_set_qdata(G_OBJECT(registry), ark_simulator_quark(), &sim);
	/* the engine's own randomness (retry jitter) follows the seed too */
	g_random_set_seed((guint32)(options->seed ^ (options->seed >> 32)));

	engine = ark_engine_new(registry, store);
	ark_engine_set_clock(engine, sim.clock);
	ark_engine_set_executor_slots(engine, ARK_SIMULATOR_EXECUTOR, options->slots);
	event_id = g_signal_connect(engine, "event", G_CALLBACK(ark_simulator_event_cb), &sim);
	finished_id = g_signal_connect(engine, "run-finished",
				       G_CALLBACK(ark_simulator_run_finished_cb), &sim);
	policy = options->policy != NULL			? options->policy
		 : ark_workflow_get_policy(prepared) != NULL ? ark_workflow_get_policy(prepared)
							     : ark_engine_get_default_policy(engine);
	if (ark_engine_start(engine, error)) {
		gint64 t0 = g_get_monotonic_time();
		gint64 t1;
		sim.run_id = ark_engine_submit(engine, prepared, &submit, error);
		t1 = g_get_monotonic_time();
		if (sim.run_id != NULL && ark_simulator_loop(&sim, engine, error))
			report = ark_simulator_report(&sim, policy, options);
		g_debug("%s: %u tasks, %u attempts: submitted in %.3f s, simulated in %.3f s",
			policy, n, sim.n_attempts, (gdouble)(t1 - t0) / G_USEC_PER_SEC,
			(gdouble)(g_get_monotonic_time() - t1) / G_USEC_PER_SEC);
	}
	ark_engine_shutdown(engine);
	g_signal_handler_disconnect(engine, event_id);
	g_signal_handler_disconnect(engine, finished_id);
	g_clear_object(&engine);
	g_object_set_qdata(G_OBJECT(registry), ark_simulator_quark(), NULL);
	ark_simulator_clear(&sim);
	return report;
}
