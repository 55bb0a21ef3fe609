/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A call's media: its pipeline, made from pipelines/<variant>.pipeline
 * with the encoder for the first configured codec this system has; the
 * ring's snapshot, taken on a worker thread while the ring targets
 * connect; the audio level; and the warm start that loads at start what
 * the first call would otherwise wait for. */

#include "calls-private.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define SNAPSHOT_TIMEOUT (GST_SECOND)
#define SNAPSHOT_WIDTH 320

static gboolean
have (const gchar * factory)
{
  g_autoptr (GstElementFactory) f = gst_element_factory_find (factory);

  return f != NULL;
}

/* The encoder and payloader for the first configured codec this system
 * can encode; NULL if none. */
static gchar *
video_encoder (const OiConfig * c, const gchar ** codec)
{
  for (guint i = 0; c->codecs[i]; i++) {
    if (g_str_equal (c->codecs[i], "h264")) {
      const gchar *pay = "h264parse ! rtph264pay pt=102 config-interval=-1 "
          "aggregate-mode=zero-latency";

      *codec = "h264";
      if (g_str_equal (c->pipeline, "hardware") && have ("v4l2h264enc"))
        return g_strdup_printf ("v4l2h264enc extra-controls=controls,"
            "video_bitrate=%u,h264_i_frame_period=60 ! "
            "video/x-h264,level=(string)4,profile=constrained-baseline ! %s",
            c->bitrate * 1000, pay);
      if (have ("x264enc"))
        return g_strdup_printf ("x264enc tune=zerolatency "
            "speed-preset=ultrafast bitrate=%u key-int-max=60 ! "
            "video/x-h264,profile=constrained-baseline ! %s", c->bitrate, pay);
      if (have ("openh264enc"))
        return g_strdup_printf ("openh264enc bitrate=%u complexity=low "
            "rate-control=bitrate gop-size=60 ! "
            "video/x-h264,profile=constrained-baseline ! %s",
            c->bitrate * 1000, pay);
    } else if (g_str_equal (c->codecs[i], "vp8") && have ("vp8enc")) {
      *codec = "vp8";
      return g_strdup_printf ("vp8enc deadline=1 cpu-used=8 end-usage=cbr "
          "target-bitrate=%u error-resilient=partitions "
          "keyframe-max-dist=60 ! rtpvp8pay pt=96", c->bitrate * 1000);
    }
  }
  return NULL;
}

/* ${name} -> value; an unknown name is an error (a typo in the file). */
static gchar *
substitute (const gchar * text, GHashTable * vars, GError ** error)
{
  GString *out = g_string_new (NULL);
  const gchar *p = text;

  while (*p) {
    const gchar *start = strstr (p, "${"), *end;
    g_autofree gchar *name = NULL;
    const gchar *value;

    if (start == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, start - p);
    end = strchr (start, '}');
    if (end == NULL)
      goto bad;
    name = g_strndup (start + 2, end - start - 2);
    if (!(value = g_hash_table_lookup (vars, name)))
      goto bad;
    g_string_append (out, value);
    p = end + 1;
    continue;

  bad:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "unknown or unterminated variable at \"%.20s\"", start);
    g_string_free (out, TRUE);
    return NULL;
  }
  return g_string_free (out, FALSE);
}

/* The call pipeline's gst-launch text for `c`: its file with the comments
 * removed and the variables filled in; `codec` gets the video codec. */
gchar *
oi_calls_pipeline_text (const OiConfig * c, const gchar ** codec,
    GError ** error)
{
  g_autoptr (GHashTable) vars = g_hash_table_new_full (g_str_hash,
      g_str_equal, NULL, g_free);
  g_autofree gchar *file = g_strdup_printf ("%s/%s.pipeline",
      c->pipelines_dir, c->pipeline);
  g_autofree gchar *text = NULL;
  g_autoptr (GString) stripped = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  gchar *encoder, *launch;
  gboolean aec = c->echo_cancel && have ("webrtcdsp");

  if (!g_file_get_contents (file, &text, NULL, error))
    return NULL;
  /* '#' comments to the end of a line */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    gchar *hash = strchr (lines[i], '#');

    if (hash)
      *hash = '\0';
    g_string_append_printf (stripped, "%s\n", lines[i]);
  }

  encoder = video_encoder (c, codec);
  if (encoder == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no encoder for [media] codecs (x264enc, openh264enc or vp8enc)");
    return NULL;
  }
  g_hash_table_insert (vars, "video_encoder", encoder);
  g_hash_table_insert (vars, "width", g_strdup_printf ("%u", c->width));
  g_hash_table_insert (vars, "height", g_strdup_printf ("%u", c->height));
  g_hash_table_insert (vars, "framerate", g_strdup_printf ("%u",
          c->framerate));
  g_hash_table_insert (vars, "bitrate", g_strdup_printf ("%u", c->bitrate));
  /* checked by the config: plain names only (no quotes, '!' or spaces) */
  g_hash_table_insert (vars, "video_device", g_strdup (c->video_device));
  g_hash_table_insert (vars, "audio_source_device",
      g_strdup (c->audio_source_device));
  g_hash_table_insert (vars, "audio_sink_device",
      g_strdup (c->audio_sink_device));
  g_hash_table_insert (vars, "aec", g_strdup (aec ?
          "webrtcdsp name=aec probe=echoprobe echo-cancel=true "
          "noise-suppression=true ! " : ""));
  g_hash_table_insert (vars, "aec_probe", g_strdup (aec ?
          "webrtcechoprobe name=echoprobe ! " : ""));

  launch = substitute (stripped->str, vars, error);
  if (launch == NULL)
    g_prefix_error (error, "%s: ", file);
  return launch;
}

GstElement *
oi_media_build_pipeline (OiCalls * self, Call * call, GError ** error)
{
  const gchar *codec = NULL;
  g_autofree gchar *launch = oi_calls_pipeline_text (self->config, &codec,
      error);

  if (launch == NULL)
    return NULL;
  call->codec = g_strdup (codec);
  g_debug ("call pipeline: %s", launch);
  return gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      error);
}

void
oi_media_on_level (Call * call, const GstStructure * s)
{
  const GValue *rms = gst_structure_get_value (s, "rms");
  gdouble max = -G_MAXDOUBLE;

  if (rms == NULL)
    return;
  /* level's fields are GValueArrays, deprecated in GLib, not in level */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
  if (G_VALUE_HOLDS (rms, g_value_array_get_type ())) {
    GValueArray *array = g_value_get_boxed (rms);

    for (guint i = 0; i < array->n_values; i++)
      max = MAX (max, g_value_get_double (g_value_array_get_nth (array, i)));
  }
  G_GNUC_END_IGNORE_DEPRECATIONS;
  if (max == -G_MAXDOUBLE)
    return;
  if (call->level_time < g_get_monotonic_time () - LEVEL_WINDOW_US
      || max > call->level_db)
    call->level_db = max;
  call->level_time = g_get_monotonic_time ();
}

typedef struct
{
  OiCalls *self;
  guint call_id;
} SnapshotJob;

static void
take_snapshot (GTask * task, gpointer source, gpointer data,
    GCancellable * cancellable)
{
  GstAppSink *sink = data;
  g_autoptr (GstSample) sample = gst_app_sink_try_pull_sample (sink,
      SNAPSHOT_TIMEOUT);
  g_autoptr (GstSample) jpeg = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GError) error = NULL;
  GstMapInfo map;
  GBytes *bytes;

  if (sample == NULL) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "no video frame within a second");
    return;
  }
  caps = gst_caps_new_simple ("image/jpeg", "width", G_TYPE_INT,
      SNAPSHOT_WIDTH, NULL);
  jpeg = gst_video_convert_sample (sample, caps, SNAPSHOT_TIMEOUT, &error);
  if (jpeg == NULL || !gst_buffer_map (gst_sample_get_buffer (jpeg), &map,
          GST_MAP_READ)) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
        "cannot encode the snapshot: %s", error ? error->message : "?");
    return;
  }
  bytes = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (gst_sample_get_buffer (jpeg), &map);
  g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/* The snapshot (or NULL) is ready: the held invites go. */
static void
release_targets (Call * call, const gchar * snapshot_uri)
{
  for (guint i = 0; i < call->peers->len; i++) {
    Peer *peer = g_ptr_array_index (call->peers, i);

    if (peer->role == ROLE_TARGET)
      g_object_set (peer->signaller, "snapshot", snapshot_uri, "hold-invite",
          FALSE, NULL);
  }
}

static void
snapshot_done (GObject * source, GAsyncResult * result, gpointer data)
{
  SnapshotJob *job = data;
  OiCalls *self = job->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) jpeg = g_task_propagate_pointer (G_TASK (result),
      &error);
  g_autofree gchar *b64 = NULL;
  g_autofree gchar *data_uri = NULL;
  Call *call = self->call;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || call == NULL || call->id != job->call_id || call->ending) {
    g_free (job);
    return;
  }
  g_free (job);
  if (jpeg) {
    b64 = g_base64_encode (g_bytes_get_data (jpeg, NULL),
        g_bytes_get_size (jpeg));
    data_uri = g_strconcat ("data:image/jpeg;base64,", b64, NULL);
    /* The history keeps the visitor who rang first. */
    if (call->snapshot == NULL)
      call->snapshot = g_bytes_ref (jpeg);
  } else {
    g_warning ("call %u: ringing without a snapshot: %s", call->id,
        error->message);
  }
  release_targets (call, data_uri);
}

/* The snapshot for the ring targets' invites, on a worker thread. */
void
oi_media_start_snapshot (OiCalls * self, Call * call, GstElement * snapshot)
{
  SnapshotJob *job = g_new0 (SnapshotJob, 1);
  GTask *task;

  job->self = self;
  job->call_id = call->id;
  task = g_task_new (NULL, call->cancellable, snapshot_done, job);
  g_task_set_task_data (task, gst_object_ref (snapshot), gst_object_unref);
  g_task_run_in_thread (task, take_snapshot);
  g_object_unref (task);
}

void
oi_media_trim_memory (void)
{
#ifdef __GLIBC__
  /* A call's buffers, encoder and threads are gone: hand the free pages
   * back now, not at some later allocation (BENCHMARKS.md, RSS). */
  malloc_trim (0);
#endif
}

/* Whether the bell rings another station (over TLS). */
static gboolean
rings_elsewhere (const OiConfig * c)
{
  for (guint i = 0; c->ring[i]; i++) {
    const gchar *at = strchr (c->ring[i], '@');

    if (at && g_ascii_strcasecmp (at + 1, c->host) != 0)
      return TRUE;
  }
  return FALSE;
}

/* Load every library a call needs now, not at the first ring: making the
 * call's elements (left in NULL) and a signaller loads their plugins and
 * the codecs', which the first visitor after a start would otherwise wait
 * for, at the price of idle RSS. Not dtlsdec: its first instance
 * generates the process's DTLS certificate, paid by the first call after
 * a start, and having it here would cost more idle RSS still. The TLS
 * client only when the bell rings another station: this station's own
 * users are reached in the process (4 MB of idle RSS, mostly the parsed
 * CA bundle), once. Called at start and at each reload (a new encoder, a
 * first ring target at another station); what is loaded already costs
 * little. Figures and how they were taken: BENCHMARKS.md. Errors show at
 * the call. */
void
oi_media_warm_up (const OiConfig * c)
{
  static const gchar *features[] = { "wspsignaller",
    /* the snapshot's conversion */
    "videoconvertscale", "jpegenc", NULL
  };
  gint64 start = g_get_monotonic_time ();
  const gchar *codec = NULL;
  g_autofree gchar *text = oi_calls_pipeline_text (c, &codec, NULL);
  GstElement *pipeline = text ? gst_parse_launch_full (text, NULL,
      GST_PARSE_FLAG_FATAL_ERRORS, NULL) : NULL;
  static gboolean tls_warm = FALSE;
  GTlsBackend *backend;
  GTlsDatabase *database;

  gst_clear_object (&pipeline);
  for (guint i = 0; features[i]; i++) {
    GstElement *element = gst_element_factory_make (features[i], NULL);

    gst_clear_object (&element);
  }
  /* The ring's WebSocket client: its session's and TLS client's classes,
   * and the default TLS database (the system CA bundle, parsed), which the
   * first TLS client connection of a process otherwise makes even when it
   * pins its peer, making the first ring's connection the slowest. (Each
   * connection still parses the bundle once more in glib-networking's own
   * set-up: docs/intercomd.md.) */
  if (!tls_warm && rings_elsewhere (c)) {
    tls_warm = TRUE;
    g_object_unref (soup_session_new ());
    backend = g_tls_backend_get_default ();
    g_type_ensure (g_tls_backend_get_client_connection_type (backend));
    database = g_tls_backend_get_default_database (backend);
    if (database)
      g_tls_backend_set_default_database (backend, database);
    g_clear_object (&database);
  }
  /* What the parse and the elements freed goes back now. */
  oi_media_trim_memory ();
  g_debug ("warm start: %" G_GINT64_FORMAT " ms",
      (g_get_monotonic_time () - start) / 1000);
}
