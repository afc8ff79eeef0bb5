/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-mcp-private.h"

/*
 * Resources (runs, tasks, attempt logs, the event stream, status, plugins) under the
 * arkitect:// scheme, the prompts, and argument completion. A resource's contents are the JSON
 * the matching tool returns, so that a model reading one or calling the other sees the same.
 */

#define ARK_MCP_EVENTS_READ 100
#define ARK_MCP_LOG_READ_BYTES (256 * 1024)
#define ARK_MCP_COMPLETE_MAX 100

typedef struct {
	const gchar *uri;
	const gchar *name;
	const gchar *description;
} ArkMcpStaticResource;

static const ArkMcpStaticResource ark_mcp_static_resources[] = {
    {"arkitect://status", "status", "The daemon's state, as get_status returns it"},
    {"arkitect://events", "events",
     "The last 100 committed events (run and task state changes); subscribe to it to hear of "
     "every change"},
    {"arkitect://dlq", "dead-letter queue", "Tasks whose retries are exhausted"},
    {"arkitect://plugins", "plugins", "The plugins loaded and refused"},
    {"arkitect://agents", "agents", "The registered agents, as list_agents returns them"},
};

static const struct {
	const gchar *template;
	const gchar *name;
	const gchar *description;
	const gchar *mime;
} ark_mcp_templates[] = {
    {"arkitect://runs/{run_id}", "run", "A run with its tasks", "application/json"},
    {"arkitect://runs/{run_id}/tasks/{task_id}", "task", "A task with its attempts",
     "application/json"},
    {"arkitect://runs/{run_id}/tasks/{task_id}/attempts/{attempt}/log", "attempt log",
     "The output of one attempt of a task (the last 256 KiB)", "text/plain"},
    {"arkitect://runs/{run_id}/tasks/{task_id}/explain", "explain",
     "Why a task is (or is not) running", "application/json"},
    {"arkitect://plugins/{name}", "plugin", "One plugin: version, what it provides",
     "application/json"},
    {"arkitect://agents/{agent_id}", "agent", "One agent with its trust, as get_agent returns it",
     "application/json"},
};

static JsonObject *
ark_mcp_resource_new(const gchar *uri, const gchar *name, const gchar *description,
		     const gchar *mime)
{
	JsonObject *object = json_object_new();

	json_object_set_string_member(object, "uri", uri);
	json_object_set_string_member(object, "name", name);
	if (description != NULL)
		json_object_set_string_member(object, "description", description);
	json_object_set_string_member(object, "mimeType", mime);
	return object;
}

void
ark_mcp_resources_list_static(ArkMcpServer *server, JsonArray *array)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_mcp_static_resources); i++)
		json_array_add_object_element(
		    array, ark_mcp_resource_new(ark_mcp_static_resources[i].uri,
						ark_mcp_static_resources[i].name,
						ark_mcp_static_resources[i].description,
						"application/json"));
}

void
ark_mcp_resources_list_templates(ArkMcpServer *server, JsonArray *array)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_mcp_templates); i++) {
		JsonObject *object = json_object_new();
		json_object_set_string_member(object, "uriTemplate", ark_mcp_templates[i].template);
		json_object_set_string_member(object, "name", ark_mcp_templates[i].name);
		json_object_set_string_member(object, "description",
					      ark_mcp_templates[i].description);
		json_object_set_string_member(object, "mimeType", ark_mcp_templates[i].mime);
		json_array_add_object_element(array, object);
	}
}

void
ark_mcp_resources_list_runs(ArkMcpServer *server, const gchar *after, guint limit,
			    JsonArray *array, gchar **out_next)
{
	ArkEngine *engine = ark_mcp_server_get_engine(server);
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {0};

	*out_next = NULL;
	if (engine == NULL)
		return;
	filter.after = after;
	filter.limit = limit + 1;
	filter.newest_first = TRUE;
	runs = ark_store_list_runs(ark_engine_get_store(engine), &filter, NULL);
	for (guint i = 0; runs != NULL && i < runs->len && i < limit; i++) {
		const ArkRunRecord *run = g_ptr_array_index(runs, i);
		g_autofree gchar *uri = g_strdup_printf("arkitect://runs/%s", run->id);
		g_autofree gchar *name = g_strdup_printf(
		    "run %s (%s, %s)", run->id,
		    run->workflow_name != NULL ? run->workflow_name : "unnamed",
		    ark_run_state_to_string(run->state));
		json_array_add_object_element(
		    array, ark_mcp_resource_new(uri, name, NULL, "application/json"));
	}
	if (runs != NULL && runs->len > limit)
		*out_next = g_strdup(((ArkRunRecord *)g_ptr_array_index(runs, limit - 1))->id);
}

/* reading ---------------------------------------------------------------------------------------- */

static JsonArray *
ark_mcp_contents_text(const gchar *uri, const gchar *mime, const gchar *text)
{
	JsonArray *contents = json_array_new();
	JsonObject *object = json_object_new();

	json_object_set_string_member(object, "uri", uri);
	json_object_set_string_member(object, "mimeType", mime);
	json_object_set_string_member(object, "text", text);
	json_array_add_object_element(contents, object);
	return contents;
}

static JsonArray *
ark_mcp_contents_json(const gchar *uri, JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);
	g_autofree gchar *text = json_to_string(node, FALSE);

	json_object_unref(object);
	return ark_mcp_contents_text(uri, "application/json", text);
}

static gboolean
ark_mcp_uri_segment_ok(const gchar *segment)
{
	if (segment == NULL || segment[0] == '\0' || strlen(segment) > 256)
		return FALSE;
	for (const gchar *p = segment; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

static JsonArray *
ark_mcp_read_events(ArkEngine *engine, const gchar *uri)
{
	ArkStore *store = ark_engine_get_store(engine);
	guint64 last = ark_store_get_last_event_seq(store);
	g_autoptr(GPtrArray) events = ark_store_read_events(
	    store, last > ARK_MCP_EVENTS_READ ? last - ARK_MCP_EVENTS_READ : 0, ARK_MCP_EVENTS_READ,
	    NULL);
	JsonObject *result = json_object_new();
	JsonArray *array = json_array_new();

	for (guint i = 0; events != NULL && i < events->len; i++) {
		const ArkEvent *event = g_ptr_array_index(events, i);
		JsonObject *object = json_object_new();
		g_autofree gchar *time = ark_timestamp_format(event->time);
		json_object_set_int_member(object, "seq", (gint64)event->seq);
		json_object_set_string_member(object, "time", time != NULL ? time : "");
		json_object_set_string_member(object, "kind", ark_event_kind_to_string(event->kind));
		json_object_set_string_member(object, "run_id", event->run_id);
		if (event->task_id != NULL)
			json_object_set_string_member(object, "task_id", event->task_id);
		if (event->kind == ARK_EVENT_TASK_STATE)
			json_object_set_string_member(
			    object, "state", ark_task_state_to_string((ArkTaskState)event->state));
		else if (event->kind == ARK_EVENT_RUN_FINISHED || event->kind == ARK_EVENT_RUN_STARTED)
			json_object_set_string_member(
			    object, "state", ark_run_state_to_string((ArkRunState)event->state));
		json_array_add_object_element(array, object);
	}
	json_object_set_int_member(result, "last_seq", (gint64)last);
	json_object_set_array_member(result, "events", array);
	return ark_mcp_contents_json(uri, result);
}

static JsonArray *
ark_mcp_read_run(ArkEngine *engine, const gchar *uri, gchar **parts, gint *out_code,
		 gchar **out_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	guint n = g_strv_length(parts);
	ArkTaskRecord *task = NULL;
	JsonObject *result;
	JsonArray *array;

	run = ark_store_get_run(ark_engine_get_store(engine), parts[0], &error);
	if (run == NULL) {
		*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
		*out_message = g_strdup_printf("Resource not found: there is no run %s", parts[0]);
		return NULL;
	}
	tasks = ark_store_list_tasks(ark_engine_get_store(engine), run->id, NULL);
	if (n == 1) {
		result = json_object_new();
		json_object_set_object_member(result, "run", ark_mcp_run_to_json(engine, run));
		array = json_array_new();
		for (guint i = 0; tasks != NULL && i < tasks->len; i++)
			json_array_add_object_element(
			    array, ark_mcp_task_record_to_json(g_ptr_array_index(tasks, i)));
		json_object_set_array_member(result, "tasks", array);
		return ark_mcp_contents_json(uri, result);
	}
	for (guint i = 0; tasks != NULL && i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		if (g_strcmp0(t->task_id, parts[2]) == 0)
			task = t;
	}
	if (task == NULL) {
		*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
		*out_message =
		    g_strdup_printf("Resource not found: run %s has no task '%s'", run->id, parts[2]);
		return NULL;
	}
	if (n == 3) {
		g_autoptr(GPtrArray) attempts = ark_store_list_attempts(
		    ark_engine_get_store(engine), run->id, task->task_id, NULL);
		result = ark_mcp_task_record_to_json(task);
		array = json_array_new();
		for (guint i = 0; attempts != NULL && i < attempts->len; i++) {
			const ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
			JsonObject *object = json_object_new();
			g_autofree gchar *started = ark_timestamp_format(a->started_at);
			g_autofree gchar *finished = ark_timestamp_format(a->finished_at);
			g_autofree gchar *log = g_strdup_printf("%s/attempts/%u/log", uri, a->number);
			json_object_set_int_member(object, "number", a->number);
			json_object_set_string_member(object, "status",
						      ark_attempt_status_to_string(a->status));
			if (started != NULL)
				json_object_set_string_member(object, "started_at", started);
			if (finished != NULL)
				json_object_set_string_member(object, "finished_at", finished);
			if (a->error != NULL)
				json_object_set_string_member(object, "error", a->error);
			json_object_set_string_member(object, "log", log);
			json_array_add_object_element(array, object);
		}
		json_object_set_array_member(result, "attempts", array);
		return ark_mcp_contents_json(uri, result);
	}
	if (n == 4 && g_strcmp0(parts[3], "explain") == 0) {
		JsonObject *explain = ark_engine_explain_task(engine, run->id, task->task_id, &error);
		if (explain == NULL) {
			*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
			*out_message = g_strdup_printf("Resource not found: %s", error->message);
			return NULL;
		}
		return ark_mcp_contents_json(uri, explain);
	}
	if (n == 6 && g_strcmp0(parts[3], "attempts") == 0 && g_strcmp0(parts[5], "log") == 0) {
		g_autoptr(GPtrArray) attempts = ark_store_list_attempts(
		    ark_engine_get_store(engine), run->id, task->task_id, NULL);
		g_autofree gchar *path = NULL;
		g_autofree gchar *text = NULL;
		guint64 number = 0;
		gint64 offset = 0;
		gint64 size = 0;

		(void)g_ascii_string_to_unsigned(parts[4], 10, 1, G_MAXUINT32, &number, NULL);
		for (guint i = 0; attempts != NULL && i < attempts->len; i++) {
			const ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
			if (a->number == number)
				path = ark_mcp_attempt_log_path(engine, a);
		}
		if (number == 0 || attempts == NULL || number > attempts->len) {
			*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
			*out_message = g_strdup_printf("Resource not found: task '%s' has no "
						       "attempt %s",
						       task->task_id, parts[4]);
			return NULL;
		}
		if (path == NULL ||
		    !ark_mcp_read_log(path, -1, ARK_MCP_LOG_READ_BYTES, &text, &offset, &size, NULL))
			text = g_strdup("");
		return ark_mcp_contents_text(uri, "text/plain", text);
	}
	*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
	*out_message = g_strdup_printf("Resource not found: %s", uri);
	return NULL;
}

JsonArray *
ark_mcp_resources_read(ArkMcpServer *server, const gchar *uri, gint *out_code,
		       gchar **out_message)
{
	ArkEngine *engine = ark_mcp_server_get_engine(server);
	g_auto(GStrv) parts = NULL;
	const gchar *path;
	guint n;

	*out_code = ARK_MCP_RESOURCE_NOT_FOUND;
	if (!g_str_has_prefix(uri, "arkitect://")) {
		*out_message = g_strdup_printf("Resource not found: %s (this server's resources "
					       "are arkitect:// URIs)",
					       uri);
		return NULL;
	}
	if (engine == NULL) {
		*out_code = ARK_MCP_INTERNAL_ERROR;
		*out_message = g_strdup("this MCP server has no engine");
		return NULL;
	}
	path = uri + strlen("arkitect://");
	if (g_strcmp0(path, "agents") == 0 || g_str_has_prefix(path, "agents/"))
		return ark_mcp_agents_read(engine, uri, out_code, out_message);
	if (g_strcmp0(path, "status") == 0 || g_strcmp0(path, "plugins") == 0 ||
	    g_strcmp0(path, "dlq") == 0) {
		/* the same JSON as the tools */
		JsonObject *object;
		if (g_strcmp0(path, "plugins") == 0) {
			object = ark_mcp_plugins_json(engine);
		} else if (g_strcmp0(path, "dlq") == 0) {
			g_autoptr(GPtrArray) tasks = NULL;
			ArkTaskFilter filter = {0};
			JsonArray *array = json_array_new();
			filter.state_mask = 1u << ARK_TASK_STATE_DEAD;
			filter.limit = 1000;
			tasks = ark_store_find_tasks(ark_engine_get_store(engine), &filter, NULL);
			for (guint i = 0; tasks != NULL && i < tasks->len; i++)
				json_array_add_object_element(
				    array, ark_mcp_task_record_to_json(g_ptr_array_index(tasks, i)));
			object = json_object_new();
			json_object_set_array_member(object, "entries", array);
		} else {
			object = json_object_new();
			json_object_set_string_member(object, "version", PACKAGE_VERSION);
			json_object_set_string_member(object, "state",
						      ark_engine_is_accepting(engine, NULL)
							  ? "running"
							  : "draining");
			json_object_set_int_member(object, "open_runs",
						   ark_engine_get_n_open_runs(engine));
			json_object_set_int_member(object, "queue_depth",
						   ark_engine_get_queue_depth(engine, NULL));
		}
		return ark_mcp_contents_json(uri, object);
	}
	if (g_strcmp0(path, "events") == 0)
		return ark_mcp_read_events(engine, uri);
	parts = g_strsplit(path, "/", 8);
	n = g_strv_length(parts);
	for (guint i = 0; i < n; i++) {
		if (!ark_mcp_uri_segment_ok(parts[i])) {
			*out_message = g_strdup_printf("Resource not found: %s", uri);
			return NULL;
		}
	}
	if (n == 2 && g_strcmp0(parts[0], "plugins") == 0) {
		g_autoptr(JsonObject) all = ark_mcp_plugins_json(engine);
		JsonArray *plugins = json_object_get_array_member(all, "plugins");
		for (guint i = 0; plugins != NULL && i < json_array_get_length(plugins); i++) {
			JsonObject *plugin = json_array_get_object_element(plugins, i);
			if (g_strcmp0(ark_mcp_get_string(plugin, "name"), parts[1]) == 0)
				return ark_mcp_contents_json(uri, json_object_ref(plugin));
		}
		*out_message = g_strdup_printf("Resource not found: no plugin '%s' is loaded",
					       parts[1]);
		return NULL;
	}
	if (n >= 2 && g_strcmp0(parts[0], "runs") == 0 &&
	    (n == 2 || (n >= 4 && g_strcmp0(parts[2], "tasks") == 0)))
		return ark_mcp_read_run(engine, uri, parts + 1, out_code, out_message);
	*out_message = g_strdup_printf("Resource not found: %s", uri);
	return NULL;
}

/* prompts ---------------------------------------------------------------------------------------- */

static JsonObject *
ark_mcp_prompt_new(const gchar *name, const gchar *title, const gchar *description,
		   const gchar *const *args, const gchar *const *arg_descriptions,
		   const gboolean *required)
{
	JsonObject *object = json_object_new();
	JsonArray *array = json_array_new();

	json_object_set_string_member(object, "name", name);
	json_object_set_string_member(object, "title", title);
	json_object_set_string_member(object, "description", description);
	for (guint i = 0; args[i] != NULL; i++) {
		JsonObject *arg = json_object_new();
		json_object_set_string_member(arg, "name", args[i]);
		json_object_set_string_member(arg, "description", arg_descriptions[i]);
		json_object_set_boolean_member(arg, "required", required[i]);
		json_array_add_object_element(array, arg);
	}
	json_object_set_array_member(object, "arguments", array);
	return object;
}

void
ark_mcp_prompts_list(ArkMcpServer *server, JsonArray *array)
{
	static const gchar *const diagnose_args[] = {"run_id", NULL};
	static const gchar *const diagnose_desc[] = {"the run that failed"};
	static const gboolean diagnose_required[] = {TRUE};
	static const gchar *const draft_args[] = {"goal", "policy", NULL};
	static const gchar *const draft_desc[] = {
	    "what the workflow should do, in words",
	    "a scheduling policy to use (optional; get_status lists them)"};
	static const gboolean draft_required[] = {TRUE, FALSE};

	json_array_add_object_element(
	    array, ark_mcp_prompt_new("diagnose_failed_run", "Diagnose a failed run",
				      "Finds why a run failed from its tasks, their logs and "
				      "explanations, and proposes a fix",
				      diagnose_args, diagnose_desc, diagnose_required));
	json_array_add_object_element(
	    array, ark_mcp_prompt_new("draft_workflow", "Draft a workflow",
				      "Writes an Arkitect workflow document for a goal and "
				      "submits it once it validates",
				      draft_args, draft_desc, draft_required));
}

static JsonObject *
ark_mcp_prompt_result(const gchar *description, const gchar *text)
{
	JsonObject *result = json_object_new();
	JsonArray *messages = json_array_new();
	JsonObject *message = json_object_new();

	json_object_set_string_member(message, "role", "user");
	json_object_set_object_member(message, "content", ark_mcp_text_content(text));
	json_array_add_object_element(messages, message);
	json_object_set_string_member(result, "description", description);
	json_object_set_array_member(result, "messages", messages);
	return result;
}

JsonObject *
ark_mcp_prompts_get(ArkMcpServer *server, const gchar *name, JsonObject *arguments,
		    gchar **out_message)
{
	if (g_strcmp0(name, "diagnose_failed_run") == 0) {
		const gchar *run_id = ark_mcp_get_string(arguments, "run_id");
		g_autofree gchar *text = NULL;
		ArkEngine *engine = ark_mcp_server_get_engine(server);
		g_autoptr(GString) summary = g_string_new(NULL);

		if (run_id == NULL || run_id[0] == '\0') {
			*out_message = g_strdup("prompt diagnose_failed_run needs argument run_id");
			return NULL;
		}
		/* what the store says now, so that the model starts from facts */
		if (engine != NULL && ark_mcp_uri_segment_ok(run_id)) {
			g_autoptr(ArkRunRecord) run =
			    ark_store_get_run(ark_engine_get_store(engine), run_id, NULL);
			g_autoptr(GPtrArray) tasks =
			    run != NULL ? ark_store_list_tasks(ark_engine_get_store(engine), run_id,
							       NULL)
					: NULL;
			if (run == NULL) {
				*out_message = g_strdup_printf("there is no run %s", run_id);
				return NULL;
			}
			g_string_append_printf(summary, "Run %s (workflow %s) is %s%s%s.\n", run->id,
					       run->workflow_name, ark_run_state_to_string(run->state),
					       run->reason != NULL ? ": " : "",
					       run->reason != NULL ? run->reason : "");
			for (guint i = 0; tasks != NULL && i < tasks->len; i++) {
				const ArkTaskRecord *t = g_ptr_array_index(tasks, i);
				if (t->state == ARK_TASK_STATE_SUCCEEDED)
					continue;
				g_string_append_printf(summary, "- task %s: %s, %u attempt(s)%s%s\n",
						       t->task_id, ark_task_state_to_string(t->state),
						       t->attempts, t->reason != NULL ? ", " : "",
						       t->reason != NULL ? t->reason : "");
			}
		}
		text = g_strdup_printf(
		    "Diagnose why Arkitect run %s failed.\n\n%s\n"
		    "Steps: call get_run for the tasks; for each failed or dead task call "
		    "read_task_log with tail_lines=50 and explain_task; find the first cause (a task "
		    "that failed on its own, not one skipped because of it). Then say what went "
		    "wrong in two or three sentences and propose a fix: a change to the command or "
		    "the workflow, or retry_task with set={...} when only the attempt's settings "
		    "(timeout, retries) were wrong. Do not retry before you have a cause.",
		    run_id, summary->str);
		return ark_mcp_prompt_result("Diagnose a failed run", text);
	}
	if (g_strcmp0(name, "draft_workflow") == 0) {
		const gchar *goal = ark_mcp_get_string(arguments, "goal");
		const gchar *policy = ark_mcp_get_string(arguments, "policy");
		g_autofree gchar *text = NULL;

		if (goal == NULL || goal[0] == '\0') {
			*out_message = g_strdup("prompt draft_workflow needs argument goal");
			return NULL;
		}
		text = g_strdup_printf(
		    "Write an Arkitect workflow for this goal: %s\n\n"
		    "The format is JSON: {\"name\": \"...\", \"defaults\": {\"timeout\": \"10m\", "
		    "\"retry\": {\"max\": 2, \"backoff\": \"exponential\", \"initial\": \"1s\"}}, "
		    "\"tasks\": [{\"id\": \"build\", \"run\": [\"make\", \"-j4\"]}, {\"id\": "
		    "\"test\", \"needs\": [\"build\"], \"run\": [\"make\", \"check\"]}]}. Each task "
		    "has a unique id, an argv array in run (no shell unless you write [\"sh\", "
		    "\"-c\", \"...\"]), and needs naming the tasks it waits for; independent tasks "
		    "run in parallel.%s%s\n\n"
		    "Show the document, then call submit_workflow with it. If it returns problems, "
		    "fix each one and submit again.",
		    goal, policy != NULL ? " Use scheduling policy " : "",
		    policy != NULL ? policy : "");
		return ark_mcp_prompt_result("Draft a workflow", text);
	}
	*out_message = g_strdup_printf("Unknown prompt: %s (prompts/list names them)", name);
	return NULL;
}

/* completion ------------------------------------------------------------------------------------- */

static void
ark_mcp_complete_add(JsonArray *values, const gchar *candidate, const gchar *prefix)
{
	if (json_array_get_length(values) < ARK_MCP_COMPLETE_MAX &&
	    g_str_has_prefix(candidate, prefix))
		json_array_add_string_element(values, candidate);
}

static void
ark_mcp_complete_runs(ArkEngine *engine, const gchar *prefix, JsonArray *values)
{
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {0};

	filter.limit = 1000;
	filter.newest_first = TRUE;
	runs = ark_store_list_runs(ark_engine_get_store(engine), &filter, NULL);
	for (guint i = 0; runs != NULL && i < runs->len; i++)
		ark_mcp_complete_add(values, ((ArkRunRecord *)g_ptr_array_index(runs, i))->id,
				     prefix);
}

static void
ark_mcp_complete_tasks(ArkEngine *engine, const gchar *run_id, const gchar *prefix,
		       JsonArray *values)
{
	g_autoptr(GPtrArray) tasks = NULL;

	if (run_id == NULL || !ark_mcp_uri_segment_ok(run_id))
		return;
	tasks = ark_store_list_tasks(ark_engine_get_store(engine), run_id, NULL);
	for (guint i = 0; tasks != NULL && i < tasks->len; i++)
		ark_mcp_complete_add(values, ((ArkTaskRecord *)g_ptr_array_index(tasks, i))->task_id,
				     prefix);
}

JsonArray *
ark_mcp_complete(ArkMcpServer *server, JsonObject *ref, const gchar *argument,
		 const gchar *value, JsonObject *context, gchar **out_message)
{
	ArkEngine *engine = ark_mcp_server_get_engine(server);
	const gchar *type = ark_mcp_get_string(ref, "type");
	JsonArray *values;

	if (g_strcmp0(type, "ref/prompt") == 0) {
		const gchar *name = ark_mcp_get_string(ref, "name");
		if (g_strcmp0(name, "diagnose_failed_run") != 0 &&
		    g_strcmp0(name, "draft_workflow") != 0 &&
		    !(ark_mcp_server_get_fixtures(server) && name != NULL &&
		      g_str_has_prefix(name, "test_"))) {
			*out_message = g_strdup_printf("Unknown prompt: %s",
						       name != NULL ? name : "(no name)");
			return NULL;
		}
		values = json_array_new();
		if (engine != NULL && g_strcmp0(argument, "run_id") == 0)
			ark_mcp_complete_runs(engine, value, values);
		else if (engine != NULL && g_strcmp0(argument, "policy") == 0) {
			g_auto(GStrv) names = ark_registry_list_names(
			    ark_engine_get_registry(engine), ARK_CAPABILITY_POLICY);
			for (guint i = 0; names != NULL && names[i] != NULL; i++)
				ark_mcp_complete_add(values, names[i], value);
		}
		return values;
	}
	if (g_strcmp0(type, "ref/resource") == 0) {
		const gchar *uri = ark_mcp_get_string(ref, "uri");
		if (uri == NULL) {
			*out_message = g_strdup("ref/resource needs a uri");
			return NULL;
		}
		values = json_array_new();
		if (engine == NULL)
			return values;
		if (g_strcmp0(argument, "run_id") == 0)
			ark_mcp_complete_runs(engine, value, values);
		else if (g_strcmp0(argument, "task_id") == 0)
			ark_mcp_complete_tasks(engine, ark_mcp_get_string(context, "run_id"), value,
					       values);
		else if (g_strcmp0(argument, "name") == 0) {
			g_autoptr(JsonObject) all = ark_mcp_plugins_json(engine);
			JsonArray *plugins = json_object_get_array_member(all, "plugins");
			for (guint i = 0; plugins != NULL && i < json_array_get_length(plugins); i++) {
				const gchar *name = ark_mcp_get_string(
				    json_array_get_object_element(plugins, i), "name");
				if (name != NULL)
					ark_mcp_complete_add(values, name, value);
			}
		}
		return values;
	}
	*out_message = g_strdup("ref.type must be ref/prompt or ref/resource");
	return NULL;
}
