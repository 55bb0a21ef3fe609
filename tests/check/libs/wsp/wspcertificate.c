/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A station's self-signed certificate (wspcertificate.c): the files and
 * their modes, the certificate as GnuTLS, GLib and openssl read it back,
 * the refusals, and a real TLS handshake that trusts it. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "wspcertificate.h"

#define COMMON_NAME "Open Intercom test door"
#define DAY (24 * 60 * 60)
#define HANDSHAKE_DEADLINE_S 20

static const gchar *const names[] = { "localhost", "door.test",
  "192.0.2.7", NULL
};

typedef struct
{
  gchar *dir;
  gchar *cert_path;
  gchar *key_path;
} Fixture;

static void
remove_tree (const gchar * path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree gchar *child = g_build_filename (path, name, NULL);

    if (g_file_test (child, G_FILE_TEST_IS_DIR)
        && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      remove_tree (child);
    else
      g_assert_cmpint (g_unlink (child), ==, 0);
  }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
fixture_set_up (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("oi-tls-XXXXXX", &error);
  g_assert_no_error (error);
  /* Two levels that do not exist yet: both are made. */
  f->cert_path = g_build_filename (f->dir, "state", "tls", "cert.pem", NULL);
  f->key_path = g_build_filename (f->dir, "state", "tls", "key.pem", NULL);
}

static void
fixture_tear_down (Fixture * f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->cert_path);
  g_free (f->key_path);
}

static gboolean
ensure (Fixture * f, gboolean * created, GError ** error)
{
  return wsp_certificate_ensure_self_signed (f->cert_path, f->key_path, COMMON_NAME,
      names, created, error);
}

static void
ensure_new (Fixture * f)
{
  g_autoptr (GError) error = NULL;
  gboolean created = FALSE;

  g_assert_true (ensure (f, &created, &error));
  g_assert_no_error (error);
  g_assert_true (created);
}

static gboolean
have_tls_backend (void)
{
  if (g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    return TRUE;
  g_test_skip ("no GIO TLS backend (glib-networking)");
  return FALSE;
}

static GTlsCertificate *
load (Fixture * f)
{
  g_autoptr (GError) error = NULL;
  GTlsCertificate *cert = g_tls_certificate_new_from_files (f->cert_path,
      f->key_path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (cert);
  return cert;
}

static gchar *
fingerprint_of_file (Fixture * f)
{
  g_autoptr (GTlsCertificate) cert = load (f);

  return wsp_certificate_fingerprint (cert);
}

static guint
mode_of (const gchar * path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static gchar *
contents_of (const gchar * path)
{
  g_autoptr (GError) error = NULL;
  gchar *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* openssl's stdout for `openssl x509 -noout ARG -in @path`, or NULL
 * when there is no openssl. */
static gchar *
openssl_x509 (const gchar * path, const gchar * arg1, const gchar * arg2)
{
  g_autofree gchar *openssl = g_find_program_in_path ("openssl");
  const gchar *argv[] = { openssl, "x509", "-noout", "-in", path, arg1,
    arg2, NULL
  };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *err = NULL;
  gchar *out = NULL;
  gint status;

  if (openssl == NULL)
    return NULL;
  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
      &out, &err, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
  return out;
}

static void
assert_fingerprint_shape (const gchar * fp)
{
  gsize i;

  g_assert_nonnull (fp);
  g_assert_cmpuint (strlen (fp), ==, 95);
  for (i = 0; i < 95; i++) {
    if (i % 3 == 2)
      g_assert_cmpint (fp[i], ==, ':');
    else
      g_assert_true (g_ascii_isxdigit (fp[i]) && !g_ascii_islower (fp[i]));
  }
}

/* g_tls_certificate_verify with @cert as its own trusted CA, for a host
 * name or, as a server's socket address, an IP address. */
static GTlsCertificateFlags
verify_for (GTlsCertificate * cert, const gchar * host)
{
  g_autoptr (GSocketConnectable) identity = NULL;

  if (g_hostname_is_ip_address (host))
    identity = G_SOCKET_CONNECTABLE (g_inet_socket_address_new_from_string
        (host, 443));
  else
    identity = g_network_address_new (host, 443);
  return g_tls_certificate_verify (cert, identity, cert);
}

static void
test_creates (Fixture * f, gconstpointer data)
{
  g_autofree gchar *tls_dir = g_path_get_dirname (f->key_path);
  g_autofree gchar *state_dir = g_path_get_dirname (tls_dir);
  g_autofree gchar *key_pem = NULL;
  g_autoptr (GDir) dir = NULL;
  guint files = 0;

  ensure_new (f);

  g_assert_cmpuint (mode_of (f->key_path), ==, 0600);
  g_assert_cmpuint (mode_of (f->cert_path), ==, 0644);
  g_assert_cmpuint (mode_of (tls_dir), ==, 0700);
  g_assert_cmpuint (mode_of (state_dir), ==, 0700);
  /* No temporary file left behind. */
  dir = g_dir_open (tls_dir, 0, NULL);
  while (g_dir_read_name (dir) != NULL)
    files++;
  g_assert_cmpuint (files, ==, 2);
  key_pem = contents_of (f->key_path);
  g_assert_true (g_str_has_prefix (key_pem, "-----BEGIN PRIVATE KEY-----\n"));
}

/* What the certificate says, as GnuTLS reads it. */
static void
test_fields (Fixture * f, gconstpointer data)
{
  g_autofree gchar *pem = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t datum;
  guint8 serial[64];
  size_t size = sizeof (serial);
  gchar buf[256];
  unsigned int bits = 0, usage = 0, critical = 0, ca = 1;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  time_t from, until;

  ensure_new (f);
  pem = contents_of (f->cert_path);
  datum.data = (guint8 *) pem;
  datum.size = strlen (pem);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM),
      ==, 0);

  g_assert_cmpint (gnutls_x509_crt_get_version (crt), ==, 3);
  g_assert_cmpint (gnutls_x509_crt_get_pk_algorithm (crt, &bits), ==,
      GNUTLS_PK_ECDSA);
  g_assert_cmpuint (bits, ==, 256);
  g_assert_cmpint (gnutls_x509_crt_get_signature_algorithm (crt), ==,
      GNUTLS_SIGN_ECDSA_SHA256);

  g_assert_cmpint (gnutls_x509_crt_get_serial (crt, serial, &size), ==, 0);
  g_assert_cmpuint (size, ==, 16);
  g_assert_cmpuint (serial[0] & 0x80, ==, 0);

  size = sizeof (buf);
  g_assert_cmpint (gnutls_x509_crt_get_dn_by_oid (crt,
          GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size), ==, 0);
  g_assert_cmpstr (buf, ==, COMMON_NAME);
  g_assert_cmpint (gnutls_x509_crt_check_issuer (crt, crt), ==, 1);

  from = gnutls_x509_crt_get_activation_time (crt);
  until = gnutls_x509_crt_get_expiration_time (crt);
  g_assert_cmpint (from, >=, now - DAY - 60);
  g_assert_cmpint (from, <=, now - DAY + 60);
  /* Ten years: 3652 or 3653 days, by the leap days in between. */
  g_assert_cmpint (until - from, >=, 3652 * (gint64) DAY);
  g_assert_cmpint (until - from, <=, 3653 * (gint64) DAY);

  g_assert_cmpint (gnutls_x509_crt_get_key_usage (crt, &usage, &critical), ==,
      0);
  g_assert_cmpuint (usage, ==, GNUTLS_KEY_DIGITAL_SIGNATURE);
  g_assert_cmpint (gnutls_x509_crt_get_basic_constraints (crt, &critical, &ca,
          NULL), >=, 0);
  g_assert_cmpuint (ca, ==, 0);
  size = sizeof (buf);
  g_assert_cmpint (gnutls_x509_crt_get_key_purpose_oid (crt, 0, buf, &size,
          &critical), ==, 0);
  g_assert_cmpstr (buf, ==, GNUTLS_KP_TLS_WWW_SERVER);
  size = sizeof (buf);
  g_assert_cmpint (gnutls_x509_crt_get_key_purpose_oid (crt, 1, buf, &size,
          &critical), ==, GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);

  /* Exactly the names asked for, then the loopback addresses. */
  g_assert_true (gnutls_x509_crt_check_hostname (crt, "localhost"));
  g_assert_true (gnutls_x509_crt_check_hostname (crt, "door.test"));
  g_assert_true (gnutls_x509_crt_check_ip (crt,
          (const guint8 *) "\xc0\x00\x02\x07", 4, 0));
  g_assert_true (gnutls_x509_crt_check_ip (crt,
          (const guint8 *) "\x7f\x00\x00\x01", 4, 0));
  g_assert_false (gnutls_x509_crt_check_hostname (crt, "other.test"));
  size = sizeof (buf);
  g_assert_cmpint (gnutls_x509_crt_get_subject_alt_name (crt, 4, buf, &size,
          NULL), ==, GNUTLS_SAN_IPADDRESS);
  g_assert_cmpuint (size, ==, 16);
  g_assert_cmpmem (buf, 16, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
  size = sizeof (buf);
  g_assert_cmpint (gnutls_x509_crt_get_subject_alt_name (crt, 5, buf, &size,
          NULL), ==, GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);

  gnutls_x509_crt_deinit (crt);
}

static void
test_fingerprint (Fixture * f, gconstpointer data)
{
  g_autofree gchar *fp = NULL;
  g_autofree gchar *out = NULL;
  const gchar *theirs;

  if (!have_tls_backend ())
    return;
  ensure_new (f);
  fp = fingerprint_of_file (f);
  assert_fingerprint_shape (fp);

  out = openssl_x509 (f->cert_path, "-fingerprint", "-sha256");
  if (out == NULL) {
    g_test_message ("no openssl in PATH: not compared with it");
    return;
  }
  /* "sha256 Fingerprint=AB:..." (OpenSSL 3), "SHA256 Fingerprint=" (1.1) */
  theirs = strchr (out, '=');
  g_assert_nonnull (theirs);
  g_assert_cmpstr (g_strstrip ((gchar *) theirs + 1), ==, fp);
}

/* The same certificate as openssl prints it: an independent reader. */
static void
test_openssl_text (Fixture * f, gconstpointer data)
{
  g_autofree gchar *text = NULL;
  static const gchar *const expected[] = {
    "Subject: CN = " COMMON_NAME,
    "Issuer: CN = " COMMON_NAME,
    "ecdsa-with-SHA256",
    "NIST CURVE: P-256",
    "CA:FALSE",
    "Digital Signature",
    "TLS Web Server Authentication",
    "DNS:localhost, DNS:door.test, IP Address:192.0.2.7, "
        "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    NULL
  };
  guint i;

  ensure_new (f);
  text = openssl_x509 (f->cert_path, "-text", NULL);
  if (text == NULL) {
    g_test_skip ("no openssl in PATH");
    return;
  }
  for (i = 0; expected[i] != NULL; i++)
    g_assert_nonnull (strstr (text, expected[i]));
}

/* Trusted as its own anchor, for the names it carries and no other. */
static void
test_verify (Fixture * f, gconstpointer data)
{
  g_autoptr (GTlsCertificate) cert = NULL;

  if (!have_tls_backend ())
    return;
  ensure_new (f);
  cert = load (f);

  g_assert_cmpuint (verify_for (cert, "localhost"), ==,
      G_TLS_CERTIFICATE_NO_FLAGS);
  g_assert_cmpuint (verify_for (cert, "door.test"), ==,
      G_TLS_CERTIFICATE_NO_FLAGS);
  g_assert_cmpuint (verify_for (cert, "127.0.0.1"), ==,
      G_TLS_CERTIFICATE_NO_FLAGS);
  g_assert_cmpuint (verify_for (cert, "::1"), ==, G_TLS_CERTIFICATE_NO_FLAGS);
  g_assert_cmpuint (verify_for (cert, "192.0.2.7"), ==,
      G_TLS_CERTIFICATE_NO_FLAGS);
  g_assert_cmpuint (verify_for (cert, "other.test"), ==,
      G_TLS_CERTIFICATE_BAD_IDENTITY);
  g_assert_cmpuint (verify_for (cert, "192.0.2.8"), ==,
      G_TLS_CERTIFICATE_BAD_IDENTITY);
}

static void
test_second_call (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *fp = NULL;
  g_autofree gchar *fp_again = NULL;
  GStatBuf before, after;
  gboolean created = TRUE;

  if (!have_tls_backend ())
    return;
  ensure_new (f);
  fp = fingerprint_of_file (f);
  g_assert_cmpint (g_stat (f->key_path, &before), ==, 0);

  g_assert_true (ensure (f, &created, &error));
  g_assert_no_error (error);
  g_assert_false (created);

  g_assert_cmpint (g_stat (f->key_path, &after), ==, 0);
  g_assert_cmpint (after.st_ino, ==, before.st_ino);
  g_assert_cmpint (after.st_mtim.tv_sec, ==, before.st_mtim.tv_sec);
  g_assert_cmpint (after.st_mtim.tv_nsec, ==, before.st_mtim.tv_nsec);
  fp_again = fingerprint_of_file (f);
  g_assert_cmpstr (fp_again, ==, fp);
}

/* One of the two is missing: refused, and the other left as it was. */
static void
check_one_missing (Fixture * f, const gchar * keep, const gchar * remove)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  gboolean created = TRUE;

  ensure_new (f);
  before = contents_of (keep);
  g_assert_cmpint (g_unlink (remove), ==, 0);

  g_assert_false (ensure (f, &created, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, keep));
  g_assert_false (created);

  after = contents_of (keep);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (remove, G_FILE_TEST_EXISTS));
}

static void
test_only_key (Fixture * f, gconstpointer data)
{
  check_one_missing (f, f->key_path, f->cert_path);
}

static void
test_only_cert (Fixture * f, gconstpointer data)
{
  check_one_missing (f, f->cert_path, f->key_path);
}

static void
test_unmakeable_dir (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *plain = g_build_filename (f->dir, "plain", NULL);
  g_autofree gchar *cert = g_build_filename (plain, "sub", "cert.pem", NULL);
  g_autofree gchar *key = g_build_filename (plain, "sub", "key.pem", NULL);
  gboolean created = TRUE;

  g_assert_true (g_file_set_contents (plain, "not a directory\n", -1, NULL));
  g_assert_false (wsp_certificate_ensure_self_signed (cert, key, COMMON_NAME, NULL,
          &created, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_assert_false (created);
}

/* A name with a port (the config's host=door.test:8443) would match
 * nothing: refused before anything is written. */
static void
test_bad_name (Fixture * f, gconstpointer data)
{
  const gchar *const bad[] = { "door.test:8443", NULL };
  g_autoptr (GError) error = NULL;
  gboolean created = TRUE;

  g_assert_false (wsp_certificate_ensure_self_signed (f->cert_path, f->key_path,
          COMMON_NAME, bad, &created, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_false (created);
  g_assert_false (g_file_test (f->key_path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->cert_path, G_FILE_TEST_EXISTS));
}

typedef struct
{
  guint pending;
  GIOStream *client_base;
  GError *client_error;
  GError *server_error;
} Handshake;

static void
on_client_handshake (GObject * source, GAsyncResult * result, gpointer data)
{
  Handshake *h = data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result,
      &h->client_error);
  /* A client that refused the server may leave it waiting for its
   * Finished: closing says no more is coming. */
  if (h->client_error != NULL)
    g_io_stream_close (h->client_base, NULL, NULL);
  h->pending--;
}

static void
on_server_handshake (GObject * source, GAsyncResult * result, gpointer data)
{
  Handshake *h = data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result,
      &h->server_error);
  h->pending--;
}

static gboolean
on_deadline (gpointer data)
{
  gboolean *passed = data;

  *passed = TRUE;
  return G_SOURCE_REMOVE;
}

static GIOStream *
stream_from_fd (gint fd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* Both ends of a TLS connection over a socket pair, in this process; the
 * client trusts only the certificate file, as a CA. Returns the client's
 * error. */
static GError *
handshake (Fixture * f, GSocketConnectable * identity)
{
  g_autoptr (GSocketConnectable) server_identity = identity;
  g_autoptr (GTlsCertificate) cert = load (f);
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GIOStream) client_base = NULL;
  g_autoptr (GIOStream) server_base = NULL;
  g_autoptr (GIOStream) client = NULL;
  g_autoptr (GIOStream) server = NULL;
  GTlsCertificate *peer;
  g_autoptr (GError) error = NULL;
  Handshake h = { 2, NULL, NULL, NULL };
  gboolean deadline_passed = FALSE;
  guint deadline;
  gint fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
      ==, 0);
  client_base = stream_from_fd (fds[0]);
  server_base = stream_from_fd (fds[1]);
  h.client_base = client_base;

  database = g_tls_file_database_new (f->cert_path, &error);
  g_assert_no_error (error);
  client = g_tls_client_connection_new (client_base, server_identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (client), database);
  server = g_tls_server_connection_new (server_base, cert, &error);
  g_assert_no_error (error);

  g_tls_connection_handshake_async (G_TLS_CONNECTION (server),
      G_PRIORITY_DEFAULT, NULL, on_server_handshake, &h);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (client),
      G_PRIORITY_DEFAULT, NULL, on_client_handshake, &h);
  deadline = g_timeout_add_seconds (HANDSHAKE_DEADLINE_S, on_deadline,
      &deadline_passed);
  while (h.pending > 0 && !deadline_passed)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (deadline_passed);
  g_source_remove (deadline);

  if (h.client_error == NULL) {
    g_assert_no_error (h.server_error);
    peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (client));
    g_assert_nonnull (peer);
    g_assert_true (g_tls_certificate_is_same (peer, cert));
  }
  g_clear_error (&h.server_error);
  g_io_stream_close (client, NULL, NULL);
  g_io_stream_close (server, NULL, NULL);
  return h.client_error;
}

static void
test_handshake (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) by_name = NULL;
  g_autoptr (GError) by_ip = NULL;
  g_autoptr (GError) other = NULL;

  if (!have_tls_backend ())
    return;
  ensure_new (f);

  by_name = handshake (f, g_network_address_new ("localhost", 443));
  g_assert_no_error (by_name);
  by_ip = handshake (f, g_network_address_new ("127.0.0.1", 443));
  g_assert_no_error (by_ip);
  /* The client does check: a name the certificate lacks is refused. */
  other = handshake (f, g_network_address_new ("other.test", 443));
  g_assert_error (other, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tls/creates", test_creates);
  ADD ("/tls/fields", test_fields);
  ADD ("/tls/fingerprint", test_fingerprint);
  ADD ("/tls/openssl-text", test_openssl_text);
  ADD ("/tls/verify", test_verify);
  ADD ("/tls/second-call", test_second_call);
  ADD ("/tls/only-key", test_only_key);
  ADD ("/tls/only-cert", test_only_cert);
  ADD ("/tls/unmakeable-dir", test_unmakeable_dir);
  ADD ("/tls/bad-name", test_bad_name);
  ADD ("/tls/handshake", test_handshake);
#undef ADD

  return g_test_run ();
}
