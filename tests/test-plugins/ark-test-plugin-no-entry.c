/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arkitect/arkitect.h>

/* a shared object with no ark_plugin_query symbol */

G_MODULE_EXPORT int ark_test_no_entry_marker(void);

int
ark_test_no_entry_marker(void)
{
	return 42;
}
