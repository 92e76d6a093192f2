// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - qmp.c: QMP client (connect, negotiate, execute, events, fd passing)
 *
 * Reading: bytes accumulate in one growing buffer; json_framer finds complete
 * top-level objects whatever the read boundaries, jansson parses each frame.
 * Every wait is a poll() against an absolute CLOCK_MONOTONIC deadline, so a
 * silent or dying peer produces a timeout or a disconnect error, never a hang,
 * and a flooding one can't stretch a wait much past its deadline (struct
 * qmp_wait). The buffer and the event queue are bounded per connection
 * (qmp.h, "Limits"): the peer may be any local user.
 *
 * Writing: the socket is non-blocking; a command goes out in as many
 * sendmsg() calls as needed, the first one carrying the descriptor (if any)
 * as SCM_RIGHTS, which is where QEMU's socket chardev picks it up.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "qremap/json_frame.h"
#include "qremap/log.h"
#include "qremap/qmp.h"

/**
 * struct qmp_event - one queued event
 * @json:	the event object
 * @len:	its length on the wire, what it is charged in the byte budget
 */
struct qmp_event {
	json_t *json;
	size_t len;
};

/**
 * struct qmp_client - one monitor connection
 * @fd:			connected socket
 * @label:		what to call the peer in messages (socket path)
 * @buf:		received bytes not yet consumed
 * @len:		valid bytes in @buf
 * @cap:		allocated size of @buf
 * @max_message:	largest message accepted, see qmp_set_max_message()
 * @framer:		object boundary scanner over @buf
 * @events:		queued events: a ring of @cap_events slots
 * @head:		slot of the oldest event
 * @n_events:		number queued
 * @cap_events:		allocated slots
 * @event_bytes:	sum of the wire lengths of the queued events
 * @max_events:		most events queued, see qmp_set_event_budget()
 * @max_event_bytes:	most @event_bytes
 * @keep:		names of the events to queue (NULL-terminated, borrowed),
 *			NULL for all; see qmp_set_event_filter()
 * @dropped_events:	events discarded: filtered out, or over the budget
 * @warned_drop:	the first budget drop was logged
 * @next_id:		counter for command ids
 * @timeout_ms:		default per-command timeout
 * @version:		from the greeting
 * @negotiated:		qmp_capabilities succeeded
 * @trace:		optional observer of raw traffic
 * @trace_opaque:	its argument
 */
struct qmp_client {
	int fd;
	char label[256];
	char *buf;
	size_t len;
	size_t cap;
	size_t max_message;
	struct json_framer framer;
	struct qmp_event *events;
	size_t head;
	size_t n_events;
	size_t cap_events;
	size_t event_bytes;
	size_t max_events;
	size_t max_event_bytes;
	const char *const *keep;
	unsigned long dropped_events;
	bool warned_drop;
	unsigned long long next_id;
	int timeout_ms;
	struct qmp_version version;
	bool negotiated;
	qmp_trace_fn trace;
	void *trace_opaque;
};

/**
 * qmp_adopt_fd() - wrap an already connected socket in a client
 * @fd:		connected stream socket; ownership passes to the client, also
 *		on failure
 * @label:	name for messages, e.g. the socket path
 * @out:	new client
 * @err:	error object
 *
 * The daemon uses this for monitors that QEMU dialled in (client-mode
 * chardev). No bytes are read: call qmp_handshake() next.
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_adopt_fd(int fd, const char *label, struct qmp_client **out, struct qr_error *err)
{
	struct qmp_client *c;
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		int e = errno;

		close(fd);
		return qr_err_sys(err, e, "cannot make QMP socket non-blocking");
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return qr_err_sys(err, ENOMEM, "allocating QMP client");
	}
	c->fd = fd;
	c->timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	c->max_message = QMP_MAX_MESSAGE;
	c->max_events = QMP_MAX_QUEUED_EVENTS;
	c->max_event_bytes = QMP_MAX_QUEUED_BYTES;
	str_copy(c->label, sizeof(c->label), label ? label : "QMP peer");
	json_framer_init(&c->framer);
	*out = c;
	return 0;
}

/**
 * qmp_connect_unix() - connect to a QMP monitor listening on a unix socket
 * @path:	socket path
 * @out:	new client
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_connect_unix(const char *path, struct qmp_client **out, struct qr_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return qr_err_set(err, QR_ERR_INVALID, "QMP socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return qr_err_sys(err, errno, "socket()");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		if (e == EACCES || e == EPERM)
			return qr_err_sys(err, e,
			                  "cannot connect to QMP socket %s (it belongs to QEMU's "
			                  "user: run qremap as root or as that user)",
			                  path);
		if (e == ECONNREFUSED || e == ENOENT)
			return qr_err_sys(err, e,
			                  "cannot connect to QMP socket %s (is QEMU running, with "
			                  "a monitor for qremap there? A QEMU monitor takes one "
			                  "client at a time)",
			                  path);
		return qr_err_sys(err, e, "cannot connect to QMP socket %s", path);
	}
	return qmp_adopt_fd(fd, path, out, err);
}

/**
 * qmp_close() - close the connection and free the client
 * @c:	client, may be NULL
 */
void qmp_close(struct qmp_client *c)
{
	size_t i;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i < c->n_events; i++)
		json_decref(c->events[(c->head + i) % c->cap_events].json);
	free(c->events);
	free(c->buf);
	free(c);
}

/**
 * qmp_closep() - cleanup-attribute wrapper for qmp_close()
 * @c:	address of the client pointer
 */
void qmp_closep(struct qmp_client **c)
{
	qmp_close(*c);
	*c = NULL;
}

/* Accessors */

/**
 * qmp_get_version() - QEMU version from the greeting
 * @c:	client, after qmp_handshake()
 *
 * Return: pointer into @c
 */
const struct qmp_version *qmp_get_version(const struct qmp_client *c)
{
	return &c->version;
}

/**
 * qmp_version_at_least() - compare QEMU's version with a given one
 * @c:		client, after qmp_handshake()
 * @major:	major
 * @minor:	minor
 * @micro:	micro
 *
 * Return: true if QEMU is at least @major.@minor.@micro
 */
bool qmp_version_at_least(const struct qmp_client *c, int major, int minor, int micro)
{
	const struct qmp_version *v = &c->version;

	if (v->major != major)
		return v->major > major;
	if (v->minor != minor)
		return v->minor > minor;
	return v->micro >= micro;
}

/**
 * qmp_peer_pid() - process at the other end of the socket (SO_PEERCRED)
 * @c:	client
 *
 * For a monitor we connected to this is the process that listens on it,
 * QEMU itself (Incus starts it with -daemonize; the socket is created after
 * the fork). For a monitor QEMU dialled, it is the dialling QEMU.
 *
 * Return: pid, or -1 if unknown
 */
pid_t qmp_peer_pid(const struct qmp_client *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return -1;
	return cred.pid;
}

/**
 * qmp_label() - name of the peer for messages
 * @c:	client
 *
 * Return: pointer into @c
 */
const char *qmp_label(const struct qmp_client *c)
{
	return c->label;
}

/**
 * qmp_get_fd() - the connection's socket, e.g. for an event loop
 * @c:	client
 *
 * Return: descriptor, still owned by @c
 */
int qmp_get_fd(const struct qmp_client *c)
{
	return c->fd;
}

/**
 * qmp_set_trace() - install an observer of raw traffic (for --trace-qmp)
 * @c:		client
 * @fn:		callback, NULL to remove
 * @opaque:	its argument
 */
void qmp_set_trace(struct qmp_client *c, qmp_trace_fn fn, void *opaque)
{
	c->trace = fn;
	c->trace_opaque = opaque;
}

/**
 * qmp_set_timeout() - default per-command timeout
 * @c:		client
 * @timeout_ms:	milliseconds, > 0
 */
void qmp_set_timeout(struct qmp_client *c, int timeout_ms)
{
	if (timeout_ms > 0)
		c->timeout_ms = timeout_ms;
}

/**
 * qmp_get_timeout() - default per-command timeout
 * @c:	client
 *
 * Return: milliseconds
 */
int qmp_get_timeout(const struct qmp_client *c)
{
	return c->timeout_ms;
}

/* Receiving */

/* Bytes asked of each read(); the receive buffer may exceed the message
 * bound by this much, for the start of the next message behind a full one
 */
#define QMP_READ_CHUNK 4096
/* A receive buffer larger than this is freed when the peer goes quiet with
 * nothing pending, so one big reply doesn't pin its memory for the life of
 * a daemon's connection
 */
#define QMP_BUF_KEEP (64u << 10)
/* Most bytes a wait reads once its deadline has passed (or one message
 * bound, if less): about what a peer can have queued in the socket already
 */
#define QMP_LATE_READ_MAX (256u << 10)

/**
 * struct qmp_wait - the bound of one wait (a command's reply, an event)
 * @deadline:	absolute CLOCK_MONOTONIC time in milliseconds
 * @late_bytes:	bytes read after @deadline passed
 *
 * Once the deadline has passed, a wait still takes what the peer has
 * already sent (a zero timeout means "what is there now"), but only up to
 * QMP_LATE_READ_MAX bytes, or the message bound if less: a peer that never
 * stops sending must not be able to keep a bounded wait from ending.
 */
struct qmp_wait {
	int64_t deadline;
	size_t late_bytes;
};

/**
 * qmp_wait_init() - start a wait bounded by a timeout from now
 * @w:		wait to set up
 * @timeout_ms:	bound; <= 0 means only what is already there
 */
static void qmp_wait_init(struct qmp_wait *w, int timeout_ms)
{
	w->deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	w->late_bytes = 0;
}

/**
 * too_large() - the error for a message beyond the client's bound
 * @c:		client
 * @err:	error object
 *
 * Return: -1
 */
static int too_large(const struct qmp_client *c, struct qr_error *err)
{
	return qr_err_set(err, QR_ERR_PROTOCOL, "%s: message larger than %zu bytes, giving up",
	                  c->label, c->max_message);
}

/**
 * buf_reserve() - make room for one read() in the receive buffer
 * @c:		client
 * @err:	error object
 *
 * The buffer never grows beyond the message bound plus one read, whatever
 * the peer sends: take_buffered() refuses a message before it gets there,
 * so a peer that is still unidentified can't make us allocate more than the
 * bound it was given.
 *
 * Return: 0 on success, -1 on failure
 */
static int buf_reserve(struct qmp_client *c, struct qr_error *err)
{
	size_t limit = c->max_message + QMP_READ_CHUNK;
	size_t need = c->len + QMP_READ_CHUNK;
	size_t ncap;
	char *nb;

	if (need <= c->cap)
		return 0;
	if (c->len > c->max_message)
		return too_large(c, err);
	/* Doubling, but never past the limit: with c->len <= max_message
	 * that still leaves room for a read
	 */
	ncap = c->cap ? c->cap : QMP_READ_CHUNK;
	while (ncap < need)
		ncap *= 2;
	if (ncap > limit)
		ncap = limit;
	if (ncap <= c->cap)
		return 0;
	nb = realloc(c->buf, ncap);
	if (!nb)
		return qr_err_sys(err, ENOMEM, "QMP receive buffer");
	c->buf = nb;
	c->cap = ncap;
	return 0;
}

/**
 * buf_consume() - drop bytes from the front of the receive buffer
 * @c:	client
 * @n:	bytes, all scanned by the framer and none inside an unfinished object
 */
static void buf_consume(struct qmp_client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	json_framer_shift(&c->framer, n);
}

/**
 * buf_trim() - free a large receive buffer that holds nothing
 * @c:	client
 *
 * Called before waiting for the peer: a stream of large messages keeps its
 * buffer (they are back to back, the buffer is rarely empty), a quiet peer
 * gives it back.
 */
static void buf_trim(struct qmp_client *c)
{
	if (c->len || c->cap <= QMP_BUF_KEEP)
		return;
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

/**
 * take_buffered() - take one complete object out of the receive buffer
 * @c:		client
 * @msg:	the object, if there was one
 * @wire_len:	its length on the wire
 * @err:	error object
 *
 * Return: 1 and *@msg set if there was one, 0 if more bytes are needed, -1
 *	   on a protocol error
 */
static int take_buffered(struct qmp_client *c, json_t **msg, size_t *wire_len, struct qr_error *err)
{
	enum json_frame_status st;
	json_error_t jerr;
	size_t start, flen;
	json_t *j;

	st = json_framer_scan(&c->framer, c->buf, c->len, &start, &flen);
	switch (st) {
	case JSON_FRAME_NEED_MORE:
		/* Drop white space already scanned, between objects or before
		 * the one in progress, so an idle stream of newlines can't
		 * grow the buffer and what is left is the object alone
		 */
		if (c->framer.depth && c->framer.start)
			buf_consume(c, c->framer.start);
		else if (!c->framer.depth && c->framer.pos)
			buf_consume(c, c->framer.pos);
		if (c->framer.depth && c->len > c->max_message)
			return too_large(c, err);
		return 0;
	case JSON_FRAME_GARBAGE:
		return qr_err_set(err, QR_ERR_PROTOCOL,
		                  "%s: unexpected byte 0x%02x outside a JSON object", c->label,
		                  (unsigned char)c->buf[c->framer.pos]);
	case JSON_FRAME_TOO_DEEP:
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: JSON nested deeper than %d levels",
		                  c->label, JSON_FRAME_MAX_DEPTH);
	case JSON_FRAME_READY:
		/* One read() may bring a whole oversized object at once: the
		 * bound applies to the object, not to how it arrived.
		 */
		if (flen > c->max_message)
			return too_large(c, err);
		break;
	}

	if (c->trace)
		c->trace(c->trace_opaque, false, c->buf + start, flen, -1);
	j = json_loadb(c->buf + start, flen, 0, &jerr);
	if (!j)
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: invalid JSON: %s", c->label,
		                  jerr.text);
	buf_consume(c, start + flen);
	if (!json_is_object(j)) {
		json_decref(j);
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: top-level JSON value is not an object",
		                  c->label);
	}
	*msg = j;
	*wire_len = flen;
	return 1;
}

/**
 * read_message() - read one message within a wait's bound
 * @c:		client
 * @w:		the wait, see struct qmp_wait
 * @msg:	the message
 * @wire_len:	its length on the wire
 * @err:	error object
 *
 * Return: 0 and *@msg set, or -1 with QR_ERR_TIMEOUT, QR_ERR_DISCONNECTED,
 *	   QR_ERR_PROTOCOL or QR_ERR_SYS
 */
static int read_message(struct qmp_client *c, struct qmp_wait *w, json_t **msg, size_t *wire_len,
                        struct qr_error *err)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r, left;
		ssize_t n;

		r = take_buffered(c, msg, wire_len, err);
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;

		left = deadline_remaining_ms(w->deadline);
		if (!left &&
		    (w->late_bytes >= QMP_LATE_READ_MAX || w->late_bytes >= c->max_message))
			return qr_err_set(err, QR_ERR_TIMEOUT, "%s: no answer in time", c->label);
		buf_trim(c);
		r = poll(&pfd, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return qr_err_sys(err, errno, "poll() on %s", c->label);
		}
		if (r == 0)
			return qr_err_set(err, QR_ERR_TIMEOUT, "%s: no answer in time", c->label);

		if (buf_reserve(c, err) < 0)
			return -1;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				goto closed;
			return qr_err_sys(err, errno, "reading from %s", c->label);
		}
		if (n == 0)
			goto closed;
		c->len += (size_t)n;
		if (!left)
			w->late_bytes += (size_t)n;
	}

closed:
	if (c->len && c->framer.depth)
		return qr_err_set(err, QR_ERR_DISCONNECTED,
		                  "%s closed the connection in the middle of a message "
		                  "(%zu bytes unparsed)",
		                  c->label, c->len);
	return qr_err_set(err, QR_ERR_DISCONNECTED, "%s closed the connection", c->label);
}

/* The event queue: a ring, oldest at @head, so dropping the oldest under a
 * flood costs nothing but the event itself.
 */

/**
 * ev_at() - the queue slot of the @i-th oldest event
 * @c:	client
 * @i:	0 for the oldest, < @c->n_events
 *
 * Return: pointer to the slot
 */
static struct qmp_event *ev_at(const struct qmp_client *c, size_t i)
{
	return &c->events[(c->head + i) % c->cap_events];
}

/**
 * ev_remove() - take the @i-th oldest event out of the queue
 * @c:	client
 * @i:	index, < @c->n_events
 *
 * Return: the event; its reference passes to the caller
 */
static json_t *ev_remove(struct qmp_client *c, size_t i)
{
	json_t *ev = ev_at(c, i)->json;

	c->event_bytes -= ev_at(c, i)->len;
	if (!i) {
		c->head = (c->head + 1) % c->cap_events;
	} else {
		/* Callers take the oldest matching event; closing the gap
		 * keeps the order for the rest
		 */
		for (; i + 1 < c->n_events; i++)
			*ev_at(c, i) = *ev_at(c, i + 1);
	}
	c->n_events--;
	return ev;
}

/**
 * ev_drop_oldest() - discard the oldest queued event, counting it
 * @c:	client, with at least one event queued
 */
static void ev_drop_oldest(struct qmp_client *c)
{
	json_decref(ev_remove(c, 0));
	c->dropped_events++;
}

/**
 * ev_fit_budget() - drop the oldest events until the queue is within budget
 * @c:		client
 * @more:	bytes about to be added with one more event, or 0 (and then
 *		no event is about to be added)
 */
static void ev_fit_budget(struct qmp_client *c, size_t more)
{
	size_t slots = more ? 1 : 0;

	while (c->n_events &&
	       (c->n_events + slots > c->max_events || c->event_bytes + more > c->max_event_bytes))
		ev_drop_oldest(c);
}

/**
 * filter_keeps() - whether the event filter lets an event be queued
 * @c:		client
 * @name:	event name, NULL if the event has none
 *
 * Return: true to queue it
 */
static bool filter_keeps(const struct qmp_client *c, const char *name)
{
	const char *const *k;

	if (!c->keep)
		return true;
	if (!name)
		return false;
	for (k = c->keep; *k; k++)
		if (!strcmp(*k, name))
			return true;
	return false;
}

/**
 * note_budget_drop() - say once per connection that the budget drops events
 * @c:	client
 *
 * A QEMU that floods us is worth a line; every event it floods us with is
 * not.
 */
static void note_budget_drop(struct qmp_client *c)
{
	if (c->warned_drop)
		return;
	c->warned_drop = true;
	log_warn("%s: event queue over its budget (%zu events, %zu bytes): dropping events",
	         c->label, c->max_events, c->max_event_bytes);
}

/**
 * queue_event() - keep an event for later, within the filter and the budget
 * @c:		client
 * @ev:		event; the reference is consumed
 * @len:	its length on the wire, what it costs in the byte budget
 * @err:	error object
 *
 * Events the filter rejects are discarded. Otherwise the oldest are dropped
 * until the newcomer fits both bounds; one that could never fit (larger
 * than the byte budget on its own) is dropped itself, leaving the queue
 * alone. Every discarded event is counted in @c->dropped_events.
 *
 * Return: 1 if queued, 0 if discarded, -1 on failure
 */
static int queue_event(struct qmp_client *c, json_t *ev, size_t len, struct qr_error *err)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	unsigned long before = c->dropped_events;

	if (!filter_keeps(c, name)) {
		log_trace("%s: event %s filtered out", c->label, str_or(name, "(unnamed)"));
		json_decref(ev);
		c->dropped_events++;
		return 0;
	}
	if (!c->max_events || len > c->max_event_bytes) {
		json_decref(ev);
		c->dropped_events++;
		note_budget_drop(c);
		return 0;
	}
	ev_fit_budget(c, len);
	if (c->dropped_events != before)
		note_budget_drop(c);
	if (c->n_events == c->cap_events) {
		/* Slots grow with the queue, up to the budget's count; a
		 * fresh array rather than realloc(), to unwrap the ring
		 */
		size_t ncap = c->cap_events ? c->cap_events * 2 : 16, i;
		struct qmp_event *ne;

		if (ncap > c->max_events)
			ncap = c->max_events;
		ne = malloc(ncap * sizeof(*ne));
		if (!ne) {
			json_decref(ev);
			return qr_err_sys(err, ENOMEM, "QMP event queue");
		}
		for (i = 0; i < c->n_events; i++)
			ne[i] = *ev_at(c, i);
		free(c->events);
		c->events = ne;
		c->cap_events = ncap;
		c->head = 0;
	}
	c->n_events++;
	*ev_at(c, c->n_events - 1) = (struct qmp_event){.json = ev, .len = len};
	c->event_bytes += len;
	log_debug("%s: event %s queued", c->label, str_or(name, "(unnamed)"));
	return 1;
}

/* Limits */

/**
 * qmp_set_max_message() - bound the size of one message from the peer
 * @c:		client
 * @bytes:	largest message accepted, 0 for QMP_MAX_MESSAGE; at most
 *		SIZE_MAX / 4
 *
 * Takes effect at once, also for a message partly received: a larger one
 * is a protocol error, and the receive buffer never grows beyond about this
 * much.
 */
void qmp_set_max_message(struct qmp_client *c, size_t bytes)
{
	/* Far beyond any real need, and the buffer arithmetic can't overflow */
	if (bytes > SIZE_MAX / 4)
		bytes = SIZE_MAX / 4;
	c->max_message = bytes ? bytes : QMP_MAX_MESSAGE;
}

/**
 * qmp_get_max_message() - the bound on one message from the peer
 * @c:	client
 *
 * Return: bytes
 */
size_t qmp_get_max_message(const struct qmp_client *c)
{
	return c->max_message;
}

/**
 * qmp_set_event_budget() - bound what the event queue holds
 * @c:		client
 * @max_events:	most events queued; 0 queues none
 * @max_bytes:	most bytes queued, counting each event's length on the wire;
 *		0 queues none
 *
 * Takes effect at once: the oldest queued events are dropped (and counted)
 * until the queue fits.
 */
void qmp_set_event_budget(struct qmp_client *c, size_t max_events, size_t max_bytes)
{
	unsigned long before = c->dropped_events;

	c->max_events = max_events;
	c->max_event_bytes = max_bytes;
	ev_fit_budget(c, 0);
	if (c->dropped_events != before)
		log_debug("%s: %lu queued events dropped to fit the new budget", c->label,
		          c->dropped_events - before);
}

/**
 * qmp_set_event_filter() - choose which events are queued
 * @c:		client
 * @keep:	NULL-terminated list of event names to queue, NULL for all;
 *		borrowed: it must stay valid until replaced or @c is closed
 *
 * Events not in @keep are discarded on arrival and counted as dropped. The
 * queue is filtered at once too, so it only ever holds what the current
 * filter keeps: widen the filter before the command whose events matter
 * (DEVICE_DELETED before device_del), narrow it when done.
 */
void qmp_set_event_filter(struct qmp_client *c, const char *const *keep)
{
	size_t i, kept = 0, n = c->n_events;

	c->keep = keep;
	/* Compact in place, oldest first: slot @kept is never ahead of @i */
	for (i = 0; i < n; i++) {
		struct qmp_event e = *ev_at(c, i);

		if (filter_keeps(c, json_string_value(json_object_get(e.json, "event")))) {
			*ev_at(c, kept++) = e;
			continue;
		}
		c->event_bytes -= e.len;
		json_decref(e.json);
		c->dropped_events++;
	}
	c->n_events = kept;
}

/* Sending */

static int send_all(struct qmp_client *c, const char *data, size_t len, int fd, int64_t deadline,
                    struct qr_error *err)
{
	size_t off = 0;

	while (off < len) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = (char *)data + off, .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (fd >= 0 && off == 0) {
			struct cmsghdr *cm;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			int r;

			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return qr_err_set(err, QR_ERR_DISCONNECTED,
				                  "%s closed the connection", c->label);
			if (errno != EAGAIN)
				return qr_err_sys(err, errno, "writing to %s", c->label);
			r = poll(&pfd, 1, deadline_remaining_ms(deadline));
			if (r < 0 && errno != EINTR)
				return qr_err_sys(err, errno, "poll() on %s", c->label);
			if (r == 0)
				return qr_err_set(err, QR_ERR_TIMEOUT, "%s is not reading",
				                  c->label);
			continue;
		}
		off += (size_t)n;
	}
	return 0;
}

/**
 * qmp_handshake() - read the greeting and negotiate capabilities
 * @c:		client, just connected
 * @timeout_ms:	bound for the whole handshake
 * @err:	error object
 *
 * A QEMU socket chardev serves one client at a time; a second client's
 * connect() succeeds but no greeting comes until the first leaves, so a
 * missing greeting is reported with that hint.
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_handshake(struct qmp_client *c, int timeout_ms, struct qr_error *err)
{
	json_t *greeting = NULL, *ver, *res = NULL;
	struct qmp_wait w;
	const char *pkg;
	size_t len = 0;
	int r;

	qmp_wait_init(&w, timeout_ms);
	r = read_message(c, &w, &greeting, &len, err);
	if (r < 0) {
		if (err && err->kind == QR_ERR_TIMEOUT)
			return qr_err_set(
			        err, QR_ERR_TIMEOUT,
			        "%s: no QMP greeting within %d ms (QEMU serves one client "
			        "per monitor socket: is another client connected?)",
			        c->label, timeout_ms);
		return qr_err_prefix(err, "waiting for QMP greeting");
	}
	ver = json_object_get(json_object_get(greeting, "QMP"), "version");
	if (!ver) {
		json_decref(greeting);
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: first message is not a QMP greeting",
		                  c->label);
	}
	c->version.major =
	        (int)json_integer_value(json_object_get(json_object_get(ver, "qemu"), "major"));
	c->version.minor =
	        (int)json_integer_value(json_object_get(json_object_get(ver, "qemu"), "minor"));
	c->version.micro =
	        (int)json_integer_value(json_object_get(json_object_get(ver, "qemu"), "micro"));
	pkg = json_string_value(json_object_get(ver, "package"));
	str_copy(c->version.package, sizeof(c->version.package), pkg ? pkg : "");
	json_decref(greeting);

	r = qmp_execute_fd(c, "qmp_capabilities", NULL, -1, deadline_remaining_ms(w.deadline) + 1,
	                   &res, err);
	json_decref(res);
	if (r < 0)
		return qr_err_prefix(err, "negotiating QMP capabilities");
	c->negotiated = true;
	log_debug("%s: QEMU %d.%d.%d (%s)", c->label, c->version.major, c->version.minor,
	          c->version.micro, c->version.package);
	return 0;
}

/*
 * Turn an error reply into the error object: keep the class for callers that
 * branch on it (DeviceNotFound during rollback, say), and the description for
 * humans.
 */
static int reply_error(struct qmp_client *c, const char *command, json_t *error,
                       struct qr_error *err)
{
	const char *cls = json_string_value(json_object_get(error, "class"));
	const char *desc = json_string_value(json_object_get(error, "desc"));

	return qr_err_qmp(err, cls ? cls : "GenericError", "%s: '%s' failed: %s (%s)", c->label,
	                  command, desc ? desc : "no description", cls ? cls : "no class");
}

/**
 * send_request() - send one command
 * @c:		client
 * @command:	command name
 * @args:	arguments object or NULL; borrowed
 * @id:		the request's id
 * @fd:		descriptor to pass with SCM_RIGHTS, or -1
 * @deadline:	when sending must have finished (CLOCK_MONOTONIC ms)
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int send_request(struct qmp_client *c, const char *command, json_t *args, const char *id,
                        int fd, int64_t deadline, struct qr_error *err)
{
	_cleanup_free_ char *text = NULL, *line = NULL;
	json_t *req = json_pack("{s:s, s:s}", "execute", command, "id", id);
	size_t n;

	if (!req || (args && json_object_set(req, "arguments", args) < 0)) {
		json_decref(req);
		return qr_err_set(err, QR_ERR_INVALID, "cannot build QMP command '%s'", command);
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return qr_err_set(err, QR_ERR_INVALID, "cannot encode QMP command '%s'", command);
	if (c->trace)
		c->trace(c->trace_opaque, true, text, strlen(text), fd);
	/* QEMU doesn't need the line end, but a human reading a socket
	 * capture does
	 */
	n = strlen(text);
	line = malloc(n + 2);
	if (!line)
		return qr_err_sys(err, ENOMEM, "QMP command buffer");
	memcpy(line, text, n);
	memcpy(line + n, "\r\n", 2);
	if (send_all(c, line, n + 2, fd, deadline, err) < 0)
		return qr_err_prefix(err, "sending '%s'", command);
	return 0;
}

/**
 * read_reply() - read up to the next reply, queueing the events before it
 * @c:		client
 * @w:		the wait's bound
 * @what:	what the reply answers, for messages
 * @reply:	the reply: an object with "return" or "error"
 * @err:	error object
 *
 * Events that arrive before the reply are queued, within the client's event
 * filter and budget: however many come, reading goes on (the oldest queued
 * are dropped), so they can't keep a reply from being seen in time.
 *
 * Return: 0 on success, -1 on failure
 */
static int read_reply(struct qmp_client *c, struct qmp_wait *w, const char *what, json_t **reply,
                      struct qr_error *err)
{
	for (;;) {
		json_t *msg = NULL;
		size_t len = 0;

		if (read_message(c, w, &msg, &len, err) < 0)
			return qr_err_prefix(err, "waiting for the reply to %s", what);
		if (json_object_get(msg, "event")) {
			if (queue_event(c, msg, len, err) < 0)
				return -1;
			continue;
		}
		if (!json_object_get(msg, "return") && !json_object_get(msg, "error")) {
			json_decref(msg);
			return qr_err_set(err, QR_ERR_PROTOCOL,
			                  "%s: message is neither event, return nor error",
			                  c->label);
		}
		*reply = msg;
		return 0;
	}
}

/**
 * qmp_execute_fd() - run one command, optionally passing a descriptor
 * @c:		client
 * @command:	command name
 * @args:	arguments object or NULL; borrowed, not stolen
 * @fd:		descriptor to pass with SCM_RIGHTS, or -1; the caller keeps
 *		its copy (QEMU receives a duplicate)
 * @timeout_ms:	bound for this command, <= 0 for the client's default
 * @result:	the "return" value (new reference), or NULL if not wanted
 * @err:	error object; QMP errors keep their class in @err->qmp_class
 *
 * Events that arrive before the reply are queued (read_reply()). A reply
 * carrying another id is a late answer to a command that timed out earlier
 * and is dropped.
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_execute_fd(struct qmp_client *c, const char *command, json_t *args, int fd, int timeout_ms,
                   json_t **result, struct qr_error *err)
{
	struct qmp_wait w;
	char id[32], what[96];

	qmp_wait_init(&w, timeout_ms > 0 ? timeout_ms : c->timeout_ms);
	if (result)
		*result = NULL;
	snprintf(id, sizeof(id), "qremap-%llu", ++c->next_id);
	snprintf(what, sizeof(what), "'%.80s'", command);
	if (send_request(c, command, args, id, fd, w.deadline, err) < 0)
		return -1;

	for (;;) {
		json_t *msg = NULL, *rid, *error;

		if (read_reply(c, &w, what, &msg, err) < 0) {
			if (err && err->kind == QR_ERR_TIMEOUT)
				return qr_err_set(err, QR_ERR_TIMEOUT,
				                  "%s: no reply to '%s' within %d ms", c->label,
				                  command,
				                  timeout_ms > 0 ? timeout_ms : c->timeout_ms);
			return -1;
		}
		rid = json_object_get(msg, "id");
		error = json_object_get(msg, "error");
		if (rid && !(json_is_string(rid) && !strcmp(json_string_value(rid), id))) {
			log_debug("%s: dropping late reply with id %s", c->label,
			          json_is_string(rid) ? json_string_value(rid) : "(not a string)");
			json_decref(msg);
			continue;
		}
		if (!rid && !error) {
			/* QEMU echoes the id on every reply to a request it could
			 * parse; only error replies may lack it.
			 */
			json_decref(msg);
			return qr_err_set(err, QR_ERR_PROTOCOL, "%s: reply to '%s' without id",
			                  c->label, command);
		}
		if (error) {
			reply_error(c, command, error, err);
			json_decref(msg);
			return -1;
		}
		if (result)
			*result = json_incref(json_object_get(msg, "return"));
		json_decref(msg);
		return 0;
	}
}

/**
 * batch_index() - which call of a batch a reply's id names
 * @rid:	the reply's "id", or NULL
 * @first:	the number in the batch's first id ("qremap-<first>")
 * @n:		calls in the batch
 *
 * Return: the index, or -1 if the id is not one of the batch's
 */
static long batch_index(json_t *rid, unsigned long long first, size_t n)
{
	const char *s = json_string_value(rid);
	unsigned long long k;

	if (!s || !str_has_prefix(s, "qremap-") || parse_uint(s + 7, ULLONG_MAX, &k) || k < first ||
	    k - first >= n)
		return -1;
	return (long)(k - first);
}

/**
 * qmp_execute_batch() - run several commands, sent at once, replies read after
 * @c:		client
 * @calls:	the commands: each's @command and @args in; @ret, @err out
 * @n:		number of @calls, at most QMP_MAX_BATCH
 * @err:	error object, for the batch as a whole
 *
 * QEMU runs a monitor's commands one after another and answers each in
 * turn; sending them together saves a round trip per command, which is
 * most of what a read-only query costs (docs/performance.md). Only for
 * commands that don't depend on each other's effects: one failing does
 * not stop the ones after it. Replies are matched by id; one deadline,
 * the client's timeout, bounds the whole batch.
 *
 * Return: 0 when every call has its reply (each call's @err says whether
 * it failed: QR_ERR_QMP with the class, as qmp_execute() reports it), -1
 * when the batch as a whole failed (connection, timeout, protocol): then
 * no call's result may be relied on, and qmp_batch_free() still frees them
 */
int qmp_execute_batch(struct qmp_client *c, struct qmp_call *calls, size_t n, struct qr_error *err)
{
	unsigned long long first = c->next_id + 1;
	size_t answered = 0;
	struct qmp_wait w;

	if (n > QMP_MAX_BATCH)
		return qr_err_set(err, QR_ERR_INVALID, "a batch of %zu QMP commands (at most %d)",
		                  n, QMP_MAX_BATCH);
	qmp_wait_init(&w, c->timeout_ms);
	for (size_t i = 0; i < n; i++) {
		calls[i].ret = NULL;
		memset(&calls[i].err, 0, sizeof(calls[i].err));
		calls[i].answered = false;
	}
	/* all of them before any reply is read; one send each costs a
	 * syscall, nothing next to QEMU's time per command
	 */
	for (size_t i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "qremap-%llu", ++c->next_id);
		if (send_request(c, calls[i].command, calls[i].args, id, -1, w.deadline, err) < 0)
			return qr_err_prefix(err, "sending a batch of %zu QMP commands", n);
	}

	while (answered < n) {
		json_t *msg = NULL, *error;
		long i;

		if (read_reply(c, &w, "a batch of queries", &msg, err) < 0) {
			if (err && err->kind == QR_ERR_TIMEOUT)
				return qr_err_set(err, QR_ERR_TIMEOUT,
				                  "%s: %zu of %zu replies to a batch within %d ms",
				                  c->label, answered, n, c->timeout_ms);
			return -1;
		}
		error = json_object_get(msg, "error");
		i = batch_index(json_object_get(msg, "id"), first, n);
		if (i < 0 && !json_object_get(msg, "id") && error) {
			/* only a request QEMU could not parse gets no id: which
			 * one can't be told
			 */
			struct qr_error e = {0};

			reply_error(c, "a batched command", error, &e);
			json_decref(msg);
			return qr_err_set(err, QR_ERR_PROTOCOL, "%s", e.msg);
		}
		if (i < 0 || calls[i].answered) {
			log_debug("%s: dropping a reply that is not the batch's", c->label);
			json_decref(msg);
			continue;
		}
		calls[i].answered = true;
		answered++;
		if (error)
			reply_error(c, calls[i].command, error, &calls[i].err);
		else
			calls[i].ret = json_incref(json_object_get(msg, "return"));
		json_decref(msg);
	}
	return 0;
}

/**
 * qmp_batch_free() - drop what a batch's calls hold: arguments and results
 * @calls:	the calls
 * @n:		their number
 */
void qmp_batch_free(struct qmp_call *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(calls[i].args);
		json_decref(calls[i].ret);
		calls[i].args = NULL;
		calls[i].ret = NULL;
	}
}

/**
 * qmp_execute() - run one command with the default timeout
 * @c:		client
 * @command:	command name
 * @args:	arguments object or NULL; borrowed
 * @result:	the "return" value (new reference), or NULL if not wanted
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_execute(struct qmp_client *c, const char *command, json_t *args, json_t **result,
                struct qr_error *err)
{
	return qmp_execute_fd(c, command, args, -1, 0, result, err);
}

/**
 * qmp_vpack_args() - a command's arguments object, built by json_vpack_ex()
 * @command:	command name, for the message
 * @args:	result: the object (new reference), NULL when @fmt is NULL
 * @err:	error object
 * @fmt:	json_pack() format, NULL for no arguments
 * @ap:		its values
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_vpack_args(const char *command, json_t **args, struct qr_error *err, const char *fmt,
                   va_list ap)
{
	json_error_t jerr;

	*args = NULL;
	if (!fmt)
		return 0;
	*args = json_vpack_ex(&jerr, 0, fmt, ap);
	if (!*args)
		return qr_err_set(err, QR_ERR_INVALID, "building arguments for '%s': %s", command,
		                  jerr.text);
	return 0;
}

/**
 * qmp_executef() - run one command, arguments built by json_pack()
 * @c:		client
 * @result:	the "return" value (new reference), or NULL
 * @err:	error object
 * @command:	command name
 * @fmt:	json_pack() format for the arguments object, NULL for none
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_executef(struct qmp_client *c, json_t **result, struct qr_error *err, const char *command,
                 const char *fmt, ...)
{
	json_t *args = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = qmp_vpack_args(command, &args, err, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = qmp_execute(c, command, args, result, err);
	json_decref(args);
	return r;
}

/**
 * qmp_hmp() - run a human monitor command through QMP
 * @c:			client
 * @command_line:	HMP command, e.g. "info network"
 * @output:		its text output (malloc'd), lines end in CRLF
 * @err:		error object
 *
 * HMP reports its own errors as text in @output, not as QMP errors: callers
 * must check the text.
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_hmp(struct qmp_client *c, const char *command_line, char **output, struct qr_error *err)
{
	json_t *ret = NULL;
	char *s;

	if (qmp_executef(c, &ret, err, "human-monitor-command", "{s:s}", "command-line",
	                 command_line) < 0)
		return -1;
	if (!json_is_string(ret)) {
		json_decref(ret);
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: HMP '%s' did not return a string",
		                  c->label, command_line);
	}
	s = strdup(json_string_value(ret));
	json_decref(ret);
	if (!s)
		return qr_err_sys(err, ENOMEM, "HMP output");
	*output = s;
	return 0;
}

/* Events */

/**
 * event_matches() - whether an event is the one a caller asks for
 * @ev:		event
 * @name:	event name, or NULL for any
 * @match:	extra predicate, or NULL
 * @opaque:	its argument
 *
 * Return: true if it is
 */
static bool event_matches(json_t *ev, const char *name, qmp_event_match_fn match, void *opaque)
{
	const char *n = json_string_value(json_object_get(ev, "event"));

	if (!n || (name && strcmp(n, name)))
		return false;
	return !match || match(ev, opaque);
}

/**
 * qmp_take_event() - remove and return the oldest queued matching event
 * @c:		client
 * @name:	event name, or NULL for any
 * @match:	extra predicate, or NULL
 * @opaque:	its argument
 *
 * Return: the event (caller owns the reference), or NULL if none is queued
 */
json_t *qmp_take_event(struct qmp_client *c, const char *name, qmp_event_match_fn match,
                       void *opaque)
{
	size_t i;

	for (i = 0; i < c->n_events; i++)
		if (event_matches(ev_at(c, i)->json, name, match, opaque))
			return ev_remove(c, i);
	return NULL;
}

/**
 * qmp_wait_event() - wait, bounded, for a matching event
 * @c:		client
 * @name:	event name, or NULL for any
 * @match:	extra predicate, or NULL
 * @opaque:	its argument
 * @timeout_ms:	bound; 0 only looks at what is queued or already readable
 * @event:	the event (new reference), or NULL if not wanted
 * @err:	error object
 *
 * Queued events are looked at first. A matching event that arrives while
 * waiting is handed over at once, whatever the event filter and budget say:
 * they decide what is kept for later, and this one is not kept. Non-matching
 * events that arrive stay queued for later callers, within the filter and
 * budget. A reply that arrives here belongs to a command that timed out
 * earlier and is dropped.
 *
 * Return: 0 if the event came, -1 on timeout (QR_ERR_TIMEOUT) or failure
 */
int qmp_wait_event(struct qmp_client *c, const char *name, qmp_event_match_fn match, void *opaque,
                   int timeout_ms, json_t **event, struct qr_error *err)
{
	struct qmp_wait w;
	json_t *ev;

	qmp_wait_init(&w, timeout_ms);
	ev = qmp_take_event(c, name, match, opaque);
	while (!ev) {
		json_t *msg = NULL;
		size_t len = 0;

		if (read_message(c, &w, &msg, &len, err) < 0) {
			if (err && err->kind == QR_ERR_TIMEOUT)
				return qr_err_set(err, QR_ERR_TIMEOUT,
				                  "%s: no %s event within %d ms", c->label,
				                  name ? name : "matching", timeout_ms);
			return qr_err_prefix(err, "waiting for %s event", name ? name : "an");
		}
		if (!json_object_get(msg, "event")) {
			log_debug("%s: dropping late reply while waiting for an event", c->label);
			json_decref(msg);
			continue;
		}
		if (event_matches(msg, name, match, opaque))
			ev = msg;
		else if (queue_event(c, msg, len, err) < 0)
			return -1;
	}
	if (event)
		*event = ev;
	else
		json_decref(ev);
	return 0;
}

/**
 * struct device_match - what match_device_deleted() looks for
 * @id:	qdev id of the device
 */
struct device_match {
	const char *id;
};

/**
 * match_device_deleted() - DEVICE_DELETED for the device itself
 * @ev:		a DEVICE_DELETED event
 * @opaque:	struct device_match
 *
 * DEVICE_DELETED comes twice for virtio devices: first for the virtio backend
 * child (only "path", ending in /virtio-backend), then for the device itself
 * with "device" set. Match on data.device only.
 *
 * Return: true if @ev names the device
 */
static bool match_device_deleted(json_t *ev, void *opaque)
{
	const struct device_match *m = opaque;
	const char *dev = json_string_value(json_object_get(json_object_get(ev, "data"), "device"));

	return dev && !strcmp(dev, m->id);
}

/**
 * qmp_wait_device_deleted() - wait, bounded, for DEVICE_DELETED of one device
 * @c:		client
 * @device_id:	qdev id given to device_del
 * @timeout_ms:	bound
 * @err:	error object
 *
 * Return: 0 once the device is gone, -1 on timeout or failure
 */
int qmp_wait_device_deleted(struct qmp_client *c, const char *device_id, int timeout_ms,
                            struct qr_error *err)
{
	struct device_match m = {.id = device_id};

	return qmp_wait_event(c, "DEVICE_DELETED", match_device_deleted, &m, timeout_ms, NULL, err);
}

/**
 * qmp_poll_events() - read whatever events are available within a bound
 * @c:		client
 * @timeout_ms:	how long to wait for the first message
 * @err:	error object
 *
 * Used by event loops (the daemon) that watch the socket themselves. After
 * the first message only what is already readable is taken, and at most
 * QMP_LATE_READ_MAX bytes of it: under a flood this returns, and the
 * loop's next poll() says there is more.
 *
 * Return: number of events queued by this call (not counting those the
 *	   filter or budget discarded), -1 on failure (a timeout is not a
 *	   failure here)
 */
int qmp_poll_events(struct qmp_client *c, int timeout_ms, struct qr_error *err)
{
	struct qmp_wait w;
	int n = 0;

	qmp_wait_init(&w, timeout_ms);
	for (;;) {
		struct qr_error e2 = {0};
		json_t *msg = NULL;
		size_t len = 0;
		int64_t now;
		int r;

		if (read_message(c, &w, &msg, &len, &e2) < 0) {
			if (e2.kind == QR_ERR_TIMEOUT)
				return n;
			if (err)
				*err = e2;
			return -1;
		}
		/* Something came: from now on, only what is already there */
		now = now_ms();
		if (w.deadline > now) {
			w.deadline = now;
			w.late_bytes = 0;
		}
		if (!json_object_get(msg, "event")) {
			json_decref(msg);
			continue;
		}
		r = queue_event(c, msg, len, err);
		if (r < 0)
			return -1;
		n += r;
	}
}

/**
 * qmp_queued_events() - number of events waiting in the queue
 * @c:	client
 *
 * Return: count
 */
size_t qmp_queued_events(const struct qmp_client *c)
{
	return c->n_events;
}

/**
 * qmp_queued_event_bytes() - what the queued events cost in the byte budget
 * @c:	client
 *
 * Return: sum of their lengths on the wire
 */
size_t qmp_queued_event_bytes(const struct qmp_client *c)
{
	return c->event_bytes;
}

/**
 * qmp_dropped_events() - events discarded: filtered out, or over the budget
 * @c:	client
 *
 * Return: count since connect
 */
unsigned long qmp_dropped_events(const struct qmp_client *c)
{
	return c->dropped_events;
}

/**
 * qmp_buffered_bytes() - memory held by the receive buffer
 * @c:	client
 *
 * What a peer has made us allocate for messages not yet complete (or not
 * yet freed after a large one): at most the message bound plus one read.
 *
 * Return: allocated size of the receive buffer in bytes
 */
size_t qmp_buffered_bytes(const struct qmp_client *c)
{
	return c->cap;
}
