/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A station's own self-signed certificate (wspcertificate.h), made with
 * GnuTLS, so that a station with no certificate configured still serves
 * only TLS. */

#include "wspcertificate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define VALID_YEARS 10
#define SERIAL_SIZE 16

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t,
    gnutls_x509_privkey_deinit, NULL);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit,
    NULL);

/* Wiped, not only freed: one of them holds the private key. */
static void
datum_clear (gnutls_datum_t * datum)
{
  if (datum->data != NULL) {
    gnutls_memset (datum->data, 0, datum->size);
    gnutls_free (datum->data);
  }
  datum->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear);

/* "Cannot @doing @path: strerror" */
static void
set_errno_error (GError ** error, gint errsv, const gchar * doing,
    const gchar * path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
      "Cannot %s %s: %s", doing, path, g_strerror (errsv));
}

/* Whether @path exists, as a name: a dangling symbolic link counts, so
 * that nothing is ever written through one. */
static gboolean
path_exists (const gchar * path, gboolean * exists, GError ** error)
{
  GStatBuf st;
  gint errsv;

  if (g_lstat (path, &st) == 0) {
    *exists = TRUE;
    return TRUE;
  }
  errsv = errno;
  /* ENOTDIR: a parent is a regular file; making the directory says so. */
  if (errsv == ENOENT || errsv == ENOTDIR) {
    *exists = FALSE;
    return TRUE;
  }
  set_errno_error (error, errsv, "check", path);
  return FALSE;
}

static gboolean
make_parent (const gchar * path, GError ** error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) == 0)
    return TRUE;
  set_errno_error (error, errno, "make the directory", dir);
  return FALSE;
}

/* A host name for a DNS entry, or an IP address literal; never with a
 * port, since such a name would match nothing. */
static gboolean
check_alt_name (const gchar * name, GError ** error)
{
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (name);
  g_autofree gchar *ascii = NULL;

  if (ip != NULL)
    return TRUE;
  ascii = g_hostname_to_ascii (name);
  if (ascii == NULL || ascii[0] == '\0' || strpbrk (ascii, ":/ \t") != NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "Not a host name for a certificate: \"%s\"", name);
    return FALSE;
  }
  return TRUE;
}

static int
add_alt_name (gnutls_x509_crt_t crt, const gchar * name)
{
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (name);
  g_autofree gchar *ascii = NULL;

  if (ip != NULL)
    return gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
        g_inet_address_to_bytes (ip), g_inet_address_get_native_size (ip),
        GNUTLS_FSAN_APPEND);
  /* Browsers compare a name in its ASCII (punycode) form. */
  ascii = g_hostname_to_ascii (name);
  return gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME,
      ascii, strlen (ascii), GNUTLS_FSAN_APPEND);
}

/* The pair, in PEM: the key as unencrypted PKCS #8 ("PRIVATE KEY"). */
static gboolean
make_pair (const gchar * common_name, const gchar * const *dns_names,
    gnutls_datum_t * cert_pem, gnutls_datum_t * key_pem, GError ** error)
{
  static const gchar *const loopback[] = { "127.0.0.1", "::1", NULL };
  g_auto (gnutls_x509_privkey_t) key = NULL;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) from = g_date_time_add_days (now, -1);
  g_autoptr (GDateTime) until = g_date_time_add_years (from, VALID_YEARS);
  guint8 serial[SERIAL_SIZE];
  guint8 key_id[64];
  size_t key_id_size = sizeof (key_id);
  const gchar *what;
  int ret;
  guint i;

  what = "generating the key";
  ret = gnutls_x509_privkey_init (&key);
  if (ret >= 0)
    ret = gnutls_x509_privkey_generate2 (key, GNUTLS_PK_ECDSA,
        GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
  if (ret < 0)
    goto gnutls_failed;

  what = "drawing the serial number";
  ret = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof (serial));
  if (ret < 0)
    goto gnutls_failed;
  /* Positive, and with no leading zero byte to drop: 16 bytes in DER. */
  serial[0] = (serial[0] & 0x7f) | 0x40;

  what = "setting the subject, validity and key";
  ret = gnutls_x509_crt_init (&crt);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_version (crt, 3);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_serial (crt, serial, sizeof (serial));
  if (ret >= 0)
    ret = gnutls_x509_crt_set_activation_time (crt,
        (time_t) g_date_time_to_unix (from));
  if (ret >= 0)
    ret = gnutls_x509_crt_set_expiration_time (crt,
        (time_t) g_date_time_to_unix (until));
  if (ret >= 0)
    ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
        common_name, strlen (common_name));
  if (ret >= 0)
    ret = gnutls_x509_crt_set_key (crt, key);
  if (ret < 0)
    goto gnutls_failed;

  what = "setting the subject alternative names";
  for (i = 0; ret >= 0 && dns_names != NULL && dns_names[i] != NULL; i++)
    ret = add_alt_name (crt, dns_names[i]);
  for (i = 0; ret >= 0 && loopback[i] != NULL; i++)
    ret = add_alt_name (crt, loopback[i]);
  if (ret < 0)
    goto gnutls_failed;

  what = "setting the extensions";
  ret = gnutls_x509_crt_set_basic_constraints (crt, 0, -1);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER,
        0);
  if (ret >= 0)
    ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA1, key_id,
        &key_id_size);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size);
  if (ret < 0)
    goto gnutls_failed;

  /* Its own issuer: the issuer's name is copied from @crt's subject. */
  what = "signing the certificate";
  ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
  if (ret < 0)
    goto gnutls_failed;

  what = "exporting the certificate and key";
  ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, cert_pem);
  if (ret >= 0)
    ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
        GNUTLS_PKCS_PLAIN, key_pem);
  if (ret < 0)
    goto gnutls_failed;

  return TRUE;

  /* ERRORS */
gnutls_failed:
  {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "Cannot make a self-signed certificate: GnuTLS failed %s: %s", what,
        gnutls_strerror (ret));
    return FALSE;
  }
}

/* Writes @data to a new file next to @path, created with @mode and never
 * with more (O_CREAT | O_EXCL, then fchmod against the umask), synced to
 * the disk. */
static gboolean
write_temp (const gchar * path, const gnutls_datum_t * data, mode_t mode,
    gchar ** tmp_path, GError ** error)
{
  g_autofree gchar *tmp = g_strconcat (path, ".XXXXXX", NULL);
  gsize done = 0;
  gint fd, errsv;

  /* g_mkstemp_full adds O_CREAT | O_EXCL itself. */
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    goto create_failed;
  if (fchmod (fd, mode) != 0)
    goto write_failed;
  while (done < data->size) {
    gssize n = write (fd, data->data + done, data->size - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto write_failed;
    done += n;
  }
  if (fsync (fd) != 0)
    goto write_failed;
  if (close (fd) != 0) {
    fd = -1;
    goto write_failed;
  }
  *tmp_path = g_steal_pointer (&tmp);
  return TRUE;

  /* ERRORS */
create_failed:
  {
    set_errno_error (error, errno, "create a file next to", path);
    return FALSE;
  }
write_failed:
  {
    errsv = errno;
    if (fd >= 0)
      close (fd);
    g_unlink (tmp);
    set_errno_error (error, errsv, "write", tmp);
    return FALSE;
  }
}

/* Gives @tmp the name @path unless that name exists: link() fails on an
 * existing name where rename() would replace it, so that two daemons
 * starting at once never replace each other's key. @tmp is gone after. */
static gboolean
publish (const gchar * tmp, const gchar * path, GError ** error)
{
  gint errsv;

  if (link (tmp, path) == 0) {
    g_unlink (tmp);
    return TRUE;
  }
  errsv = errno;
  /* A file system without hard links (FAT: EPERM). */
  if (errsv == EPERM || errsv == EOPNOTSUPP || errsv == ENOSYS) {
    if (g_rename (tmp, path) == 0)
      return TRUE;
    errsv = errno;
  }
  g_unlink (tmp);
  set_errno_error (error, errsv, "make", path);
  return FALSE;
}

/* Best effort: some file systems cannot sync a directory, and the files
 * themselves are already synced. */
static void
sync_parent (const gchar * path)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  gint fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return;
  fsync (fd);
  close (fd);
}

gboolean
wsp_certificate_ensure_self_signed (const gchar * cert_path, const gchar * key_path,
    const gchar * common_name, const gchar * const *dns_names,
    gboolean * created, GError ** error)
{
  g_auto (gnutls_datum_t) cert_pem = { NULL, 0 };
  g_auto (gnutls_datum_t) key_pem = { NULL, 0 };
  g_autofree gchar *cert_tmp = NULL;
  g_autofree gchar *key_tmp = NULL;
  gboolean cert_exists, key_exists;
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (cert_path != NULL, FALSE);
  g_return_val_if_fail (key_path != NULL, FALSE);
  g_return_val_if_fail (common_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (created != NULL)
    *created = FALSE;

  if (g_str_equal (cert_path, key_path)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "The certificate and the key cannot both be %s", cert_path);
    return FALSE;
  }
  if (!path_exists (cert_path, &cert_exists, error)
      || !path_exists (key_path, &key_exists, error))
    return FALSE;
  if (cert_exists && key_exists)
    return TRUE;
  if (cert_exists || key_exists) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
        "%s exists but %s does not: not making a new pair over it (move it "
        "away, or configure both)", cert_exists ? cert_path : key_path,
        cert_exists ? key_path : cert_path);
    return FALSE;
  }
  for (i = 0; dns_names != NULL && dns_names[i] != NULL; i++)
    if (!check_alt_name (dns_names[i], error))
      return FALSE;

  if (!make_parent (cert_path, error) || !make_parent (key_path, error))
    return FALSE;
  if (!make_pair (common_name, dns_names, &cert_pem, &key_pem, error))
    return FALSE;

  if (!write_temp (key_path, &key_pem, 0600, &key_tmp, error)
      || !write_temp (cert_path, &cert_pem, 0644, &cert_tmp, error))
    goto out;
  ok = publish (key_tmp, key_path, error);
  g_clear_pointer (&key_tmp, g_free);
  if (!ok)
    goto out;
  ok = publish (cert_tmp, cert_path, error);
  g_clear_pointer (&cert_tmp, g_free);
  if (!ok) {
    /* The key is the one made just now: alone, it would only stop the
     * next start. */
    g_unlink (key_path);
    goto out;
  }
  sync_parent (key_path);
  sync_parent (cert_path);

  if (created != NULL)
    *created = TRUE;

out:
  if (key_tmp != NULL)
    g_unlink (key_tmp);
  if (cert_tmp != NULL)
    g_unlink (cert_tmp);
  return ok;
}

gchar *
wsp_certificate_fingerprint (GTlsCertificate * certificate)
{
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GChecksum) sha256 = NULL;
  guint8 digest[32];
  gsize digest_size = sizeof (digest);
  GString *text;
  gsize i;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sha256, der->data, der->len);
  g_checksum_get_digest (sha256, digest, &digest_size);

  text = g_string_sized_new (3 * digest_size);
  for (i = 0; i < digest_size; i++)
    g_string_append_printf (text, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (text, FALSE);
}
