/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect-core.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ark-audit-private.h"

/*
 * The audit log is a hash chain: record n carries the hash of record n - 1, and its own hash
 * covers that and its canonical JSON, so changing, removing or reordering a record breaks the
 * chain from there on. The store is the record of truth; the JSON-lines file is a second copy
 * somewhere else (another disk, a log shipper) that an attacker has to change as well.
 *
 * The engine adds records to its current batch (ark_audit_append) and they become part of the
 * chain when that batch commits (ark_audit_committed): the head of the chain only moves on a
 * commit, and a dropped batch takes its records with it (ark_audit_rollback). The file is written
 * after the commit, so it never holds a record the store does not; a crash between the two leaves
 * it behind, and the next ark_audit_open() copies what it lacks from the store.
 */

/* records read from the store at a time, by verification and by a file catching up */
#define ARK_AUDIT_PAGE 1000

struct _ArkAudit {
	ArkStore *store;
	gboolean supported; /* the store keeps an audit log */
	guint64 head_seq;   /* the last committed record, 0 for none */
	gchar *head_hash;
	guint64 tail_seq; /* the last record added, committed or waiting in the batch */
	gchar *tail_hash;
	gchar *file_path;     /* or NULL */
	int fd;		      /* the open file (O_APPEND, locked), or -1 */
	guint64 file_seq;     /* the last record in the file */
	gboolean file_behind; /* a write failed: warned once, retried with every commit */
};

/* canonical form ------------------------------------------------------------------------------- */

static void
ark_audit_add_string(JsonBuilder *b, const gchar *member, const gchar *value)
{
	json_builder_set_member_name(b, member);
	if (value == NULL) {
		json_builder_add_null_value(b);
	} else if (g_utf8_validate(value, -1, NULL)) {
		json_builder_add_string_value(b, value);
	} else {
		/* only a tampered store has these (ark_audit_append() stores valid text): the
		 * hash no longer matches, and json-glib is never handed invalid UTF-8 */
		g_autofree gchar *valid = g_utf8_make_valid(value, -1);
		json_builder_add_string_value(b, valid);
	}
}

gchar *
ark_audit_canonical_json(const ArkAuditRecord *record, gboolean with_chain)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	/* the order is part of the format: docs/audit.md */
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "seq");
	json_builder_add_int_value(b, (gint64)record->seq);
	json_builder_set_member_name(b, "time");
	json_builder_add_int_value(b, record->time);
	ark_audit_add_string(b, "actor", record->actor);
	ark_audit_add_string(b, "origin", record->origin);
	ark_audit_add_string(b, "action", record->action);
	ark_audit_add_string(b, "target", record->target);
	ark_audit_add_string(b, "result", record->result);
	ark_audit_add_string(b, "request_id", record->request_id);
	ark_audit_add_string(b, "detail", record->detail);
	if (with_chain) {
		ark_audit_add_string(b, "prev_hash", record->prev_hash);
		ark_audit_add_string(b, "hash", record->hash);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

gchar *
ark_audit_compute_hash(const ArkAuditRecord *record)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree gchar *json = ark_audit_canonical_json(record, FALSE);
	const gchar *prev_hash = record->prev_hash != NULL ? record->prev_hash : "";

	g_checksum_update(sum, (const guchar *)prev_hash, (gssize)strlen(prev_hash));
	g_checksum_update(sum, (const guchar *)"\n", 1);
	g_checksum_update(sum, (const guchar *)json, (gssize)strlen(json));
	return g_strdup(g_checksum_get_string(sum));
}

/* @text parsed, when it is a JSON object (an empty text parses, to no root at all) */
static JsonParser *
ark_audit_parse_object(const gchar *text, gssize length, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;

	if (!json_parser_load_from_data(parser, text, length, error))
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "not a JSON object");
		return NULL;
	}
	return g_steal_pointer(&parser);
}

/* the seq of a file line, or FALSE with why it is not a record */
static gboolean
ark_audit_line_seq(const gchar *line, gsize length, guint64 *out_seq, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *object;
	JsonNode *seq;

	if (length > ARK_AUDIT_MAX_LINE) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED, "longer than %u bytes",
			    ARK_AUDIT_MAX_LINE);
		return FALSE;
	}
	/* json-glib wants text: a NUL or a broken sequence is not handed to it */
	if (!g_utf8_validate_len(line, length, NULL)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "not UTF-8 text");
		return FALSE;
	}
	parser = ark_audit_parse_object(line, (gssize)length, error);
	if (parser == NULL)
		return FALSE;
	object = json_node_get_object(json_parser_get_root(parser));
	seq = json_object_get_member(object, "seq");
	if (seq == NULL || !JSON_NODE_HOLDS_VALUE(seq) ||
	    json_node_get_value_type(seq) != G_TYPE_INT64 || json_node_get_int(seq) < 1) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "no positive integer seq");
		return FALSE;
	}
	*out_seq = (guint64)json_node_get_int(seq);
	return TRUE;
}

/* the chain's end in the engine ---------------------------------------------------------------- */

ArkAudit *
ark_audit_new(void)
{
	ArkAudit *self = g_new0(ArkAudit, 1);
	self->fd = -1;
	self->head_hash = g_strdup(ARK_AUDIT_GENESIS_HASH);
	self->tail_hash = g_strdup(ARK_AUDIT_GENESIS_HASH);
	return self;
}

void
ark_audit_free(ArkAudit *self)
{
	if (self == NULL)
		return;
	ark_audit_close_file(self);
	g_clear_object(&self->store);
	g_free(self->head_hash);
	g_free(self->tail_hash);
	g_free(self->file_path);
	g_free(self);
}

void
ark_audit_close_file(ArkAudit *self)
{
	if (self->fd < 0)
		return;
	close(self->fd);
	self->fd = -1;
}

static gboolean ark_audit_open_file(ArkAudit *self, GError **error);

void
ark_audit_set_file(ArkAudit *self, const gchar *path)
{
	g_autoptr(GError) error = NULL;

	if (g_strcmp0(path, self->file_path) == 0)
		return;
	ark_audit_close_file(self);
	g_free(self->file_path);
	self->file_path = g_strdup(path);
	/* after ark_audit_open() (a daemon reloading its configuration): the new file takes over
	 * at once, and is brought up to the store first */
	if (self->supported && path != NULL && !ark_audit_open_file(self, &error))
		g_warning("%s; the audit log is kept in the store only", error->message);
}

/* appends @lines in one write(); a write cut short is cut off again, so that the file only ever
 * holds whole lines */
static gboolean
ark_audit_file_write(ArkAudit *self, GString *lines, GError **error)
{
	const gchar *p = lines->str;
	gsize left = lines->len;
	GStatBuf st;

	if (fstat(self->fd, &st) != 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s", g_strerror(saved_errno));
		return FALSE;
	}
	while (left > 0) {
		gssize n = write(self->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved_errno = n < 0 ? errno : ENOSPC;
			/* if this fails too, verify reports the torn line and the next open
			 * drops it */
			if (ftruncate(self->fd, st.st_size) != 0)
				g_debug("%s: could not cut off a partial write", self->file_path);
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "%s",
				    g_strerror(saved_errno));
			return FALSE;
		}
		p += n;
		left -= (gsize)n;
	}
	return TRUE;
}

static void
ark_audit_append_line(GString *lines, const ArkAuditRecord *record)
{
	g_autofree gchar *line = ark_audit_canonical_json(record, TRUE);
	g_string_append(lines, line);
	g_string_append_c(lines, '\n');
}

/* the records after file_seq that are not in @batch, from the store, a page per write */
static gboolean
ark_audit_file_catch_up(ArkAudit *self, guint64 upto, GError **error)
{
	while (self->file_seq < upto) {
		g_autoptr(GString) lines = g_string_new(NULL);
		g_autoptr(GPtrArray) records =
		    ark_store_read_audit(self->store, self->file_seq,
					 (guint)MIN(upto - self->file_seq, ARK_AUDIT_PAGE), error);
		const ArkAuditRecord *last;

		if (records == NULL)
			return FALSE;
		if (records->len == 0)
			break;
		for (guint i = 0; i < records->len; i++)
			ark_audit_append_line(lines, g_ptr_array_index(records, i));
		if (!ark_audit_file_write(self, lines, error))
			return FALSE;
		last = g_ptr_array_index(records, records->len - 1);
		self->file_seq = last->seq;
	}
	return TRUE;
}

/*
 * Brings the file up to the head: the records of @batch (just committed, or NULL) are written
 * from memory, anything before them the file lacks (a failed write, a crash between a commit and
 * its write) from the store first. One fdatasync() for the lot. A failure leaves the file behind
 * the store, never with a gap: the next commit tries again from where it stopped.
 */
static void
ark_audit_file_sync(ArkAudit *self, ArkStoreBatch *batch)
{
	g_autoptr(GString) lines = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	guint64 first = 0;
	guint n_ops = batch != NULL ? ark_store_batch_get_length(batch) : 0;

	if (self->fd < 0 || self->file_seq >= self->head_seq)
		return;
	for (guint i = 0; i < n_ops; i++) {
		const ArkStoreOp *op = ark_store_batch_get_op(batch, i);
		if (op->kind != ARK_STORE_OP_AUDIT)
			continue;
		if (first == 0)
			first = op->audit.seq;
		ark_audit_append_line(lines, &op->audit);
	}
	if (!ark_audit_file_catch_up(self, first > 0 ? first - 1 : self->head_seq, &error) ||
	    (lines->len > 0 && !ark_audit_file_write(self, lines, &error))) {
		if (!self->file_behind)
			g_warning(
			    "the audit file %s is behind the store: %s; it catches up with the "
			    "next commit",
			    self->file_path, error->message);
		self->file_behind = TRUE;
		return;
	}
	/* written: a failed flush is worth a warning, not a second copy of the lines */
	self->file_seq = self->head_seq;
	if (fdatasync(self->fd) != 0)
		g_warning("failed to flush the audit file %s: %s", self->file_path,
			  g_strerror(errno));
	if (self->file_behind)
		g_message("the audit file %s has caught up with the store", self->file_path);
	self->file_behind = FALSE;
}

/* the offset of the last '\n' before @end; -1 when there is none in the file before @end, -2
 * when there is none in the @limit bytes before it (or they can not be read) */
static gint64
ark_audit_file_rfind_newline(int fd, gint64 end, gint64 limit)
{
	g_autofree gchar *buf = g_malloc(65536);
	gint64 stop = MAX(end - limit, 0);

	while (end > stop) {
		gint64 start = MAX(end - 65536, stop);
		if (pread(fd, buf, (gsize)(end - start), start) != end - start)
			return -2;
		for (gint64 i = end - start; i > 0; i--) {
			if (buf[i - 1] == '\n')
				return start + i - 1;
		}
		end = start;
	}
	return stop == 0 ? -1 : -2;
}

/*
 * Where the file ends: the seq of its last line. A last line without its newline is a write a
 * power cut interrupted: it is cut off (and copied again from the store). A last line that is not
 * a record, or a seq past the store's, is left to verify to report: new lines go after it.
 */
static void
ark_audit_file_find_end(ArkAudit *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *line = NULL;
	GStatBuf st;
	gint64 size;
	gint64 newline;
	gsize length;
	gchar last = '\n';
	guint64 seq = 0;

	self->file_seq = self->head_seq;
	if (fstat(self->fd, &st) != 0)
		return;
	size = st.st_size;
	if (size > 0 && pread(self->fd, &last, 1, size - 1) != 1)
		return;
	if (last != '\n') {
		newline = ark_audit_file_rfind_newline(self->fd, size, ARK_AUDIT_MAX_LINE + 1);
		if (newline == -2 || ftruncate(self->fd, newline + 1) != 0) {
			g_warning("the audit file %s does not end with a whole line",
				  self->file_path);
			return;
		}
		g_warning("the audit file %s ended with an incomplete line (%" G_GINT64_FORMAT
			  " bytes): removed, its record is written again from the store",
			  self->file_path, size - newline - 1);
		size = newline + 1;
	}
	if (size == 0) {
		self->file_seq = 0;
		return;
	}
	/* the last line is between the newline before it (or the start) and the last byte */
	newline = ark_audit_file_rfind_newline(self->fd, size - 1, ARK_AUDIT_MAX_LINE + 1);
	if (newline == -2) {
		g_warning("the last line of the audit file %s is not an audit record (longer than "
			  "%u bytes)",
			  self->file_path, ARK_AUDIT_MAX_LINE);
		return;
	}
	length = (gsize)(size - 1 - (newline + 1));
	line = g_malloc(length + 1);
	if (pread(self->fd, line, length, newline + 1) != (gssize)length) {
		g_warning("failed to read the audit file %s: %s", self->file_path,
			  g_strerror(errno));
		return;
	}
	if (!ark_audit_line_seq(line, length, &seq, &error)) {
		g_warning("the last line of the audit file %s is not an audit record (%s)",
			  self->file_path, error->message);
		return;
	}
	if (seq > self->head_seq) {
		g_warning("the audit file %s ends at record %" G_GUINT64_FORMAT
			  ", the store at %" G_GUINT64_FORMAT
			  ": the store lost records, or the file is another store's",
			  self->file_path, seq, self->head_seq);
		return;
	}
	self->file_seq = seq;
}

static gboolean
ark_audit_open_file(ArkAudit *self, GError **error)
{
	int fd = g_open(self->file_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
			    "failed to open the audit file %s: %s", self->file_path,
			    g_strerror(saved_errno));
		return FALSE;
	}
	/* two engines appending two chains to one file would make it useless */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved_errno = errno;
		g_set_error(error, ARK_ERROR,
			    saved_errno == EWOULDBLOCK ? ARK_ERROR_BUSY : ARK_ERROR_STORAGE,
			    "failed to lock the audit file %s: %s", self->file_path,
			    saved_errno == EWOULDBLOCK ? "another engine appends to it"
						       : g_strerror(saved_errno));
		close(fd);
		return FALSE;
	}
	self->fd = fd;
	ark_audit_file_find_end(self);
	ark_audit_file_sync(self, NULL);
	return TRUE;
}

gboolean
ark_audit_open(ArkAudit *self, ArkStore *store, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	g_autoptr(ArkAuditRecord) last = NULL;

	g_return_val_if_fail(self->store == NULL, FALSE);

	self->store = g_object_ref(store);
	last = ark_store_get_last_audit(store, &local_error);
	if (last != NULL) {
		self->head_seq = last->seq;
		g_free(self->head_hash);
		self->head_hash = g_strdup(last->hash != NULL ? last->hash : "");
	} else if (g_error_matches(local_error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED)) {
		if (self->file_path != NULL)
			g_warning("no audit log: %s", local_error->message);
		return TRUE;
	} else if (!g_error_matches(local_error, ARK_ERROR, ARK_ERROR_NOT_FOUND)) {
		g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
					   "failed to read the audit log: ");
		return FALSE;
	}
	self->supported = TRUE;
	ark_audit_rollback(self);
	if (self->file_path != NULL && !ark_audit_open_file(self, error))
		return FALSE;
	return TRUE;
}

/* a copy in @batch of @value as valid UTF-8 (so that every record has a JSON form), cut at a
 * character boundary to @max bytes and "…" when it is longer: a call that took place is recorded
 * whatever a client made it carry */
static gchar *
ark_audit_intern(ArkStoreBatch *batch, const gchar *value, gsize max)
{
	g_autofree gchar *valid = NULL;
	g_autofree gchar *cut = NULL;
	const gchar *end;

	if (value == NULL)
		return NULL;
	if (!g_utf8_validate(value, -1, NULL))
		value = valid = g_utf8_make_valid(value, -1);
	if (strlen(value) <= max)
		return (gchar *)ark_store_batch_intern(batch, value);
	end = value + max;
	while (end > value && ((guchar)*end & 0xc0) == 0x80)
		end--;
	cut = g_strdup_printf("%.*s\u2026", (int)(end - value), value);
	return (gchar *)ark_store_batch_intern(batch, cut);
}

/* the detail as recorded: a JSON object as given, or what stands for one that is too large */
static gchar *
ark_audit_intern_detail(ArkStoreBatch *batch, const gchar *detail, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autofree gchar *summary = NULL;
	gsize length;

	if (detail == NULL)
		return NULL;
	length = strlen(detail);
	if (length > ARK_AUDIT_MAX_DETAIL) {
		g_autofree gchar *sha256 =
		    g_compute_checksum_for_string(G_CHECKSUM_SHA256, detail, (gssize)length);
		summary = g_strdup_printf("{\"truncated\":true,\"bytes\":%" G_GSIZE_FORMAT
					  ",\"sha256\":\"%s\"}",
					  length, sha256);
		return (gchar *)ark_store_batch_intern(batch, summary);
	}
	if (!g_utf8_validate(detail, (gssize)length, NULL) ||
	    (parser = ark_audit_parse_object(detail, (gssize)length, NULL)) == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the detail of an audit entry is not a JSON object");
		return NULL;
	}
	return (gchar *)ark_store_batch_intern(batch, detail);
}

gboolean
ark_audit_append(ArkAudit *self, ArkStoreBatch *batch, const ArkAuditEntry *entry, GError **error)
{
	ArkAuditRecord record = {0};
	g_autofree gchar *hash = NULL;

	if (!self->supported) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
			    "the store %s keeps no audit log",
			    self->store != NULL ? G_OBJECT_TYPE_NAME(self->store) : "(none)");
		return FALSE;
	}
	if (entry->actor == NULL || *entry->actor == '\0' || entry->action == NULL ||
	    *entry->action == '\0' || entry->result == NULL || *entry->result == '\0') {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "an audit entry needs an actor, an action and a result");
		return FALSE;
	}
	record.detail = ark_audit_intern_detail(batch, entry->detail, error);
	if (entry->detail != NULL && record.detail == NULL)
		return FALSE;
	record.seq = self->tail_seq + 1;
	record.time = g_get_real_time();
	record.actor = ark_audit_intern(batch, entry->actor, ARK_AUDIT_MAX_FIELD);
	record.origin = ark_audit_intern(batch, entry->origin, ARK_AUDIT_MAX_FIELD);
	record.action = ark_audit_intern(batch, entry->action, ARK_AUDIT_MAX_FIELD);
	record.target = ark_audit_intern(batch, entry->target, ARK_AUDIT_MAX_FIELD);
	record.result = ark_audit_intern(batch, entry->result, ARK_AUDIT_MAX_FIELD);
	record.request_id = ark_audit_intern(batch, entry->request_id, ARK_AUDIT_MAX_FIELD);
	record.prev_hash = (gchar *)ark_store_batch_intern(batch, self->tail_hash);
	hash = ark_audit_compute_hash(&record);
	record.hash = (gchar *)ark_store_batch_intern(batch, hash);
	ark_store_batch_add_audit(batch, &record);

	self->tail_seq = record.seq;
	g_free(self->tail_hash);
	self->tail_hash = g_steal_pointer(&hash);
	return TRUE;
}

void
ark_audit_committed(ArkAudit *self, ArkStoreBatch *batch)
{
	const ArkAuditRecord *last = NULL;

	for (guint i = 0; i < ark_store_batch_get_length(batch); i++) {
		const ArkStoreOp *op = ark_store_batch_get_op(batch, i);
		if (op->kind == ARK_STORE_OP_AUDIT)
			last = &op->audit;
	}
	if (last == NULL)
		return;
	self->head_seq = last->seq;
	g_free(self->head_hash);
	self->head_hash = g_strdup(last->hash);
	ark_audit_file_sync(self, batch);
}

void
ark_audit_rollback(ArkAudit *self)
{
	self->tail_seq = self->head_seq;
	g_free(self->tail_hash);
	self->tail_hash = g_strdup(self->head_hash);
}

/* verification --------------------------------------------------------------------------------- */

static void
ark_audit_problem_free(ArkAuditProblem *problem)
{
	g_free(problem->message);
	g_free(problem);
}

void
ark_audit_report_free(ArkAuditReport *report)
{
	if (report == NULL)
		return;
	g_ptr_array_unref(report->problems);
	g_free(report->head_hash);
	g_free(report);
}

static void ark_audit_report_add(ArkAuditReport *report, guint64 seq, guint64 line,
				 const gchar *format, ...) G_GNUC_PRINTF(4, 5);

static void
ark_audit_report_add(ArkAuditReport *report, guint64 seq, guint64 line, const gchar *format, ...)
{
	ArkAuditProblem *problem;
	va_list args;

	/* a file of a million garbage lines is a million problems: the count is enough */
	if (report->problems->len >= ARK_AUDIT_MAX_PROBLEMS) {
		report->n_more++;
		return;
	}
	problem = g_new0(ArkAuditProblem, 1);
	problem->seq = seq;
	problem->line = line;
	va_start(args, format);
	problem->message = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(report->problems, problem);
}

/* "record 18", "records 18 to 20" */
static gchar *
ark_audit_describe_range(guint64 first, guint64 last)
{
	if (first == last)
		return g_strdup_printf("record %" G_GUINT64_FORMAT, first);
	return g_strdup_printf("records %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, first, last);
}

static const gchar *
ark_audit_invalid_field(const ArkAuditRecord *r)
{
	const struct {
		const gchar *name;
		const gchar *value;
	} fields[] = {
	    {"actor", r->actor},   {"origin", r->origin},	{"action", r->action},
	    {"target", r->target}, {"result", r->result},	{"request_id", r->request_id},
	    {"detail", r->detail}, {"prev_hash", r->prev_hash}, {"hash", r->hash},
	};

	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (fields[i].value != NULL && !g_utf8_validate(fields[i].value, -1, NULL))
			return fields[i].name;
	}
	return NULL;
}

/* one store record against the one before it (@prev_seq, @prev_hash) and its own hash */
static void
ark_audit_verify_record(ArkAuditReport *report, const ArkAuditRecord *r, guint64 prev_seq,
			const gchar *prev_hash)
{
	g_autofree gchar *hash = ark_audit_compute_hash(r);
	const gchar *invalid = ark_audit_invalid_field(r);

	if (r->seq != prev_seq + 1) {
		g_autofree gchar *missing = ark_audit_describe_range(prev_seq + 1, r->seq - 1);
		if (prev_seq == 0)
			ark_audit_report_add(report, r->seq, 0,
					     "seq starts at %" G_GUINT64_FORMAT " (%s removed)",
					     r->seq, missing);
		else
			ark_audit_report_add(report, r->seq, 0,
					     "seq jumps from %" G_GUINT64_FORMAT
					     " to %" G_GUINT64_FORMAT " (%s removed)",
					     prev_seq, r->seq, missing);
	} else if (g_strcmp0(r->prev_hash, prev_hash) != 0) {
		if (prev_seq == 0)
			ark_audit_report_add(report, r->seq, 0,
					     "record 1: prev_hash is not the genesis hash "
					     "(modified)");
		else
			ark_audit_report_add(report, r->seq, 0,
					     "record %" G_GUINT64_FORMAT
					     ": prev_hash does not match record %" G_GUINT64_FORMAT
					     " (removed or reordered)",
					     r->seq, prev_seq);
	}
	if (invalid != NULL)
		ark_audit_report_add(report, r->seq, 0,
				     "record %" G_GUINT64_FORMAT ": its %s is not UTF-8 text "
				     "(modified)",
				     r->seq, invalid);
	if (g_strcmp0(hash, r->hash) != 0)
		ark_audit_report_add(report, r->seq, 0,
				     "record %" G_GUINT64_FORMAT
				     ": hash does not match its content (modified)",
				     r->seq);
}

static gboolean
ark_audit_verify_store(ArkStore *store, ArkAuditReport *report, GError **error)
{
	g_autofree gchar *prev_hash = g_strdup(ARK_AUDIT_GENESIS_HASH);
	guint64 prev_seq = 0;

	for (;;) {
		g_autoptr(GPtrArray) page =
		    ark_store_read_audit(store, prev_seq, ARK_AUDIT_PAGE, error);
		if (page == NULL)
			return FALSE;
		for (guint i = 0; i < page->len; i++) {
			const ArkAuditRecord *r = g_ptr_array_index(page, i);
			ark_audit_verify_record(report, r, prev_seq, prev_hash);
			prev_seq = r->seq;
			g_free(prev_hash);
			prev_hash = g_strdup(r->hash != NULL ? r->hash : "");
			report->n_records++;
		}
		if (page->len < ARK_AUDIT_PAGE)
			break;
	}
	report->head_seq = prev_seq;
	if (prev_seq > 0)
		report->head_hash = g_steal_pointer(&prev_hash);
	return TRUE;
}

/* the file walk: the store's records a page at a time, looked up by the seq of each line */
typedef struct {
	ArkStore *store;
	ArkAuditReport *report;
	GPtrArray *page;  /* of ArkAuditRecord, ascending seq, or NULL */
	guint64 expected; /* the seq the next line should hold */
	guint64 garbage;  /* lines since the last record that are not records */
} ArkAuditFileWalk;

static const ArkAuditRecord *
ark_audit_walk_lookup(ArkAuditFileWalk *walk, guint64 seq, GError **error)
{
	for (gint pass = 0; pass < 2; pass++) {
		GPtrArray *page = walk->page;
		guint lo = 0;
		guint hi = page != NULL ? page->len : 0;

		while (lo < hi) {
			guint mid = lo + (hi - lo) / 2;
			const ArkAuditRecord *r = g_ptr_array_index(page, mid);
			if (r->seq == seq)
				return r;
			if (r->seq < seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (pass == 1)
			break;
		g_clear_pointer(&walk->page, g_ptr_array_unref);
		walk->page = ark_store_read_audit(walk->store, seq - 1, ARK_AUDIT_PAGE, error);
		if (walk->page == NULL)
			return NULL;
	}
	return NULL;
}

static gboolean
ark_audit_verify_line(ArkAuditFileWalk *walk, const GString *line, guint64 lineno,
		      gboolean terminated, GError **error)
{
	ArkAuditReport *report = walk->report;
	g_autoptr(GError) not_record = NULL;
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *expected_line = NULL;
	g_autofree gchar *hash = NULL;
	const ArkAuditRecord *r;
	guint64 seq = 0;

	if (!terminated)
		ark_audit_report_add(report, 0, lineno,
				     "file line %" G_GUINT64_FORMAT
				     " does not end with a newline (an incomplete write)",
				     lineno);
	if (!ark_audit_line_seq(line->str, line->len, &seq, &not_record)) {
		ark_audit_report_add(report, walk->expected, lineno,
				     "file line %" G_GUINT64_FORMAT " is not an audit record (%s)",
				     lineno, not_record->message);
		walk->garbage++;
		return TRUE;
	}
	/* records missing where lines are not records were changed into them: that is said */
	if (seq > walk->expected && seq - walk->expected > walk->garbage) {
		g_autofree gchar *missing = ark_audit_describe_range(walk->expected, seq - 1);
		ark_audit_report_add(report, walk->expected, lineno,
				     "file line %" G_GUINT64_FORMAT
				     " holds record %" G_GUINT64_FORMAT
				     ": %s missing from the file",
				     lineno, seq, missing);
	} else if (seq < walk->expected) {
		ark_audit_report_add(report, seq, lineno,
				     "file line %" G_GUINT64_FORMAT
				     " holds record %" G_GUINT64_FORMAT
				     " out of order (after record %" G_GUINT64_FORMAT ")",
				     lineno, seq, walk->expected - 1);
	}
	/* never backwards: a line out of place is not also counted as a gap after it */
	walk->expected = MAX(walk->expected, seq + 1);
	walk->garbage = 0;

	r = ark_audit_walk_lookup(walk, seq, &local_error);
	if (local_error != NULL) {
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	if (r == NULL) {
		ark_audit_report_add(report, seq, lineno,
				     "file line %" G_GUINT64_FORMAT
				     " holds record %" G_GUINT64_FORMAT
				     ", which the store does not have",
				     lineno, seq);
		return TRUE;
	}
	expected_line = ark_audit_canonical_json(r, TRUE);
	if (strlen(expected_line) == line->len && memcmp(expected_line, line->str, line->len) == 0)
		return TRUE;
	/* the store's side is reported by the chain walk already */
	hash = ark_audit_compute_hash(r);
	ark_audit_report_add(
	    report, seq, lineno,
	    "file line %" G_GUINT64_FORMAT " differs from store record %" G_GUINT64_FORMAT "%s",
	    lineno, seq, g_strcmp0(hash, r->hash) == 0 ? " (the line was changed)" : "");
	return TRUE;
}

/* the next line of @fp, without its newline, at most ARK_AUDIT_MAX_LINE + 1 bytes of it (the
 * rest is skipped: the line is too long to be a record either way); FALSE at the end */
static gboolean
ark_audit_read_line(FILE *fp, GString *line, gboolean *out_terminated)
{
	gboolean any = FALSE;
	int c;

	g_string_truncate(line, 0);
	*out_terminated = FALSE;
	while ((c = getc_unlocked(fp)) != EOF) {
		any = TRUE;
		if (c == '\n') {
			*out_terminated = TRUE;
			break;
		}
		if (line->len <= ARK_AUDIT_MAX_LINE)
			g_string_append_c(line, (gchar)c);
	}
	return any;
}

static gboolean
ark_audit_verify_file(ArkStore *store, const gchar *path, ArkAuditReport *report, GError **error)
{
	g_autoptr(GString) line = g_string_new(NULL);
	ArkAuditFileWalk walk = {store, report, NULL, 1, 0};
	gboolean terminated = FALSE;
	gboolean ok = TRUE;
	FILE *fp = g_fopen(path, "rb");
	guint64 last;

	if (fp == NULL) {
		int saved_errno = errno;
		if (saved_errno == ENOENT) {
			if (report->head_seq > 0)
				ark_audit_report_add(
				    report, 0, 0,
				    "file %s does not exist, store has %" G_GUINT64_FORMAT
				    " records",
				    path, report->n_records);
			return TRUE;
		}
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "failed to open %s: %s", path,
			    g_strerror(saved_errno));
		return FALSE;
	}
	while (ok && ark_audit_read_line(fp, line, &terminated))
		ok = ark_audit_verify_line(&walk, line, ++report->n_lines, terminated, error);
	if (ok && ferror(fp)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE, "failed to read %s", path);
		ok = FALSE;
	}
	fclose(fp);
	g_clear_pointer(&walk.page, g_ptr_array_unref);
	if (!ok)
		return FALSE;

	last = walk.expected - 1;
	if (last < report->head_seq && last == 0)
		ark_audit_report_add(report, 1, 0,
				     "file has no records, store has %" G_GUINT64_FORMAT,
				     report->head_seq);
	else if (last < report->head_seq)
		ark_audit_report_add(report, last + 1, 0,
				     "file ends at record %" G_GUINT64_FORMAT
				     ", store has %" G_GUINT64_FORMAT,
				     last, report->head_seq);
	return TRUE;
}

ArkAuditReport *
ark_audit_verify(ArkStore *store, const gchar *file_path, GError **error)
{
	g_autoptr(ArkAuditReport) report = g_new0(ArkAuditReport, 1);

	g_return_val_if_fail(ARK_IS_STORE(store), NULL);

	report->problems = g_ptr_array_new_with_free_func((GDestroyNotify)ark_audit_problem_free);
	if (!ark_audit_verify_store(store, report, error))
		return NULL;
	if (file_path != NULL && !ark_audit_verify_file(store, file_path, report, error))
		return NULL;
	return g_steal_pointer(&report);
}
