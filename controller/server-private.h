/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What server.c (HTTP: files, API, logins) and wspendpoint.c (the /wsp
 * endpoint: who a socket is, its limits, the router) share. */

#pragma once

#include "intercomd.h"
#include "backoff.h"
#include "sessions.h"
#include "wsprouter-connection.h"

G_BEGIN_DECLS

struct _OiServer
{
  const OiConfig *config;
  OiIo *io;
  OiCalls *calls;
  OiServerUsersFunc users_changed;
  gpointer users_changed_data;
  SoupServer *soup;
  WspRouter *router;
  WspLocalServer *home;         /* the door's own callers, in the process */
  gchar *fingerprint;           /* NULL without TLS */
  OiSessions *sessions;
  guint prune_id;

  OiBackoff *login_by_address;
  OiBackoff *login_by_user;
  GHashTable *logins_running;   /* addresses whose check runs (one each) */

  GHashTable *sockets_by_address;       /* address -> open /wsp sockets */
  GHashTable *sockets;          /* WspConnection -> its address */
};

/* server.c */

/* The peer's IP address as text ("?" if it has none). A forwarded-for
 * header never stands in for it. */
gchar *oi_server_remote_ip (SoupServerMessage * msg);
void oi_server_respond_error (SoupServerMessage * msg, guint status,
    const gchar * what);
/* The users file changed: the daemon reloads its config. */
void oi_server_check_users (OiServer * self);
/* The session of @msg, or NULL; @token_out: its cookie token. */
const OiSession *oi_server_find_session (OiServer * self,
    SoupServerMessage * msg, gchar ** token_out);
/* Whether @msg's Origin, if any, is this station's own. */
gboolean oi_server_origin_ok (OiServer * self, SoupServerMessage * msg);

/* wspendpoint.c */

/* Serves /wsp on the server's SoupServer, and (unless a home server) the
 * door's own callers in the process (OI_HOME_SERVER_NAME), through
 * self->router. */
gboolean oi_server_add_wsp (OiServer * self, GError ** error);
/* Adds "doors": [{"uri", "name", "registered"}...] to @b: the doors that
 * register here ([door NAME]) and whether each is registered now; not at
 * a door station that has none. */
void oi_server_add_doors_json (OiServer * self, JsonBuilder * b);
/* At the end: lets go of the sockets still counted. */
void oi_server_forget_sockets (OiServer * self);

G_END_DECLS
