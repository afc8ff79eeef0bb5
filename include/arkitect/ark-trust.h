/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "ark-api.h"
#include "ark-types.h"

G_BEGIN_DECLS

/**
 * ArkTrustOutcome:
 *
 * How one assignment of an agent ended, as trust sees it. (ABI 1.3)
 */
typedef enum {
	ARK_TRUST_SUCCESS = 0,	/* an accepted result */
	ARK_TRUST_FAILURE = 1,	/* the agent failed it, or its lease expired or it went offline */
	ARK_TRUST_REJECTED = 2, /* it completed, and the acceptance rule refused the result */
} ArkTrustOutcome;

/**
 * ArkTrust:
 *
 * What Arkitect has learned about one agent for one capability: a Beta(@alpha, @beta)
 * posterior of its success probability (prior Beta(1, 1)) whose evidence decays towards the
 * prior with a half-life, so an agent that changes is noticed, plus its record of latency,
 * deadlines and rejected results. (ABI 1.3)
 */
typedef struct {
	gdouble alpha; /* 1 + decayed successes */
	gdouble beta;  /* 1 + decayed failures and rejections */
	ArkTimestamp updated_at;
	guint64 successes; /* counts over the whole life, not decayed */
	guint64 failures;
	guint64 rejected;
	gdouble latency_mean; /* seconds from claim to accepted result, decayed mean; 0 unknown */
	guint64 deadline_hits;
	guint64 deadline_misses;
	/*< private >*/
	gpointer reserved[4];
} ArkTrust;

ARK_API void ark_trust_init(ArkTrust *trust);
/* moves the evidence towards the prior: alpha = 1 + (alpha - 1) * 2^(-(now - updated_at) /
 * half_life), the same for beta; @half_life in microseconds, 0 for no decay */
ARK_API void ark_trust_decay(ArkTrust *trust, ArkTimestamp now, gint64 half_life);
/* decays, then adds one outcome; @latency in seconds (< 0 for unknown, only used on success);
 * @deadline_hit is 1 for a hit, 0 for a miss, -1 when the task has no deadline */
ARK_API void ark_trust_observe(ArkTrust *trust, ArkTrustOutcome outcome, gdouble latency,
			       gint deadline_hit, ArkTimestamp now, gint64 half_life);
/* the posterior mean alpha / (alpha + beta) */
ARK_API gdouble ark_trust_get_mean(const ArkTrust *trust);
/* {"alpha":…, "beta":…, "mean":…, "successes":…, …, "updated_at": "RFC 3339"} */
ARK_API JsonObject *ark_trust_to_json(const ArkTrust *trust);
/* reads what ark_trust_to_json() wrote; FALSE with ARK_ERROR_INVALID_ARGUMENT if malformed */
ARK_API gboolean ark_trust_from_json(JsonObject *object, ArkTrust *out, GError **error);

/* a draw from Beta(@alpha, @beta), @alpha and @beta > 0 (Marsaglia-Tsang gamma draws) */
ARK_API gdouble ark_beta_sample(GRand *rand, gdouble alpha, gdouble beta);

G_END_DECLS
