/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <arkitect/arkitect.h>

/*
 * Trust is a Beta(alpha, beta) posterior of an agent's success probability for one capability,
 * starting from the uniform prior Beta(1, 1). Successes add to alpha, failures and rejected
 * results to beta. The evidence (alpha - 1, beta - 1) halves every half-life without new
 * outcomes, so an agent that got worse (or better) is noticed after a few half-lives of new
 * outcomes instead of being judged by its whole past; the counts beside it are the plain totals.
 */

/* larger than any evidence a real agent collects; a stored record beyond it is corrupt */
#define ARK_TRUST_MAX_EVIDENCE 1e15

/**
 * ark_trust_init:
 * @trust: the record to reset
 *
 * Sets @trust to the prior Beta(1, 1) with no outcomes.
 *
 * Since: 0.1 (ABI 1.3)
 */
void
ark_trust_init(ArkTrust *trust)
{
	g_return_if_fail(trust != NULL);
	memset(trust, 0, sizeof(*trust));
	trust->alpha = 1.0;
	trust->beta = 1.0;
}

/**
 * ark_trust_decay:
 * @trust: the record
 * @now: the current time
 * @half_life: microseconds after which the evidence is halved; 0 (or less) for none
 *
 * Moves the evidence towards the prior for the time since @trust was last updated, and records
 * @now as its update time. A record never updated (updated_at 0) or a clock that went backwards
 * decays nothing.
 *
 * Since: 0.1 (ABI 1.3)
 */
void
ark_trust_decay(ArkTrust *trust, ArkTimestamp now, gint64 half_life)
{
	gdouble factor;

	g_return_if_fail(trust != NULL);
	if (trust->updated_at == 0 || now <= trust->updated_at) {
		trust->updated_at = MAX(trust->updated_at, now);
		return;
	}
	if (half_life > 0) {
		factor = exp2(-(gdouble)(now - trust->updated_at) / (gdouble)half_life);
		trust->alpha = 1.0 + (trust->alpha - 1.0) * factor;
		trust->beta = 1.0 + (trust->beta - 1.0) * factor;
	}
	trust->updated_at = now;
}

/**
 * ark_trust_observe:
 * @trust: the record
 * @outcome: how the assignment ended
 * @latency: seconds from claim to result, < 0 when unknown; only used for a success
 * @deadline_hit: 1 the task's deadline was met, 0 it was missed, -1 the task has none
 * @now: the time of the outcome
 * @half_life: as for ark_trust_decay()
 *
 * Decays @trust to @now, then adds one outcome. The latency mean is weighted like the evidence:
 * a new success counts 1 / (alpha - 1) of it, so old latencies fade with the half-life too.
 *
 * Since: 0.1 (ABI 1.3)
 */
void
ark_trust_observe(ArkTrust *trust, ArkTrustOutcome outcome, gdouble latency, gint deadline_hit,
		  ArkTimestamp now, gint64 half_life)
{
	g_return_if_fail(trust != NULL);

	ark_trust_decay(trust, now, half_life);
	if (trust->updated_at == 0)
		trust->updated_at = now;
	switch (outcome) {
	case ARK_TRUST_SUCCESS:
		trust->alpha = MIN(trust->alpha + 1.0, ARK_TRUST_MAX_EVIDENCE);
		trust->successes++;
		if (latency >= 0 && isfinite(latency)) {
			if (trust->latency_mean <= 0)
				trust->latency_mean = latency;
			else
				trust->latency_mean +=
				    (latency - trust->latency_mean) / (trust->alpha - 1.0);
		}
		break;
	case ARK_TRUST_REJECTED:
		trust->beta = MIN(trust->beta + 1.0, ARK_TRUST_MAX_EVIDENCE);
		trust->rejected++;
		break;
	case ARK_TRUST_FAILURE:
	default:
		trust->beta = MIN(trust->beta + 1.0, ARK_TRUST_MAX_EVIDENCE);
		trust->failures++;
		break;
	}
	if (deadline_hit > 0)
		trust->deadline_hits++;
	else if (deadline_hit == 0)
		trust->deadline_misses++;
}

/**
 * ark_trust_get_mean:
 * @trust: the record
 *
 * Returns: the posterior mean of the success probability, alpha / (alpha + beta)
 *
 * Since: 0.1 (ABI 1.3)
 */
gdouble
ark_trust_get_mean(const ArkTrust *trust)
{
	g_return_val_if_fail(trust != NULL, 0.5);
	if (!(trust->alpha + trust->beta > 0))
		return 0.5;
	return trust->alpha / (trust->alpha + trust->beta);
}

/**
 * ark_trust_to_json:
 * @trust: the record
 *
 * Returns: (transfer full): {"alpha", "beta", "mean", "successes", "failures", "rejected",
 *   "latency_mean", "deadline_hits", "deadline_misses", "updated_at"}; "updated_at" is RFC 3339
 *   or null for a record never updated
 *
 * Since: 0.1 (ABI 1.3)
 */
JsonObject *
ark_trust_to_json(const ArkTrust *trust)
{
	JsonObject *o;
	g_autofree gchar *updated_at = NULL;

	g_return_val_if_fail(trust != NULL, NULL);
	o = json_object_new();
	json_object_set_double_member(o, "alpha", trust->alpha);
	json_object_set_double_member(o, "beta", trust->beta);
	json_object_set_double_member(o, "mean", ark_trust_get_mean(trust));
	json_object_set_int_member(o, "successes", (gint64)MIN(trust->successes, G_MAXINT64));
	json_object_set_int_member(o, "failures", (gint64)MIN(trust->failures, G_MAXINT64));
	json_object_set_int_member(o, "rejected", (gint64)MIN(trust->rejected, G_MAXINT64));
	json_object_set_double_member(o, "latency_mean", trust->latency_mean);
	json_object_set_int_member(o, "deadline_hits",
				   (gint64)MIN(trust->deadline_hits, G_MAXINT64));
	json_object_set_int_member(o, "deadline_misses",
				   (gint64)MIN(trust->deadline_misses, G_MAXINT64));
	updated_at = ark_timestamp_format(trust->updated_at);
	if (updated_at != NULL)
		json_object_set_string_member(o, "updated_at", updated_at);
	else
		json_object_set_null_member(o, "updated_at");
	return o;
}

static gboolean
ark_trust_read_number(JsonObject *object, const gchar *name, gdouble min, gdouble max,
		      gdouble *out, GError **error)
{
	JsonNode *node = json_object_get_member(object, name);
	gdouble value;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    (json_node_get_value_type(node) != G_TYPE_DOUBLE &&
	     json_node_get_value_type(node) != G_TYPE_INT64)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "trust: \"%s\" must be a number", name);
		return FALSE;
	}
	value = json_node_get_value_type(node) == G_TYPE_INT64 ? (gdouble)json_node_get_int(node)
							       : json_node_get_double(node);
	if (!isfinite(value) || value < min || value > max) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "trust: \"%s\" must be between %g and %g", name, min, max);
		return FALSE;
	}
	*out = value;
	return TRUE;
}

static gboolean
ark_trust_read_count(JsonObject *object, const gchar *name, guint64 *out, GError **error)
{
	JsonNode *node = json_object_get_member(object, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64 || json_node_get_int(node) < 0) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "trust: \"%s\" must be a non-negative integer", name);
		return FALSE;
	}
	*out = (guint64)json_node_get_int(node);
	return TRUE;
}

/* the exact shape ark_timestamp_format() writes, UTC with 0 to 6 fraction digits */
static gboolean
ark_trust_parse_timestamp(const gchar *s, ArkTimestamp *out)
{
	static const gchar shape[] = "dddd-dd-ddTdd:dd:dd";
	g_autoptr(GDateTime) dt = NULL;
	g_autofree gchar *whole = NULL;
	gint64 usec = 0;
	guint digits = 0;
	gsize i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !g_ascii_isdigit(s[i]) : s[i] != shape[i])
			return FALSE;
	}
	whole = g_strndup(s, i);
	s += i;
	if (*s == '.') {
		for (s++; g_ascii_isdigit(*s) && digits < 6; s++, digits++)
			usec = usec * 10 + (*s - '0');
		if (digits == 0)
			return FALSE;
		for (; digits < 6; digits++)
			usec *= 10;
	}
	if (strcmp(s, "Z") != 0)
		return FALSE;
	dt = g_date_time_new_utc(atoi(whole), atoi(whole + 5), atoi(whole + 8), atoi(whole + 11),
				 atoi(whole + 14), atoi(whole + 17));
	if (dt == NULL)
		return FALSE;
	*out = g_date_time_to_unix(dt) * G_USEC_PER_SEC + usec;
	return *out > 0;
}

/**
 * ark_trust_from_json:
 * @object: what ark_trust_to_json() wrote
 * @out: (out): the record read
 * @error: the problem
 *
 * Reads a trust record back. "mean" is derived and not read; members not named here are
 * ignored, so a newer writer's record still reads.
 *
 * Returns: FALSE with ARK_ERROR_INVALID_ARGUMENT, naming the member, if @object is malformed
 *   (@out is then left untouched)
 *
 * Since: 0.1 (ABI 1.3)
 */
gboolean
ark_trust_from_json(JsonObject *object, ArkTrust *out, GError **error)
{
	ArkTrust trust;
	JsonNode *node;

	g_return_val_if_fail(object != NULL, FALSE);
	g_return_val_if_fail(out != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	ark_trust_init(&trust);
	if (!ark_trust_read_number(object, "alpha", 1.0, ARK_TRUST_MAX_EVIDENCE, &trust.alpha,
				   error) ||
	    !ark_trust_read_number(object, "beta", 1.0, ARK_TRUST_MAX_EVIDENCE, &trust.beta,
				   error) ||
	    !ark_trust_read_count(object, "successes", &trust.successes, error) ||
	    !ark_trust_read_count(object, "failures", &trust.failures, error) ||
	    !ark_trust_read_count(object, "rejected", &trust.rejected, error) ||
	    !ark_trust_read_number(object, "latency_mean", 0.0, G_MAXDOUBLE, &trust.latency_mean,
				   error) ||
	    !ark_trust_read_count(object, "deadline_hits", &trust.deadline_hits, error) ||
	    !ark_trust_read_count(object, "deadline_misses", &trust.deadline_misses, error))
		return FALSE;

	node = json_object_get_member(object, "updated_at");
	if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		trust.updated_at = 0;
	} else if (!JSON_NODE_HOLDS_VALUE(node) ||
		   json_node_get_value_type(node) != G_TYPE_STRING ||
		   !ark_trust_parse_timestamp(json_node_get_string(node), &trust.updated_at)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "trust: \"updated_at\" must be an RFC 3339 UTC time or null");
		return FALSE;
	}
	*out = trust;
	return TRUE;
}

/* a standard normal draw (Box-Muller; the second value is thrown away so that the sequence of
 * draws depends on nothing but @rand) */
static gdouble
ark_trust_normal(GRand *rand)
{
	gdouble u1 = 1.0 - g_rand_double(rand); /* (0, 1]: log() stays finite */
	gdouble u2 = g_rand_double(rand);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2);
}

/* the logarithm of a Gamma(@shape, 1) draw, Marsaglia and Tsang (2000). In logarithms because
 * for a small shape the draw underflows to 0: Gamma(a) = Gamma(a + 1) * U^(1/a) */
static gdouble
ark_trust_log_gamma_sample(GRand *rand, gdouble shape)
{
	gdouble boost = 0.0;
	gdouble d, c;

	if (shape < 1.0) {
		boost = log(1.0 - g_rand_double(rand)) / shape;
		shape += 1.0;
	}
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		gdouble x = ark_trust_normal(rand);
		gdouble v = 1.0 + c * x;
		gdouble u;

		if (v <= 0.0)
			continue;
		v = v * v * v;
		u = 1.0 - g_rand_double(rand);
		if (u < 1.0 - 0.0331 * x * x * x * x ||
		    log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return log(d) + log(v) + boost;
	}
}

/**
 * ark_beta_sample:
 * @rand: the random source
 * @alpha: > 0
 * @beta: > 0
 *
 * Draws from Beta(@alpha, @beta) as X / (X + Y) with X ~ Gamma(@alpha), Y ~ Gamma(@beta). The
 * draws use only @rand, so a seeded #GRand gives the same sequence everywhere.
 *
 * Returns: a value in [0, 1]
 *
 * Since: 0.1 (ABI 1.3)
 */
gdouble
ark_beta_sample(GRand *rand, gdouble alpha, gdouble beta)
{
	gdouble lx, ly;

	g_return_val_if_fail(rand != NULL, 0.5);
	g_return_val_if_fail(alpha > 0 && isfinite(alpha), 0.5);
	g_return_val_if_fail(beta > 0 && isfinite(beta), 0.5);

	lx = ark_trust_log_gamma_sample(rand, alpha);
	ly = ark_trust_log_gamma_sample(rand, beta);
	/* X / (X + Y) = 1 / (1 + e^(ly - lx)), finite for any pair of logarithms */
	return CLAMP(1.0 / (1.0 + exp(ly - lx)), 0.0, 1.0);
}
