/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <math.h>
#include <string.h>

#include "ark-json-schema-private.h"

/*
 * The JSON Schema subset agent tasks accept results with (docs/agents.md): type (a name or an
 * array of names), required, properties, additionalProperties (a boolean), items (one schema for
 * every element), enum, const, minimum, maximum, minLength, maxLength, minItems, maxItems, and
 * the annotations $schema, $comment, title and description, which change nothing. Anything else
 * is refused when the schema is read rather than ignored: a schema that silently checks less
 * than its author believes is worse than none.
 *
 * Checking recurses along the schema only, never deeper than the schema is (which is bounded);
 * a value nested deeper than its schema is not looked into past the schema's leaves.
 */

static const gchar *const ark_json_schema_types[] = {
    "null", "boolean", "object", "array", "number", "integer", "string",
};

static const gchar *const ark_json_schema_keywords[] = {
    "type",	 "required",  "properties", "additionalProperties", "items",
    "enum",	 "const",     "minimum",    "maximum",		    "minLength",
    "maxLength", "minItems",  "maxItems",   "$schema",		    "$comment",
    "title",	 "description",
};

static gboolean
ark_json_schema_is_keyword(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_json_schema_keywords); i++) {
		if (strcmp(name, ark_json_schema_keywords[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
ark_json_schema_is_type_name(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_json_schema_types); i++) {
		if (strcmp(name, ark_json_schema_types[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

/* appends ".name", or ["name"] for a name that is not an identifier */
static void
ark_json_schema_path_member(GString *path, const gchar *name)
{
	gboolean plain = g_ascii_isalpha(*name) || *name == '_' || *name == '$';

	for (const gchar *p = name; plain && *p != '\0'; p++)
		plain = g_ascii_isalnum(*p) || *p == '_' || *p == '-' || *p == '$';
	if (plain) {
		g_string_append_printf(path, ".%s", name);
	} else {
		g_string_append_c(path, '[');
		ark_json_append_string(path, name);
		g_string_append_c(path, ']');
	}
}

static gboolean
ark_json_schema_is_number(JsonNode *node)
{
	if (!JSON_NODE_HOLDS_VALUE(node))
		return FALSE;
	return json_node_get_value_type(node) == G_TYPE_INT64 ||
	       json_node_get_value_type(node) == G_TYPE_DOUBLE;
}

static gboolean
ark_json_schema_is_string(JsonNode *node)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

static gboolean
ark_json_schema_is_integer(JsonNode *node)
{
	gdouble d;

	if (!ark_json_schema_is_number(node))
		return FALSE;
	if (json_node_get_value_type(node) == G_TYPE_INT64)
		return TRUE;
	d = json_node_get_double(node);
	return isfinite(d) && d == floor(d);
}

/* a count keyword's value: a non-negative integer */
static gboolean
ark_json_schema_get_count(JsonNode *node, gint64 *out)
{
	gdouble d;

	if (!ark_json_schema_is_integer(node))
		return FALSE;
	d = json_node_get_double(node);
	if (d < 0 || d > (gdouble)G_MAXINT64 / 2)
		return FALSE;
	*out = (gint64)d;
	return TRUE;
}

/* ---- the schema itself ---- */

typedef struct {
	GString *path;
	GError **error;
} ArkJsonSchemaWalk;

static gboolean ark_json_schema_walk_fail(ArkJsonSchemaWalk *w, const gchar *format, ...)
    G_GNUC_PRINTF(2, 3);

static gboolean
ark_json_schema_walk_fail(ArkJsonSchemaWalk *w, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error_literal(w->error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, what);
	return FALSE;
}

/* the nesting depth of @node, stopping once it passes @limit */
static guint
ark_json_schema_node_depth(JsonNode *node, guint limit)
{
	guint deepest = 0;

	if (limit == 0)
		return 1;
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObjectIter iter;
		JsonNode *member;
		json_object_iter_init(&iter, json_node_get_object(node));
		while (json_object_iter_next(&iter, NULL, &member) && deepest < limit)
			deepest = MAX(deepest, ark_json_schema_node_depth(member, limit - 1));
		return deepest + 1;
	}
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(array) && deepest < limit; i++) {
			deepest = MAX(deepest, ark_json_schema_node_depth(
						   json_array_get_element(array, i), limit - 1));
		}
		return deepest + 1;
	}
	return 0;
}

static gboolean ark_json_schema_walk(ArkJsonSchemaWalk *w, JsonNode *schema);

static gboolean
ark_json_schema_walk_member(ArkJsonSchemaWalk *w, const gchar *name, JsonNode *value)
{
	gsize len = w->path->len;
	gint64 count;

	ark_json_schema_path_member(w->path, name);
	if (!ark_json_schema_is_keyword(name)) {
		g_string_truncate(w->path, len);
		return ark_json_schema_walk_fail(
		    w, "unknown keyword \"%s\" (the schema subset has type, required, properties, "
		       "additionalProperties, items, enum, const, minimum, maximum, minLength, "
		       "maxLength, minItems, maxItems)",
		    name);
	}
	if (strcmp(name, "type") == 0) {
		if (ark_json_schema_is_string(value)) {
			if (!ark_json_schema_is_type_name(json_node_get_string(value)))
				return ark_json_schema_walk_fail(
				    w, "unknown type \"%s\" (types: null, boolean, object, array, "
				       "number, integer, string)",
				    json_node_get_string(value));
		} else if (JSON_NODE_HOLDS_ARRAY(value) &&
			   json_array_get_length(json_node_get_array(value)) > 0) {
			JsonArray *types = json_node_get_array(value);
			for (guint i = 0; i < json_array_get_length(types); i++) {
				JsonNode *type = json_array_get_element(types, i);
				if (!ark_json_schema_is_string(type) ||
				    !ark_json_schema_is_type_name(json_node_get_string(type))) {
					g_string_append_printf(w->path, "[%u]", i);
					return ark_json_schema_walk_fail(
					    w, "expected a type name (null, boolean, object, array, "
					       "number, integer, string)");
				}
			}
		} else {
			return ark_json_schema_walk_fail(
			    w, "expected a type name or a non-empty array of them");
		}
	} else if (strcmp(name, "required") == 0) {
		JsonArray *names;
		if (!JSON_NODE_HOLDS_ARRAY(value))
			return ark_json_schema_walk_fail(w, "expected an array of member names");
		names = json_node_get_array(value);
		for (guint i = 0; i < json_array_get_length(names); i++) {
			if (!ark_json_schema_is_string(json_array_get_element(names, i))) {
				g_string_append_printf(w->path, "[%u]", i);
				return ark_json_schema_walk_fail(w, "expected a member name");
			}
		}
	} else if (strcmp(name, "properties") == 0) {
		JsonObjectIter iter;
		const gchar *property;
		JsonNode *subschema;
		if (!JSON_NODE_HOLDS_OBJECT(value))
			return ark_json_schema_walk_fail(
			    w, "expected an object of a schema for each member");
		json_object_iter_init(&iter, json_node_get_object(value));
		while (json_object_iter_next(&iter, &property, &subschema)) {
			gsize at = w->path->len;
			ark_json_schema_path_member(w->path, property);
			if (!ark_json_schema_walk(w, subschema))
				return FALSE;
			g_string_truncate(w->path, at);
		}
	} else if (strcmp(name, "additionalProperties") == 0) {
		if (!JSON_NODE_HOLDS_VALUE(value) ||
		    json_node_get_value_type(value) != G_TYPE_BOOLEAN)
			return ark_json_schema_walk_fail(
			    w, "expected false or true (a schema is not supported here)");
	} else if (strcmp(name, "items") == 0) {
		if (!ark_json_schema_walk(w, value))
			return FALSE;
	} else if (strcmp(name, "enum") == 0) {
		if (!JSON_NODE_HOLDS_ARRAY(value) ||
		    json_array_get_length(json_node_get_array(value)) == 0)
			return ark_json_schema_walk_fail(w, "expected a non-empty array of values");
	} else if (strcmp(name, "minimum") == 0 || strcmp(name, "maximum") == 0) {
		if (!ark_json_schema_is_number(value) || !isfinite(json_node_get_double(value)))
			return ark_json_schema_walk_fail(w, "expected a number");
	} else if (g_str_has_prefix(name, "min") || g_str_has_prefix(name, "max")) {
		if (!ark_json_schema_get_count(value, &count))
			return ark_json_schema_walk_fail(w, "expected a non-negative integer");
	} else if (strcmp(name, "title") == 0 || strcmp(name, "description") == 0 ||
		   strcmp(name, "$comment") == 0 || strcmp(name, "$schema") == 0) {
		if (!ark_json_schema_is_string(value))
			return ark_json_schema_walk_fail(w, "expected a string");
	}
	/* const: any value */
	g_string_truncate(w->path, len);
	return TRUE;
}

static gboolean
ark_json_schema_walk(ArkJsonSchemaWalk *w, JsonNode *schema)
{
	JsonObject *object;
	JsonObjectIter iter;
	const gchar *name;
	JsonNode *value;
	gint64 min = 0;
	gint64 max = 0;

	if (!JSON_NODE_HOLDS_OBJECT(schema))
		return ark_json_schema_walk_fail(w, "expected a schema (an object)");
	object = json_node_get_object(schema);
	json_object_iter_init(&iter, object);
	while (json_object_iter_next(&iter, &name, &value)) {
		if (!ark_json_schema_walk_member(w, name, value))
			return FALSE;
	}
	/* contradictions that no value could satisfy are mistakes */
	if (json_object_has_member(object, "minimum") && json_object_has_member(object, "maximum") &&
	    json_object_get_double_member(object, "minimum") >
		json_object_get_double_member(object, "maximum"))
		return ark_json_schema_walk_fail(w, "minimum is greater than maximum");
	if (json_object_has_member(object, "minLength") &&
	    json_object_has_member(object, "maxLength") &&
	    ark_json_schema_get_count(json_object_get_member(object, "minLength"), &min) &&
	    ark_json_schema_get_count(json_object_get_member(object, "maxLength"), &max) &&
	    min > max)
		return ark_json_schema_walk_fail(w, "minLength is greater than maxLength");
	if (json_object_has_member(object, "minItems") &&
	    json_object_has_member(object, "maxItems") &&
	    ark_json_schema_get_count(json_object_get_member(object, "minItems"), &min) &&
	    ark_json_schema_get_count(json_object_get_member(object, "maxItems"), &max) &&
	    min > max)
		return ark_json_schema_walk_fail(w, "minItems is greater than maxItems");
	return TRUE;
}

gboolean
ark_json_schema_check_schema(JsonNode *schema, gchar **out_path, GError **error)
{
	g_autoptr(GString) path = g_string_new(NULL);
	ArkJsonSchemaWalk w = {.path = path, .error = error};

	g_return_val_if_fail(schema != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	/* first, so that the walk below recurses a bounded number of times */
	if (ark_json_schema_node_depth(schema, ARK_JSON_SCHEMA_MAX_DEPTH) >
	    ARK_JSON_SCHEMA_MAX_DEPTH) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "the schema is nested deeper than %u levels", ARK_JSON_SCHEMA_MAX_DEPTH);
		if (out_path != NULL)
			*out_path = g_strdup("");
		return FALSE;
	}
	if (!ark_json_schema_walk(&w, schema)) {
		if (out_path != NULL)
			*out_path = g_string_free(g_steal_pointer(&path), FALSE);
		return FALSE;
	}
	if (out_path != NULL)
		*out_path = NULL;
	return TRUE;
}

/* ---- checking a value ---- */

/* JSON equality: numbers by value (1 and 1.0 are equal), objects whatever their member order;
 * recursion follows @expected, which is part of a schema and so of bounded depth */
static gboolean
ark_json_schema_equal(JsonNode *expected, JsonNode *value)
{
	if (ark_json_schema_is_number(expected) || ark_json_schema_is_number(value)) {
		if (!ark_json_schema_is_number(expected) || !ark_json_schema_is_number(value))
			return FALSE;
		if (json_node_get_value_type(expected) == G_TYPE_INT64 &&
		    json_node_get_value_type(value) == G_TYPE_INT64)
			return json_node_get_int(expected) == json_node_get_int(value);
		return json_node_get_double(expected) == json_node_get_double(value);
	}
	if (JSON_NODE_TYPE(expected) != JSON_NODE_TYPE(value))
		return FALSE;
	switch (JSON_NODE_TYPE(expected)) {
	case JSON_NODE_NULL:
		return TRUE;
	case JSON_NODE_VALUE:
		if (json_node_get_value_type(expected) != json_node_get_value_type(value))
			return FALSE;
		if (json_node_get_value_type(expected) == G_TYPE_BOOLEAN)
			return json_node_get_boolean(expected) == json_node_get_boolean(value);
		return g_strcmp0(json_node_get_string(expected), json_node_get_string(value)) == 0;
	case JSON_NODE_ARRAY: {
		JsonArray *a = json_node_get_array(expected);
		JsonArray *b = json_node_get_array(value);
		if (json_array_get_length(a) != json_array_get_length(b))
			return FALSE;
		for (guint i = 0; i < json_array_get_length(a); i++) {
			if (!ark_json_schema_equal(json_array_get_element(a, i),
						   json_array_get_element(b, i)))
				return FALSE;
		}
		return TRUE;
	}
	case JSON_NODE_OBJECT: {
		JsonObject *a = json_node_get_object(expected);
		JsonObject *b = json_node_get_object(value);
		JsonObjectIter iter;
		const gchar *name;
		JsonNode *member;
		if (json_object_get_size(a) != json_object_get_size(b))
			return FALSE;
		json_object_iter_init(&iter, a);
		while (json_object_iter_next(&iter, &name, &member)) {
			if (!json_object_has_member(b, name) ||
			    !ark_json_schema_equal(member, json_object_get_member(b, name)))
				return FALSE;
		}
		return TRUE;
	}
	default:
		return FALSE;
	}
}

static const gchar *
ark_json_schema_type_of(JsonNode *value)
{
	switch (JSON_NODE_TYPE(value)) {
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_OBJECT:
		return "object";
	case JSON_NODE_ARRAY:
		return "array";
	default:
		break;
	}
	if (json_node_get_value_type(value) == G_TYPE_BOOLEAN)
		return "boolean";
	if (json_node_get_value_type(value) == G_TYPE_STRING)
		return "string";
	return ark_json_schema_is_integer(value) ? "integer" : "number";
}

static gboolean
ark_json_schema_has_type(JsonNode *value, const gchar *type)
{
	const gchar *actual = ark_json_schema_type_of(value);

	if (strcmp(type, actual) == 0)
		return TRUE;
	/* every integer is a number */
	return strcmp(type, "number") == 0 && strcmp(actual, "integer") == 0;
}

/* "a string", "an integer" */
static const gchar *
ark_json_schema_article(const gchar *type)
{
	return strchr("aeiou", type[0]) != NULL ? "an" : "a";
}

/* a value for a message: compact JSON, shortened */
static gchar *
ark_json_schema_show(JsonNode *node)
{
	g_autofree gchar *text = json_to_string(node, FALSE);

	if (g_utf8_strlen(text, -1) > 60) {
		gchar *end = g_utf8_offset_to_pointer(text, 57);
		return g_strdup_printf("%.*s...", (gint)(end - text), text);
	}
	return g_steal_pointer(&text);
}

static gchar *
ark_json_schema_format_number(gdouble d)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (d == floor(d) && fabs(d) < 1e15)
		return g_strdup_printf("%" G_GINT64_FORMAT, (gint64)d);
	return g_strdup(g_ascii_dtostr(buf, sizeof(buf), d));
}

typedef struct {
	GString *path;
	GError **error;
} ArkJsonSchemaCheck;

static gboolean ark_json_schema_mismatch(ArkJsonSchemaCheck *c, const gchar *format, ...)
    G_GNUC_PRINTF(2, 3);

static gboolean
ark_json_schema_mismatch(ArkJsonSchemaCheck *c, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(c->error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "%s: %s", c->path->str, what);
	return FALSE;
}

static gboolean
ark_json_schema_check_type(ArkJsonSchemaCheck *c, JsonNode *type, JsonNode *value)
{
	g_autoptr(GString) wanted = NULL;
	JsonArray *types;
	guint n;

	if (ark_json_schema_is_string(type)) {
		const gchar *name = json_node_get_string(type);
		if (ark_json_schema_has_type(value, name))
			return TRUE;
		return ark_json_schema_mismatch(c, "expected %s %s, not %s",
						ark_json_schema_article(name), name,
						ark_json_schema_type_of(value));
	}
	types = json_node_get_array(type);
	n = json_array_get_length(types);
	for (guint i = 0; i < n; i++) {
		if (ark_json_schema_has_type(value, json_array_get_string_element(types, i)))
			return TRUE;
	}
	wanted = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		const gchar *name = json_array_get_string_element(types, i);
		if (i > 0)
			g_string_append(wanted, i + 1 == n ? " or " : ", ");
		g_string_append_printf(wanted, "%s %s", ark_json_schema_article(name), name);
	}
	return ark_json_schema_mismatch(c, "expected %s, not %s", wanted->str,
					ark_json_schema_type_of(value));
}

static gboolean ark_json_schema_check_node(ArkJsonSchemaCheck *c, JsonObject *schema,
					   JsonNode *value);

static gboolean
ark_json_schema_check_object(ArkJsonSchemaCheck *c, JsonObject *schema, JsonObject *object)
{
	JsonObject *properties = NULL;
	gsize len = c->path->len;

	if (json_object_has_member(schema, "properties"))
		properties = json_object_get_object_member(schema, "properties");
	if (json_object_has_member(schema, "required")) {
		JsonArray *required = json_object_get_array_member(schema, "required");
		for (guint i = 0; i < json_array_get_length(required); i++) {
			const gchar *name = json_array_get_string_element(required, i);
			if (!json_object_has_member(object, name))
				return ark_json_schema_mismatch(c, "missing member \"%s\"", name);
		}
	}
	if (json_object_has_member(schema, "additionalProperties") &&
	    !json_object_get_boolean_member(schema, "additionalProperties")) {
		/* reported in the value's order: the first one a reader meets */
		g_autoptr(GList) names = json_object_get_members(object);
		for (GList *l = names; l != NULL; l = l->next) {
			if (properties != NULL && json_object_has_member(properties, l->data))
				continue;
			ark_json_schema_path_member(c->path, l->data);
			return ark_json_schema_mismatch(
			    c, "member not allowed (additionalProperties is false)");
		}
	}
	if (properties != NULL) {
		/* in the value's order, for the same reason */
		g_autoptr(GList) names = json_object_get_members(object);
		for (GList *l = names; l != NULL; l = l->next) {
			if (!json_object_has_member(properties, l->data))
				continue;
			ark_json_schema_path_member(c->path, l->data);
			if (!ark_json_schema_check_node(
				c, json_object_get_object_member(properties, l->data),
				json_object_get_member(object, l->data)))
				return FALSE;
			g_string_truncate(c->path, len);
		}
	}
	return TRUE;
}

static gboolean
ark_json_schema_check_array(ArkJsonSchemaCheck *c, JsonObject *schema, JsonArray *array)
{
	guint n = json_array_get_length(array);
	gsize len = c->path->len;
	gint64 count;

	if (json_object_has_member(schema, "minItems") &&
	    ark_json_schema_get_count(json_object_get_member(schema, "minItems"), &count) &&
	    (gint64)n < count)
		return ark_json_schema_mismatch(c, "%u items, fewer than minItems %" G_GINT64_FORMAT,
						n, count);
	if (json_object_has_member(schema, "maxItems") &&
	    ark_json_schema_get_count(json_object_get_member(schema, "maxItems"), &count) &&
	    (gint64)n > count)
		return ark_json_schema_mismatch(c, "%u items, more than maxItems %" G_GINT64_FORMAT,
						n, count);
	if (json_object_has_member(schema, "items")) {
		JsonObject *items = json_object_get_object_member(schema, "items");
		for (guint i = 0; i < n; i++) {
			g_string_append_printf(c->path, "[%u]", i);
			if (!ark_json_schema_check_node(c, items, json_array_get_element(array, i)))
				return FALSE;
			g_string_truncate(c->path, len);
		}
	}
	return TRUE;
}

static gboolean
ark_json_schema_check_string(ArkJsonSchemaCheck *c, JsonObject *schema, const gchar *str)
{
	glong chars = g_utf8_strlen(str, -1);
	gint64 count;

	if (json_object_has_member(schema, "minLength") &&
	    ark_json_schema_get_count(json_object_get_member(schema, "minLength"), &count) &&
	    chars < count)
		return ark_json_schema_mismatch(
		    c, "%ld characters, fewer than minLength %" G_GINT64_FORMAT, chars, count);
	if (json_object_has_member(schema, "maxLength") &&
	    ark_json_schema_get_count(json_object_get_member(schema, "maxLength"), &count) &&
	    chars > count)
		return ark_json_schema_mismatch(
		    c, "%ld characters, more than maxLength %" G_GINT64_FORMAT, chars, count);
	return TRUE;
}

static gboolean
ark_json_schema_check_number(ArkJsonSchemaCheck *c, JsonObject *schema, JsonNode *value)
{
	gdouble d = json_node_get_double(value);

	if (json_object_has_member(schema, "minimum") &&
	    d < json_object_get_double_member(schema, "minimum")) {
		g_autofree gchar *shown = ark_json_schema_show(value);
		g_autofree gchar *bound =
		    ark_json_schema_format_number(json_object_get_double_member(schema, "minimum"));
		return ark_json_schema_mismatch(c, "%s is less than the minimum %s", shown, bound);
	}
	if (json_object_has_member(schema, "maximum") &&
	    d > json_object_get_double_member(schema, "maximum")) {
		g_autofree gchar *shown = ark_json_schema_show(value);
		g_autofree gchar *bound =
		    ark_json_schema_format_number(json_object_get_double_member(schema, "maximum"));
		return ark_json_schema_mismatch(c, "%s is greater than the maximum %s", shown,
						bound);
	}
	return TRUE;
}

static gboolean
ark_json_schema_check_node(ArkJsonSchemaCheck *c, JsonObject *schema, JsonNode *value)
{
	if (json_object_has_member(schema, "type") &&
	    !ark_json_schema_check_type(c, json_object_get_member(schema, "type"), value))
		return FALSE;
	if (json_object_has_member(schema, "const") &&
	    !ark_json_schema_equal(json_object_get_member(schema, "const"), value)) {
		g_autofree gchar *shown =
		    ark_json_schema_show(json_object_get_member(schema, "const"));
		return ark_json_schema_mismatch(c, "expected %s (const)", shown);
	}
	if (json_object_has_member(schema, "enum")) {
		JsonArray *values = json_object_get_array_member(schema, "enum");
		gboolean found = FALSE;
		for (guint i = 0; i < json_array_get_length(values) && !found; i++)
			found = ark_json_schema_equal(json_array_get_element(values, i), value);
		if (!found) {
			g_autofree gchar *shown =
			    ark_json_schema_show(json_object_get_member(schema, "enum"));
			return ark_json_schema_mismatch(c, "expected one of %s (enum)", shown);
		}
	}
	if (JSON_NODE_HOLDS_OBJECT(value))
		return ark_json_schema_check_object(c, schema, json_node_get_object(value));
	if (JSON_NODE_HOLDS_ARRAY(value))
		return ark_json_schema_check_array(c, schema, json_node_get_array(value));
	if (ark_json_schema_is_string(value))
		return ark_json_schema_check_string(c, schema, json_node_get_string(value));
	if (ark_json_schema_is_number(value))
		return ark_json_schema_check_number(c, schema, value);
	return TRUE;
}

/**
 * ark_json_schema_check:
 * @schema: a JSON Schema of the subset agent tasks accept results with
 * @value: the value to check
 * @error: return location for an error
 *
 * Checks @value against @schema. The subset (docs/workflow-format.md): type (a name or an array
 * of names), required, properties, additionalProperties (false or true), items (one schema for
 * every element), enum, const, minimum, maximum, minLength, maxLength (in characters), minItems,
 * maxItems; $schema, $comment, title and description are allowed and change nothing. A schema
 * outside the subset (an unknown keyword, a keyword with a value of the wrong kind, nested
 * deeper than 32 levels) fails with "invalid schema at PATH: ..." whatever @value is.
 *
 * Returns: TRUE when @value matches; FALSE with ARK_ERROR_INVALID_ARGUMENT naming the first
 *   place that does not ("$.items[2].name: expected a string, not integer")
 *
 * Since: 1.3
 */
gboolean
ark_json_schema_check(JsonNode *schema, JsonNode *value, GError **error)
{
	g_autoptr(GString) path = g_string_new("$");
	g_autofree gchar *schema_path = NULL;
	g_autoptr(GError) schema_error = NULL;
	ArkJsonSchemaCheck c = {.path = path, .error = error};

	g_return_val_if_fail(schema != NULL, FALSE);
	g_return_val_if_fail(value != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!ark_json_schema_check_schema(schema, &schema_path, &schema_error)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "invalid schema%s%s: %s",
			    schema_path[0] != '\0' ? " at " : "", schema_path,
			    schema_error->message);
		return FALSE;
	}
	return ark_json_schema_check_node(&c, json_node_get_object(schema), value);
}
