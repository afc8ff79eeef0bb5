/* SPDX-License-Identifier: MIT */
/*
 * A third-party executor plugin, built outside the Arkitect tree against the installed SDK:
 *
 *   cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -o ark-hello.so ark-hello.c \
 *      $(pkg-config --cflags --libs arkitect-1)
 *
 * It provides the executor "hello", which writes a greeting to the attempt's log and succeeds.
 */
#include <arkitect/arkitect.h>
#include <glib/gstdio.h>

#define HELLO_TYPE_EXECUTOR (hello_executor_get_type())
G_DECLARE_FINAL_TYPE(HelloExecutor, hello_executor, HELLO, EXECUTOR, GObject)

struct _HelloExecutor {
	GObject parent_instance;
};

static void
hello_executor_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	const gchar *dir = ark_attempt_get_log_dir(attempt);
	ArkAttemptResult result = {.status = ARK_ATTEMPT_STATUS_SUCCEEDED, .exit_code = 0};

	if (dir != NULL && g_mkdir_with_parents(dir, 0700) == 0) {
		g_autofree gchar *path = g_build_filename(dir, "hello.log", NULL);
		g_autofree gchar *text = g_strdup_printf("hello from task %s\n", spec->id);
		if (g_file_set_contents(path, text, -1, NULL))
			ark_attempt_set_log_path(attempt, path);
	}
	ark_attempt_finish(attempt, &result);
}

static void
hello_executor_iface_init(ArkExecutorInterface *iface)
{
	iface->start = hello_executor_start;
}

G_DEFINE_FINAL_TYPE_WITH_CODE(HelloExecutor, hello_executor, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR, hello_executor_iface_init))

static void
hello_executor_class_init(HelloExecutorClass *klass)
{
}

static void
hello_executor_init(HelloExecutor *self)
{
}

#define HELLO_TYPE_PLUGIN (hello_plugin_get_type())
G_DECLARE_FINAL_TYPE(HelloPlugin, hello_plugin, HELLO, PLUGIN, ArkPlugin)

struct _HelloPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(HelloPlugin, hello_plugin, ARK_TYPE_PLUGIN)

static gboolean
hello_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin),
				     ARK_CAPABILITY_EXECUTOR, "hello", HELLO_TYPE_EXECUTOR, error);
}

static void
hello_plugin_class_init(HelloPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = hello_plugin_startup;
}

static void
hello_plugin_init(HelloPlugin *self)
{
}

ARK_PLUGIN_DEFINE("hello", hello_plugin_get_type, "1.0.0", "MIT",
		  "example out-of-tree executor that greets")
