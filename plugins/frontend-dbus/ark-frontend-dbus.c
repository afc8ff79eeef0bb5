/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>

#include "ark-frontend-dbus-private.h"

/*
 * The D-Bus frontend: org.arkitect.Arkitect1 on the session or the system bus, serving the
 * interface of data/org.arkitect.Arkitect1.xml (docs/dbus.md) through the skeleton
 * gdbus-codegen made from it. GDBus checks every call's argument types against that
 * introspection data before a handler runs; the handlers check the values.
 *
 * A call goes through:
 *   handle-*         the skeleton's signal; the method's entry in the table below says
 *                    whether it changes anything
 *   the caller       for a mutating method, the bus is asked for the sender's uid
 *                    (GetConnectionUnixUser: the bus vouches for it, unlike a PID) and the
 *                    uid is checked: root, the daemon's own user, or a member of admin-group
 *   the method       validates its arguments and drives the engine
 *   the audit        a mutating call (allowed or not) is recorded with "uid N (name)" as actor
 *                    and "dbus :1.42" as origin before it is answered
 *
 * The frontend owns a private connection (not the process-wide singleton, which would exit the
 * process when the bus goes away): losing the name or the bus is logged, the daemon runs on,
 * and a lost bus is connected again every few seconds.
 */

#define ARK_FRONTEND_DBUS_RECONNECT_SECONDS 5
#define ARK_FRONTEND_DBUS_MAX_ID 128
#define ARK_FRONTEND_DBUS_MAX_REASON 1024
#define ARK_FRONTEND_DBUS_MAX_KEY 128
#define ARK_FRONTEND_DBUS_MAX_OVERRIDES (64 * 1024)
#define ARK_FRONTEND_DBUS_MAX_TASK (1024 * 1024)
#define ARK_FRONTEND_DBUS_MAX_JSON_DEPTH 64
#define ARK_FRONTEND_DBUS_RUNS_DEFAULT_LIMIT 100
#define ARK_FRONTEND_DBUS_RUNS_MAX_LIMIT 1000
#define ARK_FRONTEND_DBUS_TASKS_DEFAULT_LIMIT 1000
#define ARK_FRONTEND_DBUS_TASKS_MAX_LIMIT 10000
#define ARK_FRONTEND_DBUS_READ_CHUNK (64 * 1024)

static const ArkConfigKey ark_frontend_dbus_config_keys[] = {
    {"signal-interval", ARK_CONFIG_DURATION, "100ms",
     "task state changes are collected this long and sent as one TasksChanged signal per run"},
    {"admin-group", ARK_CONFIG_STRING, "arkitect",
     "members of this group may call the mutating methods (Submit, CancelRun, ...) besides root "
     "and the daemon's own user; everyone may call the others"},
    {"max-workflow-size", ARK_CONFIG_SIZE, "16M",
     "largest workflow document Submit and SubmitFd accept; larger ones get LimitExceeded", NULL,
     1024, ARK_WORKFLOW_MAX_BYTES},
    {"fd-timeout", ARK_CONFIG_DURATION, "30s",
     "how long SubmitFd waits for the end of what its file descriptor gives"},
};

static void ark_frontend_dbus_iface_init(ArkFrontendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkFrontendDbus, ark_frontend_dbus, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_FRONTEND, ark_frontend_dbus_iface_init))

/* calls -------------------------------------------------------------------------------------- */

void
ark_frontend_dbus_call_free(ArkFrontendDbusCall *call)
{
	g_clear_handle_id(&call->timeout_id, g_source_remove);
	g_clear_handle_id(&call->watch_id, g_bus_unwatch_name);
	g_clear_object(&call->stream);
	g_clear_object(&call->cancellable);
	g_clear_pointer(&call->data, g_byte_array_unref);
	g_clear_object(&call->invocation);
	g_clear_object(&call->self);
	g_free(call->user);
	g_free(call->actor);
	g_free(call->origin);
	g_free(call->target);
	g_free(call->detail);
	g_free(call->key);
	g_free(call->policy);
	g_free(call->agent_id);
	g_free(call);
}

/* records a mutating call; FALSE when the record could not be stored */
static gboolean
ark_frontend_dbus_audit(ArkFrontendDbusCall *call, const gchar *result, gboolean flush)
{
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = {0};

	if (call->method->action == NULL || call->actor == NULL)
		return TRUE;
	/* the engine records what it carries out; what the access rule refused it never saw */
	if (call->method->engine_audits && !call->refused)
		return TRUE;
	entry.actor = call->actor;
	entry.origin = call->origin;
	entry.action = call->method->action;
	entry.target = call->target;
	entry.result = result;
	entry.detail = call->detail;
	if (ark_engine_audit(call->self->engine, &entry, flush, &error))
		return TRUE;
	if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED))
		return TRUE;
	g_warning("could not record %s %s by %s in the audit log: %s", entry.action,
		  call->target != NULL ? call->target : "", call->actor, error->message);
	return FALSE;
}

void
ark_frontend_dbus_call_fail(ArkFrontendDbusCall *call, const GError *error)
{
	ArkError code = error->domain == ARK_ERROR ? (ArkError)error->code : ARK_ERROR_FAILED;

	if (call->method->action != NULL && !call->audit_failed)
		(void)ark_frontend_dbus_audit(call, ark_error_to_string(code), TRUE);
	g_dbus_method_invocation_return_error_literal(g_steal_pointer(&call->invocation),
						      ARK_ERROR, code, error->message);
	ark_frontend_dbus_call_free(call);
}

void
ark_frontend_dbus_call_failf(ArkFrontendDbusCall *call, ArkError code, const gchar *format, ...)
{
	g_autoptr(GError) error = NULL;
	va_list args;

	va_start(args, format);
	error = g_error_new_valist(ARK_ERROR, code, format, args);
	va_end(args);
	ark_frontend_dbus_call_fail(call, error);
}

/* a mutating call is answered only once its audit record is durable */
void
ark_frontend_dbus_call_return(ArkFrontendDbusCall *call, GVariant *value)
{
	g_autoptr(GVariant) owned = g_variant_ref_sink(value);

	if (call->method->action != NULL && !ark_frontend_dbus_audit(call, "ok", TRUE)) {
		call->audit_failed = TRUE; /* a second record would fail the same way */
		ark_frontend_dbus_call_failf(call, ARK_ERROR_STORAGE,
					     "%s was carried out but could not be recorded in the "
					     "audit log, so it is reported as failed",
					     call->method->action);
		return;
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), owned);
	ark_frontend_dbus_call_free(call);
}

/* validation --------------------------------------------------------------------------------- */

static gboolean
ark_frontend_dbus_valid_run_id(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > ARK_FRONTEND_DBUS_MAX_ID)
		return FALSE;
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_frontend_dbus_valid_task_id(const gchar *id)
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

/* an id shown in an error message: what was sent, cut short */
gchar *
ark_frontend_dbus_shown(const gchar *value)
{
	if (strlen(value) <= 64)
		return g_strdup(value);
	return g_strdup_printf("%.*s…", (gint)(g_utf8_offset_to_pointer(value, 60) - value), value);
}

static gboolean
ark_frontend_dbus_check_ids(ArkFrontendDbusCall *call, const gchar *run_id, const gchar *task_id)
{
	if (!ark_frontend_dbus_valid_run_id(run_id)) {
		g_autofree gchar *shown = ark_frontend_dbus_shown(run_id);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "'%s' is not a run id", shown);
		return FALSE;
	}
	if (task_id != NULL && !ark_frontend_dbus_valid_task_id(task_id)) {
		g_autofree gchar *shown = ark_frontend_dbus_shown(task_id);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "'%s' is not a task id", shown);
		return FALSE;
	}
	return TRUE;
}

/* the nesting of @data stays within @max (json-glib's parser recurses) */
static gboolean
ark_frontend_dbus_json_depth_ok(const gchar *data, gsize len, guint max)
{
	guint depth = 0;
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len; i++) {
		gchar c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
		} else if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return FALSE;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return TRUE;
}

/* a string option of an a{sv}; FALSE after failing @call when it has the wrong type */
static gboolean
ark_frontend_dbus_option_string(ArkFrontendDbusCall *call, GVariant *value, const gchar *name,
				gsize max_len, const gchar **out_value)
{
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "option %s must be a string (s), not %s", name,
					     g_variant_get_type_string(value));
		return FALSE;
	}
	*out_value = g_variant_get_string(value, NULL);
	if (strlen(*out_value) > max_len) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "option %s is longer than %" G_GSIZE_FORMAT " bytes",
					     name, max_len);
		return FALSE;
	}
	return TRUE;
}

/* an unknown option is an error: a typo must not be silently ignored */
static void
ark_frontend_dbus_unknown_option(ArkFrontendDbusCall *call, const gchar *name,
				 const gchar *known)
{
	g_autofree gchar *shown = ark_frontend_dbus_shown(name);
	ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
				     "unknown option '%s' (known: %s)", shown, known);
}

/* records ------------------------------------------------------------------------------------ */

static ArkStore *
ark_frontend_dbus_store(ArkFrontendDbus *self)
{
	return ark_engine_get_store(self->engine);
}

/* the run, or NULL after failing @call */
static ArkRunRecord *
ark_frontend_dbus_get_run(ArkFrontendDbusCall *call, const gchar *run_id)
{
	g_autoptr(GError) error = NULL;
	ArkRunRecord *run = ark_store_get_run(ark_frontend_dbus_store(call->self), run_id, &error);

	if (run != NULL)
		return run;
	if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND))
		ark_frontend_dbus_call_failf(call, ARK_ERROR_NOT_FOUND, "there is no run %s", run_id);
	else
		ark_frontend_dbus_call_fail(call, error);
	return NULL;
}

/* the tasks of @run and, in @out_task, @task_id's; NULL after failing @call */
static GPtrArray *
ark_frontend_dbus_get_task(ArkFrontendDbusCall *call, const ArkRunRecord *run,
			   const gchar *task_id, ArkTaskRecord **out_task)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks =
	    ark_store_list_tasks(ark_frontend_dbus_store(call->self), run->id, &error);

	*out_task = NULL;
	if (tasks == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return NULL;
	}
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) == 0) {
			*out_task = task;
			return g_steal_pointer(&tasks);
		}
	}
	ark_frontend_dbus_call_failf(call, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'", run->id,
				     task_id);
	return NULL;
}

/* the task's object in the run's stored definition, as JSON text, or NULL */
static gchar *
ark_frontend_dbus_task_definition(const ArkRunRecord *run, const ArkTaskRecord *task)
{
	g_autoptr(JsonNode) node =
	    ark_workflow_definition_get_task(run->definition, task->index, task->task_id);
	return node != NULL ? json_to_string(node, FALSE) : NULL;
}

/* the task as the store has it now, as a one-element tuple */
static void
ark_frontend_dbus_return_task_now(ArkFrontendDbusCall *call, const gchar *run_id,
				  const gchar *task_id)
{
	g_autoptr(GPtrArray) tasks =
	    ark_store_list_tasks(ark_frontend_dbus_store(call->self), run_id, NULL);

	for (guint i = 0; tasks != NULL && i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if (g_strcmp0(task->task_id, task_id) == 0) {
			ark_frontend_dbus_call_return(
			    call, g_variant_new_tuple(
				      (GVariant *[]){ark_frontend_dbus_task_to_variant(task, NULL)},
				      1));
			return;
		}
	}
	ark_frontend_dbus_call_failf(call, ARK_ERROR_NOT_FOUND, "run %s has no task '%s'", run_id,
				     task_id);
}

/* Submit, SubmitFd --------------------------------------------------------------------------- */

static gboolean
ark_frontend_dbus_valid_key(const gchar *key)
{
	gsize len = strlen(key);
	if (len == 0 || len > ARK_FRONTEND_DBUS_MAX_KEY)
		return FALSE;
	for (const gchar *p = key; *p != '\0'; p++) {
		if ((guchar)*p < 0x21 || (guchar)*p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

/* "idempotency-key" and "policy" of Submit's options; FALSE after failing @call */
static gboolean
ark_frontend_dbus_submit_options(ArkFrontendDbusCall *call, GVariant *options)
{
	GVariantIter iter;
	const gchar *name;
	GVariant *value;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		g_autoptr(GVariant) owned = value;
		const gchar *str = NULL;

		if (g_strcmp0(name, "idempotency-key") == 0) {
			if (!ark_frontend_dbus_option_string(call, value, name, G_MAXSIZE, &str))
				return FALSE;
			if (!ark_frontend_dbus_valid_key(str)) {
				ark_frontend_dbus_call_failf(
				    call, ARK_ERROR_INVALID_ARGUMENT,
				    "idempotency-key must be 1 to %d visible ASCII characters",
				    ARK_FRONTEND_DBUS_MAX_KEY);
				return FALSE;
			}
			g_free(call->key);
			call->key = g_strdup(str);
		} else if (g_strcmp0(name, "policy") == 0) {
			if (!ark_frontend_dbus_option_string(call, value, name, 128, &str))
				return FALSE;
			if (str[0] == '\0') {
				ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
							     "policy must be a policy name");
				return FALSE;
			}
			g_free(call->policy);
			call->policy = g_strdup(str);
		} else {
			ark_frontend_dbus_unknown_option(call, name, "idempotency-key, policy");
			return FALSE;
		}
	}
	return TRUE;
}

static void
ark_frontend_dbus_submitted_cb(ArkEngine *engine, const gchar *run_id, gboolean existed,
			       const GError *error, gpointer user_data)
{
	ArkFrontendDbusCall *call = user_data;

	/* the audit record was committed with the run (or dropped with it) */
	if (run_id == NULL) {
		g_autoptr(GError) lost = NULL;
		if (error == NULL)
			lost = g_error_new_literal(ARK_ERROR, ARK_ERROR_INTERNAL,
						   "the submission was lost");
		call->audit_failed = TRUE; /* the record went with the run */
		ark_frontend_dbus_call_fail(call, error != NULL ? error : lost);
		return;
	}
	if (call->audit_failed) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_STORAGE,
					     "run %s was submitted but could not be recorded in "
					     "the audit log, so the submission is reported as "
					     "failed; submit again with the same idempotency-key "
					     "to get the run",
					     run_id);
		return;
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
					      g_variant_new("(sb)", run_id, existed));
	ark_frontend_dbus_call_free(call);
}

/* submits @data (the workflow document) for @call; answers it in any case */
static void
ark_frontend_dbus_submit_data(ArkFrontendDbusCall *call, const gchar *data, gsize len)
{
	ArkFrontendDbus *self = call->self;
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) workflow = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = NULL;
	ArkSubmitOptions options = {0};

	/* a descriptor read to its end after the frontend stopped */
	if (!self->started) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_BUSY, "the D-Bus interface is stopping");
		return;
	}
	if (len > self->config.max_workflow_size) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_LIMIT_EXCEEDED,
					     "the workflow is larger than %" G_GUINT64_FORMAT
					     " bytes (max-workflow-size)",
					     self->config.max_workflow_size);
		return;
	}
	if (len == 0) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the workflow is empty");
		return;
	}
	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, (gssize)len, NULL)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the workflow is not UTF-8 text");
		return;
	}
	/* a key seen before answers with that run, whatever this document says */
	if (call->key != NULL) {
		g_autoptr(ArkRunRecord) run = ark_store_find_run_by_idempotency_key(
		    ark_frontend_dbus_store(self), call->key, &error);
		if (run != NULL) {
			call->target = g_strdup(run->id);
			if (!ark_frontend_dbus_audit(call, "ok", TRUE)) {
				ark_frontend_dbus_call_failf(call, ARK_ERROR_STORAGE,
							     "the audit log can not be written");
				return;
			}
			g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
							      g_variant_new("(sb)", run->id, TRUE));
			ark_frontend_dbus_call_free(call);
			return;
		}
		if (!g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_FOUND) &&
		    !g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED)) {
			ark_frontend_dbus_call_fail(call, error);
			return;
		}
		g_clear_error(&error);
	}
	workflow = ark_workflow_parse(data, (gssize)len, &problems);
	if (workflow != NULL) {
		g_ptr_array_set_size(problems, 0);
		if (!ark_engine_check_workflow(self->engine, workflow, call->policy, problems))
			g_clear_pointer(&workflow, ark_workflow_unref);
	}
	if (workflow == NULL) {
		g_autoptr(GString) message = g_string_new(NULL);
		g_string_append_printf(message, "the workflow document has %u problem%s",
				       problems->len, problems->len == 1 ? "" : "s");
		for (guint i = 0; i < problems->len; i++) {
			g_autofree gchar *line =
			    ark_problem_to_string(g_ptr_array_index(problems, i), "<workflow>");
			g_string_append_printf(message, "\n%s", line);
		}
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT, "%s", message->str);
		return;
	}
	{
		g_autoptr(GString) detail = g_string_new("{\"workflow\":");
		ark_json_append_string(detail, ark_workflow_get_name(workflow));
		g_string_append_printf(detail, ",\"n_tasks\":%u}",
				       ark_workflow_get_n_tasks(workflow));
		call->detail = g_string_free(g_steal_pointer(&detail), FALSE);
	}
	options.policy = call->policy;
	options.submitter = call->user;
	options.idempotency_key = call->key;
	/* committed with whatever else this main-loop iteration records (group commit) */
	run_id = ark_engine_submit_async(self->engine, workflow, &options,
					 ark_frontend_dbus_submitted_cb, call, &error);
	if (run_id == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	/* the record joins the run's transaction: both are durable, or neither */
	call->target = g_strdup(run_id);
	call->audit_failed = !ark_frontend_dbus_audit(call, "ok", FALSE);
}

static void
ark_frontend_dbus_submit(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GVariant) options = NULL;
	const gchar *workflow = NULL;
	gsize len = 0;

	g_variant_get(call->params, "(&s@a{sv})", &workflow, &options);
	if (!ark_frontend_dbus_submit_options(call, options))
		return;
	len = strlen(workflow);
	ark_frontend_dbus_submit_data(call, workflow, len);
}

static void ark_frontend_dbus_fd_read_cb(GObject *source, GAsyncResult *result,
					 gpointer user_data);

static void
ark_frontend_dbus_fd_read_next(ArkFrontendDbusCall *call)
{
	g_input_stream_read_bytes_async(call->stream, ARK_FRONTEND_DBUS_READ_CHUNK,
					G_PRIORITY_DEFAULT, call->cancellable,
					ark_frontend_dbus_fd_read_cb, call);
}

static void
ark_frontend_dbus_fd_read_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ArkFrontendDbusCall *call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result,
								    &error);
	gsize n;

	if (bytes == NULL) {
		if (call->timed_out) {
			g_autofree gchar *timeout =
			    ark_duration_format(call->self->config.fd_timeout);
			ark_frontend_dbus_call_failf(call, ARK_ERROR_TIMED_OUT,
						     "the file descriptor did not end within %s "
						     "(fd-timeout)",
						     timeout);
		} else {
			ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
						     "cannot read the file descriptor: %s",
						     error->message);
		}
		return;
	}
	n = g_bytes_get_size(bytes);
	if (n == 0) {
		g_clear_handle_id(&call->timeout_id, g_source_remove);
		ark_frontend_dbus_submit_data(call, (const gchar *)call->data->data,
					      call->data->len);
		return;
	}
	if ((guint64)call->data->len + n > call->self->config.max_workflow_size) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_LIMIT_EXCEEDED,
					     "the workflow is larger than %" G_GUINT64_FORMAT
					     " bytes (max-workflow-size)",
					     call->self->config.max_workflow_size);
		return;
	}
	g_byte_array_append(call->data, g_bytes_get_data(bytes, NULL), (guint)n);
	ark_frontend_dbus_fd_read_next(call);
}

static gboolean
ark_frontend_dbus_fd_timeout_cb(gpointer user_data)
{
	ArkFrontendDbusCall *call = user_data;

	call->timeout_id = 0;
	call->timed_out = TRUE;
	g_cancellable_cancel(call->cancellable);
	return G_SOURCE_REMOVE;
}

static void
ark_frontend_dbus_submit_fd(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	GDBusMessage *message = g_dbus_method_invocation_get_message(call->invocation);
	GUnixFDList *fds = g_dbus_message_get_unix_fd_list(message);
	g_autoptr(GVariant) options = NULL;
	g_autoptr(GError) error = NULL;
	gint32 handle = -1;
	gint fd;
	gint flags;
	struct stat st;

	g_variant_get(call->params, "(h@a{sv})", &handle, &options);
	if (!ark_frontend_dbus_submit_options(call, options))
		return;
	if (fds == NULL || handle < 0 || handle >= g_unix_fd_list_get_length(fds)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the call carries no file descriptor %d", handle);
		return;
	}
	fd = g_unix_fd_list_get(fds, handle, &error);
	if (fd < 0) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "cannot take the file descriptor: %s", error->message);
		return;
	}
	flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || flags < 0) {
		gint errsv = errno;
		close(fd);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "cannot use the file descriptor: %s",
					     g_strerror(errsv));
		return;
	}
	if (S_ISDIR(st.st_mode) || (flags & O_ACCMODE) == O_WRONLY) {
		close(fd);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the file descriptor must be readable: a file, a pipe "
					     "or a socket");
		return;
	}
	if (S_ISREG(st.st_mode) && (guint64)st.st_size > self->config.max_workflow_size) {
		close(fd);
		ark_frontend_dbus_call_failf(call, ARK_ERROR_LIMIT_EXCEEDED,
					     "the workflow is larger than %" G_GUINT64_FORMAT
					     " bytes (max-workflow-size)",
					     self->config.max_workflow_size);
		return;
	}
	/* never block the main loop on a descriptor a client controls: pipes and sockets are
	 * polled, files are read in GIO's worker threads */
	if (!S_ISREG(st.st_mode))
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	call->stream = g_unix_input_stream_new(fd, TRUE);
	call->data = g_byte_array_new();
	call->cancellable = g_cancellable_new();
	call->timeout_id = g_timeout_add_full(G_PRIORITY_DEFAULT,
					      (guint)MAX(self->config.fd_timeout / 1000, 1),
					      ark_frontend_dbus_fd_timeout_cb, call, NULL);
	ark_frontend_dbus_fd_read_next(call);
}

/* runs and tasks ----------------------------------------------------------------------------- */

/* states as a mask of 1 << state; FALSE after failing @call */
static gboolean
ark_frontend_dbus_state_mask(ArkFrontendDbusCall *call, const gchar *const *states,
			     gboolean runs, guint *out_mask)
{
	*out_mask = 0;
	for (guint i = 0; states != NULL && states[i] != NULL; i++) {
		gint state = -1;
		if (runs) {
			ArkRunState s;
			if (ark_run_state_from_string(states[i], &s))
				state = (gint)s;
		} else {
			ArkTaskState s;
			if (ark_task_state_from_string(states[i], &s))
				state = (gint)s;
		}
		if (state < 0) {
			g_autofree gchar *shown = ark_frontend_dbus_shown(states[i]);
			ark_frontend_dbus_call_failf(
			    call, ARK_ERROR_INVALID_ARGUMENT, "unknown %s state '%s' (known: %s)",
			    runs ? "run" : "task", shown,
			    runs ? "pending, running, succeeded, failed, cancelled"
				 : "pending, ready, running, retry_wait, succeeded, failed, "
				   "cancelled, skipped, dead");
			return FALSE;
		}
		*out_mask |= 1u << state;
	}
	return TRUE;
}

static gboolean
ark_frontend_dbus_limit(ArkFrontendDbusCall *call, guint limit, guint fallback, guint max,
			guint *out_limit)
{
	if (limit > max) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "limit must be 1 to %u (0 for %u)", max, fallback);
		return FALSE;
	}
	*out_limit = limit == 0 ? fallback : limit;
	return TRUE;
}

static void
ark_frontend_dbus_list_runs(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GVariant) filter_v = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree const gchar **states = NULL;
	const gchar *cursor = NULL;
	const gchar *workflow = NULL;
	const gchar *order = NULL;
	ArkRunFilter filter = {0};
	GVariantBuilder b;
	GVariantIter iter;
	const gchar *name;
	GVariant *value;
	guint limit = 0;
	guint n;

	g_variant_get(call->params, "(@a{sv}&su)", &filter_v, &cursor, &limit);
	if (!ark_frontend_dbus_limit(call, limit, ARK_FRONTEND_DBUS_RUNS_DEFAULT_LIMIT,
				     ARK_FRONTEND_DBUS_RUNS_MAX_LIMIT, &limit))
		return;
	g_variant_iter_init(&iter, filter_v);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		g_autoptr(GVariant) owned = value;
		if (g_strcmp0(name, "states") == 0) {
			if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING_ARRAY)) {
				ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
							     "filter states must be as, not %s",
							     g_variant_get_type_string(value));
				return;
			}
			g_free(states);
			states = g_variant_get_strv(value, NULL);
			if (!ark_frontend_dbus_state_mask(call, states, TRUE, &filter.state_mask))
				return;
		} else if (g_strcmp0(name, "workflow") == 0) {
			if (!ark_frontend_dbus_option_string(call, value, name, 128, &workflow))
				return;
		} else if (g_strcmp0(name, "order") == 0) {
			if (!ark_frontend_dbus_option_string(call, value, name, 16, &order))
				return;
			if (g_strcmp0(order, "newest") != 0 && g_strcmp0(order, "oldest") != 0) {
				ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
							     "order must be newest or oldest");
				return;
			}
		} else {
			ark_frontend_dbus_unknown_option(call, name, "states, workflow, order");
			return;
		}
	}
	if (cursor[0] != '\0' && !ark_frontend_dbus_check_ids(call, cursor, NULL))
		return;
	filter.workflow_name = workflow != NULL && workflow[0] != '\0' ? workflow : NULL;
	filter.after = cursor[0] != '\0' ? cursor : NULL;
	filter.limit = limit + 1; /* one more says whether there is a next page */
	filter.newest_first = g_strcmp0(order, "oldest") != 0;
	runs = ark_store_list_runs(ark_frontend_dbus_store(self), &filter, &error);
	if (runs == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	n = MIN(runs->len, limit);
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < n; i++)
		g_variant_builder_add_value(
		    &b, ark_frontend_dbus_run_to_variant(self, g_ptr_array_index(runs, i)));
	ark_frontend_dbus_call_return(
	    call, g_variant_new("(@aa{sv}s)", g_variant_builder_end(&b),
				runs->len > limit
				    ? ((ArkRunRecord *)g_ptr_array_index(runs, n - 1))->id
				    : ""));
}

static void
ark_frontend_dbus_get_run_method(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(ArkRunRecord) run = NULL;
	const gchar *run_id = NULL;

	g_variant_get(call->params, "(&s)", &run_id);
	if (!ark_frontend_dbus_check_ids(call, run_id, NULL))
		return;
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run != NULL)
		ark_frontend_dbus_call_return(
		    call, g_variant_new_tuple(
			      (GVariant *[]){ark_frontend_dbus_run_to_variant(self, run)}, 1));
}

static void
ark_frontend_dbus_list_tasks(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree const gchar **states = NULL;
	const gchar *run_id = NULL;
	const gchar *cursor_str = NULL;
	guint64 cursor = 0;
	gboolean has_cursor;
	gboolean more = FALSE;
	guint mask = 0;
	guint limit = 0;
	guint n = 0;
	gint last = -1;
	GVariantBuilder b;

	g_variant_get(call->params, "(&s^a&s&su)", &run_id, &states, &cursor_str, &limit);
	if (!ark_frontend_dbus_check_ids(call, run_id, NULL) ||
	    !ark_frontend_dbus_state_mask(call, states, FALSE, &mask) ||
	    !ark_frontend_dbus_limit(call, limit, ARK_FRONTEND_DBUS_TASKS_DEFAULT_LIMIT,
				     ARK_FRONTEND_DBUS_TASKS_MAX_LIMIT, &limit))
		return;
	has_cursor = cursor_str[0] != '\0';
	if (has_cursor && !g_ascii_string_to_unsigned(cursor_str, 10, 0, G_MAXUINT, &cursor, NULL)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "cursor must be a task index, as next_cursor gives it");
		return;
	}
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run == NULL)
		return;
	tasks = ark_store_list_tasks(ark_frontend_dbus_store(self), run->id, &error);
	if (tasks == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
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
		g_variant_builder_add_value(&b, ark_frontend_dbus_task_to_variant(task, NULL));
		last = (gint)task->index;
		n++;
	}
	{
		g_autofree gchar *next = more ? g_strdup_printf("%d", last) : g_strdup("");
		ark_frontend_dbus_call_return(
		    call, g_variant_new("(@aa{sv}s)", g_variant_builder_end(&b), next));
	}
}

static void
ark_frontend_dbus_get_task_method(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GPtrArray) attempts = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *definition = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *run_id = NULL;
	const gchar *task_id = NULL;
	GVariantBuilder b;
	GVariantDict extra;

	g_variant_get(call->params, "(&s&s)", &run_id, &task_id);
	if (!ark_frontend_dbus_check_ids(call, run_id, task_id))
		return;
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run == NULL)
		return;
	tasks = ark_frontend_dbus_get_task(call, run, task_id, &task);
	if (tasks == NULL)
		return;
	attempts = ark_store_list_attempts(ark_frontend_dbus_store(self), run->id, task->task_id,
					   &error);
	if (attempts == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < attempts->len; i++)
		g_variant_builder_add_value(
		    &b, ark_frontend_dbus_attempt_to_variant(self, g_ptr_array_index(attempts, i)));
	g_variant_dict_init(&extra, NULL);
	g_variant_dict_insert_value(&extra, "attempts", g_variant_builder_end(&b));
	definition = ark_frontend_dbus_task_definition(run, task);
	if (definition != NULL && g_utf8_validate(definition, -1, NULL))
		g_variant_dict_insert(&extra, "definition", "s", definition);
	ark_frontend_dbus_call_return(
	    call,
	    g_variant_new_tuple((GVariant *[]){ark_frontend_dbus_task_to_variant(task, &extra)}, 1));
}

static gboolean
ark_frontend_dbus_check_reason(ArkFrontendDbusCall *call, const gchar *reason)
{
	if (strlen(reason) <= ARK_FRONTEND_DBUS_MAX_REASON)
		return TRUE;
	ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
				     "reason is longer than %d bytes", ARK_FRONTEND_DBUS_MAX_REASON);
	return FALSE;
}

static void
ark_frontend_dbus_cancel_run(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(ArkRunRecord) now = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *run_id = NULL;
	const gchar *reason = NULL;

	g_variant_get(call->params, "(&s&s)", &run_id, &reason);
	if (!ark_frontend_dbus_check_ids(call, run_id, NULL))
		return;
	call->target = g_strdup(run_id);
	if (!ark_frontend_dbus_check_reason(call, reason))
		return;
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run == NULL)
		return;
	if (ark_run_state_is_terminal(run->state)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_EXISTS, "run %s already finished (%s)",
					     run->id, ark_run_state_to_string(run->state));
		return;
	}
	if (!ark_engine_cancel_run(self->engine, run->id, call->user,
				   reason[0] != '\0' ? reason : NULL, &error)) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	now = ark_store_get_run(ark_frontend_dbus_store(self), run->id, NULL);
	ark_frontend_dbus_call_return(
	    call, g_variant_new_tuple((GVariant *[]){ark_frontend_dbus_run_to_variant(
					  self, now != NULL ? now : run)},
				      1));
}

static void
ark_frontend_dbus_cancel_task(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *run_id = NULL;
	const gchar *task_id = NULL;
	const gchar *reason = NULL;

	g_variant_get(call->params, "(&s&s&s)", &run_id, &task_id, &reason);
	if (!ark_frontend_dbus_check_ids(call, run_id, task_id))
		return;
	call->target = g_strdup_printf("%s/%s", run_id, task_id);
	if (!ark_frontend_dbus_check_reason(call, reason))
		return;
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run == NULL)
		return;
	tasks = ark_frontend_dbus_get_task(call, run, task_id, &task);
	if (tasks == NULL)
		return;
	if (ark_task_state_is_terminal(task->state)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_EXISTS,
					     "task '%s' already finished (%s)", task->task_id,
					     ark_task_state_to_string(task->state));
		return;
	}
	if (!ark_engine_cancel_task(self->engine, run->id, task->task_id, call->user,
				    reason[0] != '\0' ? reason : NULL, &error)) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_return_task_now(call, run->id, task->task_id);
}

/* "set" (a JSON object as text) and "timeout" of RetryTask and DlqReplay; FALSE after failing
 * @call */
static gboolean
ark_frontend_dbus_replay_overrides(ArkFrontendDbusCall *call, GVariant *options,
				   JsonObject **out_overrides)
{
	g_autoptr(JsonObject) overrides = json_object_new();
	GVariantIter iter;
	const gchar *name;
	GVariant *value;

	*out_overrides = NULL;
	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		g_autoptr(GVariant) owned = value;
		const gchar *str = NULL;

		if (g_strcmp0(name, "set") == 0) {
			g_autoptr(JsonParser) parser = json_parser_new();
			g_autoptr(GError) error = NULL;
			JsonNode *root;
			g_autoptr(GList) members = NULL;

			if (!ark_frontend_dbus_option_string(call, value, name,
							     ARK_FRONTEND_DBUS_MAX_OVERRIDES, &str))
				return FALSE;
			if (!ark_frontend_dbus_json_depth_ok(str, strlen(str),
							     ARK_FRONTEND_DBUS_MAX_JSON_DEPTH) ||
			    !json_parser_load_from_data(parser, str, -1, &error) ||
			    (root = json_parser_get_root(parser)) == NULL ||
			    !JSON_NODE_HOLDS_OBJECT(root)) {
				ark_frontend_dbus_call_failf(
				    call, ARK_ERROR_INVALID_ARGUMENT,
				    "option set must be a JSON object of task members%s%s",
				    error != NULL ? ": " : "", error != NULL ? error->message : "");
				return FALSE;
			}
			members = json_object_get_members(json_node_get_object(root));
			for (GList *l = members; l != NULL; l = l->next)
				json_object_set_member(
				    overrides, l->data,
				    json_node_copy(
					json_object_get_member(json_node_get_object(root), l->data)));
		} else if (g_strcmp0(name, "timeout") == 0) {
			g_autoptr(GError) error = NULL;
			gint64 usec = 0;
			if (!ark_frontend_dbus_option_string(call, value, name, 64, &str))
				return FALSE;
			if (!ark_duration_parse(str, &usec, &error)) {
				ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
							     "timeout: %s", error->message);
				return FALSE;
			}
			json_object_set_string_member(overrides, "timeout", str);
		} else {
			ark_frontend_dbus_unknown_option(call, name, "set, timeout");
			return FALSE;
		}
	}
	if (json_object_get_size(overrides) > 0)
		*out_overrides = g_steal_pointer(&overrides);
	return TRUE;
}

static void
ark_frontend_dbus_replay(ArkFrontendDbus *self, ArkFrontendDbusCall *call, gboolean dead_only)
{
	g_autoptr(JsonObject) overrides = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(ArkRunRecord) run = NULL;
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	ArkTaskRecord *task = NULL;
	const gchar *run_id = NULL;
	const gchar *task_id = NULL;

	g_variant_get(call->params, "(&s&s@a{sv})", &run_id, &task_id, &options);
	if (!ark_frontend_dbus_check_ids(call, run_id, task_id))
		return;
	call->target = g_strdup_printf("%s/%s", run_id, task_id);
	if (!ark_frontend_dbus_replay_overrides(call, options, &overrides))
		return;
	run = ark_frontend_dbus_get_run(call, run_id);
	if (run == NULL)
		return;
	tasks = ark_frontend_dbus_get_task(call, run, task_id, &task);
	if (tasks == NULL)
		return;
	if (dead_only && task->state != ARK_TASK_STATE_DEAD) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_NOT_FOUND,
					     "task '%s' of run %s is not in the dead-letter queue "
					     "(it is %s)",
					     task->task_id, run->id,
					     ark_task_state_to_string(task->state));
		return;
	}
	if (overrides != NULL) {
		g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), overrides);
		call->detail = json_to_string(node, FALSE);
	}
	if (!ark_engine_replay_task(self->engine, run->id, task->task_id, overrides, call->user,
				    &error)) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_return_task_now(call, run->id, task->task_id);
}

static void
ark_frontend_dbus_retry_task(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	ark_frontend_dbus_replay(self, call, FALSE);
}

static void
ark_frontend_dbus_dlq_replay(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	ark_frontend_dbus_replay(self, call, TRUE);
}

static void
ark_frontend_dbus_add_task(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	const gchar *run_id = NULL;
	const gchar *text = NULL;
	const gchar *task_id = NULL;
	JsonObject *task;
	JsonNode *root;
	JsonNode *id;

	g_variant_get(call->params, "(&s&s)", &run_id, &text);
	if (!ark_frontend_dbus_check_ids(call, run_id, NULL))
		return;
	call->target = g_strdup(run_id);
	if (strlen(text) > ARK_FRONTEND_DBUS_MAX_TASK) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_LIMIT_EXCEEDED,
					     "the task is larger than %d bytes",
					     ARK_FRONTEND_DBUS_MAX_TASK);
		return;
	}
	if (!ark_frontend_dbus_json_depth_ok(text, strlen(text), ARK_FRONTEND_DBUS_MAX_JSON_DEPTH) ||
	    !json_parser_load_from_data(parser, text, -1, &error) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
					     "the task must be a JSON object of the workflow "
					     "format%s%s",
					     error != NULL ? ": " : "",
					     error != NULL ? error->message : "");
		return;
	}
	task = json_node_get_object(root);
	id = json_object_get_member(task, "id");
	if (id != NULL && JSON_NODE_HOLDS_VALUE(id) && json_node_get_value_type(id) == G_TYPE_STRING &&
	    ark_frontend_dbus_valid_task_id(json_node_get_string(id))) {
		task_id = json_node_get_string(id);
		g_free(call->target);
		call->target = g_strdup_printf("%s/%s", run_id, task_id);
	}
	if (!ark_engine_add_task(self->engine, run_id, task, call->user, &error)) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	/* the engine accepted it, so it had a valid id */
	ark_frontend_dbus_return_task_now(call, run_id, task_id != NULL ? task_id : "");
}

static void
ark_frontend_dbus_dlq_list(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GPtrArray) tasks = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *cursor_run = NULL;
	const gchar *run_id = NULL;
	const gchar *cursor = NULL;
	const ArkTaskRecord *last = NULL;
	guint64 cursor_index = 0;
	ArkTaskFilter filter = {0};
	gboolean more = FALSE;
	guint limit = 0;
	guint n = 0;
	GVariantBuilder b;

	g_variant_get(call->params, "(&s&su)", &run_id, &cursor, &limit);
	if ((run_id[0] != '\0' && !ark_frontend_dbus_check_ids(call, run_id, NULL)) ||
	    !ark_frontend_dbus_limit(call, limit, ARK_FRONTEND_DBUS_RUNS_DEFAULT_LIMIT,
				     ARK_FRONTEND_DBUS_RUNS_MAX_LIMIT, &limit))
		return;
	if (cursor[0] != '\0') {
		const gchar *slash = strchr(cursor, '/');
		cursor_run = slash != NULL ? g_strndup(cursor, (gsize)(slash - cursor)) : NULL;
		if (slash == NULL || !ark_frontend_dbus_valid_run_id(cursor_run) ||
		    !g_ascii_string_to_unsigned(slash + 1, 10, 0, G_MAXUINT, &cursor_index,
						NULL)) {
			ark_frontend_dbus_call_failf(call, ARK_ERROR_INVALID_ARGUMENT,
						     "cursor must be RUN/INDEX, as next_cursor "
						     "gives it");
			return;
		}
	}
	filter.state_mask = 1u << ARK_TASK_STATE_DEAD;
	filter.run_id = run_id[0] != '\0' ? run_id : NULL;
	tasks = ark_store_find_tasks(ark_frontend_dbus_store(self), &filter, &error);
	if (tasks == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
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
		g_variant_builder_add_value(&b, ark_frontend_dbus_task_to_variant(task, NULL));
		last = task;
		n++;
	}
	{
		g_autofree gchar *next = more && last != NULL
					     ? g_strdup_printf("%s/%u", last->run_id, last->index)
					     : g_strdup("");
		ark_frontend_dbus_call_return(
		    call, g_variant_new("(@aa{sv}s)", g_variant_builder_end(&b), next));
	}
}

static void
ark_frontend_dbus_explain(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(JsonObject) explanation = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *run_id = NULL;
	const gchar *task_id = NULL;

	g_variant_get(call->params, "(&s&s)", &run_id, &task_id);
	if (!ark_frontend_dbus_check_ids(call, run_id, task_id))
		return;
	explanation = ark_engine_explain_task(self->engine, run_id, task_id, &error);
	if (explanation == NULL) {
		ark_frontend_dbus_call_fail(call, error);
		return;
	}
	ark_frontend_dbus_call_return(
	    call, g_variant_new_tuple((GVariant *[]){ark_frontend_dbus_json_to_variant(explanation)},
				      1));
}

static GVariant *
ark_frontend_dbus_check_to_variant(const ArkHealthCheck *check)
{
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "name", "s", check->name);
	g_variant_dict_insert(&d, "status", "s", ark_health_status_to_string(check->status));
	if (check->message != NULL && g_utf8_validate(check->message, -1, NULL))
		g_variant_dict_insert(&d, "message", "s", check->message);
	g_variant_dict_insert(&d, "blocks_ready", "b", check->blocks_ready);
	if (check->since > 0)
		g_variant_dict_insert(&d, "since", "x", check->since);
	return g_variant_dict_end(&d);
}

static void
ark_frontend_dbus_get_status(ArkFrontendDbus *self, ArkFrontendDbusCall *call)
{
	g_autoptr(GPtrArray) checks = ark_engine_check_health(self->engine);
	g_auto(GStrv) policies =
	    ark_registry_list_names(ark_engine_get_registry(self->engine), ARK_CAPABILITY_POLICY);
	g_auto(GStrv) executors = ark_engine_list_executors(self->engine);
	gboolean accepting = ark_engine_is_accepting(self->engine, NULL);
	GVariantBuilder list;
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "version", "s", PACKAGE_VERSION);
	g_variant_dict_insert(&d, "state", "s", accepting ? "running" : "draining");
	g_variant_dict_insert(&d, "started_at", "x", self->process_started_at);
	g_variant_dict_insert(
	    &d, "uptime_seconds", "d",
	    (gdouble)MAX(g_get_real_time() - self->process_started_at, 0) / G_USEC_PER_SEC);
	g_variant_dict_insert(&d, "open_runs", "u", ark_engine_get_n_open_runs(self->engine));
	g_variant_dict_insert(&d, "default_policy", "s",
			      ark_engine_get_default_policy(self->engine));
	g_variant_dict_insert_value(
	    &d, "policies",
	    g_variant_new_strv((const gchar *const *)policies, policies != NULL ? -1 : 0));
	g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; executors != NULL && executors[i] != NULL; i++) {
		GVariantDict e;
		guint slots = 0;
		guint in_use = 0;
		(void)ark_engine_get_executor_slots(self->engine, executors[i], &slots, &in_use);
		g_variant_dict_init(&e, NULL);
		g_variant_dict_insert(&e, "name", "s", executors[i]);
		g_variant_dict_insert(&e, "slots", "u", slots);
		g_variant_dict_insert(&e, "in_use", "u", in_use);
		g_variant_builder_add_value(&list, g_variant_dict_end(&e));
	}
	g_variant_dict_insert_value(&d, "executors", g_variant_builder_end(&list));
	g_variant_dict_insert(&d, "queue_depth", "u", ark_engine_get_queue_depth(self->engine, NULL));
	g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < checks->len; i++)
		g_variant_builder_add_value(
		    &list, ark_frontend_dbus_check_to_variant(g_ptr_array_index(checks, i)));
	g_variant_dict_insert_value(&d, "health", g_variant_builder_end(&list));
	g_variant_dict_insert(&d, "bus", "s",
			      self->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session");
	ark_frontend_dbus_call_return(call,
				      g_variant_new_tuple((GVariant *[]){g_variant_dict_end(&d)}, 1));
}

static const ArkFrontendDbusMethod ark_frontend_dbus_methods[] = {
    {"Submit", "run.submit", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_submit},
    {"SubmitFd", "run.submit", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_submit_fd},
    {"ListRuns", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_list_runs},
    {"GetRun", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_get_run_method},
    {"ListTasks", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_list_tasks},
    {"GetTask", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_get_task_method},
    {"CancelRun", "run.cancel", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_cancel_run},
    {"CancelTask", "task.cancel", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_cancel_task},
    {"RetryTask", "task.retry", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_retry_task},
    {"AddTask", "task.add", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_add_task},
    {"DlqList", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_dlq_list},
    {"DlqReplay", "dlq.replay", ARK_FRONTEND_DBUS_ACCESS_ADMIN, ark_frontend_dbus_dlq_replay},
    {"Explain", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_explain},
    {"GetStatus", NULL, ARK_FRONTEND_DBUS_ACCESS_READ, ark_frontend_dbus_get_status},
};

/* the caller and access ---------------------------------------------------------------------- */

/* root, the daemon's own user, or a member of admin-group (primary or supplementary) */
static gboolean
ark_frontend_dbus_may_change(ArkFrontendDbus *self, guint32 uid)
{
	g_autofree gid_t *groups = NULL;
	struct passwd pw_buf, *pw = NULL;
	struct group gr_buf, *gr = NULL;
	gchar buf[16384];
	gchar gbuf[16384];
	gint n = 64;

	if (uid == 0 || uid == (guint32)getuid())
		return TRUE;
	if (self->config.admin_group == NULL || self->config.admin_group[0] == '\0')
		return FALSE;
	if (getpwuid_r((uid_t)uid, &pw_buf, buf, sizeof(buf), &pw) != 0 || pw == NULL)
		return FALSE;
	if (getgrnam_r(self->config.admin_group, &gr_buf, gbuf, sizeof(gbuf), &gr) != 0 ||
	    gr == NULL)
		return FALSE;
	if (pw->pw_gid == gr->gr_gid)
		return TRUE;
	for (guint attempt = 0; attempt < 2; attempt++) {
		gint got = n;
		g_free(groups);
		groups = g_new(gid_t, n);
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &got) >= 0) {
			for (gint i = 0; i < got; i++) {
				if (groups[i] == gr->gr_gid)
					return TRUE;
			}
			return FALSE;
		}
		n = MAX(got, n * 2);
	}
	return FALSE;
}

static gchar *
ark_frontend_dbus_user_name(guint32 uid)
{
	struct passwd pw_buf, *pw = NULL;
	gchar buf[16384];

	if (getpwuid_r((uid_t)uid, &pw_buf, buf, sizeof(buf), &pw) != 0 || pw == NULL ||
	    !g_utf8_validate(pw->pw_name, -1, NULL))
		return NULL;
	return g_strdup(pw->pw_name);
}

static void
ark_frontend_dbus_caller_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(ArkFrontendDbusCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	ArkFrontendDbus *self = call->self;

	if (reply == NULL) {
		g_warning("cannot tell who called %s: %s", call->method->name, error->message);
		ark_frontend_dbus_call_failf(g_steal_pointer(&call), ARK_ERROR_PERMISSION_DENIED,
					     "the bus did not say who the caller is");
		return;
	}
	g_variant_get(reply, "(u)", &call->uid);
	call->user = ark_frontend_dbus_user_name(call->uid);
	call->actor = call->user != NULL ? g_strdup_printf("uid %u (%s)", call->uid, call->user)
					 : g_strdup_printf("uid %u", call->uid);
	if (call->user == NULL)
		call->user = g_strdup_printf("uid %u", call->uid);
	if (!self->started) {
		ark_frontend_dbus_call_failf(g_steal_pointer(&call), ARK_ERROR_BUSY,
					     "the D-Bus interface is stopping");
		return;
	}
	if (!ark_frontend_dbus_may_change(self, call->uid)) {
		call->refused = TRUE;
		ark_frontend_dbus_call_failf(g_steal_pointer(&call), ARK_ERROR_PERMISSION_DENIED,
					     "%s changes the daemon's work: only root, the "
					     "daemon's user and members of group '%s' may call it",
					     call->method->name, self->config.admin_group);
		return;
	}
	call->method->func(self, g_steal_pointer(&call));
}

void
ark_frontend_dbus_dispatch(ArkFrontendDbus *self, GDBusMethodInvocation *invocation)
{
	const gchar *name = g_dbus_method_invocation_get_method_name(invocation);
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	const ArkFrontendDbusMethod *methods = ark_frontend_dbus_methods;
	guint n_methods = G_N_ELEMENTS(ark_frontend_dbus_methods);
	ArkFrontendDbusCall *call = g_new0(ArkFrontendDbusCall, 1);

	if (g_strcmp0(g_dbus_method_invocation_get_interface_name(invocation),
		      "org.arkitect.Arkitect1.Agents") == 0)
		methods = ark_frontend_dbus_agents_methods(&n_methods);
	call->self = g_object_ref(self);
	/* the handler owns the invocation's reference; the answer (return_*) consumes it */
	call->invocation = invocation;
	call->params = g_dbus_method_invocation_get_parameters(invocation);
	call->origin = g_strdup_printf("dbus %s", sender != NULL ? sender : "?");
	for (guint i = 0; i < n_methods; i++) {
		if (g_strcmp0(methods[i].name, name) == 0)
			call->method = &methods[i];
	}
	g_assert(call->method != NULL); /* GDBus only dispatches methods of the XML */
	if (call->method->access != ARK_FRONTEND_DBUS_ACCESS_ADMIN) {
		call->method->func(self, call);
		return;
	}
	/* who is asking: the bus knows the uid of every connection, and a unique name is never
	 * reused, so the answer belongs to this caller even if it is gone by then */
	g_dbus_connection_call(g_dbus_method_invocation_get_connection(invocation),
			       "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixUser",
			       g_variant_new("(s)", sender != NULL ? sender : ""),
			       G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
			       ark_frontend_dbus_caller_cb, call);
}

/* the skeleton's handle-* signals: every one goes to ark_frontend_dbus_dispatch(), which reads
 * the arguments from the invocation */
#define ARK_FRONTEND_DBUS_HANDLER(fn, ...)                                                          \
	static gboolean fn(ArkDbusManager *skeleton, GDBusMethodInvocation *invocation,            \
			   __VA_ARGS__, gpointer user_data)                                        \
	{                                                                                          \
		ark_frontend_dbus_dispatch(user_data, invocation);                                 \
		return G_DBUS_METHOD_INVOCATION_HANDLED;                                           \
	}

ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_submit_cb, const gchar *a, GVariant *b)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_submit_fd_cb, GUnixFDList *a, GVariant *b,
			  GVariant *c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_list_runs_cb, GVariant *a, const gchar *b,
			  guint c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_get_run_cb, const gchar *a)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_list_tasks_cb, const gchar *a,
			  const gchar *const *b, const gchar *c, guint d)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_get_task_cb, const gchar *a, const gchar *b)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_cancel_run_cb, const gchar *a, const gchar *b)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_cancel_task_cb, const gchar *a, const gchar *b,
			  const gchar *c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_retry_task_cb, const gchar *a, const gchar *b,
			  GVariant *c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_add_task_cb, const gchar *a, const gchar *b)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_dlq_list_cb, const gchar *a, const gchar *b,
			  guint c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_dlq_replay_cb, const gchar *a, const gchar *b,
			  GVariant *c)
ARK_FRONTEND_DBUS_HANDLER(ark_frontend_dbus_handle_explain_cb, const gchar *a, const gchar *b)

static gboolean
ark_frontend_dbus_handle_get_status_cb(ArkDbusManager *skeleton, GDBusMethodInvocation *invocation,
				       gpointer user_data)
{
	ark_frontend_dbus_dispatch(user_data, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* the bus ------------------------------------------------------------------------------------ */

static const gchar *
ark_frontend_dbus_bus_name(GBusType type)
{
	return type == G_BUS_TYPE_SYSTEM ? "system" : "session";
}

static void
ark_frontend_dbus_name_acquired_cb(GDBusConnection *connection, const gchar *name,
				   gpointer user_data)
{
	ArkFrontendDbus *self = user_data;

	self->owns_name = TRUE;
	g_message("D-Bus: %s on the %s bus", name, ark_frontend_dbus_bus_name(self->bus_type));
}

static void
ark_frontend_dbus_name_lost_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	ArkFrontendDbus *self = user_data;

	/* called with a NULL connection when the bus went away: "closed" handles that */
	if (connection == NULL)
		return;
	if (self->owns_name)
		g_warning("D-Bus: lost the name %s on the %s bus; the daemon goes on without it "
			  "and takes it back when it is free",
			  name, ark_frontend_dbus_bus_name(self->bus_type));
	else
		g_message("D-Bus: %s is taken on the %s bus (by another daemon, or the bus policy "
			  "does not allow this user); waiting for it",
			  name, ark_frontend_dbus_bus_name(self->bus_type));
	self->owns_name = FALSE;
}

static void ark_frontend_dbus_connect(ArkFrontendDbus *self);

static gboolean
ark_frontend_dbus_reconnect_cb(gpointer user_data)
{
	ArkFrontendDbus *self = user_data;

	if (self->connection == NULL && self->connecting == NULL)
		ark_frontend_dbus_connect(self);
	return G_SOURCE_CONTINUE;
}

static void
ark_frontend_dbus_disconnect(ArkFrontendDbus *self)
{
	g_clear_handle_id(&self->owner_id, g_bus_unown_name);
	self->owns_name = FALSE;
	if (self->skeleton != NULL &&
	    g_dbus_interface_skeleton_get_connection(G_DBUS_INTERFACE_SKELETON(self->skeleton)) !=
		NULL)
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->skeleton));
	if (self->agents_skeleton != NULL &&
	    g_dbus_interface_skeleton_get_connection(
		G_DBUS_INTERFACE_SKELETON(self->agents_skeleton)) != NULL)
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->agents_skeleton));
	if (self->connection != NULL) {
		g_clear_signal_handler(&self->closed_id, self->connection);
		if (!g_dbus_connection_is_closed(self->connection)) {
			(void)g_dbus_connection_flush_sync(self->connection, NULL, NULL);
			(void)g_dbus_connection_close_sync(self->connection, NULL, NULL);
		}
	}
	g_clear_object(&self->connection);
}

static void
ark_frontend_dbus_retry_later(ArkFrontendDbus *self)
{
	if (self->reconnect_id == 0)
		self->reconnect_id = g_timeout_add_seconds(ARK_FRONTEND_DBUS_RECONNECT_SECONDS,
							   ark_frontend_dbus_reconnect_cb, self);
}

static void
ark_frontend_dbus_closed_cb(GDBusConnection *connection, gboolean remote_peer_vanished,
			    GError *error, gpointer user_data)
{
	ArkFrontendDbus *self = user_data;

	g_warning("D-Bus: lost the connection to the %s bus%s%s; the daemon goes on without it "
		  "and connects again every %d s",
		  ark_frontend_dbus_bus_name(self->bus_type), error != NULL ? ": " : "",
		  error != NULL ? error->message : "", ARK_FRONTEND_DBUS_RECONNECT_SECONDS);
	ark_frontend_dbus_disconnect(self);
	self->was_connected = TRUE;
	ark_frontend_dbus_retry_later(self);
}

/* the connection is up: the object is exported, then the name asked for */
static void
ark_frontend_dbus_connected_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(ArkFrontendDbus) self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) connection = g_dbus_connection_new_for_address_finish(result,
										       &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_clear_object(&self->connecting);
	if (!self->started) {
		if (connection != NULL)
			(void)g_dbus_connection_close_sync(connection, NULL, NULL);
		return;
	}
	if (connection != NULL &&
	    (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->skeleton), connection,
					       ARK_FRONTEND_DBUS_OBJECT_PATH, &error) ||
	     !g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->agents_skeleton),
					       connection, ARK_FRONTEND_DBUS_OBJECT_PATH, &error))) {
		if (g_dbus_interface_skeleton_get_connection(
			G_DBUS_INTERFACE_SKELETON(self->skeleton)) != NULL)
			g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->skeleton));
		g_clear_object(&connection);
	}
	if (connection == NULL) {
		/* the daemon is useful without D-Bus: say so once, and try again after losing a
		 * bus it had */
		if (self->was_connected)
			g_debug("D-Bus: still no %s bus: %s",
				ark_frontend_dbus_bus_name(self->bus_type), error->message);
		else if (self->automatic)
			g_message("D-Bus: cannot connect to the %s bus (%s); the D-Bus interface "
				  "is off",
				  ark_frontend_dbus_bus_name(self->bus_type), error->message);
		else
			g_warning("D-Bus: cannot connect to the %s bus: %s; the daemon goes on "
				  "without its D-Bus interface",
				  ark_frontend_dbus_bus_name(self->bus_type), error->message);
		if (self->was_connected)
			ark_frontend_dbus_retry_later(self);
		return;
	}
	g_clear_handle_id(&self->reconnect_id, g_source_remove);
	self->connection = g_steal_pointer(&connection);
	self->closed_id = g_signal_connect(self->connection, "closed",
					   G_CALLBACK(ark_frontend_dbus_closed_cb), self);
	/* queued behind another owner rather than refused: it is ours once that one stops */
	self->owner_id = g_bus_own_name_on_connection(
	    self->connection, ARK_FRONTEND_DBUS_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
	    ark_frontend_dbus_name_acquired_cb, ark_frontend_dbus_name_lost_cb, self, NULL);
	g_message("D-Bus: connected to the %s bus%s%s", ark_frontend_dbus_bus_name(self->bus_type),
		  self->was_connected ? " again" : "",
		  self->automatic ? " (chosen automatically: [daemon] bus = auto)" : "");
}

/* a private connection, made without blocking the main loop on a bus that does not answer */
static void
ark_frontend_dbus_connect(ArkFrontendDbus *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *address = g_dbus_address_get_for_bus_sync(self->bus_type, NULL, &error);

	if (address == NULL) {
		g_message("D-Bus: no %s bus (%s); the D-Bus interface is off",
			  ark_frontend_dbus_bus_name(self->bus_type), error->message);
		return;
	}
	self->connecting = g_cancellable_new();
	g_dbus_connection_new_for_address(address,
					  G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
					      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
					  NULL, self->connecting, ark_frontend_dbus_connected_cb,
					  g_object_ref(self));
}

/* [daemon] bus: auto uses the session bus when its address is set, else the system bus when
 * there is one; G_BUS_TYPE_NONE when off */
static GBusType
ark_frontend_dbus_choose_bus(GKeyFile *config, gboolean *out_auto)
{
	g_autofree gchar *value = NULL;
	const gchar *session = g_getenv("DBUS_SESSION_BUS_ADDRESS");
	const gchar *system = g_getenv("DBUS_SYSTEM_BUS_ADDRESS");

	if (config != NULL)
		value = g_key_file_get_string(config, "daemon", "bus", NULL);
	if (value != NULL)
		g_strstrip(value);
	*out_auto = value == NULL || g_strcmp0(value, "auto") == 0;
	if (g_strcmp0(value, "session") == 0)
		return G_BUS_TYPE_SESSION;
	if (g_strcmp0(value, "system") == 0)
		return G_BUS_TYPE_SYSTEM;
	if (g_strcmp0(value, "none") == 0)
		return G_BUS_TYPE_NONE;
	if (session != NULL && session[0] != '\0')
		return G_BUS_TYPE_SESSION;
	if ((system != NULL && system[0] != '\0') ||
	    g_file_test("/run/dbus/system_bus_socket", G_FILE_TEST_EXISTS) ||
	    g_file_test("/var/run/dbus/system_bus_socket", G_FILE_TEST_EXISTS))
		return G_BUS_TYPE_SYSTEM;
	return G_BUS_TYPE_NONE;
}

/* configuration ------------------------------------------------------------------------------ */

static gboolean
ark_frontend_dbus_load_config(ArkFrontendDbusConfig *config, GKeyFile *file, const gchar *group,
			      GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_frontend_dbus_config_keys); i++) {
		const ArkConfigKey *key = &ark_frontend_dbus_config_keys[i];
		g_autofree gchar *value = NULL;
		gint64 usec = 0;
		guint64 size = 0;

		if (file != NULL)
			value = g_key_file_get_string(file, group, key->name, NULL);
		if (value == NULL)
			value = g_strdup(key->default_value);
		g_strstrip(value);
		if (!ark_config_key_check_value(key, value, error)) {
			g_prefix_error(error, "[%s] %s: ", group, key->name);
			return FALSE;
		}
		if (key->type == ARK_CONFIG_DURATION) {
			(void)ark_duration_parse(value, &usec, NULL);
			if (usec <= 0) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] %s must be longer than 0", group, key->name);
				return FALSE;
			}
		} else if (key->type == ARK_CONFIG_SIZE) {
			(void)ark_size_parse(value, &size, NULL);
		}
		if (g_strcmp0(key->name, "signal-interval") == 0)
			config->signal_interval = usec;
		else if (g_strcmp0(key->name, "fd-timeout") == 0)
			config->fd_timeout = usec;
		else if (g_strcmp0(key->name, "max-workflow-size") == 0)
			config->max_workflow_size = size;
		else if (g_strcmp0(key->name, "admin-group") == 0) {
			g_free(config->admin_group);
			config->admin_group = g_steal_pointer(&value);
		}
	}
	return TRUE;
}

/* the frontend ------------------------------------------------------------------------------- */

static void
ark_frontend_dbus_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	ArkFrontendDbus *self = user_data;

	if (self->signals != NULL)
		ark_frontend_dbus_signals_push(self->signals, event);
}

static gint
ark_frontend_dbus_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

static GStrv
ark_frontend_dbus_plugin_names(ArkFrontendDbus *self)
{
	ArkPluginLoader *loader = ark_engine_get_plugin_loader(self->engine);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *plugins = loader != NULL ? ark_plugin_loader_get_plugins(loader) : NULL;

	for (guint i = 0; plugins != NULL && i < plugins->len; i++) {
		const gchar *name = ark_plugin_get_name(ARK_PLUGIN(g_ptr_array_index(plugins, i)));
		if (name != NULL)
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, ark_frontend_dbus_compare_names);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static gboolean
ark_frontend_dbus_start(ArkFrontend *frontend, gpointer engine, GKeyFile *config,
			const gchar *group, GError **error)
{
	ArkFrontendDbus *self = ARK_FRONTEND_DBUS(frontend);
	g_auto(GStrv) plugins = NULL;
	gboolean automatic = FALSE;

	if (!ARK_IS_ENGINE(engine)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the D-Bus frontend needs an ArkEngine");
		return FALSE;
	}
	if (self->started) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_EXISTS,
				    "the D-Bus frontend is already started");
		return FALSE;
	}
	if (group == NULL)
		group = ARK_FRONTEND_DBUS_PLUGIN_NAME;
	if (!ark_frontend_dbus_load_config(&self->config, config, group, error))
		return FALSE;
	self->bus_type = ark_frontend_dbus_choose_bus(config, &automatic);
	if (self->bus_type == G_BUS_TYPE_NONE) {
		g_message("D-Bus: off (%s)", automatic ? "no session bus address and no system bus"
						       : "[daemon] bus = none");
		return TRUE;
	}
	g_set_object(&self->engine, engine);
	self->process_started_at = g_get_real_time();
	{
		/* when this process started, not this frontend (a reload restarts it) */
		g_autofree gchar *stat = NULL;
		if (g_file_get_contents("/proc/self/stat", &stat, NULL, NULL)) {
			const gchar *close = strrchr(stat, ')');
			g_auto(GStrv) fields = close != NULL ? g_strsplit(close + 2, " ", 0) : NULL;
			guint64 ticks = 0;
			gdouble uptime = 0;
			g_autofree gchar *up = NULL;
			if (fields != NULL && g_strv_length(fields) > 19 &&
			    g_ascii_string_to_unsigned(fields[19], 10, 0, G_MAXUINT64, &ticks,
						       NULL) &&
			    g_file_get_contents("/proc/uptime", &up, NULL, NULL) &&
			    (uptime = g_ascii_strtod(up, NULL)) > 0) {
				gdouble age = uptime - (gdouble)ticks / (gdouble)sysconf(_SC_CLK_TCK);
				self->process_started_at =
				    g_get_real_time() - (gint64)(MAX(age, 0) * G_USEC_PER_SEC);
			}
		}
	}
	self->skeleton = ark_dbus_manager_skeleton_new();
	plugins = ark_frontend_dbus_plugin_names(self);
	ark_dbus_manager_set_version(self->skeleton, PACKAGE_VERSION);
	ark_dbus_manager_set_plugins(self->skeleton, (const gchar *const *)plugins);
	g_signal_connect(self->skeleton, "handle-submit",
			 G_CALLBACK(ark_frontend_dbus_handle_submit_cb), self);
	g_signal_connect(self->skeleton, "handle-submit-fd",
			 G_CALLBACK(ark_frontend_dbus_handle_submit_fd_cb), self);
	g_signal_connect(self->skeleton, "handle-list-runs",
			 G_CALLBACK(ark_frontend_dbus_handle_list_runs_cb), self);
	g_signal_connect(self->skeleton, "handle-get-run",
			 G_CALLBACK(ark_frontend_dbus_handle_get_run_cb), self);
	g_signal_connect(self->skeleton, "handle-list-tasks",
			 G_CALLBACK(ark_frontend_dbus_handle_list_tasks_cb), self);
	g_signal_connect(self->skeleton, "handle-get-task",
			 G_CALLBACK(ark_frontend_dbus_handle_get_task_cb), self);
	g_signal_connect(self->skeleton, "handle-cancel-run",
			 G_CALLBACK(ark_frontend_dbus_handle_cancel_run_cb), self);
	g_signal_connect(self->skeleton, "handle-cancel-task",
			 G_CALLBACK(ark_frontend_dbus_handle_cancel_task_cb), self);
	g_signal_connect(self->skeleton, "handle-retry-task",
			 G_CALLBACK(ark_frontend_dbus_handle_retry_task_cb), self);
	g_signal_connect(self->skeleton, "handle-add-task",
			 G_CALLBACK(ark_frontend_dbus_handle_add_task_cb), self);
	g_signal_connect(self->skeleton, "handle-dlq-list",
			 G_CALLBACK(ark_frontend_dbus_handle_dlq_list_cb), self);
	g_signal_connect(self->skeleton, "handle-dlq-replay",
			 G_CALLBACK(ark_frontend_dbus_handle_dlq_replay_cb), self);
	g_signal_connect(self->skeleton, "handle-explain",
			 G_CALLBACK(ark_frontend_dbus_handle_explain_cb), self);
	g_signal_connect(self->skeleton, "handle-get-status",
			 G_CALLBACK(ark_frontend_dbus_handle_get_status_cb), self);
	self->agents_skeleton = ark_dbus_agents_skeleton_new();
	if (self->claims == NULL)
		self->claims = g_ptr_array_new();
	ark_frontend_dbus_agents_connect(self);
	self->signals = ark_frontend_dbus_signals_new(self);
	g_signal_connect(self->engine, "event", G_CALLBACK(ark_frontend_dbus_event_cb), self);
	self->started = TRUE;

	self->automatic = automatic;
	self->was_connected = FALSE;
	ark_frontend_dbus_connect(self);
	return TRUE;
}

static void
ark_frontend_dbus_stop(ArkFrontend *frontend)
{
	ArkFrontendDbus *self = ARK_FRONTEND_DBUS(frontend);
	guint64 n_signals = 0;
	guint64 n_transitions = 0;

	if (!self->started)
		return;
	self->started = FALSE;
	g_signal_handlers_disconnect_by_data(self->engine, self);
	/* claims waiting for work are answered while the bus is still there */
	ark_frontend_dbus_agents_stop(self);
	/* what is pending is still announced: clients see the last states */
	if (self->connection != NULL)
		ark_frontend_dbus_signals_flush(self->signals);
	ark_frontend_dbus_signals_get_stats(self->signals, &n_signals, &n_transitions);
	g_clear_handle_id(&self->reconnect_id, g_source_remove);
	if (self->connecting != NULL)
		g_cancellable_cancel(self->connecting);
	g_clear_object(&self->connecting);
	ark_frontend_dbus_disconnect(self);
	g_clear_pointer(&self->signals, ark_frontend_dbus_signals_free);
	if (self->skeleton != NULL)
		g_signal_handlers_disconnect_by_data(self->skeleton, self);
	g_clear_object(&self->skeleton);
	if (self->agents_skeleton != NULL)
		g_signal_handlers_disconnect_by_data(self->agents_skeleton, self);
	g_clear_object(&self->agents_skeleton);
	g_clear_pointer(&self->config.admin_group, g_free);
	g_message("D-Bus interface stopped (%" G_GUINT64_FORMAT " signals for %" G_GUINT64_FORMAT
		  " task transitions)",
		  n_signals, n_transitions);
}

static void
ark_frontend_dbus_iface_init(ArkFrontendInterface *iface)
{
	iface->start = ark_frontend_dbus_start;
	iface->stop = ark_frontend_dbus_stop;
}

static void
ark_frontend_dbus_dispose(GObject *object)
{
	ArkFrontendDbus *self = ARK_FRONTEND_DBUS(object);

	ark_frontend_dbus_stop(ARK_FRONTEND(self));
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(ark_frontend_dbus_parent_class)->dispose(object);
}

static void
ark_frontend_dbus_finalize(GObject *object)
{
	ArkFrontendDbus *self = ARK_FRONTEND_DBUS(object);

	g_free(self->config.admin_group);
	g_clear_pointer(&self->claims, g_ptr_array_unref);
	G_OBJECT_CLASS(ark_frontend_dbus_parent_class)->finalize(object);
}

static void
ark_frontend_dbus_class_init(ArkFrontendDbusClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = ark_frontend_dbus_dispose;
	object_class->finalize = ark_frontend_dbus_finalize;
}

static void
ark_frontend_dbus_init(ArkFrontendDbus *self)
{
}

/* the plugin --------------------------------------------------------------------------------- */

#define ARK_TYPE_FRONTEND_DBUS_PLUGIN (ark_frontend_dbus_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendDbusPlugin, ark_frontend_dbus_plugin, ARK, FRONTEND_DBUS_PLUGIN,
		     ArkPlugin)

struct _ArkFrontendDbusPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkFrontendDbusPlugin, ark_frontend_dbus_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_frontend_dbus_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	/* the ARK_ERROR names must be registered before the first error is returned */
	(void)ark_error_quark();
	if (!ark_registry_add_config_keys(registry, ARK_FRONTEND_DBUS_PLUGIN_NAME,
					  ARK_FRONTEND_DBUS_PLUGIN_NAME,
					  ark_frontend_dbus_config_keys,
					  G_N_ELEMENTS(ark_frontend_dbus_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ARK_FRONTEND_DBUS_PLUGIN_NAME,
				     ARK_CAPABILITY_FRONTEND, "dbus", ARK_TYPE_FRONTEND_DBUS, error);
}

static void
ark_frontend_dbus_plugin_init(ArkFrontendDbusPlugin *self)
{
}

static void
ark_frontend_dbus_plugin_class_init(ArkFrontendDbusPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_frontend_dbus_plugin_startup;
}

ARK_PLUGIN_DEFINE(ARK_FRONTEND_DBUS_PLUGIN_NAME, ark_frontend_dbus_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later",
		  "D-Bus interface org.arkitect.Arkitect1: submit, list, cancel, retry, the "
		  "dead-letter queue, explain, coalesced signals")
