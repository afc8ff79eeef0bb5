/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

G_DEFINE_INTERFACE(ArkPolicy, ark_policy, G_TYPE_OBJECT)

static void
ark_policy_default_init(ArkPolicyInterface *iface)
{
}

gboolean
ark_policy_setup(ArkPolicy *self, GKeyFile *config, const gchar *group, GError **error)
{
	ArkPolicyInterface *iface;
	g_return_val_if_fail(ARK_IS_POLICY(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_POLICY_GET_IFACE(self);
	if (iface->setup == NULL)
		return TRUE;
	return iface->setup(self, config, group, error);
}

void
ark_policy_enqueue(ArkPolicy *self, ArkQueueEntry *entry)
{
	g_return_if_fail(ARK_IS_POLICY(self));
	g_return_if_fail(entry != NULL);
	ARK_POLICY_GET_IFACE(self)->enqueue(self, entry);
}

ArkQueueEntry *
ark_policy_peek(ArkPolicy *self)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), NULL);
	return ARK_POLICY_GET_IFACE(self)->peek(self);
}

ArkQueueEntry *
ark_policy_dequeue(ArkPolicy *self)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), NULL);
	return ARK_POLICY_GET_IFACE(self)->dequeue(self);
}

gboolean
ark_policy_remove(ArkPolicy *self, ArkQueueEntry *entry)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), FALSE);
	g_return_val_if_fail(entry != NULL, FALSE);
	return ARK_POLICY_GET_IFACE(self)->remove(self, entry);
}

guint
ark_policy_get_length(ArkPolicy *self)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), 0);
	return ARK_POLICY_GET_IFACE(self)->get_length(self);
}

void
ark_policy_task_finished(ArkPolicy *self, const ArkQueueEntry *entry, ArkTaskState state,
			 gint64 duration)
{
	ArkPolicyInterface *iface;
	g_return_if_fail(ARK_IS_POLICY(self));
	g_return_if_fail(entry != NULL);
	iface = ARK_POLICY_GET_IFACE(self);
	if (iface->task_finished != NULL)
		iface->task_finished(self, entry, state, duration);
}

void
ark_policy_unget(ArkPolicy *self, ArkQueueEntry *entry)
{
	ArkPolicyInterface *iface;

	g_return_if_fail(ARK_IS_POLICY(self));
	g_return_if_fail(entry != NULL);
	iface = ARK_POLICY_GET_IFACE(self);
	if (iface->unget != NULL)
		iface->unget(self, entry);
	else
		iface->enqueue(self, entry);
}

ArkAdmission
ark_policy_admit(ArkPolicy *self, const ArkQueueEntry *entry, ArkTimestamp earliest_finish)
{
	ArkPolicyInterface *iface;

	g_return_val_if_fail(ARK_IS_POLICY(self), ARK_ADMISSION_ACCEPT);
	g_return_val_if_fail(entry != NULL, ARK_ADMISSION_ACCEPT);
	iface = ARK_POLICY_GET_IFACE(self);
	if (iface->admit == NULL)
		return ARK_ADMISSION_ACCEPT;
	return iface->admit(self, entry, earliest_finish);
}

gboolean
ark_policy_has_admission(ArkPolicy *self)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), FALSE);
	return ARK_POLICY_GET_IFACE(self)->admit != NULL;
}

/**
 * ark_policy_get_position:
 * @self: a policy
 * @entry: an entry queued in @self
 *
 * Returns: 1 when @entry is the one dequeue() returns next, 2 after that and so on; 0 when
 * @entry is not queued here or the policy can not tell (it has no @get_position)
 */
guint
ark_policy_get_position(ArkPolicy *self, const ArkQueueEntry *entry)
{
	ArkPolicyInterface *iface;

	g_return_val_if_fail(ARK_IS_POLICY(self), 0);
	g_return_val_if_fail(entry != NULL, 0);
	iface = ARK_POLICY_GET_IFACE(self);
	return iface->get_position != NULL ? iface->get_position(self, entry) : 0;
}

static GQuark
ark_policy_clock_quark(void)
{
	return g_quark_from_static_string("ark-policy-clock");
}

/**
 * ark_policy_set_clock:
 * @self: a policy
 * @clock: (nullable): the clock ark_policy_get_time() reads, NULL for the wall clock
 *
 * Since: 0.1 (ABI 1.2)
 */
void
ark_policy_set_clock(ArkPolicy *self, ArkClock *clock)
{
	g_return_if_fail(ARK_IS_POLICY(self));
	g_return_if_fail(clock == NULL || ARK_IS_CLOCK(clock));
	g_object_set_qdata_full(G_OBJECT(self), ark_policy_clock_quark(),
				clock != NULL ? g_object_ref(clock) : NULL, g_object_unref);
}

/**
 * ark_policy_get_time:
 * @self: a policy
 *
 * Returns: the time on the clock the engine gave @self, the wall clock if none
 *
 * Since: 0.1 (ABI 1.2)
 */
ArkTimestamp
ark_policy_get_time(ArkPolicy *self)
{
	g_return_val_if_fail(ARK_IS_POLICY(self), 0);
	return ark_clock_get_time(g_object_get_qdata(G_OBJECT(self), ark_policy_clock_quark()));
}

/* ArkHeapPolicy: the queue of the heap-ordered policies, written once ------------------------- */

typedef struct {
	ArkHeap *heap;
} ArkHeapPolicyPrivate;

static void ark_heap_policy_iface_init(ArkPolicyInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE(ArkHeapPolicy, ark_heap_policy, G_TYPE_OBJECT,
				 G_ADD_PRIVATE(ArkHeapPolicy)
				     G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY,
							   ark_heap_policy_iface_init))

#define ARK_HEAP_POLICY_HEAP(policy)                                                                \
	(((ArkHeapPolicyPrivate *)ark_heap_policy_get_instance_private(ARK_HEAP_POLICY(policy)))    \
	     ->heap)

static void
ark_heap_policy_enqueue(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ark_heap_push(ARK_HEAP_POLICY_HEAP(policy), entry);
}

static ArkQueueEntry *
ark_heap_policy_peek(ArkPolicy *policy)
{
	return ark_heap_peek(ARK_HEAP_POLICY_HEAP(policy));
}

static ArkQueueEntry *
ark_heap_policy_dequeue(ArkPolicy *policy)
{
	return ark_heap_pop(ARK_HEAP_POLICY_HEAP(policy));
}

static gboolean
ark_heap_policy_remove(ArkPolicy *policy, ArkQueueEntry *entry)
{
	return ark_heap_remove(ARK_HEAP_POLICY_HEAP(policy), entry);
}

static guint
ark_heap_policy_get_length(ArkPolicy *policy)
{
	return ark_heap_get_length(ARK_HEAP_POLICY_HEAP(policy));
}

static guint
ark_heap_policy_get_position(ArkPolicy *policy, const ArkQueueEntry *entry)
{
	return ark_heap_get_position(ARK_HEAP_POLICY_HEAP(policy), entry);
}

static void
ark_heap_policy_iface_init(ArkPolicyInterface *iface)
{
	iface->enqueue = ark_heap_policy_enqueue;
	iface->peek = ark_heap_policy_peek;
	iface->dequeue = ark_heap_policy_dequeue;
	iface->remove = ark_heap_policy_remove;
	iface->get_length = ark_heap_policy_get_length;
	iface->get_position = ark_heap_policy_get_position;
}

/* the subclass's compare, with the policy as its data */
static gint
ark_heap_policy_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	return ARK_HEAP_POLICY_GET_CLASS(user_data)->compare(a, b, user_data);
}

static void
ark_heap_policy_constructed(GObject *object)
{
	ArkHeapPolicyPrivate *priv = ark_heap_policy_get_instance_private(ARK_HEAP_POLICY(object));

	G_OBJECT_CLASS(ark_heap_policy_parent_class)->constructed(object);
	g_return_if_fail(ARK_HEAP_POLICY_GET_CLASS(object)->compare != NULL);
	priv->heap = ark_heap_new(ark_heap_policy_compare, object,
				  G_STRUCT_OFFSET(ArkQueueEntry, heap_index));
}

static void
ark_heap_policy_finalize(GObject *object)
{
	ArkHeapPolicyPrivate *priv = ark_heap_policy_get_instance_private(ARK_HEAP_POLICY(object));

	g_clear_pointer(&priv->heap, ark_heap_free);
	G_OBJECT_CLASS(ark_heap_policy_parent_class)->finalize(object);
}

static void
ark_heap_policy_class_init(ArkHeapPolicyClass *klass)
{
	G_OBJECT_CLASS(klass)->constructed = ark_heap_policy_constructed;
	G_OBJECT_CLASS(klass)->finalize = ark_heap_policy_finalize;
}

static void
ark_heap_policy_init(ArkHeapPolicy *self)
{
}
