// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_daemon_trust.c: qremapd against a hostile
 * local user
 *
 * qremapd's socket must accept QEMU running as nobody, so anyone can dial it.
 * Here the attacker is tests/integration/impostor.c, copied to a file named
 * qemu-system-x86_64 and run as another user or as nobody, claiming to be a
 * VM. Each case asserts what the impostor got from qremapd (the commands it
 * was sent, the status line), which is nothing a VM would get:
 * - without Incus: a uid not on --allow-uid, a name without --profile-for,
 *   names that are paths or carry CR/LF or NUL; the pid-reuse sequence
 *   (the connecting process hands its socket to a child and exits, and its
 *   pid is taken again); a FIFO and a symbolic link as profile;
 * - with Incus (a fake Incus API on a unix socket and a run directory made
 *   here, standing in for /run/incus): no pid file naming the peer, a pid
 *   file but not the instance's uuid, a pid file older than the process
 *   (a pid successor), and a VM that is identified but whose Incus-side
 *   profile name is a path.
 * Root only: the impostor runs as other users.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "qremap/util.h"
#include "testlib.h"

#define NOBODY      65534
#define OTHER_UID   4242  /* a local user with no business with qremapd */
#define WAIT_MS     15000 /* > qremapd's IDENTIFY_MS */
#define FAKE_UUID   "0b8c3f8e-6d3a-4c39-9d52-7c1d2a1f4e10"
#define FAKE_RUNDIR "proj_vm1"
#define INVENTORY_CMDS                                                                             \
	{                                                                                          \
		"cmd query-status", "cmd qom-list", "cmd human-monitor-command",                   \
		        "cmd query-block", "cmd qom-get", "cmd device_del", "cmd device_add", NULL \
	}

static const char *qremapd_bin(void)
{
	return getenv("QREMAPD_BIN") ? getenv("QREMAPD_BIN") : QREMAPD_BIN_DEFAULT;
}

/**
 * struct imp - one impostor run
 * @pid:	the process we forked (it execs the impostor)
 * @handoff:	the child it handed its socket to (--handoff), or 0
 * @report:	read end of its report pipe
 * @go:		write end of its "go" pipe (descriptor 4 in the impostor)
 * @start:	write end of the pipe that lets it exec
 * @log:	everything it reported so far
 * @n:		length of @log
 */
struct imp {
	pid_t pid;
	pid_t handoff;
	int report;
	int go;
	int start;
	char log[16384];
	size_t n;
};

/*
 * Fork the impostor as @uid, held before its exec until imp_release(), so
 * the test knows its pid first (for a pid file). @args: its options.
 */
static bool imp_spawn(struct imp *m, const char *exe, uid_t uid, const char *const *args)
{
	int rep[2], go[2], st[2];
	const char *argv[16] = {exe};
	size_t n = 1;

	memset(m, 0, sizeof(*m));
	m->report = m->go = m->start = -1;
	for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0)
		return false;
	m->pid = fork();
	if (m->pid < 0)
		return false;
	if (m->pid == 0) {
		char c;

		if (read(st[0], &c, 1) != 1)
			_exit(126);
		if (dup2(rep[1], 3) < 0 || dup2(go[0], 4) < 0)
			_exit(126);
		if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		            setresuid(uid, uid, uid) < 0))
			_exit(126);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(rep[1]);
	close(go[0]);
	close(st[0]);
	m->report = rep[0];
	m->go = go[1];
	m->start = st[1];
	return true;
}

static void imp_release(struct imp *m)
{
	if (write(m->start, "x", 1) != 1)
		fprintf(stderr, "impostor: cannot release: %s\n", strerror(errno));
	close(m->start);
	m->start = -1;
}

/* Read reports until @what appears in them; false on timeout or EOF. */
static bool imp_wait(struct imp *m, const char *what, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (!strstr(m->log, what)) {
		struct pollfd p = {.fd = m->report, .events = POLLIN};
		int left = deadline_remaining_ms(deadline);
		ssize_t r;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		r = read(m->report, m->log + m->n, sizeof(m->log) - 1 - m->n);
		if (r <= 0)
			return strstr(m->log, what) != NULL;
		m->n += (size_t)r;
		m->log[m->n] = '\0';
	}
	return true;
}

/* End the impostor (and its handoff child), ours by pid. */
static void imp_end(struct imp *m)
{
	if (m->handoff > 0)
		kill(m->handoff, SIGKILL);
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
	}
	if (m->report >= 0)
		close(m->report);
	if (m->go >= 0)
		close(m->go);
	if (m->start >= 0)
		close(m->start);
	m->pid = m->handoff = 0;
	m->report = m->go = m->start = -1;
}

/* No command that reads or changes a VM's devices reached the impostor. */
static bool got_no_inventory(const struct imp *m)
{
	static const char *const cmds[] = INVENTORY_CMDS;

	for (size_t i = 0; cmds[i]; i++)
		if (strstr(m->log, cmds[i])) {
			fprintf(stderr, "impostor was sent %s\n", cmds[i]);
			return false;
		}
	return true;
}

/*
 * One impostor that must get nothing: run as @uid with name @name (JSON),
 * until qremapd hangs up. Asserts it never got the status chardev, nor any
 * device query.
 */
static void expect_refused(const char *exe, uid_t uid, const char *sock, const char *name,
                           bool no_qmp_at_all)
{
	const char *args[] = {"--sock", sock, "--name", name, "--reset", NULL};
	struct imp m;

	REQUIRE(imp_spawn(&m, exe, uid, args));
	imp_release(&m);
	CHECK(imp_wait(&m, "closed", WAIT_MS));
	CHECK(!strstr(m.log, "cmd chardev-add"));
	CHECK(!strstr(m.log, "status "));
	CHECK(got_no_inventory(&m));
	if (no_qmp_at_all)
		CHECK(!strstr(m.log, "cmd "));
	if (test_failures)
		fprintf(stderr, "impostor (uid %u, name %s) reported:\n%s\n", (unsigned)uid, name,
		        m.log);
	imp_end(&m);
}

/* Copy the impostor to DIR/qemu-system-x86_64, runnable by anyone. */
static bool install_impostor(const char *dir, char *exe, size_t len)
{
	char *text = NULL;
	const char *argv[] = {"cp", IMPOSTOR_BIN, exe, NULL};

	snprintf(exe, len, "%s/qemu-system-x86_64", dir);
	if (test_run_capture(argv, &text, NULL) != 0) {
		free(text);
		return false;
	}
	free(text);
	return chmod(dir, 0755) == 0 && chmod(exe, 0755) == 0;
}

static bool write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool log_has_line_starting(const struct fx_daemon *d, const char *prefix)
{
	char *text = test_read_file(d->log), *line, *save = NULL;
	bool found = false;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = str_has_prefix(line, prefix);
	free(text);
	return found;
}

static void test_trust_without_incus(void)
{
	char dir[256], exe[320], profile[320], fifo[320], link[320], map1[400], map2[400];
	struct fx_daemon d __attribute__((cleanup(fx_daemon_cleanup))) = {0};
	struct imp m;

	if (!test_is_root())
		SKIP("needs root (the impostor runs as other users)");
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("trust"));
	REQUIRE(install_impostor(dir, exe, sizeof(exe)));
	snprintf(profile, sizeof(profile), "%s/vm.yaml", dir);
	REQUIRE(write_file(profile,
	                   "qremap_profile: 1\nname: trust-test\n"
	                   "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	                   "disks:\n  - {match: \"*\", to: sata}\n",
	                   0644));
	snprintf(fifo, sizeof(fifo), "%s/fifo.yaml", dir);
	REQUIRE(mkfifo(fifo, 0644) == 0);
	snprintf(link, sizeof(link), "%s/link.yaml", dir);
	REQUIRE(symlink(profile, link) == 0);
	snprintf(map1, sizeof(map1), "vm1=%s", fifo);
	snprintf(map2, sizeof(map2), "vm2=%s", link);
	snprintf(d.dir, sizeof(d.dir), "%s", dir);
	/* served: uids 0 and nobody; VMs vm0 (a good profile), vm1, vm2 */
	REQUIRE(fx_daemon_start(
	        &d, qremapd_bin(), profile, 1,
	        (const char *const[]){"--profile-for", map1, "--profile-for", map2, NULL}));

	/* a local user: not even a greeting is read */
	expect_refused(exe, OTHER_UID, d.sock, "\"vm0\"", true);
	/* nobody (QEMU's uid), but a name qremapd serves no profile for */
	expect_refused(exe, NOBODY, d.sock, "\"vm9\"", false);
	/* names that are paths, forge log lines, or hide a NUL */
	expect_refused(exe, NOBODY, d.sock, "\"../x\"", false);
	expect_refused(exe, NOBODY, d.sock, "\"a/b\"", false);
	expect_refused(exe, NOBODY, d.sock, "\"../../../../etc/passwd\"", false);
	expect_refused(exe, NOBODY, d.sock, "\"x\\r\\nqremapd: forged\"", false);
	expect_refused(exe, NOBODY, d.sock, "\"vm0\\u0000x\"", false);
	CHECK(!log_has_line_starting(&d, "qremapd: forged"));
	CHECK(access(d.dir, F_OK) == 0);

	/*
	 * Pid reuse: the process that connected hands the socket to a child
	 * and exits; its pid is then taken by another process (ns_last_pid).
	 * Whatever the child does, qremapd must not look at that process.
	 */
	{
		const char *args[] = {"--sock",  d.sock,      "--name", "\"vm0\"",
		                      "--reset", "--handoff", NULL};
		pid_t reused = 0, victim = -1;
		char *hp;
		int vp[2] = {-1, -1};

		REQUIRE(imp_spawn(&m, exe, NOBODY, args));
		imp_release(&m);
		CHECK(imp_wait(&m, "handoff ", WAIT_MS));
		hp = strstr(m.log, "handoff ");
		m.handoff = hp ? (pid_t)atoi(hp + 8) : 0;
		waitpid(m.pid, NULL, 0); /* the connecting process is gone */
		reused = m.pid;
		m.pid = 0;
		/* give its pid to a process of ours: ns_last_pid = pid - 1 */
		if (pipe2(vp, O_CLOEXEC) == 0) {
			int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
			char num[16];

			snprintf(num, sizeof(num), "%d", (int)reused - 1);
			if (fd >= 0 && write(fd, num, strlen(num)) > 0) {
				victim = fork();
				if (victim == 0) {
					char c;

					close(vp[1]);
					_exit(read(vp[0], &c, 1) < 0);
				}
			}
			if (fd >= 0)
				close(fd);
			close(vp[0]);
		}
		fprintf(stderr, "pid reuse: connecting pid %d, now %s\n", (int)reused,
		        victim == reused ? "held by another process" : "not retaken (raced)");
		CHECK(write(m.go, "g", 1) == 1);
		/* refused at accept (already gone), or told it exited: never remapped */
		CHECK(imp_wait(&m, "closed", WAIT_MS) || imp_wait(&m, "status ", WAIT_MS));
		fprintf(stderr, "pid reuse: qremapd %s\n",
		        strstr(m.log, "status ") ? "said the VM's QEMU exited"
		                                 : "refused the connection");
		if (strstr(m.log, "status "))
			CHECK_CONTAINS(m.log, "exited");
		CHECK(!strstr(m.log, "status done"));
		CHECK(got_no_inventory(&m));
		if (victim > 0) {
			close(vp[1]);
			waitpid(victim, NULL, 0);
		}
		if (test_failures)
			fprintf(stderr, "pid-reuse impostor reported:\n%s\n", m.log);
		imp_end(&m);
	}

	/* profiles that are a FIFO (would hang a thread) or a symbolic link */
	{
		const char *fifo_args[] = {"--sock", d.sock, "--name", "\"vm1\"", "--reset", NULL};
		const char *link_args[] = {"--sock", d.sock, "--name", "\"vm2\"", "--reset", NULL};

		REQUIRE(imp_spawn(&m, exe, 0, fifo_args));
		imp_release(&m);
		CHECK(imp_wait(&m, "status ", WAIT_MS));
		CHECK_CONTAINS(m.log, "not a regular file");
		imp_end(&m);
		REQUIRE(imp_spawn(&m, exe, 0, link_args));
		imp_release(&m);
		CHECK(imp_wait(&m, "status ", WAIT_MS));
		CHECK_CONTAINS(m.log, "symbolic link");
		imp_end(&m);
	}
	CHECK_INT(fx_daemon_stop(&d), 0);
	if (test_failures) {
		char *text = test_read_file(d.log);

		fprintf(stderr, "qremapd's log:\n%s\n", text ? text : "");
		free(text);
	}
	if (d.pid > 0)
		fx_daemon_stop(&d);
	test_rmtree(dir);
}

/**
 * struct fake_incus - just enough of Incus's API for identification
 * @lfd:	listening unix socket
 * @path:	its path
 * @stop:	set to end the thread
 * @thread:	the server thread
 * @requests:	request lines seen, newline-separated
 * @profile:	the instance's user.qremap.profile
 */
struct fake_incus {
	int lfd;
	char path[300];
	volatile bool stop;
	pthread_t thread;
	char requests[4096];
	const char *profile;
};

static void *fake_incus_main(void *arg)
{
	struct fake_incus *fi = arg;

	while (!fi->stop) {
		struct pollfd p = {.fd = fi->lfd, .events = POLLIN};
		char req[4096], body[1024], resp[1400];
		size_t have = 0;
		bool found;
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept4(fi->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		while (have < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
			struct pollfd q = {.fd = fd, .events = POLLIN};
			ssize_t r;

			req[have] = '\0';
			if (poll(&q, 1, 2000) <= 0)
				break;
			r = read(fd, req + have, sizeof(req) - 1 - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			req[have] = '\0';
		}
		req[have] = '\0';
		req[strcspn(req, "\r\n")] = '\0';
		if (strlen(fi->requests) + strlen(req) + 2 < sizeof(fi->requests)) {
			strcat(fi->requests, req);
			strcat(fi->requests, "\n");
		}
		found = str_has_prefix(req, "GET /1.0/instances/vm1?");
		if (found)
			snprintf(body, sizeof(body),
			         "{\"type\":\"sync\",\"status\":\"Success\",\"status_code\":200,"
			         "\"metadata\":{\"name\":\"vm1\",\"project\":\"proj\",\"type\":"
			         "\"virtual-machine\",\"config\":{\"volatile.uuid\":\"%s\"},"
			         "\"expanded_config\":{\"volatile.uuid\":\"%s\","
			         "\"user.qremap.profile\":\"%s\"}}}",
			         FAKE_UUID, FAKE_UUID, fi->profile);
		else
			snprintf(body, sizeof(body),
			         "{\"type\":\"error\",\"error\":\"Instance not found\","
			         "\"error_code\":404}");
		snprintf(resp, sizeof(resp),
		         "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
		         "%zu\r\nConnection: close\r\n\r\n%s",
		         found ? "200 OK" : "404 Not Found", strlen(body), body);
		if (write(fd, resp, strlen(resp)) < 0)
			fprintf(stderr, "fake Incus: write: %s\n", strerror(errno));
		close(fd);
	}
	return NULL;
}

static bool fake_incus_start(struct fake_incus *fi, const char *dir, const char *profile)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(fi, 0, sizeof(*fi));
	fi->profile = profile;
	snprintf(fi->path, sizeof(fi->path), "%.250s/incus.socket", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.107s", fi->path);
	fi->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* 0660 and root's group, as incusd makes its socket: qremapd's own
	 * user reaches it through the group it takes from the socket
	 */
	if (fi->lfd < 0 || bind(fi->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(fi->path, 0660) < 0 || listen(fi->lfd, 8) < 0)
		return false;
	return pthread_create(&fi->thread, NULL, fake_incus_main, fi) == 0;
}

static void fake_incus_stop(struct fake_incus *fi)
{
	fi->stop = true;
	pthread_join(fi->thread, NULL);
	close(fi->lfd);
}

/* Write RUN/proj_vm1/qemu.pid naming @pid, dated @age_s seconds ago. */
static bool write_pidfile(const char *run, pid_t pid, int age_s)
{
	char path[400], num[16];
	struct timespec ts[2];

	snprintf(path, sizeof(path), "%s/%s", run, FAKE_RUNDIR);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return false;
	snprintf(path, sizeof(path), "%s/%s/qemu.pid", run, FAKE_RUNDIR);
	snprintf(num, sizeof(num), "%d\n", (int)pid);
	if (!write_file(path, num, 0600))
		return false;
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_s;
	ts[1] = ts[0];
	return utimensat(AT_FDCWD, path, ts, 0) == 0;
}

/*
 * An impostor as nobody that a pid file in @run names (written @age_s
 * seconds ago), running with -uuid @uuid (none if NULL): qremapd must hang
 * up without sending it a single QMP command.
 */
static void expect_refused_with_pidfile(const char *exe, const char *sock, const char *run,
                                        const char *uuid, int age_s)
{
	const char *args[] = {"--sock", sock, "--name", "\"vm1\"", uuid ? "-uuid" : NULL,
	                      uuid,     NULL};
	struct imp m;

	REQUIRE(imp_spawn(&m, exe, NOBODY, args));
	if (write_pidfile(run, m.pid, age_s)) {
		imp_release(&m);
		CHECK(imp_wait(&m, "closed", WAIT_MS));
		CHECK(!strstr(m.log, "cmd "));
	} else {
		CHECK(!"pid file written");
	}
	imp_end(&m);
}

static void test_trust_with_incus(void)
{
	char dir[256], exe[320], run[320];
	struct fake_incus fi;
	struct fx_daemon d __attribute__((cleanup(fx_daemon_cleanup))) = {0};
	struct imp m;

	if (!test_is_root())
		SKIP("needs root (the impostor runs as other users)");
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("trust-incus"));
	REQUIRE(install_impostor(dir, exe, sizeof(exe)));
	snprintf(run, sizeof(run), "%s/run", dir);
	REQUIRE(mkdir(run, 0700) == 0);
	REQUIRE(fake_incus_start(&fi, dir, "../../../etc/qremap-evil"));
	snprintf(d.dir, sizeof(d.dir), "%s", dir);
	REQUIRE(fx_daemon_start(
	        &d, qremapd_bin(), "unused", 0,
	        (const char *const[]){"--incus-socket", fi.path, "--incus-run-dir", run, NULL}));

	/* no pid file names it: dropped after the identification deadline
	 * without a single QMP command
	 */
	expect_refused(exe, NOBODY, d.sock, "\"vm1\"", true);

	/* a pid file names it, but it doesn't run with the instance's uuid */
	expect_refused_with_pidfile(exe, d.sock, run, NULL, 0);
	/* the right uuid, but it started after the pid file was written: a
	 * process that took over a dead QEMU's pid
	 */
	expect_refused_with_pidfile(exe, d.sock, run, FAKE_UUID, 60);
	/* identified (pid file, uuid, start time): it gets the chardev, and
	 * Incus's user.qremap.profile, a path, is refused as a profile name
	 */
	{
		const char *args[] = {"--sock",  d.sock,  "--name",  "\"anything\"",
		                      "--reset", "-uuid", FAKE_UUID, NULL};

		REQUIRE(imp_spawn(&m, exe, NOBODY, args));
		REQUIRE(write_pidfile(run, m.pid, 0));
		imp_release(&m);
		CHECK(imp_wait(&m, "status ", WAIT_MS));
		CHECK_CONTAINS(m.log, "cmd chardev-add");
		CHECK(!strstr(m.log, "cmd query-name"));
		CHECK_CONTAINS(m.log, "not a profile name");
		CHECK(got_no_inventory(&m));
		imp_end(&m);
	}
	/* every request named its project, and the instance's name escaped */
	CHECK_CONTAINS(fi.requests, "GET /1.0/instances/vm1?project=proj");
	CHECK_INT(fx_daemon_stop(&d), 0);
	if (test_failures) {
		char *text = test_read_file(d.log);

		fprintf(stderr, "fake Incus saw:\n%s\nqremapd's log:\n%s\n", fi.requests,
		        text ? text : "");
		free(text);
	}
	if (d.pid > 0)
		fx_daemon_stop(&d);
	fake_incus_stop(&fi);
	test_rmtree(dir);
}

TEST_MAIN(test_trust_without_incus, test_trust_with_incus)
