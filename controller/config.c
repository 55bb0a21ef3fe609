/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GKeyFile config (docs/intercomd.md, data/intercomd.conf). Every key
 * is checked here, once: a wrong one stops the daemon with a message that
 * names its group and key (exit 78), and an unknown one too, so a typo
 * never silently leaves a default in place. */

#include "intercomd.h"

#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_ERROR (g_quark_from_static_string ("intercomd-config-error"))

/* Every known group and its keys; "user NAME" groups have password-hash. */
static const struct
{
  const gchar *group;
  const gchar *keys[16];
} known_keys[] = {
  {"station", {"host", "door", "name", "state-dir", "role", NULL}},
  {"home-server", {"url", "token", "certificate", "user", "host", NULL}},
  {"server", {"address", "port", "tls", "certificate", "private-key",
              "web-root", "pipelines", "session-idle", "session-lifetime",
              NULL}},
  {"media", {"pipeline", "video-device", "audio-source-device",
              "audio-sink-device", "width", "height", "framerate", "bitrate",
              "codecs", "echo-cancel", "lip-sync", NULL}},
  {"gpio", {"chip", "inputs", "relays", "active-low", "debounce",
              "door-pulse", "max-pulse", "bell-relay", NULL}},
  {"calls", {"ring", "ring-timeout", "max-call", "peer-timeout",
              "allow-callers", "allow-networks", NULL}},
  {"limits", {"sockets-per-address", "sockets", "peers", "login-failures",
              "login-delay", "login-max-delay", NULL}},
  {"ice", {"stun", "turn", "turn-user", "turn-password", "turn-secret",
              "turn-ttl", "relay-only", "local-addresses", NULL}},
};

static void
line_clear (gpointer data)
{
  g_free (((OiLine *) data)->name);
}

static void
user_free (gpointer data)
{
  OiUser *user = data;

  g_free (user->name);
  g_free (user->password_hash);
  g_free (user);
}

static void
peer_free (gpointer data)
{
  OiPeer *peer = data;

  g_free (peer->name);
  g_free (peer->host);
  if (peer->token)
    sodium_memzero (peer->token, strlen (peer->token));
  g_free (peer->token);
  g_free (peer->certificate);
  g_free (peer);
}

static void
remote_door_free (gpointer data)
{
  OiRemoteDoor *door = data;

  g_free (door->name);
  g_free (door->display_name);
  if (door->token)
    sodium_memzero (door->token, strlen (door->token));
  g_free (door->token);
  g_free (door);
}

void
oi_config_free (OiConfig * c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  g_free (c->host);
  g_free (c->door_user);
  g_free (c->door_uri);
  g_free (c->home_url);
  if (c->home_token)
    sodium_memzero (c->home_token, strlen (c->home_token));
  g_free (c->home_token);
  g_free (c->home_certificate);
  g_free (c->home_user);
  g_free (c->home_host);
  g_free (c->home_uri);
  g_clear_pointer (&c->doors, g_ptr_array_unref);
  g_free (c->name);
  g_free (c->state_dir);
  g_free (c->address);
  g_free (c->certificate);
  g_free (c->private_key);
  g_free (c->web_root);
  g_free (c->pipelines_dir);
  g_free (c->pipeline);
  g_free (c->video_device);
  g_free (c->audio_source_device);
  g_free (c->audio_sink_device);
  g_strfreev (c->codecs);
  g_free (c->chip);
  g_clear_pointer (&c->inputs, g_array_unref);
  g_clear_pointer (&c->relays, g_array_unref);
  g_free (c->inputs_text);
  g_free (c->relays_text);
  g_strfreev (c->ring);
  g_strfreev (c->allow_callers);
  g_clear_pointer (&c->allow_networks, g_ptr_array_unref);
  g_clear_pointer (&c->ice_servers, g_ptr_array_unref);
  g_free (c->turn_user);
  if (c->turn_password)
    sodium_memzero (c->turn_password, strlen (c->turn_password));
  g_free (c->turn_password);
  if (c->turn_secret)
    sodium_memzero (c->turn_secret, strlen (c->turn_secret));
  g_free (c->turn_secret);
  g_free (c->local_addresses);
  g_clear_pointer (&c->users, g_ptr_array_unref);
  g_clear_pointer (&c->peers, g_ptr_array_unref);
  g_free (c->users_path);
  g_free (c->users_stamp);
  g_free (c);
}

static gboolean
fail (GError ** error, const gchar * group, const gchar * key,
    const gchar * format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError ** error, const gchar * group, const gchar * key,
    const gchar * format, ...)
{
  va_list args;
  g_autofree gchar *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CONFIG_ERROR, 0, "[%s] %s: %s", group, key, what);
  return FALSE;
}

/* A string key: @def when absent. Values that reach pipeline text or
 * element properties are checked by their callers. */
static gboolean
get_string (GKeyFile * kf, const gchar * group, const gchar * key,
    const gchar * def, gchar ** out, GError ** error)
{
  g_autoptr (GError) local = NULL;
  gchar *value = g_key_file_get_string (kf, group, key, &local);

  /* (GLib 2.74 may return a value and set an error: a bad escape) */
  if (local != NULL) {
    g_free (value);
    if (!g_error_matches (local, G_KEY_FILE_ERROR,
            G_KEY_FILE_ERROR_KEY_NOT_FOUND)
        && !g_error_matches (local, G_KEY_FILE_ERROR,
            G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
      return fail (error, group, key, "%s", local->message);
    value = g_strdup (def);
  }
  g_free (*out);
  *out = NULL;
  if (value == NULL)
    return TRUE;
  g_strstrip (value);
  if (*value == '\0' && def != NULL) {
    g_free (value);
    return fail (error, group, key, "empty (leave the key out for its "
        "default, \"%s\")", def);
  }
  *out = value;
  if (**out == '\0')
    g_clear_pointer (out, g_free);
  return TRUE;
}

static gboolean
get_uint (GKeyFile * kf, const gchar * group, const gchar * key, guint def,
    guint min, guint max, guint * out, GError ** error)
{
  g_autofree gchar *text = NULL;
  guint64 value;

  if (!get_string (kf, group, key, NULL, &text, error))
    return FALSE;
  if (text == NULL) {
    *out = def;
    return TRUE;
  }
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    return fail (error, group, key, "\"%s\" is not a whole number from %u "
        "to %u", text, min, max);
  *out = value;
  return TRUE;
}

static gboolean
get_bool (GKeyFile * kf, const gchar * group, const gchar * key,
    gboolean def, gboolean * out, GError ** error)
{
  g_autofree gchar *text = NULL;

  if (!get_string (kf, group, key, NULL, &text, error))
    return FALSE;
  if (text == NULL)
    *out = def;
  else if (g_str_equal (text, "true"))
    *out = TRUE;
  else if (g_str_equal (text, "false"))
    *out = FALSE;
  else
    return fail (error, group, key, "\"%s\" is not true or false", text);
  return TRUE;
}

/* A comma-separated list; empty items are refused. */
static gboolean
get_list (GKeyFile * kf, const gchar * group, const gchar * key,
    const gchar * def, gchar *** out, GError ** error)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) items = NULL;

  if (!get_string (kf, group, key, def, &text, error))
    return FALSE;
  if (text == NULL) {
    *out = g_new0 (gchar *, 1);
    return TRUE;
  }
  items = g_strsplit (text, ",", -1);
  for (guint i = 0; items[i]; i++) {
    g_strstrip (items[i]);
    if (items[i][0] == '\0')
      return fail (error, group, key, "empty item in \"%s\"", text);
  }
  *out = g_steal_pointer (&items);
  return TRUE;
}

/* Text that may reach a gst-launch description or a property: no quotes,
 * no '!', no spaces, nothing that could end one element and start
 * another. */
static gboolean
check_plain (const gchar * group, const gchar * key, const gchar * value,
    GError ** error)
{
  if (value == NULL)
    return TRUE;
  for (const gchar * p = value; *p; p++) {
    if (!g_ascii_isalnum (*p) && !strchr ("/._-:,=@+", *p))
      return fail (error, group, key, "\"%s\": character '%c' is not "
          "allowed here (letters, digits and / . _ - : , = @ +)", value, *p);
  }
  return TRUE;
}

static gboolean
parse_lines (const gchar * group, const gchar * key, const gchar * text,
    GArray ** out, GError ** error)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);
  GArray *lines = g_array_new (FALSE, TRUE, sizeof (OiLine));

  g_array_set_clear_func (lines, line_clear);
  for (guint i = 0; items[i]; i++) {
    gchar *item = g_strstrip (items[i]);
    gchar *eq = strchr (item, '=');
    guint64 offset;
    OiLine line;

    if (eq == NULL || !wsp_io_name_is_valid ((*eq = '\0', item))
        || !g_ascii_string_to_unsigned (eq + 1, 10, 0, 1023, &offset, NULL)
        || oi_config_find_line (lines, item)) {
      g_array_unref (lines);
      return fail (error, group, key, "\"%s\" is not a list of distinct "
          "NAME=OFFSET pairs", text);
    }
    line.name = g_strdup (item);
    line.offset = offset;
    g_array_append_val (lines, line);
  }
  *out = lines;
  return TRUE;
}

static gboolean
check_known_keys (GKeyFile * kf, GError ** error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
    const gchar *const *known = NULL;
    static const gchar *const user_keys[] = { "password-hash", NULL };
    static const gchar *const peer_keys[] = { "host", "token", "certificate",
      NULL
    };
    static const gchar *const door_keys[] = { "token", "name", NULL };

    if (g_str_has_prefix (groups[g], "user ")) {
      known = user_keys;
    } else if (g_str_has_prefix (groups[g], "peer ")) {
      known = peer_keys;
    } else if (g_str_has_prefix (groups[g], "door ")) {
      known = door_keys;
    } else {
      for (guint i = 0; i < G_N_ELEMENTS (known_keys); i++)
        if (g_str_equal (known_keys[i].group, groups[g]))
          known = known_keys[i].keys;
    }
    if (known == NULL) {
      g_set_error (error, CONFIG_ERROR, 0, "[%s]: unknown group", groups[g]);
      return FALSE;
    }
    for (guint k = 0; keys && keys[k]; k++)
      if (!g_strv_contains (known, keys[k]))
        return fail (error, groups[g], keys[k], "unknown key");
  }
  return TRUE;
}

/* [user NAME] groups, of the config or of the users file. */
static gboolean
load_users (GKeyFile * kf, OiConfig * c, gboolean users_file,
    GError ** error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint g = 0; groups[g]; g++) {
    g_autofree gchar *hash = NULL;
    const gchar *name;
    OiUser *user;

    if (!g_str_has_prefix (groups[g], "user "))
      continue;
    name = groups[g] + 5;
    if (!get_string (kf, groups[g], "password-hash", NULL, &hash, error))
      return FALSE;
    if (hash == NULL || !g_str_has_prefix (hash, "$argon2id$"))
      return fail (error, groups[g], "password-hash", "an argon2id hash is "
          "required (intercomd --hash-password)");
    if (oi_config_find_user (c, name)) {
      g_set_error (error, CONFIG_ERROR, 0, "[user %s]: defined twice (the "
          "config and %s)", name, c->users_path);
      return FALSE;
    }
    user = g_new0 (OiUser, 1);
    user->name = g_strdup (name);
    user->password_hash = g_steal_pointer (&hash);
    user->in_users_file = users_file;
    g_ptr_array_add (c->users, user);
  }
  return TRUE;
}

/* The users file's identity: a change of any of these is a new file. */
static gchar *
users_stamp (const gchar * path)
{
  struct stat st;

  if (stat (path, &st) != 0)
    return g_strdup ("none");
  return g_strdup_printf ("%llu:%llu:%lld.%09ld:%lld",
      (unsigned long long) st.st_dev, (unsigned long long) st.st_ino,
      (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
      (long long) st.st_size);
}

/* <state-dir>/users.conf: the users the `intercomd --add-user` family
 * manages; only [user NAME] groups. Missing is empty. */
static gboolean
load_users_file (OiConfig * c, GError ** error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) groups = NULL;

  c->users_path = g_build_filename (c->state_dir, "users.conf", NULL);
  c->users_stamp = users_stamp (c->users_path);
  if (!g_key_file_load_from_file (kf, c->users_path, G_KEY_FILE_NONE,
          &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, CONFIG_ERROR, 0, "%s: %s", c->users_path,
        local->message);
    return FALSE;
  }
  groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);

    if (!g_str_has_prefix (groups[g], "user ")) {
      g_set_error (error, CONFIG_ERROR, 0, "%s: [%s]: only [user NAME] "
          "groups belong here", c->users_path, groups[g]);
      return FALSE;
    }
    for (guint k = 0; keys && keys[k]; k++)
      if (!g_str_equal (keys[k], "password-hash")) {
        g_set_error (error, CONFIG_ERROR, 0, "%s: [%s] %s: unknown key",
            c->users_path, groups[g], keys[k]);
        return FALSE;
      }
  }
  return load_users (kf, c, TRUE, error);
}

static gboolean
token_is_valid (const gchar * token)
{
  if (strlen (token) < 32 || strlen (token) > 256)
    return FALSE;
  for (const gchar * p = token; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("-_.~", *p))
      return FALSE;
  return TRUE;
}

#define TOKEN_RULE "32 to 256 characters of A-Z a-z 0-9 - _ . ~ are " \
  "required (e.g. from: head -c 32 /dev/urandom | base64 | tr '+/' '-_' | " \
  "tr -d =)"

static gboolean
load_peers (GKeyFile * kf, OiConfig * c, GError ** error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint g = 0; groups[g]; g++) {
    g_autofree gchar *probe = NULL;
    OiPeer *peer;

    if (!g_str_has_prefix (groups[g], "peer "))
      continue;
    peer = g_new0 (OiPeer, 1);
    peer->name = g_strdup (groups[g] + 5);
    g_ptr_array_add (c->peers, peer);
    if (!get_string (kf, groups[g], "host", NULL, &peer->host, error)
        || !get_string (kf, groups[g], "token", NULL, &peer->token, error)
        || !get_string (kf, groups[g], "certificate", NULL,
            &peer->certificate, error))
      return FALSE;
    if (peer->host == NULL)
      return fail (error, groups[g], "host", "required (host[:port])");
    probe = g_strdup_printf ("x@%s", peer->host);
    if (!wsp_address_is_valid (probe))
      return fail (error, groups[g], "host", "\"%s\" is not a host[:port]",
          peer->host);
    if (peer->token == NULL || !token_is_valid (peer->token))
      return fail (error, groups[g], "token", TOKEN_RULE);
    if (peer->certificate && !g_file_test (peer->certificate,
            G_FILE_TEST_IS_REGULAR))
      return fail (error, groups[g], "certificate", "%s: no such file",
          peer->certificate);
  }
  return TRUE;
}

/* [door NAME]: doors elsewhere that register here. */
static gboolean
load_doors (GKeyFile * kf, OiConfig * c, GError ** error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint g = 0; groups[g]; g++) {
    OiRemoteDoor *door;

    if (!g_str_has_prefix (groups[g], "door "))
      continue;
    door = g_new0 (OiRemoteDoor, 1);
    door->name = g_strdup (groups[g] + 5);
    g_ptr_array_add (c->doors, door);
    if (!get_string (kf, groups[g], "token", NULL, &door->token, error)
        || !get_string (kf, groups[g], "name", door->name,
            &door->display_name, error))
      return FALSE;
    if (door->token == NULL || !token_is_valid (door->token))
      return fail (error, groups[g], "token", TOKEN_RULE);
  }
  return TRUE;
}

static gboolean
host_is_loopback (const gchar * host)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  return g_str_equal (host, "localhost")
      || (address && g_inet_address_get_is_loopback (address));
}

/* [home-server]: where this door registers. */
static gboolean
load_home_server (GKeyFile * kf, OiConfig * c, GError ** error)
{
  g_autoptr (GUri) uri = NULL;
  const gchar *scheme;

  if (!g_key_file_has_group (kf, "home-server"))
    return TRUE;
  if (!get_string (kf, "home-server", "url", NULL, &c->home_url, error)
      || !get_string (kf, "home-server", "token", NULL, &c->home_token, error)
      || !get_string (kf, "home-server", "certificate", NULL,
          &c->home_certificate, error)
      || !get_string (kf, "home-server", "user", NULL, &c->home_user, error)
      || !get_string (kf, "home-server", "host", NULL, &c->home_host, error))
    return FALSE;
  if (c->home_url == NULL)
    return fail (error, "home-server", "url", "required (wss://host[:port]"
        "/wsp)");
  uri = g_uri_parse (c->home_url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL
      || (g_strcmp0 (scheme, "wss") != 0 && g_strcmp0 (scheme, "ws") != 0))
    return fail (error, "home-server", "url", "\"%s\" is not a wss:// URL",
        c->home_url);
  /* The token goes with it: in clear text only to this machine. */
  if (g_str_equal (scheme, "ws") && !host_is_loopback (g_uri_get_host (uri)))
    return fail (error, "home-server", "url", "ws:// sends the token in "
        "clear text: wss:// (ws:// only to a loopback address)");
  if (c->home_token == NULL || !token_is_valid (c->home_token))
    return fail (error, "home-server", "token", TOKEN_RULE);
  if (c->home_certificate && !g_file_test (c->home_certificate,
          G_FILE_TEST_IS_REGULAR))
    return fail (error, "home-server", "certificate", "%s: no such file",
        c->home_certificate);
  if (c->home_host == NULL) {
    /* The addresses there: the URL's host ([v6] bracketed), its port
     * unless WSP's default, 443. */
    const gchar *host = g_uri_get_host (uri);
    gint port = g_uri_get_port (uri);
    g_autofree gchar *name = strchr (host, ':') ?
        g_strdup_printf ("[%s]", host) : g_strdup (host);

    if (port <= 0)
      port = g_str_equal (scheme, "wss") ? 443 : 80;
    c->home_host = port != 443 ? g_strdup_printf ("%s:%d", name, port) :
        g_strdup (name);
  }
  return TRUE;
}

/* [ice]: STUN and TURN servers and their credentials. */
static gboolean
load_ice (GKeyFile * kf, OiConfig * c, GError ** error)
{
  static const gchar *const keys[] = { "stun", "turn" };
  gboolean turn = FALSE;

  c->ice_servers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      oi_ice_server_free);
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++) {
    g_auto (GStrv) uris = NULL;

    if (!get_list (kf, "ice", keys[k], NULL, &uris, error))
      return FALSE;
    for (guint i = 0; uris[i]; i++) {
      g_autoptr (GError) why = NULL;
      OiIceServer *server = oi_ice_server_parse (uris[i], &why);

      if (server == NULL || (server->kind == OI_ICE_STUN) != (k == 0)) {
        oi_ice_server_free (server);
        return fail (error, "ice", keys[k], "%s", why ? why->message :
            k == 0 ? "stun: URIs only" : "turn: or turns: URIs only");
      }
      turn |= server->kind != OI_ICE_STUN;
      g_ptr_array_add (c->ice_servers, server);
    }
  }
  if (!get_string (kf, "ice", "turn-user", NULL, &c->turn_user, error)
      || !get_string (kf, "ice", "turn-password", NULL, &c->turn_password,
          error)
      || !get_string (kf, "ice", "turn-secret", NULL, &c->turn_secret, error)
      || !get_uint (kf, "ice", "turn-ttl", 86400, 60, 30 * 86400,
          &c->turn_ttl, error)
      || !get_bool (kf, "ice", "relay-only", FALSE, &c->relay_only, error))
    return FALSE;
  if (c->turn_secret && (c->turn_user || c->turn_password))
    return fail (error, "ice", "turn-secret", "either turn-secret or "
        "turn-user and turn-password, not both");
  if (turn && !c->turn_secret && (!c->turn_user || !c->turn_password))
    return fail (error, "ice", "turn-user", "a TURN server needs "
        "turn-user and turn-password, or turn-secret");
  if (c->relay_only && !turn)
    return fail (error, "ice", "relay-only", "needs a TURN server (turn=)");
  return TRUE;
}

static gboolean
chip_present (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/dev", 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_prefix (name, "gpiochip"))
      return TRUE;
  return FALSE;
}

/* ADDRESS or ADDRESS/BITS with BITS within the family's length: GLib
 * takes /999 for /0 (with a warning), which would allow every address. */
static gboolean
network_is_valid (const gchar * text)
{
  const gchar *slash = strchr (text, '/');
  g_autofree gchar *address_text = slash ? g_strndup (text, slash - text) :
      g_strdup (text);
  g_autoptr (GInetAddress) address =
      g_inet_address_new_from_string (address_text);
  guint64 bits;

  if (address == NULL)
    return FALSE;
  if (slash == NULL)
    return TRUE;
  return g_ascii_string_to_unsigned (slash + 1, 10, 0,
      g_inet_address_get_native_size (address) * 8, &bits, NULL);
}

/* Checks and completes what the keys alone cannot. */
static gboolean
validate (OiConfig * c, GStrv networks, GError ** error)
{
  GStrvBuilder *local_users;
  g_auto (GStrv) all_users = NULL;

  /* Identity */
  if (c->host == NULL) {
    /* Default: this machine's name and the server's port. */
    c->host = c->port == 443 ? g_strdup (g_get_host_name ())
        : g_strdup_printf ("%s:%u", g_get_host_name (), c->port);
  }
  c->door_uri = g_strdup_printf ("%s@%s", c->door_user, c->host);
  if (!wsp_address_is_valid (c->door_uri))
    return fail (error, "station", "host", "\"%s\" with door \"%s\" is not a "
        "WSP address (user@host[:port])", c->host, c->door_user);
  for (guint i = 0; i < c->users->len; i++) {
    OiUser *user = g_ptr_array_index (c->users, i);
    g_autofree gchar *uri = g_strdup_printf ("%s@%s", user->name, c->host);

    if (!wsp_address_is_valid (uri) || g_str_equal (user->name, c->door_user)) {
      g_set_error (error, CONFIG_ERROR, 0, "[user %s]: not a valid user name "
          "(A-Z a-z 0-9 . _ -, not the door's)", user->name);
      return FALSE;
    }
  }
  /* Doors that register here: names of their own, tokens of their own. */
  for (guint i = 0; i < c->doors->len; i++) {
    OiRemoteDoor *door = g_ptr_array_index (c->doors, i);
    g_autofree gchar *group = g_strdup_printf ("door %s", door->name);
    g_autofree gchar *uri = g_strdup_printf ("%s@%s", door->name, c->host);

    if (!wsp_address_is_valid (uri) || oi_config_find_user (c, door->name)
        || g_str_equal (door->name, c->door_user)) {
      g_set_error (error, CONFIG_ERROR, 0, "[%s]: not a valid door name "
          "(A-Z a-z 0-9 . _ -, not a user's, not this station's door)",
          group);
      return FALSE;
    }
    for (guint j = 0; j < c->peers->len; j++)
      if (g_str_equal (door->token,
              ((OiPeer *) g_ptr_array_index (c->peers, j))->token))
        return fail (error, group, "token", "the same as a [peer]'s: each "
            "door needs its own");
    for (guint j = 0; j < i; j++)
      if (g_str_equal (door->token,
              ((OiRemoteDoor *) g_ptr_array_index (c->doors, j))->token))
        return fail (error, group, "token", "the same as another door's: "
            "each door needs its own");
  }

  /* Where this door registers. */
  if (c->home_url != NULL) {
    g_autofree gchar *own = g_strdup_printf ("x@%s", c->host);
    g_autofree gchar *there = NULL;

    if (c->home_server)
      return fail (error, "station", "role", "a home server registers "
          "nowhere: no [home-server] with role=home-server");
    if (c->home_user == NULL)
      c->home_user = g_strdup (c->door_user);
    c->home_uri = g_strdup_printf ("%s@%s", c->home_user, c->home_host);
    there = g_strdup_printf ("x@%s", c->home_host);
    if (!wsp_address_is_valid (c->home_uri))
      return fail (error, "home-server", "user", "\"%s\" at \"%s\" is not "
          "a WSP address (user@host[:port])", c->home_user, c->home_host);
    if (wsp_address_equal (own, there))
      return fail (error, "home-server", "host", "\"%s\" is this station",
          c->home_host);
  }

  /* ring and allow-callers, when absent: every user of this station. */
  local_users = g_strv_builder_new ();
  for (guint i = 0; i < c->users->len; i++) {
    g_autofree gchar *uri = g_strdup_printf ("%s@%s",
        ((OiUser *) g_ptr_array_index (c->users, i))->name, c->host);

    g_strv_builder_add (local_users, uri);
  }
  all_users = g_strv_builder_end (local_users);
  g_strv_builder_unref (local_users);
  if (c->ring == NULL)
    c->ring = g_strdupv (all_users);
  if (c->allow_callers == NULL) {
    c->allow_callers = g_strdupv (all_users);
    c->allow_callers_default = TRUE;
  }

  for (guint i = 0; i < c->peers->len; i++) {
    OiPeer *peer = g_ptr_array_index (c->peers, i);
    g_autofree gchar *group = g_strdup_printf ("peer %s", peer->name);
    g_autofree gchar *probe = g_strdup_printf ("x@%s", peer->host);
    g_autofree gchar *own = g_strdup_printf ("x@%s", c->host);

    if (wsp_address_equal (probe, own))
      return fail (error, group, "host", "\"%s\" is this station",
          peer->host);
    for (guint j = 0; j < i; j++) {
      OiPeer *other = g_ptr_array_index (c->peers, j);
      g_autofree gchar *other_probe = g_strdup_printf ("x@%s", other->host);

      if (wsp_address_equal (probe, other_probe))
        return fail (error, group, "host", "\"%s\" is also [peer %s]",
            peer->host, other->name);
      if (g_str_equal (peer->token, other->token))
        return fail (error, group, "token", "the same as [peer %s]'s: each "
            "peer needs its own", other->name);
    }
  }

  for (guint i = 0; c->ring[i]; i++)
    if (!wsp_address_is_valid (c->ring[i]))
      return fail (error, "calls", "ring", "\"%s\" is not a WSP address",
          c->ring[i]);
  for (guint i = 0; c->allow_callers[i]; i++)
    if (!wsp_address_is_valid (c->allow_callers[i]))
      return fail (error, "calls", "allow-callers", "\"%s\" is not a WSP "
          "address", c->allow_callers[i]);
  for (guint i = 0; networks[i]; i++) {
    GInetAddressMask *mask = network_is_valid (networks[i]) ?
        g_inet_address_mask_new_from_string (networks[i], NULL) : NULL;

    if (mask == NULL)
      return fail (error, "calls", "allow-networks", "\"%s\" is not an "
          "address or network (192.168.0.0/16)", networks[i]);
    g_ptr_array_add (c->allow_networks, mask);
  }

  /* Server */
  if ((c->certificate == NULL) != (c->private_key == NULL))
    return fail (error, "server", c->certificate ? "private-key" :
        "certificate", "certificate and private-key go together");

  /* Media: every value that reaches the pipeline text is plain. */
  if (g_str_equal (c->pipeline, "auto")) {
    g_free (c->pipeline);
    c->pipeline = g_strdup (g_file_test (c->video_device, G_FILE_TEST_EXISTS)
        ? "hardware" : "test");
  }
  if (!g_str_equal (c->pipeline, "test")
      && !g_str_equal (c->pipeline, "hardware"))
    return fail (error, "media", "pipeline", "\"%s\" is not auto, test or "
        "hardware", c->pipeline);
  if (!check_plain ("media", "video-device", c->video_device, error)
      || !check_plain ("media", "audio-source-device",
          c->audio_source_device, error)
      || !check_plain ("media", "audio-sink-device", c->audio_sink_device,
          error))
    return FALSE;
  for (guint i = 0; c->codecs[i]; i++)
    if (!g_str_equal (c->codecs[i], "h264") && !g_str_equal (c->codecs[i],
            "vp8"))
      return fail (error, "media", "codecs", "\"%s\" is not h264 or vp8",
          c->codecs[i]);
  if (c->codecs[0] == NULL)
    return fail (error, "media", "codecs", "no codec");

  /* GPIO */
  if (g_str_equal (c->chip, "auto")) {
    g_free (c->chip);
    c->chip = g_strdup (chip_present ()? "gpiochip0" : "sim");
  }
  if (!check_plain ("gpio", "chip", c->chip, error)
      || !parse_lines ("gpio", "inputs", c->inputs_text, &c->inputs, error)
      || !parse_lines ("gpio", "relays", c->relays_text, &c->relays, error))
    return FALSE;
  if (c->login_delay > c->login_max_delay)
    return fail (error, "limits", "login-delay", "%u s is longer than "
        "login-max-delay (%u s)", c->login_delay, c->login_max_delay);
  if (c->door_pulse > c->max_pulse)
    return fail (error, "gpio", "door-pulse", "%u ms is longer than "
        "max-pulse (%u ms)", c->door_pulse, c->max_pulse);
  if (!oi_config_find_line (c->inputs, "bell"))
    return fail (error, "gpio", "inputs", "an input named \"bell\" is "
        "required");

  /* ICE: reach element properties, not pipeline text; still plain. */
  if (!check_plain ("ice", "local-addresses", c->local_addresses, error))
    return FALSE;

  return TRUE;
}

static OiConfig *
load_key_file (GKeyFile * kf, const gchar * path, GError ** error)
{
  g_autoptr (OiConfig) c = g_new0 (OiConfig, 1);
  g_auto (GStrv) networks = NULL;
  g_autofree gchar *role = NULL;

  if (!check_known_keys (kf, error))
    return NULL;
  c->path = g_strdup (path);
  c->users = g_ptr_array_new_with_free_func (user_free);
  c->peers = g_ptr_array_new_with_free_func (peer_free);
  c->doors = g_ptr_array_new_with_free_func (remote_door_free);
  c->allow_networks = g_ptr_array_new_with_free_func (g_object_unref);

  if (!get_string (kf, "station", "host", NULL, &c->host, error)
      || !get_string (kf, "station", "door", "door", &c->door_user, error)
      || !get_string (kf, "station", "name", "Door", &c->name, error)
      || !get_string (kf, "station", "state-dir", "/var/lib/intercomd",
          &c->state_dir, error)
      || !get_string (kf, "station", "role", "door", &role, error)
      || !get_string (kf, "server", "address", "0.0.0.0", &c->address, error)
      || !get_uint (kf, "server", "port", 8443, 1, 65535, &c->port, error)
      || !get_bool (kf, "server", "tls", TRUE, &c->tls, error)
      || !get_uint (kf, "server", "session-idle", 7 * 86400, 5, 365 * 86400,
          &c->session_idle, error)
      || !get_uint (kf, "server", "session-lifetime", 30 * 86400, 5,
          365 * 86400, &c->session_lifetime, error)
      || !get_string (kf, "server", "certificate", NULL, &c->certificate,
          error)
      || !get_string (kf, "server", "private-key", NULL, &c->private_key,
          error)
      || !get_string (kf, "server", "web-root", OI_DATADIR "/www",
          &c->web_root, error)
      || !get_string (kf, "server", "pipelines", OI_DATADIR "/pipelines",
          &c->pipelines_dir, error)
      || !get_string (kf, "media", "pipeline", "auto", &c->pipeline, error)
      || !get_string (kf, "media", "video-device", "/dev/video0",
          &c->video_device, error)
      || !get_string (kf, "media", "audio-source-device", "default",
          &c->audio_source_device, error)
      || !get_string (kf, "media", "audio-sink-device", "default",
          &c->audio_sink_device, error)
      || !get_uint (kf, "media", "width", 640, 16, 4096, &c->width, error)
      || !get_uint (kf, "media", "height", 480, 16, 4096, &c->height, error)
      || !get_uint (kf, "media", "framerate", 30, 1, 120, &c->framerate,
          error)
      || !get_uint (kf, "media", "bitrate", 1000, 50, 50000, &c->bitrate,
          error)
      || !get_list (kf, "media", "codecs", "h264,vp8", &c->codecs, error)
      || !get_bool (kf, "media", "echo-cancel", TRUE, &c->echo_cancel, error)
      || !get_bool (kf, "media", "lip-sync", FALSE, &c->lip_sync, error)
      || !get_string (kf, "gpio", "chip", "auto", &c->chip, error)
      || !get_string (kf, "gpio", "inputs", "bell=17,in1=27,in2=22",
          &c->inputs_text, error)
      || !get_string (kf, "gpio", "relays", "bell=5,door=6", &c->relays_text,
          error)
      || !get_bool (kf, "gpio", "active-low", FALSE, &c->active_low, error)
      || !get_uint (kf, "gpio", "debounce", 20, 0, 10000, &c->debounce, error)
      || !get_uint (kf, "gpio", "door-pulse", 1000, 1, 60000, &c->door_pulse,
          error)
      || !get_uint (kf, "gpio", "max-pulse", 5000, 1, 60000, &c->max_pulse,
          error)
      || !get_bool (kf, "gpio", "bell-relay", TRUE, &c->bell_relay, error)
      || (g_key_file_has_key (kf, "calls", "ring", NULL)
          && !get_list (kf, "calls", "ring", NULL, &c->ring, error))
      || !get_uint (kf, "calls", "ring-timeout", 30, 1, 600,
          &c->ring_timeout, error)
      || !get_uint (kf, "calls", "max-call", 600, 10, 86400, &c->max_call,
          error)
      || !get_uint (kf, "calls", "peer-timeout", 8, 2, 60, &c->peer_timeout,
          error)
      || (g_key_file_has_key (kf, "calls", "allow-callers", NULL)
          && !get_list (kf, "calls", "allow-callers", NULL,
              &c->allow_callers, error))
      || !get_list (kf, "calls", "allow-networks", "127.0.0.0/8,::1/128",
          &networks, error)
      || !get_uint (kf, "limits", "sockets-per-address", 8, 1, 10000,
          &c->max_sockets_per_address, error)
      || !get_uint (kf, "limits", "sockets", 64, 1, 10000, &c->max_sockets,
          error)
      || !get_uint (kf, "limits", "peers", 4, 1, 16, &c->max_peers, error)
      || !get_uint (kf, "limits", "login-failures", 3, 1, 100,
          &c->login_failures, error)
      || !get_uint (kf, "limits", "login-delay", 1, 1, 3600, &c->login_delay,
          error)
      || !get_uint (kf, "limits", "login-max-delay", 300, 1, 86400,
          &c->login_max_delay, error)
      || !load_ice (kf, c, error)
      || !get_string (kf, "ice", "local-addresses", NULL,
          &c->local_addresses, error)
      || !load_users (kf, c, FALSE, error)
      || !load_users_file (c, error)
      || !load_peers (kf, c, error)
      || !load_doors (kf, c, error)
      || !load_home_server (kf, c, error))
    return NULL;
  if (!g_str_equal (role, "door") && !g_str_equal (role, "home-server")) {
    fail (error, "station", "role", "\"%s\" is not door or home-server",
        role);
    return NULL;
  }
  c->home_server = g_str_equal (role, "home-server");

  if (!validate (c, networks, error))
    return NULL;

  return g_steal_pointer (&c);
}

OiConfig *
oi_config_load (const gchar * path, GError ** error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return NULL;
  return load_key_file (kf, path, error);
}

OiConfig *
oi_config_load_data (const gchar * data, gsize length, GError ** error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, error))
    return NULL;
  return load_key_file (kf, "(data)", error);
}

gboolean
oi_config_users_changed (const OiConfig * config)
{
  g_autofree gchar *stamp = users_stamp (config->users_path);

  return !g_str_equal (stamp, config->users_stamp);
}

void
oi_config_mark_users_seen (OiConfig * config)
{
  g_free (config->users_stamp);
  config->users_stamp = users_stamp (config->users_path);
}
