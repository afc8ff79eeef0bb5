/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>
#include <libsoup/soup.h>

#include "ark-frontend-http-json.h"
#include "ark-frontend-http-routes.h"

G_BEGIN_DECLS

#define ARK_FRONTEND_HTTP_PLUGIN_NAME "frontend-http"
/* not in libsoup 3.2's SoupStatus */
#define ARK_FRONTEND_HTTP_STATUS_TOO_MANY_REQUESTS 429

typedef struct _ArkFrontendHttpAuth ArkFrontendHttpAuth;
typedef struct _ArkFrontendHttpEvents ArkFrontendHttpEvents;
typedef struct _ArkFrontendHttpMetrics ArkFrontendHttpMetrics;
typedef struct _ArkFrontendHttpServer ArkFrontendHttpServer;

/* the [frontend-http] settings, see ark_frontend_http_config_keys */
typedef struct {
	gchar *listen;
	guint64 max_body_size;
	guint max_json_depth;
	guint max_tasks_per_run;
	guint max_event_streams;
	gint64 request_timeout;	  /* µs */
	gint64 keepalive_timeout; /* µs */
	guint64 max_stream_buffer;
	gboolean open_health;
	gboolean open_metrics;
	guint threads; /* server threads beside the main one */
} ArkFrontendHttpConfig;

#define ARK_TYPE_FRONTEND_HTTP (ark_frontend_http_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendHttp, ark_frontend_http, ARK, FRONTEND_HTTP, GObject)

struct _ArkFrontendHttp {
	GObject parent_instance;
	ArkEngine *engine;
	ArkFrontendHttpServer *server; /* the main thread's */
	GPtrArray *workers;	       /* ArkFrontendHttpServer*, each with its thread */
	gboolean workers_serve;	       /* no mount hides the routes the workers answer */
	ArkFrontendHttpConfig config;
	ArkFrontendHttpAuth *auth;
	ArkFrontendHttpEvents *events;
	ArkFrontendHttpMetrics *metrics;
	gulong event_handler_id;
	gchar *url;	 /* what was written to http.url */
	gchar *url_path; /* <state_dir>/http.url, or NULL without a state dir */
	/* task counts of finished runs by run id (guint[ARK_TASK_STATE_LAST]); an event of the
	 * run drops its entry (a replay reopens it). Under counts_lock (the server threads use
	 * it); counts_generation counts the drops, so that counts read from the store before one
	 * are not cached after it */
	GHashTable *counts_cache;
	GMutex counts_lock;
	guint64 counts_generation;
	GBytes *openapi;
	/* submissions the engine committed, answered (and audited) together from an idle */
	GPtrArray *submitted;
	guint submitted_id;
	gint64 process_started_at; /* realtime µs */
	GHashTable *claims; /* agent id -> GUINT_TO_POINTER(claims waiting for work) */
	GPtrArray *waiting_claims; /* the claims of ark-frontend-http-agents.c that wait */
	gboolean started;
};

/* one HTTP request, kept on its SoupServerMessage from "request-started" on */
typedef struct {
	ArkFrontendHttp *self;
	ArkFrontendHttpServer *server; /* the one it came to */
	gchar request_id[129];
	const ArkFrontendHttpRoute *route; /* NULL until matched */
	gchar *params[ARK_FRONTEND_HTTP_MAX_PARAMS];
	gchar *actor; /* the token's name once authenticated (an agent's: its id) */
	gboolean admin;
	gchar *agent_id; /* the agent whose token it was, or NULL for an API token */
	gint64 started; /* monotonic µs */
	guint64 body_bytes;
	gboolean streaming; /* a long-lived response (events, log follow) */
	const gchar *problem; /* the problem nick of the response, NULL while it is fine */
	gchar *audit_target;  /* what a mutating request acted on, once known */
	gchar *audit_detail;  /* a JSON object for the audit record, or NULL */
	gboolean audited;
	gboolean deferred; /* paused until the engine has committed what it did */
	gchar *mount_path; /* served by another plugin's ArkHttpMount, or NULL */
	gchar *origin;	   /* "http 127.0.0.1:41234", for a mount */
} ArkFrontendHttpRequest;

ArkFrontendHttpRequest *ark_frontend_http_request_get(SoupServerMessage *msg);
/* "http 127.0.0.1:41234" (transfer full) */
gchar *ark_frontend_http_request_origin(SoupServerMessage *msg);
/* closes the connection of @msg from under libsoup: it sees the end of the stream and drops it */
void ark_frontend_http_shutdown_socket(GSocket *socket);
/* what a watch on the socket of a paused or streaming message saw */
typedef enum {
	ARK_FRONTEND_HTTP_SOCKET_QUIET,	    /* nothing: keep watching */
	ARK_FRONTEND_HTTP_SOCKET_PIPELINED, /* a next request, read after this answer */
	ARK_FRONTEND_HTTP_SOCKET_GONE,	    /* the client closed it or it failed */
} ArkFrontendHttpSocketState;
ArkFrontendHttpSocketState ark_frontend_http_socket_state(GSocket *socket, GIOCondition condition);
/* the socket of @msg's connection, also for one a server thread handed to the main one (libsoup
 * knows none for those) */
GSocket *ark_frontend_http_message_get_socket(SoupServerMessage *msg);
/* the store to read from on this thread: a server thread's reader, else the engine's */
ArkStore *ark_frontend_http_store(ArkFrontendHttp *self);
/* TRUE on a server thread, where only the store (ark_frontend_http_store()) may be used */
gboolean ark_frontend_http_in_worker(void);

/* a connection's input for the main thread: @msg's head, then what @stolen still holds
 * (ark-frontend-http-replay.c) */
#define ARK_TYPE_FRONTEND_HTTP_REPLAY (ark_frontend_http_replay_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendHttpReplay, ark_frontend_http_replay, ARK, FRONTEND_HTTP_REPLAY,
		     GInputStream)
GIOStream *ark_frontend_http_replay_new(SoupServerMessage *msg, GIOStream *stolen);

/* responses (ark-frontend-http-problem.c) */
void ark_frontend_http_respond_json(SoupServerMessage *msg, guint status, GString *body);
void ark_frontend_http_respond_bytes(SoupServerMessage *msg, guint status,
				     const gchar *content_type, GBytes *bytes);
void ark_frontend_http_problem(SoupServerMessage *msg, guint status, const gchar *nick,
			       const gchar *format, ...) G_GNUC_PRINTF(4, 5);
/* 422 or 400 with an "errors" array built from ArkProblem elements */
void ark_frontend_http_problem_with_errors(SoupServerMessage *msg, guint status,
					   const gchar *nick, const gchar *detail,
					   GPtrArray *problems);
/* the status and nick of an ARK_ERROR (others are internal errors) */
guint ark_frontend_http_error_status(const GError *error, const gchar **out_nick);
void ark_frontend_http_problem_from_error(SoupServerMessage *msg, const GError *error);
/* the raw HTTP/1.1 bytes of a problem response, for a connection libsoup is still reading */
gchar *ark_frontend_http_problem_raw(guint status, const gchar *nick, const gchar *detail,
				     const gchar *request_id);

/* auth (ark-frontend-http-auth.c) */
typedef enum {
	ARK_FRONTEND_HTTP_AUTH_OK,
	ARK_FRONTEND_HTTP_AUTH_MISSING,
	ARK_FRONTEND_HTTP_AUTH_INVALID,
} ArkFrontendHttpAuthResult;

ArkFrontendHttpAuth *ark_frontend_http_auth_new(const gchar *state_dir, GKeyFile *config,
						const gchar *group, GError **error);
void ark_frontend_http_auth_free(ArkFrontendHttpAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkFrontendHttpAuth, ark_frontend_http_auth_free)
/* checks an Authorization header value; on OK, the token's name (borrowed) and scope */
ArkFrontendHttpAuthResult ark_frontend_http_auth_check(ArkFrontendHttpAuth *auth,
						       const gchar *authorization,
						       const gchar **out_name,
						       gboolean *out_admin);
/* the TOKEN of an Authorization header "Bearer TOKEN", or NULL (transfer full): an agent's token
 * is the engine's to check (ark_engine_authenticate_agent()) */
gchar *ark_frontend_http_auth_bearer(const gchar *authorization);

/* events and streams (ark-frontend-http-events.c) */
ArkFrontendHttpEvents *ark_frontend_http_events_new(ArkFrontendHttp *self);
void ark_frontend_http_events_free(ArkFrontendHttpEvents *events);
/* the engine's "event" signal: every committed event, in seq order */
void ark_frontend_http_events_push(ArkFrontendHttpEvents *events, const ArkEvent *event);
/* GET /api/v1/events */
void ark_frontend_http_events_serve(ArkFrontendHttp *self, SoupServerMessage *msg,
				    ArkFrontendHttpRequest *req, GHashTable *query);
/* GET .../log?follow=true of a running attempt: @fd is open on the log (or -1 until it
 * exists), @path where it is */
void ark_frontend_http_events_follow_log(ArkFrontendHttp *self, SoupServerMessage *msg,
					 ArkFrontendHttpRequest *req, const gchar *path,
					 gint64 offset, const gchar *run_id, const gchar *task_id,
					 guint attempt);
guint ark_frontend_http_events_get_n_streams(ArkFrontendHttpEvents *events);
/* once a second: ends streams whose client has not read anything for request-timeout */
void ark_frontend_http_events_sweep(ArkFrontendHttpEvents *events, gint64 now);
void ark_frontend_http_events_close_all(ArkFrontendHttpEvents *events);
/* the SSE data of one event: {"seq",...} (transfer full) */
GString *ark_frontend_http_events_to_json(const ArkEvent *event);

/* metrics (ark-frontend-http-metrics.c) */
ArkFrontendHttpMetrics *ark_frontend_http_metrics_new(void);
void ark_frontend_http_metrics_free(ArkFrontendHttpMetrics *metrics);
void ark_frontend_http_metrics_observe(ArkFrontendHttpMetrics *metrics, const gchar *route,
				       const gchar *method, guint status, gdouble seconds,
				       gboolean streaming);
void ark_frontend_http_metrics_set_streams(ArkFrontendHttpMetrics *metrics, guint n);
/* the engine's metrics, the HTTP ones and process_* (transfer full) */
gchar *ark_frontend_http_metrics_render(ArkFrontendHttp *self);
/* when this process started, µs since the epoch, from /proc/self/stat */
gint64 ark_frontend_http_metrics_process_start_time(void);

/* handlers (ark-frontend-http-handlers.c) */
void ark_frontend_http_handlers_dispatch(ArkFrontendHttp *self, SoupServerMessage *msg,
					 ArkFrontendHttpRequest *req, GHashTable *query);
/* writes the audit record of a mutating request, durable before it returns unless @flush is
 * FALSE; FALSE when it could not be stored */
gboolean ark_frontend_http_handlers_audit(ArkFrontendHttp *self, SoupServerMessage *msg,
					  ArkFrontendHttpRequest *req, const gchar *target,
					  const gchar *detail, gboolean flush);
/* drops submissions waiting for their commit (the frontend stops) */
void ark_frontend_http_handlers_clear(ArkFrontendHttp *self);
/* the handlers' shared helpers for request bodies (ark-frontend-http-handlers.c) */
/* the optional JSON object body of a POST; NULL with no body, or after a 4xx (@out_ok FALSE) */
JsonObject *ark_frontend_http_body_object(ArkFrontendHttp *self, SoupServerMessage *msg,
					  gboolean *out_ok);
/* FALSE after a 400 when @object has a member not in @allowed */
gboolean ark_frontend_http_check_members(SoupServerMessage *msg, JsonObject *object,
					 const gchar *const *allowed);
/* a string member that may be absent; FALSE after a 400 when it is not a string or too long */
gboolean ark_frontend_http_member_string(SoupServerMessage *msg, JsonObject *object,
					 const gchar *name, gsize max_len,
					 const gchar **out_value);
/* a JSON object answered with @status */
void ark_frontend_http_respond_object(SoupServerMessage *msg, guint status, JsonObject *object);

/* the agent routes (ark-frontend-http-agents.c) */
void ark_frontend_http_agents_register(ArkFrontendHttp *self, SoupServerMessage *msg,
				       ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_list(ArkFrontendHttp *self, SoupServerMessage *msg,
				   ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_get(ArkFrontendHttp *self, SoupServerMessage *msg,
				  ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_remove(ArkFrontendHttp *self, SoupServerMessage *msg,
				     ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_heartbeat(ArkFrontendHttp *self, SoupServerMessage *msg,
					ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_claim(ArkFrontendHttp *self, SoupServerMessage *msg,
				    ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_own_assignments(ArkFrontendHttp *self, SoupServerMessage *msg,
					      ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_list(ArkFrontendHttp *self, SoupServerMessage *msg,
					      ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_get(ArkFrontendHttp *self, SoupServerMessage *msg,
					     ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_explain(ArkFrontendHttp *self, SoupServerMessage *msg,
						 ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_heartbeat(ArkFrontendHttp *self, SoupServerMessage *msg,
						   ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_complete(ArkFrontendHttp *self, SoupServerMessage *msg,
						  ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_fail(ArkFrontendHttp *self, SoupServerMessage *msg,
					      ArkFrontendHttpRequest *req, GHashTable *query);
void ark_frontend_http_agents_assignment_release(ArkFrontendHttp *self, SoupServerMessage *msg,
						 ArkFrontendHttpRequest *req, GHashTable *query);
/* the server stops: waiting claims are withdrawn (their messages go with the server) */
void ark_frontend_http_agents_stop(ArkFrontendHttp *self);
/* whether @id may be an agent id / assignment id */
gboolean ark_frontend_http_valid_agent_id(const gchar *id);
gboolean ark_frontend_http_valid_assignment_id(const gchar *id);

/* whether @id may be a run id / task id (what the engine creates and the workflow format
 * allows) */
gboolean ark_frontend_http_valid_run_id(const gchar *id);
gboolean ark_frontend_http_valid_task_id(const gchar *id);

G_END_DECLS
