/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-test-utils.h"

/* ark_json_validate(): strict JSON, what json-glib 1.6 would take and what it would not */

static void
ark_json_test_validate_good(void)
{
	static const gchar *const good[] = {
	    "0", "-0", "1.5", "-1.5e10", "1E+2", "1e-300", "true", "false", "null", "\"\"",
	    "\"\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t\"", "\"é €\"", "[]", "{}", " \t\r\n[ 1 , 2 ] \n",
	    "{\"a\":{\"b\":[{\"c\":null}]}}", "{\"\":0}", "[[],{},[[]]]",
	    "{\"a\":1,\"a\":2}", /* duplicate names are JSON; readers keep the last */
	    "\"\\u0000\"",	 /* an escaped nul is text like any other */
	};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		g_test_message("%s", good[i]);
		g_assert_true(ark_json_validate(good[i], -1, 64, &error));
		g_assert_no_error(error);
	}
}

static void
ark_json_test_validate_bad(void)
{
	static const struct {
		const gchar *text;
		const gchar *message;
	} bad[] = {
	    {"", "expected a value at byte 1"},
	    {"   ", "expected a value at byte 4"},
	    {"[1] [2]", "more data after the value at byte 5"},
	    {"1 2", "more data after the value at byte 3"},
	    {"/* c */ 1", "expected a value at byte 1"},
	    {"// c\n1", "expected a value at byte 1"},
	    {"'a'", "expected a value at byte 1"},
	    {"0x10", "more data after the value at byte 2"},
	    {"01", "a number with a leading zero at byte 2"},
	    {"-", "an invalid number at byte 2"},
	    {"1.", "an invalid number at byte 3"},
	    {".5", "expected a value at byte 1"},
	    {"1e", "an invalid number at byte 3"},
	    {"+1", "expected a value at byte 1"},
	    {"1e999", "a number out of range at byte 1"},
	    {"-1e999", "a number out of range at byte 1"},
	    {"NaN", "expected a value at byte 1"},
	    {"Infinity", "expected a value at byte 1"},
	    {"tru", "expected a value at byte 1"},
	    {"nulll", "more data after the value at byte 5"},
	    {"[1,]", "expected a value at byte 4"},
	    {"[,1]", "expected a value at byte 2"},
	    {"{\"a\":1,}", "expected a member name at byte 8"},
	    {"{\"a\" 1}", "expected ':' at byte 6"},
	    {"{a:1}", "expected a member name at byte 2"},
	    {"{1:1}", "expected a member name at byte 2"},
	    {"[1", "expected ',' or ']' at byte 3"},
	    {"{\"a\":1", "expected ',' or '}' at byte 7"},
	    {"[1}", "expected ',' or ']' at byte 3"},
	    {"{\"a\":1]", "expected ',' or '}' at byte 7"},
	    {"]", "expected a value at byte 1"},
	    {"\"abc", "an unterminated string at byte 5"},
	    {"\"a\\", "an unterminated string at byte 4"},
	    {"\"\\x\"", "an invalid escape at byte 3"},
	    {"\"\\u12\"", "an invalid \\u escape at byte 6"},
	    {"\"\\u12g4\"", "an invalid \\u escape at byte 6"},
	    {"\"a\nb\"", "a control character in a string at byte 3"},
	    {"\"\t\"", "a control character in a string at byte 2"},
	    {"\"\xff\"", "invalid UTF-8 at byte 2"},
	    {"\"\xc3\"", "invalid UTF-8 at byte 2"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_test_message("%s", bad[i].text);
		g_assert_false(ark_json_validate(bad[i].text, -1, 64, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_cmpstr(error->message, ==, bad[i].message);
	}
	/* a nul byte inside the given length, and the length is what counts */
	{
		g_autoptr(GError) error = NULL;
		g_assert_false(ark_json_validate("[1,\0002]", 6, 64, &error));
		g_assert_cmpstr(error->message, ==, "a nul byte at byte 4");
		g_clear_error(&error);
		g_assert_true(ark_json_validate("[1]garbage", 3, 64, &error));
		g_assert_no_error(error);
		g_assert_true(ark_json_validate("truex", 4, 64, &error));
		g_assert_false(ark_json_validate("tru", 3, 64, &error));
	}
}

/* depth: exactly the limit passes; hostile nesting fails at the first level too many, without
 * recursion (a million levels) */
static void
ark_json_test_validate_depth(void)
{
	const gsize hostile = 1000000;
	g_autofree gchar *deep = g_malloc(2 * hostile + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) ok = g_string_new(NULL);

	memset(deep, '[', hostile);
	memset(deep + hostile, ']', hostile);
	deep[2 * hostile] = '\0';
	g_assert_false(ark_json_validate(deep, -1, 64, &error));
	g_assert_cmpstr(error->message, ==, "nested deeper than 64 levels at byte 65");
	g_clear_error(&error);
	/* objects count like arrays; an unbounded limit still does not recurse */
	for (guint i = 0; i < 64; i++)
		g_string_append(ok, i % 2 == 0 ? "{\"a\":" : "[");
	g_string_append(ok, "1");
	for (guint i = 64; i > 0; i--)
		g_string_append(ok, (i - 1) % 2 == 0 ? "}" : "]");
	g_assert_true(ark_json_validate(ok->str, -1, 64, &error));
	g_assert_no_error(error);
	g_assert_false(ark_json_validate(ok->str, -1, 63, &error));
	g_clear_error(&error);
	g_assert_true(ark_json_validate(deep, -1, G_MAXUINT / 2, &error));
	g_assert_no_error(error);
	/* a truncated hostile document */
	deep[hostile + 10] = '\0';
	g_assert_false(ark_json_validate(deep, -1, G_MAXUINT / 2, &error));
	g_assert_cmpstr(error->message, ==, "expected ',' or ']' at byte 1000011");
	g_clear_error(&error);
	g_assert_false(ark_json_validate("[]", -1, 0, &error));
	g_assert_cmpstr(error->message, ==, "nested deeper than 0 levels at byte 1");
	g_clear_error(&error);
	g_assert_true(ark_json_validate("1", -1, 0, &error));
}

/* ark_json_schema_check() */

static JsonNode *
ark_json_test_node(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_from_string(json, &error);

	g_assert_no_error(error);
	g_assert_nonnull(node);
	return node;
}

/* NULL @message: @value matches; otherwise the exact message */
static void
ark_json_test_check(const gchar *schema, const gchar *value, const gchar *message)
{
	g_autoptr(JsonNode) s = ark_json_test_node(schema);
	g_autoptr(JsonNode) v = ark_json_test_node(value);
	g_autoptr(GError) error = NULL;
	gboolean ok = ark_json_schema_check(s, v, &error);

	if (message == NULL) {
		if (!ok)
			g_error("%s against %s: %s", value, schema, error->message);
		return;
	}
	if (ok)
		g_error("%s against %s: matched, expected '%s'", value, schema, message);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, message);
}

static void
ark_json_test_schema_keywords(void)
{
	/* type, each name and lists of them; integers are numbers */
	ark_json_test_check("{\"type\":\"string\"}", "\"x\"", NULL);
	ark_json_test_check("{\"type\":\"string\"}", "1", "$: expected a string, not integer");
	ark_json_test_check("{\"type\":\"integer\"}", "3", NULL);
	ark_json_test_check("{\"type\":\"integer\"}", "3.0", NULL);
	ark_json_test_check("{\"type\":\"integer\"}", "3.5", "$: expected an integer, not number");
	ark_json_test_check("{\"type\":\"number\"}", "3", NULL);
	ark_json_test_check("{\"type\":\"number\"}", "\"3\"", "$: expected a number, not string");
	ark_json_test_check("{\"type\":\"boolean\"}", "false", NULL);
	ark_json_test_check("{\"type\":\"boolean\"}", "0", "$: expected a boolean, not integer");
	ark_json_test_check("{\"type\":\"null\"}", "null", NULL);
	ark_json_test_check("{\"type\":\"null\"}", "{}", "$: expected a null, not object");
	ark_json_test_check("{\"type\":\"object\"}", "{}", NULL);
	ark_json_test_check("{\"type\":\"object\"}", "[]", "$: expected an object, not array");
	ark_json_test_check("{\"type\":\"array\"}", "[]", NULL);
	ark_json_test_check("{\"type\":\"array\"}", "{}", "$: expected an array, not object");
	ark_json_test_check("{\"type\":[\"string\",\"null\"]}", "null", NULL);
	ark_json_test_check("{\"type\":[\"string\",\"null\",\"array\"]}", "true",
			    "$: expected a string, a null or an array, not boolean");

	/* required, properties, additionalProperties */
	ark_json_test_check("{\"required\":[\"a\",\"b\"]}", "{\"a\":1,\"b\":null}", NULL);
	ark_json_test_check("{\"required\":[\"a\",\"b\"]}", "{\"a\":1}",
			    "$: missing member \"b\"");
	ark_json_test_check("{\"required\":[\"a\"]}", "[]", NULL); /* only about objects */
	ark_json_test_check("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":\"x\"}",
			    NULL);
	ark_json_test_check("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"b\":1}", NULL);
	ark_json_test_check("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":1}",
			    "$.a: expected a string, not integer");
	ark_json_test_check("{\"properties\":{\"a b\":{\"type\":\"string\"}}}", "{\"a b\":1}",
			    "$[\"a b\"]: expected a string, not integer");
	ark_json_test_check("{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
			    "{\"a\":1}", NULL);
	ark_json_test_check("{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
			    "{\"a\":1,\"zz\":2}",
			    "$.zz: member not allowed (additionalProperties is false)");
	ark_json_test_check("{\"additionalProperties\":true}", "{\"zz\":2}", NULL);
	ark_json_test_check("{\"additionalProperties\":false}", "{}", NULL);

	/* items, minItems, maxItems */
	ark_json_test_check("{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", NULL);
	ark_json_test_check("{\"items\":{\"type\":\"integer\"}}", "[1,\"2\",3]",
			    "$[1]: expected an integer, not string");
	ark_json_test_check("{\"minItems\":2}", "[1,2]", NULL);
	ark_json_test_check("{\"minItems\":2}", "[1]", "$: 1 items, fewer than minItems 2");
	ark_json_test_check("{\"maxItems\":1}", "[1]", NULL);
	ark_json_test_check("{\"maxItems\":1}", "[1,2]", "$: 2 items, more than maxItems 1");
	ark_json_test_check("{\"maxItems\":0}", "\"not an array\"", NULL);

	/* enum and const: equality of JSON values, 1 and 1.0 alike, members in any order */
	ark_json_test_check("{\"enum\":[\"a\",1,null,{\"x\":[1]}]}", "\"a\"", NULL);
	ark_json_test_check("{\"enum\":[\"a\",1,null,{\"x\":[1]}]}", "1.0", NULL);
	ark_json_test_check("{\"enum\":[\"a\",1,null,{\"x\":[1]}]}", "null", NULL);
	ark_json_test_check("{\"enum\":[\"a\",1,null,{\"x\":[1]}]}", "{\"x\":[1]}", NULL);
	ark_json_test_check("{\"enum\":[\"a\",1,null,{\"x\":[1]}]}", "{\"x\":[2]}",
			    "$: expected one of [\"a\",1,null,{\"x\":[1]}] (enum)");
	ark_json_test_check("{\"enum\":[true]}", "1", "$: expected one of [true] (enum)");
	ark_json_test_check("{\"const\":{\"a\":1,\"b\":[true,\"x\"]}}",
			    "{\"b\":[true,\"x\"],\"a\":1.0}", NULL);
	ark_json_test_check("{\"const\":{\"a\":1,\"b\":[true,\"x\"]}}",
			    "{\"b\":[true,\"x\"],\"a\":1,\"c\":0}",
			    "$: expected {\"a\":1,\"b\":[true,\"x\"]} (const)");
	ark_json_test_check("{\"const\":[1,2]}", "[2,1]", "$: expected [1,2] (const)");
	ark_json_test_check("{\"const\":\"x\"}", "\"y\"", "$: expected \"x\" (const)");

	/* minimum, maximum: inclusive, on numbers only */
	ark_json_test_check("{\"minimum\":1,\"maximum\":5}", "1", NULL);
	ark_json_test_check("{\"minimum\":1,\"maximum\":5}", "5.0", NULL);
	ark_json_test_check("{\"minimum\":1,\"maximum\":5}", "0.5",
			    "$: 0.5 is less than the minimum 1");
	ark_json_test_check("{\"minimum\":1,\"maximum\":5.5}", "6",
			    "$: 6 is greater than the maximum 5.5");
	ark_json_test_check("{\"minimum\":1}", "\"0\"", NULL);

	/* minLength, maxLength: characters, not bytes */
	ark_json_test_check("{\"minLength\":2,\"maxLength\":3}", "\"éé\"", NULL);
	ark_json_test_check("{\"maxLength\":3}", "\"éééé\"",
			    "$: 4 characters, more than maxLength 3");
	ark_json_test_check("{\"minLength\":1}", "\"\"", "$: 0 characters, fewer than minLength 1");
	ark_json_test_check("{\"minLength\":1}", "[]", NULL);

	/* annotations change nothing */
	ark_json_test_check("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
			    "\"title\":\"t\",\"description\":\"d\",\"$comment\":\"c\"}",
			    "42", NULL);
	ark_json_test_check("{}", "{\"anything\":[1]}", NULL);
}

/* the first place that does not match, however deep, with its path */
static void
ark_json_test_schema_paths(void)
{
	const gchar *schema =
	    "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":"
	    "\"array\",\"items\":{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
	    "\"name\":{\"type\":\"string\"},\"tags\":{\"items\":{\"enum\":[\"a\",\"b\"]}}}}}}}";

	ark_json_test_check(schema, "{\"items\":[{\"name\":\"x\",\"tags\":[\"a\"]}]}", NULL);
	ark_json_test_check(schema, "{\"items\":[{\"name\":\"x\"},{\"name\":\"y\"},{\"name\":7}]}",
			    "$.items[2].name: expected a string, not integer");
	ark_json_test_check(schema, "{\"items\":[{\"name\":\"x\"},{}]}",
			    "$.items[1]: missing member \"name\"");
	ark_json_test_check(schema, "{\"items\":[{\"name\":\"x\",\"tags\":[\"a\",\"c\"]}]}",
			    "$.items[0].tags[1]: expected one of [\"a\",\"b\"] (enum)");
	ark_json_test_check(schema, "{}", "$: missing member \"items\"");
	/* a value deeper than its schema is not looked into */
	ark_json_test_check("{\"items\":{\"type\":\"array\"}}", "[[[[[[[[[[[[1]]]]]]]]]]]]", NULL);
}

/* a schema outside the subset is refused whatever the value, naming where and what */
static void
ark_json_test_schema_invalid(void)
{
	static const struct {
		const gchar *schema;
		const gchar *message;
	} bad[] = {
	    {"[]", "invalid schema: expected a schema (an object)"},
	    {"true", "invalid schema: expected a schema (an object)"},
	    {"{\"pattern\":\"^a\"}", "invalid schema: unknown keyword \"pattern\""},
	    {"{\"properties\":{\"a\":{\"format\":\"date\"}}}",
	     "invalid schema at .properties.a: unknown keyword \"format\""},
	    {"{\"items\":{\"items\":{\"oneOf\":[]}}}",
	     "invalid schema at .items.items: unknown keyword \"oneOf\""},
	    {"{\"type\":\"text\"}", "invalid schema at .type: unknown type \"text\""},
	    {"{\"type\":[]}",
	     "invalid schema at .type: expected a type name or a non-empty array of them"},
	    {"{\"type\":[\"string\",3]}", "invalid schema at .type[1]: expected a type name"},
	    {"{\"required\":\"a\"}", "invalid schema at .required: expected an array of member"},
	    {"{\"required\":[1]}", "invalid schema at .required[0]: expected a member name"},
	    {"{\"properties\":[]}", "invalid schema at .properties: expected an object"},
	    {"{\"properties\":{\"a\":1}}",
	     "invalid schema at .properties.a: expected a schema (an object)"},
	    {"{\"additionalProperties\":{\"type\":\"string\"}}",
	     "invalid schema at .additionalProperties: expected false or true"},
	    {"{\"items\":[{}]}", "invalid schema at .items: expected a schema (an object)"},
	    {"{\"enum\":[]}", "invalid schema at .enum: expected a non-empty array of values"},
	    {"{\"minimum\":\"1\"}", "invalid schema at .minimum: expected a number"},
	    {"{\"maxLength\":-1}", "invalid schema at .maxLength: expected a non-negative integer"},
	    {"{\"minItems\":1.5}", "invalid schema at .minItems: expected a non-negative integer"},
	    {"{\"title\":1}", "invalid schema at .title: expected a string"},
	    {"{\"minimum\":2,\"maximum\":1}", "invalid schema: minimum is greater than maximum"},
	    {"{\"minItems\":2,\"maxItems\":1}", "invalid schema: minItems is greater than maxItems"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonNode) schema = ark_json_test_node(bad[i].schema);
		g_autoptr(JsonNode) value = ark_json_test_node("null");
		g_autoptr(GError) error = NULL;

		g_test_message("%s", bad[i].schema);
		g_assert_false(ark_json_schema_check(schema, value, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		if (!g_str_has_prefix(error->message, bad[i].message))
			g_error("expected '%s', got '%s'", bad[i].message, error->message);
	}
}

/* hostile nesting: a schema nested past the limit is refused without walking all of it, and a
 * deep value against a deep schema stops where the schema does */
static void
ark_json_test_schema_hostile(void)
{
	const guint depth = 100000;
	g_autoptr(GString) deep_schema = g_string_new(NULL);
	g_autoptr(GString) ok_schema = g_string_new(NULL);
	g_autoptr(GString) deep_value = g_string_new(NULL);
	g_autoptr(JsonNode) schema = NULL;
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error = NULL;

	/* built by hand, and taken apart from the bottom: json-glib recurses reading and freeing
	 * them, and would overflow the stack itself */
	g_autoptr(GPtrArray) levels = g_ptr_array_new();
	schema = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(schema, json_object_new());
	g_ptr_array_add(levels, json_node_get_object(schema));
	for (guint i = 0; i < depth; i++) {
		JsonNode *inner = json_node_new(JSON_NODE_OBJECT);
		json_node_take_object(inner, json_object_new());
		json_object_set_member(g_ptr_array_index(levels, levels->len - 1), "items", inner);
		g_ptr_array_add(levels, json_node_get_object(inner));
	}
	value = json_node_new(JSON_NODE_NULL);
	g_assert_false(ark_json_schema_check(schema, value, &error));
	g_assert_cmpstr(error->message, ==, "invalid schema: the schema is nested deeper than 32 "
					    "levels");
	g_clear_error(&error);
	for (guint i = levels->len - 1; i > 0; i--)
		json_object_remove_member(g_ptr_array_index(levels, i - 1), "items");

	/* at the limit: 32 levels of the schema document */
	for (guint i = 0; i < 31; i++)
		g_string_append(ok_schema, "{\"items\":");
	g_string_append(ok_schema, "{\"type\":\"integer\"}");
	for (guint i = 0; i < 31; i++)
		g_string_append_c(ok_schema, '}');
	g_clear_pointer(&schema, json_node_unref);
	schema = ark_json_test_node(ok_schema->str);
	for (guint i = 0; i < 31; i++)
		g_string_append_c(deep_value, '[');
	g_string_append(deep_value, "\"x\"");
	for (guint i = 0; i < 31; i++)
		g_string_append_c(deep_value, ']');
	g_clear_pointer(&value, json_node_unref);
	value = ark_json_test_node(deep_value->str);
	g_assert_false(ark_json_schema_check(schema, value, &error));
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, "$[0][0][0]"));
	g_assert_true(g_str_has_suffix(error->message, "[0]: expected an integer, not string"));
	g_clear_error(&error);

	/* one more level is refused */
	g_string_prepend(ok_schema, "{\"items\":");
	g_string_append_c(ok_schema, '}');
	g_clear_pointer(&schema, json_node_unref);
	schema = ark_json_test_node(ok_schema->str);
	g_assert_false(ark_json_schema_check(schema, value, &error));
	g_assert_cmpstr(error->message, ==, "invalid schema: the schema is nested deeper than 32 "
					    "levels");
	g_clear_error(&error);

	/* a const nested past the limit counts too */
	for (guint i = 0; i < 40; i++)
		g_string_prepend_c(deep_value, '[');
	g_clear_pointer(&schema, json_node_unref);
	{
		g_autofree gchar *text = g_strdup_printf("{\"const\":%s]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
							 "]]]]]]}",
							 deep_value->str);
		schema = ark_json_test_node(text);
	}
	g_assert_false(ark_json_schema_check(schema, value, &error));
	g_assert_cmpstr(error->message, ==, "invalid schema: the schema is nested deeper than 32 "
					    "levels");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/json/validate/good", ark_json_test_validate_good);
	g_test_add_func("/ark/json/validate/bad", ark_json_test_validate_bad);
	g_test_add_func("/ark/json/validate/depth", ark_json_test_validate_depth);
	g_test_add_func("/ark/json/schema/keywords", ark_json_test_schema_keywords);
	g_test_add_func("/ark/json/schema/paths", ark_json_test_schema_paths);
	g_test_add_func("/ark/json/schema/invalid", ark_json_test_schema_invalid);
	g_test_add_func("/ark/json/schema/hostile", ark_json_test_schema_hostile);
	return g_test_run();
}
