/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * The executor of a simulation: it runs nothing, it hands each attempt to the ArkSimulator its
 * registry belongs to, which ends it at virtual now + the task's simulated duration. Every task
 * passes its check: what the real executors require was checked before the workflow was
 * prepared.
 */
#define ARK_TYPE_SIM_EXECUTOR (ark_sim_executor_get_type())
G_DECLARE_FINAL_TYPE(ArkSimExecutor, ark_sim_executor, ARK, SIM_EXECUTOR, GObject)

G_END_DECLS
