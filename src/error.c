// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - error.c: fill and extend struct qr_error */

#include <stdio.h>
#include <string.h>

#include "qremap/error.h"

/**
 * qr_err_clear() - reset an error object to "no error"
 * @e:	error object, may be NULL
 */
void qr_err_clear(struct qr_error *e)
{
	if (!e)
		return;
	e->kind = QR_OK;
	e->errnum = 0;
	e->qmp_class[0] = '\0';
	e->msg[0] = '\0';
}

static int err_vset(struct qr_error *e, enum qr_err_kind kind, const char *fmt, va_list ap)
        _printf_(3, 0);
static int err_vset(struct qr_error *e, enum qr_err_kind kind, const char *fmt, va_list ap)
{
	if (!e)
		return -1;
	e->kind = kind;
	e->errnum = 0;
	e->qmp_class[0] = '\0';
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

/**
 * qr_err_set() - fill an error object
 * @e:		error object, may be NULL (then only -1 is returned)
 * @kind:	category
 * @fmt:	printf-style message
 *
 * Return: -1, so callers can write "return qr_err_set(...)"
 */
int qr_err_set(struct qr_error *e, enum qr_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * qr_err_sys() - fill an error object for a failed system call
 * @e:		error object, may be NULL
 * @errnum:	errno value; its strerror() text is appended to the message
 * @fmt:	printf-style message saying what was attempted
 *
 * Return: -1
 */
int qr_err_sys(struct qr_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, QR_ERR_SYS, fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

/**
 * qr_err_qmp() - fill an error object for a QMP error reply
 * @e:		error object, may be NULL
 * @qmp_class:	the reply's "class" member
 * @fmt:	printf-style message
 *
 * Return: -1
 */
int qr_err_qmp(struct qr_error *e, const char *qmp_class, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, QR_ERR_QMP, fmt, ap);
	va_end(ap);
	str_copy(e->qmp_class, sizeof(e->qmp_class), qmp_class ? qmp_class : "");
	return -1;
}

/* Write "a: b" into @dst, truncating silently. */
static void append_bounded(char *dst, size_t size, const char *a, const char *b)
{
	size_t off = 0;
	const char *parts[3] = {a, ": ", b};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(parts[i]);

		if (off + n >= size)
			n = size - 1 - off;
		memcpy(dst + off, parts[i], n);
		off += n;
	}
	dst[off] = '\0';
}

/**
 * qr_err_prefix() - put context in front of an existing message
 * @e:		error object already filled by a callee, may be NULL
 * @fmt:	printf-style context, ": " is inserted after it
 *
 * Return: -1
 */
int qr_err_prefix(struct qr_error *e, const char *fmt, ...)
{
	char ctx[QR_ERR_MSG_MAX], old[QR_ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* "ctx: old", truncated at the buffer's end: the cause may be cut, the
	 * context never is (it is what tells the reader where to look)
	 */
	append_bounded(e->msg, sizeof(e->msg), ctx, old);
	return -1;
}

static const char *const err_kind_names[] = {
        [QR_OK] = "ok",
        [QR_ERR_SYS] = "system",
        [QR_ERR_TIMEOUT] = "timeout",
        [QR_ERR_DISCONNECTED] = "disconnected",
        [QR_ERR_PROTOCOL] = "protocol",
        [QR_ERR_QMP] = "qmp",
        [QR_ERR_PARSE] = "parse",
        [QR_ERR_INVALID] = "invalid",
        [QR_ERR_UNSUPPORTED] = "unsupported",
        [QR_ERR_STATE] = "state",
};

/**
 * qr_err_kind_str() - short name of an error category, for JSON reports
 * @kind:	category
 *
 * Return: static string
 */
const char *qr_err_kind_str(enum qr_err_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(err_kind_names) && err_kind_names[kind]
	               ? err_kind_names[kind]
	               : "unknown";
}
