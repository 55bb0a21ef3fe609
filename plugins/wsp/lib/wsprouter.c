/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router's state machine (rules in wsprouter.h): what each
 * endpoint may send in its role, and what that makes the router ask of the
 * endpoints' transports. No transport of its own: wsprouter-connection.c
 * binds it to WspConnection.
 *
 * Every endpoint the router holds is in `endpoints`, in one of four roles:
 * new (first message awaited), registered (in `registrations` under its
 * user), or caller or callee of a RouterCall. An endpoint leaves the
 * router through endpoint_finish(), which takes it out of the router's
 * state before it calls the transport's ops: what an op does can never
 * meet the state machine halfway through a change. */

#include "wsprouter.h"

#include <string.h>

typedef struct _RouterCall RouterCall;

typedef enum
{
  ROLE_NEW,
  ROLE_REGISTERED,
  ROLE_CALLER,
  ROLE_CALLEE,
} EndpointRole;

struct _WspRouterEndpoint
{
  WspRouter *router;
  const WspRouterEndpointOps *ops;
  gpointer data;
  gchar *identity;
  /* For logs: the identity and the peer. */
  gchar *label;
  EndpointRole role;
  /* ROLE_REGISTERED and ROLE_CALLEE: the user it registered as. */
  gchar *user;
  RouterCall *call;
  /* Its first-message timer runs. */
  gboolean timer_armed;
  /* The transport reported it closed or refused: nothing more goes to it. */
  gboolean gone;
};

struct _RouterCall
{
  WspRouter *router;
  guint id;
  WspRouterEndpoint *caller;
  /* Callees still ringing, until one offers. */
  GPtrArray *callees;
  WspRouterEndpoint *winner;
  gboolean ringing_sent;
};

struct _WspRouter
{
  gchar *host_name;
  guint host_port;
  gchar *door_user;
  guint first_message_timeout;
  /* Inside a call that changes the router: ops must not call back. */
  gboolean busy;

  /* user -> itself */
  GHashTable *users;
  /* station (a door registering from elsewhere) -> itself */
  GHashTable *stations;
  /* WspRouterEndpoint * -> itself: every endpoint held */
  GHashTable *endpoints;
  /* user -> GPtrArray of WspRouterEndpoint * (in `endpoints`) */
  GHashTable *registrations;
  /* RouterCall * */
  GPtrArray *calls;
  guint next_call_id;
};

/* The calls that change the router, and what they check first. */
#define ROUTER_ENTER(router, endpoint)                                  \
  G_STMT_START {                                                        \
    g_return_if_fail ((router) != NULL);                                \
    g_return_if_fail (!(router)->busy);                                 \
    g_return_if_fail ((endpoint) != NULL);                              \
    g_return_if_fail (g_hash_table_contains ((router)->endpoints,       \
            (endpoint)));                                               \
    (router)->busy = TRUE;                                              \
  } G_STMT_END

static void call_end (RouterCall * call, WspRouterEndpoint * source,
    WspByeCode code, const gchar * description, gboolean bye_to_source);

/* ---- Addresses ----------------------------------------------------------- */

/* The user of @address if it is on this station, else NULL. */
static gchar *
local_user (WspRouter * router, const gchar * address)
{
  g_autofree gchar *user = NULL;
  g_autofree gchar *host = NULL;
  guint port;

  if (!wsp_address_parse (address, &user, &host, &port, NULL))
    return NULL;
  if (g_ascii_strcasecmp (host, router->host_name) != 0
      || port != router->host_port)
    return NULL;
  return g_steal_pointer (&user);
}

static gboolean
identity_is_valid (const gchar * identity)
{
  g_autofree gchar *probe = NULL;

  if (!g_str_has_prefix (identity, "*@"))
    return wsp_address_is_valid (identity);
  probe = g_strdup_printf ("x%s", identity + 1);
  return wsp_address_is_valid (probe);
}

/* Whether @uri is @identity: the same address, or for a peer station's
 * identity "*@host" any address at that host. */
static gboolean
identity_matches (const gchar * identity, const gchar * uri)
{
  const gchar *at;
  g_autofree gchar *candidate = NULL;

  if (!g_str_has_prefix (identity, "*@"))
    return wsp_address_equal (uri, identity);
  at = strchr (uri, '@');
  if (at == NULL || at == uri)
    return FALSE;
  candidate = g_strdup_printf ("%.*s%s", (int) (at - uri), uri, identity + 1);
  return wsp_address_equal (uri, candidate);
}

/* Whether @user may register and be called: a user or a station. */
static gboolean
is_known (WspRouter * router, const gchar * user)
{
  return g_hash_table_contains (router->users, user)
      || g_hash_table_contains (router->stations, user);
}

/* ---- Endpoints ----------------------------------------------------------- */

/* Whether @endpoint's identity is a station of this router's. */
static gboolean
endpoint_is_station (WspRouterEndpoint * endpoint)
{
  g_autofree gchar *user = local_user (endpoint->router, endpoint->identity);

  return user != NULL && g_hash_table_contains (endpoint->router->stations,
      user);
}

static void
endpoint_send (WspRouterEndpoint * endpoint, const WspMessage * message)
{
  if (!endpoint->gone)
    endpoint->ops->send (endpoint, message, endpoint->data);
}

static void
endpoint_unregister (WspRouterEndpoint * endpoint)
{
  WspRouter *router = endpoint->router;
  GPtrArray *endpoints;

  endpoints = g_hash_table_lookup (router->registrations, endpoint->user);
  if (endpoints == NULL)
    return;
  g_ptr_array_remove (endpoints, endpoint);
  if (endpoints->len == 0)
    g_hash_table_remove (router->registrations, endpoint->user);
}

/* Takes @endpoint out of the router's state. Calls hold their endpoints
 * themselves: call_end() and the ring's own changes take them out. */
static void
endpoint_forget (WspRouterEndpoint * endpoint)
{
  if (endpoint->role == ROLE_REGISTERED)
    endpoint_unregister (endpoint);
  g_hash_table_remove (endpoint->router->endpoints, endpoint);
}

static void
endpoint_free (WspRouterEndpoint * endpoint)
{
  endpoint->ops->done (endpoint, endpoint->data);

  g_free (endpoint->identity);
  g_free (endpoint->label);
  g_free (endpoint->user);
  g_free (endpoint);
}

/* Lets go of @endpoint: unless the transport has, closes it, after a `bye`
 * @code if not 0. */
static void
endpoint_finish (WspRouterEndpoint * endpoint, WspByeCode code,
    const gchar * description)
{
  endpoint_forget (endpoint);
  if (!endpoint->gone)
    endpoint->ops->close (endpoint, code, description, endpoint->data);
  endpoint_free (endpoint);
}

/* A refusal outside a call: logged, `bye` @code, closed. */
static void
endpoint_refuse (WspRouterEndpoint * endpoint, WspByeCode code,
    const gchar * why)
{
  g_message ("WSP: refused %s: %s (bye %d)", endpoint->label, why, code);
  endpoint_finish (endpoint, code, why);
}

/* ---- Calls --------------------------------------------------------------- */

static void
call_free (RouterCall * call)
{
  g_ptr_array_unref (call->callees);
  g_free (call);
}

static RouterCall *
call_new (WspRouter * router, WspRouterEndpoint * caller)
{
  RouterCall *call = g_new0 (RouterCall, 1);

  call->router = router;
  call->id = ++router->next_call_id;
  call->caller = caller;
  call->callees = g_ptr_array_new ();
  caller->role = ROLE_CALLER;
  caller->call = call;
  g_ptr_array_add (router->calls, call);
  return call;
}

/* Ends @call: every endpoint but @source gets `bye` @code; @source gets it
 * too if @bye_to_source, else it is only closed. */
static void
call_end (RouterCall * call, WspRouterEndpoint * source, WspByeCode code,
    const gchar * description, gboolean bye_to_source)
{
  g_autoptr (GPtrArray) endpoints = g_ptr_array_new ();

  g_ptr_array_add (endpoints, call->caller);
  if (call->winner != NULL)
    g_ptr_array_add (endpoints, call->winner);
  g_ptr_array_extend (endpoints, call->callees, NULL, NULL);

  g_ptr_array_remove (call->router->calls, call);
  for (guint i = 0; i < endpoints->len; i++) {
    WspRouterEndpoint *endpoint = g_ptr_array_index (endpoints, i);

    if (endpoint == source && !bye_to_source)
      endpoint_finish (endpoint, 0, NULL);
    else
      endpoint_finish (endpoint, code, description);
  }
  call_free (call);
}

/* A protocol error of @endpoint: see wsprouter.h. */
static void
call_refuse (RouterCall * call, WspRouterEndpoint * endpoint, const gchar * why)
{
  g_message ("WSP: call %u: refused %s: %s (bye 400)", call->id,
      endpoint->label, why);

  if (endpoint->role == ROLE_CALLEE && endpoint != call->winner) {
    g_ptr_array_remove (call->callees, endpoint);
    endpoint_finish (endpoint, WSP_BYE_BAD_REQUEST, why);
    /* The last one ringing took the call with it, as a `bye` 408. */
    if (call->callees->len == 0) {
      g_info ("WSP: call %u: no callee left (bye 408)", call->id);
      call_end (call, NULL, WSP_BYE_TIMEOUT, "No callee left", FALSE);
    }
    return;
  }
  call_end (call, endpoint, WSP_BYE_BAD_REQUEST, why, TRUE);
}

/* A callee still ringing leaves with `bye` @code; the last one takes the
 * call with it. */
static void
call_callee_leaves (RouterCall * call, WspRouterEndpoint * endpoint,
    WspByeCode code, const gchar * description)
{
  g_info ("WSP: call %u: %s leaves (bye %d), %u left", call->id,
      endpoint->label, code, call->callees->len - 1);

  if (call->callees->len > 1) {
    g_ptr_array_remove (call->callees, endpoint);
    endpoint_finish (endpoint, 0, NULL);
    return;
  }
  call_end (call, endpoint, code, description, FALSE);
}

static void
call_pick_winner (RouterCall * call, WspRouterEndpoint * winner)
{
  g_autoptr (GPtrArray) others = g_steal_pointer (&call->callees);

  g_info ("WSP: call %u: answered by %s; %u others get bye 487",
      call->id, winner->label, others->len - 1);

  call->callees = g_ptr_array_new ();
  call->winner = winner;
  for (guint i = 0; i < others->len; i++) {
    WspRouterEndpoint *endpoint = g_ptr_array_index (others, i);

    if (endpoint != winner)
      endpoint_finish (endpoint, WSP_BYE_CANCELLED, "Answered elsewhere");
  }
}

static void
call_caller_message (RouterCall * call, const WspMessage * message)
{
  WspRouterEndpoint *caller = call->caller;

  switch (message->type) {
    case WSP_MESSAGE_BYE:
      if (call->winner == NULL) {
        g_info ("WSP: call %u: cancelled by the caller (bye %d); callees get "
            "bye 487", call->id, message->bye.code);
        call_end (call, caller, WSP_BYE_CANCELLED, "Cancelled", FALSE);
      } else {
        g_info ("WSP: call %u: bye %d from the caller", call->id,
            message->bye.code);
        call_end (call, caller, message->bye.code, message->bye.description,
            FALSE);
      }
      return;
    case WSP_MESSAGE_ANSWER:
    case WSP_MESSAGE_ICE_CANDIDATE:
      if (call->winner != NULL) {
        endpoint_send (call->winner, message);
        return;
      }
      call_refuse (call, caller, "no offer yet");
      return;
    default:
      call_refuse (call, caller, "unexpected message from the caller");
      return;
  }
}

static void
call_callee_message (RouterCall * call, WspRouterEndpoint * callee,
    const WspMessage * message)
{
  switch (message->type) {
    case WSP_MESSAGE_RINGING:
      if (!call->ringing_sent) {
        g_info ("WSP: call %u: ringing at %s", call->id, callee->label);
        call->ringing_sent = TRUE;
        endpoint_send (call->caller, message);
      }
      return;
    case WSP_MESSAGE_OFFER:
      if (call->winner == NULL)
        call_pick_winner (call, callee);
      endpoint_send (call->caller, message);
      return;
    case WSP_MESSAGE_ICE_CANDIDATE:
      /* Only the winner's: the others' peer connections are not the
       * caller's business. */
      if (callee == call->winner)
        endpoint_send (call->caller, message);
      return;
    case WSP_MESSAGE_BYE:
      if (callee == call->winner) {
        g_info ("WSP: call %u: bye %d from %s", call->id, message->bye.code,
            callee->label);
        call_end (call, callee, message->bye.code, message->bye.description,
            FALSE);
      } else {
        call_callee_leaves (call, callee, message->bye.code,
            message->bye.description);
      }
      return;
    default:
      call_refuse (call, callee, "unexpected message from a callee");
      return;
  }
}

/* @endpoint closed without a `bye`. */
static void
call_endpoint_lost (RouterCall * call, WspRouterEndpoint * endpoint)
{
  if (endpoint == call->caller && call->winner == NULL) {
    g_info ("WSP: call %u: caller %s gone; callees get bye 487", call->id,
        endpoint->label);
    call_end (call, endpoint, WSP_BYE_CANCELLED, "Cancelled", FALSE);
  } else if (endpoint == call->caller || endpoint == call->winner) {
    g_info ("WSP: call %u: %s gone; the other side gets bye 408", call->id,
        endpoint->label);
    call_end (call, endpoint, WSP_BYE_TIMEOUT, "Connection lost", FALSE);
  } else {
    call_callee_leaves (call, endpoint, WSP_BYE_TIMEOUT, "Connection lost");
  }
}

/* ---- First messages ------------------------------------------------------ */

static void
handle_register (WspRouterEndpoint * endpoint, const WspMessage * message)
{
  WspRouter *router = endpoint->router;
  g_autoptr (WspMessage) reply = NULL;
  g_autofree gchar *user = NULL;
  GPtrArray *endpoints;

  /* a peer station's endpoint has no address of its own to register */
  if (g_str_has_prefix (endpoint->identity, "*@")
      || !wsp_address_equal (message->registration.uri, endpoint->identity)) {
    endpoint_refuse (endpoint, WSP_BYE_FORBIDDEN, "Not your address");
    return;
  }
  user = local_user (router, message->registration.uri);
  if (user == NULL || !is_known (router, user)) {
    endpoint_refuse (endpoint, WSP_BYE_UNKNOWN_CALLEE, "Unknown user");
    return;
  }

  endpoints = g_hash_table_lookup (router->registrations, user);
  if (endpoints != NULL && g_hash_table_contains (router->stations, user)) {
    /* A station has one registration: the newest (its older socket may
     * be one it lost without knowing). */
    g_autoptr (GPtrArray) older = g_ptr_array_copy (endpoints, NULL, NULL);

    for (guint i = 0; i < older->len; i++)
      endpoint_refuse (g_ptr_array_index (older, i), WSP_BYE_NORMAL,
          "Replaced by a newer registration");
    endpoints = g_hash_table_lookup (router->registrations, user);
  }
  if (endpoints == NULL) {
    endpoints = g_ptr_array_new ();
    g_hash_table_insert (router->registrations, g_strdup (user), endpoints);
  }
  g_ptr_array_add (endpoints, endpoint);
  endpoint->role = ROLE_REGISTERED;
  endpoint->user = g_steal_pointer (&user);

  g_info ("WSP: %s registered as %s (%u endpoints)", endpoint->label,
      endpoint->user, endpoints->len);
  reply = wsp_message_new_registered (message->registration.uri);
  endpoint_send (endpoint, reply);
}

static void
route_to_door (WspRouterEndpoint * endpoint, const WspMessage * invite)
{
  g_info ("WSP: %s calls the door", endpoint->label);
  endpoint_forget (endpoint);
  endpoint->ops->hand_over (endpoint, invite, endpoint->identity,
      endpoint->data);
  endpoint_free (endpoint);
}

static void
handle_invite (WspRouterEndpoint * endpoint, const WspMessage * invite)
{
  WspRouter *router = endpoint->router;
  g_autofree gchar *user = NULL;
  g_autofree gchar *registered_user = NULL;
  g_autoptr (GPtrArray) registered = NULL;
  RouterCall *call;

  if (!identity_matches (endpoint->identity, invite->invite.caller.uri)) {
    endpoint_refuse (endpoint, WSP_BYE_FORBIDDEN, "Caller is not you");
    return;
  }
  user = local_user (router, invite->invite.callee.uri);
  if (user == NULL) {
    endpoint_refuse (endpoint, WSP_BYE_UNKNOWN_CALLEE, "Not on this station");
    return;
  }
  if (router->door_user != NULL && strcmp (user, router->door_user) == 0) {
    route_to_door (endpoint, invite);
    return;
  }
  if (!is_known (router, user)) {
    endpoint_refuse (endpoint, WSP_BYE_UNKNOWN_CALLEE, "Unknown user");
    return;
  }
  /* A station calls users, not another station: a door's token is kept
   * outdoors, in the door, and must not reach another door's camera or
   * its relays. */
  if (g_hash_table_contains (router->stations, user)
      && endpoint_is_station (endpoint)) {
    endpoint_refuse (endpoint, WSP_BYE_FORBIDDEN, "A station calls users only");
    return;
  }

  /* Registered endpoints that can no longer carry a call would only leave
   * the ring again: not rung. Out of `registrations` first, so that
   * letting them go leaves the list alone. */
  g_hash_table_steal_extended (router->registrations, user,
      (gpointer *) & registered_user, (gpointer *) & registered);
  if (registered != NULL) {
    for (guint i = registered->len; i > 0; i--) {
      WspRouterEndpoint *callee = g_ptr_array_index (registered, i - 1);

      if (callee->ops->is_open != NULL
          && !callee->ops->is_open (callee, callee->data)) {
        g_ptr_array_remove_index (registered, i - 1);
        endpoint_forget (callee);
        endpoint_free (callee);
      }
    }
  }
  if (registered == NULL || registered->len == 0) {
    endpoint_refuse (endpoint, WSP_BYE_NOT_REACHABLE, "Not registered");
    return;
  }

  call = call_new (router, endpoint);
  g_info ("WSP: call %u: %s calls %s, ringing %u endpoints", call->id,
      endpoint->label, invite->invite.callee.uri, registered->len);
  for (guint i = 0; i < registered->len; i++) {
    WspRouterEndpoint *callee = g_ptr_array_index (registered, i);

    callee->role = ROLE_CALLEE;
    callee->call = call;
    g_ptr_array_add (call->callees, callee);
    endpoint_send (callee, invite);
  }
}

static void
receive (WspRouterEndpoint * endpoint, const WspMessage * message)
{
  switch (endpoint->role) {
    case ROLE_NEW:
      if (endpoint->timer_armed) {
        endpoint->timer_armed = FALSE;
        endpoint->ops->set_timeout (endpoint, 0, endpoint->data);
      }
      if (message->type == WSP_MESSAGE_REGISTER)
        handle_register (endpoint, message);
      else if (message->type == WSP_MESSAGE_INVITE)
        handle_invite (endpoint, message);
      else
        endpoint_refuse (endpoint, WSP_BYE_BAD_REQUEST,
            "Expected register or invite");
      return;
    case ROLE_REGISTERED:
      if (message->type == WSP_MESSAGE_BYE) {
        g_info ("WSP: %s unregistered (bye %d)", endpoint->label,
            message->bye.code);
        endpoint_finish (endpoint, 0, NULL);
      } else {
        endpoint_refuse (endpoint, WSP_BYE_BAD_REQUEST,
            "A registered endpoint waits for an invite");
      }
      return;
    case ROLE_CALLER:
      call_caller_message (endpoint->call, message);
      return;
    case ROLE_CALLEE:
      call_callee_message (endpoint->call, endpoint, message);
      return;
  }
}

/* ---- API ----------------------------------------------------------------- */

WspRouter *
wsp_router_new (const gchar * host, const gchar * door_user)
{
  g_autofree gchar *address = NULL;
  g_autofree gchar *host_name = NULL;
  WspRouter *router;
  guint port;

  g_return_val_if_fail (host != NULL, NULL);

  /* The host as the parser sees it in an address. */
  address = g_strconcat (door_user ? door_user : "x", "@", host, NULL);
  g_return_val_if_fail (wsp_address_parse (address, NULL, &host_name, &port,
          NULL), NULL);

  router = g_new0 (WspRouter, 1);
  router->host_name = g_steal_pointer (&host_name);
  router->host_port = port;
  router->door_user = g_strdup (door_user);
  router->first_message_timeout = WSP_ROUTER_FIRST_MESSAGE_TIMEOUT;
  router->users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  router->stations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  router->endpoints = g_hash_table_new (NULL, NULL);
  router->registrations = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, (GDestroyNotify) g_ptr_array_unref);
  router->calls = g_ptr_array_new ();
  return router;
}

void
wsp_router_free (WspRouter * router)
{
  GHashTableIter iter;
  gpointer endpoint;

  if (router == NULL)
    return;
  g_return_if_fail (!router->busy);
  router->busy = TRUE;

  while (router->calls->len > 0)
    call_end (g_ptr_array_index (router->calls, 0), NULL,
        WSP_BYE_INTERNAL_ERROR, "Server shutting down", FALSE);

  /* Registered and new endpoints: no call to end, just going away. */
  g_hash_table_iter_init (&iter, router->endpoints);
  while (g_hash_table_iter_next (&iter, &endpoint, NULL)) {
    endpoint_finish (endpoint, 0, NULL);
    g_hash_table_iter_init (&iter, router->endpoints);
  }

  g_hash_table_unref (router->registrations);
  g_hash_table_unref (router->endpoints);
  g_hash_table_unref (router->users);
  g_hash_table_unref (router->stations);
  g_ptr_array_unref (router->calls);
  g_free (router->host_name);
  g_free (router->door_user);
  g_free (router);
}

/* Replaces @set with @names; registrations of those neither a user nor a
 * station any more end with `bye` 404. */
static void
set_names (WspRouter * router, GHashTable * set, const gchar * const *names)
{
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer user, endpoints;

  g_hash_table_remove_all (set);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    g_hash_table_add (set, g_strdup (names[i]));

  g_hash_table_iter_init (&iter, router->registrations);
  while (g_hash_table_iter_next (&iter, &user, &endpoints)) {
    if (!is_known (router, user))
      g_ptr_array_extend (gone, endpoints, NULL, NULL);
  }
  router->busy = TRUE;
  for (guint i = 0; i < gone->len; i++)
    endpoint_refuse (g_ptr_array_index (gone, i), WSP_BYE_UNKNOWN_CALLEE,
        "Unknown user");
  router->busy = FALSE;
}

void
wsp_router_set_users (WspRouter * router, const gchar * const *users)
{
  g_return_if_fail (router != NULL);
  g_return_if_fail (!router->busy);

  set_names (router, router->users, users);
}

void
wsp_router_set_stations (WspRouter * router, const gchar * const *stations)
{
  g_return_if_fail (router != NULL);
  g_return_if_fail (!router->busy);

  set_names (router, router->stations, stations);
}

void
wsp_router_set_first_message_timeout (WspRouter * router, guint ms)
{
  g_return_if_fail (router != NULL);

  router->first_message_timeout = ms;
}

WspRouterEndpoint *
wsp_router_attach (WspRouter * router, const gchar * identity,
    const gchar * peer, const WspRouterEndpointOps * ops, gpointer data)
{
  WspRouterEndpoint *endpoint;

  g_return_val_if_fail (router != NULL, NULL);
  g_return_val_if_fail (!router->busy, NULL);
  g_return_val_if_fail (identity != NULL && identity_is_valid (identity), NULL);
  g_return_val_if_fail (ops != NULL && ops->send != NULL && ops->close != NULL
      && ops->set_timeout != NULL && ops->hand_over != NULL
      && ops->done != NULL, NULL);

  endpoint = g_new0 (WspRouterEndpoint, 1);
  endpoint->router = router;
  endpoint->ops = ops;
  endpoint->data = data;
  endpoint->identity = g_strdup (identity);
  endpoint->label = g_strdup_printf ("%s (%s)", identity,
      peer ? peer : "unknown address");
  endpoint->role = ROLE_NEW;
  g_hash_table_add (router->endpoints, endpoint);
  g_debug ("WSP: new endpoint %s", endpoint->label);

  if (router->first_message_timeout > 0) {
    router->busy = TRUE;
    endpoint->timer_armed = TRUE;
    ops->set_timeout (endpoint, router->first_message_timeout, data);
    router->busy = FALSE;
  }
  return endpoint;
}

void
wsp_router_receive (WspRouter * router, WspRouterEndpoint * endpoint,
    const WspMessage * message)
{
  ROUTER_ENTER (router, endpoint);

  receive (endpoint, message);
  router->busy = FALSE;
}

void
wsp_router_closed (WspRouter * router, WspRouterEndpoint * endpoint)
{
  ROUTER_ENTER (router, endpoint);

  endpoint->gone = TRUE;
  switch (endpoint->role) {
    case ROLE_NEW:
    case ROLE_REGISTERED:
      g_info ("WSP: %s closed%s", endpoint->label,
          endpoint->role == ROLE_REGISTERED ? ": registration dropped" : "");
      endpoint_finish (endpoint, 0, NULL);
      break;
    case ROLE_CALLER:
    case ROLE_CALLEE:
      call_endpoint_lost (endpoint->call, endpoint);
      break;
  }
  router->busy = FALSE;
}

void
wsp_router_refused (WspRouter * router, WspRouterEndpoint * endpoint,
    const gchar * why)
{
  ROUTER_ENTER (router, endpoint);

  endpoint->gone = TRUE;
  switch (endpoint->role) {
    case ROLE_NEW:
    case ROLE_REGISTERED:
      g_message ("WSP: refused %s: %s (bye 400)", endpoint->label,
          why ? why : "bad message");
      endpoint_finish (endpoint, 0, NULL);
      break;
    case ROLE_CALLER:
    case ROLE_CALLEE:
      /* @why may quote the peer's input: not a description to pass on. */
      g_info ("WSP: %s: %s", endpoint->label, why ? why : "bad message");
      call_refuse (endpoint->call, endpoint, "Bad message");
      break;
  }
  router->busy = FALSE;
}

void
wsp_router_timed_out (WspRouter * router, WspRouterEndpoint * endpoint)
{
  ROUTER_ENTER (router, endpoint);

  endpoint->timer_armed = FALSE;
  if (endpoint->role == ROLE_NEW)
    endpoint_refuse (endpoint, WSP_BYE_TIMEOUT, "No register or invite");
  else
    g_debug ("WSP: %s: first-message timer ran out after its first message",
        endpoint->label);
  router->busy = FALSE;
}

guint
wsp_router_count_registered (WspRouter * router, const gchar * user)
{
  GPtrArray *endpoints;

  g_return_val_if_fail (router != NULL, 0);
  g_return_val_if_fail (user != NULL, 0);

  endpoints = g_hash_table_lookup (router->registrations, user);
  return endpoints != NULL ? endpoints->len : 0;
}

guint
wsp_router_count_calls (WspRouter * router)
{
  g_return_val_if_fail (router != NULL, 0);

  return router->calls->len;
}

guint
wsp_router_count_endpoints (WspRouter * router)
{
  g_return_val_if_fail (router != NULL, 0);

  return g_hash_table_size (router->endpoints);
}
