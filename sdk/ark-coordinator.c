/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

G_DEFINE_INTERFACE(ArkCoordinator, ark_coordinator, G_TYPE_OBJECT)

static void
ark_coordinator_default_init(ArkCoordinatorInterface *iface)
{
}

guint
ark_coordinator_choose(ArkCoordinator *self, const ArkTaskSpec *spec,
		       const ArkAgentCandidate *candidates, guint n_candidates, guint *out_chosen,
		       guint max_chosen)
{
	ArkCoordinatorInterface *iface;
	g_return_val_if_fail(ARK_IS_COORDINATOR(self), 0);
	g_return_val_if_fail(spec != NULL, 0);
	g_return_val_if_fail(n_candidates == 0 || candidates != NULL, 0);
	g_return_val_if_fail(max_chosen == 0 || out_chosen != NULL, 0);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->choose == NULL)
		return 0;
	return MIN(iface->choose(self, spec, candidates, n_candidates, out_chosen, max_chosen),
		   max_chosen);
}

gboolean
ark_coordinator_accept(ArkCoordinator *self, const ArkTaskSpec *spec, const gchar *agent_id,
		       const gchar *result_json, GError **error)
{
	ArkCoordinatorInterface *iface;
	g_return_val_if_fail(ARK_IS_COORDINATOR(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->accept == NULL)
		return TRUE;
	return iface->accept(self, spec, agent_id, result_json, error);
}
