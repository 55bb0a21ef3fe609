/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom: clockstamp, the wall clock written into video frames */

/**
 * SECTION:element-clockstamp
 * @title: clockstamp
 *
 * Writes the wall-clock time at which each frame passes (milliseconds since
 * the Unix epoch, modulo 2^32) into the frame's top-left corner as two rows
 * of 32 square blocks, most significant bit first: the first row white for
 * a 1 and black for a 0, the second row the complement, so a reader can
 * tell a clean read from a block the encoder smeared. The chroma of the
 * blocks is neutral. A receiver that reads the blocks when it shows the
 * frame knows the frame's glass-to-glass latency: the benchmark
 * (BENCHMARKS.md) does so in the browser.
 *
 * Put it right after the live source: the time written is when the frame
 * leaves the source, which for a live source is its capture time.
 *
 * The frame must be at least 32 blocks wide and 2 blocks high; frames that
 * are smaller pass unchanged (a warning is logged once).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,format=I420,width=640,height=480 ! clockstamp block-size=20 ! videoconvert ! autovideosink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstclockstamp.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_clock_stamp_debug);
#define GST_CAT_DEFAULT gst_clock_stamp_debug

#define CLOCK_STAMP_BITS 32
#define DEFAULT_BLOCK_SIZE 16
#define LUMA_ONE 235
#define LUMA_ZERO 16
#define CHROMA_NEUTRAL 128

enum
{
  PROP_0,
  PROP_BLOCK_SIZE,
};

struct _GstClockStamp
{
  GstVideoFilter parent;

  guint block_size;             /* object lock */
  gboolean warned;              /* streaming thread only */
};

#define FORMATS "{ I420, YV12, NV12 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));

G_DEFINE_TYPE (GstClockStamp, gst_clock_stamp, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (clockstamp, "clockstamp",
    GST_RANK_NONE, GST_TYPE_CLOCK_STAMP,
    GST_DEBUG_CATEGORY_INIT (gst_clock_stamp_debug, "clockstamp", 0,
        "wall clock written into video frames"));

static void
fill_rect (guint8 * plane, gint stride, gint pixel_stride, gint x, gint y,
    gint w, gint h, guint8 value)
{
  for (gint row = y; row < y + h; row++) {
    guint8 *p = plane + (gsize) row * stride + (gsize) x * pixel_stride;

    if (pixel_stride == 1) {
      memset (p, value, w);
    } else {
      for (gint col = 0; col < w; col++)
        p[col * pixel_stride] = value;
    }
  }
}

/* The chroma of one block: every chroma component of the format. */
static void
fill_chroma (GstVideoFrame * frame, gint x, gint y, gint size)
{
  for (guint c = 1; c < GST_VIDEO_FRAME_N_COMPONENTS (frame); c++) {
    const GstVideoFormatInfo *info = frame->info.finfo;
    gint cx = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (info, c, x);
    gint cy = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (info, c, y);
    gint cw = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (info, c, size);
    gint ch = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (info, c, size);

    fill_rect (GST_VIDEO_FRAME_COMP_DATA (frame, c),
        GST_VIDEO_FRAME_COMP_STRIDE (frame, c),
        GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c), cx, cy, cw, ch,
        CHROMA_NEUTRAL);
  }
}

static GstFlowReturn
gst_clock_stamp_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstClockStamp *self = GST_CLOCK_STAMP (filter);
  guint32 ms = (guint32) ((guint64) g_get_real_time () / 1000);
  gint size;

  GST_OBJECT_LOCK (self);
  size = self->block_size;
  GST_OBJECT_UNLOCK (self);

  if (GST_VIDEO_FRAME_WIDTH (frame) < CLOCK_STAMP_BITS * size
      || GST_VIDEO_FRAME_HEIGHT (frame) < 2 * size) {
    if (!self->warned)
      GST_WARNING_OBJECT (self, "%dx%d frames are too small for %d blocks "
          "of %d pixels: passed unchanged", GST_VIDEO_FRAME_WIDTH (frame),
          GST_VIDEO_FRAME_HEIGHT (frame), CLOCK_STAMP_BITS, size);
    self->warned = TRUE;
    return GST_FLOW_OK;
  }

  for (gint bit = 0; bit < CLOCK_STAMP_BITS; bit++) {
    gboolean one = (ms >> (CLOCK_STAMP_BITS - 1 - bit)) & 1;
    gint x = bit * size;

    for (gint row = 0; row < 2; row++) {
      gboolean white = row == 0 ? one : !one;

      fill_rect (GST_VIDEO_FRAME_COMP_DATA (frame, 0),
          GST_VIDEO_FRAME_COMP_STRIDE (frame, 0),
          GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0), x, row * size, size,
          size, white ? LUMA_ONE : LUMA_ZERO);
      fill_chroma (frame, x, row * size, size);
    }
  }
  GST_LOG_OBJECT (self, "stamped %" G_GUINT32_FORMAT " ms", ms);
  return GST_FLOW_OK;
}

static void
gst_clock_stamp_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstClockStamp *self = GST_CLOCK_STAMP (object);

  switch (prop_id) {
    case PROP_BLOCK_SIZE:
      GST_OBJECT_LOCK (self);
      self->block_size = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_clock_stamp_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstClockStamp *self = GST_CLOCK_STAMP (object);

  switch (prop_id) {
    case PROP_BLOCK_SIZE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->block_size);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_clock_stamp_class_init (GstClockStampClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_clock_stamp_set_property;
  gobject_class->get_property = gst_clock_stamp_get_property;

  /**
   * GstClockStamp:block-size:
   *
   * The side of one block, in pixels (even, so the chroma of 4:2:0 formats
   * covers whole blocks). Larger blocks survive lower bitrates.
   */
  g_object_class_install_property (gobject_class, PROP_BLOCK_SIZE,
      g_param_spec_uint ("block-size", "Block size",
          "Side of one bit's square block, in pixels (even)", 2, 256,
          DEFAULT_BLOCK_SIZE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Clock stamp",
      "Filter/Effect/Video", "Writes the wall-clock time (ms) into each "
      "frame as two rows of black and white blocks, for glass-to-glass "
      "latency measurements", "Open Intercom developers "
      "<dev@open-intercom.invalid>");

  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_clock_stamp_transform_frame_ip);
}

static void
gst_clock_stamp_init (GstClockStamp * self)
{
  self->block_size = DEFAULT_BLOCK_SIZE;
}
