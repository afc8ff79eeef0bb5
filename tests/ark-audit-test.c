/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <arkitect/arkitect-core.h>

#include "ark-audit-private.h"
#include "ark-test-utils.h"

/*
 * The audit log: the canonical form and hashes pinned byte for byte, the chain as ArkAudit keeps
 * it across commits and dropped batches, the JSON-lines file it writes and repairs, what
 * verification says about a damaged store or file, and ark_engine_audit() through a real engine
 * on a sqlite store. The stores are the real plugins; the command is check-audit-cli.py's.
 */

#define T0 ((ArkTimestamp)1764000000000000)

typedef struct {
	gchar *dir;
	gchar *file;
	ArkStore *store; /* the store named by the test's data, "memory" by default */
	ArkStoreBatch *batch;
	ArkEngine *engine; /* or NULL */
	gboolean run_finished;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	f->dir = ark_test_mkdtemp();
	f->file = g_build_filename(f->dir, "audit.jsonl", NULL);
	f->store = ark_registry_create(registry, ARK_CAPABILITY_STORE,
				       data != NULL ? data : "memory", &error);
	g_assert_no_error(error);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	f->batch = ark_store_batch_new();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	if (f->engine != NULL)
		ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
	ark_store_batch_free(f->batch);
	ark_store_close(f->store);
	g_clear_object(&f->store);
	ark_test_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->file);
}

static ArkAuditEntry
fixture_entry(guint i)
{
	static const gchar *const targets[] = {"01JRUN", "01JRUN/build", NULL};
	ArkAuditEntry entry = {
	    .actor = i % 2 == 0 ? "token:ci" : "uid 1000 (alice)",
	    .origin = i % 2 == 0 ? "http 127.0.0.1:41234" : "cli",
	    .action = "run.cancel",
	    .target = targets[i % G_N_ELEMENTS(targets)],
	    .result = i % 3 == 0 ? "ok" : "not-found",
	    .request_id = i % 2 == 0 ? "req-7" : NULL,
	    .detail = i % 2 == 1 ? "{\"reason\":\"wrong branch\"}" : NULL,
	};
	return entry;
}

/* appends @n entries through @audit in one commit */
static void
fixture_commit(Fixture *f, ArkAudit *audit, guint n)
{
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < n; i++) {
		ArkAuditEntry entry = fixture_entry(i);
		g_assert_true(ark_audit_append(audit, f->batch, &entry, &error));
		g_assert_no_error(error);
	}
	g_assert_true(ark_store_apply(f->store, f->batch, &error));
	g_assert_no_error(error);
	ark_audit_committed(audit, f->batch);
	ark_store_batch_clear(f->batch);
}

static ArkAudit *
fixture_audit(Fixture *f, const gchar *file)
{
	g_autoptr(ArkAudit) audit = ark_audit_new();
	g_autoptr(GError) error = NULL;

	ark_audit_set_file(audit, file);
	g_assert_true(ark_audit_open(audit, f->store, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&audit);
}

static ArkAuditReport *
fixture_verify(Fixture *f, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	ArkAuditReport *report = ark_audit_verify(f->store, file, &error);

	g_assert_no_error(error);
	g_assert_nonnull(report);
	for (guint i = 0; i < report->problems->len; i++)
		g_test_message("%s", ((ArkAuditProblem *)report->problems->pdata[i])->message);
	return report;
}

/* @report found exactly @messages, in this order */
static void
fixture_assert_problems(ArkAuditReport *report, const gchar *const *messages)
{
	guint n = messages != NULL ? g_strv_length((gchar **)messages) : 0;

	for (guint i = 0; i < MIN(n, report->problems->len); i++)
		g_assert_cmpstr(((ArkAuditProblem *)report->problems->pdata[i])->message, ==,
				messages[i]);
	g_assert_cmpuint(report->problems->len, ==, n);
	g_assert_cmpuint(report->n_more, ==, 0);
}

/* verifies the store and @f->file: it finds exactly the messages given, in this order */
static void fixture_expect(Fixture *f, ...) G_GNUC_NULL_TERMINATED;

static void
fixture_expect(Fixture *f, ...)
{
	g_autoptr(ArkAuditReport) report = fixture_verify(f, f->file);
	g_autoptr(GPtrArray) messages = g_ptr_array_new();
	const gchar *message;
	va_list args;

	va_start(args, f);
	while ((message = va_arg(args, const gchar *)) != NULL)
		g_ptr_array_add(messages, (gpointer)message);
	va_end(args);
	g_ptr_array_add(messages, NULL);
	fixture_assert_problems(report, (const gchar *const *)messages->pdata);
}

static gchar **
fixture_read_lines(const gchar *path)
{
	g_autofree gchar *contents = ark_test_read_file(path);
	gsize len = strlen(contents);

	g_assert_true(len > 0 && contents[len - 1] == '\n');
	contents[len - 1] = '\0';
	return g_strsplit(contents, "\n", -1);
}

static void
fixture_write_lines(const gchar *path, gchar **lines, const gchar *tail)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	for (guint i = 0; lines[i] != NULL; i++)
		g_string_append_printf(text, "%s\n", lines[i]);
	g_string_append(text, tail);
	g_file_set_contents(path, text->str, (gssize)text->len, &error);
	g_assert_no_error(error);
}

/*
 * The format is a promise to whoever verifies a log later, perhaps with another tool: member
 * order, compact form, escapes and the hash input, checked against values computed with
 * Python's json and hashlib.
 */
static void
test_canonical(void)
{
	ArkAuditRecord first = {
	    .seq = 1,
	    .time = T0,
	    .actor = "alice",
	    .origin = "cli",
	    .action = "run.submit",
	    .target = "01JRUN",
	    .result = "ok",
	    .detail = "{\"a\":1}",
	    .prev_hash = ARK_AUDIT_GENESIS_HASH,
	};
	ArkAuditRecord second = {
	    .seq = 2,
	    .time = T0 + 1,
	    .actor = "é \"q\" \\ \n\t\001\177",
	    .action = "task.cancel",
	    .result = "not-found",
	    .request_id = "r-2",
	    .prev_hash = "44555bbea11955ac7d4811f5762e478bfe9167e8689587c58dc8b8bafd8e4ab6",
	};
	g_autofree gchar *json = ark_audit_canonical_json(&first, FALSE);
	g_autofree gchar *hash = ark_audit_compute_hash(&first);
	g_autofree gchar *line = NULL;
	g_autofree gchar *json2 = ark_audit_canonical_json(&second, FALSE);
	g_autofree gchar *hash2 = ark_audit_compute_hash(&second);

	g_assert_cmpstr(
	    json, ==,
	    "{\"seq\":1,\"time\":1764000000000000,\"actor\":\"alice\",\"origin\":\"cli\","
	    "\"action\":\"run.submit\",\"target\":\"01JRUN\",\"result\":\"ok\","
	    "\"request_id\":null,\"detail\":\"{\\\"a\\\":1}\"}");
	g_assert_cmpstr(hash, ==, second.prev_hash);
	first.hash = hash;
	line = ark_audit_canonical_json(&first, TRUE);
	g_assert_cmpstr(
	    line, ==,
	    "{\"seq\":1,\"time\":1764000000000000,\"actor\":\"alice\",\"origin\":\"cli\","
	    "\"action\":\"run.submit\",\"target\":\"01JRUN\",\"result\":\"ok\","
	    "\"request_id\":null,\"detail\":\"{\\\"a\\\":1}\",\"prev_hash\":"
	    "\"" ARK_AUDIT_GENESIS_HASH
	    "\",\"hash\":\"44555bbea11955ac7d4811f5762e478bfe9167e8689587c58dc8b8bafd8e4ab6\"}");

	g_assert_cmpstr(json2, ==,
			"{\"seq\":2,\"time\":1764000000000001,"
			"\"actor\":\"é \\\"q\\\" \\\\ \\n\\t\\u0001\\u007f\",\"origin\":null,"
			"\"action\":\"task.cancel\",\"target\":null,\"result\":\"not-found\","
			"\"request_id\":\"r-2\",\"detail\":null}");
	g_assert_cmpstr(hash2, ==,
			"55baa54c07e24a60b0f545cd04295c09af92e10eb9f85801f109b067207d5819");
}

/* the head moves with commits only; records of a dropped batch never were */
static void
test_chain(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, NULL);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = fixture_entry(0);
	const ArkAuditRecord *r;

	fixture_commit(f, audit, 3);
	records = ark_store_read_audit(f->store, 0, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(records->len, ==, 3);
	for (guint i = 0; i < records->len; i++) {
		g_autofree gchar *hash = NULL;
		r = g_ptr_array_index(records, i);
		hash = ark_audit_compute_hash(r);
		g_assert_cmpuint(r->seq, ==, i + 1);
		g_assert_cmpstr(r->hash, ==, hash);
		g_assert_cmpstr(r->prev_hash, ==,
				i == 0 ? ARK_AUDIT_GENESIS_HASH
				       : ((ArkAuditRecord *)records->pdata[i - 1])->hash);
		g_assert_cmpint(r->time, >, T0);
	}
	r = g_ptr_array_index(records, 1);
	g_assert_cmpstr(r->actor, ==, "uid 1000 (alice)");
	g_assert_cmpstr(r->detail, ==, "{\"reason\":\"wrong branch\"}");
	g_assert_null(r->request_id);

	/* two records that never commit, then one that does: it follows record 3 */
	g_assert_true(ark_audit_append(audit, f->batch, &entry, &error));
	g_assert_true(ark_audit_append(audit, f->batch, &entry, &error));
	ark_audit_rollback(audit);
	ark_store_batch_clear(f->batch);
	fixture_commit(f, audit, 1);

	report = fixture_verify(f, NULL);
	fixture_assert_problems(report, NULL);
	g_assert_cmpuint(report->n_records, ==, 4);
	g_assert_cmpuint(report->head_seq, ==, 4);
	g_clear_pointer(&records, g_ptr_array_unref);
	records = ark_store_read_audit(f->store, 2, 0, &error);
	g_assert_cmpuint(records->len, ==, 2);
	r = g_ptr_array_index(records, 1);
	g_assert_cmpstr(r->prev_hash, ==, ((ArkAuditRecord *)records->pdata[0])->hash);
	g_assert_cmpstr(report->head_hash, ==, r->hash);
}

/* what only a frontend bug produces is an error (not a critical); what a client made too long
 * or not UTF-8 is recorded as well as it can be */
static void
test_entry_checks(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, NULL);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	struct {
		ArkAuditEntry entry;
		gint code;
	} bad[] = {
	    {{.action = "a", .result = "ok"}, ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "", .action = "a", .result = "ok"}, ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .result = "ok"}, ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .action = "a"}, ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .action = "a", .result = "ok", .detail = "[1]"},
	     ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .action = "a", .result = "ok", .detail = "{\"a\":"},
	     ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .action = "a", .result = "ok", .detail = " "},
	     ARK_ERROR_INVALID_ARGUMENT},
	    {{.actor = "x", .action = "a", .result = "ok", .detail = "{\"\xff\":1}"},
	     ARK_ERROR_INVALID_ARGUMENT},
	};
	ArkAuditEntry broken_text = {.actor = "bad \xc3\x28 byte", .action = "a", .result = "ok"};
	/* 4095 x and an é across the limit; a detail of 65544 bytes */
	g_autofree gchar *xs = g_strnfill(ARK_AUDIT_MAX_FIELD - 1, 'x');
	g_autofree gchar *long_target = g_strconcat(xs, "\xc3\xa9tail", NULL);
	g_autofree gchar *filler = g_strnfill(ARK_AUDIT_MAX_DETAIL, 'd');
	g_autofree gchar *long_detail = g_strdup_printf("{\"a\":\"%s\"}", filler);
	ArkAuditEntry long_entry = {.actor = "x",
				    .action = "a",
				    .result = "ok",
				    .target = long_target,
				    .detail = long_detail};
	const ArkAuditRecord *r;

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(ark_audit_append(audit, f->batch, &bad[i].entry, &error));
		g_assert_error(error, ARK_ERROR, bad[i].code);
		g_test_message("%s", error->message);
		g_clear_error(&error);
		g_assert_cmpuint(ark_store_batch_get_length(f->batch), ==, 0);
	}
	/* text that is not UTF-8 is kept as well as JSON can: with U+FFFD for the bad bytes; what
	 * is too long is cut, at a character, and a detail too long stands for itself by its size
	 * and hash: the call happened, so it is recorded */
	g_assert_true(ark_audit_append(audit, f->batch, &broken_text, &error));
	g_assert_true(ark_audit_append(audit, f->batch, &long_entry, &error));
	g_assert_no_error(error);
	g_assert_true(ark_store_apply(f->store, f->batch, &error));
	ark_audit_committed(audit, f->batch);
	records = ark_store_read_audit(f->store, 0, 0, &error);
	g_assert_cmpstr(((ArkAuditRecord *)records->pdata[0])->actor, ==, "bad \xef\xbf\xbd( byte");
	r = g_ptr_array_index(records, 1);
	g_assert_cmpuint(strlen(r->target), ==, ARK_AUDIT_MAX_FIELD - 1 + strlen("\u2026"));
	g_assert_true(g_str_has_suffix(r->target, "x\u2026"));
	g_assert_true(g_str_has_prefix(r->detail, "{\"truncated\":true,\"bytes\":65544,"));
	{
		g_autofree gchar *sha256 = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
									 long_detail, -1);
		g_assert_nonnull(strstr(r->detail, sha256));
	}
	report = fixture_verify(f, NULL);
	fixture_assert_problems(report, NULL);
}

/* a store whose records are as given: the memory store keeps any chain */
static void
fixture_store_records(Fixture *f, ArkAuditRecord *records, guint n)
{
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < n; i++)
		ark_store_batch_add_audit(f->batch, &records[i]);
	g_assert_true(ark_store_apply(f->store, f->batch, &error));
	g_assert_no_error(error);
	ark_store_batch_clear(f->batch);
}

/* a valid chain of @n records in @records, hashes in @hashes (n + 1 long, freed by the caller) */
static void
fixture_make_chain(ArkAuditRecord *records, gchar **hashes, guint n)
{
	hashes[0] = g_strdup(ARK_AUDIT_GENESIS_HASH);
	for (guint i = 0; i < n; i++) {
		ArkAuditEntry entry = fixture_entry(i);
		ArkAuditRecord r = {
		    .seq = i + 1,
		    .time = T0 + i,
		    .actor = (gchar *)entry.actor,
		    .origin = (gchar *)entry.origin,
		    .action = (gchar *)entry.action,
		    .target = (gchar *)entry.target,
		    .result = (gchar *)entry.result,
		    .request_id = (gchar *)entry.request_id,
		    .detail = (gchar *)entry.detail,
		    .prev_hash = hashes[i],
		};
		hashes[i + 1] = ark_audit_compute_hash(&r);
		r.hash = hashes[i + 1];
		records[i] = r;
	}
}

static void
test_verify_store(Fixture *f, gconstpointer data)
{
	ArkAuditRecord records[6];
	g_auto(GStrv) hashes = g_new0(gchar *, G_N_ELEMENTS(records) + 2);
	g_autoptr(ArkAuditReport) report = NULL;
	const gchar *const expected[] = {
	    "record 1: prev_hash is not the genesis hash (modified)",
	    "record 1: hash does not match its content (modified)",
	    "record 3: hash does not match its content (modified)",
	    "record 5: prev_hash does not match record 4 (removed or reordered)",
	    "record 5: hash does not match its content (modified)",
	    "record 6: its actor is not UTF-8 text (modified)",
	    "record 6: hash does not match its content (modified)",
	    NULL,
	};

	fixture_make_chain(records, hashes, G_N_ELEMENTS(records));
	/* a record changed without its hash, one that claims another place in the chain, one
	 * with bytes that are not text, and a first record that does not start the chain */
	records[0].prev_hash = "1111111111111111111111111111111111111111111111111111111111111111";
	records[2].actor = "mallory";
	records[4].prev_hash = hashes[2];
	records[5].actor = "\xff";
	fixture_store_records(f, records, G_N_ELEMENTS(records));
	report = fixture_verify(f, NULL);
	fixture_assert_problems(report, expected);
	g_assert_cmpuint(report->n_records, ==, 6);
	g_assert_cmpstr(report->head_hash, ==, hashes[6]);
}

static void
test_verify_file(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, f->file);
	g_autoptr(ArkAuditReport) report = NULL;
	g_auto(GStrv) lines = NULL;
	g_autofree gchar *intact = NULL;
	gchar *saved;
	g_autoptr(GError) error = NULL;

	fixture_commit(f, audit, 2);
	fixture_commit(f, audit, 3);
	lines = fixture_read_lines(f->file);
	g_assert_cmpuint(g_strv_length(lines), ==, 5);
	report = fixture_verify(f, f->file);
	fixture_assert_problems(report, NULL);
	g_assert_cmpuint(report->n_lines, ==, 5);
	g_clear_pointer(&report, ark_audit_report_free);
	intact = ark_test_read_file(f->file);

	/* a changed line */
	saved = lines[2];
	lines[2] = g_strdup(saved);
	memcpy(strstr(lines[2], "token:ci"), "token:xx", 8);
	fixture_write_lines(f->file, lines, "");
	fixture_expect(f, "file line 3 differs from store record 3 (the line was changed)", NULL);
	g_free(lines[2]);
	lines[2] = saved;

	/* the last line dropped */
	saved = lines[4];
	lines[4] = NULL;
	fixture_write_lines(f->file, lines, "");
	fixture_expect(f, "file ends at record 4, store has 5", NULL);

	/* the lines of records 2 and 5 swapped */
	lines[4] = lines[1];
	lines[1] = saved;
	fixture_write_lines(f->file, lines, "");
	fixture_expect(f, "file line 2 holds record 5: records 2 to 4 missing from the file",
		       "file line 3 holds record 3 out of order (after record 5)",
		       "file line 4 holds record 4 out of order (after record 5)",
		       "file line 5 holds record 2 out of order (after record 5)", NULL);

	/* no file, an empty one, one with a record the store does not have */
	g_assert_cmpint(g_unlink(f->file), ==, 0);
	report = fixture_verify(f, f->file);
	g_assert_cmpuint(report->problems->len, ==, 1);
	g_assert_nonnull(strstr(((ArkAuditProblem *)report->problems->pdata[0])->message,
				"does not exist, store has 5 records"));
	g_clear_pointer(&report, ark_audit_report_free);
	g_file_set_contents(f->file, "", 0, &error);
	fixture_expect(f, "file has no records, store has 5", NULL);
	{
		g_autofree gchar *more = g_strconcat(intact, "{\"seq\":6}\n", NULL);
		g_file_set_contents(f->file, more, -1, &error);
	}
	fixture_expect(f, "file line 6 holds record 6, which the store does not have", NULL);
}

/* whatever the file holds, verify says what is wrong with it and carries on */
static void
test_verify_hostile_file(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, f->file);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) lines = NULL;
	g_autofree gchar *huge = g_strnfill(3 * 1024 * 1024, '{');
	const gchar *const expected[] = {
	    "file line 2 is not an audit record (not UTF-8 text)",
	    "file line 3 is not an audit record (longer than 1048576 bytes)",
	    "file line 4 is not an audit record (not UTF-8 text)",
	    "file line 5 is not an audit record (not a JSON object)",
	    "file line 6 is not an audit record (no positive integer seq)",
	    "file line 7 is not an audit record (no positive integer seq)",
	    "file line 8 is not an audit record (not a JSON object)",
	    "file line 9 is not an audit record (not a JSON object)",
	    "file line 11 does not end with a newline (an incomplete write)",
	    NULL,
	};

	fixture_commit(f, audit, 3);
	lines = fixture_read_lines(f->file);
	g_string_append_printf(text, "%s\n", lines[0]);
	g_string_append(text, "invalid \xc0\xaf utf-8\n");
	g_string_append_printf(text, "%s\n", huge);
	g_string_append_len(text, "{\"seq\":2}\0garbage\n", 18);
	g_string_append(text, "[1,2]\n");
	g_string_append(text, "{\"seq\":-4}\n");
	g_string_append(text, "{\"seq\":\"3\"}\n");
	g_string_append(text, "\n \t\n");
	g_string_append_printf(text, "%s\n", lines[1]);
	g_string_append(text, lines[2]);
	g_file_set_contents(f->file, text->str, (gssize)text->len, &error);
	g_assert_no_error(error);

	/* the lines around the garbage are records 1 to 3, in order and as stored */
	report = fixture_verify(f, f->file);
	fixture_assert_problems(report, expected);
	g_assert_cmpuint(report->n_lines, ==, 11);

	/* a record changed into garbage is that line's problem, not also a gap */
	g_string_truncate(text, 0);
	g_string_append_printf(text, "%s\n{not json\n%s\n", lines[0], lines[2]);
	g_file_set_contents(f->file, text->str, (gssize)text->len, &error);
	g_clear_pointer(&report, ark_audit_report_free);
	report = fixture_verify(f, f->file);
	g_assert_cmpuint(report->problems->len, ==, 1);
	g_assert_true(g_str_has_prefix(((ArkAuditProblem *)report->problems->pdata[0])->message,
				       "file line 2 is not an audit record ("));
}

/* too many problems to list: the first ones and a count */
static void
test_verify_many_problems(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, NULL);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	fixture_commit(f, audit, 1);
	for (guint i = 0; i < ARK_AUDIT_MAX_PROBLEMS + 500; i++)
		g_string_append(text, "x\n");
	g_file_set_contents(f->file, text->str, (gssize)text->len, &error);
	report = fixture_verify(f, f->file);
	/* and the store's record missing from the file */
	g_assert_cmpuint(report->problems->len, ==, ARK_AUDIT_MAX_PROBLEMS);
	g_assert_cmpuint(report->n_more, ==, 501);
}

/* the file catches up with the store when it opens: lines a crash kept from it, a torn write */
static void
test_file_repair(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkAudit) audit = fixture_audit(f, f->file);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autofree gchar *intact = NULL;
	g_autofree gchar *torn = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) lines = NULL;

	fixture_commit(f, audit, 4);
	intact = ark_test_read_file(f->file);
	g_clear_pointer(&audit, ark_audit_free);

	/* committed, but the process died before writing the last two lines (the second one
	 * half written) */
	lines = fixture_read_lines(f->file);
	torn = g_strndup(lines[2], 20);
	g_free(lines[2]);
	g_free(lines[3]);
	lines[2] = lines[3] = NULL;
	fixture_write_lines(f->file, lines, torn);
	g_test_expect_message("ArkCore", G_LOG_LEVEL_WARNING, "*ended with an incomplete line*");
	audit = fixture_audit(f, f->file);
	g_test_assert_expected_messages();
	{
		g_autofree gchar *repaired = ark_test_read_file(f->file);
		g_assert_cmpstr(repaired, ==, intact);
	}
	report = fixture_verify(f, f->file);
	fixture_assert_problems(report, NULL);

	/* one process appends to a file at a time */
	{
		g_autoptr(ArkAudit) second = ark_audit_new();
		ark_audit_set_file(second, f->file);
		g_assert_false(ark_audit_open(second, f->store, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_BUSY);
		g_clear_error(&error);
	}

	/* a file that is gone is written again from the store */
	g_clear_pointer(&audit, ark_audit_free);
	g_assert_cmpint(g_unlink(f->file), ==, 0);
	audit = fixture_audit(f, f->file);
	{
		g_autofree gchar *rewritten = ark_test_read_file(f->file);
		g_assert_cmpstr(rewritten, ==, intact);
	}
}

/* the engine ----------------------------------------------------------------------------------- */

static void
fixture_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state, gpointer user_data)
{
	Fixture *f = user_data;
	f->run_finished = TRUE;
}

/* a new engine on the fixture's store, appending to its audit file too */
static void
fixture_start_engine(Fixture *f)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	if (f->engine != NULL)
		ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
	f->engine = ark_engine_new(registry, f->store);
	ark_engine_set_state_dir(f->engine, f->dir);
	ark_engine_set_audit_file(f->engine, f->file);
	g_assert_true(ark_engine_start(f->engine, &error));
	g_assert_no_error(error);
	g_signal_connect(f->engine, "run-finished", G_CALLBACK(fixture_run_finished_cb), f);
}

static guint64
fixture_last_audit_seq(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkAuditRecord) last = ark_store_get_last_audit(f->store, &error);

	if (last == NULL) {
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		return 0;
	}
	return last->seq;
}

static gboolean
fixture_second_committed(gpointer user_data)
{
	return fixture_last_audit_seq(user_data) == 2;
}

static gboolean
fixture_run_done(gpointer user_data)
{
	return ((Fixture *)user_data)->run_finished;
}

static guint
fixture_count_lines(const gchar *path)
{
	g_autofree gchar *contents = ark_test_read_file(path);
	guint n = 0;

	for (const gchar *c = contents; *c != '\0'; c++)
		n += *c == '\n';
	return n;
}

static void
test_engine(Fixture *f, gconstpointer data)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) wf =
	    ark_workflow_parse("{\"name\":\"a\",\"tasks\":[{\"id\":\"t\",\"executor\":\"thread\","
			       "\"function\":\"noop\"}]}",
			       -1, &problems);
	g_autoptr(ArkEngine) storeless = ark_engine_new(registry, NULL);
	g_autoptr(ArkAuditReport) report = NULL;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *run_id = NULL;
	g_autofree gchar *hash3 = NULL;
	g_autofree gchar *moved = NULL;
	ArkAuditEntry entry = {
	    .actor = "token:ci",
	    .origin = "http 127.0.0.1:41234",
	    .action = "run.submit",
	    .result = "ok",
	    .request_id = "req-1",
	};

	fixture_start_engine(f);
	/* with flush: durable when it returns */
	g_assert_true(ark_engine_audit(f->engine, &entry, TRUE, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 1);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 1);

	/* without: committed by the end of the main-loop iteration, file line after the commit */
	entry.action = "run.cancel";
	g_assert_true(ark_engine_audit(f->engine, &entry, FALSE, &error));
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 1);
	ark_test_loop_run_until(fixture_second_committed, f, 10000);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 2);

	/* or with whatever else commits first */
	entry.action = "run.submit";
	g_assert_true(ark_engine_audit(f->engine, &entry, FALSE, &error));
	run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 3);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 3);
	records = ark_store_read_audit(f->store, 2, 0, &error);
	hash3 = g_strdup(((ArkAuditRecord *)records->pdata[0])->hash);
	g_clear_pointer(&records, g_ptr_array_unref);
	ark_test_loop_run_until(fixture_run_done, f, 30000);

	/* a new engine on the same store continues the chain */
	ark_engine_shutdown(f->engine);
	ark_store_close(f->store);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	g_assert_no_error(error);
	fixture_start_engine(f);
	entry.action = "task.retry";
	entry.target = "01JRUN/t";
	g_assert_true(ark_engine_audit(f->engine, &entry, TRUE, &error));
	records = ark_store_read_audit(f->store, 0, 0, &error);
	g_assert_cmpuint(records->len, ==, 4);
	g_assert_cmpstr(((ArkAuditRecord *)records->pdata[3])->prev_hash, ==, hash3);
	g_assert_cmpstr(((ArkAuditRecord *)records->pdata[3])->target, ==, "01JRUN/t");
	g_assert_cmpstr(((ArkAuditRecord *)records->pdata[3])->action, ==, "task.retry");

	report = fixture_verify(f, f->file);
	fixture_assert_problems(report, NULL);
	g_assert_cmpuint(report->n_lines, ==, 4);
	g_assert_cmpuint(report->head_seq, ==, 4);
	g_clear_pointer(&report, ark_audit_report_free);

	/* a daemon's reload moves the file: the new one gets the whole log, then what follows */
	moved = g_build_filename(f->dir, "moved.jsonl", NULL);
	ark_engine_set_audit_file(f->engine, moved);
	g_assert_cmpuint(fixture_count_lines(moved), ==, 4);
	g_assert_true(ark_engine_audit(f->engine, &entry, TRUE, &error));
	g_assert_cmpuint(fixture_count_lines(moved), ==, 5);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 4);
	report = fixture_verify(f, moved);
	fixture_assert_problems(report, NULL);
	/* one that can not be opened leaves the log in the store */
	g_test_expect_message("ArkCore", G_LOG_LEVEL_WARNING, "failed to open the audit file*");
	ark_engine_set_audit_file(f->engine, "/nonexistent/audit.jsonl");
	g_test_assert_expected_messages();
	g_assert_true(ark_engine_audit(f->engine, &entry, TRUE, &error));
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 6);
	g_assert_cmpuint(fixture_count_lines(moved), ==, 5);

	/* bad entries are refused, and nothing is recorded */
	entry.actor = NULL;
	g_assert_false(ark_engine_audit(f->engine, &entry, TRUE, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 6);

	/* no store, no audit log */
	g_assert_true(ark_engine_start(storeless, &error));
	g_assert_false(ark_engine_audit(storeless, &entry, TRUE, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED);
}

/* a commit that fails takes its audit records with it: the file never gets them */
static void
test_engine_failed_commit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = {.actor = "alice", .action = "run.cancel", .result = "ok"};
	/* someone else's record takes the seq the engine's next record needs */
	ArkAuditRecord intruder = {.seq = 2,
				   .actor = "mallory",
				   .action = "run.submit",
				   .result = "ok",
				   .prev_hash = "x",
				   .hash = "y"};

	fixture_start_engine(f);
	g_assert_true(ark_engine_audit(f->engine, &entry, TRUE, &error));
	fixture_store_records(f, &intruder, 1);

	g_test_expect_message("ArkCore", G_LOG_LEVEL_WARNING, "store commit failed*");
	g_assert_false(ark_engine_audit(f->engine, &entry, TRUE, &error));
	g_test_assert_expected_messages();
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 1);
	/* and the engine takes no more: nothing it records could be committed */
	g_assert_false(ark_engine_audit(f->engine, &entry, FALSE, &error));
	g_assert_nonnull(strstr(error->message, "store failed"));
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 1);
}

/* a record waiting for the next commit is committed by shutdown, and nothing left holds the
 * engine: the tick it was waiting for is gone with it */
static void
test_engine_shutdown(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = {.actor = "alice", .action = "run.cancel", .result = "ok"};
	gpointer engine;

	fixture_start_engine(f);
	g_assert_true(ark_engine_audit(f->engine, &entry, FALSE, &error));
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 0);
	ark_engine_shutdown(f->engine);
	g_assert_cmpuint(fixture_last_audit_seq(f), ==, 1);
	g_assert_cmpuint(fixture_count_lines(f->file), ==, 1);
	engine = f->engine;
	g_object_add_weak_pointer(engine, &engine);
	g_clear_object(&f->engine);
	g_assert_null(engine);
}

/* a store built for ABI 1.0 has no audit log: the engine can not append, and says so */
static void
test_unsupported(void)
{
	g_autoptr(ArkAudit) audit = ark_audit_new();
	g_autoptr(ArkStoreBatch) batch = ark_store_batch_new();
	g_autoptr(GError) error = NULL;
	ArkAuditEntry entry = fixture_entry(0);

	g_assert_false(ark_audit_append(audit, batch, &entry, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/audit/canonical", test_canonical);
	g_test_add_func("/ark/audit/unsupported", test_unsupported);
#define ADD(path, fn)                                                                              \
	g_test_add("/ark/audit/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("chain", test_chain);
	ADD("entry-checks", test_entry_checks);
	ADD("verify-store", test_verify_store);
	ADD("verify-file", test_verify_file);
	ADD("verify-hostile-file", test_verify_hostile_file);
	ADD("verify-many-problems", test_verify_many_problems);
	ADD("file-repair", test_file_repair);
#undef ADD
	g_test_add("/ark/audit/engine", Fixture, "sqlite", fixture_setup, test_engine,
		   fixture_teardown);
	g_test_add("/ark/audit/engine/failed-commit", Fixture, "sqlite", fixture_setup,
		   test_engine_failed_commit, fixture_teardown);
	g_test_add("/ark/audit/engine/shutdown", Fixture, "sqlite", fixture_setup,
		   test_engine_shutdown, fixture_teardown);
	return g_test_run();
}
