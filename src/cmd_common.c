// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_common.c: what the qremap subcommands share: connecting to a
 * VM's monitor (and dropping privileges once connected), --pid, QMP tracing
 */

#include <stdio.h>

#include "commands.h"
#include "qremap/log.h"
#include "qremap/privilege.h"

/**
 * trace_qmp() - print raw QMP traffic on stderr, one object per line
 * @opaque:	label printed after "qmp"
 * @outgoing:	true for what qremap sends, false for what QEMU sends
 * @text:	the JSON object
 * @len:	its length
 * @fd:		descriptor passed with it, or -1
 */
static void trace_qmp(void *opaque, bool outgoing, const char *text, size_t len, int fd)
{
	const char *label = opaque;

	if (fd >= 0)
		fprintf(stderr, "qmp %s %s %.*s  [fd %d]\n", label, outgoing ? "->" : "<-",
		        (int)len, text, fd);
	else
		fprintf(stderr, "qmp %s %s %.*s\n", label, outgoing ? "->" : "<-", (int)len, text);
}

/**
 * connect_monitor() - connect and negotiate, then drop what isn't needed
 * @path:	QMP socket path
 * @timeout_ms:	per-command timeout, also bounds the handshake
 * @g:		global options
 * @out:	client
 * @err:	error object
 *
 * Reaching the socket may take privileges (an Incus VM's run directory);
 * once connected, every command has all it needs from outside except what
 * privilege.h keeps, so the drop happens here, once for all of them.
 *
 * Return: 0 on success, -1 on failure
 */
int connect_monitor(const char *path, int timeout_ms, const struct global_opts *g,
                    struct qmp_client **out, struct qr_error *err)
{
	struct privilege_report priv;
	struct qmp_client *c;

	if (qmp_connect_unix(path, &c, err) < 0)
		return -1;
	if (g->trace_qmp)
		qmp_set_trace(c, trace_qmp, (void *)"");
	qmp_set_timeout(c, timeout_ms);
	if (qmp_handshake(c, timeout_ms, err) < 0) {
		qmp_close(c);
		return -1;
	}
	log_info("connected to %s: QEMU %d.%d.%d", path, qmp_get_version(c)->major,
	         qmp_get_version(c)->minor, qmp_get_version(c)->micro);
	/* the one-shot command writes only to descriptors it already has
	 * (stdout, stderr): nothing on the file system stays writable
	 */
	if (privilege_drop(&(struct privilege_opts){.seccomp = !g->no_seccomp, .readonly_fs = true},
	                   &priv, err) < 0) {
		qr_err_prefix(err, "dropping privileges");
		qmp_close(c);
		return -1;
	}
	privilege_log("qremap", &priv);
	*out = c;
	return 0;
}

/**
 * parse_pid_arg() - the argument of --pid
 * @arg:	text
 * @pid:	result
 *
 * Return: 0, or -1 after saying what is wrong
 */
int parse_pid_arg(const char *arg, pid_t *pid)
{
	unsigned long long v;

	if (parse_uint(arg, 0x3fffffff, &v) < 0 || !v) {
		log_error("--pid: not a process id: %s", arg);
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}
