/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/filter.h>

#include <glib/gstdio.h>

#include "ark-frontend-http-private.h"
#include "ark-frontend-http-resources.h"

/*
 * The HTTP frontend: a SoupServer on the main context serving the API of
 * docs/http-api.md, and server threads beside it that answer the run reads (see
 * ArkFrontendHttpServer). This file owns the servers and the life of a request; routing is in
 * ark-frontend-http-routes.c, the route handlers in ark-frontend-http-handlers.c, streams in
 * ark-frontend-http-events.c.
 *
 * A request goes through:
 *   "request-started"  its record (request id) is attached; its connection starts the
 *                      request-timeout clock
 *   early handler      after the headers: route, token, scope and body size are checked, so that
 *                      nothing unauthorised or too large is read into memory (an agent's token
 *                      opens that agent's routes and the mounts, nothing else)
 *   "got-chunk"        counts body bytes (a chunked body has no Content-Length to check)
 *   "request-read"     the whole request is in: its clock stops
 *   handler            the route's handler, then the audit record of a mutating call
 *   "request-finished" metrics; the connection's keep-alive clock starts
 *
 * libsoup 3.2 reads asynchronously but has no deadlines of its own, so a client sending its
 * request one byte at a time would hold a connection forever. A one-second sweep over the
 * connections answers 408 to a request not fully read within request-timeout and closes the
 * connection, and closes kept-alive connections idle for keepalive-timeout. A request that has
 * been read is no longer timed by it: an agent's claim may wait for work far longer
 * (ark-frontend-http-agents.c). It caps the header block at 64 KiB itself (a bigger one gets
 * 400 and a closed connection).
 */

#define ARK_FRONTEND_HTTP_SWEEP_SECONDS 1
#define ARK_FRONTEND_HTTP_URL_FILE "http.url"
#define ARK_FRONTEND_HTTP_OPENAPI_PATH "/org/arkitect/frontend-http/openapi.json"

static const ArkConfigKey ark_frontend_http_config_keys[] = {
    {"listen", ARK_CONFIG_STRING, "127.0.0.1:8470",
     "address and port to listen on: a.b.c.d:PORT or [v6 address]:PORT; port 0 picks a free "
     "one"},
    {"max-body-size", ARK_CONFIG_SIZE, "16M",
     "largest request body accepted; larger ones get 413 (workflow documents are limited to "
     "16M by the parser too)",
     NULL, 1024, (guint64)64 * 1024 * 1024},
    {"max-json-depth", ARK_CONFIG_UINT, "64",
     "deepest nesting of arrays and objects accepted in a JSON body; deeper ones get 400", NULL,
     1, 64},
    {"max-tasks-per-run", ARK_CONFIG_UINT, "100000",
     "most tasks a submitted workflow may have; more get 413", NULL, 1, ARK_WORKFLOW_MAX_TASKS},
    {"max-event-streams", ARK_CONFIG_UINT, "256",
     "most event streams and followed logs open at once; more get 429", NULL, 1, 65536},
    {"request-timeout", ARK_CONFIG_DURATION, "30s",
     "time a client has to send a request's headers and body (then 408 and the connection is "
     "closed); also how long a streaming client may read nothing"},
    {"keepalive-timeout", ARK_CONFIG_DURATION, "60s",
     "a kept-alive connection idle this long is closed"},
    {"max-stream-buffer", ARK_CONFIG_SIZE, "1M",
     "bytes queued for one streaming client at most; a slower client catches up from the "
     "store",
     NULL, 4096, 0},
    {"open-health", ARK_CONFIG_BOOLEAN, "false", "/healthz and /readyz answer without a token"},
    {"open-metrics", ARK_CONFIG_BOOLEAN, "false", "/metrics answers without a token"},
    {"threads", ARK_CONFIG_STRING, "auto",
     "threads that accept connections and answer reads of runs and tasks beside the main "
     "thread, which answers everything else: 0 to 64, or auto for one per CPU but one; 0 "
     "leaves everything to the main thread (so does a store that can not be read from "
     "another thread)"},
    {"token.*", ARK_CONFIG_STRING, NULL,
     "a further API token as SCOPE:SHA256HEX: SCOPE read or admin, then the lowercase hex "
     "SHA-256 of the token"},
};

typedef enum {
	ARK_FRONTEND_HTTP_CONNECTION_READING, /* a request is being received */
	ARK_FRONTEND_HTTP_CONNECTION_BUSY,    /* a request is being answered */
	ARK_FRONTEND_HTTP_CONNECTION_IDLE,    /* kept alive between requests */
} ArkFrontendHttpConnectionState;

/*
 * A SoupServer and the connections it serves: the main thread's, or a server thread's. A server
 * thread has its own GMainContext, listens on the same address (SO_REUSEPORT; new connections
 * go to the server threads, see ark_frontend_http_steer_to_workers()) and answers the reads
 * that need only the store
 * (ark_frontend_http_worker_route()) from a reader of its own. Any other request, it hands over
 * with its connection to the main thread's server: the connection is stolen from libsoup once
 * the request's headers are read, and given to the main server with those headers replayed
 * ahead of whatever else it holds (ark-frontend-http-replay.c). From then on that connection
 * is the main thread's, as if it had come there: every handler that needs the engine, streams,
 * waits or mounts runs on the main thread as before, and no libsoup object is ever used by two
 * threads.
 */
struct _ArkFrontendHttpServer {
	ArkFrontendHttp *self;
	SoupServer *server;
	GHashTable *connections; /* GSocket* (borrowed) -> ArkFrontendHttpConnection* */
	GSource *sweep;
	GMainContext *context; /* NULL for the main thread's */
	GMainLoop *loop;
	GThread *thread;
	ArkStore *reader; /* a server thread's, used by that thread only */
	gboolean stopping;
};

typedef struct {
	ArkFrontendHttpServer *server;
	GSocket *socket; /* borrowed: this record lives on it as qdata */
	ArkFrontendHttpConnectionState state;
	gint64 since; /* monotonic */
	gchar request_id[129];
} ArkFrontendHttpConnection;

static void ark_frontend_http_iface_init(ArkFrontendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkFrontendHttp, ark_frontend_http, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_FRONTEND, ark_frontend_http_iface_init))

static GQuark
ark_frontend_http_request_quark(void)
{
	static GQuark quark = 0;
	if (G_UNLIKELY(quark == 0))
		quark = g_quark_from_static_string("ark-frontend-http-request");
	return quark;
}

static GQuark
ark_frontend_http_connection_quark(void)
{
	static GQuark quark = 0;
	if (G_UNLIKELY(quark == 0))
		quark = g_quark_from_static_string("ark-frontend-http-connection");
	return quark;
}

/* on the remote address of a connection handed to the main thread: its GSocket */
static GQuark
ark_frontend_http_socket_quark(void)
{
	static GQuark quark = 0;
	if (G_UNLIKELY(quark == 0))
		quark = g_quark_from_static_string("ark-frontend-http-socket");
	return quark;
}

/* a server thread's store reader */
static GPrivate ark_frontend_http_reader_key;

ArkStore *
ark_frontend_http_store(ArkFrontendHttp *self)
{
	ArkStore *reader = g_private_get(&ark_frontend_http_reader_key);
	return reader != NULL ? reader : ark_engine_get_store(self->engine);
}

gboolean
ark_frontend_http_in_worker(void)
{
	return g_private_get(&ark_frontend_http_reader_key) != NULL;
}

GSocket *
ark_frontend_http_message_get_socket(SoupServerMessage *msg)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	GSocketAddress *remote;

	if (socket != NULL)
		return socket;
	socket = g_object_get_data(G_OBJECT(msg), ARK_HTTP_MESSAGE_SOCKET);
	if (socket != NULL)
		return socket;
	remote = soup_server_message_get_remote_address(msg);
	socket = remote != NULL
		     ? g_object_get_qdata(G_OBJECT(remote), ark_frontend_http_socket_quark())
		     : NULL;
	/* for mounts too */
	if (socket != NULL)
		g_object_set_data_full(G_OBJECT(msg), ARK_HTTP_MESSAGE_SOCKET, g_object_ref(socket),
				       g_object_unref);
	return socket;
}

/* requests ----------------------------------------------------------------------------------- */

static void
ark_frontend_http_request_free(gpointer data)
{
	ArkFrontendHttpRequest *req = data;

	for (guint i = 0; i < ARK_FRONTEND_HTTP_MAX_PARAMS; i++)
		g_free(req->params[i]);
	g_free(req->actor);
	g_free(req->agent_id);
	g_free(req->audit_target);
	g_free(req->audit_detail);
	g_free(req->mount_path);
	g_free(req->origin);
	g_free(req);
}

ArkFrontendHttpRequest *
ark_frontend_http_request_get(SoupServerMessage *msg)
{
	return g_object_get_qdata(G_OBJECT(msg), ark_frontend_http_request_quark());
}

gchar *
ark_frontend_http_request_origin(SoupServerMessage *msg)
{
	GSocketAddress *address = soup_server_message_get_remote_address(msg);
	g_autofree gchar *ip = NULL;

	if (address == NULL || !G_IS_INET_SOCKET_ADDRESS(address))
		return g_strdup("http");
	ip = g_inet_address_to_string(
	    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address)));
	if (g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address)) != NULL &&
	    g_inet_address_get_family(g_inet_socket_address_get_address(
		G_INET_SOCKET_ADDRESS(address))) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("http [%s]:%u", ip,
				       g_inet_socket_address_get_port(
					   G_INET_SOCKET_ADDRESS(address)));
	return g_strdup_printf("http %s:%u", ip,
			       g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(address)));
}

/* a client's own X-Request-Id is echoed when it is a plain token */
static gboolean
ark_frontend_http_valid_request_id(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > 128)
		return FALSE;
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

/* connections -------------------------------------------------------------------------------- */

void
ark_frontend_http_shutdown_socket(GSocket *socket)
{
	/* libsoup polls this socket: after the shutdown its read ends, and it closes the
	 * connection and aborts the message as for any client that went away */
	(void)g_socket_shutdown(socket, TRUE, TRUE, NULL);
}

/* readable and no byte to peek means the client closed its end; a byte is the next request */
ArkFrontendHttpSocketState
ark_frontend_http_socket_state(GSocket *socket, GIOCondition condition)
{
	gchar c;
	ssize_t n;

	if ((condition & (G_IO_HUP | G_IO_ERR)) != 0)
		return ARK_FRONTEND_HTTP_SOCKET_GONE;
	n = recv(g_socket_get_fd(socket), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return ARK_FRONTEND_HTTP_SOCKET_QUIET;
	return n > 0 ? ARK_FRONTEND_HTTP_SOCKET_PIPELINED : ARK_FRONTEND_HTTP_SOCKET_GONE;
}

static void
ark_frontend_http_connection_free(gpointer data)
{
	ArkFrontendHttpConnection *conn = data;

	if (conn->server != NULL)
		g_hash_table_remove(conn->server->connections, conn->socket);
	g_free(conn);
}

static ArkFrontendHttpConnection *
ark_frontend_http_connection_get(ArkFrontendHttpServer *server, SoupServerMessage *msg)
{
	GSocket *socket = ark_frontend_http_message_get_socket(msg);
	ArkFrontendHttpConnection *conn;

	if (socket == NULL)
		return NULL;
	conn = g_object_get_qdata(G_OBJECT(socket), ark_frontend_http_connection_quark());
	if (conn == NULL) {
		conn = g_new0(ArkFrontendHttpConnection, 1);
		conn->server = server;
		conn->socket = socket;
		g_hash_table_insert(server->connections, socket, conn);
		g_object_set_qdata_full(G_OBJECT(socket), ark_frontend_http_connection_quark(),
					conn, ark_frontend_http_connection_free);
	}
	return conn;
}

static void
ark_frontend_http_connection_set(ArkFrontendHttpServer *server, SoupServerMessage *msg,
				 ArkFrontendHttpConnectionState state)
{
	ArkFrontendHttpConnection *conn = ark_frontend_http_connection_get(server, msg);
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);

	if (conn == NULL)
		return;
	conn->state = state;
	conn->since = g_get_monotonic_time();
	if (req != NULL)
		memcpy(conn->request_id, req->request_id, sizeof(conn->request_id));
}

static gboolean
ark_frontend_http_sweep_cb(gpointer user_data)
{
	ArkFrontendHttpServer *server = user_data;
	ArkFrontendHttp *self = server->self;
	gint64 now = g_get_monotonic_time();
	g_autoptr(GPtrArray) late = g_ptr_array_new_with_free_func(g_object_unref);
	g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, server->connections);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkFrontendHttpConnection *conn = value;
		if (conn->state == ARK_FRONTEND_HTTP_CONNECTION_READING &&
		    now - conn->since >= self->config.request_timeout)
			g_ptr_array_add(late, g_object_ref(conn->socket));
		else if (conn->state == ARK_FRONTEND_HTTP_CONNECTION_IDLE &&
			 now - conn->since >= self->config.keepalive_timeout)
			g_ptr_array_add(idle, g_object_ref(conn->socket));
	}
	/* shut down after the walk: a socket finalised meanwhile leaves the table */
	for (guint i = 0; i < late->len; i++) {
		GSocket *socket = g_ptr_array_index(late, i);
		ArkFrontendHttpConnection *conn =
		    g_object_get_qdata(G_OBJECT(socket), ark_frontend_http_connection_quark());
		g_autofree gchar *detail = g_strdup_printf(
		    "the request was not received within %" G_GINT64_FORMAT " s (request-timeout)",
		    self->config.request_timeout / G_USEC_PER_SEC);
		g_autofree gchar *raw = ark_frontend_http_problem_raw(
		    SOUP_STATUS_REQUEST_TIMEOUT, "request-timeout", detail,
		    conn != NULL ? conn->request_id : NULL);

		if (conn != NULL)
			conn->state = ARK_FRONTEND_HTTP_CONNECTION_BUSY;
		/* libsoup has written nothing for this request yet, and the answer fits in an
		 * empty socket buffer; never block on a client that does not read */
		(void)g_socket_send_with_blocking(socket, raw, strlen(raw), FALSE, NULL, NULL);
		ark_frontend_http_metrics_observe(self->metrics, "other", "other",
						  SOUP_STATUS_REQUEST_TIMEOUT, 0, TRUE);
		ark_frontend_http_shutdown_socket(socket);
	}
	for (guint i = 0; i < idle->len; i++) {
		GSocket *socket = g_ptr_array_index(idle, i);
		ArkFrontendHttpConnection *conn =
		    g_object_get_qdata(G_OBJECT(socket), ark_frontend_http_connection_quark());
		if (conn != NULL)
			conn->state = ARK_FRONTEND_HTTP_CONNECTION_BUSY;
		ark_frontend_http_shutdown_socket(socket);
	}
	if (server == self->server)
		ark_frontend_http_events_sweep(self->events, now);
	return G_SOURCE_CONTINUE;
}

/* the request lifecycle ---------------------------------------------------------------------- */

static void
ark_frontend_http_request_started_cb(SoupServer *soup_server, SoupServerMessage *msg,
				     gpointer user_data)
{
	ArkFrontendHttpServer *server = user_data;
	ArkFrontendHttp *self = server->self;
	ArkFrontendHttpRequest *req = g_new0(ArkFrontendHttpRequest, 1);
	g_autofree gchar *id = ark_id_new();

	req->self = self;
	req->server = server;
	req->started = g_get_monotonic_time();
	g_strlcpy(req->request_id, id, sizeof(req->request_id));
	g_object_set_qdata_full(G_OBJECT(msg), ark_frontend_http_request_quark(), req,
				ark_frontend_http_request_free);
	/* also on answers libsoup gives itself (a malformed request line) */
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "X-Request-Id",
				     req->request_id);
	ark_frontend_http_connection_set(server, msg, ARK_FRONTEND_HTTP_CONNECTION_READING);
}

static void
ark_frontend_http_request_read_cb(SoupServer *soup_server, SoupServerMessage *msg,
				  gpointer user_data)
{
	ArkFrontendHttpServer *server = user_data;
	ArkFrontendHttp *self = server->self;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);

	ark_frontend_http_connection_set(server, msg, ARK_FRONTEND_HTTP_CONNECTION_BUSY);
	/* a mutating call refused before its handler (scope, body size) is audited here; one
	 * refused before its token was known has no actor to record */
	if (req != NULL && req->route != NULL && req->route->action != NULL && req->actor != NULL &&
	    !req->audited && soup_server_message_get_status(msg) != 0) {
		/* what it was aimed at, as the path said: RUN or RUN/TASK */
		g_autofree gchar *target =
		    req->params[1] != NULL ? g_strdup_printf("%s/%s", req->params[0], req->params[1])
					   : g_strdup(req->params[0]);
		(void)ark_frontend_http_handlers_audit(self, msg, req, target, NULL, TRUE);
	}
}

static const gchar *
ark_frontend_http_method_label(const gchar *method)
{
	static const gchar *const known[] = {"GET",    "POST", "PUT",	  "DELETE",
					     "PATCH", "HEAD", "OPTIONS", NULL};
	for (guint i = 0; known[i] != NULL; i++) {
		if (g_strcmp0(method, known[i]) == 0)
			return known[i];
	}
	return "other";
}

static void
ark_frontend_http_request_done(ArkFrontendHttpServer *server, SoupServerMessage *msg)
{
	ArkFrontendHttp *self = server->self;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);
	guint status = soup_server_message_get_status(msg);

	ark_frontend_http_connection_set(server, msg, ARK_FRONTEND_HTTP_CONNECTION_IDLE);
	if (req == NULL || status == 0)
		return;
	ark_frontend_http_metrics_observe(
	    self->metrics,
	    req->route != NULL ? req->route->pattern
			       : (req->mount_path != NULL ? req->mount_path : "other"),
	    req->route != NULL ? req->route->method
			       : ark_frontend_http_method_label(soup_server_message_get_method(msg)),
	    status, (gdouble)(g_get_monotonic_time() - req->started) / G_USEC_PER_SEC,
	    req->streaming);
	if (status >= 500)
		g_info("%s %s -> %u (request %s)", soup_server_message_get_method(msg),
		       g_uri_get_path(soup_server_message_get_uri(msg)), status, req->request_id);
}

static void
ark_frontend_http_request_finished_cb(SoupServer *server, SoupServerMessage *msg,
				      gpointer user_data)
{
	ark_frontend_http_request_done(user_data, msg);
}

static void
ark_frontend_http_request_aborted_cb(SoupServer *server, SoupServerMessage *msg,
				     gpointer user_data)
{
	ark_frontend_http_request_done(user_data, msg);
}

static guint64
ark_frontend_http_body_limit(ArkFrontendHttp *self, const ArkFrontendHttpRoute *route)
{
	if (route->id == ARK_FRONTEND_HTTP_ROUTE_RUN_SUBMIT)
		return MIN(self->config.max_body_size, (guint64)ARK_WORKFLOW_MAX_BYTES);
	return self->config.max_body_size;
}

static guint64
ark_frontend_http_mount_body_limit(ArkFrontendHttp *self, const gchar *path)
{
	const ArkHttpMount *mount =
	    ark_registry_lookup_http_mount(ark_engine_get_registry(self->engine), path, NULL);

	if (mount == NULL || mount->max_body_size == 0)
		return self->config.max_body_size;
	return MIN(mount->max_body_size, self->config.max_body_size);
}

/* refuses a body that is too large; what is still coming is read and dropped, and the
 * connection closed after the answer */
static void
ark_frontend_http_refuse_body(SoupServerMessage *msg, guint64 limit)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);

	soup_message_body_set_accumulate(body, FALSE);
	soup_message_body_truncate(body);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
				     "close");
	ark_frontend_http_problem(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload-too-large",
				  "the request body is larger than %" G_GUINT64_FORMAT
				  " bytes (max-body-size)",
				  limit);
}

/* the routes a server thread answers itself: reads of the store alone, without a body (a
 * running attempt's log path comes from the state directory, fixed for the engine's life) */
static gboolean
ark_frontend_http_worker_route(const ArkFrontendHttpRoute *route)
{
	switch (route->id) {
	case ARK_FRONTEND_HTTP_ROUTE_RUN_GET:
	case ARK_FRONTEND_HTTP_ROUTE_RUN_LIST:
	case ARK_FRONTEND_HTTP_ROUTE_TASK_LIST:
	case ARK_FRONTEND_HTTP_ROUTE_TASK_GET:
	case ARK_FRONTEND_HTTP_ROUTE_DLQ_LIST:
	case ARK_FRONTEND_HTTP_ROUTE_DLQ_GET:
		return TRUE;
	default:
		return FALSE;
	}
}

typedef struct {
	ArkFrontendHttp *self; /* a reference */
	GIOStream *stream;
	GSocketAddress *local;
	GSocketAddress *remote;
} ArkFrontendHttpHandover;

static void
ark_frontend_http_handover_free(ArkFrontendHttpHandover *handover)
{
	g_object_unref(handover->self);
	g_clear_object(&handover->stream);
	g_clear_object(&handover->local);
	g_clear_object(&handover->remote);
	g_free(handover);
}

/* on the main thread: the connection is the main server's from now on */
static gboolean
ark_frontend_http_handover_accept_cb(gpointer user_data)
{
	ArkFrontendHttpHandover *handover = user_data;
	ArkFrontendHttp *self = handover->self;
	g_autoptr(GError) error = NULL;

	if (!self->started || self->server == NULL ||
	    !soup_server_accept_iostream(self->server->server, handover->stream, handover->local,
					 handover->remote, &error)) {
		if (error != NULL)
			g_debug("could not take over a connection: %s", error->message);
		(void)g_io_stream_close(handover->stream, NULL, NULL);
	}
	ark_frontend_http_handover_free(handover);
	return G_SOURCE_REMOVE;
}

/* on a server thread, once @msg is paused and libsoup is out of its way */
static gboolean
ark_frontend_http_handover_cb(gpointer user_data)
{
	SoupServerMessage *msg = user_data;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);
	ArkFrontendHttpServer *server = req->server;
	GSocket *socket = soup_server_message_get_socket(msg);
	g_autoptr(GSocketAddress) local = NULL;
	g_autoptr(GSocketAddress) remote = NULL;
	g_autoptr(GIOStream) stolen = NULL;
	ArkFrontendHttpHandover *handover;
	ArkFrontendHttpConnection *conn;
	GSource *source;

	if (server->stopping || socket == NULL)
		return G_SOURCE_REMOVE;
	local = g_socket_get_local_address(socket, NULL);
	remote = g_socket_get_remote_address(socket, NULL);
	if (local == NULL || remote == NULL) {
		/* the client is gone: the answer only closes the connection, and no handler runs */
		soup_server_message_set_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
		ark_frontend_http_shutdown_socket(socket);
		soup_server_message_unpause(msg);
		return G_SOURCE_REMOVE;
	}
	/* this thread's timeouts no longer apply to it: the main thread's do */
	conn = g_object_steal_qdata(G_OBJECT(socket), ark_frontend_http_connection_quark());
	if (conn != NULL) {
		g_hash_table_remove(server->connections, socket);
		g_free(conn);
	}
	g_object_set_qdata_full(G_OBJECT(remote), ark_frontend_http_socket_quark(),
				g_object_ref(socket), g_object_unref);
	stolen = soup_server_message_steal_connection(msg);
	if (stolen == NULL)
		return G_SOURCE_REMOVE;
	handover = g_new0(ArkFrontendHttpHandover, 1);
	handover->self = g_object_ref(server->self);
	handover->stream = ark_frontend_http_replay_new(msg, stolen);
	handover->local = g_steal_pointer(&local);
	handover->remote = g_steal_pointer(&remote);
	/* not g_main_context_invoke(), which runs the callback right here when nobody holds the
	 * main context at that moment */
	source = g_idle_source_new();
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_set_callback(source, ark_frontend_http_handover_accept_cb, handover, NULL);
	g_source_attach(source, g_main_context_default());
	g_source_unref(source);
	return G_SOURCE_REMOVE;
}

/* on a server thread: @msg goes to the main thread with its connection */
static void
ark_frontend_http_hand_over(ArkFrontendHttpServer *server, SoupServerMessage *msg)
{
	GSource *source = g_idle_source_new();

	/* libsoup reads nothing more of it meanwhile; the steal waits until libsoup has returned */
	soup_server_message_pause(msg);
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_set_callback(source, ark_frontend_http_handover_cb, g_object_ref(msg),
			      g_object_unref);
	g_source_attach(source, server->context);
	g_source_unref(source);
}

static void
ark_frontend_http_got_chunk_cb(SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
	ArkFrontendHttp *self = user_data;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);
	guint64 limit;

	if (req == NULL || (req->route == NULL && req->mount_path == NULL))
		return;
	req->body_bytes += g_bytes_get_size(chunk);
	limit = req->route != NULL ? ark_frontend_http_body_limit(self, req->route)
				   : ark_frontend_http_mount_body_limit(self, req->mount_path);
	if (req->body_bytes > limit && soup_server_message_get_status(msg) == 0)
		ark_frontend_http_refuse_body(msg, limit);
}

/* the request's Authorization header checked against the API tokens */
static ArkFrontendHttpAuthResult
ark_frontend_http_check_token(ArkFrontendHttp *self, SoupServerMessage *msg,
			      const gchar **out_name, gboolean *out_admin)
{
	return ark_frontend_http_auth_check(
	    self->auth,
	    soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
					 "Authorization"),
	    out_name, out_admin);
}

/* the bearer token, with @result of ark_frontend_http_check_token(): an API token, else an
 * agent's (then @req's agent_id is set); FALSE after a 401 */
static gboolean
ark_frontend_http_authenticate(ArkFrontendHttp *self, SoupServerMessage *msg,
			       ArkFrontendHttpRequest *req, ArkFrontendHttpAuthResult result,
			       const gchar *name, gboolean admin)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);
	const gchar *authorization = soup_message_headers_get_one(request_headers, "Authorization");

	if (result == ARK_FRONTEND_HTTP_AUTH_INVALID) {
		g_autofree gchar *token = ark_frontend_http_auth_bearer(authorization);
		g_autofree gchar *agent_id =
		    token != NULL ? ark_engine_authenticate_agent(self->engine, token) : NULL;

		if (token != NULL)
			memset(token, 0, strlen(token));
		if (agent_id != NULL) {
			req->actor = g_strdup(agent_id);
			req->agent_id = g_steal_pointer(&agent_id);
			req->admin = FALSE;
			return TRUE;
		}
	}
	if (result != ARK_FRONTEND_HTTP_AUTH_OK) {
		soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
		soup_message_headers_replace(response_headers, "WWW-Authenticate",
					     result == ARK_FRONTEND_HTTP_AUTH_MISSING
						 ? "Bearer realm=\"arkitect\""
						 : "Bearer realm=\"arkitect\", error=\"invalid_token\"");
		ark_frontend_http_problem(msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized", "%s",
					  result == ARK_FRONTEND_HTTP_AUTH_MISSING
					      ? "this route needs a token: Authorization: Bearer TOKEN"
					      : "the token is not valid");
		return FALSE;
	}
	req->actor = g_strdup(name);
	req->admin = admin;
	return TRUE;
}

/*
 * An agent's token opens the agent routes, each only for that agent, and nothing else; the
 * agent routes take nothing but an agent's token: what an agent may do is decided by who it is,
 * and an API token is not any agent. FALSE after a 403.
 */
static gboolean
ark_frontend_http_check_agent_scope(SoupServerMessage *msg, ArkFrontendHttpRequest *req,
				    const ArkFrontendHttpRoute *route)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);

	if (route->scope != ARK_FRONTEND_HTTP_SCOPE_AGENT && req->agent_id != NULL) {
		soup_message_body_set_accumulate(body, FALSE);
		ark_frontend_http_problem(msg, SOUP_STATUS_FORBIDDEN, "permission-denied",
					  "an agent's token is only accepted on the agent routes "
					  "(/api/v1/agents/%s/..., /api/v1/assignments/...); %s %s "
					  "needs an API token",
					  req->agent_id, route->method, route->pattern);
		return FALSE;
	}
	if (route->scope != ARK_FRONTEND_HTTP_SCOPE_AGENT)
		return TRUE;
	if (req->agent_id == NULL) {
		soup_message_body_set_accumulate(body, FALSE);
		ark_frontend_http_problem(msg, SOUP_STATUS_FORBIDDEN, "permission-denied",
					  "%s %s is an agent's own route: it needs the agent's "
					  "token (Bearer arkagt_...), not token '%s'",
					  route->method, route->pattern, req->actor);
		return FALSE;
	}
	/* /api/v1/agents/{agent}/...: only its own; an assignment's holder is the engine's to
	 * check */
	if (g_str_has_prefix(route->pattern, "/api/v1/agents/{agent}") &&
	    g_strcmp0(req->params[0], req->agent_id) != 0) {
		soup_message_body_set_accumulate(body, FALSE);
		ark_frontend_http_problem(msg, SOUP_STATUS_FORBIDDEN, "permission-denied",
					  "this token belongs to agent %s, not to %s",
					  req->agent_id, req->params[0]);
		return FALSE;
	}
	return TRUE;
}

/* a path another plugin serves (ArkHttpMount): the token and the body size are checked here as
 * for the API's own routes; the rest is the mount's */
static void
ark_frontend_http_early_mount(ArkFrontendHttp *self, SoupServerMessage *msg,
			      ArkFrontendHttpRequest *req, const ArkHttpMount *mount)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	guint64 limit;

	req->mount_path = g_strdup(mount->path);
	req->origin = ark_frontend_http_request_origin(msg);
	if (!mount->open) {
		const gchar *name = NULL;
		gboolean admin = FALSE;
		ArkFrontendHttpAuthResult result =
		    ark_frontend_http_check_token(self, msg, &name, &admin);
		if (!ark_frontend_http_authenticate(self, msg, req, result, name, admin))
			return;
	}
	limit = ark_frontend_http_mount_body_limit(self, mount->path);
	if (soup_message_headers_get_encoding(request_headers) == SOUP_ENCODING_CONTENT_LENGTH &&
	    (guint64)soup_message_headers_get_content_length(request_headers) > limit) {
		ark_frontend_http_refuse_body(msg, limit);
		return;
	}
	g_signal_connect(msg, "got-chunk", G_CALLBACK(ark_frontend_http_got_chunk_cb), self);
}

static void
ark_frontend_http_early_handler_cb(SoupServer *soup_server, SoupServerMessage *msg,
				   const char *path, GHashTable *query, gpointer user_data)
{
	ArkFrontendHttpServer *server = user_data;
	ArkFrontendHttp *self = server->self;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	const gchar *client_id = soup_message_headers_get_one(request_headers, "X-Request-Id");
	const ArkFrontendHttpRoute *route = NULL;
	const ArkHttpMount *mount;
	g_autofree gchar *detail = NULL;
	ArkFrontendHttpMatch match = ARK_FRONTEND_HTTP_MATCH_NOT_FOUND;
	ArkFrontendHttpAuthResult auth = ARK_FRONTEND_HTTP_AUTH_MISSING;
	const gchar *name = NULL;
	gboolean admin = FALSE;
	gboolean checked = FALSE;
	gboolean open;

	if (req == NULL)
		return;
	/* a server thread answers the routes of ark_frontend_http_worker_route() that come with an
	 * API token or none (an agent's token is the engine's to check); the rest, and anything a
	 * mount may hide, goes to the main thread */
	if (server != self->server) {
		if (self->workers_serve)
			match = ark_frontend_http_routes_match(soup_server_message_get_method(msg),
							       path, &route, req->params, &detail);
		if (match != ARK_FRONTEND_HTTP_MATCH_OK || !ark_frontend_http_worker_route(route) ||
		    (auth = ark_frontend_http_check_token(self, msg, &name, &admin)) ==
			ARK_FRONTEND_HTTP_AUTH_INVALID) {
			for (guint i = 0; i < ARK_FRONTEND_HTTP_MAX_PARAMS; i++)
				g_clear_pointer(&req->params[i], g_free);
			ark_frontend_http_hand_over(server, msg);
			return;
		}
		checked = TRUE;
	}
	if (ark_frontend_http_valid_request_id(client_id)) {
		ArkFrontendHttpConnection *conn = ark_frontend_http_connection_get(server, msg);
		g_strlcpy(req->request_id, client_id, sizeof(req->request_id));
		soup_message_headers_replace(response_headers, "X-Request-Id", req->request_id);
		/* a 408 for a body that never comes names the client's id too */
		if (conn != NULL)
			g_strlcpy(conn->request_id, client_id, sizeof(conn->request_id));
	}

	/* a server thread only keeps what no mount hides (self->workers_serve) */
	mount = server == self->server ? ark_registry_lookup_http_mount(
					     ark_engine_get_registry(self->engine), path, NULL)
				       : NULL;
	if (mount != NULL) {
		ark_frontend_http_early_mount(self, msg, req, mount);
		return;
	}

	if (!checked)
		match = ark_frontend_http_routes_match(soup_server_message_get_method(msg), path,
						       &route, req->params, &detail);
	if (match != ARK_FRONTEND_HTTP_MATCH_OK) {
		/* whatever body comes is not kept */
		soup_message_body_set_accumulate(body, FALSE);
		switch (match) {
		case ARK_FRONTEND_HTTP_MATCH_BAD_PATH:
			ark_frontend_http_problem(msg, SOUP_STATUS_BAD_REQUEST, "invalid-argument",
						  "%s", detail);
			break;
		case ARK_FRONTEND_HTTP_MATCH_METHOD_NOT_ALLOWED:
			soup_message_headers_replace(response_headers, "Allow", detail);
			ark_frontend_http_problem(msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
						  "method-not-allowed",
						  "%s is not allowed here; allowed: %s",
						  soup_server_message_get_method(msg), detail);
			break;
		default:
			ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
						  "there is no such route; see "
						  "/api/v1/openapi.json");
			break;
		}
		return;
	}
	req->route = route;

	open = (route->scope == ARK_FRONTEND_HTTP_SCOPE_HEALTH && self->config.open_health) ||
	       (route->scope == ARK_FRONTEND_HTTP_SCOPE_METRICS && self->config.open_metrics);
	if (!open) {
		if (!checked)
			auth = ark_frontend_http_check_token(self, msg, &name, &admin);
		if (!ark_frontend_http_authenticate(self, msg, req, auth, name, admin))
			return;
		if (!ark_frontend_http_check_agent_scope(msg, req, route))
			return;
		if (route->scope == ARK_FRONTEND_HTTP_SCOPE_ADMIN && !req->admin) {
			soup_message_body_set_accumulate(body, FALSE);
			ark_frontend_http_problem(msg, SOUP_STATUS_FORBIDDEN, "permission-denied",
						  "token '%s' has the read scope; %s %s needs admin",
						  req->actor, route->method, route->pattern);
			return;
		}
	}

	if (!route->has_body) {
		soup_message_body_set_accumulate(body, FALSE);
		return;
	}
	if (soup_message_headers_get_encoding(request_headers) == SOUP_ENCODING_CONTENT_LENGTH &&
	    (guint64)soup_message_headers_get_content_length(request_headers) >
		ark_frontend_http_body_limit(self, route)) {
		ark_frontend_http_refuse_body(msg, ark_frontend_http_body_limit(self, route));
		return;
	}
	g_signal_connect(msg, "got-chunk", G_CALLBACK(ark_frontend_http_got_chunk_cb), self);
}

static void
ark_frontend_http_handler_cb(SoupServer *soup_server, SoupServerMessage *msg, const char *path,
			     GHashTable *query, gpointer user_data)
{
	ArkFrontendHttpServer *server = user_data;
	ArkFrontendHttp *self = server->self;
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);

	if (req != NULL && req->mount_path != NULL) {
		gpointer mount_data = NULL;
		const ArkHttpMount *mount = ark_registry_lookup_http_mount(
		    ark_engine_get_registry(self->engine), req->mount_path, &mount_data);
		ArkHttpRequestInfo info = {0};

		/* the early handler may have answered already (401, 413) */
		if (soup_server_message_get_status(msg) != 0)
			return;
		if (mount == NULL) {
			ark_frontend_http_problem(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
						  "unavailable", "%s is no longer served",
						  req->mount_path);
			return;
		}
		info.actor = req->actor;
		info.admin = req->admin;
		info.origin = req->origin;
		info.request_id = req->request_id;
		info.agent_id = req->agent_id;
		mount->handler(msg, path, &info, mount_data);
		return;
	}
	if (req == NULL || req->route == NULL) {
		ark_frontend_http_problem(msg, SOUP_STATUS_NOT_FOUND, "not-found",
					  "there is no such route");
		return;
	}
	/* what a server thread does not answer went to the main thread after its headers */
	g_return_if_fail(server == self->server || ark_frontend_http_worker_route(req->route));
	ark_frontend_http_handlers_dispatch(self, msg, req, query);
}

static void
ark_frontend_http_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	ArkFrontendHttp *self = user_data;

	if (event->run_id != NULL) {
		g_mutex_lock(&self->counts_lock);
		g_hash_table_remove(self->counts_cache, event->run_id);
		self->counts_generation++;
		g_mutex_unlock(&self->counts_lock);
	}
	ark_frontend_http_events_push(self->events, event);
}

/* configuration ------------------------------------------------------------------------------ */

static gchar *
ark_frontend_http_config_value(GKeyFile *config, const gchar *group, const ArkConfigKey *key,
			       GError **error)
{
	g_autofree gchar *value = NULL;

	if (config != NULL)
		value = g_key_file_get_string(config, group, key->name, NULL);
	if (value == NULL)
		return g_strdup(key->default_value);
	g_strstrip(value);
	if (!ark_config_key_check_value(key, value, error)) {
		g_prefix_error(error, "[%s] %s: ", group, key->name);
		return NULL;
	}
	return g_steal_pointer(&value);
}

static gboolean
ark_frontend_http_load_config(ArkFrontendHttpConfig *config, GKeyFile *file, const gchar *group,
			      GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(ark_frontend_http_config_keys); i++) {
		const ArkConfigKey *key = &ark_frontend_http_config_keys[i];
		g_autofree gchar *value = NULL;
		guint64 number = 0;
		gint64 usec = 0;

		if (g_str_has_suffix(key->name, ".*"))
			continue;
		value = ark_frontend_http_config_value(file, group, key, error);
		if (value == NULL)
			return FALSE;
		if (key->type == ARK_CONFIG_SIZE)
			(void)ark_size_parse(value, &number, NULL);
		else if (key->type == ARK_CONFIG_UINT)
			(void)g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT, &number, NULL);
		else if (key->type == ARK_CONFIG_DURATION) {
			(void)ark_duration_parse(value, &usec, NULL);
			if (usec <= 0) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] %s must be longer than 0", group, key->name);
				return FALSE;
			}
		}

		if (g_strcmp0(key->name, "listen") == 0) {
			g_free(config->listen);
			config->listen = g_steal_pointer(&value);
		}
		else if (g_strcmp0(key->name, "max-body-size") == 0)
			config->max_body_size = number;
		else if (g_strcmp0(key->name, "max-json-depth") == 0)
			config->max_json_depth = (guint)number;
		else if (g_strcmp0(key->name, "max-tasks-per-run") == 0)
			config->max_tasks_per_run = (guint)number;
		else if (g_strcmp0(key->name, "max-event-streams") == 0)
			config->max_event_streams = (guint)number;
		else if (g_strcmp0(key->name, "request-timeout") == 0)
			config->request_timeout = usec;
		else if (g_strcmp0(key->name, "keepalive-timeout") == 0)
			config->keepalive_timeout = usec;
		else if (g_strcmp0(key->name, "max-stream-buffer") == 0)
			config->max_stream_buffer = number;
		else if (g_strcmp0(key->name, "open-health") == 0)
			config->open_health = g_strcmp0(value, "true") == 0;
		else if (g_strcmp0(key->name, "open-metrics") == 0)
			config->open_metrics = g_strcmp0(value, "true") == 0;
		else if (g_strcmp0(key->name, "threads") == 0) {
			/* the main thread and the server threads, one per CPU */
			if (g_strcmp0(value, "auto") == 0)
				number = MIN(g_get_num_processors() - 1, 64);
			else if (!g_ascii_string_to_unsigned(value, 10, 0, 64, &number, NULL)) {
				g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
					    "[%s] threads must be auto or a number from 0 to 64, "
					    "not '%s'",
					    group, value);
				return FALSE;
			}
			config->threads = (guint)number;
		}
	}
	return TRUE;
}

/* "127.0.0.1:8470", "[::1]:0", "localhost:8470" */
static GSocketAddress *
ark_frontend_http_parse_listen(const gchar *listen, GError **error)
{
	g_autofree gchar *host = NULL;
	g_autoptr(GInetAddress) address = NULL;
	const gchar *port_str;
	guint64 port = 0;

	if (listen[0] == '[') {
		const gchar *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		host = g_strndup(listen + 1, (gsize)(close - listen - 1));
		port_str = close + 2;
	} else {
		const gchar *colon = strrchr(listen, ':');
		if (colon == NULL || strchr(listen, ':') != colon)
			goto bad;
		host = g_strndup(listen, (gsize)(colon - listen));
		port_str = colon + 1;
	}
	if (!g_ascii_string_to_unsigned(port_str, 10, 0, 65535, &port, NULL))
		goto bad;
	if (g_strcmp0(host, "localhost") == 0)
		address = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	else
		address = g_inet_address_new_from_string(host);
	if (address == NULL)
		goto bad;
	return g_inet_socket_address_new(address, (guint16)port);
bad:
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "[" ARK_FRONTEND_HTTP_PLUGIN_NAME "] listen: '%s' is not ADDRESS:PORT (e.g. "
		    "127.0.0.1:8470 or [::1]:8470)",
		    listen);
	return NULL;
}

/* the URL a local client uses: the bound port, and loopback for a wildcard address */
static gchar *
ark_frontend_http_bound_url(ArkFrontendHttp *self)
{
	GSList *listeners = soup_server_get_listeners(self->server->server);
	g_autoptr(GSocketAddress) local = NULL;
	g_autoptr(GInetAddress) loopback = NULL;
	g_autofree gchar *ip = NULL;
	GInetAddress *address;
	guint16 port;

	if (listeners != NULL)
		local = g_socket_get_local_address(listeners->data, NULL);
	g_slist_free(listeners);
	if (local == NULL || !G_IS_INET_SOCKET_ADDRESS(local))
		return NULL;
	address = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(local));
	port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
	if (g_inet_address_get_is_any(address)) {
		loopback = g_inet_address_new_loopback(g_inet_address_get_family(address));
		address = loopback;
	}
	ip = g_inet_address_to_string(address);
	if (g_inet_address_get_family(address) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("http://[%s]:%u", ip, port);
	return g_strdup_printf("http://%s:%u", ip, port);
}

/* servers and their threads ------------------------------------------------------------------ */

/* a listening socket on @address; with @share, other sockets may listen on the same address
 * (SO_REUSEPORT, this user's only) and the kernel spreads new connections among them */
static GSocket *
ark_frontend_http_listen_socket(GSocketAddress *address, gboolean share, GError **error)
{
	g_autoptr(GSocket) socket = g_socket_new(g_socket_address_get_family(address),
						 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);

	struct sockaddr_storage native;
	gssize len = g_socket_address_get_native_size(address);

	if (socket == NULL)
		return NULL;
	if (len < 0 || !g_socket_address_to_native(address, &native, sizeof(native), error))
		return NULL;
	/* bind() itself: g_socket_bind() turns SO_REUSEPORT off on a stream socket */
	if (!g_socket_set_option(socket, SOL_SOCKET, SO_REUSEADDR, 1, error) ||
	    (share && !g_socket_set_option(socket, SOL_SOCKET, SO_REUSEPORT, 1, error)))
		return NULL;
	/* as libsoup's own listeners: [::] is IPv6 only */
	if (g_socket_address_get_family(address) == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
		return NULL;
	if (bind(g_socket_get_fd(socket), (struct sockaddr *)&native, (socklen_t)len) != 0) {
		int saved = errno;
		g_autofree gchar *where = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address));
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "Error binding to address %s: %s", where, g_strerror(saved));
		return NULL;
	}
	/* room for many clients connecting at once (GLib's default is 10) */
	g_socket_set_listen_backlog(socket, SOMAXCONN);
	if (!g_socket_listen(socket, error))
		return NULL;
	return g_steal_pointer(&socket);
}

/* a SoupServer for @context (NULL: the main one), listening on @socket */
static ArkFrontendHttpServer *
ark_frontend_http_server_new(ArkFrontendHttp *self, GMainContext *context, GSocket *socket,
			     GError **error)
{
	ArkFrontendHttpServer *server = g_new0(ArkFrontendHttpServer, 1);
	gboolean ok;

	server->self = self;
	server->connections = g_hash_table_new(g_direct_hash, g_direct_equal);
	server->context = context != NULL ? g_main_context_ref(context) : NULL;
	/* libsoup attaches its sources to the thread-default context of the caller */
	if (context != NULL)
		g_main_context_push_thread_default(context);
	server->server = soup_server_new("server-header", "arkitect/" PACKAGE_VERSION,
					 /* routing decodes each segment itself: "%2F" stays inside */
					 "raw-paths", TRUE, NULL);
	g_signal_connect(server->server, "request-started",
			 G_CALLBACK(ark_frontend_http_request_started_cb), server);
	g_signal_connect(server->server, "request-read",
			 G_CALLBACK(ark_frontend_http_request_read_cb), server);
	g_signal_connect(server->server, "request-finished",
			 G_CALLBACK(ark_frontend_http_request_finished_cb), server);
	g_signal_connect(server->server, "request-aborted",
			 G_CALLBACK(ark_frontend_http_request_aborted_cb), server);
	soup_server_add_early_handler(server->server, NULL, ark_frontend_http_early_handler_cb,
				      server, NULL);
	soup_server_add_handler(server->server, NULL, ark_frontend_http_handler_cb, server, NULL);
	ok = soup_server_listen_socket(server->server, socket, 0, error);
	if (ok) {
		server->sweep = g_timeout_source_new_seconds(ARK_FRONTEND_HTTP_SWEEP_SECONDS);
		g_source_set_callback(server->sweep, ark_frontend_http_sweep_cb, server, NULL);
		g_source_attach(server->sweep, context);
	}
	if (context != NULL)
		g_main_context_pop_thread_default(context);
	if (!ok) {
		g_clear_object(&server->server);
		g_hash_table_unref(server->connections);
		g_clear_pointer(&server->context, g_main_context_unref);
		g_free(server);
		return NULL;
	}
	return server;
}

/* on the thread of @server: closes its connections and its server */
static void
ark_frontend_http_server_close(ArkFrontendHttpServer *server)
{
	GHashTableIter iter;
	gpointer key;

	if (server->sweep != NULL) {
		g_source_destroy(server->sweep);
		g_clear_pointer(&server->sweep, g_source_unref);
	}
	if (server->server == NULL)
		return;
	soup_server_disconnect(server->server);
	/* sockets libsoup still holds must not call back into us once we are gone */
	g_hash_table_iter_init(&iter, server->connections);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		ArkFrontendHttpConnection *conn =
		    g_object_steal_qdata(G_OBJECT(key), ark_frontend_http_connection_quark());
		g_free(conn);
		g_hash_table_iter_remove(&iter);
	}
	/* messages libsoup still finishes must not reach us */
	g_signal_handlers_disconnect_by_data(server->server, server);
	g_clear_object(&server->server);
}

static void
ark_frontend_http_server_free(ArkFrontendHttpServer *server)
{
	g_hash_table_unref(server->connections);
	if (server->reader != NULL) {
		ark_store_close(server->reader);
		g_object_unref(server->reader);
	}
	g_clear_pointer(&server->loop, g_main_loop_unref);
	g_clear_pointer(&server->context, g_main_context_unref);
	g_free(server);
}

static gpointer
ark_frontend_http_worker_thread_cb(gpointer data)
{
	ArkFrontendHttpServer *server = data;

	g_main_context_push_thread_default(server->context);
	g_private_set(&ark_frontend_http_reader_key, server->reader);
	g_main_loop_run(server->loop);
	server->stopping = TRUE;
	ark_frontend_http_server_close(server);
	/* what the close left to do (connections going, hand-overs that no longer happen) */
	while (g_main_context_iteration(server->context, FALSE))
		;
	g_private_set(&ark_frontend_http_reader_key, NULL);
	g_main_context_pop_thread_default(server->context);
	return NULL;
}

/*
 * New connections go to the server threads only: the main thread's socket, the first of the
 * SO_REUSEPORT group, keeps what is handed over and answers what the threads do not, while
 * the engine's work does not delay a read a thread could answer. A classic BPF program picks
 * one of the @n threads' sockets at random for each connection. Without it (an old kernel) the
 * kernel spreads connections over every socket of the group, the main one too.
 */
static void
ark_frontend_http_steer_to_workers(GSocket *socket, guint n)
{
	struct sock_filter code[] = {
	    {BPF_LD | BPF_W | BPF_ABS, 0, 0, (guint32)(SKF_AD_OFF + SKF_AD_RANDOM)},
	    {BPF_ALU | BPF_MOD | BPF_K, 0, 0, n},
	    {BPF_ALU | BPF_ADD | BPF_K, 0, 0, 1},
	    {BPF_RET | BPF_A, 0, 0, 0},
	};
	struct sock_fprog program = {G_N_ELEMENTS(code), code};

	if (setsockopt(g_socket_get_fd(socket), SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program,
		       sizeof(program)) != 0)
		g_debug("new connections go to the main thread too: %s", g_strerror(errno));
}

/* starts up to config.threads server threads on the address @socket listens on; fewer when the
 * store has no reader for them */
static void
ark_frontend_http_start_workers(ArkFrontendHttp *self, GSocket *socket)
{
	g_autoptr(GSocketAddress) address = g_socket_get_local_address(socket, NULL);

	for (guint i = 0; address != NULL && i < self->config.threads; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkStore) reader = NULL;
		g_autoptr(GMainContext) context = NULL;
		g_autoptr(GSocket) listener = NULL;
		g_autofree gchar *name = NULL;
		ArkFrontendHttpServer *server;

		reader = ark_store_open_reader(ark_engine_get_store(self->engine), &error);
		if (reader == NULL) {
			if (g_error_matches(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED))
				g_debug("the main thread serves every request: %s", error->message);
			else
				g_warning("the main thread serves every request: the store has no "
					  "reader for another thread: %s",
					  error->message);
			return;
		}
		context = g_main_context_new();
		listener = ark_frontend_http_listen_socket(address, TRUE, &error);
		server = listener != NULL
			     ? ark_frontend_http_server_new(self, context, listener, &error)
			     : NULL;
		if (server == NULL) {
			g_warning("server thread %u not started: %s", i + 1, error->message);
			ark_store_close(reader);
			return;
		}
		server->reader = g_steal_pointer(&reader);
		server->loop = g_main_loop_new(context, FALSE);
		name = g_strdup_printf("ark-http-%u", i + 1);
		server->thread = g_thread_new(name, ark_frontend_http_worker_thread_cb, server);
		g_ptr_array_add(self->workers, server);
	}
	if (self->workers->len > 0)
		ark_frontend_http_steer_to_workers(socket, self->workers->len);
}

static void
ark_frontend_http_stop_workers(ArkFrontendHttp *self)
{
	for (guint i = 0; i < self->workers->len; i++) {
		ArkFrontendHttpServer *server = g_ptr_array_index(self->workers, i);
		g_main_loop_quit(server->loop);
		g_thread_join(server->thread);
		ark_frontend_http_server_free(server);
	}
	g_ptr_array_set_size(self->workers, 0);
}

/* the frontend ------------------------------------------------------------------------------- */

static gboolean
ark_frontend_http_start(ArkFrontend *frontend, gpointer engine, GKeyFile *config,
			const gchar *group, GError **error)
{
	ArkFrontendHttp *self = ARK_FRONTEND_HTTP(frontend);
	g_autoptr(GSocketAddress) address = NULL;
	g_autoptr(GSocket) socket = NULL;
	const gchar *state_dir;

	if (!ARK_IS_ENGINE(engine)) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "the HTTP frontend needs an ArkEngine");
		return FALSE;
	}
	if (self->started) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_EXISTS,
				    "the HTTP frontend is already started");
		return FALSE;
	}
	if (group == NULL)
		group = ARK_FRONTEND_HTTP_PLUGIN_NAME;
	if (!ark_frontend_http_load_config(&self->config, config, group, error))
		return FALSE;
	address = ark_frontend_http_parse_listen(self->config.listen, error);
	if (address == NULL)
		return FALSE;
	g_set_object(&self->engine, engine);
	state_dir = ark_engine_get_state_dir(self->engine);
	self->auth = ark_frontend_http_auth_new(state_dir, config, group, error);
	if (self->auth == NULL)
		return FALSE;

	socket = ark_frontend_http_listen_socket(address, self->config.threads > 0, error);
	if (socket != NULL)
		self->server = ark_frontend_http_server_new(self, NULL, socket, error);
	if (self->server == NULL) {
		g_prefix_error(error, "failed to listen on %s: ", self->config.listen);
		g_clear_pointer(&self->auth, ark_frontend_http_auth_free);
		return FALSE;
	}
	self->url = ark_frontend_http_bound_url(self);

	/* the request counters outlive a restart of the frontend, as a process's would */
	if (self->metrics == NULL)
		self->metrics = ark_frontend_http_metrics_new();
	self->events = ark_frontend_http_events_new(self);
	self->event_handler_id = g_signal_connect(self->engine, "event",
						  G_CALLBACK(ark_frontend_http_event_cb), self);
	self->openapi = g_resource_lookup_data(ark_frontend_http_get_resource(),
					       ARK_FRONTEND_HTTP_OPENAPI_PATH, 0, NULL);
	self->process_started_at = ark_frontend_http_metrics_process_start_time();
	/* the server threads answer their routes themselves: only while no plugin mounts a path
	 * over them */
	self->workers_serve =
	    ark_registry_lookup_http_mount(ark_engine_get_registry(self->engine), "/api/v1/runs",
					   NULL) == NULL &&
	    ark_registry_lookup_http_mount(ark_engine_get_registry(self->engine), "/api/v1/dlq",
					   NULL) == NULL;
	self->started = TRUE;
	ark_frontend_http_start_workers(self, socket);

	if (state_dir != NULL && self->url != NULL) {
		g_autoptr(GError) local_error = NULL;
		g_autofree gchar *contents = g_strdup_printf("%s\n", self->url);
		self->url_path = g_build_filename(state_dir, ARK_FRONTEND_HTTP_URL_FILE, NULL);
		if (!g_file_set_contents_full(self->url_path, contents, -1,
					      G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
			g_warning("could not write %s: %s", self->url_path, local_error->message);
	}
	g_message("HTTP API listening on %s (%u server threads beside the main one)",
		  self->url != NULL ? self->url : self->config.listen, self->workers->len);
	return TRUE;
}

static void
ark_frontend_http_stop(ArkFrontend *frontend)
{
	ArkFrontendHttp *self = ARK_FRONTEND_HTTP(frontend);

	if (!self->started)
		return;
	self->started = FALSE;
	ark_frontend_http_stop_workers(self);
	if (self->event_handler_id != 0)
		g_signal_handler_disconnect(self->engine, self->event_handler_id);
	self->event_handler_id = 0;
	ark_frontend_http_events_close_all(self->events);
	ark_frontend_http_agents_stop(self);
	ark_frontend_http_server_close(self->server);
	if (self->url_path != NULL) {
		g_autofree gchar *contents = NULL;
		g_autofree gchar *expected = g_strdup_printf("%s\n", self->url);
		/* only our own: a daemon started meanwhile on the same state dir keeps its */
		if (g_file_get_contents(self->url_path, &contents, NULL, NULL) &&
		    g_strcmp0(contents, expected) == 0)
			(void)g_unlink(self->url_path);
	}
	/* what start() made goes, so that start() can run again (a reload restarts frontends) */
	g_clear_pointer(&self->server, ark_frontend_http_server_free);
	g_clear_pointer(&self->events, ark_frontend_http_events_free);
	g_clear_pointer(&self->auth, ark_frontend_http_auth_free);
	g_clear_pointer(&self->url, g_free);
	g_clear_pointer(&self->url_path, g_free);
	g_clear_pointer(&self->config.listen, g_free);
	g_clear_pointer(&self->openapi, g_bytes_unref);
	g_mutex_lock(&self->counts_lock);
	g_hash_table_remove_all(self->counts_cache);
	g_mutex_unlock(&self->counts_lock);
	g_message("HTTP API stopped");
}

static void
ark_frontend_http_iface_init(ArkFrontendInterface *iface)
{
	iface->start = ark_frontend_http_start;
	iface->stop = ark_frontend_http_stop;
}

static void
ark_frontend_http_dispose(GObject *object)
{
	ArkFrontendHttp *self = ARK_FRONTEND_HTTP(object);

	ark_frontend_http_stop(ARK_FRONTEND(self));
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(ark_frontend_http_parent_class)->dispose(object);
}

static void
ark_frontend_http_finalize(GObject *object)
{
	ArkFrontendHttp *self = ARK_FRONTEND_HTTP(object);

	ark_frontend_http_handlers_clear(self);
	g_ptr_array_unref(self->submitted);
	ark_frontend_http_events_free(self->events);
	ark_frontend_http_metrics_free(self->metrics);
	ark_frontend_http_auth_free(self->auth);
	g_ptr_array_unref(self->workers);
	g_hash_table_unref(self->counts_cache);
	g_mutex_clear(&self->counts_lock);
	g_hash_table_unref(self->claims);
	g_ptr_array_unref(self->waiting_claims);
	g_clear_pointer(&self->openapi, g_bytes_unref);
	g_free(self->config.listen);
	g_free(self->url);
	g_free(self->url_path);
	G_OBJECT_CLASS(ark_frontend_http_parent_class)->finalize(object);
}

static void
ark_frontend_http_class_init(ArkFrontendHttpClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = ark_frontend_http_dispose;
	object_class->finalize = ark_frontend_http_finalize;
}

static void
ark_frontend_http_init(ArkFrontendHttp *self)
{
	self->workers = g_ptr_array_new();
	g_mutex_init(&self->counts_lock);
	self->submitted = g_ptr_array_new();
	self->counts_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->claims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->waiting_claims = g_ptr_array_new();
}

/* the plugin --------------------------------------------------------------------------------- */

#define ARK_TYPE_FRONTEND_HTTP_PLUGIN (ark_frontend_http_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendHttpPlugin, ark_frontend_http_plugin, ARK, FRONTEND_HTTP_PLUGIN,
		     ArkPlugin)

struct _ArkFrontendHttpPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkFrontendHttpPlugin, ark_frontend_http_plugin, ARK_TYPE_PLUGIN)

static gboolean
ark_frontend_http_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, ARK_FRONTEND_HTTP_PLUGIN_NAME,
					  ARK_FRONTEND_HTTP_PLUGIN_NAME,
					  ark_frontend_http_config_keys,
					  G_N_ELEMENTS(ark_frontend_http_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ARK_FRONTEND_HTTP_PLUGIN_NAME,
				     ARK_CAPABILITY_FRONTEND, "http", ARK_TYPE_FRONTEND_HTTP, error);
}

static void
ark_frontend_http_plugin_init(ArkFrontendHttpPlugin *self)
{
}

static void
ark_frontend_http_plugin_class_init(ArkFrontendHttpPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_frontend_http_plugin_startup;
}

ARK_PLUGIN_DEFINE(ARK_FRONTEND_HTTP_PLUGIN_NAME, ark_frontend_http_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later",
		  "HTTP API: runs, tasks, logs, the dead-letter queue, events (SSE), agents and "
		  "their assignments, health and metrics")
