/*
 * test_kcp_crypt.c - kcp-go 5.6.1 datagram crypt KATs (docs/kcp-wire.md §6),
 * seal/open round trips, tamper and replay rejection, AEAD extension.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/kcp/kcp_aesni.h"
#include "../../transports/kcp/kcp_crypt.h"

static const char *const kcpgo_ciphers[] = {
	"none", "aes", "aes-128", "aes-192", "3des",
	"blowfish", "xtea", "salsa20", "xor",
};
#define N_KCPGO (sizeof(kcpgo_ciphers) / sizeof(kcpgo_ciphers[0]))
static const char *const aead_ciphers[] = { "aes-128-gcm",
					    "chacha20-poly1305" };
#define N_AEAD (sizeof(aead_ciphers) / sizeof(aead_ciphers[0]))

static uint8_t key[KCP_CRYPT_KEY_LEN];

static void hex2bin(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static struct kcp_crypt *mk(const char *name)
{
	char err[128] = "";
	struct kcp_crypt *c = kcp_crypt_new(name, key, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s: %s", name, err);
	return c;
}

static void setup(void)
{
	ck_assert_int_eq(kcp_crypt_derive_key("it's a secrect", key), 0);
}

START_TEST(derive_key_kat)
{
	uint8_t want[32];

	hex2bin("25d7d7bd51050742d8d791f2b653c6c8b2366b7e25a124cf7a2e12eaf4ffa444",
		want, sizeof(want));
	ck_assert_mem_eq(key, want, sizeof(want));
}
END_TEST

static const struct {
	const char *name, *ct;
} kats[] = {
	{ "aes", "86834343335b168ca911bf584a05f9900e1c6fda2c822a981eb6090941"
		 "1c15690afb116b0d6073935dd1a399f9e6a343eb991b6b55" },
	{ "aes-128", "ddd7e0a7981ba3e2a7f6d51f2a2663184531e844fe0ddec4d65df1"
		     "5b489c5ba3e15ff1881eaf077a23107a1086c10db7c875fcb975" },
	{ "aes-192", "b9db59f7dd1bce4922855fb7f8f8e261a4937c0d7360349b248716"
		     "84eb7bca422017d9f232c59cd2e4603e84633a60e95ba3e258e0" },
	{ "salsa20", "00010203040506079aaa6e7faf75365c40a4761a0c7be4446a8a41"
		     "1f62e5954a4ac802ddae0f35e6455e56815ac144658193254bc8" },
	{ "blowfish", "186797305116055ece6531b898c4b2352cc7452301c8434ae21a1"
		      "256aeb7305fb08d8648ad906dcc13c8fef8f09b9d8e1a8976a3a7" },
	{ "3des", "5dca5d4fac8f6accf083365ae9eb528a24c6879fd6daee12f406f9a17"
		  "955efec4fa86c417ab7d94fa7737722449a60ca9acdec1ea9" },
	{ "xtea", "09256989438dfb5af0f2a323dfd1ac2c9af741cc94cf83fec52a723952"
		  "60600933396d604d06cba2459225658d5d278a5e32c78c06" },
	{ "xor", "0fff8b84a99173765c7011c3f60cb8237bdf1315a6805604d54b25a7036"
		 "7b293d08e441c63be35690d89fadcb202142ddf8eec70c7" },
};
#define N_KATS (sizeof(kats) / sizeof(kats[0]))

/* plaintext = bytes 00..34 (16 "nonce", 4 "crc", 33 payload), raw transform */
START_TEST(cipher_kat)
{
	uint8_t pt[53], buf[53], want[53];
	struct kcp_crypt *c = mk(kats[_i].name);
	size_t i;

	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	hex2bin(kats[_i].ct, want, sizeof(want));
	memcpy(buf, pt, sizeof(buf));
	ck_assert_int_eq(kcp_crypt_encrypt(c, buf, sizeof(buf)), 0);
	ck_assert_msg(memcmp(buf, want, sizeof(buf)) == 0, "%s ciphertext",
		      kats[_i].name);
	ck_assert_int_eq(kcp_crypt_decrypt(c, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(buf, pt, sizeof(pt));
	kcp_crypt_free(c);
}
END_TEST

/*
 * A datagram built like the KAT plaintext but with the real CRC
 * (crc32(pt[20:]) = 3c546cdb, LE) opens under every kcp-go cipher.
 */
START_TEST(open_kat_datagram)
{
	uint8_t pt[53], buf[53];
	size_t i, k;

	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	pt[16] = 0xdb;
	pt[17] = 0x6c;
	pt[18] = 0x54;
	pt[19] = 0x3c;
	for (k = 0; k < N_KCPGO; k++) {
		struct kcp_crypt *c = mk(kcpgo_ciphers[k]);

		memcpy(buf, pt, sizeof(buf));
		ck_assert_int_eq(kcp_crypt_encrypt(c, buf, sizeof(buf)), 0);
		ck_assert_int_eq(kcp_crypt_open(c, buf, sizeof(buf), NULL), 33);
		ck_assert_mem_eq(buf + 20, pt + 20, 33);
		/* the wrong CRC of the KAT plaintext itself is rejected */
		for (i = 0; i < sizeof(pt); i++)
			buf[i] = (uint8_t)i;
		ck_assert_int_eq(kcp_crypt_encrypt(c, buf, sizeof(buf)), 0);
		ck_assert_int_eq(kcp_crypt_open(c, buf, sizeof(buf), NULL),
				 -EBADMSG);
		kcp_crypt_free(c);
	}
}
END_TEST

START_TEST(xor_pad_prefix)
{
	struct kcp_crypt *c = mk("xor");
	uint8_t buf[1600] = { 0 }, want[16];

	hex2bin("0ffe8987ad94757154791bc8fa01b62c", want, sizeof(want));
	kcp_crypt_encrypt(c, buf, sizeof(buf));
	ck_assert_mem_eq(buf, want, sizeof(want));
	/* kcp-go xors min(len, 1500) bytes */
	ck_assert_uint_eq(buf[1500], 0);
	ck_assert_uint_eq(buf[1599], 0);
	kcp_crypt_free(c);
}
END_TEST

static void check_round_trip(const char *name)
{
	static const size_t lens[] = { 0, 1, 7, 8, 15, 16, 17, 33, 1000, 1452 };
	struct kcp_crypt *c = mk(name);
	size_t hdr = kcp_crypt_header_size(c), tr = kcp_crypt_trailer_size(c);
	uint8_t buf[1600], pay[1500], first[1600];
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct kcp_replay r = { 0 };
		size_t j;
		ssize_t n;

		for (j = 0; j < lens[i]; j++)
			pay[j] = (uint8_t)(j * 7 + i);
		memcpy(buf + hdr, pay, lens[i]);
		n = kcp_crypt_seal(c, buf, hdr + lens[i], sizeof(buf));
		ck_assert_int_eq(n, (ssize_t)(hdr + lens[i] + tr));
		if (lens[i] >= 16 && strcmp(name, "none") != 0)
			ck_assert_msg(memcmp(buf + hdr, pay, 16) != 0,
				      "%s left payload in clear", name);
		memcpy(first, buf, (size_t)n);
		ck_assert_int_eq(kcp_crypt_open(c, buf, (size_t)n, &r),
				 (ssize_t)lens[i]);
		ck_assert_mem_eq(buf + hdr, pay, lens[i]);
		/* a second seal of the same payload differs (fresh nonce) */
		memcpy(buf + hdr, pay, lens[i]);
		n = kcp_crypt_seal(c, buf, hdr + lens[i], sizeof(buf));
		ck_assert_msg(memcmp(buf, first, (size_t)n) != 0,
			      "%s repeated a datagram", name);
	}
	kcp_crypt_free(c);
}

START_TEST(round_trip_all)
{
	size_t k;

	for (k = 0; k < N_KCPGO; k++)
		check_round_trip(kcpgo_ciphers[k]);
	for (k = 0; k < N_AEAD; k++)
		check_round_trip(aead_ciphers[k]);
}
END_TEST

/* Two-step seal for batches: every cipher, a batch of datagrams of mixed
 * lengths, each opens to its payload; the AES ciphers defer their cipher
 * pass (when AES-NI is there), the rest seal in one step. */
START_TEST(batched_seal_all)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 100, 1000, 1322, 1322,
				       1322, 5, 1322, 700, 1322, 31, 1322, 1322, 64 };
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	static uint8_t buf[N][1600], pay[N][1500];
	const char *names[N_KCPGO + N_AEAD];
	size_t k, nn = 0;

	for (k = 0; k < N_KCPGO; k++)
		names[nn++] = kcpgo_ciphers[k];
	for (k = 0; k < N_AEAD; k++)
		names[nn++] = aead_ciphers[k];
	for (k = 0; k < nn; k++) {
		struct kcp_crypt *c = mk(names[k]);
		size_t hdr = kcp_crypt_header_size(c), tr = kcp_crypt_trailer_size(c);
		uint8_t *bufs[N];
		size_t blen[N];
		unsigned nl = 0;
		bool is_aes = strncmp(names[k], "aes", 3) == 0 &&
			      !kcp_crypt_is_aead(c);

		for (size_t i = 0; i < N; i++) {
			bool later;
			ssize_t n;

			for (size_t j = 0; j < lens[i]; j++)
				pay[i][j] = (uint8_t)(j * 13 + i + k);
			memcpy(buf[i] + hdr, pay[i], lens[i]);
			n = kcp_crypt_seal_begin(c, buf[i], hdr + lens[i],
						 sizeof(buf[i]), &later);
			ck_assert_int_eq(n, (ssize_t)(hdr + lens[i] + tr));
			ck_assert(later == (is_aes && kcp_aesni_usable()));
			if (later) {
				bufs[nl] = buf[i];
				blen[nl++] = (size_t)n;
			}
		}
		if (nl)
			kcp_crypt_seal_finish(c, bufs, blen, nl);
		for (size_t i = 0; i < N; i++) {
			struct kcp_replay r = { 0 };
			size_t n = hdr + lens[i] + tr;

			if (lens[i] >= 16 && strcmp(names[k], "none") != 0)
				ck_assert_msg(memcmp(buf[i] + hdr, pay[i], 16) != 0,
					      "%s left payload in clear", names[k]);
			ck_assert_int_eq(kcp_crypt_open(c, buf[i], n, &r),
					 (ssize_t)lens[i]);
			ck_assert_mem_eq(buf[i] + hdr, pay[i], lens[i]);
		}
		kcp_crypt_free(c);
	}
}
END_TEST

/* Separate objects with the same key interoperate (both ends of a link). */
START_TEST(cross_object)
{
	size_t k;

	for (k = 0; k < N_KCPGO + N_AEAD; k++) {
		const char *name = k < N_KCPGO ? kcpgo_ciphers[k] :
						 aead_ciphers[k - N_KCPGO];
		struct kcp_crypt *a = mk(name), *b = mk(name);
		size_t hdr = kcp_crypt_header_size(a);
		struct kcp_replay r = { 0 };
		uint8_t buf[256];
		ssize_t n;

		memset(buf + hdr, 0x5a, 100);
		n = kcp_crypt_seal(a, buf, hdr + 100, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(kcp_crypt_open(b, buf, (size_t)n, &r), 100);
		ck_assert_uint_eq(buf[hdr + 99], 0x5a);
		kcp_crypt_free(a);
		kcp_crypt_free(b);
	}
}
END_TEST

static bool is_cfb(const char *name)
{
	return strncmp(name, "aes", 3) == 0 || strcmp(name, "3des") == 0 ||
	       strcmp(name, "blowfish") == 0 || strcmp(name, "xtea") == 0;
}

/*
 * Every single-bit flip is rejected where the format can see it: all bits of
 * an AEAD datagram; CRC and payload bits of kcp-go datagrams; nonce bits too
 * where they reach covered bytes (AES-CFB block 0, 8-byte CFB block 1,
 * salsa20's keystream nonce 0..7). Nonce bytes whose changes stay inside the
 * nonce (none, xor, salsa20 8..15, 8-byte CFB block 0) are not covered by
 * kcp-go's CRC.
 */
static void check_bit_flips(const char *name)
{
	struct kcp_crypt *c = mk(name);
	struct kcp_crypt_stats st;
	size_t hdr = kcp_crypt_header_size(c), from, bit, rejected = 0;
	uint8_t buf[256], orig[256];
	ssize_t n;

	memset(buf + hdr, 0xc3, 61);
	n = kcp_crypt_seal(c, buf, hdr + 61, sizeof(buf));
	ck_assert_int_gt(n, 0);
	memcpy(orig, buf, (size_t)n);
	if (kcp_crypt_is_aead(c) || strncmp(name, "aes", 3) == 0)
		from = 0;
	else if (is_cfb(name))
		from = 8; /* a flip in block 0 only garbles nonce block 1 */
	else if (strcmp(name, "salsa20") == 0)
		from = 0; /* bits 64..127 skipped below */
	else
		from = 16;
	for (bit = from * 8; bit < (size_t)n * 8; bit++) {
		struct kcp_replay r = { 0 };
		ssize_t rc;

		if (strcmp(name, "salsa20") == 0 && bit >= 64 && bit < 128)
			continue;
		memcpy(buf, orig, (size_t)n);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = kcp_crypt_open(c, buf, (size_t)n, &r);
		ck_assert_msg(rc == -EBADMSG, "%s: flip of bit %zu accepted",
			      name, bit);
		rejected++;
	}
	kcp_crypt_get_stats(c, &st);
	ck_assert_uint_eq(st.auth_failures, rejected);
	/* the untouched datagram still opens */
	ck_assert_int_eq(kcp_crypt_open(c, orig, (size_t)n, NULL), 61);
	kcp_crypt_free(c);
}

START_TEST(bit_flips_rejected)
{
	size_t k;

	for (k = 0; k < N_KCPGO; k++)
		check_bit_flips(kcpgo_ciphers[k]);
	for (k = 0; k < N_AEAD; k++)
		check_bit_flips(aead_ciphers[k]);
}
END_TEST

START_TEST(too_short_rejected)
{
	size_t k, len;

	for (k = 0; k < N_KCPGO + N_AEAD; k++) {
		const char *name = k < N_KCPGO ? kcpgo_ciphers[k] :
						 aead_ciphers[k - N_KCPGO];
		struct kcp_crypt *c = mk(name);
		size_t min = kcp_crypt_header_size(c) +
			     kcp_crypt_trailer_size(c);
		struct kcp_crypt_stats st;
		uint8_t buf[64] = { 0 };

		for (len = 0; len < min; len++)
			ck_assert_int_eq(kcp_crypt_open(c, buf, len, NULL),
					 -EBADMSG);
		kcp_crypt_get_stats(c, &st);
		ck_assert_uint_eq(st.short_packets, min);
		ck_assert_uint_eq(st.auth_failures, 0);
		/* seal needs the header space, AEAD room for the tag */
		ck_assert_int_eq(kcp_crypt_seal(c, buf, kcp_crypt_header_size(c) - 1,
						sizeof(buf)),
				 -EINVAL);
		if (kcp_crypt_is_aead(c))
			ck_assert_int_eq(kcp_crypt_seal(c, buf, 30, 45), -ENOBUFS);
		kcp_crypt_free(c);
	}
}
END_TEST

START_TEST(sizes_and_names)
{
	struct kcp_crypt *c;
	char err[128] = "";
	uint8_t buf[32] = { 0 };
	size_t k;

	for (k = 0; k < N_KCPGO; k++) {
		c = mk(kcpgo_ciphers[k]);
		ck_assert_str_eq(kcp_crypt_name(c), kcpgo_ciphers[k]);
		ck_assert_uint_eq(kcp_crypt_header_size(c), 20);
		ck_assert_uint_eq(kcp_crypt_trailer_size(c), 0);
		ck_assert(!kcp_crypt_is_aead(c));
		kcp_crypt_free(c);
	}
	for (k = 0; k < N_AEAD; k++) {
		c = mk(aead_ciphers[k]);
		ck_assert_uint_eq(kcp_crypt_header_size(c), 12);
		ck_assert_uint_eq(kcp_crypt_trailer_size(c), 16);
		ck_assert(kcp_crypt_is_aead(c));
		ck_assert_int_eq(kcp_crypt_encrypt(c, buf, sizeof(buf)),
				 -EOPNOTSUPP);
		ck_assert_int_eq(kcp_crypt_decrypt(c, buf, sizeof(buf)),
				 -EOPNOTSUPP);
		kcp_crypt_free(c);
	}
	ck_assert(kcp_crypt_supported("aes"));
	ck_assert(!kcp_crypt_supported("twofish"));
	ck_assert(!kcp_crypt_supported(NULL));
	errno = 0;
	ck_assert_ptr_null(kcp_crypt_new("twofish", key, err, sizeof(err)));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "twofish"));
	kcp_crypt_free(NULL);
	/* the bare salsa20 transform needs its 8-byte nonce */
	c = mk("salsa20");
	ck_assert_int_eq(kcp_crypt_encrypt(c, buf, 7), -EINVAL);
	kcp_crypt_free(c);
}
END_TEST

/* AEAD header: sender id + big-endian counter, +1 per datagram. */
START_TEST(aead_layout)
{
	size_t k;

	for (k = 0; k < N_AEAD; k++) {
		struct kcp_crypt *c = mk(aead_ciphers[k]);
		uint8_t a[64], b[64];
		uint64_t ca = 0, cb = 0;
		int i;

		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		ck_assert_int_eq(kcp_crypt_seal(c, a, 20, sizeof(a)), 36);
		ck_assert_int_eq(kcp_crypt_seal(c, b, 20, sizeof(b)), 36);
		ck_assert_mem_eq(a, b, 4);
		for (i = 4; i < 12; i++) {
			ca = ca << 8 | a[i];
			cb = cb << 8 | b[i];
		}
		ck_assert_uint_eq(cb, ca + 1);
		kcp_crypt_free(c);
	}
}
END_TEST

START_TEST(aead_replay)
{
	struct kcp_crypt *c = mk(aead_ciphers[_i]);
	struct kcp_crypt *other = mk(aead_ciphers[_i]);
	struct kcp_crypt_stats st;
	struct kcp_replay r = { 0 }, r2 = { 0 };
	static uint8_t pkt[1100][48];
	uint8_t buf[48];
	int i;

	for (i = 0; i < 1100; i++) {
		memset(pkt[i], i & 0xff, sizeof(pkt[i]));
		ck_assert_int_eq(kcp_crypt_seal(c, pkt[i], 32, 48), 48);
	}
#define OPEN(k, rp) (memcpy(buf, pkt[k], 48), kcp_crypt_open(c, buf, 48, rp))
	ck_assert_int_eq(OPEN(5, &r), 20);
	ck_assert_int_eq(OPEN(5, &r), -EALREADY);
	ck_assert_int_eq(OPEN(3, &r), 20); /* older, inside the window */
	ck_assert_int_eq(OPEN(3, &r), -EALREADY);
	ck_assert_int_eq(OPEN(4, &r), 20);
	ck_assert_int_eq(OPEN(1029, &r), 20); /* window slides past 5 */
	ck_assert_int_eq(OPEN(4, &r), -EALREADY); /* too old */
	ck_assert_int_eq(OPEN(6, &r), 20);        /* 1029 - 6 < 1024 */
	ck_assert_int_eq(OPEN(1099, &r), 20);
	ck_assert_int_eq(OPEN(1029, &r), -EALREADY);
	ck_assert_int_eq(OPEN(1098, &r), 20);
	/* a forged copy fails and does not burn the counter */
	memcpy(buf, pkt[1097], 48);
	buf[40] ^= 1;
	ck_assert_int_eq(kcp_crypt_open(c, buf, 48, &r), -EBADMSG);
	ck_assert_int_eq(OPEN(1097, &r), 20);
	/* a different sender (another object, same key) is not this peer */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(kcp_crypt_seal(other, buf, 32, 48), 48);
	ck_assert_int_eq(kcp_crypt_open(c, buf, 48, &r), -EALREADY);
	/* deferred check: authenticate first, then accept per peer */
	ck_assert_int_eq(OPEN(10, NULL), 20);
	ck_assert_int_eq(kcp_replay_accept(&r2, buf), 0);
	ck_assert_int_eq(kcp_replay_accept(&r2, buf), -EALREADY);
	ck_assert_int_eq(OPEN(10, NULL), 20); /* no window: no replay check */
#undef OPEN
	kcp_crypt_get_stats(c, &st);
	ck_assert_uint_eq(st.replays, 5);
	ck_assert_uint_eq(st.auth_failures, 1);
	kcp_crypt_free(c);
	kcp_crypt_free(other);
}
END_TEST

/* A window jump larger than the window forgets everything older. */
START_TEST(replay_window_jump)
{
	struct kcp_replay r = { 0 };
	uint8_t h[12] = { 1, 2, 3, 4 };
	uint64_t seq[] = { 100, 99, 5000, 3977, 3976, 5001, 4999 };
	int want[] = { 0, 0, 0, 0, -EALREADY, 0, 0 };
	size_t i;
	int b;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		for (b = 0; b < 8; b++)
			h[4 + b] = (uint8_t)(seq[i] >> (56 - 8 * b));
		ck_assert_int_eq(kcp_replay_accept(&r, h), want[i]);
	}
	ck_assert_int_eq(kcp_replay_accept(&r, h), -EALREADY);
}
END_TEST

static Suite *crypt_suite(void)
{
	Suite *s = suite_create("kcp_crypt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, derive_key_kat);
	tcase_add_loop_test(tc, cipher_kat, 0, N_KATS);
	tcase_add_test(tc, open_kat_datagram);
	tcase_add_test(tc, xor_pad_prefix);
	tcase_add_test(tc, round_trip_all);
	tcase_add_test(tc, cross_object);
	tcase_add_test(tc, batched_seal_all);
	tcase_add_test(tc, bit_flips_rejected);
	tcase_add_test(tc, too_short_rejected);
	tcase_add_test(tc, sizes_and_names);
	tcase_add_test(tc, aead_layout);
	tcase_add_loop_test(tc, aead_replay, 0, N_AEAD);
	tcase_add_test(tc, replay_window_jump);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
