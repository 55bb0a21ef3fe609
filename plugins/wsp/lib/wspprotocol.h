/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open Intercom WSP library: the messages of WSP 1.0, the WebRTC Signaling
 * Protocol, and Open Intercom's extensions to it, as plain data with a
 * strict parser and a canonical serialiser. No sockets, no GStreamer: the
 * signaller element, the controller's server and the fuzzers share it.
 *
 * # Framing
 *
 * Every message is one JSON text in one WebSocket text frame (or data
 * channel string): an array `[keyword, content, options]`. Content and
 * options may be omitted from the end; `null` in place of the content means
 * "no content" (so that options can follow it). Options, when present, must
 * be an object. Keywords are case-sensitive.
 *
 * | keyword        | content                                                         |
 * |----------------|-----------------------------------------------------------------|
 * | `invite`       | `{"caller": PARTY, "callee": PARTY}`, PARTY = `{"uri": ADDRESS, "name"?: TEXT}` |
 * | `ringing`      | none (an object is tolerated and ignored)                       |
 * | `offer`        | `{"type": "offer", "sdp": SDP}`                                 |
 * | `answer`       | `{"type": "answer", "sdp": SDP}`                                |
 * | `icecandidate` | `{"candidate": TEXT, "sdpMid"?: TEXT, "sdpMLineIndex"?: 0..65535}` |
 * | `bye`          | `{"code": WspByeCode, "description"?: TEXT}`                     |
 * | `register`     | `{"uri": ADDRESS}` (extension: interior client -> home server)  |
 * | `registered`   | `{"uri": ADDRESS}` (extension: home server's reply)             |
 *
 * The only option known is `invite`'s `{"snapshot": "data:image/jpeg;base64,..."}`
 * (extension); every other option is ignored, as WSP asks.
 *
 * Members of content objects this library does not know are ignored: a
 * plain WSP 1.0 peer may add fields (browsers' `RTCIceCandidate.toJSON()`
 * adds `usernameFragment`, for one), and refusing them would break calls for
 * no gain. Every member it does know is type-checked. An optional member
 * may also be `null`, which means absent (`toJSON()` writes `"sdpMid": null`).
 * Duplicate member names are resolved by json-glib: the last one wins.
 *
 * `icecandidate` with an empty `candidate` is the end-of-candidates marker;
 * a non-empty one needs `sdpMid` or `sdpMLineIndex`, as
 * `RTCPeerConnection.addIceCandidate()` does.
 *
 * # Text
 *
 * Input must be UTF-8 without NUL bytes, and strictly JSON (RFC 8259): the
 * parser lexes the text itself before json-glib sees it, because json-glib
 * also accepts comments, single quotes, hex and octal-looking numbers,
 * trailing data after the value, `\u0000` (which it truncates at) and
 * unpaired surrogates (which it turns into invalid UTF-8). Integers must fit
 * in 64 bits. TEXT fields refuse control characters (so that a candidate
 * cannot smuggle an SDP line); SDP allows CR, LF and TAB and must start with
 * `v=`.
 *
 * # Addresses
 *
 * ADDRESS is `user@host[:port]`, at most #WSP_ADDRESS_MAX_LEN bytes:
 *
 * - user: 1 to 64 of `[A-Za-z0-9._-]`;
 * - host: a DNS name (labels of 1 to 63 `[A-Za-z0-9-]` not starting or
 *   ending with `-`, separated by dots, at most 253 bytes, no trailing dot; a
 *   single label such as `station` is fine), or a dotted-quad IPv4 address
 *   (no leading zeros; a name of only digits and dots must be one), or an
 *   IPv6 address in brackets (`[fe80::1]`, no zone identifier);
 * - port: optional, `:1` to `:65535`, decimal without leading zeros.
 *
 * Nothing is case-folded: comparing hosts case-insensitively is the
 * caller's business.
 *
 * # Errors
 *
 * wsp_message_parse() fails with an error in the #WSP_ERROR domain. WSP asks
 * for a `bye` with code 400 for an unknown keyword, a non-array or bad
 * content; every #WspError maps to that code today, and
 * wsp_error_to_bye_code() tells the code to send so callers need not know.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * WSP_SUBPROTOCOL:
 *
 * The WebSocket subprotocol a WSP endpoint must negotiate.
 */
#define WSP_SUBPROTOCOL "wsp-1.0"

/**
 * WSP_MESSAGE_MAX_SIZE:
 *
 * The largest message, in bytes of JSON text, other than an `invite`. An
 * SDP with many candidates is 5-10 KiB; this leaves room for the SDP limit
 * plus JSON escaping.
 */
#define WSP_MESSAGE_MAX_SIZE (64 * 1024)

/**
 * WSP_SNAPSHOT_MAX_SIZE:
 *
 * The longest `snapshot` data URL, in bytes: a 640x480 JPEG at ordinary
 * quality is 30-80 KiB, about 4/3 of that in base64.
 */
#define WSP_SNAPSHOT_MAX_SIZE (512 * 1024)

/**
 * WSP_INVITE_MAX_SIZE:
 *
 * The largest `invite`, in bytes of JSON text: the ordinary limit plus a
 * snapshot. Messages larger than #WSP_MESSAGE_MAX_SIZE are refused before
 * they are parsed unless the text starts with `["invite"` written literally
 * (JSON white space allowed, no escapes in the keyword), so a big message
 * costs no parsing unless it may be an invite. A
 * snapshot whose slashes a peer escapes as `\/` may not fit.
 */
#define WSP_INVITE_MAX_SIZE (WSP_MESSAGE_MAX_SIZE + WSP_SNAPSHOT_MAX_SIZE)

/**
 * WSP_SDP_MAX_SIZE:
 *
 * The longest SDP in `offer` and `answer`, in bytes.
 */
#define WSP_SDP_MAX_SIZE (32 * 1024)

/**
 * WSP_MAX_DEPTH:
 *
 * The deepest nesting of arrays and objects accepted. json-glib parses
 * recursively, so depth is checked on the raw text first. `invite` needs 3;
 * the rest is room for options a peer may add.
 */
#define WSP_MAX_DEPTH 6

/** WSP_ADDRESS_MAX_LEN: the longest address, in bytes. */
#define WSP_ADDRESS_MAX_LEN 255
/** WSP_USER_MAX_LEN: the longest user part of an address, in bytes. */
#define WSP_USER_MAX_LEN 64
/** WSP_NAME_MAX_LEN: the longest display name (`caller.name`, `callee.name`), in bytes. */
#define WSP_NAME_MAX_LEN 128
/** WSP_DESCRIPTION_MAX_LEN: the longest `bye` description, in bytes. */
#define WSP_DESCRIPTION_MAX_LEN 256
/** WSP_CANDIDATE_MAX_LEN: the longest ICE `candidate` string, in bytes. */
#define WSP_CANDIDATE_MAX_LEN 1024
/** WSP_SDP_MID_MAX_LEN: the longest `sdpMid`, in bytes. */
#define WSP_SDP_MID_MAX_LEN 64
/** WSP_SDP_MLINE_INDEX_MAX: the largest `sdpMLineIndex` (an unsigned short in WebRTC). */
#define WSP_SDP_MLINE_INDEX_MAX G_MAXUINT16

/**
 * WSP_SNAPSHOT_PREFIX:
 *
 * What a `snapshot` must start with; the rest is non-empty, padded base64.
 * Only JPEG: the interior shows it in an `<img>`, and an SVG there could
 * carry script.
 */
#define WSP_SNAPSHOT_PREFIX "data:image/jpeg;base64,"

/**
 * WSP_ERROR:
 *
 * The error domain of the WSP and `io` parsers. Every code means "the peer
 * sent a bad message"; see wsp_error_to_bye_code().
 */
#define WSP_ERROR (wsp_error_quark ())
GQuark wsp_error_quark (void);

/**
 * WspError:
 * @WSP_ERROR_TOO_LARGE: the message, or one of its strings (SDP, snapshot,
 *   address, name, ...) is over its limit
 * @WSP_ERROR_NOT_TEXT: a NUL byte, invalid UTF-8, an escaped NUL
 *   (`\u0000`) or an unpaired surrogate escape
 * @WSP_ERROR_TOO_DEEP: arrays and objects nested deeper than allowed
 * @WSP_ERROR_SYNTAX: not one strict JSON value: empty, malformed, or with
 *   data after the value
 * @WSP_ERROR_NOT_ARRAY: JSON, but not an array of one to three elements
 *   starting with a string keyword
 * @WSP_ERROR_UNKNOWN_KEYWORD: a keyword this library does not know
 * @WSP_ERROR_BAD_CONTENT: content or options of the wrong type, a required
 *   member missing, a member of the wrong type or an invalid value
 * @WSP_ERROR_BAD_ADDRESS: an address that is not `user@host[:port]`
 * @WSP_ERROR_BAD_CODE: a `bye` code that is not a #WspByeCode (or an `io`
 *   `error` code out of range)
 *
 * Why a message was refused. All map to bye code 400 (#WSP_BYE_BAD_REQUEST).
 */
typedef enum
{
  WSP_ERROR_TOO_LARGE,
  WSP_ERROR_NOT_TEXT,
  WSP_ERROR_TOO_DEEP,
  WSP_ERROR_SYNTAX,
  WSP_ERROR_NOT_ARRAY,
  WSP_ERROR_UNKNOWN_KEYWORD,
  WSP_ERROR_BAD_CONTENT,
  WSP_ERROR_BAD_ADDRESS,
  WSP_ERROR_BAD_CODE,
} WspError;

/**
 * WspByeCode:
 *
 * The codes a `bye` may carry (DESIGN §3); any other code is refused with
 * #WSP_ERROR_BAD_CODE.
 */
typedef enum
{
  WSP_BYE_TRANSFERRED = 101,
  WSP_BYE_NORMAL = 200,
  WSP_BYE_BAD_REQUEST = 400,
  WSP_BYE_NOT_AUTHENTICATED = 401,
  WSP_BYE_FORBIDDEN = 403,
  WSP_BYE_UNKNOWN_CALLEE = 404,
  WSP_BYE_TIMEOUT = 408,
  WSP_BYE_NOT_REACHABLE = 480,
  WSP_BYE_BUSY = 486,
  WSP_BYE_CANCELLED = 487,
  WSP_BYE_INTERNAL_ERROR = 500,
  WSP_BYE_DECLINED = 603,
} WspByeCode;

gboolean wsp_bye_code_is_valid (gint64 code);

/* A short English description of @code ("Busy"), or NULL if it is none. */
const gchar *wsp_bye_code_to_string (WspByeCode code);

/* The code of the `bye` to send after @error, which a parser of this
 * library returned: #WSP_BYE_BAD_REQUEST for every #WspError (and the code
 * of the `io` `error` reply too). Any other domain is our own failure:
 * #WSP_BYE_INTERNAL_ERROR. */
WspByeCode wsp_error_to_bye_code (const GError * error);

/* Addresses, as described above. @user, @host (without brackets) and @port
 * (0 when none is given) are optional outputs. */
gboolean wsp_address_is_valid (const gchar * address);
/* Whether @a and @b are the same address: the user compared with case, the
 * host without (DNS names, IPv6 hex digits), the port as given (none is
 * not the same as :443). FALSE if either is not valid. */
gboolean wsp_address_equal (const gchar * a, const gchar * b);
gboolean wsp_address_parse (const gchar * address, gchar ** user,
    gchar ** host, guint * port, GError ** error);

typedef enum
{
  WSP_MESSAGE_INVITE,
  WSP_MESSAGE_RINGING,
  WSP_MESSAGE_OFFER,
  WSP_MESSAGE_ANSWER,
  WSP_MESSAGE_ICE_CANDIDATE,
  WSP_MESSAGE_BYE,
  WSP_MESSAGE_REGISTER,
  WSP_MESSAGE_REGISTERED,
} WspMessageType;

const gchar *wsp_message_type_to_keyword (WspMessageType type);

/* One side of a call. @name is NULL when absent. */
typedef struct
{
  gchar *uri;
  gchar *name;
} WspParty;

/**
 * WspMessage:
 * @type: which member of the union is valid
 * @invite: #WSP_MESSAGE_INVITE; @snapshot is NULL when absent
 * @sdp: #WSP_MESSAGE_OFFER and #WSP_MESSAGE_ANSWER
 * @ice: #WSP_MESSAGE_ICE_CANDIDATE; @sdp_mid is NULL and @sdp_mline_index
 *   -1 when absent; an empty @candidate ends the candidates
 * @bye: #WSP_MESSAGE_BYE; @description is NULL when absent
 * @registration: #WSP_MESSAGE_REGISTER and #WSP_MESSAGE_REGISTERED
 *
 * A WSP message. #WSP_MESSAGE_RINGING has no fields. The strings belong to
 * the message; free it with wsp_message_free().
 */
typedef struct
{
  WspMessageType type;
  union
  {
    struct
    {
      WspParty caller;
      WspParty callee;
      gchar *snapshot;
    } invite;
    struct
    {
      gchar *sdp;
    } sdp;
    struct
    {
      gchar *candidate;
      gchar *sdp_mid;
      gint sdp_mline_index;
    } ice;
    struct
    {
      WspByeCode code;
      gchar *description;
    } bye;
    struct
    {
      gchar *uri;
    } registration;
  };
} WspMessage;

/* Constructors copy their arguments. They check only that required strings
 * are given; wsp_message_validate() checks the values, and
 * wsp_message_serialize() refuses a message that fails it. */
WspMessage *wsp_message_new_invite (const gchar * caller_uri,
    const gchar * caller_name, const gchar * callee_uri,
    const gchar * callee_name, const gchar * snapshot);
WspMessage *wsp_message_new_ringing (void);
WspMessage *wsp_message_new_offer (const gchar * sdp);
WspMessage *wsp_message_new_answer (const gchar * sdp);
WspMessage *wsp_message_new_ice_candidate (const gchar * candidate,
    const gchar * sdp_mid, gint sdp_mline_index);
WspMessage *wsp_message_new_bye (WspByeCode code, const gchar * description);
WspMessage *wsp_message_new_register (const gchar * uri);
WspMessage *wsp_message_new_registered (const gchar * uri);

void wsp_message_free (WspMessage * msg);
gboolean wsp_message_equal (const WspMessage * a, const WspMessage * b);

/* Checks every value of @msg against the rules above (limits, text,
 * addresses, codes), with the same errors as wsp_message_parse(). */
gboolean wsp_message_validate (const WspMessage * msg, GError ** error);

/* Parses one message from @len bytes of @text (no terminating NUL needed).
 * On success stores a new message in @out; on failure sets @error in the
 * #WSP_ERROR domain and leaves @out alone. */
gboolean wsp_message_parse (const gchar * text, gsize len, WspMessage ** out,
    GError ** error);

/* The canonical JSON text of @msg: compact, members in the order of the
 * table above, absent optional members left out, content left out for
 * `ringing`. Whatever it returns parses back to an equal message. Returns
 * NULL (with a critical) if @msg fails wsp_message_validate(): check values
 * that come from outside first. */
gchar *wsp_message_serialize (const WspMessage * msg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WspMessage, wsp_message_free)

G_END_DECLS
