/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend side of the GPIO library. A backend declares one
 * OiGpioBackend (which chips it claims, how it requests their lines) and
 * makes requests that embed OiGpioRequest as their first member with its
 * own vtable. Backends use only this header and oigpio-request.c; the core
 * (oigpio.c) reaches them only through their OiGpioBackend tables. */

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

/* A backend's operations. @claims says whether a chip specification is
 * this backend's (the core asks the backends in the order of its table;
 * the first to claim a chip opens it); @name is what
 * oi_gpio_backend_for_chip() answers; @chips says what the backend takes,
 * for the message of a chip nobody claims. */
typedef struct
{
  const gchar *name;
  const gchar *chips;
  gboolean (*claims) (const gchar * chip);
  OiGpioRequest *(*request_lines) (const gchar * chip,
      const OiGpioLineConfig * config, GError ** error);
} OiGpioBackend;

/* oigpio-sim.c: "sim" and "sim:NAME". */
extern const OiGpioBackend oi_gpio_sim_backend;

#ifdef HAVE_GPIOD
/* oigpio-gpiod1.c or oigpio-gpiod2.c: every name (libgpiod looks it up). */
extern const OiGpioBackend oi_gpio_gpiod_backend;
#endif

G_END_DECLS
