/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/* live progress of one run on a terminal: a redrawn status line when @stream is a TTY, and a
 * line per finished task (all of them for small runs, failures only for large ones) */
typedef struct _ArkCliProgress ArkCliProgress;

ArkCliProgress *ark_cli_progress_new(ArkEngine *engine, const gchar *run_id, guint n_tasks,
				     FILE *stream, gboolean quiet);
/* without an engine, e.g. for a run in the daemon: the caller feeds the run's events in seq
 * order, from its first, with ark_cli_progress_add_event() */
ArkCliProgress *ark_cli_progress_new_detached(const gchar *run_id, guint n_tasks, FILE *stream,
					      gboolean quiet);
void ark_cli_progress_add_event(ArkCliProgress *self, const ArkEvent *event);
/* the elapsed time shown counts from @started (when the run was created) instead of now */
void ark_cli_progress_set_started(ArkCliProgress *self, ArkTimestamp started);
/* a line of its own on the stream, above the status line */
void ark_cli_progress_print_note(ArkCliProgress *self, const gchar *line);
void ark_cli_progress_finish(ArkCliProgress *self);
void ark_cli_progress_free(ArkCliProgress *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkCliProgress, ark_cli_progress_free)

/* whether to use colour and UTF-8 symbols on @stream (NO_COLOR, TERM=dumb, non-TTY, charset) */
gboolean ark_cli_progress_use_color(FILE *stream);
gboolean ark_cli_progress_use_utf8(void);

/* a duration for people: 12ms, 3.4s, 2m05s, 1h02m */
gchar *ark_cli_format_duration(gint64 usec);

G_END_DECLS
