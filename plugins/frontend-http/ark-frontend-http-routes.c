/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-http-routes.h"

/*
 * The one table of what the server answers. data/openapi.json documents exactly these routes;
 * tests/ark-http-routes-test.c compares the two, so a route added here without its
 * documentation (or the other way round) fails the build's tests.
 */
static const ArkFrontendHttpRoute ark_frontend_http_routes[] = {
    {ARK_FRONTEND_HTTP_ROUTE_RUN_SUBMIT, "POST", "/api/v1/runs", ARK_FRONTEND_HTTP_SCOPE_ADMIN,
     "run.submit", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_RUN_LIST, "GET", "/api/v1/runs", ARK_FRONTEND_HTTP_SCOPE_READ, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_RUN_GET, "GET", "/api/v1/runs/{run}", ARK_FRONTEND_HTTP_SCOPE_READ,
     NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_LIST, "GET", "/api/v1/runs/{run}/tasks",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_GET, "GET", "/api/v1/runs/{run}/tasks/{task}",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_ATTEMPT_LOG, "GET",
     "/api/v1/runs/{run}/tasks/{task}/attempts/{n}/log", ARK_FRONTEND_HTTP_SCOPE_READ, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_RUN_CANCEL, "POST", "/api/v1/runs/{run}/cancel",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, "run.cancel", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_CANCEL, "POST", "/api/v1/runs/{run}/tasks/{task}/cancel",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, "task.cancel", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_RETRY, "POST", "/api/v1/runs/{run}/tasks/{task}/retry",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, "task.retry", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_DLQ_LIST, "GET", "/api/v1/dlq", ARK_FRONTEND_HTTP_SCOPE_READ, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_DLQ_GET, "GET", "/api/v1/dlq/{run}/{task}",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_DLQ_REPLAY, "POST", "/api/v1/dlq/{run}/{task}/replay",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, "dlq.replay", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_PLUGINS, "GET", "/api/v1/plugins", ARK_FRONTEND_HTTP_SCOPE_READ,
     NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_STATUS, "GET", "/api/v1/status", ARK_FRONTEND_HTTP_SCOPE_READ, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_EVENTS, "GET", "/api/v1/events", ARK_FRONTEND_HTTP_SCOPE_READ, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_OPENAPI, "GET", "/api/v1/openapi.json", ARK_FRONTEND_HTTP_SCOPE_READ,
     NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_HEALTHZ, "GET", "/healthz", ARK_FRONTEND_HTTP_SCOPE_HEALTH, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_READYZ, "GET", "/readyz", ARK_FRONTEND_HTTP_SCOPE_HEALTH, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_METRICS, "GET", "/metrics", ARK_FRONTEND_HTTP_SCOPE_METRICS, NULL,
     FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_ADD, "POST", "/api/v1/runs/{run}/tasks",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, "task.add", TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_TASK_EXPLAIN, "GET", "/api/v1/runs/{run}/tasks/{task}/explain",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_REGISTER, "POST", "/api/v1/agents",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, NULL, TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_LIST, "GET", "/api/v1/agents", ARK_FRONTEND_HTTP_SCOPE_READ,
     NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_GET, "GET", "/api/v1/agents/{agent}",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_REMOVE, "DELETE", "/api/v1/agents/{agent}",
     ARK_FRONTEND_HTTP_SCOPE_ADMIN, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_HEARTBEAT, "POST", "/api/v1/agents/{agent}/heartbeat",
     ARK_FRONTEND_HTTP_SCOPE_AGENT, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_CLAIM, "POST", "/api/v1/agents/{agent}/claim",
     ARK_FRONTEND_HTTP_SCOPE_AGENT, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_AGENT_ASSIGNMENTS, "GET", "/api/v1/agents/{agent}/assignments",
     ARK_FRONTEND_HTTP_SCOPE_AGENT, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_LIST, "GET", "/api/v1/assignments",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_GET, "GET", "/api/v1/assignments/{assignment}",
     ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_EXPLAIN, "GET",
     "/api/v1/assignments/{assignment}/explain", ARK_FRONTEND_HTTP_SCOPE_READ, NULL, FALSE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_HEARTBEAT, "POST",
     "/api/v1/assignments/{assignment}/heartbeat", ARK_FRONTEND_HTTP_SCOPE_AGENT, NULL, TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_COMPLETE, "POST",
     "/api/v1/assignments/{assignment}/complete", ARK_FRONTEND_HTTP_SCOPE_AGENT,
     NULL, TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_FAIL, "POST", "/api/v1/assignments/{assignment}/fail",
     ARK_FRONTEND_HTTP_SCOPE_AGENT, NULL, TRUE},
    {ARK_FRONTEND_HTTP_ROUTE_ASSIGNMENT_RELEASE, "POST",
     "/api/v1/assignments/{assignment}/release", ARK_FRONTEND_HTTP_SCOPE_AGENT,
     NULL, TRUE},
};

G_STATIC_ASSERT(G_N_ELEMENTS(ark_frontend_http_routes) == ARK_FRONTEND_HTTP_ROUTE_LAST);

const ArkFrontendHttpRoute *
ark_frontend_http_routes_get(guint *out_n_routes)
{
	if (out_n_routes != NULL)
		*out_n_routes = G_N_ELEMENTS(ark_frontend_http_routes);
	return ark_frontend_http_routes;
}

/* the request path as decoded segments, or NULL with @out_detail set */
static GPtrArray *
ark_frontend_http_routes_split(const gchar *raw_path, gchar **out_detail)
{
	g_autoptr(GPtrArray) segments = g_ptr_array_new_with_free_func(g_free);
	const gchar *p;

	if (raw_path == NULL || raw_path[0] != '/') {
		*out_detail = g_strdup("the path must start with '/'");
		return NULL;
	}
	if (strlen(raw_path) > ARK_FRONTEND_HTTP_MAX_PATH) {
		*out_detail = g_strdup_printf("the path is longer than %d bytes",
					      ARK_FRONTEND_HTTP_MAX_PATH);
		return NULL;
	}
	p = raw_path + 1;
	for (;;) {
		const gchar *end = strchr(p, '/');
		gchar *segment;

		if (end == NULL)
			end = p + strlen(p);
		if (memchr(p, '%', (gsize)(end - p)) != NULL) {
			/* NULL for a bad escape and for an escaped NUL byte */
			segment = g_uri_unescape_segment(p, end, NULL);
			if (segment == NULL) {
				*out_detail = g_strdup("the path has an invalid percent-encoding "
						       "or an encoded NUL byte");
				return NULL;
			}
		} else {
			segment = g_strndup(p, (gsize)(end - p));
		}
		if (g_strcmp0(segment, ".") == 0 || g_strcmp0(segment, "..") == 0) {
			g_free(segment);
			*out_detail = g_strdup("the path has a '.' or '..' segment");
			return NULL;
		}
		g_ptr_array_add(segments, segment);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return g_steal_pointer(&segments);
}

/* whether @pattern matches @segments; fills @params (borrowed from @segments) */
static gboolean
ark_frontend_http_routes_match_pattern(const gchar *pattern, GPtrArray *segments,
				       const gchar **params)
{
	const gchar *p = pattern + 1;
	guint i = 0;
	guint n_params = 0;

	for (;;) {
		const gchar *end = strchr(p, '/');
		gsize len;
		const gchar *segment;

		if (end == NULL)
			end = p + strlen(p);
		len = (gsize)(end - p);
		if (i >= segments->len)
			return FALSE;
		segment = g_ptr_array_index(segments, i);
		if (len > 2 && p[0] == '{' && p[len - 1] == '}') {
			if (segment[0] == '\0')
				return FALSE;
			if (n_params < ARK_FRONTEND_HTTP_MAX_PARAMS)
				params[n_params++] = segment;
		} else if (strlen(segment) != len || memcmp(segment, p, len) != 0) {
			return FALSE;
		}
		i++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return i == segments->len;
}

ArkFrontendHttpMatch
ark_frontend_http_routes_match(const gchar *method, const gchar *raw_path,
			       const ArkFrontendHttpRoute **out_route, gchar **out_params,
			       gchar **out_detail)
{
	g_autoptr(GPtrArray) segments = NULL;
	g_autoptr(GString) allow = NULL;
	g_autofree gchar *detail = NULL;

	for (guint i = 0; i < ARK_FRONTEND_HTTP_MAX_PARAMS; i++)
		out_params[i] = NULL;
	*out_route = NULL;
	if (out_detail != NULL)
		*out_detail = NULL;

	segments = ark_frontend_http_routes_split(raw_path, &detail);
	if (segments == NULL) {
		if (out_detail != NULL)
			*out_detail = g_steal_pointer(&detail);
		return ARK_FRONTEND_HTTP_MATCH_BAD_PATH;
	}
	for (guint r = 0; r < G_N_ELEMENTS(ark_frontend_http_routes); r++) {
		const ArkFrontendHttpRoute *route = &ark_frontend_http_routes[r];
		const gchar *params[ARK_FRONTEND_HTTP_MAX_PARAMS] = {NULL};

		if (!ark_frontend_http_routes_match_pattern(route->pattern, segments, params))
			continue;
		if (g_strcmp0(route->method, method) == 0) {
			for (guint i = 0; i < ARK_FRONTEND_HTTP_MAX_PARAMS; i++)
				out_params[i] = g_strdup(params[i]);
			*out_route = route;
			return ARK_FRONTEND_HTTP_MATCH_OK;
		}
		if (allow == NULL)
			allow = g_string_new(NULL);
		else
			g_string_append(allow, ", ");
		g_string_append(allow, route->method);
	}
	if (allow != NULL) {
		if (out_detail != NULL)
			*out_detail = g_string_free(g_steal_pointer(&allow), FALSE);
		return ARK_FRONTEND_HTTP_MATCH_METHOD_NOT_ALLOWED;
	}
	return ARK_FRONTEND_HTTP_MATCH_NOT_FOUND;
}
