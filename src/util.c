// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - util.c: cleanup helpers, bounded string copies, monotonic clock */

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
