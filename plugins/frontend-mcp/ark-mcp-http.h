/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsoup/soup.h>

#include "ark-mcp-private.h"

G_BEGIN_DECLS

/* MCP Streamable HTTP: the sessions of one MCP server on the daemon's HTTP server */
typedef struct _ArkMcpHttp ArkMcpHttp;

ArkMcpHttp *ark_mcp_http_new(ArkMcpServer *server);
/* ends every session and the streams they hold */
void ark_mcp_http_free(ArkMcpHttp *http);
/* one request to the mount (the HTTP frontend checked the token and the body size) */
void ark_mcp_http_handle(ArkMcpHttp *http, SoupServerMessage *msg, const gchar *path,
			 const ArkHttpRequestInfo *info);
/* drops sessions idle for session-idle-timeout with no stream open; @now is monotonic µs */
void ark_mcp_http_sweep(ArkMcpHttp *http, gint64 now);
guint ark_mcp_http_get_n_sessions(ArkMcpHttp *http);

G_END_DECLS
