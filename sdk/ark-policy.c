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
