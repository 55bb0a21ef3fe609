/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The oiwsp plugin: registers wspsignaller. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstoiwspelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (wspsignaller, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, oiwsp,
    "Open Intercom WSP signalling: webrtcbin calls set up with the WebRTC "
    "Signaling Protocol of door stations",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
