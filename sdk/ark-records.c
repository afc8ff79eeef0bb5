/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

ArkRunRecord *
ark_run_record_copy(const ArkRunRecord *record)
{
	ArkRunRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkRunRecord, 1);
	*copy = *record;
	copy->id = g_strdup(record->id);
	copy->workflow_name = g_strdup(record->workflow_name);
	copy->policy = g_strdup(record->policy);
	copy->submitter = g_strdup(record->submitter);
	copy->idempotency_key = g_strdup(record->idempotency_key);
	copy->definition = g_strdup(record->definition);
	copy->reason = g_strdup(record->reason);
	copy->cancelled_by = g_strdup(record->cancelled_by);
	return copy;
}

void
ark_run_record_free(ArkRunRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->id);
	g_free(record->workflow_name);
	g_free(record->policy);
	g_free(record->submitter);
	g_free(record->idempotency_key);
	g_free(record->definition);
	g_free(record->reason);
	g_free(record->cancelled_by);
	g_free(record);
}

ArkTaskRecord *
ark_task_record_copy(const ArkTaskRecord *record)
{
	ArkTaskRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkTaskRecord, 1);
	*copy = *record;
	copy->run_id = g_strdup(record->run_id);
	copy->task_id = g_strdup(record->task_id);
	copy->reason = g_strdup(record->reason);
	copy->cancelled_by = g_strdup(record->cancelled_by);
	return copy;
}

void
ark_task_record_free(ArkTaskRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->run_id);
	g_free(record->task_id);
	g_free(record->reason);
	g_free(record->cancelled_by);
	g_free(record);
}

ArkAttemptRecord *
ark_attempt_record_copy(const ArkAttemptRecord *record)
{
	ArkAttemptRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkAttemptRecord, 1);
	*copy = *record;
	copy->run_id = g_strdup(record->run_id);
	copy->task_id = g_strdup(record->task_id);
	copy->executor = g_strdup(record->executor);
	copy->holder = g_strdup(record->holder);
	copy->error = g_strdup(record->error);
	copy->log_path = g_strdup(record->log_path);
	copy->result = g_strdup(record->result);
	return copy;
}

void
ark_attempt_record_free(ArkAttemptRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->run_id);
	g_free(record->task_id);
	g_free(record->executor);
	g_free(record->holder);
	g_free(record->error);
	g_free(record->log_path);
	g_free(record->result);
	g_free(record);
}

ArkEvent *
ark_event_copy(const ArkEvent *event)
{
	ArkEvent *copy;

	g_return_val_if_fail(event != NULL, NULL);
	copy = g_new0(ArkEvent, 1);
	*copy = *event;
	copy->run_id = g_strdup(event->run_id);
	copy->task_id = g_strdup(event->task_id);
	copy->data = g_strdup(event->data);
	return copy;
}

void
ark_event_free(ArkEvent *event)
{
	if (event == NULL)
		return;
	g_free(event->run_id);
	g_free(event->task_id);
	g_free(event->data);
	g_free(event);
}

ArkAuditRecord *
ark_audit_record_copy(const ArkAuditRecord *record)
{
	ArkAuditRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkAuditRecord, 1);
	*copy = *record;
	copy->actor = g_strdup(record->actor);
	copy->origin = g_strdup(record->origin);
	copy->action = g_strdup(record->action);
	copy->target = g_strdup(record->target);
	copy->result = g_strdup(record->result);
	copy->request_id = g_strdup(record->request_id);
	copy->detail = g_strdup(record->detail);
	copy->prev_hash = g_strdup(record->prev_hash);
	copy->hash = g_strdup(record->hash);
	return copy;
}

void
ark_audit_record_free(ArkAuditRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->actor);
	g_free(record->origin);
	g_free(record->action);
	g_free(record->target);
	g_free(record->result);
	g_free(record->request_id);
	g_free(record->detail);
	g_free(record->prev_hash);
	g_free(record->hash);
	g_free(record);
}

ArkEstimateRecord *
ark_estimate_record_copy(const ArkEstimateRecord *record)
{
	ArkEstimateRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkEstimateRecord, 1);
	*copy = *record;
	copy->workflow_name = g_strdup(record->workflow_name);
	copy->task_id = g_strdup(record->task_id);
	return copy;
}

void
ark_estimate_record_free(ArkEstimateRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->workflow_name);
	g_free(record->task_id);
	g_free(record);
}

ArkObjectRecord *
ark_object_record_copy(const ArkObjectRecord *record)
{
	ArkObjectRecord *copy;

	g_return_val_if_fail(record != NULL, NULL);
	copy = g_new0(ArkObjectRecord, 1);
	*copy = *record;
	copy->kind = g_strdup(record->kind);
	copy->key = g_strdup(record->key);
	copy->value = g_strdup(record->value);
	return copy;
}

void
ark_object_record_free(ArkObjectRecord *record)
{
	if (record == NULL)
		return;
	g_free(record->kind);
	g_free(record->key);
	g_free(record->value);
	g_free(record);
}

G_DEFINE_BOXED_TYPE(ArkEvent, ark_event, ark_event_copy, ark_event_free)
