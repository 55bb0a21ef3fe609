/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sessions kept in the state directory (controller/sessions.c): what the
 * file holds and does not, what comes back after a restart and what does
 * not, and the refusal of a malformed file. Time is passed in: nothing
 * sleeps. */

#include "sessions.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Wall-clock µs; a large start so that a s/µs mix-up shows. */
#define T0 (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)
#define S(s) ((gint64) (s) * G_USEC_PER_SEC)
#define IDLE 3600
#define LIFETIME 86400

typedef struct
{
  gchar *dir;
  gchar *path;
  GHashTable *users;            /* name -> password hash */
} Fixture;

static const gchar *
user_hash (const gchar * user, gpointer data)
{
  Fixture *f = data;

  return g_hash_table_lookup (f->users, user);
}

static void
setup (Fixture * f, gconstpointer unused)
{
  f->dir = g_dir_make_tmp ("oi-sessions-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "sessions", NULL);
  f->users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (f->users, g_strdup ("alice"),
      g_strdup ("$argon2id$v=19$m=65536,t=2,p=1$alice-salt$alice-hash"));
  g_hash_table_insert (f->users, g_strdup ("bob"),
      g_strdup ("$argon2id$v=19$m=65536,t=2,p=1$bob-salt$bob-hash"));
}

static void
teardown (Fixture * f, gconstpointer unused)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    g_autofree gchar *p = g_build_filename (f->dir, name, NULL);

    g_chmod (p, 0700);
    if (g_rmdir (p) != 0)
      g_unlink (p);
  }
  g_rmdir (f->dir);
  g_hash_table_unref (f->users);
  g_free (f->path);
  g_free (f->dir);
}

static OiSessions *
open_sessions (Fixture * f)
{
  return oi_sessions_new (f->path, IDLE, LIFETIME, user_hash, f);
}

static gchar *
read_text (Fixture * f)
{
  gchar *text = NULL;

  g_assert_true (g_file_get_contents (f->path, &text, NULL, NULL));
  return text;
}

static gchar *
sha256 (const gchar * text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

/* A restart: what was on disk comes back, with its CSRF token. */
static void
test_round_trip (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = NULL;
  const OiSession *session;
  g_autofree gchar *alice = NULL, *bob = NULL, *csrf = NULL;

  g_assert_cmpuint (oi_sessions_load (s, T0), ==, 0);   /* no file, quietly */
  alice = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, &session);
  g_assert_cmpuint (strlen (alice), ==, 64);
  csrf = g_strdup (session->csrf);
  bob = oi_sessions_add (s, "bob", g_hash_table_lookup (f->users, "bob"),
      T0 + S (1), NULL);
  g_assert_cmpstr (alice, !=, bob);

  /* no flush: a SIGKILL right after the logins */
  again = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (again, T0 + S (10)), ==, 2);
  session = oi_sessions_find (again, alice, T0 + S (10));
  g_assert_nonnull (session);
  g_assert_cmpstr (session->user, ==, "alice");
  g_assert_cmpstr (session->csrf, ==, csrf);
  g_assert_cmpint (session->created, ==, T0);
  session = oi_sessions_find (again, bob, T0 + S (10));
  g_assert_nonnull (session);
  g_assert_cmpstr (session->user, ==, "bob");
  /* another token, a hash in place of a token, garbage */
  {
    g_autofree gchar *hash = sha256 (alice);
    g_autofree gchar *other = g_strdup (alice);

    other[0] = other[0] == 'a' ? 'b' : 'a';
    g_assert_null (oi_sessions_find (again, other, T0 + S (10)));
    g_assert_null (oi_sessions_find (again, hash, T0 + S (10)));
    g_assert_null (oi_sessions_find (again, "", T0 + S (10)));
    g_assert_null (oi_sessions_find (again, NULL, T0 + S (10)));
  }
  g_assert_cmpuint (oi_sessions_count (again), ==, 2);
}

/* The file: 0600, a hash of each token and never the token, a hash of the
 * password hash and never that. */
static void
test_file_contents (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autofree gchar *token = NULL, *text = NULL, *hash = NULL;
  const OiSession *session;
  GStatBuf st;

  oi_sessions_load (s, T0);
  token = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, &session);
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  text = read_text (f);
  hash = sha256 (token);
  g_assert_null (strstr (text, token));
  g_assert_nonnull (strstr (text, hash));
  g_assert_null (strstr (text, "alice-hash"));
  g_assert_nonnull (strstr (text, session->csrf));
  g_assert_nonnull (strstr (text, "user=alice\n"));
}

/* Log-out ends a session in the file too. */
static void
test_remove (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = open_sessions (f);
  g_autofree gchar *a = NULL, *b = NULL, *text = NULL, *hash = NULL;

  oi_sessions_load (s, T0);
  a = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users, "alice"),
      T0, NULL);
  b = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users, "alice"),
      T0, NULL);
  oi_sessions_remove (s, a);
  g_assert_null (oi_sessions_find (s, a, T0));
  hash = sha256 (a);
  text = read_text (f);
  g_assert_null (strstr (text, hash));
  g_assert_cmpuint (oi_sessions_load (again, T0), ==, 1);
  g_assert_null (oi_sessions_find (again, a, T0));
  g_assert_nonnull (oi_sessions_find (again, b, T0));
}

/* Limits apply at load, with the times from the file. */
static void
test_expired_not_loaded (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autofree gchar *old = NULL, *used = NULL;
  gint64 t;

  oi_sessions_load (s, T0);
  old = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  used = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  /* used every half idle limit until just before the lifetime ends */
  for (t = T0; t <= T0 + S (LIFETIME) - S (IDLE / 2); t += S (IDLE / 2)) {
    g_assert_nonnull (oi_sessions_find (s, used, t));
    oi_sessions_prune (s, t);
  }
  g_clear_pointer (&s, oi_sessions_free);

  /* within the idle limit of its last use, within its lifetime */
  s = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (s, T0 + S (LIFETIME)), ==, 1);
  g_assert_null (oi_sessions_find (s, old, T0 + S (LIFETIME)));
  g_assert_nonnull (oi_sessions_find (s, used, T0 + S (LIFETIME)));
  g_clear_pointer (&s, oi_sessions_free);
  /* past the lifetime, whatever its use */
  s = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (s, T0 + S (LIFETIME) + 1), ==, 0);
  g_assert_null (oi_sessions_find (s, used, T0 + S (LIFETIME) + 1));
}

/* Idle at load, and the once-a-minute write of last uses: a find does not
 * write the file, a prune does. */
static void
test_last_use_written_by_prune (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = NULL;
  g_autofree gchar *token = NULL, *before = NULL, *after_find = NULL;
  g_autofree gchar *after_prune = NULL;

  oi_sessions_load (s, T0);
  token = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  before = read_text (f);
  g_assert_nonnull (oi_sessions_find (s, token, T0 + S (IDLE)));
  after_find = read_text (f);
  g_assert_cmpstr (before, ==, after_find);

  /* a crash now: the last use on disk is the login's */
  again = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (again, T0 + S (IDLE) + 1), ==, 0);
  g_clear_pointer (&again, oi_sessions_free);

  g_assert_cmpuint (oi_sessions_prune (s, T0 + S (IDLE)), ==, 0);
  after_prune = read_text (f);
  g_assert_cmpstr (before, !=, after_prune);
  again = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (again, T0 + S (IDLE) + 1), ==, 1);
  g_assert_nonnull (oi_sessions_find (again, token, T0 + S (IDLE) + 1));
}

/* The last uses not on disk yet are written as it stops. */
static void
test_free_writes (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = NULL;
  g_autofree gchar *token = NULL;

  oi_sessions_load (s, T0);
  token = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  g_assert_nonnull (oi_sessions_find (s, token, T0 + S (IDLE)));
  g_clear_pointer (&s, oi_sessions_free);
  again = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (again, T0 + S (IDLE) + 1), ==, 1);
}

/* A new password or a removed user: the session ends in memory at once
 * (the next find or prune) and is not loaded after a restart. */
static void
test_user_changes (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = NULL;
  g_autofree gchar *a = NULL, *b = NULL, *text = NULL;

  oi_sessions_load (s, T0);
  a = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users, "alice"),
      T0, NULL);
  b = oi_sessions_add (s, "bob", g_hash_table_lookup (f->users, "bob"), T0,
      NULL);
  g_hash_table_insert (f->users, g_strdup ("alice"),
      g_strdup ("$argon2id$v=19$m=65536,t=2,p=1$alice-salt$new-hash"));
  again = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (again, T0), ==, 1);
  g_assert_null (oi_sessions_find (again, a, T0));
  g_assert_nonnull (oi_sessions_find (again, b, T0));
  g_clear_pointer (&again, oi_sessions_free);

  g_assert_null (oi_sessions_find (s, a, T0 + 1));
  g_hash_table_remove (f->users, "bob");
  g_assert_cmpuint (oi_sessions_prune (s, T0 + 2), ==, 1);
  g_assert_cmpuint (oi_sessions_count (s), ==, 0);
  text = read_text (f);
  g_assert_null (strstr (text, "user="));
}

/* A clock that is behind at start does not stretch a session's life. */
static void
test_clock_behind (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autofree gchar *token = NULL;
  const OiSession *session;
  gint64 behind = T0 - S (86400);

  oi_sessions_load (s, T0);
  token = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  g_clear_pointer (&s, oi_sessions_free);
  s = open_sessions (f);
  g_assert_cmpuint (oi_sessions_load (s, behind), ==, 1);
  session = oi_sessions_find (s, token, behind);
  g_assert_nonnull (session);
  g_assert_cmpint (session->created, ==, behind);
  for (gint64 t = behind; t < behind + S (LIFETIME); t += S (IDLE / 2))
    g_assert_nonnull (oi_sessions_find (s, token, t));
  g_assert_null (oi_sessions_find (s, token, behind + S (LIFETIME) + 1));
}

/* 16 per user, in memory and at load. */
static void
test_per_user_cap (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = open_sessions (f);
  gchar *tokens[OI_SESSIONS_PER_USER + 1];

  oi_sessions_load (s, T0);
  for (guint i = 0; i <= OI_SESSIONS_PER_USER; i++)
    tokens[i] = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
            "alice"), T0 + i, NULL);
  g_assert_cmpuint (oi_sessions_count (s), ==, OI_SESSIONS_PER_USER);
  g_assert_null (oi_sessions_find (s, tokens[0], T0 + S (1)));
  g_assert_nonnull (oi_sessions_find (s, tokens[1], T0 + S (1)));
  g_assert_cmpuint (oi_sessions_load (again, T0 + S (1)), ==,
      OI_SESSIONS_PER_USER);
  for (guint i = 0; i <= OI_SESSIONS_PER_USER; i++)
    g_free (tokens[i]);
}

static gchar *
valid_file (void)
{
  return g_strdup_printf ("[sessions]\nversion=1\n\n"
      "[session %s]\nuser=alice\npassword=%s\ncsrf=%s\n"
      "created=%" G_GINT64_FORMAT "\nlast-used=%" G_GINT64_FORMAT "\n",
      /* (the cases below name these times: 1700000000000000 and one
       * second later) */
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      /* SHA-256 of alice's hash, filled in below */
      "@PASSWORD@",
      "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
      T0, T0 + S (1));
}

static gchar *
replace (const gchar * text, const gchar * old, const gchar * new)
{
  g_auto (GStrv) parts = g_strsplit (text, old, -1);

  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  return g_strjoinv (new, parts);
}

static guint
load_text (Fixture * f, const gchar * text, gssize length)
{
  g_autoptr (OiSessions) s = open_sessions (f);

  g_assert_true (g_file_set_contents (f->path, text, length, NULL));
  return oi_sessions_load (s, T0 + S (2));
}

/* Any field out of place: a warning naming the file, no session, no
 * crash. Each case changes one thing of a file that loads. */
static void
test_malformed (Fixture * f, gconstpointer unused)
{
  g_autofree gchar *tag = sha256 (g_hash_table_lookup (f->users, "alice"));
  g_autofree gchar *template = valid_file ();
  g_autofree gchar *good = replace (template, "@PASSWORD@", tag);
  g_autofree gchar *pattern = g_strdup_printf ("*%s*no sessions*", f->path);
  const gchar *group = "[session 0123456789abcdef0123456789abcdef"
      "0123456789abcdef0123456789abcdef]";
  const struct
  {
    const gchar *old, *new;
  } cases[] = {
    {"[sessions]\nversion=1\n", ""},
    {"version=1", "version=2"},
    {"version=1", "version=1\nextra=1"},
    {"[sessions]", "[session]"},
    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"},
    {"[session ", "[other "},
    {"user=alice", "user=alice\ntoken=x"},
    {"user=alice\n", ""},
    {"user=alice", "user="},
    {"user=alice", "user=al ice"},
    {"user=alice", "user=al\\sice"},
    {"password=", "password=x"},
    {"csrf=fedcba", "csrf=Fedcba"},
    {"csrf=fedcba9876543210", "csrf=fedcba987654321"},
    {"created=1700000000000000", "created=-1700000000000000"},
    {"created=1700000000000000", "created=+1700000000000000"},
    {"created=1700000000000000", "created=1700000000000000.5"},
    {"created=1700000000000000", "created=0x1700000000000000"},
    {"created=1700000000000000", "created=0"},
    {"created=1700000000000000", "created="},
    {"created=1700000000000000", "created=99999999999999999999"},
    {"last-used=1700000001000000", "last-used=1699999999999999"},
    {"last-used=1700000001000000", "last-used=1700000001000000"},
    {"last-used=1700000001000000\n", ""},
    {"\nlast-used=", "\nlast-used=\n"},
    {"\n[session", "\nnot a key file line\n[session"},
    {"user=alice", "user=\xc3\x28"},
  };

  g_assert_cmpuint (load_text (f, good, -1), ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree gchar *bad = replace (good, cases[i].old, cases[i].new);
    g_autofree gchar *from = g_strescape (cases[i].old, NULL);
    g_autofree gchar *to = g_strescape (cases[i].new, NULL);

    g_test_message ("case %u: \"%s\" -> \"%s\"", i, from, to);
    if (g_str_equal (cases[i].old, cases[i].new)) {
      g_assert_cmpuint (load_text (f, bad, -1), ==, 1);
      continue;
    }
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, pattern);
    g_assert_cmpuint (load_text (f, bad, -1), ==, 0);
    g_test_assert_expected_messages ();
  }

  /* a user name of 65 characters (64: the control) */
  for (guint len = 64; len <= 65; len++) {
    g_autofree gchar *name = g_strnfill (len, 'a');
    g_autofree gchar *line = g_strconcat ("user=", name, NULL);
    g_autofree gchar *bad = replace (good, "user=alice", line);

    g_hash_table_insert (f->users, g_strdup (name),
        g_strdup (g_hash_table_lookup (f->users, "alice")));
    if (len == 64) {
      g_assert_cmpuint (load_text (f, bad, -1), ==, 1);
      continue;
    }
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, pattern);
    g_assert_cmpuint (load_text (f, bad, -1), ==, 0);
    g_test_assert_expected_messages ();
  }
  /* a NUL byte */
  {
    g_autofree gchar *nul = g_strdup (good);

    nul[strlen (group) + 20] = '\0';
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, pattern);
    g_assert_cmpuint (load_text (f, nul, strlen (good)), ==, 0);
    g_test_assert_expected_messages ();
  }
  /* too large: refused before it is parsed */
  {
    gsize size = 8 * 1024 * 1024 + 1;
    g_autofree gchar *big = g_malloc (size);

    memset (big, '#', size);
    memcpy (big, good, strlen (good));
    big[strlen (good)] = '\n';
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING,
        "*larger than*");
    g_assert_cmpuint (load_text (f, big, size), ==, 0);
    g_test_assert_expected_messages ();
    /* one byte less is read */
    g_assert_cmpuint (load_text (f, big, size - 1), ==, 1);
  }
  /* a directory in its place */
  {
    g_autoptr (OiSessions) s = open_sessions (f);

    g_assert_cmpint (g_unlink (f->path), ==, 0);
    g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, pattern);
    g_assert_cmpuint (oi_sessions_load (s, T0 + S (2)), ==, 0);
    g_test_assert_expected_messages ();
    g_assert_cmpint (g_rmdir (f->path), ==, 0);
  }
  /* unreadable (root reads it anyway) */
  if (geteuid () != 0) {
    g_autoptr (OiSessions) s = open_sessions (f);

    g_assert_true (g_file_set_contents (f->path, good, -1, NULL));
    g_assert_cmpint (g_chmod (f->path, 0), ==, 0);
    g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, pattern);
    g_assert_cmpuint (oi_sessions_load (s, T0 + S (2)), ==, 0);
    g_test_assert_expected_messages ();
  }
}

/* After a refused file, the next write replaces it with a good one. */
static void
test_malformed_replaced (Fixture * f, gconstpointer unused)
{
  g_autoptr (OiSessions) s = open_sessions (f);
  g_autoptr (OiSessions) again = open_sessions (f);
  g_autofree gchar *token = NULL;

  g_assert_true (g_file_set_contents (f->path, "garbage", -1, NULL));
  g_test_expect_message ("intercomd", G_LOG_LEVEL_WARNING, "*sessions*");
  g_assert_cmpuint (oi_sessions_load (s, T0), ==, 0);
  g_test_assert_expected_messages ();
  token = oi_sessions_add (s, "alice", g_hash_table_lookup (f->users,
          "alice"), T0, NULL);
  g_assert_cmpuint (oi_sessions_load (again, T0), ==, 1);
  g_assert_nonnull (oi_sessions_find (again, token, T0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

#define ADD(name, func) \
  g_test_add ("/sessions/" name, Fixture, NULL, setup, func, teardown)
  ADD ("round-trip", test_round_trip);
  ADD ("file-contents", test_file_contents);
  ADD ("remove", test_remove);
  ADD ("expired-not-loaded", test_expired_not_loaded);
  ADD ("last-use-written-by-prune", test_last_use_written_by_prune);
  ADD ("free-writes", test_free_writes);
  ADD ("user-changes", test_user_changes);
  ADD ("clock-behind", test_clock_behind);
  ADD ("per-user-cap", test_per_user_cap);
  ADD ("malformed", test_malformed);
  ADD ("malformed-replaced", test_malformed_replaced);
#undef ADD

  return g_test_run ();
}
