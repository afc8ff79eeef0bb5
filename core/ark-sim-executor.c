/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "ark-sim-executor.h"
#include "ark-simulator.h"

struct _ArkSimExecutor {
	GObject parent_instance;
	ArkSimulator *simulator; /* outlives every executor its engine sets up */
	guint slots;
};

static void ark_sim_executor_iface_init(ArkExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkSimExecutor, ark_sim_executor, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR,
						    ark_sim_executor_iface_init))

static gboolean
ark_sim_executor_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkSimExecutor *self = ARK_SIM_EXECUTOR(executor);

	self->simulator = ark_simulator_from_registry(setup->registry);
	if (self->simulator == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
				    "the simulated executor only runs inside a simulation");
		return FALSE;
	}
	self->slots = MAX(setup->slots, 1);
	return TRUE;
}

static guint
ark_sim_executor_get_slots(ArkExecutor *executor)
{
	return ARK_SIM_EXECUTOR(executor)->slots;
}

static gboolean
ark_sim_executor_check_task(ArkExecutor *executor, ArkWorkflow *workflow, const ArkTaskSpec *spec,
			    GPtrArray *problems)
{
	return TRUE;
}

static void
ark_sim_executor_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	ark_simulator_start_attempt(ARK_SIM_EXECUTOR(executor)->simulator, attempt);
}

static void
ark_sim_executor_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	ark_simulator_cancel_attempt(ARK_SIM_EXECUTOR(executor)->simulator, attempt);
}

static void
ark_sim_executor_iface_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_sim_executor_setup;
	iface->get_slots = ark_sim_executor_get_slots;
	iface->check_task = ark_sim_executor_check_task;
	iface->start = ark_sim_executor_start;
	iface->cancel = ark_sim_executor_cancel;
}

static void
ark_sim_executor_class_init(ArkSimExecutorClass *klass)
{
}

static void
ark_sim_executor_init(ArkSimExecutor *self)
{
}
