/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom WSP transport: WSP over a WebSocket (libsoup-3), client and
 * server side, with TLS, the `wsp-1.0` subprotocol required and limits on
 * what comes in. Messages in and out are WspMessage (wspprotocol.h); a peer
 * that sends anything invalid gets `bye` 400 and the socket is closed.
 *
 * Threads: libsoup-3 is not thread-safe. A WspConnection lives on the
 * GMainContext that was thread-default when it was made (connected or
 * accepted): call it only from that context's thread; its signals are
 * emitted there.
 *
 * What libsoup 3.2 does not do and this does (see wspconnection.c): require
 * the subprotocol on the server, bound messages sent in many fragments
 * (server side), refuse permessage-deflate (its compressed frames would
 * slip under the size limit), notice a peer that no longer answers pings.
 *
 * The library logs with G_LOG_DOMAIN "wsp": why it refused a peer, at
 * info level. */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "wspprotocol.h"

G_BEGIN_DECLS

/**
 * WspLimits:
 * @max_message_size: largest text frame accepted, in bytes (0: the
 *   protocol's own limit, #WSP_INVITE_MAX_SIZE); larger frames are refused
 *   by libsoup before they are buffered whole. A message sent in several
 *   fragments is refused on the server side as soon as their sum is over
 *   the limit; on the client side (libsoup builds that WebSocket) only once
 *   it is whole.
 * @max_messages_per_second: sustained rate of incoming messages (0: 20)
 * @max_burst: messages accepted at once above that rate (0: 40): a token
 *   bucket of @max_burst tokens refilled at @max_messages_per_second
 * @keepalive_interval: seconds between WebSocket pings (0: 15); a peer that
 *   stops answering is closed: one from which nothing, not even a pong, has
 *   come for two intervals (noticed within three; libsoup then waits 5 s
 *   for the close handshake before "closed")
 *
 * Limits on one socket. Over a limit, the peer gets `bye` 400 and the
 * socket is closed.
 */
typedef struct
{
  gsize max_message_size;
  guint max_messages_per_second;
  guint max_burst;
  guint keepalive_interval;
} WspLimits;

#define WSP_TYPE_CONNECTION (wsp_connection_get_type ())
G_DECLARE_FINAL_TYPE (WspConnection, wsp_connection, WSP, CONNECTION, GObject)

/* Signals, emitted on the connection's main context:
 *
 * "message" (WspConnection *, WspMessage *message): a valid message came
 *   in. @message belongs to the connection; copy what you keep.
 * "closed" (WspConnection *, guint close_code): the socket is closed, by
 *   either side or after a protocol error; emitted once. Nothing is sent
 *   or received after it. @close_code is the WebSocket close code this
 *   side closed with, if it closed first: 1000 (wsp_connection_close(),
 *   a `bye`), 1001 (the connection was dropped while open, or the peer
 *   stopped answering pings), 1002 (broken WebSocket framing), 1003 (a
 *   binary frame), 1007 (a text frame that is not UTF-8), 1008 (a message
 *   refused by the WSP parser, or too many messages), 1009 (too large).
 *   Else the peer's code (1005 if its close frame had none), else 1006:
 *   the socket ended without a close frame.
 * "protocol-error" (WspConnection *, GError *error): the peer sent
 *   something invalid (a binary frame, malformed JSON, an unknown keyword,
 *   a frame over the size limit, too many messages); the connection has
 *   sent `bye` with wsp_error_to_bye_code() and is closing. "closed"
 *   follows. @error is in the #WSP_ERROR domain: the parser's own codes
 *   for a bad message, #WSP_ERROR_NOT_TEXT for a binary frame or invalid
 *   UTF-8, #WSP_ERROR_TOO_LARGE for the size and the rate limits,
 *   #WSP_ERROR_SYNTAX for broken WebSocket framing. After a message over
 *   the size limit the socket is shut at once, and a peer still sending
 *   may never read the `bye`. */

/* Sends @message. Does nothing once the socket is closing. @message must
 * pass wsp_message_validate() (a critical, and nothing sent, otherwise). */
void wsp_connection_send (WspConnection * self, const WspMessage * message);

/* Sends `bye` @code (with @description, or the code's own text if NULL or
 * not valid in a `bye`), then closes the socket (1000). Does nothing once
 * the socket is closing. */
void wsp_connection_send_bye_and_close (WspConnection * self, WspByeCode code,
    const gchar * description);

/* Closes the socket without a `bye` (after a `bye` 101: the call goes on on
 * the data channel). */
void wsp_connection_close (WspConnection * self);

/* FALSE from the moment either side starts closing. */
gboolean wsp_connection_is_open (WspConnection * self);

/* Drops a reference to @self. One that is closing (a `bye` and its close
 * frame on their way) is kept until "closed": dropped at once, libsoup
 * would cut the stream before the close handshake, and the peer might
 * miss the `bye`. The main context must keep running for it to go. */
void wsp_connection_release (WspConnection * self);

/* The peer's address (the socket's, never a forwarded-for header);
 * transfer none, NULL if libsoup did not know it. */
GSocketAddress *wsp_connection_get_remote_address (WspConnection * self);

/* Transfer none. For inspection (protocol, state) and tests: what is sent
 * on it directly bypasses this connection. */
SoupWebsocketConnection *wsp_connection_get_websocket (WspConnection * self);

/* Client side */

/**
 * WspClientOptions:
 * @ca_file: PEM file of CA certificates to trust instead of the system's,
 *   or NULL
 * @pinned_certificate_file: PEM file of the one certificate the server must
 *   present (a station's self-signed certificate), or NULL; when set, it is
 *   the only check: name, CA and dates are not looked at, and a chain that
 *   would verify is refused too unless it is this certificate. It wins
 *   over @ca_file.
 * @bearer_token: sent as "Authorization: Bearer <token>" in the upgrade
 *   request, or NULL; it must be an RFC 6750 b64token (letters, digits,
 *   `-._~+/`, then `=` padding)
 * @limits: limits on the connection, or NULL for the defaults
 *
 * Neither a CA file nor a pin: the system's CAs. Redirects are not
 * followed (they could lead the token elsewhere, or to ws://). Proxies are
 * the system's, as for any SoupSession.
 */
typedef struct
{
  const gchar *ca_file;
  const gchar *pinned_certificate_file;
  const gchar *bearer_token;
  const WspLimits *limits;
} WspClientOptions;

/* The URI of the WSP server of @address ("alice@host:8443" ->
 * "wss://host:8443/wsp"), or NULL if @address is not valid. */
gchar *wsp_address_to_uri (const gchar * address);

/* Opens a WebSocket to @uri ("wss://host[:port]/wsp"; "ws://" only when
 * @uri says so) with the `wsp-1.0` subprotocol. Fails if the server does
 * not agree to `wsp-1.0`, or TLS does not verify. @options may be NULL.
 * @callback runs on the main context thread-default at this call, which
 * the connection then lives on.
 *
 * "inproc://NAME" reaches the in-process server NAME (see
 * wsp_local_server_new()): a WebSocket over a socket pair, no TLS, no
 * HTTP; of @options only the limits count. Errors then:
 * G_IO_ERROR_INVALID_ARGUMENT (not a valid name),
 * G_IO_ERROR_CONNECTION_REFUSED (no server of that name).
 *
 * Errors: G_IO_ERROR_INVALID_ARGUMENT (@uri not ws:// or wss:// with a
 * host, a bearer token that is not one); G_FILE_ERROR or G_TLS_ERROR when
 * the CA or pinned file cannot be read; G_TLS_ERROR_BAD_CERTIFICATE when
 * the server's certificate is refused; SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET
 * when the server answers with an HTTP status (in the message: 400, 401,
 * 404...); SOUP_WEBSOCKET_ERROR_BAD_HANDSHAKE when it picks no or another
 * subprotocol; G_IO_ERROR_CANCELLED; or the network's own error. */
void wsp_connect_async (const gchar * uri, const WspClientOptions * options,
    GCancellable * cancellable, GAsyncReadyCallback callback,
    gpointer user_data);
WspConnection *wsp_connect_finish (GAsyncResult * result, GError ** error);

/* Server side */

/* Called for each accepted WSP socket, on the server's main context, once
 * the 101 response has gone out. @msg is the upgrade request (for its
 * headers and remote address); its connection now belongs to @connection.
 * Take a reference to @connection to keep it: dropped, it is closed (1001).
 * To refuse a peer here, wsp_connection_send_bye_and_close() it. */
typedef void (*WspAcceptFunc) (WspConnection * connection,
    SoupServerMessage * msg, gpointer user_data);

/* Serves WSP at @path on @server: a WebSocket with the `wsp-1.0`
 * subprotocol required (a request without it gets HTTP 400: libsoup alone
 * would accept it, DESIGN pitfall 14), each socket with @limits (NULL:
 * defaults). No WebSocket extension is negotiated.
 *
 * It is a plain handler for @path (soup_server_add_handler(), replacing
 * any there; don't add a websocket handler on @path as well) that runs
 * libsoup's handshake itself. To refuse a request before the upgrade with
 * an HTTP status (401 without a session cookie or token, 403 for an
 * address not allowed), add an early handler on @path
 * (soup_server_add_early_handler()): a status it sets ends the request
 * before this endpoint sees it. @destroy frees @user_data once the handler
 * is removed and no upgrade is under way. */
void wsp_server_add_endpoint (SoupServer * server, const gchar * path,
    const WspLimits * limits, WspAcceptFunc accept, gpointer user_data,
    GDestroyNotify destroy);

/* In-process WSP */

/**
 * WSP_LOCAL_SCHEME:
 *
 * The URI scheme of in-process WSP: `inproc://NAME` (as ZeroMQ names the
 * same idea). A client in the same process (a door station's own caller
 * elements) reaches a server registered under NAME over a socket pair:
 * the same WebSocket framing, limits and WspConnection as over the
 * network, without TLS, an HTTP upgrade or a port. Nothing outside the
 * process can reach it.
 */
#define WSP_LOCAL_SCHEME "inproc"

typedef struct _WspLocalServer WspLocalServer;

/* Called for each in-process connection, on the server's main context:
 * @connection is open; take a reference to keep it (dropped, it is closed:
 * 1001). There is no peer address and no request: who the peer is, is the
 * application's to know (only code in this process can connect). */
typedef void (*WspLocalAcceptFunc) (WspConnection * connection,
    gpointer user_data);

/* TRUE for 1-64 characters of A-Z a-z 0-9 . _ - */
gboolean wsp_local_name_is_valid (const gchar * name);

/* Registers an in-process WSP server as @name, on the main context
 * thread-default now, with @limits (NULL: defaults) on each connection.
 * Errors: G_IO_ERROR_INVALID_ARGUMENT (@name not valid), G_IO_ERROR_EXISTS
 * (a server of that name is registered). */
WspLocalServer *wsp_local_server_new (const gchar * name,
    const WspLimits * limits, WspLocalAcceptFunc accept, gpointer user_data,
    GDestroyNotify destroy, GError ** error);

/* Unregisters and frees @server, on its context: a connection not yet
 * accepted is closed; connections already made stay open (they are the
 * application's). @destroy runs on @user_data here. */
void wsp_local_server_free (WspLocalServer * server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WspLocalServer, wsp_local_server_free)

G_END_DECLS
