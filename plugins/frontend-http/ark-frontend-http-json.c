/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <arkitect/arkitect.h>

#include "ark-frontend-http-json.h"

/* writer ---------------------------------------------------------------------------------------- */

void
ark_frontend_http_json_init(ArkFrontendHttpJson *w, gsize reserve)
{
	memset(w, 0, sizeof(*w));
	w->out = g_string_sized_new(reserve);
}

GString *
ark_frontend_http_json_steal(ArkFrontendHttpJson *w)
{
	GString *out = w->out;
	w->out = NULL;
	return out;
}

void
ark_frontend_http_json_clear(ArkFrontendHttpJson *w)
{
	if (w->out != NULL)
		g_string_free(w->out, TRUE);
	w->out = NULL;
}

/* the comma before a value or a key, unless the value follows its key */
static void
ark_frontend_http_json_separate(ArkFrontendHttpJson *w)
{
	if (w->after_key) {
		w->after_key = FALSE;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->need_comma[w->depth - 1])
		g_string_append_c(w->out, ',');
	w->need_comma[w->depth - 1] = TRUE;
}

static void
ark_frontend_http_json_push(ArkFrontendHttpJson *w, gchar c)
{
	g_return_if_fail(w->depth < ARK_FRONTEND_HTTP_JSON_MAX_DEPTH);
	ark_frontend_http_json_separate(w);
	g_string_append_c(w->out, c);
	w->need_comma[w->depth++] = FALSE;
}

static void
ark_frontend_http_json_pop(ArkFrontendHttpJson *w, gchar c)
{
	g_return_if_fail(w->depth > 0);
	w->depth--;
	g_string_append_c(w->out, c);
}

void
ark_frontend_http_json_begin_object(ArkFrontendHttpJson *w)
{
	ark_frontend_http_json_push(w, '{');
}

void
ark_frontend_http_json_end_object(ArkFrontendHttpJson *w)
{
	ark_frontend_http_json_pop(w, '}');
}

void
ark_frontend_http_json_begin_array(ArkFrontendHttpJson *w)
{
	ark_frontend_http_json_push(w, '[');
}

void
ark_frontend_http_json_end_array(ArkFrontendHttpJson *w)
{
	ark_frontend_http_json_pop(w, ']');
}

/* @value in decimal, zero-padded to @width digits: printf costs more than the rest of a
 * member (these are on the path of every GET) */
static void
ark_frontend_http_json_digits(GString *out, guint64 value, guint width)
{
	gchar buf[24];
	guint n = 0;

	do {
		buf[sizeof(buf) - 1 - n++] = (gchar)('0' + value % 10);
		value /= 10;
	} while ((value > 0 || n < width) && n < sizeof(buf));
	g_string_append_len(out, buf + sizeof(buf) - n, n);
}

void
ark_frontend_http_json_key(ArkFrontendHttpJson *w, const gchar *key)
{
	ark_frontend_http_json_separate(w);
	/* keys are this plugin's own ASCII names, with nothing to escape */
	g_string_append_c(w->out, '"');
	g_string_append(w->out, key);
	g_string_append_len(w->out, "\":", 2);
	w->after_key = TRUE;
}

void
ark_frontend_http_json_string(ArkFrontendHttpJson *w, const gchar *value)
{
	ark_frontend_http_json_separate(w);
	if (value == NULL)
		g_string_append(w->out, "null");
	else
		ark_json_append_string(w->out, value);
}

void
ark_frontend_http_json_int(ArkFrontendHttpJson *w, gint64 value)
{
	ark_frontend_http_json_separate(w);
	if (value < 0) {
		g_string_append_c(w->out, '-');
		ark_frontend_http_json_digits(w->out, -(guint64)value, 1);
		return;
	}
	ark_frontend_http_json_digits(w->out, (guint64)value, 1);
}

void
ark_frontend_http_json_double(ArkFrontendHttpJson *w, gdouble value)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	ark_frontend_http_json_separate(w);
	if (!isfinite(value)) {
		g_string_append(w->out, "null");
		return;
	}
	g_string_append(w->out, g_ascii_dtostr(buf, sizeof(buf), value));
}

void
ark_frontend_http_json_bool(ArkFrontendHttpJson *w, gboolean value)
{
	ark_frontend_http_json_separate(w);
	g_string_append(w->out, value ? "true" : "false");
}

void
ark_frontend_http_json_null(ArkFrontendHttpJson *w)
{
	ark_frontend_http_json_separate(w);
	g_string_append(w->out, "null");
}

void
ark_frontend_http_json_raw(ArkFrontendHttpJson *w, const gchar *json, gssize len)
{
	ark_frontend_http_json_separate(w);
	g_string_append_len(w->out, json, len);
}

void
ark_frontend_http_json_time(ArkFrontendHttpJson *w, gint64 timestamp)
{
	if (timestamp <= 0) {
		ark_frontend_http_json_null(w);
		return;
	}
	ark_frontend_http_json_separate(w);
	g_string_append_c(w->out, '"');
	ark_timestamp_append(w->out, timestamp);
	g_string_append_c(w->out, '"');
}

/* scanner --------------------------------------------------------------------------------------- */

void
ark_frontend_http_json_scan_clear(ArkFrontendHttpJsonScan *scan)
{
	g_clear_pointer(&scan->message, g_free);
}

typedef enum {
	ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE,
	ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE_OR_END, /* after '[' */
	ARK_FRONTEND_HTTP_JSON_EXPECT_KEY_OR_END,   /* after '{' */
	ARK_FRONTEND_HTTP_JSON_EXPECT_KEY,
	ARK_FRONTEND_HTTP_JSON_EXPECT_COLON,
	ARK_FRONTEND_HTTP_JSON_EXPECT_COMMA_OR_END,
	ARK_FRONTEND_HTTP_JSON_EXPECT_NOTHING,
} ArkFrontendHttpJsonExpect;

static ArkFrontendHttpJsonScanResult
ark_frontend_http_json_scan_fail(ArkFrontendHttpJsonScan *scan, const gchar *data, gsize offset,
				 ArkFrontendHttpJsonScanResult result, gchar *message)
{
	scan->line = 1;
	scan->column = 1;
	for (gsize i = 0; i < offset; i++) {
		if (data[i] == '\n') {
			scan->line++;
			scan->column = 1;
		} else if (((guchar)data[i] & 0xC0) != 0x80) {
			scan->column++;
		}
	}
	g_free(scan->message);
	scan->message = message;
	return result;
}

static gboolean
ark_frontend_http_json_is_hex(guchar c)
{
	return g_ascii_isxdigit(c);
}

/* @p is at the opening quote; returns the position after the closing quote, or NULL with
 * @out_error_at set; @out_is_tasks says whether the string is "tasks" (escapes decoded) */
static const guchar *
ark_frontend_http_json_scan_string(const guchar *p, const guchar *end, const guchar **out_error_at,
				   const gchar **out_message, gboolean *out_is_tasks)
{
	gchar decoded[8];
	guint n_decoded = 0;
	gboolean fits = TRUE;

	p++;
	while (p < end) {
		guchar c = *p;
		gchar plain = 0;

		if (c == '"') {
			*out_is_tasks = fits && n_decoded == 5 && memcmp(decoded, "tasks", 5) == 0;
			return p + 1;
		}
		if (c < 0x20) {
			*out_error_at = p;
			*out_message = "a control character in a string must be escaped";
			return NULL;
		}
		if (c == '\\') {
			if (p + 1 >= end)
				break;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
				plain = (gchar)p[1];
				p += 2;
				break;
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				plain = '\x01'; /* not part of "tasks" */
				p += 2;
				break;
			case 'u': {
				guint cp = 0;
				if (p + 6 > end || !ark_frontend_http_json_is_hex(p[2]) ||
				    !ark_frontend_http_json_is_hex(p[3]) ||
				    !ark_frontend_http_json_is_hex(p[4]) ||
				    !ark_frontend_http_json_is_hex(p[5])) {
					*out_error_at = p;
					*out_message = "\\u must be followed by four hex digits";
					return NULL;
				}
				for (guint i = 2; i < 6; i++)
					cp = cp * 16 + (guint)g_ascii_xdigit_value((gchar)p[i]);
				plain = cp > 0 && cp < 0x80 ? (gchar)cp : '\x01';
				p += 6;
				break;
			}
			default:
				*out_error_at = p;
				*out_message = "invalid escape sequence in a string";
				return NULL;
			}
		} else {
			plain = (gchar)c;
			p++;
		}
		if (n_decoded < sizeof(decoded))
			decoded[n_decoded++] = plain;
		else
			fits = FALSE;
	}
	*out_error_at = end;
	*out_message = "unterminated string";
	return NULL;
}

static const guchar *
ark_frontend_http_json_scan_number(const guchar *p, const guchar *end)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end || !g_ascii_isdigit(*p))
		return NULL;
	if (*p == '0') {
		p++;
	} else {
		while (p < end && g_ascii_isdigit(*p))
			p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !g_ascii_isdigit(*p))
			return NULL;
		while (p < end && g_ascii_isdigit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !g_ascii_isdigit(*p))
			return NULL;
		while (p < end && g_ascii_isdigit(*p))
			p++;
	}
	/* a number runs into the next token only through a delimiter */
	if (p < end && (g_ascii_isalnum(*p) || *p == '.' || *p == '-' || *p == '+'))
		return NULL;
	return p;
}

ArkFrontendHttpJsonScanResult
ark_frontend_http_json_scan(const gchar *data, gsize len, guint max_depth,
			    ArkFrontendHttpJsonScan *out_scan)
{
	const guchar *start = (const guchar *)data;
	const guchar *p = start;
	const guchar *end = start + len;
	const gchar *bad = NULL;
	g_autofree gchar *stack = NULL;
	guint depth = 0;
	guint tasks_depth = 0; /* depth of an open "tasks" array of the root object, 0 if none */
	gint tasks_count = 0;
	gboolean key_is_tasks = FALSE;
	ArkFrontendHttpJsonExpect expect = ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE;

	memset(out_scan, 0, sizeof(*out_scan));
	out_scan->n_tasks = -1;

	if (memchr(data, '\0', len) != NULL) {
		const gchar *nul = memchr(data, '\0', len);
		return ark_frontend_http_json_scan_fail(out_scan, data, (gsize)(nul - data),
							ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
							g_strdup("the document contains a NUL byte"));
	}
	if (!g_utf8_validate_len(data, len, &bad))
		return ark_frontend_http_json_scan_fail(out_scan, data, (gsize)(bad - data),
							ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
							g_strdup("the document is not valid UTF-8"));
	/* the workflow parser ignores a byte order mark too */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		p += 3;

	stack = g_malloc(MAX(max_depth, 1));
	for (;;) {
		guchar c;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p >= end) {
			if (expect == ARK_FRONTEND_HTTP_JSON_EXPECT_NOTHING)
				return ARK_FRONTEND_HTTP_JSON_SCAN_OK;
			return ark_frontend_http_json_scan_fail(
			    out_scan, data, len, ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
			    g_strdup(len == 0 ? "the document is empty"
					      : "unexpected end of the document"));
		}
		c = *p;
		switch (expect) {
		case ARK_FRONTEND_HTTP_JSON_EXPECT_NOTHING:
			return ark_frontend_http_json_scan_fail(
			    out_scan, data, (gsize)(p - start), ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
			    g_strdup("unexpected data after the document"));

		case ARK_FRONTEND_HTTP_JSON_EXPECT_KEY_OR_END:
			if (c == '}')
				goto close_container;
			/* fall through */
		case ARK_FRONTEND_HTTP_JSON_EXPECT_KEY: {
			const gchar *message = NULL;
			const guchar *error_at = NULL;
			gboolean is_tasks = FALSE;
			const guchar *next;

			if (c != '"')
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(p - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
				    g_strdup("expected a member name in double quotes"));
			next = ark_frontend_http_json_scan_string(p, end, &error_at, &message,
								  &is_tasks);
			if (next == NULL)
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(error_at - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX, g_strdup(message));
			if (depth == 1)
				key_is_tasks = is_tasks;
			p = next;
			expect = ARK_FRONTEND_HTTP_JSON_EXPECT_COLON;
			continue;
		}

		case ARK_FRONTEND_HTTP_JSON_EXPECT_COLON:
			if (c != ':')
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(p - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
				    g_strdup("expected ':' after a member name"));
			p++;
			expect = ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE;
			continue;

		case ARK_FRONTEND_HTTP_JSON_EXPECT_COMMA_OR_END:
			if (c == ',') {
				p++;
				expect = stack[depth - 1] == '{' ? ARK_FRONTEND_HTTP_JSON_EXPECT_KEY
								 : ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE;
				continue;
			}
			if ((c == '}' && stack[depth - 1] == '{') ||
			    (c == ']' && stack[depth - 1] == '['))
				goto close_container;
			return ark_frontend_http_json_scan_fail(
			    out_scan, data, (gsize)(p - start), ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
			    g_strdup_printf("expected ',' or '%c'",
					    stack[depth - 1] == '{' ? '}' : ']'));

		case ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE_OR_END:
			if (c == ']')
				goto close_container;
			/* fall through */
		case ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE:
			break;
		}

		/* a value starts at p */
		if (tasks_depth != 0 && depth == tasks_depth)
			tasks_count++;
		if (c == '{' || c == '[') {
			gboolean opens_tasks = c == '[' && depth == 1 && key_is_tasks;

			if (depth >= max_depth)
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(p - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_TOO_DEEP,
				    g_strdup_printf("the document is nested more than %u levels deep",
						    max_depth));
			if (depth == 0 && c == '{')
				out_scan->root_is_object = TRUE;
			if (depth == 1)
				key_is_tasks = FALSE;
			stack[depth++] = (gchar)c;
			out_scan->depth = MAX(out_scan->depth, depth);
			if (opens_tasks) {
				tasks_depth = depth;
				tasks_count = 0;
			}
			p++;
			expect = c == '{' ? ARK_FRONTEND_HTTP_JSON_EXPECT_KEY_OR_END
					  : ARK_FRONTEND_HTTP_JSON_EXPECT_VALUE_OR_END;
			continue;
		}
		if (depth == 1)
			key_is_tasks = FALSE;
		if (c == '"') {
			const gchar *message = NULL;
			const guchar *error_at = NULL;
			gboolean is_tasks = FALSE;
			const guchar *next =
			    ark_frontend_http_json_scan_string(p, end, &error_at, &message, &is_tasks);
			if (next == NULL)
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(error_at - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX, g_strdup(message));
			p = next;
		} else if (c == '-' || g_ascii_isdigit(c)) {
			const guchar *next = ark_frontend_http_json_scan_number(p, end);
			if (next == NULL)
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(p - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX, g_strdup("invalid number"));
			p = next;
		} else {
			static const gchar *const literals[] = {"true", "false", "null"};
			gboolean found = FALSE;
			for (guint i = 0; i < G_N_ELEMENTS(literals) && !found; i++) {
				gsize n = strlen(literals[i]);
				if ((gsize)(end - p) >= n && memcmp(p, literals[i], n) == 0 &&
				    ((gsize)(end - p) == n || !g_ascii_isalnum(p[n]))) {
					p += n;
					found = TRUE;
				}
			}
			if (!found)
				return ark_frontend_http_json_scan_fail(
				    out_scan, data, (gsize)(p - start),
				    ARK_FRONTEND_HTTP_JSON_SCAN_SYNTAX,
				    g_strdup("expected a value (object, array, string, number, "
					     "true, false or null)"));
		}
		expect = depth == 0 ? ARK_FRONTEND_HTTP_JSON_EXPECT_NOTHING
				    : ARK_FRONTEND_HTTP_JSON_EXPECT_COMMA_OR_END;
		continue;

	close_container:
		if (tasks_depth != 0 && depth == tasks_depth) {
			out_scan->n_tasks = MAX(out_scan->n_tasks, tasks_count);
			tasks_depth = 0;
		}
		depth--;
		p++;
		expect = depth == 0 ? ARK_FRONTEND_HTTP_JSON_EXPECT_NOTHING
				    : ARK_FRONTEND_HTTP_JSON_EXPECT_COMMA_OR_END;
	}
}
