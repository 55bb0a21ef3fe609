/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP WebSocket transport against a real TLS SoupServer on 127.0.0.1,
 * in this process: TLS pinning and CA files, the required subprotocol, the
 * bearer token, every limit on what comes in (fragmented messages too),
 * closing from either side, the keepalive. Server and libsoup clients run
 * on the default main context, driven with deadlines; nothing sleeps. The
 * two hand-written peers (a server that never answers, a client that sends
 * fragments) use blocking I/O in threads of their own. */

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

static void
on_message (WspConnection * conn, WspMessage * message, Peer * peer)
{
  fail_unless (peer->closed == 0, "message after closed");
  g_ptr_array_add (peer->messages, message_copy (message));
}

static void
on_closed (WspConnection * conn, guint code, Peer * peer)
{
  peer->closed++;
  peer->close_code = code;
  fail_if (wsp_connection_is_open (conn));
}

static void
on_protocol_error (WspConnection * conn, GError * error, Peer * peer)
{
  if (peer->closed)
    peer->error_after_close = TRUE;
  peer->protocol_errors++;
  g_clear_error (&peer->error);
  peer->error = g_error_copy (error);
  fail_if (wsp_connection_is_open (conn));
}

static Peer *
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
static void
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

static const WspMessage *
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

static void
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

static Server *
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

static void
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

static gchar *
server_uri (Server * s)
{
  return g_strdup_printf ("wss://127.0.0.1:%u/wsp", s->port);
}

static Peer *
server_peer (Server * s, guint i)
{
  fail_unless (i < s->peers->len);
  return g_ptr_array_index (s->peers, i);
}

/* ---- The client --------------------------------------------------------- */

static void
on_async_result (GObject * source, GAsyncResult * result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static WspConnection *
client_connect (const gchar * uri, const WspClientOptions * options,
    GError ** error)
{
  g_autoptr (GAsyncResult) result = NULL;

  wsp_connect_async (uri, options, NULL, on_async_result, &result);
  WAIT_FOR (result != NULL);
  return wsp_connect_finish (result, error);
}

/* Connects to @s with @options and returns both ends. */
static Peer *
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

static void
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
static SoupWebsocketConnection *
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

/* ---- Tests -------------------------------------------------------------- */

GST_START_TEST (test_address_to_uri)
{
  static const struct
  {
    const gchar *address;
    const gchar *uri;
  } cases[] = {
    {"alice@host:8443", "wss://host:8443/wsp"},
    {"alice@station", "wss://station/wsp"},
    {"door@intercom.example.org", "wss://intercom.example.org/wsp"},
    {"a@192.168.1.20:443", "wss://192.168.1.20:443/wsp"},
    {"bob@[fe80::1]:8443", "wss://[fe80::1]:8443/wsp"},
    {"bob@[::1]", "wss://[::1]/wsp"},
    {"host", NULL},
    {"@host", NULL},
    {"alice@", NULL},
    {"alice@host:0", NULL},
    {"alice@host:65536", NULL},
    {"alice@ho st", NULL},
    {"alice@host/path", NULL},
    {"alice@fe80::1", NULL},
    {"alice@[fe80::1%eth0]", NULL},
    {"", NULL},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree gchar *uri = wsp_address_to_uri (cases[i].address);

    fail_unless (g_strcmp0 (uri, cases[i].uri) == 0, "\"%s\" -> \"%s\", "
        "expected \"%s\"", cases[i].address, uri, cases[i].uri);
  }
}

GST_END_TEST;

/* A station's self-signed certificate, pinned: messages both ways arrive
 * as sent, the larger ones across several TLS records. */
GST_START_TEST (test_pinned_round_trip)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  g_autoptr (WspMessage) invite = NULL;
  g_autoptr (WspMessage) offer = NULL;
  g_autoptr (WspMessage) candidate = NULL;
  g_autoptr (WspMessage) bye = NULL;
  g_autoptr (GString) sdp = g_string_new ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"
      "s=-\r\nt=0 0\r\n");
  GInetAddress *address;
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);

  /* The socket's own address; and no extension, deflate included. */
  fail_unless (G_IS_INET_SOCKET_ADDRESS (wsp_connection_get_remote_address
          (server->conn)));
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS
      (wsp_connection_get_remote_address (server->conn)));
  fail_unless (g_inet_address_get_is_loopback (address));
  fail_unless (G_IS_INET_SOCKET_ADDRESS (wsp_connection_get_remote_address
          (client->conn)));
  fail_unless (soup_websocket_connection_get_extensions
      (wsp_connection_get_websocket (client->conn)) == NULL);
  fail_unless (soup_websocket_connection_get_extensions
      (wsp_connection_get_websocket (server->conn)) == NULL);
  fail_unless_equals_string (soup_websocket_connection_get_protocol
      (wsp_connection_get_websocket (client->conn)), WSP_SUBPROTOCOL);

  invite = wsp_message_new_invite ("door@127.0.0.1", "Front door",
      "alice@127.0.0.1", NULL, NULL);
  wsp_connection_send (client->conn, invite);
  WAIT_FOR (server->messages->len == 1);
  fail_unless (wsp_message_equal (peer_message (server, 0), invite));

  while (sdp->len < WSP_SDP_MAX_SIZE - 100)
    g_string_append (sdp, "a=candidate:1 1 udp 2122260223 192.168.1.20 "
        "54321 typ host generation 0\r\n");
  offer = wsp_message_new_offer (sdp->str);
  candidate = wsp_message_new_ice_candidate ("candidate:1 1 udp 2122260223 "
      "192.168.1.20 54321 typ host", "0", 0);
  wsp_connection_send (server->conn, offer);
  wsp_connection_send (server->conn, candidate);
  WAIT_FOR (client->messages->len == 2);
  fail_unless (wsp_message_equal (peer_message (client, 0), offer));
  fail_unless (wsp_message_equal (peer_message (client, 1), candidate));

  wsp_connection_send_bye_and_close (client->conn, WSP_BYE_NORMAL, NULL);
  fail_if (wsp_connection_is_open (client->conn));
  WAIT_FOR (server->closed && client->closed);
  bye = wsp_message_new_bye (WSP_BYE_NORMAL,
      wsp_bye_code_to_string (WSP_BYE_NORMAL));
  fail_unless_equals_int (server->messages->len, 2);
  fail_unless (wsp_message_equal (peer_message (server, 1), bye));
  fail_unless_equals_int (server->close_code, SOUP_WEBSOCKET_CLOSE_NORMAL);
  fail_unless_equals_int (client->close_code, SOUP_WEBSOCKET_CLOSE_NORMAL);
  fail_unless_equals_int (server->protocol_errors, 0);
  fail_unless_equals_int (client->protocol_errors, 0);
}

GST_END_TEST;

GST_START_TEST (test_pinned_wrong_certificate)
{
  g_autoptr (Server) s = server_new (SERVER_PEM, SERVER_KEY, NULL);

  connect_fails (s, &pinned_self, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
}

GST_END_TEST;

/* With a pin, a chain that verifies is not enough: here the default
 * database trusts the test CA, so the server's chain is valid. */
GST_START_TEST (test_pinned_refuses_valid_chain)
{
  g_autoptr (Server) s = server_new (SERVER_PEM, SERVER_KEY, NULL);
  g_autoptr (GTlsDatabase) database = g_tls_file_database_new (CA_PEM, NULL);
  g_autoptr (Peer) plain = NULL;
  g_autoptr (Peer) pinned = NULL;
  static const WspClientOptions pinned_server = {
    .pinned_certificate_file = SERVER_PEM,
  };
  static const WspClientOptions pinned_self_and_ca = {
    .pinned_certificate_file = SELF_PEM,
    .ca_file = CA_PEM,
  };

  fail_unless (database != NULL);
  g_tls_backend_set_default_database (g_tls_backend_get_default (), database);

  /* The chain is valid without any option... */
  plain = connect_ok (s, NULL, NULL);
  g_clear_pointer (&plain, peer_free);
  g_ptr_array_set_size (s->peers, 0);

  /* ...but not the pinned certificate... */
  connect_fails (s, &pinned_self, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);

  /* ...nor with a CA file that would verify the chain: the pin wins... */
  connect_fails (s, &pinned_self_and_ca, G_TLS_ERROR,
      G_TLS_ERROR_BAD_CERTIFICATE);

  /* ...and the presented one, pinned, still passes. */
  pinned = connect_ok (s, &pinned_server, NULL);

  g_tls_backend_set_default_database (g_tls_backend_get_default (), NULL);
}

GST_END_TEST;

GST_START_TEST (test_ca_file)
{
  g_autoptr (Server) s = server_new (SERVER_PEM, SERVER_KEY, NULL);
  g_autoptr (Server) self_signed = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;

  client = connect_ok (s, &with_ca, NULL);

  /* Neither a CA nor a pin: the system's CAs know neither server. */
  g_clear_pointer (&client, peer_free);
  g_ptr_array_set_size (s->peers, 0);
  connect_fails (s, NULL, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  connect_fails (self_signed, NULL, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  /* The test CA did not sign the self-signed one. */
  connect_fails (self_signed, &with_ca, G_TLS_ERROR,
      G_TLS_ERROR_BAD_CERTIFICATE);
}

GST_END_TEST;

GST_START_TEST (test_bad_client_options)
{
  static const WspClientOptions missing_ca = {
    .ca_file = TEST_CERTS_DIR "/no-such-file.pem",
  };
  static const WspClientOptions missing_pin = {
    .pinned_certificate_file = TEST_CERTS_DIR "/no-such-file.pem",
  };
  static const gchar *bad_uris[] = {
    "https://127.0.0.1/wsp", "http://127.0.0.1/wsp", "wss:///wsp",
    "127.0.0.1/wsp", "wss://[::1/wsp", "",
  };
  g_autoptr (Server) s = server_new (SERVER_PEM, SERVER_KEY, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad_uris); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (WspConnection) conn = client_connect (bad_uris[i], NULL, &error);

    fail_unless (conn == NULL);
    fail_unless (g_error_matches (error, G_IO_ERROR,
            G_IO_ERROR_INVALID_ARGUMENT), "\"%s\": %s", bad_uris[i],
        error->message);
  }

  connect_fails (s, &missing_ca, 0, 0);
  connect_fails (s, &missing_pin, 0, 0);
}

GST_END_TEST;

/* DESIGN pitfall 14: libsoup alone would accept a request without
 * Sec-WebSocket-Protocol. */
GST_START_TEST (test_subprotocol_required)
{
  static gchar *wrong[] = { (gchar *) "chat", NULL };
  static gchar *several[] = { (gchar *) "chat", (gchar *) WSP_SUBPROTOCOL,
    NULL
  };
  g_autoptr (Server) s = server_new (SERVER_PEM, SERVER_KEY, NULL);
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  guint status;

  {
    g_autoptr (GError) error = NULL;

    ws = raw_connect (s, NULL, &status, &error);
    fail_unless (ws == NULL);
    fail_unless (g_error_matches (error, SOUP_WEBSOCKET_ERROR,
            SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET));
    fail_unless_equals_int (status, SOUP_STATUS_BAD_REQUEST);
  }
  {
    g_autoptr (GError) error = NULL;

    ws = raw_connect (s, wrong, &status, &error);
    fail_unless (ws == NULL);
    fail_unless (error != NULL);
    fail_unless_equals_int (status, SOUP_STATUS_BAD_REQUEST);
  }
  fail_unless_equals_int (s->peers->len, 0);

  /* A list that includes it is fine; the deflate offered is not taken
   * up (the size limit would apply to compressed frames). */
  {
    g_autoptr (GError) error = NULL;

    ws = raw_connect (s, several, &status, &error);
    fail_unless (ws != NULL, "%s", error ? error->message : "");
    fail_unless_equals_int (status, SOUP_STATUS_SWITCHING_PROTOCOLS);
    fail_unless_equals_string (soup_websocket_connection_get_protocol (ws),
        WSP_SUBPROTOCOL);
    fail_unless (soup_websocket_connection_get_extensions (ws) == NULL);
    WAIT_FOR (s->peers->len == 1);
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    WAIT_FOR (server_peer (s, 0)->closed
        && soup_websocket_connection_get_state (ws) ==
        SOUP_WEBSOCKET_STATE_CLOSED);
  }
}

GST_END_TEST;

static void
on_raw_websocket (SoupServer * server, SoupServerMessage * msg,
    const char *path, SoupWebsocketConnection * ws, gpointer user_data)
{
  SoupWebsocketConnection **out = user_data;

  *out = g_object_ref (ws);
}

/* A WebSocket server that does not pick `wsp-1.0` is refused. */
GST_START_TEST (test_server_must_agree)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoptr (SoupWebsocketConnection) server_ws = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autofree gchar *uri = NULL;
  GSList *uris;

  cert = g_tls_certificate_new_from_files (SELF_PEM, SELF_KEY, NULL);
  server = soup_server_new ("tls-certificate", cert, NULL);
  soup_server_add_websocket_handler (server, "/wsp", NULL, NULL,
      on_raw_websocket, &server_ws, NULL);
  fail_unless (soup_server_listen_local (server, 0,
          SOUP_SERVER_LISTEN_HTTPS | SOUP_SERVER_LISTEN_IPV4_ONLY, NULL));
  uris = soup_server_get_uris (server);
  uri = g_strdup_printf ("wss://127.0.0.1:%u/wsp", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  conn = client_connect (uri, &pinned_self, &error);
  fail_unless (conn == NULL);
  fail_unless (g_error_matches (error, SOUP_WEBSOCKET_ERROR,
          SOUP_WEBSOCKET_ERROR_BAD_HANDSHAKE), "%s", error->message);

  WAIT_FOR (server_ws != NULL
      && soup_websocket_connection_get_state (server_ws) ==
      SOUP_WEBSOCKET_STATE_CLOSED);
  soup_server_disconnect (server);
  run_for (50);
}

GST_END_TEST;

/* What a controller would do to refuse before the upgrade. */
static void
on_early_request (SoupServer * server, SoupServerMessage * msg,
    const char *path, GHashTable * query, gpointer user_data)
{
  const gchar *authorization =
      soup_message_headers_get_one (soup_server_message_get_request_headers
      (msg), "Authorization");

  if (g_strcmp0 (authorization, "Bearer good") != 0)
    soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
}

GST_START_TEST (test_bearer_token)
{
  static const WspClientOptions with_token = {
    .pinned_certificate_file = SELF_PEM,
    .bearer_token = "c2VjcmV0-_.~+/token==",
  };
  static const WspClientOptions bad_tokens[] = {
    {.pinned_certificate_file = SELF_PEM,.bearer_token = "two words"},
    {.pinned_certificate_file = SELF_PEM,.bearer_token = "x\r\nX-Injected: 1"},
    {.pinned_certificate_file = SELF_PEM,.bearer_token = ""},
    {.pinned_certificate_file = SELF_PEM,.bearer_token = "=abc"},
  };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;

  client = connect_ok (s, &with_token, NULL);
  fail_unless_equals_string (s->authorization, "Bearer c2VjcmV0-_.~+/token==");
  g_clear_pointer (&client, peer_free);
  g_ptr_array_set_size (s->peers, 0);

  for (guint i = 0; i < G_N_ELEMENTS (bad_tokens); i++)
    connect_fails (s, &bad_tokens[i], G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  /* An early handler on the path refuses before the endpoint sees it. */
  soup_server_add_early_handler (s->server, "/wsp", on_early_request, NULL,
      NULL);
  {
    static const WspClientOptions good = {
      .pinned_certificate_file = SELF_PEM,
      .bearer_token = "good",
    };
    g_autoptr (GError) error = NULL;
    g_autoptr (WspConnection) conn = NULL;
    g_autofree gchar *uri = server_uri (s);

    conn = client_connect (uri, &with_token, &error);
    fail_unless (conn == NULL);
    fail_unless (g_error_matches (error, SOUP_WEBSOCKET_ERROR,
            SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET));
    fail_unless (strstr (error->message, "401") != NULL, "%s", error->message);
    fail_unless_equals_int (s->peers->len, 0);

    client = connect_ok (s, &good, NULL);
  }
}

GST_END_TEST;

/* The client end gets `bye` 400 then "closed"; the server end
 * "protocol-error" then "closed", once each. */
static void
check_refused (Peer * client, Peer * server, WspError error, guint close_code)
{
  g_autoptr (WspMessage) bye = wsp_message_new_bye (WSP_BYE_BAD_REQUEST,
      wsp_bye_code_to_string (WSP_BYE_BAD_REQUEST));

  WAIT_FOR (client->closed && server->closed);
  run_for (50);

  fail_unless_equals_int (server->protocol_errors, 1);
  fail_if (server->error_after_close);
  fail_unless (g_error_matches (server->error, WSP_ERROR, error),
      "wrong error: %s", server->error->message);
  fail_unless_equals_int (server->closed, 1);
  fail_unless_equals_int (server->close_code, close_code);

  fail_unless_equals_int (client->protocol_errors, 0);
  fail_unless_equals_int (client->closed, 1);
  fail_unless_equals_int (client->messages->len, 1);
  fail_unless (wsp_message_equal (peer_message (client, 0), bye));
  fail_unless_equals_int (client->close_code, close_code);
}

GST_START_TEST (test_binary_frame)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);
  soup_websocket_connection_send_binary (wsp_connection_get_websocket
      (client->conn), "[\"ringing\"]", 11);
  check_refused (client, server, WSP_ERROR_NOT_TEXT,
      SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);
  fail_unless_equals_int (server->messages->len, 0);
}

GST_END_TEST;

GST_START_TEST (test_bad_messages)
{
  static const struct
  {
    const gchar *text;
    WspError error;
  } cases[] = {
    {"[\"invite\"", WSP_ERROR_SYNTAX},
    {"not json", WSP_ERROR_SYNTAX},
    {"{\"keyword\": \"ringing\"}", WSP_ERROR_NOT_ARRAY},
    {"[\"hello\"]", WSP_ERROR_UNKNOWN_KEYWORD},
    {"[\"bye\", {\"code\": 999}]", WSP_ERROR_BAD_CODE},
    {"[\"offer\", {\"type\": \"offer\"}]", WSP_ERROR_BAD_CONTENT},
  };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (Peer) client = NULL;
    Peer *server;

    client = connect_ok (s, &pinned_self, &server);
    /* One good message first: the socket works until the bad one. */
    soup_websocket_connection_send_text (wsp_connection_get_websocket
        (client->conn), "[\"ringing\"]");
    soup_websocket_connection_send_text (wsp_connection_get_websocket
        (client->conn), cases[i].text);
    /* ...and what follows the bad one is not looked at. */
    soup_websocket_connection_send_text (wsp_connection_get_websocket
        (client->conn), "[\"ringing\"]");
    check_refused (client, server, cases[i].error,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
    fail_unless_equals_int (server->messages->len, 1);
  }
}

GST_END_TEST;

/* libsoup refuses the frame from its header; the limit is inclusive. */
GST_START_TEST (test_message_size)
{
  static const WspLimits limits = {.max_message_size = 1024 };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, &limits);
  g_autoptr (Peer) client = NULL;
  g_autoptr (WspMessage) fits = NULL;
  g_autofree gchar *candidate = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *big = NULL;
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);

  /* Exactly the limit passes. */
  candidate = g_strnfill (1024 - strlen ("[\"icecandidate\",{\"candidate\":"
          "\"\",\"sdpMid\":\"0\"}]"), 'a');
  fits = wsp_message_new_ice_candidate (candidate, "0", -1);
  text = wsp_message_serialize (fits);
  fail_unless_equals_int (strlen (text), 1024);
  wsp_connection_send (client->conn, fits);
  WAIT_FOR (server->messages->len == 1);
  fail_unless (wsp_message_equal (peer_message (server, 0), fits));

  /* One more byte does not. */
  big = g_strdup_printf ("[\"icecandidate\",{\"candidate\":\"%sa\","
      "\"sdpMid\":\"0\"}]", candidate);
  soup_websocket_connection_send_text (wsp_connection_get_websocket
      (client->conn), big);
  WAIT_FOR (client->closed && server->closed);
  run_for (50);
  fail_unless_equals_int (server->messages->len, 1);
  fail_unless_equals_int (server->protocol_errors, 1);
  fail_if (server->error_after_close);
  fail_unless (g_error_matches (server->error, WSP_ERROR,
          WSP_ERROR_TOO_LARGE), "%s", server->error->message);
  fail_unless_equals_int (server->closed, 1);
  fail_unless_equals_int (server->close_code, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  fail_unless_equals_int (client->closed, 1);
  fail_unless_equals_int (client->protocol_errors, 0);
}

GST_END_TEST;

/* The client's limit is libsoup's frame check: "error" 1009 while still
 * open, so a `bye` can be attempted, then an abrupt close. */
GST_START_TEST (test_message_size_client)
{
  static const WspLimits limits = {.max_message_size = 1024 };
  static const WspClientOptions options = {
    .pinned_certificate_file = SELF_PEM,
    .limits = &limits,
  };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  g_autoptr (GString) sdp = g_string_new ("v=0\r\n");
  g_autoptr (WspMessage) offer = NULL;
  Peer *server;

  client = connect_ok (s, &options, &server);
  while (sdp->len < 2000)
    g_string_append (sdp, "a=x\r\n");
  offer = wsp_message_new_offer (sdp->str);
  wsp_connection_send (server->conn, offer);

  WAIT_FOR (client->closed && server->closed);
  fail_unless_equals_int (client->messages->len, 0);
  fail_unless_equals_int (client->protocol_errors, 1);
  fail_if (client->error_after_close);
  fail_unless (g_error_matches (client->error, WSP_ERROR,
          WSP_ERROR_TOO_LARGE), "%s", client->error->message);
  fail_unless_equals_int (client->closed, 1);
  fail_unless_equals_int (client->close_code, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  fail_unless_equals_int (server->protocol_errors, 0);
}

GST_END_TEST;

/* A WebSocket client written by hand, over TLS, in a thread of its own
 * (blocking I/O; the server runs on the test's main context): it sends
 * the frames it is given, answers a close, and keeps the text frames it
 * receives until the server closes. For what libsoup's client cannot send:
 * fragments. */
typedef struct
{
  guint port;
  GByteArray *to_send;
  GPtrArray *texts;
  gchar *failure;
  gint finished;
  GThread *thread;
} RawClient;

/* A masked client frame. The mask is zero, so the payload goes as is. */
static void
append_frame (GByteArray * out, gboolean fin, guint8 opcode,
    const gchar * payload, gsize len)
{
  guint8 header[14];
  guint n = 0;

  header[n++] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    header[n++] = 0x80 | len;
  } else if (len < 65536) {
    header[n++] = 0x80 | 126;
    header[n++] = len >> 8;
    header[n++] = len & 0xff;
  } else {
    header[n++] = 0x80 | 127;
    for (gint i = 7; i >= 0; i--)
      header[n++] = ((guint64) len >> (8 * i)) & 0xff;
  }
  memset (header + n, 0, 4);
  n += 4;
  g_byte_array_append (out, header, n);
  g_byte_array_append (out, (const guint8 *) payload, len);
}

static gboolean
read_exactly (GInputStream * in, guint8 * buffer, gsize len)
{
  gsize n = 0;

  return g_input_stream_read_all (in, buffer, len, &n, NULL, NULL)
      && n == len;
}

/* One unmasked server frame. */
static gboolean
read_frame (GInputStream * in, guint8 * opcode, GByteArray * payload)
{
  guint8 header[8];
  guint64 len;

  if (!read_exactly (in, header, 2))
    return FALSE;
  *opcode = header[0] & 0x0f;
  len = header[1] & 0x7f;
  if (len >= 126) {
    guint n = len == 126 ? 2 : 8;

    if (!read_exactly (in, header, n))
      return FALSE;
    len = 0;
    for (guint i = 0; i < n; i++)
      len = (len << 8) | header[i];
  }
  if (len > 1024 * 1024)
    return FALSE;
  g_byte_array_set_size (payload, len);
  return len == 0 || read_exactly (in, payload->data, len);
}

static gboolean
accept_any_certificate (GTlsConnection * conn, GTlsCertificate * cert,
    GTlsCertificateFlags errors, gpointer unused)
{
  return TRUE;
}

static gpointer
raw_client_run (gpointer user_data)
{
  RawClient *c = user_data;
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr (GSocketConnection) tcp = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GByteArray) payload = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *request = NULL;
  g_autofree gchar *status = NULL;
  GOutputStream *out;
  gchar *line;
  guint8 opcode;

  g_socket_client_set_enable_proxy (socket_client, FALSE);
  tcp = g_socket_client_connect_to_host (socket_client, "127.0.0.1", c->port,
      NULL, &error);
  if (tcp == NULL)
    goto failed;
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), NULL, &error);
  if (tls == NULL)
    goto failed;
  g_signal_connect (tls, "accept-certificate",
      G_CALLBACK (accept_any_certificate), NULL);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    goto failed;

  out = g_io_stream_get_output_stream (tls);
  request = g_strdup_printf ("GET /wsp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: " WSP_SUBPROTOCOL "\r\n\r\n", c->port);
  if (!g_output_stream_write_all (out, request, strlen (request), NULL, NULL,
          &error))
    goto failed;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (tls));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  status = g_data_input_stream_read_line (in, NULL, NULL, &error);
  if (status == NULL || strstr (status, " 101 ") == NULL)
    goto failed;
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL))
      != NULL && line[0] != '\0')
    g_free (line);
  g_free (line);

  g_output_stream_write_all (out, c->to_send->data, c->to_send->len, NULL,
      NULL, NULL);

  while (read_frame (G_INPUT_STREAM (in), &opcode, payload)) {
    if (opcode == 0x1) {
      g_ptr_array_add (c->texts, g_strndup ((const gchar *) payload->data,
              payload->len));
    } else if (opcode == 0x8) {
      g_autoptr (GByteArray) reply = g_byte_array_new ();

      append_frame (reply, TRUE, 0x8, (const gchar *) payload->data,
          MIN (payload->len, 2));
      g_output_stream_write_all (out, reply->data, reply->len, NULL, NULL,
          NULL);
    }
  }
  g_io_stream_close (tls, NULL, NULL);
  g_atomic_int_set (&c->finished, 1);
  return NULL;

failed:
  c->failure = g_strdup_printf ("%s%s", error ? error->message : "bad "
      "response: ", status ? status : "");
  g_atomic_int_set (&c->finished, 1);
  return NULL;
}

static RawClient *
raw_client_start (Server * s, GByteArray * frames)
{
  RawClient *c = g_new0 (RawClient, 1);

  c->port = s->port;
  c->to_send = g_byte_array_ref (frames);
  c->texts = g_ptr_array_new_with_free_func (g_free);
  c->thread = g_thread_new ("raw-client", raw_client_run, c);
  return c;
}

static void
raw_client_free (RawClient * c)
{
  WAIT_FOR (g_atomic_int_get (&c->finished));
  g_thread_join (c->thread);
  g_byte_array_unref (c->to_send);
  g_ptr_array_unref (c->texts);
  g_free (c->failure);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawClient, raw_client_free);

/* Fragments, with a ping between them, make one message. */
GST_START_TEST (test_fragments)
{
  static const WspLimits limits = {.max_message_size = 1024 };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, &limits);
  g_autoptr (GByteArray) frames = g_byte_array_new ();
  g_autoptr (RawClient) c = NULL;
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();
  Peer *server;

  append_frame (frames, FALSE, 0x1, "[\"ring", 6);
  append_frame (frames, TRUE, 0x9, "", 0);
  append_frame (frames, FALSE, 0x0, "ing\"", 4);
  append_frame (frames, TRUE, 0x0, "]", 1);
  c = raw_client_start (s, frames);

  WAIT_FOR (s->peers->len == 1 && server_peer (s, 0)->messages->len == 1);
  server = server_peer (s, 0);
  fail_unless (wsp_message_equal (peer_message (server, 0), ringing));
  fail_unless_equals_int (server->protocol_errors, 0);

  wsp_connection_close (server->conn);
  WAIT_FOR (server->closed);
  fail_unless_equals_int (server->close_code, SOUP_WEBSOCKET_CLOSE_NORMAL);
  g_clear_pointer (&c, raw_client_free);
}

GST_END_TEST;

/* A message sent in fragments, each under the limit, is refused as soon as
 * their sum is over it: here it never ends, so only the stream guard can
 * notice (libsoup would buffer it for ever). */
GST_START_TEST (test_fragments_over_limit)
{
  static const WspLimits limits = {.max_message_size = 1024 };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, &limits);
  g_autoptr (GByteArray) frames = g_byte_array_new ();
  g_autoptr (RawClient) c = NULL;
  g_autofree gchar *filler = g_strnfill (400, 'a');
  Peer *server;

  append_frame (frames, FALSE, 0x1, filler, 400);
  for (guint i = 0; i < 4; i++)
    append_frame (frames, FALSE, 0x0, filler, 400);
  c = raw_client_start (s, frames);

  WAIT_FOR (s->peers->len == 1 && server_peer (s, 0)->closed);
  server = server_peer (s, 0);
  fail_unless_equals_int (server->messages->len, 0);
  fail_unless_equals_int (server->protocol_errors, 1);
  fail_if (server->error_after_close);
  fail_unless (g_error_matches (server->error, WSP_ERROR,
          WSP_ERROR_TOO_LARGE), "%s", server->error->message);
  fail_unless_equals_int (server->close_code, SOUP_WEBSOCKET_CLOSE_TOO_BIG);

  /* The `bye` went out before the close; it usually arrives, but the
   * server shuts a socket it has not read to the end, and TCP may then
   * reset the connection first. */
  WAIT_FOR (g_atomic_int_get (&c->finished));
  fail_unless (c->failure == NULL, "%s", c->failure);
  fail_unless (c->texts->len <= 1);
  if (c->texts->len == 1) {
    g_autoptr (WspMessage) bye = NULL;
    const gchar *text = g_ptr_array_index (c->texts, 0);

    fail_unless (wsp_message_parse (text, strlen (text), &bye, NULL));
    fail_unless_equals_int (bye->type, WSP_MESSAGE_BYE);
    fail_unless_equals_int (bye->bye.code, WSP_BYE_BAD_REQUEST);
  }
}

GST_END_TEST;

GST_START_TEST (test_rate_limit)
{
  static const WspLimits limits = {
    .max_messages_per_second = 5,
    .max_burst = 5,
  };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, &limits);
  g_autoptr (Peer) client = NULL;
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();
  Peer *server;
  guint before;

  client = connect_ok (s, &pinned_self, &server);

  /* A burst within the limit passes. */
  for (guint i = 0; i < 5; i++)
    wsp_connection_send (client->conn, ringing);
  WAIT_FOR (server->messages->len == 5);
  fail_unless_equals_int (server->protocol_errors, 0);

  /* A flood does not. A token or two may have come back meanwhile. */
  before = server->messages->len;
  for (guint i = 0; i < 50; i++)
    wsp_connection_send (client->conn, ringing);
  check_refused (client, server, WSP_ERROR_TOO_LARGE,
      SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  fail_unless (server->messages->len < before + 5,
      "%u messages passed the limit", server->messages->len - before);
}

GST_END_TEST;

static void
check_closed_once (Peer * closer, Peer * other)
{
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();

  wsp_connection_close (closer->conn);
  fail_if (wsp_connection_is_open (closer->conn));
  WAIT_FOR (closer->closed && other->closed);

  /* Everything after is a no-op, and nothing more is emitted. */
  wsp_connection_close (closer->conn);
  wsp_connection_close (other->conn);
  wsp_connection_send (closer->conn, ringing);
  wsp_connection_send (other->conn, ringing);
  wsp_connection_send_bye_and_close (other->conn, WSP_BYE_NORMAL, NULL);
  run_for (200);

  fail_unless_equals_int (closer->closed, 1);
  fail_unless_equals_int (other->closed, 1);
  fail_unless_equals_int (closer->close_code, SOUP_WEBSOCKET_CLOSE_NORMAL);
  fail_unless_equals_int (other->close_code, SOUP_WEBSOCKET_CLOSE_NORMAL);
  fail_unless_equals_int (closer->messages->len, 0);
  fail_unless_equals_int (other->messages->len, 0);
  fail_unless_equals_int (closer->protocol_errors, 0);
  fail_unless_equals_int (other->protocol_errors, 0);
  fail_if (wsp_connection_is_open (other->conn));
}

GST_START_TEST (test_client_closes)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);
  check_closed_once (client, server);
}

GST_END_TEST;

GST_START_TEST (test_server_closes)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);
  check_closed_once (server, client);
}

GST_END_TEST;

/* A `bye` with a description that may not be sent goes out with the
 * code's own text. */
GST_START_TEST (test_bye_description)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (Peer) client = NULL;
  g_autoptr (WspMessage) expected = wsp_message_new_bye (WSP_BYE_BUSY,
      wsp_bye_code_to_string (WSP_BYE_BUSY));
  Peer *server;

  client = connect_ok (s, &pinned_self, &server);
  wsp_connection_send_bye_and_close (server->conn, WSP_BYE_BUSY,
      "line one\nline two");
  WAIT_FOR (client->closed && server->closed);
  fail_unless_equals_int (client->messages->len, 1);
  fail_unless (wsp_message_equal (peer_message (client, 0), expected));
}

GST_END_TEST;

/* An accept callback that keeps no reference: the connection is closed,
 * and the peer told so with a close frame (1001), not a cut socket. */
GST_START_TEST (test_dropped_connection)
{
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autoptr (Peer) client = NULL;
  g_autofree gchar *uri = server_uri (s);

  s->drop = TRUE;
  conn = client_connect (uri, &pinned_self, &error);
  fail_unless (conn != NULL, "%s", error ? error->message : "");
  client = peer_new (conn);
  WAIT_FOR (client->closed);
  fail_unless_equals_int (client->close_code, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

GST_END_TEST;

/* Pings are answered: a quiet but live peer stays connected. */
GST_START_TEST (test_keepalive_live_peer)
{
  static const WspLimits limits = {.keepalive_interval = 1 };
  static const WspClientOptions options = {
    .pinned_certificate_file = SELF_PEM,
    .limits = &limits,
  };
  g_autoptr (Server) s = server_new (SELF_PEM, SELF_KEY, &limits);
  g_autoptr (Peer) client = NULL;
  Peer *server;

  client = connect_ok (s, &options, &server);
  run_for (4500);
  fail_unless (wsp_connection_is_open (client->conn));
  fail_unless (wsp_connection_is_open (server->conn));
  fail_unless_equals_int (client->closed + server->closed, 0);
}

GST_END_TEST;

/* A plain-TCP WebSocket server written by hand that completes the
 * handshake, then reads and never answers, not even a ping. */
typedef struct
{
  GSocketListener *listener;
  GCancellable *cancellable;
  guint port;
  GThread *thread;
} SilentServer;

static gpointer
silent_server_run (gpointer user_data)
{
  SilentServer *s = user_data;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autofree gchar *key = NULL;
  g_autofree gchar *accept = NULL;
  g_autofree gchar *response = NULL;
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof (digest);
  gchar buffer[4096];
  gchar *line;

  conn = g_socket_listener_accept (s->listener, NULL, s->cancellable, NULL);
  if (conn == NULL)
    return NULL;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM
          (conn)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  while ((line = g_data_input_stream_read_line (in, NULL, s->cancellable,
              NULL)) != NULL && line[0] != '\0') {
    if (g_ascii_strncasecmp (line, "Sec-WebSocket-Key:", 18) == 0)
      key = g_strstrip (g_strdup (line + 18));
    g_free (line);
  }
  g_free (line);
  if (key == NULL)
    return NULL;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1,
      (const guchar *) "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  accept = g_base64_encode (digest, digest_len);
  response = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: " WSP_SUBPROTOCOL
      "\r\n\r\n", accept);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM
              (conn)), response, strlen (response), NULL, s->cancellable, NULL))
    return NULL;

  while (g_input_stream_read (G_INPUT_STREAM (in), buffer, sizeof (buffer),
          s->cancellable, NULL) > 0);
  return NULL;
}

static SilentServer *
silent_server_new (void)
{
  SilentServer *s = g_new0 (SilentServer, 1);
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;

  s->listener = g_socket_listener_new ();
  s->cancellable = g_cancellable_new ();
  address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  fail_unless (g_socket_listener_add_address (s->listener, address,
          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective, NULL));
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  s->thread = g_thread_new ("silent-server", silent_server_run, s);
  return s;
}

static void
silent_server_free (SilentServer * s)
{
  g_cancellable_cancel (s->cancellable);
  g_thread_join (s->thread);
  g_socket_listener_close (s->listener);
  g_object_unref (s->listener);
  g_object_unref (s->cancellable);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SilentServer, silent_server_free);

/* A peer that stops answering is closed. Also: ws:// when the URI says. */
GST_START_TEST (test_keepalive_dead_peer)
{
  static const WspLimits limits = {.keepalive_interval = 1 };
  static const WspClientOptions options = {.limits = &limits };
  g_autoptr (SilentServer) s = silent_server_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autoptr (Peer) client = NULL;
  g_autofree gchar *uri = g_strdup_printf ("ws://127.0.0.1:%u/wsp", s->port);
  gint64 start;

  conn = client_connect (uri, &options, &error);
  fail_unless (conn != NULL, "%s", error ? error->message : "");
  client = peer_new (conn);
  start = g_get_monotonic_time ();

  WAIT_FOR (client->closed);
  /* Not before two intervals without a pong. */
  fail_unless (g_get_monotonic_time () - start >= 2 * G_USEC_PER_SEC);
  fail_unless_equals_int (client->close_code, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  fail_unless_equals_int (client->protocol_errors, 0);
}

GST_END_TEST;

static Suite *
wsptransport_suite (void)
{
  Suite *s = suite_create ("wsptransport");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_address_to_uri);
  tcase_add_test (tc, test_pinned_round_trip);
  tcase_add_test (tc, test_pinned_wrong_certificate);
  tcase_add_test (tc, test_pinned_refuses_valid_chain);
  tcase_add_test (tc, test_ca_file);
  tcase_add_test (tc, test_bad_client_options);
  tcase_add_test (tc, test_subprotocol_required);
  tcase_add_test (tc, test_server_must_agree);
  tcase_add_test (tc, test_bearer_token);
  tcase_add_test (tc, test_binary_frame);
  tcase_add_test (tc, test_bad_messages);
  tcase_add_test (tc, test_message_size);
  tcase_add_test (tc, test_message_size_client);
  tcase_add_test (tc, test_fragments);
  tcase_add_test (tc, test_fragments_over_limit);
  tcase_add_test (tc, test_rate_limit);
  tcase_add_test (tc, test_client_closes);
  tcase_add_test (tc, test_server_closes);
  tcase_add_test (tc, test_bye_description);
  tcase_add_test (tc, test_dropped_connection);
  tcase_add_test (tc, test_keepalive_live_peer);
  tcase_add_test (tc, test_keepalive_dead_peer);
  return s;
}

WSP_TEST_TLS_MAIN (wsptransport)
