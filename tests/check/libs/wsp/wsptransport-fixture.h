/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the WSP transport tests (wsptransport.c, wsplimits.c,
 * wspclose.c): one end of a connection with what it saw, a real TLS
 * SoupServer on 127.0.0.1 with the WSP endpoint, a WspConnection client
 * and a raw libsoup client, all on the default main context and driven
 * with deadlines. */
#pragma once

#include <gst/check/gstcheck.h>
#include <string.h>

#include "wsptransport.h"
#include "wsptest.h"

#define CA_PEM TEST_CERTS_DIR "/ca.pem"
#define SERVER_PEM TEST_CERTS_DIR "/server.pem"
#define SERVER_KEY TEST_CERTS_DIR "/server.key"
#define SELF_PEM TEST_CERTS_DIR "/self.pem"
#define SELF_KEY TEST_CERTS_DIR "/self.key"

/* ---- One end of a connection, with what it saw -------------------------- */

typedef struct
{
  WspConnection *conn;
  GPtrArray *messages;
  guint closed;
  guint close_code;
  guint protocol_errors;
  GError *error;
  /* "closed" came after "protocol-error", never before. */
  gboolean error_after_close;
} Peer;

static inline void
on_message (WspConnection * conn, WspMessage * message, Peer * peer)
{
  fail_unless (peer->closed == 0, "message after closed");
  g_ptr_array_add (peer->messages, message_copy (message));
}

static inline void
on_closed (WspConnection * conn, guint code, Peer * peer)
{
  peer->closed++;
  peer->close_code = code;
  fail_if (wsp_connection_is_open (conn));
}

static inline void
on_protocol_error (WspConnection * conn, GError * error, Peer * peer)
{
  if (peer->closed)
    peer->error_after_close = TRUE;
  peer->protocol_errors++;
  g_clear_error (&peer->error);
  peer->error = g_error_copy (error);
  fail_if (wsp_connection_is_open (conn));
}

static inline Peer *
peer_new (WspConnection * conn)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->conn = g_object_ref (conn);
  peer->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  g_signal_connect (conn, "message", G_CALLBACK (on_message), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), peer);
  g_signal_connect (conn, "protocol-error", G_CALLBACK (on_protocol_error),
      peer);
  return peer;
}

/* Closes what is still open and waits for it, so that libsoup's
 * asynchronous stream close finishes before the test ends (for LSan). */
static inline void
peer_free (Peer * peer)
{
  if (peer->closed == 0) {
    wsp_connection_close (peer->conn);
    WAIT_FOR (peer->closed > 0);
  }
  g_signal_handlers_disconnect_by_data (peer->conn, peer);
  g_object_unref (peer->conn);
  g_ptr_array_unref (peer->messages);
  g_clear_error (&peer->error);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free);

static inline const WspMessage *
peer_message (Peer * peer, guint i)
{
  fail_unless (i < peer->messages->len);
  return g_ptr_array_index (peer->messages, i);
}

/* ---- The server --------------------------------------------------------- */

typedef struct
{
  SoupServer *server;
  guint port;
  GPtrArray *peers;
  gchar *authorization;
  /* Accept without keeping the connection. */
  gboolean drop;
} Server;

static inline void
on_accept (WspConnection * conn, SoupServerMessage * msg, gpointer user_data)
{
  Server *s = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  g_free (s->authorization);
  s->authorization =
      g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  if (!s->drop)
    g_ptr_array_add (s->peers, peer_new (conn));
}

static inline Server *
server_new (const gchar * cert_file, const gchar * key_file,
    const WspLimits * limits)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  Server *s = g_new0 (Server, 1);
  GSList *uris;

  cert = g_tls_certificate_new_from_files (cert_file, key_file, &error);
  fail_unless (cert != NULL, "%s", error ? error->message : "");
  s->server = soup_server_new ("tls-certificate", cert, NULL);
  s->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  wsp_server_add_endpoint (s->server, "/wsp", limits, on_accept, s, NULL);

  fail_unless (soup_server_listen_local (s->server, 0,
          SOUP_SERVER_LISTEN_HTTPS | SOUP_SERVER_LISTEN_IPV4_ONLY, &error),
      "%s", error ? error->message : "");
  uris = soup_server_get_uris (s->server);
  fail_unless (uris != NULL);
  s->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return s;
}

static inline void
server_free (Server * s)
{
  g_ptr_array_unref (s->peers);
  soup_server_disconnect (s->server);
  g_object_unref (s->server);
  g_free (s->authorization);
  g_free (s);
  /* Let the streams libsoup closes asynchronously finish closing. */
  run_for (50);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free);

static inline gchar *
server_uri (Server * s)
{
  return g_strdup_printf ("wss://127.0.0.1:%u/wsp", s->port);
}

static inline Peer *
server_peer (Server * s, guint i)
{
  fail_unless (i < s->peers->len);
  return g_ptr_array_index (s->peers, i);
}

/* ---- The client --------------------------------------------------------- */

static inline void
on_async_result (GObject * source, GAsyncResult * result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static inline WspConnection *
client_connect (const gchar * uri, const WspClientOptions * options,
    GError ** error)
{
  g_autoptr (GAsyncResult) result = NULL;

  wsp_connect_async (uri, options, NULL, on_async_result, &result);
  WAIT_FOR (result != NULL);
  return wsp_connect_finish (result, error);
}

/* Connects to @s with @options and returns both ends. */
static inline Peer *
connect_ok (Server * s, const WspClientOptions * options, Peer ** server_end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autofree gchar *uri = server_uri (s);
  guint before = s->peers->len;

  conn = client_connect (uri, options, &error);
  fail_unless (conn != NULL, "connect failed: %s", error ? error->message : "");
  fail_unless (wsp_connection_is_open (conn));
  /* The server side runs its callback when it has written the 101, which
   * may be after the client has read it. */
  WAIT_FOR (s->peers->len > before);
  if (server_end != NULL)
    *server_end = server_peer (s, before);
  return peer_new (conn);
}

static inline void
connect_fails (Server * s, const WspClientOptions * options, GQuark domain,
    gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autofree gchar *uri = server_uri (s);

  conn = client_connect (uri, options, &error);
  fail_unless (conn == NULL, "connected but should not have");
  fail_unless (error != NULL);
  if (domain != 0)
    fail_unless (g_error_matches (error, domain, code), "wrong error: %s %d "
        "(%s)", g_quark_to_string (error->domain), error->code, error->message);
  fail_unless_equals_int (s->peers->len, 0);
}

static const WspClientOptions pinned_self = {
  .pinned_certificate_file = SELF_PEM,
};

static const WspClientOptions with_ca = {
  .ca_file = CA_PEM,
};

/* A raw libsoup client, for what WspConnection would never send. Like a
 * browser, it offers permessage-deflate. */
static inline SoupWebsocketConnection *
raw_connect (Server * s, gchar ** protocols, guint * status, GError ** error)
{
  /* Direct, as the library's own client: no system proxy resolver. */
  g_autoptr (SoupSession) session =
      soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *uri = server_uri (s);
  SoupWebsocketConnection *ws;

  database = g_tls_file_database_new (CA_PEM, NULL);
  fail_unless (database != NULL);
  soup_session_set_tls_database (session, database);
  soup_session_add_feature_by_type (session,
      SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  msg = soup_message_new (SOUP_METHOD_GET, uri);
  soup_session_websocket_connect_async (session, msg, NULL, protocols,
      G_PRIORITY_DEFAULT, NULL, on_async_result, &result);
  WAIT_FOR (result != NULL);
  ws = soup_session_websocket_connect_finish (session, result, error);
  *status = soup_message_get_status (msg);
  return ws;
}
