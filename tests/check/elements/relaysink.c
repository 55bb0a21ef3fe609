/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* relaysink on the simulated chip: relays off at start, stop, EOS, flush
 * and error; pulses that end by themselves; max-on-time; refused commands
 * that move nothing and keep the pipeline running; the "command" action
 * signal under the same rules and safety, from other threads too. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "oitest.h"
#include "oigpio.h"
#include "wspio.h"

#define BELL 5
#define DOOR 6

typedef struct
{
  GstHarness *h;
  GstBus *bus;
  OiGpioSimChip *chip;
  gchar *spec;
  OiOutputWatch *watch;
} Fixture;

static void
fixture_start_on (Fixture * f, OiGpioSimChip * chip, const gchar * props)
{
  g_autofree gchar *desc = NULL;
  GstElement *sink;

  if (chip != NULL) {
    f->chip = g_object_ref (chip);
    f->spec = g_strdup_printf ("sim:%s", oi_gpio_sim_chip_get_name (chip));
  } else {
    f->chip = oi_test_new_chip (&f->spec);
  }
  f->watch = oi_output_watch_new (f->chip);
  desc = g_strdup_printf ("relaysink chip=%s lines=bell=5,door=6 %s",
      f->spec, props ? props : "");
  sink = gst_parse_launch (desc, NULL);
  fail_unless (sink != NULL);
  f->bus = gst_bus_new ();
  gst_element_set_bus (sink, f->bus);
  f->h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_harness_set_src_caps_str (f->h, "application/x-intercom-io");
  gst_harness_play (f->h);
  gst_object_unref (sink);
}

static void
fixture_start (Fixture * f, const gchar * props)
{
  fixture_start_on (f, NULL, props);
}

static void
fixture_stop (Fixture * f)
{
  if (f->h)
    gst_harness_teardown (f->h);
  gst_bus_set_flushing (f->bus, TRUE);
  gst_object_unref (f->bus);
  oi_output_watch_free (f->watch);
  g_object_unref (f->chip);
  g_free (f->spec);
}

static GstFlowReturn
push_text (Fixture * f, const gchar * text)
{
  return gst_harness_push (f->h, gst_buffer_new_memdup (text, strlen (text)));
}

/* The next relay-state message, checked. Fails on an ERROR or WARNING. */
static void
expect_relay_state (Fixture * f, const gchar * name, gboolean active,
    const gchar * reason)
{
  g_autoptr (GstMessage) msg = oi_test_pop_element_message (f->bus,
      "relay-state", TRUE, OI_TEST_TIMEOUT);
  const GstStructure *s;
  gboolean msg_active;
  guint offset;
  guint64 timestamp;

  fail_unless (msg != NULL, "no relay-state message");
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT,
      "got %" GST_PTR_FORMAT " instead of relay-state", msg);
  s = gst_message_get_structure (msg);
  fail_unless_equals_string (gst_structure_get_string (s, "name"), name);
  fail_unless (gst_structure_get (s, "active", G_TYPE_BOOLEAN, &msg_active,
          "offset", G_TYPE_UINT, &offset, "timestamp", G_TYPE_UINT64,
          &timestamp, NULL));
  fail_unless_equals_int (msg_active, active);
  fail_unless_equals_int (offset, g_str_equal (name, "bell") ? BELL : DOOR);
  fail_unless_equals_string (gst_structure_get_string (s, "reason"), reason);
  fail_unless (timestamp <= oi_gpio_now ());
}

static void
expect_started (Fixture * f)
{
  expect_relay_state (f, "bell", FALSE, "start");
  expect_relay_state (f, "door", FALSE, "start");
}

/* The next physical change of @offset. */
static OiOutputChange
expect_output (Fixture * f, guint offset, gboolean level)
{
  OiOutputChange change;

  fail_unless (oi_output_watch_next (f->watch, offset, OI_TEST_TIMEOUT,
          &change), "line %u did not change", offset);
  fail_unless_equals_int (change.level, level);
  return change;
}

GST_START_TEST (test_off_at_start)
{
  Fixture f = { 0, };
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  gboolean on = TRUE;
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_OUTPUT,
    .n_lines = 1,
    .offsets = (guint[]) {DOOR},
    .initial_levels = &on,
    .consumer = "crashed-process",
  };
  OiGpioRequest *left_on;

  /* A previous owner left the door line on, then went away. */
  chip = oi_test_new_chip (&spec);
  left_on = oi_gpio_request_lines (spec, &config, NULL);
  fail_unless (left_on != NULL);
  oi_gpio_request_release (left_on);
  fail_unless (oi_gpio_sim_chip_get_level (chip, DOOR));

  fixture_start_on (&f, chip, NULL);
  expect_started (&f);
  fail_unless (!oi_gpio_sim_chip_get_level (chip, DOOR));
  fail_unless (!oi_gpio_sim_chip_get_level (chip, BELL));
  fail_unless (oi_gpio_sim_chip_is_output (chip, DOOR));
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_active_low)
{
  Fixture f = { 0, };

  /* Off is high; on is low. */
  fixture_start (&f, "active-low=true");
  expect_started (&f);
  fail_unless (oi_gpio_sim_chip_get_level (f.chip, BELL));
  fail_unless (oi_gpio_sim_chip_get_level (f.chip, DOOR));

  fail_unless_equals_int (push_text (&f,
          "[\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]"),
      GST_FLOW_OK);
  expect_relay_state (&f, "bell", TRUE, "command");
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  fail_unless (oi_gpio_sim_chip_get_level (f.chip, DOOR));
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_pulse_ends_by_itself)
{
  Fixture f = { 0, };
  OiOutputChange on, off;
  guint64 changes;

  fixture_start (&f, NULL);
  expect_started (&f);

  fail_unless_equals_int (push_text (&f, "[\"relay\", {\"name\": \"door\", "
          "\"action\": \"pulse\", \"duration\": 150}]\n"), GST_FLOW_OK);
  on = expect_output (&f, DOOR, TRUE);
  expect_relay_state (&f, "door", TRUE, "command");

  /* No more buffers: the pulse still ends, on time. */
  off = expect_output (&f, DOOR, FALSE);
  expect_relay_state (&f, "door", FALSE, "pulse-end");
  fail_unless (off.timestamp - on.timestamp >= 150 * GST_MSECOND,
      "pulse lasted only %" G_GUINT64_FORMAT " ns",
      off.timestamp - on.timestamp);
  fail_unless (off.timestamp - on.timestamp < 2 * GST_SECOND);

  /* The default duration applies without "duration". */
  g_object_set (f.h->element, "pulse-duration", 50, NULL);
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}]");
  on = expect_output (&f, DOOR, TRUE);
  off = expect_output (&f, DOOR, FALSE);
  fail_unless (off.timestamp - on.timestamp >= 50 * GST_MSECOND);

  changes = oi_gpio_sim_chip_get_output_changes (f.chip, BELL);
  fail_unless_equals_uint64 (changes, 0);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_off_cancels_pulse)
{
  Fixture f = { 0, };
  OiOutputChange on, off;

  fixture_start (&f, NULL);
  expect_started (&f);

  /* A pulse cut short by "off", then a longer one: the first pulse's timer
   * must not end the second early. */
  push_text (&f, "[\"relay\", {\"name\": \"bell\", \"action\": \"pulse\", "
      "\"duration\": 100}]\n[\"relay\", {\"name\": \"bell\", \"action\": "
      "\"off\"}]\n[\"relay\", {\"name\": \"bell\", \"action\": \"pulse\", "
      "\"duration\": 400}]");
  expect_output (&f, BELL, TRUE);
  expect_output (&f, BELL, FALSE);
  on = expect_output (&f, BELL, TRUE);
  off = expect_output (&f, BELL, FALSE);
  fail_unless (off.timestamp - on.timestamp >= 400 * GST_MSECOND,
      "second pulse ended after %" G_GUINT64_FORMAT " ns",
      off.timestamp - on.timestamp);
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          BELL), 4);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_max_on_time)
{
  Fixture f = { 0, };
  OiOutputChange on, off;

  fixture_start (&f, "max-on-time=200");
  expect_started (&f);

  /* "on" is cut at max-on-time. */
  push_text (&f, "[\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]");
  on = expect_output (&f, BELL, TRUE);
  expect_relay_state (&f, "bell", TRUE, "command");
  off = expect_output (&f, BELL, FALSE);
  expect_relay_state (&f, "bell", FALSE, "max-on-time");
  fail_unless (off.timestamp - on.timestamp >= 200 * GST_MSECOND);

  /* So is a pulse longer than it. */
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", "
      "\"duration\": 60000}]");
  on = expect_output (&f, DOOR, TRUE);
  off = expect_output (&f, DOOR, FALSE);
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "door", FALSE, "max-on-time");
  fail_unless (off.timestamp - on.timestamp < 10 * GST_SECOND);

  /* And repeated pulses do not extend a relay past it. */
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", "
      "\"duration\": 150}]");
  on = expect_output (&f, DOOR, TRUE);
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", "
      "\"duration\": 150}]");
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"on\"}]");
  off = expect_output (&f, DOOR, FALSE);
  fail_unless (off.timestamp - on.timestamp >= 200 * GST_MSECOND);
  fail_unless (off.timestamp - on.timestamp < 10 * GST_SECOND);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_off_at_stop)
{
  Fixture f = { 0, };

  fixture_start (&f, NULL);
  expect_started (&f);
  push_text (&f, "[\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]\n"
      "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": "
      "60000}]");
  expect_output (&f, BELL, TRUE);
  expect_output (&f, DOOR, TRUE);

  gst_element_set_state (f.h->element, GST_STATE_NULL);
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, DOOR));
  fail_unless (!oi_gpio_sim_chip_is_requested (f.chip, BELL));
  expect_relay_state (&f, "bell", TRUE, "command");
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "bell", FALSE, "stop");
  expect_relay_state (&f, "door", FALSE, "stop");
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_stop_races_pulse_end)
{
  /* stop() at every point, in 20 us steps, around the moment a pulse ends
   * on the clock thread: the door ends off, the timer and stop() do not
   * deadlock, and (under ASan) nothing is used after stop() freed it. */
  for (guint i = 0; i < 120; i++) {
    Fixture f = { 0, };
    OiOutputChange on;
    guint64 target;

    fixture_start (&f, NULL);
    fail_unless_equals_int (push_text (&f, "[\"relay\", {\"name\": "
            "\"door\", \"action\": \"pulse\", \"duration\": 2}]"),
        GST_FLOW_OK);
    on = expect_output (&f, DOOR, TRUE);
    target = on.timestamp + 2 * GST_MSECOND - 1200 * GST_USECOND +
        i * 20 * GST_USECOND;
    while (oi_gpio_now () < target);
    gst_element_set_state (f.h->element, GST_STATE_NULL);
    fail_unless (!oi_gpio_sim_chip_get_level (f.chip, DOOR));
    fixture_stop (&f);
  }
}

GST_END_TEST;

GST_START_TEST (test_off_at_eos_and_flush)
{
  Fixture f = { 0, };

  fixture_start (&f, NULL);
  expect_started (&f);

  push_text (&f, "[\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]");
  expect_output (&f, BELL, TRUE);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_start ()));
  expect_output (&f, BELL, FALSE);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_stop (TRUE)));
  expect_relay_state (&f, "bell", TRUE, "command");
  expect_relay_state (&f, "bell", FALSE, "flush");

  /* After a flush it takes commands again, and EOS switches off. */
  gst_harness_push_event (f.h, gst_event_new_stream_start ("again"));
  gst_harness_push_event (f.h, gst_event_new_caps (gst_caps_from_string
          ("application/x-intercom-io")));
  {
    GstSegment segment;

    gst_segment_init (&segment, GST_FORMAT_TIME);
    gst_harness_push_event (f.h, gst_event_new_segment (&segment));
  }
  fail_unless_equals_int (push_text (&f,
          "[\"relay\", {\"name\": \"door\", \"action\": \"on\"}]"),
      GST_FLOW_OK);
  expect_output (&f, DOOR, TRUE);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  expect_output (&f, DOOR, FALSE);
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "door", FALSE, "eos");
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_off_at_error)
{
  Fixture f = { 0, };
  g_autoptr (GstMessage) msg = NULL;
  g_autoptr (GError) error = NULL;

  fixture_start (&f, NULL);
  expect_started (&f);
  push_text (&f, "[\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]");
  expect_output (&f, BELL, TRUE);
  expect_relay_state (&f, "bell", TRUE, "command");

  /* The door line breaks: the command fails, the element posts an error
   * and every relay it can still reach goes off. */
  oi_gpio_sim_chip_set_fault (f.chip, DOOR, TRUE);
  fail_unless_equals_int (push_text (&f, "[\"relay\", {\"name\": \"door\", "
          "\"action\": \"pulse\"}]"), GST_FLOW_ERROR);
  expect_output (&f, BELL, FALSE);
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, DOOR));
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          DOOR), 0);
  expect_relay_state (&f, "bell", FALSE, "error");

  msg = oi_test_pop_message (f.bus, GST_MESSAGE_ERROR, OI_TEST_TIMEOUT);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_WRITE));
  oi_gpio_sim_chip_set_fault (f.chip, DOOR, FALSE);
  fixture_stop (&f);
}

GST_END_TEST;

static const gchar *refused[] = {
  "not json",
  "{\"name\": \"door\", \"action\": \"pulse\"}",
  "[\"relay\"]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}, {}, {}]",
  "[\"state\", {\"name\": \"door\", \"action\": \"pulse\"}]",
  "[42, {\"name\": \"door\", \"action\": \"pulse\"}]",
  "[\"relay\", [\"door\", \"pulse\"]]",
  "[\"relay\", {\"name\": \"door\"}]",
  "[\"relay\", {\"action\": \"pulse\"}]",
  "[\"relay\", {\"name\": 6, \"action\": \"pulse\"}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"open\"}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": -5}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": 0}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": 1.5}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": \"9\"}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"on\", \"duration\": 100}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"who\": \"me\"}]",
  "[\"relay\", {\"name\": \"door/../bell\", \"action\": \"on\"}]",
  "[\"relay\", {\"name\": \"garage\", \"action\": \"on\"}]",
  "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}] trailing",
  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

GST_START_TEST (test_refused_commands_move_nothing)
{
  Fixture f = { 0, };
  g_autofree gchar *huge = NULL;
  g_autofree gchar *long_name = NULL;
  static const guint8 binary[] = { '[', 0, 0xff, 0xfe, ']', 0x80 };

  fixture_start (&f, NULL);
  expect_started (&f);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_autoptr (GstMessage) msg = NULL;

    fail_unless_equals_int (push_text (&f, refused[i]), GST_FLOW_OK);
    msg = oi_test_pop_message (f.bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR
        | GST_MESSAGE_ELEMENT, OI_TEST_TIMEOUT);
    fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING,
        "no warning for %s", refused[i]);
  }

  fail_unless_equals_int (gst_harness_push (f.h,
          gst_buffer_new_memdup (binary, sizeof (binary))), GST_FLOW_OK);
  gst_message_unref (oi_test_pop_message (f.bus, GST_MESSAGE_WARNING,
          OI_TEST_TIMEOUT));

  long_name = g_strnfill (2000, 'a');
  huge = g_strdup_printf ("[\"relay\", {\"name\": \"%s\", \"action\": "
      "\"on\"}]", long_name);
  fail_unless_equals_int (push_text (&f, huge), GST_FLOW_OK);
  gst_message_unref (oi_test_pop_message (f.bus, GST_MESSAGE_WARNING,
          OI_TEST_TIMEOUT));

  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          BELL), 0);
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          DOOR), 0);

  /* Still running: a good command works, and one bad line among good ones
   * refuses only itself. */
  fail_unless_equals_int (push_text (&f,
          "\r\n[\"relay\", {\"name\": \"garage\", \"action\": \"on\"}]\r\n"
          "  [\"relay\", {\"name\": \"bell\", \"action\": \"on\"}]  \r\n\n"),
      GST_FLOW_OK);
  expect_output (&f, BELL, TRUE);
  gst_message_unref (oi_test_pop_message (f.bus, GST_MESSAGE_WARNING,
          OI_TEST_TIMEOUT));
  expect_relay_state (&f, "bell", TRUE, "command");
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          DOOR), 0);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_errors)
{
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  g_autofree gchar *desc = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  g_autoptr (GError) error = NULL;

  /* The second relay's line is missing: nothing stays requested. */
  chip = oi_test_new_chip (&spec);
  desc = g_strdup_printf ("fakesrc ! relaysink chip=%s lines=bell=5,door=64",
      spec);
  pipeline = gst_parse_launch (desc, NULL);
  bus = gst_element_get_bus (pipeline);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = oi_test_pop_message (bus, GST_MESSAGE_ERROR, OI_TEST_TIMEOUT);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_FOUND));
  fail_unless (!oi_gpio_sim_chip_is_requested (chip, BELL));
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

GST_END_TEST;

GST_START_TEST (test_properties_locked_while_open)
{
  Fixture f = { 0, };
  g_autofree gchar *lines = NULL;
  guint max_on_time;

  fixture_start (&f, NULL);
  g_object_set (f.h->element, "lines", "door=1", "max-on-time", 99999, NULL);
  g_object_get (f.h->element, "lines", &lines, "max-on-time", &max_on_time,
      NULL);
  fail_unless_equals_string (lines, "bell=5,door=6");
  fail_unless_equals_int (max_on_time, 10000);
  fixture_stop (&f);
}

GST_END_TEST;

/* ---- The "command" action signal ----------------------------------------- */

static gboolean
command (GstElement * sink, const gchar * name, gint action, guint duration)
{
  gboolean done = FALSE;

  g_signal_emit_by_name (sink, "command", name, action, duration, &done);
  return done;
}

/* Nothing on the bus now: a command by signal posts before it returns. */
static void
expect_no_relay_state (Fixture * f)
{
  g_autoptr (GstMessage) msg = gst_bus_pop_filtered (f->bus,
      GST_MESSAGE_ELEMENT);

  fail_unless (msg == NULL, "unexpected %" GST_PTR_FORMAT, msg);
}

GST_START_TEST (test_signal_pulse_on_off)
{
  Fixture f = { 0, };
  OiOutputChange on, off;

  fixture_start (&f, NULL);
  expect_started (&f);

  /* The line is written before the signal returns; the pulse then ends by
   * itself, on time. */
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_PULSE, 150));
  fail_unless (oi_gpio_sim_chip_get_level (f.chip, DOOR));
  on = expect_output (&f, DOOR, TRUE);
  expect_relay_state (&f, "door", TRUE, "command");
  off = expect_output (&f, DOOR, FALSE);
  expect_relay_state (&f, "door", FALSE, "pulse-end");
  fail_unless (off.timestamp - on.timestamp >= 150 * GST_MSECOND,
      "pulse lasted only %" G_GUINT64_FORMAT " ns",
      off.timestamp - on.timestamp);
  fail_unless (off.timestamp - on.timestamp < 2 * GST_SECOND);

  /* Duration 0 is the element's pulse-duration. */
  g_object_set (f.h->element, "pulse-duration", 50, NULL);
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_PULSE, 0));
  on = expect_output (&f, DOOR, TRUE);
  off = expect_output (&f, DOOR, FALSE);
  fail_unless (off.timestamp - on.timestamp >= 50 * GST_MSECOND);
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "door", FALSE, "pulse-end");

  /* On, and off again. */
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  fail_unless (oi_gpio_sim_chip_get_level (f.chip, BELL));
  expect_relay_state (&f, "bell", TRUE, "command");
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_OFF, 0));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  expect_relay_state (&f, "bell", FALSE, "command");
  /* "off" for a relay that is off is done, and moves nothing. */
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_OFF, 0));
  expect_no_relay_state (&f);

  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          BELL), 2);
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          DOOR), 4);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_signal_refused_moves_nothing)
{
  Fixture f = { 0, };
  const struct
  {
    const gchar *name;
    gint action;
    guint duration;
    GQuark domain;
    gint code;
  } refused_commands[] = {
    {"garage", WSP_IO_RELAY_ACTION_PULSE, 0, 0, GST_RESOURCE_ERROR_NOT_FOUND},
    {"garage", WSP_IO_RELAY_ACTION_ON, 0, 0, GST_RESOURCE_ERROR_NOT_FOUND},
    {NULL, WSP_IO_RELAY_ACTION_PULSE, 0, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"", WSP_IO_RELAY_ACTION_PULSE, 0, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"door/../bell", WSP_IO_RELAY_ACTION_ON, 0, 0,
        GST_RESOURCE_ERROR_SETTINGS},
    {"door", WSP_IO_RELAY_ACTION_ON, 500, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"door", WSP_IO_RELAY_ACTION_OFF, 1, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"door", 7, 0, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"door", -1, 0, 0, GST_RESOURCE_ERROR_SETTINGS},
    {"door", WSP_IO_RELAY_ACTION_PULSE, (guint) G_MAXINT32 + 1, 0,
        GST_RESOURCE_ERROR_SETTINGS},
  };

  fixture_start (&f, NULL);
  expect_started (&f);

  for (guint i = 0; i < G_N_ELEMENTS (refused_commands); i++) {
    g_autoptr (GstMessage) msg = NULL;
    g_autoptr (GError) error = NULL;

    fail_if (command (f.h->element, refused_commands[i].name,
            refused_commands[i].action, refused_commands[i].duration),
        "command %u was carried out", i);
    msg = oi_test_pop_message (f.bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR
        | GST_MESSAGE_ELEMENT, OI_TEST_TIMEOUT);
    fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING,
        "no warning for command %u", i);
    gst_message_parse_warning (msg, &error, NULL);
    fail_unless (g_error_matches (error, GST_RESOURCE_ERROR,
            refused_commands[i].code), "command %u: %s", i, error->message);
    expect_no_relay_state (&f);
  }
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          BELL), 0);
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          DOOR), 0);

  /* Still running: a good command works. */
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_PULSE, 50));
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "door", FALSE, "pulse-end");
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_signal_max_on_time)
{
  Fixture f = { 0, };
  OiOutputChange on, off;

  fixture_start (&f, "max-on-time=200");
  expect_started (&f);

  /* "on" by signal is cut at max-on-time... */
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  on = expect_output (&f, BELL, TRUE);
  expect_relay_state (&f, "bell", TRUE, "command");
  off = expect_output (&f, BELL, FALSE);
  expect_relay_state (&f, "bell", FALSE, "max-on-time");
  fail_unless (off.timestamp - on.timestamp >= 200 * GST_MSECOND);
  fail_unless (off.timestamp - on.timestamp < 10 * GST_SECOND);

  /* ...so is a longer pulse... */
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_PULSE,
          60000));
  on = expect_output (&f, DOOR, TRUE);
  off = expect_output (&f, DOOR, FALSE);
  expect_relay_state (&f, "door", TRUE, "command");
  expect_relay_state (&f, "door", FALSE, "max-on-time");
  fail_unless (off.timestamp - on.timestamp >= 200 * GST_MSECOND);
  fail_unless (off.timestamp - on.timestamp < 10 * GST_SECOND);

  /* ...and signals mixed with buffers do not extend a relay past it. */
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_PULSE, 150));
  on = expect_output (&f, DOOR, TRUE);
  push_text (&f, "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", "
      "\"duration\": 150}]");
  fail_unless (command (f.h->element, "door", WSP_IO_RELAY_ACTION_ON, 0));
  off = expect_output (&f, DOOR, FALSE);
  fail_unless (off.timestamp - on.timestamp >= 200 * GST_MSECOND);
  fail_unless (off.timestamp - on.timestamp < 10 * GST_SECOND);
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_signal_only_while_running)
{
  Fixture f = { 0, };
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  GstElement *idle;

  /* Not started: refused, nothing requested. */
  chip = oi_test_new_chip (&spec);
  idle = gst_element_factory_make ("relaysink", NULL);
  g_object_set (idle, "chip", spec, "lines", "bell=5,door=6", NULL);
  fail_if (command (idle, "door", WSP_IO_RELAY_ACTION_PULSE, 0));
  fail_unless (!oi_gpio_sim_chip_is_requested (chip, DOOR));
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (chip,
          DOOR), 0);
  gst_object_unref (idle);

  /* After EOS, until a flush: refused, nothing moves. */
  fixture_start (&f, NULL);
  expect_started (&f);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  fail_if (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  expect_no_relay_state (&f);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_start ()));
  fail_if (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_stop (TRUE)));
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (f.chip,
          BELL), 0);
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  expect_relay_state (&f, "bell", TRUE, "command");

  /* PAUSED -> READY: off; refused in READY, where the lines are still open;
   * taken again from PAUSED. */
  fail_unless_equals_int (gst_element_set_state (f.h->element,
          GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  expect_relay_state (&f, "bell", FALSE, "stop");
  fail_unless (oi_gpio_sim_chip_is_requested (f.chip, BELL));
  fail_if (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  expect_no_relay_state (&f);
  fail_unless_equals_int (gst_element_set_state (f.h->element,
          GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  fail_unless (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  expect_relay_state (&f, "bell", TRUE, "command");

  /* Stopped: off, and refused again. */
  gst_element_set_state (f.h->element, GST_STATE_NULL);
  expect_relay_state (&f, "bell", FALSE, "stop");
  fail_if (command (f.h->element, "bell", WSP_IO_RELAY_ACTION_ON, 0));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  fixture_stop (&f);
}

GST_END_TEST;

typedef struct
{
  GstElement *sink;
  gint stop;
  gint done;                    /* commands carried out */
} Commander;

static gpointer
commander_thread (gpointer data)
{
  Commander *c = data;
  const gint actions[] = { WSP_IO_RELAY_ACTION_PULSE,
    WSP_IO_RELAY_ACTION_ON, WSP_IO_RELAY_ACTION_OFF
  };

  for (guint i = 0; !g_atomic_int_get (&c->stop); i++) {
    if (command (c->sink, i % 2 ? "bell" : "door", actions[i % 3],
            actions[i % 3] == WSP_IO_RELAY_ACTION_PULSE ? 1 : 0))
      g_atomic_int_inc (&c->done);
  }
  return NULL;
}

/* Waits until @c has carried out a command since @since. */
static void
wait_for_command (Commander * c, gint since)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

  while (g_atomic_int_get (&c->done) == since) {
    fail_unless (g_get_monotonic_time () < deadline,
        "no command carried out in 5 s");
    g_thread_yield ();
  }
}

/* Commands by signal from another thread while buffers render, pulses end
 * on the clock thread and the element starts and stops: no deadlock (the
 * test's timeout), no use after stop() (ASan), every relay off at the end. */
GST_START_TEST (test_signal_threads)
{
  Fixture f = { 0, };
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  Commander c = { 0, };
  GThread *thread;
  GstElement *sink;

  /* Against the render path. */
  fixture_start (&f, "max-on-time=5");
  c.sink = f.h->element;
  thread = g_thread_new ("commander", commander_thread, &c);
  for (guint i = 0; i < 200; i++) {
    fail_unless_equals_int (push_text (&f, i % 2 ?
            "[\"relay\", {\"name\": \"door\", \"action\": \"on\"}]" :
            "[\"relay\", {\"name\": \"bell\", \"action\": \"pulse\", "
            "\"duration\": 1}]"), GST_FLOW_OK);
  }
  wait_for_command (&c, 0);
  g_atomic_int_set (&c.stop, 1);
  g_thread_join (thread);
  gst_element_set_state (f.h->element, GST_STATE_NULL);
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, BELL));
  fail_unless (!oi_gpio_sim_chip_get_level (f.chip, DOOR));
  fixture_stop (&f);

  /* Against start and stop. */
  chip = oi_test_new_chip (&spec);
  sink = gst_element_factory_make ("relaysink", NULL);
  g_object_set (sink, "chip", spec, "lines", "bell=5,door=6",
      "max-on-time", 5, NULL);
  c.sink = sink;
  c.stop = 0;
  c.done = 0;
  thread = g_thread_new ("commander", commander_thread, &c);
  for (guint i = 0; i < 50; i++) {
    fail_unless_equals_int (gst_element_set_state (sink, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    wait_for_command (&c, g_atomic_int_get (&c.done));
    fail_unless_equals_int (gst_element_set_state (sink, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless (!oi_gpio_sim_chip_get_level (chip, BELL));
    fail_unless (!oi_gpio_sim_chip_get_level (chip, DOOR));
    fail_unless (!oi_gpio_sim_chip_is_requested (chip, DOOR));
  }
  g_atomic_int_set (&c.stop, 1);
  g_thread_join (thread);
  gst_object_unref (sink);
}

GST_END_TEST;

static Suite *
relaysink_suite (void)
{
  Suite *s = suite_create ("relaysink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_off_at_start);
  tcase_add_test (tc, test_active_low);
  tcase_add_test (tc, test_pulse_ends_by_itself);
  tcase_add_test (tc, test_off_cancels_pulse);
  tcase_add_test (tc, test_max_on_time);
  tcase_add_test (tc, test_off_at_stop);
  tcase_add_test (tc, test_stop_races_pulse_end);
  tcase_add_test (tc, test_off_at_eos_and_flush);
  tcase_add_test (tc, test_off_at_error);
  tcase_add_test (tc, test_refused_commands_move_nothing);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_properties_locked_while_open);
  tcase_add_test (tc, test_signal_pulse_on_off);
  tcase_add_test (tc, test_signal_refused_moves_nothing);
  tcase_add_test (tc, test_signal_max_on_time);
  tcase_add_test (tc, test_signal_only_while_running);
  tcase_add_test (tc, test_signal_threads);
  return s;
}

GST_CHECK_MAIN (relaysink);
