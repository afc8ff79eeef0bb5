/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/* first ready, first started: ordered by the engine's enqueue sequence */

#define ARK_TYPE_POLICY_FIFO (ark_policy_fifo_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyFifo, ark_policy_fifo, ARK, POLICY_FIFO, ArkHeapPolicy)

struct _ArkPolicyFifo {
	ArkHeapPolicy parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyFifo, ark_policy_fifo, ARK_TYPE_HEAP_POLICY)

static gint
ark_policy_fifo_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static void
ark_policy_fifo_class_init(ArkPolicyFifoClass *klass)
{
	ARK_HEAP_POLICY_CLASS(klass)->compare = ark_policy_fifo_compare;
}

static void
ark_policy_fifo_init(ArkPolicyFifo *self)
{
}

#define ARK_TYPE_POLICY_FIFO_PLUGIN (ark_policy_fifo_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyFifoPlugin, ark_policy_fifo_plugin, ARK, POLICY_FIFO_PLUGIN,
		     ArkPlugin)

struct _ArkPolicyFifoPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyFifoPlugin, ark_policy_fifo_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_policy_fifo_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "fifo", ARK_TYPE_POLICY_FIFO, error);
}

static void
ark_policy_fifo_plugin_class_init(ArkPolicyFifoPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_fifo_plugin_startup;
}

static void
ark_policy_fifo_plugin_init(ArkPolicyFifoPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-fifo", ark_policy_fifo_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "first-in first-out scheduling policy")
