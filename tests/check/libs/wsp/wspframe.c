/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP's strict JSON front end (wspframe.c): what is not text, not JSON,
 * not an array, not a keyword, nested too deep, or over a size limit is
 * refused with the error wspprotocol.h documents (and bye code 400). */

#include "wspprotocol-test.h"

/* ---- Framing and text --------------------------------------------------- */

GST_START_TEST (test_not_text)
{
  const gchar nul_inside[] = "[\"ringing\"]\0 ";
  const gchar nul_in_string[] = "[\"ring\0ing\"]";

  assert_refused_len (nul_inside, sizeof (nul_inside) - 1, WSP_ERROR_NOT_TEXT);
  assert_refused_len (nul_in_string, sizeof (nul_in_string) - 1,
      WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\xff\"}]", WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\xc3\"}]", WSP_ERROR_NOT_TEXT);
  /* Overlong encoding of '/' and a UTF-8 encoded surrogate. */
  assert_refused ("[\"ringing\", {\"x\": \"\xc0\xaf\"}]", WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\xed\xa0\x80\"}]",
      WSP_ERROR_NOT_TEXT);
  /* json-glib would cut the string at an escaped NUL, or make invalid UTF-8
   * from an unpaired surrogate. */
  assert_refused ("[\"bye\", {\"code\": 200, \"description\": \"a\\u0000b\"}]",
      WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\\ud800\"}]", WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\\ud800\\u0041\"}]",
      WSP_ERROR_NOT_TEXT);
  assert_refused ("[\"ringing\", {\"x\": \"\\udc00x\"}]", WSP_ERROR_NOT_TEXT);
}

GST_END_TEST;

GST_START_TEST (test_syntax)
{
  const gchar *refused[] = {
    "",
    " \r\n\t",
    "[\"ringing\"",
    "[\"ringing",
    "[\"ringing\"] x",
    "[\"ringing\"] [\"ringing\"]",
    "[\"ringing\"],",
    "[\"ringing\"]]",
    "[\"ringing\"}",
    "]",
    "['ringing']",
    "[\"ringing\" /* comment */]",
    "[\"ringing\"] // comment",
    "# comment\n[\"ringing\"]",
    "\xef\xbb\xbf[\"ringing\"]",
    "[\"ringing\", {\"x\": 01}]",
    "[\"ringing\", {\"x\": .5}]",
    "[\"ringing\", {\"x\": 1.}]",
    "[\"ringing\", {\"x\": 0x10}]",
    "[\"ringing\", {\"x\": +1}]",
    "[\"ringing\", {\"x\": 1e}]",
    "[\"ringing\", {\"x\": -}]",
    "[\"ringing\", {\"x\": NaN}]",
    "[\"ringing\", {\"x\": Infinity}]",
    "[\"ringing\", {\"x\": True}]",
    "[\"ringing\", {\"x\": nul}]",
    "[\"ringing\", {\"x\": 9223372036854775808}]",
    "[\"ringing\", {\"x\": -9223372036854775809}]",
    "[\"ringing\", {\"x\": 18446744073709551616}]",
    "[\"ringing\", {\"x\": \"a\nb\"}]",
    "[\"ringing\", {\"x\": \"a\tb\"}]",
    "[\"ringing\", {\"x\": \"\\x41\"}]",
    "[\"ringing\", {\"x\": \"\\u41\"}]",
    "[\"ringing\", {\"x\": \"\\\"]",
    "[\"ringing\", {x: 1}]",
    "[\"ringing\", {\"x\" 1}]",
    "[\"ringing\", {\"x\": 1,}]",
    "[\"ringing\",]",
    "[\"ringing\" {}]",
    "[,\"ringing\"]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_refused (refused[i], WSP_ERROR_SYNTAX);

  /* The edges of what the lexer lets through. */
  {
    g_autoptr (WspMessage) msg = parse_ok ("[\"ringing\", {\"a\": "
        "9223372036854775807, \"b\": -9223372036854775808, \"c\": -0, "
        "\"d\": 1.5e-3, \"e\": 2E+10, \"f\": [true, false, null], \"g\": "
        "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}]");

    fail_unless_equals_int (msg->type, WSP_MESSAGE_RINGING);
  }
}

GST_END_TEST;

GST_START_TEST (test_not_array)
{
  const gchar *refused[] = {
    "{}",
    "{\"invite\": {}}",
    "\"ringing\"",
    "42",
    "null",
    "true",
    "[]",
    "[ ]",
    "[\"ringing\", null, {}, {}]",
    "[1]",
    "[null]",
    "[true, {}]",
    "[{\"keyword\": \"ringing\"}]",
    "[[\"ringing\"]]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_refused (refused[i], WSP_ERROR_NOT_ARRAY);
}

GST_END_TEST;

GST_START_TEST (test_unknown_keyword)
{
  g_autofree gchar *long_keyword = filled (1000, 'x');
  g_autofree gchar *long_message = g_strdup_printf ("[\"%s\"]", long_keyword);

  assert_refused ("[\"hello\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"Invite\", {}]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"RINGING\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\" ringing\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"ringing \"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"ice-candidate\", {}]", WSP_ERROR_UNKNOWN_KEYWORD);
  /* io keywords are not WSP keywords. */
  assert_refused ("[\"state\", {}]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused ("[\"\\u0001\"]", WSP_ERROR_UNKNOWN_KEYWORD);
  assert_refused (long_message, WSP_ERROR_UNKNOWN_KEYWORD);
}

GST_END_TEST;

/* @depth nested arrays inside a ringing's options. */
static gchar *
nested_options (guint depth)
{
  GString *s = g_string_new ("[\"ringing\", null, {\"x\": ");

  /* The message array and the options object are two levels already. */
  for (guint i = 2; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 2; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, "}]");
  return g_string_free (s, FALSE);
}

GST_START_TEST (test_deep_nesting)
{
  g_autofree gchar *deepest = nested_options (WSP_MAX_DEPTH);
  g_autofree gchar *too_deep = nested_options (WSP_MAX_DEPTH + 1);
  g_autofree gchar *brackets = filled (60000, '[');
  g_autofree gchar *braces = NULL;
  g_autoptr (WspMessage) msg = NULL;
  GString *s;

  msg = parse_ok (deepest);
  fail_unless_equals_int (msg->type, WSP_MESSAGE_RINGING);
  assert_refused (too_deep, WSP_ERROR_TOO_DEEP);

  /* Unterminated and enormous: refused before json-glib recurses. */
  assert_refused (brackets, WSP_ERROR_TOO_DEEP);
  s = g_string_new ("[\"ringing\", ");
  for (guint i = 0; i < 10000; i++)
    g_string_append (s, "{\"a\":");
  braces = g_string_free (s, FALSE);
  assert_refused (braces, WSP_ERROR_TOO_DEEP);

  /* Brackets inside strings are text. */
  wsp_message_free (g_steal_pointer (&msg));
  msg = parse_ok ("[\"ringing\", {\"x\": \"[[[[[[[[[[{{{{{{{{\\\"[[[[\"}]");
  fail_unless_equals_int (msg->type, WSP_MESSAGE_RINGING);
}

GST_END_TEST;

/* ---- Size limits -------------------------------------------------------- */

/* The longest valid snapshot no longer than @len: base64 comes in fours. */
static gchar *
snapshot_of_size (gsize len)
{
  gsize prefix_len = strlen (WSP_SNAPSHOT_PREFIX);
  g_autofree gchar *data = filled ((len - prefix_len) / 4 * 4, 'A');

  return g_strconcat (WSP_SNAPSHOT_PREFIX, data, NULL);
}

static gchar *
invite_with_snapshot (const gchar * snapshot)
{
  return g_strdup_printf ("[\"invite\",{\"caller\":{\"uri\":\"door@station\"},"
      "\"callee\":{\"uri\":\"alice@station\"}},{\"snapshot\":\"%s\"}]",
      snapshot);
}

GST_START_TEST (test_oversize_message)
{
  g_autofree gchar *padding = filled (WSP_MESSAGE_MAX_SIZE, ' ');
  g_autofree gchar *big_ringing = NULL;
  g_autofree gchar *fits = NULL;
  g_autofree gchar *big_option = NULL;
  g_autofree gchar *big_invite = NULL;
  g_autoptr (WspMessage) msg = NULL;
  gsize overhead = strlen ("[\"ringing\",{\"x\":\"\"}]");
  g_autofree gchar *text = filled (WSP_MESSAGE_MAX_SIZE - overhead, 'a');

  /* Exactly at the limit, then one byte over. */
  fits = g_strdup_printf ("[\"ringing\",{\"x\":\"%s\"}]", text);
  fail_unless_equals_int (strlen (fits), WSP_MESSAGE_MAX_SIZE);
  msg = parse_ok (fits);
  big_ringing = g_strdup_printf ("[\"ringing\",{\"x\":\"%sa\"}]", text);
  assert_refused (big_ringing, WSP_ERROR_TOO_LARGE);

  /* White space counts too. */
  g_free (big_ringing);
  big_ringing = g_strdup_printf ("[\"ringing\"]%s", padding);
  assert_refused (big_ringing, WSP_ERROR_TOO_LARGE);

  /* Only an invite may be larger, and only if it says so up front. */
  big_invite = g_strdup_printf ("[\"ringing\",{},{\"x\":[\"invite\"]}]%s",
      padding);
  assert_refused (big_invite, WSP_ERROR_TOO_LARGE);
  g_free (big_invite);
  big_invite = g_strdup_printf (" [ \"invite\",{\"caller\":{\"uri\":"
      "\"door@station\"},\"callee\":{\"uri\":\"alice@station\"}},"
      "{\"unknown\":\"%s\"}]", padding);
  wsp_message_free (g_steal_pointer (&msg));
  msg = parse_ok (big_invite);
  fail_unless_equals_int (msg->type, WSP_MESSAGE_INVITE);

  big_option = filled (WSP_INVITE_MAX_SIZE, 'a');
  g_free (big_invite);
  big_invite = g_strdup_printf ("[\"invite\",{},{\"x\":\"%s\"}]", big_option);
  assert_refused (big_invite, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

GST_START_TEST (test_oversize_sdp)
{
  g_autofree gchar *sdp = filled (WSP_SDP_MAX_SIZE, 'a');
  g_autofree gchar *text = NULL;
  g_autoptr (WspMessage) msg = NULL;

  sdp[0] = 'v';
  sdp[1] = '=';
  text = g_strdup_printf ("[\"offer\",{\"type\":\"offer\",\"sdp\":\"%s\"}]",
      sdp);
  msg = parse_ok (text);
  fail_unless_equals_int (strlen (msg->sdp.sdp), WSP_SDP_MAX_SIZE);

  g_free (text);
  text = g_strdup_printf ("[\"answer\",{\"type\":\"answer\",\"sdp\":\"%sa\"}]",
      sdp);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

GST_START_TEST (test_oversize_snapshot)
{
  g_autofree gchar *largest = snapshot_of_size (WSP_SNAPSHOT_MAX_SIZE);
  g_autofree gchar *too_large = snapshot_of_size (WSP_SNAPSHOT_MAX_SIZE + 4);
  g_autofree gchar *text = NULL;
  g_autoptr (WspMessage) msg = NULL;

  fail_unless (strlen (largest) > WSP_SNAPSHOT_MAX_SIZE - 4);
  text = invite_with_snapshot (largest);
  fail_unless (strlen (text) > WSP_MESSAGE_MAX_SIZE);
  msg = parse_ok (text);
  fail_unless_equals_string (msg->invite.snapshot, largest);
  check_round_trip (msg, text);

  g_free (text);
  text = invite_with_snapshot (too_large);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

GST_START_TEST (test_oversize_strings)
{
  g_autofree gchar *name = filled (WSP_NAME_MAX_LEN + 1, 'n');
  g_autofree gchar *description = filled (WSP_DESCRIPTION_MAX_LEN + 1, 'd');
  g_autofree gchar *candidate = filled (WSP_CANDIDATE_MAX_LEN + 1, 'c');
  g_autofree gchar *mid = filled (WSP_SDP_MID_MAX_LEN + 1, 'm');
  g_autofree gchar *text = NULL;

  text = g_strdup_printf ("[\"invite\",{\"caller\":{\"uri\":\"a@b\","
      "\"name\":\"%s\"},\"callee\":{\"uri\":\"c@d\"}}]", name);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
  g_free (text);
  text = g_strdup_printf ("[\"bye\",{\"code\":200,\"description\":\"%s\"}]",
      description);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
  g_free (text);
  text = g_strdup_printf ("[\"icecandidate\",{\"candidate\":\"%s\","
      "\"sdpMLineIndex\":0}]", candidate);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
  g_free (text);
  text = g_strdup_printf ("[\"icecandidate\",{\"candidate\":\"\","
      "\"sdpMid\":\"%s\"}]", mid);
  assert_refused (text, WSP_ERROR_TOO_LARGE);
}

GST_END_TEST;

static Suite *
wspframe_suite (void)
{
  Suite *s = suite_create ("wspframe");
  TCase *tc_framing = tcase_create ("framing");
  TCase *tc_limits = tcase_create ("limits");

  /* G_DEBUG=fatal-criticals marks them fatal: match that flag too. */
  wsp_test_watch_criticals ();

  suite_add_tcase (s, tc_framing);
  tcase_add_test (tc_framing, test_not_text);
  tcase_add_test (tc_framing, test_syntax);
  tcase_add_test (tc_framing, test_not_array);
  tcase_add_test (tc_framing, test_unknown_keyword);
  tcase_add_test (tc_framing, test_deep_nesting);

  suite_add_tcase (s, tc_limits);
  tcase_add_test (tc_limits, test_oversize_message);
  tcase_add_test (tc_limits, test_oversize_sdp);
  tcase_add_test (tc_limits, test_oversize_snapshot);
  tcase_add_test (tc_limits, test_oversize_strings);

  return s;
}

GST_CHECK_MAIN (wspframe);
