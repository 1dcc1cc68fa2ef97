/*
 * log.h - the process-wide log sink (one of the two allowed globals).
 * Set up once in main(); transports reach it through xport_host.log.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#include "xport.h"

/** Parse "trace|debug|info|warn|error"; -EINVAL otherwise. */
int log_level_parse(const char *s);
const char *log_level_name(int level);
/** Messages below level are dropped. Default: info. */
void log_set_level(int level);
int log_get_level(void);
/** "console" (or NULL/"") = stderr, anything else is a file path opened for
 *  append. Returns 0 or -errno (the sink stays as it was). */
int log_open(const char *to);
void log_close(void);

void log_write(int level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vwrite(int level, const char *module, const char *fmt, va_list ap);

#define LOG_T(mod, ...) log_write(XPORT_LOG_TRACE, mod, __VA_ARGS__)
#define LOG_D(mod, ...) log_write(XPORT_LOG_DEBUG, mod, __VA_ARGS__)
#define LOG_I(mod, ...) log_write(XPORT_LOG_INFO, mod, __VA_ARGS__)
#define LOG_W(mod, ...) log_write(XPORT_LOG_WARN, mod, __VA_ARGS__)
#define LOG_E(mod, ...) log_write(XPORT_LOG_ERROR, mod, __VA_ARGS__)

#endif
