/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * The daemon's configuration: a main file plus drop-ins from the conf.d directory beside it, read
 * in lexical order with later files overriding earlier ones key by key. Every key keeps the file
 * and line it came from, so a problem is reported where the user can fix it.
 */
typedef struct _ArkDaemonConfig ArkDaemonConfig;

/* @path: the main file; when @required is FALSE a missing main file counts as empty. Syntax
 * errors (a line that is neither a [group], key=value nor a comment) fail with the file and
 * line. */
ArkDaemonConfig *ark_daemon_config_load(const gchar *path, gboolean required, GError **error);
void ark_daemon_config_free(ArkDaemonConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkDaemonConfig, ark_daemon_config_free)

/* the merged result */
GKeyFile *ark_daemon_config_get_keyfile(ArkDaemonConfig *self);
/* the files read, in order (transfer none) */
const gchar *const *ark_daemon_config_get_files(ArkDaemonConfig *self);
/* "FILE:LINE" where @group/@key was set last, or where [@group] first appeared when @key is
 * NULL; NULL if it was not set */
const gchar *ark_daemon_config_get_location(ArkDaemonConfig *self, const gchar *group,
					    const gchar *key);

/* the keys the core itself reads, in groups [daemon] and [engine] */
void ark_daemon_config_declare_core_keys(ArkRegistry *registry);

/*
 * Checks every group and key against what @registry declares. Appends "FILE:LINE: message"
 * strings to @errors (unknown keys and bad values: the daemon refuses to start) and to
 * @warnings (groups nobody declared, e.g. for a plugin that is not installed). Returns FALSE
 * when there were errors.
 */
gboolean ark_daemon_config_check(ArkDaemonConfig *self, ArkRegistry *registry, GPtrArray *errors,
				 GPtrArray *warnings);

/* typed getters for keys the check passed; the default when unset */
gchar *ark_daemon_config_get_string(ArkDaemonConfig *self, const gchar *group, const gchar *key,
				    const gchar *def);
gint64 ark_daemon_config_get_duration(ArkDaemonConfig *self, const gchar *group,
				      const gchar *key, gint64 def);

/* every declared key of every group as a commented configuration file: what
 * data/arkitect.conf holds */
gchar *ark_daemon_config_describe(ArkRegistry *registry);

G_END_DECLS
