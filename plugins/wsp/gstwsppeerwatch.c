/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vanished-peer watch of wspsignaller (gstwsppeerwatch.h). */

#include "gstwsppeerwatch.h"

GST_DEBUG_CATEGORY_EXTERN (gst_wsp_signaller_debug);
#define GST_CAT_DEFAULT gst_wsp_signaller_debug

/* Shared with the probes, which may still be running when the watch is
 * freed: the pad frees its reference when the probe is gone. */
typedef struct
{
  gint refcount;
  gint packets;
} Counter;

static Counter *
counter_ref (Counter * counter)
{
  g_atomic_int_inc (&counter->refcount);
  return counter;
}

static void
counter_unref (gpointer data)
{
  Counter *counter = data;

  if (g_atomic_int_dec_and_test (&counter->refcount))
    g_free (counter);
}

typedef struct
{
  GstPad *pad;
  gulong id;
} Probe;

struct _GstWspPeerWatch
{
  Counter *counter;
  GArray *probes;               /* Probe */
  GSource *timer;
  guint timeout_ms;
  gint last_packets;
  gint64 last_seen;             /* monotonic µs of the last new packet */
  GstWspPeerWatchFunc func;
  gpointer user_data;
};

static GstPadProbeReturn
count_packet (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Counter *counter = data;

  g_atomic_int_inc (&counter->packets);
  return GST_PAD_PROBE_OK;
}

static gboolean
check_silence (gpointer data)
{
  GstWspPeerWatch *watch = data;
  gint packets = g_atomic_int_get (&watch->counter->packets);
  gint64 now = g_get_monotonic_time ();
  guint silent_ms;

  if (packets != watch->last_packets) {
    watch->last_packets = packets;
    watch->last_seen = now;
    return G_SOURCE_CONTINUE;
  }
  silent_ms = (now - watch->last_seen) / G_TIME_SPAN_MILLISECOND;
  if (silent_ms < watch->timeout_ms)
    return G_SOURCE_CONTINUE;
  /* Once: the owner frees the watch, and the source with it. */
  g_clear_pointer (&watch->timer, g_source_unref);
  watch->func (watch->user_data, silent_ms);
  return G_SOURCE_REMOVE;
}

static void
add_probe (GstWspPeerWatch * watch, GstElement * nicesrc)
{
  Probe probe;

  probe.pad = gst_element_get_static_pad (nicesrc, "src");
  if (probe.pad == NULL)
    return;
  probe.id = gst_pad_add_probe (probe.pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, count_packet,
      counter_ref (watch->counter), counter_unref);
  g_array_append_val (watch->probes, probe);
}

static gboolean
is_nicesrc (GstElement * element)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  return factory && g_str_equal (GST_OBJECT_NAME (factory), "nicesrc");
}

GstWspPeerWatch *
gst_wsp_peer_watch_new (GstElement * webrtcbin, guint timeout_ms,
    GMainContext * context, GstWspPeerWatchFunc func, gpointer user_data)
{
  GstWspPeerWatch *watch = g_new0 (GstWspPeerWatch, 1);
  GstIterator *it;
  GValue item = G_VALUE_INIT;
  gboolean done = FALSE;

  watch->counter = g_new0 (Counter, 1);
  watch->counter->refcount = 1;
  watch->probes = g_array_new (FALSE, FALSE, sizeof (Probe));
  watch->timeout_ms = timeout_ms;
  watch->func = func;
  watch->user_data = user_data;
  watch->last_seen = g_get_monotonic_time ();

  /* webrtcbin's transport receive bins hold the nicesrc elements (one
   * with max-bundle); they exist once the descriptions are set. */
  it = gst_bin_iterate_recurse (GST_BIN (webrtcbin));
  while (!done) {
    switch (gst_iterator_next (it, &item)) {
      case GST_ITERATOR_OK:
        if (is_nicesrc (g_value_get_object (&item)))
          add_probe (watch, g_value_get_object (&item));
        g_value_reset (&item);
        break;
      case GST_ITERATOR_RESYNC:
        /* Start again; a probe added twice only counts twice. */
        gst_iterator_resync (it);
        break;
      default:
        done = TRUE;
        break;
    }
  }
  g_value_unset (&item);
  gst_iterator_free (it);

  if (watch->probes->len == 0) {
    GST_WARNING_OBJECT (webrtcbin, "no nicesrc to watch the peer on");
    gst_wsp_peer_watch_free (watch);
    return NULL;
  }
  watch->timer = g_timeout_source_new (CLAMP (timeout_ms / 32, 50, 250));
  g_source_set_callback (watch->timer, check_silence, watch, NULL);
  g_source_attach (watch->timer, context);
  GST_DEBUG_OBJECT (webrtcbin, "watching the peer on %u nicesrc, timeout "
      "%u ms", watch->probes->len, timeout_ms);
  return watch;
}

void
gst_wsp_peer_watch_free (GstWspPeerWatch * watch)
{
  if (watch == NULL)
    return;
  if (watch->timer) {
    g_source_destroy (watch->timer);
    g_source_unref (watch->timer);
  }
  for (guint i = 0; i < watch->probes->len; i++) {
    Probe *probe = &g_array_index (watch->probes, Probe, i);

    gst_pad_remove_probe (probe->pad, probe->id);
    gst_object_unref (probe->pad);
  }
  g_array_unref (watch->probes);
  counter_unref (watch->counter);
  g_free (watch);
}
