/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <time.h>

#include <arkitect/arkitect.h>

static const gchar *ark_types_task_states[] = {
    "pending", "ready", "running", "retry_wait", "succeeded",
    "failed",  "cancelled", "skipped", "dead",
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_types_task_states) == ARK_TASK_STATE_LAST);

static const gchar *ark_types_run_states[] = {
    "pending", "running", "succeeded", "failed", "cancelled",
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_types_run_states) == ARK_RUN_STATE_LAST);

static const gchar *ark_types_attempt_statuses[] = {
    "running", "succeeded", "failed", "timed_out", "cancelled", "lost", "error",
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_types_attempt_statuses) == ARK_ATTEMPT_STATUS_LAST);

static const gchar *ark_types_event_kinds[] = {
    "run.submitted", "run.started", "run.finished",
    "task.state",    "attempt.started", "attempt.finished",
    "task.deadline-missed", "run.deadline-at-risk", "task.assignment",
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_types_event_kinds) == ARK_EVENT_LAST);

static gboolean
ark_types_lookup(const gchar *const *names, guint n, const gchar *str, gint *out_value)
{
	if (str == NULL)
		return FALSE;
	for (guint i = 0; i < n; i++) {
		if (g_strcmp0(names[i], str) == 0) {
			*out_value = (gint)i;
			return TRUE;
		}
	}
	return FALSE;
}

const gchar *
ark_task_state_to_string(ArkTaskState state)
{
	if ((guint)state >= ARK_TASK_STATE_LAST)
		return "unknown";
	return ark_types_task_states[state];
}

gboolean
ark_task_state_from_string(const gchar *str, ArkTaskState *out_state)
{
	gint v;
	if (!ark_types_lookup(ark_types_task_states, ARK_TASK_STATE_LAST, str, &v))
		return FALSE;
	*out_state = (ArkTaskState)v;
	return TRUE;
}

gboolean
ark_task_state_is_terminal(ArkTaskState state)
{
	switch (state) {
	case ARK_TASK_STATE_SUCCEEDED:
	case ARK_TASK_STATE_FAILED:
	case ARK_TASK_STATE_CANCELLED:
	case ARK_TASK_STATE_SKIPPED:
	case ARK_TASK_STATE_DEAD:
		return TRUE;
	default:
		return FALSE;
	}
}

const gchar *
ark_run_state_to_string(ArkRunState state)
{
	if ((guint)state >= ARK_RUN_STATE_LAST)
		return "unknown";
	return ark_types_run_states[state];
}

gboolean
ark_run_state_from_string(const gchar *str, ArkRunState *out_state)
{
	gint v;
	if (!ark_types_lookup(ark_types_run_states, ARK_RUN_STATE_LAST, str, &v))
		return FALSE;
	*out_state = (ArkRunState)v;
	return TRUE;
}

gboolean
ark_run_state_is_terminal(ArkRunState state)
{
	return state == ARK_RUN_STATE_SUCCEEDED || state == ARK_RUN_STATE_FAILED ||
	       state == ARK_RUN_STATE_CANCELLED;
}

const gchar *
ark_attempt_status_to_string(ArkAttemptStatus status)
{
	if ((guint)status >= ARK_ATTEMPT_STATUS_LAST)
		return "unknown";
	return ark_types_attempt_statuses[status];
}

gboolean
ark_attempt_status_from_string(const gchar *str, ArkAttemptStatus *out_status)
{
	gint v;
	if (!ark_types_lookup(ark_types_attempt_statuses, ARK_ATTEMPT_STATUS_LAST, str, &v))
		return FALSE;
	*out_status = (ArkAttemptStatus)v;
	return TRUE;
}

const gchar *
ark_event_kind_to_string(ArkEventKind kind)
{
	if ((guint)kind >= ARK_EVENT_LAST)
		return "unknown";
	return ark_types_event_kinds[kind];
}

gchar *
ark_id_new(void)
{
	/* Crockford base32: 10 characters of milliseconds (sortable), 16 of randomness; a
	 * counter in the random part keeps ids from one process strictly increasing even within
	 * one millisecond */
	static const gchar alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	static GMutex mutex;
	static guint64 last_ms = 0;
	static guint64 rand_hi = 0; /* 40 bits */
	static guint64 rand_lo = 0; /* 40 bits */
	gchar buf[27];
	guint64 ms = (guint64)(g_get_real_time() / 1000);

	g_mutex_lock(&mutex);
	if (ms > last_ms) {
		last_ms = ms;
		rand_hi = (((guint64)g_random_int() << 8) | (g_random_int() & 0xff)) &
			  G_GUINT64_CONSTANT(0xffffffffff);
		rand_lo = (((guint64)g_random_int() << 8) | (g_random_int() & 0xff)) &
			  G_GUINT64_CONSTANT(0x7fffffffff); /* room to count up */
	} else {
		ms = last_ms;
		rand_lo++;
		if (rand_lo > G_GUINT64_CONSTANT(0xffffffffff)) {
			rand_lo = 0;
			rand_hi = (rand_hi + 1) & G_GUINT64_CONSTANT(0xffffffffff);
		}
	}
	for (gint i = 9; i >= 0; i--) {
		buf[i] = alphabet[ms & 31];
		ms >>= 5;
	}
	{
		guint64 hi = rand_hi;
		guint64 lo = rand_lo;
		for (gint i = 17; i >= 10; i--) {
			buf[i] = alphabet[hi & 31];
			hi >>= 5;
		}
		for (gint i = 25; i >= 18; i--) {
			buf[i] = alphabet[lo & 31];
			lo >>= 5;
		}
	}
	g_mutex_unlock(&mutex);
	buf[26] = '\0';
	return g_strdup(buf);
}

#define ARK_TIMESTAMP_TEXT_LENGTH 27 /* 2026-11-24T01:02:03.000004Z */

static gchar *
ark_timestamp_put_digits(gchar *p, guint64 value, guint width)
{
	for (guint i = width; i > 0; i--) {
		p[i - 1] = (gchar)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

/*
 * The text of a positive @ts up to the year 9999 into @buf, or FALSE. Reports and API answers
 * write three times per record: a printf, or gmtime_r() and its time-zone lock, was most of
 * that. The civil date of a day count is H. Hinnant's civil_from_days (for days >= 0).
 */
static gboolean
ark_timestamp_to_text(ArkTimestamp ts, gchar buf[ARK_TIMESTAMP_TEXT_LENGTH])
{
	gint64 days = ts / G_USEC_PER_SEC / 86400 + 719468;
	gint64 secs = ts / G_USEC_PER_SEC % 86400;
	gint64 era, doe, yoe, doy, mp, year;
	guint month, day;
	gchar *p = buf;

	if (ts <= 0)
		return FALSE;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = (guint)(doy - (153 * mp + 2) / 5 + 1);
	month = (guint)(mp < 10 ? mp + 3 : mp - 9);
	year = yoe + era * 400 + (month <= 2);
	if (year > 9999)
		return FALSE;
	p = ark_timestamp_put_digits(p, (guint64)year, 4);
	*p++ = '-';
	p = ark_timestamp_put_digits(p, month, 2);
	*p++ = '-';
	p = ark_timestamp_put_digits(p, day, 2);
	*p++ = 'T';
	p = ark_timestamp_put_digits(p, (guint64)(secs / 3600), 2);
	*p++ = ':';
	p = ark_timestamp_put_digits(p, (guint64)(secs / 60 % 60), 2);
	*p++ = ':';
	p = ark_timestamp_put_digits(p, (guint64)(secs % 60), 2);
	*p++ = '.';
	p = ark_timestamp_put_digits(p, (guint64)(ts % G_USEC_PER_SEC), 6);
	*p = 'Z';
	return TRUE;
}

void
ark_timestamp_append(GString *out, ArkTimestamp ts)
{
	gchar buf[ARK_TIMESTAMP_TEXT_LENGTH];
	g_autofree gchar *text = NULL;

	g_return_if_fail(out != NULL);

	if (ark_timestamp_to_text(ts, buf)) {
		g_string_append_len(out, buf, sizeof(buf));
		return;
	}
	text = ark_timestamp_format(ts);
	if (text != NULL)
		g_string_append(out, text);
}

gchar *
ark_timestamp_format(ArkTimestamp ts)
{
	g_autoptr(GDateTime) dt = NULL;
	g_autofree gchar *base = NULL;
	gchar buf[ARK_TIMESTAMP_TEXT_LENGTH];

	if (ts == 0)
		return NULL;
	if (ark_timestamp_to_text(ts, buf))
		return g_strndup(buf, sizeof(buf));
	dt = g_date_time_new_from_unix_utc(ts / G_USEC_PER_SEC);
	if (dt == NULL)
		return NULL;
	base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
	return g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", base,
			       ((ts % G_USEC_PER_SEC) + G_USEC_PER_SEC) % G_USEC_PER_SEC);
}

void
ark_json_append_string(GString *out, const gchar *str)
{
	static const gchar hex[] = "0123456789ABCDEF";
	g_autofree gchar *valid = NULL;
	const guchar *p;
	const guchar *run;

	g_return_if_fail(out != NULL && str != NULL);
	/* text from processes (an exec error naming a file) may not be UTF-8; JSON is */
	if (!g_utf8_validate(str, -1, NULL))
		str = valid = g_utf8_make_valid(str, -1);
	g_string_append_c(out, '"');
	run = p = (const guchar *)str;
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		g_string_append_len(out, (const gchar *)run, (gssize)(p - run));
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\b':
			g_string_append(out, "\\b");
			break;
		case '\f':
			g_string_append(out, "\\f");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			g_string_append(out, "\\u00");
			g_string_append_c(out, hex[*p >> 4]);
			g_string_append_c(out, hex[*p & 15]);
			break;
		}
		run = p + 1;
	}
	g_string_append_len(out, (const gchar *)run, (gssize)(p - run));
	g_string_append_c(out, '"');
}
