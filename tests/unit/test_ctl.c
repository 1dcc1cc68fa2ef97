/*
 * test_ctl.c - handing a ctl from one owner to another: with its callbacks
 * cleared, no message and no error reaches anyone; the next owner gets what
 * arrived meanwhile, in order, then the error, and never from inside
 * ctl_set_callbacks itself.
 */
#include "ctl.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "msg.h"

struct owner {
	int msgs;
	int types[8];
	int errs;
	int err;
	struct ctl *handoff_after; /* clear callbacks after this many msgs */
	int handoff_at;
};

struct fix {
	struct event_base *base;
	struct bufferevent *p[2];
	struct chan *ch;
};

static void on_msg(struct ctl *c, struct msg *m, void *arg)
{
	struct owner *o = arg;
	if (o->msgs < 8)
		o->types[o->msgs] = m->type;
	o->msgs++;
	if (o->handoff_at && o->msgs == o->handoff_at)
		ctl_set_callbacks(c, NULL, NULL, NULL);
}

static void on_err(struct ctl *c, int err, void *arg)
{
	(void)c;
	struct owner *o = arg;
	o->errs++;
	o->err = err;
}

static void fix_init(struct fix *f)
{
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	ck_assert_int_eq(bufferevent_pair_new(f->base, 0, f->p), 0);
	f->ch = calloc(1, sizeof(*f->ch));
	ck_assert_ptr_nonnull(f->ch);
	f->ch->bev = f->p[0];
}

static void fix_free(struct fix *f)
{
	if (f->p[1])
		bufferevent_free(f->p[1]);
	bufferevent_free(f->p[0]);
	event_base_free(f->base);
}

static void send_ping(struct fix *f, int type)
{
	struct msg m = {.type = type};
	struct evbuffer *b = evbuffer_new();
	ck_assert_int_eq(msg_encode(b, &m), 0);
	bufferevent_write_buffer(f->p[1], b);
	evbuffer_free(b);
}

static void spin(struct fix *f)
{
	for (int i = 0; i < 5; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

START_TEST(test_cleared_callbacks_hold_messages)
{
	struct fix f;
	fix_init(&f);
	struct owner a = {0}, b = {0};
	send_ping(&f, MSG_PING);
	send_ping(&f, MSG_PONG);
	struct ctl *c = ctl_new(f.ch, on_msg, on_err, &a);
	ck_assert_ptr_nonnull(c);
	ctl_set_callbacks(c, NULL, NULL, NULL);
	spin(&f);
	ck_assert_int_eq(a.msgs, 0);
	ctl_set_callbacks(c, on_msg, on_err, &b);
	ck_assert_int_eq(b.msgs, 0); /* never from inside set_callbacks */
	spin(&f);
	ck_assert_int_eq(b.msgs, 2);
	ck_assert_int_eq(b.types[0], MSG_PING);
	ck_assert_int_eq(b.types[1], MSG_PONG);
	ck_assert_int_eq(a.msgs, 0);
	ctl_free(c);
	spin(&f);
	fix_free(&f);
}
END_TEST

/* The owner clears the callbacks from inside its message callback: what is
 * already buffered behind that message waits for the next owner. */
START_TEST(test_handoff_inside_callback)
{
	struct fix f;
	fix_init(&f);
	struct owner a = {.handoff_at = 1}, b = {0};
	send_ping(&f, MSG_PING);
	send_ping(&f, MSG_PONG);
	send_ping(&f, MSG_PING);
	struct ctl *c = ctl_new(f.ch, on_msg, on_err, &a);
	spin(&f);
	ck_assert_int_eq(a.msgs, 1);
	ctl_set_callbacks(c, on_msg, on_err, &b);
	spin(&f);
	ck_assert_int_eq(a.msgs, 1);
	ck_assert_int_eq(b.msgs, 2);
	ck_assert_int_eq(b.types[0], MSG_PONG);
	ctl_free(c);
	spin(&f);
	fix_free(&f);
}
END_TEST

/* EOF during a hand-over reaches the next owner, after the messages. */
START_TEST(test_eof_during_handoff)
{
	struct fix f;
	fix_init(&f);
	struct owner a = {0}, b = {0};
	struct ctl *c = ctl_new(f.ch, on_msg, on_err, &a);
	ctl_set_callbacks(c, NULL, NULL, NULL);
	send_ping(&f, MSG_PING);
	/* The peer finishes: the partner end reads EOF. */
	bufferevent_flush(f.p[1], EV_WRITE, BEV_FINISHED);
	spin(&f);
	ck_assert_int_eq(a.msgs + a.errs, 0);
	ctl_set_callbacks(c, on_msg, on_err, &b);
	spin(&f);
	ck_assert_int_eq(b.msgs, 1);
	ck_assert_int_eq(b.errs, 1);
	ck_assert_int_eq(b.err, 0); /* EOF */
	ctl_free(c);
	spin(&f);
	fix_free(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("handover");
	tcase_add_test(tc, test_cleared_callbacks_hold_messages);
	tcase_add_test(tc, test_handoff_inside_callback);
	tcase_add_test(tc, test_eof_during_handoff);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
