/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP over a libsoup-3 WebSocket: the connection object with its limits,
 * the client connect and the server endpoint. The behaviour is documented
 * in wsptransport.h; what is here is how libsoup 3.2 is made to give it.
 *
 * Facts of libsoup 3.2.3 this file relies on (read in its source, and
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

#include "wsptransport.h"

#include <string.h>

#define DEFAULT_MAX_MESSAGES_PER_SECOND 20
#define DEFAULT_MAX_BURST 40
#define DEFAULT_KEEPALIVE_INTERVAL 15

/* A peer from which nothing, not even a pong, has come for this many
 * keepalive intervals is taken as gone: one ping has then gone unanswered
 * for at least a whole interval. */
#define KEEPALIVE_MISSED_INTERVALS 2

/* libsoup's own table of header names is private. */
#define HEADER_PROTOCOL "Sec-WebSocket-Protocol"

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

static void
resolve_limits (const WspLimits * limits, WspLimits * out)
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

/* Takes @ws over; @ws must be open and on the thread-default context. */
static WspConnection *
wsp_connection_new (SoupWebsocketConnection * ws,
    GSocketAddress * remote_address, const WspLimits * limits)
{
  WspConnection *self = g_object_new (WSP_TYPE_CONNECTION, NULL);

  self->context = g_main_context_ref_thread_default ();
  self->ws = g_object_ref (ws);
  self->remote_address = remote_address ? g_object_ref (remote_address) : NULL;
  resolve_limits (limits, &self->limits);

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

/* ---- Client -------------------------------------------------------------- */

gchar *
wsp_address_to_uri (const gchar * address)
{
  g_autofree gchar *host = NULL;
  g_autofree gchar *port_text = NULL;
  guint port;

  g_return_val_if_fail (address != NULL, NULL);

  if (!wsp_address_parse (address, NULL, &host, &port, NULL))
    return NULL;

  if (port != 0)
    port_text = g_strdup_printf (":%u", port);

  /* The parser allows only names, dotted quads and bracketed IPv6 (given
   * back without brackets), so nothing needs escaping. */
  return g_strdup_printf ("wss://%s%s%s%s/wsp", strchr (host, ':') ? "[" : "",
      host, strchr (host, ':') ? "]" : "", port_text ? port_text : "");
}

typedef struct
{
  SoupSession *session;
  SoupMessage *msg;
  GTlsCertificate *pinned;
  WspLimits limits;
} ConnectData;

static void
connect_data_free (ConnectData * data)
{
  g_clear_object (&data->msg);
  g_clear_object (&data->session);
  g_clear_object (&data->pinned);
  g_free (data);
}

/* RFC 6750's b64token: what may follow "Bearer " without quoting, and
 * nothing that could end the header. */
static gboolean
bearer_token_is_valid (const gchar * token)
{
  const gchar *p = token;

  while (*p != '\0' && (g_ascii_isalnum (*p) || strchr ("-._~+/", *p)))
    p++;
  if (p == token)
    return FALSE;
  while (*p == '=')
    p++;
  return *p == '\0';
}

static gboolean
on_accept_certificate (SoupMessage * msg, GTlsCertificate * peer,
    GTlsCertificateFlags errors, ConnectData * data)
{
  /* With pinning the session trusts no CA, so every certificate comes
   * here, a valid chain included, and only the pinned one passes. */
  return g_tls_certificate_is_same (peer, data->pinned);
}

static void
on_websocket_connected (GObject * source, GAsyncResult * result,
    gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *protocol;
  WspConnection *conn;

  ws = soup_session_websocket_connect_finish (data->session, result, &error);
  if (ws == NULL)
    goto connect_failed;

  protocol = soup_websocket_connection_get_protocol (ws);
  if (g_strcmp0 (protocol, WSP_SUBPROTOCOL) != 0)
    goto wrong_protocol;
  /* Its "closed" would have been missed. */
  if (soup_websocket_connection_get_state (ws) != SOUP_WEBSOCKET_STATE_OPEN)
    goto closed;

  conn = wsp_connection_new (ws,
      soup_message_get_remote_address (data->msg), &data->limits);
  g_task_return_pointer (task, conn, g_object_unref);
  return;

  /* ERRORS */
connect_failed:
  {
    guint status = soup_message_get_status (data->msg);

    /* "did not accept the WebSocket handshake" alone hides the reason. */
    if (g_error_matches (error, SOUP_WEBSOCKET_ERROR,
            SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET) && status != 0)
      g_task_return_new_error (task, SOUP_WEBSOCKET_ERROR,
          SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET, "%s (HTTP %u %s)",
          error->message, status,
          soup_message_get_reason_phrase (data->msg) ?
          soup_message_get_reason_phrase (data->msg) : "");
    else
      g_task_return_error (task, g_steal_pointer (&error));
    return;
  }
wrong_protocol:
  {
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR,
        NULL);
    g_task_return_new_error (task, SOUP_WEBSOCKET_ERROR,
        SOUP_WEBSOCKET_ERROR_BAD_HANDSHAKE, "the server did not agree to "
        "the %s subprotocol (it chose %s)", WSP_SUBPROTOCOL,
        protocol ? protocol : "none");
    return;
  }
closed:
  {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
        "the server closed the WebSocket at once");
    return;
  }
}

void
wsp_connect_async (const gchar * uri, const WspClientOptions * options,
    GCancellable * cancellable, GAsyncReadyCallback callback,
    gpointer user_data)
{
  static const WspClientOptions no_options = { NULL, };
  static gchar *protocols[] = { (gchar *) WSP_SUBPROTOCOL, NULL };
  g_autoptr (GTask) task = NULL;
  g_autoptr (GUri) guri = NULL;
  g_autoptr (GError) error = NULL;
  ConnectData *data;
  const gchar *scheme;

  g_return_if_fail (uri != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (options == NULL)
    options = &no_options;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, wsp_connect_async);
  data = g_new0 (ConnectData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) connect_data_free);
  resolve_limits (options->limits, &data->limits);

  guri = g_uri_parse (uri, SOUP_HTTP_URI_FLAGS, &error);
  if (guri == NULL)
    goto bad_uri;
  /* GUri gives the scheme in lower case. */
  scheme = g_uri_get_scheme (guri);
  if (g_strcmp0 (scheme, "wss") != 0 && g_strcmp0 (scheme, "ws") != 0)
    goto bad_scheme;
  if (g_uri_get_host (guri) == NULL || g_uri_get_host (guri)[0] == '\0')
    goto bad_scheme;
  if (options->bearer_token != NULL
      && !bearer_token_is_valid (options->bearer_token))
    goto bad_token;

  /* No proxy: a station calls stations, and the system's resolver
   * (libproxy) may look for PAC files on the network. */
  data->session = soup_session_new_with_options ("proxy-resolver", NULL,
      NULL);
  /* permessage-deflate would let a small frame inflate past the size
   * limit, which libsoup checks on the compressed frame. libsoup 3.2 adds
   * no extension manager to a session; this keeps it so. */
  soup_session_remove_feature_by_type (data->session,
      SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);

  if (options->pinned_certificate_file != NULL) {
    data->pinned =
        g_tls_certificate_new_from_file (options->pinned_certificate_file,
        &error);
    if (data->pinned == NULL)
      goto bad_file;
    /* No database: every certificate fails verification and goes to
     * "accept-certificate", where the pin alone decides. */
    soup_session_set_tls_database (data->session, NULL);
  } else if (options->ca_file != NULL) {
    g_autoptr (GTlsDatabase) database =
        g_tls_file_database_new (options->ca_file, &error);

    if (database == NULL)
      goto bad_file;
    soup_session_set_tls_database (data->session, database);
  }

  data->msg = soup_message_new_from_uri (SOUP_METHOD_GET, guri);
  /* A redirect could take the upgrade, and the token, to plain ws:// or
   * to another host. */
  soup_message_add_flags (data->msg, SOUP_MESSAGE_NO_REDIRECT);
  if (options->bearer_token != NULL) {
    g_autofree gchar *value = g_strconcat ("Bearer ", options->bearer_token,
        NULL);

    soup_message_headers_replace (soup_message_get_request_headers
        (data->msg), "Authorization", value);
  }
  if (data->pinned != NULL)
    g_signal_connect (data->msg, "accept-certificate",
        G_CALLBACK (on_accept_certificate), data);

  soup_session_websocket_connect_async (data->session, data->msg, NULL,
      protocols, G_PRIORITY_DEFAULT, cancellable, on_websocket_connected,
      g_steal_pointer (&task));
  return;

  /* ERRORS */
bad_uri:
  {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "invalid WSP URI \"%s\": %s", uri, error->message);
    return;
  }
bad_scheme:
  {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "invalid WSP URI \"%s\": not wss://host/... or ws://host/...", uri);
    return;
  }
bad_token:
  {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "the bearer token has characters a token may not have");
    return;
  }
bad_file:
  {
    g_task_return_error (task, g_steal_pointer (&error));
    return;
  }
}

WspConnection *
wsp_connect_finish (GAsyncResult * result, GError ** error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
      wsp_connect_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Server: the message size guard ------------------------------------- */

/* libsoup limits the payload of one frame, and appends the fragments of a
 * message without a limit (or a way to hook into it): a peer could send
 * one endless message in small fragments. So the server reads the socket
 * through this stream, which follows the frame headers going by and fails
 * the read once a data message grows past the limit, before libsoup
 * buffers it. The client side connects through SoupSession, which gives
 * no such place: there the whole message is checked once delivered. */

#define WSP_TYPE_GUARD_INPUT (wsp_guard_input_get_type ())
G_GNUC_INTERNAL GType wsp_guard_input_get_type (void);
G_DECLARE_FINAL_TYPE (WspGuardInput, wsp_guard_input, WSP, GUARD_INPUT,
    GInputStream);

/* The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define FRAME_HEADER_MAX 14

struct _WspGuardInput
{
  GInputStream parent;

  GInputStream *base;
  guint64 limit;

  guint8 header[FRAME_HEADER_MAX];
  guint header_len;
  guint64 payload_left;
  guint64 message_size;
};

static void wsp_guard_input_pollable_init (GPollableInputStreamInterface *
    iface);

G_DEFINE_TYPE_WITH_CODE (WspGuardInput, wsp_guard_input, G_TYPE_INPUT_STREAM,
    G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
        wsp_guard_input_pollable_init));

/* How long the header in @header (@len bytes of it so far) is. */
static guint
frame_header_size (const guint8 * header, guint len)
{
  guint size = 2;

  if (len < 2)
    return size;
  if ((header[1] & 0x7f) == 126)
    size += 2;
  else if ((header[1] & 0x7f) == 127)
    size += 8;
  if (header[1] & 0x80)
    size += 4;
  return size;
}

/* Follows @len bytes read from the peer through frame headers and
 * payloads; FALSE once a data message is over the limit. The frames are
 * not checked otherwise: that is libsoup's job. */
static gboolean
guard_scan (WspGuardInput * self, const guint8 * data, gsize len,
    GError ** error)
{
  while (len > 0) {
    guint64 payload_len;
    guint8 opcode;

    if (self->payload_left > 0) {
      gsize n = MIN (len, self->payload_left);

      self->payload_left -= n;
      data += n;
      len -= n;
      continue;
    }

    self->header[self->header_len++] = *data++;
    len--;
    if (self->header_len < frame_header_size (self->header, self->header_len))
      continue;

    payload_len = self->header[1] & 0x7f;
    if (payload_len >= 126) {
      guint n = payload_len == 126 ? 2 : 8;

      payload_len = 0;
      for (guint i = 0; i < n; i++)
        payload_len = (payload_len << 8) | self->header[2 + i];
    }
    self->header_len = 0;
    self->payload_left = payload_len;

    /* Control frames (ping, pong, close) may come between fragments. */
    opcode = self->header[0] & 0x0f;
    if (opcode & 0x08)
      continue;
    /* A new message, or the continuation (opcode 0) of the last one. */
    if (opcode != 0)
      self->message_size = 0;
    if (payload_len > self->limit - self->message_size)
      goto too_large;
    self->message_size += payload_len;
  }
  return TRUE;

  /* ERRORS */
too_large:
  {
    g_set_error (error, WSP_ERROR, WSP_ERROR_TOO_LARGE, "message of more "
        "than %" G_GUINT64_FORMAT " bytes", self->limit);
    return FALSE;
  }
}

static gssize
wsp_guard_input_read (GInputStream * stream, void *buffer, gsize count,
    GCancellable * cancellable, GError ** error)
{
  WspGuardInput *self = WSP_GUARD_INPUT (stream);
  gssize n = g_input_stream_read (self->base, buffer, count, cancellable,
      error);

  if (n > 0 && !guard_scan (self, buffer, n, error))
    return -1;
  return n;
}

static gssize
wsp_guard_input_read_nonblocking (GPollableInputStream * stream,
    void *buffer, gsize count, GError ** error)
{
  WspGuardInput *self = WSP_GUARD_INPUT (stream);
  gssize n = g_pollable_input_stream_read_nonblocking
      (G_POLLABLE_INPUT_STREAM (self->base), buffer, count, NULL, error);

  if (n > 0 && !guard_scan (self, buffer, n, error))
    return -1;
  return n;
}

/* The base stream belongs to the base GIOStream, which closes it. */
static gboolean
wsp_guard_input_close (GInputStream * stream, GCancellable * cancellable,
    GError ** error)
{
  return TRUE;
}

static gboolean
wsp_guard_input_can_poll (GPollableInputStream * stream)
{
  return TRUE;
}

static gboolean
wsp_guard_input_is_readable (GPollableInputStream * stream)
{
  WspGuardInput *self = WSP_GUARD_INPUT (stream);

  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM
      (self->base));
}

static GSource *
wsp_guard_input_create_source (GPollableInputStream * stream,
    GCancellable * cancellable)
{
  WspGuardInput *self = WSP_GUARD_INPUT (stream);
  g_autoptr (GSource) base_source =
      g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM
      (self->base), NULL);

  return g_pollable_source_new_full (self, base_source, cancellable);
}

static void
wsp_guard_input_pollable_init (GPollableInputStreamInterface * iface)
{
  iface->can_poll = wsp_guard_input_can_poll;
  iface->is_readable = wsp_guard_input_is_readable;
  iface->create_source = wsp_guard_input_create_source;
  iface->read_nonblocking = wsp_guard_input_read_nonblocking;
}

static void
wsp_guard_input_init (WspGuardInput * self)
{
}

static void
wsp_guard_input_finalize (GObject * object)
{
  WspGuardInput *self = WSP_GUARD_INPUT (object);

  g_clear_object (&self->base);

  G_OBJECT_CLASS (wsp_guard_input_parent_class)->finalize (object);
}

static void
wsp_guard_input_class_init (WspGuardInputClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = wsp_guard_input_finalize;
  input_class->read_fn = wsp_guard_input_read;
  input_class->close_fn = wsp_guard_input_close;
}

/* The GIOStream libsoup's WebSocket gets: the guard to read, the base
 * stream to write, and the base's own close (TLS close_notify included). */
#define WSP_TYPE_GUARD_STREAM (wsp_guard_stream_get_type ())
G_GNUC_INTERNAL GType wsp_guard_stream_get_type (void);
G_DECLARE_FINAL_TYPE (WspGuardStream, wsp_guard_stream, WSP, GUARD_STREAM,
    GIOStream);

struct _WspGuardStream
{
  GIOStream parent;

  GIOStream *base;
  WspGuardInput *input;
};

G_DEFINE_TYPE (WspGuardStream, wsp_guard_stream, G_TYPE_IO_STREAM);

static GInputStream *
wsp_guard_stream_get_input_stream (GIOStream * stream)
{
  return G_INPUT_STREAM (WSP_GUARD_STREAM (stream)->input);
}

static GOutputStream *
wsp_guard_stream_get_output_stream (GIOStream * stream)
{
  return g_io_stream_get_output_stream (WSP_GUARD_STREAM (stream)->base);
}

static gboolean
wsp_guard_stream_close (GIOStream * stream, GCancellable * cancellable,
    GError ** error)
{
  return g_io_stream_close (WSP_GUARD_STREAM (stream)->base, cancellable,
      error);
}

static void
on_base_closed (GObject * source, GAsyncResult * result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* GIOStream's default would run the blocking close in a thread. */
static void
wsp_guard_stream_close_async (GIOStream * stream, int io_priority,
    GCancellable * cancellable, GAsyncReadyCallback callback,
    gpointer user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, wsp_guard_stream_close_async);
  g_io_stream_close_async (WSP_GUARD_STREAM (stream)->base, io_priority,
      cancellable, on_base_closed, task);
}

static gboolean
wsp_guard_stream_close_finish (GIOStream * stream, GAsyncResult * result,
    GError ** error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
wsp_guard_stream_init (WspGuardStream * self)
{
}

static void
wsp_guard_stream_finalize (GObject * object)
{
  WspGuardStream *self = WSP_GUARD_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);

  G_OBJECT_CLASS (wsp_guard_stream_parent_class)->finalize (object);
}

static void
wsp_guard_stream_class_init (WspGuardStreamClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = wsp_guard_stream_finalize;
  stream_class->get_input_stream = wsp_guard_stream_get_input_stream;
  stream_class->get_output_stream = wsp_guard_stream_get_output_stream;
  stream_class->close_fn = wsp_guard_stream_close;
  stream_class->close_async = wsp_guard_stream_close_async;
  stream_class->close_finish = wsp_guard_stream_close_finish;
}

/* libsoup's server streams are pollable both ways; so is this one. */
static GIOStream *
wsp_guard_stream_new (GIOStream * base, guint64 limit)
{
  WspGuardStream *self = g_object_new (WSP_TYPE_GUARD_STREAM, NULL);

  self->base = g_object_ref (base);
  self->input = g_object_new (WSP_TYPE_GUARD_INPUT, NULL);
  self->input->base = g_object_ref (g_io_stream_get_input_stream (base));
  self->input->limit = limit;
  return G_IO_STREAM (self);
}

/* ---- Server: the endpoint ------------------------------------------------ */

typedef struct
{
  WspLimits limits;
  WspAcceptFunc accept;
  gpointer user_data;
  GDestroyNotify destroy;
} Endpoint;

static void
endpoint_clear (Endpoint * endpoint)
{
  if (endpoint->destroy != NULL)
    endpoint->destroy (endpoint->user_data);
}

/* The path's handler holds one reference, each upgrade under way one. */
static void
endpoint_release (gpointer endpoint)
{
  g_rc_box_release_full (endpoint, (GDestroyNotify) endpoint_clear);
}

static void
endpoint_release_notify (gpointer endpoint, GClosure * closure)
{
  endpoint_release (endpoint);
}

/* The 101 has gone out: the socket is the WebSocket's from here. */
static void
on_upgrade_written (SoupServerMessage * msg, Endpoint * endpoint)
{
  g_autoptr (SoupServerMessage) keep = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GIOStream) guarded = NULL;
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autofree gchar *origin = NULL;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;

  /* Stealing the connection may drop libsoup's last reference to @msg. */
  keep = g_object_ref (msg);
  remote = soup_server_message_get_remote_address (msg);
  if (remote != NULL)
    g_object_ref (remote);
  uri = g_uri_ref (soup_server_message_get_uri (msg));
  origin = g_strdup (soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "Origin"));

  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    return;

  guarded = wsp_guard_stream_new (stream, endpoint->limits.max_message_size);
  ws = soup_websocket_connection_new (guarded, uri,
      SOUP_WEBSOCKET_CONNECTION_SERVER, origin, WSP_SUBPROTOCOL, NULL);
  conn = wsp_connection_new (ws, remote, &endpoint->limits);
  endpoint->accept (conn, msg, endpoint->user_data);
}

/* The whole endpoint: the checks libsoup's websocket handler would not
 * make, then libsoup's own handshake code, then the WebSocket on a guarded
 * stream. */
static void
on_endpoint_request (SoupServer * server, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer user_data)
{
  static const gchar refusal[] = "WSP needs the WebSocket subprotocol "
      WSP_SUBPROTOCOL "\r\n";
  static gchar *protocols[] = { (gchar *) WSP_SUBPROTOCOL, NULL };
  Endpoint *endpoint = user_data;
  const gchar *requested;

  /* libsoup would accept a request that names no subprotocol. */
  requested = soup_message_headers_get_list
      (soup_server_message_get_request_headers (msg), HEADER_PROTOCOL);
  if (requested == NULL || !soup_header_contains (requested, WSP_SUBPROTOCOL))
    goto no_subprotocol;

  /* No extension is supported: with permessage-deflate the size limits
   * would apply to compressed data. On failure libsoup has set the
   * status (400, or 403) and the body. */
  if (!soup_websocket_server_process_handshake (msg, NULL, protocols, NULL,
          NULL))
    return;

  g_signal_connect_data (msg, "wrote-informational",
      G_CALLBACK (on_upgrade_written), g_rc_box_acquire (endpoint),
      endpoint_release_notify, 0);
  return;

  /* ERRORS */
no_subprotocol:
  {
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
    soup_message_headers_append (soup_server_message_get_response_headers
        (msg), "Connection", "close");
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        refusal, strlen (refusal));
    return;
  }
}

void
wsp_server_add_endpoint (SoupServer * server, const gchar * path,
    const WspLimits * limits, WspAcceptFunc accept, gpointer user_data,
    GDestroyNotify destroy)
{
  Endpoint *endpoint;

  g_return_if_fail (SOUP_IS_SERVER (server));
  g_return_if_fail (path != NULL);
  g_return_if_fail (accept != NULL);

  endpoint = g_rc_box_new0 (Endpoint);
  resolve_limits (limits, &endpoint->limits);
  endpoint->accept = accept;
  endpoint->user_data = user_data;
  endpoint->destroy = destroy;

  soup_server_add_handler (server, path, on_endpoint_request, endpoint,
      endpoint_release);
}
