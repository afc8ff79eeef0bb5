/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <gmodule.h>
#include <glib-object.h>

#include "ark-api.h"
#include "ark-registry.h"
#include <arkitect/ark-version.h>

G_BEGIN_DECLS

/**
 * ArkPluginInfo:
 *
 * The constant descriptor every plugin exports through ark_plugin_query(). The loader refuses a
 * plugin whose @abi_major differs from ARK_PLUGIN_ABI_MAJOR, whose @abi_minor is newer than the
 * core's, whose @name is not its file name ("ark-<name>.so"), or whose @get_type does not return
 * an #ArkPlugin subclass.
 */
typedef struct {
	guint32 abi_major;
	guint32 abi_minor;
	guint32 struct_size; /* sizeof (ArkPluginInfo) when the plugin was built */
	const gchar *name;
	const gchar *version;
	const gchar *license; /* SPDX expression */
	const gchar *description;
	GType (*get_type)(void);
	/*< private >*/
	gpointer reserved[8];
} ArkPluginInfo;

#define ARK_PLUGIN_ENTRY_SYMBOL "ark_plugin_query"

typedef const ArkPluginInfo *(*ArkPluginQueryFunc)(void);

/**
 * ARK_PLUGIN_DEFINE:
 * @name_: the plugin name as a string literal, equal to the file name without "ark-" and ".so"
 * @get_type_: the get_type function of the plugin's #ArkPlugin subclass
 * @version_: the plugin's version string
 * @license_: SPDX licence expression
 * @description_: one line saying what the plugin provides
 *
 * Defines the one symbol a plugin exports. Use it once per plugin, at file scope.
 */
#define ARK_PLUGIN_DEFINE(name_, get_type_, version_, license_, description_)                       \
	G_MODULE_EXPORT const ArkPluginInfo *ark_plugin_query(void);                                \
	const ArkPluginInfo *ark_plugin_query(void)                                                 \
	{                                                                                           \
		static const ArkPluginInfo info = {                                                 \
		    ARK_PLUGIN_ABI_MAJOR,                                                           \
		    ARK_PLUGIN_ABI_MINOR,                                                           \
		    sizeof(ArkPluginInfo),                                                          \
		    name_,                                                                          \
		    version_,                                                                       \
		    license_,                                                                       \
		    description_,                                                                   \
		    get_type_,                                                                      \
		    {NULL},                                                                         \
		};                                                                                  \
		return &info;                                                                       \
	}

#define ARK_TYPE_PLUGIN (ark_plugin_get_type())
ARK_API G_DECLARE_DERIVABLE_TYPE(ArkPlugin, ark_plugin, ARK, PLUGIN, GObject)

/**
 * ArkPluginClass:
 * @startup: register what the plugin provides into @registry (ark_registry_add_*); acquire
 *   resources. A failure refuses the plugin with the error as the reason; the rest runs on.
 * @shutdown: (optional) release what startup acquired
 *
 * Construction must have no side effects: everything happens in startup.
 */
struct _ArkPluginClass {
	GObjectClass parent_class;

	gboolean (*startup)(ArkPlugin *self, ArkRegistry *registry, GError **error);
	void (*shutdown)(ArkPlugin *self);

	/*< private >*/
	gpointer padding[12];
};

/* the descriptor the plugin was loaded from */
ARK_API const ArkPluginInfo *ark_plugin_get_info(ArkPlugin *self);
ARK_API const gchar *ark_plugin_get_name(ArkPlugin *self);
/* for the loader */
ARK_API void ark_plugin_set_info(ArkPlugin *self, const ArkPluginInfo *info);
ARK_API gboolean ark_plugin_startup(ArkPlugin *self, ArkRegistry *registry, GError **error);
ARK_API void ark_plugin_shutdown(ArkPlugin *self);

G_END_DECLS
