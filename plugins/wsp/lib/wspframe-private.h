/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the WSP and io parsers share: the strict JSON front end and typed
 * member access. Not installed; the public API speaks only GLib types. */

#pragma once

#include "wspprotocol.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* JSON's white space (RFC 8259): no other character counts as one. */
static inline gboolean
wsp_json_is_space (gchar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The deepest nesting any caller may ask wsp_frame_parse() for; it keeps
 * the bracket stack on the C stack. */
#define WSP_FRAME_DEPTH_LIMIT 16

/* A parsed `[keyword, content, options]`. @content is NULL when omitted or
 * null, @options NULL when omitted; all point into @parser. */
typedef struct
{
  JsonParser *parser;
  const gchar *keyword;
  JsonNode *content;
  JsonObject *options;
} WspFrame;

G_GNUC_INTERNAL
gboolean wsp_frame_parse (const gchar * text, gsize len, guint max_depth,
    WspFrame * frame, GError ** error);
G_GNUC_INTERNAL
void wsp_frame_clear (WspFrame * frame);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WspFrame, wsp_frame_clear)

/* The content as an object: WSP_ERROR_BAD_CONTENT if it is missing (unless
 * @optional, which gives NULL) or not an object. */
G_GNUC_INTERNAL
gboolean wsp_frame_get_content (const WspFrame * frame, gboolean optional,
    JsonObject ** content, GError ** error);

/* Typed access to a member of @object. @required members must be present and
 * not null; optional ones that are absent or null leave the output alone and
 * set *@present (if given) to FALSE. A wrong type is WSP_ERROR_BAD_CONTENT.
 * @what names the object in messages ("invite caller"). */
G_GNUC_INTERNAL
gboolean wsp_json_get_string (JsonObject * object, const gchar * what,
    const gchar * member, gboolean required, const gchar ** out,
    GError ** error);
G_GNUC_INTERNAL
gboolean wsp_json_get_int (JsonObject * object, const gchar * what,
    const gchar * member, gboolean required, gint64 * out,
    gboolean * present, GError ** error);
G_GNUC_INTERNAL
gboolean wsp_json_get_boolean (JsonObject * object, const gchar * what,
    const gchar * member, gboolean * out, GError ** error);
G_GNUC_INTERNAL
gboolean wsp_json_get_object (JsonObject * object, const gchar * what,
    const gchar * member, JsonObject ** out, GError ** error);

typedef enum
{
  WSP_TEXT_LINE,                /* no control characters */
  WSP_TEXT_LINES,               /* control characters but CR, LF, TAB */
} WspTextKind;

/* NULL-safe: NULL is valid text. */
G_GNUC_INTERNAL
gboolean wsp_text_is_valid (const gchar * text, WspTextKind kind);

/* Checks a string value: length (TOO_LARGE), UTF-8 and text kind. */
G_GNUC_INTERNAL
gboolean wsp_check_text (const gchar * text, const gchar * what,
    gsize max_len, WspTextKind kind, GError ** error);

G_GNUC_INTERNAL
gboolean wsp_set_error (GError ** error, WspError code,
    const gchar * format, ...) G_GNUC_PRINTF (3, 4);

/* Compact JSON text of what @builder holds. */
G_GNUC_INTERNAL
gchar *wsp_builder_to_text (JsonBuilder * builder);

G_END_DECLS
