/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arkitect/arkitect-core.h>

struct _ArkPluginLoader {
	GObject parent_instance;
	ArkRegistry *registry;
	GPtrArray *plugins; /* ArkPlugin, started, in load order */
	GPtrArray *refused; /* ArkPluginRefusal */
	GHashTable *names;  /* plugin names seen, accepted or not */
};

G_DEFINE_FINAL_TYPE(ArkPluginLoader, ark_plugin_loader, G_TYPE_OBJECT)

static void
ark_plugin_loader_refusal_free(ArkPluginRefusal *refusal)
{
	g_free(refusal->path);
	g_free(refusal->name);
	g_clear_error(&refusal->error);
	g_free(refusal);
}

static void
ark_plugin_loader_refuse(ArkPluginLoader *self, const gchar *path, const gchar *name,
			 GError *error)
{
	ArkPluginRefusal *refusal = g_new0(ArkPluginRefusal, 1);
	refusal->path = g_strdup(path);
	refusal->name = g_strdup(name);
	refusal->error = error;
	g_debug("refused plugin %s: %s", path, error->message);
	g_ptr_array_add(self->refused, refusal);
}

GStrv
ark_plugin_loader_default_path(void)
{
	const gchar *env = g_getenv("ARK_PLUGIN_DIR");
	if (env != NULL && env[0] != '\0')
		return g_strsplit(env, ":", -1);
	return g_strsplit(ARK_PLUGINDIR, ":", -1);
}

/* "…/ark-store-sqlite.so" -> "store-sqlite" */
static gchar *
ark_plugin_loader_name_from_path(const gchar *path)
{
	g_autofree gchar *base = g_path_get_basename(path);
	gsize len = strlen(base);
	return g_strndup(base + 4, len - 4 - 3);
}

static gboolean
ark_plugin_loader_check_file(const gchar *path, gboolean strict, GError **error)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_MODULE, "cannot stat: %s",
			    g_strerror(errno));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error_literal(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_MODULE,
				    "not a regular file");
		return FALSE;
	}
	/* in the system directory a plugin runs with the daemon's rights: refuse files that
	 * someone other than root could have replaced */
	if (strict && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
		g_set_error_literal(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_MODULE,
				    "must be owned by root and not writable by group or others");
		return FALSE;
	}
	return TRUE;
}

static ArkPlugin *
ark_plugin_loader_open(ArkPluginLoader *self, const gchar *path, const gchar *name,
		       gboolean strict, GError **error)
{
	GModule *module;
	ArkPluginQueryFunc query = NULL;
	const ArkPluginInfo *info;
	GType type;
	ArkPlugin *plugin;
	g_autoptr(GError) module_error = NULL;

	if (!ark_plugin_loader_check_file(path, strict, error))
		return NULL;

	/* LOCAL: plugin symbols never interpose each other; no LAZY: an unresolved symbol fails
	 * here, not at the first call */
	module = g_module_open_full(path, G_MODULE_BIND_LOCAL, &module_error);
	if (module == NULL) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_MODULE, "cannot load: %s",
			    module_error != NULL ? module_error->message : "unknown error");
		return NULL;
	}
	if (!g_module_symbol(module, ARK_PLUGIN_ENTRY_SYMBOL, (gpointer *)&query) ||
	    query == NULL) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_ENTRY_POINT,
			    "no %s symbol: not an Arkitect plugin (use ARK_PLUGIN_DEFINE)",
			    ARK_PLUGIN_ENTRY_SYMBOL);
		/* no plugin code has run yet, so unloading is safe */
		g_module_close(module);
		return NULL;
	}

	/* from here on plugin code has run: the module stays mapped for good */
	g_module_make_resident(module);
	info = query();
	if (info == NULL) {
		g_set_error_literal(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_INVALID,
				    "ark_plugin_query returned no descriptor");
		return NULL;
	}
	if (info->abi_major != ARK_PLUGIN_ABI_MAJOR || info->abi_minor > ARK_PLUGIN_ABI_MINOR) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_ABI_MISMATCH,
			    "built for plugin ABI %u.%u, this Arkitect supports %u.0 to %u.%u",
			    info->abi_major, info->abi_minor, ARK_PLUGIN_ABI_MAJOR,
			    ARK_PLUGIN_ABI_MAJOR, ARK_PLUGIN_ABI_MINOR);
		return NULL;
	}
	if (info->struct_size < G_STRUCT_OFFSET(ArkPluginInfo, reserved) || info->name == NULL ||
	    info->version == NULL || info->license == NULL || info->description == NULL ||
	    info->get_type == NULL) {
		g_set_error_literal(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_INVALID,
				    "incomplete plugin descriptor");
		return NULL;
	}
	if (g_strcmp0(info->name, name) != 0) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_NAME_MISMATCH,
			    "descriptor names plugin '%s' but the file is for '%s'", info->name,
			    name);
		return NULL;
	}
	type = info->get_type();
	if (!g_type_is_a(type, ARK_TYPE_PLUGIN) || G_TYPE_IS_ABSTRACT(type)) {
		g_set_error(error, ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_INVALID,
			    "type %s is not an instantiable ArkPlugin",
			    type != G_TYPE_INVALID ? g_type_name(type) : "(invalid)");
		return NULL;
	}
	plugin = g_object_new(type, NULL);
	ark_plugin_set_info(plugin, info);
	return plugin;
}

static gint
ark_plugin_loader_compare_basename(gconstpointer a, gconstpointer b)
{
	g_autofree gchar *ba = g_path_get_basename(*(const gchar *const *)a);
	g_autofree gchar *bb = g_path_get_basename(*(const gchar *const *)b);
	gint rc = g_strcmp0(ba, bb);
	/* equal names keep path order: the first directory wins */
	return rc;
}

gboolean
ark_plugin_loader_load(ArkPluginLoader *self, const gchar *const *path, GError **error)
{
	g_auto(GStrv) default_path = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) strict_dirs = g_hash_table_new(g_str_hash, g_str_equal);
	guint readable = 0;
	gboolean from_env = g_getenv("ARK_PLUGIN_DIR") != NULL;

	g_return_val_if_fail(ARK_IS_PLUGIN_LOADER(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (path == NULL) {
		default_path = ark_plugin_loader_default_path();
		path = (const gchar *const *)default_path;
	}
	for (guint i = 0; path[i] != NULL; i++) {
		g_autoptr(GDir) dir = NULL;
		g_autoptr(GError) dir_error = NULL;
		const gchar *entry;

		if (path[i][0] == '\0')
			continue;
		dir = g_dir_open(path[i], 0, &dir_error);
		if (dir == NULL) {
			g_debug("skipping plugin directory %s: %s", path[i], dir_error->message);
			continue;
		}
		readable++;
		while ((entry = g_dir_read_name(dir)) != NULL) {
			if (!g_str_has_prefix(entry, "ark-") || !g_str_has_suffix(entry, ".so") ||
			    strlen(entry) <= 7)
				continue;
			g_ptr_array_add(files, g_build_filename(path[i], entry, NULL));
		}
	}
	if (readable == 0) {
		g_autofree gchar *joined = g_strjoinv(":", (gchar **)path);
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
			    "no readable plugin directory in %s", joined);
		return FALSE;
	}
	/* stable: equal basenames stay in directory order */
	g_ptr_array_sort(files, ark_plugin_loader_compare_basename);

	for (guint i = 0; i < files->len; i++) {
		const gchar *file = g_ptr_array_index(files, i);
		g_autofree gchar *name = ark_plugin_loader_name_from_path(file);
		g_autoptr(GError) local_error = NULL;
		g_autoptr(ArkPlugin) plugin = NULL;
		gboolean strict;

		if (g_hash_table_contains(self->names, name)) {
			ark_plugin_loader_refuse(
			    self, file, name,
			    g_error_new(ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_DUPLICATE,
					"a plugin named '%s' was already found in %s", name,
					(const gchar *)g_hash_table_lookup(self->names, name)));
			continue;
		}
		g_hash_table_insert(self->names, g_strdup(name), g_path_get_dirname(file));

		/* ownership checks apply to the installed directory, not to development trees
		 * named through ARK_PLUGIN_DIR */
		strict = !from_env && getuid() == 0;
		plugin = ark_plugin_loader_open(self, file, name, strict, &local_error);
		if (plugin == NULL) {
			ark_plugin_loader_refuse(self, file, name, g_steal_pointer(&local_error));
			continue;
		}
		if (!ark_plugin_startup(plugin, self->registry, &local_error)) {
			/* whatever it registered before failing goes too */
			ark_registry_remove_plugin(self->registry, name);
			ark_plugin_loader_refuse(
			    self, file, name,
			    g_error_new(ARK_PLUGIN_ERROR, ARK_PLUGIN_ERROR_STARTUP,
					"startup failed: %s", local_error->message));
			continue;
		}
		g_ptr_array_add(self->plugins, g_steal_pointer(&plugin));
	}
	return TRUE;
}

GPtrArray *
ark_plugin_loader_get_plugins(ArkPluginLoader *self)
{
	g_return_val_if_fail(ARK_IS_PLUGIN_LOADER(self), NULL);
	return self->plugins;
}

GPtrArray *
ark_plugin_loader_get_refused(ArkPluginLoader *self)
{
	g_return_val_if_fail(ARK_IS_PLUGIN_LOADER(self), NULL);
	return self->refused;
}

ArkRegistry *
ark_plugin_loader_get_registry(ArkPluginLoader *self)
{
	g_return_val_if_fail(ARK_IS_PLUGIN_LOADER(self), NULL);
	return self->registry;
}

void
ark_plugin_loader_shutdown(ArkPluginLoader *self)
{
	g_return_if_fail(ARK_IS_PLUGIN_LOADER(self));
	for (guint i = self->plugins->len; i > 0; i--)
		ark_plugin_shutdown(g_ptr_array_index(self->plugins, i - 1));
}

static void
ark_plugin_loader_finalize(GObject *object)
{
	ArkPluginLoader *self = ARK_PLUGIN_LOADER(object);
	g_ptr_array_unref(self->plugins);
	g_ptr_array_unref(self->refused);
	g_hash_table_unref(self->names);
	g_object_unref(self->registry);
	G_OBJECT_CLASS(ark_plugin_loader_parent_class)->finalize(object);
}

static void
ark_plugin_loader_class_init(ArkPluginLoaderClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_plugin_loader_finalize;
}

static void
ark_plugin_loader_init(ArkPluginLoader *self)
{
	self->plugins = g_ptr_array_new_with_free_func(g_object_unref);
	self->refused =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_plugin_loader_refusal_free);
	self->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

ArkPluginLoader *
ark_plugin_loader_new(ArkRegistry *registry)
{
	ArkPluginLoader *self;
	g_return_val_if_fail(ARK_IS_REGISTRY(registry), NULL);
	self = g_object_new(ARK_TYPE_PLUGIN_LOADER, NULL);
	self->registry = g_object_ref(registry);
	return self;
}

static void
ark_plugin_loader_json_add_string(JsonBuilder *b, const gchar *member, const gchar *value)
{
	json_builder_set_member_name(b, member);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

void
ark_plugin_loader_build_json(ArkPluginLoader *self, JsonBuilder *b)
{
	GPtrArray *plugins;
	GPtrArray *refused;

	g_return_if_fail(ARK_IS_PLUGIN_LOADER(self));
	plugins = self->plugins;
	refused = self->refused;
	json_builder_set_member_name(b, "plugins");
	json_builder_begin_array(b);
	for (guint i = 0; i < plugins->len; i++) {
		ArkPlugin *p = g_ptr_array_index(plugins, i);
		const ArkPluginInfo *info = ark_plugin_get_info(p);
		g_auto(GStrv) provides =
		    ark_registry_list_provided_by(self->registry, info->name);
		json_builder_begin_object(b);
		ark_plugin_loader_json_add_string(b, "name", info->name);
		ark_plugin_loader_json_add_string(b, "version", info->version);
		ark_plugin_loader_json_add_string(b, "license", info->license);
		ark_plugin_loader_json_add_string(b, "description", info->description);
		g_autofree gchar *abi =
		    g_strdup_printf("%u.%u", info->abi_major, info->abi_minor);
		json_builder_set_member_name(b, "abi");
		json_builder_add_string_value(b, abi);
		json_builder_set_member_name(b, "provides");
		json_builder_begin_array(b);
		for (guint k = 0; provides[k] != NULL; k++)
			json_builder_add_string_value(b, provides[k]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "refused");
	json_builder_begin_array(b);
	for (guint i = 0; i < refused->len; i++) {
		ArkPluginRefusal *r = g_ptr_array_index(refused, i);
		json_builder_begin_object(b);
		ark_plugin_loader_json_add_string(b, "name", r->name);
		ark_plugin_loader_json_add_string(b, "path", r->path);
		json_builder_set_member_name(b, "code");
		json_builder_add_int_value(b, r->error->code);
		ark_plugin_loader_json_add_string(b, "reason", r->error->message);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}
