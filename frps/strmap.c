/*
 * strmap.c - open addressing with linear probing. Deleted slots become
 * tombstones (entries never move on delete), which is what lets an
 * iteration delete the entry it is standing on. Tombstones are dropped when
 * the table is rebuilt on growth.
 */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	char *key; /* NULL = empty; TOMB = deleted */
	void *val;
};

struct strmap {
	struct slot *slots;
	size_t cap;   /* power of two */
	size_t count; /* live entries */
	size_t used;  /* live + tombstones */
};

static char tomb_mark;
#define TOMB (&tomb_mark)

/* FNV-1a: keys are short names, no attacker gains from collisions beyond
 * a longer probe (the number of keys per client is bounded elsewhere). */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMB)
			free(m->slots[i].key);
	free(m->slots);
	free(m);
}

/* Slot holding key, or SIZE_MAX. */
static size_t find(const struct strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask, n = 0; n < m->cap;
	     i = (i + 1) & mask, n++) {
		const char *k = m->slots[i].key;
		if (!k)
			return SIZE_MAX;
		if (k != TOMB && strcmp(k, key) == 0)
			return i;
	}
	return SIZE_MAX;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	size_t i = find(m, key);
	return i == SIZE_MAX ? NULL : m->slots[i].val;
}

static int grow(struct strmap *m)
{
	size_t ncap = m->count * 4 < m->cap ? m->cap : m->cap * 2;
	struct slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		char *k = m->slots[i].key;
		if (!k || k == TOMB)
			continue;
		size_t j = hash_str(k) & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	m->used = m->count;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	size_t i = find(m, key);
	if (i != SIZE_MAX) {
		m->slots[i].val = val;
		return 0;
	}
	if ((m->used + 1) * 10 > m->cap * 7 && grow(m) < 0)
		return -ENOMEM;
	size_t len = strlen(key) + 1;
	char *k = malloc(len);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, len);
	size_t mask = m->cap - 1;
	i = hash_str(key) & mask;
	while (m->slots[i].key && m->slots[i].key != TOMB)
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = k;
	m->slots[i].val = val;
	m->count++;
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	size_t i = find(m, key);
	if (i == SIZE_MAX)
		return NULL;
	void *v = m->slots[i].val;
	free(m->slots[i].key);
	m->slots[i].key = TOMB;
	m->slots[i].val = NULL;
	m->count--;
	return v;
}

size_t strmap_count(const struct strmap *m) { return m->count; }

void *strmap_next(const struct strmap *m, size_t *pos, const char **key)
{
	for (size_t i = *pos; i < m->cap; i++) {
		const char *k = m->slots[i].key;
		if (k && k != TOMB) {
			*pos = i + 1;
			if (key)
				*key = k;
			return m->slots[i].val;
		}
	}
	*pos = m->cap;
	return NULL;
}
