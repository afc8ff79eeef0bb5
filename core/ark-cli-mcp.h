/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ark-cli-client.h"

G_BEGIN_DECLS

/* arkitect mcp: an MCP server on stdin/stdout; @client carries --state-dir, --url and
 * --token-file (docs/mcp.md) */
gint ark_cli_mcp_main(ArkCliClientOptions *client, gint argc, gchar **argv);

G_END_DECLS
