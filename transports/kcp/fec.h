/*
 * fec.h - kcp-go 5.6.1 compatible forward error correction (sans-I/O).
 *
 * Reed-Solomon over GF(2^8) (poly 0x11D) with klauspost/reedsolomon's
 * systematic matrix E = V * inv(V_top), V[r][c] = r^c, so parity bytes are
 * identical to kcp-go's (docs/kcp-wire.md §5, §5.1). The math runs on
 * jerasure/gf-complete; shards are kept in 64-byte aligned buffers because
 * gf-complete's region multiply needs source and destination equally aligned.
 *
 * FEC packet (after the crypt header has been stripped / before it is added):
 *   [seqid LE u32][type LE u16: 0xF1 data, 0xF2 parity][data: size LE u16 =
 *   2 + KCP length, then KCP bytes | parity: L parity bytes]
 * Group g = seqids [g*(ds+ps), g*(ds+ps) + ds+ps-1]: ds data then ps parity.
 *
 * Neither object reads a clock, logs or allocates per packet: buffers are
 * fixed pools sized at _new() from ds/ps and mtu (the decoder re-allocates
 * them only when auto-tuning changes its geometry). Not thread-safe; one
 * owner per object (jerasure's lazily built GF tables are process-global).
 */
#ifndef KCP_FEC_H
#define KCP_FEC_H

#include <stddef.h>
#include <stdint.h>

#define FEC_HEADER_SIZE 6       /* seqid + type */
#define FEC_HEADER_SIZE_PLUS2 8 /* + size field of a data shard */
#define FEC_TYPE_DATA 0xf1
#define FEC_TYPE_PARITY 0xf2
#define FEC_MAX_PACKET 1500 /* kcp-go mtuLimit: no datagram is larger */
#define FEC_MAX_SHARDS 256  /* ds + ps limit of RS over GF(2^8) */
#define FEC_EXPIRE_MS 60000 /* receive-side shards older than this are dropped */
#define FEC_RX_MULTI 3      /* receive queue holds 3 * (ds + ps) shards */
#define FEC_TAILROOM 32     /* writable bytes after each parity datagram */

/*
 * Classify a datagram whose crypt header is already stripped. kcp-go detects
 * FEC by content: a raw KCP segment has its cmd (81..84) at byte 4, so the
 * LE16 at offset 4 is 0xF1/0xF2 only for FEC packets. Returns FEC_TYPE_DATA,
 * FEC_TYPE_PARITY, or 0 for "not FEC" (feed it to KCP as it is). A FEC packet
 * shorter than FEC_HEADER_SIZE_PLUS2 is malformed (kcp-go counts InErrs);
 * fec_decoder_input() rejects it.
 */
static inline int fec_packet_type(const uint8_t *pkt, size_t len)
{
	unsigned t;

	if (len < FEC_HEADER_SIZE)
		return 0;
	t = (unsigned)pkt[4] | (unsigned)pkt[5] << 8;
	return t == FEC_TYPE_DATA || t == FEC_TYPE_PARITY ? (int)t : 0;
}

/*
 * Fill parity_rows (ps rows of ds bytes, row-major) with the parity part of
 * klauspost's encoding matrix. 0 or -EINVAL (ds < 1, ps < 1, ds + ps > 256).
 * Exposed for tests and tools; the codecs call it themselves.
 */
int fec_parity_matrix(int ds, int ps, uint8_t *parity_rows);

/*
 * One-shot RS encode of ds equal-length raw shards into ps parity shards
 * (any alignment; allocates). For tests and tools: the codecs below keep
 * their own buffers. 0, -EINVAL or -ENOMEM.
 */
int fec_rs_encode(int ds, int ps, const uint8_t *const *data,
		  uint8_t *const *parity, size_t len);

/* GF(2^8) product with poly 0x11D (as klauspost's galMultiply). */
uint8_t fec_gf_mul(uint8_t a, uint8_t b);

/* ---- encoder ------------------------------------------------------------ */

struct fec_encoder;

/*
 * ds data + ps parity shards per group (both >= 1, ds + ps <= 256).
 * header_offset: bytes reserved in front of the FEC header of every datagram
 * for the crypt layer (20 for kcp-go crypt, 0 without crypt, or the AEAD
 * header size). mtu: largest datagram (incl. header_offset) that will be
 * passed to fec_encoder_encode(), at most FEC_MAX_PACKET.
 * Returns NULL with errno EINVAL (bad geometry) or ENOMEM.
 */
struct fec_encoder *fec_encoder_new(int ds, int ps, size_t header_offset,
				    size_t mtu);
void fec_encoder_free(struct fec_encoder *e);

/*
 * Called on every datagram KCP outputs (ACK-only ones and retransmissions
 * too). buf = [header_offset reserved][8 FEC bytes][KCP bytes], len = total.
 * Writes seqid, type 0xF1 and size (= len - header_offset - 6) into
 * buf[header_offset .. +8) and caches the shard; buf stays the caller's and is
 * sent unpadded. When this datagram completes a group of ds, the ps parity
 * datagrams are built and the return value is ps; otherwise 0.
 * -EINVAL if len < header_offset + 8, -EMSGSIZE if len > mtu.
 */
int fec_encoder_encode(struct fec_encoder *e, uint8_t *buf, size_t len);

/*
 * Parity datagram i (0 <= i < ps) of the group completed by the last
 * fec_encoder_encode() that returned ps: [header_offset bytes for the crypt
 * layer (zero)][seqid][0xF2][L parity bytes], L = max(2 + KCP len) over the
 * group. The buffer is writable for *len + FEC_TAILROOM bytes (room for an
 * AEAD tag) and stays valid until the next fec_encoder_encode() or free.
 * NULL if i is out of range or no group is ready.
 */
uint8_t *fec_encoder_parity(struct fec_encoder *e, int i, size_t *len);

/* Data shards cached in the open (not yet complete) group: 0 .. ds-1. */
int fec_encoder_pending(const struct fec_encoder *e);

/*
 * Shard i (0 <= i < pending) of the open group as it was encoded: the LE16
 * size field followed by the KCP bytes (*len counts both). Valid until the
 * next fec_encoder_encode(). NULL if i is out of range.
 */
const uint8_t *fec_encoder_shard(const struct fec_encoder *e, int i,
				 size_t *len);

/* Next seqid the encoder will use. */
uint32_t fec_encoder_next_seqid(const struct fec_encoder *e);

/*
 * Restart numbering at seqid (reduced modulo paws) with an empty group; for
 * tests of the seqid wrap and for callers that resume a numbering.
 */
void fec_encoder_set_next_seqid(struct fec_encoder *e, uint32_t seqid);

/* paws = floor(0xFFFFFFFF / (ds + ps)) * (ds + ps): seqids wrap to 0 there. */
uint32_t fec_paws(int ds, int ps);

/* ---- decoder ------------------------------------------------------------ */

struct fec_decoder;

struct fec_decoder_stats {
	uint64_t recovered;     /* data shards rebuilt with a valid size field */
	uint64_t errors;        /* rebuilt shards with a bad size field (FECErrs) */
	uint64_t parity_shards; /* parity packets received (FECParityShards) */
	uint64_t short_shards;  /* data shards evicted unused (FECShortShards) */
	uint64_t bad_packets;   /* malformed / oversized input, not stored */
	uint64_t duplicates;    /* seqid already queued */
	uint64_t expired;       /* shards dropped after FEC_EXPIRE_MS */
	uint64_t retunes;       /* geometry changes by the auto-tuner */
};

/*
 * ds/ps as the peer encodes (both >= 1, ds + ps <= 256); mtu = largest FEC
 * packet (crypt header stripped) to keep, at most FEC_MAX_PACKET (larger
 * input is classified but not stored). Like kcp-go, the decoder watches the
 * seqid/type pattern and re-tunes itself to the peer's real geometry when
 * they disagree, so a session without FEC that receives FEC packets can
 * create fec_decoder_new(1, 1, mtu) lazily, exactly as kcp-go does.
 * Returns NULL with errno EINVAL or ENOMEM.
 */
struct fec_decoder *fec_decoder_new(int ds, int ps, size_t mtu);
void fec_decoder_free(struct fec_decoder *d);

/*
 * Feed one received FEC packet (pkt is not modified or kept). now_ms is the
 * caller's monotonic clock in milliseconds (for the 60 s expiry).
 * Returns FEC_TYPE_DATA (caller feeds pkt + 8, len - 8 to KCP as a regular
 * packet), FEC_TYPE_PARITY (nothing else to do with pkt), or -EBADMSG (not a
 * FEC packet or shorter than 8 bytes; counted in bad_packets).
 * Data shards rebuilt by this call are then available from
 * fec_decoder_next(); they are fed to KCP with regular=false.
 */
int fec_decoder_input(struct fec_decoder *d, const uint8_t *pkt, size_t len,
		      uint64_t now_ms);

/*
 * Next KCP payload rebuilt by the last fec_decoder_input() (the r[2:sz] part
 * of a recovered shard, 2 <= sz <= shard length), or NULL when there are no
 * more. The pointer is valid until the next fec_decoder_input() or free.
 */
const uint8_t *fec_decoder_next(struct fec_decoder *d, size_t *len);

void fec_decoder_get_stats(const struct fec_decoder *d,
			   struct fec_decoder_stats *st);

/* Current geometry (changes only through auto-tuning). */
void fec_decoder_geometry(const struct fec_decoder *d, int *ds, int *ps);

/* Shards currently queued (for tests and diagnostics). */
size_t fec_decoder_queued(const struct fec_decoder *d);

#endif
