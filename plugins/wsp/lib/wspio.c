/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `io` data channel messages: strict parsing, validation and canonical
 * serialisation. The formats and limits are documented in wspio.h; the
 * transports (the data channel, `relaysink`'s text input) are left to their
 * users. */

#include "wspio.h"
#include "wspframe-private.h"

#include <string.h>

/* The wire's words are the GEnum's nicks: one table for both. */
static const GEnumValue relay_actions[] = {
  {WSP_IO_RELAY_ACTION_PULSE, "WSP_IO_RELAY_ACTION_PULSE", "pulse"},
  {WSP_IO_RELAY_ACTION_ON, "WSP_IO_RELAY_ACTION_ON", "on"},
  {WSP_IO_RELAY_ACTION_OFF, "WSP_IO_RELAY_ACTION_OFF", "off"},
  {0, NULL, NULL},
};

#define N_RELAY_ACTIONS (G_N_ELEMENTS (relay_actions) - 1)

static const gchar *const keywords[] = {
  [WSP_IO_MESSAGE_STATE] = "state",
  [WSP_IO_MESSAGE_INPUT] = "input",
  [WSP_IO_MESSAGE_RELAY_EVENT] = "relay",
  [WSP_IO_MESSAGE_ERROR] = "error",
  [WSP_IO_MESSAGE_RELAY_COMMAND] = "relay",
};

GType
wsp_io_relay_action_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType id = g_enum_register_static ("WspIoRelayAction", relay_actions);

    g_once_init_leave (&type, id);
  }
  return type;
}

const gchar *
wsp_io_relay_action_to_string (WspIoRelayAction action)
{
  g_return_val_if_fail ((guint) action < N_RELAY_ACTIONS, NULL);

  return relay_actions[action].value_nick;
}

static gboolean
relay_action_from_string (const gchar * text, WspIoRelayAction * action)
{
  for (guint i = 0; i < N_RELAY_ACTIONS; i++) {
    if (g_str_equal (text, relay_actions[i].value_nick)) {
      *action = (WspIoRelayAction) i;
      return TRUE;
    }
  }
  return FALSE;
}

const gchar *
wsp_io_message_type_to_keyword (WspIoMessageType type)
{
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (keywords), NULL);

  return keywords[type];
}

/* The same rule as the GPIO plugin's line names (oigpio.h), so that a name
 * valid on the wire is one a line map can hold. */
gboolean
wsp_io_name_is_valid (const gchar * name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > WSP_IO_NAME_MAX_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (name[i]) && name[i] != '_' && name[i] != '-')
      return FALSE;
  }
  return TRUE;
}

/* ---- Construction -------------------------------------------------------- */

static void
line_clear (gpointer data)
{
  WspIoLine *line = data;

  g_free (line->name);
}

static GArray *
lines_new (void)
{
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (WspIoLine));

  g_array_set_clear_func (lines, line_clear);
  return lines;
}

static void
lines_add (GArray * lines, const gchar * name, gboolean active)
{
  WspIoLine line = { g_strdup (name), active != FALSE };

  g_array_append_val (lines, line);
}

static WspIoMessage *
message_new (WspIoMessageType type)
{
  WspIoMessage *msg = g_new0 (WspIoMessage, 1);

  msg->type = type;
  if (type == WSP_IO_MESSAGE_STATE) {
    msg->state.inputs = lines_new ();
    msg->state.relays = lines_new ();
  }
  return msg;
}

WspIoMessage *
wsp_io_message_new_state (void)
{
  return message_new (WSP_IO_MESSAGE_STATE);
}

void
wsp_io_message_state_add_input (WspIoMessage * msg, const gchar * name,
    gboolean active)
{
  g_return_if_fail (msg != NULL && msg->type == WSP_IO_MESSAGE_STATE);
  g_return_if_fail (name != NULL);

  lines_add (msg->state.inputs, name, active);
}

void
wsp_io_message_state_add_relay (WspIoMessage * msg, const gchar * name,
    gboolean active)
{
  g_return_if_fail (msg != NULL && msg->type == WSP_IO_MESSAGE_STATE);
  g_return_if_fail (name != NULL);

  lines_add (msg->state.relays, name, active);
}

static WspIoMessage *
new_event (WspIoMessageType type, const gchar * name, gboolean active,
    gint64 time)
{
  WspIoMessage *msg;

  g_return_val_if_fail (name != NULL, NULL);

  msg = message_new (type);
  msg->event.name = g_strdup (name);
  msg->event.active = active != FALSE;
  msg->event.time = time;
  return msg;
}

WspIoMessage *
wsp_io_message_new_input (const gchar * name, gboolean active, gint64 time)
{
  return new_event (WSP_IO_MESSAGE_INPUT, name, active, time);
}

WspIoMessage *
wsp_io_message_new_relay_event (const gchar * name, gboolean active,
    gint64 time)
{
  return new_event (WSP_IO_MESSAGE_RELAY_EVENT, name, active, time);
}

WspIoMessage *
wsp_io_message_new_error (guint code, const gchar * description)
{
  WspIoMessage *msg;

  g_return_val_if_fail (description != NULL, NULL);

  msg = message_new (WSP_IO_MESSAGE_ERROR);
  msg->error.code = code;
  msg->error.description = g_strdup (description);
  return msg;
}

WspIoMessage *
wsp_io_message_new_relay_command (const gchar * name,
    WspIoRelayAction action, guint duration)
{
  WspIoMessage *msg;

  g_return_val_if_fail (name != NULL, NULL);

  msg = message_new (WSP_IO_MESSAGE_RELAY_COMMAND);
  msg->command.name = g_strdup (name);
  msg->command.action = action;
  msg->command.duration = duration;
  return msg;
}

void
wsp_io_message_free (WspIoMessage * msg)
{
  if (msg == NULL)
    return;

  switch (msg->type) {
    case WSP_IO_MESSAGE_STATE:
      g_clear_pointer (&msg->state.inputs, g_array_unref);
      g_clear_pointer (&msg->state.relays, g_array_unref);
      break;
    case WSP_IO_MESSAGE_INPUT:
    case WSP_IO_MESSAGE_RELAY_EVENT:
      g_free (msg->event.name);
      break;
    case WSP_IO_MESSAGE_ERROR:
      g_free (msg->error.description);
      break;
    case WSP_IO_MESSAGE_RELAY_COMMAND:
      g_free (msg->command.name);
      break;
  }
  g_free (msg);
}

static gboolean
lines_equal (GArray * a, GArray * b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++) {
    WspIoLine *la = &g_array_index (a, WspIoLine, i);
    WspIoLine *lb = &g_array_index (b, WspIoLine, i);

    if (g_strcmp0 (la->name, lb->name) != 0 || !la->active != !lb->active)
      return FALSE;
  }
  return TRUE;
}

gboolean
wsp_io_message_equal (const WspIoMessage * a, const WspIoMessage * b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->type != b->type)
    return FALSE;

  switch (a->type) {
    case WSP_IO_MESSAGE_STATE:
      return lines_equal (a->state.inputs, b->state.inputs)
          && lines_equal (a->state.relays, b->state.relays);
    case WSP_IO_MESSAGE_INPUT:
    case WSP_IO_MESSAGE_RELAY_EVENT:
      return g_strcmp0 (a->event.name, b->event.name) == 0
          && !a->event.active == !b->event.active
          && a->event.time == b->event.time;
    case WSP_IO_MESSAGE_ERROR:
      return a->error.code == b->error.code
          && g_strcmp0 (a->error.description, b->error.description) == 0;
    case WSP_IO_MESSAGE_RELAY_COMMAND:
      return g_strcmp0 (a->command.name, b->command.name) == 0
          && a->command.action == b->command.action
          && a->command.duration == b->command.duration;
  }
  return FALSE;
}

/* ---- Validation ---------------------------------------------------------- */

static gboolean
validate_name (const gchar * name, const gchar * what, GError ** error)
{
  if (name == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s has no \"name\"",
        what);
  if (!wsp_io_name_is_valid (name))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s name is not 1 to "
        "%d characters of [A-Za-z0-9_-]", what, WSP_IO_NAME_MAX_LEN);
  return TRUE;
}

static gboolean
validate_lines (GArray * lines, const gchar * what, GError ** error)
{
  if (lines == NULL)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "state has no %s",
        what);
  if (lines->len > WSP_IO_MAX_LINES)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "state lists %u %s, "
        "more than %d", lines->len, what, WSP_IO_MAX_LINES);
  for (guint i = 0; i < lines->len; i++) {
    const gchar *name = g_array_index (lines, WspIoLine, i).name;

    if (!validate_name (name, what, error))
      return FALSE;
    /* Would serialise to duplicate members, which parse as one. */
    for (guint j = 0; j < i; j++) {
      if (g_str_equal (name, g_array_index (lines, WspIoLine, j).name))
        return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "state lists "
            "%s \"%s\" twice", what, name);
    }
  }
  return TRUE;
}

gboolean
wsp_io_relay_command_validate (const gchar * name, WspIoRelayAction action,
    guint duration, GError ** error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!validate_name (name, "relay command", error))
    return FALSE;
  if ((guint) action >= N_RELAY_ACTIONS)
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "unknown relay "
        "action %d", (gint) action);
  if (duration != 0) {
    if (action != WSP_IO_RELAY_ACTION_PULSE)
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"duration\" is "
          "only valid with \"pulse\"");
    if (duration > G_MAXINT32)
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"duration\" %u "
          "ms is out of range", duration);
  }
  return TRUE;
}

gboolean
wsp_io_message_validate (const WspIoMessage * msg, GError ** error)
{
  g_return_val_if_fail (msg != NULL, FALSE);

  switch (msg->type) {
    case WSP_IO_MESSAGE_STATE:
      return validate_lines (msg->state.inputs, "inputs", error)
          && validate_lines (msg->state.relays, "relays", error);
    case WSP_IO_MESSAGE_INPUT:
    case WSP_IO_MESSAGE_RELAY_EVENT:
      if (!validate_name (msg->event.name, keywords[msg->type], error))
        return FALSE;
      if (msg->event.time < 0 || msg->event.time > WSP_IO_TIME_MAX)
        return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "%s \"time\" %"
            G_GINT64_FORMAT " is out of range", keywords[msg->type],
            msg->event.time);
      return TRUE;
    case WSP_IO_MESSAGE_ERROR:
      if (msg->error.code < WSP_IO_ERROR_CODE_MIN
          || msg->error.code > WSP_IO_ERROR_CODE_MAX)
        return wsp_set_error (error, WSP_ERROR_BAD_CODE, "%u is not an "
            "error code", msg->error.code);
      if (msg->error.description == NULL)
        return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "error has no "
            "\"description\"");
      return wsp_check_text (msg->error.description, "error description",
          WSP_IO_ERROR_DESCRIPTION_MAX_LEN, WSP_TEXT_LINE, error);
    case WSP_IO_MESSAGE_RELAY_COMMAND:
      return wsp_io_relay_command_validate (msg->command.name,
          msg->command.action, msg->command.duration, error);
  }
  return wsp_set_error (error, WSP_ERROR_UNKNOWN_KEYWORD, "unknown io "
      "message type %d", (gint) msg->type);
}

/* ---- Parsing ------------------------------------------------------------- */

static gboolean
parse_lines (JsonObject * content, const gchar * member, GArray * lines,
    GError ** error)
{
  g_autoptr (GList) names = NULL;
  JsonObject *object;

  if (!wsp_json_get_object (content, "state", member, &object, error))
    return FALSE;
  /* Checked before the loop so a long list costs nothing. */
  if (json_object_get_size (object) > WSP_IO_MAX_LINES)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "state lists more than "
        "%d %s", WSP_IO_MAX_LINES, member);

  names = json_object_get_members (object);
  for (GList * l = names; l != NULL; l = l->next) {
    const gchar *name = l->data;
    gboolean active;

    if (!wsp_json_get_boolean (object, member, name, &active, error))
      return FALSE;
    lines_add (lines, name, active);
  }
  return TRUE;
}

static gboolean
parse_event (JsonObject * content, const gchar * what, WspIoMessage * msg,
    GError ** error)
{
  const gchar *name = NULL;

  if (!wsp_json_get_string (content, what, "name", TRUE, &name, error)
      || !wsp_json_get_boolean (content, what, "active", &msg->event.active,
          error)
      || !wsp_json_get_int (content, what, "time", TRUE, &msg->event.time,
          NULL, error))
    return FALSE;
  msg->event.name = g_strdup (name);
  return TRUE;
}

static gboolean
parse_error (JsonObject * content, WspIoMessage * msg, GError ** error)
{
  const gchar *description = NULL;
  gint64 code = 0;

  if (!wsp_json_get_int (content, "error", "code", TRUE, &code, NULL, error))
    return FALSE;
  if (code < WSP_IO_ERROR_CODE_MIN || code > WSP_IO_ERROR_CODE_MAX)
    return wsp_set_error (error, WSP_ERROR_BAD_CODE, "%" G_GINT64_FORMAT
        " is not an error code", code);
  if (!wsp_json_get_string (content, "error", "description", TRUE,
          &description, error))
    return FALSE;
  msg->error.code = (guint) code;
  msg->error.description = g_strdup (description);
  return TRUE;
}

/* The relay command rules of wspio.h: what no value check can see (members
 * and JSON types) here, the values in wsp_io_relay_command_validate(). */
static gboolean
parse_command (JsonObject * content, WspIoMessage * msg, GError ** error)
{
  g_autoptr (GList) members = json_object_get_members (content);
  const gchar *name = NULL, *action = NULL;
  JsonNode *node;

  for (GList * l = members; l != NULL; l = l->next) {
    const gchar *member = l->data;

    if (!g_str_equal (member, "name") && !g_str_equal (member, "action")
        && !g_str_equal (member, "duration"))
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "relay command has "
          "an unknown member");
  }

  if (!wsp_json_get_string (content, "relay command", "name", TRUE, &name,
          error)
      || !wsp_json_get_string (content, "relay command", "action", TRUE,
          &action, error))
    return FALSE;
  msg->command.name = g_strdup (name);
  if (!relay_action_from_string (action, &msg->command.action))
    return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "unknown relay "
        "action (expected pulse, on or off)");

  /* Not wsp_json_get_int(): a null duration is refused, not "absent". */
  node = json_object_get_member (content, "duration");
  if (node != NULL) {
    gint64 duration;

    if (msg->command.action != WSP_IO_RELAY_ACTION_PULSE)
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"duration\" is "
          "only valid with \"pulse\"");
    if (!JSON_NODE_HOLDS_VALUE (node)
        || json_node_get_value_type (node) != G_TYPE_INT64)
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "relay command "
          "\"duration\" is not an integer");
    duration = json_node_get_int (node);
    if (duration < 1 || duration > G_MAXINT32)
      return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "\"duration\" %"
          G_GINT64_FORMAT " ms is out of range", duration);
    msg->command.duration = (guint) duration;
  }
  return TRUE;
}

gboolean
wsp_io_message_parse (const gchar * text, gsize len, WspIoMessage ** out,
    GError ** error)
{
  g_auto (WspFrame) frame = { NULL, };
  g_autoptr (WspIoMessage) msg = NULL;
  JsonObject *content;
  gboolean ok;

  g_return_val_if_fail (text != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len > WSP_IO_MESSAGE_MAX_SIZE)
    return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "io message of %"
        G_GSIZE_FORMAT " bytes is larger than %d", len,
        WSP_IO_MESSAGE_MAX_SIZE);
  if (!wsp_frame_parse (text, len, WSP_IO_MAX_DEPTH, &frame, error))
    return FALSE;

  if (g_str_equal (frame.keyword, "state")) {
    msg = message_new (WSP_IO_MESSAGE_STATE);
  } else if (g_str_equal (frame.keyword, "input")) {
    msg = message_new (WSP_IO_MESSAGE_INPUT);
  } else if (g_str_equal (frame.keyword, "error")) {
    msg = message_new (WSP_IO_MESSAGE_ERROR);
  } else if (g_str_equal (frame.keyword, "relay")) {
    /* The type is decided below, from the content. */
    msg = message_new (WSP_IO_MESSAGE_RELAY_EVENT);
  } else {
    return wsp_set_error (error, WSP_ERROR_UNKNOWN_KEYWORD, "unknown io "
        "keyword");
  }

  /* Every io message has content. */
  if (!wsp_frame_get_content (&frame, FALSE, &content, error))
    return FALSE;

  switch (msg->type) {
    case WSP_IO_MESSAGE_STATE:
      ok = parse_lines (content, "inputs", msg->state.inputs, error)
          && parse_lines (content, "relays", msg->state.relays, error);
      break;
    case WSP_IO_MESSAGE_INPUT:
      ok = parse_event (content, "input", msg, error);
      break;
    case WSP_IO_MESSAGE_ERROR:
      ok = parse_error (content, msg, error);
      break;
    default:{
      gboolean has_action = json_object_has_member (content, "action");
      gboolean has_active = json_object_has_member (content, "active");

      if (has_action == has_active)
        return wsp_set_error (error, WSP_ERROR_BAD_CONTENT, "relay has %s",
            has_action ? "both \"action\" and \"active\"" :
            "neither \"action\" nor \"active\"");
      if (has_action) {
        msg->type = WSP_IO_MESSAGE_RELAY_COMMAND;
        if (len > WSP_IO_COMMAND_MAX_SIZE)
          return wsp_set_error (error, WSP_ERROR_TOO_LARGE, "relay command "
              "of %" G_GSIZE_FORMAT " bytes is larger than %d", len,
              WSP_IO_COMMAND_MAX_SIZE);
        ok = parse_command (content, msg, error);
      } else {
        ok = parse_event (content, "relay", msg, error);
      }
      break;
    }
  }
  if (!ok || !wsp_io_message_validate (msg, error))
    return FALSE;

  *out = g_steal_pointer (&msg);
  return TRUE;
}

/* ---- Serialisation ------------------------------------------------------- */

static void
add_lines (JsonBuilder * builder, const gchar * member, GArray * lines)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_object (builder);
  for (guint i = 0; i < lines->len; i++) {
    WspIoLine *line = &g_array_index (lines, WspIoLine, i);

    json_builder_set_member_name (builder, line->name);
    json_builder_add_boolean_value (builder, line->active);
  }
  json_builder_end_object (builder);
}

gchar *
wsp_io_message_serialize (const WspIoMessage * msg)
{
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (msg != NULL, NULL);

  if (!wsp_io_message_validate (msg, &error)) {
    g_critical ("Refusing to serialise an invalid io message: %s",
        error->message);
    return NULL;
  }

  builder = json_builder_new_immutable ();
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, keywords[msg->type]);
  json_builder_begin_object (builder);

  switch (msg->type) {
    case WSP_IO_MESSAGE_STATE:
      add_lines (builder, "inputs", msg->state.inputs);
      add_lines (builder, "relays", msg->state.relays);
      break;
    case WSP_IO_MESSAGE_INPUT:
    case WSP_IO_MESSAGE_RELAY_EVENT:
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, msg->event.name);
      json_builder_set_member_name (builder, "active");
      json_builder_add_boolean_value (builder, msg->event.active);
      json_builder_set_member_name (builder, "time");
      json_builder_add_int_value (builder, msg->event.time);
      break;
    case WSP_IO_MESSAGE_ERROR:
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, msg->error.code);
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, msg->error.description);
      break;
    case WSP_IO_MESSAGE_RELAY_COMMAND:
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, msg->command.name);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder,
          relay_actions[msg->command.action].value_nick);
      if (msg->command.duration != 0) {
        json_builder_set_member_name (builder, "duration");
        json_builder_add_int_value (builder, msg->command.duration);
      }
      break;
  }

  json_builder_end_object (builder);
  json_builder_end_array (builder);
  return wsp_builder_to_text (builder);
}
