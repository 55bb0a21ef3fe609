/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_CLOCK_STAMP_H__
#define __GST_CLOCK_STAMP_H__

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_CLOCK_STAMP (gst_clock_stamp_get_type ())
G_DECLARE_FINAL_TYPE (GstClockStamp, gst_clock_stamp, GST, CLOCK_STAMP,
    GstVideoFilter);

GST_ELEMENT_REGISTER_DECLARE (clockstamp);

G_END_DECLS

#endif /* __GST_CLOCK_STAMP_H__ */
