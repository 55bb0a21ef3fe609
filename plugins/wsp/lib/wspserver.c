/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP over a libsoup-3 WebSocket, the server side: the endpoint
 * (wsp_server_add_endpoint(): `wsp-1.0` required, no extension, libsoup's
 * own handshake) and the stream it reads the socket through, which bounds
 * a message sent in many fragments. The connection it makes is
 * wspconnection.c's; the libsoup 3.2 facts this relies on are listed
 * there. */

#include "wsptransport-private.h"

#include <string.h>


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
GIOStream *
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
  wsp_limits_resolve (limits, &endpoint->limits);
  endpoint->accept = accept;
  endpoint->user_data = user_data;
  endpoint->destroy = destroy;

  soup_server_add_handler (server, path, on_endpoint_request, endpoint,
      endpoint_release);
}
