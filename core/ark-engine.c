/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <arkitect/arkitect-core.h>

#include "ark-agents-private.h"
#include "ark-audit-private.h"

/*
 * One thread owns all of this: the main context. Every transition goes into the current store
 * batch; ark_engine_flush() commits the batch in one transaction and only then announces the
 * transitions (events), starts the attempts it recorded and reports finished runs. A tick, run
 * when the main loop is otherwise idle, fills free executor slots from the policies and flushes,
 * so that everything that happened in one loop iteration costs one commit.
 */

typedef struct _ArkEngineRun ArkEngineRun;
typedef struct _ArkEngineExec ArkEngineExec;

typedef struct {
	ArkQueueEntry entry; /* while ready and queued */
	ArkTaskRecord rec;   /* run_id and task_id borrowed from the run and its workflow */
	ArkAttemptRecord *arec; /* the current or last attempt, once there is one */
	ArkEngineRun *run;
	const ArkTaskSpec *spec;
	ArkEngineExec *exec;
	ArkPolicy *queue; /* the policy it is queued in, or NULL */
	ArkAttempt *attempt; /* while running */
	ArkTimestamp timer_at; /* RETRY_WAIT: next attempt; READY: queue timeout */
	gsize timer_index;     /* in the engine's timer heap */
	guint lease_index;     /* in exec->leases while leased */
	gboolean leased;       /* holds a slot, its resources and its key (see leases below) */
	gboolean parked;       /* READY, out of its queue, waiting for its concurrency key */
	gboolean force_dead;   /* its running attempt ends in the DLQ (the agents' loop guard) */
	guint32 unmet;	       /* needs not yet satisfied */
	guint32 dependents_start;
	guint32 n_dependents;
} ArkEngineTask;

struct _ArkEngineRun {
	ArkEngine *engine;
	ArkRunRecord rec; /* owns its strings */
	ArkWorkflow *workflow;
	ArkEngineTask *tasks;
	guint32 *dependents; /* CSR edges: tasks[i]'s dependents are dependents[start..start+n) */
	guint n_tasks;
	gsize tasks_mapped; /* bytes of @tasks when it is its own mapping, else 0 */
	guint counts[ARK_TASK_STATE_LAST];
	guint n_terminal;
	gboolean cancelled; /* by ark_engine_cancel_run(): the run ends cancelled */
	gboolean stopping;  /* cancelled, failing fast or timed out: nothing is retried */
	gboolean timed_out;
	gchar *stop_by;	    /* who stopped it, recorded with the tasks cancelled for it */
	gchar *stop_reason;
	GHashTable *cancel_requests; /* task index -> who asked, for running tasks; or NULL */
	GPtrArray *old_workflows;    /* replaced by replays, still used by running attempts */
	guint timeout_id;	     /* the run-level timeout, on the wall clock */
	ArkTimestamp timeout_at;     /* when it is due, 0 for none */
	gboolean finishing; /* terminal state recorded, waiting for the commit */
	ArkTimestamp submitted_at;
	GHashTable *estimates; /* learned ones of its workflow name, borrowed from the engine's */
	guint n_block;		      /* tasks in @tasks; the rest were added to the open run */
	GPtrArray *added;	      /* ArkEngineTask of tasks [n_block, n_tasks), or NULL */
	GHashTable *added_dependents; /* task index -> GArray of guint32 added dependents */
};

/* task @i of @run: the block built at submission, then the tasks added since, each its own
 * allocation so that no task moves while a queue, a timer or an attempt points at it */
static inline ArkEngineTask *
ark_engine_run_task(ArkEngineRun *run, guint i)
{
	if (G_LIKELY(i < run->n_block))
		return &run->tasks[i];
	return g_ptr_array_index(run->added, i - run->n_block);
}

/* the dependents of task @index added to the open run after submission, or NULL */
static inline GArray *
ark_engine_added_dependents(ArkEngineRun *run, guint32 index)
{
	if (G_LIKELY(run->added_dependents == NULL))
		return NULL;
	return g_hash_table_lookup(run->added_dependents, GUINT_TO_POINTER(index));
}

typedef struct {
	gchar *name;
	ArkPolicy *policy;
} ArkEngineQueue;

/* a named concurrency key: the tasks holding it, and the READY tasks parked until it frees */
typedef struct {
	gchar *name;
	GPtrArray *holders; /* ArkEngineTask */
	GPtrArray *waiters; /* ArkEngineTask, parked */
	ArkMetricSeries *held;
} ArkEngineKey;

struct _ArkEngineExec {
	gchar *name;
	ArkExecutor *executor;
	guint slots;
	guint running;
	GPtrArray *queues; /* ArkEngineQueue, one per policy used with this executor */
	guint next_queue;  /* round-robin between policies */
	ArkMetricSeries *slots_in_use;
	gboolean has_capacity; /* counts resources, not just slots */
	ArkResources capacity;
	ArkResources in_use;
	GPtrArray *leases; /* ArkEngineTask holding a slot here, by lease_index */
	ArkMetricSeries *m_in_use[3]; /* cpus, memory, gpus */
	guint restarts;	       /* by the health model */
	gchar *restart_reason; /* why it was last restarted */
	ArkTimestamp restarted_at;
};

struct _ArkEngine {
	GObject parent_instance;

	ArkRegistry *registry;
	ArkStore *store;
	ArkMetrics *metrics;
	gchar *state_dir;
	gchar *logs_dir; /* STATE_DIR/logs, or NULL without a state directory */
	GKeyFile *config;
	gchar *default_policy;
	GHashTable *slot_overrides; /* executor name -> GUINT_TO_POINTER(slots) */
	gboolean started;

	GHashTable *execs; /* name -> ArkEngineExec */
	GHashTable *runs;  /* id -> ArkEngineRun, open runs only */

	gchar *holder; /* who runs attempts: "arkitect[pid]@host", kept with each attempt */
	ArkClock *clock; /* NULL: the wall clock; else virtual, and nothing waits on real time */
	ArkHeap *timers; /* ArkEngineTask by timer_at */
	GSource *timer_source;

	ArkStoreBatch *batch;
	ArkStoreBatch *spare_batch; /* swapped in while a committed batch is announced */
	GPtrArray *to_start;	  /* ArkEngineTask whose attempt is recorded in the batch */
	GPtrArray *finished_runs; /* ArkEngineRun whose end is recorded in the batch */
	guint tick_id;
	gboolean flushing;
	GError *storage_error; /* set once a commit failed: the engine accepts nothing more */
	ArkAudit *audit;       /* the audit log's head, its records in the batch, its file */

	guint64 next_seq;
	guint64 next_token;
	guint64 next_enqueue;

	ArkMetric *m_tasks;
	ArkMetric *m_runs;
	ArkMetricSeries *m_task_duration;
	ArkMetricSeries *m_ready_latency;
	ArkMetricSeries *m_commit;
	ArkMetric *m_queue_depth;

	GHashTable *keys;	 /* name -> ArkEngineKey */
	GHashTable *key_caps;	 /* name -> GUINT_TO_POINTER(limit) from [engine] concurrency-limits */
	GHashTable *estimates;	 /* workflow name -> (task id -> ArkEngineEstimate) */
	gdouble estimate_weight; /* of the newest duration in a learned estimate */
	guint backfill_depth;
	ArkMetric *m_deadline_misses;
	ArkMetric *m_keys_held;
	ArkMetric *m_resources_in_use;
	ArkMetric *m_resources_capacity;

	ArkPluginLoader *plugin_loader;
	GArray *submit_waiters;	    /* ArkEngineSubmitWaiter, answered after the next commit */
	GHashTable *inflight_keys; /* idempotency key -> run id, recorded but not committed */
	guint64 n_dead; /* tasks in the DLQ, across every run of the store */
	ArkMetric *m_open_runs;
	ArkMetric *m_open_tasks;
	ArkMetricSeries *m_dlq;
	gboolean refusing;	/* draining: submit and replay fail with ARK_ERROR_BUSY */
	gboolean draining;	/* no attempt is started any more */
	gchar *refusing_reason;

	/* main-loop lag: how late the probe timer fired, worst of this window and the last */
	guint lag_probe_id;
	gint64 lag_expected;   /* monotonic time the probe should fire at */
	gint64 lag_window_start;
	gint64 lag_max_cur;
	gint64 lag_max_prev;
	gint64 lag_limit;      /* lag above this fails the main-loop check, microseconds */

	/* the last workflow ark_engine_check_workflow() found valid, and with which policy: its
	 * submission does not check it again */
	ArkWorkflow *checked_workflow;
	gchar *checked_policy;

	ArkAgents *agents;	  /* the agent registry, its assignments and trust */
	ArkEngineExec *agent_exec; /* the "agent" executor, built in */
	GRand *rand;		  /* for the coordinators */
};

#define ARK_ENGINE_LAG_PROBE_MS 250
/* how deeply a task's result may nest: whoever reads it back parses it with json-glib, which
 * recurses once per level */
#define ARK_ENGINE_RESULT_MAX_DEPTH 64
#define ARK_ENGINE_LAG_WINDOW (10 * G_USEC_PER_SEC)

G_DEFINE_FINAL_TYPE(ArkEngine, ark_engine, G_TYPE_OBJECT)

enum {
	SIGNAL_EVENT,
	SIGNAL_RUN_FINISHED,
	SIGNAL_LAST,
};
static guint ark_engine_signals[SIGNAL_LAST];

static void ark_engine_schedule_tick(ArkEngine *self);
static void ark_engine_run_clear_timeout(ArkEngineRun *run);
static gboolean ark_engine_run_timeout_cb(gpointer user_data);
static void ark_engine_task_release(ArkEngine *self, ArkEngineTask *task);
static void ark_engine_task_unqueue(ArkEngine *self, ArkEngineTask *task);
static gboolean ark_engine_check_accepting(ArkEngine *self, GError **error);
static void ark_engine_task_set_state(ArkEngine *self, ArkEngineTask *task, ArkTaskState state,
				      const gchar *reason);

static void
ark_engine_queue_free(ArkEngineQueue *queue)
{
	g_free(queue->name);
	g_clear_object(&queue->policy);
	g_free(queue);
}

static void
ark_engine_key_free(ArkEngineKey *key)
{
	g_ptr_array_unref(key->holders);
	g_ptr_array_unref(key->waiters);
	g_free(key->name);
	g_free(key);
}

typedef struct {
	gint64 estimate;
	guint samples;
} ArkEngineEstimate;

static void
ark_engine_exec_free(ArkEngineExec *exec)
{
	g_clear_pointer(&exec->leases, g_ptr_array_unref);
	g_free(exec->name);
	g_free(exec->restart_reason);
	g_clear_object(&exec->executor);
	g_ptr_array_unref(exec->queues);
	g_free(exec);
}

static void
ark_engine_run_free(ArkEngineRun *run)
{
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *task = ark_engine_run_task(run, i);
		/* nothing may point at a freed task: the timer heap, a policy queue, an executor */
		(void)ark_heap_remove(run->engine->timers, task);
		g_free(task->arec);
		if (task->rec.state == ARK_TASK_STATE_READY)
			ark_engine_task_unqueue(run->engine, task);
		ark_engine_task_release(run->engine, task);
		if (task->attempt == NULL)
			continue;
		ark_attempt_abandon(task->attempt);
		g_clear_pointer(&task->attempt, ark_attempt_unref);
	}
	ark_engine_run_clear_timeout(run);
	g_clear_pointer(&run->cancel_requests, g_hash_table_unref);
	g_clear_pointer(&run->old_workflows, g_ptr_array_unref);
	g_free(run->stop_by);
	g_free(run->stop_reason);
	g_free(run->rec.cancelled_by);
	g_free(run->rec.definition);
	g_free(run->rec.id);
	g_free(run->rec.workflow_name);
	g_free(run->rec.policy);
	g_free(run->rec.submitter);
	g_free(run->rec.idempotency_key);
	g_free(run->rec.reason);
	if (run->tasks_mapped > 0)
		munmap(run->tasks, run->tasks_mapped);
	else
		g_free(run->tasks);
	g_free(run->dependents);
	g_clear_pointer(&run->added, g_ptr_array_unref);
	g_clear_pointer(&run->added_dependents, g_hash_table_unref);
	ark_workflow_unref(run->workflow);
	g_free(run);
}

/* dependent @d of @task: its CSR edges first, then @more (from ark_engine_added_dependents) */
static inline guint32
ark_engine_dependent(ArkEngineRun *run, ArkEngineTask *task, GArray *more, guint32 d)
{
	if (G_LIKELY(d < task->n_dependents))
		return run->dependents[task->dependents_start + d];
	return g_array_index(more, guint32, d - task->n_dependents);
}

static inline ArkEngineTask *
ark_engine_task_from_entry(ArkQueueEntry *entry)
{
	return (ArkEngineTask *)((guint8 *)entry - G_STRUCT_OFFSET(ArkEngineTask, entry));
}

/* every time the engine records or compares is read here: the wall clock, or a virtual one */
static inline ArkTimestamp
ark_engine_now(ArkEngine *self)
{
	return ark_clock_get_time(self->clock);
}

/* events -------------------------------------------------------------------------------------- */

static void
ark_engine_add_event(ArkEngine *self, ArkEventKind kind, ArkEngineRun *run, ArkEngineTask *task,
		     guint attempt, gint state, const gchar *data)
{
	ArkEvent ev = {
	    .seq = ++self->next_seq,
	    .time = ark_engine_now(self),
	    .kind = kind,
	    .run_id = run->rec.id,
	    .task_id = task != NULL ? task->spec->id : NULL,
	    .attempt = attempt,
	    .state = state,
	    .data = (gchar *)ark_store_batch_intern(self->batch, data),
	};
	ark_store_batch_add_event(self->batch, &ev);
}

/* commits -------------------------------------------------------------------------------------- */

typedef struct {
	ArkSubmitCallback callback;
	gpointer user_data;
	gchar *run_id;
	gboolean existed;
} ArkEngineSubmitWaiter;

static void
ark_engine_submit_waiter_clear(ArkEngineSubmitWaiter *waiter)
{
	g_free(waiter->run_id);
}

/* tells whoever waits for a submission how the commit that carried it went */
static void
ark_engine_answer_submitters(ArkEngine *self, const GError *error)
{
	g_autoptr(GArray) waiters = NULL;

	g_hash_table_remove_all(self->inflight_keys);
	if (self->submit_waiters->len == 0)
		return;
	waiters = g_steal_pointer(&self->submit_waiters);
	self->submit_waiters = g_array_new(FALSE, FALSE, sizeof(ArkEngineSubmitWaiter));
	g_array_set_clear_func(self->submit_waiters,
			       (GDestroyNotify)ark_engine_submit_waiter_clear);
	for (guint i = 0; i < waiters->len; i++) {
		ArkEngineSubmitWaiter *w = &g_array_index(waiters, ArkEngineSubmitWaiter, i);
		w->callback(self, error == NULL || w->existed ? w->run_id : NULL,
			    w->existed, w->existed ? NULL : error, w->user_data);
	}
}

static void
ark_engine_fail_storage(ArkEngine *self, const GError *error)
{
	GHashTableIter iter;
	gpointer value;
	g_autoptr(GPtrArray) runs = g_ptr_array_new();

	g_warning("store commit failed, no more work is accepted: %s", error->message);
	self->storage_error = g_error_copy(error);
	g_prefix_error(&self->storage_error, "store failed: ");

	/* nothing after the last good commit can be recorded: report every open run as failed
	 * to whoever waits for it, and leave the store as it was (a resumed run continues from
	 * the last committed state) */
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(runs, value);
	for (guint i = 0; i < runs->len; i++) {
		ArkEngineRun *run = g_ptr_array_index(runs, i);
		for (guint t = 0; t < run->n_tasks; t++) {
			ArkEngineTask *task = ark_engine_run_task(run, t);
			if (task->attempt != NULL && task->exec != NULL)
				ark_executor_cancel(task->exec->executor, task->attempt);
		}
	}
	for (guint i = 0; i < runs->len; i++) {
		ArkEngineRun *run = g_ptr_array_index(runs, i);
		g_autofree gchar *id = g_strdup(run->rec.id);
		g_hash_table_steal(self->runs, id);
		g_signal_emit(self, ark_engine_signals[SIGNAL_RUN_FINISHED], 0, id,
			      ARK_RUN_STATE_FAILED);
		/* attempts may still report back; they find no run and are dropped */
		ark_engine_run_free(run);
	}
	g_ptr_array_set_size(self->to_start, 0);
	g_ptr_array_set_size(self->finished_runs, 0);
	ark_store_batch_clear(self->batch);
	ark_engine_answer_submitters(self, self->storage_error);
}

static gboolean
ark_engine_flush(ArkEngine *self, GError **error)
{
	g_autoptr(GPtrArray) to_start = NULL;
	g_autoptr(GPtrArray) finished = NULL;
	ArkStoreBatch *committed;
	guint n_ops;

	if (self->flushing)
		return TRUE;
	n_ops = ark_store_batch_get_length(self->batch);
	if (n_ops == 0 && self->to_start->len == 0 && self->finished_runs->len == 0 &&
	    self->submit_waiters->len == 0)
		return TRUE;
	if (self->storage_error != NULL) {
		g_propagate_error(error, g_error_copy(self->storage_error));
		return FALSE;
	}

	self->flushing = TRUE;
	if (n_ops > 0) {
		g_autoptr(GError) local_error = NULL;
		gint64 t0 = g_get_monotonic_time();
		if (!ark_store_apply(self->store, self->batch, &local_error)) {
			self->flushing = FALSE;
			ark_audit_rollback(self->audit);
			ark_engine_fail_storage(self, local_error);
			g_propagate_error(error, g_steal_pointer(&local_error));
			return FALSE;
		}
		ark_metric_series_observe(self->m_commit,
					  (gdouble)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
	}

	/* durable now. Swap everything out before announcing: handlers, executors that fail at
	 * once and cancellations may record new transitions, which belong to the next commit */
	committed = self->batch;
	self->batch = self->spare_batch;
	self->spare_batch = NULL;
	to_start = g_steal_pointer(&self->to_start);
	self->to_start = g_ptr_array_new();
	finished = g_steal_pointer(&self->finished_runs);
	self->finished_runs = g_ptr_array_new();
	self->flushing = FALSE;
	/* before any handler can audit (and flush) again: the file keeps the chain's order */
	ark_audit_committed(self->audit, committed);

	if (g_signal_has_handler_pending(self, ark_engine_signals[SIGNAL_EVENT], 0, FALSE)) {
		for (guint i = 0; i < n_ops; i++) {
			const ArkStoreOp *op = ark_store_batch_get_op(committed, i);
			if (op->kind == ARK_STORE_OP_EVENT)
				g_signal_emit(self, ark_engine_signals[SIGNAL_EVENT], 0,
					      &op->event);
		}
	}
	ark_store_batch_clear(committed);
	self->spare_batch = committed;
	ark_engine_answer_submitters(self, NULL);

	for (guint i = 0; i < to_start->len; i++) {
		ArkEngineTask *task = g_ptr_array_index(to_start, i);
		/* the run may have been cancelled between recording and starting */
		if (task->attempt != NULL && !ark_attempt_is_finished(task->attempt))
			ark_executor_start(task->exec->executor, task->attempt);
	}
	for (guint i = 0; i < finished->len; i++) {
		ArkEngineRun *run = g_ptr_array_index(finished, i);
		g_autofree gchar *id = g_strdup(run->rec.id);
		ArkRunState state = run->rec.state;
		g_hash_table_steal(self->runs, id);
		ark_engine_run_free(run);
		g_signal_emit(self, ark_engine_signals[SIGNAL_RUN_FINISHED], 0, id, state);
	}
	return TRUE;
}

/* task transitions ------------------------------------------------------------------------------ */

static void
ark_engine_run_update(ArkEngine *self, ArkEngineRun *run)
{
	ark_store_batch_add_run(self->batch, ARK_STORE_OP_RUN_UPDATE, &run->rec);
}

/* the state a run ends in, and why; NULL reason when it succeeded */
static ArkRunState
ark_engine_run_outcome(ArkEngineRun *run, gchar **out_reason)
{
	*out_reason = NULL;
	if (run->cancelled) {
		*out_reason = g_strdup(run->stop_reason);
		return ARK_RUN_STATE_CANCELLED;
	}
	if (run->timed_out) {
		*out_reason = g_strdup(run->stop_reason);
		return ARK_RUN_STATE_FAILED;
	}
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *task = ark_engine_run_task(run, i);
		const gchar *id = task->spec->id;
		switch (task->rec.state) {
		case ARK_TASK_STATE_FAILED:
			if (task->spec->allow_failure)
				break;
			*out_reason = g_strdup_printf("task '%s' failed", id);
			return ARK_RUN_STATE_FAILED;
		case ARK_TASK_STATE_DEAD:
			if (task->spec->allow_failure)
				break;
			*out_reason = g_strdup_printf("task '%s' is dead: its retries are exhausted", id);
			return ARK_RUN_STATE_FAILED;
		case ARK_TASK_STATE_CANCELLED:
			*out_reason = g_strdup_printf("task '%s' was cancelled", id);
			return ARK_RUN_STATE_FAILED;
		case ARK_TASK_STATE_SKIPPED:
			*out_reason = g_strdup_printf("task '%s' was skipped", id);
			return ARK_RUN_STATE_FAILED;
		default:
			break;
		}
	}
	return ARK_RUN_STATE_SUCCEEDED;
}

static void
ark_engine_run_check_finished(ArkEngine *self, ArkEngineRun *run)
{
	ArkRunState state;
	gchar *reason = NULL;

	if (run->finishing || run->n_terminal < run->n_tasks)
		return;
	state = ark_engine_run_outcome(run, &reason);
	run->finishing = TRUE;
	run->rec.state = state;
	g_free(run->rec.reason);
	run->rec.reason = reason;
	run->rec.finished_at = ark_engine_now(self);
	if (run->rec.started_at == 0)
		run->rec.started_at = run->rec.finished_at;
	ark_engine_run_clear_timeout(run);
	ark_engine_run_update(self, run);
	ark_engine_add_event(self, ARK_EVENT_RUN_FINISHED, run, NULL, 0, state, NULL);
	ark_metric_series_add(
	    ark_metric_series(self->m_runs, (const gchar *[]){ark_run_state_to_string(state), NULL}),
	    1);
	g_ptr_array_add(self->finished_runs, run);
}

/* a task that ran and ended after its deadline is a miss: an event (in the store's log) and
 * the ark_deadline_misses_total counter. Cancelled and skipped tasks did not run to the end,
 * and are not counted. */
static void
ark_engine_check_deadline(ArkEngine *self, ArkEngineTask *task, ArkTaskState state,
			  ArkTimestamp now)
{
	ArkTimestamp deadline = task->entry.deadline;
	g_autofree gchar *when = NULL;
	g_autofree gchar *data = NULL;

	if (deadline == 0 || now <= deadline ||
	    (state != ARK_TASK_STATE_SUCCEEDED && state != ARK_TASK_STATE_FAILED &&
	     state != ARK_TASK_STATE_DEAD))
		return;
	when = ark_timestamp_format(deadline);
	data = g_strdup_printf("{\"deadline\":\"%s\",\"late_by\":%.6f}", when,
			       (gdouble)(now - deadline) / G_USEC_PER_SEC);
	ark_engine_add_event(self, ARK_EVENT_DEADLINE_MISSED, task->run, task, task->rec.attempts,
			     state, data);
	ark_metric_series_add(
	    ark_metric_series(self->m_deadline_misses,
			      (const gchar *[]){task->run->rec.policy, NULL}),
	    1);
}

/* records @task in @state; @cancelled_by only for CANCELLED. Strings are copied. */
static void
ark_engine_task_set_state_full(ArkEngine *self, ArkEngineTask *task, ArkTaskState state,
			       const gchar *reason, const gchar *cancelled_by, const gchar *data)
{
	ArkEngineRun *run = task->run;
	ArkTimestamp now = ark_engine_now(self);
	gboolean was_terminal = ark_task_state_is_terminal(task->rec.state);

	if (state == ARK_TASK_STATE_DEAD && task->rec.state != ARK_TASK_STATE_DEAD)
		self->n_dead++;
	else if (state != ARK_TASK_STATE_DEAD && task->rec.state == ARK_TASK_STATE_DEAD)
		self->n_dead--;
	run->counts[task->rec.state]--;
	run->counts[state]++;
	task->rec.state = state;
	task->rec.reason = (gchar *)ark_store_batch_intern(self->batch, reason);
	task->rec.cancelled_by = (gchar *)ark_store_batch_intern(self->batch, cancelled_by);
	switch (state) {
	case ARK_TASK_STATE_READY:
		task->rec.ready_at = now;
		break;
	case ARK_TASK_STATE_RUNNING:
		if (task->rec.started_at == 0)
			task->rec.started_at = now;
		break;
	default:
		break;
	}
	if (state != ARK_TASK_STATE_RETRY_WAIT)
		task->rec.next_attempt_at = 0;
	if (ark_task_state_is_terminal(state)) {
		task->rec.finished_at = now;
		if (!was_terminal)
			run->n_terminal++;
		if (!was_terminal)
			ark_engine_check_deadline(self, task, state, now);
		ark_metric_series_add(
		    ark_metric_series(self->m_tasks,
				      (const gchar *[]){ark_task_state_to_string(state), NULL}),
		    1);
	} else if (was_terminal) {
		/* a replay reopens it */
		task->rec.finished_at = 0;
		run->n_terminal--;
	}
	ark_store_batch_add_task(self->batch, ARK_STORE_OP_TASK_UPDATE, &task->rec);
	ark_engine_add_event(self, ARK_EVENT_TASK_STATE, run, task, task->rec.attempts, state,
			     data);
	/* both live in the batch's string chunk: later batches must not see them */
	task->rec.reason = NULL;
	task->rec.cancelled_by = NULL;
	if (ark_task_state_is_terminal(state))
		ark_engine_run_check_finished(self, run);
}

static void
ark_engine_task_set_state(ArkEngine *self, ArkEngineTask *task, ArkTaskState state,
			  const gchar *reason)
{
	ark_engine_task_set_state_full(self, task, state, reason, NULL, NULL);
}

/* timers: one heap for retry waits and queue timeouts, one source armed for the earliest ----- */

static gint
ark_engine_timer_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkEngineTask *ta = a;
	const ArkEngineTask *tb = b;
	return ta->timer_at < tb->timer_at ? -1 : ta->timer_at > tb->timer_at ? 1 : 0;
}

static void
ark_engine_timers_rearm(ArkEngine *self)
{
	ArkEngineTask *first = ark_heap_peek(self->timers);
	gint64 delay;

	/* on a virtual clock whoever moves the clock fires the timers (ark_engine_fire_timers) */
	if (first == NULL || self->clock != NULL) {
		g_source_set_ready_time(self->timer_source, -1);
		return;
	}
	/* timer_at is wall-clock time (it is stored); the source runs on the monotonic clock */
	delay = first->timer_at - ark_engine_now(self);
	g_source_set_ready_time(self->timer_source, g_get_monotonic_time() + MAX(delay, 0));
}

static void
ark_engine_task_set_timer(ArkEngine *self, ArkEngineTask *task, ArkTimestamp at)
{
	ArkEngineTask *first = ark_heap_peek(self->timers);

	task->timer_at = at;
	if (ark_heap_contains(self->timers, task))
		ark_heap_update(self->timers, task);
	else
		ark_heap_push(self->timers, task);
	if (ark_heap_peek(self->timers) != first || first == task)
		ark_engine_timers_rearm(self);
}

static void
ark_engine_task_clear_timer(ArkEngine *self, ArkEngineTask *task)
{
	gboolean was_first = ark_heap_peek(self->timers) == task;
	if (ark_heap_remove(self->timers, task) && was_first)
		ark_engine_timers_rearm(self);
}

/* leases ---------------------------------------------------------------------------------------
 *
 * A task that runs holds a lease on its executor: one slot, its cpus, memory and gpus, and its
 * concurrency key. The holder is the task itself (run, task and current attempt), so that the
 * engine can say who holds what. The lease is taken when the attempt is recorded and given back
 * exactly once, whichever way the attempt ends: it finished, failed, timed out or was cancelled
 * (the executor reports it), it was lost to an executor restart or interrupted by a shutdown, or
 * its run was dropped. ark_engine_task_release() is the only way back.
 */

#define ARK_ENGINE_DIMS 4 /* slots, cpus, memory, gpus */

typedef struct {
	gdouble v[ARK_ENGINE_DIMS];
} ArkEngineAmount;

/* the resources counted by the gauges, after slots */
static const gchar *const ark_engine_resource_names[] = {"cpus", "memory", "gpus"};

static void
ark_engine_task_amount(const ArkTaskSpec *spec, ArkEngineAmount *out)
{
	out->v[0] = 1;
	out->v[1] = spec->cpus;
	out->v[2] = (gdouble)spec->memory;
	out->v[3] = spec->gpus;
}

/* what @exec has free now; an executor that does not count resources has them all */
static void
ark_engine_exec_available(ArkEngineExec *exec, ArkEngineAmount *out)
{
	out->v[0] = (gdouble)exec->slots - (gdouble)exec->running;
	if (!exec->has_capacity) {
		out->v[1] = out->v[2] = out->v[3] = G_MAXDOUBLE;
		return;
	}
	out->v[1] = exec->capacity.cpus - exec->in_use.cpus;
	out->v[2] = (gdouble)exec->capacity.memory - (gdouble)exec->in_use.memory;
	out->v[3] = (gdouble)exec->capacity.gpus - (gdouble)exec->in_use.gpus;
}

static gboolean
ark_engine_amount_fits(const ArkEngineAmount *need, const ArkEngineAmount *avail)
{
	/* fractional CPUs add up with rounding: a millionth of a CPU is no over-commit */
	for (guint d = 0; d < ARK_ENGINE_DIMS; d++) {
		if (need->v[d] > avail->v[d] + 1e-6)
			return FALSE;
	}
	return TRUE;
}

static ArkEngineKey *
ark_engine_key_lookup(ArkEngine *self, const gchar *name, gboolean create)
{
	ArkEngineKey *key = g_hash_table_lookup(self->keys, name);

	if (key != NULL || !create)
		return key;
	key = g_new0(ArkEngineKey, 1);
	key->name = g_strdup(name);
	key->holders = g_ptr_array_new();
	key->waiters = g_ptr_array_new();
	key->held = ark_metric_series(self->m_keys_held, (const gchar *[]){name, NULL});
	g_hash_table_insert(self->keys, key->name, key);
	return key;
}

/* the task's own limit, capped by the configuration */
static guint
ark_engine_key_limit(ArkEngine *self, const ArkTaskSpec *spec)
{
	gpointer cap;
	guint limit = spec->concurrency_limit;

	if (g_hash_table_lookup_extended(self->key_caps, spec->concurrency_key, NULL, &cap))
		limit = MIN(limit, GPOINTER_TO_UINT(cap));
	return limit;
}

static gboolean
ark_engine_task_key_blocked(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineKey *key;

	if (task->spec->concurrency_key == NULL)
		return FALSE;
	key = ark_engine_key_lookup(self, task->spec->concurrency_key, FALSE);
	return key != NULL && key->holders->len >= ark_engine_key_limit(self, task->spec);
}

static void
ark_engine_exec_update_gauges(ArkEngineExec *exec)
{
	ark_metric_series_set(exec->slots_in_use, exec->running);
	if (!exec->has_capacity)
		return;
	ark_metric_series_set(exec->m_in_use[0], exec->in_use.cpus);
	ark_metric_series_set(exec->m_in_use[1], (gdouble)exec->in_use.memory);
	ark_metric_series_set(exec->m_in_use[2], exec->in_use.gpus);
}

static void
ark_engine_task_lease(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineExec *exec = task->exec;
	const ArkTaskSpec *spec = task->spec;

	g_return_if_fail(!task->leased);
	task->leased = TRUE;
	exec->running++;
	exec->in_use.cpus += spec->cpus;
	exec->in_use.memory += spec->memory;
	exec->in_use.gpus += spec->gpus;
	task->lease_index = exec->leases->len;
	g_ptr_array_add(exec->leases, task);
	if (spec->concurrency_key != NULL) {
		ArkEngineKey *key = ark_engine_key_lookup(self, spec->concurrency_key, TRUE);
		g_ptr_array_add(key->holders, task);
		ark_metric_series_set(key->held, key->holders->len);
	}
	ark_engine_exec_update_gauges(exec);
}

/* gives back what @task holds (nothing if it holds nothing); the tasks parked for its key go back
 * to their queues, in their places, for the next tick to look at */
static void
ark_engine_task_release(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineExec *exec = task->exec;
	const ArkTaskSpec *spec = task->spec;
	ArkEngineTask *last;

	if (!task->leased)
		return;
	task->leased = FALSE;
	exec->running--;
	if (exec->running == 0) {
		/* no rounding left behind by fractional CPUs */
		memset(&exec->in_use, 0, sizeof(exec->in_use));
	} else {
		exec->in_use.cpus = MAX(exec->in_use.cpus - spec->cpus, 0);
		exec->in_use.memory -= MIN(exec->in_use.memory, spec->memory);
		exec->in_use.gpus -= MIN(exec->in_use.gpus, spec->gpus);
	}
	last = g_ptr_array_index(exec->leases, exec->leases->len - 1);
	exec->leases->pdata[task->lease_index] = last;
	last->lease_index = task->lease_index;
	g_ptr_array_set_size(exec->leases, exec->leases->len - 1);
	if (spec->concurrency_key != NULL) {
		ArkEngineKey *key = ark_engine_key_lookup(self, spec->concurrency_key, FALSE);
		(void)g_ptr_array_remove_fast(key->holders, task);
		ark_metric_series_set(key->held, key->holders->len);
		while (key->waiters->len > 0) {
			ArkEngineTask *waiter = g_ptr_array_steal_index(key->waiters, 0);
			waiter->parked = FALSE;
			ark_policy_enqueue(waiter->queue, &waiter->entry);
		}
	}
	ark_engine_exec_update_gauges(exec);
}

/* a READY task whose key is taken waits beside the queue, so that it does not stand in the way
 * of the tasks behind it */
static void
ark_engine_task_park(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineKey *key = ark_engine_key_lookup(self, task->spec->concurrency_key, TRUE);
	task->parked = TRUE;
	g_ptr_array_add(key->waiters, task);
}

/* takes a READY task out of wherever it waits: its policy's queue or its key's waiters */
static void
ark_engine_task_unqueue(ArkEngine *self, ArkEngineTask *task)
{
	if (task->parked) {
		ArkEngineKey *key = ark_engine_key_lookup(self, task->spec->concurrency_key, FALSE);
		if (key != NULL)
			(void)g_ptr_array_remove(key->waiters, task);
		task->parked = FALSE;
	} else if (task->queue != NULL) {
		(void)ark_policy_remove(task->queue, &task->entry);
	}
}

/* learned estimates --------------------------------------------------------------------------- */

/* the learned estimates of @workflow_name's tasks, read from the store the first time */
static GHashTable *
ark_engine_estimates_for(ArkEngine *self, const gchar *workflow_name)
{
	GHashTable *table = g_hash_table_lookup(self->estimates, workflow_name);
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;

	if (table != NULL)
		return table;
	table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_insert(self->estimates, g_strdup(workflow_name), table);
	if (self->store == NULL || !ark_store_supports_estimates(self->store))
		return table;
	records = ark_store_list_estimates(self->store, workflow_name, &error);
	if (records == NULL) {
		g_warning("could not read the learned estimates of workflow %s: %s", workflow_name,
			  error->message);
		return table;
	}
	for (guint i = 0; i < records->len; i++) {
		const ArkEstimateRecord *rec = g_ptr_array_index(records, i);
		ArkEngineEstimate *e = g_new0(ArkEngineEstimate, 1);
		e->estimate = rec->estimate;
		e->samples = rec->samples;
		g_hash_table_insert(table, g_strdup(rec->task_id), e);
	}
	return table;
}

/* the task's own estimate, else the learned one, else 0 */
static gint64
ark_engine_task_estimate(ArkEngineTask *task)
{
	ArkEngineEstimate *e;

	if (task->spec->estimate > 0)
		return task->spec->estimate;
	if (task->run->estimates == NULL)
		return 0;
	e = g_hash_table_lookup(task->run->estimates, task->spec->id);
	return e != NULL ? e->estimate : 0;
}

/* an attempt of @task succeeded after @duration: the exponentially weighted mean moves towards
 * it, and the store keeps it with the attempt's commit */
static void
ark_engine_learn(ArkEngine *self, ArkEngineTask *task, gint64 duration)
{
	ArkEngineRun *run = task->run;
	ArkEngineEstimate *e;
	ArkEstimateRecord rec = {0};

	if (self->estimate_weight <= 0 || duration <= 0 || run->estimates == NULL)
		return;
	e = g_hash_table_lookup(run->estimates, task->spec->id);
	if (e == NULL) {
		e = g_new0(ArkEngineEstimate, 1);
		e->estimate = duration;
		g_hash_table_insert(run->estimates, g_strdup(task->spec->id), e);
	} else {
		e->estimate = (gint64)(self->estimate_weight * (gdouble)duration +
				       (1 - self->estimate_weight) * (gdouble)e->estimate + 0.5);
		e->estimate = MAX(e->estimate, 1);
	}
	e->samples++;
	if (self->store == NULL || !ark_store_supports_estimates(self->store))
		return;
	rec.workflow_name = (gchar *)ark_store_batch_intern(self->batch, run->rec.workflow_name);
	rec.task_id = (gchar *)ark_store_batch_intern(self->batch, task->spec->id);
	rec.estimate = e->estimate;
	rec.samples = e->samples;
	rec.updated_at = ark_engine_now(self);
	ark_store_batch_add_estimate(self->batch, &rec);
}

static ArkPolicy *
ark_engine_get_queue(ArkEngine *self, ArkEngineExec *exec, const gchar *policy_name,
		     GError **error)
{
	ArkEngineQueue *queue;
	g_autofree gchar *group = NULL;
	g_autoptr(ArkPolicy) policy = NULL;

	for (guint i = 0; i < exec->queues->len; i++) {
		queue = g_ptr_array_index(exec->queues, i);
		if (g_strcmp0(queue->name, policy_name) == 0)
			return queue->policy;
	}
	policy = ark_registry_create(self->registry, ARK_CAPABILITY_POLICY, policy_name, error);
	if (policy == NULL)
		return NULL;
	group = g_strdup_printf("policy-%s", policy_name);
	if (self->clock != NULL)
		ark_policy_set_clock(policy, self->clock);
	if (!ark_policy_setup(policy, self->config, group, error))
		return NULL;
	queue = g_new0(ArkEngineQueue, 1);
	queue->name = g_strdup(policy_name);
	queue->policy = g_steal_pointer(&policy);
	g_ptr_array_add(exec->queues, queue);
	return queue->policy;
}

static void ark_engine_task_ended(ArkEngine *self, ArkEngineTask *task);

/* queues a task that is READY (its record already says so) */
static void
ark_engine_task_enqueue(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	g_autoptr(GError) error = NULL;

	task->entry.seq = ++self->next_enqueue;
	task->entry.ready_at = task->rec.ready_at;
	/* learned since the run was built, perhaps from an earlier task of this very run */
	task->entry.estimate = ark_engine_task_estimate(task);
	task->queue = ark_engine_get_queue(self, task->exec, run->rec.policy, &error);
	if (task->queue == NULL) {
		/* the policy was checked at submission; it can only fail to set up here */
		ark_engine_task_set_state(self, task, ARK_TASK_STATE_FAILED, error->message);
		ark_engine_task_ended(self, task);
		return;
	}
	ark_policy_enqueue(task->queue, &task->entry);
	if (task->spec->queue_timeout > 0)
		ark_engine_task_set_timer(self, task, task->rec.ready_at + task->spec->queue_timeout);
	ark_engine_schedule_tick(self);
}

static void
ark_engine_task_make_ready_full(ArkEngine *self, ArkEngineTask *task, const gchar *reason,
				const gchar *data)
{
	ark_engine_task_set_state_full(self, task, ARK_TASK_STATE_READY, reason, NULL, data);
	ark_engine_task_enqueue(self, task);
}

static void
ark_engine_task_make_ready(ArkEngine *self, ArkEngineTask *task)
{
	ark_engine_task_make_ready_full(self, task, NULL, NULL);
}

/* what happened to a need that keeps its dependents from running, for their reason */
static const gchar *
ark_engine_why(ArkTaskState state)
{
	switch (state) {
	case ARK_TASK_STATE_CANCELLED:
		return "was cancelled";
	case ARK_TASK_STATE_DEAD:
		return "is dead";
	case ARK_TASK_STATE_SKIPPED:
		return "was skipped";
	default:
		return "failed";
	}
}

/* moves every task downstream of @task that is in @from (and is reached through such tasks)
 * to @to: skipping after a failure, back to pending for a replay */
static void
ark_engine_walk_dependents(ArkEngine *self, ArkEngineTask *task, ArkTaskState from,
			   ArkTaskState to, const gchar *reason)
{
	ArkEngineRun *run = task->run;
	g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(guint32));

	g_array_append_val(stack, task->spec->index);
	while (stack->len > 0) {
		guint32 idx = g_array_index(stack, guint32, stack->len - 1);
		ArkEngineTask *t = ark_engine_run_task(run, idx);
		g_array_set_size(stack, stack->len - 1);
		GArray *more = ark_engine_added_dependents(run, idx);
		guint32 n = t->n_dependents + (more != NULL ? more->len : 0);
		for (guint32 d = 0; d < n; d++) {
			guint32 di = ark_engine_dependent(run, t, more, d);
			ArkEngineTask *dep = ark_engine_run_task(run, di);
			if (dep->rec.state != from)
				continue;
			ark_engine_task_set_state(self, dep, to, reason);
			g_array_append_val(stack, di);
		}
	}
}

/* marks every pending task downstream of @task as skipped */
static void
ark_engine_skip_dependents(ArkEngine *self, ArkEngineTask *task)
{
	g_autofree gchar *reason = g_strdup_printf("upstream task '%s' %s", task->spec->id,
						   ark_engine_why(task->rec.state));
	ark_engine_walk_dependents(self, task, ARK_TASK_STATE_PENDING, ARK_TASK_STATE_SKIPPED,
				   reason);
}

static void
ark_engine_release_dependents(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	GArray *more = ark_engine_added_dependents(run, task->spec->index);
	guint32 n = task->n_dependents + (more != NULL ? more->len : 0);

	for (guint32 d = 0; d < n; d++) {
		ArkEngineTask *dep =
		    ark_engine_run_task(run, ark_engine_dependent(run, task, more, d));
		if (dep->unmet > 0 && --dep->unmet == 0 && dep->rec.state == ARK_TASK_STATE_PENDING)
			ark_engine_task_make_ready(self, dep);
	}
}

/* whether a need in @state lets its dependents run */
static gboolean
ark_engine_need_satisfied(ArkEngineTask *need)
{
	switch (need->rec.state) {
	case ARK_TASK_STATE_SUCCEEDED:
		return TRUE;
	case ARK_TASK_STATE_FAILED:
	case ARK_TASK_STATE_DEAD:
		return need->spec->allow_failure;
	default:
		return FALSE;
	}
}

/* stops everything of @run that is not finished: pending, ready and waiting tasks are cancelled
 * now, running attempts are asked to stop and are recorded when their executor reports */
static void
ark_engine_run_stop(ArkEngine *self, ArkEngineRun *run, const gchar *by, const gchar *reason)
{
	g_autoptr(GPtrArray) running = g_ptr_array_new();

	if (run->stopping)
		return;
	run->stopping = TRUE;
	run->stop_by = g_strdup(by);
	run->stop_reason = g_strdup(reason);
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *task = ark_engine_run_task(run, i);
		switch (task->rec.state) {
		case ARK_TASK_STATE_READY:
			ark_engine_task_unqueue(self, task);
			/* fall through */
		case ARK_TASK_STATE_PENDING:
		case ARK_TASK_STATE_RETRY_WAIT:
			ark_engine_task_clear_timer(self, task);
			ark_engine_task_set_state_full(self, task, ARK_TASK_STATE_CANCELLED, reason,
						       by, NULL);
			break;
		case ARK_TASK_STATE_RUNNING:
			g_ptr_array_add(running, task);
			break;
		default:
			break;
		}
	}
	/* executors report cancelled attempts through the usual completion path */
	for (guint i = 0; i < running->len; i++) {
		ArkEngineTask *task = g_ptr_array_index(running, i);
		if (task->attempt != NULL)
			ark_executor_cancel(task->exec->executor, task->attempt);
	}
	ark_engine_schedule_tick(self);
}

/* after @task reached a terminal state: unblock or skip what depends on it */
static void
ark_engine_task_ended(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	ArkTaskState state = task->rec.state;

	if (ark_engine_need_satisfied(task)) {
		ark_engine_release_dependents(self, task);
	} else {
		ark_engine_skip_dependents(self, task);
		if (!run->stopping &&
		    ark_workflow_get_failure_mode(run->workflow) == ARK_FAILURE_MODE_FAIL_FAST) {
			g_autofree gchar *reason = g_strdup_printf(
			    "fail-fast: task '%s' %s", task->spec->id, ark_engine_why(state));
			ark_engine_run_stop(self, run, "fail-fast", reason);
		}
	}
	ark_engine_run_check_finished(self, run);
	ark_engine_schedule_tick(self);
}

/* an attempt of @task ended with @result (from its executor, or LOST at recovery): record it,
 * then retry, or finish the task */
static void
ark_engine_task_attempt_ended(ArkEngine *self, ArkEngineTask *task,
			      const ArkAttemptResult *result, const gchar *log_path)
{
	ArkEngineRun *run = task->run;
	const ArkRetryPolicy *retry = &task->spec->retry;
	ArkTimestamp now = ark_engine_now(self);
	ArkTaskState state;
	ArkRetryDecision decision = ARK_RETRY_DECISION_FAIL;
	guint used = task->rec.attempts - MIN(task->rec.retry_base, task->rec.attempts);
	const gchar *cancelled_by = NULL;
	g_autofree gchar *reason = NULL;

	task->arec->status = result->status;
	task->arec->finished_at = now;
	task->arec->exit_code = result->exit_code;
	task->arec->signal = result->signal;
	task->arec->error = (gchar *)ark_store_batch_intern(self->batch, result->error);
	task->arec->log_path = (gchar *)ark_store_batch_intern(self->batch, log_path);
	/* only what a success produced: ark_engine_check_result() vetted it */
	task->arec->result =
	    result->status == ARK_ATTEMPT_STATUS_SUCCEEDED
		? (gchar *)ark_store_batch_intern(self->batch, result->result)
		: NULL;
	ark_store_batch_add_attempt(self->batch, ARK_STORE_OP_ATTEMPT_UPDATE, task->arec);
	ark_engine_add_event(self, ARK_EVENT_ATTEMPT_FINISHED, run, task, task->arec->number,
			     result->status, NULL);
	task->arec->error = NULL;
	task->arec->log_path = NULL;
	task->arec->result = NULL;
	task->arec->holder = NULL;
	task->rec.exit_code = result->exit_code;

	if (run->cancel_requests != NULL)
		cancelled_by = g_hash_table_lookup(run->cancel_requests,
						   GUINT_TO_POINTER(task->spec->index));
	if (cancelled_by == NULL && run->stopping)
		cancelled_by = run->stop_by;

	switch (result->status) {
	case ARK_ATTEMPT_STATUS_SUCCEEDED:
		state = ARK_TASK_STATE_SUCCEEDED;
		break;
	case ARK_ATTEMPT_STATUS_CANCELLED:
		state = ARK_TASK_STATE_CANCELLED;
		reason = g_strdup(result->error);
		break;
	default:
		/* the agents' loop guard: straight to the dead-letter queue, whatever the budget */
		if (task->force_dead) {
			state = ARK_TASK_STATE_DEAD;
			reason = g_strdup(result->error);
			break;
		}
		/* a task someone is stopping is not tried again */
		if (!run->stopping && cancelled_by == NULL)
			decision = ark_retry_policy_decide(retry, result->status,
							   result->exit_code, used);
		if (decision == ARK_RETRY_DECISION_RETRY) {
			gint64 delay = ark_retry_policy_get_delay(retry, used, g_random_double());
			g_autofree gchar *in = ark_duration_format(delay);
			reason = g_strdup_printf("%s; attempt %u of %u, next in %s",
						 result->error != NULL ? result->error
								       : "failed",
						 used, retry->max_attempts, in);
			task->rec.next_attempt_at = now + delay;
			ark_engine_task_set_state(self, task, ARK_TASK_STATE_RETRY_WAIT, reason);
			ark_engine_task_set_timer(self, task, now + delay);
			if (run->cancel_requests != NULL)
				g_hash_table_remove(run->cancel_requests,
						    GUINT_TO_POINTER(task->spec->index));
			return;
		}
		if (decision == ARK_RETRY_DECISION_EXHAUSTED && retry->max_attempts > 1) {
			state = ARK_TASK_STATE_DEAD;
			reason = g_strdup_printf("%s; gave up after %u attempts",
						 result->error != NULL ? result->error
								       : "failed",
						 used);
		} else {
			state = ARK_TASK_STATE_FAILED;
			reason = g_strdup(result->error);
		}
		break;
	}
	task->force_dead = FALSE;
	ark_engine_task_set_state_full(self, task, state, reason,
				       state == ARK_TASK_STATE_CANCELLED ? cancelled_by : NULL, NULL);
	if (run->cancel_requests != NULL)
		g_hash_table_remove(run->cancel_requests, GUINT_TO_POINTER(task->spec->index));
	/* the store has the attempt now; a finished task needs no copy of it here (a replay
	 * starts a new one), and a 100,000-task run would keep 12 MB of them to its end */
	g_clear_pointer(&task->arec, g_free);
	ark_engine_task_ended(self, task);
}

/*
 * What an executor reports a success produced must be one JSON value of at most
 * ARK_RESULT_MAX_BYTES: it is stored, handed to agents and to the tasks that read it, all of
 * which parse it. A success with anything else is a failure of the task (the executor did not
 * do what it was asked), written to @checked with the reason in @reason.
 */
static const ArkAttemptResult *
ark_engine_check_result(const ArkAttemptResult *result, ArkAttemptResult *checked,
			gchar **reason)
{
	g_autoptr(GError) error = NULL;
	gsize len;

	if (result->status != ARK_ATTEMPT_STATUS_SUCCEEDED || result->result == NULL)
		return result;
	len = strlen(result->result);
	if (len > ARK_RESULT_MAX_BYTES)
		*reason = g_strdup_printf("result is larger than 1 MiB (%" G_GSIZE_FORMAT " bytes)",
					  len);
	else if (!ark_json_validate(result->result, (gssize)len, ARK_ENGINE_RESULT_MAX_DEPTH,
				    &error))
		*reason = g_strdup_printf("result is not JSON: %s", error->message);
	else
		return result;
	*checked = *result;
	checked->status = ARK_ATTEMPT_STATUS_FAILED;
	checked->error = *reason;
	checked->result = NULL;
	return checked;
}

static void
ark_engine_attempt_finished_cb(ArkAttempt *attempt, const ArkAttemptResult *reported,
			       gpointer user_data)
{
	ArkEngineTask *task = user_data;
	ArkEngineRun *run = task->run;
	ArkEngine *self = run->engine;
	ArkAttemptResult checked;
	g_autofree gchar *reason = NULL;
	const ArkAttemptResult *result;
	gint64 duration;

	/* fencing: only the attempt the engine started last may complete the task */
	if (task->attempt != attempt || task->arec->token != ark_attempt_get_token(attempt)) {
		g_warning("rejected completion of stale attempt %u (token %" G_GUINT64_FORMAT
			  ") of task %s",
			  ark_attempt_get_number(attempt), ark_attempt_get_token(attempt),
			  ark_attempt_get_task_id(attempt));
		return;
	}

	result = ark_engine_check_result(reported, &checked, &reason);
	ark_engine_task_release(self, task);
	duration = ark_engine_now(self) - task->arec->started_at;
	if (result->status == ARK_ATTEMPT_STATUS_SUCCEEDED)
		ark_engine_learn(self, task, duration);
	ark_metric_series_observe(self->m_task_duration, (gdouble)duration / G_USEC_PER_SEC);
	if (task->queue != NULL)
		ark_policy_task_finished(task->queue, &task->entry,
					 result->status == ARK_ATTEMPT_STATUS_SUCCEEDED
					     ? ARK_TASK_STATE_SUCCEEDED
					     : ARK_TASK_STATE_FAILED,
					 duration);
	ark_engine_task_attempt_ended(self, task, result, ark_attempt_get_log_path(attempt));
	g_clear_pointer(&task->attempt, ark_attempt_unref);
	/* what it held may let a waiting task start, also when it only waits for a retry */
	ark_engine_schedule_tick(self);
}

static void
ark_engine_start_attempt(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	ArkTimestamp now = ark_engine_now(self);
	g_autofree gchar *log_dir = NULL;

	ark_engine_task_clear_timer(self, task);
	task->rec.attempts++;
	if (task->arec == NULL)
		task->arec = g_new0(ArkAttemptRecord, 1);
	else
		memset(task->arec, 0, sizeof(*task->arec));
	task->arec->run_id = run->rec.id;
	task->arec->task_id = task->spec->id;
	task->arec->number = task->rec.attempts;
	task->arec->token = ++self->next_token;
	task->arec->status = ARK_ATTEMPT_STATUS_RUNNING;
	task->arec->executor = task->exec->name;
	task->arec->holder = self->holder;
	task->arec->started_at = now;
	task->arec->exit_code = -1;
	ark_store_batch_add_attempt(self->batch, ARK_STORE_OP_ATTEMPT_INSERT, task->arec);

	if (run->rec.state == ARK_RUN_STATE_PENDING) {
		run->rec.state = ARK_RUN_STATE_RUNNING;
		run->rec.started_at = now;
		ark_engine_run_update(self, run);
		ark_engine_add_event(self, ARK_EVENT_RUN_STARTED, run, NULL, 0,
				     ARK_RUN_STATE_RUNNING, NULL);
	}
	ark_metric_series_observe(self->m_ready_latency,
				  (gdouble)(now - task->rec.ready_at) / G_USEC_PER_SEC);
	ark_engine_task_set_state(self, task, ARK_TASK_STATE_RUNNING, NULL);
	ark_engine_add_event(self, ARK_EVENT_ATTEMPT_STARTED, run, task, task->arec->number,
			     ARK_ATTEMPT_STATUS_RUNNING, NULL);

	/* a task id is one path component (the workflow allows no '/'): a concatenation is the
	 * same path as g_build_filename() would build, at a fraction of its cost per start */
	if (self->logs_dir != NULL)
		log_dir = g_strconcat(self->logs_dir, G_DIR_SEPARATOR_S, run->rec.id,
				      G_DIR_SEPARATOR_S, task->spec->id, NULL);
	task->attempt = ark_attempt_new(run->rec.id, task->spec, task->arec->number,
					task->arec->token, log_dir, ark_engine_attempt_finished_cb,
					task);
	ark_engine_task_lease(self, task);
	g_ptr_array_add(self->to_start, task);
}

/* a retry wait or a queue timeout is due */
static void
ark_engine_task_timer_fired(ArkEngine *self, ArkEngineTask *task)
{
	switch (task->rec.state) {
	case ARK_TASK_STATE_RETRY_WAIT:
		ark_engine_task_make_ready(self, task);
		break;
	case ARK_TASK_STATE_READY: {
		g_autofree gchar *limit = ark_duration_format(task->spec->queue_timeout);
		g_autofree gchar *reason = g_strdup_printf(
		    "not started within its queue_timeout of %s after it became ready", limit);
		ark_engine_task_unqueue(self, task);
		ark_engine_task_set_state(self, task, ARK_TASK_STATE_FAILED, reason);
		ark_engine_task_ended(self, task);
		break;
	}
	default:
		break;
	}
}

/* fires every task timer due by now */
static void
ark_engine_fire_task_timers(ArkEngine *self)
{
	ArkTimestamp now = ark_engine_now(self);
	ArkEngineTask *task;

	while ((task = ark_heap_peek(self->timers)) != NULL && task->timer_at <= now) {
		(void)ark_heap_pop(self->timers);
		ark_engine_task_timer_fired(self, task);
	}
	ark_engine_timers_rearm(self);
}

static gboolean
ark_engine_timer_dispatch_cb(GSource *source, GSourceFunc callback, gpointer user_data)
{
	ark_engine_fire_task_timers(user_data);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs ark_engine_timer_funcs = {
    .dispatch = ark_engine_timer_dispatch_cb,
};

/* the scheduler tick ---------------------------------------------------------------------------- */

static ArkQueueEntry *
ark_engine_exec_next(ArkEngineExec *exec)
{
	guint n = exec->queues->len;
	for (guint i = 0; i < n; i++) {
		ArkEngineQueue *queue = g_ptr_array_index(exec->queues, (exec->next_queue + i) % n);
		ArkQueueEntry *entry = ark_policy_dequeue(queue->policy);
		if (entry != NULL) {
			exec->next_queue = (exec->next_queue + i + 1) % n;
			return entry;
		}
	}
	return NULL;
}

typedef struct {
	ArkTimestamp end;
	ArkEngineTask *task;
} ArkEngineEnd;

static gint
ark_engine_end_compare(gconstpointer a, gconstpointer b)
{
	const ArkEngineEnd *ea = a;
	const ArkEngineEnd *eb = b;
	return ea->end < eb->end ? -1 : ea->end > eb->end ? 1 : 0;
}

/*
 * The reservation for a queue head that does not fit @exec now (EASY backfill): its shadow time
 * is when enough of what runs will have ended, by their start and estimate, for it to fit; what
 * will be free then beyond its needs is @out_extra. When that depends on a task without an
 * estimate, the shadow time is unknown (G_MAXINT64) and only what the head does not need of what
 * is free now may be lent out.
 */
static void
ark_engine_exec_reserve(ArkEngineExec *exec, const ArkEngineAmount *need, ArkTimestamp now,
			ArkTimestamp *out_shadow, ArkEngineAmount *out_extra)
{
	g_autoptr(GArray) ends = g_array_sized_new(FALSE, FALSE, sizeof(ArkEngineEnd),
						   exec->leases->len);
	ArkEngineAmount avail;

	for (guint i = 0; i < exec->leases->len; i++) {
		ArkEngineTask *t = g_ptr_array_index(exec->leases, i);
		ArkEngineEnd e = {G_MAXINT64, t};
		if (t->entry.estimate > 0 && t->arec != NULL)
			e.end = MAX(t->arec->started_at + t->entry.estimate, now);
		g_array_append_val(ends, e);
	}
	g_array_sort(ends, ark_engine_end_compare);
	ark_engine_exec_available(exec, &avail);
	for (guint i = 0; i < ends->len; i++) {
		ArkEngineEnd *e = &g_array_index(ends, ArkEngineEnd, i);
		ArkEngineAmount held;
		if (e->end == G_MAXINT64)
			break;
		ark_engine_task_amount(e->task->spec, &held);
		for (guint d = 0; d < ARK_ENGINE_DIMS; d++)
			avail.v[d] += held.v[d];
		if (ark_engine_amount_fits(need, &avail)) {
			*out_shadow = e->end;
			for (guint d = 0; d < ARK_ENGINE_DIMS; d++)
				out_extra->v[d] = avail.v[d] - need->v[d];
			return;
		}
	}
	*out_shadow = G_MAXINT64;
	ark_engine_exec_available(exec, &avail);
	for (guint d = 0; d < ARK_ENGINE_DIMS; d++)
		out_extra->v[d] = MAX(avail.v[d] - need->v[d], 0);
}

/*
 * Fills @exec's free slots from its queues, never over its capacity. Tasks whose concurrency key
 * is taken are parked. When the first task that could run does not fit, it keeps its place (a
 * reservation) and up to backfill-depth tasks behind it may start first, each only if it fits
 * now and either ends by the reservation's shadow time (by its estimate) or uses only what the
 * head will not need then (docs/scheduling.md, "Backfill"). What is looked at and not started
 * goes back to its queue in its place.
 */
static void
ark_engine_exec_dispatch(ArkEngine *self, ArkEngineExec *exec, ArkTimestamp now)
{
	g_autoptr(GPtrArray) held = NULL;
	gboolean reserved = FALSE;
	ArkTimestamp shadow = G_MAXINT64;
	ArkEngineAmount extra = {{0}};
	guint examined = 0;

	while (exec->running < exec->slots) {
		ArkQueueEntry *entry = ark_engine_exec_next(exec);
		ArkEngineTask *task;
		ArkEngineAmount need, avail;

		if (entry == NULL)
			break;
		task = ark_engine_task_from_entry(entry);
		if (ark_engine_task_key_blocked(self, task)) {
			ark_engine_task_park(self, task);
			if (reserved && ++examined >= self->backfill_depth)
				break;
			continue;
		}
		ark_engine_task_amount(task->spec, &need);
		ark_engine_exec_available(exec, &avail);
		if (!reserved) {
			if (ark_engine_amount_fits(&need, &avail)) {
				ark_engine_start_attempt(self, task);
				continue;
			}
			reserved = TRUE;
			ark_engine_exec_reserve(exec, &need, now, &shadow, &extra);
			held = g_ptr_array_new();
			g_ptr_array_add(held, entry);
			if (self->backfill_depth == 0)
				break;
			continue;
		}
		examined++;
		if (ark_engine_amount_fits(&need, &avail) && ark_engine_amount_fits(&need, &extra)) {
			for (guint d = 0; d < ARK_ENGINE_DIMS; d++)
				extra.v[d] -= need.v[d];
			ark_engine_start_attempt(self, task);
		} else if (ark_engine_amount_fits(&need, &avail) && shadow != G_MAXINT64 &&
			   task->entry.estimate > 0 && now + task->entry.estimate <= shadow) {
			ark_engine_start_attempt(self, task);
		} else {
			g_ptr_array_add(held, entry);
		}
		if (examined >= self->backfill_depth)
			break;
	}
	/* back in the reverse order they came out, so that every queue is as it was */
	for (guint i = held != NULL ? held->len : 0; i > 0; i--) {
		ArkQueueEntry *entry = g_ptr_array_index(held, i - 1);
		ark_policy_unget(ark_engine_task_from_entry(entry)->queue, entry);
	}
}

static void
ark_engine_dispatch(ArkEngine *self)
{
	GHashTableIter iter;
	gpointer value;
	ArkTimestamp now = ark_engine_now(self);

	g_hash_table_iter_init(&iter, self->execs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineExec *exec = value;
		if (!self->draining)
			ark_engine_exec_dispatch(self, exec, now);
		for (guint i = 0; i < exec->queues->len; i++) {
			ArkEngineQueue *queue = g_ptr_array_index(exec->queues, i);
			ark_metric_series_set(
			    ark_metric_series(self->m_queue_depth,
					      (const gchar *[]){exec->name, queue->name, NULL}),
			    ark_policy_get_length(queue->policy));
		}
	}
}

static gboolean
ark_engine_tick_cb(gpointer user_data)
{
	ArkEngine *self = ARK_ENGINE(user_data);
	self->tick_id = 0;
	if (self->storage_error != NULL)
		return G_SOURCE_REMOVE;
	ark_engine_dispatch(self);
	(void)ark_engine_flush(self, NULL);
	return G_SOURCE_REMOVE;
}

static void
ark_engine_schedule_tick(ArkEngine *self)
{
	/* idle priority: completions that are already waiting get handled first and share the
	 * tick's commit */
	if (self->tick_id == 0)
		self->tick_id = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, ark_engine_tick_cb,
						g_object_ref(self), g_object_unref);
}

/* public API ------------------------------------------------------------------------------------ */

ArkEngine *
ark_engine_new(ArkRegistry *registry, ArkStore *store)
{
	ArkEngine *self;
	g_return_val_if_fail(ARK_IS_REGISTRY(registry), NULL);
	g_return_val_if_fail(store == NULL || ARK_IS_STORE(store), NULL);
	self = g_object_new(ARK_TYPE_ENGINE, NULL);
	self->registry = g_object_ref(registry);
	self->store = store != NULL ? g_object_ref(store) : NULL;
	return self;
}

void
ark_engine_set_state_dir(ArkEngine *self, const gchar *state_dir)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_free(self->state_dir);
	g_free(self->logs_dir);
	self->state_dir = g_strdup(state_dir);
	self->logs_dir = state_dir != NULL ? g_build_filename(state_dir, "logs", NULL) : NULL;
}

void
ark_engine_set_config(ArkEngine *self, GKeyFile *config)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_clear_pointer(&self->config, g_key_file_unref);
	if (config != NULL)
		self->config = g_key_file_ref(config);
}

void
ark_engine_set_default_policy(ArkEngine *self, const gchar *policy)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_return_if_fail(policy != NULL);
	g_free(self->default_policy);
	self->default_policy = g_strdup(policy);
}

void
ark_engine_set_executor_slots(ArkEngine *self, const gchar *executor, guint slots)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_return_if_fail(executor != NULL);
	g_hash_table_insert(self->slot_overrides, g_strdup(executor), GUINT_TO_POINTER(slots));
}

/**
 * ark_engine_set_clock:
 * @self: an engine, not started yet
 * @clock: (nullable): a virtual clock, or NULL for the wall clock
 *
 * Every time the engine records (events, task and attempt records) and every timer it keeps
 * (retry waits, queue timeouts, run timeouts) follow @clock from now on, and so do the policies
 * it sets up (ark_policy_get_time()). With a virtual clock nothing waits on real time: whoever
 * moves the clock calls ark_engine_fire_timers(), at ark_engine_get_next_timer() at the latest.
 *
 * Since: 0.1 (ABI 1.2)
 */
void
ark_engine_set_clock(ArkEngine *self, ArkClock *clock)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_return_if_fail(clock == NULL || ARK_IS_CLOCK(clock));
	g_return_if_fail(!self->started);
	g_set_object(&self->clock, clock);
}

/**
 * ark_engine_get_clock:
 * @self: an engine
 *
 * Returns: (transfer none) (nullable): the engine's clock, NULL for the wall clock
 *
 * Since: 0.1 (ABI 1.2)
 */
ArkClock *
ark_engine_get_clock(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->clock;
}

/**
 * ark_engine_get_next_timer:
 * @self: an engine
 * @out_at: (out): when the earliest timer is due
 *
 * The earliest of the engine's timers: a retry wait, a queue timeout or a run timeout.
 *
 * Returns: FALSE when no timer is armed
 *
 * Since: 0.1 (ABI 1.2)
 */
gboolean
ark_engine_get_next_timer(ArkEngine *self, ArkTimestamp *out_at)
{
	ArkEngineTask *first;
	ArkTimestamp at = G_MAXINT64;
	ArkTimestamp agents_at = 0;
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(out_at != NULL, FALSE);
	first = ark_heap_peek(self->timers);
	if (first != NULL)
		at = first->timer_at;
	if (self->agents != NULL && ark_agents_get_next_timer(self->agents, &agents_at))
		at = MIN(at, agents_at);
	/* few runs are open at a time, and the wall clock's runs have their own sources */
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		if (run->timeout_at != 0 && !run->finishing && !run->stopping)
			at = MIN(at, run->timeout_at);
	}
	if (at == G_MAXINT64)
		return FALSE;
	*out_at = at;
	return TRUE;
}

/**
 * ark_engine_fire_timers:
 * @self: an engine
 *
 * Fires every timer that is due by the engine's clock, as the main loop does on the wall clock.
 * What they change is committed by the next tick, like any transition.
 *
 * Since: 0.1 (ABI 1.2)
 */
void
ark_engine_fire_timers(ArkEngine *self)
{
	ArkTimestamp now;
	g_autoptr(GPtrArray) due = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	g_return_if_fail(ARK_IS_ENGINE(self));
	ark_engine_fire_task_timers(self);
	if (self->started)
		ark_agents_fire_timers(self->agents);
	now = ark_engine_now(self);
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		if (run->timeout_at != 0 && run->timeout_at <= now)
			g_ptr_array_add(due, run);
	}
	/* stopping a run changes no hash table: the runs stay open until their commit */
	for (guint i = 0; i < due->len; i++) {
		ArkEngineRun *run = g_ptr_array_index(due, i);
		g_clear_handle_id(&run->timeout_id, g_source_remove);
		(void)ark_engine_run_timeout_cb(run);
	}
}

/* what @exec's executor says it has, and its gauges */
static void
ark_engine_exec_set_capacity(ArkEngine *self, ArkEngineExec *exec)
{
	gdouble capacity[3];

	exec->has_capacity = ark_executor_get_capacity(exec->executor, &exec->capacity);
	if (!exec->has_capacity)
		return;
	capacity[0] = exec->capacity.cpus;
	capacity[1] = (gdouble)exec->capacity.memory;
	capacity[2] = exec->capacity.gpus;
	for (guint r = 0; r < 3; r++) {
		const gchar *labels[] = {exec->name, ark_engine_resource_names[r], NULL};
		ark_metric_series_set(ark_metric_series(self->m_resources_capacity, labels),
				      capacity[r]);
		exec->m_in_use[r] = ark_metric_series(self->m_resources_in_use, labels);
	}
}

/* a set-up instance of the executor registered as @name */
static ArkExecutor *
ark_engine_executor_new(ArkEngine *self, const gchar *name, GError **error)
{
	g_autoptr(ArkExecutor) executor = NULL;
	g_autofree gchar *group = g_strdup_printf("executor-%s", name);
	ArkExecutorSetup setup = {
	    .name = name,
	    .slots = GPOINTER_TO_UINT(g_hash_table_lookup(self->slot_overrides, name)),
	    .state_dir = self->state_dir,
	    .config = self->config,
	    .group = group,
	    .registry = self->registry,
	};

	executor = ark_registry_create(self->registry, ARK_CAPABILITY_EXECUTOR, name, error);
	if (executor == NULL || !ark_executor_setup(executor, &setup, error))
		return NULL;
	return g_steal_pointer(&executor);
}

static void
ark_engine_count_dead(ArkEngine *self)
{
	g_autoptr(GError) error = NULL;
	ArkTaskFilter filter = {.state_mask = 1u << ARK_TASK_STATE_DEAD};
	g_autoptr(GPtrArray) dead = ark_store_find_tasks(self->store, &filter, &error);

	if (dead == NULL) {
		g_debug("could not count the dead-letter queue: %s", error->message);
		return;
	}
	self->n_dead = dead->len;
}

static gboolean
ark_engine_lag_probe_cb(gpointer user_data)
{
	ArkEngine *self = user_data;
	gint64 now = g_get_monotonic_time();
	gint64 lag = MAX(now - self->lag_expected, 0);

	if (now - self->lag_window_start >= ARK_ENGINE_LAG_WINDOW) {
		self->lag_max_prev = self->lag_max_cur;
		self->lag_max_cur = 0;
		self->lag_window_start = now;
	}
	self->lag_max_cur = MAX(self->lag_max_cur, lag);
	self->lag_expected = now + ARK_ENGINE_LAG_PROBE_MS * 1000;
	return G_SOURCE_CONTINUE;
}

/* [engine] estimate-weight, backfill-depth and concurrency-limits */
static gboolean
ark_engine_read_scheduling_config(ArkEngine *self, GError **error)
{
	g_auto(GStrv) limits = NULL;

	if (self->config == NULL)
		return TRUE;
	if (g_key_file_has_key(self->config, "engine", "estimate-weight", NULL)) {
		g_autoptr(GError) local_error = NULL;
		gdouble weight =
		    g_key_file_get_double(self->config, "engine", "estimate-weight", &local_error);
		if (local_error != NULL || !(weight >= 0 && weight <= 1)) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[engine] estimate-weight must be a number from 0 to 1");
			return FALSE;
		}
		self->estimate_weight = weight;
	}
	if (g_key_file_has_key(self->config, "engine", "backfill-depth", NULL)) {
		g_autofree gchar *value =
		    g_key_file_get_string(self->config, "engine", "backfill-depth", NULL);
		guint64 depth = 0;
		if (value == NULL ||
		    !g_ascii_string_to_unsigned(g_strstrip(value), 10, 0, 100000, &depth, NULL)) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[engine] backfill-depth must be a whole number from 0 "
					    "to 100000");
			return FALSE;
		}
		self->backfill_depth = (guint)depth;
	}
	limits = g_key_file_get_string_list(self->config, "engine", "concurrency-limits", NULL,
					    NULL);
	for (guint i = 0; limits != NULL && limits[i] != NULL; i++) {
		gchar *item = g_strstrip(limits[i]);
		gchar *colon = strrchr(item, ':');
		guint64 limit = 0;
		if (item[0] == '\0')
			continue;
		if (colon == NULL || colon == item ||
		    !g_ascii_string_to_unsigned(colon + 1, 10, 1, ARK_WORKFLOW_MAX_CONCURRENCY_LIMIT,
						&limit, NULL)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[engine] concurrency-limits: '%s' is not KEY:LIMIT with a limit "
				    "from 1 to %d",
				    item, ARK_WORKFLOW_MAX_CONCURRENCY_LIMIT);
			return FALSE;
		}
		*colon = '\0';
		g_hash_table_insert(self->key_caps, g_strdup(g_strstrip(item)),
				    GUINT_TO_POINTER((guint)limit));
	}
	return TRUE;
}

/* the executor of agent tasks is part of core, like the engine's own agents; a plugin can not
 * take its name */
static gboolean
ark_engine_add_agent_executor(ArkEngine *self, GError **error)
{
	g_autoptr(ArkExecutor) executor = ark_agent_executor_new(self, self->agents);
	ArkExecutorSetup setup = {
	    .name = "agent",
	    .slots = GPOINTER_TO_UINT(g_hash_table_lookup(self->slot_overrides, "agent")),
	    .state_dir = self->state_dir,
	    .config = self->config,
	    .group = "executor-agent",
	    .registry = self->registry,
	};
	ArkEngineExec *exec;

	if (g_hash_table_contains(self->execs, "agent")) {
		g_warning("an executor plugin is named 'agent'; the built-in agent executor takes "
			  "its place");
		g_hash_table_remove(self->execs, "agent");
	}
	if (!ark_executor_setup(executor, &setup, error))
		return FALSE;
	exec = g_new0(ArkEngineExec, 1);
	exec->name = g_strdup("agent");
	exec->executor = g_steal_pointer(&executor);
	exec->slots = MAX(ark_executor_get_slots(exec->executor), 1);
	exec->queues = g_ptr_array_new_with_free_func((GDestroyNotify)ark_engine_queue_free);
	exec->leases = g_ptr_array_new();
	exec->slots_in_use =
	    ark_metric_series(ark_metrics_gauge(self->metrics, "ark_executor_slots_in_use",
						"attempts running per executor",
						(const gchar *[]){"executor", NULL}),
			      (const gchar *[]){exec->name, NULL});
	ark_metric_series_set(
	    ark_metric_series(ark_metrics_gauge(self->metrics, "ark_executor_slots",
						"attempts allowed at once per executor",
						(const gchar *[]){"executor", NULL}),
			      (const gchar *[]){exec->name, NULL}),
	    exec->slots);
	g_hash_table_insert(self->execs, exec->name, exec);
	self->agent_exec = exec;
	return TRUE;
}

gboolean
ark_engine_start(ArkEngine *self, GError **error)
{
	g_auto(GStrv) names = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(!self->started, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (ark_registry_lookup_type(self->registry, ARK_CAPABILITY_POLICY,
				     self->default_policy) == G_TYPE_INVALID) {
		g_auto(GStrv) known =
		    ark_registry_list_names(self->registry, ARK_CAPABILITY_POLICY);
		g_autofree gchar *list = g_strjoinv(", ", known);
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    "unknown policy '%s' (known: %s)", self->default_policy,
			    list[0] != '\0' ? list : "none: is the plugin directory right?");
		return FALSE;
	}
	/* before the executors: nothing is set up yet when the audit file can not be opened */
	if (self->store != NULL && !ark_audit_open(self->audit, self->store, error))
		return FALSE;

	names = ark_registry_list_names(self->registry, ARK_CAPABILITY_EXECUTOR);
	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(GError) local_error = NULL;
		g_autoptr(ArkExecutor) executor = NULL;
		ArkEngineExec *exec;

		executor = ark_engine_executor_new(self, names[i], &local_error);
		if (executor == NULL) {
			g_warning("executor %s is not available: %s", names[i],
				  local_error->message);
			continue;
		}
		exec = g_new0(ArkEngineExec, 1);
		exec->name = g_strdup(names[i]);
		exec->executor = g_steal_pointer(&executor);
		exec->slots = MAX(ark_executor_get_slots(exec->executor), 1);
		exec->queues = g_ptr_array_new_with_free_func((GDestroyNotify)ark_engine_queue_free);
		exec->leases = g_ptr_array_new();
		ark_engine_exec_set_capacity(self, exec);
		exec->slots_in_use =
		    ark_metric_series(ark_metrics_gauge(self->metrics, "ark_executor_slots_in_use",
							"attempts running per executor",
							(const gchar *[]){"executor", NULL}),
				      (const gchar *[]){exec->name, NULL});
		ark_metric_series_set(
		    ark_metric_series(ark_metrics_gauge(self->metrics, "ark_executor_slots",
							"attempts allowed at once per executor",
							(const gchar *[]){"executor", NULL}),
				      (const gchar *[]){exec->name, NULL}),
		    exec->slots);
		g_hash_table_insert(self->execs, exec->name, exec);
	}

	if (!ark_engine_add_agent_executor(self, error))
		return FALSE;

	if (self->store != NULL) {
		self->next_seq = ark_store_get_last_event_seq(self->store);
		self->next_token = ark_store_get_last_attempt_token(self->store);
		ark_engine_count_dead(self);
	}
	if (!ark_engine_read_scheduling_config(self, error))
		return FALSE;
	/* before any run is resumed: their agent attempts are adopted with what it loads */
	if (!ark_agents_start(self->agents, error))
		return FALSE;
	if (self->config != NULL &&
	    g_key_file_has_key(self->config, "engine", "loop-lag-limit", NULL)) {
		g_autofree gchar *limit =
		    g_key_file_get_string(self->config, "engine", "loop-lag-limit", NULL);
		gint64 usec = 0;
		if (limit != NULL && ark_duration_parse(limit, &usec, NULL) && usec > 0)
			self->lag_limit = usec;
	}
	self->lag_window_start = self->lag_expected =
	    g_get_monotonic_time() + ARK_ENGINE_LAG_PROBE_MS * 1000;
	self->lag_probe_id =
	    g_timeout_add_full(G_PRIORITY_DEFAULT, ARK_ENGINE_LAG_PROBE_MS,
			       ark_engine_lag_probe_cb, self, NULL);
	g_source_set_name_by_id(self->lag_probe_id, "ArkEngine lag probe");
	self->started = TRUE;
	return TRUE;
}

void
ark_engine_shutdown(ArkEngine *self)
{
	GHashTableIter iter;
	gpointer value;

	g_return_if_fail(ARK_IS_ENGINE(self));
	ark_agents_shutdown(self->agents);
	g_hash_table_iter_init(&iter, self->execs);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		ark_executor_shutdown(((ArkEngineExec *)value)->executor);
	if (self->store != NULL && self->storage_error == NULL)
		(void)ark_engine_flush(self, NULL);
	/* a tick still due would start what shutdown stopped; it also holds the engine */
	g_clear_handle_id(&self->tick_id, g_source_remove);
	ark_audit_close_file(self->audit);
}

ArkRegistry *
ark_engine_get_registry(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->registry;
}

ArkStore *
ark_engine_get_store(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->store;
}

ArkMetrics *
ark_engine_get_metrics(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->metrics;
}

const gchar *
ark_engine_get_state_dir(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->state_dir;
}

GKeyFile *
ark_engine_get_config(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->config;
}

const gchar *
ark_engine_get_default_policy(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->default_policy;
}

static const gchar *
ark_engine_pick_policy(ArkEngine *self, ArkWorkflow *workflow, const gchar *policy)
{
	if (policy != NULL)
		return policy;
	if (ark_workflow_get_policy(workflow) != NULL)
		return ark_workflow_get_policy(workflow);
	return self->default_policy;
}

/* a task that asks for more than its executor has in all could never start */
static void
ark_engine_check_task_resources(ArkEngineExec *exec, ArkWorkflow *workflow,
				const ArkTaskSpec *spec, GPtrArray *problems)
{
	if (!exec->has_capacity) {
		if (spec->cpus > 0 || spec->memory > 0 || spec->gpus > 0)
			ark_workflow_add_problem(workflow, problems, spec->index,
						 spec->cpus > 0	     ? "cpus"
						 : spec->memory > 0 ? "memory"
								    : "gpus",
						 "executor '%s' does not count resources; leave out "
						 "cpus, memory and gpus",
						 exec->name);
		return;
	}
	if (spec->cpus > exec->capacity.cpus + 1e-6)
		ark_workflow_add_problem(workflow, problems, spec->index, "cpus",
					 "asks for %g CPUs, but executor '%s' has %g in all "
					 "([executor-%s] cpus)",
					 spec->cpus, exec->name, exec->capacity.cpus, exec->name);
	if (spec->memory > exec->capacity.memory) {
		g_autofree gchar *want = g_format_size_full(spec->memory, G_FORMAT_SIZE_IEC_UNITS);
		g_autofree gchar *have =
		    g_format_size_full(exec->capacity.memory, G_FORMAT_SIZE_IEC_UNITS);
		ark_workflow_add_problem(workflow, problems, spec->index, "memory",
					 "asks for %s of memory, but executor '%s' has %s in all "
					 "([executor-%s] memory)",
					 want, exec->name, have, exec->name);
	}
	if (spec->gpus > exec->capacity.gpus)
		ark_workflow_add_problem(workflow, problems, spec->index, "gpus",
					 "asks for %u GPUs, but executor '%s' has %u "
					 "([executor-%s] gpus)",
					 spec->gpus, exec->name, exec->capacity.gpus, exec->name);
}

/* an agent task's mode names a coordinator that is set up, and its capabilities are names an
 * agent can register */
static void
ark_engine_check_agent_task(ArkEngine *self, ArkWorkflow *workflow, const ArkTaskSpec *spec,
			    GPtrArray *problems)
{
	const ArkAgentSpec *agent = spec->agent;

	if (ark_agents_get_coordinator(self->agents, agent->mode) == NULL) {
		g_autofree gchar *known = ark_agents_list_coordinators(self->agents);
		ark_workflow_add_problem(workflow, problems, spec->index, "agent.mode",
					 "unknown coordinator '%s' (available: %s)", agent->mode,
					 known[0] != '\0' ? known : "none: is the plugin directory "
								    "right?");
	}
	for (guint i = 0; agent->capabilities != NULL && agent->capabilities[i] != NULL; i++) {
		const gchar *cap = agent->capabilities[i];
		gsize len = strlen(cap);
		gboolean ok = len > 0 && len <= 128;
		for (gsize k = 0; ok && k < len; k++)
			ok = g_ascii_isalnum(cap[k]) || strchr("._:/-", cap[k]) != NULL;
		if (!ok) {
			g_autofree gchar *member = g_strdup_printf("agent.capabilities[%u]", i);
			ark_workflow_add_problem(workflow, problems, spec->index, member,
						 "'%.64s' is not a capability name (1 to 128 of "
						 "A-Z a-z 0-9 . _ : / -)",
						 cap);
		}
	}
}

static gboolean
ark_engine_check_workflow_full(ArkEngine *self, ArkWorkflow *workflow, const gchar *policy,
			       GPtrArray *problems)
{
	guint before = problems->len;
	const gchar *policy_name;

	policy_name = ark_engine_pick_policy(self, workflow, policy);
	if (ark_registry_lookup_type(self->registry, ARK_CAPABILITY_POLICY, policy_name) ==
	    G_TYPE_INVALID) {
		g_auto(GStrv) known =
		    ark_registry_list_names(self->registry, ARK_CAPABILITY_POLICY);
		g_autofree gchar *list = g_strjoinv(", ", known);
		ark_workflow_add_problem(workflow, problems, G_MAXUINT, "policy",
					 "unknown policy '%s' (known: %s)", policy_name,
					 list[0] != '\0' ? list : "none");
	}
	for (guint i = 0; i < ark_workflow_get_n_tasks(workflow); i++) {
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		ArkEngineExec *exec = g_hash_table_lookup(self->execs, spec->executor);
		if (exec == NULL) {
			g_autoptr(GPtrArray) avail = g_ptr_array_new();
			g_autofree gchar *list = NULL;
			GHashTableIter iter;
			gpointer key;
			g_hash_table_iter_init(&iter, self->execs);
			while (g_hash_table_iter_next(&iter, &key, NULL))
				g_ptr_array_add(avail, key);
			g_ptr_array_sort(avail, (GCompareFunc)g_strcmp0);
			g_ptr_array_add(avail, NULL);
			list = g_strjoinv(", ", (gchar **)avail->pdata);
			ark_workflow_add_problem(workflow, problems, i, "executor",
						 "unknown executor '%s' (available: %s)",
						 spec->executor, list[0] != '\0' ? list : "none");
			continue;
		}
		ark_engine_check_task_resources(exec, workflow, spec, problems);
		(void)ark_executor_check_task(exec->executor, workflow, spec, problems);
		if (spec->agent != NULL)
			ark_engine_check_agent_task(self, workflow, spec, problems);
	}
	return problems->len == before;
}

gboolean
ark_engine_check_workflow(ArkEngine *self, ArkWorkflow *workflow, const gchar *policy,
			  GPtrArray *problems)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(workflow != NULL, FALSE);
	g_return_val_if_fail(problems != NULL, FALSE);

	if (!ark_engine_check_workflow_full(self, workflow, policy, problems))
		return FALSE;
	/* a frontend (and arkitect run) checks before it submits, to answer with every problem;
	 * the submission that follows then need not check the same workflow again (a workflow
	 * never changes once parsed). Only this, the public check, is remembered */
	if (self->checked_workflow != workflow) {
		g_clear_pointer(&self->checked_workflow, ark_workflow_unref);
		self->checked_workflow = ark_workflow_ref(workflow);
	}
	g_free(self->checked_policy);
	self->checked_policy = g_strdup(policy);
	return TRUE;
}

/*
 * The task array of a large run (100,000 tasks are ~33 MB) is its own mapping with transparent
 * huge pages where the kernel allows them: first touching it then costs ~16 faults instead of
 * ~8,000, which was most of the time a resume spent building the graph.
 */
#define ARK_ENGINE_TASKS_MAP_MIN ((gsize)4 * 1024 * 1024)

static ArkEngineTask *
ark_engine_alloc_tasks(guint n, gsize *out_mapped)
{
	gsize size = (gsize)MAX(n, 1) * sizeof(ArkEngineTask);

	*out_mapped = 0;
	if (size >= ARK_ENGINE_TASKS_MAP_MIN) {
		/* anonymous mappings are zero-filled, like g_new0() */
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);
		if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
			(void)madvise(p, size, MADV_HUGEPAGE);
#endif
			*out_mapped = size;
			return p;
		}
	}
	return g_new0(ArkEngineTask, MAX(n, 1));
}

/* a (zeroed) task of @run at @index, PENDING with all its needs unmet: for a submission, a
 * resumed run and a task added to an open run alike */
static inline void
ark_engine_task_init(ArkEngine *self, ArkEngineRun *run, ArkEngineTask *task,
		     const ArkTaskSpec *spec, guint index)
{
	task->run = run;
	task->spec = spec;
	task->exec = g_hash_table_lookup(self->execs, spec->executor);
	task->unmet = g_strv_length(spec->needs);
	task->timer_index = ARK_HEAP_NOT_IN_HEAP;
	task->rec.run_id = run->rec.id;
	task->rec.task_id = spec->id;
	task->rec.index = index;
	task->rec.state = ARK_TASK_STATE_PENDING;
	task->rec.exit_code = -1;
	task->entry.run_id = run->rec.id;
	task->entry.spec = spec;
	task->entry.submitted_at = run->submitted_at;
	task->entry.priority = spec->priority;
	task->entry.estimate = ark_engine_task_estimate(task);
	task->entry.tenant = run->rec.submitter;
	task->entry.workflow_name = run->rec.workflow_name;
	task->entry.deadline = spec->deadline_absolute != 0 ? spec->deadline_absolute
			       : spec->deadline_relative != 0
				   ? run->submitted_at + spec->deadline_relative
				   : 0;
	task->entry.heap_index = ARK_HEAP_NOT_IN_HEAP;
}

/* builds the in-memory graph of @run from @workflow: tasks, CSR dependents, queue entries and
 * ranks; every task starts PENDING with all its needs unmet */
static void
ark_engine_run_build(ArkEngine *self, ArkEngineRun *run, ArkWorkflow *workflow)
{
	const guint *order;
	guint32 n_edges = 0;
	ArkTimestamp submitted = run->rec.created_at;

	run->engine = self;
	run->workflow = ark_workflow_ref(workflow);
	run->n_tasks = ark_workflow_get_n_tasks(workflow);
	run->n_block = run->n_tasks;
	run->submitted_at = submitted;
	run->estimates = ark_engine_estimates_for(self, ark_workflow_get_name(workflow));
	run->tasks = ark_engine_alloc_tasks(run->n_tasks, &run->tasks_mapped);

	/* dependents as one CSR array: counts first, then fill */
	for (guint i = 0; i < run->n_tasks; i++) {
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		for (guint n = 0; spec->needs[n] != NULL; n++) {
			const ArkTaskSpec *need = ark_workflow_lookup_task(workflow, spec->needs[n]);
			run->tasks[need->index].n_dependents++;
			n_edges++;
		}
	}
	run->dependents = g_new(guint32, MAX(n_edges, 1));
	for (guint i = 0, start = 0; i < run->n_tasks; i++) {
		run->tasks[i].dependents_start = start;
		start += run->tasks[i].n_dependents;
		run->tasks[i].n_dependents = 0;
	}
	for (guint i = 0; i < run->n_tasks; i++) {
		const ArkTaskSpec *spec = ark_workflow_get_task(workflow, i);
		ArkEngineTask *task = &run->tasks[i];
		ark_engine_task_init(self, run, task, spec, i);
		for (guint n = 0; spec->needs[n] != NULL; n++) {
			const ArkTaskSpec *need = ark_workflow_lookup_task(workflow, spec->needs[n]);
			ArkEngineTask *up = &run->tasks[need->index];
			run->dependents[up->dependents_start + up->n_dependents++] = i;
		}
	}
	/* rank = longest path to a sink by estimates, for policies that want it: reverse
	 * topological order sees every dependent before the task itself */
	order = ark_workflow_get_topological_order(workflow);
	for (guint k = run->n_tasks; k > 0; k--) {
		ArkEngineTask *task = &run->tasks[order[k - 1]];
		gint64 best = 0;
		for (guint32 d = 0; d < task->n_dependents; d++) {
			ArkEngineTask *dep = &run->tasks[run->dependents[task->dependents_start + d]];
			best = MAX(best, dep->entry.rank);
		}
		task->entry.rank = best + task->entry.estimate;
	}
	run->counts[ARK_TASK_STATE_PENDING] = run->n_tasks;
}

static void
ark_engine_run_clear_timeout(ArkEngineRun *run)
{
	g_clear_handle_id(&run->timeout_id, g_source_remove);
	run->timeout_at = 0;
}

static gboolean
ark_engine_run_timeout_cb(gpointer user_data)
{
	ArkEngineRun *run = user_data;
	ArkEngine *self = run->engine;
	g_autofree gchar *limit = ark_duration_format(ark_workflow_get_timeout(run->workflow));
	g_autofree gchar *reason = g_strdup_printf("the run did not finish within its timeout of %s",
						   limit);

	run->timeout_id = 0;
	run->timeout_at = 0;
	if (run->finishing || run->stopping)
		return G_SOURCE_REMOVE;
	run->timed_out = TRUE;
	ark_engine_run_stop(self, run, "timeout", reason);
	return G_SOURCE_REMOVE;
}

/* arms the run-level timeout, counted from submission (also after a restart) */
static void
ark_engine_run_arm_timeout(ArkEngineRun *run)
{
	gint64 timeout = ark_workflow_get_timeout(run->workflow);
	gint64 left;

	ark_engine_run_clear_timeout(run);
	if (timeout <= 0)
		return;
	run->timeout_at = run->rec.created_at + timeout;
	/* a virtual clock's owner fires it with ark_engine_fire_timers() */
	if (run->engine->clock != NULL)
		return;
	left = run->timeout_at - ark_engine_now(run->engine);
	run->timeout_id = g_timeout_add_full(G_PRIORITY_DEFAULT,
					     (guint)CLAMP((left + 999) / 1000, 0, G_MAXUINT),
					     ark_engine_run_timeout_cb, run, NULL);
}

/* work ahead of a task queued on @exec now, spread over its slots: what the running tasks have
 * left and what the ready ones are expected to take, by their estimates */
static gint64
ark_engine_exec_backlog(ArkEngine *self, ArkEngineExec *exec, ArkTimestamp now)
{
	GHashTableIter iter;
	gpointer value;
	gdouble work = 0;

	for (guint i = 0; i < exec->leases->len; i++) {
		ArkEngineTask *t = g_ptr_array_index(exec->leases, i);
		if (t->entry.estimate > 0 && t->arec != NULL)
			work += (gdouble)MAX(t->arec->started_at + t->entry.estimate - now, 0);
	}
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		if (run->counts[ARK_TASK_STATE_READY] == 0)
			continue;
		for (guint i = 0; i < run->n_tasks; i++) {
			ArkEngineTask *t = ark_engine_run_task(run, i);
			if (t->exec == exec && t->rec.state == ARK_TASK_STATE_READY)
				work += (gdouble)t->entry.estimate;
		}
	}
	return (gint64)(work / MAX(exec->slots, 1));
}

/*
 * Admission control, for a run whose policy has it (edf): the soonest a task with a deadline
 * could finish is now, plus the backlog of its executor, plus its longest chain of needs by
 * estimates (itself included). The policy refuses the run (FALSE with @error), flags it (the
 * tasks at risk in @out_at_risk, a JSON object for the run's deadline.at-risk event) or
 * accepts it.
 */
static gboolean
ark_engine_admit(ArkEngine *self, ArkEngineRun *run, gchar **out_at_risk, GError **error)
{
	g_autofree gint64 *chain = NULL;
	g_autoptr(GHashTable) backlogs = NULL;
	g_autoptr(GString) risk = NULL;
	const guint *order;
	ArkTimestamp now = ark_engine_now(self);
	gboolean any = FALSE;

	*out_at_risk = NULL;
	for (guint i = 0; i < run->n_tasks && !any; i++)
		any = ark_engine_run_task(run, i)->entry.deadline != 0;
	if (!any)
		return TRUE;
	chain = g_new0(gint64, run->n_tasks);
	order = ark_workflow_get_topological_order(run->workflow);
	for (guint k = 0; k < run->n_tasks; k++) {
		ArkEngineTask *t = ark_engine_run_task(run, order[k]);
		gint64 best = 0;
		for (guint n = 0; t->spec->needs[n] != NULL; n++) {
			const ArkTaskSpec *need = ark_workflow_lookup_task(run->workflow,
									   t->spec->needs[n]);
			best = MAX(best, chain[need->index]);
		}
		chain[order[k]] = best + t->entry.estimate;
	}
	backlogs = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *t = ark_engine_run_task(run, i);
		ArkPolicy *policy;
		gint64 *backlog;
		ArkTimestamp earliest;
		g_autofree gchar *deadline = NULL;
		g_autofree gchar *soonest = NULL;

		if (t->entry.deadline == 0 || t->exec == NULL)
			continue;
		policy = ark_engine_get_queue(self, t->exec, run->rec.policy, NULL);
		if (policy == NULL || !ark_policy_has_admission(policy))
			continue;
		backlog = g_hash_table_lookup(backlogs, t->exec);
		if (backlog == NULL) {
			backlog = g_new(gint64, 1);
			*backlog = ark_engine_exec_backlog(self, t->exec, now);
			g_hash_table_insert(backlogs, t->exec, backlog);
		}
		earliest = now + *backlog + chain[i];
		deadline = ark_timestamp_format(t->entry.deadline);
		soonest = ark_timestamp_format(earliest);
		switch (ark_policy_admit(policy, &t->entry, earliest)) {
		case ARK_ADMISSION_REFUSE: {
			g_autofree gchar *ahead = ark_duration_format(*backlog);
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "refused by admission control (policy %s): task '%s' can not "
				    "meet its deadline %s; it could finish at %s at the soonest "
				    "(%s of work queued ahead on executor %s, and its chain of "
				    "needs by their estimates)",
				    run->rec.policy, t->spec->id, deadline, soonest, ahead,
				    t->exec->name);
			return FALSE;
		}
		case ARK_ADMISSION_FLAG:
			if (risk == NULL)
				risk = g_string_new("{\"tasks\":[");
			else
				g_string_append_c(risk, ',');
			g_string_append(risk, "{\"task_id\":");
			ark_json_append_string(risk, t->spec->id);
			g_string_append_printf(risk,
					       ",\"deadline\":\"%s\",\"earliest_finish\":\"%s\"}",
					       deadline, soonest);
			break;
		default:
			break;
		}
	}
	if (risk != NULL) {
		g_string_append(risk, "]}");
		*out_at_risk = g_string_free(g_steal_pointer(&risk), FALSE);
	}
	return TRUE;
}

/* validates @workflow and records it as a new run in the current batch; returns its id, or the
 * id of the run submitted earlier with the same idempotency key (*out_existed then) */
static gchar *
ark_engine_submit_record(ArkEngine *self, ArkWorkflow *workflow, const ArkSubmitOptions *options,
			 gboolean *out_existed, GError **error)
{
	g_autoptr(GPtrArray) problems = NULL;
	ArkSubmitOptions defaults = {0};
	ArkEngineRun *run;
	ArkTimestamp now;
	g_autofree gchar *at_risk = NULL;
	gboolean checked;

	*out_existed = FALSE;
	if (options == NULL)
		options = &defaults;
	if (!ark_engine_check_accepting(self, error))
		return NULL;
	if (options->idempotency_key != NULL) {
		g_autoptr(GError) lookup_error = NULL;
		g_autoptr(ArkRunRecord) existing = NULL;
		const gchar *inflight =
		    g_hash_table_lookup(self->inflight_keys, options->idempotency_key);

		if (inflight != NULL) {
			*out_existed = TRUE;
			return g_strdup(inflight);
		}
		existing = ark_store_find_run_by_idempotency_key(
		    self->store, options->idempotency_key, &lookup_error);
		if (existing != NULL) {
			*out_existed = TRUE;
			return g_strdup(existing->id);
		}
		if (!g_error_matches(lookup_error, ARK_ERROR, ARK_ERROR_NOT_FOUND) &&
		    !g_error_matches(lookup_error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED)) {
			g_propagate_error(error, g_steal_pointer(&lookup_error));
			return NULL;
		}
	}
	problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	checked = self->checked_workflow == workflow &&
		  g_strcmp0(self->checked_policy, options->policy) == 0;
	/* checked once: the next submission of this workflow checks again */
	g_clear_pointer(&self->checked_workflow, ark_workflow_unref);
	g_clear_pointer(&self->checked_policy, g_free);
	if (!checked && !ark_engine_check_workflow_full(self, workflow, options->policy, problems)) {
		g_autoptr(GString) msg = g_string_new("invalid workflow:");
		for (guint i = 0; i < problems->len; i++) {
			g_autofree gchar *line = ark_problem_to_string(problems->pdata[i], NULL);
			g_string_append_printf(msg, "\n  %s", line);
		}
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, msg->str);
		return NULL;
	}

	now = ark_engine_now(self);
	run = g_new0(ArkEngineRun, 1);
	run->rec.id = ark_id_new();
	run->rec.workflow_name = g_strdup(ark_workflow_get_name(workflow));
	run->rec.state = ARK_RUN_STATE_PENDING;
	run->rec.policy = g_strdup(ark_engine_pick_policy(self, workflow, options->policy));
	run->rec.submitter = g_strdup(options->submitter);
	run->rec.idempotency_key = g_strdup(options->idempotency_key);
	run->rec.n_tasks = ark_workflow_get_n_tasks(workflow);
	run->rec.created_at = now;
	ark_engine_run_build(self, run, workflow);
	if (!ark_engine_admit(self, run, &at_risk, error)) {
		ark_engine_run_free(run);
		return NULL;
	}

	/* the run and all its tasks in one batch, committed before anyone hears of the run */
	run->rec.definition = (gchar *)ark_workflow_get_definition(workflow);
	ark_store_batch_add_run(self->batch, ARK_STORE_OP_RUN_INSERT, &run->rec);
	run->rec.definition = NULL;
	for (guint i = 0; i < run->n_tasks; i++)
		ark_store_batch_add_task(self->batch, ARK_STORE_OP_TASK_INSERT,
					 &ark_engine_run_task(run, i)->rec);
	ark_engine_add_event(self, ARK_EVENT_RUN_SUBMITTED, run, NULL, 0, ARK_RUN_STATE_PENDING,
			     NULL);
	if (at_risk != NULL)
		ark_engine_add_event(self, ARK_EVENT_DEADLINE_AT_RISK, run, NULL, 0,
				     ARK_RUN_STATE_PENDING, at_risk);
	g_hash_table_insert(self->runs, run->rec.id, run);
	if (options->idempotency_key != NULL)
		g_hash_table_insert(self->inflight_keys, g_strdup(options->idempotency_key),
				    g_strdup(run->rec.id));
	ark_engine_run_arm_timeout(run);
	for (guint i = 0; i < run->n_tasks; i++) {
		if (ark_engine_run_task(run, i)->unmet == 0)
			ark_engine_task_make_ready(self, ark_engine_run_task(run, i));
	}
	return g_strdup(run->rec.id);
}

gchar *
ark_engine_submit(ArkEngine *self, ArkWorkflow *workflow, const ArkSubmitOptions *options,
		  GError **error)
{
	g_autofree gchar *id = NULL;
	gboolean existed = FALSE;

	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	g_return_val_if_fail(workflow != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	g_return_val_if_fail(self->started, NULL);
	g_return_val_if_fail(self->store != NULL, NULL);

	id = ark_engine_submit_record(self, workflow, options, &existed, error);
	if (id == NULL || existed)
		return g_steal_pointer(&id);
	if (!ark_engine_flush(self, error))
		return NULL; /* the run was dropped with the failed commit */
	ark_engine_schedule_tick(self);
	return g_steal_pointer(&id);
}

/* more submissions than this waiting for one commit are committed at once: under a steady
 * flood of requests the idle tick might not get to run */
#define ARK_ENGINE_MAX_WAITING_SUBMISSIONS 256

gchar *
ark_engine_submit_async(ArkEngine *self, ArkWorkflow *workflow, const ArkSubmitOptions *options,
			ArkSubmitCallback callback, gpointer user_data, GError **error)
{
	ArkEngineSubmitWaiter waiter = {callback, user_data, NULL, FALSE};

	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	g_return_val_if_fail(workflow != NULL && callback != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	g_return_val_if_fail(self->started && self->store != NULL, NULL);

	if (self->submit_waiters->len >= ARK_ENGINE_MAX_WAITING_SUBMISSIONS &&
	    !ark_engine_flush(self, error))
		return NULL;
	waiter.run_id = ark_engine_submit_record(self, workflow, options, &waiter.existed, error);
	if (waiter.run_id == NULL)
		return NULL;
	g_array_append_val(self->submit_waiters, waiter);
	ark_engine_schedule_tick(self);
	return g_strdup(waiter.run_id);
}

gboolean
ark_engine_get_run_state(ArkEngine *self, const gchar *run_id, ArkRunState *out_state)
{
	ArkEngineRun *run;
	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	run = g_hash_table_lookup(self->runs, run_id);
	if (run == NULL)
		return FALSE;
	if (out_state != NULL)
		*out_state = run->rec.state;
	return TRUE;
}

gboolean
ark_engine_get_task_counts(ArkEngine *self, const gchar *run_id, guint *counts)
{
	ArkEngineRun *run;
	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(counts != NULL, FALSE);
	run = g_hash_table_lookup(self->runs, run_id);
	if (run == NULL)
		return FALSE;
	memcpy(counts, run->counts, sizeof(run->counts));
	return TRUE;
}

static ArkEngineRun *
ark_engine_lookup_open_run(ArkEngine *self, const gchar *run_id, GError **error)
{
	ArkEngineRun *run = run_id != NULL ? g_hash_table_lookup(self->runs, run_id) : NULL;
	if (run == NULL || run->finishing) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "run %s is not running",
			    run_id != NULL ? run_id : "(null)");
		return NULL;
	}
	return run;
}

/* "wrong branch (by alice)" */
static gchar *
ark_engine_reason_by(const gchar *reason, const gchar *by)
{
	return by != NULL ? g_strdup_printf("%s (by %s)", reason, by) : g_strdup(reason);
}

gboolean
ark_engine_cancel_run(ArkEngine *self, const gchar *run_id, const gchar *by, const gchar *reason,
		      GError **error)
{
	ArkEngineRun *run;
	g_autofree gchar *full = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	run = ark_engine_lookup_open_run(self, run_id, error);
	if (run == NULL)
		return FALSE;
	if (run->cancelled) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "run %s is already being cancelled",
			    run_id);
		return FALSE;
	}
	if (reason == NULL)
		reason = "cancelled";
	full = ark_engine_reason_by(reason, by);
	run->cancelled = TRUE;
	g_free(run->rec.cancelled_by);
	run->rec.cancelled_by = g_strdup(by);
	/* a run already stopping (fail-fast, timeout) ends cancelled, with the user's reason */
	if (run->stopping) {
		g_free(run->stop_reason);
		run->stop_reason = g_strdup(full);
		ark_engine_run_check_finished(self, run);
		return TRUE;
	}
	ark_engine_run_stop(self, run, by, full);
	ark_engine_run_check_finished(self, run);
	return TRUE;
}

gboolean
ark_engine_cancel_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
		       const gchar *by, const gchar *reason, GError **error)
{
	ArkEngineRun *run;
	const ArkTaskSpec *spec;
	ArkEngineTask *task;
	g_autofree gchar *full = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(task_id != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	run = ark_engine_lookup_open_run(self, run_id, error);
	if (run == NULL)
		return FALSE;
	spec = ark_workflow_lookup_task(run->workflow, task_id);
	if (spec == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'",
			    run_id, task_id);
		return FALSE;
	}
	task = ark_engine_run_task(run, spec->index);
	if (reason == NULL)
		reason = "cancelled";
	full = ark_engine_reason_by(reason, by);
	switch (task->rec.state) {
	case ARK_TASK_STATE_READY:
		ark_engine_task_unqueue(self, task);
		/* fall through */
	case ARK_TASK_STATE_PENDING:
	case ARK_TASK_STATE_RETRY_WAIT:
		ark_engine_task_clear_timer(self, task);
		ark_engine_task_set_state_full(self, task, ARK_TASK_STATE_CANCELLED, full, by, NULL);
		ark_engine_task_ended(self, task);
		return TRUE;
	case ARK_TASK_STATE_RUNNING:
		if (run->cancel_requests == NULL)
			run->cancel_requests =
			    g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
		if (!g_hash_table_contains(run->cancel_requests, GUINT_TO_POINTER(spec->index)))
			g_hash_table_insert(run->cancel_requests, GUINT_TO_POINTER(spec->index),
					    g_strdup(by != NULL ? by : "unknown"));
		if (task->attempt != NULL)
			ark_executor_cancel(task->exec->executor, task->attempt);
		return TRUE;
	default:
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "task '%s' already finished (%s)",
			    task_id, ark_task_state_to_string(task->rec.state));
		return FALSE;
	}
}

/* recovery ------------------------------------------------------------------------------------ */

/* puts a loaded PENDING task where its needs say it belongs: skipped, ready, or waiting */
static void
ark_engine_task_reevaluate(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	const ArkTaskSpec *spec = task->spec;

	task->unmet = 0;
	for (guint n = 0; spec->needs[n] != NULL; n++) {
		const ArkTaskSpec *ns = ark_workflow_lookup_task(run->workflow, spec->needs[n]);
		ArkEngineTask *need = ark_engine_run_task(run, ns->index);
		if (ark_engine_need_satisfied(need))
			continue;
		if (ark_task_state_is_terminal(need->rec.state)) {
			g_autofree gchar *reason = g_strdup_printf(
			    "upstream task '%s' %s", need->spec->id, ark_engine_why(need->rec.state));
			ark_engine_task_set_state(self, task, ARK_TASK_STATE_SKIPPED, reason);
			return;
		}
		task->unmet++;
	}
	if (task->unmet == 0)
		ark_engine_task_make_ready(self, task);
}

/* every pending task of @run, in topological order so that a task is looked at after all of
 * its needs */
static void
ark_engine_run_reevaluate_pending(ArkEngine *self, ArkEngineRun *run)
{
	const guint *order = ark_workflow_get_topological_order(run->workflow);
	for (guint k = 0; k < run->n_tasks; k++) {
		ArkEngineTask *task = ark_engine_run_task(run, order[k]);
		if (task->rec.state == ARK_TASK_STATE_PENDING)
			ark_engine_task_reevaluate(self, task);
	}
}

/* rebuilds an unfinished (or, for a replay, finished) run from the store; it is not in
 * self->runs yet and nothing is recorded */
static ArkEngineRun *
ark_engine_load_run(ArkEngine *self, const gchar *run_id, gboolean allow_finished,
		    GPtrArray **out_attempts, GError **error)
{
	g_autoptr(ArkRunRecord) rec = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	ArkEngineRun *run;

	rec = ark_store_get_run(self->store, run_id, error);
	if (rec == NULL)
		return NULL;
	if (!allow_finished && ark_run_state_is_terminal(rec->state)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "run %s already %s", run_id,
			    ark_run_state_to_string(rec->state));
		return NULL;
	}
	if (rec->definition == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "run %s has no stored definition", run_id);
		return NULL;
	}
	workflow = ark_workflow_parse(rec->definition, -1, &problems);
	if (workflow == NULL) {
		g_autofree gchar *first = ark_problem_to_string(problems->pdata[0], NULL);
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "the stored definition of run %s is not valid: %s", run_id, first);
		return NULL;
	}
	problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	if (!ark_engine_check_workflow_full(self, workflow, rec->policy, problems)) {
		g_autofree gchar *first = ark_problem_to_string(problems->pdata[0], NULL);
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
			    "run %s can not run here: %s", run_id, first);
		return NULL;
	}
	tasks = ark_store_list_tasks(self->store, run_id, error);
	if (tasks == NULL)
		return NULL;
	attempts = ark_store_list_attempts(self->store, run_id, NULL, error);
	if (attempts == NULL)
		return NULL;
	if (tasks->len != ark_workflow_get_n_tasks(workflow)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "run %s has %u task records for %u tasks", run_id, tasks->len,
			    ark_workflow_get_n_tasks(workflow));
		return NULL;
	}

	run = g_new0(ArkEngineRun, 1);
	run->rec = *rec;
	memset(rec, 0, sizeof(*rec)); /* the run owns the strings now */
	g_clear_pointer(&run->rec.definition, g_free);
	ark_engine_run_build(self, run, workflow);
	run->counts[ARK_TASK_STATE_PENDING] = 0;
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *tr = g_ptr_array_index(tasks, i);
		ArkEngineTask *task;
		if (tr->index >= run->n_tasks ||
		    g_strcmp0(tr->task_id, ark_engine_run_task(run, tr->index)->spec->id) != 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
				    "run %s: task record '%s' does not match its definition",
				    run_id, tr->task_id);
			ark_engine_run_free(run);
			return NULL;
		}
		task = ark_engine_run_task(run, tr->index);
		task->rec.state = tr->state;
		task->rec.attempts = tr->attempts;
		task->rec.exit_code = tr->exit_code;
		task->rec.ready_at = tr->ready_at;
		task->rec.started_at = tr->started_at;
		task->rec.finished_at = tr->finished_at;
		task->rec.next_attempt_at = tr->next_attempt_at;
		task->rec.retry_base = tr->retry_base;
		run->counts[tr->state]++;
		if (ark_task_state_is_terminal(tr->state))
			run->n_terminal++;
	}
	/* the newest attempt of each task (attempts come by task, then number) */
	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *ar = g_ptr_array_index(attempts, i);
		const ArkTaskSpec *spec = ark_workflow_lookup_task(workflow, ar->task_id);
		ArkEngineTask *task;
		if (spec == NULL)
			continue;
		task = ark_engine_run_task(run, spec->index);
		if (task->arec != NULL && ar->number < task->arec->number)
			continue;
		if (task->arec == NULL)
			task->arec = g_new0(ArkAttemptRecord, 1);
		*task->arec = *ar;
		task->arec->run_id = run->rec.id;
		task->arec->task_id = spec->id;
		task->arec->executor = task->exec != NULL ? task->exec->name : NULL;
		task->arec->holder = NULL;
		task->arec->error = NULL;
		task->arec->log_path = NULL;
		task->arec->result = NULL;
	}
	*out_attempts = g_steal_pointer(&attempts);
	return run;
}

/* an agent attempt that was running when the engine stopped runs on: its assignments are
 * recorded, and agents that hold them may still complete them */
static void
ark_engine_task_adopt(ArkEngine *self, ArkEngineTask *task)
{
	ArkEngineRun *run = task->run;
	g_autofree gchar *log_dir = NULL;

	/* a task id is one path component (the workflow allows no '/'): a concatenation is the
	 * same path as g_build_filename() would build, at a fraction of its cost per start */
	if (self->logs_dir != NULL)
		log_dir = g_strconcat(self->logs_dir, G_DIR_SEPARATOR_S, run->rec.id,
				      G_DIR_SEPARATOR_S, task->spec->id, NULL);
	task->arec->holder = self->holder;
	task->attempt = ark_attempt_new(run->rec.id, task->spec, task->arec->number,
					task->arec->token, log_dir, ark_engine_attempt_finished_cb,
					task);
	ark_engine_task_lease(self, task);
	ark_agent_executor_adopt(task->exec->executor, task->attempt);
}

/* puts every unfinished task of a loaded run back to work */
static void
ark_engine_run_recover(ArkEngine *self, ArkEngineRun *run, GPtrArray *attempts)
{
	g_autoptr(GHashTable) holders = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) adopt = g_ptr_array_new();

	for (guint i = 0; i < attempts->len; i++) {
		ArkAttemptRecord *ar = g_ptr_array_index(attempts, i);
		if (ar->status == ARK_ATTEMPT_STATUS_RUNNING && ar->holder != NULL)
			g_hash_table_insert(holders, ar->task_id, ar->holder);
	}
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *task = ark_engine_run_task(run, i);
		switch (task->rec.state) {
		case ARK_TASK_STATE_RUNNING: {
			const gchar *holder = g_hash_table_lookup(holders, task->spec->id);
			g_autofree gchar *why = g_strdup_printf(
			    "lost: %s stopped while the attempt ran",
			    holder != NULL ? holder : "the process that ran it");
			ArkAttemptResult result = {
			    .status = ARK_ATTEMPT_STATUS_LOST,
			    .exit_code = -1,
			    .error = why,
			};
			if (task->arec == NULL) {
				/* no attempt on record: it never really started */
				ark_engine_task_make_ready(self, task);
				break;
			}
			if (task->exec != NULL && task->exec == self->agent_exec &&
			    task->arec->status == ARK_ATTEMPT_STATUS_RUNNING) {
				g_ptr_array_add(adopt, task);
				break;
			}
			ark_engine_task_attempt_ended(self, task, &result, NULL);
			break;
		}
		case ARK_TASK_STATE_READY:
			ark_engine_task_enqueue(self, task);
			break;
		case ARK_TASK_STATE_RETRY_WAIT:
			ark_engine_task_set_timer(self, task, task->rec.next_attempt_at);
			break;
		default:
			break;
		}
	}
	ark_engine_run_reevaluate_pending(self, run);
	ark_engine_run_arm_timeout(run);
	for (guint i = 0; i < adopt->len; i++)
		ark_engine_task_adopt(self, g_ptr_array_index(adopt, i));
	ark_engine_run_check_finished(self, run);
	ark_engine_schedule_tick(self);
}

gboolean
ark_engine_resume_run(ArkEngine *self, const gchar *run_id, GError **error)
{
	ArkEngineRun *run;
	g_autoptr(GPtrArray) attempts = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(run_id != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	g_return_val_if_fail(self->started && self->store != NULL, FALSE);

	if (self->storage_error != NULL) {
		g_propagate_error(error, g_error_copy(self->storage_error));
		return FALSE;
	}
	if (g_hash_table_contains(self->runs, run_id)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS, "run %s is already running here",
			    run_id);
		return FALSE;
	}
	run = ark_engine_load_run(self, run_id, FALSE, &attempts, error);
	if (run == NULL)
		return FALSE;
	g_hash_table_insert(self->runs, run->rec.id, run);
	ark_engine_run_recover(self, run, attempts);
	return ark_engine_flush(self, error);
}

gboolean
ark_engine_replay_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
		       JsonObject *overrides, const gchar *by, GError **error)
{
	ArkEngineRun *run;
	const ArkTaskSpec *spec;
	ArkEngineTask *task;
	g_autoptr(JsonBuilder) data = json_builder_new();
	g_autoptr(JsonNode) data_root = NULL;
	g_autofree gchar *data_json = NULL;
	gboolean loaded = FALSE;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(run_id != NULL && task_id != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	g_return_val_if_fail(self->started && self->store != NULL, FALSE);

	if (!ark_engine_check_accepting(self, error))
		return FALSE;
	/* what is recorded so far is committed first: a replay swaps the definition */
	if (!ark_engine_flush(self, error))
		return FALSE;
	run = g_hash_table_lookup(self->runs, run_id);
	if (run != NULL && run->finishing) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_BUSY, "run %s is finishing; try again",
			    run_id);
		return FALSE;
	}
	if (run == NULL) {
		g_autoptr(GPtrArray) attempts = NULL;
		run = ark_engine_load_run(self, run_id, TRUE, &attempts, error);
		if (run == NULL)
			return FALSE;
		loaded = TRUE;
		if (!ark_run_state_is_terminal(run->rec.state)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_BUSY,
				    "run %s is unfinished and not running here: resume it first",
				    run_id);
			goto fail;
		}
	}
	spec = ark_workflow_lookup_task(run->workflow, task_id);
	if (spec == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'", run_id,
			    task_id);
		goto fail;
	}
	task = ark_engine_run_task(run, spec->index);
	if (task->rec.state != ARK_TASK_STATE_DEAD && task->rec.state != ARK_TASK_STATE_FAILED &&
	    task->rec.state != ARK_TASK_STATE_CANCELLED) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "task '%s' is %s; only dead, failed or cancelled tasks can be replayed",
			    task_id, ark_task_state_to_string(task->rec.state));
		goto fail;
	}
	if (run->cancelled || (loaded && run->rec.state == ARK_RUN_STATE_CANCELLED)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "run %s was cancelled; submit it again instead", run_id);
		goto fail;
	}

	if (overrides != NULL && json_object_get_size(overrides) > 0) {
		g_autoptr(GPtrArray) problems = NULL;
		g_autoptr(ArkWorkflow) updated =
		    ark_workflow_override_task(run->workflow, task_id, overrides, &problems);
		if (updated == NULL || !ark_engine_check_workflow_full(self, updated, run->rec.policy,
								  problems)) {
			g_autoptr(GString) msg = g_string_new("invalid overrides:");
			for (guint i = 0; problems != NULL && i < problems->len; i++) {
				g_autofree gchar *line =
				    ark_problem_to_string(problems->pdata[i], NULL);
				g_string_append_printf(msg, "\n  %s", line);
			}
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, msg->str);
			goto fail;
		}
		/* running attempts keep their specs: the old workflow lives as long as the run */
		if (run->old_workflows == NULL)
			run->old_workflows =
			    g_ptr_array_new_with_free_func((GDestroyNotify)ark_workflow_unref);
		g_ptr_array_add(run->old_workflows, run->workflow);
		run->workflow = ark_workflow_ref(updated);
		for (guint i = 0; i < run->n_tasks; i++) {
			ArkEngineTask *t = ark_engine_run_task(run, i);
			t->spec = ark_workflow_get_task(updated, i);
			t->entry.spec = t->spec;
			t->rec.task_id = t->spec->id;
			t->exec = g_hash_table_lookup(self->execs, t->spec->executor);
		}
		task->entry.priority = task->spec->priority;
		task->entry.estimate = ark_engine_task_estimate(task);
		/* the batch borrows it until the commit */
		run->rec.definition = (gchar *)ark_store_batch_intern(
		    self->batch, ark_workflow_get_definition(updated));
	}

	if (loaded)
		g_hash_table_insert(self->runs, run->rec.id, run);
	/* the run is open again */
	run->stopping = run->timed_out = FALSE;
	g_clear_pointer(&run->stop_by, g_free);
	g_clear_pointer(&run->stop_reason, g_free);
	if (ark_run_state_is_terminal(run->rec.state) || run->rec.definition != NULL) {
		if (ark_run_state_is_terminal(run->rec.state)) {
			run->rec.state = ARK_RUN_STATE_RUNNING;
			run->rec.finished_at = 0;
			g_clear_pointer(&run->rec.reason, g_free);
			ark_engine_add_event(self, ARK_EVENT_RUN_STARTED, run, NULL, 0,
					     ARK_RUN_STATE_RUNNING, "{\"reopened\":true}");
		}
		ark_engine_run_update(self, run);
		run->rec.definition = NULL;
	}

	/* what was skipped because of it waits again */
	ark_engine_walk_dependents(self, task, ARK_TASK_STATE_SKIPPED, ARK_TASK_STATE_PENDING,
				   NULL);

	/* the event says who replayed it and with what */
	json_builder_begin_object(data);
	json_builder_set_member_name(data, "replayed_by");
	if (by != NULL)
		json_builder_add_string_value(data, by);
	else
		json_builder_add_null_value(data);
	if (overrides != NULL) {
		json_builder_set_member_name(data, "overrides");
		json_builder_add_value(data, json_node_init_object(json_node_alloc(), overrides));
	}
	json_builder_end_object(data);
	data_root = json_builder_get_root(data);
	data_json = json_to_string(data_root, FALSE);
	task->rec.retry_base = task->rec.attempts;
	{
		g_autofree gchar *reason =
		    g_strdup_printf("replayed by %s", by != NULL ? by : "unknown");
		ark_engine_task_make_ready_full(self, task, reason, data_json);
	}
	ark_engine_run_reevaluate_pending(self, run);
	/* a reopened run has no run-level timeout: it was counted from submission and has
	 * usually passed by the time someone replays a task */
	if (loaded)
		ark_engine_run_clear_timeout(run);
	return ark_engine_flush(self, error);

fail:
	if (loaded)
		ark_engine_run_free(run);
	return FALSE;
}

const GError *
ark_engine_get_storage_error(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->storage_error;
}

guint
ark_engine_get_n_open_runs(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), 0);
	return g_hash_table_size(self->runs);
}

void
ark_engine_set_plugin_loader(ArkEngine *self, ArkPluginLoader *loader)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	g_return_if_fail(loader == NULL || ARK_IS_PLUGIN_LOADER(loader));
	g_set_object(&self->plugin_loader, loader);
}

ArkPluginLoader *
ark_engine_get_plugin_loader(ArkEngine *self)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	return self->plugin_loader;
}

void
ark_engine_set_accepting(ArkEngine *self, gboolean accepting, const gchar *reason)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	self->refusing = !accepting;
	g_free(self->refusing_reason);
	self->refusing_reason = accepting ? NULL : g_strdup(reason != NULL ? reason : "not accepting work");
}

gboolean
ark_engine_is_accepting(ArkEngine *self, const gchar **out_reason)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	if (out_reason != NULL)
		*out_reason = self->refusing_reason;
	return !self->refusing;
}

/* ARK_ERROR_BUSY while draining, the storage error once a commit failed */
static gboolean
ark_engine_check_accepting(ArkEngine *self, GError **error)
{
	if (self->storage_error != NULL) {
		g_propagate_error(error, g_error_copy(self->storage_error));
		return FALSE;
	}
	if (self->refusing) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_BUSY, self->refusing_reason);
		return FALSE;
	}
	return TRUE;
}

static int
ark_engine_strv_compare(const void *a, const void *b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

void
ark_engine_drain(ArkEngine *self, const gchar *reason)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	ark_engine_set_accepting(self, FALSE, reason);
	self->draining = TRUE;
}

guint
ark_engine_get_n_running(ArkEngine *self)
{
	GHashTableIter iter;
	gpointer value;
	guint running = 0;

	g_return_val_if_fail(ARK_IS_ENGINE(self), 0);
	g_hash_table_iter_init(&iter, self->execs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		/* agent attempts are not processes: they survive a restart, nothing waits for
		 * them */
		if (value != self->agent_exec)
			running += ((ArkEngineExec *)value)->running;
	}
	return running;
}

gboolean
ark_engine_interrupt(ArkEngine *self, const gchar *reason, GError **error)
{
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(reason != NULL, FALSE);
	self->draining = TRUE;
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		for (guint i = 0; i < run->n_tasks; i++) {
			ArkEngineTask *task = ark_engine_run_task(run, i);
			ArkAttemptResult result = {
			    .status = ARK_ATTEMPT_STATUS_CANCELLED,
			    .exit_code = -1,
			    .error = reason,
			};
			g_autoptr(ArkAttempt) attempt = NULL;

			/* an agent attempt is not a process: it stays running, its assignments
			 * recorded, and the next start adopts it */
			if (task->attempt == NULL || task->exec == self->agent_exec)
				continue;
			attempt = g_steal_pointer(&task->attempt);
			ark_attempt_abandon(attempt);
			ark_engine_task_release(self, task);
			task->arec->status = result.status;
			task->arec->finished_at = ark_engine_now(self);
			task->arec->error = (gchar *)ark_store_batch_intern(self->batch, reason);
			task->arec->log_path = (gchar *)ark_store_batch_intern(
			    self->batch, ark_attempt_get_log_path(attempt));
			ark_store_batch_add_attempt(self->batch, ARK_STORE_OP_ATTEMPT_UPDATE,
						    task->arec);
			ark_engine_add_event(self, ARK_EVENT_ATTEMPT_FINISHED, run, task,
					     task->arec->number, result.status, NULL);
			task->arec->error = NULL;
			task->arec->log_path = NULL;
			task->arec->holder = NULL;
			/* an interrupted attempt does not count against the retry budget */
			task->rec.retry_base++;
			ark_engine_task_set_state(self, task, ARK_TASK_STATE_READY, reason);
		}
	}
	/* the executors end what they still run; their reports are no longer listened to */
	g_hash_table_iter_init(&iter, self->execs);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		ark_executor_shutdown(((ArkEngineExec *)value)->executor);
	return ark_engine_flush(self, error);
}

GStrv
ark_engine_list_executors(ArkEngine *self)
{
	GStrv names;

	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	names = (GStrv)g_hash_table_get_keys_as_array(self->execs, NULL);
	for (guint i = 0; names[i] != NULL; i++)
		names[i] = g_strdup(names[i]);
	qsort(names, g_strv_length(names), sizeof(gchar *), ark_engine_strv_compare);
	return names;
}

gboolean
ark_engine_get_executor_slots(ArkEngine *self, const gchar *executor, guint *out_slots,
			      guint *out_in_use)
{
	ArkEngineExec *exec;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	exec = g_hash_table_lookup(self->execs, executor);
	if (exec == NULL)
		return FALSE;
	if (out_slots != NULL)
		*out_slots = exec->slots;
	if (out_in_use != NULL)
		*out_in_use = exec->running;
	return TRUE;
}

gboolean
ark_engine_get_executor_resources(ArkEngine *self, const gchar *executor,
				  ArkResources *out_capacity, ArkResources *out_in_use)
{
	ArkEngineExec *exec;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(executor != NULL, FALSE);
	exec = g_hash_table_lookup(self->execs, executor);
	if (exec == NULL || !exec->has_capacity)
		return FALSE;
	if (out_capacity != NULL)
		*out_capacity = exec->capacity;
	if (out_in_use != NULL)
		*out_in_use = exec->in_use;
	return TRUE;
}

guint
ark_engine_get_concurrency_holders(ArkEngine *self, const gchar *key, guint *out_waiting)
{
	ArkEngineKey *k;

	g_return_val_if_fail(ARK_IS_ENGINE(self), 0);
	g_return_val_if_fail(key != NULL, 0);
	k = g_hash_table_lookup(self->keys, key);
	if (out_waiting != NULL)
		*out_waiting = k != NULL ? k->waiters->len : 0;
	return k != NULL ? k->holders->len : 0;
}

guint
ark_engine_get_queue_depth(ArkEngine *self, const gchar *policy)
{
	GHashTableIter iter;
	gpointer value;
	guint depth = 0;

	g_return_val_if_fail(ARK_IS_ENGINE(self), 0);
	g_hash_table_iter_init(&iter, self->execs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineExec *exec = value;
		for (guint i = 0; i < exec->queues->len; i++) {
			ArkEngineQueue *queue = g_ptr_array_index(exec->queues, i);
			if (policy == NULL || g_strcmp0(policy, queue->name) == 0)
				depth += ark_policy_get_length(queue->policy);
		}
	}
	return depth;
}

/* the health model's restart of an executor whose own check failed: what it holds ends LOST
 * (and follows its retry policy) and a fresh instance takes its place */
static void
ark_engine_exec_restart(ArkEngine *self, ArkEngineExec *exec, const gchar *why)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkExecutor) fresh = NULL;
	g_autofree gchar *lost_reason =
	    g_strdup_printf("executor %s was restarted: %s", exec->name, why);
	GHashTableIter iter;
	gpointer value;

	g_warning("%s", lost_reason);
	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		for (guint i = 0; i < run->n_tasks; i++) {
			ArkEngineTask *task = ark_engine_run_task(run, i);
			ArkAttemptResult result = {
			    .status = ARK_ATTEMPT_STATUS_LOST,
			    .exit_code = -1,
			    .error = lost_reason,
			};
			g_autoptr(ArkAttempt) attempt = NULL;
			if (task->exec != exec || task->attempt == NULL)
				continue;
			attempt = ark_attempt_ref(task->attempt);
			ark_engine_attempt_finished_cb(attempt, &result, task);
			ark_attempt_abandon(attempt);
		}
	}
	ark_executor_shutdown(exec->executor);
	exec->restarts++;
	exec->restarted_at = ark_engine_now(self);
	g_free(exec->restart_reason);
	exec->restart_reason = g_strdup(why);
	fresh = ark_engine_executor_new(self, exec->name, &error);
	if (fresh == NULL) {
		/* keep the old instance: the next check tries again */
		g_warning("executor %s could not be set up again: %s", exec->name, error->message);
		return;
	}
	g_set_object(&exec->executor, fresh);
	exec->slots = MAX(ark_executor_get_slots(exec->executor), 1);
	ark_engine_exec_set_capacity(self, exec);
	ark_engine_exec_update_gauges(exec);
	ark_engine_schedule_tick(self);
}

static ArkHealthCheck *
ark_health_check_new(const gchar *name, ArkHealthStatus status, gboolean blocks_ready,
		     gchar *message)
{
	ArkHealthCheck *check = g_new0(ArkHealthCheck, 1);
	check->name = g_strdup(name);
	check->status = status;
	check->blocks_ready = blocks_ready;
	check->message = message;
	return check;
}

GPtrArray *
ark_engine_check_health(ArkEngine *self)
{
	GPtrArray *checks = g_ptr_array_new_with_free_func((GDestroyNotify)ark_health_check_free);
	g_auto(GStrv) names = NULL;
	gint64 lag;

	g_return_val_if_fail(ARK_IS_ENGINE(self), checks);

	/* the store: a failed commit stops the engine; otherwise it must answer a query */
	if (self->store == NULL) {
		g_ptr_array_add(checks, ark_health_check_new("store", ARK_HEALTH_FAILING, TRUE,
							     g_strdup("no store is open")));
	} else if (self->storage_error != NULL) {
		g_ptr_array_add(checks,
				ark_health_check_new("store", ARK_HEALTH_FAILING, TRUE,
						     g_strdup(self->storage_error->message)));
	} else {
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkRunRecord) probe =
		    ark_store_get_run(self->store, "00000000000000000000000000", &error);
		if (probe != NULL || g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
			g_ptr_array_add(checks,
					ark_health_check_new("store", ARK_HEALTH_OK, TRUE,
							     g_strdup("answers queries")));
		else
			g_ptr_array_add(checks, ark_health_check_new(
						    "store", ARK_HEALTH_FAILING, TRUE,
						    g_strdup(error->message)));
	}

	/* every executor: its own check; one that fails is restarted */
	names = ark_engine_list_executors(self);
	for (guint i = 0; names[i] != NULL; i++) {
		ArkEngineExec *exec = g_hash_table_lookup(self->execs, names[i]);
		g_autoptr(GError) error = NULL;
		g_autofree gchar *name = g_strdup_printf("executor:%s", exec->name);

		if (!ark_executor_check_health(exec->executor, &error)) {
			ark_engine_exec_restart(self, exec, error->message);
			g_clear_error(&error);
			if (!ark_executor_check_health(exec->executor, &error)) {
				g_ptr_array_add(checks, ark_health_check_new(
							    name, ARK_HEALTH_FAILING, FALSE,
							    g_strdup(error->message)));
				continue;
			}
		}
		if (exec->restarts > 0) {
			g_autofree gchar *when = ark_timestamp_format(exec->restarted_at);
			g_ptr_array_add(
			    checks, ark_health_check_new(
					name, ARK_HEALTH_DEGRADED, FALSE,
					g_strdup_printf("restarted %u time(s), last at %s: %s",
							exec->restarts, when, exec->restart_reason)));
		} else {
			g_ptr_array_add(checks,
					ark_health_check_new(name, ARK_HEALTH_OK, FALSE,
							     g_strdup_printf("%u of %u slots in use",
									     exec->running,
									     exec->slots)));
		}
	}

	/* the main loop: how late a 250 ms timer fired lately */
	lag = MAX(self->lag_max_cur, self->lag_max_prev);
	lag = MAX(lag, g_get_monotonic_time() - self->lag_expected);
	g_ptr_array_add(checks,
			ark_health_check_new("main-loop",
					     lag > self->lag_limit	   ? ARK_HEALTH_FAILING
					     : lag > self->lag_limit / 5 ? ARK_HEALTH_DEGRADED
									 : ARK_HEALTH_OK,
					     TRUE,
					     g_strdup_printf("worst lag in the last 10 s: %.1f ms "
							     "(limit %.0f ms)",
							     (gdouble)MAX(lag, 0) / 1000.0,
							     (gdouble)self->lag_limit / 1000.0)));

	g_ptr_array_add(checks, ark_health_check_new(
				    "accepting", self->refusing ? ARK_HEALTH_FAILING : ARK_HEALTH_OK,
				    TRUE,
				    g_strdup(self->refusing ? self->refusing_reason
							    : "accepts new runs")));
	return checks;
}

gboolean
ark_engine_is_ready(ArkEngine *self, gchar **out_failing)
{
	g_autoptr(GPtrArray) checks = NULL;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	checks = ark_engine_check_health(self);
	for (guint i = 0; i < checks->len; i++) {
		ArkHealthCheck *check = g_ptr_array_index(checks, i);
		if (check->blocks_ready && check->status == ARK_HEALTH_FAILING) {
			if (out_failing != NULL)
				*out_failing = g_strdup_printf("%s: %s", check->name,
							       check->message);
			return FALSE;
		}
	}
	return TRUE;
}

/* gauges computed when /metrics is rendered: cheaper than keeping them current per transition */
static void
ark_engine_collect_metrics(ArkMetrics *metrics, gpointer user_data)
{
	ArkEngine *self = user_data;
	guint runs[ARK_RUN_STATE_LAST] = {0};
	guint64 tasks[ARK_TASK_STATE_LAST] = {0};
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->runs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkEngineRun *run = value;
		runs[run->rec.state]++;
		for (guint i = 0; i < ARK_TASK_STATE_LAST; i++)
			tasks[i] += run->counts[i];
	}
	for (guint i = 0; i < ARK_RUN_STATE_LAST; i++) {
		if (ark_run_state_is_terminal(i))
			continue;
		ark_metric_series_set(
		    ark_metric_series(self->m_open_runs,
				      (const gchar *[]){ark_run_state_to_string(i), NULL}),
		    runs[i]);
	}
	for (guint i = 0; i < ARK_TASK_STATE_LAST; i++)
		ark_metric_series_set(
		    ark_metric_series(self->m_open_tasks,
				      (const gchar *[]){ark_task_state_to_string(i), NULL}),
		    (gdouble)tasks[i]);
	ark_metric_series_set(self->m_dlq, (gdouble)self->n_dead);
}

static void
ark_engine_dispose(GObject *object)
{
	ArkEngine *self = ARK_ENGINE(object);
	g_clear_handle_id(&self->tick_id, g_source_remove);
	g_clear_handle_id(&self->lag_probe_id, g_source_remove);
	if (self->timer_source != NULL) {
		g_source_destroy(self->timer_source);
		g_clear_pointer(&self->timer_source, g_source_unref);
	}
	G_OBJECT_CLASS(ark_engine_parent_class)->dispose(object);
}

static void
ark_engine_finalize(GObject *object)
{
	ArkEngine *self = ARK_ENGINE(object);

	/* before the runs: its works hold attempts of theirs */
	g_clear_pointer(&self->agents, ark_agents_free);
	g_rand_free(self->rand);
	g_hash_table_unref(self->runs); /* before the timer heap: runs leave it when freed */
	ark_heap_free(self->timers);
	/* after the runs, which give back their leases */
	g_hash_table_unref(self->keys);
	g_hash_table_unref(self->key_caps);
	g_hash_table_unref(self->estimates);
	g_free(self->holder);
	g_hash_table_unref(self->execs);
	g_hash_table_unref(self->slot_overrides);
	g_ptr_array_unref(self->to_start);
	g_ptr_array_unref(self->finished_runs);
	ark_store_batch_free(self->batch);
	ark_store_batch_free(self->spare_batch);
	g_array_unref(self->submit_waiters);
	g_hash_table_unref(self->inflight_keys);
	g_clear_error(&self->storage_error);
	ark_audit_free(self->audit);
	g_clear_object(&self->store);
	g_clear_object(&self->registry);
	g_clear_object(&self->clock);
	g_clear_object(&self->plugin_loader);
	g_free(self->refusing_reason);
	g_clear_pointer(&self->config, g_key_file_unref);
	ark_metrics_free(self->metrics);
	g_free(self->state_dir);
	g_free(self->logs_dir);
	g_clear_pointer(&self->checked_workflow, ark_workflow_unref);
	g_free(self->checked_policy);
	g_free(self->default_policy);
	G_OBJECT_CLASS(ark_engine_parent_class)->finalize(object);
}

static void
ark_engine_class_init(ArkEngineClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = ark_engine_dispose;
	object_class->finalize = ark_engine_finalize;

	ark_engine_signals[SIGNAL_EVENT] =
	    g_signal_new("event", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			 NULL, G_TYPE_NONE, 1, ARK_TYPE_EVENT | G_SIGNAL_TYPE_STATIC_SCOPE);
	ark_engine_signals[SIGNAL_RUN_FINISHED] =
	    g_signal_new("run-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			 NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
}

static void
ark_engine_init(ArkEngine *self)
{
	static const gdouble duration_buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
						   1,     5,     10,   60,   300,  3600};
	static const gdouble latency_buckets[] = {0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10, 60};

	self->default_policy = g_strdup("fifo");
	self->lag_limit = 5 * G_USEC_PER_SEC;
	self->estimate_weight = 0.3;
	self->backfill_depth = 64;
	self->keys = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)ark_engine_key_free);
	self->key_caps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->estimates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)g_hash_table_unref);
	self->slot_overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->execs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    (GDestroyNotify)ark_engine_exec_free);
	self->runs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)ark_engine_run_free);
	self->holder = g_strdup_printf("%s[%d]@%s", g_get_prgname() != NULL ? g_get_prgname() : "arkitect",
					(gint)getpid(), g_get_host_name());
	self->timers = ark_heap_new(ark_engine_timer_compare, NULL,
				    G_STRUCT_OFFSET(ArkEngineTask, timer_index));
	self->timer_source = g_source_new(&ark_engine_timer_funcs, sizeof(GSource));
	g_source_set_callback(self->timer_source, NULL, self, NULL);
	g_source_set_name(self->timer_source, "ArkEngine timers");
	g_source_attach(self->timer_source, NULL);
	self->batch = ark_store_batch_new();
	self->spare_batch = ark_store_batch_new();
	self->audit = ark_audit_new();
	self->submit_waiters = g_array_new(FALSE, FALSE, sizeof(ArkEngineSubmitWaiter));
	g_array_set_clear_func(self->submit_waiters,
			       (GDestroyNotify)ark_engine_submit_waiter_clear);
	self->inflight_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->to_start = g_ptr_array_new();
	self->finished_runs = g_ptr_array_new();
	self->metrics = ark_metrics_new();
	self->m_tasks = ark_metrics_counter(self->metrics, "ark_tasks_finished_total",
					    "tasks that reached a terminal state",
					    (const gchar *[]){"state", NULL});
	self->m_runs = ark_metrics_counter(self->metrics, "ark_runs_finished_total",
					   "runs that reached a terminal state",
					   (const gchar *[]){"state", NULL});
	self->m_task_duration = ark_metric_default(ark_metrics_histogram(
	    self->metrics, "ark_attempt_duration_seconds", "how long attempts ran", NULL,
	    duration_buckets, G_N_ELEMENTS(duration_buckets)));
	self->m_ready_latency = ark_metric_default(ark_metrics_histogram(
	    self->metrics, "ark_ready_to_start_seconds",
	    "time from a task becoming ready to its attempt starting", NULL, latency_buckets,
	    G_N_ELEMENTS(latency_buckets)));
	self->m_commit = ark_metric_default(ark_metrics_histogram(
	    self->metrics, "ark_store_commit_seconds", "store batch commit latency", NULL,
	    latency_buckets, G_N_ELEMENTS(latency_buckets)));
	self->m_queue_depth = ark_metrics_gauge(self->metrics, "ark_queue_depth",
						"ready tasks waiting per executor and policy",
						(const gchar *[]){"executor", "policy", NULL});
	self->m_open_runs = ark_metrics_gauge(self->metrics, "ark_runs",
					      "open runs (not yet finished) by state",
					      (const gchar *[]){"state", NULL});
	self->m_open_tasks = ark_metrics_gauge(self->metrics, "ark_tasks",
					       "tasks of open runs by state",
					       (const gchar *[]){"state", NULL});
	self->m_dlq = ark_metric_default(ark_metrics_gauge(
	    self->metrics, "ark_dlq_tasks", "tasks in the dead-letter queue (state dead), every run",
	    NULL));
	self->m_deadline_misses = ark_metrics_counter(
	    self->metrics, "ark_deadline_misses_total",
	    "tasks that finished after their deadline, by the policy of their run",
	    (const gchar *[]){"policy", NULL});
	self->m_keys_held = ark_metrics_gauge(self->metrics, "ark_concurrency_key_held",
					      "tasks holding a named concurrency key",
					      (const gchar *[]){"key", NULL});
	self->m_resources_in_use = ark_metrics_gauge(
	    self->metrics, "ark_executor_resource_in_use",
	    "resources held by the tasks running on an executor (memory in bytes)",
	    (const gchar *[]){"executor", "resource", NULL});
	self->m_resources_capacity = ark_metrics_gauge(
	    self->metrics, "ark_executor_resource_capacity",
	    "resources an executor has for its tasks (memory in bytes)",
	    (const gchar *[]){"executor", "resource", NULL});
	ark_metrics_add_collector(self->metrics, ark_engine_collect_metrics, self);
	/* seeded from the global generator, so that a program that seeds that one before it
	 * creates the engine (the simulator, the agents bench) fixes the coordinators' draws */
	self->rand = g_rand_new_with_seed(g_random_int());
	self->agents = ark_agents_new(self);
}

gboolean
ark_engine_audit(ArkEngine *self, const ArkAuditEntry *entry, gboolean flush, GError **error)
{
	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(self->started, FALSE);
	g_return_val_if_fail(entry != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (self->store == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
				    "the engine has no store to keep an audit log in");
		return FALSE;
	}
	/* the batch it would go into is never committed */
	if (self->storage_error != NULL) {
		g_propagate_error(error, g_error_copy(self->storage_error));
		return FALSE;
	}
	if (!ark_audit_append(self->audit, self->batch, entry, error))
		return FALSE;
	if (flush)
		return ark_engine_flush(self, error);
	/* the next commit takes it, and there is one at the end of this iteration at the latest */
	ark_engine_schedule_tick(self);
	return TRUE;
}

void
ark_engine_set_audit_file(ArkEngine *self, const gchar *path)
{
	g_return_if_fail(ARK_IS_ENGINE(self));
	/* also on a started engine: the daemon's configuration reload moves the file */
	ark_audit_set_file(self->audit, path);
}

/* explain ------------------------------------------------------------------------------------- */

static void
ark_engine_explain_add_time(JsonBuilder *b, const gchar *name, ArkTimestamp ts)
{
	g_autofree gchar *text = ark_timestamp_format(ts);
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, text);
}

/* the live part of an explanation: what the engine knows of a task of an open run */

/* "blocked_by" of a ready task: its concurrency key when it is taken (with the holders) and the
 * resources it needs that its executor does not have free; returns the first reason for the
 * summary, or NULL when nothing but its place in the queue keeps it */
static gchar *
ark_engine_explain_blocked_by(ArkEngine *self, ArkEngineTask *task, JsonBuilder *b)
{
	const ArkTaskSpec *spec = task->spec;
	ArkEngineExec *exec = task->exec;
	gchar *first = NULL;
	gboolean open = FALSE;

	if (spec->concurrency_key != NULL && (task->parked || ark_engine_task_key_blocked(self, task))) {
		ArkEngineKey *key = ark_engine_key_lookup(self, spec->concurrency_key, FALSE);
		guint limit = ark_engine_key_limit(self, spec);
		json_builder_set_member_name(b, "blocked_by");
		json_builder_begin_array(b);
		open = TRUE;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, "concurrency");
		json_builder_set_member_name(b, "key");
		json_builder_add_string_value(b, spec->concurrency_key);
		json_builder_set_member_name(b, "limit");
		json_builder_add_int_value(b, limit);
		json_builder_set_member_name(b, "holders");
		json_builder_begin_array(b);
		for (guint i = 0; key != NULL && i < key->holders->len; i++) {
			ArkEngineTask *h = g_ptr_array_index(key->holders, i);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "run_id");
			json_builder_add_string_value(b, h->run->rec.id);
			json_builder_set_member_name(b, "task_id");
			json_builder_add_string_value(b, h->spec->id);
			if (h->arec != NULL) {
				json_builder_set_member_name(b, "attempt");
				json_builder_add_int_value(b, h->arec->number);
			}
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
		if (key != NULL && key->holders->len > 0) {
			ArkEngineTask *h = g_ptr_array_index(key->holders, 0);
			first = g_strdup_printf("waits for concurrency key %s (limit %u), held by task "
						"%s of run %s%s",
						spec->concurrency_key, limit, h->spec->id,
						h->run->rec.id,
						key->holders->len > 1 ? " and others" : "");
		} else {
			first = g_strdup_printf("waits for concurrency key %s (limit %u)",
						spec->concurrency_key, limit);
		}
	}
	if (exec != NULL && exec->has_capacity) {
		ArkEngineAmount need, avail;
		ark_engine_task_amount(spec, &need);
		ark_engine_exec_available(exec, &avail);
		for (guint r = 0; r < G_N_ELEMENTS(ark_engine_resource_names); r++) {
			if (need.v[r + 1] <= avail.v[r + 1] + 1e-6)
				continue;
			if (!open) {
				json_builder_set_member_name(b, "blocked_by");
				json_builder_begin_array(b);
				open = TRUE;
			}
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "kind");
			json_builder_add_string_value(b, "resource");
			json_builder_set_member_name(b, "resource");
			json_builder_add_string_value(b, ark_engine_resource_names[r]);
			json_builder_set_member_name(b, "requested");
			json_builder_add_double_value(b, need.v[r + 1]);
			json_builder_set_member_name(b, "available");
			json_builder_add_double_value(b, MAX(avail.v[r + 1], 0));
			json_builder_end_object(b);
			if (first == NULL)
				first = g_strdup_printf("needs %g %s, %g free on executor %s",
							need.v[r + 1], ark_engine_resource_names[r],
							MAX(avail.v[r + 1], 0), exec->name);
		}
	}
	if (open)
		json_builder_end_array(b);
	return first;
}

static gchar *
ark_engine_explain_open(ArkEngine *self, ArkEngineTask *task, JsonBuilder *b)
{
	ArkEngineRun *run = task->run;
	const ArkTaskSpec *spec = task->spec;

	switch (task->rec.state) {
	case ARK_TASK_STATE_PENDING: {
		g_autoptr(GString) names = g_string_new(NULL);
		guint n_needs = g_strv_length(spec->needs);
		guint n_waiting = 0;

		json_builder_set_member_name(b, "waiting_for");
		json_builder_begin_array(b);
		for (guint n = 0; spec->needs[n] != NULL; n++) {
			const ArkTaskSpec *ns = ark_workflow_lookup_task(run->workflow, spec->needs[n]);
			ArkEngineTask *need = ark_engine_run_task(run, ns->index);
			const gchar *state = ark_task_state_to_string(need->rec.state);
			if (ark_engine_need_satisfied(need))
				continue;
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "task_id");
			json_builder_add_string_value(b, ns->id);
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, state);
			json_builder_end_object(b);
			g_string_append_printf(names, "%s%s (%s)", n_waiting > 0 ? ", " : "", ns->id,
					       state);
			n_waiting++;
		}
		json_builder_end_array(b);
		if (run->stopping)
			return g_strdup("pending, but the run is stopping: it will not start");
		return g_strdup_printf("waiting for %u of %u needs: %s", n_waiting, n_needs,
				       names->str);
	}
	case ARK_TASK_STATE_READY: {
		ArkEngineExec *exec = task->exec;
		guint position =
		    task->queue != NULL ? ark_policy_get_position(task->queue, &task->entry) : 0;
		guint length = task->queue != NULL ? ark_policy_get_length(task->queue) : 0;
		g_autoptr(GString) summary = g_string_new(NULL);
		g_autofree gchar *blocked = NULL;

		json_builder_set_member_name(b, "queue");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "executor");
		json_builder_add_string_value(b, spec->executor);
		json_builder_set_member_name(b, "policy");
		json_builder_add_string_value(b, run->rec.policy);
		if (position > 0) {
			json_builder_set_member_name(b, "position");
			json_builder_add_int_value(b, position);
		}
		json_builder_set_member_name(b, "length");
		json_builder_add_int_value(b, length);
		if (exec != NULL) {
			json_builder_set_member_name(b, "slots_used");
			json_builder_add_int_value(b, exec->running);
			json_builder_set_member_name(b, "slots_total");
			json_builder_add_int_value(b, exec->slots);
		}
		json_builder_end_object(b);
		if (task->timer_at > 0)
			ark_engine_explain_add_time(b, "queue_timeout_at", task->timer_at);
		blocked = ark_engine_explain_blocked_by(self, task, b);

		g_string_append_printf(summary, "ready, queued for executor %s under policy %s",
				       spec->executor, run->rec.policy);
		if (position > 0)
			g_string_append_printf(summary, " at position %u of %u", position, length);
		if (blocked != NULL)
			g_string_append_printf(summary, "; %s", blocked);
		else if (self->draining)
			g_string_append(summary, "; the engine is draining and starts nothing");
		else if (exec != NULL && exec->running >= exec->slots)
			g_string_append_printf(summary, "; all %u slots are in use", exec->slots);
		else if (position > 1)
			g_string_append(summary, "; the tasks ahead of it start first");
		return g_string_free(g_steal_pointer(&summary), FALSE);
	}
	case ARK_TASK_STATE_RETRY_WAIT: {
		ArkTimestamp at = task->timer_at > 0 ? task->timer_at : task->rec.next_attempt_at;
		g_autofree gchar *when = ark_timestamp_format(at);

		json_builder_set_member_name(b, "retry");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "attempts");
		json_builder_add_int_value(b, task->rec.attempts);
		json_builder_set_member_name(b, "max_attempts");
		json_builder_add_int_value(b, task->rec.retry_base + spec->retry.max_attempts);
		ark_engine_explain_add_time(b, "next_attempt_at", at);
		json_builder_end_object(b);
		return g_strdup_printf("attempt %u failed; the next one becomes ready at %s",
				       task->rec.attempts, when);
	}
	case ARK_TASK_STATE_RUNNING: {
		g_autofree gchar *since = NULL;

		if (task->arec == NULL)
			return g_strdup("running");
		since = ark_timestamp_format(task->arec->started_at);
		json_builder_set_member_name(b, "attempt");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "number");
		json_builder_add_int_value(b, task->arec->number);
		json_builder_set_member_name(b, "executor");
		json_builder_add_string_value(b, spec->executor);
		ark_engine_explain_add_time(b, "started_at", task->arec->started_at);
		json_builder_set_member_name(b, "holder");
		json_builder_add_string_value(b, self->holder);
		json_builder_end_object(b);
		if (task->exec != NULL && task->exec == self->agent_exec) {
			gchar *agents = ark_agents_explain_task(self->agents, run->rec.id,
								spec->id, b);
			if (agents != NULL)
				return agents;
		}
		return g_strdup_printf("running attempt %u on executor %s since %s",
				       task->arec->number, spec->executor, since);
	}
	default:
		return NULL;
	}
}

static const gchar *
ark_engine_explain_terminal(ArkTaskState state)
{
	switch (state) {
	case ARK_TASK_STATE_SUCCEEDED:
		return "succeeded";
	case ARK_TASK_STATE_FAILED:
		return "failed";
	case ARK_TASK_STATE_CANCELLED:
		return "was cancelled";
	case ARK_TASK_STATE_SKIPPED:
		return "was skipped";
	case ARK_TASK_STATE_DEAD:
		return "is dead (in the dead-letter queue)";
	default:
		return NULL;
	}
}

/* the stored record of task @task_id of run @run_id: reasons are not kept in memory */
static ArkTaskRecord *
ark_engine_get_stored_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
			   GError **error)
{
	g_autoptr(GPtrArray) tasks = ark_store_list_tasks(self->store, run_id, error);

	if (tasks == NULL)
		return NULL;
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *tr = g_ptr_array_index(tasks, i);
		if (g_strcmp0(tr->task_id, task_id) == 0)
			return ark_task_record_copy(tr);
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'", run_id,
		    task_id);
	return NULL;
}

JsonObject *
ark_engine_explain_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
			GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(ArkTaskRecord) stored = NULL;
	g_autofree gchar *summary = NULL;
	ArkTaskState state;
	ArkEngineRun *run;
	const gchar *ended;

	g_return_val_if_fail(ARK_IS_ENGINE(self), NULL);
	g_return_val_if_fail(run_id != NULL && task_id != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	g_return_val_if_fail(self->store != NULL, NULL);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "run_id");
	json_builder_add_string_value(b, run_id);
	json_builder_set_member_name(b, "task_id");
	json_builder_add_string_value(b, task_id);

	run = g_hash_table_lookup(self->runs, run_id);
	if (run != NULL) {
		const ArkTaskSpec *spec = ark_workflow_lookup_task(run->workflow, task_id);
		ArkEngineTask *task;
		if (spec == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'",
				    run_id, task_id);
			return NULL;
		}
		task = ark_engine_run_task(run, spec->index);
		state = task->rec.state;
		json_builder_set_member_name(b, "state");
		json_builder_add_string_value(b, ark_task_state_to_string(state));
		summary = ark_engine_explain_open(self, task, b);
		/* the reason of the last transition is in the store (it may lag one commit) */
		if (ark_task_state_is_terminal(state) || state == ARK_TASK_STATE_RETRY_WAIT)
			stored = ark_engine_get_stored_task(self, run_id, task_id, NULL);
	} else {
		g_autoptr(ArkRunRecord) run_rec = ark_store_get_run(self->store, run_id, error);

		if (run_rec == NULL)
			return NULL;
		stored = ark_engine_get_stored_task(self, run_id, task_id, error);
		if (stored == NULL)
			return NULL;
		state = stored->state;
		json_builder_set_member_name(b, "state");
		json_builder_add_string_value(b, ark_task_state_to_string(state));
		if (!ark_task_state_is_terminal(state))
			summary = g_strdup_printf(
			    "%s, but its run is %s and not open in this engine: it goes on when the "
			    "daemon that owns the state directory resumes it",
			    ark_task_state_to_string(state), ark_run_state_to_string(run_rec->state));
	}

	ended = ark_engine_explain_terminal(state);
	if (summary == NULL && ended != NULL)
		summary = stored != NULL && stored->reason != NULL
			      ? g_strdup_printf("%s: %s", ended, stored->reason)
			      : g_strdup(ended);
	if (stored != NULL && stored->reason != NULL) {
		json_builder_set_member_name(b, "reason");
		json_builder_add_string_value(b, stored->reason);
	}
	json_builder_set_member_name(b, "summary");
	json_builder_add_string_value(b, summary != NULL ? summary
							 : ark_task_state_to_string(state));
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_object_ref(json_node_get_object(root));
}

/* adding a task to an open run ---------------------------------------------------------------- */

/* @run's definition with @task appended to its tasks, parsed and checked like a submission */
static ArkWorkflow *
ark_engine_workflow_with_task(ArkEngine *self, ArkEngineRun *run, JsonObject *task,
			      GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) updated = NULL;
	g_autoptr(GString) msg = NULL;
	g_autofree gchar *data = NULL;
	JsonNode *tasks;

	if (!json_parser_load_from_data(parser, ark_workflow_get_definition(run->workflow), -1,
					error))
		return NULL;
	tasks = json_object_get_member(json_node_get_object(json_parser_get_root(parser)),
				       "tasks");
	if (tasks == NULL || !JSON_NODE_HOLDS_ARRAY(tasks)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INTERNAL,
			    "the definition of run %s has no task list", run->rec.id);
		return NULL;
	}
	json_array_add_object_element(json_node_get_array(tasks), json_object_ref(task));
	json_generator_set_root(gen, json_parser_get_root(parser));
	data = json_generator_to_data(gen, NULL);

	updated = ark_workflow_parse(data, -1, &problems);
	if (updated != NULL) {
		problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
		if (ark_engine_check_workflow_full(self, updated, run->rec.policy, problems) &&
		    ark_workflow_get_n_tasks(updated) == run->n_tasks + 1)
			return g_steal_pointer(&updated);
	}
	msg = g_string_new("invalid task:");
	for (guint i = 0; problems != NULL && i < problems->len; i++) {
		g_autofree gchar *line = ark_problem_to_string(problems->pdata[i], NULL);
		g_string_append_printf(msg, "\n  %s", line);
	}
	g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, msg->str);
	return NULL;
}

/* a new task's remaining path is added to its needs' ranks (the longest path to a sink); an
 * entry already queued keeps its rank, since its policy ordered it by that */
static void
ark_engine_run_raise_ranks(ArkEngineRun *run, guint32 index)
{
	g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(guint32));

	g_array_append_val(stack, index);
	while (stack->len > 0) {
		guint32 idx = g_array_index(stack, guint32, stack->len - 1);
		ArkEngineTask *t = ark_engine_run_task(run, idx);
		g_array_set_size(stack, stack->len - 1);
		for (guint n = 0; t->spec->needs[n] != NULL; n++) {
			guint32 ni = ark_workflow_lookup_task(run->workflow, t->spec->needs[n])->index;
			ArkEngineTask *up = ark_engine_run_task(run, ni);
			gint64 rank = t->entry.rank + up->entry.estimate;
			if (up->queue != NULL || up->entry.rank >= rank)
				continue;
			up->entry.rank = rank;
			g_array_append_val(stack, ni);
		}
	}
}

gboolean
ark_engine_add_task(ArkEngine *self, const gchar *run_id, JsonObject *task_obj, const gchar *by,
		    GError **error)
{
	g_autoptr(ArkWorkflow) updated = NULL;
	g_autoptr(JsonBuilder) data = json_builder_new();
	g_autoptr(JsonNode) data_root = NULL;
	g_autofree gchar *data_json = NULL;
	const ArkTaskSpec *spec;
	ArkEngineTask *task;
	ArkEngineRun *run;
	guint32 index;

	g_return_val_if_fail(ARK_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(run_id != NULL && task_obj != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	g_return_val_if_fail(self->started && self->store != NULL, FALSE);

	if (!ark_engine_check_accepting(self, error))
		return FALSE;
	/* what is recorded so far is committed first: the definition is swapped */
	if (!ark_engine_flush(self, error))
		return FALSE;
	run = g_hash_table_lookup(self->runs, run_id);
	if (run == NULL) {
		g_autoptr(ArkRunRecord) rec = ark_store_get_run(self->store, run_id, error);
		if (rec == NULL)
			return FALSE;
		if (ark_run_state_is_terminal(rec->state))
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "run %s is %s: tasks can only be added to an open run", run_id,
				    ark_run_state_to_string(rec->state));
		else
			g_set_error(error, ARK_ERROR, ARK_ERROR_BUSY,
				    "run %s is unfinished and not running here: resume it first",
				    run_id);
		return FALSE;
	}
	if (run->finishing) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_BUSY, "run %s is finishing", run_id);
		return FALSE;
	}
	if (run->stopping) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "run %s is stopping (%s): tasks can no longer be added", run_id,
			    run->stop_reason != NULL ? run->stop_reason : "cancelled");
		return FALSE;
	}
	updated = ark_engine_workflow_with_task(self, run, task_obj, error);
	if (updated == NULL)
		return FALSE;

	/* running attempts keep their specs: the old workflow lives as long as the run */
	if (run->old_workflows == NULL)
		run->old_workflows =
		    g_ptr_array_new_with_free_func((GDestroyNotify)ark_workflow_unref);
	g_ptr_array_add(run->old_workflows, run->workflow);
	run->workflow = ark_workflow_ref(updated);
	for (guint i = 0; i < run->n_tasks; i++) {
		ArkEngineTask *t = ark_engine_run_task(run, i);
		t->spec = ark_workflow_get_task(updated, i);
		t->entry.spec = t->spec;
		t->rec.task_id = t->spec->id;
	}

	/* the new task has its own allocation: nothing that points at a task moves */
	index = run->n_tasks;
	spec = ark_workflow_get_task(updated, index);
	task = g_new0(ArkEngineTask, 1);
	ark_engine_task_init(self, run, task, spec, index);
	task->entry.rank = task->entry.estimate;
	if (run->added == NULL)
		run->added = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(run->added, task);
	run->n_tasks++;
	run->rec.n_tasks = run->n_tasks;
	run->counts[ARK_TASK_STATE_PENDING]++;

	if (run->added_dependents == NULL)
		run->added_dependents = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
							      (GDestroyNotify)g_array_unref);
	for (guint n = 0; spec->needs[n] != NULL; n++) {
		guint32 ni = ark_workflow_lookup_task(updated, spec->needs[n])->index;
		GArray *more = ark_engine_added_dependents(run, ni);
		if (more == NULL) {
			more = g_array_new(FALSE, FALSE, sizeof(guint32));
			g_hash_table_insert(run->added_dependents, GUINT_TO_POINTER(ni), more);
		}
		g_array_append_val(more, index);
	}
	ark_engine_run_raise_ranks(run, index);

	/* the definition, the task and its first state in one commit */
	run->rec.definition =
	    (gchar *)ark_store_batch_intern(self->batch, ark_workflow_get_definition(updated));
	ark_engine_run_update(self, run);
	run->rec.definition = NULL;
	ark_store_batch_add_task(self->batch, ARK_STORE_OP_TASK_INSERT, &task->rec);
	json_builder_begin_object(data);
	json_builder_set_member_name(data, "added_by");
	if (by != NULL)
		json_builder_add_string_value(data, by);
	else
		json_builder_add_null_value(data);
	json_builder_end_object(data);
	data_root = json_builder_get_root(data);
	data_json = json_to_string(data_root, FALSE);
	ark_engine_add_event(self, ARK_EVENT_TASK_STATE, run, task, 0, ARK_TASK_STATE_PENDING,
			     data_json);
	ark_engine_task_reevaluate(self, task);
	return ark_engine_flush(self, error);
}

/* hooks for the agents (ark-agents-private.h) --------------------------------------------------- */

ArkAgents *
ark_engine_get_agents(ArkEngine *self)
{
	return self->agents;
}

ArkTimestamp
ark_engine_get_time(ArkEngine *self)
{
	return ark_engine_now(self);
}

GRand *
ark_engine_get_rand(ArkEngine *self)
{
	return self->rand;
}

gboolean
ark_engine_commit(ArkEngine *self, GError **error)
{
	return ark_engine_flush(self, error);
}

ArkStoreBatch *
ark_engine_get_batch(ArkEngine *self)
{
	ark_engine_schedule_tick(self);
	return self->batch;
}

void
ark_engine_add_assignment_event(ArkEngine *self, const gchar *run_id, const gchar *task_id,
				guint attempt, const gchar *data)
{
	ArkEngineRun *run = g_hash_table_lookup(self->runs, run_id);
	const ArkTaskSpec *spec;

	if (run == NULL)
		return;
	spec = ark_workflow_lookup_task(run->workflow, task_id);
	if (spec == NULL)
		return;
	ark_engine_add_event(self, ARK_EVENT_ASSIGNMENT, run, ark_engine_run_task(run, spec->index),
			     attempt, 0, data);
	ark_engine_schedule_tick(self);
}

static ArkEngineTask *
ark_engine_lookup_task(ArkEngine *self, const gchar *run_id, const gchar *task_id)
{
	ArkEngineRun *run = g_hash_table_lookup(self->runs, run_id);
	const ArkTaskSpec *spec;

	if (run == NULL)
		return NULL;
	spec = ark_workflow_lookup_task(run->workflow, task_id);
	return spec != NULL ? ark_engine_run_task(run, spec->index) : NULL;
}

ArkTimestamp
ark_engine_get_task_deadline(ArkEngine *self, const gchar *run_id, const gchar *task_id)
{
	ArkEngineTask *task = ark_engine_lookup_task(self, run_id, task_id);
	return task != NULL ? task->entry.deadline : 0;
}

void
ark_engine_set_attempt_dead(ArkEngine *self, ArkAttempt *attempt)
{
	ArkEngineTask *task = ark_engine_lookup_task(self, ark_attempt_get_run_id(attempt),
						     ark_attempt_get_task_id(attempt));
	if (task != NULL && task->attempt == attempt)
		task->force_dead = TRUE;
}

JsonNode *
ark_engine_get_task_result(ArkEngine *self, const gchar *run_id, const gchar *task_id,
			   GError **error)
{
	g_autoptr(GPtrArray) attempts = NULL;

	if (self->store == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
				    "the engine has no store to read results from");
		return NULL;
	}
	attempts = ark_store_list_attempts(self->store, run_id, task_id, error);
	if (attempts == NULL)
		return NULL;
	for (guint i = attempts->len; i > 0; i--) {
		ArkAttemptRecord *ar = g_ptr_array_index(attempts, i - 1);
		JsonNode *node;
		if (ar->status != ARK_ATTEMPT_STATUS_SUCCEEDED)
			continue;
		if (ar->result == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "task '%s' succeeded without a result", task_id);
			return NULL;
		}
		node = json_from_string(ar->result, error);
		if (node == NULL)
			g_prefix_error(error, "the result of task '%s' is not JSON: ", task_id);
		return node;
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "task '%s' has no successful attempt",
		    task_id);
	return NULL;
}
