/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/*
 * mcp-bench http PORT TOKEN N_CALLS
 *   tools/call round trips of a read-only tool (get_status) over Streamable HTTP, one session
 *   on one kept-alive connection: p50, p99, max.
 * mcp-bench stdio N_CALLS COMMAND [ARGS...]
 *   the same over stdio, COMMAND being an MCP server (arkitect mcp ...).
 * mcp-bench sessions PORT TOKEN N_SESSIONS
 *   N sessions, each initialized and holding its GET event stream open at once; then one run is
 *   submitted and every stream must carry the notifications/resources/list_changed it causes.
 *   Prints how many sessions were opened, how many got it, and how long it took.
 *
 * Plain sockets and blocking I/O: the numbers are the server's, not a client library's.
 */

static double
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
connect_local(int port)
{
	struct sockaddr_in addr = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static gboolean
send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gboolean
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gboolean
post(int fd, int port, const char *token, const char *session, const char *body)
{
	g_autofree gchar *req = g_strdup_printf(
	    "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
	    "%s%s%sContent-Length: %zu\r\n\r\n%s",
	    port, token, session ? "Mcp-Session-Id: " : "", session ? session : "",
	    session ? "\r\nMCP-Protocol-Version: 2025-11-25\r\n" : "", strlen(body), body);
	return send_all(fd, req, strlen(req));
}

/* reads one HTTP response with a Content-Length body; the session id header if asked */
static gboolean
read_response(int fd, GString *buf, guint *out_status, gchar **out_session, GString *out_body)
{
	char chunk[16384];
	char *end;

	for (;;) {
		ssize_t n;
		if ((end = strstr(buf->str, "\r\n\r\n")) != NULL) {
			gsize head = (gsize)(end - buf->str) + 4;
			const char *cl = g_strstr_len(buf->str, (gssize)head, "Content-Length: ");
			gsize len = cl ? strtoul(cl + 16, NULL, 10) : 0;
			if (buf->len >= head + len) {
				if (out_status)
					*out_status = (guint)strtoul(buf->str + 9, NULL, 10);
				if (out_session) {
					const char *s = g_strstr_len(buf->str, (gssize)head,
								     "Mcp-Session-Id: ");
					*out_session = s ? g_strndup(s + 16, strcspn(s + 16, "\r")) : NULL;
				}
				if (out_body)
					g_string_assign(out_body, "");
				if (out_body)
					g_string_append_len(out_body, buf->str + head, (gssize)len);
				g_string_erase(buf, 0, (gssize)(head + len));
				return TRUE;
			}
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return FALSE;
		g_string_append_len(buf, chunk, n);
	}
}

static const char init_body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-bench\",\"version\":"
    "\"1\"}}}";
static const char initialized_body[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

static gchar *
open_session(int fd, int port, const char *token, GString *buf)
{
	gchar *session = NULL;
	guint status = 0;

	if (!post(fd, port, token, NULL, init_body) ||
	    !read_response(fd, buf, &status, &session, NULL) || status != 200 || session == NULL) {
		g_free(session);
		return NULL;
	}
	if (!post(fd, port, token, session, initialized_body) ||
	    !read_response(fd, buf, &status, NULL, NULL) || status != 202) {
		g_free(session);
		return NULL;
	}
	return session;
}

static int
compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *samples, guint n, double total)
{
	qsort(samples, n, sizeof(double), compare_double);
	printf("%s: %u calls in %.2f s (%.0f/s); round trip p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       what, n, total, n / total, samples[n / 2] * 1e3, samples[(guint)(n * 0.99)] * 1e3,
	       samples[n - 1] * 1e3);
}

static const char call_fmt[] =
    "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"tools/call\",\"params\":{\"name\":"
    "\"get_status\",\"arguments\":{}}}";

static int
bench_http(int port, const char *token, guint n)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(GString) body = g_string_new(NULL);
	g_autofree double *samples = g_new(double, n);
	g_autofree gchar *session = NULL;
	double start;
	int fd = connect_local(port);

	if (fd < 0 || (session = open_session(fd, port, token, buf)) == NULL) {
		fprintf(stderr, "could not open a session\n");
		return 1;
	}
	start = now_seconds();
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *call = g_strdup_printf(call_fmt, i + 1);
		guint status = 0;
		double t0 = now_seconds();
		if (!post(fd, port, token, session, call) ||
		    !read_response(fd, buf, &status, NULL, body) || status != 200 ||
		    strstr(body->str, "structuredContent") == NULL) {
			fprintf(stderr, "call %u failed (status %u): %s\n", i, status, body->str);
			return 1;
		}
		samples[i] = now_seconds() - t0;
	}
	report("Streamable HTTP tools/call get_status", samples, n, now_seconds() - start);
	close(fd);
	return 0;
}

static gboolean
read_line(int fd, GString *buf, GString *line)
{
	char chunk[65536];

	for (;;) {
		char *nl = memchr(buf->str, '\n', buf->len);
		if (nl != NULL) {
			g_string_assign(line, "");
			g_string_append_len(line, buf->str, nl - buf->str);
			g_string_erase(buf, 0, nl - buf->str + 1);
			return TRUE;
		}
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return FALSE;
		g_string_append_len(buf, chunk, n);
	}
}

static int
bench_stdio(guint n, char **argv)
{
	int in[2], out[2];
	pid_t pid;
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(GString) line = g_string_new(NULL);
	g_autofree double *samples = g_new(double, n);
	double start;
	int status;

	if (pipe(in) != 0 || pipe(out) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	g_autofree gchar *init = g_strdup_printf("%s\n%s\n", init_body, initialized_body);
	if (!write_all(in[1], init, strlen(init)) || !read_line(out[0], buf, line)) {
		fprintf(stderr, "the stdio server did not answer initialize\n");
		return 1;
	}
	start = now_seconds();
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *call = g_strdup_printf(call_fmt, i + 1);
		g_autofree gchar *want = g_strdup_printf("\"id\":%u,", i + 1);
		double t0 = now_seconds();
		g_autofree gchar *msg = g_strdup_printf("%s\n", call);
		if (!write_all(in[1], msg, strlen(msg))) {
			fprintf(stderr, "the stdio server went away\n");
			return 1;
		}
		do {
			if (!read_line(out[0], buf, line)) {
				fprintf(stderr, "the stdio server went away\n");
				return 1;
			}
		} while (strstr(line->str, want) == NULL);
		if (strstr(line->str, "structuredContent") == NULL) {
			fprintf(stderr, "call %u failed: %s\n", i, line->str);
			return 1;
		}
		samples[i] = now_seconds() - t0;
	}
	report("stdio tools/call get_status", samples, n, now_seconds() - start);
	close(in[1]);
	waitpid(pid, &status, 0);
	close(out[0]);
	return 0;
}

static int
bench_sessions(int port, const char *token, guint n)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(GString) body = g_string_new(NULL);
	g_autofree struct pollfd *fds = g_new0(struct pollfd, n);
	g_autofree gboolean *got = g_new0(gboolean, n);
	g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func((GDestroyNotify)g_string_free);
	guint opened = 0, received = 0, errors = 0;
	gchar *first_session = NULL;
	double start = now_seconds(), t_open, t_event;
	int ctl = connect_local(port);

	if (ctl < 0)
		return 1;
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *session = open_session(ctl, port, token, buf);
		g_autofree gchar *get = NULL;
		char head[4096];
		ssize_t got_bytes;
		int fd;

		g_ptr_array_add(pending, g_string_new(NULL));
		fds[i].fd = -1;
		if (session == NULL) {
			errors++;
			/* the control connection may be gone with the refusal */
			close(ctl);
			ctl = connect_local(port);
			continue;
		}
		fd = connect_local(port);
		get = g_strdup_printf("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				      "Authorization: Bearer %s\r\nMcp-Session-Id: %s\r\n"
				      "MCP-Protocol-Version: 2025-11-25\r\n"
				      "Accept: text/event-stream\r\n\r\n",
				      port, token, session);
		if (fd < 0 || !send_all(fd, get, strlen(get)) ||
		    (got_bytes = recv(fd, head, sizeof(head) - 1, 0)) <= 0 ||
		    strncmp(head, "HTTP/1.1 200", 12) != 0) {
			errors++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		fds[i].fd = fd;
		fds[i].events = POLLIN;
		opened++;
		if (first_session == NULL)
			first_session = g_strdup(session);
	}
	t_open = now_seconds() - start;
	printf("sessions: %u of %u opened with a GET stream each in %.2f s (%u errors)\n", opened,
	       n, t_open, errors);
	if (first_session == NULL)
		return 1;
	/* a run: every initialized session hears notifications/resources/list_changed */
	start = now_seconds();
	{
		guint status = 0;
		if (!post(ctl, port, token, first_session,
			  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			  "\"name\":\"submit_workflow\",\"arguments\":{\"workflow\":{\"name\":"
			  "\"bench\",\"tasks\":[{\"id\":\"a\",\"run\":[\"true\"]}]}}}}") ||
		    !read_response(ctl, buf, &status, NULL, body) || status != 200) {
			fprintf(stderr, "submit failed: %u %s\n", status, body->str);
			return 1;
		}
	}
	while (received < opened && now_seconds() - start < 30) {
		int r = poll(fds, n, 1000);
		if (r <= 0)
			continue;
		for (guint i = 0; i < n; i++) {
			char chunk[8192];
			ssize_t len;
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			len = recv(fds[i].fd, chunk, sizeof(chunk), 0);
			if (len <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				errors++;
				continue;
			}
			g_string_append_len(g_ptr_array_index(pending, i), chunk, len);
			if (!got[i] && strstr(((GString *)g_ptr_array_index(pending, i))->str,
					      "notifications/resources/list_changed") != NULL) {
				got[i] = TRUE;
				received++;
			}
		}
	}
	t_event = now_seconds() - start;
	printf("sessions: %u of %u GET streams got the notification within %.3f s (%u errors)\n",
	       received, opened, t_event, errors);
	for (guint i = 0; i < n; i++) {
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	}
	close(ctl);
	g_free(first_session);
	return received == opened && errors == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "http") == 0)
		return bench_http(atoi(argv[2]), argv[3], (guint)atoi(argv[4]));
	if (argc >= 4 && strcmp(argv[1], "stdio") == 0)
		return bench_stdio((guint)atoi(argv[2]), argv + 3);
	if (argc == 5 && strcmp(argv[1], "sessions") == 0)
		return bench_sessions(atoi(argv[2]), argv[3], (guint)atoi(argv[4]));
	fprintf(stderr, "usage: mcp-bench http PORT TOKEN N | stdio N COMMAND [ARGS...] | "
			"sessions PORT TOKEN N\n");
	return 2;
}
