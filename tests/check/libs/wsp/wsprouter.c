/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router's rules (wsprouter.h), one test per rule, with no socket:
 * each endpoint is a Fake that records what the router asks of it (the
 * messages sent, the close and its `bye`, the timer, the hand-over, done)
 * and checks the ops' contract as it goes — nothing after done, nothing
 * but done after a close or a hand-over, nothing sent to an endpoint the
 * transport reported gone. Time is the test's: it ends an endpoint's
 * first-message timer by calling wsp_router_timed_out() itself. Every test
 * ends by freeing the router and checking that every endpoint got done.
 * The same rules over real TLS WebSockets: wsprouter-connection.c. */

#include "wsptest.h"
#include "wsprouter.h"

#define HOST "door.example:8443"
#define SNAPSHOT "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="
#define SDP "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define CANDIDATE "candidate:1 1 udp 1 127.0.0.1 5000 typ host"

static const gchar *const users[] = { "alice", "bob", NULL };

/* ---- A fake transport ---------------------------------------------------- */

typedef struct _Station Station;

typedef struct
{
  Station *st;
  WspRouterEndpoint *endpoint;  /* NULL once done */
  gchar *identity;
  GPtrArray *sent;
  /* -1: not closed by the router; 0: closed without a `bye`. */
  gint close_code;
  gchar *close_description;
  guint timeout_ms;             /* the timer armed, 0 if none */
  guint timer_calls;
  gboolean open;                /* what is_open answers */
  gboolean handed_over;
  gboolean gone;                /* reported closed or refused */
  gboolean done;
  /* On the next send, call back into the router (a contract breach). */
  gboolean reenter;
} Fake;

struct _Station
{
  WspRouter *router;
  GPtrArray *fakes;
  GPtrArray *door_invites;
  GPtrArray *door_identities;
};

/* No op may come after done; after close or hand_over, only done. */
static void
fake_check_op (Fake * fake, WspRouterEndpoint * endpoint, const gchar * op)
{
  fail_if (fake->done, "%s: %s after done", fake->identity, op);
  fail_unless (endpoint == fake->endpoint, "%s: %s for another endpoint",
      fake->identity, op);
  fail_unless (fake->close_code == -1 && !fake->handed_over,
      "%s: %s after the endpoint left", fake->identity, op);
}

static void
op_send (WspRouterEndpoint * endpoint, const WspMessage * message,
    gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "send");
  fail_if (fake->gone, "%s: send after it was gone", fake->identity);
  fail_unless (wsp_message_validate (message, NULL));
  g_ptr_array_add (fake->sent, message_copy (message));
  if (fake->reenter) {
    fake->reenter = FALSE;
    ASSERT_CRITICAL (wsp_router_closed (fake->st->router, endpoint));
  }
}

static void
op_close (WspRouterEndpoint * endpoint, WspByeCode code,
    const gchar * description, gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "close");
  fail_if (fake->gone, "%s: closed after it was gone", fake->identity);
  fail_unless (code == 0 || wsp_bye_code_is_valid (code));
  fake->close_code = code;
  fake->close_description = g_strdup (description);
}

static void
op_set_timeout (WspRouterEndpoint * endpoint, guint ms, gpointer data)
{
  Fake *fake = data;

  /* (called within attach, before the test has the endpoint) */
  if (fake->endpoint == NULL && fake->timer_calls == 0)
    fake->endpoint = endpoint;
  fake_check_op (fake, endpoint, "set_timeout");
  fake->timeout_ms = ms;
  fake->timer_calls++;
}

static gboolean
op_is_open (WspRouterEndpoint * endpoint, gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "is_open");
  return fake->open;
}

static void
op_hand_over (WspRouterEndpoint * endpoint, const WspMessage * invite,
    const gchar * identity, gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "hand_over");
  fake->handed_over = TRUE;
  g_ptr_array_add (fake->st->door_invites, message_copy (invite));
  g_ptr_array_add (fake->st->door_identities, g_strdup (identity));
}

static void
op_done (WspRouterEndpoint * endpoint, gpointer data)
{
  Fake *fake = data;

  fail_if (fake->done, "%s: done twice", fake->identity);
  fail_unless (endpoint == fake->endpoint);
  fake->done = TRUE;
  fake->endpoint = NULL;
  fake->timeout_ms = 0;
}

static const WspRouterEndpointOps fake_ops = {
  .send = op_send,
  .close = op_close,
  .set_timeout = op_set_timeout,
  .is_open = op_is_open,
  .hand_over = op_hand_over,
  .done = op_done,
};

static void
fake_free (Fake * fake)
{
  g_ptr_array_unref (fake->sent);
  g_free (fake->identity);
  g_free (fake->close_description);
  g_free (fake);
}

static Station *
station_new_full (const gchar * door_user)
{
  Station *st = g_new0 (Station, 1);

  wsp_test_watch_criticals ();
  st->router = wsp_router_new (HOST, door_user);
  fail_unless (st->router != NULL);
  wsp_router_set_users (st->router, users);
  st->fakes = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_free);
  st->door_invites = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  st->door_identities = g_ptr_array_new_with_free_func (g_free);
  return st;
}

static Station *
station_new (void)
{
  return station_new_full ("door");
}

/* Frees the router (if the test has not): every endpoint must be done. */
static void
station_free (Station * st)
{
  g_clear_pointer (&st->router, wsp_router_free);
  for (guint i = 0; i < st->fakes->len; i++) {
    Fake *fake = g_ptr_array_index (st->fakes, i);

    fail_unless (fake->done, "%s never done", fake->identity);
  }
  g_ptr_array_unref (st->fakes);
  g_ptr_array_unref (st->door_invites);
  g_ptr_array_unref (st->door_identities);
  g_free (st);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Station, station_free);

/* A new endpoint whose authenticated identity is @identity. */
static Fake *
attach (Station * st, const gchar * identity)
{
  Fake *fake = g_new0 (Fake, 1);
  WspRouterEndpoint *endpoint;

  fake->st = st;
  fake->identity = g_strdup (identity);
  fake->sent = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  fake->close_code = -1;
  fake->open = TRUE;
  g_ptr_array_add (st->fakes, fake);

  endpoint = wsp_router_attach (st->router, identity, "test", &fake_ops, fake);
  fail_unless (endpoint != NULL);
  if (fake->endpoint == NULL)
    fake->endpoint = endpoint;
  fail_unless (fake->endpoint == endpoint);
  return fake;
}

static Fake *
attach_user (Station * st, const gchar * user)
{
  g_autofree gchar *identity = g_strconcat (user, "@" HOST, NULL);

  return attach (st, identity);
}

/* @message (taken) comes in on @fake. */
static void
receive (Fake * fake, WspMessage * message)
{
  fail_unless (fake->endpoint != NULL, "%s is done", fake->identity);
  wsp_router_receive (fake->st->router, fake->endpoint, message);
  wsp_message_free (message);
}

static void
lose (Fake * fake)
{
  fake->gone = TRUE;
  wsp_router_closed (fake->st->router, fake->endpoint);
}

static void
refuse (Fake * fake)
{
  fake->gone = TRUE;
  wsp_router_refused (fake->st->router, fake->endpoint,
      "malformed \"offer\"\n");
}

static const WspMessage *
sent (Fake * fake, guint i)
{
  fail_unless (i < fake->sent->len, "%s: message %u of %u", fake->identity,
      i, fake->sent->len);
  return g_ptr_array_index (fake->sent, i);
}

/* The router has let go of @fake, its last word after @n_sent messages: a
 * `bye` @code (with @description if not NULL), a close without one (0), or
 * nothing at all (-1: the transport had closed it). */
static void
expect_end (Fake * fake, gint code, const gchar * description, guint n_sent)
{
  fail_unless (fake->done, "%s is not done", fake->identity);
  fail_unless_equals_int (fake->close_code, code);
  if (description != NULL)
    fail_unless_equals_string (fake->close_description, description);
  fail_unless_equals_int (fake->sent->len, n_sent);
}

#define expect_bye(fake, code, description, n_sent) \
  expect_end (fake, code, description, n_sent)
#define expect_closed_silently(fake, n_sent) expect_end (fake, 0, NULL, n_sent)
#define expect_released(fake, n_sent) expect_end (fake, -1, NULL, n_sent)

static void
expect_untouched (Fake * fake, guint n_sent)
{
  fail_if (fake->done, "%s is done", fake->identity);
  fail_unless_equals_int (fake->sent->len, n_sent);
}

/* An endpoint of @user registered as @uri (its own address if NULL). */
static Fake *
register_as (Station * st, const gchar * user, const gchar * uri)
{
  g_autofree gchar *own = g_strconcat (user, "@" HOST, NULL);
  Fake *fake = attach_user (st, user);
  guint before = wsp_router_count_registered (st->router, user);

  receive (fake, wsp_message_new_register (uri ? uri : own));
  fail_unless_equals_int (fake->sent->len, 1);
  fail_unless_equals_int (sent (fake, 0)->type, WSP_MESSAGE_REGISTERED);
  fail_unless_equals_string (sent (fake, 0)->registration.uri, uri ? uri : own);
  fail_unless_equals_int (wsp_router_count_registered (st->router, user),
      before + 1);
  /* Its timer stopped at the first message. */
  fail_unless_equals_int (fake->timeout_ms, 0);
  return fake;
}

static Fake *
register_user (Station * st, const gchar * user)
{
  return register_as (st, user, NULL);
}

static WspMessage *
invite_new (const gchar * caller_user, const gchar * callee_user,
    const gchar * snapshot)
{
  g_autofree gchar *caller = g_strconcat (caller_user, "@" HOST, NULL);
  g_autofree gchar *callee = g_strconcat (callee_user, "@" HOST, NULL);

  return wsp_message_new_invite (caller, "Front door", callee, NULL, snapshot);
}

/* The door calls alice, whose @n registered endpoints ring (@callees). */
static Fake *
door_rings_alice (Station * st, guint n, Fake ** callees)
{
  guint calls = wsp_router_count_calls (st->router);
  Fake *door;

  for (guint i = 0; i < n; i++)
    callees[i] = register_user (st, "alice");
  door = attach_user (st, "door");
  receive (door, invite_new ("door", "alice", NULL));
  for (guint i = 0; i < n; i++) {
    expect_untouched (callees[i], 2);
    fail_unless_equals_int (sent (callees[i], 1)->type, WSP_MESSAGE_INVITE);
  }
  fail_unless_equals_int (wsp_router_count_calls (st->router), calls + 1);
  return door;
}

static void
check_idle (Station * st)
{
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 0);
}

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
