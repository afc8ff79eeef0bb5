/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/*
 * http-sse-bench PORT TOKEN N_SUBSCRIBERS SECONDS
 *
 * Opens N event streams (GET /api/v1/events) on 127.0.0.1:PORT and reads them as fast as it can
 * for SECONDS, counting the events ("id:" lines) every subscriber got. Prints events delivered per
 * second (summed over subscribers), per subscriber, and the seq span seen. Something else makes
 * the events (bench/http-bench.sh submits runs meanwhile).
 */

typedef struct {
	int fd;
	guint64 events;
	guint64 first_seq;
	guint64 last_seq;
	gboolean gap; /* a seq that was not last + 1 */
	GString *line;
} Subscriber;

static double
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
open_stream(int port, const char *token)
{
	struct sockaddr_in addr = {0};
	char request[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("connect");
		exit(1);
	}
	/* HTTP/1.0-style reading is enough: chunk-size lines never start with "id: " */
	snprintf(request, sizeof(request),
		 "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
		 "Accept: text/event-stream\r\n\r\n",
		 token);
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		perror("write");
		exit(1);
	}
	return fd;
}

static void
consume(Subscriber *s, const char *buf, gssize n)
{
	for (gssize i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			g_string_append_c(s->line, buf[i]);
			continue;
		}
		if (g_str_has_prefix(s->line->str, "id: ")) {
			guint64 seq = g_ascii_strtoull(s->line->str + 4, NULL, 10);
			if (s->events == 0)
				s->first_seq = seq;
			else if (seq != s->last_seq + 1)
				s->gap = TRUE;
			s->last_seq = seq;
			s->events++;
		}
		g_string_truncate(s->line, 0);
	}
}

int
main(int argc, char **argv)
{
	int port;
	const char *token;
	guint n;
	double seconds;
	Subscriber *subs;
	struct pollfd *fds;
	double start;
	double end;
	guint64 total = 0;
	guint gaps = 0;
	char buf[65536];

	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT TOKEN N_SUBSCRIBERS SECONDS\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	token = argv[2];
	n = (guint)atoi(argv[3]);
	seconds = atof(argv[4]);
	subs = g_new0(Subscriber, n);
	fds = g_new0(struct pollfd, n);
	for (guint i = 0; i < n; i++) {
		subs[i].fd = open_stream(port, token);
		subs[i].line = g_string_new(NULL);
		fds[i].fd = subs[i].fd;
		fds[i].events = POLLIN;
	}
	start = now_seconds();
	end = start + seconds;
	while (now_seconds() < end) {
		int ready = poll(fds, n, 100);
		if (ready < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		for (guint i = 0; i < n && ready > 0; i++) {
			if ((fds[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			gssize got = read(fds[i].fd, buf, sizeof(buf));
			if (got <= 0) {
				fprintf(stderr, "subscriber %u: stream ended\n", i);
				fds[i].fd = -1;
				continue;
			}
			consume(&subs[i], buf, got);
		}
	}
	for (guint i = 0; i < n; i++) {
		total += subs[i].events;
		gaps += subs[i].gap ? 1 : 0;
		close(subs[i].fd);
	}
	printf("subscribers %u, %.1f s: %" G_GUINT64_FORMAT " events delivered, %.0f events/s "
	       "in all, %.0f per subscriber; seq %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
	       "; subscribers with a gap: %u\n",
	       n, seconds, total, (double)total / seconds, (double)total / seconds / n,
	       subs[0].first_seq, subs[0].last_seq, gaps);
	return gaps == 0 ? 0 : 1;
}
