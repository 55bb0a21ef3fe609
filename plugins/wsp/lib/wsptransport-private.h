/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of the WSP transport share (wspconnection.c,
 * wspclient.c, wspserver.c). Not installed. */

#pragma once

#include "wsptransport.h"

G_BEGIN_DECLS

/* libsoup's own table of header names is private. */
#define HEADER_PROTOCOL "Sec-WebSocket-Protocol"

/* @out: @limits (NULL: all defaults) with every 0 replaced by its default. */
G_GNUC_INTERNAL
void wsp_limits_resolve (const WspLimits * limits, WspLimits * out);

/* Takes @ws over; @ws must be open and on the thread-default context. */
G_GNUC_INTERNAL
WspConnection *wsp_connection_new (SoupWebsocketConnection * ws,
    GSocketAddress * remote_address, const WspLimits * limits);

/* @base read through a guard that fails the read once a data message
 * grows past @limit bytes (wspserver.c). */
G_GNUC_INTERNAL
GIOStream *wsp_guard_stream_new (GIOStream * base, guint64 limit);

/* wsp_connect_async() for an `inproc://NAME` @uri: returns the connection
 * or the error on @task (wsplocal.c). */
G_GNUC_INTERNAL
void wsp_local_connect (const gchar * uri, const WspLimits * limits,
    GTask * task);

G_END_DECLS
