/*
 * mux_frame.c - yamux header codec and configuration defaults (no I/O).
 */
#include <errno.h>

#include "mux.h"

void mux_frame_encode(const struct mux_frame *f, uint8_t out[MUX_HDR_LEN])
{
	out[0] = f->version;
	out[1] = f->type;
	out[2] = (uint8_t)(f->flags >> 8);
	out[3] = (uint8_t)f->flags;
	out[4] = (uint8_t)(f->stream_id >> 24);
	out[5] = (uint8_t)(f->stream_id >> 16);
	out[6] = (uint8_t)(f->stream_id >> 8);
	out[7] = (uint8_t)f->stream_id;
	out[8] = (uint8_t)(f->length >> 24);
	out[9] = (uint8_t)(f->length >> 16);
	out[10] = (uint8_t)(f->length >> 8);
	out[11] = (uint8_t)f->length;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int mux_frame_decode(const uint8_t in[MUX_HDR_LEN], struct mux_frame *f)
{
	f->version = in[0];
	f->type = in[1];
	f->flags = (uint16_t)(in[2] << 8 | in[3]);
	f->stream_id = be32(in + 4);
	f->length = be32(in + 8);
	if (f->version != 0 || f->type > MUX_GO_AWAY)
		return -EPROTO;
	return 0;
}

void mux_config_default(struct mux_config *c)
{
	c->max_stream_window = 6u * 1024u * 1024u;
	c->keepalive_interval_ms = 30000;
	c->keepalive_timeout_ms = 60000;
	c->max_streams = 4096;
}
