/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "ark-coordinator-score.h"

/* a candidate's numbers come from the engine, but a third-party engine build or a corrupt trust
 * record must not turn a score into NaN: the order would no longer be total */
static gdouble
ark_coordinator_score_sane_shape(gdouble value)
{
	return value > 0 && isfinite(value) ? value : 1.0;
}

gdouble
ark_coordinator_score_candidate(const ArkAgentCandidate *candidate, ArkCoordinatorScoreKind kind,
				gdouble load_weight, GRand *rand)
{
	gdouble alpha = ark_coordinator_score_sane_shape(candidate->trust_alpha);
	gdouble beta = ark_coordinator_score_sane_shape(candidate->trust_beta);
	gdouble match = candidate->capability_match;
	gdouble load_factor = 1.0;
	gdouble p;

	if (!(match >= 0.0))
		match = 0.0;
	match = MIN(match, 1.0);
	if (candidate->max_load > 0)
		load_factor =
		    1.0 - load_weight * MIN((gdouble)candidate->load / candidate->max_load, 1.0);
	if (kind == ARK_COORDINATOR_SCORE_SAMPLE)
		p = ark_beta_sample(rand, alpha, beta);
	else
		p = alpha / (alpha + beta);
	return p * match * load_factor;
}

typedef struct {
	gdouble score;
	guint index;
} ArkCoordinatorScoreEntry;

static gint
ark_coordinator_score_compare(gconstpointer a, gconstpointer b)
{
	const ArkCoordinatorScoreEntry *ea = a;
	const ArkCoordinatorScoreEntry *eb = b;

	if (ea->score != eb->score)
		return ea->score > eb->score ? -1 : 1;
	return ea->index < eb->index ? -1 : ea->index > eb->index ? 1 : 0;
}

guint
ark_coordinator_score_top(const ArkAgentCandidate *candidates, guint n_candidates,
			  ArkCoordinatorScoreKind kind, gdouble load_weight, GRand *rand,
			  guint *out_chosen, guint max_chosen)
{
	g_autofree ArkCoordinatorScoreEntry *entries = NULL;
	guint n = MIN(n_candidates, max_chosen);

	if (n == 0)
		return 0;
	/* the common case, one agent wanted: no sort */
	if (n == 1) {
		gdouble best = -1.0;
		guint best_index = 0;
		for (guint i = 0; i < n_candidates; i++) {
			gdouble s = ark_coordinator_score_candidate(&candidates[i], kind,
								    load_weight, rand);
			if (s > best) {
				best = s;
				best_index = i;
			}
		}
		out_chosen[0] = best_index;
		return 1;
	}
	entries = g_new(ArkCoordinatorScoreEntry, n_candidates);
	for (guint i = 0; i < n_candidates; i++) {
		entries[i].score =
		    ark_coordinator_score_candidate(&candidates[i], kind, load_weight, rand);
		entries[i].index = i;
	}
	qsort(entries, n_candidates, sizeof(*entries), ark_coordinator_score_compare);
	for (guint i = 0; i < n; i++)
		out_chosen[i] = entries[i].index;
	return n;
}
