/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the WSP library tests and the controller's router test. */
#pragma once

#include <gst/check/gstcheck.h>
#include <string.h>

#include "wspprotocol.h"

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

/* Long enough for the slowest case: a dead peer is noticed after up to
 * three keepalive intervals, and libsoup then waits 5 s for its close. */
#ifndef DEADLINE
#define DEADLINE (20 * G_USEC_PER_SEC)
#endif

static inline gboolean
keep_ticking (gpointer unused)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default context until @expr holds, or fails the test at the
 * deadline. The tick makes sure the loop wakes up to look at the clock. */
#define WAIT_FOR(expr)                                                  \
  G_STMT_START {                                                        \
    gint64 deadline_ = g_get_monotonic_time () + DEADLINE;              \
    guint tick_ = g_timeout_add (20, keep_ticking, NULL);               \
    while (!(expr) && g_get_monotonic_time () < deadline_)              \
      g_main_context_iteration (NULL, TRUE);                            \
    g_source_remove (tick_);                                            \
    fail_unless (expr, "timed out waiting for " #expr);                 \
  } G_STMT_END

/* Iterates the default context for @ms milliseconds, for checks that
 * something does *not* happen. */
static inline void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  guint tick = g_timeout_add (20, keep_ticking, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

/* A copy: the connection owns what it emits, and WspMessage has no copy
 * function of its own. */
static inline WspMessage *
message_copy (const WspMessage * message)
{
  g_autofree gchar *text = wsp_message_serialize (message);
  WspMessage *copy = NULL;

  fail_unless (text != NULL);
  fail_unless (wsp_message_parse (text, strlen (text), &copy, NULL));
  return copy;
}

/* main() of a suite that needs wss://: skipped (exit 77) without GIO's TLS
 * backend, glib-networking. */
#define WSP_TEST_TLS_MAIN(name)                                         \
  int                                                                   \
  main (int argc, char **argv)                                          \
  {                                                                     \
    gst_check_init (&argc, &argv);                                      \
    if (!g_tls_backend_supports_tls (g_tls_backend_get_default ())) {   \
      g_printerr ("no GIO TLS backend (glib-networking): skipped\n");   \
      return 77;                                                        \
    }                                                                   \
    return gst_check_run_suite (name##_suite (), #name, __FILE__);      \
  }
