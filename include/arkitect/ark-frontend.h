/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <gio/gio.h>

#include "ark-api.h"

G_BEGIN_DECLS

#define ARK_TYPE_FRONTEND (ark_frontend_get_type())
ARK_API G_DECLARE_INTERFACE(ArkFrontend, ark_frontend, ARK, FRONTEND, GObject)

/**
 * ArkFrontendInterface:
 * @start: start serving @engine (an ArkEngine from <arkitect/arkitect-core.h>), reading settings
 *   from @group of @config (may be NULL)
 * @stop: stop accepting requests and close connections
 *
 * A way in for clients (HTTP, MCP, D-Bus). Frontends start after every other plugin and stop
 * first. Main thread only.
 */
struct _ArkFrontendInterface {
	GTypeInterface g_iface;

	gboolean (*start)(ArkFrontend *self, gpointer engine, GKeyFile *config, const gchar *group,
			  GError **error);
	void (*stop)(ArkFrontend *self);

	/*< private >*/
	gpointer padding[16];
};

ARK_API gboolean ark_frontend_start(ArkFrontend *self, gpointer engine, GKeyFile *config,
				    const gchar *group, GError **error);
ARK_API void ark_frontend_stop(ArkFrontend *self);

G_END_DECLS
