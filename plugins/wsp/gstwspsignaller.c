/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-wspsignaller
 * @title: wspsignaller
 *
 * A `webrtcbin` that sets up its calls with WSP, the WebRTC Signaling
 * Protocol of door stations: `invite`, `ringing`, `offer`/`answer`, ICE
 * candidates, the hand-over of signalling to the `wsp` data channel and
 * `bye` with its codes (see DESIGN.md §3).
 *
 * It is a bin around a `webrtcbin` (its "webrtcbin" property): link RTP
 * payloaders to its `sink_%u` request pads, and its `src_%u` pads (one per
 * stream received) to depayloaders.
 *
 * ## Roles
 *
 * * **Caller**: with #GstWspSignaller:target set, it connects to the
 *   target's WSP server (`wss://host[:port]/wsp`, or #GstWspSignaller:uri)
 *   and sends `invite`. The callee answers by making the offer: it takes the
 *   payload types from the offer's own `a=rtpmap` lines, rewrites its
 *   streams to them, and answers.
 * * **Callee**: with #GstWspSignaller:listen set (`host:port`), it serves
 *   WSP over TLS itself (#GstWspSignaller:certificate-file,
 *   #GstWspSignaller:private-key-file) and takes the first call; from C, an
 *   application with its own server hands it an accepted socket with the
 *   #GstWspSignaller::accept-call action signal. It sends `ringing`, creates the `wsp`
 *   data channel (and `io` with #GstWspSignaller:io-channel), offers, and
 *   takes the answer.
 *
 * What it sends is what is linked to its sink pads; what it receives is
 * set by #GstWspSignaller:recv-audio and #GstWspSignaller:recv-video. A
 * caller can send a still of the visitor with its invite
 * (#GstWspSignaller:snapshot), and connect while that still is being made
 * (#GstWspSignaller:hold-invite).
 *
 * ## The `io` data channel
 *
 * The door's IO travels on a second data channel labelled `io` (DESIGN.md
 * §3). With #GstWspSignaller:io-channel the callee creates it before its
 * offer; the caller waits up to 1 s after the hand-over for the peer's and
 * creates it itself if none came, so a plain WSP 1.0 peer still gets IO.
 * Whoever created it, #GstWspSignaller::io-opened says it is open,
 * #GstWspSignaller::io-message delivers each text message (binary ones are
 * ignored), and the #GstWspSignaller::send-io action signal sends one.
 * The element does not parse the messages: that is the application's
 * business (`wspio.h`).
 *
 * ## Ending a call
 *
 * #GstWspSignaller::hangup ends the call with `bye` 200,
 * #GstWspSignaller::end-call with a code of the application's choosing
 * (487 when another station answered, for one). Stopping the pipeline
 * also ends it with a `bye` 200 the peer receives.
 *
 * ## Messages
 *
 * Element messages from the bin, in this order for a call that goes well:
 *
 * * `wsp-ringing`: `caller` (string), `callee` (string): the callee rings
 * * `wsp-connected`: media flows (ICE and DTLS are up)
 * * `wsp-transferred`: signalling moved to the `wsp` data channel; the
 *   WebSocket is closed and the call no longer needs it
 * * `wsp-ended`: `code` (int, a WSP `bye` code), `description` (string),
 *   `remote` (boolean: TRUE if the peer ended it), `lost` (boolean: TRUE
 *   if the peer vanished: no packet for #GstWspSignaller:peer-timeout, ICE
 *   failed or gone, the socket closed without `bye`). 200 is a normal end;
 *   400 a bad message, 408 a timeout (no ringing, no answer, ICE) or a
 *   peer that went away, 480 a server that could not be reached, and the
 *   peer's own codes (486 busy, 603 declined, ...).
 *
 * When the call ends the element sends EOS downstream and into its
 * `webrtcbin`, so a `gst-launch-1.0` pipeline ends; an end caused by a local
 * failure (unreachable server, timeout, bad message from the peer) also
 * posts an ERROR. An end the application asked for ("hangup", "end-call"
 * with any code, stopping the pipeline) posts none.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 wspsignaller name=call target=alice@127.0.0.1:8443 \
 *     pinned-certificate-file=station.pem recv-video=false \
 *   videotestsrc is-live=true ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! call. \
 *   audiotestsrc is-live=true ! opusenc ! rtpopuspay pt=97 ! call. \
 *   call. ! rtpopusdepay ! opusdec ! autoaudiosink
 * ]| Calls alice from test sources: video out, audio both ways.
 * |[
 * gst-launch-1.0 wspsignaller name=door listen=127.0.0.1:8443 \
 *     certificate-file=station.pem private-key-file=station.key \
 *   videotestsrc is-live=true ! vp8enc deadline=1 ! rtpvp8pay pt=96 ! door. \
 *   audiotestsrc is-live=true ! opusenc ! rtpopuspay pt=97 ! door. \
 *   door. ! rtpopusdepay ! opusdec ! autoaudiosink
 * ]| Waits for a call and answers it (video out, audio both ways).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller.h"
#include "gstwspsdp.h"
#include "gstwsppeerwatch.h"
#include "gstoiwspelements.h"

#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

GST_DEBUG_CATEGORY (gst_wsp_signaller_debug);
#define GST_CAT_DEFAULT gst_wsp_signaller_debug

#define DEFAULT_LOCAL_URI "gst@localhost"
#define DEFAULT_RINGING_TIMEOUT 10
#define DEFAULT_ANSWER_TIMEOUT 60
#define DEFAULT_ICE_TIMEOUT 30
#define DEFAULT_PEER_TIMEOUT 8
#define DEFAULT_RECV_AUDIO TRUE
#define DEFAULT_LIP_SYNC TRUE
#define DEFAULT_RECV_VIDEO FALSE

/* What a recvonly transceiver offers when we receive a kind we do not
 * send; an answer takes the offer's own format instead. */
#define DEFAULT_RECV_AUDIO_CAPS "application/x-rtp,media=audio," \
  "encoding-name=OPUS,payload=111,clock-rate=48000"
#define DEFAULT_RECV_VIDEO_CAPS "application/x-rtp,media=video," \
  "encoding-name=VP8,payload=120,clock-rate=90000"

enum
{
  PROP_0,
  PROP_TARGET,
  PROP_URI,
  PROP_LOCAL_URI,
  PROP_DISPLAY_NAME,
  PROP_LISTEN,
  PROP_CERTIFICATE_FILE,
  PROP_PRIVATE_KEY_FILE,
  PROP_CA_FILE,
  PROP_PINNED_CERTIFICATE_FILE,
  PROP_TOKEN,
  PROP_STUN_SERVER,
  PROP_TURN_SERVER,
  PROP_LOCAL_ADDRESSES,
  PROP_RINGING_TIMEOUT,
  PROP_ANSWER_TIMEOUT,
  PROP_ICE_TIMEOUT,
  PROP_PEER_TIMEOUT,
  PROP_IO_CHANNEL,
  PROP_SNAPSHOT,
  PROP_HOLD_INVITE,
  PROP_LIP_SYNC,
  PROP_RECV_AUDIO,
  PROP_RECV_VIDEO,
  PROP_RECV_AUDIO_CAPS,
  PROP_RECV_VIDEO_CAPS,
  PROP_WEBRTCBIN,
};

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

static guint signals[N_SIGNALS];

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

#define gst_wsp_signaller_parent_class parent_class
G_DEFINE_TYPE (GstWspSignaller, gst_wsp_signaller, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (wspsignaller, "wspsignaller",
    GST_RANK_NONE, GST_TYPE_WSP_SIGNALLER,
    GST_DEBUG_CATEGORY_INIT (gst_wsp_signaller_debug, "wspsignaller", 0,
        "WSP signalling for webrtcbin"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS ("application/x-rtp"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src_%u",
    GST_PAD_SRC,
    GST_PAD_SOMETIMES,
    GST_STATIC_CAPS ("application/x-rtp"));

static void gst_wsp_signaller_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_wsp_signaller_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_wsp_signaller_dispose (GObject * object);
static void gst_wsp_signaller_finalize (GObject * object);
static GstStateChangeReturn gst_wsp_signaller_change_state (GstElement *
    element, GstStateChange transition);
static GstPad *gst_wsp_signaller_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps);
static void gst_wsp_signaller_release_pad (GstElement * element, GstPad * pad);

static void end_call (GstWspSignaller * self, WspByeCode code,
    const gchar * description, gboolean remote, gboolean send_bye);
static void cancel_io_wait (GstWspSignaller * self);
static void maybe_create_sdp (GstWspSignaller * self);

/* Running on the signalling context */

typedef void (*ContextFunc) (GstWspSignaller * self, gpointer data);

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
static void
run_on_context (GstWspSignaller * self, ContextFunc func, gpointer data,
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
static void
run_on_context_sync (GstWspSignaller * self, ContextFunc func)
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
    run_on_context (self, sync_call_run, &sync, NULL);
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

static void
post_call_message (GstWspSignaller * self, GstStructure * s)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Timers: one at a time, for the phase the call is in. */

static void
cancel_timer (GstWspSignaller * self)
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
  end_call (self, WSP_BYE_TIMEOUT, what, FALSE, TRUE);
  return G_SOURCE_REMOVE;
}

static void
start_timer (GstWspSignaller * self, guint seconds)
{
  cancel_timer (self);
  if (seconds == 0)
    return;
  self->timer = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (self->timer, timer_fired, self, NULL);
  g_source_attach (self->timer, self->context);
}

static guint
get_timeout (GstWspSignaller * self, guint * field)
{
  guint value;

  GST_OBJECT_LOCK (self);
  value = *field;
  GST_OBJECT_UNLOCK (self);
  return value;
}

/* Sending: on the WebSocket until the hand-over, then on the data channel */

static void
send_message (GstWspSignaller * self, const WspMessage * msg)
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

/* Shared by a waiting thread and a notify handler that webrtcbin's threads
 * may be running when the waiter gives up: disconnecting does not wait for
 * an emission under way, so the handler's closure holds a reference (GLib
 * keeps a closure alive while it runs) and the last one frees it. */
typedef struct
{
  gint refcount;
  GMutex lock;
  GCond cond;
} ChannelWait;

static ChannelWait *
channel_wait_new (void)
{
  ChannelWait *wait = g_new0 (ChannelWait, 1);

  wait->refcount = 1;
  g_mutex_init (&wait->lock);
  g_cond_init (&wait->cond);
  return wait;
}

static ChannelWait *
channel_wait_ref (ChannelWait * wait)
{
  g_atomic_int_inc (&wait->refcount);
  return wait;
}

static void
channel_wait_unref (ChannelWait * wait)
{
  if (!g_atomic_int_dec_and_test (&wait->refcount))
    return;
  g_mutex_clear (&wait->lock);
  g_cond_clear (&wait->cond);
  g_free (wait);
}

static void
channel_wait_closure_notify (gpointer data, GClosure * closure)
{
  channel_wait_unref (data);
}

static void
channel_changed (GObject * channel, GParamSpec * pspec, ChannelWait * wait)
{
  g_mutex_lock (&wait->lock);
  g_cond_signal (&wait->cond);
  g_mutex_unlock (&wait->lock);
}

/* Waits until @done (@channel) holds, @property changing, or @deadline. */
static gboolean
wait_channel (GstWebRTCDataChannel * channel, const gchar * property,
    gboolean (*done) (GstWebRTCDataChannel *), gint64 deadline)
{
  g_autofree gchar *detail = g_strdup_printf ("notify::%s", property);
  ChannelWait *wait = channel_wait_new ();
  gboolean ok;
  gulong id;

  id = g_signal_connect_data (channel, detail, G_CALLBACK (channel_changed),
      channel_wait_ref (wait), channel_wait_closure_notify, 0);
  g_mutex_lock (&wait->lock);
  while (!(ok = done (channel)) &&
      g_cond_wait_until (&wait->cond, &wait->lock, deadline));
  g_mutex_unlock (&wait->lock);
  g_signal_handler_disconnect (channel, id);
  channel_wait_unref (wait);
  return ok;
}

static gboolean
channel_not_open (GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState state;

  g_object_get (channel, "ready-state", &state, NULL);
  return state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
}

/* After the final bye on the wsp channel, before the element tears
 * webrtcbin down: waits (up to @timeout_ms) until the peer, which ends its
 * side when it reads the bye, closes the channel. Closing it ourselves
 * proves nothing in webrtcbin 1.22: buffered-amount drops to 0 in a probe
 * on the channel's appsrc *before* the bye is pushed to sctpenc, and
 * close() at once releases the channel's sctpenc pad (the push in flight
 * then fails "not-linked" and the bye is lost) and reports CLOSED without
 * hearing from the peer; stopping webrtcbin right after aborts the
 * association with the bye unsent (SCTP_SEND_FAILED_EVENT). */
static void
close_wsp_channel (GstWspSignaller * self, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () +
      timeout_ms * G_TIME_SPAN_MILLISECOND;

  if (!wait_channel (self->wsp_channel, "ready-state", channel_not_open,
          deadline))
    GST_INFO_OBJECT (self, "the peer did not close the wsp channel");
}

static void
drop_connection (GstWspSignaller * self)
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
static void
wait_for_eos_pushes (GstWspSignaller * self)
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
    send_message (self, bye);
    if (self->stopping && self->transferred && self->wsp_channel)
      close_wsp_channel (self, 2000);
  }
  self->state = CALL_ENDED;
  cancel_timer (self);
  g_clear_pointer (&self->peer_watch, gst_wsp_peer_watch_free);
  cancel_io_wait (self);
  drop_connection (self);
  g_cancellable_cancel (self->cancellable);
  g_mutex_lock (&self->lock);
  self->io_open = FALSE;
  g_mutex_unlock (&self->lock);

  post_call_message (self, gst_structure_new ("wsp-ended",
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
static void
end_call (GstWspSignaller * self, WspByeCode code, const gchar * description,
    gboolean remote, gboolean send_bye)
{
  end_call_full (self, code, description, remote, send_bye, !remote &&
      code != WSP_BYE_NORMAL);
}

/* Incoming signalling */

static void
add_candidate (GstWspSignaller * self, const WspMessage * msg)
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
    add_candidate (self, g_ptr_array_index (self->pending_candidates, i));
  g_ptr_array_set_size (self->pending_candidates, 0);
  if (self->is_caller)
    maybe_create_sdp (self);
}

static void
remote_description_promise (GstPromise * promise, gpointer data)
{
  GstWspSignaller *self = data;

  run_on_context (self, on_remote_description_set, NULL, NULL);
}

static void
set_remote_description (GstWspSignaller * self, GstWebRTCSDPType type,
    GstSDPMessage * sdp)
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
  maybe_create_sdp (self);
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
  run_on_context (stream->self, on_stream_caps, NULL, NULL);
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
    end_call (self, WSP_BYE_INTERNAL_ERROR, "could not create the SDP",
        FALSE, TRUE);
    return;
  }
  g_signal_emit_by_name (self->webrtcbin, "set-local-description",
      local->desc, NULL);
  text = gst_sdp_message_as_text (local->desc->sdp);
  msg = local->type == GST_WEBRTC_SDP_TYPE_OFFER ?
      wsp_message_new_offer (text) : wsp_message_new_answer (text);
  send_message (self, msg);
  GST_DEBUG_OBJECT (self, "sent %s:\n%s", local->type ==
      GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer", text);
  if (local->type == GST_WEBRTC_SDP_TYPE_ANSWER) {
    self->state = CALL_NEGOTIATING;
    start_timer (self, get_timeout (self, &self->ice_timeout));
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
  run_on_context (self, on_sdp_created, local, local_description_free);
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
static void
maybe_create_sdp (GstWspSignaller * self)
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
    start_timer (self, get_timeout (self, &self->answer_timeout));
  }
}

static void handle_message (GstWspSignaller * self, const WspMessage * msg);

static void
handle_text (GstWspSignaller * self, const gchar * text)
{
  g_autoptr (WspMessage) msg = NULL;
  g_autoptr (GError) error = NULL;

  if (!wsp_message_parse (text, strlen (text), &msg, &error)) {
    GST_WARNING_OBJECT (self, "bad message on the data channel: %s",
        error->message);
    end_call (self, wsp_error_to_bye_code (error), error->message, FALSE,
        TRUE);
    return;
  }
  handle_message (self, msg);
}

static void
on_channel_text (GstWspSignaller * self, gpointer data)
{
  handle_text (self, data);
}

static void
channel_message_string (GstWebRTCDataChannel * channel, const gchar * text,
    GstWspSignaller * self)
{
  run_on_context (self, on_channel_text, g_strdup (text), g_free);
}

static void
on_channel_data (GstWspSignaller * self, gpointer data)
{
  end_call (self, WSP_BYE_BAD_REQUEST, "binary data on the wsp channel",
      FALSE, TRUE);
}

static void
channel_message_data (GstWebRTCDataChannel * channel, GBytes * bytes,
    GstWspSignaller * self)
{
  run_on_context (self, on_channel_data, NULL, NULL);
}

/* The `io` data channel: the door's IO, for the application. Whoever
 * created it, its handlers are connected as soon as this element knows the
 * channel (for the peer's, in webrtcbin's "on-data-channel", before any
 * message on it can be emitted); they only queue work on the context. */

typedef struct
{
  GstWebRTCDataChannel *channel;
  gchar *text;
} IoText;

static void
io_text_free (gpointer data)
{
  IoText *io = data;

  g_object_unref (io->channel);
  g_free (io->text);
  g_free (io);
}

static gboolean
is_io_channel (GstWspSignaller * self, GstWebRTCDataChannel * channel)
{
  gboolean current;

  g_mutex_lock (&self->lock);
  current = channel == self->io_data_channel;
  g_mutex_unlock (&self->lock);
  return current;
}

static void
on_io_open (GstWspSignaller * self, gpointer data)
{
  GstWebRTCDataChannel *channel = data;

  /* Queued from the channel's "on-open" and from watch_io_channel(), which
   * may both see it open. */
  if (self->io_announced || self->state == CALL_ENDED ||
      self->state == CALL_IDLE || !is_io_channel (self, channel))
    return;
  self->io_announced = TRUE;
  g_mutex_lock (&self->lock);
  self->io_open = TRUE;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "the io channel is open");
  g_signal_emit (self, signals[SIGNAL_IO_OPENED], 0);
}

static void
io_channel_open (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  run_on_context (self, on_io_open, g_object_ref (channel), g_object_unref);
}

static void
on_io_message (GstWspSignaller * self, gpointer data)
{
  IoText *io = data;

  if (self->state == CALL_ENDED || self->state == CALL_IDLE ||
      !is_io_channel (self, io->channel))
    return;
  g_signal_emit (self, signals[SIGNAL_IO_MESSAGE], 0, io->text);
}

static void
io_message_string (GstWebRTCDataChannel * channel, const gchar * text,
    GstWspSignaller * self)
{
  IoText *io = g_new0 (IoText, 1);

  io->channel = g_object_ref (channel);
  io->text = g_strdup (text ? text : "");
  run_on_context (self, on_io_message, io, io_text_free);
}

/* io messages are JSON text: a binary one is a peer's mistake, not a
 * reason to end the call (unlike on the wsp channel). */
static void
io_message_data (GstWebRTCDataChannel * channel, GBytes * bytes,
    GstWspSignaller * self)
{
  GST_WARNING_OBJECT (self, "ignoring a binary message (%" G_GSIZE_FORMAT
      " bytes) on the io channel", bytes ? g_bytes_get_size (bytes) : 0);
}

static void
on_io_close (GstWspSignaller * self, gpointer data)
{
  if (!is_io_channel (self, data))
    return;
  g_mutex_lock (&self->lock);
  self->io_open = FALSE;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "the io channel closed");
}

static void
io_channel_close (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  run_on_context (self, on_io_close, g_object_ref (channel), g_object_unref);
}

/* Makes @channel the call's io channel, unless it has one already; from
 * the context or webrtcbin's threads. The handlers are connected under
 * the lock, so that reset_call() or dispose, which disconnect them under
 * it, cannot miss them. */
static gboolean
watch_io_channel (GstWspSignaller * self, GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState ready_state;

  g_mutex_lock (&self->lock);
  if (self->io_data_channel != NULL) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  self->io_data_channel = g_object_ref (channel);
  g_signal_connect (channel, "on-open", G_CALLBACK (io_channel_open), self);
  g_signal_connect (channel, "on-message-string",
      G_CALLBACK (io_message_string), self);
  g_signal_connect (channel, "on-message-data",
      G_CALLBACK (io_message_data), self);
  g_signal_connect (channel, "on-close", G_CALLBACK (io_channel_close), self);
  g_mutex_unlock (&self->lock);

  /* The peer's channel is open when webrtcbin announces it, and one we
   * made late may have opened before the handlers were connected. */
  g_object_get (channel, "ready-state", &ready_state, NULL);
  if (ready_state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
    run_on_context (self, on_io_open, g_object_ref (channel), g_object_unref);
  return TRUE;
}

static void
unwatch_io_channel (GstWspSignaller * self)
{
  GstWebRTCDataChannel *channel;

  g_mutex_lock (&self->lock);
  channel = g_steal_pointer (&self->io_data_channel);
  if (channel)
    g_signal_handlers_disconnect_by_data (channel, self);
  self->io_open = FALSE;
  g_mutex_unlock (&self->lock);
  g_clear_object (&channel);
}

/* Caller: data channels from the peer may come in any order across SCTP
 * streams, so the peer's io channel gets this long after the hand-over
 * before we make one (DESIGN §3: a plain WSP 1.0 peer makes none). */
#define IO_WAIT_MS 1000

static void
cancel_io_wait (GstWspSignaller * self)
{
  if (self->io_timer) {
    g_source_destroy (self->io_timer);
    g_clear_pointer (&self->io_timer, g_source_unref);
  }
}

static gboolean
io_wait_over (gpointer data)
{
  GstWspSignaller *self = data;
  GstWebRTCDataChannel *channel = NULL;
  gboolean have;

  g_clear_pointer (&self->io_timer, g_source_unref);
  if (self->state == CALL_ENDED)
    return G_SOURCE_REMOVE;
  g_mutex_lock (&self->lock);
  have = self->io_data_channel != NULL;
  g_mutex_unlock (&self->lock);
  if (have)
    return G_SOURCE_REMOVE;

  GST_INFO_OBJECT (self, "the peer made no io channel: making it");
  g_signal_emit_by_name (self->webrtcbin, "create-data-channel", "io", NULL,
      &channel);
  if (channel == NULL) {
    GST_WARNING_OBJECT (self, "webrtcbin made no io channel");
    return G_SOURCE_REMOVE;
  }
  /* The peer's may have come in meanwhile: that one is the call's. */
  if (!watch_io_channel (self, channel))
    gst_webrtc_data_channel_close (channel);
  g_object_unref (channel);
  return G_SOURCE_REMOVE;
}

static void
start_io_wait (GstWspSignaller * self)
{
  gboolean io;

  GST_OBJECT_LOCK (self);
  io = self->io_channel;
  GST_OBJECT_UNLOCK (self);
  if (!io)
    return;
  cancel_io_wait (self);
  self->io_timer = g_timeout_source_new (IO_WAIT_MS);
  g_source_set_callback (self->io_timer, io_wait_over, self, NULL);
  g_source_attach (self->io_timer, self->context);
}

/* The hand-over: the side that received the `wsp` channel (the caller)
 * sends `bye` 101 on the WebSocket once it opens. */
static void
transfer (GstWspSignaller * self)
{
  if (self->transferred || self->state == CALL_ENDED)
    return;
  if (self->connection && wsp_connection_is_open (self->connection)) {
    g_autoptr (WspMessage) bye = wsp_message_new_bye (WSP_BYE_TRANSFERRED,
        NULL);

    wsp_connection_send (self->connection, bye);
  }
  self->transferred = TRUE;
  drop_connection (self);
  GST_INFO_OBJECT (self, "signalling moved to the wsp data channel");
  post_call_message (self, gst_structure_new_empty ("wsp-transferred"));
  if (self->is_caller)
    start_io_wait (self);
}

static void
on_channel_open (GstWspSignaller * self, gpointer data)
{
  if (self->is_caller)
    transfer (self);
}

static void
channel_open (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  run_on_context (self, on_channel_open, NULL, NULL);
}

/* After the hand-over the wsp channel is the call's signalling. A peer that
 * closes it ended the call, deliberately (a vanished peer sends nothing and
 * is caught by the ICE timeout): that is a remote end, 200 unless its bye
 * says otherwise. The bye and the close come from different webrtcbin
 * threads (sctpdec hands data to a queue thread per stream, the reset
 * comes straight from SCTP), so the close may be queued here first: the
 * bye, which SCTP delivered before the close, gets a moment to arrive and
 * set the code. */
#define CLOSE_GRACE_MS 1000

static gboolean
channel_close_grace_over (gpointer data)
{
  GstWspSignaller *self = data;

  g_clear_pointer (&self->timer, g_source_unref);
  end_call (self, WSP_BYE_NORMAL, "the peer closed the wsp channel", TRUE,
      FALSE);
  return G_SOURCE_REMOVE;
}

static void
on_channel_close (GstWspSignaller * self, gpointer data)
{
  if (!self->transferred || self->state == CALL_ENDED)
    return;
  cancel_timer (self);
  self->timer = g_timeout_source_new (CLOSE_GRACE_MS);
  g_source_set_callback (self->timer, channel_close_grace_over, self, NULL);
  g_source_attach (self->timer, self->context);
}

static void
channel_close (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  run_on_context (self, on_channel_close, NULL, NULL);
}

static void
watch_wsp_channel (GstWspSignaller * self, GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState ready_state;

  self->wsp_channel = g_object_ref (channel);
  g_signal_connect (channel, "on-message-string",
      G_CALLBACK (channel_message_string), self);
  g_signal_connect (channel, "on-message-data",
      G_CALLBACK (channel_message_data), self);
  g_signal_connect (channel, "on-open", G_CALLBACK (channel_open), self);
  g_signal_connect (channel, "on-close", G_CALLBACK (channel_close), self);
  g_object_get (channel, "ready-state", &ready_state, NULL);
  if (ready_state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
    run_on_context (self, on_channel_open, NULL, NULL);
}

static void
on_data_channel (GstWspSignaller * self, gpointer data)
{
  GstWebRTCDataChannel *channel = data;

  if (self->wsp_channel == NULL)
    watch_wsp_channel (self, channel);
}

/* The peer opened a channel. The io channel is watched here, on
 * webrtcbin's thread: its messages are emitted from later tasks of that
 * thread, and a handler connected from the context could miss the first
 * ones (the door sends its state as soon as the channel opens). */
static void
webrtc_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    GstWspSignaller * self)
{
  g_autofree gchar *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, "wsp") == 0)
    run_on_context (self, on_data_channel, g_object_ref (channel),
        g_object_unref);
  else if (g_strcmp0 (label, "io") == 0 && !watch_io_channel (self, channel))
    GST_INFO_OBJECT (self, "ignoring a second io channel");
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

static void
handle_message (GstWspSignaller * self, const WspMessage * msg)
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
      start_timer (self, get_timeout (self, &self->answer_timeout));
      post_call_message (self, gst_structure_new ("wsp-ringing",
              "caller", G_TYPE_STRING, self->caller_uri,
              "callee", G_TYPE_STRING, self->callee_uri, NULL));
      break;
    case WSP_MESSAGE_OFFER:
      /* A callee may offer without ringing first. */
      if (!self->is_caller || (self->state != CALL_RINGING &&
              self->state != CALL_INVITING))
        goto unexpected;
      if (!parse_sdp (msg->sdp.sdp, &sdp))
        goto bad_sdp;
      self->state = CALL_NEGOTIATING;
      cancel_timer (self);
      self->offer = sdp;
      self->want_sdp = TRUE;
      gst_sdp_message_copy (self->offer, &sdp);
      set_remote_description (self, GST_WEBRTC_SDP_TYPE_OFFER, sdp);
      break;
    case WSP_MESSAGE_ANSWER:
      if (self->is_caller || self->state != CALL_RINGING || self->want_sdp)
        goto unexpected;
      if (!parse_sdp (msg->sdp.sdp, &sdp))
        goto bad_sdp;
      self->state = CALL_NEGOTIATING;
      start_timer (self, get_timeout (self, &self->ice_timeout));
      set_remote_description (self, GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
      break;
    case WSP_MESSAGE_ICE_CANDIDATE:
      if (self->remote_set)
        add_candidate (self, msg);
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
        transfer (self);
        break;
      }
      end_call (self, msg->bye.code, msg->bye.description, TRUE, FALSE);
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
    end_call (self, WSP_BYE_BAD_REQUEST, description, FALSE, TRUE);
    return;
  }
bad_sdp:
  GST_WARNING_OBJECT (self, "unusable SDP");
  end_call (self, WSP_BYE_BAD_REQUEST, "unusable SDP", FALSE, TRUE);
}

static void
connection_message (WspConnection * connection, WspMessage * msg,
    GstWspSignaller * self)
{
  handle_message (self, msg);
}

static void
connection_protocol_error (WspConnection * connection, GError * error,
    GstWspSignaller * self)
{
  /* The connection has sent the bye itself. */
  GST_WARNING_OBJECT (self, "peer sent a bad message: %s", error->message);
  end_call (self, wsp_error_to_bye_code (error), error->message, FALSE,
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
  end_call (self, WSP_BYE_TIMEOUT, "the peer went away", FALSE, FALSE);
}

static void
watch_connection (GstWspSignaller * self, WspConnection * connection)
{
  self->connection = g_object_ref (connection);
  g_signal_connect (connection, "message", G_CALLBACK (connection_message),
      self);
  g_signal_connect (connection, "protocol-error",
      G_CALLBACK (connection_protocol_error), self);
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed),
      self);
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
  send_message (self, msg);
}

static void
webrtc_ice_candidate (GstElement * webrtc, guint mline, gchar * candidate,
    GstWspSignaller * self)
{
  Candidate *c = g_new0 (Candidate, 1);

  c->mline = mline;
  c->candidate = g_strdup (candidate);
  run_on_context (self, on_local_candidate, c, candidate_free);
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
  end_call (self, WSP_BYE_TIMEOUT, why, FALSE, TRUE);
}

static void
start_peer_watch (GstWspSignaller * self)
{
  guint timeout = get_timeout (self, &self->peer_timeout);

  if (timeout == 0 || self->peer_watch != NULL)
    return;
  self->peer_watch = gst_wsp_peer_watch_new (self->webrtcbin,
      timeout * 1000, self->context, peer_vanished, self);
}

static void
on_connection_state (GstWspSignaller * self, gpointer data)
{
  GstWebRTCPeerConnectionState state = GPOINTER_TO_INT (data);

  if (self->state == CALL_ENDED)
    return;
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
      self->state != CALL_CONNECTED) {
    self->state = CALL_CONNECTED;
    cancel_timer (self);
    start_peer_watch (self);
    GST_INFO_OBJECT (self, "connected");
    post_call_message (self, gst_structure_new_empty ("wsp-connected"));
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    /* Connected once (the peer is watched): it went away. */
    self->lost = self->peer_watch != NULL;
    end_call (self, WSP_BYE_TIMEOUT, "ICE failed", FALSE, TRUE);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED &&
      self->state == CALL_CONNECTED) {
    /* A peer that vanished: give ICE its timeout to come back. */
    self->state = CALL_NEGOTIATING;
    start_timer (self, get_timeout (self, &self->ice_timeout));
  }
}

static void
webrtc_connection_state (GObject * webrtc, GParamSpec * pspec,
    GstWspSignaller * self)
{
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  run_on_context (self, on_connection_state, GINT_TO_POINTER (state), NULL);
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

static void
webrtc_pad_added (GstElement * webrtc, GstPad * pad, GstWspSignaller * self)
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
  templ = gst_pad_template_new ("src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
      caps);
  ghost = gst_ghost_pad_new_from_template (name, pad, templ);
  gst_object_unref (templ);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

/* Starting a call */

static void
send_invite (GstWspSignaller * self)
{
  g_autoptr (WspMessage) invite = NULL;
  g_autofree gchar *name = NULL, *snapshot = NULL;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->display_name);
  snapshot = g_strdup (self->snapshot);
  GST_OBJECT_UNLOCK (self);

  invite = wsp_message_new_invite (self->caller_uri, name, self->callee_uri,
      NULL, NULL);
  if (!wsp_message_validate (invite, NULL)) {
    end_call (self, WSP_BYE_BAD_REQUEST, "invalid local-uri or target",
        FALSE, FALSE);
    return;
  }
  /* The snapshot is a nicety: a bad one does not stop the call. */
  if (snapshot) {
    g_autoptr (WspMessage) with = wsp_message_new_invite (self->caller_uri,
        name, self->callee_uri, NULL, snapshot);
    g_autoptr (GError) error = NULL;

    if (wsp_message_validate (with, &error)) {
      wsp_message_free (invite);
      invite = g_steal_pointer (&with);
    } else {
      GST_WARNING_OBJECT (self, "invite sent without the snapshot: %s",
          error->message);
    }
  }
  self->state = CALL_INVITING;
  wsp_connection_send (self->connection, invite);
  start_timer (self, get_timeout (self, &self->ringing_timeout));
}

static void
connected (GObject * source, GAsyncResult * result, gpointer data)
{
  GstWspSignaller *self = data;
  g_autoptr (WspConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  connection = wsp_connect_finish (result, &error);
  if (connection == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      GST_WARNING_OBJECT (self, "cannot reach %s: %s", self->callee_uri,
          error->message);
      end_call (self, WSP_BYE_NOT_REACHABLE, error->message, FALSE, FALSE);
    }
    gst_object_unref (self);
    return;
  }
  if (self->state == CALL_CONNECTING) {
    gboolean hold;

    watch_connection (self, connection);
    GST_OBJECT_LOCK (self);
    hold = self->hold_invite;
    GST_OBJECT_UNLOCK (self);
    if (hold)
      GST_DEBUG_OBJECT (self, "connected; the invite waits for hold-invite");
    else
      send_invite (self);
  }
  gst_object_unref (self);
}

/* hold-invite went FALSE: a caller that is connected sends its invite now
 * (one that is still connecting sends it when connected). */
static void
release_invite (GstWspSignaller * self, gpointer data)
{
  if (self->state == CALL_CONNECTING && self->connection != NULL)
    send_invite (self);
}

static void
start_caller (GstWspSignaller * self, gpointer data)
{
  g_autofree gchar *uri = NULL;
  WspClientOptions options = { 0, };
  g_autofree gchar *ca = NULL, *pinned = NULL, *token = NULL;

  GST_OBJECT_LOCK (self);
  self->callee_uri = g_strdup (self->target);
  self->caller_uri = g_strdup (self->local_uri);
  uri = self->uri ? g_strdup (self->uri) : wsp_address_to_uri (self->target);
  ca = g_strdup (self->ca_file);
  pinned = g_strdup (self->pinned_certificate_file);
  token = g_strdup (self->token);
  GST_OBJECT_UNLOCK (self);

  self->is_caller = TRUE;
  self->state = CALL_CONNECTING;
  if (uri == NULL) {
    end_call (self, WSP_BYE_BAD_REQUEST, "target is not a WSP address",
        FALSE, FALSE);
    return;
  }
  options.ca_file = ca;
  options.pinned_certificate_file = pinned;
  options.bearer_token = token;
  GST_INFO_OBJECT (self, "calling %s at %s", self->callee_uri, uri);
  wsp_connect_async (uri, &options, self->cancellable, connected,
      gst_object_ref (self));
}

/* Callee: a socket whose first message was @invite. */
static void
answer_invite (GstWspSignaller * self, WspConnection * connection,
    const gchar * caller_uri, const gchar * callee_uri)
{
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();
  GstWebRTCDataChannel *channel = NULL;
  gboolean io;

  GST_INFO_OBJECT (self, "%s calls %s", caller_uri, callee_uri);
  self->is_caller = FALSE;
  self->caller_uri = g_strdup (caller_uri);
  self->callee_uri = g_strdup (callee_uri);
  watch_connection (self, connection);
  self->state = CALL_RINGING;
  wsp_connection_send (connection, ringing);
  post_call_message (self, gst_structure_new ("wsp-ringing",
          "caller", G_TYPE_STRING, caller_uri,
          "callee", G_TYPE_STRING, callee_uri, NULL));

  /* The offerer creates the channels before its first offer (pitfall
   * 10). */
  g_signal_emit_by_name (self->webrtcbin, "create-data-channel", "wsp", NULL,
      &channel);
  if (channel) {
    watch_wsp_channel (self, channel);
    g_object_unref (channel);
  }
  GST_OBJECT_LOCK (self);
  io = self->io_channel;
  GST_OBJECT_UNLOCK (self);
  if (io) {
    channel = NULL;
    g_signal_emit_by_name (self->webrtcbin, "create-data-channel", "io", NULL,
        &channel);
    if (channel) {
      watch_io_channel (self, channel);
      g_object_unref (channel);
    }
  }

  self->want_sdp = TRUE;
  maybe_create_sdp (self);
}

typedef struct
{
  WspConnection *connection;
  gchar *caller;
  gchar *callee;
} Accepted;

static void
accepted_free (gpointer data)
{
  Accepted *accepted = data;

  g_object_unref (accepted->connection);
  g_free (accepted->caller);
  g_free (accepted->callee);
  g_free (accepted);
}

static void
on_accepted (GstWspSignaller * self, gpointer data)
{
  Accepted *accepted = data;

  if (self->state != CALL_IDLE) {
    wsp_connection_send_bye_and_close (accepted->connection, WSP_BYE_BUSY,
        NULL);
    return;
  }
  answer_invite (self, accepted->connection, accepted->caller,
      accepted->callee);
}

static gboolean
accept_call (GstWspSignaller * self, WspConnection * connection,
    const gchar * caller_uri, const gchar * callee_uri)
{
  Accepted *accepted;

  g_return_val_if_fail (WSP_IS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (caller_uri != NULL && callee_uri != NULL, FALSE);

  if (self->cancellable == NULL || self->thread != NULL) {
    GST_WARNING_OBJECT (self, "accept-call: set PAUSED first, and leave "
        "target and listen unset");
    return FALSE;
  }
  g_mutex_lock (&self->lock);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  g_mutex_unlock (&self->lock);

  accepted = g_new0 (Accepted, 1);
  accepted->connection = g_object_ref (connection);
  accepted->caller = g_strdup (caller_uri);
  accepted->callee = g_strdup (callee_uri);
  run_on_context (self, on_accepted, accepted, accepted_free);
  return TRUE;
}

/* Listen role: our own server; the first message on a socket must be an
 * invite, and one call at a time is taken. Sockets wait in `waiting`. */

static void
stop_waiting (GstWspSignaller * self, WspConnection * connection)
{
  g_signal_handlers_disconnect_by_data (connection, self);
  g_ptr_array_remove (self->waiting, connection);
}

static void
listen_message (WspConnection * connection, WspMessage * msg,
    GstWspSignaller * self)
{
  g_autoptr (WspConnection) ref = g_object_ref (connection);

  stop_waiting (self, connection);
  if (msg->type != WSP_MESSAGE_INVITE) {
    wsp_connection_send_bye_and_close (connection, WSP_BYE_BAD_REQUEST,
        "expected invite");
    return;
  }
  if (self->state != CALL_IDLE) {
    wsp_connection_send_bye_and_close (connection, WSP_BYE_BUSY, NULL);
    return;
  }
  answer_invite (self, connection, msg->invite.caller.uri,
      msg->invite.callee.uri);
}

static void
listen_closed (WspConnection * connection, guint code, GstWspSignaller * self)
{
  stop_waiting (self, connection);
}

static void
listen_accept (WspConnection * connection, SoupServerMessage * msg,
    gpointer data)
{
  GstWspSignaller *self = data;

  if (self->stopping) {
    wsp_connection_close (connection);
    return;
  }
  g_ptr_array_add (self->waiting, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (listen_message), self);
  g_signal_connect (connection, "closed", G_CALLBACK (listen_closed), self);
}

static void
start_listener (GstWspSignaller * self, gpointer data)
{
  g_autofree gchar *listen = NULL, *cert = NULL, *key = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GInetSocketAddress) address = NULL;
  gchar *colon;

  GST_OBJECT_LOCK (self);
  listen = g_strdup (self->listen);
  cert = g_strdup (self->certificate_file);
  key = g_strdup (self->private_key_file);
  GST_OBJECT_UNLOCK (self);

  colon = strrchr (listen, ':');
  if (colon == NULL || colon == listen)
    goto bad_address;
  *colon = '\0';
  if (listen[0] == '[' && colon[-1] == ']')
    colon[-1] = '\0';
  address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string
      (listen[0] == '[' ? listen + 1 : listen, atoi (colon + 1)));
  if (address == NULL)
    goto bad_address;

  if (cert == NULL || key == NULL)
    goto no_certificate;
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  if (certificate == NULL)
    goto bad_certificate;

  self->server = soup_server_new ("tls-certificate", certificate, NULL);
  wsp_server_add_endpoint (self->server, "/wsp", NULL, listen_accept, self,
      NULL);
  /* A certificate alone does not make the listener speak TLS. */
  if (!soup_server_listen (self->server, G_SOCKET_ADDRESS (address),
          SOUP_SERVER_LISTEN_HTTPS, &error))
    goto listen_failed;
  GST_INFO_OBJECT (self, "waiting for a call on %s:%s", listen, colon + 1);
  return;

  /* ERRORS */
bad_address:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid listen address \"%s\" (expected host:port).", listen),
      (NULL));
  return;
no_certificate:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("listen needs certificate-file and private-key-file."), (NULL));
  return;
bad_certificate:
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("Cannot load the TLS certificate."), ("%s", error->message));
  return;
listen_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      ("Cannot listen on %s:%s.", listen, colon + 1), ("%s",
          error->message));
}

/* Stopping */

/* Ends the call (bye 200) and resets for the next one. */
static void
reset_call (GstWspSignaller * self)
{
  if (self->state != CALL_IDLE && self->state != CALL_ENDED)
    end_call (self, WSP_BYE_NORMAL, NULL, FALSE, TRUE);
  cancel_timer (self);
  cancel_io_wait (self);
  drop_connection (self);
  if (self->wsp_channel) {
    g_signal_handlers_disconnect_by_data (self->wsp_channel, self);
    g_clear_object (&self->wsp_channel);
  }
  unwatch_io_channel (self);
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

static void
stop_call (GstWspSignaller * self, gpointer data)
{
  self->stopping = TRUE;
  reset_call (self);
  while (self->waiting->len > 0) {
    g_autoptr (WspConnection) connection =
        g_object_ref (g_ptr_array_index (self->waiting, 0));

    stop_waiting (self, connection);
    wsp_connection_close (connection);
  }
  if (self->server) {
    soup_server_disconnect (self->server);
    g_clear_object (&self->server);
  }
}

static gpointer
signalling_thread (gpointer data)
{
  GstWspSignaller *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static void
hangup_on_context (GstWspSignaller * self, gpointer data)
{
  end_call (self, WSP_BYE_NORMAL, NULL, FALSE, TRUE);
}

static void
hangup (GstWspSignaller * self)
{
  run_on_context (self, hangup_on_context, NULL, NULL);
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

  end_call_full (self, request->code, request->description, FALSE, TRUE,
      FALSE);
}

/* "end-call": a deliberate end, so no ERROR whatever the code. */
static void
end_call_action (GstWspSignaller * self, guint code,
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
  run_on_context (self, end_call_on_context, request, end_request_free);
}

/* "send-io", from any thread: a reference to the channel is taken under
 * the lock and the text sent without it (sending is thread-safe in
 * webrtcbin). A channel not yet open is never sent on: webrtcbin checks
 * that with a critical. */
static gboolean
send_io (GstWspSignaller * self, const gchar * text)
{
  GstWebRTCDataChannel *channel = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  g_return_val_if_fail (text != NULL, FALSE);

  if (!g_utf8_validate (text, -1, NULL)) {
    GST_WARNING_OBJECT (self, "send-io: the text is not UTF-8");
    return FALSE;
  }
  g_mutex_lock (&self->lock);
  if (self->io_open && self->io_data_channel)
    channel = g_object_ref (self->io_data_channel);
  g_mutex_unlock (&self->lock);
  if (channel == NULL) {
    GST_DEBUG_OBJECT (self, "send-io: no open io channel");
    return FALSE;
  }
  ok = gst_webrtc_data_channel_send_string_full (channel, text, &error);
  if (!ok)
    GST_WARNING_OBJECT (self, "send-io: %s", error->message);
  g_object_unref (channel);
  return ok;
}

/* GObject */

static void
gst_wsp_signaller_class_init (GstWspSignallerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_wsp_signaller_set_property;
  gobject_class->get_property = gst_wsp_signaller_get_property;
  gobject_class->dispose = gst_wsp_signaller_dispose;
  gobject_class->finalize = gst_wsp_signaller_finalize;

  g_object_class_install_property (gobject_class, PROP_TARGET,
      g_param_spec_string ("target", "Target",
          "WSP address to call (user@host[:port]): makes this the caller",
          NULL, rw));
  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
          "WSP server to call through (wss://host[:port]/wsp); default: the "
          "target's host", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_LOCAL_URI,
      g_param_spec_string ("local-uri", "Local URI",
          "Our own WSP address, sent as the caller in invites",
          DEFAULT_LOCAL_URI, rw));
  g_object_class_install_property (gobject_class, PROP_DISPLAY_NAME,
      g_param_spec_string ("display-name", "Display name",
          "Our name, sent with invites (optional)", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_LISTEN,
      g_param_spec_string ("listen", "Listen",
          "host:port to serve WSP on (wss) and wait for a call: makes this "
          "the callee", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_CERTIFICATE_FILE,
      g_param_spec_string ("certificate-file", "Certificate file",
          "PEM certificate the listen role serves", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_PRIVATE_KEY_FILE,
      g_param_spec_string ("private-key-file", "Private key file",
          "PEM private key of certificate-file", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_CA_FILE,
      g_param_spec_string ("ca-file", "CA file",
          "PEM CA certificates the caller trusts instead of the system's",
          NULL, rw));
  g_object_class_install_property (gobject_class,
      PROP_PINNED_CERTIFICATE_FILE,
      g_param_spec_string ("pinned-certificate-file", "Pinned certificate",
          "PEM certificate the server must present (e.g. a station's "
          "self-signed one); when set, the only check", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token",
          "Bearer token sent when connecting (server-to-server calls)",
          NULL, rw));
  g_object_class_install_property (gobject_class, PROP_STUN_SERVER,
      g_param_spec_string ("stun-server", "STUN server",
          "stun://host:port (webrtcbin's stun-server)", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_TURN_SERVER,
      g_param_spec_string ("turn-server", "TURN server",
          "turn://user:pass@host:port?transport=udp, user and password "
          "percent-escaped (webrtcbin's turn-server)", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_LOCAL_ADDRESSES,
      g_param_spec_string ("local-addresses", "Local addresses",
          "Comma-separated IP addresses ICE may use (default: all "
          "interfaces); e.g. 127.0.0.1 for calls on loopback", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_RINGING_TIMEOUT,
      g_param_spec_uint ("ringing-timeout", "Ringing timeout",
          "Seconds the caller waits for ringing (0 = forever); then bye 408",
          0, 3600, DEFAULT_RINGING_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_ANSWER_TIMEOUT,
      g_param_spec_uint ("answer-timeout", "Answer timeout",
          "Seconds to wait for the offer (caller: the callee taking the "
          "call) or the answer (callee) (0 = forever); then bye 408",
          0, 3600, DEFAULT_ANSWER_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_ICE_TIMEOUT,
      g_param_spec_uint ("ice-timeout", "ICE timeout",
          "Seconds for ICE and DTLS to connect after the answer, or to come "
          "back after a disconnection (0 = forever); then bye 408",
          0, 3600, DEFAULT_ICE_TIMEOUT, rw));
  /**
   * GstWspSignaller:peer-timeout:
   *
   * Seconds without a single packet from the peer (RTP, RTCP, DTLS, SCTP)
   * after which a connected call is over: the peer vanished (a closed tab
   * or browser, a killed process, a lost network, a suspended phone),
   * which webrtcbin 1.22 does not report. The call ends with `bye` 408,
   * `wsp-ended` says `lost`, and an ERROR is posted. Every WebRTC peer in
   * a call sends RTCP at least every 7.5 s (RFC 3550; browsers every
   * second), so the default 8 does not cut off a peer that only receives.
   */
  g_object_class_install_property (gobject_class, PROP_PEER_TIMEOUT,
      g_param_spec_uint ("peer-timeout", "Peer timeout",
          "Seconds without any packet from the connected peer after which "
          "it has vanished: bye 408 (0 = never)", 0, 3600,
          DEFAULT_PEER_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_IO_CHANNEL,
      g_param_spec_boolean ("io-channel", "io channel",
          "Make sure the call has the `io` data channel: the callee creates "
          "it before the offer; the caller creates it after the hand-over "
          "if the peer did not", FALSE, rw));
  /**
   * GstWspSignaller:snapshot:
   *
   * A still of the visitor as a `data:image/jpeg;base64,...` URL, sent as
   * the `snapshot` option of the caller's `invite`. It is read when the
   * invite is sent, once the WebSocket is open after the caller goes to
   * PAUSED: set it before that. One that fails the protocol's checks
   * (prefix, base64, 512 KiB) is left out with a warning, and the invite
   * goes without it.
   */
  g_object_class_install_property (gobject_class, PROP_SNAPSHOT,
      g_param_spec_string ("snapshot", "Snapshot",
          "data:image/jpeg;base64,... URL sent with the caller's invite "
          "(read when the invite is sent; left out if invalid)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstWspSignaller:hold-invite:
   *
   * Caller only: while TRUE, the element opens its WebSocket but holds the
   * `invite`; setting it to FALSE sends it at once (or as soon as the
   * socket is open). An application that makes the snapshot while the
   * connection is being made sets it TRUE before starting the element and
   * FALSE after setting #GstWspSignaller:snapshot, so the connection's
   * time (TLS handshake, network round trips) hides behind the snapshot's.
   * A held call is ended like any other (hangup, end-call, stop).
   */
  g_object_class_install_property (gobject_class, PROP_HOLD_INVITE,
      g_param_spec_boolean ("hold-invite", "Hold the invite",
          "Caller: connect, but send the invite only once this is FALSE",
          FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstWspSignaller:lip-sync:
   *
   * TRUE: the streams sent form one MediaStream, and a receiving browser
   * delays whichever is ahead to keep audio and video in step. FALSE:
   * each stream is a MediaStream of its own (its `msid` is the sink pad's
   * name and kind, e.g. `sink_0-video`), and the browser plays each as
   * soon as it can: the video is not held back for the audio's deeper
   * jitter buffer.
   */
  g_object_class_install_property (gobject_class, PROP_LIP_SYNC,
      g_param_spec_boolean ("lip-sync", "Lip sync",
          "Send the streams as one MediaStream, so the receiver keeps them "
          "in step (FALSE: one each, each played as early as it can be)",
          DEFAULT_LIP_SYNC, rw));
  g_object_class_install_property (gobject_class, PROP_RECV_AUDIO,
      g_param_spec_boolean ("recv-audio", "Receive audio",
          "Receive the peer's audio", DEFAULT_RECV_AUDIO, rw));
  g_object_class_install_property (gobject_class, PROP_RECV_VIDEO,
      g_param_spec_boolean ("recv-video", "Receive video",
          "Receive the peer's video", DEFAULT_RECV_VIDEO, rw));
  g_object_class_install_property (gobject_class, PROP_RECV_AUDIO_CAPS,
      g_param_spec_boxed ("recv-audio-caps", "Receive audio caps",
          "Audio codecs to offer for receiving when we send no audio "
          "(RTP caps, in order of preference)", GST_TYPE_CAPS, rw));
  g_object_class_install_property (gobject_class, PROP_RECV_VIDEO_CAPS,
      g_param_spec_boxed ("recv-video-caps", "Receive video caps",
          "Video codecs to offer for receiving when we send no video "
          "(RTP caps, in order of preference)", GST_TYPE_CAPS, rw));
  g_object_class_install_property (gobject_class, PROP_WEBRTCBIN,
      g_param_spec_object ("webrtcbin", "webrtcbin",
          "The webrtcbin this element drives (for stats and its own "
          "properties)", GST_TYPE_ELEMENT,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstWspSignaller::hangup:
   *
   * Ends the call with `bye` 200.
   */
  signals[SIGNAL_HANGUP] = g_signal_new_class_handler ("hangup",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (hangup), NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * GstWspSignaller::end-call:
   * @code: the WSP `bye` code, e.g. 487 (answered elsewhere or cancelled),
   *   408 (timeout), 603 (declined)
   * @description: (nullable): the `bye` description, or NULL for the
   *   code's own text
   *
   * Ends the call with `bye` @code, like "hangup" with a code of the
   * application's choosing. A deliberate end: `wsp-ended` has `remote`
   * FALSE and no ERROR is posted, whatever the code. A code that is not a
   * WSP `bye` code, or 101, is replaced by 200 (with a warning); a
   * description not valid in a `bye` (over 256 bytes, control characters)
   * by the code's own text. Callable from any thread; the call ends on the
   * signalling context.
   */
  signals[SIGNAL_END_CALL] = g_signal_new_class_handler ("end-call",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (end_call_action), NULL, NULL, NULL, G_TYPE_NONE, 2,
      G_TYPE_UINT, G_TYPE_STRING);

  /**
   * GstWspSignaller::accept-call:
   * @connection: a #WspConnection (libopenintercom-wsptransport) whose
   *   first message was an `invite`
   * @caller_uri: the invite's `caller.uri`
   * @callee_uri: the invite's `callee.uri`
   *
   * The callee side from C, for an application with its own WSP server
   * (which read the invite, e.g. to check allow-lists). Emit it once the
   * element is PAUSED or PLAYING, with neither target nor listen set, from
   * the thread of @connection's main context: the call runs on that
   * context, so the application's main loop must run. The application
   * should disconnect its own "message" handler first.
   *
   * Returns: TRUE if the element takes the call.
   */
  signals[SIGNAL_ACCEPT_CALL] = g_signal_new_class_handler ("accept-call",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (accept_call), NULL, NULL, NULL, G_TYPE_BOOLEAN, 3,
      G_TYPE_OBJECT, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * GstWspSignaller::io-opened:
   *
   * The call's `io` data channel is open, whichever side created it:
   * "send-io" works from now on. Emitted once per call, on the signalling
   * context (the element's own thread for target and listen, the
   * application's for accept-call), before any "io-message".
   */
  signals[SIGNAL_IO_OPENED] = g_signal_new ("io-opened",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 0);

  /**
   * GstWspSignaller::io-message:
   * @text: the message, as received (not parsed: see `wspio.h`)
   *
   * A text message arrived on the call's `io` data channel. Emitted on the
   * signalling context, in the order received, only during the call.
   * Binary messages on the channel are ignored with a warning.
   */
  signals[SIGNAL_IO_MESSAGE] = g_signal_new ("io-message",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * GstWspSignaller::send-io:
   * @text: a UTF-8 message (an `io` message is a JSON array, see
   *   `wspio.h`; it is sent as given)
   *
   * Sends @text on the call's `io` data channel. Callable from any thread.
   *
   * Returns: TRUE if it was handed to the channel; FALSE if the channel is
   * not open (before "io-opened", after it closed or the call ended) or
   * the channel refused it.
   */
  signals[SIGNAL_SEND_IO] = g_signal_new_class_handler ("send-io",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (send_io), NULL, NULL, NULL, G_TYPE_BOOLEAN, 1,
      G_TYPE_STRING);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  gst_element_class_set_static_metadata (element_class,
      "WSP WebRTC endpoint", "Filter/Network/WebRTC",
      "A webrtcbin whose calls are set up with WSP (invite, offer/answer, "
      "ICE, hand-over to the wsp data channel, bye)",
      "Open Intercom developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_wsp_signaller_change_state);
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_wsp_signaller_request_new_pad);
  element_class->release_pad =
      GST_DEBUG_FUNCPTR (gst_wsp_signaller_release_pad);
}

static void
sink_stream_free (gpointer data)
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

static void
gst_wsp_signaller_init (GstWspSignaller * self)
{
  self->local_uri = g_strdup (DEFAULT_LOCAL_URI);
  self->ringing_timeout = DEFAULT_RINGING_TIMEOUT;
  self->answer_timeout = DEFAULT_ANSWER_TIMEOUT;
  self->ice_timeout = DEFAULT_ICE_TIMEOUT;
  self->peer_timeout = DEFAULT_PEER_TIMEOUT;
  self->recv_audio = DEFAULT_RECV_AUDIO;
  self->lip_sync = DEFAULT_LIP_SYNC;
  self->recv_video = DEFAULT_RECV_VIDEO;
  self->recv_audio_caps = gst_caps_from_string (DEFAULT_RECV_AUDIO_CAPS);
  self->recv_video_caps = gst_caps_from_string (DEFAULT_RECV_VIDEO_CAPS);
  g_mutex_init (&self->lock);
  self->streams = g_ptr_array_new_with_free_func (sink_stream_free);
  self->pending_candidates =
      g_ptr_array_new_with_free_func ((GDestroyNotify) wsp_message_free);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);

  self->webrtcbin = gst_element_factory_make ("webrtcbin", "webrtcbin");
  g_assert (self->webrtcbin != NULL);
  gst_object_ref (self->webrtcbin);
  /* Chromium needs max-bundle (pitfall 1). */
  gst_util_set_object_arg (G_OBJECT (self->webrtcbin), "bundle-policy",
      "max-bundle");
  gst_bin_add (GST_BIN (self), self->webrtcbin);
  g_signal_connect (self->webrtcbin, "on-ice-candidate",
      G_CALLBACK (webrtc_ice_candidate), self);
  g_signal_connect (self->webrtcbin, "notify::connection-state",
      G_CALLBACK (webrtc_connection_state), self);
  g_signal_connect (self->webrtcbin, "on-data-channel",
      G_CALLBACK (webrtc_data_channel), self);
  g_signal_connect (self->webrtcbin, "pad-added",
      G_CALLBACK (webrtc_pad_added), self);
}

/* webrtcbin's own threads may hold it, and emit (connection state, pads,
 * candidates) while it closes, after this element is gone: its signals
 * must not reach us from here on. */
static void
gst_wsp_signaller_dispose (GObject * object)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (object);

  g_signal_handlers_disconnect_by_data (self->webrtcbin, self);
  if (self->wsp_channel) {
    g_signal_handlers_disconnect_by_data (self->wsp_channel, self);
    g_clear_object (&self->wsp_channel);
  }
  unwatch_io_channel (self);
  G_OBJECT_CLASS (parent_class)->dispose (object);
}

static void
gst_wsp_signaller_finalize (GObject * object)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (object);

  g_free (self->target);
  g_free (self->uri);
  g_free (self->local_uri);
  g_free (self->display_name);
  g_free (self->listen);
  g_free (self->certificate_file);
  g_free (self->private_key_file);
  g_free (self->ca_file);
  g_free (self->pinned_certificate_file);
  g_free (self->token);
  g_free (self->local_addresses);
  g_free (self->snapshot);
  gst_caps_unref (self->recv_audio_caps);
  gst_caps_unref (self->recv_video_caps);
  g_ptr_array_unref (self->streams);
  gst_object_unref (self->webrtcbin);
  g_ptr_array_unref (self->pending_candidates);
  g_ptr_array_unref (self->waiting);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
set_string (GstWspSignaller * self, gchar ** field, const GValue * value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_wsp_signaller_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (object);

  GST_OBJECT_LOCK (self);
  /* The snapshot is read when the invite is sent, and may be set late;
   * hold-invite releases it. */
  if (self->started && prop_id != PROP_SNAPSHOT
      && prop_id != PROP_HOLD_INVITE) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "cannot change \"%s\" during a call",
        pspec->name);
    return;
  }
  if (prop_id == PROP_STUN_SERVER || prop_id == PROP_TURN_SERVER) {
    GST_OBJECT_UNLOCK (self);
    g_object_set_property (G_OBJECT (self->webrtcbin), pspec->name, value);
    return;
  }

  switch (prop_id) {
    case PROP_TARGET:
      set_string (self, &self->target, value);
      break;
    case PROP_URI:
      set_string (self, &self->uri, value);
      break;
    case PROP_LOCAL_URI:
      set_string (self, &self->local_uri, value);
      break;
    case PROP_DISPLAY_NAME:
      set_string (self, &self->display_name, value);
      break;
    case PROP_LISTEN:
      set_string (self, &self->listen, value);
      break;
    case PROP_CERTIFICATE_FILE:
      set_string (self, &self->certificate_file, value);
      break;
    case PROP_PRIVATE_KEY_FILE:
      set_string (self, &self->private_key_file, value);
      break;
    case PROP_CA_FILE:
      set_string (self, &self->ca_file, value);
      break;
    case PROP_PINNED_CERTIFICATE_FILE:
      set_string (self, &self->pinned_certificate_file, value);
      break;
    case PROP_TOKEN:
      set_string (self, &self->token, value);
      break;
    case PROP_LOCAL_ADDRESSES:
      set_string (self, &self->local_addresses, value);
      break;
    case PROP_RINGING_TIMEOUT:
      self->ringing_timeout = g_value_get_uint (value);
      break;
    case PROP_ANSWER_TIMEOUT:
      self->answer_timeout = g_value_get_uint (value);
      break;
    case PROP_ICE_TIMEOUT:
      self->ice_timeout = g_value_get_uint (value);
      break;
    case PROP_PEER_TIMEOUT:
      self->peer_timeout = g_value_get_uint (value);
      break;
    case PROP_IO_CHANNEL:
      self->io_channel = g_value_get_boolean (value);
      break;
    case PROP_SNAPSHOT:
      set_string (self, &self->snapshot, value);
      break;
    case PROP_LIP_SYNC:
      self->lip_sync = g_value_get_boolean (value);
      break;
    case PROP_HOLD_INVITE:{
      gboolean release = self->hold_invite && !g_value_get_boolean (value)
          && self->started;

      self->hold_invite = g_value_get_boolean (value);
      if (release) {
        GST_OBJECT_UNLOCK (self);
        run_on_context (self, release_invite, NULL, NULL);
        return;
      }
      break;
    }
    case PROP_RECV_AUDIO:
      self->recv_audio = g_value_get_boolean (value);
      break;
    case PROP_RECV_VIDEO:
      self->recv_video = g_value_get_boolean (value);
      break;
    case PROP_RECV_AUDIO_CAPS:
    case PROP_RECV_VIDEO_CAPS:
    {
      GstCaps **field = prop_id == PROP_RECV_AUDIO_CAPS ?
          &self->recv_audio_caps : &self->recv_video_caps;
      const GstCaps *caps = gst_value_get_caps (value);

      if (caps && !gst_caps_is_empty (caps))
        gst_caps_replace (field, (GstCaps *) caps);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_wsp_signaller_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (object);

  if (prop_id == PROP_STUN_SERVER || prop_id == PROP_TURN_SERVER) {
    g_object_get_property (G_OBJECT (self->webrtcbin), pspec->name, value);
    return;
  }
  if (prop_id == PROP_WEBRTCBIN) {
    g_value_set_object (value, self->webrtcbin);
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TARGET:
      g_value_set_string (value, self->target);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_LOCAL_URI:
      g_value_set_string (value, self->local_uri);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_LISTEN:
      g_value_set_string (value, self->listen);
      break;
    case PROP_CERTIFICATE_FILE:
      g_value_set_string (value, self->certificate_file);
      break;
    case PROP_PRIVATE_KEY_FILE:
      g_value_set_string (value, self->private_key_file);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_PINNED_CERTIFICATE_FILE:
      g_value_set_string (value, self->pinned_certificate_file);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_LOCAL_ADDRESSES:
      g_value_set_string (value, self->local_addresses);
      break;
    case PROP_RINGING_TIMEOUT:
      g_value_set_uint (value, self->ringing_timeout);
      break;
    case PROP_ANSWER_TIMEOUT:
      g_value_set_uint (value, self->answer_timeout);
      break;
    case PROP_ICE_TIMEOUT:
      g_value_set_uint (value, self->ice_timeout);
      break;
    case PROP_PEER_TIMEOUT:
      g_value_set_uint (value, self->peer_timeout);
      break;
    case PROP_IO_CHANNEL:
      g_value_set_boolean (value, self->io_channel);
      break;
    case PROP_SNAPSHOT:
      g_value_set_string (value, self->snapshot);
      break;
    case PROP_HOLD_INVITE:
      g_value_set_boolean (value, self->hold_invite);
      break;
    case PROP_LIP_SYNC:
      g_value_set_boolean (value, self->lip_sync);
      break;
    case PROP_RECV_AUDIO:
      g_value_set_boolean (value, self->recv_audio);
      break;
    case PROP_RECV_VIDEO:
      g_value_set_boolean (value, self->recv_video);
      break;
    case PROP_RECV_AUDIO_CAPS:
      gst_value_set_caps (value, self->recv_audio_caps);
      break;
    case PROP_RECV_VIDEO_CAPS:
      gst_value_set_caps (value, self->recv_video_caps);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
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
  run_on_context (stream->self, on_stream_caps, NULL, NULL);
  return GST_PAD_PROBE_OK;
}

static GstPad *
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
  stream->ghost = gst_ghost_pad_new_from_template (pad_name, queue_sink,
      templ);
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

static void
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
  sink_stream_free (stream);
}

/* State changes */

static void
configure_ice (GstWspSignaller * self)
{
  g_autofree gchar *addresses = NULL;
  GstWebRTCICE *ice = NULL;
  GObject *agent = NULL;

  GST_OBJECT_LOCK (self);
  addresses = g_strdup (self->local_addresses);
  GST_OBJECT_UNLOCK (self);

  g_object_get (self->webrtcbin, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  /* No UPnP: it multicasts SSDP on every call (pitfall 16). */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent")) {
    g_object_get (ice, "agent", &agent, NULL);
    if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent),
            "upnp"))
      g_object_set (agent, "upnp", FALSE, NULL);
    g_clear_object (&agent);
  }
  /* Only these addresses, when given (loopback is skipped otherwise:
   * pitfall 11). */
  if (addresses) {
    g_auto (GStrv) list = g_strsplit (addresses, ",", -1);

    for (guint i = 0; list[i]; i++) {
      gboolean ok = FALSE;

      g_strstrip (list[i]);
      if (*list[i])
        g_signal_emit_by_name (ice, "add-local-ip-address", list[i], &ok);
      if (!ok)
        GST_WARNING_OBJECT (self, "ICE refused local address %s", list[i]);
    }
  }
  gst_object_unref (ice);
}

static gboolean
start (GstWspSignaller * self)
{
  gboolean caller, listener;

  GST_OBJECT_LOCK (self);
  caller = self->target != NULL;
  listener = self->listen != NULL;
  self->started = TRUE;
  self->media_ended = FALSE;
  GST_OBJECT_UNLOCK (self);

  configure_ice (self);

  self->cancellable = g_cancellable_new ();
  /* Without target or listen, C hands over a call with accept_call(),
   * which runs it on the application's context. */
  if (!caller && !listener)
    return TRUE;

  g_mutex_lock (&self->lock);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("wspsignaller", signalling_thread, self);
  g_mutex_unlock (&self->lock);

  self->stopping = FALSE;
  if (caller)
    run_on_context (self, start_caller, NULL, NULL);
  else if (listener)
    run_on_context (self, start_listener, NULL, NULL);
  return TRUE;
}

static void
stop (GstWspSignaller * self)
{
  GThread *thread;

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  run_on_context_sync (self, stop_call);

  g_mutex_lock (&self->lock);
  self->generation++;
  thread = g_steal_pointer (&self->thread);
  g_mutex_unlock (&self->lock);

  if (thread) {
    g_main_loop_quit (self->loop);
    g_thread_join (thread);
    g_clear_pointer (&self->loop, g_main_loop_unref);
  }
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_unlock (&self->lock);
  g_clear_object (&self->cancellable);

  GST_OBJECT_LOCK (self);
  self->started = FALSE;
  GST_OBJECT_UNLOCK (self);
}

/* Whether this element, or a bin it is in, is on its way below PAUSED:
 * bins move their children one state at a time, so only the top of the
 * hierarchy knows that a PLAYING -> PAUSED is part of a stop. */
static gboolean
stopping_for_good (GstElement * element)
{
  GstObject *object = gst_object_ref (GST_OBJECT (element));
  gboolean stopping = FALSE;

  while (object != NULL && !stopping) {
    GstObject *parent = gst_object_get_parent (object);

    if (GST_IS_ELEMENT (object))
      stopping = GST_STATE_TARGET (object) < GST_STATE_PAUSED;
    gst_object_unref (object);
    object = parent;
  }
  gst_clear_object (&object);
  return stopping;
}

static GstStateChangeReturn
gst_wsp_signaller_change_state (GstElement * element,
    GstStateChange transition)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (element);
  GstStateChangeReturn ret;

  /* Going down for good: end the call while webrtcbin still plays. Once
   * it is PAUSED its network sinks hold data, and the bye would not leave.
   * A plain pause keeps the call. */
  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED &&
      stopping_for_good (element))
    run_on_context_sync (self, stop_call);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    stop (self);

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    wait_for_eos_pushes (self);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start (self))
    return GST_STATE_CHANGE_FAILURE;

  return ret;
}
