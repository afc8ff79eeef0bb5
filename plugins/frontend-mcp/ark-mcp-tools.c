/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ark-mcp-private.h"

/*
 * The tools: the engine's control plane as an AI assistant sees it. Names are short snake_case
 * (some hosts reject anything else), input schemas flat objects (LLM APIs refuse top-level
 * combinators), and every successful answer carries structuredContent matching the tool's
 * outputSchema (the TypeScript SDK checks it) with a text copy. Whatever the model can fix
 * itself (a bad workflow, an unknown run, a finished run) is a tool error with isError, in words
 * it can act on; JSON-RPC errors are kept for malformed calls.
 */

#define ARK_MCP_LOG_DEFAULT_BYTES (64 * 1024)
#define ARK_MCP_LOG_MAX_BYTES (1024 * 1024)
#define ARK_MCP_LIST_DEFAULT 50
#define ARK_MCP_LIST_MAX 200
#define ARK_MCP_WAIT_DEFAULT_S 600
#define ARK_MCP_WAIT_MAX_S 86400

/* JSON records --------------------------------------------------------------------------------- */

static void
ark_mcp_set_time(JsonObject *object, const gchar *name, ArkTimestamp ts)
{
	g_autofree gchar *text = ark_timestamp_format(ts);

	if (text != NULL)
		json_object_set_string_member(object, name, text);
	else
		json_object_set_null_member(object, name);
}

static void
ark_mcp_set_string_or_null(JsonObject *object, const gchar *name, const gchar *value)
{
	if (value != NULL)
		json_object_set_string_member(object, name, value);
	else
		json_object_set_null_member(object, name);
}

JsonObject *
ark_mcp_run_to_json(ArkEngine *engine, const ArkRunRecord *run)
{
	JsonObject *object = json_object_new();
	JsonObject *counts = json_object_new();
	guint n[ARK_TASK_STATE_LAST] = {0};

	/* a run not open here: what the store has (zeros when it can not be read) */
	if (!ark_engine_get_task_counts(engine, run->id, n) &&
	    !ark_store_count_tasks(ark_engine_get_store(engine), run->id, n, NULL))
		memset(n, 0, sizeof(n));
	json_object_set_string_member(object, "id", run->id);
	ark_mcp_set_string_or_null(object, "workflow", run->workflow_name);
	json_object_set_string_member(object, "state", ark_run_state_to_string(run->state));
	ark_mcp_set_string_or_null(object, "policy", run->policy);
	ark_mcp_set_string_or_null(object, "submitter", run->submitter);
	json_object_set_int_member(object, "n_tasks", run->n_tasks);
	ark_mcp_set_time(object, "created_at", run->created_at);
	ark_mcp_set_time(object, "started_at", run->started_at);
	ark_mcp_set_time(object, "finished_at", run->finished_at);
	ark_mcp_set_string_or_null(object, "reason", run->reason);
	ark_mcp_set_string_or_null(object, "cancelled_by", run->cancelled_by);
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (n[s] > 0)
			json_object_set_int_member(counts, ark_task_state_to_string((ArkTaskState)s),
						   n[s]);
	}
	json_object_set_object_member(object, "task_counts", counts);
	return object;
}

JsonObject *
ark_mcp_task_record_to_json(const ArkTaskRecord *task)
{
	JsonObject *object = json_object_new();

	json_object_set_string_member(object, "run_id", task->run_id);
	json_object_set_string_member(object, "id", task->task_id);
	json_object_set_string_member(object, "state", ark_task_state_to_string(task->state));
	json_object_set_int_member(object, "attempts", task->attempts);
	if (task->exit_code >= 0)
		json_object_set_int_member(object, "exit_code", task->exit_code);
	else
		json_object_set_null_member(object, "exit_code");
	ark_mcp_set_time(object, "started_at", task->started_at);
	ark_mcp_set_time(object, "finished_at", task->finished_at);
	ark_mcp_set_string_or_null(object, "reason", task->reason);
	ark_mcp_set_time(object, "next_attempt_at", task->next_attempt_at);
	return object;
}

/* schemas shared by the outputs */
#define ARK_MCP_NULLABLE_STRING "{\"type\":[\"string\",\"null\"]}"
#define ARK_MCP_RUN_SCHEMA                                                                         \
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"                       \
	"\"workflow\":" ARK_MCP_NULLABLE_STRING ",\"state\":{\"type\":\"string\"},"                \
	"\"policy\":" ARK_MCP_NULLABLE_STRING ",\"submitter\":" ARK_MCP_NULLABLE_STRING ","        \
	"\"n_tasks\":{\"type\":\"integer\"},\"created_at\":" ARK_MCP_NULLABLE_STRING ","           \
	"\"started_at\":" ARK_MCP_NULLABLE_STRING ",\"finished_at\":" ARK_MCP_NULLABLE_STRING ","  \
	"\"reason\":" ARK_MCP_NULLABLE_STRING ",\"cancelled_by\":" ARK_MCP_NULLABLE_STRING ","     \
	"\"task_counts\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}},"  \
	"\"required\":[\"id\",\"state\",\"n_tasks\",\"task_counts\"]}"
#define ARK_MCP_TASK_SCHEMA                                                                        \
	"{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"string\"},"                   \
	"\"id\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"                            \
	"\"attempts\":{\"type\":\"integer\"},\"exit_code\":{\"type\":[\"integer\",\"null\"]},"     \
	"\"started_at\":" ARK_MCP_NULLABLE_STRING ",\"finished_at\":" ARK_MCP_NULLABLE_STRING ","  \
	"\"reason\":" ARK_MCP_NULLABLE_STRING ",\"next_attempt_at\":" ARK_MCP_NULLABLE_STRING "}," \
	"\"required\":[\"run_id\",\"id\",\"state\",\"attempts\"]}"

/* argument checks ------------------------------------------------------------------------------ */

ArkEngine *
ark_mcp_tool_engine(ArkMcpCall *call)
{
	ArkEngine *engine = ark_mcp_call_get_engine(call);

	if (engine == NULL)
		ark_mcp_call_tool_error(call, "this MCP server has no engine to act on");
	return engine;
}

/* a required (or optional) string argument; FALSE after a tool error */
gboolean
ark_mcp_arg_string(ArkMcpCall *call, JsonObject *args, const gchar *name, gboolean required,
		   gsize max_len, const gchar **out)
{
	JsonNode *node = json_object_get_member(args, name);

	*out = NULL;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		if (!required)
			return TRUE;
		ark_mcp_call_tool_error(call, "argument '%s' is required (a string)", name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING ||
	    json_node_get_string(node)[0] == '\0' || strlen(json_node_get_string(node)) > max_len) {
		ark_mcp_call_tool_error(call, "argument '%s' must be a non-empty string of at most "
					      "%" G_GSIZE_FORMAT " bytes",
					name, max_len);
		return FALSE;
	}
	*out = json_node_get_string(node);
	return TRUE;
}

gboolean
ark_mcp_arg_int(ArkMcpCall *call, JsonObject *args, const gchar *name, gint64 min, gint64 max,
		gint64 fallback, gint64 *out)
{
	JsonNode *node = json_object_get_member(args, name);
	gdouble value;

	*out = fallback;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || (json_node_get_value_type(node) != G_TYPE_INT64 &&
					     json_node_get_value_type(node) != G_TYPE_DOUBLE)) {
		ark_mcp_call_tool_error(call, "argument '%s' must be a number", name);
		return FALSE;
	}
	value = json_node_get_value_type(node) == G_TYPE_INT64 ? (gdouble)json_node_get_int(node)
							       : json_node_get_double(node);
	if (value < (gdouble)min || value > (gdouble)max) {
		ark_mcp_call_tool_error(call,
					"argument '%s' must be between %" G_GINT64_FORMAT
					" and %" G_GINT64_FORMAT,
					name, min, max);
		return FALSE;
	}
	*out = (gint64)value;
	return TRUE;
}

static gboolean
ark_mcp_arg_bool(ArkMcpCall *call, JsonObject *args, const gchar *name, gboolean *out)
{
	JsonNode *node = json_object_get_member(args, name);

	*out = FALSE;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
		ark_mcp_call_tool_error(call, "argument '%s' must be true or false", name);
		return FALSE;
	}
	*out = json_node_get_boolean(node);
	return TRUE;
}

static gboolean
ark_mcp_valid_id(const gchar *id)
{
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

/* the run named by argument run_id; NULL after a tool error */
static ArkRunRecord *
ark_mcp_arg_run(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	const gchar *run_id;
	ArkRunRecord *run;

	if (engine == NULL || !ark_mcp_arg_string(call, args, "run_id", TRUE, 128, &run_id))
		return NULL;
	if (!ark_mcp_valid_id(run_id)) {
		ark_mcp_call_tool_error(call, "'%s' is not a run id; list_runs shows them", run_id);
		return NULL;
	}
	run = ark_store_get_run(ark_engine_get_store(engine), run_id, &error);
	if (run == NULL) {
		if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
			ark_mcp_call_tool_error(call, "there is no run %s; list_runs shows the runs",
						run_id);
		else
			ark_mcp_call_tool_error(call, "could not read run %s: %s", run_id,
						error->message);
	}
	return run;
}

/* the tasks of @run with the one named by argument task_id in @out_task; NULL after an error */
static GPtrArray *
ark_mcp_arg_task(ArkMcpCall *call, JsonObject *args, const ArkRunRecord *run,
		 ArkTaskRecord **out_task)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	const gchar *task_id;

	*out_task = NULL;
	if (!ark_mcp_arg_string(call, args, "task_id", TRUE, 256, &task_id))
		return NULL;
	tasks = ark_store_list_tasks(ark_engine_get_store(ark_mcp_call_get_engine(call)), run->id,
				     &error);
	if (tasks == NULL) {
		ark_mcp_call_tool_error(call, "could not read the tasks of run %s: %s", run->id,
					error->message);
		return NULL;
	}
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) == 0) {
			*out_task = task;
			return g_steal_pointer(&tasks);
		}
	}
	{
		g_autoptr(GString) names = g_string_new(NULL);
		for (guint i = 0; i < tasks->len && i < 20; i++)
			g_string_append_printf(names, "%s%s", i > 0 ? ", " : "",
					       ((ArkTaskRecord *)g_ptr_array_index(tasks, i))->task_id);
		ark_mcp_call_tool_error(call, "run %s has no task '%s' (its tasks: %s%s)", run->id,
					task_id, names->str, tasks->len > 20 ? ", ..." : "");
	}
	return NULL;
}

static void
ark_mcp_audit(ArkMcpCall *call, const gchar *action, const gchar *target, const GError *error,
	      const gchar *detail)
{
	ArkAuditEntry entry = {0};
	g_autoptr(GError) local_error = NULL;

	entry.actor = ark_mcp_call_get_actor(call) != NULL ? ark_mcp_call_get_actor(call) : "mcp";
	entry.origin = ark_mcp_call_get_origin(call);
	entry.action = action;
	entry.target = target;
	entry.result = error == NULL ? "ok"
		       : error->domain == ARK_ERROR
			   ? ark_error_to_string((ArkError)error->code)
			   : "failed";
	entry.detail = detail;
	if (!ark_engine_audit(ark_mcp_call_get_engine(call), &entry, TRUE, &local_error))
		g_warning("could not write the audit record of %s %s: %s", action,
			  target != NULL ? target : "", local_error->message);
}

/* waiting for runs ----------------------------------------------------------------------------- */

typedef struct {
	ArkMcpServer *server;
	ArkMcpCall *call;
	gchar *run_id;
	guint timeout_id;
	gboolean include_tasks;
} ArkMcpWaiter;

static GHashTable *
ark_mcp_waiters(ArkMcpServer *server)
{
	/* run id -> GPtrArray of ArkMcpWaiter; one table per process is enough: waiters name their
	 * server */
	static GHashTable *waiters = NULL;

	if (waiters == NULL)
		waiters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)g_ptr_array_unref);
	return waiters;
}

static void
ark_mcp_waiter_unhook(ArkMcpWaiter *waiter)
{
	GPtrArray *list = g_hash_table_lookup(ark_mcp_waiters(waiter->server), waiter->run_id);

	g_clear_handle_id(&waiter->timeout_id, g_source_remove);
	if (list != NULL) {
		g_ptr_array_remove(list, waiter);
		if (list->len == 0)
			g_hash_table_remove(ark_mcp_waiters(waiter->server), waiter->run_id);
	}
}

static void
ark_mcp_waiter_free(gpointer data)
{
	ArkMcpWaiter *waiter = data;

	ark_mcp_waiter_unhook(waiter);
	g_free(waiter->run_id);
	g_free(waiter);
}

static void
ark_mcp_waiter_cancel_cb(gpointer call, gpointer data)
{
	ark_mcp_waiter_unhook(data);
}

/* answers the waiting call with the run as it is */
static void
ark_mcp_waiter_answer(ArkMcpWaiter *waiter, gboolean timed_out)
{
	ArkMcpCall *call = waiter->call;
	ArkEngine *engine = ark_mcp_call_get_engine(call);
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	JsonObject *result;

	ark_mcp_waiter_unhook(waiter);
	run = ark_store_get_run(ark_engine_get_store(engine), waiter->run_id, &error);
	if (run == NULL) {
		ark_mcp_call_tool_error(call, "could not read run %s: %s", waiter->run_id,
					error->message);
		return;
	}
	/* the last word on progress: the run's last task events may come after it closed */
	if (ark_run_state_is_terminal(run->state) && ark_mcp_call_has_progress(call)) {
		g_autofree gchar *message =
		    g_strdup_printf("the run %s", ark_run_state_to_string(run->state));
		ark_mcp_call_progress(call, run->n_tasks, run->n_tasks, message);
	}
	result = json_object_new();
	json_object_set_string_member(result, "run_id", run->id);
	json_object_set_string_member(result, "state", ark_run_state_to_string(run->state));
	json_object_set_boolean_member(result, "finished", ark_run_state_is_terminal(run->state));
	json_object_set_boolean_member(result, "timed_out", timed_out);
	json_object_set_object_member(result, "run", ark_mcp_run_to_json(engine, run));
	ark_mcp_call_tool_ok(call, result);
}

static gboolean
ark_mcp_waiter_timeout_cb(gpointer data)
{
	ArkMcpWaiter *waiter = data;

	waiter->timeout_id = 0;
	ark_mcp_waiter_answer(waiter, TRUE);
	return G_SOURCE_REMOVE;
}

static void
ark_mcp_waiter_progress(ArkMcpWaiter *waiter, ArkEngine *engine, const ArkEvent *event)
{
	guint counts[ARK_TASK_STATE_LAST] = {0};
	guint done = 0;
	guint total = 0;
	g_autofree gchar *message = NULL;

	/* a task that failed is worth a log message (at the level the client set) */
	if (event->kind == ARK_EVENT_TASK_STATE && event->task_id != NULL &&
	    (event->state == ARK_TASK_STATE_FAILED || event->state == ARK_TASK_STATE_DEAD ||
	     event->state == ARK_TASK_STATE_RETRY_WAIT)) {
		g_autofree gchar *text = g_strdup_printf(
		    "run %s: task %s is %s", waiter->run_id, event->task_id,
		    ark_task_state_to_string((ArkTaskState)event->state));
		ark_mcp_call_log(waiter->call,
				 event->state == ARK_TASK_STATE_RETRY_WAIT ? "notice" : "warning",
				 "arkitect.run", json_node_init_string(json_node_alloc(), text));
	}
	if (!ark_mcp_call_has_progress(waiter->call) ||
	    !ark_engine_get_task_counts(engine, waiter->run_id, counts))
		return;
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		total += counts[s];
		if (ark_task_state_is_terminal((ArkTaskState)s))
			done += counts[s];
	}
	if (event->task_id != NULL)
		message = g_strdup_printf("%u of %u tasks finished; %s is %s", done, total,
					  event->task_id,
					  event->kind == ARK_EVENT_TASK_STATE
					      ? ark_task_state_to_string((ArkTaskState)event->state)
					      : ark_event_kind_to_string(event->kind));
	else
		message = g_strdup_printf("%u of %u tasks finished", done, total);
	ark_mcp_call_progress(waiter->call, done, total, message);
}

void
ark_mcp_tools_push_event(ArkMcpServer *server, const ArkEvent *event)
{
	GPtrArray *list;
	g_autoptr(GPtrArray) copy = NULL;

	if (event->run_id == NULL)
		return;
	list = g_hash_table_lookup(ark_mcp_waiters(server), event->run_id);
	if (list == NULL)
		return;
	copy = g_ptr_array_copy(list, NULL, NULL);
	for (guint i = 0; i < copy->len; i++) {
		ArkMcpWaiter *waiter = g_ptr_array_index(copy, i);
		if (waiter->server != server)
			continue;
		if (event->kind == ARK_EVENT_RUN_FINISHED)
			ark_mcp_waiter_answer(waiter, FALSE);
		else if (event->kind == ARK_EVENT_TASK_STATE)
			ark_mcp_waiter_progress(waiter, ark_mcp_server_get_engine(server), event);
	}
}

/* waits for run @run_id to finish, then answers @call; at once when it is finished already */
static void
ark_mcp_wait_run(ArkMcpCall *call, const gchar *run_id, gint64 timeout_s)
{
	ArkMcpServer *server = ark_mcp_call_get_server(call);
	ArkEngine *engine = ark_mcp_call_get_engine(call);
	ArkMcpWaiter *waiter = g_new0(ArkMcpWaiter, 1);
	g_autoptr(ArkRunRecord) run = NULL;
	GPtrArray *list;

	waiter->server = server;
	waiter->call = call;
	waiter->run_id = g_strdup(run_id);
	ark_mcp_call_set_cancel(call, ark_mcp_waiter_cancel_cb, waiter, ark_mcp_waiter_free);
	/* the store decides: a run the engine has just closed may not have its final state
	 * committed yet, and its run.finished event is still to come */
	run = ark_store_get_run(ark_engine_get_store(engine), run_id, NULL);
	if (run == NULL || ark_run_state_is_terminal(run->state)) {
		ark_mcp_waiter_answer(waiter, FALSE);
		return;
	}
	list = g_hash_table_lookup(ark_mcp_waiters(server), run_id);
	if (list == NULL) {
		list = g_ptr_array_new();
		g_hash_table_insert(ark_mcp_waiters(server), g_strdup(run_id), list);
	}
	g_ptr_array_add(list, waiter);
	waiter->timeout_id = g_timeout_add_seconds((guint)timeout_s, ark_mcp_waiter_timeout_cb,
						   waiter);
	ark_mcp_call_progress(call, 0, 0, "waiting for the run to finish");
}

/* the tools ------------------------------------------------------------------------------------ */

static void
ark_mcp_tool_get_status(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GPtrArray) checks = NULL;
	g_auto(GStrv) policies = NULL;
	g_auto(GStrv) executors = NULL;
	JsonObject *result;
	JsonArray *array;

	if (engine == NULL)
		return;
	checks = ark_engine_check_health(engine);
	policies = ark_registry_list_names(ark_engine_get_registry(engine), ARK_CAPABILITY_POLICY);
	executors = ark_engine_list_executors(engine);
	result = json_object_new();
	json_object_set_string_member(result, "version", PACKAGE_VERSION);
	json_object_set_string_member(result, "state",
				      ark_engine_is_accepting(engine, NULL) ? "running" : "draining");
	json_object_set_int_member(result, "open_runs", ark_engine_get_n_open_runs(engine));
	json_object_set_int_member(result, "queue_depth", ark_engine_get_queue_depth(engine, NULL));
	json_object_set_string_member(result, "default_policy",
				      ark_engine_get_default_policy(engine));
	array = json_array_new();
	for (guint i = 0; policies != NULL && policies[i] != NULL; i++)
		json_array_add_string_element(array, policies[i]);
	json_object_set_array_member(result, "policies", array);
	array = json_array_new();
	for (guint i = 0; executors != NULL && executors[i] != NULL; i++) {
		JsonObject *executor = json_object_new();
		guint slots = 0;
		guint in_use = 0;
		(void)ark_engine_get_executor_slots(engine, executors[i], &slots, &in_use);
		json_object_set_string_member(executor, "name", executors[i]);
		json_object_set_int_member(executor, "slots", slots);
		json_object_set_int_member(executor, "in_use", in_use);
		json_array_add_object_element(array, executor);
	}
	json_object_set_array_member(result, "executors", array);
	array = json_array_new();
	for (guint i = 0; i < checks->len; i++) {
		const ArkHealthCheck *check = g_ptr_array_index(checks, i);
		JsonObject *object = json_object_new();
		json_object_set_string_member(object, "name", check->name);
		json_object_set_string_member(object, "status",
					      ark_health_status_to_string(check->status));
		ark_mcp_set_string_or_null(object, "message", check->message);
		json_array_add_object_element(array, object);
	}
	json_object_set_array_member(result, "health", array);
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_list_runs(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GPtrArray) runs = NULL;
	g_autoptr(GError) error = NULL;
	ArkRunFilter filter = {0};
	const gchar *state = NULL;
	const gchar *cursor = NULL;
	const gchar *workflow = NULL;
	JsonObject *result;
	JsonArray *array;
	gint64 limit;

	if (engine == NULL || !ark_mcp_arg_string(call, args, "state", FALSE, 32, &state) ||
	    !ark_mcp_arg_string(call, args, "workflow", FALSE, 256, &workflow) ||
	    !ark_mcp_arg_string(call, args, "cursor", FALSE, 128, &cursor) ||
	    !ark_mcp_arg_int(call, args, "limit", 1, ARK_MCP_LIST_MAX, ARK_MCP_LIST_DEFAULT, &limit))
		return;
	if (state != NULL) {
		ArkRunState s;
		if (!ark_run_state_from_string(state, &s)) {
			ark_mcp_call_tool_error(call, "state must be pending, running, succeeded, "
						      "failed or cancelled");
			return;
		}
		filter.state_mask = 1u << s;
	}
	if (cursor != NULL && !ark_mcp_valid_id(cursor)) {
		ark_mcp_call_tool_error(call, "cursor must be a next_cursor from list_runs");
		return;
	}
	filter.workflow_name = workflow;
	filter.after = cursor;
	filter.limit = (guint)limit + 1;
	filter.newest_first = TRUE;
	runs = ark_store_list_runs(ark_engine_get_store(engine), &filter, &error);
	if (runs == NULL) {
		ark_mcp_call_tool_error(call, "could not list runs: %s", error->message);
		return;
	}
	result = json_object_new();
	array = json_array_new();
	for (guint i = 0; i < runs->len && i < (guint)limit; i++)
		json_array_add_object_element(array,
					      ark_mcp_run_to_json(engine, g_ptr_array_index(runs, i)));
	json_object_set_array_member(result, "runs", array);
	if (runs->len > (guint)limit)
		json_object_set_string_member(
		    result, "next_cursor",
		    ((ArkRunRecord *)g_ptr_array_index(runs, (guint)limit - 1))->id);
	else
		json_object_set_null_member(result, "next_cursor");
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_get_run(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *result;
	JsonArray *array;

	if (run == NULL)
		return;
	tasks = ark_store_list_tasks(ark_engine_get_store(ark_mcp_call_get_engine(call)), run->id,
				     &error);
	if (tasks == NULL) {
		ark_mcp_call_tool_error(call, "could not read the tasks of run %s: %s", run->id,
					error->message);
		return;
	}
	result = json_object_new();
	json_object_set_object_member(result, "run",
				      ark_mcp_run_to_json(ark_mcp_call_get_engine(call), run));
	array = json_array_new();
	for (guint i = 0; i < tasks->len; i++)
		json_array_add_object_element(array,
					      ark_mcp_task_record_to_json(g_ptr_array_index(tasks, i)));
	json_object_set_array_member(result, "tasks", array);
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_submit_workflow(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	JsonNode *workflow_node = json_object_get_member(args, "workflow");
	g_autofree gchar *text = NULL;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = NULL;
	g_autoptr(ArkRunRecord) existing = NULL;
	g_autoptr(GString) detail = NULL;
	ArkSubmitOptions options = {0};
	const gchar *policy = NULL;
	const gchar *key = NULL;
	gboolean wait = FALSE;
	gint64 timeout_s;
	JsonObject *result;

	if (engine == NULL || !ark_mcp_arg_string(call, args, "policy", FALSE, 128, &policy) ||
	    !ark_mcp_arg_string(call, args, "idempotency_key", FALSE, 255, &key) ||
	    !ark_mcp_arg_bool(call, args, "wait", &wait) ||
	    !ark_mcp_arg_int(call, args, "timeout_seconds", 1, ARK_MCP_WAIT_MAX_S,
			     ARK_MCP_WAIT_DEFAULT_S, &timeout_s))
		return;
	if (workflow_node != NULL && JSON_NODE_HOLDS_OBJECT(workflow_node))
		text = json_to_string(workflow_node, FALSE);
	else if (workflow_node != NULL && JSON_NODE_HOLDS_VALUE(workflow_node) &&
		 json_node_get_value_type(workflow_node) == G_TYPE_STRING)
		text = g_strdup(json_node_get_string(workflow_node));
	if (text == NULL) {
		ark_mcp_call_tool_error(call, "argument 'workflow' is required: the workflow document "
					      "as an object ({\"name\": ..., \"tasks\": [...]}) or "
					      "as JSON text");
		return;
	}
	/* a key seen before answers with that run, whatever the document says */
	if (key != NULL) {
		existing = ark_store_find_run_by_idempotency_key(ark_engine_get_store(engine), key,
								 NULL);
		if (existing != NULL)
			run_id = g_strdup(existing->id);
	}
	if (run_id == NULL) {
		workflow = ark_workflow_parse(text, -1, &problems);
		if (workflow != NULL) {
			g_ptr_array_set_size(problems, 0);
			if (!ark_engine_check_workflow(engine, workflow, policy, problems))
				g_clear_pointer(&workflow, ark_workflow_unref);
		}
		if (workflow == NULL) {
			g_autoptr(GString) message = g_string_new(NULL);
			g_string_append_printf(message,
					       "The workflow was not submitted: it has %u "
					       "problem%s. Fix them and call submit_workflow "
					       "again.\n",
					       problems->len, problems->len == 1 ? "" : "s");
			for (guint i = 0; i < problems->len; i++) {
				g_autofree gchar *line =
				    ark_problem_to_string(g_ptr_array_index(problems, i), NULL);
				g_string_append_printf(message, "- %s\n", line);
			}
			ark_mcp_call_tool_error(call, "%s", message->str);
			return;
		}
		options.policy = policy;
		options.submitter =
		    ark_mcp_call_get_actor(call) != NULL ? ark_mcp_call_get_actor(call) : "mcp";
		options.idempotency_key = key;
		run_id = ark_engine_submit(engine, workflow, &options, &error);
		detail = g_string_new("{\"workflow\":");
		ark_json_append_string(detail, ark_workflow_get_name(workflow));
		g_string_append_printf(detail, ",\"n_tasks\":%u}",
				       ark_workflow_get_n_tasks(workflow));
		ark_mcp_audit(call, "run.submit", run_id, error, detail->str);
		if (run_id == NULL) {
			ark_mcp_call_tool_error(call, "the run could not be accepted: %s",
						error->message);
			return;
		}
	}
	if (wait) {
		ark_mcp_wait_run(call, run_id, timeout_s);
		return;
	}
	result = json_object_new();
	json_object_set_string_member(result, "run_id", run_id);
	json_object_set_boolean_member(result, "existed", existing != NULL);
	{
		g_autoptr(ArkRunRecord) run =
		    ark_store_get_run(ark_engine_get_store(engine), run_id, NULL);
		if (run != NULL) {
			json_object_set_string_member(result, "state",
						      ark_run_state_to_string(run->state));
			json_object_set_object_member(result, "run",
						      ark_mcp_run_to_json(engine, run));
		}
	}
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_wait_for_run(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	gint64 timeout_s;

	if (run == NULL || !ark_mcp_arg_int(call, args, "timeout_seconds", 1, ARK_MCP_WAIT_MAX_S,
					    ARK_MCP_WAIT_DEFAULT_S, &timeout_s))
		return;
	ark_mcp_wait_run(call, run->id, timeout_s);
}

static void
ark_mcp_tool_cancel_run(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	g_autoptr(ArkRunRecord) now = NULL;
	g_autoptr(GError) error = NULL;
	ArkEngine *engine = ark_mcp_call_get_engine(call);
	const gchar *reason = NULL;
	JsonObject *result;

	if (run == NULL || !ark_mcp_arg_string(call, args, "reason", FALSE, 1024, &reason))
		return;
	if (!ark_run_state_is_terminal(run->state)) {
		gboolean ok = ark_engine_cancel_run(engine, run->id, ark_mcp_call_get_actor(call),
						    reason, &error);
		ark_mcp_audit(call, "run.cancel", run->id, ok ? NULL : error, NULL);
		if (!ok) {
			ark_mcp_call_tool_error(call, "run %s could not be cancelled: %s", run->id,
						error->message);
			return;
		}
	}
	now = ark_store_get_run(ark_engine_get_store(engine), run->id, NULL);
	result = json_object_new();
	json_object_set_boolean_member(result, "was_finished", ark_run_state_is_terminal(run->state));
	json_object_set_object_member(result, "run",
				      ark_mcp_run_to_json(engine, now != NULL ? now : run));
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_respond_task_now(ArkMcpCall *call, const gchar *run_id, const gchar *task_id,
			 const gchar *note)
{
	g_autoptr(GPtrArray) tasks =
	    ark_store_list_tasks(ark_engine_get_store(ark_mcp_call_get_engine(call)), run_id, NULL);

	for (guint i = 0; tasks != NULL && i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) == 0) {
			JsonObject *result = json_object_new();
			json_object_set_string_member(result, "note", note);
			json_object_set_object_member(result, "task",
						      ark_mcp_task_record_to_json(task));
			ark_mcp_call_tool_ok(call, result);
			return;
		}
	}
	ark_mcp_call_tool_error(call, "task '%s' of run %s is gone", task_id, run_id);
}

static void
ark_mcp_tool_cancel_task(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *target = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *reason = NULL;

	if (run == NULL || !ark_mcp_arg_string(call, args, "reason", FALSE, 1024, &reason))
		return;
	tasks = ark_mcp_arg_task(call, args, run, &task);
	if (tasks == NULL)
		return;
	if (ark_task_state_is_terminal(task->state)) {
		ark_mcp_respond_task_now(call, run->id, task->task_id,
					 "the task had already finished: nothing was cancelled");
		return;
	}
	target = g_strdup_printf("%s/%s", run->id, task->task_id);
	if (!ark_engine_cancel_task(ark_mcp_call_get_engine(call), run->id, task->task_id,
				    ark_mcp_call_get_actor(call), reason, &error)) {
		ark_mcp_audit(call, "task.cancel", target, error, NULL);
		ark_mcp_call_tool_error(call, "task '%s' could not be cancelled: %s", task->task_id,
					error->message);
		return;
	}
	ark_mcp_audit(call, "task.cancel", target, NULL, NULL);
	ark_mcp_respond_task_now(call, run->id, task->task_id,
				 "cancelled; tasks that need it are skipped");
}

/* retry_task and replay_dlq: set is an object of task members to override */
static void
ark_mcp_replay(ArkMcpCall *call, JsonObject *args, gboolean dead_only)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *target = NULL;
	g_autofree gchar *detail = NULL;
	ArkTaskRecord *task = NULL;
	JsonNode *set = json_object_get_member(args, "set");
	JsonObject *overrides = NULL;

	if (run == NULL)
		return;
	tasks = ark_mcp_arg_task(call, args, run, &task);
	if (tasks == NULL)
		return;
	if (set != NULL && !JSON_NODE_HOLDS_NULL(set)) {
		if (!JSON_NODE_HOLDS_OBJECT(set)) {
			ark_mcp_call_tool_error(call, "argument 'set' must be an object of task "
						      "members to change, e.g. {\"timeout\": "
						      "\"5m\"}");
			return;
		}
		overrides = json_node_get_object(set);
		detail = json_to_string(set, FALSE);
	}
	if (dead_only && task->state != ARK_TASK_STATE_DEAD) {
		ark_mcp_call_tool_error(call,
					"task '%s' of run %s is not in the dead-letter queue (it is "
					"%s); use retry_task for a failed task",
					task->task_id, run->id, ark_task_state_to_string(task->state));
		return;
	}
	target = g_strdup_printf("%s/%s", run->id, task->task_id);
	if (!ark_engine_replay_task(ark_mcp_call_get_engine(call), run->id, task->task_id,
				    overrides, ark_mcp_call_get_actor(call), &error)) {
		ark_mcp_audit(call, dead_only ? "dlq.replay" : "task.retry", target, error, detail);
		ark_mcp_call_tool_error(call, "task '%s' could not be %s: %s", task->task_id,
					dead_only ? "replayed" : "retried", error->message);
		return;
	}
	ark_mcp_audit(call, dead_only ? "dlq.replay" : "task.retry", target, NULL, detail);
	ark_mcp_respond_task_now(call, run->id, task->task_id,
				 "queued again with a new attempt");
}

static void
ark_mcp_tool_retry_task(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_replay(call, args, FALSE);
}

static void
ark_mcp_tool_replay_dlq(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_replay(call, args, TRUE);
}

gchar *
ark_mcp_attempt_log_path(ArkEngine *engine, const ArkAttemptRecord *attempt)
{
	const gchar *state_dir = ark_engine_get_state_dir(engine);
	g_autofree gchar *name = NULL;

	if (attempt->log_path != NULL)
		return g_strdup(attempt->log_path);
	if (attempt->status != ARK_ATTEMPT_STATUS_RUNNING || state_dir == NULL)
		return NULL;
	name = g_strdup_printf("attempt-%u.log", attempt->number);
	return g_build_filename(state_dir, "logs", attempt->run_id, attempt->task_id, name, NULL);
}

/* reads @max bytes of @path from @offset (or the last @max with @offset < 0) */
gboolean
ark_mcp_read_log(const gchar *path, gint64 offset, gsize max, gchar **out_text,
		 gint64 *out_offset, gint64 *out_size, GError **error)
{
	g_autofree gchar *buf = NULL;
	struct stat st;
	gssize n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, ARK_ERROR,
			    errsv == ENOENT ? ARK_ERROR_NOT_FOUND : ARK_ERROR_FAILED,
			    "the log can not be opened: %s", g_strerror(errsv));
		return FALSE;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED, "the log is not a file");
		return FALSE;
	}
	if (offset < 0)
		offset = MAX((gint64)st.st_size - (gint64)max, 0);
	offset = MIN(offset, (gint64)st.st_size);
	buf = g_malloc(max + 1);
	n = pread(fd, buf, max, offset);
	close(fd);
	if (n < 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, "the log can not be read: %s",
			    g_strerror(errno));
		return FALSE;
	}
	*out_text = g_utf8_make_valid(buf, n);
	*out_offset = offset;
	*out_size = st.st_size;
	return TRUE;
}

static void
ark_mcp_tool_read_task_log(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	ArkEngine *engine = ark_mcp_call_get_engine(call);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	ArkTaskRecord *task = NULL;
	const ArkAttemptRecord *attempt = NULL;
	gint64 number;
	gint64 offset;
	gint64 max_bytes;
	gint64 tail_lines;
	gint64 start = 0;
	gint64 size = 0;
	JsonObject *result;

	if (run == NULL)
		return;
	tasks = ark_mcp_arg_task(call, args, run, &task);
	if (tasks == NULL ||
	    !ark_mcp_arg_int(call, args, "attempt", 1, G_MAXUINT32, 0, &number) ||
	    !ark_mcp_arg_int(call, args, "offset", 0, G_MAXINT64, -1, &offset) ||
	    !ark_mcp_arg_int(call, args, "max_bytes", 1, ARK_MCP_LOG_MAX_BYTES,
			     ARK_MCP_LOG_DEFAULT_BYTES, &max_bytes) ||
	    !ark_mcp_arg_int(call, args, "tail_lines", 1, 100000, 0, &tail_lines))
		return;
	attempts = ark_store_list_attempts(ark_engine_get_store(engine), run->id, task->task_id,
					   &error);
	if (attempts == NULL) {
		ark_mcp_call_tool_error(call, "could not read the attempts: %s", error->message);
		return;
	}
	if (attempts->len == 0) {
		ark_mcp_call_tool_error(call, "task '%s' has not started yet (it is %s): there is no "
					      "log; explain_task says why",
					task->task_id, ark_task_state_to_string(task->state));
		return;
	}
	for (guint i = 0; i < attempts->len; i++) {
		const ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		if (number == 0 || a->number == (guint)number)
			attempt = a;
	}
	if (attempt == NULL) {
		ark_mcp_call_tool_error(call, "task '%s' has attempts 1 to %u; there is no attempt "
					      "%" G_GINT64_FORMAT,
					task->task_id, attempts->len, number);
		return;
	}
	path = ark_mcp_attempt_log_path(engine, attempt);
	/* tail: the end of the log, whatever the offset */
	if (path == NULL || !ark_mcp_read_log(path, tail_lines > 0 ? -1 : offset,
					      (gsize)max_bytes, &text, &start, &size, &error)) {
		if (error == NULL || g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND)) {
			text = g_strdup("");
			start = 0;
		} else {
			ark_mcp_call_tool_error(call, "%s", error->message);
			return;
		}
	}
	if (tail_lines > 0) {
		/* the last tail_lines lines of what was read */
		const gchar *p = text + strlen(text);
		gint64 lines = 0;
		if (p > text && p[-1] == '\n')
			p--;
		while (p > text) {
			if (p[-1] == '\n' && ++lines == tail_lines)
				break;
			p--;
		}
		start += p - text;
		memmove(text, p, strlen(p) + 1);
	}
	result = json_object_new();
	json_object_set_string_member(result, "run_id", run->id);
	json_object_set_string_member(result, "task_id", task->task_id);
	json_object_set_int_member(result, "attempt", attempt->number);
	json_object_set_string_member(result, "status",
				      ark_attempt_status_to_string(attempt->status));
	json_object_set_int_member(result, "offset", start);
	json_object_set_int_member(result, "next_offset", start + (gint64)strlen(text));
	json_object_set_int_member(result, "size", size);
	json_object_set_boolean_member(result, "eof", start + (gint64)strlen(text) >= size);
	json_object_set_string_member(result, "text", text);
	ark_mcp_call_tool_ok(call, result);
}

static void
ark_mcp_tool_list_dlq(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskFilter filter = {0};
	const gchar *cursor = NULL;
	JsonObject *result;
	JsonArray *array;
	guint64 offset = 0;
	gint64 limit;

	if (engine == NULL || !ark_mcp_arg_string(call, args, "cursor", FALSE, 32, &cursor) ||
	    !ark_mcp_arg_int(call, args, "limit", 1, ARK_MCP_LIST_MAX, ARK_MCP_LIST_DEFAULT, &limit))
		return;
	if (cursor != NULL && !g_ascii_string_to_unsigned(cursor, 10, 0, G_MAXUINT, &offset, NULL)) {
		ark_mcp_call_tool_error(call, "cursor must be a next_cursor from list_dlq");
		return;
	}
	filter.state_mask = 1u << ARK_TASK_STATE_DEAD;
	filter.limit = (guint)(offset + (guint64)limit + 1);
	tasks = ark_store_find_tasks(ark_engine_get_store(engine), &filter, &error);
	if (tasks == NULL) {
		ark_mcp_call_tool_error(call, "could not read the dead-letter queue: %s",
					error->message);
		return;
	}
	result = json_object_new();
	array = json_array_new();
	for (guint i = (guint)offset; i < tasks->len && i < offset + (guint64)limit; i++)
		json_array_add_object_element(array,
					      ark_mcp_task_record_to_json(g_ptr_array_index(tasks, i)));
	json_object_set_array_member(result, "entries", array);
	if (tasks->len > offset + (guint64)limit) {
		g_autofree gchar *next = g_strdup_printf("%" G_GUINT64_FORMAT, offset + (guint64)limit);
		json_object_set_string_member(result, "next_cursor", next);
	} else {
		json_object_set_null_member(result, "next_cursor");
	}
	ark_mcp_call_tool_ok(call, result);
}

JsonObject *
ark_mcp_plugins_json(ArkEngine *engine)
{
	ArkPluginLoader *loader = ark_engine_get_plugin_loader(engine);
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	if (loader != NULL) {
		ark_plugin_loader_build_json(loader, builder);
	} else {
		json_builder_set_member_name(builder, "plugins");
		json_builder_begin_array(builder);
		json_builder_end_array(builder);
		json_builder_set_member_name(builder, "refused");
		json_builder_begin_array(builder);
		json_builder_end_array(builder);
	}
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	return json_object_ref(json_node_get_object(root));
}

static void
ark_mcp_tool_list_plugins(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);

	if (engine != NULL)
		ark_mcp_call_tool_ok(call, ark_mcp_plugins_json(engine));
}

static void
ark_mcp_tool_explain_task(ArkMcpCall *call, JsonObject *args)
{
	ArkEngine *engine = ark_mcp_tool_engine(call);
	g_autoptr(GError) error = NULL;
	const gchar *run_id = NULL;
	const gchar *task_id = NULL;
	JsonObject *explain;

	if (engine == NULL || !ark_mcp_arg_string(call, args, "run_id", TRUE, 128, &run_id) ||
	    !ark_mcp_arg_string(call, args, "task_id", TRUE, 256, &task_id))
		return;
	explain = ark_engine_explain_task(engine, run_id, task_id, &error);
	if (explain == NULL) {
		ark_mcp_call_tool_error(call, "%s%s", error->message,
					g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND)
					    ? " (list_runs and get_run show what exists)"
					    : "");
		return;
	}
	ark_mcp_call_tool_ok(call, explain);
}

static void
ark_mcp_tool_add_task(ArkMcpCall *call, JsonObject *args)
{
	g_autoptr(ArkRunRecord) run = ark_mcp_arg_run(call, args);
	JsonNode *task = json_object_get_member(args, "task");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *target = NULL;
	const gchar *task_id;

	if (run == NULL)
		return;
	if (task == NULL || !JSON_NODE_HOLDS_OBJECT(task)) {
		ark_mcp_call_tool_error(call, "argument 'task' is required: a task object as in the "
					      "workflow format, e.g. {\"id\": \"report\", \"needs\": "
					      "[\"build\"], \"run\": [\"make\", \"report\"]}");
		return;
	}
	task_id = ark_mcp_get_string(json_node_get_object(task), "id");
	target = g_strdup_printf("%s/%s", run->id, task_id != NULL ? task_id : "");
	if (!ark_engine_add_task(ark_mcp_call_get_engine(call), run->id, json_node_get_object(task),
				 ark_mcp_call_get_actor(call), &error)) {
		ark_mcp_audit(call, "task.add", target, error, NULL);
		ark_mcp_call_tool_error(call, "the task was not added to run %s:\n%s", run->id,
					error->message);
		return;
	}
	ark_mcp_audit(call, "task.add", target, NULL, NULL);
	ark_mcp_respond_task_now(call, run->id, task_id, "added to the run");
}

/* the table -------------------------------------------------------------------------------------- */

#define ARK_MCP_RUN_ID_PROP "\"run_id\":{\"type\":\"string\",\"description\":\"the run's id\"}"
#define ARK_MCP_TASK_ID_PROP                                                                       \
	"\"task_id\":{\"type\":\"string\",\"description\":\"the task's id in the workflow\"}"
#define ARK_MCP_SET_PROP                                                                           \
	"\"set\":{\"type\":\"object\",\"description\":\"task members to change for the new "       \
	"attempt, as in the workflow format, e.g. {\\\"timeout\\\": \\\"5m\\\"}\"}"
#define ARK_MCP_TASK_RESULT_SCHEMA                                                                 \
	"{\"type\":\"object\",\"properties\":{\"note\":{\"type\":\"string\"},\"task\":"           \
	ARK_MCP_TASK_SCHEMA "},\"required\":[\"task\"]}"
#define ARK_MCP_WAIT_SCHEMA                                                                        \
	"{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"string\"},"                   \
	"\"state\":{\"type\":\"string\"},\"existed\":{\"type\":\"boolean\"},"                      \
	"\"finished\":{\"type\":\"boolean\"},\"timed_out\":{\"type\":\"boolean\"},"                \
	"\"run\":" ARK_MCP_RUN_SCHEMA "},\"required\":[\"run_id\"]}"

static const ArkMcpTool ark_mcp_tools[] = {
    {"get_status", "System status",
     "The daemon's state: version, whether it accepts work, open runs, queue depth, executors "
     "with their slots in use, scheduling policies and health checks.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"version\":{\"type\":\"string\"},"
     "\"state\":{\"type\":\"string\"},\"open_runs\":{\"type\":\"integer\"},"
     "\"queue_depth\":{\"type\":\"integer\"},\"default_policy\":{\"type\":\"string\"},"
     "\"policies\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"executors\":{\"type\":\"array\"},\"health\":{\"type\":\"array\"}},"
     "\"required\":[\"version\",\"state\",\"open_runs\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_get_status},
    {"list_runs", "List runs",
     "Runs, newest first, a page at a time: pass next_cursor back as cursor for the next page. "
     "Filter by state (pending, running, succeeded, failed, cancelled) or workflow name.",
     "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\",\"enum\":[\"pending\","
     "\"running\",\"succeeded\",\"failed\",\"cancelled\"]},\"workflow\":{\"type\":\"string\"},"
     "\"cursor\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\",\"minimum\":1,"
     "\"maximum\":200}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"runs\":{\"type\":\"array\",\"items\":"
     ARK_MCP_RUN_SCHEMA "},\"next_cursor\":" ARK_MCP_NULLABLE_STRING "},"
     "\"required\":[\"runs\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_list_runs},
    {"get_run", "Get a run",
     "One run with every task: state, attempts, exit code and why it is in its state.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "},\"required\":[\"run_id\"],"
     "\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"run\":" ARK_MCP_RUN_SCHEMA ",\"tasks\":{\"type\":"
     "\"array\",\"items\":" ARK_MCP_TASK_SCHEMA "}},\"required\":[\"run\",\"tasks\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_get_run},
    {"submit_workflow", "Submit a workflow",
     "Validates a workflow document (docs/workflow-format.md: {\"name\", \"tasks\": [{\"id\", "
     "\"run\": [argv...], \"needs\": [...]}]}) and starts a run of it. Problems in the document "
     "come back as a tool error listing each one. With wait=true the call returns when the run "
     "finishes (progress notifications follow it; timeout_seconds bounds the wait); it can "
     "also run as an MCP task. idempotency_key makes a retried submission return the first "
     "run.",
     "{\"type\":\"object\",\"properties\":{\"workflow\":{\"type\":[\"object\",\"string\"],"
     "\"description\":\"the workflow document, as an object or as JSON text\"},"
     "\"policy\":{\"type\":\"string\",\"description\":\"scheduling policy (get_status lists "
     "them)\"},\"idempotency_key\":{\"type\":\"string\"},\"wait\":{\"type\":\"boolean\"},"
     "\"timeout_seconds\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400}},"
     "\"required\":[\"workflow\"],\"additionalProperties\":false}",
     ARK_MCP_WAIT_SCHEMA, ARK_MCP_OPEN_WORLD | ARK_MCP_TASK_OPTIONAL,
     ark_mcp_tool_submit_workflow},
    {"wait_for_run", "Wait for a run",
     "Returns when the run finishes (or after timeout_seconds, with timed_out=true), sending "
     "progress notifications as its tasks finish. Can run as an MCP task.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP ",\"timeout_seconds\":{"
     "\"type\":\"integer\",\"minimum\":1,\"maximum\":86400}},\"required\":[\"run_id\"],"
     "\"additionalProperties\":false}",
     ARK_MCP_WAIT_SCHEMA, ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT | ARK_MCP_TASK_OPTIONAL,
     ark_mcp_tool_wait_for_run},
    {"cancel_run", "Cancel a run",
     "Cancels every task of the run that has not finished: running ones get SIGTERM, then "
     "SIGKILL. A finished run is left as it is.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP ",\"reason\":{\"type\":"
     "\"string\"}},\"required\":[\"run_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"was_finished\":{\"type\":\"boolean\"},\"run\":"
     ARK_MCP_RUN_SCHEMA "},\"required\":[\"run\"]}",
     ARK_MCP_DESTRUCTIVE | ARK_MCP_IDEMPOTENT, ark_mcp_tool_cancel_run},
    {"cancel_task", "Cancel a task",
     "Cancels one task of an open run; tasks that need it are skipped.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "," ARK_MCP_TASK_ID_PROP
     ",\"reason\":{\"type\":\"string\"}},\"required\":[\"run_id\",\"task_id\"],"
     "\"additionalProperties\":false}",
     ARK_MCP_TASK_RESULT_SCHEMA, ARK_MCP_DESTRUCTIVE | ARK_MCP_IDEMPOTENT,
     ark_mcp_tool_cancel_task},
    {"retry_task", "Retry a task",
     "Runs a failed or dead task again with a new attempt (a finished run is reopened); set "
     "changes task members for it. Tasks skipped because of it become pending again.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "," ARK_MCP_TASK_ID_PROP
     "," ARK_MCP_SET_PROP "},\"required\":[\"run_id\",\"task_id\"],"
     "\"additionalProperties\":false}",
     ARK_MCP_TASK_RESULT_SCHEMA, ARK_MCP_OPEN_WORLD, ark_mcp_tool_retry_task},
    {"read_task_log", "Read a task's log",
     "The combined output of one attempt of a task (the last one unless attempt is given): "
     "from offset, max_bytes at a time (next_offset continues), or its last tail_lines "
     "lines.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "," ARK_MCP_TASK_ID_PROP
     ",\"attempt\":{\"type\":\"integer\",\"minimum\":1},\"offset\":{\"type\":\"integer\","
     "\"minimum\":0},\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576},"
     "\"tail_lines\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000}},"
     "\"required\":[\"run_id\",\"task_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"string\"},\"task_id\":{"
     "\"type\":\"string\"},\"attempt\":{\"type\":\"integer\"},\"status\":{\"type\":\"string\"},"
     "\"offset\":{\"type\":\"integer\"},\"next_offset\":{\"type\":\"integer\"},\"size\":{"
     "\"type\":\"integer\"},\"eof\":{\"type\":\"boolean\"},\"text\":{\"type\":\"string\"}},"
     "\"required\":[\"text\",\"offset\",\"next_offset\",\"eof\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_read_task_log},
    {"list_dlq", "List the dead-letter queue",
     "Tasks whose retries are exhausted (state dead), oldest run first, a page at a time.",
     "{\"type\":\"object\",\"properties\":{\"cursor\":{\"type\":\"string\"},\"limit\":{"
     "\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"entries\":{\"type\":\"array\",\"items\":"
     ARK_MCP_TASK_SCHEMA "},\"next_cursor\":" ARK_MCP_NULLABLE_STRING "},"
     "\"required\":[\"entries\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_list_dlq},
    {"replay_dlq", "Replay a dead-letter entry",
     "Takes a dead task out of the dead-letter queue and runs it again with a new attempt and "
     "a fresh retry budget; set changes task members for it.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "," ARK_MCP_TASK_ID_PROP
     "," ARK_MCP_SET_PROP "},\"required\":[\"run_id\",\"task_id\"],"
     "\"additionalProperties\":false}",
     ARK_MCP_TASK_RESULT_SCHEMA, ARK_MCP_OPEN_WORLD, ark_mcp_tool_replay_dlq},
    {"add_task", "Add a task to a run",
     "Adds one task to a run that is still open. task is a task object of the workflow format "
     "({\"id\", \"run\": [argv...], \"needs\": [...]}); its needs may name tasks of the run, "
     "and nothing already there can depend on it. Problems come back as a tool error.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP ",\"task\":{\"type\":"
     "\"object\",\"description\":\"the task, as in the workflow format\"}},\"required\":["
     "\"run_id\",\"task\"],\"additionalProperties\":false}",
     ARK_MCP_TASK_RESULT_SCHEMA, ARK_MCP_OPEN_WORLD, ark_mcp_tool_add_task},
    {"explain_task", "Explain a task",
     "Why a task is, or is not, running: the needs it waits for, its place in the policy "
     "queue and the executor's slots, the concurrency keys or resources that block it and who "
     "holds them, when its next retry is due, or why it ended.",
     "{\"type\":\"object\",\"properties\":{" ARK_MCP_RUN_ID_PROP "," ARK_MCP_TASK_ID_PROP
     "},\"required\":[\"run_id\",\"task_id\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"run_id\":{\"type\":\"string\"},\"task_id\":{"
     "\"type\":\"string\"},\"state\":{\"type\":\"string\"},\"summary\":{\"type\":"
     "\"string\"}},\"required\":[\"run_id\",\"task_id\",\"state\",\"summary\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_explain_task},
    {"list_plugins", "List plugins",
     "The plugins loaded (name, version, what each provides) and those refused, with why.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"plugins\":{\"type\":\"array\"},\"refused\":{"
     "\"type\":\"array\"}},\"required\":[\"plugins\"]}",
     ARK_MCP_READ_ONLY | ARK_MCP_IDEMPOTENT, ark_mcp_tool_list_plugins},
};

const ArkMcpTool *
ark_mcp_tools_get(guint *out_n)
{
	*out_n = G_N_ELEMENTS(ark_mcp_tools);
	return ark_mcp_tools;
}
