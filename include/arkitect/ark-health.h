/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_CORE_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect-core.h> can be included directly."
#endif

#include <arkitect/arkitect.h>

G_BEGIN_DECLS

typedef enum {
	ARK_HEALTH_OK,
	ARK_HEALTH_DEGRADED, /* works, but something needs attention (a restarted executor) */
	ARK_HEALTH_FAILING,  /* can not do its job */
} ArkHealthStatus;

ARK_API const gchar *ark_health_status_to_string(ArkHealthStatus status);

/**
 * ArkHealthCheck:
 *
 * The outcome of one check of the health model: "store", "executor:NAME", "main-loop",
 * "accepting". A failing check with @blocks_ready set means the daemon can not accept work.
 */
typedef struct {
	gchar *name;
	ArkHealthStatus status;
	gchar *message; /* what is wrong, or a short "ok" statement */
	gboolean blocks_ready;
	gint64 since;	/* when the check entered its current status, microseconds since epoch */
} ArkHealthCheck;

ARK_API void ark_health_check_free(ArkHealthCheck *check);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArkHealthCheck, ark_health_check_free)

G_END_DECLS
