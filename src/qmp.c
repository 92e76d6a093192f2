// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - qmp.c: QMP client (connect, negotiate, execute, events, fd passing)
 *
 * Reading: bytes accumulate in one growing buffer; json_framer finds complete
 * top-level objects whatever the read boundaries, jansson parses each frame.
 * Every wait is a poll() against an absolute CLOCK_MONOTONIC deadline, so a
 * silent or dying peer produces a timeout or a disconnect error, never a hang.
 *
 * Writing: the socket is non-blocking; a command goes out in as many
 * sendmsg() calls as needed, the first one carrying the descriptor (if any)
 * as SCM_RIGHTS, which is where QEMU's socket chardev picks it up.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
 * struct qmp_client - one monitor connection
 * @fd:			connected socket
 * @label:		what to call the peer in messages (socket path)
 * @buf:		received bytes not yet consumed
 * @len:		valid bytes in @buf
 * @cap:		allocated size of @buf
 * @framer:		object boundary scanner over @buf
 * @events:		queued events, oldest first
 * @n_events:		number queued
 * @cap_events:		allocated slots
 * @dropped_events:	events discarded because the queue was full
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
	struct json_framer framer;
	json_t **events;
	size_t n_events;
	size_t cap_events;
	unsigned long dropped_events;
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
		json_decref(c->events[i]);
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

static int buf_reserve(struct qmp_client *c, size_t more, struct qr_error *err)
{
	size_t need = c->len + more;
	char *nb;
	size_t ncap;

	if (need <= c->cap)
		return 0;
	if (need > QMP_MAX_MESSAGE + 4096)
		return qr_err_set(err, QR_ERR_PROTOCOL,
		                  "%s: message larger than %u bytes, giving up", c->label,
		                  QMP_MAX_MESSAGE);
	ncap = c->cap ? c->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(c->buf, ncap);
	if (!nb)
		return qr_err_sys(err, ENOMEM, "QMP receive buffer");
	c->buf = nb;
	c->cap = ncap;
	return 0;
}

/* Drop @n bytes from the front of the buffer. */
static void buf_consume(struct qmp_client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	json_framer_shift(&c->framer, n);
}

/*
 * Try to take one complete object out of the buffer. Return 1 and set *msg if
 * there was one, 0 if more bytes are needed, -1 on a protocol error.
 */
static int take_buffered(struct qmp_client *c, json_t **msg, struct qr_error *err)
{
	enum json_frame_status st;
	json_error_t jerr;
	size_t start, flen;
	json_t *j;

	st = json_framer_scan(&c->framer, c->buf, c->len, &start, &flen);
	switch (st) {
	case JSON_FRAME_NEED_MORE:
		/* Drop white space already scanned between objects, so an idle
		 * stream of newlines can't grow the buffer.
		 */
		if (!c->framer.depth && c->framer.pos)
			buf_consume(c, c->framer.pos);
		if (c->framer.depth && c->len > QMP_MAX_MESSAGE)
			return qr_err_set(err, QR_ERR_PROTOCOL,
			                  "%s: message larger than %u bytes, giving up", c->label,
			                  QMP_MAX_MESSAGE);
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
		if (flen > QMP_MAX_MESSAGE)
			return qr_err_set(err, QR_ERR_PROTOCOL,
			                  "%s: message larger than %u bytes, giving up", c->label,
			                  QMP_MAX_MESSAGE);
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
	return 1;
}

/*
 * Read one message, waiting until @deadline (CLOCK_MONOTONIC ms). Return 0 and
 * set *msg, or -1 with QR_ERR_TIMEOUT, QR_ERR_DISCONNECTED, QR_ERR_PROTOCOL
 * or QR_ERR_SYS.
 */
static int read_message(struct qmp_client *c, int64_t deadline, json_t **msg, struct qr_error *err)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		ssize_t n;
		int r;

		r = take_buffered(c, msg, err);
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;

		r = poll(&pfd, 1, deadline_remaining_ms(deadline));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return qr_err_sys(err, errno, "poll() on %s", c->label);
		}
		if (r == 0)
			return qr_err_set(err, QR_ERR_TIMEOUT, "%s: no answer in time", c->label);

		if (buf_reserve(c, 4096, err) < 0)
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
	}

closed:
	if (c->len && c->framer.depth)
		return qr_err_set(err, QR_ERR_DISCONNECTED,
		                  "%s closed the connection in the middle of a message "
		                  "(%zu bytes unparsed)",
		                  c->label, c->len);
	return qr_err_set(err, QR_ERR_DISCONNECTED, "%s closed the connection", c->label);
}

/* Append an event to the queue, dropping the oldest if full. */
static int queue_event(struct qmp_client *c, json_t *ev, struct qr_error *err)
{
	if (c->n_events == QMP_MAX_QUEUED_EVENTS) {
		json_decref(c->events[0]);
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		memmove(c->events, c->events + 1, (c->n_events - 1) * sizeof(*c->events));
		c->n_events--;
		c->dropped_events++;
	}
	if (c->n_events == c->cap_events) {
		size_t ncap = c->cap_events ? c->cap_events * 2 : 16;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		json_t **ne = realloc(c->events, ncap * sizeof(*ne));

		if (!ne) {
			json_decref(ev);
			return qr_err_sys(err, ENOMEM, "QMP event queue");
		}
		c->events = ne;
		c->cap_events = ncap;
	}
	c->events[c->n_events++] = ev;
	log_debug("%s: event %s queued", c->label, json_string_value(json_object_get(ev, "event")));
	return 0;
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
	int64_t deadline = now_ms() + timeout_ms;
	json_t *greeting = NULL, *ver, *res = NULL;
	const char *pkg;
	int r;

	r = read_message(c, deadline, &greeting, err);
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

	r = qmp_execute_fd(c, "qmp_capabilities", NULL, -1, deadline_remaining_ms(deadline) + 1,
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
 * Events that arrive before the reply are queued. A reply carrying another
 * id is a late answer to a command that timed out earlier and is dropped.
 *
 * Return: 0 on success, -1 on failure
 */
int qmp_execute_fd(struct qmp_client *c, const char *command, json_t *args, int fd, int timeout_ms,
                   json_t **result, struct qr_error *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : c->timeout_ms);
	_cleanup_free_ char *text = NULL;
	char id[32];
	json_t *req;

	if (result)
		*result = NULL;
	snprintf(id, sizeof(id), "qremap-%llu", ++c->next_id);
	req = json_pack("{s:s, s:s}", "execute", command, "id", id);
	if (!req)
		return qr_err_set(err, QR_ERR_INVALID, "cannot build QMP command '%s'", command);
	if (args && json_object_set(req, "arguments", args) < 0) {
		json_decref(req);
		return qr_err_set(err, QR_ERR_INVALID, "cannot build QMP command '%s'", command);
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return qr_err_set(err, QR_ERR_INVALID, "cannot encode QMP command '%s'", command);

	if (c->trace)
		c->trace(c->trace_opaque, true, text, strlen(text), fd);
	{
		/* QEMU doesn't need the line end, but a human reading a
		 * socket capture does
		 */
		size_t n = strlen(text);
		_cleanup_free_ char *line = malloc(n + 2);

		if (!line)
			return qr_err_sys(err, ENOMEM, "QMP command buffer");
		memcpy(line, text, n);
		memcpy(line + n, "\r\n", 2);
		if (send_all(c, line, n + 2, fd, deadline, err) < 0)
			return qr_err_prefix(err, "sending '%s'", command);
	}

	for (;;) {
		json_t *msg = NULL, *rid, *ret, *error;

		if (read_message(c, deadline, &msg, err) < 0) {
			if (err && err->kind == QR_ERR_TIMEOUT)
				return qr_err_set(err, QR_ERR_TIMEOUT,
				                  "%s: no reply to '%s' within %d ms", c->label,
				                  command,
				                  timeout_ms > 0 ? timeout_ms : c->timeout_ms);
			return qr_err_prefix(err, "waiting for the reply to '%s'", command);
		}
		if (json_object_get(msg, "event")) {
			if (queue_event(c, msg, err) < 0)
				return -1;
			continue;
		}
		rid = json_object_get(msg, "id");
		ret = json_object_get(msg, "return");
		error = json_object_get(msg, "error");
		if (!ret && !error) {
			json_decref(msg);
			return qr_err_set(err, QR_ERR_PROTOCOL,
			                  "%s: message is neither event, return nor error",
			                  c->label);
		}
		if (rid && !(json_is_string(rid) && !strcmp(json_string_value(rid), id))) {
			log_debug("%s: dropping late reply with id %s", c->label,
			          json_is_string(rid) ? json_string_value(rid) : "(not a string)");
			json_decref(msg);
			continue;
		}
		if (!rid && ret) {
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
			*result = json_incref(ret);
		json_decref(msg);
		return 0;
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
	json_error_t jerr;
	va_list ap;
	int r;

	if (fmt) {
		va_start(ap, fmt);
		args = json_vpack_ex(&jerr, 0, fmt, ap);
		va_end(ap);
		if (!args)
			return qr_err_set(err, QR_ERR_INVALID, "building arguments for '%s': %s",
			                  command, jerr.text);
	}
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

	for (i = 0; i < c->n_events; i++) {
		json_t *ev = c->events[i];

		if (!event_matches(ev, name, match, opaque))
			continue;
		memmove(c->events + i, c->events + i + 1,
		        /* NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers */
		        (c->n_events - i - 1) * sizeof(*c->events));
		c->n_events--;
		return ev;
	}
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
 * Queued events are looked at first. Non-matching events that arrive while
 * waiting stay queued for later callers. A reply that arrives here belongs to
 * a command that timed out earlier and is dropped.
 *
 * Return: 0 if the event came, -1 on timeout (QR_ERR_TIMEOUT) or failure
 */
int qmp_wait_event(struct qmp_client *c, const char *name, qmp_event_match_fn match, void *opaque,
                   int timeout_ms, json_t **event, struct qr_error *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	json_t *ev;

	for (;;) {
		json_t *msg = NULL;

		ev = qmp_take_event(c, name, match, opaque);
		if (ev)
			break;
		if (read_message(c, deadline, &msg, err) < 0) {
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
		if (queue_event(c, msg, err) < 0)
			return -1;
	}
	if (event)
		*event = ev;
	else
		json_decref(ev);
	return 0;
}

struct device_match {
	const char *id;
};

/*
 * DEVICE_DELETED comes twice for virtio devices: first for the virtio backend
 * child (only "path", ending in /virtio-backend), then for the device itself
 * with "device" set. Match on data.device only.
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
 * Used by event loops (the daemon) that watch the socket themselves.
 *
 * Return: number of events queued by this call, -1 on failure (a timeout is
 *	   not a failure here)
 */
int qmp_poll_events(struct qmp_client *c, int timeout_ms, struct qr_error *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	int n = 0;

	for (;;) {
		json_t *msg = NULL;
		struct qr_error e2;

		if (read_message(c, n ? now_ms() : deadline, &msg, &e2) < 0) {
			if (e2.kind == QR_ERR_TIMEOUT)
				return n;
			if (err)
				*err = e2;
			return -1;
		}
		if (!json_object_get(msg, "event")) {
			json_decref(msg);
			continue;
		}
		if (queue_event(c, msg, err) < 0)
			return -1;
		n++;
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
 * qmp_dropped_events() - events lost because the queue was full
 * @c:	client
 *
 * Return: count since connect
 */
unsigned long qmp_dropped_events(const struct qmp_client *c)
{
	return c->dropped_events;
}
