/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP over a libsoup-3 WebSocket: the connection object, with its limits
 * (size, rate), its keepalive watchdog and its close rules. How a
 * connection is made is wspclient.c's (connect) and wspserver.c's (the
 * endpoint); the behaviour is documented in wsptransport.h, and what is
 * here is how libsoup 3.2 is made to give it.
 *
 * Facts of libsoup 3.2.3 the transport relies on (read in its source, and
 * checked by tests/check/libs/wsp/wsptransport.c):
 *
 * - "max-incoming-payload-size" is checked against each frame header's
 *   length before the payload is read. Over it, libsoup emits "error"
 *   (SOUP_WEBSOCKET_ERROR, 1009) while the socket is still open, then shuts
 *   the stream down at once without a close frame; "closed" follows.
 * - That limit is per frame, not per message: the fragments of one message
 *   are appended without a limit, and there is no hook per fragment. The
 *   server reads through a stream of its own that follows the frame headers
 *   and fails the read when a message grows too large (WspGuardStream). A
 *   client's SoupSession builds its WebSocket itself, so the client checks
 *   the size of the whole message once delivered, after libsoup buffered
 *   it.
 * - A SoupServer's websocket handler accepts permessage-deflate when a
 *   client offers it (all browsers do), and the payload limit applies to
 *   the compressed frame: a small frame could inflate to hundreds of
 *   megabytes. The endpoint negotiates no extension. (A SoupSession offers
 *   it only if a SoupWebsocketExtensionManager is added, which 3.2 does not
 *   do.)
 * - Messages still in the read buffer are delivered after
 *   soup_websocket_connection_close(); this file ignores them.
 * - There is no "keepalive-pong-timeout" (it came in 3.6): libsoup sends
 *   pings but never notices that no pong comes. A watchdog here does.
 * - The "pong" signal is declared with a GBytes but emitted with a
 *   GByteArray: its argument must not be touched.
 * - soup_server_add_websocket_handler() with protocols {"wsp-1.0"} accepts a
 *   request that names no subprotocol at all (DESIGN pitfall 14), and makes
 *   the WebSocket on the bare socket. So the endpoint is a plain handler:
 *   it refuses a request without `wsp-1.0` with 400, runs libsoup's own
 *   handshake (soup_websocket_server_process_handshake(), no extensions),
 *   and builds the WebSocket on the guarded stream once the 101 is out.
 * - After soup_websocket_connection_close(), libsoup waits up to 5 seconds
 *   for the peer's close frame before it shuts the stream and emits
 *   "closed".
 */

#include "wsptransport-private.h"

#include <string.h>

#define DEFAULT_MAX_MESSAGES_PER_SECOND 20
#define DEFAULT_MAX_BURST 40
#define DEFAULT_KEEPALIVE_INTERVAL 15

/* A peer from which nothing, not even a pong, has come for this many
 * keepalive intervals is taken as gone: one ping has then gone unanswered
 * for at least a whole interval. */
#define KEEPALIVE_MISSED_INTERVALS 2

struct _WspConnection
{
  GObject parent;

  GMainContext *context;
  SoupWebsocketConnection *ws;
  GSocketAddress *remote_address;
  WspLimits limits;

  /* Token bucket of incoming messages. */
  gdouble tokens;
  gint64 tokens_time;

  /* Keepalive watchdog. */
  gint64 last_heard;
  GSource *watchdog;

  /* This side stopped taking messages (it closed, or refused the peer):
   * nothing more is sent, and what is still in libsoup's read buffer is
   * dropped. */
  gboolean closing;
  /* The WebSocket close code this side closed with, 0 if it did not. */
  gushort close_code;
  gboolean closed_emitted;
};

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_CLOSED,
  SIGNAL_PROTOCOL_ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (WspConnection, wsp_connection, G_TYPE_OBJECT);

void
wsp_limits_resolve (const WspLimits * limits, WspLimits * out)
{
  static const WspLimits none = { 0, };

  if (limits == NULL)
    limits = &none;

  out->max_message_size = limits->max_message_size ?
      limits->max_message_size : WSP_INVITE_MAX_SIZE;
  out->max_messages_per_second = limits->max_messages_per_second ?
      limits->max_messages_per_second : DEFAULT_MAX_MESSAGES_PER_SECOND;
  out->max_burst = limits->max_burst ? limits->max_burst : DEFAULT_MAX_BURST;
  out->keepalive_interval = limits->keepalive_interval ?
      limits->keepalive_interval : DEFAULT_KEEPALIVE_INTERVAL;
}

static void
stop_watchdog (WspConnection * self)
{
  if (self->watchdog != NULL) {
    g_source_destroy (self->watchdog);
    g_clear_pointer (&self->watchdog, g_source_unref);
  }
}

static void
emit_closed (WspConnection * self)
{
  gushort code;

  if (self->closed_emitted)
    return;

  self->closed_emitted = TRUE;
  self->closing = TRUE;
  stop_watchdog (self);

  /* The reason this side closed is the more telling one; the peer's code is
   * the echo of it anyway. No code at all: no close frame came (1006, as
   * RFC 6455 §7.1.5 names it for APIs). */
  code = self->close_code;
  if (code == 0)
    code = soup_websocket_connection_get_close_code (self->ws);
  if (code == 0)
    code = SOUP_WEBSOCKET_CLOSE_ABNORMAL;

  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, (guint) code);
}

/* Starts the WebSocket close handshake with @code (once). */
static void
start_close (WspConnection * self, gushort code)
{
  self->closing = TRUE;
  stop_watchdog (self);

  if (soup_websocket_connection_get_state (self->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN)
    return;

  self->close_code = code;
  soup_websocket_connection_close (self->ws, code, NULL);
}

static void
send_text (WspConnection * self, const WspMessage * message)
{
  g_autofree gchar *text = NULL;

  if (self->closing || soup_websocket_connection_get_state (self->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN)
    return;

  /* NULL, with a critical, for a message that fails validation. */
  text = wsp_message_serialize (message);
  if (text != NULL)
    soup_websocket_connection_send_text (self->ws, text);
}

/* The peer sent something invalid: `bye` with the code @error maps to, a
 * close with @ws_code, then "protocol-error". "closed" follows from
 * libsoup. */
static void
refuse_peer (WspConnection * self, GError * error, gushort ws_code)
{
  g_autoptr (WspMessage) bye = NULL;
  g_autofree gchar *peer = NULL;
  WspByeCode code;

  if (self->closing)
    return;

  if (self->remote_address != NULL)
    peer = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE
        (self->remote_address));
  g_info ("closing the WSP socket of %s: %s", peer ? peer : "(unknown)",
      error->message);

  /* The generic text, not error->message: that may quote the peer's
   * input, which need not be valid in a description. */
  code = wsp_error_to_bye_code (error);
  bye = wsp_message_new_bye (code, wsp_bye_code_to_string (code));
  send_text (self, bye);
  start_close (self, ws_code);

  g_signal_emit (self, signals[SIGNAL_PROTOCOL_ERROR], 0, error);
}

/* TRUE if one more message fits the rate limit. */
static gboolean
take_token (WspConnection * self)
{
  gint64 now = g_get_monotonic_time ();

  self->tokens += (gdouble) (now - self->tokens_time) *
      self->limits.max_messages_per_second / G_USEC_PER_SEC;
  self->tokens = MIN (self->tokens, (gdouble) self->limits.max_burst);
  self->tokens_time = now;

  if (self->tokens < 1.0)
    return FALSE;
  self->tokens -= 1.0;
  return TRUE;
}

static void
on_ws_message (SoupWebsocketConnection * ws, gint type, GBytes * data,
    WspConnection * self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WspMessage) message = NULL;
  g_autoptr (WspConnection) alive = NULL;
  const gchar *text;
  gsize len;

  /* libsoup delivers what is left in its read buffer after a close. */
  if (self->closing)
    return;

  /* A handler of ours may drop the last reference to the connection. */
  alive = g_object_ref (self);

  self->last_heard = g_get_monotonic_time ();
  text = g_bytes_get_data (data, &len);

  if (!take_token (self)) {
    error = g_error_new (WSP_ERROR, WSP_ERROR_TOO_LARGE, "more than %u "
        "messages at once, or more than %u per second",
        self->limits.max_burst, self->limits.max_messages_per_second);
    goto refuse_policy;
  }

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    error = g_error_new_literal (WSP_ERROR, WSP_ERROR_NOT_TEXT,
        "binary WebSocket message");
    refuse_peer (self, error, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);
    return;
  }

  /* On the client, libsoup limits frames, not messages (the server's
   * guard stream has stopped a long message before it got here). */
  if (len > self->limits.max_message_size) {
    error = g_error_new (WSP_ERROR, WSP_ERROR_TOO_LARGE, "message of %"
        G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT, len,
        self->limits.max_message_size);
    refuse_peer (self, error, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
    return;
  }

  if (!wsp_message_parse (text, len, &message, &error))
    goto refuse_policy;

  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, message);
  return;

  /* ERRORS */
refuse_policy:
  {
    refuse_peer (self, error, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
    return;
  }
}

static void
on_ws_error (SoupWebsocketConnection * ws, GError * ws_error,
    WspConnection * self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WspConnection) alive = g_object_ref (self);
  WspError code;
  gushort close_code;

  if (self->closing) {
    g_debug ("WebSocket error while closing: %s", ws_error->message);
    return;
  }

  /* The server's size guard failed the read (see WspGuardInput). */
  if (ws_error->domain == WSP_ERROR) {
    refuse_peer (self, ws_error, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
    return;
  }

  if (ws_error->domain != SOUP_WEBSOCKET_ERROR) {
    /* I/O and TLS failures are no fault of the peer's messages: "closed"
     * follows, that is all. */
    g_debug ("WebSocket error: %s", ws_error->message);
    return;
  }

  /* The peer broke the WebSocket framing. libsoup is about to close;
   * while it is still open, a `bye` may go out first. After an oversized
   * frame libsoup shuts the stream right after this signal, and the peer,
   * busy sending, may never read that `bye`. */
  switch (ws_error->code) {
    case SOUP_WEBSOCKET_CLOSE_TOO_BIG:
      code = WSP_ERROR_TOO_LARGE;
      close_code = SOUP_WEBSOCKET_CLOSE_TOO_BIG;
      break;
    case SOUP_WEBSOCKET_CLOSE_BAD_DATA:
      /* A text frame that is not UTF-8. */
      code = WSP_ERROR_NOT_TEXT;
      close_code = SOUP_WEBSOCKET_CLOSE_BAD_DATA;
      break;
    default:
      /* Bad framing, masking, close frame or control frame. */
      code = WSP_ERROR_SYNTAX;
      close_code = SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR;
      break;
  }
  error = g_error_new (WSP_ERROR, code, "%s", ws_error->message);
  refuse_peer (self, error, close_code);
}

static void
on_ws_pong (SoupWebsocketConnection * ws, gpointer wrongly_typed,
    WspConnection * self)
{
  self->last_heard = g_get_monotonic_time ();
}

static void
on_ws_closed (SoupWebsocketConnection * ws, WspConnection * self)
{
  g_autoptr (WspConnection) alive = g_object_ref (self);

  emit_closed (self);
}

static gboolean
on_watchdog (gpointer user_data)
{
  WspConnection *self = user_data;
  gint64 silence = g_get_monotonic_time () - self->last_heard;

  if (silence <= (gint64) KEEPALIVE_MISSED_INTERVALS *
      self->limits.keepalive_interval * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;

  g_info ("WSP peer silent for %" G_GINT64_FORMAT " s: closing",
      silence / G_USEC_PER_SEC);
  /* No `bye`: the peer does not read. The close frame is a courtesy;
   * libsoup gives up waiting for the answer after 5 s. */
  g_clear_pointer (&self->watchdog, g_source_unref);
  start_close (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  return G_SOURCE_REMOVE;
}

WspConnection *
wsp_connection_new (SoupWebsocketConnection * ws,
    GSocketAddress * remote_address, const WspLimits * limits)
{
  WspConnection *self = g_object_new (WSP_TYPE_CONNECTION, NULL);

  self->context = g_main_context_ref_thread_default ();
  self->ws = g_object_ref (ws);
  self->remote_address = remote_address ? g_object_ref (remote_address) : NULL;
  wsp_limits_resolve (limits, &self->limits);

  self->tokens = self->limits.max_burst;
  self->tokens_time = g_get_monotonic_time ();
  self->last_heard = self->tokens_time;

  soup_websocket_connection_set_max_incoming_payload_size (ws,
      self->limits.max_message_size);
  soup_websocket_connection_set_keepalive_interval (ws,
      self->limits.keepalive_interval);

  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), self);
  g_signal_connect (ws, "pong", G_CALLBACK (on_ws_pong), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);

  self->watchdog =
      g_timeout_source_new_seconds (self->limits.keepalive_interval);
  g_source_set_callback (self->watchdog, on_watchdog, self, NULL);
  g_source_attach (self->watchdog, self->context);

  return self;
}

static void
wsp_connection_init (WspConnection * self)
{
}

static void
wsp_connection_dispose (GObject * object)
{
  WspConnection *self = WSP_CONNECTION (object);

  stop_watchdog (self);

  if (self->ws != NULL) {
    g_signal_handlers_disconnect_by_data (self->ws, self);
    /* Dropped while open: tell the peer rather than cut the stream. */
    if (soup_websocket_connection_get_state (self->ws) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (self->ws,
          SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    g_clear_object (&self->ws);
  }

  G_OBJECT_CLASS (wsp_connection_parent_class)->dispose (object);
}

static void
wsp_connection_finalize (GObject * object)
{
  WspConnection *self = WSP_CONNECTION (object);

  g_clear_object (&self->remote_address);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (wsp_connection_parent_class)->finalize (object);
}

static void
wsp_connection_class_init (WspConnectionClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wsp_connection_dispose;
  object_class->finalize = wsp_connection_finalize;

  /* WspMessage has no boxed type; it belongs to the connection. */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_CLOSED] = g_signal_new ("closed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_PROTOCOL_ERROR] = g_signal_new ("protocol-error",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_ERROR);
}

void
wsp_connection_send (WspConnection * self, const WspMessage * message)
{
  g_return_if_fail (WSP_IS_CONNECTION (self));
  g_return_if_fail (message != NULL);

  send_text (self, message);
}

void
wsp_connection_send_bye_and_close (WspConnection * self, WspByeCode code,
    const gchar * description)
{
  g_autoptr (WspMessage) bye = NULL;

  g_return_if_fail (WSP_IS_CONNECTION (self));
  g_return_if_fail (wsp_bye_code_is_valid (code));

  if (self->closing)
    return;

  bye = wsp_message_new_bye (code, description ? description :
      wsp_bye_code_to_string (code));
  /* A description from outside (a peer's, a config's) may be too long or
   * hold control characters: then the code's own text goes. */
  if (!wsp_message_validate (bye, NULL)) {
    g_clear_pointer (&bye, wsp_message_free);
    bye = wsp_message_new_bye (code, wsp_bye_code_to_string (code));
  }

  send_text (self, bye);
  start_close (self, SOUP_WEBSOCKET_CLOSE_NORMAL);
}

void
wsp_connection_close (WspConnection * self)
{
  g_return_if_fail (WSP_IS_CONNECTION (self));

  if (!self->closing)
    start_close (self, SOUP_WEBSOCKET_CLOSE_NORMAL);
}

gboolean
wsp_connection_is_open (WspConnection * self)
{
  g_return_val_if_fail (WSP_IS_CONNECTION (self), FALSE);

  return !self->closing && soup_websocket_connection_get_state (self->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN;
}

static void
release_on_closed (WspConnection * self, guint code, gpointer unused)
{
  g_signal_handlers_disconnect_by_func (self, release_on_closed, NULL);
  g_object_unref (self);
}

void
wsp_connection_release (WspConnection * self)
{
  g_return_if_fail (WSP_IS_CONNECTION (self));

  if (self->closed_emitted || wsp_connection_is_open (self))
    g_object_unref (self);
  else
    g_signal_connect (self, "closed", G_CALLBACK (release_on_closed), NULL);
}

GSocketAddress *
wsp_connection_get_remote_address (WspConnection * self)
{
  g_return_val_if_fail (WSP_IS_CONNECTION (self), NULL);

  return self->remote_address;
}

SoupWebsocketConnection *
wsp_connection_get_websocket (WspConnection * self)
{
  g_return_val_if_fail (WSP_IS_CONNECTION (self), NULL);

  return self->ws;
}
