/*
 * workcrypt.c - frp's per-proxy useEncryption on a tcp work connection:
 * the same AES-128-CFB stream as the control channel (key from the token,
 * each direction starts with its own random 16-byte IV), as a libevent
 * filter over the work connection's bufferevent, so the relay above is
 * unchanged.
 *
 * Backpressure: a filter moves what it encrypts into the underlying
 * output until that passes its write high-watermark, so we set one;
 * otherwise the relay would only see the (always empty) filter output and
 * a slow client could make the underlying buffer grow without bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "crypto.h"
#include "workcrypt.h"
#include "util.h"

#define UNDER_WRITE_HIGH (256 * 1024)

struct workcrypt {
	uint8_t key[CRYPTO_KEY_LEN];
	uint8_t peer_iv[CRYPTO_IV_LEN];
	size_t peer_iv_len;
	struct crypto_cfb *enc, *dec;
};

/* Move all of src to dst through f (encrypt or decrypt), chunk by chunk
 * into space reserved in dst. 0 or -ENOMEM. */
static int pump(struct evbuffer *src, struct evbuffer *dst, struct crypto_cfb *c,
		void (*f)(struct crypto_cfb *, uint8_t *, size_t))
{
	size_t n;
	while ((n = evbuffer_get_length(src)) > 0) {
		struct evbuffer_iovec v;
		if (n > 65536)
			n = 65536;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)n, &v, 1) < 1)
			return -ENOMEM;
		size_t take = v.iov_len < n ? v.iov_len : n;
		int got = evbuffer_remove(src, v.iov_base, take);
		if (got <= 0)
			return -EIO;
		f(c, v.iov_base, (size_t)got);
		v.iov_len = (size_t)got;
		if (evbuffer_commit_space(dst, &v, 1) != 0)
			return -ENOMEM;
	}
	return 0;
}

static enum bufferevent_filter_result
in_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	  enum bufferevent_flush_mode mode, void *arg)
{
	(void)limit;
	(void)mode;
	struct workcrypt *w = arg;
	if (!w->dec) {
		int got = evbuffer_remove(src, w->peer_iv + w->peer_iv_len,
					  CRYPTO_IV_LEN - w->peer_iv_len);
		if (got > 0)
			w->peer_iv_len += (size_t)got;
		if (w->peer_iv_len < CRYPTO_IV_LEN)
			return BEV_NEED_MORE;
		if (!(w->dec = crypto_cfb_new(w->key, w->peer_iv)))
			return BEV_ERROR;
	}
	return pump(src, dst, w->dec, crypto_cfb_decrypt) == 0 ? BEV_OK
							       : BEV_ERROR;
}

static enum bufferevent_filter_result
out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	   enum bufferevent_flush_mode mode, void *arg)
{
	(void)limit;
	(void)mode;
	struct workcrypt *w = arg;
	return pump(src, dst, w->enc, crypto_cfb_encrypt) == 0 ? BEV_OK
							       : BEV_ERROR;
}

static void workcrypt_free(void *arg)
{
	struct workcrypt *w = arg;
	crypto_cfb_free(w->enc);
	crypto_cfb_free(w->dec);
	memset(w->key, 0, sizeof(w->key));
	free(w);
}

struct bufferevent *workcrypt_new(struct bufferevent *under,
				  const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t iv[CRYPTO_IV_LEN];
	struct workcrypt *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	memcpy(w->key, key, sizeof(w->key));
	/* Our IV goes out first, right after what is already queued (the
	 * plain StartWorkConn); frp's reader expects it before any data. */
	if (util_random(iv, sizeof(iv)) < 0 || !(w->enc = crypto_cfb_new(key, iv)) ||
	    bufferevent_write(under, iv, sizeof(iv)) != 0) {
		workcrypt_free(w);
		return NULL;
	}
	/* Not BEV_OPT_CLOSE_ON_FREE: the transport owns `under`. */
	struct bufferevent *f = bufferevent_filter_new(under, in_filter, out_filter,
						       0, workcrypt_free, w);
	if (!f) {
		workcrypt_free(w);
		return NULL;
	}
	bufferevent_setwatermark(under, EV_WRITE, 0, UNDER_WRITE_HIGH);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	return f;
}
