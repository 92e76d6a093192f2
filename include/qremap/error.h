/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - error.h: the error object that carries what failed, and why, up
 * the stack.
 *
 * Every fallible function returns int (0 or a count on success, -1 on
 * failure) and takes a struct qr_error *. The function that detects a failure
 * fills the object once (qr_err_set() and friends); callers on the way up may
 * only add context in front of the message (qr_err_prefix()), so the final
 * text reads "outer: inner: cause". QMP failures keep the QMP error class
 * separately: code branches on the class, never on the human message.
 */
#ifndef QREMAP_ERROR_H
#define QREMAP_ERROR_H

#include <stdarg.h>

#include "qremap/util.h"

/**
 * enum qr_err_kind - what sort of failure an error object describes
 * @QR_OK:		no error
 * @QR_ERR_SYS:		a system call failed; @errnum holds errno
 * @QR_ERR_TIMEOUT:	a bounded wait ran out
 * @QR_ERR_DISCONNECTED: the QMP peer closed the connection
 * @QR_ERR_PROTOCOL:	the peer sent something that is not valid QMP
 * @QR_ERR_QMP:		QEMU answered a command with an error; see @qmp_class
 * @QR_ERR_PARSE:	text we had to parse (HMP output, a profile) is malformed
 * @QR_ERR_INVALID:	bad argument or input from the user
 * @QR_ERR_UNSUPPORTED:	the VM or QEMU lacks something we need
 * @QR_ERR_STATE:	the VM is not in a state we can work on
 */
enum qr_err_kind {
	QR_OK = 0,
	QR_ERR_SYS,
	QR_ERR_TIMEOUT,
	QR_ERR_DISCONNECTED,
	QR_ERR_PROTOCOL,
	QR_ERR_QMP,
	QR_ERR_PARSE,
	QR_ERR_INVALID,
	QR_ERR_UNSUPPORTED,
	QR_ERR_STATE,
};

#define QR_ERR_MSG_MAX 1024

/**
 * struct qr_error - an error, filled once where it happens
 * @kind:	category, see enum qr_err_kind
 * @errnum:	errno for QR_ERR_SYS, else 0
 * @qmp_class:	QMP error class ("GenericError", "DeviceNotFound", ...) for
 *		QR_ERR_QMP, else empty
 * @msg:	human-readable message with context prefixes
 */
struct qr_error {
	enum qr_err_kind kind;
	int errnum;
	char qmp_class[48];
	char msg[QR_ERR_MSG_MAX];
};

void qr_err_clear(struct qr_error *e);
int qr_err_set(struct qr_error *e, enum qr_err_kind kind, const char *fmt, ...) _printf_(3, 4);
int qr_err_sys(struct qr_error *e, int errnum, const char *fmt, ...) _printf_(3, 4);
int qr_err_qmp(struct qr_error *e, const char *qmp_class, const char *fmt, ...) _printf_(3, 4);
int qr_err_prefix(struct qr_error *e, const char *fmt, ...) _printf_(2, 3);
const char *qr_err_kind_str(enum qr_err_kind kind);

#endif /* QREMAP_ERROR_H */
