/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

typedef struct {
	const ArkPluginInfo *info;
} ArkPluginPrivate;

G_DEFINE_TYPE_WITH_PRIVATE(ArkPlugin, ark_plugin, G_TYPE_OBJECT)

static void
ark_plugin_class_init(ArkPluginClass *klass)
{
}

static void
ark_plugin_init(ArkPlugin *self)
{
}

void
ark_plugin_set_info(ArkPlugin *self, const ArkPluginInfo *info)
{
	ArkPluginPrivate *priv = ark_plugin_get_instance_private(self);
	g_return_if_fail(ARK_IS_PLUGIN(self));
	priv->info = info;
}

const ArkPluginInfo *
ark_plugin_get_info(ArkPlugin *self)
{
	ArkPluginPrivate *priv = ark_plugin_get_instance_private(self);
	g_return_val_if_fail(ARK_IS_PLUGIN(self), NULL);
	return priv->info;
}

const gchar *
ark_plugin_get_name(ArkPlugin *self)
{
	ArkPluginPrivate *priv = ark_plugin_get_instance_private(self);
	g_return_val_if_fail(ARK_IS_PLUGIN(self), NULL);
	return priv->info != NULL ? priv->info->name : G_OBJECT_TYPE_NAME(self);
}

gboolean
ark_plugin_startup(ArkPlugin *self, ArkRegistry *registry, GError **error)
{
	ArkPluginClass *klass;
	g_return_val_if_fail(ARK_IS_PLUGIN(self), FALSE);
	g_return_val_if_fail(ARK_IS_REGISTRY(registry), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	klass = ARK_PLUGIN_GET_CLASS(self);
	if (klass->startup == NULL)
		return TRUE;
	if (!klass->startup(self, registry, error)) {
		/* a plugin that returns FALSE without an error is a plugin bug; still refuse it
		 * with a reason rather than crash on a NULL error */
		if (error != NULL && *error == NULL)
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED,
					    "startup failed without a reason");
		return FALSE;
	}
	return TRUE;
}

void
ark_plugin_shutdown(ArkPlugin *self)
{
	ArkPluginClass *klass;
	g_return_if_fail(ARK_IS_PLUGIN(self));
	klass = ARK_PLUGIN_GET_CLASS(self);
	if (klass->shutdown != NULL)
		klass->shutdown(self);
}
