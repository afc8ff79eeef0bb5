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
