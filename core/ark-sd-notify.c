/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ark-sd-notify.h"

gboolean
ark_sd_notify(const gchar *state)
{
	const gchar *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	socklen_t addr_len;
	gsize path_len;
	gint fd;
	gssize sent;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return FALSE;
	path_len = strlen(path);
	if (path_len >= sizeof(addr.sun_path)) {
		g_warning("NOTIFY_SOCKET is too long to be a socket address");
		return FALSE;
	}
	memcpy(addr.sun_path, path, path_len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace */
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len +
			       (path[0] == '@' ? 0 : 1));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_warning("cannot notify the service manager: %s", g_strerror(errno));
		return FALSE;
	}
	do
		sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
			      addr_len);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		g_warning("cannot notify the service manager at %s: %s", path, g_strerror(errno));
	close(fd);
	return sent >= 0;
}

gboolean
ark_sd_notifyf(const gchar *format, ...)
{
	g_autofree gchar *state = NULL;
	va_list args;

	va_start(args, format);
	state = g_strdup_vprintf(format, args);
	va_end(args);
	return ark_sd_notify(state);
}

guint64
ark_sd_watchdog_usec(void)
{
	const gchar *usec = g_getenv("WATCHDOG_USEC");
	const gchar *pid = g_getenv("WATCHDOG_PID");
	guint64 value = 0;
	guint64 for_pid = 0;

	if (usec == NULL || !g_ascii_string_to_unsigned(usec, 10, 1, G_MAXUINT64, &value, NULL))
		return 0;
	if (pid != NULL &&
	    (!g_ascii_string_to_unsigned(pid, 10, 1, G_MAXINT, &for_pid, NULL) ||
	     for_pid != (guint64)getpid()))
		return 0;
	return value;
}
