/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A call's peers: one wspsignaller each, linked to the call pipeline's
 * tees when it starts and unlinked when it leaves; their io channel
 * (relay commands in, the station's state and events out, each command
 * checked here and carried out by OiIo); which peer is the main one and
 * what a peer's end means for the call. */

#include "calls-private.h"

#include <string.h>

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

Peer *
oi_peer_find_by_element (Call * call, GstObject * element)
{
  for (guint i = 0; call && i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (GST_OBJECT (peer->signaller) == element)
      return peer;
  }
  return NULL;
}

void
oi_peer_send_io (Peer * peer, WspIoMessage * message)
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

    oi_peer_send_io (peer, reply);
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
    oi_peer_send_io (peer, state);
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

/* The [ice] servers (ice.c), with credentials made now: webrtcbin takes
 * one STUN server and one TURN server by property, more TURN servers by
 * its add-turn-server signal; relay-only is its ice-transport-policy. */
static void
apply_ice (OiCalls * self, GstElement * signaller)
{
  const OiConfig *c = self->config;
  g_autoptr (GstElement) webrtcbin = NULL;
  g_autofree gchar *user = NULL;
  g_autofree gchar *password = NULL;
  gboolean stun_set = FALSE, turn_set = FALSE;

  if (c->local_addresses)
    g_object_set (signaller, "local-addresses", c->local_addresses, NULL);
  if (c->ice_servers->len == 0 && !c->relay_only)
    return;
  g_object_get (signaller, "webrtcbin", &webrtcbin, NULL);
  oi_ice_credentials (c, c->door_user, g_get_real_time () / G_USEC_PER_SEC,
      &user, &password);
  for (guint i = 0; i < c->ice_servers->len; i++) {
    const OiIceServer *server = g_ptr_array_index (c->ice_servers, i);
    g_autofree gchar *uri = oi_ice_webrtcbin_uri (server, user, password);
    gboolean added = FALSE;

    if (server->kind == OI_ICE_STUN) {
      if (!stun_set)
        g_object_set (signaller, "stun-server", uri, NULL);
      stun_set = TRUE;
    } else if (!turn_set) {
      g_object_set (signaller, "turn-server", uri, NULL);
      turn_set = TRUE;
    } else {
      g_signal_emit_by_name (webrtcbin, "add-turn-server", uri, &added);
      if (!added)
        g_warning ("webrtcbin refused TURN server %s", server->uri);
    }
  }
  if (c->relay_only)
    gst_util_set_object_arg (G_OBJECT (webrtcbin), "ice-transport-policy",
        "relay");
}

Peer *
oi_peer_add (OiCalls * self, Call * call, const gchar * uri, PeerRole role)
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
gboolean
oi_peer_start (Call * call, Peer * peer)
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

void
oi_peer_free (Peer * peer)
{
  g_signal_handlers_disconnect_by_data (peer->signaller, peer);
  gst_object_unref (peer->signaller);
  g_ptr_array_unref (peer->tee_pads);
  g_ptr_array_unref (peer->extra);
  g_free (peer->uri);
  g_free (peer);
}

void
oi_peer_connected (OiCalls * self, Call * call, Peer * peer)
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

void
oi_peer_ended (OiCalls * self, Call * call, Peer * peer, gint code,
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
    oi_call_end (self, code, main_gone ? (lost ? "the main peer vanished" :
            "the main peer left") : "no peer left");
    return;
  }
  g_ptr_array_remove (call->peers, peer);
  remove_peer (self, call, peer);
  oi_peer_free (peer);
}

guint
oi_peer_count (Call * call, gboolean targets)
{
  guint n = 0;

  for (guint i = 0; call && i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (!peer->ended && (peer->role == ROLE_TARGET) == targets)
      n++;
  }
  return n;
}
