/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>

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

gboolean
ark_executor_get_capacity(ArkExecutor *self, ArkResources *out)
{
	ArkExecutorInterface *iface;

	g_return_val_if_fail(ARK_IS_EXECUTOR(self), FALSE);
	g_return_val_if_fail(out != NULL, FALSE);
	iface = ARK_EXECUTOR_GET_IFACE(self);
	if (iface->get_capacity == NULL)
		return FALSE;
	memset(out, 0, sizeof(*out));
	iface->get_capacity(self, out);
	return TRUE;
}

/* the physical memory, or 0 when the system does not say */
static guint64
ark_resources_physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page_size = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || page_size <= 0)
		return 0;
	return (guint64)pages * (guint64)page_size;
}

gboolean
ark_resources_read_config(GKeyFile *config, const gchar *group, ArkResources *out,
			  GError **error)
{
	g_autofree gchar *cpus = NULL;
	g_autofree gchar *memory = NULL;
	g_autofree gchar *gpus = NULL;

	g_return_val_if_fail(out != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	memset(out, 0, sizeof(*out));
	out->cpus = g_get_num_processors();
	out->memory = ark_resources_physical_memory();
	if (config == NULL || group == NULL)
		return TRUE;
	cpus = g_key_file_get_string(config, group, "cpus", NULL);
	memory = g_key_file_get_string(config, group, "memory", NULL);
	gpus = g_key_file_get_string(config, group, "gpus", NULL);
	if (cpus != NULL && *g_strstrip(cpus) != '\0') {
		gchar *end = NULL;
		gdouble value = g_ascii_strtod(cpus, &end);
		if (end == cpus || *end != '\0' || !(value >= 0.001) || value > ARK_WORKFLOW_MAX_CPUS) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] cpus: '%s' is not a number from 0.001 to %d", group, cpus,
				    ARK_WORKFLOW_MAX_CPUS);
			return FALSE;
		}
		out->cpus = value;
	}
	if (memory != NULL && *g_strstrip(memory) != '\0') {
		g_autoptr(GError) local_error = NULL;
		if (!ark_size_parse(memory, &out->memory, &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "[%s] memory: %s",
				    group, local_error->message);
			return FALSE;
		}
	}
	if (gpus != NULL && *g_strstrip(gpus) != '\0') {
		guint64 value = 0;
		if (!g_ascii_string_to_unsigned(gpus, 10, 0, ARK_WORKFLOW_MAX_GPUS, &value, NULL)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] gpus: '%s' is not a whole number from 0 to %d", group, gpus,
				    ARK_WORKFLOW_MAX_GPUS);
			return FALSE;
		}
		out->gpus = (guint)value;
	}
	return TRUE;
}
