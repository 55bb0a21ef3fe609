/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SDP reading for a wspsignaller (gstwspsdp.h): an m-line's direction and
 * whether it was rejected, the payload type of a codec in an offer (H.264
 * by its profile), and the caps to receive a stream with. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwspsdp.h"

#include <stdlib.h>
#include <string.h>

GstWebRTCRTPTransceiverDirection
gst_wsp_sdp_direction (const GstSDPMedia * media)
{
  static const struct
  {
    const gchar *attribute;
    GstWebRTCRTPTransceiverDirection direction;
  } directions[] = {
    {"sendrecv", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV},
    {"sendonly", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY},
    {"recvonly", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY},
    {"inactive", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE},
  };

  for (guint i = 0; i < G_N_ELEMENTS (directions); i++) {
    if (gst_sdp_media_get_attribute_val (media, directions[i].attribute))
      return directions[i].direction;
  }
  return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV;
}

gboolean
gst_wsp_sdp_media_rejected (const GstSDPMedia * media)
{
  /* Port 0 rejects an m-line, unless it is bundled with another
   * (max-bundle offers say so with a=bundle-only). */
  return gst_sdp_media_get_port (media) == 0 &&
      gst_sdp_media_get_attribute_val (media, "bundle-only") == NULL;
}

/* "96 VP8/90000" -> 96, "VP8", 90000 */
static gboolean
parse_rtpmap (const gchar * value, gint * pt, gchar ** name, gint * rate)
{
  g_auto (GStrv) parts = g_strsplit_set (value, " /", 4);

  if (g_strv_length (parts) < 3)
    return FALSE;
  *pt = atoi (parts[0]);
  *name = g_strdup (parts[1]);
  *rate = atoi (parts[2]);
  return *pt >= 0 && *pt <= 127 && *rate > 0;
}

static const gchar *
fmtp_for (const GstSDPMedia * media, gint pt)
{
  g_autofree gchar *prefix = g_strdup_printf ("%d ", pt);
  const gchar *value;

  for (guint i = 0;
      (value = gst_sdp_media_get_attribute_val_n (media, "fmtp", i)); i++) {
    if (g_str_has_prefix (value, prefix))
      return value + strlen (prefix);
  }
  return NULL;
}

/* The 6 hex digits of @fmtp's profile-level-id into @out, or FALSE. */
static gboolean
h264_profile_level_id (const gchar * fmtp, gchar out[7])
{
  const gchar *p = fmtp ? strstr (fmtp, "profile-level-id=") : NULL;

  if (p == NULL)
    return FALSE;
  p += strlen ("profile-level-id=");
  for (guint i = 0; i < 6; i++) {
    if (!g_ascii_isxdigit (p[i]))
      return FALSE;
    out[i] = g_ascii_tolower (p[i]);
  }
  out[6] = '\0';
  return TRUE;
}

/* How well an H264 format suits x264's constrained baseline output:
 * packetization-mode=1 first, then the baseline profile (42), then its
 * constrained variant (constraint_set1, 0x40 in the second byte). */
static gint
h264_score (const gchar * fmtp)
{
  gchar id[7];
  gint score = 0;

  if (fmtp == NULL)
    return 0;
  if (strstr (fmtp, "packetization-mode=1"))
    score += 4;
  if (h264_profile_level_id (fmtp, id) && g_str_has_prefix (id, "42")) {
    score += 2;
    if (g_ascii_xdigit_value (id[2]) & 0x4)
      score += 1;
  }
  return score;
}

gboolean
gst_wsp_sdp_find_codec (const GstSDPMessage * sdp, const gchar * kind,
    const gchar * encoding_name, guint64 used, GstWspSdpMatch * match)
{
  gboolean is_h264 = g_ascii_strcasecmp (encoding_name, "H264") == 0;

  for (guint m = 0; m < gst_sdp_message_medias_len (sdp) && m < 64; m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
    const gchar *value;
    gint best_score = -1;

    if ((used & (G_GUINT64_CONSTANT (1) << m)) ||
        g_strcmp0 (gst_sdp_media_get_media (media), kind) != 0 ||
        gst_wsp_sdp_media_rejected (media))
      continue;

    match->payload = -1;
    for (guint i = 0;
        (value = gst_sdp_media_get_attribute_val_n (media, "rtpmap", i));
        i++) {
      g_autofree gchar *name = NULL;
      gint pt, rate, score;

      if (!parse_rtpmap (value, &pt, &name, &rate) ||
          g_ascii_strcasecmp (name, encoding_name) != 0)
        continue;
      score = is_h264 ? h264_score (fmtp_for (media, pt)) : 0;
      if (score > best_score) {
        best_score = score;
        match->payload = pt;
        match->clock_rate = rate;
        if (!is_h264 || !h264_profile_level_id (fmtp_for (media, pt),
                match->profile_level_id))
          match->profile_level_id[0] = '\0';
      }
    }
    if (match->payload >= 0) {
      match->mline = m;
      match->offered = gst_wsp_sdp_direction (media);
      return TRUE;
    }
  }
  return FALSE;
}

GstCaps *
gst_wsp_sdp_recv_caps (const GstSDPMedia * media)
{
  const gchar *format = gst_sdp_media_get_format (media, 0);
  const gchar *value;
  gint want = format ? atoi (format) : -1;

  for (guint i = 0;
      (value = gst_sdp_media_get_attribute_val_n (media, "rtpmap", i)); i++) {
    g_autofree gchar *name = NULL;
    g_autofree gchar *upper = NULL;
    gint pt, rate;

    if (!parse_rtpmap (value, &pt, &name, &rate) || pt != want)
      continue;
    upper = g_ascii_strup (name, -1);
    return gst_caps_new_simple ("application/x-rtp",
        "media", G_TYPE_STRING, gst_sdp_media_get_media (media),
        "encoding-name", G_TYPE_STRING, upper,
        "payload", G_TYPE_INT, pt, "clock-rate", G_TYPE_INT, rate, NULL);
  }
  return NULL;
}
