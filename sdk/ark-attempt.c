/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

struct _ArkAttempt {
	gint ref_count;
	gchar *run_id;
	const ArkTaskSpec *spec; /* owned by the run's workflow, which outlives its attempts */
	guint number;
	guint64 token;
	gchar *log_dir;
	gchar *log_path;
	ArkAttemptFinishFunc finish;
	gpointer finish_data;
	gpointer executor_data;
	GDestroyNotify executor_data_destroy;
	gboolean finished;
};

ArkAttempt *
ark_attempt_new(const gchar *run_id, const ArkTaskSpec *spec, guint number, guint64 token,
		const gchar *log_dir, ArkAttemptFinishFunc finish, gpointer user_data)
{
	ArkAttempt *self;

	g_return_val_if_fail(run_id != NULL, NULL);
	g_return_val_if_fail(spec != NULL, NULL);
	self = g_new0(ArkAttempt, 1);
	self->ref_count = 1;
	self->run_id = g_strdup(run_id);
	self->spec = spec;
	self->number = number;
	self->token = token;
	self->log_dir = g_strdup(log_dir);
	self->finish = finish;
	self->finish_data = user_data;
	return self;
}

void
ark_attempt_abandon(ArkAttempt *self)
{
	g_return_if_fail(self != NULL);
	self->finish = NULL;
	self->finish_data = NULL;
}

ArkAttempt *
ark_attempt_ref(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_atomic_int_inc(&self->ref_count);
	return self;
}

void
ark_attempt_unref(ArkAttempt *self)
{
	if (self == NULL)
		return;
	if (!g_atomic_int_dec_and_test(&self->ref_count))
		return;
	if (self->executor_data_destroy != NULL)
		self->executor_data_destroy(self->executor_data);
	g_free(self->run_id);
	g_free(self->log_dir);
	g_free(self->log_path);
	g_free(self);
}

const gchar *
ark_attempt_get_run_id(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->run_id;
}

const gchar *
ark_attempt_get_task_id(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->spec->id;
}

const ArkTaskSpec *
ark_attempt_get_spec(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->spec;
}

guint
ark_attempt_get_number(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->number;
}

guint64
ark_attempt_get_token(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->token;
}

const gchar *
ark_attempt_get_log_dir(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->log_dir;
}

void
ark_attempt_set_log_path(ArkAttempt *self, const gchar *path)
{
	g_return_if_fail(self != NULL);
	if (g_strcmp0(self->log_path, path) == 0)
		return;
	g_free(self->log_path);
	self->log_path = g_strdup(path);
}

const gchar *
ark_attempt_get_log_path(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->log_path;
}

void
ark_attempt_set_executor_data(ArkAttempt *self, gpointer data, GDestroyNotify destroy)
{
	g_return_if_fail(self != NULL);
	if (self->executor_data_destroy != NULL)
		self->executor_data_destroy(self->executor_data);
	self->executor_data = data;
	self->executor_data_destroy = destroy;
}

gpointer
ark_attempt_get_executor_data(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->executor_data;
}

void
ark_attempt_finish(ArkAttempt *self, const ArkAttemptResult *result)
{
	g_return_if_fail(self != NULL);
	g_return_if_fail(result != NULL);

	if (self->finished) {
		/* exactly-once recording is the engine's invariant; a second report is an
		 * executor bug and must not reach it */
		g_warning("attempt %u of task %s finished twice; ignoring the second report",
			  self->number, self->spec->id);
		return;
	}
	self->finished = TRUE;
	if (self->finish != NULL)
		self->finish(self, result, self->finish_data);
}

gboolean
ark_attempt_is_finished(ArkAttempt *self)
{
	g_return_val_if_fail(self != NULL, TRUE);
	return self->finished;
}
