/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the WSP message tests (wspprotocol.c, wspframe.c): sample
 * SDP and snapshot, a parse that must pass or be refused with a given
 * error (and bye 400), a round trip through the canonical text. */
#pragma once

#include <gst/check/gstcheck.h>
#include <string.h>

#include "wspprotocol.h"
#include "wsptest.h"

#define SDP "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define SDP_JSON "v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
#define SNAPSHOT "data:image/jpeg;base64,/9j/4AAQSkZJRg=="

static inline WspMessage *
parse_ok_len (const gchar * text, gsize len)
{
  g_autoptr (GError) error = NULL;
  WspMessage *msg = NULL;

  if (!wsp_message_parse (text, len, &msg, &error))
    fail ("refused \"%.200s\": %s", text, error->message);
  fail_unless (msg != NULL);
  return msg;
}

static inline WspMessage *
parse_ok (const gchar * text)
{
  return parse_ok_len (text, strlen (text));
}

static inline void
assert_refused_len (const gchar * text, gsize len, WspError code)
{
  g_autoptr (GError) error = NULL;
  WspMessage *msg = NULL;

  fail_if (wsp_message_parse (text, len, &msg, &error),
      "accepted \"%.200s\"", text);
  fail_unless (msg == NULL);
  fail_unless (error != NULL);
  fail_unless (g_error_matches (error, WSP_ERROR, code),
      "\"%.200s\": expected error %d, got %s %d (%s)", text, code,
      g_quark_to_string (error->domain), error->code, error->message);
  fail_unless_equals_int (wsp_error_to_bye_code (error), WSP_BYE_BAD_REQUEST);
}

static inline void
assert_refused (const gchar * text, WspError code)
{
  assert_refused_len (text, strlen (text), code);
}

/* serialise -> @expected (if given) -> parse -> equal -> same text. */
static inline void
check_round_trip (WspMessage * msg, const gchar * expected)
{
  g_autoptr (WspMessage) parsed = NULL;
  g_autofree gchar *text = NULL, *again = NULL;

  fail_unless (msg != NULL);
  text = wsp_message_serialize (msg);
  fail_unless (text != NULL);
  if (expected != NULL)
    fail_unless_equals_string (text, expected);
  parsed = parse_ok (text);
  fail_unless (wsp_message_equal (msg, parsed), "%s did not round-trip", text);
  again = wsp_message_serialize (parsed);
  fail_unless_equals_string (again, text);
}

/* A string of @len bytes of @c, for the size limits. */
static inline gchar *
filled (gsize len, gchar c)
{
  gchar *s = g_malloc (len + 1);

  memset (s, c, len);
  s[len] = '\0';
  return s;
}
