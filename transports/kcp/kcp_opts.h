/*
 * kcp_opts.h - the kcp transport's options: the flattened `transport.kcp`
 * YAML subtree (or kcpcat flags), parsed and checked at init().
 *
 * Defaults are frp's KCP settings so a stock frp client can log in: nodelay
 * 1/20/2/1, mtu 1350, windows 128/512 when dialing and 1024/1024 when
 * accepting, FEC 10/3, stream mode, write delay, no crypt layer ("null").
 * Our own addition: `congestion: bbr` (the paced controller of kcp_cc.c;
 * the windows then default to 8192/8192 and act as ceilings) or `none`
 * (kcp-go's behaviour exactly, noCongestion as configured). An explicit
 * noCongestion without `congestion` means `none`.
 */
#ifndef KCP_OPTS_H
#define KCP_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "xport.h"

struct kcp_opts {
	int nodelay, interval, resend, nc;
	int snd_wnd, rcv_wnd;         /* 0 = role default (set_role) */
	int dial_snd_wnd, dial_rcv_wnd;
	int listen_snd_wnd, listen_rcv_wnd;
	int mtu;
	int data_shards, parity_shards;
	char crypt[24];               /* kcp-go/kcptun cipher name */
	char key[256];
	bool ack_nodelay;
	bool stream_mode;
	bool write_delay;
	int sock_buf;                 /* bytes, SO_RCVBUF/SO_SNDBUF */
	int idle_timeout_s;           /* 0 = never */
	int max_sessions;             /* per listener */
	int dead_link;                /* transmissions before a stream fails */
	int latency_dup;              /* send PUSH datagrams twice while at
					 most this many segments are in
					 flight (0 = never) */
	bool resend_dup;              /* send retransmissions and the ACK
					 that fills a hole twice */
	bool tail_guard;              /* complete the open FEC group when
					 bulk sending pauses */
	int congestion;               /* KCP_CC_BBR (default) or KCP_CC_NONE */
};

/** Defaults, then every option applied in order. -EINVAL with err naming
 *  the key ("sndWnd: \"x\" is not an integer", "unknown option \"foo\""). */
int kcp_opts_parse(struct kcp_opts *o, const struct xport_option *opts,
		   size_t n, char *err, size_t errlen);

#endif
