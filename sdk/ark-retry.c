/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>

#include <arkitect/arkitect.h>

static guint
ark_retry_on_flag(gint status)
{
	switch (status) {
	case ARK_ATTEMPT_STATUS_FAILED:
		return ARK_RETRY_ON_FAILED;
	case ARK_ATTEMPT_STATUS_TIMED_OUT:
		return ARK_RETRY_ON_TIMED_OUT;
	case ARK_ATTEMPT_STATUS_LOST:
		return ARK_RETRY_ON_LOST;
	case ARK_ATTEMPT_STATUS_ERROR:
		return ARK_RETRY_ON_ERROR;
	default:
		/* succeeded, cancelled, running: never retried */
		return 0;
	}
}

ArkRetryDecision
ark_retry_policy_decide(const ArkRetryPolicy *policy, gint status, gint exit_code,
			guint attempts_used)
{
	guint flag;

	g_return_val_if_fail(policy != NULL, ARK_RETRY_DECISION_FAIL);

	flag = ark_retry_on_flag(status);
	if (flag == 0 || (policy->retry_on & flag) == 0)
		return ARK_RETRY_DECISION_FAIL;
	if (status == ARK_ATTEMPT_STATUS_FAILED && policy->n_exit_codes > 0) {
		gboolean listed = FALSE;
		/* killed by a signal: exit_code is -1 and matches no listed code */
		for (guint i = 0; i < policy->n_exit_codes && !listed; i++)
			listed = policy->exit_codes[i] == exit_code;
		if (!listed)
			return ARK_RETRY_DECISION_FAIL;
	}
	if (attempts_used >= MAX(policy->max_attempts, 1))
		return ARK_RETRY_DECISION_EXHAUSTED;
	return ARK_RETRY_DECISION_RETRY;
}

gint64
ark_retry_policy_get_delay(const ArkRetryPolicy *policy, guint attempts_used, gdouble random)
{
	gdouble delay;
	gdouble cap;

	g_return_val_if_fail(policy != NULL, 0);

	cap = (gdouble)MAX(policy->max_delay, 0);
	delay = (gdouble)MAX(policy->initial_delay, 0);
	if (policy->backoff == ARK_BACKOFF_EXPONENTIAL && attempts_used > 1) {
		gdouble multiplier = CLAMP(policy->multiplier, 1.0, 100.0);
		/* pow() saturates to +inf for huge exponents, which the cap below absorbs */
		delay *= pow(multiplier, (gdouble)(attempts_used - 1));
	}
	if (policy->max_delay > 0 && !(delay <= cap))
		delay = cap;
	if (policy->jitter)
		delay *= CLAMP(random, 0.0, 1.0);
	/* a bound far from overflow even without a cap */
	return (gint64)MIN(delay, (gdouble)G_MAXINT64 / 2);
}
