/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "ark-frontend-http-routes.h"

/*
 * The routes the HTTP frontend answers (its route table) and the routes data/openapi.json
 * documents are the same set of (method, path) pairs. The live probe in ark-http-test checks
 * that the running server answers every documented route.
 */

static JsonObject *
load_paths(JsonParser *parser)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path =
	    g_build_filename(g_getenv("ARK_SOURCE_ROOT"), "data", "openapi.json", NULL);
	JsonObject *root;

	g_assert_true(json_parser_load_from_file(parser, path, &error));
	g_assert_no_error(error);
	root = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(root, "openapi"), ==, "3.1.0");
	return json_object_get_object_member(root, "paths");
}

static void
test_routes_documented(void)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *paths = load_paths(parser);
	const ArkFrontendHttpRoute *routes;
	guint n_routes = 0;

	routes = ark_frontend_http_routes_get(&n_routes);
	for (guint i = 0; i < n_routes; i++) {
		g_autofree gchar *method = g_ascii_strdown(routes[i].method, -1);
		JsonObject *item;
		if (!json_object_has_member(paths, routes[i].pattern))
			g_error("%s %s is served but not in openapi.json", routes[i].method,
				routes[i].pattern);
		item = json_object_get_object_member(paths, routes[i].pattern);
		if (!json_object_has_member(item, method))
			g_error("%s %s is served but not in openapi.json", routes[i].method,
				routes[i].pattern);
		/* the document says who may call it */
		if (routes[i].scope == ARK_FRONTEND_HTTP_SCOPE_ADMIN) {
			JsonObject *op = json_object_get_object_member(item, method);
			g_assert_true(json_object_has_member(op, "x-arkitect-scope"));
			g_assert_cmpstr(json_object_get_string_member(op, "x-arkitect-scope"), ==,
					"admin");
		}
	}
}

static void
test_documented_routes_served(void)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *paths = load_paths(parser);
	g_autoptr(GList) names = json_object_get_members(paths);
	const ArkFrontendHttpRoute *routes;
	guint n_routes = 0;
	guint n_documented = 0;

	routes = ark_frontend_http_routes_get(&n_routes);
	for (GList *l = names; l != NULL; l = l->next) {
		JsonObject *item = json_object_get_object_member(paths, l->data);
		g_autoptr(GList) methods = json_object_get_members(item);
		for (GList *m = methods; m != NULL; m = m->next) {
			g_autofree gchar *method = g_ascii_strup(m->data, -1);
			gboolean found = FALSE;
			if (g_str_equal(m->data, "parameters") || g_str_equal(m->data, "summary") ||
			    g_str_equal(m->data, "description"))
				continue;
			for (guint i = 0; i < n_routes && !found; i++)
				found = g_str_equal(routes[i].pattern, l->data) &&
					g_str_equal(routes[i].method, method);
			if (!found)
				g_error("%s %s is in openapi.json but not served", method,
					(const gchar *)l->data);
			n_documented++;
		}
	}
	g_assert_cmpuint(n_documented, ==, n_routes);
}

static void
test_match(void)
{
	const ArkFrontendHttpRoute *route = NULL;
	gchar *params[ARK_FRONTEND_HTTP_MAX_PARAMS];
	g_autofree gchar *detail = NULL;

	g_assert_cmpint(ark_frontend_http_routes_match("GET", "/api/v1/runs/R1/tasks/a%2Fb/attempts/"
								 "3/log",
						       &route, params, NULL),
			==, ARK_FRONTEND_HTTP_MATCH_OK);
	g_assert_cmpint(route->id, ==, ARK_FRONTEND_HTTP_ROUTE_ATTEMPT_LOG);
	g_assert_cmpstr(params[0], ==, "R1");
	g_assert_cmpstr(params[1], ==, "a/b");
	g_assert_cmpstr(params[2], ==, "3");
	for (guint i = 0; i < ARK_FRONTEND_HTTP_MAX_PARAMS; i++)
		g_free(params[i]);

	g_assert_cmpint(
	    ark_frontend_http_routes_match("PUT", "/api/v1/runs", &route, params, &detail), ==,
	    ARK_FRONTEND_HTTP_MATCH_METHOD_NOT_ALLOWED);
	g_assert_cmpstr(detail, ==, "POST, GET");
	g_clear_pointer(&detail, g_free);
	g_assert_cmpint(ark_frontend_http_routes_match("GET", "/api/v1/runs/%2e%2E", &route, params,
						       &detail),
			==, ARK_FRONTEND_HTTP_MATCH_BAD_PATH);
	g_clear_pointer(&detail, g_free);
	g_assert_cmpint(
	    ark_frontend_http_routes_match("GET", "/api/v1/runs/a%00", &route, params, &detail), ==,
	    ARK_FRONTEND_HTTP_MATCH_BAD_PATH);
	g_clear_pointer(&detail, g_free);
	g_assert_cmpint(ark_frontend_http_routes_match("GET", "/api/v1/runs//tasks", &route, params,
						       NULL),
			==, ARK_FRONTEND_HTTP_MATCH_NOT_FOUND);
	g_assert_cmpint(
	    ark_frontend_http_routes_match("GET", "/api/v1/runs/", &route, params, NULL), ==,
	    ARK_FRONTEND_HTTP_MATCH_NOT_FOUND);
	g_assert_cmpint(ark_frontend_http_routes_match("GET", "", &route, params, &detail), ==,
			ARK_FRONTEND_HTTP_MATCH_BAD_PATH);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/http/routes/documented", test_routes_documented);
	g_test_add_func("/http/routes/documented-are-served", test_documented_routes_served);
	g_test_add_func("/http/routes/match", test_match);
	return g_test_run();
}
