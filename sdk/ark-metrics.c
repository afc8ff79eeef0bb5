/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <arkitect/arkitect.h>

typedef enum {
	ARK_METRIC_COUNTER,
	ARK_METRIC_GAUGE,
	ARK_METRIC_HISTOGRAM,
} ArkMetricKind;

struct _ArkMetricSeries {
	ArkMetric *family;
	gchar **label_values;
	gdouble value; /* counter/gauge value, histogram sum */
	guint64 count;
	guint64 *bucket_counts; /* histogram: n_buckets, not cumulative */
};

struct _ArkMetric {
	ArkMetricKind kind;
	gchar *name;
	gchar *help;
	gchar **label_names;
	guint n_labels;
	gdouble *buckets;
	guint n_buckets;
	GMutex mutex;
	GHashTable *series; /* joined label values -> ArkMetricSeries */
	GPtrArray *order;   /* series in creation order, for stable output */
};

typedef struct {
	ArkMetricsCollectFunc func;
	gpointer user_data;
} ArkMetricsCollector;

struct _ArkMetrics {
	GMutex mutex;
	GPtrArray *families; /* registration order */
	GArray *collectors;  /* ArkMetricsCollector, called before rendering */
};

static void
ark_metrics_series_free(ArkMetricSeries *series)
{
	g_strfreev(series->label_values);
	g_free(series->bucket_counts);
	g_free(series);
}

static void
ark_metrics_family_free(ArkMetric *metric)
{
	g_free(metric->name);
	g_free(metric->help);
	g_strfreev(metric->label_names);
	g_free(metric->buckets);
	g_hash_table_unref(metric->series);
	g_ptr_array_unref(metric->order);
	g_mutex_clear(&metric->mutex);
	g_free(metric);
}

ArkMetrics *
ark_metrics_new(void)
{
	ArkMetrics *self = g_new0(ArkMetrics, 1);
	g_mutex_init(&self->mutex);
	self->families = g_ptr_array_new_with_free_func((GDestroyNotify)ark_metrics_family_free);
	self->collectors = g_array_new(FALSE, FALSE, sizeof(ArkMetricsCollector));
	return self;
}

void
ark_metrics_free(ArkMetrics *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->families);
	g_array_unref(self->collectors);
	g_mutex_clear(&self->mutex);
	g_free(self);
}

static gboolean
ark_metrics_name_is_valid(const gchar *name, gboolean allow_colon)
{
	if (name == NULL || name[0] == '\0' || g_ascii_isdigit(name[0]))
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && !(allow_colon && *p == ':'))
			return FALSE;
	}
	return TRUE;
}

static ArkMetric *
ark_metrics_register(ArkMetrics *self, ArkMetricKind kind, const gchar *name, const gchar *help,
		     const gchar *const *label_names, const gdouble *buckets, guint n_buckets)
{
	ArkMetric *metric;
	g_autoptr(GMutexLocker) locker = NULL;
	guint n_labels = label_names != NULL ? g_strv_length((gchar **)label_names) : 0;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(ark_metrics_name_is_valid(name, TRUE), NULL);
	for (guint i = 0; i < n_labels; i++)
		g_return_val_if_fail(ark_metrics_name_is_valid(label_names[i], FALSE), NULL);

	locker = g_mutex_locker_new(&self->mutex);
	for (guint i = 0; i < self->families->len; i++) {
		ArkMetric *m = g_ptr_array_index(self->families, i);
		if (g_strcmp0(m->name, name) != 0)
			continue;
		if (m->kind != kind || m->n_labels != n_labels)
			return NULL;
		for (guint j = 0; j < n_labels; j++) {
			if (g_strcmp0(m->label_names[j], label_names[j]) != 0)
				return NULL;
		}
		return m;
	}
	metric = g_new0(ArkMetric, 1);
	metric->kind = kind;
	metric->name = g_strdup(name);
	metric->help = g_strdup(help != NULL ? help : "");
	metric->label_names = g_strdupv((gchar **)label_names);
	if (metric->label_names == NULL)
		metric->label_names = g_new0(gchar *, 1);
	metric->n_labels = n_labels;
	if (n_buckets > 0) {
		metric->buckets = g_memdup2(buckets, n_buckets * sizeof(gdouble));
		metric->n_buckets = n_buckets;
	}
	g_mutex_init(&metric->mutex);
	metric->series = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       (GDestroyNotify)ark_metrics_series_free);
	metric->order = g_ptr_array_new();
	g_ptr_array_add(self->families, metric);
	return metric;
}

ArkMetric *
ark_metrics_counter(ArkMetrics *self, const gchar *name, const gchar *help,
		    const gchar *const *label_names)
{
	return ark_metrics_register(self, ARK_METRIC_COUNTER, name, help, label_names, NULL, 0);
}

ArkMetric *
ark_metrics_gauge(ArkMetrics *self, const gchar *name, const gchar *help,
		  const gchar *const *label_names)
{
	return ark_metrics_register(self, ARK_METRIC_GAUGE, name, help, label_names, NULL, 0);
}

ArkMetric *
ark_metrics_histogram(ArkMetrics *self, const gchar *name, const gchar *help,
		      const gchar *const *label_names, const gdouble *buckets, guint n_buckets)
{
	g_return_val_if_fail(n_buckets == 0 || buckets != NULL, NULL);
	for (guint i = 1; i < n_buckets; i++)
		g_return_val_if_fail(buckets[i] > buckets[i - 1], NULL);
	return ark_metrics_register(self, ARK_METRIC_HISTOGRAM, name, help, label_names, buckets,
				    n_buckets);
}

ArkMetricSeries *
ark_metric_series(ArkMetric *metric, const gchar *const *label_values)
{
	g_autoptr(GString) key = g_string_new(NULL);
	g_autoptr(GMutexLocker) locker = NULL;
	ArkMetricSeries *series;

	g_return_val_if_fail(metric != NULL, NULL);
	for (guint i = 0; i < metric->n_labels; i++) {
		g_return_val_if_fail(label_values != NULL && label_values[i] != NULL, NULL);
		/* \x1f cannot collide with a value boundary in practice and is never shown */
		g_string_append(key, label_values[i]);
		g_string_append_c(key, '\x1f');
	}
	locker = g_mutex_locker_new(&metric->mutex);
	series = g_hash_table_lookup(metric->series, key->str);
	if (series != NULL)
		return series;
	series = g_new0(ArkMetricSeries, 1);
	series->family = metric;
	series->label_values = g_new0(gchar *, metric->n_labels + 1);
	for (guint i = 0; i < metric->n_labels; i++)
		series->label_values[i] = g_strdup(label_values[i]);
	if (metric->kind == ARK_METRIC_HISTOGRAM)
		series->bucket_counts = g_new0(guint64, metric->n_buckets);
	g_hash_table_insert(metric->series, g_strdup(key->str), series);
	g_ptr_array_add(metric->order, series);
	return series;
}

ArkMetricSeries *
ark_metric_default(ArkMetric *metric)
{
	g_return_val_if_fail(metric != NULL, NULL);
	g_return_val_if_fail(metric->n_labels == 0, NULL);
	return ark_metric_series(metric, NULL);
}

void
ark_metric_series_add(ArkMetricSeries *series, gdouble value)
{
	g_return_if_fail(series != NULL);
	g_return_if_fail(series->family->kind != ARK_METRIC_HISTOGRAM);
	/* counters only go up: a negative add is a caller bug */
	g_return_if_fail(series->family->kind != ARK_METRIC_COUNTER || value >= 0);
	g_mutex_lock(&series->family->mutex);
	series->value += value;
	g_mutex_unlock(&series->family->mutex);
}

void
ark_metric_series_set(ArkMetricSeries *series, gdouble value)
{
	g_return_if_fail(series != NULL);
	g_return_if_fail(series->family->kind == ARK_METRIC_GAUGE);
	g_mutex_lock(&series->family->mutex);
	series->value = value;
	g_mutex_unlock(&series->family->mutex);
}

void
ark_metric_series_observe(ArkMetricSeries *series, gdouble value)
{
	ArkMetric *metric;
	g_return_if_fail(series != NULL);
	metric = series->family;
	g_return_if_fail(metric->kind == ARK_METRIC_HISTOGRAM);
	g_mutex_lock(&metric->mutex);
	series->value += value;
	series->count++;
	for (guint i = 0; i < metric->n_buckets; i++) {
		if (value <= metric->buckets[i]) {
			series->bucket_counts[i]++;
			break;
		}
	}
	g_mutex_unlock(&metric->mutex);
}

gdouble
ark_metric_series_get(ArkMetricSeries *series)
{
	gdouble v;
	g_return_val_if_fail(series != NULL, 0);
	g_mutex_lock(&series->family->mutex);
	v = series->value;
	g_mutex_unlock(&series->family->mutex);
	return v;
}

guint64
ark_metric_series_get_count(ArkMetricSeries *series)
{
	guint64 v;
	g_return_val_if_fail(series != NULL, 0);
	g_mutex_lock(&series->family->mutex);
	v = series->count;
	g_mutex_unlock(&series->family->mutex);
	return v;
}

static void
ark_metrics_append_escaped(GString *out, const gchar *s, gboolean quote)
{
	for (const gchar *p = s; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else if (quote && *p == '"')
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *p);
	}
}

/* the shortest text that reads back as @v: 0.1 rather than 0.10000000000000001 */
static void
ark_metrics_format_double(gchar *buf, gsize len, gdouble v)
{
	g_ascii_formatd(buf, len, "%.15g", v);
	if (g_ascii_strtod(buf, NULL) != v)
		g_ascii_formatd(buf, len, "%.17g", v);
}

static void
ark_metrics_append_value(GString *out, gdouble v)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
	if (isnan(v))
		g_string_append(out, "NaN");
	else if (isinf(v))
		g_string_append(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		g_string_append_printf(out, "%.0f", v);
	else {
		ark_metrics_format_double(buf, sizeof(buf), v);
		g_string_append(out, buf);
	}
}

static void
ark_metrics_append_labels(GString *out, ArkMetric *metric, ArkMetricSeries *series,
			  const gchar *extra_name, const gchar *extra_value)
{
	gboolean any = metric->n_labels > 0 || extra_name != NULL;
	if (!any)
		return;
	g_string_append_c(out, '{');
	for (guint i = 0; i < metric->n_labels; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		g_string_append_printf(out, "%s=\"", metric->label_names[i]);
		ark_metrics_append_escaped(out, series->label_values[i], TRUE);
		g_string_append_c(out, '"');
	}
	if (extra_name != NULL) {
		if (metric->n_labels > 0)
			g_string_append_c(out, ',');
		g_string_append_printf(out, "%s=\"%s\"", extra_name, extra_value);
	}
	g_string_append_c(out, '}');
}

void
ark_metrics_add_collector(ArkMetrics *self, ArkMetricsCollectFunc func, gpointer user_data)
{
	ArkMetricsCollector c = {func, user_data};
	g_return_if_fail(self != NULL && func != NULL);
	g_array_append_val(self->collectors, c);
}

void
ark_metrics_remove_collector(ArkMetrics *self, ArkMetricsCollectFunc func, gpointer user_data)
{
	g_return_if_fail(self != NULL);
	for (guint i = 0; i < self->collectors->len; i++) {
		ArkMetricsCollector *c = &g_array_index(self->collectors, ArkMetricsCollector, i);
		if (c->func == func && c->user_data == user_data) {
			g_array_remove_index(self->collectors, i);
			return;
		}
	}
}

gchar *
ark_metrics_render_prometheus(ArkMetrics *self)
{
	static const gchar *types[] = {"counter", "gauge", "histogram"};
	GString *out = g_string_new(NULL);
	g_autoptr(GMutexLocker) locker = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	/* collectors set gauges, which takes the family mutexes: call them before locking */
	for (guint i = 0; i < self->collectors->len; i++) {
		ArkMetricsCollector *c = &g_array_index(self->collectors, ArkMetricsCollector, i);
		c->func(self, c->user_data);
	}
	locker = g_mutex_locker_new(&self->mutex);
	for (guint f = 0; f < self->families->len; f++) {
		ArkMetric *metric = g_ptr_array_index(self->families, f);
		g_autoptr(GMutexLocker) family_locker = g_mutex_locker_new(&metric->mutex);

		g_string_append_printf(out, "# HELP %s ", metric->name);
		ark_metrics_append_escaped(out, metric->help, FALSE);
		g_string_append_printf(out, "\n# TYPE %s %s\n", metric->name, types[metric->kind]);
		for (guint s = 0; s < metric->order->len; s++) {
			ArkMetricSeries *series = g_ptr_array_index(metric->order, s);
			if (metric->kind != ARK_METRIC_HISTOGRAM) {
				g_string_append(out, metric->name);
				ark_metrics_append_labels(out, metric, series, NULL, NULL);
				g_string_append_c(out, ' ');
				ark_metrics_append_value(out, series->value);
				g_string_append_c(out, '\n');
				continue;
			}
			{
				guint64 cumulative = 0;
				for (guint b = 0; b < metric->n_buckets; b++) {
					gchar le[G_ASCII_DTOSTR_BUF_SIZE];
					cumulative += series->bucket_counts[b];
					ark_metrics_format_double(le, sizeof(le), metric->buckets[b]);
					g_string_append_printf(out, "%s_bucket", metric->name);
					ark_metrics_append_labels(out, metric, series, "le", le);
					g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n",
							       cumulative);
				}
				g_string_append_printf(out, "%s_bucket", metric->name);
				ark_metrics_append_labels(out, metric, series, "le", "+Inf");
				g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n",
						       series->count);
				g_string_append_printf(out, "%s_sum", metric->name);
				ark_metrics_append_labels(out, metric, series, NULL, NULL);
				g_string_append_c(out, ' ');
				ark_metrics_append_value(out, series->value);
				g_string_append_printf(out, "\n%s_count", metric->name);
				ark_metrics_append_labels(out, metric, series, NULL, NULL);
				g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n",
						       series->count);
			}
		}
	}
	return g_string_free(out, FALSE);
}
