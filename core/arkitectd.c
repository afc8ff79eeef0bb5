/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * arkitectd: the engine as a service. Loads the plugins, checks the configuration against the
 * keys they declare, opens the store (one daemon per state directory: the store's lock), takes
 * over the runs a previous process left unfinished, starts the frontends and tells systemd it is
 * ready. SIGTERM drains, SIGHUP reloads what can change without a restart.
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include <arkitect/arkitect-core.h>

#include "ark-daemon-config.h"
#include "ark-sd-notify.h"

/* exit codes, as documented in docs/daemon.md */
#define ARK_DAEMON_EXIT_OK 0
#define ARK_DAEMON_EXIT_FAILED 1  /* a failure while running, e.g. the store broke */
#define ARK_DAEMON_EXIT_CONFIG 2  /* bad command line or configuration */
#define ARK_DAEMON_EXIT_STARTUP 3 /* could not start: plugins, state dir, store, frontend */

typedef struct {
	GMainLoop *loop;
	gchar *config_path;
	gboolean config_required;
	gchar *state_dir_option;
	gchar *bus_option; /* --bus, kept over [daemon] bus across reloads */

	ArkDaemonConfig *config;
	ArkPluginLoader *loader;
	ArkStore *store;
	ArkEngine *engine;
	GPtrArray *frontends; /* ArkFrontend, in start order */
	GPtrArray *frontend_names;
	gchar *state_dir;

	gint64 drain_timeout;
	gint64 health_interval;
	guint health_id;
	guint watchdog_id;
	guint drain_poll_id;
	gint64 drain_deadline;
	gboolean draining;
	gint exit_code;
} ArkDaemon;

static void
ark_daemon_clear(ArkDaemon *self)
{
	g_clear_handle_id(&self->health_id, g_source_remove);
	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	g_clear_handle_id(&self->drain_poll_id, g_source_remove);
	g_clear_pointer(&self->frontends, g_ptr_array_unref);
	g_clear_pointer(&self->frontend_names, g_ptr_array_unref);
	g_clear_object(&self->engine);
	if (self->store != NULL)
		ark_store_close(self->store);
	g_clear_object(&self->store);
	if (self->loader != NULL)
		ark_plugin_loader_shutdown(self->loader);
	g_clear_object(&self->loader);
	g_clear_pointer(&self->config, ark_daemon_config_free);
	g_clear_pointer(&self->loop, g_main_loop_unref);
	g_free(self->config_path);
	g_free(self->state_dir_option);
	g_free(self->bus_option);
	g_free(self->state_dir);
}

/* loads and checks the configuration; prints every problem; NULL if there were errors */
static ArkDaemonConfig *
ark_daemon_load_config(ArkDaemon *self, ArkRegistry *registry)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkDaemonConfig) config = NULL;
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

	config = ark_daemon_config_load(self->config_path, self->config_required, &error);
	if (config == NULL) {
		g_printerr("arkitectd: %s\n", error->message);
		return NULL;
	}
	ark_daemon_config_check(config, registry, errors, warnings);
	for (guint i = 0; i < warnings->len; i++)
		g_warning("%s", (const gchar *)warnings->pdata[i]);
	for (guint i = 0; i < errors->len; i++)
		g_printerr("arkitectd: %s\n", (const gchar *)errors->pdata[i]);
	if (errors->len > 0)
		return NULL;
	if (self->bus_option != NULL)
		g_key_file_set_string(ark_daemon_config_get_keyfile(config), "daemon", "bus",
				      self->bus_option);
	return g_steal_pointer(&config);
}

static gchar *
ark_daemon_default_state_dir(void)
{
	const gchar *xdg = g_getenv("XDG_STATE_HOME");
	if (xdg != NULL && g_path_is_absolute(xdg))
		return g_build_filename(xdg, "arkitect", NULL);
	return g_build_filename(g_get_home_dir(), ".local", "state", "arkitect", NULL);
}

static ArkStore *
ark_daemon_open_store(ArkDaemon *self, GError **error)
{
	ArkRegistry *registry = ark_plugin_loader_get_registry(self->loader);
	g_autofree gchar *name = ark_daemon_config_get_string(self->config, "daemon", "store", "sqlite");
	g_autofree gchar *durability =
	    ark_daemon_config_get_string(self->config, "daemon", "durability", NULL);
	g_autoptr(ArkStore) store = NULL;

	store = ark_registry_create(registry, ARK_CAPABILITY_STORE, name, error);
	if (store == NULL)
		return NULL;
	if (durability != NULL) {
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(store), "durability") == NULL)
			g_warning("store %s has no durability setting; [daemon] durability=%s "
				  "ignored",
				  name, durability);
		else
			g_object_set(store, "durability", durability, NULL);
	}
	if (!ark_store_open(store, self->state_dir, error))
		return NULL;
	return g_steal_pointer(&store);
}

/* takes over every run a previous process left unfinished */
static void
ark_daemon_recover(ArkDaemon *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) runs = NULL;
	ArkRunFilter filter = {
	    .state_mask = (1u << ARK_RUN_STATE_PENDING) | (1u << ARK_RUN_STATE_RUNNING),
	};
	guint resumed = 0;

	runs = ark_store_list_runs(self->store, &filter, &error);
	if (runs == NULL) {
		g_warning("cannot list unfinished runs: %s", error->message);
		return;
	}
	for (guint i = 0; i < runs->len; i++) {
		ArkRunRecord *run = g_ptr_array_index(runs, i);
		g_autoptr(GError) resume_error = NULL;
		if (!ark_engine_resume_run(self->engine, run->id, &resume_error)) {
			g_warning("cannot resume run %s: %s", run->id, resume_error->message);
			continue;
		}
		resumed++;
	}
	if (resumed > 0)
		g_message("resumed %u unfinished run(s)", resumed);
}

static gboolean
ark_daemon_start_frontends(ArkDaemon *self, GError **error)
{
	ArkRegistry *registry = ark_plugin_loader_get_registry(self->loader);
	GKeyFile *keyfile = ark_daemon_config_get_keyfile(self->config);
	g_auto(GStrv) wanted = NULL;
	g_auto(GStrv) names = ark_registry_list_names(registry, ARK_CAPABILITY_FRONTEND);

	wanted = g_key_file_get_string_list(keyfile, "daemon", "frontends", NULL, NULL);
	self->frontends = g_ptr_array_new_with_free_func(g_object_unref);
	self->frontend_names = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++) {
		if (!g_strv_contains((const gchar *const *)names, wanted[i])) {
			g_autofree gchar *known = g_strjoinv(", ", names);
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "%s: frontend '%s' is not installed (installed: %s)",
				    ark_daemon_config_get_location(self->config, "daemon",
								   "frontends"),
				    wanted[i], known[0] != '\0' ? known : "none");
			return FALSE;
		}
	}
	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(ArkFrontend) frontend = NULL;
		g_autofree gchar *group = g_strdup_printf("frontend-%s", names[i]);

		if (wanted != NULL && !g_strv_contains((const gchar *const *)wanted, names[i]))
			continue;
		frontend = ark_registry_create(registry, ARK_CAPABILITY_FRONTEND, names[i], error);
		if (frontend == NULL)
			return FALSE;
		if (!ark_frontend_start(frontend, self->engine, keyfile, group, error)) {
			g_prefix_error(error, "frontend %s: ", names[i]);
			return FALSE;
		}
		g_message("frontend %s started", names[i]);
		g_ptr_array_add(self->frontends, g_steal_pointer(&frontend));
		g_ptr_array_add(self->frontend_names, g_strdup(names[i]));
	}
	if (self->frontends->len == 0)
		g_warning("no frontend is running: nothing can submit work to this daemon");
	return TRUE;
}

/* frontends stop in reverse order, before everything else */
static void
ark_daemon_stop_frontends(ArkDaemon *self)
{
	if (self->frontends == NULL)
		return;
	for (guint i = self->frontends->len; i > 0; i--)
		ark_frontend_stop(g_ptr_array_index(self->frontends, i - 1));
	g_ptr_array_set_size(self->frontends, 0);
	g_ptr_array_set_size(self->frontend_names, 0);
}

static gboolean ark_daemon_terminate_cb(gpointer user_data);

static void
ark_daemon_update_status(ArkDaemon *self)
{
	const gchar *why = NULL;
	if (!ark_engine_is_accepting(self->engine, &why))
		ark_sd_notifyf("STATUS=%s; %u attempt(s) running", why,
			       ark_engine_get_n_running(self->engine));
	else
		ark_sd_notifyf("STATUS=%u open run(s), %u attempt(s) running",
			       ark_engine_get_n_open_runs(self->engine),
			       ark_engine_get_n_running(self->engine));
}

/* a store that failed a commit stops the engine: nothing accepted may be lost, so stop and let
 * the service manager restart the daemon on a store that works */
static void
ark_daemon_check_store(ArkDaemon *self)
{
	const GError *storage_error = ark_engine_get_storage_error(self->engine);

	if (storage_error == NULL || self->draining)
		return;
	g_warning("the store failed: %s; stopping", storage_error->message);
	self->exit_code = ARK_DAEMON_EXIT_FAILED;
	ark_daemon_terminate_cb(self);
}

static gboolean
ark_daemon_health_cb(gpointer user_data)
{
	ArkDaemon *self = user_data;
	g_autoptr(GPtrArray) checks = ark_engine_check_health(self->engine);

	ark_daemon_check_store(self);
	for (guint i = 0; i < checks->len; i++) {
		ArkHealthCheck *check = g_ptr_array_index(checks, i);
		if (check->status == ARK_HEALTH_FAILING && g_strcmp0(check->name, "accepting") != 0)
			g_warning("health check %s is failing: %s", check->name, check->message);
	}
	ark_daemon_update_status(self);
	return G_SOURCE_CONTINUE;
}

/* pinged from the main loop: if the loop hangs, systemd notices and restarts the daemon */
static gboolean
ark_daemon_watchdog_cb(gpointer user_data)
{
	ark_sd_notify("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

static void
ark_daemon_finish(ArkDaemon *self)
{
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&self->drain_poll_id, g_source_remove);
	if (ark_engine_get_n_running(self->engine) > 0) {
		g_message("drain timeout: interrupting %u attempt(s); they run again after the "
			  "next start",
			  ark_engine_get_n_running(self->engine));
		if (!ark_engine_interrupt(self->engine,
					  "interrupted: the daemon stopped before the attempt "
					  "finished",
					  &error)) {
			g_warning("cannot record the interrupted attempts: %s", error->message);
			self->exit_code = ARK_DAEMON_EXIT_FAILED;
		}
	}
	ark_daemon_stop_frontends(self);
	ark_engine_shutdown(self->engine);
	g_main_loop_quit(self->loop);
}

static gboolean
ark_daemon_drain_poll_cb(gpointer user_data)
{
	ArkDaemon *self = user_data;

	if (ark_engine_get_n_running(self->engine) == 0 ||
	    g_get_monotonic_time() >= self->drain_deadline) {
		self->drain_poll_id = 0;
		ark_daemon_finish(self);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
ark_daemon_terminate_cb(gpointer user_data)
{
	ArkDaemon *self = user_data;

	if (self->draining) {
		/* asked twice: stop waiting */
		g_message("asked again to stop: not waiting for running attempts any longer");
		self->drain_deadline = 0;
		return G_SOURCE_CONTINUE;
	}
	self->draining = TRUE;
	ark_sd_notify("STOPPING=1");
	ark_engine_drain(self->engine, "the daemon is shutting down");
	self->drain_deadline = g_get_monotonic_time() + self->drain_timeout;
	{
		g_autofree gchar *timeout = ark_duration_format(self->drain_timeout);
		g_message("stopping: no new work accepted; waiting up to %s for %u running "
			  "attempt(s)",
			  timeout, ark_engine_get_n_running(self->engine));
	}
	ark_daemon_update_status(self);
	self->drain_poll_id = g_timeout_add(50, ark_daemon_drain_poll_cb, self);
	return G_SOURCE_CONTINUE;
}

static void
ark_daemon_apply_timers(ArkDaemon *self)
{
	guint64 watchdog = ark_sd_watchdog_usec();

	self->drain_timeout = ark_daemon_config_get_duration(self->config, "daemon",
							     "drain-timeout", 30 * G_USEC_PER_SEC);
	self->health_interval = ark_daemon_config_get_duration(
	    self->config, "daemon", "health-interval", 10 * G_USEC_PER_SEC);
	g_clear_handle_id(&self->health_id, g_source_remove);
	self->health_id = g_timeout_add((guint)MAX(self->health_interval / 1000, 100),
					ark_daemon_health_cb, self);
	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	if (watchdog > 0)
		self->watchdog_id = g_timeout_add((guint)MAX(watchdog / 2000, 1),
						  ark_daemon_watchdog_cb, self);
}

static gchar *
ark_daemon_audit_file(ArkDaemon *self)
{
	g_autofree gchar *path =
	    ark_daemon_config_get_string(self->config, "daemon", "audit-file", NULL);
	if (path == NULL)
		return g_build_filename(self->state_dir, "audit.jsonl", NULL);
	if (path[0] == '\0')
		return NULL;
	return g_steal_pointer(&path);
}

/* SIGHUP: read the configuration again; frontends restart with it, the daemon's timers and
 * the audit file follow it; the store, the state directory and the executors keep what they
 * started with (docs/daemon.md) */
static gboolean
ark_daemon_reload_cb(gpointer user_data)
{
	ArkDaemon *self = user_data;
	g_autoptr(ArkDaemonConfig) config = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *audit_file = NULL;

	if (self->draining)
		return G_SOURCE_CONTINUE;
	ark_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());
	config = ark_daemon_load_config(self, ark_plugin_loader_get_registry(self->loader));
	if (config == NULL) {
		g_warning("reload: the configuration has errors; keeping the running one");
		ark_sd_notify("READY=1\nSTATUS=reload failed: the configuration has errors, "
			      "see the log");
		return G_SOURCE_CONTINUE;
	}
	g_clear_pointer(&self->config, ark_daemon_config_free);
	self->config = g_steal_pointer(&config);
	ark_engine_set_config(self->engine, ark_daemon_config_get_keyfile(self->config));
	audit_file = ark_daemon_audit_file(self);
	ark_engine_set_audit_file(self->engine, audit_file);
	ark_daemon_apply_timers(self);
	ark_daemon_stop_frontends(self);
	if (!ark_daemon_start_frontends(self, &error)) {
		g_warning("reload: %s; stopping", error->message);
		self->exit_code = ARK_DAEMON_EXIT_STARTUP;
		ark_daemon_terminate_cb(self);
		return G_SOURCE_CONTINUE;
	}
	g_message("configuration reloaded");
	ark_sd_notify("READY=1");
	ark_daemon_update_status(self);
	return G_SOURCE_CONTINUE;
}

static void
ark_daemon_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state,
			   gpointer user_data)
{
	ark_daemon_check_store(user_data);
}

typedef enum {
	ARK_DAEMON_MODE_RUN,
	ARK_DAEMON_MODE_CHECK_CONFIG,
	ARK_DAEMON_MODE_PRINT_CONFIG,
} ArkDaemonMode;

static gint
ark_daemon_start(ArkDaemon *self, ArkDaemonMode mode)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkRegistry) registry = ark_registry_new();
	g_autofree gchar *policy = NULL;
	g_autofree gchar *audit_file = NULL;
	g_autofree gchar *configured_dir = NULL;

	ark_daemon_config_declare_core_keys(registry);
	self->loader = ark_plugin_loader_new(registry);
	if (!ark_plugin_loader_load(self->loader, NULL, &error)) {
		g_printerr("arkitectd: %s\n", error->message);
		return ARK_DAEMON_EXIT_STARTUP;
	}
	for (guint i = 0; i < ark_plugin_loader_get_refused(self->loader)->len; i++) {
		ArkPluginRefusal *r = g_ptr_array_index(ark_plugin_loader_get_refused(self->loader), i);
		g_warning("plugin %s refused: %s", r->name, r->error->message);
	}
	if (mode == ARK_DAEMON_MODE_PRINT_CONFIG) {
		g_autofree gchar *text = ark_daemon_config_describe(registry);
		g_print("%s", text);
		return ARK_DAEMON_EXIT_OK;
	}
	self->config = ark_daemon_load_config(self, registry);
	if (self->config == NULL)
		return ARK_DAEMON_EXIT_CONFIG;
	if (mode == ARK_DAEMON_MODE_CHECK_CONFIG) {
		const gchar *const *files = ark_daemon_config_get_files(self->config);
		for (guint i = 0; files[i] != NULL; i++)
			g_print("%s: ok\n", files[i]);
		if (files[0] == NULL)
			g_print("no configuration file: every key has its default\n");
		return ARK_DAEMON_EXIT_OK;
	}

	configured_dir = ark_daemon_config_get_string(self->config, "daemon", "state-dir", NULL);
	self->state_dir = self->state_dir_option != NULL ? g_strdup(self->state_dir_option)
			  : configured_dir != NULL	 ? g_strdup(configured_dir)
							 : ark_daemon_default_state_dir();
	if (g_mkdir_with_parents(self->state_dir, 0700) != 0) {
		g_printerr("arkitectd: cannot create state directory %s: %s\n", self->state_dir,
			   g_strerror(errno));
		return ARK_DAEMON_EXIT_STARTUP;
	}
	self->store = ark_daemon_open_store(self, &error);
	if (self->store == NULL) {
		g_printerr("arkitectd: %s\n", error->message);
		return ARK_DAEMON_EXIT_STARTUP;
	}

	self->engine = ark_engine_new(registry, self->store);
	ark_engine_set_state_dir(self->engine, self->state_dir);
	ark_engine_set_config(self->engine, ark_daemon_config_get_keyfile(self->config));
	policy = ark_daemon_config_get_string(self->config, "engine", "default-policy", NULL);
	if (policy != NULL)
		ark_engine_set_default_policy(self->engine, policy);
	ark_engine_set_plugin_loader(self->engine, self->loader);
	audit_file = ark_daemon_audit_file(self);
	ark_engine_set_audit_file(self->engine, audit_file);
	if (!ark_engine_start(self->engine, &error)) {
		g_printerr("arkitectd: %s\n", error->message);
		return ARK_DAEMON_EXIT_STARTUP;
	}
	/* before the frontends: a client may signal as soon as it sees one answer, and the
	 * default action of SIGTERM would end the daemon without draining */
	g_unix_signal_add(SIGTERM, ark_daemon_terminate_cb, self);
	g_unix_signal_add(SIGINT, ark_daemon_terminate_cb, self);
	g_unix_signal_add(SIGHUP, ark_daemon_reload_cb, self);
	g_signal_connect(self->engine, "run-finished", G_CALLBACK(ark_daemon_run_finished_cb),
			 self);
	ark_daemon_recover(self);
	if (!ark_daemon_start_frontends(self, &error)) {
		g_printerr("arkitectd: %s\n", error->message);
		ark_daemon_stop_frontends(self);
		ark_engine_shutdown(self->engine);
		return ARK_DAEMON_EXIT_STARTUP;
	}
	ark_daemon_apply_timers(self);
	g_message("arkitectd %s ready; state in %s", PACKAGE_VERSION, self->state_dir);
	ark_sd_notifyf("READY=1\nMAINPID=%d", (gint)getpid());
	ark_daemon_update_status(self);
	return ARK_DAEMON_EXIT_OK;
}

int
main(int argc, char **argv)
{
	ArkDaemon self = {.exit_code = ARK_DAEMON_EXIT_OK};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *state_dir = NULL;
	g_autofree gchar *bus = NULL;
	gboolean check_config = FALSE;
	gboolean print_config = FALSE;
	gboolean version = FALSE;
	gint rc;
	const GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
	     N_("Configuration file (default " ARK_SYSCONFDIR "/arkitect/arkitect.conf); "
		"drop-ins come from conf.d/ beside it"),
	     N_("FILE")},
	    {"state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir,
	     N_("State directory (overrides [daemon] state-dir)"), N_("DIR")},
	    {"bus", 0, 0, G_OPTION_ARG_STRING, &bus,
	     N_("Message bus of the D-Bus interface: session, system or none (overrides [daemon] "
		"bus)"),
	     N_("BUS")},
	    {"check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
	     N_("Check the configuration against the installed plugins and exit"), NULL},
	    {"print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
	     N_("Print every configuration key the core and the installed plugins read, with "
		"its default, and exit"),
	     NULL},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL},
	    {NULL},
	};

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, ARK_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_prgname("arkitectd");

	context = g_option_context_new(NULL);
	g_option_context_set_summary(context, _("Run the Arkitect engine as a service."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("arkitectd: %s\n", error->message);
		return ARK_DAEMON_EXIT_CONFIG;
	}
	if (argc > 1) {
		g_printerr("arkitectd: unexpected argument '%s'\n", argv[1]);
		return ARK_DAEMON_EXIT_CONFIG;
	}
	if (bus != NULL && g_strcmp0(bus, "session") != 0 && g_strcmp0(bus, "system") != 0 &&
	    g_strcmp0(bus, "none") != 0 && g_strcmp0(bus, "auto") != 0) {
		g_printerr("arkitectd: --bus is session, system, none or auto, not '%s'\n", bus);
		return ARK_DAEMON_EXIT_CONFIG;
	}
	if (version) {
		g_print("arkitectd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, ARK_PLUGIN_ABI_MAJOR,
			ARK_PLUGIN_ABI_MINOR);
		return ARK_DAEMON_EXIT_OK;
	}

	self.config_required = config_path != NULL;
	self.config_path = config_path != NULL
			       ? g_strdup(config_path)
			       : g_build_filename(ARK_SYSCONFDIR, "arkitect", "arkitect.conf", NULL);
	self.state_dir_option = g_steal_pointer(&state_dir);
	self.bus_option = g_steal_pointer(&bus);
	self.loop = g_main_loop_new(NULL, FALSE);

	rc = ark_daemon_start(&self, print_config   ? ARK_DAEMON_MODE_PRINT_CONFIG
				     : check_config ? ARK_DAEMON_MODE_CHECK_CONFIG
						    : ARK_DAEMON_MODE_RUN);
	if (rc != ARK_DAEMON_EXIT_OK || check_config || print_config) {
		ark_daemon_clear(&self);
		return rc;
	}
	g_main_loop_run(self.loop);
	rc = self.exit_code;
	ark_daemon_clear(&self);
	g_message("stopped");
	return rc;
}
