/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-clock.h"
#include "ark-heap.h"
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
	const gchar *tenant;	    /* who submitted the run, or NULL (ABI 1.2) */
	const gchar *workflow_name; /* the run's workflow name (ABI 1.2) */
	/*< private >*/
	gpointer reserved[2];
} ArkQueueEntry;

/**
 * ArkAdmission:
 * @ARK_ADMISSION_ACCEPT: the run is accepted
 * @ARK_ADMISSION_FLAG: the run is accepted, and recorded as at risk of missing a deadline
 * @ARK_ADMISSION_REFUSE: the submission fails: a deadline can not be met
 *
 * What a policy says about a task of a new run whose deadline the engine expects to miss.
 * (ABI 1.2)
 */
typedef enum {
	ARK_ADMISSION_ACCEPT = 0,
	ARK_ADMISSION_FLAG = 1,
	ARK_ADMISSION_REFUSE = 2,
} ArkAdmission;

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
 * @get_position: (optional) where a queued entry stands: 1 is the one dequeue() returns next, 0
 *   means not queued here or unknown (ABI 1.2; explains why a task waits, so it may be O(n))
 * @unget: (optional) take back the entry the last dequeue() returned, which the engine could
 *   not start (it did not fit the executor's free resources): the policy restores it as if it
 *   had not been dequeued. Entries are given back in the reverse order they were dequeued.
 *   Without it the engine enqueues the entry again, which is the same for a policy whose order
 *   depends on the entries only (ABI 1.2)
 * @admit: (optional) admission control, asked at submission for every task of the new run that
 *   has a deadline the engine expects to miss: @earliest_finish is when it could finish at the
 *   soonest, given the work queued ahead of it and its longest chain of needs (by estimates).
 *   Without it the run is accepted (ABI 1.2)
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
	guint (*get_position)(ArkPolicy *self, const ArkQueueEntry *entry);
	void (*unget)(ArkPolicy *self, ArkQueueEntry *entry);
	ArkAdmission (*admit)(ArkPolicy *self, const ArkQueueEntry *entry,
			      ArkTimestamp earliest_finish);

	/*< private >*/
	gpointer padding[13];
};

ARK_API gboolean ark_policy_setup(ArkPolicy *self, GKeyFile *config, const gchar *group,
				  GError **error);
ARK_API void ark_policy_enqueue(ArkPolicy *self, ArkQueueEntry *entry);
ARK_API ArkQueueEntry *ark_policy_peek(ArkPolicy *self);
ARK_API ArkQueueEntry *ark_policy_dequeue(ArkPolicy *self);
ARK_API gboolean ark_policy_remove(ArkPolicy *self, ArkQueueEntry *entry);
ARK_API guint ark_policy_get_length(ArkPolicy *self);
ARK_API guint ark_policy_get_position(ArkPolicy *self, const ArkQueueEntry *entry);
ARK_API void ark_policy_task_finished(ArkPolicy *self, const ArkQueueEntry *entry,
				      ArkTaskState state, gint64 duration);
/* (ABI 1.2) */
ARK_API void ark_policy_unget(ArkPolicy *self, ArkQueueEntry *entry);
ARK_API ArkAdmission ark_policy_admit(ArkPolicy *self, const ArkQueueEntry *entry,
				      ArkTimestamp earliest_finish);
/* whether the policy does admission control at all (ABI 1.2) */
ARK_API gboolean ark_policy_has_admission(ArkPolicy *self);

/*
 * The time for a policy that needs it (aging, deadlines): a policy reads it here, never from
 * g_get_real_time(), so that it follows the engine's clock, which is virtual in a simulation.
 * The engine sets the clock before setup(); without one this is the wall clock. (ABI 1.2)
 */
ARK_API ArkTimestamp ark_policy_get_time(ArkPolicy *self);
ARK_API void ark_policy_set_clock(ArkPolicy *self, ArkClock *clock);

/**
 * ArkHeapPolicyClass:
 * @compare: the order of two queued entries (user_data is the policy): negative when the first
 *   starts before the second. It must not change while both are queued.
 *
 * A policy whose queue is one #ArkHeap ordered by @compare: enqueue, peek, dequeue, remove,
 * get_length and get_position come with it. A subclass sets @compare in its class_init; one that
 * also needs setup, admit or task_finished implements #ArkPolicy again with only those (the rest
 * of the interface is inherited). (ABI 1.2)
 */
#define ARK_TYPE_HEAP_POLICY (ark_heap_policy_get_type())
ARK_API G_DECLARE_DERIVABLE_TYPE(ArkHeapPolicy, ark_heap_policy, ARK, HEAP_POLICY, GObject)

struct _ArkHeapPolicyClass {
	GObjectClass parent_class;

	ArkHeapCompareFunc compare;

	/*< private >*/
	gpointer padding[8];
};

G_END_DECLS
