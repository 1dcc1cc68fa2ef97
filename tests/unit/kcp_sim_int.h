/* kcp_sim_int.h - between kcp_sim.c and kcp_sim_btl.c only. */
#ifndef KCP_SIM_INT_H
#define KCP_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kcp_sim_btl;
/** Queues a datagram of `bytes` link bytes arriving at now_us; false when
 *  the queue is full (tail drop). *depart_us: when its last bit leaves. */
bool kcp_sim_btl_admit(struct kcp_sim_btl *b, uint64_t now_us, size_t bytes,
		       uint64_t *depart_us);

#endif
