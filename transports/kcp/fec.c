/*
 * fec.c - kcp-go compatible Reed-Solomon FEC (see fec.h, docs/kcp-wire.md §5).
 */
#include "fec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jerasure.h>
#include <jerasure/galois.h>

/* Shard buffers are 64-byte aligned (gf-complete wants src/dst equal mod 16). */
#define FEC_ALIGN 64
/* kcp-go's auto-tuner keeps this many (type, seqid) samples. */
#define FEC_TUNE_SAMPLES 258

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static void put_le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static unsigned get_le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Serial-number order of seqids, as kcp-go's _itimediff. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static bool geometry_ok(int ds, int ps)
{
	return ds >= 1 && ps >= 1 && ds + ps <= FEC_MAX_SHARDS;
}

uint8_t fec_gf_mul(uint8_t a, uint8_t b)
{
	return (uint8_t)galois_single_multiply(a, b, 8);
}

uint32_t fec_paws(int ds, int ps)
{
	uint32_t n = (uint32_t)(ds + ps);

	return n ? 0xFFFFFFFFu / n * n : 0;
}

/*
 * Parity rows as jerasure ints: rows ds..ds+ps-1 of V * inv(V[0..ds-1]) with
 * V[r][c] = r^c (0^0 = 1), i.e. klauspost's buildMatrix. The top of that
 * product is the identity, so only the parity rows are computed.
 */
static int build_matrix(int ds, int ps, int *out)
{
	int n = ds + ps;
	int *v, *top, *inv;
	int r, c, i, rc = -ENOMEM;

	v = calloc((size_t)n * ds, sizeof(*v));
	top = calloc((size_t)ds * ds, sizeof(*top));
	inv = calloc((size_t)ds * ds, sizeof(*inv));
	if (!v || !top || !inv)
		goto out;
	for (r = 0; r < n; r++) {
		int p = 1;

		for (c = 0; c < ds; c++) {
			v[r * ds + c] = p;
			p = galois_single_multiply(p, r, 8);
		}
	}
	memcpy(top, v, (size_t)ds * ds * sizeof(*top));
	rc = -EINVAL;
	if (jerasure_invert_matrix(top, inv, ds, 8) != 0)
		goto out; /* cannot happen: Vandermonde rows are distinct */
	for (r = 0; r < ps; r++) {
		for (c = 0; c < ds; c++) {
			int acc = 0;

			for (i = 0; i < ds; i++)
				acc ^= galois_single_multiply(v[(ds + r) * ds + i],
							      inv[i * ds + c], 8);
			out[r * ds + c] = acc;
		}
	}
	rc = 0;
out:
	free(v);
	free(top);
	free(inv);
	return rc;
}

int fec_parity_matrix(int ds, int ps, uint8_t *parity_rows)
{
	int *m;
	int i, rc;

	if (!geometry_ok(ds, ps))
		return -EINVAL;
	m = calloc((size_t)ds * ps, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rc = build_matrix(ds, ps, m);
	for (i = 0; rc == 0 && i < ds * ps; i++)
		parity_rows[i] = (uint8_t)m[i];
	free(m);
	return rc;
}

int fec_rs_encode(int ds, int ps, const uint8_t *const *data,
		  uint8_t *const *parity, size_t len)
{
	size_t stride = round_up(len ? len : 1, FEC_ALIGN);
	int *m = NULL;
	char **ptrs = NULL;
	uint8_t *slab = NULL;
	int i, rc = -ENOMEM;

	if (!geometry_ok(ds, ps) || len > INT32_MAX)
		return -EINVAL;
	m = calloc((size_t)ds * ps, sizeof(*m));
	ptrs = calloc((size_t)(ds + ps), sizeof(*ptrs));
	slab = aligned_alloc(FEC_ALIGN, stride * (size_t)(ds + ps));
	if (!m || !ptrs || !slab)
		goto out;
	rc = build_matrix(ds, ps, m);
	if (rc < 0)
		goto out;
	for (i = 0; i < ds + ps; i++)
		ptrs[i] = (char *)slab + stride * (size_t)i;
	for (i = 0; i < ds; i++)
		memcpy(ptrs[i], data[i], len);
	jerasure_matrix_encode(ds, ps, 8, m, ptrs, ptrs + ds, (int)len);
	for (i = 0; i < ps; i++)
		memcpy(parity[i], ptrs[ds + i], len);
out:
	free(slab);
	free(ptrs);
	free(m);
	return rc;
}

/* ---- encoder ------------------------------------------------------------ */

struct fec_encoder {
	int ds, ps;
	size_t hdr;       /* bytes reserved for the crypt layer */
	size_t mtu;       /* largest datagram accepted */
	uint32_t next;    /* next seqid */
	uint32_t paws;
	int count;        /* data shards cached in the open group */
	size_t max_len;   /* longest shard (size field + KCP) in the group */
	bool ready;       /* parity of the last completed group available */
	size_t parity_len;
	int *matrix;      /* ps x ds */
	char **dptrs;     /* ds aligned shard caches */
	char **cptrs;     /* ps aligned parity regions inside pdgram[] */
	uint8_t **pdgram; /* ps parity datagram starts */
	size_t *shard_len;
	uint8_t *slab;
};

struct fec_encoder *fec_encoder_new(int ds, int ps, size_t header_offset,
				    size_t mtu)
{
	struct fec_encoder *e = NULL;
	size_t shard_cap, pad, pstride, total;
	int i, rc;

	if (!geometry_ok(ds, ps) || mtu > FEC_MAX_PACKET ||
	    mtu < header_offset + FEC_HEADER_SIZE_PLUS2) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->ds = ds;
	e->ps = ps;
	e->hdr = header_offset;
	e->mtu = mtu;
	e->paws = fec_paws(ds, ps);
	e->matrix = calloc((size_t)ds * ps, sizeof(*e->matrix));
	e->dptrs = calloc((size_t)ds, sizeof(*e->dptrs));
	e->cptrs = calloc((size_t)ps, sizeof(*e->cptrs));
	e->pdgram = calloc((size_t)ps, sizeof(*e->pdgram));
	e->shard_len = calloc((size_t)ds, sizeof(*e->shard_len));
	if (!e->matrix || !e->dptrs || !e->cptrs || !e->pdgram || !e->shard_len)
		goto nomem;
	rc = build_matrix(ds, ps, e->matrix);
	if (rc < 0) {
		fec_encoder_free(e);
		errno = -rc;
		return NULL;
	}
	/*
	 * Parity bytes start at hdr + 6 inside the datagram; shift each
	 * datagram so that this offset lands on an aligned address and
	 * jerasure can write straight into it.
	 */
	shard_cap = round_up(mtu - header_offset - FEC_HEADER_SIZE, FEC_ALIGN);
	pad = (FEC_ALIGN - (header_offset + FEC_HEADER_SIZE) % FEC_ALIGN) %
	      FEC_ALIGN;
	pstride = round_up(pad + header_offset + FEC_HEADER_SIZE + shard_cap +
				   FEC_TAILROOM,
			   FEC_ALIGN);
	total = shard_cap * (size_t)ds + pstride * (size_t)ps;
	e->slab = aligned_alloc(FEC_ALIGN, total);
	if (!e->slab)
		goto nomem;
	memset(e->slab, 0, total);
	for (i = 0; i < ds; i++)
		e->dptrs[i] = (char *)e->slab + shard_cap * (size_t)i;
	for (i = 0; i < ps; i++) {
		uint8_t *blk = e->slab + shard_cap * (size_t)ds +
			       pstride * (size_t)i;

		e->pdgram[i] = blk + pad;
		e->cptrs[i] = (char *)blk + pad + header_offset +
			      FEC_HEADER_SIZE;
	}
	return e;
nomem:
	fec_encoder_free(e);
	errno = ENOMEM;
	return NULL;
}

void fec_encoder_free(struct fec_encoder *e)
{
	if (!e)
		return;
	free(e->slab);
	free(e->shard_len);
	free(e->pdgram);
	free(e->cptrs);
	free(e->dptrs);
	free(e->matrix);
	free(e);
}

int fec_encoder_encode(struct fec_encoder *e, uint8_t *buf, size_t len)
{
	size_t off = e->hdr + FEC_HEADER_SIZE; /* start of the shard */
	size_t slen;
	int i;

	if (len < e->hdr + FEC_HEADER_SIZE_PLUS2)
		return -EINVAL;
	if (len > e->mtu)
		return -EMSGSIZE;
	e->ready = false;
	slen = len - off;
	put_le32(buf + e->hdr, e->next);
	put_le16(buf + e->hdr + 4, FEC_TYPE_DATA);
	put_le16(buf + off, (unsigned)slen);
	e->next++; /* data never reaches paws: groups are aligned to it */
	memcpy(e->dptrs[e->count], buf + off, slen);
	e->shard_len[e->count] = slen;
	if (slen > e->max_len)
		e->max_len = slen;
	if (++e->count < e->ds)
		return 0;

	for (i = 0; i < e->ds; i++)
		memset(e->dptrs[i] + e->shard_len[i], 0,
		       e->max_len - e->shard_len[i]);
	jerasure_matrix_encode(e->ds, e->ps, 8, e->matrix, e->dptrs, e->cptrs,
			       (int)e->max_len);
	for (i = 0; i < e->ps; i++) {
		memset(e->pdgram[i], 0, e->hdr);
		put_le32(e->pdgram[i] + e->hdr, e->next);
		put_le16(e->pdgram[i] + e->hdr + 4, FEC_TYPE_PARITY);
		/* the only place the numbering wraps, so no group straddles it */
		e->next = (e->next + 1) % e->paws;
	}
	e->parity_len = off + e->max_len;
	e->ready = true;
	e->count = 0;
	e->max_len = 0;
	return e->ps;
}

uint8_t *fec_encoder_parity(struct fec_encoder *e, int i, size_t *len)
{
	if (!e->ready || i < 0 || i >= e->ps)
		return NULL;
	*len = e->parity_len;
	return e->pdgram[i];
}

int fec_encoder_pending(const struct fec_encoder *e)
{
	return e->count;
}

const uint8_t *fec_encoder_shard(const struct fec_encoder *e, int i,
				 size_t *len)
{
	if (i < 0 || i >= e->count)
		return NULL;
	*len = e->shard_len[i];
	return (const uint8_t *)e->dptrs[i];
}

uint32_t fec_encoder_next_seqid(const struct fec_encoder *e)
{
	return e->next;
}

void fec_encoder_set_next_seqid(struct fec_encoder *e, uint32_t seqid)
{
	e->next = seqid % e->paws;
	e->count = 0;
	e->max_len = 0;
	e->ready = false;
}

/* ---- decoder ------------------------------------------------------------ */

struct fec_entry {
	uint32_t seqid;
	uint16_t type;
	uint16_t len;  /* shard bytes (after the 6-byte header) */
	uint64_t ts;   /* arrival, caller's ms clock */
	uint8_t *data; /* aligned, geom->shard_cap bytes */
};

/* Everything whose size depends on ds/ps; replaced as a whole on re-tune. */
struct fec_geom {
	int ds, ps, n;
	int rxlimit;
	int *matrix;            /* ps x ds parity rows */
	int *sub, *inv;         /* ds x ds decoding scratch */
	int *src_ids;           /* ds: rows chosen for decoding */
	char **dptrs, **cptrs;  /* ds / ps shard pointers for jerasure */
	struct fec_entry **pos; /* n: group member by seqid % n */
	struct fec_entry *pool; /* rxlimit + 1 */
	struct fec_entry **free_list;
	int nfree;
	struct fec_entry **rx; /* queue ordered by seqid */
	int nrx;
	int nrecbuf;           /* min(ds, ps): at most that many rebuilt */
	uint8_t **recbuf;
	const uint8_t **rec_ptr;
	size_t *rec_len;
	uint8_t *slab;
};

struct fec_pulse {
	bool data;
	uint32_t seqid;
};

struct fec_decoder {
	size_t mtu;
	size_t shard_cap;
	struct fec_geom *g;
	int nrec, rec_next; /* output of the last input call */
	struct fec_pulse tune[FEC_TUNE_SAMPLES];
	struct fec_decoder_stats st;
};

static void geom_free(struct fec_geom *g)
{
	if (!g)
		return;
	free(g->slab);
	free(g->rec_len);
	free(g->rec_ptr);
	free(g->recbuf);
	free(g->rx);
	free(g->free_list);
	free(g->pool);
	free(g->pos);
	free(g->cptrs);
	free(g->dptrs);
	free(g->src_ids);
	free(g->inv);
	free(g->sub);
	free(g->matrix);
	free(g);
}

static struct fec_geom *geom_new(int ds, int ps, size_t shard_cap, int *err)
{
	struct fec_geom *g;
	size_t nent, total;
	int i, rc;

	*err = -ENOMEM;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->ds = ds;
	g->ps = ps;
	g->n = ds + ps;
	g->rxlimit = FEC_RX_MULTI * g->n;
	g->nrecbuf = ds < ps ? ds : ps;
	nent = (size_t)g->rxlimit + 1; /* one insert before eviction */
	g->matrix = calloc((size_t)ds * ps, sizeof(int));
	g->sub = calloc((size_t)ds * ds, sizeof(int));
	g->inv = calloc((size_t)ds * ds, sizeof(int));
	g->src_ids = calloc((size_t)ds, sizeof(int));
	g->dptrs = calloc((size_t)ds, sizeof(char *));
	g->cptrs = calloc((size_t)ps, sizeof(char *));
	g->pos = calloc((size_t)g->n, sizeof(*g->pos));
	g->pool = calloc(nent, sizeof(*g->pool));
	g->free_list = calloc(nent, sizeof(*g->free_list));
	g->rx = calloc(nent, sizeof(*g->rx));
	g->recbuf = calloc((size_t)g->nrecbuf, sizeof(*g->recbuf));
	g->rec_ptr = calloc((size_t)g->nrecbuf, sizeof(*g->rec_ptr));
	g->rec_len = calloc((size_t)g->nrecbuf, sizeof(*g->rec_len));
	if (!g->matrix || !g->sub || !g->inv || !g->src_ids || !g->dptrs ||
	    !g->cptrs || !g->pos || !g->pool || !g->free_list || !g->rx ||
	    !g->recbuf || !g->rec_ptr || !g->rec_len)
		goto fail;
	total = shard_cap * (nent + (size_t)g->nrecbuf);
	g->slab = aligned_alloc(FEC_ALIGN, total);
	if (!g->slab)
		goto fail;
	rc = build_matrix(ds, ps, g->matrix);
	if (rc < 0) {
		*err = rc;
		goto fail;
	}
	for (i = 0; i < (int)nent; i++) {
		g->pool[i].data = g->slab + shard_cap * (size_t)i;
		g->free_list[i] = &g->pool[i];
	}
	g->nfree = (int)nent;
	for (i = 0; i < g->nrecbuf; i++)
		g->recbuf[i] = g->slab + shard_cap * (nent + (size_t)i);
	*err = 0;
	return g;
fail:
	geom_free(g);
	return NULL;
}

struct fec_decoder *fec_decoder_new(int ds, int ps, size_t mtu)
{
	struct fec_decoder *d;
	int err;

	if (!geometry_ok(ds, ps) || mtu < FEC_HEADER_SIZE_PLUS2 ||
	    mtu > FEC_MAX_PACKET) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->mtu = mtu;
	d->shard_cap = round_up(mtu - FEC_HEADER_SIZE, FEC_ALIGN);
	d->g = geom_new(ds, ps, d->shard_cap, &err);
	if (!d->g) {
		free(d);
		errno = -err;
		return NULL;
	}
	return d;
}

void fec_decoder_free(struct fec_decoder *d)
{
	if (!d)
		return;
	geom_free(d->g);
	free(d);
}

/* Remove rx[first .. first+count) and return the entries to the pool. */
static void rx_drop(struct fec_geom *g, int first, int count)
{
	int i;

	for (i = first; i < first + count; i++)
		g->free_list[g->nfree++] = g->rx[i];
	memmove(&g->rx[first], &g->rx[first + count],
		(size_t)(g->nrx - first - count) * sizeof(*g->rx));
	g->nrx -= count;
}

/*
 * kcp-go's FindPeriod: length of the first complete run of `data` pulses
 * with consecutive seqids in the sample ring; <= 0 when none is visible.
 */
static int tune_period(const struct fec_pulse *p, bool data)
{
	int i, left = 0, right = 0;

	for (i = 1; i < FEC_TUNE_SAMPLES; i++) {
		if (p[i - 1].data != data && p[i].data == data &&
		    p[i - 1].seqid + 1 == p[i].seqid) {
			left = i;
			break;
		}
	}
	for (i = left + 1; i < FEC_TUNE_SAMPLES; i++) {
		if (p[i - 1].seqid + 1 != p[i].seqid)
			return -1;
		if (p[i - 1].data == data && p[i].data != data) {
			right = i;
			break;
		}
	}
	return right - left;
}

/*
 * A packet whose type disagrees with its position in our geometry means the
 * peer encodes differently (typically the lazy 1/1 decoder): measure the
 * peer's data/parity run lengths and switch to them when both are visible.
 */
static void tune(struct fec_decoder *d, uint32_t seqid, bool is_data)
{
	struct fec_geom *g = d->g, *ng;
	int ads, aps, err;
	bool expect_data;

	d->tune[seqid % FEC_TUNE_SAMPLES] =
		(struct fec_pulse){ .data = is_data, .seqid = seqid };
	expect_data = (int)(seqid % (uint32_t)g->n) < g->ds;
	if (expect_data == is_data)
		return;
	ads = tune_period(d->tune, true);
	aps = tune_period(d->tune, false);
	if (ads <= 0 || aps <= 0 || ads >= 256 || aps >= 256 ||
	    ads + aps > FEC_MAX_SHARDS || (ads == g->ds && aps == g->ps))
		return;
	ng = geom_new(ads, aps, d->shard_cap, &err);
	if (!ng)
		return; /* keep decoding with the old geometry */
	/* queued shards were grouped by the wrong geometry: drop them */
	geom_free(g);
	d->g = ng;
	d->st.retunes++;
}

/*
 * The group of the shard just inserted at rx[at] is complete enough: either
 * all data arrived (nothing to do) or enough shards survive to rebuild the
 * missing data shards like klauspost's ReconstructData.
 */
static void try_decode(struct fec_decoder *d, int at)
{
	struct fec_geom *g = d->g;
	uint32_t seqid = g->rx[at]->seqid;
	uint32_t begin = seqid - seqid % (uint32_t)g->n;
	uint32_t end = begin + (uint32_t)g->n - 1;
	int first = at, last = at, nshard, ndata = 0, i, j, nsrc, nmiss;
	size_t maxlen = 0;

	while (first > 0 && seq_diff(g->rx[first - 1]->seqid, begin) >= 0)
		first--;
	while (last + 1 < g->nrx && seq_diff(g->rx[last + 1]->seqid, end) <= 0)
		last++;
	nshard = last - first + 1;
	if (nshard < g->ds)
		return;
	memset(g->pos, 0, (size_t)g->n * sizeof(*g->pos));
	for (i = first; i <= last; i++) {
		struct fec_entry *en = g->rx[i];

		g->pos[en->seqid % (uint32_t)g->n] = en;
		if (en->type == FEC_TYPE_DATA)
			ndata++;
		if (en->len > maxlen)
			maxlen = en->len;
	}
	if (ndata == g->ds)
		goto done;

	/* first ds surviving shards in index order, as klauspost picks them */
	nsrc = 0;
	for (i = 0; i < g->n && nsrc < g->ds; i++) {
		if (!g->pos[i])
			continue;
		g->src_ids[nsrc] = i;
		for (j = 0; j < g->ds; j++)
			g->sub[nsrc * g->ds + j] =
				i < g->ds ? (i == j) :
					    g->matrix[(i - g->ds) * g->ds + j];
		nsrc++;
	}
	/*
	 * Fewer distinct positions than shards: a group range running past
	 * 2^32 (seqids >= paws, never sent by a sane peer) folded two seqids
	 * onto one position. Nothing sensible to rebuild.
	 */
	if (nsrc < g->ds)
		goto done;
	for (i = 0; i < g->n; i++) {
		struct fec_entry *en = g->pos[i];

		if (en) {
			memset(en->data + en->len, 0, maxlen - en->len);
			if (i < g->ds)
				g->dptrs[i] = (char *)en->data;
			else
				g->cptrs[i - g->ds] = (char *)en->data;
		}
	}
	/* missing data <= surviving parity <= ps, so recbuf[] always suffices */
	nmiss = 0;
	for (i = 0; i < g->ds; i++)
		nmiss += !g->pos[i];
	if (nmiss == 0 || nmiss > g->nrecbuf ||
	    jerasure_invert_matrix(g->sub, g->inv, g->ds, 8) != 0)
		goto done;
	for (i = 0, j = 0; i < g->ds; i++)
		if (!g->pos[i])
			g->dptrs[i] = (char *)g->recbuf[j++];
	for (i = 0; i < g->ds; i++) {
		const uint8_t *r;
		unsigned sz;

		if (g->pos[i])
			continue;
		jerasure_matrix_dotprod(g->ds, 8, g->inv + i * g->ds,
					g->src_ids, i, g->dptrs, g->cptrs,
					(int)maxlen);
		r = (const uint8_t *)g->dptrs[i];
		sz = get_le16(r);
		if (sz < 2 || sz > maxlen) {
			d->st.errors++;
			continue;
		}
		g->rec_ptr[d->nrec] = r + 2;
		g->rec_len[d->nrec] = sz - 2;
		d->nrec++;
		d->st.recovered++;
	}
done:
	rx_drop(g, first, nshard);
}

int fec_decoder_input(struct fec_decoder *d, const uint8_t *pkt, size_t len,
		      uint64_t now_ms)
{
	struct fec_geom *g;
	struct fec_entry *en;
	uint32_t seqid;
	int type, at, i, nexp;

	d->nrec = 0;
	d->rec_next = 0;
	type = fec_packet_type(pkt, len);
	if (!type || len < FEC_HEADER_SIZE_PLUS2) {
		d->st.bad_packets++;
		return -EBADMSG;
	}
	seqid = get_le32(pkt);
	if (type == FEC_TYPE_PARITY)
		d->st.parity_shards++;
	tune(d, seqid, type == FEC_TYPE_DATA);
	g = d->g;
	if (len > d->mtu) {
		d->st.bad_packets++; /* still a valid data packet for KCP */
		return type;
	}

	at = 0;
	for (i = g->nrx - 1; i >= 0; i--) {
		int32_t df = seq_diff(seqid, g->rx[i]->seqid);

		if (df == 0) {
			d->st.duplicates++;
			return type;
		}
		if (df > 0) {
			at = i + 1;
			break;
		}
	}
	en = g->free_list[--g->nfree]; /* nrx <= rxlimit < pool size here */
	en->seqid = seqid;
	en->type = (uint16_t)type;
	en->len = (uint16_t)(len - FEC_HEADER_SIZE);
	en->ts = now_ms;
	memcpy(en->data, pkt + FEC_HEADER_SIZE, en->len);
	memmove(&g->rx[at + 1], &g->rx[at], (size_t)(g->nrx - at) * sizeof(*g->rx));
	g->rx[at] = en;
	g->nrx++;

	try_decode(d, at);

	if (g->nrx > g->rxlimit) {
		if (g->rx[0]->type == FEC_TYPE_DATA)
			d->st.short_shards++;
		rx_drop(g, 0, 1);
	}
	for (nexp = 0; nexp < g->nrx; nexp++)
		if ((int64_t)(now_ms - g->rx[nexp]->ts) <= FEC_EXPIRE_MS)
			break;
	if (nexp) {
		d->st.expired += (uint64_t)nexp;
		rx_drop(g, 0, nexp);
	}
	return type;
}

const uint8_t *fec_decoder_next(struct fec_decoder *d, size_t *len)
{
	if (d->rec_next >= d->nrec)
		return NULL;
	*len = d->g->rec_len[d->rec_next];
	return d->g->rec_ptr[d->rec_next++];
}

void fec_decoder_get_stats(const struct fec_decoder *d,
			   struct fec_decoder_stats *st)
{
	*st = d->st;
}

void fec_decoder_geometry(const struct fec_decoder *d, int *ds, int *ps)
{
	*ds = d->g->ds;
	*ps = d->g->ps;
}

size_t fec_decoder_queued(const struct fec_decoder *d)
{
	return (size_t)d->g->nrx;
}
