/*
 * sockbev.h - socket bufferevents for the relay's plain-socket ends (frps's
 * user connections, frpc's local-service connections) tuned for bulk data.
 *
 * libevent 2.1 reads at most 4 KiB per socket event (EVBUFFER_MAX_READ, fixed
 * before 2.2), which costs a syscall and a loop turn per 4 KiB. A sockbev
 * tops up every capped read with what the kernel already holds, straight
 * into the input buffer's memory, and writes up to 256 KiB per writev.
 * (tcp.so does the same for its streams; plugins cannot link this file.)
 */
#ifndef SOCKBEV_H
#define SOCKBEV_H

struct event_base;
struct bufferevent;

/** Like bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE) (fd may be
 *  -1 for a later bufferevent_socket_connect). Free with bufferevent_free. */
struct bufferevent *sockbev_new(struct event_base *base, int fd);

#endif
