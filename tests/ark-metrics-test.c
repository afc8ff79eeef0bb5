/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect.h>

static void
ark_metrics_test_render(void)
{
	g_autoptr(ArkMetrics) m = ark_metrics_new();
	static const gdouble buckets[] = {0.1, 1, 10};
	ArkMetric *c = ark_metrics_counter(m, "ark_test_total", "things\ncounted",
					   (const gchar *[]){"state", NULL});
	ArkMetric *g = ark_metrics_gauge(m, "ark_test_depth", "depth", NULL);
	ArkMetric *h = ark_metrics_histogram(m, "ark_test_seconds", "latency", NULL, buckets, 3);
	g_autofree gchar *out = NULL;

	ark_metric_series_add(ark_metric_series(c, (const gchar *[]){"ok", NULL}), 2);
	ark_metric_series_add(ark_metric_series(c, (const gchar *[]){"ok", NULL}), 1);
	ark_metric_series_add(ark_metric_series(c, (const gchar *[]){"a\"b\\c\nd", NULL}), 1);
	ark_metric_series_set(ark_metric_default(g), 7.5);
	ark_metric_series_observe(ark_metric_default(h), 0.05);
	ark_metric_series_observe(ark_metric_default(h), 5);
	ark_metric_series_observe(ark_metric_default(h), 50);

	out = ark_metrics_render_prometheus(m);
	g_assert_nonnull(strstr(out, "# HELP ark_test_total things\\ncounted\n"));
	g_assert_nonnull(strstr(out, "# TYPE ark_test_total counter\n"));
	g_assert_nonnull(strstr(out, "ark_test_total{state=\"ok\"} 3\n"));
	g_assert_nonnull(strstr(out, "ark_test_total{state=\"a\\\"b\\\\c\\nd\"} 1\n"));
	g_assert_nonnull(strstr(out, "ark_test_depth 7.5\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_bucket{le=\"0.1\"} 1\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_bucket{le=\"1\"} 1\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_bucket{le=\"10\"} 2\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_bucket{le=\"+Inf\"} 3\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_sum 55.05\n"));
	g_assert_nonnull(strstr(out, "ark_test_seconds_count 3\n"));
}

static void
ark_metrics_test_reregister(void)
{
	g_autoptr(ArkMetrics) m = ark_metrics_new();
	ArkMetric *a = ark_metrics_counter(m, "x_total", "x", (const gchar *[]){"l", NULL});
	/* same name and shape: the same family; another kind: refused */
	g_assert_true(ark_metrics_counter(m, "x_total", "x", (const gchar *[]){"l", NULL}) == a);
	g_assert_null(ark_metrics_gauge(m, "x_total", "x", (const gchar *[]){"l", NULL}));
	g_assert_null(ark_metrics_counter(m, "x_total", "x", NULL));
}

static gpointer
ark_metrics_test_thread(gpointer data)
{
	ArkMetricSeries *s = data;
	for (guint i = 0; i < 100000; i++)
		ark_metric_series_add(s, 1);
	return NULL;
}

static void
ark_metrics_test_threads(void)
{
	g_autoptr(ArkMetrics) m = ark_metrics_new();
	ArkMetricSeries *s = ark_metric_default(ark_metrics_counter(m, "n_total", "n", NULL));
	GThread *t1 = g_thread_new("a", ark_metrics_test_thread, s);
	GThread *t2 = g_thread_new("b", ark_metrics_test_thread, s);
	g_thread_join(t1);
	g_thread_join(t2);
	g_assert_cmpfloat(ark_metric_series_get(s), ==, 200000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/metrics/render", ark_metrics_test_render);
	g_test_add_func("/ark/metrics/reregister", ark_metrics_test_reregister);
	g_test_add_func("/ark/metrics/threads", ark_metrics_test_threads);
	return g_test_run();
}
