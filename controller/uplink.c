/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The door's registration at its home server ([home-server];
 * docs/intercomd.md, "Home server and doors elsewhere"): one authenticated WSP
 * socket, opened by the door, on which it has `register`ed as its address
 * there, so that calls to that address reach it through any NAT without a
 * port forwarded. An invite that comes on it is a call to the door (mode
 * 2): the socket goes to the calls (oi_calls_incoming_from_home()) and a
 * new one is opened at once. A socket lost or refused is opened again
 * with backoff and jitter: 250 ms doubling to at most 3 s, each ±20 %, so
 * that a door is registered again a few seconds after its server is back
 * and a household's doors do not all come at the same moment. Keepalive:
 * WebSocket pings every 3 s; a server that stops answering is given up
 * within 9 s, so that after an outage of the uplink the door is already
 * trying again (every 3 s at most) when the network comes back. */

#include "intercomd.h"

#include <sodium.h>
#include <string.h>

#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 3000
#define REGISTER_TIMEOUT_S 10
#define KEEPALIVE_S 3

struct _OiUplink
{
  const OiConfig *config;
  OiCalls *calls;
  /* What the socket was opened with (the token too: wiped when freed): a
   * reload that changes it reconnects. */
  gchar *settings;
  GCancellable *cancellable;    /* the connect under way */
  WspConnection *connection;
  gboolean registered;
  guint failures;               /* in a row, for the backoff */
  guint retry_id;
  guint register_timeout_id;
  /* The last failure logged, so that a server down for long is one line. */
  gchar *last_failure;
};

static void uplink_connect (OiUplink * self);

static gchar *
settings_of (const OiConfig * c)
{
  return g_strjoin ("\n", c->home_url, c->home_token, c->home_uri,
      c->home_certificate ? c->home_certificate : "", NULL);
}

static void
settings_free (gchar * settings)
{
  if (settings)
    sodium_memzero (settings, strlen (settings));
  g_free (settings);
}

/* Closes the socket. Kept until its close handshake is over (a `bye` on
 * its way gets there), except at the end (@now: no main loop runs). */
static void
drop_connection (OiUplink * self, gboolean now)
{
  WspConnection *connection = g_steal_pointer (&self->connection);

  g_clear_handle_id (&self->register_timeout_id, g_source_remove);
  self->registered = FALSE;
  if (connection == NULL)
    return;
  g_signal_handlers_disconnect_by_data (connection, self);
  wsp_connection_close (connection);
  if (now)
    g_object_unref (connection);
  else
    wsp_connection_release (connection);
}

static gboolean
retry_timer (gpointer data)
{
  OiUplink *self = data;

  self->retry_id = 0;
  uplink_connect (self);
  return G_SOURCE_REMOVE;
}

/* The socket failed (@why): logged once per distinct reason, then tried
 * again after the backoff. */
static void
uplink_failed (OiUplink * self, const gchar * why)
{
  guint delay = RETRY_MAX_MS;

  drop_connection (self, FALSE);
  if (self->failures < 8)
    delay = MIN (RETRY_FIRST_MS << self->failures, RETRY_MAX_MS);
  delay = delay * (0.8 + 0.4 * g_random_double ());
  self->failures++;
  if (g_strcmp0 (why, self->last_failure) != 0) {
    g_message ("home server %s: %s; trying again (every %u s at most)",
        self->config->home_url, why, RETRY_MAX_MS / 1000);
    g_free (self->last_failure);
    self->last_failure = g_strdup (why);
  }
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay, retry_timer, self);
}

static gboolean
register_timeout (gpointer data)
{
  OiUplink *self = data;

  self->register_timeout_id = 0;
  uplink_failed (self, "no answer to register");
  return G_SOURCE_REMOVE;
}

static void
on_message (WspConnection * connection, WspMessage * message, gpointer data)
{
  OiUplink *self = data;
  g_autofree gchar *why = NULL;

  if (message->type == WSP_MESSAGE_REGISTERED && !self->registered
      && wsp_address_equal (message->registration.uri,
          self->config->home_uri)) {
    g_clear_handle_id (&self->register_timeout_id, g_source_remove);
    self->registered = TRUE;
    self->failures = 0;
    g_clear_pointer (&self->last_failure, g_free);
    /* Tests wait for this line. */
    g_message ("registered at home server %s as %s", self->config->home_url,
        self->config->home_uri);
    return;
  }
  if (message->type == WSP_MESSAGE_INVITE && self->registered) {
    WspConnection *call = g_steal_pointer (&self->connection);

    g_signal_handlers_disconnect_by_data (call, self);
    self->registered = FALSE;
    /* Registered again at once: the next caller may join, or hear busy. */
    uplink_connect (self);
    oi_calls_incoming_from_home (self->calls, call, message);
    /* The calls keep it, or refused it with a `bye` that must get out. */
    wsp_connection_release (call);
    return;
  }
  if (message->type == WSP_MESSAGE_BYE) {
    why = g_strdup_printf ("registration ended: bye %d%s%s",
        message->bye.code, message->bye.description ? " " : "",
        message->bye.description ? message->bye.description : "");
    uplink_failed (self, why);
    return;
  }
  wsp_connection_send_bye_and_close (connection, WSP_BYE_BAD_REQUEST,
      "Unexpected message");
  why = g_strdup_printf ("unexpected \"%s\"",
      wsp_message_type_to_keyword (message->type));
  uplink_failed (self, why);
}

static void
on_closed (WspConnection * connection, guint code, gpointer data)
{
  OiUplink *self = data;
  g_autofree gchar *why = g_strdup_printf ("socket closed (%u)", code);

  if (self->registered)
    g_message ("home server %s: lost the registration (socket closed, %u)",
        self->config->home_url, code);
  uplink_failed (self, why);
}

static void
on_connected (GObject * source, GAsyncResult * result, gpointer data)
{
  OiUplink *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (WspMessage) reg = NULL;
  WspConnection *connection = wsp_connect_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;                     /* self may be gone */
  g_clear_object (&self->cancellable);
  if (connection == NULL) {
    uplink_failed (self, error->message);
    return;
  }
  self->connection = connection;
  g_signal_connect (connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  reg = wsp_message_new_register (self->config->home_uri);
  wsp_connection_send (connection, reg);
  self->register_timeout_id = g_timeout_add_seconds (REGISTER_TIMEOUT_S,
      register_timeout, self);
}

static void
uplink_connect (OiUplink * self)
{
  const OiConfig *c = self->config;
  WspLimits limits = {.keepalive_interval = KEEPALIVE_S };
  WspClientOptions options = {
    .pinned_certificate_file = c->home_certificate,
    .bearer_token = c->home_token,
    .limits = &limits,
  };

  g_clear_handle_id (&self->retry_id, g_source_remove);
  settings_free (self->settings);
  self->settings = settings_of (c);
  self->cancellable = g_cancellable_new ();
  wsp_connect_async (c->home_url, &options, self->cancellable, on_connected,
      self);
}

OiUplink *
oi_uplink_new (const OiConfig * config, OiCalls * calls)
{
  OiUplink *self = g_new0 (OiUplink, 1);

  self->config = config;
  self->calls = calls;
  uplink_connect (self);
  return self;
}

void
oi_uplink_set_config (OiUplink * self, const OiConfig * config)
{
  gchar *settings = settings_of (config);
  gboolean same = g_str_equal (settings, self->settings);

  settings_free (settings);
  self->config = config;
  if (same)
    return;
  g_message ("home server settings changed: registering again");
  if (self->cancellable) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  drop_connection (self, FALSE);
  self->failures = 0;
  uplink_connect (self);
}

void
oi_uplink_free (OiUplink * self)
{
  if (self == NULL)
    return;
  if (self->cancellable) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  g_clear_handle_id (&self->retry_id, g_source_remove);
  drop_connection (self, TRUE);
  settings_free (self->settings);
  g_free (self->last_failure);
  g_free (self);
}
