/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router's stations (wsp_router_set_stations()): door stations
 * elsewhere that register here as NAME@HOST, are called through this
 * server and call its users. One registration each, the newest. Fake
 * transport and helpers: wsprouter-fake.h; no socket. */

#include "wsprouter-fake.h"

static const gchar *const stations[] = { "front", "garden", NULL };

/* A home server with no door of its own, and two stations. */
static Station *
home_server_new (void)
{
  Station *st = station_new_full (NULL);

  wsp_router_set_stations (st->router, stations);
  return st;
}

GST_START_TEST (test_station_register)
{
  g_autoptr (Station) st = home_server_new ();
  Fake *older, *newer, *garden, *alice1, *alice2;

  older = register_user (st, "front");
  garden = register_user (st, "garden");
  fail_unless_equals_int (wsp_router_count_registered (st->router, "front"), 1);

  /* A newer registration replaces the older: the door lost its socket
   * without knowing, or a second door claims the name with its token. */
  newer = attach_user (st, "front");
  receive (newer, wsp_message_new_register ("front@" HOST));
  expect_bye (older, WSP_BYE_NORMAL, "Replaced by a newer registration", 1);
  expect_untouched (newer, 1);
  fail_unless_equals_int (sent (newer, 0)->type, WSP_MESSAGE_REGISTERED);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "front"), 1);
  /* Not the other station's, and not a user's: users keep several. */
  expect_untouched (garden, 1);
  alice1 = register_user (st, "alice");
  alice2 = register_user (st, "alice");
  expect_untouched (alice1, 1);
  expect_untouched (alice2, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 2);

  /* Only its own address, as for a user. */
  older = attach_user (st, "front");
  receive (older, wsp_message_new_register ("garden@" HOST));
  expect_bye (older, WSP_BYE_FORBIDDEN, "Not your address", 0);
  expect_untouched (garden, 1);
}

GST_END_TEST;

GST_START_TEST (test_station_unknown)
{
  static const gchar *const only_garden[] = { "garden", NULL };
  g_autoptr (Station) st = home_server_new ();
  Fake *front, *garden, *carol, *alice;

  carol = attach_user (st, "carol");
  receive (carol, wsp_message_new_register ("carol@" HOST));
  expect_bye (carol, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);

  /* A reload without a station ends its registration; the others stay. */
  front = register_user (st, "front");
  garden = register_user (st, "garden");
  alice = register_user (st, "alice");
  wsp_router_set_stations (st->router, only_garden);
  expect_bye (front, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 1);
  expect_untouched (garden, 1);
  expect_untouched (alice, 1);
  /* ...and it can no longer be called. */
  alice = attach_user (st, "alice");
  receive (alice, invite_new ("alice", "front", NULL));
  expect_bye (alice, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);
  /* Users are a list of their own: setting them leaves the stations. */
  wsp_router_set_users (st->router, users);
  expect_untouched (garden, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "garden"),
      1);
}

GST_END_TEST;

/* A user calls the station (mode 2 at the door): routed to its one
 * registration; the door offers. */
GST_START_TEST (test_station_called)
{
  g_autoptr (Station) st = home_server_new ();
  g_autoptr (WspMessage) invite = invite_new ("alice", "front", NULL);
  Fake *front, *alice;

  alice = attach_user (st, "alice");
  receive (alice, invite_new ("alice", "front", NULL));
  expect_bye (alice, WSP_BYE_NOT_REACHABLE, "Not registered", 0);

  front = register_user (st, "front");
  alice = attach_user (st, "alice");
  wsp_router_receive (st->router, alice->endpoint, invite);
  expect_untouched (front, 2);
  fail_unless (wsp_message_equal (sent (front, 1), invite));
  fail_unless_equals_int (wsp_router_count_registered (st->router, "front"), 0);
  fail_unless_equals_int (st->door_invites->len, 0);

  receive (front, wsp_message_new_ringing ());
  receive (front, wsp_message_new_offer (SDP));
  receive (alice, wsp_message_new_answer (SDP));
  fail_unless_equals_int (alice->sent->len, 2);
  fail_unless_equals_int (sent (alice, 1)->type, WSP_MESSAGE_OFFER);
  fail_unless_equals_int (sent (front, 2)->type, WSP_MESSAGE_ANSWER);

  /* The station, meanwhile registered again, is rung by a newer call. */
  register_user (st, "front");
  fail_unless_equals_int (wsp_router_count_registered (st->router, "front"), 1);

  receive (alice, wsp_message_new_bye (WSP_BYE_NORMAL, NULL));
  expect_bye (front, WSP_BYE_NORMAL, NULL, 3);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
}

GST_END_TEST;

/* The station's bell rings a user here (mode 1 at the door). */
GST_START_TEST (test_station_calls)
{
  g_autoptr (Station) st = home_server_new ();
  Fake *phone, *tablet, *front;

  phone = register_user (st, "alice");
  tablet = register_user (st, "alice");
  front = attach_user (st, "front");
  receive (front, invite_new ("front", "alice", SNAPSHOT));
  expect_untouched (phone, 2);
  expect_untouched (tablet, 2);
  fail_unless_equals_int (sent (phone, 1)->type, WSP_MESSAGE_INVITE);
  fail_unless_equals_string (sent (phone, 1)->invite.caller.uri,
      "front@" HOST);

  receive (tablet, wsp_message_new_offer (SDP));
  expect_bye (phone, WSP_BYE_CANCELLED, "Answered elsewhere", 2);
  fail_unless_equals_int (front->sent->len, 1);
  fail_unless_equals_int (sent (front, 0)->type, WSP_MESSAGE_OFFER);

  /* A station calls only as itself. */
  front = attach_user (st, "front");
  receive (front, invite_new ("garden", "alice", NULL));
  expect_bye (front, WSP_BYE_FORBIDDEN, "Caller is not you", 0);
}

GST_END_TEST;

/* A door's token opens no other door: a station may not call a station
 * (a user may). */
GST_START_TEST (test_station_calls_no_station)
{
  g_autoptr (Station) st = home_server_new ();
  Fake *garden, *front, *alice;

  garden = register_user (st, "garden");
  front = attach_user (st, "front");
  receive (front, invite_new ("front", "garden", NULL));
  expect_bye (front, WSP_BYE_FORBIDDEN, "A station calls users only", 0);
  expect_untouched (garden, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "garden"),
      1);
  alice = attach_user (st, "alice");
  receive (alice, invite_new ("alice", "garden", NULL));
  expect_untouched (garden, 2);
  fail_unless_equals_int (sent (garden, 1)->type, WSP_MESSAGE_INVITE);
}

GST_END_TEST;

static Suite *
wsprouter_stations_suite (void)
{
  Suite *s = suite_create ("wsprouter-stations");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_station_register);
  tcase_add_test (tc, test_station_unknown);
  tcase_add_test (tc, test_station_called);
  tcase_add_test (tc, test_station_calls);
  tcase_add_test (tc, test_station_calls_no_station);
  return s;
}

GST_CHECK_MAIN (wsprouter_stations);
