/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the wspsignaller tests (wspsignaller.c,
 * wspsignaller-loss.c): a door and an interior GStreamer peer, each a
 * pipeline with a wspsignaller and what it saw; a real TLS WebSocket
 * server in this process that hands calls to the door; waits on
 * conditions with deadlines (nothing sleeps); the test case every file
 * uses. */
#pragma once

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

static inline gboolean
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

static inline void
on_handoff (GstElement * sink, GstBuffer * buffer, GstPad * pad, Peer * peer)
{
  g_atomic_int_inc (&peer->frames);
}

/* A decoder for each stream the peer receives. */
static inline void
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

static inline gboolean
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
static inline void
on_io_opened (GstElement * ws, Peer * peer)
{
  g_atomic_int_inc (&peer->io_opened);
}

static inline void
on_io_message (GstElement * ws, const gchar * text, Peer * peer)
{
  g_async_queue_push (peer->io_received, g_strdup (text));
}

/* webrtcbin's own announcement of a channel the peer made (on its
 * thread): the test keeps the io one, to send on it what the element
 * would not. */
static inline void
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

static inline Peer *
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
static inline void
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
static inline void
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

static inline void
on_accept (WspConnection * connection, SoupServerMessage * msg, gpointer data)
{
  g_ptr_array_add (server_connections, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_first_message),
      NULL);
}

static inline void
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
static inline void
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
static inline Peer *
caller_new (const gchar * props, const gchar * media)
{
  g_autofree gchar *all = g_strdup_printf ("target=someone@127.0.0.1:%u "
      "local-uri=caller@127.0.0.1 pinned-certificate-file=%s %s",
      server_port, cert_file, props);

  return peer_new ("caller", all, media);
}

static inline void
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

static inline void
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
static inline void
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
static inline Peer *
play_and_accept (Peer * caller, const gchar * props, const gchar * media)
{
  accept_as = NULL;
  accept_props = props;
  accept_media = media;
  gst_element_set_state (caller->pipeline, GST_STATE_PLAYING);
  WAIT_FOR (accept_as != NULL);
  return accept_as;
}


/* Joins GStreamer's pooled streaming threads before the test process
 * exits: those that ran DTLS hold OpenSSL thread state, and would free it
 * after OpenSSL's own exit handler did ("double free" at exit, 1 run in
 * 20). An application calls gst_deinit(), which does the same. */
static inline void
teardown (void)
{
  gst_task_cleanup_all ();
}

/* The test case of a wspsignaller test file: the server's certificate
 * from the environment, a call's timeout, the threads joined after each
 * test. */
static inline TCase *
calls_tcase_new (Suite * s)
{
  TCase *tc = tcase_create ("calls");

  cert_file = g_strdup (g_getenv ("OI_TEST_CERT"));
  key_file = g_strdup (g_getenv ("OI_TEST_KEY"));
  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_checked_fixture (tc, NULL, teardown);
  return tc;
}
