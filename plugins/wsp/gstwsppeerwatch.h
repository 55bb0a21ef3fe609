/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether the peer of a connected call is still there: every packet the
 * peer sends (RTP, RTCP, DTLS, SCTP) leaves webrtcbin's nicesrc; when
 * none has come for the timeout, the peer has vanished (a closed tab or
 * browser, a killed process, a lost network, a suspended phone) — webrtcbin
 * 1.22 reports none of these once the call is up. A WebRTC peer in a call
 * always sends RTCP (RFC 3550: at least every 5 s x 1.5 randomisation; a
 * browser every second or faster) and the main peer sends audio, so no
 * signalling-level ping is needed, and a plain WSP 1.0 peer is watched the
 * same way. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstWspPeerWatch GstWspPeerWatch;

/* Called on @context once, when no packet has come for the timeout; the
 * watch is then stopped (free it as usual). @silent_ms: how long. */
typedef void (*GstWspPeerWatchFunc) (gpointer user_data, guint silent_ms);

/* Watches the packets that @webrtcbin receives from the network (probes
 * on its nicesrc elements, added now: call it once ICE connected). The
 * silence is checked on @context every @timeout_ms / 32 (at least 50 ms,
 * at most 250 ms). NULL, with a warning, if @webrtcbin has no nicesrc. */
GstWspPeerWatch *gst_wsp_peer_watch_new (GstElement * webrtcbin,
    guint timeout_ms, GMainContext * context, GstWspPeerWatchFunc func,
    gpointer user_data);

/* Removes the probes and the timer; @func is not called after it returns
 * (call it on @context). NULL is ignored. */
void gst_wsp_peer_watch_free (GstWspPeerWatch * watch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstWspPeerWatch, gst_wsp_peer_watch_free);

G_END_DECLS
