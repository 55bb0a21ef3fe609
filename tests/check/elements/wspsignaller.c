/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wspsignaller: a door and an interior GStreamer peer call each other over
 * WSP on loopback, through a real TLS WebSocket server in this process, in
 * both directions; media both ways, the hand-over, bye from either side, a
 * second call; the `io` data channel made by either side, the invite's
 * snapshot and a held invite, lip sync, an end with a code of the
 * application's choosing, a tee the call shares, an unreachable server.
 * A peer that misbehaves or goes away: wspsignaller-loss.c. Everything
 * waits on conditions with deadlines; nothing sleeps. */

#include "wspsignaller-fixture.h"

GST_START_TEST (test_door_calls_interior)
{
  server_start ();

  /* Three calls in the same process, each ended another way. */
  for (guint round = 0; round < 3; round++) {
    Peer *door, *interior;

    door = caller_new (DOOR_PROPS, DOOR_MEDIA);
    interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);

    WAIT_FOR (door->ringing);
    expect_media_both_ways (door, interior);
    /* The caller hangs up; the callee hangs up; the caller's pipeline is
     * stopped, which ends the call with a bye 200 the peer receives. */
    if (round == 0) {
      expect_normal_end (door, interior);
    } else if (round == 1) {
      expect_normal_end (interior, door);
    } else {
      expect_end_by_stop (door, interior);
    }

    peer_free (door);
    peer_free (interior);
  }
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_interior_calls_door)
{
  Peer *door, *interior;

  server_start ();
  interior = caller_new (INTERIOR_PROPS, INTERIOR_MEDIA);
  door = play_and_accept (interior, DOOR_PROPS, DOOR_MEDIA);

  expect_media_both_ways (door, interior);
  expect_end_by_stop (door, interior);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_h264_payload_from_offer)
{
  Peer *door, *interior;

  /* The interior offers H264 at payload type 102; the door's payloader
   * says 96 and must be rewritten to the offer's. */
  server_start ();
  door = caller_new (DOOR_PROPS, DOOR_H264_MEDIA);
  interior = play_and_accept (door,
      INTERIOR_PROPS " recv-video-caps=\"application/x-rtp,media=video,"
      "encoding-name=H264,payload=102,clock-rate=90000,"
      "packetization-mode=(string)1\"", INTERIOR_MEDIA);

  expect_media_both_ways (door, interior);
  expect_normal_end (door, interior);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

/* The io channel: what the door and the interior say on it (wspio.h). */
#define IO_STATE "[\"state\",{\"inputs\":{\"bell\":true},\"relays\":{}}]"
#define IO_PULSE "[\"relay\",{\"name\":\"door\",\"action\":\"pulse\"}]"

static gboolean
send_io (Peer * peer, const gchar * text)
{
  gboolean sent = FALSE;

  g_signal_emit_by_name (peer->ws, "send-io", text, &sent);
  return sent;
}

/* The next io message @peer receives is @text. */
static void
expect_io (Peer * peer, const gchar * text)
{
  g_autofree gchar *got = NULL;

  WAIT_FOR (g_async_queue_length (peer->io_received) > 0);
  got = g_async_queue_pop (peer->io_received);
  fail_unless_equals_string (got, text);
}

static void
expect_io_both_ways (Peer * door, Peer * interior)
{
  WAIT_FOR (g_atomic_int_get (&door->io_opened) == 1 &&
      g_atomic_int_get (&interior->io_opened) == 1);
  fail_unless (send_io (door, IO_STATE));
  expect_io (interior, IO_STATE);
  fail_unless (send_io (interior, IO_PULSE));
  expect_io (door, IO_PULSE);
}

/* Stops @peer's pipeline and handles what its bus still holds. The stop
 * waits for the signalling context, so whatever the element posted at the
 * call's end (an ERROR too) is on the bus by then. */
static void
peer_stop (Peer * peer)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (peer->pipeline);

  fail_unless_equals_int (gst_element_set_state (peer->pipeline,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  WAIT_FOR (!gst_bus_have_pending (bus));
}

GST_START_TEST (test_io_channel_from_callee)
{
  Peer *door, *interior;

  /* Mode 2: the interior calls the door, which offers and makes io. The
   * interior asks for io too, and must take the door's. */
  server_start ();
  interior = caller_new (INTERIOR_PROPS " io-channel=true", INTERIOR_MEDIA);
  fail_if (send_io (interior, IO_PULSE), "sent with no call");
  door = play_and_accept (interior, DOOR_PROPS " io-channel=true",
      DOOR_MEDIA);
  /* The door has made the channel; it opens with SCTP, later. */
  WAIT_FOR (door->ringing);
  fail_if (send_io (door, IO_STATE), "sent on a channel not open");

  expect_media_both_ways (door, interior);
  expect_io_both_ways (door, interior);
  fail_unless_equals_int (g_atomic_int_get (&interior->n_peer_io), 1);
  fail_unless_equals_int (g_atomic_int_get (&door->n_peer_io), 0);

  /* 101 ends no call: the door's end-call is taken as 200. */
  g_signal_emit_by_name (door->ws, "end-call", 101, NULL);
  WAIT_FOR (door->ended && interior->ended);
  fail_unless_equals_int (door->ended_code, 200);
  fail_unless_equals_int (interior->ended_code, 200);
  fail_unless (interior->ended_remote);
  fail_if (send_io (door, IO_STATE), "sent after the call");
  fail_if (send_io (interior, IO_PULSE), "sent after the call");
  fail_unless_equals_int (g_atomic_int_get (&door->io_opened), 1);
  fail_unless_equals_int (g_atomic_int_get (&interior->io_opened), 1);
  fail_unless_equals_int (g_async_queue_length (door->io_received), 0);
  fail_unless_equals_int (g_async_queue_length (interior->io_received), 0);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_io_channel_from_caller)
{
  Peer *door, *interior;
  g_autoptr (GBytes) binary = g_bytes_new_static ("\x01\x02", 2);

  /* Mode 1 with a plain WSP 1.0 interior: it makes no io channel, so the
   * door (the caller) makes it after the hand-over. */
  server_start ();
  door = caller_new (DOOR_PROPS " io-channel=true", DOOR_MEDIA);
  interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);

  WAIT_FOR (door->connected && interior->connected);
  WAIT_FOR (door->transferred && interior->transferred);
  expect_io_both_ways (door, interior);
  fail_unless_equals_int (g_atomic_int_get (&interior->n_peer_io), 1);

  /* A binary message on io is ignored; the call and the channel go on
   * (the text after it arrives after it: the channel is ordered). */
  fail_unless (gst_webrtc_data_channel_send_data_full (interior->peer_io,
          binary, NULL));
  fail_unless (send_io (interior, IO_PULSE));
  expect_io (door, IO_PULSE);
  fail_if (door->ended || interior->ended);

  expect_normal_end (interior, door);
  fail_unless_equals_int (g_atomic_int_get (&door->io_opened), 1);
  fail_unless_equals_int (g_atomic_int_get (&interior->io_opened), 1);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

/* The smallest JPEG header, in base64: a snapshot the protocol takes. */
#define SNAPSHOT "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2w=="

GST_START_TEST (test_snapshot_in_invite)
{
  /* A valid snapshot goes with the invite; a PNG is left out, and the
   * invite goes without it. */
  const gchar *snapshots[] = { SNAPSHOT, "data:image/png;base64,iVBORw==" };
  const gchar *expected[] = { SNAPSHOT, NULL };

  server_start ();
  for (guint round = 0; round < G_N_ELEMENTS (snapshots); round++) {
    Peer *door, *interior;
    g_autofree gchar *value = NULL;

    door = caller_new (DOOR_PROPS, DOOR_MEDIA);
    g_object_set (door->ws, "snapshot", snapshots[round], NULL);
    interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);
    fail_unless_equals_string (invite_snapshot, expected[round]);

    /* Read at the invite, so it may change during a call (other
     * properties may not). */
    g_object_set (door->ws, "snapshot", NULL, "local-uri", "x@y", NULL);
    g_object_get (door->ws, "snapshot", &value, NULL);
    fail_unless (value == NULL);
    g_clear_pointer (&value, g_free);
    g_object_get (door->ws, "local-uri", &value, NULL);
    fail_unless_equals_string (value, "caller@127.0.0.1");

    WAIT_FOR (door->ringing);
    expect_normal_end (door, interior);
    peer_free (door);
    peer_free (interior);
  }
  g_clear_pointer (&invite_snapshot, g_free);
  server_stop ();
}

GST_END_TEST;

/* hold-invite: the socket opens, the invite waits; released after the
 * connection (round 0) or before it is made (round 1), it goes, with the
 * snapshot set at the release. */
GST_START_TEST (test_hold_invite)
{
  server_start ();
  for (guint round = 0; round < 2; round++) {
    Peer *door, *interior;

    door = caller_new (DOOR_PROPS " hold-invite=true", DOOR_MEDIA);
    accept_as = NULL;
    accept_props = INTERIOR_PROPS;
    accept_media = INTERIOR_MEDIA;
    g_ptr_array_set_size (server_connections, 0);
    gst_element_set_state (door->pipeline, GST_STATE_PLAYING);
    if (round == 0) {
      gint64 until;

      WAIT_FOR (server_connections->len == 1);
      /* The absence of an invite, over 300 ms after the socket opened:
       * one sent at the connection would be here within a few. */
      until = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;
      WAIT_FOR (g_get_monotonic_time () >= until);
      fail_unless (accept_as == NULL, "the invite went while held");
    }
    g_object_set (door->ws, "snapshot", SNAPSHOT, "hold-invite", FALSE,
        NULL);
    WAIT_FOR (accept_as != NULL);
    interior = accept_as;
    fail_unless_equals_string (invite_snapshot, SNAPSHOT);
    WAIT_FOR (door->ringing);
    expect_normal_end (door, interior);
    peer_free (door);
    peer_free (interior);
  }
  g_clear_pointer (&invite_snapshot, g_free);
  server_stop ();
}

GST_END_TEST;

/* The MediaStream ids (msid) of the SSRCs @peer's local description sends,
 * as a set. */
static GHashTable *
local_stream_ids (Peer * peer)
{
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  GstElement *webrtcbin = NULL;
  GstWebRTCSessionDescription *local = NULL;

  g_object_get (peer->ws, "webrtcbin", &webrtcbin, NULL);
  g_object_get (webrtcbin, "current-local-description", &local, NULL);
  fail_unless (local != NULL);
  for (guint m = 0; m < gst_sdp_message_medias_len (local->sdp); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (local->sdp, m);
    const gchar *ssrc;

    for (guint i = 0; (ssrc = gst_sdp_media_get_attribute_val_n (media,
                "ssrc", i)); i++) {
      const gchar *msid = strstr (ssrc, " msid:");

      if (msid)
        g_hash_table_add (ids, g_strndup (msid + 6, strcspn (msid + 6, " ")));
    }
  }
  gst_webrtc_session_description_free (local);
  gst_object_unref (webrtcbin);
  return ids;
}

/* lip-sync (default): audio and video are one MediaStream, which the
 * browser keeps in step; lip-sync=false: one each. */
GST_START_TEST (test_lip_sync)
{
  server_start ();
  for (guint round = 0; round < 2; round++) {
    Peer *door, *interior;
    g_autoptr (GHashTable) ids = NULL;

    door = caller_new (round == 0 ? DOOR_PROPS : DOOR_PROPS " lip-sync=false",
        DOOR_MEDIA);
    interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);
    WAIT_FOR (door->connected && interior->connected);
    ids = local_stream_ids (door);
    if (round == 0) {
      fail_unless_equals_int (g_hash_table_size (ids), 1);
    } else {
      fail_unless_equals_int (g_hash_table_size (ids), 2);
      fail_unless (g_hash_table_contains (ids, "sink_0-video"));
      fail_unless (g_hash_table_contains (ids, "sink_1-audio"));
    }
    expect_normal_end (door, interior);
    peer_free (door);
    peer_free (interior);
  }
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_end_call_with_code)
{
  Peer *door, *interior;

  /* The door ends a call another interior answered: 487 reaches the
   * peer, and a deliberate end posts no ERROR. */
  server_start ();
  door = caller_new (DOOR_PROPS, DOOR_MEDIA);
  interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);
  WAIT_FOR (door->connected && interior->connected);
  WAIT_FOR (door->transferred && interior->transferred);

  g_signal_emit_by_name (door->ws, "end-call", 487, "answered elsewhere");
  WAIT_FOR (door->ended && interior->ended);
  fail_unless_equals_int (door->ended_code, 487);
  fail_if (door->ended_remote);
  fail_unless_equals_int (interior->ended_code, 487);
  fail_unless (interior->ended_remote);
  fail_unless_equals_string (interior->ended_description,
      "answered elsewhere");

  peer_stop (door);
  peer_stop (interior);
  fail_unless (door->error == NULL, "door: %s", door->error);
  fail_unless (interior->error == NULL, "interior: %s", interior->error);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

/* The door's video also feeds another branch (another peer of the same
 * call, in intercomd) through a tee. */
#define DOOR_TEE_MEDIA \
  "videotestsrc is-live=true pattern=ball ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! " \
  "vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! " \
  "tee name=t allow-not-linked=true " \
  "t. ! queue ! fakesink name=other signal-handoffs=true sync=false " \
  "t. ! queue ! ws. " \
  "audiotestsrc is-live=true wave=sine freq=440 ! " \
  "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=97 ! ws."

GST_START_TEST (test_ended_call_spares_the_tee)
{
  Peer *door, *interior;
  g_autoptr (GstElement) other = NULL;
  gint frames;

  /* Once its call is over the element takes what still comes and drops
   * it: were it to answer EOS, the tee would stop every branch, and the
   * other peers of the call would lose their picture. */
  server_start ();
  door = caller_new (DOOR_PROPS, DOOR_TEE_MEDIA);
  other = gst_bin_get_by_name (GST_BIN (door->pipeline), "other");
  g_signal_connect (other, "handoff", G_CALLBACK (on_handoff), door);
  interior = play_and_accept (door, INTERIOR_PROPS, INTERIOR_MEDIA);
  expect_media_both_ways (door, interior);
  expect_normal_end (interior, door);

  frames = g_atomic_int_get (&door->frames);
  WAIT_FOR (g_atomic_int_get (&door->frames) >= frames + 30);
  fail_unless (door->error == NULL, "door: %s", door->error);

  peer_free (door);
  peer_free (interior);
  server_stop ();
}

GST_END_TEST;

GST_START_TEST (test_unreachable_server)
{
  Peer *caller;

  /* Nothing listens there: the call ends with 480 and an error. */
  caller = peer_new ("caller", "target=nobody@127.0.0.1:1 "
      "ringing-timeout=5", INTERIOR_MEDIA);
  gst_element_set_state (caller->pipeline, GST_STATE_PLAYING);
  WAIT_FOR (caller->ended && caller->error != NULL);
  fail_unless_equals_int (caller->ended_code, 480);
  peer_free (caller);
}

GST_END_TEST;

/* A request pad linked to a running upstream before the element starts
 * (an application linking a live tee, then bringing the element up) must
 * not answer FLUSHING: upstream takes it for a shutdown, a live branch's
 * queue or source stops for good, and the stream never gets the caps the
 * offer or answer waits for. The data is dropped until the element
 * starts; the caps then go on with the next buffer. */
GST_START_TEST (test_stream_linked_before_start)
{
  GstElement *ws = gst_element_factory_make ("wspsignaller", NULL);
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) target = NULL;
  g_autoptr (GstPad) src = gst_pad_new ("src", GST_PAD_SRC);
  g_autoptr (GstCaps) caps = gst_caps_from_string ("application/x-rtp,"
      "media=audio,encoding-name=OPUS,clock-rate=48000,payload=97");
  g_autoptr (GstCaps) current = NULL;
  GstSegment segment;

  gst_object_ref_sink (ws);
  sink = gst_element_request_pad_simple (ws, "sink_%u");
  fail_unless (sink != NULL);
  fail_unless_equals_int (gst_pad_link (src, sink), GST_PAD_LINK_OK);
  gst_pad_set_active (src, TRUE);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_pad_push_event (src, gst_event_new_stream_start ("s")));
  fail_unless (gst_pad_push_event (src, gst_event_new_caps (caps)));
  fail_unless (gst_pad_push_event (src, gst_event_new_segment (&segment)));
  fail_unless_equals_int (gst_pad_push (src, gst_buffer_new_allocate (NULL,
              16, NULL)), GST_FLOW_OK);

  fail_unless (gst_element_set_state (ws, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_pad_push (src, gst_buffer_new_allocate (NULL,
              16, NULL)), GST_FLOW_OK);
  target = gst_ghost_pad_get_target (GST_GHOST_PAD (sink));
  current = gst_pad_get_current_caps (target);
  fail_unless (current != NULL && gst_caps_is_equal (current, caps));

  fail_unless_equals_int (gst_element_set_state (ws, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_pad_set_active (src, FALSE);
  gst_element_release_request_pad (ws, sink);
  gst_object_unref (ws);
}

GST_END_TEST;

static Suite *
wspsignaller_suite (void)
{
  Suite *s = suite_create ("wspsignaller");
  TCase *tc = calls_tcase_new (s);

  tcase_add_test (tc, test_door_calls_interior);
  tcase_add_test (tc, test_interior_calls_door);
  tcase_add_test (tc, test_h264_payload_from_offer);
  tcase_add_test (tc, test_io_channel_from_callee);
  tcase_add_test (tc, test_io_channel_from_caller);
  tcase_add_test (tc, test_snapshot_in_invite);
  tcase_add_test (tc, test_hold_invite);
  tcase_add_test (tc, test_lip_sync);
  tcase_add_test (tc, test_end_call_with_code);
  tcase_add_test (tc, test_ended_call_spares_the_tee);
  tcase_add_test (tc, test_unreachable_server);
  tcase_add_test (tc, test_stream_linked_before_start);
  return s;
}

GST_CHECK_MAIN (wspsignaller);
