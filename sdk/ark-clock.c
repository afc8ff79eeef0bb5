/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

struct _ArkClock {
	GObject parent_instance;
	ArkTimestamp now;
};

G_DEFINE_FINAL_TYPE(ArkClock, ark_clock, G_TYPE_OBJECT)

static void
ark_clock_class_init(ArkClockClass *klass)
{
}

static void
ark_clock_init(ArkClock *self)
{
}

/**
 * ark_clock_new_virtual:
 * @start: the time the clock shows until it is moved
 *
 * A clock that only moves when ark_clock_set_time() moves it.
 *
 * Returns: (transfer full): the clock
 *
 * Since: 0.1 (ABI 1.2)
 */
ArkClock *
ark_clock_new_virtual(ArkTimestamp start)
{
	ArkClock *self = g_object_new(ARK_TYPE_CLOCK, NULL);
	self->now = start;
	return self;
}

/**
 * ark_clock_get_time:
 * @self: (nullable): a clock, or NULL for the wall clock
 *
 * Returns: the time @self shows, in microseconds since the epoch
 *
 * Since: 0.1 (ABI 1.2)
 */
ArkTimestamp
ark_clock_get_time(ArkClock *self)
{
	if (self == NULL)
		return g_get_real_time();
	return self->now;
}

/**
 * ark_clock_set_time:
 * @self: a virtual clock
 * @time: the new time, not earlier than the current one
 *
 * Moves the clock forward.
 *
 * Since: 0.1 (ABI 1.2)
 */
void
ark_clock_set_time(ArkClock *self, ArkTimestamp time)
{
	g_return_if_fail(ARK_IS_CLOCK(self));
	g_return_if_fail(time >= self->now);
	self->now = time;
}
