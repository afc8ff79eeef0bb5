/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>

#include <arkitect/arkitect.h>

#include <arkitect/arkitect-core.h>

/*
 * bench/store-throughput: what the stores cost per state change.
 *
 * 1. Durable transitions per second of the sqlite store in a temporary directory, for batches
 *    of 1, 10, 100 and 1000 transitions, with durability "full" (the default: every commit
 *    syncs) and "normal". A transition is what the engine writes per state change: one task
 *    update and its event. One batch is one apply(), i.e. one transaction (group commit).
 * 2. The apply() cost per operation of engine-like batches, for the memory store and sqlite.
 *    The operations are added as the engine adds them; ArkStoreBatch coalesces repeated updates
 *    of one task or attempt, so "stored" can be fewer than "added".
 *
 * It prints tables and exits 0; it never fails on a number. The temporary directories are
 * removed. Usage: store-throughput [-t SECONDS-PER-CELL] [--mix-only] [--throughput-only]
 */

#define BENCH_T0 ((ArkTimestamp)1764000000000000)
#define BENCH_RUN_ID "01JDQ8Z3M4X6Y7Z8A9B0C1D2E3"
#define BENCH_N_TASKS 10000

typedef struct {
	ArkRegistry *registry;
	gchar *dir; /* NULL for the memory store */
	ArkStore *store;
	GPtrArray *task_ids;
	guint64 seq;
	guint64 token;
} Bench;

static void
bench_die(const gchar *what, GError *error)
{
	g_printerr("store-throughput: %s: %s\n", what, error != NULL ? error->message : "?");
	exit(1);
}

static void
bench_rmdir(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		(void)g_unlink(child);
	}
	(void)g_rmdir(path);
}

static void
bench_apply(Bench *b, ArkStoreBatch *batch)
{
	g_autoptr(GError) error = NULL;
	if (!ark_store_apply(b->store, batch, &error))
		bench_die("apply", error);
}

static ArkTaskRecord
bench_task(Bench *b, guint i, ArkTaskState state)
{
	ArkTaskRecord task = {
	    .run_id = BENCH_RUN_ID,
	    .task_id = g_ptr_array_index(b->task_ids, i),
	    .index = i,
	    .state = state,
	    .exit_code = -1,
	    .ready_at = BENCH_T0 + i,
	};
	return task;
}

static void
bench_add_event(Bench *b, ArkStoreBatch *batch, ArkEventKind kind, const gchar *task_id,
		guint attempt, gint state)
{
	ArkEvent event = {
	    .seq = ++b->seq,
	    .time = BENCH_T0 + (ArkTimestamp)b->seq,
	    .kind = kind,
	    .run_id = BENCH_RUN_ID,
	    .task_id = (gchar *)task_id,
	    .attempt = attempt,
	    .state = state,
	};
	ark_store_batch_add_event(batch, &event);
}

/* a store named @name with one run of BENCH_N_TASKS pending tasks */
static void
bench_open(Bench *b, const gchar *name, const gchar *durability)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	ArkRunRecord run = {
	    .id = BENCH_RUN_ID,
	    .workflow_name = "bench",
	    .state = ARK_RUN_STATE_RUNNING,
	    .policy = "fifo",
	    .n_tasks = BENCH_N_TASKS,
	    .created_at = BENCH_T0,
	};

	b->store = ark_registry_create(b->registry, ARK_CAPABILITY_STORE, name, &error);
	if (b->store == NULL)
		bench_die(name, error);
	if (durability != NULL) {
		b->dir = g_dir_make_tmp("ark-bench-XXXXXX", &error);
		if (b->dir == NULL)
			bench_die("mkdtemp", error);
		g_object_set(b->store, "durability", durability, NULL);
	}
	if (!ark_store_open(b->store, b->dir, &error))
		bench_die("open", error);
	b->seq = ark_store_get_last_event_seq(b->store);
	b->token = ark_store_get_last_attempt_token(b->store);

	ark_store_batch_add_run(batch, ARK_STORE_OP_RUN_INSERT, &run);
	for (guint i = 0; i < BENCH_N_TASKS; i++) {
		ArkTaskRecord task = bench_task(b, i, ARK_TASK_STATE_PENDING);
		ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_INSERT, &task);
	}
	bench_apply(b, batch);
}

static void
bench_close(Bench *b)
{
	ark_store_close(b->store);
	g_clear_object(&b->store);
	if (b->dir != NULL)
		bench_rmdir(b->dir);
	g_clear_pointer(&b->dir, g_free);
}

/* 1. ------------------------------------------------------------------------------------------ */

static void
bench_throughput(Bench *b, const gchar *durability, guint batch_size, gdouble seconds)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GTimer) timer = NULL;
	guint64 transitions = 0;
	guint64 commits = 0;
	guint next = 0;
	gdouble elapsed;

	bench_open(b, "sqlite", durability);
	timer = g_timer_new();
	/* at least 3 commits, and at least @seconds */
	while ((elapsed = g_timer_elapsed(timer, NULL)) < seconds || commits < 3) {
		ark_store_batch_clear(batch);
		for (guint i = 0; i < batch_size; i++) {
			/* distinct tasks: nothing in the batch coalesces */
			ArkTaskState state = (ArkTaskState)(1 + (commits + i) % 2);
			ArkTaskRecord task = bench_task(b, next, state);
			ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
			bench_add_event(b, batch, ARK_EVENT_TASK_STATE, task.task_id, 0, state);
			next = (next + 1) % BENCH_N_TASKS;
		}
		bench_apply(b, batch);
		transitions += batch_size;
		commits++;
	}
	g_print("  %-8s %6u %14.0f %12.0f %14.1f\n", durability, batch_size,
		(gdouble)transitions / elapsed, (gdouble)commits / elapsed,
		elapsed * 1e6 / (gdouble)commits);
	bench_close(b);
}

/* 2. ------------------------------------------------------------------------------------------ */

typedef enum {
	BENCH_MIX_LIFECYCLE, /* ready -> running -> succeeded within one batch */
	BENCH_MIX_TICK,	     /* a busy fan-out: tasks finish, the next ones become ready, start */
} BenchMix;

static void
bench_add_start(Bench *b, ArkStoreBatch *batch, guint i, guint number)
{
	const gchar *task_id = g_ptr_array_index(b->task_ids, i);
	ArkTaskRecord task = bench_task(b, i, ARK_TASK_STATE_READY);
	ArkAttemptRecord attempt = {
	    .run_id = BENCH_RUN_ID,
	    .task_id = (gchar *)task_id,
	    .number = number,
	    .token = ++b->token,
	    .status = ARK_ATTEMPT_STATUS_RUNNING,
	    .executor = "thread",
	    .started_at = BENCH_T0 + (ArkTimestamp)b->token,
	    .exit_code = -1,
	};

	/* the engine's order: ark_engine_task_make_ready(), then ark_engine_start_attempt() */
	task.attempts = number - 1;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	bench_add_event(b, batch, ARK_EVENT_TASK_STATE, task_id, task.attempts, task.state);
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_INSERT, &attempt);
	task.state = ARK_TASK_STATE_RUNNING;
	task.attempts = number;
	task.started_at = attempt.started_at;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	bench_add_event(b, batch, ARK_EVENT_TASK_STATE, task_id, number, task.state);
	bench_add_event(b, batch, ARK_EVENT_ATTEMPT_STARTED, task_id, number,
			ARK_ATTEMPT_STATUS_RUNNING);
}

static void
bench_add_finish(Bench *b, ArkStoreBatch *batch, guint i, guint number)
{
	const gchar *task_id = g_ptr_array_index(b->task_ids, i);
	ArkTaskRecord task = bench_task(b, i, ARK_TASK_STATE_SUCCEEDED);
	ArkAttemptRecord attempt = {
	    .run_id = BENCH_RUN_ID,
	    .task_id = (gchar *)task_id,
	    .number = number,
	    .status = ARK_ATTEMPT_STATUS_SUCCEEDED,
	    .finished_at = BENCH_T0 + (ArkTimestamp)b->seq,
	    .exit_code = 0,
	};

	/* ark_engine_attempt_finished_cb() */
	ark_store_batch_add_attempt(batch, ARK_STORE_OP_ATTEMPT_UPDATE, &attempt);
	bench_add_event(b, batch, ARK_EVENT_ATTEMPT_FINISHED, task_id, number, attempt.status);
	task.attempts = number;
	task.exit_code = 0;
	task.finished_at = attempt.finished_at;
	ark_store_batch_add_task(batch, ARK_STORE_OP_TASK_UPDATE, &task);
	bench_add_event(b, batch, ARK_EVENT_TASK_STATE, task_id, number, task.state);
}

static gint
bench_compare_doubles_cb(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a;
	gdouble y = *(const gdouble *)b;
	return (x > y) - (x < y);
}

static void
bench_mix(Bench *b, const gchar *store, const gchar *durability, BenchMix mix,
	  guint tasks_per_batch, gdouble seconds)
{
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GTimer) timer = g_timer_new();
	g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(gdouble));
	guint64 added = 0;
	guint64 stored = 0;
	guint64 batches = 0;
	guint next = 0;
	guint round = 1; /* attempt number: every pass over the tasks is a new attempt */
	gdouble spent = 0;
	gdouble median;
	g_autofree gchar *label = g_strdup_printf("%s%s%s", store, durability ? " " : "",
						  durability ? durability : "");

	bench_open(b, store, durability);
	while (spent < seconds || batches < 3) {
		guint n_added = 0;

		ark_store_batch_clear(batch);
		for (guint i = 0; i < tasks_per_batch; i++) {
			guint task = next;
			if (mix == BENCH_MIX_LIFECYCLE) {
				bench_add_start(b, batch, task, round);
				bench_add_finish(b, batch, task, round);
				n_added += 10;
			} else {
				/* the task started in the previous batch finishes, this one starts
				 * (the first batch of a round has nothing to finish) */
				if (task >= tasks_per_batch) {
					bench_add_finish(b, batch, task - tasks_per_batch, round);
					n_added += 4;
				}
				bench_add_start(b, batch, task, round);
				n_added += 6;
			}
			next++;
		}
		stored += ark_store_batch_get_length(batch);
		added += n_added;
		g_timer_start(timer);
		bench_apply(b, batch);
		median = g_timer_elapsed(timer, NULL);
		g_array_append_val(times, median);
		spent += median;
		batches++;
		/* a tick mix leaves the last batch's tasks running: a new round starts after them */
		if (next + tasks_per_batch > BENCH_N_TASKS) {
			next = 0;
			round++;
		}
	}
	/* the median batch: other load on the machine only ever adds time */
	g_array_sort(times, bench_compare_doubles_cb);
	median = g_array_index(times, gdouble, times->len / 2);
	g_print("  %-15s %-9s %5u %9.1f %9.1f %11.2f %11.2f %11.0f\n", label,
		mix == BENCH_MIX_LIFECYCLE ? "lifecycle" : "tick", tasks_per_batch,
		(gdouble)added / batches, (gdouble)stored / batches,
		median * 1e6 / ((gdouble)added / batches), median * 1e6 / ((gdouble)stored / batches),
		median * 1e6);
	bench_close(b);
}

int
main(int argc, char **argv)
{
	g_autoptr(ArkPluginLoader) loader = NULL;
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autoptr(GError) error = NULL;
	gdouble seconds = 2.0;
	gboolean mix_only = FALSE;
	gboolean throughput_only = FALSE;
	const guint batch_sizes[] = {1, 10, 100, 1000};
	const gchar *durabilities[] = {"full", "normal"};
	Bench b = {0};

	for (gint i = 1; i < argc; i++) {
		if (g_strcmp0(argv[i], "-t") == 0 && i + 1 < argc)
			seconds = g_ascii_strtod(argv[++i], NULL);
		else if (g_strcmp0(argv[i], "--mix-only") == 0)
			mix_only = TRUE;
		else if (g_strcmp0(argv[i], "--throughput-only") == 0)
			throughput_only = TRUE;
		else {
			g_printerr("usage: %s [-t SECONDS-PER-CELL] [--mix-only] "
				   "[--throughput-only]\n",
				   argv[0]);
			return 2;
		}
	}
	if (!(seconds > 0))
		seconds = 2.0;

	/* the plugins of this build tree, unless told otherwise */
	g_setenv("ARK_PLUGIN_DIR", ARK_BENCH_PLUGIN_DIRS, FALSE);
	loader = ark_plugin_loader_new(registry);
	if (!ark_plugin_loader_load(loader, NULL, &error))
		bench_die("loading plugins", error);
	b.registry = registry;
	b.task_ids = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < BENCH_N_TASKS; i++)
		g_ptr_array_add(b.task_ids, g_strdup_printf("task-%05u", i));

	g_print("Arkitect store benchmark: SQLite %s, %.1f s per cell, temp dir %s\n",
		ARK_BENCH_SQLITE_VERSION, seconds, g_get_tmp_dir());
	if (!mix_only) {
		g_print("\n1. Durable transitions (1 task update + 1 event), sqlite store, "
			"one transaction per batch\n");
		g_print("  %-8s %6s %14s %12s %14s\n", "durabil.", "batch", "transitions/s",
			"commits/s", "us per commit");
		for (guint d = 0; d < G_N_ELEMENTS(durabilities); d++) {
			for (guint i = 0; i < G_N_ELEMENTS(batch_sizes); i++)
				bench_throughput(&b, durabilities[d], batch_sizes[i], seconds);
		}
	}
	if (!throughput_only) {
		g_print("\n2. apply() cost of engine-like batches (ops as the engine adds them; "
			"stored = after coalescing; median batch)\n");
		g_print("  %-15s %-9s %5s %9s %9s %11s %11s %11s\n", "store", "mix", "tasks",
			"added/b", "stored/b", "us/added", "us/stored", "us/batch");
		for (guint m = 0; m < 2; m++) {
			bench_mix(&b, "memory", NULL, m, 100, seconds);
			bench_mix(&b, "sqlite", "off", m, 100, seconds);
			bench_mix(&b, "sqlite", "full", m, 100, seconds);
		}
	}
	g_ptr_array_unref(b.task_ids);
	ark_plugin_loader_shutdown(loader);
	return 0;
}
