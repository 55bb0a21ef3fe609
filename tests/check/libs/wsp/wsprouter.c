/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router's rules (wsprouter.h), one test per rule, with no socket:
 * each endpoint is a Fake that records what the router asks of it (the
 * messages sent, the close and its `bye`, the timer, the hand-over, done)
 * and checks the ops' contract as it goes — nothing after done, nothing
 * but done after a close or a hand-over, nothing sent to an endpoint the
 * transport reported gone. Time is the test's: it ends an endpoint's
 * first-message timer by calling wsp_router_timed_out() itself. Every test
 * ends by freeing the router and checking that every endpoint got done.
 * The fake transport is wsprouter-fake.h; stations (doors registering
 * from elsewhere): wsprouter-stations.c. The same rules over real TLS
 * WebSockets: wsprouter-connection.c. */

#include "wsprouter-fake.h"

/* ---- Registration -------------------------------------------------------- */

GST_START_TEST (test_register)
{
  g_autoptr (Station) st = station_new ();
  Fake *one, *other, *bob;

  one = register_user (st, "alice");
  /* Hosts compare without case; the reply echoes the uri. */
  other = register_as (st, "alice", "alice@DOOR.example:8443");
  bob = register_user (st, "bob");
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 2);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);
  fail_unless_equals_int (wsp_router_count_endpoints (st->router), 3);

  /* A `bye` while waiting drops the registration and the endpoint. */
  receive (one, wsp_message_new_bye (WSP_BYE_NORMAL, NULL));
  expect_closed_silently (one, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);

  /* So does a close; the router does not close it again. */
  lose (other);
  expect_released (other, 1);
  /* And a message the transport refused. */
  refuse (bob);
  expect_released (bob, 1);
  check_idle (st);
  fail_unless_equals_int (wsp_router_count_endpoints (st->router), 0);
}

GST_END_TEST;

/* Only one's own address: the user is case-sensitive, the port counts. */
GST_START_TEST (test_register_forbidden)
{
  static const gchar *const uris[] = {
    "bob@" HOST, "Alice@" HOST, "alice@door.example", "alice@door.example:443",
    "alice@other.example:8443",
  };
  g_autoptr (Station) st = station_new ();
  Fake *station;

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++) {
    Fake *fake = attach_user (st, "alice");

    receive (fake, wsp_message_new_register (uris[i]));
    expect_bye (fake, WSP_BYE_FORBIDDEN, "Not your address", 0);
  }
  /* A peer station has no address of its own to register. */
  station = attach (st, "*@garden.test:8443");
  receive (station, wsp_message_new_register ("carol@garden.test:8443"));
  expect_bye (station, WSP_BYE_FORBIDDEN, NULL, 0);
  check_idle (st);
}

GST_END_TEST;

GST_START_TEST (test_register_unknown)
{
  g_autoptr (Station) st = station_new ();
  Fake *carol = attach_user (st, "carol");
  Fake *door = attach_user (st, "door");
  Fake *other = attach (st, "alice@other.example");

  /* Not in the users; the door is not a user that registers; an identity
   * of another station registering itself. */
  receive (carol, wsp_message_new_register ("carol@" HOST));
  receive (door, wsp_message_new_register ("door@" HOST));
  receive (other, wsp_message_new_register ("alice@other.example"));
  expect_bye (carol, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);
  expect_bye (door, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);
  expect_bye (other, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);
  check_idle (st);
}

GST_END_TEST;

/* A reload that removes a user ends its registrations with 404; its calls
 * go on. */
GST_START_TEST (test_set_users)
{
  static const gchar *const only_bob[] = { "bob", NULL };
  g_autoptr (Station) st = station_new ();
  Fake *callee[1], *door, *waiting, *bob, *again;

  door = door_rings_alice (st, 1, callee);
  receive (callee[0], wsp_message_new_offer (SDP));
  waiting = register_user (st, "alice");
  bob = register_user (st, "bob");

  wsp_router_set_users (st->router, only_bob);
  expect_bye (waiting, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  expect_untouched (bob, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);

  /* The call: still both ways. */
  receive (door, wsp_message_new_answer (SDP));
  expect_untouched (callee[0], 3);
  fail_unless_equals_int (sent (callee[0], 2)->type, WSP_MESSAGE_ANSWER);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  again = attach_user (st, "alice");
  receive (again, wsp_message_new_register ("alice@" HOST));
  expect_bye (again, WSP_BYE_UNKNOWN_CALLEE, NULL, 0);
  /* Nor can she be called. */
  receive (attach_user (st, "door"), invite_new ("door", "alice", NULL));
  expect_bye (g_ptr_array_index (st->fakes, st->fakes->len - 1),
      WSP_BYE_UNKNOWN_CALLEE, NULL, 0);
}

GST_END_TEST;

GST_START_TEST (test_registered_waits)
{
  g_autoptr (Station) st = station_new ();
  Fake *alice = register_user (st, "alice");
  Fake *bob = register_user (st, "bob");

  receive (alice, wsp_message_new_ringing ());
  expect_bye (alice, WSP_BYE_BAD_REQUEST, NULL, 1);
  /* Registering twice on one endpoint is out of place too. */
  receive (bob, wsp_message_new_register ("bob@" HOST));
  expect_bye (bob, WSP_BYE_BAD_REQUEST, NULL, 1);
  check_idle (st);
}

GST_END_TEST;

/* ---- First messages ------------------------------------------------------ */

GST_START_TEST (test_first_message)
{
  g_autoptr (Station) st = station_new ();
  WspMessage *firsts[] = {
    wsp_message_new_ringing (),
    wsp_message_new_offer (SDP),
    wsp_message_new_answer (SDP),
    wsp_message_new_ice_candidate (CANDIDATE, "0", 0),
    wsp_message_new_bye (WSP_BYE_NORMAL, NULL),
    wsp_message_new_registered ("alice@" HOST),
  };
  Fake *fake, *registered;

  for (guint i = 0; i < G_N_ELEMENTS (firsts); i++) {
    fake = attach_user (st, "alice");
    fail_unless_equals_int (fake->timeout_ms, WSP_ROUTER_FIRST_MESSAGE_TIMEOUT);
    receive (fake, firsts[i]);
    expect_bye (fake, WSP_BYE_BAD_REQUEST, "Expected register or invite", 0);
  }

  /* A malformed one: the transport's own `bye` 400; the router lets go. */
  fake = attach_user (st, "alice");
  refuse (fake);
  expect_released (fake, 0);

  /* Nothing at all, in time. */
  fake = attach_user (st, "alice");
  wsp_router_timed_out (st->router, fake->endpoint);
  expect_bye (fake, WSP_BYE_TIMEOUT, "No register or invite", 0);

  /* A registered endpoint waits as long as it likes: a timer that ran out
   * after the first message (a race the transport may lose) is ignored. */
  registered = register_user (st, "alice");
  fail_unless_equals_int (registered->timer_calls, 2);
  wsp_router_timed_out (st->router, registered->endpoint);
  expect_untouched (registered, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);

  /* The timeout applies to endpoints attached from then on; 0: none. */
  wsp_router_set_first_message_timeout (st->router, 200);
  fake = attach_user (st, "bob");
  fail_unless_equals_int (fake->timeout_ms, 200);
  wsp_router_set_first_message_timeout (st->router, 0);
  fake = attach_user (st, "bob");
  fail_unless_equals_int (fake->timer_calls, 0);
  receive (fake, wsp_message_new_register ("bob@" HOST));
  fail_unless_equals_int (fake->timer_calls, 0);
  expect_untouched (fake, 1);
}

GST_END_TEST;

/* ---- Invites that go nowhere --------------------------------------------- */

GST_START_TEST (test_invite_refused)
{
  static const struct
  {
    const gchar *identity;
    const gchar *caller;
    const gchar *callee;
    WspByeCode code;
  } cases[] = {
    /* Known, not registered. */
    {"door@" HOST, "door@" HOST, "bob@" HOST, WSP_BYE_NOT_REACHABLE},
    /* Unknown. */
    {"door@" HOST, "door@" HOST, "carol@" HOST, WSP_BYE_UNKNOWN_CALLEE},
    {"door@" HOST, "door@" HOST, "Bob@" HOST, WSP_BYE_UNKNOWN_CALLEE},
    /* Spoofed callers. */
    {"alice@" HOST, "bob@" HOST, "bob@" HOST, WSP_BYE_FORBIDDEN},
    {"alice@" HOST, "door@" HOST, "door@" HOST, WSP_BYE_FORBIDDEN},
    {"alice@" HOST, "alice@door.example", "bob@" HOST, WSP_BYE_FORBIDDEN},
    /* A peer station speaks for its own host only. */
    {"*@garden.test:8443", "alice@" HOST, "bob@" HOST, WSP_BYE_FORBIDDEN},
    {"*@garden.test:8443", "carol@garden.test:9443", "bob@" HOST,
        WSP_BYE_FORBIDDEN},
    {"*@garden.test:8443", "carol@shed.test", "door@" HOST,
        WSP_BYE_FORBIDDEN},
    /* Other stations: no federation. */
    {"alice@" HOST, "alice@" HOST, "bob@other.example:8443",
        WSP_BYE_UNKNOWN_CALLEE},
    {"alice@" HOST, "alice@" HOST, "bob@door.example", WSP_BYE_UNKNOWN_CALLEE},
    {"alice@" HOST, "alice@" HOST, "door@door.example:8444",
        WSP_BYE_UNKNOWN_CALLEE},
  };
  g_autoptr (Station) st = station_new ();
  /* Registered, but under another user than the callee. */
  Fake *alice = register_user (st, "alice");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    Fake *fake = attach (st, cases[i].identity);

    receive (fake, wsp_message_new_invite (cases[i].caller, NULL,
            cases[i].callee, NULL, NULL));
    expect_bye (fake, cases[i].code, NULL, 0);
  }
  fail_unless_equals_int (st->door_invites->len, 0);
  expect_untouched (alice, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
}

GST_END_TEST;

/* A registration that can no longer carry a call is let go, not rung. */
GST_START_TEST (test_invite_stale_registration)
{
  g_autoptr (Station) st = station_new ();
  Fake *stale = register_user (st, "bob");
  Fake *door = attach_user (st, "door");
  Fake *phone, *tablet;

  stale->open = FALSE;
  receive (door, invite_new ("door", "bob", NULL));
  expect_bye (door, WSP_BYE_NOT_REACHABLE, "Not registered", 0);
  expect_released (stale, 1);
  check_idle (st);

  /* Of two, only the open one rings. */
  phone = register_user (st, "alice");
  tablet = register_user (st, "alice");
  phone->open = FALSE;
  door = attach_user (st, "door");
  receive (door, invite_new ("door", "alice", NULL));
  expect_released (phone, 1);
  expect_untouched (tablet, 2);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);
}

GST_END_TEST;

/* ---- The door ------------------------------------------------------------ */

GST_START_TEST (test_invite_door)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (WspMessage) invite = NULL;
  Fake *alice, *garden;

  /* The host of the callee is ours whatever its case. */
  alice = attach_user (st, "alice");
  invite = wsp_message_new_invite ("alice@" HOST, NULL,
      "door@Door.Example:8443", NULL, SNAPSHOT);
  wsp_router_receive (st->router, alice->endpoint, invite);
  fail_unless (alice->handed_over);
  fail_unless (alice->done);
  fail_unless_equals_int (alice->close_code, -1);
  fail_unless_equals_int (alice->timeout_ms, 0);
  fail_unless_equals_int (st->door_invites->len, 1);
  fail_unless (wsp_message_equal (g_ptr_array_index (st->door_invites, 0),
          invite));
  fail_unless_equals_string (g_ptr_array_index (st->door_identities, 0),
      "alice@" HOST);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
  fail_unless_equals_int (wsp_router_count_endpoints (st->router), 0);

  /* Another station, for any user at its host. */
  garden = attach (st, "*@garden.test:8443");
  receive (garden, wsp_message_new_invite ("dave@Garden.Test:8443", NULL,
          "door@" HOST, NULL, NULL));
  fail_unless (garden->handed_over);
  fail_unless_equals_string (g_ptr_array_index (st->door_identities, 1),
      "*@garden.test:8443");
}

GST_END_TEST;

/* A home server with no door of its own: `door` is a user like any other. */
GST_START_TEST (test_no_door)
{
  static const gchar *const with_door[] = { "alice", "door", NULL };
  g_autoptr (Station) st = station_new_full (NULL);
  Fake *alice = attach_user (st, "alice");
  Fake *door;

  receive (alice, invite_new ("alice", "door", NULL));
  expect_bye (alice, WSP_BYE_UNKNOWN_CALLEE, "Unknown user", 0);

  wsp_router_set_users (st->router, with_door);
  door = register_user (st, "door");
  alice = attach_user (st, "alice");
  receive (alice, invite_new ("alice", "door", NULL));
  expect_untouched (door, 2);
  fail_unless_equals_int (st->door_invites->len, 0);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);
}

GST_END_TEST;

/* ---- Routed calls -------------------------------------------------------- */

GST_START_TEST (test_ring_group)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (WspMessage) invite = invite_new ("door", "alice", SNAPSHOT);
  g_autoptr (WspMessage) offer = wsp_message_new_offer (SDP);
  g_autoptr (WspMessage) answer = wsp_message_new_answer (SDP);
  g_autoptr (WspMessage) to_callee =
      wsp_message_new_ice_candidate (CANDIDATE, NULL, 0);
  g_autoptr (WspMessage) to_caller =
      wsp_message_new_ice_candidate (CANDIDATE, "0", -1);
  Fake *phone, *tablet, *bob, *door;

  phone = register_user (st, "alice");
  tablet = register_user (st, "alice");
  bob = register_user (st, "bob");
  door = attach_user (st, "door");

  /* The invite, snapshot included, reaches every endpoint of alice. */
  wsp_router_receive (st->router, door->endpoint, invite);
  fail_unless (wsp_message_equal (sent (phone, 1), invite));
  fail_unless (wsp_message_equal (sent (tablet, 1), invite));
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* A candidate of a callee that has not won is dropped; the first
   * ringing goes to the caller, the second does not. */
  receive (phone, wsp_message_new_ice_candidate (CANDIDATE, "0", 0));
  receive (phone, wsp_message_new_ringing ());
  receive (tablet, wsp_message_new_ringing ());
  fail_unless_equals_int (door->sent->len, 1);
  fail_unless_equals_int (sent (door, 0)->type, WSP_MESSAGE_RINGING);

  /* The first offer wins; the others get 487. */
  wsp_router_receive (st->router, tablet->endpoint, offer);
  fail_unless_equals_int (door->sent->len, 2);
  fail_unless (wsp_message_equal (sent (door, 1), offer));
  expect_bye (phone, WSP_BYE_CANCELLED, "Answered elsewhere", 2);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* Then both ways: answer and candidates, a later offer of the winner. */
  wsp_router_receive (st->router, door->endpoint, answer);
  wsp_router_receive (st->router, door->endpoint, to_callee);
  wsp_router_receive (st->router, tablet->endpoint, to_caller);
  wsp_router_receive (st->router, tablet->endpoint, offer);
  expect_untouched (tablet, 4);
  fail_unless (wsp_message_equal (sent (tablet, 2), answer));
  fail_unless (wsp_message_equal (sent (tablet, 3), to_callee));
  expect_untouched (door, 4);
  fail_unless (wsp_message_equal (sent (door, 2), to_caller));
  fail_unless (wsp_message_equal (sent (door, 3), offer));

  /* The hand-over: the 101 goes to the callee, both are closed. */
  receive (door, wsp_message_new_bye (WSP_BYE_TRANSFERRED, NULL));
  expect_bye (tablet, WSP_BYE_TRANSFERRED, NULL, 4);
  fail_unless (tablet->close_description == NULL);
  expect_closed_silently (door, 4);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);

  /* bob was never involved. */
  expect_untouched (bob, 1);
}

GST_END_TEST;

/* The winner hangs up: its `bye`, description included, goes to the
 * caller; a caller that is itself a user works the same. */
GST_START_TEST (test_winner_bye)
{
  g_autoptr (Station) st = station_new ();
  Fake *bob = register_user (st, "bob");
  Fake *alice = attach_user (st, "alice");

  receive (alice, invite_new ("alice", "bob", NULL));
  receive (bob, wsp_message_new_offer (SDP));
  receive (bob, wsp_message_new_bye (WSP_BYE_NORMAL, "Hung up"));
  expect_bye (alice, WSP_BYE_NORMAL, "Hung up", 1);
  expect_closed_silently (bob, 2);
  check_idle (st);
}

GST_END_TEST;

GST_START_TEST (test_decline_all)
{
  g_autoptr (Station) st = station_new ();
  Fake *callees[2];
  Fake *door = door_rings_alice (st, 2, callees);

  /* One declines: the other still rings, the caller hears nothing. */
  receive (callees[0], wsp_message_new_bye (WSP_BYE_DECLINED, NULL));
  expect_closed_silently (callees[0], 2);
  expect_untouched (door, 0);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* The last one's code goes to the caller. */
  receive (callees[1], wsp_message_new_bye (WSP_BYE_DECLINED, "Not now"));
  expect_bye (door, WSP_BYE_DECLINED, "Not now", 0);
  expect_closed_silently (callees[1], 2);
  check_idle (st);
}

GST_END_TEST;

/* The caller's `bye` before an offer, whatever its code. */
GST_START_TEST (test_cancel)
{
  g_autoptr (Station) st = station_new ();
  Fake *callees[2];
  Fake *door = door_rings_alice (st, 2, callees);

  receive (callees[0], wsp_message_new_ringing ());
  receive (door, wsp_message_new_bye (WSP_BYE_TIMEOUT, NULL));
  expect_bye (callees[0], WSP_BYE_CANCELLED, "Cancelled", 2);
  expect_bye (callees[1], WSP_BYE_CANCELLED, "Cancelled", 2);
  expect_closed_silently (door, 1);
  check_idle (st);
}

GST_END_TEST;

/* Endpoints that close without a `bye`. */
GST_START_TEST (test_lost)
{
  g_autoptr (Station) st = station_new ();
  Fake *callees[2], *door;

  /* The caller, before an offer: the callees get 487. */
  door = door_rings_alice (st, 2, callees);
  lose (door);
  expect_released (door, 0);
  expect_bye (callees[0], WSP_BYE_CANCELLED, "Cancelled", 2);
  expect_bye (callees[1], WSP_BYE_CANCELLED, "Cancelled", 2);
  check_idle (st);

  /* The winner: the caller gets 408. */
  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_offer (SDP));
  lose (callees[0]);
  expect_released (callees[0], 2);
  expect_bye (door, WSP_BYE_TIMEOUT, "Connection lost", 1);
  check_idle (st);

  /* The caller, after the offer: the winner gets 408. */
  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_offer (SDP));
  lose (door);
  expect_bye (callees[0], WSP_BYE_TIMEOUT, "Connection lost", 2);
  check_idle (st);

  /* One of two callees: the other rings on. The last: as a `bye` 408. */
  door = door_rings_alice (st, 2, callees);
  lose (callees[0]);
  expect_released (callees[0], 2);
  expect_untouched (door, 0);
  lose (callees[1]);
  expect_bye (door, WSP_BYE_TIMEOUT, "Connection lost", 0);
  check_idle (st);
}

GST_END_TEST;

/* Messages out of place in a call, and messages the transport refused. */
GST_START_TEST (test_call_protocol_errors)
{
  g_autoptr (Station) st = station_new ();
  Fake *callees[2], *door;

  /* The caller answers before any offer: everyone gets 400. */
  door = door_rings_alice (st, 2, callees);
  receive (door, wsp_message_new_answer (SDP));
  expect_bye (door, WSP_BYE_BAD_REQUEST, "no offer yet", 0);
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  expect_bye (callees[1], WSP_BYE_BAD_REQUEST, NULL, 2);
  check_idle (st);

  /* A ringing callee that answers leaves the ring; the call goes on with
   * the other, until an invite in the middle of it ends it for both. */
  door = door_rings_alice (st, 2, callees);
  receive (callees[0], wsp_message_new_answer (SDP));
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);
  receive (callees[1], wsp_message_new_offer (SDP));
  receive (door, invite_new ("door", "alice", NULL));
  expect_bye (door, WSP_BYE_BAD_REQUEST, NULL, 1);
  expect_bye (callees[1], WSP_BYE_BAD_REQUEST, NULL, 2);
  check_idle (st);

  /* The winner registers again mid-call. */
  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_offer (SDP));
  receive (callees[0], wsp_message_new_register ("alice@" HOST));
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  expect_bye (door, WSP_BYE_BAD_REQUEST, NULL, 1);
  check_idle (st);

  /* The caller rings or offers; a callee sends `registered`. */
  door = door_rings_alice (st, 1, callees);
  receive (door, wsp_message_new_ringing ());
  expect_bye (door, WSP_BYE_BAD_REQUEST, NULL, 0);
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  door = door_rings_alice (st, 1, callees);
  receive (door, wsp_message_new_offer (SDP));
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_registered ("alice@" HOST));
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, NULL, 2);
  expect_bye (door, WSP_BYE_TIMEOUT, "No callee left", 0);
  check_idle (st);

  /* Refused by the transport: the last callee ringing (the caller gets
   * 408), the winner, the caller before an offer. What the transport
   * said is not passed on. */
  door = door_rings_alice (st, 1, callees);
  refuse (callees[0]);
  expect_released (callees[0], 2);
  expect_bye (door, WSP_BYE_TIMEOUT, "No callee left", 0);
  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_offer (SDP));
  refuse (callees[0]);
  expect_released (callees[0], 2);
  expect_bye (door, WSP_BYE_BAD_REQUEST, "Bad message", 1);
  door = door_rings_alice (st, 2, callees);
  refuse (door);
  expect_released (door, 0);
  expect_bye (callees[0], WSP_BYE_BAD_REQUEST, "Bad message", 2);
  expect_bye (callees[1], WSP_BYE_BAD_REQUEST, "Bad message", 2);
  check_idle (st);
}

GST_END_TEST;

/* Freeing the router: calls end with 500, other endpoints just close. */
GST_START_TEST (test_free)
{
  g_autoptr (Station) st = station_new ();
  Fake *callees[1], *door, *bob, *fresh, *ringing_callee[1], *ringing_door;

  door = door_rings_alice (st, 1, callees);
  receive (callees[0], wsp_message_new_offer (SDP));
  ringing_door = door_rings_alice (st, 1, ringing_callee);
  bob = register_user (st, "bob");
  fresh = attach_user (st, "alice");

  g_clear_pointer (&st->router, wsp_router_free);
  expect_bye (callees[0], WSP_BYE_INTERNAL_ERROR, "Server shutting down", 2);
  expect_bye (door, WSP_BYE_INTERNAL_ERROR, "Server shutting down", 1);
  expect_bye (ringing_callee[0], WSP_BYE_INTERNAL_ERROR, NULL, 2);
  expect_bye (ringing_door, WSP_BYE_INTERNAL_ERROR, NULL, 0);
  expect_closed_silently (bob, 1);
  expect_closed_silently (fresh, 0);
}

GST_END_TEST;

/* ---- Misuse -------------------------------------------------------------- */

/* An op that calls back into the router is refused, and the change it
 * interrupted completes. Bad arguments are criticals, and change nothing. */
GST_START_TEST (test_misuse)
{
  g_autoptr (Station) st = station_new ();
  WspRouterEndpoint *old;
  GLogLevelFlags fatal;
  Fake *alice;

  /* G_DEBUG=fatal-criticals would abort at the criticals expected here. */
  fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  alice = attach_user (st, "alice");
  alice->reenter = TRUE;
  receive (alice, wsp_message_new_register ("alice@" HOST));
  fail_if (alice->reenter);
  expect_untouched (alice, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);

  ASSERT_CRITICAL (fail_unless (wsp_router_attach (st->router, "alice",
              NULL, &fake_ops, NULL) == NULL));
  ASSERT_CRITICAL (fail_unless (wsp_router_attach (st->router, "*@",
              NULL, &fake_ops, NULL) == NULL));
  ASSERT_CRITICAL (fail_unless (wsp_router_new ("not a host", "door")
          == NULL));
  /* An endpoint the router has let go of. */
  old = alice->endpoint;
  lose (alice);
  ASSERT_CRITICAL (wsp_router_timed_out (st->router, old));
  fail_unless_equals_int (wsp_router_count_endpoints (st->router), 0);
  g_log_set_always_fatal (fatal);
}

GST_END_TEST;

static Suite *
wsprouter_suite (void)
{
  Suite *s = suite_create ("wsprouter");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_register);
  tcase_add_test (tc, test_register_forbidden);
  tcase_add_test (tc, test_register_unknown);
  tcase_add_test (tc, test_set_users);
  tcase_add_test (tc, test_registered_waits);
  tcase_add_test (tc, test_first_message);
  tcase_add_test (tc, test_invite_refused);
  tcase_add_test (tc, test_invite_stale_registration);
  tcase_add_test (tc, test_invite_door);
  tcase_add_test (tc, test_no_door);
  tcase_add_test (tc, test_ring_group);
  tcase_add_test (tc, test_winner_bye);
  tcase_add_test (tc, test_decline_all);
  tcase_add_test (tc, test_cancel);
  tcase_add_test (tc, test_lost);
  tcase_add_test (tc, test_call_protocol_errors);
  tcase_add_test (tc, test_free);
  tcase_add_test (tc, test_misuse);
  return s;
}

GST_CHECK_MAIN (wsprouter);
