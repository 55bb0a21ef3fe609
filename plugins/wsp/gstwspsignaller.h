/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "wsptransport.h"

G_BEGIN_DECLS

#define GST_TYPE_WSP_SIGNALLER (gst_wsp_signaller_get_type ())
G_DECLARE_FINAL_TYPE (GstWspSignaller, gst_wsp_signaller, GST, WSP_SIGNALLER,
    GstBin)

G_END_DECLS
