/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-mcp-private.h"

/*
 * TEST ONLY: the fixed tools, resources and prompts the official MCP conformance suite
 * (@modelcontextprotocol/conformance 0.1.16) expects by name. They exist only when the daemon
 * runs with ARKITECT_MCP_TEST_FIXTURES=1 in its environment (tests/mcp/conformance.sh sets it),
 * never in a normal listing.
 */

#define ARK_MCP_PNG                                                                                \
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJg" \
	"gg=="
#define ARK_MCP_WAV "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

static JsonObject *
ark_mcp_fixture_image(void)
{
	JsonObject *block = json_object_new();

	json_object_set_string_member(block, "type", "image");
	json_object_set_string_member(block, "data", ARK_MCP_PNG);
	json_object_set_string_member(block, "mimeType", "image/png");
	return block;
}

static JsonObject *
ark_mcp_fixture_embedded(const gchar *uri)
{
	JsonObject *block = json_object_new();
	JsonObject *resource = json_object_new();

	json_object_set_string_member(resource, "uri", uri);
	json_object_set_string_member(resource, "mimeType", "text/plain");
	json_object_set_string_member(resource, "text", "This is an embedded resource content.");
	json_object_set_string_member(block, "type", "resource");
	json_object_set_object_member(block, "resource", resource);
	return block;
}

static void
ark_mcp_fixture_text(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();

	json_array_add_object_element(
	    content, ark_mcp_text_content("This is a simple text response for testing."));
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_image_tool(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();

	json_array_add_object_element(content, ark_mcp_fixture_image());
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_audio(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();
	JsonObject *block = json_object_new();

	json_object_set_string_member(block, "type", "audio");
	json_object_set_string_member(block, "data", ARK_MCP_WAV);
	json_object_set_string_member(block, "mimeType", "audio/wav");
	json_array_add_object_element(content, block);
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_embedded_tool(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();

	json_array_add_object_element(content, ark_mcp_fixture_embedded("test://embedded-resource"));
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_mixed(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();

	json_array_add_object_element(content, ark_mcp_text_content("Multiple content types test:"));
	json_array_add_object_element(content, ark_mcp_fixture_image());
	json_array_add_object_element(content, ark_mcp_fixture_embedded("test://mixed-content-resource"));
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_error(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_call_tool_error(call, "This tool intentionally returns an error for testing");
}

static void
ark_mcp_fixture_schema(ArkMcpCall *call, JsonObject *args)
{
	JsonArray *content = json_array_new();

	json_array_add_object_element(content, ark_mcp_text_content("ok"));
	ark_mcp_call_tool_content(call, content, FALSE);
}

/* logging and progress: three messages 50 ms apart, before the answer */
typedef struct {
	ArkMcpCall *call;
	guint step;
	guint source;
	gboolean progress;
} ArkMcpFixtureTicker;

static void
ark_mcp_fixture_ticker_free(gpointer data)
{
	ArkMcpFixtureTicker *ticker = data;

	g_clear_handle_id(&ticker->source, g_source_remove);
	g_free(ticker);
}

static void
ark_mcp_fixture_ticker_cancel_cb(gpointer call, gpointer data)
{
	ArkMcpFixtureTicker *ticker = data;

	g_clear_handle_id(&ticker->source, g_source_remove);
}

static gboolean
ark_mcp_fixture_tick_cb(gpointer data)
{
	ArkMcpFixtureTicker *ticker = data;
	JsonArray *content;

	if (ticker->step < 3) {
		if (ticker->progress) {
			ark_mcp_call_progress(ticker->call, ticker->step * 50.0, 100, NULL);
		} else {
			static const gchar *const messages[] = {"Tool execution started",
								"Tool processing data",
								"Tool execution completed"};
			ark_mcp_call_log(ticker->call, "info", "test",
					 json_node_init_string(json_node_alloc(),
							       messages[ticker->step]));
		}
		ticker->step++;
		return G_SOURCE_CONTINUE;
	}
	ticker->source = 0;
	content = json_array_new();
	json_array_add_object_element(content,
				      ark_mcp_text_content(ticker->progress
							       ? "Progress test completed"
							       : "Tool with logging executed"));
	ark_mcp_call_tool_content(ticker->call, content, FALSE);
	return G_SOURCE_REMOVE;
}

static void
ark_mcp_fixture_ticker(ArkMcpCall *call, gboolean progress)
{
	ArkMcpFixtureTicker *ticker = g_new0(ArkMcpFixtureTicker, 1);

	ticker->call = call;
	ticker->progress = progress;
	ark_mcp_call_set_cancel(call, ark_mcp_fixture_ticker_cancel_cb, ticker,
				ark_mcp_fixture_ticker_free);
	ticker->source = g_timeout_add(50, ark_mcp_fixture_tick_cb, ticker);
}

static void
ark_mcp_fixture_logging(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_fixture_ticker(call, FALSE);
}

static void
ark_mcp_fixture_progress(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_fixture_ticker(call, TRUE);
}

/* sampling and elicitation: a request to the client, answered with what it said */
static void
ark_mcp_fixture_answer_cb(ArkMcpCall *call, JsonNode *result, JsonNode *error, gpointer data)
{
	g_autofree gchar *text = NULL;
	JsonArray *content;

	if (error != NULL || result == NULL) {
		ark_mcp_call_tool_error(call, "the client refused the request");
		return;
	}
	if (GPOINTER_TO_INT(data) == 1 && JSON_NODE_HOLDS_OBJECT(result)) {
		JsonNode *c = json_object_get_member(json_node_get_object(result), "content");
		const gchar *t = c != NULL && JSON_NODE_HOLDS_OBJECT(c)
				     ? ark_mcp_get_string(json_node_get_object(c), "text")
				     : NULL;
		text = g_strdup_printf("LLM response: %s", t != NULL ? t : "");
	} else {
		g_autofree gchar *json = json_to_string(result, FALSE);
		text = g_strdup_printf("User response: %s", json);
	}
	content = json_array_new();
	json_array_add_object_element(content, ark_mcp_text_content(text));
	ark_mcp_call_tool_content(call, content, FALSE);
}

static void
ark_mcp_fixture_sampling(ArkMcpCall *call, JsonObject *args)
{
	const gchar *prompt = ark_mcp_get_string(args, "prompt");
	JsonObject *params = json_object_new();
	JsonArray *messages = json_array_new();
	JsonObject *message = json_object_new();

	json_object_set_string_member(message, "role", "user");
	json_object_set_object_member(message, "content",
				      ark_mcp_text_content(prompt != NULL ? prompt : ""));
	json_array_add_object_element(messages, message);
	json_object_set_array_member(params, "messages", messages);
	json_object_set_int_member(params, "maxTokens", 100);
	ark_mcp_call_request(call, "sampling/createMessage", params, ark_mcp_fixture_answer_cb,
			     GINT_TO_POINTER(1));
}

static void
ark_mcp_fixture_elicit(ArkMcpCall *call, const gchar *message, const gchar *schema)
{
	JsonObject *params = json_object_new();
	g_autoptr(JsonNode) node = ark_mcp_parse_json(schema);

	g_assert(node != NULL);
	json_object_set_string_member(params, "message", message);
	json_object_set_member(params, "requestedSchema", json_node_copy(node));
	ark_mcp_call_request(call, "elicitation/create", params, ark_mcp_fixture_answer_cb,
			     GINT_TO_POINTER(2));
}

static void
ark_mcp_fixture_elicitation(ArkMcpCall *call, JsonObject *args)
{
	const gchar *message = ark_mcp_get_string(args, "message");

	ark_mcp_fixture_elicit(call, message != NULL ? message : "Please provide your information",
			       "{\"type\":\"object\",\"properties\":{\"username\":{\"type\":"
			       "\"string\",\"description\":\"User's response\"},\"email\":{"
			       "\"type\":\"string\",\"description\":\"User's email address\"}},"
			       "\"required\":[\"username\",\"email\"]}");
}

static void
ark_mcp_fixture_defaults(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_fixture_elicit(
	    call, "Please review and update the form fields with defaults",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
	    "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
	    "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
	    "\"status\":{\"type\":\"string\",\"description\":\"User status\",\"enum\":[\"active\","
	    "\"inactive\",\"pending\"],\"default\":\"active\"},"
	    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\","
	    "\"default\":true}},\"required\":[]}");
}

static void
ark_mcp_fixture_enums(ArkMcpCall *call, JsonObject *args)
{
	ark_mcp_fixture_elicit(
	    call, "Please select options from the enum fields",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Select one option\","
	    "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
	    "\"titledSingle\":{\"type\":\"string\",\"description\":\"Select one option with "
	    "titles\",\"oneOf\":[{\"const\":\"value1\",\"title\":\"First Option\"},{\"const\":"
	    "\"value2\",\"title\":\"Second Option\"},{\"const\":\"value3\",\"title\":\"Third "
	    "Option\"}]},"
	    "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Select one option (legacy)\","
	    "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],\"enumNames\":[\"Option One\",\"Option Two\","
	    "\"Option Three\"]},"
	    "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options\","
	    "\"minItems\":1,\"maxItems\":3,\"items\":{\"type\":\"string\",\"enum\":[\"option1\","
	    "\"option2\",\"option3\"]}},"
	    "\"titledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options with "
	    "titles\",\"minItems\":1,\"maxItems\":3,\"items\":{\"anyOf\":[{\"const\":\"value1\","
	    "\"title\":\"First Choice\"},{\"const\":\"value2\",\"title\":\"Second Choice\"},{"
	    "\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},\"required\":[]}");
}

#define ARK_MCP_NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

static const ArkMcpTool ark_mcp_fixture_tools[] = {
    {"test_simple_text", NULL, "Tests simple text content response", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_text},
    {"test_image_content", NULL, "Tests image content response", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_image_tool},
    {"test_audio_content", NULL, "Tests audio content response", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_audio},
    {"test_embedded_resource", NULL, "Tests embedded resource content response",
     ARK_MCP_NO_ARGS, NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_embedded_tool},
    {"test_multiple_content_types", NULL, "Tests response with multiple content types",
     ARK_MCP_NO_ARGS, NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_mixed},
    {"test_tool_with_logging", NULL, "Tests tool that emits log messages during execution",
     ARK_MCP_NO_ARGS, NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_logging},
    {"test_tool_with_progress", NULL, "Tests tool that reports progress notifications",
     ARK_MCP_NO_ARGS, NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_progress},
    {"test_error_handling", NULL, "Tests error response handling", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_error},
    {"test_sampling", NULL, "Tests server-initiated sampling (LLM completion request)",
     "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\",\"description\":"
     "\"The prompt to send to the LLM\"}},\"required\":[\"prompt\"]}",
     NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_sampling},
    {"test_elicitation", NULL, "Tests server-initiated elicitation (user input request)",
     "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\",\"description\":"
     "\"The message to show the user\"}},\"required\":[\"message\"]}",
     NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_elicitation},
    {"test_elicitation_sep1034_defaults", NULL,
     "Tests elicitation with default values per SEP-1034", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_defaults},
    {"test_elicitation_sep1330_enums", NULL,
     "Tests elicitation with enum schema improvements per SEP-1330", ARK_MCP_NO_ARGS, NULL,
     ARK_MCP_READ_ONLY, ark_mcp_fixture_enums},
    {"json_schema_2020_12_tool", NULL,
     "Tool with JSON Schema 2020-12 features for conformance testing",
     "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
     "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":"
     "\"string\"},\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"
     "\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"}},\"additionalProperties\":false}",
     NULL, ARK_MCP_READ_ONLY, ark_mcp_fixture_schema},
};

const ArkMcpTool *
ark_mcp_fixtures_tools_get(guint *out_n)
{
	*out_n = G_N_ELEMENTS(ark_mcp_fixture_tools);
	return ark_mcp_fixture_tools;
}

/* resources ------------------------------------------------------------------------------------- */

void
ark_mcp_fixtures_resources(JsonArray *resources, JsonArray *templates)
{
	static const gchar *const uris[] = {"test://static-text", "test://static-binary",
					    "test://watched-resource"};
	static const gchar *const names[] = {"Static Text Resource", "Static Binary Resource",
					     "Watched Resource"};
	static const gchar *const mimes[] = {"text/plain", "image/png", "text/plain"};

	for (guint i = 0; resources != NULL && i < G_N_ELEMENTS(uris); i++) {
		JsonObject *object = json_object_new();
		json_object_set_string_member(object, "uri", uris[i]);
		json_object_set_string_member(object, "name", names[i]);
		json_object_set_string_member(object, "description", names[i]);
		json_object_set_string_member(object, "mimeType", mimes[i]);
		json_array_add_object_element(resources, object);
	}
	if (templates != NULL) {
		JsonObject *object = json_object_new();
		json_object_set_string_member(object, "uriTemplate", "test://template/{id}/data");
		json_object_set_string_member(object, "name", "Resource Template");
		json_object_set_string_member(object, "description",
					      "A resource template with parameter substitution");
		json_object_set_string_member(object, "mimeType", "application/json");
		json_array_add_object_element(templates, object);
	}
}

JsonArray *
ark_mcp_fixtures_read(const gchar *uri)
{
	JsonArray *contents;
	JsonObject *object;

	if (!g_str_has_prefix(uri, "test://"))
		return NULL;
	object = json_object_new();
	json_object_set_string_member(object, "uri", uri);
	if (g_strcmp0(uri, "test://static-text") == 0 ||
	    g_strcmp0(uri, "test://watched-resource") == 0) {
		json_object_set_string_member(object, "mimeType", "text/plain");
		json_object_set_string_member(object, "text",
					      "This is the content of the static text resource.");
	} else if (g_strcmp0(uri, "test://static-binary") == 0) {
		json_object_set_string_member(object, "mimeType", "image/png");
		json_object_set_string_member(object, "blob", ARK_MCP_PNG);
	} else if (g_str_has_prefix(uri, "test://template/") && g_str_has_suffix(uri, "/data") &&
		   strlen(uri) > strlen("test://template//data")) {
		g_autofree gchar *id = g_strndup(uri + strlen("test://template/"),
						 strlen(uri) - strlen("test://template//data"));
		g_autofree gchar *text = g_strdup_printf(
		    "{\"id\":\"%s\",\"templateTest\":true,\"data\":\"Data for ID: %s\"}", id, id);
		if (strchr(id, '"') != NULL || strchr(id, '\\') != NULL || strchr(id, '/') != NULL) {
			json_object_unref(object);
			return NULL;
		}
		json_object_set_string_member(object, "mimeType", "application/json");
		json_object_set_string_member(object, "text", text);
	} else {
		json_object_unref(object);
		return NULL;
	}
	contents = json_array_new();
	json_array_add_object_element(contents, object);
	return contents;
}

/* prompts --------------------------------------------------------------------------------------- */

static JsonObject *
ark_mcp_fixture_prompt(const gchar *name, const gchar *description, const gchar *arg1,
		       const gchar *arg2)
{
	JsonObject *object = json_object_new();
	JsonArray *args = json_array_new();
	const gchar *names[] = {arg1, arg2};

	json_object_set_string_member(object, "name", name);
	json_object_set_string_member(object, "description", description);
	for (guint i = 0; i < 2; i++) {
		JsonObject *arg;
		if (names[i] == NULL)
			continue;
		arg = json_object_new();
		json_object_set_string_member(arg, "name", names[i]);
		json_object_set_string_member(arg, "description", names[i]);
		json_object_set_boolean_member(arg, "required", TRUE);
		json_array_add_object_element(args, arg);
	}
	json_object_set_array_member(object, "arguments", args);
	return object;
}

void
ark_mcp_fixtures_prompts(JsonArray *prompts)
{
	json_array_add_object_element(
	    prompts, ark_mcp_fixture_prompt("test_simple_prompt", "A simple prompt without "
								  "arguments",
					    NULL, NULL));
	json_array_add_object_element(
	    prompts, ark_mcp_fixture_prompt("test_prompt_with_arguments",
					    "A prompt with required arguments", "arg1", "arg2"));
	json_array_add_object_element(
	    prompts, ark_mcp_fixture_prompt("test_prompt_with_embedded_resource",
					    "A prompt that includes an embedded resource",
					    "resourceUri", NULL));
	json_array_add_object_element(
	    prompts, ark_mcp_fixture_prompt("test_prompt_with_image",
					    "A prompt that includes image content", NULL, NULL));
}

static JsonObject *
ark_mcp_fixture_messages(JsonObject *first, JsonObject *second)
{
	JsonObject *result = json_object_new();
	JsonArray *messages = json_array_new();
	JsonObject *blocks[] = {first, second};

	for (guint i = 0; i < 2; i++) {
		JsonObject *message;
		if (blocks[i] == NULL)
			continue;
		message = json_object_new();
		json_object_set_string_member(message, "role", "user");
		json_object_set_object_member(message, "content", blocks[i]);
		json_array_add_object_element(messages, message);
	}
	json_object_set_array_member(result, "messages", messages);
	return result;
}

JsonObject *
ark_mcp_fixtures_prompt_get(const gchar *name, JsonObject *arguments, gchar **out_message,
			    gboolean *out_found)
{
	*out_found = TRUE;
	if (g_strcmp0(name, "test_simple_prompt") == 0)
		return ark_mcp_fixture_messages(ark_mcp_text_content("This is a simple prompt for "
								     "testing."),
						NULL);
	if (g_strcmp0(name, "test_prompt_with_arguments") == 0) {
		const gchar *arg1 = ark_mcp_get_string(arguments, "arg1");
		const gchar *arg2 = ark_mcp_get_string(arguments, "arg2");
		g_autofree gchar *text = NULL;
		if (arg1 == NULL || arg2 == NULL) {
			*out_message = g_strdup("arguments arg1 and arg2 are required");
			return NULL;
		}
		text = g_strdup_printf("Prompt with arguments: arg1='%s', arg2='%s'", arg1, arg2);
		return ark_mcp_fixture_messages(ark_mcp_text_content(text), NULL);
	}
	if (g_strcmp0(name, "test_prompt_with_embedded_resource") == 0) {
		const gchar *uri = ark_mcp_get_string(arguments, "resourceUri");
		if (uri == NULL) {
			*out_message = g_strdup("argument resourceUri is required");
			return NULL;
		}
		return ark_mcp_fixture_messages(ark_mcp_fixture_embedded(uri),
						ark_mcp_text_content("Please process the embedded "
								     "resource above."));
	}
	if (g_strcmp0(name, "test_prompt_with_image") == 0)
		return ark_mcp_fixture_messages(ark_mcp_fixture_image(),
						ark_mcp_text_content("Please analyze the image "
								     "above."));
	*out_found = FALSE;
	return NULL;
}
