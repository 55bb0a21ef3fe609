/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wspsignaller: a door and an interior GStreamer peer call each other over
 * WSP on loopback, through a real TLS WebSocket server in this process, in
 * both directions; media both ways, the hand-over, bye from either side, a
 * second call, a malformed message mid-call and a peer that goes away; the
 * `io` data channel made by either side, the invite's snapshot, and an end
 * with a code of the application's choosing.
 * Everything waits on conditions with deadlines; nothing sleeps. */
#include <gst/check/gstcheck.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

#include "wsptransport.h"

#define PHASE_TIMEOUT (20 * G_TIME_SPAN_SECOND)

/* The door: test sources, video out, audio both ways. The payload types
 * differ from what the interior offers, so the caller must take the
 * offer's. */
#define DOOR_MEDIA \
  "videotestsrc is-live=true pattern=ball ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! " \
  "vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! ws. " \
  "audiotestsrc is-live=true wave=sine freq=440 ! " \
  "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=97 ! ws."
#define DOOR_H264_MEDIA \
  "videotestsrc is-live=true pattern=ball ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! " \
  "openh264enc ! h264parse ! rtph264pay pt=96 config-interval=-1 ! ws. " \
  "audiotestsrc is-live=true wave=sine freq=440 ! " \
  "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=97 ! ws."
#define DOOR_PROPS "recv-video=false"
/* The interior: sends audio, receives video and audio. */
#define INTERIOR_MEDIA \
  "audiotestsrc is-live=true wave=sine freq=880 ! " \
  "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=111 ! ws."
#define INTERIOR_PROPS "recv-video=true"

typedef struct
{
  const gchar *label;
  GstElement *pipeline;
  GstElement *ws;
  gint frames;                  /* decoded video frames, atomic */
  gdouble audio_db;             /* loudest RMS seen, dB */
  gboolean ringing, connected, transferred, ended;
  gint ended_code;
  gboolean ended_remote;
  gboolean ended_lost;
  gint64 ended_at;              /* monotonic µs of wsp-ended */
  gchar *ended_description;
  gchar *error;
  gint io_opened;               /* "io-opened" emissions, atomic */
  GAsyncQueue *io_received;     /* "io-message" texts */
  GstWebRTCDataChannel *peer_io;        /* the peer's io channel, atomic */
  gint n_peer_io;               /* io channels the peer made, atomic */
} Peer;

static SoupServer *server;
static guint server_port;
static GPtrArray *server_connections;
static gchar *cert_file, *key_file;
static Peer *accept_as;         /* the peer the next accepted call makes */
static const gchar *accept_media;
static const gchar *accept_props;
static gchar *invite_snapshot;  /* the last accepted invite's snapshot */

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the default context (where the server, the callee's signalling and
 * the bus watches live) until @cond holds, or fails at the deadline. Some
 * conditions change on streaming threads (decoded frames), so a tick wakes
 * the loop to look again. */
#define WAIT_FOR(cond) G_STMT_START { \
  gint64 _deadline = g_get_monotonic_time () + PHASE_TIMEOUT; \
  guint _tick = g_timeout_add (20, tick, NULL); \
  while (!(cond) && g_get_monotonic_time () < _deadline) \
    g_main_context_iteration (NULL, TRUE); \
  g_source_remove (_tick); \
  fail_unless (cond, "timed out waiting for: %s", #cond); \
} G_STMT_END

static void
on_handoff (GstElement * sink, GstBuffer * buffer, GstPad * pad, Peer * peer)
{
  g_atomic_int_inc (&peer->frames);
}

/* A decoder for each stream the peer receives. */
static void
on_pad_added (GstElement * ws, GstPad * pad, Peer * peer)
{
  g_autoptr (GstCaps) caps = gst_pad_query_caps (pad, NULL);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *media = gst_structure_get_string (s, "media");
  const gchar *codec = gst_structure_get_string (s, "encoding-name");
  const gchar *desc;
  GstElement *bin;
  GstPad *sink;

  if (g_strcmp0 (media, "video") == 0 && g_strcmp0 (codec, "H264") == 0)
    desc = "rtph264depay ! h264parse ! openh264dec ! "
        "fakesink name=vsink signal-handoffs=true sync=false";
  else if (g_strcmp0 (media, "video") == 0)
    desc = "rtpvp8depay ! vp8dec ! "
        "fakesink name=vsink signal-handoffs=true sync=false";
  else
    desc = "rtpopusdepay ! opusdec ! audioconvert ! "
        "level interval=100000000 post-messages=true ! fakesink sync=false";

  bin = gst_parse_bin_from_description (desc, TRUE, NULL);
  fail_unless (bin != NULL);
  if (g_strcmp0 (media, "video") == 0) {
    GstElement *vsink = gst_bin_get_by_name (GST_BIN (bin), "vsink");

    g_signal_connect (vsink, "handoff", G_CALLBACK (on_handoff), peer);
    gst_object_unref (vsink);
  }
  gst_bin_add (GST_BIN (peer->pipeline), bin);
  sink = gst_element_get_static_pad (bin, "sink");
  fail_unless_equals_int (gst_pad_link (pad, sink), GST_PAD_LINK_OK);
  gst_object_unref (sink);
  gst_element_sync_state_with_parent (bin);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Peer *peer = data;
  const GstStructure *s = gst_message_get_structure (msg);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_structure_has_name (s, "wsp-ringing")) {
        peer->ringing = TRUE;
      } else if (gst_structure_has_name (s, "wsp-connected")) {
        peer->connected = TRUE;
      } else if (gst_structure_has_name (s, "wsp-transferred")) {
        peer->transferred = TRUE;
      } else if (gst_structure_has_name (s, "wsp-ended")) {
        fail_if (peer->ended, "%s: wsp-ended twice", peer->label);
        peer->ended = TRUE;
        gst_structure_get_int (s, "code", &peer->ended_code);
        gst_structure_get_boolean (s, "remote", &peer->ended_remote);
        gst_structure_get_boolean (s, "lost", &peer->ended_lost);
        peer->ended_at = g_get_monotonic_time ();
        peer->ended_description = g_strdup (gst_structure_get_string (s,
                "description"));
      } else if (gst_structure_has_name (s, "level")) {
        const GValue *rms = gst_structure_get_value (s, "rms");
        GValueArray *channels = g_value_get_boxed (rms);

        G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
        peer->audio_db = MAX (peer->audio_db,
            g_value_get_double (g_value_array_get_nth (channels, 0)));
        G_GNUC_END_IGNORE_DEPRECATIONS;
      }
      break;
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      if (peer->error == NULL)
        peer->error = g_strdup (error->message);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* "io-opened" and "io-message" come on the element's signalling context:
 * its own thread for a caller, this one for a callee. */
static void
on_io_opened (GstElement * ws, Peer * peer)
{
  g_atomic_int_inc (&peer->io_opened);
}

static void
on_io_message (GstElement * ws, const gchar * text, Peer * peer)
{
  g_async_queue_push (peer->io_received, g_strdup (text));
}

/* webrtcbin's own announcement of a channel the peer made (on its
 * thread): the test keeps the io one, to send on it what the element
 * would not. */
static void
on_webrtc_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    Peer * peer)
{
  g_autofree gchar *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, "io") != 0)
    return;
  g_atomic_int_inc (&peer->n_peer_io);
  if (g_atomic_pointer_compare_and_exchange (&peer->peer_io, NULL, channel))
    g_object_ref (channel);
}

static Peer *
peer_new (const gchar * label, const gchar * props, const gchar * media)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autofree gchar *desc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstBus) bus = NULL;

  peer->label = label;
  peer->audio_db = -1000.0;
  desc = g_strdup_printf ("wspsignaller name=ws local-addresses=127.0.0.1 "
      "%s %s", props, media);
  peer->pipeline = gst_parse_launch (desc, &error);
  fail_unless (peer->pipeline != NULL, "%s", error ? error->message : "");
  peer->ws = gst_bin_get_by_name (GST_BIN (peer->pipeline), "ws");
  g_signal_connect (peer->ws, "pad-added", G_CALLBACK (on_pad_added), peer);
  peer->io_received = g_async_queue_new_full (g_free);
  g_signal_connect (peer->ws, "io-opened", G_CALLBACK (on_io_opened), peer);
  g_signal_connect (peer->ws, "io-message", G_CALLBACK (on_io_message), peer);
  {
    g_autoptr (GstElement) webrtcbin = NULL;

    g_object_get (peer->ws, "webrtcbin", &webrtcbin, NULL);
    g_signal_connect (webrtcbin, "on-data-channel",
        G_CALLBACK (on_webrtc_data_channel), peer);
  }
  bus = gst_element_get_bus (peer->pipeline);
  gst_bus_add_watch (bus, on_bus, peer);
  return peer;
}

/* Stops the peer and checks that everything of it is freed: the pipeline,
 * the element and its webrtcbin are finalized once the work they queued
 * on the main context has run. */
static void
peer_free (Peer * peer)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (peer->pipeline);
  gpointer pipeline = peer->pipeline, ws = peer->ws, webrtcbin = NULL;

  fail_unless_equals_int (gst_element_set_state (peer->pipeline,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_bus_remove_watch (bus);
  g_object_get (peer->ws, "webrtcbin", &webrtcbin, NULL);
  g_signal_handlers_disconnect_by_data (webrtcbin, peer);
  g_clear_object (&peer->peer_io);
  g_object_add_weak_pointer (pipeline, &pipeline);
  g_object_add_weak_pointer (ws, &ws);
  g_object_add_weak_pointer (webrtcbin, &webrtcbin);
  gst_object_unref (webrtcbin);
  gst_object_unref (peer->ws);
  gst_object_unref (peer->pipeline);
  WAIT_FOR (pipeline == NULL && ws == NULL && webrtcbin == NULL);
  g_async_queue_unref (peer->io_received);
  g_free (peer->ended_description);
  g_free (peer->error);
  g_free (peer);
}

/* The callee side: the first message of an accepted socket is the invite;
 * then the pipeline takes the call. */
static void
on_first_message (WspConnection * connection, WspMessage * msg, gpointer data)
{
  Peer *peer;

  g_signal_handlers_disconnect_by_func (connection, on_first_message, data);
  fail_unless_equals_int (msg->type, WSP_MESSAGE_INVITE);
  fail_unless (accept_as == NULL, "a second call came in");
  g_free (invite_snapshot);
  invite_snapshot = g_strdup (msg->invite.snapshot);
  peer = peer_new ("callee", accept_props, accept_media);
  fail_unless (gst_element_set_state (peer->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  {
    gboolean taken = FALSE;

    g_signal_emit_by_name (peer->ws, "accept-call", connection,
        msg->invite.caller.uri, msg->invite.callee.uri, &taken);
    fail_unless (taken);
  }
  accept_as = peer;
}

static void
on_accept (WspConnection * connection, SoupServerMessage * msg, gpointer data)
{
  g_ptr_array_add (server_connections, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_first_message),
      NULL);
}

static void
server_start (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  GSList *uris;

  server_connections = g_ptr_array_new_with_free_func (g_object_unref);
  cert = g_tls_certificate_new_from_files (cert_file, key_file, &error);
  fail_unless (cert != NULL, "%s", error ? error->message : "");
  server = soup_server_new ("tls-certificate", cert, NULL);
  wsp_server_add_endpoint (server, "/wsp", NULL, on_accept, NULL, NULL);
  fail_unless (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY
          | SOUP_SERVER_LISTEN_HTTPS, &error), "%s",
      error ? error->message : "");
  uris = soup_server_get_uris (server);
  server_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

/* Stops the server; every socket it accepted must be freed too. */
static void
server_stop (void)
{
  gpointer freed[8] = { NULL, };
  guint n = MIN (server_connections->len, G_N_ELEMENTS (freed));

  for (guint i = 0; i < n; i++) {
    freed[i] = g_ptr_array_index (server_connections, i);
    g_object_add_weak_pointer (freed[i], &freed[i]);
  }
  soup_server_disconnect (server);
  g_clear_object (&server);
  g_clear_pointer (&server_connections, g_ptr_array_unref);
  for (guint i = 0; i < n; i++)
    WAIT_FOR (freed[i] == NULL);
}

/* A caller pipeline for @user at the test server. */
static Peer *
caller_new (const gchar * props, const gchar * media)
{
  g_autofree gchar *all = g_strdup_printf ("target=someone@127.0.0.1:%u "
      "local-uri=caller@127.0.0.1 pinned-certificate-file=%s %s",
      server_port, cert_file, props);

  return peer_new ("caller", all, media);
}

static void
expect_media_both_ways (Peer * door, Peer * interior)
{
  WAIT_FOR (door->connected && interior->connected);
  WAIT_FOR (door->transferred && interior->transferred);
  WAIT_FOR (g_atomic_int_get (&interior->frames) >= 15);
  /* Sines at the default volume: far above silence (-inf dB). */
  WAIT_FOR (interior->audio_db > -40.0);
  WAIT_FOR (door->audio_db > -40.0);
  fail_unless (door->error == NULL, "door: %s", door->error);
  fail_unless (interior->error == NULL, "interior: %s", interior->error);
}

static void
expect_normal_end (Peer * ender, Peer * other)
{
  g_signal_emit_by_name (ender->ws, "hangup");
  WAIT_FOR (ender->ended && other->ended);
  fail_unless_equals_int (ender->ended_code, 200);
  fail_if (ender->ended_remote);
  fail_unless_equals_int (other->ended_code, 200);
  fail_unless (other->ended_remote);
}

/* Stopping a pipeline ends its call with a bye 200 the peer receives: the
 * bye leaves before webrtcbin pauses. */
static void
expect_end_by_stop (Peer * stopped, Peer * other)
{
  fail_unless_equals_int (gst_element_set_state (stopped->pipeline,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  WAIT_FOR (other->ended);
  fail_unless_equals_int (other->ended_code, 200);
  fail_unless (other->ended_remote);
}

/* Plays @caller; the server answers its call with a callee element of
 * @props and @media, returned. */
static Peer *
play_and_accept (Peer * caller, const gchar * props, const gchar * media)
{
  accept_as = NULL;
  accept_props = props;
  accept_media = media;
  gst_element_set_state (caller->pipeline, GST_STATE_PLAYING);
  WAIT_FOR (accept_as != NULL);
  return accept_as;
}

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

/* Joins GStreamer's pooled streaming threads before the test process
 * exits: those that ran DTLS hold OpenSSL thread state, and would free it
 * after OpenSSL's own exit handler did ("double free" at exit, 1 run in
 * 20). An application calls gst_deinit(), which does the same. */
static void
teardown (void)
{
  gst_task_cleanup_all ();
}

static Suite *
wspsignaller_suite (void)
{
  Suite *s = suite_create ("wspsignaller");
  TCase *tc = tcase_create ("calls");

  cert_file = g_strdup (g_getenv ("OI_TEST_CERT"));
  key_file = g_strdup (g_getenv ("OI_TEST_KEY"));

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_checked_fixture (tc, NULL, teardown);
  tcase_add_test (tc, test_door_calls_interior);
  tcase_add_test (tc, test_interior_calls_door);
  tcase_add_test (tc, test_h264_payload_from_offer);
  tcase_add_test (tc, test_io_channel_from_callee);
  tcase_add_test (tc, test_io_channel_from_caller);
  tcase_add_test (tc, test_snapshot_in_invite);
  tcase_add_test (tc, test_hold_invite);
  tcase_add_test (tc, test_lip_sync);
  tcase_add_test (tc, test_end_call_with_code);
  tcase_add_test (tc, test_malformed_message_mid_call);
  tcase_add_test (tc, test_peer_goes_silent);
  tcase_add_test (tc, test_peer_vanishes);
  tcase_add_test (tc, test_connected_peer_vanishes);
  tcase_add_test (tc, test_listening_peer_stays);
  tcase_add_test (tc, test_ended_call_spares_the_tee);
  tcase_add_test (tc, test_unreachable_server);
  tcase_add_test (tc, test_stream_linked_before_start);
  return s;
}

GST_CHECK_MAIN (wspsignaller);
