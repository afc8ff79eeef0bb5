/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "ark-frontend-http-private.h"

/*
 * Every error answer is an RFC 9457 problem document whose type ends in a nick: the ArkError
 * nick for errors from the engine and the store, or one of the HTTP-only nicks (unauthorized,
 * invalid-json, invalid-workflow, payload-too-large, ...). Clients switch on the nick.
 */

#define ARK_FRONTEND_HTTP_PROBLEM_BASE "https://arkitect.dev/problems/"
/* a busy engine (draining, a run finishing) is worth asking again shortly */
#define ARK_FRONTEND_HTTP_RETRY_AFTER "5"

void
ark_frontend_http_respond_json(SoupServerMessage *msg, guint status, GString *body)
{
	gsize len = body->len;
	gchar *data = g_string_free(body, FALSE);

	soup_server_message_set_status(msg, status, NULL);
	/* set_response() appends: a handler's earlier answer must not stay in front */
	soup_message_body_truncate(soup_server_message_get_response_body(msg));
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, data, len);
}

void
ark_frontend_http_respond_bytes(SoupServerMessage *msg, guint status, const gchar *content_type,
				GBytes *bytes)
{
	SoupMessageBody *body = soup_server_message_get_response_body(msg);

	soup_server_message_set_status(msg, status, NULL);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg),
				     "Content-Type", content_type);
	soup_message_body_truncate(body);
	/* the bytes themselves, not a copy: the OpenAPI document is a static resource */
	if (g_bytes_get_size(bytes) > 0)
		soup_message_body_append_bytes(body, bytes);
}

/* libsoup 3.2 has no phrase for the newer codes */
static const gchar *
ark_frontend_http_problem_title(guint status)
{
	if (status == ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS)
		return "Too Many Requests";
	if (status == SOUP_STATUS_UNPROCESSABLE_ENTITY)
		return "Unprocessable Content";
	return soup_status_get_phrase(status);
}

static GString *
ark_frontend_http_problem_build(guint status, const gchar *nick, const gchar *detail,
				const gchar *instance, const gchar *request_id,
				GPtrArray *problems)
{
	ArkFrontendHttpJson w;

	ark_frontend_http_json_init(&w, 256);
	ark_frontend_http_json_begin_object(&w);
	ark_frontend_http_json_key(&w, "type");
	{
		g_autofree gchar *type = g_strconcat(ARK_FRONTEND_HTTP_PROBLEM_BASE, nick, NULL);
		ark_frontend_http_json_string(&w, type);
	}
	ark_frontend_http_json_key(&w, "title");
	ark_frontend_http_json_string(&w, ark_frontend_http_problem_title(status));
	ark_frontend_http_json_key(&w, "status");
	ark_frontend_http_json_int(&w, status);
	ark_frontend_http_json_key(&w, "detail");
	ark_frontend_http_json_string(&w, detail);
	if (instance != NULL) {
		ark_frontend_http_json_key(&w, "instance");
		ark_frontend_http_json_string(&w, instance);
	}
	ark_frontend_http_json_key(&w, "request_id");
	ark_frontend_http_json_string(&w, request_id);
	if (problems != NULL) {
		ark_frontend_http_json_key(&w, "errors");
		ark_frontend_http_json_begin_array(&w);
		for (guint i = 0; i < problems->len; i++) {
			const ArkProblem *problem = g_ptr_array_index(problems, i);
			ark_frontend_http_json_begin_object(&w);
			ark_frontend_http_json_key(&w, "message");
			ark_frontend_http_json_string(&w, problem->message);
			if (problem->path != NULL && problem->path[0] != '\0') {
				ark_frontend_http_json_key(&w, "path");
				ark_frontend_http_json_string(&w, problem->path);
			}
			if (problem->line > 0) {
				ark_frontend_http_json_key(&w, "line");
				ark_frontend_http_json_int(&w, problem->line);
				ark_frontend_http_json_key(&w, "column");
				ark_frontend_http_json_int(&w, problem->column);
			}
			ark_frontend_http_json_end_object(&w);
		}
		ark_frontend_http_json_end_array(&w);
	}
	ark_frontend_http_json_end_object(&w);
	return ark_frontend_http_json_steal(&w);
}

static void
ark_frontend_http_problem_send(SoupServerMessage *msg, guint status, const gchar *nick,
			       const gchar *detail, GPtrArray *problems)
{
	ArkFrontendHttpRequest *req = ark_frontend_http_request_get(msg);
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	GString *body;
	gsize len;

	body = ark_frontend_http_problem_build(
	    status, nick, detail, g_uri_get_path(soup_server_message_get_uri(msg)),
	    req != NULL ? req->request_id : NULL, problems);
	if (req != NULL)
		req->problem = nick;
	/* whatever a handler had put there is not part of an error answer */
	soup_message_headers_remove(headers, "Location");
	if (status == SOUP_STATUS_SERVICE_UNAVAILABLE || status == ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS)
		soup_message_headers_replace(headers, "Retry-After",
					     ARK_FRONTEND_HTTP_RETRY_AFTER);
	soup_server_message_set_status(msg, status, NULL);
	soup_message_body_truncate(soup_server_message_get_response_body(msg));
	len = body->len;
	soup_server_message_set_response(msg, "application/problem+json", SOUP_MEMORY_TAKE,
					 g_string_free(body, FALSE), len);
}

void
ark_frontend_http_problem(SoupServerMessage *msg, guint status, const gchar *nick,
			  const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *detail = NULL;

	va_start(args, format);
	detail = g_strdup_vprintf(format, args);
	va_end(args);
	ark_frontend_http_problem_send(msg, status, nick, detail, NULL);
}

void
ark_frontend_http_problem_with_errors(SoupServerMessage *msg, guint status, const gchar *nick,
				      const gchar *detail, GPtrArray *problems)
{
	ark_frontend_http_problem_send(msg, status, nick, detail, problems);
}

guint
ark_frontend_http_error_status(const GError *error, const gchar **out_nick)
{
	static const guint statuses[] = {
	    [ARK_ERROR_FAILED] = SOUP_STATUS_INTERNAL_SERVER_ERROR,
	    [ARK_ERROR_INVALID_ARGUMENT] = SOUP_STATUS_BAD_REQUEST,
	    [ARK_ERROR_NOT_FOUND] = SOUP_STATUS_NOT_FOUND,
	    [ARK_ERROR_EXISTS] = SOUP_STATUS_CONFLICT,
	    [ARK_ERROR_NOT_SUPPORTED] = SOUP_STATUS_NOT_IMPLEMENTED,
	    [ARK_ERROR_PERMISSION_DENIED] = SOUP_STATUS_FORBIDDEN,
	    [ARK_ERROR_BUSY] = SOUP_STATUS_SERVICE_UNAVAILABLE,
	    [ARK_ERROR_TIMED_OUT] = SOUP_STATUS_GATEWAY_TIMEOUT,
	    [ARK_ERROR_LIMIT_EXCEEDED] = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
	    [ARK_ERROR_STORAGE] = SOUP_STATUS_SERVICE_UNAVAILABLE,
	    [ARK_ERROR_INTERNAL] = SOUP_STATUS_INTERNAL_SERVER_ERROR,
	    [ARK_ERROR_CONFLICT] = SOUP_STATUS_CONFLICT,
	};
	G_STATIC_ASSERT(G_N_ELEMENTS(statuses) == ARK_ERROR_LAST);

	if (error == NULL || error->domain != ARK_ERROR || error->code < 0 ||
	    error->code >= ARK_ERROR_LAST) {
		*out_nick = ark_error_to_string(ARK_ERROR_INTERNAL);
		return SOUP_STATUS_INTERNAL_SERVER_ERROR;
	}
	*out_nick = ark_error_to_string(error->code);
	return statuses[error->code];
}

void
ark_frontend_http_problem_from_error(SoupServerMessage *msg, const GError *error)
{
	const gchar *nick = NULL;
	guint status = ark_frontend_http_error_status(error, &nick);

	if (status >= 500 && status != SOUP_STATUS_SERVICE_UNAVAILABLE)
		g_warning("%s %s: %s", soup_server_message_get_method(msg),
			  g_uri_get_path(soup_server_message_get_uri(msg)),
			  error != NULL ? error->message : "unknown error");
	ark_frontend_http_problem_send(msg, status, nick,
				       error != NULL ? error->message : "unknown error", NULL);
}

gchar *
ark_frontend_http_problem_raw(guint status, const gchar *nick, const gchar *detail,
			      const gchar *request_id)
{
	g_autoptr(GString) body =
	    ark_frontend_http_problem_build(status, nick, detail, NULL, request_id, NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = soup_date_time_to_string(now, SOUP_DATE_HTTP);

	return g_strdup_printf("HTTP/1.1 %u %s\r\n"
			       "Date: %s\r\n"
			       "Content-Type: application/problem+json\r\n"
			       "Content-Length: %" G_GSIZE_FORMAT "\r\n"
			       "Connection: close\r\n"
			       "X-Request-Id: %s\r\n"
			       "\r\n"
			       "%s",
			       status, ark_frontend_http_problem_title(status), date, body->len,
			       request_id != NULL ? request_id : "", body->str);
}
