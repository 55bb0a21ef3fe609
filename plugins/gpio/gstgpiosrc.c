/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-gpiosrc
 * @title: gpiosrc
 * @see_also: relaysink
 *
 * A live source of GPIO input events: the bell push button and the
 * potential-free inputs of a door station. It watches the configured lines of
 * a GPIO chip (through libgpiod, or a simulated chip), debounces them in
 * software and produces one buffer per debounced edge, a glitch filter after
 * the edge (#GstGpioSrc:glitch-filter, 2 ms by default), without waiting for
 * the contact to stop bouncing. It waits on the chip's event file
 * descriptor, so an idle pipeline costs no CPU.
 *
 * ## Buffers
 *
 * Caps `application/x-intercom-io`: each buffer is one `input` message of
 * the io data channel, a line of JSON text ending in a newline:
 *
 * |[
 * ["input", {"name": "bell", "active": true, "time": 1763712000123}]
 * ]|
 *
 * `name` is the line's name from #GstGpioSrc:lines, `active` its logical
 * state (after #GstGpioSrc:active-low), `time` the wall-clock time in
 * milliseconds since the Unix epoch when the change began (see Debounce). On
 * start, one buffer per line gives its current state, in the order of
 * #GstGpioSrc:lines; after that, one buffer per debounced edge (filtered by
 * #GstGpioSrc:edges). Each buffer's offset is its sequence number (0, 1, 2,
 * ... since start), its PTS the running time when the change began, never
 * decreasing; the first buffer is marked DISCONT.
 *
 * ## Messages
 *
 * With every buffer, an element message named `gpio-event`:
 *
 * * `name` (string): the line's name
 * * `offset` (uint): the line's offset on the chip
 * * `active` (boolean): its logical state
 * * `initial` (boolean): TRUE for the start-up state, FALSE for an edge
 * * `timestamp` (guint64): when the change began, in ns of CLOCK_MONOTONIC:
 *   the kernel's timestamp of its first edge (for a change found at the end
 *   of a debounce mask, the end of the mask; for initial states, when they
 *   were read)
 * * `time` (gint64): the same moment in ms since the Unix epoch
 * * `seqnum` (guint64): the buffer's sequence number
 *
 * ## Debounce
 *
 * Leading edge, so that a ring does not wait for the contact to settle. The
 * first edge of a change is reported once the line still holds the new
 * level #GstGpioSrc:glitch-filter milliseconds after it: a spike shorter
 * than that is no event. Then the line is masked for #GstGpioSrc:debounce
 * milliseconds from that first edge, so its bounces give no more events. If
 * the line is at the other level when the mask ends (released within the
 * mask), that change is reported then, through the glitch filter: the last
 * event always gives the line's real state. Every event is produced one
 * glitch filter after its `timestamp`, the moment the change began, so
 * events come out in timestamp order across lines. `debounce=0` reports
 * every change at once, unfiltered. The same software debounce runs on
 * every backend (libgpiod v1 has none in the kernel).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m gpiosrc chip=sim lines=bell=17,in1=27,in2=22 ! fdsink
 * ]| Watches three lines of the in-process simulated chip and prints their
 * states as JSON lines, with the bus messages.
 * |[
 * gst-launch-1.0 gpiosrc chip=gpiochip0 lines=bell=17 active-low=true bias=pull-up edges=rising ! fdsink
 * ]| Prints one line each time a push button wired from GPIO 17 to ground
 * is pressed.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgpiosrc.h"
#include "gstoigpioelements.h"
#include "oigpio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_gpio_src_debug);
#define GST_CAT_DEFAULT gst_gpio_src_debug

#define DEFAULT_CHIP "gpiochip0"
#define DEFAULT_LINES "bell=17,in1=27,in2=22"
#define DEFAULT_ACTIVE_LOW FALSE
#define DEFAULT_BIAS GST_GPIO_BIAS_AS_IS
#define DEFAULT_DEBOUNCE 20
#define MAX_DEBOUNCE 10000
#define DEFAULT_GLITCH_FILTER 2
#define MAX_GLITCH_FILTER 1000
#define DEFAULT_EDGES GST_GPIO_EDGES_BOTH

#define EDGE_BATCH 64

enum
{
  PROP_0,
  PROP_CHIP,
  PROP_LINES,
  PROP_ACTIVE_LOW,
  PROP_BIAS,
  PROP_DEBOUNCE,
  PROP_EDGES,
  PROP_GLITCH_FILTER,
};

struct _GstGpioSrc
{
  GstPushSrc parent;

  /* properties, under the object lock */
  gchar *chip;
  gchar *lines;
  gboolean active_low;
  GstGpioBias bias;
  guint debounce;
  GstGpioEdges edges;
  guint glitch_filter;

  /* set in start(), read by the streaming thread, freed in stop();
   * `request` is also read under the object lock by set_property */
  OiGpioRequest *request;
  OiGpioLineMap *map;
  OiGpioDebouncer *debouncer;
  gboolean run_active_low;
  GstGpioEdges run_edges;
  gboolean *initial_levels;
  guint n_initial_sent;
  guint64 seqnum;
  GstClockTime last_pts;

  GstPoll *poll;
  GstPollFD pollfd;
};

G_DEFINE_ENUM_TYPE (GstGpioBias, gst_gpio_bias,
    G_DEFINE_ENUM_VALUE (GST_GPIO_BIAS_AS_IS, "as-is"),
    G_DEFINE_ENUM_VALUE (GST_GPIO_BIAS_DISABLE, "disable"),
    G_DEFINE_ENUM_VALUE (GST_GPIO_BIAS_PULL_UP, "pull-up"),
    G_DEFINE_ENUM_VALUE (GST_GPIO_BIAS_PULL_DOWN, "pull-down"));

G_DEFINE_ENUM_TYPE (GstGpioEdges, gst_gpio_edges,
    G_DEFINE_ENUM_VALUE (GST_GPIO_EDGES_BOTH, "both"),
    G_DEFINE_ENUM_VALUE (GST_GPIO_EDGES_RISING, "rising"),
    G_DEFINE_ENUM_VALUE (GST_GPIO_EDGES_FALLING, "falling"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_OI_IO_CAPS));

#define gst_gpio_src_parent_class parent_class
G_DEFINE_TYPE (GstGpioSrc, gst_gpio_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (gpiosrc, "gpiosrc", GST_RANK_NONE,
    GST_TYPE_GPIO_SRC,
    GST_DEBUG_CATEGORY_INIT (gst_gpio_src_debug, "gpiosrc", 0,
        "GPIO input events");
    gst_type_mark_as_plugin_api (GST_TYPE_GPIO_BIAS, 0);
    gst_type_mark_as_plugin_api (GST_TYPE_GPIO_EDGES, 0));

static void gst_gpio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_gpio_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_gpio_src_finalize (GObject * object);
static gboolean gst_gpio_src_start (GstBaseSrc * bsrc);
static gboolean gst_gpio_src_stop (GstBaseSrc * bsrc);
static gboolean gst_gpio_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_gpio_src_unlock_stop (GstBaseSrc * bsrc);
static GstFlowReturn gst_gpio_src_create (GstPushSrc * psrc,
    GstBuffer ** buffer);

static void
gst_gpio_src_class_init (GstGpioSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->set_property = gst_gpio_src_set_property;
  gobject_class->get_property = gst_gpio_src_get_property;
  gobject_class->finalize = gst_gpio_src_finalize;

  g_object_class_install_property (gobject_class, PROP_CHIP,
      g_param_spec_string ("chip", "Chip",
          "GPIO chip: a libgpiod chip name (gpiochip0), path "
          "(/dev/gpiochip0), label or number; or \"sim\" / \"sim:NAME\" "
          "for an in-process simulated chip",
          DEFAULT_CHIP, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_LINES,
      g_param_spec_string ("lines", "Lines",
          "Input lines to watch, as NAME=OFFSET pairs separated by commas "
          "(names: 1-31 characters of A-Z a-z 0-9 _ -; they name the "
          "lines in buffers and messages)",
          DEFAULT_LINES, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ACTIVE_LOW,
      g_param_spec_boolean ("active-low", "Active low",
          "The lines are active when low (e.g. a button to ground with a "
          "pull-up): events report the inverted level",
          DEFAULT_ACTIVE_LOW, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BIAS,
      g_param_spec_enum ("bias", "Bias",
          "Pull resistor to set on the lines, where the chip and backend "
          "support it (libgpiod: kernel 5.5 or later)",
          GST_TYPE_GPIO_BIAS, DEFAULT_BIAS, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_DEBOUNCE,
      g_param_spec_uint ("debounce", "Debounce",
          "How long (ms) from the first edge of a change the line's bounces "
          "are ignored (the change itself is reported after glitch-filter); "
          "0 reports every change at once, unfiltered",
          0, MAX_DEBOUNCE, DEFAULT_DEBOUNCE, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_EDGES,
      g_param_spec_enum ("edges", "Edges",
          "Which debounced edges produce events: both, rising (the line "
          "becomes active) or falling (it becomes inactive); the start-up "
          "states are always produced",
          GST_TYPE_GPIO_EDGES, DEFAULT_EDGES, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstGpioSrc:glitch-filter:
   *
   * How long (ms) after the first edge of a change the line must still be
   * at the new level for the change to be reported: the latency of every
   * event, and the longest spike that is no event. 0 reports the first edge
   * at once. Not used when #GstGpioSrc:debounce is 0.
   */
  g_object_class_install_property (gobject_class, PROP_GLITCH_FILTER,
      g_param_spec_uint ("glitch-filter", "Glitch filter",
          "How long (ms) after the first edge of a change the line must "
          "still be at the new level for the change to be reported: shorter "
          "spikes are no events; 0 reports the first edge at once (not used "
          "when debounce is 0)",
          0, MAX_GLITCH_FILTER, DEFAULT_GLITCH_FILTER, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &src_template);

  gst_element_class_set_static_metadata (element_class,
      "GPIO input source", "Source/Hardware",
      "Produces one io `input` message per debounced edge of GPIO input "
      "lines (libgpiod or a simulated chip)",
      "Open Intercom developers");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_gpio_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_gpio_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_gpio_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_gpio_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_gpio_src_create);
}

static void
gst_gpio_src_init (GstGpioSrc * self)
{
  self->chip = g_strdup (DEFAULT_CHIP);
  self->lines = g_strdup (DEFAULT_LINES);
  self->active_low = DEFAULT_ACTIVE_LOW;
  self->bias = DEFAULT_BIAS;
  self->debounce = DEFAULT_DEBOUNCE;
  self->edges = DEFAULT_EDGES;
  self->glitch_filter = DEFAULT_GLITCH_FILTER;

  self->poll = gst_poll_new (TRUE);
  gst_poll_fd_init (&self->pollfd);

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
gst_gpio_src_finalize (GObject * object)
{
  GstGpioSrc *self = GST_GPIO_SRC (object);

  g_free (self->chip);
  g_free (self->lines);
  gst_poll_free (self->poll);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_gpio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstGpioSrc *self = GST_GPIO_SRC (object);

  GST_OBJECT_LOCK (self);
  if (self->request != NULL) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "cannot change \"%s\" while the lines are open",
        pspec->name);
    return;
  }

  switch (prop_id) {
    case PROP_CHIP:
      g_free (self->chip);
      self->chip = g_value_dup_string (value);
      break;
    case PROP_LINES:
      g_free (self->lines);
      self->lines = g_value_dup_string (value);
      break;
    case PROP_ACTIVE_LOW:
      self->active_low = g_value_get_boolean (value);
      break;
    case PROP_BIAS:
      self->bias = g_value_get_enum (value);
      break;
    case PROP_DEBOUNCE:
      self->debounce = g_value_get_uint (value);
      break;
    case PROP_EDGES:
      self->edges = g_value_get_enum (value);
      break;
    case PROP_GLITCH_FILTER:
      self->glitch_filter = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_gpio_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstGpioSrc *self = GST_GPIO_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHIP:
      g_value_set_string (value, self->chip);
      break;
    case PROP_LINES:
      g_value_set_string (value, self->lines);
      break;
    case PROP_ACTIVE_LOW:
      g_value_set_boolean (value, self->active_low);
      break;
    case PROP_BIAS:
      g_value_set_enum (value, self->bias);
      break;
    case PROP_DEBOUNCE:
      g_value_set_uint (value, self->debounce);
      break;
    case PROP_EDGES:
      g_value_set_enum (value, self->edges);
      break;
    case PROP_GLITCH_FILTER:
      g_value_set_uint (value, self->glitch_filter);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static OiGpioBias
to_oi_bias (GstGpioBias bias)
{
  switch (bias) {
    case GST_GPIO_BIAS_DISABLE:
      return OI_GPIO_BIAS_DISABLE;
    case GST_GPIO_BIAS_PULL_UP:
      return OI_GPIO_BIAS_PULL_UP;
    case GST_GPIO_BIAS_PULL_DOWN:
      return OI_GPIO_BIAS_PULL_DOWN;
    case GST_GPIO_BIAS_AS_IS:
      break;
  }
  return OI_GPIO_BIAS_AS_IS;
}

static gboolean
gst_gpio_src_start (GstBaseSrc * bsrc)
{
  GstGpioSrc *self = GST_GPIO_SRC (bsrc);
  g_autofree gchar *chip = NULL;
  g_autofree gchar *lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (OiGpioLineMap) map = NULL;
  g_autoptr (OiGpioRequest) request = NULL;
  g_autofree gboolean *levels = NULL;
  OiGpioLineConfig config = { 0, };
  GstGpioBias bias;
  guint debounce, glitch_filter;

  GST_OBJECT_LOCK (self);
  chip = g_strdup (self->chip);
  lines = g_strdup (self->lines);
  bias = self->bias;
  debounce = self->debounce;
  glitch_filter = self->glitch_filter;
  self->run_active_low = self->active_low;
  self->run_edges = self->edges;
  GST_OBJECT_UNLOCK (self);

  if (chip == NULL || *chip == '\0')
    goto no_chip;
  map = oi_gpio_line_map_parse (lines, &error);
  if (map == NULL)
    goto bad_lines;

  config.direction = OI_GPIO_DIRECTION_INPUT;
  config.bias = to_oi_bias (bias);
  config.n_lines = map->n_lines;
  config.offsets = map->offsets;
  config.names = (const gchar * const *) map->names;
  config.consumer = GST_OBJECT_NAME (self);

  /* Edges first, then the levels: an edge between the two is not lost, at
   * worst it is reported as a change to the level already read, which the
   * debouncer drops. */
  request = oi_gpio_request_lines (chip, &config, &error);
  if (request == NULL)
    goto open_failed;

  levels = g_new0 (gboolean, map->n_lines);
  if (!oi_gpio_request_get_levels (request, levels, &error))
    goto read_failed;

  self->debouncer = oi_gpio_debouncer_new (map->n_lines,
      (guint64) debounce * GST_MSECOND, (guint64) glitch_filter * GST_MSECOND);
  for (guint i = 0; i < map->n_lines; i++)
    oi_gpio_debouncer_reset (self->debouncer, i, levels[i]);

  self->pollfd.fd = oi_gpio_request_get_fd (request);
  gst_poll_add_fd (self->poll, &self->pollfd);
  gst_poll_fd_ctl_read (self->poll, &self->pollfd, TRUE);

  self->map = g_steal_pointer (&map);
  self->initial_levels = g_steal_pointer (&levels);
  self->n_initial_sent = 0;
  self->seqnum = 0;
  self->last_pts = 0;

  GST_OBJECT_LOCK (self);
  self->request = g_steal_pointer (&request);
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "watching %s on %s (%s), debounce %u ms, glitch "
      "filter %u ms", lines, chip, oi_gpio_backend_for_chip (chip), debounce,
      debounce > 0 ? glitch_filter : 0);
  return TRUE;

  /* ERRORS */
no_chip:
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
      ("No GPIO chip given."), ("the \"chip\" property is empty"));
  return FALSE;
bad_lines:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid GPIO line map \"%s\".", GST_STR_NULL (lines)),
      ("%s", error->message));
  return FALSE;
open_failed:
  if (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_CHIP_NOT_FOUND))
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("GPIO chip \"%s\" not found.", chip), ("%s", error->message));
  else if (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_LINE_NOT_FOUND))
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("GPIO line not found on chip \"%s\".", chip),
        ("%s", error->message));
  else if (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_BUSY))
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
        ("GPIO lines \"%s\" on chip \"%s\" are in use.", lines, chip),
        ("%s", error->message));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot open GPIO lines \"%s\" on chip \"%s\".", lines, chip),
        ("%s", error->message));
  return FALSE;
read_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("Cannot read GPIO lines \"%s\" on chip \"%s\".", lines, chip),
      ("%s", error->message));
  return FALSE;
}

static gboolean
gst_gpio_src_stop (GstBaseSrc * bsrc)
{
  GstGpioSrc *self = GST_GPIO_SRC (bsrc);
  OiGpioRequest *request;

  GST_OBJECT_LOCK (self);
  request = g_steal_pointer (&self->request);
  GST_OBJECT_UNLOCK (self);

  if (request != NULL) {
    gst_poll_remove_fd (self->poll, &self->pollfd);
    gst_poll_fd_init (&self->pollfd);
    oi_gpio_request_release (request);
  }
  g_clear_pointer (&self->map, oi_gpio_line_map_free);
  g_clear_pointer (&self->debouncer, oi_gpio_debouncer_free);
  g_clear_pointer (&self->initial_levels, g_free);

  return TRUE;
}

static gboolean
gst_gpio_src_unlock (GstBaseSrc * bsrc)
{
  GstGpioSrc *self = GST_GPIO_SRC (bsrc);

  GST_LOG_OBJECT (self, "flushing");
  gst_poll_set_flushing (self->poll, TRUE);
  return TRUE;
}

static gboolean
gst_gpio_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstGpioSrc *self = GST_GPIO_SRC (bsrc);

  GST_LOG_OBJECT (self, "no longer flushing");
  gst_poll_set_flushing (self->poll, FALSE);
  return TRUE;
}

static gint
compare_edges (gconstpointer a, gconstpointer b)
{
  const OiGpioEdge *ea = a, *eb = b;

  return ea->timestamp < eb->timestamp ? -1 : ea->timestamp > eb->timestamp;
}

static gint
line_index (GstGpioSrc * self, guint offset)
{
  for (guint i = 0; i < self->map->n_lines; i++) {
    if (self->map->offsets[i] == offset)
      return i;
  }
  return -1;
}

/* Feeds pending raw edges to the debouncer. */
static gboolean
read_edges (GstGpioSrc * self, GError ** error)
{
  OiGpioEdge edges[EDGE_BATCH];
  gint n;

  do {
    guint64 now;

    n = oi_gpio_request_read_edges (self->request, edges, EDGE_BATCH, error);
    if (n < 0)
      return FALSE;

    /* v1 reads lines one fd at a time: put the batch back in time order.
     * A timestamp from the future can only come from a clock other than
     * CLOCK_MONOTONIC (pre-5.7 kernels used CLOCK_REALTIME); it is taken as
     * "now" so the debounce window still closes. */
    qsort (edges, n, sizeof (OiGpioEdge), compare_edges);
    now = oi_gpio_now ();
    for (gint i = 0; i < n; i++) {
      gint line = line_index (self, edges[i].offset);

      GST_LOG_OBJECT (self, "raw edge: line %u -> %d at %" G_GUINT64_FORMAT,
          edges[i].offset, edges[i].level, edges[i].timestamp);
      if (line >= 0)
        oi_gpio_debouncer_push (self->debouncer, line, edges[i].level,
            MIN (edges[i].timestamp, now));
    }
  } while (n == EDGE_BATCH);

  return TRUE;
}

static GstClockTime
event_running_time (GstGpioSrc * self, guint64 timestamp)
{
  GstClock *clock;
  GstClockTime now, base_time, age, running;

  clock = gst_element_get_clock (GST_ELEMENT (self));
  if (clock == NULL)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  gst_object_unref (clock);
  base_time = gst_element_get_base_time (GST_ELEMENT (self));

  age = oi_gpio_now () - MIN (timestamp, oi_gpio_now ());
  running = now > base_time + age ? now - base_time - age : 0;

  /* Edges of different lines can be read out of order across batches. */
  running = MAX (running, self->last_pts);
  self->last_pts = running;
  return running;
}

static GstBuffer *
make_event (GstGpioSrc * self, guint line, gboolean level, guint64 timestamp,
    gboolean initial)
{
  const gchar *name = self->map->names[line];
  gboolean active = level != self->run_active_low;
  gint64 time_ms = (g_get_real_time () / 1000) -
      (gint64) ((oi_gpio_now () - MIN (timestamp, oi_gpio_now ())) /
      GST_MSECOND);
  guint64 seqnum = self->seqnum++;
  gchar *text;
  gsize len;
  GstBuffer *buffer;
  GstStructure *s;

  /* Line names are [A-Za-z0-9_-]: nothing to escape. */
  text = g_strdup_printf ("[\"input\",{\"name\":\"%s\",\"active\":%s,"
      "\"time\":%" G_GINT64_FORMAT "}]\n", name, active ? "true" : "false",
      time_ms);
  len = strlen (text);
  buffer = gst_buffer_new_wrapped (text, len);
  GST_BUFFER_PTS (buffer) = event_running_time (self, timestamp);
  GST_BUFFER_OFFSET (buffer) = seqnum;
  GST_BUFFER_OFFSET_END (buffer) = seqnum + 1;
  if (seqnum == 0)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);

  GST_DEBUG_OBJECT (self, "%s %s: %s", initial ? "state" : "edge", name,
      active ? "active" : "inactive");

  s = gst_structure_new ("gpio-event",
      "name", G_TYPE_STRING, name,
      "offset", G_TYPE_UINT, self->map->offsets[line],
      "active", G_TYPE_BOOLEAN, active,
      "initial", G_TYPE_BOOLEAN, initial,
      "timestamp", G_TYPE_UINT64, timestamp,
      "time", G_TYPE_INT64, time_ms, "seqnum", G_TYPE_UINT64, seqnum, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));

  return buffer;
}

static gboolean
edge_wanted (GstGpioSrc * self, gboolean level)
{
  gboolean active = level != self->run_active_low;

  switch (self->run_edges) {
    case GST_GPIO_EDGES_RISING:
      return active;
    case GST_GPIO_EDGES_FALLING:
      return !active;
    case GST_GPIO_EDGES_BOTH:
      break;
  }
  return TRUE;
}

static GstFlowReturn
gst_gpio_src_create (GstPushSrc * psrc, GstBuffer ** buffer)
{
  GstGpioSrc *self = GST_GPIO_SRC (psrc);
  g_autoptr (GError) error = NULL;

  if (self->n_initial_sent < self->map->n_lines) {
    guint line = self->n_initial_sent++;

    *buffer = make_event (self, line, self->initial_levels[line],
        oi_gpio_now (), TRUE);
    return GST_FLOW_OK;
  }

  for (;;) {
    guint64 horizon, now, deadline, timestamp;
    GstClockTime timeout;
    guint line;
    gboolean level;
    gint ret;

    /* Decide only up to a moment whose edges have all been read: the time
     * first, then the read (which never blocks). The other way round, an
     * edge stamped between the read and the decision (while the last
     * buffer was pushed, or the thread was preempted) would be missed, and
     * a spike's second edge among them would make the spike a press. */
    horizon = oi_gpio_now ();
    if (!read_edges (self, &error))
      goto read_error;

    while (oi_gpio_debouncer_pop (self->debouncer, horizon, &line, &level,
            &timestamp)) {
      if (edge_wanted (self, level)) {
        *buffer = make_event (self, line, level, timestamp, FALSE);
        return GST_FLOW_OK;
      }
    }

    deadline = oi_gpio_debouncer_next_deadline (self->debouncer);
    now = oi_gpio_now ();
    if (deadline == G_MAXUINT64)
      timeout = GST_CLOCK_TIME_NONE;
    else
      timeout = deadline > now ? deadline - now : 0;

    ret = gst_poll_wait (self->poll, timeout);
    if (ret < 0) {
      if (errno == EBUSY)
        goto stopped;
      if (errno == EINTR || errno == EAGAIN)
        continue;
      goto poll_error;
    }
  }

  /* ERRORS */
stopped:
  GST_DEBUG_OBJECT (self, "flushing");
  return GST_FLOW_FLUSHING;
poll_error:
  GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL),
      ("cannot wait for GPIO events: %s", g_strerror (errno)));
  return GST_FLOW_ERROR;
read_error:
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("Cannot read GPIO events."), ("%s", error->message));
  return GST_FLOW_ERROR;
}
