/*
 * snappy_frame.c - snappy's framing format over evbuffers (encoder,
 * decoder) and as a libevent filter for frp's useCompression.
 *
 * The decoder treats its input as hostile: every length is checked before
 * anything is allocated or copied, a compressed block's announced size is
 * checked against 65536 before it is decompressed, and the CRC is checked
 * on the result. A bad stream is one -EBADMSG; the caller drops the
 * connection.
 */
#include "snappy_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <snappy-c.h>

#define T_COMPRESSED 0x00
#define T_UNCOMPRESSED 0x01
#define T_PADDING 0xfe
#define T_STREAM_ID 0xff
#define UNDER_WRITE_HIGH (256 * 1024)

static const uint8_t stream_id[10] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a',
				      'P', 'p', 'Y'};

/* ---- CRC-32C ------------------------------------------------------------- */

static uint32_t crc_tab[8][256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
					crc_tab[0][crc_tab[t - 1][i] & 0xff];
	crc_ready = true;
}

/* Slicing by 8: eight table lookups per 8 bytes. */
uint32_t snappy_frame_crc32c(const uint8_t *p, size_t n)
{
	if (!crc_ready)
		crc_init();
	uint32_t c = 0xffffffffu;
	while (n >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		    crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		    crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^
		    crc_tab[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

uint32_t snappy_frame_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* ---- encoder ------------------------------------------------------------- */

/* Encode the first n bytes of in as one chunk and drain them from in
 * BEFORE committing to out: committing may run callbacks that land back in
 * this encoder (a filter stacked over another filter), which must not see
 * the same bytes again. */
static int encode_block(struct evbuffer *in, size_t n, struct evbuffer *out)
{
	const uint8_t *src = evbuffer_pullup(in, (ev_ssize_t)n);
	if (!src)
		return -ENOMEM;
	size_t max = snappy_max_compressed_length(n);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)(8 + max), &v, 1) < 1 ||
	    v.iov_len < 8 + max)
		return -ENOMEM;
	uint8_t *h = v.iov_base;
	size_t clen = max;
	uint32_t crc = snappy_frame_mask(snappy_frame_crc32c(src, n));
	if (snappy_compress((const char *)src, n, (char *)h + 8, &clen) !=
		    SNAPPY_OK ||
	    clen >= n - n / 8) {
		/* not worth it: store the bytes (Go's writer rule) */
		h[0] = T_UNCOMPRESSED;
		memcpy(h + 8, src, n);
		clen = n;
	} else {
		h[0] = T_COMPRESSED;
	}
	put_le(h + 1, (uint32_t)(clen + 4), 3);
	put_le(h + 4, crc, 4);
	v.iov_len = 8 + clen;
	evbuffer_drain(in, n);
	return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : -ENOMEM;
}

int snappy_frame_encode(struct snappy_frame_enc *e, struct evbuffer *in,
			struct evbuffer *out)
{
	size_t len;
	if (evbuffer_get_length(in) == 0)
		return 0;
	if (!e->header_sent) {
		e->header_sent = true; /* before the add: see encode_block */
		if (evbuffer_add(out, stream_id, sizeof(stream_id)) != 0)
			return -ENOMEM;
	}
	while ((len = evbuffer_get_length(in)) > 0) {
		size_t n = len < SNAPPY_FRAME_BLOCK ? len : SNAPPY_FRAME_BLOCK;
		int rc = encode_block(in, n, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- decoder ------------------------------------------------------------- */

/* One data chunk whose whole body (CRC + data, blen bytes) is at the front
 * of in, after the 4-byte header. */
static int decode_data(int type, struct evbuffer *in, size_t blen,
		       struct evbuffer *out)
{
	const uint8_t *b = evbuffer_pullup(in, (ev_ssize_t)(4 + blen));
	if (!b)
		return -ENOMEM;
	b += 4;
	uint32_t want = get_le(b, 4);
	const uint8_t *data = b + 4;
	size_t dlen = blen - 4;
	size_t ulen = dlen;
	if (type == T_COMPRESSED &&
	    (snappy_uncompressed_length((const char *)data, dlen, &ulen) !=
		     SNAPPY_OK ||
	     ulen > SNAPPY_FRAME_BLOCK))
		return -EBADMSG;
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)(ulen ? ulen : 1), &v, 1) < 1 ||
	    v.iov_len < ulen)
		return -ENOMEM;
	if (type == T_COMPRESSED) {
		size_t got = ulen;
		if (snappy_uncompress((const char *)data, dlen, v.iov_base, &got) !=
			    SNAPPY_OK ||
		    got != ulen)
			goto bad;
	} else if (ulen) {
		memcpy(v.iov_base, data, ulen);
	}
	if (snappy_frame_mask(snappy_frame_crc32c(v.iov_base, ulen)) != want)
		goto bad;
	v.iov_len = ulen;
	evbuffer_drain(in, 4 + blen); /* first: see encode_block */
	if (evbuffer_commit_space(out, &v, 1) != 0)
		return -ENOMEM;
	return 0;
bad:
	v.iov_len = 0;
	evbuffer_commit_space(out, &v, 1);
	return -EBADMSG;
}

int snappy_frame_decode(struct snappy_frame_dec *d, struct evbuffer *in,
			struct evbuffer *out, size_t max_out)
{
	size_t start = evbuffer_get_length(out);
	for (;;) {
		if (d->skip) {
			size_t have = evbuffer_get_length(in);
			size_t k = have < d->skip ? have : d->skip;
			evbuffer_drain(in, k);
			d->skip -= (uint32_t)k;
			if (d->skip)
				return 0;
		}
		if (max_out && evbuffer_get_length(out) - start >= max_out)
			return 0;
		uint8_t h[4];
		if (evbuffer_copyout(in, h, 4) < 4)
			return 0;
		int type = h[0];
		size_t blen = get_le(h + 1, 3);
		if (type == T_STREAM_ID) {
			uint8_t id[sizeof(stream_id)];
			if (blen != 6)
				return -EBADMSG;
			if (evbuffer_copyout(in, id, sizeof(id)) < (ev_ssize_t)sizeof(id))
				return 0;
			if (memcmp(id, stream_id, sizeof(id)))
				return -EBADMSG;
			evbuffer_drain(in, sizeof(id));
			d->header_seen = true;
			continue;
		}
		if (!d->header_seen)
			return -EBADMSG;
		if (type == T_COMPRESSED || type == T_UNCOMPRESSED) {
			size_t max = type == T_COMPRESSED ? SNAPPY_FRAME_MAX_CHUNK
							  : 4 + SNAPPY_FRAME_BLOCK;
			if (blen < 4 || blen > max)
				return -EBADMSG;
			if (evbuffer_get_length(in) < 4 + blen)
				return 0;
			int rc = decode_data(type, in, blen, out);
			if (rc < 0)
				return rc;
			continue;
		}
		if (type < 0x80)
			return -EBADMSG; /* reserved unskippable */
		/* 0x80-0xfe: skippable (0xfe = padding) */
		evbuffer_drain(in, 4);
		d->skip = (uint32_t)blen;
	}
}

/* ---- as a filter ------------------------------------------------------------ */

struct sframe {
	struct snappy_frame_enc enc;
	struct snappy_frame_dec dec;
};

static enum bufferevent_filter_result
in_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	  enum bufferevent_flush_mode mode, void *arg)
{
	(void)mode;
	struct sframe *f = arg;
	size_t max = limit > 0 ? (size_t)limit : 0;
	size_t in0 = evbuffer_get_length(src), out0 = evbuffer_get_length(dst);
	if (snappy_frame_decode(&f->dec, src, dst, max) < 0)
		return BEV_ERROR;
	/* libevent calls us again at once while we say OK and src is not
	 * empty: a partial chunk must say NEED_MORE or it spins. */
	if (evbuffer_get_length(src) == in0 && evbuffer_get_length(dst) == out0)
		return BEV_NEED_MORE;
	return BEV_OK;
}

static enum bufferevent_filter_result
out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	   enum bufferevent_flush_mode mode, void *arg)
{
	(void)limit;
	(void)mode;
	struct sframe *f = arg;
	return snappy_frame_encode(&f->enc, src, dst) == 0 ? BEV_OK : BEV_ERROR;
}

struct bufferevent *snappy_frame_bev_new(struct bufferevent *under)
{
	struct sframe *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	/* Not BEV_OPT_CLOSE_ON_FREE: whoever made under owns it. */
	struct bufferevent *b = bufferevent_filter_new(under, in_filter, out_filter,
						       0, free, f);
	if (!b) {
		free(f);
		return NULL;
	}
	bufferevent_setwatermark(under, EV_WRITE, 0, UNDER_WRITE_HIGH);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	return b;
}
