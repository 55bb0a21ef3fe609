/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-process WSP (`inproc://NAME`): a server known by name inside this
 * process, and connections to it over a socket pair — the same WebSocket
 * framing and WspConnection as over the network, without TLS, without an
 * HTTP upgrade and without a port. A door station's own caller elements
 * reach its own home server this way (docs/wsp.md, "In-process WSP"). The
 * connection object is wspconnection.c's; the client entry point is
 * wsp_connect_async() (wspclient.c), which hands `inproc://` URIs here.
 *
 * Threads: a server lives on the main context that was thread-default at
 * wsp_local_server_new(); its accept function runs there. A connection is
 * made from any thread: its client side lives on the caller's
 * thread-default context, its server side is built on the server's. The
 * registry of names is under a lock; nothing is called with it held. */

#include "wsptransport-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct _WspLocalServer
{
  gint refcount;
  gchar *name;
  GMainContext *context;
  WspLimits limits;
  WspLocalAcceptFunc accept;
  gpointer user_data;
  GDestroyNotify destroy;
  /* Set by wsp_local_server_free(): an accept queued before it, or a
   * client not yet handed its connection, finds the server gone. */
  gint closed;
};

static GMutex registry_lock;
static GHashTable *registry;    /* name -> WspLocalServer, not owned */

static WspLocalServer *
local_server_ref (WspLocalServer * server)
{
  g_atomic_int_inc (&server->refcount);
  return server;
}

static void
local_server_unref (WspLocalServer * server)
{
  if (!g_atomic_int_dec_and_test (&server->refcount))
    return;
  g_main_context_unref (server->context);
  g_free (server->name);
  g_free (server);
}

gboolean
wsp_local_name_is_valid (const gchar * name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_'
        && name[i] != '.')
      return FALSE;
  return TRUE;
}

WspLocalServer *
wsp_local_server_new (const gchar * name, const WspLimits * limits,
    WspLocalAcceptFunc accept, gpointer user_data, GDestroyNotify destroy,
    GError ** error)
{
  WspLocalServer *server;

  g_return_val_if_fail (accept != NULL, NULL);

  if (!wsp_local_name_is_valid (name)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "\"%s\" is not an in-process server name (1-64 of A-Z a-z 0-9 . _ -)",
        name ? name : "(null)");
    return NULL;
  }

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  if (g_hash_table_contains (registry, name)) {
    g_mutex_unlock (&registry_lock);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
        "an in-process WSP server \"%s\" exists already", name);
    return NULL;
  }
  server = g_new0 (WspLocalServer, 1);
  server->refcount = 1;
  server->name = g_strdup (name);
  server->context = g_main_context_ref_thread_default ();
  wsp_limits_resolve (limits, &server->limits);
  server->accept = accept;
  server->user_data = user_data;
  server->destroy = destroy;
  g_hash_table_insert (registry, server->name, server);
  g_mutex_unlock (&registry_lock);
  g_info ("in-process WSP server %s", name);
  return server;
}

void
wsp_local_server_free (WspLocalServer * server)
{
  if (server == NULL)
    return;

  g_mutex_lock (&registry_lock);
  g_hash_table_remove (registry, server->name);
  g_mutex_unlock (&registry_lock);

  g_atomic_int_set (&server->closed, 1);
  if (server->destroy)
    server->destroy (server->user_data);
  server->user_data = NULL;
  local_server_unref (server);
}

/* The server's half of a socket pair, on its way to its context. */
typedef struct
{
  WspLocalServer *server;
  GIOStream *stream;
  GUri *uri;
} Pending;

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  local_server_unref (pending->server);
  g_object_unref (pending->stream);
  g_uri_unref (pending->uri);
  g_free (pending);
}

static gboolean
accept_pending (gpointer data)
{
  Pending *pending = data;
  WspLocalServer *server = pending->server;
  g_autoptr (GIOStream) guarded = NULL;
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autoptr (WspConnection) connection = NULL;

  if (g_atomic_int_get (&server->closed)) {
    /* The client sees its socket end (1006), as from a server gone, unless
     * it has not been handed its connection yet (finish_client()). */
    g_io_stream_close (pending->stream, NULL, NULL);
    return G_SOURCE_REMOVE;
  }
  /* The same size guard as the network endpoint's. */
  g_main_context_push_thread_default (server->context);
  guarded = wsp_guard_stream_new (pending->stream,
      server->limits.max_message_size);
  ws = soup_websocket_connection_new (guarded, pending->uri,
      SOUP_WEBSOCKET_CONNECTION_SERVER, NULL, WSP_SUBPROTOCOL, NULL);
  connection = wsp_connection_new (ws, NULL, &server->limits);
  server->accept (connection, server->user_data);
  g_main_context_pop_thread_default (server->context);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  WspLocalServer *server;
  GTask *task;
  GIOStream *stream;
  GUri *uri;
  WspLimits limits;
} ClientSide;

static void
client_side_free (gpointer data)
{
  ClientSide *client = data;

  local_server_unref (client->server);
  g_object_unref (client->task);
  g_object_unref (client->stream);
  g_uri_unref (client->uri);
  g_free (client);
}

static gboolean
finish_client (gpointer data)
{
  ClientSide *client = data;
  g_autoptr (SoupWebsocketConnection) ws = NULL;

  if (g_task_return_error_if_cancelled (client->task))
    return G_SOURCE_REMOVE;
  /* A server stopped since the look-up refuses, as a network server that
   * went away fails the connect (not a connection that is then lost). One
   * stopped after this point closes the connection instead (1006). */
  if (g_atomic_int_get (&client->server->closed)) {
    g_task_return_new_error (client->task, G_IO_ERROR,
        G_IO_ERROR_CONNECTION_REFUSED, "the in-process WSP server \"%s\" "
        "has stopped", client->server->name);
    return G_SOURCE_REMOVE;
  }
  ws = soup_websocket_connection_new (client->stream, client->uri,
      SOUP_WEBSOCKET_CONNECTION_CLIENT, NULL, WSP_SUBPROTOCOL, NULL);
  g_task_return_pointer (client->task, wsp_connection_new (ws, NULL,
          &client->limits), g_object_unref);
  return G_SOURCE_REMOVE;
}

static GIOStream *
stream_from_fd (gint fd, GError ** error)
{
  g_autoptr (GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL) {
    close (fd);
    return NULL;
  }
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

void
wsp_local_connect (const gchar * uri, const WspLimits * limits, GTask * task)
{
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) ours = NULL;
  g_autoptr (GIOStream) theirs = NULL;
  WspLocalServer *server = NULL;
  const gchar *name;
  Pending *pending;
  ClientSide *client;
  GSource *source;
  gint fds[2];

  parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);
  name = parsed ? g_uri_get_host (parsed) : NULL;
  if (name == NULL || !wsp_local_name_is_valid (name)
      || g_strcmp0 (g_uri_get_scheme (parsed), WSP_LOCAL_SCHEME) != 0) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "\"%s\" is not an in-process WSP URI (" WSP_LOCAL_SCHEME "://NAME)",
        uri);
    return;
  }

  g_mutex_lock (&registry_lock);
  if (registry)
    server = g_hash_table_lookup (registry, name);
  if (server)
    local_server_ref (server);
  g_mutex_unlock (&registry_lock);
  if (server == NULL) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
        "no in-process WSP server \"%s\"", name);
    return;
  }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    gint saved = errno;

    local_server_unref (server);
    g_task_return_new_error (task, G_IO_ERROR,
        g_io_error_from_errno (saved), "socketpair: %s", g_strerror (saved));
    return;
  }
  theirs = stream_from_fd (fds[1], &error);
  ours = theirs ? stream_from_fd (fds[0], &error) : (close (fds[0]), NULL);
  if (ours == NULL) {
    local_server_unref (server);
    g_task_return_error (task, g_steal_pointer (&error));
    return;
  }

  pending = g_new0 (Pending, 1);
  pending->server = server;
  pending->stream = g_steal_pointer (&theirs);
  pending->uri = g_uri_ref (parsed);
  /* Always queued, even on the server's own thread: the accept function
   * does not run inside the caller's connect. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, accept_pending, pending, pending_free);
  g_source_attach (source, server->context);
  g_source_unref (source);

  /* The client's side is made in a later iteration of the caller's
   * context, and handed over at once (GTask calls back directly there):
   * made now, it could read and emit what the server sends before the
   * caller connected its handlers. What it sends before the server's side
   * exists waits in the socket. */
  client = g_new0 (ClientSide, 1);
  client->server = local_server_ref (server);
  client->task = g_object_ref (task);
  client->stream = g_steal_pointer (&ours);
  client->uri = g_uri_ref (parsed);
  wsp_limits_resolve (limits, &client->limits);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, finish_client, client, client_side_free);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}
