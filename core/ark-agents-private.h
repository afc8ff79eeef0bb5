/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * Agents inside core (docs/agents.md): the registry of agents, their assignments and trust
 * (ark-agents.c), and the "agent" executor that turns one attempt of an agent task into pieces
 * of work offered to agents (ark-agent-executor.c). The engine owns one ArkAgents and talks to
 * it through these functions; everything runs on the main thread.
 */

typedef struct _ArkAgents ArkAgents;

/* ark-agents.c ------------------------------------------------------------------------------- */

ArkAgents *ark_agents_new(ArkEngine *engine);
void ark_agents_free(ArkAgents *self);
/* reads [agents], sets up every registered coordinator and loads agents, trust and assignments
 * from the store; before any run is resumed */
gboolean ark_agents_start(ArkAgents *self, GError **error);
/* stops the timers and answers every waiting claim with nothing; attempts and assignments stay
 * as they are recorded, for the next start to adopt */
void ark_agents_shutdown(ArkAgents *self);

/* the coordinator set up under @mode, or NULL */
ArkCoordinator *ark_agents_get_coordinator(ArkAgents *self, const gchar *mode);
/* "competitive, cooperative, delegated" (transfer full) */
gchar *ark_agents_list_coordinators(ArkAgents *self);

/* the engine's clock seam: the earliest lease, offer, heartbeat, claim wait or attempt timeout */
gboolean ark_agents_get_next_timer(ArkAgents *self, ArkTimestamp *out_at);
void ark_agents_fire_timers(ArkAgents *self);

/* the agent part of explaining a running agent task: adds "agents" to @b, returns the summary
 * (transfer full) or NULL when it knows nothing of the attempt */
gchar *ark_agents_explain_task(ArkAgents *self, const gchar *run_id, const gchar *task_id,
			       JsonBuilder *b);

/* the executor's side: an attempt of an agent task starts with its pieces (JsonNode, transfer
 * full), or is adopted back after a restart with the assignments recorded for it */
void ark_agents_work_start(ArkAgents *self, ArkAttempt *attempt, GPtrArray *pieces,
			   gboolean adopted);
/* ends the attempt's work: every assignment still held ends cancelled, and the attempt finishes
 * with @status and @reason */
void ark_agents_work_stop(ArkAgents *self, ArkAttempt *attempt, ArkAttemptStatus status,
			  const gchar *reason);

/* ark-agent-executor.c ----------------------------------------------------------------------- */

#define ARK_TYPE_AGENT_EXECUTOR (ark_agent_executor_get_type())
G_DECLARE_FINAL_TYPE(ArkAgentExecutor, ark_agent_executor, ARK, AGENT_EXECUTOR, GObject)

ArkExecutor *ark_agent_executor_new(ArkEngine *engine, ArkAgents *agents);
/* adopts an attempt that was running when the engine stopped */
void ark_agent_executor_adopt(ArkExecutor *executor, ArkAttempt *attempt);

/* the pieces of an attempt: the coordinator's split of the task's input (or of the upstream
 * result with "shards_from"); element type JsonNode (transfer full) */
GPtrArray *ark_agent_executor_split(ArkAgents *agents, ArkEngine *engine, ArkAttempt *attempt,
				    GError **error);

/*
 * The acceptance rule of @spec on @result: @callback runs once with whether it accepts and, when
 * not, why; at once for "first" and "schema", after the command exits (or is killed after 30 s)
 * for "command".
 */
typedef void (*ArkAgentAcceptFunc)(gboolean accepted, const gchar *reason, gpointer user_data);
/* @callback never runs once @cancellable is cancelled (@user_data is then dropped with
 * @destroy) */
void ark_agent_executor_check_result(const ArkTaskSpec *spec, JsonNode *result,
				     GCancellable *cancellable, ArkAgentAcceptFunc callback,
				     gpointer user_data, GDestroyNotify destroy);

/* engine hooks for agents, in ark-engine.c ------------------------------------------------- */

ArkAgents *ark_engine_get_agents(ArkEngine *self);
ArkTimestamp ark_engine_get_time(ArkEngine *self);
GRand *ark_engine_get_rand(ArkEngine *self);
/* the batch of the next commit (which is scheduled) */
ArkStoreBatch *ark_engine_get_batch(ArkEngine *self);
/* commits what the engine holds now (nothing to commit is fine); FALSE after a store failure,
 * which stops the engine */
gboolean ark_engine_commit(ArkEngine *self, GError **error);
/* an ARK_EVENT_ASSIGNMENT of an open run, with @data (a JSON object) */
void ark_engine_add_assignment_event(ArkEngine *self, const gchar *run_id, const gchar *task_id,
				     guint attempt, const gchar *data);
/* the deadline of a task of an open run, 0 for none */
ArkTimestamp ark_engine_get_task_deadline(ArkEngine *self, const gchar *run_id,
					  const gchar *task_id);
/* the attempt ends in the dead-letter queue whatever its retry budget (the loop guard); call
 * before finishing it */
void ark_engine_set_attempt_dead(ArkEngine *self, ArkAttempt *attempt);
/* the result of the last successful attempt of task @task_id of run @run_id (transfer full) */
JsonNode *ark_engine_get_task_result(ArkEngine *self, const gchar *run_id, const gchar *task_id,
				     GError **error);

G_END_DECLS
