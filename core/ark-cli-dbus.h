/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arkitect/arkitect-core.h>

G_BEGIN_DECLS

/*
 * The command line as a client of arkitectd over its D-Bus interface (docs/dbus.md): the
 * requests the HTTP client makes are answered by the matching D-Bus methods, in the same JSON
 * shape, so that every command prints the same whichever way it reached the daemon.
 */
typedef struct _ArkCliDbus ArkCliDbus;

/*
 * The daemon on the bus: @bus is "session", "system" or NULL for the session bus when its
 * address is set, then the system bus. NULL when no bus can be reached or nobody owns
 * org.arkitect.Arkitect1 on it (@error says why, for messages).
 */
ArkCliDbus *ark_cli_dbus_find(const gchar *bus, GError **error);
void ark_cli_dbus_free(ArkCliDbus *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkCliDbus, ark_cli_dbus_free)

/* "the session bus", for messages */
const gchar *ark_cli_dbus_describe(ArkCliDbus *self);

/*
 * One request of the HTTP API (docs/http-api.md: @method, @path with its query, the JSON @body,
 * the Idempotency-Key) made over D-Bus. Returns the object the HTTP API would answer, with
 * @out_status the HTTP status it would have; on failure NULL with @error (its message the
 * daemon's) and @out_status the status of the matching problem, 0 when the bus failed. Logs and
 * event streams are not on D-Bus: ARK_ERROR_NOT_SUPPORTED.
 */
JsonObject *ark_cli_dbus_request(ArkCliDbus *self, const gchar *method, const gchar *path,
				 GBytes *body, const gchar *idempotency_key, guint *out_status,
				 GError **error);

G_END_DECLS
