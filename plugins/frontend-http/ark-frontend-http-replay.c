/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-frontend-http-private.h"

/*
 * The input of a connection one of the server threads hands to the main thread: first the head
 * of the request it had read (rebuilt from the parsed message), then whatever the connection
 * still holds, from the stolen stream that kept libsoup's read buffer. The main thread's
 * SoupServer reads it as it reads any connection, so libsoup must be able to poll it.
 */

struct _ArkFrontendHttpReplay {
	GInputStream parent_instance;
	GIOStream *base; /* the stolen connection, closed with this stream */
	GInputStream *base_input;
	GBytes *head;
	gsize offset; /* of what is left of @head */
};

static void ark_frontend_http_replay_pollable_iface_init(GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkFrontendHttpReplay, ark_frontend_http_replay, G_TYPE_INPUT_STREAM,
			      G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
						    ark_frontend_http_replay_pollable_iface_init))

static gsize
ark_frontend_http_replay_take_head(ArkFrontendHttpReplay *self, void *buffer, gsize count)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(self->head, &len);
	gsize n = MIN(count, len - self->offset);

	memcpy(buffer, data + self->offset, n);
	self->offset += n;
	return n;
}

static gboolean
ark_frontend_http_replay_has_head(ArkFrontendHttpReplay *self)
{
	return self->offset < g_bytes_get_size(self->head);
}

static gssize
ark_frontend_http_replay_read(GInputStream *stream, void *buffer, gsize count,
			      GCancellable *cancellable, GError **error)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(stream);

	if (ark_frontend_http_replay_has_head(self))
		return (gssize)ark_frontend_http_replay_take_head(self, buffer, count);
	return g_input_stream_read(self->base_input, buffer, count, cancellable, error);
}

static gboolean
ark_frontend_http_replay_close(GInputStream *stream, GCancellable *cancellable, GError **error)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(stream);

	return g_io_stream_close(self->base, cancellable, error);
}

static gboolean
ark_frontend_http_replay_can_poll(GPollableInputStream *stream)
{
	return TRUE;
}

static gboolean
ark_frontend_http_replay_is_readable(GPollableInputStream *stream)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(stream);

	return ark_frontend_http_replay_has_head(self) ||
	       g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base_input));
}

static GSource *
ark_frontend_http_replay_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(stream);
	g_autoptr(GSource) base = NULL;

	/* the head is there at once */
	if (ark_frontend_http_replay_has_head(self))
		base = g_timeout_source_new(0);
	else
		base = g_pollable_input_stream_create_source(
		    G_POLLABLE_INPUT_STREAM(self->base_input), cancellable);
	return g_pollable_source_new_full(stream, base, cancellable);
}

static gssize
ark_frontend_http_replay_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
					  GError **error)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(stream);

	if (ark_frontend_http_replay_has_head(self))
		return (gssize)ark_frontend_http_replay_take_head(self, buffer, count);
	return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base_input),
							buffer, count, NULL, error);
}

static void
ark_frontend_http_replay_pollable_iface_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = ark_frontend_http_replay_can_poll;
	iface->is_readable = ark_frontend_http_replay_is_readable;
	iface->create_source = ark_frontend_http_replay_create_source;
	iface->read_nonblocking = ark_frontend_http_replay_read_nonblocking;
}

static void
ark_frontend_http_replay_finalize(GObject *object)
{
	ArkFrontendHttpReplay *self = ARK_FRONTEND_HTTP_REPLAY(object);

	g_object_unref(self->base);
	g_bytes_unref(self->head);
	G_OBJECT_CLASS(ark_frontend_http_replay_parent_class)->finalize(object);
}

static void
ark_frontend_http_replay_class_init(ArkFrontendHttpReplayClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GInputStreamClass *input_class = G_INPUT_STREAM_CLASS(klass);

	object_class->finalize = ark_frontend_http_replay_finalize;
	input_class->read_fn = ark_frontend_http_replay_read;
	input_class->close_fn = ark_frontend_http_replay_close;
}

static void
ark_frontend_http_replay_init(ArkFrontendHttpReplay *self)
{
}

/* the request line and headers of @msg as a client sends them */
static GBytes *
ark_frontend_http_replay_head(SoupServerMessage *msg)
{
	GUri *uri = soup_server_message_get_uri(msg);
	GString *head = g_string_sized_new(1024);
	SoupMessageHeadersIter iter;
	const gchar *name;
	const gchar *value;

	g_string_append_printf(head, "%s %s%s%s HTTP/1.%d\r\n", soup_server_message_get_method(msg),
			       g_uri_get_path(uri), g_uri_get_query(uri) != NULL ? "?" : "",
			       g_uri_get_query(uri) != NULL ? g_uri_get_query(uri) : "",
			       soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0 ? 0 : 1);
	soup_message_headers_iter_init(&iter, soup_server_message_get_request_headers(msg));
	while (soup_message_headers_iter_next(&iter, &name, &value))
		g_string_append_printf(head, "%s: %s\r\n", name, value);
	g_string_append(head, "\r\n");
	return g_string_free_to_bytes(head);
}

GIOStream *
ark_frontend_http_replay_new(SoupServerMessage *msg, GIOStream *stolen)
{
	ArkFrontendHttpReplay *self = g_object_new(ARK_TYPE_FRONTEND_HTTP_REPLAY, NULL);
	GIOStream *stream;

	self->base = g_object_ref(stolen);
	self->base_input = g_io_stream_get_input_stream(stolen);
	self->head = ark_frontend_http_replay_head(msg);
	stream = g_simple_io_stream_new(G_INPUT_STREAM(self), g_io_stream_get_output_stream(stolen));
	g_object_unref(self);
	return stream;
}
