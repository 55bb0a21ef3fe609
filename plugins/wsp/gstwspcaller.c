/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller role of a wspsignaller (#GstWspSignaller:target): opening the
 * WebSocket to the target's WSP server and sending the `invite`, with the
 * snapshot and hold-invite. The rest of the call is gstwspcall.c's. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

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
    gst_wsp_call_end (self, WSP_BYE_BAD_REQUEST, "invalid local-uri or target",
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
  gst_wsp_call_start_timer (self, gst_wsp_call_get_timeout (self,
          &self->ringing_timeout));
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
      gst_wsp_call_end (self, WSP_BYE_NOT_REACHABLE, error->message, FALSE,
          FALSE);
    }
    gst_object_unref (self);
    return;
  }
  if (self->state == CALL_CONNECTING) {
    gboolean hold;

    gst_wsp_call_watch_connection (self, connection);
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
void
gst_wsp_caller_release_invite (GstWspSignaller * self, gpointer data)
{
  if (self->state == CALL_CONNECTING && self->connection != NULL)
    send_invite (self);
}

void
gst_wsp_caller_start (GstWspSignaller * self, gpointer data)
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
    gst_wsp_call_end (self, WSP_BYE_BAD_REQUEST, "target is not a WSP address",
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
