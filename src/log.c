// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - log.c: leveled messages on stderr */

#include <stdarg.h>
#include <stdio.h>

#include "qremap/log.h"

static enum log_level log_level = LOG_LVL_WARN;
static const char *log_prefix = "qremap";

/**
 * log_set_level() - set the most verbose level that is printed
 * @level:	new level
 */
void log_set_level(enum log_level level)
{
	log_level = level;
}

/**
 * log_get_level() - current verbosity
 *
 * Return: the most verbose level printed
 */
enum log_level log_get_level(void)
{
	return log_level;
}

/**
 * log_set_prefix() - set the program name printed before each message
 * @prefix:	static string
 */
void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

/**
 * log_msg() - print one message line on stderr if @level is enabled
 * @level:	severity
 * @fmt:	printf-style message, without trailing newline
 */
void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: ", "trace: "};
	va_list ap;

	if (level > log_level)
		return;
	flockfile(stderr);
	fprintf(stderr, "%s: %s", log_prefix, tag[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
