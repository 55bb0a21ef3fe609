/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A WSP station's own TLS certificate: TLS by default (ETSI EN 303 645),
 * so a station with none configured makes a self-signed one at its first
 * start, and shows its fingerprint to whoever installs it; other stations
 * pin that certificate (WspClientOptions.pinned_certificate_file). Part of
 * libopenintercom-wsptransport, made with GnuTLS. */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Makes a self-signed certificate and key in PEM at @cert_path and
 * @key_path unless both exist: ECDSA P-256, valid 10 years from a day ago,
 * CN=@common_name, subjectAltName: each of @dns_names (NULL-terminated, may
 * be NULL; an entry that is an IP address literal goes in as an IP
 * address, since browsers match an IP only against those), plus IP
 * 127.0.0.1 and ::1; key usage digitalSignature, extended key usage
 * serverAuth, CA:FALSE; a random 16-byte positive serial. The key file is
 * created with mode 0600 (never readable by others, not even for a moment:
 * opened with O_CREAT|O_EXCL and 0600, written, fsynced, then moved from a
 * temporary name in the same directory), the certificate 0644. The
 * directory of each is made (0700) if missing. If only one of the two
 * files exists: error G_IO_ERROR_EXISTS naming it (never overwrite a key).
 * @created: set to whether they were made now. */
gboolean wsp_certificate_ensure_self_signed (const gchar * cert_path,
    const gchar * key_path, const gchar * common_name,
    const gchar * const *dns_names, gboolean * created, GError ** error);

/* The SHA-256 fingerprint of @certificate's DER, "AB:CD:..:EF" (95 chars,
 * upper case), as browsers and `openssl x509 -fingerprint -sha256` show it. */
gchar *wsp_certificate_fingerprint (GTlsCertificate * certificate);

G_END_DECLS
