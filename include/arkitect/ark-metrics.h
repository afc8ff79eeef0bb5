/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

/**
 * ArkMetrics:
 *
 * A registry of metric families (counters, gauges, histograms), each with fixed label names and
 * one series per distinct set of label values, rendered in the Prometheus text exposition format
 * (version 0.0.4). Every function is thread-safe: a family's series are guarded by the family's
 * mutex, so updates are cheap but not free; keep them off the hottest per-task paths.
 */
typedef struct _ArkMetrics ArkMetrics;
typedef struct _ArkMetric ArkMetric; /* one family */
typedef struct _ArkMetricSeries ArkMetricSeries;

ARK_API ArkMetrics *ark_metrics_new(void);
ARK_API void ark_metrics_free(ArkMetrics *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkMetrics, ark_metrics_free)

/* @label_names is NULL-terminated (or NULL for none); names must match [a-zA-Z_:][a-zA-Z0-9_:]*
 * and a family name may be registered once: a second call with the same name returns the
 * existing family if its kind and labels agree, NULL otherwise */
ARK_API ArkMetric *ark_metrics_counter(ArkMetrics *self, const gchar *name, const gchar *help,
				       const gchar *const *label_names);
ARK_API ArkMetric *ark_metrics_gauge(ArkMetrics *self, const gchar *name, const gchar *help,
				     const gchar *const *label_names);
/* @buckets: ascending upper bounds, +Inf is implicit */
ARK_API ArkMetric *ark_metrics_histogram(ArkMetrics *self, const gchar *name, const gchar *help,
					 const gchar *const *label_names, const gdouble *buckets,
					 guint n_buckets);

/* the series for these label values (as many as the family has label names); created on first
 * use and valid as long as the registry */
ARK_API ArkMetricSeries *ark_metric_series(ArkMetric *metric, const gchar *const *label_values);
/* shortcut for a family without labels */
ARK_API ArkMetricSeries *ark_metric_default(ArkMetric *metric);

ARK_API void ark_metric_series_add(ArkMetricSeries *series, gdouble value); /* counter, gauge */
ARK_API void ark_metric_series_set(ArkMetricSeries *series, gdouble value); /* gauge */
ARK_API void ark_metric_series_observe(ArkMetricSeries *series, gdouble value); /* histogram */
ARK_API gdouble ark_metric_series_get(ArkMetricSeries *series); /* value, or sum for histograms */
ARK_API guint64 ark_metric_series_get_count(ArkMetricSeries *series); /* histogram samples */

/* called at the start of every rendering, on the rendering thread, to bring gauges that are
 * cheaper to compute on demand than to keep current up to date; register and remove collectors
 * on the thread that renders (ABI 1.1) */
typedef void (*ArkMetricsCollectFunc)(ArkMetrics *metrics, gpointer user_data);
ARK_API void ark_metrics_add_collector(ArkMetrics *self, ArkMetricsCollectFunc func,
				       gpointer user_data);
ARK_API void ark_metrics_remove_collector(ArkMetrics *self, ArkMetricsCollectFunc func,
					  gpointer user_data);

ARK_API gchar *ark_metrics_render_prometheus(ArkMetrics *self);

G_END_DECLS
