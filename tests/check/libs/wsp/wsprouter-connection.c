/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router over WspConnection (wsprouter-connection.c; the rules,
 * each tested alone in wsprouter.c) with real sockets: a TLS SoupServer on
 * 127.0.0.1 whose WSP endpoint hands each socket to the router, and WSP
 * clients (wsp_connect_async) playing browsers and the door's signaller.
 * The socket's identity, which intercomd takes from the session cookie or
 * the bearer token, comes here from the test-only query parameter
 * `identity` of the upgrade request (the WSP client sets no other headers
 * than the token). Everything runs on the default main
 * context, driven with deadlines; nothing sleeps.
 *
 * Every test ends by freeing the router and waiting until every socket the
 * server accepted is finalized: the router keeps no reference it should
 * not. */

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "oi-test"
#endif

#include <gst/check/gstcheck.h>
#include <string.h>

#include "wsprouter-connection.h"

#define DEADLINE (10 * G_USEC_PER_SEC)
#include "wsptest.h"

#define CERT_PEM TEST_CERTS_DIR "/server.pem"
#define CERT_KEY TEST_CERTS_DIR "/server.key"

#define HOST "door.example:8443"
#define SNAPSHOT "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="
#define SDP "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

static const gchar *const users[] = { "alice", "bob", NULL };

static gchar *
address (const gchar * user)
{
  return g_strconcat (user, "@" HOST, NULL);
}

/* ---- A client, or the door's end of a call, with what it saw ------------ */

typedef struct
{
  WspConnection *conn;
  GPtrArray *messages;
  guint closed;
  guint close_code;
} Peer;

static void
on_peer_message (WspConnection * conn, WspMessage * message, Peer * peer)
{
  fail_unless (peer->closed == 0, "message after closed");
  g_ptr_array_add (peer->messages, message_copy (message));
}

static void
on_peer_closed (WspConnection * conn, guint code, Peer * peer)
{
  peer->closed++;
  peer->close_code = code;
}

static Peer *
peer_new (WspConnection * conn)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->conn = g_object_ref (conn);
  peer->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  g_signal_connect (conn, "message", G_CALLBACK (on_peer_message), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_peer_closed), peer);
  return peer;
}

/* Closes what is still open and waits for it, so that libsoup's
 * asynchronous stream close is over before the test ends (for LSan). */
static void
peer_free (Peer * peer)
{
  if (peer->closed == 0) {
    wsp_connection_close (peer->conn);
    WAIT_FOR (peer->closed > 0);
  }
  g_signal_handlers_disconnect_by_data (peer->conn, peer);
  g_object_unref (peer->conn);
  g_ptr_array_unref (peer->messages);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free);

static const WspMessage *
peer_message (Peer * peer, guint i)
{
  fail_unless (i < peer->messages->len, "message %u of %u", i,
      peer->messages->len);
  return g_ptr_array_index (peer->messages, i);
}

static void
peer_send (Peer * peer, WspMessage * message)
{
  wsp_connection_send (peer->conn, message);
  wsp_message_free (message);
}

/* Waits until the router has closed @peer after a `bye` @code, the last
 * of @n_messages messages it got. */
static void
expect_bye (Peer * peer, WspByeCode code, guint n_messages)
{
  const WspMessage *bye;

  WAIT_FOR (peer->closed);
  fail_unless_equals_int (peer->messages->len, n_messages);
  bye = peer_message (peer, n_messages - 1);
  fail_unless_equals_int (bye->type, WSP_MESSAGE_BYE);
  fail_unless_equals_int (bye->bye.code, code);
}

/* Waits until the router has closed @peer without a message beyond its
 * first @n_messages. */
static void
expect_closed_silently (Peer * peer, guint n_messages)
{
  WAIT_FOR (peer->closed);
  fail_unless_equals_int (peer->messages->len, n_messages);
}

/* ---- The station: a server and its router ------------------------------- */

typedef struct
{
  SoupServer *server;
  guint port;
  WspRouter *router;
  /* Sockets accepted, and those not yet finalized. */
  guint accepted;
  guint alive;
  /* The door callback: what it got, and its end of the socket. */
  GPtrArray *door_peers;
  GPtrArray *door_invites;
  GPtrArray *door_identities;
  /* Refuse with this code instead of keeping the socket; 0: keep. */
  WspByeCode door_refuse;
  /* Accept sockets with no door func. */
  gboolean no_door;
} Station;

static void
on_connection_finalized (gpointer user_data, GObject * where_it_was)
{
  Station *st = user_data;

  st->alive--;
}

static void
on_door (WspConnection * conn, const WspMessage * invite,
    const gchar * identity, gpointer user_data)
{
  Station *st = user_data;

  /* The router has let go of it already. */
  fail_if (g_signal_has_handler_pending (conn, g_signal_lookup ("message",
              WSP_TYPE_CONNECTION), 0, FALSE));
  fail_if (g_signal_has_handler_pending (conn, g_signal_lookup ("closed",
              WSP_TYPE_CONNECTION), 0, FALSE));

  g_ptr_array_add (st->door_invites, message_copy (invite));
  g_ptr_array_add (st->door_identities, g_strdup (identity));
  if (st->door_refuse != 0)
    /* No reference kept: the router keeps it until the close is over. */
    wsp_connection_send_bye_and_close (conn, st->door_refuse, NULL);
  else
    g_ptr_array_add (st->door_peers, peer_new (conn));
}

static void
on_accept (WspConnection * conn, SoupServerMessage * msg, gpointer user_data)
{
  Station *st = user_data;
  const gchar *query = g_uri_get_query (soup_server_message_get_uri (msg));
  g_autoptr (GHashTable) params = NULL;
  const gchar *identity;

  fail_unless (query != NULL);
  params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL);
  fail_unless (params != NULL);
  identity = g_hash_table_lookup (params, "identity");
  fail_unless (identity != NULL);

  st->accepted++;
  st->alive++;
  g_object_weak_ref (G_OBJECT (conn), on_connection_finalized, st);
  wsp_router_accept_connection (st->router, conn, identity,
      st->no_door ? NULL : on_door, st);
}

static Station *
station_new (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  Station *st = g_new0 (Station, 1);
  GSList *uris;

  wsp_test_watch_criticals ();

  st->door_peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  st->door_invites = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wsp_message_free);
  st->door_identities = g_ptr_array_new_with_free_func (g_free);
  st->router = wsp_router_new (HOST, "door");
  fail_unless (st->router != NULL);
  wsp_router_set_users (st->router, users);

  cert = g_tls_certificate_new_from_files (CERT_PEM, CERT_KEY, &error);
  fail_unless (cert != NULL, "%s", error ? error->message : "");
  st->server = soup_server_new ("tls-certificate", cert, NULL);
  wsp_server_add_endpoint (st->server, "/wsp", NULL, on_accept, st, NULL);
  fail_unless (soup_server_listen_local (st->server, 0,
          SOUP_SERVER_LISTEN_HTTPS | SOUP_SERVER_LISTEN_IPV4_ONLY, &error),
      "%s", error ? error->message : "");
  uris = soup_server_get_uris (st->server);
  fail_unless (uris != NULL);
  st->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return st;
}

/* Frees the router (if the test has not), the door's sockets, and waits
 * until every accepted socket is gone. */
static void
station_free (Station * st)
{
  g_clear_pointer (&st->router, wsp_router_free);
  g_ptr_array_unref (st->door_peers);
  WAIT_FOR (st->alive == 0);

  g_ptr_array_unref (st->door_invites);
  g_ptr_array_unref (st->door_identities);
  soup_server_disconnect (st->server);
  g_object_unref (st->server);
  g_free (st);
  /* Let the streams libsoup closes asynchronously finish closing. */
  run_for (50);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Station, station_free);

static void
on_async_result (GObject * source, GAsyncResult * result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* A socket to @st whose authenticated identity is @identity, once the
 * router has it. */
static Peer *
connect_as (Station * st, const gchar * identity)
{
  static const WspClientOptions options = {
    .pinned_certificate_file = CERT_PEM,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (WspConnection) conn = NULL;
  g_autofree gchar *escaped = g_uri_escape_string (identity, NULL, FALSE);
  g_autofree gchar *uri = g_strdup_printf ("wss://127.0.0.1:%u/wsp?"
      "identity=%s", st->port, escaped);
  guint before = st->accepted;
  Peer *peer;

  wsp_connect_async (uri, &options, NULL, on_async_result, &result);
  WAIT_FOR (result != NULL);
  conn = wsp_connect_finish (result, &error);
  fail_unless (conn != NULL, "connect failed: %s", error ? error->message : "");
  peer = peer_new (conn);
  /* The server runs its accept callback once it has written the 101,
   * which may be after the client has read it. */
  WAIT_FOR (st->accepted > before);
  return peer;
}

static Peer *
connect_user (Station * st, const gchar * user)
{
  g_autofree gchar *identity = address (user);

  return connect_as (st, identity);
}

/* A socket of @user registered as @uri (its own address if NULL). */
static Peer *
register_user (Station * st, const gchar * user, const gchar * uri)
{
  g_autofree gchar *own = address (user);
  Peer *peer = connect_user (st, user);
  guint before = wsp_router_count_registered (st->router, user);
  const WspMessage *reply;

  if (uri == NULL)
    uri = own;
  peer_send (peer, wsp_message_new_register (uri));
  WAIT_FOR (peer->messages->len == 1);
  reply = peer_message (peer, 0);
  fail_unless_equals_int (reply->type, WSP_MESSAGE_REGISTERED);
  fail_unless_equals_string (reply->registration.uri, uri);
  fail_unless_equals_int (wsp_router_count_registered (st->router, user),
      before + 1);
  return peer;
}

/* @from (a socket of @caller_user) invites @callee_uri. */
static WspMessage *
invite_new (const gchar * caller_user, const gchar * callee_uri,
    const gchar * snapshot)
{
  g_autofree gchar *caller_uri = address (caller_user);

  return wsp_message_new_invite (caller_uri, "Front door", callee_uri, NULL,
      snapshot);
}

/* The door invites alice, whose one registered socket (@phone) rings:
 * returns the door's socket. */
static Peer *
door_rings_alice (Station * st, Peer ** phone)
{
  Peer *door;

  *phone = register_user (st, "alice", NULL);
  door = connect_user (st, "door");
  peer_send (door, invite_new ("door", "alice@" HOST, NULL));
  WAIT_FOR ((*phone)->messages->len == 2);
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
  g_autoptr (Peer) one = NULL;
  g_autoptr (Peer) other = NULL;
  g_autoptr (Peer) bob = NULL;

  one = register_user (st, "alice", NULL);
  /* Hosts compare case-insensitively; the reply echoes the uri. */
  other = register_user (st, "alice", "alice@DOOR.example:8443");
  bob = register_user (st, "bob", NULL);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 2);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "door"), 0);

  /* A `bye` while waiting drops the registration and the socket. */
  peer_send (one, wsp_message_new_bye (WSP_BYE_NORMAL, NULL));
  expect_closed_silently (one, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);

  /* So does a close. */
  wsp_connection_close (other->conn);
  WAIT_FOR (wsp_router_count_registered (st->router, "alice") == 0);
  wsp_connection_close (bob->conn);
  WAIT_FOR (wsp_router_count_registered (st->router, "bob") == 0);
  check_idle (st);
}

GST_END_TEST;

/* Only one's own address (every case: wsprouter.c). */
GST_START_TEST (test_register_forbidden)
{
  static const gchar *const uris[] = { "bob@" HOST, "alice@door.example" };
  g_autoptr (Station) st = station_new ();

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++) {
    g_autoptr (Peer) peer = connect_user (st, "alice");

    peer_send (peer, wsp_message_new_register (uris[i]));
    expect_bye (peer, WSP_BYE_FORBIDDEN, 1);
  }
  check_idle (st);
}

GST_END_TEST;

GST_START_TEST (test_register_unknown)
{
  static const gchar *const only_bob[] = { "bob", NULL };
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) alice = NULL;
  g_autoptr (Peer) bob = NULL;

  /* Not in the config. The door is not a user that registers here. */
  {
    g_autoptr (Peer) carol = connect_user (st, "carol");
    g_autoptr (Peer) door = connect_user (st, "door");

    peer_send (carol, wsp_message_new_register ("carol@" HOST));
    peer_send (door, wsp_message_new_register ("door@" HOST));
    expect_bye (carol, WSP_BYE_UNKNOWN_CALLEE, 1);
    expect_bye (door, WSP_BYE_UNKNOWN_CALLEE, 1);
  }
  /* An identity of another station registering itself. */
  {
    g_autoptr (Peer) other = connect_as (st, "alice@other.example");

    peer_send (other, wsp_message_new_register ("alice@other.example"));
    expect_bye (other, WSP_BYE_UNKNOWN_CALLEE, 1);
  }

  /* A reload that removes a user ends its registrations. */
  alice = register_user (st, "alice", NULL);
  bob = register_user (st, "bob", NULL);
  wsp_router_set_users (st->router, only_bob);
  expect_bye (alice, WSP_BYE_UNKNOWN_CALLEE, 2);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);
  fail_if (bob->closed);
  {
    g_autoptr (Peer) again = connect_user (st, "alice");

    peer_send (again, wsp_message_new_register ("alice@" HOST));
    expect_bye (again, WSP_BYE_UNKNOWN_CALLEE, 1);
  }
}

GST_END_TEST;

GST_START_TEST (test_registered_waits)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) alice = NULL;
  g_autoptr (Peer) bob = NULL;

  alice = register_user (st, "alice", NULL);
  peer_send (alice, wsp_message_new_ringing ());
  expect_bye (alice, WSP_BYE_BAD_REQUEST, 2);

  /* Registering twice on one socket is out of place too. */
  bob = register_user (st, "bob", NULL);
  peer_send (bob, wsp_message_new_register ("bob@" HOST));
  expect_bye (bob, WSP_BYE_BAD_REQUEST, 2);
  check_idle (st);
}

GST_END_TEST;

/* ---- First messages ------------------------------------------------------ */

GST_START_TEST (test_first_message)
{
  g_autoptr (Station) st = station_new ();
  WspMessage *firsts[] = {
    wsp_message_new_ringing (),
    wsp_message_new_answer (SDP),
    wsp_message_new_bye (WSP_BYE_NORMAL, NULL),
    wsp_message_new_registered ("alice@" HOST),
  };

  for (guint i = 0; i < G_N_ELEMENTS (firsts); i++) {
    g_autoptr (Peer) peer = connect_user (st, "alice");

    peer_send (peer, firsts[i]);
    expect_bye (peer, WSP_BYE_BAD_REQUEST, 1);
  }

  /* A malformed one: the transport's own `bye` 400, and the router lets
   * go of the socket. */
  {
    g_autoptr (Peer) peer = connect_user (st, "alice");

    soup_websocket_connection_send_text (wsp_connection_get_websocket
        (peer->conn), "[\"register\", {\"uri\": 42}]");
    expect_bye (peer, WSP_BYE_BAD_REQUEST, 1);
  }

  /* Nothing at all. */
  wsp_router_set_first_message_timeout (st->router, 200);
  {
    g_autoptr (Peer) peer = connect_user (st, "alice");
    gint64 start = g_get_monotonic_time ();

    expect_bye (peer, WSP_BYE_TIMEOUT, 1);
    fail_unless (g_get_monotonic_time () - start >=
        150 * G_TIME_SPAN_MILLISECOND);
  }
  /* A registered socket waits as long as it likes. */
  {
    g_autoptr (Peer) peer = register_user (st, "alice", NULL);

    run_for (400);
    fail_if (peer->closed);
    fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"),
        1);
  }
  WAIT_FOR (wsp_router_count_registered (st->router, "alice") == 0);
  check_idle (st);
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
    /* One of each answer; every case is in the unit test (wsprouter.c). */
    {"door@" HOST, "door@" HOST, "bob@" HOST, WSP_BYE_NOT_REACHABLE},
    {"door@" HOST, "door@" HOST, "carol@" HOST, WSP_BYE_UNKNOWN_CALLEE},
    {"alice@" HOST, "bob@" HOST, "bob@" HOST, WSP_BYE_FORBIDDEN},
    {"*@garden.test:8443", "carol@shed.test", "door@" HOST,
        WSP_BYE_FORBIDDEN},
    {"alice@" HOST, "alice@" HOST, "bob@other.example:8443",
        WSP_BYE_UNKNOWN_CALLEE},
  };
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) alice = NULL;

  /* Registered, but under another user than the callee. */
  alice = register_user (st, "alice", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (Peer) peer = connect_as (st, cases[i].identity);

    peer_send (peer, wsp_message_new_invite (cases[i].caller, NULL,
            cases[i].callee, NULL, NULL));
    expect_bye (peer, cases[i].code, 1);
  }
  fail_unless_equals_int (st->door_invites->len, 0);
  fail_unless_equals_int (alice->messages->len, 1);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 1);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
}

GST_END_TEST;

/* Another station ([peer] token): any user at its host may call a user or
 * the door here; it never registers. */
GST_START_TEST (test_peer_station)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) bob = register_user (st, "bob", NULL);
  g_autoptr (Peer) garden = connect_as (st, "*@garden.test:8443");
  g_autoptr (Peer) registering = connect_as (st, "*@garden.test:8443");
  g_autoptr (Peer) door_caller = connect_as (st, "*@garden.test:8443");

  peer_send (registering, wsp_message_new_register ("carol@garden.test:8443"));
  expect_bye (registering, WSP_BYE_FORBIDDEN, 1);

  /* the host without case; any user there */
  peer_send (garden, wsp_message_new_invite ("carol@Garden.Test:8443",
          "Garden", "bob@" HOST, NULL, NULL));
  WAIT_FOR (bob->messages->len == 2);
  fail_unless_equals_int (peer_message (bob, 1)->type, WSP_MESSAGE_INVITE);
  fail_unless_equals_string (peer_message (bob, 1)->invite.caller.uri,
      "carol@Garden.Test:8443");

  peer_send (door_caller, wsp_message_new_invite ("dave@garden.test:8443",
          NULL, "door@" HOST, NULL, NULL));
  WAIT_FOR (st->door_invites->len == 1);
}

GST_END_TEST;

/* A registration whose socket has closed, or is closing (the client's
 * "closed" comes once the server has the close frame), is not rung. */
GST_START_TEST (test_invite_stale_registration)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) bob = NULL;
  g_autoptr (Peer) door = NULL;

  bob = register_user (st, "bob", NULL);
  door = connect_user (st, "door");
  wsp_connection_close (bob->conn);
  WAIT_FOR (bob->closed);
  peer_send (door, invite_new ("door", "bob@" HOST, NULL));
  expect_bye (door, WSP_BYE_NOT_REACHABLE, 1);
  fail_unless_equals_int (bob->messages->len, 1);
  check_idle (st);
}

GST_END_TEST;

/* ---- The door ------------------------------------------------------------ */

GST_START_TEST (test_invite_door)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) alice = NULL;
  g_autoptr (WspMessage) invite = NULL;
  Peer *door;

  /* The host of the callee is ours whatever its case. */
  alice = connect_user (st, "alice");
  invite = invite_new ("alice", "door@Door.Example:8443", NULL);
  wsp_connection_send (alice->conn, invite);
  WAIT_FOR (st->door_peers->len == 1);
  fail_unless (wsp_message_equal (g_ptr_array_index (st->door_invites, 0),
          invite));
  fail_unless_equals_string (g_ptr_array_index (st->door_identities, 0),
      "alice@" HOST);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);

  /* The socket is the door's now, both ways. */
  door = g_ptr_array_index (st->door_peers, 0);
  peer_send (door, wsp_message_new_ringing ());
  WAIT_FOR (alice->messages->len == 1);
  fail_unless_equals_int (peer_message (alice, 0)->type, WSP_MESSAGE_RINGING);
  peer_send (alice, wsp_message_new_bye (WSP_BYE_NORMAL, NULL));
  WAIT_FOR (door->messages->len == 1);
  fail_unless_equals_int (peer_message (door, 0)->type, WSP_MESSAGE_BYE);

  /* A refusal from the callback reaches the caller, though the callback
   * keeps no reference. */
  st->door_refuse = WSP_BYE_FORBIDDEN;
  {
    g_autoptr (Peer) bob = connect_user (st, "bob");

    peer_send (bob, invite_new ("bob", "door@" HOST, SNAPSHOT));
    expect_bye (bob, WSP_BYE_FORBIDDEN, 1);
    fail_unless_equals_int (st->door_invites->len, 2);
    fail_unless_equals_string (((WspMessage *) g_ptr_array_index
            (st->door_invites, 1))->invite.snapshot, SNAPSHOT);
  }
  check_idle (st);
}

GST_END_TEST;

/* A socket accepted with no door func: its invite for the door gets 404. */
GST_START_TEST (test_invite_no_door)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) alice = NULL;

  st->no_door = TRUE;
  alice = connect_user (st, "alice");
  peer_send (alice, invite_new ("alice", "door@" HOST, NULL));
  expect_bye (alice, WSP_BYE_UNKNOWN_CALLEE, 1);
  fail_unless_equals_int (st->door_invites->len, 0);
  check_idle (st);
}

GST_END_TEST;

/* ---- Routed calls -------------------------------------------------------- */

GST_START_TEST (test_ring_group)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) phone = NULL;
  g_autoptr (Peer) tablet = NULL;
  g_autoptr (Peer) bob = NULL;
  g_autoptr (Peer) door = NULL;
  g_autoptr (WspMessage) invite = NULL;
  g_autoptr (WspMessage) offer = wsp_message_new_offer (SDP);
  g_autoptr (WspMessage) answer = wsp_message_new_answer (SDP);
  g_autoptr (WspMessage) to_callee = NULL;
  g_autoptr (WspMessage) to_caller = NULL;
  const WspMessage *msg;

  phone = register_user (st, "alice", NULL);
  tablet = register_user (st, "alice", NULL);
  bob = register_user (st, "bob", NULL);
  door = connect_user (st, "door");

  /* The invite, snapshot included, reaches every socket of alice. */
  invite = invite_new ("door", "alice@" HOST, SNAPSHOT);
  wsp_connection_send (door->conn, invite);
  WAIT_FOR (phone->messages->len == 2 && tablet->messages->len == 2);
  fail_unless (wsp_message_equal (peer_message (phone, 1), invite));
  fail_unless (wsp_message_equal (peer_message (tablet, 1), invite));
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 1);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* A candidate of a callee that has not won is dropped; the first
   * ringing goes to the caller. */
  peer_send (phone, wsp_message_new_ice_candidate ("candidate:1 1 udp 1 "
          "127.0.0.1 5000 typ host", "0", 0));
  peer_send (phone, wsp_message_new_ringing ());
  WAIT_FOR (door->messages->len == 1);
  fail_unless_equals_int (peer_message (door, 0)->type, WSP_MESSAGE_RINGING);

  /* The second ringing is not passed; the first offer wins. */
  peer_send (tablet, wsp_message_new_ringing ());
  wsp_connection_send (tablet->conn, offer);
  WAIT_FOR (door->messages->len == 2);
  fail_unless (wsp_message_equal (peer_message (door, 1), offer));
  expect_bye (phone, WSP_BYE_CANCELLED, 3);
  fail_unless_equals_string (peer_message (phone, 2)->bye.description,
      "Answered elsewhere");
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* Then both ways. */
  wsp_connection_send (door->conn, answer);
  to_callee = wsp_message_new_ice_candidate ("candidate:2 1 udp 2 "
      "127.0.0.1 5002 typ host", NULL, 0);
  wsp_connection_send (door->conn, to_callee);
  to_caller = wsp_message_new_ice_candidate ("candidate:3 1 udp 3 "
      "127.0.0.1 5003 typ host", "0", -1);
  wsp_connection_send (tablet->conn, to_caller);
  WAIT_FOR (tablet->messages->len == 4 && door->messages->len == 3);
  fail_unless (wsp_message_equal (peer_message (tablet, 2), answer));
  fail_unless (wsp_message_equal (peer_message (tablet, 3), to_callee));
  fail_unless (wsp_message_equal (peer_message (door, 2), to_caller));

  /* The hand-over: the 101 goes to the callee, and both sockets close. */
  peer_send (door, wsp_message_new_bye (WSP_BYE_TRANSFERRED, NULL));
  expect_bye (tablet, WSP_BYE_TRANSFERRED, 5);
  msg = peer_message (tablet, 4);
  fail_unless_equals_string (msg->bye.description,
      wsp_bye_code_to_string (WSP_BYE_TRANSFERRED));
  expect_closed_silently (door, 3);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);

  /* bob was never involved. */
  fail_if (bob->closed);
  fail_unless_equals_int (bob->messages->len, 1);
}

GST_END_TEST;

/* The winner hangs up: its `bye`, description included, goes to the
 * caller; a caller that is itself a user works the same. */
GST_START_TEST (test_winner_bye)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) bob = NULL;
  g_autoptr (Peer) alice = NULL;

  bob = register_user (st, "bob", NULL);
  alice = connect_user (st, "alice");
  peer_send (alice, invite_new ("alice", "bob@" HOST, NULL));
  WAIT_FOR (bob->messages->len == 2);
  peer_send (bob, wsp_message_new_offer (SDP));
  WAIT_FOR (alice->messages->len == 1);
  peer_send (bob, wsp_message_new_bye (WSP_BYE_NORMAL, "Hung up"));
  expect_bye (alice, WSP_BYE_NORMAL, 2);
  fail_unless_equals_string (peer_message (alice, 1)->bye.description,
      "Hung up");
  expect_closed_silently (bob, 2);
  check_idle (st);
}

GST_END_TEST;

GST_START_TEST (test_decline_all)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) phone = NULL;
  g_autoptr (Peer) tablet = NULL;
  g_autoptr (Peer) door = NULL;

  phone = register_user (st, "alice", NULL);
  tablet = register_user (st, "alice", NULL);
  door = connect_user (st, "door");
  peer_send (door, invite_new ("door", "alice@" HOST, NULL));
  WAIT_FOR (phone->messages->len == 2 && tablet->messages->len == 2);

  /* One declines: the other still rings, the caller hears nothing. */
  peer_send (phone, wsp_message_new_bye (WSP_BYE_DECLINED, NULL));
  expect_closed_silently (phone, 2);
  fail_if (door->closed);
  fail_unless_equals_int (door->messages->len, 0);
  fail_unless_equals_int (wsp_router_count_calls (st->router), 1);

  /* The last one's code goes to the caller. */
  peer_send (tablet, wsp_message_new_bye (WSP_BYE_DECLINED, "Not now"));
  expect_bye (door, WSP_BYE_DECLINED, 1);
  fail_unless_equals_string (peer_message (door, 0)->bye.description,
      "Not now");
  expect_closed_silently (tablet, 2);
  check_idle (st);
}

GST_END_TEST;

GST_START_TEST (test_cancel)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) phone = NULL;
  g_autoptr (Peer) tablet = NULL;
  g_autoptr (Peer) door = NULL;

  phone = register_user (st, "alice", NULL);
  tablet = register_user (st, "alice", NULL);
  door = connect_user (st, "door");
  peer_send (door, invite_new ("door", "alice@" HOST, NULL));
  WAIT_FOR (phone->messages->len == 2 && tablet->messages->len == 2);
  peer_send (phone, wsp_message_new_ringing ());
  WAIT_FOR (door->messages->len == 1);

  peer_send (door, wsp_message_new_bye (WSP_BYE_TIMEOUT, NULL));
  expect_bye (phone, WSP_BYE_CANCELLED, 3);
  expect_bye (tablet, WSP_BYE_CANCELLED, 3);
  fail_unless_equals_string (peer_message (tablet, 2)->bye.description,
      "Cancelled");
  expect_closed_silently (door, 1);
  check_idle (st);
}

GST_END_TEST;

/* Sockets that close without a `bye`. */
GST_START_TEST (test_lost_sockets)
{
  g_autoptr (Station) st = station_new ();

  /* The caller, before an offer: the callees get 487. */
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    wsp_connection_close (door->conn);
    expect_bye (phone, WSP_BYE_CANCELLED, 3);
    check_idle (st);
  }
  /* The winner: the caller gets 408. */
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    peer_send (phone, wsp_message_new_offer (SDP));
    WAIT_FOR (door->messages->len == 1);
    wsp_connection_close (phone->conn);
    expect_bye (door, WSP_BYE_TIMEOUT, 2);
    check_idle (st);
  }
  /* The caller, after the offer: the winner gets 408. */
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    peer_send (phone, wsp_message_new_offer (SDP));
    WAIT_FOR (door->messages->len == 1);
    wsp_connection_close (door->conn);
    expect_bye (phone, WSP_BYE_TIMEOUT, 3);
    check_idle (st);
  }
  /* The only callee, still ringing: as a `bye` 408 from it. */
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    wsp_connection_close (phone->conn);
    expect_bye (door, WSP_BYE_TIMEOUT, 1);
    check_idle (st);
  }
}

GST_END_TEST;

/* Messages out of place in a call. */
GST_START_TEST (test_call_protocol_errors)
{
  g_autoptr (Station) st = station_new ();

  /* The caller answers before any offer: everyone gets 400. */
  {
    g_autoptr (Peer) phone = register_user (st, "alice", NULL);
    g_autoptr (Peer) tablet = register_user (st, "alice", NULL);
    g_autoptr (Peer) door = connect_user (st, "door");

    peer_send (door, invite_new ("door", "alice@" HOST, NULL));
    WAIT_FOR (phone->messages->len == 2 && tablet->messages->len == 2);
    peer_send (door, wsp_message_new_answer (SDP));
    expect_bye (door, WSP_BYE_BAD_REQUEST, 1);
    expect_bye (phone, WSP_BYE_BAD_REQUEST, 3);
    expect_bye (tablet, WSP_BYE_BAD_REQUEST, 3);
    check_idle (st);
  }
  /* A ringing callee that answers leaves the ring; the call goes on with
   * the other, until an invite in the middle of it ends it for both. */
  {
    g_autoptr (Peer) phone = register_user (st, "alice", NULL);
    g_autoptr (Peer) tablet = register_user (st, "alice", NULL);
    g_autoptr (Peer) door = connect_user (st, "door");

    peer_send (door, invite_new ("door", "alice@" HOST, NULL));
    WAIT_FOR (phone->messages->len == 2 && tablet->messages->len == 2);
    peer_send (phone, wsp_message_new_answer (SDP));
    expect_bye (phone, WSP_BYE_BAD_REQUEST, 3);
    fail_unless_equals_int (wsp_router_count_calls (st->router), 1);
    peer_send (tablet, wsp_message_new_offer (SDP));
    WAIT_FOR (door->messages->len == 1);
    peer_send (door, invite_new ("door", "alice@" HOST, NULL));
    expect_bye (door, WSP_BYE_BAD_REQUEST, 2);
    expect_bye (tablet, WSP_BYE_BAD_REQUEST, 3);
    check_idle (st);
  }
  /* The winner registers again mid-call; then a malformed message from
   * the last callee still ringing. */
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    peer_send (phone, wsp_message_new_offer (SDP));
    WAIT_FOR (door->messages->len == 1);
    peer_send (phone, wsp_message_new_register ("alice@" HOST));
    expect_bye (phone, WSP_BYE_BAD_REQUEST, 3);
    expect_bye (door, WSP_BYE_BAD_REQUEST, 2);
    check_idle (st);
  }
  {
    g_autoptr (Peer) phone = NULL;
    g_autoptr (Peer) door = door_rings_alice (st, &phone);

    soup_websocket_connection_send_text (wsp_connection_get_websocket
        (phone->conn), "[\"offer\"]");
    expect_bye (phone, WSP_BYE_BAD_REQUEST, 3);
    expect_bye (door, WSP_BYE_TIMEOUT, 1);
    check_idle (st);
  }
}

GST_END_TEST;

/* Freeing the router: calls end with 500, other sockets just close. */
GST_START_TEST (test_free)
{
  g_autoptr (Station) st = station_new ();
  g_autoptr (Peer) phone = NULL;
  g_autoptr (Peer) door = NULL;
  g_autoptr (Peer) bob = NULL;
  g_autoptr (Peer) fresh = NULL;

  phone = register_user (st, "alice", NULL);
  door = connect_user (st, "door");
  peer_send (door, invite_new ("door", "alice@" HOST, NULL));
  WAIT_FOR (phone->messages->len == 2);
  peer_send (phone, wsp_message_new_offer (SDP));
  WAIT_FOR (door->messages->len == 1);
  bob = register_user (st, "bob", NULL);
  fresh = connect_user (st, "alice");

  g_clear_pointer (&st->router, wsp_router_free);
  expect_bye (phone, WSP_BYE_INTERNAL_ERROR, 3);
  expect_bye (door, WSP_BYE_INTERNAL_ERROR, 2);
  expect_closed_silently (bob, 1);
  expect_closed_silently (fresh, 0);
  WAIT_FOR (st->alive == 0);
}

GST_END_TEST;

static Suite *
router_suite (void)
{
  Suite *s = suite_create ("router");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_register);
  tcase_add_test (tc, test_peer_station);
  tcase_add_test (tc, test_register_forbidden);
  tcase_add_test (tc, test_register_unknown);
  tcase_add_test (tc, test_registered_waits);
  tcase_add_test (tc, test_first_message);
  tcase_add_test (tc, test_invite_refused);
  tcase_add_test (tc, test_invite_stale_registration);
  tcase_add_test (tc, test_invite_door);
  tcase_add_test (tc, test_invite_no_door);
  tcase_add_test (tc, test_ring_group);
  tcase_add_test (tc, test_winner_bye);
  tcase_add_test (tc, test_decline_all);
  tcase_add_test (tc, test_cancel);
  tcase_add_test (tc, test_lost_sockets);
  tcase_add_test (tc, test_call_protocol_errors);
  tcase_add_test (tc, test_free);
  return s;
}

WSP_TEST_TLS_MAIN (router)
