/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP home server of intercomd (docs/intercomd.md, "WSP at /wsp"):
 * sockets accepted at /wsp register this station's users and route
 * invites between them, or hand an invite for the door to the application.
 *
 * A socket's first message must be `register` or `invite` (else `bye` 400),
 * within #OI_ROUTER_FIRST_MESSAGE_TIMEOUT (else `bye` 408).
 *
 * - `register`: the uri must be the socket's authenticated identity (403)
 *   and a known user of this station (404); the reply is `registered` and
 *   the socket waits for one call. A `bye` or a close while waiting drops
 *   the registration; anything else gets `bye` 400.
 * - `invite`: `caller.uri` must be the identity (403; a peer station's:
 *   at its host); the callee must be
 *   on this station's host (404: no federation yet). The door's user goes
 *   to the door callback. Otherwise an unknown user gets 404, one with no
 *   registered socket 480, and the invite (options included) goes to every
 *   registered socket of the user, which leave the registrations.
 *
 * A routed call: the first `ringing` goes to the caller; the first `offer`
 * wins and the other callees get `bye` 487 ("Answered elsewhere"); from
 * then on `offer`, `answer` and `icecandidate` pass between the caller and
 * the winner, until a `bye` (101 included), which goes to the other side;
 * then both sockets are closed. Before an offer: a callee's `bye` drops
 * that callee and, from the last one, goes to the caller (603 declined);
 * a caller's `bye` gets every callee `bye` 487 ("Cancelled"); candidates of
 * callees are dropped.
 *
 * Decisions beyond that:
 * - A socket that closes without a `bye` during a call: the other side
 *   gets `bye` 408 (callees: 487, when the caller goes before an offer). A
 *   callee that leaves the ring without a `bye` (closed, or refused for a
 *   bad message) counts as a `bye` 408 from it.
 * - A message out of place — `register`, `invite` or `registered` in a
 *   call, `answer` or `icecandidate` from the caller before an offer,
 *   `ringing` or `offer` from the caller, `answer` from a callee — and a
 *   message the transport refused (it sent `bye` 400 itself): a callee
 *   still ringing gets `bye` 400 and leaves the ring; otherwise every
 *   socket of the call gets `bye` 400 and the call ends.
 * - Registered sockets that are no longer open when an invite comes are
 *   dropped, not rung.
 * - oi_router_set_users(): registrations of users no longer known end with
 *   `bye` 404; calls in progress go on.
 * - oi_router_free(): the sockets of routed calls get `bye` 500; others
 *   (registered, or not yet past their first message) are closed without
 *   a `bye`, as a server going away.
 * - Sockets the router is done with are closed, and kept (a reference held
 *   by their "closed" handler) until the close handshake is over: libsoup
 *   cuts a WebSocket dropped while closing, and the `bye` could be lost.
 *   The main context must keep running for them to go.
 *
 * Threads: everything runs on the main context that was thread-default at
 * oi_router_new(), which must be the one the connections live on. */

#pragma once

#include "wsptransport.h"

G_BEGIN_DECLS

/**
 * OI_ROUTER_FIRST_MESSAGE_TIMEOUT:
 *
 * Milliseconds a new socket has to send its `register` or `invite`.
 */
#define OI_ROUTER_FIRST_MESSAGE_TIMEOUT (30 * 1000)

typedef struct _OiRouter OiRouter;

/**
 * OiRouterDoorFunc:
 * @connection: the caller's socket
 * @invite: its `invite`, whose `callee.uri` is the door and whose
 *   `caller.uri` is @identity; valid during the call only
 * @identity: the socket's authenticated identity
 * @user_data: as given to oi_router_new()
 *
 * An invite for the door. The router has already let go of @connection (its
 * handlers are gone): take a reference to keep it, e.g. to hand it to a
 * wspsignaller with "accept-call", or refuse it with
 * wsp_connection_send_bye_and_close() (403 allow-list, 486 busy...). A
 * connection closed here is kept until its close handshake is over; one
 * neither kept nor closed is dropped (WebSocket close 1001, no `bye`).
 */
typedef void (*OiRouterDoorFunc) (WspConnection * connection,
    const WspMessage * invite, const gchar * identity, gpointer user_data);

/* @host: this station's `host[:port]` (as in its addresses); @door_user:
 * the door's user (`door`); @door_func: required. */
OiRouter *oi_router_new (const gchar * host, const gchar * door_user,
    OiRouterDoorFunc door_func, gpointer user_data);
void oi_router_free (OiRouter * router);

/* The users that may register (the config's), NULL-terminated; replaces
 * the previous list (a reload). */
void oi_router_set_users (OiRouter * router, const gchar * const *users);

/* For sockets accepted from now on (tests); default
 * #OI_ROUTER_FIRST_MESSAGE_TIMEOUT. */
void oi_router_set_first_message_timeout (OiRouter * router, guint ms);

/* Takes a newly accepted socket (from a WspAcceptFunc) whose authenticated
 * identity is @identity: "alice@host" for a logged-in browser, "door@host"
 * for the door's own signaller, "*@other-host" for another station (a
 * [peer] with its bearer token): its invites may carry any caller.uri at
 * that host, and it cannot register. Takes its own reference. */
void oi_router_accept (OiRouter * router, WspConnection * connection,
    const gchar * identity);

/* Sockets registered for @user and waiting for a call. */
guint oi_router_count_registered (OiRouter * router, const gchar * user);

/* Routed calls in progress (not those handed to the door). */
guint oi_router_count_calls (OiRouter * router);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiRouter, oi_router_free)

G_END_DECLS
