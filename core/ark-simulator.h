/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * A simulation: the real engine, the real memory store and a real policy plugin run one workflow
 * on a virtual clock, every task on the simulated executor (ArkSimExecutor), whose attempts
 * take the task's "simulate" duration or its estimate and end without anyone waiting.
 */

/* the name the simulated executor is registered under; every task of a prepared workflow uses it */
#define ARK_SIMULATOR_EXECUTOR "simulated"

typedef struct {
	guint slots;	     /* attempts at once, at least 1 */
	const gchar *policy; /* NULL: the workflow's, else the engine's default */
	guint64 seed;	     /* for durations drawn from distributions and retry jitter */
	ArkTimestamp start;  /* virtual time of the submission */
	gboolean schedule;   /* keep every task's ready, start and finish times */
} ArkSimulatorOptions;

/* one task in a report's schedule; times in microseconds after the submission */
typedef struct {
	guint task; /* index in the workflow */
	ArkTaskState state;
	gint64 ready; /* first became ready, -1 never */
	gint64 start; /* first attempt started, -1 never */
	gint64 finish; /* reached its final state */
} ArkSimulatorEntry;

typedef struct {
	gchar *policy;
	ArkRunState state;
	guint n_tasks;
	guint n_succeeded;
	guint n_attempts;
	gint64 makespan;      /* submission to the last task's end */
	gint64 critical_path; /* longest path by first-attempt durations */
	gint64 total_work;    /* sum of first-attempt durations */
	gint64 lower_bound;   /* max(critical_path, ceil(total_work / slots)) */
	gdouble ratio;	      /* makespan / lower_bound, 1 when both are 0 */
	gdouble mean_slowdown; /* (finish - ready) / duration over succeeded tasks with duration > 0 */
	gdouble p95_slowdown;
	guint n_deadlines; /* tasks with a deadline */
	guint n_missed;	   /* of them, not succeeded by it */
	GArray *schedule;  /* ArkSimulatorEntry in the order of first start (then unstarted), or NULL */
} ArkSimulatorReport;

void ark_simulator_report_free(ArkSimulatorReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkSimulatorReport, ark_simulator_report_free)

/* what a workflow needs to be simulated: a duration for every task ("simulate" or "estimate");
 * appends to @problems and returns FALSE if something is missing */
gboolean ark_simulator_check_workflow(ArkWorkflow *workflow, GPtrArray *problems);

/* @workflow with every task on the simulated executor, indices unchanged (transfer full) */
ArkWorkflow *ark_simulator_prepare_workflow(ArkWorkflow *workflow, GError **error);

/* simulates @prepared (from ark_simulator_prepare_workflow()) with the policies of @plugins */
ArkSimulatorReport *ark_simulator_run(ArkRegistry *plugins, ArkWorkflow *prepared,
				      const ArkSimulatorOptions *options, GError **error);

/* the duration attempt @attempt (from 1) of @spec takes, drawn from its "simulate" member or
 * its estimate; deterministic in (@seed, task index, @attempt) */
gint64 ark_simulator_draw_duration(ArkWorkflow *workflow, const ArkTaskSpec *spec, guint attempt,
				   guint64 seed);

/* for ArkSimExecutor: the simulation an executor set up with @registry belongs to */
typedef struct _ArkSimulator ArkSimulator;
ArkSimulator *ark_simulator_from_registry(ArkRegistry *registry);
void ark_simulator_start_attempt(ArkSimulator *self, ArkAttempt *attempt);
void ark_simulator_cancel_attempt(ArkSimulator *self, ArkAttempt *attempt);

G_END_DECLS
