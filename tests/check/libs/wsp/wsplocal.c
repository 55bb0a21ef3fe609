/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-process WSP (`inproc://NAME`, wsplocal.c): a registered server and
 * clients over a socket pair, on one thread and across threads; the names'
 * rules; the same limits as over the network; a server that goes away. No
 * TLS and no port: nothing here listens on the network. */

#include "wsptest.h"
#include "wsptransport.h"

typedef struct
{
  GPtrArray *accepted;          /* WspConnection */
  GThread *thread;              /* where accept ran */
  gint destroyed;
} Server;

static void
on_accept (WspConnection * connection, gpointer data)
{
  Server *server = data;

  server->thread = g_thread_self ();
  g_ptr_array_add (server->accepted, g_object_ref (connection));
}

static void
on_destroy (gpointer data)
{
  Server *server = data;

  g_atomic_int_inc (&server->destroyed);
}

static void
server_init (Server * server)
{
  server->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  server->thread = NULL;
  server->destroyed = 0;
}

/* What a connection received and how it ended. */
typedef struct
{
  GPtrArray *messages;          /* WspMessage */
  guint close_code;
  gboolean closed;
  gboolean protocol_error;
} Seen;

static void
seen_message (WspConnection * connection, WspMessage * message, Seen * seen)
{
  g_ptr_array_add (seen->messages, message_copy (message));
}

static void
seen_closed (WspConnection * connection, guint code, Seen * seen)
{
  seen->closed = TRUE;
  seen->close_code = code;
}

static void
seen_protocol_error (WspConnection * connection, GError * error, Seen * seen)
{
  seen->protocol_error = TRUE;
}

static void
watch (WspConnection * connection, Seen * seen)
{
  seen->messages =
      g_ptr_array_new_with_free_func ((GDestroyNotify) wsp_message_free);
  g_signal_connect (connection, "message", G_CALLBACK (seen_message), seen);
  g_signal_connect (connection, "closed", G_CALLBACK (seen_closed), seen);
  g_signal_connect (connection, "protocol-error",
      G_CALLBACK (seen_protocol_error), seen);
}

static void
connected (GObject * source, GAsyncResult * result, gpointer data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

/* Connects to @uri from the thread-default context, waiting for the
 * result. */
static WspConnection *
connect_local (const gchar * uri, const WspLimits * limits, GError ** error)
{
  GAsyncResult *result = NULL;
  WspClientOptions options = { 0, };
  WspConnection *connection;

  options.limits = limits;
  wsp_connect_async (uri, &options, NULL, connected, &result);
  WAIT_FOR (result != NULL);
  connection = wsp_connect_finish (result, error);
  g_object_unref (result);
  return connection;
}

GST_START_TEST (test_messages_both_ways)
{
  Server server;
  g_autoptr (WspLocalServer) local = NULL;
  g_autoptr (WspConnection) client = NULL;
  g_autoptr (WspMessage) invite = NULL;
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();
  g_autoptr (GError) error = NULL;
  Seen at_client = { 0, }, at_server = { 0, };
  WspConnection *accepted;

  server_init (&server);
  local = wsp_local_server_new ("home", NULL, on_accept, &server, on_destroy,
      &error);
  fail_unless (local != NULL, "%s", error ? error->message : "");

  client = connect_local ("inproc://home", NULL, &error);
  fail_unless (client != NULL, "%s", error ? error->message : "");
  fail_unless (wsp_connection_is_open (client));
  watch (client, &at_client);
  /* Sent before the server side exists: it waits in the socket. */
  invite = wsp_message_new_invite ("door@example.org", "Door",
      "alice@example.org", NULL, NULL);
  wsp_connection_send (client, invite);

  WAIT_FOR (server.accepted->len == 1);
  fail_unless (server.thread == g_thread_self ());
  accepted = g_ptr_array_index (server.accepted, 0);
  fail_unless (wsp_connection_get_remote_address (accepted) == NULL);
  watch (accepted, &at_server);
  WAIT_FOR (at_server.messages->len == 1);
  fail_unless_equals_int (((WspMessage *)
          g_ptr_array_index (at_server.messages, 0))->type,
      WSP_MESSAGE_INVITE);
  fail_unless_equals_string (((WspMessage *)
          g_ptr_array_index (at_server.messages, 0))->invite.callee.uri,
      "alice@example.org");

  wsp_connection_send (accepted, ringing);
  WAIT_FOR (at_client.messages->len == 1);
  fail_unless_equals_int (((WspMessage *)
          g_ptr_array_index (at_client.messages, 0))->type,
      WSP_MESSAGE_RINGING);

  /* A bye and close from the server: the client reads both. */
  wsp_connection_send_bye_and_close (accepted, WSP_BYE_DECLINED, NULL);
  WAIT_FOR (at_client.closed && at_server.closed);
  fail_unless_equals_int (at_client.messages->len, 2);
  fail_unless_equals_int (((WspMessage *)
          g_ptr_array_index (at_client.messages, 1))->bye.code,
      WSP_BYE_DECLINED);
  fail_unless_equals_int (at_client.close_code, 1000);

  g_clear_pointer (&local, wsp_local_server_free);
  fail_unless_equals_int (server.destroyed, 1);
  g_ptr_array_unref (server.accepted);
  g_ptr_array_unref (at_client.messages);
  g_ptr_array_unref (at_server.messages);
}

GST_END_TEST;

GST_START_TEST (test_names)
{
  Server server;
  g_autoptr (GError) error = NULL;
  g_autoptr (WspLocalServer) local = NULL;
  WspLocalServer *twice;
  WspConnection *client;
  gchar long_name[66];

  server_init (&server);
  fail_unless (wsp_local_name_is_valid ("intercomd"));
  fail_unless (wsp_local_name_is_valid ("door-1.home_2"));
  fail_if (wsp_local_name_is_valid (""));
  fail_if (wsp_local_name_is_valid ("a/b"));
  fail_if (wsp_local_name_is_valid ("a b"));
  fail_if (wsp_local_name_is_valid (NULL));
  memset (long_name, 'a', 65);
  long_name[65] = '\0';
  fail_if (wsp_local_name_is_valid (long_name));
  long_name[64] = '\0';
  fail_unless (wsp_local_name_is_valid (long_name));

  fail_unless (wsp_local_server_new ("no/slash", NULL, on_accept, &server,
          NULL, &error) == NULL);
  fail_unless (g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_INVALID_ARGUMENT));
  g_clear_error (&error);

  local = wsp_local_server_new ("once", NULL, on_accept, &server, NULL,
      &error);
  fail_unless (local != NULL);
  twice = wsp_local_server_new ("once", NULL, on_accept, &server, NULL,
      &error);
  fail_unless (twice == NULL);
  fail_unless (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS));
  g_clear_error (&error);

  client = connect_local ("inproc://nobody", NULL, &error);
  fail_unless (client == NULL);
  fail_unless (g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_CONNECTION_REFUSED), "%s", error->message);
  g_clear_error (&error);

  client = connect_local ("inproc://bad%20name", NULL, &error);
  fail_unless (client == NULL);
  fail_unless (g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_INVALID_ARGUMENT), "%s", error->message);
  g_clear_error (&error);

  /* A freed name may be taken again. */
  g_clear_pointer (&local, wsp_local_server_free);
  local = wsp_local_server_new ("once", NULL, on_accept, &server, NULL,
      &error);
  fail_unless (local != NULL);
  run_for (50);
  fail_unless_equals_int (server.accepted->len, 0);
  g_ptr_array_unref (server.accepted);
}

GST_END_TEST;

/* The server on a thread of its own with its own context, the client on
 * this one: accept runs on the server's thread, messages cross. */
typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  Server server;
  WspLocalServer *local;
  Seen seen;
  GMutex lock;
  GCond cond;
  gboolean ready;
} ServerThread;

static void
thread_accept (WspConnection * connection, gpointer data)
{
  ServerThread *st = data;
  g_autoptr (WspMessage) ringing = wsp_message_new_ringing ();

  on_accept (connection, &st->server);
  wsp_connection_send (connection, ringing);
}

static gpointer
server_thread (gpointer data)
{
  ServerThread *st = data;

  g_main_context_push_thread_default (st->context);
  st->local = wsp_local_server_new ("threaded", NULL, thread_accept, st,
      NULL, NULL);
  g_mutex_lock (&st->lock);
  st->ready = TRUE;
  g_cond_signal (&st->cond);
  g_mutex_unlock (&st->lock);
  g_main_loop_run (st->loop);
  /* Freed on its own context, as the API asks. */
  wsp_local_server_free (st->local);
  g_ptr_array_set_size (st->server.accepted, 0);
  g_main_context_pop_thread_default (st->context);
  return NULL;
}

GST_START_TEST (test_across_threads)
{
  ServerThread st = { 0, };
  g_autoptr (WspConnection) client = NULL;
  g_autoptr (GError) error = NULL;
  GThread *thread;

  st.context = g_main_context_new ();
  st.loop = g_main_loop_new (st.context, FALSE);
  server_init (&st.server);
  g_mutex_init (&st.lock);
  g_cond_init (&st.cond);
  thread = g_thread_new ("local-server", server_thread, &st);
  g_mutex_lock (&st.lock);
  while (!st.ready)
    g_cond_wait (&st.cond, &st.lock);
  g_mutex_unlock (&st.lock);
  fail_unless (st.local != NULL);

  client = connect_local ("inproc://threaded", NULL, &error);
  fail_unless (client != NULL, "%s", error ? error->message : "");
  watch (client, &st.seen);
  WAIT_FOR (st.seen.messages->len == 1);
  fail_unless_equals_int (((WspMessage *)
          g_ptr_array_index (st.seen.messages, 0))->type,
      WSP_MESSAGE_RINGING);
  fail_unless (st.server.thread == thread);

  /* The close handshake, with the server's thread answering. */
  wsp_connection_close (client);
  WAIT_FOR (st.seen.closed);
  fail_unless_equals_int (st.seen.close_code, 1000);
  g_main_loop_quit (st.loop);
  g_thread_join (thread);

  g_ptr_array_unref (st.server.accepted);
  g_ptr_array_unref (st.seen.messages);
  g_main_loop_unref (st.loop);
  g_main_context_unref (st.context);
  g_mutex_clear (&st.lock);
  g_cond_clear (&st.cond);
}

GST_END_TEST;

/* The server's limits hold as over the network: a message over its size
 * limit (64 bytes here) gets `bye` 400 and the socket closed. */
GST_START_TEST (test_size_limit)
{
  Server server;
  WspLimits limits = { .max_message_size = 64 };
  g_autoptr (WspLocalServer) local = NULL;
  g_autoptr (WspConnection) client = NULL;
  g_autoptr (WspMessage) invite = NULL;
  g_autoptr (GError) error = NULL;
  Seen at_client = { 0, }, at_server = { 0, };

  server_init (&server);
  local = wsp_local_server_new ("small", &limits, on_accept, &server, NULL,
      &error);
  fail_unless (local != NULL);
  client = connect_local ("inproc://small", NULL, &error);
  fail_unless (client != NULL);
  watch (client, &at_client);
  WAIT_FOR (server.accepted->len == 1);
  watch (g_ptr_array_index (server.accepted, 0), &at_server);

  /* About 90 bytes. */
  invite = wsp_message_new_invite ("door@example.org", "Front door",
      "alice@example.org", NULL, NULL);
  wsp_connection_send (client, invite);
  WAIT_FOR (at_server.closed && at_client.closed);
  fail_unless (at_server.protocol_error);
  fail_unless_equals_int (at_server.messages->len, 0);

  g_ptr_array_unref (server.accepted);
  g_ptr_array_unref (at_client.messages);
  g_ptr_array_unref (at_server.messages);
}

GST_END_TEST;

/* A server freed while a connection is on its way: before the client has
 * its connection, the connect fails (refused, as a server gone from the
 * network); after it, before the accept, the client's socket ends. The
 * accept is never called. */
GST_START_TEST (test_server_gone)
{
  Server server;
  WspLocalServer *local;
  g_autoptr (WspConnection) client = NULL;
  g_autoptr (GError) error = NULL;
  GAsyncResult *result = NULL;
  Seen seen = { 0, };

  server_init (&server);
  local = wsp_local_server_new ("gone", NULL, on_accept, &server, on_destroy,
      &error);
  fail_unless (local != NULL);
  wsp_connect_async ("inproc://gone", NULL, NULL, connected, &result);
  /* Freed before the loop hands the client its connection. */
  wsp_local_server_free (local);
  fail_unless_equals_int (server.destroyed, 1);
  WAIT_FOR (result != NULL);
  client = wsp_connect_finish (result, &error);
  g_clear_object (&result);
  fail_unless (client == NULL);
  fail_unless (g_error_matches (error, G_IO_ERROR,
          G_IO_ERROR_CONNECTION_REFUSED), "%s", error ? error->message : "");
  g_clear_error (&error);

  /* Freed once the client has its connection, before the accept (queued
   * at a lower priority than the client's side). */
  local = wsp_local_server_new ("gone", NULL, on_accept, &server, on_destroy,
      &error);
  fail_unless (local != NULL);
  wsp_connect_async ("inproc://gone", NULL, NULL, connected, &result);
  WAIT_FOR (result != NULL);
  client = wsp_connect_finish (result, &error);
  g_clear_object (&result);
  fail_unless (client != NULL, "%s", error ? error->message : "");
  wsp_local_server_free (local);
  watch (client, &seen);
  WAIT_FOR (seen.closed);
  fail_unless_equals_int (server.accepted->len, 0);

  g_ptr_array_unref (server.accepted);
  g_ptr_array_unref (seen.messages);
}

GST_END_TEST;

static Suite *
wsplocal_suite (void)
{
  Suite *s = suite_create ("wsplocal");
  TCase *tc = tcase_create ("general");

  wsp_test_watch_criticals ();
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_messages_both_ways);
  tcase_add_test (tc, test_names);
  tcase_add_test (tc, test_across_threads);
  tcase_add_test (tc, test_size_limit);
  tcase_add_test (tc, test_server_gone);
  return s;
}

GST_CHECK_MAIN (wsplocal);
