/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ark-cli-dbus.h"

/*
 * What the daemon answers over the bus is checked like any other input: the reply's type is
 * fixed by the call (GDBus refuses another), and what is turned into JSON goes through the same
 * getters as the HTTP client's answers.
 */

#define ARK_CLI_DBUS_NAME "org.arkitect.Arkitect1"
#define ARK_CLI_DBUS_PATH "/org/arkitect/Arkitect1"
#define ARK_CLI_DBUS_IFACE "org.arkitect.Arkitect1.Manager"
#define ARK_CLI_DBUS_TIMEOUT_MSEC (120 * 1000)

struct _ArkCliDbus {
	GDBusConnection *connection;
	GBusType type;
};

void
ark_cli_dbus_free(ArkCliDbus *self)
{
	if (self == NULL)
		return;
	g_clear_object(&self->connection);
	g_free(self);
}

const gchar *
ark_cli_dbus_describe(ArkCliDbus *self)
{
	return self->type == G_BUS_TYPE_SYSTEM ? _("the system bus") : _("the session bus");
}

static GDBusConnection *
ark_cli_dbus_connect(GBusType type, GError **error)
{
	g_autofree gchar *address = g_dbus_address_get_for_bus_sync(type, NULL, error);

	if (address == NULL)
		return NULL;
	/* a private connection: the shared one would end the process if the bus went away */
	return g_dbus_connection_new_for_address_sync(
	    address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, error);
}

/* whether someone owns the daemon's name on @connection */
static gboolean
ark_cli_dbus_has_owner(GDBusConnection *connection, GError **error)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "NameHasOwner", g_variant_new("(s)", ARK_CLI_DBUS_NAME), G_VARIANT_TYPE("(b)"),
	    G_DBUS_CALL_FLAGS_NONE, 5000, NULL, error);
	gboolean owned = FALSE;

	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(b)", &owned);
	if (!owned)
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    _("nobody owns %s on the bus"), ARK_CLI_DBUS_NAME);
	return owned;
}

ArkCliDbus *
ark_cli_dbus_find(const gchar *bus, GError **error)
{
	const gchar *session = g_getenv("DBUS_SESSION_BUS_ADDRESS");
	GBusType types[2] = {G_BUS_TYPE_NONE, G_BUS_TYPE_NONE};
	g_autoptr(GError) last = NULL;

	/* the ARK_ERROR names of the daemon's errors map back to ARK_ERROR codes */
	(void)ark_error_quark();
	if (g_strcmp0(bus, "session") == 0)
		types[0] = G_BUS_TYPE_SESSION;
	else if (g_strcmp0(bus, "system") == 0)
		types[0] = G_BUS_TYPE_SYSTEM;
	else if (session != NULL && session[0] != '\0') {
		types[0] = G_BUS_TYPE_SESSION;
		types[1] = G_BUS_TYPE_SYSTEM;
	} else
		types[0] = G_BUS_TYPE_SYSTEM;
	for (guint i = 0; i < G_N_ELEMENTS(types) && types[i] != G_BUS_TYPE_NONE; i++) {
		g_autoptr(GDBusConnection) connection = NULL;
		ArkCliDbus *self;

		g_clear_error(&last);
		connection = ark_cli_dbus_connect(types[i], &last);
		if (connection == NULL || !ark_cli_dbus_has_owner(connection, &last))
			continue;
		self = g_new0(ArkCliDbus, 1);
		self->connection = g_steal_pointer(&connection);
		self->type = types[i];
		return self;
	}
	g_propagate_error(error, g_steal_pointer(&last));
	return NULL;
}

/* answers ------------------------------------------------------------------------------------ */

/* the HTTP status the API gives for the ARK_ERROR of @error (0 when it is not one) */
static guint
ark_cli_dbus_status_for(const GError *error)
{
	if (error->domain != ARK_ERROR)
		return 0;
	switch ((ArkError)error->code) {
	case ARK_ERROR_INVALID_ARGUMENT:
		return 400;
	case ARK_ERROR_PERMISSION_DENIED:
		return 403;
	case ARK_ERROR_NOT_FOUND:
		return 404;
	case ARK_ERROR_EXISTS:
	case ARK_ERROR_CONFLICT:
		return 409;
	case ARK_ERROR_LIMIT_EXCEEDED:
		return 413;
	case ARK_ERROR_NOT_SUPPORTED:
		return 501;
	case ARK_ERROR_BUSY:
	case ARK_ERROR_STORAGE:
		return 503;
	case ARK_ERROR_TIMED_OUT:
		return 504;
	default:
		return 500;
	}
}

/* timestamps come as µs since the epoch; the HTTP API's objects have RFC 3339 strings */
static void ark_cli_dbus_fix_node(JsonNode *node);

static void
ark_cli_dbus_fix_object(JsonObject *object)
{
	g_autoptr(GList) members = json_object_get_members(object);

	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		JsonNode *node = json_object_get_member(object, name);

		if ((g_str_has_suffix(name, "_at") || g_strcmp0(name, "since") == 0) &&
		    JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_INT64) {
			g_autofree gchar *text = ark_timestamp_format(json_node_get_int(node));
			if (text != NULL)
				json_object_set_string_member(object, name, text);
			else
				json_object_set_null_member(object, name);
			continue;
		}
		ark_cli_dbus_fix_node(node);
	}
}

static void
ark_cli_dbus_fix_node(JsonNode *node)
{
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		ark_cli_dbus_fix_object(json_node_get_object(node));
	} else if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(array); i++)
			ark_cli_dbus_fix_node(json_array_get_element(array, i));
	}
}

/* an a{sv} (or anything json-glib turns into an object) as the HTTP API's JSON object */
static JsonObject *
ark_cli_dbus_to_object(GVariant *value)
{
	g_autoptr(JsonNode) node = json_gvariant_serialize(value);

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return json_object_new();
	ark_cli_dbus_fix_node(node);
	return json_object_ref(json_node_get_object(node));
}

static GVariant *
ark_cli_dbus_call(ArkCliDbus *self, const gchar *method, GVariant *params,
		  const gchar *reply_type, guint *out_status, GError **error)
{
	GVariant *reply = g_dbus_connection_call_sync(
	    self->connection, ARK_CLI_DBUS_NAME, ARK_CLI_DBUS_PATH, ARK_CLI_DBUS_IFACE, method,
	    params, G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NONE, ARK_CLI_DBUS_TIMEOUT_MSEC,
	    NULL, error);

	if (reply == NULL) {
		*out_status = ark_cli_dbus_status_for(*error);
		if (*out_status != 0 || g_dbus_error_is_remote_error(*error))
			g_dbus_error_strip_remote_error(*error);
		return NULL;
	}
	return reply;
}

/* {"MEMBER": [objects], "next_cursor": "..." | null} from (aa{sv}s) */
static JsonObject *
ark_cli_dbus_page(GVariant *reply, const gchar *member)
{
	g_autoptr(GVariant) items = g_variant_get_child_value(reply, 0);
	g_autoptr(JsonObject) page = json_object_new();
	const gchar *next = NULL;

	g_variant_get_child(reply, 1, "&s", &next);
	{
		g_autoptr(JsonNode) node = json_gvariant_serialize(items);
		if (node != NULL && JSON_NODE_HOLDS_ARRAY(node)) {
			ark_cli_dbus_fix_node(node);
			json_object_set_array_member(page, member,
						     json_array_ref(json_node_get_array(node)));
		} else {
			json_object_set_array_member(page, member, json_array_new());
		}
	}
	if (next[0] != '\0')
		json_object_set_string_member(page, "next_cursor", next);
	else
		json_object_set_null_member(page, "next_cursor");
	return g_steal_pointer(&page);
}

/* one element of a tuple reply as an object */
static JsonObject *
ark_cli_dbus_first(GVariant *reply)
{
	g_autoptr(GVariant) child = g_variant_get_child_value(reply, 0);
	return ark_cli_dbus_to_object(child);
}

/* a task's "definition" comes as JSON text; the HTTP API has the object */
static void
ark_cli_dbus_parse_definition(JsonObject *task)
{
	JsonNode *node = json_object_get_member(task, "definition");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return;
	if (json_parser_load_from_data(parser, json_node_get_string(node), -1, NULL) &&
	    (root = json_parser_get_root(parser)) != NULL && JSON_NODE_HOLDS_OBJECT(root))
		json_object_set_member(task, "definition", json_node_copy(root));
	else
		json_object_set_null_member(task, "definition");
}

/* requests ----------------------------------------------------------------------------------- */

/* the query of @path (after '?') as a table, decoded */
static GHashTable *
ark_cli_dbus_query(const gchar *query)
{
	GHashTable *table = NULL;

	if (query != NULL)
		table = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, NULL);
	return table != NULL ? table : g_hash_table_new(g_str_hash, g_str_equal);
}

static guint
ark_cli_dbus_query_uint(GHashTable *query, const gchar *name)
{
	const gchar *value = g_hash_table_lookup(query, name);
	guint64 n = 0;

	if (value != NULL)
		(void)g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT, &n, NULL);
	return (guint)n;
}

static const gchar *
ark_cli_dbus_query_str(GHashTable *query, const gchar *name)
{
	const gchar *value = g_hash_table_lookup(query, name);
	return value != NULL ? value : "";
}

/* "a,b" as an as */
static GVariant *
ark_cli_dbus_states(GHashTable *query)
{
	const gchar *value = g_hash_table_lookup(query, "state");
	g_auto(GStrv) parts = value != NULL && value[0] != '\0' ? g_strsplit(value, ",", -1) : NULL;
	return g_variant_new_strv((const gchar *const *)parts, parts != NULL ? -1 : 0);
}

/* the JSON object of a request body, or NULL */
static JsonObject *
ark_cli_dbus_body(GBytes *body)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	gsize len = 0;
	const gchar *data = body != NULL ? g_bytes_get_data(body, &len) : NULL;
	JsonNode *root;

	if (data == NULL || len == 0 ||
	    !json_parser_load_from_data(parser, data, (gssize)len, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	return json_object_ref(json_node_get_object(root));
}

/* {"set": {...}, "timeout": "..."} as RetryTask's and DlqReplay's options */
static GVariant *
ark_cli_dbus_replay_options(GBytes *body)
{
	g_autoptr(JsonObject) object = ark_cli_dbus_body(body);
	GVariantDict options;

	g_variant_dict_init(&options, NULL);
	if (object != NULL && json_object_has_member(object, "set")) {
		g_autofree gchar *text = json_to_string(json_object_get_member(object, "set"), FALSE);
		g_variant_dict_insert(&options, "set", "s", text);
	}
	if (object != NULL && json_object_has_member(object, "timeout")) {
		JsonNode *node = json_object_get_member(object, "timeout");
		if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING)
			g_variant_dict_insert(&options, "timeout", "s", json_node_get_string(node));
	}
	return g_variant_dict_end(&options);
}

static const gchar *
ark_cli_dbus_reason(GBytes *body, gchar **out_owned)
{
	g_autoptr(JsonObject) object = ark_cli_dbus_body(body);
	JsonNode *node = object != NULL ? json_object_get_member(object, "reason") : NULL;

	*out_owned = NULL;
	if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	    json_node_get_value_type(node) == G_TYPE_STRING)
		*out_owned = g_strdup(json_node_get_string(node));
	return *out_owned != NULL ? *out_owned : "";
}

static JsonObject *
ark_cli_dbus_get_task(ArkCliDbus *self, const gchar *run_id, const gchar *task_id,
		      gboolean dead_only, guint *out_status, GError **error)
{
	g_autoptr(GVariant) reply =
	    ark_cli_dbus_call(self, "GetTask", g_variant_new("(ss)", run_id, task_id), "(a{sv})",
			      out_status, error);
	g_autoptr(JsonObject) task = NULL;
	JsonNode *state;

	if (reply == NULL)
		return NULL;
	task = ark_cli_dbus_first(reply);
	ark_cli_dbus_parse_definition(task);
	state = json_object_get_member(task, "state");
	if (dead_only && (state == NULL || !JSON_NODE_HOLDS_VALUE(state) ||
			  g_strcmp0(json_node_get_string(state), "dead") != 0)) {
		*out_status = 404;
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    _("task '%s' of run %s is not in the dead-letter queue"), task_id, run_id);
		return NULL;
	}
	*out_status = 200;
	return g_steal_pointer(&task);
}

JsonObject *
ark_cli_dbus_request(ArkCliDbus *self, const gchar *method, const gchar *path, GBytes *body,
		     const gchar *idempotency_key, guint *out_status, GError **error)
{
	const gchar *q = strchr(path, '?');
	g_autofree gchar *route = q != NULL ? g_strndup(path, (gsize)(q - path)) : g_strdup(path);
	g_autoptr(GHashTable) query = ark_cli_dbus_query(q != NULL ? q + 1 : NULL);
	g_auto(GStrv) seg = NULL;
	g_autoptr(GVariant) reply = NULL;
	gboolean post = g_strcmp0(method, "POST") == 0;
	guint n;

	*out_status = 0;
	if (!g_str_has_prefix(route, "/api/v1/")) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
			    _("%s %s is not available over D-Bus"), method, path);
		return NULL;
	}
	seg = g_strsplit(route + strlen("/api/v1/"), "/", -1);
	n = g_strv_length(seg);
	for (guint i = 0; i < n; i++) {
		gchar *decoded = g_uri_unescape_string(seg[i], NULL);
		if (decoded != NULL) {
			g_free(seg[i]);
			seg[i] = decoded;
		}
	}

	if (!post && n == 1 && g_strcmp0(seg[0], "status") == 0) {
		reply = ark_cli_dbus_call(self, "GetStatus", NULL, "(a{sv})", out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (!post && n == 1 && g_strcmp0(seg[0], "runs") == 0) {
		GVariantDict filter;
		const gchar *workflow = ark_cli_dbus_query_str(query, "workflow");
		const gchar *order = ark_cli_dbus_query_str(query, "order");
		g_variant_dict_init(&filter, NULL);
		g_variant_dict_insert_value(&filter, "states", ark_cli_dbus_states(query));
		if (workflow[0] != '\0')
			g_variant_dict_insert(&filter, "workflow", "s", workflow);
		if (order[0] != '\0')
			g_variant_dict_insert(&filter, "order", "s", order);
		reply = ark_cli_dbus_call(self, "ListRuns",
					  g_variant_new("(@a{sv}su)", g_variant_dict_end(&filter),
							ark_cli_dbus_query_str(query, "cursor"),
							ark_cli_dbus_query_uint(query, "limit")),
					  "(aa{sv}s)", out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_page(reply, "runs") : NULL;
	}
	if (post && n == 1 && g_strcmp0(seg[0], "runs") == 0) {
		GVariantDict options;
		const gchar *policy = ark_cli_dbus_query_str(query, "policy");
		gsize len = 0;
		const gchar *data = body != NULL ? g_bytes_get_data(body, &len) : NULL;
		g_autofree gchar *text = g_strndup(data != NULL ? data : "", len);
		g_autoptr(GVariant) run = NULL;
		const gchar *run_id = NULL;
		gboolean existed = FALSE;

		/* D-Bus strings are UTF-8 without NUL: other bytes are the daemon's to refuse,
		 * through a descriptor like any file */
		if (len != strlen(text) || !g_utf8_validate(text, -1, NULL)) {
			*out_status = 400;
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    _("the workflow is not UTF-8 text"));
			return NULL;
		}
		g_variant_dict_init(&options, NULL);
		if (idempotency_key != NULL)
			g_variant_dict_insert(&options, "idempotency-key", "s", idempotency_key);
		if (policy[0] != '\0')
			g_variant_dict_insert(&options, "policy", "s", policy);
		reply = ark_cli_dbus_call(self, "Submit",
					  g_variant_new("(s@a{sv})", text, g_variant_dict_end(&options)),
					  "(sb)", out_status, error);
		if (reply == NULL)
			return NULL;
		g_variant_get(reply, "(&sb)", &run_id, &existed);
		run = ark_cli_dbus_call(self, "GetRun", g_variant_new("(s)", run_id), "(a{sv})",
					out_status, error);
		if (run == NULL)
			return NULL;
		*out_status = existed ? 200 : 201;
		return ark_cli_dbus_first(run);
	}
	if (!post && n == 2 && g_strcmp0(seg[0], "runs") == 0) {
		reply = ark_cli_dbus_call(self, "GetRun", g_variant_new("(s)", seg[1]), "(a{sv})",
					  out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (post && n == 3 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "cancel") == 0) {
		g_autofree gchar *owned = NULL;
		const gchar *reason = ark_cli_dbus_reason(body, &owned);
		reply = ark_cli_dbus_call(self, "CancelRun", g_variant_new("(ss)", seg[1], reason),
					  "(a{sv})", out_status, error);
		*out_status = reply != NULL ? 202 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (!post && n == 3 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "tasks") == 0) {
		reply = ark_cli_dbus_call(self, "ListTasks",
					  g_variant_new("(s@assu)", seg[1], ark_cli_dbus_states(query),
							ark_cli_dbus_query_str(query, "cursor"),
							ark_cli_dbus_query_uint(query, "limit")),
					  "(aa{sv}s)", out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_page(reply, "tasks") : NULL;
	}
	if (!post && n == 4 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "tasks") == 0)
		return ark_cli_dbus_get_task(self, seg[1], seg[3], FALSE, out_status, error);
	if (!post && n == 5 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "tasks") == 0 &&
	    g_strcmp0(seg[4], "explain") == 0) {
		reply = ark_cli_dbus_call(self, "Explain", g_variant_new("(ss)", seg[1], seg[3]),
					  "(a{sv})", out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (post && n == 5 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "tasks") == 0 &&
	    g_strcmp0(seg[4], "cancel") == 0) {
		g_autofree gchar *owned = NULL;
		const gchar *reason = ark_cli_dbus_reason(body, &owned);
		reply = ark_cli_dbus_call(self, "CancelTask",
					  g_variant_new("(sss)", seg[1], seg[3], reason), "(a{sv})",
					  out_status, error);
		*out_status = reply != NULL ? 202 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (post && n == 5 && g_strcmp0(seg[0], "runs") == 0 && g_strcmp0(seg[2], "tasks") == 0 &&
	    g_strcmp0(seg[4], "retry") == 0) {
		reply = ark_cli_dbus_call(self, "RetryTask",
					  g_variant_new("(ss@a{sv})", seg[1], seg[3],
							ark_cli_dbus_replay_options(body)),
					  "(a{sv})", out_status, error);
		*out_status = reply != NULL ? 202 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	if (!post && n == 1 && g_strcmp0(seg[0], "dlq") == 0) {
		reply = ark_cli_dbus_call(self, "DlqList",
					  g_variant_new("(ssu)", ark_cli_dbus_query_str(query, "run"),
							ark_cli_dbus_query_str(query, "cursor"),
							ark_cli_dbus_query_uint(query, "limit")),
					  "(aa{sv}s)", out_status, error);
		*out_status = reply != NULL ? 200 : *out_status;
		return reply != NULL ? ark_cli_dbus_page(reply, "tasks") : NULL;
	}
	if (!post && n == 3 && g_strcmp0(seg[0], "dlq") == 0)
		return ark_cli_dbus_get_task(self, seg[1], seg[2], TRUE, out_status, error);
	if (post && n == 4 && g_strcmp0(seg[0], "dlq") == 0 && g_strcmp0(seg[3], "replay") == 0) {
		reply = ark_cli_dbus_call(self, "DlqReplay",
					  g_variant_new("(ss@a{sv})", seg[1], seg[2],
							ark_cli_dbus_replay_options(body)),
					  "(a{sv})", out_status, error);
		*out_status = reply != NULL ? 202 : *out_status;
		return reply != NULL ? ark_cli_dbus_first(reply) : NULL;
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
		    _("%s %s is not available over D-Bus"), method, path);
	return NULL;
}
