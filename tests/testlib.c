// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/testlib.c: run the registered tests, report, set exit code */

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testlib.h"

int test_failures;
bool test_skipped;

/**
 * test_main() - run all tests, or those named on the command line
 * @argc:	argument count
 * @argv:	test names to run (all if none)
 * @tests:	registered tests
 * @n:		their number
 *
 * Return: 0 if all passed, 1 if any failed, TEST_SKIP_CODE if all skipped
 */
int test_main(int argc, char **argv, const struct test_case *tests, size_t n)
{
	unsigned ran = 0, failed = 0, skipped = 0;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		int before = test_failures;
		int a;
		bool wanted = argc < 2;

		for (a = 1; a < argc; a++)
			if (!strcmp(argv[a], tests[i].name))
				wanted = true;
		if (!wanted)
			continue;
		test_skipped = false;
		printf("--- %s\n", tests[i].name);
		tests[i].fn();
		ran++;
		if (test_failures != before) {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		} else if (test_skipped) {
			printf("SKIP %s\n", tests[i].name);
			skipped++;
		} else {
			printf("ok   %s\n", tests[i].name);
		}
	}
	printf("%u run, %u failed, %u skipped\n", ran, failed, skipped);
	if (failed)
		return 1;
	if (ran && skipped == ran)
		return TEST_SKIP_CODE;
	return 0;
}

/* Append what is readable on @fd to *@buf; return false at EOF. */
static bool slurp(int fd, char **buf, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	char *nb;

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb)
		abort();
	memcpy(nb + *len, tmp, (size_t)n);
	*len += (size_t)n;
	nb[*len] = '\0';
	*buf = nb;
	return true;
}

/**
 * test_run_capture() - run a program, collect stdout and stderr
 * @argv:	NULL-terminated argument vector (argv[0] is looked up in $PATH)
 * @out:	its stdout, malloc'd and NUL-terminated (never NULL), or NULL to
 *		discard it
 * @errout:	its stderr likewise, or NULL to pass stderr through
 *
 * Return: exit status, 128+signal if killed, -1 if it could not run
 */
int test_run_capture(const char *const *argv, char **out, char **errout)
{
	int po[2], pe[2], status;
	size_t lo = 0, le = 0;
	bool open_o = true, open_e = errout != NULL;
	char *discard = NULL;
	pid_t pid;

	if (!out)
		out = &discard;
	*out = calloc(1, 1);
	if (errout)
		*errout = calloc(1, 1);
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		if (errout)
			dup2(pe[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while (open_o || open_e) {
		struct pollfd p[2] = {{.fd = open_o ? po[0] : -1, .events = POLLIN},
		                      {.fd = open_e ? pe[0] : -1, .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && !slurp(po[0], out, &lo))
			open_o = false;
		if (p[1].revents && !slurp(pe[0], errout, &le))
			open_e = false;
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(discard);
			return -1;
		}
	free(discard);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/**
 * test_is_root() - integration tests need root (namespaces, taps)
 *
 * Return: true if running as uid 0
 */
bool test_is_root(void)
{
	return geteuid() == 0;
}

/* nftw() callback for test_rmtree(). */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/**
 * test_rmtree() - remove a directory a test made, with everything in it
 * @dir:	directory (nothing happens if "" or NULL)
 */
void test_rmtree(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/**
 * test_tmpdir() - a fresh directory for one test, under $TMPDIR or /tmp
 * @tag:	short name included in the path
 *
 * The directory must be on a file system that supports O_DIRECT (not
 * tmpfs) to match Incus's disk opens; /tmp is fine on the CI machine, and
 * fixture.c falls back without O_DIRECT where it isn't.
 *
 * Return: static path, valid until the next call
 */
const char *test_tmpdir(const char *tag)
{
	static char path[256];
	const char *base = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/qremap-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	if (!mkdtemp(path))
		abort();
	chmod(path, 0755);
	return path;
}

/**
 * test_read_file() - a whole file's contents
 * @path:	file
 *
 * Return: its bytes, NUL-terminated (free() it), or NULL if unreadable
 */
char *test_read_file(const char *path)
{
	FILE *f = fopen(path, "re"), *m;
	char chunk[4096], *buf = NULL;
	size_t n, len = 0;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	if (!m) {
		fclose(f);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

/**
 * test_flow_once() - one UDP or TCP echo exchange from a fresh source port
 * @ip:		IPv4 address of the echo service (port 7)
 * @tcp:	TCP rather than UDP
 * @i:		sequence number, part of the message
 * @timeout_ms:	bound on the connect and on the answer, each
 *
 * The socket is never bound, so the kernel picks a new source port: a new
 * flow, hashed afresh onto a tap's queues.
 *
 * Return: true if the message came back unchanged
 */
bool test_flow_once(const char *ip, bool tcp, unsigned i, int timeout_ms)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(7)};
	char msg[64], back[64];
	struct pollfd p;
	bool ok = false;
	ssize_t n;
	int fd;

	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		return false;
	fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	p.fd = fd;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		int e = 0;
		socklen_t el = sizeof(e);

		p.events = POLLOUT;
		if (errno != EINPROGRESS || poll(&p, 1, timeout_ms) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e)
			goto out;
	}
	snprintf(msg, sizeof(msg), "qremap flow %u", i);
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		goto out;
	p.events = POLLIN;
	if (poll(&p, 1, timeout_ms) != 1)
		goto out;
	n = recv(fd, back, sizeof(back) - 1, 0);
	ok = n == (ssize_t)strlen(msg) && !memcmp(back, msg, (size_t)n);
out:
	close(fd);
	return ok;
}

/**
 * test_flows() - fresh flows to an echo service, alternating UDP and TCP
 * @ip:		IPv4 address of the echo service (port 7), in the caller's
 *		network namespace
 * @n:		number of flows
 * @timeout_ms:	per-step bound (test_flow_once())
 *
 * Return: how many came back
 */
int test_flows(const char *ip, int n, int timeout_ms)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += test_flow_once(ip, i % 2, (unsigned)i, timeout_ms);
	return ok;
}
