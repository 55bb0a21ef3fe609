/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP addresses, `user@host[:port]` (wspprotocol.h): the user, an IPv4
 * or IPv6 literal or a DNS name, the port; parsed and compared without
 * the resolver. */

#include "wspprotocol.h"
#include "wspframe-private.h"

#include <string.h>

/* ---- Addresses ----------------------------------------------------------- */

static gboolean
user_is_valid (const gchar * user, gsize len)
{
  if (len == 0 || len > WSP_USER_MAX_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (user[i]) && user[i] != '.' && user[i] != '_'
        && user[i] != '-')
      return FALSE;
  }
  return TRUE;
}

/* Dotted quad, no leading zeros (which some resolvers read as octal). */
static gboolean
ipv4_is_valid (const gchar * host, gsize len)
{
  guint parts = 0;
  gsize i = 0;

  while (parts < 4) {
    gsize start = i;
    guint value = 0;

    for (; i < len && g_ascii_isdigit (host[i]) && i - start < 3; i++)
      value = value * 10 + (host[i] - '0');
    if (i == start || value > 255 || (host[start] == '0' && i - start > 1))
      return FALSE;
    parts++;
    if (parts < 4) {
      if (i >= len || host[i] != '.')
        return FALSE;
      i++;
    }
  }
  return i == len;
}

static gboolean
dns_name_is_valid (const gchar * host, gsize len)
{
  gboolean numeric = TRUE;
  gsize label_len = 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    gchar c = host[i];

    if (c == '.') {
      if (label_len == 0 || host[i - 1] == '-')
        return FALSE;
      label_len = 0;
    } else if (g_ascii_isalnum (c) || c == '-') {
      if (label_len == 0 && c == '-')
        return FALSE;
      if (++label_len > 63)
        return FALSE;
      if (!g_ascii_isdigit (c))
        numeric = FALSE;
    } else {
      return FALSE;
    }
  }
  if (label_len == 0 || host[len - 1] == '-')
    return FALSE;
  /* "1.2.3.999" is a typo of an address, not a name. */
  if (numeric)
    return ipv4_is_valid (host, len);
  return TRUE;
}

static gboolean
ipv6_is_valid (const gchar * host, gsize len)
{
  g_autofree gchar *copy = NULL;

  /* The longest is "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255". No zone
   * identifier: "%" would need escaping in the wss:// URI built from it. */
  if (len < 2 || len > 45 || memchr (host, ':', len) == NULL)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isxdigit (host[i]) && host[i] != ':' && host[i] != '.')
      return FALSE;
  }
  copy = g_strndup (host, len);
  return g_hostname_is_ip_address (copy);
}

static gboolean
port_is_valid (const gchar * text, guint * port)
{
  guint value = 0;
  gsize len = strlen (text);

  if (len == 0 || len > 5 || text[0] == '0')
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
    value = value * 10 + (text[i] - '0');
  }
  if (value > 65535)
    return FALSE;
  *port = value;
  return TRUE;
}

gboolean
wsp_address_parse (const gchar * address, gchar ** user, gchar ** host,
    guint * port, GError ** error)
{
  const gchar *at, *host_start, *rest;
  gsize len, host_len;
  guint port_value = 0;

  g_return_val_if_fail (address != NULL, FALSE);

  len = strlen (address);
  if (len > WSP_ADDRESS_MAX_LEN)
    return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address is longer "
        "than %d bytes", WSP_ADDRESS_MAX_LEN);

  at = strchr (address, '@');
  if (at == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has no '@'");
  if (!user_is_valid (address, at - address))
    return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has an "
        "invalid user part");

  host_start = at + 1;
  if (host_start[0] == '[') {
    const gchar *close = strchr (host_start, ']');

    host_start++;
    if (close == NULL || !ipv6_is_valid (host_start, close - host_start))
      return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has an "
          "invalid IPv6 host");
    host_len = close - host_start;
    rest = close + 1;
  } else {
    host_len = strcspn (host_start, ":");
    if (!dns_name_is_valid (host_start, host_len))
      return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has an "
          "invalid host");
    rest = host_start + host_len;
  }

  if (rest[0] == ':') {
    if (!port_is_valid (rest + 1, &port_value))
      return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has an "
          "invalid port");
  } else if (rest[0] != '\0') {
    return wsp_set_error (error, WSP_ERROR_BAD_ADDRESS, "address has "
        "invalid characters after the host");
  }

  if (user != NULL)
    *user = g_strndup (address, at - address);
  if (host != NULL)
    *host = g_strndup (host_start, host_len);
  if (port != NULL)
    *port = port_value;
  return TRUE;
}

gboolean
wsp_address_is_valid (const gchar * address)
{
  return address != NULL && wsp_address_parse (address, NULL, NULL, NULL, NULL);
}

gboolean
wsp_address_equal (const gchar * a, const gchar * b)
{
  g_autofree gchar *a_user = NULL;
  g_autofree gchar *a_host = NULL;
  g_autofree gchar *b_user = NULL;
  g_autofree gchar *b_host = NULL;
  guint a_port, b_port;

  if (a == NULL || b == NULL
      || !wsp_address_parse (a, &a_user, &a_host, &a_port, NULL)
      || !wsp_address_parse (b, &b_user, &b_host, &b_port, NULL))
    return FALSE;
  return strcmp (a_user, b_user) == 0
      && g_ascii_strcasecmp (a_host, b_host) == 0 && a_port == b_port;
}
