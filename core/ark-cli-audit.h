/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/* arkitect audit verify|list: @argc and @argv are what follows "audit" */

/* the options only these commands take (--file, --no-file) */
GOptionGroup *ark_cli_audit_get_option_group(void);
/* whether the arguments make a command; prints the usage when they do not */
gboolean ark_cli_audit_check_args(gint argc, gchar **argv);
/* runs it on @store, the store of @state_dir opened for reading; returns the exit status */
gint ark_cli_audit_run(ArkStore *store, const gchar *state_dir, gboolean json, guint limit,
		       gint argc, gchar **argv);

G_END_DECLS
