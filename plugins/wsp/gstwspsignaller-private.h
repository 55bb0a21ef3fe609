/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of wspsignaller share: the element's instance structure,
 * its call states and sink streams, and the functions one file offers the
 * others. Nothing here is API. Threads: the structure says which fields
 * the object lock and "lock" guard; the fields "used only on `context`"
 * are touched from the signalling context alone, and so are the functions
 * here that take no lock (see gst_wsp_run_on_context()). */

#pragma once

#include "gstwspsignaller.h"
#include "gstwsppeerwatch.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_EXTERN (gst_wsp_signaller_debug);
#define GST_CAT_DEFAULT gst_wsp_signaller_debug

enum
{
  SIGNAL_HANGUP,
  SIGNAL_END_CALL,
  SIGNAL_ACCEPT_CALL,
  SIGNAL_IO_OPENED,
  SIGNAL_IO_MESSAGE,
  SIGNAL_SEND_IO,
  N_SIGNALS
};

typedef enum
{
  CALL_IDLE,
  CALL_CONNECTING,              /* caller: opening the socket */
  CALL_INVITING,                /* caller: invite sent, no ringing yet */
  CALL_RINGING,                 /* ringing: the callee has not offered */
  CALL_NEGOTIATING,             /* offer/answer done or under way */
  CALL_CONNECTED,
  CALL_ENDED,
} CallState;

/* One sink pad: ghost pad -> queue -> (once matched) webrtcbin sink pad.
 * The queue's source is blocked until the stream is matched to an m-line,
 * so the caller can request webrtcbin's pad after the offer (pitfall 3). */
typedef struct
{
  GstWspSignaller *self;
  GstPad *ghost;
  GstElement *queue;
  GstPad *queue_src;
  gulong block_id;
  GstPad *webrtc_pad;
  gint payload;                 /* rewrite to this PT, or -1 */
  /* H.264: rewrite profile-level-id to the offer's (gstwspsdp.h); set
   * before the rewriting probe is added, constant after */
  gchar profile_level_id[7];
  gchar *kind;                  /* "audio"/"video" from the caps */
  gchar *encoding_name;
  gboolean has_caps;            /* webrtcbin's pad has caps */
} SinkStream;

struct _GstWspSignaller
{
  GstBin parent;

  GstElement *webrtcbin;

  /* properties, under the object lock */
  gchar *target;
  gchar *uri;
  gchar *local_uri;
  gchar *display_name;
  gchar *listen;
  gchar *certificate_file;
  gchar *private_key_file;
  gchar *ca_file;
  gchar *pinned_certificate_file;
  gchar *token;
  gchar *local_addresses;
  guint ringing_timeout;
  guint answer_timeout;
  guint ice_timeout;
  guint peer_timeout;
  gboolean io_channel;
  gchar *snapshot;
  gboolean hold_invite;
  gboolean lip_sync;
  gboolean recv_audio;
  gboolean recv_video;
  GstCaps *recv_audio_caps;
  GstCaps *recv_video_caps;
  gboolean started;             /* between start() and stop() */
  gboolean media_ended;         /* the call ended: sink pads drop data */

  /* lock: the streams, and the context the signalling runs on */
  GMutex lock;
  GPtrArray *streams;
  GMainContext *context;
  guint generation;             /* bumped at stop: stale calls do nothing */
  GThread *eos_thread;          /* pushes the EOS at a call's end */
  GstWebRTCDataChannel *io_data_channel;        /* the call's, watched */
  gboolean io_open;             /* "send-io" may send on it */

  /* own signalling thread (caller and listen roles) */
  GThread *thread;
  GMainLoop *loop;

  /* Everything below is used only on `context`. */
  CallState state;
  gboolean is_caller;
  gchar *caller_uri;
  gchar *callee_uri;
  SoupServer *server;
  WspConnection *connection;
  GstWebRTCDataChannel *wsp_channel;
  gboolean io_announced;        /* "io-opened" emitted for this call */
  gboolean transferred;
  GSource *timer;
  GstWspPeerWatch *peer_watch;  /* connected: the peer is still there */
  gboolean lost;                /* the call ends because the peer vanished */
  GSource *io_timer;            /* caller: the peer's io channel is due */
  GPtrArray *pending_candidates;        /* WspMessage, before the remote SDP */
  gboolean remote_set;
  GstSDPMessage *offer;         /* caller: the offer, until answered */
  gboolean want_sdp;            /* create offer/answer once pads have caps */
  gboolean media_ready;         /* streams matched, transceivers made */
  gboolean stopping;            /* stop(): no EOS pushed, no new work */
  GPtrArray *waiting;           /* listen: sockets with no invite yet */
  GCancellable *cancellable;
};

/* Work queued onto the signalling context (gst_wsp_run_on_context()). */
typedef void (*ContextFunc) (GstWspSignaller * self, gpointer data);

extern guint gst_wsp_signaller_signals[N_SIGNALS];

/* gstwspcall.c: the context, timers, sending, incoming messages, webrtcbin
 * reports, the end of a call. */
void gst_wsp_run_on_context (GstWspSignaller * self, ContextFunc func,
    gpointer data, GDestroyNotify destroy);
void gst_wsp_run_on_context_sync (GstWspSignaller * self, ContextFunc func);
void gst_wsp_call_post (GstWspSignaller * self, GstStructure * s);
void gst_wsp_call_cancel_timer (GstWspSignaller * self);
void gst_wsp_call_start_timer (GstWspSignaller * self, guint seconds);
guint gst_wsp_call_get_timeout (GstWspSignaller * self, guint * field);
void gst_wsp_call_send (GstWspSignaller * self, const WspMessage * msg);
void gst_wsp_call_drop_connection (GstWspSignaller * self);
void gst_wsp_call_wait_for_eos_pushes (GstWspSignaller * self);
void gst_wsp_call_end (GstWspSignaller * self, WspByeCode code,
    const gchar * description, gboolean remote, gboolean send_bye);
void gst_wsp_call_handle_message (GstWspSignaller * self,
    const WspMessage * msg);
void gst_wsp_call_watch_connection (GstWspSignaller * self,
    WspConnection * connection);
void gst_wsp_call_on_ice_candidate (GstElement * webrtc, guint mline,
    gchar * candidate, GstWspSignaller * self);
void gst_wsp_call_on_connection_state (GObject * webrtc, GParamSpec * pspec,
    GstWspSignaller * self);
void gst_wsp_call_stop (GstWspSignaller * self, gpointer data);
void gst_wsp_call_hangup (GstWspSignaller * self);
void gst_wsp_call_end_action (GstWspSignaller * self, guint code,
    const gchar * description);

/* gstwspmedia.c: streams, pads, transceivers, SDP, remote candidates. */
void gst_wsp_media_add_candidate (GstWspSignaller * self,
    const WspMessage * msg);
void gst_wsp_media_set_remote_description (GstWspSignaller * self,
    GstWebRTCSDPType type, GstSDPMessage * sdp);
void gst_wsp_media_maybe_create_sdp (GstWspSignaller * self);
void gst_wsp_media_pad_added (GstElement * webrtc, GstPad * pad,
    GstWspSignaller * self);
void gst_wsp_media_stream_free (gpointer data);
GstPad *gst_wsp_signaller_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps);
void gst_wsp_signaller_release_pad (GstElement * element, GstPad * pad);

/* gstwspiochannel.c: the `io` data channel. */
gboolean gst_wsp_io_watch_channel (GstWspSignaller * self,
    GstWebRTCDataChannel * channel);
void gst_wsp_io_unwatch_channel (GstWspSignaller * self);
void gst_wsp_io_cancel_wait (GstWspSignaller * self);
void gst_wsp_io_start_wait (GstWspSignaller * self);
gboolean gst_wsp_io_send (GstWspSignaller * self, const gchar * text);

/* gstwsphandover.c: the `wsp` data channel and the hand-over to it. */
void gst_wsp_handover_close_channel (GstWspSignaller * self, guint timeout_ms);
void gst_wsp_handover_transfer (GstWspSignaller * self);
void gst_wsp_handover_watch_channel (GstWspSignaller * self,
    GstWebRTCDataChannel * channel);
void gst_wsp_handover_on_data_channel (GstElement * webrtc,
    GstWebRTCDataChannel * channel, GstWspSignaller * self);

/* gstwspcaller.c: the caller role. */
void gst_wsp_caller_release_invite (GstWspSignaller * self, gpointer data);
void gst_wsp_caller_start (GstWspSignaller * self, gpointer data);

/* gstwspcallee.c: the callee role, accepted or listening. */
gboolean gst_wsp_callee_accept_call (GstWspSignaller * self,
    WspConnection * connection, const gchar * caller_uri,
    const gchar * callee_uri);
void gst_wsp_callee_stop_waiting (GstWspSignaller * self,
    WspConnection * connection);
void gst_wsp_callee_start_listener (GstWspSignaller * self, gpointer data);

