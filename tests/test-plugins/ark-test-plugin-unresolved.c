/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arkitect/arkitect.h>

/* calls a function that no library defines; linked without -z defs so that the failure shows at
 * load time, as it would for a plugin built against a newer SDK */

extern void ark_function_that_does_not_exist(void);

G_MODULE_EXPORT const ArkPluginInfo *ark_plugin_query(void);

const ArkPluginInfo *
ark_plugin_query(void)
{
	ark_function_that_does_not_exist();
	return NULL;
}
