/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <math.h>
#include <string.h>

/*
 * A strict check of JSON text (RFC 8259) that neither builds a tree nor recurses. json-glib 1.6
 * accepts an empty document, comments, single quotes, hex and leading-zero numbers, a second
 * value after the first, and recurses once per level of nesting: text from executors and agents
 * is checked here before json-glib ever sees it, so that what is stored is JSON any reader
 * takes and a hostile nesting can not exhaust the stack of whoever parses it later.
 */

typedef struct {
	const gchar *text;
	gsize pos;
	gsize len;
	GError **error;
} ArkJsonScan;

static gboolean ark_json_scan_fail(ArkJsonScan *s, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
ark_json_scan_fail(ArkJsonScan *s, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(s->error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "%s at byte %" G_GSIZE_FORMAT,
		    what, s->pos + 1);
	return FALSE;
}

static void
ark_json_scan_space(ArkJsonScan *s)
{
	while (s->pos < s->len) {
		gchar c = s->text[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		s->pos++;
	}
}

static gboolean
ark_json_scan_string(ArkJsonScan *s)
{
	/* at the opening quote; UTF-8 was checked for the whole text */
	for (s->pos++; s->pos < s->len; s->pos++) {
		guchar c = (guchar)s->text[s->pos];
		if (c == '"') {
			s->pos++;
			return TRUE;
		}
		if (c < 0x20)
			return ark_json_scan_fail(s, "a control character in a string");
		if (c != '\\')
			continue;
		if (++s->pos >= s->len)
			break;
		c = (guchar)s->text[s->pos];
		if (c == 'u') {
			for (guint i = 0; i < 4; i++) {
				if (++s->pos >= s->len || !g_ascii_isxdigit(s->text[s->pos]))
					return ark_json_scan_fail(s, "an invalid \\u escape");
			}
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
			return ark_json_scan_fail(s, "an invalid escape");
		}
	}
	return ark_json_scan_fail(s, "an unterminated string");
}

static gboolean
ark_json_scan_digits(ArkJsonScan *s)
{
	gsize start = s->pos;
	while (s->pos < s->len && g_ascii_isdigit(s->text[s->pos]))
		s->pos++;
	return s->pos > start;
}

static gboolean
ark_json_scan_number(ArkJsonScan *s)
{
	gsize start = s->pos;
	g_autofree gchar *copy = NULL;

	if (s->text[s->pos] == '-')
		s->pos++;
	if (s->pos < s->len && s->text[s->pos] == '0') {
		s->pos++;
		if (s->pos < s->len && g_ascii_isdigit(s->text[s->pos]))
			return ark_json_scan_fail(s, "a number with a leading zero");
	} else if (!ark_json_scan_digits(s)) {
		return ark_json_scan_fail(s, "an invalid number");
	}
	if (s->pos < s->len && s->text[s->pos] == '.') {
		s->pos++;
		if (!ark_json_scan_digits(s))
			return ark_json_scan_fail(s, "an invalid number");
	}
	if (s->pos < s->len && (s->text[s->pos] == 'e' || s->text[s->pos] == 'E')) {
		s->pos++;
		if (s->pos < s->len && (s->text[s->pos] == '+' || s->text[s->pos] == '-'))
			s->pos++;
		if (!ark_json_scan_digits(s))
			return ark_json_scan_fail(s, "an invalid number");
	}
	/* 1e999 is JSON, but every reader here turns it into infinity, which is not */
	copy = g_strndup(s->text + start, s->pos - start);
	if (!isfinite(g_ascii_strtod(copy, NULL))) {
		s->pos = start;
		return ark_json_scan_fail(s, "a number out of range");
	}
	return TRUE;
}

static gboolean
ark_json_scan_word(ArkJsonScan *s)
{
	static const gchar *const words[] = {"true", "false", "null"};

	for (guint i = 0; i < G_N_ELEMENTS(words); i++) {
		gsize n = strlen(words[i]);
		if (s->len - s->pos >= n && memcmp(s->text + s->pos, words[i], n) == 0) {
			s->pos += n;
			return TRUE;
		}
	}
	return ark_json_scan_fail(s, "expected a value");
}

/**
 * ark_json_validate:
 * @text: the text to check
 * @length: its length in bytes, or -1 when it is nul-terminated
 * @max_depth: how deeply arrays and objects may nest (1 allows `[1]` but not `[[1]]`)
 * @error: return location for an error
 *
 * Checks that @text is exactly one JSON value (RFC 8259) in UTF-8 without nul bytes, with
 * whitespace around it at most, nested at most @max_depth deep, and without numbers beyond the
 * range of a double. Iterative: any input is safe. Fails with ARK_ERROR_INVALID_ARGUMENT saying
 * what is wrong and at which byte ("expected ',' or ']' at byte 7").
 *
 * Returns: TRUE when @text is such a value
 *
 * Since: 1.3
 */
gboolean
ark_json_validate(const gchar *text, gssize length, guint max_depth, GError **error)
{
	ArkJsonScan s = {.text = text, .error = error};
	g_autofree gchar *stack = NULL; /* '{' or '[' of each open container */
	guint depth = 0;
	const gchar *bad = NULL;

	g_return_val_if_fail(text != NULL || length == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	s.len = length < 0 ? strlen(text) : (gsize)length;
	if (!g_utf8_validate_len(text, s.len, &bad)) {
		s.pos = (gsize)(bad - text);
		return ark_json_scan_fail(&s, *bad == '\0' ? "a nul byte" : "invalid UTF-8");
	}
	stack = g_malloc(MAX(max_depth, 1));

	for (gboolean in_object = FALSE;;) {
		gchar c;

		if (in_object) {
			/* a member name and its colon, before its value */
			ark_json_scan_space(&s);
			if (s.pos >= s.len || s.text[s.pos] != '"')
				return ark_json_scan_fail(&s, "expected a member name");
			if (!ark_json_scan_string(&s))
				return FALSE;
			ark_json_scan_space(&s);
			if (s.pos >= s.len || s.text[s.pos] != ':')
				return ark_json_scan_fail(&s, "expected ':'");
			s.pos++;
		}

		ark_json_scan_space(&s);
		if (s.pos >= s.len)
			return ark_json_scan_fail(&s, "expected a value");
		c = s.text[s.pos];
		if (c == '{' || c == '[') {
			if (depth >= max_depth)
				return ark_json_scan_fail(&s, "nested deeper than %u levels",
							  max_depth);
			s.pos++;
			ark_json_scan_space(&s);
			if (s.pos >= s.len || s.text[s.pos] != (c == '{' ? '}' : ']')) {
				stack[depth++] = c;
				in_object = c == '{';
				continue;
			}
			s.pos++; /* empty */
		} else if (c == '"') {
			if (!ark_json_scan_string(&s))
				return FALSE;
		} else if (c == '-' || g_ascii_isdigit(c)) {
			if (!ark_json_scan_number(&s))
				return FALSE;
		} else if (!ark_json_scan_word(&s)) {
			return FALSE;
		}

		/* after a value: the ends of its containers, then the next element or member */
		for (;;) {
			gchar close;

			ark_json_scan_space(&s);
			if (depth == 0) {
				if (s.pos < s.len)
					return ark_json_scan_fail(&s, "more data after the value");
				return TRUE;
			}
			close = stack[depth - 1] == '{' ? '}' : ']';
			if (s.pos < s.len && s.text[s.pos] == close) {
				s.pos++;
				depth--;
				continue;
			}
			if (s.pos >= s.len || s.text[s.pos] != ',')
				return ark_json_scan_fail(&s, "expected ',' or '%c'", close);
			s.pos++;
			break;
		}
		in_object = stack[depth - 1] == '{';
	}
}
