/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

typedef gboolean (*ArkTestCondition)(gpointer user_data);

/* iterates the default main context until @cond returns TRUE; fails the test after @timeout_ms
 * (a hang guard, not a timing assertion: make it generous) */
void ark_test_loop_run_until(ArkTestCondition cond, gpointer user_data, guint timeout_ms);

/* a new temporary directory, removed recursively by ark_test_rmdir() */
gchar *ark_test_mkdtemp(void);
void ark_test_rmdir(const gchar *path);

/* loads the in-tree plugins from $ARK_PLUGIN_DIR into a new registry; the loader is kept alive
 * for the life of the process (plugins are never unloaded) */
ArkRegistry *ark_test_load_plugins(void);

/* reads a whole file into a string, failing the test if it can not */
gchar *ark_test_read_file(const gchar *path);

G_END_DECLS
