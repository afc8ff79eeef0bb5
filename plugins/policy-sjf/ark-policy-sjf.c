/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/*
 * Shortest estimated job first. The estimate is the task's own "estimate" or, when it has none,
 * the engine's learned one (an exponentially weighted mean of the durations of the same task of
 * the same workflow, kept in the store). Tasks with no estimate at all come after every task
 * with one, in ready order; equal estimates go by ready order too, so the order is total and a
 * restart reproduces it.
 */

#define ARK_TYPE_POLICY_SJF (ark_policy_sjf_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicySjf, ark_policy_sjf, ARK, POLICY_SJF, ArkHeapPolicy)

struct _ArkPolicySjf {
	ArkHeapPolicy parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicySjf, ark_policy_sjf, ARK_TYPE_HEAP_POLICY)

static gint
ark_policy_sjf_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	/* unknown (0) sorts after every known estimate */
	guint64 ka = ea->estimate > 0 ? (guint64)ea->estimate : G_MAXUINT64;
	guint64 kb = eb->estimate > 0 ? (guint64)eb->estimate : G_MAXUINT64;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static void
ark_policy_sjf_class_init(ArkPolicySjfClass *klass)
{
	ARK_HEAP_POLICY_CLASS(klass)->compare = ark_policy_sjf_compare;
}

static void
ark_policy_sjf_init(ArkPolicySjf *self)
{
}

#define ARK_TYPE_POLICY_SJF_PLUGIN (ark_policy_sjf_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicySjfPlugin, ark_policy_sjf_plugin, ARK, POLICY_SJF_PLUGIN, ArkPlugin)

struct _ArkPolicySjfPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicySjfPlugin, ark_policy_sjf_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_policy_sjf_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "sjf", ARK_TYPE_POLICY_SJF, error);
}

static void
ark_policy_sjf_plugin_class_init(ArkPolicySjfPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_sjf_plugin_startup;
}

static void
ark_policy_sjf_plugin_init(ArkPolicySjfPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-sjf", ark_policy_sjf_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "shortest estimated job first, with learned estimates")
