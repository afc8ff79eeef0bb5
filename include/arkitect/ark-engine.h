/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_CORE_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect-core.h> can be included directly."
#endif

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

/**
 * ArkEngine:
 *
 * The scheduler: owns the DAG state of every open run, asks the policies what to start, starts
 * attempts on executors, and records every transition in the store before it is announced.
 * Main thread only.
 *
 * Signals:
 * - "event" (const ArkEvent *event): a committed state change, in seq order
 * - "run-finished" (const gchar *run_id, ArkRunState state): after the run's final commit
 */
#define ARK_TYPE_ENGINE (ark_engine_get_type())
ARK_API G_DECLARE_FINAL_TYPE(ArkEngine, ark_engine, ARK, ENGINE, GObject)

typedef struct {
	const gchar *policy;	      /* overrides the workflow's and the default, or NULL */
	const gchar *submitter;	      /* or NULL */
	const gchar *idempotency_key; /* or NULL */
	/*< private >*/
	gpointer reserved[8];
} ArkSubmitOptions;

ARK_API ArkEngine *ark_engine_new(ArkRegistry *registry, ArkStore *store);

/* configuration, before ark_engine_start() */
ARK_API void ark_engine_set_state_dir(ArkEngine *self, const gchar *state_dir);
ARK_API void ark_engine_set_config(ArkEngine *self, GKeyFile *config);
ARK_API void ark_engine_set_default_policy(ArkEngine *self, const gchar *policy);
ARK_API void ark_engine_set_executor_slots(ArkEngine *self, const gchar *executor, guint slots);

/*
 * The clock seam (ABI 1.2): with a virtual clock (ark_clock_new_virtual()), set before
 * ark_engine_start(), the engine records every time from it and arms no real timer; its owner
 * moves the clock, calls ark_engine_fire_timers() no later than ark_engine_get_next_timer() says,
 * and lets the main context run the engine's idle tick. `arkitect simulate` is built on it.
 */
ARK_API void ark_engine_set_clock(ArkEngine *self, ArkClock *clock);
ARK_API ArkClock *ark_engine_get_clock(ArkEngine *self);
/* when the earliest retry wait, queue timeout or run timeout is due; FALSE when none is armed */
ARK_API gboolean ark_engine_get_next_timer(ArkEngine *self, ArkTimestamp *out_at);
/* fires every timer due by the engine's clock */
ARK_API void ark_engine_fire_timers(ArkEngine *self);

/* sets up every registered executor (one that fails is left out, with a warning) and checks
 * that the default policy exists */
ARK_API gboolean ark_engine_start(ArkEngine *self, GError **error);
/* cancels what runs and waits for nothing: attempts still running are recorded as cancelled */
ARK_API void ark_engine_shutdown(ArkEngine *self);

ARK_API ArkRegistry *ark_engine_get_registry(ArkEngine *self);
ARK_API ArkStore *ark_engine_get_store(ArkEngine *self);
ARK_API ArkMetrics *ark_engine_get_metrics(ArkEngine *self);
/* the state directory (logs, tokens, lock), or NULL when ephemeral */
ARK_API const gchar *ark_engine_get_state_dir(ArkEngine *self);
/* the configuration the engine was given, or NULL */
ARK_API GKeyFile *ark_engine_get_config(ArkEngine *self);
ARK_API const gchar *ark_engine_get_default_policy(ArkEngine *self);

/* the checks that need the loaded plugins: executor and policy names, executor-specific task
 * fields; appends to @problems and returns FALSE if there were any. The engine remembers the last
 * workflow found valid (and its policy): submitting that workflow next does not check it again */
ARK_API gboolean ark_engine_check_workflow(ArkEngine *self, ArkWorkflow *workflow,
					   const gchar *policy, GPtrArray *problems);

/* validates, records the run durably, and queues its roots; returns the run id (transfer full).
 * With an idempotency key that was seen before, returns the existing run's id. */
ARK_API gchar *ark_engine_submit(ArkEngine *self, ArkWorkflow *workflow,
				 const ArkSubmitOptions *options, GError **error);

/**
 * ArkSubmitCallback:
 * @run_id: the run's id, or NULL when the commit failed
 * @existed: the idempotency key was seen before and @run_id is that run's
 * @error: why the commit failed, or NULL
 *
 * Called once on the main thread when the submission is durable (or could not be made so).
 */
typedef void (*ArkSubmitCallback)(ArkEngine *engine, const gchar *run_id, gboolean existed,
				  const GError *error, gpointer user_data);

/*
 * Like ark_engine_submit(), but the commit is shared with whatever else the main loop records
 * before its next tick (group commit): frontends serving many clients accept many runs per
 * transaction. Validation and draining errors are returned at once (NULL with @error); otherwise
 * the run's id is returned (transfer full; not yet durable) and @callback tells the outcome after
 * the commit. An ark_engine_audit() call without flush made right after a successful return
 * lands in the same transaction as the run: both are durable, or neither. (ABI 1.1)
 */
ARK_API gchar *ark_engine_submit_async(ArkEngine *self, ArkWorkflow *workflow,
				       const ArkSubmitOptions *options, ArkSubmitCallback callback,
				       gpointer user_data, GError **error);

/* state of an open run (one this engine is executing); FALSE if it is not open */
ARK_API gboolean ark_engine_get_run_state(ArkEngine *self, const gchar *run_id,
					  ArkRunState *out_state);
/* task counts by ArkTaskState for an open run; @counts has ARK_TASK_STATE_LAST elements */
ARK_API gboolean ark_engine_get_task_counts(ArkEngine *self, const gchar *run_id, guint *counts);

/* cancels every task of an open run that is not terminal; running attempts get TERM, then KILL
 * after the executor's grace period. @by (who asked: a user name, "timeout", "fail-fast") and
 * @reason are recorded with the run and each cancelled task; either may be NULL. */
ARK_API gboolean ark_engine_cancel_run(ArkEngine *self, const gchar *run_id, const gchar *by,
				       const gchar *reason, GError **error);
/* cancels one task of an open run (and skips what depends on it) */
ARK_API gboolean ark_engine_cancel_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
					const gchar *by, const gchar *reason, GError **error);

/*
 * Takes over a run from the store that no process is executing (after a crash, or a
 * cancelled CLI): attempts recorded as running end as LOST and follow their retry policy,
 * tasks waiting for a retry keep their time, finished tasks are not run again. Returns FALSE
 * with ARK_ERROR_NOT_FOUND for an unknown run and ARK_ERROR_EXISTS if it already finished
 * (and nothing was replayed into it).
 */
ARK_API gboolean ark_engine_resume_run(ArkEngine *self, const gchar *run_id, GError **error);

/*
 * DLQ replay: makes a DEAD (or FAILED) task of a run ready again with a new attempt, with the
 * members of @overrides (a JSON object, or NULL) replacing the task's own, and puts the tasks
 * that were skipped because of it back to pending. A finished run is reopened; the run must be
 * open in this engine or resumable. @by is recorded in the replay event.
 */
ARK_API gboolean ark_engine_replay_task(ArkEngine *self, const gchar *run_id, const gchar *task_id,
					JsonObject *overrides, const gchar *by, GError **error);

/*
 * Why a task is, or is not, running (ABI 1.2): a new JSON object with "run_id", "task_id",
 * "state" and a one-line "summary", plus, as they apply, "waiting_for" (needs not yet
 * satisfied, with their states), "queue" (executor, policy, 1-based position when the policy
 * can tell, length, executor slots used and total), "retry" (attempts so far and when the
 * next one becomes ready), "attempt" (the running one), "blocked_by" (what keeps a queued task
 * from starting) and "reason" (why it is in its state). A run that is not open in this engine
 * is read from the store. docs/explain.md describes every member.
 */
ARK_API JsonObject *ark_engine_explain_task(ArkEngine *self, const gchar *run_id,
					    const gchar *task_id, GError **error);

/*
 * Adds one task to open run @run_id (ABI 1.2). @task is a task object of the workflow format;
 * its needs must name tasks of the run. The run's definition and the new task are recorded in
 * one commit before this returns. Fails with ARK_ERROR_NOT_FOUND for an unknown run,
 * ARK_ERROR_INVALID_ARGUMENT (every problem, one per line) for a bad task, a duplicate id or a
 * run that is finished or stopping, and ARK_ERROR_BUSY while draining or while the run is
 * finishing.
 */
ARK_API gboolean ark_engine_add_task(ArkEngine *self, const gchar *run_id, JsonObject *task,
				     const gchar *by, GError **error);

/* the store failure that stopped the engine (it accepts nothing more after one), or NULL */
ARK_API const GError *ark_engine_get_storage_error(ArkEngine *self);

/* how many runs are open */
ARK_API guint ark_engine_get_n_open_runs(ArkEngine *self);

/* the plugins the engine's registry was filled from, for frontends that list them; may be NULL */
ARK_API void ark_engine_set_plugin_loader(ArkEngine *self, ArkPluginLoader *loader);
ARK_API ArkPluginLoader *ark_engine_get_plugin_loader(ArkEngine *self);

/*
 * Draining: while not accepting, ark_engine_submit() and ark_engine_replay_task() fail with
 * ARK_ERROR_BUSY and @reason (e.g. "the daemon is shutting down"); what runs goes on.
 */
ARK_API void ark_engine_set_accepting(ArkEngine *self, gboolean accepting, const gchar *reason);
ARK_API gboolean ark_engine_is_accepting(ArkEngine *self, const gchar **out_reason);

/*
 * Stopping the daemon: ark_engine_drain() refuses new work (as ark_engine_set_accepting) and
 * starts no more attempts; what runs goes on, ark_engine_get_n_running() says how much.
 * ark_engine_interrupt() ends what still runs (the executors kill it) and records those attempts
 * as cancelled with @reason and their tasks as ready again, without using up their retry budget,
 * so that ark_engine_resume_run() runs them again after a restart.
 */
ARK_API void ark_engine_drain(ArkEngine *self, const gchar *reason);
ARK_API guint ark_engine_get_n_running(ArkEngine *self);
ARK_API gboolean ark_engine_interrupt(ArkEngine *self, const gchar *reason, GError **error);

/* sorted executor names (transfer full) and, for one, its slots and how many are in use */
ARK_API GStrv ark_engine_list_executors(ArkEngine *self);
ARK_API gboolean ark_engine_get_executor_slots(ArkEngine *self, const gchar *executor,
					       guint *out_slots, guint *out_in_use);
/*
 * Resource-aware dispatch (ABI 1.2): what @executor has for its tasks and what the tasks running
 * there hold now; FALSE for an unknown executor or one that counts slots only.
 */
ARK_API gboolean ark_engine_get_executor_resources(ArkEngine *self, const gchar *executor,
						   ArkResources *out_capacity,
						   ArkResources *out_in_use);
/* how many running tasks hold concurrency key @key, and how many ready ones wait for it
 * (ABI 1.2) */
ARK_API guint ark_engine_get_concurrency_holders(ArkEngine *self, const gchar *key,
						 guint *out_waiting);
/* tasks ready and waiting for a slot, in the queues of @policy (NULL for every policy) */
ARK_API guint ark_engine_get_queue_depth(ArkEngine *self, const gchar *policy);

/*
 * The health model: runs every check now (the store answers a query, each executor's own check,
 * the main loop's lag, whether the engine accepts work) and returns them (element-type
 * ArkHealthCheck, transfer full). An executor whose check fails is restarted: its running
 * attempts end LOST (and follow their retry policy) and a fresh instance is set up; the check then
 * reports DEGRADED with the restart count.
 */
ARK_API GPtrArray *ark_engine_check_health(ArkEngine *self);
/* TRUE when no check that blocks readiness fails; else FALSE and the first failing check's
 * name and message in @out_failing (transfer full) */
ARK_API gboolean ark_engine_is_ready(ArkEngine *self, gchar **out_failing);

/*
 * Audit: appends @entry to the tamper-evident audit log (the store's audit table and, when
 * configured with ark_engine_set_audit_file(), a JSON-lines file), each record carrying the hash
 * of the one before. With @flush the record is durable when this returns TRUE; without, it is
 * committed with the engine's next batch. The audit file may be set (or unset with NULL) before
 * or after ark_engine_start(); a new file is brought up to the store's log when it is opened.
 */
ARK_API gboolean ark_engine_audit(ArkEngine *self, const ArkAuditEntry *entry, gboolean flush,
				  GError **error);
ARK_API void ark_engine_set_audit_file(ArkEngine *self, const gchar *path);

G_END_DECLS
