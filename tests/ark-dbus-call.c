/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>

#include <gio/gio.h>

/*
 * ark-dbus-call ADDRESS INTERFACE METHOD ARGS_FILE: calls METHOD of INTERFACE on
 * org.arkitect.Arkitect1 /org/arkitect/Arkitect1 with the arguments of ARGS_FILE, a GVariant tuple
 * in text form, and prints the answer (or the D-Bus error name and message on stderr, exit 1).
 * What `gdbus call` does, for arguments larger than a command line may carry (a result of a few
 * MiB), so that tests/agents-dbus-test.py can send them. ADDRESS "session" is the session bus.
 */

int
main(int argc, char **argv)
{
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *printed = NULL;

	if (argc != 5) {
		g_printerr("usage: %s ADDRESS|session INTERFACE METHOD ARGS_FILE\n", argv[0]);
		return 2;
	}
	if (!g_file_get_contents(argv[4], &text, NULL, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	args = g_variant_parse(NULL, text, NULL, NULL, &error);
	if (args == NULL || !g_variant_is_of_type(args, G_VARIANT_TYPE_TUPLE)) {
		g_printerr("ARGS_FILE must hold a GVariant tuple: %s\n",
			   error != NULL ? error->message : "not a tuple");
		return 2;
	}
	if (g_strcmp0(argv[1], "session") == 0)
		connection = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	else
		connection = g_dbus_connection_new_for_address_sync(
		    argv[1],
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, &error);
	if (connection == NULL) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	reply = g_dbus_connection_call_sync(connection, "org.arkitect.Arkitect1",
					    "/org/arkitect/Arkitect1", argv[2], argv[3],
					    g_steal_pointer(&args), NULL, G_DBUS_CALL_FLAGS_NONE,
					    120000, NULL, &error);
	if (reply == NULL) {
		g_autofree gchar *name = g_dbus_error_get_remote_error(error);
		g_dbus_error_strip_remote_error(error);
		g_printerr("%s: %s\n", name != NULL ? name : "(local)", error->message);
		return 1;
	}
	printed = g_variant_print(reply, TRUE);
	g_print("%s\n", printed);
	return 0;
}
