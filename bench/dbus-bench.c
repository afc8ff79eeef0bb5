/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A D-Bus client for bench/dbus-bench.sh: the latency of org.arkitect.Arkitect1 methods called
 * one after the other (GetStatus, GetRun, Submit of a one-task workflow), and how many signals
 * a run of N tasks costs on the bus.
 *
 * Usage: dbus-bench CALLS TASKS   (the daemon on the session bus)
 */
#include <glib.h>
#include <gio/gio.h>
#include <stdlib.h>

#define NAME "org.arkitect.Arkitect1"
#define PATH "/org/arkitect/Arkitect1"
#define IFACE "org.arkitect.Arkitect1.Manager"

static gint
dbus_bench_compare(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return x < y ? -1 : x > y;
}

static GVariant *
dbus_bench_call(GDBusConnection *bus, const gchar *method, GVariant *params, const gchar *type)
{
	g_autoptr(GError) error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(bus, NAME, PATH, IFACE, method, params,
						      G_VARIANT_TYPE(type), G_DBUS_CALL_FLAGS_NONE,
						      -1, NULL, &error);
	if (reply == NULL) {
		g_printerr("%s: %s\n", method, error->message);
		exit(1);
	}
	return reply;
}

/* N calls of @method; prints the median, p99 and the calls per second */
static void
dbus_bench_latency(GDBusConnection *bus, const gchar *label, const gchar *method,
		   GVariant *params, const gchar *type, guint n)
{
	g_autofree gint64 *t = g_new(gint64, n);
	gint64 start = g_get_monotonic_time();

	g_variant_ref_sink(params);
	for (guint i = 0; i < n; i++) {
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(GVariant) reply = dbus_bench_call(bus, method, g_variant_ref(params), type);
		t[i] = g_get_monotonic_time() - t0;
	}
	qsort(t, n, sizeof(gint64), dbus_bench_compare);
	g_print("%-28s %6u calls  median %7.3f ms  p99 %7.3f ms  %8.0f calls/s\n", label, n,
		t[n / 2] / 1000.0, t[(n * 99) / 100] / 1000.0,
		n / ((g_get_monotonic_time() - start) / (gdouble)G_USEC_PER_SEC));
	g_variant_unref(params);
}

typedef struct {
	gchar *run_id;
	guint tasks_changed;
	guint run_changed;
	guint entries;
	gboolean done;
	GPtrArray *early; /* signals before the run id was known */
} DbusBenchWatch;

static void
dbus_bench_count(DbusBenchWatch *w, const gchar *signal, GVariant *params)
{
	const gchar *run = NULL;
	g_variant_get_child(params, 0, "&s", &run);
	if (g_strcmp0(run, w->run_id) != 0)
		return;
	if (g_strcmp0(signal, "TasksChanged") == 0) {
		g_autoptr(GVariant) tasks = g_variant_get_child_value(params, 1);
		w->tasks_changed++;
		w->entries += (guint)g_variant_n_children(tasks);
	} else {
		const gchar *state = NULL;
		w->run_changed++;
		g_variant_get_child(params, 1, "&s", &state);
		if (g_strcmp0(state, "succeeded") == 0 || g_strcmp0(state, "failed") == 0 ||
		    g_strcmp0(state, "cancelled") == 0)
			w->done = TRUE;
	}
}

static void
dbus_bench_signal_cb(GDBusConnection *bus, const gchar *sender, const gchar *path,
		     const gchar *iface, const gchar *signal, GVariant *params, gpointer user_data)
{
	DbusBenchWatch *w = user_data;
	if (w->run_id == NULL) {
		g_ptr_array_add(w->early, g_variant_new("(s@*)", signal, params));
		return;
	}
	dbus_bench_count(w, signal, params);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	guint calls = argc > 1 ? (guint)g_ascii_strtoull(argv[1], NULL, 10) : 2000;
	guint n_tasks = argc > 2 ? (guint)g_ascii_strtoull(argv[2], NULL, 10) : 10000;
	g_autoptr(GString) wf = g_string_new("{\"name\":\"bench\",\"tasks\":[");
	g_autoptr(GVariant) reply = NULL;
	DbusBenchWatch w = {.early = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref)};
	const gchar *run_id = NULL;
	gint64 start;

	if (bus == NULL) {
		g_printerr("no session bus: %s\n", error->message);
		return 1;
	}
	reply = dbus_bench_call(bus, "Submit",
				g_variant_new_parsed("(%s, @a{sv} {})",
						     "{\"name\":\"one\",\"tasks\":[{\"id\":\"a\","
						     "\"executor\":\"thread\",\"function\":\"noop\"}]}"),
				"(sb)");
	g_variant_get(reply, "(&sb)", &run_id, NULL);
	dbus_bench_latency(bus, "GetStatus", "GetStatus", g_variant_new("()"), "(a{sv})", calls);
	dbus_bench_latency(bus, "GetRun", "GetRun", g_variant_new("(s)", run_id), "(a{sv})", calls);
	dbus_bench_latency(bus, "Submit (1 noop task)", "Submit",
			   g_variant_new_parsed("(%s, @a{sv} {})",
						"{\"name\":\"one\",\"tasks\":[{\"id\":\"a\","
						"\"executor\":\"thread\",\"function\":\"noop\"}]}"),
			   "(sb)", calls / 4);

	for (guint i = 0; i < n_tasks; i++)
		g_string_append_printf(wf,
				       "%s{\"id\":\"t%u\",\"executor\":\"thread\",\"function\":"
				       "\"noop\"}",
				       i > 0 ? "," : "", i);
	g_string_append(wf, "]}");
	g_dbus_connection_signal_subscribe(bus, NAME, IFACE, NULL, PATH, NULL,
					   G_DBUS_SIGNAL_FLAGS_NONE, dbus_bench_signal_cb, &w, NULL);
	start = g_get_monotonic_time();
	g_clear_pointer(&reply, g_variant_unref);
	reply = dbus_bench_call(bus, "Submit", g_variant_new("(s@a{sv})", wf->str,
							     g_variant_new("a{sv}", NULL)),
				"(sb)");
	g_variant_get(reply, "(sb)", &w.run_id, NULL);
	for (guint i = 0; i < w.early->len; i++) {
		const gchar *signal = NULL;
		g_autoptr(GVariant) params = NULL;
		g_variant_get(g_ptr_array_index(w.early, i), "(&s@*)", &signal, &params);
		dbus_bench_count(&w, signal, params);
	}
	while (!w.done)
		g_main_context_iteration(NULL, TRUE);
	g_print("run of %u noop tasks: %.2f s from Submit to RunStateChanged; %u TasksChanged "
		"(%u task states) + %u RunStateChanged signals\n",
		n_tasks, (g_get_monotonic_time() - start) / (gdouble)G_USEC_PER_SEC, w.tasks_changed,
		w.entries, w.run_changed);
	g_free(w.run_id);
	g_ptr_array_unref(w.early);
	return 0;
}
