/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP over a libsoup-3 WebSocket, the client side: the address to URI
 * rule and wsp_connect_async() (TLS checks, the pinned certificate, the
 * bearer token, no redirects). The connection it makes is wspconnection.c's. */

#include "wsptransport-private.h"

#include <string.h>


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
  wsp_limits_resolve (options->limits, &data->limits);

  if (g_str_has_prefix (uri, WSP_LOCAL_SCHEME "://")) {
    wsp_local_connect (uri, options->limits, task);
    return;
  }

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
