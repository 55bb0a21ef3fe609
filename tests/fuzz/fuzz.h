/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the fuzz targets share: an invariant that does not hold aborts,
 * which libFuzzer reports as a crash with the input that broke it. */

#ifndef OI_FUZZ_H
#define OI_FUZZ_H

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static inline void
fuzz_check (gboolean condition, const gchar * what)
{
  if (!condition) {
    g_printerr ("invariant violated: %s\n", what);
    abort ();
  }
}

#endif /* OI_FUZZ_H */
