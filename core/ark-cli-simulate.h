/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/* arkitect simulate FILE */

/* the options only this command takes (--seed, --schedule) */
GOptionGroup *ark_cli_simulate_get_option_group(void);
/* simulates @path with @policy (NULL: the workflow's or fifo; "all": every loaded policy) on
 * @slots slots (0: 1); returns the exit status */
gint ark_cli_simulate_run(const gchar *path, const gchar *policy, gint slots, gboolean json);

G_END_DECLS
