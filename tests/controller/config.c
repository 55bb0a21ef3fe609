/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* intercomd's config (controller/config.c): defaults, the example in
 * data/, and refusals that name the group and key, including every value
 * that could add text to the call's gst-launch description. */

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

#include "intercomd.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

static OiConfig *
load_text (const gchar * text, GError ** error)
{
  g_autofree gchar *path = NULL;
  gint fd = g_file_open_tmp ("oi-config-XXXXXX.conf", &path, NULL);
  OiConfig *config;

  fail_unless (fd >= 0);
  close (fd);
  fail_unless (g_file_set_contents (path, text, -1, NULL));
  config = oi_config_load (path, error);
  g_unlink (path);
  return config;
}

/* Loads @body after a valid minimal config; expects a refusal naming
 * @where ("[group] key"). */
static void
expect_refused (const gchar * body, const gchar * where)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strconcat ("[station]\nhost=door.test:8443\n",
      body, NULL);
  OiConfig *config = load_text (text, &error);

  fail_unless (config == NULL, "accepted: %s", body);
  fail_unless (error != NULL);
  fail_unless (strstr (error->message, where) != NULL,
      "\"%s\" does not name %s", error->message, where);
}

GST_START_TEST (test_defaults)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) c = load_text ("[station]\nhost=door.test:8443\n"
      "[gpio]\nchip=sim\n[media]\npipeline=test\n"
      "[user alice]\npassword-hash=" HASH "\n", &error);

  fail_unless (c != NULL, "%s", error ? error->message : "");
  fail_unless_equals_string (c->door_uri, "door@door.test:8443");
  fail_unless_equals_int (c->port, 8443);
  fail_unless_equals_int (c->inputs->len, 3);
  fail_unless_equals_string (g_array_index (c->inputs, OiLine, 0).name,
      "bell");
  fail_unless_equals_int (g_array_index (c->inputs, OiLine, 0).offset, 17);
  fail_unless (oi_config_find_line (c->relays, "door") != NULL);
  fail_unless_equals_int (c->door_pulse, 1000);
  fail_unless_equals_string (c->codecs[0], "h264");
  fail_unless (c->echo_cancel);
  fail_unless (!c->lip_sync);
  fail_unless (oi_config_find_user (c, "alice") != NULL);
  fail_unless (oi_config_find_user (c, "bob") == NULL);
}

GST_END_TEST;

GST_START_TEST (test_example)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) c = oi_config_load (OI_SOURCE_ROOT
      "/data/intercomd.conf", &error);

  fail_unless (c != NULL, "%s", error ? error->message : "");
  fail_unless_equals_int (g_strv_length (c->ring), 2);
  fail_unless_equals_int (c->users->len, 2);
}

GST_END_TEST;

GST_START_TEST (test_allow_lists)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) c = load_text ("[station]\nhost=Door.Test:8443\n"
      "[calls]\nallow-callers=alice@door.test:8443\n"
      "allow-networks=10.0.0.0/8,::1/128\n", &error);
  g_autoptr (GInetAddress) inside = g_inet_address_new_from_string
      ("10.1.2.3");
  g_autoptr (GInetAddress) outside = g_inet_address_new_from_string
      ("192.168.1.2");
  g_autoptr (GSocketAddress) in_addr = g_inet_socket_address_new (inside, 1);
  g_autoptr (GSocketAddress) out_addr = g_inet_socket_address_new (outside,
      1);

  fail_unless (c != NULL, "%s", error ? error->message : "");
  fail_unless (oi_config_caller_allowed (c, "alice@door.test:8443", in_addr));
  /* the host without case, the user with it */
  fail_unless (oi_config_caller_allowed (c, "alice@DOOR.test:8443", in_addr));
  fail_if (oi_config_caller_allowed (c, "Alice@door.test:8443", in_addr));
  fail_if (oi_config_caller_allowed (c, "bob@door.test:8443", in_addr));
  fail_if (oi_config_caller_allowed (c, "alice@door.test:8443", out_addr));
}

GST_END_TEST;

GST_START_TEST (test_refusals)
{
  expect_refused ("[server]\nport=99999\n", "[server] port");
  expect_refused ("[server]\nprot=8443\n", "[server] prot");
  expect_refused ("[sever]\nport=8443\n", "[sever]");
  expect_refused ("[media]\ncodecs=h265\n", "[media] codecs");
  expect_refused ("[media]\npipeline=fancy\n", "[media] pipeline");
  expect_refused ("[media]\necho-cancel=yes\n", "[media] echo-cancel");
  expect_refused ("[media]\nlip-sync=1\n", "[media] lip-sync");
  expect_refused ("[gpio]\ninputs=in1=27\n", "[gpio] inputs");
  expect_refused ("[gpio]\nrelays=door=6,door=7\n", "[gpio] relays");
  expect_refused ("[calls]\nring=not an address\n", "[calls] ring");
  expect_refused ("[calls]\nallow-networks=10.0.0.0/33\n",
      "[calls] allow-networks");
  expect_refused ("[user alice]\npassword-hash=secret\n",
      "[user alice] password-hash");
  expect_refused ("[user door]\npassword-hash=" HASH "\n", "[user door]");
  expect_refused ("[server]\ncertificate=/x.pem\n", "[server] private-key");
  expect_refused ("[gpio]\ndoor-pulse=3000\nmax-pulse=2000\n",
      "[gpio] door-pulse");
  /* empty values of keys with a default (found by fuzz-config: NULL
   * where a value was taken for granted) */
  expect_refused ("[gpio]\nchip=\n", "[gpio] chip");
  expect_refused ("[media]\npipeline=\n", "[media] pipeline");
  expect_refused ("[gpio]\ninputs=\n", "[gpio] inputs");
  expect_refused ("[media]\nvideo-device= \n", "[media] video-device");
  expect_refused ("[station]\ndoor=\n", "[station] door");
  /* a prefix longer than the address: GLib would take it for /0 */
  expect_refused ("[calls]\nallow-networks=0.0.0.0/999\n",
      "[calls] allow-networks");
  expect_refused ("[calls]\nallow-networks=::/129\n",
      "[calls] allow-networks");
  expect_refused ("[calls]\nallow-networks=10.0.0.0/4294967296\n",
      "[calls] allow-networks");
}

GST_END_TEST;

#define TOKEN "0123456789abcdef0123456789ABCDEF"

GST_START_TEST (test_peers_limits_defaults)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) c = load_text ("[station]\nhost=door.test:8443\n"
      "[peer garden]\nhost=Garden.Test:8443\ntoken=" TOKEN "\n"
      "[peer shed]\nhost=shed.test\ntoken=" TOKEN "-shed\n"
      "[user alice]\npassword-hash=" HASH "\n"
      "[user bob]\npassword-hash=" HASH "\n", &error);
  const OiPeer *peer;

  fail_unless (c != NULL, "%s", error ? error->message : "");
  peer = oi_config_find_peer_by_token (c, TOKEN);
  fail_unless (peer != NULL && g_str_equal (peer->name, "garden"));
  fail_unless (oi_config_find_peer_by_token (c, TOKEN "x") == NULL);
  fail_unless (oi_config_find_peer_by_token (c, "") == NULL);
  fail_unless (oi_config_find_peer_by_host (c, "garden.test:8443") == peer);
  fail_unless (oi_config_find_peer_by_host (c, "garden.test:9443") == NULL);
  /* limits and sessions */
  fail_unless (c->tls);
  fail_unless_equals_int (c->max_sockets_per_address, 8);
  fail_unless_equals_int (c->max_peers, 4);
  fail_unless_equals_int (c->login_failures, 3);
  fail_unless_equals_int (c->session_idle, 7 * 86400);
  /* ring and allow-callers absent: every user of the station */
  fail_unless_equals_int (g_strv_length (c->ring), 2);
  fail_unless_equals_string (c->ring[0], "alice@door.test:8443");
  fail_unless_equals_string (c->allow_callers[1], "bob@door.test:8443");
}

GST_END_TEST;

GST_START_TEST (test_peer_and_limit_refusals)
{
  expect_refused ("[peer p]\nhost=p.test\ntoken=short\n", "[peer p] token");
  expect_refused ("[peer p]\nhost=p.test\ntoken=" TOKEN " x\n",
      "[peer p] token");
  expect_refused ("[peer p]\ntoken=" TOKEN "\n", "[peer p] host");
  expect_refused ("[peer p]\nhost=a b\ntoken=" TOKEN "\n", "[peer p] host");
  expect_refused ("[peer p]\nhost=DOOR.test:8443\ntoken=" TOKEN "\n",
      "[peer p] host");
  expect_refused ("[peer p]\nhost=p.test\ntoken=" TOKEN "\n"
      "[peer q]\nhost=q.test\ntoken=" TOKEN "\n", "[peer q] token");
  expect_refused ("[peer p]\nhost=p.test\ntoken=" TOKEN "\n"
      "certificate=/nonexistent.pem\n", "[peer p] certificate");
  expect_refused ("[peer p]\nhost=p.test\ntoken=" TOKEN "\nkey=1\n",
      "[peer p] key");
  expect_refused ("[limits]\npeers=0\n", "[limits] peers");
  expect_refused ("[limits]\nsockets-per-address=many\n",
      "[limits] sockets-per-address");
  expect_refused ("[server]\ntls=maybe\n", "[server] tls");
  expect_refused ("[server]\nsession-idle=1\n", "[server] session-idle");
}

GST_END_TEST;

/* A home server ([station] role, [door NAME]) and a door registering at
 * one ([home-server]). */
GST_START_TEST (test_home_server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) home = load_text ("[station]\nhost=home.test\n"
      "role=home-server\n"
      "[door front]\ntoken=" TOKEN "\nname=Front door\n"
      "[door back]\ntoken=" TOKEN "-back\n"
      "[peer garden]\nhost=garden.test\ntoken=" TOKEN "-garden\n", &error);
  g_autoptr (OiConfig) door = NULL;
  g_autoptr (OiConfig) listed = NULL;
  g_auto (GStrv) names = NULL;
  const OiRemoteDoor *found;

  fail_unless (home != NULL, "%s", error ? error->message : "");
  fail_unless (home->home_server);
  fail_unless (home->home_url == NULL);
  names = oi_config_door_names (home);
  fail_unless_equals_int (g_strv_length (names), 2);
  fail_unless_equals_string (names[0], "front");
  found = oi_config_find_door_by_token (home, TOKEN);
  fail_unless (found != NULL && g_str_equal (found->display_name,
          "Front door"));
  found = oi_config_find_door_by_token (home, TOKEN "-back");
  fail_unless (found != NULL && g_str_equal (found->display_name, "back"));
  fail_unless (oi_config_find_door_by_token (home, TOKEN "-garden") == NULL);
  fail_unless (oi_config_find_door_by_token (home, TOKEN "x") == NULL);

  door = load_text ("[station]\nhost=door.test:8443\n"
      "[home-server]\nurl=wss://Home.Test:9443/wsp\ntoken=" TOKEN "\n"
      "[user alice]\npassword-hash=" HASH "\n", &error);
  fail_unless (door != NULL, "%s", error ? error->message : "");
  fail_unless (!door->home_server);
  /* The door's address there: its own user at the URL's host and port. */
  fail_unless_equals_string (door->home_host, "Home.Test:9443");
  fail_unless_equals_string (door->home_uri, "door@Home.Test:9443");
  fail_unless (oi_config_is_home_address (door, "bob@home.test:9443"));
  fail_unless (!oi_config_is_home_address (door, "bob@home.test"));
  fail_unless (!oi_config_is_home_address (door, "alice@door.test:8443"));
  /* allow-callers absent: the users here, and through the home server
   * (no address) every user there, whom it vouches for. */
  fail_unless (oi_config_caller_allowed (door, "bob@home.test:9443", NULL));
  fail_unless (oi_config_caller_allowed (door, "alice@door.test:8443",
          NULL));
  fail_unless (!oi_config_caller_allowed (door, "eve@other.test", NULL));

  listed = load_text ("[station]\nhost=door.test:8443\n"
      "[calls]\nallow-callers=bob@home.test\n"
      "[home-server]\nurl=wss://home.test/wsp\ntoken=" TOKEN "\n"
      "user=front\nhost=home.test\n", &error);
  fail_unless (listed != NULL, "%s", error ? error->message : "");
  fail_unless_equals_string (listed->home_uri, "front@home.test");
  {
    g_autoptr (OiConfig) v6 = load_text ("[station]\nhost=door.test\n"
        "[home-server]\nurl=wss://[2001:db8::1]/wsp\ntoken=" TOKEN "\n"
        "user=front\n", &error);
    g_autoptr (OiConfig) local = NULL;

    fail_unless (v6 != NULL, "%s", error ? error->message : "");
    fail_unless_equals_string (v6->home_host, "[2001:db8::1]");
    local = load_text ("[station]\nhost=door.test\n[home-server]\n"
        "url=ws://127.0.0.1/wsp\ntoken=" TOKEN "\n", &error);
    fail_unless (local != NULL, "%s", error ? error->message : "");
    fail_unless_equals_string (local->home_host, "127.0.0.1:80");
  }
  /* allow-callers given: only those. */
  fail_unless (oi_config_caller_allowed (listed, "bob@home.test", NULL));
  fail_unless (!oi_config_caller_allowed (listed, "carol@home.test", NULL));
}

GST_END_TEST;

GST_START_TEST (test_home_server_refusals)
{
  g_autoptr (GError) error = NULL;
  OiConfig *c;

  expect_refused ("[door front]\ntoken=short\n", "[door front] token");
  expect_refused ("[door front]\n", "[door front] token");
  expect_refused ("[door front]\ntoken=" TOKEN "\nhost=x\n",
      "[door front] host");
  expect_refused ("[door a b]\ntoken=" TOKEN "\n", "[door a b]");
  expect_refused ("[door door]\ntoken=" TOKEN "\n", "[door door]");
  expect_refused ("[user alice]\npassword-hash=" HASH "\n"
      "[door alice]\ntoken=" TOKEN "\n", "[door alice]");
  expect_refused ("[door a]\ntoken=" TOKEN "\n[door b]\ntoken=" TOKEN
      "\n", "[door b] token");
  expect_refused ("[peer p]\nhost=p.test\ntoken=" TOKEN "\n"
      "[door a]\ntoken=" TOKEN "\n", "[door a] token");
  expect_refused ("[home-server]\ntoken=" TOKEN "\n", "[home-server] url");
  expect_refused ("[home-server]\nurl=https://h.test/wsp\ntoken=" TOKEN
      "\n", "[home-server] url");
  expect_refused ("[home-server]\nurl=wss://h.test/wsp\n",
      "[home-server] token");
  expect_refused ("[home-server]\nurl=wss://h.test/wsp\ntoken=" TOKEN "\n"
      "certificate=/nonexistent.pem\n", "[home-server] certificate");
  expect_refused ("[home-server]\nurl=wss://door.test:8443/wsp\ntoken="
      TOKEN "\n", "[home-server] host");
  expect_refused ("[home-server]\nurl=wss://h.test/wsp\ntoken=" TOKEN "\n"
      "user=a b\n", "[home-server] user");
  /* the token in clear text, but to this machine */
  expect_refused ("[home-server]\nurl=ws://h.test/wsp\ntoken=" TOKEN "\n",
      "[home-server] url");

  c = load_text ("[station]\nhost=h.test\nrole=hub\n", &error);
  fail_unless (c == NULL && strstr (error->message, "[station] role"));
  g_clear_error (&error);
  c = load_text ("[station]\nhost=h.test\nrole=home-server\n"
      "[home-server]\nurl=wss://other.test/wsp\ntoken=" TOKEN "\n", &error);
  fail_unless (c == NULL && strstr (error->message, "[station] role"));
}

GST_END_TEST;

/* [ice]: STUN and TURN URIs as browsers write them, long-term or REST
 * credentials (coturn's use-auth-secret), what webrtcbin and the browser
 * get. */
GST_START_TEST (test_ice)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (OiConfig) c = load_text ("[station]\nhost=door.test\n"
      "[ice]\nstun=stun:198.51.100.1:3478\n"
      "turn=turn:198.51.100.1?transport=udp, turns:[2001:db8::1]:443\n"
      "turn-secret=s3cret-0123456789\nrelay-only=true\n", &error);
  g_autoptr (OiConfig) lt = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *json = NULL;
  g_autofree gchar *user = NULL;
  g_autofree gchar *password = NULL;
  g_autofree gchar *uri = NULL;
  const OiIceServer *s;

  fail_unless (c != NULL, "%s", error ? error->message : "");
  fail_unless_equals_int (c->ice_servers->len, 3);
  s = g_ptr_array_index (c->ice_servers, 0);
  fail_unless (s->kind == OI_ICE_STUN && s->port == 3478);
  s = g_ptr_array_index (c->ice_servers, 1);
  fail_unless (s->kind == OI_ICE_TURN && !s->tcp && s->port == 3478);
  fail_unless_equals_string (s->host, "198.51.100.1");
  s = g_ptr_array_index (c->ice_servers, 2);
  fail_unless (s->kind == OI_ICE_TURNS && s->tcp && s->port == 443);
  fail_unless_equals_string (s->host, "[2001:db8::1]");
  fail_unless (c->relay_only);
  fail_unless_equals_int (c->turn_ttl, 86400);

  /* REST: "<expiry>:<name>", base64 (HMAC-SHA1 (secret, user)) (the
   * expected value from Python's hmac). */
  oi_ice_credentials (c, "door", 1000000000, &user, &password);
  fail_unless_equals_string (user, "1000086400:door");
  fail_unless_equals_string (password, "zzVJLuMe7deXfU7qsmgZRdzjUbs=");
  uri = oi_ice_webrtcbin_uri (g_ptr_array_index (c->ice_servers, 1), user,
      password);
  fail_unless_equals_string (uri, "turn://1000086400%3Adoor:"
      "zzVJLuMe7deXfU7qsmgZRdzjUbs%3D@198.51.100.1:3478?transport=udp");
  g_free (uri);
  uri = oi_ice_webrtcbin_uri (g_ptr_array_index (c->ice_servers, 0), user,
      password);
  fail_unless_equals_string (uri, "stun://198.51.100.1:3478");

  /* The browser's: the URIs as written, credentials, never the secret. */
  json_builder_begin_object (b);
  oi_ice_add_browser_json (c, "alice", b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json = json_to_string (root, FALSE);
  fail_unless (strstr (json, "\"urls\":\"turns:[2001:db8::1]:443\""), "%s",
      json);
  fail_unless (strstr (json, ":alice\""), "%s", json);
  fail_unless (strstr (json, "\"iceTransportPolicy\":\"relay\""), "%s", json);
  fail_if (strstr (json, "s3cret"), "%s", json);

  lt = load_text ("[station]\nhost=door.test\n[ice]\n"
      "turn=turn:turn.test:3478?transport=tcp\nturn-user=door\n"
      "turn-password=p@ss:word\n", &error);
  fail_unless (lt != NULL, "%s", error ? error->message : "");
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&password, g_free);
  oi_ice_credentials (lt, "ignored", 1000000000, &user, &password);
  fail_unless_equals_string (user, "door");
  fail_unless_equals_string (password, "p@ss:word");
  g_clear_pointer (&uri, g_free);
  uri = oi_ice_webrtcbin_uri (g_ptr_array_index (lt->ice_servers, 0), user,
      password);
  fail_unless_equals_string (uri,
      "turn://door:p%40ss%3Aword@turn.test:3478?transport=tcp");
  fail_unless (!lt->relay_only);
}

GST_END_TEST;

GST_START_TEST (test_ice_refusals)
{
  expect_refused ("[ice]\nstun=stun://h.test\n", "[ice] stun");
  expect_refused ("[ice]\nstun=turn:h.test\nturn-user=u\n"
      "turn-password=p\n", "[ice] stun");
  expect_refused ("[ice]\nturn=stun:h.test\n", "[ice] turn");
  expect_refused ("[ice]\nstun=stun:h.test:0\n", "[ice] stun");
  expect_refused ("[ice]\nstun=stun:h.test?transport=udp\n", "[ice] stun");
  expect_refused ("[ice]\nstun=stun:h test\n", "[ice] stun");
  /* IPv6 only in brackets, and whole */
  expect_refused ("[ice]\nstun=stun:fe80::1\n", "[ice] stun");
  expect_refused ("[ice]\nstun=stun:[::1\n", "[ice] stun");
  expect_refused ("[ice]\nstun=stun:[zz]:3478\n", "[ice] stun");
  expect_refused ("[ice]\nstun=stun:a]b\n", "[ice] stun");
  expect_refused ("[ice]\nturn=turn:h.test?transport=sctp\nturn-user=u\n"
      "turn-password=p\n", "[ice] turn");
  expect_refused ("[ice]\nturn=turns:h.test?transport=udp\nturn-user=u\n"
      "turn-password=p\n", "[ice] turn");
  expect_refused ("[ice]\nturn=turn:h.test\n", "[ice] turn-user");
  expect_refused ("[ice]\nturn=turn:h.test\nturn-user=u\n",
      "[ice] turn-user");
  expect_refused ("[ice]\nturn=turn:h.test\nturn-secret=s\nturn-user=u\n",
      "[ice] turn-secret");
  expect_refused ("[ice]\nrelay-only=true\n", "[ice] relay-only");
  expect_refused ("[ice]\nstun=stun:h.test\nrelay-only=true\n",
      "[ice] relay-only");
  expect_refused ("[ice]\nturn=turn:h.test\nturn-secret=s\nturn-ttl=5\n",
      "[ice] turn-ttl");
}

GST_END_TEST;

/* <state-dir>/users.conf, the file the user commands manage. */
GST_START_TEST (test_users_file)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("oi-users-XXXXXX", NULL);
  g_autofree gchar *users = g_build_filename (dir, "users.conf", NULL);
  g_autofree gchar *head = g_strdup_printf ("[station]\nhost=door.test\n"
      "state-dir=%s\n", dir);
  g_autofree gchar *both = g_strconcat (head, "[user carol]\npassword-hash="
      HASH "\n", NULL);
  OiConfig *c;

  fail_unless (g_file_set_contents (users, "[user carol]\npassword-hash="
          HASH "\n", -1, NULL));
  c = load_text (head, &error);
  fail_unless (c != NULL, "%s", error ? error->message : "");
  fail_unless (oi_config_find_user (c, "carol")->in_users_file);
  fail_if (oi_config_users_changed (c));
  fail_unless (g_file_set_contents (users, "[user carol]\npassword-hash="
          HASH "x\n", -1, NULL));
  fail_unless (oi_config_users_changed (c));
  oi_config_free (c);

  /* a user in both places; other groups or keys in the users file */
  c = load_text (both, &error);
  fail_unless (c == NULL && strstr (error->message, "defined twice"));
  g_clear_error (&error);
  fail_unless (g_file_set_contents (users, "[station]\nhost=x\n", -1, NULL));
  c = load_text (head, &error);
  fail_unless (c == NULL && strstr (error->message, "users.conf"));
  g_clear_error (&error);
  fail_unless (g_file_set_contents (users, "[user carol]\npassword-hash="
          HASH "\nrole=admin\n", -1, NULL));
  c = load_text (head, &error);
  fail_unless (c == NULL && strstr (error->message, "role"));

  g_unlink (users);
  g_rmdir (dir);
}

GST_END_TEST;

/* Values that reach the gst-launch text cannot carry pipeline syntax
 * (the go2rtc `exec` lesson). */
GST_START_TEST (test_no_pipeline_injection)
{
  expect_refused ("[media]\nvideo-device=/dev/video0 ! fakesink\n",
      "[media] video-device");
  expect_refused ("[media]\naudio-source-device=hw:0 num-buffers=1\n",
      "[media] audio-source-device");
  expect_refused ("[media]\naudio-sink-device=\"x\"\n",
      "[media] audio-sink-device");
  expect_refused ("[gpio]\nchip=sim ! filesink location=/tmp/x\n",
      "[gpio] chip");
  expect_refused ("[ice]\nlocal-addresses=127.0.0.1;reboot\n",
      "[ice] local-addresses");
}

GST_END_TEST;

static Suite *
config_suite (void)
{
  Suite *s = suite_create ("intercomd-config");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_defaults);
  tcase_add_test (tc, test_example);
  tcase_add_test (tc, test_home_server);
  tcase_add_test (tc, test_home_server_refusals);
  tcase_add_test (tc, test_ice);
  tcase_add_test (tc, test_ice_refusals);
  tcase_add_test (tc, test_allow_lists);
  tcase_add_test (tc, test_refusals);
  tcase_add_test (tc, test_no_pipeline_injection);
  tcase_add_test (tc, test_peers_limits_defaults);
  tcase_add_test (tc, test_peer_and_limit_refusals);
  tcase_add_test (tc, test_users_file);
  return s;
}

GST_CHECK_MAIN (config);
