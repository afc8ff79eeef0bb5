/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ark-daemon-config.h"

/* a configuration file larger than this is a mistake, not a configuration */
#define ARK_DAEMON_CONFIG_MAX_FILE (1024 * 1024)

struct _ArkDaemonConfig {
	GKeyFile *keyfile;
	GPtrArray *files;	/* gchar*, NULL-terminated */
	GHashTable *locations; /* "group\nkey" or "group\n" -> "FILE:LINE" */
};

static const gchar *const ark_daemon_durabilities[] = {"full", "normal", "off", NULL};
static const gchar *const ark_daemon_buses[] = {"auto", "session", "system", "none", NULL};

static const ArkConfigKey ark_daemon_keys[] = {
    {"state-dir", ARK_CONFIG_STRING, NULL,
     "where the store, logs, the API token and the audit file live; --state-dir overrides "
     "it; the default is $XDG_STATE_HOME/arkitect (~/.local/state/arkitect), the systemd "
     "unit passes /var/lib/arkitect"},
    {"store", ARK_CONFIG_STRING, "sqlite",
     "the store plugin: sqlite (the default), or memory for throw-away daemons"},
    {"durability", ARK_CONFIG_ENUM, "full",
     "full survives a power cut; normal survives a crash of the daemon but may lose the last "
     "commits on a power cut; off may lose them on either",
     ark_daemon_durabilities},
    {"drain-timeout", ARK_CONFIG_DURATION, "30s",
     "on SIGTERM, how long running attempts may finish before they are interrupted (and run "
     "again after the next start)"},
    {"health-interval", ARK_CONFIG_DURATION, "10s",
     "how often the health model runs its checks and restarts executors that fail theirs"},
    {"audit-file", ARK_CONFIG_STRING, "STATE_DIR/audit.jsonl",
     "the JSON-lines copy of the audit log; empty keeps the audit log in the store only"},
    {"frontends", ARK_CONFIG_STRING_LIST, NULL,
     "frontends to start (http, ...); the default starts every frontend plugin installed"},
    {"bus", ARK_CONFIG_ENUM, "auto",
     "the message bus of the D-Bus interface: session, system or none; auto takes the session "
     "bus when DBUS_SESSION_BUS_ADDRESS is set, else the system bus if there is one; --bus "
     "overrides it",
     ark_daemon_buses},
};

static const ArkConfigKey ark_engine_keys[] = {
    {"default-policy", ARK_CONFIG_STRING, "fifo",
     "the scheduling policy of runs whose workflow names none"},
    {"loop-lag-limit", ARK_CONFIG_DURATION, "5s",
     "the main loop answering later than this fails the main-loop health check (a fifth of it "
     "degrades it)"},
    {"estimate-weight", ARK_CONFIG_NUMBER, "0.3",
     "how much the newest duration counts in a learned estimate (an exponentially weighted "
     "mean of the durations of a task of a workflow), from 0 (never learn) to 1 (only the last)",
     .min = 0, .max = 1},
    {"backfill-depth", ARK_CONFIG_UINT, "64",
     "how many queued tasks behind a head that does not fit the dispatcher looks at for one "
     "that may start first without delaying it (0 turns backfill off)",
     .min = 0, .max = 100000},
    {"concurrency-limits", ARK_CONFIG_STRING_LIST, NULL,
     "KEY:LIMIT entries capping named concurrency keys: a task's own limit can only be lower"},
};

static const ArkConfigKey ark_agents_keys[] = {
    {"heartbeat-timeout", ARK_CONFIG_DURATION, "30s",
     "an agent not heard from for this long (a heartbeat, a claim, an assignment heartbeat) is "
     "offline: its offers are withdrawn and what it holds expires and is offered again"},
    {"offer-timeout", ARK_CONFIG_DURATION, "30s",
     "an offer its agent does not claim within this is withdrawn and goes to another agent"},
    {"trust-half-life", ARK_CONFIG_DURATION, "7d",
     "how fast what was learned about an agent fades back towards the prior: half of the "
     "evidence is left after this long"},
    {"max-agents", ARK_CONFIG_UINT, "10000", "the most agents that may be registered at once",
     .min = 1, .max = 1000000},
};

void
ark_daemon_config_declare_core_keys(ArkRegistry *registry)
{
	g_autoptr(GError) error = NULL;

	/* before the plugins load, so a plugin can not take these groups */
	if (!ark_registry_add_config_keys(registry, "core", "daemon", ark_daemon_keys,
					  G_N_ELEMENTS(ark_daemon_keys), &error) ||
	    !ark_registry_add_config_keys(registry, "core", "engine", ark_engine_keys,
					  G_N_ELEMENTS(ark_engine_keys), &error) ||
	    !ark_registry_add_config_keys(registry, "core", "agents", ark_agents_keys,
					  G_N_ELEMENTS(ark_agents_keys), &error))
		g_error("core configuration keys: %s", error->message);
}

void
ark_daemon_config_free(ArkDaemonConfig *self)
{
	if (self == NULL)
		return;
	g_key_file_unref(self->keyfile);
	g_ptr_array_unref(self->files);
	g_hash_table_unref(self->locations);
	g_free(self);
}

static void
ark_daemon_config_set_location(ArkDaemonConfig *self, const gchar *group, const gchar *key,
			       const gchar *file, guint line)
{
	gchar *id = g_strdup_printf("%s\n%s", group, key != NULL ? key : "");
	if (key == NULL && g_hash_table_contains(self->locations, id)) {
		g_free(id);
		return;
	}
	g_hash_table_insert(self->locations, id, g_strdup_printf("%s:%u", file, line));
}

static gboolean
ark_daemon_config_parse(ArkDaemonConfig *self, const gchar *file, const gchar *text, gsize len,
			GError **error)
{
	g_auto(GStrv) lines = NULL;
	g_autofree gchar *group = NULL;

	if (!g_utf8_validate(text, (gssize)len, NULL) || memchr(text, '\0', len) != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "%s: not a text file (invalid UTF-8 or NUL bytes)", file);
		return FALSE;
	}
	lines = g_strsplit(text, "\n", -1);
	for (guint n = 0; lines[n] != NULL; n++) {
		gchar *line = g_strstrip(lines[n]);
		const gchar *eq;
		g_autofree gchar *key = NULL;

		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == '[') {
			gsize l = strlen(line);
			if (l < 3 || line[l - 1] != ']' || strpbrk(line + 1, "[") != NULL ||
			    memchr(line + 1, ']', l - 2) != NULL) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "%s:%u: '%s' is not a valid section header", file,
					    n + 1, line);
				return FALSE;
			}
			g_free(group);
			group = g_strndup(line + 1, l - 2);
			ark_daemon_config_set_location(self, group, NULL, file, n + 1);
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "%s:%u: expected 'key = value', a [section] or a # comment, "
				    "found '%s'",
				    file, n + 1, line);
			return FALSE;
		}
		key = g_strstrip(g_strndup(line, (gsize)(eq - line)));
		if (key[0] == '\0' || strpbrk(key, "[]") != NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "%s:%u: '%s' is not a valid key", file, n + 1, key);
			return FALSE;
		}
		if (group == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "%s:%u: key '%s' comes before any [section]", file, n + 1,
				    key);
			return FALSE;
		}
		g_key_file_set_value(self->keyfile, group, key, g_strchug((gchar *)eq + 1));
		ark_daemon_config_set_location(self, group, key, file, n + 1);
	}
	return TRUE;
}

static gboolean
ark_daemon_config_read(ArkDaemonConfig *self, const gchar *file, gboolean required,
		       GError **error)
{
	g_autofree gchar *text = NULL;
	g_autoptr(GError) local_error = NULL;
	gsize len = 0;

	if (!g_file_get_contents(file, &text, &len, &local_error)) {
		if (!required && g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "%s", local_error->message);
		return FALSE;
	}
	if (len > ARK_DAEMON_CONFIG_MAX_FILE) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_LIMIT_EXCEEDED,
			    "%s: %" G_GSIZE_FORMAT " bytes is larger than a configuration file may "
			    "be (%d)",
			    file, len, ARK_DAEMON_CONFIG_MAX_FILE);
		return FALSE;
	}
	g_ptr_array_insert(self->files, (gint)self->files->len - 1, g_strdup(file));
	return ark_daemon_config_parse(self, file, text, len, error);
}

static int
ark_daemon_config_compare(const void *a, const void *b)
{
	return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

ArkDaemonConfig *
ark_daemon_config_load(const gchar *path, gboolean required, GError **error)
{
	g_autoptr(ArkDaemonConfig) self = g_new0(ArkDaemonConfig, 1);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *dropins = g_build_filename(dir, "conf.d", NULL);
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) dir_error = NULL;
	const gchar *name;

	self->keyfile = g_key_file_new();
	self->files = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(self->files, NULL);
	self->locations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	if (!ark_daemon_config_read(self, path, required, error))
		return NULL;
	d = g_dir_open(dropins, 0, &dir_error);
	if (d == NULL) {
		if (!g_error_matches(dir_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "%s", dir_error->message);
			return NULL;
		}
		return g_steal_pointer(&self);
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(name, ".conf") && name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	qsort(names->pdata, names->len, sizeof(gpointer), ark_daemon_config_compare);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *file = g_build_filename(dropins, names->pdata[i], NULL);
		if (!ark_daemon_config_read(self, file, TRUE, error))
			return NULL;
	}
	return g_steal_pointer(&self);
}

GKeyFile *
ark_daemon_config_get_keyfile(ArkDaemonConfig *self)
{
	return self->keyfile;
}

const gchar *const *
ark_daemon_config_get_files(ArkDaemonConfig *self)
{
	return (const gchar *const *)self->files->pdata;
}

const gchar *
ark_daemon_config_get_location(ArkDaemonConfig *self, const gchar *group, const gchar *key)
{
	g_autofree gchar *id = g_strdup_printf("%s\n%s", group, key != NULL ? key : "");
	return g_hash_table_lookup(self->locations, id);
}

gboolean
ark_daemon_config_check(ArkDaemonConfig *self, ArkRegistry *registry, GPtrArray *errors,
			GPtrArray *warnings)
{
	g_auto(GStrv) groups = g_key_file_get_groups(self->keyfile, NULL);
	guint n_errors = errors->len;

	for (guint g = 0; groups[g] != NULL; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(self->keyfile, groups[g], NULL, NULL);
		g_auto(GStrv) declared = ark_registry_list_config_groups(registry);

		if (!g_strv_contains((const gchar *const *)declared, groups[g])) {
			g_autofree gchar *known = g_strjoinv("], [", declared);
			g_ptr_array_add(warnings,
					g_strdup_printf("%s: section [%s] is not read by the core "
							"or any loaded plugin, ignored (known: [%s])",
							ark_daemon_config_get_location(
							    self, groups[g], NULL),
							groups[g], known));
			continue;
		}
		for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
			const ArkConfigKey *key =
			    ark_registry_lookup_config_key(registry, groups[g], keys[k]);
			const gchar *where =
			    ark_daemon_config_get_location(self, groups[g], keys[k]);
			g_autofree gchar *value = NULL;
			g_autoptr(GError) error = NULL;

			if (key == NULL) {
				g_ptr_array_add(errors,
						g_strdup_printf("%s: unknown key '%s' in [%s]", where,
								keys[k], groups[g]));
				continue;
			}
			value = g_key_file_get_string(self->keyfile, groups[g], keys[k], &error);
			if (value == NULL) {
				g_ptr_array_add(errors, g_strdup_printf("%s: [%s] %s: %s", where,
									groups[g], keys[k],
									error->message));
				continue;
			}
			if (!ark_config_key_check_value(key, value, &error))
				g_ptr_array_add(errors, g_strdup_printf("%s: [%s] %s: %s", where,
									groups[g], keys[k],
									error->message));
		}
	}
	return errors->len == n_errors;
}

gchar *
ark_daemon_config_get_string(ArkDaemonConfig *self, const gchar *group, const gchar *key,
			     const gchar *def)
{
	gchar *value = g_key_file_get_string(self->keyfile, group, key, NULL);
	return value != NULL ? value : g_strdup(def);
}

gint64
ark_daemon_config_get_duration(ArkDaemonConfig *self, const gchar *group, const gchar *key,
			       gint64 def)
{
	g_autofree gchar *value = g_key_file_get_string(self->keyfile, group, key, NULL);
	gint64 usec = def;
	if (value != NULL && !ark_duration_parse(value, &usec, NULL))
		usec = def;
	return usec;
}

static const gchar *
ark_daemon_config_type_name(const ArkConfigKey *key)
{
	switch (key->type) {
	case ARK_CONFIG_STRING:
		return "string";
	case ARK_CONFIG_BOOLEAN:
		return "true or false";
	case ARK_CONFIG_UINT:
		return "whole number";
	case ARK_CONFIG_DURATION:
		return "duration, e.g. 30s, 5m, 1h";
	case ARK_CONFIG_SIZE:
		return "size, e.g. 512k, 16M, 1G";
	case ARK_CONFIG_ENUM:
		return "one of";
	case ARK_CONFIG_STRING_LIST:
		return "list separated by ;";
	case ARK_CONFIG_NUMBER:
		return "number";
	}
	return "value";
}

/* "# "-prefixed lines of at most 78 columns */
static void
ark_daemon_config_append_wrapped(GString *out, const gchar *text)
{
	g_auto(GStrv) words = g_strsplit(text, " ", -1);
	gsize column = 0;

	for (guint i = 0; words[i] != NULL; i++) {
		gsize len = strlen(words[i]);
		if (column > 0 && column + 1 + len > 78) {
			g_string_append_c(out, '\n');
			column = 0;
		}
		if (column == 0) {
			g_string_append(out, "# ");
			column = 2;
		} else {
			g_string_append_c(out, ' ');
			column++;
		}
		g_string_append(out, words[i]);
		column += len;
	}
	g_string_append_c(out, '\n');
}

gchar *
ark_daemon_config_describe(ArkRegistry *registry)
{
	g_auto(GStrv) groups = ark_registry_list_config_groups(registry);
	GString *out = g_string_new("# Arkitect daemon configuration: every key, commented out, with\n"
				    "# its default. Drop-ins in conf.d/*.conf override it key by key.\n"
				    "# Generated by `arkitectd --print-config`; see "
				    "docs/configuration.md.\n");

	for (guint g = 0; groups[g] != NULL; g++) {
		guint n = 0;
		const ArkConfigKey *keys = ark_registry_get_config_keys(registry, groups[g], &n);
		g_string_append_printf(out, "\n[%s]\n", groups[g]);
		for (guint k = 0; k < n; k++) {
			const ArkConfigKey *key = &keys[k];
			g_autofree gchar *choices =
			    key->choices != NULL ? g_strjoinv(", ", (GStrv)key->choices) : NULL;
			ark_daemon_config_append_wrapped(out, key->description);
			g_string_append_printf(out, "# (%s%s%s",
					       ark_daemon_config_type_name(key),
					       choices != NULL ? ": " : "",
					       choices != NULL ? choices : "");
			if ((key->type == ARK_CONFIG_UINT || key->type == ARK_CONFIG_SIZE ||
			     key->type == ARK_CONFIG_NUMBER) &&
			    (key->min > 0 || key->max > 0)) {
				if (key->max > 0)
					g_string_append_printf(out, ", %" G_GUINT64_FORMAT
								    " to %" G_GUINT64_FORMAT,
							       key->min, key->max);
				else
					g_string_append_printf(out, ", at least %" G_GUINT64_FORMAT,
							       key->min);
			}
			g_string_append(out, ")\n");
			if (g_str_has_suffix(key->name, ".*"))
				g_string_append_printf(out, "#%.*sNAME=%s\n",
						       (gint)strlen(key->name) - 1, key->name,
						       key->default_value != NULL
							   ? key->default_value
							   : "");
			else
				g_string_append_printf(out, "#%s=%s\n", key->name,
						       key->default_value != NULL
							   ? key->default_value
							   : "");
		}
	}
	return g_string_free(out, FALSE);
}
