/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-types.h"

G_BEGIN_DECLS

/**
 * ArkClock:
 *
 * Where the engine (and the policies it sets up) read the time. A NULL clock is the wall clock,
 * g_get_real_time(); a virtual clock stands still until its owner moves it, which is how
 * `arkitect simulate` runs the real engine on simulated time. Main thread only. (ABI 1.2)
 */
#define ARK_TYPE_CLOCK (ark_clock_get_type())
ARK_API G_DECLARE_FINAL_TYPE(ArkClock, ark_clock, ARK, CLOCK, GObject)

/* a virtual clock showing @start (microseconds since the epoch, like every ArkTimestamp) */
ARK_API ArkClock *ark_clock_new_virtual(ArkTimestamp start);
/* the time @self shows; g_get_real_time() when @self is NULL */
ARK_API ArkTimestamp ark_clock_get_time(ArkClock *self);
/* moves a virtual clock to @time; it never goes back, an earlier @time is a programming error */
ARK_API void ark_clock_set_time(ArkClock *self, ArkTimestamp time);

G_END_DECLS
