/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <math.h>

/* the longest sleep accepted: a bound that keeps every later computation far from overflow */
#define ARK_EXECUTOR_THREAD_MAX_SLEEP ((gint64)366 * 24 * 3600 * G_USEC_PER_SEC)

#define ARK_TYPE_EXECUTOR_THREAD (ark_executor_thread_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorThread, ark_executor_thread, ARK, EXECUTOR_THREAD, GObject)

#define ARK_TYPE_EXECUTOR_THREAD_PLUGIN (ark_executor_thread_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorThreadPlugin, ark_executor_thread_plugin, ARK,
		     EXECUTOR_THREAD_PLUGIN, ArkPlugin)

/*
 * Worker threads hand finished jobs back through @done. The main context is woken only when the
 * queue goes from empty to non-empty (@wake_pending guards it), and one dispatch of @done_source
 * drains everything queued by then: under load, one wakeup finishes many attempts.
 */
struct _ArkExecutorThread {
	GObject parent_instance;
	guint slots;
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
 * One attempt. The main thread owns it, except between g_thread_pool_push() and the push onto
 * the done queue, when only the worker touches @ok, @result and @error; @forced_status and
 * @timeout_id stay main-thread-only throughout, the worker sees a cancel only through
 * @cancellable.
 */
typedef struct {
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

static void
ark_executor_thread_job_free(ArkExecutorThreadJob *job)
{
	g_clear_handle_id(&job->timeout_id, g_source_remove);
	g_clear_object(&job->cancellable);
	g_clear_error(&job->error);
	g_free(job->result);
	ark_attempt_unref(job->attempt);
	g_free(job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkExecutorThreadJob, ark_executor_thread_job_free)

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
	g_autoptr(ArkExecutorThreadJob) owned = job;
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

	/* cancelled while it waited for a thread: the function never starts */
	if (!g_cancellable_is_cancelled(job->cancellable)) {
		job->ok = job->func(ark_attempt_get_spec(job->attempt), job->cancellable,
				    &job->result, job->func_data, &job->error);
		if (job->ok)
			g_clear_error(&job->error);
		else
			g_clear_pointer(&job->result, g_free);
	}
	ark_executor_thread_push_done(self, job);
}

static gboolean
ark_executor_thread_timeout_cb(gpointer user_data)
{
	ArkExecutorThreadJob *job = user_data;

	job->timeout_id = 0;
	job->forced_status = ARK_ATTEMPT_STATUS_TIMED_OUT;
	g_cancellable_cancel(job->cancellable);
	return G_SOURCE_REMOVE;
}

static guint
ark_executor_thread_usec_to_msec(gint64 usec)
{
	gint64 msec = (usec + 999) / 1000;
	return (guint)CLAMP(msec, 0, (gint64)G_MAXUINT);
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
		ark_executor_thread_push_done(self, job);
		return;
	}

	if (spec->timeout > 0) {
		job->timeout_id = g_timeout_add(ark_executor_thread_usec_to_msec(spec->timeout),
						ark_executor_thread_timeout_cb, job);
	}
	if (!g_thread_pool_push(self->pool, job, &error)) {
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
	job->forced_status = ARK_ATTEMPT_STATUS_CANCELLED;
	g_clear_handle_id(&job->timeout_id, g_source_remove);
	/* the attempt finishes when the function has returned, so that its slot really is free */
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
	/* functions honour their cancellable, so this wait is short; queued jobs see theirs
	 * cancelled and do not run */
	if (self->pool != NULL)
		g_thread_pool_free(g_steal_pointer(&self->pool), FALSE, TRUE);
	/* the main loop may not run again: report every end now */
	g_source_set_ready_time(self->done_source, -1);
	g_atomic_int_set(&self->wake_pending, 0);
	ark_executor_thread_drain(self);
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

static gboolean
ark_executor_thread_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkExecutorThread *self = ARK_EXECUTOR_THREAD(executor);
	guint slots;

	g_return_val_if_fail(setup != NULL, FALSE);
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
	slots = setup->slots > 0 ? setup->slots : g_get_num_processors();
	self->pool = g_thread_pool_new(ark_executor_thread_run_cb, self, (gint)MIN(slots, G_MAXINT),
				       FALSE, error);
	if (self->pool == NULL)
		return FALSE;
	self->slots = slots;
	self->registry = g_object_ref(setup->registry);
	return TRUE;
}

static void
ark_executor_thread_iface_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_executor_thread_setup;
	iface->get_slots = ark_executor_thread_get_slots;
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

	self->slots = g_get_num_processors();
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

static gboolean
ark_executor_thread_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_type(registry, "executor-thread", ARK_CAPABILITY_EXECUTOR, "thread",
				   ARK_TYPE_EXECUTOR_THREAD, error))
		return FALSE;
	if (!ark_registry_add_function(registry, "executor-thread", "noop",
				       ark_executor_thread_noop, NULL, error))
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
		  "Runs in-process functions on a thread pool; built-ins: noop, sleep")
