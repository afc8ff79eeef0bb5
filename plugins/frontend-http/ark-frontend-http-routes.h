/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* who may call a route: read tokens GET, admin tokens everything; the health and metrics routes
 * need a token unless open-health / open-metrics say otherwise; the agent routes only an agent's
 * own token (and an agent token nothing else) */
typedef enum {
	ARK_FRONTEND_HTTP_SCOPE_READ,
	ARK_FRONTEND_HTTP_SCOPE_ADMIN,
	ARK_FRONTEND_HTTP_SCOPE_HEALTH,
	ARK_FRONTEND_HTTP_SCOPE_METRICS,
	ARK_FRONTEND_HTTP_SCOPE_AGENT,
} ArkFrontendHttpScope;

typedef enum {
	ARK_FRONTEND_HTTP_ROUTE_RUN_SUBMIT,
	ARK_FRONTEND_HTTP_ROUTE_RUN_LIST,
	ARK_FRONTEND_HTTP_ROUTE_RUN_GET,
	ARK_FRONTEND_HTTP_ROUTE_TASK_LIST,
	ARK_FRONTEND_HTTP_ROUTE_TASK_GET,
	ARK_FRONTEND_HTTP_ROUTE_ATTEMPT_LOG,
	ARK_FRONTEND_HTTP_ROUTE_RUN_CANCEL,
	ARK_FRONTEND_HTTP_ROUTE_TASK_CANCEL,
	ARK_FRONTEND_HTTP_ROUTE_TASK_RETRY,
	ARK_FRONTEND_HTTP_ROUTE_DLQ_LIST,
	ARK_FRONTEND_HTTP_ROUTE_DLQ_GET,
	ARK_FRONTEND_HTTP_ROUTE_DLQ_REPLAY,
	ARK_FRONTEND_HTTP_ROUTE_PLUGINS,
	ARK_FRONTEND_HTTP_ROUTE_STATUS,
	ARK_FRONTEND_HTTP_ROUTE_EVENTS,
	ARK_FRONTEND_HTTP_ROUTE_OPENAPI,
	ARK_FRONTEND_HTTP_ROUTE_HEALTHZ,
	ARK_FRONTEND_HTTP_ROUTE_READYZ,
	ARK_FRONTEND_HTTP_ROUTE_METRICS,
	ARK_FRONTEND_HTTP_ROUTE_TASK_ADD,
	ARK_FRONTEND_HTTP_ROUTE_TASK_EXPLAIN,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_REGISTER,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_LIST,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_GET,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_REMOVE,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_HEARTBEAT,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_CLAIM,
	ARK_FRONTEND_HTTP_ROUTE_AGENT_ASSIGNMENTS,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_LIST,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_GET,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_EXPLAIN,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_HEARTBEAT,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_COMPLETE,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_FAIL,
	ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_RELEASE,
	ARK_FRONTEND_HTTP_ROUTE_LAST
} ArkFrontendHttpRouteId;

/* the path parameters a pattern can hold, in the order they appear */
#define ARK_FRONTEND_HTTP_MAX_PARAMS 3
/* longer request paths are refused before they are split */
#define ARK_FRONTEND_HTTP_MAX_PATH 2048

typedef struct {
	ArkFrontendHttpRouteId id;
	const gchar *method;
	const gchar *pattern; /* literal segments and {run}, {task}, {n}, {agent}, {assignment} */
	ArkFrontendHttpScope scope;
	const gchar *action; /* the audit action of a mutating route, NULL for reads */
	gboolean has_body;   /* takes a JSON request body */
} ArkFrontendHttpRoute;

typedef enum {
	ARK_FRONTEND_HTTP_MATCH_OK,
	ARK_FRONTEND_HTTP_MATCH_NOT_FOUND,
	ARK_FRONTEND_HTTP_MATCH_METHOD_NOT_ALLOWED,
	ARK_FRONTEND_HTTP_MATCH_BAD_PATH,
} ArkFrontendHttpMatch;

/* every route the server answers, in table order */
const ArkFrontendHttpRoute *ark_frontend_http_routes_get(guint *out_n_routes);

/**
 * ark_frontend_http_routes_match:
 * @method: the request method
 * @raw_path: the path as sent, still percent-encoded
 * @out_route: (out): the route on ARK_FRONTEND_HTTP_MATCH_OK
 * @out_params: (out caller-allocates) (array fixed-size=3): the decoded path parameters on
 *   ARK_FRONTEND_HTTP_MATCH_OK, in pattern order (transfer full, unused ones NULL)
 * @out_detail: (out) (optional): what is wrong, for NOT_FOUND, METHOD_NOT_ALLOWED (the Allow
 *   header value) and BAD_PATH (transfer full)
 *
 * Each segment is percent-decoded on its own, so "%2F" never splits a segment; a segment that
 * decodes to a NUL byte, "." or "..", or a path longer than ARK_FRONTEND_HTTP_MAX_PATH is a
 * BAD_PATH.
 */
ArkFrontendHttpMatch ark_frontend_http_routes_match(const gchar *method, const gchar *raw_path,
						    const ArkFrontendHttpRoute **out_route,
						    gchar **out_params, gchar **out_detail);

G_END_DECLS
