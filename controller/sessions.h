/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sessions of logged-in browsers, in memory and in a file of the state
 * directory, so that a restart, a crash or a power cut logs nobody out
 * (docs/intercomd.md, "Decisions"). The cookie, the CSRF check and the
 * HTTP side are the server's (server.c).
 *
 * Only a SHA-256 of each cookie token is kept, in memory as on disk: a
 * token is looked up through its hash. A session holds its user, a
 * SHA-256 of that user's password hash at login (a new password ends it),
 * its CSRF token, and its creation and last-use times. It ends when it was
 * unused for the idle limit, at the lifetime limit, at log-out, and when
 * its user is gone or has another password hash.
 *
 * The file is written whole (a temporary file, fsync, rename, mode 0600)
 * at every login and log-out and when a session ends; a session's last use
 * reaches it only with oi_sessions_prune() or oi_sessions_free() (the
 * server prunes once a minute), never at each request. It is untrusted
 * input when read: a file that is too large or has any field out of place
 * is refused whole (a warning naming it) and no session is loaded.
 *
 * Times are passed in, never read here: µs since the epoch
 * (g_get_real_time(); monotonic time does not survive a reboot). Not
 * thread-safe: use it from one thread (the main context). */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A user's sessions at most; a new login past this ends the least recently
 * used one. */
#define OI_SESSIONS_PER_USER 16

typedef struct _OiSessions OiSessions;

/* Read-only for the caller; valid until the next call that may end a
 * session (find, add, remove, prune, set_limits). */
typedef struct
{
  gchar *user;
  gchar *password_tag;          /* SHA-256 (hex) of the password hash */
  gchar *csrf;                  /* 64 hex digits */
  gint64 created, last_used;    /* µs since the epoch */
} OiSession;

/* The password hash @user has now, or NULL if there is no such user. */
typedef const gchar *(*OiSessionsUserFunc) (const gchar * user,
    gpointer user_data);

/* Sessions kept in @path (NULL: in memory only), with the limits in
 * seconds; @func tells who still exists with which password. Nothing is
 * read until oi_sessions_load(). */
OiSessions *oi_sessions_new (const gchar * path, guint idle_s,
    guint lifetime_s, OiSessionsUserFunc func, gpointer user_data);
/* Writes what is not on disk yet, then frees. */
void oi_sessions_free (OiSessions * sessions);

/* New limits (a reload); sessions past them end at the next prune. */
void oi_sessions_set_limits (OiSessions * sessions, guint idle_s,
    guint lifetime_s);

/* Reads the file, replacing the sessions in memory, and keeps those still
 * valid at @now. No file: none, quietly. An unreadable or malformed file:
 * a warning naming it, and none. Returns how many were kept. */
guint oi_sessions_load (OiSessions * sessions, gint64 now);

/* The session of cookie token @token, its last use set to @now; NULL if
 * there is none. One no longer valid at @now ends here. */
const OiSession *oi_sessions_find (OiSessions * sessions,
    const gchar * token, gint64 now);

/* A new session for @user, whose password hash is @password_hash; the file
 * is written. Returns its cookie token (64 hex digits), never stored;
 * @session, if not NULL, is set to the new session. */
gchar *oi_sessions_add (OiSessions * sessions, const gchar * user,
    const gchar * password_hash, gint64 now, const OiSession ** session);

/* Log-out: the session of @token ends and the file is written. */
void oi_sessions_remove (OiSessions * sessions, const gchar * token);

/* Ends the sessions no longer valid at @now, then writes the file if
 * anything changed since it was last written (last uses included).
 * Returns how many ended. */
guint oi_sessions_prune (OiSessions * sessions, gint64 now);

guint oi_sessions_count (OiSessions * sessions);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiSessions, oi_sessions_free)

G_END_DECLS
