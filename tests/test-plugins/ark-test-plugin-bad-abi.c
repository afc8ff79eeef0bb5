/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arkitect/arkitect.h>

/* claims a future ABI major: the loader must refuse it before touching get_type */

G_MODULE_EXPORT const ArkPluginInfo *ark_plugin_query(void);

const ArkPluginInfo *
ark_plugin_query(void)
{
	static const ArkPluginInfo info = {
	    ARK_PLUGIN_ABI_MAJOR + 98, 0, sizeof(ArkPluginInfo), "bad-abi", "1.0", "MIT",
	    "test plugin built for another ABI", NULL, {NULL},
	};
	return &info;
}
