/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <errno.h>
#include <math.h>
#include <string.h>

/*
 * A workflow document is read in three passes:
 *
 *  1. a strict scanner over the raw bytes, because json-glib 1.6 accepts comments, trailing data,
 *     hex and leading-zero numbers, single quotes, raw control characters, silently truncates at
 *     "\u0000", wraps huge integers and recurses without limit. The scanner reports the first
 *     syntax error with its exact line and column, bounds the nesting depth before json-glib
 *     recurses, finds duplicate member names and records where each value of interest starts;
 *  2. json-glib builds the tree from the now known-good bytes;
 *  3. the tree is checked member by member, then across tasks (ids, needs, cycles).
 *
 * Problems from all passes are sorted by position at the end, so users read them in document
 * order whatever pass found them.
 */

/* deeper documents are refused before json-glib, whose parser recurses once per level */
#define ARK_WORKFLOW_MAX_DEPTH 64
/* beyond this a document is hostile or generated wrong; more problems would not help anyone */
#define ARK_WORKFLOW_MAX_PROBLEMS 1000
#define ARK_WORKFLOW_MAX_NAME_LEN 128
#define ARK_WORKFLOW_PRIORITY_LIMIT 1000000
/* values at most this deep get a recorded location: the root's members, tasks[i], their members
 * and the elements of those (tasks[3].needs[0], tasks[3].env.HOME) */
#define ARK_WORKFLOW_TRACK_DEPTH 4
/* bounds the memory spent on locations for documents with millions of small values; task starts
 * have their own budget so that every task keeps its location */
#define ARK_WORKFLOW_MAX_LOCATIONS 500000
/* did-you-mean costs O(n_tasks) per unknown need, so only the first ones get a suggestion */
#define ARK_WORKFLOW_MAX_SUGGESTIONS 100

struct _ArkWorkflow {
	gatomicrefcount ref;
	gchar *name;
	gchar *description;
	gchar *policy;
	GPtrArray *tasks;  /* of ArkTaskSpec */
	GHashTable *by_id; /* id → ArkTaskSpec, borrowed from tasks */
	guint *order;
	gchar *definition;
	guint *task_locations;	      /* line, column for each task */
	GHashTable *member_locations; /* top-level member name → packed location */
};

typedef struct {
	guint line;
	guint column;
} ArkWorkflowLocation;

typedef struct {
	GPtrArray *problems;
	guint n_dropped;
	GStringChunk *path_chunk;
	GHashTable *paths;   /* path → index + 1 in locations; keys live in path_chunk */
	GArray *locations;   /* of ArkWorkflowLocation */
	guint n_budget;	     /* locations left for general values */
	guint n_task_budget; /* locations left for elements of the top-level tasks array */
} ArkWorkflowContext;

/* ---- problems ---- */

/**
 * ark_problem_free:
 * @problem: (transfer full) (nullable): a problem
 *
 * Frees a problem.
 *
 * Since: 0.1
 */
void
ark_problem_free(ArkProblem *problem)
{
	if (problem == NULL)
		return;
	g_free(problem->path);
	g_free(problem->message);
	g_free(problem);
}

/**
 * ark_problem_to_string:
 * @problem: a problem
 * @filename: (nullable): the name of the document, or %NULL
 *
 * Formats a problem the way compilers do, "file.json:3:7: tasks[1].needs[0]: message", leaving
 * out the parts that are unknown.
 *
 * Returns: (transfer full): a string to show to a user
 *
 * Since: 0.1
 */
gchar *
ark_problem_to_string(const ArkProblem *problem, const gchar *filename)
{
	GString *str = g_string_new(NULL);

	g_return_val_if_fail(problem != NULL, NULL);

	if (filename != NULL && filename[0] != '\0')
		g_string_append_printf(str, "%s:", filename);
	if (problem->line > 0) {
		g_string_append_printf(str, "%u:", problem->line);
		if (problem->column > 0)
			g_string_append_printf(str, "%u:", problem->column);
	}
	if (str->len > 0)
		g_string_append_c(str, ' ');
	if (problem->path != NULL && problem->path[0] != '\0')
		g_string_append_printf(str, "%s: ", problem->path);
	g_string_append(str, problem->message != NULL ? problem->message : "unknown problem");
	return g_string_free(str, FALSE);
}

static ArkProblem *
ark_workflow_problem_new(const gchar *path, guint line, guint column, gchar *message)
{
	ArkProblem *problem = g_new0(ArkProblem, 1);
	problem->path = g_strdup(path != NULL ? path : "");
	problem->line = line;
	problem->column = column;
	problem->message = message;
	return problem;
}

/* user values end up in messages: keep a 10 MiB string from becoming a 10 MiB message */
static gchar *
ark_workflow_shorten(const gchar *str)
{
	const gsize max_chars = 64;
	const gchar *end;

	if (g_utf8_strlen(str, (gssize)max_chars + 1) <= (glong)max_chars)
		return g_strdup(str);
	end = g_utf8_offset_to_pointer(str, (glong)max_chars);
	return g_strdup_printf("%.*s…", (int)(end - str), str);
}

/* ---- locations ---- */

static gboolean
ark_workflow_context_lookup(ArkWorkflowContext *ctx, const gchar *path, ArkWorkflowLocation *out)
{
	gpointer idx;

	if (ctx->paths == NULL)
		return FALSE;
	idx = g_hash_table_lookup(ctx->paths, path);
	if (idx == NULL)
		return FALSE;
	*out = g_array_index(ctx->locations, ArkWorkflowLocation, GPOINTER_TO_UINT(idx) - 1);
	return TRUE;
}

/* the location of @path, or of the nearest enclosing value that has one */
static ArkWorkflowLocation
ark_workflow_context_locate(ArkWorkflowContext *ctx, const gchar *path)
{
	ArkWorkflowLocation loc = {0, 0};
	g_autofree gchar *copy = g_strdup(path);

	for (;;) {
		gchar *dot;
		gchar *bracket;

		if (ark_workflow_context_lookup(ctx, copy, &loc))
			return loc;
		if (copy[0] == '\0')
			return loc;
		dot = strrchr(copy, '.');
		bracket = strrchr(copy, '[');
		if (dot == NULL && bracket == NULL)
			copy[0] = '\0';
		else if (dot == NULL || (bracket != NULL && bracket > dot))
			*bracket = '\0';
		else
			*dot = '\0';
	}
}

static void
ark_workflow_context_add_at(ArkWorkflowContext *ctx, const gchar *path, guint line, guint column,
			    gchar *message)
{
	if (ctx->problems->len >= ARK_WORKFLOW_MAX_PROBLEMS) {
		ctx->n_dropped++;
		g_free(message);
		return;
	}
	g_ptr_array_add(ctx->problems, ark_workflow_problem_new(path, line, column, message));
}

static void
ark_workflow_context_add(ArkWorkflowContext *ctx, const gchar *path, const gchar *format, ...)
    G_GNUC_PRINTF(3, 4);

static void
ark_workflow_context_add(ArkWorkflowContext *ctx, const gchar *path, const gchar *format, ...)
{
	va_list args;
	gchar *message;
	ArkWorkflowLocation loc = ark_workflow_context_locate(ctx, path);

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	ark_workflow_context_add_at(ctx, path, loc.line, loc.column, message);
}

static void
ark_workflow_context_record(ArkWorkflowContext *ctx, const gchar *path, gsize path_len,
			    guint line, guint column, gboolean task_start)
{
	ArkWorkflowLocation loc = {line, column};
	const gchar *key;

	if (task_start) {
		if (ctx->n_task_budget == 0)
			return;
		ctx->n_task_budget--;
	} else {
		if (ctx->n_budget == 0)
			return;
		ctx->n_budget--;
	}
	key = g_string_chunk_insert_len(ctx->path_chunk, path, (gssize)path_len);
	g_array_append_val(ctx->locations, loc);
	/* a duplicate member keeps the location of its last occurrence, like json-glib its value */
	g_hash_table_replace(ctx->paths, (gpointer)key, GUINT_TO_POINTER(ctx->locations->len));
}

static void
ark_workflow_offset_to_location(const gchar *data, gsize offset, guint *line, guint *column)
{
	*line = 1;
	*column = 1;
	for (gsize i = 0; i < offset; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((guchar)data[i] & 0xC0) != 0x80) {
			(*column)++;
		}
	}
}

/* ---- strict scanner ---- */

typedef struct {
	gboolean is_object;
	guint index;
	gsize path_len;	       /* length of the container's own path */
	gboolean track;	       /* its children get locations and paths */
	gboolean is_tasks;     /* the top-level "tasks" array */
	/* raw member name → line, for duplicates; NULL when untracked */
	GHashTable *member_lines;
} ArkWorkflowFrame;

typedef struct {
	ArkWorkflowContext *ctx;
	const gchar *data;
	gsize len;
	gsize pos;
	guint line;
	guint column;
	ArkWorkflowFrame frames[ARK_WORKFLOW_MAX_DEPTH];
	guint depth;
	GString *path;
} ArkWorkflowScanner;

typedef enum {
	ARK_WORKFLOW_SCAN_VALUE,
	ARK_WORKFLOW_SCAN_MEMBER_VALUE,
	ARK_WORKFLOW_SCAN_FIRST_MEMBER,
	ARK_WORKFLOW_SCAN_MEMBER,
	ARK_WORKFLOW_SCAN_FIRST_ELEMENT,
	ARK_WORKFLOW_SCAN_ELEMENT,
	ARK_WORKFLOW_SCAN_AFTER_VALUE,
} ArkWorkflowScanState;

static void
ark_workflow_scanner_advance(ArkWorkflowScanner *s)
{
	guchar c = (guchar)s->data[s->pos++];
	if (c == '\n') {
		s->line++;
		s->column = 1;
	} else if ((c & 0xC0) != 0x80) {
		s->column++;
	}
}

static gboolean
ark_workflow_scanner_fail(ArkWorkflowScanner *s, guint line, guint column, const gchar *format,
			  ...) G_GNUC_PRINTF(4, 5);

static gboolean
ark_workflow_scanner_fail(ArkWorkflowScanner *s, guint line, guint column, const gchar *format,
			  ...)
{
	va_list args;
	g_autofree gchar *detail = NULL;

	va_start(args, format);
	detail = g_strdup_vprintf(format, args);
	va_end(args);
	ark_workflow_context_add_at(s->ctx, "", line, column,
				    g_strdup_printf("invalid JSON: %s", detail));
	return FALSE;
}

/* names the character at the current position for a message */
static gchar *
ark_workflow_scanner_describe(ArkWorkflowScanner *s)
{
	gunichar c;

	if (s->pos >= s->len)
		return g_strdup("end of the document");
	c = g_utf8_get_char(s->data + s->pos);
	if (c == '\'')
		return g_strdup("character \"'\"");
	if (c > 0x20 && c < 0x7F)
		return g_strdup_printf("character '%c'", (gchar)c);
	return g_strdup_printf("character U+%04X", c);
}

static gboolean
ark_workflow_scanner_unexpected(ArkWorkflowScanner *s, const gchar *expected)
{
	g_autofree gchar *what = NULL;

	if (s->pos < s->len && s->data[s->pos] == '/')
		return ark_workflow_scanner_fail(s, s->line, s->column,
						 "comments are not allowed");
	what = ark_workflow_scanner_describe(s);
	return ark_workflow_scanner_fail(s, s->line, s->column, "unexpected %s, expected %s", what,
					 expected);
}

static void
ark_workflow_scanner_skip_space(ArkWorkflowScanner *s)
{
	while (s->pos < s->len) {
		gchar c = s->data[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ark_workflow_scanner_advance(s);
	}
}

static gint
ark_workflow_scanner_hex4(ArkWorkflowScanner *s)
{
	gint value = 0;

	if (s->len - s->pos < 4)
		return -1;
	for (guint i = 0; i < 4; i++) {
		gint d = g_ascii_xdigit_value(s->data[s->pos + i]);
		if (d < 0)
			return -1;
		value = value * 16 + d;
	}
	for (guint i = 0; i < 4; i++)
		ark_workflow_scanner_advance(s);
	return value;
}

/* at the opening quote; on success @out_start/@out_len give the raw text between the quotes */
static gboolean
ark_workflow_scanner_string(ArkWorkflowScanner *s, gsize *out_start, gsize *out_len)
{
	guint line = s->line;
	guint column = s->column;
	gsize start;

	ark_workflow_scanner_advance(s);
	start = s->pos;
	for (;;) {
		guchar c;

		if (s->pos >= s->len)
			return ark_workflow_scanner_fail(s, line, column, "unterminated string");
		c = (guchar)s->data[s->pos];
		if (c == '"')
			break;
		if (c == '\n')
			return ark_workflow_scanner_fail(s, line, column,
							 "unterminated string (strings can not "
							 "span lines, use \\n)");
		if (c < 0x20)
			return ark_workflow_scanner_fail(s, s->line, s->column,
							 "control character U+%04X in a string "
							 "(write it as \\u%04X)",
							 c, c);
		if (c != '\\') {
			ark_workflow_scanner_advance(s);
			continue;
		}

		{
			guint esc_line = s->line;
			guint esc_column = s->column;
			gint cp;

			ark_workflow_scanner_advance(s);
			if (s->pos >= s->len)
				return ark_workflow_scanner_fail(s, line, column,
								 "unterminated string");
			c = (guchar)s->data[s->pos];
			if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
				ark_workflow_scanner_advance(s);
				continue;
			}
			if (c != 'u') {
				g_autofree gchar *what = ark_workflow_scanner_describe(s);
				return ark_workflow_scanner_fail(
				    s, esc_line, esc_column,
				    "invalid escape sequence (backslash followed by %s)", what);
			}
			ark_workflow_scanner_advance(s);
			cp = ark_workflow_scanner_hex4(s);
			if (cp < 0)
				return ark_workflow_scanner_fail(s, esc_line, esc_column,
								 "\\u must be followed by four hex "
								 "digits");
			if (cp == 0)
				return ark_workflow_scanner_fail(
				    s, esc_line, esc_column, "\\u0000 is not allowed in strings");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return ark_workflow_scanner_fail(s, esc_line, esc_column,
								 "unpaired surrogate \\u%04X", cp);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				gint low = -1;
				if (s->len - s->pos >= 2 && s->data[s->pos] == '\\' &&
				    s->data[s->pos + 1] == 'u') {
					ark_workflow_scanner_advance(s);
					ark_workflow_scanner_advance(s);
					low = ark_workflow_scanner_hex4(s);
				}
				if (low < 0xDC00 || low > 0xDFFF)
					return ark_workflow_scanner_fail(
					    s, esc_line, esc_column, "unpaired surrogate \\u%04X",
					    cp);
			}
		}
	}
	*out_start = start;
	*out_len = s->pos - start;
	ark_workflow_scanner_advance(s);
	return TRUE;
}

static gboolean
ark_workflow_scanner_is_word_char(gchar c)
{
	return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '+' || c == '-';
}

static gboolean
ark_workflow_scanner_number(ArkWorkflowScanner *s)
{
	guint line = s->line;
	guint column = s->column;
	gsize start = s->pos;
	gboolean integral = TRUE;
	g_autofree gchar *text = NULL;

	if (s->data[s->pos] == '-')
		ark_workflow_scanner_advance(s);
	if (s->pos < s->len && s->data[s->pos] == '0') {
		ark_workflow_scanner_advance(s);
	} else if (s->pos < s->len && g_ascii_isdigit(s->data[s->pos])) {
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			ark_workflow_scanner_advance(s);
	} else {
		return ark_workflow_scanner_fail(s, line, column, "invalid number");
	}
	if (s->pos < s->len && s->data[s->pos] == '.') {
		integral = FALSE;
		ark_workflow_scanner_advance(s);
		if (s->pos >= s->len || !g_ascii_isdigit(s->data[s->pos]))
			return ark_workflow_scanner_fail(s, line, column,
							 "invalid number (digits must follow '.')");
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			ark_workflow_scanner_advance(s);
	}
	if (s->pos < s->len && (s->data[s->pos] == 'e' || s->data[s->pos] == 'E')) {
		integral = FALSE;
		ark_workflow_scanner_advance(s);
		if (s->pos < s->len && (s->data[s->pos] == '+' || s->data[s->pos] == '-'))
			ark_workflow_scanner_advance(s);
		if (s->pos >= s->len || !g_ascii_isdigit(s->data[s->pos]))
			return ark_workflow_scanner_fail(s, line, column,
							 "invalid number (missing exponent)");
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			ark_workflow_scanner_advance(s);
	}
	/* "0x10", "01", "1.2.3": json-glib would take these, a strict parser does not */
	if (s->pos < s->len && ark_workflow_scanner_is_word_char(s->data[s->pos])) {
		gsize end = s->pos;
		g_autofree gchar *word = NULL;
		g_autofree gchar *shown = NULL;
		while (end < s->len && ark_workflow_scanner_is_word_char(s->data[end]))
			end++;
		word = g_strndup(s->data + start, end - start);
		shown = ark_workflow_shorten(word);
		return ark_workflow_scanner_fail(s, line, column, "invalid number '%s'", shown);
	}

	text = g_strndup(s->data + start, s->pos - start);
	if (integral) {
		/* json-glib wraps integers that do not fit in 64 bits around silently */
		errno = 0;
		(void)g_ascii_strtoll(text, NULL, 10);
		if (errno == ERANGE) {
			g_autofree gchar *shown = ark_workflow_shorten(text);
			return ark_workflow_scanner_fail(s, line, column,
							 "number %s is out of range (integers must "
							 "fit in 64 bits)",
							 shown);
		}
	} else if (!isfinite(g_ascii_strtod(text, NULL))) {
		g_autofree gchar *shown = ark_workflow_shorten(text);
		return ark_workflow_scanner_fail(s, line, column, "number %s is out of range",
						 shown);
	}
	return TRUE;
}

static gboolean
ark_workflow_scanner_word(ArkWorkflowScanner *s)
{
	guint line = s->line;
	guint column = s->column;
	gsize start = s->pos;
	gsize len;
	g_autofree gchar *word = NULL;
	g_autofree gchar *shown = NULL;

	while (s->pos < s->len && (g_ascii_isalnum(s->data[s->pos]) || s->data[s->pos] == '_'))
		ark_workflow_scanner_advance(s);
	len = s->pos - start;
	if ((len == 4 && memcmp(s->data + start, "true", 4) == 0) ||
	    (len == 5 && memcmp(s->data + start, "false", 5) == 0) ||
	    (len == 4 && memcmp(s->data + start, "null", 4) == 0))
		return TRUE;
	word = g_strndup(s->data + start, len);
	shown = ark_workflow_shorten(word);
	return ark_workflow_scanner_fail(s, line, column,
					 "unexpected word '%s', expected a value (strings need "
					 "double quotes)",
					 shown);
}

/* sets the path of the next element of the array on top of the stack */
static void
ark_workflow_scanner_begin_element(ArkWorkflowScanner *s)
{
	ArkWorkflowFrame *frame = &s->frames[s->depth - 1];

	if (!frame->track)
		return;
	g_string_truncate(s->path, frame->path_len);
	g_string_append_printf(s->path, "[%u]", frame->index);
}

static gboolean
ark_workflow_scanner_push(ArkWorkflowScanner *s, gboolean is_object)
{
	ArkWorkflowFrame *frame;
	/* whether the value being opened had its own path tracked */
	gboolean tracked = s->depth == 0 || s->frames[s->depth - 1].track;

	if (s->depth >= ARK_WORKFLOW_MAX_DEPTH)
		return ark_workflow_scanner_fail(s, s->line, s->column,
						 "the document is nested too deeply (more than "
						 "%d levels)",
						 ARK_WORKFLOW_MAX_DEPTH);
	frame = &s->frames[s->depth++];
	memset(frame, 0, sizeof(*frame));
	frame->is_object = is_object;
	frame->track = tracked && s->depth <= ARK_WORKFLOW_TRACK_DEPTH;
	frame->path_len = s->path->len;
	frame->is_tasks = s->depth == 2 && !is_object && g_strcmp0(s->path->str, "tasks") == 0;
	if (is_object && frame->track)
		frame->member_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ark_workflow_scanner_advance(s);
	return TRUE;
}

static void
ark_workflow_scanner_pop(ArkWorkflowScanner *s)
{
	ArkWorkflowFrame *frame = &s->frames[--s->depth];
	g_clear_pointer(&frame->member_lines, g_hash_table_unref);
	g_string_truncate(s->path, frame->path_len);
}

static gboolean
ark_workflow_scanner_member(ArkWorkflowScanner *s)
{
	ArkWorkflowFrame *frame = &s->frames[s->depth - 1];
	guint line = s->line;
	guint column = s->column;
	gsize start = 0;
	gsize len = 0;

	if (s->pos >= s->len || s->data[s->pos] != '"')
		return ark_workflow_scanner_unexpected(s, "a member name in double quotes");
	if (!ark_workflow_scanner_string(s, &start, &len))
		return FALSE;
	if (frame->track) {
		g_autofree gchar *name = g_strndup(s->data + start, len);
		gpointer first_line = NULL;

		g_string_truncate(s->path, frame->path_len);
		if (frame->path_len > 0)
			g_string_append_c(s->path, '.');
		g_string_append_len(s->path, s->data + start, (gssize)len);

		if (g_hash_table_lookup_extended(frame->member_lines, name, NULL, &first_line)) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			ark_workflow_context_add_at(
			    s->ctx, s->path->str, line, column,
			    g_strdup_printf("duplicate member '%s' (first defined at line %u)",
					    shown, GPOINTER_TO_UINT(first_line)));
		} else if (s->ctx->n_budget > 0) {
			s->ctx->n_budget--;
			g_hash_table_insert(frame->member_lines, g_steal_pointer(&name),
					    GUINT_TO_POINTER(line));
		}
		ark_workflow_context_record(s->ctx, s->path->str, s->path->len, line, column,
					    FALSE);
	}
	ark_workflow_scanner_skip_space(s);
	if (s->pos >= s->len || s->data[s->pos] != ':')
		return ark_workflow_scanner_unexpected(s, "':' after the member name");
	ark_workflow_scanner_advance(s);
	return TRUE;
}

static gboolean
ark_workflow_scanner_value(ArkWorkflowScanner *s, gboolean record)
{
	gchar c = s->data[s->pos];
	gsize start;
	gsize len;

	if (record && (s->depth == 0 || s->frames[s->depth - 1].track)) {
		gboolean task_start = s->depth > 0 && s->frames[s->depth - 1].is_tasks;
		ark_workflow_context_record(s->ctx, s->path->str, s->path->len, s->line, s->column,
					    task_start);
	}
	if (c == '"')
		return ark_workflow_scanner_string(s, &start, &len);
	if (c == '-' || g_ascii_isdigit(c))
		return ark_workflow_scanner_number(s);
	if (g_ascii_isalpha(c))
		return ark_workflow_scanner_word(s);
	return ark_workflow_scanner_unexpected(s, "a value");
}

/* returns FALSE after adding a problem when the bytes are not strict JSON */
static gboolean
ark_workflow_scan(ArkWorkflowContext *ctx, const gchar *data, gsize len)
{
	ArkWorkflowScanner s = {
	    .ctx = ctx,
	    .data = data,
	    .len = len,
	    .line = 1,
	    .column = 1,
	};
	g_autoptr(GString) path = g_string_new(NULL);
	ArkWorkflowScanState state = ARK_WORKFLOW_SCAN_VALUE;
	gboolean ok = TRUE;

	s.path = path;
	ark_workflow_scanner_skip_space(&s);
	if (s.pos >= s.len) {
		ark_workflow_context_add_at(ctx, "", 0, 0, g_strdup("the document is empty"));
		return FALSE;
	}

	while (ok) {
		gchar c;

		ark_workflow_scanner_skip_space(&s);
		if (state == ARK_WORKFLOW_SCAN_AFTER_VALUE && s.depth == 0) {
			if (s.pos < s.len)
				ok = ark_workflow_scanner_unexpected(&s, "the end of the document");
			break;
		}
		if (s.pos >= s.len) {
			ok = ark_workflow_scanner_fail(&s, s.line, s.column,
						       "unexpected end of the document");
			break;
		}
		c = s.data[s.pos];

		switch (state) {
		case ARK_WORKFLOW_SCAN_VALUE:
		case ARK_WORKFLOW_SCAN_MEMBER_VALUE:
			if (c == '{' || c == '[') {
				if (s.depth == 0 || s.frames[s.depth - 1].track) {
					gboolean task_start =
					    s.depth > 0 && s.frames[s.depth - 1].is_tasks;
					if (state == ARK_WORKFLOW_SCAN_VALUE)
						ark_workflow_context_record(ctx, s.path->str,
									    s.path->len, s.line,
									    s.column, task_start);
				}
				ok = ark_workflow_scanner_push(&s, c == '{');
				state = c == '{' ? ARK_WORKFLOW_SCAN_FIRST_MEMBER
						 : ARK_WORKFLOW_SCAN_FIRST_ELEMENT;
				break;
			}
			ok = ark_workflow_scanner_value(&s, state == ARK_WORKFLOW_SCAN_VALUE);
			state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_FIRST_MEMBER:
		case ARK_WORKFLOW_SCAN_MEMBER:
			if (c == '}' && state == ARK_WORKFLOW_SCAN_FIRST_MEMBER) {
				ark_workflow_scanner_advance(&s);
				ark_workflow_scanner_pop(&s);
				state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
				break;
			}
			if (c == '}') {
				ok = ark_workflow_scanner_fail(&s, s.line, s.column,
							       "trailing commas are not allowed");
				break;
			}
			ok = ark_workflow_scanner_member(&s);
			state = ARK_WORKFLOW_SCAN_MEMBER_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_FIRST_ELEMENT:
		case ARK_WORKFLOW_SCAN_ELEMENT:
			if (c == ']' && state == ARK_WORKFLOW_SCAN_FIRST_ELEMENT) {
				ark_workflow_scanner_advance(&s);
				ark_workflow_scanner_pop(&s);
				state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
				break;
			}
			if (c == ']') {
				ok = ark_workflow_scanner_fail(&s, s.line, s.column,
							       "trailing commas are not allowed");
				break;
			}
			ark_workflow_scanner_begin_element(&s);
			state = ARK_WORKFLOW_SCAN_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_AFTER_VALUE: {
			ArkWorkflowFrame *frame = &s.frames[s.depth - 1];
			gchar close = frame->is_object ? '}' : ']';

			if (c == ',') {
				ark_workflow_scanner_advance(&s);
				frame->index++;
				state = frame->is_object ? ARK_WORKFLOW_SCAN_MEMBER
							 : ARK_WORKFLOW_SCAN_ELEMENT;
			} else if (c == close) {
				ark_workflow_scanner_advance(&s);
				ark_workflow_scanner_pop(&s);
			} else {
				ok = ark_workflow_scanner_unexpected(
				    &s, frame->is_object ? "',' or '}'" : "',' or ']'");
			}
			break;
		}
		}
	}

	while (s.depth > 0)
		ark_workflow_scanner_pop(&s);
	return ok;
}

/* ---- did you mean ---- */

static guint
ark_workflow_edit_distance(const gchar *a, const gchar *b, guint max)
{
	gsize la = strlen(a);
	gsize lb = strlen(b);
	g_autofree guint *prev = NULL;
	g_autofree guint *cur = NULL;

	if ((la > lb ? la - lb : lb - la) > max || la > 256 || lb > 256)
		return max + 1;
	prev = g_new(guint, lb + 1);
	cur = g_new(guint, lb + 1);
	for (gsize j = 0; j <= lb; j++)
		prev[j] = (guint)j;
	for (gsize i = 1; i <= la; i++) {
		guint *tmp;
		cur[0] = (guint)i;
		for (gsize j = 1; j <= lb; j++) {
			guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
			cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

/* the closest of @candidates within two edits, first in order on ties, or NULL */
static const gchar *
ark_workflow_suggest(const gchar *word, const gchar *const *candidates, guint n_candidates)
{
	const gchar *best = NULL;
	guint best_distance = 3;

	for (guint i = 0; i < n_candidates; i++) {
		guint d;
		if (candidates[i] == NULL)
			continue;
		d = ark_workflow_edit_distance(word, candidates[i], 2);
		/* a one-letter word is two edits from every two-letter one: not a typo */
		if (d < best_distance && d < strlen(word)) {
			best = candidates[i];
			best_distance = d;
		}
	}
	return best;
}

static gchar *
ark_workflow_did_you_mean(const gchar *suggestion)
{
	if (suggestion == NULL)
		return g_strdup("");
	return g_strdup_printf(" (did you mean '%s'?)", suggestion);
}

/* ---- typed access to nodes ---- */

static const gchar *
ark_workflow_node_kind(JsonNode *node)
{
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT:
		return "an object";
	case JSON_NODE_ARRAY:
		return "an array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_STRING:
		return "a string";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	case G_TYPE_INT64:
		return "an integer";
	case G_TYPE_DOUBLE:
		return "a number";
	default:
		return "a value";
	}
}

static gboolean
ark_workflow_node_is(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

static const gchar *
ark_workflow_expect_string(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node)
{
	if (!ark_workflow_node_is(node, G_TYPE_STRING)) {
		ark_workflow_context_add(ctx, path, "expected a string, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return json_node_get_string(node);
}

static const gchar *
ark_workflow_expect_nonempty(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node)
{
	const gchar *str = ark_workflow_expect_string(ctx, path, node);
	if (str != NULL && str[0] == '\0') {
		ark_workflow_context_add(ctx, path, "must not be empty");
		return NULL;
	}
	return str;
}

static JsonObject *
ark_workflow_expect_object(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node)
{
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		ark_workflow_context_add(ctx, path, "expected an object, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return json_node_get_object(node);
}

static JsonArray *
ark_workflow_expect_array(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node)
{
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		ark_workflow_context_add(ctx, path, "expected an array, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return json_node_get_array(node);
}

static gboolean
ark_workflow_expect_boolean(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    gboolean *out)
{
	if (!ark_workflow_node_is(node, G_TYPE_BOOLEAN)) {
		ark_workflow_context_add(ctx, path, "expected true or false, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	*out = json_node_get_boolean(node);
	return TRUE;
}

static gchar *
ark_workflow_path_member(const gchar *path, const gchar *name)
{
	if (path[0] == '\0')
		return g_strdup(name);
	return g_strdup_printf("%s.%s", path, name);
}

static gchar *
ark_workflow_path_element(const gchar *path, guint index)
{
	return g_strdup_printf("%s[%u]", path, index);
}

static gboolean
ark_workflow_is_id(const gchar *str)
{
	if (!(g_ascii_isalnum(str[0]) || str[0] == '_'))
		return FALSE;
	for (const gchar *p = str + 1; *p != '\0'; p++) {
		if (!(g_ascii_isalnum(*p) || *p == '_' || *p == '.' || *p == '-'))
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_workflow_is_executor_name(const gchar *str)
{
	if (!(g_ascii_islower(str[0]) || g_ascii_isdigit(str[0])))
		return FALSE;
	for (const gchar *p = str + 1; *p != '\0'; p++) {
		if (!(g_ascii_islower(*p) || g_ascii_isdigit(*p) || *p == '_' || *p == '-'))
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_workflow_is_env_name(const gchar *str)
{
	if (!(g_ascii_isalpha(str[0]) || str[0] == '_'))
		return FALSE;
	for (const gchar *p = str + 1; *p != '\0'; p++) {
		if (!(g_ascii_isalnum(*p) || *p == '_'))
			return FALSE;
	}
	return TRUE;
}

/* a duration as a string ("1m30s") or a non-negative number of seconds */
static gboolean
ark_workflow_check_duration_node(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
				 gint64 *out)
{
	if (ark_workflow_node_is(node, G_TYPE_STRING)) {
		const gchar *str = json_node_get_string(node);
		g_autoptr(GError) error = NULL;
		g_autofree gchar *shown = ark_workflow_shorten(str);

		/* no real duration is that long, and the message would quote all of it */
		if (strcmp(shown, str) != 0) {
			ark_workflow_context_add(ctx, path, "invalid duration '%s': too long",
						 shown);
			return FALSE;
		}
		if (!ark_duration_parse(str, out, &error)) {
			ark_workflow_context_add(ctx, path, "%s", error->message);
			return FALSE;
		}
		return TRUE;
	}
	if (ark_workflow_node_is(node, G_TYPE_INT64)) {
		gint64 v = json_node_get_int(node);
		if (v < 0) {
			ark_workflow_context_add(ctx, path,
						 "invalid duration %" G_GINT64_FORMAT
						 ": negative durations are not allowed",
						 v);
			return FALSE;
		}
		if (v > G_MAXINT64 / G_USEC_PER_SEC) {
			ark_workflow_context_add(ctx, path,
						 "invalid duration %" G_GINT64_FORMAT ": too large",
						 v);
			return FALSE;
		}
		*out = v * G_USEC_PER_SEC;
		return TRUE;
	}
	if (ark_workflow_node_is(node, G_TYPE_DOUBLE)) {
		gdouble v = json_node_get_double(node);
		gdouble usec = v * G_USEC_PER_SEC;
		if (v < 0) {
			ark_workflow_context_add(ctx, path,
						 "invalid duration %g: negative durations are not "
						 "allowed",
						 v);
			return FALSE;
		}
		/* 2^63 is exactly representable; anything at or past it does not fit */
		if (!isfinite(usec) || usec >= 9223372036854775808.0) {
			ark_workflow_context_add(ctx, path, "invalid duration %g: too large", v);
			return FALSE;
		}
		*out = (gint64)llround(usec);
		return TRUE;
	}
	ark_workflow_context_add(ctx, path,
				 "expected a duration (a string such as \"1m30s\" or a number of "
				 "seconds), got %s",
				 ark_workflow_node_kind(node));
	return FALSE;
}

/* RFC 3339 is much narrower than what g_date_time_new_from_iso8601() takes (week dates,
 * ordinal dates, hour-only offsets), so the shape is checked first */
static gboolean
ark_workflow_is_rfc3339(const gchar *s)
{
	static const gchar shape[] = "dddd-dd-ddTdd:dd:dd";
	gsize i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' && !g_ascii_isdigit(s[i]))
			return FALSE;
		if (shape[i] == 'T' && s[i] != 'T' && s[i] != 't')
			return FALSE;
		if (shape[i] != 'd' && shape[i] != 'T' && s[i] != shape[i])
			return FALSE;
	}
	s += i;
	if (*s == '.') {
		s++;
		if (!g_ascii_isdigit(*s))
			return FALSE;
		while (g_ascii_isdigit(*s))
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return TRUE;
	return (*s == '+' || *s == '-') && g_ascii_isdigit(s[1]) && g_ascii_isdigit(s[2]) &&
	       s[3] == ':' && g_ascii_isdigit(s[4]) && g_ascii_isdigit(s[5]) && s[6] == '\0';
}

/* ---- members of tasks and defaults ---- */

typedef enum {
	ARK_WORKFLOW_FIELD_ID = 1 << 0,
	ARK_WORKFLOW_FIELD_NEEDS = 1 << 1,
	ARK_WORKFLOW_FIELD_EXECUTOR = 1 << 2,
	ARK_WORKFLOW_FIELD_RUN = 1 << 3,
	ARK_WORKFLOW_FIELD_SHELL = 1 << 4,
	ARK_WORKFLOW_FIELD_CWD = 1 << 5,
	ARK_WORKFLOW_FIELD_ENV = 1 << 6,
	ARK_WORKFLOW_FIELD_FUNCTION = 1 << 7,
	ARK_WORKFLOW_FIELD_ARGS = 1 << 8,
	ARK_WORKFLOW_FIELD_PRIORITY = 1 << 9,
	ARK_WORKFLOW_FIELD_ESTIMATE = 1 << 10,
	ARK_WORKFLOW_FIELD_TIMEOUT = 1 << 11,
	ARK_WORKFLOW_FIELD_DEADLINE = 1 << 12,
	ARK_WORKFLOW_FIELD_ALLOW_FAILURE = 1 << 13,
	ARK_WORKFLOW_FIELD_DESCRIPTION = 1 << 14,
	ARK_WORKFLOW_FIELD_LABELS = 1 << 15,
} ArkWorkflowField;

/* what one task object (or the defaults object) says, before defaults are applied */
typedef struct {
	guint set; /* ArkWorkflowField bits of the members that were present and valid */
	gboolean failed;
	gchar *id;
	GPtrArray *needs;     /* of gchar*, without duplicates */
	GArray *needs_index;  /* guint: position of each need in the document's array */
	gchar *executor;
	GPtrArray *run;	      /* of gchar* */
	gboolean run_is_string;
	gboolean shell;
	gchar *cwd;
	GPtrArray *env;	      /* of "KEY=VALUE" */
	gchar *function;
	JsonNode *args;
	gint priority;
	gint64 estimate;
	gint64 timeout;
	gint64 deadline_relative;
	gint64 deadline_absolute;
	gboolean allow_failure;
} ArkWorkflowFields;

static void
ark_workflow_fields_clear(ArkWorkflowFields *f)
{
	g_free(f->id);
	g_clear_pointer(&f->needs, g_ptr_array_unref);
	g_clear_pointer(&f->needs_index, g_array_unref);
	g_free(f->executor);
	g_clear_pointer(&f->run, g_ptr_array_unref);
	g_free(f->cwd);
	g_clear_pointer(&f->env, g_ptr_array_unref);
	g_free(f->function);
	g_clear_pointer(&f->args, json_node_unref);
	memset(f, 0, sizeof(*f));
}

static void
ark_workflow_fields_free(ArkWorkflowFields *f)
{
	ark_workflow_fields_clear(f);
	g_free(f);
}

typedef gboolean (*ArkWorkflowCheckFunc)(ArkWorkflowContext *ctx, const gchar *path,
					 JsonNode *node, ArkWorkflowFields *f);

static gboolean
ark_workflow_check_id(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
		      ArkWorkflowFields *f)
{
	const gchar *id = ark_workflow_expect_string(ctx, path, node);
	g_autofree gchar *shown = NULL;
	glong n_chars;

	if (id == NULL)
		return FALSE;
	if (id[0] == '\0') {
		ark_workflow_context_add(ctx, path, "task id must not be empty");
		return FALSE;
	}
	shown = ark_workflow_shorten(id);
	n_chars = g_utf8_strlen(id, -1);
	if (n_chars > ARK_WORKFLOW_MAX_ID_LEN) {
		ark_workflow_context_add(ctx, path,
					 "task id '%s' is too long (%ld characters, at most %d)",
					 shown, n_chars, ARK_WORKFLOW_MAX_ID_LEN);
		return FALSE;
	}
	/* ids become file names for logs and artifacts: the pattern also rules out "." and ".." */
	if (!ark_workflow_is_id(id)) {
		ark_workflow_context_add(ctx, path,
					 "invalid task id '%s' (use letters, digits, '_', '.' and "
					 "'-', starting with a letter, digit or '_')",
					 shown);
		return FALSE;
	}
	f->id = g_strdup(id);
	return TRUE;
}

static gboolean
ark_workflow_check_needs(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			 ArkWorkflowFields *f)
{
	JsonArray *array = ark_workflow_expect_array(ctx, path, node);
	g_autoptr(GHashTable) seen = NULL;
	guint n;
	gboolean ok = TRUE;

	if (array == NULL)
		return FALSE;
	n = json_array_get_length(array);
	if (n > ARK_WORKFLOW_MAX_NEEDS) {
		ark_workflow_context_add(ctx, path, "too many needs (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_NEEDS);
		return FALSE;
	}
	seen = g_hash_table_new(g_str_hash, g_str_equal);
	f->needs = g_ptr_array_new_with_free_func(g_free);
	f->needs_index = g_array_new(FALSE, FALSE, sizeof(guint));
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *element = ark_workflow_path_element(path, i);
		const gchar *need =
		    ark_workflow_expect_string(ctx, element, json_array_get_element(array, i));

		if (need == NULL) {
			ok = FALSE;
			continue;
		}
		if (!g_hash_table_add(seen, (gpointer)need)) {
			g_autofree gchar *shown = ark_workflow_shorten(need);
			ark_workflow_context_add(ctx, element, "duplicate need '%s'", shown);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(f->needs, g_strdup(need));
		g_array_append_val(f->needs_index, i);
	}
	return ok;
}

static gboolean
ark_workflow_check_executor(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    ArkWorkflowFields *f)
{
	const gchar *name = ark_workflow_expect_nonempty(ctx, path, node);

	if (name == NULL)
		return FALSE;
	if (!ark_workflow_is_executor_name(name)) {
		g_autofree gchar *shown = ark_workflow_shorten(name);
		ark_workflow_context_add(ctx, path,
					 "invalid executor name '%s' (use lower-case letters, "
					 "digits, '_' and '-')",
					 shown);
		return FALSE;
	}
	f->executor = g_strdup(name);
	return TRUE;
}

static gboolean
ark_workflow_check_run(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
		       ArkWorkflowFields *f)
{
	JsonArray *array;
	guint n;
	gboolean ok = TRUE;

	if (ark_workflow_node_is(node, G_TYPE_STRING)) {
		const gchar *script = json_node_get_string(node);
		if (script[0] == '\0') {
			ark_workflow_context_add(ctx, path, "the script must not be empty");
			return FALSE;
		}
		f->run = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(f->run, g_strdup(script));
		f->run_is_string = TRUE;
		return TRUE;
	}
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		ark_workflow_context_add(ctx, path,
					 "expected an array of arguments (or, with \"shell\": "
					 "true, a string), got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	array = json_node_get_array(node);
	n = json_array_get_length(array);
	if (n == 0) {
		ark_workflow_context_add(ctx, path, "must have at least the program to run");
		return FALSE;
	}
	if (n > ARK_WORKFLOW_MAX_ARGV) {
		ark_workflow_context_add(ctx, path, "too many arguments (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_ARGV);
		return FALSE;
	}
	f->run = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *element = ark_workflow_path_element(path, i);
		const gchar *arg =
		    ark_workflow_expect_string(ctx, element, json_array_get_element(array, i));
		if (arg == NULL) {
			ok = FALSE;
			continue;
		}
		if (i == 0 && arg[0] == '\0') {
			ark_workflow_context_add(ctx, element, "the program must not be empty");
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(f->run, g_strdup(arg));
	}
	if (!ok)
		g_clear_pointer(&f->run, g_ptr_array_unref);
	return ok;
}

static gboolean
ark_workflow_check_shell(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			 ArkWorkflowFields *f)
{
	return ark_workflow_expect_boolean(ctx, path, node, &f->shell);
}

static gboolean
ark_workflow_check_cwd(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
		       ArkWorkflowFields *f)
{
	const gchar *cwd = ark_workflow_expect_nonempty(ctx, path, node);
	if (cwd == NULL)
		return FALSE;
	f->cwd = g_strdup(cwd);
	return TRUE;
}

/* checks an object of string values; collects "KEY=VALUE" into @out when it is not NULL */
static gboolean
ark_workflow_check_string_map(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			      gboolean env_names, GPtrArray *out)
{
	JsonObject *object = ark_workflow_expect_object(ctx, path, node);
	g_autoptr(GList) names = NULL;
	gboolean ok = TRUE;

	if (object == NULL)
		return FALSE;
	names = json_object_get_members(object);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		g_autofree gchar *member = ark_workflow_path_member(path, name);
		const gchar *value;

		if (env_names && !ark_workflow_is_env_name(name)) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			ark_workflow_context_add(ctx, member,
						 "invalid environment variable name '%s' (use "
						 "letters, digits and '_', not starting with a "
						 "digit)",
						 shown);
			ok = FALSE;
			continue;
		}
		if (!env_names && name[0] == '\0') {
			ark_workflow_context_add(ctx, member, "label names must not be empty");
			ok = FALSE;
			continue;
		}
		value = ark_workflow_expect_string(ctx, member,
						   json_object_get_member(object, name));
		if (value == NULL) {
			ok = FALSE;
			continue;
		}
		if (out != NULL)
			g_ptr_array_add(out, g_strdup_printf("%s=%s", name, value));
	}
	return ok;
}

static gboolean
ark_workflow_check_env(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
		       ArkWorkflowFields *f)
{
	g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func(g_free);

	if (!ark_workflow_check_string_map(ctx, path, node, TRUE, env))
		return FALSE;
	f->env = g_steal_pointer(&env);
	return TRUE;
}

static gboolean
ark_workflow_check_function(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    ArkWorkflowFields *f)
{
	const gchar *function = ark_workflow_expect_nonempty(ctx, path, node);
	if (function == NULL)
		return FALSE;
	f->function = g_strdup(function);
	return TRUE;
}

static gboolean
ark_workflow_check_args(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			ArkWorkflowFields *f)
{
	/* null says "no arguments", which ArkTaskSpec spells NULL */
	if (!JSON_NODE_HOLDS_NULL(node))
		f->args = json_node_copy(node);
	return TRUE;
}

static gboolean
ark_workflow_check_priority(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    ArkWorkflowFields *f)
{
	gdouble value;

	if (ark_workflow_node_is(node, G_TYPE_INT64)) {
		value = (gdouble)json_node_get_int(node);
	} else if (ark_workflow_node_is(node, G_TYPE_DOUBLE) &&
		   json_node_get_double(node) == floor(json_node_get_double(node))) {
		/* 5.0 is an integer to JSON Schema too */
		value = json_node_get_double(node);
	} else {
		ark_workflow_context_add(ctx, path, "expected an integer, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	if (value < -ARK_WORKFLOW_PRIORITY_LIMIT || value > ARK_WORKFLOW_PRIORITY_LIMIT) {
		ark_workflow_context_add(ctx, path, "priority %.0f is out of range (%d to %d)",
					 value, -ARK_WORKFLOW_PRIORITY_LIMIT,
					 ARK_WORKFLOW_PRIORITY_LIMIT);
		return FALSE;
	}
	f->priority = (gint)value;
	return TRUE;
}

static gboolean
ark_workflow_check_estimate(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    ArkWorkflowFields *f)
{
	return ark_workflow_check_duration_node(ctx, path, node, &f->estimate);
}

static gboolean
ark_workflow_check_timeout(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			   ArkWorkflowFields *f)
{
	return ark_workflow_check_duration_node(ctx, path, node, &f->timeout);
}

static gboolean
ark_workflow_check_deadline(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			    ArkWorkflowFields *f)
{
	const gchar *str = ark_workflow_expect_string(ctx, path, node);
	g_autofree gchar *shown = NULL;
	g_autoptr(GDateTime) dt = NULL;
	gint64 usec;

	if (str == NULL)
		return FALSE;
	shown = ark_workflow_shorten(str);
	if (strcmp(shown, str) != 0) {
		ark_workflow_context_add(ctx, path, "invalid deadline '%s': too long", shown);
		return FALSE;
	}
	if (str[0] == '+') {
		g_autoptr(GError) error = NULL;
		if (!ark_duration_parse(str + 1, &usec, &error)) {
			ark_workflow_context_add(ctx, path, "invalid deadline '%s': %s", shown,
						 error->message);
			return FALSE;
		}
		/* 0 means "no deadline" in ArkTaskSpec */
		if (usec == 0) {
			ark_workflow_context_add(ctx, path,
						 "invalid deadline '%s': must be after submission",
						 shown);
			return FALSE;
		}
		f->deadline_relative = usec;
		return TRUE;
	}
	if (ark_workflow_is_rfc3339(str)) {
		/* RFC 3339 allows "t" and "z", GLib only "T" and "Z" */
		g_autofree gchar *upper = g_ascii_strup(str, -1);
		dt = g_date_time_new_from_iso8601(upper, NULL);
	}
	if (dt == NULL) {
		ark_workflow_context_add(ctx, path,
					 "invalid deadline '%s': expected \"+<duration>\" or an "
					 "RFC 3339 date and time with offset, such as "
					 "\"2025-06-01T12:00:00Z\"",
					 shown);
		return FALSE;
	}
	usec = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	if (usec <= 0) {
		ark_workflow_context_add(ctx, path, "invalid deadline '%s': before 1970", shown);
		return FALSE;
	}
	f->deadline_absolute = usec;
	return TRUE;
}

static gboolean
ark_workflow_check_allow_failure(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
				 ArkWorkflowFields *f)
{
	return ark_workflow_expect_boolean(ctx, path, node, &f->allow_failure);
}

static gboolean
ark_workflow_check_description(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			       ArkWorkflowFields *f)
{
	return ark_workflow_expect_string(ctx, path, node) != NULL;
}

static gboolean
ark_workflow_check_labels(ArkWorkflowContext *ctx, const gchar *path, JsonNode *node,
			  ArkWorkflowFields *f)
{
	/* labels are for people and front-ends: they stay in the definition only */
	return ark_workflow_check_string_map(ctx, path, node, FALSE, NULL);
}

typedef struct {
	const gchar *name;
	ArkWorkflowField field;
	gboolean in_defaults;
	ArkWorkflowCheckFunc check;
} ArkWorkflowMember;

static const ArkWorkflowMember ark_workflow_task_members[] = {
    {"id", ARK_WORKFLOW_FIELD_ID, FALSE, ark_workflow_check_id},
    {"needs", ARK_WORKFLOW_FIELD_NEEDS, FALSE, ark_workflow_check_needs},
    {"executor", ARK_WORKFLOW_FIELD_EXECUTOR, TRUE, ark_workflow_check_executor},
    {"run", ARK_WORKFLOW_FIELD_RUN, FALSE, ark_workflow_check_run},
    {"shell", ARK_WORKFLOW_FIELD_SHELL, TRUE, ark_workflow_check_shell},
    {"cwd", ARK_WORKFLOW_FIELD_CWD, TRUE, ark_workflow_check_cwd},
    {"env", ARK_WORKFLOW_FIELD_ENV, TRUE, ark_workflow_check_env},
    {"function", ARK_WORKFLOW_FIELD_FUNCTION, FALSE, ark_workflow_check_function},
    {"args", ARK_WORKFLOW_FIELD_ARGS, FALSE, ark_workflow_check_args},
    {"priority", ARK_WORKFLOW_FIELD_PRIORITY, TRUE, ark_workflow_check_priority},
    {"estimate", ARK_WORKFLOW_FIELD_ESTIMATE, FALSE, ark_workflow_check_estimate},
    {"timeout", ARK_WORKFLOW_FIELD_TIMEOUT, TRUE, ark_workflow_check_timeout},
    {"deadline", ARK_WORKFLOW_FIELD_DEADLINE, FALSE, ark_workflow_check_deadline},
    {"allow_failure", ARK_WORKFLOW_FIELD_ALLOW_FAILURE, TRUE, ark_workflow_check_allow_failure},
    {"description", ARK_WORKFLOW_FIELD_DESCRIPTION, FALSE, ark_workflow_check_description},
    {"labels", ARK_WORKFLOW_FIELD_LABELS, FALSE, ark_workflow_check_labels},
};

static gchar *
ark_workflow_suggest_member(const gchar *name, gboolean defaults)
{
	const gchar *candidates[G_N_ELEMENTS(ark_workflow_task_members)];

	for (guint i = 0; i < G_N_ELEMENTS(ark_workflow_task_members); i++) {
		const ArkWorkflowMember *m = &ark_workflow_task_members[i];
		candidates[i] = !defaults || m->in_defaults ? m->name : NULL;
	}
	return ark_workflow_did_you_mean(
	    ark_workflow_suggest(name, candidates, G_N_ELEMENTS(candidates)));
}

/* checks a task object, or the defaults object when @defaults is TRUE */
static void
ark_workflow_check_fields(ArkWorkflowContext *ctx, const gchar *path, JsonObject *object,
			  gboolean defaults, ArkWorkflowFields *f)
{
	g_autoptr(GList) names = json_object_get_members(object);

	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		g_autofree gchar *member = ark_workflow_path_member(path, name);
		const ArkWorkflowMember *m = NULL;

		for (guint i = 0; i < G_N_ELEMENTS(ark_workflow_task_members); i++) {
			if (strcmp(ark_workflow_task_members[i].name, name) == 0) {
				m = &ark_workflow_task_members[i];
				break;
			}
		}
		if (m == NULL) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_suggest_member(name, defaults);
			ark_workflow_context_add(ctx, member, "unknown member '%s'%s", shown, hint);
			f->failed = TRUE;
			continue;
		}
		if (defaults && !m->in_defaults) {
			ark_workflow_context_add(ctx, member,
						 "'%s' can not be set in defaults (only executor, "
						 "timeout, cwd, env, priority, shell and "
						 "allow_failure)",
						 name);
			f->failed = TRUE;
			continue;
		}
		if (m->check(ctx, member, json_object_get_member(object, name), f))
			f->set |= m->field;
		else
			f->failed = TRUE;
	}
}

/* ---- the document ---- */

static void
ark_workflow_task_spec_free(ArkTaskSpec *spec)
{
	g_free(spec->id);
	g_strfreev(spec->needs);
	g_free(spec->executor);
	g_strfreev(spec->run);
	g_free(spec->cwd);
	g_strfreev(spec->env);
	g_free(spec->function);
	g_clear_pointer(&spec->args, json_node_unref);
	g_free(spec);
}

static gchar **
ark_workflow_steal_strv(GPtrArray **array)
{
	if (*array == NULL)
		return g_new0(gchar *, 1);
	g_ptr_array_add(*array, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(array), FALSE);
}

static gchar **
ark_workflow_copy_strv(GPtrArray *array)
{
	gchar **strv = g_new0(gchar *, array != NULL ? array->len + 1 : 1);
	for (guint i = 0; array != NULL && i < array->len; i++)
		strv[i] = g_strdup(g_ptr_array_index(array, i));
	return strv;
}

/* what a task says, with the defaults filled in where it says nothing */
static ArkTaskSpec *
ark_workflow_task_spec_new(ArkWorkflowFields *f, ArkWorkflowFields *d, guint index)
{
	ArkTaskSpec *spec = g_new0(ArkTaskSpec, 1);

	spec->index = index;
	spec->id = g_steal_pointer(&f->id);
	spec->needs = ark_workflow_steal_strv(&f->needs);
	if (f->set & ARK_WORKFLOW_FIELD_EXECUTOR)
		spec->executor = g_steal_pointer(&f->executor);
	else if (d->set & ARK_WORKFLOW_FIELD_EXECUTOR)
		spec->executor = g_strdup(d->executor);
	else
		spec->executor = g_strdup("process");
	if (f->run != NULL)
		spec->run = ark_workflow_steal_strv(&f->run);
	spec->shell = (f->set & ARK_WORKFLOW_FIELD_SHELL) ? f->shell : d->shell;
	if (f->set & ARK_WORKFLOW_FIELD_CWD)
		spec->cwd = g_steal_pointer(&f->cwd);
	else
		spec->cwd = g_strdup(d->cwd);
	if (f->set & ARK_WORKFLOW_FIELD_ENV)
		spec->env = ark_workflow_steal_strv(&f->env);
	else
		spec->env = ark_workflow_copy_strv(d->env);
	spec->function = g_steal_pointer(&f->function);
	spec->args = g_steal_pointer(&f->args);
	spec->priority = (f->set & ARK_WORKFLOW_FIELD_PRIORITY) ? f->priority : d->priority;
	spec->estimate = f->estimate;
	spec->timeout = (f->set & ARK_WORKFLOW_FIELD_TIMEOUT) ? f->timeout : d->timeout;
	spec->deadline_relative = f->deadline_relative;
	spec->deadline_absolute = f->deadline_absolute;
	spec->allow_failure =
	    (f->set & ARK_WORKFLOW_FIELD_ALLOW_FAILURE) ? f->allow_failure : d->allow_failure;
	return spec;
}

/* a binary min-heap of task indices, so that ready tasks leave in document order */
static void
ark_workflow_heap_push(GArray *heap, guint value)
{
	guint i = heap->len;
	guint *v;

	g_array_append_val(heap, value);
	v = (guint *)heap->data;
	while (i > 0 && v[(i - 1) / 2] > v[i]) {
		guint parent = (i - 1) / 2;
		guint tmp = v[parent];
		v[parent] = v[i];
		v[i] = tmp;
		i = parent;
	}
}

static guint
ark_workflow_heap_pop(GArray *heap)
{
	guint *v = (guint *)heap->data;
	guint top = v[0];
	guint n = heap->len - 1;
	guint i = 0;

	v[0] = v[n];
	g_array_set_size(heap, n);
	for (;;) {
		guint l = 2 * i + 1;
		guint r = l + 1;
		guint m = i;
		guint tmp;

		if (l < n && v[l] < v[m])
			m = l;
		if (r < n && v[r] < v[m])
			m = r;
		if (m == i)
			break;
		tmp = v[m];
		v[m] = v[i];
		v[i] = tmp;
		i = m;
	}
	return top;
}

/* the dependency graph in compressed rows: the needs of task i are
 * needs[needs_start[i] .. needs_start[i + 1]) */
typedef struct {
	guint n;
	guint *needs_start;
	guint *needs;
	guint *dependents_start;
	guint *dependents;
} ArkWorkflowGraph;

static void
ark_workflow_graph_clear(ArkWorkflowGraph *g)
{
	g_free(g->needs_start);
	g_free(g->needs);
	g_free(g->dependents_start);
	g_free(g->dependents);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowGraph, ark_workflow_graph_clear)

/* @edges holds (task, need) pairs */
static void
ark_workflow_graph_init(ArkWorkflowGraph *g, guint n, GArray *edges)
{
	guint m = edges->len / 2;
	const guint *e = (const guint *)edges->data;
	g_autofree guint *fill = g_new0(guint, n + 1);

	g->n = n;
	g->needs_start = g_new0(guint, n + 1);
	g->dependents_start = g_new0(guint, n + 1);
	g->needs = g_new(guint, MAX(m, 1));
	g->dependents = g_new(guint, MAX(m, 1));
	for (guint k = 0; k < m; k++) {
		g->needs_start[e[2 * k] + 1]++;
		g->dependents_start[e[2 * k + 1] + 1]++;
	}
	for (guint i = 0; i < n; i++) {
		g->needs_start[i + 1] += g->needs_start[i];
		g->dependents_start[i + 1] += g->dependents_start[i];
	}
	/* edges arrive grouped by task in document order, which keeps every row ordered */
	for (guint k = 0; k < m; k++)
		g->needs[g->needs_start[e[2 * k]] + fill[e[2 * k]]++] = e[2 * k + 1];
	memset(fill, 0, sizeof(guint) * (n + 1));
	for (guint k = 0; k < m; k++)
		g->dependents[g->dependents_start[e[2 * k + 1]] + fill[e[2 * k + 1]]++] = e[2 * k];
}

/* Kahn's algorithm; returns the number of tasks placed, less than n when there are cycles */
static guint
ark_workflow_graph_sort(ArkWorkflowGraph *g, guint *order)
{
	g_autofree guint *missing = g_new(guint, MAX(g->n, 1));
	g_autoptr(GArray) ready = g_array_new(FALSE, FALSE, sizeof(guint));
	guint placed = 0;

	for (guint i = 0; i < g->n; i++) {
		missing[i] = g->needs_start[i + 1] - g->needs_start[i];
		if (missing[i] == 0)
			ark_workflow_heap_push(ready, i);
	}
	while (ready->len > 0) {
		guint i = ark_workflow_heap_pop(ready);
		order[placed++] = i;
		for (guint k = g->dependents_start[i]; k < g->dependents_start[i + 1]; k++) {
			guint j = g->dependents[k];
			if (--missing[j] == 0)
				ark_workflow_heap_push(ready, j);
		}
	}
	return placed;
}

/*
 * Strongly connected components of the tasks Kahn's algorithm could not place (Tarjan's
 * algorithm, iterative: a chain of 100000 tasks would overflow the stack when recursing).
 * Returns component ids per task, G_MAXUINT for placed tasks and for single-task components,
 * which are only downstream of a cycle and not part of one.
 */
static guint *
ark_workflow_graph_components(ArkWorkflowGraph *g, const gboolean *placed)
{
	g_autofree guint *index = g_new(guint, g->n);
	g_autofree guint *low = g_new(guint, g->n);
	g_autofree gboolean *on_stack = g_new0(gboolean, g->n);
	g_autofree guint *edge = g_new0(guint, g->n);
	g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autoptr(GArray) calls = g_array_new(FALSE, FALSE, sizeof(guint));
	guint *component = g_new(guint, g->n);
	guint next_index = 0;
	guint next_component = 0;

	for (guint i = 0; i < g->n; i++) {
		index[i] = G_MAXUINT;
		component[i] = G_MAXUINT;
	}
	for (guint root = 0; root < g->n; root++) {
		if (placed[root] || index[root] != G_MAXUINT)
			continue;
		g_array_append_val(calls, root);
		index[root] = low[root] = next_index++;
		g_array_append_val(stack, root);
		on_stack[root] = TRUE;
		edge[root] = g->needs_start[root];
		while (calls->len > 0) {
			guint v = g_array_index(calls, guint, calls->len - 1);

			if (edge[v] < g->needs_start[v + 1]) {
				guint w = g->needs[edge[v]++];
				if (placed[w])
					continue;
				if (index[w] == G_MAXUINT) {
					index[w] = low[w] = next_index++;
					g_array_append_val(stack, w);
					on_stack[w] = TRUE;
					edge[w] = g->needs_start[w];
					g_array_append_val(calls, w);
				} else if (on_stack[w]) {
					low[v] = MIN(low[v], index[w]);
				}
				continue;
			}
			g_array_set_size(calls, calls->len - 1);
			if (calls->len > 0) {
				guint parent = g_array_index(calls, guint, calls->len - 1);
				low[parent] = MIN(low[parent], low[v]);
			}
			if (low[v] == index[v]) {
				guint size = 0;
				guint w;
				do {
					w = g_array_index(stack, guint, stack->len - 1);
					g_array_set_size(stack, stack->len - 1);
					on_stack[w] = FALSE;
					component[w] = next_component;
					size++;
				} while (w != v);
				if (size == 1)
					component[v] = G_MAXUINT;
				next_component++;
			}
		}
	}
	return component;
}

/* the shortest cycle through @start inside its component, as "a -> b -> a" where each arrow
 * reads "needs" */
static gchar *
ark_workflow_graph_describe_cycle(ArkWorkflowGraph *g, const guint *component, guint start,
				  GPtrArray *fields)
{
	g_autofree guint *via = g_new(guint, g->n);
	g_autoptr(GArray) queue = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autoptr(GArray) path = g_array_new(FALSE, FALSE, sizeof(guint));
	GString *str = g_string_new(NULL);
	guint last = G_MAXUINT;

	for (guint i = 0; i < g->n; i++)
		via[i] = G_MAXUINT;
	via[start] = start;
	g_array_append_val(queue, start);
	for (guint head = 0; head < queue->len && last == G_MAXUINT; head++) {
		guint v = g_array_index(queue, guint, head);
		for (guint k = g->needs_start[v]; k < g->needs_start[v + 1]; k++) {
			guint w = g->needs[k];
			if (component[w] != component[start])
				continue;
			if (w == start) {
				last = v;
				break;
			}
			if (via[w] == G_MAXUINT) {
				via[w] = v;
				g_array_append_val(queue, w);
			}
		}
	}
	for (guint v = last; v != start; v = via[v])
		g_array_prepend_val(path, v);
	g_array_prepend_val(path, start);
	g_array_append_val(path, start);
	for (guint k = 0; k < path->len; k++) {
		ArkWorkflowFields *f = g_ptr_array_index(fields, g_array_index(path, guint, k));
		if (k > 0)
			g_string_append(str, " -> ");
		g_string_append(str, f->id);
	}
	return g_string_free(str, FALSE);
}

typedef struct {
	ArkWorkflowContext *ctx;
	gchar *name;
	gchar *description;
	gchar *policy;
	ArkWorkflowFields defaults;
	GPtrArray *fields; /* of ArkWorkflowFields, one per task; NULL until tasks is seen */
	gboolean tasks_ok;
} ArkWorkflowDraft;

static void
ark_workflow_draft_clear(ArkWorkflowDraft *d)
{
	g_free(d->name);
	g_free(d->description);
	g_free(d->policy);
	ark_workflow_fields_clear(&d->defaults);
	g_clear_pointer(&d->fields, g_ptr_array_unref);
}

static void
ark_workflow_check_tasks(ArkWorkflowDraft *d, JsonNode *node)
{
	ArkWorkflowContext *ctx = d->ctx;
	JsonArray *array = ark_workflow_expect_array(ctx, "tasks", node);
	guint n;

	if (array == NULL)
		return;
	n = json_array_get_length(array);
	if (n == 0) {
		ark_workflow_context_add(ctx, "tasks", "a workflow needs at least one task");
		return;
	}
	if (n > ARK_WORKFLOW_MAX_TASKS) {
		ark_workflow_context_add(ctx, "tasks", "too many tasks (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_TASKS);
		return;
	}
	d->fields = g_ptr_array_new_full(n, (GDestroyNotify)ark_workflow_fields_free);
	d->tasks_ok = TRUE;
	for (guint i = 0; i < n; i++) {
		ArkWorkflowFields *f = g_new0(ArkWorkflowFields, 1);
		g_autofree gchar *path = ark_workflow_path_element("tasks", i);
		JsonObject *object =
		    ark_workflow_expect_object(ctx, path, json_array_get_element(array, i));

		g_ptr_array_add(d->fields, f);
		if (object == NULL) {
			f->failed = TRUE;
			continue;
		}
		ark_workflow_check_fields(ctx, path, object, FALSE, f);
		if (!json_object_has_member(object, "id")) {
			ark_workflow_context_add(ctx, path, "missing required member 'id'");
			f->failed = TRUE;
		}
		if (f->run_is_string && !((f->set & ARK_WORKFLOW_FIELD_SHELL)
					      ? f->shell
					      : d->defaults.shell)) {
			g_autofree gchar *run = ark_workflow_path_member(path, "run");
			ark_workflow_context_add(ctx, run,
						 "a string needs \"shell\": true (without a shell, "
						 "give the program and its arguments as an array)");
			f->failed = TRUE;
		}
	}
}

/* ids, needs and cycles: the checks that look at all tasks at once */
static void
ark_workflow_check_graph(ArkWorkflowDraft *d, guint **out_order)
{
	ArkWorkflowContext *ctx = d->ctx;
	guint n = d->fields->len;
	g_autoptr(GHashTable) by_id = g_hash_table_new(g_str_hash, g_str_equal);
	g_autofree const gchar **ids = g_new0(const gchar *, n);
	g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(guint));
	g_auto(ArkWorkflowGraph) graph = {0};
	g_autofree guint *order = g_new(guint, n);
	g_autofree gboolean *placed = NULL;
	g_autofree guint *component = NULL;
	g_autoptr(GHashTable) reported = NULL;
	guint n_suggestions = 0;
	guint n_placed;

	for (guint i = 0; i < n; i++) {
		ArkWorkflowFields *f = g_ptr_array_index(d->fields, i);
		gpointer first = NULL;

		if (f->id == NULL)
			continue;
		if (g_hash_table_lookup_extended(by_id, f->id, NULL, &first)) {
			guint j = GPOINTER_TO_UINT(first);
			g_autofree gchar *path = g_strdup_printf("tasks[%u].id", i);
			g_autofree gchar *first_path = g_strdup_printf("tasks[%u].id", j);
			ArkWorkflowLocation loc = ark_workflow_context_locate(ctx, first_path);

			if (loc.line > 0)
				ark_workflow_context_add(ctx, path,
							 "duplicate task id '%s' (first defined at "
							 "line %u)",
							 f->id, loc.line);
			else
				ark_workflow_context_add(ctx, path,
							 "duplicate task id '%s' (first defined in "
							 "tasks[%u])",
							 f->id, j);
			continue;
		}
		g_hash_table_insert(by_id, f->id, GUINT_TO_POINTER(i));
		ids[i] = f->id;
	}

	for (guint i = 0; i < n; i++) {
		ArkWorkflowFields *f = g_ptr_array_index(d->fields, i);

		for (guint k = 0; f->needs != NULL && k < f->needs->len; k++) {
			const gchar *need = g_ptr_array_index(f->needs, k);
			g_autofree gchar *path = g_strdup_printf(
			    "tasks[%u].needs[%u]", i, g_array_index(f->needs_index, guint, k));
			gpointer target = NULL;

			if (f->id != NULL && strcmp(need, f->id) == 0) {
				ark_workflow_context_add(ctx, path, "task '%s' needs itself", need);
				continue;
			}
			if (!g_hash_table_lookup_extended(by_id, need, NULL, &target)) {
				g_autofree gchar *shown = ark_workflow_shorten(need);
				g_autofree gchar *hint = NULL;
				if (n_suggestions++ < ARK_WORKFLOW_MAX_SUGGESTIONS)
					hint = ark_workflow_did_you_mean(
					    ark_workflow_suggest(need, ids, n));
				ark_workflow_context_add(ctx, path,
							 "unknown task '%s' in needs%s", shown,
							 hint != NULL ? hint : "");
				continue;
			}
			{
				guint j = GPOINTER_TO_UINT(target);
				g_array_append_val(edges, i);
				g_array_append_val(edges, j);
			}
		}
	}

	ark_workflow_graph_init(&graph, n, edges);
	n_placed = ark_workflow_graph_sort(&graph, order);
	if (n_placed == n) {
		*out_order = g_steal_pointer(&order);
		return;
	}

	placed = g_new0(gboolean, n);
	for (guint k = 0; k < n_placed; k++)
		placed[order[k]] = TRUE;
	component = ark_workflow_graph_components(&graph, placed);
	reported = g_hash_table_new(NULL, NULL);
	/* one cycle per component, from its first task in the document */
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *cycle = NULL;
		g_autofree gchar *path = NULL;

		if (component[i] == G_MAXUINT ||
		    !g_hash_table_add(reported, GUINT_TO_POINTER(component[i] + 1)))
			continue;
		cycle = ark_workflow_graph_describe_cycle(&graph, component, i, d->fields);
		path = ark_workflow_path_element("tasks", i);
		ark_workflow_context_add(ctx, path, "dependency cycle: %s", cycle);
	}
}

static void
ark_workflow_check_root(ArkWorkflowDraft *d, JsonNode *root)
{
	static const gchar *const members[] = {"name", "description", "policy", "defaults",
					       "tasks"};
	ArkWorkflowContext *ctx = d->ctx;
	JsonObject *object;
	JsonNode *defaults;
	g_autoptr(GList) names = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		ark_workflow_context_add(ctx, "", "the document must be a JSON object, got %s",
					 ark_workflow_node_kind(root));
		return;
	}
	object = json_node_get_object(root);

	/* tasks inherit from defaults, so they are read first wherever they appear */
	defaults = json_object_get_member(object, "defaults");
	if (defaults != NULL) {
		JsonObject *defaults_object = ark_workflow_expect_object(ctx, "defaults", defaults);
		if (defaults_object != NULL)
			ark_workflow_check_fields(ctx, "defaults", defaults_object, TRUE,
						  &d->defaults);
	}

	names = json_object_get_members(object);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		JsonNode *node = json_object_get_member(object, name);

		if (strcmp(name, "name") == 0) {
			const gchar *str = ark_workflow_expect_nonempty(ctx, "name", node);
			glong n_chars = str != NULL ? g_utf8_strlen(str, -1) : 0;
			if (n_chars > ARK_WORKFLOW_MAX_NAME_LEN) {
				ark_workflow_context_add(ctx, "name",
							 "too long (%ld characters, at most %d)",
							 n_chars, ARK_WORKFLOW_MAX_NAME_LEN);
			} else if (str != NULL) {
				d->name = g_strdup(str);
			}
		} else if (strcmp(name, "description") == 0) {
			const gchar *str = ark_workflow_expect_string(ctx, "description", node);
			d->description = g_strdup(str);
		} else if (strcmp(name, "policy") == 0) {
			const gchar *str = ark_workflow_expect_nonempty(ctx, "policy", node);
			d->policy = g_strdup(str);
		} else if (strcmp(name, "defaults") == 0) {
			continue;
		} else if (strcmp(name, "tasks") == 0) {
			ark_workflow_check_tasks(d, node);
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_did_you_mean(
			    ark_workflow_suggest(name, members, G_N_ELEMENTS(members)));
			ark_workflow_context_add(ctx, name, "unknown member '%s'%s", shown, hint);
		}
	}
	if (!json_object_has_member(object, "name"))
		ark_workflow_context_add(ctx, "", "missing required member 'name'");
	if (!json_object_has_member(object, "tasks"))
		ark_workflow_context_add(ctx, "", "missing required member 'tasks'");
}

typedef struct {
	ArkProblem *problem;
	guint seq;
} ArkWorkflowSortItem;

static gint
ark_workflow_problem_compare(gconstpointer a, gconstpointer b)
{
	const ArkWorkflowSortItem *x = a;
	const ArkWorkflowSortItem *y = b;
	/* problems without a location concern the whole document and come last */
	guint xl = x->problem->line > 0 ? x->problem->line : G_MAXUINT;
	guint yl = y->problem->line > 0 ? y->problem->line : G_MAXUINT;

	if (xl != yl)
		return xl < yl ? -1 : 1;
	if (x->problem->column != y->problem->column)
		return x->problem->column < y->problem->column ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

static GPtrArray *
ark_workflow_context_finish(ArkWorkflowContext *ctx)
{
	g_autoptr(GArray) items = g_array_sized_new(FALSE, FALSE, sizeof(ArkWorkflowSortItem),
						    ctx->problems->len);
	GPtrArray *sorted = g_ptr_array_new_full(ctx->problems->len + 1,
						 (GDestroyNotify)ark_problem_free);

	for (guint i = 0; i < ctx->problems->len; i++) {
		ArkWorkflowSortItem item = {g_ptr_array_index(ctx->problems, i), i};
		g_array_append_val(items, item);
	}
	g_array_sort(items, ark_workflow_problem_compare);
	for (guint i = 0; i < items->len; i++)
		g_ptr_array_add(sorted, g_array_index(items, ArkWorkflowSortItem, i).problem);
	/* the problems now belong to @sorted */
	g_ptr_array_set_free_func(ctx->problems, NULL);
	g_ptr_array_set_size(ctx->problems, 0);
	if (ctx->n_dropped > 0)
		g_ptr_array_add(sorted,
				ark_workflow_problem_new(
				    "", 0, 0,
				    g_strdup_printf("%u more problems not shown", ctx->n_dropped)));
	return sorted;
}

static void
ark_workflow_context_clear(ArkWorkflowContext *ctx)
{
	g_clear_pointer(&ctx->problems, g_ptr_array_unref);
	g_clear_pointer(&ctx->paths, g_hash_table_unref);
	g_clear_pointer(&ctx->locations, g_array_unref);
	if (ctx->path_chunk != NULL)
		g_string_chunk_free(g_steal_pointer(&ctx->path_chunk));
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowContext, ark_workflow_context_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowDraft, ark_workflow_draft_clear)

/* the raw bytes, before any JSON is read: size, NUL bytes, encoding */
static gboolean
ark_workflow_check_bytes(ArkWorkflowContext *ctx, const gchar *data, gsize len)
{
	const gchar *nul;
	const gchar *end = NULL;
	guint line;
	guint column;

	if (len > ARK_WORKFLOW_MAX_BYTES) {
		ark_workflow_context_add_at(ctx, "", 0, 0,
					    g_strdup_printf("the document is too large (more than "
							    "%d bytes)",
							    ARK_WORKFLOW_MAX_BYTES));
		return FALSE;
	}
	nul = memchr(data, '\0', len);
	if (nul != NULL) {
		ark_workflow_offset_to_location(data, (gsize)(nul - data), &line, &column);
		ark_workflow_context_add_at(ctx, "", line, column,
					    g_strdup("the document contains a NUL byte"));
		return FALSE;
	}
	if (!g_utf8_validate_len(data, len, &end)) {
		ark_workflow_offset_to_location(data, (gsize)(end - data), &line, &column);
		ark_workflow_context_add_at(ctx, "", line, column,
					    g_strdup("the document is not valid UTF-8"));
		return FALSE;
	}
	return TRUE;
}

/* json-glib errors read "<data>:3:7: Parse error: ..."; only reached if the scanner let through
 * something json-glib still refuses */
static void
ark_workflow_add_json_error(ArkWorkflowContext *ctx, const GError *error)
{
	const gchar *msg = error->message;
	guint line = 0;
	guint column = 0;

	if (g_str_has_prefix(msg, "<data>:")) {
		gchar *end = NULL;
		line = (guint)g_ascii_strtoull(msg + 7, &end, 10);
		if (end != NULL && *end == ':') {
			column = (guint)g_ascii_strtoull(end + 1, &end, 10);
			if (end != NULL && *end == ':')
				msg = end + 1;
		}
		while (*msg == ' ')
			msg++;
		if (g_str_has_prefix(msg, "Parse error: "))
			msg += strlen("Parse error: ");
	}
	ark_workflow_context_add_at(ctx, "", line, column,
				    g_strdup_printf("invalid JSON: %s", msg));
}

/**
 * ark_workflow_parse:
 * @data: the document
 * @length: its length, or -1 if NUL-terminated
 * @problems: (out) (transfer full) (optional): every problem found, in document order
 *
 * Parses and validates a workflow document on its own. See docs/workflow-format.md for the
 * format and the problems reported.
 *
 * Returns: (transfer full) (nullable): the workflow, or %NULL when there are problems
 *
 * Since: 0.1
 */
ArkWorkflow *
ark_workflow_parse(const gchar *data, gssize length, GPtrArray **problems)
{
	g_auto(ArkWorkflowContext) ctx = {0};
	g_auto(ArkWorkflowDraft) draft = {0};
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkWorkflow) self = NULL;
	g_autofree guint *order = NULL;
	g_autoptr(GList) members = NULL;
	JsonNode *root;
	gsize len;

	g_return_val_if_fail(data != NULL || length == 0, NULL);

	ctx.problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	ctx.paths = g_hash_table_new(g_str_hash, g_str_equal);
	ctx.locations = g_array_new(FALSE, FALSE, sizeof(ArkWorkflowLocation));
	ctx.path_chunk = g_string_chunk_new(4096);
	ctx.n_budget = ARK_WORKFLOW_MAX_LOCATIONS;
	ctx.n_task_budget = ARK_WORKFLOW_MAX_TASKS;
	draft.ctx = &ctx;

	/* strnlen, so that a huge string is refused without reading all of it */
	len = length >= 0 ? (gsize)length : strnlen(data, ARK_WORKFLOW_MAX_BYTES + 1);
	if (data == NULL)
		data = "";
	/* editors on some systems write a byte order mark, which RFC 8259 lets parsers ignore */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}

	if (ark_workflow_check_bytes(&ctx, data, len) && ark_workflow_scan(&ctx, data, len)) {
		parser = json_parser_new();
		if (!json_parser_load_from_data(parser, data, (gssize)len, &error))
			ark_workflow_add_json_error(&ctx, error);
	}
	root = parser != NULL ? json_parser_get_root(parser) : NULL;
	if (root != NULL) {
		ark_workflow_check_root(&draft, root);
		if (draft.tasks_ok)
			ark_workflow_check_graph(&draft, &order);
	}

	if (ctx.problems->len > 0 || root == NULL || draft.fields == NULL) {
		if (ctx.problems->len == 0)
			ark_workflow_context_add_at(&ctx, "", 0, 0,
						    g_strdup("the document has no workflow"));
		if (problems != NULL)
			*problems = ark_workflow_context_finish(&ctx);
		return NULL;
	}

	self = g_new0(ArkWorkflow, 1);
	g_atomic_ref_count_init(&self->ref);
	self->name = g_steal_pointer(&draft.name);
	self->description = g_steal_pointer(&draft.description);
	self->policy = g_steal_pointer(&draft.policy);
	self->tasks = g_ptr_array_new_full(draft.fields->len,
					   (GDestroyNotify)ark_workflow_task_spec_free);
	self->by_id = g_hash_table_new(g_str_hash, g_str_equal);
	self->task_locations = g_new0(guint, 2 * draft.fields->len);
	for (guint i = 0; i < draft.fields->len; i++) {
		ArkTaskSpec *spec = ark_workflow_task_spec_new(
		    g_ptr_array_index(draft.fields, i), &draft.defaults, i);
		g_autofree gchar *path = ark_workflow_path_element("tasks", i);
		ArkWorkflowLocation loc = {0, 0};

		g_ptr_array_add(self->tasks, spec);
		g_hash_table_insert(self->by_id, spec->id, spec);
		if (ark_workflow_context_lookup(&ctx, path, &loc)) {
			self->task_locations[2 * i] = loc.line;
			self->task_locations[2 * i + 1] = loc.column;
		}
	}
	self->member_locations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	members = json_object_get_members(json_node_get_object(root));
	for (GList *l = members; l != NULL; l = l->next) {
		ArkWorkflowLocation loc = {0, 0};
		if (ark_workflow_context_lookup(&ctx, l->data, &loc))
			g_hash_table_insert(self->member_locations, g_strdup(l->data),
					    g_memdup2(&loc, sizeof(loc)));
	}
	self->order = g_steal_pointer(&order);
	self->definition = json_to_string(root, FALSE);

	if (problems != NULL)
		*problems = ark_workflow_context_finish(&ctx);
	return g_steal_pointer(&self);
}

/**
 * ark_workflow_ref:
 * @self: a workflow
 *
 * Returns: (transfer full): @self
 *
 * Since: 0.1
 */
ArkWorkflow *
ark_workflow_ref(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_atomic_ref_count_inc(&self->ref);
	return self;
}

/**
 * ark_workflow_unref:
 * @self: (transfer full): a workflow
 *
 * Drops a reference; the task specs go with the last one.
 *
 * Since: 0.1
 */
void
ark_workflow_unref(ArkWorkflow *self)
{
	g_return_if_fail(self != NULL);
	if (!g_atomic_ref_count_dec(&self->ref))
		return;
	g_free(self->name);
	g_free(self->description);
	g_free(self->policy);
	g_hash_table_unref(self->by_id);
	g_ptr_array_unref(self->tasks);
	g_free(self->order);
	g_free(self->definition);
	g_free(self->task_locations);
	g_hash_table_unref(self->member_locations);
	g_free(self);
}

/**
 * ark_workflow_get_name:
 * @self: a workflow
 *
 * Returns: the workflow's name
 *
 * Since: 0.1
 */
const gchar *
ark_workflow_get_name(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->name;
}

/**
 * ark_workflow_get_policy:
 * @self: a workflow
 *
 * Returns: (nullable): the scheduling policy the workflow asks for, or %NULL
 *
 * Since: 0.1
 */
const gchar *
ark_workflow_get_policy(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->policy;
}

/**
 * ark_workflow_get_n_tasks:
 * @self: a workflow
 *
 * Returns: the number of tasks, at least one
 *
 * Since: 0.1
 */
guint
ark_workflow_get_n_tasks(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->tasks->len;
}

/**
 * ark_workflow_get_task:
 * @self: a workflow
 * @index: a position in the task list
 *
 * Returns: (transfer none): the task, owned by @self
 *
 * Since: 0.1
 */
const ArkTaskSpec *
ark_workflow_get_task(ArkWorkflow *self, guint index)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(index < self->tasks->len, NULL);
	return g_ptr_array_index(self->tasks, index);
}

/**
 * ark_workflow_lookup_task:
 * @self: a workflow
 * @id: a task id
 *
 * Returns: (transfer none) (nullable): the task with that id, or %NULL
 *
 * Since: 0.1
 */
const ArkTaskSpec *
ark_workflow_lookup_task(ArkWorkflow *self, const gchar *id)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(id != NULL, NULL);
	return g_hash_table_lookup(self->by_id, id);
}

/**
 * ark_workflow_get_topological_order:
 * @self: a workflow
 *
 * Gives the task indices with every task after the tasks it needs; among tasks that could go
 * next, the one first in the document goes first, so the order is stable.
 *
 * Returns: (array) (transfer none): n_tasks indices
 *
 * Since: 0.1
 */
const guint *
ark_workflow_get_topological_order(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->order;
}

/**
 * ark_workflow_get_definition:
 * @self: a workflow
 *
 * Returns: the document as compact JSON, without the original's layout
 *
 * Since: 0.1
 */
const gchar *
ark_workflow_get_definition(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->definition;
}

/**
 * ark_workflow_get_task_location:
 * @self: a workflow
 * @index: a position in the task list
 * @out_line: (out) (optional): the 1-based line, or 0
 * @out_column: (out) (optional): the 1-based column, or 0
 *
 * Tells where tasks[@index] starts in the document @self was parsed from.
 *
 * Since: 0.1
 */
void
ark_workflow_get_task_location(ArkWorkflow *self, guint index, guint *out_line,
			       guint *out_column)
{
	g_return_if_fail(self != NULL);
	g_return_if_fail(index < self->tasks->len);
	if (out_line != NULL)
		*out_line = self->task_locations[2 * index];
	if (out_column != NULL)
		*out_column = self->task_locations[2 * index + 1];
}

/**
 * ark_workflow_add_problem:
 * @self: a workflow
 * @problems: the array to append to
 * @index: the task the problem is about, or %G_MAXUINT for the document
 * @member: (nullable): the member the problem is about ("executor"), or %NULL
 * @format: printf-style format of the message
 * @...: arguments for @format
 *
 * Lets checks that need the loaded plugins report problems the same way the parser does.
 *
 * Since: 0.1
 */
void
ark_workflow_add_problem(ArkWorkflow *self, GPtrArray *problems, guint index,
			 const gchar *member, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *path = NULL;
	gchar *message;
	guint line = 0;
	guint column = 0;

	g_return_if_fail(self != NULL);
	g_return_if_fail(problems != NULL);
	g_return_if_fail(index == G_MAXUINT || index < self->tasks->len);
	g_return_if_fail(format != NULL);

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);

	if (index == G_MAXUINT) {
		const ArkWorkflowLocation *loc =
		    member != NULL ? g_hash_table_lookup(self->member_locations, member) : NULL;
		path = g_strdup(member != NULL ? member : "");
		if (loc != NULL) {
			line = loc->line;
			column = loc->column;
		}
	} else {
		path = g_strdup_printf("tasks[%u]%s%s", index, member != NULL ? "." : "",
				       member != NULL ? member : "");
		line = self->task_locations[2 * index];
		column = self->task_locations[2 * index + 1];
	}
	g_ptr_array_add(problems, ark_workflow_problem_new(path, line, column, message));
}
