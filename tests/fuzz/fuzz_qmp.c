// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/fuzz/fuzz_qmp.c: libFuzzer target for the QMP client
 *
 * Input: a split byte (fuzz_split.h), then what "QEMU" sends. The client is
 * the real one: qmp_adopt_fd() on one end of a socketpair, and a feeder
 * thread writes the stream into the other end in the chunks the split byte
 * picks, then shuts its side down. The socket is SOCK_SEQPACKET so that every
 * chunk arrives as one read() of its own: the client reads with plain read()
 * and cannot tell, but the fuzzer decides where reads split messages.
 *
 * The client runs the conversation qremap has with QEMU: handshake, a few
 * commands (query-status, HMP "info network" whose text also goes through
 * infonet_parse(), device_del, ...), then event waits and draining the event
 * queue; the seeds in corpus/qmp are real QEMU 7.2 and 10.0 transcripts of
 * exactly this. It may fail at any step; it must not crash, leak or hang.
 * Because the feeder ends the stream, every wait ends in a message or a
 * disconnect: a timeout means the client missed the end of the stream, and
 * is reported as a crash.
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qremap/infonet.h"
#include "qremap/log.h"
#include "qremap/qmp.h"
#include "fuzz_split.h"

/* Never reached unless the client ignores the end of the stream */
#define FUZZ_QMP_TIMEOUT_MS 3000
/* Larger inputs are cut: the protocol logic is all in the first few KiB */
#define FUZZ_QMP_MAX_INPUT (256u << 10)

/**
 * struct feeder - the fake QEMU's sending side
 * @fd:		our end of the socketpair
 * @data:	the stream
 * @len:	its length
 * @split:	the split byte
 */
struct feeder {
	int fd;
	const uint8_t *data;
	size_t len;
	uint8_t split;
};

/* Thread: send the stream in chunks, then end it. Stops early if the
 * client hung up.
 */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	struct fuzz_split sp;
	size_t off = 0;

	fuzz_split_init(&sp, f->split);
	while (off < f->len) {
		size_t n = fuzz_split_next(&sp, f->len - off);
		ssize_t w = send(f->fd, f->data + off, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

/* Touch every traced byte, so a bad pointer or length is an ASan report. */
static void trace(void *opaque, bool outgoing, const char *text, size_t len, int fd)
{
	unsigned *sum = opaque;
	size_t i;

	for (i = 0; i < len; i++)
		*sum += (unsigned char)text[i];
}

/* FUZZ_QMP_VERBOSE=1 in the environment: print why each step failed */
static bool verbose;

/* Whether the conversation can go on after a failed step, as for qremap. */
static bool step_failed(const struct qr_error *err)
{
	if (verbose)
		fprintf(stderr, "fuzz_qmp: %s error: %s\n", qr_err_kind_str(err->kind), err->msg);
	if (err->kind == QR_ERR_TIMEOUT) {
		fprintf(stderr, "fuzz_qmp: timeout although the stream ended: %s\n", err->msg);
		abort();
	}
	/* QEMU refusing a command is normal; the connection stays usable */
	return err->kind != QR_ERR_QMP;
}

/* The HMP step: what the inventory does with "info network". */
static int hmp_info_network(struct qmp_client *c, struct qr_error *err)
{
	struct infonet in;
	struct qr_error perr = {0};
	char *out = NULL;

	if (qmp_hmp(c, "info network", &out, err) < 0)
		return -1;
	infonet_parse(out, &in, &perr);
	infonet_free(&in);
	free(out);
	return 0;
}

/* One command with its result dropped; @id_arg adds {"id": id_arg}. */
static int command(struct qmp_client *c, const char *name, const char *id_arg, struct qr_error *err)
{
	json_t *res = NULL;
	int r;

	if (id_arg)
		r = qmp_executef(c, &res, err, name, "{s:s}", "id", id_arg);
	else
		r = qmp_execute(c, name, NULL, &res, err);
	json_decref(res);
	return r;
}

/* The conversation; the order matches the transcripts in corpus/qmp. */
static void converse(struct qmp_client *c)
{
	static const struct {
		const char *name;
		const char *id_arg;
	} cmds[] = {
	        {"query-status", NULL},  {"human-monitor-command", NULL},
	        {"query-version", NULL}, {"cont", NULL},
	        {"stop", NULL},          {"device_del", "nope"},
	        {"device_del", "un0"},   {"query-pci", NULL},
	        {"quit", NULL},
	};
	struct qr_error err = {0};
	json_t *ev;
	size_t i;

	if (qmp_handshake(c, FUZZ_QMP_TIMEOUT_MS, &err) < 0) {
		step_failed(&err);
		return;
	}
	(void)qmp_version_at_least(c, 8, 2, 0);
	(void)strlen(qmp_get_version(c)->package);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		int r;

		qr_err_clear(&err);
		if (cmds[i].id_arg || strcmp(cmds[i].name, "human-monitor-command"))
			r = command(c, cmds[i].name, cmds[i].id_arg, &err);
		else
			r = hmp_info_network(c, &err);
		if (r < 0 && step_failed(&err))
			return;
	}
	/* the waits get the full bound, so they end on an event or at the end
	 * of the stream, whatever the feeder's timing
	 */
	qr_err_clear(&err);
	if (qmp_wait_device_deleted(c, "un0", FUZZ_QMP_TIMEOUT_MS, &err) < 0 && step_failed(&err))
		goto drain;
	qr_err_clear(&err);
	ev = NULL;
	if (qmp_wait_event(c, "SHUTDOWN", NULL, NULL, FUZZ_QMP_TIMEOUT_MS, &ev, &err) == 0)
		json_decref(ev);
	else if (step_failed(&err))
		goto drain;
	/* only the first message gets the bound here, the rest what is already
	 * readable: how much this reads depends on timing, so no verdict on it
	 */
	qr_err_clear(&err);
	qmp_poll_events(c, FUZZ_QMP_TIMEOUT_MS, &err);
drain:
	while ((ev = qmp_take_event(c, NULL, NULL, NULL)))
		json_decref(ev);
	if (qmp_queued_events(c))
		abort();
}

/**
 * LLVMFuzzerInitialize() - libFuzzer start-up hook: quiet unless FUZZ_QMP_VERBOSE
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *v = getenv("FUZZ_QMP_VERBOSE");

	verbose = v && *v && strcmp(v, "0");
	log_set_level(verbose ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	return 0;
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer entry point
 * @data:	split byte, then the stream from "QEMU"
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qr_error err = {0};
	struct qmp_client *c = NULL;
	struct feeder f;
	unsigned sum = 0;
	pthread_t th;
	int sv[2];

	if (!size)
		return 0;
	if (size > FUZZ_QMP_MAX_INPUT + 1)
		size = FUZZ_QMP_MAX_INPUT + 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("fuzz_qmp: socketpair");
		abort();
	}
	if (qmp_adopt_fd(sv[0], "fuzz", &c, &err) < 0) {
		fprintf(stderr, "fuzz_qmp: qmp_adopt_fd: %s\n", err.msg);
		abort();
	}
	qmp_set_timeout(c, FUZZ_QMP_TIMEOUT_MS);
	qmp_set_trace(c, trace, &sum);
	f = (struct feeder){.fd = sv[1], .data = data + 1, .len = size - 1, .split = data[0]};
	if (pthread_create(&th, NULL, feed, &f)) {
		fputs("fuzz_qmp: pthread_create failed\n", stderr);
		abort();
	}
	converse(c);
	/* closing the client's end wakes a feeder blocked on a full socket */
	qmp_close(c);
	pthread_join(th, NULL);
	close(sv[1]);
	return 0;
}
