/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_CORE_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect-core.h> can be included directly."
#endif

#include <arkitect/arkitect.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* a plugin file the loader did not accept, and why */
typedef struct {
	gchar *path;
	gchar *name;   /* derived from the file name */
	GError *error; /* ARK_PLUGIN_ERROR */
} ArkPluginRefusal;

#define ARK_TYPE_PLUGIN_LOADER (ark_plugin_loader_get_type())
ARK_API G_DECLARE_FINAL_TYPE(ArkPluginLoader, ark_plugin_loader, ARK, PLUGIN_LOADER, GObject)

ARK_API ArkPluginLoader *ark_plugin_loader_new(ArkRegistry *registry);

/* the directories plugins are loaded from: $ARK_PLUGIN_DIR (colon-separated) when set, else the
 * configured plugin directory; (transfer full) */
ARK_API GStrv ark_plugin_loader_default_path(void);

/**
 * ark_plugin_loader_load:
 * @path: (nullable): directories to scan, NULL for ark_plugin_loader_default_path()
 *
 * Loads every ark-*.so in @path, sorted by file name, and starts each plugin. Plugins that fail
 * any check are recorded as refused, with the reason, and the others load on. Fails only when no
 * directory of @path can be read.
 */
ARK_API gboolean ark_plugin_loader_load(ArkPluginLoader *self, const gchar *const *path,
					GError **error);
/* (element-type ArkPlugin) in load order */
ARK_API GPtrArray *ark_plugin_loader_get_plugins(ArkPluginLoader *self);
/* (element-type ArkPluginRefusal) */
ARK_API GPtrArray *ark_plugin_loader_get_refused(ArkPluginLoader *self);
ARK_API ArkRegistry *ark_plugin_loader_get_registry(ArkPluginLoader *self);
/* the loaded and the refused plugins as members "plugins" and "refused" of the object @builder is
 * in: name, version, license, description, abi, provides[]; name, path, code, reason */
ARK_API void ark_plugin_loader_build_json(ArkPluginLoader *self, JsonBuilder *builder);
/* shuts plugins down in reverse order; modules stay mapped (GTypes can not be unregistered) */
ARK_API void ark_plugin_loader_shutdown(ArkPluginLoader *self);

G_END_DECLS
