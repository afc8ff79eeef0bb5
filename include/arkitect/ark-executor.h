/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <gio/gio.h>

#include "ark-api.h"
#include "ark-types.h"
#include "ark-workflow.h"

G_BEGIN_DECLS

/**
 * ArkAttemptResult:
 *
 * How an attempt ended, as its executor reports it.
 */
typedef struct {
	ArkAttemptStatus status;
	gint exit_code;	     /* process exit status, -1 if it did not exit */
	gint signal;	     /* terminating signal, 0 if none */
	const gchar *error;  /* human-readable reason for anything but success, or NULL */
	const gchar *result; /* JSON value the task produced, or NULL */
	/*< private >*/
	gpointer reserved[4];
} ArkAttemptResult;

/**
 * ArkAttempt:
 *
 * One execution of a task, handed by the engine to an executor. Reference-counted; main thread
 * only, except where a function says otherwise.
 */
typedef struct _ArkAttempt ArkAttempt;

typedef void (*ArkAttemptFinishFunc)(ArkAttempt *attempt, const ArkAttemptResult *result,
				     gpointer user_data);

/* for the engine and tests: @finish is called once, on the main thread */
ARK_API ArkAttempt *ark_attempt_new(const gchar *run_id, const ArkTaskSpec *spec, guint number,
				    guint64 token, const gchar *log_dir, ArkAttemptFinishFunc finish,
				    gpointer user_data);
/* for the engine: the finish function will not be called any more (its task is gone) */
ARK_API void ark_attempt_abandon(ArkAttempt *self);
ARK_API ArkAttempt *ark_attempt_ref(ArkAttempt *self);
ARK_API void ark_attempt_unref(ArkAttempt *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkAttempt, ark_attempt_unref)

/* the getters are thread-safe: the values never change */
ARK_API const gchar *ark_attempt_get_run_id(ArkAttempt *self);
ARK_API const gchar *ark_attempt_get_task_id(ArkAttempt *self);
ARK_API const ArkTaskSpec *ark_attempt_get_spec(ArkAttempt *self);
ARK_API guint ark_attempt_get_number(ArkAttempt *self);
ARK_API guint64 ark_attempt_get_token(ArkAttempt *self);
/* a directory the executor may create and write the attempt's logs into, or NULL for none */
ARK_API const gchar *ark_attempt_get_log_dir(ArkAttempt *self);

/* where the executor put the attempt's output (main thread) */
ARK_API void ark_attempt_set_log_path(ArkAttempt *self, const gchar *path);
ARK_API const gchar *ark_attempt_get_log_path(ArkAttempt *self);

/* executor-private data, freed with @destroy when the attempt is (main thread) */
ARK_API void ark_attempt_set_executor_data(ArkAttempt *self, gpointer data, GDestroyNotify destroy);
ARK_API gpointer ark_attempt_get_executor_data(ArkAttempt *self);

/* reports the end of the attempt; main thread, exactly once; later calls are ignored with a
 * warning (they indicate an executor bug) */
ARK_API void ark_attempt_finish(ArkAttempt *self, const ArkAttemptResult *result);
ARK_API gboolean ark_attempt_is_finished(ArkAttempt *self);

/**
 * ArkExecutorSetup:
 *
 * What the engine tells an executor before its first attempt.
 */
typedef struct {
	const gchar *name;	/* the name the executor was registered under */
	guint slots;		/* concurrent attempts allowed, 0 for the executor's default */
	const gchar *state_dir; /* the engine's state directory, or NULL when ephemeral */
	GKeyFile *config;	/* configuration, may be NULL */
	const gchar *group;	/* the group of @config for this executor, e.g. "executor-process" */
	gpointer registry;	/* the #ArkRegistry, for executors that look up functions */
	/*< private >*/
	gpointer reserved[6];
} ArkExecutorSetup;

/**
 * ArkResources:
 *
 * Resources of an executor (its capacity) or held by a task. (ABI 1.2)
 */
typedef struct {
	gdouble cpus;
	guint64 memory; /* bytes */
	guint gpus;
	/*< private >*/
	gpointer reserved[3];
} ArkResources;

/*
 * Reads the capacity keys "cpus" (a number > 0), "memory" (a size) and "gpus" (a whole number)
 * of @group of @config into @out, starting from what the machine has: the online CPUs, the
 * physical memory, no GPUs. A bad value fails with ARK_ERROR_INVALID_ARGUMENT naming the group
 * and key. Executors that take part in resource-aware dispatch declare the three keys and call
 * this from setup(). (ABI 1.2)
 */
ARK_API gboolean ark_resources_read_config(GKeyFile *config, const gchar *group,
					   ArkResources *out, GError **error);

#define ARK_TYPE_EXECUTOR (ark_executor_get_type())
ARK_API G_DECLARE_INTERFACE(ArkExecutor, ark_executor, ARK, EXECUTOR, GObject)

/**
 * ArkExecutorInterface:
 * @setup: prepare to run attempts; may fail (e.g. a missing tool)
 * @get_slots: how many attempts may run at once
 * @check_task: (optional) executor-specific validation of one task (e.g. "run" is required);
 *   append problems with ark_workflow_add_problem() and return FALSE if there were any
 * @start: start @attempt; never blocks; the executor keeps a reference and calls
 *   ark_attempt_finish() later on the main thread, also for start failures
 * @cancel: end @attempt early; it still finishes through ark_attempt_finish() with
 *   ARK_ATTEMPT_STATUS_CANCELLED (or whatever it really ended with)
 * @shutdown: (optional) cancel what runs and release resources; no attempt is started afterwards
 * @check_health: (optional) whether the executor can still run attempts (its worker threads,
 *   helper process or connection are alive); a FALSE makes the engine restart it: the attempts
 *   it holds end LOST and a fresh instance is set up. Cheap and non-blocking. (ABI 1.1)
 * @get_capacity: (optional) the resources the executor has for the tasks it runs; the engine
 *   never starts a task whose cpus, memory or gpus do not fit in what is free. Without it only
 *   slots are counted. (ABI 1.2)
 *
 * Every method runs on the main thread and must never block it.
 */
struct _ArkExecutorInterface {
	GTypeInterface g_iface;

	gboolean (*setup)(ArkExecutor *self, const ArkExecutorSetup *setup, GError **error);
	guint (*get_slots)(ArkExecutor *self);
	gboolean (*check_task)(ArkExecutor *self, ArkWorkflow *workflow, const ArkTaskSpec *spec,
			       GPtrArray *problems);
	void (*start)(ArkExecutor *self, ArkAttempt *attempt);
	void (*cancel)(ArkExecutor *self, ArkAttempt *attempt);
	void (*shutdown)(ArkExecutor *self);
	gboolean (*check_health)(ArkExecutor *self, GError **error);
	void (*get_capacity)(ArkExecutor *self, ArkResources *out);

	/*< private >*/
	gpointer padding[14];
};

ARK_API gboolean ark_executor_setup(ArkExecutor *self, const ArkExecutorSetup *setup,
				    GError **error);
ARK_API guint ark_executor_get_slots(ArkExecutor *self);
/* FALSE (and @out untouched) for an executor that does not count resources (ABI 1.2) */
ARK_API gboolean ark_executor_get_capacity(ArkExecutor *self, ArkResources *out);
ARK_API gboolean ark_executor_check_task(ArkExecutor *self, ArkWorkflow *workflow,
					 const ArkTaskSpec *spec, GPtrArray *problems);
ARK_API void ark_executor_start(ArkExecutor *self, ArkAttempt *attempt);
ARK_API void ark_executor_cancel(ArkExecutor *self, ArkAttempt *attempt);
ARK_API void ark_executor_shutdown(ArkExecutor *self);
/* TRUE for executors without a check */
ARK_API gboolean ark_executor_check_health(ArkExecutor *self, GError **error);

/**
 * ArkFunction:
 *
 * An in-process function, run by the thread executor on a worker thread. It must honour
 * @cancellable (poll it, or connect to it) and return promptly once it is cancelled.
 * On success it may set @out_result to a JSON value (a string it allocates).
 *
 * Returns: TRUE on success; FALSE with @error set on failure.
 */
typedef gboolean (*ArkFunction)(const ArkTaskSpec *spec, GCancellable *cancellable,
				gchar **out_result, gpointer user_data, GError **error);

G_END_DECLS
