/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The request object every backend shares: its common part (what was
 * requested), the public calls that dispatch through a backend's vtable,
 * the error domain and the clock of edge timestamps, and the helpers a
 * backend uses to fill in its errors. It calls no backend by name and
 * knows nothing of chip names: choosing a backend is oigpio.c's job, the
 * lines themselves are the backends'. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"

#include <errno.h>
#include <time.h>

G_DEFINE_QUARK (oi-gpio-error-quark, oi_gpio_error);

guint64
oi_gpio_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

void
oi_gpio_request_init (OiGpioRequest * request,
    const OiGpioRequestVTable * vtable, const OiGpioLineConfig * config)
{
  request->vtable = vtable;
  request->direction = config->direction;
  request->n_lines = config->n_lines;
  request->offsets = g_memdup2 (config->offsets,
      sizeof (guint) * config->n_lines);
}

void
oi_gpio_request_clear (OiGpioRequest * request)
{
  g_clear_pointer (&request->offsets, g_free);
}

void
oi_gpio_set_errno_error (GError ** error, gint err, const gchar * what,
    const gchar * chip)
{
  OiGpioError code = OI_GPIO_ERROR_FAILED;

  if (err == EBUSY)
    code = OI_GPIO_ERROR_BUSY;
  else if (err == EOPNOTSUPP || err == ENOTSUP)
    code = OI_GPIO_ERROR_NOT_SUPPORTED;
  g_set_error (error, OI_GPIO_ERROR, code, "%s on GPIO chip \"%s\": %s",
      what, chip, g_strerror (err));
}

gchar *
oi_gpio_line_describe (const OiGpioLineConfig * config, guint i)
{
  if (config->names != NULL && config->names[i] != NULL)
    return g_strdup_printf ("line \"%s\" (%u)", config->names[i],
        config->offsets[i]);
  return g_strdup_printf ("line %u", config->offsets[i]);
}

void
oi_gpio_request_release (OiGpioRequest * request)
{
  if (request != NULL)
    request->vtable->release (request);
}

gint
oi_gpio_request_get_fd (OiGpioRequest * request)
{
  g_return_val_if_fail (request->direction == OI_GPIO_DIRECTION_INPUT, -1);
  return request->vtable->get_fd (request);
}

gint
oi_gpio_request_read_edges (OiGpioRequest * request, OiGpioEdge * edges,
    guint max_edges, GError ** error)
{
  g_return_val_if_fail (request->direction == OI_GPIO_DIRECTION_INPUT, -1);
  return request->vtable->read_edges (request, edges, max_edges, error);
}

gboolean
oi_gpio_request_get_levels (OiGpioRequest * request, gboolean * levels,
    GError ** error)
{
  return request->vtable->get_levels (request, levels, error);
}

gboolean
oi_gpio_request_set_levels (OiGpioRequest * request, const gboolean * levels,
    GError ** error)
{
  g_return_val_if_fail (request->direction == OI_GPIO_DIRECTION_OUTPUT, FALSE);
  return request->vtable->set_levels (request, levels, error);
}
