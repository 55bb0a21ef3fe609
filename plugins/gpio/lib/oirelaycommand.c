/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "oigpio.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* json-glib parses recursively; a command is flat, so refuse anything nested
 * deeper than the message shape before handing the text to the parser. */
#define MAX_DEPTH 3

static gboolean
nesting_is_shallow (const gchar * text, gsize len)
{
  gboolean in_string = FALSE;
  gint depth = 0;

  for (gsize i = 0; i < len; i++) {
    gchar c = text[i];

    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_DEPTH)
        return FALSE;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return TRUE;
}

const gchar *
oi_relay_action_to_string (OiRelayAction action)
{
  switch (action) {
    case OI_RELAY_ACTION_PULSE:
      return "pulse";
    case OI_RELAY_ACTION_ON:
      return "on";
    case OI_RELAY_ACTION_OFF:
      return "off";
  }
  g_return_val_if_reached (NULL);
}

static gboolean
action_from_string (const gchar * text, OiRelayAction * action)
{
  for (OiRelayAction a = OI_RELAY_ACTION_PULSE; a <= OI_RELAY_ACTION_OFF; a++) {
    if (g_str_equal (text, oi_relay_action_to_string (a))) {
      *action = a;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
invalid (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError ** error, const gchar * format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, OI_GPIO_ERROR, OI_GPIO_ERROR_INVALID, message);
  return FALSE;
}

gboolean
oi_relay_command_parse (const gchar * text, gsize len,
    OiRelayCommand * command, GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GList) members = NULL;
  JsonNode *root, *node;
  JsonArray *array;
  JsonObject *content;
  const gchar *keyword, *name, *action_text;
  gint64 duration = 0;

  if (len > OI_RELAY_COMMAND_MAX_SIZE)
    return invalid (error, "command of %" G_GSIZE_FORMAT " bytes is larger "
        "than %d", len, OI_RELAY_COMMAND_MAX_SIZE);
  if (!g_utf8_validate_len (text, len, NULL))
    return invalid (error, "command is not UTF-8 text");
  if (!nesting_is_shallow (text, len))
    return invalid (error, "command is nested too deeply");

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, len, &parse_error))
    return invalid (error, "command is not JSON: %s", parse_error->message);

  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_ARRAY (root))
    return invalid (error, "command is not a JSON array");
  array = json_node_get_array (root);
  if (json_array_get_length (array) < 2 || json_array_get_length (array) > 3)
    return invalid (error, "command is not [\"relay\", {...}]");

  node = json_array_get_element (array, 0);
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, "command keyword is not a string");
  keyword = json_node_get_string (node);
  if (!g_str_equal (keyword, "relay"))
    return invalid (error, "unknown command \"%s\" (expected \"relay\")",
        keyword);

  node = json_array_get_element (array, 1);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "relay command content is not an object");
  content = json_node_get_object (node);

  /* Options (third element) are allowed and ignored, as in WSP. */
  if (json_array_get_length (array) == 3 &&
      !JSON_NODE_HOLDS_OBJECT (json_array_get_element (array, 2)))
    return invalid (error, "relay command options are not an object");

  members = json_object_get_members (content);
  for (GList * l = members; l; l = l->next) {
    const gchar *member = l->data;

    if (!g_str_equal (member, "name") && !g_str_equal (member, "action")
        && !g_str_equal (member, "duration"))
      return invalid (error, "unknown relay command field \"%s\"", member);
  }

  node = json_object_get_member (content, "name");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, "relay command has no \"name\" string");
  name = json_node_get_string (node);
  if (!oi_gpio_line_name_is_valid (name))
    return invalid (error, "relay name is not a valid line name");

  node = json_object_get_member (content, "action");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, "relay command has no \"action\" string");
  action_text = json_node_get_string (node);
  if (!action_from_string (action_text, &command->action))
    return invalid (error, "unknown relay action \"%s\" (expected pulse, on "
        "or off)", action_text);

  node = json_object_get_member (content, "duration");
  if (node != NULL) {
    if (command->action != OI_RELAY_ACTION_PULSE)
      return invalid (error, "\"duration\" is only valid with \"pulse\"");
    if (json_node_get_value_type (node) != G_TYPE_INT64)
      return invalid (error, "\"duration\" is not an integer");
    duration = json_node_get_int (node);
    if (duration < 1 || duration > G_MAXINT32)
      return invalid (error, "\"duration\" %" G_GINT64_FORMAT " ms is out of "
          "range", duration);
  }

  g_strlcpy (command->name, name, sizeof (command->name));
  command->duration = duration;
  return TRUE;
}
