/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls: one media pipeline per call, built from pipelines/<variant>.pipeline,
 * and one wspsignaller per peer fed from the pipeline's `video` and `audio`
 * tees (one encode, several peers). Mode 1 (bell): a caller element per
 * ring target, the first to answer wins. Mode 2 (door): the home server
 * hands over an invite for the door, answered by a callee element; while a
 * call runs, a new caller joins it as a viewer. */

#include "intercomd.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define HISTORY_MAX 50
#define SNAPSHOT_TIMEOUT (GST_SECOND)
#define SNAPSHOT_WIDTH 320
#define LEVEL_WINDOW_US (G_USEC_PER_SEC)

typedef enum
{
  MODE_BELL,
  MODE_DOOR,
} CallMode;

typedef enum
{
  ROLE_TARGET,                  /* mode 1: a ring target, not yet answered */
  ROLE_MAIN,
  ROLE_VIEWER,
} PeerRole;

typedef struct _Call Call;

typedef struct
{
  guint id;
  OiCalls *calls;
  Call *call;
  guint call_id;                /* call->id, for any thread */
  GstElement *signaller;
  gchar *uri;
  PeerRole role;
  gboolean connected;
  gboolean io_open;
  gboolean ended;
  GPtrArray *tee_pads;          /* requested tee pads feeding it */
  GPtrArray *extra;             /* fakesinks for audio we don't play */
} Peer;

struct _Call
{
  OiCalls *calls;
  guint id;
  CallMode mode;
  gint64 started;               /* ms epoch */
  gint64 answered_at;           /* monotonic µs, 0 before */
  gchar *codec;
  GstElement *pipeline;
  GstElement *video_tee, *audio_tee, *speaker;
  guint bus_watch;
  GPtrArray *peers;             /* Peer */
  GPtrArray *peer_uris;         /* for the history */
  GBytes *snapshot;
  GCancellable *cancellable;
  guint ring_timer, max_timer;
  gdouble level_db;
  gint64 level_time;
  gboolean answered;
  gboolean ending;
  gboolean lost;                /* ended as its main peer vanished */
  gint end_code;
  GThread *teardown;            /* stopping the pipeline, off the main loop */
  gint64 ended_at;              /* monotonic µs */
};

typedef struct
{
  guint id;
  gint64 time;
  CallMode mode;
  gchar **peers;
  gboolean answered;
  guint duration;
  gint end_code;
  gboolean lost;
  GBytes *snapshot;
} HistoryEntry;

/* A call to the door that came while the last call's pipeline stopped:
 * accepted once it has (the camera and sound card are free again). */
typedef struct
{
  WspConnection *connection;
  gchar *caller;                /* the socket's identity (router.c) */
  gchar *callee;
} PendingInvite;

struct _OiCalls
{
  const OiConfig *config;
  OiIo *io;
  Call *call;                   /* at most one */
  GPtrArray *stopping;          /* Call: ended, their pipelines stopping */
  gboolean bell_pending;        /* pressed while a pipeline stopped */
  gboolean shutting_down;
  GPtrArray *pending_invites;   /* PendingInvite, likewise */
  guint next_call_id;
  guint next_peer_id;
  GQueue history;               /* HistoryEntry, newest first */
  GMutex lock;                  /* Peer.extra, added to on streaming threads */
};

static void end_call (OiCalls * self, gint code, const gchar * why);
static void call_free (Call * call);

/* History */

static void
history_entry_free (gpointer data)
{
  HistoryEntry *entry = data;

  g_strfreev (entry->peers);
  g_clear_pointer (&entry->snapshot, g_bytes_unref);
  g_free (entry);
}

static void
add_history (OiCalls * self, Call * call)
{
  HistoryEntry *entry = g_new0 (HistoryEntry, 1);

  entry->id = call->id;
  entry->time = call->started;
  entry->mode = call->mode;
  entry->peers = g_new0 (gchar *, call->peer_uris->len + 1);
  for (guint i = 0; i < call->peer_uris->len; i++)
    entry->peers[i] = g_strdup (g_ptr_array_index (call->peer_uris, i));
  entry->answered = call->answered;
  entry->duration = call->answered_at ?
      (g_get_monotonic_time () - call->answered_at) / G_USEC_PER_SEC : 0;
  entry->end_code = call->end_code;
  entry->lost = call->lost;
  entry->snapshot = call->snapshot ? g_bytes_ref (call->snapshot) : NULL;
  g_queue_push_head (&self->history, entry);
  while (self->history.length > HISTORY_MAX)
    history_entry_free (g_queue_pop_tail (&self->history));
}

/* Pipelines */

static gboolean
have (const gchar * factory)
{
  g_autoptr (GstElementFactory) f = gst_element_factory_find (factory);

  return f != NULL;
}

/* The encoder and payloader for the first configured codec this system
 * can encode; NULL if none. */
static gchar *
video_encoder (const OiConfig * c, const gchar ** codec)
{
  for (guint i = 0; c->codecs[i]; i++) {
    if (g_str_equal (c->codecs[i], "h264")) {
      const gchar *pay = "h264parse ! rtph264pay pt=102 config-interval=-1 "
          "aggregate-mode=zero-latency";

      *codec = "h264";
      if (g_str_equal (c->pipeline, "hardware") && have ("v4l2h264enc"))
        return g_strdup_printf ("v4l2h264enc extra-controls=controls,"
            "video_bitrate=%u,h264_i_frame_period=60 ! "
            "video/x-h264,level=(string)4,profile=constrained-baseline ! %s",
            c->bitrate * 1000, pay);
      if (have ("x264enc"))
        return g_strdup_printf ("x264enc tune=zerolatency "
            "speed-preset=ultrafast bitrate=%u key-int-max=60 ! "
            "video/x-h264,profile=constrained-baseline ! %s", c->bitrate, pay);
      if (have ("openh264enc"))
        return g_strdup_printf ("openh264enc bitrate=%u complexity=low "
            "rate-control=bitrate gop-size=60 ! "
            "video/x-h264,profile=constrained-baseline ! %s",
            c->bitrate * 1000, pay);
    } else if (g_str_equal (c->codecs[i], "vp8") && have ("vp8enc")) {
      *codec = "vp8";
      return g_strdup_printf ("vp8enc deadline=1 cpu-used=8 end-usage=cbr "
          "target-bitrate=%u error-resilient=partitions "
          "keyframe-max-dist=60 ! rtpvp8pay pt=96", c->bitrate * 1000);
    }
  }
  return NULL;
}

/* ${name} -> value; an unknown name is an error (a typo in the file). */
static gchar *
substitute (const gchar * text, GHashTable * vars, GError ** error)
{
  GString *out = g_string_new (NULL);
  const gchar *p = text;

  while (*p) {
    const gchar *start = strstr (p, "${"), *end;
    g_autofree gchar *name = NULL;
    const gchar *value;

    if (start == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, start - p);
    end = strchr (start, '}');
    if (end == NULL)
      goto bad;
    name = g_strndup (start + 2, end - start - 2);
    if (!(value = g_hash_table_lookup (vars, name)))
      goto bad;
    g_string_append (out, value);
    p = end + 1;
    continue;

  bad:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "unknown or unterminated variable at \"%.20s\"", start);
    g_string_free (out, TRUE);
    return NULL;
  }
  return g_string_free (out, FALSE);
}

/* The call pipeline's gst-launch text for `c`: its file with the comments
 * removed and the variables filled in; `codec` gets the video codec. */
gchar *
oi_calls_pipeline_text (const OiConfig * c, const gchar ** codec,
    GError ** error)
{
  g_autoptr (GHashTable) vars = g_hash_table_new_full (g_str_hash,
      g_str_equal, NULL, g_free);
  g_autofree gchar *file = g_strdup_printf ("%s/%s.pipeline",
      c->pipelines_dir, c->pipeline);
  g_autofree gchar *text = NULL;
  g_autoptr (GString) stripped = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  gchar *encoder, *launch;
  gboolean aec = c->echo_cancel && have ("webrtcdsp");

  if (!g_file_get_contents (file, &text, NULL, error))
    return NULL;
  /* '#' comments to the end of a line */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    gchar *hash = strchr (lines[i], '#');

    if (hash)
      *hash = '\0';
    g_string_append_printf (stripped, "%s\n", lines[i]);
  }

  encoder = video_encoder (c, codec);
  if (encoder == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no encoder for [media] codecs (x264enc, openh264enc or vp8enc)");
    return NULL;
  }
  g_hash_table_insert (vars, "video_encoder", encoder);
  g_hash_table_insert (vars, "width", g_strdup_printf ("%u", c->width));
  g_hash_table_insert (vars, "height", g_strdup_printf ("%u", c->height));
  g_hash_table_insert (vars, "framerate", g_strdup_printf ("%u",
          c->framerate));
  g_hash_table_insert (vars, "bitrate", g_strdup_printf ("%u", c->bitrate));
  /* checked by the config: plain names only (no quotes, '!' or spaces) */
  g_hash_table_insert (vars, "video_device", g_strdup (c->video_device));
  g_hash_table_insert (vars, "audio_source_device",
      g_strdup (c->audio_source_device));
  g_hash_table_insert (vars, "audio_sink_device",
      g_strdup (c->audio_sink_device));
  g_hash_table_insert (vars, "aec", g_strdup (aec ?
          "webrtcdsp name=aec probe=echoprobe echo-cancel=true "
          "noise-suppression=true ! " : ""));
  g_hash_table_insert (vars, "aec_probe", g_strdup (aec ?
          "webrtcechoprobe name=echoprobe ! " : ""));

  launch = substitute (stripped->str, vars, error);
  if (launch == NULL)
    g_prefix_error (error, "%s: ", file);
  return launch;
}

static GstElement *
build_pipeline (OiCalls * self, Call * call, GError ** error)
{
  const gchar *codec = NULL;
  g_autofree gchar *launch = oi_calls_pipeline_text (self->config, &codec,
      error);

  if (launch == NULL)
    return NULL;
  call->codec = g_strdup (codec);
  g_debug ("call pipeline: %s", launch);
  return gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      error);
}

/* Peers */

static Peer *
find_peer (Call * call, guint id)
{
  for (guint i = 0; call && i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (peer->id == id)
      return peer;
  }
  return NULL;
}

static Peer *
find_peer_by_element (Call * call, GstObject * element)
{
  for (guint i = 0; call && i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (GST_OBJECT (peer->signaller) == element)
      return peer;
  }
  return NULL;
}

static void
send_io (Peer * peer, WspIoMessage * message)
{
  g_autofree gchar *text = wsp_io_message_serialize (message);
  gboolean sent = FALSE;

  if (text && peer->io_open)
    g_signal_emit_by_name (peer->signaller, "send-io", text, &sent);
}

/* Signals from the signaller's thread, handed to the main context. */
typedef struct
{
  OiCalls *self;
  guint peer_id;
  gchar *peer_uri;
  guint call_id;
  gchar *text;                  /* io-message, or NULL for io-opened */
} IoEvent;

static void
io_event_free (gpointer data)
{
  IoEvent *event = data;

  g_free (event->peer_uri);
  g_free (event->text);
  g_free (event);
}

static void
on_io_message (OiCalls * self, Peer * peer, const gchar * text)
{
  g_autoptr (WspIoMessage) message = NULL;
  g_autoptr (GError) error = NULL;
  guint code = 0;
  g_autofree gchar *description = NULL;

  if (!wsp_io_message_parse (text, strlen (text), &message, &error)) {
    g_message ("bad io message from %s: %s", peer->uri, error->message);
    code = WSP_IO_ERROR_BAD_REQUEST;
    description = g_strdup (error->message);
  } else if (message->type != WSP_IO_MESSAGE_RELAY_COMMAND) {
    code = WSP_IO_ERROR_BAD_REQUEST;
    description = g_strdup ("only relay commands go to the door");
  } else if (!peer->connected || peer->role == ROLE_TARGET) {
    /* Only the peers of an established, authorised call. */
    code = WSP_IO_ERROR_FORBIDDEN;
    description = g_strdup ("not in an established call");
    oi_io_audit (self->io, "peer=%s call=%u relay=%s action=%s "
        "result=refused code=403 reason=\"%s\"", peer->uri, peer->call->id,
        message->command.name,
        wsp_io_relay_action_to_string (message->command.action), description);
  } else {
    oi_io_relay_command (self->io, message, peer->uri, peer->call->id, &code,
        &description);
  }
  if (code) {
    g_autoptr (WspIoMessage) reply = wsp_io_message_new_error (code,
        description);

    send_io (peer, reply);
  }
}

static gboolean
io_event_dispatch (gpointer data)
{
  IoEvent *event = data;
  OiCalls *self = event->self;
  Peer *peer = self->call ? find_peer (self->call, event->peer_id) : NULL;

  if (peer == NULL || peer->ended) {
    g_autoptr (WspIoMessage) message = NULL;

    /* A command that comes after its call ended moves nothing; audited. */
    if (event->text && wsp_io_message_parse (event->text,
            strlen (event->text), &message, NULL)
        && message->type == WSP_IO_MESSAGE_RELAY_COMMAND)
      oi_io_audit (self->io, "peer=%s call=%u relay=%s action=%s "
          "result=refused code=403 reason=\"the call has ended\"",
          event->peer_uri, event->call_id, message->command.name,
          wsp_io_relay_action_to_string (message->command.action));
    return G_SOURCE_REMOVE;
  }
  if (event->text == NULL) {
    g_autoptr (WspIoMessage) state = oi_io_get_state (self->io);

    g_info ("io channel open with %s", peer->uri);
    peer->io_open = TRUE;
    send_io (peer, state);
  } else {
    on_io_message (self, peer, event->text);
  }
  return G_SOURCE_REMOVE;
}

static void
queue_io_event (Peer * peer, const gchar * text)
{
  IoEvent *event = g_new0 (IoEvent, 1);

  /* peer->call->... is read on the main context only */
  event->self = peer->calls;
  event->peer_id = peer->id;
  event->peer_uri = g_strdup (peer->uri);
  event->call_id = peer->call_id;
  event->text = g_strdup (text);
  g_idle_add_full (G_PRIORITY_DEFAULT, io_event_dispatch, event,
      io_event_free);
}

static void
signaller_io_opened (GstElement * signaller, gpointer data)
{
  queue_io_event (data, NULL);
}

static void
signaller_io_message (GstElement * signaller, const gchar * text,
    gpointer data)
{
  queue_io_event (data, text);
}

/* A received stream: the main peer's audio goes to the speaker, the rest
 * to a fakesink. Runs on a streaming thread. */
static void
signaller_pad_added (GstElement * signaller, GstPad * pad, gpointer data)
{
  Peer *peer = data;
  Call *call = peer->call;
  OiCalls *self = peer->calls;
  g_autoptr (GstPad) speaker_pad = NULL;
  GstElement *sink;
  g_autoptr (GstPad) sink_pad = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  if (call->speaker)
    speaker_pad = gst_element_get_static_pad (call->speaker, "sink");
  /* gst_pad_link() refuses a pad that is already linked: the first peer's
   * audio wins without a lock of ours. */
  if (speaker_pad && peer->role != ROLE_VIEWER
      && gst_pad_link (pad, speaker_pad) == GST_PAD_LINK_OK) {
    g_info ("playing the audio of %s", peer->uri);
    return;
  }
  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (peer->extra, gst_object_ref (sink));
  g_mutex_unlock (&self->lock);
  gst_bin_add (GST_BIN (call->pipeline), sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sink_pad);
  gst_element_sync_state_with_parent (sink);
}

static gboolean
link_tee (Peer * peer, GstElement * tee, GstPad * sink)
{
  GstPad *tee_pad = gst_element_request_pad_simple (tee, "src_%u");
  gboolean ok = tee_pad && gst_pad_link (tee_pad, sink) == GST_PAD_LINK_OK;

  if (tee_pad)
    g_ptr_array_add (peer->tee_pads, tee_pad);
  return ok;
}

static void
apply_ice (OiCalls * self, GstElement * signaller)
{
  const OiConfig *c = self->config;

  if (c->stun)
    g_object_set (signaller, "stun-server", c->stun, NULL);
  if (c->turn)
    g_object_set (signaller, "turn-server", c->turn, NULL);
  if (c->local_addresses)
    g_object_set (signaller, "local-addresses", c->local_addresses, NULL);
}

static Peer *
add_peer (OiCalls * self, Call * call, const gchar * uri, PeerRole role)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->id = ++self->next_peer_id;
  peer->calls = self;
  peer->call = call;
  peer->call_id = call->id;
  peer->uri = g_strdup (uri);
  peer->role = role;
  peer->tee_pads = g_ptr_array_new_with_free_func (gst_object_unref);
  peer->extra = g_ptr_array_new_with_free_func (gst_object_unref);
  peer->signaller = gst_element_factory_make ("wspsignaller", NULL);
  if (peer->signaller == NULL) {
    g_warning ("wspsignaller is missing (the oiwsp plugin)");
    g_ptr_array_unref (peer->tee_pads);
    g_ptr_array_unref (peer->extra);
    g_free (peer->uri);
    g_free (peer);
    return NULL;
  }
  gst_object_ref_sink (peer->signaller);
  g_object_set (peer->signaller, "local-uri", self->config->door_uri,
      "display-name", self->config->name, "io-channel", TRUE,
      "recv-audio", role != ROLE_VIEWER, "recv-video", FALSE,
      "answer-timeout", self->config->ring_timeout, "lip-sync",
      self->config->lip_sync, "peer-timeout", self->config->peer_timeout,
      NULL);
  apply_ice (self, peer->signaller);
  g_signal_connect (peer->signaller, "io-opened",
      G_CALLBACK (signaller_io_opened), peer);
  g_signal_connect (peer->signaller, "io-message",
      G_CALLBACK (signaller_io_message), peer);
  g_signal_connect (peer->signaller, "pad-added",
      G_CALLBACK (signaller_pad_added), peer);
  g_ptr_array_add (call->peers, peer);
  if (!g_ptr_array_find_with_equal_func (call->peer_uris, uri, g_str_equal,
          NULL))
    g_ptr_array_add (call->peer_uris, g_strdup (uri));
  return peer;
}

/* Links a new peer into the running pipeline. */
static gboolean
start_peer (Call * call, Peer * peer)
{
  g_autoptr (GstPad) video = NULL;
  g_autoptr (GstPad) audio = NULL;

  gst_bin_add (GST_BIN (call->pipeline), peer->signaller);
  /* The element's streams exist before it starts (an answer waits for
   * each), but the running tees are linked only once it is up: a tee whose
   * only branch is still down gets FLUSHING, and its live branch upstream
   * (the leaky queue before the encoder) stops for good. */
  video = gst_element_request_pad_simple (peer->signaller, "sink_%u");
  audio = gst_element_request_pad_simple (peer->signaller, "sink_%u");
  if (!video || !audio || !gst_element_sync_state_with_parent (peer->signaller))
    return FALSE;
  return link_tee (peer, call->video_tee, video) &&
      link_tee (peer, call->audio_tee, audio);
}

static void
remove_peer (OiCalls * self, Call * call, Peer * peer)
{
  g_autoptr (GPtrArray) extra = NULL;

  g_signal_handlers_disconnect_by_data (peer->signaller, peer);
  for (guint i = 0; i < peer->tee_pads->len; i++) {
    GstPad *tee_pad = g_ptr_array_index (peer->tee_pads, i);
    GstPad *peer_pad = gst_pad_get_peer (tee_pad);

    if (peer_pad) {
      gst_pad_unlink (tee_pad, peer_pad);
      gst_object_unref (peer_pad);
    }
    gst_element_release_request_pad (GST_ELEMENT (GST_PAD_PARENT (tee_pad)),
        tee_pad);
  }
  g_ptr_array_set_size (peer->tee_pads, 0);
  if (call->pipeline && GST_OBJECT_PARENT (peer->signaller)) {
    gst_element_set_locked_state (peer->signaller, TRUE);
    gst_element_set_state (peer->signaller, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (call->pipeline), peer->signaller);
    /* The signaller is stopped: no pad-added adds to the list any more.
     * The lock only guards the list, not the removal (which emits and
     * posts). */
    g_mutex_lock (&self->lock);
    extra = g_steal_pointer (&peer->extra);
    peer->extra = g_ptr_array_new_with_free_func (gst_object_unref);
    g_mutex_unlock (&self->lock);
    for (guint i = 0; i < extra->len; i++) {
      GstElement *sink = g_ptr_array_index (extra, i);

      gst_element_set_locked_state (sink, TRUE);
      gst_element_set_state (sink, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (call->pipeline), sink);
    }
  }
}

static void
peer_free (Peer * peer)
{
  g_signal_handlers_disconnect_by_data (peer->signaller, peer);
  gst_object_unref (peer->signaller);
  g_ptr_array_unref (peer->tee_pads);
  g_ptr_array_unref (peer->extra);
  g_free (peer->uri);
  g_free (peer);
}

/* The call's bus */

static void
peer_connected (OiCalls * self, Call * call, Peer * peer)
{
  peer->connected = TRUE;
  if (peer->role == ROLE_TARGET) {
    /* The first ring target to answer wins; the others stop ringing. One
     * who answers a bell pressed during the call joins it as a viewer:
     * the main peer goes on talking to the visitor. */
    peer->role = call->answered ? ROLE_VIEWER : ROLE_MAIN;
    for (guint i = 0; i < call->peers->len; i++) {
      Peer *other = g_ptr_array_index (call->peers, i);

      if (other != peer && other->role == ROLE_TARGET) {
        other->ended = TRUE;
        g_signal_emit_by_name (other->signaller, "end-call",
            (guint) WSP_BYE_CANCELLED, "answered elsewhere");
      }
    }
  }
  if (!call->answered) {
    call->answered = TRUE;
    call->answered_at = g_get_monotonic_time ();
    if (call->ring_timer) {
      g_source_remove (call->ring_timer);
      call->ring_timer = 0;
    }
  }
  g_message ("call %u: %s connected (%s)", call->id, peer->uri,
      peer->role == ROLE_VIEWER ? "viewer" : "main");
}

static void
peer_ended (OiCalls * self, Call * call, Peer * peer, gint code,
    const gchar * description, gboolean remote, gboolean lost)
{
  gboolean main_gone = peer->role == ROLE_MAIN;
  gboolean any_left = FALSE;

  g_message ("call %u: %s ended: %d %s (%s)", call->id, peer->uri, code,
      GST_STR_NULL (description), remote ? "by the peer" : lost ?
      "lost" : "by the door");
  if (lost)
    oi_io_audit (self->io, "peer=%s call=%u event=peer-lost role=%s "
        "code=%d reason=\"%s\"", peer->uri, call->id,
        peer->role == ROLE_MAIN ? "main" : peer->role == ROLE_VIEWER ?
        "viewer" : "ringing", code,
        GST_STR_NULL (description));
  peer->ended = TRUE;
  for (guint i = 0; i < call->peers->len; i++)
    if (!((Peer *) g_ptr_array_index (call->peers, i))->ended)
      any_left = TRUE;
  /* A viewer's or an unanswered join ring's end is not the call's. */
  if (main_gone || !any_left) {
    call->end_code = code;
    call->lost = main_gone && lost;
    end_call (self, code, main_gone ? (lost ? "the main peer vanished" :
            "the main peer left") : "no peer left");
    return;
  }
  g_ptr_array_remove (call->peers, peer);
  remove_peer (self, call, peer);
  peer_free (peer);
}

static void
on_level (Call * call, const GstStructure * s)
{
  const GValue *rms = gst_structure_get_value (s, "rms");
  gdouble max = -G_MAXDOUBLE;

  if (rms == NULL)
    return;
  /* level's fields are GValueArrays, deprecated in GLib, not in level */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
  if (G_VALUE_HOLDS (rms, g_value_array_get_type ())) {
    GValueArray *array = g_value_get_boxed (rms);

    for (guint i = 0; i < array->n_values; i++)
      max = MAX (max, g_value_get_double (g_value_array_get_nth (array, i)));
  }
  G_GNUC_END_IGNORE_DEPRECATIONS;
  if (max == -G_MAXDOUBLE)
    return;
  if (call->level_time < g_get_monotonic_time () - LEVEL_WINDOW_US
      || max > call->level_db)
    call->level_db = max;
  call->level_time = g_get_monotonic_time ();
}

/* Whether @object is a wspsignaller or inside one. */
static gboolean
from_signaller (GstObject * object)
{
  g_autoptr (GstObject) o = gst_object_ref (object);

  while (o) {
    GstObject *parent;

    if (GST_IS_ELEMENT (o)) {
      GstElementFactory *factory = gst_element_get_factory (GST_ELEMENT (o));

      if (factory && g_str_equal (GST_OBJECT_NAME (factory), "wspsignaller"))
        return TRUE;
    }
    parent = gst_object_get_parent (o);
    gst_object_unref (o);
    o = parent;
  }
  return FALSE;
}

static gboolean
call_bus_message (GstBus * bus, GstMessage * message, gpointer data)
{
  OiCalls *self = data;
  Call *call = self->call;
  Peer *peer;

  if (call == NULL || call->ending)
    return G_SOURCE_CONTINUE;
  peer = find_peer_by_element (call, GST_MESSAGE_SRC (message));

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (message);

      if (gst_structure_has_name (s, "level")) {
        on_level (call, s);
      } else if (peer && gst_structure_has_name (s, "wsp-ringing")) {
        g_info ("call %u: %s rings", call->id, peer->uri);
      } else if (peer && gst_structure_has_name (s, "wsp-connected")) {
        peer_connected (self, call, peer);
      } else if (peer && gst_structure_has_name (s, "wsp-ended")) {
        gint code = 0;
        gboolean remote = FALSE, lost = FALSE;

        gst_structure_get_int (s, "code", &code);
        gst_structure_get_boolean (s, "remote", &remote);
        gst_structure_get_boolean (s, "lost", &lost);
        peer_ended (self, call, peer, code,
            gst_structure_get_string (s, "description"), remote, lost);
      }
      break;
    }
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;
      g_autofree gchar *debug = NULL;

      gst_message_parse_error (message, &error, &debug);
      /* A signaller's failure comes with its wsp-ended, which has been
       * handled (a viewer that left is no longer in the list). */
      if (!from_signaller (GST_MESSAGE_SRC (message))) {
        g_warning ("call %u: pipeline error from %s: %s (%s)", call->id,
            GST_MESSAGE_SRC_NAME (message), error->message,
            GST_STR_NULL (debug));
        end_call (self, WSP_BYE_INTERNAL_ERROR, error->message);
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* Starting and ending */

static void
call_free (Call * call)
{
  for (guint i = 0; call->peers && i < call->peers->len; i++)
    peer_free (g_ptr_array_index (call->peers, i));
  g_clear_pointer (&call->peers, g_ptr_array_unref);
  g_clear_pointer (&call->peer_uris, g_ptr_array_unref);
  g_clear_pointer (&call->snapshot, g_bytes_unref);
  g_clear_object (&call->cancellable);
  gst_clear_object (&call->video_tee);
  gst_clear_object (&call->audio_tee);
  gst_clear_object (&call->speaker);
  g_free (call->codec);
  g_free (call);
}

static void pending_invite_free (gpointer data);
static void accept_invite (OiCalls * self, WspConnection * connection,
    const gchar * caller, const gchar * callee);

static void
trim_memory (void)
{
#ifdef __GLIBC__
  /* A call's buffers, encoder and threads are gone: hand the free pages
   * back now, not at some later allocation (BENCHMARKS.md, RSS). */
  malloc_trim (0);
#endif
}

/* Stops the pipeline: set to NULL ends each peer's call with a bye the
 * peer receives; a peer still connected may take a moment to confirm it
 * (docs/wsp.md, "Ending a call"), and the bell is watched meanwhile. */
static gpointer
teardown_thread (gpointer data)
{
  Call *call = data;

  gst_element_set_state (call->pipeline, GST_STATE_NULL);
  return NULL;
}

/* On the main context, once a call's pipeline has stopped: what waited
 * for the camera and the sound card starts now. */
static gboolean
teardown_done (gpointer data)
{
  Call *call = data;
  OiCalls *self = call->calls;
  g_autoptr (GPtrArray) invites = NULL;

  g_thread_join (g_steal_pointer (&call->teardown));
  gst_clear_object (&call->pipeline);
  g_ptr_array_remove_fast (self->stopping, call);
  g_debug ("call %u: its pipeline stopped %" G_GINT64_FORMAT " ms after "
      "the end", call->id, (g_get_monotonic_time () - call->ended_at) / 1000);
  call_free (call);
  trim_memory ();
  if (self->stopping->len > 0)
    return G_SOURCE_REMOVE;
  invites = g_steal_pointer (&self->pending_invites);
  self->pending_invites = g_ptr_array_new_with_free_func
      (pending_invite_free);
  if (self->bell_pending) {
    self->bell_pending = FALSE;
    oi_calls_bell (self);
  }
  for (guint i = 0; i < invites->len; i++) {
    PendingInvite *p = g_ptr_array_index (invites, i);

    if (wsp_connection_is_open (p->connection))
      accept_invite (self, p->connection, p->caller, p->callee);
  }
  return G_SOURCE_REMOVE;
}

static gpointer
teardown_and_report (gpointer data)
{
  teardown_thread (data);
  g_idle_add (teardown_done, data);
  return NULL;
}

/* Ends the call: the door is ready for the next at once, and its
 * pipeline stops on a thread of its own (@wait: here and now, at exit). */
static void
end_call_full (OiCalls * self, gint code, const gchar * why, gboolean wait)
{
  Call *call = self->call;

  if (call == NULL || call->ending)
    return;
  call->ending = TRUE;
  call->ended_at = g_get_monotonic_time ();
  if (call->end_code == 0)
    call->end_code = code;
  g_message ("call %u ends: %s", call->id, why);
  g_cancellable_cancel (call->cancellable);
  if (call->ring_timer)
    g_source_remove (call->ring_timer);
  if (call->max_timer)
    g_source_remove (call->max_timer);
  call->ring_timer = call->max_timer = 0;
  /* Stopping the pipeline ends each peer's call with a bye (the code
   * chosen here for those that are still on). */
  for (guint i = 0; i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (!peer->ended && code != WSP_BYE_NORMAL)
      g_signal_emit_by_name (peer->signaller, "end-call", (guint) code, why);
  }
  g_source_remove (call->bus_watch);
  add_history (self, call);
  self->call = NULL;
  if (wait) {
    teardown_thread (call);
    gst_clear_object (&call->pipeline);
    call_free (call);
    trim_memory ();
    return;
  }
  g_ptr_array_add (self->stopping, call);
  call->teardown = g_thread_new ("call-teardown", teardown_and_report, call);
}

static void
end_call (OiCalls * self, gint code, const gchar * why)
{
  end_call_full (self, code, why, FALSE);
}

static gboolean
ring_timeout (gpointer data)
{
  OiCalls *self = data;

  self->call->ring_timer = 0;
  end_call (self, WSP_BYE_TIMEOUT, "nobody answered");
  return G_SOURCE_REMOVE;
}

static gboolean
max_call_timeout (gpointer data)
{
  OiCalls *self = data;

  self->call->max_timer = 0;
  end_call (self, WSP_BYE_NORMAL, "the longest call allowed is over");
  return G_SOURCE_REMOVE;
}

static Call *
start_call (OiCalls * self, CallMode mode, GError ** error)
{
  Call *call = g_new0 (Call, 1);
  g_autoptr (GstBus) bus = NULL;

  call->calls = self;
  call->id = ++self->next_call_id;
  call->mode = mode;
  call->started = g_get_real_time () / 1000;
  call->peers = g_ptr_array_new ();
  call->peer_uris = g_ptr_array_new_with_free_func (g_free);
  call->cancellable = g_cancellable_new ();
  call->pipeline = build_pipeline (self, call, error);
  if (call->pipeline == NULL)
    goto failed;
  call->video_tee = gst_bin_get_by_name (GST_BIN (call->pipeline), "video");
  call->audio_tee = gst_bin_get_by_name (GST_BIN (call->pipeline), "audio");
  call->speaker = gst_bin_get_by_name (GST_BIN (call->pipeline), "speaker");
  if (!call->video_tee || !call->audio_tee) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the pipeline has no tee named \"video\" or \"audio\"");
    goto failed;
  }
  bus = gst_element_get_bus (call->pipeline);
  call->bus_watch = gst_bus_add_watch (bus, call_bus_message, self);
  if (gst_element_set_state (call->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "the call pipeline does not start");
    gst_element_set_state (call->pipeline, GST_STATE_NULL);
    g_source_remove (call->bus_watch);
    goto failed;
  }
  call->max_timer = g_timeout_add_seconds (self->config->max_call,
      max_call_timeout, self);
  self->call = call;
  return call;

failed:
  gst_clear_object (&call->pipeline);
  call_free (call);
  return NULL;
}

static gboolean
address_is_local (OiCalls * self, const gchar * uri)
{
  const gchar *at = strchr (uri, '@');

  return at && g_ascii_strcasecmp (at + 1, self->config->host) == 0;
}

/* Mode 1: a caller element per ring target. With `hold`, each connects
 * but holds its invite until release_targets() gives it the snapshot, so
 * the connections are made while the snapshot is taken. */
static void
ring_targets (OiCalls * self, Call * call, gboolean hold, gboolean join)
{
  const OiConfig *c = self->config;
  guint started = 0;

  for (guint i = 0; c->ring[i]; i++) {
    Peer *peer = add_peer (self, call, c->ring[i], ROLE_TARGET);

    if (peer == NULL)
      continue;
    g_object_set (peer->signaller, "target", c->ring[i], "hold-invite", hold,
        NULL);
    if (address_is_local (self, c->ring[i])) {
      /* Our own users: through our own home server, in the process. */
      g_object_set (peer->signaller, "uri",
          WSP_LOCAL_SCHEME "://" OI_HOME_SERVER_NAME, NULL);
    } else {
      /* Another station: with its bearer token and pinned certificate. */
      const OiPeer *station = oi_config_find_peer_by_host (c,
          strchr (c->ring[i], '@') + 1);

      if (station)
        g_object_set (peer->signaller, "token", station->token,
            "pinned-certificate-file", station->certificate, NULL);
    }
    if (start_peer (call, peer))
      started++;
    else
      g_warning ("call %u: cannot start the call to %s", call->id,
          c->ring[i]);
  }
  if (join) {
    /* Each gives up by itself (answer-timeout): the call goes on. */
    return;
  }
  if (started == 0) {
    end_call (self, WSP_BYE_INTERNAL_ERROR, "no ring target could be called");
    return;
  }
  call->ring_timer = g_timeout_add_seconds (c->ring_timeout + 2,
      ring_timeout, self);
}

typedef struct
{
  OiCalls *self;
  guint call_id;
} SnapshotJob;

static void
take_snapshot (GTask * task, gpointer source, gpointer data,
    GCancellable * cancellable)
{
  GstAppSink *sink = data;
  g_autoptr (GstSample) sample = gst_app_sink_try_pull_sample (sink,
      SNAPSHOT_TIMEOUT);
  g_autoptr (GstSample) jpeg = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GError) error = NULL;
  GstMapInfo map;
  GBytes *bytes;

  if (sample == NULL) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "no video frame within a second");
    return;
  }
  caps = gst_caps_new_simple ("image/jpeg", "width", G_TYPE_INT,
      SNAPSHOT_WIDTH, NULL);
  jpeg = gst_video_convert_sample (sample, caps, SNAPSHOT_TIMEOUT, &error);
  if (jpeg == NULL || !gst_buffer_map (gst_sample_get_buffer (jpeg), &map,
          GST_MAP_READ)) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
        "cannot encode the snapshot: %s", error ? error->message : "?");
    return;
  }
  bytes = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (gst_sample_get_buffer (jpeg), &map);
  g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/* The snapshot (or NULL) is ready: the held invites go. */
static void
release_targets (Call * call, const gchar * snapshot_uri)
{
  for (guint i = 0; i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (peer->role == ROLE_TARGET)
      g_object_set (peer->signaller, "snapshot", snapshot_uri, "hold-invite",
          FALSE, NULL);
  }
}

static void
snapshot_done (GObject * source, GAsyncResult * result, gpointer data)
{
  SnapshotJob *job = data;
  OiCalls *self = job->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) jpeg = g_task_propagate_pointer (G_TASK (result),
      &error);
  g_autofree gchar *b64 = NULL;
  g_autofree gchar *data_uri = NULL;
  Call *call = self->call;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || call == NULL || call->id != job->call_id || call->ending) {
    g_free (job);
    return;
  }
  g_free (job);
  if (jpeg) {
    b64 = g_base64_encode (g_bytes_get_data (jpeg, NULL),
        g_bytes_get_size (jpeg));
    data_uri = g_strconcat ("data:image/jpeg;base64,", b64, NULL);
    /* The history keeps the visitor who rang first. */
    if (call->snapshot == NULL)
      call->snapshot = g_bytes_ref (jpeg);
  } else {
    g_warning ("call %u: ringing without a snapshot: %s", call->id,
        error->message);
  }
  release_targets (call, data_uri);
}

/* The snapshot for the ring targets' invites, on a worker thread. */
static void
start_snapshot (OiCalls * self, Call * call, GstElement * snapshot)
{
  SnapshotJob *job = g_new0 (SnapshotJob, 1);
  GTask *task;

  job->self = self;
  job->call_id = call->id;
  task = g_task_new (NULL, call->cancellable, snapshot_done, job);
  g_task_set_task_data (task, gst_object_ref (snapshot), gst_object_unref);
  g_task_run_in_thread (task, take_snapshot);
  g_object_unref (task);
}

static guint
count_peers (Call * call, gboolean targets)
{
  guint n = 0;

  for (guint i = 0; call && i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (!peer->ended && (peer->role == ROLE_TARGET) == targets)
      n++;
  }
  return n;
}

/* The bell during a call (docs/intercomd.md, "The bell during a call"):
 * the ring targets' pages that are not in the call ring, and the first to
 * answer joins it as a viewer. */
static void
ring_into_call (OiCalls * self, Call * call)
{
  g_autoptr (GstElement) snapshot = NULL;

  if (!call->answered || count_peers (call, TRUE) > 0) {
    g_message ("bell pressed during call %u: its ring targets are ringing",
        call->id);
    return;
  }
  if (count_peers (call, FALSE) >= self->config->max_peers) {
    g_message ("bell pressed during call %u: it has %u peers, the most "
        "allowed ([limits] peers)", call->id, count_peers (call, FALSE));
    return;
  }
  g_message ("bell pressed during call %u: ringing %u target(s) to join",
      call->id, g_strv_length (self->config->ring));
  snapshot = gst_bin_get_by_name (GST_BIN (call->pipeline), "snapshot");
  if (snapshot == NULL || !GST_IS_APP_SINK (snapshot)) {
    ring_targets (self, call, FALSE, TRUE);
    return;
  }
  ring_targets (self, call, TRUE, TRUE);
  start_snapshot (self, call, snapshot);
}

void
oi_calls_bell (OiCalls * self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) snapshot = NULL;
  Call *call;

  if (self->shutting_down)
    return;
  if (self->config->ring[0] == NULL) {
    g_message ("bell pressed; no ring targets configured ([calls] ring)");
    return;
  }
  if (self->call) {
    ring_into_call (self, self->call);
    return;
  }
  if (self->stopping->len > 0) {
    /* The last call's pipeline still holds the camera: a moment. */
    g_message ("bell pressed: ringing once the last call has stopped");
    self->bell_pending = TRUE;
    return;
  }
  call = start_call (self, MODE_BELL, &error);
  if (call == NULL) {
    g_warning ("bell pressed but the call cannot start: %s", error->message);
    return;
  }
  g_message ("bell pressed: call %u rings %u target(s)", call->id,
      g_strv_length (self->config->ring));
  snapshot = gst_bin_get_by_name (GST_BIN (call->pipeline), "snapshot");
  if (snapshot == NULL || !GST_IS_APP_SINK (snapshot)) {
    ring_targets (self, call, FALSE, FALSE);
    return;
  }
  ring_targets (self, call, TRUE, FALSE);
  if (self->call != call)
    return;                     /* no target could be called: ended */
  start_snapshot (self, call, snapshot);
}

static void
pending_invite_free (gpointer data)
{
  PendingInvite *p = data;

  g_object_unref (p->connection);
  g_free (p->caller);
  g_free (p->callee);
  g_free (p);
}

/* Starts the call to the door from @caller (the allow-lists passed), or
 * joins the running one if it has room. */
static void
accept_invite (OiCalls * self, WspConnection * connection,
    const gchar * caller, const gchar * callee)
{
  g_autoptr (GError) error = NULL;
  gboolean accepted = FALSE;
  Call *call = self->call;
  Peer *peer;

  if (count_peers (call, FALSE) >= self->config->max_peers) {
    g_message ("call from %s refused: %u peers in the call already "
        "([limits] peers)", caller, count_peers (call, FALSE));
    wsp_connection_send_bye_and_close (connection, WSP_BYE_BUSY, NULL);
    return;
  }
  if (call == NULL && !(call = start_call (self, MODE_DOOR, &error))) {
    g_warning ("call from %s cannot start: %s", caller, error->message);
    wsp_connection_send_bye_and_close (connection, WSP_BYE_INTERNAL_ERROR,
        NULL);
    return;
  }
  peer = add_peer (self, call, caller, call->peers->len ? ROLE_VIEWER :
      ROLE_MAIN);
  if (peer && start_peer (call, peer))
    g_signal_emit_by_name (peer->signaller, "accept-call", connection,
        caller, callee, &accepted);
  if (!accepted) {
    wsp_connection_send_bye_and_close (connection, WSP_BYE_INTERNAL_ERROR,
        NULL);
    if (peer)
      peer_ended (self, call, peer, WSP_BYE_INTERNAL_ERROR, "not accepted",
          FALSE, FALSE);
    return;
  }
  g_message ("call %u: %s calls the door (%s)", call->id, caller,
      peer->role == ROLE_VIEWER ? "viewer" : "main");
}

void
oi_calls_incoming (OiCalls * self, WspConnection * connection,
    const WspMessage * invite, const gchar * identity)
{
  GSocketAddress *remote = wsp_connection_get_remote_address (connection);
  PendingInvite *pending;

  /* The router checked that caller.uri is the socket's identity (or, for
   * a peer station, at its host). */
  identity = invite->invite.caller.uri;
  if (!oi_config_caller_allowed (self->config, identity, remote)) {
    g_autofree gchar *address = remote && G_IS_INET_SOCKET_ADDRESS (remote) ?
        g_inet_address_to_string (g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (remote))) : g_strdup ("?");

    g_message ("call from %s at %s refused: not in the allow-lists",
        identity, address);
    wsp_connection_send_bye_and_close (connection, WSP_BYE_FORBIDDEN, NULL);
    return;
  }
  if (self->shutting_down) {
    wsp_connection_send_bye_and_close (connection, WSP_BYE_INTERNAL_ERROR,
        "the door station stops");
    return;
  }
  if (self->call || self->stopping->len == 0) {
    accept_invite (self, connection, invite->invite.caller.uri,
        invite->invite.callee.uri);
    return;
  }
  /* The last call's pipeline still holds the camera: a moment. */
  g_message ("call from %s: answered once the last call has stopped",
      identity);
  pending = g_new0 (PendingInvite, 1);
  pending->connection = g_object_ref (connection);
  pending->caller = g_strdup (invite->invite.caller.uri);
  pending->callee = g_strdup (invite->invite.callee.uri);
  g_ptr_array_add (self->pending_invites, pending);
}

void
oi_calls_io_event (OiCalls * self, OiIoEventKind kind, const gchar * name,
    gboolean active, gint64 time)
{
  g_autoptr (WspIoMessage) message = NULL;

  if (self->call == NULL)
    return;
  message = kind == OI_IO_INPUT ? wsp_io_message_new_input (name, active,
      time) : wsp_io_message_new_relay_event (name, active, time);
  for (guint i = 0; i < self->call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (self->call->peers, i);

    if (peer->connected && !peer->ended)
      send_io (peer, message);
  }
}

void
oi_calls_hangup_all (OiCalls * self)
{
  end_call (self, WSP_BYE_NORMAL, "hung up at the door");
}

static const gchar *
mode_name (CallMode mode)
{
  return mode == MODE_BELL ? "bell" : "door";
}

void
oi_calls_add_state_json (OiCalls * self, JsonBuilder * b)
{
  Call *call = self->call;

  json_builder_set_member_name (b, "calls");
  json_builder_begin_array (b);
  if (call) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, call->id);
    json_builder_set_member_name (b, "mode");
    json_builder_add_string_value (b, mode_name (call->mode));
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, call->answered ? "connected" :
        "ringing");
    json_builder_set_member_name (b, "since");
    json_builder_add_int_value (b, call->started);
    json_builder_set_member_name (b, "codec");
    json_builder_add_string_value (b, call->codec);
    json_builder_set_member_name (b, "audio_in_db");
    if (call->level_time > g_get_monotonic_time () - LEVEL_WINDOW_US)
      json_builder_add_double_value (b, call->level_db);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "peers");
    json_builder_begin_array (b);
    for (guint i = 0; i < call->peers->len; i++) {
      Peer *peer = g_ptr_array_index (call->peers, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "uri");
      json_builder_add_string_value (b, peer->uri);
      json_builder_set_member_name (b, "role");
      json_builder_add_string_value (b, peer->role == ROLE_VIEWER ? "viewer"
          : "main");
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, peer->connected ? "connected" :
          "ringing");
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

void
oi_calls_add_history_json (OiCalls * self, JsonBuilder * b)
{

  json_builder_set_member_name (b, "calls");
  json_builder_begin_array (b);
  for (GList * l = self->history.head; l; l = l->next) {
    HistoryEntry *entry = l->data;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, entry->id);
    json_builder_set_member_name (b, "time");
    json_builder_add_int_value (b, entry->time);
    json_builder_set_member_name (b, "mode");
    json_builder_add_string_value (b, mode_name (entry->mode));
    json_builder_set_member_name (b, "peers");
    json_builder_begin_array (b);
    for (guint i = 0; entry->peers[i]; i++)
      json_builder_add_string_value (b, entry->peers[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "answered");
    json_builder_add_boolean_value (b, entry->answered);
    json_builder_set_member_name (b, "duration");
    json_builder_add_int_value (b, entry->duration);
    json_builder_set_member_name (b, "end");
    json_builder_add_int_value (b, entry->end_code);
    json_builder_set_member_name (b, "lost");
    json_builder_add_boolean_value (b, entry->lost);
    json_builder_set_member_name (b, "snapshot");
    if (entry->snapshot) {
      g_autofree gchar *url = g_strdup_printf
          ("/api/v1/history/%u/snapshot.jpg", entry->id);

      json_builder_add_string_value (b, url);
    } else {
      json_builder_add_null_value (b);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

GBytes *
oi_calls_get_snapshot (OiCalls * self, guint id)
{
  if (self->call && self->call->id == id && self->call->snapshot)
    return g_bytes_ref (self->call->snapshot);
  for (GList * l = self->history.head; l; l = l->next) {
    HistoryEntry *entry = l->data;

    if (entry->id == id && entry->snapshot)
      return g_bytes_ref (entry->snapshot);
  }
  return NULL;
}

/* Whether the bell rings another station (over TLS). */
static gboolean
rings_elsewhere (const OiConfig * c)
{
  for (guint i = 0; c->ring[i]; i++) {
    const gchar *at = strchr (c->ring[i], '@');

    if (at && g_ascii_strcasecmp (at + 1, c->host) != 0)
      return TRUE;
  }
  return FALSE;
}

/* Load every library a call needs now, not at the first ring: making the
 * call's elements (left in NULL) and a signaller loads their plugins and
 * the codecs', which the first visitor after a start would otherwise wait
 * for, at the price of idle RSS. Not dtlsdec: its first instance
 * generates the process's DTLS certificate, paid by the first call after
 * a start, and having it here would cost more idle RSS still. The TLS
 * client only when the bell rings another station: this station's own
 * users are reached in the process (4 MB of idle RSS, mostly the parsed
 * CA bundle). Figures and how they were taken: BENCHMARKS.md. Errors show
 * at the call. */
static void
warm_up (const OiConfig * c)
{
  static const gchar *features[] = { "wspsignaller",
    /* the snapshot's conversion */
    "videoconvertscale", "jpegenc", NULL
  };
  gint64 start = g_get_monotonic_time ();
  const gchar *codec = NULL;
  g_autofree gchar *text = oi_calls_pipeline_text (c, &codec, NULL);
  GstElement *pipeline = text ? gst_parse_launch_full (text, NULL,
      GST_PARSE_FLAG_FATAL_ERRORS, NULL) : NULL;
  GTlsBackend *backend;
  GTlsDatabase *database;

  gst_clear_object (&pipeline);
  for (guint i = 0; features[i]; i++) {
    GstElement *element = gst_element_factory_make (features[i], NULL);

    gst_clear_object (&element);
  }
  /* The ring's WebSocket client: its session's and TLS client's classes,
   * and the default TLS database (the system CA bundle, parsed), which the
   * first TLS client connection of a process otherwise makes even when it
   * pins its peer, making the first ring's connection the slowest. (Each
   * connection still parses the bundle once more in glib-networking's own
   * set-up: docs/intercomd.md.) */
  if (rings_elsewhere (c)) {
    g_object_unref (soup_session_new ());
    backend = g_tls_backend_get_default ();
    g_type_ensure (g_tls_backend_get_client_connection_type (backend));
    database = g_tls_backend_get_default_database (backend);
    if (database)
      g_tls_backend_set_default_database (backend, database);
    g_clear_object (&database);
  }
  /* What the parse and the elements freed goes back now. */
  trim_memory ();
  g_debug ("warm start: %" G_GINT64_FORMAT " ms",
      (g_get_monotonic_time () - start) / 1000);
}

OiCalls *
oi_calls_new (const OiConfig * config, OiIo * io)
{
  OiCalls *self = g_new0 (OiCalls, 1);

  warm_up (config);

  self->config = config;
  self->io = io;
  g_queue_init (&self->history);
  g_mutex_init (&self->lock);
  self->stopping = g_ptr_array_new ();
  self->pending_invites = g_ptr_array_new_with_free_func
      (pending_invite_free);
  return self;
}

void
oi_calls_set_config (OiCalls * self, const OiConfig * config)
{
  self->config = config;
}

void
oi_calls_shutdown (OiCalls * self)
{
  self->shutting_down = TRUE;
  g_ptr_array_set_size (self->pending_invites, 0);
  end_call_full (self, WSP_BYE_NORMAL, "the door station stops", TRUE);
  /* Pipelines still stopping finish on this context (a callee's stop
   * runs here, and so does teardown_done). Owned throughout: between two
   * iterations a teardown thread could otherwise take it and run that
   * callee's libsoup calls itself. */
  g_main_context_acquire (NULL);
  while (self->stopping->len > 0)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_release (NULL);
}

void
oi_calls_free (OiCalls * self)
{
  if (self == NULL)
    return;
  oi_calls_shutdown (self);
  g_queue_clear_full (&self->history, history_entry_free);
  g_ptr_array_unref (self->stopping);
  g_ptr_array_unref (self->pending_invites);
  g_mutex_clear (&self->lock);
  g_free (self);
}
