/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

G_DEFINE_INTERFACE(ArkFrontend, ark_frontend, G_TYPE_OBJECT)

static void
ark_frontend_default_init(ArkFrontendInterface *iface)
{
}

gboolean
ark_frontend_start(ArkFrontend *self, gpointer engine, GKeyFile *config, const gchar *group,
		   GError **error)
{
	ArkFrontendInterface *iface;
	g_return_val_if_fail(ARK_IS_FRONTEND(self), FALSE);
	g_return_val_if_fail(engine != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	iface = ARK_FRONTEND_GET_IFACE(self);
	if (iface->start == NULL) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_NOT_SUPPORTED,
				    "frontend has no start method");
		return FALSE;
	}
	return iface->start(self, engine, config, group, error);
}

void
ark_frontend_stop(ArkFrontend *self)
{
	ArkFrontendInterface *iface;
	g_return_if_fail(ARK_IS_FRONTEND(self));
	iface = ARK_FRONTEND_GET_IFACE(self);
	if (iface->stop != NULL)
		iface->stop(self);
}
