/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libopenintercom-gpio: line maps, the software debouncer (on synthetic
 * timestamps, no clock involved) and the simulated chip. Relay commands
 * are io messages: tests/check/libs/wsp/wspio.c. */
#include <gst/check/gstcheck.h>

#include "oitest.h"
#include "oigpio.h"

#define MS (G_GUINT64_CONSTANT (1000000))

GST_START_TEST (test_line_map)
{
  g_autoptr (OiGpioLineMap) map = NULL;
  g_autoptr (GError) error = NULL;
  const struct
  {
    const gchar *text;
    const gchar *message_part;
  } bad[] = {
    {"", "empty"},
    {"   ", "empty"},
    {"bell", "NAME=OFFSET"},
    {"bell=", "not a number"},
    {"bell=x", "not a number"},
    {"bell=-1", "not a number"},
    {"bell=4096", "not a number"},
    {"bell=17,", "NAME=OFFSET"},
    {"=17", "line name"},
    {"be ll=17", "line name"},
    {"bell\"=17", "line name"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", "line name"},
    {"bell=17,bell=18", "twice"},
    {"bell=17,in1=17", "twice"},
  };

  map = oi_gpio_line_map_parse (" bell = 17 ,in1=27,in_2-x=0", &error);
  fail_unless (map != NULL, "%s", error ? error->message : "");
  fail_unless_equals_int (map->n_lines, 3);
  fail_unless_equals_string (map->names[0], "bell");
  fail_unless_equals_int (map->offsets[0], 17);
  fail_unless_equals_string (map->names[2], "in_2-x");
  fail_unless_equals_int (map->offsets[2], 0);
  fail_unless_equals_int (oi_gpio_line_map_lookup (map, "in1"), 1);
  fail_unless_equals_int (oi_gpio_line_map_lookup (map, "in"), -1);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) e = NULL;

    fail_unless (oi_gpio_line_map_parse (bad[i].text, &e) == NULL,
        "accepted \"%s\"", bad[i].text);
    fail_unless (g_error_matches (e, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID));
    fail_unless (strstr (e->message, bad[i].message_part) != NULL,
        "\"%s\": %s", bad[i].text, e->message);
  }

  {
    g_autoptr (GString) many = g_string_new ("l0=0");
    g_autoptr (GError) e = NULL;

    for (guint i = 1; i < 65; i++)
      g_string_append_printf (many, ",l%u=%u", i, i);
    fail_unless (oi_gpio_line_map_parse (many->str, &e) == NULL);
  }
}

GST_END_TEST;

typedef struct
{
  guint line;
  gboolean level;
  guint64 timestamp;
} Report;

/* Everything the debouncer reports up to @now. */
static GArray *
drain (OiGpioDebouncer * d, guint64 now)
{
  GArray *reports = g_array_new (FALSE, FALSE, sizeof (Report));
  Report r;

  while (oi_gpio_debouncer_pop (d, now, &r.line, &r.level, &r.timestamp))
    g_array_append_val (reports, r);
  return reports;
}

static void
check_report (GArray * reports, guint i, guint line, gboolean level,
    guint64 timestamp)
{
  const Report *r;

  fail_unless (i < reports->len, "only %u reports", reports->len);
  r = &g_array_index (reports, Report, i);
  fail_unless_equals_int (r->line, line);
  fail_unless_equals_int (r->level, level);
  fail_unless_equals_uint64 (r->timestamp, timestamp);
}

#define US (G_GUINT64_CONSTANT (1000))

GST_START_TEST (test_debounce_bounces)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (2, 20 * MS, 2 * MS);
  g_autoptr (GArray) early = NULL;
  g_autoptr (GArray) bouncing = NULL;
  g_autoptr (GArray) press = NULL;
  g_autoptr (GArray) later = NULL;
  g_autoptr (GArray) release = NULL;
  g_autoptr (GArray) rest = NULL;

  oi_gpio_debouncer_reset (d, 0, FALSE);
  oi_gpio_debouncer_reset (d, 1, FALSE);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), G_MAXUINT64);

  /* A press bouncing for 8 ms (5 edges), read as it comes: the first edge
   * is due a glitch filter after it, not after the bouncing. */
  oi_gpio_debouncer_push (d, 0, TRUE, 1000 * MS);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), 1002 * MS);
  early = drain (d, 1001 * MS);
  fail_unless_equals_int (early->len, 0);
  oi_gpio_debouncer_push (d, 0, FALSE, 1000 * MS + 400 * US);
  oi_gpio_debouncer_push (d, 0, TRUE, 1000 * MS + 900 * US);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), 1002 * MS);
  bouncing = drain (d, 1002 * MS - 1);
  fail_unless_equals_int (bouncing->len, 0);

  /* One report, at once, stamped with the first edge. */
  press = drain (d, 1002 * MS);
  fail_unless_equals_int (press->len, 1);
  check_report (press, 0, 0, TRUE, 1000 * MS);

  /* The rest of the bouncing is masked: no report, and nothing to wake for
   * while the line is at its reported level. */
  oi_gpio_debouncer_push (d, 0, FALSE, 1003 * MS);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), 1020 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 1008 * MS);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), G_MAXUINT64);
  later = drain (d, 1050 * MS);
  fail_unless_equals_int (later->len, 0);

  /* The release bounces likewise, and gives one report. */
  oi_gpio_debouncer_push (d, 0, FALSE, 1100 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 1100 * MS + 300 * US);
  oi_gpio_debouncer_push (d, 0, FALSE, 1100 * MS + 600 * US);
  oi_gpio_debouncer_push (d, 0, TRUE, 1101 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 1101 * MS + 500 * US);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), 1102 * MS);
  release = drain (d, 1102 * MS);
  fail_unless_equals_int (release->len, 1);
  check_report (release, 0, 0, FALSE, 1100 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 1104 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 1108 * MS);
  rest = drain (d, 10000 * MS);
  fail_unless_equals_int (rest->len, 0);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), G_MAXUINT64);
}

GST_END_TEST;

GST_START_TEST (test_debounce_glitch)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (1, 20 * MS, 2 * MS);
  g_autoptr (GArray) spikes = NULL;
  g_autoptr (GArray) dip = NULL;

  /* Spikes shorter than the glitch filter, away from an idle line pulled
   * up, are no events, one or several, read at once or late. */
  oi_gpio_debouncer_reset (d, 0, TRUE);
  oi_gpio_debouncer_push (d, 0, FALSE, 100 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 101 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 200 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 200 * MS + 100 * US);
  oi_gpio_debouncer_push (d, 0, FALSE, 200 * MS + 1500 * US);
  oi_gpio_debouncer_push (d, 0, TRUE, 202 * MS - 1);
  spikes = drain (d, 10000 * MS);
  fail_unless_equals_int (spikes->len, 0);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), G_MAXUINT64);

  /* A 5 ms dip is longer than the filter: a change, whose end (inside the
   * mask) is reported when the mask ends. */
  oi_gpio_debouncer_push (d, 0, FALSE, 10100 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 10105 * MS);
  dip = drain (d, 20000 * MS);
  fail_unless_equals_int (dip->len, 2);
  check_report (dip, 0, 0, FALSE, 10100 * MS);
  check_report (dip, 1, 0, TRUE, 10120 * MS);
}

GST_END_TEST;

GST_START_TEST (test_debounce_release_in_mask)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (1, 20 * MS, 2 * MS);
  g_autoptr (GArray) press = NULL;
  g_autoptr (GArray) early = NULL;
  g_autoptr (GArray) release = NULL;
  g_autoptr (GArray) back = NULL;

  /* Pressed for 10 ms: the press at once, the release when the mask ends
   * (stamped then) and a glitch filter later, so the last report is the
   * line's real state. */
  oi_gpio_debouncer_reset (d, 0, FALSE);
  oi_gpio_debouncer_push (d, 0, TRUE, 100 * MS);
  press = drain (d, 102 * MS);
  fail_unless_equals_int (press->len, 1);
  check_report (press, 0, 0, TRUE, 100 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 110 * MS);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (d), 120 * MS);
  early = drain (d, 122 * MS - 1);
  fail_unless_equals_int (early->len, 0);
  release = drain (d, 122 * MS);
  fail_unless_equals_int (release->len, 1);
  check_report (release, 0, 0, FALSE, 120 * MS);

  /* A release that bounces back before the mask ends is no release: the
   * line is still pressed. */
  oi_gpio_debouncer_push (d, 0, TRUE, 200 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 205 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 219 * MS);
  back = drain (d, 1000 * MS);
  fail_unless_equals_int (back->len, 1);
  check_report (back, 0, 0, TRUE, 200 * MS);
}

GST_END_TEST;

typedef struct
{
  guint line;
  gboolean level;
  guint64 timestamp;
} Edge;

/* Runs @edges through a fresh debouncer, popping after each edge at its
 * time (@read_late: only once at the end) and returns every report. */
static GArray *
run_edges (const Edge * edges, guint n_edges, guint n_lines, gboolean read_late)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (n_lines, 20 * MS,
      2 * MS);
  GArray *reports = g_array_new (FALSE, FALSE, sizeof (Report));
  Report r;

  for (guint i = 0; i < n_lines; i++)
    oi_gpio_debouncer_reset (d, i, FALSE);
  for (guint i = 0; i < n_edges; i++) {
    oi_gpio_debouncer_push (d, edges[i].line, edges[i].level,
        edges[i].timestamp);
    while (!read_late && oi_gpio_debouncer_pop (d, edges[i].timestamp,
            &r.line, &r.level, &r.timestamp))
      g_array_append_val (reports, r);
  }
  while (oi_gpio_debouncer_pop (d, 10000 * MS, &r.line, &r.level,
          &r.timestamp))
    g_array_append_val (reports, r);
  return reports;
}

GST_START_TEST (test_debounce_interleaved)
{
  /* Three lines, their changes overlapping: a bouncing press and a release
   * inside its mask on line 0, a press between line 0's first edge and its
   * report on line 1, a press on line 2 just before line 0's mask ends. */
  const Edge edges[] = {
    {0, TRUE, 100 * MS},
    {0, FALSE, 100 * MS + 500 * US},
    {0, TRUE, 101 * MS},
    {1, TRUE, 101 * MS + 500 * US},
    {0, FALSE, 110 * MS},
    {2, TRUE, 119 * MS},
    {1, FALSE, 119 * MS + 500 * US},
  };

  for (guint late = 0; late < 2; late++) {
    g_autoptr (GArray) reports = run_edges (edges, G_N_ELEMENTS (edges), 3,
        late);

    /* In timestamp order, whenever they were read. */
    fail_unless_equals_int (reports->len, 5);
    check_report (reports, 0, 0, TRUE, 100 * MS);
    check_report (reports, 1, 1, TRUE, 101 * MS + 500 * US);
    check_report (reports, 2, 2, TRUE, 119 * MS);
    check_report (reports, 3, 0, FALSE, 120 * MS);
    check_report (reports, 4, 1, FALSE, 121 * MS + 500 * US);
  }
}

GST_END_TEST;

GST_START_TEST (test_debounce_filter_settings)
{
  g_autoptr (OiGpioDebouncer) none = oi_gpio_debouncer_new (1, 20 * MS, 0);
  g_autoptr (OiGpioDebouncer) short_mask = oi_gpio_debouncer_new (1, MS,
      2 * MS);
  g_autoptr (GArray) at_once = NULL;
  g_autoptr (GArray) masked = NULL;
  g_autoptr (GArray) reports = NULL;

  /* No glitch filter: the first edge is reported at its own time, and the
   * mask still holds the bounces. */
  oi_gpio_debouncer_reset (none, 0, FALSE);
  oi_gpio_debouncer_push (none, 0, TRUE, 100 * MS);
  fail_unless_equals_uint64 (oi_gpio_debouncer_next_deadline (none),
      100 * MS);
  at_once = drain (none, 100 * MS);
  fail_unless_equals_int (at_once->len, 1);
  check_report (at_once, 0, 0, TRUE, 100 * MS);
  oi_gpio_debouncer_push (none, 0, FALSE, 100 * MS + 100 * US);
  oi_gpio_debouncer_push (none, 0, TRUE, 101 * MS);
  masked = drain (none, 1000 * MS);
  fail_unless_equals_int (masked->len, 0);

  /* A mask shorter than the filter ends at the report: the next change is
   * the next edge's. */
  oi_gpio_debouncer_reset (short_mask, 0, FALSE);
  oi_gpio_debouncer_push (short_mask, 0, TRUE, 100 * MS);
  oi_gpio_debouncer_push (short_mask, 0, FALSE, 103 * MS);
  reports = drain (short_mask, 1000 * MS);
  fail_unless_equals_int (reports->len, 2);
  check_report (reports, 0, 0, TRUE, 100 * MS);
  check_report (reports, 1, 0, FALSE, 103 * MS);
}

GST_END_TEST;

GST_START_TEST (test_debounce_read_late)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (3, 10 * MS, 2 * MS);
  g_autoptr (GArray) reports = NULL;

  for (guint i = 0; i < 3; i++)
    oi_gpio_debouncer_reset (d, i, FALSE);

  /* Read late, in one batch: a press and release of line 0 that each held
   * for longer than the window are two reports, in time order with the
   * edges of the other lines. */
  oi_gpio_debouncer_push (d, 2, TRUE, 100 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 101 * MS);
  oi_gpio_debouncer_push (d, 1, TRUE, 102 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 150 * MS);
  oi_gpio_debouncer_push (d, 2, FALSE, 151 * MS);
  oi_gpio_debouncer_push (d, 1, FALSE, 152 * MS);

  reports = drain (d, 500 * MS);
  fail_unless_equals_int (reports->len, 6);
  check_report (reports, 0, 2, TRUE, 100 * MS);
  check_report (reports, 1, 0, TRUE, 101 * MS);
  check_report (reports, 2, 1, TRUE, 102 * MS);
  check_report (reports, 3, 0, FALSE, 150 * MS);
  check_report (reports, 4, 2, FALSE, 151 * MS);
  check_report (reports, 5, 1, FALSE, 152 * MS);
}

GST_END_TEST;

GST_START_TEST (test_debounce_zero)
{
  g_autoptr (OiGpioDebouncer) d = oi_gpio_debouncer_new (1, 0, 2 * MS);
  g_autoptr (GArray) reports = NULL;

  /* With no window every change counts, at once, even at the same
   * timestamp: the glitch filter is not used either. */
  oi_gpio_debouncer_reset (d, 0, FALSE);
  oi_gpio_debouncer_push (d, 0, TRUE, 5 * MS);
  oi_gpio_debouncer_push (d, 0, FALSE, 5 * MS);
  oi_gpio_debouncer_push (d, 0, TRUE, 6 * MS);
  reports = drain (d, 6 * MS);
  fail_unless_equals_int (reports->len, 3);
  check_report (reports, 0, 0, TRUE, 5 * MS);
  check_report (reports, 1, 0, FALSE, 5 * MS);
  check_report (reports, 2, 0, TRUE, 6 * MS);
}

GST_END_TEST;

GST_START_TEST (test_sim_chip)
{
  g_autofree gchar *spec = NULL;
  g_autoptr (OiGpioSimChip) chip = oi_test_new_chip (&spec);
  g_autoptr (OiGpioSimChip) same = NULL;
  g_autoptr (OiGpioRequest) inputs = NULL;
  g_autoptr (OiGpioRequest) outputs = NULL;
  g_autoptr (OiOutputWatch) watch = oi_output_watch_new (chip);
  g_autoptr (GError) error = NULL;
  const guint in_offsets[] = { 1, 2 };
  const guint out_offsets[] = { 3 };
  const gboolean off = FALSE, on = TRUE;
  OiGpioLineConfig in_config = {
    .direction = OI_GPIO_DIRECTION_INPUT,
    .bias = OI_GPIO_BIAS_PULL_UP,
    .n_lines = 2,
    .offsets = in_offsets,
    .consumer = "test",
  };
  OiGpioLineConfig out_config = {
    .direction = OI_GPIO_DIRECTION_OUTPUT,
    .n_lines = 1,
    .offsets = out_offsets,
    .initial_levels = &off,
    .consumer = "test",
  };
  OiGpioEdge edges[4];
  gboolean levels[2];
  OiOutputChange change;

  same = oi_gpio_sim_chip_get (oi_gpio_sim_chip_get_name (chip));
  fail_unless (same == chip);
  fail_unless (oi_gpio_chip_is_simulated (spec));
  fail_unless (oi_gpio_chip_is_simulated ("sim"));
  fail_if (oi_gpio_chip_is_simulated ("simx"));
  fail_if (oi_gpio_chip_is_simulated ("gpiochip0"));

  /* An undriven input follows its bias. */
  oi_gpio_sim_chip_set_input (chip, 2, FALSE);
  inputs = oi_gpio_request_lines (spec, &in_config, &error);
  fail_unless (inputs != NULL, "%s", error ? error->message : "");
  fail_unless (oi_gpio_request_get_levels (inputs, levels, NULL));
  fail_unless (levels[0]);
  fail_unless (!levels[1]);

  /* A requested line is busy. */
  fail_unless (oi_gpio_request_lines (spec, &in_config, &error) == NULL);
  fail_unless (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_BUSY));
  g_clear_error (&error);

  /* Edges wake the fd and carry their timestamps; none while idle. */
  fail_unless_equals_int (oi_gpio_request_read_edges (inputs, edges, 4, NULL),
      0);
  oi_gpio_sim_chip_set_input_full (chip, 2, TRUE, 42);
  oi_gpio_sim_chip_set_input_full (chip, 2, TRUE, 43);
  oi_gpio_sim_chip_set_input_full (chip, 1, FALSE, 44);
  {
    GPollFD pfd = { oi_gpio_request_get_fd (inputs), G_IO_IN, 0 };

    fail_unless_equals_int (g_poll (&pfd, 1, 0), 1);
  }
  fail_unless_equals_int (oi_gpio_request_read_edges (inputs, edges, 4, NULL),
      2);
  fail_unless_equals_int (edges[0].offset, 2);
  fail_unless (edges[0].level);
  fail_unless_equals_uint64 (edges[0].timestamp, 42);
  fail_unless_equals_int (edges[1].offset, 1);
  fail_unless (!edges[1].level);
  {
    GPollFD pfd = { oi_gpio_request_get_fd (inputs), G_IO_IN, 0 };

    fail_unless_equals_int (g_poll (&pfd, 1, 0), 0);
  }

  /* Outputs: the initial level, changes signalled, faults refused. */
  outputs = oi_gpio_request_lines (spec, &out_config, &error);
  fail_unless (outputs != NULL);
  fail_unless (oi_gpio_sim_chip_is_output (chip, 3));
  fail_unless (oi_gpio_request_set_levels (outputs, &on, NULL));
  fail_unless (oi_output_watch_next (watch, 3, 0, &change));
  fail_unless (change.level);
  fail_unless (oi_gpio_sim_chip_get_level (chip, 3));
  /* The outside world cannot move an output. */
  oi_gpio_sim_chip_set_input (chip, 3, FALSE);
  fail_unless (oi_gpio_sim_chip_get_level (chip, 3));
  oi_gpio_sim_chip_set_fault (chip, 3, TRUE);
  fail_if (oi_gpio_request_set_levels (outputs, &off, &error));
  fail_unless (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_IO));
  fail_unless (oi_gpio_sim_chip_get_level (chip, 3));
  fail_unless_equals_uint64 (oi_gpio_sim_chip_get_output_changes (chip, 3), 1);

  /* Released lines keep their level and are free again. */
  g_clear_pointer (&outputs, oi_gpio_request_release);
  fail_unless (!oi_gpio_sim_chip_is_requested (chip, 3));
  fail_unless (oi_gpio_sim_chip_get_level (chip, 3));

  g_clear_error (&error);
  fail_unless (oi_gpio_request_lines ("sim:", &in_config, &error) == NULL);
  fail_unless (g_error_matches (error, OI_GPIO_ERROR,
          OI_GPIO_ERROR_CHIP_NOT_FOUND));
}

GST_END_TEST;

/* Which backend takes a chip: the simulated one its two forms, libgpiod
 * (when built in) everything else, as before the backends were a table. */
GST_START_TEST (test_backends)
{
  const gchar *const not_sim[] = {
    "gpiochip0", "/dev/gpiochip0", "0", "pinctrl-bcm2711", "simx", "Sim",
    "sim2:x", "",
  };
  const guint offsets[] = { 1 };
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_INPUT,
    .n_lines = 1,
    .offsets = offsets,
    .consumer = "test",
  };
  const gchar *gpiod = oi_gpio_backend_for_chip ("gpiochip0");
  g_autoptr (GError) error = NULL;

  fail_unless_equals_string (oi_gpio_backend_for_chip ("sim"), "sim");
  fail_unless_equals_string (oi_gpio_backend_for_chip ("sim:door"), "sim");
  fail_unless_equals_string (oi_gpio_backend_for_chip ("sim:"), "sim");
  fail_unless (gpiod == NULL || g_str_equal (gpiod, "libgpiod"), "%s", gpiod);
  for (guint i = 0; i < G_N_ELEMENTS (not_sim); i++) {
    fail_if (oi_gpio_chip_is_simulated (not_sim[i]), "%s", not_sim[i]);
    fail_unless (g_strcmp0 (oi_gpio_backend_for_chip (not_sim[i]), gpiod) == 0,
        "\"%s\" goes to %s", not_sim[i],
        oi_gpio_backend_for_chip (not_sim[i]));
  }

  /* A chip no backend claims (only in a build without libgpiod) is not
   * found, and the message says what there is; with libgpiod, libgpiod
   * looks for it and does not find it. */
  fail_unless (oi_gpio_request_lines ("/dev/gpiochip-that-is-not-there",
          &config, &error) == NULL);
  fail_unless (g_error_matches (error, OI_GPIO_ERROR,
          OI_GPIO_ERROR_CHIP_NOT_FOUND), "%s", error->message);
  fail_unless (strstr (error->message, "/dev/gpiochip-that-is-not-there"));
  if (gpiod == NULL)
    fail_unless (strstr (error->message, "built without libgpiod, only "
            "simulated chips (\"sim\", \"sim:NAME\") are available"),
        "%s", error->message);
}

GST_END_TEST;

static Suite *
gpio_suite (void)
{
  Suite *s = suite_create ("gpio");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_line_map);
  tcase_add_test (tc, test_debounce_bounces);
  tcase_add_test (tc, test_debounce_glitch);
  tcase_add_test (tc, test_debounce_release_in_mask);
  tcase_add_test (tc, test_debounce_interleaved);
  tcase_add_test (tc, test_debounce_filter_settings);
  tcase_add_test (tc, test_debounce_read_late);
  tcase_add_test (tc, test_debounce_zero);
  tcase_add_test (tc, test_sim_chip);
  tcase_add_test (tc, test_backends);
  return s;
}

GST_CHECK_MAIN (gpio);
