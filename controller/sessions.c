/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sessions in memory and in <state-dir>/sessions (sessions.h). The table
 * maps the SHA-256 of each cookie token to its session; the file is a
 * GKeyFile with one group per session, read strictly: any group, key or
 * value out of place refuses the whole file. */

#include "sessions.h"

#include <sodium.h>
#include <string.h>

#define FILE_VERSION 1
/* 16 sessions of 1024 users, ~300 bytes each, fit well under this. */
#define MAX_FILE_SIZE (8 * 1024 * 1024)
#define MAX_FILE_SESSIONS (16 * 1024)
#define MAX_USER_LENGTH 64      /* as a login's user name */
#define GROUP_PREFIX "session "
/* A bound on stored times (year 10000), so that no difference overflows. */
#define MAX_TIME G_GINT64_CONSTANT (253402300800000000)

struct _OiSessions
{
  gchar *path;
  guint idle_s, lifetime_s;
  OiSessionsUserFunc func;
  gpointer user_data;
  GHashTable *table;            /* SHA-256 (hex) of the token -> OiSession */
  gboolean dirty;               /* the file is behind the table */
};

static void
session_free (gpointer data)
{
  OiSession *session = data;

  g_free (session->user);
  g_free (session->password_tag);
  if (session->csrf) {
    sodium_memzero (session->csrf, strlen (session->csrf));
    g_free (session->csrf);
  }
  g_free (session);
}

static gchar *
sha256_hex (const gchar * text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

static gchar *
new_token (void)
{
  guint8 bytes[32];
  gchar *hex = g_malloc (sizeof bytes * 2 + 1);

  randombytes_buf (bytes, sizeof bytes);
  sodium_bin2hex (hex, sizeof bytes * 2 + 1, bytes, sizeof bytes);
  sodium_memzero (bytes, sizeof bytes);
  return hex;
}

/* 64 lowercase hex digits: a token, a SHA-256, a CSRF token. */
static gboolean
is_hex64 (const gchar * text)
{
  guint i;

  for (i = 0; i < 64; i++)
    if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
      return FALSE;
  return text[i] == '\0';
}

static gboolean
is_user_name (const gchar * text)
{
  gsize len = strlen (text);

  if (len == 0 || len > MAX_USER_LENGTH)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && !strchr ("._-", text[i]))
      return FALSE;
  return TRUE;
}

/* Whether @session may go on at @now: not idle or old past the limits,
 * its user still there with the same password. */
static gboolean
session_valid (OiSessions * self, const OiSession * session, gint64 now)
{
  const gchar *hash;
  g_autofree gchar *tag = NULL;

  if (now - session->last_used > (gint64) self->idle_s * G_USEC_PER_SEC
      || now - session->created > (gint64) self->lifetime_s * G_USEC_PER_SEC)
    return FALSE;
  hash = self->func (session->user, self->user_data);
  if (hash == NULL)
    return FALSE;
  tag = sha256_hex (hash);
  return g_str_equal (tag, session->password_tag);
}

/* Writing */

static gchar *
to_data (OiSessions * self, gsize * length)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GHashTableIter iter;
  const gchar *hash;
  OiSession *session;

  g_key_file_set_integer (kf, "sessions", "version", FILE_VERSION);
  g_key_file_set_comment (kf, NULL, NULL, " intercomd's sessions: a SHA-256 "
      "of each cookie token, never the token (docs/intercomd.md)", NULL);
  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, (gpointer *) & hash,
          (gpointer *) & session)) {
    g_autofree gchar *group = g_strconcat (GROUP_PREFIX, hash, NULL);

    /* Every value is plain ASCII of a checked alphabet: no escapes. */
    g_key_file_set_value (kf, group, "user", session->user);
    g_key_file_set_value (kf, group, "password", session->password_tag);
    g_key_file_set_value (kf, group, "csrf", session->csrf);
    g_key_file_set_int64 (kf, group, "created", session->created);
    g_key_file_set_int64 (kf, group, "last-used", session->last_used);
  }
  return g_key_file_to_data (kf, length, NULL);
}

/* Replaces the file whole (temporary file, fsync, rename), mode 0600. A
 * failure is a warning, and the next prune tries again. */
static void
save (OiSessions * self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  gsize length;

  self->dirty = FALSE;
  if (self->path == NULL)
    return;
  text = to_data (self, &length);
  if (!g_file_set_contents_full (self->path, text, length,
          G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
          &error)) {
    g_warning ("%s: cannot write the sessions: %s", self->path,
        error->message);
    self->dirty = TRUE;
  }
}

/* Reading: untrusted input, every field checked */

static gboolean
refuse (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError ** error, const gchar * format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, message);
  return FALSE;
}

static gboolean
parse_time (GKeyFile * kf, const gchar * group, const gchar * key,
    gint64 * out, GError ** error)
{
  g_autofree gchar *value = g_key_file_get_value (kf, group, key, NULL);

  /* digits only: no sign, no blanks */
  if (value == NULL || value[0] == '\0'
      || strspn (value, "0123456789") != strlen (value)
      || !g_ascii_string_to_signed (value, 10, 1, MAX_TIME, out, NULL))
    return refuse (error, "[%s] %s: not a time (µs since the epoch)", group,
        key);
  return TRUE;
}

static OiSession *
parse_session (GKeyFile * kf, const gchar * group, GError ** error)
{
  static const gchar *const known[] = { "user", "password", "csrf",
    "created", "last-used", NULL
  };
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autofree gchar *user = NULL, *password = NULL, *csrf = NULL;
  gint64 created, last_used;
  OiSession *session;

  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (known, keys[i])) {
      refuse (error, "[%s]: unknown key \"%s\"", group, keys[i]);
      return NULL;
    }
  user = g_key_file_get_value (kf, group, "user", NULL);
  password = g_key_file_get_value (kf, group, "password", NULL);
  csrf = g_key_file_get_value (kf, group, "csrf", NULL);
  if (user == NULL || !is_user_name (user)) {
    refuse (error, "[%s] user: missing or not a user name", group);
    return NULL;
  }
  if (password == NULL || !is_hex64 (password)) {
    refuse (error, "[%s] password: missing or not a SHA-256", group);
    return NULL;
  }
  if (csrf == NULL || !is_hex64 (csrf)) {
    refuse (error, "[%s] csrf: missing or not a token", group);
    return NULL;
  }
  if (!parse_time (kf, group, "created", &created, error)
      || !parse_time (kf, group, "last-used", &last_used, error))
    return NULL;
  if (last_used < created) {
    refuse (error, "[%s]: last-used before created", group);
    return NULL;
  }
  session = g_new0 (OiSession, 1);
  session->user = g_steal_pointer (&user);
  session->password_tag = g_steal_pointer (&password);
  session->csrf = g_steal_pointer (&csrf);
  session->created = created;
  session->last_used = last_used;
  return session;
}

/* The sessions in @data, or NULL with @error set. */
static GHashTable *
parse (const gchar * data, gsize length, GError ** error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GHashTable) table = NULL;
  g_auto (GStrv) groups = NULL;
  g_auto (GStrv) keys = NULL;
  gsize n_groups;

  if (length > MAX_FILE_SIZE) {
    refuse (error, "larger than %u bytes", MAX_FILE_SIZE);
    return NULL;
  }
  /* (also refuses a NUL byte) */
  if (!g_utf8_validate_len (data, length, NULL)) {
    refuse (error, "not UTF-8 text");
    return NULL;
  }
  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, error))
    return NULL;
  keys = g_key_file_get_keys (kf, "sessions", NULL, NULL);
  if (keys == NULL || g_strv_length (keys) != 1
      || !g_str_equal (keys[0], "version")
      || g_key_file_get_int64 (kf, "sessions", "version", NULL)
      != FILE_VERSION) {
    refuse (error, "[sessions] version=%d is missing (not a sessions file, "
        "or another version's)", FILE_VERSION);
    return NULL;
  }
  groups = g_key_file_get_groups (kf, &n_groups);
  if (n_groups - 1 > MAX_FILE_SESSIONS) {
    refuse (error, "more than %u sessions", MAX_FILE_SESSIONS);
    return NULL;
  }
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      session_free);
  for (guint i = 0; groups[i]; i++) {
    const gchar *hash;
    OiSession *session;

    if (g_str_equal (groups[i], "sessions"))
      continue;
    if (!g_str_has_prefix (groups[i], GROUP_PREFIX)
        || !is_hex64 (hash = groups[i] + strlen (GROUP_PREFIX))) {
      refuse (error, "[%s]: not a group of this file", groups[i]);
      return NULL;
    }
    if (!(session = parse_session (kf, groups[i], error)))
      return NULL;
    g_hash_table_insert (table, g_strdup (hash), session);
  }
  return g_steal_pointer (&table);
}

/* The sessions of the file at @path; NULL with @error set (G_FILE_ERROR_NOENT:
 * there is none). */
static GHashTable *
read_file (const gchar * path, GError ** error)
{
  g_autoptr (GMappedFile) file = NULL;

  /* mapped, so a huge file is refused without being read */
  if (!(file = g_mapped_file_new (path, FALSE, error)))
    return NULL;
  return parse (g_mapped_file_get_contents (file),
      g_mapped_file_get_length (file), error);
}

/* Ends the least recently used sessions of @user until it has @keep. */
static guint
trim_user (OiSessions * self, const gchar * user, guint keep)
{
  guint ended = 0;

  for (;;) {
    GHashTableIter iter;
    const gchar *hash, *oldest_hash = NULL;
    OiSession *session, *oldest = NULL;
    guint count = 0;

    g_hash_table_iter_init (&iter, self->table);
    while (g_hash_table_iter_next (&iter, (gpointer *) & hash,
            (gpointer *) & session)) {
      if (!g_str_equal (session->user, user))
        continue;
      count++;
      if (oldest == NULL || session->last_used < oldest->last_used) {
        oldest = session;
        oldest_hash = hash;
      }
    }
    if (count <= keep)
      return ended;
    g_message ("%s has %u sessions: the least used one ends", user, count);
    g_hash_table_remove (self->table, oldest_hash);
    self->dirty = TRUE;
    ended++;
  }
}

static guint
end_invalid (OiSessions * self, gint64 now, gboolean quiet)
{
  GHashTableIter iter;
  OiSession *session;
  guint ended = 0;

  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & session))
    if (!session_valid (self, session, now)) {
      if (!quiet)
        g_message ("session of %s ended (expired, removed or new password)",
            session->user);
      g_hash_table_iter_remove (&iter);
      self->dirty = TRUE;
      ended++;
    }
  return ended;
}

/* API */

OiSessions *
oi_sessions_new (const gchar * path, guint idle_s, guint lifetime_s,
    OiSessionsUserFunc func, gpointer user_data)
{
  OiSessions *self = g_new0 (OiSessions, 1);

  self->path = g_strdup (path);
  self->idle_s = idle_s;
  self->lifetime_s = lifetime_s;
  self->func = func;
  self->user_data = user_data;
  self->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      session_free);
  return self;
}

void
oi_sessions_free (OiSessions * self)
{
  if (self == NULL)
    return;
  if (self->dirty)
    save (self);
  g_hash_table_unref (self->table);
  g_free (self->path);
  g_free (self);
}

void
oi_sessions_set_limits (OiSessions * self, guint idle_s, guint lifetime_s)
{
  self->idle_s = idle_s;
  self->lifetime_s = lifetime_s;
}

guint
oi_sessions_load (OiSessions * self, gint64 now)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) users = NULL;
  GHashTable *loaded;
  GHashTableIter iter;
  OiSession *session;
  const gchar *user;
  guint read, ended;

  g_hash_table_remove_all (self->table);
  self->dirty = FALSE;
  if (self->path == NULL)
    return 0;
  if (!(loaded = read_file (self->path, &error))) {
    if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_warning ("%s: %s; starting with no sessions", self->path,
          error->message);
    return 0;
  }
  g_hash_table_unref (self->table);
  self->table = loaded;
  read = g_hash_table_size (loaded);

  /* A clock that is behind (a board without a real-time clock, before
   * NTP) must not make a session last longer than its limits from now. */
  users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & session)) {
    session->created = MIN (session->created, now);
    session->last_used = MIN (session->last_used, now);
    g_hash_table_add (users, g_strdup (session->user));
  }
  ended = end_invalid (self, now, TRUE);
  g_hash_table_iter_init (&iter, users);
  while (g_hash_table_iter_next (&iter, (gpointer *) & user, NULL))
    ended += trim_user (self, user, OI_SESSIONS_PER_USER);
  g_message ("%u sessions kept from %s (%u not: past their limits, or "
      "their user is gone or has new credentials)", read - ended, self->path,
      ended);
  if (self->dirty)
    save (self);
  return read - ended;
}

const OiSession *
oi_sessions_find (OiSessions * self, const gchar * token, gint64 now)
{
  g_autofree gchar *hash = NULL;
  OiSession *session;

  if (token == NULL || !is_hex64 (token))
    return NULL;
  hash = sha256_hex (token);
  if (!(session = g_hash_table_lookup (self->table, hash)))
    return NULL;
  if (!session_valid (self, session, now)) {
    g_message ("session of %s ended (expired, removed or new password)",
        session->user);
    g_hash_table_remove (self->table, hash);
    save (self);
    return NULL;
  }
  if (session->last_used != now) {
    session->last_used = now;
    self->dirty = TRUE;         /* written by the next prune */
  }
  return session;
}

gchar *
oi_sessions_add (OiSessions * self, const gchar * user,
    const gchar * password_hash, gint64 now, const OiSession ** out)
{
  OiSession *session;
  gchar *token;

  trim_user (self, user, OI_SESSIONS_PER_USER - 1);
  session = g_new0 (OiSession, 1);
  session->user = g_strdup (user);
  session->password_tag = sha256_hex (password_hash);
  session->csrf = new_token ();
  session->created = session->last_used = now;
  token = new_token ();
  g_hash_table_insert (self->table, sha256_hex (token), session);
  save (self);
  if (out)
    *out = session;
  return token;
}

void
oi_sessions_remove (OiSessions * self, const gchar * token)
{
  g_autofree gchar *hash = NULL;

  if (token == NULL || !is_hex64 (token))
    return;
  hash = sha256_hex (token);
  if (g_hash_table_remove (self->table, hash))
    save (self);
}

guint
oi_sessions_prune (OiSessions * self, gint64 now)
{
  guint ended = end_invalid (self, now, FALSE);

  if (self->dirty)
    save (self);
  return ended;
}

guint
oi_sessions_count (OiSessions * self)
{
  return g_hash_table_size (self->table);
}
