/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated GPIO chip: an in-process chip that the GPIO elements open as
 * "sim" or "sim:NAME", driven by tests and by the controller's virtual door
 * panel through this API. It behaves like a kernel chip where it matters: a
 * line can be requested once, edges carry timestamps and wake a file
 * descriptor, and an undriven input follows its bias. */

#pragma once

#include <glib-object.h>

#include "oigpio.h"

G_BEGIN_DECLS

#define OI_GPIO_SIM_CHIP_N_LINES 64

#define OI_TYPE_GPIO_SIM_CHIP (oi_gpio_sim_chip_get_type ())
G_DECLARE_FINAL_TYPE (OiGpioSimChip, oi_gpio_sim_chip, OI, GPIO_SIM_CHIP,
    GObject)

/* The chip called @name ("sim" for "sim", "x" for "sim:x"), created with
 * OI_GPIO_SIM_CHIP_N_LINES lines if it does not exist. Returns a new
 * reference; the chip lives while anyone holds one. */
OiGpioSimChip *oi_gpio_sim_chip_get (const gchar * name);

const gchar *oi_gpio_sim_chip_get_name (OiGpioSimChip * chip);

/* Drives an input line to a physical level, as the outside world would.
 * A change wakes every request watching the line with an edge stamped
 * @timestamp (ns, CLOCK_MONOTONIC), or now for the plain call. */
void oi_gpio_sim_chip_set_input (OiGpioSimChip * chip, guint offset,
    gboolean level);
void oi_gpio_sim_chip_set_input_full (OiGpioSimChip * chip, guint offset,
    gboolean level, guint64 timestamp);

/* Drives several inputs as the outside world did over a stretch of time:
 * each entry as oi_gpio_sim_chip_set_input_full(), in the order given, all
 * at once, so a reader finds the whole stretch in one read, as in a
 * kernel's event queue read late. This is what lets a test give edges
 * stamped in the past without racing the element that reads them. */
void oi_gpio_sim_chip_set_inputs (OiGpioSimChip * chip,
    const OiGpioEdge * edges, guint n_edges);

/* The physical level of a line: what an output drives, what an input
 * reads. */
gboolean oi_gpio_sim_chip_get_level (OiGpioSimChip * chip, guint offset);

/* Whether @offset is requested, and as an output. */
gboolean oi_gpio_sim_chip_is_requested (OiGpioSimChip * chip, guint offset);
gboolean oi_gpio_sim_chip_is_output (OiGpioSimChip * chip, guint offset);

/* Makes every later write touching @offset fail with EIO, as a broken
 * driver would (for testing the elements' error paths). */
void oi_gpio_sim_chip_set_fault (OiGpioSimChip * chip, guint offset,
    gboolean fault);

/* The number of times an output line changed level since the chip was
 * made: with the "output-changed" signal, this lets a test prove that
 * nothing moved. */
guint64 oi_gpio_sim_chip_get_output_changes (OiGpioSimChip * chip,
    guint offset);

G_END_DECLS
