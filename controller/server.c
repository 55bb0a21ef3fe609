/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTPS server: the web app's files, the JSON API, sessions and the
 * WSP endpoint (docs/intercomd.md). */

#include "intercomd.h"
#include "router.h"

#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#define SESSION_COOKIE "oi_session"
#define SESSION_LIFETIME_S (12 * 3600)
#define MAX_BODY 4096

typedef struct
{
  gchar *user;
  gint64 expires;               /* monotonic, µs */
} Session;

struct _OiServer
{
  const OiConfig *config;
  OiIo *io;
  OiCalls *calls;
  gchar *door_token;
  SoupServer *soup;
  OiRouter *router;
  GHashTable *sessions;         /* token -> Session */
};

static void
session_free (gpointer data)
{
  Session *session = data;

  g_free (session->user);
  g_free (session);
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
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, text, len);
}

static void
respond_builder (SoupServerMessage * msg, guint status, JsonBuilder * b)
{
  g_autoptr (JsonNode) node = json_builder_get_root (b);

  respond_node (msg, status, node);
}

static void
respond_error (SoupServerMessage * msg, guint status, const gchar * what)
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

/* Sessions */

static gchar *
new_token (void)
{
  guint8 bytes[32];
  gchar *hex = g_malloc (sizeof bytes * 2 + 1);

  randombytes_buf (bytes, sizeof bytes);
  sodium_bin2hex (hex, sizeof bytes * 2 + 1, bytes, sizeof bytes);
  return hex;
}

/* The logged-in user of @msg, or NULL. */
static const gchar *
session_user (OiServer * self, SoupServerMessage * msg, gchar ** token_out)
{
  const gchar *header = soup_message_headers_get_list
      (soup_server_message_get_request_headers (msg), "Cookie");
  g_autoptr (GHashTable) cookies = NULL;
  const gchar *token;
  Session *session;

  if (header == NULL)
    return NULL;
  cookies = soup_header_parse_semi_param_list (header);
  token = g_hash_table_lookup (cookies, SESSION_COOKIE);
  if (token == NULL || !(session = g_hash_table_lookup (self->sessions,
              token)))
    return NULL;
  if (session->expires < g_get_monotonic_time ()
      || !oi_config_find_user (self->config, session->user)) {
    /* expired, or the user was removed at a reload */
    g_hash_table_remove (self->sessions, token);
    return NULL;
  }
  if (token_out)
    *token_out = g_strdup (token);
  return session->user;
}

static void
set_session_cookie (SoupServerMessage * msg, const gchar * value,
    gint max_age)
{
  /* host-only (no Domain), HTTPS only, not for scripts, not cross-site */
  SoupCookie *cookie = soup_cookie_new (SESSION_COOKIE, value, "", "/",
      max_age);
  g_autofree gchar *header = NULL;

  soup_cookie_set_http_only (cookie, TRUE);
  soup_cookie_set_secure (cookie, TRUE);
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
  gchar *user;
  gchar *password;
  gchar *hash;
} Login;

static void
login_free (gpointer data)
{
  Login *login = data;

  g_object_unref (login->msg);
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
  /* An unknown user costs the same as a wrong password. */
  static const gchar dummy[] =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
      "n6Mt3l1q8K0mKJ3tD3w6jQ2mH2Gm8Zb2VqfXjzYp4xE";
  gboolean ok = crypto_pwhash_str_verify (login->hash ? login->hash : dummy,
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
  Session *session;

  if (!g_task_propagate_boolean (G_TASK (result), NULL)) {
    g_message ("login refused for \"%s\"", login->user);
    respond_error (login->msg, SOUP_STATUS_UNAUTHORIZED,
        "wrong user or password");
    soup_server_message_unpause (login->msg);
    return;
  }
  token = new_token ();
  session = g_new0 (Session, 1);
  session->user = g_strdup (login->user);
  session->expires = g_get_monotonic_time () +
      (gint64) SESSION_LIFETIME_S * G_USEC_PER_SEC;
  g_hash_table_insert (self->sessions, g_strdup (token), session);
  g_message ("%s logged in", login->user);

  uri = g_strdup_printf ("%s@%s", login->user, self->config->host);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, login->user);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, uri);
  json_builder_end_object (b);
  set_session_cookie (login->msg, token, SESSION_LIFETIME_S);
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
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "a JSON object is expected");
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
  JsonObject *object = read_object (msg, &parser);
  const gchar *user, *password;
  const OiUser *known;
  Login *login;
  GTask *task;

  if (object == NULL)
    return;
  user = member_string (object, "user");
  password = member_string (object, "password");
  if (user == NULL || password == NULL || strlen (user) > 64
      || strlen (password) > 1024) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "user and password are "
        "required");
    return;
  }
  known = oi_config_find_user (self->config, user);
  login = g_new0 (Login, 1);
  login->self = self;
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
api_me (OiServer * self, SoupServerMessage * msg, const gchar * user)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree gchar *uri = g_strdup_printf ("%s@%s", user, self->config->host);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, user);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, uri);
  json_builder_set_member_name (b, "door");
  json_builder_add_string_value (b, self->config->door_uri);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, self->config->name);
  json_builder_set_member_name (b, "sim");
  json_builder_add_boolean_value (b, oi_io_is_simulated (self->io));
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_state (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  oi_io_add_state_json (self->io, b);
  oi_calls_add_state_json (self->calls, b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_history (OiServer * self, SoupServerMessage * msg)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  oi_calls_add_history_json (self->calls, b);
  json_builder_end_object (b);
  respond_builder (msg, SOUP_STATUS_OK, b);
}

static void
api_snapshot (OiServer * self, SoupServerMessage * msg, const gchar * id)
{
  guint64 number;
  g_autoptr (GBytes) jpeg = NULL;

  if (!g_ascii_string_to_unsigned (id, 10, 1, G_MAXUINT, &number, NULL)
      || !(jpeg = oi_calls_get_snapshot (self->calls, number))) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such snapshot");
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

  if (!oi_io_is_simulated (self->io)) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "no simulated GPIO chip");
    return;
  }
  if (!(object = read_object (msg, &parser)))
    return;
  active = json_object_get_member (object, "active");
  if (active == NULL || !JSON_NODE_HOLDS_VALUE (active)
      || json_node_get_value_type (active) != G_TYPE_BOOLEAN) {
    respond_error (msg, SOUP_STATUS_BAD_REQUEST, "\"active\": true or false "
        "is required");
    return;
  }
  if (!oi_io_sim_set_input (self->io, name, json_node_get_boolean (active))) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such input");
    return;
  }
  respond_empty (msg, SOUP_STATUS_NO_CONTENT);
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
  const gchar *user;

  if (post && g_str_equal (route, "/login")) {
    api_login (self, msg);
    return;
  }
  user = session_user (self, msg, &token);
  if (user == NULL) {
    respond_error (msg, SOUP_STATUS_UNAUTHORIZED, "log in first");
    return;
  }

  if (post && g_str_equal (route, "/logout")) {
    g_hash_table_remove (self->sessions, token);
    set_session_cookie (msg, "", 0);
    respond_empty (msg, SOUP_STATUS_NO_CONTENT);
  } else if (get && g_str_equal (route, "/me")) {
    api_me (self, msg, user);
  } else if (get && g_str_equal (route, "/state")) {
    api_state (self, msg);
  } else if (get && g_str_equal (route, "/history")) {
    api_history (self, msg);
  } else if (get && g_str_has_prefix (route, "/history/")
      && g_str_has_suffix (route, "/snapshot.jpg")) {
    g_autofree gchar *id = g_strndup (route + strlen ("/history/"),
        strlen (route) - strlen ("/history/") - strlen ("/snapshot.jpg"));

    api_snapshot (self, msg, id);
  } else if (post && g_str_equal (route, "/calls/hangup")) {
    g_message ("%s ends the calls from the door", user);
    oi_calls_hangup_all (self->calls);
    respond_empty (msg, SOUP_STATUS_NO_CONTENT);
  } else if (post && g_str_has_prefix (route, "/sim/inputs/")) {
    api_sim_input (self, msg, route + strlen ("/sim/inputs/"));
  } else {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such API");
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
    respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only");
    return;
  }
  if (g_str_equal (path, "/"))
    path = "/index.html";
  /* Only plain names under the web root: no "..", no hidden files. */
  if (strstr (path, "/.") || strstr (path, "//") || strchr (path, '\\')
      || !(type = content_type (path))) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "not found");
    return;
  }
  file = g_build_filename (self->config->web_root, path, NULL);
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (file, &contents, &len, NULL)) {
    respond_error (msg, SOUP_STATUS_NOT_FOUND, "not found");
    return;
  }
  set_security_headers (msg);
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Cache-Control", "no-cache");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE,
      g_steal_pointer (&contents), len);
}

/* WSP: a browser's socket is its session's user; the door's own caller
 * elements present the internal token, from loopback only. */

static gboolean
is_loopback (GSocketAddress * address)
{
  return G_IS_INET_SOCKET_ADDRESS (address)
      && g_inet_address_get_is_loopback (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (address)));
}

static gchar *
wsp_identity (OiServer * self, SoupServerMessage * msg)
{
  const gchar *auth;
  const gchar *user = session_user (self, msg, NULL);

  if (user)
    return g_strdup_printf ("%s@%s", user, self->config->host);
  auth = soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "Authorization");
  if (auth && g_str_has_prefix (auth, "Bearer ")
      && strlen (auth + 7) == strlen (self->door_token)
      && sodium_memcmp (auth + 7, self->door_token,
          strlen (self->door_token)) == 0
      && is_loopback (soup_server_message_get_remote_address (msg)))
    return g_strdup (self->config->door_uri);
  return NULL;
}

static void
wsp_early_handler (SoupServer * soup, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer data)
{
  OiServer *self = data;
  g_autofree gchar *identity = wsp_identity (self, msg);

  if (identity == NULL) {
    g_message ("WSP socket refused: not logged in");
    respond_error (msg, SOUP_STATUS_UNAUTHORIZED, "log in first");
  }
}

static void
wsp_accept (WspConnection * connection, SoupServerMessage * msg,
    gpointer data)
{
  OiServer *self = data;
  g_autofree gchar *identity = wsp_identity (self, msg);

  if (identity == NULL) {
    wsp_connection_send_bye_and_close (connection,
        WSP_BYE_NOT_AUTHENTICATED, NULL);
    return;
  }
  oi_router_accept (self->router, connection, identity);
}

static void
door_invite (WspConnection * connection, const WspMessage * invite,
    const gchar * identity, gpointer data)
{
  OiServer *self = data;

  oi_calls_incoming (self->calls, connection, invite, identity);
}

OiServer *
oi_server_new (const OiConfig * config, OiIo * io, OiCalls * calls,
    const gchar * door_token, GError ** error)
{
  OiServer *self = g_new0 (OiServer, 1);
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_auto (GStrv) users = NULL;

  self->config = config;
  self->io = io;
  self->calls = calls;
  self->door_token = g_strdup (door_token);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      session_free);
  self->router = oi_router_new (config->host, config->door_user, door_invite,
      self);
  users = oi_config_user_names (config);
  oi_router_set_users (self->router, (const gchar * const *) users);

  certificate = g_tls_certificate_new_from_files (config->certificate,
      config->private_key, error);
  if (certificate == NULL)
    goto failed;
  self->soup = soup_server_new ("tls-certificate", certificate,
      "server-header", NULL, NULL);
  soup_server_add_handler (self->soup, "/api/v1", api_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, static_handler, self, NULL);
  soup_server_add_early_handler (self->soup, "/wsp", wsp_early_handler, self,
      NULL);
  wsp_server_add_endpoint (self->soup, "/wsp", NULL, wsp_accept, self, NULL);

  address = g_inet_address_new_from_string (config->address);
  if (address == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "[server] address: \"%s\" is not an IP address", config->address);
    goto failed;
  }
  socket_address = g_inet_socket_address_new (address, config->port);
  if (!soup_server_listen (self->soup, socket_address, SOUP_SERVER_LISTEN_HTTPS,
          error))
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
  g_clear_pointer (&self->router, oi_router_free);
  g_hash_table_unref (self->sessions);
  g_free (self->door_token);
  g_free (self);
}

void
oi_server_set_config (OiServer * self, const OiConfig * config)
{
  g_auto (GStrv) users = oi_config_user_names (config);

  self->config = config;
  oi_router_set_users (self->router, (const gchar * const *) users);
}

gchar *
oi_server_get_url (OiServer * self)
{
  const gchar *host = self->config->address;

  if (g_str_equal (host, "0.0.0.0"))
    host = "127.0.0.1";
  else if (g_str_equal (host, "::"))
    host = "[::1]";
  else if (strchr (host, ':'))
    return g_strdup_printf ("https://[%s]:%u/", host, self->config->port);
  return g_strdup_printf ("https://%s:%u/", host, self->config->port);
}
