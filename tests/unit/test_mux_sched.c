/*
 * test_mux_sched.c - output scheduling of the yamux session: a small write
 * on one stream is framed onto a slow carrier ahead of the backlog of bulk
 * streams (no head-of-line blocking in the mux's shared output), and the
 * bulk bytes still all arrive intact afterwards.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mux.h"
#include "mux_harness.h"

#define BULK (2 * MIB)
#define NBULK 2

/* What the raw peer sees, in order. The carrier is slow: the pair hands
 * the peer at most SLOW bytes per read (its read high watermark), so
 * frames are parsed as they trickle in, payloads in pieces. */
#define SLOW (16 * KIB)

struct order {
	struct mh_raw *r;
	uint32_t small_id;
	size_t bulk_got[NBULK];
	size_t bulk_before_small; /* bulk payload seen before the small frame */
	size_t bulk_after_small;
	bool small_seen;
	int bad;
	uint32_t st[NBULK];
	/* parser */
	struct mux_frame f;
	uint32_t left; /* payload of f still to come */
	char small[8];
	size_t small_len;
};

static void order_payload(struct order *o, const uint8_t *p, size_t n)
{
	if (o->f.stream_id == o->small_id) {
		if (o->small_len + n > sizeof(o->small)) {
			o->bad++;
			return;
		}
		memcpy(o->small + o->small_len, p, n);
		o->small_len += n;
		return;
	}
	int k = (int)(o->f.stream_id - 1) / 2; /* ids 1, 3 */
	if (k < 0 || k >= NBULK || o->f.stream_id % 2 == 0) {
		o->bad++;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] != mh_gen_byte(&o->st[k]))
			o->bad++;
	o->bulk_got[k] += n;
	if (o->small_seen)
		o->bulk_after_small += n;
	else
		o->bulk_before_small += n;
}

static void order_read_cb(struct bufferevent *bev, void *arg)
{
	struct order *o = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		if (o->left > 0) {
			size_t n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > o->left)
				n = o->left;
			order_payload(o, evbuffer_pullup(in, (ev_ssize_t)n), n);
			evbuffer_drain(in, n);
			o->left -= (uint32_t)n;
			if (o->left == 0 && o->f.stream_id == o->small_id) {
				o->small_seen = true;
				if (o->small_len != 5 || memcmp(o->small, "hello", 5) != 0)
					o->bad++;
			}
			continue;
		}
		uint8_t h[MUX_HDR_LEN];
		if (evbuffer_remove(in, h, sizeof(h)) != (int)sizeof(h)) {
			if (evbuffer_get_length(in) > 0)
				o->bad++; /* the mark is far above a header */
			return;
		}
		ck_assert_int_eq(mux_frame_decode(h, &o->f), 0);
		if (o->f.type == MUX_DATA)
			o->left = o->f.length;
	}
}

static bool pred_order_done(void *arg)
{
	struct order *o = arg;
	for (int k = 0; k < NBULK; k++)
		if (o->bulk_got[k] < BULK)
			return false;
	return o->small_seen;
}

static struct mh_ep *open_ep(struct mh_raw *r)
{
	struct mh_ep *e = &r->sd.eps[r->sd.n++];
	memset(e, 0, sizeof(*e));
	e->s = mux_open(r->sd.m);
	ck_assert_ptr_nonnull(e->s);
	e->bev = mux_stream_bev(e->s);
	e->no_read = true;
	bufferevent_setcb(e->bev, NULL, NULL, mh_ep_event_cb, e);
	return e;
}

START_TEST(test_small_overtakes_backlog)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	mh_raw_up(&r, true, &cfg);
	/* the carrier stalls: whatever the mux frames stays in its output */
	bufferevent_disable(r.p[1], EV_READ);

	struct order o = { .r = &r };
	uint8_t *buf = malloc(BULK);
	for (int k = 0; k < NBULK; k++) {
		struct mh_ep *a = open_ep(&r);
		ck_assert_uint_eq(mux_stream_id(a->s), (uint32_t)(2 * k + 1));
		/* the peer's window allows the whole backlog: only the
		 * carrier holds it back */
		mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_ACK, mux_stream_id(a->s), 64 * MIB);
		o.st[k] = 11u + (uint32_t)k;
		uint32_t st = o.st[k];
		for (size_t i = 0; i < BULK; i++)
			buf[i] = mh_gen_byte(&st);
		bufferevent_write(a->bev, buf, BULK);
	}
	free(buf);
	mh_run_for(r.base, 30);

	/* the mux's shared output holds little; the backlog waits per stream */
	size_t queued = evbuffer_get_length(bufferevent_get_output(r.p[0]));
	ck_assert_uint_le(queued, 64 * KIB);

	struct mh_ep *b = open_ep(&r);
	o.small_id = mux_stream_id(b->s);
	bufferevent_write(b->bev, "hello", 5);
	mh_run_for(r.base, 10);

	/* the carrier drains, slowly: the small frame comes out after at most what
	 * was already queued plus one frame of each bulk stream, not behind
	 * megabytes */
	bufferevent_setcb(r.p[1], order_read_cb, NULL, NULL, &o);
	bufferevent_setwatermark(r.p[1], EV_READ, 0, SLOW);
	bufferevent_enable(r.p[1], EV_READ);
	ck_assert(mh_run_until(r.base, pred_order_done, &o, 20000));
	ck_assert_int_eq(o.bad, 0);
	ck_assert(o.small_seen);
	/* (32 KiB shared output + one 16 KiB frame past it) + one frame per
	 * bulk stream, with room to spare; the old code put 1 MiB first */
	ck_assert_uint_le(o.bulk_before_small, 128 * KIB);
	ck_assert_uint_ge(o.bulk_after_small, NBULK * BULK - 128 * KIB);
	for (int k = 0; k < NBULK; k++)
		ck_assert_uint_eq(o.bulk_got[k], BULK);
	mh_raw_down(&r);
}
END_TEST

static Suite *mux_sched_suite(void)
{
	Suite *s = suite_create("mux_sched");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_small_overtakes_backlog);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mux_sched_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
