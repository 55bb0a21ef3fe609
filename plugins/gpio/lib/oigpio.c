/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define LINE_MAP_MAX_LINES 64
#define LINE_OFFSET_MAX 4095

G_DEFINE_QUARK (oi-gpio-error-quark, oi_gpio_error);

guint64
oi_gpio_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

gboolean
oi_gpio_chip_is_simulated (const gchar * chip)
{
  return chip != NULL && (g_str_equal (chip, "sim")
      || g_str_has_prefix (chip, "sim:"));
}

const gchar *
oi_gpio_backend_for_chip (const gchar * chip)
{
  if (oi_gpio_chip_is_simulated (chip))
    return "sim";
#ifdef HAVE_GPIOD
  return "libgpiod";
#else
  return NULL;
#endif
}

OiGpioRequest *
oi_gpio_request_lines (const gchar * chip, const OiGpioLineConfig * config,
    GError ** error)
{
  g_return_val_if_fail (chip != NULL, NULL);
  g_return_val_if_fail (config != NULL && config->n_lines > 0, NULL);

  if (oi_gpio_chip_is_simulated (chip))
    return oi_gpio_sim_request_lines (chip, config, error);
#ifdef HAVE_GPIOD
  return oi_gpio_gpiod_request_lines (chip, config, error);
#else
  g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND,
      "GPIO chip \"%s\" not found: built without libgpiod, only simulated "
      "chips (\"sim\", \"sim:NAME\") are available", chip);
  return NULL;
#endif
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

/* Line maps */

gboolean
oi_gpio_line_name_is_valid (const gchar * name)
{
  gsize len = name ? strlen (name) : 0;

  if (len == 0 || len > OI_RELAY_NAME_MAX_LEN)
    return FALSE;
  for (const gchar * p = name; *p; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  }
  return TRUE;
}

static gboolean
parse_offset (const gchar * text, guint * offset)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, LINE_OFFSET_MAX, &value, NULL))
    return FALSE;
  *offset = value;
  return TRUE;
}

OiGpioLineMap *
oi_gpio_line_map_parse (const gchar * text, GError ** error)
{
  g_autoptr (OiGpioLineMap) map = g_new0 (OiGpioLineMap, 1);
  g_auto (GStrv) entries = NULL;
  guint n;

  if (text == NULL)
    goto empty;
  while (g_ascii_isspace (*text))
    text++;
  if (*text == '\0')
    goto empty;

  entries = g_strsplit (text, ",", -1);
  n = g_strv_length (entries);
  if (n > LINE_MAP_MAX_LINES)
    goto too_many;

  map->names = g_new0 (gchar *, n + 1);
  map->offsets = g_new0 (guint, n);

  for (guint i = 0; i < n; i++) {
    g_auto (GStrv) kv = g_strsplit (entries[i], "=", 2);
    const gchar *name, *offset_text;
    guint offset;

    if (g_strv_length (kv) != 2)
      goto bad_entry;
    name = g_strstrip (kv[0]);
    offset_text = g_strstrip (kv[1]);
    if (!oi_gpio_line_name_is_valid (name))
      goto bad_name;
    if (!parse_offset (offset_text, &offset))
      goto bad_offset;
    for (guint j = 0; j < i; j++) {
      if (g_str_equal (map->names[j], name))
        goto duplicate_name;
      if (map->offsets[j] == offset)
        goto duplicate_offset;
    }
    map->names[i] = g_strdup (name);
    map->offsets[i] = offset;
    map->n_lines = i + 1;
    continue;

  bad_entry:
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "line map entry \"%s\" is not NAME=OFFSET", entries[i]);
    return NULL;
  bad_name:
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "line name \"%s\" must be 1-%d characters of A-Z a-z 0-9 _ -",
        name, OI_RELAY_NAME_MAX_LEN);
    return NULL;
  bad_offset:
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "line offset \"%s\" of \"%s\" is not a number from 0 to %d",
        offset_text, name, LINE_OFFSET_MAX);
    return NULL;
  duplicate_name:
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "line name \"%s\" is given twice", name);
    return NULL;
  duplicate_offset:
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "line offset %u is given twice", offset);
    return NULL;
  }

  return g_steal_pointer (&map);

  /* ERRORS */
empty:
  g_set_error_literal (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
      "the line map is empty");
  return NULL;
too_many:
  g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
      "the line map has more than %d lines", LINE_MAP_MAX_LINES);
  return NULL;
}

gint
oi_gpio_line_map_lookup (const OiGpioLineMap * map, const gchar * name)
{
  for (guint i = 0; i < map->n_lines; i++) {
    if (g_str_equal (map->names[i], name))
      return i;
  }
  return -1;
}

void
oi_gpio_line_map_free (OiGpioLineMap * map)
{
  if (map == NULL)
    return;
  g_strfreev (map->names);
  g_free (map->offsets);
  g_free (map);
}
