/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Login rate limiting (backoff.h). The records are in a queue ordered by
 * their last failure, oldest first, and a hash table maps each key to its
 * link: a failure moves its record to the tail, so pruning and eviction
 * take from the head, O(1) per record dropped. */

#include "backoff.h"

typedef struct
{
  gchar *key;
  guint failures;
  gint64 last_failure;          /* µs, monotonic */
} Record;

struct _OiBackoff
{
  guint free_failures;
  guint base_ms;
  guint max_ms;
  guint forget_ms;
  guint max_keys;

  GQueue records;               /* of Record, by last_failure, oldest first */
  GHashTable *links;            /* key (the record's) → its GList link */
};

static void
record_free (Record * record)
{
  g_free (record->key);
  g_free (record);
}

static void
drop_link (OiBackoff * backoff, GList * link)
{
  Record *record = link->data;

  g_hash_table_remove (backoff->links, record->key);
  g_queue_delete_link (&backoff->records, link);
  record_free (record);
}

static gboolean
is_forgotten (OiBackoff * backoff, const Record * record, gint64 now)
{
  return now - record->last_failure >=
      (gint64) backoff->forget_ms * G_TIME_SPAN_MILLISECOND;
}

/* The wait after @failures failures in a row. */
static guint
wait_after (OiBackoff * backoff, guint failures)
{
  guint doublings;

  if (failures <= backoff->free_failures)
    return 0;
  doublings = failures - backoff->free_failures - 1;
  /* base_ms fits in 32 bits: shifted by up to 31 it fits in 64. */
  if (doublings >= 32)
    return backoff->base_ms ? backoff->max_ms : 0;
  return MIN ((guint64) backoff->base_ms << doublings,
      (guint64) backoff->max_ms);
}

/* In ms, rounded up: the caller's 1 is never 0 µs early. */
static guint
remaining_ms (OiBackoff * backoff, const Record * record, gint64 now)
{
  gint64 end = record->last_failure +
      (gint64) wait_after (backoff, record->failures) * G_TIME_SPAN_MILLISECOND;

  if (now >= end)
    return 0;
  return (end - now + G_TIME_SPAN_MILLISECOND - 1) / G_TIME_SPAN_MILLISECOND;
}

OiBackoff *
oi_backoff_new (guint free_failures, guint base_ms, guint max_ms,
    guint forget_ms, guint max_keys)
{
  OiBackoff *backoff;

  g_return_val_if_fail (base_ms <= max_ms, NULL);
  g_return_val_if_fail (max_keys > 0, NULL);

  backoff = g_new0 (OiBackoff, 1);
  backoff->free_failures = free_failures;
  backoff->base_ms = base_ms;
  backoff->max_ms = max_ms;
  backoff->forget_ms = forget_ms;
  backoff->max_keys = max_keys;
  g_queue_init (&backoff->records);
  backoff->links = g_hash_table_new (g_str_hash, g_str_equal);
  return backoff;
}

void
oi_backoff_free (OiBackoff * backoff)
{
  if (backoff == NULL)
    return;
  g_hash_table_unref (backoff->links);
  g_queue_clear_full (&backoff->records, (GDestroyNotify) record_free);
  g_free (backoff);
}

guint
oi_backoff_wait_ms (OiBackoff * backoff, const gchar * key, gint64 now)
{
  GList *link;

  g_return_val_if_fail (backoff != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);

  link = g_hash_table_lookup (backoff->links, key);
  if (link == NULL)
    return 0;
  if (is_forgotten (backoff, link->data, now)) {
    drop_link (backoff, link);
    return 0;
  }
  return remaining_ms (backoff, link->data, now);
}

guint
oi_backoff_fail (OiBackoff * backoff, const gchar * key, gint64 now)
{
  GList *link;
  Record *record;

  g_return_val_if_fail (backoff != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);

  link = g_hash_table_lookup (backoff->links, key);
  if (link && is_forgotten (backoff, link->data, now)) {
    drop_link (backoff, link);
    link = NULL;
  }

  if (link) {
    record = link->data;
    g_queue_unlink (&backoff->records, link);
  } else {
    /* Make room: the forgotten first, then the oldest still kept. */
    oi_backoff_prune (backoff, now);
    if (g_hash_table_size (backoff->links) >= backoff->max_keys)
      drop_link (backoff, backoff->records.head);

    record = g_new0 (Record, 1);
    record->key = g_strdup (key);
    link = g_list_alloc ();
    link->data = record;
    g_hash_table_insert (backoff->links, record->key, link);
  }

  /* Saturates: past G_MAXUINT the wait is max_ms anyway. */
  if (record->failures < G_MAXUINT)
    record->failures++;
  record->last_failure = now;
  g_queue_push_tail_link (&backoff->records, link);

  return wait_after (backoff, record->failures);
}

void
oi_backoff_succeed (OiBackoff * backoff, const gchar * key)
{
  GList *link;

  g_return_if_fail (backoff != NULL);
  g_return_if_fail (key != NULL);

  link = g_hash_table_lookup (backoff->links, key);
  if (link)
    drop_link (backoff, link);
}

void
oi_backoff_prune (OiBackoff * backoff, gint64 now)
{
  g_return_if_fail (backoff != NULL);

  while (backoff->records.head
      && is_forgotten (backoff, backoff->records.head->data, now))
    drop_link (backoff, backoff->records.head);
}

guint
oi_backoff_count_keys (OiBackoff * backoff)
{
  g_return_val_if_fail (backoff != NULL, 0);

  return g_hash_table_size (backoff->links);
}
