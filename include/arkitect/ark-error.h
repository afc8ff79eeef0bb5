/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib.h>

#include "ark-api.h"

G_BEGIN_DECLS

#define ARK_ERROR (ark_error_quark())

/**
 * ArkError:
 *
 * The one error domain for failures that can reach a user or a client. Its codes map one to one to
 * D-Bus error names (org.arkitect.Arkitect1.Error.NotFound, ...), RFC 9457 problem types and
 * JSON-RPC errors.
 */
typedef enum {
	ARK_ERROR_FAILED,
	ARK_ERROR_INVALID_ARGUMENT,
	ARK_ERROR_NOT_FOUND,
	ARK_ERROR_EXISTS,
	ARK_ERROR_NOT_SUPPORTED,
	ARK_ERROR_PERMISSION_DENIED,
	ARK_ERROR_BUSY,
	ARK_ERROR_TIMED_OUT,
	ARK_ERROR_LIMIT_EXCEEDED,
	ARK_ERROR_STORAGE,
	ARK_ERROR_INTERNAL,
	ARK_ERROR_CONFLICT, /* a stale lease or fencing token, or a call the current state does not allow
			    * (ABI 1.3) */
	/*< private >*/
	ARK_ERROR_LAST
} ArkError;

#define ARK_PLUGIN_ERROR (ark_plugin_error_quark())

/**
 * ArkPluginError:
 *
 * Why the loader refused a plugin file.
 */
typedef enum {
	ARK_PLUGIN_ERROR_MODULE,	/* dlopen failed, e.g. an unresolved symbol */
	ARK_PLUGIN_ERROR_ENTRY_POINT,	/* no ark_plugin_query symbol */
	ARK_PLUGIN_ERROR_ABI_MISMATCH,	/* built for another plugin ABI */
	ARK_PLUGIN_ERROR_NAME_MISMATCH, /* descriptor name is not the file name */
	ARK_PLUGIN_ERROR_DUPLICATE,	/* a plugin of that name is already loaded */
	ARK_PLUGIN_ERROR_INVALID,	/* descriptor incomplete or type not an ArkPlugin */
	ARK_PLUGIN_ERROR_STARTUP,	/* the plugin's startup() failed */
	/*< private >*/
	ARK_PLUGIN_ERROR_LAST
} ArkPluginError;

ARK_API GQuark ark_error_quark(void);
ARK_API GQuark ark_plugin_error_quark(void);
ARK_API const gchar *ark_error_to_string(ArkError code);

G_END_DECLS
