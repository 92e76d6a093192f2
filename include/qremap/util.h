/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - util.h: small helpers shared by every module: cleanup attributes,
 * bounded string copies, UTF-8 hygiene for text that leaves the process,
 * monotonic deadlines.
 *
 * Cleanup attributes (as in crun and systemd) keep error paths short: a
 * variable declared with _cleanup_free_ is freed when it leaves scope, so a
 * function can return at the first failure without a goto ladder.
 */
#ifndef QREMAP_UTIL_H
#define QREMAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))

void cleanup_freep(void *p);
void cleanup_closep(const int *fd);

#define _cleanup_free_  _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)

/**
 * steal_fd() - take ownership of a file descriptor held by a cleanup variable
 * @fd:	pointer to the descriptor; set to -1
 *
 * Return: the descriptor
 */
static inline int steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/**
 * steal_ptr() - take ownership of a pointer held by a cleanup variable
 * @p:	pointer to the pointer; set to NULL
 *
 * Return: the pointer
 */
static inline void *steal_ptr(void *p)
{
	void **pp = p;
	void *r = *pp;

	*pp = NULL;
	return r;
}

/**
 * str_or() - a string, or a default if it is NULL
 * @s:		string or NULL
 * @def:	default
 *
 * Return: @s if not NULL, else @def
 */
static inline const char *str_or(const char *s, const char *def)
{
	return s ? s : def;
}

bool str_copy(char *dst, size_t size, const char *src);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* UTF-8 for text we hand to others: QEMU's ringbuf-write (and jansson) refuse
 * a string that is not valid UTF-8, and a cut in the middle of a character is
 * enough to make it invalid.
 */
size_t utf8_seq_len(const char *s, size_t avail);
size_t utf8_truncate(char *s, size_t max);
void utf8_sanitize(char *s);

int64_t now_ms(void);
int deadline_remaining_ms(int64_t deadline);

#endif /* QREMAP_UTIL_H */
