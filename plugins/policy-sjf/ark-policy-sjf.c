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
G_DECLARE_FINAL_TYPE(ArkPolicySjf, ark_policy_sjf, ARK, POLICY_SJF, GObject)

struct _ArkPolicySjf {
	GObject parent_instance;
	ArkHeap *heap;
};

static void ark_policy_sjf_iface_init(ArkPolicyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkPolicySjf, ark_policy_sjf, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY, ark_policy_sjf_iface_init))

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
ark_policy_sjf_enqueue(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ark_heap_push(ARK_POLICY_SJF(policy)->heap, entry);
}

static ArkQueueEntry *
ark_policy_sjf_peek(ArkPolicy *policy)
{
	return ark_heap_peek(ARK_POLICY_SJF(policy)->heap);
}

static ArkQueueEntry *
ark_policy_sjf_dequeue(ArkPolicy *policy)
{
	return ark_heap_pop(ARK_POLICY_SJF(policy)->heap);
}

static gboolean
ark_policy_sjf_remove(ArkPolicy *policy, ArkQueueEntry *entry)
{
	return ark_heap_remove(ARK_POLICY_SJF(policy)->heap, entry);
}

static guint
ark_policy_sjf_get_length(ArkPolicy *policy)
{
	return ark_heap_get_length(ARK_POLICY_SJF(policy)->heap);
}

static guint
ark_policy_sjf_get_position(ArkPolicy *policy, const ArkQueueEntry *entry)
{
	return ark_heap_get_position(ARK_POLICY_SJF(policy)->heap, entry);
}

static void
ark_policy_sjf_iface_init(ArkPolicyInterface *iface)
{
	iface->enqueue = ark_policy_sjf_enqueue;
	iface->peek = ark_policy_sjf_peek;
	iface->dequeue = ark_policy_sjf_dequeue;
	iface->remove = ark_policy_sjf_remove;
	iface->get_length = ark_policy_sjf_get_length;
	iface->get_position = ark_policy_sjf_get_position;
}

static void
ark_policy_sjf_finalize(GObject *object)
{
	ark_heap_free(ARK_POLICY_SJF(object)->heap);
	G_OBJECT_CLASS(ark_policy_sjf_parent_class)->finalize(object);
}

static void
ark_policy_sjf_class_init(ArkPolicySjfClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_policy_sjf_finalize;
}

static void
ark_policy_sjf_init(ArkPolicySjf *self)
{
	self->heap = ark_heap_new(ark_policy_sjf_compare, self,
				  G_STRUCT_OFFSET(ArkQueueEntry, heap_index));
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
