/*
 * conf_toml_lex.c - the lexical half of the TOML front end: the up-front
 * input check (UTF-8, control characters), the four string forms with
 * their escapes, and integers in every TOML base. Floats and date-times
 * are recognised only to be named in an error.
 */
#include "conf_toml_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int toml_fail_at(struct tp *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(p->err, p->errlen, "%s:%d:%d: ", p->name, line, col);

	if (k >= 0 && (size_t)k < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + k, p->errlen - k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int toml_oom(struct tp *p)
{
	snprintf(p->err, p->errlen, "%s: out of memory", p->name);
	return -ENOMEM;
}

const char *toml_shown(int c, char *tmp)
{
	if (c == -1)
		return "the end of the file";
	if (c == '\n' || c == '\r')
		return "the end of the line";
	if (c < 0x20 || c >= 0x7f)
		snprintf(tmp, 16, "byte 0x%02x", c);
	else
		snprintf(tmp, 16, "'%c'", c);
	return tmp;
}

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not valid
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int toml_check_text(struct tp *p)
{
	while (p->i < p->len) {
		const unsigned char *c = (const unsigned char *)p->s + p->i;
		size_t n = utf8_len(c, p->len - p->i);

		if (n == 0)
			return FAIL(p, "invalid UTF-8 (byte 0x%02x)", c[0]);
		if ((c[0] < 0x20 && c[0] != '\t' && c[0] != '\n' &&
		     !(c[0] == '\r' && peek2(p) == '\n')) ||
		    c[0] == 0x7f)
			return FAIL(p, "control character 0x%02x is not allowed "
				    "(write it as an escape in a \"string\")",
				    c[0]);
		while (n--)
			adv(p);
	}
	p->i = 0;
	p->line = p->col = 1;
	return 0;
}

/* ---- strings -------------------------------------------------------------- */

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *np;

		while (cap < b->n + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t k = 1; k < n; k++)
		u[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
	return buf_put(b, u, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* After a backslash in a basic string; multi says a line-ending backslash
 * (which swallows the following whitespace and line ends) is allowed. */
static int escape(struct tp *p, struct buf *b, bool multi)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	int line = p->line, col = p->col, c;
	unsigned long cp = 0;
	const char *k;

	adv(p); /* the backslash */
	c = peek(p);
	if (multi && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
		skip_ws(p);
		if (!at_eol(p) || peek(p) == -1)
			return toml_fail_at(p, line, col, "a line-ending backslash "
				       "must be followed only by whitespace");
		while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\r' ||
		       peek(p) == '\n')
			adv(p);
		return 0;
	}
	if (c != -1 && c != 0 && (k = strchr(from, c))) {
		adv(p);
		return buf_put(b, &to[k - from], 1);
	}
	if (c != 'u' && c != 'U')
		return toml_fail_at(p, line, col, "unknown escape sequence \"\\%c\"",
			       c >= 0x20 && c < 0x7f ? c : '?');
	adv(p);
	for (int n = c == 'u' ? 4 : 8; n > 0; n--) {
		int h = hexval(peek(p));

		if (h < 0)
			return toml_fail_at(p, line, col, "\\%c needs %d hex digits",
				       c, c == 'u' ? 4 : 8);
		cp = cp << 4 | (unsigned long)h;
		adv(p);
	}
	if (cp == 0)
		return toml_fail_at(p, line, col, "a value must not contain a NUL "
			       "character");
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return toml_fail_at(p, line, col, "\\%c%0*lX is not a Unicode scalar "
			       "value", c, c == 'u' ? 4 : 8, cp);
	return put_utf8(b, cp);
}

/* Any of the four string forms at the cursor (multi-line ones only when
 * allow_multi: keys cannot be multi-line). *out is malloc'd. */
int toml_string(struct tp *p, char **out, bool allow_multi)
{
	int q = peek(p), line = p->line, col = p->col, rc = 0;
	char delim3[4] = {(char)q, (char)q, (char)q, 0};
	bool multi = at_str(p, delim3);
	struct buf b = {0};

	if (multi && !allow_multi)
		return FAIL(p, "a key cannot be a multi-line string");
	if (buf_put(&b, "", 0) < 0)
		return toml_oom(p);
	if (multi) {
		adv(p), adv(p), adv(p);
		eat_eol(p); /* a newline right after the opening is trimmed */
	} else {
		adv(p);
	}
	for (;;) {
		int c = peek(p);

		if (c == -1 || (!multi && at_eol(p))) {
			rc = toml_fail_at(p, line, col, "unterminated string");
			break;
		}
		if (multi && at_str(p, delim3)) {
			/* Up to two quotes may sit right before the closing
			 * three ("""a"""" is `a"`). */
			int extra = 0;

			while (extra < 2 && p->i + 3 + extra < p->len &&
			       p->s[p->i + 3 + extra] == q)
				extra++;
			for (int k = 0; k < extra && rc == 0; k++, adv(p))
				rc = buf_put(&b, delim3, 1) < 0 ? -ENOMEM : 0;
			adv(p), adv(p), adv(p);
			break;
		}
		if (!multi && c == q) {
			adv(p);
			break;
		}
		if (q == '"' && c == '\\') {
			rc = escape(p, &b, multi);
			if (rc < 0)
				break;
			continue;
		}
		if (buf_put(&b, p->s + p->i, 1) < 0) {
			rc = -ENOMEM;
			break;
		}
		adv(p);
	}
	if (rc == -ENOMEM)
		rc = toml_oom(p);
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

/* Integer in any TOML form -> decimal text. Floats and date-times are
 * recognised only to name them in the error. */
int toml_number(struct tp *p, char **out)
{
	int line = p->line, col = p->col, base = 10;
	size_t start = p->i, n;
	const char *s, *d;
	unsigned long long v = 0, lim;
	bool neg = false, prev_digit = false;
	char tok[80], *text;

	while (p->i < p->len &&
	       (is_bare(peek(p)) || peek(p) == '+' || peek(p) == '.' ||
		peek(p) == ':'))
		adv(p);
	n = p->i - start;
	if (n == 0 || n >= sizeof(tok))
		return toml_fail_at(p, line, col, n ? "number is too long"
					      : "expected a value");
	memcpy(tok, p->s + start, n);
	tok[n] = '\0';
	s = tok;
	if (strchr(tok, ':') || (n >= 10 && tok[4] == '-' && tok[7] == '-'))
		return toml_fail_at(p, line, col, "dates and times are not supported "
			       "(no setting takes one)");
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		if (s != tok)
			return toml_fail_at(p, line, col, "a sign is not allowed "
				       "before 0%c", s[1]);
		s += 2;
	} else if (base == 10 && (strpbrk(s, ".eE") || !strcmp(s, "inf") ||
				  !strcmp(s, "nan"))) {
		return toml_fail_at(p, line, col, "floating-point numbers are not "
			       "supported (no setting takes one): \"%s\"", tok);
	} else if (s[0] == '0' && s[1]) {
		return toml_fail_at(p, line, col, "leading zeros are not allowed in "
			       "\"%s\"", tok);
	}
	lim = neg ? (unsigned long long)1 << 63 : ((unsigned long long)1 << 63) - 1;
	for (d = s; *d; d++) {
		int h = hexval((unsigned char)*d);

		if (*d == '_' && prev_digit && d[1] && d[1] != '_') {
			prev_digit = false;
			continue;
		}
		if (h < 0 || h >= base)
			return toml_fail_at(p, line, col, "\"%s\" is not a valid "
				       "value", tok);
		prev_digit = true;
		if (v > (lim - (unsigned)h) / (unsigned)base)
			return toml_fail_at(p, line, col, "integer \"%s\" does not "
				       "fit in 64 bits", tok);
		v = v * (unsigned)base + (unsigned)h;
	}
	if (!prev_digit)
		return toml_fail_at(p, line, col, "\"%s\" is not a valid value", tok);
	if (asprintf(&text, "%s%llu", neg && v ? "-" : "", v) == -1)
		return toml_oom(p);
	*out = text;
	return 0;
}
