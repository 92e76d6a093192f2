// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_privilege.c: what privilege_drop() leaves
 *
 * Each case runs in a forked child (the drop can't be undone), which reports
 * its findings on a pipe; the parent checks them. The child looks at what the
 * kernel says it has (/proc/self/status), tries what the filter must refuse
 * and, as root, what a remap must still be able to do with the capabilities
 * kept: open a tap (CAP_NET_ADMIN), in a network namespace the child made
 * before the drop so that nothing leaves the test, and copy its parent's
 * descriptor with pidfd_getfd (CAP_SYS_PTRACE).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qremap/privilege.h"
#include "qremap/util.h"
#include "testlib.h"

#define CHILD_TIMEOUT_S 20

/* The capabilities privilege.h says are kept, as a CapEff/CapBnd mask */
#define KEPT_MASK ((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_SYS_PTRACE))

/**
 * status_hex() - a hexadecimal field of /proc/self/status
 * @field:	name with its colon ("CapEff:")
 * @out:	value
 *
 * Return: true if found
 */
static bool status_hex(const char *field, unsigned long long *out)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (str_has_prefix(line, field))
			found = sscanf(line + strlen(field), "%llx", out) == 1;
	fclose(f);
	return found;
}

/* A thread that does nothing: pthread_create must still work */
static void *idle_thread(void *arg)
{
	return arg;
}

/**
 * child_checks() - in the child: drop, then report each finding as a line
 * @fd:		pipe to the parent
 * @seccomp:	install the filter
 * @root:	the child has root's capabilities
 * @parent_fd:	a descriptor of the parent's, for pidfd_getfd
 */
static void child_checks(int fd, bool seccomp, bool root, int parent_fd)
{
	struct privilege_report rep;
	struct qr_error err = {0};
	unsigned long long v = ~0ULL;
	FILE *out = fdopen(fd, "w");
	pthread_t t;

	if (!out)
		_exit(2);
	/* a private network namespace for the tap, made while we still can */
	if (root && unshare(CLONE_NEWNET) < 0)
		fprintf(out, "unshare-before %d\n", errno);
	if (privilege_drop(seccomp, &rep, &err) < 0) {
		fprintf(out, "drop-failed %s\n", err.msg);
		fclose(out);
		_exit(1);
	}
	fprintf(out, "kept %s\n", rep.kept[0] ? rep.kept : "none");
	fprintf(out, "denied %zu\n", rep.n_denied);
	if (status_hex("CapEff:", &v))
		fprintf(out, "capeff %llx\n", v);
	if (status_hex("CapBnd:", &v))
		fprintf(out, "capbnd %llx\n", v);
	if (status_hex("CapInh:", &v))
		fprintf(out, "capinh %llx\n", v);
	if (status_hex("NoNewPrivs:", &v))
		fprintf(out, "nnp %llx\n", v);
	if (status_hex("Seccomp:", &v))
		fprintf(out, "seccomp %llx\n", v);
	fflush(out);

	/* Without the filter, exec would succeed and end the report */
	if (seccomp) {
		char *const argv[] = {"/bin/true", NULL};

		execv("/bin/true", argv);
		fprintf(out, "execve %d\n", errno);
	}
	/* harmless if it went through: the namespace is the child's own */
	fprintf(out, "unshare %d\n", unshare(CLONE_NEWNET) < 0 ? errno : 0);
	/* a target that doesn't exist: ENOENT unless the filter refuses first,
	 * so nothing is ever mounted
	 */
	fprintf(out, "mount %d\n",
	        mount("none", "/nonexistent-qremap-test", "tmpfs", 0, NULL) < 0 ? errno : 0);
	fprintf(out, "kill-parent %d\n", kill(getppid(), 0) < 0 ? errno : 0);
	fprintf(out, "kill-all %d\n", kill(-1, 0) < 0 ? errno : 0);
	fprintf(out, "kill-self %d\n", kill(getpid(), 0) < 0 ? errno : 0);
#ifdef SYS_clone3
	fprintf(out, "clone3 %d\n", syscall(SYS_clone3, NULL, 0) < 0 ? errno : 0);
#endif
	fprintf(out, "thread %d\n", pthread_create(&t, NULL, idle_thread, NULL));
	pthread_join(t, NULL);
	if (root) {
		int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		struct ifreq ifr = {0};
		int pidfd = (int)syscall(SYS_pidfd_open, getppid(), 0), got;

		str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), "qrpriv0");
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
		fprintf(out, "tap %d\n",
		        tun < 0                           ? errno
		        : ioctl(tun, TUNSETIFF, &ifr) < 0 ? errno
		                                          : 0);
		got = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, parent_fd, 0);
		fprintf(out, "getfd %d\n", got < 0 ? errno : 0);
	}
	fclose(out);
	_exit(0);
}

/**
 * run_child() - fork, run child_checks(), collect its lines
 * @seccomp:	install the filter
 *
 * Return: the child's report (malloc'd), or NULL if it failed
 */
static char *run_child(bool seccomp)
{
	_cleanup_close_ int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	size_t len = 0;
	int p[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		close(p[0]);
		alarm(CHILD_TIMEOUT_S);
		child_checks(p[1], seccomp, test_is_root(), keep);
	}
	close(p[1]);
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "child ended with status 0x%x; it said:\n%s", status, buf);
		return NULL;
	}
	return strdup(buf);
}

/**
 * field() - the value after "@key " on its own line of @rep
 * @rep:	child report
 * @key:	first word
 *
 * Return: the rest of the line (static buffer), "" if there is no such line
 */
static const char *field(const char *rep, const char *key)
{
	static char val[256];
	size_t kl = strlen(key);

	val[0] = '\0';
	for (const char *l = rep; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ' ') {
			size_t n = strcspn(l + kl + 1, "\n");

			snprintf(val, sizeof(val), "%.*s", (int)n, l + kl + 1);
			break;
		}
	}
	return val;
}

/* An errno value as the child prints it */
static const char *num(int e)
{
	static char buf[4][16];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%d", e);
	return buf[i];
}

/* The full drop: capabilities, no_new_privs, the filter refuses, work still works */
static void test_drop_with_seccomp(void)
{
	_cleanup_free_ char *rep = run_child(true);
	char mask[32];

	REQUIRE(rep);
	if (getenv("QREMAP_TEST_VERBOSE"))
		fputs(rep, stderr);
	CHECK_STR(field(rep, "nnp"), "1");
	CHECK_STR(field(rep, "seccomp"), "2");
	CHECK_STR(field(rep, "capinh"), "0");
	CHECK(atoi(field(rep, "denied")) > 40);
	/* refused by the filter (as root these would otherwise succeed) */
	CHECK_STR(field(rep, "execve"), num(EPERM));
	CHECK_STR(field(rep, "unshare"), num(EPERM));
	CHECK_STR(field(rep, "mount"), num(EPERM));
	CHECK_STR(field(rep, "kill-parent"), num(EPERM));
	CHECK_STR(field(rep, "kill-all"), num(EPERM));
	CHECK_STR(field(rep, "kill-self"), "0");
#ifdef SYS_clone3
	CHECK_STR(field(rep, "clone3"), num(ENOSYS));
#endif
	CHECK_STR(field(rep, "thread"), "0");
	if (!test_is_root()) {
		CHECK_STR(field(rep, "kept"), "none");
		CHECK_STR(field(rep, "capeff"), "0");
		return;
	}
	snprintf(mask, sizeof(mask), "%llx", (unsigned long long)KEPT_MASK);
	CHECK_STR(field(rep, "kept"), "cap_net_admin,cap_sys_admin,cap_sys_ptrace");
	CHECK_STR(field(rep, "capeff"), mask);
	CHECK_STR(field(rep, "capbnd"), mask);
	/* what a remap does with what is kept */
	CHECK_STR(field(rep, "tap"), "0");
	CHECK_STR(field(rep, "getfd"), "0");
}

/* --no-seccomp: capabilities still go, no filter; the kernel refuses instead */
static void test_drop_without_seccomp(void)
{
	_cleanup_free_ char *rep = run_child(false);

	REQUIRE(rep);
	CHECK_STR(field(rep, "seccomp"), "0");
	CHECK_STR(field(rep, "denied"), "0");
	CHECK_STR(field(rep, "nnp"), "1");
	if (!test_is_root())
		return;
	/* the kernel, not the filter, answers now */
	CHECK_STR(field(rep, "mount"), num(ENOENT));
	{
		char mask[32];

		snprintf(mask, sizeof(mask), "%llx", (unsigned long long)KEPT_MASK);
		CHECK_STR(field(rep, "capeff"), mask);
		CHECK_STR(field(rep, "tap"), "0");
		/* with CAP_KILL gone, root still owns its parent: kill works */
		CHECK_STR(field(rep, "kill-parent"), "0");
	}
}

TEST_MAIN(test_drop_with_seccomp, test_drop_without_seccomp)
