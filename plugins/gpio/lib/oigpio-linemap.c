/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Line maps, "bell=17,in1=27,in2=22": the names the elements give their
 * lines, parsed and checked once for every element and backend. What a
 * line is on a chip is the backends' business. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio.h"

#include <string.h>

#define LINE_MAP_MAX_LINES 64
#define LINE_OFFSET_MAX 4095

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
