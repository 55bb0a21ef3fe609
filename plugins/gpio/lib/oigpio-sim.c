/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated chip (oigpio-sim.h) and its backend: the chips themselves,
 * made on first use and kept for the life of the process, and the
 * OiGpioBackend that claims "sim" and "sim:NAME" and requests their lines.
 * It uses only the backend header (oigpio-private.h); which backend opens a
 * chip is the core's table (oigpio.c), debounce and inversion are above
 * every backend. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio-private.h"
#include "oigpio-sim.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Like the kernel's per-line event FIFO, but roomier: past this, edges are
 * dropped, as a real chip drops them when nobody reads. */
#define SIM_EDGE_QUEUE_MAX 4096

typedef struct _SimRequest SimRequest;

typedef struct
{
  gboolean level;               /* physical level */
  gboolean driven;              /* set_input was called */
  gboolean fault;
  guint64 output_changes;
  SimRequest *owner;
} SimLine;

struct _OiGpioSimChip
{
  GObject parent;

  gchar *name;
  GMutex lock;
  SimLine lines[OI_GPIO_SIM_CHIP_N_LINES];
};

struct _SimRequest
{
  OiGpioRequest parent;
  OiGpioSimChip *chip;
  gint event_fd;
  GArray *edges;                /* OiGpioEdge, under the chip lock */
};

enum
{
  SIGNAL_OUTPUT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (OiGpioSimChip, oi_gpio_sim_chip, G_TYPE_OBJECT);

/* Simulated chips live as long as the process, like hardware: a chip opened
 * by an element, stopped and opened again keeps its levels. */
static GMutex registry_lock;
static GHashTable *registry;

static void
oi_gpio_sim_chip_finalize (GObject * object)
{
  OiGpioSimChip *chip = OI_GPIO_SIM_CHIP (object);

  g_free (chip->name);
  g_mutex_clear (&chip->lock);
  G_OBJECT_CLASS (oi_gpio_sim_chip_parent_class)->finalize (object);
}

static void
oi_gpio_sim_chip_class_init (OiGpioSimChipClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->finalize = oi_gpio_sim_chip_finalize;

  /**
   * OiGpioSimChip::output-changed:
   * @chip: the chip
   * @offset: the line
   * @level: its new physical level
   * @timestamp: when it changed, ns on CLOCK_MONOTONIC
   *
   * Emitted from the thread that wrote the line, with no lock held.
   */
  signals[SIGNAL_OUTPUT_CHANGED] =
      g_signal_new ("output-changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT,
      G_TYPE_BOOLEAN, G_TYPE_UINT64);
}

static void
oi_gpio_sim_chip_init (OiGpioSimChip * chip)
{
  g_mutex_init (&chip->lock);
}

OiGpioSimChip *
oi_gpio_sim_chip_get (const gchar * name)
{
  OiGpioSimChip *chip;

  g_return_val_if_fail (name != NULL && *name != '\0', NULL);

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  chip = g_hash_table_lookup (registry, name);
  if (chip == NULL) {
    chip = g_object_new (OI_TYPE_GPIO_SIM_CHIP, NULL);
    chip->name = g_strdup (name);
    g_hash_table_insert (registry, chip->name, chip);
  }
  g_object_ref (chip);
  g_mutex_unlock (&registry_lock);

  return chip;
}

const gchar *
oi_gpio_sim_chip_get_name (OiGpioSimChip * chip)
{
  return chip->name;
}

static void
emit_output_changed (OiGpioSimChip * chip, guint offset, gboolean level,
    guint64 timestamp)
{
  g_signal_emit (chip, signals[SIGNAL_OUTPUT_CHANGED], 0, offset, level,
      timestamp);
}

/* Called with the chip lock held. */
static void
queue_edge (SimRequest * request, guint offset, gboolean level,
    guint64 timestamp)
{
  OiGpioEdge edge = {.offset = offset,.level = level,.timestamp = timestamp };
  guint64 one = 1;

  if (request->edges->len >= SIM_EDGE_QUEUE_MAX)
    return;
  g_array_append_val (request->edges, edge);
  if (write (request->event_fd, &one, sizeof (one)) != sizeof (one))
    g_warning ("sim GPIO: cannot wake the event fd: %s", g_strerror (errno));
}

/* Called with the chip lock held. */
static void
set_input_locked (OiGpioSimChip * chip, guint offset, gboolean level,
    guint64 timestamp)
{
  SimLine *line = &chip->lines[offset];

  level = ! !level;
  line->driven = TRUE;
  /* An output drives the line itself: the outside world cannot move it. */
  if (!(line->owner && line->owner->parent.direction == OI_GPIO_DIRECTION_OUTPUT)
      && line->level != level) {
    line->level = level;
    if (line->owner)
      queue_edge (line->owner, offset, level, timestamp);
  }
}

void
oi_gpio_sim_chip_set_input_full (OiGpioSimChip * chip, guint offset,
    gboolean level, guint64 timestamp)
{
  g_return_if_fail (OI_IS_GPIO_SIM_CHIP (chip));
  g_return_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES);

  g_mutex_lock (&chip->lock);
  set_input_locked (chip, offset, level, timestamp);
  g_mutex_unlock (&chip->lock);
}

void
oi_gpio_sim_chip_set_inputs (OiGpioSimChip * chip, const OiGpioEdge * edges,
    guint n_edges)
{
  g_return_if_fail (OI_IS_GPIO_SIM_CHIP (chip));
  for (guint i = 0; i < n_edges; i++)
    g_return_if_fail (edges[i].offset < OI_GPIO_SIM_CHIP_N_LINES);

  /* One lock hold: a reader takes the chip lock to read, so it finds all
   * of them or none. */
  g_mutex_lock (&chip->lock);
  for (guint i = 0; i < n_edges; i++)
    set_input_locked (chip, edges[i].offset, edges[i].level,
        edges[i].timestamp);
  g_mutex_unlock (&chip->lock);
}

void
oi_gpio_sim_chip_set_input (OiGpioSimChip * chip, guint offset, gboolean level)
{
  oi_gpio_sim_chip_set_input_full (chip, offset, level, oi_gpio_now ());
}

gboolean
oi_gpio_sim_chip_get_level (OiGpioSimChip * chip, guint offset)
{
  gboolean level;

  g_return_val_if_fail (OI_IS_GPIO_SIM_CHIP (chip), FALSE);
  g_return_val_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES, FALSE);

  g_mutex_lock (&chip->lock);
  level = chip->lines[offset].level;
  g_mutex_unlock (&chip->lock);
  return level;
}

gboolean
oi_gpio_sim_chip_is_requested (OiGpioSimChip * chip, guint offset)
{
  gboolean requested;

  g_return_val_if_fail (OI_IS_GPIO_SIM_CHIP (chip), FALSE);
  g_return_val_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES, FALSE);

  g_mutex_lock (&chip->lock);
  requested = chip->lines[offset].owner != NULL;
  g_mutex_unlock (&chip->lock);
  return requested;
}

gboolean
oi_gpio_sim_chip_is_output (OiGpioSimChip * chip, guint offset)
{
  gboolean output;

  g_return_val_if_fail (OI_IS_GPIO_SIM_CHIP (chip), FALSE);
  g_return_val_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES, FALSE);

  g_mutex_lock (&chip->lock);
  output = chip->lines[offset].owner != NULL &&
      chip->lines[offset].owner->parent.direction == OI_GPIO_DIRECTION_OUTPUT;
  g_mutex_unlock (&chip->lock);
  return output;
}

void
oi_gpio_sim_chip_set_fault (OiGpioSimChip * chip, guint offset,
    gboolean fault)
{
  g_return_if_fail (OI_IS_GPIO_SIM_CHIP (chip));
  g_return_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES);

  g_mutex_lock (&chip->lock);
  chip->lines[offset].fault = fault;
  g_mutex_unlock (&chip->lock);
}

guint64
oi_gpio_sim_chip_get_output_changes (OiGpioSimChip * chip, guint offset)
{
  guint64 changes;

  g_return_val_if_fail (OI_IS_GPIO_SIM_CHIP (chip), 0);
  g_return_val_if_fail (offset < OI_GPIO_SIM_CHIP_N_LINES, 0);

  g_mutex_lock (&chip->lock);
  changes = chip->lines[offset].output_changes;
  g_mutex_unlock (&chip->lock);
  return changes;
}

/* The backend */

static gint
sim_get_fd (OiGpioRequest * req)
{
  return ((SimRequest *) req)->event_fd;
}

static gint
sim_read_edges (OiGpioRequest * req, OiGpioEdge * edges, guint max_edges,
    GError ** error)
{
  SimRequest *request = (SimRequest *) req;
  guint n;

  g_mutex_lock (&request->chip->lock);
  n = MIN (max_edges, request->edges->len);
  if (n > 0) {
    memcpy (edges, request->edges->data, n * sizeof (OiGpioEdge));
    g_array_remove_range (request->edges, 0, n);
  }
  if (request->edges->len == 0) {
    guint64 count;

    /* Non-blocking: EAGAIN just means it was already clear. */
    while (read (request->event_fd, &count, sizeof (count)) < 0
        && errno == EINTR);
  }
  g_mutex_unlock (&request->chip->lock);

  return n;
}

static gboolean
sim_get_levels (OiGpioRequest * req, gboolean * levels, GError ** error)
{
  SimRequest *request = (SimRequest *) req;

  g_mutex_lock (&request->chip->lock);
  for (guint i = 0; i < req->n_lines; i++)
    levels[i] = request->chip->lines[req->offsets[i]].level;
  g_mutex_unlock (&request->chip->lock);
  return TRUE;
}

/* Sets the lines and reports which changed, for signalling after unlock. */
static gboolean
sim_write_locked (SimRequest * request, const gboolean * levels,
    gboolean * changed, GError ** error)
{
  OiGpioRequest *req = &request->parent;
  OiGpioSimChip *chip = request->chip;

  for (guint i = 0; i < req->n_lines; i++) {
    if (chip->lines[req->offsets[i]].fault) {
      g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_IO,
          "cannot set line %u of sim:%s: %s", req->offsets[i], chip->name,
          g_strerror (EIO));
      return FALSE;
    }
  }
  for (guint i = 0; i < req->n_lines; i++) {
    SimLine *line = &chip->lines[req->offsets[i]];

    changed[i] = line->level != ! !levels[i];
    if (changed[i]) {
      line->level = ! !levels[i];
      line->output_changes++;
    }
  }
  return TRUE;
}

static void
emit_changes (SimRequest * request, const gboolean * changed,
    const gboolean * levels, guint64 timestamp)
{
  OiGpioRequest *req = &request->parent;

  for (guint i = 0; i < req->n_lines; i++) {
    if (changed[i])
      emit_output_changed (request->chip, req->offsets[i], ! !levels[i],
          timestamp);
  }
}

static gboolean
sim_set_levels (OiGpioRequest * req, const gboolean * levels, GError ** error)
{
  SimRequest *request = (SimRequest *) req;
  g_autofree gboolean *changed = g_new0 (gboolean, req->n_lines);
  gboolean ok;
  guint64 timestamp;

  g_mutex_lock (&request->chip->lock);
  ok = sim_write_locked (request, levels, changed, error);
  timestamp = oi_gpio_now ();
  g_mutex_unlock (&request->chip->lock);

  if (ok)
    emit_changes (request, changed, levels, timestamp);
  return ok;
}

static void
sim_release (OiGpioRequest * req)
{
  SimRequest *request = (SimRequest *) req;

  /* Outputs keep their last level, as most kernel drivers do. */
  g_mutex_lock (&request->chip->lock);
  for (guint i = 0; i < req->n_lines; i++)
    request->chip->lines[req->offsets[i]].owner = NULL;
  g_mutex_unlock (&request->chip->lock);

  close (request->event_fd);
  g_array_unref (request->edges);
  g_object_unref (request->chip);
  oi_gpio_request_clear (req);
  g_free (request);
}

static const OiGpioRequestVTable sim_vtable = {
  .get_fd = sim_get_fd,
  .read_edges = sim_read_edges,
  .get_levels = sim_get_levels,
  .set_levels = sim_set_levels,
  .release = sim_release,
};

gboolean
oi_gpio_chip_is_simulated (const gchar * chip)
{
  return chip != NULL && (g_str_equal (chip, "sim")
      || g_str_has_prefix (chip, "sim:"));
}

static OiGpioRequest *
sim_request_lines (const gchar * spec, const OiGpioLineConfig * config,
    GError ** error)
{
  const gchar *name = g_str_equal (spec, "sim") ? "sim" : spec + strlen ("sim:");
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gboolean *changed = NULL;
  SimRequest *request;
  gint event_fd;
  gboolean ok;

  if (*name == '\0') {
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND,
        "GPIO chip \"%s\" not found: a simulated chip is \"sim\" or "
        "\"sim:NAME\"", spec);
    return NULL;
  }

  chip = oi_gpio_sim_chip_get (name);

  for (guint i = 0; i < config->n_lines; i++) {
    if (config->offsets[i] >= OI_GPIO_SIM_CHIP_N_LINES) {
      g_autofree gchar *line = oi_gpio_line_describe (config, i);

      g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_LINE_NOT_FOUND,
          "GPIO %s not found on chip \"%s\" (it has %d lines)",
          line, spec, OI_GPIO_SIM_CHIP_N_LINES);
      return NULL;
    }
  }

  event_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd < 0) {
    g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_FAILED,
        "cannot make an event fd: %s", g_strerror (errno));
    return NULL;
  }

  request = g_new0 (SimRequest, 1);
  oi_gpio_request_init (&request->parent, &sim_vtable, config);
  request->chip = g_steal_pointer (&chip);
  request->event_fd = event_fd;
  request->edges = g_array_new (FALSE, FALSE, sizeof (OiGpioEdge));
  changed = g_new0 (gboolean, config->n_lines);

  g_mutex_lock (&request->chip->lock);
  for (guint i = 0; i < config->n_lines; i++) {
    if (request->chip->lines[config->offsets[i]].owner != NULL) {
      g_autofree gchar *line = oi_gpio_line_describe (config, i);

      g_mutex_unlock (&request->chip->lock);
      g_set_error (error, OI_GPIO_ERROR, OI_GPIO_ERROR_BUSY,
          "GPIO %s of chip \"%s\" is busy", line, spec);
      request->parent.n_lines = 0;
      sim_release (&request->parent);
      return NULL;
    }
  }
  for (guint i = 0; i < config->n_lines; i++) {
    SimLine *line = &request->chip->lines[config->offsets[i]];

    line->owner = request;
    if (config->direction == OI_GPIO_DIRECTION_INPUT && !line->driven) {
      if (config->bias == OI_GPIO_BIAS_PULL_UP)
        line->level = TRUE;
      else if (config->bias == OI_GPIO_BIAS_PULL_DOWN)
        line->level = FALSE;
    }
  }
  if (config->direction == OI_GPIO_DIRECTION_OUTPUT)
    ok = sim_write_locked (request, config->initial_levels, changed, error);
  else
    ok = TRUE;
  g_mutex_unlock (&request->chip->lock);

  if (!ok) {
    sim_release (&request->parent);
    return NULL;
  }
  if (config->direction == OI_GPIO_DIRECTION_OUTPUT)
    emit_changes (request, changed, config->initial_levels, oi_gpio_now ());

  return &request->parent;
}

const OiGpioBackend oi_gpio_sim_backend = {
  .name = "sim",
  .chips = "simulated chips (\"sim\", \"sim:NAME\")",
  .claims = oi_gpio_chip_is_simulated,
  .request_lines = sim_request_lines,
};
