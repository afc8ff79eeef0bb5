/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_CORE_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect-core.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "ark-engine.h"

G_BEGIN_DECLS

/*
 * Agents (ABI 1.3): external workers that register, claim pieces of agent tasks
 * ("executor": "agent"), hold them under a fenced lease, report progress and results, and are
 * trusted according to how they did. docs/agents.md describes the protocol and every member of
 * the JSON objects below; every frontend (HTTP, MCP, D-Bus, the CLI) returns them as they are.
 *
 * Identity: an agent is registered by a client with the right to (an admin token, a local user)
 * and gets a credential, its token, that is shown once and kept only as a hash. Every call an
 * agent makes about its own work names the agent, which the frontend has authenticated with
 * ark_engine_authenticate_agent(); an agent can only claim, heartbeat, complete, fail and
 * release its own assignments (ARK_ERROR_PERMISSION_DENIED otherwise).
 *
 * Assignments: one agent's hold on one piece of an agent task: "offered" (chosen by the
 * task's coordinator, waiting for the agent to claim it), "claimed" (held under a lease that
 * heartbeats renew; every call about it must carry its fencing token), then "completed",
 * "rejected", "failed", "released", "expired" or "cancelled". A call with a fencing token
 * that is not the assignment's current one, or about an assignment that is no longer held,
 * fails with ARK_ERROR_CONFLICT and changes nothing.
 *
 * Register, deregister, complete, fail and release commit their effect and their audit record
 * before they return; if the store fails, they fail with its error (ARK_ERROR_STORAGE).
 *
 * All functions are for the main thread.
 */

/* limits on what an agent may send */
#define ARK_AGENT_MAX_NAME_LEN 128
#define ARK_AGENT_MAX_METADATA_BYTES (16 * 1024)
#define ARK_AGENT_MAX_ASSIGNMENTS 1024	  /* "max_assignments" of one agent */
#define ARK_AGENT_MAX_PROGRESS_BYTES (16 * 1024)
#define ARK_AGENT_MAX_REASON_LEN 4096
#define ARK_AGENT_MAX_WAIT ((gint64)300 * G_USEC_PER_SEC) /* longest claim long-poll */

/*
 * Registers an agent. @spec: {"name": string, "capabilities": [string | {"name": string,
 * "proficiency": 0..1}], "max_assignments": 1..1024 (default 1), "metadata": object}. Returns the
 * agent (as ark_engine_get_agent()) with one more member, "token": its credential, which is
 * never shown again. ARK_ERROR_INVALID_ARGUMENT names the first bad member. @by is audited.
 */
ARK_API JsonObject *ark_engine_register_agent(ArkEngine *self, JsonObject *spec, const gchar *by,
					      GError **error);
/* forgets the agent; what it held is reassigned. ARK_ERROR_NOT_FOUND for an unknown id */
ARK_API gboolean ark_engine_deregister_agent(ArkEngine *self, const gchar *agent_id,
					     const gchar *by, GError **error);
/* the id of the agent whose token @token is (transfer full), or NULL; compares in constant time */
ARK_API gchar *ark_engine_authenticate_agent(ArkEngine *self, const gchar *token);

/* every agent, by id: each as ark_engine_get_agent() without "assignments" (transfer full) */
ARK_API JsonArray *ark_engine_list_agents(ArkEngine *self);
/* {"id", "name", "capabilities": [{"name", "proficiency"}], "max_assignments", "metadata",
 *  "state": "online" | "offline", "registered_at", "last_heartbeat", "load",
 *  "trust": {capability: ArkTrust as JSON, ...}, "assignments": [ids]}; NOT_FOUND if unknown */
ARK_API JsonObject *ark_engine_get_agent(ArkEngine *self, const gchar *agent_id, GError **error);

/* keeps @agent_id online; returns {"state", "heartbeat_timeout_ms", "assignments": [...]} */
ARK_API JsonObject *ark_engine_agent_heartbeat(ArkEngine *self, const gchar *agent_id,
					       GError **error);

/*
 * Called once with the assignment the agent now holds (as ark_engine_get_assignment(), with
 * "input", "fence" and "lease_expires_at"), or with NULL and no error when nothing came within
 * the wait, or with an error (unknown agent; G_IO_ERROR_CANCELLED after @cancellable fired).
 * @assignment is borrowed for the call.
 */
typedef void (*ArkClaimCallback)(ArkEngine *engine, JsonObject *assignment, const GError *error,
				 gpointer user_data);
/*
 * Claims work for @agent_id (which also counts as a heartbeat): an assignment offered to it,
 * or, when there is none, waits up to @wait microseconds (0 to ARK_AGENT_MAX_WAIT) for one.
 * @callback runs exactly once, possibly before this returns. A claim that is answered after its
 * client went away (the frontend cancels @cancellable) hands nothing out: an assignment is only
 * claimed when the callback that carries it runs.
 */
ARK_API void ark_engine_claim_assignment(ArkEngine *self, const gchar *agent_id, gint64 wait,
					 GCancellable *cancellable, ArkClaimCallback callback,
					 gpointer user_data);

/* renews the lease of a claimed assignment and records @progress (any JSON, or NULL; at most
 * ARK_AGENT_MAX_PROGRESS_BYTES); returns {"lease_expires_at", "state"} */
ARK_API JsonObject *ark_engine_assignment_heartbeat(ArkEngine *self, const gchar *agent_id,
						    const gchar *assignment_id, guint64 fence,
						    JsonNode *progress, GError **error);
/*
 * Hands in the result (any JSON value, at most ARK_RESULT_MAX_BYTES) of a claimed assignment.
 * Returns {"state": "completed" | "rejected" | "checking", "reason"?}: "checking" while an
 * acceptance command runs (the assignment's state says how it ended).
 */
ARK_API JsonObject *ark_engine_complete_assignment(ArkEngine *self, const gchar *agent_id,
						   const gchar *assignment_id, guint64 fence,
						   JsonNode *result, GError **error);
/* the agent could not do it: counts against its trust and fails the piece (@reason required) */
ARK_API gboolean ark_engine_fail_assignment(ArkEngine *self, const gchar *agent_id,
					    const gchar *assignment_id, guint64 fence,
					    const gchar *reason, GError **error);
/* the agent gives the piece back without a verdict; it is offered to another agent (the loop
 * guard counts it) */
ARK_API gboolean ark_engine_release_assignment(ArkEngine *self, const gchar *agent_id,
					       const gchar *assignment_id, guint64 fence,
					       const gchar *reason, GError **error);

/* the assignments that are offered or held (@agent_id NULL for every agent), oldest first */
ARK_API JsonArray *ark_engine_list_assignments(ArkEngine *self, const gchar *agent_id);
/* {"id", "run_id", "task_id", "attempt", "piece", "agent_id", "state", "mode", "offered_at",
 *  "claimed_at"?, "lease_expires_at"?, "progress"?, "fence" (only for its agent: see below)} */
ARK_API JsonObject *ark_engine_get_assignment(ArkEngine *self, const gchar *assignment_id,
					      GError **error);
/*
 * Why an assignment is where it is: the assignment, plus "choice" (the coordinator, the
 * candidates it was chosen from with their trust, match and load, and what it chose), and
 * "history" (every holder of that piece and how each one ended). A supervisor's call.
 */
ARK_API JsonObject *ark_engine_explain_assignment(ArkEngine *self, const gchar *assignment_id,
						  GError **error);

G_END_DECLS
