/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_RELAY_SINK (gst_relay_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstRelaySink, gst_relay_sink, GST, RELAY_SINK,
    GstBaseSink)

G_END_DECLS
