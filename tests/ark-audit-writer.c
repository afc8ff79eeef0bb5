/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>

#include <arkitect/arkitect-core.h>

#include "ark-test-utils.h"

/*
 * ark-audit-writer STATE_DIR N: appends N audit records through a real engine to the sqlite store
 * in STATE_DIR and to STATE_DIR/audit.jsonl, as a frontend would, so that check-audit-cli.py has
 * a log to verify and to tamper with. Every fourth record is flushed on its own; the others
 * share commits.
 */

int
main(int argc, char **argv)
{
	static const gchar *const actions[] = {"run.submit", "run.cancel", "task.cancel",
					       "task.retry", "dlq.replay"};
	g_autoptr(ArkRegistry) registry = NULL;
	g_autoptr(ArkStore) store = NULL;
	g_autoptr(ArkEngine) engine = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *file = NULL;
	guint n;

	if (argc != 3) {
		g_printerr("usage: %s STATE_DIR N\n", argv[0]);
		return 2;
	}
	n = (guint)strtoul(argv[2], NULL, 10);
	registry = ark_test_load_plugins();
	store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", &error);
	if (store == NULL || !ark_store_open(store, argv[1], &error))
		g_error("%s", error->message);
	file = g_build_filename(argv[1], "audit.jsonl", NULL);
	engine = ark_engine_new(registry, store);
	ark_engine_set_state_dir(engine, argv[1]);
	ark_engine_set_audit_file(engine, file);
	if (!ark_engine_start(engine, &error))
		g_error("%s", error->message);

	for (guint i = 0; i < n; i++) {
		g_autofree gchar *target = g_strdup_printf("01JRUN%04u/build", i);
		g_autofree gchar *request_id = g_strdup_printf("req-%u", i);
		g_autofree gchar *detail =
		    g_strdup_printf("{\"i\":%u,\"note\":\"é \\\"q\\\"\"}", i);
		ArkAuditEntry entry = {
		    .actor = i % 2 == 0 ? "uid 1000 (alice)" : "token:ci",
		    .origin = i % 2 == 0 ? "cli" : "http 127.0.0.1:41234",
		    .action = actions[i % G_N_ELEMENTS(actions)],
		    .target = i % 5 == 4 ? NULL : target,
		    .result = i % 3 == 2 ? "not-found" : "ok",
		    .request_id = request_id,
		    .detail = i % 3 == 0 ? detail : NULL,
		};
		if (!ark_engine_audit(engine, &entry, i % 4 == 3, &error))
			g_error("%s", error->message);
	}
	ark_engine_shutdown(engine);
	ark_store_close(store);
	return 0;
}
