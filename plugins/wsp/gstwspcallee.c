/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The callee role of a wspsignaller: answering an `invite` (`ringing`, the
 * data channels, the offer), from a socket the application accepted
 * ("accept-call") or from the element's own TLS server
 * (#GstWspSignaller:listen, one call at a time). The rest of the call is
 * gstwspcall.c's. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

#include <string.h>

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
  gst_wsp_call_watch_connection (self, connection);
  self->state = CALL_RINGING;
  wsp_connection_send (connection, ringing);
  gst_wsp_call_post (self, gst_structure_new ("wsp-ringing",
          "caller", G_TYPE_STRING, caller_uri,
          "callee", G_TYPE_STRING, callee_uri, NULL));

  /* The offerer creates the channels before its first offer (pitfall
   * 10). */
  g_signal_emit_by_name (self->webrtcbin, "create-data-channel", "wsp", NULL,
      &channel);
  if (channel) {
    gst_wsp_handover_watch_channel (self, channel);
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
      gst_wsp_io_watch_channel (self, channel);
      g_object_unref (channel);
    }
  }

  self->want_sdp = TRUE;
  gst_wsp_media_maybe_create_sdp (self);
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

gboolean
gst_wsp_callee_accept_call (GstWspSignaller * self, WspConnection * connection,
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
  gst_wsp_run_on_context (self, on_accepted, accepted, accepted_free);
  return TRUE;
}

/* Listen role: our own server; the first message on a socket must be an
 * invite, and one call at a time is taken. Sockets wait in `waiting`. */

void
gst_wsp_callee_stop_waiting (GstWspSignaller * self, WspConnection * connection)
{
  g_signal_handlers_disconnect_by_data (connection, self);
  g_ptr_array_remove (self->waiting, connection);
}

static void
listen_message (WspConnection * connection, WspMessage * msg,
    GstWspSignaller * self)
{
  g_autoptr (WspConnection) ref = g_object_ref (connection);

  gst_wsp_callee_stop_waiting (self, connection);
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
  gst_wsp_callee_stop_waiting (self, connection);
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

void
gst_wsp_callee_start_listener (GstWspSignaller * self, gpointer data)
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
      ("Invalid listen address \"%s\" (expected host:port).", listen), (NULL));
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
      ("Cannot listen on %s:%s.", listen, colon + 1), ("%s", error->message));
}
