/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libgpiod v2 (2.0 and later: Debian 13, Fedora, Yocto) backend. v2 puts all
 * the lines of a request, and their edge events, on one fd, so no epoll set
 * is needed; the chip is only needed to make the request and is closed right
 * after. v2 opens chips by path only: the lookup v1 did for us (number,
 * label, name) is done here. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"

#include <errno.h>
#include <gpiod.h>
#include <string.h>

/* The kernel's GPIO_V2_LINES_MAX: the most lines one request can hold. */
#define GPIOD2_MAX_LINES 64
/* The most edges read at once; the kernel queues 16 per line by default. */
#define GPIOD2_EDGE_BUFFER_SIZE 64

typedef struct
{
  OiGpioRequest parent;
  gchar *chip_name;
  struct gpiod_line_request *line_request;
  struct gpiod_edge_event_buffer *edge_buffer;
} GpiodRequest;

static gint
gpiod2_get_fd (OiGpioRequest * req)
{
  return gpiod_line_request_get_fd (((GpiodRequest *) req)->line_request);
}

/* Only the thread reading edges uses the edge buffer. */
static gint
gpiod2_read_edges (OiGpioRequest * req, OiGpioEdge * edges, guint max_edges,
    GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  guint n = 0;

  while (n < max_edges) {
    gint ret, n_events;

    /* The read blocks when nothing is queued: look first. */
    ret = gpiod_line_request_wait_edge_events (request->line_request, 0);
    if (ret < 0 && errno == EINTR)
      continue;
    if (ret < 0)
      goto wait_failed;
    if (ret == 0)
      break;

    n_events = gpiod_line_request_read_edge_events (request->line_request,
        request->edge_buffer, MIN (max_edges - n, GPIOD2_EDGE_BUFFER_SIZE));
    if (n_events < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        break;
      goto read_failed;
    }
    for (gint e = 0; e < n_events; e++) {
      struct gpiod_edge_event *event =
          gpiod_edge_event_buffer_get_event (request->edge_buffer, e);

      edges[n].offset = gpiod_edge_event_get_line_offset (event);
      edges[n].level = gpiod_edge_event_get_event_type (event) ==
          GPIOD_EDGE_EVENT_RISING_EDGE;
      edges[n].timestamp = gpiod_edge_event_get_timestamp_ns (event);
      n++;
    }
  }
  return n;

  /* ERRORS */
wait_failed:
  oi_gpio_set_errno_error (error, errno, "cannot wait for events",
      request->chip_name);
  return -1;
read_failed:
  oi_gpio_set_errno_error (error, errno, "cannot read events", request->chip_name);
  return -1;
}

/* v2 orders values as the offsets passed in: request order. */
static gboolean
gpiod2_get_levels (OiGpioRequest * req, gboolean * levels, GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  enum gpiod_line_value values[GPIOD2_MAX_LINES];

  if (gpiod_line_request_get_values_subset (request->line_request,
          req->n_lines, req->offsets, values) < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot read lines", request->chip_name);
    return FALSE;
  }
  for (guint i = 0; i < req->n_lines; i++)
    levels[i] = values[i] == GPIOD_LINE_VALUE_ACTIVE;
  return TRUE;
}

static gboolean
gpiod2_set_levels (OiGpioRequest * req, const gboolean * levels,
    GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  enum gpiod_line_value values[GPIOD2_MAX_LINES];

  for (guint i = 0; i < req->n_lines; i++)
    values[i] = levels[i] ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
  if (gpiod_line_request_set_values_subset (request->line_request,
          req->n_lines, req->offsets, values) < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot set lines", request->chip_name);
    return FALSE;
  }
  return TRUE;
}

static void
gpiod2_release (OiGpioRequest * req)
{
  GpiodRequest *request = (GpiodRequest *) req;

  if (request->edge_buffer)
    gpiod_edge_event_buffer_free (request->edge_buffer);
  if (request->line_request)
    gpiod_line_request_release (request->line_request);
  g_free (request->chip_name);
  oi_gpio_request_clear (req);
  g_free (request);
}

static const OiGpioRequestVTable gpiod2_vtable = {
  .get_fd = gpiod2_get_fd,
  .read_edges = gpiod2_read_edges,
  .get_levels = gpiod2_get_levels,
  .set_levels = gpiod2_set_levels,
  .release = gpiod2_release,
};

/* Chip lookup */

/* gpiochip2 before gpiochip10. */
static gint
compare_chip_names (gconstpointer a, gconstpointer b)
{
  const gchar *name_a = *(const gchar * const *) a;
  const gchar *name_b = *(const gchar * const *) b;
  gsize len_a = strlen (name_a), len_b = strlen (name_b);

  if (len_a != len_b)
    return len_a < len_b ? -1 : 1;
  return strcmp (name_a, name_b);
}

/* Returns NULL with errno set. */
static struct gpiod_chip *
open_chip_by_label (const gchar * label)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir;
  const gchar *name;

  dir = g_dir_open ("/dev", 0, NULL);
  if (dir != NULL) {
    while ((name = g_dir_read_name (dir)) != NULL) {
      if (g_str_has_prefix (name, "gpiochip"))
        g_ptr_array_add (names, g_strdup (name));
    }
    g_dir_close (dir);
  }
  g_ptr_array_sort (names, compare_chip_names);

  for (guint i = 0; i < names->len; i++) {
    g_autofree gchar *path = g_build_filename ("/dev",
        (const gchar *) g_ptr_array_index (names, i), NULL);
    struct gpiod_chip *chip;
    struct gpiod_chip_info *info;
    gboolean match;

    if (!gpiod_is_gpiochip_device (path))
      continue;
    /* A chip we may not open cannot be the one asked for. */
    chip = gpiod_chip_open (path);
    if (chip == NULL)
      continue;
    info = gpiod_chip_get_info (chip);
    match = info != NULL
        && g_strcmp0 (gpiod_chip_info_get_label (info), label) == 0;
    if (info != NULL)
      gpiod_chip_info_free (info);
    if (match)
      return chip;
    gpiod_chip_close (chip);
  }

  errno = ENOENT;
  return NULL;
}

static gboolean
is_number (const gchar * text)
{
  if (*text == '\0')
    return FALSE;
  for (const gchar * p = text; *p; p++) {
    if (!g_ascii_isdigit (*p))
      return FALSE;
  }
  return TRUE;
}

/* v1's gpiod_chip_open_lookup: a number ("0" is /dev/gpiochip0), else a
 * label, else a path ("/dev/gpiochip0") or a name in /dev ("gpiochip0").
 * Returns NULL with errno set. */
static struct gpiod_chip *
open_chip (const gchar * spec)
{
  g_autofree gchar *path = NULL;
  struct gpiod_chip *chip;

  if (*spec == '\0') {
    errno = ENOENT;
    return NULL;
  }

  if (is_number (spec)) {
    guint64 number;

    if (!g_ascii_string_to_unsigned (spec, 10, 0, G_MAXUINT, &number, NULL)) {
      errno = ENOENT;
      return NULL;
    }
    path = g_strdup_printf ("/dev/gpiochip%" G_GUINT64_FORMAT, number);
    return gpiod_chip_open (path);
  }

  chip = open_chip_by_label (spec);
  if (chip != NULL)
    return chip;

  if (strchr (spec, '/') != NULL)
    return gpiod_chip_open (spec);
  path = g_build_filename ("/dev", spec, NULL);
  return gpiod_chip_open (path);
}

/* Request */

static enum gpiod_line_bias
to_gpiod_bias (OiGpioBias bias)
{
  switch (bias) {
    case OI_GPIO_BIAS_DISABLE:
      return GPIOD_LINE_BIAS_DISABLED;
    case OI_GPIO_BIAS_PULL_UP:
      return GPIOD_LINE_BIAS_PULL_UP;
    case OI_GPIO_BIAS_PULL_DOWN:
      return GPIOD_LINE_BIAS_PULL_DOWN;
    case OI_GPIO_BIAS_AS_IS:
      break;
  }
  return GPIOD_LINE_BIAS_AS_IS;
}

/* Outputs: push-pull, bias as is, @initial_levels. Inputs: both edges,
 * @bias, no kernel debounce (debounce is done above every backend alike),
 * CLOCK_MONOTONIC timestamps. Returns NULL with errno set. */
static struct gpiod_line_request *
make_line_request (struct gpiod_chip *chip, const OiGpioLineConfig * config)
{
  struct gpiod_line_settings *settings = gpiod_line_settings_new ();
  struct gpiod_line_config *line_config = gpiod_line_config_new ();
  struct gpiod_request_config *request_config = gpiod_request_config_new ();
  struct gpiod_line_request *line_request = NULL;
  gint err;

  if (settings == NULL || line_config == NULL || request_config == NULL) {
    errno = ENOMEM;
    goto done;
  }

  if (config->direction == OI_GPIO_DIRECTION_OUTPUT) {
    enum gpiod_line_value values[GPIOD2_MAX_LINES];

    for (guint i = 0; i < config->n_lines; i++)
      values[i] = config->initial_levels[i] ? GPIOD_LINE_VALUE_ACTIVE :
          GPIOD_LINE_VALUE_INACTIVE;
    if (gpiod_line_settings_set_direction (settings,
            GPIOD_LINE_DIRECTION_OUTPUT) < 0)
      goto done;
    if (gpiod_line_config_add_line_settings (line_config, config->offsets,
            config->n_lines, settings) < 0)
      goto done;
    /* Values in the order the offsets were added. */
    if (gpiod_line_config_set_output_values (line_config, values,
            config->n_lines) < 0)
      goto done;
  } else {
    if (gpiod_line_settings_set_direction (settings,
            GPIOD_LINE_DIRECTION_INPUT) < 0
        || gpiod_line_settings_set_edge_detection (settings,
            GPIOD_LINE_EDGE_BOTH) < 0
        || gpiod_line_settings_set_bias (settings,
            to_gpiod_bias (config->bias)) < 0
        || gpiod_line_settings_set_event_clock (settings,
            GPIOD_LINE_CLOCK_MONOTONIC) < 0)
      goto done;
    gpiod_line_settings_set_debounce_period_us (settings, 0);
    if (gpiod_line_config_add_line_settings (line_config, config->offsets,
            config->n_lines, settings) < 0)
      goto done;
  }

  if (config->consumer != NULL)
    gpiod_request_config_set_consumer (request_config, config->consumer);

  line_request = gpiod_chip_request_lines (chip, request_config, line_config);

done:
  err = errno;
  gpiod_request_config_free (request_config);
  gpiod_line_config_free (line_config);
  gpiod_line_settings_free (settings);
  errno = err;
  return line_request;
}

static OiGpioRequest *
gpiod2_request_lines (const gchar * spec, const OiGpioLineConfig * config,
    GError ** error)
{
  GpiodRequest *request;
  struct gpiod_chip *chip = NULL;
  struct gpiod_chip_info *info;
  guint n_chip_lines;

  if (config->n_lines > GPIOD2_MAX_LINES) {
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "libgpiod v2 requests at most %d lines at once", GPIOD2_MAX_LINES);
    return NULL;
  }

  request = g_new0 (GpiodRequest, 1);
  oi_gpio_request_init (&request->parent, &gpiod2_vtable, config);

  chip = open_chip (spec);
  if (chip == NULL)
    goto no_chip;

  info = gpiod_chip_get_info (chip);
  if (info == NULL) {
    oi_gpio_set_errno_error (error, errno, "cannot read chip information", spec);
    goto failed;
  }
  n_chip_lines = gpiod_chip_info_get_num_lines (info);
  request->chip_name = g_strdup (gpiod_chip_info_get_name (info));
  gpiod_chip_info_free (info);

  for (guint i = 0; i < config->n_lines; i++) {
    if (config->offsets[i] >= n_chip_lines) {
      g_autofree gchar *line = oi_gpio_line_describe (config, i);

      g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_LINE_NOT_FOUND,
          "GPIO %s not found on chip \"%s\" (it has %u lines)",
          line, spec, n_chip_lines);
      goto failed;
    }
  }

  /* libgpiod v2 merges a repeated offset into one line; the kernel, and so
   * v1, refuse to request a line twice. */
  for (guint i = 1; i < config->n_lines; i++) {
    for (guint j = 0; j < i; j++) {
      if (config->offsets[i] == config->offsets[j]) {
        g_autofree gchar *line = oi_gpio_line_describe (config, i);

        g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_BUSY,
            "GPIO %s of chip \"%s\" is busy: it is requested twice",
            line, spec);
        goto failed;
      }
    }
  }

  request->line_request = make_line_request (chip, config);
  if (request->line_request == NULL) {
    oi_gpio_set_errno_error (error, errno, "cannot request lines", spec);
    goto failed;
  }
  gpiod_chip_close (chip);
  chip = NULL;

  if (config->direction == OI_GPIO_DIRECTION_INPUT) {
    request->edge_buffer =
        gpiod_edge_event_buffer_new (GPIOD2_EDGE_BUFFER_SIZE);
    if (request->edge_buffer == NULL) {
      oi_gpio_set_errno_error (error, errno, "cannot make an event buffer", spec);
      goto failed;
    }
  }

  return &request->parent;

  /* ERRORS */
no_chip:
  g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND,
      "GPIO chip \"%s\" not found: %s", spec, g_strerror (errno));
failed:
  if (chip != NULL)
    gpiod_chip_close (chip);
  gpiod2_release (&request->parent);
  return NULL;
}

/* Last in the core's table: libgpiod looks any name up itself (a name, a
 * path, a label or a number), so every chip no other backend claimed is
 * its to find or not. */
static gboolean
gpiod2_claims (const gchar * chip)
{
  return TRUE;
}

const OiGpioBackend oi_gpio_gpiod_backend = {
  .name = "libgpiod",
  .chips = "libgpiod chips (a name, path, label or number)",
  .claims = gpiod2_claims,
  .request_lines = gpiod2_request_lines,
};
