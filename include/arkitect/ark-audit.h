/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_CORE_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect-core.h> can be included directly."
#endif

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

/**
 * ArkAuditEntry:
 *
 * One mutating call, as a frontend describes it to ark_engine_audit(). Strings are borrowed.
 * The engine adds the time, the sequence number and the hash chain.
 */
typedef struct {
	const gchar *actor;	 /* who: a token name, "uid 1000 (alice)", an agent id */
	const gchar *origin;	 /* how: "http 127.0.0.1:41234", "dbus :1.42", "cli" */
	const gchar *action;	 /* what: "run.submit", "run.cancel", "task.cancel", "task.retry",
				  * "dlq.replay", ... */
	const gchar *target;	 /* on what: a run id, "RUN/TASK", or NULL */
	const gchar *result;	 /* "ok", or the ArkError nick of the failure ("not-found", ...) */
	const gchar *request_id; /* the frontend's request id, or NULL */
	const gchar *detail;	 /* a JSON object with anything else worth keeping, or NULL */
	/*< private >*/
	gpointer reserved[4];
} ArkAuditEntry;

G_END_DECLS
