/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "ark-cli-progress.h"

/* runs larger than this print only their failures, not every finished task */
#define ARK_CLI_PROGRESS_MAX_TASK_LINES 100

struct _ArkCliProgress {
	ArkEngine *engine; /* or NULL: the events come from ark_cli_progress_add_event() */
	gchar *run_id;
	guint n_tasks;
	FILE *stream;
	gboolean tty;
	gboolean color;
	gboolean utf8;
	gboolean quiet;
	gboolean line_shown;
	gint64 started; /* monotonic */
	GHashTable *task_started; /* task id -> start time (µs, event time) */
	guint counts[ARK_TASK_STATE_LAST];
	GHashTable *task_states; /* without an engine: task id -> ArkTaskState, for the counts */
	gulong event_handler;
	guint timer_id;
};

gboolean
ark_cli_progress_use_color(FILE *stream)
{
	const gchar *term = g_getenv("TERM");
	if (g_getenv("NO_COLOR") != NULL)
		return FALSE;
	if (term == NULL || g_strcmp0(term, "dumb") == 0)
		return FALSE;
	return isatty(fileno(stream));
}

gboolean
ark_cli_progress_use_utf8(void)
{
	return g_get_charset(NULL);
}

gchar *
ark_cli_format_duration(gint64 usec)
{
	gint64 s;
	if (usec < 0)
		usec = 0;
	if (usec < G_USEC_PER_SEC)
		return g_strdup_printf("%" G_GINT64_FORMAT "ms", usec / 1000);
	if (usec < 60 * G_USEC_PER_SEC)
		return g_strdup_printf("%.1fs", (gdouble)usec / G_USEC_PER_SEC);
	s = usec / G_USEC_PER_SEC;
	if (s < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s", s / 60,
				       s % 60);
	return g_strdup_printf("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m", s / 3600,
			       (s % 3600) / 60);
}

static void
ark_cli_progress_clear_line(ArkCliProgress *self)
{
	if (self->tty && self->line_shown) {
		fputs("\r\033[K", self->stream);
		self->line_shown = FALSE;
	}
}

static void
ark_cli_progress_draw(ArkCliProgress *self)
{
	const guint width = 24;
	guint done, running, queued, failed, filled;
	gdouble elapsed = (gdouble)(g_get_monotonic_time() - self->started) / G_USEC_PER_SEC;
	g_autoptr(GString) bar = g_string_new(NULL);

	if (!self->tty || self->quiet)
		return;
	if (self->engine != NULL)
		(void)ark_engine_get_task_counts(self->engine, self->run_id, self->counts);
	done = self->counts[ARK_TASK_STATE_SUCCEEDED] + self->counts[ARK_TASK_STATE_FAILED] +
	       self->counts[ARK_TASK_STATE_CANCELLED] + self->counts[ARK_TASK_STATE_SKIPPED] +
	       self->counts[ARK_TASK_STATE_DEAD];
	running = self->counts[ARK_TASK_STATE_RUNNING];
	queued = self->counts[ARK_TASK_STATE_READY] + self->counts[ARK_TASK_STATE_PENDING] +
		 self->counts[ARK_TASK_STATE_RETRY_WAIT];
	failed = self->counts[ARK_TASK_STATE_FAILED] + self->counts[ARK_TASK_STATE_DEAD];
	filled = self->n_tasks > 0 ? (guint)((guint64)done * width / self->n_tasks) : width;
	for (guint i = 0; i < width; i++) {
		if (self->utf8)
			g_string_append(bar, i < filled ? "█" : "░");
		else
			g_string_append_c(bar, i < filled ? '#' : '.');
	}
	ark_cli_progress_clear_line(self);
	/* TRANSLATORS: the live status line: elapsed seconds, a bar, then done/total and the
	 * number of tasks in each state */
	fprintf(self->stream, _("[%6.1fs] %s %u/%u  done %u  running %u  queued %u  failed %u"),
		elapsed, bar->str, done, self->n_tasks,
		self->counts[ARK_TASK_STATE_SUCCEEDED], running, queued, failed);
	fflush(self->stream);
	self->line_shown = TRUE;
}

static gboolean
ark_cli_progress_timer_cb(gpointer user_data)
{
	ark_cli_progress_draw(user_data);
	return G_SOURCE_CONTINUE;
}

static void
ark_cli_progress_print_task(ArkCliProgress *self, const ArkEvent *event)
{
	ArkTaskState state = (ArkTaskState)event->state;
	gpointer started = g_hash_table_lookup(self->task_started, event->task_id);
	g_autofree gchar *took = NULL;
	const gchar *mark;
	const gchar *color_on = "";
	const gchar *color_off = "";
	gboolean bad = state == ARK_TASK_STATE_FAILED || state == ARK_TASK_STATE_DEAD;

	if (self->quiet)
		return;
	if (!bad && self->n_tasks > ARK_CLI_PROGRESS_MAX_TASK_LINES)
		return;
	if (started != NULL)
		took = ark_cli_format_duration(event->time - *(gint64 *)started);
	switch (state) {
	case ARK_TASK_STATE_SUCCEEDED:
		mark = self->utf8 ? "✔" : "ok";
		color_on = "\033[32m";
		break;
	case ARK_TASK_STATE_FAILED:
	case ARK_TASK_STATE_DEAD:
		mark = self->utf8 ? "✖" : "FAIL";
		color_on = "\033[31m";
		break;
	default:
		mark = self->utf8 ? "–" : "-";
		color_on = "\033[33m";
		break;
	}
	if (self->color)
		color_off = "\033[0m";
	else
		color_on = "";
	ark_cli_progress_clear_line(self);
	fprintf(self->stream, "%s%s%s %-24s %-10s %s\n", color_on, mark, color_off,
		event->task_id, ark_task_state_to_string(state), took != NULL ? took : "");
	ark_cli_progress_draw(self);
}

static void
ark_cli_progress_handle_event(ArkCliProgress *self, const ArkEvent *event)
{
	if (g_strcmp0(event->run_id, self->run_id) != 0 || event->task_id == NULL)
		return;
	if (event->kind == ARK_EVENT_ATTEMPT_STARTED) {
		gint64 *t = g_new(gint64, 1);
		*t = event->time;
		g_hash_table_replace(self->task_started, g_strdup(event->task_id), t);
	} else if (event->kind == ARK_EVENT_TASK_STATE &&
		   ark_task_state_is_terminal((ArkTaskState)event->state)) {
		ark_cli_progress_print_task(self, event);
	}
}

static void
ark_cli_progress_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	ark_cli_progress_handle_event(user_data, event);
}

void
ark_cli_progress_add_event(ArkCliProgress *self, const ArkEvent *event)
{
	gpointer prev;
	guint from = ARK_TASK_STATE_PENDING;

	g_return_if_fail(self->engine == NULL);

	/* a task starts pending without an event: its state changes from there are all events */
	if (event->kind == ARK_EVENT_TASK_STATE && event->task_id != NULL &&
	    (guint)event->state < ARK_TASK_STATE_LAST &&
	    g_strcmp0(event->run_id, self->run_id) == 0) {
		gboolean known = g_hash_table_lookup_extended(self->task_states, event->task_id,
							      NULL, &prev);
		if (known)
			from = GPOINTER_TO_UINT(prev);
		/* more tasks than the run has are not trusted with the counts */
		if (known || g_hash_table_size(self->task_states) < self->n_tasks) {
			if (self->counts[from] > 0)
				self->counts[from]--;
			self->counts[event->state]++;
			g_hash_table_replace(self->task_states, g_strdup(event->task_id),
					     GUINT_TO_POINTER((guint)event->state));
		}
	}
	ark_cli_progress_handle_event(self, event);
}

ArkCliProgress *
ark_cli_progress_new(ArkEngine *engine, const gchar *run_id, guint n_tasks, FILE *stream,
		     gboolean quiet)
{
	ArkCliProgress *self = g_new0(ArkCliProgress, 1);
	self->engine = engine != NULL ? g_object_ref(engine) : NULL;
	self->run_id = g_strdup(run_id);
	self->n_tasks = n_tasks;
	self->stream = stream;
	self->quiet = quiet;
	self->tty = isatty(fileno(stream)) && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
	self->color = ark_cli_progress_use_color(stream);
	self->utf8 = ark_cli_progress_use_utf8();
	self->started = g_get_monotonic_time();
	self->task_started = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	/* quiet prints no task line: it needs no event (each one would cost a signal emission
	 * and a start time kept per task) */
	if (engine != NULL && !quiet)
		self->event_handler = g_signal_connect(engine, "event",
						       G_CALLBACK(ark_cli_progress_event_cb), self);
	else if (engine == NULL)
		self->task_states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->counts[ARK_TASK_STATE_PENDING] = n_tasks;
	if (self->tty && !quiet)
		self->timer_id = g_timeout_add(100, ark_cli_progress_timer_cb, self);
	return self;
}

ArkCliProgress *
ark_cli_progress_new_detached(const gchar *run_id, guint n_tasks, FILE *stream, gboolean quiet)
{
	return ark_cli_progress_new(NULL, run_id, n_tasks, stream, quiet);
}

void
ark_cli_progress_set_started(ArkCliProgress *self, ArkTimestamp started)
{
	gint64 ago = g_get_real_time() - started;
	if (started > 0 && ago > 0)
		self->started = g_get_monotonic_time() - ago;
}

void
ark_cli_progress_print_note(ArkCliProgress *self, const gchar *line)
{
	ark_cli_progress_clear_line(self);
	fprintf(self->stream, "%s\n", line);
	ark_cli_progress_draw(self);
}

void
ark_cli_progress_finish(ArkCliProgress *self)
{
	g_clear_handle_id(&self->timer_id, g_source_remove);
	ark_cli_progress_clear_line(self);
	fflush(self->stream);
}

void
ark_cli_progress_free(ArkCliProgress *self)
{
	if (self == NULL)
		return;
	ark_cli_progress_finish(self);
	if (self->engine != NULL) {
		if (self->event_handler != 0)
			g_signal_handler_disconnect(self->engine, self->event_handler);
		g_object_unref(self->engine);
	}
	g_clear_pointer(&self->task_states, g_hash_table_unref);
	g_hash_table_unref(self->task_started);
	g_free(self->run_id);
	g_free(self);
}
