// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/impostor.c: a local user pretending to be QEMU
 *
 * The attacker of qremapd's threat model (qremapd(8), THREAT MODEL): a
 * program any local user can run, copied by the test to a file named
 * qemu-system-x86_64, that dials qremapd's socket and plays QEMU's side of
 * QMP with a name of its choosing. It writes everything qremapd makes it do
 * to descriptor 3, one line each, so the test can assert what an impostor
 * got:
 *   cmd NAME             a command qremapd sent
 *   status DATA          the data of a ringbuf-write (the status line)
 *   closed               qremapd hung up
 *   handoff PID          (--handoff) the connecting process forked PID to
 *                        carry on and exited
 * Options:
 *   --sock PATH    qremapd's socket
 *   --name NAME    what query-name answers (JSON text, so "\r\n" or
 *                  "\u0000" can be sent as escapes)
 *   --reset        send a RESET event once the status chardev was added
 *   --handoff      fork after connecting; the parent exits, the child waits
 *                  for a byte on descriptor 4 before it speaks
 *   -uuid U        ignored, as QEMU's own -uuid would be for us: it is
 *                  there for /proc/PID/cmdline
 * It answers every command with {"return": {}} except query-name; it never
 * touches anything but its socket.
 */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define REPORT_FD 3
#define GO_FD     4
#define IDLE_MS   30000 /* give up if qremapd says nothing for this long */

static FILE *report;

/* One report line: @what, a space and @arg (if any). */
static void say(const char *what, const char *arg)
{
	fprintf(report, "%s%s%s\n", what, arg ? " " : "", arg ? arg : "");
	fflush(report);
}

static void send_line(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w <= 0)
			return;
		off += (size_t)w;
	}
	if (write(fd, "\r\n", 2) != 2)
		return;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *name = "\"vm0\"";
	bool reset = false, handoff = false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[65536];
	size_t have = 0;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sock") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--reset"))
			reset = true;
		else if (!strcmp(argv[i], "--handoff"))
			handoff = true;
		else if (!strcmp(argv[i], "-uuid") && i + 1 < argc)
			i++;
	}
	report = fdopen(REPORT_FD, "w");
	if (!sock || !report)
		return 2;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		say("connect-failed", strerror(errno));
		return 1;
	}
	if (handoff) {
		pid_t child = fork();
		char go;

		if (child < 0)
			return 1;
		if (child > 0) {
			char pid[16];

			snprintf(pid, sizeof(pid), "%d", (int)child);
			say("handoff", pid);
			_exit(0); /* the process qremapd saw connect is gone */
		}
		if (read(GO_FD, &go, 1) != 1)
			return 1;
	}
	send_line(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": "
	              "10}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *nl;
		ssize_t r;

		if (poll(&p, 1, IDLE_MS) <= 0)
			break;
		r = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0) {
			say("closed", NULL);
			break;
		}
		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			json_t *cmd;
			const char *ex;
			char reply[512];

			*nl = '\0';
			cmd = json_loads(buf, 0, NULL);
			memmove(buf, nl + 1, have - (size_t)(nl + 1 - buf) + 1);
			have = strlen(buf);
			if (!cmd)
				continue;
			ex = json_string_value(json_object_get(cmd, "execute"));
			say("cmd", ex ? ex : "?");
			if (ex && !strcmp(ex, "ringbuf-write"))
				say("status", json_string_value(json_object_get(
				                      json_object_get(cmd, "arguments"), "data")));
			{
				char *id = json_dumps(json_object_get(cmd, "id"),
				                      JSON_ENCODE_ANY | JSON_COMPACT);

				if (ex && !strcmp(ex, "query-name"))
					snprintf(reply, sizeof(reply),
					         "{\"return\": {\"name\": %s}, \"id\": %s}", name,
					         id ? id : "null");
				else
					snprintf(reply, sizeof(reply),
					         "{\"return\": {}, \"id\": %s}", id ? id : "null");
				free(id);
			}
			send_line(fd, reply);
			if (reset && ex && !strcmp(ex, "chardev-add"))
				send_line(fd,
				          "{\"event\": \"RESET\", \"data\": {\"guest\": false, "
				          "\"reason\": \"host-qmp-system-reset\"}, \"timestamp\": "
				          "{\"seconds\": 1, \"microseconds\": 0}}");
			json_decref(cmd);
		}
		if (have >= sizeof(buf) - 1)
			have = 0;
	}
	return 0;
}
