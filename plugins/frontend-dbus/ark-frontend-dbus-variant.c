/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-dbus-private.h"

/*
 * Records as a{sv} dictionaries with the member names of the HTTP API's objects
 * (docs/http-api.md), so that a client can switch between the two without renaming anything.
 * D-Bus has no null: a member that would be null is left out. Timestamps are x, µs since the
 * epoch.
 */

static void
ark_frontend_dbus_dict_string(GVariantBuilder *b, const gchar *key, const gchar *value)
{
	/* the store's strings came from validated input, but a damaged one must not make
	 * GVariant refuse the whole answer */
	if (value == NULL)
		return;
	if (g_utf8_validate(value, -1, NULL))
		g_variant_builder_add(b, "{sv}", key, g_variant_new_string(value));
	else
		g_variant_builder_add(b, "{sv}", key,
				      g_variant_new_take_string(g_utf8_make_valid(value, -1)));
}

static void
ark_frontend_dbus_dict_time(GVariantBuilder *b, const gchar *key, ArkTimestamp value)
{
	if (value > 0)
		g_variant_builder_add(b, "{sv}", key, g_variant_new_int64(value));
}

GVariant *
ark_frontend_dbus_task_counts_to_variant(const guint *counts)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{su}"));
	for (guint s = 0; s < ARK_TASK_STATE_LAST; s++) {
		if (counts[s] > 0)
			g_variant_builder_add(&b, "{su}", ark_task_state_to_string((ArkTaskState)s),
					      counts[s]);
	}
	return g_variant_builder_end(&b);
}

void
ark_frontend_dbus_task_counts(ArkFrontendDbus *self, const gchar *run_id, guint *counts)
{
	memset(counts, 0, sizeof(guint) * ARK_TASK_STATE_LAST);
	if (ark_engine_get_task_counts(self->engine, run_id, counts))
		return;
	/* a run not open here: what the store has (zeros when it can not be read) */
	if (!ark_store_count_tasks(ark_engine_get_store(self->engine), run_id, counts, NULL))
		memset(counts, 0, sizeof(guint) * ARK_TASK_STATE_LAST);
}

GVariant *
ark_frontend_dbus_run_to_variant(ArkFrontendDbus *self, const ArkRunRecord *run)
{
	guint counts[ARK_TASK_STATE_LAST];
	GVariantBuilder b;

	ark_frontend_dbus_task_counts(self, run->id, counts);
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	ark_frontend_dbus_dict_string(&b, "id", run->id);
	ark_frontend_dbus_dict_string(&b, "workflow", run->workflow_name);
	ark_frontend_dbus_dict_string(&b, "state", ark_run_state_to_string(run->state));
	ark_frontend_dbus_dict_string(&b, "policy", run->policy);
	ark_frontend_dbus_dict_string(&b, "submitter", run->submitter);
	ark_frontend_dbus_dict_string(&b, "idempotency_key", run->idempotency_key);
	g_variant_builder_add(&b, "{sv}", "n_tasks", g_variant_new_uint32(run->n_tasks));
	ark_frontend_dbus_dict_time(&b, "created_at", run->created_at);
	ark_frontend_dbus_dict_time(&b, "started_at", run->started_at);
	ark_frontend_dbus_dict_time(&b, "finished_at", run->finished_at);
	ark_frontend_dbus_dict_string(&b, "reason", run->reason);
	ark_frontend_dbus_dict_string(&b, "cancelled_by", run->cancelled_by);
	g_variant_builder_add(&b, "{sv}", "task_counts",
			      ark_frontend_dbus_task_counts_to_variant(counts));
	return g_variant_builder_end(&b);
}

GVariant *
ark_frontend_dbus_task_to_variant(const ArkTaskRecord *task, GVariantDict *extra)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	ark_frontend_dbus_dict_string(&b, "run_id", task->run_id);
	ark_frontend_dbus_dict_string(&b, "id", task->task_id);
	g_variant_builder_add(&b, "{sv}", "index", g_variant_new_uint32(task->index));
	ark_frontend_dbus_dict_string(&b, "state", ark_task_state_to_string(task->state));
	if (extra == NULL || !g_variant_dict_contains(extra, "attempts"))
		g_variant_builder_add(&b, "{sv}", "attempts", g_variant_new_uint32(task->attempts));
	if (task->exit_code >= 0)
		g_variant_builder_add(&b, "{sv}", "exit_code", g_variant_new_int32(task->exit_code));
	ark_frontend_dbus_dict_time(&b, "ready_at", task->ready_at);
	ark_frontend_dbus_dict_time(&b, "started_at", task->started_at);
	ark_frontend_dbus_dict_time(&b, "finished_at", task->finished_at);
	ark_frontend_dbus_dict_string(&b, "reason", task->reason);
	ark_frontend_dbus_dict_time(&b, "next_attempt_at", task->next_attempt_at);
	ark_frontend_dbus_dict_string(&b, "cancelled_by", task->cancelled_by);
	if (extra != NULL) {
		g_autoptr(GVariant) more = g_variant_ref_sink(g_variant_dict_end(extra));
		GVariantIter iter;
		const gchar *key;
		GVariant *value;

		g_variant_iter_init(&iter, more);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
			g_variant_builder_add(&b, "{sv}", key, value);
			g_variant_unref(value);
		}
	}
	return g_variant_builder_end(&b);
}

GVariant *
ark_frontend_dbus_attempt_to_variant(ArkFrontendDbus *self, const ArkAttemptRecord *attempt)
{
	const gchar *state_dir = ark_engine_get_state_dir(self->engine);
	g_autofree gchar *log = NULL;
	GVariantBuilder b;

	/* a running attempt's record learns its log path only when it ends */
	if (attempt->log_path != NULL) {
		log = g_strdup(attempt->log_path);
	} else if (attempt->status == ARK_ATTEMPT_STATUS_RUNNING && state_dir != NULL) {
		g_autofree gchar *name = g_strdup_printf("attempt-%u.log", attempt->number);
		log = g_build_filename(state_dir, "logs", attempt->run_id, attempt->task_id, name,
				       NULL);
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "number", g_variant_new_uint32(attempt->number));
	ark_frontend_dbus_dict_string(&b, "status", ark_attempt_status_to_string(attempt->status));
	ark_frontend_dbus_dict_string(&b, "executor", attempt->executor);
	ark_frontend_dbus_dict_string(&b, "holder", attempt->holder);
	ark_frontend_dbus_dict_time(&b, "started_at", attempt->started_at);
	ark_frontend_dbus_dict_time(&b, "finished_at", attempt->finished_at);
	if (attempt->exit_code >= 0)
		g_variant_builder_add(&b, "{sv}", "exit_code",
				      g_variant_new_int32(attempt->exit_code));
	if (attempt->signal > 0)
		g_variant_builder_add(&b, "{sv}", "signal", g_variant_new_int32(attempt->signal));
	ark_frontend_dbus_dict_string(&b, "error", attempt->error);
	g_variant_builder_add(&b, "{sv}", "has_log",
			      g_variant_new_boolean(log != NULL &&
						    g_file_test(log, G_FILE_TEST_IS_REGULAR)));
	return g_variant_builder_end(&b);
}

static GVariant *ark_frontend_dbus_json_node_to_variant(JsonNode *node);

GVariant *
ark_frontend_dbus_json_to_variant(JsonObject *object)
{
	g_autoptr(GList) members = json_object_get_members(object);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (GList *l = members; l != NULL; l = l->next) {
		GVariant *value =
		    ark_frontend_dbus_json_node_to_variant(json_object_get_member(object, l->data));
		if (value != NULL && g_utf8_validate(l->data, -1, NULL))
			g_variant_builder_add(&b, "{sv}", (const gchar *)l->data, value);
		else if (value != NULL)
			g_variant_unref(g_variant_ref_sink(value));
	}
	return g_variant_builder_end(&b);
}

/* floating, or NULL for a null */
static GVariant *
ark_frontend_dbus_json_node_to_variant(JsonNode *node)
{
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT:
		return ark_frontend_dbus_json_to_variant(json_node_get_object(node));
	case JSON_NODE_ARRAY: {
		JsonArray *array = json_node_get_array(node);
		GVariantBuilder b;
		g_variant_builder_init(&b, G_VARIANT_TYPE("av"));
		for (guint i = 0; i < json_array_get_length(array); i++) {
			GVariant *v =
			    ark_frontend_dbus_json_node_to_variant(json_array_get_element(array, i));
			if (v != NULL)
				g_variant_builder_add(&b, "v", v);
		}
		return g_variant_builder_end(&b);
	}
	case JSON_NODE_VALUE:
		switch (json_node_get_value_type(node)) {
		case G_TYPE_INT64:
			return g_variant_new_int64(json_node_get_int(node));
		case G_TYPE_DOUBLE:
			return g_variant_new_double(json_node_get_double(node));
		case G_TYPE_BOOLEAN:
			return g_variant_new_boolean(json_node_get_boolean(node));
		case G_TYPE_STRING: {
			const gchar *s = json_node_get_string(node);
			if (g_utf8_validate(s, -1, NULL))
				return g_variant_new_string(s);
			return g_variant_new_take_string(g_utf8_make_valid(s, -1));
		}
		default:
			return NULL;
		}
	case JSON_NODE_NULL:
	default:
		return NULL;
	}
}
