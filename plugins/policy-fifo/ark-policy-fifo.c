/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/* first ready, first started: ordered by the engine's enqueue sequence */

#define ARK_TYPE_POLICY_FIFO (ark_policy_fifo_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyFifo, ark_policy_fifo, ARK, POLICY_FIFO, GObject)

struct _ArkPolicyFifo {
	GObject parent_instance;
	ArkHeap *heap;
};

static void ark_policy_fifo_iface_init(ArkPolicyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkPolicyFifo, ark_policy_fifo, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY, ark_policy_fifo_iface_init))

static gint
ark_policy_fifo_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static void
ark_policy_fifo_enqueue(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ark_heap_push(ARK_POLICY_FIFO(policy)->heap, entry);
}

static ArkQueueEntry *
ark_policy_fifo_peek(ArkPolicy *policy)
{
	return ark_heap_peek(ARK_POLICY_FIFO(policy)->heap);
}

static ArkQueueEntry *
ark_policy_fifo_dequeue(ArkPolicy *policy)
{
	return ark_heap_pop(ARK_POLICY_FIFO(policy)->heap);
}

static gboolean
ark_policy_fifo_remove(ArkPolicy *policy, ArkQueueEntry *entry)
{
	return ark_heap_remove(ARK_POLICY_FIFO(policy)->heap, entry);
}

static guint
ark_policy_fifo_get_length(ArkPolicy *policy)
{
	return ark_heap_get_length(ARK_POLICY_FIFO(policy)->heap);
}

static guint
ark_policy_fifo_get_position(ArkPolicy *policy, const ArkQueueEntry *entry)
{
	return ark_heap_get_position(ARK_POLICY_FIFO(policy)->heap, entry);
}

static void
ark_policy_fifo_iface_init(ArkPolicyInterface *iface)
{
	iface->enqueue = ark_policy_fifo_enqueue;
	iface->peek = ark_policy_fifo_peek;
	iface->dequeue = ark_policy_fifo_dequeue;
	iface->remove = ark_policy_fifo_remove;
	iface->get_length = ark_policy_fifo_get_length;
	iface->get_position = ark_policy_fifo_get_position;
}

static void
ark_policy_fifo_finalize(GObject *object)
{
	ark_heap_free(ARK_POLICY_FIFO(object)->heap);
	G_OBJECT_CLASS(ark_policy_fifo_parent_class)->finalize(object);
}

static void
ark_policy_fifo_class_init(ArkPolicyFifoClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_policy_fifo_finalize;
}

static void
ark_policy_fifo_init(ArkPolicyFifo *self)
{
	self->heap = ark_heap_new(ark_policy_fifo_compare, NULL,
				  G_STRUCT_OFFSET(ArkQueueEntry, heap_index));
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
