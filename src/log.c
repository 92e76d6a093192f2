// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - log.c: leveled messages on stderr
 *
 * Much of what qremap logs comes from elsewhere: VM names, device ids and
 * error descriptions from QEMU, which any local user can be (qremapd's socket
 * is world-writable because QEMU runs as nobody). A name with a newline in it
 * must not be able to start a line of its own that reads like one of ours,
 * nor move a terminal's cursor. So every line is escaped on its way out: a
 * control character, DEL, or a byte that is not part of well-formed UTF-8
 * becomes "\xNN", and a backslash becomes "\\", so an escape can't be forged
 * either: "\x0a" in a line always means the peer sent a newline, never that
 * it sent the four characters.
 *
 * Tabs are escaped too. None of our format strings contain one, they can't
 * break a line, but they can shift what follows into another column for a
 * reader or a parser that splits on white space; one rule for all of C0 is
 * also the easiest to check.
 *
 * No allocation: the message is formatted into one stack buffer, escaped into
 * a second, and written with one fwrite(), which on the unbuffered stderr is
 * one write(2): lines from different threads (qremapd has one per VM) don't
 * interleave.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qremap/log.h"

/* The formatted message; longer ones are cut and marked */
#define LOG_MSG_MAX 2048
/* The escaped line. Escaping can make a message four times longer (every
 * byte "\xNN"), so a full message of nothing but control bytes doesn't fit:
 * it is cut and marked too. 10 KiB of stack in all, fine for qremapd's
 * threads (default stack size)
 */
#define LOG_LINE_MAX 8192
/* Marks a cut line */
#define LOG_CUT "..."

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
 * log_escape() - append text to a line, escaped as described at the top
 * @out:	line buffer
 * @pos:	bytes used in @out
 * @size:	bytes of @out that may be used
 * @s:		text
 * @len:	its length
 * @cut:	set to true if not all of @s fitted, else left alone
 *
 * A character whose escaped form doesn't fit is left out with everything
 * after it, never half written, so a cut can't produce a forged escape.
 *
 * Return: new number of bytes used
 */
static size_t log_escape(char *out, size_t pos, size_t size, const char *s, size_t len, bool *cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		size_t n = utf8_seq_len(s + i, len - i), k;
		bool raw;

		if (n == 1)
			raw = b >= 0x20 && b != 0x7f && b != '\\';
		else /* multi-byte: raw unless a C1 control (C2 80..C2 9F) */
			raw = n && !(b == 0xc2 && (unsigned char)s[i + 1] < 0xa0);
		if (!n)
			n = 1; /* a stray byte, escaped on its own */

		if (raw) {
			if (size - pos < n)
				break;
			memcpy(out + pos, s + i, n);
			pos += n;
		} else if (b == '\\') {
			if (size - pos < 2)
				break;
			out[pos++] = '\\';
			out[pos++] = '\\';
		} else {
			if (size - pos < 4 * n)
				break;
			for (k = 0; k < n; k++) {
				b = (unsigned char)s[i + k];
				out[pos++] = '\\';
				out[pos++] = 'x';
				out[pos++] = hex[b >> 4];
				out[pos++] = hex[b & 0xf];
			}
		}
		i += n;
	}
	if (i < len)
		*cut = true;
	return pos;
}

/**
 * log_msg() - print one message line on stderr if @level is enabled
 * @level:	severity
 * @fmt:	printf-style message, without trailing newline
 *
 * The prefix and the message are escaped (see the top of this file); a
 * message longer than LOG_MSG_MAX bytes, or whose escaped form doesn't fit a
 * line of LOG_LINE_MAX, ends in "...".
 */
void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: ", "trace: "};
	/* The cut mark and the newline always fit after the text */
	const size_t room = LOG_LINE_MAX - (sizeof(LOG_CUT) - 1) - 1;
	char msg[LOG_MSG_MAX], line[LOG_LINE_MAX];
	size_t pos = 0, mlen;
	bool cut = false;
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0) {
		/* Only an encoding error makes vsnprintf() fail: say so rather
		 * than print nothing
		 */
		str_copy(msg, sizeof(msg), "(unprintable message)");
		mlen = strlen(msg);
	} else if ((size_t)n >= sizeof(msg)) {
		mlen = sizeof(msg) - 1;
		cut = true;
	} else {
		mlen = (size_t)n;
	}

	pos = log_escape(line, pos, room, log_prefix, strlen(log_prefix), &cut);
	pos = log_escape(line, pos, room, ": ", 2, &cut);
	pos = log_escape(line, pos, room, tag[level], strlen(tag[level]), &cut);
	pos = log_escape(line, pos, room, msg, mlen, &cut);
	if (cut) {
		memcpy(line + pos, LOG_CUT, sizeof(LOG_CUT) - 1);
		pos += sizeof(LOG_CUT) - 1;
	}
	line[pos++] = '\n';
	/* Nowhere to report a failure to write the log */
	(void)fwrite(line, 1, pos, stderr);
}
