/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-dbus-private.h"

/*
 * Signals from the engine's committed events, coalesced so that a large run does not flood the
 * bus: a task transition only updates the task's latest state in its run's pending set, and a
 * timer sends one TasksChanged per run every signal-interval (in chunks of
 * ARK_FRONTEND_DBUS_MAX_TASKS_PER_SIGNAL). A run transition is sent at once, after the run's
 * pending task changes, so that a client sees a run finish after its tasks did.
 *
 * RunCounts (runs by state) is counted once from the store and then kept from the run events;
 * a run event that does not fit what is known (a finished run reopened by a retry) makes it
 * count again from the store.
 */

struct _ArkFrontendDbusSignals {
	ArkFrontendDbus *self; /* borrowed: it owns this */
	/* run id -> GHashTable (task id -> GINT_TO_POINTER(state + 1)), in the order the runs
	 * first changed */
	GHashTable *pending;
	GPtrArray *pending_order; /* run ids (borrowed from @pending's keys) */
	guint flush_id;
	guint state_id;
	/* runs by state, and the state of every run not finished (run id -> state + 1) */
	guint run_counts[ARK_RUN_STATE_LAST];
	GHashTable *open_runs;
	gboolean counts_valid;
	gboolean counts_dirty;
	guint64 n_signals;
	guint64 n_transitions;
};

static void
ark_frontend_dbus_signals_recount(ArkFrontendDbusSignals *s)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {0};

	memset(s->run_counts, 0, sizeof(s->run_counts));
	g_hash_table_remove_all(s->open_runs);
	runs = ark_store_list_runs(ark_engine_get_store(s->self->engine), &filter, &error);
	if (runs == NULL) {
		g_warning("cannot count the runs for RunCounts: %s", error->message);
		s->counts_valid = FALSE;
		return;
	}
	for (guint i = 0; i < runs->len; i++) {
		const ArkRunRecord *run = g_ptr_array_index(runs, i);
		if ((guint)run->state >= ARK_RUN_STATE_LAST)
			continue;
		s->run_counts[run->state]++;
		if (!ark_run_state_is_terminal(run->state))
			g_hash_table_insert(s->open_runs, g_strdup(run->id),
					    GINT_TO_POINTER(run->state + 1));
	}
	s->counts_valid = TRUE;
	s->counts_dirty = TRUE;
}

static void
ark_frontend_dbus_signals_update_properties(ArkFrontendDbusSignals *s)
{
	ArkFrontendDbus *self = s->self;
	gboolean accepting = ark_engine_is_accepting(self->engine, NULL);
	const gchar *state = accepting ? "running" : "draining";

	/* the skeleton sends PropertiesChanged for what really changed, from an idle */
	if (g_strcmp0(ark_dbus_manager_get_state(self->skeleton), state) != 0)
		ark_dbus_manager_set_state(self->skeleton, state);
	if (s->counts_dirty) {
		GVariantBuilder b;
		g_variant_builder_init(&b, G_VARIANT_TYPE("a{su}"));
		for (guint i = 0; i < ARK_RUN_STATE_LAST; i++)
			g_variant_builder_add(&b, "{su}", ark_run_state_to_string((ArkRunState)i),
					      s->run_counts[i]);
		ark_dbus_manager_set_run_counts(self->skeleton, g_variant_builder_end(&b));
		s->counts_dirty = FALSE;
	}
}

static void
ark_frontend_dbus_signals_emit_tasks(ArkFrontendDbusSignals *s, const gchar *run_id,
				     GHashTable *tasks)
{
	ArkFrontendDbus *self = s->self;
	guint counts[ARK_TASK_STATE_LAST];
	g_autoptr(GVariant) counts_v = NULL;
	GHashTableIter iter;
	gpointer key, value;
	GVariantBuilder b;
	guint n = 0;

	ark_frontend_dbus_task_counts(self, run_id, counts);
	counts_v = g_variant_ref_sink(ark_frontend_dbus_task_counts_to_variant(counts));
	g_variant_builder_init(&b, G_VARIANT_TYPE("a(ss)"));
	g_hash_table_iter_init(&iter, tasks);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		ArkTaskState state = (ArkTaskState)(GPOINTER_TO_INT(value) - 1);
		g_variant_builder_add(&b, "(ss)", (const gchar *)key,
				      ark_task_state_to_string(state));
		if (++n == ARK_FRONTEND_DBUS_MAX_TASKS_PER_SIGNAL) {
			ark_dbus_manager_emit_tasks_changed(self->skeleton, run_id,
							    g_variant_builder_end(&b), counts_v);
			s->n_signals++;
			g_variant_builder_init(&b, G_VARIANT_TYPE("a(ss)"));
			n = 0;
		}
	}
	if (n > 0) {
		ark_dbus_manager_emit_tasks_changed(self->skeleton, run_id,
						    g_variant_builder_end(&b), counts_v);
		s->n_signals++;
	} else {
		g_variant_builder_clear(&b);
	}
}

/* sends the pending task changes of @run_id (all runs when NULL) */
static void
ark_frontend_dbus_signals_send(ArkFrontendDbusSignals *s, const gchar *run_id)
{
	if (run_id != NULL) {
		gpointer key = NULL;
		gpointer tasks = NULL;
		if (!g_hash_table_lookup_extended(s->pending, run_id, &key, &tasks))
			return;
		ark_frontend_dbus_signals_emit_tasks(s, key, tasks);
		g_ptr_array_remove(s->pending_order, key);
		g_hash_table_remove(s->pending, key);
		return;
	}
	for (guint i = 0; i < s->pending_order->len; i++) {
		const gchar *id = g_ptr_array_index(s->pending_order, i);
		ark_frontend_dbus_signals_emit_tasks(s, id, g_hash_table_lookup(s->pending, id));
	}
	g_ptr_array_set_size(s->pending_order, 0);
	g_hash_table_remove_all(s->pending);
}

static gboolean
ark_frontend_dbus_signals_flush_cb(gpointer user_data)
{
	ArkFrontendDbusSignals *s = user_data;

	s->flush_id = 0;
	ark_frontend_dbus_signals_send(s, NULL);
	ark_frontend_dbus_signals_update_properties(s);
	return G_SOURCE_REMOVE;
}

static void
ark_frontend_dbus_signals_arm(ArkFrontendDbusSignals *s)
{
	if (s->flush_id != 0)
		return;
	s->flush_id = g_timeout_add_full(
	    G_PRIORITY_DEFAULT, (guint)MAX(s->self->config.signal_interval / 1000, 1),
	    ark_frontend_dbus_signals_flush_cb, s, NULL);
}

void
ark_frontend_dbus_signals_flush(ArkFrontendDbusSignals *s)
{
	g_clear_handle_id(&s->flush_id, g_source_remove);
	ark_frontend_dbus_signals_send(s, NULL);
	ark_frontend_dbus_signals_update_properties(s);
}

/* a run moved to @state: keeps RunCounts */
static void
ark_frontend_dbus_signals_count_run(ArkFrontendDbusSignals *s, const ArkEvent *event)
{
	ArkRunState state = (ArkRunState)event->state;
	gpointer old = NULL;

	if (!s->counts_valid || (guint)state >= ARK_RUN_STATE_LAST)
		return;
	if (g_hash_table_lookup_extended(s->open_runs, event->run_id, NULL, &old)) {
		ArkRunState previous = (ArkRunState)(GPOINTER_TO_INT(old) - 1);
		if (s->run_counts[previous] > 0)
			s->run_counts[previous]--;
	} else if (event->kind != ARK_EVENT_RUN_SUBMITTED) {
		/* a finished run reopened: which count it leaves is not known here */
		ark_frontend_dbus_signals_recount(s);
		return;
	}
	s->run_counts[state]++;
	if (ark_run_state_is_terminal(state))
		g_hash_table_remove(s->open_runs, event->run_id);
	else
		g_hash_table_insert(s->open_runs, g_strdup(event->run_id),
				    GINT_TO_POINTER(state + 1));
	s->counts_dirty = TRUE;
}

void
ark_frontend_dbus_signals_push(ArkFrontendDbusSignals *s, const ArkEvent *event)
{
	ArkFrontendDbus *self = s->self;

	if (event->run_id == NULL)
		return;
	switch (event->kind) {
	case ARK_EVENT_TASK_STATE: {
		GHashTable *tasks;
		if (event->task_id == NULL || event->state < 0 ||
		    event->state >= ARK_TASK_STATE_LAST)
			return;
		s->n_transitions++;
		tasks = g_hash_table_lookup(s->pending, event->run_id);
		if (tasks == NULL) {
			gchar *run_id = g_strdup(event->run_id);
			tasks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
			g_hash_table_insert(s->pending, run_id, tasks);
			g_ptr_array_add(s->pending_order, run_id);
		}
		g_hash_table_insert(tasks, g_strdup(event->task_id),
				    GINT_TO_POINTER(event->state + 1));
		ark_frontend_dbus_signals_arm(s);
		break;
	}
	case ARK_EVENT_RUN_SUBMITTED:
	case ARK_EVENT_RUN_STARTED:
	case ARK_EVENT_RUN_FINISHED:
		if (event->state < 0 || event->state >= ARK_RUN_STATE_LAST)
			return;
		/* the run's task changes first: a client sees the tasks end before the run */
		ark_frontend_dbus_signals_send(s, event->run_id);
		ark_dbus_manager_emit_run_state_changed(
		    self->skeleton, event->run_id, ark_run_state_to_string((ArkRunState)event->state));
		s->n_signals++;
		ark_frontend_dbus_signals_count_run(s, event);
		ark_frontend_dbus_signals_arm(s);
		break;
	default:
		break;
	}
}

/* draining has no event: the State property is checked once a second */
static gboolean
ark_frontend_dbus_signals_state_cb(gpointer user_data)
{
	ArkFrontendDbusSignals *s = user_data;
	ark_frontend_dbus_signals_update_properties(s);
	return G_SOURCE_CONTINUE;
}

ArkFrontendDbusSignals *
ark_frontend_dbus_signals_new(ArkFrontendDbus *self)
{
	ArkFrontendDbusSignals *s = g_new0(ArkFrontendDbusSignals, 1);

	s->self = self;
	s->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)g_hash_table_unref);
	s->pending_order = g_ptr_array_new();
	s->open_runs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ark_frontend_dbus_signals_recount(s);
	ark_frontend_dbus_signals_update_properties(s);
	s->state_id = g_timeout_add_seconds(1, ark_frontend_dbus_signals_state_cb, s);
	return s;
}

void
ark_frontend_dbus_signals_free(ArkFrontendDbusSignals *s)
{
	if (s == NULL)
		return;
	g_clear_handle_id(&s->flush_id, g_source_remove);
	g_clear_handle_id(&s->state_id, g_source_remove);
	g_ptr_array_unref(s->pending_order);
	g_hash_table_unref(s->pending);
	g_hash_table_unref(s->open_runs);
	g_free(s);
}

void
ark_frontend_dbus_signals_get_stats(ArkFrontendDbusSignals *s, guint64 *out_signals,
				    guint64 *out_transitions)
{
	*out_signals = s->n_signals;
	*out_transitions = s->n_transitions;
}
