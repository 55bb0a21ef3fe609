/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP home server: registrations and routed calls. The rules are in
 * router.h; this file is a state machine over WspConnection signals.
 *
 * Every socket the router holds is a RouterSocket in `sockets`, in one of
 * four roles: new (first message awaited), registered (in `registrations`
 * under its user), or caller or callee of a RouterCall. A socket leaves the
 * router through socket_release() or socket_end(), which disconnect the
 * router's handlers first: closing a socket must never call back into the
 * state machine halfway through a change. */

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "intercomd"
#endif

#include "router.h"

#include <string.h>

typedef struct _RouterCall RouterCall;

typedef enum
{
  ROLE_NEW,
  ROLE_REGISTERED,
  ROLE_CALLER,
  ROLE_CALLEE,
} SocketRole;

typedef struct
{
  OiRouter *router;
  WspConnection *connection;
  gchar *identity;
  /* For logs: the identity and the socket's address. */
  gchar *label;
  SocketRole role;
  /* ROLE_REGISTERED and ROLE_CALLEE: the user it registered as. */
  gchar *user;
  RouterCall *call;
  GSource *timeout;
  /* "closed" was emitted: nothing to wait for. */
  gboolean closed;
} RouterSocket;

struct _RouterCall
{
  OiRouter *router;
  guint id;
  RouterSocket *caller;
  /* Callees still ringing, until one offers. */
  GPtrArray *callees;
  RouterSocket *winner;
  gboolean ringing_sent;
};

struct _OiRouter
{
  GMainContext *context;
  gchar *host_name;
  guint host_port;
  gchar *door_user;
  OiRouterDoorFunc door_func;
  gpointer user_data;
  guint first_message_timeout;

  /* user -> itself */
  GHashTable *users;
  /* RouterSocket * -> itself: every socket held */
  GHashTable *sockets;
  /* user -> GPtrArray of RouterSocket * (in `sockets`) */
  GHashTable *registrations;
  /* RouterCall * */
  GPtrArray *calls;
  guint next_call_id;
};

static void call_end (RouterCall * call, RouterSocket * source,
    WspByeCode code, const gchar * description, gboolean bye_to_source);

/* ---- Addresses ----------------------------------------------------------- */

/* The user of @address if it is on this station, else NULL. */
static gchar *
local_user (OiRouter * router, const gchar * address)
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

/* ---- Sockets ------------------------------------------------------------- */

static void
on_closed_release (WspConnection * connection, guint code, gpointer unused)
{
  g_signal_handlers_disconnect_by_func (connection, on_closed_release, NULL);
  g_object_unref (connection);
}

/* Drops the router's reference to @connection. One that is closing is
 * kept until "closed": dropped now, libsoup would cut the stream before
 * the close handshake, and the peer might miss the `bye` before it. */
static void
connection_drop (WspConnection * connection, gboolean closed)
{
  if (closed || wsp_connection_is_open (connection))
    g_object_unref (connection);
  else
    g_signal_connect (connection, "closed", G_CALLBACK (on_closed_release),
        NULL);
}

static void
socket_stop_timeout (RouterSocket * socket)
{
  if (socket->timeout != NULL) {
    g_source_destroy (socket->timeout);
    g_clear_pointer (&socket->timeout, g_source_unref);
  }
}

static void
socket_unregister (RouterSocket * socket)
{
  OiRouter *router = socket->router;
  GPtrArray *sockets;

  sockets = g_hash_table_lookup (router->registrations, socket->user);
  if (sockets == NULL)
    return;
  g_ptr_array_remove (sockets, socket);
  if (sockets->len == 0)
    g_hash_table_remove (router->registrations, socket->user);
}

/* Forgets @socket and returns its connection (transfer full), with the
 * router's handlers disconnected. */
static WspConnection *
socket_forget (RouterSocket * socket)
{
  WspConnection *connection = socket->connection;

  if (socket->role == ROLE_REGISTERED)
    socket_unregister (socket);
  socket_stop_timeout (socket);
  g_signal_handlers_disconnect_by_data (connection, socket);
  g_hash_table_remove (socket->router->sockets, socket);

  g_free (socket->identity);
  g_free (socket->label);
  g_free (socket->user);
  g_free (socket);
  return connection;
}

/* Forgets @socket, which is closed or closing. */
static void
socket_release (RouterSocket * socket)
{
  gboolean closed = socket->closed;

  connection_drop (socket_forget (socket), closed);
}

/* Closes @socket, after a `bye` @code if not 0, and forgets it. */
static void
socket_end (RouterSocket * socket, WspByeCode code, const gchar * description)
{
  gboolean closed = socket->closed;
  WspConnection *connection;

  /* Forgotten first: nothing of the router runs while it closes ("closed"
   * always comes later, from libsoup's asynchronous stream close). */
  connection = socket_forget (socket);
  if (code != 0)
    wsp_connection_send_bye_and_close (connection, code, description);
  else
    wsp_connection_close (connection);
  connection_drop (connection, closed);
}

/* A refusal outside a call: logged, `bye` @code, closed. */
static void
socket_refuse (RouterSocket * socket, WspByeCode code, const gchar * why)
{
  g_message ("WSP: refused %s: %s (bye %d)", socket->label, why, code);
  socket_end (socket, code, why);
}

/* ---- Calls --------------------------------------------------------------- */

static void
call_free (RouterCall * call)
{
  g_ptr_array_unref (call->callees);
  g_free (call);
}

static RouterCall *
call_new (OiRouter * router, RouterSocket * caller)
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

/* Ends @call: every socket but @source gets `bye` @code; @source gets it
 * too if @bye_to_source, else it is only closed. */
static void
call_end (RouterCall * call, RouterSocket * source, WspByeCode code,
    const gchar * description, gboolean bye_to_source)
{
  g_autoptr (GPtrArray) sockets = g_ptr_array_new ();

  g_ptr_array_add (sockets, call->caller);
  if (call->winner != NULL)
    g_ptr_array_add (sockets, call->winner);
  g_ptr_array_extend (sockets, call->callees, NULL, NULL);

  g_ptr_array_remove (call->router->calls, call);
  for (guint i = 0; i < sockets->len; i++) {
    RouterSocket *socket = g_ptr_array_index (sockets, i);

    if (socket == source && !bye_to_source)
      socket_end (socket, 0, NULL);
    else
      socket_end (socket, code, description);
  }
  call_free (call);
}

/* A protocol error of @socket: see router.h. */
static void
call_refuse (RouterCall * call, RouterSocket * socket, const gchar * why)
{
  g_message ("WSP: call %u: refused %s: %s (bye 400)", call->id,
      socket->label, why);

  if (socket->role == ROLE_CALLEE && socket != call->winner) {
    g_ptr_array_remove (call->callees, socket);
    socket_end (socket, WSP_BYE_BAD_REQUEST, why);
    /* The last one ringing took the call with it, as a `bye` 408. */
    if (call->callees->len == 0) {
      g_info ("WSP: call %u: no callee left (bye 408)", call->id);
      call_end (call, NULL, WSP_BYE_TIMEOUT, "No callee left", FALSE);
    }
    return;
  }
  call_end (call, socket, WSP_BYE_BAD_REQUEST, why, TRUE);
}

/* A callee still ringing leaves with `bye` @code; the last one takes the
 * call with it. */
static void
call_callee_leaves (RouterCall * call, RouterSocket * socket,
    WspByeCode code, const gchar * description)
{
  g_info ("WSP: call %u: %s leaves (bye %d), %u left", call->id,
      socket->label, code, call->callees->len - 1);

  if (call->callees->len > 1) {
    g_ptr_array_remove (call->callees, socket);
    socket_end (socket, 0, NULL);
    return;
  }
  call_end (call, socket, code, description, FALSE);
}

static void
call_pick_winner (RouterCall * call, RouterSocket * winner)
{
  g_autoptr (GPtrArray) others = g_steal_pointer (&call->callees);

  g_info ("WSP: call %u: answered by %s; %u other sockets get bye 487",
      call->id, winner->label, others->len - 1);

  call->callees = g_ptr_array_new ();
  call->winner = winner;
  for (guint i = 0; i < others->len; i++) {
    RouterSocket *socket = g_ptr_array_index (others, i);

    if (socket != winner)
      socket_end (socket, WSP_BYE_CANCELLED, "Answered elsewhere");
  }
}

static void
call_caller_message (RouterCall * call, const WspMessage * message)
{
  RouterSocket *caller = call->caller;

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
        wsp_connection_send (call->winner->connection, message);
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
call_callee_message (RouterCall * call, RouterSocket * callee,
    const WspMessage * message)
{
  switch (message->type) {
    case WSP_MESSAGE_RINGING:
      if (!call->ringing_sent) {
        g_info ("WSP: call %u: ringing at %s", call->id, callee->label);
        call->ringing_sent = TRUE;
        wsp_connection_send (call->caller->connection, message);
      }
      return;
    case WSP_MESSAGE_OFFER:
      if (call->winner == NULL)
        call_pick_winner (call, callee);
      wsp_connection_send (call->caller->connection, message);
      return;
    case WSP_MESSAGE_ICE_CANDIDATE:
      /* Only the winner's: the others' peer connections are not the
       * caller's business. */
      if (callee == call->winner)
        wsp_connection_send (call->caller->connection, message);
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

/* @socket closed without a `bye`. */
static void
call_socket_lost (RouterCall * call, RouterSocket * socket)
{
  if (socket == call->caller && call->winner == NULL) {
    g_info ("WSP: call %u: caller %s gone; callees get bye 487", call->id,
        socket->label);
    call_end (call, socket, WSP_BYE_CANCELLED, "Cancelled", FALSE);
  } else if (socket == call->caller || socket == call->winner) {
    g_info ("WSP: call %u: %s gone; the other side gets bye 408", call->id,
        socket->label);
    call_end (call, socket, WSP_BYE_TIMEOUT, "Connection lost", FALSE);
  } else {
    call_callee_leaves (call, socket, WSP_BYE_TIMEOUT, "Connection lost");
  }
}

/* ---- First messages ------------------------------------------------------ */

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

static void
handle_register (RouterSocket * socket, const WspMessage * message)
{
  OiRouter *router = socket->router;
  g_autoptr (WspMessage) reply = NULL;
  g_autofree gchar *user = NULL;
  GPtrArray *sockets;

  /* a peer station's socket has no address of its own to register */
  if (g_str_has_prefix (socket->identity, "*@")
      || !wsp_address_equal (message->registration.uri, socket->identity)) {
    socket_refuse (socket, WSP_BYE_FORBIDDEN, "Not your address");
    return;
  }
  user = local_user (router, message->registration.uri);
  if (user == NULL || !g_hash_table_contains (router->users, user)) {
    socket_refuse (socket, WSP_BYE_UNKNOWN_CALLEE, "Unknown user");
    return;
  }

  sockets = g_hash_table_lookup (router->registrations, user);
  if (sockets == NULL) {
    sockets = g_ptr_array_new ();
    g_hash_table_insert (router->registrations, g_strdup (user), sockets);
  }
  g_ptr_array_add (sockets, socket);
  socket->role = ROLE_REGISTERED;
  socket->user = g_steal_pointer (&user);

  g_info ("WSP: %s registered as %s (%u sockets)", socket->label,
      socket->user, sockets->len);
  reply = wsp_message_new_registered (message->registration.uri);
  wsp_connection_send (socket->connection, reply);
}

static void
route_to_door (RouterSocket * socket, const WspMessage * invite)
{
  OiRouter *router = socket->router;
  g_autofree gchar *identity = g_strdup (socket->identity);
  WspConnection *connection;

  g_info ("WSP: %s calls the door", socket->label);
  connection = socket_forget (socket);
  router->door_func (connection, invite, identity, router->user_data);
  /* Closed by the callback (a refusal): kept until its close is over. */
  connection_drop (connection, FALSE);
}

static void
handle_invite (RouterSocket * socket, const WspMessage * invite)
{
  OiRouter *router = socket->router;
  g_autofree gchar *user = NULL;
  g_autofree gchar *registered_user = NULL;
  g_autoptr (GPtrArray) registered = NULL;
  RouterCall *call;

  if (!identity_matches (socket->identity, invite->invite.caller.uri)) {
    socket_refuse (socket, WSP_BYE_FORBIDDEN, "Caller is not you");
    return;
  }
  user = local_user (router, invite->invite.callee.uri);
  if (user == NULL) {
    socket_refuse (socket, WSP_BYE_UNKNOWN_CALLEE, "Not on this station");
    return;
  }
  if (strcmp (user, router->door_user) == 0) {
    route_to_door (socket, invite);
    return;
  }
  if (!g_hash_table_contains (router->users, user)) {
    socket_refuse (socket, WSP_BYE_UNKNOWN_CALLEE, "Unknown user");
    return;
  }

  /* Registered sockets whose peer has started closing would only leave
   * the ring again: not rung. */
  g_hash_table_steal_extended (router->registrations, user,
      (gpointer *) & registered_user, (gpointer *) & registered);
  if (registered != NULL) {
    for (guint i = registered->len; i > 0; i--) {
      RouterSocket *callee = g_ptr_array_index (registered, i - 1);

      if (!wsp_connection_is_open (callee->connection)) {
        g_ptr_array_remove_index (registered, i - 1);
        socket_release (callee);
      }
    }
  }
  if (registered == NULL || registered->len == 0) {
    socket_refuse (socket, WSP_BYE_NOT_REACHABLE, "Not registered");
    return;
  }

  call = call_new (router, socket);
  g_info ("WSP: call %u: %s calls %s, ringing %u sockets", call->id,
      socket->label, invite->invite.callee.uri, registered->len);
  for (guint i = 0; i < registered->len; i++) {
    RouterSocket *callee = g_ptr_array_index (registered, i);

    callee->role = ROLE_CALLEE;
    callee->call = call;
    g_ptr_array_add (call->callees, callee);
    wsp_connection_send (callee->connection, invite);
  }
}

/* ---- Signals ------------------------------------------------------------- */

static void
on_message (WspConnection * connection, WspMessage * message,
    RouterSocket * socket)
{
  switch (socket->role) {
    case ROLE_NEW:
      socket_stop_timeout (socket);
      if (message->type == WSP_MESSAGE_REGISTER)
        handle_register (socket, message);
      else if (message->type == WSP_MESSAGE_INVITE)
        handle_invite (socket, message);
      else
        socket_refuse (socket, WSP_BYE_BAD_REQUEST,
            "Expected register or invite");
      return;
    case ROLE_REGISTERED:
      if (message->type == WSP_MESSAGE_BYE) {
        g_info ("WSP: %s unregistered (bye %d)", socket->label,
            message->bye.code);
        socket_end (socket, 0, NULL);
      } else {
        socket_refuse (socket, WSP_BYE_BAD_REQUEST,
            "A registered socket waits for an invite");
      }
      return;
    case ROLE_CALLER:
      call_caller_message (socket->call, message);
      return;
    case ROLE_CALLEE:
      call_callee_message (socket->call, socket, message);
      return;
  }
}

static void
on_closed (WspConnection * connection, guint code, RouterSocket * socket)
{
  socket->closed = TRUE;

  switch (socket->role) {
    case ROLE_NEW:
    case ROLE_REGISTERED:
      g_info ("WSP: %s closed (%u)%s", socket->label, code,
          socket->role == ROLE_REGISTERED ? ": registration dropped" : "");
      socket_release (socket);
      return;
    case ROLE_CALLER:
    case ROLE_CALLEE:
      call_socket_lost (socket->call, socket);
      return;
  }
}

/* The transport has sent `bye` 400 and is closing. */
static void
on_protocol_error (WspConnection * connection, GError * error,
    RouterSocket * socket)
{
  switch (socket->role) {
    case ROLE_NEW:
    case ROLE_REGISTERED:
      g_message ("WSP: refused %s: %s (bye 400)", socket->label,
          error->message);
      socket_release (socket);
      return;
    case ROLE_CALLER:
    case ROLE_CALLEE:
      call_refuse (socket->call, socket, "Bad message");
      return;
  }
}

static gboolean
on_first_message_timeout (gpointer user_data)
{
  RouterSocket *socket = user_data;

  g_clear_pointer (&socket->timeout, g_source_unref);
  socket_refuse (socket, WSP_BYE_TIMEOUT, "No register or invite");
  return G_SOURCE_REMOVE;
}

/* ---- API ----------------------------------------------------------------- */

OiRouter *
oi_router_new (const gchar * host, const gchar * door_user,
    OiRouterDoorFunc door_func, gpointer user_data)
{
  g_autofree gchar *address = NULL;
  g_autofree gchar *host_name = NULL;
  OiRouter *router;
  guint port;

  g_return_val_if_fail (host != NULL, NULL);
  g_return_val_if_fail (door_user != NULL, NULL);
  g_return_val_if_fail (door_func != NULL, NULL);

  address = g_strconcat (door_user, "@", host, NULL);
  g_return_val_if_fail (wsp_address_parse (address, NULL, &host_name, &port,
          NULL), NULL);

  router = g_new0 (OiRouter, 1);
  router->context = g_main_context_ref_thread_default ();
  router->host_name = g_steal_pointer (&host_name);
  router->host_port = port;
  router->door_user = g_strdup (door_user);
  router->door_func = door_func;
  router->user_data = user_data;
  router->first_message_timeout = OI_ROUTER_FIRST_MESSAGE_TIMEOUT;
  router->users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  router->sockets = g_hash_table_new (NULL, NULL);
  router->registrations = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, (GDestroyNotify) g_ptr_array_unref);
  router->calls = g_ptr_array_new ();
  return router;
}

void
oi_router_free (OiRouter * router)
{
  GHashTableIter iter;
  gpointer socket;

  if (router == NULL)
    return;

  while (router->calls->len > 0)
    call_end (g_ptr_array_index (router->calls, 0), NULL,
        WSP_BYE_INTERNAL_ERROR, "Server shutting down", FALSE);

  /* Registered and new sockets: no call to end, just going away. */
  g_hash_table_iter_init (&iter, router->sockets);
  while (g_hash_table_iter_next (&iter, &socket, NULL)) {
    socket_end (socket, 0, NULL);
    g_hash_table_iter_init (&iter, router->sockets);
  }

  g_hash_table_unref (router->registrations);
  g_hash_table_unref (router->sockets);
  g_hash_table_unref (router->users);
  g_ptr_array_unref (router->calls);
  g_main_context_unref (router->context);
  g_free (router->host_name);
  g_free (router->door_user);
  g_free (router);
}

void
oi_router_set_users (OiRouter * router, const gchar * const *users)
{
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer user, sockets;

  g_return_if_fail (router != NULL);

  g_hash_table_remove_all (router->users);
  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    g_hash_table_add (router->users, g_strdup (users[i]));

  g_hash_table_iter_init (&iter, router->registrations);
  while (g_hash_table_iter_next (&iter, &user, &sockets)) {
    if (!g_hash_table_contains (router->users, user))
      g_ptr_array_extend (gone, sockets, NULL, NULL);
  }
  for (guint i = 0; i < gone->len; i++)
    socket_refuse (g_ptr_array_index (gone, i), WSP_BYE_UNKNOWN_CALLEE,
        "Unknown user");
}

void
oi_router_set_first_message_timeout (OiRouter * router, guint ms)
{
  g_return_if_fail (router != NULL);

  router->first_message_timeout = ms;
}

void
oi_router_accept (OiRouter * router, WspConnection * connection,
    const gchar * identity)
{
  RouterSocket *socket;
  GSocketAddress *address;
  g_autofree gchar *peer = NULL;

  g_return_if_fail (router != NULL);
  g_return_if_fail (WSP_IS_CONNECTION (connection));
  g_return_if_fail (identity != NULL && identity_is_valid (identity));

  address = wsp_connection_get_remote_address (connection);
  if (address != NULL)
    peer = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

  socket = g_new0 (RouterSocket, 1);
  socket->router = router;
  socket->connection = g_object_ref (connection);
  socket->identity = g_strdup (identity);
  socket->label = g_strdup_printf ("%s (%s)", identity,
      peer ? peer : "unknown address");
  socket->role = ROLE_NEW;
  g_hash_table_add (router->sockets, socket);

  g_signal_connect (connection, "message", G_CALLBACK (on_message), socket);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), socket);
  g_signal_connect (connection, "protocol-error",
      G_CALLBACK (on_protocol_error), socket);

  socket->timeout = g_timeout_source_new (router->first_message_timeout);
  g_source_set_callback (socket->timeout, on_first_message_timeout, socket,
      NULL);
  g_source_attach (socket->timeout, router->context);

  g_debug ("WSP: new socket %s", socket->label);
}

guint
oi_router_count_registered (OiRouter * router, const gchar * user)
{
  GPtrArray *sockets;

  g_return_val_if_fail (router != NULL, 0);
  g_return_val_if_fail (user != NULL, 0);

  sockets = g_hash_table_lookup (router->registrations, user);
  return sockets != NULL ? sockets->len : 0;
}

guint
oi_router_count_calls (OiRouter * router)
{
  g_return_val_if_fail (router != NULL, 0);

  return router->calls->len;
}
