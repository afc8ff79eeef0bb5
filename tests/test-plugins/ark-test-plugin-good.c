/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arkitect/arkitect.h>

/* a well-formed plugin that provides nothing; built as ark-good.so and, to test the name check,
 * as ark-name-mismatch.so */

#define ARK_TYPE_TEST_GOOD_PLUGIN (ark_test_good_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkTestGoodPlugin, ark_test_good_plugin, ARK, TEST_GOOD_PLUGIN, ArkPlugin)

struct _ArkTestGoodPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkTestGoodPlugin, ark_test_good_plugin, ARK_TYPE_PLUGIN)

static void
ark_test_good_plugin_class_init(ArkTestGoodPluginClass *klass)
{
}

static void
ark_test_good_plugin_init(ArkTestGoodPlugin *self)
{
}

ARK_PLUGIN_DEFINE("good", ark_test_good_plugin_get_type, "1.2.3", "LGPL-2.1-or-later",
		  "test plugin that loads")
