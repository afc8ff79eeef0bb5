/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

G_DEFINE_INTERFACE(ArkExecutor, ark_executor, G_TYPE_OBJECT)

static void
ark_executor_default_init(ArkExecutorInterface *iface)
{
}

gboolean
ark_executor_setup(ArkExecutor *self, const ArkExecutorSetup *setup, GError **error)
{
	ArkExecutorInterface *iface;
	g_return_val_if_fail(ARK_IS_EXECUTOR(self), FALSE);
	g_return_val_if_fail(setup != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->setup == NULL)
		return TRUE;
	return iface->setup(self, setup, error);
}

guint
ark_executor_get_slots(ArkExecutor *self)
{
	ArkExecutorInterface *iface;
	g_return_val_if_fail(ARK_IS_EXECUTOR(self), 0);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->get_slots == NULL)
		return 1;
	return iface->get_slots(self);
}

gboolean
ark_executor_check_task(ArkExecutor *self, ArkWorkflow *workflow, const ArkTaskSpec *spec,
			GPtrArray *problems)
{
	ArkExecutorInterface *iface;
	g_return_val_if_fail(ARK_IS_EXECUTOR(self), FALSE);
	g_return_val_if_fail(spec != NULL && problems != NULL, FALSE);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->check_task == NULL)
		return TRUE;
	return iface->check_task(self, workflow, spec, problems);
}

void
ark_executor_start(ArkExecutor *self, ArkAttempt *attempt)
{
	ArkExecutorInterface *iface;
	g_return_if_fail(ARK_IS_EXECUTOR(self));
	g_return_if_fail(attempt != NULL);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->start == NULL) {
		ArkAttemptResult result = {
		    .status = ARK_ATTEMPT_STATUS_ERROR,
		    .exit_code = -1,
		    .error = "executor cannot start attempts",
		};
		ark_attempt_finish(attempt, &result);
		return;
	}
	iface->start(self, attempt);
}

void
ark_executor_cancel(ArkExecutor *self, ArkAttempt *attempt)
{
	ArkExecutorInterface *iface;
	g_return_if_fail(ARK_IS_EXECUTOR(self));
	g_return_if_fail(attempt != NULL);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->cancel != NULL)
		iface->cancel(self, attempt);
}

void
ark_executor_shutdown(ArkExecutor *self)
{
	ArkExecutorInterface *iface;
	g_return_if_fail(ARK_IS_EXECUTOR(self));
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->shutdown != NULL)
		iface->shutdown(self);
}

gboolean
ark_executor_check_health(ArkExecutor *self, GError **error)
{
	ArkExecutorInterface *iface;
	g_return_val_if_fail(ARK_IS_EXECUTOR(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->check_health == NULL)
		return TRUE;
	return iface->check_health(self, error);
}
