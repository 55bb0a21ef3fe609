/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom WSP router: the rules of a WSP home server — registrations,
 * invites, the ring group, forwarding and the answers — as a state machine
 * with no transport. A transport attaches each of its endpoints (a socket,
 * or anything else that carries WspMessage) with the identity it
 * authenticated, feeds in what happens on it (a message, a close, a
 * message it refused itself, the end of the first-message time), and
 * carries out what the router asks through the endpoint's
 * #WspRouterEndpointOps: send a message, close (after a `bye`), start or
 * stop the first-message timer, hand the endpoint to the application (an
 * invite for the door), let it go. Who may connect with which identity,
 * which users exist, and what the door does with its calls are the
 * application's; wsprouter-connection.h binds the router to WspConnection.
 *
 * A new endpoint's first message must be `register` or `invite` (else
 * `bye` 400), within the first-message timeout
 * (#WSP_ROUTER_FIRST_MESSAGE_TIMEOUT; else `bye` 408).
 *
 * - `register`: the uri must be the endpoint's identity (403) and a known
 *   user of this station (404); the reply is `registered` and the endpoint
 *   waits for one call. A `bye` or a close while waiting drops the
 *   registration; anything else gets `bye` 400.
 * - `invite`: `caller.uri` must be the identity (403; a peer station's: at
 *   its host); the callee must be on this station's host (404: no
 *   federation yet). The door's user goes to the application (the
 *   endpoint's hand_over). Otherwise an unknown user gets 404, one with no
 *   registered endpoint 480, and the invite (options included) goes to
 *   every registered endpoint of the user, which leave the registrations.
 *   Stations (wsp_router_set_stations()) register and are called as users
 *   are, one registration each.
 *
 * A routed call: the first `ringing` goes to the caller; the first `offer`
 * wins and the other callees get `bye` 487 ("Answered elsewhere"); from
 * then on `offer`, `answer` and `icecandidate` pass between the caller and
 * the winner, until a `bye` (101 included), which goes to the other side;
 * then both endpoints are closed. Before an offer: a callee's `bye` drops
 * that callee and, from the last one, goes to the caller (603 declined); a
 * caller's `bye` gets every callee `bye` 487 ("Cancelled"); candidates of
 * callees are dropped.
 *
 * Decisions beyond that:
 * - An endpoint that closes without a `bye` during a call: the other side
 *   gets `bye` 408 (callees: 487, when the caller goes before an offer). A
 *   callee that leaves the ring without a `bye` (closed, or refused for a
 *   bad message) counts as a `bye` 408 from it.
 * - A message out of place — `register`, `invite` or `registered` in a
 *   call, `answer` or `icecandidate` from the caller before an offer,
 *   `ringing` or `offer` from the caller, `answer` from a callee — and a
 *   message the transport refused (it sent `bye` 400 itself): a callee
 *   still ringing gets `bye` 400 and leaves the ring; otherwise every
 *   endpoint of the call gets `bye` 400 and the call ends.
 * - Registered endpoints that are no longer open when an invite comes (the
 *   is_open op) are let go, not rung.
 * - wsp_router_set_users(): registrations of users no longer known end
 *   with `bye` 404; calls in progress go on.
 * - wsp_router_free(): the endpoints of routed calls get `bye` 500; others
 *   (registered, or not yet past their first message) are closed without a
 *   `bye`, as a server going away.
 *
 * Time: the router keeps no clock. It asks an endpoint's transport to arm
 * a timer (set_timeout) when the endpoint is attached and to disarm it at
 * its first message; the transport reports the end with
 * wsp_router_timed_out(). A test drives it by calling that itself.
 *
 * Threads and re-entry: a router is not locked; use it from one thread.
 * The ops are called from inside the wsp_router_*() calls, with the
 * router's state halfway through a change: an op must not call back into
 * the router (the calls that change it refuse, with a critical). A
 * transport that could deliver a message at once, while sending one,
 * defers it (e.g. to its main context). The counts may be read anywhere.
 *
 * Logs go to G_LOG_DOMAIN "wsp": refusals at message level, the course of
 * calls at info level. */

#pragma once

#include "wspprotocol.h"

G_BEGIN_DECLS

/**
 * WSP_ROUTER_FIRST_MESSAGE_TIMEOUT:
 *
 * Milliseconds a new endpoint has to send its `register` or `invite`.
 */
#define WSP_ROUTER_FIRST_MESSAGE_TIMEOUT (30 * 1000)

typedef struct _WspRouter WspRouter;

/* One endpoint attached to a router; it belongs to the router, from
 * wsp_router_attach() until its done op has returned. */
typedef struct _WspRouterEndpoint WspRouterEndpoint;

/**
 * WspRouterEndpointOps:
 * @send: send @message on @endpoint (it passed wsp_message_validate())
 * @close: close @endpoint, after a `bye` @code with @description if @code
 *   is not 0 (@description is valid in a `bye`, or NULL for the code's own
 *   text). The router is done with it: report nothing more for it; done
 *   follows at once.
 * @set_timeout: arm @endpoint's timer for @ms milliseconds (replacing one
 *   armed), or disarm it if @ms is 0; at its end, call
 *   wsp_router_timed_out(). Done disarms it too.
 * @is_open: (optional) whether @endpoint can still carry a call (a socket
 *   whose peer started closing cannot); NULL: always
 * @hand_over: @endpoint's @invite is for the door: it leaves the router
 *   (report nothing more for it; done follows at once) and goes to the
 *   application, with the endpoint's authenticated @identity. @invite and
 *   @identity are valid during the call only.
 * @done: the last op for @endpoint: the router has let go of it and never
 *   mentions it again; free what the transport keeps for it. After close
 *   and hand_over, and alone for an endpoint the transport reported closed
 *   or refused, or one whose @is_open said no (its transport is closing it
 *   already).
 *
 * What a router asks of an endpoint's transport. @data is the one given to
 * wsp_router_attach(). After wsp_router_closed() or wsp_router_refused()
 * for an endpoint, the router neither sends on it nor closes it.
 */
typedef struct
{
  void (*send) (WspRouterEndpoint * endpoint, const WspMessage * message,
      gpointer data);
  void (*close) (WspRouterEndpoint * endpoint, WspByeCode code,
      const gchar * description, gpointer data);
  void (*set_timeout) (WspRouterEndpoint * endpoint, guint ms, gpointer data);
  gboolean (*is_open) (WspRouterEndpoint * endpoint, gpointer data);
  void (*hand_over) (WspRouterEndpoint * endpoint, const WspMessage * invite,
      const gchar * identity, gpointer data);
  void (*done) (WspRouterEndpoint * endpoint, gpointer data);
} WspRouterEndpointOps;

/* A router for the station at @host (`host[:port]`, as in its addresses);
 * invites for @door_user go to the application. @door_user may be NULL:
 * a home server with no door of its own, where every callee is a user.
 * NULL, with a critical, if @host is not a valid host. */
WspRouter *wsp_router_new (const gchar * host, const gchar * door_user);

/* Ends routed calls with `bye` 500 and closes every other endpoint, each
 * followed by its done op. */
void wsp_router_free (WspRouter * router);

/* The users that may register (the config's), NULL-terminated; replaces
 * the previous list (a reload). */
void wsp_router_set_users (WspRouter * router, const gchar * const *users);

/* The stations that may register (door stations elsewhere that register
 * here, as `NAME@this-host`, to be called through this server),
 * NULL-terminated; replaces the previous list. A station registers and is
 * called as a user is, with two differences: it has one registration, the
 * newest; a newer one ends the older with `bye` 200 ("Replaced by a newer
 * registration"), since a station that lost its socket without noticing
 * registers again. And a station may call users only: its invite to a
 * station gets `bye` 403. A name should not be a user's too. */
void wsp_router_set_stations (WspRouter * router,
    const gchar * const *stations);

/* For endpoints attached from now on; default
 * #WSP_ROUTER_FIRST_MESSAGE_TIMEOUT; 0: no timeout. */
void wsp_router_set_first_message_timeout (WspRouter * router, guint ms);

/* Attaches a new endpoint whose authenticated identity is @identity:
 * "alice@host" for a logged-in user, "door@host" for the door's own
 * signaller, "*@other-host" for another station: its invites may carry any
 * caller.uri at that host, and it cannot register. @peer names the
 * endpoint in logs (its address), or NULL. @ops (kept, not copied) and
 * @data are the endpoint's transport; set_timeout is called before this
 * returns. NULL, with a critical, for an invalid identity. */
WspRouterEndpoint *wsp_router_attach (WspRouter * router,
    const gchar * identity, const gchar * peer,
    const WspRouterEndpointOps * ops, gpointer data);

/* A valid message came in on @endpoint. */
void wsp_router_receive (WspRouter * router, WspRouterEndpoint * endpoint,
    const WspMessage * message);

/* @endpoint is closed, by either side. */
void wsp_router_closed (WspRouter * router, WspRouterEndpoint * endpoint);

/* The transport refused what came in on @endpoint (@why, for the log: it
 * is not sent): it has sent `bye` 400 itself and is closing. */
void wsp_router_refused (WspRouter * router, WspRouterEndpoint * endpoint,
    const gchar * why);

/* @endpoint's timer (set_timeout) ran out. Ignored once the endpoint has
 * sent its first message. */
void wsp_router_timed_out (WspRouter * router, WspRouterEndpoint * endpoint);

/* Endpoints registered for @user and waiting for a call. */
guint wsp_router_count_registered (WspRouter * router, const gchar * user);

/* Routed calls in progress (not those handed to the door). */
guint wsp_router_count_calls (WspRouter * router);

/* Endpoints attached and not yet let go. */
guint wsp_router_count_endpoints (WspRouter * router);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WspRouter, wsp_router_free)

G_END_DECLS
