/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the rest of intercomd asks of a loaded config (config.c loads and
 * checks it): users, lines, the allow-lists, peer stations and the doors
 * that register here by their tokens (compared in constant time), the
 * home server's addresses. */

#include "intercomd.h"

#include <sodium.h>
#include <string.h>

const OiUser *
oi_config_find_user (const OiConfig * config, const gchar * name)
{
  for (guint i = 0; i < config->users->len; i++) {
    const OiUser *user = g_ptr_array_index (config->users, i);

    if (g_str_equal (user->name, name))
      return user;
  }
  return NULL;
}

const OiLine *
oi_config_find_line (GArray * lines, const gchar * name)
{
  for (guint i = 0; i < lines->len; i++)
    if (g_str_equal (g_array_index (lines, OiLine, i).name, name))
      return &g_array_index (lines, OiLine, i);
  return NULL;
}

gboolean
oi_config_caller_allowed (const OiConfig * config, const gchar * uri,
    GSocketAddress * address)
{
  gboolean caller_ok = FALSE, network_ok = FALSE;
  GInetAddress *inet;

  for (guint i = 0; config->allow_callers[i] && !caller_ok; i++)
    caller_ok = wsp_address_equal (config->allow_callers[i], uri);
  if (address == NULL) {
    /* Through the door's own registration at its home server: the server
     * the door chose and authenticated vouches for the caller, and the
     * network the call came from is that server's. */
    return caller_ok || (config->allow_callers_default
        && oi_config_is_home_address (config, uri));
  }
  if (!caller_ok || !G_IS_INET_SOCKET_ADDRESS (address))
    return FALSE;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  for (guint i = 0; i < config->allow_networks->len && !network_ok; i++)
    network_ok = g_inet_address_mask_matches (g_ptr_array_index
        (config->allow_networks, i), inet);
  return network_ok;
}

gchar **
oi_config_user_names (const OiConfig * config)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  gchar **names;

  for (guint i = 0; i < config->users->len; i++)
    g_strv_builder_add (builder,
        ((OiUser *) g_ptr_array_index (config->users, i))->name);
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return names;
}

/* In constant time for tokens of one length (a token's length is no
 * secret: every valid one is 32 to 256 characters). */
static gboolean
token_equal (const gchar * known, const gchar * token)
{
  gsize len = strlen (token);

  return strlen (known) == len && sodium_memcmp (known, token, len) == 0;
}

const OiPeer *
oi_config_find_peer_by_token (const OiConfig * config, const gchar * token)
{
  const OiPeer *found = NULL;

  /* Every peer is compared, so the time does not tell which matched. */
  for (guint i = 0; i < config->peers->len; i++) {
    const OiPeer *peer = g_ptr_array_index (config->peers, i);

    if (token_equal (peer->token, token))
      found = peer;
  }
  return found;
}

const OiRemoteDoor *
oi_config_find_door_by_token (const OiConfig * config, const gchar * token)
{
  const OiRemoteDoor *found = NULL;

  for (guint i = 0; i < config->doors->len; i++) {
    const OiRemoteDoor *door = g_ptr_array_index (config->doors, i);

    if (token_equal (door->token, token))
      found = door;
  }
  return found;
}

gchar **
oi_config_door_names (const OiConfig * config)
{
  gchar **names = g_new0 (gchar *, config->doors->len + 1);

  for (guint i = 0; i < config->doors->len; i++)
    names[i] = g_strdup (((OiRemoteDoor *) g_ptr_array_index (config->doors,
                i))->name);
  return names;
}

gboolean
oi_config_is_home_address (const OiConfig * config, const gchar * uri)
{
  const gchar *at = uri ? strchr (uri, '@') : NULL;
  g_autofree gchar *probe = NULL;
  g_autofree gchar *there = NULL;

  if (config->home_host == NULL || at == NULL)
    return FALSE;
  probe = g_strdup_printf ("x%s", at);
  there = g_strdup_printf ("x@%s", config->home_host);
  return wsp_address_equal (probe, there);
}

const OiPeer *
oi_config_find_peer_by_host (const OiConfig * config, const gchar * host)
{
  g_autofree gchar *probe = g_strdup_printf ("x@%s", host);

  for (guint i = 0; i < config->peers->len; i++) {
    const OiPeer *peer = g_ptr_array_index (config->peers, i);
    g_autofree gchar *peer_probe = g_strdup_printf ("x@%s", peer->host);

    if (wsp_address_equal (probe, peer_probe))
      return peer;
  }
  return NULL;
}
