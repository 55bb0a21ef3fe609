/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libgpiod v1 (1.5-1.6: Debian 12, Raspberry Pi OS) backend. v1 gives every
 * line its own event fd; an epoll set joins them so the request has the one
 * fd the interface promises. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"

#include <errno.h>
#include <gpiod.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct
{
  OiGpioRequest parent;
  struct gpiod_chip *chip;
  struct gpiod_line_bulk bulk;
  gboolean requested;
  gint epoll_fd;
} GpiodRequest;

static gint
gpiod1_get_fd (OiGpioRequest * req)
{
  return ((GpiodRequest *) req)->epoll_fd;
}

static gint
gpiod1_read_edges (OiGpioRequest * req, OiGpioEdge * edges, guint max_edges,
    GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  struct epoll_event ready[GPIOD_LINE_BULK_MAX_LINES];
  gint n_ready;
  guint n = 0;

  do {
    n_ready = epoll_wait (request->epoll_fd, ready, req->n_lines, 0);
  } while (n_ready < 0 && errno == EINTR);
  if (n_ready < 0)
    goto epoll_failed;

  for (gint i = 0; i < n_ready && n < max_edges; i++) {
    guint index = ready[i].data.u32;
    struct gpiod_line *line = gpiod_line_bulk_get_line (&request->bulk, index);
    struct gpiod_line_event events[16];
    gint n_events;

    n_events = gpiod_line_event_read_fd_multiple (gpiod_line_event_get_fd
        (line), events, MIN (G_N_ELEMENTS (events), max_edges - n));
    if (n_events < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      goto read_failed;
    }
    for (gint e = 0; e < n_events; e++) {
      edges[n].offset = req->offsets[index];
      edges[n].level = events[e].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
      edges[n].timestamp = (guint64) events[e].ts.tv_sec * G_GUINT64_CONSTANT (1000000000) +
          events[e].ts.tv_nsec;
      n++;
    }
  }
  return n;

  /* ERRORS */
epoll_failed:
  oi_gpio_set_errno_error (error, errno, "cannot wait for events",
      gpiod_chip_name (request->chip));
  return -1;
read_failed:
  oi_gpio_set_errno_error (error, errno, "cannot read events",
      gpiod_chip_name (request->chip));
  return -1;
}

static gboolean
gpiod1_get_levels (OiGpioRequest * req, gboolean * levels, GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  gint values[GPIOD_LINE_BULK_MAX_LINES];

  if (gpiod_line_get_value_bulk (&request->bulk, values) < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot read lines",
        gpiod_chip_name (request->chip));
    return FALSE;
  }
  for (guint i = 0; i < req->n_lines; i++)
    levels[i] = values[i] != 0;
  return TRUE;
}

static gboolean
gpiod1_set_levels (OiGpioRequest * req, const gboolean * levels,
    GError ** error)
{
  GpiodRequest *request = (GpiodRequest *) req;
  gint values[GPIOD_LINE_BULK_MAX_LINES];

  for (guint i = 0; i < req->n_lines; i++)
    values[i] = levels[i] ? 1 : 0;
  if (gpiod_line_set_value_bulk (&request->bulk, values) < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot set lines",
        gpiod_chip_name (request->chip));
    return FALSE;
  }
  return TRUE;
}

static void
gpiod1_release (OiGpioRequest * req)
{
  GpiodRequest *request = (GpiodRequest *) req;

  if (request->epoll_fd >= 0)
    close (request->epoll_fd);
  if (request->requested)
    gpiod_line_release_bulk (&request->bulk);
  if (request->chip)
    gpiod_chip_close (request->chip);
  oi_gpio_request_clear (req);
  g_free (request);
}

static const OiGpioRequestVTable gpiod1_vtable = {
  .get_fd = gpiod1_get_fd,
  .read_edges = gpiod1_read_edges,
  .get_levels = gpiod1_get_levels,
  .set_levels = gpiod1_set_levels,
  .release = gpiod1_release,
};

static gint
bias_flags (OiGpioBias bias)
{
  switch (bias) {
    case OI_GPIO_BIAS_DISABLE:
      return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
    case OI_GPIO_BIAS_PULL_UP:
      return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
    case OI_GPIO_BIAS_PULL_DOWN:
      return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
    case OI_GPIO_BIAS_AS_IS:
      break;
  }
  return 0;
}

static OiGpioRequest *
gpiod1_request_lines (const gchar * spec, const OiGpioLineConfig * config,
    GError ** error)
{
  GpiodRequest *request;
  guint n_chip_lines;
  gint ret;

  if (config->n_lines > GPIOD_LINE_BULK_MAX_LINES) {
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID,
        "libgpiod v1 requests at most %d lines at once",
        GPIOD_LINE_BULK_MAX_LINES);
    return NULL;
  }

  request = g_new0 (GpiodRequest, 1);
  oi_gpio_request_init (&request->parent, &gpiod1_vtable, config);
  request->epoll_fd = -1;

  request->chip = gpiod_chip_open_lookup (spec);
  if (request->chip == NULL)
    goto no_chip;

  n_chip_lines = gpiod_chip_num_lines (request->chip);
  for (guint i = 0; i < config->n_lines; i++) {
    if (config->offsets[i] >= n_chip_lines) {
      g_autofree gchar *line = oi_gpio_line_describe (config, i);

      g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_LINE_NOT_FOUND,
          "GPIO %s not found on chip \"%s\" (it has %u lines)",
          line, spec, n_chip_lines);
      goto failed;
    }
  }

  if (gpiod_chip_get_lines (request->chip, (guint *) config->offsets,
          config->n_lines, &request->bulk) < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot get lines", spec);
    goto failed;
  }

  if (config->direction == OI_GPIO_DIRECTION_OUTPUT) {
    gint values[GPIOD_LINE_BULK_MAX_LINES];

    for (guint i = 0; i < config->n_lines; i++)
      values[i] = config->initial_levels[i] ? 1 : 0;
    ret = gpiod_line_request_bulk_output_flags (&request->bulk,
        config->consumer, 0, values);
  } else {
    ret = gpiod_line_request_bulk_both_edges_events_flags (&request->bulk,
        config->consumer, bias_flags (config->bias));
  }
  if (ret < 0) {
    oi_gpio_set_errno_error (error, errno, "cannot request lines", spec);
    goto failed;
  }
  request->requested = TRUE;

  if (config->direction == OI_GPIO_DIRECTION_INPUT) {
    request->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    if (request->epoll_fd < 0) {
      oi_gpio_set_errno_error (error, errno, "cannot make an epoll set", spec);
      goto failed;
    }
    for (guint i = 0; i < config->n_lines; i++) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLPRI,.data.u32 = i };
      struct gpiod_line *line = gpiod_line_bulk_get_line (&request->bulk, i);

      if (epoll_ctl (request->epoll_fd, EPOLL_CTL_ADD,
              gpiod_line_event_get_fd (line), &ev) < 0) {
        oi_gpio_set_errno_error (error, errno, "cannot watch a line", spec);
        goto failed;
      }
    }
  }

  return &request->parent;

  /* ERRORS */
no_chip:
  g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND,
      "GPIO chip \"%s\" not found: %s", spec, g_strerror (errno));
failed:
  gpiod1_release (&request->parent);
  return NULL;
}

/* Last in the core's table: libgpiod looks any name up itself (a name, a
 * path, a label or a number), so every chip no other backend claimed is
 * its to find or not. */
static gboolean
gpiod1_claims (const gchar * chip)
{
  return TRUE;
}

const OiGpioBackend oi_gpio_gpiod_backend = {
  .name = "libgpiod",
  .chips = "libgpiod chips (a name, path, label or number)",
  .claims = gpiod1_claims,
  .request_lines = gpiod1_request_lines,
};
