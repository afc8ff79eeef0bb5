/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-coordinator-score.h"

/*
 * Competitive: "contenders" agents work on the same piece at once and the first accepted result
 * wins (the engine cancels the others). The contenders are the candidates with the best Thompson
 * scores, p × capability_match × (1 − 0.5 × load / max_load) with one posterior draw p per
 * candidate, so they are mostly the trusted agents with now and then one still being learned.
 * Every result the task's acceptance rule passes is accepted (no accept() of its own).
 */

#define ARK_COORDINATOR_COMPETITIVE_LOAD_WEIGHT 0.5
/* what the workflow parser defaults "contenders" to for mode "competitive" */
#define ARK_COORDINATOR_COMPETITIVE_DEFAULT_CONTENDERS 2

#define ARK_TYPE_COORDINATOR_COMPETITIVE (ark_coordinator_competitive_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorCompetitive, ark_coordinator_competitive, ARK,
		     COORDINATOR_COMPETITIVE, GObject)

struct _ArkCoordinatorCompetitive {
	GObject parent_instance;
	GRand *rand;	 /* the engine's, or own_rand */
	GRand *own_rand; /* when nobody gave one (setup not called) */
};

static void ark_coordinator_competitive_iface_init(ArkCoordinatorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkCoordinatorCompetitive, ark_coordinator_competitive,
			      G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_COORDINATOR,
						    ark_coordinator_competitive_iface_init))

static gboolean
ark_coordinator_competitive_setup(ArkCoordinator *coordinator, const ArkCoordinatorSetup *setup,
				  GError **error)
{
	ArkCoordinatorCompetitive *self = ARK_COORDINATOR_COMPETITIVE(coordinator);

	if (setup->rand != NULL)
		self->rand = setup->rand;
	return TRUE;
}

static guint
ark_coordinator_competitive_get_contenders(ArkCoordinator *coordinator, const ArkTaskSpec *spec)
{
	if (spec->agent == NULL || spec->agent->contenders == 0)
		return ARK_COORDINATOR_COMPETITIVE_DEFAULT_CONTENDERS;
	return MIN(spec->agent->contenders, ARK_AGENT_MAX_CONTENDERS);
}

static guint
ark_coordinator_competitive_choose(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
				   const ArkAgentCandidate *candidates, guint n_candidates,
				   guint *out_chosen, guint max_chosen)
{
	ArkCoordinatorCompetitive *self = ARK_COORDINATOR_COMPETITIVE(coordinator);

	return ark_coordinator_score_top(candidates, n_candidates, ARK_COORDINATOR_SCORE_SAMPLE,
					 ARK_COORDINATOR_COMPETITIVE_LOAD_WEIGHT, self->rand,
					 out_chosen, max_chosen);
}

static void
ark_coordinator_competitive_iface_init(ArkCoordinatorInterface *iface)
{
	iface->setup = ark_coordinator_competitive_setup;
	iface->choose = ark_coordinator_competitive_choose;
	iface->get_contenders = ark_coordinator_competitive_get_contenders;
}

static void
ark_coordinator_competitive_finalize(GObject *object)
{
	ArkCoordinatorCompetitive *self = ARK_COORDINATOR_COMPETITIVE(object);

	g_clear_pointer(&self->own_rand, g_rand_free);
	G_OBJECT_CLASS(ark_coordinator_competitive_parent_class)->finalize(object);
}

static void
ark_coordinator_competitive_class_init(ArkCoordinatorCompetitiveClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_coordinator_competitive_finalize;
}

static void
ark_coordinator_competitive_init(ArkCoordinatorCompetitive *self)
{
	self->own_rand = g_rand_new();
	self->rand = self->own_rand;
}

#define ARK_TYPE_COORDINATOR_COMPETITIVE_PLUGIN (ark_coordinator_competitive_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorCompetitivePlugin, ark_coordinator_competitive_plugin, ARK,
		     COORDINATOR_COMPETITIVE_PLUGIN, ArkPlugin)

struct _ArkCoordinatorCompetitivePlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkCoordinatorCompetitivePlugin, ark_coordinator_competitive_plugin,
		    ARK_TYPE_PLUGIN)

static gboolean
ark_coordinator_competitive_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry,
					   GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin),
				     ARK_CAPABILITY_COORDINATOR, "competitive",
				     ARK_TYPE_COORDINATOR_COMPETITIVE, error);
}

static void
ark_coordinator_competitive_plugin_class_init(ArkCoordinatorCompetitivePluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_coordinator_competitive_plugin_startup;
}

static void
ark_coordinator_competitive_plugin_init(ArkCoordinatorCompetitivePlugin *self)
{
}

ARK_PLUGIN_DEFINE("coordinator-competitive", ark_coordinator_competitive_plugin_get_type,
		  PACKAGE_VERSION, "LGPL-2.1-or-later",
		  "competitive agent tasks: several agents race, the first accepted result wins")
