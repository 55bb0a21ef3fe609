/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gpiosrc on the simulated chip: start-up states, edges, debounce (bounce
 * trains, glitches, a release inside the mask, at once, an edge that came
 * while a buffer was pushed), order, active-low,
 * edge filter, errors, and a prompt stop while it waits. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>

#include "oitest.h"
#include "oigpio.h"

#define LINES "bell=17,in1=27,in2=22"

#define US (G_GUINT64_CONSTANT (1000))
#define MS (G_GUINT64_CONSTANT (1000000))

typedef struct
{
  GstHarness *h;
  GstBus *bus;
  OiGpioSimChip *chip;
  gchar *spec;
} Fixture;

/* gpiosrc on @chip (a fresh simulated chip if NULL), with a bus to read
 * its messages. @props: extra "name=value" properties, or NULL. */
static void
fixture_start_on (Fixture * f, OiGpioSimChip * chip, const gchar * props)
{
  g_autofree gchar *desc = NULL;
  GstElement *src;

  if (chip != NULL) {
    f->chip = g_object_ref (chip);
    f->spec = g_strdup_printf ("sim:%s", oi_gpio_sim_chip_get_name (chip));
  } else {
    f->chip = oi_test_new_chip (&f->spec);
  }
  desc = g_strdup_printf ("gpiosrc chip=%s lines=" LINES " %s", f->spec,
      props ? props : "");
  src = gst_parse_launch (desc, NULL);
  fail_unless (src != NULL);
  f->bus = gst_bus_new ();
  gst_element_set_bus (src, f->bus);
  f->h = gst_harness_new_with_element (src, NULL, "src");
  gst_harness_play (f->h);
  gst_object_unref (src);
}

static void
fixture_start (Fixture * f, const gchar * props)
{
  fixture_start_on (f, NULL, props);
}

static void
fixture_stop (Fixture * f)
{
  gst_harness_teardown (f->h);
  gst_bus_set_flushing (f->bus, TRUE);
  gst_object_unref (f->bus);
  g_object_unref (f->chip);
  g_free (f->spec);
}

typedef struct
{
  gchar *name;
  gboolean active;
  gint64 time;
  guint64 seqnum;
  GstClockTime pts;
  gboolean discont;
} Event;

static void
event_clear (Event * e)
{
  g_clear_pointer (&e->name, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Event, event_clear)

/* Pulls the next buffer and parses its io `input` message. */
static void
pull_event (Fixture * f, Event * e)
{
  g_autoptr (GstBuffer) buf = gst_harness_pull (f->h);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  GstMapInfo info;
  JsonArray *array;
  JsonObject *content;

  fail_unless (buf != NULL);
  fail_unless (gst_buffer_map (buf, &info, GST_MAP_READ));
  fail_unless (info.size > 0 && info.data[info.size - 1] == '\n');
  fail_unless (json_parser_load_from_data (parser, (const gchar *) info.data,
          info.size, &error), "%s", error ? error->message : "");
  gst_buffer_unmap (buf, &info);

  array = json_node_get_array (json_parser_get_root (parser));
  fail_unless_equals_int (json_array_get_length (array), 2);
  fail_unless_equals_string (json_array_get_string_element (array, 0),
      "input");
  content = json_array_get_object_element (array, 1);
  fail_unless_equals_int (json_object_get_size (content), 3);
  e->name = g_strdup (json_object_get_string_member (content, "name"));
  e->active = json_object_get_boolean_member (content, "active");
  e->time = json_object_get_int_member (content, "time");
  e->seqnum = GST_BUFFER_OFFSET (buf);
  e->pts = GST_BUFFER_PTS (buf);
  e->discont = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT);
}

static void
expect_event (Fixture * f, const gchar * name, gboolean active,
    guint64 seqnum)
{
  g_auto (Event) e = { 0, };

  pull_event (f, &e);
  fail_unless_equals_string (e.name, name);
  fail_unless_equals_int (e.active, active);
  fail_unless_equals_uint64 (e.seqnum, seqnum);
}

/* Pulls the next event, which must be a change (not a start-up state) of
 * @name to @active that began at @timestamp (its gpio-event's
 * `timestamp`), and returns its PTS. Skips the messages of the start-up
 * states. */
static GstClockTime
expect_change (Fixture * f, const gchar * name, gboolean active,
    guint64 timestamp)
{
  g_auto (Event) e = { 0, };
  g_autoptr (GstMessage) msg = NULL;
  const GstStructure *s = NULL;
  gboolean initial = TRUE;
  gboolean msg_active;
  guint64 ts;

  pull_event (f, &e);
  fail_unless_equals_string (e.name, name);
  fail_unless_equals_int (e.active, active);
  while (initial) {
    gst_clear_message (&msg);
    msg = oi_test_pop_element_message (f->bus, "gpio-event", TRUE,
        OI_TEST_TIMEOUT);
    fail_unless (msg != NULL);
    s = gst_message_get_structure (msg);
    fail_unless (gst_structure_get_boolean (s, "initial", &initial));
  }
  fail_unless_equals_string (gst_structure_get_string (s, "name"), name);
  fail_unless (gst_structure_get (s, "active", G_TYPE_BOOLEAN, &msg_active,
          "timestamp", G_TYPE_UINT64, &ts, NULL));
  fail_unless_equals_int (msg_active, active);
  fail_unless_equals_uint64 (ts, timestamp);
  return e.pts;
}

static void
skip_initial (Fixture * f)
{
  expect_event (f, "bell", FALSE, 0);
  expect_event (f, "in1", FALSE, 1);
  expect_event (f, "in2", FALSE, 2);
}

GST_START_TEST (test_initial_state)
{
  Fixture f = { 0, };
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  g_auto (Event) e = { 0, };
  gint64 now_ms;

  /* in1 is already active before the element starts. */
  chip = oi_test_new_chip (&spec);
  oi_gpio_sim_chip_set_input (chip, 27, TRUE);
  fixture_start_on (&f, chip, NULL);

  now_ms = g_get_real_time () / 1000;
  pull_event (&f, &e);
  fail_unless_equals_string (e.name, "bell");
  fail_unless (!e.active);
  fail_unless_equals_uint64 (e.seqnum, 0);
  fail_unless (e.discont);
  fail_unless (e.time >= now_ms - 5000 && e.time <= now_ms + 5000);
  event_clear (&e);

  pull_event (&f, &e);
  fail_unless_equals_string (e.name, "in1");
  fail_unless (e.active);
  fail_unless_equals_uint64 (e.seqnum, 1);
  fail_unless (!e.discont);
  event_clear (&e);

  expect_event (&f, "in2", FALSE, 2);

  /* One gpio-event message per buffer, with every documented field. */
  for (guint i = 0; i < 3; i++) {
    g_autoptr (GstMessage) msg = oi_test_pop_element_message (f.bus,
        "gpio-event", TRUE, OI_TEST_TIMEOUT);
    const GstStructure *s;
    guint offset;
    gboolean active, initial;
    guint64 timestamp, seqnum;
    gint64 time;

    fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT);
    s = gst_message_get_structure (msg);
    fail_unless (gst_structure_get (s, "offset", G_TYPE_UINT, &offset,
            "active", G_TYPE_BOOLEAN, &active, "initial", G_TYPE_BOOLEAN,
            &initial, "timestamp", G_TYPE_UINT64, &timestamp, "time",
            G_TYPE_INT64, &time, "seqnum", G_TYPE_UINT64, &seqnum, NULL));
    fail_unless_equals_uint64 (seqnum, i);
    fail_unless (initial);
    fail_unless (timestamp <= oi_gpio_now ());
    if (i == 1) {
      fail_unless_equals_string (gst_structure_get_string (s, "name"), "in1");
      fail_unless_equals_int (offset, 27);
      fail_unless (active);
    }
  }
  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_edges)
{
  Fixture f = { 0, };
  g_autoptr (GstMessage) msg = NULL;
  const GstStructure *s;
  gboolean initial;

  fixture_start (&f, "debounce=0");
  skip_initial (&f);

  oi_gpio_sim_chip_set_input (f.chip, 17, TRUE);
  expect_event (&f, "bell", TRUE, 3);
  oi_gpio_sim_chip_set_input (f.chip, 17, FALSE);
  expect_event (&f, "bell", FALSE, 4);
  /* Driving a line to the level it has is no edge: the next event is the
   * next real one. */
  oi_gpio_sim_chip_set_input (f.chip, 22, FALSE);
  oi_gpio_sim_chip_set_input (f.chip, 22, TRUE);
  expect_event (&f, "in2", TRUE, 5);
  /* A line not in the map is not watched. */
  oi_gpio_sim_chip_set_input (f.chip, 3, TRUE);
  oi_gpio_sim_chip_set_input (f.chip, 27, TRUE);
  expect_event (&f, "in1", TRUE, 6);

  for (guint i = 0; i < 4; i++)
    gst_message_unref (oi_test_pop_element_message (f.bus, "gpio-event", TRUE,
            OI_TEST_TIMEOUT));
  msg = oi_test_pop_element_message (f.bus, "gpio-event", TRUE,
      OI_TEST_TIMEOUT);
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_get_boolean (s, "initial", &initial));
  fail_unless (!initial);
  fail_unless_equals_string (gst_structure_get_string (s, "name"), "bell");

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_debounce_bounces)
{
  Fixture f = { 0, };
  guint64 t0, t1;

  fixture_start (&f, "debounce=30 glitch-filter=2");
  skip_initial (&f);

  /* Read late, all at once: a press bouncing for 8 ms (5 edges), and 50 ms
   * later a release bouncing likewise. */
  t0 = oi_gpio_now () - 100 * MS;
  {
    const OiGpioEdge edges[] = {
      {17, TRUE, t0}, {17, FALSE, t0 + 400 * US}, {17, TRUE, t0 + 900 * US},
      {17, FALSE, t0 + 3 * MS}, {17, TRUE, t0 + 8 * MS},
      {17, FALSE, t0 + 50 * MS}, {17, TRUE, t0 + 50 * MS + 300 * US},
      {17, FALSE, t0 + 50 * MS + 600 * US}, {17, TRUE, t0 + 55 * MS},
      {17, FALSE, t0 + 58 * MS},
    };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }
  /* Then another line, so that the next event after the release shows
   * the bounces made no others. */
  t1 = oi_gpio_now ();
  oi_gpio_sim_chip_set_input_full (f.chip, 22, TRUE, t1);

  /* One press, one release, each stamped with its first edge. */
  expect_change (&f, "bell", TRUE, t0);
  expect_change (&f, "bell", FALSE, t0 + 50 * MS);
  expect_change (&f, "in2", TRUE, t1);

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_debounce_at_once)
{
  Fixture f = { 0, };
  guint64 t0, seen;

  /* A mask of 10 s: if the press waited for it, or for the bouncing to
   * stop for that long, the event would come 10 s late. */
  fixture_start (&f, "debounce=10000 glitch-filter=2");
  skip_initial (&f);

  /* A press now, bouncing (the later stamps are in the future: the source
   * takes them as when it read them). */
  t0 = oi_gpio_now ();
  {
    const OiGpioEdge edges[] = {
      {17, TRUE, t0}, {17, FALSE, t0 + 300 * US}, {17, TRUE, t0 + 600 * US},
    };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }
  expect_change (&f, "bell", TRUE, t0);
  seen = oi_gpio_now ();
  /* The glitch filter after the first edge, not before... */
  fail_unless (seen >= t0 + 2 * MS, "reported %" G_GUINT64_FORMAT " ns after "
      "the edge, before the glitch filter", seen - t0);
  /* ...and not the mask. */
  fail_unless (seen < t0 + 5 * GST_SECOND);

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_debounce_glitch)
{
  Fixture f = { 0, };
  guint64 t0, t1;

  fixture_start (&f, "debounce=30 glitch-filter=2");
  skip_initial (&f);

  /* A 1 ms spike and, 10 ms later, one of 1.9 ms: both shorter than the
   * glitch filter, and back to the reported level, so no events... */
  t0 = oi_gpio_now () - 50 * MS;
  {
    const OiGpioEdge edges[] = {
      {27, TRUE, t0}, {27, FALSE, t0 + 1 * MS},
      {27, TRUE, t0 + 10 * MS}, {27, FALSE, t0 + 11 * MS + 900 * US},
    };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }
  /* ...so the next event is this press on another line. */
  t1 = oi_gpio_now ();
  oi_gpio_sim_chip_set_input_full (f.chip, 22, TRUE, t1);
  expect_change (&f, "in2", TRUE, t1);

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_debounce_release_in_mask)
{
  Fixture f = { 0, };
  guint64 t0;

  fixture_start (&f, "debounce=30 glitch-filter=2");
  skip_initial (&f);

  /* A 5 ms press, 10 ms ago: the press at once; the release when the mask
   * ends, 30 ms after the press began, stamped then. */
  t0 = oi_gpio_now () - 10 * MS;
  {
    const OiGpioEdge edges[] = {
      {17, TRUE, t0}, {17, FALSE, t0 + 5 * MS},
    };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }
  expect_change (&f, "bell", TRUE, t0);
  expect_change (&f, "bell", FALSE, t0 + 30 * MS);
  fail_unless (oi_gpio_now () >= t0 + 32 * MS);

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_debounce_interleaved)
{
  Fixture f = { 0, };
  const struct
  {
    const gchar *name;
    gboolean active;
    guint64 began;
  } expected[] = {
    {"bell", TRUE, 0}, {"in1", TRUE, 1500 * US}, {"in2", TRUE, 19 * MS},
    {"bell", FALSE, 20 * MS}, {"in1", FALSE, 21 * MS + 500 * US},
  };
  GstClockTime last_pts = 0;
  guint64 t0;

  fixture_start (&f, "debounce=20 glitch-filter=2");
  skip_initial (&f);

  /* Three lines whose changes overlap: the bell bounces and is released
   * inside its mask, in1 is pressed between the bell's first edge and its
   * report and released inside its own mask, in2 is pressed just before
   * the bell's mask ends. */
  t0 = oi_gpio_now () - 100 * MS;
  {
    const OiGpioEdge edges[] = {
      {17, TRUE, t0}, {17, FALSE, t0 + 500 * US}, {17, TRUE, t0 + 1 * MS},
      {27, TRUE, t0 + 1500 * US}, {17, FALSE, t0 + 10 * MS},
      {22, TRUE, t0 + 19 * MS}, {27, FALSE, t0 + 19 * MS + 500 * US},
    };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }

  /* In the order the changes began, on every line. */
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    GstClockTime pts = expect_change (&f, expected[i].name,
        expected[i].active, t0 + expected[i].began);

    fail_unless (GST_CLOCK_TIME_IS_VALID (pts));
    fail_unless (pts >= last_pts, "PTS went back: %" GST_TIME_FORMAT
        " < %" GST_TIME_FORMAT, GST_TIME_ARGS (pts), GST_TIME_ARGS (last_pts));
    last_pts = pts;
  }
  fixture_stop (&f);
}

GST_END_TEST;

/* Holds the source's streaming thread inside its next push until released:
 * what a slow downstream or a preempted thread does between two buffers. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean holding;
  gboolean released;
} PushHold;

static GstPadProbeReturn
hold_push (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  PushHold *hold = data;

  g_mutex_lock (&hold->lock);
  hold->holding = TRUE;
  g_cond_broadcast (&hold->cond);
  while (!hold->released)
    g_cond_wait (&hold->cond, &hold->lock);
  g_mutex_unlock (&hold->lock);
  return GST_PAD_PROBE_REMOVE;
}

GST_START_TEST (test_debounce_edge_during_push)
{
  Fixture f = { 0, };
  PushHold hold = { 0, };
  g_autoptr (GstElement) src = NULL;
  g_autoptr (GstPad) pad = NULL;
  guint64 t0, look, t1;

  g_mutex_init (&hold.lock);
  g_cond_init (&hold.cond);
  fixture_start (&f, "debounce=400 glitch-filter=200");
  skip_initial (&f);
  src = gst_harness_find_element (f.h, "gpiosrc");
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, hold_push, &hold, NULL);

  /* In one read: a bell press long past its glitch filter (reported at
   * once) and the first edge of a spike on in1, whose look is 200 ms
   * later. The bell's buffer is held in its push... */
  t0 = oi_gpio_now ();
  look = t0 + 200 * MS;
  {
    const OiGpioEdge edges[] = { {17, TRUE, t0 - 300 * MS}, {27, TRUE, t0} };

    oi_gpio_sim_chip_set_inputs (f.chip, edges, G_N_ELEMENTS (edges));
  }
  g_mutex_lock (&hold.lock);
  while (!hold.holding)
    g_cond_wait (&hold.cond, &hold.lock);
  g_mutex_unlock (&hold.lock);

  /* ...and while it is, the spike ends before its look, and the look falls
   * due: the source has not read that edge yet when it next decides. The
   * clock is waited for because the moment is the input under test. */
  fail_unless (oi_gpio_now () < look, "the test thread was too slow for "
      "its 200 ms window");
  oi_gpio_sim_chip_set_input (f.chip, 27, FALSE);
  while (oi_gpio_now () <= look + 1 * MS)
    g_usleep (1000);
  g_mutex_lock (&hold.lock);
  hold.released = TRUE;
  g_cond_broadcast (&hold.cond);
  g_mutex_unlock (&hold.lock);

  /* The bell, then no in1 (a spike): the next event is in2's press. */
  expect_change (&f, "bell", TRUE, t0 - 300 * MS);
  t1 = oi_gpio_now ();
  oi_gpio_sim_chip_set_input_full (f.chip, 22, TRUE, t1);
  expect_change (&f, "in2", TRUE, t1);

  fixture_stop (&f);
  g_mutex_clear (&hold.lock);
  g_cond_clear (&hold.cond);
}

GST_END_TEST;

GST_START_TEST (test_order_and_timestamps)
{
  Fixture f = { 0, };
  const struct
  {
    guint offset;
    const gchar *name;
    gboolean level;
  } seq[] = {
    {22, "in2", TRUE}, {17, "bell", TRUE}, {27, "in1", TRUE},
    {17, "bell", FALSE}, {22, "in2", FALSE}, {27, "in1", FALSE},
  };
  GstClockTime last_pts = 0;
  guint64 t0;

  fixture_start (&f, "debounce=0");
  skip_initial (&f);

  /* Edges queued together, in time order across three lines. */
  t0 = oi_gpio_now () - 10 * GST_MSECOND;
  for (guint i = 0; i < G_N_ELEMENTS (seq); i++)
    oi_gpio_sim_chip_set_input_full (f.chip, seq[i].offset, seq[i].level,
        t0 + i * GST_MSECOND);

  for (guint i = 0; i < G_N_ELEMENTS (seq); i++) {
    g_auto (Event) e = { 0, };

    pull_event (&f, &e);
    fail_unless_equals_string (e.name, seq[i].name);
    fail_unless_equals_int (e.active, seq[i].level);
    fail_unless_equals_uint64 (e.seqnum, 3 + i);
    fail_unless (GST_CLOCK_TIME_IS_VALID (e.pts));
    fail_unless (e.pts >= last_pts, "PTS went back: %" GST_TIME_FORMAT
        " < %" GST_TIME_FORMAT, GST_TIME_ARGS (e.pts),
        GST_TIME_ARGS (last_pts));
    last_pts = e.pts;
  }

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_active_low)
{
  Fixture f = { 0, };

  /* Idle inputs pulled up read high: active-low makes them inactive. */
  fixture_start (&f, "debounce=0 active-low=true bias=pull-up");
  skip_initial (&f);

  oi_gpio_sim_chip_set_input (f.chip, 17, FALSE);
  expect_event (&f, "bell", TRUE, 3);
  oi_gpio_sim_chip_set_input (f.chip, 17, TRUE);
  expect_event (&f, "bell", FALSE, 4);

  fixture_stop (&f);
}

GST_END_TEST;

GST_START_TEST (test_edges_rising_only)
{
  Fixture f = { 0, };

  fixture_start (&f, "debounce=0 edges=rising");
  skip_initial (&f);

  oi_gpio_sim_chip_set_input (f.chip, 17, TRUE);
  oi_gpio_sim_chip_set_input (f.chip, 17, FALSE);
  oi_gpio_sim_chip_set_input (f.chip, 27, TRUE);
  expect_event (&f, "bell", TRUE, 3);
  expect_event (&f, "in1", TRUE, 4);

  fixture_stop (&f);
}

GST_END_TEST;

/* Sets @desc to PAUSED and returns the first error posted. */
static GstMessage *
start_expecting_error (const gchar * desc)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (desc, NULL);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = oi_test_pop_message (bus, GST_MESSAGE_ERROR, OI_TEST_TIMEOUT);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return msg;
}

static void
check_error (const gchar * desc, GQuark domain, gint code,
    const gchar * text_part)
{
  g_autoptr (GstMessage) msg = start_expecting_error (desc);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;

  fail_unless (msg != NULL, "no error for %s", desc);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (g_error_matches (error, domain, code), "%s: %s", desc,
      error->message);
  fail_unless (strstr (error->message, text_part) != NULL ||
      strstr (debug, text_part) != NULL, "%s: \"%s\" not in %s / %s", desc,
      text_part, error->message, debug);
}

GST_START_TEST (test_errors)
{
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  g_autofree gchar *desc = NULL;
  g_autoptr (GstElement) holder = NULL;

  chip = oi_test_new_chip (&spec);

  /* A missing line names the line; a missing chip names the chip. */
  desc = g_strdup_printf ("gpiosrc chip=%s lines=bell=17,in1=99 ! fakesink",
      spec);
  check_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "\"in1\" (99)");
  check_error ("gpiosrc chip=sim: ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "sim:");
  check_error ("gpiosrc chip=/dev/gpiochip-that-is-not-there ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "/dev/gpiochip-that-is-not-there");
  check_error ("gpiosrc chip=sim lines=bell=17,bell=18 ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "twice");
  check_error ("gpiosrc chip=sim lines=\"\" ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "empty");

  /* A line another element holds is busy, as on a kernel chip. */
  g_free (desc);
  desc = g_strdup_printf ("gpiosrc chip=%s lines=bell=5 ! fakesink", spec);
  holder = gst_parse_launch (desc, NULL);
  fail_unless_equals_int (gst_element_set_state (holder, GST_STATE_PAUSED),
      GST_STATE_CHANGE_NO_PREROLL);
  fail_unless (oi_gpio_sim_chip_is_requested (chip, 5));
  check_error (desc, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY, "busy");
  gst_element_set_state (holder, GST_STATE_NULL);
  fail_unless (!oi_gpio_sim_chip_is_requested (chip, 5));
}

GST_END_TEST;

GST_START_TEST (test_properties_locked_while_open)
{
  Fixture f = { 0, };
  g_autofree gchar *lines = NULL;
  guint glitch_filter;
  GstElement *src;

  fixture_start (&f, NULL);
  src = f.h->element;
  g_object_set (src, "lines", "bell=1", "chip", "sim:other",
      "glitch-filter", 7, NULL);
  g_object_get (src, "lines", &lines, "glitch-filter", &glitch_filter, NULL);
  fail_unless_equals_string (lines, LINES);
  fail_unless_equals_int (glitch_filter, 2);
  fixture_stop (&f);
}

GST_END_TEST;

typedef struct
{
  GstElement *pipeline;
  GMutex lock;
  GCond cond;
  gboolean done;
  GstStateChangeReturn ret;
} StopJob;

static gpointer
stop_thread (gpointer data)
{
  StopJob *job = data;
  GstStateChangeReturn ret = gst_element_set_state (job->pipeline,
      GST_STATE_NULL);

  g_mutex_lock (&job->lock);
  job->ret = ret;
  job->done = TRUE;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
  return NULL;
}

GST_START_TEST (test_null_while_waiting)
{
  g_autoptr (OiGpioSimChip) chip = NULL;
  g_autofree gchar *spec = NULL;
  g_autofree gchar *desc = NULL;
  g_autoptr (GstBus) bus = NULL;
  StopJob job = { 0, };
  GThread *thread;
  gint64 deadline;

  chip = oi_test_new_chip (&spec);
  desc = g_strdup_printf ("gpiosrc chip=%s lines=" LINES " debounce=10000 "
      "! fakesink", spec);
  job.pipeline = gst_parse_launch (desc, NULL);
  bus = gst_element_get_bus (job.pipeline);
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);

  gst_element_set_state (job.pipeline, GST_STATE_PLAYING);
  /* After the three start-up states it waits on the fd; a press, and its
   * release inside the 10 s mask, make it wait on a timeout too (the end
   * of the mask, when the release is reported). */
  for (guint i = 0; i < 3; i++)
    gst_message_unref (oi_test_pop_element_message (bus, "gpio-event", TRUE,
            OI_TEST_TIMEOUT));
  oi_gpio_sim_chip_set_input (chip, 17, TRUE);
  gst_message_unref (oi_test_pop_element_message (bus, "gpio-event", TRUE,
          OI_TEST_TIMEOUT));
  oi_gpio_sim_chip_set_input (chip, 17, FALSE);

  thread = g_thread_new ("stop", stop_thread, &job);
  deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&job.lock);
  while (!job.done && g_cond_wait_until (&job.cond, &job.lock, deadline));
  g_mutex_unlock (&job.lock);
  fail_unless (job.done, "setting NULL hangs while gpiosrc waits");
  g_thread_join (thread);
  fail_unless_equals_int (job.ret, GST_STATE_CHANGE_SUCCESS);
  fail_unless (!oi_gpio_sim_chip_is_requested (chip, 17));

  gst_object_unref (job.pipeline);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
}

GST_END_TEST;

static Suite *
gpiosrc_suite (void)
{
  Suite *s = suite_create ("gpiosrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_initial_state);
  tcase_add_test (tc, test_edges);
  tcase_add_test (tc, test_debounce_bounces);
  tcase_add_test (tc, test_debounce_at_once);
  tcase_add_test (tc, test_debounce_glitch);
  tcase_add_test (tc, test_debounce_release_in_mask);
  tcase_add_test (tc, test_debounce_interleaved);
  tcase_add_test (tc, test_debounce_edge_during_push);
  tcase_add_test (tc, test_order_and_timestamps);
  tcase_add_test (tc, test_active_low);
  tcase_add_test (tc, test_edges_rising_only);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_properties_locked_while_open);
  tcase_add_test (tc, test_null_while_waiting);
  return s;
}

GST_CHECK_MAIN (gpiosrc);
