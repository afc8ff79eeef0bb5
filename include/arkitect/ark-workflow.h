/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

/* limits on what a workflow document may contain; every one is checked with a clear error */
#define ARK_WORKFLOW_MAX_BYTES (16 * 1024 * 1024)
#define ARK_WORKFLOW_MAX_TASKS 100000
#define ARK_WORKFLOW_MAX_NEEDS 1024
#define ARK_WORKFLOW_MAX_ID_LEN 128
#define ARK_WORKFLOW_MAX_ARGV 4096

/**
 * ArkTaskSpec:
 *
 * One task of a workflow, as the workflow document defines it, with defaults already applied.
 * Allocated and owned by #ArkWorkflow only; plugins read the fields and never allocate or copy the
 * struct, so fields may be appended in later ABI minors.
 */
typedef struct {
	gchar *id;	 /* unique in the workflow; [A-Za-z0-9_][A-Za-z0-9_.-]* */
	gchar **needs;	 /* ids this task depends on; NULL-terminated, never NULL */
	gchar *executor; /* executor name ("process" unless the task or defaults say otherwise) */
	gchar **run;	 /* argv for process-like executors, or NULL; with shell, one script */
	gboolean shell;	 /* run[0] is a script for /bin/sh -c */
	gchar *cwd;	 /* working directory, or NULL for the executor's default */
	gchar **env;	 /* extra environment as KEY=VALUE; NULL-terminated, never NULL */
	gchar *function; /* function name for in-process executors, or NULL */
	JsonNode *args;	 /* free-form arguments for the function or executor, or NULL */
	gint priority;	 /* larger runs earlier under priority-aware policies; default 0 */
	gint64 estimate; /* expected duration in microseconds, 0 when unknown */
	gint64 timeout;	 /* per-attempt execution timeout in microseconds, 0 for none */
	gint64 deadline_relative; /* "+15m": microseconds after submission, 0 for none */
	gint64 deadline_absolute; /* RFC 3339 deadline as a timestamp, 0 for none */
	gboolean allow_failure;	  /* a failure is reported but does not fail dependents or the run */
	guint index;		  /* position in the workflow's task list */
	/*< private >*/
	gpointer reserved[8];
} ArkTaskSpec;

/**
 * ArkProblem:
 *
 * One thing wrong with a workflow document. @line and @column are 1-based and 0 when unknown;
 * @path names the member ("tasks[3].needs[0]", or "" for the document).
 */
typedef struct {
	gchar *path;
	guint line;
	guint column;
	gchar *message;
} ArkProblem;

ARK_API void ark_problem_free(ArkProblem *problem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkProblem, ark_problem_free)

/* "file.json:3:7: tasks[1].needs[0]: unknown task 'bild'" (parts that are unknown are left out) */
ARK_API gchar *ark_problem_to_string(const ArkProblem *problem, const gchar *filename);

typedef struct _ArkWorkflow ArkWorkflow;

/**
 * ark_workflow_parse:
 * @data: the document
 * @length: its length, or -1 if NUL-terminated
 * @problems: (out) (transfer full): every problem found, in document order
 *
 * Parses and validates a workflow document on its own: JSON syntax (with line and column), types
 * and unknown members, ids, duplicate ids, unknown needs, cycles (the message shows the cycle as
 * "a -> b -> c -> a"), durations and limits. Checks that depend on the plugins loaded (executor
 * and policy names, executor-specific fields) are done by the caller, see ark_workflow_add_problem().
 *
 * Returns: (transfer full) (nullable): the workflow, or NULL when @problems is not empty.
 */
ARK_API ArkWorkflow *ark_workflow_parse(const gchar *data, gssize length, GPtrArray **problems);

ARK_API ArkWorkflow *ark_workflow_ref(ArkWorkflow *self);
ARK_API void ark_workflow_unref(ArkWorkflow *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkWorkflow, ark_workflow_unref)

ARK_API const gchar *ark_workflow_get_name(ArkWorkflow *self);
/* the policy the workflow asks for, or NULL */
ARK_API const gchar *ark_workflow_get_policy(ArkWorkflow *self);
ARK_API guint ark_workflow_get_n_tasks(ArkWorkflow *self);
ARK_API const ArkTaskSpec *ark_workflow_get_task(ArkWorkflow *self, guint index);
ARK_API const ArkTaskSpec *ark_workflow_lookup_task(ArkWorkflow *self, const gchar *id);
/* the task indices in a topological order (dependencies first); n = n_tasks */
ARK_API const guint *ark_workflow_get_topological_order(ArkWorkflow *self);
/* canonical JSON of the workflow as parsed (what the store keeps with a run) */
ARK_API const gchar *ark_workflow_get_definition(ArkWorkflow *self);

/* where tasks[@index] starts in the source document, 1-based, 0/0 if unknown */
ARK_API void ark_workflow_get_task_location(ArkWorkflow *self, guint index, guint *out_line,
					    guint *out_column);

/* appends a problem about tasks[@index] (or the document when @index is G_MAXUINT) to @problems,
 * with the task's location filled in; @member is appended to the path ("executor") or NULL */
ARK_API void ark_workflow_add_problem(ArkWorkflow *self, GPtrArray *problems, guint index,
				      const gchar *member, const gchar *format, ...)
    G_GNUC_PRINTF(5, 6);

G_END_DECLS
