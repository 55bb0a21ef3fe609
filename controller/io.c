/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IO pipeline: gpiosrc watching the bell and the inputs, relaysink
 * driving the relays, both always running, whatever the calls do. The
 * elements own the GPIO and the relay safety (off at start, stop, EOS and
 * error; pulses end by themselves); this adds the state the interior sees,
 * the relay policy, the audit trail and a restart with backoff. A command
 * arrives here already parsed (peers.c, by wspio's one rule set) and goes
 * to relaysink as values through its "command" signal: no text again. */

#include "intercomd.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "oigpio-sim.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30

struct _OiIo
{
  /* copied from the config: the lines need a restart to change */
  gchar *chip;
  gchar *inputs_text, *relays_text;
  GArray *inputs;               /* OiLine */
  GArray *relays;               /* OiLine */
  gboolean active_low;
  guint debounce, door_pulse, max_pulse;
  gboolean bell_relay;
  gchar *audit_path;

  GstElement *pipeline;
  GstElement *relaysink;        /* takes commands by its "command" signal */
  guint bus_watch;
  guint restart_id;
  guint backoff;

  GHashTable *input_state;      /* name -> GINT_TO_POINTER (active) */
  GHashTable *relay_state;

  OiGpioSimChip *sim;
  gulong sim_handler;
  GMutex sim_lock;
  gint64 sim_changed[OI_GPIO_SIM_CHIP_N_LINES]; /* µs since the epoch */
  gint64 sim_activated[OI_GPIO_SIM_CHIP_N_LINES];       /* the same */
  OiIoEventFunc func;
  gpointer user_data;
};

static void
copy_lines (GArray * from, GArray ** to)
{
  *to = g_array_new (FALSE, TRUE, sizeof (OiLine));
  for (guint i = 0; i < from->len; i++) {
    OiLine line = g_array_index (from, OiLine, i);

    line.name = g_strdup (line.name);
    g_array_append_val (*to, line);
  }
}

static void
free_lines (GArray * lines)
{
  for (guint i = 0; lines && i < lines->len; i++)
    g_free (g_array_index (lines, OiLine, i).name);
  g_clear_pointer (&lines, g_array_unref);
}

void
oi_io_audit (OiIo * io, const gchar * format, ...)
{
  va_list args;
  g_autofree gchar *what = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree gchar *stamp = g_date_time_format_iso8601 (now);
  g_autofree gchar *line = NULL;
  FILE *file;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_log ("intercomd-audit", G_LOG_LEVEL_MESSAGE, "%s", what);
  if (io->audit_path == NULL)
    return;
  line = g_strdup_printf ("time=%s %s\n", stamp, what);
  file = fopen (io->audit_path, "ae");
  if (file == NULL) {
    g_warning ("Cannot write the audit log %s: %s", io->audit_path,
        g_strerror (errno));
    return;
  }
  fputs (line, file);
  fclose (file);
}

/* Runs in this (the main) thread: relaysink writes the line before it
 * returns, and posts its relay-state messages for bus_message() to audit. */
static gboolean
run_command (OiIo * io, const gchar * name, WspIoRelayAction action,
    guint duration)
{
  gboolean done = FALSE;

  g_signal_emit_by_name (io->relaysink, "command", name, action, duration,
      &done);
  return done;
}

gboolean
oi_io_relay_command (OiIo * io, const WspIoMessage * command,
    const gchar * who, guint call_id, guint * code, gchar ** description)
{
  const gchar *action;
  guint duration;

  g_return_val_if_fail (command->type == WSP_IO_MESSAGE_RELAY_COMMAND, FALSE);

  action = wsp_io_relay_action_to_string (command->command.action);
  duration = command->command.duration;
  if (!oi_config_find_line (io->relays, command->command.name)) {
    *code = WSP_IO_ERROR_NOT_FOUND;
    *description = g_strdup_printf ("no relay \"%s\"", command->command.name);
    goto refused;
  }
  if (g_str_equal (command->command.name, "door")
      && command->command.action != WSP_IO_RELAY_ACTION_PULSE) {
    *code = WSP_IO_ERROR_FORBIDDEN;
    *description = g_strdup ("the door relay takes only \"pulse\"");
    goto refused;
  }
  if (command->command.action == WSP_IO_RELAY_ACTION_PULSE) {
    /* the default pulse, and the cap on a requested one */
    if (duration == 0)
      duration = io->door_pulse;
    duration = MIN (duration, io->max_pulse);
  }
  if (io->relaysink == NULL) {
    *code = WSP_IO_ERROR_INTERNAL;
    *description = g_strdup ("the relays are not running");
    goto refused;
  }
  /* relaysink checks the command by the same rules, then drives the line;
   * FALSE: refused or a line failed (its ERROR restarts the pipeline). */
  if (!run_command (io, command->command.name, command->command.action,
          duration)) {
    *code = WSP_IO_ERROR_INTERNAL;
    *description = g_strdup ("the relay could not be driven");
    goto refused;
  }
  oi_io_audit (io, "peer=%s call=%u relay=%s action=%s duration=%u "
      "result=accepted", who, call_id, command->command.name, action,
      command->command.action == WSP_IO_RELAY_ACTION_PULSE ? duration : 0);
  return TRUE;

refused:
  oi_io_audit (io, "peer=%s call=%u relay=%s action=%s result=refused "
      "code=%u reason=\"%s\"", who, call_id, command->command.name, action,
      *code, *description);
  return FALSE;
}

static void
set_state (OiIo * io, OiIoEventKind kind, const gchar * name,
    gboolean active, gint64 time, gboolean notify)
{
  GHashTable *table = kind == OI_IO_INPUT ? io->input_state : io->relay_state;

  g_hash_table_insert (table, g_strdup (name), GINT_TO_POINTER (active));
  if (notify && io->func)
    io->func (kind, name, active, time, io->user_data);
}

static void
on_gpio_event (OiIo * io, const GstStructure * s)
{
  const gchar *name = gst_structure_get_string (s, "name");
  gboolean active = FALSE, initial = FALSE;
  gint64 time = 0;

  gst_structure_get_boolean (s, "active", &active);
  gst_structure_get_boolean (s, "initial", &initial);
  gst_structure_get_int64 (s, "time", &time);
  if (name == NULL)
    return;
  g_info ("input %s %s%s", name, active ? "active" : "inactive",
      initial ? " (start-up state)" : "");
  set_state (io, OI_IO_INPUT, name, active, time, !initial);
  if (!initial && active && io->bell_relay && g_str_equal (name, "bell")
      && oi_config_find_line (io->relays, "bell")) {
    g_autoptr (WspIoMessage) pulse = wsp_io_message_new_relay_command ("bell",
        WSP_IO_RELAY_ACTION_PULSE, 0);
    guint code;
    g_autofree gchar *description = NULL;

    oi_io_relay_command (io, pulse, "bell-button", 0, &code, &description);
  }
}

static void
on_relay_state (OiIo * io, const GstStructure * s)
{
  const gchar *name = gst_structure_get_string (s, "name");
  const gchar *reason = gst_structure_get_string (s, "reason");
  gboolean active = FALSE;

  gst_structure_get_boolean (s, "active", &active);
  if (name == NULL)
    return;
  oi_io_audit (io, "relay=%s state=%s reason=%s", name, active ? "on" : "off",
      GST_STR_NULL (reason));
  set_state (io, OI_IO_RELAY, name, active, g_get_real_time () / 1000, TRUE);
}

static gboolean start_pipeline (OiIo * io, GError ** error);

static gboolean
restart (gpointer data)
{
  OiIo *io = data;
  g_autoptr (GError) error = NULL;

  io->restart_id = 0;
  if (start_pipeline (io, &error)) {
    g_message ("IO pipeline restarted");
    io->backoff = 0;
    return G_SOURCE_REMOVE;
  }
  g_warning ("IO pipeline restart failed: %s", error->message);
  io->backoff = CLAMP (io->backoff * 2, BACKOFF_MIN_S, BACKOFF_MAX_S);
  io->restart_id = g_timeout_add_seconds (io->backoff, restart, io);
  return G_SOURCE_REMOVE;
}

static void
stop_pipeline (OiIo * io)
{
  g_autoptr (GstBus) bus = NULL;
  GstMessage *message;

  if (io->pipeline == NULL)
    return;
  g_autoptr (GstElement) relays = NULL;

  /* relaysink switches every relay off as it stops (READY -> NULL); its
   * relay-state messages are audited here, before the pipeline's own NULL
   * flushes the bus. */
  gst_element_set_state (io->pipeline, GST_STATE_READY);
  relays = gst_bin_get_by_name (GST_BIN (io->pipeline), "relays");
  gst_element_set_state (relays, GST_STATE_NULL);
  bus = gst_element_get_bus (io->pipeline);
  while ((message = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (message);

    if (gst_structure_has_name (s, "relay-state"))
      on_relay_state (io, s);
    gst_message_unref (message);
  }
  gst_element_set_state (io->pipeline, GST_STATE_NULL);
  g_source_remove (io->bus_watch);
  io->bus_watch = 0;
  gst_clear_object (&io->relaysink);
  gst_clear_object (&io->pipeline);
}

static gboolean
bus_message (GstBus * bus, GstMessage * message, gpointer data)
{
  OiIo *io = data;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (message);

      if (gst_structure_has_name (s, "gpio-event"))
        on_gpio_event (io, s);
      else if (gst_structure_has_name (s, "relay-state"))
        on_relay_state (io, s);
      break;
    }
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_EOS:{
      g_autoptr (GError) error = NULL;
      g_autofree gchar *debug = NULL;

      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
        gst_message_parse_error (message, &error, &debug);
      io->backoff = CLAMP (io->backoff * 2, BACKOFF_MIN_S, BACKOFF_MAX_S);
      g_warning ("IO pipeline %s: %s (%s); restarting in %u s",
          error ? "failed" : "ended", error ? error->message : "EOS",
          GST_STR_NULL (debug), io->backoff);
      oi_io_audit (io, "relays=all state=off reason=io-restart");
      stop_pipeline (io);
      io->restart_id = g_timeout_add_seconds (io->backoff, restart, io);
      return G_SOURCE_REMOVE;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
start_pipeline (OiIo * io, GError ** error)
{
  g_autoptr (GstElement) pipeline = gst_pipeline_new ("io");
  GstElement *src, *sink, *relays;
  g_autoptr (GstBus) bus = NULL;

  src = gst_element_factory_make ("gpiosrc", "inputs");
  sink = gst_element_factory_make ("fakesink", NULL);
  relays = gst_element_factory_make ("relaysink", "relays");
  if (!src || !sink || !relays) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "gpiosrc, relaysink or fakesink is missing (the oigpio plugin and "
        "GStreamer's core elements)");
    gst_clear_object (&src);
    gst_clear_object (&sink);
    gst_clear_object (&relays);
    return FALSE;
  }
  g_object_set (src, "chip", io->chip, "lines", io->inputs_text,
      "active-low", io->active_low, "debounce", io->debounce, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  /* Its sink pad stays unlinked: commands come by signal. */
  g_object_set (relays, "chip", io->chip, "lines", io->relays_text,
      "active-low", io->active_low, "pulse-duration", io->door_pulse,
      "max-on-time", io->max_pulse, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, sink, relays, NULL);
  if (!gst_element_link (src, sink)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the IO pipeline");
    return FALSE;
  }

  bus = gst_element_get_bus (pipeline);
  io->bus_watch = gst_bus_add_watch (bus, bus_message, io);
  io->pipeline = g_steal_pointer (&pipeline);
  io->relaysink = gst_object_ref (relays);
  if (gst_element_set_state (io->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_autoptr (GstMessage) msg = gst_bus_pop_filtered (bus,
        GST_MESSAGE_ERROR);
    g_autoptr (GError) gerror = NULL;

    if (msg)
      gst_message_parse_error (msg, &gerror, NULL);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "%s", gerror ? gerror->message : "the IO pipeline does not start");
    stop_pipeline (io);
    return FALSE;
  }
  return TRUE;
}

/* The simulated chip's own record of an output change (any thread): when,
 * on the wall clock, for GET /api/v1/sim/relays. */
static void
on_sim_output_changed (OiGpioSimChip * chip, guint offset, gboolean level,
    guint64 timestamp, gpointer data)
{
  OiIo *io = data;
  gint64 ago = g_get_monotonic_time () - (gint64) (timestamp / 1000);
  gint64 when = g_get_real_time () - MAX (ago, 0);

  if (offset >= OI_GPIO_SIM_CHIP_N_LINES)
    return;
  g_mutex_lock (&io->sim_lock);
  io->sim_changed[offset] = when;
  if (level != io->active_low)
    io->sim_activated[offset] = when;
  g_mutex_unlock (&io->sim_lock);
}

OiIo *
oi_io_new (const OiConfig * config, OiIoEventFunc func, gpointer user_data,
    GError ** error)
{
  OiIo *io = g_new0 (OiIo, 1);

  io->chip = g_strdup (config->chip);
  io->inputs_text = g_strdup (config->inputs_text);
  io->relays_text = g_strdup (config->relays_text);
  copy_lines (config->inputs, &io->inputs);
  copy_lines (config->relays, &io->relays);
  io->active_low = config->active_low;
  io->debounce = config->debounce;
  io->door_pulse = config->door_pulse;
  io->max_pulse = config->max_pulse;
  io->bell_relay = config->bell_relay;
  io->audit_path = g_build_filename (config->state_dir, "audit.log", NULL);
  io->func = func;
  io->user_data = user_data;
  io->input_state = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  io->relay_state = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  for (guint i = 0; i < io->inputs->len; i++)
    set_state (io, OI_IO_INPUT, g_array_index (io->inputs, OiLine, i).name,
        FALSE, 0, FALSE);
  for (guint i = 0; i < io->relays->len; i++)
    set_state (io, OI_IO_RELAY, g_array_index (io->relays, OiLine, i).name,
        FALSE, 0, FALSE);
  g_mutex_init (&io->sim_lock);
  if (g_str_equal (io->chip, "sim") || g_str_has_prefix (io->chip, "sim:")) {
    io->sim = oi_gpio_sim_chip_get (io->chip[3] == ':' ? io->chip + 4 :
        "sim");
    io->sim_handler = g_signal_connect (io->sim, "output-changed",
        G_CALLBACK (on_sim_output_changed), io);
  }

  if (!start_pipeline (io, error)) {
    oi_io_free (io);
    return NULL;
  }
  return io;
}

void
oi_io_free (OiIo * io)
{
  if (io == NULL)
    return;
  if (io->restart_id)
    g_source_remove (io->restart_id);
  stop_pipeline (io);
  if (io->sim)
    g_signal_handler_disconnect (io->sim, io->sim_handler);
  g_clear_object (&io->sim);
  g_mutex_clear (&io->sim_lock);
  g_hash_table_unref (io->input_state);
  g_hash_table_unref (io->relay_state);
  free_lines (io->inputs);
  free_lines (io->relays);
  g_free (io->chip);
  g_free (io->inputs_text);
  g_free (io->relays_text);
  g_free (io->audit_path);
  g_free (io);
}

WspIoMessage *
oi_io_get_state (OiIo * io)
{
  WspIoMessage *state = wsp_io_message_new_state ();

  for (guint i = 0; i < io->inputs->len; i++) {
    const gchar *name = g_array_index (io->inputs, OiLine, i).name;

    wsp_io_message_state_add_input (state, name,
        GPOINTER_TO_INT (g_hash_table_lookup (io->input_state, name)));
  }
  for (guint i = 0; i < io->relays->len; i++) {
    const gchar *name = g_array_index (io->relays, OiLine, i).name;

    wsp_io_message_state_add_relay (state, name,
        GPOINTER_TO_INT (g_hash_table_lookup (io->relay_state, name)));
  }
  return state;
}

/* "@member": {"name": active, ...} for @lines. */
static void
add_lines_json (JsonBuilder * b, const gchar * member, GArray * lines,
    GHashTable * state)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (guint i = 0; i < lines->len; i++) {
    const gchar *name = g_array_index (lines, OiLine, i).name;

    json_builder_set_member_name (b, name);
    json_builder_add_boolean_value (b,
        GPOINTER_TO_INT (g_hash_table_lookup (state, name)));
  }
  json_builder_end_object (b);
}

void
oi_io_add_state_json (OiIo * io, JsonBuilder * b)
{
  add_lines_json (b, "inputs", io->inputs, io->input_state);
  add_lines_json (b, "relays", io->relays, io->relay_state);
}

gboolean
oi_io_is_simulated (OiIo * io)
{
  return io->sim != NULL;
}

gboolean
oi_io_sim_set_input (OiIo * io, const gchar * name, gboolean active)
{
  const OiLine *line;

  if (io->sim == NULL || !(line = oi_config_find_line (io->inputs, name)))
    return FALSE;
  oi_gpio_sim_chip_set_input (io->sim, line->offset,
      active != io->active_low);
  return TRUE;
}

void
oi_io_add_sim_relays_json (OiIo * io, JsonBuilder * b)
{
  g_return_if_fail (io->sim != NULL);

  for (guint i = 0; i < io->relays->len; i++) {
    const OiLine *line = &g_array_index (io->relays, OiLine, i);
    gint64 changed = 0, activated = 0;

    g_mutex_lock (&io->sim_lock);
    if (line->offset < OI_GPIO_SIM_CHIP_N_LINES) {
      changed = io->sim_changed[line->offset];
      activated = io->sim_activated[line->offset];
    }
    g_mutex_unlock (&io->sim_lock);
    json_builder_set_member_name (b, line->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "active");
    json_builder_add_boolean_value (b,
        oi_gpio_sim_chip_get_level (io->sim, line->offset) != io->active_low);
    json_builder_set_member_name (b, "changes");
    json_builder_add_int_value (b,
        oi_gpio_sim_chip_get_output_changes (io->sim, line->offset));
    json_builder_set_member_name (b, "changed");
    json_builder_add_int_value (b, changed);
    json_builder_set_member_name (b, "activated");
    json_builder_add_int_value (b, activated);
    json_builder_end_object (b);
  }
}
