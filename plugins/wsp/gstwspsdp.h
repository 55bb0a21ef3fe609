/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a remote offer for the answerer side of wspsignaller: which
 * m-line and payload type carry a codec we send (DESIGN pitfalls 3-6: take
 * the payload type from the offer's own a=rtpmap lines). */
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

G_BEGIN_DECLS

typedef struct
{
  guint mline;
  gint payload;                 /* -1: not found */
  gint clock_rate;
  GstWebRTCRTPTransceiverDirection offered;     /* as the offer says */
  /* H.264: the format's profile-level-id ("42e01f"), empty if none. The
   * answer's caps must carry it: webrtcbin answers only formats whose caps
   * intersect the offer's, and x264 says 42c01e where Chromium offers
   * 42e01f (a decoder of the offer's level decodes the stream). */
  gchar profile_level_id[7];
} GstWspSdpMatch;

/* Finds the first m-line of @kind ("audio", "video") not in @used (a
 * bitmask of m-line indices) that offers @encoding_name (case-insensitive),
 * and its payload type. For H264, a packetization-mode=1 constrained
 * baseline format is preferred. */
gboolean gst_wsp_sdp_find_codec (const GstSDPMessage * sdp, const gchar * kind,
    const gchar * encoding_name, guint64 used, GstWspSdpMatch * match);

/* Whether @media is rejected (port 0 and not bundle-only). */
gboolean gst_wsp_sdp_media_rejected (const GstSDPMedia * media);

/* The direction the offer gives m-line @mline (sendrecv if none). */
GstWebRTCRTPTransceiverDirection gst_wsp_sdp_direction (const GstSDPMedia *
    media);

/* Caps for receiving what m-line @media offers in its first format, for a
 * recvonly transceiver, or NULL. */
GstCaps *gst_wsp_sdp_recv_caps (const GstSDPMedia * media);

G_END_DECLS
