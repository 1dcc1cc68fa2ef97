#include "sockbev.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define LIBEVENT_READ_CAP 4096
#define EXTRA_READ_MAX (256 * 1024)
#define MAX_WRITE (256 * 1024)

/* Set while read_more commits, whose own callback must not recurse. The
 * process is single-threaded and the flag is only up inside one call. */
static int topping_up;

/* Runs inside libevent's read, before the user's read callback. Bounded by
 * FIONREAD (never swallows an EOF or error libevent must report), by the
 * read high watermark and by EV_READ being on. */
static void read_more(struct bufferevent *bev, struct evbuffer *in)
{
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		return;
	size_t want = EXTRA_READ_MAX, lo = 0, hi = 0;
	bufferevent_getwatermark(bev, EV_READ, &lo, &hi);
	if (hi) {
		size_t have = evbuffer_get_length(in);
		if (have >= hi)
			return;
		if (hi - have < want)
			want = hi - have;
	}
	int avail = 0;
	if (ioctl(bufferevent_getfd(bev), FIONREAD, &avail) == -1 || avail <= 0)
		return;
	if ((size_t)avail < want)
		want = (size_t)avail;
	struct evbuffer_iovec v[2];
	int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (n <= 0)
		return;
	struct iovec iov[2];
	size_t left = want;
	for (int i = 0; i < n; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	ssize_t r = readv(bufferevent_getfd(bev), iov, n);
	int used = 0;
	for (size_t got = r > 0 ? (size_t)r : 0; used < n && got > 0; used++) {
		if (v[used].iov_len > got)
			v[used].iov_len = got;
		got -= v[used].iov_len;
	}
	topping_up = 1;
	evbuffer_commit_space(in, v, used);
	topping_up = 0;
}

static void in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		  void *arg)
{
	if (info->n_added == LIBEVENT_READ_CAP && !topping_up)
		read_more(arg, buf);
}

struct bufferevent *sockbev_new(struct event_base *base, int fd)
{
	struct bufferevent *bev =
		bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	/* The callback entry lives and dies with the input buffer. */
	if (!evbuffer_add_cb(bufferevent_get_input(bev), in_cb, bev)) {
		bufferevent_free(bev);
		return NULL;
	}
	bufferevent_set_max_single_write(bev, MAX_WRITE);
	return bev;
}
