/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

/*
 * Durations are written as one or more <number><unit> groups: "500ms", "2s", "1m30s", "1h", "2d",
 * units us, ms, s, m, h, d; the number may have a fraction ("1.5s"). Results are microseconds.
 * Negative values, empty strings, unknown units and overflow are errors (ARK_ERROR_INVALID_ARGUMENT).
 */
ARK_API gboolean ark_duration_parse(const gchar *str, gint64 *out_usec, GError **error);

/* shortest exact form, e.g. 90000000 -> "1m30s", 1500 -> "1.5ms"; 0 -> "0s" */
ARK_API gchar *ark_duration_format(gint64 usec);

/* sizes: "512", "10KiB", "10MiB", "1GiB", also "10K"/"10M"/"10G" as binary units and "kB"/"MB"/"GB"
 * as decimal ones; results are bytes */
ARK_API gboolean ark_size_parse(const gchar *str, guint64 *out_bytes, GError **error);

G_END_DECLS
