/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The oigpio plugin: registers gpiosrc and relaysink. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstoigpioelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (gpiosrc, plugin);
  ret |= GST_ELEMENT_REGISTER (relaysink, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, oigpio,
    "Open Intercom GPIO: door-station inputs (gpiosrc) and relays "
    "(relaysink) over libgpiod or a simulated chip",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
