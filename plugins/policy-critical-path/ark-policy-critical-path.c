/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/*
 * Critical path first (the "upward rank" of list scheduling, as in HEFT): a task's key is the
 * longest chain of estimated work from it to a sink of its run, itself included (the entry's
 * rank, computed by the engine from the estimates when the run is built). The task on the
 * longest remaining chain starts first, because every other chain can wait for it without
 * making the run longer. Ties go to the higher priority, then to the task ready first.
 */

#define ARK_TYPE_POLICY_CRITICAL_PATH (ark_policy_critical_path_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyCriticalPath, ark_policy_critical_path, ARK, POLICY_CRITICAL_PATH, ArkHeapPolicy)

struct _ArkPolicyCriticalPath {
	ArkHeapPolicy parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyCriticalPath, ark_policy_critical_path, ARK_TYPE_HEAP_POLICY)

static gint
ark_policy_critical_path_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;

	if (ea->rank != eb->rank)
		return ea->rank > eb->rank ? -1 : 1;
	if (ea->priority != eb->priority)
		return ea->priority > eb->priority ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static void
ark_policy_critical_path_class_init(ArkPolicyCriticalPathClass *klass)
{
	ARK_HEAP_POLICY_CLASS(klass)->compare = ark_policy_critical_path_compare;
}

static void
ark_policy_critical_path_init(ArkPolicyCriticalPath *self)
{
}

#define ARK_TYPE_POLICY_CRITICAL_PATH_PLUGIN (ark_policy_critical_path_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyCriticalPathPlugin, ark_policy_critical_path_plugin, ARK, POLICY_CRITICAL_PATH_PLUGIN, ArkPlugin)

struct _ArkPolicyCriticalPathPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyCriticalPathPlugin, ark_policy_critical_path_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_policy_critical_path_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "critical-path", ARK_TYPE_POLICY_CRITICAL_PATH, error);
}

static void
ark_policy_critical_path_plugin_class_init(ArkPolicyCriticalPathPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_critical_path_plugin_startup;
}

static void
ark_policy_critical_path_plugin_init(ArkPolicyCriticalPathPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-critical-path", ark_policy_critical_path_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "critical path first: longest remaining chain of work by estimates")
