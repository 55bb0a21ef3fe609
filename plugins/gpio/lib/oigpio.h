/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom GPIO library: one small interface over libgpiod and a
 * simulated chip, plus the pieces every backend shares (line maps,
 * software debounce).
 *
 * Backends deal only in physical levels; active-low inversion and debounce
 * happen above them, identically for every backend. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define OI_GPIO_ERROR (oi_gpio_error_quark ())
GQuark oi_gpio_error_quark (void);

typedef enum
{
  OI_GPIO_ERROR_FAILED,
  OI_GPIO_ERROR_CHIP_NOT_FOUND,
  OI_GPIO_ERROR_LINE_NOT_FOUND,
  OI_GPIO_ERROR_BUSY,
  OI_GPIO_ERROR_NOT_SUPPORTED,
  OI_GPIO_ERROR_INVALID,
  OI_GPIO_ERROR_IO,
} OiGpioError;

typedef enum
{
  OI_GPIO_DIRECTION_INPUT,
  OI_GPIO_DIRECTION_OUTPUT,
} OiGpioDirection;

typedef enum
{
  OI_GPIO_BIAS_AS_IS,
  OI_GPIO_BIAS_DISABLE,
  OI_GPIO_BIAS_PULL_UP,
  OI_GPIO_BIAS_PULL_DOWN,
} OiGpioBias;

/* A raw edge as a backend reports it. */
typedef struct
{
  guint offset;
  gboolean level;               /* physical level after the edge */
  guint64 timestamp;            /* ns, CLOCK_MONOTONIC */
} OiGpioEdge;

/* What to request. @offsets has @n_lines entries; @initial_levels
 * (physical) is read for outputs only. */
typedef struct
{
  OiGpioDirection direction;
  OiGpioBias bias;
  guint n_lines;
  const guint *offsets;
  const gboolean *initial_levels;
  const gchar *consumer;
  const gchar *const *names;    /* optional: line names for messages */
} OiGpioLineConfig;

typedef struct _OiGpioRequest OiGpioRequest;

/* Chip specifications: "sim" or "sim:NAME" select the simulated backend
 * (see oigpio-sim.h); anything else goes to libgpiod, which takes a chip
 * name ("gpiochip0"), a path ("/dev/gpiochip0"), a label or a number. */
gboolean oi_gpio_chip_is_simulated (const gchar * chip);
const gchar *oi_gpio_backend_for_chip (const gchar * chip);

OiGpioRequest *oi_gpio_request_lines (const gchar * chip,
    const OiGpioLineConfig * config, GError ** error);
void oi_gpio_request_release (OiGpioRequest * request);

/* A file descriptor that becomes readable when edges are pending on an
 * input request. Owned by the request. */
gint oi_gpio_request_get_fd (OiGpioRequest * request);

/* Reads the pending edges without blocking: returns how many were stored in
 * @edges (0 when none), or -1 with @error set. */
gint oi_gpio_request_read_edges (OiGpioRequest * request, OiGpioEdge * edges,
    guint max_edges, GError ** error);

/* Physical levels, one per requested line, in request order. */
gboolean oi_gpio_request_get_levels (OiGpioRequest * request,
    gboolean * levels, GError ** error);
gboolean oi_gpio_request_set_levels (OiGpioRequest * request,
    const gboolean * levels, GError ** error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiGpioRequest, oi_gpio_request_release)

/* Line maps: "bell=17,in1=27,in2=22". Names are 1-31 characters of
 * [A-Za-z0-9_-], unique; offsets are unique and below 4096. */
typedef struct
{
  guint n_lines;
  gchar **names;
  guint *offsets;
} OiGpioLineMap;

OiGpioLineMap *oi_gpio_line_map_parse (const gchar * text, GError ** error);
gint oi_gpio_line_map_lookup (const OiGpioLineMap * map, const gchar * name);
void oi_gpio_line_map_free (OiGpioLineMap * map);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiGpioLineMap, oi_gpio_line_map_free)

/* Software debounce, the same for every backend: leading edge. A change of
 * a line's level is reported as soon as the line still holds the new level
 * @glitch_filter after the change's first edge (a spike shorter than that is
 * no event), stamped with that first edge, the moment the change began.
 * Then the line is masked for @period from that edge: its bounces are
 * ignored. If the line is at another level when the mask ends (it was
 * released within the mask), that is a change beginning at the end of the
 * mask, reported through the glitch filter like any other. Every report is
 * popped @glitch_filter after its timestamp, so reports come out in
 * timestamp order across lines. A period of 0 reports every change of level
 * at once, unfiltered (@glitch_filter is ignored). Times are ns on
 * CLOCK_MONOTONIC. */
typedef struct _OiGpioDebouncer OiGpioDebouncer;

OiGpioDebouncer *oi_gpio_debouncer_new (guint n_lines, guint64 period,
    guint64 glitch_filter);
void oi_gpio_debouncer_free (OiGpioDebouncer * debouncer);
void oi_gpio_debouncer_reset (OiGpioDebouncer * debouncer, guint line,
    gboolean level);
void oi_gpio_debouncer_push (OiGpioDebouncer * debouncer, guint line,
    gboolean level, guint64 timestamp);
gboolean oi_gpio_debouncer_pop (OiGpioDebouncer * debouncer, guint64 now,
    guint * line, gboolean * level, guint64 * timestamp);
/* When the next pop can succeed, or G_MAXUINT64 if nothing is pending. */
guint64 oi_gpio_debouncer_next_deadline (OiGpioDebouncer * debouncer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiGpioDebouncer, oi_gpio_debouncer_free)

/* The longest line name (line maps). Relay commands themselves are io
 * messages: relaysink reads them with libopenintercom-wsp (wspio.h). */
#define OI_RELAY_NAME_MAX_LEN 31

/* Now, in ns on CLOCK_MONOTONIC: the clock of edge timestamps. */
guint64 oi_gpio_now (void);

/* Whether @name is a valid line name (see the line map format). */
gboolean oi_gpio_line_name_is_valid (const gchar * name);

G_END_DECLS
