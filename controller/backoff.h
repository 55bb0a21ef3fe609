/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Login rate limiting with growing delays, keyed by strings (the server
 * keeps one table for client addresses and one for user names).
 *
 * After n failures in a row (n counted from 1), a key waits 0 while
 * n <= free_failures, else min (base_ms << (n - free_failures - 1), max_ms),
 * counted from the time of failure n. A success drops the key's record; so
 * does forget_ms without a failure (its count starts again).
 *
 * Time is passed in (µs, g_get_monotonic_time()), never read here, and
 * must not go backwards from one call to the next: records are kept in the
 * order of their last failure, which is what makes pruning and eviction
 * cheap. Not thread-safe: use it from one thread (the main context). */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OiBackoff OiBackoff;

/* After @free_failures failures in a row, a key must wait before its next
 * attempt: @base_ms after the first failure past the free ones, doubling
 * with each further failure, at most @max_ms. A key's record is forgotten
 * @forget_ms after its last failure (its count starts again). At most
 * @max_keys keys are kept: past that, the record whose last failure is
 * oldest is dropped (an attacker spraying keys cannot grow memory).
 *
 * @base_ms must not exceed @max_ms, and @max_keys must be at least 1.
 * A @forget_ms below @max_ms lets a key's record go before its wait is
 * over, which ends the wait early: keep it above. */
OiBackoff *oi_backoff_new (guint free_failures, guint base_ms, guint max_ms,
    guint forget_ms, guint max_keys);
void oi_backoff_free (OiBackoff * backoff);

/* How long @key must still wait at @now (µs, monotonic), in ms rounded up;
 * 0: it may try now. A record past forget_ms is dropped here. */
guint oi_backoff_wait_ms (OiBackoff * backoff, const gchar * key, gint64 now);

/* A failed attempt by @key at @now; returns the wait it has now (ms). The
 * failure counts even if @key was still waiting. */
guint oi_backoff_fail (OiBackoff * backoff, const gchar * key, gint64 now);

/* A successful attempt: @key's record is dropped. */
void oi_backoff_succeed (OiBackoff * backoff, const gchar * key);

/* Drops the records older than forget_ms (called from a timer). */
void oi_backoff_prune (OiBackoff * backoff, gint64 now);

/* Records kept, including those past forget_ms not yet pruned. */
guint oi_backoff_count_keys (OiBackoff * backoff);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiBackoff, oi_backoff_free)

G_END_DECLS
