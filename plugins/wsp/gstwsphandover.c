/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hand-over of a wspsignaller's signalling to the `wsp` data channel
 * (DESIGN.md §3): watching the channel, `bye` 101 on the WebSocket when it
 * opens (caller side), WSP messages on it afterwards, a peer that closes
 * it, and the wait for the final `bye` to leave before webrtcbin stops.
 * What the messages mean is gstwspcall.c's. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsignaller-private.h"

#include <string.h>

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
void
gst_wsp_handover_close_channel (GstWspSignaller * self, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () +
      timeout_ms * G_TIME_SPAN_MILLISECOND;

  if (!wait_channel (self->wsp_channel, "ready-state", channel_not_open,
          deadline))
    GST_INFO_OBJECT (self, "the peer did not close the wsp channel");
}

static void
handle_text (GstWspSignaller * self, const gchar * text)
{
  g_autoptr (WspMessage) msg = NULL;
  g_autoptr (GError) error = NULL;

  if (!wsp_message_parse (text, strlen (text), &msg, &error)) {
    GST_WARNING_OBJECT (self, "bad message on the data channel: %s",
        error->message);
    gst_wsp_call_end (self, wsp_error_to_bye_code (error), error->message,
        FALSE, TRUE);
    return;
  }
  gst_wsp_call_handle_message (self, msg);
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
  gst_wsp_run_on_context (self, on_channel_text, g_strdup (text), g_free);
}

static void
on_channel_data (GstWspSignaller * self, gpointer data)
{
  gst_wsp_call_end (self, WSP_BYE_BAD_REQUEST, "binary data on the wsp channel",
      FALSE, TRUE);
}

static void
channel_message_data (GstWebRTCDataChannel * channel, GBytes * bytes,
    GstWspSignaller * self)
{
  gst_wsp_run_on_context (self, on_channel_data, NULL, NULL);
}

/* The hand-over: the side that received the `wsp` channel (the caller)
 * sends `bye` 101 on the WebSocket once it opens. */
void
gst_wsp_handover_transfer (GstWspSignaller * self)
{
  if (self->transferred || self->state == CALL_ENDED)
    return;
  if (self->connection && wsp_connection_is_open (self->connection)) {
    g_autoptr (WspMessage) bye = wsp_message_new_bye (WSP_BYE_TRANSFERRED,
        NULL);

    wsp_connection_send (self->connection, bye);
  }
  self->transferred = TRUE;
  gst_wsp_call_drop_connection (self);
  GST_INFO_OBJECT (self, "signalling moved to the wsp data channel");
  gst_wsp_call_post (self, gst_structure_new_empty ("wsp-transferred"));
  if (self->is_caller)
    gst_wsp_io_start_wait (self);
}

static void
on_channel_open (GstWspSignaller * self, gpointer data)
{
  if (self->is_caller)
    gst_wsp_handover_transfer (self);
}

static void
channel_open (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  gst_wsp_run_on_context (self, on_channel_open, NULL, NULL);
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
  gst_wsp_call_end (self, WSP_BYE_NORMAL, "the peer closed the wsp channel",
      TRUE, FALSE);
  return G_SOURCE_REMOVE;
}

static void
on_channel_close (GstWspSignaller * self, gpointer data)
{
  if (!self->transferred || self->state == CALL_ENDED)
    return;
  gst_wsp_call_cancel_timer (self);
  self->timer = g_timeout_source_new (CLOSE_GRACE_MS);
  g_source_set_callback (self->timer, channel_close_grace_over, self, NULL);
  g_source_attach (self->timer, self->context);
}

static void
channel_close (GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  gst_wsp_run_on_context (self, on_channel_close, NULL, NULL);
}

void
gst_wsp_handover_watch_channel (GstWspSignaller * self,
    GstWebRTCDataChannel * channel)
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
    gst_wsp_run_on_context (self, on_channel_open, NULL, NULL);
}

static void
on_data_channel (GstWspSignaller * self, gpointer data)
{
  GstWebRTCDataChannel *channel = data;

  if (self->wsp_channel == NULL)
    gst_wsp_handover_watch_channel (self, channel);
}

/* The peer opened a channel. The io channel is watched here, on
 * webrtcbin's thread: its messages are emitted from later tasks of that
 * thread, and a handler connected from the context could miss the first
 * ones (the door sends its state as soon as the channel opens). */
void
gst_wsp_handover_on_data_channel (GstElement * webrtc,
    GstWebRTCDataChannel * channel, GstWspSignaller * self)
{
  g_autofree gchar *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, "wsp") == 0)
    gst_wsp_run_on_context (self, on_data_channel, g_object_ref (channel),
        g_object_unref);
  else if (g_strcmp0 (label, "io") == 0
      && !gst_wsp_io_watch_channel (self, channel))
    GST_INFO_OBJECT (self, "ignoring a second io channel");
}
