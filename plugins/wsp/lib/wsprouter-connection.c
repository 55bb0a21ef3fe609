/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WspRouter endpoint ops for a WspConnection (wsprouter-connection.h):
 * one RouterConnection per attached socket, from its acceptance until the
 * router's done op. The rules are the router's (wsprouter.c); what a socket
 * is, the transport's (wsptransport.c). This file only keeps the two in
 * step: the connection's signals are disconnected before it is closed or
 * handed over, so that nothing it emits then reaches the router, and its
 * last reference is kept until its close handshake is over. */

#include "wsprouter-connection.h"

typedef struct
{
  WspRouter *router;
  WspRouterEndpoint *endpoint;
  WspConnection *connection;
  GMainContext *context;
  GSource *timeout;
  WspRouterDoorFunc door_func;
  gpointer user_data;
  /* "closed" was emitted: nothing to wait for. */
  gboolean closed;
} RouterConnection;

static void
stop_timeout (RouterConnection * self)
{
  if (self->timeout != NULL) {
    g_source_destroy (self->timeout);
    g_clear_pointer (&self->timeout, g_source_unref);
  }
}

/* From now on the connection tells the router nothing. */
static void
detach (RouterConnection * self)
{
  stop_timeout (self);
  g_signal_handlers_disconnect_by_data (self->connection, self);
}

/* ---- The connection's signals -------------------------------------------- */

static void
on_message (WspConnection * connection, WspMessage * message,
    RouterConnection * self)
{
  wsp_router_receive (self->router, self->endpoint, message);
}

static void
on_closed (WspConnection * connection, guint code, RouterConnection * self)
{
  g_debug ("WSP: router socket closed (%u)", code);
  self->closed = TRUE;
  wsp_router_closed (self->router, self->endpoint);
}

static void
on_protocol_error (WspConnection * connection, GError * error,
    RouterConnection * self)
{
  wsp_router_refused (self->router, self->endpoint, error->message);
}

static gboolean
on_timeout (gpointer data)
{
  RouterConnection *self = data;

  /* The router's answer ends the endpoint, and self with it. */
  g_clear_pointer (&self->timeout, g_source_unref);
  wsp_router_timed_out (self->router, self->endpoint);
  return G_SOURCE_REMOVE;
}

/* ---- The router's ops ---------------------------------------------------- */

static void
op_send (WspRouterEndpoint * endpoint, const WspMessage * message,
    gpointer data)
{
  RouterConnection *self = data;

  wsp_connection_send (self->connection, message);
}

static void
op_close (WspRouterEndpoint * endpoint, WspByeCode code,
    const gchar * description, gpointer data)
{
  RouterConnection *self = data;

  /* libsoup emits "closed" later, from its asynchronous stream close; but
   * the router is done with it anyway. */
  detach (self);
  if (code != 0)
    wsp_connection_send_bye_and_close (self->connection, code, description);
  else
    wsp_connection_close (self->connection);
}

static void
op_set_timeout (WspRouterEndpoint * endpoint, guint ms, gpointer data)
{
  RouterConnection *self = data;

  stop_timeout (self);
  if (ms == 0)
    return;
  self->timeout = g_timeout_source_new (ms);
  g_source_set_callback (self->timeout, on_timeout, self, NULL);
  g_source_attach (self->timeout, self->context);
}

static gboolean
op_is_open (WspRouterEndpoint * endpoint, gpointer data)
{
  RouterConnection *self = data;

  return wsp_connection_is_open (self->connection);
}

static void
op_hand_over (WspRouterEndpoint * endpoint, const WspMessage * invite,
    const gchar * identity, gpointer data)
{
  RouterConnection *self = data;

  /* The door's func may keep the connection for a call of its own: none of
   * the router's handlers may remain on it. */
  detach (self);
  if (self->door_func != NULL) {
    self->door_func (self->connection, invite, identity, self->user_data);
    return;
  }
  g_message ("WSP: refused %s's invite for the door: no door here (bye 404)",
      identity);
  wsp_connection_send_bye_and_close (self->connection,
      WSP_BYE_UNKNOWN_CALLEE, "Unknown user");
}

static void
op_done (WspRouterEndpoint * endpoint, gpointer data)
{
  RouterConnection *self = data;

  detach (self);
  wsp_connection_release (self->connection);
  g_main_context_unref (self->context);
  g_free (self);
}

static const WspRouterEndpointOps connection_ops = {
  .send = op_send,
  .close = op_close,
  .set_timeout = op_set_timeout,
  .is_open = op_is_open,
  .hand_over = op_hand_over,
  .done = op_done,
};

/* ---- API ----------------------------------------------------------------- */

void
wsp_router_accept_connection (WspRouter * router, WspConnection * connection,
    const gchar * identity, WspRouterDoorFunc door_func, gpointer user_data)
{
  RouterConnection *self;
  GSocketAddress *address;
  g_autofree gchar *peer = NULL;

  g_return_if_fail (router != NULL);
  g_return_if_fail (WSP_IS_CONNECTION (connection));
  g_return_if_fail (identity != NULL);

  /* Closed (or closing) before it got here: its "closed" may have gone
   * already, and attached it would wait for one that never comes. */
  if (!wsp_connection_is_open (connection)) {
    g_info ("router: a socket for %s closed before it was attached",
        identity);
    return;
  }

  address = wsp_connection_get_remote_address (connection);
  if (address != NULL)
    peer = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

  self = g_new0 (RouterConnection, 1);
  self->router = router;
  self->connection = g_object_ref (connection);
  self->context = g_main_context_ref_thread_default ();
  self->door_func = door_func;
  self->user_data = user_data;

  self->endpoint = wsp_router_attach (router, identity, peer, &connection_ops,
      self);
  if (self->endpoint == NULL) {
    /* (a critical already) */
    stop_timeout (self);
    g_object_unref (self->connection);
    g_main_context_unref (self->context);
    g_free (self);
    return;
  }

  g_signal_connect (connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  g_signal_connect (connection, "protocol-error",
      G_CALLBACK (on_protocol_error), self);
}
