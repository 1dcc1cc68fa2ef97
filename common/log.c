#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {"trace", "debug", "info", "warn",
					  "error"};
static int cur_level = XPORT_LOG_INFO;
static FILE *sink; /* NULL = stderr */

int log_level_parse(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (s && strcasecmp(s, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *log_level_name(int level)
{
	return level >= 0 && level < 5 ? level_names[level] : "?";
}

void log_set_level(int level) { cur_level = level; }
int log_get_level(void) { return cur_level; }

int log_open(const char *to)
{
	if (!to || !*to || strcmp(to, "console") == 0) {
		log_close();
		return 0;
	}
	FILE *f = fopen(to, "a");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	log_close();
	sink = f;
	return 0;
}

void log_close(void)
{
	if (sink)
		fclose(sink);
	sink = NULL;
}

void log_vwrite(int level, const char *module, const char *fmt, va_list ap)
{
	if (level < cur_level)
		return;
	FILE *out = sink ? sink : stderr;
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	/* One fprintf per line keeps lines whole when several processes share
	 * a terminal or file. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s.%03ld [%c] [%s] ", when,
			 ts.tv_nsec / 1000000, "TDIWE"[level < 0 ? 0 : level > 4 ? 4 : level],
			 module ? module : "-");
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(out, "%s\n", line);
}

void log_write(int level, const char *module, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, module, fmt, ap);
	va_end(ap);
}
