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

typedef enum {
	ARK_BACKOFF_EXPONENTIAL = 0, /* initial_delay * multiplier^(n-1), capped at max_delay */
	ARK_BACKOFF_FIXED = 1,	     /* initial_delay every time */
} ArkBackoff;

/* which outcomes of an attempt a retry policy retries (ArkRetryPolicy.retry_on) */
typedef enum {
	ARK_RETRY_ON_FAILED = 1 << 0,	 /* ran and failed: non-zero exit, signal, function error */
	ARK_RETRY_ON_TIMED_OUT = 1 << 1, /* killed by its execution timeout */
	ARK_RETRY_ON_LOST = 1 << 2,	 /* its process or holder died (found at recovery) */
	ARK_RETRY_ON_ERROR = 1 << 3,	 /* could not be started (missing program, bad cwd, ...) */
} ArkRetryOn;

#define ARK_RETRY_ON_DEFAULT (ARK_RETRY_ON_FAILED | ARK_RETRY_ON_TIMED_OUT | ARK_RETRY_ON_LOST)
#define ARK_WORKFLOW_MAX_ATTEMPTS 1000
#define ARK_WORKFLOW_MAX_EXIT_CODES 256

/**
 * ArkRetryPolicy:
 *
 * When and how a failed attempt is tried again. The delay before attempt n+1 is
 * min(max_delay, initial_delay * multiplier^(n-1)) for exponential backoff, initial_delay for
 * fixed; with @jitter it is drawn uniformly from [0, that] ("full jitter").
 */
typedef struct {
	guint max_attempts;   /* attempts in all, the first included; 1 = never retry; default 1 */
	ArkBackoff backoff;   /* default exponential */
	gint64 initial_delay; /* microseconds; default 1 s */
	gint64 max_delay;     /* microseconds; default 5 min */
	gdouble multiplier;   /* exponential factor, 1 to 100; default 2 */
	gboolean jitter;      /* default TRUE */
	guint retry_on;	      /* ArkRetryOn flags; default ARK_RETRY_ON_DEFAULT */
	gint *exit_codes;     /* when n_exit_codes > 0, a failure retries only on these exit codes */
	guint n_exit_codes;
} ArkRetryPolicy;

/*
 * What a retry policy says about an attempt that ended with @status (and @exit_code for
 * FAILED) after @attempts_used attempts of the current budget: ARK_RETRY_DECISION_RETRY to try
 * again, _FAIL when the outcome is not one the policy retries (the task fails), _EXHAUSTED when
 * it is but no attempt is left (with max_attempts > 1 the task is dead; with 1, it failed).
 */
typedef enum {
	ARK_RETRY_DECISION_RETRY,
	ARK_RETRY_DECISION_FAIL,
	ARK_RETRY_DECISION_EXHAUSTED,
} ArkRetryDecision;

ARK_API ArkRetryDecision ark_retry_policy_decide(const ArkRetryPolicy *policy, gint status,
						 gint exit_code, guint attempts_used);
/* the delay in microseconds before attempt @attempts_used + 1; @random is uniform in [0, 1) and
 * only used with jitter (full jitter: the result is @random times the capped delay) */
ARK_API gint64 ark_retry_policy_get_delay(const ArkRetryPolicy *policy, guint attempts_used,
					  gdouble random);

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
	ArkRetryPolicy retry;	  /* task's "retry", else defaults.retry, else never retry */
	gint64 queue_timeout;	  /* µs a ready task may wait to start before it fails, 0 for none */
	/* what the task holds on its executor while it runs (ABI 1.2); 0 asks for none */
	gdouble cpus;		   /* CPUs, may be fractional */
	guint64 memory;		   /* bytes */
	guint gpus;
	guint concurrency_limit;	/* with @concurrency_key: most tasks holding the key at once */
	const gchar *concurrency_key; /* a named concurrency key ("deploy-prod"), or NULL */
	/* (ABI 1.3) */
	JsonNode *input;	     /* the task's "input": any JSON value handed to its executor, or
				      * NULL; agent tasks give it to their agents */
	const struct _ArkAgentSpec *agent; /* the "agent" member, or NULL (executor "agent") */
	/*< private >*/
	gpointer reserved[2];
} ArkTaskSpec;

/**
 * ArkAgentAccept:
 *
 * The acceptance rule of an agent task: which results complete it. (ABI 1.3)
 */
typedef enum {
	ARK_AGENT_ACCEPT_FIRST = 0,   /* the first completion is accepted (the default) */
	ARK_AGENT_ACCEPT_SCHEMA = 1,  /* a result that satisfies @accept_schema */
	ARK_AGENT_ACCEPT_COMMAND = 2, /* @accept_command, given the result on stdin, exits 0 */
} ArkAgentAccept;

#define ARK_AGENT_MAX_CAPABILITIES 64
#define ARK_AGENT_MAX_CONTENDERS 64
#define ARK_AGENT_MAX_SHARDS 10000
#define ARK_AGENT_MIN_LEASE (1 * G_USEC_PER_SEC)
#define ARK_AGENT_MAX_LEASE ((gint64)86400 * G_USEC_PER_SEC)

/**
 * ArkAgentSpec:
 *
 * The "agent" member of a task whose executor is "agent": what its agents must be able to do and
 * how the work is shared among them (docs/agents.md). Owned by #ArkWorkflow like the task. (ABI 1.3)
 *
 *   "agent": { "capabilities": ["code-review"], "mode": "competitive", "contenders": 3,
 *              "accept": { "schema": {...} } | { "command": ["jq", "-e", ".ok"] } | "first",
 *              "shards": [ ... ] | "shards_from": "split", "lease": "2m", "max_handoffs": 5 }
 */
typedef struct _ArkAgentSpec {
	gchar **capabilities; /* every one is required of an agent; NULL-terminated, at least one */
	gchar *mode;	      /* coordinator name; "delegated" unless the task says otherwise */
	guint contenders;     /* agents working on one piece of work at once (competitive), 1..64;
			       * default 1, and 2 for mode "competitive" */
	JsonNode *shards;     /* cooperative: a JSON array, one element per shard, or NULL */
	gchar *shards_from;   /* cooperative: a task in "needs" whose result is the shard array,
			       * or NULL */
	ArkAgentAccept accept;
	JsonNode *accept_schema;  /* ARK_AGENT_ACCEPT_SCHEMA: a JSON Schema (the subset in
				   * docs/agents.md) */
	gchar **accept_command;	  /* ARK_AGENT_ACCEPT_COMMAND: argv; NULL otherwise */
	gint64 lease;		  /* microseconds an assignment is held without a heartbeat;
				   * default 60 s, 1 s to 1 day */
	guint max_handoffs;	  /* releases and lease expiries of one piece of work before the
				   * task goes to the dead-letter queue; default 5, 1..1000 */
	/*< private >*/
	gpointer reserved[6];
} ArkAgentSpec;

#define ARK_WORKFLOW_MAX_CPUS 1000000
#define ARK_WORKFLOW_MAX_GPUS 1000000
#define ARK_WORKFLOW_MAX_CONCURRENCY_LIMIT 1000000

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

typedef enum {
	ARK_FAILURE_MODE_CONTINUE = 0,	/* run what does not depend on a failure (the default) */
	ARK_FAILURE_MODE_FAIL_FAST = 1, /* the first failure cancels everything else */
} ArkFailureMode;

/**
 * ArkTaskSimulation:
 *
 * A task's "simulate" member: the duration `arkitect simulate` gives each of its attempts, fixed
 * or drawn from a distribution. A real run ignores it. (ABI 1.2)
 */
typedef enum {
	ARK_SIMULATION_FIXED = 0,	/* {"duration": D}: always @mean */
	ARK_SIMULATION_LOGNORMAL = 1,	/* log-normal with mean @mean and log-space deviation @sigma */
	ARK_SIMULATION_EXPONENTIAL = 2, /* exponential with mean @mean */
	ARK_SIMULATION_UNIFORM = 3,	/* uniform in [@min, @max] */
} ArkSimulationKind;

typedef struct {
	ArkSimulationKind kind;
	gint64 mean;   /* microseconds: the fixed duration, or the distribution's mean */
	gdouble sigma; /* lognormal only, 0 to 10 */
	gint64 min;    /* uniform only, microseconds */
	gint64 max;
} ArkTaskSimulation;

/*
 * Checks @value against @schema, a JSON Schema in the subset agent tasks' "accept" uses (type,
 * required, properties, additionalProperties false, items, enum, const, minimum, maximum,
 * minLength, maxLength, minItems, maxItems). FALSE with ARK_ERROR_INVALID_ARGUMENT naming the
 * first place that does not match ("$.items[2].name: expected a string"). (ABI 1.3)
 */
ARK_API gboolean ark_json_schema_check(JsonNode *schema, JsonNode *value, GError **error);

/* TRUE and *@out when tasks[@index] has a "simulate" member */
ARK_API gboolean ark_workflow_get_task_simulation(ArkWorkflow *self, guint index,
						  ArkTaskSimulation *out);

/* "on_failure": "continue" (default) or "fail-fast" */
ARK_API ArkFailureMode ark_workflow_get_failure_mode(ArkWorkflow *self);
/* "timeout" at the top level: microseconds the whole run may take from submission, 0 for none */
ARK_API gint64 ark_workflow_get_timeout(ArkWorkflow *self);
ARK_API guint ark_workflow_get_n_tasks(ArkWorkflow *self);
ARK_API const ArkTaskSpec *ark_workflow_get_task(ArkWorkflow *self, guint index);
ARK_API const ArkTaskSpec *ark_workflow_lookup_task(ArkWorkflow *self, const gchar *id);
/* the task indices in a topological order (dependencies first); n = n_tasks */
ARK_API const guint *ark_workflow_get_topological_order(ArkWorkflow *self);
/* canonical JSON of the workflow as parsed (what the store keeps with a run) */
ARK_API const gchar *ark_workflow_get_definition(ArkWorkflow *self);
/* the object of task @index in a stored @definition (a run record's), as a new node, or NULL when
 * the definition is missing or damaged, has no such task, or its id is not @task_id (when not
 * NULL); a store may hold anything, so nothing is assumed of it (ABI 1.2) */
ARK_API JsonNode *ark_workflow_definition_get_task(const gchar *definition, guint index,
						   const gchar *task_id);

/* where tasks[@index] starts in the source document, 1-based, 0/0 if unknown */
ARK_API void ark_workflow_get_task_location(ArkWorkflow *self, guint index, guint *out_line,
					    guint *out_column);

/* appends a problem about tasks[@index] (or the document when @index is G_MAXUINT) to @problems,
 * with the task's location filled in; @member is appended to the path ("executor") or NULL */
ARK_API void ark_workflow_add_problem(ArkWorkflow *self, GPtrArray *problems, guint index,
				      const gchar *member, const gchar *format, ...)
    G_GNUC_PRINTF(5, 6);

/**
 * ark_workflow_override_task:
 * @self: a workflow
 * @task_id: the task to change
 * @overrides: a JSON object of task members ("run", "timeout", "env", "retry", ...) that replace
 *   the task's own; "id" and "needs" can not be overridden
 * @problems: (out) (transfer full): what is wrong with @overrides or the result
 *
 * Used by DLQ replay: builds the definition the workflow would have with @task_id's members
 * replaced, and validates it like ark_workflow_parse() does.
 *
 * Returns: (transfer full) (nullable): the new workflow, or NULL with @problems set
 */
ARK_API ArkWorkflow *ark_workflow_override_task(ArkWorkflow *self, const gchar *task_id,
						JsonObject *overrides, GPtrArray **problems);

/* @self with every task on @executor, nothing else changed; for simulations (ABI 1.2) */
ARK_API ArkWorkflow *ark_workflow_with_executor(ArkWorkflow *self, const gchar *executor,
						GPtrArray **problems);

G_END_DECLS
