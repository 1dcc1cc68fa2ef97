/*
 * kcp_crypt.c - kcp-go datagram crypt and our AEAD extension (kcp_crypt.h).
 */
#include "kcp_crypt.h"
#include "kcp_aesni.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/aes.h>
#include <mbedtls/blowfish.h>
#include <mbedtls/des.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/xtea.h>
#include <sodium.h>
#include <zlib.h>

/* kcp-go crypt.go initialVector; 8-byte block ciphers use its first half. */
static const uint8_t kcp_iv[16] = { 0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac,
				    0x1b, 0x01, 0xa4, 0x15, 0xf2, 0xc1,
				    0xfc, 0x78, 0xe6, 0x6b };
static const char kcp_salt[] = "kcp-go";
static const char xor_salt[] = "sH3CIVoF#rWLtJo6";
#define XOR_PAD_LEN 1500 /* kcp-go mtuLimit */
#define XOR_ITER 32

enum kcp_algo {
	ALG_NONE,
	ALG_AES,
	ALG_3DES,
	ALG_BLOWFISH,
	ALG_XTEA,
	ALG_SALSA20,
	ALG_XOR,
	ALG_GCM,
	ALG_CHACHA,
};

static const struct kcp_cipher_desc {
	const char *name;
	enum kcp_algo algo;
	unsigned keylen; /* prefix of the 32-byte key that is used */
} kcp_ciphers[] = {
	{ "none", ALG_NONE, 0 },
	{ "aes", ALG_AES, 32 },
	{ "aes-128", ALG_AES, 16 },
	{ "aes-192", ALG_AES, 24 },
	{ "3des", ALG_3DES, 24 },
	{ "blowfish", ALG_BLOWFISH, 32 },
	{ "xtea", ALG_XTEA, 16 },
	{ "salsa20", ALG_SALSA20, 32 },
	{ "xor", ALG_XOR, 32 },
	{ "aes-128-gcm", ALG_GCM, 16 },
	{ "chacha20-poly1305", ALG_CHACHA, 32 },
};

struct kcp_crypt {
	const struct kcp_cipher_desc *desc;
	size_t block; /* CFB block size, 0 for non-CFB modes */
	union {
		mbedtls_aes_context aes;
		mbedtls_des3_context des3;
		mbedtls_blowfish_context bf;
		mbedtls_xtea_context xtea;
		mbedtls_gcm_context gcm;
	} u;
	uint8_t key[KCP_CRYPT_KEY_LEN];
	uint8_t *pad; /* xor */
	/* nonce source: AES-128 over a counter, both random per object */
	mbedtls_aes_context rng;
	uint8_t rng_ctr[16];
	/* AEAD sender state */
	uint8_t sender[4];
	uint64_t send_ctr;
	struct kcp_crypt_stats st;
};

static int pbkdf2_sha1(const void *pw, size_t pwlen, const void *salt,
		       size_t saltlen, unsigned iter, uint8_t *out, size_t outlen)
{
	mbedtls_md_context_t md;
	int rc = -EIO;

	mbedtls_md_init(&md);
	if (mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA1),
			     1) == 0 &&
	    mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwlen, salt, saltlen, iter,
				      (uint32_t)outlen, out) == 0)
		rc = 0;
	mbedtls_md_free(&md);
	return rc;
}

int kcp_crypt_derive_key(const char *password, uint8_t key[KCP_CRYPT_KEY_LEN])
{
	return pbkdf2_sha1(password, strlen(password), kcp_salt,
			   sizeof(kcp_salt) - 1, 4096, key, KCP_CRYPT_KEY_LEN);
}

static const struct kcp_cipher_desc *find_cipher(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(kcp_ciphers) / sizeof(kcp_ciphers[0]);
	     i++)
		if (strcmp(name, kcp_ciphers[i].name) == 0)
			return &kcp_ciphers[i];
	return NULL;
}

bool kcp_crypt_supported(const char *name)
{
	return find_cipher(name) != NULL;
}

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int setup_cipher(struct kcp_crypt *c)
{
	const uint8_t *k = c->key;
	int rc = 0;

	switch (c->desc->algo) {
	case ALG_AES:
		mbedtls_aes_init(&c->u.aes);
		rc = mbedtls_aes_setkey_enc(&c->u.aes, k, c->desc->keylen * 8);
		c->block = 16;
		break;
	case ALG_3DES:
		mbedtls_des3_init(&c->u.des3);
		rc = mbedtls_des3_set3key_enc(&c->u.des3, k);
		c->block = 8;
		break;
	case ALG_BLOWFISH:
		mbedtls_blowfish_init(&c->u.bf);
		rc = mbedtls_blowfish_setkey(&c->u.bf, k, c->desc->keylen * 8);
		c->block = 8;
		break;
	case ALG_XTEA:
		mbedtls_xtea_init(&c->u.xtea);
		mbedtls_xtea_setup(&c->u.xtea, k);
		c->block = 8;
		break;
	case ALG_GCM:
		mbedtls_gcm_init(&c->u.gcm);
		rc = mbedtls_gcm_setkey(&c->u.gcm, MBEDTLS_CIPHER_ID_AES, k,
					c->desc->keylen * 8);
		break;
	case ALG_SALSA20:
	case ALG_CHACHA:
		/* selects libsodium's fastest implementations; idempotent */
		rc = sodium_init() < 0;
		break;
	case ALG_XOR:
		c->pad = malloc(XOR_PAD_LEN);
		if (!c->pad)
			return -ENOMEM;
		return pbkdf2_sha1(k, KCP_CRYPT_KEY_LEN, xor_salt,
				   sizeof(xor_salt) - 1, XOR_ITER, c->pad,
				   XOR_PAD_LEN);
	case ALG_NONE:
		break;
	}
	return rc ? -EIO : 0;
}

struct kcp_crypt *kcp_crypt_new(const char *name,
				const uint8_t key[KCP_CRYPT_KEY_LEN], char *err,
				size_t errlen)
{
	const struct kcp_cipher_desc *desc = find_cipher(name);
	struct kcp_crypt *c;
	uint8_t seed[16];
	int rc;

	if (!desc) {
		snprintf(err, errlen, "unknown kcp crypt '%s'",
			 name ? name : "(null)");
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "kcp crypt: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	c->desc = desc;
	memcpy(c->key, key, KCP_CRYPT_KEY_LEN);
	mbedtls_aes_init(&c->rng);
	rc = setup_cipher(c);
	if (rc == 0)
		rc = fill_random(seed, sizeof(seed));
	if (rc == 0)
		rc = fill_random(c->rng_ctr, sizeof(c->rng_ctr));
	if (rc == 0)
		rc = fill_random(c->sender, sizeof(c->sender));
	if (rc == 0)
		rc = fill_random(&c->send_ctr, sizeof(c->send_ctr));
	if (rc == 0 && mbedtls_aes_setkey_enc(&c->rng, seed, 128) != 0)
		rc = -EIO;
	mbedtls_platform_zeroize(seed, sizeof(seed));
	if (rc < 0) {
		snprintf(err, errlen, "kcp crypt '%s': %s", name,
			 rc == -ENOMEM ? "out of memory" : "setup failed");
		kcp_crypt_free(c);
		errno = -rc;
		return NULL;
	}
	/* room for 2^62 packets before the counter could wrap */
	c->send_ctr >>= 2;
	return c;
}

void kcp_crypt_free(struct kcp_crypt *c)
{
	if (!c)
		return;
	switch (c->desc->algo) {
	case ALG_AES:
		mbedtls_aes_free(&c->u.aes);
		break;
	case ALG_3DES:
		mbedtls_des3_free(&c->u.des3);
		break;
	case ALG_BLOWFISH:
		mbedtls_blowfish_free(&c->u.bf);
		break;
	case ALG_XTEA:
		mbedtls_xtea_free(&c->u.xtea);
		break;
	case ALG_GCM:
		mbedtls_gcm_free(&c->u.gcm);
		break;
	default:
		break;
	}
	mbedtls_aes_free(&c->rng);
	free(c->pad);
	mbedtls_platform_zeroize(c, sizeof(*c));
	free(c);
}

const char *kcp_crypt_name(const struct kcp_crypt *c)
{
	return c->desc->name;
}

bool kcp_crypt_is_aead(const struct kcp_crypt *c)
{
	return c->desc->algo == ALG_GCM || c->desc->algo == ALG_CHACHA;
}

size_t kcp_crypt_header_size(const struct kcp_crypt *c)
{
	return kcp_crypt_is_aead(c) ? KCP_AEAD_HEADER_LEN : KCP_CRYPT_HEADER_LEN;
}

size_t kcp_crypt_trailer_size(const struct kcp_crypt *c)
{
	return kcp_crypt_is_aead(c) ? KCP_AEAD_TAG_LEN : 0;
}

void kcp_crypt_get_stats(const struct kcp_crypt *c, struct kcp_crypt_stats *st)
{
	*st = c->st;
}

/* ---- kcp-go BlockCrypt transforms ----------------------------------------- */

static void block_encrypt(struct kcp_crypt *c, const uint8_t *in, uint8_t *out)
{
	switch (c->desc->algo) {
	case ALG_AES:
		mbedtls_aes_crypt_ecb(&c->u.aes, MBEDTLS_AES_ENCRYPT, in, out);
		break;
	case ALG_3DES:
		mbedtls_des3_crypt_ecb(&c->u.des3, in, out);
		break;
	case ALG_BLOWFISH:
		mbedtls_blowfish_crypt_ecb(&c->u.bf, MBEDTLS_BLOWFISH_ENCRYPT,
					   in, out);
		break;
	case ALG_XTEA:
		mbedtls_xtea_crypt_ecb(&c->u.xtea, MBEDTLS_XTEA_ENCRYPT, in, out);
		break;
	default:
		break;
	}
}

static void xor_words(uint8_t *dst, const uint8_t *ks, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, dst + i, 8);
		memcpy(&b, ks + i, 8);
		a ^= b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < n; i++)
		dst[i] ^= ks[i];
}

/*
 * Full-block CFB from the fixed IV over the whole buffer: keystream block i
 * is E(ciphertext block i-1), E(IV) for block 0; a trailing partial block
 * uses a prefix of the next keystream block.
 */
static void cfb(struct kcp_crypt *c, uint8_t *buf, size_t len, bool enc)
{
	size_t bs = c->block, off, n;
	uint8_t fb[16], ks[16];

	if (c->desc->algo == ALG_AES && kcp_aesni_usable()) {
		kcp_aesni_cfb(&c->u.aes, buf, len, kcp_iv, enc);
		return;
	}
	memcpy(fb, kcp_iv, bs);
	for (off = 0; off < len; off += n) {
		n = len - off < bs ? len - off : bs;
		block_encrypt(c, fb, ks);
		if (!enc && n == bs)
			memcpy(fb, buf + off, bs);
		xor_words(buf + off, ks, n);
		if (enc && n == bs)
			memcpy(fb, buf + off, bs);
	}
}

static int transform(struct kcp_crypt *c, uint8_t *buf, size_t len, bool enc)
{
	switch (c->desc->algo) {
	case ALG_NONE:
		return 0;
	case ALG_AES:
	case ALG_3DES:
	case ALG_BLOWFISH:
	case ALG_XTEA:
		cfb(c, buf, len, enc);
		return 0;
	case ALG_SALSA20:
		/* the first 8 bytes are the Salsa20 nonce and stay in clear */
		if (len < 8)
			return -EINVAL;
		crypto_stream_salsa20_xor(buf + 8, buf + 8, len - 8, buf,
					  c->key);
		return 0;
	case ALG_XOR:
		xor_words(buf, c->pad, len < XOR_PAD_LEN ? len : XOR_PAD_LEN);
		return 0;
	case ALG_GCM:
	case ALG_CHACHA:
		break;
	}
	return -EOPNOTSUPP;
}

int kcp_crypt_encrypt(struct kcp_crypt *c, uint8_t *buf, size_t len)
{
	return transform(c, buf, len, true);
}

int kcp_crypt_decrypt(struct kcp_crypt *c, uint8_t *buf, size_t len)
{
	return transform(c, buf, len, false);
}

static void next_nonce(struct kcp_crypt *c, uint8_t out[16])
{
	size_t i;

	mbedtls_aes_crypt_ecb(&c->rng, MBEDTLS_AES_ENCRYPT, c->rng_ctr, out);
	for (i = 0; i < sizeof(c->rng_ctr) && ++c->rng_ctr[i] == 0; i++)
		;
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths; datagrams are far below that */
	return (uint32_t)crc32(crc, p, (uInt)len);
}

/* ---- AEAD extension --------------------------------------------------- */

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static bool seen_bit(const struct kcp_replay *r, uint64_t ctr)
{
	uint64_t b = ctr % KCP_REPLAY_WINDOW;

	return r->seen[b / 64] >> (b % 64) & 1;
}

static void set_bit(struct kcp_replay *r, uint64_t ctr, bool on)
{
	uint64_t b = ctr % KCP_REPLAY_WINDOW;

	if (on)
		r->seen[b / 64] |= (uint64_t)1 << (b % 64);
	else
		r->seen[b / 64] &= ~((uint64_t)1 << (b % 64));
}

static int replay_check(const struct kcp_replay *r, const uint8_t *hdr)
{
	uint64_t ctr = get_be64(hdr + 4);

	if (!r->bound)
		return 0;
	if (memcmp(r->sender, hdr, 4) != 0)
		return -EALREADY;
	if (ctr > r->top)
		return 0;
	if (r->top - ctr >= KCP_REPLAY_WINDOW || seen_bit(r, ctr))
		return -EALREADY;
	return 0;
}

/* Record an authenticated, replay-checked packet. */
static void replay_commit(struct kcp_replay *r, const uint8_t *hdr)
{
	uint64_t ctr = get_be64(hdr + 4), s;

	if (!r->bound) {
		memset(r, 0, sizeof(*r));
		r->bound = true;
		memcpy(r->sender, hdr, 4);
		r->top = ctr;
	} else if (ctr > r->top) {
		/* slots between the old and the new top now mean newer ids */
		if (ctr - r->top >= KCP_REPLAY_WINDOW)
			memset(r->seen, 0, sizeof(r->seen));
		else
			for (s = r->top + 1; s != ctr; s++)
				set_bit(r, s, false);
		r->top = ctr;
	}
	set_bit(r, ctr, true);
}

int kcp_replay_accept(struct kcp_replay *r, const uint8_t *buf)
{
	int rc = replay_check(r, buf);

	if (rc == 0)
		replay_commit(r, buf);
	return rc;
}

static ssize_t aead_seal(struct kcp_crypt *c, uint8_t *buf, size_t len,
			 size_t cap)
{
	size_t plen = len - KCP_AEAD_HEADER_LEN;
	uint8_t *pt = buf + KCP_AEAD_HEADER_LEN;

	if (cap < len || cap - len < KCP_AEAD_TAG_LEN)
		return -ENOBUFS;
	memcpy(buf, c->sender, 4);
	put_be64(buf + 4, c->send_ctr++);
	if (c->desc->algo == ALG_GCM) {
		if (mbedtls_gcm_crypt_and_tag(&c->u.gcm, MBEDTLS_GCM_ENCRYPT,
					      plen, buf, KCP_AEAD_HEADER_LEN,
					      NULL, 0, pt, pt, KCP_AEAD_TAG_LEN,
					      buf + len) != 0)
			return -EIO;
	} else {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			pt, buf + len, NULL, pt, plen, NULL, 0, NULL, buf,
			c->key);
	}
	return (ssize_t)(len + KCP_AEAD_TAG_LEN);
}

static ssize_t aead_open(struct kcp_crypt *c, uint8_t *buf, size_t len,
			 struct kcp_replay *r)
{
	uint8_t hdr[KCP_AEAD_HEADER_LEN];
	size_t plen;
	int rc;

	if (len < KCP_AEAD_HEADER_LEN + KCP_AEAD_TAG_LEN) {
		c->st.short_packets++;
		return -EBADMSG;
	}
	if (r && replay_check(r, buf) < 0) {
		c->st.replays++;
		return -EALREADY;
	}
	plen = len - KCP_AEAD_HEADER_LEN - KCP_AEAD_TAG_LEN;
	memcpy(hdr, buf, sizeof(hdr));
	if (c->desc->algo == ALG_GCM) {
		/*
		 * mbedTLS may not decrypt in place; an output trailing the
		 * input by >= 8 bytes is allowed, so decrypt over the header
		 * and move the plaintext back.
		 */
		uint8_t *out = buf + KCP_AEAD_HEADER_LEN - 8;

		rc = mbedtls_gcm_auth_decrypt(&c->u.gcm, plen, hdr, sizeof(hdr),
					      NULL, 0, buf + len - KCP_AEAD_TAG_LEN,
					      KCP_AEAD_TAG_LEN,
					      buf + KCP_AEAD_HEADER_LEN, out);
		if (rc == 0) {
			memmove(buf + KCP_AEAD_HEADER_LEN, out, plen);
			memcpy(buf, hdr, sizeof(hdr));
		}
	} else {
		rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
			buf + KCP_AEAD_HEADER_LEN, NULL,
			buf + KCP_AEAD_HEADER_LEN, plen,
			buf + len - KCP_AEAD_TAG_LEN, NULL, 0, hdr, c->key);
	}
	if (rc != 0) {
		c->st.auth_failures++;
		return -EBADMSG;
	}
	if (r)
		replay_commit(r, hdr);
	return (ssize_t)plen;
}

/* ---- datagram layer --------------------------------------------------- */

/* kcp-go header: random nonce, then the CRC of what follows it. */
static void seal_head(struct kcp_crypt *c, uint8_t *buf, size_t len)
{
	uint32_t crc;

	next_nonce(c, buf);
	crc = crc_of(buf + KCP_CRYPT_HEADER_LEN, len - KCP_CRYPT_HEADER_LEN);
	buf[16] = (uint8_t)crc;
	buf[17] = (uint8_t)(crc >> 8);
	buf[18] = (uint8_t)(crc >> 16);
	buf[19] = (uint8_t)(crc >> 24);
}

ssize_t kcp_crypt_seal(struct kcp_crypt *c, uint8_t *buf, size_t len,
		       size_t cap)
{
	if (len < kcp_crypt_header_size(c))
		return -EINVAL;
	if (kcp_crypt_is_aead(c))
		return aead_seal(c, buf, len, cap);
	seal_head(c, buf, len);
	transform(c, buf, len, true);
	return (ssize_t)len;
}

ssize_t kcp_crypt_seal_begin(struct kcp_crypt *c, uint8_t *buf, size_t len,
			     size_t cap, bool *later)
{
	*later = false;
	if (kcp_crypt_is_aead(c) || c->desc->algo != ALG_AES ||
	    !kcp_aesni_usable())
		return kcp_crypt_seal(c, buf, len, cap);
	if (len < KCP_CRYPT_HEADER_LEN)
		return -EINVAL;
	seal_head(c, buf, len);
	*later = true;
	return (ssize_t)len;
}

void kcp_crypt_seal_finish(struct kcp_crypt *c, uint8_t *const *bufs,
			   const size_t *lens, unsigned n)
{
	kcp_aesni_cfb_enc_many(&c->u.aes, bufs, lens, n, kcp_iv);
}

ssize_t kcp_crypt_open(struct kcp_crypt *c, uint8_t *buf, size_t len,
		       struct kcp_replay *replay)
{
	uint32_t crc;

	if (kcp_crypt_is_aead(c))
		return aead_open(c, buf, len, replay);
	if (len < KCP_CRYPT_HEADER_LEN) {
		c->st.short_packets++;
		return -EBADMSG;
	}
	transform(c, buf, len, false);
	crc = (uint32_t)buf[16] | (uint32_t)buf[17] << 8 |
	      (uint32_t)buf[18] << 16 | (uint32_t)buf[19] << 24;
	if (crc != crc_of(buf + KCP_CRYPT_HEADER_LEN,
			  len - KCP_CRYPT_HEADER_LEN)) {
		c->st.auth_failures++;
		return -EBADMSG;
	}
	return (ssize_t)(len - KCP_CRYPT_HEADER_LEN);
}
