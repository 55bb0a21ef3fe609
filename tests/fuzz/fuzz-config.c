/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for intercomd's config parser (controller/config.c,
 * oi_config_load_data).
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * daemon relies on once a config is accepted: the ranges and pairings
 * validate() promises, the values spliced into gst-launch descriptions
 * are plain, the fields the daemon dereferences without a check are set.
 * A refusal leaves no config and says why. The verdict does not change
 * from one parse to the next. A g_critical is a bug in the parser and is
 * made fatal; any violation aborts, which libFuzzer reports as a crash.
 *
 * Only the public API and the OiConfig fields, so that new keys do not
 * break it. */

#include "intercomd.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);

/* What check_plain() in config.c lets through. */
static gboolean
is_plain (const gchar * value)
{
  if (value == NULL)
    return TRUE;
  for (const gchar * p = value; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("/._-:,=@+", *p))
      return FALSE;
  return TRUE;
}

static gboolean
has_line (GArray * lines, const gchar * name)
{
  for (guint i = 0; i < lines->len; i++)
    if (g_str_equal (g_array_index (lines, OiLine, i).name, name))
      return TRUE;
  return FALSE;
}

static void
check_lines (GArray * lines, const gchar * what)
{
  fuzz_check (lines != NULL, what);
  for (guint i = 0; i < lines->len; i++) {
    const OiLine *line = &g_array_index (lines, OiLine, i);

    fuzz_check (line->name != NULL && wsp_io_name_is_valid (line->name), what);
    fuzz_check (line->offset <= 1023, what);
  }
}

static void
check_config (const OiConfig * c)
{
  fuzz_check (c->port >= 1 && c->port <= 65535, "port out of range");
  fuzz_check (c->door_pulse <= c->max_pulse, "door-pulse over max-pulse");

  fuzz_check (c->pipeline != NULL, "no pipeline");
  fuzz_check (g_str_equal (c->pipeline, "test")
      || g_str_equal (c->pipeline, "hardware"),
      "pipeline is neither test nor hardware");
  fuzz_check (c->chip != NULL, "no chip");

  fuzz_check (is_plain (c->video_device), "video-device is not plain");
  fuzz_check (is_plain (c->audio_source_device),
      "audio-source-device is not plain");
  fuzz_check (is_plain (c->audio_sink_device), "audio-sink-device is not plain");
  fuzz_check (is_plain (c->chip), "chip is not plain");
  fuzz_check (is_plain (c->local_addresses), "local-addresses is not plain");

  fuzz_check (c->codecs != NULL && c->codecs[0] != NULL, "no codec");
  for (guint i = 0; c->codecs[i]; i++)
    fuzz_check (g_str_equal (c->codecs[i], "h264")
        || g_str_equal (c->codecs[i], "vp8"), "codec not h264 or vp8");

  check_lines (c->inputs, "bad input line");
  check_lines (c->relays, "bad relay line");
  fuzz_check (has_line (c->inputs, "bell"), "no bell input");

  fuzz_check (c->users != NULL, "no user array");
  for (guint i = 0; i < c->users->len; i++) {
    const OiUser *user = g_ptr_array_index (c->users, i);

    fuzz_check (user->name != NULL && user->name[0] != '\0', "empty user name");
    fuzz_check (user->password_hash != NULL, "user without a hash");
  }

  fuzz_check (c->door_uri != NULL, "no door uri");
  fuzz_check (wsp_address_is_valid (c->door_uri), "door uri is not a WSP address");
  fuzz_check (c->ring != NULL && c->allow_callers != NULL
      && c->allow_networks != NULL, "a list left NULL");
}

/* A critical is a bug, not a refusal. abort(), not G_DEBUG=fatal-criticals:
 * that one raises SIGTRAP, which libFuzzer does not catch, so the input
 * would be lost. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField * fields, gsize n_fields,
    gpointer user_data)
{
  GLogWriterOutput ret = g_log_writer_default (level, fields, n_fields,
      user_data);

  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    abort ();
  return ret;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_writer_func (log_writer, NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  g_autoptr (OiConfig) config = NULL;
  g_autoptr (OiConfig) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error_again = NULL;

  config = oi_config_load_data ((const gchar *) data, size, &error);
  again = oi_config_load_data ((const gchar *) data, size, &error_again);
  fuzz_check ((config == NULL) == (again == NULL), "verdict changed");

  if (config == NULL) {
    fuzz_check (error != NULL && error->message != NULL
        && error->message[0] != '\0', "refusal without a message");
    fuzz_check (error_again != NULL
        && g_str_equal (error->message, error_again->message),
        "refusal message changed");
    return 0;
  }

  fuzz_check (error == NULL && error_again == NULL, "accepted with an error");
  check_config (config);
  return 0;
}
