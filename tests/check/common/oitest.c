/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oitest.h"

#include <unistd.h>

GstMessage *
oi_test_pop_message (GstBus * bus, GstMessageType type, GstClockTime timeout)
{
  return gst_bus_timed_pop_filtered (bus, timeout, type);
}

GstMessage *
oi_test_pop_element_message (GstBus * bus, const gchar * name,
    gboolean stop_on_problem, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;

  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg;

    if (left <= 0)
      return NULL;
    msg = gst_bus_timed_pop_filtered (bus, left * GST_USECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    if (msg == NULL)
      return NULL;
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT) {
      if (stop_on_problem)
        return msg;
    } else if (gst_message_has_name (msg, name)) {
      return msg;
    }
    gst_message_unref (msg);
  }
}

struct _OiOutputWatch
{
  OiGpioSimChip *chip;
  gulong handler;
  GMutex lock;
  GCond cond;
  GArray *changes;
};

static void
on_output_changed (OiGpioSimChip * chip, guint offset, gboolean level,
    guint64 timestamp, OiOutputWatch * watch)
{
  OiOutputChange change = { offset, level, timestamp };

  g_mutex_lock (&watch->lock);
  g_array_append_val (watch->changes, change);
  g_cond_broadcast (&watch->cond);
  g_mutex_unlock (&watch->lock);
}

OiOutputWatch *
oi_output_watch_new (OiGpioSimChip * chip)
{
  OiOutputWatch *watch = g_new0 (OiOutputWatch, 1);

  watch->chip = g_object_ref (chip);
  g_mutex_init (&watch->lock);
  g_cond_init (&watch->cond);
  watch->changes = g_array_new (FALSE, FALSE, sizeof (OiOutputChange));
  watch->handler = g_signal_connect (chip, "output-changed",
      G_CALLBACK (on_output_changed), watch);
  return watch;
}

void
oi_output_watch_free (OiOutputWatch * watch)
{
  g_signal_handler_disconnect (watch->chip, watch->handler);
  g_object_unref (watch->chip);
  g_array_unref (watch->changes);
  g_mutex_clear (&watch->lock);
  g_cond_clear (&watch->cond);
  g_free (watch);
}

gboolean
oi_output_watch_next (OiOutputWatch * watch, guint offset,
    GstClockTime timeout, OiOutputChange * change)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;
  gboolean found = FALSE;

  g_mutex_lock (&watch->lock);
  while (!found) {
    for (guint i = 0; i < watch->changes->len; i++) {
      OiOutputChange *c = &g_array_index (watch->changes, OiOutputChange, i);

      if (c->offset == offset) {
        *change = *c;
        g_array_remove_index (watch->changes, i);
        found = TRUE;
        break;
      }
    }
    if (!found && !g_cond_wait_until (&watch->cond, &watch->lock, deadline))
      break;
  }
  g_mutex_unlock (&watch->lock);
  return found;
}

OiGpioSimChip *
oi_test_new_chip (gchar ** spec)
{
  static gint counter;
  g_autofree gchar *name = g_strdup_printf ("test%d-%d", getpid (),
      g_atomic_int_add (&counter, 1));

  *spec = g_strdup_printf ("sim:%s", name);
  return oi_gpio_sim_chip_get (name);
}
