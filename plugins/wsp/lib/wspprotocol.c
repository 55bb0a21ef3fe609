/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP messages: strict parsing, validation and canonical serialisation.
 * The formats, limits and errors are documented in wspprotocol.h. */

#include "wspprotocol.h"
#include "wspframe-private.h"

#include <string.h>

GQuark
wsp_error_quark (void)
{
  return g_quark_from_static_string ("wsp-error-quark");
}

gboolean
wsp_set_error (GError ** error, WspError code, const gchar * format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (WSP_ERROR, code, format, args));
  va_end (args);
  return FALSE;
}

/* ---- The strict JSON front end ------------------------------------------ */

static inline gboolean
is_json_space (gchar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The UTF-16 unit of the four hex digits at @text[@i], or -1. */
static gint
read_hex4 (const gchar * text, gsize len, gsize i)
{
  gint unit = 0;

  if (i > len || len - i < 4)
    return -1;
  for (guint k = 0; k < 4; k++) {
    gint digit = g_ascii_xdigit_value (text[i + k]);

    if (digit < 0)
      return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

/* *@pos is on the opening quote; on success it is moved past the closing
 * one. json-glib would accept raw control characters, unknown escapes,
 * `\u0000` (and silently cut the string there) and unpaired surrogates
 * (and produce invalid UTF-8), so all of those stop here. */
static gboolean
lex_string (const gchar * text, gsize len, gsize * pos, GError ** error)
{
  gsize i = *pos + 1;

  while (i < len) {
    guchar c = text[i];
    gint unit, low;

    if (c == '"') {
      *pos = i + 1;
      return TRUE;
    }
    if (c < 0x20)
      goto control_character;
    if (c != '\\') {
      i++;
      continue;
    }
    if (i + 1 >= len)
      break;
    switch (text[i + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        i += 2;
        break;
      case 'u':
        unit = read_hex4 (text, len, i + 2);
        if (unit < 0)
          goto bad_escape;
        if (unit == 0)
          goto escaped_nul;
        if (unit >= 0xdc00 && unit <= 0xdfff)
          goto lone_surrogate;
        i += 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (len - i < 2 || text[i] != '\\' || text[i + 1] != 'u')
            goto lone_surrogate;
          low = read_hex4 (text, len, i + 2);
          if (low < 0xdc00 || low > 0xdfff)
            goto lone_surrogate;
          i += 6;
        }
        break;
      default:
        goto bad_escape;
    }
  }
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "unterminated string starting at byte %" G_GSIZE_FORMAT, *pos);

  /* ERRORS */
control_character:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "unescaped control character in a string at byte %" G_GSIZE_FORMAT, i);
bad_escape:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "invalid escape sequence at byte %" G_GSIZE_FORMAT, i);
escaped_nul:
  return wsp_set_error (error, WSP_ERROR_NOT_TEXT,
      "escaped NUL character at byte %" G_GSIZE_FORMAT, i);
lone_surrogate:
  return wsp_set_error (error, WSP_ERROR_NOT_TEXT,
      "unpaired UTF-16 surrogate escape at byte %" G_GSIZE_FORMAT, i);
}

static gsize
skip_digits (const gchar * text, gsize len, gsize i)
{
  while (i < len && g_ascii_isdigit (text[i]))
    i++;
  return i;
}

/* RFC 8259 numbers only (json-glib also takes `01`, `.5`, `1.` and `0x10`),
 * and integers that fit a gint64 (json-glib wraps larger ones around). */
static gboolean
lex_number (const gchar * text, gsize len, gsize * pos, GError ** error)
{
  gsize i = *pos;
  gboolean negative = FALSE, integer = TRUE, overflow = FALSE;
  guint64 magnitude = 0;

  if (text[i] == '-') {
    negative = TRUE;
    i++;
  }
  if (i >= len || !g_ascii_isdigit (text[i]))
    goto bad_number;
  if (text[i] == '0') {
    i++;
    if (i < len && g_ascii_isdigit (text[i]))
      goto bad_number;
  } else {
    for (; i < len && g_ascii_isdigit (text[i]); i++) {
      guint digit = text[i] - '0';

      if (magnitude > (G_MAXUINT64 - digit) / 10)
        overflow = TRUE;
      else
        magnitude = magnitude * 10 + digit;
    }
  }
  if (i < len && text[i] == '.') {
    integer = FALSE;
    i++;
    if (i >= len || !g_ascii_isdigit (text[i]))
      goto bad_number;
    i = skip_digits (text, len, i);
  }
  if (i < len && (text[i] == 'e' || text[i] == 'E')) {
    integer = FALSE;
    i++;
    if (i < len && (text[i] == '+' || text[i] == '-'))
      i++;
    if (i >= len || !g_ascii_isdigit (text[i]))
      goto bad_number;
    i = skip_digits (text, len, i);
  }
  if (integer && (overflow ||
          magnitude > (negative ? (guint64) G_MAXINT64 + 1 : G_MAXINT64)))
    goto out_of_range;

  *pos = i;
  return TRUE;

  /* ERRORS */
bad_number:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "invalid number at byte %" G_GSIZE_FORMAT, *pos);
out_of_range:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "integer at byte %" G_GSIZE_FORMAT " does not fit in 64 bits", *pos);
}

static gboolean
lex_literal (const gchar * text, gsize len, gsize * pos)
{
  static const gchar *const literals[] = { "true", "false", "null" };

  for (guint k = 0; k < G_N_ELEMENTS (literals); k++) {
    gsize n = strlen (literals[k]);

    if (len - *pos >= n && memcmp (text + *pos, literals[k], n) == 0) {
      *pos += n;
      return TRUE;
    }
  }
  return FALSE;
}

/* Checks that @text is one JSON value made of RFC 8259 tokens, nested at
 * most @max_depth deep, with nothing but white space after it. The grammar
 * between the tokens is json-glib's job; this is what json-glib does not do
 * or does too late (its parser recurses once per nesting level). */
static gboolean
lex_json (const gchar * text, gsize len, guint max_depth, GError ** error)
{
  gchar closers[WSP_FRAME_DEPTH_LIMIT];
  guint depth = 0;
  gboolean complete = FALSE;
  gsize i = 0;

  g_assert (max_depth <= WSP_FRAME_DEPTH_LIMIT);

  while (i < len) {
    gchar c = text[i];

    if (is_json_space (c)) {
      i++;
      continue;
    }
    if (complete)
      goto trailing_data;

    switch (c) {
      case '[':
      case '{':
        if (depth == max_depth)
          goto too_deep;
        closers[depth++] = c == '[' ? ']' : '}';
        i++;
        continue;
      case ']':
      case '}':
        if (depth == 0 || closers[depth - 1] != c)
          goto unbalanced;
        depth--;
        i++;
        break;
      case ',':
      case ':':
        if (depth == 0)
          goto unexpected;
        i++;
        continue;
      case '"':
        if (!lex_string (text, len, &i, error))
          return FALSE;
        break;
      default:
        if (c == '-' || g_ascii_isdigit (c)) {
          if (!lex_number (text, len, &i, error))
            return FALSE;
        } else if (!lex_literal (text, len, &i)) {
          goto unexpected;
        }
        break;
    }
    if (depth == 0)
      complete = TRUE;
  }

  if (depth > 0)
    return wsp_set_error (error, WSP_ERROR_SYNTAX, "unterminated %s",
        closers[depth - 1] == ']' ? "array" : "object");
  if (!complete)
    return wsp_set_error (error, WSP_ERROR_SYNTAX, "empty message");
  return TRUE;

  /* ERRORS */
too_deep:
  return wsp_set_error (error, WSP_ERROR_TOO_DEEP,
      "nested deeper than %u levels at byte %" G_GSIZE_FORMAT, max_depth, i);
trailing_data:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "data after the JSON value at byte %" G_GSIZE_FORMAT, i);
unbalanced:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "unbalanced bracket at byte %" G_GSIZE_FORMAT, i);
unexpected:
  return wsp_set_error (error, WSP_ERROR_SYNTAX,
      "unexpected character at byte %" G_GSIZE_FORMAT, i);
}

gboolean
wsp_frame_parse (const gchar * text, gsize len, guint max_depth,
    WspFrame * frame, GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) json_error = NULL;
  JsonNode *root, *node;
  JsonArray *array;
  guint n;

  if (len == 0)
    return wsp_set_error (error, WSP_ERROR_SYNTAX, "empty message");
  if (len > G_MAXSSIZE)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "message too large");
  if (memchr (text, '\0', len) != NULL)
    goto nul_byte;
  if (!g_utf8_validate_len (text, len, NULL))
    goto not_utf8;
  if (!lex_json (text, len, max_depth, error))
    return FALSE;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, &json_error))
    goto not_json;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    goto not_array;
  array = json_node_get_array (root);
  n = json_array_get_length (array);
  if (n == 0 || n > 3)
    goto bad_length;

  node = json_array_get_element (array, 0);
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    goto keyword_not_string;

  frame->keyword = json_node_get_string (node);
  frame->content = NULL;
  frame->options = NULL;
  if (n >= 2) {
    node = json_array_get_element (array, 1);
    if (!JSON_NODE_HOLDS_NULL (node))
      frame->content = node;
  }
  if (n == 3) {
    /* null content lets options follow; null options serve nothing, and
     * the GPIO plugin's relay command parser refuses them too. */
    node = json_array_get_element (array, 2);
    if (!JSON_NODE_HOLDS_OBJECT (node))
      goto bad_options;
    frame->options = json_node_get_object (node);
  }
  frame->parser = g_steal_pointer (&parser);
  return TRUE;

  /* ERRORS */
nul_byte:
  return wsp_set_error (error, WSP_ERROR_NOT_TEXT, "message contains a NUL "
      "byte");
not_utf8:
  return wsp_set_error (error, WSP_ERROR_NOT_TEXT, "message is not UTF-8");
not_json:
  return wsp_set_error (error, WSP_ERROR_SYNTAX, "message is not JSON: %s",
      json_error->message);
not_array:
  return wsp_set_error (error, WSP_ERROR_NOT_ARRAY, "message is not a JSON "
      "array");
bad_length:
  return wsp_set_error (error, WSP_ERROR_NOT_ARRAY, "message is an array of "
      "%u elements, not [keyword, content, options]", n);
keyword_not_string:
  return wsp_set_error (error, WSP_ERROR_NOT_ARRAY, "message keyword is not "
      "a string");
bad_options:
  return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"%s\" options are "
      "not an object", frame->keyword);
}

void
wsp_frame_clear (WspFrame * frame)
{
  g_clear_object (&frame->parser);
  frame->keyword = NULL;
  frame->content = NULL;
  frame->options = NULL;
}

gboolean
wsp_frame_get_content (const WspFrame * frame, gboolean optional,
    JsonObject ** content, GError ** error)
{
  *content = NULL;
  if (frame->content == NULL) {
    if (optional)
      return TRUE;
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"%s\" has no "
        "content", frame->keyword);
  }
  if (!JSON_NODE_HOLDS_OBJECT (frame->content))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"%s\" content is "
        "not an object", frame->keyword);
  *content = json_node_get_object (frame->content);
  return TRUE;
}

/* ---- Typed member access ------------------------------------------------- */

static JsonNode *
get_value (JsonObject * object, const gchar * member)
{
  JsonNode *node = json_object_get_member (object, member);

  /* null stands for "absent" in optional members, see wspprotocol.h. */
  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

static gboolean
missing (const gchar * what, const gchar * member, GError ** error)
{
  return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s has no \"%s\"",
      what, member);
}

static gboolean
wrong_type (const gchar * what, const gchar * member, const gchar * type,
    GError ** error)
{
  return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s \"%s\" is not %s",
      what, member, type);
}

static gboolean
holds_value_of_type (JsonNode * node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == type;
}

gboolean
wsp_json_get_string (JsonObject * object, const gchar * what,
    const gchar * member, gboolean required, const gchar ** out,
    GError ** error)
{
  JsonNode *node = get_value (object, member);

  if (node == NULL)
    return required ? missing (what, member, error) : TRUE;
  if (!holds_value_of_type (node, G_TYPE_STRING))
    return wrong_type (what, member, "a string", error);
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
wsp_json_get_int (JsonObject * object, const gchar * what,
    const gchar * member, gboolean required, gint64 * out,
    gboolean * present, GError ** error)
{
  JsonNode *node = get_value (object, member);

  if (present != NULL)
    *present = FALSE;
  if (node == NULL)
    return required ? missing (what, member, error) : TRUE;
  /* Integers only: 200.0 is a double to json-glib, and not a code. */
  if (!holds_value_of_type (node, G_TYPE_INT64))
    return wrong_type (what, member, "an integer", error);
  *out = json_node_get_int (node);
  if (present != NULL)
    *present = TRUE;
  return TRUE;
}

gboolean
wsp_json_get_boolean (JsonObject * object, const gchar * what,
    const gchar * member, gboolean * out, GError ** error)
{
  JsonNode *node = get_value (object, member);

  if (node == NULL)
    return missing (what, member, error);
  if (!holds_value_of_type (node, G_TYPE_BOOLEAN))
    return wrong_type (what, member, "a boolean", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
wsp_json_get_object (JsonObject * object, const gchar * what,
    const gchar * member, JsonObject ** out, GError ** error)
{
  JsonNode *node = get_value (object, member);

  if (node == NULL)
    return missing (what, member, error);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (what, member, "an object", error);
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
wsp_text_is_valid (const gchar * text, WspTextKind kind)
{
  if (text == NULL)
    return TRUE;
  for (const gchar * p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);

    if (kind == WSP_TEXT_LINES && (c == '\r' || c == '\n' || c == '\t'))
      continue;
    if (g_unichar_iscntrl (c))
      return FALSE;
  }
  return TRUE;
}

gboolean
wsp_check_text (const gchar * text, const gchar * what, gsize max_len,
    WspTextKind kind, GError ** error)
{
  gsize len = strlen (text);

  if (len > max_len)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "%s is %" G_GSIZE_FORMAT
        " bytes long, more than %" G_GSIZE_FORMAT, what, len, max_len);
  /* Belt and braces: the lexer already refuses what would make json-glib
   * produce invalid UTF-8, and constructors take any C string. */
  if (!g_utf8_validate_len (text, len, NULL))
    return wsp_set_error (error, WSP_ERROR_NOT_TEXT, "%s is not UTF-8", what);
  if (!wsp_text_is_valid (text, kind))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s contains control "
        "characters", what);
  return TRUE;
}

gchar *
wsp_builder_to_text (JsonBuilder * builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/* ---- Codes and errors ---------------------------------------------------- */

static const struct
{
  WspByeCode code;
  const gchar *description;
} bye_codes[] = {
  {WSP_BYE_TRANSFERRED, "Transferred"},
  {WSP_BYE_NORMAL, "Normal end"},
  {WSP_BYE_BAD_REQUEST, "Bad request"},
  {WSP_BYE_NOT_AUTHENTICATED, "Not authenticated"},
  {WSP_BYE_FORBIDDEN, "Forbidden"},
  {WSP_BYE_UNKNOWN_CALLEE, "Unknown callee"},
  {WSP_BYE_TIMEOUT, "Timeout"},
  {WSP_BYE_NOT_REACHABLE, "Callee not reachable"},
  {WSP_BYE_BUSY, "Busy"},
  {WSP_BYE_CANCELLED, "Answered elsewhere or cancelled"},
  {WSP_BYE_INTERNAL_ERROR, "Internal error"},
  {WSP_BYE_DECLINED, "Declined"},
};

const gchar *
wsp_bye_code_to_string (WspByeCode code)
{
  for (guint i = 0; i < G_N_ELEMENTS (bye_codes); i++) {
    if (bye_codes[i].code == code)
      return bye_codes[i].description;
  }
  return NULL;
}

gboolean
wsp_bye_code_is_valid (gint64 code)
{
  return code >= 0 && code <= G_MAXINT
      && wsp_bye_code_to_string ((WspByeCode) code) != NULL;
}

WspByeCode
wsp_error_to_bye_code (const GError * error)
{
  g_return_val_if_fail (error != NULL, WSP_BYE_INTERNAL_ERROR);

  if (error->domain != WSP_ERROR)
    return WSP_BYE_INTERNAL_ERROR;

  /* WSP 1.0 names one code for everything a peer can get wrong; the switch
   * is here so that a new WspError has to decide. */
  switch ((WspError) error->code) {
    case WSP_ERROR_TOO_LARGE:
    case WSP_ERROR_NOT_TEXT:
    case WSP_ERROR_TOO_DEEP:
    case WSP_ERROR_SYNTAX:
    case WSP_ERROR_NOT_ARRAY:
    case WSP_ERROR_UNKNOWN_KEYWORD:
    case WSP_ERROR_BAD_CONTENT:
    case WSP_ERROR_BAD_ADDRESS:
    case WSP_ERROR_BAD_CODE:
      return WSP_BYE_BAD_REQUEST;
  }
  return WSP_BYE_BAD_REQUEST;
}

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

/* ---- Messages ------------------------------------------------------------ */

static const gchar *const keywords[] = {
  [WSP_MESSAGE_INVITE] = "invite",
  [WSP_MESSAGE_RINGING] = "ringing",
  [WSP_MESSAGE_OFFER] = "offer",
  [WSP_MESSAGE_ANSWER] = "answer",
  [WSP_MESSAGE_ICE_CANDIDATE] = "icecandidate",
  [WSP_MESSAGE_BYE] = "bye",
  [WSP_MESSAGE_REGISTER] = "register",
  [WSP_MESSAGE_REGISTERED] = "registered",
};

const gchar *
wsp_message_type_to_keyword (WspMessageType type)
{
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (keywords), NULL);

  return keywords[type];
}

static gboolean
type_from_keyword (const gchar * keyword, WspMessageType * type)
{
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++) {
    if (g_str_equal (keyword, keywords[i])) {
      *type = (WspMessageType) i;
      return TRUE;
    }
  }
  return FALSE;
}

static WspMessage *
message_new (WspMessageType type)
{
  WspMessage *msg = g_new0 (WspMessage, 1);

  msg->type = type;
  if (type == WSP_MESSAGE_ICE_CANDIDATE)
    msg->ice.sdp_mline_index = -1;
  return msg;
}

WspMessage *
wsp_message_new_invite (const gchar * caller_uri, const gchar * caller_name,
    const gchar * callee_uri, const gchar * callee_name, const gchar * snapshot)
{
  WspMessage *msg;

  g_return_val_if_fail (caller_uri != NULL, NULL);
  g_return_val_if_fail (callee_uri != NULL, NULL);

  msg = message_new (WSP_MESSAGE_INVITE);
  msg->invite.caller.uri = g_strdup (caller_uri);
  msg->invite.caller.name = g_strdup (caller_name);
  msg->invite.callee.uri = g_strdup (callee_uri);
  msg->invite.callee.name = g_strdup (callee_name);
  msg->invite.snapshot = g_strdup (snapshot);
  return msg;
}

WspMessage *
wsp_message_new_ringing (void)
{
  return message_new (WSP_MESSAGE_RINGING);
}

static WspMessage *
new_sdp (WspMessageType type, const gchar * sdp)
{
  WspMessage *msg;

  g_return_val_if_fail (sdp != NULL, NULL);

  msg = message_new (type);
  msg->sdp.sdp = g_strdup (sdp);
  return msg;
}

WspMessage *
wsp_message_new_offer (const gchar * sdp)
{
  return new_sdp (WSP_MESSAGE_OFFER, sdp);
}

WspMessage *
wsp_message_new_answer (const gchar * sdp)
{
  return new_sdp (WSP_MESSAGE_ANSWER, sdp);
}

WspMessage *
wsp_message_new_ice_candidate (const gchar * candidate,
    const gchar * sdp_mid, gint sdp_mline_index)
{
  WspMessage *msg;

  g_return_val_if_fail (candidate != NULL, NULL);

  msg = message_new (WSP_MESSAGE_ICE_CANDIDATE);
  msg->ice.candidate = g_strdup (candidate);
  msg->ice.sdp_mid = g_strdup (sdp_mid);
  msg->ice.sdp_mline_index = sdp_mline_index;
  return msg;
}

WspMessage *
wsp_message_new_bye (WspByeCode code, const gchar * description)
{
  WspMessage *msg = message_new (WSP_MESSAGE_BYE);

  msg->bye.code = code;
  msg->bye.description = g_strdup (description);
  return msg;
}

static WspMessage *
new_registration (WspMessageType type, const gchar * uri)
{
  WspMessage *msg;

  g_return_val_if_fail (uri != NULL, NULL);

  msg = message_new (type);
  msg->registration.uri = g_strdup (uri);
  return msg;
}

WspMessage *
wsp_message_new_register (const gchar * uri)
{
  return new_registration (WSP_MESSAGE_REGISTER, uri);
}

WspMessage *
wsp_message_new_registered (const gchar * uri)
{
  return new_registration (WSP_MESSAGE_REGISTERED, uri);
}

void
wsp_message_free (WspMessage * msg)
{
  if (msg == NULL)
    return;

  switch (msg->type) {
    case WSP_MESSAGE_INVITE:
      g_free (msg->invite.caller.uri);
      g_free (msg->invite.caller.name);
      g_free (msg->invite.callee.uri);
      g_free (msg->invite.callee.name);
      g_free (msg->invite.snapshot);
      break;
    case WSP_MESSAGE_RINGING:
      break;
    case WSP_MESSAGE_OFFER:
    case WSP_MESSAGE_ANSWER:
      g_free (msg->sdp.sdp);
      break;
    case WSP_MESSAGE_ICE_CANDIDATE:
      g_free (msg->ice.candidate);
      g_free (msg->ice.sdp_mid);
      break;
    case WSP_MESSAGE_BYE:
      g_free (msg->bye.description);
      break;
    case WSP_MESSAGE_REGISTER:
    case WSP_MESSAGE_REGISTERED:
      g_free (msg->registration.uri);
      break;
  }
  g_free (msg);
}

static gboolean
party_equal (const WspParty * a, const WspParty * b)
{
  return g_strcmp0 (a->uri, b->uri) == 0 && g_strcmp0 (a->name, b->name) == 0;
}

gboolean
wsp_message_equal (const WspMessage * a, const WspMessage * b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->type != b->type)
    return FALSE;

  switch (a->type) {
    case WSP_MESSAGE_INVITE:
      return party_equal (&a->invite.caller, &b->invite.caller)
          && party_equal (&a->invite.callee, &b->invite.callee)
          && g_strcmp0 (a->invite.snapshot, b->invite.snapshot) == 0;
    case WSP_MESSAGE_RINGING:
      return TRUE;
    case WSP_MESSAGE_OFFER:
    case WSP_MESSAGE_ANSWER:
      return g_strcmp0 (a->sdp.sdp, b->sdp.sdp) == 0;
    case WSP_MESSAGE_ICE_CANDIDATE:
      return g_strcmp0 (a->ice.candidate, b->ice.candidate) == 0
          && g_strcmp0 (a->ice.sdp_mid, b->ice.sdp_mid) == 0
          && a->ice.sdp_mline_index == b->ice.sdp_mline_index;
    case WSP_MESSAGE_BYE:
      return a->bye.code == b->bye.code
          && g_strcmp0 (a->bye.description, b->bye.description) == 0;
    case WSP_MESSAGE_REGISTER:
    case WSP_MESSAGE_REGISTERED:
      return g_strcmp0 (a->registration.uri, b->registration.uri) == 0;
  }
  return FALSE;
}

/* ---- Validation ---------------------------------------------------------- */

static gboolean
validate_address (const gchar * address, const gchar * what, GError ** error)
{
  if (address == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s has no \"uri\"",
        what);
  if (!wsp_address_parse (address, NULL, NULL, NULL, error)) {
    g_prefix_error (error, "%s: ", what);
    return FALSE;
  }
  return TRUE;
}

static gboolean
validate_optional_text (const gchar * text, const gchar * what,
    gsize max_len, GError ** error)
{
  return text == NULL || wsp_check_text (text, what, max_len, WSP_TEXT_LINE,
      error);
}

static gboolean
validate_party (const WspParty * party, const gchar * what, GError ** error)
{
  return validate_address (party->uri, what, error)
      && validate_optional_text (party->name, what, WSP_NAME_MAX_LEN, error);
}

static gboolean
validate_snapshot (const gchar * snapshot, GError ** error)
{
  const gsize prefix_len = strlen (WSP_SNAPSHOT_PREFIX);
  gsize len = strlen (snapshot), data_len, padding = 0;
  const gchar *data;

  if (len > WSP_SNAPSHOT_MAX_SIZE)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "snapshot is %"
        G_GSIZE_FORMAT " bytes long, more than %d", len, WSP_SNAPSHOT_MAX_SIZE);
  if (strncmp (snapshot, WSP_SNAPSHOT_PREFIX, prefix_len) != 0)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "snapshot is not a "
        "base64 JPEG data URL");

  data = snapshot + prefix_len;
  data_len = len - prefix_len;
  while (padding < data_len && data[data_len - 1 - padding] == '=')
    padding++;
  if (data_len == 0 || data_len % 4 != 0 || padding > 2)
    goto bad_base64;
  for (gsize i = 0; i < data_len - padding; i++) {
    if (!g_ascii_isalnum (data[i]) && data[i] != '+' && data[i] != '/')
      goto bad_base64;
  }
  return TRUE;

  /* ERRORS */
bad_base64:
  return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "snapshot data is not "
      "padded base64");
}

static gboolean
validate_sdp (const gchar * sdp, const gchar * what, GError ** error)
{
  if (sdp == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s has no SDP", what);
  if (!wsp_check_text (sdp, what, WSP_SDP_MAX_SIZE, WSP_TEXT_LINES, error))
    return FALSE;
  /* RFC 8866: the session description starts with its version line. */
  if (!g_str_has_prefix (sdp, "v="))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s is not an SDP "
        "session description", what);
  return TRUE;
}

static gboolean
validate_ice (const WspMessage * msg, GError ** error)
{
  const gchar *candidate = msg->ice.candidate;

  if (candidate == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "icecandidate has no "
        "\"candidate\"");
  if (!wsp_check_text (candidate, "icecandidate candidate",
          WSP_CANDIDATE_MAX_LEN, WSP_TEXT_LINE, error)
      || !validate_optional_text (msg->ice.sdp_mid, "icecandidate sdpMid",
          WSP_SDP_MID_MAX_LEN, error))
    return FALSE;
  if (msg->ice.sdp_mline_index < -1
      || msg->ice.sdp_mline_index > WSP_SDP_MLINE_INDEX_MAX)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "icecandidate "
        "sdpMLineIndex %d is out of range", msg->ice.sdp_mline_index);
  if (candidate[0] != '\0' && msg->ice.sdp_mid == NULL
      && msg->ice.sdp_mline_index < 0)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "icecandidate has "
        "neither \"sdpMid\" nor \"sdpMLineIndex\"");
  return TRUE;
}

gboolean
wsp_message_validate (const WspMessage * msg, GError ** error)
{
  g_return_val_if_fail (msg != NULL, FALSE);

  switch (msg->type) {
    case WSP_MESSAGE_INVITE:
      return validate_party (&msg->invite.caller, "invite caller", error)
          && validate_party (&msg->invite.callee, "invite callee", error)
          && (msg->invite.snapshot == NULL
          || validate_snapshot (msg->invite.snapshot, error));
    case WSP_MESSAGE_RINGING:
      return TRUE;
    case WSP_MESSAGE_OFFER:
      return validate_sdp (msg->sdp.sdp, "offer", error);
    case WSP_MESSAGE_ANSWER:
      return validate_sdp (msg->sdp.sdp, "answer", error);
    case WSP_MESSAGE_ICE_CANDIDATE:
      return validate_ice (msg, error);
    case WSP_MESSAGE_BYE:
      if (!wsp_bye_code_is_valid (msg->bye.code))
        return wsp_set_error (error, WSP_ERROR_BAD_CODE, "%d is not a bye "
            "code", (gint) msg->bye.code);
      return validate_optional_text (msg->bye.description,
          "bye description", WSP_DESCRIPTION_MAX_LEN, error);
    case WSP_MESSAGE_REGISTER:
      return validate_address (msg->registration.uri, "register", error);
    case WSP_MESSAGE_REGISTERED:
      return validate_address (msg->registration.uri, "registered", error);
  }
  return wsp_set_error (error, WSP_ERROR_UNKNOWN_KEYWORD, "unknown message "
      "type %d", (gint) msg->type);
}

/* ---- Parsing ------------------------------------------------------------- */

static gboolean
parse_party (JsonObject * content, const gchar * member, WspParty * party,
    GError ** error)
{
  g_autofree gchar *what = g_strconcat ("invite ", member, NULL);
  JsonObject *object;
  const gchar *uri = NULL, *name = NULL;

  if (!wsp_json_get_object (content, "invite", member, &object, error)
      || !wsp_json_get_string (object, what, "uri", TRUE, &uri, error)
      || !wsp_json_get_string (object, what, "name", FALSE, &name, error))
    return FALSE;

  party->uri = g_strdup (uri);
  party->name = g_strdup (name);
  return TRUE;
}

static gboolean
parse_invite (const WspFrame * frame, WspMessage * msg, GError ** error)
{
  JsonObject *content;
  const gchar *snapshot = NULL;

  if (!wsp_frame_get_content (frame, FALSE, &content, error)
      || !parse_party (content, "caller", &msg->invite.caller, error)
      || !parse_party (content, "callee", &msg->invite.callee, error))
    return FALSE;

  /* The one option we know; any other is ignored, as WSP asks. */
  if (frame->options != NULL
      && !wsp_json_get_string (frame->options, "invite options", "snapshot",
          FALSE, &snapshot, error))
    return FALSE;
  msg->invite.snapshot = g_strdup (snapshot);
  return TRUE;
}

static gboolean
parse_sdp (const WspFrame * frame, WspMessage * msg, GError ** error)
{
  JsonObject *content;
  const gchar *type = NULL, *sdp = NULL;

  if (!wsp_frame_get_content (frame, FALSE, &content, error)
      || !wsp_json_get_string (content, frame->keyword, "type", TRUE, &type,
          error))
    return FALSE;
  /* An "answer" inside an "offer" is a confused peer: refuse, don't guess. */
  if (!g_str_equal (type, frame->keyword))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s \"type\" is not "
        "\"%s\"", frame->keyword, frame->keyword);
  if (!wsp_json_get_string (content, frame->keyword, "sdp", TRUE, &sdp, error))
    return FALSE;

  msg->sdp.sdp = g_strdup (sdp);
  return TRUE;
}

static gboolean
parse_ice (const WspFrame * frame, WspMessage * msg, GError ** error)
{
  JsonObject *content;
  const gchar *candidate = NULL, *sdp_mid = NULL;
  gint64 index = -1;
  gboolean has_index;

  if (!wsp_frame_get_content (frame, FALSE, &content, error)
      || !wsp_json_get_string (content, "icecandidate", "candidate", TRUE,
          &candidate, error)
      || !wsp_json_get_string (content, "icecandidate", "sdpMid", FALSE,
          &sdp_mid, error)
      || !wsp_json_get_int (content, "icecandidate", "sdpMLineIndex", FALSE,
          &index, &has_index, error))
    return FALSE;
  /* Range-checked here, before it is narrowed to a gint. */
  if (has_index && (index < 0 || index > WSP_SDP_MLINE_INDEX_MAX))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "icecandidate "
        "sdpMLineIndex %" G_GINT64_FORMAT " is out of range", index);

  msg->ice.candidate = g_strdup (candidate);
  msg->ice.sdp_mid = g_strdup (sdp_mid);
  msg->ice.sdp_mline_index = (gint) index;
  return TRUE;
}

static gboolean
parse_bye (const WspFrame * frame, WspMessage * msg, GError ** error)
{
  JsonObject *content;
  const gchar *description = NULL;
  gint64 code = 0;

  if (!wsp_frame_get_content (frame, FALSE, &content, error)
      || !wsp_json_get_int (content, "bye", "code", TRUE, &code, NULL, error))
    return FALSE;
  if (!wsp_bye_code_is_valid (code))
    return wsp_set_error (error, WSP_ERROR_BAD_CODE, "%" G_GINT64_FORMAT
        " is not a bye code", code);
  if (!wsp_json_get_string (content, "bye", "description", FALSE,
          &description, error))
    return FALSE;

  msg->bye.code = (WspByeCode) code;
  msg->bye.description = g_strdup (description);
  return TRUE;
}

static gboolean
parse_registration (const WspFrame * frame, WspMessage * msg, GError ** error)
{
  JsonObject *content;
  const gchar *uri = NULL;

  if (!wsp_frame_get_content (frame, FALSE, &content, error)
      || !wsp_json_get_string (content, frame->keyword, "uri", TRUE, &uri,
          error))
    return FALSE;

  msg->registration.uri = g_strdup (uri);
  return TRUE;
}

/* Whether @text starts with `["invite"` (JSON white space allowed), the one
 * kind of message that may be larger than WSP_MESSAGE_MAX_SIZE. Decided on
 * the raw text so that no other large message is ever parsed. */
static gboolean
starts_with_invite (const gchar * text, gsize len)
{
  static const gchar keyword[] = "\"invite\"";
  const gsize keyword_len = sizeof (keyword) - 1;
  gsize i = 0;

  while (i < len && is_json_space (text[i]))
    i++;
  if (i >= len || text[i] != '[')
    return FALSE;
  i++;
  while (i < len && is_json_space (text[i]))
    i++;
  return len - i >= keyword_len && memcmp (text + i, keyword, keyword_len) == 0;
}

/* A keyword fit to quote in an error message: short printable ASCII. */
static gboolean
keyword_is_printable (const gchar * keyword)
{
  gsize len = strlen (keyword);

  if (len == 0 || len > 32)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (keyword[i] < 0x20 || keyword[i] > 0x7e || keyword[i] == '"')
      return FALSE;
  }
  return TRUE;
}

gboolean
wsp_message_parse (const gchar * text, gsize len, WspMessage ** out,
    GError ** error)
{
  g_auto (WspFrame) frame = { NULL, };
  g_autoptr (WspMessage) msg = NULL;
  WspMessageType type;
  gboolean ok = FALSE;

  g_return_val_if_fail (text != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len > WSP_INVITE_MAX_SIZE
      || (len > WSP_MESSAGE_MAX_SIZE && !starts_with_invite (text, len)))
    goto too_large;
  if (!wsp_frame_parse (text, len, WSP_MAX_DEPTH, &frame, error))
    return FALSE;
  if (!type_from_keyword (frame.keyword, &type))
    goto unknown_keyword;

  msg = message_new (type);
  switch (type) {
    case WSP_MESSAGE_INVITE:
      ok = parse_invite (&frame, msg, error);
      break;
    case WSP_MESSAGE_RINGING:{
      JsonObject *content;

      /* No content in WSP; an object (e.g. {}) is harmless, anything else
       * is a confused peer. */
      ok = wsp_frame_get_content (&frame, TRUE, &content, error);
      break;
    }
    case WSP_MESSAGE_OFFER:
    case WSP_MESSAGE_ANSWER:
      ok = parse_sdp (&frame, msg, error);
      break;
    case WSP_MESSAGE_ICE_CANDIDATE:
      ok = parse_ice (&frame, msg, error);
      break;
    case WSP_MESSAGE_BYE:
      ok = parse_bye (&frame, msg, error);
      break;
    case WSP_MESSAGE_REGISTER:
    case WSP_MESSAGE_REGISTERED:
      ok = parse_registration (&frame, msg, error);
      break;
  }
  if (!ok || !wsp_message_validate (msg, error))
    return FALSE;

  *out = g_steal_pointer (&msg);
  return TRUE;

  /* ERRORS */
too_large:
  return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "message of %"
      G_GSIZE_FORMAT " bytes is larger than %d", len,
      len > WSP_INVITE_MAX_SIZE ? WSP_INVITE_MAX_SIZE : WSP_MESSAGE_MAX_SIZE);
unknown_keyword:
  if (keyword_is_printable (frame.keyword))
    return wsp_set_error (error, WSP_ERROR_UNKNOWN_KEYWORD, "unknown keyword "
        "\"%s\"", frame.keyword);
  return wsp_set_error (error, WSP_ERROR_UNKNOWN_KEYWORD, "unknown keyword");
}

/* ---- Serialisation ------------------------------------------------------- */

static void
add_string_member (JsonBuilder * builder, const gchar * member,
    const gchar * value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
}

static void
add_party (JsonBuilder * builder, const gchar * member, const WspParty * party)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_object (builder);
  add_string_member (builder, "uri", party->uri);
  if (party->name != NULL)
    add_string_member (builder, "name", party->name);
  json_builder_end_object (builder);
}

gchar *
wsp_message_serialize (const WspMessage * msg)
{
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (msg != NULL, NULL);

  /* Guarantees that everything we send parses at the other end (and in our
   * own tests and fuzzers). */
  if (!wsp_message_validate (msg, &error)) {
    g_critical ("Refusing to serialise an invalid WSP message: %s",
        error->message);
    return NULL;
  }

  builder = json_builder_new_immutable ();
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, keywords[msg->type]);

  switch (msg->type) {
    case WSP_MESSAGE_INVITE:
      json_builder_begin_object (builder);
      add_party (builder, "caller", &msg->invite.caller);
      add_party (builder, "callee", &msg->invite.callee);
      json_builder_end_object (builder);
      if (msg->invite.snapshot != NULL) {
        json_builder_begin_object (builder);
        add_string_member (builder, "snapshot", msg->invite.snapshot);
        json_builder_end_object (builder);
      }
      break;
    case WSP_MESSAGE_RINGING:
      break;
    case WSP_MESSAGE_OFFER:
    case WSP_MESSAGE_ANSWER:
      json_builder_begin_object (builder);
      add_string_member (builder, "type", keywords[msg->type]);
      add_string_member (builder, "sdp", msg->sdp.sdp);
      json_builder_end_object (builder);
      break;
    case WSP_MESSAGE_ICE_CANDIDATE:
      json_builder_begin_object (builder);
      add_string_member (builder, "candidate", msg->ice.candidate);
      if (msg->ice.sdp_mid != NULL)
        add_string_member (builder, "sdpMid", msg->ice.sdp_mid);
      if (msg->ice.sdp_mline_index >= 0) {
        json_builder_set_member_name (builder, "sdpMLineIndex");
        json_builder_add_int_value (builder, msg->ice.sdp_mline_index);
      }
      json_builder_end_object (builder);
      break;
    case WSP_MESSAGE_BYE:
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, msg->bye.code);
      if (msg->bye.description != NULL)
        add_string_member (builder, "description", msg->bye.description);
      json_builder_end_object (builder);
      break;
    case WSP_MESSAGE_REGISTER:
    case WSP_MESSAGE_REGISTERED:
      json_builder_begin_object (builder);
      add_string_member (builder, "uri", msg->registration.uri);
      json_builder_end_object (builder);
      break;
  }
  json_builder_end_array (builder);
  return wsp_builder_to_text (builder);
}
