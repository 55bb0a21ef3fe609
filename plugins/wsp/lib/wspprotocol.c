/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WSP messages: strict parsing, validation and canonical serialisation.
 * The formats, limits and errors are documented in wspprotocol.h. The
 * JSON front end they are parsed with is wspframe.c's; addresses are
 * wspaddress.c's. */

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

  while (i < len && wsp_json_is_space (text[i]))
    i++;
  if (i >= len || text[i] != '[')
    return FALSE;
  i++;
  while (i < len && wsp_json_is_space (text[i]))
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
