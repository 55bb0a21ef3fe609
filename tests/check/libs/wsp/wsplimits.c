/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the WSP transport lets in, against a real TLS SoupServer on
 * 127.0.0.1: a binary frame, malformed messages, the message size limit
 * on either end, fragmented messages (a hand-written client in a thread
 * of its own, blocking I/O) and the rate limit; each refused with `bye`
 * 400 and a close, once. Nothing sleeps. */

#include "wsptransport-fixture.h"


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

static Suite *
wsplimits_suite (void)
{
  Suite *s = suite_create ("wsplimits");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_binary_frame);
  tcase_add_test (tc, test_bad_messages);
  tcase_add_test (tc, test_message_size);
  tcase_add_test (tc, test_message_size_client);
  tcase_add_test (tc, test_fragments);
  tcase_add_test (tc, test_fragments_over_limit);
  tcase_add_test (tc, test_rate_limit);
  return s;
}

WSP_TEST_TLS_MAIN (wsplimits)
