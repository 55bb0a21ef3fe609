/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_GPIO_SRC (gst_gpio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstGpioSrc, gst_gpio_src, GST, GPIO_SRC, GstPushSrc)

typedef enum
{
  GST_GPIO_BIAS_AS_IS,
  GST_GPIO_BIAS_DISABLE,
  GST_GPIO_BIAS_PULL_UP,
  GST_GPIO_BIAS_PULL_DOWN,
} GstGpioBias;

#define GST_TYPE_GPIO_BIAS (gst_gpio_bias_get_type ())
GType gst_gpio_bias_get_type (void);

typedef enum
{
  GST_GPIO_EDGES_BOTH,
  GST_GPIO_EDGES_RISING,
  GST_GPIO_EDGES_FALLING,
} GstGpioEdges;

#define GST_TYPE_GPIO_EDGES (gst_gpio_edges_get_type ())
GType gst_gpio_edges_get_type (void);

G_END_DECLS
