/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the WSP library tests. */
#pragma once

#include <gst/check/gstcheck.h>

/* gstcheck watches criticals of its own log domains only; give the
 * library's ("wsp") the same bookkeeping, so that ASSERT_CRITICAL works and
 * an unexpected critical fails the test. */
static void
wsp_test_log_critical (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer user_data)
{
  if (!_gst_check_expecting_log)
    fail ("Unexpected critical: %s", message);
  _gst_check_raised_critical = TRUE;
}

static inline void
wsp_test_watch_criticals (void)
{
  g_log_set_handler ("wsp", G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING
      | G_LOG_FLAG_FATAL, wsp_test_log_critical, NULL);
}
