/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "ark-test-utils.h"

#define T0 (G_GINT64_CONSTANT(1790000000) * G_USEC_PER_SEC)
#define HOUR ((gint64)3600 * G_USEC_PER_SEC)

static void
ark_trust_test_init(void)
{
	ArkTrust t;

	memset(&t, 0x5a, sizeof(t));
	ark_trust_init(&t);
	g_assert_cmpfloat(t.alpha, ==, 1.0);
	g_assert_cmpfloat(t.beta, ==, 1.0);
	g_assert_cmpfloat(ark_trust_get_mean(&t), ==, 0.5);
	g_assert_cmpuint(t.successes + t.failures + t.rejected, ==, 0);
	g_assert_cmpint(t.updated_at, ==, 0);
}

static void
ark_trust_test_decay(void)
{
	ArkTrust t;

	ark_trust_init(&t);
	t.alpha = 9.0; /* 8 successes */
	t.beta = 5.0;  /* 4 failures */
	t.updated_at = T0;

	/* one half-life halves the evidence, not the parameters */
	ark_trust_decay(&t, T0 + HOUR, HOUR);
	g_assert_cmpfloat_with_epsilon(t.alpha, 5.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(t.beta, 3.0, 1e-12);
	g_assert_cmpint(t.updated_at, ==, T0 + HOUR);
	/* two more in two steps are the same as one step of two */
	ark_trust_decay(&t, T0 + 2 * HOUR, HOUR);
	ark_trust_decay(&t, T0 + 3 * HOUR, HOUR);
	g_assert_cmpfloat_with_epsilon(t.alpha, 2.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(t.beta, 1.5, 1e-12);
	/* a long time later it is back at the prior */
	ark_trust_decay(&t, T0 + 200 * HOUR, HOUR);
	g_assert_cmpfloat_with_epsilon(t.alpha, 1.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(t.beta, 1.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(ark_trust_get_mean(&t), 0.5, 1e-12);

	/* no half-life: no decay, but the time moves on */
	t.alpha = 4.0;
	ark_trust_decay(&t, T0 + 300 * HOUR, 0);
	g_assert_cmpfloat(t.alpha, ==, 4.0);
	g_assert_cmpint(t.updated_at, ==, T0 + 300 * HOUR);
	/* a clock going backwards decays nothing and keeps the later time */
	ark_trust_decay(&t, T0, HOUR);
	g_assert_cmpfloat(t.alpha, ==, 4.0);
	g_assert_cmpint(t.updated_at, ==, T0 + 300 * HOUR);
}

static void
ark_trust_test_observe(void)
{
	ArkTrust t;

	ark_trust_init(&t);
	ark_trust_observe(&t, ARK_TRUST_SUCCESS, 10.0, 1, T0, HOUR);
	g_assert_cmpint(t.updated_at, ==, T0);
	g_assert_cmpfloat(t.alpha, ==, 2.0);
	g_assert_cmpfloat(t.latency_mean, ==, 10.0);
	ark_trust_observe(&t, ARK_TRUST_SUCCESS, 20.0, 0, T0, HOUR);
	g_assert_cmpfloat(t.alpha, ==, 3.0);
	g_assert_cmpfloat_with_epsilon(t.latency_mean, 15.0, 1e-12);
	ark_trust_observe(&t, ARK_TRUST_FAILURE, 99.0, -1, T0, HOUR);
	ark_trust_observe(&t, ARK_TRUST_REJECTED, -1.0, -1, T0, HOUR);
	ark_trust_observe(&t, ARK_TRUST_REJECTED, -1.0, 0, T0, HOUR);
	g_assert_cmpfloat(t.beta, ==, 4.0);
	/* a failure's latency does not count */
	g_assert_cmpfloat_with_epsilon(t.latency_mean, 15.0, 1e-12);
	g_assert_cmpuint(t.successes, ==, 2);
	g_assert_cmpuint(t.failures, ==, 1);
	g_assert_cmpuint(t.rejected, ==, 2);
	g_assert_cmpuint(t.deadline_hits, ==, 1);
	g_assert_cmpuint(t.deadline_misses, ==, 2);
	g_assert_cmpfloat_with_epsilon(ark_trust_get_mean(&t), 3.0 / 7.0, 1e-12);

	/* an outcome one half-life later finds the evidence halved first; the counts stay */
	ark_trust_observe(&t, ARK_TRUST_SUCCESS, -1.0, -1, T0 + HOUR, HOUR);
	g_assert_cmpfloat_with_epsilon(t.alpha, 1.0 + 1.0 + 1.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(t.beta, 1.0 + 1.5, 1e-12);
	g_assert_cmpuint(t.successes, ==, 3);
	/* an unknown latency leaves the mean alone */
	g_assert_cmpfloat_with_epsilon(t.latency_mean, 15.0, 1e-12);
}

/* an agent that was good and went bad: with decay its mean falls below 0.5 after a few
 * half-lives of failures, without decay its long good past keeps it above */
static void
ark_trust_test_decay_notices_change(void)
{
	ArkTrust decayed, plain;

	ark_trust_init(&decayed);
	ark_trust_init(&plain);
	for (guint i = 0; i < 200; i++) {
		ark_trust_observe(&decayed, ARK_TRUST_SUCCESS, 1.0, -1, T0 + i * HOUR / 10, HOUR);
		ark_trust_observe(&plain, ARK_TRUST_SUCCESS, 1.0, -1, T0 + i * HOUR / 10, 0);
	}
	for (guint i = 200; i < 260; i++) {
		ark_trust_observe(&decayed, ARK_TRUST_FAILURE, -1, -1, T0 + i * HOUR / 10, HOUR);
		ark_trust_observe(&plain, ARK_TRUST_FAILURE, -1, -1, T0 + i * HOUR / 10, 0);
	}
	g_assert_cmpfloat(ark_trust_get_mean(&decayed), <, 0.3);
	g_assert_cmpfloat(ark_trust_get_mean(&plain), >, 0.7);
	g_assert_cmpuint(decayed.successes, ==, 200);
	g_assert_cmpuint(decayed.failures, ==, 60);
}

static JsonObject *
ark_trust_test_parse(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	json_parser_load_from_data(parser, text, -1, &error);
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static gchar *
ark_trust_test_serialize(JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	json_node_set_object(node, object);
	return json_to_string(node, FALSE);
}

static void
ark_trust_test_json_round_trip(void)
{
	ArkTrust t, back;
	g_autoptr(JsonObject) o = NULL;
	g_autoptr(JsonObject) reread = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	ark_trust_init(&t);
	for (guint i = 0; i < 7; i++)
		ark_trust_observe(&t, ARK_TRUST_SUCCESS, 0.1 * (i + 1), 1,
				  T0 + i * 1234567 + 7, 24 * HOUR);
	ark_trust_observe(&t, ARK_TRUST_FAILURE, -1, 0, T0 + 9 * HOUR + 3, 24 * HOUR);
	ark_trust_observe(&t, ARK_TRUST_REJECTED, -1, -1, T0 + 10 * HOUR + 5, 24 * HOUR);

	/* through text, as the store keeps it */
	o = ark_trust_to_json(&t);
	g_assert_cmpfloat_with_epsilon(json_object_get_double_member(o, "mean"),
				       ark_trust_get_mean(&t), 1e-15);
	text = ark_trust_test_serialize(o);
	reread = ark_trust_test_parse(text);
	g_assert_true(ark_trust_from_json(reread, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpfloat(back.alpha, ==, t.alpha);
	g_assert_cmpfloat(back.beta, ==, t.beta);
	g_assert_cmpfloat(back.latency_mean, ==, t.latency_mean);
	g_assert_cmpint(back.updated_at, ==, t.updated_at);
	g_assert_cmpint(back.updated_at % G_USEC_PER_SEC, ==, 5);
	g_assert_cmpuint(back.successes, ==, 7);
	g_assert_cmpuint(back.failures, ==, 1);
	g_assert_cmpuint(back.rejected, ==, 1);
	g_assert_cmpuint(back.deadline_hits, ==, 7);
	g_assert_cmpuint(back.deadline_misses, ==, 1);
}

static void
ark_trust_test_json_fresh_and_unknown(void)
{
	ArkTrust t, back;
	g_autoptr(JsonObject) o = NULL;
	g_autoptr(JsonObject) newer = NULL;
	g_autoptr(GError) error = NULL;

	/* a record never updated writes updated_at null and reads back as such */
	ark_trust_init(&t);
	o = ark_trust_to_json(&t);
	g_assert_true(json_object_get_null_member(o, "updated_at"));
	g_assert_true(ark_trust_from_json(o, &back, &error));
	g_assert_cmpint(back.updated_at, ==, 0);
	g_assert_cmpfloat(back.alpha, ==, 1.0);

	/* members a newer writer adds are ignored; integers where numbers are expected are fine */
	newer = ark_trust_test_parse(
	    "{\"alpha\": 3, \"beta\": 2.5, \"successes\": 2, \"failures\": 1, \"rejected\": 0,"
	    " \"latency_mean\": 0, \"deadline_hits\": 0, \"deadline_misses\": 0,"
	    " \"updated_at\": \"2026-11-24T10:00:00Z\", \"p95_latency\": 4.5}");
	g_assert_true(ark_trust_from_json(newer, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpfloat(back.alpha, ==, 3.0);
	g_assert_cmpint(back.updated_at, ==, G_GINT64_CONSTANT(1795514400) * G_USEC_PER_SEC);
}

static void
ark_trust_test_json_malformed(void)
{
	static const struct {
		const gchar *member; /* replaced in a good record */
		const gchar *value;  /* NULL: removed */
	} cases[] = {
	    {"alpha", NULL},
	    {"alpha", "\"3\""},
	    {"alpha", "0.5"}, /* below the prior */
	    {"alpha", "-1"},
	    {"alpha", "1e300"},
	    {"alpha", "true"},
	    {"alpha", "null"},
	    {"beta", "[]"},
	    {"beta", "{}"},
	    {"successes", "-1"},
	    {"successes", "1.5"},
	    {"successes", "\"7\""},
	    {"failures", NULL},
	    {"rejected", "null"},
	    {"latency_mean", "-0.5"},
	    {"deadline_hits", "1e3"},
	    {"deadline_misses", NULL},
	    {"updated_at", "12345"},
	    {"updated_at", "\"yesterday\""},
	    {"updated_at", "\"2026-13-45T10:00:00Z\""},
	    {"updated_at", "\"2026-11-24T10:00:00\""},
	    {"updated_at", "\"2026-11-24T10:00:00+01:00\""},
	    {"updated_at", "\"2026-11-24T10:00:00.Z\""},
	    {"updated_at", "\"2026-11-24T10:00:00.1234567Z\""},
	    {"updated_at", "\"2026-11-24T10:00:00Z \""},
	    {"updated_at", "\"1969-12-31T23:59:59Z\""},
	    {"updated_at", "\"\""},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		ArkTrust good, out;
		g_autoptr(JsonObject) o = NULL;
		g_autoptr(JsonObject) bad = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *text = NULL;
		g_autoptr(GString) edited = NULL;

		ark_trust_init(&good);
		ark_trust_observe(&good, ARK_TRUST_SUCCESS, 2.0, 1, T0, HOUR);
		o = ark_trust_to_json(&good);
		json_object_remove_member(o, cases[i].member);
		text = ark_trust_test_serialize(o);
		edited = g_string_new(text);
		if (cases[i].value != NULL) {
			/* append the member as text so that any JSON value can be written */
			g_string_truncate(edited, edited->len - 1);
			g_string_append_printf(edited, ",\"%s\":%s}", cases[i].member,
					       cases[i].value);
		}
		bad = ark_trust_test_parse(edited->str);
		memset(&out, 0x33, sizeof(out));
		g_assert_false(ark_trust_from_json(bad, &out, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, cases[i].member));
		/* nothing was written */
		g_assert_cmpuint(((guint8 *)&out)[0], ==, 0x33);
	}
}

/* the sample mean and variance of many draws against the distribution's own: tolerances are six
 * standard errors estimated from the draws themselves, and the seed is fixed, so the test is
 * deterministic and still fails for a wrong sampler (a biased one lands dozens of errors away) */
static void
ark_trust_test_beta_moments(void)
{
	static const gdouble shapes[][2] = {
	    {1, 1}, {2, 5}, {5, 2}, {0.5, 0.5}, {0.2, 3}, {10, 1}, {100, 300}, {1, 50},
	};
	const guint n = 100000;

	for (guint s = 0; s < G_N_ELEMENTS(shapes); s++) {
		gdouble a = shapes[s][0], b = shapes[s][1];
		gdouble mean = a / (a + b);
		gdouble var = a * b / ((a + b) * (a + b) * (a + b + 1));
		g_autoptr(GRand) rand = g_rand_new_with_seed(4242 + s);
		g_autofree gdouble *x = g_new(gdouble, n);
		gdouble m = 0, v = 0, m4 = 0;

		for (guint i = 0; i < n; i++) {
			x[i] = ark_beta_sample(rand, a, b);
			g_assert_true(x[i] >= 0.0 && x[i] <= 1.0);
			m += x[i];
		}
		m /= n;
		for (guint i = 0; i < n; i++) {
			gdouble d = x[i] - m;
			v += d * d;
			m4 += d * d * d * d;
		}
		v /= n - 1;
		m4 /= n;
		g_test_message("Beta(%g, %g): mean %.5f (%.5f), variance %.6f (%.6f)", a, b, m, mean,
			       v, var);
		g_assert_cmpfloat(fabs(m - mean), <, 6 * sqrt(var / n));
		g_assert_cmpfloat(fabs(v - var), <, 6 * sqrt((m4 - v * v) / n));
	}
}

static void
ark_trust_test_beta_seeded(void)
{
	g_autoptr(GRand) r1 = g_rand_new_with_seed(7);
	g_autoptr(GRand) r2 = g_rand_new_with_seed(7);
	g_autoptr(GRand) r3 = g_rand_new_with_seed(8);
	gboolean differs = FALSE;

	for (guint i = 0; i < 1000; i++) {
		gdouble x1 = ark_beta_sample(r1, 1.5 + i % 7, 0.3 + i % 3);
		gdouble x2 = ark_beta_sample(r2, 1.5 + i % 7, 0.3 + i % 3);
		gdouble x3 = ark_beta_sample(r3, 1.5 + i % 7, 0.3 + i % 3);
		g_assert_cmpfloat(x1, ==, x2);
		differs |= x1 != x3;
	}
	g_assert_true(differs);
}

static void
ark_trust_test_beta_edges(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(99);
	guint low = 0, high = 0;
	gdouble sum = 0;

	/* tiny shapes: nearly all the mass at 0 and 1, half each; no NaN from an underflow */
	for (guint i = 0; i < 20000; i++) {
		gdouble x = ark_beta_sample(rand, 1e-3, 1e-3);
		g_assert_true(x >= 0.0 && x <= 1.0);
		low += x < 1e-6;
		high += x > 1 - 1e-6;
		sum += x;
	}
	g_assert_cmpuint(low + high, >, 19000);
	g_assert_cmpfloat(fabs(sum / 20000 - 0.5), <, 0.05);

	/* one tiny, one huge: values vanishingly small yet finite and >= 0 */
	for (guint i = 0; i < 1000; i++) {
		gdouble x = ark_beta_sample(rand, 1e-6, 1e6);
		g_assert_true(x >= 0.0 && x < 1e-3);
		x = ark_beta_sample(rand, 1e6, 1e-6);
		g_assert_true(x <= 1.0 && x > 1 - 1e-3);
	}
	/* huge and equal: concentrated at 0.5 (standard deviation 1e-5 for 1e9) */
	for (guint i = 0; i < 1000; i++) {
		gdouble x = ark_beta_sample(rand, 1e9, 1e9);
		g_assert_cmpfloat(fabs(x - 0.5), <, 1e-3);
		x = ark_beta_sample(rand, 1e12, 1.0);
		g_assert_cmpfloat(x, >, 1 - 1e-9);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/trust/init", ark_trust_test_init);
	g_test_add_func("/trust/decay", ark_trust_test_decay);
	g_test_add_func("/trust/observe", ark_trust_test_observe);
	g_test_add_func("/trust/decay-notices-change", ark_trust_test_decay_notices_change);
	g_test_add_func("/trust/json/round-trip", ark_trust_test_json_round_trip);
	g_test_add_func("/trust/json/fresh-and-unknown", ark_trust_test_json_fresh_and_unknown);
	g_test_add_func("/trust/json/malformed", ark_trust_test_json_malformed);
	g_test_add_func("/trust/beta/moments", ark_trust_test_beta_moments);
	g_test_add_func("/trust/beta/seeded", ark_trust_test_beta_seeded);
	g_test_add_func("/trust/beta/edges", ark_trust_test_beta_edges);
	return g_test_run();
}
