/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to the calls module (calls.c, peers.c, media.c, history.c): a
 * call, its peers, the history's entries, and the functions each file
 * gives the others. The module's public API is OiCalls in intercomd.h. */

#ifndef OI_CALLS_PRIVATE_H
#define OI_CALLS_PRIVATE_H

#include "intercomd.h"

G_BEGIN_DECLS

/* how long the last audio level counts as current */
#define LEVEL_WINDOW_US (G_USEC_PER_SEC)

typedef enum
{
  MODE_BELL,
  MODE_DOOR,
} CallMode;

typedef enum
{
  ROLE_TARGET,                  /* mode 1: a ring target, not yet answered */
  ROLE_MAIN,
  ROLE_VIEWER,
} PeerRole;

typedef struct _Call Call;

typedef struct
{
  guint id;
  OiCalls *calls;
  Call *call;
  guint call_id;                /* call->id, for any thread */
  GstElement *signaller;
  gchar *uri;
  PeerRole role;
  gboolean connected;
  gboolean io_open;
  gboolean ended;
  GPtrArray *tee_pads;          /* requested tee pads feeding it */
  GPtrArray *extra;             /* fakesinks for audio we don't play */
} Peer;

struct _Call
{
  OiCalls *calls;
  guint id;
  CallMode mode;
  gint64 started;               /* ms epoch */
  gint64 answered_at;           /* monotonic µs, 0 before */
  gchar *codec;
  GstElement *pipeline;
  GstElement *video_tee, *audio_tee, *speaker;
  guint bus_watch;
  GPtrArray *peers;             /* Peer */
  GPtrArray *peer_uris;         /* for the history */
  GBytes *snapshot;
  GCancellable *cancellable;
  guint ring_timer, max_timer;
  gdouble level_db;
  gint64 level_time;
  gboolean answered;
  gboolean ending;
  gboolean lost;                /* ended as its main peer vanished */
  gint end_code;
  GThread *teardown;            /* stopping the pipeline, off the main loop */
  gint64 ended_at;              /* monotonic µs */
};

typedef struct
{
  guint id;
  gint64 time;
  CallMode mode;
  gchar **peers;
  gboolean answered;
  guint duration;
  gint end_code;
  gboolean lost;
  GBytes *snapshot;
} HistoryEntry;

/* A call to the door that came while the last call's pipeline stopped:
 * accepted once it has (the camera and sound card are free again). */
typedef struct
{
  WspConnection *connection;
  gchar *caller;                /* the socket's identity (the router) */
  gchar *callee;
} PendingInvite;

struct _OiCalls
{
  const OiConfig *config;
  OiIo *io;
  Call *call;                   /* at most one */
  GPtrArray *stopping;          /* Call: ended, their pipelines stopping */
  gboolean bell_pending;        /* pressed while a pipeline stopped */
  gboolean shutting_down;
  GPtrArray *pending_invites;   /* PendingInvite, likewise */
  guint next_call_id;
  guint next_peer_id;
  GQueue history;               /* HistoryEntry, newest first */
  GMutex lock;                  /* Peer.extra, added to on streaming threads */
};

/* calls.c: a call's life */
void oi_call_end (OiCalls * self, gint code, const gchar * why);
const gchar *oi_call_mode_name (CallMode mode);

/* peers.c: a call's peers, one wspsignaller each, and their io channel */
Peer *oi_peer_add (OiCalls * self, Call * call, const gchar * uri,
    PeerRole role);
gboolean oi_peer_start (Call * call, Peer * peer);
void oi_peer_free (Peer * peer);
Peer *oi_peer_find_by_element (Call * call, GstObject * element);
void oi_peer_connected (OiCalls * self, Call * call, Peer * peer);
void oi_peer_ended (OiCalls * self, Call * call, Peer * peer, gint code,
    const gchar * description, gboolean remote, gboolean lost);
void oi_peer_send_io (Peer * peer, WspIoMessage * message);
guint oi_peer_count (Call * call, gboolean targets);

/* media.c: the call pipeline, its snapshot and level, memory */
GstElement *oi_media_build_pipeline (OiCalls * self, Call * call,
    GError ** error);
void oi_media_start_snapshot (OiCalls * self, Call * call,
    GstElement * snapshot);
void oi_media_on_level (Call * call, const GstStructure * s);
void oi_media_warm_up (const OiConfig * c);
void oi_media_trim_memory (void);

/* history.c: the calls that ended */
void oi_history_add (OiCalls * self, Call * call);
void oi_history_entry_free (gpointer data);

G_END_DECLS

#endif /* OI_CALLS_PRIVATE_H */
