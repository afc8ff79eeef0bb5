/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

/**
 * ArkTaskState:
 *
 * pending -> ready -> running -> succeeded | failed, with retry_wait between attempts, cancelled,
 * skipped (an upstream failure) and dead (retries exhausted, parked in the dead-letter queue).
 * The numeric values are stored: append only.
 */
typedef enum {
	ARK_TASK_STATE_PENDING = 0,
	ARK_TASK_STATE_READY = 1,
	ARK_TASK_STATE_RUNNING = 2,
	ARK_TASK_STATE_RETRY_WAIT = 3,
	ARK_TASK_STATE_SUCCEEDED = 4,
	ARK_TASK_STATE_FAILED = 5,
	ARK_TASK_STATE_CANCELLED = 6,
	ARK_TASK_STATE_SKIPPED = 7,
	ARK_TASK_STATE_DEAD = 8,
	/*< private >*/
	ARK_TASK_STATE_LAST
} ArkTaskState;

/* a run is terminal when every task is; values are stored: append only */
typedef enum {
	ARK_RUN_STATE_PENDING = 0,
	ARK_RUN_STATE_RUNNING = 1,
	ARK_RUN_STATE_SUCCEEDED = 2,
	ARK_RUN_STATE_FAILED = 3,
	ARK_RUN_STATE_CANCELLED = 4,
	/*< private >*/
	ARK_RUN_STATE_LAST
} ArkRunState;

/* how one attempt ended; values are stored: append only */
typedef enum {
	ARK_ATTEMPT_STATUS_RUNNING = 0,
	ARK_ATTEMPT_STATUS_SUCCEEDED = 1,
	ARK_ATTEMPT_STATUS_FAILED = 2,	  /* ran and reported failure, e.g. a non-zero exit */
	ARK_ATTEMPT_STATUS_TIMED_OUT = 3, /* killed after its execution timeout */
	ARK_ATTEMPT_STATUS_CANCELLED = 4,
	ARK_ATTEMPT_STATUS_LOST = 5,  /* the process holding it died; found at recovery */
	ARK_ATTEMPT_STATUS_ERROR = 6, /* could not be started: missing binary, bad cwd, ... */
	/*< private >*/
	ARK_ATTEMPT_STATUS_LAST
} ArkAttemptStatus;

typedef enum {
	ARK_EVENT_RUN_SUBMITTED = 0,
	ARK_EVENT_RUN_STARTED = 1,
	ARK_EVENT_RUN_FINISHED = 2,
	ARK_EVENT_TASK_STATE = 3, /* a task moved to ArkEvent.task_state */
	ARK_EVENT_ATTEMPT_STARTED = 4,
	ARK_EVENT_ATTEMPT_FINISHED = 5,
	/* (ABI 1.2) a task finished after its deadline; data: deadline, finished_at, late_by */
	ARK_EVENT_DEADLINE_MISSED = 6,
	/* (ABI 1.2) admission control accepted a run that may miss deadlines; data: the tasks */
	ARK_EVENT_DEADLINE_AT_RISK = 7,
	/* (ABI 1.3) an assignment of an agent task changed; @state is unused, data: assignment,
	 * agent, state, piece (and reason when it ended badly) */
	ARK_EVENT_ASSIGNMENT = 8,
	/*< private >*/
	ARK_EVENT_LAST
} ArkEventKind;

ARK_API const gchar *ark_task_state_to_string(ArkTaskState state);
ARK_API gboolean ark_task_state_from_string(const gchar *str, ArkTaskState *out_state);
ARK_API gboolean ark_task_state_is_terminal(ArkTaskState state);
ARK_API const gchar *ark_run_state_to_string(ArkRunState state);
ARK_API gboolean ark_run_state_from_string(const gchar *str, ArkRunState *out_state);
ARK_API gboolean ark_run_state_is_terminal(ArkRunState state);
ARK_API const gchar *ark_attempt_status_to_string(ArkAttemptStatus status);
ARK_API gboolean ark_attempt_status_from_string(const gchar *str, ArkAttemptStatus *out_status);
ARK_API const gchar *ark_event_kind_to_string(ArkEventKind kind);

/* microseconds since the Unix epoch (g_get_real_time), the unit of every timestamp in the SDK */
typedef gint64 ArkTimestamp;

/* a fresh, time-ordered, URL-safe identifier (26 characters, Crockford base32, like a ULID) */
ARK_API gchar *ark_id_new(void);

/* RFC 3339 with microseconds in UTC, e.g. 2026-11-24T01:02:03.000004Z; NULL for 0 */
ARK_API gchar *ark_timestamp_format(ArkTimestamp ts);
/* appends ark_timestamp_format()'s text for @ts, nothing for 0; for writers of many records,
 * without an allocation or a libc time call in the usual case (ABI 1.4) */
ARK_API void ark_timestamp_append(GString *out, ArkTimestamp ts);

/* appends @str as a JSON string literal: quotes, backslash escapes, \u00XX for other control
 * characters; invalid UTF-8 is replaced (ABI 1.1) */
ARK_API void ark_json_append_string(GString *out, const gchar *str);

/* TRUE when @text is exactly one JSON value (RFC 8259, UTF-8) nested at most @max_depth deep;
 * iterative, safe on any input. ARK_ERROR_INVALID_ARGUMENT says what and where (ABI 1.3) */
ARK_API gboolean ark_json_validate(const gchar *text, gssize length, guint max_depth,
				   GError **error);

G_END_DECLS
