/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom WSP router over WspConnection: the adapter that attaches an
 * accepted WSP socket (wsptransport.h) to a WspRouter (wsprouter.h, where
 * the rules are). The socket's messages, its "closed" and its
 * "protocol-error" (the transport has sent `bye` 400 itself) go to the
 * router; the router's sends, `bye`s and closes go to the socket; the
 * first-message timer is a GLib timeout on the main context that was
 * thread-default at wsp_router_accept_connection(), which must be the
 * connection's. Who the peer is (the identity) and what the door does with
 * an invite are the caller's.
 *
 * Sockets the router is done with are closed, and kept (a reference held
 * by their "closed" handler) until the close handshake is over: libsoup
 * cuts a WebSocket dropped while closing, and the `bye` could be lost. The
 * main context must keep running for them to go. */

#pragma once

#include "wsprouter.h"
#include "wsptransport.h"

G_BEGIN_DECLS

/**
 * WspRouterDoorFunc:
 * @connection: the caller's socket
 * @invite: its `invite`, whose `callee.uri` is the door and whose
 *   `caller.uri` is @identity (or, for a peer station, at its host); valid
 *   during the call only
 * @identity: the socket's authenticated identity
 * @user_data: as given to wsp_router_accept_connection()
 *
 * An invite for the door. The router has already let go of @connection (its
 * handlers are gone): take a reference to keep it, e.g. to hand it to a
 * wspsignaller with "accept-call", or refuse it with
 * wsp_connection_send_bye_and_close() (403 allow-list, 486 busy...). A
 * connection closed here is kept until its close handshake is over; one
 * neither kept nor closed is dropped (WebSocket close 1001, no `bye`).
 */
typedef void (*WspRouterDoorFunc) (WspConnection * connection,
    const WspMessage * invite, const gchar * identity, gpointer user_data);

/* Attaches @connection, newly accepted (from a WspAcceptFunc) or made in
 * the process, to @router with its authenticated @identity (as for
 * wsp_router_attach(); an invalid one is a critical, and the connection is
 * not taken). Takes its own reference. @door_func gets the door's invites;
 * NULL: they are answered `bye` 404 (a router with a door user but no door
 * on this connection's path). @user_data must outlive the router's hold of
 * the connection. A connection no longer open is not taken (a log line).
 * Call it on the connection's main context. */
void wsp_router_accept_connection (WspRouter * router,
    WspConnection * connection, const gchar * identity,
    WspRouterDoorFunc door_func, gpointer user_data);

G_END_DECLS
