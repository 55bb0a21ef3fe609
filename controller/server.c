/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTPS server: the web app's files, the JSON API, sessions and the
 * WSP endpoint (docs/intercomd.md). */

#include "intercomd.h"
#include "wspcertificate.h"
#include "server-private.h"

#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#define SESSION_COOKIE "oi_session"
#define CSRF_HEADER "X-CSRF-Token"
#define STATUS_TOO_MANY_REQUESTS 429   /* RFC 6585; libsoup 3.2 has no name */
#define MAX_BODY 4096
/* Expired sessions are swept, and last uses written, this often. */
#define PRUNE_INTERVAL_S 60
/* Password checks at once (argon2id takes 64 MiB each), and per client. */
#define MAX_LOGINS_RUNNING 2
/* Login failure records kept per table (clients, user names). */
#define MAX_LOGIN_RECORDS 4096
#define LOGIN_FORGET_MS (24 * 3600 * 1000)


/* The peer's IP address as text ("?" if it has none). A forwarded-for
 * header never stands in for it. */
gchar *
oi_server_remote_ip (SoupServerMessage * msg)
{
  GSocketAddress *address = soup_server_message_get_remote_address (msg);

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("?");
  return g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (address)));
}

/* Responses */

static void
set_security_headers (SoupServerMessage * msg)
{
  SoupMessageHeaders *headers =
      soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
      "style-src 'self'; script-src 'self'; connect-src 'self'; "
      "frame-ancestors 'none'");
}

static void
respond_node (SoupServerMessage * msg, guint status, JsonNode * node)
{
  gsize len;
  gchar *text = json_to_string (node, FALSE);

  len = strlen (text);
  set_security_headers (msg);
  soup_server_message_set_status (msg, status,
      status == STATUS_TOO_MANY_REQUESTS ? "Too Many Requests" : NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, text, len);
}

static void
respond_builder (SoupServerMessage * msg, guint status, JsonBuilder * b)
{
  g_autoptr (JsonNode) node = json_builder_get_root (b);

  respond_node (msg, status, node);
}

void
oi_server_respond_error (SoupServerMessage * msg, guint status,
    const gchar * what)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, what);
  json_builder_end_object (b);
  respond_builder (msg, status, b);
}

static void
respond_empty (SoupServerMessage * msg, guint status)
{
  set_security_headers (msg);
  soup_server_message_set_status (msg, status, NULL);
}

/* Sessions (sessions.c keeps them, in memory and in the state directory;
 * their times are the wall clock's, which a reboot keeps) */

/* The password hash @user has now, NULL if there is none. */
static const gchar *
user_password_hash (const gchar * user, gpointer data)
{
  OiServer *self = data;
  const OiUser *known = oi_config_find_user (self->config, user);

  return known ? known->password_hash : NULL;
}

static gboolean
prune_timer (gpointer data)
{
  OiServer *self = data;

  oi_sessions_prune (self->sessions, g_get_real_time ());
  oi_backoff_prune (self->login_by_address, g_get_monotonic_time ());
  oi_backoff_prune (self->login_by_user, g_get_monotonic_time ());
  return G_SOURCE_CONTINUE;
}

/* The users file changed (intercomd --add-user...): the daemon reloads its
 * config, which ends the sessions it invalidates. */
void
oi_server_check_users (OiServer * self)
{
  if (self->users_changed && oi_config_users_changed (self->config))
    self->users_changed (self->users_changed_data);
}

/* The session of @msg, or NULL; @token_out: its cookie token. */
const OiSession *
oi_server_find_session (OiServer * self, SoupServerMessage * msg,
    gchar ** token_out)
{
  const gchar *header = soup_message_headers_get_list
      (soup_server_message_get_request_headers (msg), "Cookie");
  g_autoptr (GHashTable) cookies = NULL;
  const gchar *token;
  const OiSession *session;

  if (header == NULL)
    return NULL;
  cookies = soup_header_parse_semi_param_list (header);
  token = g_hash_table_lookup (cookies, SESSION_COOKIE);
  if (!(session = oi_sessions_find (self->sessions, token,
              g_get_real_time ())))
    return NULL;
  if (token_out)
    *token_out = g_strdup (token);
  return session;
}

/* A browser sends Origin with every POST and WebSocket: one that is not
 * this station's own is another site's page (CSRF, cross-site WebSocket
 * hijacking). Clients that send none (tools, other stations) pass. */
gboolean
oi_server_origin_ok (OiServer * self, SoupServerMessage * msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const gchar *origin = soup_message_headers_get_one (headers, "Origin");
  const gchar *host = soup_message_headers_get_one (headers, "Host");
  g_autofree gchar *own = NULL;

  if (origin == NULL)
    return TRUE;
  if (host == NULL)
    return FALSE;
  own = g_strdup_printf ("%s://%s", self->config->tls ? "https" : "http",
      host);
  return g_ascii_strcasecmp (origin, own) == 0;
}

static gboolean
csrf_ok (const OiSession * session, SoupServerMessage * msg)
{
  const gchar *token = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), CSRF_HEADER);

  return token != NULL && strlen (token) == strlen (session->csrf)
      && sodium_memcmp (token, session->csrf, strlen (token)) == 0;
}

static void
set_session_cookie (OiServer * self, SoupServerMessage * msg,
    const gchar * value, gint max_age)
{
  /* host-only (no Domain), HTTPS only, not for scripts, not cross-site */
  SoupCookie *cookie = soup_cookie_new (SESSION_COOKIE, value, "", "/",
      max_age);
  g_autofree gchar *header = NULL;

  soup_cookie_set_http_only (cookie, TRUE);
  soup_cookie_set_secure (cookie, self->config->tls);
  soup_cookie_set_same_site_policy (cookie, SOUP_SAME_SITE_POLICY_STRICT);
  header = soup_cookie_to_set_cookie_header (cookie);
  soup_message_headers_append (soup_server_message_get_response_headers
      (msg), "Set-Cookie", header);
  soup_cookie_free (cookie);
}

/* Login: the hash is checked on a worker thread (argon2id takes tens of
 * milliseconds and 64 MiB by design); the message waits paused. */

typedef struct
{
  OiServer *self;
  SoupServerMessage *msg;
  gchar *address;
  gchar *user;
  gchar *password;
  gchar *hash;
} Login;

static void
login_free (gpointer data)
{
  Login *login = data;

  g_object_unref (login->msg);
  g_free (login->address);
  g_free (login->user);
  if (login->password) {
    sodium_memzero (login->password, strlen (login->password));
    g_free (login->password);
  }
  g_free (login->hash);
  g_free (login);
}

static void
login_verify (GTask * task, gpointer source, gpointer data,
    GCancellable * cancellable)
{
  Login *login = data;
  /* An unknown user costs the same as a wrong password: a real hash of
   * the same parameters is checked (made once, on first use). */
  static gsize dummy_ready;
  static gchar dummy[crypto_pwhash_STRBYTES];
  gboolean ok;

  if (g_once_init_enter (&dummy_ready)) {
    guint8 random[16];

    randombytes_buf (random, sizeof random);
    if (crypto_pwhash_str (dummy, (const gchar *) random, sizeof random,
            crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      g_strlcpy (dummy, "$argon2id$", sizeof dummy);
    g_once_init_leave (&dummy_ready, 1);
  }
  ok = crypto_pwhash_str_verify (login->hash ? login->hash : dummy,
      login->password, strlen (login->password)) == 0;

  g_task_return_boolean (task, ok && login->hash != NULL);
}

static void
login_done (GObject * source, GAsyncResult * result, gpointer data)
{
  Login *login = g_task_get_task_data (G_TASK (result));
  OiServer *self = login->self;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree gchar *token = NULL;
  g_autofree gchar *uri = NULL;
  gint64 now = g_get_monotonic_time ();
  const OiSession *session;

  g_hash_table_remove (self->logins_running, login->address);
  if (!g_task_propagate_boolean (G_TASK (result), NULL)) {
    /* (MAX() evaluates an argument twice: each failure once, first) */
    guint by_address = oi_backoff_fail (self->login_by_address,
        login->address, now);
    guint by_user = oi_backoff_fail (self->login_by_user, login->user, now);
    guint wait = MAX (by_address, by_user);

    g_message ("login refused for \"%s\" from %s (next attempt in %u ms)",
        login->user, login->address, wait);
    oi_server_respond_error (login->msg, SOUP_STATUS_UNAUTHORIZED,
        "wrong user or password");
    soup_server_message_unpause (login->msg);
    return;
  }
  oi_backoff_succeed (self->login_by_address, login->address);
  oi_backoff_succeed (self->login_by_user, login->user);
  token = oi_sessions_add (self->sessions, login->user, login->hash,
      g_get_real_time (), &session);
  g_message ("%s logged in from %s", login->user, login->address);

  uri = g_strdup_printf ("%s@%s", login->user, self->config->host);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, login->user);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, uri);
  json_builder_set_member_name (b, "csrf");
  json_builder_add_string_value (b, session->csrf);
  json_builder_end_object (b);
  set_session_cookie (self, login->msg, token,
      self->config->session_lifetime);
  respond_builder (login->msg, SOUP_STATUS_OK, b);
  soup_server_message_unpause (login->msg);
}

/* The request body as a JSON object, or NULL after a 400. */
static JsonObject *
read_object (SoupServerMessage * msg, JsonParser ** parser_out)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (body->length == 0 || body->length > MAX_BODY
      || !g_utf8_validate (body->data, body->length, NULL)
      || !json_parser_load_from_data (parser, body->data, body->length, NULL)
      || !(root = json_parser_get_root (parser))
      || !JSON_NODE_HOLDS_OBJECT (root)) {
    oi_server_respond_error (msg, SOUP_STATUS_BAD_REQUEST,
        "a JSON object is expected");
    return NULL;
  }
  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

static const gchar *
member_string (JsonObject * object, const gchar * name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
api_login (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *object;
  const gchar *user, *password;
  const OiUser *known;
  g_autofree gchar *address = oi_server_remote_ip (msg);
  gint64 now = g_get_monotonic_time ();
  guint wait, by_address, by_user;
  Login *login;
  GTask *task;

  if (!oi_server_origin_ok (self, msg)) {
    oi_server_respond_error (msg, SOUP_STATUS_FORBIDDEN, "cross-origin request "
        "refused");
    return;
  }
  if (!(object = read_object (msg, &parser)))
    return;
  user = member_string (object, "user");
  password = member_string (object, "password");
  if (user == NULL || password == NULL || strlen (user) > 64
      || strlen (password) > 1024) {
    oi_server_respond_error (msg, SOUP_STATUS_BAD_REQUEST,
        "user and password are "
        "required");
    return;
  }
  /* Growing delays after failures, per client and per user name; while
   * one runs, attempts are refused unchecked and do not count. */
  by_address = oi_backoff_wait_ms (self->login_by_address, address, now);
  by_user = oi_backoff_wait_ms (self->login_by_user, user, now);
  wait = MAX (by_address, by_user);
  if (wait > 0 || g_hash_table_contains (self->logins_running, address)) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    guint seconds = MAX ((wait + 999) / 1000, 1);
    g_autofree gchar *text = g_strdup_printf ("%u", seconds);
    g_autofree gchar *what = g_strdup_printf ("too many failed logins: try "
        "again in %u s", seconds);

    g_message ("login for \"%s\" from %s refused unchecked: %s", user,
        address, what);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "error");
    json_builder_add_string_value (b, what);
    json_builder_set_member_name (b, "retry_after");
    json_builder_add_int_value (b, seconds);
    json_builder_end_object (b);
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Retry-After", text);
    respond_builder (msg, STATUS_TOO_MANY_REQUESTS, b);
    return;
  }
  if (g_hash_table_size (self->logins_running) >= MAX_LOGINS_RUNNING) {
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Retry-After", "1");
    oi_server_respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
        "busy checking "
        "other logins: try again in 1 s");
    return;
  }
  g_hash_table_add (self->logins_running, g_strdup (address));

  known = oi_config_find_user (self->config, user);
  login = g_new0 (Login, 1);
  login->self = self;
  login->address = g_steal_pointer (&address);
  login->msg = g_object_ref (msg);
  login->user = g_strdup (user);
  login->password = g_strdup (password);
  login->hash = known ? g_strdup (known->password_hash) : NULL;
  soup_server_message_pause (msg);
  task = g_task_new (NULL, NULL, login_done, NULL);
  g_task_set_task_data (task, login, login_free);
  g_task_run_in_thread (task, login_verify);
  g_object_unref (task);
}

static void
api_me (OiServer * self, SoupServerMessage * msg, const OiSession * session)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const gchar *user = session->user;
  g_autofree gchar *uri = g_strdup_printf ("%s@%s", user, self->config->host);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, user);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, uri);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, self->config->home_server ?
      "home-server" : "door");
  /* a home server has no door of its own (its doors: "doors" in state) */
  json_builder_set_member_name (b, "door");
  if (self->config->home_server)
    json_builder_add_null_value (b);
  else
    json_builder_add_string_value (b, self->config->door_uri);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, self->config->name);
  json_builder_set_member_name (b, "sim");
  json_builder_add_boolean_value (b, self->io && oi_io_is_simulated
      (self->io));
  json_builder_set_member_name (b, "csrf");
  json_builder_add_string_value (b, session->csrf);
  /* for the resident to compare with what the browser shows */
  json_builder_set_member_name (b, "fingerprint");
  if (self->fingerprint)
    json_builder_add_string_value (b, self->fingerprint);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

/* A home server's state and history: "calls": [] (it runs none). */
static void
add_no_calls (JsonBuilder * b)
{
  json_builder_set_member_name (b, "calls");
  json_builder_begin_array (b);
  json_builder_end_array (b);
}

static void
api_state (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (self->io)
    oi_io_add_state_json (self->io, b);
  if (self->calls)
    oi_calls_add_state_json (self->calls, b);
  else
    add_no_calls (b);
  oi_server_add_doors_json (self, b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_history (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (self->calls)
    oi_calls_add_history_json (self->calls, b);
  else
    add_no_calls (b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_snapshot (OiServer * self, SoupServerMessage * msg, const gchar * id)
{
  guint64 number;
  g_autoptr (GBytes) jpeg = NULL;

  if (!g_ascii_string_to_unsigned (id, 10, 1, G_MAXUINT, &number, NULL)
      || self->calls == NULL
      || !(jpeg = oi_calls_get_snapshot (self->calls, number))) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such snapshot");
    return;
  }
  set_security_headers (msg);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
      g_bytes_get_data (jpeg, NULL), g_bytes_get_size (jpeg));
}

static void
api_sim_input (OiServer * self, SoupServerMessage * msg, const gchar * name)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *object;
  JsonNode *active;

  if (self->io == NULL || !oi_io_is_simulated (self->io)) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND,
        "no simulated GPIO chip");
    return;
  }
  if (!(object = read_object (msg, &parser)))
    return;
  active = json_object_get_member (object, "active");
  if (active == NULL || !JSON_NODE_HOLDS_VALUE (active)
      || json_node_get_value_type (active) != G_TYPE_BOOLEAN) {
    oi_server_respond_error (msg, SOUP_STATUS_BAD_REQUEST,
        "\"active\": true or false "
        "is required");
    return;
  }
  if (!oi_io_sim_set_input (self->io, name, json_node_get_boolean (active))) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such input");
    return;
  }
  respond_empty (msg, SOUP_STATUS_NO_CONTENT);
}

static void
api_sim_relays (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (self->io == NULL || !oi_io_is_simulated (self->io)) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND,
        "no simulated GPIO chip");
    return;
  }
  json_builder_begin_object (b);
  oi_io_add_sim_relays_json (self->io, b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_handler (SoupServer * soup, SoupServerMessage * msg, const gchar * path,
    GHashTable * query, gpointer data)
{
  OiServer *self = data;
  const gchar *method = soup_server_message_get_method (msg);
  const gchar *route = path + strlen ("/api/v1");
  gboolean post = g_str_equal (method, "POST");
  gboolean get = g_str_equal (method, "GET");
  g_autofree gchar *token = NULL;
  const OiSession *session;
  const gchar *user;

  oi_server_check_users (self);
  if (post && g_str_equal (route, "/login")) {
    api_login (self, msg);
    return;
  }
  session = oi_server_find_session (self, msg, &token);
  if (session == NULL) {
    oi_server_respond_error (msg, SOUP_STATUS_UNAUTHORIZED, "log in first");
    return;
  }
  user = session->user;
  /* Every state change: from this station's own page, with the session's
   * CSRF token (the page has it from the login and /me). */
  if (!get && !oi_server_origin_ok (self, msg)) {
    g_message ("%s: cross-origin %s %s refused", user, method, path);
    oi_server_respond_error (msg, SOUP_STATUS_FORBIDDEN, "cross-origin request "
        "refused");
    return;
  }
  if (!get && !csrf_ok (session, msg)) {
    g_message ("%s: %s %s without the right CSRF token refused", user,
        method, path);
    oi_server_respond_error (msg, SOUP_STATUS_FORBIDDEN,
        "CSRF token missing or "
        "wrong");
    return;
  }

  if (post && g_str_equal (route, "/logout")) {
    g_message ("%s logged out", user);
    oi_sessions_remove (self->sessions, token);
    set_session_cookie (self, msg, "", 0);
    respond_empty (msg, SOUP_STATUS_NO_CONTENT);
  } else if (get && g_str_equal (route, "/me")) {
    api_me (self, msg, session);
  } else if (get && g_str_equal (route, "/ice")) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    /* The ICE servers for the page's next call, with credentials made
     * now (never the TURN secret). */
    json_builder_begin_object (b);
    oi_ice_add_browser_json (self->config, user, b);
    json_builder_end_object (b);
    respond_builder (msg, SOUP_STATUS_OK, b);
  } else if (get && g_str_equal (route, "/sim/relays")) {
    api_sim_relays (self, msg);
  } else if (get && g_str_equal (route, "/state")) {
    api_state (self, msg);
  } else if (get && g_str_equal (route, "/history")) {
    api_history (self, msg);
  } else if (get && g_str_has_prefix (route, "/history/")
      && g_str_has_suffix (route, "/snapshot.jpg")) {
    g_autofree gchar *id = g_strndup (route + strlen ("/history/"),
        strlen (route) - strlen ("/history/") - strlen ("/snapshot.jpg"));

    api_snapshot (self, msg, id);
  } else if (post && g_str_equal (route, "/calls/hangup") && self->calls) {
    g_message ("%s ends the calls from the door", user);
    oi_calls_hangup_all (self->calls);
    respond_empty (msg, SOUP_STATUS_NO_CONTENT);
  } else if (post && g_str_has_prefix (route, "/sim/inputs/")) {
    api_sim_input (self, msg, route + strlen ("/sim/inputs/"));
  } else {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such API");
  }
}

/* Static files of the web app: public (the login page and its code); the
 * data they show comes from the API. */

static const gchar *
content_type (const gchar * path)
{
  static const struct
  {
    const gchar *suffix, *type;
  } types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (path, types[i].suffix))
      return types[i].type;
  return NULL;
}

static void
static_handler (SoupServer * soup, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer data)
{
  OiServer *self = data;
  const gchar *method = soup_server_message_get_method (msg);
  g_autofree gchar *file = NULL;
  g_autofree gchar *contents = NULL;
  const gchar *type;
  gsize len;

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    oi_server_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only");
    return;
  }
  if (g_str_equal (path, "/"))
    path = "/index.html";
  /* Only plain names under the web root: no "..", no hidden files. */
  if (strstr (path, "/.") || strstr (path, "//") || strchr (path, '\\')
      || !(type = content_type (path))) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND, "not found");
    return;
  }
  file = g_build_filename (self->config->web_root, path, NULL);
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (file, &contents, &len, NULL)) {
    oi_server_respond_error (msg, SOUP_STATUS_NOT_FOUND, "not found");
    return;
  }
  set_security_headers (msg);
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Cache-Control", "no-cache");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE,
      g_steal_pointer (&contents), len);
}

OiServer *
oi_server_new (const OiConfig * config, OiIo * io, OiCalls * calls,
    OiServerUsersFunc users_changed, gpointer user_data, GError ** error)
{
  OiServer *self = g_new0 (OiServer, 1);
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_auto (GStrv) users = NULL;
  g_auto (GStrv) doors = NULL;
  g_autofree gchar *sessions_path = NULL;
  guint max_delay_ms = MIN (config->login_max_delay, G_MAXUINT / 1000) * 1000;

  self->config = config;
  self->io = io;
  self->calls = calls;
  self->users_changed = users_changed;
  self->users_changed_data = user_data;
  sessions_path = g_build_filename (config->state_dir, "sessions", NULL);
  self->sessions = oi_sessions_new (sessions_path, config->session_idle,
      config->session_lifetime, user_password_hash, self);
  oi_sessions_load (self->sessions, g_get_real_time ());
  /* The wait starts with the login-failures-th failure. */
  self->login_by_address = oi_backoff_new (config->login_failures - 1,
      config->login_delay * 1000, max_delay_ms, LOGIN_FORGET_MS,
      MAX_LOGIN_RECORDS);
  self->login_by_user = oi_backoff_new (config->login_failures - 1,
      config->login_delay * 1000, max_delay_ms, LOGIN_FORGET_MS,
      MAX_LOGIN_RECORDS);
  self->logins_running = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, NULL);
  self->sockets_by_address = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, NULL);
  self->sockets = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->prune_id = g_timeout_add_seconds (PRUNE_INTERVAL_S, prune_timer,
      self);
  /* A home server has no door of its own: every callee is a user or a
   * door that registers here. */
  self->router = wsp_router_new (config->host,
      config->home_server ? NULL : config->door_user);
  users = oi_config_user_names (config);
  doors = oi_config_door_names (config);
  wsp_router_set_users (self->router, (const gchar * const *) users);
  wsp_router_set_stations (self->router, (const gchar * const *) doors);

  if (config->tls) {
    certificate = g_tls_certificate_new_from_files (config->certificate,
        config->private_key, error);
    if (certificate == NULL)
      goto failed;
    self->fingerprint = wsp_certificate_fingerprint (certificate);
  }
  self->soup = soup_server_new ("tls-certificate", certificate,
      "server-header", NULL, NULL);
  soup_server_add_handler (self->soup, "/api/v1", api_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, static_handler, self, NULL);
  if (!oi_server_add_wsp (self, error))
    goto failed;

  address = g_inet_address_new_from_string (config->address);
  if (address == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "[server] address: \"%s\" is not an IP address", config->address);
    goto failed;
  }
  socket_address = g_inet_socket_address_new (address, config->port);
  if (!soup_server_listen (self->soup, socket_address,
          config->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error))
    goto failed;
  return self;

failed:
  oi_server_free (self);
  return NULL;
}

void
oi_server_free (OiServer * self)
{
  if (self == NULL)
    return;
  /* Only the listening sockets are closed, and the server object is left
   * to the process's exit: disconnecting it (which its dispose does too)
   * closes every client connection, and closing one whose TLS handshake is
   * still running waits for that handshake, which a client that stalls
   * never finishes (seen with a caller element stopped mid-connect, whose
   * socket stays open). oi_server_free() is only called on the way out,
   * after the relays are off. */
  if (self->soup) {
    GSList *listeners = soup_server_get_listeners (self->soup);

    for (GSList * l = listeners; l; l = l->next)
      g_socket_close (l->data, NULL);
    g_slist_free (listeners);
    self->soup = NULL;
  }
  g_clear_pointer (&self->home, wsp_local_server_free);
  g_clear_pointer (&self->router, wsp_router_free);
  if (self->prune_id)
    g_source_remove (self->prune_id);
  /* (writes the last uses not yet on disk) */
  g_clear_pointer (&self->sessions, oi_sessions_free);
  oi_server_forget_sockets (self);
  g_clear_pointer (&self->sockets_by_address, g_hash_table_unref);
  g_clear_pointer (&self->logins_running, g_hash_table_unref);
  g_clear_pointer (&self->login_by_address, oi_backoff_free);
  g_clear_pointer (&self->login_by_user, oi_backoff_free);
  g_free (self->fingerprint);
  g_free (self);
}

void
oi_server_set_config (OiServer * self, const OiConfig * config)
{
  g_auto (GStrv) users = oi_config_user_names (config);
  g_auto (GStrv) doors = oi_config_door_names (config);
  g_autoptr (GStrvBuilder) same = g_strv_builder_new ();
  g_auto (GStrv) kept = NULL;

  /* A door whose token changed is registered with the old one: its
   * registration ends (left out of the stations for a moment). */
  for (guint i = 0; doors[i]; i++) {
    const OiRemoteDoor *now = g_ptr_array_index (config->doors, i);
    const OiRemoteDoor *before = oi_config_find_door_by_token (self->config,
        now->token);

    if (before && g_str_equal (before->name, now->name))
      g_strv_builder_add (same, now->name);
  }
  kept = g_strv_builder_end (same);
  wsp_router_set_stations (self->router, (const gchar * const *) kept);

  self->config = config;
  wsp_router_set_users (self->router, (const gchar * const *) users);
  wsp_router_set_stations (self->router, (const gchar * const *) doors);
  oi_sessions_set_limits (self->sessions, config->session_idle,
      config->session_lifetime);
  oi_sessions_prune (self->sessions, g_get_real_time ());
}

gchar *
oi_server_get_url (OiServer * self)
{
  const gchar *host = self->config->address;

  const gchar *scheme = self->config->tls ? "https" : "http";

  if (g_str_equal (host, "0.0.0.0"))
    host = "127.0.0.1";
  else if (g_str_equal (host, "::"))
    host = "[::1]";
  else if (strchr (host, ':'))
    return g_strdup_printf ("%s://[%s]:%u/", scheme, host,
        self->config->port);
  return g_strdup_printf ("%s://%s:%u/", scheme, host, self->config->port);
}
