/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the WSP and io parsers share (wspframe-private.h): the strict JSON
 * front end (RFC 8259 lexed before json-glib sees the text, depth bounded
 * on the raw text), the `[keyword, content, options]` frame, typed member
 * access and the text checks. The message shapes are wspprotocol.c's and
 * wspio.c's. */

#include "wspprotocol.h"
#include "wspframe-private.h"

#include <string.h>

/* ---- The strict JSON front end ------------------------------------------ */

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

    if (wsp_json_is_space (c)) {
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
