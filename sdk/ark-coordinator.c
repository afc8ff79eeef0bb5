/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/*
 * The wrappers are what the engine calls. They apply the documented defaults for the methods a
 * coordinator leaves out and hold every coordinator to its contract, so that a third-party
 * plugin's mistake (a duplicate or out-of-range index, an error not set, a piece count out of
 * bounds) becomes an error or is dropped instead of corrupting the engine's state.
 */

G_DEFINE_INTERFACE(ArkCoordinator, ark_coordinator, G_TYPE_OBJECT)

static void
ark_coordinator_default_init(ArkCoordinatorInterface *iface)
{
}

/**
 * ark_coordinator_choose:
 *
 * Calls the coordinator's choose(); indices out of range and repeated ones are dropped, so the
 * result holds at most @max_chosen distinct indices below @n_candidates. No candidates, no
 * choice: the coordinator is not asked.
 *
 * Returns: how many indices were written to @out_chosen
 */
guint
ark_coordinator_choose(ArkCoordinator *self, const ArkTaskSpec *spec,
		       const ArkAgentCandidate *candidates, guint n_candidates, guint *out_chosen,
		       guint max_chosen)
{
	ArkCoordinatorInterface *iface;
	guint n, kept = 0;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), 0);
	g_return_val_if_fail(spec != NULL, 0);
	g_return_val_if_fail(n_candidates == 0 || candidates != NULL, 0);
	g_return_val_if_fail(max_chosen == 0 || out_chosen != NULL, 0);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->choose == NULL || n_candidates == 0 || max_chosen == 0)
		return 0;
	n = MIN(iface->choose(self, spec, candidates, n_candidates, out_chosen, max_chosen),
		max_chosen);
	for (guint i = 0; i < n; i++) {
		gboolean seen = out_chosen[i] >= n_candidates;
		for (guint j = 0; j < kept && !seen; j++)
			seen = out_chosen[j] == out_chosen[i];
		if (seen) {
			g_warning("coordinator %s chose candidate %u twice or out of range, dropped",
				  G_OBJECT_TYPE_NAME(self), out_chosen[i]);
			continue;
		}
		out_chosen[kept++] = out_chosen[i];
	}
	return kept;
}

gboolean
ark_coordinator_accept(ArkCoordinator *self, const ArkTaskSpec *spec, const gchar *agent_id,
		       const gchar *result_json, GError **error)
{
	ArkCoordinatorInterface *iface;
	g_autoptr(GError) local_error = NULL;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->accept == NULL)
		return TRUE;
	if (iface->accept(self, spec, agent_id, result_json, &local_error))
		return TRUE;
	if (local_error == NULL)
		g_set_error(&local_error, ARK_ERROR, ARK_ERROR_FAILED,
			    "coordinator %s refused the result", G_OBJECT_TYPE_NAME(self));
	g_propagate_error(error, g_steal_pointer(&local_error));
	return FALSE;
}

/**
 * ark_coordinator_setup:
 * @self: the coordinator
 * @setup: its name, configuration and the engine's random source
 * @error: the problem, e.g. a bad configuration value
 *
 * Calls setup(), once, before any other method. Without one there is nothing to set up.
 *
 * Since: 0.1 (ABI 1.3)
 */
gboolean
ark_coordinator_setup(ArkCoordinator *self, const ArkCoordinatorSetup *setup, GError **error)
{
	ArkCoordinatorInterface *iface;
	g_autoptr(GError) local_error = NULL;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), FALSE);
	g_return_val_if_fail(setup != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->setup == NULL)
		return TRUE;
	if (iface->setup(self, setup, &local_error))
		return TRUE;
	if (local_error == NULL)
		g_set_error(&local_error, ARK_ERROR, ARK_ERROR_FAILED,
			    "coordinator %s could not be set up", setup->name);
	g_propagate_error(error, g_steal_pointer(&local_error));
	return FALSE;
}

/**
 * ark_coordinator_get_contenders:
 *
 * Returns: how many agents work on one piece of work of @spec at once: the coordinator's
 *   answer clamped to 1..ARK_AGENT_MAX_CONTENDERS, 1 without get_contenders()
 *
 * Since: 0.1 (ABI 1.3)
 */
guint
ark_coordinator_get_contenders(ArkCoordinator *self, const ArkTaskSpec *spec)
{
	ArkCoordinatorInterface *iface;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), 1);
	g_return_val_if_fail(spec != NULL, 1);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->get_contenders == NULL)
		return 1;
	return CLAMP(iface->get_contenders(self, spec), 1, ARK_AGENT_MAX_CONTENDERS);
}

/**
 * ark_coordinator_split:
 * @out_pieces: pieces are appended to it (transfer full #JsonNode each), only on success
 *
 * Calls split(), or without one makes @input (a JSON null when NULL) the single piece. A
 * coordinator that returns no pieces or more than ARK_AGENT_MAX_SHARDS fails with
 * ARK_ERROR_INVALID_ARGUMENT.
 *
 * Returns: FALSE with @error set (and @out_pieces unchanged) when the input can not be split
 *
 * Since: 0.1 (ABI 1.3)
 */
gboolean
ark_coordinator_split(ArkCoordinator *self, const ArkTaskSpec *spec, JsonNode *input,
		      GPtrArray *out_pieces, GError **error)
{
	ArkCoordinatorInterface *iface;
	g_autoptr(GPtrArray) pieces = NULL;
	g_autoptr(GError) local_error = NULL;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), FALSE);
	g_return_val_if_fail(spec != NULL, FALSE);
	g_return_val_if_fail(out_pieces != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->split == NULL) {
		g_ptr_array_add(out_pieces, input != NULL ? json_node_copy(input)
							  : json_node_new(JSON_NODE_NULL));
		return TRUE;
	}
	/* into a private array first: nothing reaches @out_pieces unless the split succeeded */
	pieces = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	if (!iface->split(self, spec, input, pieces, &local_error)) {
		if (local_error == NULL)
			g_set_error(&local_error, ARK_ERROR, ARK_ERROR_FAILED,
				    "coordinator %s could not split the input",
				    G_OBJECT_TYPE_NAME(self));
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	g_clear_error(&local_error);
	if (pieces->len == 0 || pieces->len > ARK_AGENT_MAX_SHARDS) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "the input was split into %u pieces of work, it must be 1 to %u",
			    pieces->len, (guint)ARK_AGENT_MAX_SHARDS);
		return FALSE;
	}
	for (guint i = 0; i < pieces->len; i++) {
		JsonNode *piece = g_ptr_array_index(pieces, i);
		g_ptr_array_add(out_pieces, piece != NULL ? json_node_ref(piece)
							  : json_node_new(JSON_NODE_NULL));
	}
	return TRUE;
}

/**
 * ark_coordinator_merge:
 * @results: (array length=n_results): the accepted result of every piece, in piece order; an
 *   element may be NULL or a JSON null
 *
 * Calls merge(), or without one returns @results[0] when there is one piece and a JSON array of
 * the results otherwise.
 *
 * Returns: (transfer full) (nullable): the task's result, or NULL with @error set
 *
 * Since: 0.1 (ABI 1.3)
 */
JsonNode *
ark_coordinator_merge(ArkCoordinator *self, const ArkTaskSpec *spec, JsonNode **results,
		      guint n_results, GError **error)
{
	ArkCoordinatorInterface *iface;
	g_autoptr(GError) local_error = NULL;
	JsonNode *merged;
	JsonArray *array;

	g_return_val_if_fail(ARK_IS_COORDINATOR(self), NULL);
	g_return_val_if_fail(spec != NULL, NULL);
	g_return_val_if_fail(n_results == 0 || results != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	iface = ARK_COORDINATOR_GET_IFACE(self);
	if (iface->merge != NULL) {
		merged = iface->merge(self, spec, results, n_results, &local_error);
		if (merged != NULL) {
			if (local_error != NULL)
				g_warning("coordinator %s merged and set an error: %s",
					  G_OBJECT_TYPE_NAME(self), local_error->message);
			return merged;
		}
		if (local_error == NULL)
			g_set_error(&local_error, ARK_ERROR, ARK_ERROR_FAILED,
				    "coordinator %s could not merge the results",
				    G_OBJECT_TYPE_NAME(self));
		g_propagate_error(error, g_steal_pointer(&local_error));
		return NULL;
	}
	if (n_results == 1)
		return results[0] != NULL ? json_node_copy(results[0])
					  : json_node_new(JSON_NODE_NULL);
	array = json_array_sized_new(n_results);
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
