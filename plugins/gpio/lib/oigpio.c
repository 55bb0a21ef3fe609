/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core of the GPIO library: which backend opens a chip. Each backend
 * declares one table of operations (OiGpioBackend, oigpio-private.h) with a
 * probe saying whether it claims a chip specification; this file holds the
 * list of those tables and asks them in order. It knows no backend's chip
 * names ("sim:NAME" is oigpio-sim.c's business, names, paths and labels
 * the libgpiod backend's) and calls no backend function by name, so no
 * backend needs anything of it: the request object and the helpers they
 * share are in oigpio-request.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"

/* First claim wins. libgpiod takes every name (it looks chips up by name,
 * path, label and number), so it goes last. */
static const OiGpioBackend *const backends[] = {
  &oi_gpio_sim_backend,
#ifdef HAVE_GPIOD
  &oi_gpio_gpiod_backend,
#endif
};

static const OiGpioBackend *
find_backend (const gchar * chip)
{
  for (guint i = 0; i < G_N_ELEMENTS (backends); i++) {
    if (backends[i]->claims (chip))
      return backends[i];
  }
  return NULL;
}

const gchar *
oi_gpio_backend_for_chip (const gchar * chip)
{
  const OiGpioBackend *backend = find_backend (chip);

  return backend != NULL ? backend->name : NULL;
}

OiGpioRequest *
oi_gpio_request_lines (const gchar * chip, const OiGpioLineConfig * config,
    GError ** error)
{
  const OiGpioBackend *backend;
  g_autoptr (GString) available = NULL;

  g_return_val_if_fail (chip != NULL, NULL);
  g_return_val_if_fail (config != NULL && config->n_lines > 0, NULL);

  backend = find_backend (chip);
  if (backend != NULL)
    return backend->request_lines (chip, config, error);

  /* Only a build without libgpiod gets here: it claims every name. */
  available = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    g_string_append_printf (available, "%s%s", i > 0 ? ", " : "",
        backends[i]->chips);
  g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND,
      "GPIO chip \"%s\" not found: built without libgpiod, only %s are "
      "available", chip, available->str);
  return NULL;
}
