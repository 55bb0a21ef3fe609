/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP messages: every keyword round-trips through its canonical text, and
 * every malformed content is refused with the error wspprotocol.h
 * documents (and bye code 400); addresses. The JSON front end and the
 * size limits: wspframe.c. */

#include "wspprotocol-test.h"

/* ---- Round trips ------------------------------------------------------- */

GST_START_TEST (test_invite_round_trip)
{
  g_autoptr (WspMessage) full = NULL;
  g_autoptr (WspMessage) bare = NULL;
  g_autoptr (WspMessage) parsed = NULL;

  full = wsp_message_new_invite ("door@station.local", "Front door",
      "alice@station.local:8443", "Alice", SNAPSHOT);
  check_round_trip (full, "[\"invite\",{\"caller\":{\"uri\":"
      "\"door@station.local\",\"name\":\"Front door\"},\"callee\":{\"uri\":"
      "\"alice@station.local:8443\",\"name\":\"Alice\"}},{\"snapshot\":\""
      SNAPSHOT "\"}]");
  fail_unless_equals_int (full->type, WSP_MESSAGE_INVITE);

  bare = wsp_message_new_invite ("door@10.0.0.2", NULL, "bob@[fe80::1]",
      NULL, NULL);
  check_round_trip (bare, "[\"invite\",{\"caller\":{\"uri\":\"door@10.0.0.2\"},"
      "\"callee\":{\"uri\":\"bob@[fe80::1]\"}}]");

  /* What a peer may send: white space, nulls for absent members, unknown
   * members and options, null content-position placeholders don't apply. */
  parsed = parse_ok (" [ \"invite\" , { \"callee\" : { \"uri\" : "
      "\"bob@[fe80::1]\", \"name\": null, \"x\": 1 }, \"caller\": {\"uri\": "
      "\"door@10.0.0.2\"}, \"extra\": [1, 2]}, {\"ring-tone\": \"ding\"} ]\n");
  fail_unless (wsp_message_equal (parsed, bare));
}

GST_END_TEST;

GST_START_TEST (test_ringing_round_trip)
{
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();
  const gchar *accepted[] = {
    "[\"ringing\"]",
    "[\"ringing\", null]",
    "[\"ringing\", {}]",
    "[\"ringing\", {\"anything\": [true]}]",
    "[\"ringing\", null, {}]",
    "\t[\"ringing\"]\r\n",
  };

  check_round_trip (ringing, "[\"ringing\"]");
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++) {
    g_autoptr (WspMessage) msg = parse_ok (accepted[i]);

    fail_unless (wsp_message_equal (msg, ringing), "%s", accepted[i]);
  }
}

GST_END_TEST;

GST_START_TEST (test_offer_answer_round_trip)
{
  g_autoptr (WspMessage) offer = wsp_message_new_offer (SDP);
  g_autoptr (WspMessage) answer = wsp_message_new_answer (SDP);

  check_round_trip (offer, "[\"offer\",{\"type\":\"offer\",\"sdp\":\""
      SDP_JSON "\"}]");
  check_round_trip (answer, "[\"answer\",{\"type\":\"answer\",\"sdp\":\""
      SDP_JSON "\"}]");
  fail_if (wsp_message_equal (offer, answer));
}

GST_END_TEST;

GST_START_TEST (test_icecandidate_round_trip)
{
  const gchar *candidate = "candidate:1 1 UDP 2122252543 192.168.1.2 50000 "
      "typ host";
  g_autoptr (WspMessage) full = NULL;
  g_autoptr (WspMessage) mid_only = NULL;
  g_autoptr (WspMessage) index_only = NULL;
  g_autoptr (WspMessage) end = NULL;
  g_autoptr (WspMessage) browser = NULL;

  full = wsp_message_new_ice_candidate (candidate, "0", 0);
  check_round_trip (full, "[\"icecandidate\",{\"candidate\":\"candidate:1 1 "
      "UDP 2122252543 192.168.1.2 50000 typ host\",\"sdpMid\":\"0\","
      "\"sdpMLineIndex\":0}]");
  mid_only = wsp_message_new_ice_candidate (candidate, "video", -1);
  check_round_trip (mid_only, NULL);
  index_only = wsp_message_new_ice_candidate (candidate, NULL, 65535);
  check_round_trip (index_only, NULL);

  /* End of candidates: an empty candidate needs neither. */
  end = wsp_message_new_ice_candidate ("", NULL, -1);
  check_round_trip (end, "[\"icecandidate\",{\"candidate\":\"\"}]");

  /* JSON.stringify (event.candidate) in a browser: nulls and an extra
   * member. */
  browser = parse_ok ("[\"icecandidate\",{\"candidate\":\"\",\"sdpMid\":null,"
      "\"sdpMLineIndex\":null,\"usernameFragment\":null}]");
  fail_unless (wsp_message_equal (browser, end));
}

GST_END_TEST;

GST_START_TEST (test_bye_round_trip)
{
  const WspByeCode codes[] = { 101, 200, 400, 401, 403, 404, 408, 480, 486,
    487, 500, 603
  };

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++) {
    g_autoptr (WspMessage) bare = wsp_message_new_bye (codes[i], NULL);
    g_autoptr (WspMessage) described = NULL;
    g_autofree gchar *expected = g_strdup_printf ("[\"bye\",{\"code\":%d}]",
        codes[i]);

    fail_unless (wsp_bye_code_is_valid (codes[i]));
    fail_unless (wsp_bye_code_to_string (codes[i]) != NULL);
    check_round_trip (bare, expected);
    described = wsp_message_new_bye (codes[i],
        wsp_bye_code_to_string (codes[i]));
    check_round_trip (described, NULL);
  }
}

GST_END_TEST;

GST_START_TEST (test_register_round_trip)
{
  g_autoptr (WspMessage) reg = wsp_message_new_register ("alice@station");
  g_autoptr (WspMessage) registered =
      wsp_message_new_registered ("alice@station");

  check_round_trip (reg, "[\"register\",{\"uri\":\"alice@station\"}]");
  check_round_trip (registered, "[\"registered\",{\"uri\":\"alice@station\"}]");
  fail_if (wsp_message_equal (reg, registered));
}

GST_END_TEST;

GST_START_TEST (test_text_round_trip)
{
  /* Escapes, non-ASCII, quotes and slashes survive both ways. */
  g_autoptr (WspMessage) msg = NULL;
  g_autoptr (WspMessage) parsed = NULL;

  msg = wsp_message_new_invite ("door@station", "Tür \"1\" / \\ 🔔",
      "alice@station", "Ålice", NULL);
  check_round_trip (msg, NULL);

  parsed = parse_ok ("[\"invite\",{\"caller\":{\"uri\":\"door@station\","
      "\"name\":\"T\\u00fcr \\\"1\\\" \\/ \\\\ \\ud83d\\udd14\"},\"callee\":"
      "{\"uri\":\"alice@station\",\"name\":\"\\u00C5lice\"}}]");
  fail_unless (wsp_message_equal (parsed, msg));

  /* A keyword is a JSON string like any other. */
  wsp_message_free (g_steal_pointer (&parsed));
  parsed = parse_ok ("[\"ring\\u0069ng\"]");
  fail_unless_equals_int (parsed->type, WSP_MESSAGE_RINGING);
}

GST_END_TEST;

GST_START_TEST (test_keywords)
{
  fail_unless_equals_string (wsp_message_type_to_keyword (WSP_MESSAGE_INVITE),
      "invite");
  fail_unless_equals_string (wsp_message_type_to_keyword
      (WSP_MESSAGE_ICE_CANDIDATE), "icecandidate");
  fail_unless_equals_string (wsp_message_type_to_keyword
      (WSP_MESSAGE_REGISTERED), "registered");
}

GST_END_TEST;

/* ---- Content of each keyword -------------------------------------------- */

#define INVITE(caller, callee, options) \
  "[\"invite\",{\"caller\":" caller ",\"callee\":" callee "}" options "]"
#define PARTY "{\"uri\":\"a@b\"}"

GST_START_TEST (test_invite_bad_content)
{
  const gchar *bad_content[] = {
    "[\"invite\"]",
    "[\"invite\", null]",
    "[\"invite\", []]",
    "[\"invite\", \"door@station\"]",
    "[\"invite\", {}]",
    "[\"invite\", {\"caller\": " PARTY "}]",
    "[\"invite\", {\"callee\": " PARTY "}]",
    INVITE ("null", PARTY, ""),
    INVITE ("\"a@b\"", PARTY, ""),
    INVITE ("[\"a@b\"]", PARTY, ""),
    INVITE (PARTY, "42", ""),
    INVITE ("{}", PARTY, ""),
    INVITE ("{\"name\":\"x\"}", PARTY, ""),
    INVITE ("{\"uri\":null}", PARTY, ""),
    INVITE ("{\"uri\":42}", PARTY, ""),
    INVITE ("{\"uri\":true}", PARTY, ""),
    INVITE ("{\"uri\":{}}", PARTY, ""),
    INVITE ("{\"uri\":[\"a@b\"]}", PARTY, ""),
    INVITE (PARTY, "{\"uri\":\"a@b\",\"name\":1}", ""),
    INVITE (PARTY, "{\"uri\":\"a@b\",\"name\":{}}", ""),
    INVITE (PARTY, "{\"uri\":\"a@b\",\"name\":\"a\\nb\"}", ""),
    INVITE (PARTY, "{\"uri\":\"a@b\",\"name\":\"\\u007f\"}", ""),
    INVITE (PARTY, PARTY, ",null"),
    INVITE (PARTY, PARTY, ",\"snapshot\""),
    INVITE (PARTY, PARTY, ",[]"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":42}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":{}}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/png;base64,AAAA\"}"),
    INVITE (PARTY, PARTY,
        ",{\"snapshot\":\"data:image/svg+xml;base64,AAAA\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg,AAAA\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"https://example.org/a.jpg\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,AAA\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,AA A\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,A===\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,A=AA\"}"),
    INVITE (PARTY, PARTY, ",{\"snapshot\":\"data:image/jpeg;base64,AA-_\"}"),
  };
  g_autoptr (WspMessage) msg = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);

  /* null snapshot = absent; padding of one and two. */
  msg = parse_ok (INVITE (PARTY, PARTY, ",{\"snapshot\":null}"));
  fail_unless (msg->invite.snapshot == NULL);
  wsp_message_free (g_steal_pointer (&msg));
  msg = parse_ok (INVITE (PARTY, PARTY,
          ",{\"snapshot\":\"data:image/jpeg;base64,AA==\"}"));
  wsp_message_free (g_steal_pointer (&msg));
  msg = parse_ok (INVITE (PARTY, PARTY,
          ",{\"snapshot\":\"data:image/jpeg;base64,AAA=\"}"));
  wsp_message_free (g_steal_pointer (&msg));
  /* Empty names are harmless. */
  msg = parse_ok (INVITE ("{\"uri\":\"a@b\",\"name\":\"\"}", PARTY, ""));
  fail_unless_equals_string (msg->invite.caller.name, "");
}

GST_END_TEST;

GST_START_TEST (test_sdp_bad_content)
{
  const gchar *bad_content[] = {
    "[\"offer\"]",
    "[\"offer\", null]",
    "[\"offer\", \"" SDP_JSON "\"]",
    "[\"offer\", {\"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": \"answer\", \"sdp\": \"" SDP_JSON "\"}]",
    "[\"answer\", {\"type\": \"offer\", \"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": \"Offer\", \"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": \"pranswer\", \"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": 1, \"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": null, \"sdp\": \"" SDP_JSON "\"}]",
    "[\"offer\", {\"type\": \"offer\"}]",
    "[\"offer\", {\"type\": \"offer\", \"sdp\": null}]",
    "[\"offer\", {\"type\": \"offer\", \"sdp\": 0}]",
    "[\"offer\", {\"type\": \"offer\", \"sdp\": [\"v=0\"]}]",
    "[\"offer\", {\"type\": \"offer\", \"sdp\": \"\"}]",
    "[\"offer\", {\"type\": \"offer\", \"sdp\": \"o=- 1 2 IN IP4 0.0.0.0\"}]",
    "[\"answer\", {\"type\": \"answer\", \"sdp\": \"v=0\\r\\n\\u0007\"}]",
    "[\"answer\", {\"type\": \"answer\", \"sdp\": \"v=0\\r\\n\\u001b[0m\"}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);
}

GST_END_TEST;

GST_START_TEST (test_icecandidate_bad_content)
{
  const gchar *bad_content[] = {
    "[\"icecandidate\"]",
    "[\"icecandidate\", \"candidate:1\"]",
    "[\"icecandidate\", {}]",
    "[\"icecandidate\", {\"sdpMid\": \"0\"}]",
    "[\"icecandidate\", {\"candidate\": null, \"sdpMid\": \"0\"}]",
    "[\"icecandidate\", {\"candidate\": 1, \"sdpMid\": \"0\"}]",
    "[\"icecandidate\", {\"candidate\": \"candidate:1\", \"sdpMid\": 0}]",
    "[\"icecandidate\", {\"candidate\": \"candidate:1\", \"sdpMid\": {}}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": \"0\"}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": 0.0}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": true}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": -1}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": 65536}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMLineIndex\": "
        "4294967296}]",
    /* A candidate with nowhere to go. */
    "[\"icecandidate\", {\"candidate\": \"candidate:1\"}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMid\": null, "
        "\"sdpMLineIndex\": null}]",
    /* A candidate must not smuggle SDP lines. */
    "[\"icecandidate\", {\"candidate\": \"c\\r\\na=x\", \"sdpMid\": \"0\"}]",
    "[\"icecandidate\", {\"candidate\": \"c\", \"sdpMid\": \"0\\n\"}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++)
    assert_refused (bad_content[i], WSP_ERROR_BAD_CONTENT);
}

GST_END_TEST;

GST_START_TEST (test_bye_bad_content)
{
  const gchar *bad_content[] = {
    "[\"bye\"]",
    "[\"bye\", null]",
    "[\"bye\", 200]",
    "[\"bye\", {}]",
    "[\"bye\", {\"description\": \"Normal end\"}]",
    "[\"bye\", {\"code\": null}]",
    "[\"bye\", {\"code\": \"200\"}]",
    "[\"bye\", {\"code\": 200.0}]",
    "[\"bye\", {\"code\": 2e2}]",
    "[\"bye\", {\"code\": true}]",
    "[\"bye\", {\"code\": [200]}]",
    "[\"bye\", {\"code\": 200, \"description\": 200}]",
    "[\"bye\", {\"code\": 200, \"description\": {}}]",
    "[\"bye\", {\"code\": 200, \"description\": \"a\\u0000\"}]",
    "[\"bye\", {\"code\": 200, \"description\": \"a\\r\\nb\"}]",
  };
  const gint64 bad_codes[] = { 0, 1, 100, 102, 199, 201, 300, 402, 405, 488,
    501, 600, 604, 999, -200, G_MAXINT32, (gint64) G_MAXINT32 + 200,
    G_MAXINT64, G_MININT64
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_content); i++) {
    /* The escaped NUL is a text error, the rest are content. */
    assert_refused (bad_content[i], strstr (bad_content[i], "\\u0000") ?
        WSP_ERROR_NOT_TEXT : WSP_ERROR_BAD_CONTENT);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad_codes); i++) {
    g_autofree gchar *text = g_strdup_printf ("[\"bye\", {\"code\": %"
        G_GINT64_FORMAT ", \"description\": \"x\"}]", bad_codes[i]);

    fail_if (wsp_bye_code_is_valid (bad_codes[i]));
    assert_refused (text, WSP_ERROR_BAD_CODE);
  }
  fail_unless (wsp_bye_code_to_string (999) == NULL);
}

GST_END_TEST;

GST_START_TEST (test_register_bad_content)
{
  assert_refused ("[\"register\"]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"register\", \"alice@station\"]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"register\", {}]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"register\", {\"uri\": null}]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"register\", {\"uri\": 1}]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"registered\", {\"user\": \"alice@station\"}]",
      WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"register\", {\"uri\": \"alice\"}]",
      WSP_ERROR_BAD_ADDRESS);
  assert_refused ("[\"registered\", {\"uri\": \"@station\"}]",
      WSP_ERROR_BAD_ADDRESS);
  assert_refused ("[\"ringing\", 42]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"ringing\", \"x\"]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"ringing\", []]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"ringing\", {}, []]", WSP_ERROR_BAD_CONTENT);
  assert_refused ("[\"ringing\", {}, \"x\"]", WSP_ERROR_BAD_CONTENT);
}

GST_END_TEST;

/* ---- Addresses ---------------------------------------------------------- */

GST_START_TEST (test_addresses)
{
  const gchar *valid[] = {
    "alice@station",
    "alice@station.local",
    "door-1@intercom.example.org",
    "A.b_C-9@Example.ORG",
    "alice@station:8443",
    "alice@station:1",
    "alice@station:65535",
    "alice@192.168.1.10",
    "alice@0.0.0.0:443",
    "alice@255.255.255.255",
    "alice@[::1]",
    "alice@[fe80::1]:8443",
    "alice@[2001:db8::1:2]",
    "alice@[::ffff:192.0.2.1]",
    "alice@xn--bcher-kva.example",
    "alice@1a.example",
    "alice@example.123",
    "x@y",
  };
  const gchar *invalid[] = {
    "",
    "alice",
    "@station",
    "alice@",
    "alice@@station",
    "alice@station@other",
    "al ice@station",
    "al+ice@station",
    "alïce@station",
    "alice:pw@station",
    "alice@sta tion",
    "alice@sta_tion",
    "alice@-station",
    "alice@station-",
    "alice@station.",
    "alice@.station",
    "alice@sta..tion",
    "alice@station/wsp",
    "alice@station:",
    "alice@station:0",
    "alice@station:08443",
    "alice@station:65536",
    "alice@station:123456",
    "alice@station:http",
    "alice@station:80:80",
    "alice@1.2.3",
    "alice@1.2.3.4.5",
    "alice@1.2.3.256",
    "alice@01.2.3.4",
    "alice@1.2.3.4.",
    "alice@123",
    "alice@::1",
    "alice@[::1",
    "alice@[]",
    "alice@[1.2.3.4]",
    "alice@[fe80::1%eth0]",
    "alice@[gggg::1]",
    "alice@[1:2:3:4:5:6:7:8:9]",
    "alice@[::1]x",
    "alice@[::1]:0",
    "wss://alice@station",
  };
  g_autofree gchar *long_user = filled (WSP_USER_MAX_LEN + 1, 'u');
  g_autofree gchar *long_label = filled (64, 'l');
  g_autofree gchar *max_user = filled (WSP_USER_MAX_LEN, 'u');
  g_autofree gchar *address = NULL;
  g_autofree gchar *user = NULL, *host = NULL;
  guint port = 1;

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    fail_unless (wsp_address_is_valid (valid[i]), "refused %s", valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++) {
    g_autoptr (GError) error = NULL;

    fail_if (wsp_address_is_valid (invalid[i]), "accepted %s", invalid[i]);
    fail_if (wsp_address_parse (invalid[i], NULL, NULL, NULL, &error));
    fail_unless (g_error_matches (error, WSP_ERROR, WSP_ERROR_BAD_ADDRESS));
  }
  fail_if (wsp_address_is_valid (NULL));

  address = g_strdup_printf ("%s@station", long_user);
  fail_if (wsp_address_is_valid (address));
  g_free (address);
  address = g_strdup_printf ("%s@station", max_user);
  fail_unless (wsp_address_is_valid (address));
  g_free (address);
  address = g_strdup_printf ("alice@%s.example", long_label);
  fail_if (wsp_address_is_valid (address));
  g_free (address);
  /* 4 * 63 + 3 dots = 255 > 253 bytes of host. */
  address = g_strdup_printf ("a@%.63s.%.63s.%.63s.%.63s", long_label,
      long_label, long_label, long_label);
  fail_if (wsp_address_is_valid (address));

  fail_unless (wsp_address_parse ("alice@station:8443", &user, &host, &port,
          NULL));
  fail_unless_equals_string (user, "alice");
  fail_unless_equals_string (host, "station");
  fail_unless_equals_int (port, 8443);
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&host, g_free);
  fail_unless (wsp_address_parse ("bob@[fe80::1]", &user, &host, &port, NULL));
  fail_unless_equals_string (user, "bob");
  fail_unless_equals_string (host, "fe80::1");
  fail_unless_equals_int (port, 0);

  /* equality: user with case, host without, the port as given */
  fail_unless (wsp_address_equal ("alice@Door.Example:8443",
          "alice@door.example:8443"));
  fail_unless (wsp_address_equal ("bob@[::1]", "bob@[::1]"));
  fail_if (wsp_address_equal ("Alice@door.example", "alice@door.example"));
  fail_if (wsp_address_equal ("alice@door.example", "alice@door.example:443"));
  fail_if (wsp_address_equal ("alice@door.example", "alice@door.other"));
  fail_if (wsp_address_equal ("not an address", "not an address"));
}

GST_END_TEST;

GST_START_TEST (test_bad_addresses_in_messages)
{
  assert_refused (INVITE ("{\"uri\":\"door\"}", PARTY, ""),
      WSP_ERROR_BAD_ADDRESS);
  assert_refused (INVITE (PARTY, "{\"uri\":\"alice@station:99999\"}", ""),
      WSP_ERROR_BAD_ADDRESS);
  assert_refused (INVITE (PARTY, "{\"uri\":\"\"}", ""), WSP_ERROR_BAD_ADDRESS);
  assert_refused ("[\"register\", {\"uri\": \"alice@evil.example/x\"}]",
      WSP_ERROR_BAD_ADDRESS);
}

GST_END_TEST;

/* ---- Errors, validation and serialisation -------------------------------- */

GST_START_TEST (test_error_to_bye_code)
{
  g_autoptr (GError) other = g_error_new_literal (G_FILE_ERROR,
      G_FILE_ERROR_FAILED, "no");

  for (gint code = WSP_ERROR_TOO_LARGE; code <= WSP_ERROR_BAD_CODE; code++) {
    g_autoptr (GError) error = g_error_new_literal (WSP_ERROR, code, "x");

    fail_unless_equals_int (wsp_error_to_bye_code (error), WSP_BYE_BAD_REQUEST);
  }
  fail_unless_equals_int (wsp_error_to_bye_code (other),
      WSP_BYE_INTERNAL_ERROR);
}

GST_END_TEST;

static void
assert_invalid (WspMessage * msg, WspError code)
{
  g_autoptr (GError) error = NULL;
  GLogLevelFlags fatal;
  gchar *text = NULL;

  fail_if (wsp_message_validate (msg, &error));
  fail_unless (g_error_matches (error, WSP_ERROR, code),
      "expected error %d, got %d (%s)", code, error->code, error->message);
  /* Nothing invalid leaves this library. G_DEBUG=fatal-criticals would
   * abort on the expected critical: lift it for this one call. */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  ASSERT_CRITICAL (text = wsp_message_serialize (msg));
  g_log_set_always_fatal (fatal);
  fail_unless (text == NULL);
  wsp_message_free (msg);
}

GST_START_TEST (test_serialize_invalid)
{
  assert_invalid (wsp_message_new_invite ("door", NULL, "alice@station",
          NULL, NULL), WSP_ERROR_BAD_ADDRESS);
  assert_invalid (wsp_message_new_invite ("door@station", "a\nb",
          "alice@station", NULL, NULL), WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_message_new_invite ("door@station", NULL,
          "alice@station", NULL, "data:image/png;base64,AAAA"),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_message_new_invite ("door@station", "\xff",
          "alice@station", NULL, NULL), WSP_ERROR_NOT_TEXT);
  assert_invalid (wsp_message_new_offer ("not sdp"), WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_message_new_ice_candidate ("candidate:1", NULL, -1),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_message_new_ice_candidate ("", NULL, 70000),
      WSP_ERROR_BAD_CONTENT);
  assert_invalid (wsp_message_new_bye (999, NULL), WSP_ERROR_BAD_CODE);
  assert_invalid (wsp_message_new_register ("alice"), WSP_ERROR_BAD_ADDRESS);
}

GST_END_TEST;

static Suite *
wspprotocol_suite (void)
{
  Suite *s = suite_create ("wspprotocol");
  TCase *tc_round_trip = tcase_create ("round-trip");
  TCase *tc_content = tcase_create ("content");
  TCase *tc_api = tcase_create ("api");

  /* G_DEBUG=fatal-criticals marks them fatal: match that flag too. */
  wsp_test_watch_criticals ();

  suite_add_tcase (s, tc_round_trip);
  tcase_add_test (tc_round_trip, test_invite_round_trip);
  tcase_add_test (tc_round_trip, test_ringing_round_trip);
  tcase_add_test (tc_round_trip, test_offer_answer_round_trip);
  tcase_add_test (tc_round_trip, test_icecandidate_round_trip);
  tcase_add_test (tc_round_trip, test_bye_round_trip);
  tcase_add_test (tc_round_trip, test_register_round_trip);
  tcase_add_test (tc_round_trip, test_text_round_trip);

  suite_add_tcase (s, tc_content);
  tcase_add_test (tc_content, test_invite_bad_content);
  tcase_add_test (tc_content, test_sdp_bad_content);
  tcase_add_test (tc_content, test_icecandidate_bad_content);
  tcase_add_test (tc_content, test_bye_bad_content);
  tcase_add_test (tc_content, test_register_bad_content);
  tcase_add_test (tc_content, test_addresses);
  tcase_add_test (tc_content, test_bad_addresses_in_messages);

  suite_add_tcase (s, tc_api);
  tcase_add_test (tc_api, test_keywords);
  tcase_add_test (tc_api, test_error_to_bye_code);
  tcase_add_test (tc_api, test_serialize_invalid);

  return s;
}

GST_CHECK_MAIN (wspprotocol);
