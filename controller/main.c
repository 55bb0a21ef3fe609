/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intercomd: the door station (docs/intercomd.md). */

#include "intercomd.h"

#include <glib-unix.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "wspcertificate.h"

/* The first start with no user makes this one. */
#define FIRST_USER "resident"
#define MIN_PASSWORD 8

typedef struct
{
  gchar *config_path;
  OiConfig *config;
  GMainLoop *loop;
  OiIo *io;
  OiCalls *calls;
  OiUplink *uplink;             /* [home-server]: registered there */
  OiServer *server;
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

/* With TLS and no certificate configured: the one made at first start in
 * <state-dir>/tls/. */
static void
default_certificate (OiConfig * config)
{
  if (!config->tls || config->certificate)
    return;
  config->certificate = g_build_filename (config->state_dir, "tls",
      "cert.pem", NULL);
  config->private_key = g_build_filename (config->state_dir, "tls",
      "key.pem", NULL);
}

/* host[:port] or [v6]:port without the port and brackets. */
static gchar *
host_name (const gchar * host)
{
  const gchar *end;

  if (host[0] == '[' && (end = strchr (host, ']')))
    return g_strndup (host + 1, end - host - 1);
  end = strrchr (host, ':');
  return end ? g_strndup (host, end - host) : g_strdup (host);
}

/* Names a certificate can carry as they are (no IDN, no '_'); IP
 * addresses go in as IP entries. */
static gboolean
dns_name_is_plain (const gchar * name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 253)
    return FALSE;
  if (g_hostname_is_ip_address (name))
    return TRUE;
  for (const gchar * p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

static OiConfig *
load_config (const gchar * path, GError ** error)
{
  OiConfig *config = oi_config_load (path, error);

  if (config)
    default_certificate (config);
  return config;
}

static gboolean
on_reload (gpointer data)
{
  Intercomd *d = data;
  g_autoptr (GError) error = NULL;
  OiConfig *config = load_config (d->config_path, &error);

  if (config == NULL) {
    g_warning ("reload: %s: %s; keeping the running config", d->config_path,
        error->message);
    oi_config_mark_users_seen (d->config);
    return G_SOURCE_CONTINUE;
  }
  if (config->home_server != d->config->home_server) {
    g_warning ("reload: [station] role changed: that needs a restart; "
        "keeping the running config");
    oi_config_free (config);
    return G_SOURCE_CONTINUE;
  }
  /* The parts keep no pointer into the old config beyond these calls (the
   * IO copied its settings at start; a running call copied its own). */
  if (d->calls)
    oi_calls_set_config (d->calls, config);
  if (d->uplink && config->home_url) {
    oi_uplink_set_config (d->uplink, config);
  } else if (d->uplink) {
    g_message ("reload: no [home-server] any more: registered nowhere");
    g_clear_pointer (&d->uplink, oi_uplink_free);
  } else if (config->home_url) {
    d->uplink = oi_uplink_new (config, d->calls);
  }
  oi_server_set_config (d->server, config);
  oi_config_free (d->config);
  d->config = config;
  g_message ("reloaded %s (users, allow-lists, ring targets, media for the "
      "next call; the server and the GPIO lines need a restart)",
      d->config_path);
  return G_SOURCE_CONTINUE;
}

static void
on_users_changed (gpointer data)
{
  Intercomd *d = data;

  g_message ("the users file changed: reloading");
  on_reload (d);
}

/* The first line of standard input, hashed (argon2id). Returns an exit
 * code; 0 and @hash filled on success. */
static gint
hash_password_from_stdin (gchar hash[crypto_pwhash_STRBYTES])
{
  gchar password[1025];
  gsize len;
  gint status = 0;

  if (fgets (password, sizeof password, stdin) == NULL) {
    g_printerr ("intercomd: give the password on standard input\n");
    return OI_EXIT_USAGE;
  }
  len = strcspn (password, "\r\n");
  password[len] = '\0';
  if (len < MIN_PASSWORD || len > 1024) {
    g_printerr ("intercomd: a password needs %d to 1024 characters\n",
        MIN_PASSWORD);
    status = OI_EXIT_DATAERR;
  } else if (crypto_pwhash_str (hash, password, len,
          crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    g_printerr ("intercomd: out of memory hashing the password\n");
    status = OI_EXIT_SOFTWARE;
  }
  sodium_memzero (password, sizeof password);
  return status;
}

static gint
hash_password (void)
{
  gchar hash[crypto_pwhash_STRBYTES];
  gint status = hash_password_from_stdin (hash);

  if (status == 0)
    g_print ("%s\n", hash);
  return status;
}

/* Writes @kf to the users file: readable by the daemon's user only, and
 * replaced whole (a reader never sees half of it). */
static gboolean
save_users (const OiConfig * config, GKeyFile * kf, GError ** error)
{
  g_autofree gchar *text = NULL;
  gsize len;

  if (g_mkdir_with_parents (config->state_dir, 0750) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot make %s: %s", config->state_dir, g_strerror (errno));
    return FALSE;
  }
  text = g_key_file_to_data (kf, &len, NULL);
  return g_file_set_contents_full (config->users_path, text, len,
      G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* intercomd --print-pipeline: the text each call's pipeline is made from,
 * for gst-launch-1.0 (a camera or encoder checked by hand, the benchmark's
 * bare pipeline). */
static gint
print_call_pipeline (const gchar * config_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) config = oi_config_load (config_path, &error);
  g_autofree gchar *text = NULL;
  const gchar *codec = NULL;

  if (config == NULL) {
    g_printerr ("intercomd: %s: %s\n", config_path, error->message);
    return OI_EXIT_CONFIG;
  }
  text = oi_calls_pipeline_text (config, &codec, &error);
  if (text == NULL) {
    g_printerr ("intercomd: %s\n", error->message);
    return OI_EXIT_CONFIG;
  }
  g_print ("%s\n", g_strstrip (text));
  return 0;
}

typedef enum
{
  USERS_LIST,
  USERS_ADD,
  USERS_SET_PASSWORD,
  USERS_REMOVE,
} UsersCommand;

/* intercomd --add-user/--set-password/--remove-user/--list-users: edits
 * <state-dir>/users.conf; a running daemon sees it at its next request. */
static gint
manage_users (const gchar * config_path, UsersCommand command,
    const gchar * name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) config = oi_config_load (config_path, &error);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree gchar *group = NULL;
  g_autofree gchar *probe = NULL;
  gchar hash[crypto_pwhash_STRBYTES];
  const OiUser *user;
  gint status;

  if (config == NULL) {
    g_printerr ("intercomd: %s: %s\n", config_path, error->message);
    return OI_EXIT_CONFIG;
  }
  if (command == USERS_LIST) {
    for (guint i = 0; i < config->users->len; i++) {
      user = g_ptr_array_index (config->users, i);
      g_print ("%s%s\n", user->name, user->in_users_file ? "" :
          " (in the config file)");
    }
    return 0;
  }
  user = oi_config_find_user (config, name);
  probe = g_strdup_printf ("%s@%s", name, config->host);
  if (command == USERS_ADD && (user || !wsp_address_is_valid (probe)
          || g_str_equal (name, config->door_user))) {
    g_printerr ("intercomd: cannot add \"%s\": %s\n", name, user ?
        "that user exists" : "not a valid user name (A-Z a-z 0-9 . _ -, "
        "not the door's)");
    return OI_EXIT_DATAERR;
  }
  if (command != USERS_ADD && user == NULL) {
    g_printerr ("intercomd: no user \"%s\"\n", name);
    return OI_EXIT_DATAERR;
  }
  if (user && !user->in_users_file) {
    g_printerr ("intercomd: \"%s\" is defined in %s: change it there\n",
        name, config_path);
    return OI_EXIT_DATAERR;
  }
  if (command != USERS_REMOVE && (status = hash_password_from_stdin (hash)))
    return status;

  if (!g_key_file_load_from_file (kf, config->users_path,
          G_KEY_FILE_KEEP_COMMENTS, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_printerr ("intercomd: %s: %s\n", config->users_path, error->message);
    return OI_EXIT_CONFIG;
  }
  g_clear_error (&error);
  group = g_strdup_printf ("user %s", name);
  if (command == USERS_REMOVE)
    g_key_file_remove_group (kf, group, NULL);
  else
    g_key_file_set_string (kf, group, "password-hash", hash);
  if (!save_users (config, kf, &error)) {
    g_printerr ("intercomd: %s\n", error->message);
    return OI_EXIT_CANTCREAT;
  }
  g_print ("intercomd: user \"%s\" %s\n", name, command == USERS_ADD ?
      "added" : command == USERS_REMOVE ? "removed" : "has a new password");
  return 0;
}

/* No user at all: one with a random password, shown once (EN 303 645
 * 5.1: no universal default password). */
static gboolean
create_first_user (OiConfig * config, GError ** error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  guint8 random[12];
  gchar password[sodium_base64_ENCODED_LEN (12,
          sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  gchar hash[crypto_pwhash_STRBYTES];

  randombytes_buf (random, sizeof random);
  sodium_bin2base64 (password, sizeof password, random, sizeof random,
      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (crypto_pwhash_str (hash, password, strlen (password),
          crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "out of memory "
        "hashing a password");
    return FALSE;
  }
  g_key_file_set_string (kf, "user " FIRST_USER, "password-hash", hash);
  if (!save_users (config, kf, error))
    return FALSE;
  g_print ("intercomd: first start: log in as user \"" FIRST_USER "\" with "
      "password  %s\n  (shown only this once; only its hash is kept, in %s; "
      "change it with: intercomd --config %s --set-password "
      FIRST_USER ")\n", password, config->users_path, config->path);
  sodium_memzero (password, sizeof password);
  return TRUE;
}

static gint
run (Intercomd * d)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *url = NULL;

  d->config = load_config (d->config_path, &error);
  if (d->config == NULL) {
    g_printerr ("intercomd: %s: %s\n", d->config_path, error->message);
    return OI_EXIT_CONFIG;
  }
  if (g_mkdir_with_parents (d->config->state_dir, 0750) != 0) {
    g_printerr ("intercomd: cannot make the state directory %s: %s\n",
        d->config->state_dir, g_strerror (errno));
    return OI_EXIT_CANTCREAT;
  }
  if (d->config->users->len == 0) {
    if (!create_first_user (d->config, &error)) {
      g_printerr ("intercomd: cannot make the first user: %s\n",
          error->message);
      return OI_EXIT_CANTCREAT;
    }
    oi_config_free (d->config);
    if (!(d->config = load_config (d->config_path, &error))) {
      g_printerr ("intercomd: %s: %s\n", d->config_path, error->message);
      return OI_EXIT_CONFIG;
    }
  }
  if (!d->config->tls) {
    g_warning ("TLS is off ([server] tls=false): passwords, sessions and "
        "calls' signalling cross the network readable by anyone on it");
  } else {
    g_autofree gchar *tls_dir = g_build_filename (d->config->state_dir,
        "tls", NULL);
    g_autofree gchar *name = host_name (d->config->host);
    const gchar *names[4] = { "localhost", NULL, };
    gboolean created = FALSE;

    if (dns_name_is_plain (name))
      names[1] = name;
    if (dns_name_is_plain (g_get_host_name ()))
      names[names[1] ? 2 : 1] = g_get_host_name ();
    if (g_str_has_prefix (d->config->certificate, tls_dir)
        && !wsp_certificate_ensure_self_signed (d->config->certificate,
            d->config->private_key, names[1] ? names[1] : "localhost", names,
            &created, &error)) {
      g_printerr ("intercomd: cannot make a certificate: %s\n",
          error->message);
      return OI_EXIT_CANTCREAT;
    }
    if (created)
      g_print ("intercomd: first start: made a self-signed certificate, "
          "%s\n", d->config->certificate);
  }

  d->loop = g_main_loop_new (NULL, FALSE);
  /* A home server hosts users and doors that register there: no door,
   * no media, no GPIO of its own. */
  if (!d->config->home_server) {
    d->io = oi_io_new (d->config, on_io_event, d, &error);
    if (d->io == NULL) {
      g_printerr ("intercomd: GPIO: %s\n", error->message);
      return OI_EXIT_UNAVAILABLE;
    }
    d->calls = oi_calls_new (d->config, d->io);
  }
  d->server = oi_server_new (d->config, d->io, d->calls, on_users_changed, d,
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
  if (d->config->tls) {
    g_autoptr (GTlsCertificate) certificate =
        g_tls_certificate_new_from_file (d->config->certificate, NULL);
    g_autofree gchar *fingerprint = certificate ?
        wsp_certificate_fingerprint (certificate) : NULL;

    g_print ("intercomd: certificate SHA-256 fingerprint %s\n",
        fingerprint ? fingerprint : "(unreadable)");
  }
  /* Tests and scripts/run wait for this line. */
  if (d->config->home_server)
    g_print ("intercomd: ready at %s (home server %s, %u doors may "
        "register)\n", url, d->config->host, d->config->doors->len);
  else
    g_print ("intercomd: ready at %s (station %s, %s pipeline, %s GPIO)\n",
        url, d->config->host, d->config->pipeline, d->config->chip);
  /* Registered at the home server once the server is up (an invite may
   * come at once). */
  if (d->config->home_url)
    d->uplink = oi_uplink_new (d->config, d->calls);
  g_main_loop_run (d->loop);
  return 0;
}

static void
cleanup (Intercomd * d)
{
  /* Calls first (their peers get a bye), then the relays off, then the
   * server. */
  g_clear_pointer (&d->uplink, oi_uplink_free);
  g_clear_pointer (&d->calls, oi_calls_free);
  g_clear_pointer (&d->io, oi_io_free);
  g_clear_pointer (&d->server, oi_server_free);
  g_clear_pointer (&d->config, oi_config_free);
  g_clear_pointer (&d->loop, g_main_loop_unref);
  g_free (d->config_path);
}

int
main (int argc, char *argv[])
{
  Intercomd d = { 0, };
  gboolean version = FALSE, debug = FALSE, hash = FALSE, list = FALSE,
      print_pipeline = FALSE;
  g_autofree gchar *add_user = NULL, *set_password = NULL, *remove_user =
      NULL;
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
    {"add-user", 0, 0, G_OPTION_ARG_STRING, &add_user,
        "Add a user; the password on standard input", "NAME"},
    {"set-password", 0, 0, G_OPTION_ARG_STRING, &set_password,
        "Give a user a new password, on standard input (ends their sessions)",
        "NAME"},
    {"remove-user", 0, 0, G_OPTION_ARG_STRING, &remove_user,
        "Remove a user (ends their sessions)", "NAME"},
    {"list-users", 0, 0, G_OPTION_ARG_NONE, &list, "List the users", NULL},
    {"print-pipeline", 0, 0, G_OPTION_ARG_NONE, &print_pipeline,
          "Print the call pipeline the config gives, as gst-launch-1.0 text",
        NULL},
    {NULL}
  };
  gint status;

#ifdef __GLIBC__
  /* One malloc arena for every thread. By default glibc gives threads
   * arenas of their own (up to 8 per core); each call's streaming,
   * encoder and ICE threads are new ones, and the memory freed in their
   * arenas stays with the process: RSS grew with every call, without a
   * leak. One arena keeps it flat (BENCHMARKS.md, RSS over 200 calls). */
  mallopt (M_ARENA_MAX, 1);
#endif
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
  if (print_pipeline) {
    status = print_call_pipeline (d.config_path);
    g_free (d.config_path);
    return status;
  }
  if ((add_user != NULL) + (set_password != NULL) + (remove_user != NULL)
      + list > 1) {
    g_printerr ("intercomd: one user command at a time\n");
    return OI_EXIT_USAGE;
  }
  if (list || add_user || set_password || remove_user) {
    status = manage_users (d.config_path, list ? USERS_LIST : add_user ?
        USERS_ADD : set_password ? USERS_SET_PASSWORD : USERS_REMOVE,
        add_user ? add_user : set_password ? set_password : remove_user);
    g_free (d.config_path);
    return status;
  }
  if (debug)
    g_setenv ("G_MESSAGES_DEBUG", "intercomd intercomd-audit wsp", TRUE);

  status = run (&d);
  cleanup (&d);
  gst_deinit ();
  return status;
}
