/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <math.h>

/* the longest sleep accepted: a bound that keeps every later computation far from overflow */
#define ARK_EXECUTOR_THREAD_MAX_SLEEP ((gint64)366 * 24 * 3600 * G_USEC_PER_SEC)

#define ARK_EXECUTOR_THREAD_MAX_THREADS 4096
/* a bound against typos: a queued attempt costs a few hundred bytes, so this is ~1 GiB */
#define ARK_EXECUTOR_THREAD_MAX_SLOTS (1024 * 1024)
/*
 * Attempts accepted per worker thread by default. The engine starts new attempts only after each
 * main-loop commit; with one attempt per thread, every short function costs a round trip through
 * the main loop and a store commit. With a window, the workers go on with queued attempts while
 * the main thread commits, and one commit covers many attempts. See docs/executors.md for the
 * measurements this value comes from; benchmarks override it with -D to measure others.
 */
#ifndef ARK_EXECUTOR_THREAD_DEFAULT_WINDOW
#define ARK_EXECUTOR_THREAD_DEFAULT_WINDOW 32
#endif

#define ARK_TYPE_EXECUTOR_THREAD (ark_executor_thread_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorThread, ark_executor_thread, ARK, EXECUTOR_THREAD, GObject)

#define ARK_TYPE_EXECUTOR_THREAD_PLUGIN (ark_executor_thread_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorThreadPlugin, ark_executor_thread_plugin, ARK,
		     EXECUTOR_THREAD_PLUGIN, ArkPlugin)

/*
 * @threads workers run functions; up to @slots attempts are accepted, the ones beyond the busy
 * workers wait in the pool's queue. A worker that finishes takes the next queued attempt itself,
 * without a round trip through the main thread.
 *
 * Worker threads hand finished jobs back through @done. The main context is woken only when the
 * queue goes from empty to non-empty (@wake_pending guards it), and one dispatch of @done_source
 * drains everything queued by then: under load, one wakeup finishes many attempts.
 */
struct _ArkExecutorThread {
	GObject parent_instance;
	guint threads;
	guint slots;
	ArkResources capacity;
	ArkRegistry *registry;
	GThreadPool *pool;
	GAsyncQueue *done; /* ArkExecutorThreadJob*, pushed by workers */
	gint wake_pending; /* atomic */
	GSource *done_source;
	GHashTable *jobs; /* ArkAttempt* -> ArkExecutorThreadJob*, main thread only */
	gboolean shut_down;
};

static void ark_executor_thread_iface_init(ArkExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkExecutorThread, ark_executor_thread, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR,
						    ark_executor_thread_iface_init))

/*
 * Where a job is. It only moves forward: QUEUED -> RUNNING -> DONE on a worker, or
 * QUEUED -> DROPPED on the main thread when the attempt is cancelled (or can not be queued)
 * before a worker took it. The two threads race for a QUEUED job with a compare-and-exchange,
 * so exactly one of them owns its end.
 */
typedef enum {
	ARK_EXECUTOR_THREAD_JOB_QUEUED,
	ARK_EXECUTOR_THREAD_JOB_RUNNING,
	ARK_EXECUTOR_THREAD_JOB_DONE,
	ARK_EXECUTOR_THREAD_JOB_DROPPED,
} ArkExecutorThreadJobState;

/*
 * One attempt. The main thread holds a reference from start() until the attempt is reported, the
 * pool another one while the job is in its queue or on a worker: a job dropped while queued is
 * reported at once, and the worker that later pops it only lets go of it.
 *
 * @attempt, @timeout_id and @forced_status are main-thread-only; a worker sees a cancel only
 * through @cancellable. Between the worker's claim (QUEUED -> RUNNING) and the push onto the done
 * queue, only the worker touches @ok, @result and @error. @started_at is written by the worker
 * before its claim and read by the main thread only once it has seen RUNNING.
 */
typedef struct {
	gint ref_count;	   /* atomic */
	gint state;	   /* atomic, ArkExecutorThreadJobState */
	gint64 started_at; /* monotonic time the function started */
	ArkAttempt *attempt;
	ArkFunction func;
	gpointer func_data;
	GCancellable *cancellable;
	guint timeout_id;
	ArkAttemptStatus forced_status; /* TIMED_OUT or CANCELLED once cancelled, else RUNNING */
	gboolean ok;
	gchar *result;
	GError *error;
	gboolean not_started; /* ERROR: the function is unknown or the executor shut down */
} ArkExecutorThreadJob;

/* any thread: what is left once the main thread released the attempt is safe to free anywhere */
static void
ark_executor_thread_job_unref(ArkExecutorThreadJob *job)
{
	if (!g_atomic_int_dec_and_test(&job->ref_count))
		return;
	g_assert(job->attempt == NULL);
	g_clear_object(&job->cancellable);
	g_clear_error(&job->error);
	g_free(job->result);
	g_free(job);
}

/* main thread: the end of the main thread's part, once the attempt is reported */
static void
ark_executor_thread_job_release(ArkExecutorThreadJob *job)
{
	g_clear_handle_id(&job->timeout_id, g_source_remove);
	g_clear_pointer(&job->attempt, ark_attempt_unref);
	ark_executor_thread_job_unref(job);
}

/* any thread */
static void
ark_executor_thread_push_done(ArkExecutorThread *self, ArkExecutorThreadJob *job)
{
	g_async_queue_push(self->done, job);
	if (g_atomic_int_compare_and_exchange(&self->wake_pending, 0, 1))
		g_source_set_ready_time(self->done_source, 0);
}

static void
ark_executor_thread_job_finish(ArkExecutorThread *self, ArkExecutorThreadJob *job)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(job->attempt);
	ArkAttemptResult result = {.exit_code = -1};
	g_autofree gchar *message = NULL;

	/* out of the table first: the finish callback may start or cancel attempts */
	g_hash_table_remove(self->jobs, job->attempt);

	if (job->forced_status == ARK_ATTEMPT_STATUS_TIMED_OUT) {
		g_autofree gchar *duration = ark_duration_format(spec->timeout);
		result.status = ARK_ATTEMPT_STATUS_TIMED_OUT;
		message = g_strdup_printf("timed out after %s", duration);
	} else if (job->forced_status == ARK_ATTEMPT_STATUS_CANCELLED) {
		result.status = ARK_ATTEMPT_STATUS_CANCELLED;
		message = g_strdup("cancelled");
	} else if (job->not_started) {
		result.status = ARK_ATTEMPT_STATUS_ERROR;
		message = g_strdup(job->error->message);
	} else if (job->ok) {
		result.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
		result.result = job->result;
	} else {
		result.status = ARK_ATTEMPT_STATUS_FAILED;
		if (job->error != NULL)
			message = g_strdup(job->error->message);
		else
			message = g_strdup_printf("function '%s' failed without saying why",
						  spec->function);
	}
	result.error = message;
	ark_attempt_finish(job->attempt, &result);
	ark_executor_thread_job_release(job);
}

static void
ark_executor_thread_drain(ArkExecutorThread *self)
{
	ArkExecutorThreadJob *job;

	while ((job = g_async_queue_try_pop(self->done)) != NULL)
		ark_executor_thread_job_finish(self, job);
}

static gboolean
ark_executor_thread_done_dispatch_cb(GSource *source, GSourceFunc callback, gpointer user_data)
{
	ArkExecutorThread *self = user_data;

	/* in this order: a job pushed after the reset arms the source again, one pushed before
	 * it is still in the queue below */
	g_source_set_ready_time(source, -1);
	g_atomic_int_set(&self->wake_pending, 0);
	ark_executor_thread_drain(self);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs ark_executor_thread_done_funcs = {
    .dispatch = ark_executor_thread_done_dispatch_cb,
};

/* worker thread */
static void
ark_executor_thread_run_cb(gpointer data, gpointer user_data)
{
	ArkExecutorThread *self = user_data;
	ArkExecutorThreadJob *job = data;

	/* before the claim, which publishes it: the timeout counts from here */
	job->started_at = g_get_monotonic_time();
	/* dropped while it waited for a thread: already reported, the function never starts */
	if (!g_atomic_int_compare_and_exchange(&job->state, ARK_EXECUTOR_THREAD_JOB_QUEUED,
					       ARK_EXECUTOR_THREAD_JOB_RUNNING)) {
		ark_executor_thread_job_unref(job);
		return;
	}
	job->ok = job->func(ark_attempt_get_spec(job->attempt), job->cancellable, &job->result,
			    job->func_data, &job->error);
	if (job->ok)
		g_clear_error(&job->error);
	else
		g_clear_pointer(&job->result, g_free);
	g_atomic_int_set(&job->state, ARK_EXECUTOR_THREAD_JOB_DONE);
	ark_executor_thread_push_done(self, job);
	ark_executor_thread_job_unref(job);
}

static guint
ark_executor_thread_usec_to_msec(gint64 usec)
{
	gint64 msec = (usec + 999) / 1000;
	return (guint)CLAMP(msec, 0, (gint64)G_MAXUINT);
}

/*
 * The timeout of an attempt counts from when its function starts on a worker, not from start():
 * an attempt waiting in the queue has not used any of its time. The timer is armed in start() as
 * if the function started at once; when it fires early (the function started later, or has not
 * started yet) it is armed again for what is left. A job that has not started when the timer
 * fires at T starts at S >= T, so firing again at T + timeout is never late.
 */
static gboolean
ark_executor_thread_timeout_cb(gpointer user_data)
{
	ArkExecutorThreadJob *job = user_data;
	const ArkTaskSpec *spec = ark_attempt_get_spec(job->attempt);
	gint state = g_atomic_int_get(&job->state);
	gint64 left;

	job->timeout_id = 0;
	/* the function returned in time: its report is already on the done queue */
	if (state == ARK_EXECUTOR_THREAD_JOB_DONE)
		return G_SOURCE_REMOVE;
	if (state == ARK_EXECUTOR_THREAD_JOB_QUEUED)
		left = spec->timeout;
	else
		left = job->started_at + spec->timeout - g_get_monotonic_time();
	if (left > 0) {
		job->timeout_id = g_timeout_add(ark_executor_thread_usec_to_msec(left),
						ark_executor_thread_timeout_cb, job);
		return G_SOURCE_REMOVE;
	}
	job->forced_status = ARK_ATTEMPT_STATUS_TIMED_OUT;
	g_cancellable_cancel(job->cancellable);
	return G_SOURCE_REMOVE;
}

static void
ark_executor_thread_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	ArkExecutorThreadJob *job;
	g_autoptr(GError) error = NULL;

	g_return_if_fail(self->pool != NULL || self->shut_down);
	g_return_if_fail(!g_hash_table_contains(self->jobs, attempt));

	job = g_new0(ArkExecutorThreadJob, 1);
	job->ref_count = 1;
	job->state = ARK_EXECUTOR_THREAD_JOB_QUEUED;
	job->attempt = ark_attempt_ref(attempt);
	job->cancellable = g_cancellable_new();
	job->forced_status = ARK_ATTEMPT_STATUS_RUNNING;
	g_hash_table_insert(self->jobs, attempt, job);

	if (self->shut_down) {
		g_set_error_literal(&job->error, ARK_ERROR, ARK_ERROR_FAILED,
				    "the thread executor is shut down");
	} else if (spec->function == NULL) {
		g_set_error_literal(&job->error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "missing \"function\": a thread task needs a function");
	} else {
		job->func = ark_registry_lookup_function(self->registry, spec->function,
							 &job->func_data);
		if (job->func == NULL) {
			g_set_error(&job->error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "unknown function '%s'", spec->function);
		}
	}
	/* a start failure goes through the done queue too: it is reported from the main loop,
	 * never from inside start() */
	if (job->error != NULL) {
		job->not_started = TRUE;
		job->state = ARK_EXECUTOR_THREAD_JOB_DONE;
		ark_executor_thread_push_done(self, job);
		return;
	}

	if (spec->timeout > 0) {
		job->timeout_id = g_timeout_add(ark_executor_thread_usec_to_msec(spec->timeout),
						ark_executor_thread_timeout_cb, job);
	}
	/* the pool's reference */
	g_atomic_int_inc(&job->ref_count);
	/* the threads of an exclusive pool all exist, so this does not fail; if it did, the job
	 * would still be queued, and whichever thread claims it first ends it */
	if (!g_thread_pool_push(self->pool, job, &error) &&
	    g_atomic_int_compare_and_exchange(&job->state, ARK_EXECUTOR_THREAD_JOB_QUEUED,
					      ARK_EXECUTOR_THREAD_JOB_DROPPED)) {
		g_clear_handle_id(&job->timeout_id, g_source_remove);
		job->not_started = TRUE;
		job->error = g_steal_pointer(&error);
		g_prefix_error(&job->error, "failed to start a worker thread: ");
		ark_executor_thread_push_done(self, job);
	}
}

static void
ark_executor_thread_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	ArkExecutorThreadJob *job = g_hash_table_lookup(self->jobs, attempt);

	/* unknown, already ending, or about to report its start failure */
	if (job == NULL || job->not_started || job->forced_status != ARK_ATTEMPT_STATUS_RUNNING)
		return;
	/* the function has returned and its report is on the done queue: that is its real end */
	if (g_atomic_int_get(&job->state) == ARK_EXECUTOR_THREAD_JOB_DONE)
		return;
	job->forced_status = ARK_ATTEMPT_STATUS_CANCELLED;
	g_clear_handle_id(&job->timeout_id, g_source_remove);
	/* still queued: it ends now, without waiting for a thread to come free, and its function
	 * never runs */
	if (g_atomic_int_compare_and_exchange(&job->state, ARK_EXECUTOR_THREAD_JOB_QUEUED,
					      ARK_EXECUTOR_THREAD_JOB_DROPPED)) {
		ark_executor_thread_push_done(self, job);
		return;
	}
	/* the attempt finishes when the function has returned, so that its thread really is
	 * free */
	g_cancellable_cancel(job->cancellable);
}

static void
ark_executor_thread_shutdown(ArkExecutor *executor)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	g_autoptr(GList) attempts = NULL;

	if (self->shut_down)
		return;
	self->shut_down = TRUE;
	attempts = g_hash_table_get_keys(self->jobs);
	for (GList *l = attempts; l != NULL; l = l->next)
		ark_executor_thread_cancel(executor, l->data);
	/* functions honour their cancellable, so this wait is short; queued jobs were dropped,
	 * the workers only let go of them */
	if (self->pool != NULL)
		g_thread_pool_free(g_steal_pointer(&self->pool), FALSE, TRUE);
	/* the main loop may not run again: report every end now */
	g_source_set_ready_time(self->done_source, -1);
	g_atomic_int_set(&self->wake_pending, 0);
	ark_executor_thread_drain(self);
}

static void
ark_executor_thread_get_capacity(ArkExecutor *executor, ArkResources *out)
{
	*out = ARK_EXECUTOR_THREAD(executor)->capacity;
}

static guint
ark_executor_thread_get_slots(ArkExecutor *executor)
{
	return ARK_EXECUTOR_THREAD(executor)->slots;
}

/* the duration "sleep" is asked for: a duration string, a number of seconds, or either of them
 * as {"duration": ...} */
static gboolean
ark_executor_thread_sleep_parse(JsonNode *args, gint64 *out_usec, GError **error)
{
	JsonNode *node = args;
	gint64 usec = 0;

	if (node != NULL && JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObject *object = json_node_get_object(node);
		node = json_object_has_member(object, "duration")
			   ? json_object_get_member(object, "duration")
			   : NULL;
	}
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "sleep needs a duration in \"args\": \"2s\", 2 or "
				    "{\"duration\": \"2s\"}");
		return FALSE;
	}
	if (json_node_get_value_type(node) == G_TYPE_STRING) {
		g_autoptr(GError) local_error = NULL;
		if (!ark_duration_parse(json_node_get_string(node), &usec, &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "sleep: invalid duration: %s", local_error->message);
			return FALSE;
		}
	} else if (json_node_get_value_type(node) == G_TYPE_INT64 ||
		   json_node_get_value_type(node) == G_TYPE_DOUBLE) {
		gdouble seconds = json_node_get_double(node);
		if (!isfinite(seconds) || seconds < 0 ||
		    seconds * G_USEC_PER_SEC > (gdouble)ARK_EXECUTOR_THREAD_MAX_SLEEP) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "sleep: invalid duration: %g seconds", seconds);
			return FALSE;
		}
		usec = (gint64)(seconds * G_USEC_PER_SEC);
	} else {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "sleep: the duration must be a string like \"2s\" or a number "
				    "of seconds");
		return FALSE;
	}
	if (usec > ARK_EXECUTOR_THREAD_MAX_SLEEP) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "sleep: the duration is longer than a year");
		return FALSE;
	}
	*out_usec = usec;
	return TRUE;
}

static gboolean
ark_executor_thread_check_task(ArkExecutor *executor, ArkWorkflow *workflow,
			       const ArkTaskSpec *spec, GPtrArray *problems)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	guint before = problems->len;

	if (spec->run != NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "run",
					 "a thread task can not have \"run\" (commands run on the "
					 "\"process\" executor)");
	}
	if (spec->function == NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "function",
					 "missing \"function\": a thread task needs a function");
	} else if (self->registry != NULL &&
		   ark_registry_lookup_function(self->registry, spec->function, NULL) == NULL) {
		g_auto(GStrv) names =
		    ark_registry_list_names(self->registry, ARK_CAPABILITY_FUNCTION);
		g_autofree gchar *known = g_strjoinv(", ", names);
		ark_workflow_add_problem(workflow, problems, spec->index, "function",
					 "unknown function '%s' (known: %s)", spec->function,
					 known[0] != '\0' ? known : "none");
	} else if (g_str_equal(spec->function, "sleep") && self->registry != NULL &&
		   g_strcmp0(ark_registry_get_provider(self->registry, ARK_CAPABILITY_FUNCTION,
						       "sleep"),
			     "executor-thread") == 0) {
		g_autoptr(GError) error = NULL;
		gint64 usec;
		if (!ark_executor_thread_sleep_parse(spec->args, &usec, &error)) {
			ark_workflow_add_problem(workflow, problems, spec->index, "args", "%s",
						 error->message);
		}
	}
	return problems->len == before;
}

/* reads @key of the executor's group into @out_value when it is there; @out_set says whether */
static gboolean
ark_executor_thread_config_uint(const ArkExecutorSetup *setup, const gchar *key, guint max,
				guint *out_value, gboolean *out_set, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *value = NULL;
	guint64 number;

	*out_set = FALSE;
	if (setup->config == NULL || setup->group == NULL ||
	    !g_key_file_has_key(setup->config, setup->group, key, NULL))
		return TRUE;
	value = g_key_file_get_string(setup->config, setup->group, key, &local_error);
	if (value == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "[%s] %s: %s",
			    setup->group, key, local_error->message);
		return FALSE;
	}
	g_strstrip(value);
	if (!g_ascii_string_to_unsigned(value, 10, 1, max, &number, NULL)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "[%s] %s: '%s' is not a whole number from 1 to %u", setup->group, key,
			    value, max);
		return FALSE;
	}
	*out_value = (guint)number;
	*out_set = TRUE;
	return TRUE;
}

static guint
ark_executor_thread_default_threads(void)
{
	return MIN(g_get_num_processors(), ARK_EXECUTOR_THREAD_MAX_THREADS);
}

static guint
ark_executor_thread_default_slots(guint threads)
{
	return MIN(threads * ARK_EXECUTOR_THREAD_DEFAULT_WINDOW, ARK_EXECUTOR_THREAD_MAX_SLOTS);
}

static gboolean
ark_executor_thread_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	g_autoptr(GError) local_error = NULL;
	guint threads = ark_executor_thread_default_threads();
	guint slots = 0;
	gboolean threads_set;
	gboolean slots_set;

	g_return_val_if_fail(setup != NULL, FALSE);
	if (!ark_resources_read_config(setup->config, setup->group, &self->capacity, error))
		return FALSE;
	g_return_val_if_fail(setup->registry == NULL || ARK_IS_REGISTRY(setup->registry), FALSE);

	if (self->pool != NULL || self->shut_down) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED,
				    "the thread executor is already set up");
		return FALSE;
	}
	if (setup->registry == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the thread executor needs the registry to look up functions");
		return FALSE;
	}
	if (!ark_executor_thread_config_uint(setup, "threads", ARK_EXECUTOR_THREAD_MAX_THREADS,
					     &threads, &threads_set, error))
		return FALSE;
	/* checked even when the engine gives the slots: a bad value is an error wherever it is */
	if (!ark_executor_thread_config_uint(setup, "slots", ARK_EXECUTOR_THREAD_MAX_SLOTS, &slots,
					     &slots_set, error))
		return FALSE;
	if (setup->slots > 0) {
		slots = setup->slots;
		slots_set = TRUE;
	}
	if (!slots_set) {
		slots = ark_executor_thread_default_slots(threads);
	} else if (slots < threads) {
		/* a thread that can never get an attempt is a mistake when it was asked for; the
		 * default number of threads just follows a smaller window */
		if (threads_set) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] slots: %u is less than threads (%u): every worker thread "
				    "needs an attempt to run",
				    setup->group, slots, threads);
			return FALSE;
		}
		threads = slots;
	}

	/* exclusive: every thread is created here, so a failure is reported now and pushing a job
	 * later can not fail */
	self->pool = g_thread_pool_new(ark_executor_thread_run_cb, self, (gint)threads, TRUE,
				       &local_error);
	if (local_error != NULL) {
		if (self->pool != NULL)
			g_thread_pool_free(g_steal_pointer(&self->pool), TRUE, TRUE);
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
			    "failed to start %u worker threads: %s", threads, local_error->message);
		return FALSE;
	}
	self->threads = threads;
	self->slots = slots;
	self->registry = g_object_ref(setup->registry);
	g_debug("%u worker threads, %u slots", threads, slots);
	return TRUE;
}

static void
ark_executor_thread_iface_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_executor_thread_setup;
	iface->get_slots = ark_executor_thread_get_slots;
	iface->get_capacity = ark_executor_thread_get_capacity;
	iface->check_task = ark_executor_thread_check_task;
	iface->start = ark_executor_thread_start;
	iface->cancel = ark_executor_thread_cancel;
	iface->shutdown = ark_executor_thread_shutdown;
}

static void
ark_executor_thread_dispose(GObject *object)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(object);

	/* no worker may outlive the executor it pushes results to */
	ark_executor_thread_shutdown(ARK_EXECUTOR(self));
	g_clear_object(&self->registry);
	G_OBJECT_CLASS(ark_executor_thread_parent_class)->dispose(object);
}

static void
ark_executor_thread_finalize(GObject *object)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(object);

	g_source_destroy(self->done_source);
	g_source_unref(self->done_source);
	g_async_queue_unref(self->done);
	g_hash_table_unref(self->jobs);
	G_OBJECT_CLASS(ark_executor_thread_parent_class)->finalize(object);
}

static void
ark_executor_thread_init(ArkExecutorThread *self)
{
	g_autoptr(GMainContext) context = g_main_context_ref_thread_default();

	self->threads = ark_executor_thread_default_threads();
	self->slots = ark_executor_thread_default_slots(self->threads);
	self->done = g_async_queue_new();
	self->jobs = g_hash_table_new(g_direct_hash, g_direct_equal);
	/* the source does not hold a reference on the executor, which destroys it when it goes */
	self->done_source = g_source_new(&ark_executor_thread_done_funcs, sizeof(GSource));
	g_source_set_callback(self->done_source, NULL, self, NULL);
	g_source_set_name(self->done_source, "ArkExecutorThread done");
	g_source_attach(self->done_source, context);
}

static void
ark_executor_thread_class_init(ArkExecutorThreadClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = ark_executor_thread_dispose;
	object_class->finalize = ark_executor_thread_finalize;
}

/* the built-in functions */

static gboolean
ark_executor_thread_noop(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
			 gpointer user_data, GError **error)
{
	return TRUE;
}

/* the task's "args", or its "input" when it has no args, as its result (null for neither): a
 * task that hands data on, and a stand-in for one that computes it */
static gboolean
ark_executor_thread_echo(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
			 gpointer user_data, GError **error)
{
	JsonNode *value = spec->args != NULL ? spec->args : spec->input;

	*out_result = value != NULL ? json_to_string(value, FALSE) : g_strdup("null");
	return TRUE;
}

typedef struct {
	GMutex lock;
	GCond cond;
	gboolean cancelled;
} ArkExecutorThreadSleep;

/* runs in the thread that cancels (or, if already cancelled, in the sleeping one) */
static void
ark_executor_thread_sleep_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	ArkExecutorThreadSleep *sleep = user_data;

	g_mutex_lock(&sleep->lock);
	sleep->cancelled = TRUE;
	g_cond_signal(&sleep->cond);
	g_mutex_unlock(&sleep->lock);
}

static gboolean
ark_executor_thread_sleep(const ArkTaskSpec *spec, GCancellable *cancellable, gchar **out_result,
			  gpointer user_data, GError **error)
{
	ArkExecutorThreadSleep sleep = {0};
	gint64 usec = 0;
	gint64 end;
	gulong handler = 0;
	gboolean cancelled;

	if (!ark_executor_thread_sleep_parse(spec->args, &usec, error))
		return FALSE;

	g_mutex_init(&sleep.lock);
	g_cond_init(&sleep.cond);
	end = g_get_monotonic_time() + usec;
	if (cancellable != NULL) {
		handler = g_cancellable_connect(cancellable,
						G_CALLBACK(ark_executor_thread_sleep_cancelled_cb),
						&sleep, NULL);
	}
	g_mutex_lock(&sleep.lock);
	while (!sleep.cancelled) {
		if (!g_cond_wait_until(&sleep.cond, &sleep.lock, end))
			break;
	}
	cancelled = sleep.cancelled;
	g_mutex_unlock(&sleep.lock);
	/* waits for a handler running in another thread: @sleep lives on this stack */
	if (cancellable != NULL)
		g_cancellable_disconnect(cancellable, handler);
	g_cond_clear(&sleep.cond);
	g_mutex_clear(&sleep.lock);

	if (cancelled) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "sleep was cancelled");
		return FALSE;
	}
	return TRUE;
}

struct _ArkExecutorThreadPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkExecutorThreadPlugin, ark_executor_thread_plugin, ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_executor_thread_config_keys[] = {
    {"threads", ARK_CONFIG_UINT, NULL,
     "worker threads; the default is the number of CPUs", .min = 1,
     .max = ARK_EXECUTOR_THREAD_MAX_THREADS},
    {"slots", ARK_CONFIG_UINT, NULL,
     "functions dispatched at once (running or queued for a thread); default threads x 32",
     .min = 1, .max = ARK_EXECUTOR_THREAD_MAX_SLOTS},
    {"cpus", ARK_CONFIG_NUMBER, NULL,
     "CPUs the tasks running here may hold in all (their cpus); the default is the number of "
     "CPUs",
     .min = 0, .max = ARK_WORKFLOW_MAX_CPUS},
    {"memory", ARK_CONFIG_SIZE, NULL,
     "memory the tasks running here may hold in all (their memory); the default is the "
     "physical memory"},
    {"gpus", ARK_CONFIG_UINT, "0", "GPUs the tasks running here may hold in all (their gpus)",
     .min = 0, .max = ARK_WORKFLOW_MAX_GPUS},
};

static gboolean
ark_executor_thread_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, "executor-thread", "executor-thread",
					  ark_executor_thread_config_keys,
					  G_N_ELEMENTS(ark_executor_thread_config_keys), error))
		return FALSE;
	if (!ark_registry_add_type(registry, "executor-thread", ARK_CAPABILITY_EXECUTOR, "thread",
				   ARK_TYPE_EXECUTOR_THREAD, error))
		return FALSE;
	if (!ark_registry_add_function(registry, "executor-thread", "noop",
				       ark_executor_thread_noop, NULL, error))
		return FALSE;
	if (!ark_registry_add_function(registry, "executor-thread", "echo",
				       ark_executor_thread_echo, NULL, error))
		return FALSE;
	return ark_registry_add_function(registry, "executor-thread", "sleep",
					 ark_executor_thread_sleep, NULL, error);
}

static void
ark_executor_thread_plugin_init(ArkExecutorThreadPlugin *self)
{
}

static void
ark_executor_thread_plugin_class_init(ArkExecutorThreadPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_executor_thread_plugin_startup;
}

ARK_PLUGIN_DEFINE("executor-thread", ark_executor_thread_plugin_get_type, "0.1.0",
		  "LGPL-2.1-or-later",
		  "Runs in-process functions on a thread pool; built-ins: noop, echo, sleep")
