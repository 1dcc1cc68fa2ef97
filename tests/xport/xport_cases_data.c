/*
 * xport_cases_data.c - conformance cases about the bytes: integrity both
 * ways, EOF after a flushing close, backpressure, counters.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xport_harness.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* Data the receiver refuses to read must back up to the sender: the
 * sender may not finish this much while the receiver is paused. */
#define BP_CAP (128ull * MIB)
#define BP_HWM (256 * KIB)
#define BP_STALL_MS 500

static void echo_one_way(struct fx *f, struct side *from, struct side *to)
{
	uint8_t *data = malloc(MIB), *back = malloc(MIB);
	ck_assert(data && back);
	ck_assert_int_eq(util_random(data, MIB), 0);
	to->echo = 1;
	from->echo = 0;
	from->sink = back;
	from->sink_cap = MIB;
	from->rx = 0;
	ck_assert_int_eq(bufferevent_write(from->bev, data, MIB), 0);
	ck_assert_msg(fx_wait_rx(f, from, MIB, 30000),
		      "echo incomplete: %llu of %u bytes",
		      (unsigned long long)from->rx, MIB);
	ck_assert(!from->bad);
	ck_assert(memcmp(data, back, MIB) == 0);
	from->sink = NULL;
	to->echo = 0;
	free(data);
	free(back);
}

START_TEST(t_echo_1mib)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	echo_one_way(f, c, s);
	echo_one_way(f, s, c);
	fx_free(f);
}
END_TEST

/* A writes 1 MiB and closes with FLUSH at once: B gets every byte, then
 * EOF (or ERROR), in that order. _i picks which end closes. */
START_TEST(t_eof_after_flush)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	struct side *a = _i ? s : c, *b = _i ? c : s;
	b->verify = 1;
	b->rx_seed = 11;
	a->close_when_sent = 1;
	side_send(a, 11, MIB, 2 * MIB);
	ck_assert_msg(a->closed, "whole MiB not queued at once");
	ck_assert_msg(fx_wait_event(f, b, 15000),
		      "no EOF/ERROR after close(FLUSH); got %llu bytes",
		      (unsigned long long)b->rx);
	ck_assert_int_eq(b->rx_at_event, MIB);
	ck_assert_int_eq(b->rx, MIB);
	ck_assert(!b->bad);
	side_close(b, XPORT_CLOSE_FLUSH);
	fx_run(f, 100, NULL, NULL);
	fx_free(f);
}
END_TEST

struct bp {
	int paused;
	int resumed;
	int reads_paused; /* read callbacks while EV_READ was off */
};

static void bp_read(struct side *d)
{
	struct bp *bp = d->user;
	if (bp->paused) {
		bp->reads_paused++;
		return;
	}
	side_consume(d);
	if (!bp->resumed && d->rx >= BP_HWM) {
		bufferevent_disable(d->bev, EV_READ);
		bp->paused = 1;
	}
}

static int bp_is_paused(void *arg)
{
	return ((struct bp *)arg)->paused;
}

START_TEST(t_backpressure)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	struct bp bp = {0};
	s->verify = 1;
	s->rx_seed = 21;
	s->user = &bp;
	s->on_read = bp_read;
	side_send(c, 21, BP_CAP, BP_HWM);
	ck_assert_msg(fx_run(f, 10000, bp_is_paused, &bp), "receiver never read");

	/* Wait for the sender to stop making progress. */
	uint64_t last = c->tx_off, since = util_now_ms();
	uint64_t end = since + 30000;
	int stalled = 0;
	while (util_now_ms() < end && c->tx_off < BP_CAP) {
		fx_run(f, 50, NULL, NULL);
		if (c->tx_off != last) {
			last = c->tx_off;
			since = util_now_ms();
		} else if (util_now_ms() - since >= BP_STALL_MS) {
			stalled = 1;
			break;
		}
	}
	ck_assert_msg(stalled && c->tx_off < BP_CAP,
		      "sender not held back: %llu bytes accepted while the "
		      "receiver was not reading",
		      (unsigned long long)c->tx_off);
	ck_assert_int_eq(bp.reads_paused, 0);
	ck_assert_msg(c->max_out <= BP_HWM + FX_CHUNK,
		      "sender output grew to %zu", c->max_out);

	/* Resume: everything queued so far plus 4 MiB more must arrive. */
	c->tx_total = c->tx_off + 4 * MIB;
	bp.paused = 0;
	bp.resumed = 1;
	bufferevent_enable(s->bev, EV_READ);
	side_consume(s);
	side_pump(c);
	ck_assert_msg(fx_wait_rx(f, s, c->tx_total, 30000),
		      "after resume got %llu of %llu bytes",
		      (unsigned long long)s->rx,
		      (unsigned long long)c->tx_total);
	ck_assert(!s->bad);
	fx_free(f);
}
END_TEST

static void stats_step(struct fx *f, struct side *d, struct xport_stats *prev)
{
	struct xport_stats st;
	memset(&st, 0xa5, sizeof(st));
	ck_assert_int_eq(f->ops->stream_stats(d->s, &st), 0);
#define MONO(field)                                                            \
	ck_assert_msg(st.field >= prev->field, #field " went backwards")
	MONO(bytes_in);
	MONO(bytes_out);
	MONO(pkts_in);
	MONO(pkts_out);
	MONO(retransmits);
	MONO(fec_recovered);
	MONO(crypt_failures);
	MONO(lost);
#undef MONO
	*prev = st;
}

START_TEST(t_stats_monotonic)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	struct xport_stats pc, ps;
	memset(&pc, 0, sizeof(pc));
	memset(&ps, 0, sizeof(ps));
	s->verify = 1;
	s->rx_seed = 31;
	side_send(c, 31, MIB, 128 * KIB);
	uint64_t end = util_now_ms() + 30000;
	while (s->rx < MIB && util_now_ms() < end) {
		fx_run(f, 5, NULL, NULL);
		stats_step(f, c, &pc);
		stats_step(f, s, &ps);
	}
	ck_assert_int_eq(s->rx, MIB);
	ck_assert(!s->bad);
	stats_step(f, c, &pc);
	stats_step(f, s, &ps);
	ck_assert_msg(pc.bytes_out >= MIB, "sender bytes_out %llu",
		      (unsigned long long)pc.bytes_out);
	ck_assert_msg(ps.bytes_in >= MIB, "receiver bytes_in %llu",
		      (unsigned long long)ps.bytes_in);
	fx_free(f);
}
END_TEST

void xport_add_data_cases(Suite *s)
{
	TCase *tc = tcase_create("data");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_echo_1mib);
	tcase_add_loop_test(tc, t_eof_after_flush, 0, 2);
	tcase_add_test(tc, t_backpressure);
	tcase_add_test(tc, t_stats_monotonic);
	suite_add_tcase(s, tc);
}
