/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect.h>

/*
 * A batch coalesces: a TASK_UPDATE of a task that already has an INSERT or UPDATE in the batch
 * overwrites that operation instead of being appended (an INSERT stays an INSERT, with the new
 * values), and the same for ATTEMPT_UPDATE, so that a task that goes ready -> running ->
 * succeeded within one main-loop iteration costs one row write. The result is the one the
 * operations would have had one after the other: the earlier operation keeps its place (an
 * attempt insert still comes after the insert of its task) and takes exactly the fields an
 * update writes. Events and runs are never coalesced.
 *
 * The index is an open-addressing table of op positions + 1, hashed by the content of the
 * record's ids, which are read from the ops themselves: their strings are valid as long as the
 * ops are, until the batch is cleared.
 */
struct _ArkStoreBatch {
	GArray *ops;	      /* of ArkStoreOp, strings borrowed */
	GStringChunk *strings; /* for ark_store_batch_intern() */
	guint *slots;	      /* op index + 1 of a task or attempt op, 0 for free */
	guint n_slots;	      /* a power of two, or 0 */
	guint n_keyed;
};

ArkStoreBatch *
ark_store_batch_new(void)
{
	ArkStoreBatch *batch = g_new0(ArkStoreBatch, 1);
	batch->ops = g_array_sized_new(FALSE, FALSE, sizeof(ArkStoreOp), 256);
	return batch;
}

void
ark_store_batch_free(ArkStoreBatch *batch)
{
	if (batch == NULL)
		return;
	g_array_unref(batch->ops);
	if (batch->strings != NULL)
		g_string_chunk_free(batch->strings);
	g_free(batch->slots);
	g_free(batch);
}

/* the ids that make a record one row, or FALSE when one is missing (the store refuses the op,
 * ark_store_op_check() says why) */
static gboolean
ark_store_batch_op_key(const ArkStoreOp *op, const gchar **run_id, const gchar **task_id,
		       guint *number)
{
	*run_id = *task_id = NULL;
	*number = 0;
	switch (op->kind) {
	case ARK_STORE_OP_TASK_INSERT:
	case ARK_STORE_OP_TASK_UPDATE:
		*run_id = op->task.run_id;
		*task_id = op->task.task_id;
		*number = 0;
		break;
	case ARK_STORE_OP_ATTEMPT_INSERT:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		*run_id = op->attempt.run_id;
		*task_id = op->attempt.task_id;
		/* attempt numbers start at 1: 0 keeps a task apart from its attempts */
		*number = op->attempt.number + 1;
		break;
	default:
		return FALSE;
	}
	return *run_id != NULL && *task_id != NULL;
}

static guint
ark_store_batch_hash(const gchar *run_id, const gchar *task_id, guint number)
{
	guint hash = g_str_hash(run_id) * 31 + g_str_hash(task_id);
	return (hash ^ (number * 0x9e3779b1u)) * 0x85ebca6bu;
}

/* the slot of the op keyed (@run_id, @task_id, @number), or the free slot where it would go */
static guint
ark_store_batch_find_slot(ArkStoreBatch *batch, const gchar *run_id, const gchar *task_id,
			  guint number)
{
	guint mask = batch->n_slots - 1;
	guint slot = ark_store_batch_hash(run_id, task_id, number) & mask;

	while (batch->slots[slot] != 0) {
		const ArkStoreOp *op = &g_array_index(batch->ops, ArkStoreOp,
						       batch->slots[slot] - 1);
		const gchar *op_run_id;
		const gchar *op_task_id;
		guint op_number;

		ark_store_batch_op_key(op, &op_run_id, &op_task_id, &op_number);
		if (op_number == number && strcmp(op_task_id, task_id) == 0 &&
		    strcmp(op_run_id, run_id) == 0)
			return slot;
		slot = (slot + 1) & mask;
	}
	return slot;
}

static void
ark_store_batch_grow_slots(ArkStoreBatch *batch)
{
	g_autofree guint *old = batch->slots;
	guint n_old = batch->n_slots;

	batch->n_slots = MAX(n_old * 2, 64);
	batch->slots = g_new0(guint, batch->n_slots);
	for (guint i = 0; i < n_old; i++) {
		const gchar *run_id;
		const gchar *task_id;
		guint number;

		if (old[i] == 0)
			continue;
		ark_store_batch_op_key(&g_array_index(batch->ops, ArkStoreOp, old[i] - 1),
				       &run_id, &task_id, &number);
		batch->slots[ark_store_batch_find_slot(batch, run_id, task_id, number)] = old[i];
	}
}

/*
 * The earlier op of the same task or attempt as @op, or NULL when there is none; in that case
 * the op about to be appended is recorded as the one to coalesce into from now on.
 */
static ArkStoreOp *
ark_store_batch_find_earlier(ArkStoreBatch *batch, const ArkStoreOp *op)
{
	const gchar *run_id;
	const gchar *task_id;
	guint number;
	guint slot;

	if (!ark_store_batch_op_key(op, &run_id, &task_id, &number))
		return NULL;
	/* at most half full, so that probes stay short */
	if ((batch->n_keyed + 1) * 2 > batch->n_slots)
		ark_store_batch_grow_slots(batch);
	slot = ark_store_batch_find_slot(batch, run_id, task_id, number);
	if (batch->slots[slot] != 0)
		return &g_array_index(batch->ops, ArkStoreOp, batch->slots[slot] - 1);
	batch->slots[slot] = batch->ops->len + 1;
	batch->n_keyed++;
	return NULL;
}

static ArkStoreOp *
ark_store_batch_append(ArkStoreBatch *batch, ArkStoreOpKind kind)
{
	ArkStoreOp *op;
	g_array_set_size(batch->ops, batch->ops->len + 1);
	op = &g_array_index(batch->ops, ArkStoreOp, batch->ops->len - 1);
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	return op;
}

void
ark_store_batch_add_run(ArkStoreBatch *batch, ArkStoreOpKind kind, const ArkRunRecord *run)
{
	g_return_if_fail(batch != NULL && run != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_RUN_INSERT || kind == ARK_STORE_OP_RUN_UPDATE);
	ark_store_batch_append(batch, kind)->run = *run;
}

void
ark_store_batch_add_task(ArkStoreBatch *batch, ArkStoreOpKind kind, const ArkTaskRecord *task)
{
	ArkStoreOp op = {.kind = kind};
	ArkStoreOp *earlier;

	g_return_if_fail(batch != NULL && task != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_TASK_INSERT || kind == ARK_STORE_OP_TASK_UPDATE);

	op.task = *task;
	earlier = ark_store_batch_find_earlier(batch, &op);
	/* a second insert is appended: the store refuses it, as it would have without this */
	if (earlier != NULL && kind == ARK_STORE_OP_TASK_UPDATE) {
		/* an update writes every field but the ids and the index */
		op.task.run_id = earlier->task.run_id;
		op.task.task_id = earlier->task.task_id;
		op.task.index = earlier->task.index;
		earlier->task = op.task;
		return;
	}
	ark_store_batch_append(batch, kind)->task = *task;
}

void
ark_store_batch_add_attempt(ArkStoreBatch *batch, ArkStoreOpKind kind,
			    const ArkAttemptRecord *attempt)
{
	ArkStoreOp op = {.kind = kind};
	ArkStoreOp *earlier;

	g_return_if_fail(batch != NULL && attempt != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_ATTEMPT_INSERT ||
			 kind == ARK_STORE_OP_ATTEMPT_UPDATE);

	op.attempt = *attempt;
	earlier = ark_store_batch_find_earlier(batch, &op);
	if (earlier != NULL && kind == ARK_STORE_OP_ATTEMPT_UPDATE) {
		/* exactly the fields an update writes */
		earlier->attempt.status = attempt->status;
		earlier->attempt.finished_at = attempt->finished_at;
		earlier->attempt.exit_code = attempt->exit_code;
		earlier->attempt.signal = attempt->signal;
		earlier->attempt.error = attempt->error;
		earlier->attempt.log_path = attempt->log_path;
		earlier->attempt.result = attempt->result;
		return;
	}
	ark_store_batch_append(batch, kind)->attempt = *attempt;
}

void
ark_store_batch_add_event(ArkStoreBatch *batch, const ArkEvent *event)
{
	g_return_if_fail(batch != NULL && event != NULL);
	ark_store_batch_append(batch, ARK_STORE_OP_EVENT)->event = *event;
}

/* the union member must not make every op larger: ArkRunRecord is the largest */
G_STATIC_ASSERT(sizeof(ArkAuditRecord) <= sizeof(ArkRunRecord));

void
ark_store_batch_add_audit(ArkStoreBatch *batch, const ArkAuditRecord *audit)
{
	g_return_if_fail(batch != NULL && audit != NULL);
	ark_store_batch_append(batch, ARK_STORE_OP_AUDIT)->audit = *audit;
}

G_STATIC_ASSERT(sizeof(ArkEstimateRecord) <= sizeof(ArkRunRecord));

void
ark_store_batch_add_estimate(ArkStoreBatch *batch, const ArkEstimateRecord *estimate)
{
	g_return_if_fail(batch != NULL && estimate != NULL);
	ark_store_batch_append(batch, ARK_STORE_OP_ESTIMATE)->estimate = *estimate;
}

G_STATIC_ASSERT(sizeof(ArkObjectRecord) <= sizeof(ArkRunRecord));

void
ark_store_batch_add_object(ArkStoreBatch *batch, ArkStoreOpKind kind,
			   const ArkObjectRecord *object)
{
	g_return_if_fail(batch != NULL && object != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_OBJECT_PUT || kind == ARK_STORE_OP_OBJECT_DELETE);
	ark_store_batch_append(batch, kind)->object = *object;
}

const gchar *
ark_store_batch_intern(ArkStoreBatch *batch, const gchar *str)
{
	g_return_val_if_fail(batch != NULL, NULL);
	if (str == NULL)
		return NULL;
	if (batch->strings == NULL)
		batch->strings = g_string_chunk_new(4096);
	return g_string_chunk_insert(batch->strings, str);
}

guint
ark_store_batch_get_length(ArkStoreBatch *batch)
{
	g_return_val_if_fail(batch != NULL, 0);
	return batch->ops->len;
}

const ArkStoreOp *
ark_store_batch_get_op(ArkStoreBatch *batch, guint index)
{
	g_return_val_if_fail(batch != NULL, NULL);
	g_return_val_if_fail(index < batch->ops->len, NULL);
	return &g_array_index(batch->ops, ArkStoreOp, index);
}

void
ark_store_batch_clear(ArkStoreBatch *batch)
{
	g_return_if_fail(batch != NULL);
	/* nor is the array of operations kept at the size of its biggest batch: a 10,000-task
	 * submission, or 10,000 dependents made ready at once, left 2-4 MiB that every later
	 * batch of a few operations held on to for the life of the engine */
	if (batch->ops->len > 4096) {
		g_array_unref(batch->ops);
		batch->ops = g_array_sized_new(FALSE, FALSE, sizeof(ArkStoreOp), 256);
	} else {
		g_array_set_size(batch->ops, 0);
	}
	if (batch->strings != NULL)
		g_string_chunk_clear(batch->strings);
	/* a table grown for one big batch (a 100,000-task submission) is not cleared after every
	 * small one that follows: that was a megabyte of memset per commit */
	if (batch->n_slots > 64 && batch->n_keyed * 8 < batch->n_slots) {
		g_clear_pointer(&batch->slots, g_free);
		batch->n_slots = 0;
	} else if (batch->n_keyed > 0) {
		memset(batch->slots, 0, batch->n_slots * sizeof(*batch->slots));
	}
	batch->n_keyed = 0;
}

/* object kinds are namespaces the engine picks: short, lower case, safe in a file name or URL */
static gboolean
ark_store_object_kind_is_valid(const gchar *kind)
{
	if (kind == NULL || *kind == '\0')
		return FALSE;
	for (const gchar *p = kind; *p != '\0'; p++) {
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

gboolean
ark_store_op_check(const ArkStoreOp *op, GError **error)
{
	gboolean has_ids;

	g_return_val_if_fail(op != NULL, FALSE);
	switch (op->kind) {
	case ARK_STORE_OP_RUN_INSERT:
	case ARK_STORE_OP_RUN_UPDATE:
		has_ids = op->run.id != NULL && op->run.workflow_name != NULL;
		break;
	case ARK_STORE_OP_TASK_INSERT:
	case ARK_STORE_OP_TASK_UPDATE:
		has_ids = op->task.run_id != NULL && op->task.task_id != NULL;
		break;
	case ARK_STORE_OP_ATTEMPT_INSERT:
	case ARK_STORE_OP_ATTEMPT_UPDATE:
		has_ids = op->attempt.run_id != NULL && op->attempt.task_id != NULL;
		break;
	case ARK_STORE_OP_EVENT:
		has_ids = op->event.run_id != NULL;
		break;
	case ARK_STORE_OP_AUDIT:
		/* what every record says and the chain; origin, target, request id and detail are
		 * optional */
		has_ids = op->audit.seq > 0 && op->audit.actor != NULL &&
			  op->audit.action != NULL && op->audit.result != NULL &&
			  op->audit.prev_hash != NULL && op->audit.hash != NULL;
		break;
	case ARK_STORE_OP_ESTIMATE:
		has_ids = op->estimate.workflow_name != NULL && op->estimate.task_id != NULL;
		if (has_ids && op->estimate.estimate <= 0) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "an estimate must be positive");
			return FALSE;
		}
		break;
	case ARK_STORE_OP_OBJECT_PUT:
	case ARK_STORE_OP_OBJECT_DELETE:
		has_ids = op->object.kind != NULL && op->object.key != NULL &&
			  *op->object.key != '\0';
		if (has_ids && !ark_store_object_kind_is_valid(op->object.kind)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "object kind \"%s\" is not made of a-z, 0-9, _ and -",
				    op->object.kind);
			return FALSE;
		}
		if (has_ids && op->kind == ARK_STORE_OP_OBJECT_PUT && op->object.value == NULL) {
			g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "an object needs a value");
			return FALSE;
		}
		break;
	default:
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "unknown operation");
		return FALSE;
	}
	if (!has_ids) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "an identifier of the record is missing");
		return FALSE;
	}
	return TRUE;
}

G_DEFINE_INTERFACE(ArkStore, ark_store, G_TYPE_OBJECT)

static void
ark_store_default_init(ArkStoreInterface *iface)
{
}

static gboolean
ark_store_not_supported(ArkStore *self, const gchar *what, GError **error)
{
	g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED, "store %s does not support %s",
		    G_OBJECT_TYPE_NAME(self), what);
	return FALSE;
}

gboolean
ark_store_open(ArkStore *self, const gchar *location, GError **error)
{
	ArkStoreInterface *iface;
	g_return_val_if_fail(ARK_IS_STORE(self), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_STORE_GET_IFACE(self);
	if (iface->open == NULL)
		return TRUE;
	return iface->open(self, location, error);
}

void
ark_store_close(ArkStore *self)
{
	ArkStoreInterface *iface;
	g_return_if_fail(ARK_IS_STORE(self));
	iface = ARK_STORE_GET_IFACE(self);
	if (iface->close != NULL)
		iface->close(self);
}

gboolean
ark_store_apply(ArkStore *self, ArkStoreBatch *batch, GError **error)
{
	ArkStoreInterface *iface;
	g_return_val_if_fail(ARK_IS_STORE(self), FALSE);
	g_return_val_if_fail(batch != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_STORE_GET_IFACE(self);
	if (iface->apply == NULL)
		return ark_store_not_supported(self, "apply", error);
	if (batch->ops->len == 0)
		return TRUE;
	return iface->apply(self, batch, error);
}

guint64
ark_store_get_last_event_seq(ArkStore *self)
{
	ArkStoreInterface *iface;
	g_return_val_if_fail(ARK_IS_STORE(self), 0);
	iface = ARK_STORE_GET_IFACE(self);
	return iface->get_last_event_seq != NULL ? iface->get_last_event_seq(self) : 0;
}

guint64
ark_store_get_last_attempt_token(ArkStore *self)
{
	ArkStoreInterface *iface;
	g_return_val_if_fail(ARK_IS_STORE(self), 0);
	iface = ARK_STORE_GET_IFACE(self);
	return iface->get_last_attempt_token != NULL ? iface->get_last_attempt_token(self) : 0;
}

#define ARK_STORE_CALL(method, ...)                                                                \
	ArkStoreInterface *iface;                                                                  \
	g_return_val_if_fail(ARK_IS_STORE(self), NULL);                                            \
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);                               \
	iface = ARK_STORE_GET_IFACE(self);                                                         \
	if (iface->method == NULL) {                                                               \
		ark_store_not_supported(self, #method, error);                                     \
		return NULL;                                                                       \
	}                                                                                          \
	return iface->method(self, __VA_ARGS__)

ArkRunRecord *
ark_store_get_run(ArkStore *self, const gchar *run_id, GError **error)
{
	ARK_STORE_CALL(get_run, run_id, error);
}

ArkRunRecord *
ark_store_find_run_by_idempotency_key(ArkStore *self, const gchar *key, GError **error)
{
	ARK_STORE_CALL(find_run_by_idempotency_key, key, error);
}

GPtrArray *
ark_store_list_runs(ArkStore *self, const ArkRunFilter *filter, GError **error)
{
	ArkRunFilter all = {0};
	if (filter == NULL)
		filter = &all;
	{
		ARK_STORE_CALL(list_runs, filter, error);
	}
}

GPtrArray *
ark_store_list_tasks(ArkStore *self, const gchar *run_id, GError **error)
{
	ARK_STORE_CALL(list_tasks, run_id, error);
}

GPtrArray *
ark_store_list_attempts(ArkStore *self, const gchar *run_id, const gchar *task_id,
			GError **error)
{
	ARK_STORE_CALL(list_attempts, run_id, task_id, error);
}

GPtrArray *
ark_store_read_events(ArkStore *self, guint64 after_seq, guint limit, GError **error)
{
	ARK_STORE_CALL(read_events, after_seq, limit, error);
}

GPtrArray *
ark_store_find_tasks(ArkStore *self, const ArkTaskFilter *filter, GError **error)
{
	ArkTaskFilter all = {0};
	if (filter == NULL)
		filter = &all;
	{
		ARK_STORE_CALL(find_tasks, filter, error);
	}
}

GPtrArray *
ark_store_read_audit(ArkStore *self, guint64 after_seq, guint limit, GError **error)
{
	ARK_STORE_CALL(read_audit, after_seq, limit, error);
}

ArkAuditRecord *
ark_store_get_last_audit(ArkStore *self, GError **error)
{
	ARK_STORE_CALL(get_last_audit, error);
}

GPtrArray *
ark_store_list_estimates(ArkStore *self, const gchar *workflow_name, GError **error)
{
	g_return_val_if_fail(workflow_name != NULL, NULL);
	{
		ARK_STORE_CALL(list_estimates, workflow_name, error);
	}
}

gboolean
ark_store_supports_estimates(ArkStore *self)
{
	g_return_val_if_fail(ARK_IS_STORE(self), FALSE);
	return ARK_STORE_GET_IFACE(self)->list_estimates != NULL;
}

GPtrArray *
ark_store_list_objects(ArkStore *self, const gchar *kind, GError **error)
{
	g_return_val_if_fail(kind != NULL, NULL);
	{
		ARK_STORE_CALL(list_objects, kind, error);
	}
}

gboolean
ark_store_supports_objects(ArkStore *self)
{
	g_return_val_if_fail(ARK_IS_STORE(self), FALSE);
	return ARK_STORE_GET_IFACE(self)->list_objects != NULL;
}

/**
 * ark_store_open_reader:
 * @self: an open store
 * @error: return location for a #GError
 *
 * Opens a second view of @self for reading from another thread: see
 * #ArkStoreInterface.open_reader.
 *
 * Returns: (transfer full): the reader, or NULL (ARK_ERROR_NOT_SUPPORTED when @self has none)
 *
 * Since: 0.1 (plugin ABI 1.4)
 */
ArkStore *
ark_store_open_reader(ArkStore *self, GError **error)
{
	ARK_STORE_CALL(open_reader, error);
}

/**
 * ark_store_get_run_summary:
 * @self: an open store
 * @run_id: the run's id
 * @error: return location for a #GError
 *
 * Like ark_store_get_run(), without the workflow definition: for an answer about the run's
 * state, which need not read and copy a definition of thousands of tasks.
 *
 * Returns: (transfer full): the run with a NULL definition, or NULL (ARK_ERROR_NOT_FOUND)
 *
 * Since: 0.1 (plugin ABI 1.4)
 */
ArkRunRecord *
ark_store_get_run_summary(ArkStore *self, const gchar *run_id, GError **error)
{
	ArkStoreInterface *iface;
	ArkRunRecord *run;

	g_return_val_if_fail(ARK_IS_STORE(self), NULL);
	g_return_val_if_fail(run_id != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	iface = ARK_STORE_GET_IFACE(self);
	if (iface->get_run_summary != NULL)
		return iface->get_run_summary(self, run_id, error);
	run = ark_store_get_run(self, run_id, error);
	if (run != NULL)
		g_clear_pointer(&run->definition, g_free);
	return run;
}

/**
 * ark_store_count_tasks:
 * @self: an open store
 * @run_id: the run's id
 * @counts: (array fixed-size=9): ARK_TASK_STATE_LAST counters, one per #ArkTaskState
 * @error: return location for a #GError
 *
 * Counts the tasks of a run by state, without reading them one by one where the store can: a
 * status of a run of 10,000 tasks need not build 10,000 records. An unknown run has none.
 *
 * Returns: FALSE with @error when the store could not be read
 *
 * Since: 0.1 (plugin ABI 1.4)
 */
gboolean
ark_store_count_tasks(ArkStore *self, const gchar *run_id, guint *counts, GError **error)
{
	ArkStoreInterface *iface;
	g_autoptr(GPtrArray) tasks = NULL;

	g_return_val_if_fail(ARK_IS_STORE(self), FALSE);
	g_return_val_if_fail(run_id != NULL, FALSE);
	g_return_val_if_fail(counts != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	memset(counts, 0, sizeof(guint) * ARK_TASK_STATE_LAST);
	iface = ARK_STORE_GET_IFACE(self);
	if (iface->count_tasks != NULL)
		return iface->count_tasks(self, run_id, counts, error);
	tasks = ark_store_list_tasks(self, run_id, error);
	if (tasks == NULL)
		return FALSE;
	for (guint i = 0; i < tasks->len; i++) {
		const ArkTaskRecord *task = g_ptr_array_index(tasks, i);
		if ((guint)task->state < ARK_TASK_STATE_LAST)
			counts[task->state]++;
	}
	return TRUE;
}
