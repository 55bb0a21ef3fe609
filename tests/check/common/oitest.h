/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the GPIO tests: waiting on conditions with deadlines,
 * never sleeping. */
#pragma once

#include <gst/gst.h>
#include "oigpio-sim.h"

G_BEGIN_DECLS

#define OI_TEST_TIMEOUT (5 * GST_SECOND)

/* The next element message called @name (skipping others), or an ERROR or
 * WARNING if one comes first when @stop_on_problem; NULL after @timeout. */
GstMessage *oi_test_pop_element_message (GstBus * bus, const gchar * name,
    gboolean stop_on_problem, GstClockTime timeout);
GstMessage *oi_test_pop_message (GstBus * bus, GstMessageType type,
    GstClockTime timeout);

/* Records every output-changed of a simulated chip. */
typedef struct _OiOutputWatch OiOutputWatch;

typedef struct
{
  guint offset;
  gboolean level;
  guint64 timestamp;
} OiOutputChange;

OiOutputWatch *oi_output_watch_new (OiGpioSimChip * chip);
void oi_output_watch_free (OiOutputWatch * watch);
/* Waits for the next change of @offset not yet taken, up to @timeout. */
gboolean oi_output_watch_next (OiOutputWatch * watch, guint offset,
    GstClockTime timeout, OiOutputChange * change);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiOutputWatch, oi_output_watch_free)

/* A unique simulated chip for one test, and its element spec. */
OiGpioSimChip *oi_test_new_chip (gchar ** spec);

G_END_DECLS
