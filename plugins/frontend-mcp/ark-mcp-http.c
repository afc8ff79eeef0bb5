/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libsoup/soup.h>

#include "ark-mcp-http.h"

/*
 * MCP Streamable HTTP (2025-11-25) on the daemon's HTTP server: the HTTP frontend routes /mcp
 * here (an ArkHttpMount) after it checked the bearer token and the body size.
 *
 * POST carries one JSON-RPC message. A notification or response is answered 202. A request is
 * answered with one JSON object when everything the server has to say about it is its answer,
 * and with an SSE stream as soon as something comes first (progress, logging, a request to the
 * client) or the answer is not ready when the handler returns (a tool waiting for a run).
 * GET opens the session's own stream (notifications not tied to a request); DELETE ends the
 * session.
 *
 * Every SSE event has an id "<stream>-<n>"; each stream keeps its last stream-buffer events,
 * and a GET with Last-Event-ID replays that stream after that event and goes on with it. A POST
 * stream whose client went away keeps collecting its events until its answer, so that the client
 * can resume it; a disconnect is not a cancellation.
 *
 * Session ids are 32 random bytes from getrandom(2) in hex. Unknown or expired ids get 404
 * (the client then initializes again), a missing one 400. Sessions idle for
 * session-idle-timeout with no stream open are dropped.
 */

#define ARK_MCP_HTTP_SESSION_ID_BYTES 32
#define ARK_MCP_HTTP_MAX_DETACHED 16
#define ARK_MCP_HTTP_RETRY_MS 3000
/* an SSE stream with nothing to say gets a comment this often, so that proxies keep it and a
 * client that went away is noticed */
#define ARK_MCP_HTTP_KEEPALIVE_USEC (15 * G_USEC_PER_SEC)

typedef struct _ArkMcpHttpSession ArkMcpHttpSession;

typedef struct {
	guint64 n;
	gchar *frame;
} ArkMcpHttpEvent;

typedef struct {
	ArkMcpHttpSession *session;
	guint number; /* 0: the session's GET stream */
	SoupServerMessage *msg;
	gboolean sse;
	gboolean in_receive;
	gchar *json;	     /* an answer that came during the receive, for a JSON response */
	gboolean answered;   /* the final message was queued */
	gboolean completing; /* the SSE body is complete; libsoup finishes writing it */
	GQueue events;	     /* ArkMcpHttpEvent, the last few for Last-Event-ID */
	guint64 next_event;
	guint64 delivered; /* the GET stream: events written to a connection, up to this n */
	gulong finished_id;
	GSource *hangup;
	gint64 last_write; /* monotonic */
} ArkMcpHttpStream;

struct _ArkMcpHttpSession {
	ArkMcpHttp *http;
	gchar *id;
	ArkMcpSession *core;
	GHashTable *streams; /* number -> ArkMcpHttpStream */
	guint next_stream;
	ArkMcpHttpStream *get;
	GQueue detached; /* POST streams whose client left, oldest first */
	gint64 last_active; /* monotonic µs */
	gchar *actor;
};

struct _ArkMcpHttp {
	ArkMcpServer *server;
	GHashTable *sessions; /* id -> ArkMcpHttpSession */
};

static const ArkMcpTransportFuncs ark_mcp_http_funcs;

/* streams ---------------------------------------------------------------------------------- */

static void
ark_mcp_http_event_free(gpointer data)
{
	ArkMcpHttpEvent *event = data;

	g_free(event->frame);
	g_free(event);
}

static void ark_mcp_http_stream_detach(ArkMcpHttpStream *stream);

static void
ark_mcp_http_stream_free(gpointer data)
{
	ArkMcpHttpStream *stream = data;

	ark_mcp_http_stream_detach(stream);
	g_queue_clear_full(&stream->events, ark_mcp_http_event_free);
	g_free(stream->json);
	g_free(stream);
}

static ArkMcpHttpStream *
ark_mcp_http_stream_new(ArkMcpHttpSession *session, guint number)
{
	ArkMcpHttpStream *stream = g_new0(ArkMcpHttpStream, 1);

	stream->session = session;
	stream->number = number;
	stream->next_event = 1;
	g_queue_init(&stream->events);
	g_hash_table_insert(session->streams, GUINT_TO_POINTER(number), stream);
	return stream;
}

/* the stream has no connection any more (the message finished, or we let go of it) */
static void
ark_mcp_http_stream_detach(ArkMcpHttpStream *stream)
{
	if (stream->msg == NULL)
		return;
	if (stream->finished_id != 0)
		g_signal_handler_disconnect(stream->msg, stream->finished_id);
	stream->finished_id = 0;
	if (stream->hangup != NULL) {
		g_source_destroy(stream->hangup);
		g_clear_pointer(&stream->hangup, g_source_unref);
	}
	g_clear_object(&stream->msg);
	stream->completing = FALSE;
	stream->session->last_active = g_get_monotonic_time();
}

static void
ark_mcp_http_stream_drop(ArkMcpHttpStream *stream)
{
	ArkMcpHttpSession *session = stream->session;

	g_queue_remove(&session->detached, stream);
	if (session->core != NULL)
		ark_mcp_session_forget_stream(session->core, stream);
	g_hash_table_remove(session->streams, GUINT_TO_POINTER(stream->number));
}

static void
ark_mcp_http_stream_finished_cb(SoupServerMessage *msg, gpointer user_data)
{
	ArkMcpHttpStream *stream = user_data;
	ArkMcpHttpSession *session = stream->session;

	ark_mcp_http_stream_detach(stream);
	if (stream->number == 0)
		return;
	if (stream->answered) {
		ark_mcp_http_stream_drop(stream);
		return;
	}
	/* the client left before the answer: the call goes on, its events wait for a resume */
	g_queue_push_tail(&session->detached, stream);
	while (g_queue_get_length(&session->detached) > ARK_MCP_HTTP_MAX_DETACHED) {
		ArkMcpHttpStream *oldest = g_queue_peek_head(&session->detached);
		ark_mcp_http_stream_drop(oldest);
	}
}

static void
ark_mcp_http_write(ArkMcpHttpStream *stream, const gchar *data, gsize len)
{
	stream->last_write = g_get_monotonic_time();
	soup_message_body_append(soup_server_message_get_response_body(stream->msg),
				 SOUP_MEMORY_COPY, data, len);
	soup_server_message_unpause(stream->msg);
}

/* a client of a stream sends nothing after its request: the socket becoming readable with
 * nothing to read means it closed; a last write makes libsoup see it and end the message */
static gboolean
ark_mcp_http_hangup_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	ArkMcpHttpStream *stream = user_data;
	static const gchar bye[] = ": bye\n\n";

	if ((condition & (G_IO_HUP | G_IO_ERR)) == 0) {
		gchar c;
		ssize_t n = recv(g_socket_get_fd(socket), &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return G_SOURCE_CONTINUE;
		if (n > 0) {
			g_clear_pointer(&stream->hangup, g_source_unref);
			return G_SOURCE_REMOVE;
		}
	}
	g_clear_pointer(&stream->hangup, g_source_unref);
	(void)g_socket_shutdown(socket, TRUE, TRUE, NULL);
	if (stream->msg != NULL && !stream->completing)
		ark_mcp_http_write(stream, bye, sizeof(bye) - 1);
	return G_SOURCE_REMOVE;
}

/* turns @msg into an SSE response of @stream */
static void
ark_mcp_http_stream_attach(ArkMcpHttpStream *stream, SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	g_autofree gchar *priming = NULL;
	GSocket *socket = soup_server_message_get_socket(msg);
	SoupServerMessage *held = g_object_ref(msg);

	if (socket == NULL)
		socket = g_object_get_data(G_OBJECT(msg), ARK_HTTP_MESSAGE_SOCKET);

	ark_mcp_http_stream_detach(stream);
	stream->msg = held;
	stream->sse = TRUE;
	stream->completing = FALSE;
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_message_headers_set_encoding(headers, SOUP_ENCODING_CHUNKED);
	soup_message_headers_replace(headers, "Content-Type", "text/event-stream");
	soup_message_headers_replace(headers, "Cache-Control", "no-cache, no-transform");
	soup_message_headers_replace(headers, "X-Accel-Buffering", "no");
	soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);
	stream->finished_id = g_signal_connect(msg, "finished",
					       G_CALLBACK(ark_mcp_http_stream_finished_cb), stream);
	if (socket != NULL) {
		stream->hangup = g_socket_create_source(socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(stream->hangup, G_SOURCE_FUNC(ark_mcp_http_hangup_cb), stream,
				      NULL);
		g_source_attach(stream->hangup, NULL);
	}
	/* SEP-1699: an event id the client can resume from, before anything else */
	priming = g_strdup_printf("id: %u-0\nretry: %d\ndata: \n\n", stream->number,
				  ARK_MCP_HTTP_RETRY_MS);
	ark_mcp_http_write(stream, priming, strlen(priming));
}

static void
ark_mcp_http_stream_complete(ArkMcpHttpStream *stream)
{
	if (stream->msg == NULL || stream->completing)
		return;
	stream->completing = TRUE;
	soup_message_body_complete(soup_server_message_get_response_body(stream->msg));
	soup_server_message_unpause(stream->msg);
}

/* queues one message on @stream: written at once when a connection holds it */
static void
ark_mcp_http_stream_push(ArkMcpHttpStream *stream, const gchar *json, gsize len)
{
	ArkMcpHttpEvent *event = g_new0(ArkMcpHttpEvent, 1);
	guint max = ark_mcp_server_get_config(stream->session->http->server)->stream_buffer;

	event->n = stream->next_event++;
	event->frame = g_strdup_printf("event: message\nid: %u-%" G_GUINT64_FORMAT "\ndata: %.*s\n\n",
				       stream->number, event->n, (gint)len, json);
	if (stream->msg != NULL && !stream->completing) {
		ark_mcp_http_write(stream, event->frame, strlen(event->frame));
		stream->delivered = event->n;
	}
	g_queue_push_tail(&stream->events, event);
	while (g_queue_get_length(&stream->events) > MAX(max, 1))
		ark_mcp_http_event_free(g_queue_pop_head(&stream->events));
}

/* what the protocol core sends */
static void
ark_mcp_http_send(ArkMcpSession *core, gpointer stream_ptr, const gchar *json, gsize len,
		  gboolean final, gpointer user_data)
{
	ArkMcpHttpSession *session = user_data;
	ArkMcpHttpStream *stream = stream_ptr != NULL ? stream_ptr : session->get;

	if (final) {
		stream->answered = TRUE;
		if (json == NULL) {
			/* cancelled: no answer */
			if (stream->msg != NULL && stream->sse)
				ark_mcp_http_stream_complete(stream);
			else if (stream->msg == NULL && !stream->in_receive)
				ark_mcp_http_stream_drop(stream);
			return;
		}
		if (stream->in_receive && !stream->sse) {
			stream->json = g_strndup(json, len);
			return;
		}
	} else if (stream->in_receive && !stream->sse) {
		ark_mcp_http_stream_attach(stream, stream->msg);
	}
	ark_mcp_http_stream_push(stream, json, len);
	if (final)
		ark_mcp_http_stream_complete(stream);
}

static const ArkMcpTransportFuncs ark_mcp_http_funcs = {ark_mcp_http_send};

/* sessions ----------------------------------------------------------------------------------- */

static void
ark_mcp_http_session_free(gpointer data)
{
	ArkMcpHttpSession *session = data;

	if (session->core != NULL) {
		ark_mcp_session_close(session->core);
		g_clear_pointer(&session->core, ark_mcp_session_unref);
	}
	/* end the connections still open */
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, session->streams);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			ArkMcpHttpStream *stream = value;
			if (stream->msg != NULL && stream->sse) {
				SoupServerMessage *msg = g_object_ref(stream->msg);
				ark_mcp_http_stream_complete(stream);
				ark_mcp_http_stream_detach(stream);
				g_object_unref(msg);
			}
		}
	}
	g_queue_clear(&session->detached);
	g_hash_table_unref(session->streams);
	g_free(session->id);
	g_free(session->actor);
	g_free(session);
}

static ArkMcpHttpSession *
ark_mcp_http_session_new(ArkMcpHttp *http, const ArkHttpRequestInfo *info)
{
	ArkMcpHttpSession *session = g_new0(ArkMcpHttpSession, 1);

	session->http = http;
	session->id = ark_mcp_random_hex(ARK_MCP_HTTP_SESSION_ID_BYTES);
	session->streams = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
						 ark_mcp_http_stream_free);
	g_queue_init(&session->detached);
	session->next_stream = 1;
	session->get = ark_mcp_http_stream_new(session, 0);
	session->actor = g_strdup(info->actor);
	session->last_active = g_get_monotonic_time();
	/* without a token (require-token=false) the operator let every local client in */
	session->core = ark_mcp_session_new(http->server, &ark_mcp_http_funcs, session, info->actor,
					    info->origin,
					    info->agent_id == NULL &&
						(info->actor == NULL || info->admin));
	/* an agent's bearer token (ABI 1.3): the session is that agent's */
	if (info->agent_id != NULL)
		ark_mcp_session_set_agent(session->core, info->agent_id);
	return session;
}

ArkMcpHttp *
ark_mcp_http_new(ArkMcpServer *server)
{
	ArkMcpHttp *http = g_new0(ArkMcpHttp, 1);

	http->server = server;
	http->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					       ark_mcp_http_session_free);
	return http;
}

void
ark_mcp_http_free(ArkMcpHttp *http)
{
	if (http == NULL)
		return;
	g_hash_table_unref(http->sessions);
	g_free(http);
}

guint
ark_mcp_http_get_n_sessions(ArkMcpHttp *http)
{
	return g_hash_table_size(http->sessions);
}

static gboolean
ark_mcp_http_session_busy(ArkMcpHttpSession *session)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, session->streams);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (((ArkMcpHttpStream *)value)->msg != NULL)
			return TRUE;
	}
	return FALSE;
}

void
ark_mcp_http_sweep(ArkMcpHttp *http, gint64 now)
{
	gint64 idle = ark_mcp_server_get_config(http->server)->session_idle_timeout;
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, http->sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkMcpHttpSession *session = value;
		GHashTableIter streams;
		gpointer stream_value;

		if (!ark_mcp_http_session_busy(session) && now - session->last_active >= idle) {
			g_hash_table_iter_remove(&iter);
			continue;
		}
		g_hash_table_iter_init(&streams, session->streams);
		while (g_hash_table_iter_next(&streams, NULL, &stream_value)) {
			static const gchar comment[] = ": keepalive\n\n";
			ArkMcpHttpStream *stream = stream_value;
			if (stream->msg != NULL && stream->sse && !stream->completing &&
			    now - stream->last_write >= ARK_MCP_HTTP_KEEPALIVE_USEC)
				ark_mcp_http_write(stream, comment, sizeof(comment) - 1);
		}
	}
}

/* requests ----------------------------------------------------------------------------------- */

static void
ark_mcp_http_error(SoupServerMessage *msg, guint status, gint code, const gchar *format, ...)
    G_GNUC_PRINTF(4, 5);

/* an HTTP error with a JSON-RPC error body without an id */
static void
ark_mcp_http_error(SoupServerMessage *msg, guint status, gint code, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	g_autoptr(GString) body = g_string_new("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":");
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_string_append_printf(body, "%d,\"message\":", code);
	ark_json_append_string(body, message);
	g_string_append(body, "}}");
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body->str,
					 body->len);
}

static gboolean
ark_mcp_http_loopback_host(const gchar *host)
{
	return g_ascii_strcasecmp(host, "localhost") == 0 || g_strcmp0(host, "127.0.0.1") == 0 ||
	       g_strcmp0(host, "[::1]") == 0 || g_strcmp0(host, "::1") == 0;
}

/* "host[:port]" or "[v6][:port]" -> host */
static gchar *
ark_mcp_http_host_part(const gchar *authority)
{
	const gchar *colon;

	if (authority[0] == '[') {
		const gchar *close = strchr(authority, ']');
		return close != NULL ? g_strndup(authority, (gsize)(close - authority + 1)) : NULL;
	}
	colon = strrchr(authority, ':');
	return colon != NULL ? g_strndup(authority, (gsize)(colon - authority))
			     : g_strdup(authority);
}

static gboolean
ark_mcp_http_local_is_loopback(SoupServerMessage *msg)
{
	GSocketAddress *local = soup_server_message_get_local_address(msg);

	return local != NULL && G_IS_INET_SOCKET_ADDRESS(local) &&
	       g_inet_address_get_is_loopback(
		   g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(local)));
}

/*
 * DNS rebinding: a page a browser loaded from elsewhere must not reach a local server. On a
 * loopback listener Host must name loopback; an Origin, when sent, must be a loopback origin or
 * one of allowed-origins. Clients that are not browsers send no Origin.
 */
static gboolean
ark_mcp_http_check_origin(ArkMcpHttp *http, SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const ArkMcpConfig *config = ark_mcp_server_get_config(http->server);
	const gchar *host = soup_message_headers_get_one(headers, "Host");
	const gchar *origin = soup_message_headers_get_one(headers, "Origin");

	if (ark_mcp_http_local_is_loopback(msg)) {
		g_autofree gchar *name = host != NULL ? ark_mcp_http_host_part(host) : NULL;
		if (name == NULL || !ark_mcp_http_loopback_host(name)) {
			ark_mcp_http_error(msg, SOUP_STATUS_FORBIDDEN, -32000,
					   "Forbidden: invalid Host %s (this server answers "
					   "loopback names only)",
					   host != NULL ? host : "(none)");
			return FALSE;
		}
	}
	if (origin != NULL) {
		g_autoptr(GUri) uri = g_uri_parse(origin, G_URI_FLAGS_NONE, NULL);
		const gchar *origin_host = uri != NULL ? g_uri_get_host(uri) : NULL;
		gboolean ok = origin_host != NULL && ark_mcp_http_loopback_host(origin_host) &&
			      (g_strcmp0(g_uri_get_scheme(uri), "http") == 0 ||
			       g_strcmp0(g_uri_get_scheme(uri), "https") == 0);
		if (!ok && config->allowed_origins != NULL)
			ok = g_strv_contains((const gchar *const *)config->allowed_origins, origin);
		if (!ok) {
			ark_mcp_http_error(msg, SOUP_STATUS_FORBIDDEN, -32000,
					   "Forbidden: Origin %s is not allowed (allowed-origins)",
					   origin);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
ark_mcp_http_accepts(const gchar *accept, const gchar *type)
{
	return accept == NULL || strstr(accept, type) != NULL || strstr(accept, "*/*") != NULL;
}

static ArkMcpHttpSession *
ark_mcp_http_lookup(ArkMcpHttp *http, SoupServerMessage *msg, const ArkHttpRequestInfo *info)
{
	const gchar *id = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
						       "Mcp-Session-Id");
	ArkMcpHttpSession *session;

	if (id == NULL) {
		ark_mcp_http_error(msg, SOUP_STATUS_BAD_REQUEST, -32000,
				   "Bad Request: Mcp-Session-Id header is required (initialize "
				   "first)");
		return NULL;
	}
	session = g_hash_table_lookup(http->sessions, id);
	/* a session belongs to the token that opened it (an agent's: to that agent) */
	if (session == NULL || g_strcmp0(session->actor, info->actor) != 0 ||
	    g_strcmp0(ark_mcp_session_get_agent(session->core), info->agent_id) != 0) {
		ark_mcp_http_error(msg, SOUP_STATUS_NOT_FOUND, -32001,
				   "Session not found: initialize a new session");
		return NULL;
	}
	session->last_active = g_get_monotonic_time();
	return session;
}

static gboolean
ark_mcp_http_check_version(SoupServerMessage *msg)
{
	const gchar *version = soup_message_headers_get_one(
	    soup_server_message_get_request_headers(msg), "MCP-Protocol-Version");

	/* any version this server speaks: the header may lag the negotiated one */
	if (version != NULL && !ark_mcp_version_supported(version)) {
		ark_mcp_http_error(msg, SOUP_STATUS_BAD_REQUEST, -32000,
				   "Bad Request: unsupported MCP-Protocol-Version %s (supported: "
				   "2025-11-25, 2025-06-18, 2025-03-26)",
				   version);
		return FALSE;
	}
	return TRUE;
}

static void
ark_mcp_http_post(ArkMcpHttp *http, SoupServerMessage *msg, const ArkHttpRequestInfo *info)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const gchar *accept = soup_message_headers_get_one(headers, "Accept");
	const gchar *content_type = soup_message_headers_get_content_type(headers, NULL);
	g_autoptr(GBytes) body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
	g_autofree gchar *method = NULL;
	g_autofree gchar *error = NULL;
	ArkMcpHttpSession *session;
	ArkMcpHttpStream *stream;
	gboolean created = FALSE;
	ArkMcpReceived received;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);

	if (content_type != NULL && g_ascii_strcasecmp(content_type, "application/json") != 0) {
		ark_mcp_http_error(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, -32000,
				   "Unsupported Media Type: the body must be application/json");
		return;
	}
	if (!ark_mcp_http_accepts(accept, "application/json") &&
	    !ark_mcp_http_accepts(accept, "text/event-stream")) {
		ark_mcp_http_error(msg, SOUP_STATUS_NOT_ACCEPTABLE, -32000,
				   "Not Acceptable: the client must accept application/json or "
				   "text/event-stream");
		return;
	}
	if (soup_message_headers_get_one(headers, "Mcp-Session-Id") == NULL) {
		method = data != NULL ? ark_mcp_peek_method(data, len) : NULL;
		if (g_strcmp0(method, "initialize") != 0) {
			ark_mcp_http_error(msg, SOUP_STATUS_BAD_REQUEST, -32000,
					   "Bad Request: Mcp-Session-Id header is required "
					   "(initialize first)");
			return;
		}
		if (g_hash_table_size(http->sessions) >=
		    ark_mcp_server_get_config(http->server)->max_sessions) {
			soup_message_headers_replace(soup_server_message_get_response_headers(msg),
						     "Retry-After", "10");
			ark_mcp_http_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, -32000,
					   "Service Unavailable: %u sessions are open "
					   "(max-sessions); close some with DELETE",
					   g_hash_table_size(http->sessions));
			return;
		}
		session = ark_mcp_http_session_new(http, info);
		created = TRUE;
	} else {
		session = ark_mcp_http_lookup(http, msg, info);
		if (session == NULL || !ark_mcp_http_check_version(msg))
			return;
	}

	stream = ark_mcp_http_stream_new(session, session->next_stream++);
	stream->msg = g_object_ref(msg);
	stream->in_receive = TRUE;
	received = ark_mcp_session_receive(session->core, data != NULL ? data : "", len, stream,
					   &error);
	stream->in_receive = FALSE;
	if (created) {
		if (!ark_mcp_session_is_initialized(session->core)) {
			/* initialize failed: nothing to keep */
			if (stream->json != NULL)
				soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
			if (stream->json != NULL)
				soup_server_message_set_response(msg, "application/json",
								 SOUP_MEMORY_COPY, stream->json,
								 strlen(stream->json));
			else
				ark_mcp_http_error(msg, SOUP_STATUS_BAD_REQUEST, -32600,
						   "%s", error != NULL ? error : "invalid initialize");
			g_clear_object(&stream->msg);
			ark_mcp_http_session_free(session);
			return;
		}
		g_hash_table_insert(http->sessions, session->id, session);
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Mcp-Session-Id", session->id);
	}

	switch (received) {
	case ARK_MCP_RECEIVED_INVALID:
		g_clear_object(&stream->msg);
		ark_mcp_http_stream_drop(stream);
		soup_server_message_set_status(msg, SOUP_STATUS_BAD_REQUEST, NULL);
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, error,
						 strlen(error));
		return;
	case ARK_MCP_RECEIVED_ACCEPTED:
		g_clear_object(&stream->msg);
		ark_mcp_http_stream_drop(stream);
		soup_server_message_set_status(msg, SOUP_STATUS_ACCEPTED, NULL);
		return;
	case ARK_MCP_RECEIVED_REQUEST:
		break;
	}
	if (stream->json != NULL) {
		/* answered at once, with nothing before it: plain JSON */
		soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY,
						 stream->json, strlen(stream->json));
		g_clear_object(&stream->msg);
		ark_mcp_http_stream_drop(stream);
		return;
	}
	if (stream->answered && !stream->sse) {
		/* cancelled before an answer */
		g_clear_object(&stream->msg);
		ark_mcp_http_stream_drop(stream);
		soup_server_message_set_status(msg, SOUP_STATUS_ACCEPTED, NULL);
		return;
	}
	if (!stream->sse) {
		/* the answer comes later: an SSE stream carries what comes before it too */
		SoupServerMessage *held = g_steal_pointer(&stream->msg);
		ark_mcp_http_stream_attach(stream, held);
		g_object_unref(held);
	}
}

static void
ark_mcp_http_get(ArkMcpHttp *http, SoupServerMessage *msg, const ArkHttpRequestInfo *info)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const gchar *accept = soup_message_headers_get_one(headers, "Accept");
	const gchar *last = soup_message_headers_get_one(headers, "Last-Event-ID");
	ArkMcpHttpSession *session;
	ArkMcpHttpStream *stream;
	guint64 after = 0;
	guint64 number = 0;

	if (accept != NULL && !ark_mcp_http_accepts(accept, "text/event-stream")) {
		ark_mcp_http_error(msg, SOUP_STATUS_NOT_ACCEPTABLE, -32000,
				   "Not Acceptable: GET opens a text/event-stream");
		return;
	}
	session = ark_mcp_http_lookup(http, msg, info);
	if (session == NULL || !ark_mcp_http_check_version(msg))
		return;
	stream = session->get;
	if (last != NULL) {
		g_auto(GStrv) parts = g_strsplit(last, "-", 2);
		if (g_strv_length(parts) != 2 ||
		    !g_ascii_string_to_unsigned(parts[0], 10, 0, G_MAXUINT, &number, NULL) ||
		    !g_ascii_string_to_unsigned(parts[1], 10, 0, G_MAXUINT64, &after, NULL) ||
		    (stream = g_hash_table_lookup(session->streams,
						  GUINT_TO_POINTER((guint)number))) == NULL) {
			ark_mcp_http_error(msg, SOUP_STATUS_NOT_FOUND, -32000,
					   "Last-Event-ID %s names no stream of this session", last);
			return;
		}
	} else {
		after = stream->delivered;
	}
	/* a new GET replaces the one before: a client reconnecting must not be refused */
	if (stream->msg != NULL) {
		SoupServerMessage *old = g_object_ref(stream->msg);
		ark_mcp_http_stream_complete(stream);
		ark_mcp_http_stream_detach(stream);
		g_object_unref(old);
	}
	g_queue_remove(&session->detached, stream);
	ark_mcp_http_stream_attach(stream, msg);
	for (GList *l = stream->events.head; l != NULL; l = l->next) {
		ArkMcpHttpEvent *event = l->data;
		if (event->n <= after)
			continue;
		ark_mcp_http_write(stream, event->frame, strlen(event->frame));
		stream->delivered = MAX(stream->delivered, event->n);
	}
	/* a resumed POST stream that has its answer ends after the replay */
	if (stream->number != 0 && stream->answered)
		ark_mcp_http_stream_complete(stream);
}

static void
ark_mcp_http_delete(ArkMcpHttp *http, SoupServerMessage *msg, const ArkHttpRequestInfo *info)
{
	ArkMcpHttpSession *session = ark_mcp_http_lookup(http, msg, info);

	if (session == NULL)
		return;
	g_hash_table_remove(http->sessions, session->id);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
}

void
ark_mcp_http_handle(ArkMcpHttp *http, SoupServerMessage *msg, const gchar *path,
		    const ArkHttpRequestInfo *info)
{
	const gchar *method = soup_server_message_get_method(msg);
	SoupMessageHeaders *response = soup_server_message_get_response_headers(msg);

	soup_message_headers_replace(response, "Access-Control-Expose-Headers",
				     "Mcp-Session-Id, WWW-Authenticate");
	if (!ark_mcp_http_check_origin(http, msg))
		return;
	if (g_strcmp0(path, ark_mcp_server_get_config(http->server)->path) != 0) {
		ark_mcp_http_error(msg, SOUP_STATUS_NOT_FOUND, -32000, "Not Found: the endpoint is %s",
				   ark_mcp_server_get_config(http->server)->path);
		return;
	}
	if (g_strcmp0(method, "POST") == 0)
		ark_mcp_http_post(http, msg, info);
	else if (g_strcmp0(method, "GET") == 0)
		ark_mcp_http_get(http, msg, info);
	else if (g_strcmp0(method, "DELETE") == 0)
		ark_mcp_http_delete(http, msg, info);
	else {
		soup_message_headers_replace(response, "Allow", "GET, POST, DELETE");
		ark_mcp_http_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, -32000,
				   "Method Not Allowed: %s (use POST, GET or DELETE)", method);
	}
}
