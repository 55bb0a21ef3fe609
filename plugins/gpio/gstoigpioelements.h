/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (gpiosrc);
GST_ELEMENT_REGISTER_DECLARE (relaysink);

/* Both elements speak the io data channel's JSON messages (DESIGN §3). */
#define GST_OI_IO_CAPS "application/x-intercom-io"

G_END_DECLS
