/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect-core.h>

const gchar *
ark_health_status_to_string(ArkHealthStatus status)
{
	switch (status) {
	case ARK_HEALTH_OK:
		return "ok";
	case ARK_HEALTH_DEGRADED:
		return "degraded";
	case ARK_HEALTH_FAILING:
		return "failing";
	}
	return "unknown";
}

void
ark_health_check_free(ArkHealthCheck *check)
{
	if (check == NULL)
		return;
	g_free(check->name);
	g_free(check->message);
	g_free(check);
}
