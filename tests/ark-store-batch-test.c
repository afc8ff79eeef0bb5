/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "ark-test-utils.h"

/*
 * ArkStoreBatch coalescing: repeated updates of one task or attempt within a batch become one
 * operation, in the place of the first, with the result of applying them one after the other.
 * What the stores make of such batches is checked in ark-store-test (/ark/store/.../coalesced).
 */

static ArkTaskRecord
ark_store_batch_test_task(const gchar *run_id, const gchar *task_id, guint index,
			  ArkTaskState state)
{
	ArkTaskRecord task = {
	    .run_id = (gchar *)run_id,
	    .task_id = (gchar *)task_id,
	    .index = index,
	    .state = state,
	    .exit_code = -1,
	};
	return task;
}

static ArkAttemptRecord
ark_store_batch_test_attempt(const gchar *run_id, const gchar *task_id, guint number)
{
	ArkAttemptRecord attempt = {
	    .run_id = (gchar *)run_id,
	    .task_id = (gchar *)task_id,
	    .number = number,
	    .token = 100 + number,
	    .status = ARK_ATTEMPT_STATUS_RUNNING,
	    .executor = "process",
	    .holder = "pid:1",
	    .started_at = 1000 + number,
	    .exit_code = -1,
	};
	return attempt;
}

static void
ark_store_batch_test_add_event(ArkStoreBatch *batch, guint64 seq, const gchar *task_id)
{
	ArkEvent event = {
	    .seq = seq,
	    .kind = ARK_EVENT_TASK_STATE,
	    .run_id = "run-a",
	    .task_id = (gchar *)task_id,
	};
	ark_store_batch_add_event(batch, &event);
}

/* the kinds of the batch's operations, e.g. "TI E AI E" */
static gchar *
ark_store_batch_test_kinds(ArkStoreBatch *batch)
{
	static const gchar *const names[] = {
	    [ARK_STORE_OP_RUN_INSERT] = "RI",	  [ARK_STORE_OP_RUN_UPDATE] = "RU",
	    [ARK_STORE_OP_TASK_INSERT] = "TI",	  [ARK_STORE_OP_TASK_UPDATE] = "TU",
	    [ARK_STORE_OP_ATTEMPT_INSERT] = "AI", [ARK_STORE_OP_ATTEMPT_UPDATE] = "AU",
	    [ARK_STORE_OP_EVENT] = "E",
	};
	GString *kinds = g_string_new(NULL);

	for (guint i = 0; i < ark_store_batch_get_length(batch); i++)
		g_string_append_printf(kinds, "%s%s", i > 0 ? " " : "",
				       names[ark_store_batch_get_op(batch, i)->kind]);
	return g_string_free(kinds, FALSE);
}

static void
ark_store_batch_test_assert_kinds(ArkStoreBatch *batch, const gchar *expected)
{
	g_autofree gchar *kinds = ark_store_batch_test_kinds(batch);
	g_assert_cmpstr(kinds, ==, expected);
}

/* a task inserted, made ready, started and finished in one batch: one insert with the last
 * values, the attempt's insert after it with its final status, and every event in order */
static void
ark_store_batch_test_lifecycle(void)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	ArkTaskRecord task = ark_store_batch_test_task("run-a", "compile", 3, ARK_TASK_STATE_PENDING);
	ArkAttemptRecord attempt = ark_store_batch_test_attempt("run-a", "compile", 1);
	const ArkStoreOp *op;

	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	task.state = ARK_TASK_STATE_READY;
	task.ready_at = 10;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_test_add_event(batch, 1, "compile");
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
	task.state = ARK_TASK_STATE_RUNNING;
	task.attempts = 1;
	task.started_at = 11;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_test_add_event(batch, 2, "compile");
	attempt.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	attempt.finished_at = 12;
	attempt.exit_code = 0;
	attempt.log_path = "/logs/compile.1";
	/* an update carries fields it does not write: they must not reach the insert */
	attempt.token = 999;
	attempt.executor = "thread";
	attempt.started_at = 5;
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt);
	ark_store_batch_test_add_event(batch, 3, "compile");
	task.state = ARK_TASK_STATE_SUCCEEDED;
	task.exit_code = 0;
	task.finished_at = 12;
	task.reason = "done";
	task.index = 77; /* not written by an update */
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_test_add_event(batch, 4, "compile");

	ark_store_batch_test_assert_kinds(batch, "TI E AI E E E");
	op = ark_store_batch_get_op(batch, 0);
	g_assert_cmpint(op->task.state, ==, ARK_TASK_STATE_SUCCEEDED);
	g_assert_cmpuint(op->task.index, ==, 3);
	g_assert_cmpuint(op->task.attempts, ==, 1);
	g_assert_cmpint(op->task.exit_code, ==, 0);
	g_assert_cmpint(op->task.ready_at, ==, 10);
	g_assert_cmpint(op->task.started_at, ==, 11);
	g_assert_cmpint(op->task.finished_at, ==, 12);
	g_assert_cmpstr(op->task.reason, ==, "done");
	op = ark_store_batch_get_op(batch, 2);
	g_assert_cmpint(op->attempt.status, ==, ARK_ATTEMPT_STATUS_SUCCEEDED);
	g_assert_cmpint(op->attempt.finished_at, ==, 12);
	g_assert_cmpint(op->attempt.exit_code, ==, 0);
	g_assert_cmpstr(op->attempt.log_path, ==, "/logs/compile.1");
	g_assert_cmpuint(op->attempt.token, ==, 101);
	g_assert_cmpstr(op->attempt.executor, ==, "process");
	g_assert_cmpint(op->attempt.started_at, ==, 1001);
	g_assert_cmpuint(ark_store_batch_get_op(batch, 1)->event.seq, ==, 1);
	g_assert_cmpuint(ark_store_batch_get_op(batch, 5)->event.seq, ==, 4);
}

/* updates of a task the store already has: the first update takes the last values */
static void
ark_store_batch_test_updates(void)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	ArkTaskRecord task = ark_store_batch_test_task("run-a", "t", 0, ARK_TASK_STATE_READY);
	ArkAttemptRecord attempt = ark_store_batch_test_attempt("run-a", "t", 2);
	const ArkStoreOp *op;

	task.reason = "first";
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt);
	ark_store_batch_test_add_event(batch, 1, "t");
	task.state = ARK_TASK_STATE_FAILED;
	task.reason = NULL; /* an update writes NULL too */
	task.next_attempt_at = 42;
	task.cancelled_by = "bob";
	task.retry_base = 2;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	attempt.status = ARK_ATTEMPT_STATUS_LOST;
	attempt.error = "lost";
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt);

	ark_store_batch_test_assert_kinds(batch, "TU AU E");
	op = ark_store_batch_get_op(batch, 0);
	g_assert_cmpint(op->task.state, ==, ARK_TASK_STATE_FAILED);
	g_assert_null(op->task.reason);
	g_assert_cmpint(op->task.next_attempt_at, ==, 42);
	g_assert_cmpstr(op->task.cancelled_by, ==, "bob");
	g_assert_cmpuint(op->task.retry_base, ==, 2);
	op = ark_store_batch_get_op(batch, 1);
	g_assert_cmpint(op->attempt.status, ==, ARK_ATTEMPT_STATUS_LOST);
	g_assert_cmpstr(op->attempt.error, ==, "lost");
}

/* the key is the content of the ids: other runs, tasks or attempt numbers stay apart, and the
 * same ids in other strings do not */
static void
ark_store_batch_test_keys(void)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autofree gchar *run_copy = g_strdup("run-a");
	g_autofree gchar *task_copy = g_strdup("t");
	ArkTaskRecord a = ark_store_batch_test_task("run-a", "t", 0, ARK_TASK_STATE_READY);
	ArkTaskRecord b = ark_store_batch_test_task("run-b", "t", 0, ARK_TASK_STATE_READY);
	ArkTaskRecord c = ark_store_batch_test_task("run-a", "u", 1, ARK_TASK_STATE_READY);
	ArkTaskRecord same = ark_store_batch_test_task(run_copy, task_copy, 0,
						       ARK_TASK_STATE_RUNNING);
	/* "run-a" + "t" against "run-" + "at": the ids are not concatenated */
	ArkTaskRecord shifted = ark_store_batch_test_task("run-", "at", 0, ARK_TASK_STATE_READY);
	ArkAttemptRecord first = ark_store_batch_test_attempt("run-a", "t", 1);
	ArkAttemptRecord second = ark_store_batch_test_attempt("run-a", "t", 2);

	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &a);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &b);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &c);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &shifted);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &first);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &second);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &same);
	first.status = ARK_ATTEMPT_STATUS_FAILED;
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &first);

	ark_store_batch_test_assert_kinds(batch, "TU TU TU TU AI AI");
	g_assert_cmpint(ark_store_batch_get_op(batch, 0)->task.state, ==,
			ARK_TASK_STATE_RUNNING);
	g_assert_cmpint(ark_store_batch_get_op(batch, 1)->task.state, ==, ARK_TASK_STATE_READY);
	g_assert_cmpint(ark_store_batch_get_op(batch, 4)->attempt.status, ==,
			ARK_ATTEMPT_STATUS_FAILED);
	g_assert_cmpint(ark_store_batch_get_op(batch, 5)->attempt.status, ==,
			ARK_ATTEMPT_STATUS_RUNNING);
}

/* what a store must refuse stays in the batch for it to refuse; runs and events never merge */
static void
ark_store_batch_test_not_coalesced(void)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	ArkTaskRecord task = ark_store_batch_test_task("run-a", "t", 0, ARK_TASK_STATE_PENDING);
	ArkTaskRecord no_id = ark_store_batch_test_task("run-a", NULL, 1, ARK_TASK_STATE_PENDING);
	ArkAttemptRecord attempt = ark_store_batch_test_attempt("run-a", "t", 1);
	ArkRunRecord run = {.id = "run-a", .workflow_name = "w", .state = ARK_RUN_STATE_RUNNING};

	/* a second insert of the same task: the store answers ARK_ERROR_EXISTS */
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
	/* without an id there is no key: ARK_ERROR_INVALID_ARGUMENT, for each */
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &no_id);
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &no_id);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &run);
	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_UPDATE, &run);
	ark_store_batch_test_add_event(batch, 1, "t");
	ark_store_batch_test_add_event(batch, 1, "t");
	/* the update goes to the first insert */
	task.state = ARK_TASK_STATE_READY;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);

	ark_store_batch_test_assert_kinds(batch, "TI TI AI AI TU TU RU RU E E");
	g_assert_cmpint(ark_store_batch_get_op(batch, 0)->task.state, ==, ARK_TASK_STATE_READY);
	g_assert_cmpint(ark_store_batch_get_op(batch, 1)->task.state, ==,
			ARK_TASK_STATE_PENDING);
}

/* the index is emptied with the batch, and grows with it */
static void
ark_store_batch_test_clear_and_grow(void)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	const guint n_tasks = 10000;
	ArkTaskRecord task = ark_store_batch_test_task("run-a", "t", 0, ARK_TASK_STATE_READY);

	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_clear(batch);
	task.state = ARK_TASK_STATE_RUNNING;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	ark_store_batch_test_assert_kinds(batch, "TU");
	g_assert_cmpint(ark_store_batch_get_op(batch, 0)->task.state, ==,
			ARK_TASK_STATE_RUNNING);
	ark_store_batch_clear(batch);

	for (guint round = 0; round < 3; round++) {
		for (guint i = 0; i < n_tasks; i++) {
			ArkTaskRecord t;
			if (round == 0)
				g_ptr_array_add(ids, g_strdup_printf("task-%05u", i));
			t = ark_store_batch_test_task(
			    "run-a",
			    (gchar *)ark_store_batch_intern(batch, g_ptr_array_index(ids, i)), i,
			    (ArkTaskState)round);
			ark_store_batch_add_task(batch, round == 0 ? ARK_STORE_OP_TASK_INSERT
								   : ARK_STORE_OP_TASK_UPDATE,
						 &t);
		}
	}
	g_assert_cmpuint(ark_store_batch_get_length(batch), ==, n_tasks);
	for (guint i = 0; i < n_tasks; i++) {
		const ArkStoreOp *op = ark_store_batch_get_op(batch, i);
		g_assert_cmpint(op->kind, ==, ARK_STORE_OP_TASK_INSERT);
		g_assert_cmpuint(op->task.index, ==, i);
		g_assert_cmpint(op->task.state, ==, 2);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/ark/store-batch/lifecycle", ark_store_batch_test_lifecycle);
	g_test_add_func("/ark/store-batch/updates", ark_store_batch_test_updates);
	g_test_add_func("/ark/store-batch/keys", ark_store_batch_test_keys);
	g_test_add_func("/ark/store-batch/not-coalesced", ark_store_batch_test_not_coalesced);
	g_test_add_func("/ark/store-batch/clear-and-grow", ark_store_batch_test_clear_and_grow);

	return g_test_run();
}
