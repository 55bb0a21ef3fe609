/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intercomd: the door station (docs/intercomd.md). */

#include "intercomd.h"

#include <glib-unix.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

typedef struct
{
  gchar *config_path;
  OiConfig *config;
  GMainLoop *loop;
  OiIo *io;
  OiCalls *calls;
  OiServer *server;
  gchar *door_token;
} Intercomd;

static void
on_io_event (OiIoEventKind kind, const gchar * name, gboolean active,
    gint64 time, gpointer data)
{
  Intercomd *d = data;

  /* The bell is watched whatever the calls do; the calls get every event
   * for their io channels. */
  if (d->calls == NULL)
    return;
  oi_calls_io_event (d->calls, kind, name, active, time);
  if (kind == OI_IO_INPUT && active && g_str_equal (name, "bell"))
    oi_calls_bell (d->calls);
}

static gboolean
on_quit (gpointer data)
{
  Intercomd *d = data;

  g_message ("stopping");
  g_main_loop_quit (d->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload (gpointer data)
{
  Intercomd *d = data;
  g_autoptr (GError) error = NULL;
  OiConfig *config = oi_config_load (d->config_path, &error);

  if (config == NULL) {
    g_warning ("reload: %s: %s; keeping the running config", d->config_path,
        error->message);
    return G_SOURCE_CONTINUE;
  }
  /* The parts keep no pointer into the old config beyond these calls (the
   * IO copied its settings at start; a running call copied its own). */
  oi_calls_set_config (d->calls, config);
  oi_server_set_config (d->server, config);
  oi_config_free (d->config);
  d->config = config;
  g_message ("reloaded %s (users, allow-lists, ring targets, media for the "
      "next call; the server and the GPIO lines need a restart)",
      d->config_path);
  return G_SOURCE_CONTINUE;
}

static gint
hash_password (void)
{
  gchar password[1025];
  gchar hash[crypto_pwhash_STRBYTES];
  gsize len;

  if (fgets (password, sizeof password, stdin) == NULL) {
    g_printerr ("intercomd: give the password on standard input\n");
    return OI_EXIT_USAGE;
  }
  len = strcspn (password, "\r\n");
  password[len] = '\0';
  if (len == 0) {
    g_printerr ("intercomd: empty password\n");
    return OI_EXIT_USAGE;
  }
  if (crypto_pwhash_str (hash, password, len,
          crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    g_printerr ("intercomd: out of memory hashing the password\n");
    return OI_EXIT_SOFTWARE;
  }
  sodium_memzero (password, sizeof password);
  g_print ("%s\n", hash);
  return 0;
}

static gint
run (Intercomd * d)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *self_uri = NULL;
  guint8 token[32];
  gchar hex[65];
  const gchar *loopback;

  d->config = oi_config_load (d->config_path, &error);
  if (d->config == NULL) {
    g_printerr ("intercomd: %s: %s\n", d->config_path, error->message);
    return OI_EXIT_CONFIG;
  }
  if (d->config->certificate == NULL) {
    g_printerr ("intercomd: %s: [server] certificate: required (and "
        "private-key)\n", d->config_path);
    return OI_EXIT_CONFIG;
  }
  if (g_mkdir_with_parents (d->config->state_dir, 0750) != 0) {
    g_printerr ("intercomd: cannot make the state directory %s: %s\n",
        d->config->state_dir, g_strerror (errno));
    return OI_EXIT_CONFIG;
  }

  /* The door's own caller elements log in to our server with this. */
  randombytes_buf (token, sizeof token);
  sodium_bin2hex (hex, sizeof hex, token, sizeof token);
  d->door_token = g_strdup (hex);
  loopback = strchr (d->config->address, ':') ? "[::1]" : "127.0.0.1";
  self_uri = g_strdup_printf ("wss://%s:%u/wsp", loopback, d->config->port);

  d->loop = g_main_loop_new (NULL, FALSE);
  d->io = oi_io_new (d->config, on_io_event, d, &error);
  if (d->io == NULL) {
    g_printerr ("intercomd: GPIO: %s\n", error->message);
    return OI_EXIT_UNAVAILABLE;
  }
  d->calls = oi_calls_new (d->config, d->io, d->door_token, self_uri);
  d->server = oi_server_new (d->config, d->io, d->calls, d->door_token,
      &error);
  if (d->server == NULL) {
    g_printerr ("intercomd: server: %s\n", error->message);
    return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
        || error->domain == G_FILE_ERROR || error->domain == G_TLS_ERROR ?
        OI_EXIT_CONFIG : OI_EXIT_UNAVAILABLE;
  }

  g_unix_signal_add (SIGINT, on_quit, d);
  g_unix_signal_add (SIGTERM, on_quit, d);
  g_unix_signal_add (SIGHUP, on_reload, d);

  url = oi_server_get_url (d->server);
  /* Tests and scripts/run wait for this line. */
  g_print ("intercomd: ready at %s (station %s, %s pipeline, %s GPIO)\n",
      url, d->config->host, d->config->pipeline, d->config->chip);
  g_main_loop_run (d->loop);
  return 0;
}

static void
cleanup (Intercomd * d)
{
  /* Calls first (their peers get a bye), then the relays off, then the
   * server. */
  g_clear_pointer (&d->calls, oi_calls_free);
  g_clear_pointer (&d->io, oi_io_free);
  g_clear_pointer (&d->server, oi_server_free);
  g_clear_pointer (&d->config, oi_config_free);
  g_clear_pointer (&d->loop, g_main_loop_unref);
  g_free (d->door_token);
  g_free (d->config_path);
}

int
main (int argc, char *argv[])
{
  Intercomd d = { 0, };
  gboolean version = FALSE, debug = FALSE, hash = FALSE;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &d.config_path,
        "Configuration file", "FILE"},
    {"debug", 'd', 0, G_OPTION_ARG_NONE, &debug, "Log debug messages", NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL},
    {"hash-password", 0, 0, G_OPTION_ARG_NONE, &hash,
        "Read a password on standard input, print its hash for the config",
        NULL},
    {NULL}
  };
  gint status;

  context = g_option_context_new ("- the Open Intercom door station");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("intercomd: %s\n", error->message);
    return OI_EXIT_USAGE;
  }
  if (version) {
    g_print ("intercomd %s\n", VERSION);
    return 0;
  }
  if (sodium_init () < 0) {
    g_printerr ("intercomd: libsodium does not start\n");
    return OI_EXIT_SOFTWARE;
  }
  if (hash)
    return hash_password ();
  if (d.config_path == NULL) {
    g_printerr ("intercomd: --config FILE is required\n");
    return OI_EXIT_USAGE;
  }
  if (debug)
    g_setenv ("G_MESSAGES_DEBUG", "intercomd intercomd-audit wsp", TRUE);

  status = run (&d);
  cleanup (&d);
  gst_deinit ();
  return status;
}
