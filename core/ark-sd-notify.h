/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram of
 * newline-separated assignments to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name starting with '@'). Without $NOTIFY_SOCKET it does nothing and returns FALSE.
 */
gboolean ark_sd_notify(const gchar *state);
gboolean ark_sd_notifyf(const gchar *format, ...) G_GNUC_PRINTF(1, 2);

/* the watchdog interval systemd expects pings within ($WATCHDOG_USEC, for this process per
 * $WATCHDOG_PID), 0 when there is no watchdog */
guint64 ark_sd_watchdog_usec(void);

G_END_DECLS
