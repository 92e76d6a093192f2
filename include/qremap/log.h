/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - log.h: progress and diagnostic messages on stderr
 *
 * One process-wide verbosity, set once by main(): the only global state in
 * qremap, as in passt. Library modules log progress at info/debug level;
 * failures travel in struct qr_error and are printed once, by the caller that
 * gives up.
 *
 * Lines are safe to print whatever they quote: control characters (tab
 * included), DEL and bytes that aren't well-formed UTF-8 come out as "\xNN",
 * a backslash as "\\", so a name QEMU sends can't start a line of its own or
 * forge an escape. Each line is at most about 8 KiB, written with one
 * write(2); a longer message is cut and ends in "...".
 */
#ifndef QREMAP_LOG_H
#define QREMAP_LOG_H

#include "qremap/util.h"

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_prefix(const char *prefix);
void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LVL_TRACE, __VA_ARGS__)

#endif /* QREMAP_LOG_H */
