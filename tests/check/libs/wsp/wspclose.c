/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Closing a WSP connection, against a real TLS SoupServer on 127.0.0.1:
 * from either side, with a bye's description, a dropped connection, and
 * the keepalive (a live peer stays, a server that never answers is given
 * up). "closed" comes once on each end. Nothing sleeps. */

#include "wsptransport-fixture.h"

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
wspclose_suite (void)
{
  Suite *s = suite_create ("wspclose");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_client_closes);
  tcase_add_test (tc, test_server_closes);
  tcase_add_test (tc, test_bye_description);
  tcase_add_test (tc, test_dropped_connection);
  tcase_add_test (tc, test_keepalive_live_peer);
  tcase_add_test (tc, test_keepalive_dead_peer);
  return s;
}

WSP_TEST_TLS_MAIN (wspclose)
