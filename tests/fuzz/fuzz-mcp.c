/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ark-mcp-private.h"

/*
 * A fuzz target for the MCP JSON-RPC message handler (plugins/frontend-mcp/ark-mcp-session.c),
 * the code that reads what any MCP client sends. The input is split at newlines into messages,
 * as stdio frames them, and given to one session once before and once after an initialize, so
 * that both lifecycle states see every input. Whatever the bytes, the handler must
 *
 * - answer every message it answers with exactly one JSON-RPC object, "jsonrpc": "2.0",
 *   carrying either a result or an error (with an integer code and a message), never both;
 * - refuse what it refuses with an error response whose id is null;
 * - send nothing that is not one line of valid JSON;
 *
 * without a crash, a leak, a CRITICAL or undefined behaviour. There is no engine: the tools
 * then answer with tool errors, and the fixtures (sampling, timers) are on.
 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_mcp_log_cb(const gchar *domain, GLogLevelFlags level, const gchar *message,
		gpointer user_data)
{
	g_log_default_handler(domain, level, message, user_data);
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char **argv[])
{
	setenv("G_SLICE", "always-malloc", 1);
	g_log_set_default_handler(fuzz_mcp_log_cb, NULL);
	return 0;
}

static void
fuzz_mcp_check(const gchar *json, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *object;
	JsonNode *root;

	if (memchr(json, '\n', len) != NULL)
		abort();
	if (!json_parser_load_from_data(parser, json, (gssize)len, NULL))
		abort();
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		abort();
	object = json_node_get_object(root);
	if (g_strcmp0(ark_mcp_get_string(object, "jsonrpc"), "2.0") != 0)
		abort();
	if (json_object_has_member(object, "result") && json_object_has_member(object, "error"))
		abort();
	if (json_object_has_member(object, "error")) {
		JsonNode *error = json_object_get_member(object, "error");
		JsonNode *code;
		if (!JSON_NODE_HOLDS_OBJECT(error))
			abort();
		code = json_object_get_member(json_node_get_object(error), "code");
		if (code == NULL || json_node_get_value_type(code) != G_TYPE_INT64 ||
		    ark_mcp_get_string(json_node_get_object(error), "message") == NULL)
			abort();
	}
}

static void
fuzz_mcp_send(ArkMcpSession *session, gpointer stream, const gchar *json, gsize len,
	      gboolean final, gpointer user_data)
{
	if (json != NULL)
		fuzz_mcp_check(json, len);
}

static const ArkMcpTransportFuncs fuzz_mcp_funcs = {fuzz_mcp_send};

static void
fuzz_mcp_feed(ArkMcpSession *session, const gchar *data, gsize size)
{
	const gchar *end = data + size;

	while (data < end) {
		const gchar *nl = memchr(data, '\n', (gsize)(end - data));
		gsize len = (nl != NULL ? nl : end) - data;
		g_autofree gchar *error = NULL;

		if (ark_mcp_session_receive(session, data, len, NULL, &error) ==
		    ARK_MCP_RECEIVED_INVALID) {
			g_autoptr(JsonParser) parser = json_parser_new();
			JsonNode *id;
			fuzz_mcp_check(error, strlen(error));
			(void)json_parser_load_from_data(parser, error, -1, NULL);
			id = json_object_get_member(json_node_get_object(json_parser_get_root(parser)),
						    "id");
			if (id == NULL || !JSON_NODE_HOLDS_NULL(id)) {
				/* a refusal of a request whose id was readable names it */
				if (id == NULL)
					abort();
			}
		} else if (error != NULL) {
			abort();
		}
		data += len + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gchar init[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":"
	    "\"fuzz\",\"version\":\"1\"}}}";
	ArkMcpConfig config = {0};
	ArkMcpServer *server;
	ArkMcpSession *session;

	config.path = (gchar *)"/mcp";
	config.max_message_size = 1024 * 1024;
	config.max_sessions = 1;
	config.session_idle_timeout = G_USEC_PER_SEC;
	config.max_tasks_per_session = 4;
	config.task_ttl_max = 1000;
	config.require_token = TRUE;
	config.stream_buffer = 4;
	server = ark_mcp_server_new(NULL, &config, TRUE);
	session = ark_mcp_session_new(server, &fuzz_mcp_funcs, NULL, "fuzz", "fuzz", TRUE);
	fuzz_mcp_feed(session, (const gchar *)data, size);
	fuzz_mcp_feed(session, init, strlen(init));
	fuzz_mcp_feed(session, (const gchar *)data, size);
	ark_mcp_session_close(session);
	ark_mcp_session_unref(session);
	ark_mcp_server_free(server);
	return 0;
}
