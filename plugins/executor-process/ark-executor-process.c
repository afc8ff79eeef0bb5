/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#define ARK_EXECUTOR_PROCESS_DEFAULT_MAX_LOG_SIZE (10 * 1024 * 1024)
#define ARK_EXECUTOR_PROCESS_DEFAULT_KILL_GRACE (10 * G_USEC_PER_SEC)
#define ARK_EXECUTOR_PROCESS_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* a background grandchild may keep the output pipe open after the process exited: waiting for
 * EOF would then hang the attempt, so it finishes this long after the exit at the latest */
#define ARK_EXECUTOR_PROCESS_LINGER_MS 1000
#define ARK_EXECUTOR_PROCESS_READ_SIZE 65536
/* reads per wakeup, so that one chatty task can not starve the rest of the main loop */
#define ARK_EXECUTOR_PROCESS_READS_PER_WAKEUP 8

/* passed through from the daemon's environment when set; everything else is dropped so that the
 * daemon's secrets never reach a task */
static const gchar *const ark_executor_process_default_env[] = {
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", NULL,
};

#define ARK_TYPE_EXECUTOR_PROCESS (ark_executor_process_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorProcess, ark_executor_process, ARK, EXECUTOR_PROCESS, GObject)

#define ARK_TYPE_EXECUTOR_PROCESS_PLUGIN (ark_executor_process_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkExecutorProcessPlugin, ark_executor_process_plugin, ARK,
		     EXECUTOR_PROCESS_PLUGIN, ArkPlugin)

struct _ArkExecutorProcess {
	GObject parent_instance;
	guint slots;
	ArkResources capacity;
	guint64 max_log_size; /* 0 for no cap */
	gint64 kill_grace;
	GStrv base_env;	 /* KEY=VALUE given to every child before its own variables */
	GStrv path_dirs; /* absolute entries of the PATH in base_env, for program lookup */
	gint devnull_fd;
	GHashTable *children; /* ArkAttempt* -> ArkExecutorProcessChild* */
	gboolean shut_down;
	/* shared by every pipe: all reads happen on the main thread */
	guint8 *buffer;
	gchar *log_parent; /* the last run log directory found writable */
};

static void ark_executor_process_iface_init(ArkExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkExecutorProcess, ark_executor_process, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_EXECUTOR,
						    ark_executor_process_iface_init))

/* one running attempt; it holds references on the executor and the attempt, so that neither
 * goes away while a process or one of its sources is alive */
typedef struct {
	ArkExecutorProcess *executor;
	ArkAttempt *attempt;
	GPid pid; /* also the id of the process group it leads; 0 until spawned */
	gint out_fd; /* read end of the output pipe; -1 when there is none or after EOF */
	gint log_fd; /* -1 until the first output, and when output is discarded */
	gboolean log_pending; /* the log file is made with the first output */
	guint64 log_written;
	gboolean log_truncated;
	gboolean log_ends_in_newline;
	guint watch_id;
	guint out_id;
	guint timeout_id;
	guint kill_id;
	guint linger_id;
	gboolean exited;
	gint wait_status;
	gboolean term_sent;
	gboolean kill_sent;
	ArkAttemptStatus forced_status; /* TIMED_OUT or CANCELLED once signalled, else RUNNING */
	gchar *start_error; /* why the process could not be started */
} ArkExecutorProcessChild;

static void
ark_executor_process_child_free(ArkExecutorProcessChild *child)
{
	g_clear_handle_id(&child->watch_id, g_source_remove);
	g_clear_handle_id(&child->out_id, g_source_remove);
	g_clear_handle_id(&child->timeout_id, g_source_remove);
	g_clear_handle_id(&child->kill_id, g_source_remove);
	g_clear_handle_id(&child->linger_id, g_source_remove);
	if (child->out_fd >= 0)
		g_close(child->out_fd, NULL);
	if (child->log_fd >= 0)
		g_close(child->log_fd, NULL);
	g_free(child->start_error);
	ark_attempt_unref(child->attempt);
	g_object_unref(child->executor);
	g_free(child);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkExecutorProcessChild, ark_executor_process_child_free)

static guint
ark_executor_process_usec_to_msec(gint64 usec)
{
	gint64 msec = (usec + 999) / 1000;
	return (guint)CLAMP(msec, 0, (gint64)G_MAXUINT);
}

static gboolean
ark_executor_process_write_all(gint fd, const void *data, gsize len)
{
	const guint8 *p = data;
	while (len > 0) {
		gssize n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

static gint ark_executor_process_open_log(const gchar *dir, const gchar *path);

static void
ark_executor_process_child_log(ArkExecutorProcessChild *child, const guint8 *data, gsize len)
{
	guint64 cap = child->executor->max_log_size;
	gsize keep = len;
	gboolean ok;

	if (child->log_pending && len > 0) {
		/* an attempt that prints nothing costs no file and no directory: with thousands
		 * of quiet tasks, creating them was most of what starting one cost */
		child->log_pending = FALSE;
		child->log_fd = ark_executor_process_open_log(ark_attempt_get_log_dir(child->attempt),
							      ark_attempt_get_log_path(child->attempt));
		if (child->log_fd < 0) {
			gint saved_errno = errno;
			g_warning("task %s: creating its log %s failed, dropping its output: %s",
				  ark_attempt_get_task_id(child->attempt),
				  ark_attempt_get_log_path(child->attempt), g_strerror(saved_errno));
		}
	}
	if (child->log_fd < 0 || child->log_truncated || len == 0)
		return;
	if (cap > 0 && child->log_written + len > cap)
		keep = (gsize)(cap - child->log_written);
	ok = ark_executor_process_write_all(child->log_fd, data, keep);
	if (ok && keep > 0) {
		child->log_written += keep;
		child->log_ends_in_newline = data[keep - 1] == '\n';
	}
	if (ok && keep < len) {
		/* the rest of the output is still drained from the pipe, so that the process never
		 * blocks on a full pipe, but it is dropped */
		g_autofree gchar *marker =
		    g_strdup_printf("%s[arkitect: output truncated at %" G_GUINT64_FORMAT " bytes]\n",
				    child->log_written > 0 && !child->log_ends_in_newline ? "\n" : "",
				    cap);
		ok = ark_executor_process_write_all(child->log_fd, marker, strlen(marker));
		child->log_truncated = TRUE;
	}
	if (!ok) {
		gint saved_errno = errno;
		g_warning("task %s: writing its log %s failed, dropping the rest of its output: %s",
			  ark_attempt_get_task_id(child->attempt),
			  ark_attempt_get_log_path(child->attempt), g_strerror(saved_errno));
		g_close(child->log_fd, NULL);
		child->log_fd = -1;
	}
}

/* reads what the pipe holds; returns FALSE at EOF (or a read error, treated as EOF) */
static gboolean
ark_executor_process_child_read(ArkExecutorProcessChild *child, guint max_reads)
{
	guint8 *buffer = child->executor->buffer;

	for (guint i = 0; i < max_reads; i++) {
		gssize n = read(child->out_fd, buffer, ARK_EXECUTOR_PROCESS_READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return TRUE;
		if (n < 0) {
			gint saved_errno = errno;
			g_warning("task %s: reading its output failed: %s",
				  ark_attempt_get_task_id(child->attempt), g_strerror(saved_errno));
			return FALSE;
		}
		if (n == 0)
			return FALSE;
		ark_executor_process_child_log(child, buffer, (gsize)n);
		/* a short read means the pipe is empty: skip the read that would say EAGAIN */
		if (n < ARK_EXECUTOR_PROCESS_READ_SIZE)
			return TRUE;
	}
	return TRUE;
}

static void
ark_executor_process_finish(ArkExecutorProcessChild *child)
{
	ArkAttemptResult result = {.exit_code = -1};
	g_autofree gchar *error = NULL;
	g_autoptr(ArkExecutorProcessChild) owned = child;

	/* taken out of the table first: the finish callback may start or cancel attempts */
	g_hash_table_steal(child->executor->children, child->attempt);

	if (child->out_fd >= 0) {
		/* finishing before EOF: keep what is already in the pipe */
		g_clear_handle_id(&child->out_id, g_source_remove);
		(void)ark_executor_process_child_read(child, ARK_EXECUTOR_PROCESS_READS_PER_WAKEUP);
		g_close(child->out_fd, NULL);
		child->out_fd = -1;
	}
	if (child->log_fd >= 0) {
		g_close(child->log_fd, NULL);
		child->log_fd = -1;
	}
	/* it printed nothing: it has no log, rather than the path of a file that is not there */
	if (child->log_pending)
		ark_attempt_set_log_path(child->attempt, NULL);
	/* after a timeout or a cancel nothing of the task may outlive the attempt: whatever is
	 * left of its process group (a grandchild that ignored SIGTERM) is killed now; the group
	 * id can not have been reused, the leader was reaped only moments ago */
	if (child->term_sent && !child->kill_sent)
		(void)kill(-child->pid, SIGKILL);

	if (child->start_error != NULL) {
		result.status = ARK_ATTEMPT_STATUS_ERROR;
		result.error = child->start_error;
		ark_attempt_finish(child->attempt, &result);
		return;
	}

	if (WIFEXITED(child->wait_status))
		result.exit_code = WEXITSTATUS(child->wait_status);
	else if (WIFSIGNALED(child->wait_status))
		result.signal = WTERMSIG(child->wait_status);

	if (child->forced_status == ARK_ATTEMPT_STATUS_TIMED_OUT) {
		const ArkTaskSpec *spec = ark_attempt_get_spec(child->attempt);
		g_autofree gchar *duration = ark_duration_format(spec->timeout);
		result.status = ARK_ATTEMPT_STATUS_TIMED_OUT;
		error = g_strdup_printf("timed out after %s", duration);
	} else if (child->forced_status == ARK_ATTEMPT_STATUS_CANCELLED) {
		result.status = ARK_ATTEMPT_STATUS_CANCELLED;
		error = g_strdup("cancelled");
	} else if (result.exit_code == 0) {
		result.status = ARK_ATTEMPT_STATUS_SUCCEEDED;
	} else if (result.exit_code > 0) {
		result.status = ARK_ATTEMPT_STATUS_FAILED;
		error = g_strdup_printf("exited with status %d", result.exit_code);
	} else {
		result.status = ARK_ATTEMPT_STATUS_FAILED;
		error = g_strdup_printf("killed by signal %d (%s)", result.signal,
					g_strsignal(result.signal));
	}
	result.error = error;
	ark_attempt_finish(child->attempt, &result);
}

static gboolean
ark_executor_process_linger_cb(gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;
	child->linger_id = 0;
	ark_executor_process_finish(child);
	return G_SOURCE_REMOVE;
}

static gboolean
ark_executor_process_output_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;

	if (ark_executor_process_child_read(child, ARK_EXECUTOR_PROCESS_READS_PER_WAKEUP))
		return G_SOURCE_CONTINUE;

	/* EOF: the source goes away when this returns */
	child->out_id = 0;
	g_close(child->out_fd, NULL);
	child->out_fd = -1;
	if (child->exited) {
		g_clear_handle_id(&child->linger_id, g_source_remove);
		ark_executor_process_finish(child);
	}
	return G_SOURCE_REMOVE;
}

static void
ark_executor_process_child_exited_cb(GPid pid, gint wait_status, gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;

	child->watch_id = 0;
	child->exited = TRUE;
	child->wait_status = wait_status;
	/* the timeout is about the process; the output of what it left behind is bounded by the
	 * linger period instead */
	g_clear_handle_id(&child->timeout_id, g_source_remove);
	if (child->out_fd < 0 || child->kill_sent) {
		ark_executor_process_finish(child);
		return;
	}
	child->linger_id =
	    g_timeout_add(ARK_EXECUTOR_PROCESS_LINGER_MS, ark_executor_process_linger_cb, child);
}

static gboolean
ark_executor_process_kill_cb(gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;

	child->kill_id = 0;
	child->kill_sent = TRUE;
	(void)kill(-child->pid, SIGKILL);
	/* the leader is gone and now so is its group: stop waiting for the pipe */
	if (child->exited) {
		g_clear_handle_id(&child->linger_id, g_source_remove);
		ark_executor_process_finish(child);
	}
	return G_SOURCE_REMOVE;
}

/* SIGTERM to the whole process group now, SIGKILL after the grace period */
static void
ark_executor_process_child_terminate(ArkExecutorProcessChild *child)
{
	gint64 grace = child->executor->kill_grace;

	if (child->term_sent)
		return;
	child->term_sent = TRUE;
	if (grace <= 0) {
		child->kill_sent = TRUE;
		(void)kill(-child->pid, SIGKILL);
		return;
	}
	(void)kill(-child->pid, SIGTERM);
	child->kill_id = g_timeout_add(ark_executor_process_usec_to_msec(grace),
				       ark_executor_process_kill_cb, child);
}

static gboolean
ark_executor_process_timeout_cb(gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;

	child->timeout_id = 0;
	child->forced_status = ARK_ATTEMPT_STATUS_TIMED_OUT;
	ark_executor_process_child_terminate(child);
	return G_SOURCE_REMOVE;
}

static gboolean
ark_executor_process_start_failed_cb(gpointer user_data)
{
	ArkExecutorProcessChild *child = user_data;
	child->linger_id = 0;
	ark_executor_process_finish(child);
	return G_SOURCE_REMOVE;
}

/* the program's full path, searched like execvp() does but in the child's PATH; relative PATH
 * entries are ignored, they would depend on the task's working directory */
static gchar *
ark_executor_process_find_program(const gchar *name, const gchar *const *dirs, gint *out_errno)
{
	gint err = ENOENT;

	for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++) {
		g_autofree gchar *path = g_strconcat(dirs[i], "/", name, NULL);
		if (access(path, X_OK) == 0)
			return g_steal_pointer(&path);
		if (errno == EACCES)
			err = EACCES;
	}
	*out_errno = err;
	return NULL;
}

static GStrv
ark_executor_process_split_path(const gchar *path)
{
	g_auto(GStrv) entries = g_strsplit(path, ":", -1);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	for (guint i = 0; entries[i] != NULL; i++) {
		if (g_path_is_absolute(entries[i]))
			g_strv_builder_add(builder, entries[i]);
	}
	return g_strv_builder_end(builder);
}

static gboolean
ark_executor_process_env_has_key(const gchar *entry, const gchar *key, gsize key_len)
{
	return strncmp(entry, key, key_len) == 0 && entry[key_len] == '=';
}

/* the child's environment: @owned keeps the strings made here alive, the others belong to the
 * executor or the spec */
static GPtrArray *
ark_executor_process_build_env(ArkExecutorProcess *self, ArkAttempt *attempt, GPtrArray *owned)
{
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	g_autoptr(GPtrArray) envp = g_ptr_array_sized_new(24);
	gchar *entry;

	for (guint i = 0; self->base_env[i] != NULL; i++)
		g_ptr_array_add(envp, self->base_env[i]);
	entry = g_strconcat("ARK_RUN_ID=", ark_attempt_get_run_id(attempt), NULL);
	g_ptr_array_add(owned, entry);
	g_ptr_array_add(envp, entry);
	entry = g_strconcat("ARK_TASK_ID=", ark_attempt_get_task_id(attempt), NULL);
	g_ptr_array_add(owned, entry);
	g_ptr_array_add(envp, entry);
	entry = g_strdup_printf("ARK_ATTEMPT=%u", ark_attempt_get_number(attempt));
	g_ptr_array_add(owned, entry);
	g_ptr_array_add(envp, entry);

	for (guint i = 0; spec->env != NULL && spec->env[i] != NULL; i++) {
		const gchar *eq = strchr(spec->env[i], '=');
		gsize key_len;
		if (eq == NULL || eq == spec->env[i])
			continue;
		key_len = (gsize)(eq - spec->env[i]);
		for (guint j = envp->len; j > 0; j--) {
			if (ark_executor_process_env_has_key(envp->pdata[j - 1], spec->env[i],
							     key_len))
				g_ptr_array_remove_index(envp, j - 1);
		}
		g_ptr_array_add(envp, spec->env[i]);
	}
	g_ptr_array_add(envp, NULL);
	return g_steal_pointer(&envp);
}

/* returns an errno value, 0 on success */
static gint
ark_executor_process_posix_spawn(ArkExecutorProcess *self, const gchar *path, gchar **argv,
				 gchar **envp, const gchar *cwd, gint out_fd, GPid *out_pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t mask;
	sigset_t defaults;
	pid_t pid = 0;
	gint r;

	sigemptyset(&mask);
	sigfillset(&defaults);
	r = posix_spawnattr_init(&attr);
	if (r != 0)
		return r;
	r = posix_spawn_file_actions_init(&actions);
	if (r != 0) {
		posix_spawnattr_destroy(&attr);
		return r;
	}

	/* its own process group, so that a timeout or a cancel reaches everything it started;
	 * default dispositions and an empty mask, whatever the daemon ignores or blocks */
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &mask);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &defaults);

	/* stdin is /dev/null, stdout and stderr share one pipe (or /dev/null), and nothing else
	 * of the daemon is inherited */
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, self->devnull_fd, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	if (r == 0 && cwd != NULL)
		r = posix_spawn_file_actions_addchdir_np(&actions, cwd);

	/* glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK): no copy of the daemon's page
	 * tables, and exec and file-action errors come back as the return value */
	if (r == 0)
		r = posix_spawn(&pid, path, &actions, &attr, argv, envp);

	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (r == 0)
		*out_pid = pid;
	return r;
}

/*
 * Whether the run's log directory, the parent of the attempt's own, exists and can be written
 * (it is made if need be): checked before a task starts, so that a task whose output could not
 * be kept fails rather than runs blind. Remembered for the next task of the run; the attempt's
 * directory and file come with its first output.
 */
static gboolean
ark_executor_process_check_log_parent(ArkExecutorProcess *self, const gchar *log_dir)
{
	g_autofree gchar *parent = g_path_get_dirname(log_dir);

	if (g_strcmp0(parent, self->log_parent) == 0)
		return TRUE;
	if (g_mkdir_with_parents(parent, 0700) < 0 || access(parent, W_OK | X_OK) < 0)
		return FALSE;
	g_free(self->log_parent);
	self->log_parent = g_steal_pointer(&parent);
	return TRUE;
}

static gint
ark_executor_process_open_log(const gchar *dir, const gchar *path)
{
	gint flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
	gint fd = open(path, flags, 0600);

	/* the directory usually exists already: create it only when the open says so */
	if (fd < 0 && errno == ENOENT) {
		if (g_mkdir_with_parents(dir, 0700) < 0)
			return -1;
		fd = open(path, flags, 0600);
	}
	return fd;
}

static gboolean
ark_executor_process_child_spawn(ArkExecutorProcessChild *child, GError **error)
{
	ArkExecutorProcess *self = child->executor;
	ArkAttempt *attempt = child->attempt;
	const ArkTaskSpec *spec = ark_attempt_get_spec(attempt);
	const gchar *log_dir = ark_attempt_get_log_dir(attempt);
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) envp = NULL;
	g_autofree gchar *program = NULL;
	g_auto(GStrv) path_dirs = NULL;
	const gchar *const *dirs = (const gchar *const *)self->path_dirs;
	const gchar *shell_argv[4] = {"/bin/sh", "-c", NULL, NULL};
	gchar **argv;
	gint pipe_fds[2] = {-1, -1};
	gint out_fd;
	gint r;

	if (self->shut_down) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_FAILED,
				    "the process executor is shut down");
		return FALSE;
	}
	if (spec->run == NULL || spec->run[0] == NULL || spec->run[0][0] == '\0') {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "missing \"run\": a process task needs a command");
		return FALSE;
	}
	if (spec->shell) {
		shell_argv[2] = spec->run[0];
		argv = (gchar **)shell_argv;
	} else {
		argv = spec->run;
	}

	envp = ark_executor_process_build_env(self, attempt, owned);
	for (guint i = 0; i < envp->len - 1; i++) {
		const gchar *entry = envp->pdata[i];
		if (g_str_has_prefix(entry, "PATH=") && !g_strv_contains((const gchar *const *)
									     self->base_env,
									 entry)) {
			path_dirs = ark_executor_process_split_path(entry + strlen("PATH="));
			dirs = (const gchar *const *)path_dirs;
		}
	}
	if (strchr(argv[0], '/') != NULL) {
		program = g_strdup(argv[0]);
	} else {
		gint err = 0;
		program = ark_executor_process_find_program(argv[0], dirs, &err);
		if (program == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "failed to start '%s': %s", argv[0], g_strerror(err));
			return FALSE;
		}
	}

	if (log_dir != NULL) {
		g_autofree gchar *name =
		    g_strdup_printf("attempt-%u.log", ark_attempt_get_number(attempt));
		g_autofree gchar *log_path = g_build_filename(log_dir, name, NULL);
		if (!ark_executor_process_check_log_parent(self, log_dir)) {
			gint saved_errno = errno;
			g_set_error(error, ARK_ERROR, ARK_ERROR_STORAGE,
				    "failed to open the log file %s: %s", log_path,
				    g_strerror(saved_errno));
			return FALSE;
		}
		ark_attempt_set_log_path(attempt, log_path);
		child->log_pending = TRUE;
		if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
			gint saved_errno = errno;
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
				    "failed to start '%s': creating a pipe: %s", argv[0],
				    g_strerror(saved_errno));
			return FALSE;
		}
		(void)g_unix_set_fd_nonblocking(pipe_fds[0], TRUE, NULL);
		child->out_fd = pipe_fds[0];
		out_fd = pipe_fds[1];
	} else {
		/* no log: the output goes straight to /dev/null, no pipe to drain */
		out_fd = self->devnull_fd;
	}

	r = ark_executor_process_posix_spawn(self, program, argv, (gchar **)envp->pdata, spec->cwd,
					     out_fd, &child->pid);
	if (pipe_fds[1] >= 0)
		g_close(pipe_fds[1], NULL);
	if (r != 0) {
		struct stat st;
		/* chdir and exec errors look alike (ENOENT): name the directory when it is the
		 * one at fault; checked only after a failure, to keep the common path short */
		if (spec->cwd != NULL && stat(spec->cwd, &st) < 0) {
			gint saved_errno = errno;
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "failed to start '%s': working directory '%s': %s", argv[0],
				    spec->cwd, g_strerror(saved_errno));
		} else if (spec->cwd != NULL && !S_ISDIR(st.st_mode)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND,
				    "failed to start '%s': working directory '%s': %s", argv[0],
				    spec->cwd, g_strerror(ENOTDIR));
		} else if (spec->cwd != NULL && access(spec->cwd, X_OK) < 0) {
			gint saved_errno = errno;
			g_set_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED,
				    "failed to start '%s': working directory '%s': %s", argv[0],
				    spec->cwd, g_strerror(saved_errno));
		} else {
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, "failed to start '%s': %s",
				    argv[0], g_strerror(r));
		}
		return FALSE;
	}

	child->watch_id =
	    g_child_watch_add(child->pid, ark_executor_process_child_exited_cb, child);
	if (child->out_fd >= 0) {
		child->out_id = g_unix_fd_add(child->out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					      ark_executor_process_output_cb, child);
	}
	if (spec->timeout > 0) {
		child->timeout_id = g_timeout_add(ark_executor_process_usec_to_msec(spec->timeout),
						  ark_executor_process_timeout_cb, child);
	}
	return TRUE;
}

static void
ark_executor_process_start(ArkExecutor *executor, ArkAttempt *attempt)
{
	ArkExecutorProcess *self = ARK_EXECUTOR_PROCESS(executor);
	ArkExecutorProcessChild *child;
	g_autoptr(GError) error = NULL;

	g_return_if_fail(!g_hash_table_contains(self->children, attempt));

	child = g_new0(ArkExecutorProcessChild, 1);
	child->executor = g_object_ref(self);
	child->attempt = ark_attempt_ref(attempt);
	child->out_fd = -1;
	child->log_fd = -1;
	child->forced_status = ARK_ATTEMPT_STATUS_RUNNING;
	g_hash_table_insert(self->children, attempt, child);

	if (!ark_executor_process_child_spawn(child, &error)) {
		/* reported from the main loop like every other end, never from inside start() */
		g_debug("task %s: %s", ark_attempt_get_task_id(attempt), error->message);
		child->start_error = g_strdup(error->message);
		if (child->out_fd >= 0) {
			g_close(child->out_fd, NULL);
			child->out_fd = -1;
		}
		child->linger_id = g_idle_add(ark_executor_process_start_failed_cb, child);
	}
}

static void
ark_executor_process_cancel(ArkExecutor *executor, ArkAttempt *attempt)
{
	ArkExecutorProcess *self = ARK_EXECUTOR_PROCESS(executor);
	ArkExecutorProcessChild *child = g_hash_table_lookup(self->children, attempt);

	/* unknown, already ending, or about to report its start failure */
	if (child == NULL || child->start_error != NULL || child->term_sent)
		return;
	if (child->exited) {
		/* it ended on its own and only its output is awaited: report how it really
		 * ended, soon, and stop what it left behind */
		ark_executor_process_child_terminate(child);
		g_clear_handle_id(&child->linger_id, g_source_remove);
		child->linger_id = g_idle_add(ark_executor_process_linger_cb, child);
		return;
	}
	child->forced_status = ARK_ATTEMPT_STATUS_CANCELLED;
	g_clear_handle_id(&child->timeout_id, g_source_remove);
	ark_executor_process_child_terminate(child);
}

static void
ark_executor_process_shutdown(ArkExecutor *executor)
{
	ArkExecutorProcess *self = ARK_EXECUTOR_PROCESS(executor);
	g_autoptr(GList) attempts = NULL;

	self->shut_down = TRUE;
	/* a copy: cancel() may end attempts and change the table */
	attempts = g_hash_table_get_keys(self->children);
	for (GList *l = attempts; l != NULL; l = l->next)
		ark_executor_process_cancel(executor, l->data);
}

static void
ark_executor_process_get_capacity(ArkExecutor *executor, ArkResources *out)
{
	*out = ARK_EXECUTOR_PROCESS(executor)->capacity;
}

static guint
ark_executor_process_get_slots(ArkExecutor *executor)
{
	return ARK_EXECUTOR_PROCESS(executor)->slots;
}

static gboolean
ark_executor_process_check_task(ArkExecutor *executor, ArkWorkflow *workflow,
				const ArkTaskSpec *spec, GPtrArray *problems)
{
	guint before = problems->len;

	if (spec->function != NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "function",
					 "a process task can not have \"function\" (functions run "
					 "on the \"thread\" executor)");
	}
	if (spec->run == NULL || spec->run[0] == NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "run",
					 "missing \"run\": a process task needs a command");
	} else if (spec->shell && spec->run[1] != NULL) {
		ark_workflow_add_problem(workflow, problems, spec->index, "run",
					 "with \"shell\": true, \"run\" must be exactly one string, "
					 "the script");
	} else if (spec->run[0][0] == '\0') {
		ark_workflow_add_problem(workflow, problems, spec->index, "run",
					 "the command is an empty string");
	}
	return problems->len == before;
}

static gboolean
ark_executor_process_config_string(const ArkExecutorSetup *setup, const gchar *key,
				   gchar **out_value, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *value = NULL;

	*out_value = NULL;
	if (setup->config == NULL || setup->group == NULL ||
	    !g_key_file_has_key(setup->config, setup->group, key, NULL))
		return TRUE;
	value = g_key_file_get_string(setup->config, setup->group, key, &local_error);
	if (value == NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT, "[%s] %s: %s",
			    setup->group, key, local_error->message);
		return FALSE;
	}
	*out_value = g_strdup(g_strstrip(value));
	return TRUE;
}

static gboolean
ark_executor_process_is_env_name(const gchar *name)
{
	if (!g_ascii_isalpha(name[0]) && name[0] != '_')
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_executor_process_setup(ArkExecutor *executor, const ArkExecutorSetup *setup, GError **error)
{
	ArkExecutorProcess *self = ARK_EXECUTOR_PROCESS(executor);
	g_autoptr(GStrvBuilder) env = g_strv_builder_new();
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autofree gchar *value = NULL;
	g_auto(GStrv) inherit = NULL;
	guint64 max_log_size = ARK_EXECUTOR_PROCESS_DEFAULT_MAX_LOG_SIZE;
	gint64 kill_grace = ARK_EXECUTOR_PROCESS_DEFAULT_KILL_GRACE;
	guint64 slots = 0;
	const gchar *path_value = NULL;
	gint devnull_fd;

	g_return_val_if_fail(setup != NULL, FALSE);
	if (!ark_resources_read_config(setup->config, setup->group, &self->capacity, error))
		return FALSE;

	slots = setup->slots;
	if (!ark_executor_process_config_string(setup, "max-log-size", &value, error))
		return FALSE;
	if (value != NULL) {
		g_autoptr(GError) local_error = NULL;
		if (!ark_size_parse(value, &max_log_size, &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] max-log-size: %s", setup->group, local_error->message);
			return FALSE;
		}
	}
	g_clear_pointer(&value, g_free);
	if (slots == 0 && !ark_executor_process_config_string(setup, "slots", &value, error))
		return FALSE;
	if (value != NULL && (!g_ascii_string_to_unsigned(value, 10, 1, 100000, &slots, NULL))) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "[%s] slots: '%s' is not a whole number from 1 to 100000", setup->group,
			    value);
		return FALSE;
	}
	g_clear_pointer(&value, g_free);
	if (!ark_executor_process_config_string(setup, "kill-grace", &value, error))
		return FALSE;
	if (value != NULL) {
		g_autoptr(GError) local_error = NULL;
		if (!ark_duration_parse(value, &kill_grace, &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] kill-grace: %s", setup->group, local_error->message);
			return FALSE;
		}
	}
	if (setup->config != NULL && setup->group != NULL &&
	    g_key_file_has_key(setup->config, setup->group, "inherit-env", NULL)) {
		g_autoptr(GError) local_error = NULL;
		inherit = g_key_file_get_string_list(setup->config, setup->group, "inherit-env",
						     NULL, &local_error);
		if (inherit == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] inherit-env: %s", setup->group, local_error->message);
			return FALSE;
		}
		for (guint i = 0; inherit[i] != NULL; i++) {
			g_strstrip(inherit[i]);
			if (inherit[i][0] == '\0')
				continue;
			if (!ark_executor_process_is_env_name(inherit[i])) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] inherit-env: '%s' is not a variable name",
					    setup->group, inherit[i]);
				return FALSE;
			}
		}
	}

	for (guint i = 0; ark_executor_process_default_env[i] != NULL; i++)
		g_ptr_array_add(names, (gpointer)ark_executor_process_default_env[i]);
	for (guint i = 0; inherit != NULL && inherit[i] != NULL; i++) {
		if (inherit[i][0] != '\0')
			g_ptr_array_add(names, inherit[i]);
	}
	for (guint i = 0; i < names->len; i++) {
		const gchar *name = names->pdata[i];
		const gchar *val = g_getenv(name);
		gboolean seen = FALSE;

		for (guint j = 0; j < i && !seen; j++)
			seen = g_str_equal(names->pdata[j], name);
		if (seen)
			continue;
		/* a daemon started by systemd may have none of these: tasks still get the
		 * basics */
		if (val == NULL && g_str_equal(name, "PATH"))
			val = ARK_EXECUTOR_PROCESS_DEFAULT_PATH;
		else if (val == NULL && g_str_equal(name, "HOME"))
			val = g_get_home_dir();
		else if (val == NULL && (g_str_equal(name, "USER") || g_str_equal(name, "LOGNAME")))
			val = g_get_user_name();
		if (val == NULL)
			continue;
		if (g_str_equal(name, "PATH"))
			path_value = val;
		{
			g_autofree gchar *entry = g_strconcat(name, "=", val, NULL);
			g_strv_builder_add(env, entry);
		}
	}

	devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (devnull_fd < 0) {
		gint saved_errno = errno;
		g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, "failed to open /dev/null: %s",
			    g_strerror(saved_errno));
		return FALSE;
	}
	if (self->devnull_fd >= 0)
		g_close(self->devnull_fd, NULL);
	self->devnull_fd = devnull_fd;
	self->slots = slots > 0 ? (guint)slots : g_get_num_processors();
	self->max_log_size = max_log_size;
	self->kill_grace = kill_grace;
	g_strfreev(self->path_dirs);
	self->path_dirs = ark_executor_process_split_path(path_value);
	g_strfreev(self->base_env);
	self->base_env = g_strv_builder_end(env);
	return TRUE;
}

static void
ark_executor_process_iface_init(ArkExecutorInterface *iface)
{
	iface->setup = ark_executor_process_setup;
	iface->get_slots = ark_executor_process_get_slots;
	iface->get_capacity = ark_executor_process_get_capacity;
	iface->check_task = ark_executor_process_check_task;
	iface->start = ark_executor_process_start;
	iface->cancel = ark_executor_process_cancel;
	iface->shutdown = ark_executor_process_shutdown;
}

static void
ark_executor_process_finalize(GObject *object)
{
	ArkExecutorProcess *self = ARK_EXECUTOR_PROCESS(object);

	/* every child holds a reference: nothing can be running any more */
	g_hash_table_unref(self->children);
	g_strfreev(self->base_env);
	g_strfreev(self->path_dirs);
	if (self->devnull_fd >= 0)
		g_close(self->devnull_fd, NULL);
	g_free(self->buffer);
	g_free(self->log_parent);
	G_OBJECT_CLASS(ark_executor_process_parent_class)->finalize(object);
}

static void
ark_executor_process_init(ArkExecutorProcess *self)
{
	self->children = g_hash_table_new(g_direct_hash, g_direct_equal);
	self->devnull_fd = -1;
	self->slots = g_get_num_processors();
	self->max_log_size = ARK_EXECUTOR_PROCESS_DEFAULT_MAX_LOG_SIZE;
	self->kill_grace = ARK_EXECUTOR_PROCESS_DEFAULT_KILL_GRACE;
	self->base_env = g_new0(gchar *, 1);
	self->buffer = g_malloc(ARK_EXECUTOR_PROCESS_READ_SIZE);
}

static void
ark_executor_process_class_init(ArkExecutorProcessClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_executor_process_finalize;
}

struct _ArkExecutorProcessPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkExecutorProcessPlugin, ark_executor_process_plugin, ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_executor_process_config_keys[] = {
    {"slots", ARK_CONFIG_UINT, NULL,
     "processes run at once; the default is the number of CPUs", .min = 1, .max = 100000},
    {"max-log-size", ARK_CONFIG_SIZE, "10M",
     "an attempt's combined output is cut at this size; what follows is counted, not kept"},
    {"kill-grace", ARK_CONFIG_DURATION, "10s",
     "how long a cancelled or timed-out task has between SIGTERM and SIGKILL"},
    {"inherit-env", ARK_CONFIG_STRING_LIST, NULL,
     "variables passed from the daemon's environment to every task, besides PATH, HOME and "
     "LANG"},
    {"cpus", ARK_CONFIG_NUMBER, NULL,
     "CPUs the tasks running here may hold in all (their cpus); the default is the number of "
     "CPUs",
     .min = 0, .max = ARK_WORKFLOW_MAX_CPUS},
    {"memory", ARK_CONFIG_SIZE, NULL,
     "memory the tasks running here may hold in all (their memory); the default is the "
     "physical memory"},
    {"gpus", ARK_CONFIG_UINT, "0", "GPUs the tasks running here may hold in all (their gpus)",
     .min = 0, .max = ARK_WORKFLOW_MAX_GPUS},
};

static gboolean
ark_executor_process_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, "executor-process", "executor-process",
					  ark_executor_process_config_keys,
					  G_N_ELEMENTS(ark_executor_process_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, "executor-process", ARK_CAPABILITY_EXECUTOR,
				     "process", ARK_TYPE_EXECUTOR_PROCESS, error);
}

static void
ark_executor_process_plugin_init(ArkExecutorProcessPlugin *self)
{
}

static void
ark_executor_process_plugin_class_init(ArkExecutorProcessPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_executor_process_plugin_startup;
}

ARK_PLUGIN_DEFINE("executor-process", ark_executor_process_plugin_get_type, "0.1.0",
		  "LGPL-2.1-or-later",
		  "Runs tasks as processes: argv or shell, minimal environment, capped logs")
