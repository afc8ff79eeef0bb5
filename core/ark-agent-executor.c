/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ark-agents-private.h"

/*
 * The "agent" executor: one attempt of an agent task is the whole coordination of its agents.
 * It runs nothing itself; it splits the attempt into pieces with the task's coordinator and
 * hands them to the engine's agents (ark-agents.c), which finish the attempt when every piece has
 * an accepted result, when an agent fails it, when the loop guard trips, or when it is cancelled
 * or times out. It is part of core like the simulated executor, and the engine registers it
 * itself under the name "agent".
 */

#define ARK_AGENT_EXECUTOR_SLOTS 100000 /* attempts coordinated at once: they cost no process */
#define ARK_AGENT_ACCEPT_TIMEOUT_S 30	/* an acceptance command is killed after this */

struct _ArkAgentExecutor {
	GObject parent_instance;
	ArkEngine *engine; /* owns this */
	ArkAgents *agents;
	guint slots;
};

static void ark_agent_executor_iface_init(ArkExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkAgentExecutor, ark_agent_executor, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR,
						    ark_agent_executor_iface_init))

static gboolean
ark_agent_executor_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkAgentExecutor *self = ARK_AGENT_EXECUTOR(executor);
	self->slots = setup->slots > 0 ? setup->slots : ARK_AGENT_EXECUTOR_SLOTS;
	return TRUE;
}

static guint
ark_agent_executor_get_slots(ArkExecutor *executor)
{
	return ARK_AGENT_EXECUTOR(executor)->slots;
}

static gboolean
ark_agent_executor_check_task(ArkExecutor *executor, ArkWorkflow *workflow,
			      const ArkTaskSpec *spec, GPtrArray *problems)
{
	if (spec->agent == NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "agent",
					 "executor 'agent' needs an \"agent\" member");
		return FALSE;
	}
	return TRUE;
}

GPtrArray *
ark_agent_executor_split(ArkAgents *agents, ArkEngine *engine, ArkAttempt *attempt,
			 GError **error)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	ArkCoordinator *coordinator = ark_agents_get_coordinator(agents, spec->agent->mode);
	g_autoptr(GPtrArray) pieces =
	    g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(JsonNode) input = NULL;

	if (coordinator == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "no coordinator '%s' is loaded",
			    spec->agent->mode);
		return NULL;
	}
	if (spec->agent->shards_from != NULL) {
		input = ark_engine_get_task_result(engine, ark_attempt_get_run_id(attempt),
						   spec->agent->shards_from, error);
		if (input == NULL) {
			g_prefix_error(error, "shards_from '%s': ", spec->agent->shards_from);
			return NULL;
		}
	} else if (spec->input != NULL) {
		input = json_node_copy(spec->input);
	} else {
		input = json_node_new(JSON_NODE_NULL);
	}
	if (!ark_coordinator_split(coordinator, spec, input, pieces, error)) {
		g_prefix_error(error, "coordinator %s could not split the input: ",
			       spec->agent->mode);
		return NULL;
	}
	if (pieces->len > ARK_AGENT_MAX_SHARDS) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    "coordinator %s split the input into %u pieces, more than %d",
			    spec->agent->mode, pieces->len, ARK_AGENT_MAX_SHARDS);
		return NULL;
	}
	for (guint i = 0; i < pieces->len; i++) {
		if (pieces->pdata[i] == NULL)
			pieces->pdata[i] = json_node_new(JSON_NODE_NULL);
	}
	return g_steal_pointer(&pieces);
}

static void
ark_agent_executor_begin(ArkAgentExecutor *self, ArkAttempt *attempt, gboolean adopted)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) pieces = NULL;

	pieces = ark_agent_executor_split(self->agents, self->engine, attempt, &error);
	if (pieces == NULL) {
		ArkAttemptResult result = {
		    .status = ARK_ATTEMPT_STATUS_ERROR,
		    .exit_code = -1,
		    .error = error->message,
		};
		ark_attempt_finish(attempt, &result);
		return;
	}
	ark_agents_work_start(self->agents, attempt, pieces, adopted);
}

static void
ark_agent_executor_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	ark_agent_executor_begin(ARK_AGENT_EXECUTOR(executor), attempt, FALSE);
}

void
ark_agent_executor_adopt(ArkExecutor *executor, ArkAttempt *attempt)
{
	g_return_if_fail(ARK_IS_AGENT_EXECUTOR(executor));
	ark_agent_executor_begin(ARK_AGENT_EXECUTOR(executor), attempt, TRUE);
}

static void
ark_agent_executor_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	ArkAgentExecutor *self = ARK_AGENT_EXECUTOR(executor);
	ark_agents_work_stop(self->agents, attempt, ARK_ATTEMPT_STATUS_CANCELLED, "cancelled");
}

static void
ark_agent_executor_shutdown(ArkExecutor *executor)
{
	/* nothing runs here: the assignments stay recorded, and the next start adopts them */
}

/* acceptance ---------------------------------------------------------------------------------- */

typedef struct {
	GSubprocess *process;
	GCancellable *cancellable;
	guint timeout_id;
	gboolean timed_out;
	gchar *command; /* argv[0], for messages */
	ArkAgentAcceptFunc callback;
	gpointer user_data;
	GDestroyNotify destroy;
} ArkAgentCheck;

static void
ark_agent_check_free(ArkAgentCheck *check)
{
	g_clear_handle_id(&check->timeout_id, g_source_remove);
	g_clear_object(&check->process);
	g_clear_object(&check->cancellable);
	g_free(check->command);
	if (check->destroy != NULL)
		check->destroy(check->user_data);
	g_free(check);
}

static gboolean
ark_agent_check_timeout_cb(gpointer user_data)
{
	ArkAgentCheck *check = user_data;
	check->timeout_id = 0;
	check->timed_out = TRUE;
	g_subprocess_force_exit(check->process);
	return G_SOURCE_REMOVE;
}

static void
ark_agent_check_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	ArkAgentCheck *check = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err_text = NULL;
	g_autofree gchar *reason = NULL;
	gboolean accepted = FALSE;

	(void)g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), res, NULL, &err_text,
						   &error);
	if (g_cancellable_is_cancelled(check->cancellable)) {
		/* whoever asked is gone */
		ark_agent_check_free(check);
		return;
	}
	if (check->timed_out) {
		reason = g_strdup_printf("the acceptance command %s did not finish within %d s",
					 check->command, ARK_AGENT_ACCEPT_TIMEOUT_S);
	} else if (error != NULL) {
		reason = g_strdup_printf("the acceptance command %s failed: %s", check->command,
					 error->message);
	} else if (g_subprocess_get_if_exited(check->process)) {
		gint status = g_subprocess_get_exit_status(check->process);
		accepted = status == 0;
		if (!accepted) {
			gchar *nl = err_text != NULL ? strchr(err_text, '\n') : NULL;
			if (nl != NULL)
				*nl = '\0';
			if (err_text != NULL && strlen(err_text) > 512)
				err_text[512] = '\0';
			reason = g_strdup_printf(
			    "the acceptance command %s exited with status %d%s%s", check->command,
			    status, err_text != NULL && err_text[0] != '\0' ? ": " : "",
			    err_text != NULL ? err_text : "");
		}
	} else {
		reason = g_strdup_printf("the acceptance command %s was killed by signal %d",
					 check->command, g_subprocess_get_term_sig(check->process));
	}
	check->callback(accepted, reason, check->user_data);
	ark_agent_check_free(check);
}

/* the result goes in through a file, not a pipe: a command that stops reading early (grep -q)
 * must not cost the daemon a SIGPIPE */
static void
ark_agent_executor_check_command(const ArkTaskSpec *spec, const gchar *text,
				 GCancellable *cancellable, ArkAgentCheck *check)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	gint fd;

	fd = g_file_open_tmp("arkitect-result-XXXXXX.json", &path, &error);
	if (fd >= 0) {
		gsize len = strlen(text), done = 0;
		while (done < len) {
			ssize_t n = write(fd, text + done, len - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				g_set_error(&error, G_IO_ERROR, g_io_error_from_errno(errno),
					    "could not write the result: %s", g_strerror(errno));
				break;
			}
			done += (gsize)n;
		}
		close(fd);
	}
	if (error == NULL) {
		launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
						     G_SUBPROCESS_FLAGS_STDERR_PIPE);
		g_subprocess_launcher_set_stdin_file_path(launcher, path);
		check->process = g_subprocess_launcher_spawnv(
		    launcher, (const gchar *const *)spec->agent->accept_command, &error);
	}
	if (path != NULL)
		(void)g_unlink(path);
	if (check->process == NULL) {
		g_autofree gchar *reason = g_strdup_printf(
		    "the acceptance command %s could not run: %s", check->command, error->message);
		check->callback(FALSE, reason, check->user_data);
		ark_agent_check_free(check);
		return;
	}
	check->timeout_id =
	    g_timeout_add_seconds(ARK_AGENT_ACCEPT_TIMEOUT_S, ark_agent_check_timeout_cb, check);
	g_subprocess_communicate_utf8_async(check->process, NULL, NULL, ark_agent_check_done_cb,
					    check);
}

void
ark_agent_executor_check_result(const ArkTaskSpec *spec, JsonNode *result,
				GCancellable *cancellable, ArkAgentAcceptFunc callback,
				gpointer user_data, GDestroyNotify destroy)
{
	ArkAgentCheck *check = g_new0(ArkAgentCheck, 1);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL;

	check->cancellable = cancellable != NULL ? g_object_ref(cancellable) : g_cancellable_new();
	check->callback = callback;
	check->user_data = user_data;
	check->destroy = destroy;
	switch (spec->agent->accept) {
	case ARK_AGENT_ACCEPT_SCHEMA:
		if (!ark_json_schema_check(spec->agent->accept_schema, result, &error))
			reason = g_strdup_printf("the result does not match the schema: %s",
						 error->message);
		callback(reason == NULL, reason, user_data);
		ark_agent_check_free(check);
		return;
	case ARK_AGENT_ACCEPT_COMMAND: {
		g_autofree gchar *text = json_to_string(result, FALSE);
		check->command = g_strdup(spec->agent->accept_command[0]);
		ark_agent_executor_check_command(spec, text, cancellable, check);
		return;
	}
	default:
		callback(TRUE, NULL, user_data);
		ark_agent_check_free(check);
		return;
	}
}

/* GObject ------------------------------------------------------------------------------------- */

ArkExecutor *
ark_agent_executor_new(ArkEngine *engine, ArkAgents *agents)
{
	ArkAgentExecutor *self = g_object_new(ARK_TYPE_AGENT_EXECUTOR, NULL);
	self->engine = engine;
	self->agents = agents;
	return ARK_EXECUTOR(self);
}

static void
ark_agent_executor_iface_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_agent_executor_setup;
	iface->get_slots = ark_agent_executor_get_slots;
	iface->check_task = ark_agent_executor_check_task;
	iface->start = ark_agent_executor_start;
	iface->cancel = ark_agent_executor_cancel;
	iface->shutdown = ark_agent_executor_shutdown;
}

static void
ark_agent_executor_class_init(ArkAgentExecutorClass *klass)
{
}

static void
ark_agent_executor_init(ArkAgentExecutor *self)
{
}
