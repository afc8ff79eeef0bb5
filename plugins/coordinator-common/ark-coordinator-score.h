/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

/*
 * What the in-tree coordinators share: the score of a candidate and picking the best ones. Built
 * into each coordinator plugin (a static library), not part of the SDK.
 *
 * score = p × capability_match × load_factor, where p is a draw from the candidate's trust
 * posterior Beta(alpha, beta) (Thompson sampling) or its mean (greedy), and
 * load_factor = 1 − @load_weight × load / max_load.
 */

typedef enum {
	ARK_COORDINATOR_SCORE_SAMPLE, /* Thompson sampling: one posterior draw per candidate */
	ARK_COORDINATOR_SCORE_MEAN,   /* greedy: the posterior mean */
} ArkCoordinatorScoreKind;

gdouble ark_coordinator_score_candidate(const ArkAgentCandidate *candidate,
					ArkCoordinatorScoreKind kind, gdouble load_weight,
					GRand *rand);
/* scores every candidate once and writes the indices of the best min(@n_candidates,
 * @max_chosen) to @out_chosen, best first (ties: the earlier candidate); returns how many */
guint ark_coordinator_score_top(const ArkAgentCandidate *candidates, guint n_candidates,
				ArkCoordinatorScoreKind kind, gdouble load_weight, GRand *rand,
				guint *out_chosen, guint max_chosen);

G_END_DECLS
