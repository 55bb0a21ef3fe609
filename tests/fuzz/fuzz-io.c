/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the `io` message parser (plugins/wsp/lib/wspio.c):
 * the one parser for relay commands, whether they come on the data channel
 * (intercomd) or as a line of relaysink's text input. The same invariants
 * as fuzz-wsp.c, plus the relay command limits, and that an accepted
 * command also passes the check relaysink's "command" signal applies
 * (wsp_io_relay_command_validate()). Any violation aborts, which libFuzzer
 * reports as a crash. */

#include "wspio.h"

#include "fuzz.h"

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  g_autoptr (WspIoMessage) msg = NULL;
  g_autoptr (WspIoMessage) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *text_again = NULL;

  if (!wsp_io_message_parse ((const gchar *) data, size, &msg, &error)) {
    fuzz_check (msg == NULL, "a refused message was returned");
    fuzz_check (error != NULL && error->domain == WSP_ERROR,
        "refusal without a WSP_ERROR");
    fuzz_check (wsp_error_to_bye_code (error) == WSP_BYE_BAD_REQUEST,
        "refusal does not map to 400");
    return 0;
  }

  fuzz_check (msg != NULL && error == NULL, "accepted without a message");
  fuzz_check (wsp_io_message_validate (msg, NULL), "accepted an invalid message");
  if (msg->type == WSP_IO_MESSAGE_RELAY_COMMAND) {
    fuzz_check (size <= WSP_IO_COMMAND_MAX_SIZE, "relay command over 1 KiB");
    fuzz_check (wsp_io_name_is_valid (msg->command.name), "bad relay name");
    fuzz_check (msg->command.duration <= G_MAXINT32, "duration out of range");
    fuzz_check (msg->command.duration == 0
        || msg->command.action == WSP_IO_RELAY_ACTION_PULSE,
        "duration without pulse");
    fuzz_check (wsp_io_relay_command_validate (msg->command.name,
            msg->command.action, msg->command.duration, NULL),
        "a parsed command fails the signal's check");
  }

  text = wsp_io_message_serialize (msg);
  fuzz_check (text != NULL, "an accepted message does not serialise");
  fuzz_check (wsp_io_message_parse (text, strlen (text), &again, NULL),
      "canonical text does not parse");
  fuzz_check (wsp_io_message_equal (msg, again), "round trip changed the message");
  text_again = wsp_io_message_serialize (again);
  fuzz_check (text_again != NULL && strcmp (text, text_again) == 0,
      "canonical text is not a fixed point");
  return 0;
}
