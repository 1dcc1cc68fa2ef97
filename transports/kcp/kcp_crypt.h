/*
 * kcp_crypt.h - per-datagram encryption of the KCP transport (sans-I/O).
 *
 * kcp-go 5.6.1 compatible modes (docs/kcp-wire.md §4, §6): every datagram is
 *   [16-byte random nonce][CRC-32/IEEE of bytes [20, end), LE][payload]
 * and then the WHOLE datagram is run through the cipher: full-block CFB with
 * kcp-go's fixed IV for the block ciphers (restarted for every datagram),
 * Salsa20 for "salsa20" (first 8 bytes stay clear), a fixed pad for "xor",
 * nothing for "none". Names follow kcptun's -crypt: none, aes (AES-256),
 * aes-128, aes-192, 3des, blowfish, xtea, salsa20, xor. kcp-go's cast5,
 * twofish, tea and sm4 are not offered (no implementation in our libraries).
 * Integrity is a CRC only: it catches corruption, not forgery or replay.
 *
 * Our own authenticated extension, NOT understood by kcp-go/kcptun:
 * "aes-128-gcm" and "chacha20-poly1305". Datagram:
 *   [4-byte sender id][8-byte packet counter, BE][ciphertext][16-byte tag]
 * The 12 header bytes are the AEAD nonce. Each kcp_crypt object picks a
 * random sender id and a random counter start, so two senders sharing a key
 * (both ends of a link) never reuse a nonce. Receivers reject forged
 * packets (tag) and replays (struct kcp_replay, a 1024-packet window).
 *
 * Keys: a 32-byte "pass", normally kcp_crypt_derive_key(password); each
 * cipher uses a prefix of it as kcptun does (aes-128 / xtea / aes-128-gcm:
 * 16 bytes, aes-192 / 3des: 24, others: 32).
 *
 * A kcp_crypt holds only key material, the nonce generator and the AEAD send
 * counter, so one object may serve many sessions of the same thread (e.g. a
 * listener); per-peer replay state lives in struct kcp_replay. Key schedules
 * are computed once in kcp_crypt_new(); seal/open work in place and never
 * allocate. Not thread-safe.
 */
#ifndef KCP_CRYPT_H
#define KCP_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KCP_CRYPT_KEY_LEN 32
#define KCP_CRYPT_NONCE_LEN 16
#define KCP_CRYPT_HEADER_LEN 20 /* kcp-go modes: nonce + CRC */
#define KCP_AEAD_HEADER_LEN 12  /* sender id + counter */
#define KCP_AEAD_TAG_LEN 16
#define KCP_REPLAY_WINDOW 1024 /* packets; a multiple of 64 */

struct kcp_crypt;

/*
 * Replay state of one peer for the AEAD modes. Zero-initialise it; the first
 * authenticated packet binds it to that peer's sender id, and packets from
 * any other sender id are rejected afterwards (a restarted peer is a new
 * session). Counters older than the window or seen before are rejected.
 */
struct kcp_replay {
	bool bound;
	uint8_t sender[4];
	uint64_t top; /* highest counter accepted */
	uint64_t seen[KCP_REPLAY_WINDOW / 64];
};

struct kcp_crypt_stats {
	uint64_t short_packets; /* shorter than header (+ trailer) */
	uint64_t auth_failures; /* CRC mismatch or bad AEAD tag */
	uint64_t replays;       /* AEAD replays / foreign sender ids */
};

/* kcptun key: PBKDF2-HMAC-SHA1(password, "kcp-go", 4096 iterations, 32 B). */
int kcp_crypt_derive_key(const char *password, uint8_t key[KCP_CRYPT_KEY_LEN]);

/* true if name is a cipher kcp_crypt_new() accepts. */
bool kcp_crypt_supported(const char *name);

/*
 * Cipher `name` keyed with the 32-byte key. Returns NULL with errno EINVAL
 * (unknown cipher; err names it), ENOMEM, or EIO (no randomness / library
 * failure), err filled in every failure case.
 */
struct kcp_crypt *kcp_crypt_new(const char *name,
				const uint8_t key[KCP_CRYPT_KEY_LEN], char *err,
				size_t errlen);
void kcp_crypt_free(struct kcp_crypt *c);

/* Canonical cipher name ("aes", ...). */
const char *kcp_crypt_name(const struct kcp_crypt *c);

/*
 * Bytes the session reserves in front of the payload (20 for kcp-go modes,
 * 12 for AEAD) and after it (0, or 16 for AEAD) in every datagram.
 */
size_t kcp_crypt_header_size(const struct kcp_crypt *c);
size_t kcp_crypt_trailer_size(const struct kcp_crypt *c);
bool kcp_crypt_is_aead(const struct kcp_crypt *c);

/*
 * The bare kcp-go BlockCrypt transform of a whole datagram, in place (no
 * nonce, no CRC). For tests and tools; sessions use seal/open.
 * 0, -EINVAL (salsa20 needs len >= 8) or -EOPNOTSUPP (AEAD modes).
 */
int kcp_crypt_encrypt(struct kcp_crypt *c, uint8_t *buf, size_t len);
int kcp_crypt_decrypt(struct kcp_crypt *c, uint8_t *buf, size_t len);

/*
 * Protect one outgoing datagram in place. buf[0 .. header) is space reserved
 * by the caller, the payload is buf[header .. len). kcp-go modes write the
 * random nonce and the CRC and encrypt; AEAD modes write sender id and
 * counter, encrypt and append the tag at buf[len .. len + 16), which must be
 * inside cap. Returns the datagram length to send, -EINVAL (len < header) or
 * -ENOBUFS (cap too small for the tag).
 */
ssize_t kcp_crypt_seal(struct kcp_crypt *c, uint8_t *buf, size_t len,
		       size_t cap);

/*
 * kcp_crypt_seal() in two steps, so a batch of datagrams can be encrypted
 * together. kcp_crypt_seal_begin() does everything but the cipher pass when
 * that pass can be batched (the AES ciphers with AES-NI: *later = true, then
 * the datagram must go through kcp_crypt_seal_finish() before it is sent);
 * otherwise it is kcp_crypt_seal() and *later = false. Same bytes on the
 * wire either way.
 */
ssize_t kcp_crypt_seal_begin(struct kcp_crypt *c, uint8_t *buf, size_t len,
			     size_t cap, bool *later);
void kcp_crypt_seal_finish(struct kcp_crypt *c, uint8_t *const *bufs,
			   const size_t *lens, unsigned n);

/*
 * Check and decrypt one received datagram in place. On success returns the
 * payload length; the payload is at buf + kcp_crypt_header_size(c).
 * -EBADMSG: too short, CRC mismatch or bad tag. -EALREADY (AEAD only):
 * replay, or a sender id other than the one `replay` is bound to.
 * replay is the peer's window for AEAD modes (ignored otherwise). Passing
 * NULL skips the replay check: then the caller must call kcp_replay_accept()
 * on the same buf once it knows the peer (e.g. a listener authenticating
 * before it can pick the session), and drop the packet if that fails.
 * Failures are counted in the stats.
 */
ssize_t kcp_crypt_open(struct kcp_crypt *c, uint8_t *buf, size_t len,
		       struct kcp_replay *replay);

/*
 * Replay check + record for a datagram already authenticated by
 * kcp_crypt_open(c, buf, len, NULL) (buf still holds its AEAD header).
 * 0 or -EALREADY.
 */
int kcp_replay_accept(struct kcp_replay *r, const uint8_t *buf);

void kcp_crypt_get_stats(const struct kcp_crypt *c, struct kcp_crypt_stats *st);

#endif
