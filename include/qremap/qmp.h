/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - qmp.h: a QEMU Machine Protocol client
 *
 * One struct qmp_client per monitor connection, no global state. Commands are
 * sent one at a time, each with its own "id" and deadline, or as a batch of
 * independent queries sent together and matched to their replies by id;
 * events that arrive while a reply is awaited are queued, and callers can
 * wait for a specific one (DEVICE_DELETED for a given device, say) with a
 * bound. A descriptor can ride along with a command (getfd, add-fd) as
 * SCM_RIGHTS.
 *
 * Facts this relies on (QEMU docs/interop/qmp-spec.rst, checked against QEMU
 * 7.2 and 10.0): the server greets with {"QMP": {...}}; nothing but
 * qmp_capabilities is accepted before negotiation; replies echo the request's
 * "id", except that a request QEMU cannot parse gets an error without one;
 * events may come at any time; file descriptors arrive with the bytes of the
 * command that uses them, one per command.
 *
 * Limits. Anyone who can reach a monitor socket can be the peer (qremapd's
 * is world-writable: QEMU runs as nobody), so what a peer can make us hold
 * is bounded per connection:
 * - one message: QMP_MAX_MESSAGE unless qmp_set_max_message() says less
 *   (qremapd: 64 KiB until the peer is identified, 4 MiB after). A larger
 *   one is QR_ERR_PROTOCOL, and the receive buffer never grows beyond the
 *   bound plus one read, so refusing it costs no more than the bound.
 * - the event queue: QMP_MAX_QUEUED_EVENTS events and QMP_MAX_QUEUED_BYTES
 *   bytes (each event counted by its length on the wire) unless
 *   qmp_set_event_budget() says otherwise. When either would be exceeded
 *   the oldest events are dropped; an event larger than the byte budget on
 *   its own is dropped itself.
 * - which events are queued at all: qmp_set_event_filter(), a list of
 *   names, changeable at any time; the rest are discarded on arrival.
 * Every discarded event is counted (qmp_dropped_events()). An event that a
 * qmp_wait_event() in progress matches is handed over whatever the filter
 * and budget say, and events never stop a command's reply from being read:
 * the queue drops, reading goes on. Every wait ends by its deadline even
 * under a flood: once it has passed, a wait reads at most 256 KiB (or one
 * message bound, if less) of what is already there.
 */
#ifndef QREMAP_QMP_H
#define QREMAP_QMP_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "qremap/error.h"

#define QMP_DEFAULT_TIMEOUT_MS 10000
#define QMP_MAX_MESSAGE        (64u << 20) /* default: larger frames are a protocol error */
#define QMP_MAX_QUEUED_EVENTS  4096        /* default: older events are dropped beyond this */
#define QMP_MAX_QUEUED_BYTES   (1u << 20)  /* default: ... or beyond this many bytes */
#define QMP_MAX_BATCH          64          /* commands in one qmp_execute_batch() */

/**
 * struct qmp_version - what the greeting says about QEMU
 * @major:	major version
 * @minor:	minor version
 * @micro:	micro version
 * @package:	distribution package string, e.g. "Debian 1:10.0.2+ds-2..."
 */
struct qmp_version {
	int major;
	int minor;
	int micro;
	char package[128];
};

struct qmp_client;

/**
 * struct qmp_call - one command of a qmp_execute_batch()
 * @command:	command name (borrowed)
 * @args:	arguments object or NULL; owned by the call (qmp_batch_free())
 * @ret:	the "return" value once answered (owned by the call), or NULL
 * @err:	the command's own failure: QR_ERR_QMP with the class, or QR_OK
 * @answered:	its reply has come
 */
struct qmp_call {
	const char *command;
	json_t *args;
	json_t *ret;
	struct qr_error err;
	bool answered;
};

/**
 * typedef qmp_trace_fn - observer of raw protocol traffic
 * @opaque:	caller's pointer
 * @outgoing:	true for bytes sent to QEMU, false for received objects
 * @text:	one JSON object, not NUL-terminated
 * @len:	its length
 * @fd:		descriptor passed with it, or -1
 */
typedef void (*qmp_trace_fn)(void *opaque, bool outgoing, const char *text, size_t len, int fd);

/**
 * typedef qmp_event_match_fn - predicate for qmp_wait_event()
 * @event:	the whole event object ("event", "data", "timestamp")
 * @opaque:	caller's pointer
 *
 * Return: true if this is the event the caller waits for
 */
typedef bool (*qmp_event_match_fn)(json_t *event, void *opaque);

int qmp_connect_unix(const char *path, struct qmp_client **out, struct qr_error *err);
int qmp_adopt_fd(int fd, const char *label, struct qmp_client **out, struct qr_error *err);
void qmp_close(struct qmp_client *c);
void qmp_closep(struct qmp_client **c);
#define _cleanup_qmp_ _cleanup_(qmp_closep)

int qmp_handshake(struct qmp_client *c, int timeout_ms, struct qr_error *err);
const struct qmp_version *qmp_get_version(const struct qmp_client *c);
bool qmp_version_at_least(const struct qmp_client *c, int major, int minor, int micro);
pid_t qmp_peer_pid(const struct qmp_client *c);
const char *qmp_label(const struct qmp_client *c);
int qmp_get_fd(const struct qmp_client *c);
void qmp_set_trace(struct qmp_client *c, qmp_trace_fn fn, void *opaque);
void qmp_set_timeout(struct qmp_client *c, int timeout_ms);
int qmp_get_timeout(const struct qmp_client *c);
void qmp_set_max_message(struct qmp_client *c, size_t bytes);
size_t qmp_get_max_message(const struct qmp_client *c);
void qmp_set_event_budget(struct qmp_client *c, size_t max_events, size_t max_bytes);
void qmp_set_event_filter(struct qmp_client *c, const char *const *keep);

int qmp_execute(struct qmp_client *c, const char *command, json_t *args, json_t **result,
                struct qr_error *err);
int qmp_execute_fd(struct qmp_client *c, const char *command, json_t *args, int fd, int timeout_ms,
                   json_t **result, struct qr_error *err);
int qmp_executef(struct qmp_client *c, json_t **result, struct qr_error *err, const char *command,
                 const char *fmt, ...);
int qmp_vpack_args(const char *command, json_t **args, struct qr_error *err, const char *fmt,
                   va_list ap);
int qmp_execute_batch(struct qmp_client *c, struct qmp_call *calls, size_t n, struct qr_error *err);
void qmp_batch_free(struct qmp_call *calls, size_t n);
int qmp_hmp(struct qmp_client *c, const char *command_line, char **output, struct qr_error *err);

int qmp_wait_event(struct qmp_client *c, const char *name, qmp_event_match_fn match, void *opaque,
                   int timeout_ms, json_t **event, struct qr_error *err);
int qmp_wait_device_deleted(struct qmp_client *c, const char *device_id, int timeout_ms,
                            struct qr_error *err);
int qmp_poll_events(struct qmp_client *c, int timeout_ms, struct qr_error *err);
json_t *qmp_take_event(struct qmp_client *c, const char *name, qmp_event_match_fn match,
                       void *opaque);
size_t qmp_queued_events(const struct qmp_client *c);
size_t qmp_queued_event_bytes(const struct qmp_client *c);
unsigned long qmp_dropped_events(const struct qmp_client *c);
size_t qmp_buffered_bytes(const struct qmp_client *c);

#endif /* QREMAP_QMP_H */
