/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arkitect/arkitect.h>

/* registers a policy, then fails its startup: the loader must refuse it and drop the policy */

#define ARK_TYPE_TEST_FAILING_POLICY (ark_test_failing_policy_get_type())
G_DECLARE_FINAL_TYPE(ArkTestFailingPolicy, ark_test_failing_policy, ARK, TEST_FAILING_POLICY,
		     GObject)
struct _ArkTestFailingPolicy {
	GObject parent_instance;
};
static void
ark_test_failing_policy_iface_init(ArkPolicyInterface *iface)
{
}
G_DEFINE_FINAL_TYPE_WITH_CODE(ArkTestFailingPolicy, ark_test_failing_policy, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY,
						    ark_test_failing_policy_iface_init))
static void
ark_test_failing_policy_class_init(ArkTestFailingPolicyClass *klass)
{
}
static void
ark_test_failing_policy_init(ArkTestFailingPolicy *self)
{
}

#define ARK_TYPE_TEST_FAILING_PLUGIN (ark_test_failing_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkTestFailingPlugin, ark_test_failing_plugin, ARK, TEST_FAILING_PLUGIN,
		     ArkPlugin)
struct _ArkTestFailingPlugin {
	ArkPlugin parent_instance;
};
G_DEFINE_FINAL_TYPE(ArkTestFailingPlugin, ark_test_failing_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_test_failing_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				   "failing", ARK_TYPE_TEST_FAILING_POLICY, error))
		return FALSE;
	g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
			    "the test hardware is missing");
	return FALSE;
}

static void
ark_test_failing_plugin_class_init(ArkTestFailingPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_test_failing_plugin_startup;
}

static void
ark_test_failing_plugin_init(ArkTestFailingPlugin *self)
{
}

ARK_PLUGIN_DEFINE("failing-startup", ark_test_failing_plugin_get_type, "0.1", "MIT",
		  "test plugin whose startup fails")
