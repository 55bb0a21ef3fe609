/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend side of OiGpioRequest: each backend embeds OiGpioRequest as
 * its first member and fills in the vtable. */

#pragma once

#include "oigpio.h"

G_BEGIN_DECLS

typedef struct
{
  gint (*get_fd) (OiGpioRequest * request);
  gint (*read_edges) (OiGpioRequest * request, OiGpioEdge * edges,
      guint max_edges, GError ** error);
  gboolean (*get_levels) (OiGpioRequest * request, gboolean * levels,
      GError ** error);
  gboolean (*set_levels) (OiGpioRequest * request, const gboolean * levels,
      GError ** error);
  void (*release) (OiGpioRequest * request);
} OiGpioRequestVTable;

struct _OiGpioRequest
{
  const OiGpioRequestVTable *vtable;
  OiGpioDirection direction;
  guint n_lines;
  guint *offsets;
};

/* Common part of a backend's request constructor and destructor. */
void oi_gpio_request_init (OiGpioRequest * request,
    const OiGpioRequestVTable * vtable, const OiGpioLineConfig * config);
void oi_gpio_request_clear (OiGpioRequest * request);

/* A backend's failed call, errno @err, as an OI_GPIO_ERROR: EBUSY is BUSY,
 * EOPNOTSUPP is NOT_SUPPORTED, the rest FAILED. */
void oi_gpio_set_errno_error (GError ** error, gint err, const gchar * what,
    const gchar * chip);

/* "line 17" or "line \"bell\" (17)", for error messages. */
gchar *oi_gpio_line_describe (const OiGpioLineConfig * config, guint i);

OiGpioRequest *oi_gpio_sim_request_lines (const gchar * chip,
    const OiGpioLineConfig * config, GError ** error);

#ifdef HAVE_GPIOD
OiGpioRequest *oi_gpio_gpiod_request_lines (const gchar * chip,
    const OiGpioLineConfig * config, GError ** error);
#endif

G_END_DECLS
