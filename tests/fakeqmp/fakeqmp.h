/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tests/fakeqmp/fakeqmp.h: a scripted fake QMP peer for protocol tests
 *
 * Real QEMU is what the integration tests talk to; it cannot be made to split
 * a reply into one-byte reads, hang up in the middle of an object, answer with
 * a stale id or flood the event queue on demand. This peer can: a test writes
 * the conversation as a table of steps (the golden script), the peer runs it
 * in a forked child on one end of a socketpair, and the test hands the other
 * end to qmp_adopt_fd(). fakeqmp_finish() then says whether the client said
 * exactly what the script expected, and if not, where it first went wrong.
 *
 * The peer is deliberately independent of the code under test: it frames the
 * client's commands by line (the client ends each with CRLF, and compact JSON
 * has no raw newline) and builds its messages with jansson directly, so a bug
 * in json_frame.c or qmp.c cannot hide itself by being on both ends.
 *
 * For the remap's host steps the peer can also stand in for QEMU's process:
 * fakeqmp_start_holding() lets it keep descriptors (a tap's queues) under
 * their numbers, fakeqmp_pid() gives its pid for pidfd_getfd() and /proc,
 * FQK_EXPECT can keep a descriptor passed with a command (getfd) and
 * FQK_CLOSE_FD closes one (netdev_del), and the peer outlives its script
 * until fakeqmp_finish(), as QEMU outlives a monitor connection, unless
 * FQK_EXIT has it die.
 */
#ifndef QREMAP_FAKEQMP_H
#define QREMAP_FAKEQMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long the peer waits for the client at any one step. */
#define FQ_STEP_TIMEOUT_MS 5000
/* How long fakeqmp_finish() waits for the peer before killing it. */
#define FQ_FINISH_TIMEOUT_MS 10000
/* How long a peer started with fakeqmp_start_holding() outlives its script,
 * at most, waiting for fakeqmp_finish() (or its parent's death).
 */
#define FQ_HOLD_TIMEOUT_MS 60000

/**
 * enum fq_kind - what one step of a script does
 * @FQK_SEND:		write @text; every "@ID@" in it becomes the JSON id of
 *			the last command received ("null" if none)
 * @FQK_GREETING:	write the {"QMP": ...} greeting for QEMU
 *			@major.@minor.@micro, package string @text
 * @FQK_EXPECT:		read one command: "execute" must be @name; every member
 *			of the @args object must be in "arguments" with an equal
 *			value; a descriptor must come with it if @want_fd or
 *			@fd_text (and must not otherwise), and reading from it
 *			must yield @fd_text if set
 * @FQK_RETURN:		reply {"return": @value} ("{}" if NULL), id per @id
 * @FQK_ERROR:		reply {"error": {"class": @name, "desc": @text}}, id per
 *			@id
 * @FQK_EVENT:		send event @name with data @value (none if NULL);
 *			@count > 1 sends that many, adding "seq": 0, 1, ... to
 *			the data
 * @FQK_DELAY:		sleep @delay_ms
 * @FQK_CLOSE:		write @text (if any, "@ID@" as for FQK_SEND), then close
 *			the connection; it must be the last step
 * @FQK_EXPECT_EOF:	the client must close without sending anything more
 * @FQK_SEND_HUGE:	write @text, then @count filler bytes 'x', then @tail
 *			("@ID@" substituted in both), in large writes
 * @FQK_FLOOD:		send event @name (data @value, if any) back to back for
 *			@delay_ms, or until the client hangs up if @hangup_ok;
 *			with @count set, the same text @count times per write,
 *			faster than any client parses
 * @FQK_CLOSE_FD:	close the peer's descriptor @peer_fd, as QEMU closes a
 *			tap's queues at netdev_del or a getfd'd one at closefd;
 *			the descriptor must be open
 * @FQK_EXIT:		end the peer's process at once, as QEMU dying does: the
 *			connection and every descriptor it holds close with it,
 *			even in a holding peer; it must be the last step
 */
enum fq_kind {
	FQK_SEND,
	FQK_GREETING,
	FQK_EXPECT,
	FQK_RETURN,
	FQK_ERROR,
	FQK_EVENT,
	FQK_DELAY,
	FQK_CLOSE,
	FQK_EXPECT_EOF,
	FQK_SEND_HUGE,
	FQK_FLOOD,
	FQK_CLOSE_FD,
	FQK_EXIT,
};

/**
 * enum fq_id - which "id" a reply carries
 * @FQ_ID_ECHO:		the id of the last command, as QEMU does
 * @FQ_ID_PREV:		the id of the command before it: a late reply to a
 *			command the client already gave up on
 * @FQ_ID_NONE:		no id, as QEMU does for a request it cannot parse
 * @FQ_ID_OTHER:	@id_json verbatim
 */
enum fq_id {
	FQ_ID_ECHO = 0,
	FQ_ID_PREV,
	FQ_ID_NONE,
	FQ_ID_OTHER,
};

/**
 * struct fq_step - one step of a script; see enum fq_kind for which members
 *		    each kind uses, unused ones stay zero
 * @kind:	what the step does
 * @name:	command, event name or error class
 * @args:	JSON object of arguments a command must carry, or NULL
 * @value:	JSON text of a return value or of event data
 * @text:	raw bytes, error description or package string
 * @tail:	bytes written after the filler of FQK_SEND_HUGE
 * @fd_text:	string the descriptor passed with a command must yield
 * @want_fd:	a descriptor must come with the command
 * @peer_fd:	FQK_EXPECT: keep the descriptor that came with the command
 *		open in the peer as this number (> 2, not open yet), as QEMU
 *		keeps what getfd gives it; 0 closes it after the checks.
 *		FQK_CLOSE_FD: the peer's descriptor to close
 * @chunk:	write at most this many bytes at a time (0: all at once), to
 *		make the client see split reads
 * @delay_ms:	pause between chunks; the duration of FQK_DELAY, FQK_FLOOD
 * @count:	events to send; filler bytes of FQK_SEND_HUGE; events per
 *		write of FQK_FLOOD
 * @id:		id of a reply, see enum fq_id
 * @id_json:	JSON text of the id for FQ_ID_OTHER
 * @hangup_ok:	the client may close while this step writes (it is expected
 *		to give up); the step then ends successfully
 * @major:	QEMU version in the greeting
 * @minor:	QEMU version in the greeting
 * @micro:	QEMU version in the greeting
 */
struct fq_step {
	enum fq_kind kind;
	const char *name;
	const char *args;
	const char *value;
	const char *text;
	const char *tail;
	const char *fd_text;
	bool want_fd;
	int peer_fd;
	size_t chunk;
	int delay_ms;
	size_t count;
	enum fq_id id;
	const char *id_json;
	bool hangup_ok;
	int major, minor, micro;
};

/* Shorthands for the common steps, so scripts read as a conversation. */
#define FQ_SEND(s)                                                                                 \
	{                                                                                          \
		.kind = FQK_SEND, .text = (s)                                                      \
	}
#define FQ_SEND_CHUNKED(s, k, ms)                                                                  \
	{                                                                                          \
		.kind = FQK_SEND, .text = (s), .chunk = (k), .delay_ms = (ms)                      \
	}
#define FQ_GREETING(ma, mi, mc, pkg)                                                               \
	{                                                                                          \
		.kind = FQK_GREETING, .major = (ma), .minor = (mi), .micro = (mc), .text = (pkg)   \
	}
#define FQ_EXPECT(cmd)                                                                             \
	{                                                                                          \
		.kind = FQK_EXPECT, .name = (cmd)                                                  \
	}
#define FQ_EXPECT_ARGS(cmd, a)                                                                     \
	{                                                                                          \
		.kind = FQK_EXPECT, .name = (cmd), .args = (a)                                     \
	}
#define FQ_RETURN(v)                                                                               \
	{                                                                                          \
		.kind = FQK_RETURN, .value = (v)                                                   \
	}
#define FQ_RETURN_ID(v, how, idj)                                                                  \
	{                                                                                          \
		.kind = FQK_RETURN, .value = (v), .id = (how), .id_json = (idj)                    \
	}
#define FQ_ERROR(cls, desc)                                                                        \
	{                                                                                          \
		.kind = FQK_ERROR, .name = (cls), .text = (desc)                                   \
	}
#define FQ_EVENT(ev, data)                                                                         \
	{                                                                                          \
		.kind = FQK_EVENT, .name = (ev), .value = (data)                                   \
	}
#define FQ_DELAY(ms)                                                                               \
	{                                                                                          \
		.kind = FQK_DELAY, .delay_ms = (ms)                                                \
	}
#define FQ_CLOSE(partial)                                                                          \
	{                                                                                          \
		.kind = FQK_CLOSE, .text = (partial)                                               \
	}
#define FQ_EXPECT_EOF                                                                              \
	{                                                                                          \
		.kind = FQK_EXPECT_EOF                                                             \
	}
#define FQ_CLOSE_FD(n)                                                                             \
	{                                                                                          \
		.kind = FQK_CLOSE_FD, .peer_fd = (n)                                               \
	}
#define FQ_EXIT                                                                                    \
	{                                                                                          \
		.kind = FQK_EXIT                                                                   \
	}

/* Greeting of a QEMU 10.0.2 and successful capabilities negotiation. */
#define FQ_HANDSHAKE                                                                               \
	FQ_GREETING(10, 0, 2, "fakeqmp"), FQ_EXPECT("qmp_capabilities"), FQ_RETURN("{}")

/* Longest script fq_script_push() builds */
#define FQ_SCRIPT_MAX 128

/**
 * struct fq_script - a script built at run time (from a golden table, say)
 * @s:	steps
 * @n:	number of @s
 */
struct fq_script {
	struct fq_step s[FQ_SCRIPT_MAX];
	size_t n;
};

void fq_script_start(struct fq_script *sc);
void fq_script_push(struct fq_script *sc, struct fq_step st);
void fq_script_push_list(struct fq_script *sc, const struct fq_step *list, size_t max);
void fq_script_end(struct fq_script *sc, bool quit);

struct fakeqmp;

struct fakeqmp *fakeqmp_start(const struct fq_step *script, size_t n, int *client_fd);
struct fakeqmp *fakeqmp_start_holding(const struct fq_step *script, size_t n, int *client_fd,
                                      const int *keep, size_t n_keep);
pid_t fakeqmp_pid(const struct fakeqmp *f);
int fakeqmp_finish(struct fakeqmp *f, char *why, size_t len);

#endif /* QREMAP_FAKEQMP_H */
