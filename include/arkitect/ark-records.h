/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-types.h"

G_BEGIN_DECLS

/*
 * The persistent value types. A record either owns its strings (when a store returns it, free it
 * with ark_*_record_free()) or borrows them (inside an #ArkStoreBatch, valid during apply only).
 * Stores allocate the records they return with g_new0(). The size of these structs is part of the
 * ABI: a later minor adds fields only by taking over `reserved` slots, so a record allocated by an
 * older plugin is always large enough.
 */

typedef struct {
	gchar *id;
	gchar *workflow_name;
	ArkRunState state;
	gchar *policy;	     /* policy the run is scheduled with */
	gchar *submitter;    /* who submitted it (user name, agent id, ...) or NULL */
	gchar *idempotency_key; /* or NULL */
	gchar *definition;   /* canonical workflow JSON (written on insert only) */
	guint n_tasks;
	ArkTimestamp created_at;
	ArkTimestamp started_at;
	ArkTimestamp finished_at;
	gchar *reason; /* why it ended as it did, or NULL */
	gchar *cancelled_by; /* who cancelled it, or NULL */
	/*< private >*/
	gpointer reserved[4];
} ArkRunRecord;

typedef struct {
	gchar *run_id;
	gchar *task_id;
	guint index; /* position in the workflow */
	ArkTaskState state;
	guint attempts; /* attempts started so far */
	gint exit_code; /* of the last finished attempt, -1 when none */
	ArkTimestamp ready_at;
	ArkTimestamp started_at; /* first attempt */
	ArkTimestamp finished_at;
	gchar *reason; /* why it is in its state (skipped because ..., last error), or NULL */
	ArkTimestamp next_attempt_at; /* in RETRY_WAIT: when the next attempt becomes ready */
	gchar *cancelled_by;	      /* who cancelled it, or NULL */
	guint retry_base; /* attempts made before the last DLQ replay; the retry budget counts
			   * from here */
	/*< private >*/
	gpointer reserved[4];
} ArkTaskRecord;

typedef struct {
	gchar *run_id;
	gchar *task_id;
	guint number;	/* 1, 2, ... without gaps */
	guint64 token;	/* fencing token, unique in the store */
	ArkAttemptStatus status;
	gchar *executor;
	gchar *holder;	/* lease holder: process or agent identity, or NULL */
	ArkTimestamp started_at;
	ArkTimestamp finished_at;
	gint exit_code; /* -1 when not exited */
	gint signal;	/* terminating signal, 0 if none */
	gchar *error;	/* or NULL */
	gchar *log_path; /* or NULL */
	gchar *result;	 /* the JSON value a successful attempt produced, or NULL (ABI 1.3;
			  * written by ATTEMPT_UPDATE; at most ARK_RESULT_MAX_BYTES) */
	/*< private >*/
	gpointer reserved[3];
} ArkAttemptRecord;

/* the largest result a task may produce, as JSON text */
#define ARK_RESULT_MAX_BYTES (1024 * 1024)

/**
 * ArkEvent:
 *
 * One state change. @seq is store-wide, strictly increasing and gap-free within one store.
 */
typedef struct {
	guint64 seq;
	ArkTimestamp time;
	ArkEventKind kind;
	gchar *run_id;
	gchar *task_id; /* or NULL for run events */
	guint attempt;	/* or 0 */
	gint state;	/* ArkRunState, ArkTaskState or ArkAttemptStatus by @kind */
	gchar *data;	/* extra JSON object, or NULL */
	/*< private >*/
	gpointer reserved[2];
} ArkEvent;

/**
 * ArkAuditRecord:
 *
 * One entry of the tamper-evident audit log: a mutating call, who made it and how it ended.
 * @seq is store-wide, starts at 1 and has no gaps; @hash is the hex SHA-256 of @prev_hash, a
 * newline and the record's canonical JSON (docs/audit.md), @prev_hash the @hash of record
 * @seq - 1 (64 '0' for record 1). Stores keep records as they are given; the engine computes
 * the chain. (ABI 1.1)
 */
typedef struct {
	guint64 seq;
	ArkTimestamp time;
	gchar *actor;	   /* who: a token name, a local user, an agent id */
	gchar *origin;	   /* how: "http 127.0.0.1:41234", "cli", or NULL */
	gchar *action;	   /* what: "run.submit", "task.cancel", ... */
	gchar *target;	   /* on what: a run id, "RUN/TASK", or NULL */
	gchar *result;	   /* "ok" or the ArkError nick of the failure */
	gchar *request_id; /* or NULL */
	gchar *detail;	   /* a JSON object, or NULL */
	gchar *prev_hash;
	gchar *hash;
	/*< private >*/
	gpointer reserved[4];
} ArkAuditRecord;

/**
 * ArkEstimateRecord:
 *
 * What the engine learned about how long a task takes: an exponentially weighted mean of the
 * durations of the successful attempts of task @task_id in runs of workflow @workflow_name. One
 * record per (workflow name, task id); a store replaces it on every update. (ABI 1.2)
 */
typedef struct {
	gchar *workflow_name;
	gchar *task_id;
	gint64 estimate; /* microseconds, > 0 */
	guint samples;	 /* successful attempts it was learned from */
	ArkTimestamp updated_at;
	/*< private >*/
	gpointer reserved[4];
} ArkEstimateRecord;

/**
 * ArkObjectRecord:
 *
 * A keyed JSON document the engine keeps beside runs: agents, their trust records, the
 * assignments they hold. One record per (@kind, @key); ARK_STORE_OP_OBJECT_PUT inserts or
 * replaces it, ARK_STORE_OP_OBJECT_DELETE removes it (@value is NULL then). Stores keep @value
 * as given and never interpret it. (ABI 1.3)
 */
typedef struct {
	gchar *kind;  /* a namespace: "agent", "trust", "assignment", [a-z0-9_-]+ */
	gchar *key;   /* unique within @kind */
	gchar *value; /* JSON text */
	ArkTimestamp updated_at;
	/*< private >*/
	gpointer reserved[4];
} ArkObjectRecord;

ARK_API ArkRunRecord *ark_run_record_copy(const ArkRunRecord *record);
ARK_API void ark_run_record_free(ArkRunRecord *record);
ARK_API ArkTaskRecord *ark_task_record_copy(const ArkTaskRecord *record);
ARK_API void ark_task_record_free(ArkTaskRecord *record);
ARK_API ArkAttemptRecord *ark_attempt_record_copy(const ArkAttemptRecord *record);
ARK_API void ark_attempt_record_free(ArkAttemptRecord *record);
ARK_API ArkEvent *ark_event_copy(const ArkEvent *event);
ARK_API void ark_event_free(ArkEvent *event);
/* (ABI 1.1) */
ARK_API ArkAuditRecord *ark_audit_record_copy(const ArkAuditRecord *record);
ARK_API void ark_audit_record_free(ArkAuditRecord *record);
/* (ABI 1.2) */
ARK_API ArkEstimateRecord *ark_estimate_record_copy(const ArkEstimateRecord *record);
ARK_API void ark_estimate_record_free(ArkEstimateRecord *record);
/* (ABI 1.3) */
ARK_API ArkObjectRecord *ark_object_record_copy(const ArkObjectRecord *record);
ARK_API void ark_object_record_free(ArkObjectRecord *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkRunRecord, ark_run_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkTaskRecord, ark_task_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkAttemptRecord, ark_attempt_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkEvent, ark_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkAuditRecord, ark_audit_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkEstimateRecord, ark_estimate_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkObjectRecord, ark_object_record_free)

/* boxed GTypes so records can travel through signals */
ARK_API GType ark_event_get_type(void);
#define ARK_TYPE_EVENT (ark_event_get_type())

G_END_DECLS
