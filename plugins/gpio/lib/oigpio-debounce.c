/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The software debouncer every backend shares: leading-edge debounce with
 * a glitch filter, on edge timestamps alone, so it is unit-tested without a
 * clock and gives the same reports however late the edges are read. Where
 * the edges come from (a backend), what a level means (active-low) and
 * which reports become events (the edge filter) is gpiosrc's. The
 * reasoning and the numbers are in docs/gpio.md, "Debounce". */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio.h"

/* What a line is waiting for. */
typedef enum
{
  LINE_IDLE,                    /* nothing: the line is at its reported level */
  LINE_GLITCH,                  /* a change began at `since`: is it still
                                 * there at `deadline`? */
  LINE_MASKED,                  /* a change was reported: bounces are ignored
                                 * until `deadline` */
} LinePhase;

typedef struct
{
  gboolean reported;            /* the level last reported */
  gboolean raw;                 /* the level after the last raw edge */
  LinePhase phase;
  guint64 since;                /* GLITCH: the first edge of the change */
  guint64 deadline;             /* GLITCH, MASKED: when the phase ends */
  guint64 last_edge;            /* the latest raw edge: never backwards */
} LineState;

typedef struct
{
  guint line;
  gboolean level;
  guint64 timestamp;            /* the first edge of the change */
  guint64 due;                  /* when it may be popped */
} Report;

struct _OiGpioDebouncer
{
  guint64 period;
  guint64 glitch_filter;
  guint n_lines;
  LineState *lines;
  /* Changes decided, in timestamp order. Every report is due one glitch
   * filter after its timestamp, so this is also the order they fall due. */
  GArray *reports;
  /* The timestamp of the last report popped: no later change is stamped
   * before it. */
  guint64 floor;
};

OiGpioDebouncer *
oi_gpio_debouncer_new (guint n_lines, guint64 period, guint64 glitch_filter)
{
  OiGpioDebouncer *debouncer = g_new0 (OiGpioDebouncer, 1);

  debouncer->period = period;
  /* "No debounce" is every change as it comes: no filter either. */
  debouncer->glitch_filter = period > 0 ? glitch_filter : 0;
  debouncer->n_lines = n_lines;
  debouncer->lines = g_new0 (LineState, n_lines);
  debouncer->reports = g_array_new (FALSE, FALSE, sizeof (Report));
  return debouncer;
}

void
oi_gpio_debouncer_free (OiGpioDebouncer * debouncer)
{
  if (debouncer == NULL)
    return;
  g_free (debouncer->lines);
  g_array_unref (debouncer->reports);
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
  state->phase = LINE_IDLE;
}

static void
queue_report (OiGpioDebouncer * debouncer, guint line, gboolean level,
    guint64 timestamp)
{
  Report report = { line, level, timestamp,
    timestamp + debouncer->glitch_filter
  };
  guint i = debouncer->reports->len;

  /* Lines are brought up to date one at a time: keep the queue in
   * timestamp order, a change of the same moment after those before it. */
  while (i > 0 && g_array_index (debouncer->reports, Report,
          i - 1).timestamp > timestamp)
    i--;
  g_array_insert_val (debouncer->reports, i, report);
}

/* A change of @line's level begins at @since (its first edge, or the end of
 * a mask that hid it). */
static void
begin_change (OiGpioDebouncer * debouncer, LineState * state, guint64 since)
{
  state->phase = LINE_GLITCH;
  state->since = MAX (since, debouncer->floor);
  state->deadline = state->since + debouncer->glitch_filter;
}

/* Takes every decision of @line that falls due by @time, from the level the
 * line had then: the edges stamped after @time are not pushed yet. */
static void
advance (OiGpioDebouncer * debouncer, guint line, guint64 time)
{
  LineState *state = &debouncer->lines[line];

  while (state->phase != LINE_IDLE && state->deadline <= time) {
    if (state->phase == LINE_GLITCH) {
      if (state->raw == state->reported) {
        /* Back where it was a glitch filter after it began: a spike. */
        state->phase = LINE_IDLE;
        continue;
      }
      state->reported = state->raw;
      queue_report (debouncer, line, state->reported, state->since);
      /* The mask runs from the first edge; a glitch filter longer than the
       * debounce period leaves none after the report. */
      state->phase = LINE_MASKED;
      state->deadline = MAX (state->since + debouncer->period,
          state->deadline);
    } else if (state->raw != state->reported) {
      /* It moved during the mask and stayed moved (a release inside the
       * mask): a change that begins now, through the glitch filter. */
      begin_change (debouncer, state, state->deadline);
    } else {
      state->phase = LINE_IDLE;
    }
  }
}

void
oi_gpio_debouncer_push (OiGpioDebouncer * debouncer, guint line,
    gboolean level, guint64 timestamp)
{
  LineState *state;

  g_return_if_fail (line < debouncer->n_lines);
  state = &debouncer->lines[line];

  /* Never backwards for one line, whatever order a batch came in. */
  timestamp = MAX (timestamp, state->last_edge);
  state->last_edge = timestamp;

  /* Decisions due before this edge are taken without it, even if nobody
   * popped in between (both edges came in one read). */
  advance (debouncer, line, timestamp);

  state->raw = ! !level;
  if (state->phase == LINE_IDLE && state->raw != state->reported)
    begin_change (debouncer, state, timestamp);
}

guint64
oi_gpio_debouncer_next_deadline (OiGpioDebouncer * debouncer)
{
  guint64 deadline = G_MAXUINT64;

  if (debouncer->reports->len > 0)
    deadline = g_array_index (debouncer->reports, Report, 0).due;
  for (guint i = 0; i < debouncer->n_lines; i++) {
    const LineState *state = &debouncer->lines[i];

    /* A line back at its reported level reports nothing when its phase
     * ends: no need to wake for it (its next edge brings it up to date). */
    if (state->phase != LINE_IDLE && state->raw != state->reported)
      deadline = MIN (deadline, state->deadline);
  }
  return deadline;
}

gboolean
oi_gpio_debouncer_pop (OiGpioDebouncer * debouncer, guint64 now,
    guint * line, gboolean * level, guint64 * timestamp)
{
  const Report *report;

  /* Every line up to now first: a change on another line may be older
   * than the one queued. */
  for (guint i = 0; i < debouncer->n_lines; i++)
    advance (debouncer, i, now);

  if (debouncer->reports->len == 0)
    return FALSE;
  report = &g_array_index (debouncer->reports, Report, 0);
  if (report->due > now)
    return FALSE;

  *line = report->line;
  *level = report->level;
  *timestamp = report->timestamp;
  debouncer->floor = MAX (debouncer->floor, report->timestamp);
  g_array_remove_index (debouncer->reports, 0);
  return TRUE;
}
