/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the WSP parser (plugins/wsp/wspprotocol.c).
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what callers
 * rely on: a refusal is a WSP_ERROR that maps to bye 400 and leaves no
 * message behind; an accepted message validates, serialises, parses back
 * to an equal message, and its canonical text is a fixed point. Any
 * violation aborts, which libFuzzer reports as a crash. */

#include "wspprotocol.h"

#include "fuzz.h"

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  g_autoptr (WspMessage) msg = NULL;
  g_autoptr (WspMessage) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *text_again = NULL;

  if (!wsp_message_parse ((const gchar *) data, size, &msg, &error)) {
    fuzz_check (msg == NULL, "a refused message was returned");
    fuzz_check (error != NULL && error->domain == WSP_ERROR,
        "refusal without a WSP_ERROR");
    fuzz_check (wsp_error_to_bye_code (error) == WSP_BYE_BAD_REQUEST,
        "refusal does not map to bye 400");
    return 0;
  }

  fuzz_check (msg != NULL && error == NULL, "accepted without a message");
  fuzz_check (wsp_message_validate (msg, NULL), "accepted an invalid message");

  text = wsp_message_serialize (msg);
  fuzz_check (text != NULL, "an accepted message does not serialise");
  fuzz_check (wsp_message_parse (text, strlen (text), &again, NULL),
      "canonical text does not parse");
  fuzz_check (wsp_message_equal (msg, again), "round trip changed the message");
  text_again = wsp_message_serialize (again);
  fuzz_check (text_again != NULL && strcmp (text, text_again) == 0,
      "canonical text is not a fixed point");
  return 0;
}
