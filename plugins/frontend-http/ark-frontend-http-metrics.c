/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ark-frontend-http-private.h"

/*
 * GET /metrics: the engine's registry, then the HTTP frontend's own families (requests by route
 * pattern, never the raw path, so that the number of series is bounded by the route table), then
 * the standard process_* metrics read from /proc/self, as the Prometheus client libraries name
 * them.
 */

struct _ArkFrontendHttpMetrics {
	ArkMetrics *registry;
	ArkMetric *requests;
	ArkMetric *duration;
	ArkMetricSeries *streams;
};

ArkFrontendHttpMetrics *
ark_frontend_http_metrics_new(void)
{
	static const gdouble buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					  0.1,	  0.25,	 0.5,	 1,	2.5,  5,     10};
	ArkFrontendHttpMetrics *metrics = g_new0(ArkFrontendHttpMetrics, 1);

	metrics->registry = ark_metrics_new();
	metrics->requests = ark_metrics_counter(
	    metrics->registry, "ark_http_requests_total",
	    "HTTP requests answered, by route pattern, method and status",
	    (const gchar *[]){"route", "method", "status", NULL});
	metrics->duration = ark_metrics_histogram(
	    metrics->registry, "ark_http_request_duration_seconds",
	    "time from the first byte of a request to the end of its answer (streams left out)",
	    (const gchar *[]){"route", "method", NULL}, buckets, G_N_ELEMENTS(buckets));
	metrics->streams = ark_metric_default(
	    ark_metrics_gauge(metrics->registry, "ark_http_event_streams",
			      "open streaming responses (event streams and followed logs)", NULL));
	ark_metric_series_set(metrics->streams, 0);
	return metrics;
}

void
ark_frontend_http_metrics_free(ArkFrontendHttpMetrics *metrics)
{
	if (metrics == NULL)
		return;
	ark_metrics_free(metrics->registry);
	g_free(metrics);
}

void
ark_frontend_http_metrics_observe(ArkFrontendHttpMetrics *metrics, const gchar *route,
				  const gchar *method, guint status, gdouble seconds,
				  gboolean streaming)
{
	gchar status_str[16];

	g_snprintf(status_str, sizeof(status_str), "%u", status);
	ark_metric_series_add(
	    ark_metric_series(metrics->requests, (const gchar *[]){route, method, status_str}), 1);
	if (!streaming)
		ark_metric_series_observe(
		    ark_metric_series(metrics->duration, (const gchar *[]){route, method}),
		    seconds);
}

void
ark_frontend_http_metrics_set_streams(ArkFrontendHttpMetrics *metrics, guint n)
{
	ark_metric_series_set(metrics->streams, n);
}

/* the fields of /proc/self/stat after the command name, which may hold spaces and parens:
 * fields[0] is field 3 (state) of proc(5) */
static GStrv
ark_frontend_http_metrics_read_stat(void)
{
	g_autofree gchar *stat = NULL;
	const gchar *rparen;

	if (!g_file_get_contents("/proc/self/stat", &stat, NULL, NULL))
		return NULL;
	rparen = strrchr(stat, ')');
	if (rparen == NULL || rparen[1] != ' ')
		return NULL;
	return g_strsplit(rparen + 2, " ", -1);
}

static guint64
ark_frontend_http_metrics_stat_field(GStrv fields, guint field)
{
	guint index = field - 3;
	if (fields == NULL || index >= g_strv_length(fields))
		return 0;
	return g_ascii_strtoull(fields[index], NULL, 10);
}

static guint64
ark_frontend_http_metrics_boot_time(void)
{
	g_autofree gchar *stat = NULL;
	const gchar *line;

	if (!g_file_get_contents("/proc/stat", &stat, NULL, NULL))
		return 0;
	line = strstr(stat, "\nbtime ");
	if (line == NULL)
		return 0;
	return g_ascii_strtoull(line + strlen("\nbtime "), NULL, 10);
}

gint64
ark_frontend_http_metrics_process_start_time(void)
{
	g_auto(GStrv) fields = ark_frontend_http_metrics_read_stat();
	guint64 btime = ark_frontend_http_metrics_boot_time();
	glong ticks = sysconf(_SC_CLK_TCK);
	guint64 start = ark_frontend_http_metrics_stat_field(fields, 22);

	if (fields == NULL || btime == 0 || ticks <= 0)
		return g_get_real_time();
	return (gint64)(btime * G_USEC_PER_SEC + start * G_USEC_PER_SEC / (guint64)ticks);
}

static guint
ark_frontend_http_metrics_count_fds(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	guint n = 0;

	if (dir == NULL)
		return 0;
	while (g_dir_read_name(dir) != NULL)
		n++;
	/* the directory's own descriptor is not one of ours a moment later */
	return n > 0 ? n - 1 : 0;
}

static void
ark_frontend_http_metrics_add(GString *out, const gchar *name, const gchar *type,
			      const gchar *help, gdouble value)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type,
			       name, g_ascii_dtostr(buf, sizeof(buf), value));
}

static void
ark_frontend_http_metrics_render_process(ArkFrontendHttp *self, GString *out)
{
	g_auto(GStrv) fields = ark_frontend_http_metrics_read_stat();
	glong ticks = sysconf(_SC_CLK_TCK);
	glong page = sysconf(_SC_PAGESIZE);
	struct rlimit limit = {0};

	if (fields != NULL && ticks > 0) {
		guint64 cpu = ark_frontend_http_metrics_stat_field(fields, 14) +
			      ark_frontend_http_metrics_stat_field(fields, 15);
		ark_frontend_http_metrics_add(out, "process_cpu_seconds_total", "counter",
					      "Total user and system CPU time spent in seconds.",
					      (gdouble)cpu / (gdouble)ticks);
	}
	if (fields != NULL) {
		ark_frontend_http_metrics_add(
		    out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		    (gdouble)ark_frontend_http_metrics_stat_field(fields, 23));
		ark_frontend_http_metrics_add(
		    out, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.",
		    (gdouble)ark_frontend_http_metrics_stat_field(fields, 24) *
			(gdouble)MAX(page, 1));
	}
	ark_frontend_http_metrics_add(out, "process_open_fds", "gauge",
				      "Number of open file descriptors.",
				      ark_frontend_http_metrics_count_fds());
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
		ark_frontend_http_metrics_add(out, "process_max_fds", "gauge",
					      "Maximum number of open file descriptors.",
					      limit.rlim_cur == RLIM_INFINITY
						  ? (gdouble)G_MAXINT64
						  : (gdouble)limit.rlim_cur);
	ark_frontend_http_metrics_add(out, "process_start_time_seconds", "gauge",
				      "Start time of the process since unix epoch in seconds.",
				      (gdouble)self->process_started_at / G_USEC_PER_SEC);
}

gchar *
ark_frontend_http_metrics_render(ArkFrontendHttp *self)
{
	g_autofree gchar *engine = ark_metrics_render_prometheus(ark_engine_get_metrics(self->engine));
	g_autofree gchar *http = NULL;
	GString *out = g_string_sized_new(16384);

	ark_frontend_http_metrics_set_streams(
	    self->metrics, ark_frontend_http_events_get_n_streams(self->events));
	http = ark_metrics_render_prometheus(self->metrics->registry);
	g_string_append(out, engine);
	if (out->len > 0 && out->str[out->len - 1] != '\n')
		g_string_append_c(out, '\n');
	g_string_append(out, http);
	if (out->len > 0 && out->str[out->len - 1] != '\n')
		g_string_append_c(out, '\n');
	ark_frontend_http_metrics_render_process(self, out);
	return g_string_free(out, FALSE);
}
