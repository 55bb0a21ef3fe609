/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio.h"

typedef struct
{
  gboolean reported;            /* the level last reported */
  gboolean raw;                 /* the level after the last raw edge */
  gboolean pending;             /* raw edges seen since the last report */
  guint64 last_edge;            /* timestamp of the last raw edge */
} LineState;

typedef struct
{
  guint line;
  gboolean level;
  guint64 timestamp;
} Settled;

struct _OiGpioDebouncer
{
  guint64 period;
  guint n_lines;
  LineState *lines;
  /* Levels that settled before a later edge of their line was pushed, in
   * timestamp order: reports that no read timing can lose. */
  GArray *settled;
};

OiGpioDebouncer *
oi_gpio_debouncer_new (guint n_lines, guint64 period)
{
  OiGpioDebouncer *debouncer = g_new0 (OiGpioDebouncer, 1);

  debouncer->period = period;
  debouncer->n_lines = n_lines;
  debouncer->lines = g_new0 (LineState, n_lines);
  debouncer->settled = g_array_new (FALSE, FALSE, sizeof (Settled));
  return debouncer;
}

void
oi_gpio_debouncer_free (OiGpioDebouncer * debouncer)
{
  if (debouncer == NULL)
    return;
  g_free (debouncer->lines);
  g_array_unref (debouncer->settled);
  g_free (debouncer);
}

void
oi_gpio_debouncer_reset (OiGpioDebouncer * debouncer, guint line,
    gboolean level)
{
  LineState *state;

  g_return_if_fail (line < debouncer->n_lines);
  state = &debouncer->lines[line];
  state->reported = state->raw = ! !level;
  state->pending = FALSE;
}

/* Ends a line's pending period: TRUE if its level changed. */
static gboolean
settle (LineState * state)
{
  state->pending = FALSE;
  if (state->raw == state->reported)
    return FALSE;
  state->reported = state->raw;
  return TRUE;
}

void
oi_gpio_debouncer_push (OiGpioDebouncer * debouncer, guint line,
    gboolean level, guint64 timestamp)
{
  LineState *state;

  g_return_if_fail (line < debouncer->n_lines);
  state = &debouncer->lines[line];

  /* The level before this edge held for the whole period: it counts, even
   * if nobody popped in between (both edges came in one read). */
  if (state->pending && timestamp >= state->last_edge + debouncer->period
      && settle (state)) {
    Settled settled = { line, state->reported, state->last_edge };
    guint i = debouncer->settled->len;

    /* Lines settle in the order of their *next* edges: keep the queue in
     * timestamp order. */
    while (i > 0 && g_array_index (debouncer->settled, Settled,
            i - 1).timestamp > settled.timestamp)
      i--;
    g_array_insert_val (debouncer->settled, i, settled);
  }

  state->raw = ! !level;
  state->pending = TRUE;
  /* Never backwards for one line, whatever order a batch came in. */
  state->last_edge = MAX (state->last_edge, timestamp);
}

guint64
oi_gpio_debouncer_next_deadline (OiGpioDebouncer * debouncer)
{
  guint64 deadline = G_MAXUINT64;

  if (debouncer->settled->len > 0)
    return 0;
  for (guint i = 0; i < debouncer->n_lines; i++) {
    const LineState *state = &debouncer->lines[i];

    if (state->pending)
      deadline = MIN (deadline, state->last_edge + debouncer->period);
  }
  return deadline;
}

gboolean
oi_gpio_debouncer_pop (OiGpioDebouncer * debouncer, guint64 now,
    guint * line, gboolean * level, guint64 * timestamp)
{
  /* Reports come out oldest first, from the settled queue or from lines
   * whose period ran out; a line that came back to its reported level
   * gives none. */
  for (;;) {
    const Settled *queued = NULL;
    LineState *oldest = NULL;
    guint oldest_index = 0;

    if (debouncer->settled->len > 0)
      queued = &g_array_index (debouncer->settled, Settled, 0);

    for (guint i = 0; i < debouncer->n_lines; i++) {
      LineState *state = &debouncer->lines[i];

      if (!state->pending || state->last_edge + debouncer->period > now)
        continue;
      if (oldest == NULL || state->last_edge < oldest->last_edge) {
        oldest = state;
        oldest_index = i;
      }
    }

    if (queued != NULL && (oldest == NULL
            || queued->timestamp <= oldest->last_edge)) {
      *line = queued->line;
      *level = queued->level;
      *timestamp = queued->timestamp;
      g_array_remove_index (debouncer->settled, 0);
      return TRUE;
    }
    if (oldest == NULL)
      return FALSE;
    if (settle (oldest)) {
      *line = oldest_index;
      *level = oldest->reported;
      *timestamp = oldest->last_edge;
      return TRUE;
    }
  }
}
