/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The media of a wspsignaller: its sink pads (a queue per stream, blocked
 * until the stream is matched to an m-line), payload type rewriting to the
 * offer's, the transceivers of an offer or an answer, creating and setting
 * the SDP descriptions, remote candidates, and the source pads webrtcbin
 * adds for what is received. Matching codecs in an SDP is gstwspsdp.c's;
 * when to make the offer or answer is decided here, what it leads to
 * (timers, states) in gstwspcall.c. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

#include "gstwspsdp.h"

#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <string.h>

/* The remote description and candidates */

void
gst_wsp_media_add_candidate (GstWspSignaller * self, const WspMessage * msg)
{
  gint mline = msg->ice.sdp_mline_index;

  if (msg->ice.candidate[0] == '\0')
    return;                     /* end of candidates: nothing to do */
  if (mline < 0)
    mline = 0;                  /* max-bundle: every m-line shares one */
  g_signal_emit_by_name (self->webrtcbin, "add-ice-candidate", mline,
      msg->ice.candidate);
}

static void
on_remote_description_set (GstWspSignaller * self, gpointer data)
{
  self->remote_set = TRUE;
  for (guint i = 0; i < self->pending_candidates->len; i++)
    gst_wsp_media_add_candidate (self,
        g_ptr_array_index (self->pending_candidates, i));
  g_ptr_array_set_size (self->pending_candidates, 0);
  if (self->is_caller)
    gst_wsp_media_maybe_create_sdp (self);
}

static void
remote_description_promise (GstPromise * promise, gpointer data)
{
  GstWspSignaller *self = data;

  gst_wsp_run_on_context (self, on_remote_description_set, NULL, NULL);
}

void
gst_wsp_media_set_remote_description (GstWspSignaller * self,
    GstWebRTCSDPType type, GstSDPMessage * sdp)
{
  GstWebRTCSessionDescription *desc;
  GstPromise *promise;

  desc = gst_webrtc_session_description_new (type, sdp);
  promise = gst_promise_new_with_change_func (remote_description_promise,
      gst_object_ref (self), gst_object_unref);
  g_signal_emit_by_name (self->webrtcbin, "set-remote-description", desc,
      promise);
  gst_promise_unref (promise);
  gst_webrtc_session_description_free (desc);
}

static GstWebRTCRTPTransceiver *
pad_transceiver (GstPad * pad)
{
  GstWebRTCRTPTransceiver *transceiver = NULL;

  g_object_get (pad, "transceiver", &transceiver, NULL);
  return transceiver;
}

static void
set_direction (GstPad * webrtc_pad, GstWebRTCRTPTransceiverDirection dir)
{
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = pad_transceiver
      (webrtc_pad);

  if (transceiver)
    g_object_set (transceiver, "direction", dir, NULL);
}

static gboolean
wants_recv (GstWspSignaller * self, const gchar * kind)
{
  gboolean recv;

  GST_OBJECT_LOCK (self);
  recv = g_str_equal (kind, "audio") ? self->recv_audio : self->recv_video;
  GST_OBJECT_UNLOCK (self);
  return recv;
}

static void
add_recv_transceiver (GstWspSignaller * self, GstCaps * caps)
{
  GstWebRTCRTPTransceiver *transceiver = NULL;

  g_signal_emit_by_name (self->webrtcbin, "add-transceiver",
      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &transceiver);
  g_clear_object (&transceiver);
}

static GstBuffer *
set_payload_type (GstBuffer * buffer, gint payload)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  buffer = gst_buffer_make_writable (buffer);
  if (gst_rtp_buffer_map (buffer, GST_MAP_READWRITE, &rtp)) {
    gst_rtp_buffer_set_payload_type (&rtp, payload);
    gst_rtp_buffer_unmap (&rtp);
  }
  return buffer;
}

static gboolean
set_list_payload_type (GstBuffer ** buffer, guint idx, gpointer data)
{
  *buffer = set_payload_type (*buffer, GPOINTER_TO_INT (data));
  return TRUE;
}

/* Rewrites RTP payload types to the offer's (answerer side): in the caps,
 * in buffers and in buffer lists (payloaders push lists for fragmented
 * frames). */
static GstPadProbeReturn
rewrite_payload (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  SinkStream *stream = data;
  gint payload = g_atomic_int_get (&stream->payload);

  if (payload < 0)
    return GST_PAD_PROBE_OK;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GST_PAD_PROBE_INFO_DATA (info) =
        set_payload_type (GST_PAD_PROBE_INFO_BUFFER (info), payload);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list =
        gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));

    gst_buffer_list_foreach (list, set_list_payload_type,
        GINT_TO_POINTER (payload));
    GST_PAD_PROBE_INFO_DATA (info) = list;
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      caps = gst_caps_copy (caps);
      gst_caps_set_simple (caps, "payload", G_TYPE_INT, payload, NULL);
      if (stream->profile_level_id[0])
        gst_caps_set_simple (caps, "profile-level-id", G_TYPE_STRING,
            stream->profile_level_id, NULL);
      gst_event_unref (event);
      GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_caps (caps);
      gst_caps_unref (caps);
    }
  }
  return GST_PAD_PROBE_OK;
}

typedef struct
{
  GstWspSignaller *self;
  SinkStream *stream;
} StreamRef;

static void
on_stream_caps (GstWspSignaller * self, gpointer data)
{
  gst_wsp_media_maybe_create_sdp (self);
}

/* webrtcbin has taken the caps of one of its sink pads: a sink pad stores
 * caps (and notifies) only once its event function accepted them, so an
 * offer or answer made from here on includes the stream. (A probe would
 * run before webrtcbin saw the caps.) */
static void
webrtc_pad_caps (GstPad * pad, GParamSpec * pspec, SinkStream * stream)
{
  /* Caps are also cleared (and notified) when the pad deactivates. */
  if (!gst_pad_has_current_caps (pad))
    return;
  g_mutex_lock (&stream->self->lock);
  stream->has_caps = TRUE;
  g_mutex_unlock (&stream->self->lock);
  GST_DEBUG_OBJECT (stream->self, "webrtcbin took the caps of %s",
      GST_PAD_NAME (stream->ghost));
  gst_wsp_run_on_context (stream->self, on_stream_caps, NULL, NULL);
}

/* Requests webrtcbin's pad for @stream and lets its data through. */
static void
link_stream (GstWspSignaller * self, SinkStream * stream,
    GstWebRTCRTPTransceiverDirection direction)
{
  GstPadTemplate *templ =
      gst_element_get_pad_template (self->webrtcbin, "sink_%u");
  gboolean lip_sync;

  stream->webrtc_pad = gst_element_request_pad (self->webrtcbin, templ, NULL,
      NULL);
  /* Without lip-sync each stream is a MediaStream of its own, so the peer
   * has no audio to hold the video back for (webrtcbin's default: one
   * stream for all). */
  GST_OBJECT_LOCK (self);
  lip_sync = self->lip_sync;
  GST_OBJECT_UNLOCK (self);
  if (!lip_sync) {
    g_autofree gchar *msid = g_strdup_printf ("%s-%s",
        GST_PAD_NAME (stream->ghost), stream->kind);

    g_object_set (stream->webrtc_pad, "msid", msid, NULL);
  }
  g_signal_connect (stream->webrtc_pad, "notify::caps",
      G_CALLBACK (webrtc_pad_caps), stream);
  gst_pad_add_probe (stream->queue_src, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      rewrite_payload, stream, NULL);
  if (gst_pad_link (stream->queue_src, stream->webrtc_pad) != GST_PAD_LINK_OK)
    GST_ERROR_OBJECT (self, "cannot link %s", GST_PAD_NAME (stream->ghost));
  set_direction (stream->webrtc_pad, direction);
  if (stream->block_id) {
    gst_pad_remove_probe (stream->queue_src, stream->block_id);
    stream->block_id = 0;
  }
}

/* Every stream knows its kind and codec (from its payloader's caps). */
static gboolean
all_streams_learned (GstWspSignaller * self)
{
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len && ok; i++) {
    SinkStream *stream = g_ptr_array_index (self->streams, i);

    ok = stream->kind != NULL;
  }
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Answerer: match our streams to the offer, then answer once every linked
 * pad has caps (pitfall 4). */
static void
setup_answer_media (GstWspSignaller * self)
{
  guint64 used = 0;
  gboolean sends[2] = { FALSE, FALSE };

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len; i++) {
    SinkStream *stream = g_ptr_array_index (self->streams, i);
    GstWspSdpMatch match;
    GstWebRTCRTPTransceiverDirection dir;
    gboolean audio;

    if (stream->webrtc_pad)
      continue;
    if (!gst_wsp_sdp_find_codec (self->offer, stream->kind,
            stream->encoding_name, used, &match)) {
      GST_WARNING_OBJECT (self, "the offer has no %s %s: %s not sent",
          stream->kind, stream->encoding_name, GST_PAD_NAME (stream->ghost));
      continue;
    }
    used |= G_GUINT64_CONSTANT (1) << match.mline;
    audio = g_str_equal (stream->kind, "audio");
    sends[audio] = TRUE;
    g_strlcpy (stream->profile_level_id, match.profile_level_id,
        sizeof stream->profile_level_id);
    g_atomic_int_set (&stream->payload, match.payload);
    dir = (match.offered == GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV &&
        wants_recv (self, stream->kind)) ?
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV :
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY;
    GST_INFO_OBJECT (self, "%s: %s %s as PT %d on m-line %u%s%s",
        GST_PAD_NAME (stream->ghost), stream->kind, stream->encoding_name,
        match.payload, match.mline, match.profile_level_id[0] ?
        ", profile-level-id " : "", match.profile_level_id);
    link_stream (self, stream, dir);
  }
  g_mutex_unlock (&self->lock);

  /* m-lines the peer sends that we receive without sending that kind */
  for (guint m = 0; m < gst_sdp_message_medias_len (self->offer) && m < 64;
      m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (self->offer, m);
    const gchar *kind = gst_sdp_media_get_media (media);
    GstWebRTCRTPTransceiverDirection offered = gst_wsp_sdp_direction (media);
    g_autoptr (GstCaps) caps = NULL;

    if ((used & (G_GUINT64_CONSTANT (1) << m)) ||
        gst_wsp_sdp_media_rejected (media) ||
        (g_strcmp0 (kind, "audio") != 0 && g_strcmp0 (kind, "video") != 0) ||
        sends[g_str_equal (kind, "audio")] || !wants_recv (self, kind) ||
        (offered != GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV &&
            offered != GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY))
      continue;
    caps = gst_wsp_sdp_recv_caps (media);
    if (caps)
      add_recv_transceiver (self, caps);
  }
}

/* Offerer: directions from what we send and want to receive; recvonly
 * transceivers for kinds we only receive (add-transceiver only for those:
 * pitfall 5). */
static void
setup_offer_media (GstWspSignaller * self)
{
  gboolean sends[2] = { FALSE, FALSE };
  GstCaps *caps;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len; i++) {
    SinkStream *stream = g_ptr_array_index (self->streams, i);
    gboolean audio = g_str_equal (stream->kind, "audio");

    sends[audio] = TRUE;
    if (stream->webrtc_pad == NULL)
      link_stream (self, stream, wants_recv (self, stream->kind) ?
          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV :
          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY);
  }
  g_mutex_unlock (&self->lock);

  if (!sends[TRUE] && wants_recv (self, "audio")) {
    GST_OBJECT_LOCK (self);
    caps = gst_caps_ref (self->recv_audio_caps);
    GST_OBJECT_UNLOCK (self);
    add_recv_transceiver (self, caps);
    gst_clear_caps (&caps);
  }
  if (!sends[FALSE] && wants_recv (self, "video")) {
    GST_OBJECT_LOCK (self);
    caps = gst_caps_ref (self->recv_video_caps);
    GST_OBJECT_UNLOCK (self);
    add_recv_transceiver (self, caps);
    gst_clear_caps (&caps);
  }
}

static gboolean
all_pads_have_caps (GstWspSignaller * self)
{
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len && ok; i++) {
    SinkStream *stream = g_ptr_array_index (self->streams, i);

    ok = stream->webrtc_pad == NULL || stream->has_caps;
  }
  g_mutex_unlock (&self->lock);
  return ok;
}

typedef struct
{
  GstWebRTCSDPType type;
  GstWebRTCSessionDescription *desc;
} LocalDescription;

static void
local_description_free (gpointer data)
{
  LocalDescription *local = data;

  if (local->desc)
    gst_webrtc_session_description_free (local->desc);
  g_free (local);
}

/* The offer or answer is made: set it locally, then send it (pitfall 2). */
static void
on_sdp_created (GstWspSignaller * self, gpointer data)
{
  LocalDescription *local = data;
  g_autofree gchar *text = NULL;
  g_autoptr (WspMessage) msg = NULL;

  if (self->state == CALL_ENDED)
    return;
  if (local->desc == NULL) {
    gst_wsp_call_end (self, WSP_BYE_INTERNAL_ERROR, "could not create the SDP",
        FALSE, TRUE);
    return;
  }
  g_signal_emit_by_name (self->webrtcbin, "set-local-description",
      local->desc, NULL);
  text = gst_sdp_message_as_text (local->desc->sdp);
  msg = local->type == GST_WEBRTC_SDP_TYPE_OFFER ?
      wsp_message_new_offer (text) : wsp_message_new_answer (text);
  gst_wsp_call_send (self, msg);
  GST_DEBUG_OBJECT (self, "sent %s:\n%s", local->type ==
      GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer", text);
  if (local->type == GST_WEBRTC_SDP_TYPE_ANSWER) {
    self->state = CALL_NEGOTIATING;
    gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
            &self->ice_timeout));
  }
}

typedef struct
{
  GstWspSignaller *self;
  GstWebRTCSDPType type;
} SdpRequest;

static void
sdp_request_free (gpointer data)
{
  SdpRequest *request = data;

  gst_object_unref (request->self);
  g_free (request);
}

static void
sdp_promise (GstPromise * promise, gpointer data)
{
  SdpRequest *request = data;
  GstWspSignaller *self = request->self;
  LocalDescription *local = g_new0 (LocalDescription, 1);
  const GstStructure *reply;

  local->type = request->type;
  reply = gst_promise_get_reply (promise);
  if (reply)
    gst_structure_get (reply, local->type == GST_WEBRTC_SDP_TYPE_OFFER ?
        "offer" : "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
        &local->desc, NULL);
  gst_wsp_run_on_context (self, on_sdp_created, local, local_description_free);
}

static void
create_sdp (GstWspSignaller * self, GstWebRTCSDPType type)
{
  SdpRequest *request = g_new0 (SdpRequest, 1);
  GstPromise *promise;

  request->self = gst_object_ref (self);
  request->type = type;
  promise = gst_promise_new_with_change_func (sdp_promise, request,
      sdp_request_free);
  g_signal_emit_by_name (self->webrtcbin, type == GST_WEBRTC_SDP_TYPE_OFFER ?
      "create-offer" : "create-answer", NULL, promise);
  gst_promise_unref (promise);
}

/* Makes the offer (callee) or answer (caller) once everything it needs is
 * there: the streams' caps, and for an answer the remote description. */
void
gst_wsp_media_maybe_create_sdp (GstWspSignaller * self)
{
  if (!self->want_sdp || self->state == CALL_ENDED)
    return;
  if (!all_streams_learned (self)) {
    GST_DEBUG_OBJECT (self, "waiting for the caps of every stream");
    return;
  }

  if (self->is_caller) {
    if (!self->remote_set) {
      GST_DEBUG_OBJECT (self, "waiting for the remote description");
      return;
    }
    if (!self->media_ready)
      setup_answer_media (self);
    self->media_ready = TRUE;
    if (!all_pads_have_caps (self)) {
      GST_DEBUG_OBJECT (self, "waiting for webrtcbin to take the caps");
      return;
    }
    self->want_sdp = FALSE;
    create_sdp (self, GST_WEBRTC_SDP_TYPE_ANSWER);
  } else {
    if (!self->media_ready)
      setup_offer_media (self);
    self->media_ready = TRUE;
    if (!all_pads_have_caps (self)) {
      GST_DEBUG_OBJECT (self, "waiting for webrtcbin to take the caps");
      return;
    }
    self->want_sdp = FALSE;
    create_sdp (self, GST_WEBRTC_SDP_TYPE_OFFER);
    gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
            &self->answer_timeout));
  }
}

/* What a received stream carries, before its caps arrive: the codecs its
 * transceiver was set up with, else its kind. A src pad made from a
 * template of these caps tells a caps query (and gst-launch-1.0's delayed
 * linking) audio from video. */
static GstCaps *
received_caps (GstPad * webrtc_pad)
{
  g_autoptr (GstWebRTCRTPTransceiver) transceiver = pad_transceiver
      (webrtc_pad);
  GstCaps *caps = NULL;
  GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;

  if (transceiver == NULL)
    return gst_caps_new_empty_simple ("application/x-rtp");
  g_object_get (transceiver, "codec-preferences", &caps, "kind", &kind, NULL);
  if (caps && !gst_caps_is_empty (caps) && !gst_caps_is_any (caps))
    return caps;
  gst_clear_caps (&caps);
  if (kind == GST_WEBRTC_KIND_AUDIO || kind == GST_WEBRTC_KIND_VIDEO)
    return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING,
        kind == GST_WEBRTC_KIND_AUDIO ? "audio" : "video", NULL);
  return gst_caps_new_empty_simple ("application/x-rtp");
}

void
gst_wsp_media_pad_added (GstElement * webrtc, GstPad * pad,
    GstWspSignaller * self)
{
  GstPadTemplate *templ;
  GstPad *ghost;
  g_autofree gchar *name = NULL;
  g_autoptr (GstCaps) caps = NULL;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  name = g_strdup_printf ("src_%s", GST_PAD_NAME (pad) + strlen ("src_"));
  caps = received_caps (pad);
  GST_INFO_OBJECT (self, "receiving %" GST_PTR_FORMAT " on %s", caps, name);
  templ = gst_pad_template_new ("src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, caps);
  ghost = gst_ghost_pad_new_from_template (name, pad, templ);
  gst_object_unref (templ);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

void
gst_wsp_media_stream_free (gpointer data)
{
  SinkStream *stream = data;

  gst_clear_object (&stream->queue);
  if (stream->webrtc_pad)
    g_signal_handlers_disconnect_by_data (stream->webrtc_pad, stream);
  gst_clear_object (&stream->webrtc_pad);
  g_free (stream->kind);
  g_free (stream->encoding_name);
  g_free (stream);
}

/* Pads */

static GstPadProbeReturn
block_until_matched (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  return GST_PAD_PROBE_OK;
}

/* Until the element has started, its queues are inactive and would answer
 * FLUSHING. Upstream takes that for a shutdown: a live branch's queue or
 * source pauses its task for good, and the stream never gets its caps. An
 * application may well link a running tee to a request pad before it
 * brings the element up: drop the data until then (the sticky events stay
 * pending on the pad and go out with the first buffer after start). The
 * same once the call has ended: a queue that got its EOS would answer EOS,
 * and a tee stops on that for all its branches — the other peers of a
 * call lost their picture when a viewer left. */
static GstPadProbeReturn
drop_outside_call (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstWspSignaller *self = data;
  gboolean in_call;

  GST_OBJECT_LOCK (self);
  in_call = self->started && !self->media_ended;
  GST_OBJECT_UNLOCK (self);
  return in_call ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* Records the stream's kind and codec from its payloader's caps, here in
 * the probe: a look at the pad's caps from the context could come before
 * the pad stores them. */
static GstPadProbeReturn
stream_caps_seen (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  SinkStream *stream = data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstStructure *s;
  GstCaps *caps;
  const gchar *kind, *codec;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  s = gst_caps_get_structure (caps, 0);
  kind = gst_structure_get_string (s, "media");
  codec = gst_structure_get_string (s, "encoding-name");
  if (kind == NULL || codec == NULL) {
    GST_WARNING_OBJECT (stream->self, "%s: no media or encoding-name in %"
        GST_PTR_FORMAT, GST_PAD_NAME (stream->ghost), caps);
    return GST_PAD_PROBE_OK;
  }

  g_mutex_lock (&stream->self->lock);
  if (stream->kind == NULL) {
    stream->kind = g_strdup (kind);
    stream->encoding_name = g_strdup (codec);
  }
  g_mutex_unlock (&stream->self->lock);
  GST_DEBUG_OBJECT (stream->self, "%s: %s %s", GST_PAD_NAME (stream->ghost),
      kind, codec);
  gst_wsp_run_on_context (stream->self, on_stream_caps, NULL, NULL);
  return GST_PAD_PROBE_OK;
}

GstPad *
gst_wsp_signaller_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (element);
  SinkStream *stream;
  GstPad *queue_sink;
  g_autofree gchar *pad_name = NULL;

  stream = g_new0 (SinkStream, 1);
  stream->self = self;
  stream->payload = -1;

  /* Leaky: while the stream waits for its m-line, only the newest data is
   * kept (pitfall 8). */
  /* Our own references: request pads are released in dispose, after the
   * bin has dropped its children. */
  stream->queue = gst_object_ref (gst_element_factory_make ("queue", NULL));
  g_object_set (stream->queue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) 200 * GST_MSECOND, NULL);
  gst_util_set_object_arg (G_OBJECT (stream->queue), "leaky", "downstream");
  gst_bin_add (GST_BIN (self), stream->queue);
  stream->queue_src = gst_element_get_static_pad (stream->queue, "src");
  gst_object_unref (stream->queue_src);
  stream->block_id = gst_pad_add_probe (stream->queue_src,
      GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, block_until_matched, NULL, NULL);

  g_mutex_lock (&self->lock);
  pad_name = g_strdup_printf ("sink_%u", self->streams->len);
  g_ptr_array_add (self->streams, stream);
  g_mutex_unlock (&self->lock);

  queue_sink = gst_element_get_static_pad (stream->queue, "sink");
  stream->ghost = gst_ghost_pad_new_from_template (pad_name, queue_sink, templ);
  gst_pad_add_probe (queue_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      stream_caps_seen, stream, NULL);
  gst_object_unref (queue_sink);
  gst_pad_add_probe (stream->ghost, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, drop_outside_call, self, NULL);
  gst_element_sync_state_with_parent (stream->queue);
  gst_pad_set_active (stream->ghost, TRUE);
  gst_element_add_pad (element, stream->ghost);
  return stream->ghost;
}

void
gst_wsp_signaller_release_pad (GstElement * element, GstPad * pad)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (element);
  SinkStream *stream = NULL;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->streams->len; i++) {
    SinkStream *s = g_ptr_array_index (self->streams, i);

    if (s->ghost == pad) {
      stream = g_ptr_array_steal_index (self->streams, i);
      break;
    }
  }
  g_mutex_unlock (&self->lock);
  if (stream == NULL)
    return;

  if (stream->webrtc_pad &&
      GST_OBJECT_PARENT (stream->webrtc_pad) == GST_OBJECT (self->webrtcbin))
    gst_element_release_request_pad (self->webrtcbin, stream->webrtc_pad);
  if (GST_OBJECT_PARENT (stream->queue) == GST_OBJECT (self)) {
    gst_element_set_state (stream->queue, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), stream->queue);
  }
  gst_element_remove_pad (element, pad);
  gst_wsp_media_stream_free (stream);
}
