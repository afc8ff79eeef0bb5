/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "ark-test-utils.h"

#ifdef ARK_TEST_WITH_CORE
#include <arkitect/arkitect-core.h>
#define ARK_TEST_HAVE_LOADER 1
#endif

static gboolean
ark_test_timeout_cb(gpointer user_data)
{
	gboolean *timed_out = user_data;
	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

void
ark_test_loop_run_until(ArkTestCondition cond, gpointer user_data, guint timeout_ms)
{
	gboolean timed_out = FALSE;
	guint id = g_timeout_add(timeout_ms, ark_test_timeout_cb, &timed_out);
	while (!cond(user_data) && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (timed_out)
		g_error("condition not reached within %u ms", timeout_ms);
	g_source_remove(id);
}

gchar *
ark_test_mkdtemp(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("ark-test-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

void
ark_test_rmdir(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (path == NULL)
		return;
	dir = g_dir_open(path, 0, NULL);
	if (dir != NULL) {
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				ark_test_rmdir(child);
			else
				(void)g_unlink(child);
		}
	}
	(void)g_rmdir(path);
}

ArkRegistry *
ark_test_load_plugins(void)
{
#ifdef ARK_TEST_HAVE_LOADER
	static ArkPluginLoader *loader = NULL;
	g_autoptr(GError) error = NULL;

	if (loader == NULL) {
		g_autoptr(ArkRegistry) registry = ark_registry_new();
		loader = ark_plugin_loader_new(registry);
		if (!ark_plugin_loader_load(loader, NULL, &error))
			g_error("loading plugins: %s", error->message);
	}
	return g_object_ref(ark_plugin_loader_get_registry(loader));
#else
	g_error("this test program is not linked with core");
	return NULL;
#endif
}

gchar *
ark_test_read_file(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;
	g_file_get_contents(path, &contents, NULL, &error);
	g_assert_no_error(error);
	return contents;
}
