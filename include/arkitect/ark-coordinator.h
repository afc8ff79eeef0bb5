/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-workflow.h"

G_BEGIN_DECLS

/**
 * ArkAgentCandidate:
 *
 * An online agent that could take an agent task, as a coordinator sees it.
 */
typedef struct {
	const gchar *agent_id;
	gdouble capability_match; /* 0..1 */
	gdouble trust_alpha;	  /* Beta posterior of success for the task's capabilities */
	gdouble trust_beta;
	guint load;		  /* assignments held */
	guint max_load;
	/* (ABI 1.3) */
	gdouble latency_mean; /* seconds an accepted result took, decayed mean; 0 when unknown */
	guint n_rejected;     /* results of this agent the acceptance rule refused */
	guint n_observations; /* outcomes the trust record was learned from */
	/*< private >*/
	gpointer reserved[2];
} ArkAgentCandidate;

#define ARK_TYPE_COORDINATOR (ark_coordinator_get_type())
ARK_API G_DECLARE_INTERFACE(ArkCoordinator, ark_coordinator, ARK, COORDINATOR, GObject)

/**
 * ArkCoordinatorSetup:
 *
 * What the engine tells a coordinator before it is used. (ABI 1.3)
 */
typedef struct {
	const gchar *name;  /* the name it was registered under, e.g. "delegated" */
	GKeyFile *config;   /* configuration, may be NULL */
	const gchar *group; /* its group of @config, e.g. "coordinator-delegated" */
	GRand *rand;	    /* the engine's random source (seeded by tests and the simulator);
			     * main thread only */
	/*< private >*/
	gpointer reserved[6];
} ArkCoordinatorSetup;

/**
 * ArkCoordinatorInterface:
 * @choose: pick the agents to offer one piece of work of @spec to, writing indices into
 *   @candidates to @out_chosen (distinct, at most @max_chosen); returns how many were chosen.
 *   @candidates are the online agents that have every capability @spec requires and a free
 *   assignment slot, minus those that already held this piece of work; the engine offers the
 *   piece to each chosen agent. Returning 0 leaves it waiting for the next change (an agent
 *   registers, comes online or frees a slot).
 * @accept: (optional) decide whether a result completes the task; TRUE accepts. Called after the
 *   task's own acceptance rule ("accept") passed.
 * @setup: (optional) read configuration; called once, before any other method (ABI 1.3)
 * @get_contenders: (optional) how many agents work on one piece of work at once; default 1
 *   (ABI 1.3)
 * @split: (optional) the pieces of work of @spec given its @input (the task's "input" or, with
 *   "shards_from", the upstream result): append one #JsonNode (transfer full) per piece to
 *   @out_pieces. Default: one piece, @input itself (ABI 1.3)
 * @merge: (optional) the task's result from the accepted result of every piece, in piece
 *   order (@results[i] may be a JSON null). Default: @results[0] when there is one piece, else a
 *   JSON array of them (ABI 1.3)
 *
 * The agent coordination modes: delegated, competitive, cooperative (docs/agents.md). All
 * methods are called on the main thread and must not block.
 */
struct _ArkCoordinatorInterface {
	GTypeInterface g_iface;

	guint (*choose)(ArkCoordinator *self, const ArkTaskSpec *spec,
			const ArkAgentCandidate *candidates, guint n_candidates, guint *out_chosen,
			guint max_chosen);
	gboolean (*accept)(ArkCoordinator *self, const ArkTaskSpec *spec, const gchar *agent_id,
			   const gchar *result_json, GError **error);
	gboolean (*setup)(ArkCoordinator *self, const ArkCoordinatorSetup *setup, GError **error);
	guint (*get_contenders)(ArkCoordinator *self, const ArkTaskSpec *spec);
	gboolean (*split)(ArkCoordinator *self, const ArkTaskSpec *spec, JsonNode *input,
			  GPtrArray *out_pieces, GError **error);
	JsonNode *(*merge)(ArkCoordinator *self, const ArkTaskSpec *spec, JsonNode **results,
			   guint n_results, GError **error);

	/*< private >*/
	gpointer padding[12];
};

ARK_API guint ark_coordinator_choose(ArkCoordinator *self, const ArkTaskSpec *spec,
				     const ArkAgentCandidate *candidates, guint n_candidates,
				     guint *out_chosen, guint max_chosen);
ARK_API gboolean ark_coordinator_accept(ArkCoordinator *self, const ArkTaskSpec *spec,
					const gchar *agent_id, const gchar *result_json,
					GError **error);
/* (ABI 1.3) the wrappers apply the defaults documented above for a missing method */
ARK_API gboolean ark_coordinator_setup(ArkCoordinator *self, const ArkCoordinatorSetup *setup,
				       GError **error);
ARK_API guint ark_coordinator_get_contenders(ArkCoordinator *self, const ArkTaskSpec *spec);
ARK_API gboolean ark_coordinator_split(ArkCoordinator *self, const ArkTaskSpec *spec,
				       JsonNode *input, GPtrArray *out_pieces, GError **error);
ARK_API JsonNode *ark_coordinator_merge(ArkCoordinator *self, const ArkTaskSpec *spec,
					JsonNode **results, guint n_results, GError **error);

G_END_DECLS
