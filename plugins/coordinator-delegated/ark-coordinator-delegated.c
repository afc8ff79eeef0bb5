/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect.h>

#include "ark-coordinator-score.h"

/*
 * Delegated: each piece of work goes to one agent. Which one is the strategy's choice:
 *   thompson     one draw p from each candidate's trust posterior Beta(alpha, beta), the highest
 *                p × capability_match × (1 − 0.5 × load / max_load) wins; an agent with little
 *                evidence draws widely and so is tried now and then (exploration) while a
 *                proven one wins most of the time (exploitation)
 *   greedy       the same score with the posterior mean instead of a draw: deterministic, never
 *                explores, so it can stay stuck on the first agent that looked good
 *   random       uniform among the candidates
 *   round-robin  the agent whose id follows the last chosen one (byte order), wrapping around;
 *                stable whatever order the engine lists the candidates in
 * Randomness comes from the engine's GRand, so a seeded engine (the simulator, tests) reproduces
 * every choice.
 */

typedef enum {
	ARK_COORDINATOR_DELEGATED_THOMPSON,
	ARK_COORDINATOR_DELEGATED_GREEDY,
	ARK_COORDINATOR_DELEGATED_RANDOM,
	ARK_COORDINATOR_DELEGATED_ROUND_ROBIN,
} ArkCoordinatorDelegatedStrategy;

static const gchar *const ark_coordinator_delegated_strategies[] = {
    "thompson", "greedy", "random", "round-robin", NULL};

/* how much a full agent's score is discounted against an idle one's */
#define ARK_COORDINATOR_DELEGATED_LOAD_WEIGHT 0.5

#define ARK_TYPE_COORDINATOR_DELEGATED (ark_coordinator_delegated_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorDelegated, ark_coordinator_delegated, ARK,
		     COORDINATOR_DELEGATED, GObject)

struct _ArkCoordinatorDelegated {
	GObject parent_instance;
	ArkCoordinatorDelegatedStrategy strategy;
	GRand *rand;	  /* the engine's, or own_rand */
	GRand *own_rand;  /* when nobody gave one (setup not called) */
	gchar *last_id;	  /* round-robin: the agent chosen last */
};

static void ark_coordinator_delegated_iface_init(ArkCoordinatorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkCoordinatorDelegated, ark_coordinator_delegated, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_COORDINATOR,
						    ark_coordinator_delegated_iface_init))

static gboolean
ark_coordinator_delegated_setup(ArkCoordinator *coordinator, const ArkCoordinatorSetup *setup,
				GError **error)
{
	ArkCoordinatorDelegated *self = ARK_COORDINATOR_DELEGATED(coordinator);
	g_autofree gchar *value = NULL;

	if (setup->rand != NULL)
		self->rand = setup->rand;
	if (setup->config == NULL || setup->group == NULL ||
	    !g_key_file_has_key(setup->config, setup->group, "strategy", NULL))
		return TRUE;
	value = g_key_file_get_string(setup->config, setup->group, "strategy", NULL);
	if (value != NULL)
		g_strstrip(value);
	for (guint i = 0; value != NULL && ark_coordinator_delegated_strategies[i] != NULL; i++) {
		if (strcmp(value, ark_coordinator_delegated_strategies[i]) == 0) {
			self->strategy = (ArkCoordinatorDelegatedStrategy)i;
			return TRUE;
		}
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "[%s] strategy must be thompson, greedy, random or round-robin",
		    setup->group);
	return FALSE;
}

static const gchar *
ark_coordinator_delegated_id(const ArkAgentCandidate *candidate)
{
	return candidate->agent_id != NULL ? candidate->agent_id : "";
}

static guint
ark_coordinator_delegated_round_robin(ArkCoordinatorDelegated *self,
				      const ArkAgentCandidate *candidates, guint n_candidates)
{
	gint next = -1;	 /* the smallest id after last_id */
	gint first = -1; /* the smallest id, to wrap around to */

	for (guint i = 0; i < n_candidates; i++) {
		const gchar *id = ark_coordinator_delegated_id(&candidates[i]);
		if (first < 0 || strcmp(id, ark_coordinator_delegated_id(&candidates[first])) < 0)
			first = (gint)i;
		if (self->last_id != NULL && strcmp(id, self->last_id) > 0 &&
		    (next < 0 || strcmp(id, ark_coordinator_delegated_id(&candidates[next])) < 0))
			next = (gint)i;
	}
	return next >= 0 ? (guint)next : (guint)first;
}

static guint
ark_coordinator_delegated_choose(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
				 const ArkAgentCandidate *candidates, guint n_candidates,
				 guint *out_chosen, guint max_chosen)
{
	ArkCoordinatorDelegated *self = ARK_COORDINATOR_DELEGATED(coordinator);
	guint chosen;

	if (n_candidates == 0 || max_chosen == 0)
		return 0;
	switch (self->strategy) {
	case ARK_COORDINATOR_DELEGATED_RANDOM:
		chosen = (guint)g_rand_int_range(self->rand, 0, (gint32)n_candidates);
		break;
	case ARK_COORDINATOR_DELEGATED_ROUND_ROBIN:
		chosen = ark_coordinator_delegated_round_robin(self, candidates, n_candidates);
		break;
	case ARK_COORDINATOR_DELEGATED_GREEDY:
		ark_coordinator_score_top(candidates, n_candidates, ARK_COORDINATOR_SCORE_MEAN,
					  ARK_COORDINATOR_DELEGATED_LOAD_WEIGHT, self->rand,
					  &chosen, 1);
		break;
	case ARK_COORDINATOR_DELEGATED_THOMPSON:
	default:
		ark_coordinator_score_top(candidates, n_candidates, ARK_COORDINATOR_SCORE_SAMPLE,
					  ARK_COORDINATOR_DELEGATED_LOAD_WEIGHT, self->rand,
					  &chosen, 1);
		break;
	}
	g_free(self->last_id);
	self->last_id = g_strdup(ark_coordinator_delegated_id(&candidates[chosen]));
	out_chosen[0] = chosen;
	return 1;
}

static void
ark_coordinator_delegated_iface_init(ArkCoordinatorInterface *iface)
{
	iface->setup = ark_coordinator_delegated_setup;
	iface->choose = ark_coordinator_delegated_choose;
}

static void
ark_coordinator_delegated_finalize(GObject *object)
{
	ArkCoordinatorDelegated *self = ARK_COORDINATOR_DELEGATED(object);

	g_free(self->last_id);
	g_clear_pointer(&self->own_rand, g_rand_free);
	G_OBJECT_CLASS(ark_coordinator_delegated_parent_class)->finalize(object);
}

static void
ark_coordinator_delegated_class_init(ArkCoordinatorDelegatedClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_coordinator_delegated_finalize;
}

static void
ark_coordinator_delegated_init(ArkCoordinatorDelegated *self)
{
	self->strategy = ARK_COORDINATOR_DELEGATED_THOMPSON;
	self->own_rand = g_rand_new();
	self->rand = self->own_rand;
}

#define ARK_TYPE_COORDINATOR_DELEGATED_PLUGIN (ark_coordinator_delegated_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorDelegatedPlugin, ark_coordinator_delegated_plugin, ARK,
		     COORDINATOR_DELEGATED_PLUGIN, ArkPlugin)

struct _ArkCoordinatorDelegatedPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkCoordinatorDelegatedPlugin, ark_coordinator_delegated_plugin,
		    ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_coordinator_delegated_config_keys[] = {
    {"strategy", ARK_CONFIG_ENUM, "thompson",
     "how the one agent of a delegated task is chosen: thompson samples each agent's trust, "
     "greedy takes the best posterior mean, random is uniform, round-robin takes turns",
     .choices = ark_coordinator_delegated_strategies},
};

static gboolean
ark_coordinator_delegated_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry,
					 GError **error)
{
	if (!ark_registry_add_config_keys(registry, ark_plugin_get_name(plugin),
					  "coordinator-delegated",
					  ark_coordinator_delegated_config_keys,
					  G_N_ELEMENTS(ark_coordinator_delegated_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin),
				     ARK_CAPABILITY_COORDINATOR, "delegated",
				     ARK_TYPE_COORDINATOR_DELEGATED, error);
}

static void
ark_coordinator_delegated_plugin_class_init(ArkCoordinatorDelegatedPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_coordinator_delegated_plugin_startup;
}

static void
ark_coordinator_delegated_plugin_init(ArkCoordinatorDelegatedPlugin *self)
{
}

ARK_PLUGIN_DEFINE("coordinator-delegated", ark_coordinator_delegated_plugin_get_type,
		  PACKAGE_VERSION, "LGPL-2.1-or-later",
		  "delegated agent tasks: one agent per piece, chosen by Thompson sampling of trust")
