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
 *   target's WSP server (`wss://host[:port]/wsp`, or #GstWspSignaller:uri,
 *   which may also be `inproc://NAME`: a server the application runs in
 *   the same process, reached over a socket pair) and sends `invite`. The callee answers by making the offer: it takes the
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

/* The element: its properties, signals, pads and states. The call it runs
 * is in gstwspcall.c, the roles in gstwspcaller.c and gstwspcallee.c, the
 * media in gstwspmedia.c, the data channels in gstwsphandover.c and
 * gstwspiochannel.c; gstwspsignaller-private.h joins them. */

#include "gstwspsignaller-private.h"
#include "gstoiwspelements.h"

GST_DEBUG_CATEGORY (gst_wsp_signaller_debug);

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

guint gst_wsp_signaller_signals[N_SIGNALS];

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

static gpointer
signalling_thread (gpointer data)
{
  GstWspSignaller *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
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
          "WSP server to call through (wss://host[:port]/wsp), or "
          "inproc://NAME for a WSP server in this process (an application's "
          "own home server: a socket pair, no TLS, no HTTP, no port; "
          "wsptransport.h); default: the target's host", NULL, rw));
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
  gst_wsp_signaller_signals[SIGNAL_HANGUP] =
      g_signal_new_class_handler ("hangup", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (gst_wsp_call_hangup),
      NULL, NULL, NULL, G_TYPE_NONE, 0);

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
  gst_wsp_signaller_signals[SIGNAL_END_CALL] =
      g_signal_new_class_handler ("end-call", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (gst_wsp_call_end_action),
      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);

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
  gst_wsp_signaller_signals[SIGNAL_ACCEPT_CALL] =
      g_signal_new_class_handler ("accept-call", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_wsp_callee_accept_call), NULL, NULL, NULL, G_TYPE_BOOLEAN,
      3, G_TYPE_OBJECT, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * GstWspSignaller::io-opened:
   *
   * The call's `io` data channel is open, whichever side created it:
   * "send-io" works from now on. Emitted once per call, on the signalling
   * context (the element's own thread for target and listen, the
   * application's for accept-call), before any "io-message".
   */
  gst_wsp_signaller_signals[SIGNAL_IO_OPENED] = g_signal_new ("io-opened",
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
  gst_wsp_signaller_signals[SIGNAL_IO_MESSAGE] = g_signal_new ("io-message",
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
  gst_wsp_signaller_signals[SIGNAL_SEND_IO] =
      g_signal_new_class_handler ("send-io", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (gst_wsp_io_send), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

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
  self->streams = g_ptr_array_new_with_free_func (gst_wsp_media_stream_free);
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
      G_CALLBACK (gst_wsp_call_on_ice_candidate), self);
  g_signal_connect (self->webrtcbin, "notify::connection-state",
      G_CALLBACK (gst_wsp_call_on_connection_state), self);
  g_signal_connect (self->webrtcbin, "on-data-channel",
      G_CALLBACK (gst_wsp_handover_on_data_channel), self);
  g_signal_connect (self->webrtcbin, "pad-added",
      G_CALLBACK (gst_wsp_media_pad_added), self);
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
  gst_wsp_io_unwatch_channel (self);
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
  if (self->started && prop_id != PROP_SNAPSHOT && prop_id != PROP_HOLD_INVITE) {
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
        gst_wsp_run_on_context (self, gst_wsp_caller_release_invite, NULL,
            NULL);
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
  self->stopping = FALSE;
  /* Without target or listen, C hands over a call with "accept-call"
   * (gst_wsp_callee_accept_call()), which runs it on the application's
   * context. */
  if (!caller && !listener)
    return TRUE;

  g_mutex_lock (&self->lock);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("wspsignaller", signalling_thread, self);
  g_mutex_unlock (&self->lock);

  if (caller)
    gst_wsp_run_on_context (self, gst_wsp_caller_start, NULL, NULL);
  else if (listener)
    gst_wsp_run_on_context (self, gst_wsp_callee_start_listener, NULL, NULL);
  return TRUE;
}

static void
stop (GstWspSignaller * self)
{
  GThread *thread;

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  gst_wsp_run_on_context_sync (self, gst_wsp_call_stop);

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
gst_wsp_signaller_change_state (GstElement * element, GstStateChange transition)
{
  GstWspSignaller *self = GST_WSP_SIGNALLER (element);
  GstStateChangeReturn ret;

  /* Going down for good: end the call while webrtcbin still plays. Once
   * it is PAUSED its network sinks hold data, and the bye would not leave.
   * A plain pause keeps the call. */
  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED &&
      stopping_for_good (element))
    gst_wsp_run_on_context_sync (self, gst_wsp_call_stop);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    stop (self);

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_wsp_call_wait_for_eos_pushes (self);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start (self))
    return GST_STATE_CHANGE_FAILURE;

  return ret;
}
