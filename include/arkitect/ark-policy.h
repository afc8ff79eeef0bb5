/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-clock.h"
#include "ark-types.h"
#include "ark-workflow.h"

G_BEGIN_DECLS

/**
 * ArkQueueEntry:
 *
 * A ready task as a policy sees it. The entry is owned by the engine and stays valid while it is
 * queued; policies may use @heap_index (for #ArkHeap) and @policy_data freely while the entry is
 * in their queue.
 */
typedef struct {
	const gchar *run_id;
	const ArkTaskSpec *spec;
	guint64 seq;		  /* engine-wide enqueue order, strictly increasing */
	ArkTimestamp ready_at;	  /* when the task became ready */
	ArkTimestamp submitted_at; /* when its run was submitted */
	gint priority;		  /* spec priority, possibly overridden per run */
	gint64 estimate;	  /* expected duration in microseconds, 0 unknown */
	ArkTimestamp deadline;	  /* absolute deadline, 0 for none */
	gint64 rank;		  /* longest path to a sink by estimates, including this task */
	gsize heap_index;
	gpointer policy_data;
	/*< private >*/
	gpointer reserved[4];
} ArkQueueEntry;

#define ARK_TYPE_POLICY (ark_policy_get_type())
ARK_API G_DECLARE_INTERFACE(ArkPolicy, ark_policy, ARK, POLICY, GObject)

/**
 * ArkPolicyInterface:
 * @setup: (optional) read configuration from @group of @config (may be NULL)
 * @enqueue: add a ready task
 * @peek: the entry dequeue() would return, or NULL
 * @dequeue: remove and return the next entry to start, or NULL when empty
 * @remove: remove a queued entry (cancellation); FALSE if it was not queued here
 * @get_length: number of queued entries
 * @task_finished: (optional) learn from a finished task (e.g. its duration)
 *
 * A queue discipline: synchronous, main thread only, never blocks, never allocates per entry in
 * the steady state if it can avoid it.
 */
struct _ArkPolicyInterface {
	GTypeInterface g_iface;

	gboolean (*setup)(ArkPolicy *self, GKeyFile *config, const gchar *group, GError **error);
	void (*enqueue)(ArkPolicy *self, ArkQueueEntry *entry);
	ArkQueueEntry *(*peek)(ArkPolicy *self);
	ArkQueueEntry *(*dequeue)(ArkPolicy *self);
	gboolean (*remove)(ArkPolicy *self, ArkQueueEntry *entry);
	guint (*get_length)(ArkPolicy *self);
	void (*task_finished)(ArkPolicy *self, const ArkQueueEntry *entry, ArkTaskState state,
			      gint64 duration);

	/*< private >*/
	gpointer padding[16];
};

ARK_API gboolean ark_policy_setup(ArkPolicy *self, GKeyFile *config, const gchar *group,
				  GError **error);
ARK_API void ark_policy_enqueue(ArkPolicy *self, ArkQueueEntry *entry);
ARK_API ArkQueueEntry *ark_policy_peek(ArkPolicy *self);
ARK_API ArkQueueEntry *ark_policy_dequeue(ArkPolicy *self);
ARK_API gboolean ark_policy_remove(ArkPolicy *self, ArkQueueEntry *entry);
ARK_API guint ark_policy_get_length(ArkPolicy *self);
ARK_API void ark_policy_task_finished(ArkPolicy *self, const ArkQueueEntry *entry,
				      ArkTaskState state, gint64 duration);

/*
 * The time for a policy that needs it (aging, deadlines): a policy reads it here, never from
 * g_get_real_time(), so that it follows the engine's clock, which is virtual in a simulation.
 * The engine sets the clock before setup(); without one this is the wall clock. (ABI 1.2)
 */
ARK_API ArkTimestamp ark_policy_get_time(ArkPolicy *self);
ARK_API void ark_policy_set_clock(ArkPolicy *self, ArkClock *clock);

G_END_DECLS
