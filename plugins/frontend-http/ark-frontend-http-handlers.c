/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ark-frontend-http-private.h"

/*
 * One function per route of ark-frontend-http-routes.c. By the time a handler runs, the route
 * matched, the token was checked against the route's scope and the body is within
 * max-body-size; what is left is validating the request itself, which every handler does before
 * it touches the engine or the store.
 */

typedef void (*ArkFrontendHttpHandler)(ArkFrontendHttp *self, SoupServerMessage *msg,
				       ArkFrontendHttpRequest *req, GHashTable *query);

#define ARK_FRONTEND_HTTP_RUNS_DEFAULT_LIMIT 100
#define ARK_FRONTEND_HTTP_RUNS_MAX_LIMIT 1000
#define ARK_FRONTEND_HTTP_TASKS_DEFAULT_LIMIT 1000
#define ARK_FRONTEND_HTTP_TASKS_MAX_LIMIT 10000
#define ARK_FRONTEND_HTTP_LOG_DEFAULT_LIMIT (1024 * 1024)
#define ARK_FRONTEND_HTTP_LOG_MAX_LIMIT (16 * 1024 * 1024)
#define ARK_FRONTEND_HTTP_MAX_REASON 1024
#define ARK_FRONTEND_HTTP_MAX_KEY 128
#define ARK_FRONTEND_HTTP_COUNTS_CACHE_MAX 10000

/* validation --------------------------------------------------------------------------------- */

gboolean
ark_frontend_http_valid_run_id(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > 128)
		return FALSE;
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

gboolean
ark_frontend_http_valid_task_id(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	/* the workflow format: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128 */
	if (len == 0 || len > ARK_WORKFLOW_MAX_ID_LEN || !(g_ascii_isalnum(id[0]) || id[0] == '_'))
		return FALSE;
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

static const gchar *
ark_frontend_http_query(GHashTable *query, const gchar *name)
{
	return query != NULL ? g_hash_table_lookup(query, name) : NULL;
}

/* an unsigned query parameter in [min, max], @fallback when absent; FALSE after a 400 */
static gboolean
ark_frontend_http_query_uint(SoupServerMessage *msg, GHashTable *query, const gchar *name,
			     guint64 fallback, guint64 min, guint64 max, guint64 *out_value)
{
	const gchar *value = ark_frontend_http_query(query, name);

	if (value == NULL) {
		*out_value = fallback;
		return TRUE;
	}
	if (!g_ascii_string_to_unsigned(value, 10, min, max, out_value, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "%s must be an integer from %" G_GUINT64_FORMAT
					  " to %" G_GUINT64_FORMAT,
					  name, min, max);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ark_frontend_http_check_run_id(SoupServerMessage *msg, const gchar *id)
{
	if (ark_frontend_http_valid_run_id(id))
		return TRUE;
	ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
				  "'%s' is not a run id", id != NULL ? id : "");
	return FALSE;
}

static gboolean
ark_frontend_http_check_task_id(SoupServerMessage *msg, const gchar *id)
{
	if (ark_frontend_http_valid_task_id(id))
		return TRUE;
	ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
				  "'%s' is not a task id", id != NULL ? id : "");
	return FALSE;
}

/* request bodies are JSON: a Content-Type, when given, must say so */
static gboolean
ark_frontend_http_check_content_type(SoupServerMessage *msg)
{
	g_autoptr(GHashTable) params = NULL;
	const gchar *type = soup_message_headers_get_content_type(
	    soup_server_message_get_request_headers(msg), &params);

	if (type == NULL || g_ascii_strcasecmp(type, "application/json") == 0 ||
	    (g_str_has_prefix(type, "application/") && g_str_has_suffix(type, "+json")))
		return TRUE;
	ark_frontend_http_problem(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
				  "unsupported-media-type",
				  "the body must be application/json, not %s", type);
	return FALSE;
}

/* checks a JSON body (syntax, depth) and answers 400 when it is not fine */
static gboolean
ark_frontend_http_check_json(ArkFrontendHttp *self, SoupServerMessage *msg, const gchar *data,
			     gsize len, ArkFrontendHttpJsonScan *scan)
{
	ArkFrontendHttpJsonScanResult result =
	    ark_frontend_http_json_scan(data, len, self->config.max_json_depth, scan);
	g_autoptr(GPtrArray) errors = NULL;
	ArkProblem problem = {0};

	if (result == ARK_FRONTEND_HTTP_JSON_SCAN_OK)
		return TRUE;
	problem.path = (gchar *)"";
	problem.line = scan->line;
	problem.column = scan->column;
	problem.message = scan->message;
	errors = g_ptr_array_new();
	g_ptr_array_add(errors, &problem);
	ark_frontend_http_problem_with_errors(
	    msg, SOUP_STATUS_BAD_REQUEST, "invalid-json",
	    result == ARK_FRONTEND_HTTP_JSON_SCAN_TOO_DEEP
		? "the body is nested deeper than this server accepts (max-json-depth)"
		: "the body is not valid JSON",
	    errors);
	return FALSE;
}

JsonObject *
ark_frontend_http_body_object(ArkFrontendHttp *self, SoupServerMessage *msg, gboolean *out_ok)
{
	g_autoptr(GBytes) bytes =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	g_auto(ArkFrontendHttpJsonScan) scan = {0};
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);
	JsonNode *root;

	*out_ok = FALSE;
	if (len == 0) {
		*out_ok = TRUE;
		return NULL;
	}
	if (!ark_frontend_http_check_content_type(msg) ||
	    !ark_frontend_http_check_json(self, msg, data, len, &scan))
		return NULL;
	if (!scan.root_is_object) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "the body must be a JSON object");
		return NULL;
	}
	/* the scan accepted it as strict JSON, so json-glib's leniency no longer matters */
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, data, (gssize)len, &error) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-json",
					  "the body is not a JSON object: %s",
					  error != NULL ? error->message : "no value");
		return NULL;
	}
	*out_ok = TRUE;
	return json_object_ref(json_node_get_object(root));
}

/* members of @object not in @allowed: a typo should not be silently ignored */
gboolean
ark_frontend_http_check_members(SoupServerMessage *msg, JsonObject *object,
				const gchar *const *allowed)
{
	g_autoptr(GList) members = json_object_get_members(object);

	for (GList *l = members; l != NULL; l = l->next) {
		if (!g_strv_contains(allowed, l->data)) {
			g_autofree gchar *list = g_strjoinv(", ", (GStrv)allowed);
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "unknown member '%s' (known: %s)",
						  (const gchar *)l->data, list);
			return FALSE;
		}
	}
	return TRUE;
}

/* a string member that may be absent; FALSE after a 400 when it is there but not a string */
gboolean
ark_frontend_http_member_string(SoupServerMessage *msg, JsonObject *object, const gchar *name,
				gsize max_len, const gchar **out_value)
{
	JsonNode *node;

	*out_value = NULL;
	if (object == NULL || !json_object_has_member(object, name))
		return TRUE;
	node = json_object_get_member(object, name);
	if (JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "%s must be a string", name);
		return FALSE;
	}
	*out_value = json_node_get_string(node);
	if (strlen(*out_value) > max_len) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "%s is longer than %" G_GSIZE_FORMAT " bytes", name,
					  max_len);
		return FALSE;
	}
	return TRUE;
}

void
ark_frontend_http_respond_object(SoupServerMessage *msg, guint status, JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);
	gsize len = 0;
	gchar *text = json_to_string(node, FALSE);

	len = strlen(text);
	soup_server_message_set_status(msg, status, NULL);
	soup_message_body_truncate(soup_server_message_get_response_body(msg));
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

/* records ------------------------------------------------------------------------------------ */


/* the run (without its definition unless @definition), or NULL after a 400/404/5xx */
static ArkRunRecord *
ark_frontend_http_read_run(ArkFrontendHttp *self, SoupServerMessage *msg, const gchar *run_id,
			   gboolean definition)
{
	g_autoptr(GError) error = NULL;
	ArkRunRecord *run;

	if (!ark_frontend_http_check_run_id(msg, run_id))
		return NULL;
	if (definition)
		run = ark_store_get_run(ark_frontend_http_store(self), run_id, &error);
	else
		run = ark_store_get_run_summary(ark_frontend_http_store(self), run_id, &error);
	if (run == NULL) {
		if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
			ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
						  "there is no run %s", run_id);
		else
			ark_frontend_http_problem_from_error(msg, error);
	}
	return run;
}

/* the run with its definition, or NULL after a 400/404/5xx */
static ArkRunRecord *
ark_frontend_http_get_run(ArkFrontendHttp *self, SoupServerMessage *msg, const gchar *run_id)
{
	return ark_frontend_http_read_run(self, msg, run_id, TRUE);
}

/* the tasks of @run and, in @out_task, the one named @task_id; FALSE after a 4xx/5xx */
static GPtrArray *
ark_frontend_http_get_task(ArkFrontendHttp *self, SoupServerMessage *msg, ArkRunRecord *run,
			   const gchar *task_id, ArkTaskRecord **out_task)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = NULL;

	*out_task = NULL;
	if (!ark_frontend_http_check_task_id(msg, task_id))
		return NULL;
	tasks = ark_store_list_tasks(ark_frontend_http_store(self), run->id, &error);
	if (tasks == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return NULL;
	}
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) == 0) {
			*out_task = task;
			return g_steal_pointer(&tasks);
		}
	}
	ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
				  "run %s has no task '%s'", run->id, task_id);
	return NULL;
}

/* task counts by state: the engine's for an open run, else counted from the store (and kept
 * for a finished run until an event of it says it changed) */
static void
ark_frontend_http_task_counts(ArkFrontendHttp *self, const ArkRunRecord *run, guint *counts)
{
	const guint *cached;
	guint64 generation;
	gboolean ok;

	memset(counts, 0, sizeof(guint) * ARK_TASK_STATE_LAST);
	/* a server thread has no engine: it counts what the store has */
	if (!ark_frontend_http_in_worker() &&
	    ark_engine_get_task_counts(self->engine, run->id, counts))
		return;
	g_mutex_lock(&self->counts_lock);
	cached = g_hash_table_lookup(self->counts_cache, run->id);
	if (cached != NULL)
		memcpy(counts, cached, sizeof(guint) * ARK_TASK_STATE_LAST);
	generation = self->counts_generation;
	g_mutex_unlock(&self->counts_lock);
	if (cached != NULL)
		return;
	ok = ark_store_count_tasks(ark_frontend_http_store(self), run->id, counts, NULL);
	if (!ok)
		memset(counts, 0, sizeof(guint) * ARK_TASK_STATE_LAST);
	if (!ok || !ark_run_state_is_terminal(run->state))
		return;
	g_mutex_lock(&self->counts_lock);
	/* an event since the read may have reopened the run */
	if (generation == self->counts_generation) {
		if (g_hash_table_size(self->counts_cache) >= ARK_FRONTEND_HTTP_COUNTS_CACHE_MAX)
			g_hash_table_remove_all(self->counts_cache);
		g_hash_table_insert(self->counts_cache, g_strdup(run->id),
				    g_memdup2(counts, sizeof(guint) * ARK_TASK_STATE_LAST));
	}
	g_mutex_unlock(&self->counts_lock);
}

static void
ark_frontend_http_write_run(ArkFrontendHttp *self, ArkFrontendHttpJson *w,
			    const ArkRunRecord *run)
{
	guint counts[ARK_TASK_STATE_LAST];

	ark_frontend_http_task_counts(self, run, counts);
	ark_frontend_http_json_begin_object(w);
	ark_frontend_http_json_key(w, "id");
	ark_frontend_http_json_string(w, run->id);
	ark_frontend_http_json_key(w, "workflow");
	ark_frontend_http_json_string(w, run->workflow_name);
	ark_frontend_http_json_key(w, "state");
	ark_frontend_http_json_string(w, ark_run_state_to_string(run->state));
	ark_frontend_http_json_key(w, "policy");
	ark_frontend_http_json_string(w, run->policy);
	ark_frontend_http_json_key(w, "submitter");
	ark_frontend_http_json_string(w, run->submitter);
	ark_frontend_http_json_key(w, "idempotency_key");
	ark_frontend_http_json_string(w, run->idempotency_key);
	ark_frontend_http_json_key(w, "n_tasks");
	ark_frontend_http_json_int(w, run->n_tasks);
	ark_frontend_http_json_key(w, "created_at");
	ark_frontend_http_json_time(w, run->created_at);
	ark_frontend_http_json_key(w, "started_at");
	ark_frontend_http_json_time(w, run->started_at);
	ark_frontend_http_json_key(w, "finished_at");
	ark_frontend_http_json_time(w, run->finished_at);
	ark_frontend_http_json_key(w, "reason");
	ark_frontend_http_json_string(w, run->reason);
	ark_frontend_http_json_key(w, "cancelled_by");
	ark_frontend_http_json_string(w, run->cancelled_by);
	ark_frontend_http_json_key(w, "task_counts");
	ark_frontend_http_json_begin_object(w);
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (counts[s] == 0)
			continue;
		ark_frontend_http_json_key(w, ark_task_state_to_string((ArkTaskState)s));
		ark_frontend_http_json_int(w, counts[s]);
	}
	ark_frontend_http_json_end_object(w);
	ark_frontend_http_json_end_object(w);
}

/* the members of a task object, without its braces (the detail view adds more) */
static void
ark_frontend_http_write_task_members(ArkFrontendHttpJson *w, const ArkTaskRecord *task)
{
	ark_frontend_http_json_key(w, "run_id");
	ark_frontend_http_json_string(w, task->run_id);
	ark_frontend_http_json_key(w, "id");
	ark_frontend_http_json_string(w, task->task_id);
	ark_frontend_http_json_key(w, "index");
	ark_frontend_http_json_int(w, task->index);
	ark_frontend_http_json_key(w, "state");
	ark_frontend_http_json_string(w, ark_task_state_to_string(task->state));
	ark_frontend_http_json_key(w, "attempts");
	ark_frontend_http_json_int(w, task->attempts);
	ark_frontend_http_json_key(w, "exit_code");
	if (task->exit_code >= 0)
		ark_frontend_http_json_int(w, task->exit_code);
	else
		ark_frontend_http_json_null(w);
	ark_frontend_http_json_key(w, "ready_at");
	ark_frontend_http_json_time(w, task->ready_at);
	ark_frontend_http_json_key(w, "started_at");
	ark_frontend_http_json_time(w, task->started_at);
	ark_frontend_http_json_key(w, "finished_at");
	ark_frontend_http_json_time(w, task->finished_at);
	ark_frontend_http_json_key(w, "reason");
	ark_frontend_http_json_string(w, task->reason);
	ark_frontend_http_json_key(w, "next_attempt_at");
	ark_frontend_http_json_time(w, task->next_attempt_at);
	ark_frontend_http_json_key(w, "cancelled_by");
	ark_frontend_http_json_string(w, task->cancelled_by);
}

static void
ark_frontend_http_write_task(ArkFrontendHttpJson *w, const ArkTaskRecord *task)
{
	ark_frontend_http_json_begin_object(w);
	ark_frontend_http_write_task_members(w, task);
	ark_frontend_http_json_end_object(w);
}

/* where the log of an attempt is: its record's path, or for a running attempt the place the
 * engine gives its executor (the record only learns the path when the attempt ends) */
static gchar *
ark_frontend_http_attempt_log_path(ArkFrontendHttp *self, const ArkAttemptRecord *attempt)
{
	const gchar *state_dir = ark_engine_get_state_dir(self->engine);
	g_autofree gchar *name = NULL;

	if (attempt->log_path != NULL)
		return g_strdup(attempt->log_path);
	if (attempt->status != ARK_ATTEMPT_STATUS_RUNNING || state_dir == NULL)
		return NULL;
	name = g_strdup_printf("attempt-%u.log", attempt->number);
	return g_build_filename(state_dir, "logs", attempt->run_id, attempt->task_id, name, NULL);
}

static void
ark_frontend_http_write_attempt(ArkFrontendHttp *self, ArkFrontendHttpJson *w,
				const ArkAttemptRecord *attempt)
{
	g_autofree gchar *log = ark_frontend_http_attempt_log_path(self, attempt);

	ark_frontend_http_json_begin_object(w);
	ark_frontend_http_json_key(w, "number");
	ark_frontend_http_json_int(w, attempt->number);
	ark_frontend_http_json_key(w, "status");
	ark_frontend_http_json_string(w, ark_attempt_status_to_string(attempt->status));
	ark_frontend_http_json_key(w, "executor");
	ark_frontend_http_json_string(w, attempt->executor);
	ark_frontend_http_json_key(w, "holder");
	ark_frontend_http_json_string(w, attempt->holder);
	ark_frontend_http_json_key(w, "started_at");
	ark_frontend_http_json_time(w, attempt->started_at);
	ark_frontend_http_json_key(w, "finished_at");
	ark_frontend_http_json_time(w, attempt->finished_at);
	ark_frontend_http_json_key(w, "exit_code");
	if (attempt->exit_code >= 0)
		ark_frontend_http_json_int(w, attempt->exit_code);
	else
		ark_frontend_http_json_null(w);
	ark_frontend_http_json_key(w, "signal");
	if (attempt->signal > 0)
		ark_frontend_http_json_int(w, attempt->signal);
	else
		ark_frontend_http_json_null(w);
	ark_frontend_http_json_key(w, "error");
	ark_frontend_http_json_string(w, attempt->error);
	ark_frontend_http_json_key(w, "has_log");
	ark_frontend_http_json_bool(w, log != NULL && g_file_test(log, G_FILE_TEST_IS_REGULAR));
	/* what an agent task (or any task that hands one in) produced, as the JSON value it is;
	 * checked again, a damaged store must not make the answer invalid JSON */
	ark_frontend_http_json_key(w, "result");
	if (attempt->result != NULL) {
		g_auto(ArkFrontendHttpJsonScan) scan = {0};
		if (ark_frontend_http_json_scan(attempt->result, strlen(attempt->result),
						ARK_FRONTEND_HTTP_JSON_MAX_DEPTH * 4,
						&scan) == ARK_FRONTEND_HTTP_JSON_SCAN_OK)
			ark_frontend_http_json_raw(w, attempt->result, -1);
		else
			ark_frontend_http_json_null(w);
	} else {
		ark_frontend_http_json_null(w);
	}
	ark_frontend_http_json_end_object(w);
}

/* the task's object in the run's stored definition, as JSON text, or NULL */
static gchar *
ark_frontend_http_task_definition(const ArkRunRecord *run, const ArkTaskRecord *task)
{
	g_autoptr(JsonNode) node =
	    ark_workflow_definition_get_task(run->definition, task->index, task->task_id);
	return node != NULL ? json_to_string(node, FALSE) : NULL;
}

/* a task with its attempts and definition */
static void
ark_frontend_http_respond_task_detail(ArkFrontendHttp *self, SoupServerMessage *msg,
				      const ArkRunRecord *run, const ArkTaskRecord *task)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) attempts =
	    ark_store_list_attempts(ark_frontend_http_store(self), run->id, task->task_id, &error);
	g_autofree gchar *definition = NULL;
	ArkFrontendHttpJson w;

	if (attempts == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	definition = ark_frontend_http_task_definition(run, task);
	ark_frontend_http_json_init(&w, 1024);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_write_task_members(&w, task);
	ark_frontend_http_json_key(&w, "attempts");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; i < attempts->len; i++)
		ark_frontend_http_write_attempt(self, &w, g_ptr_array_index(attempts, i));
	ark_frontend_http_json_end_array(&w);
	ark_frontend_http_json_key(&w, "definition");
	if (definition != NULL)
		ark_frontend_http_json_raw(&w, definition, -1);
	else
		ark_frontend_http_json_null(&w);
	ark_frontend_http_json_end_object(&w);
	ark_frontend_http_respond_json(msg, SOUP_STATUS_OK, ark_frontend_http_json_steal(&w));
}

static void
ark_frontend_http_respond_run(ArkFrontendHttp *self, SoupServerMessage *msg, guint status,
			      const ArkRunRecord *run)
{
	ArkFrontendHttpJson w;

	ark_frontend_http_json_init(&w, 512);
	ark_frontend_http_write_run(self, &w, run);
	ark_frontend_http_respond_json(msg, status, ark_frontend_http_json_steal(&w));
}

/* the task as the store has it now, with @status */
static void
ark_frontend_http_respond_task_now(ArkFrontendHttp *self, SoupServerMessage *msg, guint status,
				   const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GPtrArray) tasks =
	    ark_store_list_tasks(ark_frontend_http_store(self), run_id, NULL);
	ArkFrontendHttpJson w;

	for (guint i = 0; tasks != NULL && i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) != 0)
			continue;
		ark_frontend_http_json_init(&w, 512);
		ark_frontend_http_write_task(&w, task);
		ark_frontend_http_respond_json(msg, status, ark_frontend_http_json_steal(&w));
		return;
	}
	ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
				  "run %s has no task '%s'", run_id, task_id);
}

/* state=a,b as a mask of 1 << state; FALSE after a 400 */
static gboolean
ark_frontend_http_state_mask(SoupServerMessage *msg, GHashTable *query, gboolean runs,
			     guint *out_mask)
{
	const gchar *value = ark_frontend_http_query(query, "state");
	g_auto(GStrv) names = NULL;

	*out_mask = 0;
	if (value == NULL || value[0] == '\0')
		return TRUE;
	names = g_strsplit(value, ",", -1);
	for (guint i = 0; names[i] != NULL; i++) {
		gint state = -1;
		if (runs) {
			ArkRunState s;
			if (ark_run_state_from_string(g_strstrip(names[i]), &s))
				state = (gint)s;
		} else {
			ArkTaskState s;
			if (ark_task_state_from_string(g_strstrip(names[i]), &s))
				state = (gint)s;
		}
		if (state < 0) {
			g_autoptr(GString) known = g_string_new(NULL);
			guint last = runs ? ARK_RUN_STATE_LAST : ARK_TASK_STATE_LAST;
			for (guint s = 0; s < last; s++)
				g_string_append_printf(
				    known, "%s%s", s > 0 ? ", " : "",
				    runs ? ark_run_state_to_string((ArkRunState)s)
					 : ark_task_state_to_string((ArkTaskState)s));
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "unknown %s state '%s' (known: %s)",
						  runs ? "run" : "task", names[i], known->str);
			return FALSE;
		}
		*out_mask |= 1u << state;
	}
	return TRUE;
}

/* runs --------------------------------------------------------------------------------------- */

static gboolean
ark_frontend_http_valid_key(const gchar *key)
{
	gsize len = strlen(key);
	if (len == 0 || len > ARK_FRONTEND_HTTP_MAX_KEY)
		return FALSE;
	for (const gchar *p = key; *p != '\0'; p++) {
		if ((guchar)*p < 0x21 || (guchar)*p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

/* a submission between ark_engine_submit_async() and the answer to its client */
typedef struct {
	ArkFrontendHttp *self;
	SoupServerMessage *msg;
	gulong finished_id;
	gboolean gone; /* the client went away: only the audit record is left to write */
	gchar *run_id;
	gboolean existed;
	gboolean audit_failed; /* the engine refused its audit record: answered 503 */
	GError *error;
} ArkFrontendHttpSubmission;

static void
ark_frontend_http_submission_free(ArkFrontendHttpSubmission *submission)
{
	if (submission->finished_id != 0)
		g_signal_handler_disconnect(submission->msg, submission->finished_id);
	g_clear_object(&submission->msg);
	g_clear_object(&submission->self);
	g_free(submission->run_id);
	g_clear_error(&submission->error);
	g_free(submission);
}

static void
ark_frontend_http_submission_gone_cb(SoupServerMessage *msg, gpointer user_data)
{
	ArkFrontendHttpSubmission *submission = user_data;
	submission->gone = TRUE;
}

/*
 * Answers the submissions of the commits since the last call. Each submission's audit record was
 * recorded with its run, so the commit that made the run durable made the record durable too (or
 * dropped both). (It runs from an idle, not from the engine's callback: the engine is still
 * inside its commit then.)
 */
static gboolean
ark_frontend_http_submitted_idle_cb(gpointer user_data)
{
	ArkFrontendHttp *self = user_data;
	g_autoptr(GPtrArray) batch = self->submitted;

	self->submitted_id = 0;
	self->submitted = g_ptr_array_new();
	for (guint i = 0; i < batch->len; i++) {
		ArkFrontendHttpSubmission *submission = g_ptr_array_index(batch, i);
		SoupServerMessage *msg = submission->msg;
		g_autoptr(ArkRunRecord) run = NULL;
		g_autoptr(GError) error = NULL;

		if (submission->run_id == NULL) {
			ark_frontend_http_problem_from_error(msg, submission->error);
		} else if (submission->audit_failed) {
			ark_frontend_http_problem(
			    msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "storage",
			    "run %s was submitted but could not be recorded in the audit log, so "
			    "the submission is reported as failed; retry with the same "
			    "Idempotency-Key to get the run",
			    submission->run_id);
		} else {
			run = ark_store_get_run(ark_frontend_http_store(self), submission->run_id,
						&error);
			if (run == NULL) {
				ark_frontend_http_problem_from_error(msg, error);
			} else {
				g_autofree gchar *location =
				    g_strdup_printf("/api/v1/runs/%s", run->id);
				soup_message_headers_replace(
				    soup_server_message_get_response_headers(msg), "Location",
				    location);
				ark_frontend_http_respond_run(self, msg,
							      submission->existed
								  ? SOUP_STATUS_OK
								  : SOUP_STATUS_CREATED,
							      run);
			}
		}
		if (!submission->gone)
			soup_server_message_unpause(submission->msg);
		ark_frontend_http_submission_free(submission);
	}
	return G_SOURCE_REMOVE;
}

static void
ark_frontend_http_submitted_cb(ArkEngine *engine, const gchar *run_id, gboolean existed,
			       const GError *error, gpointer user_data)
{
	ArkFrontendHttpSubmission *submission = user_data;
	ArkFrontendHttp *self = submission->self;

	submission->run_id = g_strdup(run_id);
	submission->existed = existed;
	if (error != NULL)
		submission->error = g_error_copy(error);
	else if (run_id == NULL)
		submission->error =
		    g_error_new_literal(ARK_ERROR, ARK_ERROR_INTERNAL, "the submission was lost");
	g_ptr_array_add(self->submitted, submission);
	if (self->submitted_id == 0)
		self->submitted_id = g_idle_add_full(G_PRIORITY_HIGH_IDLE,
						     ark_frontend_http_submitted_idle_cb, self, NULL);
}

void
ark_frontend_http_handlers_clear(ArkFrontendHttp *self)
{
	g_clear_handle_id(&self->submitted_id, g_source_remove);
	g_ptr_array_foreach(self->submitted, (GFunc)ark_frontend_http_submission_free, NULL);
	g_ptr_array_set_size(self->submitted, 0);
}

static void
ark_frontend_http_run_submit(ArkFrontendHttp *self, SoupServerMessage *msg,
			     ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GBytes) bytes =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	g_auto(ArkFrontendHttpJsonScan) scan = {0};
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	ArkFrontendHttpSubmission *submission;
	g_autofree gchar *run_id = NULL;
	const gchar *key = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
							"Idempotency-Key");
	const gchar *policy = ark_frontend_http_query(query, "policy");
	ArkSubmitOptions options = {0};
	gsize len = 0;
	const gchar *data = g_bytes_get_data(bytes, &len);

	if (!ark_frontend_http_check_content_type(msg))
		return;
	if (len == 0) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-json",
					  "the body is empty: it must be a workflow document");
		return;
	}
	if (!ark_frontend_http_check_json(self, msg, data, len, &scan))
		return;
	if (scan.n_tasks > 0 && (guint)scan.n_tasks > self->config.max_tasks_per_run) {
		ark_frontend_http_problem(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
					  "limit-exceeded",
					  "the workflow has %d tasks; this server accepts at most "
					  "%u per run (max-tasks-per-run)",
					  scan.n_tasks, self->config.max_tasks_per_run);
		return;
	}
	if (key != NULL && !ark_frontend_http_valid_key(key)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "Idempotency-Key must be 1 to %d visible ASCII characters",
					  ARK_FRONTEND_HTTP_MAX_KEY);
		return;
	}
	if (policy != NULL && (policy[0] == '\0' || strlen(policy) > 128)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "policy must be a policy name");
		return;
	}

	/* a key seen before answers with that run, whatever this body says */
	if (key != NULL) {
		run = ark_store_find_run_by_idempotency_key(ark_frontend_http_store(self), key,
							    &error);
		if (run != NULL) {
			req->audit_target = g_strdup(run->id);
			ark_frontend_http_respond_run(self, msg, SOUP_STATUS_OK, run);
			return;
		}
		if (!g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND) &&
		    !g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED)) {
			ark_frontend_http_problem_from_error(msg, error);
			return;
		}
		g_clear_error(&error);
	}

	workflow = ark_workflow_parse(data, (gssize)len, &problems);
	if (workflow != NULL) {
		g_ptr_array_set_size(problems, 0);
		if (!ark_engine_check_workflow(self->engine, workflow, policy, problems))
			g_clear_pointer(&workflow, ark_workflow_unref);
	}
	if (workflow == NULL) {
		g_autofree gchar *detail = g_strdup_printf(
		    "the workflow document has %u problem%s", problems->len,
		    problems->len == 1 ? "" : "s");
		ark_frontend_http_problem_with_errors(msg, SOUP_STATUS_UNPROCESSABLE_ENTITY,
						      "invalid-workflow", detail, problems);
		return;
	}

	options.policy = policy;
	options.submitter = req->actor;
	options.idempotency_key = key;
	{
		g_autoptr(GString) detail = g_string_new("{\"workflow\":");
		ark_json_append_string(detail, ark_workflow_get_name(workflow));
		g_string_append_printf(detail, ",\"n_tasks\":%u}",
				       ark_workflow_get_n_tasks(workflow));
		req->audit_detail = g_string_free(g_steal_pointer(&detail), FALSE);
	}
	submission = g_new0(ArkFrontendHttpSubmission, 1);
	submission->self = g_object_ref(self);
	submission->msg = g_object_ref(msg);
	/* the run is recorded now and committed with whatever else this main-loop iteration
	 * records: many clients submitting at once share one transaction */
	run_id = ark_engine_submit_async(self->engine, workflow, &options,
					 ark_frontend_http_submitted_cb, submission, &error);
	if (run_id == NULL) {
		ark_frontend_http_submission_free(submission);
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	/* the audit record joins the run's transaction: the answer, given after that commit,
	 * never reports a submission whose record is not durable */
	g_free(req->audit_target);
	req->audit_target = g_strdup(run_id);
	submission->audit_failed = !ark_frontend_http_handlers_audit(
	    self, msg, req, req->audit_target, req->audit_detail, FALSE);
	req->deferred = TRUE;
	submission->finished_id = g_signal_connect(
	    msg, "finished", G_CALLBACK(ark_frontend_http_submission_gone_cb), submission);
	soup_server_message_pause(msg);
}

/* ends a page of a listing: closes its array, adds "next_cursor" (@next, or null on the last
 * page) and answers 200 */
static void
ark_frontend_http_respond_page(SoupServerMessage *msg, ArkFrontendHttpJson *w, const gchar *next)
{
	ark_frontend_http_json_end_array(w);
	ark_frontend_http_json_key(w, "next_cursor");
	if (next != NULL)
		ark_frontend_http_json_string(w, next);
	else
		ark_frontend_http_json_null(w);
	ark_frontend_http_json_end_object(w);
	ark_frontend_http_respond_json(msg, SOUP_STATUS_OK, ark_frontend_http_json_steal(w));
}

static void
ark_frontend_http_run_list(ArkFrontendHttp *self, SoupServerMessage *msg,
			   ArkFrontendHttpRequest *req, GHashTable *query)
{
	const gchar *workflow = ark_frontend_http_query(query, "workflow");
	const gchar *cursor = ark_frontend_http_query(query, "cursor");
	const gchar *order = ark_frontend_http_query(query, "order");
	g_autoptr(GPtrArray) runs = NULL;
	g_autoptr(GError) error = NULL;
	ArkRunFilter filter = {0};
	ArkFrontendHttpJson w;
	guint64 limit;
	guint n;

	if (!ark_frontend_http_state_mask(msg, query, TRUE, &filter.state_mask) ||
	    !ark_frontend_http_query_uint(msg, query, "limit", ARK_FRONTEND_HTTP_RUNS_DEFAULT_LIMIT,
					  1, ARK_FRONTEND_HTTP_RUNS_MAX_LIMIT, &limit))
		return;
	if (cursor != NULL && cursor[0] != '\0' && !ark_frontend_http_check_run_id(msg, cursor))
		return;
	if (order != NULL && g_strcmp0(order, "newest") != 0 && g_strcmp0(order, "oldest") != 0) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "order must be newest or oldest");
		return;
	}
	if (workflow != NULL && strlen(workflow) > 128) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "workflow must be a workflow name");
		return;
	}
	filter.workflow_name = workflow != NULL && workflow[0] != '\0' ? workflow : NULL;
	filter.after = cursor != NULL && cursor[0] != '\0' ? cursor : NULL;
	filter.limit = (guint)limit + 1; /* one more says whether there is a next page */
	filter.newest_first = g_strcmp0(order, "oldest") != 0;
	runs = ark_store_list_runs(ark_frontend_http_store(self), &filter, &error);
	if (runs == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	n = MIN(runs->len, (guint)limit);
	ark_frontend_http_json_init(&w, 512 * (n + 1));
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "runs");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; i < n; i++)
		ark_frontend_http_write_run(self, &w, g_ptr_array_index(runs, i));
	ark_frontend_http_respond_page(
	    msg, &w, runs->len > limit ? ((ArkRunRecord *)g_ptr_array_index(runs, n - 1))->id : NULL);
}

static void
ark_frontend_http_run_get(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	/* a status answer: the definition, which it does not show, is not read */
	g_autoptr(ArkRunRecord) run = ark_frontend_http_read_run(self, msg, req->params[0], FALSE);
	if (run != NULL)
		ark_frontend_http_respond_run(self, msg, SOUP_STATUS_OK, run);
}

static void
ark_frontend_http_run_cancel(ArkFrontendHttp *self, SoupServerMessage *msg,
			     ArkFrontendHttpRequest *req, GHashTable *query)
{
	static const gchar *const members[] = {"reason", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(ArkRunRecord) now = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *reason = NULL;
	gboolean ok;

	req->audit_target = g_strdup(req->params[0]);
	body = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok || (body != NULL && !ark_frontend_http_check_members(msg, body, members)) ||
	    !ark_frontend_http_member_string(msg, body, "reason", ARK_FRONTEND_HTTP_MAX_REASON,
					     &reason))
		return;
	run = ark_frontend_http_get_run(self, msg, req->params[0]);
	if (run == NULL)
		return;
	if (ark_run_state_is_terminal(run->state)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_CONFLICT, "exists",
					  "run %s already finished (%s)", run->id,
					  ark_run_state_to_string(run->state));
		return;
	}
	if (!ark_engine_cancel_run(self->engine, run->id, req->actor, reason, &error)) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	now = ark_store_get_run(ark_frontend_http_store(self), run->id, NULL);
	ark_frontend_http_respond_run(self, msg, SOUP_STATUS_ACCEPTED, now != NULL ? now : run);
}

/* tasks -------------------------------------------------------------------------------------- */

static void
ark_frontend_http_task_list(ArkFrontendHttp *self, SoupServerMessage *msg,
			    ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *cursor_str = ark_frontend_http_query(query, "cursor");
	guint64 cursor = 0;
	gboolean has_cursor = cursor_str != NULL && cursor_str[0] != '\0';
	guint mask = 0;
	guint64 limit;
	guint n = 0;
	gint last = -1;
	gboolean more = FALSE;
	ArkFrontendHttpJson w;

	if (!ark_frontend_http_state_mask(msg, query, FALSE, &mask) ||
	    !ark_frontend_http_query_uint(msg, query, "limit",
					  ARK_FRONTEND_HTTP_TASKS_DEFAULT_LIMIT, 1,
					  ARK_FRONTEND_HTTP_TASKS_MAX_LIMIT, &limit))
		return;
	if (has_cursor && !g_ascii_string_to_unsigned(cursor_str, 10, 0, G_MAXUINT, &cursor, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "cursor must be a task index");
		return;
	}
	run = ark_frontend_http_get_run(self, msg, req->params[0]);
	if (run == NULL)
		return;
	tasks = ark_store_list_tasks(ark_frontend_http_store(self), run->id, &error);
	if (tasks == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_json_init(&w, 4096);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "tasks");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (has_cursor && task->index <= cursor)
			continue;
		if (mask != 0 && (mask & (1u << task->state)) == 0)
			continue;
		if (n == limit) {
			more = TRUE;
			break;
		}
		ark_frontend_http_write_task(&w, task);
		last = (gint)task->index;
		n++;
	}
	{
		g_autofree gchar *next = more ? g_strdup_printf("%d", last) : NULL;
		ark_frontend_http_respond_page(msg, &w, next);
	}
}

static void
ark_frontend_http_task_get(ArkFrontendHttp *self, SoupServerMessage *msg,
			   ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(ArkRunRecord) run = ark_frontend_http_get_run(self, msg, req->params[0]);
	g_autoptr(GPtrArray) tasks = NULL;
	ArkTaskRecord *task = NULL;

	if (run == NULL)
		return;
	tasks = ark_frontend_http_get_task(self, msg, run, req->params[1], &task);
	if (tasks != NULL)
		ark_frontend_http_respond_task_detail(self, msg, run, task);
}

static void
ark_frontend_http_task_cancel(ArkFrontendHttp *self, SoupServerMessage *msg,
			      ArkFrontendHttpRequest *req, GHashTable *query)
{
	static const gchar *const members[] = {"reason", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *reason = NULL;
	gboolean ok;

	req->audit_target = g_strdup_printf("%s/%s", req->params[0], req->params[1]);
	body = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok || (body != NULL && !ark_frontend_http_check_members(msg, body, members)) ||
	    !ark_frontend_http_member_string(msg, body, "reason", ARK_FRONTEND_HTTP_MAX_REASON,
					     &reason))
		return;
	run = ark_frontend_http_get_run(self, msg, req->params[0]);
	if (run == NULL)
		return;
	tasks = ark_frontend_http_get_task(self, msg, run, req->params[1], &task);
	if (tasks == NULL)
		return;
	if (ark_task_state_is_terminal(task->state)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_CONFLICT, "exists",
					  "task '%s' already finished (%s)", task->task_id,
					  ark_task_state_to_string(task->state));
		return;
	}
	if (!ark_engine_cancel_task(self->engine, run->id, task->task_id, req->actor, reason,
				    &error)) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_task_now(self, msg, SOUP_STATUS_ACCEPTED, run->id, task->task_id);
}

/* retry and DLQ replay take the same body: {"set": {member: value}, "timeout": "10m"} */
static gboolean
ark_frontend_http_replay_overrides(ArkFrontendHttp *self, SoupServerMessage *msg,
				   JsonObject **out_overrides)
{
	static const gchar *const members[] = {"set", "timeout", NULL};
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(JsonObject) overrides = NULL;
	const gchar *timeout = NULL;
	gboolean ok;

	*out_overrides = NULL;
	body = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok)
		return FALSE;
	if (body == NULL)
		return TRUE;
	if (!ark_frontend_http_check_members(msg, body, members) ||
	    !ark_frontend_http_member_string(msg, body, "timeout", 64, &timeout))
		return FALSE;
	overrides = json_object_new();
	if (json_object_has_member(body, "set")) {
		JsonNode *set = json_object_get_member(body, "set");
		g_autoptr(GList) names = NULL;
		if (!JSON_NODE_HOLDS_OBJECT(set)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "set must be an object of task members");
			return FALSE;
		}
		names = json_object_get_members(json_node_get_object(set));
		for (GList *l = names; l != NULL; l = l->next)
			json_object_set_member(
			    overrides, l->data,
			    json_node_copy(json_object_get_member(json_node_get_object(set),
								  l->data)));
	}
	if (timeout != NULL) {
		g_autoptr(GError) error = NULL;
		gint64 usec = 0;
		if (!ark_duration_parse(timeout, &usec, &error)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "timeout: %s", error->message);
			return FALSE;
		}
		json_object_set_string_member(overrides, "timeout", timeout);
	}
	if (json_object_get_size(overrides) > 0)
		*out_overrides = g_steal_pointer(&overrides);
	return TRUE;
}

static void
ark_frontend_http_replay(ArkFrontendHttp *self, SoupServerMessage *msg,
			 ArkFrontendHttpRequest *req, gboolean dead_only)
{
	g_autoptr(JsonObject) overrides = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskRecord *task = NULL;

	req->audit_target = g_strdup_printf("%s/%s", req->params[0], req->params[1]);
	if (!ark_frontend_http_replay_overrides(self, msg, &overrides))
		return;
	run = ark_frontend_http_get_run(self, msg, req->params[0]);
	if (run == NULL)
		return;
	tasks = ark_frontend_http_get_task(self, msg, run, req->params[1], &task);
	if (tasks == NULL)
		return;
	if (dead_only && task->state != ARK_TASK_STATE_DEAD) {
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "task '%s' of run %s is not in the dead-letter queue (it "
					  "is %s)",
					  task->task_id, run->id,
					  ark_task_state_to_string(task->state));
		return;
	}
	if (overrides != NULL) {
		g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), overrides);
		req->audit_detail = json_to_string(node, FALSE);
	}
	if (!ark_engine_replay_task(self->engine, run->id, task->task_id, overrides, req->actor,
				    &error)) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_task_now(self, msg, SOUP_STATUS_ACCEPTED, run->id, task->task_id);
}

static void
ark_frontend_http_task_retry(ArkFrontendHttp *self, SoupServerMessage *msg,
			     ArkFrontendHttpRequest *req, GHashTable *query)
{
	ark_frontend_http_replay(self, msg, req, FALSE);
}

static void
ark_frontend_http_dlq_replay(ArkFrontendHttp *self, SoupServerMessage *msg,
			     ArkFrontendHttpRequest *req, GHashTable *query)
{
	ark_frontend_http_replay(self, msg, req, TRUE);
}

/* POST /runs/{run}/tasks: one more task, as in the workflow format, for an open run */
static void
ark_frontend_http_task_add(ArkFrontendHttp *self, SoupServerMessage *msg,
			   ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(JsonObject) body = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *task_id;
	JsonNode *id;
	gboolean ok;

	if (!ark_frontend_http_check_run_id(msg, req->params[0]))
		return;
	body = ark_frontend_http_body_object(self, msg, &ok);
	if (!ok)
		return;
	if (body == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "the body must be a task object of the workflow format");
		return;
	}
	id = json_object_get_member(body, "id");
	task_id = id != NULL && JSON_NODE_HOLDS_VALUE(id) &&
			  json_node_get_value_type(id) == G_TYPE_STRING
		      ? json_node_get_string(id)
		      : NULL;
	if (task_id == NULL || !ark_frontend_http_valid_task_id(task_id)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "the task needs an \"id\" of letters, digits, '-', '_' "
					  "and '.'");
		return;
	}
	req->audit_target = g_strdup_printf("%s/%s", req->params[0], task_id);
	if (!ark_engine_add_task(self->engine, req->params[0], body, req->actor, &error)) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_respond_task_now(self, msg, SOUP_STATUS_CREATED, req->params[0], task_id);
}

/* GET /runs/{run}/tasks/{task}/explain: why it is, or is not, running (docs/explain.md) */
static void
ark_frontend_http_task_explain(ArkFrontendHttp *self, SoupServerMessage *msg,
			       ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) why = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *text = NULL;

	if (!ark_frontend_http_check_run_id(msg, req->params[0]))
		return;
	if (!ark_frontend_http_valid_task_id(req->params[1])) {
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "run %s has no task '%s'", req->params[0],
					  req->params[1]);
		return;
	}
	why = ark_engine_explain_task(self->engine, req->params[0], req->params[1], &error);
	if (why == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	node = json_node_init_object(json_node_alloc(), why);
	text = json_to_string(node, FALSE);
	ark_frontend_http_respond_json(msg, SOUP_STATUS_OK, g_string_new(text));
}

/* logs --------------------------------------------------------------------------------------- */

static gboolean
ark_frontend_http_query_bool(SoupServerMessage *msg, GHashTable *query, const gchar *name,
			     gboolean *out_value)
{
	const gchar *value = ark_frontend_http_query(query, name);

	*out_value = FALSE;
	if (value == NULL || g_strcmp0(value, "false") == 0 || g_strcmp0(value, "0") == 0)
		return TRUE;
	if (g_strcmp0(value, "true") == 0 || g_strcmp0(value, "1") == 0 || value[0] == '\0') {
		*out_value = TRUE;
		return TRUE;
	}
	ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
				  "%s must be true or false", name);
	return FALSE;
}

static void
ark_frontend_http_attempt_log(ArkFrontendHttp *self, SoupServerMessage *msg,
			      ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	const ArkAttemptRecord *attempt = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *offset_str = ark_frontend_http_query(query, "offset");
	gint64 offset = 0;
	guint64 number = 0;
	guint64 limit;
	gboolean follow;
	gint fd;
	struct stat st;
	guint64 start;
	guint64 size;
	gsize n;
	guint8 *buf;
	gssize got;
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);

	if (!g_ascii_string_to_unsigned(req->params[2], 10, 1, G_MAXUINT, &number, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "'%s' is not an attempt number (1, 2, ...)",
					  req->params[2]);
		return;
	}
	if (offset_str != NULL &&
	    !g_ascii_string_to_signed(offset_str, 10, G_MININT64 + 1, G_MAXINT64, &offset, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "offset must be an integer (negative counts from the "
					  "end)");
		return;
	}
	if (!ark_frontend_http_query_uint(msg, query, "limit", ARK_FRONTEND_HTTP_LOG_DEFAULT_LIMIT,
					  1, ARK_FRONTEND_HTTP_LOG_MAX_LIMIT, &limit) ||
	    !ark_frontend_http_query_bool(msg, query, "follow", &follow))
		return;
	run = ark_frontend_http_get_run(self, msg, req->params[0]);
	if (run == NULL)
		return;
	tasks = ark_frontend_http_get_task(self, msg, run, req->params[1], &task);
	if (tasks == NULL)
		return;
	attempts = ark_store_list_attempts(ark_frontend_http_store(self), run->id, task->task_id,
					   &error);
	if (attempts == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	for (guint i = 0; i < attempts->len; i++) {
		const ArkAttemptRecord *a = g_ptr_array_index(attempts, i);
		if (a->number == number)
			attempt = a;
	}
	if (attempt == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "task '%s' has no attempt %" G_GUINT64_FORMAT,
					  task->task_id, number);
		return;
	}
	path = ark_frontend_http_attempt_log_path(self, attempt);
	if (follow && attempt->status == ARK_ATTEMPT_STATUS_RUNNING && path != NULL) {
		ark_frontend_http_events_follow_log(self, msg, req, path, offset, run->id,
						    task->task_id, attempt->number);
		return;
	}
	fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "attempt %" G_GUINT64_FORMAT " of task '%s' has no log",
					  number, task->task_id);
		return;
	}
	size = (guint64)st.st_size;
	if (offset >= 0)
		start = MIN((guint64)offset, size);
	else
		start = (guint64)MAX((gint64)size + offset, (gint64)0);
	/* a finished attempt followed: everything from the offset, its log will not grow */
	n = (gsize)MIN(size - start, follow ? (guint64)ARK_FRONTEND_HTTP_LOG_MAX_LIMIT : limit);
	buf = g_malloc(MAX(n, 1));
	got = n > 0 ? pread(fd, buf, n, (off_t)start) : 0;
	close(fd);
	if (got < 0) {
		gint errsv = errno;
		g_free(buf);
		ark_frontend_http_problem(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal",
					  "reading the log failed: %s", g_strerror(errsv));
		return;
	}
	{
		g_autofree gchar *size_str = g_strdup_printf("%" G_GUINT64_FORMAT, size);
		g_autofree gchar *next_str =
		    g_strdup_printf("%" G_GUINT64_FORMAT, start + (guint64)got);
		soup_message_headers_replace(headers, "X-Log-Size", size_str);
		soup_message_headers_replace(headers, "X-Log-Next-Offset", next_str);
	}
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE,
					 (gchar *)buf, (gsize)got);
}

/* the dead-letter queue ---------------------------------------------------------------------- */

static void
ark_frontend_http_dlq_list(ArkFrontendHttp *self, SoupServerMessage *msg,
			   ArkFrontendHttpRequest *req, GHashTable *query)
{
	const gchar *run = ark_frontend_http_query(query, "run");
	const gchar *cursor = ark_frontend_http_query(query, "cursor");
	g_autofree gchar *cursor_run = NULL;
	guint64 cursor_index = 0;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskFilter filter = {0};
	ArkFrontendHttpJson w;
	const ArkTaskRecord *last = NULL;
	gboolean more = FALSE;
	guint64 limit;
	guint n = 0;

	if (run != NULL && run[0] != '\0' && !ark_frontend_http_check_run_id(msg, run))
		return;
	if (!ark_frontend_http_query_uint(msg, query, "limit", ARK_FRONTEND_HTTP_RUNS_DEFAULT_LIMIT,
					  1, ARK_FRONTEND_HTTP_RUNS_MAX_LIMIT, &limit))
		return;
	if (cursor != NULL && cursor[0] != '\0') {
		const gchar *slash = strchr(cursor, '/');
		cursor_run = slash != NULL ? g_strndup(cursor, (gsize)(slash - cursor)) : NULL;
		if (slash == NULL || !ark_frontend_http_valid_run_id(cursor_run) ||
		    !g_ascii_string_to_unsigned(slash + 1, 10, 0, G_MAXUINT, &cursor_index,
						NULL)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "cursor must be RUN/INDEX, as next_cursor gives "
						  "it");
			return;
		}
	}
	filter.state_mask = 1u << ARK_TASK_STATE_DEAD;
	filter.run_id = run != NULL && run[0] != '\0' ? run : NULL;
	tasks = ark_store_find_tasks(ark_frontend_http_store(self), &filter, &error);
	if (tasks == NULL) {
		ark_frontend_http_problem_from_error(msg, error);
		return;
	}
	ark_frontend_http_json_init(&w, 4096);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "tasks");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (cursor_run != NULL) {
			gint cmp = g_strcmp0(task->run_id, cursor_run);
			if (cmp < 0 || (cmp == 0 && task->index <= cursor_index))
				continue;
		}
		if (n == limit) {
			more = TRUE;
			break;
		}
		ark_frontend_http_write_task(&w, task);
		last = task;
		n++;
	}
	{
		g_autofree gchar *next = more && last != NULL
					     ? g_strdup_printf("%s/%u", last->run_id, last->index)
					     : NULL;
		ark_frontend_http_respond_page(msg, &w, next);
	}
}

static void
ark_frontend_http_dlq_get(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(ArkRunRecord) run = ark_frontend_http_get_run(self, msg, req->params[0]);
	g_autoptr(GPtrArray) tasks = NULL;
	ArkTaskRecord *task = NULL;

	if (run == NULL)
		return;
	tasks = ark_frontend_http_get_task(self, msg, run, req->params[1], &task);
	if (tasks == NULL)
		return;
	if (task->state != ARK_TASK_STATE_DEAD) {
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "task '%s' of run %s is not in the dead-letter queue (it "
					  "is %s)",
					  task->task_id, run->id,
					  ark_task_state_to_string(task->state));
		return;
	}
	ark_frontend_http_respond_task_detail(self, msg, run, task);
}

/* the daemon --------------------------------------------------------------------------------- */

static void
ark_frontend_http_plugins(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	ArkPluginLoader *loader = ark_engine_get_plugin_loader(self->engine);
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	gchar *text;

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
	text = json_to_string(root, FALSE);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text,
					 strlen(text));
}

static void
ark_frontend_http_write_check(ArkFrontendHttpJson *w, const ArkHealthCheck *check)
{
	ark_frontend_http_json_begin_object(w);
	ark_frontend_http_json_key(w, "name");
	ark_frontend_http_json_string(w, check->name);
	ark_frontend_http_json_key(w, "status");
	ark_frontend_http_json_string(w, ark_health_status_to_string(check->status));
	ark_frontend_http_json_key(w, "message");
	ark_frontend_http_json_string(w, check->message);
	ark_frontend_http_json_key(w, "blocks_ready");
	ark_frontend_http_json_bool(w, check->blocks_ready);
	ark_frontend_http_json_key(w, "since");
	ark_frontend_http_json_time(w, check->since);
	ark_frontend_http_json_end_object(w);
}

static void
ark_frontend_http_write_checks(ArkFrontendHttpJson *w, GPtrArray *checks)
{
	ark_frontend_http_json_begin_array(w);
	for (guint i = 0; i < checks->len; i++)
		ark_frontend_http_write_check(w, g_ptr_array_index(checks, i));
	ark_frontend_http_json_end_array(w);
}

static void
ark_frontend_http_status(ArkFrontendHttp *self, SoupServerMessage *msg,
			 ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GPtrArray) checks = ark_engine_check_health(self->engine);
	g_auto(GStrv) policies =
	    ark_registry_list_names(ark_engine_get_registry(self->engine), ARK_CAPABILITY_POLICY);
	g_auto(GStrv) executors = ark_engine_list_executors(self->engine);
	gboolean accepting = ark_engine_is_accepting(self->engine, NULL);
	ArkFrontendHttpJson w;

	ark_frontend_http_json_init(&w, 2048);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "version");
	ark_frontend_http_json_string(&w, PACKAGE_VERSION);
	ark_frontend_http_json_key(&w, "state");
	ark_frontend_http_json_string(&w, accepting ? "running" : "draining");
	ark_frontend_http_json_key(&w, "started_at");
	ark_frontend_http_json_time(&w, self->process_started_at);
	ark_frontend_http_json_key(&w, "uptime_seconds");
	ark_frontend_http_json_double(
	    &w, (gdouble)MAX(g_get_real_time() - self->process_started_at, 0) / G_USEC_PER_SEC);
	ark_frontend_http_json_key(&w, "open_runs");
	ark_frontend_http_json_int(&w, ark_engine_get_n_open_runs(self->engine));
	ark_frontend_http_json_key(&w, "default_policy");
	ark_frontend_http_json_string(&w, ark_engine_get_default_policy(self->engine));
	ark_frontend_http_json_key(&w, "policies");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; policies != NULL && policies[i] != NULL; i++)
		ark_frontend_http_json_string(&w, policies[i]);
	ark_frontend_http_json_end_array(&w);
	ark_frontend_http_json_key(&w, "executors");
	ark_frontend_http_json_begin_array(&w);
	for (guint i = 0; executors != NULL && executors[i] != NULL; i++) {
		guint slots = 0;
		guint in_use = 0;
		(void)ark_engine_get_executor_slots(self->engine, executors[i], &slots, &in_use);
		ark_frontend_http_json_begin_object(&w);
		ark_frontend_http_json_key(&w, "name");
		ark_frontend_http_json_string(&w, executors[i]);
		ark_frontend_http_json_key(&w, "slots");
		ark_frontend_http_json_int(&w, slots);
		ark_frontend_http_json_key(&w, "in_use");
		ark_frontend_http_json_int(&w, in_use);
		ark_frontend_http_json_end_object(&w);
	}
	ark_frontend_http_json_end_array(&w);
	ark_frontend_http_json_key(&w, "queue_depth");
	ark_frontend_http_json_int(&w, ark_engine_get_queue_depth(self->engine, NULL));
	ark_frontend_http_json_key(&w, "health");
	ark_frontend_http_write_checks(&w, checks);
	ark_frontend_http_json_end_object(&w);
	ark_frontend_http_respond_json(msg, SOUP_STATUS_OK, ark_frontend_http_json_steal(&w));
}

static void
ark_frontend_http_events(ArkFrontendHttp *self, SoupServerMessage *msg,
			 ArkFrontendHttpRequest *req, GHashTable *query)
{
	ark_frontend_http_events_serve(self, msg, req, query);
}

static void
ark_frontend_http_openapi(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	if (self->openapi == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal",
					  "the OpenAPI document is missing from this build");
		return;
	}
	ark_frontend_http_respond_bytes(msg, SOUP_STATUS_OK, "application/json", self->openapi);
}

/* the first failing check that blocks readiness (or, with @any, the main loop's), or NULL */
static const ArkHealthCheck *
ark_frontend_http_failing_check(GPtrArray *checks, const gchar *only)
{
	for (guint i = 0; i < checks->len; i++) {
		const ArkHealthCheck *check = g_ptr_array_index(checks, i);
		if (check->status != ARK_HEALTH_FAILING)
			continue;
		if (only != NULL ? g_strcmp0(check->name, only) == 0 : check->blocks_ready)
			return check;
	}
	return NULL;
}

static void
ark_frontend_http_healthz(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	g_autoptr(GPtrArray) checks = ark_engine_check_health(self->engine);
	/* alive is about this process answering in time, not about whether it accepts work */
	const ArkHealthCheck *failing = ark_frontend_http_failing_check(checks, "main-loop");
	ArkFrontendHttpJson w;

	ark_frontend_http_json_init(&w, 256);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "status");
	ark_frontend_http_json_string(&w, failing == NULL ? "ok" : "failing");
	if (failing != NULL) {
		g_autofree gchar *what = g_strdup_printf("%s: %s", failing->name, failing->message);
		ark_frontend_http_json_key(&w, "failing");
		ark_frontend_http_json_string(&w, what);
	}
	ark_frontend_http_json_end_object(&w);
	ark_frontend_http_respond_json(msg,
				       failing == NULL ? SOUP_STATUS_OK
						       : SOUP_STATUS_SERVICE_UNAVAILABLE,
				       ark_frontend_http_json_steal(&w));
}

static void
ark_frontend_http_readyz(ArkFrontendHttp *self, SoupServerMessage *msg,
			 ArkFrontendHttpRequest *req, GHashTable *query)
{
	/* one run of the checks: ark_engine_is_ready() would run them (and restart a failing
	 * executor) a second time */
	g_autoptr(GPtrArray) checks = ark_engine_check_health(self->engine);
	const ArkHealthCheck *failing = ark_frontend_http_failing_check(checks, NULL);
	ArkFrontendHttpJson w;

	ark_frontend_http_json_init(&w, 1024);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "status");
	ark_frontend_http_json_string(&w, failing == NULL ? "ready" : "not-ready");
	if (failing != NULL) {
		g_autofree gchar *what = g_strdup_printf("%s: %s", failing->name, failing->message);
		ark_frontend_http_json_key(&w, "failing");
		ark_frontend_http_json_string(&w, what);
	}
	ark_frontend_http_json_key(&w, "checks");
	ark_frontend_http_write_checks(&w, checks);
	ark_frontend_http_json_end_object(&w);
	ark_frontend_http_respond_json(msg,
				       failing == NULL ? SOUP_STATUS_OK
						       : SOUP_STATUS_SERVICE_UNAVAILABLE,
				       ark_frontend_http_json_steal(&w));
}

static void
ark_frontend_http_metrics(ArkFrontendHttp *self, SoupServerMessage *msg,
			  ArkFrontendHttpRequest *req, GHashTable *query)
{
	gchar *text = ark_frontend_http_metrics_render(self);

	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
					 SOUP_MEMORY_TAKE, text, strlen(text));
}

/* dispatch ----------------------------------------------------------------------------------- */

static const ArkFrontendHttpHandler ark_frontend_http_handlers[] = {
    [ARK_FRONTEND_HTTP_ROUTE_RUN_SUBMIT] = ark_frontend_http_run_submit,
    [ARK_FRONTEND_HTTP_ROUTE_RUN_LIST] = ark_frontend_http_run_list,
    [ARK_FRONTEND_HTTP_ROUTE_RUN_GET] = ark_frontend_http_run_get,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_LIST] = ark_frontend_http_task_list,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_GET] = ark_frontend_http_task_get,
    [ARK_FRONTEND_HTTP_ROUTE_ATTEMPT_LOG] = ark_frontend_http_attempt_log,
    [ARK_FRONTEND_HTTP_ROUTE_RUN_CANCEL] = ark_frontend_http_run_cancel,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_CANCEL] = ark_frontend_http_task_cancel,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_RETRY] = ark_frontend_http_task_retry,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_ADD] = ark_frontend_http_task_add,
    [ARK_FRONTEND_HTTP_ROUTE_TASK_EXPLAIN] = ark_frontend_http_task_explain,
    [ARK_FRONTEND_HTTP_ROUTE_DLQ_LIST] = ark_frontend_http_dlq_list,
    [ARK_FRONTEND_HTTP_ROUTE_DLQ_GET] = ark_frontend_http_dlq_get,
    [ARK_FRONTEND_HTTP_ROUTE_DLQ_REPLAY] = ark_frontend_http_dlq_replay,
    [ARK_FRONTEND_HTTP_ROUTE_PLUGINS] = ark_frontend_http_plugins,
    [ARK_FRONTEND_HTTP_ROUTE_STATUS] = ark_frontend_http_status,
    [ARK_FRONTEND_HTTP_ROUTE_EVENTS] = ark_frontend_http_events,
    [ARK_FRONTEND_HTTP_ROUTE_OPENAPI] = ark_frontend_http_openapi,
    [ARK_FRONTEND_HTTP_ROUTE_HEALTHZ] = ark_frontend_http_healthz,
    [ARK_FRONTEND_HTTP_ROUTE_READYZ] = ark_frontend_http_readyz,
    [ARK_FRONTEND_HTTP_ROUTE_METRICS] = ark_frontend_http_metrics,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_REGISTER] = ark_frontend_http_agents_register,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_LIST] = ark_frontend_http_agents_list,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_GET] = ark_frontend_http_agents_get,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_REMOVE] = ark_frontend_http_agents_remove,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_HEARTBEAT] = ark_frontend_http_agents_heartbeat,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_CLAIM] = ark_frontend_http_agents_claim,
    [ARK_FRONTEND_HTTP_ROUTE_AGENT_ASSIGNMENTS] = ark_frontend_http_agents_own_assignments,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_LIST] = ark_frontend_http_agents_assignment_list,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_GET] = ark_frontend_http_agents_assignment_get,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_EXPLAIN] = ark_frontend_http_agents_assignment_explain,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_HEARTBEAT] = ark_frontend_http_agents_assignment_heartbeat,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_COMPLETE] = ark_frontend_http_agents_assignment_complete,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_FAIL] = ark_frontend_http_agents_assignment_fail,
    [ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_RELEASE] = ark_frontend_http_agents_assignment_release,
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_frontend_http_handlers) == ARK_FRONTEND_HTTP_ROUTE_LAST);

gboolean
ark_frontend_http_handlers_audit(ArkFrontendHttp *self, SoupServerMessage *msg,
				 ArkFrontendHttpRequest *req, const gchar *target,
				 const gchar *detail, gboolean flush)
{
	g_autofree gchar *origin = ark_frontend_http_request_origin(msg);
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = {0};

	req->audited = TRUE;
	entry.actor = req->actor;
	entry.origin = origin;
	entry.action = req->route->action;
	entry.target = target;
	entry.result = req->problem != NULL ? req->problem : "ok";
	entry.request_id = req->request_id;
	entry.detail = detail;
	/* flushed: the record is durable before the answer says the call happened */
	if (ark_engine_audit(self->engine, &entry, flush, &error))
		return TRUE;
	if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED)) {
		g_debug("audit of %s %s: %s", entry.action, target != NULL ? target : "",
			error->message);
		return TRUE;
	}
	g_warning("could not record %s %s (request %s) in the audit log: %s", entry.action,
		  target != NULL ? target : "", req->request_id, error->message);
	return FALSE;
}

/* every path parameter is well-formed before any is looked up: a bad task id is a 400 even
 * when the run does not exist */
static gboolean
ark_frontend_http_check_params(SoupServerMessage *msg, ArkFrontendHttpRequest *req)
{
	const gchar *p = req->route->pattern;
	guint i = 0;

	while ((p = strchr(p, '{')) != NULL && i < ARK_FRONTEND_HTTP_MAX_PARAMS) {
		const gchar *value = req->params[i++];
		guint64 number = 0;

		if (g_str_has_prefix(p, "{run}") && !ark_frontend_http_check_run_id(msg, value))
			return FALSE;
		if (g_str_has_prefix(p, "{task}") && !ark_frontend_http_check_task_id(msg, value))
			return FALSE;
		if (g_str_has_prefix(p, "{agent}") && !ark_frontend_http_valid_agent_id(value)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "'%s' is not an agent id", value);
			return FALSE;
		}
		if (g_str_has_prefix(p, "{assignment}") &&
		    !ark_frontend_http_valid_assignment_id(value)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "'%s' is not an assignment id", value);
			return FALSE;
		}
		if (g_str_has_prefix(p, "{n}") &&
		    !g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT, &number, NULL)) {
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "'%s' is not an attempt number (1, 2, ...)",
						  value);
			return FALSE;
		}
		p++;
	}
	return TRUE;
}

void
ark_frontend_http_handlers_dispatch(ArkFrontendHttp *self, SoupServerMessage *msg,
				    ArkFrontendHttpRequest *req, GHashTable *query)
{
	if (ark_frontend_http_check_params(msg, req))
		ark_frontend_http_handlers[req->route->id](self, msg, req, query);
	/* an answer that waits for a commit is audited when it is given */
	if (req->route->action == NULL || req->deferred)
		return;
	/*
	 * After the engine call, so that the record says how it ended. A call whose record can
	 * not be stored fails with 503 even though it took effect: nothing is answered as done
	 * that the audit log does not hold. A client repeats a submission safely with the same
	 * Idempotency-Key.
	 */
	if (!ark_frontend_http_handlers_audit(self, msg, req, req->audit_target,
					      req->audit_detail, TRUE) &&
	    req->problem == NULL)
		ark_frontend_http_problem(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "storage",
					  "%s was carried out but could not be recorded in the "
					  "audit log, so it is reported as failed; check the store "
					  "and retry (a submission with the same Idempotency-Key "
					  "returns the run it created)",
					  req->route->action);
}
