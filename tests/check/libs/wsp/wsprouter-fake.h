/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WSP router tests' fake transport (wsprouter.c, wsprouter-stations.c):
 * each endpoint is a Fake that records what the router asks of it (the
 * messages sent, the close and its `bye`, the timer, the hand-over, done)
 * and checks the ops' contract as it goes; a Station is a router for
 * HOST with its fakes, and the helpers attach, register, invite and check
 * what each endpoint got. No socket. */

#pragma once

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
static inline void
fake_check_op (Fake * fake, WspRouterEndpoint * endpoint, const gchar * op)
{
  fail_if (fake->done, "%s: %s after done", fake->identity, op);
  fail_unless (endpoint == fake->endpoint, "%s: %s for another endpoint",
      fake->identity, op);
  fail_unless (fake->close_code == -1 && !fake->handed_over,
      "%s: %s after the endpoint left", fake->identity, op);
}

static inline void
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

static inline void
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

static inline void
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

static inline gboolean
op_is_open (WspRouterEndpoint * endpoint, gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "is_open");
  return fake->open;
}

static inline void
op_hand_over (WspRouterEndpoint * endpoint, const WspMessage * invite,
    const gchar * identity, gpointer data)
{
  Fake *fake = data;

  fake_check_op (fake, endpoint, "hand_over");
  fake->handed_over = TRUE;
  g_ptr_array_add (fake->st->door_invites, message_copy (invite));
  g_ptr_array_add (fake->st->door_identities, g_strdup (identity));
}

static inline void
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

static inline void
fake_free (Fake * fake)
{
  g_ptr_array_unref (fake->sent);
  g_free (fake->identity);
  g_free (fake->close_description);
  g_free (fake);
}

static inline Station *
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

static inline Station *
station_new (void)
{
  return station_new_full ("door");
}

/* Frees the router (if the test has not): every endpoint must be done. */
static inline void
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
static inline Fake *
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

static inline Fake *
attach_user (Station * st, const gchar * user)
{
  g_autofree gchar *identity = g_strconcat (user, "@" HOST, NULL);

  return attach (st, identity);
}

/* @message (taken) comes in on @fake. */
static inline void
receive (Fake * fake, WspMessage * message)
{
  fail_unless (fake->endpoint != NULL, "%s is done", fake->identity);
  wsp_router_receive (fake->st->router, fake->endpoint, message);
  wsp_message_free (message);
}

static inline void
lose (Fake * fake)
{
  fake->gone = TRUE;
  wsp_router_closed (fake->st->router, fake->endpoint);
}

static inline void
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
static inline void
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

static inline void
expect_untouched (Fake * fake, guint n_sent)
{
  fail_if (fake->done, "%s is done", fake->identity);
  fail_unless_equals_int (fake->sent->len, n_sent);
}

/* An endpoint of @user registered as @uri (its own address if NULL). */
static inline Fake *
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

static inline Fake *
register_user (Station * st, const gchar * user)
{
  return register_as (st, user, NULL);
}

static inline WspMessage *
invite_new (const gchar * caller_user, const gchar * callee_user,
    const gchar * snapshot)
{
  g_autofree gchar *caller = g_strconcat (caller_user, "@" HOST, NULL);
  g_autofree gchar *callee = g_strconcat (callee_user, "@" HOST, NULL);

  return wsp_message_new_invite (caller, "Front door", callee, NULL, snapshot);
}

/* The door calls alice, whose @n registered endpoints ring (@callees). */
static inline Fake *
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

static inline void
check_idle (Station * st)
{
  fail_unless_equals_int (wsp_router_count_calls (st->router), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "alice"), 0);
  fail_unless_equals_int (wsp_router_count_registered (st->router, "bob"), 0);
}

