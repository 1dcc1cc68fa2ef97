/*
 * ctl.h - frp v1 messages over one chan: framing on the way out, decoding on
 * the way in, and frp's AES-128-CFB control-channel layer once enabled.
 *
 * Used for the control stream (Login ... encrypted traffic) and for the first
 * message(s) of a work connection (NewWorkConn / StartWorkConn, plain), after
 * which the caller takes the chan back with ctl_detach() and relays raw bytes.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct chan;
struct ctl;

/** One decoded message. The ctl frees m after the callback returns; the
 *  callee may steal pointers inside it (set them to NULL). The callee may
 *  call ctl_free() or ctl_detach() from here: no further message is
 *  delivered afterwards. */
typedef void (*ctl_msg_cb)(struct ctl *c, struct msg *m, void *arg);
/** The stream ended (err 0 = EOF) or failed (-EBADMSG, -EMSGSIZE, -EIO,
 *  -ETIMEDOUT...). Called at most once; the callee frees the ctl (allowed
 *  here). */
typedef void (*ctl_err_cb)(struct ctl *c, int err, void *arg);

/** Take ch and start reading messages from it. Bytes already in the bev's
 *  input are processed. NULL on OOM (ch is then closed). */
struct ctl *ctl_new(struct chan *ch, ctl_msg_cb msg_cb, ctl_err_cb err_cb,
		    void *arg);
/** Close the chan (flush) and free. Safe from the callbacks. NULL no-op. */
void ctl_free(struct ctl *c);
/** Give the chan back (callbacks cleared, unread bytes left in its bev
 *  input) and free the ctl. Only for plain (non-encrypted) ctls. */
struct chan *ctl_detach(struct ctl *c);

/** Queue one message (encrypted if crypto is on). 0 or -errno. */
int ctl_send(struct ctl *c, const struct msg *m);
/** Switch both directions to AES-128-CFB with key: we send a fresh random
 *  IV first, then every later byte encrypted; the next 16 bytes we read are
 *  the peer's IV and everything after it is decrypted. Call it right after
 *  the plain Login/LoginResp exchange (from inside the msg callback is
 *  fine: later bytes already buffered are handled correctly). */
int ctl_enable_crypto(struct ctl *c, const uint8_t key[16]);

/** Hand the ctl to a new owner (e.g. a work connection that turns into a
 *  udp proxy session). Safe from inside a msg callback. */
void ctl_set_callbacks(struct ctl *c, ctl_msg_cb msg_cb, ctl_err_cb err_cb,
		       void *arg);
/** Stop/start delivering messages (backpressure or pausing). */
void ctl_pause(struct ctl *c, int paused);
/** The chan (borrowed). */
struct chan *ctl_chan(struct ctl *c);
/** Monotonic ms of the last byte received. */
uint64_t ctl_last_rx_ms(const struct ctl *c);

#endif
