#include "kcp_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_core.h"
#include "kcp_crypt.h"

enum opt_kind { K_INT, K_BOOL, K_STR, K_MODE, K_CC };

/* One row per option: YAML key, kind, target, range. */
struct opt_row {
	const char *key;
	enum opt_kind kind;
	size_t off;
	long min, max;
};

#define OFF(f) offsetof(struct kcp_opts, f)
static const struct opt_row rows[] = {
	{"mode", K_MODE, 0, 0, 0},
	{"noDelay", K_INT, OFF(nodelay), 0, 2},
	{"interval", K_INT, OFF(interval), 10, 5000},
	{"resend", K_INT, OFF(resend), 0, 100},
	{"noCongestion", K_INT, OFF(nc), 0, 1},
	{"sndWnd", K_INT, OFF(snd_wnd), 1, 65535},
	{"rcvWnd", K_INT, OFF(rcv_wnd), 1, 65535},
	{"mtu", K_INT, OFF(mtu), 100, 1500},
	{"dataShards", K_INT, OFF(data_shards), 0, 255},
	{"parityShards", K_INT, OFF(parity_shards), 0, 255},
	{"crypt", K_STR, OFF(crypt), 0, 0},
	{"key", K_STR, OFF(key), 0, 0},
	{"ackNoDelay", K_BOOL, OFF(ack_nodelay), 0, 0},
	{"streamMode", K_BOOL, OFF(stream_mode), 0, 0},
	{"writeDelay", K_BOOL, OFF(write_delay), 0, 0},
	{"sockBuf", K_INT, OFF(sock_buf), 4096, 256 << 20},
	{"idleTimeout", K_INT, OFF(idle_timeout_s), 0, 86400},
	{"maxSessions", K_INT, OFF(max_sessions), 1, 1000000},
	{"deadLink", K_INT, OFF(dead_link), 0, 1000000},
	{"latencyDup", K_INT, OFF(latency_dup), 0, 1024},
	{"resendDup", K_BOOL, OFF(resend_dup), 0, 0},
	{"tailGuard", K_BOOL, OFF(tail_guard), 0, 0},
	{"congestion", K_CC, OFF(congestion), 0, 0},
};

/* Windows with the controller: ceilings that cover 200 Mbit/s at 300 ms
 * (about 5,800 segments of 1,300 bytes in flight). Memory follows what is
 * in flight (kcp_send_limit), not these. */
#define CC_WND 8192

/* kcptun's profiles (all with resend 2 and congestion control off). */
static const struct {
	const char *name;
	int nodelay, interval, resend, nc;
} modes[] = {
	{"normal", 0, 40, 2, 1},
	{"fast", 0, 30, 2, 1},
	{"fast2", 1, 20, 2, 1},
	{"fast3", 1, 10, 2, 1},
};

static void defaults(struct kcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nodelay = 1;
	o->interval = 20;
	o->resend = 2;
	o->nc = 1;
	o->dial_snd_wnd = 128;
	o->dial_rcv_wnd = 512;
	o->listen_snd_wnd = 1024;
	o->listen_rcv_wnd = 1024;
	o->mtu = 1350;
	o->data_shards = 10;
	o->parity_shards = 3;
	snprintf(o->crypt, sizeof(o->crypt), "null");
	snprintf(o->key, sizeof(o->key), "it's a secrect");
	o->stream_mode = true;
	o->write_delay = true;
	o->sock_buf = 4 << 20;
	o->idle_timeout_s = 0;
	o->max_sessions = 4096;
	o->dead_link = 0;
	o->latency_dup = 4;
	o->resend_dup = true;
	o->tail_guard = true;
	o->congestion = KCP_CC_BBR;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int kcp_opts_parse(struct kcp_opts *o, const struct xport_option *opts,
		   size_t n, char *err, size_t errlen)
{
	bool cc_set = false, nc_set = false;

	defaults(o);
	/* Two passes: `mode` sets a profile, explicit noDelay/interval/resend/
	 * noCongestion keys then override it wherever they were written. */
	for (int pass = 0; pass < 2; pass++)
	for (size_t i = 0; i < n; i++) {
		const char *k = opts[i].key, *v = opts[i].value ? opts[i].value : "";
		if ((strcmp(k, "mode") == 0) != (pass == 0))
			continue;
		const struct opt_row *r = NULL;
		for (size_t j = 0; j < sizeof(rows) / sizeof(rows[0]); j++)
			if (strcmp(rows[j].key, k) == 0)
				r = &rows[j];
		if (!r) {
			snprintf(err, errlen, "unknown option \"%s\"", k);
			return -EINVAL;
		}
		char *base = (char *)o;
		cc_set = cc_set || r->kind == K_CC;
		nc_set = nc_set || (r->kind == K_INT && r->off == OFF(nc));
		switch (r->kind) {
		case K_CC:
			if (strcmp(v, "bbr") == 0) {
				o->congestion = KCP_CC_BBR;
			} else if (strcmp(v, "none") == 0) {
				o->congestion = KCP_CC_NONE;
			} else {
				snprintf(err, errlen, "congestion: \"%s\" is not "
						      "one of bbr, none", v);
				return -EINVAL;
			}
			break;
		case K_INT: {
			char *end;
			errno = 0;
			long x = strtol(v, &end, 10);
			if (!*v || *end || errno) {
				snprintf(err, errlen, "%s: \"%s\" is not an integer",
					 k, v);
				return -EINVAL;
			}
			if (x < r->min || x > r->max) {
				snprintf(err, errlen, "%s: %ld is out of range (%ld-%ld)",
					 k, x, r->min, r->max);
				return -EINVAL;
			}
			*(int *)(base + r->off) = (int)x;
			break;
		}
		case K_BOOL:
			if (parse_bool(v, (bool *)(base + r->off)) < 0) {
				snprintf(err, errlen, "%s: \"%s\" is not true or false",
					 k, v);
				return -EINVAL;
			}
			break;
		case K_STR: {
			size_t cap = r->off == OFF(crypt) ? sizeof(o->crypt)
							  : sizeof(o->key);
			if (strlen(v) >= cap) {
				snprintf(err, errlen, "%s: value too long", k);
				return -EINVAL;
			}
			snprintf(base + r->off, cap, "%s", v);
			break;
		}
		case K_MODE: {
			size_t j, nm = sizeof(modes) / sizeof(modes[0]);
			for (j = 0; j < nm; j++)
				if (strcmp(modes[j].name, v) == 0)
					break;
			if (j == nm) {
				snprintf(err, errlen, "mode: \"%s\" is not one of "
						      "normal, fast, fast2, fast3", v);
				return -EINVAL;
			}
			o->nodelay = modes[j].nodelay;
			o->interval = modes[j].interval;
			o->resend = modes[j].resend;
			o->nc = modes[j].nc;
			break;
		}
		}
	}
	if ((o->data_shards == 0) != (o->parity_shards == 0)) {
		snprintf(err, errlen, "dataShards and parityShards: set both or "
				      "neither to 0 (got %d/%d)",
			 o->data_shards, o->parity_shards);
		return -EINVAL;
	}
	if (o->data_shards + o->parity_shards > 256) {
		snprintf(err, errlen, "dataShards + parityShards must be <= 256");
		return -EINVAL;
	}
	if (strcmp(o->crypt, "null") != 0 && !kcp_crypt_supported(o->crypt)) {
		snprintf(err, errlen, "crypt: unknown cipher \"%s\"", o->crypt);
		return -EINVAL;
	}
	if (nc_set && !cc_set)
		o->congestion = KCP_CC_NONE; /* kcp-go's congestion, as asked */
	if (nc_set && o->congestion == KCP_CC_BBR) {
		snprintf(err, errlen, "noCongestion applies only with "
				      "congestion: none (bbr replaces the window)");
		return -EINVAL;
	}
	if (o->congestion == KCP_CC_BBR) {
		o->dial_snd_wnd = o->dial_rcv_wnd = CC_WND;
		o->listen_snd_wnd = o->listen_rcv_wnd = CC_WND;
	}
	if (o->snd_wnd) {
		o->dial_snd_wnd = o->snd_wnd;
		o->listen_snd_wnd = o->snd_wnd;
	}
	if (o->rcv_wnd) {
		o->dial_rcv_wnd = o->rcv_wnd;
		o->listen_rcv_wnd = o->rcv_wnd;
	}
	return 0;
}
