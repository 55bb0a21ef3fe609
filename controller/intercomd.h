/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intercomd's parts and what they offer each other. Everything here runs
 * on the main context (docs/intercomd.md). */

#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "wspio.h"
#include "wspprotocol.h"
#include "wsptransport.h"

G_BEGIN_DECLS

/* sysexits.h */
#define OI_EXIT_USAGE 64
#define OI_EXIT_DATAERR 65
#define OI_EXIT_UNAVAILABLE 69
#define OI_EXIT_SOFTWARE 70
#define OI_EXIT_CANTCREAT 73
#define OI_EXIT_CONFIG 78

/* config.c */

typedef struct
{
  gchar *name;
  gchar *password_hash;
  gboolean in_users_file;       /* else a [user NAME] group of the config */
} OiUser;

/* Another station this one calls and takes calls from ([peer NAME]). */
typedef struct
{
  gchar *name;
  gchar *host;                  /* host[:port] of its WSP addresses */
  gchar *token;                 /* bearer token, both ways */
  gchar *certificate;           /* pinned PEM, or NULL: the system CAs */
} OiPeer;

/* A door station elsewhere that registers at this one ([door NAME]): its
 * user here is NAME (NAME@host), its socket authenticated by its token. */
typedef struct
{
  gchar *name;
  gchar *display_name;
  gchar *token;
} OiRemoteDoor;

/* An ICE server of [ice] (ice.c). */
typedef enum
{
  OI_ICE_STUN,
  OI_ICE_TURN,
  OI_ICE_TURNS,
} OiIceKind;

typedef struct
{
  OiIceKind kind;
  gchar *uri;                   /* as written: stun:h:p, turn:h:p?transport= */
  gchar *host;
  guint port;
  gboolean tcp;
} OiIceServer;

/* A name=offset line map ("bell=17,in1=27"). */
typedef struct
{
  gchar *name;
  guint offset;
} OiLine;

typedef struct
{
  gchar *path;

  /* [station] */
  gchar *host;                  /* host[:port] of WSP addresses here */
  gchar *door_user;
  gchar *door_uri;              /* door_user@host */
  gchar *name;
  gchar *state_dir;
  gboolean home_server;         /* role=home-server: no door, media, GPIO */

  /* [server] */
  gchar *address;
  guint port;
  gchar *certificate;
  gchar *private_key;
  gchar *web_root;
  gchar *pipelines_dir;
  gboolean tls;
  guint session_idle, session_lifetime;         /* s */

  /* [media] */
  gchar *pipeline;              /* test | hardware (auto resolved) */
  gchar *video_device;
  gchar *audio_source_device;
  gchar *audio_sink_device;
  guint width, height, framerate, bitrate;
  gchar **codecs;
  gboolean echo_cancel;
  gboolean lip_sync;

  /* [gpio] */
  gchar *chip;                  /* "sim" or a chip (auto resolved) */
  GArray *inputs;               /* OiLine */
  GArray *relays;               /* OiLine */
  gchar *inputs_text, *relays_text;
  gboolean active_low;
  guint debounce;
  guint door_pulse;
  guint max_pulse;
  gboolean bell_relay;

  /* [calls] */
  gchar **ring;
  guint ring_timeout;
  guint max_call;
  guint peer_timeout;           /* s without a packet: the peer vanished */
  gchar **allow_callers;
  gboolean allow_callers_default;       /* absent: the users here (and home) */
  GPtrArray *allow_networks;    /* GInetAddressMask */

  /* [limits] */
  guint max_sockets_per_address, max_sockets, max_peers;
  guint login_failures, login_delay, login_max_delay;   /* -, s, s */

  /* [ice] */
  GPtrArray *ice_servers;       /* OiIceServer: the stun, then the turn */
  gchar *turn_user, *turn_password;     /* long-term credentials */
  gchar *turn_secret;           /* or: short-lived ones made from this */
  guint turn_ttl;               /* s, their lifetime */
  gboolean relay_only;
  gchar *local_addresses;

  /* [home-server]: where this door registers (home_url NULL: nowhere) */
  gchar *home_url;              /* wss://host[:port]/wsp */
  gchar *home_token;
  gchar *home_certificate;      /* pinned PEM, or NULL: the system CAs */
  gchar *home_user;             /* the door's user there */
  gchar *home_host;             /* host[:port] of the addresses there */
  gchar *home_uri;              /* home_user@home_host */

  GPtrArray *users;             /* OiUser: the config's, then the file's */
  GPtrArray *peers;             /* OiPeer */
  GPtrArray *doors;             /* OiRemoteDoor */
  gchar *users_path;            /* <state-dir>/users.conf */
  gchar *users_stamp;           /* that file's identity when read */
} OiConfig;

OiConfig *oi_config_load (const gchar * path, GError ** error);
/* The same from memory (the fuzzer); @path in the result is "(data)". */
OiConfig *oi_config_load_data (const gchar * data, gsize length,
    GError ** error);
void oi_config_free (OiConfig * config);
const OiUser *oi_config_find_user (const OiConfig * config,
    const gchar * name);
const OiLine *oi_config_find_line (GArray * lines, const gchar * name);
/* Whether @uri at @address may call the door: allow-callers and
 * allow-networks; @address NULL: a caller the home server vouches for
 * (the door's own registration there), allow-callers alone, which when
 * absent takes every user at the home server too. */
gboolean oi_config_caller_allowed (const OiConfig * config,
    const gchar * uri, GSocketAddress * address);
/* The peer station whose bearer token is @token (constant time), or
 * NULL. */
const OiPeer *oi_config_find_peer_by_token (const OiConfig * config,
    const gchar * token);
/* The door registering here whose bearer token is @token (constant
 * time), or NULL. */
const OiRemoteDoor *oi_config_find_door_by_token (const OiConfig * config,
    const gchar * token);
/* The names of the doors that register here, NULL-terminated. */
gchar **oi_config_door_names (const OiConfig * config);
/* Whether @uri is at this door's home server ([home-server]). */
gboolean oi_config_is_home_address (const OiConfig * config,
    const gchar * uri);
/* The peer station at @host (host[:port]), or NULL. */
const OiPeer *oi_config_find_peer_by_host (const OiConfig * config,
    const gchar * host);
/* Whether the users file changed since @config read it. */
gboolean oi_config_users_changed (const OiConfig * config);
/* Takes the users file as it is now as read (after a refused reload: not
 * retried at every request). */
void oi_config_mark_users_seen (OiConfig * config);
/* The user names, NULL-terminated (for the router). */
gchar **oi_config_user_names (const OiConfig * config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiConfig, oi_config_free)

/* ice.c: ICE servers */

/* A stun:, turn: or turns: URI (host[:port], ?transport=udp|tcp). */
OiIceServer *oi_ice_server_parse (const gchar * text, GError ** error);
void oi_ice_server_free (OiIceServer * server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OiIceServer, oi_ice_server_free)
/* The TURN credentials for @name at @now_s (s since the epoch): the
 * config's long-term ones, or short-lived ones from turn-secret. */
void oi_ice_credentials (const OiConfig * config, const gchar * name,
    gint64 now_s, gchar ** user, gchar ** password);
/* @server as webrtcbin's stun-server / turn-server take it. */
gchar *oi_ice_webrtcbin_uri (const OiIceServer * server, const gchar * user,
    const gchar * password);
/* Adds "iceServers" (RTCConfiguration's, with credentials for @name) and
 * "iceTransportPolicy" to @builder. */
void oi_ice_add_browser_json (const OiConfig * config, const gchar * name,
    JsonBuilder * builder);

/* io.c: the IO pipeline, always running */

typedef struct _OiIo OiIo;

typedef enum
{
  OI_IO_INPUT,
  OI_IO_RELAY,
} OiIoEventKind;

/* An input edge or a relay change; @time in ms since the epoch. */
typedef void (*OiIoEventFunc) (OiIoEventKind kind, const gchar * name,
    gboolean active, gint64 time, gpointer user_data);

OiIo *oi_io_new (const OiConfig * config, OiIoEventFunc func,
    gpointer user_data, GError ** error);
void oi_io_free (OiIo * io);
/* The current state as an io `state` message. */
WspIoMessage *oi_io_get_state (OiIo * io);
/* Adds "inputs" and "relays" objects to @builder. */
void oi_io_add_state_json (OiIo * io, JsonBuilder * builder);
/* A relay command from @who (a WSP address, "bell-button", ...) in call
 * @call_id (0: none): checks the policy, drives the relay, audits.
 * Returns TRUE if accepted; else sets @code and @description for an io
 * `error`. */
gboolean oi_io_relay_command (OiIo * io, const WspIoMessage * command,
    const gchar * who, guint call_id, guint * code, gchar ** description);
gboolean oi_io_is_simulated (OiIo * io);
/* Sets a simulated input (by name) to @active; FALSE: unknown name or no
 * simulated chip. */
gboolean oi_io_sim_set_input (OiIo * io, const gchar * name,
    gboolean active);
/* With the simulated chip: adds one object per relay, read from the chip
 * itself: {"active", "changes" (output changes since the chip was made),
 * "changed" (µs since the epoch of the last change, 0: never)}. */
void oi_io_add_sim_relays_json (OiIo * io, JsonBuilder * builder);
/* Writes an audit line (log and <state-dir>/audit.log). */
void oi_io_audit (OiIo * io, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

/* calls.c */

typedef struct _OiCalls OiCalls;

/* The door's own caller elements reach this station's home server in
 * the process (wsptransport.h, "In-process WSP"), as this name. */
#define OI_HOME_SERVER_NAME "intercomd"

OiCalls *oi_calls_new (const OiConfig * config, OiIo * io);
void oi_calls_free (OiCalls * calls);
gchar *oi_calls_pipeline_text (const OiConfig * config, const gchar ** codec,
    GError ** error);
void oi_calls_set_config (OiCalls * calls, const OiConfig * config);
/* The bell was pressed: mode 1. */
void oi_calls_bell (OiCalls * calls);
/* An input or relay event, for every call's io channels. */
void oi_calls_io_event (OiCalls * calls, OiIoEventKind kind,
    const gchar * name, gboolean active, gint64 time);
/* An invite for the door (mode 2), authenticated as @identity. */
void oi_calls_incoming (OiCalls * calls, WspConnection * connection,
    const WspMessage * invite, const gchar * identity);
/* An invite for the door that came over its registration at its home
 * server (uplink.c): @invite's caller is the one the home server vouches
 * for; the allow-lists see that identity (see oi_config_caller_allowed()). */
void oi_calls_incoming_from_home (OiCalls * calls, WspConnection * connection,
    const WspMessage * invite);
void oi_calls_hangup_all (OiCalls * calls);
/* Appends the calls array to @builder ("calls": [...]). */
void oi_calls_add_state_json (OiCalls * calls, JsonBuilder * builder);
void oi_calls_add_history_json (OiCalls * calls, JsonBuilder * builder);
/* The snapshot of history entry @id, or NULL. */
GBytes *oi_calls_get_snapshot (OiCalls * calls, guint id);
/* Ends every call and waits for the pipeline to stop. */
void oi_calls_shutdown (OiCalls * calls);

/* uplink.c: the door's registration at its home server ([home-server]) */

typedef struct _OiUplink OiUplink;

OiUplink *oi_uplink_new (const OiConfig * config, OiCalls * calls);
void oi_uplink_free (OiUplink * uplink);
/* A reload: registers again if the [home-server] settings changed. */
void oi_uplink_set_config (OiUplink * uplink, const OiConfig * config);

/* server.c */

typedef struct _OiServer OiServer;

/* Called when the users file changed since the config was read (seen at
 * a login or a request): the daemon reloads its config. */
typedef void (*OiServerUsersFunc) (gpointer user_data);

OiServer *oi_server_new (const OiConfig * config, OiIo * io,
    OiCalls * calls, OiServerUsersFunc users_changed, gpointer user_data,
    GError ** error);
void oi_server_free (OiServer * server);
void oi_server_set_config (OiServer * server, const OiConfig * config);
/* The URL to print ("https://127.0.0.1:8443/"). */
gchar *oi_server_get_url (OiServer * server);

G_END_DECLS
