#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "crypto.h"
#include "util.h"

struct ctl {
	struct chan *ch;
	ctl_msg_cb msg_cb;
	ctl_err_cb err_cb;
	void *arg;
	struct crypto_cfb *enc, *dec;
	uint8_t key[CRYPTO_KEY_LEN];
	uint8_t peer_iv[CRYPTO_IV_LEN];
	size_t peer_iv_len;
	int crypto_on;
	struct evbuffer *plain;   /* decrypted input, crypto mode only */
	struct evbuffer *scratch; /* outgoing frame before encryption */
	uint64_t last_rx;
	int in_cb;    /* depth of user callbacks running */
	int dead;     /* ctl_free() called while in a callback */
	int detached; /* ctl_detach() called */
	int paused;
	int handover; /* no owner: callbacks cleared, delivery held */
	int pending_err; /* an error that arrived during a hand-over */
	int has_pending_err;
	struct event *resume_ev; /* delivers to the next owner from the loop */
	int failed;   /* err_cb already delivered */
};

static void ctl_read_cb(struct bufferevent *bev, void *arg);
static void ctl_resume_cb(evutil_socket_t fd, short what, void *arg);
static void ctl_event_cb(struct bufferevent *bev, short what, void *arg);

struct ctl *ctl_new(struct chan *ch, ctl_msg_cb msg_cb, ctl_err_cb err_cb,
		    void *arg)
{
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		chan_close(ch, XPORT_CLOSE_ABORT);
		return NULL;
	}
	c->ch = ch;
	c->msg_cb = msg_cb;
	c->err_cb = err_cb;
	c->arg = arg;
	c->last_rx = util_now_ms();
	bufferevent_setcb(ch->bev, ctl_read_cb, NULL, ctl_event_cb, c);
	bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
	/* Bytes may already be buffered (e.g. after a detach elsewhere); handle
	 * them from the loop, never before the caller has our pointer. */
	if (evbuffer_get_length(bufferevent_get_input(ch->bev)) > 0)
		bufferevent_trigger(ch->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS |
					    BEV_TRIG_DEFER_CALLBACKS);
	return c;
}

static void ctl_destroy(struct ctl *c)
{
	if (c->resume_ev)
		event_free(c->resume_ev);
	crypto_cfb_free(c->enc);
	crypto_cfb_free(c->dec);
	if (c->plain)
		evbuffer_free(c->plain);
	if (c->scratch)
		evbuffer_free(c->scratch);
	memset(c->key, 0, sizeof(c->key));
	free(c);
}

void ctl_free(struct ctl *c)
{
	if (!c || c->dead)
		return;
	if (c->ch) {
		bufferevent_setcb(c->ch->bev, NULL, NULL, NULL, NULL);
		chan_close(c->ch, XPORT_CLOSE_FLUSH);
		c->ch = NULL;
	}
	if (c->in_cb)
		c->dead = 1;
	else
		ctl_destroy(c);
}

struct chan *ctl_detach(struct ctl *c)
{
	struct chan *ch = c->ch;
	if (ch)
		bufferevent_setcb(ch->bev, NULL, NULL, NULL, NULL);
	c->ch = NULL;
	c->detached = 1;
	if (c->in_cb)
		c->dead = 1;
	else
		ctl_destroy(c);
	return ch;
}

struct chan *ctl_chan(struct ctl *c) { return c->ch; }
uint64_t ctl_last_rx_ms(const struct ctl *c) { return c->last_rx; }

int ctl_send(struct ctl *c, const struct msg *m)
{
	if (!c->ch || c->dead)
		return -EPIPE;
	struct evbuffer *out = bufferevent_get_output(c->ch->bev);
	if (!c->crypto_on)
		return msg_encode(out, m);
	if (!c->scratch && !(c->scratch = evbuffer_new()))
		return -ENOMEM;
	int rc = msg_encode(c->scratch, m);
	if (rc < 0) {
		evbuffer_drain(c->scratch, evbuffer_get_length(c->scratch));
		return rc;
	}
	size_t n = evbuffer_get_length(c->scratch);
	uint8_t *p = evbuffer_pullup(c->scratch, (ssize_t)n);
	if (!p)
		return -ENOMEM;
	crypto_cfb_encrypt(c->enc, p, n);
	return evbuffer_add_buffer(out, c->scratch) == 0 ? 0 : -ENOMEM;
}

int ctl_enable_crypto(struct ctl *c, const uint8_t key[16])
{
	uint8_t iv[CRYPTO_IV_LEN];
	if (c->crypto_on || !c->ch)
		return -EINVAL;
	int rc = util_random(iv, sizeof(iv));
	if (rc < 0)
		return rc;
	if (!(c->plain = evbuffer_new()))
		return -ENOMEM;
	if (!(c->enc = crypto_cfb_new(key, iv)))
		return -ENOMEM;
	memcpy(c->key, key, sizeof(c->key));
	if (bufferevent_write(c->ch->bev, iv, sizeof(iv)) != 0)
		return -ENOMEM;
	c->crypto_on = 1;
	return 0;
}

void ctl_set_callbacks(struct ctl *c, ctl_msg_cb msg_cb, ctl_err_cb err_cb,
		       void *arg)
{
	c->msg_cb = msg_cb;
	c->err_cb = err_cb;
	c->arg = arg;
	if (!msg_cb || !err_cb) {
		/* Between two owners: hold every message and error until the
		 * next owner has set its callbacks. */
		c->handover = 1;
		return;
	}
	if (!c->handover)
		return;
	c->handover = 0;
	/* Resume from the loop: what arrived meanwhile (or an error) reaches
	 * the new owner, never from inside this call. */
	if (!c->ch)
		return;
	if (!c->resume_ev)
		c->resume_ev = evtimer_new(bufferevent_get_base(c->ch->bev),
					   ctl_resume_cb, c);
	if (c->resume_ev)
		event_active(c->resume_ev, EV_TIMEOUT, 1);
	else
		bufferevent_trigger(c->ch->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS |
					    BEV_TRIG_DEFER_CALLBACKS);
}

void ctl_pause(struct ctl *c, int paused)
{
	c->paused = paused;
	if (!paused && c->ch)
		bufferevent_trigger(c->ch->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS |
					    BEV_TRIG_DEFER_CALLBACKS);
}

/* Move everything readable from the bev through the CFB layer into
 * c->plain. The first 16 bytes of the peer's stream are its IV. */
static int ctl_pump_crypto(struct ctl *c)
{
	struct evbuffer *in = bufferevent_get_input(c->ch->bev);
	if (!c->dec) {
		size_t want = CRYPTO_IV_LEN - c->peer_iv_len;
		int got = evbuffer_remove(in, c->peer_iv + c->peer_iv_len, want);
		if (got > 0)
			c->peer_iv_len += (size_t)got;
		if (c->peer_iv_len < CRYPTO_IV_LEN)
			return 0;
		if (!(c->dec = crypto_cfb_new(c->key, c->peer_iv)))
			return -ENOMEM;
	}
	size_t n;
	while ((n = evbuffer_get_length(in)) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(c->plain, (ssize_t)n, &v, 1) < 1)
			return -ENOMEM;
		size_t take = v.iov_len < n ? v.iov_len : n;
		int got = evbuffer_remove(in, v.iov_base, take);
		if (got <= 0)
			return -EIO;
		crypto_cfb_decrypt(c->dec, v.iov_base, (size_t)got);
		v.iov_len = (size_t)got;
		evbuffer_commit_space(c->plain, &v, 1);
	}
	return 0;
}

static void ctl_fail(struct ctl *c, int err)
{
	if (c->failed)
		return;
	if (c->handover) {
		c->pending_err = err;
		c->has_pending_err = 1;
		if (c->ch)
			bufferevent_disable(c->ch->bev, EV_READ);
		return;
	}
	c->failed = 1;
	if (c->ch)
		bufferevent_disable(c->ch->bev, EV_READ);
	c->in_cb++;
	c->err_cb(c, err, c->arg);
	c->in_cb--;
}

/* Decode and deliver messages until none is complete, we are paused, or the
 * user freed/detached us. Returns 1 if c must not be touched any more. */
static int ctl_process(struct ctl *c)
{
	while (!c->paused && !c->handover && !c->dead && !c->failed && c->ch) {
		if (c->crypto_on) {
			int rc = ctl_pump_crypto(c);
			if (rc < 0) {
				ctl_fail(c, rc);
				break;
			}
		}
		struct evbuffer *src =
			c->crypto_on ? c->plain : bufferevent_get_input(c->ch->bev);
		struct msg m;
		long r = msg_decode_evbuffer(src, &m);
		if (r == 0)
			break;
		if (r < 0) {
			ctl_fail(c, (int)r);
			break;
		}
		c->in_cb++;
		c->msg_cb(c, &m, c->arg);
		c->in_cb--;
		msg_free(&m);
	}
	if (c->dead && c->in_cb == 0) {
		ctl_destroy(c);
		return 1;
	}
	return 0;
}

static void ctl_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct ctl *c = arg;
	c->last_rx = util_now_ms();
	if (ctl_process(c))
		return;
	if (c->has_pending_err && !c->handover && !c->dead && !c->failed) {
		/* An error held back during a hand-over, after the messages
		 * that came before it. */
		c->has_pending_err = 0;
		c->in_cb++;
		ctl_fail(c, c->pending_err);
		c->in_cb--;
		if (c->dead && c->in_cb == 0)
			ctl_destroy(c);
	}
}

static void ctl_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ctl *c = arg;
	if (c->ch && !c->dead)
		ctl_read_cb(c->ch->bev, c);
}

static void ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct ctl *c = arg;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	/* Deliver whatever complete messages are still buffered first. */
	if (ctl_process(c))
		return;
	if (c->dead || c->detached)
		return;
	int err = (what & BEV_EVENT_EOF)       ? 0
		  : (what & BEV_EVENT_TIMEOUT) ? -ETIMEDOUT
					       : -EIO;
	c->in_cb++;
	ctl_fail(c, err);
	c->in_cb--;
	if (c->dead && c->in_cb == 0)
		ctl_destroy(c);
}
