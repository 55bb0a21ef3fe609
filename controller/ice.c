/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ICE servers ([ice]; docs/intercomd.md, "ICE: STUN and TURN"): the URIs
 * as browsers write them (RFC 7064, 7065), checked once at load; the
 * credentials of a TURN server, long-term ones from the config or
 * short-lived ones made here from a shared secret (the TURN REST scheme
 * that coturn's use-auth-secret takes: user "<expiry>:<name>", password
 * base64 (HMAC-SHA1 (secret, user))); what the door's webrtcbin is given
 * and what the station's browsers get, never the secret. The door's
 * webrtcbin gets them in peers.c. */

#include "intercomd.h"

#include <string.h>

void
oi_ice_server_free (OiIceServer * server)
{
  if (server == NULL)
    return;
  g_free (server->uri);
  g_free (server->host);
  g_free (server);
}

OiIceServer *
oi_ice_server_parse (const gchar * text, GError ** error)
{
  g_autoptr (OiIceServer) server = g_new0 (OiIceServer, 1);
  const gchar *rest, *query;
  g_autofree gchar *hostport = NULL;
  g_autofree gchar *probe = NULL;
  g_autofree gchar *host = NULL;
  guint port = 0;

  if (g_str_has_prefix (text, "stun:")) {
    server->kind = OI_ICE_STUN;
    rest = text + 5;
  } else if (g_str_has_prefix (text, "turn:")) {
    server->kind = OI_ICE_TURN;
    rest = text + 5;
  } else if (g_str_has_prefix (text, "turns:")) {
    server->kind = OI_ICE_TURNS;
    rest = text + 6;
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "\"%s\" is not a stun:, turn: or turns: URI", text);
    return NULL;
  }
  /* host[:port], [v6][:port]: as in a WSP address (wspaddress.c). */
  query = strchr (rest, '?');
  hostport = query ? g_strndup (rest, query - rest) : g_strdup (rest);
  probe = g_strconcat ("x@", hostport, NULL);
  if (!wsp_address_parse (probe, NULL, &host, &port, NULL)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "\"%s\": not host[:port]", text);
    return NULL;
  }
  /* (bracketed again: the form the URIs for webrtcbin need) */
  server->host = strchr (host, ':') ? g_strdup_printf ("[%s]", host) :
      g_strdup (host);
  server->port = port ? port : server->kind == OI_ICE_TURNS ? 5349 : 3478;
  server->tcp = server->kind == OI_ICE_TURNS;
  if (query) {
    if (server->kind == OI_ICE_STUN) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "\"%s\": a stun: URI takes no ?transport", text);
      return NULL;
    }
    if (g_str_equal (query, "?transport=tcp"))
      server->tcp = TRUE;
    else if (g_str_equal (query, "?transport=udp") && !server->tcp)
      server->tcp = FALSE;
    else {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "\"%s\": ?transport=udp or ?transport=tcp (turns: tcp only)", text);
      return NULL;
    }
  }
  server->uri = g_strdup (text);
  return g_steal_pointer (&server);
}

void
oi_ice_credentials (const OiConfig * c, const gchar * name, gint64 now_s,
    gchar ** user, gchar ** password)
{
  g_autoptr (GHmac) hmac = NULL;
  guint8 digest[20];
  gsize length = sizeof digest;

  if (c->turn_secret == NULL) {
    *user = g_strdup (c->turn_user);
    *password = g_strdup (c->turn_password);
    return;
  }
  *user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", now_s + c->turn_ttl,
      name);
  hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) c->turn_secret,
      strlen (c->turn_secret));
  g_hmac_update (hmac, (const guchar *) *user, -1);
  g_hmac_get_digest (hmac, digest, &length);
  *password = g_base64_encode (digest, length);
}

/* webrtcbin's form: stun://host:port, turn(s)://user:pass@host:port
 * ?transport=..., user and password percent-escaped. */
gchar *
oi_ice_webrtcbin_uri (const OiIceServer * server, const gchar * user,
    const gchar * password)
{
  g_autofree gchar *u = NULL;
  g_autofree gchar *p = NULL;

  if (server->kind == OI_ICE_STUN)
    return g_strdup_printf ("stun://%s:%u", server->host, server->port);
  u = g_uri_escape_string (user ? user : "", NULL, FALSE);
  p = g_uri_escape_string (password ? password : "", NULL, FALSE);
  return g_strdup_printf ("%s://%s:%s@%s:%u?transport=%s",
      server->kind == OI_ICE_TURNS ? "turns" : "turn", u, p, server->host,
      server->port, server->tcp ? "tcp" : "udp");
}

void
oi_ice_add_browser_json (const OiConfig * c, const gchar * name,
    JsonBuilder * b)
{
  g_autofree gchar *user = NULL;
  g_autofree gchar *password = NULL;

  oi_ice_credentials (c, name, g_get_real_time () / G_USEC_PER_SEC, &user,
      &password);
  json_builder_set_member_name (b, "iceServers");
  json_builder_begin_array (b);
  for (guint i = 0; i < c->ice_servers->len; i++) {
    const OiIceServer *server = g_ptr_array_index (c->ice_servers, i);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "urls");
    json_builder_add_string_value (b, server->uri);
    if (server->kind != OI_ICE_STUN) {
      json_builder_set_member_name (b, "username");
      json_builder_add_string_value (b, user ? user : "");
      json_builder_set_member_name (b, "credential");
      json_builder_add_string_value (b, password ? password : "");
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "iceTransportPolicy");
  json_builder_add_string_value (b, c->relay_only ? "relay" : "all");
}
