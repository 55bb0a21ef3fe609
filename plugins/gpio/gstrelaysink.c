/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-relaysink
 * @title: relaysink
 * @see_also: gpiosrc
 *
 * Drives the relay outputs of a door station (the mechanical bell, the door
 * opener) from command buffers or the #GstRelaySink::command action signal,
 * through libgpiod or a simulated chip.
 *
 * ## Commands
 *
 * Caps `application/x-intercom-io` (any input is accepted): each buffer holds
 * one or more `relay` messages of the io data channel, one per line, so a
 * data-channel message can be fed in unchanged:
 *
 * |[
 * ["relay", {"name": "door", "action": "pulse", "duration": 1500}]
 * ["relay", {"name": "bell", "action": "on"}]
 * ["relay", {"name": "bell", "action": "off"}]
 * ]|
 *
 * `action` is `pulse` (on, then off after `duration` ms or
 * #GstRelaySink:pulse-duration), `on` or `off`. Each line is read by the io
 * message parser of libopenintercom-wsp (`wspio.h`), the same code that
 * reads the data channel, so both follow one rule set: strict JSON, unknown
 * members refused, `duration` only with `pulse`, at most 1 KiB. Each command
 * is taken or refused on its own; a refused one (malformed, not a relay
 * command, unknown relay) posts a WARNING message and moves nothing; the
 * pipeline keeps running.
 *
 * An application that has already parsed a command (intercomd does, to
 * apply its policy first) gives it to the #GstRelaySink::command signal
 * instead, as values: no text is written and parsed again. A command by
 * signal is checked by the same rules and runs through the same code as a
 * buffer's, with the same safety and the same messages.
 *
 * ## Safety
 *
 * This element owns relay safety. Every relay is switched off when the
 * element starts and stops, on EOS, on flush and when writing a line fails.
 * A relay is never on for longer than #GstRelaySink:max-on-time, whether it
 * was switched on or pulsed: a later `pulse` or `on` does not extend it past
 * that. Pulse ends and the cap are timed on the system clock, in any state
 * and whether or not another buffer ever arrives.
 *
 * ## Messages
 *
 * An element message named `relay-state` on every change of a relay
 * (and once per relay at start, all off):
 *
 * * `name` (string): the relay's name from #GstRelaySink:lines
 * * `offset` (uint): its line offset on the chip
 * * `active` (boolean): its new state
 * * `reason` (string): `start`, `command` (on/off/pulse start),
 *   `pulse-end`, `max-on-time`, `stop`, `eos`, `flush` or `error`
 * * `timestamp` (guint64): when the line was written, ns of CLOCK_MONOTONIC
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m fdsrc fd=0 ! relaysink chip=sim lines=bell=5,door=6
 * ]| Reads relay commands typed on standard input and drives two relays of
 * the simulated chip; the bus messages show each relay switching and a pulse
 * ending by itself.
 *
 * ## From an application
 * |[
 * gboolean done;
 *
 * g_signal_emit_by_name (relaysink, "command", "door",
 *     WSP_IO_RELAY_ACTION_PULSE, 1500, &done);
 * ]| The sink pad may stay unlinked: the element then takes commands only
 * by signal.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrelaysink.h"
#include "gstoigpioelements.h"
#include "oigpio.h"
#include "wspio.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_relay_sink_debug);
#define GST_CAT_DEFAULT gst_relay_sink_debug

#define DEFAULT_CHIP "gpiochip0"
#define DEFAULT_LINES "bell=5,door=6"
#define DEFAULT_ACTIVE_LOW FALSE
#define DEFAULT_PULSE_DURATION 1000
#define DEFAULT_MAX_ON_TIME 10000
#define MAX_TIME_MS (24 * 3600 * 1000)
#define MAX_BUFFER_SIZE (64 * 1024)

enum
{
  SIGNAL_COMMAND,
  LAST_SIGNAL,
};

enum
{
  PROP_0,
  PROP_CHIP,
  PROP_LINES,
  PROP_ACTIVE_LOW,
  PROP_PULSE_DURATION,
  PROP_MAX_ON_TIME,
};

typedef struct
{
  OiGpioRequest *request;       /* one line: a failing relay can't keep
                                 * another one from switching off */
  gboolean active;
  GstClockTime on_since;        /* system clock time it went on */
  GstClockID timer;             /* ends the pulse, or the max-on-time */
  const gchar *timer_reason;
} Relay;

/* What a change posts; it outlives the relay map (a timer may post after
 * stop() freed it), so the name is interned. */
typedef struct
{
  const gchar *name;
  guint offset;
  gboolean active;
  const gchar *reason;
  guint64 timestamp;
} RelayChange;

struct _GstRelaySink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *chip;
  gchar *lines;
  gboolean active_low;
  guint pulse_duration;
  guint max_on_time;
  gboolean open;

  /* relay state, under relay_lock: render, the command signal, events,
   * timers and stop all switch relays, from different threads. Never held
   * with the object lock, nor while posting. */
  GMutex relay_lock;
  OiGpioLineMap *map;
  Relay *relays;
  gboolean accepting;           /* commands run: started, not at EOS/flushing */
  gboolean run_active_low;
  GstClockTime run_max_on_time;
  GstClock *timer_clock;
};

typedef struct
{
  GstRelaySink *self;
  guint relay;
} TimerData;

/* What became of a command. */
typedef enum
{
  COMMAND_DONE,
  COMMAND_REFUSED,              /* moved nothing; a warning or log line says why */
  COMMAND_FAILED,               /* a line did not write: all off, ERROR posted */
} CommandResult;

static guint signals[LAST_SIGNAL];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_relay_sink_parent_class parent_class
G_DEFINE_TYPE (GstRelaySink, gst_relay_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (relaysink, "relaysink", GST_RANK_NONE,
    GST_TYPE_RELAY_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_relay_sink_debug, "relaysink", 0,
        "GPIO relay outputs"));

static void gst_relay_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_relay_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_relay_sink_finalize (GObject * object);
static gboolean gst_relay_sink_start (GstBaseSink * bsink);
static gboolean gst_relay_sink_stop (GstBaseSink * bsink);
static GstStateChangeReturn gst_relay_sink_change_state (GstElement * element,
    GstStateChange transition);
static gboolean gst_relay_sink_event (GstBaseSink * bsink, GstEvent * event);
static GstFlowReturn gst_relay_sink_render (GstBaseSink * bsink,
    GstBuffer * buffer);
static gboolean gst_relay_sink_command (GstRelaySink * self,
    const gchar * name, WspIoRelayAction action, guint duration);

static void
gst_relay_sink_class_init (GstRelaySinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_relay_sink_set_property;
  gobject_class->get_property = gst_relay_sink_get_property;
  gobject_class->finalize = gst_relay_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_CHIP,
      g_param_spec_string ("chip", "Chip",
          "GPIO chip: a libgpiod chip name (gpiochip0), path "
          "(/dev/gpiochip0), label or number; or \"sim\" / \"sim:NAME\" "
          "for an in-process simulated chip",
          DEFAULT_CHIP, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_LINES,
      g_param_spec_string ("lines", "Lines",
          "Relay output lines, as NAME=OFFSET pairs separated by commas "
          "(names: 1-31 characters of A-Z a-z 0-9 _ -; commands address "
          "relays by these names)",
          DEFAULT_LINES, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ACTIVE_LOW,
      g_param_spec_boolean ("active-low", "Active low",
          "The relay drivers switch on when the line is low: \"off\" drives "
          "the lines high",
          DEFAULT_ACTIVE_LOW, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PULSE_DURATION,
      g_param_spec_uint ("pulse-duration", "Pulse duration",
          "How long (ms) a pulse command without a \"duration\" keeps the "
          "relay on (never longer than max-on-time)",
          1, MAX_TIME_MS, DEFAULT_PULSE_DURATION, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_ON_TIME,
      g_param_spec_uint ("max-on-time", "Maximum on time",
          "Hard cap (ms) on how long any relay stays on, by an \"on\" or "
          "a pulse: it is switched off when this runs out",
          1, MAX_TIME_MS, DEFAULT_MAX_ON_TIME, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstRelaySink::command:
   * @relaysink: the #GstRelaySink
   * @name: the relay, a name from #GstRelaySink:lines
   * @action: a #WspIoRelayAction: pulse, on or off
   * @duration: for a pulse, how long (ms) it keeps the relay on; 0 for
   *   #GstRelaySink:pulse-duration. Must be 0 for on and off.
   *
   * Runs one relay command, as a `relay` line of a buffer would: checked by
   * the io rules (wsp_io_relay_command_validate()), capped by
   * #GstRelaySink:max-on-time, announced by `relay-state` messages with
   * reason `command`. It runs in the caller's thread and returns once the
   * line is written (a pulse's end is timed as for a buffer). Commands are
   * taken from READY to PAUSED until PAUSED to READY (which switches every
   * relay off), except after EOS until a flush.
   *
   * Returns: %TRUE if the command was carried out; %FALSE if it moved
   * nothing: invalid or for an unknown relay (a WARNING message says why),
   * or the element is not running (a log line); or if a line could not be
   * written (every relay is then switched off and an ERROR posted).
   */
  signals[SIGNAL_COMMAND] = g_signal_new_class_handler ("command",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_relay_sink_command), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 3, G_TYPE_STRING, WSP_IO_TYPE_RELAY_ACTION, G_TYPE_UINT);

  gst_element_class_add_static_pad_template (element_class, &sink_template);

  gst_element_class_set_static_metadata (element_class,
      "Relay sink", "Sink/Hardware",
      "Drives GPIO relay outputs from io `relay` commands (pulse, on, off) "
      "in buffers or by the \"command\" signal, with every relay off at "
      "start, stop, EOS, flush and error", "Open Intercom developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_relay_sink_change_state);
  basesink_class->start = GST_DEBUG_FUNCPTR (gst_relay_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_relay_sink_stop);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_relay_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_relay_sink_render);
}

static void
gst_relay_sink_init (GstRelaySink * self)
{
  self->chip = g_strdup (DEFAULT_CHIP);
  self->lines = g_strdup (DEFAULT_LINES);
  self->active_low = DEFAULT_ACTIVE_LOW;
  self->pulse_duration = DEFAULT_PULSE_DURATION;
  self->max_on_time = DEFAULT_MAX_ON_TIME;
  g_mutex_init (&self->relay_lock);

  /* Commands act when they arrive, not at their timestamps, and a pipeline
   * waiting for its first command still goes to PLAYING. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_relay_sink_finalize (GObject * object)
{
  GstRelaySink *self = GST_RELAY_SINK (object);

  g_free (self->chip);
  g_free (self->lines);
  g_mutex_clear (&self->relay_lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_relay_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRelaySink *self = GST_RELAY_SINK (object);

  GST_OBJECT_LOCK (self);
  if (self->open && prop_id != PROP_PULSE_DURATION) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "cannot change \"%s\" while the relays are "
        "open", pspec->name);
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
    case PROP_PULSE_DURATION:
      self->pulse_duration = g_value_get_uint (value);
      break;
    case PROP_MAX_ON_TIME:
      self->max_on_time = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_relay_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRelaySink *self = GST_RELAY_SINK (object);

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
    case PROP_PULSE_DURATION:
      g_value_set_uint (value, self->pulse_duration);
      break;
    case PROP_MAX_ON_TIME:
      g_value_set_uint (value, self->max_on_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Relay switching. Everything below runs with relay_lock held and collects
 * the changes; the caller posts them once the lock is released. */

static void
cancel_timer_locked (Relay * relay)
{
  if (relay->timer == NULL)
    return;
  gst_clock_id_unschedule (relay->timer);
  gst_clock_id_unref (relay->timer);
  relay->timer = NULL;
}

static gboolean
switch_relay_locked (GstRelaySink * self, guint index, gboolean active,
    const gchar * reason, GArray * changes, GError ** error)
{
  Relay *relay = &self->relays[index];
  gboolean level = active != self->run_active_low;
  RelayChange change;

  if (!active)
    cancel_timer_locked (relay);
  if (relay->active == active && g_strcmp0 (reason, "start") != 0)
    return TRUE;

  if (!oi_gpio_request_set_levels (relay->request, &level, error))
    return FALSE;

  relay->active = active;
  if (active)
    relay->on_since = gst_clock_get_time (self->timer_clock);

  change.name = g_intern_string (self->map->names[index]);
  change.offset = self->map->offsets[index];
  change.active = active;
  change.reason = reason;
  change.timestamp = oi_gpio_now ();
  g_array_append_val (changes, change);

  GST_INFO_OBJECT (self, "relay %s %s (%s)", self->map->names[index],
      active ? "on" : "off", reason);
  return TRUE;
}

/* The fail-safe: every relay off, each on its own line, whatever fails. */
static gboolean
all_off_locked (GstRelaySink * self, const gchar * reason, GArray * changes,
    GError ** error)
{
  gboolean ok = TRUE;

  if (self->relays == NULL)
    return TRUE;

  for (guint i = 0; i < self->map->n_lines; i++) {
    g_autoptr (GError) line_error = NULL;

    if (!switch_relay_locked (self, i, FALSE, reason, changes, &line_error)) {
      GST_ERROR_OBJECT (self, "cannot switch relay %s off: %s",
          self->map->names[i], line_error->message);
      if (ok)
        g_propagate_error (error, g_steal_pointer (&line_error));
      ok = FALSE;
    }
  }
  return ok;
}

static void
post_changes (GstRelaySink * self, GArray * changes)
{
  for (guint i = 0; i < changes->len; i++) {
    const RelayChange *change = &g_array_index (changes, RelayChange, i);
    GstStructure *s;

    s = gst_structure_new ("relay-state",
        "name", G_TYPE_STRING, change->name,
        "offset", G_TYPE_UINT, change->offset,
        "active", G_TYPE_BOOLEAN, change->active,
        "reason", G_TYPE_STRING, change->reason,
        "timestamp", G_TYPE_UINT64, change->timestamp, NULL);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
}

static void
timer_data_free (gpointer data)
{
  TimerData *timer = data;

  gst_object_unref (timer->self);
  g_free (timer);
}

static gboolean
timer_fired (GstClock * clock, GstClockTime time, GstClockID id,
    gpointer user_data)
{
  TimerData *timer = user_data;
  GstRelaySink *self = timer->self;
  g_autoptr (GArray) changes = g_array_new (FALSE, FALSE, sizeof (RelayChange));
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  g_mutex_lock (&self->relay_lock);
  /* A timer replaced or cancelled since it fired is no longer ours. */
  if (self->relays != NULL && self->relays[timer->relay].timer == id) {
    Relay *relay = &self->relays[timer->relay];

    ok = switch_relay_locked (self, timer->relay, FALSE, relay->timer_reason,
        changes, &error);
    if (!ok)
      all_off_locked (self, "error", changes, NULL);
  }
  g_mutex_unlock (&self->relay_lock);

  post_changes (self, changes);
  if (!ok)
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Cannot switch a relay off."), ("%s", error->message));
  return TRUE;
}

static void
schedule_off_locked (GstRelaySink * self, guint index, GstClockTime when,
    const gchar * reason)
{
  Relay *relay = &self->relays[index];
  TimerData *data;

  cancel_timer_locked (relay);
  relay->timer = gst_clock_new_single_shot_id (self->timer_clock, when);
  relay->timer_reason = reason;

  data = g_new0 (TimerData, 1);
  data->self = gst_object_ref (self);
  data->relay = index;
  gst_clock_id_wait_async (relay->timer, timer_fired, data, timer_data_free);
}

static gboolean
execute_locked (GstRelaySink * self, guint index, WspIoRelayAction action,
    guint duration, GArray * changes, GError ** error)
{
  Relay *relay = &self->relays[index];
  GstClockTime now, end, cap;

  switch (action) {
    case WSP_IO_RELAY_ACTION_OFF:
      return switch_relay_locked (self, index, FALSE, "command", changes,
          error);
    case WSP_IO_RELAY_ACTION_ON:
      if (!switch_relay_locked (self, index, TRUE, "command", changes, error))
        return FALSE;
      schedule_off_locked (self, index, relay->on_since + self->run_max_on_time,
          "max-on-time");
      return TRUE;
    case WSP_IO_RELAY_ACTION_PULSE:
      if (!switch_relay_locked (self, index, TRUE, "command", changes, error))
        return FALSE;
      now = gst_clock_get_time (self->timer_clock);
      end = now + duration * GST_MSECOND;
      cap = relay->on_since + self->run_max_on_time;
      if (end >= cap)
        schedule_off_locked (self, index, cap, "max-on-time");
      else
        schedule_off_locked (self, index, end, "pulse-end");
      return TRUE;
  }
  g_return_val_if_reached (FALSE);
}

/* Runs one valid command, from a buffer (streaming thread) or the signal
 * (the caller's thread). relay_lock keeps it apart from stop() freeing the
 * relays and from the timers; the object lock is taken before it, never
 * with it. */
static CommandResult
run_command (GstRelaySink * self, const gchar * name, WspIoRelayAction action,
    guint duration)
{
  g_autoptr (GArray) changes = g_array_new (FALSE, FALSE, sizeof (RelayChange));
  g_autoptr (GError) error = NULL;
  g_autofree gchar *names = NULL;
  gint index;
  gboolean ok;

  if (duration == 0 && action == WSP_IO_RELAY_ACTION_PULSE) {
    GST_OBJECT_LOCK (self);
    duration = self->pulse_duration;
    GST_OBJECT_UNLOCK (self);
  }

  g_mutex_lock (&self->relay_lock);
  if (self->relays == NULL || !self->accepting) {
    g_mutex_unlock (&self->relay_lock);
    goto not_running;
  }
  index = oi_gpio_line_map_lookup (self->map, name);
  if (index < 0) {
    names = g_strjoinv (", ", self->map->names);
    g_mutex_unlock (&self->relay_lock);
    goto unknown_relay;
  }
  ok = execute_locked (self, index, action, duration, changes, &error);
  if (!ok)
    all_off_locked (self, "error", changes, NULL);
  g_mutex_unlock (&self->relay_lock);

  post_changes (self, changes);
  if (!ok)
    goto write_failed;
  return COMMAND_DONE;

  /* ERRORS */
not_running:
  {
    GST_WARNING_OBJECT (self, "relay %s %s refused: the relays are not "
        "running (not started, at EOS or flushing)", name,
        wsp_io_relay_action_to_string (action));
    return COMMAND_REFUSED;
  }
unknown_relay:
  {
    GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
        ("Unknown relay \"%s\", command ignored (the relays are %s).",
            name, names), (NULL));
    return COMMAND_REFUSED;
  }
write_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Cannot switch a relay; every relay was switched off."),
        ("%s", error->message));
    return COMMAND_FAILED;
  }
}

/* One line of a buffer, through the io parser; FALSE only when the
 * hardware failed. */
static gboolean
handle_line (GstRelaySink * self, const gchar * text, gsize len)
{
  g_autoptr (WspIoMessage) message = NULL;
  g_autoptr (GError) error = NULL;

  if (!wsp_io_message_parse (text, len, &message, &error))
    goto invalid;
  if (message->type != WSP_IO_MESSAGE_RELAY_COMMAND) {
    g_set_error (&error, WSP_ERROR, WSP_ERROR_BAD_CONTENT, "a \"%s\" "
        "message is not a relay command",
        wsp_io_message_type_to_keyword (message->type));
    goto invalid;
  }
  return run_command (self, message->command.name, message->command.action,
      message->command.duration) != COMMAND_FAILED;

  /* ERRORS */
invalid:
  {
    /* GStreamer's printf reads a "%.*s" argument up to its NUL: show a
     * terminated, escaped copy of (the start of) the command. */
    g_autofree gchar *start = g_strndup (text, MIN (len, 200));
    g_autofree gchar *shown = g_strescape (start, NULL);

    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Invalid relay command, ignored: %s.", error->message),
        ("command: %s", shown));
    return TRUE;
  }
}

/* The "command" signal, in the caller's thread. */
static gboolean
gst_relay_sink_command (GstRelaySink * self, const gchar * name,
    WspIoRelayAction action, guint duration)
{
  g_autoptr (GError) error = NULL;

  if (!wsp_io_relay_command_validate (name, action, duration, &error))
    goto invalid;
  return run_command (self, name, action, duration) == COMMAND_DONE;

  /* ERRORS */
invalid:
  {
    g_autofree gchar *shown = name ? g_strescape (name, NULL) : NULL;

    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Invalid relay command, ignored: %s.", error->message),
        ("command signal: name \"%s\", action %d, duration %u",
            GST_STR_NULL (shown), (gint) action, duration));
    return FALSE;
  }
}

static OiGpioRequest *
request_relay (const gchar * chip, OiGpioLineMap * map, guint index,
    gboolean off_level, const gchar * consumer, GError ** error)
{
  const gchar *names[] = { map->names[index], NULL };
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_OUTPUT,
    .n_lines = 1,
    .offsets = &map->offsets[index],
    .initial_levels = &off_level,
    .consumer = consumer,
    .names = names,
  };

  return oi_gpio_request_lines (chip, &config, error);
}

static void
release_relays (Relay * relays, guint n_relays)
{
  for (guint i = 0; i < n_relays; i++) {
    cancel_timer_locked (&relays[i]);
    g_clear_pointer (&relays[i].request, oi_gpio_request_release);
  }
  g_free (relays);
}

static gboolean
gst_relay_sink_start (GstBaseSink * bsink)
{
  GstRelaySink *self = GST_RELAY_SINK (bsink);
  g_autofree gchar *chip = NULL;
  g_autofree gchar *lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) changes = g_array_new (FALSE, FALSE, sizeof (RelayChange));
  g_autoptr (OiGpioLineMap) map = NULL;
  gboolean active_low;
  guint max_on_time;
  Relay *relays;

  GST_OBJECT_LOCK (self);
  chip = g_strdup (self->chip);
  lines = g_strdup (self->lines);
  active_low = self->active_low;
  max_on_time = self->max_on_time;
  GST_OBJECT_UNLOCK (self);

  if (chip == NULL || *chip == '\0')
    goto no_chip;
  map = oi_gpio_line_map_parse (lines, &error);
  if (map == NULL)
    goto bad_lines;

  /* Lines are requested as outputs already off. */
  relays = g_new0 (Relay, map->n_lines);
  for (guint i = 0; i < map->n_lines; i++) {
    relays[i].request = request_relay (chip, map, i, active_low,
        GST_OBJECT_NAME (self), &error);
    if (relays[i].request == NULL) {
      release_relays (relays, map->n_lines);
      goto open_failed;
    }
  }

  g_mutex_lock (&self->relay_lock);
  self->timer_clock = gst_system_clock_obtain ();
  self->map = g_steal_pointer (&map);
  self->relays = relays;
  self->run_active_low = active_low;
  self->run_max_on_time = max_on_time * GST_MSECOND;
  /* Lines open from READY, commands from PAUSED (change_state). */
  self->accepting = FALSE;
  /* Write "off" once more through the normal path: it is what the
   * application sees as the start state. */
  if (!all_off_locked (self, "start", changes, &error)) {
    g_mutex_unlock (&self->relay_lock);
    post_changes (self, changes);
    gst_relay_sink_stop (bsink);
    goto write_failed;
  }
  g_mutex_unlock (&self->relay_lock);

  GST_OBJECT_LOCK (self);
  self->open = TRUE;
  GST_OBJECT_UNLOCK (self);

  post_changes (self, changes);
  GST_INFO_OBJECT (self, "driving %s on %s (%s), all off", lines, chip,
      oi_gpio_backend_for_chip (chip));
  return TRUE;

  /* ERRORS */
no_chip:
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
      ("No GPIO chip given."), ("the \"chip\" property is empty"));
  return FALSE;
bad_lines:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid relay line map \"%s\".", GST_STR_NULL (lines)),
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
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Cannot open relay lines \"%s\" on chip \"%s\".", lines, chip),
        ("%s", error->message));
  return FALSE;
write_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Cannot switch the relays off."), ("%s", error->message));
  return FALSE;
}

static gboolean
gst_relay_sink_stop (GstBaseSink * bsink)
{
  GstRelaySink *self = GST_RELAY_SINK (bsink);
  g_autoptr (GArray) changes = g_array_new (FALSE, FALSE, sizeof (RelayChange));
  g_autoptr (GError) error = NULL;
  g_autoptr (OiGpioLineMap) map = NULL;
  Relay *relays;
  gboolean ok;

  GST_OBJECT_LOCK (self);
  self->open = FALSE;
  GST_OBJECT_UNLOCK (self);

  /* A timer that fires from here on finds no relays and does nothing. */
  g_mutex_lock (&self->relay_lock);
  self->accepting = FALSE;
  ok = all_off_locked (self, "stop", changes, &error);
  relays = g_steal_pointer (&self->relays);
  map = g_steal_pointer (&self->map);
  gst_clear_object (&self->timer_clock);
  g_mutex_unlock (&self->relay_lock);

  post_changes (self, changes);
  if (!ok)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not switch every relay off."), ("%s", error->message));
  if (relays != NULL)
    release_relays (relays, map->n_lines);

  return TRUE;
}

/* Sets whether commands by signal run; leaving, every relay goes off as
 * well. */
static void
set_accepting (GstRelaySink * self, gboolean accepting, const gchar * reason)
{
  g_autoptr (GArray) changes = g_array_new (FALSE, FALSE, sizeof (RelayChange));
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  g_mutex_lock (&self->relay_lock);
  self->accepting = accepting && self->relays != NULL;
  if (!accepting)
    ok = all_off_locked (self, reason, changes, &error);
  g_mutex_unlock (&self->relay_lock);

  post_changes (self, changes);
  if (!ok)
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Cannot switch the relays off."), ("%s", error->message));
}

/* The lines are open from READY (start() and stop() are at NULL <-> READY),
 * but a stream runs only from PAUSED: commands by signal are taken from
 * READY -> PAUSED, and PAUSED -> READY switches every relay off, as a
 * stop, with nothing taken any more until the element is PAUSED again. */
static GstStateChangeReturn
gst_relay_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstRelaySink *self = GST_RELAY_SINK (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    set_accepting (self, FALSE, "stop");

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    set_accepting (self, TRUE, NULL);
  return ret;
}

static gboolean
gst_relay_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstRelaySink *self = GST_RELAY_SINK (bsink);
  const gchar *reason = NULL;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      reason = "eos";
      break;
    case GST_EVENT_FLUSH_START:
      reason = "flush";
      break;
    case GST_EVENT_FLUSH_STOP:
      /* The stream goes on: commands by signal run again. */
      set_accepting (self, TRUE, NULL);
      break;
    default:
      break;
  }

  /* EOS and a flush end what the stream asked for, and a command by signal
   * must not switch a relay back on behind them. */
  if (reason != NULL)
    set_accepting (self, FALSE, reason);

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

static GstFlowReturn
gst_relay_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstRelaySink *self = GST_RELAY_SINK (bsink);
  GstMapInfo info;
  const gchar *p, *end;
  gboolean ok = TRUE;

  if (!gst_buffer_map (buffer, &info, GST_MAP_READ))
    goto map_failed;
  if (info.size > MAX_BUFFER_SIZE)
    goto too_big;

  p = (const gchar *) info.data;
  end = p + info.size;
  while (ok && p < end) {
    const gchar *eol = memchr (p, '\n', end - p);
    const gchar *line_end = eol ? eol : end;
    const gchar *q = p;

    /* Blank lines and CRLF are what a terminal or file feeds; skip them. */
    while (q < line_end && g_ascii_isspace (*q))
      q++;
    while (line_end > q && g_ascii_isspace (line_end[-1]))
      line_end--;
    if (line_end > q)
      ok = handle_line (self, q, line_end - q);
    p = eol ? eol + 1 : end;
  }
  gst_buffer_unmap (buffer, &info);

  /* run_command() posted the error. */
  return ok ? GST_FLOW_OK : GST_FLOW_ERROR;

  /* ERRORS */
map_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL), ("cannot map buffer"));
  return GST_FLOW_ERROR;
too_big:
  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
      ("Relay command buffer too large, ignored."),
      ("%" G_GSIZE_FORMAT " bytes, at most %d", info.size, MAX_BUFFER_SIZE));
  gst_buffer_unmap (buffer, &info);
  return GST_FLOW_OK;
}
