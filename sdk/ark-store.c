/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect.h>

struct _ArkStoreBatch {
	GArray *ops;	      /* of ArkStoreOp, strings borrowed */
	GStringChunk *strings; /* for ark_store_batch_intern() */
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
	g_free(batch);
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
	g_return_if_fail(batch != NULL && task != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_TASK_INSERT || kind == ARK_STORE_OP_TASK_UPDATE);
	ark_store_batch_append(batch, kind)->task = *task;
}

void
ark_store_batch_add_attempt(ArkStoreBatch *batch, ArkStoreOpKind kind,
			    const ArkAttemptRecord *attempt)
{
	g_return_if_fail(batch != NULL && attempt != NULL);
	g_return_if_fail(kind == ARK_STORE_OP_ATTEMPT_INSERT ||
			 kind == ARK_STORE_OP_ATTEMPT_UPDATE);
	ark_store_batch_append(batch, kind)->attempt = *attempt;
}

void
ark_store_batch_add_event(ArkStoreBatch *batch, const ArkEvent *event)
{
	g_return_if_fail(batch != NULL && event != NULL);
	ark_store_batch_append(batch, ARK_STORE_OP_EVENT)->event = *event;
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
	g_array_set_size(batch->ops, 0);
	if (batch->strings != NULL)
		g_string_chunk_clear(batch->strings);
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
