/*
 * tls.c - one TLS stream: mbedTLS over an underlying bufferevent, the
 * plaintext side handed up as one end of a bufferevent_pair.
 *
 * Data paths (no thread, everything on the caller's event_base):
 *  - network -> user: the underlying read callback feeds mbedTLS through
 *    bio_recv (straight from the underlying input evbuffer); records are
 *    decrypted into space reserved in our pair end's output, which the pair
 *    moves to the user's input.
 *  - user -> network: the pair moves the user's writes into our end's
 *    input; we cut them into records of up to 16 KiB and mbedTLS appends
 *    the ciphertext to the underlying output through bio_send (which never
 *    blocks: backpressure is applied on the plaintext side instead).
 *
 * Backpressure: when the underlying output passes SND_HIGH we stop
 * reading our pair end, so the user's writes stay in the user's output
 * where its watermarks see them; when our end's output (plaintext the
 * user has not taken) passes RCV_HIGH we stop reading the underlying
 * stream, so the peer is slowed by the transport's own window. A
 * transport that says how much it wants queued above it (chan_send_goal:
 * a few ms of its rate) lowers SND_HIGH and SND_STAGE to that (records get
 * as small): at a low rate two 16 KiB records would hold a small message
 * written behind them for a second.
 *
 * Reentrancy: the pair is created with BEV_OPT_DEFER_CALLBACKS, so no
 * user callback ever runs on our stack, and the user may close us from
 * any of its callbacks. We only free ourselves from tls_stream_close.
 */
#include "tls_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/x509.h>

#include "chan.h"
#include "log.h"

#define REC_MAX 16384
/* What waits below the multiplexer waits for every stream: a small message
 * written behind bulk data queues behind all of it (the multiplexer's
 * round-robin only orders what is above us). Two records of ciphertext
 * below and one record of plaintext staged keep a TCP socket or a KCP
 * session fed (their own buffers are deeper) without a standing queue. */
#define SND_HIGH (2u * REC_MAX)  /* ciphertext queued below us */
#define RCV_HIGH (512u * 1024)   /* plaintext the user has not taken */
#define SND_STAGE REC_MAX        /* user bytes the pair moves to us at once */
#define SND_MIN 1024u            /* the goal lowers both, not below this */

struct tls_stream {
	const struct tls_config *cfg;
	mbedtls_ssl_context ssl;
	struct bufferevent *under; /* borrowed until release */
	struct bufferevent *user;  /* the pair end handed up */
	struct bufferevent *mine;  /* the pair end we drive */
	struct event *timer;       /* handshake deadline */
	tls_release_cb release;
	void *release_arg;
	char peer[64];
	bool established;
	bool failed;       /* one error reported; nothing moves any more */
	bool eof_up;       /* EOF delivered to the user */
	bool under_eof;
	bool closing;      /* final flush under way: errors free at once */
	bool rd_paused;    /* underlying reads stopped for RCV_HIGH */
	size_t (*goal)(void *arg); /* tls_stream_set_goal */
	void *goal_arg;
	size_t snd_high, snd_stage; /* SND_HIGH, SND_STAGE or the goal */
	char err[256];     /* what fail() logged, for the layer above */
};

static void stream_free(struct tls_stream *t, int how);

/* ---- bio callbacks ------------------------------------------------------ */

static int bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tls_stream *t = arg;
	if (evbuffer_add(bufferevent_get_output(t->under), buf, len) != 0)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)len;
}

static int bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_stream *t = arg;
	int n = evbuffer_remove(bufferevent_get_input(t->under), buf, len);
	if (n > 0)
		return n;
	return t->under_eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
}

/* ---- reporting up ------------------------------------------------------ */

static void fail_at(struct tls_stream *t, int level, int err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define fail(t, err, ...) fail_at(t, XPORT_LOG_WARN, err, __VA_ARGS__)

/* One log line, then BEV_EVENT_ERROR on the user's side (deferred, with
 * errno = -err for whoever looks). */
static void fail_at(struct tls_stream *t, int level, int err,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (t->failed)
		return;
	t->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, "tls", "%s: %s", t->peer, msg);
	snprintf(t->err, sizeof(t->err), "%s", msg);
	if (t->timer)
		event_del(t->timer);
	bufferevent_disable(t->under, EV_READ);
	if (t->closing) {
		stream_free(t, XPORT_CLOSE_ABORT);
		return;
	}
	errno = -err;
	bufferevent_trigger_event(t->user, BEV_EVENT_ERROR | BEV_EVENT_READING,
				  0);
}

static void mbed_fail(struct tls_stream *t, const char *what, int rc)
{
	char e[160];
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		char info[256];
		uint32_t f = mbedtls_ssl_get_verify_result(&t->ssl);
		int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", f);
		/* one line: join the reasons */
		for (int i = 0; i < n; i++)
			if (info[i] == '\n')
				info[i] = i + 1 < n ? ';' : '\0';
		fail(t, -ECONNABORTED, "%s: server certificate not trusted: %s",
		     what, info);
		return;
	}
	if (!t->cfg->server &&
	    rc == MBEDTLS_ERR_X509_INVALID_NAME + MBEDTLS_ERR_ASN1_OUT_OF_DATA) {
		fail(t, -ECONNABORTED, "%s: the server certificate has an empty "
		     "subject or issuer name, which mbedTLS 2.x cannot parse "
		     "(a stock frps makes such a certificate when it has no "
		     "transport.tls.certFile: give it one)", what);
		return;
	}
	mbedtls_strerror(rc, e, sizeof(e));
	fail(t, -ECONNABORTED, "%s: %s", what, e);
}

static void up_eof(struct tls_stream *t)
{
	if (t->eof_up || t->failed)
		return;
	t->eof_up = true;
	bufferevent_disable(t->under, EV_READ);
	if (!t->user)
		return;
	/* As the mux does: a read high watermark would stop the final move
	 * short, and no byte may arrive after EOF. */
	size_t lo = 0, hi = 0;
	bufferevent_getwatermark(t->user, EV_READ, &lo, &hi);
	if (hi)
		bufferevent_setwatermark(t->user, EV_READ, lo, 0);
	bufferevent_flush(t->mine, EV_WRITE, BEV_FINISHED);
	if (hi)
		bufferevent_setwatermark(t->user, EV_READ, lo, hi);
}

/* ---- user -> network ---------------------------------------------------- */

/* SND_HIGH and SND_STAGE, or the transport's goal where that is less;
 * the watermarks follow. */
static void send_bounds(struct tls_stream *t)
{
	size_t goal = t->goal ? t->goal(t->goal_arg) : 0;
	size_t high = chan_goal_bound(goal, SND_MIN, SND_HIGH);
	size_t stage = chan_goal_bound(goal, SND_MIN, SND_STAGE);

	if (high != t->snd_high) {
		t->snd_high = high;
		bufferevent_setwatermark(t->under, EV_WRITE, high / 2, 0);
	}
	if (stage != t->snd_stage) {
		t->snd_stage = stage;
		bufferevent_setwatermark(t->mine, EV_READ, 0, stage);
	}
}

/* Encrypt what sits in our pair end's input; all of it when `all` (the
 * final flush), else until the underlying output passes snd_high. */
static int pump_out(struct tls_stream *t, bool all)
{
	struct evbuffer *in = bufferevent_get_input(t->mine);
	struct evbuffer *out = bufferevent_get_output(t->under);
	size_t len;
	if (!all && t->user)
		send_bounds(t);
	while ((len = evbuffer_get_length(in)) > 0 &&
	       (all || evbuffer_get_length(out) < t->snd_high)) {
		size_t n = len < REC_MAX ? len : REC_MAX;
		if (!all && n > t->snd_stage)
			n = t->snd_stage;
		unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
		if (!p)
			return -ENOMEM;
		int rc = mbedtls_ssl_write(&t->ssl, p, n);
		if (rc < 0) {
			mbed_fail(t, "write", rc);
			return -EIO;
		}
		evbuffer_drain(in, (size_t)rc);
	}
	if (all || !t->user)
		return 0;
	if (evbuffer_get_length(out) >= t->snd_high)
		bufferevent_disable(t->mine, EV_READ);
	else
		bufferevent_enable(t->mine, EV_READ);
	return 0;
}

/* The user closed with FLUSH and the handshake is done: send everything,
 * then close_notify, then let the underlying stream flush and close. */
static void finish_flush(struct tls_stream *t)
{
	if (pump_out(t, true) < 0)
		return; /* fail() freed us: closing was set */
	mbedtls_ssl_close_notify(&t->ssl);
	stream_free(t, XPORT_CLOSE_FLUSH);
}

/* ---- network -> user ---------------------------------------------------- */

static void handshake_done(struct tls_stream *t)
{
	t->established = true;
	if (t->timer)
		event_del(t->timer);
	LOG_D("tls", "%s: %s handshake done (%s, %s)", t->peer,
	      t->cfg->server ? "server" : "client",
	      mbedtls_ssl_get_version(&t->ssl),
	      mbedtls_ssl_get_ciphersuite(&t->ssl));
}

static void process(struct tls_stream *t)
{
	if (t->failed || t->eof_up)
		return;
	if (!t->established) {
		int rc = mbedtls_ssl_handshake(&t->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			if (t->under_eof)
				fail(t, -ECONNRESET, "connection closed during "
				     "the TLS handshake");
			return;
		}
		if (rc != 0) {
			mbed_fail(t, "handshake failed", rc);
			return;
		}
		handshake_done(t);
		if (pump_out(t, false) < 0)
			return;
	}
	if (!t->user)
		return;
	struct evbuffer *dst = bufferevent_get_output(t->mine);
	while (evbuffer_get_length(dst) < RCV_HIGH) {
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(dst, REC_MAX, &v, 1) < 1) {
			fail(t, -ENOMEM, "out of memory");
			return;
		}
		size_t room = v.iov_len < REC_MAX ? v.iov_len : REC_MAX;
		int rc = mbedtls_ssl_read(&t->ssl, v.iov_base, room);
		if (rc > 0) {
			v.iov_len = (size_t)rc;
			evbuffer_commit_space(dst, &v, 1);
			continue;
		}
		v.iov_len = 0;
		evbuffer_commit_space(dst, &v, 1);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			if (t->under_eof) /* EOF without close_notify */
				up_eof(t);
			return;
		}
		/* close_notify, or the transport ended without one (a peer
		 * that was killed): both are the end of the stream */
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
		    rc == MBEDTLS_ERR_SSL_CONN_EOF) {
			up_eof(t);
			return;
		}
		mbed_fail(t, "read", rc);
		return;
	}
	/* The user is slow: stop reading below until it catches up. */
	t->rd_paused = true;
	bufferevent_disable(t->under, EV_READ);
}

/* ---- callbacks ------------------------------------------------------------ */

static void under_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void under_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct tls_stream *t = arg;
	if (t->established && !t->failed && t->user)
		pump_out(t, false);
}

static void under_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct tls_stream *t = arg;
	if (what & BEV_EVENT_EOF) {
		/* process() hands EOF up once every record is through (it may
		 * wait for a slow user first). */
		t->under_eof = true;
		process(t);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		/* the transport's failure, not TLS's: the layer above says it */
		int e = EVUTIL_SOCKET_ERROR();
		fail_at(t, t->established ? XPORT_LOG_DEBUG : XPORT_LOG_WARN,
			e ? -e : -EIO, "connection error: %s",
			e ? strerror(e) : "transport failed");
	}
}

static void mine_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct tls_stream *t = arg;
	if (t->established && !t->failed)
		pump_out(t, false);
}

/* Our end's output drained to RCV_HIGH / 2: the user caught up. */
static void mine_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct tls_stream *t = arg;
	if (!t->rd_paused || t->failed)
		return;
	t->rd_paused = false;
	bufferevent_enable(t->under, EV_READ);
	process(t); /* records already buffered below or inside mbedTLS */
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct tls_stream *t = arg;
	if (!t->established)
		fail(t, -ETIMEDOUT, "TLS handshake timed out after %d s",
		     TLS_HANDSHAKE_TIMEOUT_MS / 1000);
}

/* ---- life cycle ------------------------------------------------------------ */

static void stream_free(struct tls_stream *t, int how)
{
	if (t->under) {
		bufferevent_setcb(t->under, NULL, NULL, NULL, NULL);
		bufferevent_setwatermark(t->under, EV_WRITE, 0, 0);
		bufferevent_setwatermark(t->under, EV_READ, 0, 0);
	}
	if (t->release)
		t->release(t->release_arg, how);
	if (t->timer)
		event_free(t->timer);
	if (t->user)
		bufferevent_free(t->user);
	if (t->mine)
		bufferevent_free(t->mine);
	mbedtls_ssl_free(&t->ssl);
	free(t);
}

struct tls_stream *tls_stream_new(struct event_base *base,
				  const struct tls_config *cfg,
				  struct bufferevent *under,
				  bool custom_first_byte, const char *peer,
				  tls_release_cb release, void *release_arg)
{
	struct bufferevent *pair[2];
	struct tls_stream *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = cfg;
	snprintf(t->peer, sizeof(t->peer), "%s", peer ? peer : "?");
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &cfg->conf) != 0)
		goto fail;
	if (!cfg->server && cfg->name &&
	    mbedtls_ssl_set_hostname(&t->ssl, cfg->name) != 0)
		goto fail;
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	if (bufferevent_pair_new(base, BEV_OPT_DEFER_CALLBACKS, pair) != 0)
		goto fail;
	t->user = pair[0];
	t->mine = pair[1];
	t->timer = evtimer_new(base, timeout_cb, t);
	struct timeval tv = {TLS_HANDSHAKE_TIMEOUT_MS / 1000,
			     (TLS_HANDSHAKE_TIMEOUT_MS % 1000) * 1000};
	if (!t->timer || evtimer_add(t->timer, &tv) != 0)
		goto fail;
	if (custom_first_byte) {
		uint8_t b = TLS_FRP_FIRST_BYTE;
		if (bufferevent_write(under, &b, 1) != 0)
			goto fail;
	}
	/* Only now is under ours: nothing above can fail any more. */
	t->under = under;
	t->release = release;
	t->release_arg = release_arg;
	bufferevent_setcb(t->mine, mine_read_cb, mine_write_cb, NULL, t);
	bufferevent_setwatermark(t->mine, EV_READ, 0, SND_STAGE);
	bufferevent_setwatermark(t->mine, EV_WRITE, RCV_HIGH / 2, 0);
	t->snd_stage = SND_STAGE;
	bufferevent_enable(t->mine, EV_READ | EV_WRITE);
	bufferevent_enable(t->user, EV_READ | EV_WRITE);
	bufferevent_setcb(under, under_read_cb, under_write_cb, under_event_cb, t);
	bufferevent_setwatermark(under, EV_WRITE, SND_HIGH / 2, 0);
	bufferevent_setwatermark(under, EV_READ, 0, 0);
	t->snd_high = SND_HIGH;
	bufferevent_enable(under, EV_READ | EV_WRITE);
	if (!cfg->server)
		process(t); /* ClientHello out now */
	/* A server sniffed the first byte(s): they are waiting already. */
	else if (evbuffer_get_length(bufferevent_get_input(under)) > 0)
		bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
						    BEV_TRIG_DEFER_CALLBACKS);
	return t;
fail:
	/* t->under and t->release are still NULL here: under stays the
	 * caller's and no release callback runs. */
	stream_free(t, 0);
	return NULL;
}

struct bufferevent *tls_stream_bev(struct tls_stream *t) { return t->user; }

void tls_stream_set_goal(struct tls_stream *t, size_t (*goal)(void *arg),
			 void *arg)
{
	t->goal = goal;
	t->goal_arg = arg;
}

const char *tls_stream_error(const struct tls_stream *t)
{
	return t->failed && t->err[0] ? t->err : NULL;
}

const char *tls_chan_error(const struct chan *ch)
{
	return ch && ch->tls ? tls_stream_error(ch->tls) : NULL;
}

bool tls_stream_established(const struct tls_stream *t)
{
	return t->established;
}

void tls_stream_close(struct tls_stream *t, int how)
{
	if (!t)
		return;
	/* Before the handshake there is nothing the peer could read yet:
	 * a close then is an abort, so no stream outlives its owner. */
	if (how == XPORT_CLOSE_ABORT || t->failed || t->closing ||
	    !t->established) {
		stream_free(t, XPORT_CLOSE_ABORT);
		return;
	}
	/* Take over what the user wrote and has not reached us yet, then
	 * drop the user's end: nothing goes up any more. */
	bufferevent_setwatermark(t->mine, EV_READ, 0, 0);
	bufferevent_flush(t->user, EV_WRITE, BEV_FLUSH);
	bufferevent_free(t->user);
	t->user = NULL;
	bufferevent_setcb(t->mine, NULL, NULL, NULL, NULL);
	t->closing = true;
	finish_flush(t);
}

/* ---- as a chan ------------------------------------------------------------ */

static void chan_release(void *arg, int how) { chan_close(arg, how); }

struct chan *tls_chan_wrap(struct event_base *base, const struct tls_config *cfg,
			   struct chan *inner, bool custom_first_byte)
{
	struct chan *c = calloc(1, sizeof(*c));
	struct tls_stream *t = NULL;
	if (c)
		t = tls_stream_new(base, cfg, inner->bev, custom_first_byte,
				   inner->peer, chan_release, inner);
	if (!t) {
		free(c);
		chan_close(inner, XPORT_CLOSE_ABORT);
		return NULL;
	}
	tls_stream_set_goal(t, chan_send_goal, inner);
	c->tls = t;
	c->inner = inner;
	c->bev = tls_stream_bev(t);
	c->ops = inner->ops; /* which transport carries it, for logs and stats */
	c->is_tls = true;
	snprintf(c->peer, sizeof(c->peer), "%s", inner->peer);
	return c;
}
