/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A small JSON writer for responses: one GString, commas tracked per nesting level. Faster than a
 * JsonBuilder tree plus a JsonGenerator for the objects every request returns, and it never
 * writes a non-finite number.
 */
#define ARK_FRONTEND_HTTP_JSON_MAX_DEPTH 16

typedef struct {
	GString *out;
	guint depth;
	gboolean need_comma[ARK_FRONTEND_HTTP_JSON_MAX_DEPTH];
	gboolean after_key;
} ArkFrontendHttpJson;

void ark_frontend_http_json_init(ArkFrontendHttpJson *w, gsize reserve);
/* (transfer full) the text written; @w is empty afterwards */
GString *ark_frontend_http_json_steal(ArkFrontendHttpJson *w);
void ark_frontend_http_json_clear(ArkFrontendHttpJson *w);
void ark_frontend_http_json_begin_object(ArkFrontendHttpJson *w);
void ark_frontend_http_json_end_object(ArkFrontendHttpJson *w);
void ark_frontend_http_json_begin_array(ArkFrontendHttpJson *w);
void ark_frontend_http_json_end_array(ArkFrontendHttpJson *w);
/* @key is written as it is: a name of this plugin's own, plain ASCII with nothing to escape */
void ark_frontend_http_json_key(ArkFrontendHttpJson *w, const gchar *key);
/* a string, or null for NULL */
void ark_frontend_http_json_string(ArkFrontendHttpJson *w, const gchar *value);
void ark_frontend_http_json_int(ArkFrontendHttpJson *w, gint64 value);
void ark_frontend_http_json_double(ArkFrontendHttpJson *w, gdouble value);
void ark_frontend_http_json_bool(ArkFrontendHttpJson *w, gboolean value);
void ark_frontend_http_json_null(ArkFrontendHttpJson *w);
/* already serialised JSON, written as one value */
void ark_frontend_http_json_raw(ArkFrontendHttpJson *w, const gchar *json, gssize len);
/* RFC 3339 with microseconds, or null for 0 */
void ark_frontend_http_json_time(ArkFrontendHttpJson *w, gint64 timestamp);

typedef enum {
	ARK_FRONTEND_HTTP_JSON_SCAN_OK,
	ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX, /* not RFC 8259 JSON */
	ARK_FRONTEND_HTTP_JSON_SCAN_TOO_DEEP,
} ArkFrontendHttpJsonScanResult;

typedef struct {
	guint line; /* 1-based, where the scan stopped on an error */
	guint column; /* 1-based, in characters */
	gchar *message; /* on an error (transfer full) */
	guint depth;	/* deepest nesting seen */
	gint n_tasks;	/* elements of the root object's "tasks" array, -1 when there is none */
	gboolean root_is_object;
} ArkFrontendHttpJsonScan;

void ark_frontend_http_json_scan_clear(ArkFrontendHttpJsonScan *scan);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkFrontendHttpJsonScan, ark_frontend_http_json_scan_clear)

/*
 * Checks @data strictly against RFC 8259 in one pass without building anything: json-glib 1.6
 * accepts comments, trailing data and more, and recurses without a limit. Nesting deeper than
 * @max_depth stops the scan before json-glib or the workflow parser sees the document. It also
 * counts the tasks of a workflow document, so that a document with too many is refused before
 * it is parsed.
 */
ArkFrontendHttpJsonScanResult ark_frontend_http_json_scan(const gchar *data, gsize len,
							  guint max_depth,
							  ArkFrontendHttpJsonScan *out_scan);

G_END_DECLS
