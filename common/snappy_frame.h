/*
 * snappy_frame.h - snappy's framing format (framing_format.txt), what frp's
 * per-proxy `useCompression` puts on a work connection (Go's snappy stream
 * reader and writer). The block format is libsnappy's; only the framing is
 * ours: a stream identifier chunk (ff 06 00 00 "sNaPpY"), then chunks of a
 * type byte, a 24-bit little-endian length, a masked CRC-32C of the
 * uncompressed bytes and the data (0x00 compressed, 0x01 uncompressed),
 * each carrying at most 65536 uncompressed bytes.
 *
 * The encoder and decoder are sans-I/O over evbuffers; snappy_frame_bev
 * puts them in a libevent filter so the relay above works unchanged.
 */
#ifndef SNAPPY_FRAME_H
#define SNAPPY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct bufferevent;

#define SNAPPY_FRAME_BLOCK 65536
/** Largest compressed chunk body a reader accepts: CRC + the worst-case
 *  snappy encoding of one block (32 + n + n/6), as Go's reader. */
#define SNAPPY_FRAME_MAX_CHUNK (4 + 32 + SNAPPY_FRAME_BLOCK + SNAPPY_FRAME_BLOCK / 6)

struct snappy_frame_enc {
	bool header_sent;
};

struct snappy_frame_dec {
	bool header_seen;
	uint32_t skip; /**< bytes of a skippable chunk still to drop */
};

/** CRC-32C (Castagnoli) of buf, and the masked form the format stores. */
uint32_t snappy_frame_crc32c(const uint8_t *buf, size_t n);
uint32_t snappy_frame_mask(uint32_t crc);

/** Frame all of in into out (the stream identifier first, once). Blocks
 *  that snappy cannot shrink by 1/8 go out uncompressed, as Go's writer
 *  does. 0 or -ENOMEM. */
int snappy_frame_encode(struct snappy_frame_enc *e, struct evbuffer *in,
			struct evbuffer *out);

/** Decode the complete chunks at the front of in into out, stopping once
 *  out grew by max_out or more (0 = no bound); a partial chunk stays in
 *  in. 0, or -EBADMSG on anything a conforming reader rejects (missing
 *  stream identifier, reserved chunk type, bad length, bad CRC, corrupt
 *  block, a block over 65536 bytes). */
int snappy_frame_decode(struct snappy_frame_dec *d, struct evbuffer *in,
			struct evbuffer *out, size_t max_out);

/** A filter over under that compresses what is written and decompresses
 *  what is read (frp's useCompression). Borrows under (freeing the filter
 *  leaves it open) and bounds under's output like workcrypt does. NULL on
 *  failure. */
struct bufferevent *snappy_frame_bev_new(struct bufferevent *under);

#endif
