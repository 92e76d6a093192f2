// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - util.c: cleanup helpers, bounded string copies, UTF-8 hygiene,
 * monotonic clock
 */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "qremap/util.h"

/**
 * cleanup_freep() - free() the pointer a _cleanup_free_ variable holds
 * @p:	address of the pointer
 */
void cleanup_freep(void *p)
{
	free(*(void **)p);
}

/**
 * cleanup_closep() - close() a descriptor held by a _cleanup_close_ variable
 * @fd:	address of the descriptor; negative means nothing to close
 *
 * Takes a pointer to const: the variable is going out of scope, so there is
 * no point in setting it to -1, and __attribute__((cleanup)) accepts any
 * parameter an int * converts to.
 */
void cleanup_closep(const int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

/**
 * str_copy() - copy a NUL-terminated string into a fixed buffer
 * @dst:	destination
 * @size:	size of @dst, including the terminator
 * @src:	source string
 *
 * Return: true if @src fitted, false if it was truncated (@dst still
 *	   terminated). Callers that store identifiers treat false as an error:
 *	   a truncated id would name a different device.
 */
bool str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (!size)
		return false;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

/**
 * str_has_prefix() - does a string start with a prefix
 * @s:		string
 * @prefix:	prefix
 *
 * Return: true if it does
 */
bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/**
 * str_has_suffix() - does a string end with a suffix
 * @s:		string
 * @suffix:	suffix
 *
 * Return: true if it does
 */
bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/**
 * parse_uint() - strict decimal parse: digits only, no sign, no spaces
 * @s:		string
 * @max:	largest accepted value
 * @out:	parsed value
 *
 * Return: 0 on success, -1 if @s is empty, not all digits or above @max
 */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/**
 * utf8_seq_len() - length of the well-formed UTF-8 sequence at a position
 * @s:		first byte
 * @avail:	bytes readable from @s
 *
 * Well-formed as in Unicode 15, table 3-7: no overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), no surrogates (ED A0..BF), nothing above U+10FFFF (F4 90..BF,
 * F5..FF), no missing or stray continuation bytes. jansson applies the same
 * rules, so a string that passes here is one QEMU accepts.
 *
 * Return: 1 to 4, or 0 if @s does not start a well-formed sequence within
 *	   @avail bytes
 */
size_t utf8_seq_len(const char *s, size_t avail)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (!avail)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] < 0xc2 || u[0] > 0xf4)
		return 0; /* continuation byte, overlong lead, or beyond U+10FFFF */
	if (u[0] < 0xe0) {
		n = 2;
	} else if (u[0] < 0xf0) {
		n = 3;
		if (u[0] == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (u[0] == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else {
		n = 4;
		if (u[0] == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (u[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	}
	if (avail < n)
		return 0;
	/* Only the second byte has a narrowed range; the rest are plain
	 * continuation bytes
	 */
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/**
 * utf8_truncate() - cut a string to a byte bound without splitting a character
 * @s:		NUL-terminated string, cut in place
 * @max:	most bytes to keep, not counting the terminator
 *
 * A cut that lands on a continuation byte moves back to the start of that
 * character (at most three bytes: no well-formed sequence has more
 * continuation bytes), so valid UTF-8 stays valid. Bytes that were already
 * invalid are not repaired here: that is utf8_sanitize()'s job.
 *
 * Return: the new length
 */
size_t utf8_truncate(char *s, size_t max)
{
	size_t len = strnlen(s, max + 1), cut = max, back;

	if (len <= max)
		return len;
	for (back = 0; back < 3 && cut > 0; back++) {
		if (((unsigned char)s[cut] & 0xc0) != 0x80)
			break;
		cut--;
	}
	/* More than three continuation bytes in a row: not one character,
	 * nothing to keep whole, cut where asked
	 */
	if (((unsigned char)s[cut] & 0xc0) == 0x80)
		cut = max;
	s[cut] = '\0';
	return cut;
}

/**
 * utf8_sanitize() - make a string valid UTF-8 without control characters
 * @s:	NUL-terminated string, changed in place; its length is kept
 *
 * Every byte that is not part of a well-formed sequence (see utf8_seq_len())
 * becomes '?', and so does every byte of a control character (C0 other than
 * newline and tab, DEL, C1): the result can be sent to QEMU as a JSON string
 * and shown to a human without moving their cursor or forging a line.
 */
void utf8_sanitize(char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		size_t n = utf8_seq_len(s + i, len - i);
		bool bad;

		if (!n) {
			s[i++] = '?';
			continue;
		}
		if (n == 1)
			bad = (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f;
		else /* U+0080..U+009F, the C1 controls, are C2 80..C2 9F */
			bad = b == 0xc2 && (unsigned char)s[i + 1] < 0xa0;
		if (bad)
			memset(s + i, '?', n);
		i += n;
	}
}

/**
 * now_ms() - milliseconds on the monotonic clock
 *
 * Return: current CLOCK_MONOTONIC time in milliseconds
 */
int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * deadline_remaining_ms() - time left until a deadline, for poll()
 * @deadline:	absolute CLOCK_MONOTONIC time in milliseconds
 *
 * Return: milliseconds left, 0 if the deadline has passed
 */
int deadline_remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return 0;
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}
