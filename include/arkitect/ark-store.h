/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-records.h"

G_BEGIN_DECLS

/**
 * ArkStoreBatch:
 *
 * The transitions of one main-loop iteration, applied by a store in one transaction. Records in a
 * batch borrow their strings from the caller; they are valid until apply() returns. Operations
 * must be applied in order.
 */
typedef enum {
	ARK_STORE_OP_RUN_INSERT,     /* every field, including definition */
	ARK_STORE_OP_RUN_UPDATE,     /* state, started_at, finished_at, reason, cancelled_by;
				      * definition and n_tasks too when definition is not NULL
				      * (DLQ replay; a task added to an open run, ABI 1.2) */
	ARK_STORE_OP_TASK_INSERT,    /* every field */
	ARK_STORE_OP_TASK_UPDATE,    /* every field but run_id, task_id, index */
	ARK_STORE_OP_ATTEMPT_INSERT, /* every field */
	ARK_STORE_OP_ATTEMPT_UPDATE, /* status, finished_at, exit_code, signal, error, log_path,
				      * result (ABI 1.3) */
	ARK_STORE_OP_EVENT,
	ARK_STORE_OP_AUDIT, /* every field; seq must follow the last one stored (ABI 1.1) */
	ARK_STORE_OP_ESTIMATE, /* insert or replace, by workflow name and task id (ABI 1.2) */
	ARK_STORE_OP_OBJECT_PUT,    /* insert or replace, by kind and key (ABI 1.3) */
	ARK_STORE_OP_OBJECT_DELETE, /* by kind and key; nothing to delete is not an error (ABI 1.3) */
} ArkStoreOpKind;

typedef struct {
	ArkStoreOpKind kind;
	union {
		ArkRunRecord run;
		ArkTaskRecord task;
		ArkAttemptRecord attempt;
		ArkEvent event;
		ArkAuditRecord audit; /* no larger than ArkRunRecord: the op did not grow */
		ArkEstimateRecord estimate; /* (ABI 1.2) no larger either */
		ArkObjectRecord object;	    /* (ABI 1.3) no larger either */
	};
} ArkStoreOp;

typedef struct _ArkStoreBatch ArkStoreBatch;

ARK_API ArkStoreBatch *ark_store_batch_new(void);
ARK_API void ark_store_batch_free(ArkStoreBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkStoreBatch, ark_store_batch_free)
/* shallow copies: strings stay borrowed */
ARK_API void ark_store_batch_add_run(ArkStoreBatch *batch, ArkStoreOpKind kind,
				     const ArkRunRecord *run);
ARK_API void ark_store_batch_add_task(ArkStoreBatch *batch, ArkStoreOpKind kind,
				      const ArkTaskRecord *task);
ARK_API void ark_store_batch_add_attempt(ArkStoreBatch *batch, ArkStoreOpKind kind,
					 const ArkAttemptRecord *attempt);
ARK_API void ark_store_batch_add_event(ArkStoreBatch *batch, const ArkEvent *event);
/* (ABI 1.1) */
ARK_API void ark_store_batch_add_audit(ArkStoreBatch *batch, const ArkAuditRecord *audit);
/* (ABI 1.2) only for a store that ark_store_supports_estimates() */
ARK_API void ark_store_batch_add_estimate(ArkStoreBatch *batch,
					  const ArkEstimateRecord *estimate);
/* (ABI 1.3) only for a store that ark_store_supports_objects(); @kind is
 * ARK_STORE_OP_OBJECT_PUT or ARK_STORE_OP_OBJECT_DELETE */
ARK_API void ark_store_batch_add_object(ArkStoreBatch *batch, ArkStoreOpKind kind,
					const ArkObjectRecord *object);
/* a copy of @str owned by the batch, for strings that do not outlive the iteration */
ARK_API const gchar *ark_store_batch_intern(ArkStoreBatch *batch, const gchar *str);
ARK_API guint ark_store_batch_get_length(ArkStoreBatch *batch);
ARK_API const ArkStoreOp *ark_store_batch_get_op(ArkStoreBatch *batch, guint index);
ARK_API void ark_store_batch_clear(ArkStoreBatch *batch);
/* checks what every store needs of an op: a known kind and the identifiers of its record
 * (ARK_ERROR_INVALID_ARGUMENT otherwise), so that all stores refuse the same batches alike */
ARK_API gboolean ark_store_op_check(const ArkStoreOp *op, GError **error);

/* which runs list_runs() returns */
typedef struct {
	guint state_mask;	/* 1 << ArkRunState bits, 0 for all */
	const gchar *workflow_name; /* or NULL */
	const gchar *after;	/* cursor: run id to continue after (ids are time-ordered), or NULL */
	guint limit;		/* 0 for no limit */
	gboolean newest_first;
} ArkRunFilter;

/* which tasks find_tasks() returns, across runs; ordered by run id, then task index */
typedef struct {
	guint state_mask;   /* 1 << ArkTaskState bits, 0 for all */
	const gchar *run_id; /* or NULL for every run */
	guint limit;	    /* 0 for no limit */
} ArkTaskFilter;

#define ARK_TYPE_STORE (ark_store_get_type())
ARK_API G_DECLARE_INTERFACE(ArkStore, ark_store, ARK, STORE, GObject)

/**
 * ArkStoreInterface:
 * @open: open or create the store at @location (a directory for file stores, a connection string
 *   for servers, ignored by the memory store); creates or migrates the schema. A store that is
 *   shared through the file system takes an exclusive lock for as long as it is open: a second
 *   opener gets ARK_ERROR_BUSY with a message naming the holder (its pid), never a shared store.
 * @close: flush and release; the store can not be used afterwards.
 * @apply: apply every operation of @batch in one transaction, durable (per the store's durability
 *   setting) when this returns TRUE; on FALSE nothing of @batch was applied.
 * @get_last_event_seq: the highest event sequence number stored, 0 for none.
 * @get_run: one run, or NULL with ARK_ERROR_NOT_FOUND.
 * @find_run_by_idempotency_key: the run submitted with @key, or NULL with ARK_ERROR_NOT_FOUND.
 * @list_runs: runs by @filter, ordered by id (oldest first unless newest_first); element type
 *   #ArkRunRecord.
 * @list_tasks: the tasks of a run in workflow order; element type #ArkTaskRecord.
 * @list_attempts: attempts of a run (or of one task when @task_id is not NULL), by task index then
 *   number; element type #ArkAttemptRecord.
 * @read_events: up to @limit events with seq > @after_seq in seq order; element type #ArkEvent.
 * @find_tasks: tasks of any run matching @filter (the DLQ is the tasks in state DEAD), by run id
 *   then index; element type #ArkTaskRecord.
 * @read_audit: up to @limit (0 for no limit) audit records with seq > @after_seq in seq order,
 *   as stored (the store neither checks nor repairs the hash chain: verification must see what
 *   is there); element type #ArkAuditRecord. A store that is read-only for its process can
 *   still answer it. (ABI 1.1)
 * @get_last_audit: the audit record with the highest seq, or NULL with ARK_ERROR_NOT_FOUND when
 *   there is none. (ABI 1.1)
 *
 * @list_estimates: the learned duration estimates of the tasks of workflow @workflow_name, in
 *   no particular order; element type #ArkEstimateRecord. A store that has it also applies
 *   ARK_STORE_OP_ESTIMATE. Optional: without it the engine learns estimates for the life of the
 *   process only. (ABI 1.2)
 * @list_objects: every object of @kind, ordered by key; element type #ArkObjectRecord. A store
 *   that has it also applies ARK_STORE_OP_OBJECT_PUT and _DELETE. Optional: without it agents
 *   and their trust live for the life of the process only. (ABI 1.3)
 * @open_reader: a new store, already open, that reads what this one has committed and may be
 *   used from one other thread (one thread at a time, not the one that owns this store): every
 *   read method works, @apply fails. A read sees everything @apply committed before the read
 *   began. Close and unref it before this store closes. Optional: a store without it has its
 *   reads done on the main thread. (ABI 1.4)
 * @get_run_summary: @get_run without the definition (NULL). Optional: without it the SDK drops
 *   the definition @get_run read. (ABI 1.4)
 * @count_tasks: the number of tasks of a run in each state, into @counts
 *   (ARK_TASK_STATE_LAST entries, zeroed first); an unknown run has none. Optional: without it
 *   the SDK counts what @list_tasks returns. (ABI 1.4)
 *
 * Audit records (ARK_STORE_OP_AUDIT) are append-only: a store refuses one whose seq is not the
 * last stored seq + 1 (1 for the first) with ARK_ERROR_INVALID_ARGUMENT, and has no operation
 * that changes or removes them. A store built for ABI 1.0 has neither method; the SDK wrappers
 * then fail with ARK_ERROR_NOT_SUPPORTED and the engine does not give it audit operations.
 *
 * Called on the main thread only (a reader from @open_reader on its own thread). Every method that can fail sets an ARK_ERROR (ARK_ERROR_STORAGE
 * for I/O and database errors).
 */
struct _ArkStoreInterface {
	GTypeInterface g_iface;

	gboolean (*open)(ArkStore *self, const gchar *location, GError **error);
	void (*close)(ArkStore *self);
	gboolean (*apply)(ArkStore *self, ArkStoreBatch *batch, GError **error);
	guint64 (*get_last_event_seq)(ArkStore *self);
	guint64 (*get_last_attempt_token)(ArkStore *self);
	ArkRunRecord *(*get_run)(ArkStore *self, const gchar *run_id, GError **error);
	ArkRunRecord *(*find_run_by_idempotency_key)(ArkStore *self, const gchar *key,
						     GError **error);
	GPtrArray *(*list_runs)(ArkStore *self, const ArkRunFilter *filter, GError **error);
	GPtrArray *(*list_tasks)(ArkStore *self, const gchar *run_id, GError **error);
	GPtrArray *(*list_attempts)(ArkStore *self, const gchar *run_id, const gchar *task_id,
				    GError **error);
	GPtrArray *(*read_events)(ArkStore *self, guint64 after_seq, guint limit, GError **error);
	GPtrArray *(*find_tasks)(ArkStore *self, const ArkTaskFilter *filter, GError **error);
	GPtrArray *(*read_audit)(ArkStore *self, guint64 after_seq, guint limit, GError **error);
	ArkAuditRecord *(*get_last_audit)(ArkStore *self, GError **error);
	GPtrArray *(*list_estimates)(ArkStore *self, const gchar *workflow_name, GError **error);
	GPtrArray *(*list_objects)(ArkStore *self, const gchar *kind, GError **error);
	ArkStore *(*open_reader)(ArkStore *self, GError **error);
	ArkRunRecord *(*get_run_summary)(ArkStore *self, const gchar *run_id, GError **error);
	gboolean (*count_tasks)(ArkStore *self, const gchar *run_id, guint *counts,
				GError **error);

	/*< private >*/
	gpointer padding[8];
};

ARK_API gboolean ark_store_open(ArkStore *self, const gchar *location, GError **error);
ARK_API void ark_store_close(ArkStore *self);
ARK_API gboolean ark_store_apply(ArkStore *self, ArkStoreBatch *batch, GError **error);
ARK_API guint64 ark_store_get_last_event_seq(ArkStore *self);
ARK_API guint64 ark_store_get_last_attempt_token(ArkStore *self);
ARK_API ArkRunRecord *ark_store_get_run(ArkStore *self, const gchar *run_id, GError **error);
ARK_API ArkRunRecord *ark_store_find_run_by_idempotency_key(ArkStore *self, const gchar *key,
							    GError **error);
ARK_API GPtrArray *ark_store_list_runs(ArkStore *self, const ArkRunFilter *filter, GError **error);
ARK_API GPtrArray *ark_store_list_tasks(ArkStore *self, const gchar *run_id, GError **error);
ARK_API GPtrArray *ark_store_list_attempts(ArkStore *self, const gchar *run_id,
					   const gchar *task_id, GError **error);
ARK_API GPtrArray *ark_store_read_events(ArkStore *self, guint64 after_seq, guint limit,
					 GError **error);
/* ArkTaskRecord* (transfer full) */
ARK_API GPtrArray *ark_store_find_tasks(ArkStore *self, const ArkTaskFilter *filter,
					GError **error);
/* ArkAuditRecord* (transfer full); ARK_ERROR_NOT_SUPPORTED for a store without them (ABI 1.1) */
ARK_API GPtrArray *ark_store_read_audit(ArkStore *self, guint64 after_seq, guint limit,
					GError **error);
ARK_API ArkAuditRecord *ark_store_get_last_audit(ArkStore *self, GError **error);
/* ArkEstimateRecord* (transfer full); ARK_ERROR_NOT_SUPPORTED for a store without them
 * (ABI 1.2) */
ARK_API GPtrArray *ark_store_list_estimates(ArkStore *self, const gchar *workflow_name,
					    GError **error);
ARK_API gboolean ark_store_supports_estimates(ArkStore *self);
/* ArkObjectRecord* (transfer full); ARK_ERROR_NOT_SUPPORTED for a store without them (ABI 1.3) */
ARK_API GPtrArray *ark_store_list_objects(ArkStore *self, const gchar *kind, GError **error);
ARK_API gboolean ark_store_supports_objects(ArkStore *self);
/* a reader for another thread (transfer full); ARK_ERROR_NOT_SUPPORTED for a store without one
 * (ABI 1.4) */
ARK_API ArkStore *ark_store_open_reader(ArkStore *self, GError **error);
/* like ark_store_get_run(), without the definition (NULL): what a status answer needs, without
 * reading and copying the workflow (ABI 1.4) */
ARK_API ArkRunRecord *ark_store_get_run_summary(ArkStore *self, const gchar *run_id,
						GError **error);
/* @counts has ARK_TASK_STATE_LAST entries: the run's tasks in each state (ABI 1.4) */
ARK_API gboolean ark_store_count_tasks(ArkStore *self, const gchar *run_id, guint *counts,
				       GError **error);

G_END_DECLS
