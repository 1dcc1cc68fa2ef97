/*
 * tls_config.c - the shared half of the TLS layer: mbedTLS configuration,
 * RNG, certificates and keys from files, the server's self-signed
 * certificate, and the peer-name check for IP literals.
 *
 * mbedTLS 2.28 matches a hostname only against dNSName entries and the CN,
 * while Go (frp) matches an IP literal only against iPAddress entries. To
 * verify a server named by its address the way a stock frpc does, an IP
 * name is not handed to mbedTLS; the verify callback compares it with the
 * leaf certificate's iPAddress entries instead.
 */
#include "tls_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

#define SELF_SIGNED_DAYS 3650

/* ECDHE with AEAD only, ChaCha20-Poly1305 first: mbedTLS 2.28 seals
 * 16 KiB records with it at ~460 MB/s on the development machine against
 * ~210-250 MB/s for its AES-128-GCM even with AES-NI and PCLMULQDQ (its GCM
 * is not pipelined), and on small boards without AES instructions the gap
 * is wider. These are the suites Go (frp) offers and accepts for TLS 1.2;
 * a Go server picks by its own order (AES-GCM with AES-NI). */
static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};

static const char *nz(const char *s) { return s && *s ? s : NULL; }

static void mbed_err(int rc, char *buf, size_t len)
{
	mbedtls_strerror(rc, buf, len);
}

/* Depth 0 only: the leaf must carry our IP literal as an iPAddress. */
static int verify_ip(void *arg, mbedtls_x509_crt *crt, int depth,
		     uint32_t *flags)
{
	struct tls_config *c = arg;
	if (depth != 0 || !c->ip_len)
		return 0;
	const mbedtls_x509_sequence *san = &crt->subject_alt_names;
	for (; san && san->buf.p; san = san->next) {
		if (san->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7))
			continue;
		if (san->buf.len == c->ip_len &&
		    memcmp(san->buf.p, c->ip, c->ip_len) == 0)
			return 0;
	}
	*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

/* A fresh ECDSA P-256 key and a self-signed certificate for it, as frp
 * makes one at start when frps has none configured. */
static int self_signed(struct tls_config *c, char *err, size_t errlen)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	unsigned char der[2048];
	char nb[16], na[16], e[128];
	int rc;

	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	rc = mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (rc == 0)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
					 mbedtls_pk_ec(c->key),
					 mbedtls_ctr_drbg_random, &c->drbg);
	uint8_t sn[16];
	if (rc == 0) {
		mbedtls_ctr_drbg_random(&c->drbg, sn, sizeof(sn));
		sn[0] &= 0x7f; /* a positive serial */
		rc = mbedtls_mpi_read_binary(&serial, sn, sizeof(sn));
	}
	time_t now = time(NULL);
	time_t then = now + (time_t)SELF_SIGNED_DAYS * 86400;
	struct tm a, b;
	gmtime_r(&now, &a);
	gmtime_r(&then, &b);
	strftime(nb, sizeof(nb), "%Y%m%d%H%M%S", &a);
	strftime(na, sizeof(na), "%Y%m%d%H%M%S", &b);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &c->key);
	mbedtls_x509write_crt_set_issuer_key(&w, &c->key);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_serial(&w, &serial);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_subject_name(&w, "CN=frps");
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_issuer_name(&w, "CN=frps");
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_validity(&w, nb, na);
	int len = 0;
	if (rc == 0) {
		len = mbedtls_x509write_crt_der(&w, der, sizeof(der),
						mbedtls_ctr_drbg_random, &c->drbg);
		rc = len < 0 ? len : 0;
	}
	if (rc == 0)
		rc = mbedtls_x509_crt_parse_der(&c->cert, der + sizeof(der) - len,
						(size_t)len);
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	if (rc != 0) {
		mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "cannot make a self-signed certificate: %s", e);
		return -EIO;
	}
	c->self_signed = true;
	return 0;
}

static int load_pair(struct tls_config *c, const char *cert, const char *key,
		     char *err, size_t errlen)
{
	char e[128];
	int rc = mbedtls_x509_crt_parse_file(&c->cert, cert);
	if (rc != 0) {
		mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "certFile %s: %s", cert, e);
		return -EINVAL;
	}
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL);
	if (rc != 0) {
		mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "keyFile %s: %s", key, e);
		return -EINVAL;
	}
	return 0;
}

int tls_config_new(const struct tls_config_opts *o, struct tls_config **out,
		   char *err, size_t errlen)
{
	static const char pers[] = "frp-c tls";
	const char *cert = nz(o->cert_file), *key = nz(o->key_file);
	const char *ca = nz(o->ca_file), *name = nz(o->server_name);
	char e[128];
	int rc;

	if (!cert != !key) {
		snprintf(err, errlen, "certFile and keyFile must be set together");
		return -EINVAL;
	}
	struct tls_config *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->server = o->server;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_pk_init(&c->key);
	rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc != 0) {
		snprintf(err, errlen, "cannot seed the random generator");
		rc = -EIO;
		goto fail;
	}
	rc = mbedtls_ssl_config_defaults(&c->conf,
					 o->server ? MBEDTLS_SSL_IS_SERVER
						   : MBEDTLS_SSL_IS_CLIENT,
					 MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		snprintf(err, errlen, "cannot set up TLS defaults");
		rc = -EIO;
		goto fail;
	}
	/* TLS 1.2 and up, as frp (Go) negotiates by default. */
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_ciphersuites(&c->conf, suites);
	if (cert) {
		if ((rc = load_pair(c, cert, key, err, errlen)) < 0)
			goto fail;
	} else if (o->server && (rc = self_signed(c, err, errlen)) < 0) {
		goto fail;
	}
	if (cert || o->server) {
		rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
		if (rc != 0) {
			mbed_err(rc, e, sizeof(e));
			snprintf(err, errlen, "certificate and key: %s", e);
			rc = -EINVAL;
			goto fail;
		}
	}
	if (ca) {
		rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
		if (rc != 0) {
			mbed_err(rc, e, sizeof(e));
			snprintf(err, errlen, "trustedCaFile %s: %s", ca,
				 rc > 0 ? "some certificates do not parse" : e);
			rc = -EINVAL;
			goto fail;
		}
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		c->verifies = true;
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	if (!o->server && name) {
		struct in6_addr a6;
		if (inet_pton(AF_INET, name, c->ip) == 1) {
			c->ip_len = 4;
		} else if (inet_pton(AF_INET6, name, &a6) == 1) {
			memcpy(c->ip, &a6, 16);
			c->ip_len = 16;
		} else if (!(c->name = strdup(name))) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto fail;
		}
		if (c->ip_len)
			mbedtls_ssl_conf_verify(&c->conf, verify_ip, c);
	}
	*out = c;
	return 0;
fail:
	tls_config_free(c);
	return rc;
}

void tls_config_free(struct tls_config *c)
{
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_pk_free(&c->key);
	free(c->name);
	free(c);
}

bool tls_config_verifies(const struct tls_config *c) { return c->verifies; }

bool tls_config_self_signed(const struct tls_config *c)
{
	return c->self_signed;
}
