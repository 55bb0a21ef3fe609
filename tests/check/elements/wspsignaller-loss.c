/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wspsignaller when the other side misbehaves or goes away: a malformed
 * message mid-call, a peer that goes silent before it answers, one that
 * vanishes while it rings, a connected peer whose media stops (noticed
 * within peer-timeout), and one that only listens and stays. A raw WSP
 * client sends what a good peer would not. Nothing sleeps. */

#include "wspsignaller-fixture.h"

/* A raw WSP client, to send what a good peer would not. */
typedef struct
{
  WspConnection *connection;
  GPtrArray *received;          /* WspMessage */
  gboolean closed;
} RawPeer;

static void
raw_message (WspConnection * connection, WspMessage * msg, RawPeer * raw)
{
  g_autofree gchar *text = wsp_message_serialize (msg);
  WspMessage *copy = NULL;

  fail_unless (wsp_message_parse (text, strlen (text), &copy, NULL));
  g_ptr_array_add (raw->received, copy);
}

static void
raw_closed (WspConnection * connection, guint code, RawPeer * raw)
{
  raw->closed = TRUE;
}

static void
raw_connected (GObject * source, GAsyncResult * result, gpointer data)
{
  RawPeer *raw = data;
  g_autoptr (GError) error = NULL;

  raw->connection = wsp_connect_finish (result, &error);
  fail_unless (raw->connection != NULL, "%s", error ? error->message : "");
  g_signal_connect (raw->connection, "message", G_CALLBACK (raw_message),
      raw);
  g_signal_connect (raw->connection, "closed", G_CALLBACK (raw_closed), raw);
}

static gboolean
raw_has (RawPeer * raw, WspMessageType type)
{
  for (guint i = 0; i < raw->received->len; i++) {
    WspMessage *msg = g_ptr_array_index (raw->received, i);

    if (msg->type == type)
      return TRUE;
  }
  return FALSE;
}

static gint
raw_bye_code (RawPeer * raw)
{
  for (guint i = 0; i < raw->received->len; i++) {
    WspMessage *msg = g_ptr_array_index (raw->received, i);

    if (msg->type == WSP_MESSAGE_BYE)
      return msg->bye.code;
  }
  return -1;
}

/* Connects, invites the door, and waits for its offer. */
static RawPeer *
raw_call_door (const gchar * door_props)
{
  g_autofree gchar *uri = g_strdup_printf ("wss://127.0.0.1:%u/wsp",
      server_port);
  WspClientOptions options = {.pinned_certificate_file = cert_file };
  g_autoptr (WspMessage) invite = wsp_message_new_invite ("raw@127.0.0.1",
      NULL, "door@127.0.0.1", NULL, NULL);
  RawPeer *raw = g_new0 (RawPeer, 1);

  raw->received = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  accept_as = NULL;
  accept_props = door_props;
  accept_media = DOOR_MEDIA;
  wsp_connect_async (uri, &options, NULL, raw_connected, raw);
  WAIT_FOR (raw->connection != NULL);
  wsp_connection_send (raw->connection, invite);
  WAIT_FOR (accept_as != NULL);
  WAIT_FOR (raw_has (raw, WSP_MESSAGE_RINGING));
  WAIT_FOR (raw_has (raw, WSP_MESSAGE_OFFER));
  return raw;
}

static void
raw_free (RawPeer * raw)
{
  g_clear_object (&raw->connection);
  g_ptr_array_unref (raw->received);
  g_free (raw);
}

GST_START_TEST (test_malformed_message_mid_call)
{
  RawPeer *raw;
  Peer *door;

  server_start ();
  raw = raw_call_door (DOOR_PROPS);
  door = accept_as;

  /* An answer whose content is not an object: bye 400, call over. */
  soup_websocket_connection_send_text (wsp_connection_get_websocket
      (raw->connection), "[\"answer\", 42]");
  WAIT_FOR (door->ended && raw->closed);
  fail_unless_equals_int (door->ended_code, 400);
  fail_if (door->ended_remote);
  fail_unless_equals_int (raw_bye_code (raw), 400);

  peer_free (door);
  raw_free (raw);
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_peer_goes_silent)
{
  RawPeer *raw;
  Peer *door;

  /* The caller takes the offer and never answers: the door gives up after
   * answer-timeout with bye 408. */
  server_start ();
  raw = raw_call_door (DOOR_PROPS " answer-timeout=1");
  door = accept_as;
  WAIT_FOR (door->ended && raw->closed);
  fail_unless_equals_int (door->ended_code, 408);
  fail_unless_equals_int (raw_bye_code (raw), 408);

  peer_free (door);
  raw_free (raw);
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_peer_vanishes)
{
  RawPeer *raw;
  Peer *door;

  /* The socket closes with no bye, before the hand-over. */
  server_start ();
  raw = raw_call_door (DOOR_PROPS);
  door = accept_as;
  wsp_connection_close (raw->connection);
  WAIT_FOR (door->ended);
  fail_unless_equals_int (door->ended_code, 408);
  fail_if (door->ended_remote);

  peer_free (door);
  raw_free (raw);
  server_stop ();
}

GST_END_TEST;

static GstPadProbeReturn
drop_packet (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  return GST_PAD_PROBE_DROP;
}

/* From now on nothing @peer sends reaches the network (its webrtcbin's
 * nicesink drops it all): as a pulled cable or a killed browser look to
 * the other side. */
static void
cut_off (Peer * peer)
{
  g_autoptr (GstElement) webrtcbin = NULL;
  GstIterator *it;
  GValue item = G_VALUE_INIT;
  guint cut = 0;

  g_object_get (peer->ws, "webrtcbin", &webrtcbin, NULL);
  it = gst_bin_iterate_recurse (GST_BIN (webrtcbin));
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *element = g_value_get_object (&item);
    GstElementFactory *factory = gst_element_get_factory (element);

    if (factory && g_str_equal (GST_OBJECT_NAME (factory), "nicesink")) {
      g_autoptr (GstPad) pad = gst_element_get_static_pad (element, "sink");

      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM,
          drop_packet, NULL, NULL);
      cut++;
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  fail_unless (cut > 0, "%s has no nicesink", peer->label);
}

GST_START_TEST (test_connected_peer_vanishes)
{
  Peer *door, *interior;
  gint64 cut_at;

  /* Both roles: the door calls (mode 1) and is called (mode 2). Each time
   * the interior goes silent after the hand-over: the door notices within
   * its peer-timeout (2 s, checked every 62 ms), ends the call with 408
   * and says the peer was lost; its bye still reaches the interior, whose
   * receiving side is intact. */
  server_start ();
  for (guint round = 0; round < 2; round++) {
    if (round == 0) {
      door = caller_new (DOOR_PROPS " peer-timeout=2", DOOR_MEDIA);
      interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);
    } else {
      interior = caller_new (INTERIOR_PROPS, INTERIOR_MEDIA);
      door = play_and_accept (interior, DOOR_PROPS " peer-timeout=2",
          DOOR_MEDIA);
    }
    expect_media_both_ways (door, interior);
    fail_if (door->ended || interior->ended);

    cut_at = g_get_monotonic_time ();
    cut_off (interior);
    /* A lost peer is a failure: an ERROR follows the wsp-ended. */
    WAIT_FOR (door->ended && door->error != NULL);
    fail_unless_equals_int (door->ended_code, 408);
    fail_unless (door->ended_lost);
    fail_if (door->ended_remote);
    fail_unless (door->ended_at - cut_at >= 2 * G_USEC_PER_SEC,
        "ended %" G_GINT64_FORMAT " µs after the cut, before the timeout",
        door->ended_at - cut_at);
    fail_unless (door->ended_at - cut_at < 3 * G_USEC_PER_SEC,
        "ended %" G_GINT64_FORMAT " µs after the cut", door->ended_at -
        cut_at);
    WAIT_FOR (interior->ended);
    fail_unless_equals_int (interior->ended_code, 408);
    fail_unless (interior->ended_remote);

    peer_free (door);
    peer_free (interior);
  }
  server_stop ();
}

GST_END_TEST;

/* Runs the default context for @seconds, failing as soon as @peer's
 * call ends: a window in which nothing may happen, not a wait for
 * something. */
static void
expect_call_stays (Peer * peer, guint seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint tick_id = g_timeout_add (100, tick, NULL);

  while (!peer->ended && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  fail_if (peer->ended, "%s: the call ended (%d %s)", peer->label,
      peer->ended_code, GST_STR_NULL (peer->ended_description));
}

GST_START_TEST (test_listening_peer_stays)
{
  Peer *door, *interior;

  /* An interior that sends no media at all, only the RTCP of what it
   * receives (GStreamer: every 5 s, randomised to at most ~7.5 s), is
   * watched by the default peer-timeout (8 s) and is not cut off. */
  server_start ();
  /* (A lone element would be the launch line's whole result, not a
   * pipeline: an idle sink keeps it one.) */
  interior = caller_new ("recv-video=true recv-audio=true",
      "fakesink async=false");
  door = play_and_accept (interior, DOOR_PROPS, DOOR_MEDIA);
  WAIT_FOR (door->connected && interior->connected);
  WAIT_FOR (g_atomic_int_get (&interior->frames) >= 15);
  expect_call_stays (door, 20);
  fail_if (interior->ended);
  expect_end_by_stop (door, interior);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

static Suite *
wspsignaller_loss_suite (void)
{
  Suite *s = suite_create ("wspsignaller_loss");
  TCase *tc = calls_tcase_new (s);

  tcase_add_test (tc, test_malformed_message_mid_call);
  tcase_add_test (tc, test_peer_goes_silent);
  tcase_add_test (tc, test_peer_vanishes);
  tcase_add_test (tc, test_connected_peer_vanishes);
  tcase_add_test (tc, test_listening_peer_stays);
  return s;
}

GST_CHECK_MAIN (wspsignaller_loss);
