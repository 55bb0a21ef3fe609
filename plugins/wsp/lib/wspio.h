/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom `io` data channel messages (DESIGN §3): the door's inputs
 * and relays, as plain data with a strict parser and a canonical
 * serialiser. Same framing, JSON strictness and error domain (#WSP_ERROR)
 * as wspprotocol.h: `[keyword, content, options]`, options ignored.
 *
 * Door -> interior:
 *
 * | keyword | content                                                            |
 * |---------|--------------------------------------------------------------------|
 * | `state` | `{"inputs": {NAME: bool, ...}, "relays": {NAME: bool, ...}}`        |
 * | `input` | `{"name": NAME, "active": bool, "time": MS}`                       |
 * | `relay` | `{"name": NAME, "active": bool, "time": MS}` (a relay changed)     |
 * | `error` | `{"code": 400..599, "description": TEXT}` (a command was refused)  |
 *
 * Interior -> door:
 *
 * | keyword | content                                                            |
 * |---------|--------------------------------------------------------------------|
 * | `relay` | `{"name": NAME, "action": "pulse"\|"on"\|"off", "duration"?: MS}`   |
 *
 * A `relay` with "action" is a command, one with "active" an event; both or
 * neither is #WSP_ERROR_BAD_CONTENT. The parser accepts either direction:
 * the door must act only on #WSP_IO_MESSAGE_RELAY_COMMAND.
 *
 * NAME is 1 to #WSP_IO_NAME_MAX_LEN characters of `[A-Za-z0-9_-]`. MS is
 * milliseconds since the Unix epoch, 0 to #WSP_IO_TIME_MAX. `state` lists
 * at most #WSP_IO_MAX_LINES inputs and as many relays; either may be empty.
 *
 * This is the one rule set for relay commands: the controller parses the
 * data channel's messages here, and `relaysink` parses its own text input
 * here too (one command per line) and checks a command given to its
 * "command" signal with wsp_io_relay_command_validate(), the function the
 * parser ends with. The rules: "duration" only with "pulse", 1 to
 * G_MAXINT32 ms, never null; at most #WSP_IO_COMMAND_MAX_SIZE bytes; and
 * unknown members are refused, because a command moves a door opener and a
 * field we don't understand may have been meant to change what it does.
 * Events are information: unknown members there are ignored, as in WSP.
 *
 * The `error` code is the same numbering as `bye` codes; a parse failure
 * maps to 400 through wsp_error_to_bye_code(). #WspIoErrorCode names the
 * codes the door sends.
 */

#pragma once

#include "wspprotocol.h"

#include <glib-object.h>

G_BEGIN_DECLS

/** WSP_IO_MESSAGE_MAX_SIZE: the largest `io` message, in bytes of JSON text. */
#define WSP_IO_MESSAGE_MAX_SIZE (8 * 1024)
/** WSP_IO_COMMAND_MAX_SIZE: the largest relay command, in bytes of JSON text. */
#define WSP_IO_COMMAND_MAX_SIZE 1024
/**
 * WSP_IO_MAX_DEPTH:
 *
 * The deepest nesting accepted: `state` needs 3, a relay command 2 (3 with
 * options).
 */
#define WSP_IO_MAX_DEPTH 3
/** WSP_IO_NAME_MAX_LEN: the longest input or relay name. */
#define WSP_IO_NAME_MAX_LEN 31
/** WSP_IO_MAX_LINES: the most inputs, and the most relays, in a `state`. */
#define WSP_IO_MAX_LINES 64
/**
 * WSP_IO_TIME_MAX:
 *
 * The largest time, in ms since the epoch: 2^53 - 1, the largest integer a
 * JavaScript interior can hold exactly.
 */
#define WSP_IO_TIME_MAX G_GINT64_CONSTANT (9007199254740991)
/** WSP_IO_ERROR_DESCRIPTION_MAX_LEN: the longest `error` description, in bytes. */
#define WSP_IO_ERROR_DESCRIPTION_MAX_LEN 256

/**
 * WspIoErrorCode:
 *
 * Codes of the `error` message. Any code from 400 to 599 parses.
 */
typedef enum
{
  WSP_IO_ERROR_BAD_REQUEST = 400,       /* malformed command */
  WSP_IO_ERROR_FORBIDDEN = 403, /* not authorised, or an action this relay refuses */
  WSP_IO_ERROR_NOT_FOUND = 404, /* no such relay */
  WSP_IO_ERROR_TOO_MANY_REQUESTS = 429, /* over the command rate limit */
  WSP_IO_ERROR_INTERNAL = 500,  /* the relay could not be driven */
} WspIoErrorCode;

#define WSP_IO_ERROR_CODE_MIN 400
#define WSP_IO_ERROR_CODE_MAX 599

typedef enum
{
  WSP_IO_MESSAGE_STATE,
  WSP_IO_MESSAGE_INPUT,
  WSP_IO_MESSAGE_RELAY_EVENT,
  WSP_IO_MESSAGE_ERROR,
  WSP_IO_MESSAGE_RELAY_COMMAND,
} WspIoMessageType;

/**
 * WspIoRelayAction:
 * @WSP_IO_RELAY_ACTION_PULSE: on, then off after a duration
 * @WSP_IO_RELAY_ACTION_ON: on (until "off", or a cap the driver applies)
 * @WSP_IO_RELAY_ACTION_OFF: off
 *
 * What a relay command asks. Registered as a GEnum (the nicks are the
 * wire's words) so that `relaysink`'s "command" signal can take it.
 */
typedef enum
{
  WSP_IO_RELAY_ACTION_PULSE,
  WSP_IO_RELAY_ACTION_ON,
  WSP_IO_RELAY_ACTION_OFF,
} WspIoRelayAction;

#define WSP_IO_TYPE_RELAY_ACTION (wsp_io_relay_action_get_type ())
GType wsp_io_relay_action_get_type (void);

const gchar *wsp_io_relay_action_to_string (WspIoRelayAction action);
/* The keyword of @type ("relay" for both relay types). */
const gchar *wsp_io_message_type_to_keyword (WspIoMessageType type);
gboolean wsp_io_name_is_valid (const gchar * name);

/* One line in a `state`. */
typedef struct
{
  gchar *name;
  gboolean active;
} WspIoLine;

/**
 * WspIoMessage:
 * @type: which member of the union is valid
 * @state: #WSP_IO_MESSAGE_STATE; arrays of #WspIoLine in message order
 * @event: #WSP_IO_MESSAGE_INPUT and #WSP_IO_MESSAGE_RELAY_EVENT
 * @error: #WSP_IO_MESSAGE_ERROR
 * @command: #WSP_IO_MESSAGE_RELAY_COMMAND; @duration is 0 when absent (the
 *   relay's default pulse)
 *
 * An `io` message; free it with wsp_io_message_free().
 */
typedef struct
{
  WspIoMessageType type;
  union
  {
    struct
    {
      GArray *inputs;
      GArray *relays;
    } state;
    struct
    {
      gchar *name;
      gboolean active;
      gint64 time;
    } event;
    struct
    {
      guint code;
      gchar *description;
    } error;
    struct
    {
      gchar *name;
      WspIoRelayAction action;
      guint duration;
    } command;
  };
} WspIoMessage;

/* Constructors copy their arguments; see wsp_message_new_invite() for the
 * split between constructors, validation and serialisation. */
WspIoMessage *wsp_io_message_new_state (void);
void wsp_io_message_state_add_input (WspIoMessage * msg, const gchar * name,
    gboolean active);
void wsp_io_message_state_add_relay (WspIoMessage * msg, const gchar * name,
    gboolean active);
WspIoMessage *wsp_io_message_new_input (const gchar * name, gboolean active,
    gint64 time);
WspIoMessage *wsp_io_message_new_relay_event (const gchar * name,
    gboolean active, gint64 time);
WspIoMessage *wsp_io_message_new_error (guint code,
    const gchar * description);
WspIoMessage *wsp_io_message_new_relay_command (const gchar * name,
    WspIoRelayAction action, guint duration);

void wsp_io_message_free (WspIoMessage * msg);
gboolean wsp_io_message_equal (const WspIoMessage * a,
    const WspIoMessage * b);
gboolean wsp_io_message_validate (const WspIoMessage * msg, GError ** error);

/* The relay command rules on their own, for a command that arrives as
 * values rather than text (`relaysink`'s "command" signal): @name a valid
 * name, @action known, @duration 0 or, with a pulse only, 1 to G_MAXINT32
 * ms. wsp_io_message_validate() applies exactly this to a command. */
gboolean wsp_io_relay_command_validate (const gchar * name,
    WspIoRelayAction action, guint duration, GError ** error);

/* As wsp_message_parse() and wsp_message_serialize(). */
gboolean wsp_io_message_parse (const gchar * text, gsize len,
    WspIoMessage ** out, GError ** error);
gchar *wsp_io_message_serialize (const WspIoMessage * msg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WspIoMessage, wsp_io_message_free)

G_END_DECLS
