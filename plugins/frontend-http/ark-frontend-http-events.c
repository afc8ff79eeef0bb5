/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ark-frontend-http-private.h"

/*
 * Streaming responses: the Server-Sent Events of GET /api/v1/events and followed attempt logs.
 *
 * Every committed event reaches ark_frontend_http_events_push() through the engine's "event"
 * signal, in seq order and without gaps. It is rendered once into an SSE frame and kept in a
 * ring of the most recent events, which every subscriber shares. A subscriber has a cursor (the
 * last seq it has been given, or filtered out) and only ever gets an event whose seq is greater,
 * so no event can be sent twice; and events are taken in seq order from wherever they still
 * are, so none can be skipped:
 *
 *   - a subscriber that is caught up gets each event as it is pushed;
 *   - one that is behind (it connected with an old Last-Event-ID, or it reads slower than events
 *     come) is fed from the ring while its next seq is still there, else from the store
 *     (ark_store_read_events(), in pages), which holds every event: the engine commits before
 *     it announces. Seqs are store-wide and persistent, so this also works across restarts.
 *
 * Nothing is queued for a client beyond max-stream-buffer bytes: a subscriber with that much
 * unwritten waits until its socket drains and then catches up from the ring or the store, so a
 * slow reader costs a bounded buffer and some store reads, never unbounded memory. A client that
 * reads nothing at all for request-timeout while data waits is disconnected; it resumes with
 * Last-Event-ID.
 */

#define ARK_FRONTEND_HTTP_RING_SIZE 8192
#define ARK_FRONTEND_HTTP_STORE_PAGE 512
/* store pages one pump reads at most: a filtered stream far behind could otherwise scan the
 * whole event table in one go and hold up the main loop */
#define ARK_FRONTEND_HTTP_PAGES_PER_PUMP 8
#define ARK_FRONTEND_HTTP_KEEPALIVE_SECONDS 15
#define ARK_FRONTEND_HTTP_LOG_POLL_MS 250
#define ARK_FRONTEND_HTTP_LOG_READ 65536

typedef struct {
	guint64 seq;
	gchar *run_id;
	GBytes *frame;
} ArkFrontendHttpRingEntry;

typedef enum {
	ARK_FRONTEND_HTTP_STREAM_EVENTS,
	ARK_FRONTEND_HTTP_STREAM_LOG,
} ArkFrontendHttpStreamKind;

typedef struct {
	ArkFrontendHttpEvents *events;
	ArkFrontendHttpStreamKind kind;
	SoupServerMessage *msg;
	gboolean done;	     /* the message finished: the client is gone or the answer complete */
	gboolean completing; /* the body is complete; libsoup is writing what is left */
	guint64 pending;     /* bytes handed to libsoup and not written yet */
	gint64 last_progress;
	gulong finished_id;
	gulong wrote_id;
	GSource *hangup; /* watches the socket for the client going away */
	/* events */
	gchar *run_filter;
	guint64 cursor;
	/* log */
	gchar *path;
	gint fd;
	guint64 offset;
	gchar *run_id;
	gchar *task_id;
	guint attempt;
	gboolean attempt_done;
	guint poll_id;
} ArkFrontendHttpStream;

struct _ArkFrontendHttpEvents {
	ArkFrontendHttp *self;
	ArkFrontendHttpRingEntry *ring;
	guint ring_start; /* index of the oldest entry */
	guint ring_len;
	guint64 ring_first_seq;
	GPtrArray *streams; /* ArkFrontendHttpStream*, the open ones */
	GPtrArray *to_pump; /* streams waiting for a pump */
	guint pump_id;
	guint keepalive_id;
	GBytes *keepalive;
};

static void ark_frontend_http_events_pump(ArkFrontendHttpStream *stream);

/* the ring ----------------------------------------------------------------------------------- */

static void
ark_frontend_http_events_ring_entry_clear(ArkFrontendHttpRingEntry *entry)
{
	g_clear_pointer(&entry->run_id, g_free);
	g_clear_pointer(&entry->frame, g_bytes_unref);
	entry->seq = 0;
}

static void
ark_frontend_http_events_ring_clear(ArkFrontendHttpEvents *events)
{
	for (guint i = 0; i < events->ring_len; i++)
		ark_frontend_http_events_ring_entry_clear(
		    &events->ring[(events->ring_start + i) % ARK_FRONTEND_HTTP_RING_SIZE]);
	events->ring_start = 0;
	events->ring_len = 0;
	events->ring_first_seq = 0;
}

static guint64
ark_frontend_http_events_ring_last_seq(ArkFrontendHttpEvents *events)
{
	return events->ring_len == 0 ? 0 : events->ring_first_seq + events->ring_len - 1;
}

static const ArkFrontendHttpRingEntry *
ark_frontend_http_events_ring_lookup(ArkFrontendHttpEvents *events, guint64 seq)
{
	if (events->ring_len == 0 || seq < events->ring_first_seq ||
	    seq > ark_frontend_http_events_ring_last_seq(events))
		return NULL;
	return &events->ring[(events->ring_start + (guint)(seq - events->ring_first_seq)) %
			     ARK_FRONTEND_HTTP_RING_SIZE];
}

/* rendering ---------------------------------------------------------------------------------- */

static const gchar *
ark_frontend_http_events_state_string(const ArkEvent *event)
{
	switch (event->kind) {
	case ARK_EVENT_RUN_SUBMITTED:
	case ARK_EVENT_RUN_STARTED:
	case ARK_EVENT_RUN_FINISHED:
		return ark_run_state_to_string((ArkRunState)event->state);
	case ARK_EVENT_TASK_STATE:
		return ark_task_state_to_string((ArkTaskState)event->state);
	case ARK_EVENT_ATTEMPT_STARTED:
	case ARK_EVENT_ATTEMPT_FINISHED:
		return ark_attempt_status_to_string((ArkAttemptStatus)event->state);
	default:
		return NULL;
	}
}

/* an event's data as one line of JSON, or NULL when it is not a JSON object */
static gchar *
ark_frontend_http_events_data_json(const gchar *data)
{
	g_auto(ArkFrontendHttpJsonScan) scan = {0};
	g_autoptr(JsonParser) parser = NULL;

	if (data == NULL)
		return NULL;
	if (ark_frontend_http_json_scan(data, strlen(data), 64, &scan) !=
		ARK_FRONTEND_HTTP_JSON_SCAN_OK ||
	    !scan.root_is_object)
		return NULL;
	if (strpbrk(data, "\r\n") == NULL)
		return g_strdup(data);
	/* an SSE data line ends at a newline: write it again without whitespace */
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, data, -1, NULL) ||
	    json_parser_get_root(parser) == NULL)
		return NULL;
	return json_to_string(json_parser_get_root(parser), FALSE);
}

GString *
ark_frontend_http_events_to_json(const ArkEvent *event)
{
	ArkFrontendHttpJson w;
	g_autofree gchar *data = ark_frontend_http_events_data_json(event->data);

	ark_frontend_http_json_init(&w, 256);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "seq");
	ark_frontend_http_json_int(&w, (gint64)event->seq);
	ark_frontend_http_json_key(&w, "time");
	ark_frontend_http_json_time(&w, event->time);
	ark_frontend_http_json_key(&w, "kind");
	ark_frontend_http_json_string(&w, ark_event_kind_to_string(event->kind));
	ark_frontend_http_json_key(&w, "run_id");
	ark_frontend_http_json_string(&w, event->run_id);
	ark_frontend_http_json_key(&w, "task_id");
	ark_frontend_http_json_string(&w, event->task_id);
	ark_frontend_http_json_key(&w, "attempt");
	if (event->attempt > 0)
		ark_frontend_http_json_int(&w, event->attempt);
	else
		ark_frontend_http_json_null(&w);
	ark_frontend_http_json_key(&w, "state");
	ark_frontend_http_json_string(&w, ark_frontend_http_events_state_string(event));
	ark_frontend_http_json_key(&w, "data");
	if (data != NULL)
		ark_frontend_http_json_raw(&w, data, -1);
	else
		ark_frontend_http_json_null(&w);
	ark_frontend_http_json_end_object(&w);
	return ark_frontend_http_json_steal(&w);
}

static GBytes *
ark_frontend_http_events_frame(const ArkEvent *event)
{
	g_autoptr(GString) json = ark_frontend_http_events_to_json(event);
	GString *frame = g_string_sized_new(json->len + 64);

	g_string_append_printf(frame, "id: %" G_GUINT64_FORMAT "\nevent: %s\ndata: ", event->seq,
			       ark_event_kind_to_string(event->kind));
	g_string_append_len(frame, json->str, (gssize)json->len);
	g_string_append(frame, "\n\n");
	return g_string_free_to_bytes(frame);
}

/* streams ------------------------------------------------------------------------------------ */

static void
ark_frontend_http_events_update_gauge(ArkFrontendHttpEvents *events)
{
	ark_frontend_http_metrics_set_streams(events->self->metrics, events->streams->len);
}

static void
ark_frontend_http_events_stream_free(ArkFrontendHttpStream *stream)
{
	if (stream->finished_id != 0)
		g_signal_handler_disconnect(stream->msg, stream->finished_id);
	if (stream->wrote_id != 0)
		g_signal_handler_disconnect(stream->msg, stream->wrote_id);
	if (stream->hangup != NULL) {
		g_source_destroy(stream->hangup);
		g_source_unref(stream->hangup);
	}
	g_clear_handle_id(&stream->poll_id, g_source_remove);
	if (stream->fd >= 0)
		close(stream->fd);
	g_clear_object(&stream->msg);
	g_free(stream->run_filter);
	g_free(stream->path);
	g_free(stream->run_id);
	g_free(stream->task_id);
	g_free(stream);
}

/* the message is over (answer complete, client gone, server stopping) */
static void
ark_frontend_http_events_stream_finished_cb(SoupServerMessage *msg, gpointer user_data)
{
	ArkFrontendHttpStream *stream = user_data;
	ArkFrontendHttpEvents *events = stream->events;

	stream->done = TRUE;
	g_ptr_array_remove(events->to_pump, stream);
	g_ptr_array_remove_fast(events->streams, stream);
	ark_frontend_http_events_update_gauge(events);
	ark_frontend_http_events_stream_free(stream);
}

static gboolean
ark_frontend_http_events_pump_cb(gpointer user_data)
{
	ArkFrontendHttpEvents *events = user_data;
	g_autoptr(GPtrArray) batch = events->to_pump;

	events->pump_id = 0;
	events->to_pump = g_ptr_array_new();
	for (guint i = 0; i < batch->len; i++) {
		ArkFrontendHttpStream *stream = g_ptr_array_index(batch, i);
		/* a stream that finished meanwhile was taken out of to_pump, not of batch */
		if (g_ptr_array_find(events->streams, stream, NULL))
			ark_frontend_http_events_pump(stream);
	}
	return G_SOURCE_REMOVE;
}

static void
ark_frontend_http_events_schedule_pump(ArkFrontendHttpStream *stream)
{
	ArkFrontendHttpEvents *events = stream->events;

	if (stream->done || stream->completing)
		return;
	if (!g_ptr_array_find(events->to_pump, stream, NULL))
		g_ptr_array_add(events->to_pump, stream);
	if (events->pump_id == 0)
		events->pump_id = g_idle_add(ark_frontend_http_events_pump_cb, events);
}

static void
ark_frontend_http_events_wrote_cb(SoupServerMessage *msg, guint chunk_size, gpointer user_data)
{
	ArkFrontendHttpStream *stream = user_data;
	guint64 cap = stream->events->self->config.max_stream_buffer;

	stream->pending -= MIN(stream->pending, chunk_size);
	stream->last_progress = g_get_monotonic_time();
	/* below half the cap again: a lagging subscriber can take more */
	if (stream->pending <= cap / 2 && stream->pending + chunk_size > cap / 2)
		ark_frontend_http_events_schedule_pump(stream);
}

static void
ark_frontend_http_events_append(ArkFrontendHttpStream *stream, GBytes *bytes)
{
	gsize size = g_bytes_get_size(bytes);

	if (size == 0)
		return;
	if (stream->pending == 0)
		stream->last_progress = g_get_monotonic_time();
	soup_message_body_append_bytes(soup_server_message_get_response_body(stream->msg), bytes);
	stream->pending += size;
}

static void
ark_frontend_http_events_flush(ArkFrontendHttpStream *stream)
{
	if (!stream->done)
		soup_server_message_unpause(stream->msg);
}

/* ends the answer after what is queued; libsoup finishes the message once it is written */
static void
ark_frontend_http_events_complete(ArkFrontendHttpStream *stream)
{
	if (stream->done || stream->completing)
		return;
	stream->completing = TRUE;
	soup_message_body_complete(soup_server_message_get_response_body(stream->msg));
	soup_server_message_unpause(stream->msg);
}

/*
 * While a stream waits for events libsoup writes nothing and reads nothing, so it would learn
 * that the client left only at the next write. A client of a stream sends nothing after its
 * request, so the socket becoming readable with nothing to read means it closed: the connection
 * is shut down and a last write makes libsoup see it and end the message at once, which frees
 * the stream's slot under max-event-streams.
 */
static gboolean
ark_frontend_http_events_hangup_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	ArkFrontendHttpStream *stream = user_data;
	static const gchar bye[] = ": bye\n\n";
	g_autoptr(GBytes) bytes = g_bytes_new_static(bye, sizeof(bye) - 1);
	ArkFrontendHttpSocketState state = ark_frontend_http_socket_state(socket, condition);

	if (state == ARK_FRONTEND_HTTP_SOCKET_QUIET)
		return G_SOURCE_CONTINUE;
	/* a pipelined request is read after this answer: stop watching */
	g_source_unref(g_steal_pointer(&stream->hangup));
	if (state == ARK_FRONTEND_HTTP_SOCKET_PIPELINED)
		return G_SOURCE_REMOVE;
	ark_frontend_http_shutdown_socket(socket);
	/* a completing stream is being written anyway */
	if (!stream->done && !stream->completing) {
		ark_frontend_http_events_append(stream, bytes);
		ark_frontend_http_events_flush(stream);
	}
	return G_SOURCE_REMOVE;
}

static ArkFrontendHttpStream *
ark_frontend_http_events_stream_new(ArkFrontendHttpEvents *events, ArkFrontendHttpStreamKind kind,
				    SoupServerMessage *msg, const gchar *content_type)
{
	ArkFrontendHttpStream *stream = g_new0(ArkFrontendHttpStream, 1);
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);

	stream->events = events;
	stream->kind = kind;
	stream->msg = g_object_ref(msg);
	stream->fd = -1;
	stream->last_progress = g_get_monotonic_time();
	if (req != NULL)
		req->streaming = TRUE;

	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_message_headers_set_encoding(headers, SOUP_ENCODING_CHUNKED);
	soup_message_headers_replace(headers, "Content-Type", content_type);
	soup_message_headers_replace(headers, "Cache-Control", "no-cache");
	soup_message_headers_replace(headers, "X-Accel-Buffering", "no");
	/* written chunks are dropped, or a long stream would keep all of itself */
	soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);

	stream->finished_id = g_signal_connect(
	    msg, "finished", G_CALLBACK(ark_frontend_http_events_stream_finished_cb), stream);
	stream->wrote_id = g_signal_connect(
	    msg, "wrote-body-data", G_CALLBACK(ark_frontend_http_events_wrote_cb), stream);
	if (ark_frontend_http_message_get_socket(msg) != NULL) {
		stream->hangup = g_socket_create_source(ark_frontend_http_message_get_socket(msg),
							G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(stream->hangup,
				      G_SOURCE_FUNC(ark_frontend_http_events_hangup_cb), stream,
				      NULL);
		g_source_attach(stream->hangup, NULL);
	}
	g_ptr_array_add(events->streams, stream);
	ark_frontend_http_events_update_gauge(events);
	return stream;
}

/* event streams ------------------------------------------------------------------------------ */

static gboolean
ark_frontend_http_events_wanted(ArkFrontendHttpStream *stream, const gchar *run_id)
{
	return stream->run_filter == NULL || g_strcmp0(stream->run_filter, run_id) == 0;
}

/* the seq of the last event announced; ring and store agree once the ring has anything */
static guint64
ark_frontend_http_events_head(ArkFrontendHttpEvents *events)
{
	if (events->ring_len > 0)
		return ark_frontend_http_events_ring_last_seq(events);
	return ark_store_get_last_event_seq(ark_engine_get_store(events->self->engine));
}

static void
ark_frontend_http_events_pump_events(ArkFrontendHttpStream *stream)
{
	ArkFrontendHttpEvents *events = stream->events;
	guint64 cap = events->self->config.max_stream_buffer;
	gboolean appended = FALSE;
	guint pages = 0;

	while (!stream->done && stream->pending < cap) {
		const ArkFrontendHttpRingEntry *entry =
		    ark_frontend_http_events_ring_lookup(events, stream->cursor + 1);

		if (entry != NULL) {
			if (ark_frontend_http_events_wanted(stream, entry->run_id)) {
				ark_frontend_http_events_append(stream, entry->frame);
				appended = TRUE;
			}
			stream->cursor = entry->seq;
			continue;
		}
		if (stream->cursor < ark_frontend_http_events_head(events) &&
		    pages++ == ARK_FRONTEND_HTTP_PAGES_PER_PUMP) {
			/* the rest in a later pass, after what else waits */
			ark_frontend_http_events_schedule_pump(stream);
			break;
		}
		if (stream->cursor < ark_frontend_http_events_head(events)) {
			g_autoptr(GError) error = NULL;
			g_autoptr(GPtrArray) page =
			    ark_store_read_events(ark_engine_get_store(events->self->engine),
						  stream->cursor, ARK_FRONTEND_HTTP_STORE_PAGE, &error);
			guint64 before = stream->cursor;

			if (page == NULL) {
				g_warning("event stream: reading events after %" G_GUINT64_FORMAT
					  ": %s",
					  stream->cursor, error->message);
				ark_frontend_http_events_complete(stream);
				break;
			}
			for (guint i = 0; i < page->len; i++) {
				const ArkEvent *event = g_ptr_array_index(page, i);
				if (event->seq <= stream->cursor)
					continue;
				if (ark_frontend_http_events_wanted(stream, event->run_id)) {
					g_autoptr(GBytes) frame =
					    ark_frontend_http_events_frame(event);
					ark_frontend_http_events_append(stream, frame);
					appended = TRUE;
				}
				stream->cursor = event->seq;
			}
			if (stream->cursor == before)
				break; /* the store has nothing after the cursor (yet) */
			continue;
		}
		break; /* caught up: live events come through push */
	}
	if (appended)
		ark_frontend_http_events_flush(stream);
}

void
ark_frontend_http_events_serve(ArkFrontendHttp *self, SoupServerMessage *msg,
			       ArkFrontendHttpRequest *req, GHashTable *query)
{
	ArkFrontendHttpEvents *events = self->events;
	ArkFrontendHttpStream *stream;
	const gchar *run = query != NULL ? g_hash_table_lookup(query, "run") : NULL;
	const gchar *after = query != NULL ? g_hash_table_lookup(query, "after") : NULL;
	guint64 cursor = 0;
	g_autofree gchar *hello = NULL;

	if (after == NULL)
		after = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
						     "Last-Event-ID");
	if (after != NULL && !g_ascii_string_to_unsigned(after, 10, 0, G_MAXUINT64, &cursor, NULL)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "after / Last-Event-ID must be an event seq (a "
					  "non-negative integer), not '%s'",
					  after);
		return;
	}
	if (run != NULL && !ark_frontend_http_valid_run_id(run)) {
		ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
					  "run must be a run id");
		return;
	}
	if (events->streams->len >= self->config.max_event_streams) {
		ark_frontend_http_problem(msg, ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS, "too-many-streams",
					  "%u streams are open, the most this server keeps "
					  "(max-event-streams)",
					  events->streams->len);
		return;
	}
	/* without a position, the stream starts with what happens next */
	if (after == NULL)
		cursor = ark_frontend_http_events_head(events);

	stream = ark_frontend_http_events_stream_new(events, ARK_FRONTEND_HTTP_STREAM_EVENTS, msg,
						     "text/event-stream");
	stream->run_filter = g_strdup(run);
	stream->cursor = cursor;
	/* a comment first, so that the client sees the answer start even when nothing happens */
	hello = g_strdup_printf(": events after %" G_GUINT64_FORMAT "\n\n", cursor);
	{
		g_autoptr(GBytes) bytes = g_bytes_new(hello, strlen(hello));
		ark_frontend_http_events_append(stream, bytes);
	}
	ark_frontend_http_events_pump_events(stream);
}

/* followed logs ------------------------------------------------------------------------------ */

static void
ark_frontend_http_events_pump_log(ArkFrontendHttpStream *stream)
{
	guint64 cap = stream->events->self->config.max_stream_buffer;
	gboolean appended = FALSE;
	gboolean at_end = FALSE;
	/* read before the check of attempt_done, so that a finish seen now is after these bytes */
	gboolean done = stream->attempt_done;

	if (stream->done || stream->completing)
		return;
	if (stream->fd < 0) {
		stream->fd = open(stream->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (stream->fd < 0) {
			if (done)
				ark_frontend_http_events_complete(stream);
			return;
		}
	}
	while (stream->pending < cap) {
		guint8 *buf = g_malloc(ARK_FRONTEND_HTTP_LOG_READ);
		gssize n = pread(stream->fd, buf, ARK_FRONTEND_HTTP_LOG_READ, (off_t)stream->offset);
		if (n < 0 && errno == EINTR) {
			g_free(buf);
			continue;
		}
		if (n <= 0) {
			g_free(buf);
			at_end = TRUE;
			break;
		}
		{
			g_autoptr(GBytes) bytes = g_bytes_new_take(buf, (gsize)n);
			ark_frontend_http_events_append(stream, bytes);
		}
		stream->offset += (guint64)n;
		appended = TRUE;
	}
	if (at_end && done)
		ark_frontend_http_events_complete(stream);
	else if (appended)
		ark_frontend_http_events_flush(stream);
}

static gboolean
ark_frontend_http_events_log_poll_cb(gpointer user_data)
{
	ArkFrontendHttpStream *stream = user_data;
	ark_frontend_http_events_pump_log(stream);
	if (stream->completing) {
		stream->poll_id = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

void
ark_frontend_http_events_follow_log(ArkFrontendHttp *self, SoupServerMessage *msg,
				    ArkFrontendHttpRequest *req, const gchar *path, gint64 offset,
				    const gchar *run_id, const gchar *task_id, guint attempt)
{
	ArkFrontendHttpEvents *events = self->events;
	ArkFrontendHttpStream *stream;
	GStatBuf st;
	guint64 size = 0;

	if (events->streams->len >= self->config.max_event_streams) {
		ark_frontend_http_problem(msg, ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS, "too-many-streams",
					  "%u streams are open, the most this server keeps "
					  "(max-event-streams)",
					  events->streams->len);
		return;
	}
	if (g_stat(path, &st) == 0)
		size = (guint64)st.st_size;
	stream = ark_frontend_http_events_stream_new(events, ARK_FRONTEND_HTTP_STREAM_LOG, msg,
						     "text/plain; charset=utf-8");
	{
		g_autofree gchar *size_str = g_strdup_printf("%" G_GUINT64_FORMAT, size);
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "X-Log-Size", size_str);
	}
	stream->path = g_strdup(path);
	stream->offset = offset >= 0 ? (guint64)offset
				     : (guint64)MAX((gint64)size + offset, (gint64)0);
	stream->run_id = g_strdup(run_id);
	stream->task_id = g_strdup(task_id);
	stream->attempt = attempt;
	stream->poll_id = g_timeout_add(ARK_FRONTEND_HTTP_LOG_POLL_MS,
					ark_frontend_http_events_log_poll_cb, stream);
	ark_frontend_http_events_pump_log(stream);
}

static void
ark_frontend_http_events_pump(ArkFrontendHttpStream *stream)
{
	if (stream->kind == ARK_FRONTEND_HTTP_STREAM_EVENTS)
		ark_frontend_http_events_pump_events(stream);
	else
		ark_frontend_http_events_pump_log(stream);
}

/* the engine's events ------------------------------------------------------------------------ */

void
ark_frontend_http_events_push(ArkFrontendHttpEvents *events, const ArkEvent *event)
{
	ArkFrontendHttpRingEntry *entry;
	g_autoptr(GBytes) frame = NULL;

	/* the ring holds consecutive seqs only; anything else starts it afresh (the store
	 * still has everything) */
	if (events->ring_len > 0 && event->seq != ark_frontend_http_events_ring_last_seq(events) + 1)
		ark_frontend_http_events_ring_clear(events);
	if (events->ring_len == ARK_FRONTEND_HTTP_RING_SIZE) {
		ark_frontend_http_events_ring_entry_clear(&events->ring[events->ring_start]);
		events->ring_start = (events->ring_start + 1) % ARK_FRONTEND_HTTP_RING_SIZE;
		events->ring_len--;
		events->ring_first_seq++;
	}
	if (events->ring_len == 0)
		events->ring_first_seq = event->seq;
	frame = ark_frontend_http_events_frame(event);
	entry = &events->ring[(events->ring_start + events->ring_len) % ARK_FRONTEND_HTTP_RING_SIZE];
	entry->seq = event->seq;
	entry->run_id = g_strdup(event->run_id);
	entry->frame = g_bytes_ref(frame);
	events->ring_len++;

	for (guint i = 0; i < events->streams->len; i++) {
		ArkFrontendHttpStream *stream = g_ptr_array_index(events->streams, i);

		if (stream->done || stream->completing)
			continue;
		if (stream->kind == ARK_FRONTEND_HTTP_STREAM_LOG) {
			if (event->kind == ARK_EVENT_ATTEMPT_FINISHED &&
			    event->attempt == stream->attempt &&
			    g_strcmp0(event->run_id, stream->run_id) == 0 &&
			    g_strcmp0(event->task_id, stream->task_id) == 0) {
				stream->attempt_done = TRUE;
				ark_frontend_http_events_schedule_pump(stream);
			}
			continue;
		}
		if (stream->cursor + 1 == event->seq &&
		    stream->pending < events->self->config.max_stream_buffer) {
			stream->cursor = event->seq;
			if (ark_frontend_http_events_wanted(stream, event->run_id)) {
				ark_frontend_http_events_append(stream, frame);
				ark_frontend_http_events_flush(stream);
			}
		} else if (stream->cursor < event->seq &&
			   stream->pending < events->self->config.max_stream_buffer) {
			/* behind but with room: catch up from the ring or the store */
			ark_frontend_http_events_schedule_pump(stream);
		}
	}
}

static gboolean
ark_frontend_http_events_keepalive_cb(gpointer user_data)
{
	ArkFrontendHttpEvents *events = user_data;

	for (guint i = 0; i < events->streams->len; i++) {
		ArkFrontendHttpStream *stream = g_ptr_array_index(events->streams, i);
		if (stream->kind != ARK_FRONTEND_HTTP_STREAM_EVENTS || stream->done ||
		    stream->completing)
			continue;
		ark_frontend_http_events_append(stream, events->keepalive);
		ark_frontend_http_events_flush(stream);
	}
	return G_SOURCE_CONTINUE;
}

void
ark_frontend_http_events_sweep(ArkFrontendHttpEvents *events, gint64 now)
{
	gint64 timeout = events->self->config.request_timeout;
	g_autoptr(GPtrArray) stalled = g_ptr_array_new_with_free_func(g_object_unref);

	for (guint i = 0; i < events->streams->len; i++) {
		ArkFrontendHttpStream *stream = g_ptr_array_index(events->streams, i);
		GSocket *socket;

		if (stream->done || stream->pending == 0 || now - stream->last_progress < timeout)
			continue;
		socket = ark_frontend_http_message_get_socket(stream->msg);
		if (socket != NULL)
			g_ptr_array_add(stalled, g_object_ref(socket));
		stream->last_progress = now; /* once */
	}
	for (guint i = 0; i < stalled->len; i++) {
		g_info("closing a stream whose client read nothing for %" G_GINT64_FORMAT " s",
		       timeout / G_USEC_PER_SEC);
		ark_frontend_http_shutdown_socket(g_ptr_array_index(stalled, i));
	}
}

guint
ark_frontend_http_events_get_n_streams(ArkFrontendHttpEvents *events)
{
	return events->streams->len;
}

void
ark_frontend_http_events_close_all(ArkFrontendHttpEvents *events)
{
	/* the server's disconnect aborts the messages; nothing of ours may run after that */
	while (events->streams->len > 0) {
		ArkFrontendHttpStream *stream = g_ptr_array_steal_index_fast(events->streams, 0);
		stream->done = TRUE;
		ark_frontend_http_events_stream_free(stream);
	}
	g_ptr_array_set_size(events->to_pump, 0);
	g_clear_handle_id(&events->pump_id, g_source_remove);
	ark_frontend_http_events_update_gauge(events);
}

ArkFrontendHttpEvents *
ark_frontend_http_events_new(ArkFrontendHttp *self)
{
	static const gchar keepalive[] = ": keepalive\n\n";
	ArkFrontendHttpEvents *events = g_new0(ArkFrontendHttpEvents, 1);

	events->self = self;
	events->ring = g_new0(ArkFrontendHttpRingEntry, ARK_FRONTEND_HTTP_RING_SIZE);
	events->streams = g_ptr_array_new();
	events->to_pump = g_ptr_array_new();
	events->keepalive = g_bytes_new_static(keepalive, sizeof(keepalive) - 1);
	events->keepalive_id = g_timeout_add_seconds(ARK_FRONTEND_HTTP_KEEPALIVE_SECONDS,
						     ark_frontend_http_events_keepalive_cb, events);
	return events;
}

void
ark_frontend_http_events_free(ArkFrontendHttpEvents *events)
{
	if (events == NULL)
		return;
	ark_frontend_http_events_close_all(events);
	g_clear_handle_id(&events->keepalive_id, g_source_remove);
	ark_frontend_http_events_ring_clear(events);
	g_free(events->ring);
	g_ptr_array_unref(events->streams);
	g_ptr_array_unref(events->to_pump);
	g_bytes_unref(events->keepalive);
	g_free(events);
}
