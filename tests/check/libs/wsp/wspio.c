/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `io` data channel messages: every message round-trips through its
 * canonical text, relay commands follow their one rule set (the data
 * channel's and relaysink's), and every malformed shape is refused with the
 * error wspio.h documents. */

#include <gst/check/gstcheck.h>

#include "wsptest.h"
#include <string.h>

#include "wspio.h"

static WspIoMessage *
parse_ok (const gchar * text)
{
  g_autoptr (GError) error = NULL;
  WspIoMessage *msg = NULL;

  if (!wsp_io_message_parse (text, strlen (text), &msg, &error))
    fail ("refused \"%.200s\": %s", text, error->message);
  fail_unless (msg != NULL);
  return msg;
}

static void
assert_refused_len (const gchar * text, gsize len, WspError code)
{
  g_autoptr (GError) error = NULL;
  WspIoMessage *msg = NULL;

  fail_if (wsp_io_message_parse (text, len, &msg, &error),
      "accepted \"%.200s\"", text);
  fail_unless (msg == NULL);
  fail_unless (error != NULL);
  fail_unless (g_error_matches (error, WSP_ERROR, code),
      "\"%.200s\": expected error %d, got %s %d (%s)", text, code,
      g_quark_to_string (error->domain), error->code, error->message);
  /* The code of the `error` reply to send back. */
  fail_unless_equals_int (wsp_error_to_bye_code (error),
      WSP_IO_ERROR_BAD_REQUEST);
}

static void
assert_refused (const gchar * text, WspError code)
{
  assert_refused_len (text, strlen (text), code);
}

static void
check_round_trip (WspIoMessage * msg, const gchar * expected)
{
  g_autoptr (WspIoMessage) parsed = NULL;
  g_autofree gchar *text = NULL, *again = NULL;

  fail_unless (msg != NULL);
  text = wsp_io_message_serialize (msg);
  fail_unless (text != NULL);
  if (expected != NULL)
    fail_unless_equals_string (text, expected);
  parsed = parse_ok (text);
  fail_unless (wsp_io_message_equal (msg, parsed), "%s did not round-trip",
      text);
  again = wsp_io_message_serialize (parsed);
  fail_unless_equals_string (again, text);
}

/* ---- Round trips ------------------------------------------------------- */

GST_START_TEST (test_state_round_trip)
{
  g_autoptr (WspIoMessage) state = wsp_io_message_new_state ();
  g_autoptr (WspIoMessage) empty = wsp_io_message_new_state ();
  g_autoptr (WspIoMessage) full = wsp_io_message_new_state ();
  g_autoptr (WspIoMessage) parsed = NULL;

  wsp_io_message_state_add_input (state, "bell", FALSE);
  wsp_io_message_state_add_input (state, "in1", FALSE);
  wsp_io_message_state_add_input (state, "in2", TRUE);
  wsp_io_message_state_add_relay (state, "bell", FALSE);
  wsp_io_message_state_add_relay (state, "door", TRUE);
  check_round_trip (state, "[\"state\",{\"inputs\":{\"bell\":false,"
      "\"in1\":false,\"in2\":true},\"relays\":{\"bell\":false,"
      "\"door\":true}}]");
  fail_unless_equals_int (state->state.inputs->len, 3);
  fail_unless_equals_string (g_array_index (state->state.relays, WspIoLine,
          1).name, "door");

  check_round_trip (empty, "[\"state\",{\"inputs\":{},\"relays\":{}}]");

  for (guint i = 0; i < WSP_IO_MAX_LINES; i++) {
    g_autofree gchar *name = g_strdup_printf ("line-%u", i);

    wsp_io_message_state_add_input (full, name, i % 2);
    wsp_io_message_state_add_relay (full, name, i % 3 == 0);
  }
  check_round_trip (full, NULL);

  /* Member order is message order; unknown content members are ignored. */
  parsed = parse_ok ("[\"state\", {\"relays\": {\"door\": true, \"bell\": "
      "false}, \"inputs\": {\"in2\": true, \"bell\": false, \"in1\": false}, "
      "\"version\": 2}, {\"x\": 1}]");
  fail_unless_equals_string (g_array_index (parsed->state.inputs, WspIoLine,
          0).name, "in2");
  fail_if (wsp_io_message_equal (parsed, state));
}

GST_END_TEST;

GST_START_TEST (test_event_round_trip)
{
  g_autoptr (WspIoMessage) input = NULL;
  g_autoptr (WspIoMessage) relay = NULL;
  g_autoptr (WspIoMessage) earliest = NULL;
  g_autoptr (WspIoMessage) latest = NULL;

  input = wsp_io_message_new_input ("in1", TRUE, 1700000000123);
  check_round_trip (input, "[\"input\",{\"name\":\"in1\",\"active\":true,"
      "\"time\":1700000000123}]");
  relay = wsp_io_message_new_relay_event ("door", FALSE, 1700000000456);
  check_round_trip (relay, "[\"relay\",{\"name\":\"door\",\"active\":false,"
      "\"time\":1700000000456}]");
  fail_unless_equals_int (relay->type, WSP_IO_MESSAGE_RELAY_EVENT);
  fail_if (wsp_io_message_equal (input, relay));

  earliest = wsp_io_message_new_input ("bell", FALSE, 0);
  check_round_trip (earliest, NULL);
  latest = wsp_io_message_new_relay_event ("bell", TRUE, WSP_IO_TIME_MAX);
  check_round_trip (latest, "[\"relay\",{\"name\":\"bell\",\"active\":true,"
      "\"time\":9007199254740991}]");
}

GST_END_TEST;

GST_START_TEST (test_error_round_trip)
{
  const guint codes[] = { WSP_IO_ERROR_BAD_REQUEST, WSP_IO_ERROR_FORBIDDEN,
    WSP_IO_ERROR_NOT_FOUND, WSP_IO_ERROR_TOO_MANY_REQUESTS,
    WSP_IO_ERROR_INTERNAL, WSP_IO_ERROR_CODE_MIN, WSP_IO_ERROR_CODE_MAX
  };
  g_autoptr (WspIoMessage) msg = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++) {
    g_autoptr (WspIoMessage) error = wsp_io_message_new_error (codes[i],
        "The door relay accepts only \"pulse\"");

    check_round_trip (error, NULL);
  }
  msg = wsp_io_message_new_error (404, "");
  check_round_trip (msg, "[\"error\",{\"code\":404,\"description\":\"\"}]");
}

GST_END_TEST;

GST_START_TEST (test_relay_command_round_trip)
{
  g_autoptr (WspIoMessage) pulse = NULL;
  g_autoptr (WspIoMessage) timed = NULL;
  g_autoptr (WspIoMessage) longest = NULL;
  g_autoptr (WspIoMessage) on = NULL;
  g_autoptr (WspIoMessage) off = NULL;

  pulse = wsp_io_message_new_relay_command ("door",
      WSP_IO_RELAY_ACTION_PULSE, 0);
  check_round_trip (pulse, "[\"relay\",{\"name\":\"door\","
      "\"action\":\"pulse\"}]");
  fail_unless_equals_int (pulse->type, WSP_IO_MESSAGE_RELAY_COMMAND);
  timed = wsp_io_message_new_relay_command ("door",
      WSP_IO_RELAY_ACTION_PULSE, 500);
  check_round_trip (timed, "[\"relay\",{\"name\":\"door\","
      "\"action\":\"pulse\",\"duration\":500}]");
  longest = wsp_io_message_new_relay_command ("door",
      WSP_IO_RELAY_ACTION_PULSE, G_MAXINT32);
  check_round_trip (longest, NULL);
  on = wsp_io_message_new_relay_command ("bell", WSP_IO_RELAY_ACTION_ON, 0);
  check_round_trip (on, "[\"relay\",{\"name\":\"bell\",\"action\":\"on\"}]");
  off = wsp_io_message_new_relay_command ("bell", WSP_IO_RELAY_ACTION_OFF, 0);
  check_round_trip (off, "[\"relay\",{\"name\":\"bell\",\"action\":\"off\"}]");
  fail_if (wsp_io_message_equal (on, off));
  fail_if (wsp_io_message_equal (pulse, timed));
}

GST_END_TEST;

GST_START_TEST (test_names)
{
  const gchar *valid[] = { "door", "in1", "a", "Relay_2", "front-door",
    "0123456789012345678901234567890"
  };
  const gchar *invalid[] = { "", "01234567890123456789012345678901", "door!",
    "door 1", " door", "dör", "door.1", "door/1", "door\n"
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    fail_unless (wsp_io_name_is_valid (valid[i]), "%s", valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    fail_if (wsp_io_name_is_valid (invalid[i]), "%s", invalid[i]);
  fail_if (wsp_io_name_is_valid (NULL));

  fail_unless_equals_string (wsp_io_relay_action_to_string
      (WSP_IO_RELAY_ACTION_PULSE), "pulse");
  fail_unless_equals_string (wsp_io_message_type_to_keyword
      (WSP_IO_MESSAGE_RELAY_COMMAND), "relay");
  fail_unless_equals_string (wsp_io_message_type_to_keyword
      (WSP_IO_MESSAGE_STATE), "state");
}

GST_END_TEST;

/* ---- Relay commands: the one rule set ------------------------------------- */

/* What a data channel or a line of relaysink's input may look like. */
GST_START_TEST (test_relay_command_parse)
{
  const struct
  {
    const gchar *text;
    const gchar *name;
    WspIoRelayAction action;
    guint duration;
  } good[] = {
    {"[\"relay\",{\"name\":\"door\",\"action\":\"pulse\"}]", "door",
        WSP_IO_RELAY_ACTION_PULSE, 0},
    {" [ \"relay\" , { \"action\" : \"pulse\" , \"name\" : \"door\" , "
          "\"duration\" : 2500 } ] ", "door", WSP_IO_RELAY_ACTION_PULSE, 2500},
    {"[\"relay\",{\"name\":\"bell\",\"action\":\"on\"},{\"future\":1}]",
        "bell", WSP_IO_RELAY_ACTION_ON, 0},
    {"[\"relay\",{\"name\":\"x-1_Y\",\"action\":\"off\"}]", "x-1_Y",
        WSP_IO_RELAY_ACTION_OFF, 0},
    {"[\"relay\",{\"name\":\"door\",\"action\":\"pulse\","
          "\"duration\":2147483647}]", "door", WSP_IO_RELAY_ACTION_PULSE,
        G_MAXINT32},
  };
  const gchar cut[] = "[\"relay\",{\"name\":\"door\",\"action\":\"on\"}]";
  const gchar nul[] = "[\"relay\",{\"name\":\"do\0r\",\"action\":\"on\"}]";

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (WspIoMessage) msg = parse_ok (good[i].text);

    fail_unless_equals_int (msg->type, WSP_IO_MESSAGE_RELAY_COMMAND);
    fail_unless_equals_string (msg->command.name, good[i].name);
    fail_unless_equals_int (msg->command.action, good[i].action);
    fail_unless_equals_int (msg->command.duration, good[i].duration);
  }

  /* Length, not NUL, ends the text: a shorter length is a cut message, and
   * a NUL inside is no text. */
  assert_refused_len (cut, sizeof (cut) - 3, WSP_ERROR_SYNTAX);
  assert_refused_len (nul, sizeof (nul) - 1, WSP_ERROR_NOT_TEXT);
}

GST_END_TEST;

static void assert_invalid (WspIoMessage * msg, WspError code);

/* The rules for a command given as values (relaysink's "command" signal)
 * are the parser's. */
GST_START_TEST (test_relay_command_validate)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GEnumClass) actions = NULL;
  const struct
  {
    const gchar *name;
    gint action;
    guint duration;
  } bad[] = {
    {NULL, WSP_IO_RELAY_ACTION_PULSE, 0},
    {"", WSP_IO_RELAY_ACTION_PULSE, 0},
    {"door!", WSP_IO_RELAY_ACTION_PULSE, 0},
    {"01234567890123456789012345678901", WSP_IO_RELAY_ACTION_OFF, 0},
    {"door", 3, 0},
    {"door", -1, 0},
    {"door", WSP_IO_RELAY_ACTION_ON, 500},
    {"door", WSP_IO_RELAY_ACTION_OFF, 1},
    {"door", WSP_IO_RELAY_ACTION_PULSE, (guint) G_MAXINT32 + 1},
    {"door", WSP_IO_RELAY_ACTION_PULSE, G_MAXUINT},
  };

  fail_unless (wsp_io_relay_command_validate ("door",
          WSP_IO_RELAY_ACTION_PULSE, 0, NULL));
  fail_unless (wsp_io_relay_command_validate ("door",
          WSP_IO_RELAY_ACTION_PULSE, G_MAXINT32, NULL));
  fail_unless (wsp_io_relay_command_validate ("bell", WSP_IO_RELAY_ACTION_ON,
          0, NULL));
  fail_unless (wsp_io_relay_command_validate ("bell", WSP_IO_RELAY_ACTION_OFF,
          0, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (WspIoMessage) msg = NULL;

    g_clear_error (&error);
    fail_if (wsp_io_relay_command_validate (bad[i].name,
            (WspIoRelayAction) bad[i].action, bad[i].duration, &error),
        "accepted case %u", i);
    fail_unless (g_error_matches (error, WSP_ERROR, WSP_ERROR_BAD_CONTENT),
        "case %u: %s", i, error ? error->message : "no error");
    fail_unless_equals_int (wsp_error_to_bye_code (error),
        WSP_IO_ERROR_BAD_REQUEST);
    /* A message made of the same values is refused the same way. */
    if (bad[i].name != NULL) {
      msg = wsp_io_message_new_relay_command (bad[i].name,
          (WspIoRelayAction) bad[i].action, bad[i].duration);
      assert_invalid (g_steal_pointer (&msg), WSP_ERROR_BAD_CONTENT);
    }
  }

  /* The GEnum (the signal's argument type) says the wire's words. */
  actions = g_type_class_ref (WSP_IO_TYPE_RELAY_ACTION);
  fail_unless_equals_int (actions->n_values, 3);
  for (gint a = WSP_IO_RELAY_ACTION_PULSE; a <= WSP_IO_RELAY_ACTION_OFF; a++) {
    GEnumValue *value = g_enum_get_value (actions, a);

    fail_unless (value != NULL);
    fail_unless_equals_string (value->value_nick,
        wsp_io_relay_action_to_string ((WspIoRelayAction) a));
  }
  fail_unless_equals_string (g_type_name (WSP_IO_TYPE_RELAY_ACTION),
      "WspIoRelayAction");
}

GST_END_TEST;

GST_START_TEST (test_relay_command_rules)
{
  const gchar *bad_content[] = {
    "[\"relay\"]",
    "[\"relay\", null]",
    "[\"relay\", \"door\"]",
    "[\"relay\", {\"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": null, \"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": 1, \"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": \"\", \"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": \"door!\", \"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": \"d\\u00f6r\", \"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": \"01234567890123456789012345678901\", "
        "\"action\": \"pulse\"}]",
    "[\"relay\", {\"name\": \"door\", \"action\": null}]",
    "[\"relay\", {\"name\": \"door\", \"action\": 1}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"toggle\"}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"Pulse\"}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"\"}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"on\", \"duration\": 500}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"off\", \"duration\": 1}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": 0}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": -1}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": "
        "2147483648}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": "
        "1.5}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": "
        "\"500\"}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"duration\": "
        "null}]",
    /* Unknown members move no relay. */
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", \"force\": true}]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"on\", \"time\": 1}]",
    /* Options are an object or nothing. */
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}, null]",
    "[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}, []]",
    /* Command or event: exactly one of "action" and "active". */
    "[\"relay\", {\"name\": \"door\", \"action\": \"on\", \"active\": true, "
        "\"time\": 1}]",
    "[\"relay\", {\"name\": \"door\"}]",
    "[\"relay\", {}]",
  };
  g_autoptr (WspIoMessage) msg = NULL;
  g_autofree gchar *padding = NULL;
  g_autofree gchar *padded = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);

  /* Options are ignored, as the GPIO plugin does. */
  msg = parse_ok ("[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}, "
      "{\"reason\": \"visitor\"}]");
  fail_unless_equals_int (msg->command.action, WSP_IO_RELAY_ACTION_PULSE);
  fail_unless_equals_int (msg->command.duration, 0);

  /* A command is at most 1 KiB, however it is padded. */
  padding = g_strnfill (WSP_IO_COMMAND_MAX_SIZE, ' ');
  padded = g_strdup_printf ("[\"relay\", {\"name\": \"door\", %s\"action\": "
      "\"pulse\"}]", padding);
  assert_refused (padded, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

/* ---- Events ------------------------------------------------------------- */

GST_START_TEST (test_event_bad_content)
{
  const gchar *bad_content[] = {
    "[\"input\"]",
    "[\"input\", null]",
    "[\"input\", []]",
    "[\"input\", {}]",
    "[\"input\", {\"active\": true, \"time\": 1}]",
    "[\"input\", {\"name\": 1, \"active\": true, \"time\": 1}]",
    "[\"input\", {\"name\": \"in 1\", \"active\": true, \"time\": 1}]",
    "[\"input\", {\"name\": \"in1\", \"time\": 1}]",
    "[\"input\", {\"name\": \"in1\", \"active\": null, \"time\": 1}]",
    "[\"input\", {\"name\": \"in1\", \"active\": 1, \"time\": 1}]",
    "[\"input\", {\"name\": \"in1\", \"active\": \"true\", \"time\": 1}]",
    "[\"input\", {\"name\": \"in1\", \"active\": true}]",
    "[\"input\", {\"name\": \"in1\", \"active\": true, \"time\": \"1\"}]",
    "[\"input\", {\"name\": \"in1\", \"active\": true, \"time\": 1.0}]",
    "[\"input\", {\"name\": \"in1\", \"active\": true, \"time\": -1}]",
    "[\"input\", {\"name\": \"in1\", \"active\": true, \"time\": "
        "9007199254740992}]",
    "[\"relay\", {\"name\": \"door\", \"active\": true}]",
    "[\"relay\", {\"name\": \"door\", \"active\": \"on\", \"time\": 1}]",
  };
  g_autoptr (WspIoMessage) msg = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);

  /* Events are information: unknown members are ignored. */
  msg = parse_ok ("[\"relay\", {\"name\": \"door\", \"active\": true, "
      "\"time\": 5, \"by\": \"alice\"}]");
  fail_unless_equals_int (msg->type, WSP_IO_MESSAGE_RELAY_EVENT);
  fail_unless (msg->event.active);
  fail_unless_equals_int64 (msg->event.time, 5);
}

GST_END_TEST;

GST_START_TEST (test_state_bad_content)
{
  const gchar *bad_content[] = {
    "[\"state\"]",
    "[\"state\", {}]",
    "[\"state\", {\"inputs\": {}}]",
    "[\"state\", {\"relays\": {}}]",
    "[\"state\", {\"inputs\": [], \"relays\": {}}]",
    "[\"state\", {\"inputs\": {}, \"relays\": null}]",
    "[\"state\", {\"inputs\": {\"bell\": 0}, \"relays\": {}}]",
    "[\"state\", {\"inputs\": {\"bell\": null}, \"relays\": {}}]",
    "[\"state\", {\"inputs\": {\"bell\": \"false\"}, \"relays\": {}}]",
    "[\"state\", {\"inputs\": {}, \"relays\": {\"door\": \"on\"}}]",
    "[\"state\", {\"inputs\": {\"\": true}, \"relays\": {}}]",
    "[\"state\", {\"inputs\": {\"in 1\": true}, \"relays\": {}}]",
    "[\"state\", {\"inputs\": {}, \"relays\": {\"d\\u00f6r\": true}}]",
  };
  GString *many = g_string_new ("[\"state\",{\"inputs\":{");
  g_autofree gchar *too_many = NULL;
  g_autoptr (WspIoMessage) msg = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);

  for (guint i = 0; i <= WSP_IO_MAX_LINES; i++)
    g_string_append_printf (many, "%s\"i%u\":true", i ? "," : "", i);
  g_string_append (many, "},\"relays\":{}}]");
  too_many = g_string_free (many, FALSE);
  assert_refused (too_many, WSP_ERROR_TOO_LARGE);

  /* json-glib keeps the last of duplicate members. */
  msg = parse_ok ("[\"state\", {\"inputs\": {\"bell\": false, \"bell\": "
      "true}, \"relays\": {}}]");
  fail_unless_equals_int (msg->state.inputs->len, 1);
  fail_unless (g_array_index (msg->state.inputs, WspIoLine, 0).active);
}

GST_END_TEST;

GST_START_TEST (test_error_bad_content)
{
  const gchar *bad_content[] = {
    "[\"error\"]",
    "[\"error\", {}]",
    "[\"error\", {\"description\": \"x\"}]",
    "[\"error\", {\"code\": \"403\", \"description\": \"x\"}]",
    "[\"error\", {\"code\": 403.0, \"description\": \"x\"}]",
    "[\"error\", {\"code\": 403}]",
    "[\"error\", {\"code\": 403, \"description\": null}]",
    "[\"error\", {\"code\": 403, \"description\": 403}]",
    "[\"error\", {\"code\": 403, \"description\": \"a\\nb\"}]",
  };
  const gint64 bad_codes[] = { 0, 101, 200, 399, 600, 603, -400, G_MAXINT64 };

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);
  for (guint i = 0; i < G_N_ELEMENTS (bad_codes); i++) {
    g_autofree gchar *text = g_strdup_printf ("[\"error\", {\"code\": %"
        G_GINT64_FORMAT ", \"description\": \"x\"}]", bad_codes[i]);

    assert_refused (text, WSP_ERROR_BAD_CODE);
  }
}

GST_END_TEST;

/* ---- Framing ------------------------------------------------------------ */

GST_START_TEST (test_framing)
{
  const gchar nul[] = "[\"relay\", {\"name\": \"door\", \"action\": "
      "\"pulse\"}]\0";
  g_autofree gchar *big = g_strnfill (WSP_IO_MESSAGE_MAX_SIZE + 1, ' ');

  assert_refused_len (nul, sizeof (nul), WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"relay\", {\"name\": \"d\xc3\", \"action\": \"on\"}]",
      WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"relay\", {\"name\": \"door\\u0000\", \"action\": "
      "\"on\"}]", WSP_ERROR_NOT_TEXT);

  assert_refused ("", WSP_ERROR_SYNTAX);
  assert_refused ("[\"relay\", {\"name\": \"door\", \"action\": \"on\"}] x",
      WSP_ERROR_SYNTAX);
  assert_refused ("[\"relay\", {\"name\": \"door\", \"action\": \"on\"}]"
      "[\"relay\", {\"name\": \"door\", \"action\": \"off\"}]",
      WSP_ERROR_SYNTAX);
  assert_refused ("['relay', {'name': 'door', 'action': 'on'}]",
      WSP_ERROR_SYNTAX);
  assert_refused ("[\"relay\", {\"name\": \"door\", \"action\": \"pulse\", "
      "\"duration\": 0x10}]", WSP_ERROR_SYNTAX);

  assert_refused ("{\"relay\": {\"name\": \"door\"}}", WSP_ERROR_NOT_ARRAY);
  assert_refused ("[]", WSP_ERROR_NOT_ARRAY);
  assert_refused ("\"relay\"", WSP_ERROR_NOT_ARRAY);
  assert_refused ("[1, {}]", WSP_ERROR_NOT_ARRAY);
  assert_refused ("[\"relay\", {}, {}, {}]", WSP_ERROR_NOT_ARRAY);

  assert_refused ("[\"ringing\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"relays\", {}]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"Relay\", {}]", WSP_ERROR_UNKNOWN_KEYWORD);

  /* state needs three levels; a fourth is refused before parsing. */
  assert_refused ("[\"state\", {\"inputs\": {\"bell\": [false]}, "
      "\"relays\": {}}]", WSP_ERROR_TOO_DEEP);
  assert_refused ("[\"relay\", {\"name\": \"door\", \"action\": \"pulse\"}, "
      "{\"x\": {\"y\": {}}}]", WSP_ERROR_TOO_DEEP);
  assert_refused ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", WSP_ERROR_TOO_DEEP);

  assert_refused (big, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

/* ---- Validation and serialisation --------------------------------------- */

static void
assert_invalid (WspIoMessage * msg, WspError code)
{
  g_autoptr (GError) error = NULL;
  GLogLevelFlags fatal;
  gchar *text = NULL;

  fail_if (wsp_io_message_validate (msg, &error));
  fail_unless (g_error_matches (error, WSP_ERROR, code),
      "expected error %d, got %d (%s)", code, error->code, error->message);
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  ASSERT_CRITICAL (text = wsp_io_message_serialize (msg));
  g_log_set_always_fatal (fatal);
  fail_unless (text == NULL);
  wsp_io_message_free (msg);
}

GST_START_TEST (test_serialize_invalid)
{
  WspIoMessage *state = wsp_io_message_new_state ();
  WspIoMessage *duplicate = wsp_io_message_new_state ();
  WspIoMessage *crowded = wsp_io_message_new_state ();

  wsp_io_message_state_add_input (state, "in 1", FALSE);
  assert_invalid (state, WSP_ERROR_BAD_CONTENT);
  wsp_io_message_state_add_relay (duplicate, "door", FALSE);
  wsp_io_message_state_add_relay (duplicate, "door", TRUE);
  assert_invalid (duplicate, WSP_ERROR_BAD_CONTENT);
  for (guint i = 0; i <= WSP_IO_MAX_LINES; i++) {
    g_autofree gchar *name = g_strdup_printf ("in%u", i);

    wsp_io_message_state_add_input (crowded, name, FALSE);
  }
  assert_invalid (crowded, WSP_ERROR_TOO_LARGE);

  assert_invalid (wsp_io_message_new_input ("", TRUE, 1),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_input ("in1", TRUE, -1),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_relay_event ("door", TRUE,
          WSP_IO_TIME_MAX + 1), WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_error (200, "ok"), WSP_ERROR_BAD_CODE);
  assert_invalid (wsp_io_message_new_error (403, "a\tb"),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_relay_command ("door",
          WSP_IO_RELAY_ACTION_ON, 500), WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_relay_command ("door",
          WSP_IO_RELAY_ACTION_PULSE, (guint) G_MAXINT32 + 1),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_io_message_new_relay_command ("door!",
          WSP_IO_RELAY_ACTION_PULSE, 0), WSP_ERROR_BAD_CONTENT);
}

GST_END_TEST;

static Suite *
wspio_suite (void)
{
  Suite *s = suite_create ("wspio");
  TCase *tc_round_trip = tcase_create ("round-trip");
  TCase *tc_content = tcase_create ("content");
  TCase *tc_framing = tcase_create ("framing");
  TCase *tc_api = tcase_create ("api");

  /* G_DEBUG=fatal-criticals marks them fatal: match that flag too. */
  wsp_test_watch_criticals ();

  suite_add_tcase (s, tc_round_trip);
  tcase_add_test (tc_round_trip, test_state_round_trip);
  tcase_add_test (tc_round_trip, test_event_round_trip);
  tcase_add_test (tc_round_trip, test_error_round_trip);
  tcase_add_test (tc_round_trip, test_relay_command_round_trip);

  suite_add_tcase (s, tc_content);
  tcase_add_test (tc_content, test_relay_command_parse);
  tcase_add_test (tc_content, test_relay_command_rules);
  tcase_add_test (tc_content, test_relay_command_validate);
  tcase_add_test (tc_content, test_event_bad_content);
  tcase_add_test (tc_content, test_state_bad_content);
  tcase_add_test (tc_content, test_error_bad_content);

  suite_add_tcase (s, tc_framing);
  tcase_add_test (tc_framing, test_framing);

  suite_add_tcase (s, tc_api);
  tcase_add_test (tc_api, test_names);
  tcase_add_test (tc_api, test_serialize_invalid);

  return s;
}

GST_CHECK_MAIN (wspio);
