/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The history: the last HISTORY_MAX calls that ended (time, mode, peers,
 * answered, duration, end code, whether the peer vanished, the first
 * snapshot), newest first, in memory, and their JSON for the API. */

#include "calls-private.h"

#define HISTORY_MAX 50

void
oi_history_entry_free (gpointer data)
{
  HistoryEntry *entry = data;

  g_strfreev (entry->peers);
  g_clear_pointer (&entry->snapshot, g_bytes_unref);
  g_free (entry);
}

void
oi_history_add (OiCalls * self, Call * call)
{
  HistoryEntry *entry = g_new0 (HistoryEntry, 1);

  entry->id = call->id;
  entry->time = call->started;
  entry->mode = call->mode;
  entry->peers = g_new0 (gchar *, call->peer_uris->len + 1);
  for (guint i = 0; i < call->peer_uris->len; i++)
    entry->peers[i] = g_strdup (g_ptr_array_index (call->peer_uris, i));
  entry->answered = call->answered;
  entry->duration = call->answered_at ?
      (g_get_monotonic_time () - call->answered_at) / G_USEC_PER_SEC : 0;
  entry->end_code = call->end_code;
  entry->lost = call->lost;
  entry->snapshot = call->snapshot ? g_bytes_ref (call->snapshot) : NULL;
  g_queue_push_head (&self->history, entry);
  while (self->history.length > HISTORY_MAX)
    oi_history_entry_free (g_queue_pop_tail (&self->history));
}

void
oi_calls_add_history_json (OiCalls * self, JsonBuilder * b)
{

  json_builder_set_member_name (b, "calls");
  json_builder_begin_array (b);
  for (GList * l = self->history.head; l; l = l->next) {
    HistoryEntry *entry = l->data;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, entry->id);
    json_builder_set_member_name (b, "time");
    json_builder_add_int_value (b, entry->time);
    json_builder_set_member_name (b, "mode");
    json_builder_add_string_value (b, oi_call_mode_name (entry->mode));
    json_builder_set_member_name (b, "peers");
    json_builder_begin_array (b);
    for (guint i = 0; entry->peers[i]; i++)
      json_builder_add_string_value (b, entry->peers[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "answered");
    json_builder_add_boolean_value (b, entry->answered);
    json_builder_set_member_name (b, "duration");
    json_builder_add_int_value (b, entry->duration);
    json_builder_set_member_name (b, "end");
    json_builder_add_int_value (b, entry->end_code);
    json_builder_set_member_name (b, "lost");
    json_builder_add_boolean_value (b, entry->lost);
    json_builder_set_member_name (b, "snapshot");
    if (entry->snapshot) {
      g_autofree gchar *url = g_strdup_printf
          ("/api/v1/history/%u/snapshot.jpg", entry->id);

      json_builder_add_string_value (b, url);
    } else {
      json_builder_add_null_value (b);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

GBytes *
oi_calls_get_snapshot (OiCalls * self, guint id)
{
  if (self->call && self->call->id == id && self->call->snapshot)
    return g_bytes_ref (self->call->snapshot);
  for (GList * l = self->history.head; l; l = l->next) {
    HistoryEntry *entry = l->data;

    if (entry->id == id && entry->snapshot)
      return g_bytes_ref (entry->snapshot);
  }
  return NULL;
}
