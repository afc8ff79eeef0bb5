/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

#include "ark-frontend-dbus-generated.h"

G_BEGIN_DECLS

#define ARK_FRONTEND_DBUS_PLUGIN_NAME "frontend-dbus"
#define ARK_FRONTEND_DBUS_BUS_NAME "org.arkitect.Arkitect1"
#define ARK_FRONTEND_DBUS_OBJECT_PATH "/org/arkitect/Arkitect1"
/* TasksChanged carries at most this many tasks; more changes go into further signals */
#define ARK_FRONTEND_DBUS_MAX_TASKS_PER_SIGNAL 1000

typedef struct _ArkFrontendDbusSignals ArkFrontendDbusSignals;

/* the [frontend-dbus] settings, see ark_frontend_dbus_config_keys */
typedef struct {
	gint64 signal_interval; /* µs */
	gchar *admin_group;
	guint64 max_workflow_size;
	gint64 fd_timeout; /* µs */
} ArkFrontendDbusConfig;

#define ARK_TYPE_FRONTEND_DBUS (ark_frontend_dbus_get_type())
G_DECLARE_FINAL_TYPE(ArkFrontendDbus, ark_frontend_dbus, ARK, FRONTEND_DBUS, GObject)

struct _ArkFrontendDbus {
	GObject parent_instance;
	ArkEngine *engine;
	ArkFrontendDbusConfig config;
	GBusType bus_type; /* G_BUS_TYPE_NONE when off */
	GDBusConnection *connection;
	ArkDbusManager *skeleton;
	ArkDbusAgents *agents_skeleton;
	GPtrArray *claims; /* ArkFrontendDbusCall of Claim waiting for work (borrowed) */
	ArkFrontendDbusSignals *signals;
	guint owner_id;
	gulong closed_id;
	guint reconnect_id;
	GCancellable *connecting; /* while a connection is being made */
	gboolean automatic;	  /* the bus was chosen by [daemon] bus = auto */
	gboolean was_connected;	  /* the bus went away: try again every few seconds */
	gboolean owns_name;
	gint64 process_started_at; /* realtime µs */
	gboolean started;
};

/* method calls ------------------------------------------------------------------------------- */

typedef struct _ArkFrontendDbusCall ArkFrontendDbusCall;
typedef void (*ArkFrontendDbusMethodFunc)(ArkFrontendDbus *self, ArkFrontendDbusCall *call);

/* who may call a method */
typedef enum {
	ARK_FRONTEND_DBUS_ACCESS_READ,	/* everyone */
	ARK_FRONTEND_DBUS_ACCESS_ADMIN, /* root, the daemon's user, members of admin-group */
	ARK_FRONTEND_DBUS_ACCESS_AGENT, /* everyone; the method checks the agent's token */
} ArkFrontendDbusAccess;

typedef struct {
	const gchar *name;
	const gchar *action; /* the audit action of a method the frontend audits, or NULL */
	ArkFrontendDbusAccess access;
	ArkFrontendDbusMethodFunc func;
	/* the engine audits the call itself (the agent API): the frontend records only a
	 * refusal of its access rule, which the engine never sees */
	gboolean engine_audits;
} ArkFrontendDbusMethod;

struct _ArkFrontendDbusCall {
	ArkFrontendDbus *self;
	GDBusMethodInvocation *invocation;
	const ArkFrontendDbusMethod *method;
	GVariant *params; /* borrowed from @invocation */
	guint32 uid;
	gchar *user;  /* the uid's name, or NULL */
	gchar *actor; /* "uid 1000 (alice)" */
	gchar *origin;
	gchar *target;
	gchar *detail;
	/* SubmitFd, Claim */
	GInputStream *stream;
	GByteArray *data;
	GCancellable *cancellable;
	guint timeout_id;
	gboolean timed_out;
	gchar *key;
	gchar *policy;
	gboolean audit_failed;
	gboolean refused; /* by the access rule */
	/* Claim */
	gchar *agent_id;
	guint watch_id; /* the caller's name on the bus */
	gboolean vanished;
};

void ark_frontend_dbus_call_free(ArkFrontendDbusCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkFrontendDbusCall, ark_frontend_dbus_call_free)
/* answers @call with an error (any domain: others are reported as Failed) and frees it */
void ark_frontend_dbus_call_fail(ArkFrontendDbusCall *call, const GError *error);
void ark_frontend_dbus_call_failf(ArkFrontendDbusCall *call, ArkError code, const gchar *format,
				  ...) G_GNUC_PRINTF(3, 4);
/* answers @call with @value (a tuple, floating) and frees it */
void ark_frontend_dbus_call_return(ArkFrontendDbusCall *call, GVariant *value);
/* what was sent, cut short for an error message (transfer full) */
gchar *ark_frontend_dbus_shown(const gchar *value);

/* runs the method @invocation calls, after the access check its table entry asks for */
void ark_frontend_dbus_dispatch(ArkFrontendDbus *self, GDBusMethodInvocation *invocation);

/* the Agents interface (ark-frontend-dbus-agents.c) */
const ArkFrontendDbusMethod *ark_frontend_dbus_agents_methods(guint *out_n);
void ark_frontend_dbus_agents_connect(ArkFrontendDbus *self);
/* ends the claims still waiting (the frontend stops) */
void ark_frontend_dbus_agents_stop(ArkFrontendDbus *self);

/* records as a{sv} (ark-frontend-dbus-variant.c) */
GVariant *ark_frontend_dbus_run_to_variant(ArkFrontendDbus *self, const ArkRunRecord *run);
GVariant *ark_frontend_dbus_task_to_variant(const ArkTaskRecord *task, GVariantDict *extra);
GVariant *ark_frontend_dbus_attempt_to_variant(ArkFrontendDbus *self,
					       const ArkAttemptRecord *attempt);
/* a JSON object as a{sv}: nested objects a{sv}, arrays av, nulls left out (floating) */
GVariant *ark_frontend_dbus_json_to_variant(JsonObject *object);
/* counts[ARK_TASK_STATE_LAST] as a{su}, states with at least one task */
GVariant *ark_frontend_dbus_task_counts_to_variant(const guint *counts);
/* task counts of a run: the engine's for an open run, else from the store */
void ark_frontend_dbus_task_counts(ArkFrontendDbus *self, const gchar *run_id, guint *counts);

/* coalesced signals and the RunCounts/State properties (ark-frontend-dbus-signals.c) */
ArkFrontendDbusSignals *ark_frontend_dbus_signals_new(ArkFrontendDbus *self);
void ark_frontend_dbus_signals_free(ArkFrontendDbusSignals *signals);
/* the engine's "event" signal */
void ark_frontend_dbus_signals_push(ArkFrontendDbusSignals *signals, const ArkEvent *event);
/* sends what is pending now (before the frontend stops) */
void ark_frontend_dbus_signals_flush(ArkFrontendDbusSignals *signals);
/* how many signals were sent and task transitions seen, for the log */
void ark_frontend_dbus_signals_get_stats(ArkFrontendDbusSignals *signals, guint64 *out_signals,
					 guint64 *out_transitions);

G_END_DECLS
