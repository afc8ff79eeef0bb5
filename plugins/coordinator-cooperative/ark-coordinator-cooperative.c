/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-coordinator-score.h"

/*
 * Cooperative: the work is a JSON array of shards and each shard is a piece of work of its own,
 * done by one agent; the task's result is the array of the pieces' results, in shard order. The
 * shards are the task's "agent.shards" or, with "agent.shards_from", the result of that upstream
 * task (the engine passes it as the input). Each piece goes to the candidate with the best
 * p × capability_match × (1 − load / max_load), p a draw from its trust posterior: the load
 * weighs fully here, so the pieces spread over the agents instead of piling onto the best one.
 */

#define ARK_COORDINATOR_COOPERATIVE_LOAD_WEIGHT 1.0

#define ARK_TYPE_COORDINATOR_COOPERATIVE (ark_coordinator_cooperative_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorCooperative, ark_coordinator_cooperative, ARK,
		     COORDINATOR_COOPERATIVE, GObject)

struct _ArkCoordinatorCooperative {
	GObject parent_instance;
	GRand *rand;	 /* the engine's, or own_rand */
	GRand *own_rand; /* when nobody gave one (setup not called) */
};

static void ark_coordinator_cooperative_iface_init(ArkCoordinatorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkCoordinatorCooperative, ark_coordinator_cooperative,
			      G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_COORDINATOR,
						    ark_coordinator_cooperative_iface_init))

static gboolean
ark_coordinator_cooperative_setup(ArkCoordinator *coordinator, const ArkCoordinatorSetup *setup,
				  GError **error)
{
	ArkCoordinatorCooperative *self = ARK_COORDINATOR_COOPERATIVE(coordinator);

	if (setup->rand != NULL)
		self->rand = setup->rand;
	return TRUE;
}

static const gchar *
ark_coordinator_cooperative_node_kind(JsonNode *node)
{
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return "null";
	if (JSON_NODE_HOLDS_OBJECT(node))
		return "an object";
	if (JSON_NODE_HOLDS_ARRAY(node))
		return "an array";
	return "a single value";
}

static gboolean
ark_coordinator_cooperative_split(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
				  JsonNode *input, GPtrArray *out_pieces, GError **error)
{
	const gchar *from = "the input";
	JsonNode *shards = input;
	JsonArray *array;
	guint n;

	if (spec->agent != NULL && spec->agent->shards != NULL) {
		shards = spec->agent->shards;
		from = "\"shards\"";
	} else if (spec->agent != NULL && spec->agent->shards_from != NULL) {
		from = "the result of the \"shards_from\" task";
	}
	if (shards == NULL || !JSON_NODE_HOLDS_ARRAY(shards)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "cooperative task %s: %s must be a JSON array of shards, got %s",
			    spec->id != NULL ? spec->id : "", from,
			    ark_coordinator_cooperative_node_kind(shards));
		return FALSE;
	}
	array = json_node_get_array(shards);
	n = json_array_get_length(array);
	if (n == 0 || n > ARK_AGENT_MAX_SHARDS) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "cooperative task %s: %s has %u shards, it must have 1 to %u",
			    spec->id != NULL ? spec->id : "", from, n, (guint)ARK_AGENT_MAX_SHARDS);
		return FALSE;
	}
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(out_pieces, json_node_copy(json_array_get_element(array, i)));
	return TRUE;
}

static guint
ark_coordinator_cooperative_choose(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
				   const ArkAgentCandidate *candidates, guint n_candidates,
				   guint *out_chosen, guint max_chosen)
{
	ArkCoordinatorCooperative *self = ARK_COORDINATOR_COOPERATIVE(coordinator);

	/* one agent per piece, whatever the engine allows */
	return ark_coordinator_score_top(candidates, n_candidates, ARK_COORDINATOR_SCORE_SAMPLE,
					 ARK_COORDINATOR_COOPERATIVE_LOAD_WEIGHT, self->rand,
					 out_chosen, MIN(max_chosen, 1));
}

static JsonNode *
ark_coordinator_cooperative_merge(ArkCoordinator *coordinator, const ArkTaskSpec *spec,
				  JsonNode **results, guint n_results, GError **error)
{
	JsonArray *array = json_array_sized_new(n_results);
	JsonNode *merged;

	for (guint i = 0; i < n_results; i++) {
		if (results[i] != NULL)
			json_array_add_element(array, json_node_copy(results[i]));
		else
			json_array_add_null_element(array);
	}
	merged = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(merged, array);
	return merged;
}

static void
ark_coordinator_cooperative_iface_init(ArkCoordinatorInterface *iface)
{
	iface->setup = ark_coordinator_cooperative_setup;
	iface->choose = ark_coordinator_cooperative_choose;
	iface->split = ark_coordinator_cooperative_split;
	iface->merge = ark_coordinator_cooperative_merge;
}

static void
ark_coordinator_cooperative_finalize(GObject *object)
{
	ArkCoordinatorCooperative *self = ARK_COORDINATOR_COOPERATIVE(object);

	g_clear_pointer(&self->own_rand, g_rand_free);
	G_OBJECT_CLASS(ark_coordinator_cooperative_parent_class)->finalize(object);
}

static void
ark_coordinator_cooperative_class_init(ArkCoordinatorCooperativeClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_coordinator_cooperative_finalize;
}

static void
ark_coordinator_cooperative_init(ArkCoordinatorCooperative *self)
{
	self->own_rand = g_rand_new();
	self->rand = self->own_rand;
}

#define ARK_TYPE_COORDINATOR_COOPERATIVE_PLUGIN (ark_coordinator_cooperative_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkCoordinatorCooperativePlugin, ark_coordinator_cooperative_plugin, ARK,
		     COORDINATOR_COOPERATIVE_PLUGIN, ArkPlugin)

struct _ArkCoordinatorCooperativePlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkCoordinatorCooperativePlugin, ark_coordinator_cooperative_plugin,
		    ARK_TYPE_PLUGIN)

static gboolean
ark_coordinator_cooperative_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry,
					   GError **error)
{
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin),
				     ARK_CAPABILITY_COORDINATOR, "cooperative",
				     ARK_TYPE_COORDINATOR_COOPERATIVE, error);
}

static void
ark_coordinator_cooperative_plugin_class_init(ArkCoordinatorCooperativePluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_coordinator_cooperative_plugin_startup;
}

static void
ark_coordinator_cooperative_plugin_init(ArkCoordinatorCooperativePlugin *self)
{
}

ARK_PLUGIN_DEFINE("coordinator-cooperative", ark_coordinator_cooperative_plugin_get_type,
		  PACKAGE_VERSION, "LGPL-2.1-or-later",
		  "cooperative agent tasks: shards spread over agents, results merged in order")
