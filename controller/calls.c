/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls: one media pipeline per call (media.c) and one wspsignaller per
 * peer (peers.c) fed from the pipeline's `video` and `audio` tees (one
 * encode, several peers). This file holds a call's life: mode 1 (bell), a
 * caller element per ring target, the first to answer wins; mode 2
 * (door), the home server hands over an invite for the door, answered by
 * a callee element; while a call runs, a new caller joins it as a viewer.
 * Its end, the pipeline's stop off the main loop, the call's bus, and the
 * state the API shows. */

#include "calls-private.h"

#include <gst/app/gstappsink.h>
#include <string.h>

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
  peer = oi_peer_find_by_element (call, GST_MESSAGE_SRC (message));

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (message);

      if (gst_structure_has_name (s, "level")) {
        oi_media_on_level (call, s);
      } else if (peer && gst_structure_has_name (s, "wsp-ringing")) {
        g_info ("call %u: %s rings", call->id, peer->uri);
      } else if (peer && gst_structure_has_name (s, "wsp-connected")) {
        oi_peer_connected (self, call, peer);
      } else if (peer && gst_structure_has_name (s, "wsp-ended")) {
        gint code = 0;
        gboolean remote = FALSE, lost = FALSE;

        gst_structure_get_int (s, "code", &code);
        gst_structure_get_boolean (s, "remote", &remote);
        gst_structure_get_boolean (s, "lost", &lost);
        oi_peer_ended (self, call, peer, code,
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
        oi_call_end (self, WSP_BYE_INTERNAL_ERROR, error->message);
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static void
call_free (Call * call)
{
  for (guint i = 0; call->peers && i < call->peers->len; i++)
    oi_peer_free (g_ptr_array_index (call->peers, i));
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
  oi_media_trim_memory ();
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
  oi_history_add (self, call);
  self->call = NULL;
  if (wait) {
    teardown_thread (call);
    gst_clear_object (&call->pipeline);
    call_free (call);
    oi_media_trim_memory ();
    return;
  }
  g_ptr_array_add (self->stopping, call);
  call->teardown = g_thread_new ("call-teardown", teardown_and_report, call);
}

void
oi_call_end (OiCalls * self, gint code, const gchar * why)
{
  end_call_full (self, code, why, FALSE);
}

static gboolean
ring_timeout (gpointer data)
{
  OiCalls *self = data;

  self->call->ring_timer = 0;
  oi_call_end (self, WSP_BYE_TIMEOUT, "nobody answered");
  return G_SOURCE_REMOVE;
}

static gboolean
max_call_timeout (gpointer data)
{
  OiCalls *self = data;

  self->call->max_timer = 0;
  oi_call_end (self, WSP_BYE_NORMAL, "the longest call allowed is over");
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
  call->pipeline = oi_media_build_pipeline (self, call, error);
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
    Peer *peer = oi_peer_add (self, call, c->ring[i], ROLE_TARGET);

    if (peer == NULL)
      continue;
    g_object_set (peer->signaller, "target", c->ring[i], "hold-invite", hold,
        NULL);
    if (address_is_local (self, c->ring[i])) {
      /* Our own users: through our own home server, in the process. */
      g_object_set (peer->signaller, "uri",
          WSP_LOCAL_SCHEME "://" OI_HOME_SERVER_NAME, NULL);
    } else if (oi_config_is_home_address (c, c->ring[i])) {
      /* Users at the home server this door registers at: as the door's
       * address there, with its token there. */
      g_object_set (peer->signaller, "uri", c->home_url, "token",
          c->home_token, "pinned-certificate-file", c->home_certificate,
          "local-uri", c->home_uri, NULL);
    } else {
      /* Another station: with its bearer token and pinned certificate. */
      const OiPeer *station = oi_config_find_peer_by_host (c,
          strchr (c->ring[i], '@') + 1);

      if (station)
        g_object_set (peer->signaller, "token", station->token,
            "pinned-certificate-file", station->certificate, NULL);
    }
    if (oi_peer_start (call, peer))
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
    oi_call_end (self, WSP_BYE_INTERNAL_ERROR,
        "no ring target could be called");
    return;
  }
  call->ring_timer = g_timeout_add_seconds (c->ring_timeout + 2,
      ring_timeout, self);
}

/* The bell during a call (docs/intercomd.md, "The bell during a call"):
 * the ring targets' pages that are not in the call ring, and the first to
 * answer joins it as a viewer. */
static void
ring_into_call (OiCalls * self, Call * call)
{
  g_autoptr (GstElement) snapshot = NULL;

  if (!call->answered || oi_peer_count (call, TRUE) > 0) {
    g_message ("bell pressed during call %u: its ring targets are ringing",
        call->id);
    return;
  }
  if (oi_peer_count (call, FALSE) >= self->config->max_peers) {
    g_message ("bell pressed during call %u: it has %u peers, the most "
        "allowed ([limits] peers)", call->id, oi_peer_count (call, FALSE));
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
  oi_media_start_snapshot (self, call, snapshot);
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
  oi_media_start_snapshot (self, call, snapshot);
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

  if (oi_peer_count (call, FALSE) >= self->config->max_peers) {
    g_message ("call from %s refused: %u peers in the call already "
        "([limits] peers)", caller, oi_peer_count (call, FALSE));
    wsp_connection_send_bye_and_close (connection, WSP_BYE_BUSY, NULL);
    return;
  }
  if (call == NULL && !(call = start_call (self, MODE_DOOR, &error))) {
    g_warning ("call from %s cannot start: %s", caller, error->message);
    wsp_connection_send_bye_and_close (connection, WSP_BYE_INTERNAL_ERROR,
        NULL);
    return;
  }
  peer = oi_peer_add (self, call, caller, call->peers->len ? ROLE_VIEWER :
      ROLE_MAIN);
  if (peer && oi_peer_start (call, peer))
    g_signal_emit_by_name (peer->signaller, "accept-call", connection,
        caller, callee, &accepted);
  if (!accepted) {
    wsp_connection_send_bye_and_close (connection, WSP_BYE_INTERNAL_ERROR,
        NULL);
    if (peer)
      oi_peer_ended (self, call, peer, WSP_BYE_INTERNAL_ERROR, "not accepted",
          FALSE, FALSE);
    return;
  }
  g_message ("call %u: %s calls the door (%s)", call->id, caller,
      peer->role == ROLE_VIEWER ? "viewer" : "main");
}

/* An invite for the door from @remote (NULL: through the home server). */
static void
take_invite (OiCalls * self, WspConnection * connection,
    const WspMessage * invite, GSocketAddress * remote)
{
  const gchar *identity = invite->invite.caller.uri;
  PendingInvite *pending;

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
oi_calls_incoming (OiCalls * self, WspConnection * connection,
    const WspMessage * invite, const gchar * identity)
{
  /* The router checked that caller.uri is the socket's identity (or, for
   * a peer station, at its host). */
  take_invite (self, connection, invite,
      wsp_connection_get_remote_address (connection));
}

void
oi_calls_incoming_from_home (OiCalls * self, WspConnection * connection,
    const WspMessage * invite)
{
  /* The home server's router checked the caller against its socket. */
  take_invite (self, connection, invite, NULL);
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
      oi_peer_send_io (peer, message);
  }
}

void
oi_calls_hangup_all (OiCalls * self)
{
  oi_call_end (self, WSP_BYE_NORMAL, "hung up at the door");
}

const gchar *
oi_call_mode_name (CallMode mode)
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
    json_builder_add_string_value (b, oi_call_mode_name (call->mode));
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

OiCalls *
oi_calls_new (const OiConfig * config, OiIo * io)
{
  OiCalls *self = g_new0 (OiCalls, 1);

  oi_media_warm_up (config);

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
  oi_media_warm_up (config);
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
  g_queue_clear_full (&self->history, oi_history_entry_free);
  g_ptr_array_unref (self->stopping);
  g_ptr_array_unref (self->pending_invites);
  g_mutex_clear (&self->lock);
  g_free (self);
}
