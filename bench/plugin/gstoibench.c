/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom: oibench, elements for the benchmarks (not installed) */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstclockstamp.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (clockstamp, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, oibench,
    "Open Intercom benchmark elements: clockstamp", plugin_init, VERSION,
    GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
