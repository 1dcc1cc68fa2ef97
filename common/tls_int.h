/*
 * tls_int.h - private to the TLS layer (tls_config.c, tls.c, tls_sniff.c).
 */
#ifndef TLS_INT_H
#define TLS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls.h"

struct tls_config {
	bool server;
	bool verifies;       /* a CA file was given */
	bool self_signed;
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt cert; /* our chain (server, or client cert) */
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	char *name;          /* client: DNS name to verify / send as SNI */
	uint8_t ip[16];      /* client: IP literal to verify, ip_len bytes */
	size_t ip_len;
};

#endif
