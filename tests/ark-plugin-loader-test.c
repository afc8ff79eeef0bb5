/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect-core.h>
#include <string.h>

#include "ark-test-utils.h"

static ArkPluginRefusal *
ark_plugin_loader_test_find_refusal(ArkPluginLoader *loader, const gchar *name)
{
	GPtrArray *refused = ark_plugin_loader_get_refused(loader);
	for (guint i = 0; i < refused->len; i++) {
		ArkPluginRefusal *r = g_ptr_array_index(refused, i);
		if (g_strcmp0(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static ArkPlugin *
ark_plugin_loader_test_find_plugin(ArkPluginLoader *loader, const gchar *name)
{
	GPtrArray *plugins = ark_plugin_loader_get_plugins(loader);
	for (guint i = 0; i < plugins->len; i++) {
		ArkPlugin *p = g_ptr_array_index(plugins, i);
		if (g_strcmp0(ark_plugin_get_name(p), name) == 0)
			return p;
	}
	return NULL;
}

static ArkPluginLoader *
ark_plugin_loader_test_load_test_plugins(void)
{
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	ArkPluginLoader *loader = ark_plugin_loader_new(registry);
	g_autoptr(GError) error = NULL;
	const gchar *path[] = {g_getenv("ARK_TEST_PLUGIN_DIR"), g_getenv("ARK_TEST_PLUGIN_DUP_DIR"),
			       NULL};

	g_assert_nonnull(path[0]);
	g_assert_nonnull(path[1]);
	g_assert_true(ark_plugin_loader_load(loader, path, &error));
	g_assert_no_error(error);
	return loader;
}

/* one loader for the whole program: modules stay loaded for good, and the duplicate-name case
 * needs them loaded once */
static ArkPluginLoader *ark_plugin_loader_test_loader = NULL;

static ArkPluginLoader *
ark_plugin_loader_test_get(void)
{
	if (ark_plugin_loader_test_loader == NULL)
		ark_plugin_loader_test_loader = ark_plugin_loader_test_load_test_plugins();
	return ark_plugin_loader_test_loader;
}

static void
ark_plugin_loader_test_good(void)
{
	ArkPluginLoader *loader = ark_plugin_loader_test_get();
	ArkPlugin *plugin = ark_plugin_loader_test_find_plugin(loader, "good");
	const ArkPluginInfo *info;

	g_assert_nonnull(plugin);
	info = ark_plugin_get_info(plugin);
	g_assert_cmpstr(info->version, ==, "1.2.3");
	g_assert_cmpuint(info->abi_major, ==, ARK_PLUGIN_ABI_MAJOR);
	/* the copy in the second directory is the one refused, not the first */
	g_assert_nonnull(ark_plugin_loader_test_find_refusal(loader, "good"));
	g_assert_true(g_str_has_prefix(ark_plugin_loader_test_find_refusal(loader, "good")->path,
				       g_getenv("ARK_TEST_PLUGIN_DUP_DIR")));
}

static void
ark_plugin_loader_test_refused(gconstpointer data)
{
	const gchar *const *expect = data; /* name, error code as string, message substring */
	ArkPluginLoader *loader = ark_plugin_loader_test_get();
	ArkPluginRefusal *r = ark_plugin_loader_test_find_refusal(loader, expect[0]);
	gint code = (gint)g_ascii_strtoll(expect[1], NULL, 10);

	g_assert_nonnull(r);
	g_assert_error(r->error, ARK_PLUGIN_ERROR, code);
	if (strstr(r->error->message, expect[2]) == NULL)
		g_error("refusal of %s says '%s', expected '%s' in it", expect[0],
			r->error->message, expect[2]);
}

static void
ark_plugin_loader_test_failing_startup_unregisters(void)
{
	ArkPluginLoader *loader = ark_plugin_loader_test_get();
	ArkRegistry *registry = ark_plugin_loader_get_registry(loader);
	g_auto(GStrv) policies = ark_registry_list_names(registry, ARK_CAPABILITY_POLICY);

	/* it registered "failing" before failing: that must be gone again */
	g_assert_false(g_strv_contains((const gchar *const *)policies, "failing"));
	g_assert_null(ark_plugin_loader_test_find_plugin(loader, "failing-startup"));
}

static void
ark_plugin_loader_test_sorted_and_counted(void)
{
	ArkPluginLoader *loader = ark_plugin_loader_test_get();
	/* exactly one good plugin; bad-abi, failing-startup, name-mismatch, no-entry, unresolved
	 * and the duplicate "good" are refused */
	g_assert_cmpuint(ark_plugin_loader_get_plugins(loader)->len, ==, 1);
	g_assert_cmpuint(ark_plugin_loader_get_refused(loader)->len, ==, 6);
}

static void
ark_plugin_loader_test_in_tree_plugins(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	const gchar *executors[] = {"process", "thread", NULL};
	const gchar *policies[] = {"fifo", "priority", NULL};
	g_auto(GStrv) ex = ark_registry_list_names(registry, ARK_CAPABILITY_EXECUTOR);
	g_auto(GStrv) po = ark_registry_list_names(registry, ARK_CAPABILITY_POLICY);
	g_auto(GStrv) stores = ark_registry_list_names(registry, ARK_CAPABILITY_STORE);

	for (guint i = 0; executors[i] != NULL; i++)
		g_assert_true(g_strv_contains((const gchar *const *)ex, executors[i]));
	for (guint i = 0; policies[i] != NULL; i++)
		g_assert_true(g_strv_contains((const gchar *const *)po, policies[i]));
	g_assert_true(g_strv_contains((const gchar *const *)stores, "memory"));
	g_assert_cmpstr(ark_registry_get_provider(registry, ARK_CAPABILITY_POLICY, "fifo"), ==,
			"policy-fifo");
}

static void
ark_plugin_loader_test_registry_rules(void)
{
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(GError) error = NULL;
	gpointer obj;

	/* a type that does not implement the interface */
	g_assert_false(ark_registry_add_type(registry, "p", ARK_CAPABILITY_POLICY, "x",
					     ARK_TYPE_REGISTRY, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* names are checked */
	g_assert_false(
	    ark_registry_add_function(registry, "p", "Bad Name", (ArkFunction)g_strcmp0, NULL,
				      &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_true(ark_registry_add_function(registry, "p", "f", (ArkFunction)g_strcmp0, NULL,
						&error));
	g_assert_no_error(error);
	/* the second registration names the first provider */
	g_assert_false(ark_registry_add_function(registry, "q", "f", (ArkFunction)g_strcmp0,
						 NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_EXISTS);
	g_assert_nonnull(strstr(error->message, "plugin p"));
	g_clear_error(&error);
	obj = ark_registry_create(registry, ARK_CAPABILITY_STORE, "nope", &error);
	g_assert_null(obj);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	ark_registry_remove_plugin(registry, "p");
	g_assert_null(ark_registry_lookup_function(registry, "f", NULL));
}

static void
ark_plugin_loader_test_no_directory(void)
{
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(ArkPluginLoader) loader = ark_plugin_loader_new(registry);
	g_autoptr(GError) error = NULL;
	const gchar *path[] = {"/nonexistent/arkitect-plugins", NULL};

	g_assert_false(ark_plugin_loader_load(loader, path, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "/nonexistent/arkitect-plugins"));
}

int
main(int argc, char **argv)
{
	static const gchar *bad_abi[] = {"bad-abi", "2", "built for plugin ABI 99.0"};
	static const gchar *mismatch[] = {"name-mismatch", "3", "names plugin 'good'"};
	static const gchar *no_entry[] = {"no-entry", "1", "no ark_plugin_query symbol"};
	static const gchar *unresolved[] = {"unresolved", "0", "ark_function_that_does_not_exist"};
	static const gchar *failing[] = {"failing-startup", "6", "the test hardware is missing"};
	static const gchar *duplicate[] = {"good", "4", "already found"};

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/plugin-loader/good", ark_plugin_loader_test_good);
	g_test_add_data_func("/ark/plugin-loader/refused/bad-abi", bad_abi,
			     ark_plugin_loader_test_refused);
	g_test_add_data_func("/ark/plugin-loader/refused/name-mismatch", mismatch,
			     ark_plugin_loader_test_refused);
	g_test_add_data_func("/ark/plugin-loader/refused/no-entry", no_entry,
			     ark_plugin_loader_test_refused);
	g_test_add_data_func("/ark/plugin-loader/refused/unresolved-symbol", unresolved,
			     ark_plugin_loader_test_refused);
	g_test_add_data_func("/ark/plugin-loader/refused/failing-startup", failing,
			     ark_plugin_loader_test_refused);
	g_test_add_data_func("/ark/plugin-loader/refused/duplicate", duplicate,
			     ark_plugin_loader_test_refused);
	g_test_add_func("/ark/plugin-loader/failing-startup-unregisters",
			ark_plugin_loader_test_failing_startup_unregisters);
	g_test_add_func("/ark/plugin-loader/counts", ark_plugin_loader_test_sorted_and_counted);
	g_test_add_func("/ark/plugin-loader/in-tree", ark_plugin_loader_test_in_tree_plugins);
	g_test_add_func("/ark/plugin-loader/registry", ark_plugin_loader_test_registry_rules);
	g_test_add_func("/ark/plugin-loader/no-directory", ark_plugin_loader_test_no_directory);
	return g_test_run();
}
