/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /wsp endpoint of intercomd's server (docs/intercomd.md, "WSP at
 * /wsp"): who a socket is (a session, a [peer] station's token, a [door]'s
 * token), the socket limits, and the hand-over to the WSP router library;
 * the door's own callers in the process. */

#include "server-private.h"

#include <string.h>

/* Open /wsp sockets per client address. */
static void
counter_add (GHashTable * counters, const gchar * key, gint delta)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counters, key));

  count += delta;
  if (count == 0)
    g_hash_table_remove (counters, key);
  else
    g_hash_table_insert (counters, g_strdup (key), GUINT_TO_POINTER (count));
}

static guint
counter_get (GHashTable * counters, const gchar * key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counters, key));
}

/* Who a /wsp socket is: a logged-in browser is its user's address; a
 * bearer token is a [peer] station's ("*@its-host": any of its users) or
 * a [door NAME]'s that registers here (NAME@host).
 * The door's own caller elements come in the process (home_accept()). */
static gchar *
wsp_identity (OiServer * self, SoupServerMessage * msg)
{
  const gchar *auth;
  const gchar *token;
  const OiPeer *peer;
  const OiRemoteDoor *door;
  const OiSession *session = oi_server_find_session (self, msg, NULL);

  if (session)
    return g_strdup_printf ("%s@%s", session->user, self->config->host);
  auth = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "Authorization");
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return NULL;
  token = auth + 7;
  if ((peer = oi_config_find_peer_by_token (self->config, token)))
    return g_strdup_printf ("*@%s", peer->host);
  if ((door = oi_config_find_door_by_token (self->config, token)))
    return g_strdup_printf ("%s@%s", door->name, self->config->host);
  return NULL;
}

static void
wsp_early_handler (SoupServer * soup, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer data)
{
  OiServer *self = data;
  g_autofree gchar *identity = NULL;
  g_autofree gchar *address = oi_server_remote_ip (msg);

  oi_server_check_users (self);
  if (!oi_server_origin_ok (self, msg)) {
    g_message ("WSP socket from %s refused: cross-origin", address);
    oi_server_respond_error (msg, SOUP_STATUS_FORBIDDEN, "cross-origin request "
        "refused");
    return;
  }
  identity = wsp_identity (self, msg);
  if (identity == NULL) {
    g_message ("WSP socket from %s refused: not logged in, no valid token",
        address);
    oi_server_respond_error (msg, SOUP_STATUS_UNAUTHORIZED, "log in first");
    return;
  }
  if (counter_get (self->sockets_by_address, address) >=
      self->config->max_sockets_per_address
      || g_hash_table_size (self->sockets) >= self->config->max_sockets) {
    g_message ("WSP socket of %s from %s refused: %u open from there, %u "
        "in all ([limits] sockets-per-address, sockets)", identity, address,
        counter_get (self->sockets_by_address, address),
        g_hash_table_size (self->sockets));
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Retry-After", "10");
    oi_server_respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
        "too many sockets");
  }
}

/* An open /wsp socket counts from its acceptance until it closes or, if
 * its last holder drops it first, until it is gone. */
static void
socket_uncount (OiServer * self, WspConnection * connection)
{
  gchar *address = g_hash_table_lookup (self->sockets, connection);

  if (address == NULL)
    return;
  counter_add (self->sockets_by_address, address, -1);
  g_hash_table_remove (self->sockets, connection);
}

static void wsp_socket_gone (gpointer data, GObject * where_it_was);

static void
wsp_closed (WspConnection * connection, guint code, gpointer data)
{
  OiServer *self = data;

  g_signal_handlers_disconnect_by_data (connection, self);
  g_object_weak_unref (G_OBJECT (connection), wsp_socket_gone, self);
  socket_uncount (self, connection);
}

static void
wsp_socket_gone (gpointer data, GObject * where_it_was)
{
  socket_uncount (data, (WspConnection *) where_it_was);
}

static void
door_invite (WspConnection * connection, const WspMessage * invite,
    const gchar * identity, gpointer data)
{
  OiServer *self = data;

  oi_calls_incoming (self->calls, connection, invite, identity);
}

static void
wsp_accept (WspConnection * connection, SoupServerMessage * msg,
    gpointer data)
{
  OiServer *self = data;
  g_autofree gchar *identity = wsp_identity (self, msg);
  g_autofree gchar *address = oi_server_remote_ip (msg);

  if (identity == NULL) {
    wsp_connection_send_bye_and_close (connection,
        WSP_BYE_NOT_AUTHENTICATED, NULL);
    return;
  }
  /* Counted until it closes, whoever holds it then. */
  counter_add (self->sockets_by_address, address, 1);
  g_hash_table_insert (self->sockets, connection, g_steal_pointer (&address));
  g_signal_connect (connection, "closed", G_CALLBACK (wsp_closed), self);
  g_object_weak_ref (G_OBJECT (connection), wsp_socket_gone, self);
  wsp_router_accept_connection (self->router, connection, identity,
      door_invite, self);
}

/* The door's own caller elements, in the process (OI_HOME_SERVER_NAME):
 * the door's identity, no socket counted, the same router. */
static void
home_accept (WspConnection * connection, gpointer data)
{
  OiServer *self = data;

  wsp_router_accept_connection (self->router, connection,
      self->config->door_uri, door_invite, self);
}

gboolean
oi_server_add_wsp (OiServer * self, GError ** error)
{
  soup_server_add_early_handler (self->soup, "/wsp", wsp_early_handler, self,
      NULL);
  wsp_server_add_endpoint (self->soup, "/wsp", NULL, wsp_accept, self, NULL);
  if (self->config->home_server)
    return TRUE;
  self->home = wsp_local_server_new (OI_HOME_SERVER_NAME, NULL, home_accept,
      self, NULL, error);
  return self->home != NULL;
}

void
oi_server_forget_sockets (OiServer * self)
{
  GHashTableIter iter;
  gpointer connection;

  if (self->sockets == NULL)
    return;
  g_hash_table_iter_init (&iter, self->sockets);
  while (g_hash_table_iter_next (&iter, &connection, NULL)) {
    g_signal_handlers_disconnect_by_data (connection, self);
    g_object_weak_unref (connection, wsp_socket_gone, self);
  }
  g_clear_pointer (&self->sockets, g_hash_table_unref);
}

void
oi_server_add_doors_json (OiServer * self, JsonBuilder * b)
{
  if (self->config->doors->len == 0 && !self->config->home_server)
    return;
  json_builder_set_member_name (b, "doors");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->config->doors->len; i++) {
    const OiRemoteDoor *door = g_ptr_array_index (self->config->doors, i);
    g_autofree gchar *uri = g_strdup_printf ("%s@%s", door->name,
        self->config->host);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "uri");
    json_builder_add_string_value (b, uri);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, door->display_name);
    json_builder_set_member_name (b, "registered");
    json_builder_add_boolean_value (b,
        wsp_router_count_registered (self->router, door->name) > 0);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}
