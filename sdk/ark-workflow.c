/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "ark-json-schema-private.h"

/*
 * A workflow document is read in three passes:
 *
 *  1. a strict scanner over the raw bytes, because json-glib 1.6 accepts comments, trailing data,
 *     hex and leading-zero numbers, single quotes, raw control characters, silently truncates at
 *     "\u0000", wraps huge integers and recurses without limit. The scanner reports the first
 *     syntax error with its exact line and column, bounds the nesting depth, finds duplicate
 *     member names and notes where each task starts and ends;
 *  2. a tree of the document with the tasks left out, then one small tree per task, which is
 *     checked, turned into its compact ArkTaskSpec and dropped before the next one is read. The
 *     trees are built from the bytes the scanner accepted, the way json-glib would build them
 *     (a member given twice keeps its first place and its last value), in blocks reused from
 *     task to task. Building json-glib trees, an allocation per value, took most of the time a
 *     100,000-task document needed to be read, and crash recovery waits for that. Only the
 *     arguments of a task become json-glib nodes, since ArkTaskSpec holds them so;
 *  3. the checks across tasks (ids, needs, cycles).
 *
 * Problems from all passes are sorted by position at the end, so users read them in document
 * order whatever pass found them. Only problems need positions, so they are looked up by a
 * second scan that runs only when there are problems, rather than recorded for every value.
 */

/* deeper documents are refused: arguments become json-glib nodes, which are built and written
 * out again by recursing once per level */
#define ARK_WORKFLOW_MAX_DEPTH 64
/* beyond this a document is hostile or generated wrong; more problems would not help anyone */
#define ARK_WORKFLOW_MAX_PROBLEMS 1000
#define ARK_WORKFLOW_MAX_NAME_LEN 128
#define ARK_WORKFLOW_PRIORITY_LIMIT 1000000
#define ARK_WORKFLOW_MAX_MULTIPLIER 100
/* values at most this deep have a path, and so a position of their own: the root's members,
 * tasks[i], their members, the elements of those (tasks[3].needs[0], tasks[3].retry.on) and
 * theirs (tasks[3].retry.on[1]) */
#define ARK_WORKFLOW_TRACK_DEPTH 5
/* bounds the memory spent on finding duplicate member names in objects with millions of
 * members */
#define ARK_WORKFLOW_MAX_MEMBER_NAMES 500000
/* did-you-mean costs O(n_tasks) per unknown need, so only the first ones get a suggestion */
#define ARK_WORKFLOW_MAX_SUGGESTIONS 100

typedef struct {
	guint line;
	guint column;
} ArkWorkflowLocation;

/* the top-level members, in the order the definition writes them */
typedef enum {
	ARK_WORKFLOW_ROOT_NAME,
	ARK_WORKFLOW_ROOT_DESCRIPTION,
	ARK_WORKFLOW_ROOT_POLICY,
	ARK_WORKFLOW_ROOT_ON_FAILURE,
	ARK_WORKFLOW_ROOT_TIMEOUT,
	ARK_WORKFLOW_ROOT_DEFAULTS,
	ARK_WORKFLOW_ROOT_TASKS,
	ARK_WORKFLOW_N_ROOT_MEMBERS,
} ArkWorkflowRootMember;

static const gchar *const ark_workflow_root_members[] = {
    "name", "description", "policy", "on_failure", "timeout", "defaults", "tasks",
};

G_STATIC_ASSERT(G_N_ELEMENTS(ark_workflow_root_members) == ARK_WORKFLOW_N_ROOT_MEMBERS);

/* what defaults says, for the tasks that do not say it themselves and for the definition;
 * strings and arrays point into the workflow's blocks */
typedef struct {
	guint32 set; /* ArkWorkflowField bits */
	gchar *executor;
	gboolean shell;
	gchar *cwd;
	gchar **env;
	gint priority;
	gint64 timeout;
	gboolean allow_failure;
	ArkRetryPolicy retry;
	gint64 queue_timeout;
	/* "agent" in defaults: only lease and max_handoffs (ARK_WORKFLOW_AGENT_* bits) */
	guint32 agent_set;
	gint64 agent_lease;
	guint agent_max_handoffs;
} ArkWorkflowDefaults;

/* what a task has that only the definition needs; few tasks have any */
typedef struct {
	const gchar *description;
	const gchar *labels; /* the labels object as compact JSON */
	const gchar *simulate; /* the simulate object as compact JSON, or NULL */
	ArkTaskSimulation simulation; /* what @simulate says, when it is set */
} ArkWorkflowExtra;

/* ids → task index + 1 by open addressing, 0 for an empty slot: 4 to 8 bytes a task where a
 * GHashTable takes some 40 */
typedef struct {
	guint *slots;
	guint mask;
} ArkWorkflowIndex;

/*
 * A parsed workflow keeps only what the specs point to, in a few blocks: the specs themselves,
 * every string once (interned) in a GStringChunk, every NULL-terminated array (needs, run, env)
 * in one pointer block and every exit code list in one gint block. A need points at the id of
 * the task it names, and tasks without env of their own share the defaults' array.
 */
struct _ArkWorkflow {
	gatomicrefcount ref;
	gchar *name;
	gchar *description;
	gchar *policy;
	ArkFailureMode failure_mode;
	gint64 timeout;
	guint n_tasks;
	ArkTaskSpec *tasks;
	guint32 *task_set; /* ArkWorkflowField bits each task set itself, for the definition */
	GStringChunk *strings;
	gchar **strv;
	gint *exit_codes;
	ArkWorkflowDefaults defaults;
	GHashTable *extras; /* task index → ArkWorkflowExtra, or NULL when no task has any */
	GPtrArray *agents;  /* of ArkWorkflowAgent, what the "agent" of tasks point to, or NULL */
	ArkWorkflowIndex by_id;
	guint *order;
	guint *task_locations; /* line, column for each task */
	ArkWorkflowLocation member_locations[ARK_WORKFLOW_N_ROOT_MEMBERS];
	gchar *definition; /* built on first use */
};

typedef struct {
	GPtrArray *problems;
	guint n_dropped;
	/* problems added by path, which get their position from the second scan */
	GPtrArray *unlocated;
	/* during the second scan: path → ArkWorkflowLocation (line 0 until seen) of every path
	 * a problem is about, and of the paths that enclose it */
	GHashTable *wanted;
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

/* "tasks[3].needs[0]" → "tasks[3].needs" → "tasks[3]" → "tasks" → ""; FALSE at "" */
static gboolean
ark_workflow_path_up(gchar *path)
{
	gchar *dot;
	gchar *bracket;

	if (path[0] == '\0')
		return FALSE;
	dot = strrchr(path, '.');
	bracket = strrchr(path, '[');
	if (dot == NULL && bracket == NULL)
		path[0] = '\0';
	else if (dot == NULL || (bracket != NULL && bracket > dot))
		*bracket = '\0';
	else
		*dot = '\0';
	return TRUE;
}

/* the location of @path, or of the nearest enclosing value that has one */
static ArkWorkflowLocation
ark_workflow_context_locate(ArkWorkflowContext *ctx, const gchar *path)
{
	ArkWorkflowLocation none = {0, 0};
	g_autofree gchar *copy = g_strdup(path);

	if (ctx->wanted == NULL)
		return none;
	do {
		const ArkWorkflowLocation *loc = g_hash_table_lookup(ctx->wanted, copy);
		if (loc != NULL && loc->line > 0)
			return *loc;
	} while (ark_workflow_path_up(copy));
	return none;
}

static ArkProblem *
ark_workflow_context_add_at(ArkWorkflowContext *ctx, const gchar *path, guint line,
			    guint column, gchar *message)
{
	ArkProblem *problem;

	if (ctx->problems->len >= ARK_WORKFLOW_MAX_PROBLEMS) {
		ctx->n_dropped++;
		g_free(message);
		return NULL;
	}
	/* messages quote the document, sometimes cut by other modules in the middle of a
	 * character (ark_duration_parse() quotes one byte): they are shown as they are */
	if (!g_utf8_validate(message, -1, NULL)) {
		gchar *valid = g_utf8_make_valid(message, -1);
		g_free(message);
		message = valid;
	}
	problem = ark_workflow_problem_new(path, line, column, message);
	g_ptr_array_add(ctx->problems, problem);
	return problem;
}

/*
 * Where a value is, as problems name it: "tasks[3].needs[0]". The checks pass paths down on
 * the stack, and a path is written out only when a problem names it: most documents have no
 * problems, and formatting a path for every value they hold cost more than checking it.
 * NULL is the document itself ("").
 */
typedef struct _ArkWorkflowPath ArkWorkflowPath;
struct _ArkWorkflowPath {
	const ArkWorkflowPath *parent;
	const gchar *name; /* the member's name, or NULL for an element */
	guint index;	   /* the element's position */
};

#define ARK_WORKFLOW_PATH_MEMBER(parent, name) {(parent), (name), 0}
#define ARK_WORKFLOW_PATH_ELEMENT(parent, index) {(parent), NULL, (index)}

static void
ark_workflow_path_append(GString *str, const ArkWorkflowPath *path)
{
	if (path == NULL)
		return;
	ark_workflow_path_append(str, path->parent);
	if (path->name == NULL) {
		g_string_append_printf(str, "[%u]", path->index);
		return;
	}
	/* members of the document have no dot before them */
	if (str->len > 0)
		g_string_append_c(str, '.');
	g_string_append(str, path->name);
}

static gchar *
ark_workflow_path_to_string(const ArkWorkflowPath *path)
{
	GString *str = g_string_new(NULL);
	ark_workflow_path_append(str, path);
	return g_string_free(str, FALSE);
}

static void
ark_workflow_context_add(ArkWorkflowContext *ctx, const ArkWorkflowPath *path, const gchar *format,
			 ...) G_GNUC_PRINTF(3, 4);

static void
ark_workflow_context_add(ArkWorkflowContext *ctx, const ArkWorkflowPath *path, const gchar *format,
			 ...)
{
	va_list args;
	gchar *message;
	g_autofree gchar *str = NULL;
	ArkProblem *problem;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	str = ark_workflow_path_to_string(path);
	problem = ark_workflow_context_add_at(ctx, str, 0, 0, message);
	if (problem != NULL)
		g_ptr_array_add(ctx->unlocated, problem);
}

/* during the second scan: notes where @path is if a problem wants to know */
static void
ark_workflow_context_record(ArkWorkflowContext *ctx, const gchar *path, guint line,
			    guint column)
{
	ArkWorkflowLocation *loc;

	if (ctx->wanted == NULL)
		return;
	loc = g_hash_table_lookup(ctx->wanted, path);
	/* a duplicate member keeps the location of its last occurrence, like json-glib its value */
	if (loc != NULL) {
		loc->line = line;
		loc->column = column;
	}
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

/* where a value is in the document: bytes [start, end) */
typedef struct {
	gsize start;
	gsize end;
	ArkWorkflowLocation at;
	guint id_line; /* for tasks: the line of their "id" member, 0 if none */
} ArkWorkflowSpan;

/* what the first scan learns about the layout of the document */
typedef struct {
	gboolean root_is_object;
	gboolean has_tasks_array; /* the (last) top-level "tasks" is an array */
	ArkWorkflowSpan tasks;	  /* that array */
	guint n_tasks;		  /* its elements */
	GArray *task_spans;	  /* of ArkWorkflowSpan, its elements up to the limit */
	ArkWorkflowLocation member_locations[ARK_WORKFLOW_N_ROOT_MEMBERS];
	/* some object may have a member twice: found, or not looked for past the budget */
	gboolean may_have_duplicates;
} ArkWorkflowLayout;

/* a member name the first scan keeps to find duplicates */
typedef struct {
	gsize start; /* the raw text between the quotes */
	gsize len;
	guint line;
	gboolean escaped; /* has backslashes: compare it unescaped */
} ArkWorkflowName;

/* objects with more members than this find duplicates with a hash table */
#define ARK_WORKFLOW_MAX_LISTED_NAMES 16

typedef struct {
	gboolean is_object;
	guint index;
	gboolean track;	   /* its children get paths */
	gboolean is_tasks; /* the top-level "tasks" array */
	/* objects: the member being read, for its path */
	gsize name_start;
	gsize name_len;
	gboolean name_escaped;
	/* first scan, objects: the names kept for duplicates, in s->names from names_base, or
	 * in member_lines (unescaped name → line) once there are many */
	guint names_base;
	guint n_names;
	GHashTable *member_lines;
} ArkWorkflowFrame;

typedef struct {
	ArkWorkflowContext *ctx;
	/* NULL in the second scan, which only records the locations problems want */
	ArkWorkflowLayout *layout;
	const gchar *data;
	gsize len;
	gsize pos;
	/* lines are counted as they pass (only whitespace holds newlines); columns are counted
	 * only when asked for, from the last column known on the line */
	guint line;
	gsize line_start;
	guint known_line;
	gsize known_pos;
	guint known_column;
	ArkWorkflowFrame frames[ARK_WORKFLOW_MAX_DEPTH];
	guint depth;
	GArray *names;	      /* of ArkWorkflowName */
	guint n_member_names; /* left for duplicate checks */
	GString *path;	      /* second scan: the path being recorded */
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

/* the line and column of @offset, which is on the current line */
static void
ark_workflow_scanner_locate(ArkWorkflowScanner *s, gsize offset, guint *line, guint *column)
{
	if (offset < s->line_start) {
		ark_workflow_offset_to_location(s->data, offset, line, column);
		return;
	}
	if (s->known_line != s->line || offset < s->known_pos) {
		s->known_line = s->line;
		s->known_pos = s->line_start;
		s->known_column = 1;
	}
	for (; s->known_pos < offset; s->known_pos++) {
		if (((guchar)s->data[s->known_pos] & 0xC0) != 0x80)
			s->known_column++;
	}
	*line = s->line;
	*column = s->known_column;
}

static gboolean
ark_workflow_scanner_fail(ArkWorkflowScanner *s, gsize offset, const gchar *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
ark_workflow_scanner_fail(ArkWorkflowScanner *s, gsize offset, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *detail = NULL;
	guint line;
	guint column;

	/* the second scan reads what the first one accepted */
	if (s->layout == NULL)
		return FALSE;
	va_start(args, format);
	detail = g_strdup_vprintf(format, args);
	va_end(args);
	ark_workflow_scanner_locate(s, offset, &line, &column);
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
		return ark_workflow_scanner_fail(s, s->pos, "comments are not allowed");
	what = ark_workflow_scanner_describe(s);
	return ark_workflow_scanner_fail(s, s->pos, "unexpected %s, expected %s", what, expected);
}

static void
ark_workflow_scanner_skip_space(ArkWorkflowScanner *s)
{
	while (s->pos < s->len) {
		gchar c = s->data[s->pos];
		if (c == '\n') {
			s->line++;
			s->line_start = s->pos + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		s->pos++;
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
	s->pos += 4;
	return value;
}

/* the bytes a string holds as they are: not '"', '\\' or a control character */
static const guint8 ark_workflow_plain[256] = {
    [0x20] = 1, [0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0xFF] = 1,
};

/* at the opening quote; on success @out_start/@out_len give the raw text between the quotes
 * and @out_escaped whether it has escapes */
static gboolean
ark_workflow_scanner_string(ArkWorkflowScanner *s, gsize *out_start, gsize *out_len,
			    gboolean *out_escaped)
{
	const guchar *data = (const guchar *)s->data;
	gsize quote = s->pos;
	gboolean escaped = FALSE;
	gsize start;

	start = ++s->pos;
	for (;;) {
		guchar c;

		while (s->pos < s->len && ark_workflow_plain[data[s->pos]])
			s->pos++;
		if (s->pos >= s->len)
			return ark_workflow_scanner_fail(s, quote, "unterminated string");
		c = data[s->pos];
		if (c == '"')
			break;
		if (c == '\n')
			return ark_workflow_scanner_fail(s, quote,
							 "unterminated string (strings can not "
							 "span lines, use \\n)");
		if (c < 0x20)
			return ark_workflow_scanner_fail(s, s->pos,
							 "control character U+%04X in a string "
							 "(write it as \\u%04X)",
							 c, c);

		/* a backslash */
		{
			gsize esc = s->pos;
			gint cp;

			escaped = TRUE;
			s->pos++;
			if (s->pos >= s->len)
				return ark_workflow_scanner_fail(s, quote, "unterminated string");
			c = data[s->pos];
			if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
				s->pos++;
				continue;
			}
			if (c != 'u') {
				g_autofree gchar *what = ark_workflow_scanner_describe(s);
				return ark_workflow_scanner_fail(
				    s, esc, "invalid escape sequence (backslash followed by %s)",
				    what);
			}
			s->pos++;
			cp = ark_workflow_scanner_hex4(s);
			if (cp < 0)
				return ark_workflow_scanner_fail(s, esc,
								 "\\u must be followed by four hex "
								 "digits");
			if (cp == 0)
				return ark_workflow_scanner_fail(
				    s, esc, "\\u0000 is not allowed in strings");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return ark_workflow_scanner_fail(s, esc,
								 "unpaired surrogate \\u%04X", cp);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				gint low = -1;
				if (s->len - s->pos >= 2 && s->data[s->pos] == '\\' &&
				    s->data[s->pos + 1] == 'u') {
					s->pos += 2;
					low = ark_workflow_scanner_hex4(s);
				}
				if (low < 0xDC00 || low > 0xDFFF)
					return ark_workflow_scanner_fail(
					    s, esc, "unpaired surrogate \\u%04X", cp);
			}
		}
	}
	*out_start = start;
	*out_len = s->pos - start;
	*out_escaped = escaped;
	s->pos++;
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
	gsize start = s->pos;
	gboolean integral = TRUE;
	gboolean exponent = FALSE;
	gsize n_digits = 0;
	g_autofree gchar *text = NULL;

	if (s->data[s->pos] == '-')
		s->pos++;
	if (s->pos < s->len && s->data[s->pos] == '0') {
		s->pos++;
	} else if (s->pos < s->len && g_ascii_isdigit(s->data[s->pos])) {
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			s->pos++;
	} else {
		return ark_workflow_scanner_fail(s, start, "invalid number");
	}
	n_digits = s->pos - start;
	if (s->pos < s->len && s->data[s->pos] == '.') {
		integral = FALSE;
		s->pos++;
		if (s->pos >= s->len || !g_ascii_isdigit(s->data[s->pos]))
			return ark_workflow_scanner_fail(s, start,
							 "invalid number (digits must follow '.')");
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			s->pos++;
	}
	if (s->pos < s->len && (s->data[s->pos] == 'e' || s->data[s->pos] == 'E')) {
		integral = FALSE;
		exponent = TRUE;
		s->pos++;
		if (s->pos < s->len && (s->data[s->pos] == '+' || s->data[s->pos] == '-'))
			s->pos++;
		if (s->pos >= s->len || !g_ascii_isdigit(s->data[s->pos]))
			return ark_workflow_scanner_fail(s, start,
							 "invalid number (missing exponent)");
		while (s->pos < s->len && g_ascii_isdigit(s->data[s->pos]))
			s->pos++;
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
		return ark_workflow_scanner_fail(s, start, "invalid number '%s'", shown);
	}

	/* with 18 digits an integer fits in 64 bits, without an exponent a number under 300
	 * digits fits in a double: only the others need reading to tell */
	if (integral ? n_digits <= 18 : !exponent && s->pos - start < 300)
		return TRUE;
	text = g_strndup(s->data + start, s->pos - start);
	if (integral) {
		/* json-glib wraps integers that do not fit in 64 bits around silently */
		errno = 0;
		(void)g_ascii_strtoll(text, NULL, 10);
		if (errno == ERANGE) {
			g_autofree gchar *shown = ark_workflow_shorten(text);
			return ark_workflow_scanner_fail(s, start,
							 "number %s is out of range (integers must "
							 "fit in 64 bits)",
							 shown);
		}
	} else if (!isfinite(g_ascii_strtod(text, NULL))) {
		g_autofree gchar *shown = ark_workflow_shorten(text);
		return ark_workflow_scanner_fail(s, start, "number %s is out of range", shown);
	}
	return TRUE;
}

static gboolean
ark_workflow_scanner_word(ArkWorkflowScanner *s)
{
	gsize start = s->pos;
	gsize len;
	g_autofree gchar *word = NULL;
	g_autofree gchar *shown = NULL;

	while (s->pos < s->len && (g_ascii_isalnum(s->data[s->pos]) || s->data[s->pos] == '_'))
		s->pos++;
	len = s->pos - start;
	if ((len == 4 && memcmp(s->data + start, "true", 4) == 0) ||
	    (len == 5 && memcmp(s->data + start, "false", 5) == 0) ||
	    (len == 4 && memcmp(s->data + start, "null", 4) == 0))
		return TRUE;
	word = g_strndup(s->data + start, len);
	shown = ark_workflow_shorten(word);
	return ark_workflow_scanner_fail(s, start,
					 "unexpected word '%s', expected a value (strings need "
					 "double quotes)",
					 shown);
}

static gunichar
ark_workflow_scanner_hex_value(const gchar *p)
{
	gunichar value = 0;

	for (guint i = 0; i < 4; i++)
		value = value * 16 + (gunichar)g_ascii_xdigit_value(p[i]);
	return value;
}

/*
 * Writes the text of a string (@len bytes between its quotes) to @out with its escapes resolved,
 * as json-glib reads it, and returns the end of what it wrote: at most @len bytes, escapes only
 * get shorter. The scanner has checked the escapes already.
 */
static gchar *
ark_workflow_unescape_to(gchar *out, const gchar *raw, gsize len)
{
	if (memchr(raw, '\\', len) == NULL) {
		memcpy(out, raw, len);
		return out + len;
	}
	for (gsize i = 0; i < len; i++) {
		gunichar cp;

		if (raw[i] != '\\') {
			*out++ = raw[i];
			continue;
		}
		switch (raw[++i]) {
		case 'b':
			*out++ = '\b';
			continue;
		case 'f':
			*out++ = '\f';
			continue;
		case 'n':
			*out++ = '\n';
			continue;
		case 'r':
			*out++ = '\r';
			continue;
		case 't':
			*out++ = '\t';
			continue;
		case 'u':
			break;
		default: /* '"', '\\' and '/' */
			*out++ = raw[i];
			continue;
		}
		cp = ark_workflow_scanner_hex_value(raw + i + 1);
		i += 4;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			/* the low half follows as "\uDC00" */
			gunichar low = ark_workflow_scanner_hex_value(raw + i + 3);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
			i += 6;
		}
		out += g_unichar_to_utf8(cp, out);
	}
	return out;
}

static void
ark_workflow_unescape_append(GString *str, const gchar *raw, gsize len)
{
	gsize at = str->len;
	gchar *end;

	g_string_set_size(str, at + len);
	end = ark_workflow_unescape_to(str->str + at, raw, len);
	g_string_truncate(str, (gsize)(end - str->str));
}

static gchar *
ark_workflow_unescape(const gchar *raw, gsize len)
{
	GString *str = g_string_sized_new(len);
	ark_workflow_unescape_append(str, raw, len);
	return g_string_free(str, FALSE);
}

/* whether a raw member name reads as @name */
static gboolean
ark_workflow_scanner_name_is(ArkWorkflowScanner *s, gsize start, gsize len, gboolean escaped,
			     const gchar *name)
{
	g_autofree gchar *unescaped = NULL;

	if (!escaped)
		return strlen(name) == len && memcmp(s->data + start, name, len) == 0;
	unescaped = ark_workflow_unescape(s->data + start, len);
	return strcmp(unescaped, name) == 0;
}

/*
 * The path of the value at the current position, the way problems name it: the members and
 * elements of the frames that track paths. Only the second scan and problems need it, so it is
 * put together when asked rather than kept up to date.
 */
static void
ark_workflow_scanner_path(ArkWorkflowScanner *s, GString *out)
{
	g_string_truncate(out, 0);
	for (guint d = 0; d < s->depth && s->frames[d].track; d++) {
		const ArkWorkflowFrame *frame = &s->frames[d];

		if (!frame->is_object) {
			g_string_append_printf(out, "[%u]", frame->index);
			continue;
		}
		if (out->len > 0)
			g_string_append_c(out, '.');
		ark_workflow_unescape_append(out, s->data + frame->name_start, frame->name_len);
	}
}

/* during the second scan: notes where the value or member at @offset is */
static void
ark_workflow_scanner_record(ArkWorkflowScanner *s, gsize offset)
{
	guint line;
	guint column;

	if (s->ctx->wanted == NULL)
		return;
	ark_workflow_scanner_path(s, s->path);
	ark_workflow_scanner_locate(s, offset, &line, &column);
	ark_workflow_context_record(s->ctx, s->path->str, line, column);
}

/* whether the value about to start is an element of the top-level "tasks" array */
static gboolean
ark_workflow_scanner_in_tasks(ArkWorkflowScanner *s)
{
	return s->layout != NULL && s->depth == 2 && s->frames[1].is_tasks;
}

/* a value starts at the current position */
static void
ark_workflow_scanner_value_start(ArkWorkflowScanner *s)
{
	if (s->depth == 0 || s->frames[s->depth - 1].track)
		ark_workflow_scanner_record(s, s->pos);
	/* past the limit the elements are only counted: a 16 MiB "[0,0,0,..." is refused
	 * without a span for each of its 8 million elements */
	if (ark_workflow_scanner_in_tasks(s) && s->layout->n_tasks++ < ARK_WORKFLOW_MAX_TASKS) {
		ArkWorkflowSpan span = {s->pos, s->pos, {0, 0}, 0};
		ark_workflow_scanner_locate(s, s->pos, &span.at.line, &span.at.column);
		g_array_append_val(s->layout->task_spans, span);
	}
}

/* the value that started last at this depth has just ended */
static void
ark_workflow_scanner_value_end(ArkWorkflowScanner *s)
{
	if (ark_workflow_scanner_in_tasks(s) && s->layout->n_tasks <= ARK_WORKFLOW_MAX_TASKS) {
		GArray *spans = s->layout->task_spans;
		g_array_index(spans, ArkWorkflowSpan, spans->len - 1).end = s->pos;
	}
}

static gboolean
ark_workflow_scanner_push(ArkWorkflowScanner *s, gboolean is_object)
{
	ArkWorkflowFrame *frame;
	/* whether the value being opened had its own path tracked */
	gboolean tracked = s->depth == 0 || s->frames[s->depth - 1].track;

	if (s->depth >= ARK_WORKFLOW_MAX_DEPTH)
		return ark_workflow_scanner_fail(s, s->pos,
						 "the document is nested too deeply (more than "
						 "%d levels)",
						 ARK_WORKFLOW_MAX_DEPTH);
	frame = &s->frames[s->depth++];
	memset(frame, 0, sizeof(*frame));
	frame->is_object = is_object;
	frame->track = tracked && s->depth <= ARK_WORKFLOW_TRACK_DEPTH;
	frame->is_tasks = s->depth == 2 && !is_object && s->frames[0].is_object &&
			  ark_workflow_scanner_name_is(s, s->frames[0].name_start,
						       s->frames[0].name_len,
						       s->frames[0].name_escaped, "tasks");
	frame->names_base = s->names->len;
	if (frame->is_tasks && s->layout != NULL) {
		ArkWorkflowSpan span = {s->pos, s->pos, {0, 0}, 0};
		/* json-glib keeps the last of duplicate members, and so does the layout */
		ark_workflow_scanner_locate(s, s->pos, &span.at.line, &span.at.column);
		s->layout->has_tasks_array = TRUE;
		s->layout->tasks = span;
		s->layout->n_tasks = 0;
		g_array_set_size(s->layout->task_spans, 0);
	}
	s->pos++;
	return TRUE;
}

/* the budget bounds the names kept at once, so a closed object gives its share back */
static void
ark_workflow_scanner_drop_names(ArkWorkflowScanner *s, ArkWorkflowFrame *frame)
{
	s->n_member_names += frame->n_names;
	frame->n_names = 0;
	g_array_set_size(s->names, frame->names_base);
	g_clear_pointer(&frame->member_lines, g_hash_table_unref);
}

/* at the closing bracket of the container on top of the stack */
static void
ark_workflow_scanner_pop(ArkWorkflowScanner *s)
{
	ArkWorkflowFrame *frame;

	s->pos++;
	frame = &s->frames[--s->depth];
	if (frame->is_tasks && s->layout != NULL)
		s->layout->tasks.end = s->pos;
	ark_workflow_scanner_drop_names(s, frame);
	ark_workflow_scanner_value_end(s);
}

/* what the first scan notes about a member: root members' positions, the lines of task ids */
static void
ark_workflow_scanner_note_member(ArkWorkflowScanner *s, const ArkWorkflowFrame *frame)
{
	ArkWorkflowLayout *layout = s->layout;

	if (s->depth == 1) {
		for (guint i = 0; i < ARK_WORKFLOW_N_ROOT_MEMBERS; i++) {
			ArkWorkflowLocation *loc = &layout->member_locations[i];
			if (ark_workflow_scanner_name_is(s, frame->name_start, frame->name_len,
							 frame->name_escaped,
							 ark_workflow_root_members[i]))
				ark_workflow_scanner_locate(s, frame->name_start - 1, &loc->line,
							    &loc->column);
		}
		/* a later "tasks" that is not an array replaces an earlier one that was */
		if (ark_workflow_scanner_name_is(s, frame->name_start, frame->name_len,
						 frame->name_escaped, "tasks"))
			layout->has_tasks_array = FALSE;
	} else if (s->depth == 3 && s->frames[1].is_tasks &&
		   layout->n_tasks <= ARK_WORKFLOW_MAX_TASKS &&
		   ark_workflow_scanner_name_is(s, frame->name_start, frame->name_len,
						frame->name_escaped, "id")) {
		GArray *spans = layout->task_spans;
		g_array_index(spans, ArkWorkflowSpan, spans->len - 1).id_line = s->line;
	}
}

static gboolean
ark_workflow_scanner_same_name(ArkWorkflowScanner *s, const ArkWorkflowName *a,
			       const ArkWorkflowName *b)
{
	g_autofree gchar *x = NULL;
	g_autofree gchar *y = NULL;

	if (!a->escaped && !b->escaped)
		return a->len == b->len &&
		       memcmp(s->data + a->start, s->data + b->start, a->len) == 0;
	x = ark_workflow_unescape(s->data + a->start, a->len);
	y = ark_workflow_unescape(s->data + b->start, b->len);
	return strcmp(x, y) == 0;
}

/* the line where @frame's object first had the member @name, or 0; keeps @name if it is new
 * and the budget allows */
static guint
ark_workflow_scanner_find_name(ArkWorkflowScanner *s, ArkWorkflowFrame *frame,
			       const ArkWorkflowName *name)
{
	g_autofree gchar *key = NULL;
	gpointer first_line = NULL;

	if (frame->member_lines == NULL) {
		for (guint k = frame->names_base; k < s->names->len; k++) {
			const ArkWorkflowName *other = &g_array_index(s->names, ArkWorkflowName, k);
			if (ark_workflow_scanner_same_name(s, other, name))
				return other->line;
		}
		if (s->n_member_names == 0) {
			s->layout->may_have_duplicates = TRUE;
			return 0;
		}
		s->n_member_names--;
		frame->n_names++;
		if (frame->n_names <= ARK_WORKFLOW_MAX_LISTED_NAMES) {
			g_array_append_val(s->names, *name);
			return 0;
		}
		/* too many to compare one by one: they move to a hash table */
		frame->member_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_array_append_val(s->names, *name);
		for (guint k = frame->names_base; k < s->names->len; k++) {
			const ArkWorkflowName *kept = &g_array_index(s->names, ArkWorkflowName, k);
			g_hash_table_insert(frame->member_lines,
					    ark_workflow_unescape(s->data + kept->start, kept->len),
					    GUINT_TO_POINTER(kept->line));
		}
		g_array_set_size(s->names, frame->names_base);
		return 0;
	}
	key = ark_workflow_unescape(s->data + name->start, name->len);
	if (g_hash_table_lookup_extended(frame->member_lines, key, NULL, &first_line))
		return GPOINTER_TO_UINT(first_line);
	if (s->n_member_names == 0) {
		s->layout->may_have_duplicates = TRUE;
		return 0;
	}
	s->n_member_names--;
	frame->n_names++;
	g_hash_table_insert(frame->member_lines, g_steal_pointer(&key),
			    GUINT_TO_POINTER(name->line));
	return 0;
}

static gboolean
ark_workflow_scanner_member(ArkWorkflowScanner *s)
{
	ArkWorkflowFrame *frame = &s->frames[s->depth - 1];
	gsize quote = s->pos;
	ArkWorkflowName name = {0, 0, s->line, FALSE};

	if (s->pos >= s->len || s->data[s->pos] != '"')
		return ark_workflow_scanner_unexpected(s, "a member name in double quotes");
	if (!ark_workflow_scanner_string(s, &name.start, &name.len, &name.escaped))
		return FALSE;
	frame->name_start = name.start;
	frame->name_len = name.len;
	frame->name_escaped = name.escaped;
	if (frame->track) {
		ark_workflow_scanner_record(s, quote);
		if (s->layout != NULL)
			ark_workflow_scanner_note_member(s, frame);
	}
	if (s->layout != NULL) {
		guint first_line = ark_workflow_scanner_find_name(s, frame, &name);

		if (first_line > 0) {
			g_autoptr(GString) path = g_string_new(NULL);
			g_autofree gchar *unescaped =
			    ark_workflow_unescape(s->data + name.start, name.len);
			g_autofree gchar *shown = ark_workflow_shorten(unescaped);
			guint line;
			guint column;

			s->layout->may_have_duplicates = TRUE;
			ark_workflow_scanner_path(s, path);
			ark_workflow_scanner_locate(s, quote, &line, &column);
			ark_workflow_context_add_at(
			    s->ctx, path->str, line, column,
			    g_strdup_printf("duplicate member '%s' (first defined at line %u)",
					    shown, first_line));
		}
	}
	ark_workflow_scanner_skip_space(s);
	if (s->pos >= s->len || s->data[s->pos] != ':')
		return ark_workflow_scanner_unexpected(s, "':' after the member name");
	s->pos++;
	return TRUE;
}

static gboolean
ark_workflow_scanner_value(ArkWorkflowScanner *s)
{
	gchar c = s->data[s->pos];
	gsize start;
	gsize len;
	gboolean escaped;
	gboolean ok;

	if (c == '"')
		ok = ark_workflow_scanner_string(s, &start, &len, &escaped);
	else if (c == '-' || g_ascii_isdigit(c))
		ok = ark_workflow_scanner_number(s);
	else if (g_ascii_isalpha(c))
		ok = ark_workflow_scanner_word(s);
	else
		ok = ark_workflow_scanner_unexpected(s, "a value");
	if (ok)
		ark_workflow_scanner_value_end(s);
	return ok;
}

/*
 * The first scan (@layout set) returns FALSE after adding a problem when the bytes are not
 * strict JSON, and fills @layout. The second one (@layout NULL) reads the same bytes again to
 * record the locations in ctx->wanted.
 */
static gboolean
ark_workflow_scan(ArkWorkflowContext *ctx, const gchar *data, gsize len,
		  ArkWorkflowLayout *layout)
{
	ArkWorkflowScanner s = {
	    .ctx = ctx,
	    .layout = layout,
	    .data = data,
	    .len = len,
	    .line = 1,
	    .n_member_names = ARK_WORKFLOW_MAX_MEMBER_NAMES,
	};
	g_autoptr(GArray) names = g_array_new(FALSE, FALSE, sizeof(ArkWorkflowName));
	g_autoptr(GString) path = g_string_new(NULL);
	ArkWorkflowScanState state = ARK_WORKFLOW_SCAN_VALUE;
	gboolean ok = TRUE;

	s.names = names;
	s.path = path;
	ark_workflow_scanner_skip_space(&s);
	if (s.pos >= s.len) {
		if (layout != NULL)
			ark_workflow_context_add_at(ctx, "", 0, 0,
						    g_strdup("the document is empty"));
		return FALSE;
	}
	if (layout != NULL)
		layout->root_is_object = s.data[s.pos] == '{';

	while (ok) {
		gchar c;

		ark_workflow_scanner_skip_space(&s);
		if (state == ARK_WORKFLOW_SCAN_AFTER_VALUE && s.depth == 0) {
			if (s.pos < s.len)
				ok = ark_workflow_scanner_unexpected(&s, "the end of the document");
			break;
		}
		if (s.pos >= s.len) {
			ok = ark_workflow_scanner_fail(&s, s.pos, "unexpected end of the document");
			break;
		}
		c = s.data[s.pos];

		switch (state) {
		case ARK_WORKFLOW_SCAN_VALUE:
		case ARK_WORKFLOW_SCAN_MEMBER_VALUE:
			/* a member's position is that of its name, recorded with the name */
			if (state == ARK_WORKFLOW_SCAN_VALUE)
				ark_workflow_scanner_value_start(&s);
			if (c == '{' || c == '[') {
				ok = ark_workflow_scanner_push(&s, c == '{');
				state = c == '{' ? ARK_WORKFLOW_SCAN_FIRST_MEMBER
						 : ARK_WORKFLOW_SCAN_FIRST_ELEMENT;
				break;
			}
			ok = ark_workflow_scanner_value(&s);
			state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_FIRST_MEMBER:
		case ARK_WORKFLOW_SCAN_MEMBER:
			if (c == '}' && state == ARK_WORKFLOW_SCAN_FIRST_MEMBER) {
				ark_workflow_scanner_pop(&s);
				state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
				break;
			}
			if (c == '}') {
				ok = ark_workflow_scanner_fail(&s, s.pos,
							       "trailing commas are not allowed");
				break;
			}
			ok = ark_workflow_scanner_member(&s);
			state = ARK_WORKFLOW_SCAN_MEMBER_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_FIRST_ELEMENT:
		case ARK_WORKFLOW_SCAN_ELEMENT:
			if (c == ']' && state == ARK_WORKFLOW_SCAN_FIRST_ELEMENT) {
				ark_workflow_scanner_pop(&s);
				state = ARK_WORKFLOW_SCAN_AFTER_VALUE;
				break;
			}
			if (c == ']') {
				ok = ark_workflow_scanner_fail(&s, s.pos,
							       "trailing commas are not allowed");
				break;
			}
			state = ARK_WORKFLOW_SCAN_VALUE;
			break;
		case ARK_WORKFLOW_SCAN_AFTER_VALUE: {
			ArkWorkflowFrame *frame = &s.frames[s.depth - 1];
			gchar close = frame->is_object ? '}' : ']';

			if (c == ',') {
				s.pos++;
				frame->index++;
				state = frame->is_object ? ARK_WORKFLOW_SCAN_MEMBER
							 : ARK_WORKFLOW_SCAN_ELEMENT;
			} else if (c == close) {
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
		ark_workflow_scanner_drop_names(&s, &s.frames[--s.depth]);
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

/* "unknown backoff 'linear' (expected exponential or fixed)", or "(did you mean 'fixed'?)"
 * when @word is close to one of @words */
static void
ark_workflow_add_unknown_word(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			      const gchar *what, const gchar *word, const gchar *const *words,
			      guint n_words, const gchar *expected)
{
	g_autofree gchar *shown = ark_workflow_shorten(word);
	const gchar *suggestion = ark_workflow_suggest(word, words, n_words);

	if (suggestion != NULL)
		ark_workflow_context_add(ctx, path, "unknown %s '%s' (did you mean '%s'?)", what,
					 shown, suggestion);
	else
		ark_workflow_context_add(ctx, path, "unknown %s '%s' (expected %s)", what, shown,
					 expected);
}

/* ---- the values of a document ---- */

/*
 * What the checks read: a tree of the values of one task (or of the document without its
 * tasks), built straight from bytes the scanner has accepted. It is what json-glib would
 * build, member order and duplicates included, for a fraction of the cost: its nodes and
 * strings live in two blocks that are reused from one task to the next.
 */
typedef enum {
	ARK_WORKFLOW_NODE_NULL,
	ARK_WORKFLOW_NODE_BOOLEAN,
	ARK_WORKFLOW_NODE_INTEGER,
	ARK_WORKFLOW_NODE_DOUBLE,
	ARK_WORKFLOW_NODE_STRING,
	ARK_WORKFLOW_NODE_ARRAY,
	ARK_WORKFLOW_NODE_OBJECT,
} ArkWorkflowNodeKind;

typedef struct _ArkWorkflowNode ArkWorkflowNode;
struct _ArkWorkflowNode {
	ArkWorkflowNodeKind kind;
	guint n_children;
	const gchar *name; /* a member's name, unescaped */
	union {
		gboolean boolean;
		gint64 integer;
		gdouble number;
		const gchar *string; /* unescaped */
		gsize first;	     /* while the tree is built: where the children are in nodes */
		const ArkWorkflowNode *children;
	} v;
};

typedef struct {
	GArray *nodes;	 /* of ArkWorkflowNode: the children of each container, together */
	GArray *pending; /* of ArkWorkflowNode: values whose container is still open */
	GArray *open;	 /* of guint: where the open containers are in pending */
	gchar *strings;	 /* every string and member name, unescaped and NUL-terminated */
	gsize strings_size;
	gsize strings_len;
	ArkWorkflowNode root;
} ArkWorkflowTree;

static void
ark_workflow_tree_init(ArkWorkflowTree *t)
{
	t->nodes = g_array_new(FALSE, FALSE, sizeof(ArkWorkflowNode));
	t->pending = g_array_new(FALSE, FALSE, sizeof(ArkWorkflowNode));
	t->open = g_array_new(FALSE, FALSE, sizeof(guint));
}

static void
ark_workflow_tree_clear(ArkWorkflowTree *t)
{
	g_clear_pointer(&t->nodes, g_array_unref);
	g_clear_pointer(&t->pending, g_array_unref);
	g_clear_pointer(&t->open, g_array_unref);
	g_clear_pointer(&t->strings, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowTree, ark_workflow_tree_clear)

/* the string at @raw (between the quotes, @len bytes) copied to the tree's strings */
static const gchar *
ark_workflow_tree_string(ArkWorkflowTree *t, const gchar *raw, gsize len)
{
	gchar *out = t->strings + t->strings_len;
	gchar *end = ark_workflow_unescape_to(out, raw, len);

	*end++ = '\0';
	t->strings_len += (gsize)(end - out);
	return out;
}

/* json-glib keeps the first position and the last value of a member given twice */
static guint
ark_workflow_tree_merge_members(ArkWorkflowNode *members, guint n)
{
	g_autoptr(GHashTable) positions = NULL;
	guint kept = 0;

	if (n > ARK_WORKFLOW_MAX_LISTED_NAMES)
		positions = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint k = 0; k < n; k++) {
		gint earlier = -1;

		if (positions != NULL) {
			gpointer value;
			if (g_hash_table_lookup_extended(positions, members[k].name, NULL, &value))
				earlier = GPOINTER_TO_INT(value);
			else
				g_hash_table_insert(positions, (gpointer)members[k].name,
						    GINT_TO_POINTER(kept));
		} else {
			for (guint j = 0; j < kept && earlier < 0; j++) {
				if (strcmp(members[j].name, members[k].name) == 0)
					earlier = (gint)j;
			}
		}
		if (earlier >= 0) {
			const gchar *name = members[earlier].name;
			members[earlier] = members[k];
			members[earlier].name = name;
		} else {
			members[kept++] = members[k];
		}
	}
	return kept;
}

/* ends the container on top of the open ones: its children move to the nodes */
static void
ark_workflow_tree_close(ArkWorkflowTree *t, gboolean merge)
{
	guint at = g_array_index(t->open, guint, t->open->len - 1);
	ArkWorkflowNode *container = &g_array_index(t->pending, ArkWorkflowNode, at);
	ArkWorkflowNode *children = container + 1;
	guint n = t->pending->len - at - 1;

	g_array_set_size(t->open, t->open->len - 1);
	if (merge && container->kind == ARK_WORKFLOW_NODE_OBJECT && n > 1)
		n = ark_workflow_tree_merge_members(children, n);
	container->v.first = t->nodes->len;
	container->n_children = n;
	g_array_append_vals(t->nodes, children, n);
	g_array_set_size(t->pending, at + 1);
}

static void
ark_workflow_tree_number(ArkWorkflowNode *node, const gchar *text, gsize len)
{
	gchar buf[32];
	g_autofree gchar *copy = NULL;
	const gchar *str = buf;
	gboolean integral = TRUE;

	for (gsize i = 0; i < len; i++) {
		if (text[i] == '.' || text[i] == 'e' || text[i] == 'E')
			integral = FALSE;
	}
	/* the scanner has checked it fits */
	if (integral && len <= 18) {
		gint64 value = 0;
		gboolean negative = text[0] == '-';
		for (gsize i = negative ? 1 : 0; i < len; i++)
			value = value * 10 + (text[i] - '0');
		node->kind = ARK_WORKFLOW_NODE_INTEGER;
		node->v.integer = negative ? -value : value;
		return;
	}
	/* the document need not end with a NUL */
	if (len < sizeof(buf)) {
		memcpy(buf, text, len);
		buf[len] = '\0';
	} else {
		str = copy = g_strndup(text, len);
	}
	if (integral) {
		node->kind = ARK_WORKFLOW_NODE_INTEGER;
		node->v.integer = g_ascii_strtoll(str, NULL, 10);
	} else {
		node->kind = ARK_WORKFLOW_NODE_DOUBLE;
		node->v.number = g_ascii_strtod(str, NULL);
	}
}

/* whether the innermost open container is an object */
static gboolean
ark_workflow_tree_in_object(ArkWorkflowTree *t)
{
	guint at = g_array_index(t->open, guint, t->open->len - 1);
	return g_array_index(t->pending, ArkWorkflowNode, at).kind == ARK_WORKFLOW_NODE_OBJECT;
}

/* at the opening quote of a string the scanner accepted: its text, unescaped */
static const gchar *
ark_workflow_tree_read_string(ArkWorkflowTree *t, const gchar *data, gsize *pos)
{
	const gchar *start = data + *pos + 1;
	const gchar *end = start;

	while (*end != '"')
		end += *end == '\\' ? 2 : 1;
	*pos = (gsize)(end - data) + 1;
	return ark_workflow_tree_string(t, start, (gsize)(end - start));
}

static void
ark_workflow_tree_skip_space(const gchar *data, gsize *pos)
{
	while (data[*pos] == ' ' || data[*pos] == '\t' || data[*pos] == '\n' || data[*pos] == '\r')
		(*pos)++;
}

/* the name of the next member of the innermost object, or NULL in an array */
static const gchar *
ark_workflow_tree_next_name(ArkWorkflowTree *t, const gchar *data, gsize *pos)
{
	const gchar *name;

	if (!ark_workflow_tree_in_object(t))
		return NULL;
	ark_workflow_tree_skip_space(data, pos);
	name = ark_workflow_tree_read_string(t, data, pos);
	ark_workflow_tree_skip_space(data, pos);
	(*pos)++; /* ':' */
	return name;
}

/*
 * Builds the tree of the value in @data (@len bytes the scanner accepted); the value at offset
 * @skip_start reads as an empty array and its bytes up to @skip_end are passed over (those are
 * the tasks, read one at a time). @merge says whether objects may have a member twice.
 */
static void
ark_workflow_tree_build(ArkWorkflowTree *t, const gchar *data, gsize len, gsize skip_start,
			gsize skip_end, gboolean merge)
{
	gsize size = len - (skip_end - skip_start) + 1;
	const gchar *name = NULL;
	gsize pos = 0;

	/* unescaped, a string and its NUL take no more room than the string and its quotes */
	if (t->strings_size < size) {
		g_free(t->strings);
		t->strings = g_malloc(size);
		t->strings_size = size;
	}
	t->strings_len = 0;
	g_array_set_size(t->nodes, 0);
	g_array_set_size(t->pending, 0);
	g_array_set_size(t->open, 0);

	for (;;) {
		ArkWorkflowNode node = {ARK_WORKFLOW_NODE_NULL, 0, name, {0}};
		gboolean opens = FALSE;
		gchar c;

		ark_workflow_tree_skip_space(data, &pos);
		c = data[pos];
		if (pos == skip_start) {
			node.kind = ARK_WORKFLOW_NODE_ARRAY;
			pos = skip_end;
		} else if (c == '{' || c == '[') {
			node.kind = c == '{' ? ARK_WORKFLOW_NODE_OBJECT : ARK_WORKFLOW_NODE_ARRAY;
			opens = TRUE;
		} else if (c == '"') {
			node.kind = ARK_WORKFLOW_NODE_STRING;
			node.v.string = ark_workflow_tree_read_string(t, data, &pos);
		} else if (c == 't' || c == 'f') {
			node.kind = ARK_WORKFLOW_NODE_BOOLEAN;
			node.v.boolean = c == 't';
			pos += c == 't' ? 4 : 5;
		} else if (c == 'n') {
			pos += 4;
		} else {
			gsize start = pos;
			while (pos < len && (g_ascii_isdigit(data[pos]) || data[pos] == '-' ||
					     data[pos] == '+' || data[pos] == '.' ||
					     data[pos] == 'e' || data[pos] == 'E'))
				pos++;
			ark_workflow_tree_number(&node, data + start, pos - start);
		}
		g_array_append_val(t->pending, node);

		if (opens) {
			guint at = t->pending->len - 1;

			g_array_append_val(t->open, at);
			pos++;
			ark_workflow_tree_skip_space(data, &pos);
			if (data[pos] != '}' && data[pos] != ']') {
				name = ark_workflow_tree_next_name(t, data, &pos);
				continue;
			}
		}
		/* after a value: close what ends here, up to the next member or element */
		for (;;) {
			if (t->open->len == 0)
				break;
			ark_workflow_tree_skip_space(data, &pos);
			if (data[pos++] == ',')
				break;
			ark_workflow_tree_close(t, merge);
		}
		if (t->open->len == 0)
			break;
		name = ark_workflow_tree_next_name(t, data, &pos);
	}

	t->root = g_array_index(t->pending, ArkWorkflowNode, 0);
	/* the nodes stop moving: containers can point at their children */
	for (guint i = 0; i <= t->nodes->len; i++) {
		ArkWorkflowNode *node =
		    i < t->nodes->len ? &g_array_index(t->nodes, ArkWorkflowNode, i) : &t->root;
		if (node->kind == ARK_WORKFLOW_NODE_ARRAY || node->kind == ARK_WORKFLOW_NODE_OBJECT)
			node->v.children = (const ArkWorkflowNode *)t->nodes->data + node->v.first;
	}
}

/* ---- typed access to values ---- */

static const gchar *
ark_workflow_node_kind(const ArkWorkflowNode *node)
{
	switch (node->kind) {
	case ARK_WORKFLOW_NODE_OBJECT:
		return "an object";
	case ARK_WORKFLOW_NODE_ARRAY:
		return "an array";
	case ARK_WORKFLOW_NODE_NULL:
		return "null";
	case ARK_WORKFLOW_NODE_STRING:
		return "a string";
	case ARK_WORKFLOW_NODE_BOOLEAN:
		return "a boolean";
	case ARK_WORKFLOW_NODE_INTEGER:
		return "an integer";
	case ARK_WORKFLOW_NODE_DOUBLE:
		return "a number";
	}
	return "a value";
}

/* the member @name of @object, or NULL */
static const ArkWorkflowNode *
ark_workflow_node_get_member(const ArkWorkflowNode *object, const gchar *name)
{
	for (guint k = 0; k < object->n_children; k++) {
		if (strcmp(object->v.children[k].name, name) == 0)
			return &object->v.children[k];
	}
	return NULL;
}

static const gchar *
ark_workflow_expect_string(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			   const ArkWorkflowNode *node)
{
	if (node->kind != ARK_WORKFLOW_NODE_STRING) {
		ark_workflow_context_add(ctx, path, "expected a string, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return node->v.string;
}

static const gchar *
ark_workflow_expect_nonempty(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			     const ArkWorkflowNode *node)
{
	const gchar *str = ark_workflow_expect_string(ctx, path, node);
	if (str != NULL && str[0] == '\0') {
		ark_workflow_context_add(ctx, path, "must not be empty");
		return NULL;
	}
	return str;
}

static const ArkWorkflowNode *
ark_workflow_expect_object(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			   const ArkWorkflowNode *node)
{
	if (node->kind != ARK_WORKFLOW_NODE_OBJECT) {
		ark_workflow_context_add(ctx, path, "expected an object, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return node;
}

static const ArkWorkflowNode *
ark_workflow_expect_array(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			  const ArkWorkflowNode *node)
{
	if (node->kind != ARK_WORKFLOW_NODE_ARRAY) {
		ark_workflow_context_add(ctx, path, "expected an array, got %s",
					 ark_workflow_node_kind(node));
		return NULL;
	}
	return node;
}

static gboolean
ark_workflow_expect_boolean(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, gboolean *out)
{
	if (node->kind != ARK_WORKFLOW_NODE_BOOLEAN) {
		ark_workflow_context_add(ctx, path, "expected true or false, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	*out = node->v.boolean;
	return TRUE;
}

/* a number for a message: whole numbers in full unless they are huge */
static gchar *
ark_workflow_format_number(gdouble value)
{
	if (fabs(value) < 1e15)
		return g_strdup_printf("%.0f", value);
	return g_strdup_printf("%g", value);
}

/* an integer, or a number without a fraction (5.0 is an integer to JSON Schema too), from @min
 * to @max; @what names the value in the message */
static gboolean
ark_workflow_expect_integer(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, const gchar *what, gint64 min, gint64 max,
			    gint64 *out)
{
	if (node->kind == ARK_WORKFLOW_NODE_INTEGER) {
		gint64 value = node->v.integer;
		if (value < min || value > max) {
			ark_workflow_context_add(ctx, path,
						 "%s %" G_GINT64_FORMAT
						 " is out of range (%" G_GINT64_FORMAT
						 " to %" G_GINT64_FORMAT ")",
						 what, value, min, max);
			return FALSE;
		}
		*out = value;
		return TRUE;
	}
	if (node->kind == ARK_WORKFLOW_NODE_DOUBLE && node->v.number == floor(node->v.number)) {
		gdouble value = node->v.number;
		if (value < (gdouble)min || value > (gdouble)max) {
			g_autofree gchar *shown = ark_workflow_format_number(value);
			ark_workflow_context_add(ctx, path,
						 "%s %s is out of range (%" G_GINT64_FORMAT
						 " to %" G_GINT64_FORMAT ")",
						 what, shown, min, max);
			return FALSE;
		}
		*out = (gint64)value;
		return TRUE;
	}
	ark_workflow_context_add(ctx, path, "expected an integer, got %s",
				 ark_workflow_node_kind(node));
	return FALSE;
}

/* the paths of the dry run of an override, which are strings */
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
ark_workflow_check_duration_node(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				 const ArkWorkflowNode *node, gint64 *out)
{
	if (node->kind == ARK_WORKFLOW_NODE_STRING) {
		const gchar *str = node->v.string;
		g_autoptr(GError) error = NULL;

		/* no real duration is that long, and the message would quote all of it */
		if (g_utf8_strlen(str, 65) > 64) {
			g_autofree gchar *shown = ark_workflow_shorten(str);
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
	if (node->kind == ARK_WORKFLOW_NODE_INTEGER) {
		gint64 v = node->v.integer;
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
	if (node->kind == ARK_WORKFLOW_NODE_DOUBLE) {
		gdouble v = node->v.number;
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

/* ---- writing JSON ---- */

/* the name of a member, after a comma unless it is the first of its object */
static void
ark_workflow_json_member(GString *out, const gchar *name)
{
	/* appended, not printed: four members per task of every submitted workflow */
	if (out->str[out->len - 1] != '{')
		g_string_append_c(out, ',');
	g_string_append_c(out, '"');
	g_string_append(out, name);
	g_string_append(out, "\":");
}

static void
ark_workflow_json_duration(GString *out, gint64 usec)
{
	g_autofree gchar *str = ark_duration_format(usec);
	ark_json_append_string(out, str);
}

/* the shortest text that reads back as exactly @value */
static void
ark_workflow_json_double(GString *out, gdouble value)
{
	static const gchar *const formats[] = {"%.15g", "%.16g", "%.17g"};
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
		g_ascii_formatd(buf, sizeof(buf), formats[i], value);
		if (g_ascii_strtod(buf, NULL) == value)
			break;
	}
	g_string_append(out, buf);
}

/* a JSON value as compact text; unlike json_to_string(), numbers with an exponent stay valid
 * JSON ("1e-300", json-glib 1.6 writes "1e-300.0") and doubles stay doubles */
static void
ark_workflow_json_value(GString *out, JsonNode *node)
{
	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT: {
		JsonObject *object = json_node_get_object(node);
		g_autoptr(GList) names = json_object_get_members(object);

		g_string_append_c(out, '{');
		for (GList *l = names; l != NULL; l = l->next) {
			if (l != names)
				g_string_append_c(out, ',');
			ark_json_append_string(out, l->data);
			g_string_append_c(out, ':');
			ark_workflow_json_value(out, json_object_get_member(object, l->data));
		}
		g_string_append_c(out, '}');
		return;
	}
	case JSON_NODE_ARRAY: {
		JsonArray *array = json_node_get_array(node);
		guint n = json_array_get_length(array);

		g_string_append_c(out, '[');
		for (guint i = 0; i < n; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			ark_workflow_json_value(out, json_array_get_element(array, i));
		}
		g_string_append_c(out, ']');
		return;
	}
	case JSON_NODE_NULL:
		g_string_append(out, "null");
		return;
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_INT64:
		g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
		break;
	case G_TYPE_DOUBLE: {
		gdouble value = json_node_get_double(node);
		gsize start = out->len;

		/* documents can not hold these, nodes built by a caller can */
		if (!isfinite(value)) {
			g_string_append(out, "null");
			break;
		}
		ark_workflow_json_double(out, value);
		if (strpbrk(out->str + start, ".eE") == NULL)
			g_string_append(out, ".0");
		break;
	}
	case G_TYPE_BOOLEAN:
		g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
		break;
	case G_TYPE_STRING:
		ark_json_append_string(out, json_node_get_string(node));
		break;
	default:
		g_string_append(out, "null");
	}
}

static gchar *
ark_workflow_json_to_string(JsonNode *node)
{
	GString *out = g_string_new(NULL);
	ark_workflow_json_value(out, node);
	return g_string_free(out, FALSE);
}

/* a value of a document as compact text, the way ark_workflow_json_value() writes it */
static void
ark_workflow_node_write(GString *out, const ArkWorkflowNode *node)
{
	switch (node->kind) {
	case ARK_WORKFLOW_NODE_OBJECT:
		g_string_append_c(out, '{');
		for (guint k = 0; k < node->n_children; k++) {
			if (k > 0)
				g_string_append_c(out, ',');
			ark_json_append_string(out, node->v.children[k].name);
			g_string_append_c(out, ':');
			ark_workflow_node_write(out, &node->v.children[k]);
		}
		g_string_append_c(out, '}');
		return;
	case ARK_WORKFLOW_NODE_ARRAY:
		g_string_append_c(out, '[');
		for (guint k = 0; k < node->n_children; k++) {
			if (k > 0)
				g_string_append_c(out, ',');
			ark_workflow_node_write(out, &node->v.children[k]);
		}
		g_string_append_c(out, ']');
		return;
	case ARK_WORKFLOW_NODE_NULL:
		g_string_append(out, "null");
		return;
	case ARK_WORKFLOW_NODE_INTEGER:
		g_string_append_printf(out, "%" G_GINT64_FORMAT, node->v.integer);
		return;
	case ARK_WORKFLOW_NODE_DOUBLE: {
		gsize start = out->len;
		ark_workflow_json_double(out, node->v.number);
		if (strpbrk(out->str + start, ".eE") == NULL)
			g_string_append(out, ".0");
		return;
	}
	case ARK_WORKFLOW_NODE_BOOLEAN:
		g_string_append(out, node->v.boolean ? "true" : "false");
		return;
	case ARK_WORKFLOW_NODE_STRING:
		ark_json_append_string(out, node->v.string);
		return;
	}
}

/* a value of a document as json-glib would have read it, for the arguments of a task */
static JsonNode *
ark_workflow_node_to_json(const ArkWorkflowNode *node)
{
	JsonNode *json;

	switch (node->kind) {
	case ARK_WORKFLOW_NODE_OBJECT: {
		JsonObject *object = json_object_new();

		json = json_node_new(JSON_NODE_OBJECT);
		for (guint k = 0; k < node->n_children; k++) {
			JsonNode *member = ark_workflow_node_to_json(&node->v.children[k]);
			json_node_set_parent(member, json);
			json_object_set_member(object, node->v.children[k].name, member);
		}
		json_node_take_object(json, object);
		return json;
	}
	case ARK_WORKFLOW_NODE_ARRAY: {
		JsonArray *array = json_array_sized_new(node->n_children);

		json = json_node_new(JSON_NODE_ARRAY);
		for (guint k = 0; k < node->n_children; k++) {
			JsonNode *element = ark_workflow_node_to_json(&node->v.children[k]);
			json_node_set_parent(element, json);
			json_array_add_element(array, element);
		}
		json_node_take_array(json, array);
		return json;
	}
	case ARK_WORKFLOW_NODE_NULL:
		return json_node_new(JSON_NODE_NULL);
	case ARK_WORKFLOW_NODE_INTEGER:
		json = json_node_new(JSON_NODE_VALUE);
		json_node_set_int(json, node->v.integer);
		return json;
	case ARK_WORKFLOW_NODE_DOUBLE:
		json = json_node_new(JSON_NODE_VALUE);
		json_node_set_double(json, node->v.number);
		return json;
	case ARK_WORKFLOW_NODE_BOOLEAN:
		json = json_node_new(JSON_NODE_VALUE);
		json_node_set_boolean(json, node->v.boolean);
		return json;
	case ARK_WORKFLOW_NODE_STRING:
		json = json_node_new(JSON_NODE_VALUE);
		json_node_set_string(json, node->v.string);
		return json;
	}
	g_return_val_if_reached(NULL);
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
	ARK_WORKFLOW_FIELD_RETRY = 1 << 16,
	ARK_WORKFLOW_FIELD_QUEUE_TIMEOUT = 1 << 17,
	ARK_WORKFLOW_FIELD_CPUS = 1 << 18,
	ARK_WORKFLOW_FIELD_MEMORY = 1 << 19,
	ARK_WORKFLOW_FIELD_GPUS = 1 << 20,
	ARK_WORKFLOW_FIELD_CONCURRENCY = 1 << 21,
	ARK_WORKFLOW_FIELD_INPUT = 1 << 22,
	ARK_WORKFLOW_FIELD_AGENT = 1 << 23,
	ARK_WORKFLOW_FIELD_SIMULATE = 1 << 30,
	/* not a member: "run" was a script string, which the definition writes back as one */
	ARK_WORKFLOW_FIELD_RUN_IS_STRING = 1 << 31,
} ArkWorkflowField;

/*
 * What one task object (or the defaults object) says, before defaults are applied. Strings
 * point into the tree being read, which outlives the fields; the arrays are kept from one task
 * to the next, so that reading a task allocates nothing in the common case.
 */
typedef struct {
	guint set; /* ArkWorkflowField bits of the members that were present and valid */
	const gchar *id;
	GPtrArray *needs;    /* of const gchar *, without duplicates */
	GArray *needs_index; /* guint: position of each need in the document's array */
	const gchar *executor;
	gboolean has_run;
	GPtrArray *run; /* of const gchar * */
	gboolean run_is_string;
	gboolean shell;
	const gchar *cwd;
	GPtrArray *env;	   /* of "KEY=VALUE", in env_text */
	GString *env_text; /* "KEY=VALUE\0KEY=VALUE\0" */
	const gchar *function;
	JsonNode *args;
	gint priority;
	gint64 estimate;
	gint64 timeout;
	gint64 deadline_relative;
	gint64 deadline_absolute;
	gboolean allow_failure;
	const gchar *description;
	gchar *labels;	      /* compact JSON */
	ArkRetryPolicy retry; /* exit_codes owned here */
	gint64 queue_timeout;
	gdouble cpus;
	guint64 memory;
	guint gpus;
	const gchar *concurrency_key;
	guint concurrency_limit;
	gchar *simulate;	      /* compact JSON */
	ArkTaskSimulation simulation; /* parsed @simulate */
	JsonNode *input;
	struct _ArkWorkflowAgent *agent; /* owned; in defaults only lease and max_handoffs */
} ArkWorkflowFields;

/* the members of "agent" a document gave, for the definition */
typedef enum {
	ARK_WORKFLOW_AGENT_CAPABILITIES = 1 << 0,
	ARK_WORKFLOW_AGENT_MODE = 1 << 1,
	ARK_WORKFLOW_AGENT_CONTENDERS = 1 << 2,
	ARK_WORKFLOW_AGENT_ACCEPT = 1 << 3,
	ARK_WORKFLOW_AGENT_SHARDS = 1 << 4,
	ARK_WORKFLOW_AGENT_SHARDS_FROM = 1 << 5,
	ARK_WORKFLOW_AGENT_LEASE = 1 << 6,
	ARK_WORKFLOW_AGENT_MAX_HANDOFFS = 1 << 7,
} ArkWorkflowAgentMember;

#define ARK_WORKFLOW_AGENT_DEFAULT_MODE "delegated"
#define ARK_WORKFLOW_AGENT_DEFAULT_LEASE (60 * G_USEC_PER_SEC)
#define ARK_WORKFLOW_AGENT_DEFAULT_MAX_HANDOFFS 5
#define ARK_WORKFLOW_MAX_HANDOFFS_LIMIT 1000
#define ARK_WORKFLOW_MAX_CAPABILITY_LEN 128

/* an agent task's spec and which of its members the document gave; few tasks have one, so
 * each is an allocation of its own */
typedef struct _ArkWorkflowAgent {
	ArkAgentSpec spec; /* first: a task's spec points here */
	guint32 set;	   /* ArkWorkflowAgentMember bits */
} ArkWorkflowAgent;

static void
ark_workflow_agent_free(ArkWorkflowAgent *agent)
{
	if (agent == NULL)
		return;
	g_strfreev(agent->spec.capabilities);
	g_free(agent->spec.mode);
	g_clear_pointer(&agent->spec.shards, json_node_unref);
	g_free(agent->spec.shards_from);
	g_clear_pointer(&agent->spec.accept_schema, json_node_unref);
	g_strfreev(agent->spec.accept_command);
	g_free(agent);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkWorkflowAgent, ark_workflow_agent_free)

static void
ark_workflow_fields_init(ArkWorkflowFields *f)
{
	memset(f, 0, sizeof(*f));
	f->needs = g_ptr_array_new();
	f->needs_index = g_array_new(FALSE, FALSE, sizeof(guint));
	f->run = g_ptr_array_new();
	f->env = g_ptr_array_new();
	f->env_text = g_string_new(NULL);
}

/* empty again for the next task, with the arrays kept */
static void
ark_workflow_fields_reset(ArkWorkflowFields *f)
{
	GPtrArray *needs = f->needs;
	GArray *needs_index = f->needs_index;
	GPtrArray *run = f->run;
	GPtrArray *env = f->env;
	GString *env_text = f->env_text;

	g_clear_pointer(&f->args, json_node_unref);
	g_clear_pointer(&f->input, json_node_unref);
	g_clear_pointer(&f->agent, ark_workflow_agent_free);
	g_free(f->labels);
	g_free(f->simulate);
	g_free(f->retry.exit_codes);
	memset(f, 0, sizeof(*f));
	f->needs = needs;
	f->needs_index = needs_index;
	f->run = run;
	f->env = env;
	f->env_text = env_text;
	g_ptr_array_set_size(f->needs, 0);
	g_array_set_size(f->needs_index, 0);
	g_ptr_array_set_size(f->run, 0);
	g_ptr_array_set_size(f->env, 0);
	g_string_truncate(f->env_text, 0);
}

static void
ark_workflow_fields_clear(ArkWorkflowFields *f)
{
	if (f->needs == NULL)
		return;
	ark_workflow_fields_reset(f);
	g_ptr_array_unref(f->needs);
	g_array_unref(f->needs_index);
	g_ptr_array_unref(f->run);
	g_ptr_array_unref(f->env);
	g_string_free(f->env_text, TRUE);
	memset(f, 0, sizeof(*f));
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowFields, ark_workflow_fields_clear)

typedef gboolean (*ArkWorkflowCheckFunc)(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
					 const ArkWorkflowNode *node, ArkWorkflowFields *f);

static gboolean
ark_workflow_check_id(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
		      const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *id = ark_workflow_expect_string(ctx, path, node);
	gsize len;

	if (id == NULL)
		return FALSE;
	if (id[0] == '\0') {
		ark_workflow_context_add(ctx, path, "task id must not be empty");
		return FALSE;
	}
	/* no character is less than a byte long */
	len = strlen(id);
	if (len > ARK_WORKFLOW_MAX_ID_LEN && g_utf8_strlen(id, -1) > ARK_WORKFLOW_MAX_ID_LEN) {
		g_autofree gchar *shown = ark_workflow_shorten(id);
		ark_workflow_context_add(ctx, path,
					 "task id '%s' is too long (%ld characters, at most %d)",
					 shown, g_utf8_strlen(id, -1), ARK_WORKFLOW_MAX_ID_LEN);
		return FALSE;
	}
	/* ids become file names for logs and artifacts: the pattern also rules out "." and ".." */
	if (!ark_workflow_is_id(id)) {
		g_autofree gchar *shown = ark_workflow_shorten(id);
		ark_workflow_context_add(ctx, path,
					 "invalid task id '%s' (use letters, digits, '_', '.' and "
					 "'-', starting with a letter, digit or '_')",
					 shown);
		return FALSE;
	}
	f->id = id;
	return TRUE;
}

static gboolean
ark_workflow_check_needs(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const ArkWorkflowNode *array = ark_workflow_expect_array(ctx, path, node);
	g_autoptr(GHashTable) seen = NULL;
	guint n;
	gboolean ok = TRUE;

	if (array == NULL)
		return FALSE;
	n = array->n_children;
	if (n > ARK_WORKFLOW_MAX_NEEDS) {
		ark_workflow_context_add(ctx, path, "too many needs (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_NEEDS);
		return FALSE;
	}
	/* a few needs are compared one by one */
	if (n > ARK_WORKFLOW_MAX_LISTED_NAMES)
		seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(path, i);
		const gchar *need =
		    ark_workflow_expect_string(ctx, &element, &array->v.children[i]);
		gboolean duplicate = FALSE;

		if (need == NULL) {
			ok = FALSE;
			continue;
		}
		if (seen != NULL) {
			duplicate = !g_hash_table_add(seen, (gpointer)need);
		} else {
			for (guint k = 0; k < f->needs->len && !duplicate; k++)
				duplicate = strcmp(g_ptr_array_index(f->needs, k), need) == 0;
		}
		if (duplicate) {
			g_autofree gchar *shown = ark_workflow_shorten(need);
			ark_workflow_context_add(ctx, &element, "duplicate need '%s'", shown);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(f->needs, (gpointer)need);
		g_array_append_val(f->needs_index, i);
	}
	return ok;
}

static gboolean
ark_workflow_check_executor(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
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
	f->executor = name;
	return TRUE;
}

static gboolean
ark_workflow_check_run(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
		       const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	guint n;
	gboolean ok = TRUE;

	g_ptr_array_set_size(f->run, 0);
	f->has_run = FALSE;
	if (node->kind == ARK_WORKFLOW_NODE_STRING) {
		const gchar *script = node->v.string;
		if (script[0] == '\0') {
			ark_workflow_context_add(ctx, path, "the script must not be empty");
			return FALSE;
		}
		g_ptr_array_add(f->run, (gpointer)script);
		f->has_run = TRUE;
		f->run_is_string = TRUE;
		return TRUE;
	}
	if (node->kind != ARK_WORKFLOW_NODE_ARRAY) {
		ark_workflow_context_add(ctx, path,
					 "expected an array of arguments (or, with \"shell\": "
					 "true, a string), got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	n = node->n_children;
	if (n == 0) {
		ark_workflow_context_add(ctx, path, "must have at least the program to run");
		return FALSE;
	}
	if (n > ARK_WORKFLOW_MAX_ARGV) {
		ark_workflow_context_add(ctx, path, "too many arguments (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_ARGV);
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(path, i);
		const gchar *arg = ark_workflow_expect_string(ctx, &element, &node->v.children[i]);
		if (arg == NULL) {
			ok = FALSE;
			continue;
		}
		if (i == 0 && arg[0] == '\0') {
			ark_workflow_context_add(ctx, &element, "the program must not be empty");
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(f->run, (gpointer)arg);
	}
	if (!ok) {
		g_ptr_array_set_size(f->run, 0);
		return FALSE;
	}
	f->has_run = TRUE;
	return TRUE;
}

static gboolean
ark_workflow_check_shell(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	return ark_workflow_expect_boolean(ctx, path, node, &f->shell);
}

static gboolean
ark_workflow_check_cwd(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
		       const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *cwd = ark_workflow_expect_nonempty(ctx, path, node);
	if (cwd == NULL)
		return FALSE;
	f->cwd = cwd;
	return TRUE;
}

/* checks an object of string values; with @f, collects "KEY=VALUE" into f->env */
static gboolean
ark_workflow_check_string_map(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			      const ArkWorkflowNode *node, gboolean env_names, ArkWorkflowFields *f)
{
	const ArkWorkflowNode *object = ark_workflow_expect_object(ctx, path, node);
	gboolean ok = TRUE;

	if (object == NULL)
		return FALSE;
	for (guint k = 0; k < object->n_children; k++) {
		const ArkWorkflowNode *member = &object->v.children[k];
		const gchar *name = member->name;
		ArkWorkflowPath member_path = ARK_WORKFLOW_PATH_MEMBER(path, name);
		const gchar *value;

		if (env_names && !ark_workflow_is_env_name(name)) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			ark_workflow_context_add(ctx, &member_path,
						 "invalid environment variable name '%s' (use "
						 "letters, digits and '_', not starting with a "
						 "digit)",
						 shown);
			ok = FALSE;
			continue;
		}
		if (!env_names && name[0] == '\0') {
			ark_workflow_context_add(ctx, &member_path,
						 "label names must not be empty");
			ok = FALSE;
			continue;
		}
		value = ark_workflow_expect_string(ctx, &member_path, member);
		if (value == NULL) {
			ok = FALSE;
			continue;
		}
		if (f != NULL) {
			/* offsets while the text grows, pointers once it is done */
			g_ptr_array_add(f->env, GSIZE_TO_POINTER(f->env_text->len));
			g_string_append(f->env_text, name);
			g_string_append_c(f->env_text, '=');
			g_string_append_len(f->env_text, value, (gssize)strlen(value) + 1);
		}
	}
	if (f != NULL) {
		for (guint k = 0; k < f->env->len; k++)
			f->env->pdata[k] = f->env_text->str + GPOINTER_TO_SIZE(f->env->pdata[k]);
	}
	return ok;
}

static gboolean
ark_workflow_check_env(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
		       const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	g_ptr_array_set_size(f->env, 0);
	g_string_truncate(f->env_text, 0);
	if (!ark_workflow_check_string_map(ctx, path, node, TRUE, f)) {
		g_ptr_array_set_size(f->env, 0);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ark_workflow_check_function(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *function = ark_workflow_expect_nonempty(ctx, path, node);
	if (function == NULL)
		return FALSE;
	f->function = function;
	return TRUE;
}

static gboolean
ark_workflow_check_args(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	/* null says "no arguments", which ArkTaskSpec spells NULL */
	if (node->kind == ARK_WORKFLOW_NODE_NULL)
		return TRUE;
	g_clear_pointer(&f->args, json_node_unref);
	f->args = ark_workflow_node_to_json(node);
	return TRUE;
}

static gboolean
ark_workflow_check_priority(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	gint64 value;

	if (!ark_workflow_expect_integer(ctx, path, node, "priority", -ARK_WORKFLOW_PRIORITY_LIMIT,
					 ARK_WORKFLOW_PRIORITY_LIMIT, &value))
		return FALSE;
	f->priority = (gint)value;
	return TRUE;
}

static gboolean
ark_workflow_check_estimate(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	return ark_workflow_check_duration_node(ctx, path, node, &f->estimate);
}

static gboolean
ark_workflow_check_timeout(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			   const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	return ark_workflow_check_duration_node(ctx, path, node, &f->timeout);
}

static gboolean
ark_workflow_check_deadline(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *str = ark_workflow_expect_string(ctx, path, node);
	g_autofree gchar *shown = NULL;
	g_autoptr(GDateTime) dt = NULL;
	g_autoptr(GDateTime) utc = NULL;
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
	/* "9999-12-31T23:00:00-02:00" is a valid date in its offset but not in UTC, which
	 * GDateTime (and so the definition, and whoever formats the deadline) can not hold */
	utc = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
	if (utc == NULL) {
		ark_workflow_context_add(ctx, path, "invalid deadline '%s': after the year 9999",
					 shown);
		return FALSE;
	}
	f->deadline_absolute = usec;
	return TRUE;
}

static gboolean
ark_workflow_check_allow_failure(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	return ark_workflow_expect_boolean(ctx, path, node, &f->allow_failure);
}

static gboolean
ark_workflow_check_description(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			       const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *str = ark_workflow_expect_string(ctx, path, node);

	if (str == NULL)
		return FALSE;
	f->description = str;
	return TRUE;
}

static gboolean
ark_workflow_check_labels(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			  const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	GString *labels;

	/* labels are for people and front-ends: they stay in the definition only */
	if (!ark_workflow_check_string_map(ctx, path, node, FALSE, NULL))
		return FALSE;
	labels = g_string_new(NULL);
	ark_workflow_node_write(labels, node);
	g_free(f->labels);
	f->labels = g_string_free(labels, FALSE);
	return TRUE;
}

static const gchar *const ark_workflow_simulate_members[] = {
    "duration", "distribution", "mean", "sigma", "min", "max",
};

static const gchar *const ark_workflow_distributions[] = {
    "lognormal",
    "exponential",
    "uniform",
};

/* the largest sigma of a log-normal: e^(sigma^2) overflows long before a useful shape */
#define ARK_WORKFLOW_MAX_SIGMA 10.0

/*
 * "simulate": {"duration": D} or {"distribution": "lognormal", "mean": D, "sigma": S},
 * {"distribution": "exponential", "mean": D}, {"distribution": "uniform", "min": D, "max": D}:
 * the duration `arkitect simulate` gives the task; a real run ignores it
 */
static gboolean
ark_workflow_check_simulate(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	ArkTaskSimulation sim = {0};
	const gchar *distribution = NULL;
	const ArkWorkflowNode *seen[G_N_ELEMENTS(ark_workflow_simulate_members)] = {NULL};
	gboolean ok = TRUE;
	GString *json;

	if (ark_workflow_expect_object(ctx, path, node) == NULL)
		return FALSE;
	for (guint k = 0; k < node->n_children; k++) {
		const ArkWorkflowNode *child = &node->v.children[k];
		ArkWorkflowPath member = ARK_WORKFLOW_PATH_MEMBER(path, child->name);
		guint m;

		for (m = 0; m < G_N_ELEMENTS(ark_workflow_simulate_members); m++) {
			if (strcmp(child->name, ark_workflow_simulate_members[m]) == 0)
				break;
		}
		if (m == G_N_ELEMENTS(ark_workflow_simulate_members)) {
			g_autofree gchar *shown = ark_workflow_shorten(child->name);
			g_autofree gchar *hint = ark_workflow_did_you_mean(ark_workflow_suggest(
			    child->name, ark_workflow_simulate_members,
			    G_N_ELEMENTS(ark_workflow_simulate_members)));
			ark_workflow_context_add(ctx, &member, "unknown member '%s'%s", shown,
						 hint);
			ok = FALSE;
			continue;
		}
		seen[m] = child;
		if (strcmp(child->name, "distribution") == 0) {
			distribution = ark_workflow_expect_string(ctx, &member, child);
			if (distribution == NULL) {
				ok = FALSE;
			} else if (g_strcmp0(distribution, "lognormal") == 0) {
				sim.kind = ARK_SIMULATION_LOGNORMAL;
			} else if (g_strcmp0(distribution, "exponential") == 0) {
				sim.kind = ARK_SIMULATION_EXPONENTIAL;
			} else if (g_strcmp0(distribution, "uniform") == 0) {
				sim.kind = ARK_SIMULATION_UNIFORM;
			} else {
				ark_workflow_add_unknown_word(
				    ctx, &member, "distribution", distribution,
				    ark_workflow_distributions,
				    G_N_ELEMENTS(ark_workflow_distributions),
				    "lognormal, exponential or uniform");
				distribution = NULL;
				ok = FALSE;
			}
		} else if (strcmp(child->name, "sigma") == 0) {
			gdouble value;
			if (child->kind == ARK_WORKFLOW_NODE_INTEGER) {
				value = (gdouble)child->v.integer;
			} else if (child->kind == ARK_WORKFLOW_NODE_DOUBLE) {
				value = child->v.number;
			} else {
				ark_workflow_context_add(ctx, &member, "expected a number, got %s",
							 ark_workflow_node_kind(child));
				ok = FALSE;
				continue;
			}
			if (!(value >= 0 && value <= ARK_WORKFLOW_MAX_SIGMA)) {
				ark_workflow_context_add(ctx, &member,
							 "sigma %g is out of range (0 to %g)", value,
							 ARK_WORKFLOW_MAX_SIGMA);
				ok = FALSE;
				continue;
			}
			sim.sigma = value;
		} else {
			gint64 *out = strcmp(child->name, "min") == 0	? &sim.min
				      : strcmp(child->name, "max") == 0 ? &sim.max
									: &sim.mean;
			if (!ark_workflow_check_duration_node(ctx, &member, child, out))
				ok = FALSE;
		}
	}
	if (!ok)
		return FALSE;

	/* which members go with which form: a fixed duration, or one distribution's parameters */
	{
		const gchar *form = distribution != NULL ? distribution : "duration";
		const gchar *needed[3] = {NULL};
		gboolean allowed[G_N_ELEMENTS(ark_workflow_simulate_members)] = {FALSE};

		if (distribution == NULL && seen[1] == NULL) {
			needed[0] = "duration";
			allowed[0] = TRUE;
		} else if (sim.kind == ARK_SIMULATION_LOGNORMAL) {
			needed[0] = "mean";
			needed[1] = "sigma";
			allowed[1] = allowed[2] = allowed[3] = TRUE;
		} else if (sim.kind == ARK_SIMULATION_EXPONENTIAL) {
			needed[0] = "mean";
			allowed[1] = allowed[2] = TRUE;
		} else {
			needed[0] = "min";
			needed[1] = "max";
			allowed[1] = allowed[4] = allowed[5] = TRUE;
		}
		for (guint m = 0; m < G_N_ELEMENTS(ark_workflow_simulate_members); m++) {
			ArkWorkflowPath member =
			    ARK_WORKFLOW_PATH_MEMBER(path, ark_workflow_simulate_members[m]);
			if (seen[m] == NULL || allowed[m])
				continue;
			ark_workflow_context_add(ctx, &member, "'%s' does not go with %s%s",
						 ark_workflow_simulate_members[m],
						 distribution != NULL ? "distribution " : "",
						 form);
			ok = FALSE;
		}
		for (guint n = 0; needed[n] != NULL; n++) {
			guint m;
			for (m = 0; strcmp(ark_workflow_simulate_members[m], needed[n]) != 0; m++)
				;
			if (seen[m] != NULL)
				continue;
			if (distribution != NULL)
				ark_workflow_context_add(ctx, path,
							 "distribution %s needs '%s'",
							 distribution, needed[n]);
			else
				ark_workflow_context_add(
				    ctx, path, "expected 'duration' or 'distribution'");
			ok = FALSE;
		}
	}
	if (ok && sim.kind == ARK_SIMULATION_UNIFORM && sim.max < sim.min) {
		ArkWorkflowPath member = ARK_WORKFLOW_PATH_MEMBER(path, "max");
		ark_workflow_context_add(ctx, &member, "max is shorter than min");
		ok = FALSE;
	}
	if (!ok)
		return FALSE;

	json = g_string_new(NULL);
	ark_workflow_node_write(json, node);
	g_free(f->simulate);
	f->simulate = g_string_free(json, FALSE);
	f->simulation = sim;
	return TRUE;
}

static gboolean
ark_workflow_check_queue_timeout(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	return ark_workflow_check_duration_node(ctx, path, node, &f->queue_timeout);
}

/* ---- retry ---- */

/* in the order of the ArkRetryOn bits */
static const gchar *const ark_workflow_retry_outcomes[] = {"failed", "timed_out", "lost",
							   "error"};

static const gchar *const ark_workflow_retry_members[] = {
    "max_attempts", "backoff", "initial_delay", "max_delay",
    "multiplier",   "jitter",  "on",	    "exit_codes",
};

static void
ark_workflow_retry_init(ArkRetryPolicy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->max_attempts = 1;
	policy->backoff = ARK_BACKOFF_EXPONENTIAL;
	policy->initial_delay = G_USEC_PER_SEC;
	policy->max_delay = 5 * 60 * G_USEC_PER_SEC;
	policy->multiplier = 2.0;
	policy->jitter = TRUE;
	policy->retry_on = ARK_RETRY_ON_DEFAULT;
}

static gboolean
ark_workflow_check_retry_on(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			    const ArkWorkflowNode *node, guint *out)
{
	const ArkWorkflowNode *array = ark_workflow_expect_array(ctx, path, node);
	guint flags = 0;
	gboolean ok = TRUE;
	guint n;

	if (array == NULL)
		return FALSE;
	n = array->n_children;
	if (n == 0) {
		ark_workflow_context_add(ctx, path,
					 "must name at least one outcome (failed, timed_out, lost "
					 "or error); for no retries, set max_attempts to 1");
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(path, i);
		const gchar *name =
		    ark_workflow_expect_string(ctx, &element, &array->v.children[i]);
		guint flag = 0;

		if (name == NULL) {
			ok = FALSE;
			continue;
		}
		for (guint k = 0; k < G_N_ELEMENTS(ark_workflow_retry_outcomes); k++) {
			if (strcmp(name, ark_workflow_retry_outcomes[k]) == 0)
				flag = 1u << k;
		}
		if (flag == 0) {
			ark_workflow_add_unknown_word(ctx, &element, "outcome", name,
						      ark_workflow_retry_outcomes,
						      G_N_ELEMENTS(ark_workflow_retry_outcomes),
						      "failed, timed_out, lost or error");
			ok = FALSE;
			continue;
		}
		if (flags & flag) {
			ark_workflow_context_add(ctx, &element, "duplicate outcome '%s'", name);
			ok = FALSE;
			continue;
		}
		flags |= flag;
	}
	*out = flags;
	return ok;
}

static gboolean
ark_workflow_check_exit_codes(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			      const ArkWorkflowNode *node, ArkRetryPolicy *policy)
{
	const ArkWorkflowNode *array = ark_workflow_expect_array(ctx, path, node);
	gboolean seen[256] = {FALSE};
	g_autofree gint *codes = NULL;
	guint n_codes = 0;
	gboolean ok = TRUE;
	guint n;

	if (array == NULL)
		return FALSE;
	n = array->n_children;
	if (n == 0) {
		ark_workflow_context_add(ctx, path,
					 "must list at least one exit code (leave exit_codes out "
					 "to retry whatever the exit code)");
		return FALSE;
	}
	if (n > ARK_WORKFLOW_MAX_EXIT_CODES) {
		ark_workflow_context_add(ctx, path, "too many exit codes (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_EXIT_CODES);
		return FALSE;
	}
	codes = g_new(gint, n);
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(path, i);
		gint64 code;

		if (!ark_workflow_expect_integer(ctx, &element, &array->v.children[i], "exit code",
						 1, 255, &code)) {
			ok = FALSE;
			continue;
		}
		if (seen[code]) {
			ark_workflow_context_add(ctx, &element,
						 "duplicate exit code %" G_GINT64_FORMAT, code);
			ok = FALSE;
			continue;
		}
		seen[code] = TRUE;
		codes[n_codes++] = (gint)code;
	}
	if (!ok)
		return FALSE;
	policy->exit_codes = g_steal_pointer(&codes);
	policy->n_exit_codes = n_codes;
	return TRUE;
}

static gboolean
ark_workflow_check_retry_object(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				const ArkWorkflowNode *object, ArkRetryPolicy *policy)
{
	ArkWorkflowPath initial_path = ARK_WORKFLOW_PATH_MEMBER(path, NULL);
	ArkWorkflowPath max_path = ARK_WORKFLOW_PATH_MEMBER(path, NULL);
	ArkWorkflowPath codes_path = ARK_WORKFLOW_PATH_MEMBER(path, NULL);
	gboolean initial_ok = TRUE;
	gboolean max_ok = TRUE;
	gboolean on_ok = TRUE;
	gboolean ok = TRUE;

	for (guint k = 0; k < object->n_children; k++) {
		const ArkWorkflowNode *node = &object->v.children[k];
		const gchar *name = node->name;
		ArkWorkflowPath member = ARK_WORKFLOW_PATH_MEMBER(path, name);

		if (strcmp(name, "max_attempts") == 0) {
			gint64 value;
			if (ark_workflow_expect_integer(ctx, &member, node, "max_attempts", 1,
							ARK_WORKFLOW_MAX_ATTEMPTS, &value))
				policy->max_attempts = (guint)value;
			else
				ok = FALSE;
		} else if (strcmp(name, "backoff") == 0) {
			const gchar *str = ark_workflow_expect_string(ctx, &member, node);
			if (g_strcmp0(str, "exponential") == 0) {
				policy->backoff = ARK_BACKOFF_EXPONENTIAL;
			} else if (g_strcmp0(str, "fixed") == 0) {
				policy->backoff = ARK_BACKOFF_FIXED;
			} else {
				static const gchar *const kinds[] = {"exponential", "fixed"};
				if (str != NULL)
					ark_workflow_add_unknown_word(ctx, &member, "backoff", str,
								      kinds, G_N_ELEMENTS(kinds),
								      "exponential or fixed");
				ok = FALSE;
			}
		} else if (strcmp(name, "initial_delay") == 0) {
			initial_path.name = name;
			initial_ok = ark_workflow_check_duration_node(ctx, &member, node,
								     &policy->initial_delay);
		} else if (strcmp(name, "max_delay") == 0) {
			max_path.name = name;
			max_ok = ark_workflow_check_duration_node(ctx, &member, node,
								 &policy->max_delay);
		} else if (strcmp(name, "multiplier") == 0) {
			gdouble value;
			if (node->kind == ARK_WORKFLOW_NODE_INTEGER) {
				value = (gdouble)node->v.integer;
			} else if (node->kind == ARK_WORKFLOW_NODE_DOUBLE) {
				value = node->v.number;
			} else {
				ark_workflow_context_add(ctx, &member, "expected a number, got %s",
							 ark_workflow_node_kind(node));
				ok = FALSE;
				continue;
			}
			if (!(value >= 1 && value <= ARK_WORKFLOW_MAX_MULTIPLIER)) {
				ark_workflow_context_add(ctx, &member,
							 "multiplier %g is out of range (1 to %d)",
							 value, ARK_WORKFLOW_MAX_MULTIPLIER);
				ok = FALSE;
				continue;
			}
			policy->multiplier = value;
		} else if (strcmp(name, "jitter") == 0) {
			if (!ark_workflow_expect_boolean(ctx, &member, node, &policy->jitter))
				ok = FALSE;
		} else if (strcmp(name, "on") == 0) {
			on_ok = ark_workflow_check_retry_on(ctx, &member, node, &policy->retry_on);
		} else if (strcmp(name, "exit_codes") == 0) {
			codes_path.name = name;
			if (!ark_workflow_check_exit_codes(ctx, &member, node, policy))
				ok = FALSE;
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_did_you_mean(
			    ark_workflow_suggest(name, ark_workflow_retry_members,
						 G_N_ELEMENTS(ark_workflow_retry_members)));
			ark_workflow_context_add(ctx, &member, "unknown member '%s'%s", shown,
						 hint);
			ok = FALSE;
		}
	}
	ok = ok && initial_ok && max_ok && on_ok;

	/* only when both are known, so that one mistake is not reported twice */
	if (initial_ok && max_ok && policy->max_delay < policy->initial_delay) {
		g_autofree gchar *initial = ark_duration_format(policy->initial_delay);
		g_autofree gchar *max = ark_duration_format(policy->max_delay);
		if (max_path.name != NULL)
			ark_workflow_context_add(ctx, &max_path,
						 "max_delay %s is shorter than initial_delay %s",
						 max, initial);
		else
			ark_workflow_context_add(ctx, &initial_path,
						 "initial_delay %s is longer than the default "
						 "max_delay %s (set max_delay too)",
						 initial, max);
		ok = FALSE;
	}
	if (on_ok && codes_path.name != NULL && !(policy->retry_on & ARK_RETRY_ON_FAILED)) {
		ark_workflow_context_add(ctx, &codes_path,
					 "exit codes only matter for the \"failed\" outcome, which "
					 "\"on\" leaves out");
		ok = FALSE;
	}
	return ok;
}

/* an object, or a number of attempts: "retry": 3 is {"max_attempts": 3} */
static gboolean
ark_workflow_check_retry(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	ArkRetryPolicy policy;

	ark_workflow_retry_init(&policy);
	if (node->kind == ARK_WORKFLOW_NODE_INTEGER || node->kind == ARK_WORKFLOW_NODE_DOUBLE) {
		gint64 value;
		if (!ark_workflow_expect_integer(ctx, path, node, "max_attempts", 1,
						 ARK_WORKFLOW_MAX_ATTEMPTS, &value))
			return FALSE;
		policy.max_attempts = (guint)value;
	} else if (node->kind == ARK_WORKFLOW_NODE_OBJECT) {
		if (!ark_workflow_check_retry_object(ctx, path, node, &policy)) {
			g_free(policy.exit_codes);
			return FALSE;
		}
	} else {
		ark_workflow_context_add(ctx, path,
					 "expected an object or a number of attempts, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	g_free(f->retry.exit_codes);
	f->retry = policy;
	return TRUE;
}

/* ---- resources ---- */

static gboolean
ark_workflow_check_cpus(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	gdouble value;

	if (node->kind == ARK_WORKFLOW_NODE_INTEGER)
		value = (gdouble)node->v.integer;
	else if (node->kind == ARK_WORKFLOW_NODE_DOUBLE)
		value = node->v.number;
	else {
		ark_workflow_context_add(ctx, path, "expected a number of CPUs, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	/* a thousandth of a CPU is the finest the dispatcher counts */
	if (!(value >= 0.001) || value > ARK_WORKFLOW_MAX_CPUS) {
		g_autofree gchar *shown = g_strdup_printf("%g", value);
		ark_workflow_context_add(ctx, path,
					 "cpus %s is out of range (0.001 to %d); leave it out to ask "
					 "for none",
					 shown, ARK_WORKFLOW_MAX_CPUS);
		return FALSE;
	}
	f->cpus = value;
	return TRUE;
}

/* a size as a string ("512M", "2G") or a number of bytes */
static gboolean
ark_workflow_check_memory(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			  const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	if (node->kind == ARK_WORKFLOW_NODE_STRING) {
		g_autoptr(GError) error = NULL;
		guint64 bytes = 0;
		if (g_utf8_strlen(node->v.string, 33) > 32) {
			g_autofree gchar *shown = ark_workflow_shorten(node->v.string);
			ark_workflow_context_add(ctx, path, "invalid size '%s': too long", shown);
			return FALSE;
		}
		if (!ark_size_parse(node->v.string, &bytes, &error)) {
			ark_workflow_context_add(ctx, path, "%s", error->message);
			return FALSE;
		}
		if (bytes == 0) {
			ark_workflow_context_add(ctx, path,
						 "memory must be more than 0; leave it out to ask for "
						 "none");
			return FALSE;
		}
		f->memory = bytes;
		return TRUE;
	}
	if (node->kind == ARK_WORKFLOW_NODE_INTEGER ||
	    (node->kind == ARK_WORKFLOW_NODE_DOUBLE && node->v.number == floor(node->v.number))) {
		gint64 bytes;
		if (!ark_workflow_expect_integer(ctx, path, node, "memory", 1, G_MAXINT64, &bytes))
			return FALSE;
		f->memory = (guint64)bytes;
		return TRUE;
	}
	ark_workflow_context_add(ctx, path, "expected a size such as \"512M\" or a number of bytes, "
				 "got %s",
				 ark_workflow_node_kind(node));
	return FALSE;
}

static gboolean
ark_workflow_check_gpus(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	gint64 value;

	if (!ark_workflow_expect_integer(ctx, path, node, "gpus", 0, ARK_WORKFLOW_MAX_GPUS, &value))
		return FALSE;
	f->gpus = (guint)value;
	return TRUE;
}

static gboolean
ark_workflow_is_key_name(const gchar *str)
{
	if (str[0] == '\0' || strlen(str) > ARK_WORKFLOW_MAX_ID_LEN)
		return FALSE;
	for (const gchar *p = str; *p != '\0'; p++) {
		if (!(g_ascii_isalnum(*p) || *p == '_' || *p == '.' || *p == '-' || *p == ':'))
			return FALSE;
	}
	return TRUE;
}

/* {"key": "deploy-prod", "limit": 1} */
static gboolean
ark_workflow_check_concurrency(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			       const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	const gchar *key = NULL;
	gint64 limit = 0;
	gboolean ok = TRUE;

	if (node->kind != ARK_WORKFLOW_NODE_OBJECT) {
		ark_workflow_context_add(ctx, path,
					 "expected an object such as {\"key\": \"deploy-prod\", "
					 "\"limit\": 1}, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	for (guint k = 0; k < node->n_children; k++) {
		const ArkWorkflowNode *member = &node->v.children[k];
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, member->name);
		if (strcmp(member->name, "key") == 0) {
			key = ark_workflow_expect_nonempty(ctx, &at, member);
			if (key == NULL) {
				ok = FALSE;
			} else if (!ark_workflow_is_key_name(key)) {
				g_autofree gchar *shown = ark_workflow_shorten(key);
				ark_workflow_context_add(ctx, &at,
							 "invalid concurrency key '%s': use letters, "
							 "digits and _ . - : (at most %d)",
							 shown, ARK_WORKFLOW_MAX_ID_LEN);
				key = NULL;
				ok = FALSE;
			}
		} else if (strcmp(member->name, "limit") == 0) {
			if (!ark_workflow_expect_integer(ctx, &at, member, "limit", 1,
							 ARK_WORKFLOW_MAX_CONCURRENCY_LIMIT, &limit))
				ok = FALSE;
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(member->name);
			ark_workflow_context_add(ctx, &at,
						 "unknown member '%s' (concurrency has key and "
						 "limit)",
						 shown);
			ok = FALSE;
		}
	}
	if (ok && key == NULL) {
		ark_workflow_context_add(ctx, path, "missing member 'key'");
		ok = FALSE;
	}
	if (ok && limit == 0) {
		ark_workflow_context_add(ctx, path,
					 "missing member 'limit': how many tasks may hold '%s' at "
					 "once",
					 key);
		ok = FALSE;
	}
	if (!ok)
		return FALSE;
	f->concurrency_key = key;
	f->concurrency_limit = (guint)limit;
	return TRUE;
}

/* "input": any JSON value the task's executor is handed (agent tasks give it to their agents);
 * null is no input, like null "args" */
static gboolean
ark_workflow_check_input(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	g_autoptr(GString) text = NULL;

	if (node->kind == ARK_WORKFLOW_NODE_NULL)
		return TRUE;
	/* it travels whole to agents and into the store with every run */
	text = g_string_new(NULL);
	ark_workflow_node_write(text, node);
	if (text->len > ARK_RESULT_MAX_BYTES) {
		ark_workflow_context_add(ctx, path,
					 "input is larger than 1 MiB (%" G_GSIZE_FORMAT
					 " bytes as compact JSON)",
					 text->len);
		return FALSE;
	}
	g_clear_pointer(&f->input, json_node_unref);
	f->input = ark_workflow_node_to_json(node);
	return TRUE;
}

static const gchar *const ark_workflow_agent_members[] = {
    "capabilities", "mode", "contenders", "accept", "shards", "shards_from", "lease",
    "max_handoffs",
};

static gboolean
ark_workflow_check_agent_lease(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			       const ArkWorkflowNode *node, gint64 *out)
{
	gint64 lease;

	if (!ark_workflow_check_duration_node(ctx, path, node, &lease))
		return FALSE;
	if (lease < ARK_AGENT_MIN_LEASE || lease > ARK_AGENT_MAX_LEASE) {
		g_autofree gchar *shown = ark_duration_format(lease);
		ark_workflow_context_add(ctx, path, "lease %s is out of range (1s to 1d)", shown);
		return FALSE;
	}
	*out = lease;
	return TRUE;
}

static gboolean
ark_workflow_check_agent_max_handoffs(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				      const ArkWorkflowNode *node, guint *out)
{
	gint64 value;

	if (!ark_workflow_expect_integer(ctx, path, node, "max_handoffs", 1,
					 ARK_WORKFLOW_MAX_HANDOFFS_LIMIT, &value))
		return FALSE;
	*out = (guint)value;
	return TRUE;
}

/* "capabilities": what every agent of the task must have, 1 to 64 distinct names */
static gboolean
ark_workflow_check_agent_capabilities(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				      const ArkWorkflowNode *node, ArkAgentSpec *spec)
{
	g_autoptr(GPtrArray) names = NULL;
	gboolean ok = TRUE;

	if (ark_workflow_expect_array(ctx, path, node) == NULL)
		return FALSE;
	if (node->n_children == 0) {
		ark_workflow_context_add(ctx, path,
					 "must name at least one capability an agent needs");
		return FALSE;
	}
	if (node->n_children > ARK_AGENT_MAX_CAPABILITIES) {
		ark_workflow_context_add(ctx, path, "too many capabilities (%u, at most %d)",
					 node->n_children, ARK_AGENT_MAX_CAPABILITIES);
		return FALSE;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < node->n_children; i++) {
		ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(path, i);
		const gchar *name =
		    ark_workflow_expect_nonempty(ctx, &element, &node->v.children[i]);
		gboolean duplicate = FALSE;

		if (name == NULL) {
			ok = FALSE;
			continue;
		}
		if (g_utf8_strlen(name, ARK_WORKFLOW_MAX_CAPABILITY_LEN + 1) >
		    ARK_WORKFLOW_MAX_CAPABILITY_LEN) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			ark_workflow_context_add(ctx, &element,
						 "capability '%s' is too long (at most %d "
						 "characters)",
						 shown, ARK_WORKFLOW_MAX_CAPABILITY_LEN);
			ok = FALSE;
			continue;
		}
		for (guint k = 0; k < names->len && !duplicate; k++)
			duplicate = strcmp(g_ptr_array_index(names, k), name) == 0;
		if (duplicate) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			ark_workflow_context_add(ctx, &element, "duplicate capability '%s'", shown);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(names, g_strdup(name));
	}
	if (!ok)
		return FALSE;
	g_ptr_array_add(names, NULL);
	spec->capabilities = (gchar **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
	return TRUE;
}

/* a problem at @path plus a suffix that is not a document path of its own (inside a schema) */
static void
ark_workflow_context_add_below(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			       const gchar *suffix, const gchar *message)
{
	g_autofree gchar *str = ark_workflow_path_to_string(path);
	g_autofree gchar *full = g_strconcat(str, suffix, NULL);
	ArkProblem *problem = ark_workflow_context_add_at(ctx, full, 0, 0, g_strdup(message));

	if (problem != NULL)
		g_ptr_array_add(ctx->unlocated, problem);
}

/* "accept": "first", {"schema": {...}} or {"command": ["prog", "arg"...]} */
static gboolean
ark_workflow_check_agent_accept(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				const ArkWorkflowNode *node, ArkAgentSpec *spec)
{
	const ArkWorkflowNode *rule;
	ArkWorkflowPath at;

	if (node->kind == ARK_WORKFLOW_NODE_STRING && strcmp(node->v.string, "first") == 0) {
		spec->accept = ARK_AGENT_ACCEPT_FIRST;
		return TRUE;
	}
	if (node->kind != ARK_WORKFLOW_NODE_OBJECT || node->n_children != 1) {
		g_autofree gchar *shown = node->kind == ARK_WORKFLOW_NODE_STRING
					      ? g_strdup_printf("'%s'", node->v.string)
					      : g_strdup(ark_workflow_node_kind(node));
		g_autofree gchar *cut = ark_workflow_shorten(shown);
		ark_workflow_context_add(ctx, path,
					 "expected \"first\", {\"schema\": {...}} or "
					 "{\"command\": [...]}, got %s",
					 node->kind == ARK_WORKFLOW_NODE_OBJECT
					     ? "an object with other members"
					     : cut);
		return FALSE;
	}
	rule = &node->v.children[0];
	at = (ArkWorkflowPath)ARK_WORKFLOW_PATH_MEMBER(path, rule->name);
	if (strcmp(rule->name, "schema") == 0) {
		g_autoptr(JsonNode) schema = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *where = NULL;

		if (ark_workflow_expect_object(ctx, &at, rule) == NULL)
			return FALSE;
		schema = ark_workflow_node_to_json(rule);
		if (!ark_json_schema_check_schema(schema, &where, &error)) {
			ark_workflow_context_add_below(ctx, &at, where, error->message);
			return FALSE;
		}
		spec->accept = ARK_AGENT_ACCEPT_SCHEMA;
		spec->accept_schema = g_steal_pointer(&schema);
		return TRUE;
	}
	if (strcmp(rule->name, "command") == 0) {
		g_autoptr(GPtrArray) argv = NULL;

		if (rule->kind != ARK_WORKFLOW_NODE_ARRAY) {
			ark_workflow_context_add(ctx, &at,
						 "expected an array of arguments, got %s",
						 ark_workflow_node_kind(rule));
			return FALSE;
		}
		if (rule->n_children == 0) {
			ark_workflow_context_add(ctx, &at,
						 "must have at least the program to run");
			return FALSE;
		}
		if (rule->n_children > ARK_WORKFLOW_MAX_ARGV) {
			ark_workflow_context_add(ctx, &at, "too many arguments (%u, at most %d)",
						 rule->n_children, ARK_WORKFLOW_MAX_ARGV);
			return FALSE;
		}
		argv = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; i < rule->n_children; i++) {
			ArkWorkflowPath element = ARK_WORKFLOW_PATH_ELEMENT(&at, i);
			const gchar *arg =
			    ark_workflow_expect_string(ctx, &element, &rule->v.children[i]);
			if (arg == NULL)
				return FALSE;
			if (i == 0 && arg[0] == '\0') {
				ark_workflow_context_add(ctx, &element,
							 "the program must not be empty");
				return FALSE;
			}
			g_ptr_array_add(argv, g_strdup(arg));
		}
		g_ptr_array_add(argv, NULL);
		spec->accept = ARK_AGENT_ACCEPT_COMMAND;
		spec->accept_command = (gchar **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
		return TRUE;
	}
	{
		g_autofree gchar *shown = ark_workflow_shorten(rule->name);
		ark_workflow_context_add(ctx, &at,
					 "unknown acceptance rule '%s' (expected \"first\", "
					 "\"schema\" or \"command\")",
					 shown);
	}
	return FALSE;
}

/* the members of "agent" that defaults may set; the others are the task's own business */
static gboolean
ark_workflow_check_agent_defaults(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
				  const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	g_autoptr(ArkWorkflowAgent) agent = g_new0(ArkWorkflowAgent, 1);
	gboolean ok = TRUE;

	if (ark_workflow_expect_object(ctx, path, node) == NULL)
		return FALSE;
	for (guint k = 0; k < node->n_children; k++) {
		const ArkWorkflowNode *member = &node->v.children[k];
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, member->name);

		if (strcmp(member->name, "lease") == 0) {
			if (ark_workflow_check_agent_lease(ctx, &at, member, &agent->spec.lease))
				agent->set |= ARK_WORKFLOW_AGENT_LEASE;
			else
				ok = FALSE;
		} else if (strcmp(member->name, "max_handoffs") == 0) {
			if (ark_workflow_check_agent_max_handoffs(ctx, &at, member,
								  &agent->spec.max_handoffs))
				agent->set |= ARK_WORKFLOW_AGENT_MAX_HANDOFFS;
			else
				ok = FALSE;
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(member->name);
			ark_workflow_context_add(ctx, &at,
						 "'%s' can not be set in defaults (only lease and "
						 "max_handoffs)",
						 shown);
			ok = FALSE;
		}
	}
	if (!ok)
		return FALSE;
	g_clear_pointer(&f->agent, ark_workflow_agent_free);
	f->agent = g_steal_pointer(&agent);
	return TRUE;
}

/*
 * "agent": what the agents of a task whose executor is "agent" must be able to do and how the
 * work is shared among them. The defaults of the members it leaves out are applied when the
 * task is added (lease and max_handoffs may come from "defaults"); whether the executor is
 * "agent" and whether shards_from is a need are checked with the whole task.
 */
static gboolean
ark_workflow_check_agent(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			 const ArkWorkflowNode *node, ArkWorkflowFields *f)
{
	g_autoptr(ArkWorkflowAgent) agent = NULL;
	ArkAgentSpec *spec;
	const gchar *mode = ARK_WORKFLOW_AGENT_DEFAULT_MODE;
	gint64 contenders = 1;
	gboolean mode_known;
	gboolean ok = TRUE;

	if (node->kind != ARK_WORKFLOW_NODE_OBJECT) {
		ark_workflow_context_add(ctx, path,
					 "expected an object such as {\"capabilities\": "
					 "[\"code-review\"]}, got %s",
					 ark_workflow_node_kind(node));
		return FALSE;
	}
	agent = g_new0(ArkWorkflowAgent, 1);
	spec = &agent->spec;
	for (guint k = 0; k < node->n_children; k++) {
		const ArkWorkflowNode *member = &node->v.children[k];
		const gchar *name = member->name;
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, name);
		ArkWorkflowAgentMember bit = 0;
		gboolean valid = FALSE;

		if (strcmp(name, "capabilities") == 0) {
			bit = ARK_WORKFLOW_AGENT_CAPABILITIES;
			g_clear_pointer(&spec->capabilities, g_strfreev);
			valid = ark_workflow_check_agent_capabilities(ctx, &at, member, spec);
		} else if (strcmp(name, "mode") == 0) {
			const gchar *str = ark_workflow_expect_nonempty(ctx, &at, member);
			bit = ARK_WORKFLOW_AGENT_MODE;
			if (str != NULL && !ark_workflow_is_executor_name(str)) {
				g_autofree gchar *shown = ark_workflow_shorten(str);
				ark_workflow_context_add(ctx, &at,
							 "invalid mode '%s' (a coordinator name: "
							 "lower-case letters, digits, '_' and '-', "
							 "such as delegated, competitive or "
							 "cooperative)",
							 shown);
			} else if (str != NULL) {
				mode = str;
				valid = TRUE;
			}
		} else if (strcmp(name, "contenders") == 0) {
			bit = ARK_WORKFLOW_AGENT_CONTENDERS;
			valid = ark_workflow_expect_integer(ctx, &at, member, "contenders", 1,
							    ARK_AGENT_MAX_CONTENDERS, &contenders);
		} else if (strcmp(name, "accept") == 0) {
			bit = ARK_WORKFLOW_AGENT_ACCEPT;
			g_clear_pointer(&spec->accept_schema, json_node_unref);
			g_clear_pointer(&spec->accept_command, g_strfreev);
			valid = ark_workflow_check_agent_accept(ctx, &at, member, spec);
		} else if (strcmp(name, "shards") == 0) {
			bit = ARK_WORKFLOW_AGENT_SHARDS;
			if (ark_workflow_expect_array(ctx, &at, member) == NULL) {
				/* reported */
			} else if (member->n_children == 0) {
				ark_workflow_context_add(ctx, &at,
							 "must have at least one shard");
			} else if (member->n_children > ARK_AGENT_MAX_SHARDS) {
				ark_workflow_context_add(ctx, &at,
							 "too many shards (%u, at most %d)",
							 member->n_children, ARK_AGENT_MAX_SHARDS);
			} else {
				g_clear_pointer(&spec->shards, json_node_unref);
				spec->shards = ark_workflow_node_to_json(member);
				valid = TRUE;
			}
		} else if (strcmp(name, "shards_from") == 0) {
			const gchar *from = ark_workflow_expect_nonempty(ctx, &at, member);
			bit = ARK_WORKFLOW_AGENT_SHARDS_FROM;
			if (from != NULL) {
				g_free(spec->shards_from);
				spec->shards_from = g_strdup(from);
				valid = TRUE;
			}
		} else if (strcmp(name, "lease") == 0) {
			bit = ARK_WORKFLOW_AGENT_LEASE;
			valid = ark_workflow_check_agent_lease(ctx, &at, member, &spec->lease);
		} else if (strcmp(name, "max_handoffs") == 0) {
			bit = ARK_WORKFLOW_AGENT_MAX_HANDOFFS;
			valid = ark_workflow_check_agent_max_handoffs(ctx, &at, member,
								      &spec->max_handoffs);
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_did_you_mean(
			    ark_workflow_suggest(name, ark_workflow_agent_members,
						 G_N_ELEMENTS(ark_workflow_agent_members)));
			ark_workflow_context_add(ctx, &at, "unknown member '%s'%s", shown, hint);
		}
		if (valid)
			agent->set |= bit;
		else
			ok = FALSE;
	}

	if (!(agent->set & ARK_WORKFLOW_AGENT_CAPABILITIES) &&
	    ark_workflow_node_get_member(node, "capabilities") == NULL) {
		ark_workflow_context_add(ctx, path,
					 "missing member 'capabilities': what an agent must be "
					 "able to do, such as [\"code-review\"]");
		ok = FALSE;
	}
	/* the rules between members, when the mode is known (given and fine, or the default) */
	mode_known = (agent->set & ARK_WORKFLOW_AGENT_MODE) ||
		     ark_workflow_node_get_member(node, "mode") == NULL;
	if (mode_known && (agent->set & ARK_WORKFLOW_AGENT_CONTENDERS) && contenders > 1 &&
	    strcmp(mode, "competitive") != 0) {
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, "contenders");
		ark_workflow_context_add(ctx, &at,
					 "%" G_GINT64_FORMAT " contenders need mode "
					 "\"competitive\" (mode is \"%s\"): only competing agents "
					 "work on the same piece at once",
					 contenders, mode);
		ok = FALSE;
	}
	if (mode_known && (agent->set & (ARK_WORKFLOW_AGENT_SHARDS | ARK_WORKFLOW_AGENT_SHARDS_FROM)) &&
	    strcmp(mode, "cooperative") != 0) {
		const gchar *which =
		    (agent->set & ARK_WORKFLOW_AGENT_SHARDS) ? "shards" : "shards_from";
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, which);
		ark_workflow_context_add(ctx, &at,
					 "'%s' needs mode \"cooperative\" (mode is \"%s\")", which,
					 mode);
		ok = FALSE;
	}
	if ((agent->set & ARK_WORKFLOW_AGENT_SHARDS) &&
	    (agent->set & ARK_WORKFLOW_AGENT_SHARDS_FROM)) {
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, "shards_from");
		ark_workflow_context_add(ctx, &at,
					 "give either 'shards' or 'shards_from', not both");
		ok = FALSE;
	}
	if (mode_known && strcmp(mode, "cooperative") == 0 &&
	    ark_workflow_node_get_member(node, "shards") == NULL &&
	    ark_workflow_node_get_member(node, "shards_from") == NULL) {
		ark_workflow_context_add(ctx, path,
					 "mode \"cooperative\" needs 'shards' (the pieces of the "
					 "work) or 'shards_from' (a task in needs whose result "
					 "is them)");
		ok = FALSE;
	}
	if (!ok)
		return FALSE;
	spec->mode = g_strdup(mode);
	spec->contenders = (agent->set & ARK_WORKFLOW_AGENT_CONTENDERS) ? (guint)contenders
			   : strcmp(mode, "competitive") == 0			   ? 2
										   : 1;
	g_clear_pointer(&f->agent, ark_workflow_agent_free);
	f->agent = g_steal_pointer(&agent);
	return TRUE;
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
    {"retry", ARK_WORKFLOW_FIELD_RETRY, TRUE, ark_workflow_check_retry},
    {"queue_timeout", ARK_WORKFLOW_FIELD_QUEUE_TIMEOUT, TRUE, ark_workflow_check_queue_timeout},
    {"cpus", ARK_WORKFLOW_FIELD_CPUS, FALSE, ark_workflow_check_cpus},
    {"memory", ARK_WORKFLOW_FIELD_MEMORY, FALSE, ark_workflow_check_memory},
    {"gpus", ARK_WORKFLOW_FIELD_GPUS, FALSE, ark_workflow_check_gpus},
    {"concurrency", ARK_WORKFLOW_FIELD_CONCURRENCY, FALSE, ark_workflow_check_concurrency},
    {"simulate", ARK_WORKFLOW_FIELD_SIMULATE, FALSE, ark_workflow_check_simulate},
    {"input", ARK_WORKFLOW_FIELD_INPUT, FALSE, ark_workflow_check_input},
    /* in defaults, only its lease and max_handoffs (ark_workflow_check_agent_defaults()) */
    {"agent", ARK_WORKFLOW_FIELD_AGENT, TRUE, ark_workflow_check_agent},
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

/* the member of tasks called @name, or NULL */
static const ArkWorkflowMember *
ark_workflow_find_member(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_workflow_task_members); i++) {
		const ArkWorkflowMember *m = &ark_workflow_task_members[i];
		if (m->name[0] == name[0] && strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

/* checks a task object, or the defaults object when @defaults is TRUE */
static void
ark_workflow_check_fields(ArkWorkflowContext *ctx, const ArkWorkflowPath *path,
			  const ArkWorkflowNode *object, gboolean defaults, ArkWorkflowFields *f)
{
	for (guint k = 0; k < object->n_children; k++) {
		const ArkWorkflowNode *node = &object->v.children[k];
		const gchar *name = node->name;
		ArkWorkflowPath member = ARK_WORKFLOW_PATH_MEMBER(path, name);
		const ArkWorkflowMember *m = ark_workflow_find_member(name);

		if (m == NULL) {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_suggest_member(name, defaults);
			ark_workflow_context_add(ctx, &member, "unknown member '%s'%s", shown,
						 hint);
			continue;
		}
		if (defaults && !m->in_defaults) {
			ark_workflow_context_add(ctx, &member,
						 "'%s' can not be set in defaults (only executor, "
						 "shell, cwd, env, priority, timeout, "
						 "allow_failure, retry, queue_timeout and agent)",
						 name);
			continue;
		}
		if (defaults && m->field == ARK_WORKFLOW_FIELD_AGENT
			? ark_workflow_check_agent_defaults(ctx, &member, node, f)
			: m->check(ctx, &member, node, f))
			f->set |= m->field;
	}
}

/* ---- the document ---- */

/* where a task's arrays start in the blocks while they still grow */
typedef struct {
	guint needs; /* in strv */
	guint run;   /* in strv, G_MAXUINT for none */
	guint env;   /* in strv */
	guint exit_codes; /* in codes, G_MAXUINT for none */
} ArkWorkflowOffsets;

typedef struct {
	ArkWorkflowContext *ctx;
	ArkWorkflowLayout *layout;
	const gchar *data;
	gsize len;
	gchar *name;
	gchar *description;
	gchar *policy;
	ArkFailureMode failure_mode;
	gint64 timeout;
	ArkWorkflowFields defaults_fields;
	gboolean tasks_ok; /* every task was read, though maybe with problems */

	/* what becomes the workflow */
	guint n_tasks;
	ArkTaskSpec *specs;
	guint32 *task_set;
	ArkWorkflowOffsets *offsets;
	GStringChunk *strings;
	GHashTable *interned; /* string → its copy in @strings */
	GArray *strv;	      /* of gchar *, starting with the NULL every empty array shares */
	GArray *codes;	      /* of gint */
	gchar **strv_block;
	gint *codes_block;
	ArkWorkflowDefaults defaults;
	ArkWorkflowOffsets defaults_offsets;
	GHashTable *extras;
	GPtrArray *agents; /* of ArkWorkflowAgent, or NULL while no task has one */
	/* task index → GArray of guint: where its needs were in the document's array, for the
	 * few tasks where that is not 0, 1, 2... because some were refused */
	GHashTable *needs_at;
	ArkWorkflowIndex by_id;
	guint *order;
} ArkWorkflowDraft;

static void
ark_workflow_draft_clear(ArkWorkflowDraft *d)
{
	g_free(d->name);
	g_free(d->description);
	g_free(d->policy);
	ark_workflow_fields_clear(&d->defaults_fields);
	for (guint i = 0; d->specs != NULL && i < d->n_tasks; i++) {
		g_clear_pointer(&d->specs[i].args, json_node_unref);
		g_clear_pointer(&d->specs[i].input, json_node_unref);
	}
	g_clear_pointer(&d->agents, g_ptr_array_unref);
	g_free(d->specs);
	g_free(d->task_set);
	g_free(d->offsets);
	if (d->strings != NULL)
		g_string_chunk_free(d->strings);
	g_clear_pointer(&d->interned, g_hash_table_unref);
	g_clear_pointer(&d->strv, g_array_unref);
	g_clear_pointer(&d->codes, g_array_unref);
	g_free(d->strv_block);
	g_free(d->codes_block);
	g_clear_pointer(&d->extras, g_hash_table_unref);
	g_clear_pointer(&d->needs_at, g_hash_table_unref);
	g_free(d->by_id.slots);
	g_free(d->order);
}

/* the one copy of @str in the workflow's strings: executors, functions, programs, cwd and env
 * repeat from task to task, and a need is the id it names */
static gchar *
ark_workflow_draft_intern(ArkWorkflowDraft *d, const gchar *str)
{
	gchar *copy;

	if (str == NULL)
		return NULL;
	copy = g_hash_table_lookup(d->interned, str);
	if (copy == NULL) {
		copy = g_string_chunk_insert(d->strings, str);
		g_hash_table_add(d->interned, copy);
	}
	return copy;
}

/* appends a NULL-terminated copy of @array to the pointer block; empty ones share offset 0 */
static guint
ark_workflow_draft_add_strv(ArkWorkflowDraft *d, GPtrArray *array)
{
	guint offset = d->strv->len;
	gchar *end = NULL;

	if (array->len == 0)
		return 0;
	for (guint i = 0; i < array->len; i++) {
		gchar *str = ark_workflow_draft_intern(d, g_ptr_array_index(array, i));
		g_array_append_val(d->strv, str);
	}
	g_array_append_val(d->strv, end);
	return offset;
}

static guint
ark_workflow_draft_add_codes(ArkWorkflowDraft *d, const ArkRetryPolicy *retry)
{
	guint offset = d->codes->len;

	if (retry->n_exit_codes == 0)
		return G_MAXUINT;
	g_array_append_vals(d->codes, retry->exit_codes, retry->n_exit_codes);
	return offset;
}

static void
ark_workflow_draft_begin(ArkWorkflowDraft *d, guint n_tasks)
{
	ArkWorkflowFields *f = &d->defaults_fields;
	ArkWorkflowDefaults *defaults = &d->defaults;
	gchar *empty = NULL;

	d->n_tasks = n_tasks;
	d->specs = g_new0(ArkTaskSpec, n_tasks);
	d->task_set = g_new0(guint32, n_tasks);
	d->offsets = g_new0(ArkWorkflowOffsets, n_tasks);
	/* the strings are a part of the document: a one-task workflow gets no 16 KiB block */
	d->strings = g_string_chunk_new(CLAMP(d->len / 8, 256, 16384));
	d->interned = g_hash_table_new(g_str_hash, g_str_equal);
	d->strv = g_array_new(FALSE, FALSE, sizeof(gchar *));
	g_array_append_val(d->strv, empty);
	d->codes = g_array_new(FALSE, FALSE, sizeof(gint));

	/* defaults are read before any task, whatever their order in the document */
	defaults->set = f->set;
	defaults->executor = ark_workflow_draft_intern(d, f->executor);
	defaults->shell = f->shell;
	defaults->cwd = ark_workflow_draft_intern(d, f->cwd);
	d->defaults_offsets.env = ark_workflow_draft_add_strv(d, f->env);
	defaults->priority = f->priority;
	defaults->timeout = f->timeout;
	defaults->allow_failure = f->allow_failure;
	if (f->set & ARK_WORKFLOW_FIELD_RETRY)
		defaults->retry = f->retry;
	else
		ark_workflow_retry_init(&defaults->retry);
	d->defaults_offsets.exit_codes = ark_workflow_draft_add_codes(d, &defaults->retry);
	defaults->retry.exit_codes = NULL;
	defaults->queue_timeout = f->queue_timeout;
	if (f->agent != NULL) {
		defaults->agent_set = f->agent->set;
		defaults->agent_lease = f->agent->spec.lease;
		defaults->agent_max_handoffs = f->agent->spec.max_handoffs;
	}
}

/* what task @index says, with the defaults filled in where it says nothing */
static void
ark_workflow_draft_add_task(ArkWorkflowDraft *d, guint index, ArkWorkflowFields *f)
{
	ArkTaskSpec *spec = &d->specs[index];
	ArkWorkflowOffsets *offsets = &d->offsets[index];
	const ArkWorkflowDefaults *defaults = &d->defaults;

	spec->index = index;
	spec->id = ark_workflow_draft_intern(d, f->id);
	offsets->needs = ark_workflow_draft_add_strv(d, f->needs);
	for (guint k = 0; k < f->needs_index->len; k++) {
		GArray *at;

		if (g_array_index(f->needs_index, guint, k) == k)
			continue;
		if (d->needs_at == NULL)
			d->needs_at = g_hash_table_new_full(NULL, NULL, NULL,
							    (GDestroyNotify)g_array_unref);
		at = g_array_sized_new(FALSE, FALSE, sizeof(guint), f->needs_index->len);
		g_array_append_vals(at, f->needs_index->data, f->needs_index->len);
		g_hash_table_insert(d->needs_at, GUINT_TO_POINTER(index), at);
		break;
	}
	if (f->set & ARK_WORKFLOW_FIELD_EXECUTOR)
		spec->executor = ark_workflow_draft_intern(d, f->executor);
	else if (defaults->set & ARK_WORKFLOW_FIELD_EXECUTOR)
		spec->executor = defaults->executor;
	else
		spec->executor = ark_workflow_draft_intern(d, "process");
	offsets->run = f->has_run ? ark_workflow_draft_add_strv(d, f->run) : G_MAXUINT;
	spec->shell = (f->set & ARK_WORKFLOW_FIELD_SHELL) ? f->shell : defaults->shell;
	spec->cwd = (f->set & ARK_WORKFLOW_FIELD_CWD) ? ark_workflow_draft_intern(d, f->cwd)
						      : defaults->cwd;
	offsets->env = (f->set & ARK_WORKFLOW_FIELD_ENV) ? ark_workflow_draft_add_strv(d, f->env)
						       : d->defaults_offsets.env;
	spec->function = ark_workflow_draft_intern(d, f->function);
	spec->args = g_steal_pointer(&f->args);
	spec->priority = (f->set & ARK_WORKFLOW_FIELD_PRIORITY) ? f->priority : defaults->priority;
	spec->estimate = f->estimate;
	spec->timeout = (f->set & ARK_WORKFLOW_FIELD_TIMEOUT) ? f->timeout : defaults->timeout;
	spec->deadline_relative = f->deadline_relative;
	spec->deadline_absolute = f->deadline_absolute;
	spec->allow_failure = (f->set & ARK_WORKFLOW_FIELD_ALLOW_FAILURE) ? f->allow_failure
									 : defaults->allow_failure;
	if (f->set & ARK_WORKFLOW_FIELD_RETRY) {
		spec->retry = f->retry;
		spec->retry.exit_codes = NULL;
		offsets->exit_codes = ark_workflow_draft_add_codes(d, &f->retry);
	} else {
		spec->retry = defaults->retry;
		offsets->exit_codes = d->defaults_offsets.exit_codes;
	}
	spec->queue_timeout = (f->set & ARK_WORKFLOW_FIELD_QUEUE_TIMEOUT) ? f->queue_timeout
									 : defaults->queue_timeout;
	spec->cpus = f->cpus;
	spec->memory = f->memory;
	spec->gpus = f->gpus;
	if (f->concurrency_key != NULL) {
		spec->concurrency_key = ark_workflow_draft_intern(d, f->concurrency_key);
		spec->concurrency_limit = f->concurrency_limit;
	}
	spec->input = g_steal_pointer(&f->input);
	if (f->agent != NULL) {
		ArkWorkflowAgent *agent = g_steal_pointer(&f->agent);
		ArkAgentSpec *a = &agent->spec;

		/* what the task leaves out: lease and max_handoffs from defaults, if they say */
		if (!(agent->set & ARK_WORKFLOW_AGENT_LEASE))
			a->lease = (defaults->agent_set & ARK_WORKFLOW_AGENT_LEASE)
				       ? defaults->agent_lease
				       : ARK_WORKFLOW_AGENT_DEFAULT_LEASE;
		if (!(agent->set & ARK_WORKFLOW_AGENT_MAX_HANDOFFS))
			a->max_handoffs = (defaults->agent_set & ARK_WORKFLOW_AGENT_MAX_HANDOFFS)
					      ? defaults->agent_max_handoffs
					      : ARK_WORKFLOW_AGENT_DEFAULT_MAX_HANDOFFS;
		if (d->agents == NULL)
			d->agents = g_ptr_array_new_with_free_func(
			    (GDestroyNotify)ark_workflow_agent_free);
		g_ptr_array_add(d->agents, agent);
		spec->agent = a;
	}
	d->task_set[index] = f->set | (f->run_is_string ? ARK_WORKFLOW_FIELD_RUN_IS_STRING : 0);
	if (f->description != NULL || f->labels != NULL || f->simulate != NULL) {
		ArkWorkflowExtra *extra = g_new0(ArkWorkflowExtra, 1);
		if (f->description != NULL)
			extra->description = g_string_chunk_insert(d->strings, f->description);
		if (f->labels != NULL)
			extra->labels = g_string_chunk_insert(d->strings, f->labels);
		if (f->simulate != NULL) {
			extra->simulate = g_string_chunk_insert(d->strings, f->simulate);
			extra->simulation = f->simulation;
		}
		if (d->extras == NULL)
			d->extras = g_hash_table_new_full(NULL, NULL, NULL, g_free);
		g_hash_table_insert(d->extras, GUINT_TO_POINTER(index), extra);
	}
}

/* once every task is in: the blocks stop growing, so the specs can point into them */
static void
ark_workflow_draft_end(ArkWorkflowDraft *d)
{
	guint n_strv = d->strv->len;
	guint n_codes = d->codes->len;

	/* GArray doubles as it grows: the blocks keep what they hold, not what they reserved */
	d->strv_block = (gchar **)g_array_free(g_steal_pointer(&d->strv), FALSE);
	d->strv_block = g_renew(gchar *, d->strv_block, n_strv);
	d->codes_block = (gint *)g_array_free(g_steal_pointer(&d->codes), FALSE);
	if (n_codes > 0)
		d->codes_block = g_renew(gint, d->codes_block, n_codes);
	else
		g_clear_pointer(&d->codes_block, g_free);
	g_clear_pointer(&d->interned, g_hash_table_unref);

	d->defaults.env = d->strv_block + d->defaults_offsets.env;
	if (d->defaults_offsets.exit_codes != G_MAXUINT)
		d->defaults.retry.exit_codes = d->codes_block + d->defaults_offsets.exit_codes;
	for (guint i = 0; i < d->n_tasks; i++) {
		ArkTaskSpec *spec = &d->specs[i];
		const ArkWorkflowOffsets *offsets = &d->offsets[i];

		spec->needs = d->strv_block + offsets->needs;
		spec->run = offsets->run != G_MAXUINT ? d->strv_block + offsets->run : NULL;
		spec->env = d->strv_block + offsets->env;
		if (offsets->exit_codes != G_MAXUINT)
			spec->retry.exit_codes = d->codes_block + offsets->exit_codes;
	}
	g_clear_pointer(&d->offsets, g_free);
}

/* ---- ids ---- */

static void
ark_workflow_index_init(ArkWorkflowIndex *index, guint n)
{
	guint size = 8;

	/* at most three quarters full, so that probes stay short */
	while (size < n + n / 3 + 1)
		size *= 2;
	index->slots = g_new0(guint, size);
	index->mask = size - 1;
}

/* the index of the task with @id, or G_MAXUINT */
static guint
ark_workflow_index_lookup(const ArkWorkflowIndex *index, const ArkTaskSpec *specs,
			  const gchar *id)
{
	for (guint h = g_str_hash(id) & index->mask;; h = (h + 1) & index->mask) {
		guint slot = index->slots[h];
		if (slot == 0)
			return G_MAXUINT;
		if (strcmp(specs[slot - 1].id, id) == 0)
			return slot - 1;
	}
}

/* adds task @i; returns @i, or the index of the task that already has its id */
static guint
ark_workflow_index_insert(ArkWorkflowIndex *index, const ArkTaskSpec *specs, guint i)
{
	for (guint h = g_str_hash(specs[i].id) & index->mask;; h = (h + 1) & index->mask) {
		guint slot = index->slots[h];
		if (slot == 0) {
			index->slots[h] = i + 1;
			return i;
		}
		if (strcmp(specs[slot - 1].id, specs[i].id) == 0)
			return slot - 1;
	}
}

/* ---- the graph ---- */

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
				  const ArkTaskSpec *specs)
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
		if (k > 0)
			g_string_append(str, " -> ");
		g_string_append(str, specs[g_array_index(path, guint, k)].id);
	}
	return g_string_free(str, FALSE);
}

/* ids, needs and cycles: the checks that look at all tasks at once */
static void
ark_workflow_check_graph(ArkWorkflowDraft *d)
{
	ArkWorkflowContext *ctx = d->ctx;
	const ArkTaskSpec *specs = d->specs;
	guint n = d->n_tasks;
	g_autofree const gchar **ids = g_new0(const gchar *, n);
	g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(guint));
	g_auto(ArkWorkflowGraph) graph = {0};
	g_autofree guint *order = g_new(guint, n);
	g_autofree gboolean *placed = NULL;
	g_autofree guint *component = NULL;
	g_autoptr(GHashTable) reported = NULL;
	const ArkWorkflowPath tasks = ARK_WORKFLOW_PATH_MEMBER(NULL, "tasks");
	guint n_suggestions = 0;
	guint n_placed;

	ark_workflow_index_init(&d->by_id, n);
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath task = ARK_WORKFLOW_PATH_ELEMENT(&tasks, i);
		ArkWorkflowPath path = ARK_WORKFLOW_PATH_MEMBER(&task, "id");
		guint j;
		guint first_line;

		if (specs[i].id == NULL)
			continue;
		j = ark_workflow_index_insert(&d->by_id, specs, i);
		if (j == i) {
			ids[i] = specs[i].id;
			continue;
		}
		first_line = d->layout->has_tasks_array
				 ? g_array_index(d->layout->task_spans, ArkWorkflowSpan, j).id_line
				 : 0;
		if (first_line > 0)
			ark_workflow_context_add(ctx, &path,
						 "duplicate task id '%s' (first defined at line "
						 "%u)",
						 specs[i].id, first_line);
		else
			ark_workflow_context_add(ctx, &path,
						 "duplicate task id '%s' (first defined in "
						 "tasks[%u])",
						 specs[i].id, j);
	}

	for (guint i = 0; i < n; i++) {
		const ArkTaskSpec *spec = &specs[i];
		GArray *at = d->needs_at != NULL
				 ? g_hash_table_lookup(d->needs_at, GUINT_TO_POINTER(i))
				 : NULL;
		ArkWorkflowPath task = ARK_WORKFLOW_PATH_ELEMENT(&tasks, i);
		ArkWorkflowPath needs = ARK_WORKFLOW_PATH_MEMBER(&task, "needs");

		for (guint k = 0; spec->needs[k] != NULL; k++) {
			const gchar *need = spec->needs[k];
			ArkWorkflowPath path = ARK_WORKFLOW_PATH_ELEMENT(
			    &needs, at != NULL ? g_array_index(at, guint, k) : k);
			guint j;

			/* a need is the id it names, interned: the same string when it is */
			if (need == spec->id) {
				ark_workflow_context_add(ctx, &path, "task '%s' needs itself",
							 need);
				continue;
			}
			j = ark_workflow_index_lookup(&d->by_id, specs, need);
			if (j == G_MAXUINT) {
				g_autofree gchar *shown = ark_workflow_shorten(need);
				g_autofree gchar *hint = NULL;
				if (n_suggestions++ < ARK_WORKFLOW_MAX_SUGGESTIONS)
					hint = ark_workflow_did_you_mean(
					    ark_workflow_suggest(need, ids, n));
				ark_workflow_context_add(ctx, &path,
							 "unknown task '%s' in needs%s", shown,
							 hint != NULL ? hint : "");
				continue;
			}
			g_array_append_val(edges, i);
			g_array_append_val(edges, j);
		}
	}

	ark_workflow_graph_init(&graph, n, edges);
	n_placed = ark_workflow_graph_sort(&graph, order);
	if (n_placed == n) {
		d->order = g_steal_pointer(&order);
		return;
	}

	placed = g_new0(gboolean, n);
	for (guint k = 0; k < n_placed; k++)
		placed[order[k]] = TRUE;
	component = ark_workflow_graph_components(&graph, placed);
	reported = g_hash_table_new(NULL, NULL);
	/* one cycle per component, from its first task in the document */
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath path = ARK_WORKFLOW_PATH_ELEMENT(&tasks, i);
		g_autofree gchar *cycle = NULL;

		if (component[i] == G_MAXUINT ||
		    !g_hash_table_add(reported, GUINT_TO_POINTER(component[i] + 1)))
			continue;
		cycle = ark_workflow_graph_describe_cycle(&graph, component, i, specs);
		ark_workflow_context_add(ctx, &path, "dependency cycle: %s", cycle);
	}
}

/* the rules of "agent" that need the whole task: it goes with executor "agent" and only with it,
 * and shards_from names one of its needs */
static void
ark_workflow_check_agent_task(ArkWorkflowDraft *d, const ArkWorkflowPath *path,
			      const ArkWorkflowNode *object, const ArkWorkflowFields *f)
{
	ArkWorkflowContext *ctx = d->ctx;
	const ArkWorkflowNode *agent = ark_workflow_node_get_member(object, "agent");
	const gchar *executor;

	/* an executor that was given but refused is not guessed at */
	if (f->set & ARK_WORKFLOW_FIELD_EXECUTOR)
		executor = f->executor;
	else if (ark_workflow_node_get_member(object, "executor") != NULL)
		return;
	else if (d->defaults.set & ARK_WORKFLOW_FIELD_EXECUTOR)
		executor = d->defaults.executor;
	else
		executor = "process";

	if (strcmp(executor, "agent") == 0 && agent == NULL) {
		ark_workflow_context_add(ctx, path,
					 "a task with \"executor\": \"agent\" needs \"agent\", such "
					 "as {\"capabilities\": [\"code-review\"]}");
		return;
	}
	if (strcmp(executor, "agent") != 0 && agent != NULL) {
		ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(path, "agent");
		ark_workflow_context_add(ctx, &at,
					 "only a task with \"executor\": \"agent\" has \"agent\" "
					 "(the executor is \"%s\")",
					 executor);
		return;
	}
	if (f->agent != NULL && f->agent->spec.shards_from != NULL) {
		const gchar *from = f->agent->spec.shards_from;
		gboolean found = FALSE;

		for (guint k = 0; k < f->needs->len && !found; k++)
			found = strcmp(g_ptr_array_index(f->needs, k), from) == 0;
		if (!found) {
			ArkWorkflowPath agent_path = ARK_WORKFLOW_PATH_MEMBER(path, "agent");
			ArkWorkflowPath at = ARK_WORKFLOW_PATH_MEMBER(&agent_path, "shards_from");
			g_autofree gchar *shown = ark_workflow_shorten(from);
			ark_workflow_context_add(ctx, &at,
						 "'%s' is not in needs: the shards come from the "
						 "result of a task this one needs",
						 shown);
		}
	}
}

/* the elements of "tasks", one small tree at a time when the scanner found where they are */
static void
ark_workflow_check_tasks(ArkWorkflowDraft *d, const ArkWorkflowNode *node)
{
	ArkWorkflowContext *ctx = d->ctx;
	GArray *spans = d->layout->has_tasks_array ? d->layout->task_spans : NULL;
	const ArkWorkflowPath tasks = ARK_WORKFLOW_PATH_MEMBER(NULL, "tasks");
	g_auto(ArkWorkflowTree) tree = {0};
	g_auto(ArkWorkflowFields) f = {0};
	const ArkWorkflowNode *array = NULL;
	guint n;

	if (spans != NULL) {
		n = d->layout->n_tasks;
	} else {
		array = ark_workflow_expect_array(ctx, &tasks, node);
		if (array == NULL)
			return;
		n = array->n_children;
	}
	if (n == 0) {
		ark_workflow_context_add(ctx, &tasks, "a workflow needs at least one task");
		return;
	}
	if (n > ARK_WORKFLOW_MAX_TASKS) {
		ark_workflow_context_add(ctx, &tasks, "too many tasks (%u, at most %d)", n,
					 ARK_WORKFLOW_MAX_TASKS);
		return;
	}

	ark_workflow_tree_init(&tree);
	ark_workflow_fields_init(&f);
	ark_workflow_draft_begin(d, n);
	for (guint i = 0; i < n; i++) {
		ArkWorkflowPath path = ARK_WORKFLOW_PATH_ELEMENT(&tasks, i);
		const ArkWorkflowNode *element;
		const ArkWorkflowNode *object;

		if (spans != NULL) {
			const ArkWorkflowSpan *span = &g_array_index(spans, ArkWorkflowSpan, i);

			ark_workflow_tree_build(&tree, d->data + span->start,
						span->end - span->start, G_MAXSIZE, G_MAXSIZE,
						d->layout->may_have_duplicates);
			element = &tree.root;
		} else {
			element = &array->v.children[i];
		}
		object = ark_workflow_expect_object(ctx, &path, element);
		if (object != NULL) {
			ark_workflow_check_fields(ctx, &path, object, FALSE, &f);
			if (ark_workflow_node_get_member(object, "id") == NULL)
				ark_workflow_context_add(ctx, &path,
							 "missing required member 'id'");
			if (f.run_is_string && !((f.set & ARK_WORKFLOW_FIELD_SHELL)
						     ? f.shell
						     : d->defaults.shell)) {
				ArkWorkflowPath run = ARK_WORKFLOW_PATH_MEMBER(&path, "run");
				ark_workflow_context_add(ctx, &run,
							 "a string needs \"shell\": true (without "
							 "a shell, give the program and its "
							 "arguments as an array)");
			}
			ark_workflow_check_agent_task(d, &path, object, &f);
		}
		ark_workflow_draft_add_task(d, i, &f);
		ark_workflow_fields_reset(&f);
	}
	ark_workflow_draft_end(d);
	d->tasks_ok = TRUE;
}

static void
ark_workflow_check_root(ArkWorkflowDraft *d, const ArkWorkflowNode *root)
{
	ArkWorkflowContext *ctx = d->ctx;
	const ArkWorkflowNode *defaults;

	if (root->kind != ARK_WORKFLOW_NODE_OBJECT) {
		ark_workflow_context_add(ctx, NULL, "the document must be a JSON object, got %s",
					 ark_workflow_node_kind(root));
		return;
	}

	/* tasks inherit from defaults, so they are read first wherever they appear */
	defaults = ark_workflow_node_get_member(root, "defaults");
	if (defaults != NULL) {
		const ArkWorkflowPath path = ARK_WORKFLOW_PATH_MEMBER(NULL, "defaults");
		const ArkWorkflowNode *defaults_object =
		    ark_workflow_expect_object(ctx, &path, defaults);
		if (defaults_object != NULL)
			ark_workflow_check_fields(ctx, &path, defaults_object, TRUE,
						  &d->defaults_fields);
	}

	for (guint k = 0; k < root->n_children; k++) {
		const ArkWorkflowNode *node = &root->v.children[k];
		const gchar *name = node->name;
		const ArkWorkflowPath path = ARK_WORKFLOW_PATH_MEMBER(NULL, name);

		if (strcmp(name, "name") == 0) {
			const gchar *str = ark_workflow_expect_nonempty(ctx, &path, node);
			glong n_chars = str != NULL ? g_utf8_strlen(str, -1) : 0;
			if (n_chars > ARK_WORKFLOW_MAX_NAME_LEN) {
				ark_workflow_context_add(ctx, &path,
							 "too long (%ld characters, at most %d)",
							 n_chars, ARK_WORKFLOW_MAX_NAME_LEN);
			} else if (str != NULL) {
				d->name = g_strdup(str);
			}
		} else if (strcmp(name, "description") == 0) {
			const gchar *str = ark_workflow_expect_string(ctx, &path, node);
			d->description = g_strdup(str);
		} else if (strcmp(name, "policy") == 0) {
			const gchar *str = ark_workflow_expect_nonempty(ctx, &path, node);
			d->policy = g_strdup(str);
		} else if (strcmp(name, "on_failure") == 0) {
			static const gchar *const modes[] = {"continue", "fail-fast"};
			const gchar *str = ark_workflow_expect_string(ctx, &path, node);
			if (g_strcmp0(str, "continue") == 0) {
				d->failure_mode = ARK_FAILURE_MODE_CONTINUE;
			} else if (g_strcmp0(str, "fail-fast") == 0) {
				d->failure_mode = ARK_FAILURE_MODE_FAIL_FAST;
			} else if (str != NULL) {
				ark_workflow_add_unknown_word(ctx, &path, "failure mode", str,
							      modes, G_N_ELEMENTS(modes),
							      "continue or fail-fast");
			}
		} else if (strcmp(name, "timeout") == 0) {
			ark_workflow_check_duration_node(ctx, &path, node, &d->timeout);
		} else if (strcmp(name, "defaults") == 0) {
			continue;
		} else if (strcmp(name, "tasks") == 0) {
			ark_workflow_check_tasks(d, node);
		} else {
			g_autofree gchar *shown = ark_workflow_shorten(name);
			g_autofree gchar *hint = ark_workflow_did_you_mean(
			    ark_workflow_suggest(name, ark_workflow_root_members,
						 G_N_ELEMENTS(ark_workflow_root_members)));
			ark_workflow_context_add(ctx, &path, "unknown member '%s'%s", shown, hint);
		}
	}
	if (ark_workflow_node_get_member(root, "name") == NULL)
		ark_workflow_context_add(ctx, NULL, "missing required member 'name'");
	if (ark_workflow_node_get_member(root, "tasks") == NULL)
		ark_workflow_context_add(ctx, NULL, "missing required member 'tasks'");
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

/* the second scan: positions for the problems that were found by path */
static void
ark_workflow_context_locate_all(ArkWorkflowContext *ctx, const gchar *data, gsize len)
{
	if (ctx->unlocated->len == 0)
		return;
	ctx->wanted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; i < ctx->unlocated->len; i++) {
		ArkProblem *problem = g_ptr_array_index(ctx->unlocated, i);
		g_autofree gchar *path = g_strdup(problem->path);

		do {
			if (!g_hash_table_contains(ctx->wanted, path))
				g_hash_table_insert(ctx->wanted, g_strdup(path),
						    g_new0(ArkWorkflowLocation, 1));
		} while (ark_workflow_path_up(path));
	}
	ark_workflow_scan(ctx, data, len, NULL);
	for (guint i = 0; i < ctx->unlocated->len; i++) {
		ArkProblem *problem = g_ptr_array_index(ctx->unlocated, i);
		ArkWorkflowLocation loc = ark_workflow_context_locate(ctx, problem->path);
		problem->line = loc.line;
		problem->column = loc.column;
	}
	g_clear_pointer(&ctx->wanted, g_hash_table_unref);
	g_ptr_array_set_size(ctx->unlocated, 0);
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
	g_clear_pointer(&ctx->unlocated, g_ptr_array_unref);
	g_clear_pointer(&ctx->problems, g_ptr_array_unref);
	g_clear_pointer(&ctx->wanted, g_hash_table_unref);
}

static void
ark_workflow_layout_clear(ArkWorkflowLayout *layout)
{
	g_clear_pointer(&layout->task_spans, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowContext, ark_workflow_context_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowDraft, ark_workflow_draft_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ArkWorkflowLayout, ark_workflow_layout_clear)

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

static ArkWorkflow *
ark_workflow_new_from_draft(ArkWorkflowDraft *d, const ArkWorkflowLayout *layout)
{
	ArkWorkflow *self = g_new0(ArkWorkflow, 1);

	g_atomic_ref_count_init(&self->ref);
	self->name = g_steal_pointer(&d->name);
	self->description = g_steal_pointer(&d->description);
	self->policy = g_steal_pointer(&d->policy);
	self->failure_mode = d->failure_mode;
	self->timeout = d->timeout;
	self->n_tasks = d->n_tasks;
	self->tasks = g_steal_pointer(&d->specs);
	self->task_set = g_steal_pointer(&d->task_set);
	self->strings = g_steal_pointer(&d->strings);
	self->strv = g_steal_pointer(&d->strv_block);
	self->exit_codes = g_steal_pointer(&d->codes_block);
	self->defaults = d->defaults;
	self->extras = g_steal_pointer(&d->extras);
	self->agents = g_steal_pointer(&d->agents);
	self->by_id = d->by_id;
	d->by_id.slots = NULL;
	self->order = g_steal_pointer(&d->order);
	self->task_locations = g_new0(guint, 2 * (gsize)self->n_tasks);
	for (guint i = 0; layout->has_tasks_array && i < self->n_tasks; i++) {
		const ArkWorkflowSpan *span =
		    &g_array_index(layout->task_spans, ArkWorkflowSpan, i);
		self->task_locations[2 * i] = span->at.line;
		self->task_locations[2 * i + 1] = span->at.column;
	}
	memcpy(self->member_locations, layout->member_locations,
	       sizeof(self->member_locations));
	return self;
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
	g_auto(ArkWorkflowLayout) layout = {0};
	g_auto(ArkWorkflowDraft) draft = {0};
	g_auto(ArkWorkflowTree) tree = {0};
	gsize len;

	g_return_val_if_fail(data != NULL || length == 0, NULL);

	ctx.problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	ctx.unlocated = g_ptr_array_new();
	layout.task_spans = g_array_new(FALSE, FALSE, sizeof(ArkWorkflowSpan));

	/* strnlen, so that a huge string is refused without reading all of it */
	len = length >= 0 ? (gsize)length : strnlen(data, ARK_WORKFLOW_MAX_BYTES + 1);
	if (data == NULL)
		data = "";
	/* editors on some systems write a byte order mark, which RFC 8259 lets parsers ignore */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	draft.ctx = &ctx;
	draft.layout = &layout;
	draft.data = data;
	draft.len = len;
	ark_workflow_fields_init(&draft.defaults_fields);

	if (ark_workflow_check_bytes(&ctx, data, len) &&
	    ark_workflow_scan(&ctx, data, len, &layout)) {
		/* the document without the elements of "tasks", which are read one by one */
		ark_workflow_tree_init(&tree);
		ark_workflow_tree_build(&tree, data, len,
					layout.has_tasks_array ? layout.tasks.start : G_MAXSIZE,
					layout.has_tasks_array ? layout.tasks.end : G_MAXSIZE,
					layout.may_have_duplicates);
		ark_workflow_check_root(&draft, &tree.root);
		if (draft.tasks_ok)
			ark_workflow_check_graph(&draft);
	}

	if (ctx.problems->len > 0 || !draft.tasks_ok) {
		if (ctx.problems->len == 0)
			ark_workflow_context_add_at(&ctx, "", 0, 0,
						    g_strdup("the document has no workflow"));
		if (problems != NULL) {
			ark_workflow_context_locate_all(&ctx, data, len);
			*problems = ark_workflow_context_finish(&ctx);
		}
		return NULL;
	}
	if (problems != NULL)
		*problems = ark_workflow_context_finish(&ctx);
	return ark_workflow_new_from_draft(&draft, &layout);
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
	for (guint i = 0; i < self->n_tasks; i++) {
		g_clear_pointer(&self->tasks[i].args, json_node_unref);
		g_clear_pointer(&self->tasks[i].input, json_node_unref);
	}
	g_clear_pointer(&self->agents, g_ptr_array_unref);
	g_free(self->tasks);
	g_free(self->task_set);
	g_string_chunk_free(self->strings);
	g_free(self->strv);
	g_free(self->exit_codes);
	g_clear_pointer(&self->extras, g_hash_table_unref);
	g_free(self->by_id.slots);
	g_free(self->order);
	g_free(self->task_locations);
	g_free(self->definition);
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
 * ark_workflow_get_task_simulation:
 * @self: a workflow
 * @index: a task index
 * @out: (out): the task's "simulate" member
 *
 * How `arkitect simulate` draws the duration of tasks[@index], when the task says.
 *
 * Returns: TRUE if the task has a "simulate" member, FALSE (and @out untouched) if not
 *
 * Since: 0.1 (ABI 1.2)
 */
gboolean
ark_workflow_get_task_simulation(ArkWorkflow *self, guint index, ArkTaskSimulation *out)
{
	const ArkWorkflowExtra *extra;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(index < self->n_tasks, FALSE);
	g_return_val_if_fail(out != NULL, FALSE);
	if (self->extras == NULL)
		return FALSE;
	extra = g_hash_table_lookup(self->extras, GUINT_TO_POINTER(index));
	if (extra == NULL || extra->simulate == NULL)
		return FALSE;
	*out = extra->simulation;
	return TRUE;
}

/**
 * ark_workflow_get_failure_mode:
 * @self: a workflow
 *
 * Returns: what a failed task does to the rest of the run: %ARK_FAILURE_MODE_CONTINUE unless
 *   the document says "on_failure": "fail-fast"
 *
 * Since: 0.2
 */
ArkFailureMode
ark_workflow_get_failure_mode(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, ARK_FAILURE_MODE_CONTINUE);
	return self->failure_mode;
}

/**
 * ark_workflow_get_timeout:
 * @self: a workflow
 *
 * Returns: how long the whole run may take from submission, in microseconds, or 0 for no limit
 *
 * Since: 0.2
 */
gint64
ark_workflow_get_timeout(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->timeout;
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
	return self->n_tasks;
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
	g_return_val_if_fail(index < self->n_tasks, NULL);
	return &self->tasks[index];
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
	guint index;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(id != NULL, NULL);
	index = ark_workflow_index_lookup(&self->by_id, self->tasks, id);
	return index != G_MAXUINT ? &self->tasks[index] : NULL;
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

/* ---- the definition ---- */

static void
ark_workflow_json_strv(GString *out, gchar **strv)
{
	g_string_append_c(out, '[');
	for (guint i = 0; strv[i] != NULL; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		ark_json_append_string(out, strv[i]);
	}
	g_string_append_c(out, ']');
}

static void
ark_workflow_json_env(GString *out, gchar **env)
{
	g_string_append_c(out, '{');
	for (guint i = 0; env[i] != NULL; i++) {
		/* names have no '=': the first one ends the name */
		const gchar *eq = strchr(env[i], '=');
		g_autofree gchar *name = g_strndup(env[i], (gsize)(eq - env[i]));

		if (i > 0)
			g_string_append_c(out, ',');
		ark_json_append_string(out, name);
		g_string_append_c(out, ':');
		ark_json_append_string(out, eq + 1);
	}
	g_string_append_c(out, '}');
}

/* only what differs from the built-in policy, which is what a missing member means */
static void
ark_workflow_json_retry(GString *out, const ArkRetryPolicy *retry)
{
	ArkRetryPolicy builtin;

	ark_workflow_retry_init(&builtin);
	g_string_append_c(out, '{');
	if (retry->max_attempts != builtin.max_attempts) {
		ark_workflow_json_member(out, "max_attempts");
		g_string_append_printf(out, "%u", retry->max_attempts);
	}
	if (retry->backoff != builtin.backoff) {
		ark_workflow_json_member(out, "backoff");
		g_string_append(out, "\"fixed\"");
	}
	if (retry->initial_delay != builtin.initial_delay) {
		ark_workflow_json_member(out, "initial_delay");
		ark_workflow_json_duration(out, retry->initial_delay);
	}
	if (retry->max_delay != builtin.max_delay) {
		ark_workflow_json_member(out, "max_delay");
		ark_workflow_json_duration(out, retry->max_delay);
	}
	if (retry->multiplier != builtin.multiplier) {
		ark_workflow_json_member(out, "multiplier");
		ark_workflow_json_double(out, retry->multiplier);
	}
	if (retry->jitter != builtin.jitter) {
		ark_workflow_json_member(out, "jitter");
		g_string_append(out, retry->jitter ? "true" : "false");
	}
	if (retry->retry_on != builtin.retry_on) {
		gboolean first = TRUE;
		ark_workflow_json_member(out, "on");
		g_string_append_c(out, '[');
		for (guint k = 0; k < G_N_ELEMENTS(ark_workflow_retry_outcomes); k++) {
			if (!(retry->retry_on & (1u << k)))
				continue;
			g_string_append_printf(out, "%s\"%s\"", first ? "" : ",",
					       ark_workflow_retry_outcomes[k]);
			first = FALSE;
		}
		g_string_append_c(out, ']');
	}
	if (retry->n_exit_codes > 0) {
		ark_workflow_json_member(out, "exit_codes");
		g_string_append_c(out, '[');
		for (guint k = 0; k < retry->n_exit_codes; k++)
			g_string_append_printf(out, "%s%d", k > 0 ? "," : "", retry->exit_codes[k]);
		g_string_append_c(out, ']');
	}
	g_string_append_c(out, '}');
}

static void
ark_workflow_json_deadline(GString *out, const ArkTaskSpec *spec)
{
	if (spec->deadline_relative != 0) {
		g_autofree gchar *str = ark_duration_format(spec->deadline_relative);
		g_autofree gchar *plus = g_strconcat("+", str, NULL);
		ark_workflow_json_member(out, "deadline");
		ark_json_append_string(out, plus);
	} else if (spec->deadline_absolute != 0) {
		gint64 usec = spec->deadline_absolute % G_USEC_PER_SEC;
		g_autoptr(GDateTime) dt =
		    g_date_time_new_from_unix_utc(spec->deadline_absolute / G_USEC_PER_SEC);
		g_autofree gchar *str = NULL;

		/* it was read through GDateTime, so it fits */
		g_return_if_fail(dt != NULL);
		str = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
		ark_workflow_json_member(out, "deadline");
		g_string_append_printf(out, "\"%s", str);
		if (usec != 0) {
			gchar frac[8];
			gint end = 6;
			g_snprintf(frac, sizeof(frac), "%06d", (gint)usec);
			while (end > 1 && frac[end - 1] == '0')
				end--;
			g_string_append_printf(out, ".%.*s", end, frac);
		}
		g_string_append(out, "Z\"");
	}
}

/* the members of "agent" the task gave itself; the others are defaults */
static void
ark_workflow_json_agent(GString *out, const ArkWorkflowAgent *agent)
{
	const ArkAgentSpec *spec = &agent->spec;

	g_string_append_c(out, '{');
	if (agent->set & ARK_WORKFLOW_AGENT_CAPABILITIES) {
		ark_workflow_json_member(out, "capabilities");
		ark_workflow_json_strv(out, spec->capabilities);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_MODE) {
		ark_workflow_json_member(out, "mode");
		ark_json_append_string(out, spec->mode);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_CONTENDERS) {
		ark_workflow_json_member(out, "contenders");
		g_string_append_printf(out, "%u", spec->contenders);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_ACCEPT) {
		ark_workflow_json_member(out, "accept");
		switch (spec->accept) {
		case ARK_AGENT_ACCEPT_SCHEMA:
			g_string_append(out, "{\"schema\":");
			ark_workflow_json_value(out, spec->accept_schema);
			g_string_append_c(out, '}');
			break;
		case ARK_AGENT_ACCEPT_COMMAND:
			g_string_append(out, "{\"command\":");
			ark_workflow_json_strv(out, spec->accept_command);
			g_string_append_c(out, '}');
			break;
		default:
			g_string_append(out, "\"first\"");
			break;
		}
	}
	if (agent->set & ARK_WORKFLOW_AGENT_SHARDS) {
		ark_workflow_json_member(out, "shards");
		ark_workflow_json_value(out, spec->shards);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_SHARDS_FROM) {
		ark_workflow_json_member(out, "shards_from");
		ark_json_append_string(out, spec->shards_from);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_LEASE) {
		ark_workflow_json_member(out, "lease");
		ark_workflow_json_duration(out, spec->lease);
	}
	if (agent->set & ARK_WORKFLOW_AGENT_MAX_HANDOFFS) {
		ark_workflow_json_member(out, "max_handoffs");
		g_string_append_printf(out, "%u", spec->max_handoffs);
	}
	g_string_append_c(out, '}');
}

/* a task as its members, the ones it set itself: defaults stay in "defaults" */
static void
ark_workflow_json_task(GString *out, ArkWorkflow *self, guint index, const gchar *executor)
{
	const ArkTaskSpec *spec = &self->tasks[index];
	guint32 set = self->task_set[index];
	const ArkWorkflowExtra *extra =
	    self->extras != NULL ? g_hash_table_lookup(self->extras, GUINT_TO_POINTER(index))
				 : NULL;

	g_string_append_c(out, '{');
	ark_workflow_json_member(out, "id");
	ark_json_append_string(out, spec->id);
	if (spec->needs[0] != NULL) {
		ark_workflow_json_member(out, "needs");
		ark_workflow_json_strv(out, spec->needs);
	}
	if (executor != NULL || (set & ARK_WORKFLOW_FIELD_EXECUTOR)) {
		ark_workflow_json_member(out, "executor");
		ark_json_append_string(out, executor != NULL ? executor : spec->executor);
	}
	if (spec->run != NULL) {
		ark_workflow_json_member(out, "run");
		if (set & ARK_WORKFLOW_FIELD_RUN_IS_STRING)
			ark_json_append_string(out, spec->run[0]);
		else
			ark_workflow_json_strv(out, spec->run);
	}
	if (set & ARK_WORKFLOW_FIELD_SHELL) {
		ark_workflow_json_member(out, "shell");
		g_string_append(out, spec->shell ? "true" : "false");
	}
	if (set & ARK_WORKFLOW_FIELD_CWD) {
		ark_workflow_json_member(out, "cwd");
		ark_json_append_string(out, spec->cwd);
	}
	if (set & ARK_WORKFLOW_FIELD_ENV) {
		ark_workflow_json_member(out, "env");
		ark_workflow_json_env(out, spec->env);
	}
	if (spec->function != NULL) {
		ark_workflow_json_member(out, "function");
		ark_json_append_string(out, spec->function);
	}
	if (spec->args != NULL) {
		ark_workflow_json_member(out, "args");
		ark_workflow_json_value(out, spec->args);
	}
	if (spec->input != NULL) {
		ark_workflow_json_member(out, "input");
		ark_workflow_json_value(out, spec->input);
	}
	/* a workflow put on another executor (arkitect simulate) leaves its agents behind */
	if (spec->agent != NULL && (executor == NULL || strcmp(executor, "agent") == 0)) {
		ark_workflow_json_member(out, "agent");
		ark_workflow_json_agent(out, (const ArkWorkflowAgent *)spec->agent);
	}
	if (set & ARK_WORKFLOW_FIELD_PRIORITY) {
		ark_workflow_json_member(out, "priority");
		g_string_append_printf(out, "%d", spec->priority);
	}
	if (spec->estimate != 0) {
		ark_workflow_json_member(out, "estimate");
		ark_workflow_json_duration(out, spec->estimate);
	}
	if (set & ARK_WORKFLOW_FIELD_TIMEOUT) {
		ark_workflow_json_member(out, "timeout");
		ark_workflow_json_duration(out, spec->timeout);
	}
	ark_workflow_json_deadline(out, spec);
	if (set & ARK_WORKFLOW_FIELD_ALLOW_FAILURE) {
		ark_workflow_json_member(out, "allow_failure");
		g_string_append(out, spec->allow_failure ? "true" : "false");
	}
	if (set & ARK_WORKFLOW_FIELD_RETRY) {
		ark_workflow_json_member(out, "retry");
		ark_workflow_json_retry(out, &spec->retry);
	}
	if (set & ARK_WORKFLOW_FIELD_QUEUE_TIMEOUT) {
		ark_workflow_json_member(out, "queue_timeout");
		ark_workflow_json_duration(out, spec->queue_timeout);
	}
	if (spec->cpus > 0) {
		ark_workflow_json_member(out, "cpus");
		ark_workflow_json_double(out, spec->cpus);
	}
	if (spec->memory > 0) {
		ark_workflow_json_member(out, "memory");
		g_string_append_printf(out, "%" G_GUINT64_FORMAT, spec->memory);
	}
	if (set & ARK_WORKFLOW_FIELD_GPUS) {
		ark_workflow_json_member(out, "gpus");
		g_string_append_printf(out, "%u", spec->gpus);
	}
	if (spec->concurrency_key != NULL) {
		ark_workflow_json_member(out, "concurrency");
		g_string_append(out, "{\"key\":");
		ark_json_append_string(out, spec->concurrency_key);
		g_string_append_printf(out, ",\"limit\":%u}", spec->concurrency_limit);
	}
	if (extra != NULL && extra->description != NULL) {
		ark_workflow_json_member(out, "description");
		ark_json_append_string(out, extra->description);
	}
	if (extra != NULL && extra->labels != NULL) {
		ark_workflow_json_member(out, "labels");
		g_string_append(out, extra->labels);
	}
	if (extra != NULL && extra->simulate != NULL) {
		ark_workflow_json_member(out, "simulate");
		g_string_append(out, extra->simulate);
	}
	g_string_append_c(out, '}');
}

static void
ark_workflow_json_defaults(GString *out, const ArkWorkflowDefaults *defaults)
{
	guint32 set = defaults->set;

	g_string_append_c(out, '{');
	if (set & ARK_WORKFLOW_FIELD_EXECUTOR) {
		ark_workflow_json_member(out, "executor");
		ark_json_append_string(out, defaults->executor);
	}
	if (set & ARK_WORKFLOW_FIELD_SHELL) {
		ark_workflow_json_member(out, "shell");
		g_string_append(out, defaults->shell ? "true" : "false");
	}
	if (set & ARK_WORKFLOW_FIELD_CWD) {
		ark_workflow_json_member(out, "cwd");
		ark_json_append_string(out, defaults->cwd);
	}
	if (set & ARK_WORKFLOW_FIELD_ENV) {
		ark_workflow_json_member(out, "env");
		ark_workflow_json_env(out, defaults->env);
	}
	if (set & ARK_WORKFLOW_FIELD_PRIORITY) {
		ark_workflow_json_member(out, "priority");
		g_string_append_printf(out, "%d", defaults->priority);
	}
	if (set & ARK_WORKFLOW_FIELD_TIMEOUT) {
		ark_workflow_json_member(out, "timeout");
		ark_workflow_json_duration(out, defaults->timeout);
	}
	if (set & ARK_WORKFLOW_FIELD_ALLOW_FAILURE) {
		ark_workflow_json_member(out, "allow_failure");
		g_string_append(out, defaults->allow_failure ? "true" : "false");
	}
	if (set & ARK_WORKFLOW_FIELD_RETRY) {
		ark_workflow_json_member(out, "retry");
		ark_workflow_json_retry(out, &defaults->retry);
	}
	if (set & ARK_WORKFLOW_FIELD_QUEUE_TIMEOUT) {
		ark_workflow_json_member(out, "queue_timeout");
		ark_workflow_json_duration(out, defaults->queue_timeout);
	}
	if (set & ARK_WORKFLOW_FIELD_AGENT) {
		ark_workflow_json_member(out, "agent");
		g_string_append_c(out, '{');
		if (defaults->agent_set & ARK_WORKFLOW_AGENT_LEASE) {
			ark_workflow_json_member(out, "lease");
			ark_workflow_json_duration(out, defaults->agent_lease);
		}
		if (defaults->agent_set & ARK_WORKFLOW_AGENT_MAX_HANDOFFS) {
			ark_workflow_json_member(out, "max_handoffs");
			g_string_append_printf(out, "%u", defaults->agent_max_handoffs);
		}
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, '}');
}

/*
 * The canonical document: top-level members, defaults and each task's own members in a fixed
 * order, durations in their shortest exact form, members with no effect left out. It is built
 * from the specs, so it always reads back as the same workflow. @replacement, when not NULL,
 * is written instead of task @replace_index.
 */
static gchar *
ark_workflow_build_definition(ArkWorkflow *self, guint replace_index, const gchar *replacement,
			      const gchar *executor)
{
	GString *out = g_string_sized_new(256 + 64 * (gsize)self->n_tasks);
	gsize len;

	g_string_append_c(out, '{');
	ark_workflow_json_member(out, "name");
	ark_json_append_string(out, self->name);
	if (self->description != NULL) {
		ark_workflow_json_member(out, "description");
		ark_json_append_string(out, self->description);
	}
	if (self->policy != NULL) {
		ark_workflow_json_member(out, "policy");
		ark_json_append_string(out, self->policy);
	}
	if (self->failure_mode == ARK_FAILURE_MODE_FAIL_FAST) {
		ark_workflow_json_member(out, "on_failure");
		g_string_append(out, "\"fail-fast\"");
	}
	if (self->timeout != 0) {
		ark_workflow_json_member(out, "timeout");
		ark_workflow_json_duration(out, self->timeout);
	}
	if (self->defaults.set != 0) {
		ark_workflow_json_member(out, "defaults");
		ark_workflow_json_defaults(out, &self->defaults);
	}
	ark_workflow_json_member(out, "tasks");
	g_string_append_c(out, '[');
	for (guint i = 0; i < self->n_tasks; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		if (replacement != NULL && i == replace_index)
			g_string_append(out, replacement);
		else
			ark_workflow_json_task(out, self, i, executor);
	}
	g_string_append(out, "]}");
	/* the string stays as long as the workflow: it keeps what it holds, not what it reserved */
	len = out->len;
	return g_realloc(g_string_free(out, FALSE), len + 1);
}

/**
 * ark_workflow_get_definition:
 * @self: a workflow
 *
 * Gives the workflow as a canonical document: compact JSON with the members in a fixed order
 * and durations in their shortest form, which parses back into the same workflow. It is built
 * on the first call. Thread-safe.
 *
 * Returns: the document, owned by @self
 *
 * Since: 0.1
 */
const gchar *
ark_workflow_get_definition(ArkWorkflow *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	if (g_once_init_enter(&self->definition)) {
		gchar *definition = ark_workflow_build_definition(self, G_MAXUINT, NULL, NULL);
		g_once_init_leave(&self->definition, definition);
	}
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
	g_return_if_fail(index < self->n_tasks);
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
	g_return_if_fail(index == G_MAXUINT || index < self->n_tasks);
	g_return_if_fail(format != NULL);

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);

	if (index == G_MAXUINT) {
		path = g_strdup(member != NULL ? member : "");
		for (guint i = 0; member != NULL && i < ARK_WORKFLOW_N_ROOT_MEMBERS; i++) {
			if (strcmp(ark_workflow_root_members[i], member) == 0) {
				line = self->member_locations[i].line;
				column = self->member_locations[i].column;
			}
		}
	} else {
		path = g_strdup_printf("tasks[%u]%s%s", index, member != NULL ? "." : "",
				       member != NULL ? member : "");
		line = self->task_locations[2 * index];
		column = self->task_locations[2 * index + 1];
	}
	g_ptr_array_add(problems, ark_workflow_problem_new(path, line, column, message));
}

/* "tasks[3].timeout" → "overrides.timeout" for the task being overridden; other paths stay */
static gchar *
ark_workflow_override_path(const gchar *path, const gchar *task_path)
{
	gsize n = strlen(task_path);

	if (strncmp(path, task_path, n) != 0 || (path[n] != '\0' && path[n] != '.'))
		return g_strdup(path);
	return g_strconcat("overrides", path + n, NULL);
}

/**
 * ark_workflow_override_task:
 * @self: a workflow
 * @task_id: the task to change
 * @overrides: a JSON object of task members ("run", "timeout", "env", "retry", ...) that replace
 *   the task's own; %NULL as a value removes the task's own value, so that the defaults apply
 *   again; "id" and "needs" can not be overridden
 * @problems: (out) (transfer full) (optional): what is wrong with @overrides or the result,
 *   with paths such as "overrides.timeout" and no position
 *
 * Used by DLQ replay: builds the definition the workflow would have with @task_id's members
 * replaced, and parses it, so the result is checked exactly like a document is.
 *
 * Returns: (transfer full) (nullable): the new workflow, or %NULL with @problems set
 *
 * Since: 0.2
 */
ArkWorkflow *
ark_workflow_override_task(ArkWorkflow *self, const gchar *task_id, JsonObject *overrides,
			   GPtrArray **problems)
{
	g_autoptr(GPtrArray) found =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	g_autoptr(GPtrArray) inner = NULL;
	g_autoptr(GList) names = NULL;
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GString) task = NULL;
	g_autofree gchar *replacement = NULL;
	g_autofree gchar *definition = NULL;
	g_autofree gchar *task_path = NULL;
	g_autoptr(GArray) items = NULL;
	ArkWorkflow *result;
	JsonObject *object;
	guint index;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(task_id != NULL, NULL);
	g_return_val_if_fail(overrides != NULL, NULL);

	index = ark_workflow_index_lookup(&self->by_id, self->tasks, task_id);
	if (index == G_MAXUINT) {
		g_autofree const gchar **ids = g_new(const gchar *, self->n_tasks);
		g_autofree gchar *shown = ark_workflow_shorten(task_id);
		g_autofree gchar *hint = NULL;

		for (guint i = 0; i < self->n_tasks; i++)
			ids[i] = self->tasks[i].id;
		hint = ark_workflow_did_you_mean(ark_workflow_suggest(task_id, ids, self->n_tasks));
		g_ptr_array_add(found, ark_workflow_problem_new(
					   "", 0, 0,
					   g_strdup_printf("unknown task '%s'%s", shown, hint)));
	}
	names = json_object_get_members(overrides);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		g_autofree gchar *path = NULL;

		if (strcmp(name, "id") != 0 && strcmp(name, "needs") != 0)
			continue;
		path = ark_workflow_path_member("overrides", name);
		g_ptr_array_add(found, ark_workflow_problem_new(
					   path, 0, 0,
					   g_strdup_printf("'%s' can not be overridden", name)));
	}
	if (found->len > 0) {
		if (problems != NULL)
			*problems = g_steal_pointer(&found);
		return NULL;
	}

	/* the task as the definition has it, with the overrides laid over its members */
	task = g_string_new(NULL);
	ark_workflow_json_task(task, self, index, NULL);
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, task->str, (gssize)task->len, NULL))
		g_return_val_if_reached(NULL);
	object = json_node_get_object(json_parser_get_root(parser));
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		JsonNode *value = json_object_get_member(overrides, name);

		if (JSON_NODE_HOLDS_NULL(value))
			json_object_remove_member(object, name);
		else
			json_object_set_member(object, name, json_node_copy(value));
	}
	replacement = ark_workflow_json_to_string(json_parser_get_root(parser));
	definition = ark_workflow_build_definition(self, index, replacement, NULL);

	result = ark_workflow_parse(definition, -1, &inner);
	/* positions in a document nobody wrote would only mislead: the problems come in the
	 * order of the members of @overrides instead */
	task_path = ark_workflow_path_element("tasks", index);
	items = g_array_sized_new(FALSE, FALSE, sizeof(ArkWorkflowSortItem), inner->len);
	for (guint i = 0; i < inner->len; i++) {
		const ArkProblem *problem = g_ptr_array_index(inner, i);
		g_autofree gchar *path = ark_workflow_override_path(problem->path, task_path);
		ArkWorkflowSortItem item = {
		    ark_workflow_problem_new(path, G_MAXUINT, 0, g_strdup(problem->message)), i};
		guint k = 0;

		for (GList *l = names; l != NULL; l = l->next, k++) {
			const gchar *name = l->data;
			gsize n = strlen(name);
			if (g_str_has_prefix(path, "overrides.") &&
			    strncmp(path + strlen("overrides."), name, n) == 0 &&
			    strchr(".[", path[strlen("overrides.") + n]) != NULL) {
				item.problem->line = k + 1;
				break;
			}
		}
		g_array_append_val(items, item);
	}
	g_array_sort(items, ark_workflow_problem_compare);
	for (guint i = 0; i < items->len; i++) {
		ArkProblem *problem = g_array_index(items, ArkWorkflowSortItem, i).problem;
		problem->line = 0;
		g_ptr_array_add(found, problem);
	}
	if (result != NULL) {
		memset(result->task_locations, 0, 2 * sizeof(guint) * result->n_tasks);
		memset(result->member_locations, 0, sizeof(result->member_locations));
	}
	if (problems != NULL)
		*problems = g_steal_pointer(&found);
	return result;
}

/**
 * ark_workflow_with_executor:
 * @self: a workflow
 * @executor: an executor name
 * @problems: (out) (transfer full) (optional): what is wrong with @executor
 *
 * The workflow with every task on @executor and nothing else changed (task indices included):
 * how `arkitect simulate` puts a workflow on its simulated executor.
 *
 * Returns: (transfer full) (nullable): the new workflow, or NULL with @problems set
 *
 * Since: 0.1 (ABI 1.2)
 */
ArkWorkflow *
ark_workflow_with_executor(ArkWorkflow *self, const gchar *executor, GPtrArray **problems)
{
	g_autofree gchar *definition = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(executor != NULL, NULL);
	definition = ark_workflow_build_definition(self, G_MAXUINT, NULL, executor);
	return ark_workflow_parse(definition, -1, problems);
}

JsonNode *
ark_workflow_definition_get_task(const gchar *definition, guint index, const gchar *task_id)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;
	JsonNode *tasks;
	JsonArray *array;
	JsonNode *node;
	JsonNode *id;

	/* every type is checked before it is asked for: a getter on the wrong one is a critical */
	if (definition == NULL || !json_parser_load_from_data(parser, definition, -1, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	tasks = json_object_get_member(json_node_get_object(root), "tasks");
	if (tasks == NULL || !JSON_NODE_HOLDS_ARRAY(tasks))
		return NULL;
	array = json_node_get_array(tasks);
	if (index >= json_array_get_length(array))
		return NULL;
	node = json_array_get_element(array, index);
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	if (task_id != NULL) {
		id = json_object_get_member(json_node_get_object(node), "id");
		if (id == NULL || !JSON_NODE_HOLDS_VALUE(id) ||
		    json_node_get_value_type(id) != G_TYPE_STRING ||
		    g_strcmp0(json_node_get_string(id), task_id) != 0)
			return NULL;
	}
	return json_node_copy(node);
}
