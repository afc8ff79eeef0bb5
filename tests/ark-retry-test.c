/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#define SEC G_USEC_PER_SEC

static ArkRetryPolicy
ark_retry_test_policy(void)
{
	ArkRetryPolicy p = {
	    .max_attempts = 3,
	    .backoff = ARK_BACKOFF_EXPONENTIAL,
	    .initial_delay = 1 * SEC,
	    .max_delay = 5 * 60 * SEC,
	    .multiplier = 2,
	    .jitter = FALSE,
	    .retry_on = ARK_RETRY_ON_DEFAULT,
	};
	return p;
}

static void
ark_retry_test_decide_outcomes(void)
{
	ArkRetryPolicy p = ark_retry_test_policy();

	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 1, 1), ==,
			ARK_RETRY_DECISION_RETRY);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_TIMED_OUT, -1, 2), ==,
			ARK_RETRY_DECISION_RETRY);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_LOST, -1, 1), ==,
			ARK_RETRY_DECISION_RETRY);
	/* not in the default "on" */
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_ERROR, -1, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	/* never retried whatever the policy says */
	p.retry_on = G_MAXUINT;
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_SUCCEEDED, 0, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_CANCELLED, -1, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_ERROR, -1, 1), ==,
			ARK_RETRY_DECISION_RETRY);
	/* the budget: attempts 1 and 2 may retry, the third is the last */
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 1, 3), ==,
			ARK_RETRY_DECISION_EXHAUSTED);
	p.max_attempts = 1;
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 1, 1), ==,
			ARK_RETRY_DECISION_EXHAUSTED);
	/* only "timed_out" */
	p.max_attempts = 5;
	p.retry_on = ARK_RETRY_ON_TIMED_OUT;
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 1, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_TIMED_OUT, -1, 1), ==,
			ARK_RETRY_DECISION_RETRY);
}

static void
ark_retry_test_decide_exit_codes(void)
{
	ArkRetryPolicy p = ark_retry_test_policy();
	gint codes[] = {75, 3};

	p.exit_codes = codes;
	p.n_exit_codes = G_N_ELEMENTS(codes);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 75, 1), ==,
			ARK_RETRY_DECISION_RETRY);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 3, 1), ==,
			ARK_RETRY_DECISION_RETRY);
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, 1, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	/* a process killed by a signal has no exit code: not listed */
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_FAILED, -1, 1), ==,
			ARK_RETRY_DECISION_FAIL);
	/* exit codes filter failures only: a timeout still retries */
	g_assert_cmpint(ark_retry_policy_decide(&p, ARK_ATTEMPT_STATUS_TIMED_OUT, -1, 1), ==,
			ARK_RETRY_DECISION_RETRY);
}

static void
ark_retry_test_delay_exponential(void)
{
	ArkRetryPolicy p = ark_retry_test_policy();

	g_assert_cmpint(ark_retry_policy_get_delay(&p, 1, 0.5), ==, 1 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 2, 0.5), ==, 2 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 3, 0.5), ==, 4 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 9, 0.5), ==, 256 * SEC);
	/* capped, and huge exponents saturate at the cap instead of overflowing */
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 10, 0.5), ==, 300 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 100000, 0.5), ==, 300 * SEC);
	p.multiplier = 100;
	g_assert_cmpint(ark_retry_policy_get_delay(&p, G_MAXUINT, 0.5), ==, 300 * SEC);
	p.multiplier = 1.5;
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 3, 0.5), ==, (gint64)(2.25 * SEC));
}

static void
ark_retry_test_delay_fixed(void)
{
	ArkRetryPolicy p = ark_retry_test_policy();
	p.backoff = ARK_BACKOFF_FIXED;
	p.initial_delay = 250 * 1000;
	for (guint n = 1; n < 50; n++)
		g_assert_cmpint(ark_retry_policy_get_delay(&p, n, 0.9), ==, 250 * 1000);
}

static void
ark_retry_test_delay_jitter_bounds(void)
{
	ArkRetryPolicy p = ark_retry_test_policy();
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	gint64 lo = G_MAXINT64, hi = 0;

	p.jitter = TRUE;
	/* full jitter: uniform in [0, capped delay] for every attempt, never beyond */
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 3, 0.0), ==, 0);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 3, 1.0), ==, 4 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 3, 0.25), ==, 1 * SEC);
	for (guint i = 0; i < 100000; i++) {
		guint n = 1 + (guint)g_rand_int_range(rand, 0, 20);
		gint64 cap = MIN((gint64)SEC << (n - 1), 300 * SEC);
		gint64 d = ark_retry_policy_get_delay(&p, n, g_rand_double(rand));
		g_assert_cmpint(d, >=, 0);
		g_assert_cmpint(d, <=, cap);
		if (n == 5) {
			lo = MIN(lo, d);
			hi = MAX(hi, d);
		}
	}
	/* the draws spread over the whole range, not a corner of it */
	g_assert_cmpint(lo, <, 16 * SEC / 10);
	g_assert_cmpint(hi, >, 16 * SEC * 9 / 10);
	/* out-of-range randoms are clamped, never widen the range */
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 1, 7.0), ==, 1 * SEC);
	g_assert_cmpint(ark_retry_policy_get_delay(&p, 1, -3.0), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/retry/decide/outcomes", ark_retry_test_decide_outcomes);
	g_test_add_func("/retry/decide/exit-codes", ark_retry_test_decide_exit_codes);
	g_test_add_func("/retry/delay/exponential", ark_retry_test_delay_exponential);
	g_test_add_func("/retry/delay/fixed", ark_retry_test_delay_fixed);
	g_test_add_func("/retry/delay/jitter-bounds", ark_retry_test_delay_jitter_bounds);
	return g_test_run();
}
