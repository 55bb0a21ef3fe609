/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting over the WSP WebSocket transport, against a real TLS
 * SoupServer on 127.0.0.1, in this process: addresses to URIs, TLS pinning
 * and CA files, the client's options, the required subprotocol, the
 * bearer token. What comes in once connected: wsplimits.c; closing and
 * the keepalive: wspclose.c; the fixture: wsptransport-fixture.h. Nothing
 * sleeps. */

#include "wsptransport-fixture.h"

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
  return s;
}

WSP_TEST_TLS_MAIN (wsptransport)
