/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The call of a wspsignaller, whichever role it plays: the signalling
 * context its work runs on, the timer of each phase, the incoming WSP
 * messages (ringing, offer, answer, candidates, bye), the socket before the
 * hand-over, what webrtcbin reports (local candidates, connection state),
 * the peer watch, and the end of a call (bye, the `wsp-ended` message,
 * EOS). How a call starts is the caller's and the callee's
 * (gstwspcaller.c, gstwspcallee.c); the media and the SDP are
 * gstwspmedia.c's; the data channels gstwsphandover.c's and
 * gstwspiochannel.c's. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

#include <gst/sdp/sdp.h>

typedef struct
{
  GstWspSignaller *self;
  guint generation;
  ContextFunc func;
  gpointer data;
  GDestroyNotify destroy;
} ContextCall;

static void
context_call_free (gpointer data)
{
  ContextCall *call = data;

  if (call->destroy)
    call->destroy (call->data);
  gst_object_unref (call->self);
  g_free (call);
}

static gboolean
context_call_dispatch (gpointer data)
{
  ContextCall *call = data;
  gboolean current;

  g_mutex_lock (&call->self->lock);
  current = call->generation == call->self->generation;
  g_mutex_unlock (&call->self->lock);
  if (current)
    call->func (call->self, call->data);
  return G_SOURCE_REMOVE;
}

/* Queues @func on the signalling context (always later, never inline:
 * webrtcbin's threads call this, pitfall 13). Dropped if the call has been
 * stopped since. */
void
gst_wsp_run_on_context (GstWspSignaller * self, ContextFunc func, gpointer data,
    GDestroyNotify destroy)
{
  ContextCall *call;
  GMainContext *context;
  GSource *source;

  g_mutex_lock (&self->lock);
  context = self->context ? g_main_context_ref (self->context) : NULL;
  call = g_new0 (ContextCall, 1);
  call->generation = self->generation;
  g_mutex_unlock (&self->lock);

  call->self = gst_object_ref (self);
  call->func = func;
  call->data = data;
  call->destroy = destroy;
  if (context == NULL) {
    context_call_free (call);
    return;
  }
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, context_call_dispatch, call,
      context_call_free);
  g_source_attach (source, context);
  g_source_unref (source);
  g_main_context_unref (context);
}

typedef struct
{
  ContextFunc func;
  GMutex lock;
  GCond cond;
  gboolean done;
} SyncCall;

static void
sync_call_run (GstWspSignaller * self, gpointer data)
{
  SyncCall *sync = data;

  sync->func (self, NULL);
  g_mutex_lock (&sync->lock);
  sync->done = TRUE;
  g_cond_signal (&sync->cond);
  g_mutex_unlock (&sync->lock);
}

/* Runs @func on the signalling context and waits for it: inline when this
 * thread may own the context, else through it. */
void
gst_wsp_run_on_context_sync (GstWspSignaller * self, ContextFunc func)
{
  GMainContext *context;
  SyncCall sync = { func, };

  g_mutex_lock (&self->lock);
  context = self->context ? g_main_context_ref (self->context) : NULL;
  g_mutex_unlock (&self->lock);
  if (context == NULL)
    return;

  if (g_main_context_acquire (context)) {
    g_main_context_push_thread_default (context);
    func (self, NULL);
    g_main_context_pop_thread_default (context);
    g_main_context_release (context);
  } else {
    g_mutex_init (&sync.lock);
    g_cond_init (&sync.cond);
    gst_wsp_run_on_context (self, sync_call_run, &sync, NULL);
    g_mutex_lock (&sync.lock);
    while (!sync.done)
      g_cond_wait (&sync.cond, &sync.lock);
    g_mutex_unlock (&sync.lock);
    g_mutex_clear (&sync.lock);
    g_cond_clear (&sync.cond);
  }
  g_main_context_unref (context);
}

/* Messages to the application */

void
gst_wsp_call_post (GstWspSignaller * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Timers: one at a time, for the phase the call is in. */

void
gst_wsp_call_cancel_timer (GstWspSignaller * self)
{
  if (self->timer) {
    g_source_destroy (self->timer);
    g_clear_pointer (&self->timer, g_source_unref);
  }
}

static gboolean
timer_fired (gpointer data)
{
  GstWspSignaller *self = data;
  const gchar *what;

  switch (self->state) {
    case CALL_INVITING:
      what = "no ringing";
      break;
    case CALL_RINGING:
      what = "no answer";
      break;
    default:
      /* Connected once (the peer is watched): it went away. */
      self->lost = self->peer_watch != NULL;
      what = self->lost ? "ICE disconnected" : "ICE did not connect";
      break;
  }
  g_clear_pointer (&self->timer, g_source_unref);
  GST_INFO_OBJECT (self, "timeout: %s", what);
  gst_wsp_call_end (self, WSP_BYE_TIMEOUT, what, FALSE, TRUE);
  return G_SOURCE_REMOVE;
}

void
gst_wsp_call_start_timer (GstWspSignaller * self, guint seconds)
{
  gst_wsp_call_cancel_timer (self);
  if (seconds == 0)
    return;
  self->timer = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (self->timer, timer_fired, self, NULL);
  g_source_attach (self->timer, self->context);
}

guint
gst_wsp_call_get_timeout (GstWspSignaller * self, guint * field)
{
  guint value;

  GST_OBJECT_LOCK (self);
  value = *field;
  GST_OBJECT_UNLOCK (self);
  return value;
}

/* Sending: on the WebSocket until the hand-over, then on the data channel */

void
gst_wsp_call_send (GstWspSignaller * self, const WspMessage * msg)
{
  g_autofree gchar *text = NULL;

  if (self->transferred && self->wsp_channel) {
    g_autoptr (GError) error = NULL;

    text = wsp_message_serialize (msg);
    if (text && !gst_webrtc_data_channel_send_string_full (self->wsp_channel,
            text, &error))
      GST_WARNING_OBJECT (self, "cannot send %s on the wsp channel: %s",
          wsp_message_type_to_keyword (msg->type), error->message);
  } else if (self->connection && wsp_connection_is_open (self->connection)) {
    wsp_connection_send (self->connection, msg);
  } else {
    GST_DEBUG_OBJECT (self, "no signalling path for %s",
        wsp_message_type_to_keyword (msg->type));
  }
}

void
gst_wsp_call_drop_connection (GstWspSignaller * self)
{
  if (self->connection == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->connection, self);
  if (wsp_connection_is_open (self->connection))
    wsp_connection_close (self->connection);
  g_clear_object (&self->connection);
}

/* Media end: EOS downstream of the source pads and into webrtcbin, so a
 * gst-launch-1.0 pipeline ends with the call. On a thread of its own,
 * never the signalling thread: a push can wait on a paused sink, and a
 * state change may be waiting for the signalling thread. Deactivating the
 * pads releases a waiting push; PAUSED -> READY then joins the thread. Not
 * GStreamer's pool: the push runs DTLS (OpenSSL thread state), and a pool
 * thread still alive at process exit crashes in OpenSSL's cleanup. */
static gpointer
push_eos (gpointer data)
{
  GstWspSignaller *self = data;
  GstElement *element = GST_ELEMENT (self);
  g_autoptr (GPtrArray) pads = g_ptr_array_new_with_free_func
      (gst_object_unref);
  GstIterator *it;
  GValue item = G_VALUE_INIT;

  /* Into webrtcbin's pads of the matched streams, collected under the
   * lock, sent outside it (an unmatched stream stays blocked: unlinked, it
   * would error). Not through the element's queues: one that saw EOS
   * answers EOS to what still comes, which a buffer that passed the sink
   * pad's drop_outside_call() just before could carry up into a tee. */
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len; i++) {
    SinkStream *stream = g_ptr_array_index (self->streams, i);

    if (stream->webrtc_pad != NULL)
      g_ptr_array_add (pads, gst_object_ref (stream->webrtc_pad));
  }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < pads->len; i++)
    gst_pad_send_event (g_ptr_array_index (pads, i), gst_event_new_eos ());

  it = gst_element_iterate_src_pads (element);
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    gst_pad_push_event (g_value_get_object (&item), gst_event_new_eos ());
    g_value_reset (&item);
  }
  gst_iterator_free (it);

  /* webrtcbin's own network sinks never see an EOS (its transport and data
   * channels stay up until it stops), so the bin says it for them: the
   * call, and with it this element's stream, is over. */
  gst_element_post_message (element, gst_message_new_eos (GST_OBJECT
          (element)));
  gst_object_unref (self);
  return NULL;
}

static void
end_media (GstWspSignaller * self)
{
  GThread *thread;
  GThread *previous;

  /* From now on the sink pads drop what comes (drop_outside_call()). */
  GST_OBJECT_LOCK (self);
  self->media_ended = TRUE;
  GST_OBJECT_UNLOCK (self);
  thread = g_thread_new ("wspsignaller-eos", push_eos, gst_object_ref (self));

  g_mutex_lock (&self->lock);
  previous = self->eos_thread;
  self->eos_thread = thread;
  g_mutex_unlock (&self->lock);
  /* A previous call's thread (listen role, no stop in between) finished
   * its pushes long ago. */
  if (previous)
    g_thread_join (previous);
}

/* After PAUSED -> READY deactivated the pads (which releases a push that
 * waits on a paused sink): the EOS thread is done once the element is
 * stopped. */
void
gst_wsp_call_wait_for_eos_pushes (GstWspSignaller * self)
{
  GThread *thread;

  g_mutex_lock (&self->lock);
  thread = g_steal_pointer (&self->eos_thread);
  g_mutex_unlock (&self->lock);
  if (thread)
    g_thread_join (thread);
}

/* Ends the call: @remote if the peer ended it (no bye sent back), else a
 * bye goes out if @send_bye. A @failure (ours: a timeout, a bad message,
 * an unreachable server) also posts an ERROR; an end the application
 * chose, whatever its code, does not. */
static void
end_call_full (GstWspSignaller * self, WspByeCode code,
    const gchar * description, gboolean remote, gboolean send_bye,
    gboolean failure)
{
  if (self->state == CALL_ENDED || self->state == CALL_IDLE)
    return;

  GST_INFO_OBJECT (self, "call ended by %s: %d %s", remote ? "peer" : "us",
      code, GST_STR_NULL (description));
  if (description == NULL)
    description = wsp_bye_code_to_string (code);
  if (send_bye && !remote) {
    g_autoptr (WspMessage) bye = wsp_message_new_bye (code, description);

    /* A description from elsewhere (a parser's error text) may be too long
     * or hold control characters: then the code's own text goes. */
    if (!wsp_message_validate (bye, NULL)) {
      wsp_message_free (bye);
      bye = wsp_message_new_bye (code, wsp_bye_code_to_string (code));
    }
    gst_wsp_call_send (self, bye);
    if (self->stopping && self->transferred && self->wsp_channel)
      gst_wsp_handover_close_channel (self, 2000);
  }
  self->state = CALL_ENDED;
  gst_wsp_call_cancel_timer (self);
  g_clear_pointer (&self->peer_watch, gst_wsp_peer_watch_free);
  gst_wsp_io_cancel_wait (self);
  gst_wsp_call_drop_connection (self);
  g_cancellable_cancel (self->cancellable);
  g_mutex_lock (&self->lock);
  self->io_open = FALSE;
  g_mutex_unlock (&self->lock);

  gst_wsp_call_post (self, gst_structure_new ("wsp-ended",
          "code", G_TYPE_INT, (gint) code,
          "description", G_TYPE_STRING, description,
          "remote", G_TYPE_BOOLEAN, remote,
          "lost", G_TYPE_BOOLEAN, self->lost, NULL));
  if (failure)
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("WSP call failed: %d %s", code, description), (NULL));
  /* While stopping, the state change tears the media down; pushing EOS
   * then could wait on a streaming thread that waits on us. */
  if (!self->stopping)
    end_media (self);
}

/* A local end with any code but 200 is a failure. */
void
gst_wsp_call_end (GstWspSignaller * self, WspByeCode code,
    const gchar * description, gboolean remote, gboolean send_bye)
{
  end_call_full (self, code, description, remote, send_bye, !remote &&
      code != WSP_BYE_NORMAL);
}

static gboolean
parse_sdp (const gchar * text, GstSDPMessage ** sdp)
{
  if (gst_sdp_message_new_from_text (text, sdp) != GST_SDP_OK)
    return FALSE;
  if (gst_sdp_message_medias_len (*sdp) == 0) {
    g_clear_pointer (sdp, gst_sdp_message_free);
    return FALSE;
  }
  return TRUE;
}

void
gst_wsp_call_handle_message (GstWspSignaller * self, const WspMessage * msg)
{
  GstSDPMessage *sdp = NULL;

  GST_DEBUG_OBJECT (self, "received %s in state %d",
      wsp_message_type_to_keyword (msg->type), self->state);

  if (self->state == CALL_ENDED)
    return;

  switch (msg->type) {
    case WSP_MESSAGE_RINGING:
      if (!self->is_caller || self->state != CALL_INVITING)
        goto unexpected;
      self->state = CALL_RINGING;
      gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
              &self->answer_timeout));
      gst_wsp_call_post (self, gst_structure_new ("wsp-ringing", "caller",
              G_TYPE_STRING, self->caller_uri, "callee", G_TYPE_STRING,
              self->callee_uri, NULL));
      break;
    case WSP_MESSAGE_OFFER:
      /* A callee may offer without ringing first. */
      if (!self->is_caller || (self->state != CALL_RINGING &&
              self->state != CALL_INVITING))
        goto unexpected;
      if (!parse_sdp (msg->sdp.sdp, &sdp))
        goto bad_sdp;
      self->state = CALL_NEGOTIATING;
      gst_wsp_call_cancel_timer (self);
      self->offer = sdp;
      self->want_sdp = TRUE;
      gst_sdp_message_copy (self->offer, &sdp);
      gst_wsp_media_set_remote_description (self, GST_WEBRTC_SDP_TYPE_OFFER,
          sdp);
      break;
    case WSP_MESSAGE_ANSWER:
      if (self->is_caller || self->state != CALL_RINGING || self->want_sdp)
        goto unexpected;
      if (!parse_sdp (msg->sdp.sdp, &sdp))
        goto bad_sdp;
      self->state = CALL_NEGOTIATING;
      gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
              &self->ice_timeout));
      gst_wsp_media_set_remote_description (self, GST_WEBRTC_SDP_TYPE_ANSWER,
          sdp);
      break;
    case WSP_MESSAGE_ICE_CANDIDATE:
      if (self->remote_set)
        gst_wsp_media_add_candidate (self, msg);
      else if (self->pending_candidates->len < 256)
        g_ptr_array_add (self->pending_candidates,
            wsp_message_new_ice_candidate (msg->ice.candidate,
                msg->ice.sdp_mid, msg->ice.sdp_mline_index));
      break;
    case WSP_MESSAGE_BYE:
      if (msg->bye.code == WSP_BYE_TRANSFERRED) {
        /* Either side may send it: switch to the data channel. */
        if (self->wsp_channel == NULL)
          goto unexpected;
        gst_wsp_handover_transfer (self);
        break;
      }
      gst_wsp_call_end (self, msg->bye.code, msg->bye.description, TRUE, FALSE);
      break;
    case WSP_MESSAGE_INVITE:
    case WSP_MESSAGE_REGISTER:
    case WSP_MESSAGE_REGISTERED:
      goto unexpected;
  }
  return;

  /* ERRORS */
unexpected:
  {
    g_autofree gchar *description = g_strdup_printf ("unexpected %s",
        wsp_message_type_to_keyword (msg->type));

    GST_WARNING_OBJECT (self, "%s in state %d", description, self->state);
    gst_wsp_call_end (self, WSP_BYE_BAD_REQUEST, description, FALSE, TRUE);
    return;
  }
bad_sdp:
  GST_WARNING_OBJECT (self, "unusable SDP");
  gst_wsp_call_end (self, WSP_BYE_BAD_REQUEST, "unusable SDP", FALSE, TRUE);
}

static void
connection_message (WspConnection * connection, WspMessage * msg,
    GstWspSignaller * self)
{
  gst_wsp_call_handle_message (self, msg);
}

static void
connection_protocol_error (WspConnection * connection, GError * error,
    GstWspSignaller * self)
{
  /* The connection has sent the bye itself. */
  GST_WARNING_OBJECT (self, "peer sent a bad message: %s", error->message);
  gst_wsp_call_end (self, wsp_error_to_bye_code (error), error->message, FALSE,
      FALSE);
}

static void
connection_closed (WspConnection * connection, guint code,
    GstWspSignaller * self)
{
  if (self->transferred)
    return;
  GST_INFO_OBJECT (self, "the WebSocket closed before the hand-over");
  self->lost = TRUE;
  gst_wsp_call_end (self, WSP_BYE_TIMEOUT, "the peer went away", FALSE, FALSE);
}

void
gst_wsp_call_watch_connection (GstWspSignaller * self,
    WspConnection * connection)
{
  self->connection = g_object_ref (connection);
  g_signal_connect (connection, "message", G_CALLBACK (connection_message),
      self);
  g_signal_connect (connection, "protocol-error",
      G_CALLBACK (connection_protocol_error), self);
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed), self);
}

/* webrtcbin's own signals, all from its threads */

typedef struct
{
  guint mline;
  gchar *candidate;
} Candidate;

static void
candidate_free (gpointer data)
{
  Candidate *c = data;

  g_free (c->candidate);
  g_free (c);
}

static void
on_local_candidate (GstWspSignaller * self, gpointer data)
{
  Candidate *c = data;
  g_autoptr (WspMessage) msg = NULL;

  if (self->state == CALL_ENDED)
    return;
  /* The m-line index only: webrtcbin does not say which mid it used, and a
   * browser trusts sdpMid over the index. */
  msg = wsp_message_new_ice_candidate (c->candidate, NULL, c->mline);
  gst_wsp_call_send (self, msg);
}

void
gst_wsp_call_on_ice_candidate (GstElement * webrtc, guint mline,
    gchar * candidate, GstWspSignaller * self)
{
  Candidate *c = g_new0 (Candidate, 1);

  c->mline = mline;
  c->candidate = g_strdup (candidate);
  gst_wsp_run_on_context (self, on_local_candidate, c, candidate_free);
}

static void
peer_vanished (gpointer data, guint silent_ms)
{
  GstWspSignaller *self = data;
  g_autofree gchar *why = g_strdup_printf ("the peer vanished (nothing "
      "received for %u.%u s)", silent_ms / 1000, silent_ms % 1000 / 100);

  GST_INFO_OBJECT (self, "%s", why);
  self->lost = TRUE;
  /* The bye goes out where a path is left (a peer whose network comes
   * back reads it); nobody waits for it. */
  gst_wsp_call_end (self, WSP_BYE_TIMEOUT, why, FALSE, TRUE);
}

static void
start_peer_watch (GstWspSignaller * self)
{
  guint timeout = gst_wsp_call_get_timeout (self, &self->peer_timeout);

  if (timeout == 0 || self->peer_watch != NULL)
    return;
  self->peer_watch = gst_wsp_peer_watch_new (self->webrtcbin,
      timeout * 1000, self->context, peer_vanished, self);
}

static void
on_connection_state (GstWspSignaller * self, gpointer data)
{
  GstWebRTCPeerConnectionState state = GPOINTER_TO_INT (data);

  /* A report queued before a stop (or after the call ended) brings no call
   * back: a "connected" here would start a peer watch for nothing. */
  if (self->state == CALL_ENDED || self->state == CALL_IDLE || self->stopping)
    return;
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
      self->state != CALL_CONNECTED) {
    self->state = CALL_CONNECTED;
    gst_wsp_call_cancel_timer (self);
    start_peer_watch (self);
    GST_INFO_OBJECT (self, "connected");
    gst_wsp_call_post (self, gst_structure_new_empty ("wsp-connected"));
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    /* Connected once (the peer is watched): it went away. */
    self->lost = self->peer_watch != NULL;
    gst_wsp_call_end (self, WSP_BYE_TIMEOUT, "ICE failed", FALSE, TRUE);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED &&
      self->state == CALL_CONNECTED) {
    /* A peer that vanished: give ICE its timeout to come back. */
    self->state = CALL_NEGOTIATING;
    gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
            &self->ice_timeout));
  }
}

void
gst_wsp_call_on_connection_state (GObject * webrtc, GParamSpec * pspec,
    GstWspSignaller * self)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  gst_wsp_run_on_context (self, on_connection_state, GINT_TO_POINTER (state),
      NULL);
}

/* Stopping */

/* Ends the call (bye 200) and resets for the next one. */
static void
reset_call (GstWspSignaller * self)
{
  if (self->state != CALL_IDLE && self->state != CALL_ENDED)
    gst_wsp_call_end (self, WSP_BYE_NORMAL, NULL, FALSE, TRUE);
  gst_wsp_call_cancel_timer (self);
  gst_wsp_io_cancel_wait (self);
  gst_wsp_call_drop_connection (self);
  if (self->wsp_channel) {
    g_signal_handlers_disconnect_by_data (self->wsp_channel, self);
    g_clear_object (&self->wsp_channel);
  }
  gst_wsp_io_unwatch_channel (self);
  self->io_announced = FALSE;
  g_ptr_array_set_size (self->pending_candidates, 0);
  g_clear_pointer (&self->offer, gst_sdp_message_free);
  g_clear_pointer (&self->caller_uri, g_free);
  g_clear_pointer (&self->callee_uri, g_free);
  self->state = CALL_IDLE;
  self->lost = FALSE;
  self->transferred = FALSE;
  self->remote_set = FALSE;
  self->want_sdp = FALSE;
  self->media_ready = FALSE;
}

void
gst_wsp_call_stop (GstWspSignaller * self, gpointer data)
{
  self->stopping = TRUE;
  reset_call (self);
  while (self->waiting->len > 0) {
    g_autoptr (WspConnection) connection =
        g_object_ref (g_ptr_array_index (self->waiting, 0));

    gst_wsp_callee_stop_waiting (self, connection);
    wsp_connection_close (connection);
  }
  if (self->server) {
    soup_server_disconnect (self->server);
    g_clear_object (&self->server);
  }
}

static void
hangup_on_context (GstWspSignaller * self, gpointer data)
{
  gst_wsp_call_end (self, WSP_BYE_NORMAL, NULL, FALSE, TRUE);
}

void
gst_wsp_call_hangup (GstWspSignaller * self)
{
  gst_wsp_run_on_context (self, hangup_on_context, NULL, NULL);
}

typedef struct
{
  WspByeCode code;
  gchar *description;
} EndRequest;

static void
end_request_free (gpointer data)
{
  EndRequest *request = data;

  g_free (request->description);
  g_free (request);
}

static void
end_call_on_context (GstWspSignaller * self, gpointer data)
{
  EndRequest *request = data;

  end_call_full (self, request->code, request->description, FALSE, TRUE, FALSE);
}

/* "end-call": a deliberate end, so no ERROR whatever the code. */
void
gst_wsp_call_end_action (GstWspSignaller * self, guint code,
    const gchar * description)
{
  EndRequest *request = g_new0 (EndRequest, 1);
  g_autoptr (WspMessage) bye = NULL;

  if (!wsp_bye_code_is_valid (code) || code == WSP_BYE_TRANSFERRED) {
    GST_WARNING_OBJECT (self, "end-call: %u is not a bye code that ends a "
        "call; using 200", code);
    code = WSP_BYE_NORMAL;
  }
  bye = wsp_message_new_bye (code, description);
  if (description && !wsp_message_validate (bye, NULL)) {
    GST_WARNING_OBJECT (self, "end-call: the description is not valid in a "
        "bye (too long, or control characters); using the code's own");
    description = NULL;
  }
  request->code = code;
  request->description = g_strdup (description);
  gst_wsp_run_on_context (self, end_call_on_context, request, end_request_free);
}
