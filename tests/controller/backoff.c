/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Login rate limiting (controller/backoff.c): exact waits, with time
 * passed in, so no test sleeps. */

#include "backoff.h"

/* A large start, so that a µs/ms mix-up or a 32-bit truncation shows. */
#define T0 (G_GINT64_CONSTANT (1000000000000))
#define MS(ms) ((gint64) (ms) * G_TIME_SPAN_MILLISECOND)

static void
test_free_failures (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (3, 1000, 60000, 600000, 100);

  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0), ==, 0);
  for (guint i = 0; i < 3; i++) {
    g_assert_cmpuint (oi_backoff_fail (b, "alice", T0 + i), ==, 0);
    g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + i), ==, 0);
  }
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0 + 3), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 3), ==, 1000);
}

static void
test_doubling_capped (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (2, 1000, 30000, 600000, 100);
  const guint expected[] = { 0, 0, 1000, 2000, 4000, 8000, 16000, 30000,
    30000, 30000
  };
  gint64 now = T0;

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    g_assert_cmpuint (oi_backoff_fail (b, "alice", now), ==, expected[i]);
    g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", now), ==, expected[i]);
    /* Each attempt once the wait is over, as a patient client would. */
    now += MS (expected[i]);
    g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", now), ==, 0);
  }
}

/* A cap that is not a power of two times the base: the doubling stops at
 * it, it does not jump past. */
static void
test_cap_not_a_multiple (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 300, 1000, 600000, 100);

  g_assert_cmpuint (oi_backoff_fail (b, "k", T0), ==, 300);
  g_assert_cmpuint (oi_backoff_fail (b, "k", T0), ==, 600);
  g_assert_cmpuint (oi_backoff_fail (b, "k", T0), ==, 1000);
  g_assert_cmpuint (oi_backoff_fail (b, "k", T0), ==, 1000);
}

static void
test_countdown_rounds_up (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 600000, 100);

  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 1), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 999), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 1000), ==, 999);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 1001), ==, 999);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (400)), ==, 600);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (1000) - 1), ==, 1);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (1000)), ==, 0);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (1000) + 1), ==, 0);

  /* The next wait counts from the next failure, not the first one. */
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0 + MS (5000)), ==, 2000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (6000)), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (7000) - 1), ==, 1);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (7000)), ==, 0);
}

static void
test_success_clears (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (1, 1000, 60000, 600000, 100);

  oi_backoff_fail (b, "alice", T0);
  oi_backoff_fail (b, "alice", T0);
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 2000);
  oi_backoff_succeed (b, "alice");
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 0);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0), ==, 0);
  /* The count starts again, free failures included. */
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 0);
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 1000);

  /* A key never seen: nothing to do. */
  oi_backoff_succeed (b, "bob");
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
}

static void
test_forget_prune (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 4000, 10000, 100);

  oi_backoff_fail (b, "alice", T0);
  oi_backoff_fail (b, "alice", T0);
  oi_backoff_fail (b, "bob", T0 + MS (5000));

  oi_backoff_prune (b, T0 + MS (10000) - 1);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 2);
  oi_backoff_prune (b, T0 + MS (10000));
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
  /* Forgotten: the count starts again. */
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0 + MS (10000)), ==, 1000);
  /* bob is not: his second failure doubles. */
  g_assert_cmpuint (oi_backoff_fail (b, "bob", T0 + MS (14999)), ==, 2000);
  oi_backoff_prune (b, T0 + MS (24999) - 1);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
  oi_backoff_prune (b, T0 + MS (24999));
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 0);
}

static void
test_forget_lazily (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 4000, 10000, 100);

  oi_backoff_fail (b, "alice", T0);
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 2000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (10000) - 1), ==,
      0);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (10000)), ==, 0);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 0);

  /* And by a failure after forget_ms, without a lookup or a prune first. */
  oi_backoff_fail (b, "bob", T0);
  g_assert_cmpuint (oi_backoff_fail (b, "bob", T0), ==, 2000);
  g_assert_cmpuint (oi_backoff_fail (b, "bob", T0 + MS (10000) - 1), ==, 4000);
  g_assert_cmpuint (oi_backoff_fail (b, "bob", T0 + MS (20000) - 1), ==, 1000);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
}

static void
test_keys_independent (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 600000, 100);

  oi_backoff_fail (b, "alice", T0);
  oi_backoff_fail (b, "alice", T0);
  g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 4000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "bob", T0), ==, 0);
  g_assert_cmpuint (oi_backoff_fail (b, "bob", T0 + MS (1)), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (1)), ==, 3999);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "bob", T0 + MS (1)), ==, 1000);
  oi_backoff_succeed (b, "bob");
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + MS (1)), ==, 3999);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1);
}

static void
test_evicts_oldest (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 600000, 3);

  oi_backoff_fail (b, "a", T0);
  oi_backoff_fail (b, "b", T0 + 1);
  oi_backoff_fail (b, "c", T0 + 2);
  /* a's failure is now the newest: b is the oldest. */
  g_assert_cmpuint (oi_backoff_fail (b, "a", T0 + 3), ==, 2000);
  oi_backoff_fail (b, "d", T0 + 4);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 3);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "b", T0 + 4), ==, 0);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "a", T0 + 4), ==, 2000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "c", T0 + 4), ==, 1000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "d", T0 + 4), ==, 1000);

  /* A failure of a kept key evicts nothing. */
  oi_backoff_fail (b, "c", T0 + 5);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 3);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "a", T0 + 5), ==, 2000);
  /* Now a is the oldest. */
  oi_backoff_fail (b, "e", T0 + 6);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "a", T0 + 6), ==, 0);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "c", T0 + 6), ==, 2000);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 3);
}

/* A new key first drops every forgotten record, not only the oldest. */
static void
test_forgotten_make_room (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 10000, 3);

  oi_backoff_fail (b, "a", T0);
  oi_backoff_fail (b, "b", T0 + MS (1));
  oi_backoff_fail (b, "c", T0 + MS (6000));
  oi_backoff_fail (b, "d", T0 + MS (10001));
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 2);
  /* c is kept: its count goes on. */
  g_assert_cmpuint (oi_backoff_fail (b, "c", T0 + MS (10001)), ==, 2000);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 2);
}

static const gchar *
address (gchar * buf, gsize size, guint i)
{
  g_snprintf (buf, size, "10.%u.%u.%u", i >> 16, (i >> 8) & 0xff, i & 0xff);
  return buf;
}

static void
test_spray_bounded (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 600000, 1000);
  gchar key[32];
  gint64 end = T0 + 99999;

  for (guint i = 0; i < 100000; i++) {
    g_assert_cmpuint (oi_backoff_fail (b, address (key, sizeof key, i),
            T0 + i), ==, 1000);
    g_assert_cmpuint (oi_backoff_count_keys (b), ==, MIN (i + 1, 1000));
  }
  /* The last 1000 are kept, with their waits; those before are gone, and
   * looking them up adds nothing. */
  for (guint i = 0; i < 100000; i++)
    g_assert_cmpuint (oi_backoff_wait_ms (b, address (key, sizeof key, i),
            end), ==, i < 99000 ? 0 : 1000);
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 1000);
}

static void
test_no_overflow (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (5, 1000, 3600000, 86400000, 10);
  g_autoptr (OiBackoff) big = oi_backoff_new (0, G_MAXUINT, G_MAXUINT,
      G_MAXUINT, 10);
  guint wait = 0;

  for (guint i = 0; i < 1000; i++)
    wait = oi_backoff_fail (b, "alice", T0 + i);
  g_assert_cmpuint (wait, ==, 3600000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 999), ==, 3600000);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice",
          T0 + 999 + MS (3600000) - 1), ==, 1);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0 + 999 + MS (3600000)),
      ==, 0);

  /* 1000 << 22 overflows 32 bits, a shift by 64 or more is undefined (x86
   * takes it modulo 64): every failure still waits max_ms, never less. */
  for (guint i = 0; i < 200; i++) {
    guint n = i + 1;
    guint expected = n <= 5 ? 0 : n - 6 < 12 ? MIN (1000u << (n - 6), 3600000)
        : 3600000;

    g_assert_cmpuint (oi_backoff_fail (b, "bob", T0), ==, expected);
  }

  /* The largest wait there is, in µs, fits. */
  g_assert_cmpuint (oi_backoff_fail (big, "alice", T0), ==, G_MAXUINT);
  g_assert_cmpuint (oi_backoff_fail (big, "alice", T0), ==, G_MAXUINT);
  g_assert_cmpuint (oi_backoff_wait_ms (big, "alice", T0 + 1), ==, G_MAXUINT);
}

/* No base: failures are counted but never wait. */
static void
test_zero_base (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 0, 0, 600000, 10);

  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (oi_backoff_fail (b, "alice", T0), ==, 0);
  g_assert_cmpuint (oi_backoff_wait_ms (b, "alice", T0), ==, 0);
}

static void
test_bad_arguments (void)
{
  g_autoptr (OiBackoff) b = oi_backoff_new (0, 1000, 60000, 600000, 10);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
      "*base_ms <= max_ms*");
  g_assert_null (oi_backoff_new (0, 2000, 1000, 600000, 10));
  g_test_assert_expected_messages ();

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*max_keys > 0*");
  g_assert_null (oi_backoff_new (0, 1000, 1000, 600000, 0));
  g_test_assert_expected_messages ();

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*key != NULL*");
  g_assert_cmpuint (oi_backoff_fail (b, NULL, T0), ==, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (oi_backoff_count_keys (b), ==, 0);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
      "*backoff != NULL*");
  g_assert_cmpuint (oi_backoff_wait_ms (NULL, "alice", T0), ==, 0);
  g_test_assert_expected_messages ();

  /* NULL is a no-op for the free function, as for g_free(). */
  oi_backoff_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/backoff/free-failures", test_free_failures);
  g_test_add_func ("/backoff/doubling-capped", test_doubling_capped);
  g_test_add_func ("/backoff/cap-not-a-multiple", test_cap_not_a_multiple);
  g_test_add_func ("/backoff/countdown-rounds-up", test_countdown_rounds_up);
  g_test_add_func ("/backoff/success-clears", test_success_clears);
  g_test_add_func ("/backoff/forget-prune", test_forget_prune);
  g_test_add_func ("/backoff/forget-lazily", test_forget_lazily);
  g_test_add_func ("/backoff/keys-independent", test_keys_independent);
  g_test_add_func ("/backoff/evicts-oldest", test_evicts_oldest);
  g_test_add_func ("/backoff/forgotten-make-room", test_forgotten_make_room);
  g_test_add_func ("/backoff/spray-bounded", test_spray_bounded);
  g_test_add_func ("/backoff/no-overflow", test_no_overflow);
  g_test_add_func ("/backoff/zero-base", test_zero_base);
  g_test_add_func ("/backoff/bad-arguments", test_bad_arguments);

  return g_test_run ();
}
