/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * The tamper-evident audit log (docs/audit.md): the canonical form of a record, the hash chain,
 * appending records through the engine's batches to the store and a JSON-lines file, and the
 * verification `arkitect audit verify` runs. Private to core: the engine and the command line
 * link it, frontends go through ark_engine_audit().
 */

#define ARK_AUDIT_HASH_LENGTH 64
/* prev_hash of record 1 */
#define ARK_AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* longer members are cut (with "…"), a longer detail is replaced by {"truncated": true, "bytes":
 * N, "sha256": "…"}: a file line never exceeds ARK_AUDIT_MAX_LINE */
#define ARK_AUDIT_MAX_FIELD 4096
#define ARK_AUDIT_MAX_DETAIL 65536
#define ARK_AUDIT_MAX_LINE (1024 * 1024)

/* the canonical JSON of @record: its members in a fixed order, compact, without prev_hash and
 * hash; with @with_chain, the line of the JSON-lines file: the same with prev_hash and hash
 * appended (no newline) */
gchar *ark_audit_canonical_json(const ArkAuditRecord *record, gboolean with_chain);
/* hex SHA-256 of prev_hash, "\n" and the canonical JSON */
gchar *ark_audit_compute_hash(const ArkAuditRecord *record);

/* the engine's end of the chain: where it is, what waits for a commit, the file */
typedef struct _ArkAudit ArkAudit;

ArkAudit *ark_audit_new(void);
void ark_audit_free(ArkAudit *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkAudit, ark_audit_free)
/* NULL for the store only; after ark_audit_open(), the file changes at once (and a file that
 * can not be opened is a warning: the log goes on in the store) */
void ark_audit_set_file(ArkAudit *self, const gchar *path);
/* reads the chain head from @store, opens the file and appends what the store has and the file
 * lacks; a store without an audit log (ABI 1.0) is not an error, ark_audit_append() then is */
gboolean ark_audit_open(ArkAudit *self, ArkStore *store, GError **error);
/* computes the next record of the chain for @entry and adds it to @batch */
gboolean ark_audit_append(ArkAudit *self, ArkStoreBatch *batch, const ArkAuditEntry *entry,
			  GError **error);
/* @batch was committed: the head moves to its last record and the file gets its lines */
void ark_audit_committed(ArkAudit *self, ArkStoreBatch *batch);
/* the batch was dropped: the records added since the last commit never existed */
void ark_audit_rollback(ArkAudit *self);
/* lets the next engine have the file; records committed after this reach it when that engine
 * opens it */
void ark_audit_close_file(ArkAudit *self);

/* what ark_audit_verify() found */
typedef struct {
	guint64 seq;  /* the record it is about, or 0 */
	guint64 line; /* the file line it is about, or 0 */
	gchar *message;
} ArkAuditProblem;

typedef struct {
	guint64 n_records;   /* in the store */
	guint64 head_seq;    /* the last record in the store, 0 for none */
	gchar *head_hash;    /* its hash as stored, or NULL */
	guint64 n_lines;     /* in the file */
	GPtrArray *problems; /* of ArkAuditProblem, the first ARK_AUDIT_MAX_PROBLEMS */
	guint64 n_more;	     /* problems found beyond those */
} ArkAuditReport;

#define ARK_AUDIT_MAX_PROBLEMS 1000

void ark_audit_report_free(ArkAuditReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkAuditReport, ark_audit_report_free)

/*
 * Walks the records of @store in seq order (chain, hashes, gaps) and the lines of @file_path,
 * or not when it is NULL (each line against the store's record). Returns NULL only when the
 * store or the file can not be read; a missing file is a problem when the store has records.
 */
ArkAuditReport *ark_audit_verify(ArkStore *store, const gchar *file_path, GError **error);

G_END_DECLS
