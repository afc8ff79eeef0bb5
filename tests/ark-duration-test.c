/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include "ark-test-utils.h"

#define SEC G_GINT64_CONSTANT(1000000)

static void
ark_duration_test_parse_good(void)
{
	static const struct {
		const gchar *str;
		gint64 usec;
	} cases[] = {
	    {"0s", 0},
	    {"0us", 0},
	    {"1us", 1},
	    {"500ms", 500000},
	    {"2s", 2 * SEC},
	    {"1m", 60 * SEC},
	    {"1m30s", 90 * SEC},
	    {"1h", 3600 * SEC},
	    {"2d", 2 * 86400 * SEC},
	    {"1.5s", 1500000},
	    {"1.5ms", 1500},
	    {"0.5m", 30 * SEC},
	    {"1.25h", 4500 * SEC},
	    {"0.000001s", 1},
	    {"0.0000010s", 1},
	    {"1.000000000000000000000s", SEC},
	    {"1d2h3m4s5ms6us", ((((24 + 2) * 60 + 3) * 60 + 4) * SEC) + 5006},
	    {"1s1s", 2 * SEC},
	    {"90s", 90 * SEC},
	    {"007s", 7 * SEC},
	    {"0.00000005d", 4320},
	    {"9223372036854775807us", G_MAXINT64},
	    {"106751991d4h54.775807s", G_MAXINT64},
	    {"106751991d4h54.775s", G_MAXINT64 - 807},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gint64 usec = -1;

		g_test_message("parsing '%s'", cases[i].str);
		g_assert_true(ark_duration_parse(cases[i].str, &usec, &error));
		g_assert_no_error(error);
		g_assert_cmpint(usec, ==, cases[i].usec);
	}
}

static void
ark_duration_test_parse_bad(void)
{
	static const struct {
		const gchar *str;
		const gchar *message;
	} cases[] = {
	    {"", "empty"},
	    {"-5s", "negative"},
	    {"-0s", "negative"},
	    {"10", "missing unit after '10'"},
	    {"1s2", "missing unit after '2'"},
	    {"10x", "unknown unit 'x'"},
	    {"10 minutes", "spaces are not allowed"},
	    {" 1s", "spaces are not allowed"},
	    {"1s ", "spaces are not allowed"},
	    {"10minutes", "unknown unit 'minutes'"},
	    {"1S", "unknown unit 'S'"},
	    {"s", "expected a number at 's'"},
	    {".5s", "expected a number"},
	    {"1.s", "expected digits after '1.'"},
	    {"1..5s", "expected digits after '1.'"},
	    {"+1s", "expected a number"},
	    {"1e3s", "unknown unit 'e'"},
	    {"1,5s", "unexpected ','"},
	    {"1.5us", "more precise than a microsecond"},
	    {"0.0000001s", "more precise than a microsecond"},
	    {"1.0000000000000000001d", "more precise than a microsecond"},
	    {"9223372036854775808us", "too large"},
	    {"106751992d", "too large"},
	    {"99999999999999999999999999s", "too large"},
	    {"9223372036854775807us1us", "too large"},
	    {"106751991d4h54.775808s", "too large"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gint64 usec = -1;
		g_autofree gchar *prefix = g_strdup_printf("invalid duration '%s': ", cases[i].str);

		g_test_message("parsing '%s'", cases[i].str);
		g_assert_false(ark_duration_parse(cases[i].str, &usec, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_true(g_str_has_prefix(error->message, prefix));
		if (strstr(error->message, cases[i].message) == NULL)
			g_error("'%s' does not contain '%s'", error->message, cases[i].message);
		g_assert_cmpint(usec, ==, -1);
	}
}

static void
ark_duration_test_format(void)
{
	static const struct {
		gint64 usec;
		const gchar *str;
	} cases[] = {
	    {0, "0s"},
	    {1, "1us"},
	    {999, "999us"},
	    {1000, "1ms"},
	    {1500, "1.5ms"},
	    {1001, "1.001ms"},
	    {500000, "500ms"},
	    {SEC, "1s"},
	    {1500000, "1.5s"},
	    {1000001, "1.000001s"},
	    {90 * SEC, "1m30s"},
	    {60 * SEC, "1m"},
	    {3600 * SEC, "1h"},
	    {5400 * SEC, "1h30m"},
	    {86400 * SEC, "1d"},
	    {36 * 3600 * SEC, "1d12h"},
	    {60 * SEC + 1500, "1m1.5ms"},
	    {61 * SEC + 500000, "1m1.5s"},
	    {G_MAXINT64, "106751991d4h54.775807s"},
	    {-1500, "-1.5ms"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *str = ark_duration_format(cases[i].usec);
		g_assert_cmpstr(str, ==, cases[i].str);
	}
	/* G_MININT64 has no positive counterpart in gint64 */
	{
		g_autofree gchar *str = ark_duration_format(G_MININT64);
		g_assert_cmpstr(str, ==, "-106751991d4h54.775808s");
	}
}

static void
ark_duration_test_round_trip(void)
{
	static const gint64 values[] = {
	    0,		  1,	     7,		 999,	       1000,	       1001,
	    123456,	  SEC - 1,   SEC,	 SEC + 1,      59 * SEC,       61 * SEC + 1,
	    3599 * SEC,	  86399 * SEC + 999999,	 86400 * SEC,  1234567890123, G_MAXINT64,
	    G_MAXINT64 - 1,
	};
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);

	for (guint i = 0; i < G_N_ELEMENTS(values) + 1000; i++) {
		gint64 v = i < G_N_ELEMENTS(values)
			       ? values[i]
			       : (gint64)(((guint64)g_rand_int(rand) << 31) ^ g_rand_int(rand));
		g_autofree gchar *str = ark_duration_format(v);
		g_autoptr(GError) error = NULL;
		gint64 back = -1;

		if (!ark_duration_parse(str, &back, &error))
			g_error("%" G_GINT64_FORMAT " formatted as '%s' does not parse: %s", v, str,
				error->message);
		g_assert_cmpint(back, ==, v);
	}
}

static void
ark_duration_test_size(void)
{
	static const struct {
		const gchar *str;
		guint64 bytes;
	} good[] = {
	    {"0", 0},
	    {"512", 512},
	    {"512B", 512},
	    {"10K", 10240},
	    {"10KiB", 10240},
	    {"10M", 10485760},
	    {"10MiB", 10485760},
	    {"1G", G_GUINT64_CONSTANT(1073741824)},
	    {"1GiB", G_GUINT64_CONSTANT(1073741824)},
	    {"2TiB", G_GUINT64_CONSTANT(2) << 40},
	    {"10kB", 10000},
	    {"10MB", 10000000},
	    {"1GB", 1000000000},
	    {"18446744073709551615", G_MAXUINT64},
	    {"16777215TiB", G_GUINT64_CONSTANT(16777215) << 40},
	};
	static const gchar *const bad[] = {
	    "", "-1", "1.5GiB", "10 MiB", "10Mb", "10mib", "KiB", "18446744073709551616",
	    "16777216TiB", "1x",
	};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		guint64 bytes = 1;

		g_test_message("parsing '%s'", good[i].str);
		g_assert_true(ark_size_parse(good[i].str, &bytes, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(bytes, ==, good[i].bytes);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		guint64 bytes = 1;

		g_test_message("parsing '%s'", bad[i]);
		g_assert_false(ark_size_parse(bad[i], &bytes, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_true(g_str_has_prefix(error->message, "invalid size '"));
		g_assert_cmpuint(bytes, ==, 1);
	}
}

/* timestamps are RFC 3339 UTC with microseconds, the same on the fast path and GDateTime's */
static void
ark_duration_test_timestamp(void)
{
	static const gint64 cases[] = {1,	       999999,	       1000000,
				       1732440000123456, 951782400000000, /* 2000-02-29 */
				       253402300799999999 /* 9999-12-31T23:59:59.999999 */};
	g_autofree gchar *epoch = ark_timestamp_format(1);

	g_assert_null(ark_timestamp_format(0));
	g_assert_cmpstr(epoch, ==, "1970-01-01T00:00:00.000001Z");
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = ark_timestamp_format(cases[i]);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(cases[i] / G_USEC_PER_SEC);
		g_autofree gchar *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
		g_autofree gchar *want = g_strdup_printf(
		    "%s.%06" G_GINT64_FORMAT "Z", base, cases[i] % G_USEC_PER_SEC);
		g_assert_cmpstr(got, ==, want);
	}
	{
		g_autofree gchar *leap = ark_timestamp_format(951782400000000);
		g_assert_cmpstr(leap, ==, "2000-02-29T00:00:00.000000Z");
	}
	/* the civil-date arithmetic against GDateTime, spread over years 1970 to 9999, and the
	 * appending form against the allocating one (past 9999 both go through GDateTime) */
	for (guint i = 0; i < 20000; i++) {
		gint64 ts = 1 + (gint64)(((guint64)i * 2654435761u * 2654435761u) %
					 (guint64)(253402300799999999 + G_GINT64_CONSTANT(100) * G_USEC_PER_SEC * 86400));
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(ts / G_USEC_PER_SEC);
		g_autofree gchar *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
		g_autofree gchar *want = g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", base,
							 ts % G_USEC_PER_SEC);
		g_autofree gchar *got = ark_timestamp_format(ts);
		g_autoptr(GString) out = g_string_new("t=");

		g_assert_cmpstr(got, ==, want);
		ark_timestamp_append(out, ts);
		g_assert_cmpstr(out->str + 2, ==, want);
	}
	{
		g_autoptr(GString) out = g_string_new("t=");
		ark_timestamp_append(out, 0);
		g_assert_cmpstr(out->str, ==, "t=");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/duration/parse-good", ark_duration_test_parse_good);
	g_test_add_func("/ark/duration/parse-bad", ark_duration_test_parse_bad);
	g_test_add_func("/ark/duration/format", ark_duration_test_format);
	g_test_add_func("/ark/duration/round-trip", ark_duration_test_round_trip);
	g_test_add_func("/ark/duration/size", ark_duration_test_size);
	g_test_add_func("/ark/duration/timestamp", ark_duration_test_timestamp);
	return g_test_run();
}
