/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#define ARK_DURATION_UNITS_HINT "use us, ms, s, m, h or d"

/*
 * Every unit is c × 10^e microseconds. Keeping the two apart lets a fraction be converted exactly
 * with 64-bit integers: a trailing-zero-free fraction F/10^n of the unit is a whole number of
 * microseconds only if 10^(n-e) divides c × F, which needs n - e <= 5 for the largest c (864).
 */
typedef struct {
	const gchar *name;
	guint64 coefficient;
	guint exponent;
} ArkDurationUnit;

static const ArkDurationUnit ark_duration_units[] = {
    /* two-letter units first so that "ms" is not read as "m" followed by "s" */
    {"us", 1, 0},
    {"ms", 1, 3},
    {"s", 1, 6},
    {"m", 6, 7},
    {"h", 36, 8},
    {"d", 864, 8},
};

static guint64
ark_duration_pow10(guint n)
{
	guint64 v = 1;
	for (guint i = 0; i < n; i++)
		v *= 10;
	return v;
}

static const ArkDurationUnit *
ark_duration_match_unit(const gchar *p, gsize *out_len)
{
	gsize letters = 0;

	while (g_ascii_isalpha(p[letters]))
		letters++;
	for (guint i = 0; i < G_N_ELEMENTS(ark_duration_units); i++) {
		if (strlen(ark_duration_units[i].name) == letters &&
		    strncmp(p, ark_duration_units[i].name, letters) == 0) {
			*out_len = letters;
			return &ark_duration_units[i];
		}
	}
	*out_len = letters;
	return NULL;
}

static gboolean
ark_duration_add(guint64 *total, guint64 value)
{
	if (value > (guint64)G_MAXINT64 - *total)
		return FALSE;
	*total += value;
	return TRUE;
}

static gboolean
ark_duration_fail(GError **error, const gchar *str, const gchar *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
ark_duration_fail(GError **error, const gchar *str, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *detail = NULL;

	va_start(args, format);
	detail = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "invalid duration '%s': %s", str,
		    detail);
	return FALSE;
}

/**
 * ark_duration_parse:
 * @str: a duration such as "1m30s"
 * @out_usec: (out): the duration in microseconds
 * @error: return location for a #GError
 *
 * Parses a duration written as one or more number-unit groups. The error message quotes @str and
 * says what is wrong with it, ready to show to a user.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
ark_duration_parse(const gchar *str, gint64 *out_usec, GError **error)
{
	const gchar *p = str;
	guint64 total = 0;

	g_return_val_if_fail(str != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (*p == '\0')
		return ark_duration_fail(error, str, "empty string");
	if (*p == '-')
		return ark_duration_fail(error, str, "negative durations are not allowed");

	while (*p != '\0') {
		const gchar *number = p;
		const gchar *frac = NULL;
		gsize frac_len = 0;
		guint64 whole = 0;
		gboolean whole_overflow = FALSE;
		const ArkDurationUnit *unit;
		gsize unit_len = 0;
		guint64 unit_usec;

		if (!g_ascii_isdigit(*p)) {
			if (g_ascii_isspace(*p))
				return ark_duration_fail(error, str, "spaces are not allowed");
			return ark_duration_fail(error, str, "expected a number at '%s'", p);
		}
		for (; g_ascii_isdigit(*p); p++) {
			guint d = (guint)(*p - '0');
			if (whole > (G_MAXUINT64 - d) / 10)
				whole_overflow = TRUE;
			else
				whole = whole * 10 + d;
		}
		if (*p == '.') {
			p++;
			frac = p;
			while (g_ascii_isdigit(*p))
				p++;
			frac_len = (gsize)(p - frac);
			if (frac_len == 0)
				return ark_duration_fail(error, str, "expected digits after '%.*s'",
							 (int)(p - number), number);
		}

		if (*p == '\0')
			return ark_duration_fail(error, str, "missing unit after '%.*s' (%s)",
						 (int)(p - number), number,
						 ARK_DURATION_UNITS_HINT);
		if (g_ascii_isspace(*p))
			return ark_duration_fail(error, str, "spaces are not allowed");
		unit = ark_duration_match_unit(p, &unit_len);
		if (unit == NULL) {
			if (unit_len == 0)
				return ark_duration_fail(error, str, "unexpected '%c' after '%.*s'",
							 *p, (int)(p - number), number);
			return ark_duration_fail(error, str, "unknown unit '%.*s' (%s)",
						 (int)unit_len, p, ARK_DURATION_UNITS_HINT);
		}
		p += unit_len;

		unit_usec = unit->coefficient * ark_duration_pow10(unit->exponent);
		if (whole_overflow || (whole != 0 && whole > (guint64)G_MAXINT64 / unit_usec) ||
		    !ark_duration_add(&total, whole * unit_usec))
			return ark_duration_fail(error, str, "too large");

		if (frac != NULL) {
			guint64 f = 0;
			guint64 frac_usec;

			/* trailing zeros add nothing, and dropping them keeps F small */
			while (frac_len > 0 && frac[frac_len - 1] == '0')
				frac_len--;
			if (frac_len > unit->exponent + 5)
				return ark_duration_fail(error, str,
							 "more precise than a microsecond");
			for (gsize i = 0; i < frac_len; i++)
				f = f * 10 + (guint64)(frac[i] - '0');
			frac_usec = unit->coefficient * f;
			if (frac_len <= unit->exponent) {
				frac_usec *= ark_duration_pow10(unit->exponent - (guint)frac_len);
			} else {
				guint64 div = ark_duration_pow10((guint)frac_len - unit->exponent);
				if (frac_usec % div != 0)
					return ark_duration_fail(
					    error, str, "more precise than a microsecond");
				frac_usec /= div;
			}
			if (!ark_duration_add(&total, frac_usec))
				return ark_duration_fail(error, str, "too large");
		}
	}

	if (out_usec != NULL)
		*out_usec = (gint64)total;
	return TRUE;
}

static void
ark_duration_append_fraction(GString *str, guint64 value, guint64 scale, const gchar *unit)
{
	guint64 rest = value % scale;

	g_string_append_printf(str, "%" G_GUINT64_FORMAT, value / scale);
	if (rest != 0) {
		gchar digits[32];
		gsize len;
		guint width = 0;

		for (guint64 s = scale; s > 1; s /= 10)
			width++;
		g_snprintf(digits, sizeof(digits), "%0*" G_GUINT64_FORMAT, (int)width, rest);
		len = strlen(digits);
		while (len > 0 && digits[len - 1] == '0')
			len--;
		g_string_append_c(str, '.');
		g_string_append_len(str, digits, (gssize)len);
	}
	g_string_append(str, unit);
}

/**
 * ark_duration_format:
 * @usec: a duration in microseconds
 *
 * Formats a duration as days, hours and minutes followed by the rest in the largest unit that
 * keeps it short and exact: 90000000 is "1m30s", 1500 is "1.5ms", 0 is "0s". The result always
 * parses back to @usec with ark_duration_parse() (negative values get a leading '-' and do not).
 *
 * Returns: (transfer full): the formatted duration
 *
 * Since: 0.1
 */
gchar *
ark_duration_format(gint64 usec)
{
	const guint64 second = 1000000;
	const guint64 minute = 60 * second;
	const guint64 hour = 60 * minute;
	const guint64 day = 24 * hour;
	GString *str = g_string_new(NULL);
	guint64 v;

	if (usec == 0)
		return g_string_free(g_string_append(str, "0s"), FALSE);
	if (usec < 0) {
		g_string_append_c(str, '-');
		/* negating in unsigned arithmetic is defined for G_MININT64 too */
		v = (guint64)0 - (guint64)usec;
	} else {
		v = (guint64)usec;
	}

	if (v >= day)
		g_string_append_printf(str, "%" G_GUINT64_FORMAT "d", v / day);
	v %= day;
	if (v >= hour)
		g_string_append_printf(str, "%" G_GUINT64_FORMAT "h", v / hour);
	v %= hour;
	if (v >= minute)
		g_string_append_printf(str, "%" G_GUINT64_FORMAT "m", v / minute);
	v %= minute;

	if (v >= second)
		ark_duration_append_fraction(str, v, second, "s");
	else if (v >= 1000)
		ark_duration_append_fraction(str, v, 1000, "ms");
	else if (v > 0)
		g_string_append_printf(str, "%" G_GUINT64_FORMAT "us", v);
	return g_string_free(str, FALSE);
}

typedef struct {
	const gchar *name;
	guint64 multiplier;
} ArkSizeUnit;

static const ArkSizeUnit ark_size_units[] = {
    {"", 1},
    {"B", 1},
    {"K", G_GUINT64_CONSTANT(1) << 10},
    {"KiB", G_GUINT64_CONSTANT(1) << 10},
    {"M", G_GUINT64_CONSTANT(1) << 20},
    {"MiB", G_GUINT64_CONSTANT(1) << 20},
    {"G", G_GUINT64_CONSTANT(1) << 30},
    {"GiB", G_GUINT64_CONSTANT(1) << 30},
    {"T", G_GUINT64_CONSTANT(1) << 40},
    {"TiB", G_GUINT64_CONSTANT(1) << 40},
    {"kB", G_GUINT64_CONSTANT(1000)},
    {"MB", G_GUINT64_CONSTANT(1000000)},
    {"GB", G_GUINT64_CONSTANT(1000000000)},
    {"TB", G_GUINT64_CONSTANT(1000000000000)},
};

/**
 * ark_size_parse:
 * @str: a size such as "10MiB"
 * @out_bytes: (out): the size in bytes
 * @error: return location for a #GError
 *
 * Parses a whole number of bytes with an optional unit: K, M, G, T and KiB, MiB, GiB, TiB are
 * binary, kB, MB, GB, TB decimal, B or nothing bytes.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
ark_size_parse(const gchar *str, guint64 *out_bytes, GError **error)
{
	const gchar *p = str;
	guint64 value = 0;

	g_return_val_if_fail(str != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!g_ascii_isdigit(*p)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "invalid size '%s': expected a whole number of bytes", str);
		return FALSE;
	}
	for (; g_ascii_isdigit(*p); p++) {
		guint d = (guint)(*p - '0');
		if (value > (G_MAXUINT64 - d) / 10) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "invalid size '%s': too large", str);
			return FALSE;
		}
		value = value * 10 + d;
	}
	for (guint i = 0; i < G_N_ELEMENTS(ark_size_units); i++) {
		if (g_strcmp0(p, ark_size_units[i].name) != 0)
			continue;
		if (value != 0 && value > G_MAXUINT64 / ark_size_units[i].multiplier) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "invalid size '%s': too large", str);
			return FALSE;
		}
		if (out_bytes != NULL)
			*out_bytes = value * ark_size_units[i].multiplier;
		return TRUE;
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "invalid size '%s': unknown unit '%s' (use KiB, MiB, GiB, TiB, K, M, G, T, "
		    "kB, MB, GB or TB)",
		    str, p);
	return FALSE;
}
