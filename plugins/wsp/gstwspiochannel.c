/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `io` data channel of a wspsignaller (DESIGN.md §3): watching the
 * call's channel, whoever made it; "io-opened" and "io-message" for the
 * application; the caller's wait for the peer's channel before it makes
 * one; "send-io". The element does not parse the messages: wspio.h is the
 * application's. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

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

  /* Queued from the channel's "on-open" and from
   * gst_wsp_io_watch_channel(), which may both see it open. */
  if (self->io_announced || self->state == CALL_ENDED ||
      self->state == CALL_IDLE || !is_io_channel (self, channel))
    return;
  self->io_announced = TRUE;
  g_mutex_lock (&self->lock);
  self->io_open = TRUE;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "the io channel is open");
  g_signal_emit (self, gst_wsp_signaller_signals[SIGNAL_IO_OPENED], 0);
}

static void
io_channel_open (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  gst_wsp_run_on_context (self, on_io_open, g_object_ref (channel),
      g_object_unref);
}

static void
on_io_message (GstWspSignaller * self, gpointer data)
{
  IoText *io = data;

  if (self->state == CALL_ENDED || self->state == CALL_IDLE ||
      !is_io_channel (self, io->channel))
    return;
  g_signal_emit (self, gst_wsp_signaller_signals[SIGNAL_IO_MESSAGE], 0,
      io->text);
}

static void
io_message_string (GstWebRTCDataChannel * channel, const gchar * text,
    GstWspSignaller * self)
{
  IoText *io = g_new0 (IoText, 1);

  io->channel = g_object_ref (channel);
  io->text = g_strdup (text ? text : "");
  gst_wsp_run_on_context (self, on_io_message, io, io_text_free);
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
  gst_wsp_run_on_context (self, on_io_close, g_object_ref (channel),
      g_object_unref);
}

/* Makes @channel the call's io channel, unless it has one already; from
 * the context or webrtcbin's threads. The handlers are connected under
 * the lock, so that reset_call() or dispose, which disconnect them under
 * it, cannot miss them. */
gboolean
gst_wsp_io_watch_channel (GstWspSignaller * self,
    GstWebRTCDataChannel * channel)
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
    gst_wsp_run_on_context (self, on_io_open, g_object_ref (channel),
        g_object_unref);
  return TRUE;
}

void
gst_wsp_io_unwatch_channel (GstWspSignaller * self)
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

void
gst_wsp_io_cancel_wait (GstWspSignaller * self)
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
  if (!gst_wsp_io_watch_channel (self, channel))
    gst_webrtc_data_channel_close (channel);
  g_object_unref (channel);
  return G_SOURCE_REMOVE;
}

void
gst_wsp_io_start_wait (GstWspSignaller * self)
{
  gboolean io;

  GST_OBJECT_LOCK (self);
  io = self->io_channel;
  GST_OBJECT_UNLOCK (self);
  if (!io)
    return;
  gst_wsp_io_cancel_wait (self);
  self->io_timer = g_timeout_source_new (IO_WAIT_MS);
  g_source_set_callback (self->io_timer, io_wait_over, self, NULL);
  g_source_attach (self->io_timer, self->context);
}

/* "send-io", from any thread: a reference to the channel is taken under
 * the lock and the text sent without it (sending is thread-safe in
 * webrtcbin). A channel not yet open is never sent on: webrtcbin checks
 * that with a critical. */
gboolean
gst_wsp_io_send (GstWspSignaller * self, const gchar * text)
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
