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
	/*< private >*/
	gpointer reserved[4];
} ArkAgentCandidate;

#define ARK_TYPE_COORDINATOR (ark_coordinator_get_type())
ARK_API G_DECLARE_INTERFACE(ArkCoordinator, ark_coordinator, ARK, COORDINATOR, GObject)

/**
 * ArkCoordinatorInterface:
 * @choose: pick the agents to offer @spec to, writing indices into @candidates to @out_chosen
 *   (at most @max_chosen); returns how many were chosen
 * @accept: (optional) decide whether a result completes the task; TRUE accepts
 *
 * The agent coordination modes (delegated, competitive, cooperative). Declared in ABI 1.0 so that
 * coordinator plugins can be written against it; the engine's agent executor that drives them
 * arrives in a later minor.
 */
struct _ArkCoordinatorInterface {
	GTypeInterface g_iface;

	guint (*choose)(ArkCoordinator *self, const ArkTaskSpec *spec,
			const ArkAgentCandidate *candidates, guint n_candidates, guint *out_chosen,
			guint max_chosen);
	gboolean (*accept)(ArkCoordinator *self, const ArkTaskSpec *spec, const gchar *agent_id,
			   const gchar *result_json, GError **error);

	/*< private >*/
	gpointer padding[16];
};

ARK_API guint ark_coordinator_choose(ArkCoordinator *self, const ArkTaskSpec *spec,
				     const ArkAgentCandidate *candidates, guint n_candidates,
				     guint *out_chosen, guint max_chosen);
ARK_API gboolean ark_coordinator_accept(ArkCoordinator *self, const ArkTaskSpec *spec,
					const gchar *agent_id, const gchar *result_json,
					GError **error);

G_END_DECLS
