/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>

#include <arkitect/arkitect.h>

/* the D-Bus names are part of the interface: clients match on them */
static const GDBusErrorEntry ark_error_entries[] = {
    {ARK_ERROR_FAILED, "org.arkitect.Arkitect1.Error.Failed"},
    {ARK_ERROR_INVALID_ARGUMENT, "org.arkitect.Arkitect1.Error.InvalidArgument"},
    {ARK_ERROR_NOT_FOUND, "org.arkitect.Arkitect1.Error.NotFound"},
    {ARK_ERROR_EXISTS, "org.arkitect.Arkitect1.Error.Exists"},
    {ARK_ERROR_NOT_SUPPORTED, "org.arkitect.Arkitect1.Error.NotSupported"},
    {ARK_ERROR_PERMISSION_DENIED, "org.arkitect.Arkitect1.Error.PermissionDenied"},
    {ARK_ERROR_BUSY, "org.arkitect.Arkitect1.Error.Busy"},
    {ARK_ERROR_TIMED_OUT, "org.arkitect.Arkitect1.Error.TimedOut"},
    {ARK_ERROR_LIMIT_EXCEEDED, "org.arkitect.Arkitect1.Error.LimitExceeded"},
    {ARK_ERROR_STORAGE, "org.arkitect.Arkitect1.Error.Storage"},
    {ARK_ERROR_INTERNAL, "org.arkitect.Arkitect1.Error.Internal"},
    {ARK_ERROR_CONFLICT, "org.arkitect.Arkitect1.Error.Conflict"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_error_entries) == ARK_ERROR_LAST);

static const GDBusErrorEntry ark_plugin_error_entries[] = {
    {ARK_PLUGIN_ERROR_MODULE, "org.arkitect.Arkitect1.PluginError.Module"},
    {ARK_PLUGIN_ERROR_ENTRY_POINT, "org.arkitect.Arkitect1.PluginError.EntryPoint"},
    {ARK_PLUGIN_ERROR_ABI_MISMATCH, "org.arkitect.Arkitect1.PluginError.AbiMismatch"},
    {ARK_PLUGIN_ERROR_NAME_MISMATCH, "org.arkitect.Arkitect1.PluginError.NameMismatch"},
    {ARK_PLUGIN_ERROR_DUPLICATE, "org.arkitect.Arkitect1.PluginError.Duplicate"},
    {ARK_PLUGIN_ERROR_INVALID, "org.arkitect.Arkitect1.PluginError.Invalid"},
    {ARK_PLUGIN_ERROR_STARTUP, "org.arkitect.Arkitect1.PluginError.Startup"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_plugin_error_entries) == ARK_PLUGIN_ERROR_LAST);

GQuark
ark_error_quark(void)
{
	static gsize quark = 0;
	/* thread-safe once-init, unlike a lazily set static quark */
	g_dbus_error_register_error_domain("ark-error-quark", &quark, ark_error_entries,
					   G_N_ELEMENTS(ark_error_entries));
	return (GQuark)quark;
}

GQuark
ark_plugin_error_quark(void)
{
	static gsize quark = 0;
	g_dbus_error_register_error_domain("ark-plugin-error-quark", &quark,
					   ark_plugin_error_entries,
					   G_N_ELEMENTS(ark_plugin_error_entries));
	return (GQuark)quark;
}

const gchar *
ark_error_to_string(ArkError code)
{
	static const gchar *names[] = {
	    "failed",	 "invalid-argument", "not-found",	 "exists",
	    "not-supported", "permission-denied", "busy",	 "timed-out",
	    "limit-exceeded", "storage",	  "internal",	  "conflict",
	};
	G_STATIC_ASSERT(G_N_ELEMENTS(names) == ARK_ERROR_LAST);
	if ((guint)code >= ARK_ERROR_LAST)
		return "failed";
	return names[code];
}
