// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/fakeqmp/fakeqmp.c: run a fake QMP peer's script in a child
 *
 * The parent keeps one end of a socketpair for the client under test and a
 * pipe on which the child reports its verdict: nothing if the whole script
 * ran as written, else one line saying which step went wrong and how. The
 * pipe doubles as the exit notification (EOF when the child is gone), so
 * fakeqmp_finish() can wait for the child with poll() and a bound, and kill
 * it by pid if it is stuck, rather than trusting a script to always end.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "qremap/util.h"
#include "fakeqmp.h"

#define PEER_MAX_FDS  8          /* descriptors held between recvmsg() and a step */
#define PEER_MAX_LINE (1u << 20) /* a command longer than this is a client bug */
#define PEER_WHY_MAX  512
#define HUNG_UP       1 /* peer_send() result: the client closed */

#define PEER_MAX_KEEP 16 /* descriptors a holding peer keeps from its parent */

/**
 * struct fakeqmp - parent's handle on a running fake peer
 * @pid:	the child running the script
 * @status_fd:	read end of the verdict pipe; EOF once the child exited
 * @release_fd:	write end of the pipe a holding peer waits on after its
 *		script (closing it lets the peer go), -1 if it doesn't hold
 */
struct fakeqmp {
	pid_t pid;
	int status_fd;
	int release_fd;
};

/**
 * struct peer - the child's side of the conversation
 * @fd:		socket to the client, -1 after FQK_CLOSE
 * @in:		bytes received that do not yet form a complete line
 * @in_len:	valid bytes in @in
 * @in_cap:	allocated size of @in
 * @fds:	descriptors received and not yet claimed by an FQK_EXPECT
 * @n_fds:	their number
 * @n_cmds:	commands received so far
 * @last_id:	"id" of the last command (NULL if it had none)
 * @prev_id:	"id" of the command before it
 * @usec:	fake clock for event timestamps
 * @trace:	print traffic on stderr (FAKEQMP_TRACE set)
 * @dying:	an FQK_EXIT ran: exit now, holding nothing
 * @why:	first mismatch, empty while all is well
 */
struct peer {
	int fd;
	char *in;
	size_t in_len;
	size_t in_cap;
	int fds[PEER_MAX_FDS];
	size_t n_fds;
	size_t n_cmds;
	json_t *last_id;
	json_t *prev_id;
	unsigned long long usec;
	bool trace;
	bool dying;
	char why[PEER_WHY_MAX];
};

static int fail(struct peer *p, const char *fmt, ...) _printf_(2, 3);

/**
 * fail() - record the first mismatch; later ones are consequences of it
 * @p:		peer
 * @fmt:	printf-style description
 *
 * Return: -1
 */
static int fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->why[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * sleep_ms() - pause the child; only ever used to shape the byte stream,
 *		never to wait for the client
 * @ms:	milliseconds
 */
static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/**
 * trace() - show one message on stderr when FAKEQMP_TRACE is set
 * @p:		peer
 * @dir:	"->" for sent, "<-" for received
 * @s:		bytes
 * @len:	their length; long ones are cut, a 64 MiB string helps no one
 */
static void trace(struct peer *p, const char *dir, const char *s, size_t len)
{
	int shown = len > 300 ? 300 : (int)len;

	if (p->trace)
		fprintf(stderr, "fakeqmp %s %.*s%s\n", dir, shown, s, len > 300 ? "..." : "");
}

/* Receiving */

/**
 * peer_recv() - wait for bytes from the client and append them to @p->in
 * @p:		peer
 * @deadline:	CLOCK_MONOTONIC ms
 * @what:	what is awaited, for the timeout message
 *
 * Descriptors that arrive as SCM_RIGHTS are kept in @p->fds for the
 * FQK_EXPECT step that reads the command they came with.
 *
 * Return: bytes read, 0 if the client closed, -1 on timeout or error
 */
static ssize_t peer_recv(struct peer *p, int64_t deadline, const char *what)
{
	char cbuf[CMSG_SPACE(PEER_MAX_FDS * sizeof(int))];
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	struct msghdr mh = {0};
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	if (p->in_cap - p->in_len < 4096) {
		char *nb = realloc(p->in, p->in_cap * 2);

		if (!nb)
			return fail(p, "out of memory");
		p->in = nb;
		p->in_cap *= 2;
	}
	do
		r = poll(&pfd, 1, deadline_remaining_ms(deadline));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail(p, "poll(): %s", strerror(errno));
	if (r == 0)
		return fail(p, "no %s from the client within %d ms", what, FQ_STEP_TIMEOUT_MS);

	iov.iov_base = p->in + p->in_len;
	iov.iov_len = p->in_cap - p->in_len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* The client closing with our bytes unread is still a close */
		if (errno == ECONNRESET)
			return 0;
		return fail(p, "recvmsg(): %s", strerror(errno));
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t i, k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (p->n_fds == PEER_MAX_FDS) {
				close(fd);
				return fail(p, "more than %d descriptors pending", PEER_MAX_FDS);
			}
			p->fds[p->n_fds++] = fd;
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		return fail(p, "descriptors were truncated (too many in one message)");
	p->in_len += (size_t)n;
	return n;
}

/**
 * peer_read_line() - read one command from the client
 * @p:		peer
 * @what:	what is awaited, for the timeout message
 * @line:	the command without its line end (malloc'd)
 *
 * The client ends every command with CRLF and jansson's compact output
 * escapes newlines inside strings, so a newline is an exact frame end here;
 * not using json_frame.c keeps the code under test off this side.
 *
 * Return: 1 with *@line set, 0 if the client closed first, -1 on failure
 */
static int peer_read_line(struct peer *p, const char *what, char **line)
{
	int64_t deadline = now_ms() + FQ_STEP_TIMEOUT_MS;

	for (;;) {
		char *nl = memchr(p->in, '\n', p->in_len);
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - p->in);
			char *s = malloc(n + 1);

			if (!s)
				return fail(p, "out of memory");
			memcpy(s, p->in, n);
			s[n] = '\0';
			if (n && s[n - 1] == '\r')
				s[n - 1] = '\0';
			memmove(p->in, nl + 1, p->in_len - n - 1);
			p->in_len -= n + 1;
			trace(p, "<-", s, strlen(s));
			*line = s;
			return 1;
		}
		if (p->in_len > PEER_MAX_LINE)
			return fail(p, "client sent %zu bytes without a line end", p->in_len);
		r = peer_recv(p, deadline, what);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (p->in_len)
				return fail(p, "client closed after an unterminated command: %.*s",
				            (int)(p->in_len > 200 ? 200 : p->in_len), p->in);
			return 0;
		}
	}
}

/**
 * read_through_fd() - check that a received descriptor yields a string
 * @p:		peer
 * @fd:		descriptor that came with a command
 * @want:	expected bytes
 *
 * Return: 0 if it does, -1 (with a reason) if not
 */
static int read_through_fd(struct peer *p, int fd, const char *want)
{
	int64_t deadline = now_ms() + FQ_STEP_TIMEOUT_MS;
	size_t len = strlen(want), got = 0;
	_cleanup_free_ char *buf = malloc(len + 1);
	struct stat st;

	if (!buf)
		return fail(p, "out of memory");
	if (fstat(fd, &st) < 0)
		return fail(p, "received descriptor is unusable: %s", strerror(errno));
	while (got < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, deadline_remaining_ms(deadline)) <= 0)
			return fail(p, "nothing to read through the received descriptor");
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(p, "reading the received descriptor (mode 0%o): %s",
			            (unsigned)st.st_mode, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (got != len || memcmp(buf, want, len))
		return fail(p, "received descriptor yields \"%s\", expected \"%s\"", buf, want);
	return 0;
}

/* Sending */

/**
 * only_space() - whether bytes are all JSON whitespace
 * @buf:	bytes
 * @len:	their number
 *
 * Return: true if @buf holds only spaces, tabs, CR and LF
 */
static bool only_space(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", buf[i]))
			return false;
	return true;
}

/**
 * peer_send() - write bytes, in chunks if the step asks for split reads
 * @p:		peer
 * @buf:	bytes
 * @len:	their number
 * @s:		step, for @chunk, @delay_ms and @hangup_ok
 *
 * Return: 0 when all was written, HUNG_UP if the client closed and the step
 *	   allows it, -1 on failure
 */
static int peer_send(struct peer *p, const char *buf, size_t len, const struct fq_step *s)
{
	size_t chunk = s->chunk ? s->chunk : len;
	size_t off = 0;

	while (off < len) {
		size_t end = off + (chunk < len - off ? chunk : len - off);

		if (off && s->delay_ms)
			sleep_ms(s->delay_ms);
		while (off < end) {
			ssize_t n = send(p->fd, buf + off, end - off, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				/* A client may close as soon as an object's
				 * closing brace arrives: the CRLF QEMU puts
				 * after it is not part of the message.
				 */
				if (s->hangup_ok || only_space(buf + off, len - off))
					return HUNG_UP;
				return fail(p, "client closed while we were writing");
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return fail(p, "client stopped reading (send blocked for %d ms)",
				            FQ_STEP_TIMEOUT_MS);
			if (n < 0)
				return fail(p, "send(): %s", strerror(errno));
			off += (size_t)n;
		}
	}
	return 0;
}

/**
 * send_json() - write one message as QEMU does: compact JSON and CRLF
 * @p:		peer
 * @msg:	message; the reference is consumed
 * @s:		step, for chunking
 *
 * Return: as peer_send()
 */
static int send_json(struct peer *p, json_t *msg, const struct fq_step *s)
{
	_cleanup_free_ char *text = NULL, *line = NULL;
	size_t n;

	if (!msg)
		return fail(p, "cannot build the message (bad JSON in the script?)");
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return fail(p, "cannot encode the message");
	n = strlen(text);
	line = malloc(n + 3);
	if (!line)
		return fail(p, "out of memory");
	memcpy(line, text, n);
	memcpy(line + n, "\r\n", 3);
	trace(p, "->", text, n);
	return peer_send(p, line, n + 2, s);
}

/**
 * subst_id() - replace each "@ID@" in a script's raw bytes by the last id
 * @p:	peer
 * @s:	raw text
 *
 * Return: new string (malloc'd), NULL if out of memory
 */
static char *subst_id(struct peer *p, const char *s)
{
	static const char mark[] = "@ID@";
	_cleanup_free_ char *id = NULL;
	size_t hits = 0, idlen, mlen = sizeof(mark) - 1;
	const char *q;
	char *out, *o;

	id = p->last_id ? json_dumps(p->last_id, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("null");
	if (!id)
		return NULL;
	idlen = strlen(id);
	for (q = strstr(s, mark); q; q = strstr(q + mlen, mark))
		hits++;
	out = malloc(strlen(s) + hits * idlen + 1);
	if (!out)
		return NULL;
	for (o = out; (q = strstr(s, mark)); s = q + mlen) {
		memcpy(o, s, (size_t)(q - s));
		o += q - s;
		memcpy(o, id, idlen);
		o += idlen;
	}
	strcpy(o, s);
	return out;
}

/**
 * send_raw() - write a script's raw bytes after id substitution
 * @p:	peer
 * @s:	step; @text is the bytes
 *
 * Return: as peer_send()
 */
static int send_raw(struct peer *p, const struct fq_step *s)
{
	_cleanup_free_ char *text = subst_id(p, s->text ? s->text : "");

	if (!text)
		return fail(p, "out of memory");
	trace(p, "->", text, strlen(text));
	return peer_send(p, text, strlen(text), s);
}

/* Steps */

/**
 * hold_fd() - keep a received descriptor under a given number, as QEMU's
 *	       getfd keeps the one that came with it
 * @p:		peer
 * @fd:		the received descriptor (consumed)
 * @as:		number to keep it as; must not be open yet
 *
 * Return: 0, or -1 if @as is taken or the dup fails
 */
static int hold_fd(struct peer *p, int fd, int as)
{
	int r = 0;

	if (fd == as)
		return 0;
	if (as <= STDERR_FILENO || fcntl(as, F_GETFD) >= 0)
		r = fail(p, "cannot keep the received descriptor as %d: already in use", as);
	else if (dup2(fd, as) < 0)
		r = fail(p, "dup2(%d, %d): %s", fd, as, strerror(errno));
	close(fd);
	return r;
}

/**
 * step_close_fd() - close one of the peer's descriptors (FQK_CLOSE_FD)
 * @p:	peer
 * @s:	step; @peer_fd is the descriptor
 *
 * Return: 0, or -1 if it was not open (the script and the peer disagree on
 *	   what "QEMU" holds) or is the connection itself
 */
static int step_close_fd(struct peer *p, const struct fq_step *s)
{
	if (s->peer_fd <= STDERR_FILENO || s->peer_fd == p->fd)
		return fail(p, "refusing to close descriptor %d", s->peer_fd);
	if (close(s->peer_fd) < 0)
		return fail(p, "closing descriptor %d: %s", s->peer_fd, strerror(errno));
	return 0;
}

/**
 * step_expect() - read one command and hold it against the script
 * @p:	peer
 * @s:	FQK_EXPECT step
 *
 * Return: 0 if it matches, -1 if not
 */
static int step_expect(struct peer *p, const struct fq_step *s)
{
	_cleanup_free_ char *line = NULL;
	bool need_fd = s->want_fd || s->fd_text;
	json_t *cmd, *args, *want, *val;
	const char *exec, *key;
	json_error_t je;
	int r;

	r = peer_read_line(p, "command", &line);
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(p, "client closed instead of sending '%s'", s->name);
	cmd = json_loads(line, 0, &je);
	if (!json_is_object(cmd)) {
		json_decref(cmd);
		return fail(p, "client sent something that is not a JSON object: %s", line);
	}
	p->n_cmds++;
	json_decref(p->prev_id);
	p->prev_id = p->last_id;
	p->last_id = json_incref(json_object_get(cmd, "id"));

	exec = json_string_value(json_object_get(cmd, "execute"));
	if (!exec || strcmp(exec, s->name)) {
		json_decref(cmd);
		return fail(p, "expected command '%s', client sent %s", s->name, line);
	}
	if (s->args) {
		want = json_loads(s->args, 0, &je);
		if (!json_is_object(want)) {
			json_decref(want);
			json_decref(cmd);
			return fail(p, "script's arguments are not a JSON object: %s", s->args);
		}
		args = json_object_get(cmd, "arguments");
		json_object_foreach(want, key, val)
		{
			json_t *got = json_object_get(args, key);

			if (!got || !json_equal(got, val)) {
				fail(p, "argument '%s' wrong or missing: client sent %s", key,
				     line);
				break;
			}
		}
		json_decref(want);
		if (p->why[0]) {
			json_decref(cmd);
			return -1;
		}
	}
	json_decref(cmd);

	if (!need_fd && p->n_fds)
		return fail(p, "a descriptor came with '%s', none expected", s->name);
	if (need_fd) {
		int fd;

		if (!p->n_fds)
			return fail(p, "no descriptor came with '%s'", s->name);
		fd = p->fds[0];
		memmove(p->fds, p->fds + 1, (p->n_fds - 1) * sizeof(*p->fds));
		p->n_fds--;
		r = s->fd_text ? read_through_fd(p, fd, s->fd_text) : 0;
		if (!r && s->peer_fd > 0)
			return hold_fd(p, fd, s->peer_fd);
		close(fd);
		if (r < 0)
			return -1;
	}
	return 0;
}

/**
 * step_reply() - answer the last command (FQK_RETURN, FQK_ERROR)
 * @p:	peer
 * @s:	step
 *
 * Return: as peer_send()
 */
static int step_reply(struct peer *p, const struct fq_step *s)
{
	json_t *msg = json_object(), *id = NULL;
	json_error_t je;

	if (s->kind == FQK_RETURN)
		json_object_set_new(msg, "return",
		                    json_loads(s->value ? s->value : "{}", JSON_DECODE_ANY, &je));
	else
		json_object_set_new(msg, "error",
		                    json_pack("{s:s, s:s}", "class",
		                              str_or(s->name, "GenericError"), "desc",
		                              str_or(s->text, "")));
	if (!json_object_get(msg, s->kind == FQK_RETURN ? "return" : "error")) {
		json_decref(msg);
		return fail(p, "bad reply in the script: %s", str_or(s->value, "(null)"));
	}
	switch (s->id) {
	case FQ_ID_ECHO:
	case FQ_ID_PREV:
		if (p->n_cmds < (s->id == FQ_ID_ECHO ? 1u : 2u)) {
			json_decref(msg);
			return fail(p, "script replies to a command that never came");
		}
		/* A command without id gets a reply without id, as from QEMU */
		id = json_incref(s->id == FQ_ID_ECHO ? p->last_id : p->prev_id);
		break;
	case FQ_ID_NONE:
		break;
	case FQ_ID_OTHER:
		id = json_loads(str_or(s->id_json, ""), JSON_DECODE_ANY, &je);
		if (!id) {
			json_decref(msg);
			return fail(p, "bad id_json in the script: %s",
			            str_or(s->id_json, "(null)"));
		}
		break;
	}
	if (id)
		json_object_set_new(msg, "id", id);
	return send_json(p, msg, s);
}

/**
 * step_event() - send one event, or @count numbered ones
 * @p:	peer
 * @s:	FQK_EVENT step (also used by FQK_FLOOD with count 0)
 *
 * Return: as peer_send()
 */
static int step_event(struct peer *p, const struct fq_step *s)
{
	size_t i, n = s->count ? s->count : 1;
	json_error_t je;

	for (i = 0; i < n; i++) {
		json_t *ev, *data = NULL;
		int r;

		p->usec += 1234;
		ev = json_pack("{s:s, s:{s:I, s:I}}", "event", s->name, "timestamp", "seconds",
		               (json_int_t)(1700000000 + p->usec / 1000000), "microseconds",
		               (json_int_t)(p->usec % 1000000));
		if (s->value) {
			data = json_loads(s->value, JSON_DECODE_ANY, &je);
			if (!data) {
				json_decref(ev);
				return fail(p, "bad event data in the script: %s", s->value);
			}
		}
		if (n > 1) {
			if (!data)
				data = json_object();
			if (json_object_set_new(data, "seq", json_integer((json_int_t)i)) < 0) {
				json_decref(data);
				json_decref(ev);
				return fail(p, "numbered events need object data");
			}
		}
		if (data)
			json_object_set_new(ev, "data", data);
		r = send_json(p, ev, s);
		if (r)
			return r;
	}
	return 0;
}

/**
 * step_send_huge() - stream an oversized message without holding it
 * @p:	peer
 * @s:	FQK_SEND_HUGE step
 *
 * Return: as peer_send()
 */
static int step_send_huge(struct peer *p, const struct fq_step *s)
{
	static char filler[64 * 1024];
	_cleanup_free_ char *head = subst_id(p, str_or(s->text, ""));
	_cleanup_free_ char *tail = subst_id(p, str_or(s->tail, ""));
	struct fq_step whole = *s;
	size_t left = s->count;
	int r;

	if (!head || !tail)
		return fail(p, "out of memory");
	whole.chunk = 0;
	memset(filler, 'x', sizeof(filler));
	trace(p, "->", head, strlen(head));
	r = peer_send(p, head, strlen(head), &whole);
	while (!r && left) {
		size_t n = left < sizeof(filler) ? left : sizeof(filler);

		r = peer_send(p, filler, n, &whole);
		left -= n;
	}
	if (!r)
		r = peer_send(p, tail, strlen(tail), &whole);
	return r;
}

/**
 * flood_batched() - send one event's text, @count copies per write, for a
 *		     while: faster than any client parses
 * @p:	peer
 * @s:	FQK_FLOOD step with @count set
 *
 * Return: as peer_send()
 */
static int flood_batched(struct peer *p, const struct fq_step *s)
{
	int64_t end = now_ms() + s->delay_ms;
	_cleanup_free_ char *text = NULL, *batch = NULL;
	struct fq_step whole = *s;
	json_error_t je;
	json_t *ev, *data = NULL;
	size_t n, i;
	int r = 0;

	if (s->value && !(data = json_loads(s->value, JSON_DECODE_ANY, &je)))
		return fail(p, "bad event data in the script: %s", s->value);
	ev = json_pack("{s:s, s:{s:I, s:I}}", "event", s->name, "timestamp", "seconds",
	               (json_int_t)1700000000, "microseconds", (json_int_t)0);
	if (ev && data)
		json_object_set_new(ev, "data", data);
	else
		json_decref(data);
	text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!text)
		return fail(p, "cannot build the flood's event");
	n = strlen(text);
	batch = malloc(s->count * (n + 2));
	if (!batch)
		return fail(p, "out of memory");
	for (i = 0; i < s->count; i++) {
		memcpy(batch + i * (n + 2), text, n);
		memcpy(batch + i * (n + 2) + n, "\r\n", 2);
	}
	whole.chunk = 0;
	whole.delay_ms = 0;
	while (!r && now_ms() < end)
		r = peer_send(p, batch, s->count * (n + 2), &whole);
	return r;
}

/**
 * step_flood() - send events back to back for a while
 * @p:	peer
 * @s:	FQK_FLOOD step
 *
 * Return: as peer_send()
 */
static int step_flood(struct peer *p, const struct fq_step *s)
{
	int64_t end = now_ms() + s->delay_ms;
	struct fq_step one = *s;
	bool was_tracing = p->trace;
	int r = 0;

	if (s->count)
		return flood_batched(p, s);
	one.count = 1;
	one.chunk = 0;
	one.delay_ms = 0;
	p->trace = false;
	while (!r && now_ms() < end)
		r = step_event(p, &one);
	p->trace = was_tracing;
	return r;
}

/**
 * step_expect_eof() - the client must close and send nothing more
 * @p:	peer
 *
 * Return: 0 if it closed, -1 if it sent something or stayed open
 */
static int step_expect_eof(struct peer *p)
{
	_cleanup_free_ char *line = NULL;
	int r = peer_read_line(p, "close", &line);

	if (r > 0)
		return fail(p, "expected the client to close, it sent %s", line);
	if (!r && p->n_fds)
		return fail(p, "client passed a descriptor nobody asked for");
	return r;
}

/**
 * run_step() - carry out one step
 * @p:	peer
 * @s:	step
 *
 * Return: 0 or HUNG_UP to go on, -1 on a mismatch
 */
static int run_step(struct peer *p, const struct fq_step *s)
{
	switch (s->kind) {
	case FQK_SEND:
		return send_raw(p, s);
	case FQK_GREETING:
		return send_json(p,
		                 json_pack("{s:{s:{s:{s:i, s:i, s:i}, s:s}, s:[s]}}", "QMP",
		                           "version", "qemu", "micro", s->micro, "minor", s->minor,
		                           "major", s->major, "package", str_or(s->text, ""),
		                           "capabilities", "oob"),
		                 s);
	case FQK_EXPECT:
		return step_expect(p, s);
	case FQK_RETURN:
	case FQK_ERROR:
		return step_reply(p, s);
	case FQK_EVENT:
		return step_event(p, s);
	case FQK_DELAY:
		sleep_ms(s->delay_ms);
		return 0;
	case FQK_CLOSE: {
		int r = s->text ? send_raw(p, s) : 0;

		close(p->fd);
		p->fd = -1;
		return r;
	}
	case FQK_EXPECT_EOF:
		return step_expect_eof(p);
	case FQK_SEND_HUGE:
		return step_send_huge(p, s);
	case FQK_FLOOD:
		return step_flood(p, s);
	case FQK_CLOSE_FD:
		return step_close_fd(p, s);
	case FQK_EXIT:
		p->dying = true;
		return 0;
	}
	return fail(p, "unknown step kind %d", (int)s->kind);
}

/**
 * step_name() - short description of a step for the verdict
 * @s:	step
 *
 * Return: static string
 */
static const char *step_name(const struct fq_step *s)
{
	static const char *const names[] = {
	        [FQK_SEND] = "send",
	        [FQK_GREETING] = "greeting",
	        [FQK_EXPECT] = "expect",
	        [FQK_RETURN] = "return",
	        [FQK_ERROR] = "error",
	        [FQK_EVENT] = "event",
	        [FQK_DELAY] = "delay",
	        [FQK_CLOSE] = "close",
	        [FQK_EXPECT_EOF] = "expect-eof",
	        [FQK_SEND_HUGE] = "send-huge",
	        [FQK_FLOOD] = "flood",
	        [FQK_CLOSE_FD] = "close-fd",
	        [FQK_EXIT] = "exit",
	};

	if ((size_t)s->kind < ARRAY_SIZE(names) && names[s->kind])
		return names[s->kind];
	return "?";
}

/**
 * run_script() - play the whole script in the child
 * @p:		peer
 * @script:	steps
 * @n:		their number
 *
 * Return: 0 if every step went as written, -1 with @p->why set otherwise
 */
static int run_script(struct peer *p, const struct fq_step *script, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct fq_step *s = &script[i];
		char first[PEER_WHY_MAX];
		int r;

		if (p->fd < 0)
			return fail(p, "step %zu (%s) comes after the connection was closed", i,
			            step_name(s));
		r = run_step(p, s);
		if (p->dying && i + 1 < n)
			return fail(p, "step %zu (exit) is not the last one", i);
		if (r == HUNG_UP) {
			/* The client gave up as the step allowed, or after the
			 * last object it needed: nothing after this can be
			 * said to it, so only an expected EOF may follow.
			 */
			if (!s->hangup_ok && i + 1 < n && script[i + 1].kind != FQK_EXPECT_EOF)
				return fail(p, "step %zu (%s): client closed with steps to go", i,
				            step_name(s));
			return 0;
		}
		if (r < 0) {
			char where[128];
			size_t wl;

			/* "step 3 (expect query-status): what went wrong" */
			memcpy(first, p->why, sizeof(first));
			snprintf(where, sizeof(where), "step %zu (%s%s%s): ", i, step_name(s),
			         s->name ? " " : "", str_or(s->name, ""));
			wl = strlen(where);
			memcpy(p->why, where, wl);
			str_copy(p->why + wl, sizeof(p->why) - wl, first);
			return -1;
		}
	}
	return 0;
}

/**
 * hold_on() - after the script, keep what the peer holds until released
 * @release_fd:	read end of the release pipe: EOF when fakeqmp_finish()
 *		closes the write end, or when the parent dies
 *
 * Bounded by FQ_HOLD_TIMEOUT_MS all the same, so no peer can outlive a test
 * that lost track of it.
 */
static void hold_on(int release_fd)
{
	int64_t deadline = now_ms() + FQ_HOLD_TIMEOUT_MS;
	struct pollfd pfd = {.fd = release_fd, .events = POLLIN};
	int r;

	do
		r = poll(&pfd, 1, deadline_remaining_ms(deadline));
	while (r < 0 && errno == EINTR);
}

/**
 * child_main() - body of the forked peer
 * @sock:	its end of the socketpair
 * @status_fd:	write end of the verdict pipe
 * @release_fd:	read end of the release pipe of a holding peer, or -1
 * @script:	steps
 * @n:		their number
 *
 * Ends with _exit(): the child must not run the parent's atexit handlers,
 * flush its stdio buffers twice, or have LeakSanitizer judge memory that
 * belongs to the test program. A holding peer first waits to be released,
 * verdict written or not, so that the parent sees what it holds in either
 * case.
 */
static void child_main(int sock, int status_fd, int release_fd, const struct fq_step *script,
                       size_t n)
{
	struct timeval tv = {.tv_sec = FQ_STEP_TIMEOUT_MS / 1000,
	                     .tv_usec = (FQ_STEP_TIMEOUT_MS % 1000) * 1000};
	struct peer p = {.fd = sock, .in_cap = 4096};
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* A client that stops reading must fail the step, not block us */
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	p.trace = getenv("FAKEQMP_TRACE") != NULL;
	p.in = malloc(p.in_cap);
	r = p.in ? run_script(&p, script, n) : fail(&p, "out of memory");
	if (r < 0) {
		ssize_t w = write(status_fd, p.why, strlen(p.why));

		(void)w;
	}
	if (release_fd >= 0 && !p.dying)
		hold_on(release_fd);
	_exit(r < 0 ? 1 : 0);
}

/**
 * close_all_but() - in the child, close every descriptor above stderr except
 *		     the ones listed
 * @keep:	descriptors to keep, in any order (sorted here)
 * @n:		their number
 */
static void close_all_but(int *keep, size_t n)
{
	unsigned from = 3;

	/* insertion sort: a handful of numbers */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

/**
 * fakeqmp_start() - fork a fake QMP peer that plays @script
 * @script:	steps; must stay valid until fakeqmp_start() returns (the
 *		child has its own copy of the memory after that)
 * @n:		number of steps
 * @client_fd:	the client's end of the connection, for qmp_adopt_fd()
 *
 * The child closes every descriptor but its own two, so that a connection
 * the test still holds to an earlier peer cannot be kept open by this one.
 *
 * Return: handle for fakeqmp_finish(), NULL on failure (reason on stderr)
 */
struct fakeqmp *fakeqmp_start(const struct fq_step *script, size_t n, int *client_fd)
{
	return fakeqmp_start_holding(script, n, client_fd, NULL, 0);
}

/**
 * fakeqmp_start_holding() - fork a fake peer that also plays QEMU's process,
 *			     holding some of the caller's descriptors
 * @script:	steps, as for fakeqmp_start()
 * @n:		number of steps
 * @client_fd:	the client's end of the connection, for qmp_adopt_fd()
 * @keep:	descriptors the child keeps, under the same numbers (a tap's
 *		queues, say); all others are closed in the child as for
 *		fakeqmp_start(). The caller may close its own copies at once.
 * @n_keep:	their number, at most 16; 0 makes this fakeqmp_start()
 *
 * With @n_keep > 0 the child stays alive after its script, holding what it
 * holds then, until fakeqmp_finish() (bounded by FQ_HOLD_TIMEOUT_MS): QEMU
 * does not close its taps when a monitor connection ends, and a test wants
 * to look at them after the client is done. A script ending in FQK_EXIT
 * has it exit at once instead.
 *
 * Return: handle for fakeqmp_finish(), NULL on failure (reason on stderr)
 */
struct fakeqmp *fakeqmp_start_holding(const struct fq_step *script, size_t n, int *client_fd,
                                      const int *keep, size_t n_keep)
{
	int sv[2], st[2], rel[2] = {-1, -1};
	int mine[PEER_MAX_KEEP + 3];
	struct fakeqmp *f;
	pid_t pid;

	if (n_keep > PEER_MAX_KEEP) {
		fprintf(stderr, "fakeqmp: at most %d descriptors to keep\n", PEER_MAX_KEEP);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("fakeqmp: socketpair");
		free(f);
		return NULL;
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		perror("fakeqmp: pipe2");
		close(sv[0]);
		close(sv[1]);
		free(f);
		return NULL;
	}
	if (n_keep && pipe2(rel, O_CLOEXEC) < 0) {
		perror("fakeqmp: pipe2");
		close(sv[0]);
		close(sv[1]);
		close(st[0]);
		close(st[1]);
		free(f);
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fakeqmp: fork");
		close(sv[0]);
		close(sv[1]);
		close(st[0]);
		close(st[1]);
		if (rel[0] >= 0) {
			close(rel[0]);
			close(rel[1]);
		}
		free(f);
		return NULL;
	}
	if (pid == 0) {
		mine[0] = sv[1];
		mine[1] = st[1];
		mine[2] = rel[0];
		for (size_t i = 0; i < n_keep; i++)
			mine[3 + i] = keep[i];
		close_all_but(mine, 3 + n_keep);
		child_main(sv[1], st[1], rel[0], script, n);
	}
	close(sv[1]);
	close(st[1]);
	if (rel[0] >= 0)
		close(rel[0]);
	f->pid = pid;
	f->status_fd = st[0];
	f->release_fd = rel[1];
	*client_fd = sv[0];
	return f;
}

/**
 * fakeqmp_pid() - the pid of the child playing the peer
 * @f:	handle from fakeqmp_start()
 *
 * For tests where the peer stands in for QEMU's process too: the remap's
 * host steps copy its descriptors with pidfd_getfd() and read its /proc.
 *
 * Return: the pid
 */
pid_t fakeqmp_pid(const struct fakeqmp *f)
{
	return f->pid;
}

/**
 * fakeqmp_finish() - wait for the peer and collect its verdict
 * @f:		handle from fakeqmp_start(); freed
 * @why:	first mismatch, or empty if there was none
 * @len:	size of @why
 *
 * Releases a holding peer first (see fakeqmp_start_holding()). Waits at
 * most FQ_FINISH_TIMEOUT_MS, then kills the child (by the pid it started,
 * nothing else). The client should normally be closed first, so a
 * script ending in FQ_EXPECT_EOF can finish.
 *
 * Return: 0 if the whole script ran and every expectation matched, -1 if not
 */
int fakeqmp_finish(struct fakeqmp *f, char *why, size_t len)
{
	int64_t deadline = now_ms() + FQ_FINISH_TIMEOUT_MS;
	char msg[PEER_WHY_MAX + 1];
	bool timed_out = false;
	size_t got = 0;
	int status = 0;

	/* a holding peer waits for this before it exits */
	if (f->release_fd >= 0)
		close(f->release_fd);
	for (;;) {
		struct pollfd pfd = {.fd = f->status_fd, .events = POLLIN};
		ssize_t n;
		int r = poll(&pfd, 1, deadline_remaining_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = true;
			break;
		}
		/* The child writes at most PEER_WHY_MAX bytes, then exits */
		n = read(f->status_fd, msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || got + (size_t)n == sizeof(msg) - 1) {
			got += n > 0 ? (size_t)n : 0;
			break;
		}
		got += (size_t)n;
	}
	msg[got] = '\0';
	if (timed_out)
		kill(f->pid, SIGKILL);
	while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(f->status_fd);
	free(f);

	if (timed_out)
		snprintf(why, len,
		         "fake peer still running after %d ms (waiting for the client?), "
		         "killed%s%s",
		         FQ_FINISH_TIMEOUT_MS, got ? ": " : "", msg);
	else if (got)
		snprintf(why, len, "%s", msg);
	else if (WIFSIGNALED(status))
		snprintf(why, len, "fake peer killed by signal %d", WTERMSIG(status));
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		snprintf(why, len, "fake peer exited with status %d", WEXITSTATUS(status));
	else {
		if (len)
			why[0] = '\0';
		return 0;
	}
	return -1;
}

/**
 * fq_script_push() - append one step to a script built at run time
 * @sc:	script
 * @st:	step (its strings must outlive the script)
 *
 * A script longer than FQ_SCRIPT_MAX is a bug in the test: abort, loudly.
 */
void fq_script_push(struct fq_script *sc, struct fq_step st)
{
	if (sc->n == FQ_SCRIPT_MAX) {
		fprintf(stderr, "fakeqmp: test script longer than %d steps\n", FQ_SCRIPT_MAX);
		abort();
	}
	sc->s[sc->n++] = st;
}

/**
 * fq_script_push_list() - append a zero-terminated list of steps
 * @sc:		script
 * @list:	steps; a zeroed entry (FQK_SEND without text, which no real
 *		step is) ends the list
 * @max:	the list has at most this many entries
 */
void fq_script_push_list(struct fq_script *sc, const struct fq_step *list, size_t max)
{
	for (size_t i = 0; i < max && (list[i].kind != FQK_SEND || list[i].text); i++)
		fq_script_push(sc, list[i]);
}

/**
 * fq_script_start() - empty a script and begin it with the QMP handshake
 * @sc:	script
 */
void fq_script_start(struct fq_script *sc)
{
	static const struct fq_step hs[] = {FQ_HANDSHAKE};

	sc->n = 0;
	fq_script_push_list(sc, hs, sizeof(hs) / sizeof(hs[0]));
}

/**
 * fq_script_end() - append "quit" if the client must send it, then EOF
 * @sc:		script
 * @quit:	"quit" is expected (answered {})
 */
void fq_script_end(struct fq_script *sc, bool quit)
{
	if (quit) {
		fq_script_push(sc, (struct fq_step)FQ_EXPECT("quit"));
		fq_script_push(sc, (struct fq_step)FQ_RETURN("{}"));
	}
	fq_script_push(sc, (struct fq_step)FQ_EXPECT_EOF);
}
