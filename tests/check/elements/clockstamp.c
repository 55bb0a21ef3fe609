/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clockstamp: the wall clock read back from the blocks it writes */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#define BLOCK 4
#define GREY 77

/* A harness on clockstamp block-size=BLOCK with one frame of `format`,
 * width x height, every byte GREY; returns the frame it gives back. */
static GstBuffer *
stamp_frame (const gchar * format, gint width, gint height,
    GstVideoInfo * info)
{
  GstHarness *h = gst_harness_new_parse ("clockstamp block-size=4");
  g_autofree gchar *caps = g_strdup_printf ("video/x-raw,format=%s,"
      "width=%d,height=%d,framerate=30/1", format, width, height);
  GstCaps *c = gst_caps_from_string (caps);
  GstBuffer *in, *out;

  fail_unless (gst_video_info_from_caps (info, c));
  gst_caps_unref (c);
  gst_harness_set_src_caps_str (h, caps);
  in = gst_harness_create_buffer (h, info->size);
  gst_buffer_memset (in, 0, GREY, info->size);
  out = gst_harness_push_and_pull (h, in);
  fail_unless (out != NULL);
  gst_harness_teardown (h);
  return out;
}

/* The luma at the centre of block `bit` of `row`. */
static guint8
block_luma (GstVideoFrame * frame, gint bit, gint row)
{
  const guint8 *y = GST_VIDEO_FRAME_COMP_DATA (frame, 0);

  return y[(row * BLOCK + BLOCK / 2) * GST_VIDEO_FRAME_COMP_STRIDE (frame, 0)
      + bit * BLOCK + BLOCK / 2];
}

static void
check_stamp (const gchar * format)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *out;
  guint32 before = (guint32) ((guint64) g_get_real_time () / 1000), after;
  guint32 value = 0;

  out = stamp_frame (format, 160, 16, &info);
  after = (guint32) ((guint64) g_get_real_time () / 1000);
  fail_unless (gst_video_frame_map (&frame, &info, out, GST_MAP_READ));

  for (gint bit = 0; bit < 32; bit++) {
    guint8 top = block_luma (&frame, bit, 0), bottom = block_luma (&frame,
        bit, 1);

    fail_unless (top == 235 || top == 16, "bit %d: luma %u", bit, top);
    fail_unless_equals_int (bottom, top == 235 ? 16 : 235);
    value = (value << 1) | (top == 235);
  }
  /* the time it was written, modulo 2^32 ms */
  fail_unless ((guint32) (value - before) <= (guint32) (after - before),
      "stamp %u not within [%u, %u]", value, before, after);

  /* neutral chroma over the blocks, untouched beside them */
  for (guint c = 1; c < GST_VIDEO_FRAME_N_COMPONENTS (&frame); c++) {
    const guint8 *p = GST_VIDEO_FRAME_COMP_DATA (&frame, c);
    gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, c);
    gint stride = GST_VIDEO_FRAME_COMP_STRIDE (&frame, c);

    fail_unless_equals_int (p[0], 128);
    fail_unless_equals_int (p[(32 * BLOCK / 2 - 1) * pstride], 128);
    fail_unless_equals_int (p[(32 * BLOCK / 2) * pstride], GREY);
    fail_unless_equals_int (p[(BLOCK) * stride], GREY);
  }
  /* luma beside and below the blocks untouched */
  fail_unless_equals_int (((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame,
              0))[32 * BLOCK], GREY);
  fail_unless_equals_int (((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame,
              0))[2 * BLOCK * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0)], GREY);

  gst_video_frame_unmap (&frame);
  gst_buffer_unref (out);
}

GST_START_TEST (test_stamp_i420)
{
  check_stamp ("I420");
}

GST_END_TEST;

GST_START_TEST (test_stamp_nv12)
{
  check_stamp ("NV12");
}

GST_END_TEST;

/* A frame narrower than 32 blocks passes unchanged. */
GST_START_TEST (test_small_frame_unchanged)
{
  GstVideoInfo info;
  GstBuffer *out = stamp_frame ("I420", 32 * BLOCK - 2, 16, &info);
  GstMapInfo map;

  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  for (gsize i = 0; i < map.size; i++)
    fail_unless (map.data[i] == GREY, "byte %" G_GSIZE_FORMAT " changed", i);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
}

GST_END_TEST;

static Suite *
clockstamp_suite (void)
{
  Suite *s = suite_create ("clockstamp");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_stamp_i420);
  tcase_add_test (tc, test_stamp_nv12);
  tcase_add_test (tc, test_small_frame_unchanged);
  return s;
}

GST_CHECK_MAIN (clockstamp);
