/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libgpiod backend on a real kernel GPIO chip. Skipped (exit 77) where
 * the kernel has none.
 *
 * On any chip it checks, without requesting a line, that a missing line is
 * reported as NOT_FOUND. Lines are only driven on a chip made for testing:
 * a gpio-sim chip (label "gpio-sim.N-node0" and similar) or a gpio-mockup
 * chip, found through sysfs and debugfs, or the chip named in
 * OI_GPIO_TEST_CHIP (for a board where you wired lines for it; also set
 * OI_GPIO_TEST_DRIVE to a directory whose files "<offset>" set a line's
 * input level when written "0" or "1"). Lines 0 and 1 are inputs, 2 an
 * output.
 *
 *   modprobe gpio-mockup gpio_mockup_ranges=-1,8   # then run this test
 */
#include <gst/check/gstcheck.h>

#include "oigpio.h"

#include <glob.h>

static gchar *test_chip;        /* a chip to request lines on, or NULL */
static gchar *drive_dir;        /* where the lines' input files are */
static gboolean drive_pull;     /* gpio-sim: sim_gpioN/pull, "pull-up" */
static gchar *any_chip;         /* any chip at all */

/* Finds how the kernel lets us drive the inputs of chip @name:
 * gpio-mockup in debugfs, gpio-sim in sysfs. */
static gboolean
find_driver (const gchar * name)
{
  g_autofree gchar *mockup =
      g_strdup_printf ("/sys/kernel/debug/gpio-mockup/%s", name);
  g_autofree gchar *sim_glob =
      g_strdup_printf ("/sys/devices/platform/gpio-sim.*/%s", name);
  glob_t paths;

  if (g_file_test (mockup, G_FILE_TEST_IS_DIR)) {
    drive_dir = g_steal_pointer (&mockup);
    return TRUE;
  }
  if (glob (sim_glob, 0, NULL, &paths) == 0) {
    drive_dir = g_strdup (paths.gl_pathv[0]);
    drive_pull = TRUE;
    globfree (&paths);
    return TRUE;
  }
  return FALSE;
}

static void
find_chips (void)
{
  glob_t paths;

  test_chip = g_strdup (g_getenv ("OI_GPIO_TEST_CHIP"));
  if (test_chip != NULL && g_getenv ("OI_GPIO_TEST_DRIVE") != NULL)
    drive_dir = g_strdup (g_getenv ("OI_GPIO_TEST_DRIVE"));

  if (glob ("/dev/gpiochip*", 0, NULL, &paths) != 0)
    return;
  any_chip = g_strdup (paths.gl_pathv[0]);
  for (gsize i = 0; i < paths.gl_pathc && test_chip == NULL; i++) {
    g_autofree gchar *name = g_path_get_basename (paths.gl_pathv[i]);

    if (find_driver (name))
      test_chip = g_strdup (paths.gl_pathv[i]);
  }
  globfree (&paths);
}

static void
drive (guint offset, gboolean level)
{
  g_autofree gchar *path = drive_pull ?
      g_strdup_printf ("%s/sim_gpio%u/pull", drive_dir, offset) :
      g_strdup_printf ("%s/%u", drive_dir, offset);
  const gchar *text = drive_pull ? (level ? "pull-up" : "pull-down")
      : (level ? "1" : "0");
  g_autoptr (GError) error = NULL;

  fail_unless (g_file_set_contents (path, text, -1, &error), "%s",
      error ? error->message : "");
}

GST_START_TEST (test_missing_line)
{
  g_autoptr (GError) error = NULL;
  const guint offset = 4095;
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_INPUT,
    .n_lines = 1,
    .offsets = &offset,
    .consumer = "oi-test",
  };

  fail_unless (oi_gpio_request_lines (any_chip, &config, &error) == NULL);
  fail_unless (g_error_matches (error, OI_GPIO_ERROR,
          OI_GPIO_ERROR_LINE_NOT_FOUND), "%s", error->message);
}

GST_END_TEST;

GST_START_TEST (test_edges)
{
  g_autoptr (OiGpioRequest) request = NULL;
  g_autoptr (GError) error = NULL;
  const guint offsets[] = { 0, 1 };
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_INPUT,
    .n_lines = 2,
    .offsets = offsets,
    .consumer = "oi-test",
  };
  gboolean levels[2];
  OiGpioEdge edges[8];
  GPollFD pfd;
  gint n;

  drive (1, FALSE);
  request = oi_gpio_request_lines (test_chip, &config, &error);
  fail_unless (request != NULL, "%s", error ? error->message : "");
  fail_unless (oi_gpio_request_get_levels (request, levels, &error));
  fail_unless (!levels[1]);

  drive (1, TRUE);
  pfd.fd = oi_gpio_request_get_fd (request);
  pfd.events = G_IO_IN;
  fail_unless_equals_int (g_poll (&pfd, 1, 5000), 1);
  n = oi_gpio_request_read_edges (request, edges, G_N_ELEMENTS (edges),
      &error);
  fail_unless (n >= 1, "%s", error ? error->message : "no edge");
  fail_unless_equals_int (edges[n - 1].offset, 1);
  fail_unless (edges[n - 1].level);
  fail_unless (edges[n - 1].timestamp <= oi_gpio_now ());
  drive (1, FALSE);
}

GST_END_TEST;

GST_START_TEST (test_outputs)
{
  g_autoptr (OiGpioRequest) request = NULL;
  g_autoptr (GError) error = NULL;
  const guint offset = 2;
  gboolean level = FALSE;
  OiGpioLineConfig config = {
    .direction = OI_GPIO_DIRECTION_OUTPUT,
    .n_lines = 1,
    .offsets = &offset,
    .initial_levels = &level,
    .consumer = "oi-test",
  };

  request = oi_gpio_request_lines (test_chip, &config, &error);
  fail_unless (request != NULL, "%s", error ? error->message : "");
  level = TRUE;
  fail_unless (oi_gpio_request_set_levels (request, &level, &error));
  level = FALSE;
  fail_unless (oi_gpio_request_get_levels (request, &level, &error));
  fail_unless (level);
  level = FALSE;
  fail_unless (oi_gpio_request_set_levels (request, &level, &error));

  /* The line is ours until released. */
  fail_unless (oi_gpio_request_lines (test_chip, &config, &error) == NULL);
  fail_unless (g_error_matches (error, OI_GPIO_ERROR, OI_GPIO_ERROR_BUSY));
}

GST_END_TEST;

static Suite *
gpiod_hardware_suite (void)
{
  Suite *s = suite_create ("gpiod-hardware");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_missing_line);
  if (test_chip != NULL && drive_dir != NULL) {
    tcase_add_test (tc, test_edges);
    tcase_add_test (tc, test_outputs);
  } else {
    g_print ("no test chip (gpio-mockup or OI_GPIO_TEST_CHIP): lines are "
        "not driven on %s\n", any_chip);
  }
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;

  gst_check_init (&argc, &argv);
  find_chips ();
  if (any_chip == NULL) {
    g_print ("no kernel GPIO chip here: skipped\n");
    return 77;
  }

  s = gpiod_hardware_suite ();
  return gst_check_run_suite (s, "gpiod-hardware", __FILE__);
}
